//! `hutong drill`: a seeded fault drill of the whole hub, with ground truth.
//!
//! One simulated day is run twice through real `hutong serve` processes: a **clean** run (one
//! replica, no faults) and a **faulted** run (N replicas on one database; SIGKILL of random
//! replicas at random moments, each restarted after a random delay; on PostgreSQL also crashes
//! of the database itself, from a private cluster of the drill's own). The simulated partners
//! upload through all replicas as through a load balancer — each upload goes to a replica
//! chosen from the seed and, when it fails, again to another with the same content — while
//! the replicas ingest. Then the day is closed and the faulted run is held against the clean
//! one ([`checks`]): every receipt's file stored with its digest, every record accounted for
//! once, the same accepted and rejected records, the same positions to the fen summing to
//! zero, an intact audit chain, and `hutong verify` passing.
//!
//! The fault schedule (victim, delays) comes from the seed and is printed; `--seed S` replays
//! it. The moments depend on the machine's speed, so the stage each fault hits may differ
//! between replays; the invariants may not.

pub mod checks;
pub mod endpoints;
pub mod fleet;
pub mod postgres;
pub mod proxy;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use serde::Serialize;
use tokio::sync::Mutex;

use crate::clearing::ClearingSettings;
use crate::client::HubClient;
use crate::demo::setup::{self, Configured};
use crate::store::{Backend, DbTarget, FileStatus, OpenMode, Store, Timestamp};
use crate::vault::Vault;
use crate::wire::Receipt;
use fleet::{Replica, ReplicaSpec};
use postgres::PrivatePostgres;

/// Why a drill could not run (as opposed to a drill that ran and found a broken invariant).
#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    /// What was asked cannot be run (a directory in use, a day the simulator refuses).
    #[error("{0}")]
    BadInput(String),
    /// Preparing the drill's parts failed (PostgreSQL, processes, files).
    #[error("drill setup: {0}")]
    Setup(String),
    /// The hub's storage.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A step of the day could not be completed even with retries.
    #[error("drill: {0}")]
    Stuck(String),
}

/// What a drill runs.
#[derive(Debug, Clone)]
pub struct DrillConfig {
    /// A new, empty working directory.
    pub dir: PathBuf,
    /// The `hutong` binary the replicas run.
    pub binary: PathBuf,
    /// PostgreSQL (replicas on a private cluster) or SQLite (one server).
    pub backend: Backend,
    /// Replicas of the faulted run (PostgreSQL; SQLite has one).
    pub replicas: usize,
    /// Replica kills to inject.
    pub kills: usize,
    /// Database crashes to inject (PostgreSQL).
    pub db_restarts: usize,
    /// Cuts of every connection in flight (uploads to the replicas, pushes to the partners'
    /// endpoints), through the drill's TCP proxies.
    pub cuts: usize,
    /// Taps of the simulated day.
    pub taps: u64,
    /// The seed of the day and of the fault schedule.
    pub seed: u64,
}

impl DrillConfig {
    /// Replicas of the faulted run: `replicas` on PostgreSQL, the one server on SQLite.
    pub fn faulted_replicas(&self) -> usize {
        match self.backend {
            Backend::Postgres => self.replicas.max(1),
            Backend::Sqlite => 1,
        }
    }
}

/// One fault of the schedule, as planned from the seed and as it went.
#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    /// `kill` (SIGKILL of a replica), `db-crash` (PostgreSQL stopped `-m immediate`) or `cut`
    /// (every proxied connection in flight closed).
    pub kind: &'static str,
    /// The replica killed (`-` for the database).
    pub target: String,
    /// Milliseconds waited before it.
    pub after_ms: u64,
    /// Milliseconds until the restart.
    pub down_ms: u64,
    /// The stage it hit (`blacklists`, `transactions`, `ingest`, `after ingest`), or
    /// `not reached` when the drill stopped early (a day that could not be completed).
    pub stage: String,
}

/// The drill's result.
#[derive(Debug, Clone, Serialize)]
pub struct DrillReport {
    /// The seed.
    pub seed: u64,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// Replicas of the faulted run.
    pub replicas: usize,
    /// Taps simulated.
    pub taps: u64,
    /// Files uploaded per run.
    pub files: usize,
    /// Upload attempts that failed and were retried elsewhere (faulted run).
    pub retried_uploads: u64,
    /// The schedule, with the stage each fault hit.
    pub faults: Vec<Fault>,
    /// Faults injected per stage.
    pub faults_by_stage: BTreeMap<String, usize>,
    /// Every invariant checked.
    pub invariants: Vec<checks::Invariant>,
    /// How many passed.
    pub passed: usize,
    /// How many failed.
    pub failed: usize,
    /// Seconds of the clean run and of the faulted run.
    pub clean_seconds: f64,
    /// Seconds of the faulted run.
    pub faulted_seconds: f64,
}

