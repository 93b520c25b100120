//! `hutong clear` and `hutong positions` as a user runs them.

use std::process::Command;

use hub::store::Timestamp;
use hub::store::testing::TestDb;

use crate::window::{file, participants};

fn hutong(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hutong"))
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap()
}

/// An SQLite data directory with QD and RZ registered and one accepted RZ file of `records`,
/// received on the 21st before the cut-off.
async fn rz_file_of_qd_cards(records: &[crate::window::Rec<'_>]) -> (tempfile::TempDir, TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::sqlite(dir.path()).await.unwrap();
    participants(&db.store, &["QD", "RZ"]).await;
    let received = Timestamp::from_datetime(
        chrono::DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
            .unwrap()
            .into(),
    );
    file(&db.store, "RZ", received, "accepted", records).await;
    (dir, db)
}

#[tokio::test]
async fn clear_twice_prints_the_same_result_and_writes_the_settlement_files_once() {
    let (dir, db) = rz_file_of_qd_cards(&[
        ("QD", "RZ", "local", "bus", "purchase", 200),
        ("QD", "RZ", "local", "retail", "purchase", 2450),
    ])
    .await;
    db.store.close().await;
    let fees = dir.path().join("fees.toml");
    std::fs::write(&fees, "[[fee]]\nindustry = \"retail\"\npayer = \"acquirer\"\npayee = \"issuer\"\nrate = \"0.0070\"\n").unwrap();
    let data = dir.path().to_str().unwrap();
    let args = [
        "clear",
        "--day",
        "2026-11-21",
        "--data-dir",
        data,
        "--fees",
        fees.to_str().unwrap(),
    ];

    let first = hutong(&args);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = hutong(&args);
    assert!(second.status.success());
    assert_eq!(
        first.stdout, second.stdout,
        "a second run prints the same result"
    );
    assert!(String::from_utf8_lossy(&second.stderr).contains("already closed"));

    let p: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(p["status"], "closed");
    let rz = p["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["code"] == "RZ")
        .unwrap();
    assert_eq!(
        rz["net_fen"],
        200 + 2450 - 17,
        "the worked example's 17 fen retail fee"
    );

    let settlements = dir.path().join("settlements/2026-11-21");
    assert!(settlements.join("pacs009_2026-11-21.xml").exists());
    for code in ["QD", "RZ"] {
        for ext in ["xml", "csv", "xlsx"] {
            assert!(
                settlements
                    .join(format!("STMT_2026-11-21_{code}.{ext}"))
                    .exists(),
                "{code} {ext}"
            );
        }
    }
    let out_files = std::fs::read_dir(dir.path().join("files/out/RZ"))
        .unwrap()
        .count();
    assert_eq!(
        out_files, 3,
        "RZ's outbox holds its three statement files, once"
    );

    let csv = hutong(&[
        "positions",
        "--day",
        "2026-11-21",
        "--data-dir",
        data,
        "--format",
        "csv",
    ]);
    assert!(csv.status.success());
    let text = String::from_utf8(csv.stdout).unwrap();
    assert!(
        text.starts_with("day,status,kind,code,counterparty"),
        "{text}"
    );
    // Money flows as directed pairs: QD (issuer) owes RZ (acquirer) the 2 purchases; RZ owes QD
    // the retail fee.
    assert!(
        text.lines()
            .any(|l| l == "2026-11-21,closed,pair,QD,RZ,2,2650,0,0,,,,"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l == "2026-11-21,closed,pair,RZ,QD,0,0,17,0,,,,"),
        "{text}"
    );
}

#[tokio::test]
async fn clear_before_the_cutoff_refuses_and_says_how_to_close_early() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::sqlite(dir.path()).await.unwrap();
    db.store.close().await;
    let out = hutong(&[
        "clear",
        "--day",
        "2099-01-01",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("stays open") && err.contains("has not passed"),
        "{err}"
    );
    let bad = hutong(&[
        "clear",
        "--day",
        "21/11/2026",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
}

#[tokio::test]
async fn outbound_writes_each_issuer_sides_package_once_for_a_closed_day_only() {
    let (dir, db) = rz_file_of_qd_cards(&[("QD", "RZ", "local", "bus", "purchase", 200)]).await;
    let data = dir.path().to_str().unwrap();
    let args = ["outbound", "--day", "2026-11-21", "--data-dir", data];

    let open = hutong(&args);
    assert_eq!(open.status.code(), Some(2), "the window is still open");
    assert!(String::from_utf8_lossy(&open.stderr).contains("hutong clear"));

    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    hub::clearing::close_window(
        &db.store,
        &hub::clearing::ClearingSettings::default(),
        day,
        Timestamp::now(),
        false,
    )
    .await
    .unwrap();
    db.store.close().await;

    let first = hutong(&args);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&first.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "QD's package, and nothing for RZ: {lines:?}"
    );
    assert_eq!(lines[0]["participant"], "QD");
    assert!(lines[0]["file_id"].as_i64().is_some(), "in QD's outbox");
    let again = hutong(&args);
    assert!(again.status.success());
    assert!(again.stdout.is_empty(), "written once");
}

#[tokio::test]
async fn a_hub_code_that_is_no_participant_code_is_refused_naming_the_flag() {
    let (dir, db) = rz_file_of_qd_cards(&[("QD", "RZ", "local", "bus", "purchase", 200)]).await;
    db.store.close().await;
    let data = dir.path().to_str().unwrap();
    for cmd in ["positions", "clear", "outbound"] {
        let out = hutong(&[
            cmd,
            "--day",
            "2026-11-21",
            "--data-dir",
            data,
            "--hub-code",
            "not a code!",
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(err.contains("--hub-code"), "{cmd}: {err}");
    }
    // Nothing was closed on the way.
    let out = hutong(&["positions", "--day", "2026-11-21", "--data-dir", data]);
    let p: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(p["status"], "open");
}
