use certs::{CertKind, CertState, KeySource, Pki, Validity, time};

use super::{code, participant, pki};

#[test]
fn init_refuses_to_overwrite_an_existing_ca() {
    let (dir, _pki) = pki();
    let err = Pki::init(dir.path(), "again", 10).unwrap_err();
    assert!(matches!(err, certs::Error::AlreadyInitialised(_)), "{err}");
}

#[test]
fn opening_a_directory_without_a_ca_says_to_run_init() {
    let dir = tempfile::tempdir().unwrap();
    let err = Pki::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("certs init"), "{err}");
}

#[test]
fn a_participant_certificate_names_the_participant_in_cn_and_san_uri() {
    let (_dir, pki) = pki();
    let (cert, _key) = participant(&pki, "RIZHAO");
    let der = certs::certificates_from_pem(cert.as_bytes(), "cert").unwrap();
    let info = certs::inspect_certificate(&der[0]).unwrap();
    assert_eq!(info.common_name.as_deref(), Some("RIZHAO"));
    assert_eq!(info.participant, Some(code("RIZHAO")));
    assert_eq!(info.issuer_common_name.as_deref(), Some("Test hub CA"));
    let id = certs::peer_identity(&der[0]).unwrap();
    let listed = pki.list().unwrap();
    let record = listed.iter().find(|r| r.serial == id.serial).unwrap();
    assert_eq!(record.kind, CertKind::Participant);
    assert_eq!(record.participant.as_deref(), Some("RIZHAO"));
    assert!(pki.dir().join(&record.file).exists());
}

#[test]
fn a_certificate_from_a_csr_carries_the_csr_key_and_the_hubs_subject() {
    let (_dir, pki) = pki();
    // The partner makes its own key and CSR, asking for a subject the hub must not copy.
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["evil.example".to_string()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "SOMEONE-ELSE");
    let csr = params.serialize_request(&key).unwrap().pem().unwrap();
    let issued = pki
        .issue_participant(
            &code("WEIHAI"),
            KeySource::Csr(&csr),
            Validity::days(90).unwrap(),
        )
        .unwrap();
    assert!(issued.key_pem.is_none(), "the partner keeps its key");
    let der = certs::certificates_from_pem(issued.cert_pem.as_bytes(), "cert").unwrap();
    let id = certs::peer_identity(&der[0]).unwrap();
    assert_eq!(id.participant, code("WEIHAI"));
    // The certificate works with the partner's key in a handshake.
    let key_pem = key.serialize_pem();
    assert_eq!(
        super::handshake(&pki, Some((&issued.cert_pem, &key_pem))).unwrap(),
        "WEIHAI"
    );
}

#[test]
fn a_csr_that_is_not_a_csr_is_a_clear_error() {
    let (_dir, pki) = pki();
    let err = pki
        .issue_participant(
            &code("X"),
            KeySource::Csr("hello"),
            Validity::days(1).unwrap(),
        )
        .unwrap_err();
    assert!(matches!(err, certs::Error::BadCsr(_)), "{err}");
}

#[test]
fn rotation_leaves_the_old_certificate_valid() {
    let (_dir, pki) = pki();
    let old = participant(&pki, "QDT");
    let new = participant(&pki, "QDT");
    assert_ne!(old.0, new.0);
    let now = time::OffsetDateTime::now_utc();
    let qdt: Vec<_> = pki
        .list()
        .unwrap()
        .into_iter()
        .filter(|r| r.participant.as_deref() == Some("QDT"))
        .collect();
    assert_eq!(qdt.len(), 2);
    assert!(qdt.iter().all(|r| r.state(now) == CertState::Valid));
    assert_eq!(
        super::handshake(&pki, Some((&old.0, &old.1))).unwrap(),
        "QDT"
    );
    assert_eq!(
        super::handshake(&pki, Some((&new.0, &new.1))).unwrap(),
        "QDT"
    );
}

#[test]
fn certificates_close_to_expiry_are_flagged() {
    let (_dir, pki) = pki();
    pki.issue_participant(
        &code("SOON"),
        KeySource::Generate,
        Validity::days(10).unwrap(),
    )
    .unwrap();
    pki.issue_participant(
        &code("LATER"),
        KeySource::Generate,
        Validity::days(300).unwrap(),
    )
    .unwrap();
    let now = time::OffsetDateTime::now_utc();
    let window = time::Duration::days(certs::EXPIRY_WARNING_DAYS);
    let flagged: Vec<_> = pki
        .list()
        .unwrap()
        .into_iter()
        .filter(|r| r.expires_within(now, window))
        .filter_map(|r| r.participant)
        .collect();
    assert_eq!(flagged, vec!["SOON".to_string()]);
}

#[test]
fn validity_refuses_zero_days_and_reversed_periods() {
    assert!(Validity::days(0).is_err());
    let now = time::OffsetDateTime::now_utc();
    assert!(Validity::new(now, now - time::Duration::hours(1)).is_err());
}

#[test]
fn a_server_host_that_is_not_a_name_is_refused() {
    let (_dir, pki) = pki();
    let err = pki
        .issue_server(&["bad host/".into()], Validity::days(1).unwrap())
        .unwrap_err();
    assert!(matches!(err, certs::Error::InvalidHost(_)), "{err}");
}
