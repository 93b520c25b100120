//! Uploads, listings and downloads through the real server.

use hub::store::{Direction, FileStatus};

use crate::harness::{Hub, sha256};

#[tokio::test]
async fn accepts_a_good_upload_and_returns_its_receipt() {
    let hub = Hub::start().await;
    let party = hub.participant("RIZHAO").await;
    let content: Vec<u8> = (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let path = hub.local_file("TX20261122.dat", &content[..1_000_000]);
    let up = hub.client(&party).upload(&path).await.unwrap();
    assert!(up.new);
    let r = &up.receipt;
    assert_eq!(r.name, "TX20261122.dat");
    assert_eq!(r.bytes, 1_000_000);
    assert_eq!(r.sha256, sha256(&content[..1_000_000]));
    assert_eq!(r.status, "received");
    // Stored durably where the record says, with the same bytes, waiting for ingest.
    let record = hub.store.file(r.file_id).await.unwrap().unwrap();
    assert_eq!(record.sender.as_deref(), Some("RIZHAO"));
    assert_eq!(record.status, FileStatus::Received);
    let stored = std::fs::read(hub.vault.path_of(&record.stored_path)).unwrap();
    assert_eq!(sha256(&stored), r.sha256);
    let queue = hub
        .store
        .files_with_status(FileStatus::Received, 10)
        .await
        .unwrap();
    assert_eq!(queue.len(), 1);
}

#[tokio::test]
async fn the_same_file_twice_is_stored_once_and_answered_with_the_first_receipt() {
    let hub = Hub::start().await;
    let party = hub.participant("RIZHAO").await;
    let client = hub.client(&party);
    let first = client
        .upload(&hub.local_file("a.dat", b"same bytes"))
        .await
        .unwrap();
    let again = client
        .upload(&hub.local_file("b.dat", b"same bytes"))
        .await
        .unwrap();
    assert!(first.new && !again.new);
    assert_eq!(again.receipt, first.receipt);
    assert_eq!(
        hub.store
            .files_of("RIZHAO", Direction::In)
            .await
            .unwrap()
            .len(),
        1
    );
    let stored_dir = hub.vault.data_dir().join("files/in/RIZHAO");
    assert_eq!(std::fs::read_dir(stored_dir).unwrap().count(), 1);
    let staging = hub.vault.data_dir().join("files/tmp");
    assert_eq!(
        std::fs::read_dir(staging).unwrap().count(),
        0,
        "no leftovers"
    );
}

#[tokio::test]
async fn refuses_a_name_with_a_path_separator_or_dot_dot() {
    let hub = Hub::start().await;
    let party = hub.participant("RIZHAO").await;
    let raw = hub.raw(Some(&party));
    // (A bare `..` segment never reaches the server: URL normalisation removes it on the
    // client; the router-level test below sends one anyway.)
    for name in ["..%2Fetc%2Fpasswd", "a%2Fb", "a%5Cb", "x..y", "..hidden"] {
        let response = raw
            .put(format!("{}/v1/files/{name}", hub.url))
            .body("data")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{name}");
    }
    assert!(
        hub.store
            .files_of("RIZHAO", Direction::In)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn refuses_an_upload_over_the_limit_and_keeps_nothing() {
    let hub = Hub::start_with_limit(1000).await;
    let party = hub.participant("RIZHAO").await;
    let raw = hub.raw(Some(&party));
    // Announced too large.
    let response = raw
        .put(format!("{}/v1/files/big.dat", hub.url))
        .body(vec![7u8; 5000])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    // Not announced (chunked), found too large while streaming.
    use tokio::io::AsyncReadExt;
    let reader = tokio::io::repeat(1).take(2000);
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(reader, 400));
    let response = raw
        .put(format!("{}/v1/files/big2.dat", hub.url))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert!(
        hub.store
            .files_of("RIZHAO", Direction::In)
            .await
            .unwrap()
            .is_empty()
    );
    let staging = hub.vault.data_dir().join("files/tmp");
    assert_eq!(std::fs::read_dir(staging).unwrap().count(), 0);
}

#[tokio::test]
async fn a_participant_reading_another_participants_file_gets_403_and_it_is_logged() {
    let hub = Hub::start().await;
    let a = hub.participant("QDT").await;
    let b = hub.participant("RIZHAO").await;
    let up = hub
        .client(&b)
        .upload(&hub.local_file("b-only.dat", b"RIZHAO's data"))
        .await
        .unwrap();
    let raw_a = hub.raw(Some(&a));
    let url = format!("{}/v1/files/{}", hub.url, up.receipt.file_id);
    let response = raw_a.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 403);
    let body = response.text().await.unwrap();
    assert!(!body.contains("RIZHAO's data"));
    let audit = hub.audit().await;
    let refusal = audit
        .iter()
        .find(|e| e.participant.as_deref() == Some("QDT") && e.result == "403")
        .expect("the refusal is in the audit log");
    assert_eq!(refusal.action, "GET /v1/files/{name}");
    assert!(
        refusal
            .detail
            .as_deref()
            .unwrap()
            .contains("another participant")
    );
    // The owner reads it.
    let response = hub.raw(Some(&b)).get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"RIZHAO's data");
    // An unknown id is 404.
    let response = raw_a
        .get(format!("{}/v1/files/999999", hub.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn listings_show_only_the_callers_files_in_each_direction() {
    let hub = Hub::start().await;
    let a = hub.participant("QDT").await;
    let b = hub.participant("RIZHAO").await;
    hub.client(&a)
        .upload(&hub.local_file("a1.dat", b"a1"))
        .await
        .unwrap();
    hub.client(&b)
        .upload(&hub.local_file("b1.dat", b"b1"))
        .await
        .unwrap();
    let source = hub.local_file("for-a.dat", b"for QDT");
    hub::delivery::deposit_outbound(&hub.store, &hub.vault, "QDT", "for-a.dat", &source, None)
        .await
        .unwrap();
    let client = hub.client(&a);
    let ins = client.list(Some("in")).await.unwrap();
    let outs = client.list(Some("out")).await.unwrap();
    assert_eq!(
        ins.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["a1.dat"]
    );
    assert_eq!(
        outs.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["for-a.dat"]
    );
    assert_eq!(client.list(None).await.unwrap().len(), 2);
    let bad = hub
        .raw(Some(&a))
        .get(format!("{}/v1/files?direction=sideways", hub.url))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn fetch_downloads_each_inbound_file_once() {
    let hub = Hub::start().await;
    let a = hub.participant("QDT").await;
    for (name, body) in [("r1.dat", &b"first"[..]), ("r2.dat", &b"second"[..])] {
        let source = hub.local_file(name, body);
        hub::delivery::deposit_outbound(&hub.store, &hub.vault, "QDT", name, &source, None)
            .await
            .unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let client = hub.client(&a);
    let fetched = hub::client::fetch_new(&client, out.path()).await.unwrap();
    assert_eq!(fetched.len(), 2);
    assert_eq!(std::fs::read(out.path().join("r2.dat")).unwrap(), b"second");
    assert!(
        hub::client::fetch_new(&client, out.path())
            .await
            .unwrap()
            .is_empty()
    );
    let source = hub.local_file("r3.dat", b"third");
    hub::delivery::deposit_outbound(&hub.store, &hub.vault, "QDT", "r3.dat", &source, None)
        .await
        .unwrap();
    let fetched = hub::client::fetch_new(&client, out.path()).await.unwrap();
    assert_eq!(fetched.iter().map(|f| f.bytes).collect::<Vec<_>>(), [5]);
}

#[tokio::test]
async fn serves_its_openapi_description_and_audits_every_request() {
    let hub = Hub::start().await;
    let a = hub.participant("QDT").await;
    let raw = hub.raw(Some(&a));
    let doc: serde_json::Value = raw
        .get(format!("{}/v1/openapi.json", hub.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/v1/files/{name}"]["put"].is_object());
    raw.get(format!("{}/v1/nothing-here", hub.url))
        .send()
        .await
        .unwrap();
    let audit = hub.audit().await;
    let actions: Vec<_> = audit
        .iter()
        .map(|e| (e.action.as_str(), e.result.as_str()))
        .collect();
    assert!(
        actions.contains(&("GET /v1/openapi.json", "200")),
        "{actions:?}"
    );
    assert!(actions.contains(&("GET (no route)", "404")), "{actions:?}");
    assert!(hub.store.verify_audit_chain().await.unwrap().is_intact());
}

#[tokio::test]
async fn the_router_refuses_a_dot_dot_name_that_a_raw_client_sends() {
    use tower::ServiceExt;
    let hub = Hub::start().await;
    hub.register("RIZHAO", None).await;
    let state = hub::http::AppState {
        store: hub.store.clone(),
        vault: hub.vault.clone(),
        max_file_bytes: 1000,
        outbox: Default::default(),
        ingest: Default::default(),
        hub: Default::default(),
        metrics: Default::default(),
    };
    let identity = certs::PeerIdentity {
        participant: certs::ParticipantCode::new("RIZHAO").unwrap(),
        serial: "01".into(),
        not_after: certs::time::OffsetDateTime::now_utc(),
    };
    for uri in ["/v1/files/%2E%2E", "/v1/files/.."] {
        let mut request = axum::http::Request::builder()
            .method("PUT")
            .uri(uri)
            .body(axum::body::Body::from("data"))
            .unwrap();
        request
            .extensions_mut()
            .insert(hub::http::Caller(identity.clone()));
        let response = hub::http::app(state.clone())
            .oneshot(request)
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{uri}");
    }
}

#[tokio::test]
async fn an_empty_upload_is_refused_at_once_with_a_json_400_and_nothing_is_stored() {
    let hub = Hub::start().await;
    let party = hub.participant("RIZHAO").await;
    let response = hub
        .raw(Some(&party))
        .put(format!("{}/v1/files/0", hub.url))
        .body(Vec::<u8>::new())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("empty"), "{body}");
    let stored = hub.store.files_of("RIZHAO", Direction::In).await.unwrap();
    assert!(stored.is_empty(), "{stored:?}");
    let staging = hub.vault.data_dir().join("files/tmp");
    assert_eq!(std::fs::read_dir(staging).unwrap().count(), 0);
}

#[tokio::test]
async fn a_malformed_query_is_answered_with_a_json_400_not_plain_text() {
    let hub = Hub::start().await;
    let party = hub.participant("RIZHAO").await;
    for path in [
        "/v1/files?direction=in&direction=in",
        "/v1/settlements/2026-12-01?format=xml&format=xml",
    ] {
        let response = hub
            .raw(Some(&party))
            .get(format!("{}{path}", hub.url))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            reqwest::StatusCode::BAD_REQUEST,
            "{path}"
        );
        let kind = response.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        assert!(kind.starts_with("application/json"), "{path}: {kind}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("duplicate field"),
            "{path}: {body}"
        );
    }
}
