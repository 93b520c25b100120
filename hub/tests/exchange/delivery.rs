//! Pushing outbound files to a partner's endpoint: a simulated partner, a real HTTPS server on
//! 127.0.0.1 with its own CA, speaking the same `PUT /v1/files/{name}` protocol.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::put;
use certs::{KeySource, ParticipantCode, Pki, Validity};
use hub::delivery::{Deliverer, DeliveryConfig, HubTls, deposit_outbound};
use hub::http::Caller;
use hub::server::{ReloadingTls, RunningServer, spawn};
use hub::store::{DeliveryState, Timestamp};
use hub::wire::Receipt;

use crate::harness::{Hub, NewEndpoint, sha256};

#[derive(Default)]
struct PartnerState {
    puts: AtomicUsize,
    refuse_first: usize,
    received: Mutex<Vec<(String, String, Vec<u8>)>>,
}

/// The simulated partner.
struct Partner {
    pki: Pki,
    url: String,
    state: Arc<PartnerState>,
    _dir: tempfile::TempDir,
    _server: RunningServer,
}

impl Partner {
    async fn start(refuse_first: usize) -> Partner {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::init(dir.path(), "Partner city CA", 30).unwrap();
        pki.issue_server(&["127.0.0.1".into()], Validity::days(30).unwrap())
            .unwrap();
        let state = Arc::new(PartnerState {
            refuse_first,
            ..PartnerState::default()
        });
        let router = Router::new()
            .route("/v1/files/{name}", put(partner_upload))
            .with_state(state.clone());
        let tls = ReloadingTls::load(certs::ServerTlsFiles::of(&pki)).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = spawn(listener, Arc::new(tls), router, Default::default()).unwrap();
        Partner {
            url: format!("https://127.0.0.1:{}", server.local_addr.port()),
            pki,
            state,
            _dir: dir,
            _server: server,
        }
    }
}

async fn partner_upload(
    State(state): State<Arc<PartnerState>>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    body: Bytes,
) -> impl IntoResponse {
    let n = state.puts.fetch_add(1, Ordering::SeqCst) + 1;
    if n <= state.refuse_first {
        return (StatusCode::SERVICE_UNAVAILABLE, "busy, try later").into_response();
    }
    let receipt = Receipt {
        file_id: i64::try_from(n).unwrap(),
        name: name.clone(),
        sha256: sha256(&body),
        bytes: i64::try_from(body.len()).unwrap(),
        status: "received".into(),
        received_at: Timestamp::now(),
    };
    state
        .received
        .lock()
        .unwrap()
        .push((caller.0.participant.to_string(), name, body.to_vec()));
    (StatusCode::CREATED, axum::Json(receipt)).into_response()
}

fn fast() -> DeliveryConfig {
    DeliveryConfig {
        base_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
        max_attempts: 5,
        lease: Duration::from_secs(30),
        poll: Duration::from_millis(20),
    }
}

fn hub_tls(hub: &Hub) -> HubTls {
    HubTls {
        cert: hub.pki.server_cert_path(),
        key: hub.pki.server_key_path(),
        ca: hub.pki.ca_cert_path(),
    }
}

/// Registers the partner at the hub, with the client certificate the partner issued to the hub.
async fn register_partner(hub: &Hub, partner: &Partner) {
    let ours = partner
        .pki
        .issue_participant(
            &ParticipantCode::new("QDHUB").unwrap(),
            KeySource::Generate,
            Validity::days(30).unwrap(),
        )
        .unwrap();
    let cert_path = hub.dir.path().join("partner-client.crt");
    let key_path = hub.dir.path().join("partner-client.key");
    std::fs::write(&cert_path, ours.cert_pem).unwrap();
    std::fs::write(&key_path, ours.key_pem.unwrap()).unwrap();
    hub.register(
        "RIZHAO",
        Some(NewEndpoint {
            url: partner.url.clone(),
            ca_pem: partner.pki.ca_pem().unwrap(),
            cert_path: cert_path.display().to_string(),
            key_path: key_path.display().to_string(),
        }),
    )
    .await;
}

