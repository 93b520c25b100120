//! Outbound packages (下发包) of a closed window, read back with the adapters.

use std::io::BufReader;

use adapters::{Format, ReadOptions};
use card_standards::{CodeTables, Scheme};
use hub::clearing::{self, ClearingSettings};
use hub::store::testing::TestDb;
use hub::store::{ParticipantScheme, Timestamp};
use hub::vault::Vault;

use crate::window::{day, file_in_city, participants_of};

#[tokio::test]
async fn each_issuer_side_participant_gets_its_cards_records_in_its_own_format_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::sqlite(dir.path()).await.unwrap();
    participants_of(
        &db.store,
        &[
            ("QD", ParticipantScheme::Scheme(Scheme::Local)),
            ("MOT", ParticipantScheme::Scheme(Scheme::Mot)),
            ("RZ", ParticipantScheme::Partner),
        ],
    )
    .await;
    let received = Timestamp::from_datetime(
        chrono::DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
            .unwrap()
            .into(),
    );
    // At QD: two Beijing T-Union cards (→ MOT) and one on-us local card (→ nobody).
    file_in_city(
        &received_store(&db),
        "QD",
        received,
        "accepted",
        &[
            ("MOT", "QD", "mot", "bus", "purchase", 200),
            ("MOT", "QD", "mot", "metro", "purchase", 300),
        ],
        "1100",
    )
    .await;
    file_in_city(
        &received_store(&db),
        "QD",
        received,
        "accepted",
        &[("QD", "QD", "local", "bus", "purchase", 100)],
        "2660",
    )
    .await;
    // At RZ: a Qingdao local card (→ QD).
    file_in_city(
        &received_store(&db),
        "RZ",
        received,
        "accepted",
        &[("QD", "RZ", "local", "ferry", "purchase", 800)],
        "2660",
    )
    .await;

    let settings = ClearingSettings::default();
    let now = Timestamp::from_datetime(
        chrono::DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z")
            .unwrap()
            .into(),
    );
    clearing::close_window(&db.store, &settings, day(21), now, false)
        .await
        .unwrap();
    let vault = Vault::open(dir.path()).unwrap();
    let out =
        hub::outbound::produce_packages(&db.store, &vault, day(21), &Default::default(), None)
            .await
            .unwrap();
    let names: Vec<_> = out
        .iter()
        .map(|o| (o.participant.as_str(), o.name.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("MOT", "OUT_2026-11-21_MOT.dat"),
            ("QD", "OUT_2026-11-21_QD.csv")
        ]
    );

    let read = |path: &std::path::Path, format: Format| {
        let f = BufReader::new(std::fs::File::open(path).unwrap());
        let mut stream = adapters::open(
            format,
            f,
            ReadOptions {
                file: "pkg",
                tables: CodeTables::builtin(),
            },
        )
        .unwrap();
        let txs: Vec<_> = stream.by_ref().map(|r| r.unwrap()).collect();
        stream.finish().unwrap();
        txs
    };
    let mot = read(out[0].path.as_ref().unwrap(), Format::Mot);
    assert_eq!(
        mot.iter().map(|t| t.amount_fen).collect::<Vec<_>>(),
        vec![200, 300]
    );
    assert!(mot.iter().all(|t| t.scheme == Scheme::Mot));
    let qd = read(out[1].path.as_ref().unwrap(), Format::LocalCsv);
    assert_eq!(qd.len(), 1);
    assert_eq!(qd[0].amount_fen, 800);
    assert_eq!(qd[0].acceptance.acquirer, "RZ");

    let again =
        hub::outbound::produce_packages(&db.store, &vault, day(21), &Default::default(), None)
            .await
            .unwrap();
    assert!(
        again.is_empty(),
        "a package is produced once per window and participant"
    );
}

fn received_store(db: &TestDb) -> hub::store::Store {
    db.store.clone()
}

hub::on_both_backends!(
    a_window_stays_open_while_an_issuer_sides_package_cannot_carry_what_it_is_charged,
);

/// Issue 12, defect 1, at the close: a record charged to MOT that the T-Union exchange file
/// cannot carry (stored before MOT's format was the T-Union one, so ingest could not refuse
/// it) keeps the window open with the reason; once MOT's package format carries it, the window
/// closes and the package carries every transaction MOT is charged for.
async fn a_window_stays_open_while_an_issuer_sides_package_cannot_carry_what_it_is_charged(
    store: hub::store::Store,
) {
    participants_of(
        &store,
        &[
            ("QD", ParticipantScheme::Scheme(Scheme::Local)),
            ("MOT", ParticipantScheme::Scheme(Scheme::Mot)),
        ],
    )
    .await;
    let received = Timestamp::from_datetime(
        chrono::DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
            .unwrap()
            .into(),
    );
    file_in_city(
        &store,
        "QD",
        received,
        "accepted",
        &[
            ("MOT", "QD", "mot", "bus", "purchase", 200),
            ("MOT", "QD", "local", "bus", "purchase", 300),
        ],
        "1100",
    )
    .await;
    let now = Timestamp::from_datetime(
        chrono::DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z")
            .unwrap()
            .into(),
    );
    let settings = ClearingSettings::default();
    let err = clearing::close_window(&store, &settings, day(21), now, false)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("stays open") && text.contains("MOT") && text.contains("cannot carry"),
        "{text}"
    );
    assert!(store.closed_window(day(21)).await.unwrap().is_none());

    // MOT takes hutong-xml, which carries any record: the window closes, and its package
    // carries both transactions it is charged for.
    store
        .set_participant_format("MOT", Some(Format::HutongXml))
        .await
        .unwrap();
    clearing::close_window(&store, &settings, day(21), now, false)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::open(dir.path()).unwrap();
    let out = hub::outbound::produce_packages(&store, &vault, day(21), &Default::default(), None)
        .await
        .unwrap();
    assert_eq!(out.len(), 1);
    let f = BufReader::new(std::fs::File::open(out[0].path.as_ref().unwrap()).unwrap());
    let mut stream = adapters::open(Format::HutongXml, f, ReadOptions::new("pkg")).unwrap();
    let carried: Vec<i64> = stream.by_ref().map(|r| r.unwrap().amount_fen).collect();
    let summary = stream.finish().unwrap();
    assert_eq!(carried, vec![200, 300]);
    assert_eq!((summary.records, summary.total_fen), (2, 500));
    let charged = clearing::statement(&store, &Default::default(), day(21), "MOT")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(charged.total_debit_fen, summary.total_fen);
}
