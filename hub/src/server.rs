//! The HTTPS server: a TCP accept loop, a rustls handshake per connection with the current
//! configuration, the caller's identity read from its certificate and attached to every
//! request, and hyper serving the axum router over HTTP/1.1 or HTTP/2. Both listeners of the
//! hub use it: the partners' API (client certificate required) and the finance console
//! (optional, [`certs::ClientAuth`]).
//!
//! # Stopping
//!
//! [`RunningServer::shutdown`] stops accepting and lets every open connection finish the
//! request it is serving before closing it (hyper's graceful shutdown), for at most
//! [`ServeOptions::drain`]; connections still open then are dropped. [`RunningServer::stop`]
//! drops everything at once (tests that need a crash).
//!
//! # Reloading without restart
//!
//! [`ReloadingTls`] watches the four files of the server configuration (CA, CRL, server
//! certificate and key). Before each handshake it compares their size, modification time and
//! inode with what it loaded (a few `stat` calls, nothing next to a handshake); when one
//! changed it builds a new `ServerConfig` and swaps it in. So a `hutong certs revoke` is in
//! force from the very next connection, and a renewed server certificate is presented without
//! a restart. The CRL's serials are also checked on every request, so a connection opened
//! before a revocation gets 403 from then on. A configuration that fails to build (say the key was written but not yet the
//! certificate) is logged and the previous one kept until the files agree again.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::metrics::Metrics;
use crate::store::{NewAuditEntry, Store};

/// Who is calling: the identity read from the client certificate after the handshake
/// (attached to every request of a connection that presented one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(pub certs::PeerIdentity);

/// Marks a request whose certificate was revoked after its connection's handshake: it is
/// refused (403 by the API; the console refuses the certificate sign-in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallerRevoked;

/// The peer's socket address, for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub std::net::SocketAddr);

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// What identifies a version of a file on disk.
type Stamp = Option<(u64, SystemTime, u64)>;

fn stamp(path: &PathBuf) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let ino = 0;
    Some((meta.len(), meta.modified().ok()?, ino))
}

/// A server TLS configuration that follows its files on disk, with the serials its CRL
/// revokes (checked on every request, so a connection opened before a revocation cannot go on
/// being used).
#[derive(Debug)]
pub struct ReloadingTls {
    files: certs::ServerTlsFiles,
    auth: certs::ClientAuth,
    current: Mutex<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    stamps: Vec<Stamp>,
    config: Arc<ServerConfig>,
    revoked: Arc<HashSet<String>>,
}

fn load(
    files: &certs::ServerTlsFiles,
    auth: certs::ClientAuth,
) -> Result<(Arc<ServerConfig>, Arc<HashSet<String>>), certs::Error> {
    let config = Arc::new(files.load_for(auth)?);
    let crl = std::fs::read(&files.crl).map_err(|source| certs::Error::Io {
        path: files.crl.clone(),
        source,
    })?;
    Ok((config, Arc::new(certs::revoked_serials(&crl)?)))
}

impl ReloadingTls {
    /// Loads the partners' configuration (a client certificate required) now; fails if the
    /// files do not make one.
    pub fn load(files: certs::ServerTlsFiles) -> Result<ReloadingTls, certs::Error> {
        ReloadingTls::load_for(files, certs::ClientAuth::Required)
    }

    /// Loads a configuration with client authentication `auth` now (the console's is
    /// [`certs::ClientAuth::Optional`]); fails if the files do not make one.
    pub fn load_for(
        files: certs::ServerTlsFiles,
        auth: certs::ClientAuth,
    ) -> Result<ReloadingTls, certs::Error> {
        let stamps = files.paths().iter().map(|p| stamp(p)).collect();
        let (config, revoked) = load(&files, auth)?;
        Ok(ReloadingTls {
            files,
            auth,
            current: Mutex::new(Loaded {
                stamps,
                config,
                revoked,
            }),
        })
    }

    /// The configuration for the next handshake, rebuilt first if a file changed.
    pub fn current(&self) -> Arc<ServerConfig> {
        self.refresh(|loaded| loaded.config.clone())
    }

    /// True when the CRL on disk now lists `serial`.
    pub fn is_revoked(&self, serial: &str) -> bool {
        self.refresh(|loaded| loaded.revoked.contains(serial))
    }

    fn refresh<T>(&self, read: impl FnOnce(&Loaded) -> T) -> T {
        let stamps: Vec<Stamp> = self.files.paths().iter().map(|p| stamp(p)).collect();
        let mut guard = match self.current.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if guard.stamps != stamps {
            match load(&self.files, self.auth) {
                Ok((config, revoked)) => {
                    tracing::info!("TLS files changed on disk: new server configuration in force");
                    *guard = Loaded {
                        stamps,
                        config,
                        revoked,
                    };
                }
                Err(e) => {
                    tracing::error!(error = %e, "TLS files changed but do not make a configuration; keeping the previous one");
                }
            }
        }
        read(&guard)
    }
}

