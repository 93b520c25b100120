//! `hutong bench e2e`: a simulated day of N taps through upload (mutual TLS) → ingest →
//! clear, on SQLite and (when `DATABASE_URL` is set) on PostgreSQL, with records/s per stage
//! and end to end, beside the limits measured in the same run on the same records as CSV:
//! `sqlite3 .import` into a table without indexes, and PostgreSQL `COPY … FROM STDIN`.
#![allow(clippy::float_arithmetic)] // seconds and rates, not money

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use futures_util::TryStreamExt;

use super::BadInput;
use super::bench_ingest::{rate, time_command};
use crate::demo::{self, DemoConfig, DemoHub};
use crate::store::testing::TestDb;
use crate::store::{Db, Store};

/// Arguments of `bench e2e`.
#[derive(Debug, Args)]
pub struct E2eBenchArgs {
    /// Taps in the simulated day.
    #[arg(long, default_value_t = 1_000_000)]
    taps: u64,
    /// The simulator's seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Working directory (default: a temporary one, removed afterwards).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Skip PostgreSQL even when DATABASE_URL is set.
    #[arg(long)]
    no_postgres: bool,
}

/// One backend's run.
struct Run {
    backend: &'static str,
    records: u64,
    accepted: u64,
    bytes: u64,
    upload: f64,
    ingest: f64,
    clear: f64,
}

const QUIET: demo::Observer<'static> = &|_| {};

/// The stored columns of `records`, as CSV (for the limits).
const CSV_COLUMNS: [&str; 24] = [
    "file_id",
    "record_no",
    "scheme",
    "issuer_code",
    "city_code",
    "card_serial",
    "card_type",
    "card_type_raw",
    "medium",
    "tx_type",
    "kind",
    "amount_fen",
    "balance_before_fen",
    "card_seq",
    "terminal",
    "terminal_seq",
    "tx_time",
    "key_version",
    "alg_id",
    "tac",
    "acquirer",
    "industry",
    "issuer_participant",
    "tac_status",
];
const CSV_TABLE: &str = "(file_id BIGINT, record_no BIGINT, scheme TEXT, issuer_code TEXT, \
     city_code TEXT, card_serial TEXT, card_type TEXT, card_type_raw TEXT, medium TEXT, \
     tx_type INTEGER, kind TEXT, amount_fen BIGINT, balance_before_fen BIGINT, card_seq INTEGER, \
     terminal TEXT, terminal_seq BIGINT, tx_time TEXT, key_version INTEGER, alg_id INTEGER, \
     tac TEXT, acquirer TEXT, industry TEXT, issuer_participant TEXT, tac_status TEXT)";

async fn export_csv(store: &Store, path: &Path) -> anyhow::Result<u64> {
    let mut w = csv::Writer::from_writer(std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(path)?,
    ));
    let mut n = 0u64;
    let sql = format!(
        "SELECT {} FROM records",
        CSV_COLUMNS.map(|c| format!("CAST({c} AS TEXT)")).join(", ")
    );
    macro_rules! dump {
        ($pool:expr) => {{
            use sqlx::Row;
            let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).fetch($pool);
            while let Some(r) = rows.try_next().await? {
                for i in 0..CSV_COLUMNS.len() {
                    let v: Option<String> = r.try_get(i)?;
                    w.write_field(v.unwrap_or_default())?;
                }
                w.write_record(None::<&[u8]>)?;
                n += 1;
            }
        }};
    }
    match store.db() {
        Db::Sqlite(p) => dump!(p),
        Db::Postgres(p) => dump!(p),
    }
    w.into_inner()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .flush()?;
    Ok(n)
}

/// Seconds `COPY … FROM STDIN (FORMAT csv)` of `csv` into a fresh unindexed table takes.
async fn pg_copy(url: &str, csv: &Path) -> anyhow::Result<f64> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TEMP TABLE bench_copy {CSV_TABLE}"
    )))
    .execute(&mut conn)
    .await?;
    let started = std::time::Instant::now();
    let mut copy = conn
        .copy_in_raw("COPY bench_copy FROM STDIN (FORMAT csv)")
        .await?;
    let file = tokio::fs::File::open(csv).await?;
    copy.read_from(file).await?;
    copy.finish().await?;
    let s = started.elapsed().as_secs_f64();
    conn.close().await?;
    Ok(s)
}