/// Where the day is when a fault hits: uploading blacklists, uploading transaction files,
/// waiting for their ingest, or done (the faults left are carried out all the same, and the
/// day is then checked for being still whole).
const STAGES: [&str; 5] = [
    "not started",
    "blacklists",
    "transactions",
    "ingest",
    "after ingest",
];

/// What one run left behind, for the checks.
pub(crate) struct RunOutcome {
    pub(crate) store: Store,
    pub(crate) vault: Vault,
    pub(crate) receipts: Vec<(String, Receipt)>,
    pub(crate) day: NaiveDate,
    pub(crate) retried: u64,
    pub(crate) endpoints: endpoints::Endpoints,
}

/// Runs the drill.
pub async fn run(config: &DrillConfig) -> Result<DrillReport, DrillError> {
    if !simulator::is_absent_or_empty(&config.dir).unwrap_or(false) {
        return Err(DrillError::BadInput(format!(
            "--dir {} is not empty: give a new directory",
            config.dir.display()
        )));
    }
    std::fs::create_dir_all(&config.dir).map_err(|e| DrillError::Setup(e.to_string()))?;
    let day = crate::demo::demo_day(Timestamp::now());
    let world = config.dir.join("world");
    let mut sim = simulator::Config::new(config.seed, day);
    sim.taps = config.taps;
    sim.check()
        .map_err(|e| DrillError::BadInput(e.to_string()))?;
    let summary =
        simulator::run(&sim, &world).map_err(|e| DrillError::Setup(format!("simulate: {e}")))?;
    let manifest = summary.manifest;

    let pg = match config.backend {
        Backend::Postgres => Some(Arc::new(PrivatePostgres::start()?)),
        Backend::Sqlite => None,
    };
    let schedule = plan(config);

    let uploads = manifest.file.len() + manifest.blacklist.len();
    let replicas = config.faulted_replicas();
    let started = Instant::now();
    let (clean, _) = run_day(config, &manifest, &world, day, pg.as_ref(), "clean", 1, &[]).await?;
    let clean_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let (faulted, faults) = run_day(
        config,
        &manifest,
        &world,
        day,
        pg.as_ref(),
        "faulted",
        replicas,
        &schedule,
    )
    .await?;
    let faulted_seconds = started.elapsed().as_secs_f64();

    let invariants = checks::run(&clean, &faulted, uploads).await;
    let failed = invariants.iter().filter(|i| !i.passed).count();
    let mut faults_by_stage = BTreeMap::new();
    for f in &faults {
        *faults_by_stage.entry(f.stage.clone()).or_insert(0) += 1;
    }
    clean.store.close().await;
    faulted.store.close().await;
    Ok(DrillReport {
        seed: config.seed,
        backend: config.backend.as_str(),
        replicas,
        taps: config.taps,
        files: uploads,
        retried_uploads: faulted.retried,
        faults,
        faults_by_stage,
        passed: invariants.len() - failed,
        failed,
        invariants,
        clean_seconds,
        faulted_seconds,
    })
}

/// The fault schedule from the seed: kills spread over the day with a database crash after
/// every `kills / (db_restarts + 1)` of them.
pub fn plan(config: &DrillConfig) -> Vec<Fault> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x0d81_11ed);
    let replicas = config.faulted_replicas();
    let db_restarts = match config.backend {
        Backend::Postgres => config.db_restarts,
        Backend::Sqlite => 0,
    };
    let every = (config.kills / (db_restarts + 1)).max(1);
    let mut faults = Vec::new();
    let mut crashes = 0;
    for k in 0..config.kills {
        faults.push(Fault {
            kind: "kill",
            target: format!("r{}", rng.next_u64() % replicas as u64),
            after_ms: 150 + rng.next_u64() % 600,
            down_ms: 100 + rng.next_u64() % 500,
            stage: STAGES[0].into(),
        });
        if (k + 1) % every == 0 && crashes < db_restarts {
            crashes += 1;
            faults.push(db_crash(&mut rng));
        }
    }
    while crashes < db_restarts {
        crashes += 1;
        faults.push(db_crash(&mut rng));
    }
    // Cuts spread evenly among the other faults.
    for c in 0..config.cuts {
        let at = (c + 1) * faults.len() / (config.cuts + 1) + c;
        let cut = Fault {
            kind: "cut",
            target: "-".into(),
            after_ms: 100 + rng.next_u64() % 500,
            down_ms: 0,
            stage: STAGES[0].into(),
        };
        faults.insert(at.min(faults.len()), cut);
    }
    faults
}

