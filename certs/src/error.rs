//! The one error type of the `certs` crate.

use std::path::PathBuf;

/// Everything that can go wrong in the hub's PKI.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file of the PKI directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// `init` found a CA already in the directory (it never overwrites one).
    #[error("{0} already holds a hub CA (ca.crt); refusing to overwrite it")]
    AlreadyInitialised(PathBuf),
    /// The directory holds no CA: `hutong certs init` was not run for it.
    #[error("{0} holds no hub CA (ca.crt): run `hutong certs init --pki {0}` first")]
    NotInitialised(PathBuf),
    /// A participant code that is empty, too long or has characters other than A-Z, a-z, 0-9, `-`, `_`.
    #[error("participant code {0:?}: expected 1 to 32 characters A-Z, a-z, 0-9, '-' or '_'")]
    InvalidParticipantCode(String),
    /// A server host name that is neither a DNS name nor an IP address.
    #[error("host {0:?}: expected a DNS name or an IP address")]
    InvalidHost(String),
    /// A validity period that ends before it starts, or a zero number of days.
    #[error("validity: {0}")]
    InvalidValidity(String),
    /// A certificate signing request that cannot be parsed or whose signature is wrong.
    #[error("certificate signing request: {0}")]
    BadCsr(String),
    /// A PEM file (certificate, key, CRL) that holds nothing usable.
    #[error("{what}: {detail}")]
    BadPem {
        /// Which file or value.
        what: String,
        /// What was wrong with it.
        detail: String,
    },
    /// The index of issued certificates (`index.json`) cannot be read.
    #[error("{path}: the index of issued certificates is damaged: {detail}")]
    BadIndex {
        /// The index file.
        path: PathBuf,
        /// What was wrong with it.
        detail: String,
    },
    /// rcgen could not build or sign a certificate or CRL.
    #[error("signing: {0}")]
    Signing(#[from] rcgen::Error),
    /// `revoke` found no certificate of that participant (or with that serial) to revoke.
    #[error("no valid certificate of participant {participant}{} to revoke", serial.as_ref().map(|s| format!(" with serial {s}")).unwrap_or_default())]
    NothingToRevoke {
        /// The participant code.
        participant: String,
        /// The serial asked for, if any.
        serial: Option<String>,
    },
    /// A certificate that cannot be parsed as X.509.
    #[error("certificate: {0}")]
    BadCertificate(String),
    /// A peer certificate that names no participant (no `urn:hutong:participant:` SAN URI, or
    /// a common name that disagrees with it).
    #[error("certificate names no hutong participant: {0}")]
    NoParticipant(String),
    /// rustls refused the configuration (for example a key that does not match the certificate).
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// The client-certificate verifier could not be built (for example an unusable CRL).
    #[error("client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Results of the `certs` crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
