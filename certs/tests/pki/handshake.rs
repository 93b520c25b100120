use certs::{KeySource, Pki, Validity, time};

use super::{code, handshake, participant, pki};

#[test]
fn a_client_without_a_certificate_is_refused() {
    let (_dir, pki) = pki();
    let err = handshake(&pki, None).unwrap_err();
    assert_eq!(err, rustls::Error::NoCertificatesPresented);
}

#[test]
fn a_certificate_from_another_ca_is_refused() {
    let (_dir, pki) = pki();
    let other_dir = tempfile::tempdir().unwrap();
    let other = Pki::init(other_dir.path(), "Another CA", 100).unwrap();
    let (cert, key) = participant(&other, "RIZHAO");
    let err = handshake(&pki, Some((&cert, &key))).unwrap_err();
    assert_eq!(
        err,
        rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
    );
}

#[test]
fn an_expired_certificate_is_refused() {
    let (_dir, pki) = pki();
    let now = time::OffsetDateTime::now_utc();
    let validity = Validity::new(
        now - time::Duration::days(30),
        now - time::Duration::days(1),
    )
    .unwrap();
    let issued = pki
        .issue_participant(&code("OLD"), KeySource::Generate, validity)
        .unwrap();
    let err = handshake(
        &pki,
        Some((&issued.cert_pem, issued.key_pem.as_deref().unwrap())),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            rustls::Error::InvalidCertificate(rustls::CertificateError::Expired)
                | rustls::Error::InvalidCertificate(
                    rustls::CertificateError::ExpiredContext { .. }
                )
        ),
        "{err:?}"
    );
}

#[test]
fn a_good_certificate_identifies_its_participant() {
    let (_dir, pki) = pki();
    let (cert, key) = participant(&pki, "RIZHAO");
    assert_eq!(handshake(&pki, Some((&cert, &key))).unwrap(), "RIZHAO");
}

#[test]
fn a_server_key_that_does_not_match_its_certificate_is_a_configuration_error() {
    let (_dir, pki) = pki();
    let (_cert, key) = participant(&pki, "X");
    std::fs::write(pki.server_key_path(), key).unwrap();
    assert!(certs::ServerTlsFiles::of(&pki).load().is_err());
}
