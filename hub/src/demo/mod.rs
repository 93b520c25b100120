//! `hutong demo`: the whole hub on its embedded default, with nothing to prepare.
//!
//! [`run`] walks one settlement day from end to end, each step the real thing:
//!
//! | step | what happens | module |
//! |---|---|---|
//! | simulate | a seeded day of every participant's files ([`simulator`]) | [`setup`] |
//! | configure | the hub's CA, a server certificate for 127.0.0.1, one client certificate per partner; participants, formats, routes, issuer keys, fees | [`setup`] |
//! | serve | the real product ([`crate::app::Application`]) on 127.0.0.1 (a free port), in this process: mTLS API, ingest worker, deliverer, scheduler | [`run`] |
//! | upload | every partner uploads its blacklists and files as a separate mTLS client, all partners at once | [`partners`] |
//! | ingest | the worker parses, translates, checks and stores every file; the demo waits for it | [`run`] |
//! | clear | the day's window closes early (now), positions, settlement files, statements, outbound packages | [`run`] |
//! | results | partners fetch their packages and send back their result files over mTLS | [`partners`] |
//! | reconcile | results matched, card audit, late presentments; rules resolve what they can, disputes open | [`run`] |
//! | verify | `hutong verify` of the closed day: records, pairs, positions, statements, instructions, packages, audit chain, digests | [`crate::verify`] |
//! | report | files and records by outcome, positions, discrepancies, every injected fault found or not | [`report`] |
//!
//! The simulated day is the settlement day the demo runs in (the one whose cut-off comes
//! next), replayed at once: the hub accepts transaction times up to two days after a file's
//! receipt here (a real hub accepts none ahead, [`crate::settings::AcceptanceWindow`]).

pub mod partners;
pub mod report;
pub mod setup;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;

use crate::app::{AppSettings, Application, StoreChoice};
use crate::clearing::{self, ClearingSettings};
use crate::ingest::IngestConfig;
use crate::reconcile::{self, ReconcileSettings};
use crate::settings::{AcceptanceWindow, HubSettings};
use crate::store::{DbTarget, FileStatus, Store, Timestamp};
use crate::vault::Vault;

pub use partners::Uploads;
pub use report::{DemoReport, FaultCheck};

/// What to run.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// Where everything goes (created; must be empty or absent).
    pub dir: PathBuf,
    /// The simulated day's taps.
    pub taps: u64,
    /// The simulator's seed.
    pub seed: u64,
    /// A database URL instead of the embedded SQLite file in `DIR/hub/`.
    pub database: Option<String>,
    /// An earlier simulation's directory to use instead of simulating (`hutong bench e2e`
    /// runs one day on each backend); it must be for the settlement day the demo runs in.
    pub world: Option<PathBuf>,
}

/// A step of the demo, as it starts (for the progress display).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A step starts; the text says what it does.
    Step(&'static str, String),
    /// Simulation progress: records written of about this many.
    Simulated {
        /// Records written.
        records: u64,
        /// Records expected.
        expected: u64,
    },
    /// A partner uploaded a file: files done of its total, bytes so far.
    Uploaded {
        /// The partner.
        participant: String,
        /// Files uploaded.
        done: u64,
        /// Files to upload.
        total: u64,
        /// Bytes uploaded.
        bytes: u64,
    },
    /// A partner finished uploading.
    PartnerDone(String),
    /// Ingest progress: files ingested of the files uploaded, records accepted so far.
    Ingested {
        /// Files no longer waiting.
        done: u64,
        /// Files uploaded.
        total: u64,
        /// Records accepted so far.
        accepted: u64,
    },
}

/// Where the demo's progress goes (the command line draws bars; tests ignore it).
pub type Observer<'a> = &'a (dyn Fn(Event) + Send + Sync);

/// Why the demo stopped.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A setting or the directory is not usable.
    #[error("{0}")]
    BadInput(String),
    /// A step failed.
    #[error("{step}: {message}")]
    Step {
        /// The step.
        step: &'static str,
        /// What went wrong.
        message: String,
    },
}

