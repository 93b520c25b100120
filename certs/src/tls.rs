//! rustls configurations: the hub's server (TLS 1.3 only, a client certificate chained to the
//! hub CA and absent from its CRL required) and the clients (participants, and the hub itself
//! when it pushes files to partners).

use std::path::PathBuf;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

use crate::error::{Error, Result};
use crate::fsutil::read_text;
use crate::pki::Pki;

/// The crypto provider every configuration of this crate uses: aws-lc-rs (the one the rest of
/// the stack compiles in; see STACK.md's one-provider pitfall).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Installs aws-lc-rs as the process-wide default provider. Call at the start of `main` and of
/// tests that build TLS configurations; calling it again is harmless.
pub fn install_default_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// The four files a server configuration is built from, so a server can watch them and rebuild
/// when one changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTlsFiles {
    /// The CA client certificates must chain to.
    pub ca_cert: PathBuf,
    /// The CRL checked at every handshake.
    pub crl: PathBuf,
    /// The server's certificate (chain), PEM.
    pub cert: PathBuf,
    /// The server's private key, PEM.
    pub key: PathBuf,
}

impl ServerTlsFiles {
    /// The files of a PKI directory.
    pub fn of(pki: &Pki) -> ServerTlsFiles {
        ServerTlsFiles {
            ca_cert: pki.ca_cert_path(),
            crl: pki.crl_path(),
            cert: pki.server_cert_path(),
            key: pki.server_key_path(),
        }
    }

    /// Every file, in a fixed order.
    pub fn paths(&self) -> [&PathBuf; 4] {
        [&self.ca_cert, &self.crl, &self.cert, &self.key]
    }

    /// Reads the files and builds the partners' server configuration (a client certificate
    /// required).
    pub fn load(&self) -> Result<ServerConfig> {
        self.load_for(ClientAuth::Required)
    }

    /// Reads the files and builds a server configuration with client authentication `auth`.
    pub fn load_for(&self, auth: ClientAuth) -> Result<ServerConfig> {
        server_config_for(
            read_text(&self.ca_cert)?.as_bytes(),
            read_text(&self.crl)?.as_bytes(),
            read_text(&self.cert)?.as_bytes(),
            read_text(&self.key)?.as_bytes(),
            auth,
        )
    }
}

/// Whether a server asks for a client certificate and must get one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// Partners' machines: TLS 1.3 only, a certificate of the CA required.
    Required,
    /// People's browsers (the finance console): TLS 1.2 or 1.3, a certificate asked for but
    /// optional; when presented it is verified like a required one (CA, validity, CRL).
    Optional,
}

/// A server configuration: TLS 1.3 only; ALPN h2 and http/1.1; a client certificate is
/// required, must chain to `ca_pem`, be within its validity and not be on `crl_pem`.
pub fn server_config(
    ca_pem: &[u8],
    crl_pem: &[u8],
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<ServerConfig> {
    server_config_for(ca_pem, crl_pem, cert_pem, key_pem, ClientAuth::Required)
}

/// A server configuration with client authentication `auth` (see [`ClientAuth`]); ALPN h2
/// and http/1.1; a presented client certificate must chain to `ca_pem`, be within its
/// validity and not be on `crl_pem`.
pub fn server_config_for(
    ca_pem: &[u8],
    crl_pem: &[u8],
    cert_pem: &[u8],
    key_pem: &[u8],
    auth: ClientAuth,
) -> Result<ServerConfig> {
    let provider = provider();
    let roots = Arc::new(root_store(ca_pem, "CA certificate")?);
    let crls = CertificateRevocationListDer::pem_slice_iter(crl_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_pem("CRL", e))?;
    if crls.is_empty() {
        return Err(Error::BadPem {
            what: "CRL".into(),
            detail: "no X509 CRL block".into(),
        });
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
        .with_crls(crls)
        .only_check_end_entity_revocation();
    let (verifier, versions): (_, &[&rustls::SupportedProtocolVersion]) = match auth {
        ClientAuth::Required => (verifier.build()?, &[&rustls::version::TLS13]),
        ClientAuth::Optional => (
            verifier.allow_unauthenticated().build()?,
            rustls::DEFAULT_VERSIONS,
        ),
    };
    let (chain, key) = identity(cert_pem, key_pem, "server")?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// A client configuration: TLS 1.3 only, trusting only `ca_pem`, presenting `identity`
/// (certificate chain PEM, private key PEM) when given. No ALPN, so HTTP/1.1, which streams
/// large bodies fastest.
pub fn client_config(ca_pem: &[u8], identity_pem: Option<(&[u8], &[u8])>) -> Result<ClientConfig> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(root_store(ca_pem, "CA certificate")?);
    let config = match identity_pem {
        Some((cert_pem, key_pem)) => {
            let (chain, key) = identity(cert_pem, key_pem, "client")?;
            builder.with_client_auth_cert(chain, key)?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(config)
}

/// Every certificate of a PEM bundle.
pub fn certificates_from_pem(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_pem(what, e))?;
    if certs.is_empty() {
        return Err(Error::BadPem {
            what: what.to_string(),
            detail: "no CERTIFICATE block".into(),
        });
    }
    Ok(certs)
}

fn root_store(ca_pem: &[u8], what: &str) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for cert in certificates_from_pem(ca_pem, what)? {
        roots.add(cert)?;
    }
    Ok(roots)
}

fn identity(
    cert_pem: &[u8],
    key_pem: &[u8],
    what: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let chain = certificates_from_pem(cert_pem, &format!("{what} certificate"))?;
    let key =
        PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| bad_pem(&format!("{what} key"), e))?;
    Ok((chain, key))
}

fn bad_pem(what: &str, e: rustls_pki_types::pem::Error) -> Error {
    Error::BadPem {
        what: what.to_string(),
        detail: e.to_string(),
    }
}
