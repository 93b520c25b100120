//! The drill's replicas: real `hutong serve` processes on one database, each with its own
//! data directory and a fixed port (so that clients find a restarted replica where it was).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::DrillError;

/// How to start one replica.
#[derive(Debug, Clone)]
pub struct ReplicaSpec {
    /// Its name (`r0`, `r1`, …), also its `--replica`.
    pub name: String,
    /// The `hutong` binary.
    pub binary: PathBuf,
    /// Its configuration file (database, PKI, keys, fees, listen address).
    pub config: PathBuf,
    /// Its API's address (a fixed port of 127.0.0.1).
    pub addr: std::net::SocketAddr,
}

/// One replica, running or not.
#[derive(Debug)]
pub struct Replica {
    /// How it is started.
    pub spec: ReplicaSpec,
    child: Option<Child>,
}

impl Replica {
    /// A replica not yet started.
    pub fn new(spec: ReplicaSpec) -> Replica {
        Replica { spec, child: None }
    }

    /// True while its process runs.
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Starts it and waits for its `hutong listening on` line.
    pub async fn start(&mut self) -> Result<(), DrillError> {
        let mut child = Command::new(&self.spec.binary)
            .arg("serve")
            .arg("--config")
            .arg(&self.spec.config)
            .args(["--replica", &self.spec.name])
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| DrillError::Setup(format!("starting {}: {e}", self.spec.name)))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| DrillError::Setup("no stdout".into()))?;
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await;
        match first {
            Ok(Ok(Some(line))) if line.starts_with("hutong listening on ") => {}
            other => {
                let _ = child.start_kill();
                return Err(DrillError::Setup(format!(
                    "{} did not start: {other:?}",
                    self.spec.name
                )));
            }
        }
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child = Some(child);
        Ok(())
    }

    /// SIGKILL: the process dies at once, as in a crash.
    pub async fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.start_kill();
            let _ = c.wait().await;
        }
    }

    /// SIGTERM and wait for the graceful stop (killed after `grace`).
    pub async fn stop(&mut self, grace: Duration) {
        if let Some(mut c) = self.child.take() {
            if let Some(pid) = c.id() {
                let _ = std::process::Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status();
            }
            if tokio::time::timeout(grace, c.wait()).await.is_err() {
                let _ = c.start_kill();
                let _ = c.wait().await;
            }
        }
    }
}

/// Writes the `hutong serve` configuration of one replica.
#[allow(clippy::too_many_arguments)]
pub fn write_config(
    path: &Path,
    data_dir: &Path,
    database: Option<&str>,
    pki: &Path,
    port: u16,
    keys: &Path,
    fees: &Path,
    cutoff: &str,
) -> Result<(), DrillError> {
    let mut toml = format!(
        "data_dir = {:?}\npki = {:?}\nlisten = \"127.0.0.1:{port}\"\nops_listen = \"off\"\n\
         hub_code = \"HUB\"\nkeys = {:?}\nfees = {:?}\ndrain_seconds = 5\n",
        data_dir.display().to_string(),
        pki.display().to_string(),
        keys.display().to_string(),
        fees.display().to_string(),
    );
    if let Some(url) = database {
        toml.push_str(&format!("database = {url:?}\n"));
    }
    // The simulated day is replayed at once: transactions up to two days after the receipt
    // are in the acceptance window (as the demo's hub settings say).
    toml.push_str("[ingest]\nahead_seconds = 172800\n");
    toml.push_str(&format!("[schedule]\ncutoff = {cutoff:?}\n"));
    // A push cut off by a kill is taken up again by another replica once its lease expires;
    // the lease is longer than any push of a drill's day takes.
    toml.push_str(
        "[delivery]\nbase_delay_ms = 200\nmax_delay_ms = 2000\npoll_ms = 500\nlease_ms = 20000\n",
    );
    std::fs::write(path, toml).map_err(|e| DrillError::Setup(format!("{}: {e}", path.display())))
}