/// Tags a step's error with the step's name.
pub(crate) trait StepResult<T> {
    /// The error as [`DemoError::Step`] of `step`.
    fn step(self, step: &'static str) -> Result<T, DemoError>;
}

impl<T, E: std::fmt::Display> StepResult<T> for Result<T, E> {
    fn step(self, step: &'static str) -> Result<T, DemoError> {
        self.map_err(|e| DemoError::Step {
            step,
            message: e.to_string(),
        })
    }
}

/// The hub's participant code in the simulated world.
pub const HUB_CODE: &str = simulator::HUB;

/// Runs the demo (see the module documentation) and returns its report.
pub async fn run(config: &DemoConfig, observe: Observer<'_>) -> Result<DemoReport, DemoError> {
    let started = Instant::now();
    let mut hub = DemoHub::start(config, observe).await?;
    hub.start_ingest();
    let result = async {
        let (uploads, upload_seconds) = hub.upload(observe).await?;
        let ingest_seconds = hub
            .finish_ingest(uploads.files.len() as u64, observe)
            .await?;
        let (outputs, clear_seconds) = hub.clear(observe).await?;
        let reconcile_started = Instant::now();
        let (fetched, cases) = hub.results_and_reconcile(observe).await?;
        let reconcile_seconds = reconcile_started.elapsed().as_secs_f64();
        observe(Event::Step(
            "verify",
            format!(
                "proving day {}: records, pairs, positions, statements, instructions, packages, audit chain, digests",
                hub.day
            ),
        ));
        let verify = crate::verify::verify_day(&hub.store, &hub.vault, hub.day)
            .await
            .step("verify")?;
        observe(Event::Step("report", "gathering the day's figures".into()));
        let positions = clearing::positions(&hub.store, &hub.clearing, hub.day)
            .await
            .step("report")?;
        report::gather(report::Inputs {
            store: &hub.store,
            dir: &config.dir,
            world_dir: &hub.world_dir,
            truth: &hub.sim.truth,
            manifest: &hub.sim.manifest,
            uploads: &uploads,
            positions,
            outputs,
            fetched,
            cases,
            verify,
            url: hub.url.clone(),
            database: hub.target.describe(),
            seconds: report::Seconds {
                simulate: hub.sim.seconds,
                configure: hub.configure_seconds,
                reconcile: reconcile_seconds,
                upload: upload_seconds,
                ingest: ingest_seconds,
                clear: clear_seconds,
                total: started.elapsed().as_secs_f64(),
            },
        })
        .await
    }
    .await;
    hub.stop().await;
    result
}

/// A simulated day and the hub serving it, in this process: the stages of the demo (and of
/// `hutong bench e2e`) as methods, each timed by its caller.
pub struct DemoHub {
    /// The hub's database.
    pub store: Store,
    /// The hub's files.
    pub vault: Vault,
    /// Where the hub listens (`https://127.0.0.1:PORT`).
    pub url: String,
    /// The PKI and the partners' credentials.
    pub configured: setup::Configured,
    /// The simulated day.
    pub sim: setup::Simulated,
    /// The settlement day.
    pub day: NaiveDate,
    /// The simulation's directory.
    pub world_dir: PathBuf,
    /// The database's location.
    pub target: DbTarget,
    /// Clearing settings (the simulator's fee schedule).
    pub clearing: ClearingSettings,
    /// Reconciliation settings (the defaults, with the demo's hub settings).
    pub reconcile: ReconcileSettings,
    /// Seconds the configuration took.
    pub configure_seconds: f64,
    app: Application,
}

/// The demo hub's own settings: hub code `HUB` and, because the simulated day is replayed at
/// once, transaction times accepted up to two days after a file's receipt.
pub fn demo_hub_settings() -> HubSettings {
    HubSettings {
        hub_code: HUB_CODE.into(),
        acceptance: AcceptanceWindow {
            back_days: 30,
            ahead_seconds: 2 * 86_400,
        },
        ..HubSettings::default()
    }
}

impl DemoHub {
    /// Simulates the day, configures the hub for it and starts its server (not yet its
    /// ingest worker: [`DemoHub::start_ingest`]).
    pub async fn start(config: &DemoConfig, observe: Observer<'_>) -> Result<DemoHub, DemoError> {
        let day = demo_day(Timestamp::now());
        // The database first: a URL that cannot work fails before minutes of simulation.
        let store_started = Instant::now();
        let hub_dir = config.dir.join("hub");
        let target = match &config.database {
            Some(url) => DbTarget::Url(url.clone()),
            None => DbTarget::DataDir(hub_dir.clone()),
        };
        std::fs::create_dir_all(&hub_dir).step("configure")?;
        let store = match Store::open(&target).await {
            Ok(store) => store,
            Err(e @ crate::store::StoreError::UnsupportedUrl(_)) => {
                return Err(DemoError::BadInput(format!("--database: {e}")));
            }
            Err(e) => return Err(e).step("configure"),
        };
        let store_time = store_started.elapsed();
        let (world_dir, sim) = match &config.world {
            Some(dir) => (dir.clone(), setup::load(dir, day)?),
            None => {
                let world_dir = config.dir.join("world");
                observe(Event::Step(
                    "simulate",
                    format!(
                        "a seeded day ({} taps, seed {}, settlement day {day})",
                        config.taps, config.seed
                    ),
                ));
                let sim = setup::simulate(config, day, &world_dir, observe)?;
                (world_dir, sim)
            }
        };

        observe(Event::Step(
            "configure",
            "PKI, participant certificates, participants, routes, issuer keys, fees".into(),
        ));
        let configure_started = Instant::now();
        let vault = Vault::open_for(&hub_dir, &store).step("configure")?;
        let configured = setup::configure(&config.dir, &sim.manifest, &store).await?;
        let hub = demo_hub_settings();
        let clearing = ClearingSettings {
            hub: hub.clone(),
            ..ClearingSettings::default()
        }
        .with_fees_file(&world_dir.join(&sim.manifest.fees))
        .step("configure")?;
        let reconcile = ReconcileSettings {
            hub: hub.clone(),
            ..ReconcileSettings::default()
        };
        let ingest = IngestConfig {
            hub: hub.clone(),
            keys: Arc::new(
                crate::ingest::keys::IssuerKeys::load(&world_dir.join(&sim.manifest.keys))
                    .map_err(|e| DemoError::Step {
                        step: "configure",
                        message: e,
                    })?,
            ),
            ..IngestConfig::default()
        };
        let configure_seconds = (store_time + configure_started.elapsed()).as_secs_f64();

        // The real product: API, ingest worker (started by the caller), deliverer, scheduler.
        let mut settings = AppSettings::new(
            StoreChoice::Open(store.clone()),
            hub_dir.clone(),
            configured.pki.dir().to_path_buf(),
        );
        settings.hub = hub;
        settings.clearing = clearing.clone();
        settings.reconcile = reconcile.clone();
        settings.ingest = ingest;
        settings.workers.ingest = false;
        let app = Application::build(settings).await.step("serve")?;
        let url = app.api_url();
        Ok(DemoHub {
            store,
            vault,
            url,
            configured,
            sim,
            day,
            world_dir,
            target,
            clearing,
            reconcile,
            configure_seconds,
            app,
        })
    }

