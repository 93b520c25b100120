//! `hutong drill`: the seeded fault drill of [`crate::drill`], printed as a table of the
//! faults injected per stage and the invariants, then `N passed, M failed`. Exit 0 when every
//! invariant held, 1 otherwise; `--json FILE` writes the whole report.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::BadInput;
use crate::drill::{self, DrillConfig, DrillReport};
use crate::store::Backend;

/// The drill's backend.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum DrillBackend {
    /// N replicas on a private PostgreSQL cluster (initdb + pg_ctl), killed and restarted.
    Postgres,
    /// One server on SQLite, killed and restarted.
    Sqlite,
}

/// Arguments of `hutong drill`.
#[derive(Debug, Args)]
pub struct DrillArgs {
    /// A new, empty working directory (default: a temporary one, removed afterwards).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The backend.
    #[arg(long, value_enum, default_value = "postgres")]
    backend: DrillBackend,
    /// Replicas of `hutong serve` on one database (PostgreSQL).
    #[arg(long, default_value_t = 3)]
    replicas: usize,
    /// SIGKILLs of a random replica at random moments, each restarted after a random delay.
    #[arg(long, default_value_t = 10)]
    kills: usize,
    /// Crashes of PostgreSQL itself (`pg_ctl stop -m immediate`, then a restart).
    #[arg(long, default_value_t = 0)]
    db_restarts: usize,
    /// Cuts of every connection in flight (uploads mid-body, pushes mid-body) through the
    /// drill's TCP proxies.
    #[arg(long, default_value_t = 3)]
    cuts: usize,
    /// Taps of the simulated day.
    #[arg(long, default_value_t = 5_000)]
    taps: u64,
    /// The seed of the day and of the fault schedule (printed; give it again to replay).
    #[arg(long)]
    seed: Option<u64>,
    /// Write the report as JSON here too.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// Runs `hutong drill`.
pub(super) fn run(a: DrillArgs) -> anyhow::Result<ExitCode> {
    let seed = a.seed.unwrap_or_else(|| {
        let mut b = [0u8; 8];
        let _ = aws_lc_rs::rand::fill(&mut b);
        u64::from_le_bytes(b) % 1_000_000
    });
    let temp = match &a.dir {
        Some(_) => None,
        None => Some(tempfile::tempdir()?),
    };
    let dir = match (&a.dir, &temp) {
        (Some(d), _) => d.clone(),
        (None, Some(t)) => t.path().join("drill"),
        (None, None) => unreachable!("a temporary directory when no --dir"),
    };
    if a.replicas == 0 {
        return Err(BadInput("--replicas must be at least 1".into()).into());
    }
    let config = DrillConfig {
        dir,
        binary: std::env::current_exe()?,
        backend: match a.backend {
            DrillBackend::Postgres => Backend::Postgres,
            DrillBackend::Sqlite => Backend::Sqlite,
        },
        replicas: a.replicas,
        kills: a.kills,
        db_restarts: a.db_restarts,
        cuts: a.cuts,
        taps: a.taps,
        seed,
    };
    println!(
        "drill: seed {seed}, {} backend, {} replicas, {} kills, {} database crashes, {} cuts, {} taps",
        config.backend.as_str(),
        config.replicas,
        config.kills,
        config.db_restarts,
        config.cuts,
        config.taps
    );
    println!("schedule (replay with --seed {seed}):");
    for (i, f) in drill::plan(&config).iter().enumerate() {
        println!(
            "  {:>3}. after {:>4} ms  {:<8} {:<3} down {:>4} ms",
            i + 1,
            f.after_ms,
            f.kind,
            f.target,
            f.down_ms
        );
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let report = runtime.block_on(drill::run(&config)).map_err(|e| match e {
        drill::DrillError::BadInput(m) => anyhow::Error::new(BadInput(m)),
        other => anyhow::Error::new(other),
    })?;
    print!("{}", text(&report));
    if let Some(path) = &a.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
    }
    Ok(if report.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn text(r: &DrillReport) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "\n{} files, clean run {:.1} s, faulted run {:.1} s, {} uploads retried on another replica\n",
        r.files, r.clean_seconds, r.faulted_seconds, r.retried_uploads
    ));
    out.push_str("\nfaults injected, by stage:\n");
    for (stage, n) in &r.faults_by_stage {
        out.push_str(&format!("  {stage:<40} {n}\n"));
    }
    out.push_str("\ninvariants:\n");
    for i in &r.invariants {
        let verdict = if i.passed { "ok  " } else { "FAIL" };
        out.push_str(&format!("  {verdict}  {}: {}\n", i.name, i.detail));
    }
    out.push_str(&format!("\n{} passed, {} failed\n", r.passed, r.failed));
    out
}
