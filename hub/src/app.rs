//! The application: the one place the running hub is assembled. `hutong serve`, `hutong demo`
//! and the tests all build it through [`Application::build`], as zero-to-production's
//! `Application` does, and get the same product: the mutual-TLS API, the finance console, the
//! ingest worker, the deliverer and the one scheduler of every timed job.
//!
//! ```text
//! AppSettings ──build──► Application ─┬─ API listener (mTLS)      server::spawn(http::app)
//!                                     ├─ console listener (TLS)   server::spawn(console::router)
//!                                     ├─ operations listener      ops::spawn (healthz, readyz, metrics)
//!                                     ├─ ingest worker            ingest::Ingestor::run
//!                                     ├─ deliverer                delivery::Deliverer::run
//!                                     └─ scheduler                scheduler::Scheduler::start
//! ```
//!
//! Listening on port 0 picks a free port; [`Application::api_addr`] says which.
//!
//! # Stopping
//!
//! [`Application::stop`] is the graceful shutdown that SIGTERM and SIGINT start: `/readyz`
//! turns 503, the listeners stop accepting and each open connection finishes the request in
//! flight (an upload gets its receipt or a clean error, never half a file), the workers finish
//! the file or push in hand, the scheduler waits for its running jobs (releasing their
//! locks), each bounded by [`AppSettings::drain`]; then the database is closed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::clearing::ClearingSettings;
use crate::console::{self, ConsoleState};
use crate::delivery::{Deliverer, DeliveryConfig, HubTls};
use crate::http::{self, AppState, DisputeConfig};
use crate::ingest::{IngestConfig, Ingestor};
use crate::metrics::{Metrics, ReplicaLabels};
use crate::ops::{self, OpsState, RunningOps};
use crate::reconcile::ReconcileSettings;
use crate::scheduler::{JobContext, ScheduleConfig, Scheduler, SchedulerError};
use crate::server::{self, ReloadingTls, RunningServer, ServeOptions};
use crate::settings::HubSettings;
use crate::store::{DbTarget, OpenMode, Store, StoreError};
use crate::vault::{Vault, VaultError};

/// The default listening address of the API.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8443";

/// The default address of the operations listener (`hutong serve`): loopback only.
pub const DEFAULT_OPS_LISTEN: &str = "127.0.0.1:9464";

/// The default upload limit: 16 GiB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 16 << 30;

/// Which storage the application runs on.
#[derive(Debug, Clone)]
pub enum StoreChoice {
    /// Open this database as `mode` says: `Migrate` (`hutong serve`: an existing hub, an older
    /// schema migrated) or `Create` (`hutong serve --init`: created if absent).
    Target(DbTarget, OpenMode),
    /// Use a store the caller opened already (the demo, tests).
    Open(Store),
}

/// Which background workers run. All of them in the product; a test may switch one off to
/// drive it by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workers {
    /// The ingest worker (uploads are parsed as they arrive).
    pub ingest: bool,
    /// The deliverer (files pushed to partners' endpoints).
    pub delivery: bool,
    /// The scheduler (cut-off, reconciliation, deadlines, checks).
    pub scheduler: bool,
}

impl Default for Workers {
    fn default() -> Self {
        Workers {
            ingest: true,
            delivery: true,
            scheduler: true,
        }
    }
}

