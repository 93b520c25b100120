//! `hutong serve`: the mutual-TLS file exchange server and its delivery worker.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use tokio::sync::Notify;

use super::BadInput;
use super::args::StorageArgs;
use crate::clearing::{self, ClearingSettings};
use crate::config::{DEFAULT_LISTEN, DEFAULT_MAX_FILE_BYTES, ServeFile};
use crate::datadir::DataDirLock;
use crate::delivery::{Deliverer, HubTls};
use crate::http::{AppState, app};
use crate::ingest::keys::IssuerKeys;
use crate::ingest::{IngestConfig, Ingestor};
use crate::scheduler::{
    JobBody, JobContext, Scheduler, parse_local_time, parse_offset, run_locked,
};
use crate::server::{ReloadingTls, spawn};
use crate::store::{DbTarget, OpenMode, Store};
use crate::vault::Vault;

/// Arguments of `hutong serve`; each overrides the same key of --config.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A TOML configuration file (see the README).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    storage: StorageArgs,
    /// The PKI directory (hub CA, CRL, server certificate).
    #[arg(long, value_name = "DIR")]
    pki: Option<PathBuf>,
    /// Address to listen on (default 0.0.0.0:8443; port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// The largest upload accepted, in bytes (default 16 GiB).
    #[arg(long, value_name = "BYTES")]
    max_file_bytes: Option<u64>,
    /// The fee schedule for clearing (TOML `[[fee]]` rules).
    #[arg(long, value_name = "FILE")]
    fees: Option<PathBuf>,
    /// Serve the finance console (HTTPS, the hub's server certificate, client certificates
    /// optional) on this address.
    #[arg(long, value_name = "ADDR")]
    console_listen: Option<SocketAddr>,
    /// Reconciliation rules and dispute deadlines (TOML `[resolution]`, `[disputes.*]`,
    /// `[reconcile]`).
    #[arg(long, value_name = "FILE")]
    reconcile: Option<PathBuf>,
    /// Issuer master TAC keys (TOML, `[[issuer]]` entries) for TAC verification at ingest.
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
    /// Create the hub's storage if there is none (as `hutong init` would) instead of refusing.
    #[arg(long)]
    init: bool,
}

/// The ingest configuration from the `[ingest]` table and a keys file.
pub(super) fn ingest_config(
    table: &crate::config::IngestFile,
    keys: Option<&std::path::Path>,
) -> anyhow::Result<IngestConfig> {
    let mut config = table.to_config().map_err(BadInput)?;
    if let Some(path) = keys {
        config.keys = Arc::new(IssuerKeys::load(path).map_err(BadInput)?);
        tracing::info!(issuers = config.keys.len(), "issuer keys loaded");
    }
    Ok(config)
}

