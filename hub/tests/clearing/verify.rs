//! `hutong verify` on a closed day, as an operator runs it: it passes on the day as closed,
//! and fails (exit 1, naming the check and both figures) after each kind of tampering — on
//! SQLite and on PostgreSQL.
//!
//! The day: QD (a `local` participant, packages in `local-csv`) and RZ (a partner,
//! `hutong-xml`). RZ acquired two QD-card purchases of 200 and 2450 fen, QD one RZ-card
//! purchase of 300 fen: QD owes RZ 2650, RZ owes QD 300, so QD's net is −2350 and RZ's +2350.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use card_standards::Scheme;
use hub::clearing::ClearingSettings;
use hub::store::testing::{TestDb, execute};
use hub::store::{DbTarget, ParticipantScheme, Store, Timestamp};
use hub::vault::Vault;

use crate::window::{day, file_in_city, participants_of};

const DAY: &str = "2026-11-21";

/// A closed day on one backend, with its data directory.
struct ClosedDay {
    _dir: tempfile::TempDir,
    db: TestDb,
    data: PathBuf,
}

impl ClosedDay {
    /// SQLite in a temporary data directory, or PostgreSQL (`DATABASE_URL`) with one; `None`
    /// when PostgreSQL is asked for and not configured (never under `CI`).
    async fn new(postgres: bool) -> Option<ClosedDay> {
        let dir = tempfile::tempdir().unwrap();
        let db = if postgres {
            match TestDb::postgres().await.unwrap() {
                Some(db) => db,
                None => {
                    assert!(
                        std::env::var("CI").is_err(),
                        "DATABASE_URL must be set under CI"
                    );
                    eprintln!("DATABASE_URL is not set: PostgreSQL not tested");
                    return None;
                }
            }
        } else {
            TestDb::sqlite(dir.path()).await.unwrap()
        };
        let data = dir.path().to_path_buf();
        let day = ClosedDay {
            _dir: dir,
            db,
            data,
        };
        day.close().await;
        Some(day)
    }

    fn store(&self) -> &Store {
        &self.db.store
    }

    async fn close(&self) {
        let store = self.store();
        participants_of(
            store,
            &[
                ("QD", ParticipantScheme::Scheme(Scheme::Local)),
                ("RZ", ParticipantScheme::Partner),
            ],
        )
        .await;
        let received = Timestamp::from_datetime(
            chrono::DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
                .unwrap()
                .into(),
        );
        file_in_city(
            store,
            "RZ",
            received,
            "accepted",
            &[
                ("QD", "RZ", "local", "bus", "purchase", 200),
                ("QD", "RZ", "local", "ferry", "purchase", 2450),
            ],
            "2660",
        )
        .await;
        file_in_city(
            store,
            "QD",
            received,
            "accepted",
            &[("RZ", "QD", "local", "bus", "purchase", 300)],
            "2660",
        )
        .await;
        let now = Timestamp::from_datetime(
            chrono::DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z")
                .unwrap()
                .into(),
        );
        let vault = Vault::open_for(&self.data, store).unwrap();
        hub::day::close_day(
            store,
            &vault,
            &ClearingSettings::default(),
            day(21),
            now,
            false,
            None,
        )
        .await
        .unwrap();
    }

    /// `hutong verify --day DAY` on this day's storage, with `extra` arguments.
    fn verify(&self, extra: &[&str]) -> Output {
        self.verify_in(&self.data, extra)
    }

    /// `hutong verify --day DAY` on this day's database with the data directory `data`.
    fn verify_in(&self, data: &Path, extra: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hutong"));
        cmd.env_remove("DATABASE_URL")
            .args(["verify", "--day", DAY, "--data-dir"])
            .arg(data)
            .args(extra);
        if let DbTarget::Url(url) = &self.db.target {
            cmd.args(["--database", url]);
        }
        cmd.output().unwrap()
    }

    /// The outbox copy of an outbound file named `name`.
    async fn outbox_file(&self, name: &str) -> PathBuf {
        let stored = hub::store::testing::text(
            self.store(),
            &format!("SELECT stored_path FROM files WHERE direction = 'out' AND name = '{name}'"),
        )
        .await
        .unwrap()
        .unwrap();
        self.data.join(stored)
    }

