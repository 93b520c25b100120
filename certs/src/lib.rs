//! The hub's own public-key infrastructure for participants: the certificate authority,
//! participant client certificates (the participant code in the subject CN and in a SAN URI
//! `urn:hutong:participant:<code>`), revocation lists, rotation with overlapping validity, and
//! the rustls configurations that the server and clients use.
//!
//! The PKI lives in one directory ([`Pki`]); the only I/O this crate does is on that
//! directory's files. [`peer_identity`] tells the server which participant a verified client
//! certificate belongs to; [`server_config`] and [`client_config`] build the TLS 1.3
//! configurations.
//!
//! ```
//! use certs::{KeySource, ParticipantCode, Pki, Validity, peer_identity};
//!
//! let dir = tempfile::tempdir()?;
//! let pki = Pki::init(dir.path(), "Qingdao hub CA", 3650)?;
//! let code = ParticipantCode::new("RIZHAO")?;
//! let issued = pki.issue_participant(&code, KeySource::Generate, Validity::days(365)?)?;
//!
//! let der = certs::certificates_from_pem(issued.cert_pem.as_bytes(), "cert")?;
//! assert_eq!(peer_identity(&der[0])?.participant, code);
//! assert_eq!(pki.list()?.len(), 2); // the CA and the participant certificate
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod code;
mod error;
mod fsutil;
mod identity;
mod index;
mod pki;
mod tls;

pub use code::{PARTICIPANT_URN_PREFIX, ParticipantCode};
pub use error::{Error, Result};
pub use identity::{
    CertificateInfo, PeerIdentity, inspect_certificate, peer_identity, revoked_serials,
};
pub use index::{CertKind, CertRecord, CertState};
pub use pki::{Issued, KeySource, Pki, Validity};
pub use tls::{
    ClientAuth, ServerTlsFiles, certificates_from_pem, client_config, install_default_provider,
    provider, server_config, server_config_for,
};

/// Certificates that expire within this many days are flagged by `hutong certs list`.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

pub use time;
