//! The index of issued certificates (`index.json` in the PKI directory): what `list` shows,
//! what `revoke` marks, and what the CRL is generated from.

use std::path::Path;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};
use crate::fsutil::write_atomic;

/// What a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CertKind {
    /// The hub's own certificate authority (self-signed).
    Ca,
    /// The hub's server certificate (also usable as the hub's client identity).
    Server,
    /// A participant's client certificate.
    Participant,
}

impl CertKind {
    /// The lower-case name, as the index file and metrics write it.
    pub fn as_str(self) -> &'static str {
        match self {
            CertKind::Ca => "ca",
            CertKind::Server => "server",
            CertKind::Participant => "participant",
        }
    }
}

/// The state of a certificate at some moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertState {
    /// Its validity has not started yet.
    NotYetValid,
    /// Usable.
    Valid,
    /// Past its `not_after`.
    Expired,
    /// On the CRL.
    Revoked,
}

impl CertState {
    /// The lower-case name shown by `hutong certs list`.
    pub fn as_str(self) -> &'static str {
        match self {
            CertState::NotYetValid => "not_yet_valid",
            CertState::Valid => "valid",
            CertState::Expired => "expired",
            CertState::Revoked => "revoked",
        }
    }
}

/// One issued certificate, as the index remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertRecord {
    /// Serial number, upper-case hex.
    pub serial: String,
    /// What the certificate is for.
    pub kind: CertKind,
    /// The participant code, for participant certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<String>,
    /// The subject common name.
    pub subject: String,
    /// DNS names and addresses, for server certificates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// Start of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// When it was revoked, if it was.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// SHA-256 of the certificate's DER, upper-case hex.
    pub sha256: String,
    /// Where a copy of the certificate is kept, relative to the PKI directory.
    pub file: String,
}

impl CertRecord {
    /// The state at `now`. Revocation wins over expiry.
    pub fn state(&self, now: OffsetDateTime) -> CertState {
        if self.revoked_at.is_some() {
            CertState::Revoked
        } else if now < self.not_before {
            CertState::NotYetValid
        } else if now > self.not_after {
            CertState::Expired
        } else {
            CertState::Valid
        }
    }

    /// True when the certificate is valid at `now` but expires within `window` (30 days for
    /// `hutong certs list`).
    pub fn expires_within(&self, now: OffsetDateTime, window: Duration) -> bool {
        self.state(now) == CertState::Valid && self.not_after - now <= window
    }
}

/// The whole index file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Index {
    /// The number of the last CRL issued (CRL numbers only grow).
    pub(crate) crl_number: u64,
    /// Every certificate issued, oldest first.
    pub(crate) certs: Vec<CertRecord>,
}

impl Index {
    pub(crate) fn load(path: &Path) -> Result<Index> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Index::default()),
            Err(e) => return Err(Error::io(path, e)),
        };
        serde_json::from_str(&text).map_err(|e| Error::BadIndex {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })
    }

    pub(crate) fn save(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self).map_err(|e| Error::BadIndex {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        text.push('\n');
        write_atomic(path, text.as_bytes(), false)
    }
}