    fn settlements_file(&self, name: &str) -> PathBuf {
        self.data.join("settlements").join(DAY).join(name)
    }
}

/// Replaces `from` by `to` once in the file at `path`.
fn rewrite(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.contains(from),
        "{} holds no {from:?}:\n{text}",
        path.display()
    );
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Asserts that verify failed with exit 1 and that its first disagreement is check `name`
/// with `expected` and `found`.
fn assert_fails_first_on(o: &Output, name: &str, expected: &str, found: &str) {
    let (out, err) = text(o);
    assert_eq!(o.status.code(), Some(1), "stdout:\n{out}\nstderr:\n{err}");
    let first = err
        .lines()
        .find(|l| l.contains("first disagreement"))
        .unwrap_or_else(|| panic!("no first disagreement named:\n{err}"));
    assert!(
        first.contains(&format!("{name}: expected {expected}, found {found}")),
        "{first}\nstdout:\n{out}"
    );
    assert!(out.contains(" failed\n"), "{out}");
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn on_sqlite() {
                    if let Some(d) = super::ClosedDay::new(false).await {
                        super::$name(d).await;
                    }
                }

                #[tokio::test]
                async fn on_postgres() {
                    if let Some(d) = super::ClosedDay::new(true).await {
                        super::$name(d).await;
                    }
                }
            }
        )*
    };
}

on_both!(
    verify_passes_on_a_day_as_it_was_closed,
    verify_fails_when_a_stored_record_amount_was_altered,
    verify_fails_when_a_statement_was_altered_on_disk,
    verify_fails_when_a_package_was_altered_on_disk,
    verify_fails_when_the_pacs009_file_was_altered,
    verify_fails_when_a_stored_position_was_altered,
    verify_fails_when_a_file_differs_from_the_digest_recorded_when_written,
);

/// Shared storage: a replica that did not close the day (its data directory empty) proves it
/// from the bodies in the database, the pacs.009 included.
#[tokio::test]
async fn verify_passes_from_another_replicas_empty_data_directory_on_postgres() {
    let Some(d) = ClosedDay::new(true).await else {
        return;
    };
    let elsewhere = d.data.join("another-replica");
    let o = d.verify_in(&elsewhere, &[]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "stdout:\n{out}\nstderr:\n{err}");
    for line in [
        "ok    pacs009.amounts: expected 4700 fen, found 4700 fen",
        "ok    package QD: expected 2 records, 2650 fen, found 2 records, 2650 fen",
        "ok    digest STMT_2026-11-21_QD.xlsx",
        "ok    digest pacs009_2026-11-21.xml",
    ] {
        assert!(out.contains(line), "no {line:?} in\n{out}");
    }
    assert!(
        elsewhere
            .join("settlements")
            .join(DAY)
            .join("pacs009_2026-11-21.xml")
            .exists()
    );
}

async fn verify_passes_on_a_day_as_it_was_closed(d: ClosedDay) {
    let o = d.verify(&[]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "stdout:\n{out}\nstderr:\n{err}");
    for line in [
        "ok    window.count: expected 3 records, found 3 records",
        "ok    window.amount: expected 2950 fen, found 2950 fen",
        "ok    positions.zero_sum: expected 0 fen, found 0 fen",
        "ok    statement QD xml: expected -2350 fen, found -2350 fen",
        "ok    statement RZ csv: expected 2350 fen, found 2350 fen",
        "ok    pacs009.count: expected 2, found 2",
        "ok    pacs009.amounts: expected 4700 fen, found 4700 fen",
        "ok    pacs009.ctrl_sum: expected 4700 fen, found 4700 fen",
        "ok    package QD: expected 2 records, 2650 fen, found 2 records, 2650 fen",
        "ok    package RZ: expected 1 records, 300 fen, found 1 records, 300 fen",
        "ok    audit.chain: expected intact, found intact",
        "ok    digest STMT_2026-11-21_QD.xlsx",
        "ok    digest OUT_2026-11-21_QD.csv",
        "ok    digest pacs009_2026-11-21.xml",
    ] {
        assert!(out.contains(line), "no {line:?} in\n{out}");
    }
    assert!(out.ends_with(" passed, 0 failed\n"), "{out}");

    let json = d.verify(&["--json"]);
    assert!(json.status.success());
    let proof: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(proof["failed"], 0);
    assert_eq!(proof["day"], DAY);
    assert!(proof["checks"].as_array().unwrap().len() > 20, "{proof}");
}

