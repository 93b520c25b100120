//! The real `hutong serve` binary stopped with SIGTERM while an upload streams in, and its
//! operations listener (`/healthz`, `/readyz`, `/metrics`) read without a client certificate.

use std::path::{Path, PathBuf};
use std::time::Duration;

use certs::{Issued, KeySource, ParticipantCode, Pki, Validity};
use hub::store::Direction;
use hub::store::testing::TestDb;
use hub::vault::sha256_hex;
use tokio::sync::mpsc;

use super::crash::{Served, Settings, serve};

/// A PKI with a server certificate and the participant RIZHAO registered on a test database.
pub(crate) struct Setup {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) pki: Pki,
    pub(crate) issued: Issued,
    pub(crate) data: PathBuf,
    pub(crate) db: TestDb,
}

/// The [`Setup`] of the tests that run the real `hutong serve`.
pub(crate) async fn setup() -> Setup {
    certs::install_default_provider();
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::init(&dir.path().join("pki"), "Shutdown test CA", 30).unwrap();
    pki.issue_server(&["127.0.0.1".into()], Validity::days(30).unwrap())
        .unwrap();
    let issued = pki
        .issue_participant(
            &ParticipantCode::new("RIZHAO").unwrap(),
            KeySource::Generate,
            Validity::days(30).unwrap(),
        )
        .unwrap();
    let data = dir.path().join("data");
    let db = TestDb::from_env(&data).await.unwrap();
    db.store
        .add_participant(&crate::store::participant("RIZHAO", None))
        .await
        .unwrap();
    Setup {
        dir,
        pki,
        issued,
        data,
        db,
    }
}

/// An HTTPS client presenting RIZHAO's certificate.
fn participant_client(s: &Setup) -> reqwest::Client {
    let key = s.issued.key_pem.clone().unwrap();
    let tls = certs::client_config(
        s.pki.ca_pem().unwrap().as_bytes(),
        Some((s.issued.cert_pem.as_bytes(), key.as_bytes())),
    )
    .unwrap();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap()
}

fn sigterm(child: &tokio::process::Child) {
    let pid = child.id().expect("the server runs").to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Files in the staging area (an upload streaming in is one of them).
fn staged_files(data: &Path) -> usize {
    std::fs::read_dir(data.join("files").join("tmp"))
        .map(|entries| entries.count())
        .unwrap_or(0)
}

/// Where a test sends an upload's body, chunk by chunk.
type BodySender = mpsc::Sender<Result<Vec<u8>, std::io::Error>>;

/// The upload's answer, once the body is complete (or the connection is cut).
type Answer = tokio::task::JoinHandle<reqwest::Result<reqwest::Response>>;

/// Starts a PUT of `len` bytes whose body is sent through the returned channel.
fn streaming_upload(
    http: &reqwest::Client,
    url: &str,
    name: &str,
    len: usize,
) -> (BodySender, Answer) {
    let (tx, rx) = mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let request = http
        .put(format!("{url}/v1/files/{name}"))
        .header(reqwest::header::CONTENT_LENGTH, len)
        .body(reqwest::Body::wrap_stream(body))
        .send();
    (tx, tokio::spawn(request))
}

async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !done().await {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 241) as u8).collect()
}

#[tokio::test]
async fn sigterm_lets_an_upload_in_flight_finish_with_its_receipt_then_exits_0() {
    let s = setup().await;
    let Served {
        mut child,
        url,
        ops,
    } = serve(
        &s.data,
        s.pki.dir(),
        &s.db.target,
        Settings::Flags,
        &["--drain-seconds", "20"],
    )
    .await;
    let http = participant_client(&s);
    let body = content(1_500_000);
    let (tx, request) = streaming_upload(&http, &url, "TX-inflight.dat", body.len());
    tx.send(Ok(body[..700_000].to_vec())).await.unwrap();
    wait_until("the upload is being staged", async || {
        staged_files(&s.data) > 0
    })
    .await;

    sigterm(&child);
    // The load balancer's probe sees the replica leave at once…
    let plain = reqwest::Client::new();
    wait_until("/readyz turns 503", async || {
        match plain.get(format!("{ops}/readyz")).send().await {
            Ok(r) => r.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE,
            Err(_) => false,
        }
    })
    .await;
    // …while the upload in flight goes on to its receipt.
    tx.send(Ok(body[700_000..].to_vec())).await.unwrap();
    drop(tx);
    let response = request.await.unwrap().expect("the upload is answered");
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    let receipt: hub::wire::Receipt = response.json().await.unwrap();
    assert_eq!(receipt.sha256, sha256_hex(&body));
    assert_eq!(receipt.bytes, 1_500_000);

    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the server exits after draining")
        .unwrap();
    assert!(status.success(), "exit status {status:?}");

    // What the receipt says is stored, whole.
    let stored = s.db.store.file(receipt.file_id).await.unwrap().unwrap();
    assert_eq!(stored.sha256, receipt.sha256);
    let vault = hub::vault::Vault::open(&s.data).unwrap();
    let on_disk = std::fs::read(vault.path_of(&stored.stored_path)).unwrap();
    assert_eq!(sha256_hex(&on_disk), receipt.sha256);
    assert_eq!(staged_files(&s.data), 0, "nothing left in staging");
    drop(s.dir);
}

