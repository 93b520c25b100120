//! The PKI directory: the hub CA, its CRL, the server certificate and the index of issued
//! certificates.
//!
//! ```text
//! PKI/ca.crt  ca.key (0600)  crl.pem  index.json  server.crt  server.key (0600)  issued/SERIAL.crt
//! ```
//!
//! Every file is written atomically (temporary file, fsync, rename), so a running server that
//! reloads `crl.pem` or `server.crt` sees the old or the new file, never half of one.

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams,
    CertificateSigningRequestParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason, RevokedCertParams, SanType,
    SerialNumber,
};
use time::{Duration, OffsetDateTime};

use crate::code::ParticipantCode;
use crate::error::{Error, Result};
use crate::fsutil::{read_text, sync_dir, write_atomic};
use crate::index::{CertKind, CertRecord, Index};

/// How long a CRL is declared fresh (`nextUpdate`). Every revocation and every issue re-signs it.
const CRL_LIFETIME: Duration = Duration::days(30);

/// How far back a new certificate's validity starts, to absorb clock skew between machines.
const BACKDATE: Duration = Duration::minutes(5);

/// A validity period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// From five minutes ago (clock skew) to `days` days from now.
    pub fn days(days: u32) -> Result<Validity> {
        if days == 0 {
            return Err(Error::InvalidValidity("expected at least 1 day".into()));
        }
        let now = now_seconds();
        Validity::new(now - BACKDATE, now + Duration::days(i64::from(days)))
    }

    /// An explicit period (tests use one in the past to make an expired certificate).
    pub fn new(not_before: OffsetDateTime, not_after: OffsetDateTime) -> Result<Validity> {
        if not_after <= not_before {
            return Err(Error::InvalidValidity(format!(
                "not_after {not_after} is not after not_before {not_before}"
            )));
        }
        Ok(Validity {
            not_before: not_before.replace_nanosecond(0).unwrap_or(not_before),
            not_after: not_after.replace_nanosecond(0).unwrap_or(not_after),
        })
    }
}

/// Where a participant certificate's key comes from.
#[derive(Debug, Clone, Copy)]
pub enum KeySource<'a> {
    /// The hub generates a key pair (ECDSA P-256) and hands the private key out once.
    Generate,
    /// The partner's certificate signing request, PEM. The partner keeps its key; only the
    /// public key of the CSR is used: subject, names and usages are the hub's, not the CSR's.
    Csr(&'a str),
}

/// A certificate just issued.
#[derive(Debug, Clone)]
pub struct Issued {
    /// Its index entry.
    pub record: CertRecord,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PEM (PKCS#8), when the hub generated it.
    pub key_pem: Option<String>,
    /// The hub CA certificate, PEM, for the holder to trust.
    pub ca_pem: String,
}

/// The hub's PKI directory.
#[derive(Debug, Clone)]
pub struct Pki {
    dir: PathBuf,
}

impl Pki {
    /// Creates the hub CA in `dir` (created if missing): an ECDSA P-256 key, a self-signed
    /// certificate named `name`, valid `days` days, and an empty CRL. Refuses to overwrite an
    /// existing CA.
    pub fn init(dir: &Path, name: &str, days: u32) -> Result<Pki> {
        let name = name.trim();
        if name.is_empty() {
            return Err(Error::InvalidValidity("the CA name is empty".into()));
        }
        let validity = Validity::days(days)?;
        fs::create_dir_all(dir.join("issued")).map_err(|e| Error::io(dir, e))?;
        let pki = Pki {
            dir: dir.to_path_buf(),
        };
        if pki.ca_cert_path().exists() {
            return Err(Error::AlreadyInitialised(dir.to_path_buf()));
        }
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        dn.push(DnType::OrganizationName, "hutong");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = validity.not_before;
        params.not_after = validity.not_after;
        let serial = new_serial()?;
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        let cert = params.self_signed(&key)?;
        // The key first: a ca.crt without its key would block a retry of `init`.
        write_atomic(&pki.ca_key_path(), key.serialize_pem().as_bytes(), true)?;
        write_atomic(&pki.ca_cert_path(), cert.pem().as_bytes(), false)?;
        let mut index = Index::default();
        let record = pki.record(
            &serial,
            CertKind::Ca,
            None,
            name,
            Vec::new(),
            validity,
            cert.der(),
            &cert.pem(),
        )?;
        index.certs.push(record);
        index.save(&pki.index_path())?;
        pki.write_crl(&mut index)?;
        Ok(pki)
    }

    /// Opens an existing PKI directory (one where `init` ran).
    pub fn open(dir: &Path) -> Result<Pki> {
        let pki = Pki {
            dir: dir.to_path_buf(),
        };
        if !pki.ca_cert_path().exists() || !pki.ca_key_path().exists() {
            return Err(Error::NotInitialised(dir.to_path_buf()));
        }
        Ok(pki)
    }

