//! Partners act on their dispute cases over real mutual TLS: a hub on 127.0.0.1 with a fresh
//! PKI, participants' certificates, the partner API.

use certs::{KeySource, ParticipantCode, Pki, Validity};
use hub::app::{AppSettings, Application, StoreChoice};
use hub::reconcile::{self, ReconcileSettings};
use hub::store::testing::TestDb;
use reconciliation::dispute::Stage;
use serde_json::{Value, json};

use crate::data::{at, day, world};

fn client(pki: &Pki, code: &str) -> reqwest::Client {
    let issued = pki
        .issue_participant(
            &ParticipantCode::new(code).unwrap(),
            KeySource::Generate,
            Validity::days(30).unwrap(),
        )
        .unwrap();
    let ca = pki.ca_pem().unwrap();
    let key = issued.key_pem.unwrap();
    let tls = certs::client_config(
        ca.as_bytes(),
        Some((issued.cert_pem.as_bytes(), key.as_bytes())),
    )
    .unwrap();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap()
}

#[tokio::test]
async fn partners_list_read_add_evidence_and_answer_their_cases_over_mtls_and_nobody_elses() {
    certs::install_default_provider();
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::from_env(dir.path()).await.unwrap();
    let store = db.store.clone();
    let w = world(&store).await;
    reconcile::reconcile_day(
        &store,
        &w.vault,
        &ReconcileSettings::default(),
        day(21),
        at("2026-11-22T03:00:00Z"),
        None,
    )
    .await
    .unwrap();
    let pki = Pki::init(&dir.path().join("pki"), "Test hub CA", 30).unwrap();
    pki.issue_server(&["127.0.0.1".into()], Validity::days(30).unwrap())
        .unwrap();
    let mut settings = AppSettings::new(
        StoreChoice::Open(store.clone()),
        w.vault.data_dir().to_path_buf(),
        pki.dir().to_path_buf(),
    );
    settings.workers.ingest = false;
    settings.workers.delivery = false;
    settings.workers.scheduler = false;
    let app = Application::build(settings).await.unwrap();
    let url = app.api_url();
    let (mot, qd, rz) = (client(&pki, "MOT"), client(&pki, "QD"), client(&pki, "RZ"));

    // MOT sees its one case (the rejected record: MOT v QD); RZ sees its two, not MOT's.
    let list: Vec<Value> = mot
        .get(format!("{url}/v1/disputes"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    let id = list[0]["id"].as_i64().unwrap();
    assert_eq!(
        (list[0]["claimant"].as_str(), list[0]["respondent"].as_str()),
        (Some("MOT"), Some("QD"))
    );
    let rz_list: Vec<Value> = rz
        .get(format!("{url}/v1/disputes"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rz_list.len(), 2);
    assert_eq!(
        rz.get(format!("{url}/v1/disputes/{id}"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let r = rz
        .post(format!("{url}/v1/disputes/{id}/actions"))
        .json(&json!({"action": "accept"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // QD (respondent) uploads evidence: stored with its SHA-256, downloadable by the parties.
    let evidence = b"terminal log: transaction 1003 completed, TAC 0A0B0C0D";
    let r = qd
        .put(format!("{url}/v1/disputes/{id}/evidence/terminal-log.txt"))
        .body(evidence.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let case: Value = r.json().await.unwrap();
    let sha = hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        evidence,
    ));
    assert_eq!(case["evidence"][0]["sha256"].as_str(), Some(sha.as_str()));
    assert_eq!(case["evidence"][0]["added_by"].as_str(), Some("QD"));
    let got = mot
        .get(format!("{url}/v1/disputes/{id}/evidence-files/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.headers()["x-hutong-sha256"].to_str().unwrap(), sha);
    assert_eq!(got.bytes().await.unwrap().as_ref(), evidence);

    // QD proposes; QD cannot accept its own proposal (409); MOT accepts: decided.
    let r = qd
        .post(format!("{url}/v1/disputes/{id}/actions"))
        .json(&json!({"action": "propose", "payer": "QD", "payee": "MOT", "amount_fen": 300}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = qd
        .post(format!("{url}/v1/disputes/{id}/actions"))
        .json(&json!({"action": "accept"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let r = mot
        .post(format!("{url}/v1/disputes/{id}/actions"))
        .json(&json!({"action": "accept"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let case: Value = r.json().await.unwrap();
    assert_eq!(case["stage"].as_str(), Some("accepted"));
    assert_eq!(case["outcome"]["amount_fen"].as_i64(), Some(300));
    let c = store.case(id).await.unwrap().unwrap();
    assert_eq!(c.case.stage, Stage::Accepted);
    let who: Vec<_> = c
        .case
        .history
        .iter()
        .map(|e| (e.actor.as_str(), e.action.as_str()))
        .collect();
    assert_eq!(
        who,
        vec![
            ("system", "open"),
            ("QD", "add_evidence"),
            ("QD", "propose"),
            ("MOT", "accept")
        ]
    );
    assert_eq!(
        store
            .adjustment_window(&format!("ADJ-CASE-{id}"))
            .await
            .unwrap(),
        Some(None)
    );
    // Arbitration is not a partner's to send.
    let r = mot
        .post(format!("{url}/v1/disputes/{id}/actions"))
        .json(&json!({"action": "arbitrate", "payer": "QD", "payee": "MOT", "amount_fen": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Each partner lists the discrepancies that involve it.
    let mine: Vec<Value> = rz
        .get(format!("{url}/v1/discrepancies?day=2026-11-21"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(mine.iter().all(|d| {
        d["participants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "RZ")
    }));
    assert_eq!(mine.len(), 4, "gap, clash, chain break, late");
    // Every request is audited with the participant.
    let audit = store.audit_entries(0, 10_000).await.unwrap();
    assert!(audit.iter().any(|e| e.participant.as_deref() == Some("RZ")
        && e.action.starts_with("GET /v1/disputes/{id}")
        && e.result == "403"));
    assert!(
        audit
            .iter()
            .any(|e| e.action == "dispute.accept" && e.participant.as_deref() == Some("MOT"))
    );
}
