//! The simulator (`hutong simulate`): a seeded day of China's transit cards around Qingdao, written as the
//! files each participant would upload, the results partners would send back, and the ground
//! truth of every fault injected.
//!
//! [`run`] builds the [`World`] (cities, participants, issuers with master keys drawn from the
//! seed, operators, routes), plans the day (which cards carry the faults), runs
//! [`LANES`] independent lanes of riders whose every transaction goes through a simulated
//! card, PSAM and terminal (so every TAC is real), merges their records in time order into
//! each acquirer's files, writes each partner's result file, the damaged and repeated
//! deliveries, the blacklists, `keys.toml`, `fees.toml`, `world.toml` ([`Manifest`]) and
//! `ground-truth.json` ([`GroundTruth`]).
//!
//! | module | what it holds |
//! |---|---|
//! | `world` | participants, cities, operators, issuers and their keys, routes |
//! | `population` | the cards: each a pure function of the seed and its index |
//! | `plan` | which cards carry the counted faults; the lanes' shares of the taps |
//! | `lane` | one lane's riders, terminals and day; per-record faults |
//! | `merge` | the k-way merge into the acquirers' files; partners' results |
//! | `post` | damaged and repeated deliveries, blacklists, upload order |
//! | `faults` | the `--faults` grammar |
//! | `truth`, `manifest` | `ground-truth.json`, `world.toml`, `keys.toml`, `fees.toml` |
//!
//! Same seed and sizes, same files, byte for byte: every random choice comes from a ChaCha8
//! stream named after its purpose (a lane, a card, the planner), the lanes are fixed in
//! number whatever the cores, and the merge orders records by time, lane and the lane's own
//! order. No clock is read: every time in the output derives from the day. Memory holds the
//! simulated cards (about 2 KB each) and a few batches of records, never the day.
//!
//! ```no_run
//! use simulator::{self as simulate, Config};
//!
//! let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).expect("a date");
//! let mut config = Config::new(42, day);
//! config.taps = 10_000;
//! config.faults = "default,tac=0.001".parse()?;
//! let summary = simulate::run(&config, std::path::Path::new("/tmp/hutong-day"))?;
//! for f in &summary.truth.faults {
//!     println!("{} {} → {:?} {}", f.id, f.kind, f.level, f.expect);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod faults;
mod lane;
mod manifest;
mod merge;
mod plan;
mod population;
mod post;
mod rng;
mod truth;
mod world;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;

use card_standards::CodeTables;
use chrono::{Datelike, NaiveDate};

pub use faults::{FaultKind, FaultSpec, MAX_COUNT};
pub use manifest::{
    BlacklistFileEntry, CityEntry, Counts, FileEntry, IssuerEntry, KeyEntry, KeysFile,
    MANIFEST_VERSION, Manifest, OperatorEntry, ParticipantEntry, ResultFileEntry, RouteEntry,
};
pub use plan::LANES;
pub use population::{CardSpec, Category, MAX_BALANCE, card_spec, profile};
pub use truth::{
    AcquirerTruth, CardRef, Fault, GroundTruth, IssuerSums, Level, PartnerTruth, RecordRef, Sum,
    TRUTH_VERSION, TxRef,
};
pub use world::{
    ACQUIRERS, BANK, BANK_ISSUER_CODE, CityRole, HUB, IssuerRole, MOHURD, MOT, Operator,
    OperatorKind, Participant, ParticipantKind, QD, RESULT_PARTNERS, RZ, Route, SimCity, SimIssuer,
    World, extra_cities_available, format_of, participants,
};

use lane::{Fact, Lane, LaneStats};
use merge::Output;

/// Taps of a day when `--taps` is not given: a few seconds' work.
pub const DEFAULT_TAPS: u64 = 50_000;
/// Records per transaction file before an acquirer starts another.
pub const DEFAULT_MAX_FILE_RECORDS: u64 = 500_000;
/// The most cards a population may have (each simulated card holds its files in memory,
/// about 2 KB).
pub const MAX_CARDS: u64 = 2_000_000;
/// The most taps per card and day (card counters are 16 bits).
pub const MAX_TAPS_PER_CARD: u64 = 2_000;

/// Everything that can go wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A setting is wrong (the message names the option): bad input.
    #[error("{0}")]
    Config(String),
    /// The world could not be built (a code table lacks something).
    #[error("world: {0}")]
    World(String),
    /// A file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A simulated card, PSAM or terminal refused a transaction.
    #[error("simulated transaction: {0}")]
    Card(Box<conformance::Error>),
    /// A format could not carry a record.
    #[error("writing a file: {0}")]
    Format(Box<adapters::Error>),
    /// A lane stopped because the merger had stopped.
    #[error("a lane stopped because the writer stopped")]
    Stopped,
    /// A bug.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<conformance::Error> for SimError {
    fn from(e: conformance::Error) -> SimError {
        SimError::Card(Box::new(e))
    }
}