fn db_crash(rng: &mut ChaCha8Rng) -> Fault {
    Fault {
        kind: "db-crash",
        target: "-".into(),
        after_ms: 200 + rng.next_u64() % 600,
        down_ms: 300 + rng.next_u64() % 700,
        stage: STAGES[0].into(),
    }
}

/// One run of the day: storage, configuration, `replicas` servers, the uploads in two phases
/// (blacklists, then transaction files) each waited on until ingested, the faults of
/// `schedule` meanwhile, a graceful stop, and the day closed.
#[allow(clippy::too_many_arguments)]
async fn run_day(
    config: &DrillConfig,
    manifest: &simulator::Manifest,
    world: &Path,
    day: NaiveDate,
    pg: Option<&Arc<PrivatePostgres>>,
    name: &str,
    replicas: usize,
    schedule: &[Fault],
) -> Result<(RunOutcome, Vec<Fault>), DrillError> {
    let run_dir = config.dir.join(name);
    std::fs::create_dir_all(&run_dir).map_err(|e| DrillError::Setup(e.to_string()))?;
    let (target, database) = match pg {
        Some(pg) => {
            let url = pg.database(name)?;
            (DbTarget::Url(url.clone()), Some(url))
        }
        None => (DbTarget::DataDir(run_dir.join("r0")), None),
    };
    if let DbTarget::DataDir(d) = &target {
        std::fs::create_dir_all(d).map_err(|e| DrillError::Setup(e.to_string()))?;
    }
    let store = Store::open_with(&target, OpenMode::Create).await?;
    let configured = setup::configure(&run_dir, manifest, &store)
        .await
        .map_err(|e| DrillError::Setup(e.to_string()))?;
    // Every partner gets an endpoint of its own that counts what the hub pushes to it.
    let partners: Vec<String> = configured.credentials.keys().cloned().collect();
    let endpoints = endpoints::Endpoints::start(&configured.pki, &partners).await?;
    // The replicas push through a proxy in front of each endpoint (cut by `cut` faults).
    let mut proxies = Vec::new();
    for (code, addr) in &endpoints.addrs {
        let proxy = proxy::Proxy::start(*addr).await?;
        let url = format!("https://127.0.0.1:{}", proxy.addr.port());
        store.set_participant_endpoint(code, Some(&url)).await?;
        proxies.push(Arc::new(proxy));
    }
    // A cut-off far from now: the drill closes the day itself, after the uploads.
    let cutoff = (chrono::Utc::now() + chrono::Duration::hours(12))
        .with_timezone(&crate::settings::HubSettings::default().offset())
        .format("%H:%M")
        .to_string();
    let mut fleet = Vec::new();
    for i in 0..replicas {
        let data = run_dir.join(format!("r{i}"));
        std::fs::create_dir_all(&data).map_err(|e| DrillError::Setup(e.to_string()))?;
        let port = postgres::free_port()?;
        let config_path = run_dir.join(format!("r{i}.toml"));
        fleet::write_config(
            &config_path,
            &data,
            database.as_deref(),
            configured.pki.dir(),
            port,
            &world.join(&manifest.keys),
            &world.join(&manifest.fees),
            &cutoff,
        )?;
        let mut replica = Replica::new(ReplicaSpec {
            name: format!("r{i}"),
            binary: config.binary.clone(),
            config: config_path,
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        });
        replica.start().await?;
        fleet.push(replica);
    }
    // The partners reach each replica through a proxy of its own.
    let mut urls = Vec::new();
    for r in &fleet {
        let proxy = proxy::Proxy::start(r.spec.addr).await?;
        urls.push(format!("https://127.0.0.1:{}", proxy.addr.port()));
        proxies.push(Arc::new(proxy));
    }
    let fleet = Arc::new(Mutex::new(fleet));
    let stage = Arc::new(AtomicU8::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let injector = tokio::spawn(inject(
        schedule.to_vec(),
        fleet.clone(),
        pg.cloned(),
        proxies.clone(),
        stage.clone(),
        done.clone(),
    ));

    let mut uploader = Uploader {
        configured: &configured,
        urls,
        rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x00a1_0ad5),
        retried: 0,
        receipts: Vec::new(),
    };
    let mut blacklists: Vec<(String, String)> = manifest
        .blacklist
        .iter()
        .map(|b| (b.participant.clone(), b.path.clone()))
        .collect();
    blacklists.sort();
    let mut files = manifest.file.clone();
    files.sort_by_key(|f| f.order);
    let files: Vec<(String, String)> = files.into_iter().map(|f| (f.participant, f.path)).collect();
    let work = async {
        stage.store(1, Ordering::SeqCst);
        uploader.upload_all(world, &blacklists).await?;
        wait_ingested(&store).await?;
        stage.store(2, Ordering::SeqCst);
        uploader.upload_all(world, &files).await?;
        stage.store(3, Ordering::SeqCst);
        wait_ingested(&store).await?;
        stage.store(4, Ordering::SeqCst);
        Ok::<(), DrillError>(())
    };
    let worked = work.await;
    if worked.is_err() {
        done.store(true, Ordering::SeqCst); // stop faulting a day that is stuck
    }
    // Every fault of the schedule is carried out, also those the day's work outran.
    let faults = injector
        .await
        .map_err(|e| DrillError::Setup(format!("fault injector: {e}")))?;
    let worked = match worked {
        Ok(()) => wait_ingested(&store).await,
        e => e,
    };
    stop_all(&fleet).await;
    worked?;

    // The day is closed and checked from a data directory of no replica's (PostgreSQL: every
    // body comes from the database); SQLite's one server keeps them in its own.
    let close_dir = match config.backend {
        Backend::Postgres => run_dir.join("close"),
        Backend::Sqlite => run_dir.join("r0"),
    };
    let vault =
        Vault::open_for(&close_dir, &store).map_err(|e| DrillError::Setup(e.to_string()))?;
    let clearing = ClearingSettings {
        hub: crate::demo::demo_hub_settings(),
        ..ClearingSettings::default()
    }
    .with_fees_file(&world.join(&manifest.fees))
    .map_err(|e| DrillError::Setup(e.to_string()))?;
    crate::day::close_day(&store, &vault, &clearing, day, Timestamp::now(), true, None)
        .await
        .map_err(|e| DrillError::Stuck(format!("closing {day}: {e}")))?;
    // The day's packages and statements are pushed by the replicas, started again.
    {
        let mut fleet = fleet.lock().await;
        for r in fleet.iter_mut() {
            r.start().await?;
        }
    }
    let delivered = wait_delivered(&store).await;
    stop_all(&fleet).await;
    delivered?;
    Ok((
        RunOutcome {
            store,
            vault,
            receipts: uploader.receipts,
            day,
            retried: uploader.retried,
            endpoints,
        },
        faults,
    ))
}