#[tokio::test]
async fn pushes_a_file_to_the_partner_retrying_after_a_refusal_and_never_twice() {
    let hub = Hub::start().await;
    let partner = Partner::start(1).await;
    register_partner(&hub, &partner).await;
    let content = b"settlement statement for RIZHAO".repeat(1000);
    let source = hub.local_file("stmt-20261122.xml", &content);
    let (file, new) = deposit_outbound(
        &hub.store,
        &hub.vault,
        "RIZHAO",
        "stmt-20261122.xml",
        &source,
        None,
    )
    .await
    .unwrap();
    assert!(new);
    let wake = Arc::new(tokio::sync::Notify::new());
    let worker = Deliverer::new(
        hub.store.clone(),
        hub.vault.clone(),
        fast(),
        hub_tls(&hub),
        wake.clone(),
    );

    // Attempt 1: the partner answers 503; the delivery waits for a retry.
    assert_eq!(worker.run_once().await.unwrap(), 1);
    let d = &hub.store.deliveries_of_file(file.id).await.unwrap()[0];
    assert_eq!((d.state, d.attempts), (DeliveryState::Pending, 1));
    assert!(d.last_error.as_deref().unwrap().contains("503"), "{d:?}");
    assert_eq!(worker.run_once().await.unwrap(), 0, "not due yet: backoff");

    // Attempt 2, after the backoff: delivered, the partner's receipt kept.
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(worker.run_once().await.unwrap(), 1);
    let d = &hub.store.deliveries_of_file(file.id).await.unwrap()[0];
    assert_eq!((d.state, d.attempts), (DeliveryState::Delivered, 2));
    assert!(d.remote_receipt.as_deref().unwrap().contains(&file.sha256));
    {
        let received = partner.state.received.lock().unwrap();
        assert_eq!(received.len(), 1);
        let (caller, name, body) = &received[0];
        assert_eq!(
            caller, "QDHUB",
            "the partner saw the certificate it issued to us"
        );
        assert_eq!(name, "stmt-20261122.xml");
        assert_eq!(body, &content);
    }

    // A restarted hub (a new worker on the same database) does not push it again, and
    // depositing the same content again queues nothing.
    let (_, new) = deposit_outbound(
        &hub.store,
        &hub.vault,
        "RIZHAO",
        "stmt-20261122.xml",
        &source,
        None,
    )
    .await
    .unwrap();
    assert!(!new);
    let restarted = Deliverer::new(
        hub.store.clone(),
        hub.vault.clone(),
        fast(),
        hub_tls(&hub),
        wake,
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(restarted.run_once().await.unwrap(), 0);
    assert_eq!(partner.state.puts.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_worker_wakes_for_a_new_file_and_gives_up_on_a_partner_that_never_accepts() {
    let hub = Hub::start().await;
    let partner = Partner::start(usize::MAX).await;
    register_partner(&hub, &partner).await;
    let wake = Arc::new(tokio::sync::Notify::new());
    let mut config = fast();
    config.max_attempts = 3;
    let worker = Deliverer::new(
        hub.store.clone(),
        hub.vault.clone(),
        config,
        hub_tls(&hub),
        wake.clone(),
    );
    let running = tokio::spawn(worker.run(Default::default()));
    let source = hub.local_file("blacklist.dat", b"card 1234 lost");
    let (file, _) = deposit_outbound(
        &hub.store,
        &hub.vault,
        "RIZHAO",
        "blacklist.dat",
        &source,
        Some(&wake),
    )
    .await
    .unwrap();
    let mut state = DeliveryState::Pending;
    for _ in 0..100 {
        state = hub.store.deliveries_of_file(file.id).await.unwrap()[0].state;
        if state == DeliveryState::Failed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running.abort();
    assert_eq!(state, DeliveryState::Failed);
    assert_eq!(partner.state.puts.load(Ordering::SeqCst), 3);
}

#[test]
fn backoff_doubles_up_to_the_cap() {
    let c = DeliveryConfig {
        base_delay: Duration::from_secs(5),
        max_delay: Duration::from_secs(60),
        ..DeliveryConfig::default()
    };
    let delays: Vec<u64> = (1..=6).map(|a| c.backoff(a).as_secs()).collect();
    assert_eq!(delays, [5, 10, 20, 40, 60, 60]);
}