/// Runs `hutong serve` until interrupted.
pub(super) fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let file = match &args.config {
        Some(path) => ServeFile::load(path).map_err(BadInput)?,
        None => ServeFile::default(),
    };
    let data_dir = args
        .storage
        .data_dir
        .clone()
        .or(file.data_dir.clone())
        .ok_or_else(|| BadInput("give --data-dir DIR (or data_dir in --config)".into()))?;
    let database = args.storage.database.clone().or(file.database.clone());
    let env_url = std::env::var("DATABASE_URL").ok();
    let target = DbTarget::choose(database.as_deref(), env_url.as_deref(), Some(&data_dir))
        .ok_or_else(|| BadInput("no database".into()))?;
    let pki_dir = args
        .pki
        .clone()
        .or(file.pki.clone())
        .ok_or_else(|| BadInput("give --pki DIR (or pki in --config)".into()))?;
    let listen = match args.listen.or(file.listen) {
        Some(addr) => addr,
        None => DEFAULT_LISTEN.parse().context("default listen address")?,
    };
    let max_file_bytes = args
        .max_file_bytes
        .or(file.max_file_bytes)
        .unwrap_or(DEFAULT_MAX_FILE_BYTES);
    let pki = certs::Pki::open(&pki_dir).map_err(|e| BadInput(e.to_string()))?;
    if !pki.server_cert_path().exists() {
        return Err(BadInput(format!(
            "{} holds no server certificate: run `hutong certs server --pki {} --host HOST`",
            pki_dir.display(),
            pki_dir.display()
        ))
        .into());
    }
    let tls = ReloadingTls::load(certs::ServerTlsFiles::of(&pki))
        .context("building the TLS configuration from the PKI directory")?;
    let delivery = file.delivery.to_config();
    let clearing = clearing_settings(&args, &file)?;
    let schedule = file.schedule.clone();
    let mut reconcile_settings = crate::reconcile::ReconcileSettings {
        cutoff: clearing.cutoff,
        hub_code: clearing.hub_code.clone(),
        ..Default::default()
    };
    if let Some(path) = args.reconcile.as_ref().or(file.reconcile.as_ref()) {
        reconcile_settings = reconcile_settings
            .with_file(path)
            .map_err(|e| BadInput(format!("reconcile: {e}")))?;
    }
    let reconcile_settings = Arc::new(reconcile_settings);
    let reconcile_at = parse_local_time(
        "reconcile_at",
        file.reconcile_at.as_deref().unwrap_or("06:00"),
    )
    .map_err(|e| BadInput(e.to_string()))?;
    let console_listen = args.console_listen.or(file.console_listen);
    let console_tls = match console_listen {
        Some(_) => Some(Arc::new(
            crate::console::console_tls_config(&pki)
                .context("building the console's TLS configuration")?,
        )),
        None => None,
    };
    let keys_path = args.keys.clone().or(file.keys.clone());
    let ingest_config = ingest_config(&file.ingest, keys_path.as_deref())?;

    // One serve per SQLite data directory (issue 18), held until the process ends.
    let mut lock = DataDirLock::for_serve(&target, &data_dir, &listen.to_string(), args.init)?;
    let mode = if args.init {
        OpenMode::Create
    } else {
        OpenMode::Migrate
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let store = Store::open_with(&target, mode).await?;
        let vault = Vault::open(&data_dir)?;
        let outbox = Arc::new(Notify::new());
        let ingest_wake = Arc::new(Notify::new());
        let state = AppState {
            store: store.clone(),
            vault: vault.clone(),
            max_file_bytes,
            outbox: outbox.clone(),
            ingest: ingest_wake.clone(),
        };
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let router = app(state).layer(axum::Extension(crate::http::DisputeConfig(Arc::new(
            reconcile_settings.deadlines.clone(),
        ))));
        let server = spawn(listener, Arc::new(tls), router, Some(store.clone()))?;
        let console = match (console_listen, console_tls) {
            (Some(addr), Some(config)) => {
                let l = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("console: listening on {addr}"))?;
                let state = crate::console::ConsoleState::new(
                    store.clone(),
                    vault.clone(),
                    (*reconcile_settings).clone(),
                    clearing.clone(),
                );
                Some(crate::console::serve(
                    l,
                    config,
                    crate::console::router(state),
                )?)
            }
            _ => None,
        };
        let hub_tls = HubTls {
            cert: pki.server_cert_path(),
            key: pki.server_key_path(),
            ca: pki.ca_cert_path(),
        };
        let deliverer = Deliverer::new(
            store.clone(),
            vault.clone(),
            delivery,
            hub_tls,
            outbox.clone(),
        );
        let worker = tokio::spawn(deliverer.run());
        let ingestor = Ingestor::new(
            store.clone(),
            vault.clone(),
            ingest_config,
            Some(outbox.clone()),
        );
        let ingest_worker = tokio::spawn(ingestor.run(ingest_wake));
        let jobs = JobContext {
            store: store.clone(),
            pki: Some(pki_dir.clone()),
        };
        let recon_jobs = crate::reconcile::jobs::ReconcileJobs::start(
            store.clone(),
            vault.clone(),
            reconcile_settings.clone(),
            reconcile_at,
        )
        .await
        .context("starting the reconciliation jobs")?;
        let close = close_window_job(clearing, vault, outbox);
        let scheduler = Scheduler::start(jobs, &schedule, close)
            .await
            .context("starting the scheduler")?;
        if let Some(lock) = lock.as_mut() {
            lock.set_address(&server.local_addr.to_string())?;
        }
        // The first line on stdout says where to connect (tests read it to learn the port).
        println!("hutong listening on https://{}", server.local_addr);
        if let Some(c) = &console {
            println!("finance console on https://{}", c.local_addr);
        }
        tracing::info!(addr = %server.local_addr, database = %target.describe(), "serving");
        shutdown_signal().await;
        tracing::info!("shutting down");
        server.stop();
        if let Some(c) = &console {
            c.stop();
        }
        recon_jobs.shutdown().await;
        scheduler.shutdown().await;
        worker.abort();
        ingest_worker.abort();
        store.close().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn clearing_settings(args: &ServeArgs, file: &ServeFile) -> anyhow::Result<ClearingSettings> {
    let time =
        parse_local_time("cutoff", &file.schedule.cutoff).map_err(|e| BadInput(e.to_string()))?;
    let offset = parse_offset(&file.schedule.utc_offset).map_err(|e| BadInput(e.to_string()))?;
    let mut s = ClearingSettings {
        cutoff: reconciliation::CutOff { time, offset },
        ..ClearingSettings::default()
    };
    if let Some(code) = &file.hub_code {
        s.hub_code = code.clone();
    }
    if let Some(account) = &file.settlement_account {
        s.settlement_account = account.clone();
    }
    if let Some(path) = args.fees.as_ref().or(file.fees.as_ref()) {
        s = s
            .with_fees_file(path)
            .map_err(|e| BadInput(format!("fees: {e}")))?;
    }
    Ok(s)
}