    /// The PKI directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `ca.crt`: the hub CA certificate.
    pub fn ca_cert_path(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// `ca.key`: the hub CA private key (owner-readable only).
    pub fn ca_key_path(&self) -> PathBuf {
        self.dir.join("ca.key")
    }

    /// `crl.pem`: the current certificate revocation list.
    pub fn crl_path(&self) -> PathBuf {
        self.dir.join("crl.pem")
    }

    /// `server.crt`: the hub's server certificate.
    pub fn server_cert_path(&self) -> PathBuf {
        self.dir.join("server.crt")
    }

    /// `server.key`: the hub's server private key.
    pub fn server_key_path(&self) -> PathBuf {
        self.dir.join("server.key")
    }

    /// `index.json`: every certificate issued.
    pub fn index_path(&self) -> PathBuf {
        self.dir.join("index.json")
    }

    /// The hub CA certificate, PEM.
    pub fn ca_pem(&self) -> Result<String> {
        read_text(&self.ca_cert_path())
    }

    /// Issues the hub's server certificate for `hosts` (DNS names or IP addresses; the first is
    /// also the common name) and installs it as `server.crt` / `server.key`, replacing the old
    /// one (a running server picks it up at its next handshake). The certificate also allows
    /// client authentication, so the hub can present it when it pushes files to partners.
    pub fn issue_server(&self, hosts: &[String], validity: Validity) -> Result<Issued> {
        let first = hosts
            .first()
            .ok_or_else(|| Error::InvalidHost(String::new()))?;
        let mut sans = Vec::with_capacity(hosts.len());
        for host in hosts {
            sans.push(san_for_host(host)?);
        }
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, first.as_str());
        dn.push(DnType::OrganizationName, "hutong");
        params.distinguished_name = dn;
        params.subject_alt_names = sans;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let (issued, _) = self.sign(
            params,
            &key,
            CertKind::Server,
            None,
            first,
            hosts.to_vec(),
            validity,
        )?;
        // Key before certificate: a reload between the two writes fails to match them and keeps
        // the old configuration until the second write lands.
        let key_pem = key.serialize_pem();
        write_atomic(&self.server_key_path(), key_pem.as_bytes(), true)?;
        write_atomic(&self.server_cert_path(), issued.cert_pem.as_bytes(), false)?;
        Ok(Issued {
            key_pem: Some(key_pem),
            ..issued
        })
    }

