//! Storage, run against SQLite and (when `DATABASE_URL` is set) PostgreSQL: each test is one
//! async function, and `on_both_backends!` makes an `on_sqlite` and an `on_postgres` test of it.

use hub::store::{
    Direction, FileStatus, NewAuditEntry, NewFile, NewParticipant, ParticipantScheme, Store,
    StoreError, Timestamp,
};

use crate::on_both_backends;

on_both_backends!(
    participants_are_added_listed_and_unique,
    the_same_content_from_the_same_sender_is_recorded_once,
    a_file_status_moves_only_from_the_expected_status,
    a_delivery_is_queued_once_per_file_and_destination_and_claimed_once,
    a_failed_delivery_attempt_is_retried_later_and_gives_up_at_the_end,
    the_audit_chain_verifies_and_shows_tampering,
);

pub(crate) fn participant(code: &str, endpoint: Option<&str>) -> NewParticipant {
    NewParticipant {
        code: certs::ParticipantCode::new(code).unwrap(),
        scheme: ParticipantScheme::Partner,
        name: format!("{code} city card"),
        endpoint: endpoint.map(str::to_string),
        endpoint_ca_pem: None,
        endpoint_cert_path: None,
        endpoint_key_path: None,
        settlement_account: Some(hub::demo::setup::simulated_settlement_account(code)),
    }
}

fn inbound(sender: &str, sha: &str, name: &str) -> NewFile {
    NewFile {
        direction: Direction::In,
        sender: Some(sender.into()),
        addressee: None,
        name: name.into(),
        sha256: sha.into(),
        bytes: 10,
        status: FileStatus::Received,
        stored_path: format!("files/in/{sender}/{sha}"),
    }
}

fn outbound(addressee: &str, sha: &str) -> NewFile {
    NewFile {
        direction: Direction::Out,
        sender: None,
        addressee: Some(addressee.into()),
        name: "out.dat".into(),
        sha256: sha.into(),
        bytes: 10,
        status: FileStatus::Ready,
        stored_path: format!("files/out/{addressee}/{sha}"),
    }
}

async fn participants_are_added_listed_and_unique(store: Store) {
    store
        .add_participant(&participant("RIZHAO", None))
        .await
        .unwrap();
    let mut qdt = participant("QDT", Some("https://qdt.example:8443"));
    qdt.scheme = "mohurd".parse().unwrap();
    store.add_participant(&qdt).await.unwrap();
    let err = store
        .add_participant(&participant("QDT", None))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(_)), "{err}");
    let all = store.participants().await.unwrap();
    let codes: Vec<_> = all.iter().map(|p| p.code.as_str()).collect();
    assert_eq!(codes, ["QDT", "RIZHAO"]);
    assert_eq!(all[0].scheme.as_str(), "mohurd");
    assert_eq!(all[0].endpoint.as_deref(), Some("https://qdt.example:8443"));
    assert!(store.participant("NOBODY").await.unwrap().is_none());
}

async fn the_same_content_from_the_same_sender_is_recorded_once(store: Store) {
    store
        .add_participant(&participant("A", None))
        .await
        .unwrap();
    store
        .add_participant(&participant("B", None))
        .await
        .unwrap();
    let (first, new) = store
        .record_file(&inbound("A", "aa", "one.dat"))
        .await
        .unwrap();
    assert!(new);
    assert_eq!(first.status, FileStatus::Received);
    let (again, new) = store
        .record_file(&inbound("A", "aa", "renamed.dat"))
        .await
        .unwrap();
    assert!(!new);
    assert_eq!(again, first, "the first record comes back, name and all");
    let (other, new) = store
        .record_file(&inbound("B", "aa", "one.dat"))
        .await
        .unwrap();
    assert!(new, "another sender's identical file is its own file");
    assert_ne!(other.id, first.id);
    assert_eq!(store.files_of("A", Direction::In).await.unwrap().len(), 1);
    assert_eq!(
        store
            .inbound_by_digest("A", "aa")
            .await
            .unwrap()
            .map(|f| f.id),
        Some(first.id)
    );
    assert!(first.visible_to("A") && !first.visible_to("B"));
    // A file for an unknown participant is refused by the foreign key.
    assert!(
        store
            .record_file(&inbound("NOBODY", "bb", "x"))
            .await
            .is_err()
    );
}