impl From<adapters::Error> for SimError {
    fn from(e: adapters::Error) -> SimError {
        SimError::Format(Box::new(e))
    }
}

impl SimError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> SimError {
        SimError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Seed of every random choice.
    pub seed: u64,
    /// The settlement day.
    pub day: NaiveDate,
    /// More MOHURD and T-Union cities beyond the four defaults.
    pub extra_cities: usize,
    /// Cards in the population; `None`: `taps / 5`, between 1 000 and 100 000.
    pub cards: Option<u64>,
    /// The population's transactions of the day.
    pub taps: u64,
    /// The faults to inject.
    pub faults: FaultSpec,
    /// Records per transaction file before an acquirer starts another.
    pub max_file_records: u64,
}

impl Config {
    /// The default day for a seed: [`DEFAULT_TAPS`], default faults, no extra cities.
    pub fn new(seed: u64, day: NaiveDate) -> Config {
        Config {
            seed,
            day,
            extra_cities: 0,
            cards: None,
            taps: DEFAULT_TAPS,
            faults: FaultSpec::DEFAULT,
            max_file_records: DEFAULT_MAX_FILE_RECORDS,
        }
    }

    /// The population's size.
    pub fn cards(&self) -> u64 {
        self.cards.unwrap_or((self.taps / 5).clamp(1_000, 100_000))
    }

    /// Checks the settings; the error names the option.
    pub fn check(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Config(m));
        if !(2001..=2098).contains(&self.day.year()) {
            return bad(format!(
                "--day: {} is outside the years 2001–2098 the simulated cards and files carry",
                self.day
            ));
        }
        let cards = self.cards();
        if !(100..=MAX_CARDS).contains(&cards) {
            return bad(format!(
                "--cards: {cards} is not between 100 and {MAX_CARDS}"
            ));
        }
        if self.taps < 100 {
            return bad(format!("--taps: {} is below 100", self.taps));
        }
        if self.taps > cards * MAX_TAPS_PER_CARD {
            return bad(format!(
                "--taps: {} taps on {cards} cards is more than {MAX_TAPS_PER_CARD} per card (card counters are 16 bits); give more --cards",
                self.taps
            ));
        }
        if self.max_file_records == 0 {
            return bad("--max-file-records: must be at least 1".into());
        }
        Ok(())
    }
}

/// What a run wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The output directory.
    pub dir: PathBuf,
    /// The manifest as written to `world.toml`.
    pub manifest: Manifest,
    /// The ground truth as written to `ground-truth.json`.
    pub truth: GroundTruth,
}

/// The files a run writes at the top of its directory.
pub const TOP_FILES: [&str; 4] = ["world.toml", "keys.toml", "fees.toml", "ground-truth.json"];
/// The directories a run writes.
pub const TOP_DIRS: [&str; 3] = ["files", "blacklists", "results"];

/// Whether `dir` is absent or an empty directory (the simulator and the demo never write
/// over earlier work). An error when it is a file or cannot be read.
pub fn is_absent_or_empty(dir: &Path) -> std::io::Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e),
    }
}

fn ensure_empty(out: &Path) -> Result<(), SimError> {
    if out.exists() && !out.is_dir() {
        return Err(SimError::Config(format!(
            "--out: {} exists and is not a directory",
            out.display()
        )));
    }
    if !is_absent_or_empty(out).map_err(|e| SimError::io(out, e))? {
        return Err(SimError::Config(format!(
            "--out: {} is not empty; choose a new directory (or --force to replace an earlier simulation)",
            out.display()
        )));
    }
    std::fs::create_dir_all(out).map_err(|e| SimError::io(out, e))
}

/// How far a run is: records written to the acquirers' files so far, and about how many
/// there will be (the taps; faults add a few).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Records written.
    pub records: u64,
    /// Records expected.
    pub expected: u64,
}

/// Simulates the day of `config` into the empty (or absent) directory `out`.
pub fn run(config: &Config, out: &Path) -> Result<Summary, SimError> {
    run_with_progress(config, out, &|_| {})
}