/// Everything the application is built from.
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// The database.
    pub store: StoreChoice,
    /// The data directory (file contents, settlement files, outboxes).
    pub data_dir: PathBuf,
    /// The PKI directory (hub CA, CRL, server certificate).
    pub pki: PathBuf,
    /// The API's address (port 0: a free port).
    pub listen: SocketAddr,
    /// The finance console's address; no console when `None`.
    pub console_listen: Option<SocketAddr>,
    /// The operations listener's address (`/healthz`, `/readyz`, `/metrics`, plain HTTP);
    /// none when `None`.
    pub ops_listen: Option<SocketAddr>,
    /// This replica's name in metrics and `/healthz` (default `HOSTNAME:API_PORT`).
    pub replica: Option<String>,
    /// How long a graceful stop waits for uploads, ingest, pushes and jobs in flight.
    pub drain: Duration,
    /// The largest upload accepted, in bytes.
    pub max_file_bytes: u64,
    /// The hub's code, cut-off, local time and acceptance window: passed to every part below
    /// (their own `hub` fields are replaced by this one).
    pub hub: HubSettings,
    /// Clearing: fees, settlement account.
    pub clearing: ClearingSettings,
    /// Reconciliation rules and dispute deadlines.
    pub reconcile: ReconcileSettings,
    /// Ingest: limits and issuer keys.
    pub ingest: IngestConfig,
    /// Delivery retries.
    pub delivery: DeliveryConfig,
    /// Times of the scheduler's daily checks and expected files.
    pub schedule: ScheduleConfig,
    /// Which workers run.
    pub workers: Workers,
}

impl AppSettings {
    /// Settings with every default, on `store`, for the data directory and PKI given; the API
    /// on 127.0.0.1 at a free port, no console.
    pub fn new(store: StoreChoice, data_dir: PathBuf, pki: PathBuf) -> AppSettings {
        AppSettings {
            store,
            data_dir,
            pki,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            console_listen: None,
            ops_listen: None,
            replica: None,
            drain: server::DEFAULT_DRAIN,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            hub: HubSettings::default(),
            clearing: ClearingSettings::default(),
            reconcile: ReconcileSettings::default(),
            ingest: IngestConfig::default(),
            delivery: DeliveryConfig::default(),
            schedule: ScheduleConfig::default(),
            workers: Workers::default(),
        }
    }
}

/// Why the application could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The PKI directory cannot serve (missing, or no server certificate).
    #[error("{0}")]
    Pki(String),
    /// The TLS configurations could not be built from the PKI directory.
    #[error("building the TLS configuration from {dir}: {source}")]
    Tls {
        /// The PKI directory.
        dir: PathBuf,
        /// Why.
        source: certs::Error,
    },
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The data directory's file store.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// A listener could not bind.
    #[error("listening on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The scheduler could not start.
    #[error("starting the scheduler: {0}")]
    Scheduler(#[from] SchedulerError),
}

impl AppError {
    /// True for errors the operator fixes by changing what was given (a PKI directory that
    /// cannot serve, storage that is missing or of another version): the CLI exits 2.
    pub fn is_bad_input(&self) -> bool {
        match self {
            AppError::Pki(_) => true,
            AppError::Store(s) => s.is_bad_input(),
            _ => false,
        }
    }
}

/// The running hub.
pub struct Application {
    store: Store,
    owns_store: bool,
    vault: Vault,
    outbox: Arc<Notify>,
    ingest_wake: Arc<Notify>,
    api: RunningServer,
    console: Option<RunningServer>,
    ops: Option<RunningOps>,
    metrics: Metrics,
    draining: Arc<AtomicBool>,
    workers_stop: CancellationToken,
    drain: Duration,
    ingest: Option<IngestConfig>,
    ingest_worker: Option<JoinHandle<()>>,
    deliverer: Option<JoinHandle<()>>,
    scheduler: Option<Scheduler>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("api", &self.api.local_addr)
            .field("console", &self.console.as_ref().map(|c| c.local_addr))
            .field("ops", &self.ops.as_ref().map(|o| o.local_addr))
            .finish_non_exhaustive()
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, AppError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| AppError::Listen { addr, source })
}