    /// Starts the ingest worker (the demo before the uploads, so that ingest overlaps them;
    /// the benchmark after, to time each stage alone).
    pub fn start_ingest(&mut self) {
        self.app.start_ingest();
    }

    /// Every partner uploads its day at once; returns the uploads and the seconds taken.
    pub async fn upload(&self, observe: Observer<'_>) -> Result<(Uploads, f64), DemoError> {
        observe(Event::Step(
            "upload",
            format!(
                "partners upload their files over mutual TLS to {}",
                self.url
            ),
        ));
        let started = Instant::now();
        let uploads = partners::upload_day(
            &self.url,
            &self.configured,
            &self.sim.manifest,
            &self.world_dir,
            observe,
        )
        .await?;
        Ok((uploads, started.elapsed().as_secs_f64()))
    }

    /// Waits for ingest to finish every upload; returns the seconds waited.
    pub async fn finish_ingest(
        &mut self,
        total: u64,
        observe: Observer<'_>,
    ) -> Result<f64, DemoError> {
        observe(Event::Step(
            "ingest",
            "the hub parses, translates, checks and stores every file".into(),
        ));
        let started = Instant::now();
        self.start_ingest();
        self.app.wake_ingest();
        wait_for_ingest(&self.store, total, observe).await?;
        Ok(started.elapsed().as_secs_f64())
    }

