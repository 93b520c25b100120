//! `hutong bench clear`: closes a generated settlement window of N records and prints
//! records/s, beside the limit measured on the same rows in the same run — one bare
//! `SELECT … GROUP BY` over the stored records.
#![allow(clippy::float_arithmetic)] // rates, not money

use std::time::Instant;

use clap::Args;

use super::BadInput;
use super::args::StorageArgs;
use crate::clearing::{self, ClearingSettings};
use crate::store::{Store, Timestamp, bench};

/// Arguments of `bench clear`.
#[derive(Debug, Args)]
pub struct ClearBenchArgs {
    /// Records in the window.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Records per file.
    #[arg(long, default_value_t = 500_000)]
    per_file: u64,
    /// Where to put the database (SQLite; default: a temporary directory), or --database URL
    /// (a database whose hutong tables are empty: the bench fills them).
    #[command(flatten)]
    storage: StorageArgs,
}

const CODES: [&str; 5] = ["QD", "RZ", "MOT", "MOHURD", "BANK"];

/// Runs `hutong bench clear`.
pub(crate) fn run(a: &ClearBenchArgs) -> anyhow::Result<std::process::ExitCode> {
    if a.records == 0 || a.per_file == 0 {
        return Err(BadInput("--records and --per-file must be positive".into()).into());
    }
    let tmp = tempfile::tempdir()?;
    let target = if a.storage.data_dir.is_none() && a.storage.database.is_none() {
        crate::store::DbTarget::DataDir(tmp.path().to_path_buf())
    } else {
        a.storage.target()?
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let store = Store::open(&target).await?;
        println!("clearing a window of {} records on {}", a.records, target.describe());
        let t = Instant::now();
        bench::fill_synthetic_window(&store, &CODES, a.records, a.per_file).await?;
        // Settle the fresh table (statistics; on PostgreSQL also hint bits and the visibility
        // map), so that the limit and the close both read it in the same state.
        bench::analyze(&store).await?;
        let filled = t.elapsed();
        println!("  generate and store the records (in SQL)   {:>8.2} s   {:>12.0} records/s", filled.as_secs_f64(), a.records as f64 / filled.as_secs_f64());

        let t = Instant::now();
        let counted = bench::bare_group_by(&store).await?;
        let limit = t.elapsed();
        println!("  limit: one SELECT … GROUP BY of the rows  {:>8.2} s   {:>12.0} records/s", limit.as_secs_f64(), counted as f64 / limit.as_secs_f64());

        let settings = ClearingSettings {
            fees: reconciliation::FeeSchedule::from_toml("[[fee]]\npayer = \"acquirer\"\npayee = \"hub\"\nrate = \"0.0015\"\n")?,
            ..ClearingSettings::default()
        };
        let now = Timestamp::from_datetime(chrono::DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z")?.into());
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).expect("a date");
        let t = Instant::now();
        let closed = clearing::close_window(&store, &settings, day, now, false).await?;
        let close = t.elapsed();
        println!(
            "  close the window (mark, aggregate, clear, check, store) {:>5.2} s   {:>12.0} records/s   ({} records, {:.2}× the limit's time)",
            close.as_secs_f64(),
            closed.window.tx_count as f64 / close.as_secs_f64(),
            closed.window.tx_count,
            close.as_secs_f64() / limit.as_secs_f64()
        );
        store.close().await;
        anyhow::Ok(std::process::ExitCode::SUCCESS)
    })
}
