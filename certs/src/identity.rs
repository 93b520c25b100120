//! Who a certificate belongs to, read with x509-parser: the participant a server attributes a
//! connection to, and the facts a client checks about its own certificate before it connects.

use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::code::{PARTICIPANT_URN_PREFIX, ParticipantCode};
use crate::error::{Error, Result};

/// What a certificate says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// The subject common name, if there is one.
    pub common_name: Option<String>,
    /// The issuer common name, if there is one.
    pub issuer_common_name: Option<String>,
    /// The serial number, upper-case hex without leading zero bytes.
    pub serial: String,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// The participant named by a `urn:hutong:participant:` SAN URI, if any.
    pub participant: Option<ParticipantCode>,
}

/// The participant a client certificate identifies: what the server attaches to every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    /// The participant code.
    pub participant: ParticipantCode,
    /// The certificate's serial number, upper-case hex.
    pub serial: String,
    /// When the certificate expires.
    pub not_after: OffsetDateTime,
}

/// Reads a DER certificate.
pub fn inspect_certificate(der: &[u8]) -> Result<CertificateInfo> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| Error::BadCertificate(e.to_string()))?;
    let common_name = first_cn(cert.subject());
    let issuer_common_name = first_cn(cert.issuer());
    let mut raw_serial = cert.raw_serial();
    while raw_serial.len() > 1 && raw_serial[0] == 0 {
        raw_serial = &raw_serial[1..];
    }
    let serial = hex::encode_upper(raw_serial);
    let validity = cert.validity();
    let not_before = OffsetDateTime::from_unix_timestamp(validity.not_before.timestamp())
        .map_err(|e| Error::BadCertificate(e.to_string()))?;
    let not_after = OffsetDateTime::from_unix_timestamp(validity.not_after.timestamp())
        .map_err(|e| Error::BadCertificate(e.to_string()))?;
    let mut participant = None;
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let GeneralName::URI(uri) = name
                && let Some(code) = uri.strip_prefix(PARTICIPANT_URN_PREFIX)
            {
                participant = Some(ParticipantCode::new(code)?);
                break;
            }
        }
    }
    Ok(CertificateInfo {
        common_name,
        issuer_common_name,
        serial,
        not_before,
        not_after,
        participant,
    })
}

/// The participant a (verified) peer certificate identifies. The SAN URI
/// `urn:hutong:participant:<code>` names it; a subject CN, when present, must say the same.
pub fn peer_identity(der: &[u8]) -> Result<PeerIdentity> {
    let info = inspect_certificate(der)?;
    let participant = info.participant.ok_or_else(|| {
        Error::NoParticipant(format!(
            "no {PARTICIPANT_URN_PREFIX}<code> SAN URI (subject CN {:?})",
            info.common_name.as_deref().unwrap_or("")
        ))
    })?;
    if let Some(cn) = &info.common_name
        && cn != participant.as_str()
    {
        return Err(Error::NoParticipant(format!(
            "subject CN {cn:?} disagrees with SAN URI participant {participant}"
        )));
    }
    Ok(PeerIdentity {
        participant,
        serial: info.serial,
        not_after: info.not_after,
    })
}

fn first_cn(name: &x509_parser::x509::X509Name<'_>) -> Option<String> {
    name.iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string)
}

/// The serial numbers (upper-case hex, as [`PeerIdentity::serial`]) a PEM CRL lists. The
/// server uses it to refuse requests on connections opened before a revocation.
pub fn revoked_serials(crl_pem: &[u8]) -> Result<std::collections::HashSet<String>> {
    use rustls_pki_types::CertificateRevocationListDer;
    use rustls_pki_types::pem::PemObject;
    let mut serials = std::collections::HashSet::new();
    for crl in CertificateRevocationListDer::pem_slice_iter(crl_pem) {
        let crl = crl.map_err(|e| Error::BadPem {
            what: "CRL".into(),
            detail: e.to_string(),
        })?;
        let (_, parsed) = x509_parser::parse_x509_crl(&crl).map_err(|e| Error::BadPem {
            what: "CRL".into(),
            detail: e.to_string(),
        })?;
        for revoked in parsed.iter_revoked_certificates() {
            let mut raw = revoked.raw_serial();
            while raw.len() > 1 && raw[0] == 0 {
                raw = &raw[1..];
            }
            serials.insert(hex::encode_upper(raw));
        }
    }
    Ok(serials)
}
