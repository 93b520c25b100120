//! `hutong simulate`: writes a seeded day of transaction files, blacklists, partners' results,
//! keys, fees, the manifest and the ground truth (see `docs/simulate.md`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use chrono::NaiveDate;
use clap::Args;

use super::BadInput;
use simulator::{self as simulate, Config, FaultSpec, SimError};

/// Arguments of `hutong simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Seed of every random choice: the same seed and sizes give the same files, byte for byte.
    #[arg(long)]
    seed: u64,
    /// The settlement day to simulate, YYYY-MM-DD.
    #[arg(long, value_parser = day)]
    day: NaiveDate,
    /// Output directory: created if absent; must be empty unless --force.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// MOHURD / T-Union cities to add from the code tables beyond the four defaults (Ningbo,
    /// Changsha, Beijing, Shanghai).
    #[arg(long, value_name = "N", default_value_t = 0)]
    cities: usize,
    /// Cards in the population [default: taps / 5, between 1000 and 100000].
    #[arg(long, value_name = "N")]
    cards: Option<u64>,
    /// Transactions of the population during the day (faults add a few).
    #[arg(long, value_name = "N", default_value_t = simulate::DEFAULT_TAPS)]
    taps: u64,
    /// Faults: `none`, `default`, or name=value items, e.g.
    /// `dup-record=0.001,tac=0.0005,clone=2,gap=3` (rates for per-record faults, counts for the
    /// others; see docs/simulate.md) [default: default].
    #[arg(long, value_name = "SPEC", value_parser = faults)]
    faults: Option<FaultSpec>,
    /// Records per transaction file before an acquirer starts another.
    #[arg(long, value_name = "N", default_value_t = simulate::DEFAULT_MAX_FILE_RECORDS)]
    max_file_records: u64,
    /// Replace an earlier simulation in DIR (removes only what `hutong simulate` writes; refuses
    /// if DIR holds anything else).
    #[arg(long)]
    force: bool,
}

fn day(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .filter(|_| s.len() == 10)
        .ok_or_else(|| "expected a real date as YYYY-MM-DD".to_string())
}

fn faults(s: &str) -> Result<FaultSpec, String> {
    s.parse()
}

/// Removes an earlier simulation's files from `dir`, refusing if anything else is there.
fn clear(dir: &std::path::Path) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut ours = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let known = simulate::TOP_FILES.contains(&name.as_str())
            || simulate::TOP_DIRS.contains(&name.as_str());
        if !known {
            return Err(BadInput(format!(
                "--out: {} holds {name:?}, which hutong simulate did not write; not replacing it",
                dir.display()
            ))
            .into());
        }
        ours.push(entry.path());
    }
    for path in ours {
        if path.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Runs `hutong simulate`.
pub(crate) fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let mut config = Config::new(args.seed, args.day);
    config.extra_cities = args.cities;
    config.cards = args.cards;
    config.taps = args.taps;
    config.faults = args.faults.unwrap_or_default();
    config.max_file_records = args.max_file_records;
    config.check().map_err(|e| BadInput(e.to_string()))?;
    if args.force {
        clear(&args.out)?;
    }
    let started = Instant::now();
    let tty = std::io::stderr().is_terminal();
    let show = |p: simulate::Progress| {
        if tty {
            let pct = p.records.saturating_mul(100) / p.expected.max(1);
            eprint!(
                "\rsimulating: {} of ~{} records ({}%)",
                p.records,
                p.expected,
                pct.min(100)
            );
        }
    };
    let result = simulate::run_with_progress(&config, &args.out, &show);
    if tty && config.taps >= 1 << 16 {
        eprintln!();
    }
    let summary = match result {
        Ok(s) => s,
        Err(SimError::Config(m)) => return Err(BadInput(m).into()),
        Err(e) => return Err(e.into()),
    };
    let elapsed = started.elapsed();
    let m = &summary.manifest;
    let c = &m.counts;
    println!(
        "simulated {} on seed {}: {} cities, {} cards ({} active), {} taps (+{} by clones, +{} late)",
        m.day, m.seed, c.cities, c.cards, c.active_cards, c.taps, c.clone_taps, c.late_taps
    );
    for a in &summary.truth.acquirers {
        println!(
            "  {:<7} {:<10} {:>3} files {:>10} records {:>14} fen",
            a.code,
            a.format,
            a.files.len(),
            a.in_files.records,
            a.in_files.amount_fen
        );
    }
    let faults: Vec<String> = c
        .faults
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    println!(
        "  faults: {}",
        if faults.is_empty() {
            "none".to_string()
        } else {
            faults.join(", ")
        }
    );
    println!(
        "  {} deliveries, {} blacklists, {} result files; manifest {}",
        c.deliveries,
        m.blacklist.len(),
        m.result.len(),
        summary.dir.join("world.toml").display()
    );
    let ms = elapsed.as_millis().max(1);
    let rate = u128::from(c.taps + c.clone_taps + c.late_taps) * 1000 / ms;
    eprintln!("{} ms, {rate} taps/s", ms);
    Ok(ExitCode::SUCCESS)
}