async fn a_file_status_moves_only_from_the_expected_status(store: Store) {
    store
        .add_participant(&participant("A", None))
        .await
        .unwrap();
    let (file, _) = store.record_file(&inbound("A", "cc", "x")).await.unwrap();
    let queue = store
        .files_with_status(FileStatus::Received, 10)
        .await
        .unwrap();
    assert_eq!(queue.iter().map(|f| f.id).collect::<Vec<_>>(), [file.id]);
    let mut tx = store.begin().await.unwrap();
    assert!(
        hub::store::set_file_status(&mut tx, file.id, FileStatus::Received, FileStatus::Ready)
            .await
            .unwrap()
    );
    assert!(
        !hub::store::set_file_status(&mut tx, file.id, FileStatus::Received, FileStatus::Ready)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    assert!(
        store
            .files_with_status(FileStatus::Received, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_delivery_is_queued_once_per_file_and_destination_and_claimed_once(store: Store) {
    store
        .add_participant(&participant("P", Some("https://p:1")))
        .await
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    let (file, _) = hub::store::insert_file(&mut tx, &outbound("P", "dd"))
        .await
        .unwrap();
    assert!(
        hub::store::enqueue_delivery(&mut tx, file.id, "P", "https://p:1")
            .await
            .unwrap()
    );
    assert!(
        !hub::store::enqueue_delivery(&mut tx, file.id, "P", "https://p:1")
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let lease = std::time::Duration::from_secs(60);
    let now = Timestamp::now();
    let claimed = store.claim_due_deliveries(now, lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].attempts, 1);
    assert!(
        store
            .claim_due_deliveries(now, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    // After the lease lapses (the hub died mid-push), it is claimed again, as attempt 2.
    let later = now.plus(std::time::Duration::from_secs(61));
    let again = store.claim_due_deliveries(later, lease, 10).await.unwrap();
    assert_eq!(again[0].attempts, 2);
    assert!(
        !store.mark_delivered(again[0].id, 1, "{}").await.unwrap(),
        "stale claim"
    );
    assert!(
        store
            .mark_delivered(again[0].id, 2, "{\"file_id\":1}")
            .await
            .unwrap()
    );
    let far = later.plus(std::time::Duration::from_secs(3600));
    assert!(
        store
            .claim_due_deliveries(far, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let rows = store.deliveries_of_file(file.id).await.unwrap();
    assert_eq!(rows[0].state, hub::store::DeliveryState::Delivered);
    assert_eq!(rows[0].remote_receipt.as_deref(), Some("{\"file_id\":1}"));
}

async fn a_failed_delivery_attempt_is_retried_later_and_gives_up_at_the_end(store: Store) {
    store
        .add_participant(&participant("P", Some("https://p:1")))
        .await
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    let (file, _) = hub::store::insert_file(&mut tx, &outbound("P", "ee"))
        .await
        .unwrap();
    hub::store::enqueue_delivery(&mut tx, file.id, "P", "https://p:1")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let lease = std::time::Duration::from_secs(60);
    let now = Timestamp::now();
    let d = store
        .claim_due_deliveries(now, lease, 10)
        .await
        .unwrap()
        .remove(0);
    let retry_at = now.plus(std::time::Duration::from_secs(30));
    assert!(
        store
            .mark_attempt_failed(d.id, d.attempts, "refused", Some(retry_at))
            .await
            .unwrap()
    );
    assert_eq!(store.next_delivery_due().await.unwrap(), Some(retry_at));
    assert!(
        store
            .claim_due_deliveries(now, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let d = store
        .claim_due_deliveries(retry_at, lease, 10)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(d.attempts, 2);
    assert!(
        store
            .mark_attempt_failed(d.id, d.attempts, "refused again", None)
            .await
            .unwrap()
    );
    let rows = store.deliveries_of_file(file.id).await.unwrap();
    assert_eq!(rows[0].state, hub::store::DeliveryState::Failed);
    assert_eq!(rows[0].last_error.as_deref(), Some("refused again"));
    assert_eq!(store.next_delivery_due().await.unwrap(), None);
}

async fn the_audit_chain_verifies_and_shows_tampering(store: Store) {
    for i in 0..5 {
        let target = format!("/v1/files/{i}");
        store
            .audit(&NewAuditEntry {
                participant: Some("A"),
                action: "GET /v1/files/{name}",
                target: Some(&target),
                result: "200",
                detail: None,
            })
            .await
            .unwrap();
    }
    let check = store.verify_audit_chain().await.unwrap();
    assert!(check.is_intact(), "{check:?}");
    assert_eq!(check.entries, 5);
    let entries = store.audit_entries(0, 10).await.unwrap();
    assert_eq!(entries[0].prev_hash, hub::store::GENESIS_HASH);
    assert_eq!(entries[1].prev_hash, entries[0].hash);
    // Someone rewrites history: entry 3 now says 403.
    hub::store::testing::tamper_audit_result(&store, 3, "403")
        .await
        .unwrap();
    let check = store.verify_audit_chain().await.unwrap();
    assert_eq!(check.broken_at.map(|(seq, _)| seq), Some(3));
    assert_eq!(check.entries, 2);
}