impl Application {
    /// Opens the storage, builds the TLS configurations from the PKI, binds the listeners and
    /// starts the workers `settings.workers` names.
    pub async fn build(settings: AppSettings) -> Result<Application, AppError> {
        let AppSettings {
            store,
            data_dir,
            pki: pki_dir,
            listen,
            console_listen,
            ops_listen,
            replica,
            drain,
            max_file_bytes,
            hub,
            mut clearing,
            mut reconcile,
            mut ingest,
            delivery,
            schedule,
            workers,
        } = settings;
        clearing.hub = hub.clone();
        reconcile.hub = hub.clone();
        ingest.hub = hub;
        let clearing_hub_code = clearing.hub.hub_code.clone();
        let clearing = Arc::new(clearing);
        let reconcile = Arc::new(reconcile);

        let pki = certs::Pki::open(&pki_dir).map_err(|e| AppError::Pki(e.to_string()))?;
        if !pki.server_cert_path().exists() {
            return Err(AppError::Pki(format!(
                "{} holds no server certificate: run `hutong certs server --pki {} --host HOST`",
                pki_dir.display(),
                pki_dir.display()
            )));
        }
        let tls_err = |source| AppError::Tls {
            dir: pki_dir.clone(),
            source,
        };
        let api_tls = ReloadingTls::load(certs::ServerTlsFiles::of(&pki)).map_err(tls_err)?;
        let console_tls = match console_listen {
            Some(_) => {
                let files = certs::ServerTlsFiles::of(&pki);
                let tls = ReloadingTls::load_for(files, certs::ClientAuth::Optional);
                Some(Arc::new(tls.map_err(tls_err)?))
            }
            None => None,
        };

        let (store, owns_store) = match store {
            StoreChoice::Open(store) => (store, false),
            StoreChoice::Target(target, mode) => (Store::open_with(&target, mode).await?, true),
        };
        let vault = Vault::open_for(&data_dir, &store)?;
        let metrics = Metrics::new();
        let outbox = Arc::new(Notify::new());
        let ingest_wake = Arc::new(Notify::new());

        let state = AppState {
            store: store.clone(),
            vault: vault.clone(),
            max_file_bytes,
            outbox: outbox.clone(),
            ingest: ingest_wake.clone(),
            hub: Arc::new(clearing.hub.clone()),
            metrics: metrics.clone(),
        };
        let router = http::app(state).layer(axum::Extension(DisputeConfig(Arc::new(
            reconcile.deadlines.clone(),
        ))));
        let api = server::spawn(
            bind(listen).await?,
            Arc::new(api_tls),
            router,
            ServeOptions {
                audit: Some(store.clone()),
                metrics: Some((metrics.clone(), "api")),
                drain,
            },
        )
        .map_err(|source| AppError::Listen {
            addr: listen,
            source,
        })?;

        let console = match (console_listen, console_tls) {
            (Some(addr), Some(config)) => {
                let state = ConsoleState::new(
                    store.clone(),
                    vault.clone(),
                    (*reconcile).clone(),
                    (*clearing).clone(),
                );
                let router = console::router(state);
                let options = ServeOptions {
                    audit: None,
                    metrics: Some((metrics.clone(), "console")),
                    drain,
                };
                let running = server::spawn(bind(addr).await?, config, router, options)
                    .map_err(|source| AppError::Listen { addr, source })?;
                Some(running)
            }
            _ => None,
        };

        let workers_stop = CancellationToken::new();
        let deliverer = workers.delivery.then(|| {
            let hub_tls = HubTls {
                cert: pki.server_cert_path(),
                key: pki.server_key_path(),
                ca: pki.ca_cert_path(),
            };
            let d = Deliverer::new(
                store.clone(),
                vault.clone(),
                delivery,
                hub_tls,
                outbox.clone(),
            )
            .with_metrics(metrics.clone());
            tokio::spawn(d.run(workers_stop.clone()))
        });

        let scheduler = if workers.scheduler {
            let ctx = JobContext {
                store: store.clone(),
                vault: vault.clone(),
                pki: Some(pki_dir.clone()),
                clearing,
                reconcile,
                outbox: Some(outbox.clone()),
                metrics: Some(metrics.clone()),
            };
            Some(Scheduler::start(ctx, &schedule).await?)
        } else {
            None
        };

        let draining = Arc::new(AtomicBool::new(false));
        let ops = match ops_listen {
            Some(addr) => {
                let replica = ReplicaLabels {
                    replica: replica.unwrap_or_else(|| default_replica(api.local_addr)),
                    hub: clearing_hub_code,
                    backend: store.backend().as_str().into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                };
                let state = OpsState {
                    store: store.clone(),
                    metrics: metrics.clone(),
                    pki: pki_dir.clone(),
                    replica,
                    draining: draining.clone(),
                };
                let running = ops::spawn(bind(addr).await?, state)
                    .map_err(|source| AppError::Listen { addr, source })?;
                Some(running)
            }
            None => None,
        };

        let mut app = Application {
            store,
            owns_store,
            vault,
            outbox,
            ingest_wake,
            api,
            console,
            ops,
            metrics,
            draining,
            workers_stop,
            drain,
            ingest: Some(ingest),
            ingest_worker: None,
            deliverer,
            scheduler,
        };
        if workers.ingest {
            app.start_ingest();
        }
        Ok(app)
    }