/// [`run`], calling `progress` every 65 536 records written (for a progress bar).
pub fn run_with_progress(
    config: &Config,
    out: &Path,
    progress: &dyn Fn(Progress),
) -> Result<Summary, SimError> {
    config.check()?;
    ensure_empty(out)?;
    let tables = CodeTables::builtin();
    let world = World::build(config.seed, config.day, config.extra_cities, tables)?;
    let cards = config.cards();
    let mut truth = truth::TruthBuilder::new();
    let plan = plan::plan(
        &world,
        tables,
        config.seed,
        cards,
        config.taps,
        config.faults,
        &mut truth,
    )?;
    let mut output = Output::new(
        out,
        &world,
        tables,
        &plan,
        config.seed,
        config.max_file_records,
        truth,
    )?;

    let (merged, outcomes) = std::thread::scope(|s| {
        let mut handles = Vec::new();
        let mut receivers = Vec::new();
        for id in 0..LANES {
            let (tx, rx) = sync_channel(4);
            receivers.push(rx);
            let (world, plan) = (&world, &plan);
            handles.push(s.spawn(move || {
                Lane::new(id, world, plan, tables, config.seed, tx).and_then(Lane::run)
            }));
        }
        let merged = merge::merge(receivers, &mut output, &|records| {
            progress(Progress {
                records,
                expected: config.taps,
            })
        });
        let outcomes: Vec<Result<lane::LaneOutcome, SimError>> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(SimError::Internal("a lane panicked".into())))
            })
            .collect();
        (merged, outcomes)
    });
    merged?;
    let mut stats = LaneStats::default();
    let mut facts = Vec::new();
    for o in outcomes {
        let o = o?;
        stats.add(&o.stats);
        facts.extend(o.facts);
    }

    let merge::Finished {
        files,
        acquirers,
        partners,
        mut truth,
    } = output.finish()?;
    for fact in facts {
        match fact {
            Fact::Dropped { fault, tx } => {
                let f = &mut truth.faults[fault];
                f.card_seq = Some(tx.card_seq);
                f.missing = Some(TxRef::of(&tx));
            }
            Fact::Effective { fault, at } => truth.faults[fault].effective = Some(at),
        }
    }
    for f in truth
        .faults
        .iter_mut()
        .filter(|f| f.kind == FaultKind::Clone)
    {
        f.card_seq = clash(&f.records);
    }
    let deliveries = post::deliveries(out, &files, config.faults, config.seed, &mut truth)?;
    let blacklists = post::blacklists(out, &world, tables, config.seed, cards, &mut truth)?;
    // A fault that left no trace (a card that did not ride, a late file nobody tapped for) is
    // not reported.
    truth
        .faults
        .retain(|f| f.level == Level::File || !f.records.is_empty() || f.missing.is_some());
    let faults = truth.finish();

    std::fs::write(
        out.join("keys.toml"),
        manifest::keys_toml(&world, config.seed),
    )
    .map_err(|e| SimError::io(&out.join("keys.toml"), e))?;
    std::fs::write(out.join("fees.toml"), manifest::FEES_TOML)
        .map_err(|e| SimError::io(&out.join("fees.toml"), e))?;

    let truth = GroundTruth {
        version: TRUTH_VERSION,
        seed: config.seed,
        day: config.day,
        faults_spec: config.faults.to_string(),
        faults,
        acquirers,
        partners,
    };
    let manifest = build_manifest(
        config,
        &world,
        cards,
        &stats,
        &deliveries,
        &blacklists,
        &truth,
    );
    let json = serde_json::to_string_pretty(&truth)
        .map_err(|e| SimError::Internal(format!("ground truth: {e}")))?;
    std::fs::write(out.join("ground-truth.json"), json + "\n")
        .map_err(|e| SimError::io(&out.join("ground-truth.json"), e))?;
    let text =
        toml::to_string(&manifest).map_err(|e| SimError::Internal(format!("manifest: {e}")))?;
    let header = format!(
        "# hutong simulate: the world of a simulated day (docs/simulate.md describes every field).\n\
         # Seed {}, day {}. Paths are relative to this file.\n\n",
        config.seed, config.day
    );
    std::fs::write(out.join("world.toml"), header + &text)
        .map_err(|e| SimError::io(&out.join("world.toml"), e))?;
    Ok(Summary {
        dir: out.to_path_buf(),
        manifest,
        truth,
    })
}

/// The first card counter that both cards of a clone pair used for the same kind of counter.
fn clash(records: &[RecordRef]) -> Option<u16> {
    let counter = |k: &str| if k == "load" { "online" } else { "offline" };
    records
        .iter()
        .filter(|r| r.role == "clone")
        .filter(|c| {
            records.iter().any(|o| {
                o.role == "card" && o.card_seq == c.card_seq && counter(&o.kind) == counter(&c.kind)
            })
        })
        .map(|c| c.card_seq)
        .min()
}

