use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use hub::on_both_backends;
use hub::scheduler::{
    JobBody, JobContext, ScheduleConfig, Scheduler, check_late_files, run_locked,
};
use hub::store::{Direction, FileStatus, NewFile, NewParticipant, ParticipantScheme, Store};

on_both_backends!(
    only_one_holder_gets_a_job_lock_until_it_is_released,
    a_job_that_finds_its_lock_taken_is_skipped,
    a_participant_silent_since_the_last_cutoff_is_reported_late_and_audited,
);

async fn only_one_holder_gets_a_job_lock_until_it_is_released(store: Store) {
    let first = store
        .try_job_lock("close-window:2026-11-21")
        .await
        .unwrap()
        .expect("free");
    assert!(
        store
            .try_job_lock("close-window:2026-11-21")
            .await
            .unwrap()
            .is_none()
    );
    let other = store.try_job_lock("cert-expiry").await.unwrap();
    assert!(other.is_some(), "another job's lock is independent");
    first.release().await;
    let again = store.try_job_lock("close-window:2026-11-21").await.unwrap();
    assert!(again.is_some(), "released locks can be taken again");
}

async fn a_job_that_finds_its_lock_taken_is_skipped(store: Store) {
    let held = store.try_job_lock("close-window").await.unwrap().unwrap();
    let ran = run_locked(&store, "close-window", async { Ok(42) })
        .await
        .unwrap();
    assert_eq!(ran, None);
    held.release().await;
    let ran = run_locked(&store, "close-window", async { Ok(42) })
        .await
        .unwrap();
    assert_eq!(ran, Some(42));
}

fn participant(code: &str) -> NewParticipant {
    NewParticipant {
        code: certs::ParticipantCode::new(code).unwrap(),
        scheme: ParticipantScheme::Scheme(card_standards::Scheme::Mot),
        name: code.into(),
        endpoint: None,
        endpoint_ca_pem: None,
        endpoint_cert_path: None,
        endpoint_key_path: None,
    }
}

async fn a_participant_silent_since_the_last_cutoff_is_reported_late_and_audited(store: Store) {
    store.add_participant(&participant("MOT")).await.unwrap();
    store.add_participant(&participant("RZ")).await.unwrap();
    store
        .record_file(&NewFile {
            direction: Direction::In,
            sender: Some("RZ".into()),
            addressee: None,
            name: "rz.xml".into(),
            sha256: "00".repeat(32),
            bytes: 1,
            status: FileStatus::Received,
            stored_path: "x".into(),
        })
        .await
        .unwrap();
    let ctx = JobContext {
        store: store.clone(),
        pki: None,
    };
    let since = Utc::now() - chrono::Duration::hours(1);
    let late = check_late_files(&ctx, &["MOT".to_string(), "RZ".to_string()], since)
        .await
        .unwrap();
    assert_eq!(late.len(), 1, "{late:?}");
    assert!(late[0].contains("MOT"));
    let audit = store.audit_entries(0, 100).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "file.late" && e.target.as_deref() == Some("MOT"))
    );

    // Nothing from RZ after a cut-off in the future either.
    let future = Utc.with_ymd_and_hms(2099, 1, 1, 0, 0, 0).unwrap();
    assert_eq!(
        check_late_files(&ctx, &["RZ".to_string()], future)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn the_cutoff_job_fires_at_its_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = hub::store::testing::TestDb::sqlite(dir.path())
        .await
        .unwrap();
    let fired = Arc::new(AtomicUsize::new(0));
    let counter = fired.clone();
    let body: JobBody = Arc::new(move |_ctx| {
        let counter = counter.clone();
        Box::pin(async move {
            counter.fetch_add(1, Ordering::SeqCst);
        })
    });
    // A cut-off two seconds from now, local time at UTC+8.
    let offset = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let at = (Utc::now() + chrono::Duration::seconds(2)).with_timezone(&offset);
    let config = ScheduleConfig {
        cutoff: at.format("%H:%M:%S").to_string(),
        ..ScheduleConfig::default()
    };
    let sched = Scheduler::start(
        JobContext {
            store: db.store.clone(),
            pki: None,
        },
        &config,
        body,
    )
    .await
    .unwrap();
    assert_eq!(
        fired.load(Ordering::SeqCst),
        0,
        "nothing fires before its time"
    );
    for _ in 0..50 {
        if fired.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        fired.load(Ordering::SeqCst),
        1,
        "the cut-off job ran once at its time"
    );
    sched.shutdown().await;
}
