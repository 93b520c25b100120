use certs::{CertState, time};

use super::{code, handshake, participant, pki};

#[test]
fn a_revoked_certificate_is_refused_and_listed_as_revoked() {
    let (_dir, pki) = pki();
    let (cert, key) = participant(&pki, "RIZHAO");
    assert_eq!(handshake(&pki, Some((&cert, &key))).unwrap(), "RIZHAO");
    let revoked = pki.revoke(&code("RIZHAO"), None).unwrap();
    assert_eq!(revoked.len(), 1);
    let err = handshake(&pki, Some((&cert, &key))).unwrap_err();
    assert_eq!(
        err,
        rustls::Error::InvalidCertificate(rustls::CertificateError::Revoked)
    );
    let now = time::OffsetDateTime::now_utc();
    let states: Vec<_> = pki
        .list()
        .unwrap()
        .into_iter()
        .filter(|r| r.participant.as_deref() == Some("RIZHAO"))
        .map(|r| r.state(now))
        .collect();
    assert_eq!(states, vec![CertState::Revoked]);
    let crl = std::fs::read(pki.crl_path()).unwrap();
    let serials = certs::revoked_serials(&crl).unwrap();
    assert!(serials.contains(&revoked[0].serial), "{serials:?}");
    assert_eq!(serials.len(), 1);
}

#[test]
fn revoking_one_serial_keeps_the_rotated_certificate_working() {
    let (_dir, pki) = pki();
    let old = participant(&pki, "QDT");
    let new = participant(&pki, "QDT");
    let old_serial =
        certs::peer_identity(&certs::certificates_from_pem(old.0.as_bytes(), "c").unwrap()[0])
            .unwrap()
            .serial;
    pki.revoke(&code("QDT"), Some(&old_serial)).unwrap();
    assert!(handshake(&pki, Some((&old.0, &old.1))).is_err());
    assert_eq!(handshake(&pki, Some((&new.0, &new.1))).unwrap(), "QDT");
}

#[test]
fn revoking_a_participant_without_certificates_is_an_error() {
    let (_dir, pki) = pki();
    let err = pki.revoke(&code("NOBODY"), None).unwrap_err();
    assert!(err.to_string().contains("NOBODY"), "{err}");
}