fn build_manifest(
    config: &Config,
    world: &World,
    cards: u64,
    stats: &LaneStats,
    deliveries: &[post::Delivery],
    blacklists: &[post::BlacklistInfo],
    truth: &GroundTruth,
) -> Manifest {
    let participant = participants()
        .into_iter()
        .map(|p| {
            let is_hub = p.code == HUB;
            ParticipantEntry {
                code: p.code.into(),
                name: p.name.into(),
                kind: p.kind,
                format: p.format.map(|f| f.to_string()),
                files: (!is_hub).then(|| merge::dir_of("files", p.code)),
                blacklists: (!is_hub).then(|| merge::dir_of("blacklists", p.code)),
                results: RESULT_PARTNERS
                    .contains(&p.code)
                    .then(|| merge::dir_of("results", p.code)),
            }
        })
        .collect();
    let route = world
        .routes
        .iter()
        .map(|r| RouteEntry {
            scheme: r.scheme.to_string(),
            issuer: r.issuer.map_or("*".into(), |i| i.to_string()),
            city: r.city.map_or("*".into(), |c| c.to_string()),
            participant: r.participant.into(),
        })
        .collect();
    let city = world
        .cities
        .iter()
        .map(|c| CityEntry {
            key: c.key.clone(),
            name: c.name.clone(),
            name_zh: c.name_zh.clone(),
            role: c.role,
            acquirer: c.acquirer.into(),
            mohurd_code: c.mohurd_code.clone(),
            mot_code: c.mot_code.clone(),
            admin_code: c.admin_code.clone(),
            operator: c
                .operators
                .iter()
                .map(|o| OperatorEntry {
                    name: o.name.clone(),
                    kind: o.kind,
                    industry: o.kind.industry().to_string(),
                    acquirer: o.acquirer.into(),
                    terminals_per_lane: o.terminals,
                })
                .collect(),
        })
        .collect();
    let issuer = world
        .issuers
        .iter()
        .enumerate()
        .map(|(i, iss)| IssuerEntry {
            scheme: iss.scheme.to_string(),
            issuer: iss.id.issuer_code.to_string(),
            city: iss.id.city_code.to_string(),
            city_key: world.cities[iss.city].key.clone(),
            name: iss.name.clone(),
            alg: manifest::alg_name(iss.keys.alg).into(),
            participant: iss.participant.into(),
            key_held: iss.key_held,
            role: iss.role,
            cards: stats.by_issuer.get(i).copied().unwrap_or(0),
        })
        .collect();
    let file: Vec<FileEntry> = deliveries
        .iter()
        .enumerate()
        .map(|(i, d)| FileEntry {
            order: i as u32 + 1,
            path: d.path.clone(),
            participant: d.participant.into(),
            format: d.format.to_string(),
            seq: d.seq,
            created: d.created,
            records: d.records,
            amount_fen: d.amount_fen,
            expect: d.expect.into(),
            copy_of: d.copy_of.clone(),
            first_tx: d.first,
            last_tx: d.last,
        })
        .collect();
    let blacklist = blacklists
        .iter()
        .map(|b| BlacklistFileEntry {
            path: b.path.clone(),
            participant: b.participant.into(),
            seq: b.seq,
            created: b.created,
            entries: b.entries,
        })
        .collect();
    let result = truth
        .partners
        .iter()
        .map(|p| ResultFileEntry {
            path: p.results_file.clone(),
            participant: p.code.clone(),
            format: "hutong-xml".into(),
            records: p.declared.records,
            amount_fen: p.declared.amount_fen,
        })
        .collect();
    let mut fault_counts: BTreeMap<String, u64> = FaultKind::ALL
        .iter()
        .map(|k| (k.as_str().to_string(), 0))
        .collect();
    for f in &truth.faults {
        *fault_counts.entry(f.kind.as_str().to_string()).or_default() += 1;
    }
    let cards_by_category = manifest::category_names()
        .into_iter()
        .zip(stats.by_category)
        .map(|(n, c)| (n.to_string(), c))
        .collect();
    Manifest {
        version: MANIFEST_VERSION,
        generator: format!("hutong simulate {}", env!("CARGO_PKG_VERSION")),
        seed: config.seed,
        day: config.day,
        cut_off: "23:00".into(),
        hub: HUB.into(),
        home: QD.into(),
        keys: "keys.toml".into(),
        fees: "fees.toml".into(),
        ground_truth: "ground-truth.json".into(),
        faults: config.faults.to_string(),
        result_format: "hutong-xml".into(),
        counts: Counts {
            lanes: u32::from(LANES),
            cities: world.cities.len() as u32,
            issuers: world.issuers.len() as u32,
            cards,
            active_cards: stats.active_cards,
            taps: stats.taps,
            clone_taps: stats.clone_taps,
            late_taps: stats.late_taps,
            purchases: stats.purchases,
            composite_purchases: stats.composite,
            loads: stats.loads,
            m1: stats.m1,
            records: truth.acquirers.iter().map(|a| a.in_files.records).sum(),
            deliveries: deliveries.len() as u64,
            faults: fault_counts,
            cards_by_category,
        },
        participant,
        route,
        city,
        issuer,
        blacklist,
        file,
        result,
    }
}