async fn verify_fails_when_a_stored_record_amount_was_altered(d: ClosedDay) {
    execute(
        d.store(),
        "UPDATE records SET amount_fen = amount_fen + 100 WHERE amount_fen = 2450",
    )
    .await
    .unwrap();
    assert_fails_first_on(&d.verify(&[]), "window.amount", "3050 fen", "2950 fen");
}

async fn verify_fails_when_a_statement_was_altered_on_disk(d: ClosedDay) {
    // QD's first entry is its 26.50 debit to RZ; the file now says 27.50.
    let path = d.outbox_file("STMT_2026-11-21_QD.xml").await;
    rewrite(
        &path,
        "<Amt Ccy=\"CNY\">26.50</Amt>",
        "<Amt Ccy=\"CNY\">27.50</Amt>",
    );
    assert_fails_first_on(&d.verify(&[]), "statement QD xml", "-2350 fen", "-2450 fen");
}

async fn verify_fails_when_a_package_was_altered_on_disk(d: ClosedDay) {
    // RZ's hutong-xml package: its trailer now claims one more fen.
    let path = d.outbox_file("OUT_2026-11-21_RZ.xml").await;
    rewrite(&path, "totalAmount=\"300\"", "totalAmount=\"301\"");
    let o = d.verify(&[]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("FAIL  package RZ: expected 1 records, 300 fen, found unreadable"),
        "{out}"
    );
    assert!(out.contains("FAIL  digest OUT_2026-11-21_RZ.xml"), "{out}");
    assert_fails_first_on(&o, "package RZ", "1 records, 300 fen", "unreadable");
}

async fn verify_fails_when_the_pacs009_file_was_altered(d: ClosedDay) {
    let path = d.settlements_file("pacs009_2026-11-21.xml");
    rewrite(
        &path,
        "<IntrBkSttlmAmt Ccy=\"CNY\">23.50</IntrBkSttlmAmt>\n      <Dbtr>",
        "<IntrBkSttlmAmt Ccy=\"CNY\">24.50</IntrBkSttlmAmt>\n      <Dbtr>",
    );
    assert_fails_first_on(&d.verify(&[]), "pacs009.amounts", "2350 fen", "2450 fen");
}

async fn verify_fails_when_a_stored_position_was_altered(d: ClosedDay) {
    execute(
        d.store(),
        "UPDATE window_positions SET net_fen = net_fen - 1 WHERE code = 'QD'",
    )
    .await
    .unwrap();
    let o = d.verify(&[]);
    let (out, _) = text(&o);
    assert!(
        out.contains("FAIL  positions.zero_sum: expected 0 fen, found -1 fen"),
        "{out}"
    );
    assert_fails_first_on(&o, "positions.pairs", "-2350 fen", "-2351 fen");
}

#[tokio::test]
async fn verify_refuses_a_day_that_is_not_closed() {
    let d = ClosedDay::new(false).await.unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_hutong"))
        .env_remove("DATABASE_URL")
        .args(["verify", "--day", "2026-11-22", "--data-dir"])
        .arg(&d.data)
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("2026-11-22 is not closed"), "{err}");
}

async fn verify_fails_when_a_file_differs_from_the_digest_recorded_when_written(d: ClosedDay) {
    // An XLSX statement holds no figure verify parses: only its digest shows the change.
    let recorded = hub::store::testing::text(
        d.store(),
        "SELECT sha256 FROM window_outputs WHERE kind = 'statement-xlsx' AND participant = 'RZ'",
    )
    .await
    .unwrap()
    .unwrap();
    let path = d.settlements_file("STMT_2026-11-21_RZ.xlsx");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.push(b'\n');
    std::fs::write(&path, &bytes).unwrap();
    let now = hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        &bytes,
    ));
    assert_fails_first_on(
        &d.verify(&[]),
        "digest STMT_2026-11-21_RZ.xlsx",
        &recorded,
        &now,
    );
}
