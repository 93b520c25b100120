//! The HTTPS server: a TCP accept loop, a rustls handshake per connection with the current
//! configuration, the caller's identity read from its certificate and attached to every
//! request, and hyper serving the axum router over HTTP/1.1 or HTTP/2. Both listeners of the
//! hub use it: the partners' API (client certificate required) and the finance console
//! (optional, [`certs::ClientAuth`]).
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
use tower::ServiceExt;

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
    task: JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting connections and drops open ones.
    pub fn stop(&self) {
        self.task.abort();
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

/// Starts serving `router` on `listener` with mutual TLS. Failed handshakes are logged and, when
/// `audit` is given, written to the audit log as `tls.handshake` refusals.
pub fn spawn(
    listener: TcpListener,
    tls: Arc<ReloadingTls>,
    router: Router,
    audit: Option<Store>,
) -> std::io::Result<RunningServer> {
    let local_addr = listener.local_addr()?;
    let task = tokio::spawn(accept_loop(listener, tls, router, audit));
    Ok(RunningServer { local_addr, task })
}

async fn accept_loop(
    listener: TcpListener,
    tls: Arc<ReloadingTls>,
    router: Router,
    audit: Option<Store>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        // Reap finished connection tasks so the set does not grow.
        while connections.try_join_next().is_some() {}
        let (tcp, peer) = match listener.accept().await {
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
        let audit = audit.clone();
        connections.spawn(async move {
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => return refused(audit, peer, &handshake_reason(&e)).await,
                Err(_) => return refused(audit, peer, "handshake timed out").await,
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
            if let Err(e) = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}

/// Why a handshake failed, in words an operator understands.
fn handshake_reason(e: &std::io::Error) -> String {
    use rustls::{CertificateError, Error};
    match e.get_ref().and_then(|inner| inner.downcast_ref::<Error>()) {
        Some(Error::NoCertificatesPresented) => "no client certificate".into(),
        Some(Error::InvalidCertificate(CertificateError::Revoked)) => "certificate revoked".into(),
        Some(Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        )) => "certificate expired".into(),
        Some(Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {
            "certificate not issued by the hub CA".into()
        }
        Some(other) => format!("TLS: {other}"),
        None => format!("connection: {e}"),
    }
}

async fn refused(audit: Option<Store>, peer: SocketAddr, reason: &str) {
    tracing::warn!(%peer, reason, "TLS handshake refused");
    if let Some(store) = audit {
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
