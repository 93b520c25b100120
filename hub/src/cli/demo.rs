//! `hutong demo`: the README's first command. Runs [`crate::demo`] with progress bars and
//! prints its report.
#![allow(clippy::float_arithmetic)] // seconds and rates, not money

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::BadInput;
use crate::demo::{self, DemoConfig, DemoError, DemoReport, Event, FaultCheck};
use crate::store::FileStatus;

/// Arguments of `hutong demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the demo writes everything (must be empty or absent).
    #[arg(long, default_value = "hutong-demo")]
    dir: PathBuf,
    /// The simulated day's taps (transactions).
    #[arg(long, default_value_t = 200_000)]
    taps: u64,
    /// The simulator's seed: the same seed, the same day.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Use this database (postgres://…) instead of the embedded SQLite file.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// Print the report as JSON instead of text (progress stays on stderr).
    #[arg(long)]
    json: bool,
}

/// Progress bars on stderr (hidden when stderr is not a terminal).
struct Bars {
    multi: MultiProgress,
    step: ProgressBar,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Bars {
    fn new() -> Bars {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let multi = MultiProgress::with_draw_target(target);
        let step = multi.add(ProgressBar::new_spinner());
        step.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        step.enable_steady_tick(std::time::Duration::from_millis(120));
        Bars {
            multi,
            step,
            bars: Mutex::new(HashMap::new()),
        }
    }

    fn bar(&self, key: &str, len: u64, template: &str) -> ProgressBar {
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        bars.entry(key.to_string())
            .or_insert_with(|| {
                let b = self.multi.add(ProgressBar::new(len));
                b.set_style(
                    ProgressStyle::with_template(template)
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                b.set_prefix(key.to_string());
                b
            })
            .clone()
    }

    fn on(&self, e: Event) {
        const BAR: &str = "{prefix:>10} [{bar:30}] {pos}/{len} {msg}";
        match e {
            Event::Step(name, what) => {
                self.step.set_message(format!("{name}: {what}"));
                let _ = self.multi.println(format!("▸ {name}: {what}"));
            }
            Event::Simulated { records, expected } => {
                let b = self.bar("simulate", expected, BAR);
                b.set_length(expected.max(records));
                b.set_position(records);
                b.set_message("records");
            }
            Event::Uploaded {
                participant,
                done,
                total,
                bytes,
            } => {
                let b = self.bar(&participant, total, BAR);
                b.set_position(done);
                b.set_message(format!("files, {}", indicatif::HumanBytes(bytes)));
            }
            Event::PartnerDone(p) => self.bar(&p, 0, BAR).finish(),
            Event::Ingested {
                done,
                total,
                accepted,
            } => {
                let b = self.bar("ingest", total, BAR);
                b.set_position(done);
                b.set_message(format!("files, {accepted} records accepted"));
            }
        }
    }

    fn finish(&self) {
        for b in self.bars.lock().unwrap_or_else(|e| e.into_inner()).values() {
            b.finish();
        }
        self.step.finish_and_clear();
    }
}

fn yuan(fen: i64) -> String {
    format!("¥{}", reconciliation::money::yuan(fen))
}

/// Runs `hutong demo`.
pub(crate) fn run(a: DemoArgs) -> anyhow::Result<ExitCode> {
    demo::check_dir(&a.dir).map_err(|e| BadInput(e.to_string()))?;
    let config = DemoConfig {
        dir: a.dir.clone(),
        taps: a.taps,
        seed: a.seed,
        database: a.database.clone(),
        world: None,
    };
    let bars = Bars::new();
    let observe = |e: Event| bars.on(e);
    let runtime = tokio::runtime::Runtime::new()?;
    let report = runtime.block_on(demo::run(&config, &observe));
    bars.finish();
    let report = match report {
        Ok(r) => r,
        Err(DemoError::BadInput(m)) => return Err(BadInput(m).into()),
        Err(e) => return Err(e.into()),
    };
    let json = serde_json::to_vec_pretty(&report)?;
    std::fs::write(a.dir.join("report.json"), &json)?;
    if a.json {
        serde_json::to_writer_pretty(std::io::stdout().lock(), &report)?;
        println!();
    } else {
        print_report(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(r: &DemoReport) {
    let s = &r.seconds;
    println!();
    println!(
        "hutong demo — settlement day {} — {:.1} s (simulate {:.1}, configure {:.1}, upload {:.1}, ingest {:.1}, clear {:.1}, results and reconcile {:.1})",
        r.day, s.total, s.simulate, s.configure, s.upload, s.ingest, s.clear, s.reconcile
    );
    println!();
    println!("Files");
    println!(
        "  {} uploads over mutual TLS to {} ({} repeated deliveries recognised)",
        r.uploads, r.url, r.duplicate_uploads
    );
    for st in [
        FileStatus::Accepted,
        FileStatus::PartiallyAccepted,
        FileStatus::Rejected,
    ] {
        let n = r.files_by_status.get(st.as_str()).copied().unwrap_or(0);
        println!("  {:<20} {n}", st.as_str());
    }
    for (code, n) in &r.files_rejected_by_code {
        println!("    rejected whole {code}: {n}");
    }
    println!();
    println!("Records");
    println!("  read      {}", r.records_read);
    println!("  accepted  {}", r.records_accepted);
    let rejected: u64 = r.records_rejected_by_code.values().sum();
    println!("  rejected  {rejected}");
    for (code, n) in &r.records_rejected_by_code {
        println!("    {code}: {n}");
    }
    println!();
    let c = &r.positions.clearing;
    println!(
        "Net positions ({} transactions, {}; {} on-us)",
        c.tx_count,
        yuan(c.tx_amount_fen),
        c.on_us_count
    );
    println!(
        "  {:<10} {:>16} {:>16} {:>12} {:>16}",
        "", "receivable", "payable", "fees", "net"
    );
    for p in &c.participants {
        println!(
            "  {:<10} {:>16} {:>16} {:>12} {:>16}",
            p.code,
            yuan(p.receivable_fen),
            yuan(p.payable_fen),
            yuan(p.fees_fen),
            yuan(p.net_fen)
        );
    }
    println!();
    let total: u64 = r.discrepancies_by_type.values().sum();
    println!("Discrepancies ({total})");
    for (t, n) in &r.discrepancies_by_type {
        println!("  {t:<22} {n}");
    }
    let statuses: Vec<String> = r
        .discrepancies_by_status
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect();
    println!("  after the rules: {}", statuses.join(", "));
    println!(
        "  dispute cases opened: {} (hutong disputes list --data-dir {}/hub)",
        r.cases.len(),
        r.dir.display()
    );
    println!();
    let v = &r.verify;
    println!(
        "Verify (hutong verify --day {} --data-dir {}/hub): {} passed, {} failed",
        v.day,
        r.dir.display(),
        v.passed,
        v.failed
    );
    for c in v.checks.iter().filter(|c| !c.passed) {
        println!("  ✗ {}", c.line());
    }
    println!();
    let (found, all) = r.faults_found();
    println!(
        "Injected faults: {found} of {all} found (each one in {}/report.json)",
        r.dir.display()
    );
    let mut kinds: BTreeMap<(&str, &str), Vec<&FaultCheck>> = BTreeMap::new();
    for f in &r.faults {
        kinds.entry((&f.kind, &f.expect)).or_default().push(f);
    }
    for ((kind, expect), faults) in &kinds {
        let ok = faults.iter().filter(|f| f.found).count();
        let mark = if ok == faults.len() { "✓" } else { "✗" };
        let example = faults
            .iter()
            .find(|f| !f.found)
            .or(faults.first())
            .map(|f| format!("#{} {}: {}", f.id, f.participant, f.evidence))
            .unwrap_or_default();
        println!(
            "  {mark} {kind:<12} → {expect:<19} {ok:>4}/{:<4} e.g. {example}",
            faults.len()
        );
    }
    for f in r.faults.iter().filter(|f| !f.found) {
        println!(
            "  ✗ not found: #{} {} {} expect {}: {}",
            f.id, f.kind, f.participant, f.expect, f.evidence
        );
    }
    println!();
    let d = r.dir.display();
    println!("Where things are");
    println!(
        "  {d}/world/          the simulated day: files, results, world.toml, ground-truth.json"
    );
    println!(
        "  {d}/hub/            the hub's data: database (unless --database), vault, settlements/{}/",
        r.day
    );
    println!(
        "  {d}/partners/CODE/  each partner's certificate and key, and inbox/ with what it fetched"
    );
    println!("  {d}/pki/            the hub's CA, CRL and server certificate");
    println!();
    println!("Open the finance console:");
    println!("  hutong users add --data-dir {d}/hub --name fang --role finance --participant QD");
    println!(
        "  hutong serve --data-dir {d}/hub --pki {d}/pki --listen 127.0.0.1:8443 --console-listen 127.0.0.1:8444"
    );
    println!("  then https://127.0.0.1:8444/ (the hub's CA is {d}/pki/ca.crt)");
}
