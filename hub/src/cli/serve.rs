//! `hutong serve`: the running hub ([`crate::app::Application`]) from a configuration file
//! and flags.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::BadInput;
use super::args::StorageArgs;
use crate::app::{Application, StoreChoice};
use crate::config::ServeFile;
use crate::datadir::DataDirLock;
use crate::store::{DbTarget, OpenMode};

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
    /// Serve `/healthz`, `/readyz` and `/metrics` (plain HTTP, no client certificate) on this
    /// address, or `off` (default 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR|off")]
    ops_listen: Option<String>,
    /// This replica's name in metrics and `/healthz` (default HOSTNAME:PORT).
    #[arg(long, value_name = "NAME")]
    replica: Option<String>,
    /// On SIGTERM or SIGINT, how long uploads, ingest, pushes and jobs in flight may take to
    /// finish before they are cut off (default 30).
    #[arg(long, value_name = "SECONDS")]
    drain_seconds: Option<u64>,
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

/// Runs `hutong serve` until interrupted: the configuration file with the flags laid over it,
/// built into the [`Application`].
pub(super) fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut file = match &args.config {
        Some(path) => ServeFile::load(path).map_err(BadInput)?,
        None => ServeFile::default(),
    };
    let ServeArgs {
        config: _,
        storage,
        pki,
        listen,
        max_file_bytes,
        fees,
        console_listen,
        ops_listen,
        replica,
        drain_seconds,
        reconcile,
        keys,
        init,
    } = args;
    macro_rules! lay_over {
        ($($flag:ident => $key:ident),* $(,)?) => {
            $(if let Some(v) = $flag { file.$key = Some(v); })*
        };
    }
    let (data_dir, database) = (storage.data_dir, storage.database);
    lay_over!(
        data_dir => data_dir, database => database, pki => pki, listen => listen,
        max_file_bytes => max_file_bytes, fees => fees, console_listen => console_listen,
        ops_listen => ops_listen, replica => replica, drain_seconds => drain_seconds,
        reconcile => reconcile, keys => keys,
    );
    let env_url = std::env::var("DATABASE_URL").ok();
    let data_dir = file
        .data_dir
        .clone()
        .ok_or_else(|| BadInput("give --data-dir DIR (or data_dir in --config)".into()))?;
    let target = DbTarget::choose(
        file.database.as_deref(),
        env_url.as_deref(),
        Some(&data_dir),
    )
    .ok_or_else(|| BadInput("no database".into()))?;
    let described = target.describe();
    let mut settings = file.app_settings(target.clone()).map_err(BadInput)?;
    if init {
        settings.store = StoreChoice::Target(target.clone(), OpenMode::Create);
    }
    // One serve per SQLite data directory, held until the process ends (released on a crash).
    let mut lock = DataDirLock::for_serve(&target, &data_dir, &settings.listen.to_string(), init)?;

    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let app = Application::build(settings).await?;
        if let Some(lock) = lock.as_mut() {
            lock.set_address(&app.api_addr().to_string())?;
        }
        // The first line on stdout says where to connect (tests read it to learn the port).
        println!("hutong listening on {}", app.api_url());
        if let Some(addr) = app.console_addr() {
            println!("finance console on https://{addr}");
        }
        if let Some(addr) = app.ops_addr() {
            println!("operations on http://{addr}");
        }
        tracing::info!(addr = %app.api_addr(), database = %described, "serving");
        app.run_until_stopped().await;
        tracing::info!("stopped");
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