/// Stops every replica gracefully (SIGTERM, 10 s).
async fn stop_all(fleet: &Mutex<Vec<Replica>>) {
    for r in fleet.lock().await.iter_mut() {
        r.stop(Duration::from_secs(10)).await;
    }
}

/// Waits until no inbound file waits for ingest (the replicas' workers take them).
async fn wait_ingested(store: &Store) -> Result<(), DrillError> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        // A database that does not answer (crashed by the drill) is asked again.
        if let Ok(0) = store.count_files_with_status(FileStatus::Received).await {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(DrillError::Stuck(
                "files still waiting for ingest after 300 s".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until no delivery is waiting or being pushed (each delivered, or failed for good).
async fn wait_delivered(store: &Store) -> Result<(), DrillError> {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let all = store.delivery_outcomes().await;
        if let Ok(all) = &all
            && all.iter().all(|d| d.state.is_final())
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            let open: Vec<String> = all
                .unwrap_or_default()
                .into_iter()
                .filter(|d| !d.state.is_final())
                .map(|d| {
                    format!(
                        "{} to {}: {} after {} attempts ({})",
                        d.name,
                        d.destination,
                        d.state,
                        d.attempts,
                        d.last_error.unwrap_or_default()
                    )
                })
                .collect();
            return Err(DrillError::Stuck(format!(
                "deliveries still open after 180 s: {}",
                open.join("; ")
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The simulated partners' uploads, through the replicas as through a load balancer.
struct Uploader<'a> {
    configured: &'a Configured,
    urls: Vec<String>,
    rng: ChaCha8Rng,
    retried: u64,
    receipts: Vec<(String, Receipt)>,
}

impl Uploader<'_> {
    /// Uploads each `(participant, path)` in order; a failed attempt is retried on the next
    /// replica with the same content, for up to two minutes.
    async fn upload_all(
        &mut self,
        world: &Path,
        files: &[(String, String)],
    ) -> Result<(), DrillError> {
        for (code, rel) in files {
            let c = self.configured.credentials.get(code).ok_or_else(|| {
                DrillError::Setup(format!("no credentials for participant {code}"))
            })?;
            let deadline = Instant::now() + Duration::from_secs(120);
            let mut pick = (self.rng.next_u64() % self.urls.len() as u64) as usize;
            loop {
                let url = &self.urls[pick];
                let attempt = match HubClient::from_files(url, &c.cert, &c.key, &c.ca) {
                    Ok(client) => client
                        .upload(&world.join(rel))
                        .await
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                match attempt {
                    Ok(up) => {
                        self.receipts.push((rel.clone(), up.receipt));
                        break;
                    }
                    Err(e) if Instant::now() < deadline => {
                        tracing::debug!(%code, %rel, %url, error = %e, "upload failed; retrying elsewhere");
                        self.retried += 1;
                        pick = (pick + 1) % self.urls.len();
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(e) => {
                        return Err(DrillError::Stuck(format!(
                            "{code} could not upload {rel}: {e}"
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Carries out `schedule` (all of it, unless `done` says the day is stuck), returning each
/// fault with the stage it hit. A kill spares the last running replica of several (someone
/// must serve); a single replica is killed all the same (the uploads wait for its restart).
async fn inject(
    mut schedule: Vec<Fault>,
    fleet: Arc<Mutex<Vec<Replica>>>,
    pg: Option<Arc<PrivatePostgres>>,
    proxies: Vec<Arc<proxy::Proxy>>,
    stage: Arc<AtomicU8>,
    done: Arc<AtomicBool>,
) -> Vec<Fault> {
    for fault in schedule.iter_mut() {
        fault.stage = "not reached".into();
    }
    for fault in schedule.iter_mut() {
        tokio::time::sleep(Duration::from_millis(fault.after_ms)).await;
        if done.load(Ordering::SeqCst) {
            break;
        }
        fault.stage = STAGES[usize::from(stage.load(Ordering::SeqCst)).min(4)].into();
        match fault.kind {
            "cut" => {
                let cut: usize = proxies.iter().map(|p| p.cut()).sum();
                fault.target = if cut > 0 {
                    format!("{cut} connections in flight")
                } else {
                    "the next connection, inside its body".into()
                };
            }
            "db-crash" => {
                if let Some(pg) = &pg {
                    if let Err(e) = pg.crash() {
                        tracing::warn!(error = %e, "drill: database crash failed");
                    }
                    tokio::time::sleep(Duration::from_millis(fault.down_ms)).await;
                    if let Err(e) = pg.resume() {
                        tracing::error!(error = %e, "drill: database restart failed");
                    }
                }
            }
            _ => {
                let killed = {
                    let mut guard = fleet.lock().await;
                    let running = guard
                        .iter_mut()
                        .map(|r| r.is_running())
                        .filter(|&up| up)
                        .count();
                    let several = guard.len() > 1;
                    let victim = guard.iter_mut().find(|r| r.spec.name == fault.target);
                    let spare = running <= 1 && several;
                    match victim {
                        Some(v) if !spare => {
                            let up = v.is_running();
                            if up {
                                v.kill().await;
                            }
                            up
                        }
                        _ => false,
                    }
                };
                if !killed {
                    // Down already (killed by an earlier fault, not yet back), or the last one
                    // serving: not a fault of this drill.
                    fault.stage = format!("{} (skipped: down or the last one up)", fault.stage);
                    continue;
                }
                tokio::time::sleep(Duration::from_millis(fault.down_ms)).await;
                let mut guard = fleet.lock().await;
                if let Some(victim) = guard.iter_mut().find(|r| r.spec.name == fault.target) {
                    // A restart that fails (the database down at that moment) is tried again.
                    for _ in 0..20 {
                        match victim.start().await {
                            Ok(()) => break,
                            Err(e) => {
                                tracing::warn!(error = %e, "drill: restart failed; retrying");
                                tokio::time::sleep(Duration::from_millis(500)).await;
                            }
                        }
                    }
                }
            }
        }
    }
    schedule
}
