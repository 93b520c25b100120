//! `hutong ingest`: processes every file waiting in status `received` once — detect, parse,
//! translate, check, store — deposits the result files and blacklist changes, and prints a
//! summary (one line per file, then the totals).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;

use super::BadInput;
use super::args::StorageArgs;
use crate::ingest::Ingestor;
use crate::store::Store;
use crate::vault::Vault;

/// Arguments of `hutong ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// Issuer master TAC keys (TOML, `[[issuer]]` entries); without it every TAC passes
    /// unverified.
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
    /// The serve configuration, for its `[ingest]` table and `keys` (options override it).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Acceptance window: days back from each file's receipt (default 30).
    #[arg(long, value_name = "DAYS")]
    window_days: Option<u32>,
    /// One JSON object per file instead of the table.
    #[arg(long)]
    json: bool,
}

/// Runs `hutong ingest`.
#[allow(clippy::float_arithmetic)] // rates for people to read
pub(super) fn run(a: IngestArgs) -> anyhow::Result<ExitCode> {
    let file = match &a.config {
        Some(path) => crate::config::ServeFile::load(path).map_err(BadInput)?,
        None => crate::config::ServeFile::default(),
    };
    let data_dir = a
        .storage
        .data_dir
        .clone()
        .or(file.data_dir.clone())
        .ok_or_else(|| BadInput("give --data-dir DIR: the stored files are there".into()))?;
    let env = std::env::var("DATABASE_URL").ok();
    let database = a.storage.database.clone().or(file.database.clone());
    let target =
        crate::store::DbTarget::choose(database.as_deref(), env.as_deref(), Some(&data_dir))
            .ok_or_else(|| BadInput("no database".into()))?;
    let mut config = file.ingest_config(a.keys.as_deref()).map_err(BadInput)?;
    if let Some(d) = a.window_days {
        config.hub.acceptance.back_days = d;
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let failed = runtime.block_on(async {
        let store = Store::open_existing(&target).await?;
        let vault = Vault::open_for(&data_dir, &store)?;
        let ingestor = Ingestor::new(store.clone(), vault, config, None);
        let started = Instant::now();
        let (reports, errors) = ingestor.run_pending().await;
        let seconds = started.elapsed().as_secs_f64();
        if !a.json {
            println!(
                "{:>6}  {:<24} {:<10} {:<18} {:<18} {:>10} {:>10} {:>10}  {:>8}  CODE",
                "FILE", "NAME", "SENDER", "FORMAT", "STATUS", "RECORDS", "ACCEPTED", "REJECTED", "SECONDS"
            );
        }
        let (mut records, mut accepted, mut rejected) = (0i64, 0i64, 0i64);
        for r in &reports {
            records += r.records;
            accepted += r.accepted;
            rejected += r.rejected;
            if a.json {
                println!("{}", serde_json::to_string(r)?);
            } else {
                println!(
                    "{:>6}  {:<24} {:<10} {:<18} {:<18} {:>10} {:>10} {:>10}  {:>8.2}  {}",
                    r.file_id,
                    r.name.chars().take(24).collect::<String>(),
                    r.sender,
                    r.format.as_deref().unwrap_or("-"),
                    r.status.as_str(),
                    r.records,
                    r.accepted,
                    r.rejected,
                    r.seconds,
                    r.code.as_deref().unwrap_or("")
                );
            }
        }
        for (id, e) in &errors {
            eprintln!("file {id}: {e} (left to retry)");
        }
        let rate = if seconds > 0.0 { records as f64 / seconds } else { 0.0 };
        eprintln!(
            "ingested {} file(s): {records} records, {accepted} accepted, {rejected} rejected in {seconds:.2} s ({rate:.0} records/s, result files included)",
            reports.len()
        );
        store.close().await;
        anyhow::Ok(!errors.is_empty())
    })?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