    /// Starts the ingest worker if it is not running (a test or the benchmark that built the
    /// application without it, to time the uploads alone).
    pub fn start_ingest(&mut self) {
        if let Some(config) = self.ingest.take() {
            let ingestor = Ingestor::new(
                self.store.clone(),
                self.vault.clone(),
                config,
                Some(self.outbox.clone()),
            )
            .with_metrics(self.metrics.clone());
            let run = ingestor.run(self.ingest_wake.clone(), self.workers_stop.clone());
            self.ingest_worker = Some(tokio::spawn(run));
            self.ingest_wake.notify_one();
        }
    }

    /// Where the API listens.
    pub fn api_addr(&self) -> SocketAddr {
        self.api.local_addr
    }

    /// The API's base URL, `https://ADDR`.
    pub fn api_url(&self) -> String {
        format!("https://{}", self.api.local_addr)
    }

    /// Where the finance console listens, if it runs.
    pub fn console_addr(&self) -> Option<SocketAddr> {
        self.console.as_ref().map(|c| c.local_addr)
    }

    /// Where the operations listener (`/healthz`, `/readyz`, `/metrics`) listens, if it runs.
    pub fn ops_addr(&self) -> Option<SocketAddr> {
        self.ops.as_ref().map(|o| o.local_addr)
    }

    /// This replica's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The data directory's file store.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// Wakes the deliverer (after depositing files outside a request).
    pub fn outbox(&self) -> &Arc<Notify> {
        &self.outbox
    }

    /// Wakes the ingest worker (after storing files outside a request).
    pub fn wake_ingest(&self) {
        self.ingest_wake.notify_one();
    }

    /// What the API wakes when it stores a file (for a test that runs its own ingest worker).
    pub fn ingest_wake(&self) -> Arc<Notify> {
        self.ingest_wake.clone()
    }

    /// Runs until SIGINT or SIGTERM, then stops everything.
    pub async fn run_until_stopped(self) {
        shutdown_signal().await;
        tracing::info!("shutting down");
        self.stop().await;
    }

    /// Stops gracefully (see the module documentation), and closes the database if the
    /// application opened it.
    pub async fn stop(self) {
        self.draining.store(true, Ordering::SeqCst);
        self.workers_stop.cancel();
        let console = async {
            if let Some(c) = self.console {
                c.shutdown().await;
            }
        };
        tokio::join!(self.api.shutdown(), console);
        if let Some(s) = self.scheduler {
            s.shutdown(self.drain).await;
        }
        for (what, task) in [("delivery", self.deliverer), ("ingest", self.ingest_worker)] {
            let Some(mut task) = task else { continue };
            if tokio::time::timeout(self.drain, &mut task).await.is_err() {
                tracing::warn!(worker = what, "still busy after the drain timeout: stopped");
                task.abort();
                let _ = task.await;
            }
        }
        if let Some(ops) = self.ops {
            ops.stop().await;
        }
        if self.owns_store {
            self.store.close().await;
        }
    }
}

/// `HOSTNAME:PORT`: what names a replica when `--replica` is not given.
fn default_replica(api: SocketAddr) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "hutong".into());
    format!("{host}:{}", api.port())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
