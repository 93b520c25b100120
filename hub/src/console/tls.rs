//! The console's HTTPS listener: the hub's server certificate; a client certificate of the hub
//! CA is asked for but optional (a browser without one signs in with a password). A presented
//! certificate must chain to the hub CA and not be revoked, or the handshake fails; its
//! identity is attached to each request as [`ConsoleCert`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// The identity of the client certificate a browser presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleCert(pub certs::PeerIdentity);

fn bad(what: &str, e: impl std::fmt::Display) -> certs::Error {
    certs::Error::BadPem {
        what: what.into(),
        detail: e.to_string(),
    }
}

/// The console's TLS configuration from the PKI directory's files: server certificate and key,
/// client certificates optional, verified against the CA and its CRL when presented.
pub fn console_tls_config(pki: &certs::Pki) -> Result<ServerConfig, certs::Error> {
    let provider = certs::provider();
    let read = |p: std::path::PathBuf| {
        std::fs::read(&p).map_err(|source| certs::Error::Io { path: p, source })
    };
    let ca = read(pki.ca_cert_path())?;
    let crl = read(pki.crl_path())?;
    let cert = read(pki.server_cert_path())?;
    let key = read(pki.server_key_path())?;
    let mut roots = rustls::RootCertStore::empty();
    for c in certs::certificates_from_pem(&ca, "CA certificate")? {
        roots.add(c).map_err(|e| bad("CA certificate", e))?;
    }
    let crls = CertificateRevocationListDer::pem_slice_iter(&crl)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad("CRL", e))?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .with_crls(crls)
        .only_check_end_entity_revocation()
        .allow_unauthenticated()
        .build()
        .map_err(|e| bad("client verifier", e))?;
    let chain: Vec<CertificateDer<'static>> =
        certs::certificates_from_pem(&cert, "server certificate")?;
    let key = PrivateKeyDer::from_pem_slice(&key).map_err(|e| bad("server key", e))?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("TLS versions", e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| bad("server certificate", e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// A running console listener.
#[derive(Debug)]
pub struct ConsoleServer {
    /// Where it listens.
    pub local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl ConsoleServer {
    /// Stops it.
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for ConsoleServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves the console `router` on `listener` with `config`.
pub fn serve(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    router: Router,
) -> std::io::Result<ConsoleServer> {
    let local_addr = listener.local_addr()?;
    let acceptor = TlsAcceptor::from(config);
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            while connections.try_join_next().is_some() {}
            let (tcp, peer) = match listener.accept().await {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "console: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let acceptor = acceptor.clone();
            let router = router.clone();
            connections.spawn(async move {
                let stream =
                    match tokio::time::timeout(Duration::from_secs(15), acceptor.accept(tcp)).await
                    {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "console: handshake failed");
                            return;
                        }
                        Err(_) => return,
                    };
                let cert = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .and_then(|der| certs::peer_identity(der).ok())
                    .map(ConsoleCert);
                let service =
                    hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                        if let Some(c) = &cert {
                            req.extensions_mut().insert(c.clone());
                        }
                        router.clone().oneshot(req)
                    });
                if let Err(e) = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!(%peer, error = %e, "console: connection ended with an error");
                }
            });
        }
    });
    Ok(ConsoleServer { local_addr, task })
}
