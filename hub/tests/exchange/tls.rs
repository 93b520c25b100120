//! Real handshakes on 127.0.0.1: who gets in.

use certs::{ParticipantCode, Pki, Validity, time};
use hub::client::{ClientError, HubClient};

use crate::harness::Hub;

#[tokio::test]
async fn refuses_a_client_without_a_certificate() {
    let hub = Hub::start().await;
    let result = hub
        .raw(None)
        .get(format!("{}/v1/files", hub.url))
        .send()
        .await;
    assert!(
        result.is_err(),
        "answered: {:?}",
        result.map(|r| r.status())
    );
}

#[tokio::test]
async fn refuses_a_certificate_from_another_ca() {
    let hub = Hub::start().await;
    hub.register("RIZHAO", None).await;
    let other_dir = tempfile::tempdir().unwrap();
    let other = Pki::init(other_dir.path(), "Impostor CA", 30).unwrap();
    let issued = other
        .issue_participant(
            &ParticipantCode::new("RIZHAO").unwrap(),
            certs::KeySource::Generate,
            Validity::days(30).unwrap(),
        )
        .unwrap();
    let client = HubClient::new(
        &hub.url,
        issued.cert_pem.as_bytes(),
        issued.key_pem.unwrap().as_bytes(),
        hub.ca_pem().as_bytes(),
    )
    .unwrap();
    let err = client.list(None).await.unwrap_err();
    assert!(matches!(err, ClientError::Tls(_)), "{err}");
    hub.wait_for_audit(|e| {
        e.action == "tls.handshake"
            && e.detail
                .as_deref()
                .unwrap_or("")
                .contains("not issued by the hub CA")
    })
    .await;
}

#[tokio::test]
async fn refuses_a_revoked_certificate_without_restart() {
    let hub = Hub::start().await;
    let party = hub.participant("RIZHAO").await;
    let client = hub.client(&party);
    assert!(client.list(None).await.unwrap().is_empty());
    hub.pki
        .revoke(&ParticipantCode::new("RIZHAO").unwrap(), None)
        .unwrap();
    // A new client, so a new connection and handshake (the old pooled connection stays open:
    // revocation applies to handshakes).
    let err = hub.client(&party).list(None).await.unwrap_err();
    assert!(matches!(err, ClientError::Tls(_)), "{err}");
    assert!(err.to_string().contains("revoked"), "{err}");
    // The connection the first client opened before the revocation is refused too.
    match client.list(None).await.unwrap_err() {
        ClientError::Http { status, message } => {
            assert_eq!(status, 403);
            assert!(message.contains("revoked"), "{message}");
            eprintln!("the pooled connection was refused with 403");
        }
        // Or the pooled connection was gone and a new handshake was refused.
        ClientError::Tls(m) => assert!(m.contains("revoked"), "{m}"),
        other => panic!("{other}"),
    }
    hub.wait_for_audit(|e| {
        e.action == "tls.handshake"
            && e.result == "refused"
            && e.detail.as_deref().unwrap_or("").contains("revoked")
    })
    .await;
}

#[tokio::test]
async fn refuses_an_expired_certificate() {
    let hub = Hub::start().await;
    let now = time::OffsetDateTime::now_utc();
    let expired = hub.issue(
        "OLDTOWN",
        Validity::new(
            now - time::Duration::days(10),
            now - time::Duration::days(1),
        )
        .unwrap(),
    );
    hub.register("OLDTOWN", None).await;
    // The participant client says so without connecting…
    let err = HubClient::new(
        &hub.url,
        expired.cert.as_bytes(),
        expired.key.as_bytes(),
        hub.ca_pem().as_bytes(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ClientError::CertificateExpired { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("expired"), "{err}");
    // …and the server refuses it anyway.
    let result = hub
        .raw(Some(&expired))
        .get(format!("{}/v1/files", hub.url))
        .send()
        .await;
    assert!(
        result.is_err(),
        "answered: {:?}",
        result.map(|r| r.status())
    );
    hub.wait_for_audit(|e| {
        e.detail
            .as_deref()
            .unwrap_or("")
            .contains("certificate expired")
    })
    .await;
}

#[tokio::test]
async fn a_hub_certificate_for_an_unregistered_participant_gets_403() {
    let hub = Hub::start().await;
    let stranger = hub.issue("NOBODY", Validity::days(3).unwrap());
    let response = hub
        .raw(Some(&stranger))
        .get(format!("{}/v1/files", hub.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn a_client_that_trusts_another_ca_refuses_the_hub() {
    let hub = Hub::start().await;
    let party = hub.participant("RIZHAO").await;
    let other_dir = tempfile::tempdir().unwrap();
    let other = Pki::init(other_dir.path(), "Some other CA", 30).unwrap();
    let client = HubClient::new(
        &hub.url,
        party.cert.as_bytes(),
        party.key.as_bytes(),
        other.ca_pem().unwrap().as_bytes(),
    )
    .unwrap();
    let err = client.list(None).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("not signed by the CA given with --ca"),
        "{err}"
    );
}

#[tokio::test]
async fn a_renewed_server_certificate_is_served_without_restart() {
    let hub = Hub::start().await;
    let party = hub.participant("RIZHAO").await;
    hub.client(&party).list(None).await.unwrap();
    // Reissue the server certificate for localhost only: a client that connects to 127.0.0.1
    // must now fail name verification, which proves the new certificate is in use.
    hub.pki
        .issue_server(&["localhost".into()], Validity::days(30).unwrap())
        .unwrap();
    let err = hub.client(&party).list(None).await.unwrap_err();
    assert!(
        err.to_string().contains("not valid for the host name"),
        "{err}"
    );
    let via_name = HubClient::new(
        &hub.url.replace("127.0.0.1", "localhost"),
        party.cert.as_bytes(),
        party.key.as_bytes(),
        hub.ca_pem().as_bytes(),
    )
    .unwrap();
    via_name.list(None).await.unwrap();
}