    /// Issues a client certificate for a participant: subject CN = the code, SAN URI
    /// `urn:hutong:participant:<code>`, extended key usage client authentication. Earlier
    /// certificates of the participant stay valid (rotation with overlap) until they expire or
    /// are revoked.
    pub fn issue_participant(
        &self,
        code: &ParticipantCode,
        key_source: KeySource<'_>,
        validity: Validity,
    ) -> Result<Issued> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, code.as_str());
        dn.push(DnType::OrganizationName, "hutong participant");
        params.distinguished_name = dn;
        let urn = code
            .urn()
            .try_into()
            .map_err(|_| Error::InvalidParticipantCode(code.to_string()))?;
        params.subject_alt_names = vec![SanType::URI(urn)];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        match key_source {
            KeySource::Generate => {
                let key = KeyPair::generate()?;
                let (issued, _) = self.sign(
                    params,
                    &key,
                    CertKind::Participant,
                    Some(code),
                    code.as_str(),
                    Vec::new(),
                    validity,
                )?;
                Ok(Issued {
                    key_pem: Some(key.serialize_pem()),
                    ..issued
                })
            }
            KeySource::Csr(pem) => {
                let csr = CertificateSigningRequestParams::from_pem(pem)
                    .map_err(|e| Error::BadCsr(e.to_string()))?;
                let (issued, _) = self.sign(
                    params,
                    &csr.public_key,
                    CertKind::Participant,
                    Some(code),
                    code.as_str(),
                    Vec::new(),
                    validity,
                )?;
                Ok(issued)
            }
        }
    }

    /// Revokes every unrevoked certificate of `participant` (or only the one with `serial`),
    /// writes a new CRL and returns what was revoked. A server re-reads the CRL at its next
    /// handshake.
    pub fn revoke(
        &self,
        participant: &ParticipantCode,
        serial: Option<&str>,
    ) -> Result<Vec<CertRecord>> {
        let mut index = Index::load(&self.index_path())?;
        let now = now_seconds();
        let mut revoked = Vec::new();
        for record in &mut index.certs {
            let matches = record.kind == CertKind::Participant
                && record.participant.as_deref() == Some(participant.as_str())
                && record.revoked_at.is_none()
                && serial.is_none_or(|s| s.eq_ignore_ascii_case(&record.serial));
            if matches {
                record.revoked_at = Some(now);
                revoked.push(record.clone());
            }
        }
        if revoked.is_empty() {
            return Err(Error::NothingToRevoke {
                participant: participant.to_string(),
                serial: serial.map(str::to_string),
            });
        }
        index.save(&self.index_path())?;
        self.write_crl(&mut index)?;
        Ok(revoked)
    }

    /// Every certificate issued, oldest first.
    pub fn list(&self) -> Result<Vec<CertRecord>> {
        Ok(Index::load(&self.index_path())?.certs)
    }

    /// Re-signs the CRL (same revoked serials, a new number and a fresh `nextUpdate`).
    pub fn refresh_crl(&self) -> Result<()> {
        let mut index = Index::load(&self.index_path())?;
        self.write_crl(&mut index)
    }

    fn issuer(&self) -> Result<Issuer<'static, KeyPair>> {
        let key_pem = read_text(&self.ca_key_path())?;
        let key = KeyPair::from_pem(&key_pem).map_err(|e| Error::BadPem {
            what: self.ca_key_path().display().to_string(),
            detail: e.to_string(),
        })?;
        let ca_pem = self.ca_pem()?;
        Issuer::from_ca_cert_pem(&ca_pem, key).map_err(|e| Error::BadPem {
            what: self.ca_cert_path().display().to_string(),
            detail: e.to_string(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn sign(
        &self,
        mut params: CertificateParams,
        public_key: &impl rcgen::PublicKeyData,
        kind: CertKind,
        participant: Option<&ParticipantCode>,
        subject: &str,
        hosts: Vec<String>,
        validity: Validity,
    ) -> Result<(Issued, Vec<u8>)> {
        let issuer = self.issuer()?;
        let serial = new_serial()?;
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        params.not_before = validity.not_before;
        params.not_after = validity.not_after;
        params.use_authority_key_identifier_extension = true;
        params.key_identifier_method = KeyIdMethod::Sha256;
        let cert = params.signed_by(public_key, &issuer)?;
        let cert_pem = cert.pem();
        let record = self.record(
            &serial,
            kind,
            participant,
            subject,
            hosts,
            validity,
            cert.der(),
            &cert_pem,
        )?;
        let mut index = Index::load(&self.index_path())?;
        index.certs.push(record.clone());
        index.save(&self.index_path())?;
        // Every issue refreshes the CRL's nextUpdate as a side effect.
        self.write_crl(&mut index)?;
        Ok((
            Issued {
                record,
                cert_pem,
                key_pem: None,
                ca_pem: self.ca_pem()?,
            },
            cert.der().to_vec(),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        serial: &[u8],
        kind: CertKind,
        participant: Option<&ParticipantCode>,
        subject: &str,
        hosts: Vec<String>,
        validity: Validity,
        der: &[u8],
        pem: &str,
    ) -> Result<CertRecord> {
        let serial_hex = hex::encode_upper(serial);
        let file = format!("issued/{serial_hex}.crt");
        let issued_dir = self.dir.join("issued");
        fs::create_dir_all(&issued_dir).map_err(|e| Error::io(&issued_dir, e))?;
        write_atomic(&self.dir.join(&file), pem.as_bytes(), false)?;
        Ok(CertRecord {
            serial: serial_hex,
            kind,
            participant: participant.map(|p| p.to_string()),
            subject: subject.to_string(),
            hosts,
            not_before: validity.not_before,
            not_after: validity.not_after,
            revoked_at: None,
            sha256: sha256_hex(der),
            file,
        })
    }

    fn write_crl(&self, index: &mut Index) -> Result<()> {
        let issuer = self.issuer()?;
        index.crl_number += 1;
        let now = now_seconds();
        let revoked_certs = index
            .certs
            .iter()
            .filter_map(|r| {
                let at = r.revoked_at?;
                let serial = hex::decode(&r.serial).ok()?;
                Some(RevokedCertParams {
                    serial_number: SerialNumber::from_slice(&serial),
                    revocation_time: at,
                    reason_code: Some(RevocationReason::Unspecified),
                    invalidity_date: None,
                })
            })
            .collect();
        let params = CertificateRevocationListParams {
            this_update: now - BACKDATE,
            next_update: now + CRL_LIFETIME,
            crl_number: SerialNumber::from_slice(&index.crl_number.to_be_bytes()),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params.signed_by(&issuer)?;
        index.save(&self.index_path())?;
        write_atomic(&self.crl_path(), crl.pem()?.as_bytes(), false)?;
        sync_dir(&self.dir)
    }
}

fn san_for_host(host: &str) -> Result<SanType> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'*')
        });
    if !valid {
        return Err(Error::InvalidHost(host.to_string()));
    }
    host.try_into()
        .map(SanType::DnsName)
        .map_err(|_| Error::InvalidHost(host.to_string()))
}

/// 16 random bytes, positive and without a leading zero byte, so the DER encoding and the hex
/// in the index are the same bytes.
fn new_serial() -> Result<[u8; 16]> {
    let mut serial = [0u8; 16];
    aws_lc_rs::rand::fill(&mut serial)
        .map_err(|_| Error::Signing(rcgen::Error::RingUnspecified))?;
    serial[0] &= 0x7f;
    if serial[0] == 0 {
        serial[0] = 0x01;
    }
    Ok(serial)
}

/// Now, to the second (X.509 times have no fractions).
pub(crate) fn now_seconds() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// SHA-256 of `bytes`, upper-case hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode_upper(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes))
}