    /// Closes the day's window now, clears it, writes its settlement files, statements and
    /// outbound packages; returns how many files and the seconds taken.
    pub async fn clear(&self, observe: Observer<'_>) -> Result<(usize, f64), DemoError> {
        observe(Event::Step(
            "clear",
            format!(
                "closing settlement day {} now, clearing, settlement files and packages",
                self.day
            ),
        ));
        let started = Instant::now();
        let closed = crate::day::close_day(
            &self.store,
            &self.vault,
            &self.clearing,
            self.day,
            Timestamp::now(),
            true,
            Some(self.app.outbox()),
        )
        .await
        .step("clear")?;
        Ok((closed.outputs.len(), started.elapsed().as_secs_f64()))
    }

    /// Partners fetch what the hub sent them and answer with their results; the day is
    /// reconciled, the rules applied, and a dispute opened if the rules opened none. Returns
    /// the files fetched and the dispute cases opened.
    pub async fn results_and_reconcile(
        &self,
        observe: Observer<'_>,
    ) -> Result<(usize, Vec<i64>), DemoError> {
        observe(Event::Step(
            "results",
            "partners fetch their packages and statements, and send back their results".into(),
        ));
        let fetched = partners::fetch_and_answer(
            &self.url,
            &self.configured,
            &self.sim.manifest,
            &self.world_dir,
        )
        .await?;
        self.app.wake_ingest();
        wait_for_ingest(&self.store, 0, &|_| {}).await?;

        observe(Event::Step(
            "reconcile",
            "matching results, auditing cards, resolving by rule, opening disputes".into(),
        ));
        let settings = &self.reconcile;
        let summary = reconcile::reconcile_day(
            &self.store,
            &self.vault,
            settings,
            self.day,
            Timestamp::now(),
            Some(self.app.outbox()),
        )
        .await
        .step("reconcile")?;
        let mut cases = summary.resolved.cases.clone();
        if cases.is_empty()
            && let Some(case) = report::open_one_dispute(&self.store, settings).await?
        {
            cases.push(case);
        }
        Ok((fetched, cases))
    }

    /// Stops the application and closes the database.
    pub async fn stop(self) {
        self.app.stop().await;
        self.store.close().await;
    }
}

/// Waits until no uploaded file is waiting for ingest, reporting progress against `total`
/// uploads (0: do not report).
async fn wait_for_ingest(
    store: &Store,
    total: u64,
    observe: Observer<'_>,
) -> Result<(), DemoError> {
    // A file ingest cannot finish (its storage failed) would stay `received` for ever: give up
    // after a generous time rather than hang.
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        let waiting = store
            .count_files_with_status(FileStatus::Received)
            .await
            .step("ingest")?;
        if total > 0 {
            let accepted = store.accepted_records_total().await.step("ingest")?;
            observe(Event::Ingested {
                done: total.saturating_sub(waiting),
                total,
                accepted,
            });
        }
        if waiting == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(DemoError::Step {
                step: "ingest",
                message: format!("{waiting} files still waiting after an hour"),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The settlement day the demo simulates for a given instant (tests use it to know the day).
pub fn demo_day(now: Timestamp) -> NaiveDate {
    HubSettings::default().cutoff.settlement_day(now.datetime())
}

/// Checks that `dir` is absent or empty (the demo never writes over earlier work).
pub fn check_dir(dir: &Path) -> Result<(), DemoError> {
    match simulator::is_absent_or_empty(dir) {
        Ok(true) => Ok(()),
        Ok(false) => Err(DemoError::BadInput(format!(
            "--dir {} is not empty: give a new directory (or remove the earlier demo's)",
            dir.display()
        ))),
        Err(e) => Err(DemoError::BadInput(format!("--dir {}: {e}", dir.display()))),
    }
}