async fn run_backend(
    backend: &'static str,
    root: &Path,
    world: &Path,
    args: &E2eBenchArgs,
    database: Option<String>,
    csv: Option<&Path>,
) -> anyhow::Result<(Run, u64)> {
    let config = DemoConfig {
        dir: root.join(backend),
        taps: args.taps,
        seed: args.seed,
        database,
        world: Some(world.to_path_buf()),
    };
    let mut hub = DemoHub::start(&config, QUIET).await?;
    let (uploads, upload) = hub.upload(QUIET).await?;
    let ingest = hub.finish_ingest(uploads.files.len() as u64, QUIET).await?;
    let (_, clear) = hub.clear(QUIET).await?;
    let run = Run {
        backend,
        records: hub.sim.manifest.counts.records,
        accepted: hub.store.accepted_records_total().await?,
        bytes: uploads.files.values().map(|u| u.bytes).sum(),
        upload,
        ingest,
        clear,
    };
    let rows = match csv {
        Some(path) => export_csv(&hub.store, path).await?,
        None => 0,
    };
    hub.stop().await;
    Ok((run, rows))
}

/// Runs `hutong bench e2e`.
pub(crate) fn run(args: &E2eBenchArgs) -> anyhow::Result<ExitCode> {
    if args.taps < 100 {
        return Err(BadInput("--taps must be at least 100".into()).into());
    }
    let tmp = tempfile::tempdir()?;
    let root = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    demo::check_dir(&root).map_err(|e| BadInput(e.to_string()))?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let world = root.join("world");
        let day = demo::demo_day(crate::store::Timestamp::now());
        let started = std::time::Instant::now();
        let mut sim = simulator::Config::new(args.seed, day);
        sim.taps = args.taps;
        let summary = simulator::run(&sim, &world)?;
        println!(
            "end-to-end benchmark: {} taps, {} records in {} files, simulated in {:.1} s; {} core(s)",
            args.taps,
            summary.manifest.counts.records,
            summary.manifest.file.len(),
            started.elapsed().as_secs_f64(),
            std::thread::available_parallelism().map_or(1, |p| p.get())
        );
        let mut runs = Vec::new();
        let csv = root.join("records.csv");
        let (sqlite, rows) = run_backend("sqlite", &root, &world, args, None, Some(&csv)).await?;
        runs.push(sqlite);
        let pg = if args.no_postgres {
            None
        } else {
            TestDb::postgres().await?
        };
        let mut copy = None;
        if let Some(db) = &pg {
            let crate::store::DbTarget::Url(url) = db.target.clone() else {
                anyhow::bail!("DATABASE_URL did not give a PostgreSQL database");
            };
            db.store.close().await;
            let (run, _) = run_backend("postgres", &root, &world, args, Some(url), None).await?;
            runs.push(run);
            let base = std::env::var("DATABASE_URL").unwrap_or_default();
            copy = Some(pg_copy(&base, &csv).await?);
        }
        let import_db = root.join("import.sqlite");
        let import = time_command(
            "sqlite3",
            &[
                import_db.to_str().unwrap_or("import.sqlite"),
                &format!("CREATE TABLE t {CSV_TABLE};"),
                &format!(".import --csv {} t", csv.display()),
            ],
        );

        println!();
        println!(
            "{:<9} {:>10} {:>10} {:>9} {:>12} {:>9} {:>12} {:>9} {:>12} {:>9} {:>12}",
            "backend", "records", "accepted", "upload s", "upload r/s", "ingest s", "ingest r/s",
            "clear s", "clear r/s", "e2e s", "e2e r/s"
        );
        for r in &runs {
            let total = r.upload + r.ingest + r.clear;
            println!(
                "{:<9} {:>10} {:>10} {:>9.2} {:>12} {:>9.2} {:>12} {:>9.2} {:>12} {:>9.2} {:>12}",
                r.backend,
                r.records,
                r.accepted,
                r.upload,
                rate(r.records, r.upload),
                r.ingest,
                rate(r.records, r.ingest),
                r.clear,
                rate(r.accepted, r.clear),
                total,
                rate(r.records, total),
            );
            println!(
                "          uploads: {:.0} MB at {:.0} MB/s over mutual TLS",
                r.bytes as f64 / 1e6,
                r.bytes as f64 / 1e6 / r.upload.max(1e-9)
            );
        }
        println!();
        println!("limits, the same {rows} accepted records as CSV:");
        match import {
            Some(s) => println!(
                "  sqlite3 .import (no index)    {s:>8.2} s {:>12} r/s",
                rate(rows, s)
            ),
            None => println!("  sqlite3 .import: the sqlite3 command is not available"),
        }
        match copy {
            Some(s) => println!(
                "  PostgreSQL COPY (no index)    {s:>8.2} s {:>12} r/s",
                rate(rows, s)
            ),
            None => println!("  PostgreSQL COPY: DATABASE_URL not set (or --no-postgres)"),
        }
        drop(pg);
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