/// The cut-off job: closes today's window (and any earlier day missed while the hub was down,
/// up to a week back), then produces the settlement files.
fn close_window_job(settings: ClearingSettings, vault: Vault, outbox: Arc<Notify>) -> JobBody {
    Arc::new(move |ctx: JobContext| {
        let settings = settings.clone();
        let vault = vault.clone();
        let outbox = outbox.clone();
        Box::pin(async move {
            let now = crate::store::Timestamp::now();
            let today = now
                .datetime()
                .with_timezone(&settings.cutoff.offset)
                .date_naive();
            let job = async {
                let last = ctx.store.closed_days(1).await?.first().copied();
                let mut day = match last {
                    Some(d) => {
                        (d + chrono::Duration::days(1)).max(today - chrono::Duration::days(7))
                    }
                    None => today,
                };
                while day <= today {
                    // The job fires at the cut-off; a few milliseconds early is still the cut-off.
                    let closed =
                        clearing::close_window(&ctx.store, &settings, day, now, day == today)
                            .await
                            .map_err(|e| crate::scheduler::SchedulerError::Job(e.to_string()))?;
                    clearing::produce_outputs(&ctx.store, &vault, &settings, day, Some(&outbox))
                        .await
                        .map_err(|e| crate::scheduler::SchedulerError::Job(e.to_string()))?;
                    crate::outbound::produce_packages(
                        &ctx.store,
                        &vault,
                        day,
                        &settings.hub_code,
                        Some(&outbox),
                    )
                    .await
                    .map_err(|e| crate::scheduler::SchedulerError::Job(e.to_string()))?;
                    tracing::info!(%day, records = closed.window.tx_count, "settlement window closed");
                    // Discrepancies and cases whose adjustments this window cleared are closed.
                    crate::reconcile::close_settled(&ctx.store, now)
                        .await
                        .map_err(|e| crate::scheduler::SchedulerError::Job(e.to_string()))?;
                    day += chrono::Duration::days(1);
                }
                Ok(())
            };
            if let Err(e) = run_locked(&ctx.store, "close-window", job).await {
                tracing::error!("close-window job: {e}");
            }
        })
    })
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