#[tokio::test]
async fn an_upload_still_streaming_after_the_drain_time_gets_an_error_and_nothing_is_stored() {
    let s = setup().await;
    let Served { mut child, url, .. } = serve(
        &s.data,
        s.pki.dir(),
        &s.db.target,
        Settings::Flags,
        &["--drain-seconds", "1"],
    )
    .await;
    let http = participant_client(&s);
    let body = content(1_000_000);
    let (tx, request) = streaming_upload(&http, &url, "TX-stalled.dat", body.len());
    tx.send(Ok(body[..400_000].to_vec())).await.unwrap();
    wait_until("the upload is being staged", async || {
        staged_files(&s.data) > 0
    })
    .await;
    sigterm(&child);
    // The client stalls past the drain time: the hub cuts the connection and exits.
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the server exits once the drain time is over")
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
    let _ = tx.send(Ok(body[400_000..].to_vec())).await;
    drop(tx);
    match request.await.unwrap() {
        Err(_) => {}
        Ok(r) => assert!(
            !r.status().is_success(),
            "a cut-off upload must not get a receipt, got {}",
            r.status()
        ),
    }
    let stored = s.db.store.files_of("RIZHAO", Direction::In).await.unwrap();
    assert!(stored.is_empty(), "no file is recorded: {stored:?}");
    assert_eq!(staged_files(&s.data), 0, "the partial upload was removed");
}

#[tokio::test]
async fn the_operations_listener_answers_health_readiness_and_metrics_without_a_certificate() {
    let s = setup().await;
    let Served {
        mut child,
        url,
        ops,
    } = serve(
        &s.data,
        s.pki.dir(),
        &s.db.target,
        Settings::Flags,
        &["--replica", "hub-a"],
    )
    .await;
    let plain = reqwest::Client::new();
    let health: serde_json::Value = plain
        .get(format!("{ops}/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "up");
    assert_eq!(health["replica"], "hub-a");
    let ready = plain.get(format!("{ops}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), reqwest::StatusCode::OK);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["ready"], true, "{ready}");
    for check in ["database", "migrations", "pki", "accepting"] {
        assert_eq!(ready["checks"][check]["ok"], true, "{check}: {ready}");
    }

    // One upload, and one handshake without a client certificate.
    let http = participant_client(&s);
    let response = http
        .put(format!("{url}/v1/files/TX-metrics.dat"))
        .body(content(1000))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    let receipt: hub::wire::Receipt = response.json().await.unwrap();
    let anonymous = reqwest::Client::builder()
        .tls_backend_preconfigured(
            certs::client_config(s.pki.ca_pem().unwrap().as_bytes(), None).unwrap(),
        )
        .build()
        .unwrap();
    assert!(
        anonymous
            .get(format!("{url}/v1/files"))
            .send()
            .await
            .is_err()
    );
    wait_until("the upload is ingested", async || {
        let f = s.db.store.file(receipt.file_id).await.unwrap().unwrap();
        f.status != hub::store::FileStatus::Received
    })
    .await;

    let metrics = plain.get(format!("{ops}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), reqwest::StatusCode::OK);
    assert!(
        metrics.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = metrics.text().await.unwrap();
    for expected in [
        r#"hutong_files_received_total{participant="RIZHAO",outcome="stored"} 1"#,
        r#"hutong_tls_handshake_refusals_total{listener="api",cause="no_certificate"} 1"#,
        "hutong_ingest_duration_seconds_count 1",
        "hutong_ingest_queue_files 0",
        r#"hutong_deliveries{state="failed"} 0"#,
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    let replica = text
        .lines()
        .find(|l| l.starts_with("hutong_replica_info{"))
        .unwrap_or_else(|| panic!("no replica_info in\n{text}"));
    assert!(replica.contains(r#"replica="hub-a""#), "{replica}");
    let participant_days = text
        .lines()
        .find(|l| {
            l.starts_with("hutong_certificate_expiry_days{")
                && l.contains(r#"participant="RIZHAO""#)
        })
        .unwrap_or_else(|| panic!("no expiry for RIZHAO in\n{text}"));
    let days: i64 = participant_days
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((29..=30).contains(&days), "{participant_days}");

    sigterm(&child);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
}
