use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Timelike, Utc};
use hub::clearing::ClearingSettings;
use hub::on_both_backends;
use hub::scheduler::{JobContext, ScheduleConfig, Scheduler, check_late_files, run_locked};
use hub::store::{Direction, FileStatus, NewFile, NewParticipant, ParticipantScheme, Store};
use hub::vault::Vault;

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
        settlement_account: Some(hub::demo::setup::simulated_settlement_account(code)),
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
    let dir = tempfile::tempdir().unwrap();
    let ctx = JobContext::new(store.clone(), Vault::open(dir.path()).unwrap());
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
async fn the_cutoff_job_closes_the_day_at_its_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = hub::store::testing::TestDb::sqlite(dir.path())
        .await
        .unwrap();
    // A cut-off two seconds from now, local time at UTC+8.
    let mut clearing = ClearingSettings::default();
    let offset = clearing.hub.offset();
    let at = (Utc::now() + chrono::Duration::seconds(2)).with_timezone(&offset);
    clearing.hub.cutoff.time = at.time().with_nanosecond(0).unwrap();
    let day = at.date_naive();
    let mut ctx = JobContext::new(db.store.clone(), Vault::open(dir.path()).unwrap());
    ctx.clearing = Arc::new(clearing);
    let sched = Scheduler::start(ctx, &ScheduleConfig::default())
        .await
        .unwrap();
    assert!(
        db.store.closed_window(day).await.unwrap().is_none(),
        "nothing closes before its time"
    );
    // The window row is written first and the settlement outputs after it, in the same job
    // run: wait for the outputs too, not just the window.
    let mut closed = None;
    for _ in 0..60 {
        closed = db.store.closed_window(day).await.unwrap();
        if closed.is_some() && db.store.window_output(day, "pacs009", "-").await.unwrap() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let closed = closed.expect("the cut-off job closed the day's window at its time");
    assert_eq!(closed.day, day);
    // The whole day was closed through close_day: its settlement outputs were produced (an
    // empty day has no transfers, so no pacs.009 file: the schema wants at least one).
    assert!(db.store.window_output(day, "pacs009", "-").await.unwrap());
    assert!(
        !dir.path()
            .join("settlements")
            .join(day.to_string())
            .join(format!("pacs009_{day}.xml"))
            .exists()
    );
    sched.shutdown(std::time::Duration::from_secs(5)).await;
}