/// A server running in the background (tests and `hutong serve`).
#[derive(Debug)]
pub struct RunningServer {
    /// The address it listens on (useful with port 0).
    pub local_addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting connections and drops open ones at once (a crash, as tests need it).
    pub fn stop(&self) {
        self.task.abort();
    }

    /// Stops gracefully: no new connection is accepted, each open connection finishes the
    /// request it is serving (an upload in flight gets its receipt) and is then closed; the
    /// connections still open after the server's drain time are dropped.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        let _ = (&mut self.task).await;
    }

    /// Waits until the accept loop ends (it only ends when stopped).
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a server reports refusals and drains with.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Write refused handshakes to this audit log (`tls.handshake` entries).
    pub audit: Option<Store>,
    /// Count refused handshakes here, under this listener's name.
    pub metrics: Option<(Metrics, &'static str)>,
    /// How long open connections may take to finish once shutdown begins.
    pub drain: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            audit: None,
            metrics: None,
            drain: DEFAULT_DRAIN,
        }
    }
}

/// How long a graceful shutdown waits for open connections by default.
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(30);

/// Starts serving `router` on `listener` with mutual TLS. Failed handshakes are logged and
/// reported as `options` says.
pub fn spawn(
    listener: TcpListener,
    tls: Arc<ReloadingTls>,
    router: Router,
    options: ServeOptions,
) -> std::io::Result<RunningServer> {
    let local_addr = listener.local_addr()?;
    let stop = CancellationToken::new();
    let task = tokio::spawn(accept_loop(listener, tls, router, options, stop.clone()));
    Ok(RunningServer {
        local_addr,
        stop,
        task,
    })
}

async fn accept_loop(
    listener: TcpListener,
    tls: Arc<ReloadingTls>,
    router: Router,
    options: ServeOptions,
    stop: CancellationToken,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        // Reap finished connection tasks so the set does not grow.
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.cancelled() => break,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = TlsAcceptor::from(tls.current());
        let tls = tls.clone();
        let router = router.clone();
        let options = options.clone();
        let stop = stop.clone();
        connections.spawn(async move {
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => return refused(&options, peer, handshake_reason(&e)).await,
                Err(_) => {
                    return refused(&options, peer, ("timeout", "handshake timed out".into()))
                        .await;
                }
            };
            let caller = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|der| certs::peer_identity(der));
            let caller = match caller {
                Some(Ok(identity)) => Some(Caller(identity)),
                Some(Err(e)) => {
                    tracing::warn!(%peer, error = %e, "client certificate names no participant");
                    None
                }
                None => None,
            };
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                if let Some(caller) = &caller {
                    req.extensions_mut().insert(caller.clone());
                    // Revoked since this connection's handshake: refuse every further request.
                    if tls.is_revoked(&caller.0.serial) {
                        req.extensions_mut().insert(CallerRevoked);
                    }
                }
                req.extensions_mut().insert(PeerAddr(peer));
                router.clone().oneshot(req)
            });
            let builder = auto::Builder::new(TokioExecutor::new());
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let served = tokio::select! {
                served = connection.as_mut() => served,
                _ = stop.cancelled() => {
                    // Finish the request in flight (HTTP/1) or the open streams (HTTP/2),
                    // then close.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = served {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let open = connections.len();
    if open > 0 {
        tracing::info!(open, "waiting for open connections to finish");
    }
    let drained = tokio::time::timeout(options.drain, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            dropped = connections.len(),
            "connections still open after the drain timeout were dropped"
        );
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
}

/// Why a handshake failed: a short cause for metrics and words an operator understands.
fn handshake_reason(e: &std::io::Error) -> (&'static str, String) {
    use rustls::{CertificateError, Error};
    match e.get_ref().and_then(|inner| inner.downcast_ref::<Error>()) {
        Some(Error::NoCertificatesPresented) => ("no_certificate", "no client certificate".into()),
        Some(Error::InvalidCertificate(CertificateError::Revoked)) => {
            ("revoked", "certificate revoked".into())
        }
        Some(Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        )) => ("expired", "certificate expired".into()),
        Some(Error::InvalidCertificate(CertificateError::UnknownIssuer)) => (
            "unknown_issuer",
            "certificate not issued by the hub CA".into(),
        ),
        Some(other) => ("tls", format!("TLS: {other}")),
        None => ("connection", format!("connection: {e}")),
    }
}

async fn refused(options: &ServeOptions, peer: SocketAddr, (cause, reason): (&str, String)) {
    tracing::warn!(%peer, reason, "TLS handshake refused");
    if let Some((metrics, listener)) = &options.metrics {
        metrics.handshake_refused(listener, cause);
    }
    if let Some(store) = &options.audit {
        let detail = format!("{reason}; from {peer}");
        let entry = NewAuditEntry {
            participant: None,
            action: "tls.handshake",
            target: None,
            result: "refused",
            detail: Some(&detail),
        };
        if let Err(e) = store.audit(&entry).await {
            tracing::error!(error = %e, "could not write the audit log");
        }
    }
}
