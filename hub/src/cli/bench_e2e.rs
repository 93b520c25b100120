//! `hutong bench e2e`: a simulated day of N taps through upload (mutual TLS) → ingest →
//! clear, on SQLite and (when `DATABASE_URL` is set) on PostgreSQL, with records/s per stage
//! and end to end, beside the limits measured in the same run on the same records as CSV:
//! `sqlite3 .import` into a table without indexes, and PostgreSQL `COPY … FROM STDIN`.
//! `--json` prints the same figures as one JSON object ([`E2eReport`]), so that runs can be
//! compared by a script.
#![allow(clippy::float_arithmetic)] // seconds and rates, not money

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::BadInput;
use super::bench_ingest::{rate, time_command};
use crate::demo::{self, DemoConfig, DemoHub};
use crate::store::bench;
use crate::store::testing::TestDb;

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
    /// Print the figures as one JSON object on stdout instead of tables.
    #[arg(long)]
    json: bool,
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

/// Seconds and records per second of one stage (or of a limit).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub(super) struct StageFigures {
    /// Wall-clock seconds.
    pub(super) seconds: f64,
    /// Records per second (`None` when no time was measured).
    pub(super) records_per_s: Option<f64>,
}

impl StageFigures {
    fn of(records: u64, seconds: f64) -> StageFigures {
        StageFigures {
            seconds,
            records_per_s: (seconds > 0.0).then(|| records as f64 / seconds),
        }
    }
}

/// One backend's figures in the JSON report.
#[derive(Debug, Clone, serde::Serialize)]
pub(super) struct BackendFigures {
    /// `sqlite` or `postgres`.
    pub(super) backend: &'static str,
    /// Records uploaded.
    pub(super) records: u64,
    /// Records accepted by ingest.
    pub(super) accepted: u64,
    /// Bytes uploaded.
    pub(super) bytes: u64,
    /// Upload over mutual TLS (records/s over all records).
    pub(super) upload: StageFigures,
    /// Ingest (records/s over all records).
    pub(super) ingest: StageFigures,
    /// Close, settlement files and packages (records/s over accepted records).
    pub(super) clear: StageFigures,
    /// Upload + ingest + clear.
    pub(super) end_to_end: StageFigures,
    /// Ingest's records/s over the limit's of the same backend (`sqlite3 .import` for SQLite,
    /// `COPY` for PostgreSQL), when the limit was measured.
    pub(super) ingest_vs_limit: Option<f64>,
}

/// What `hutong bench e2e --json` prints.
#[derive(Debug, Clone, serde::Serialize)]
pub(super) struct E2eReport {
    /// Taps simulated.
    pub(super) taps: u64,
    /// The simulator's seed.
    pub(super) seed: u64,
    /// Records the simulated day holds.
    pub(super) records: u64,
    /// Files it holds.
    pub(super) files: usize,
    /// Cores available.
    pub(super) cores: usize,
    /// Seconds the simulation took (not part of any stage).
    pub(super) simulate_seconds: f64,
    /// One entry per backend run.
    pub(super) backends: Vec<BackendFigures>,
    /// Accepted records exported as CSV for the limits.
    pub(super) limit_rows: u64,
    /// `sqlite3 .import` of those rows into a table without indexes.
    pub(super) sqlite_import: Option<StageFigures>,
    /// PostgreSQL `COPY … FROM STDIN` of those rows into a table without indexes.
    pub(super) postgres_copy: Option<StageFigures>,
}

impl E2eReport {
    fn new(
        args: &E2eBenchArgs,
        summary: &simulator::Summary,
        simulate_seconds: f64,
        runs: &[Run],
        rows: u64,
        import: Option<f64>,
        copy: Option<f64>,
    ) -> E2eReport {
        let sqlite_import = import.map(|s| StageFigures::of(rows, s));
        let postgres_copy = copy.map(|s| StageFigures::of(rows, s));
        let backends = runs
            .iter()
            .map(|r| {
                let ingest = StageFigures::of(r.records, r.ingest);
                let limit = if r.backend == "sqlite" {
                    sqlite_import
                } else {
                    postgres_copy
                };
                BackendFigures {
                    backend: r.backend,
                    records: r.records,
                    accepted: r.accepted,
                    bytes: r.bytes,
                    upload: StageFigures::of(r.records, r.upload),
                    ingest,
                    clear: StageFigures::of(r.accepted, r.clear),
                    end_to_end: StageFigures::of(r.records, r.upload + r.ingest + r.clear),
                    ingest_vs_limit: match (
                        ingest.records_per_s,
                        limit.and_then(|l| l.records_per_s),
                    ) {
                        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
                        _ => None,
                    },
                }
            })
            .collect();
        E2eReport {
            taps: args.taps,
            seed: args.seed,
            records: summary.manifest.counts.records,
            files: summary.manifest.file.len(),
            cores: std::thread::available_parallelism().map_or(1, |p| p.get()),
            simulate_seconds,
            backends,
            limit_rows: rows,
            sqlite_import,
            postgres_copy,
        }
    }
}

const QUIET: demo::Observer<'static> = &|_| {};

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
        Some(path) => bench::export_records_csv(&hub.store, path).await?,
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
        let simulate_seconds = started.elapsed().as_secs_f64();
        if !args.json {
            println!(
                "end-to-end benchmark: {} taps, {} records in {} files, simulated in {:.1} s; {} core(s)",
                args.taps,
                summary.manifest.counts.records,
                summary.manifest.file.len(),
                simulate_seconds,
                std::thread::available_parallelism().map_or(1, |p| p.get())
            );
        }
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
            copy = Some(bench::pg_copy_seconds(&base, &csv).await?);
        }
        let import_db = root.join("import.sqlite");
        let import = time_command(
            "sqlite3",
            &[
                import_db.to_str().unwrap_or("import.sqlite"),
                &format!("CREATE TABLE t {};", bench::CSV_TABLE),
                &format!(".import --csv {} t", csv.display()),
            ],
        );
        if args.json {
            let report =
                E2eReport::new(args, &summary, simulate_seconds, &runs, rows, import, copy);
            println!("{}", serde_json::to_string_pretty(&report)?);
            drop(pg);
            return anyhow::Ok(());
        }
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
