//! Closing settlement windows over stored records, on both backends.

use chrono::{DateTime, NaiveDate, Utc};
use hub::clearing::{self, ClearingError, ClearingSettings};
use hub::on_both_backends;
use hub::store::clearing::{NewAdjustment, insert_adjustment};
use hub::store::{
    Direction, FileStatus, NewFile, NewParticipant, ParticipantScheme, Store, Timestamp,
};
use reconciliation::FeeSchedule;

on_both_backends!(
    a_window_takes_the_files_received_before_its_cutoff_and_positions_sum_to_zero,
    closing_a_window_again_changes_nothing_and_returns_the_same_figures,
    a_late_file_goes_to_the_next_window_and_a_closed_window_never_changes,
    an_adjustment_clears_in_the_next_window_that_closes,
    a_failed_check_leaves_the_window_open_with_nothing_marked,
    a_window_cannot_close_before_its_cutoff_unless_asked,
    rejected_and_unprocessed_files_stay_out_of_windows,
);

pub(crate) fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

fn at(s: &str) -> Timestamp {
    Timestamp::from_datetime(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
}

pub(crate) async fn participants(store: &Store, codes: &[&str]) {
    let partners: Vec<_> = codes
        .iter()
        .map(|c| (*c, ParticipantScheme::Partner))
        .collect();
    participants_of(store, &partners).await;
}

/// Registers each (code, scheme) with the demo's made-up settlement account.
pub(crate) async fn participants_of(store: &Store, list: &[(&str, ParticipantScheme)]) {
    for (code, scheme) in list {
        store
            .add_participant(&NewParticipant {
                code: certs::ParticipantCode::new(code).unwrap(),
                scheme: *scheme,
                name: code.to_string(),
                endpoint: None,
                endpoint_ca_pem: None,
                endpoint_cert_path: None,
                endpoint_key_path: None,
                settlement_account: Some(hub::demo::setup::simulated_settlement_account(code)),
            })
            .await
            .unwrap();
    }
}

/// One record: (issuer participant, acquirer, scheme, industry, kind, amount).
pub(crate) type Rec<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, i64);

/// Stores an inbound file of `sender` in `status`, received at `received`, with `records`.
pub(crate) async fn file(
    store: &Store,
    sender: &str,
    received: Timestamp,
    status: &str,
    records: &[Rec<'_>],
) -> i64 {
    file_in_city(store, sender, received, status, records, "2660").await
}

/// [`file`], with the cards' issuer city code. The records are stored the way ingest stores
/// them (`hub::store::testing::store_accepted`), then the file is given its final status.
pub(crate) async fn file_in_city(
    store: &Store,
    sender: &str,
    received: Timestamp,
    status: &str,
    records: &[Rec<'_>],
    city: &str,
) -> i64 {
    use card_standards::{
        Acceptance, CanonicalTx, CardMedium, CardType, CodeTables, IssuerId, Scheme, TxType,
    };
    let mut name = [0u8; 8];
    aws_lc_rs::rand::fill(&mut name).unwrap();
    let (f, _) = store
        .record_file(&NewFile {
            direction: Direction::In,
            sender: Some(sender.into()),
            addressee: None,
            name: format!("{}.dat", hex::encode(name)),
            sha256: hex::encode([name, name, name, name].concat()),
            bytes: 1,
            status: FileStatus::Received,
            stored_path: "x".into(),
        })
        .await
        .unwrap();
    let id = f.id;
    let mut txs = Vec::new();
    for (i, (issuer, acquirer, scheme, industry, kind, amount)) in records.iter().enumerate() {
        let scheme: Scheme = scheme.parse().unwrap();
        let tx = CanonicalTx {
            scheme,
            issuer: IssuerId {
                issuer_code: "0101".parse().unwrap(),
                city_code: city.parse().unwrap(),
            },
            card_serial: "00000000000000000001".parse().unwrap(),
            card_type: CardType::Adult,
            card_type_raw: CodeTables::builtin()
                .card_type_code(scheme, CardType::Adult)
                .unwrap()
                .to_string(),
            medium: CardMedium::Cpu,
            tx_type: if *kind == "load" {
                TxType::EP_LOAD
            } else {
                TxType::EP_PURCHASE
            },
            amount_fen: *amount,
            balance_before_fen: 10_000,
            card_seq: i as u16,
            terminal: "000001000050".parse().unwrap(),
            terminal_seq: (id as u32) * 10_000 + i as u32,
            tx_time: chrono::NaiveDate::from_ymd_opt(2026, 11, 20)
                .unwrap()
                .and_hms_opt(8, 0, 0)
                .unwrap(),
            key_version: 1,
            alg_id: 0,
            tac: Some("0A0B0C0D".parse().unwrap()),
            auth_code: None,
            acceptance: Acceptance {
                acquirer: acquirer.to_string(),
                operator: None,
                industry: industry.parse().unwrap(),
                line: None,
                station: None,
                vehicle: None,
            },
            provenance: None,
        };
        txs.push((tx, *issuer));
    }
    hub::store::testing::store_accepted(store, id, &txs)
        .await
        .unwrap();
    hub::store::testing::set_received(store, id, received, Some(status))
        .await
        .unwrap();
    id
}

/// QD and RZ registered, and one accepted RZ file (received on the 21st before the cut-off)
/// with a 200-fen bus ride on a QD card.
async fn a_ride_of_200(store: &Store) {
    participants(store, &["QD", "RZ"]).await;
    file(
        store,
        "RZ",
        at(BEFORE_21),
        "accepted",
        &[("QD", "RZ", "local", "bus", "purchase", 200)],
    )
    .await;
}

fn settings() -> ClearingSettings {
    ClearingSettings {
        fees: FeeSchedule::from_toml(
            "[[fee]]\npayer = \"acquirer\"\npayee = \"hub\"\nrate = \"0.0010\"\n",
        )
        .unwrap(),
        ..ClearingSettings::default()
    }
}

/// Cut-off of 21 Nov at 23:00 +08:00 is 15:00 UTC.
const BEFORE_21: &str = "2026-11-21T10:00:00Z";
const AFTER_21: &str = "2026-11-21T15:30:00Z";
const LATER: &str = "2026-11-23T00:00:00Z";

async fn a_window_takes_the_files_received_before_its_cutoff_and_positions_sum_to_zero(
    store: Store,
) {
    participants(&store, &["QD", "RZ", "MOT"]).await;
    file(
        &store,
        "RZ",
        at(BEFORE_21),
        "accepted",
        &[
            ("QD", "RZ", "local", "bus", "purchase", 200),
            ("QD", "RZ", "local", "bus", "purchase", 300),
        ],
    )
    .await;
    file(
        &store,
        "QD",
        at(BEFORE_21),
        "partially_accepted",
        &[
            ("MOT", "QD", "mot", "metro", "purchase", 400),
            ("RZ", "QD", "local", "bus", "load", 5000),
        ],
    )
    .await;
    file(
        &store,
        "QD",
        at(AFTER_21),
        "accepted",
        &[("MOT", "QD", "mot", "metro", "purchase", 999)],
    )
    .await;
    let s = settings();
    let closed = clearing::close_window(&store, &s, day(21), at(LATER), false)
        .await
        .unwrap();
    assert!(closed.newly_closed);
    assert_eq!((closed.window.tx_count, closed.window.file_count), (4, 2));
    assert_eq!(closed.window.tx_amount_fen, 200 + 300 + 400 + 5000);
    assert_eq!(closed.window.cutoff_at, at("2026-11-21T15:00:00Z"));

    let p = clearing::positions(&store, &s, day(21)).await.unwrap();
    assert_eq!(p.status, "closed");
    assert_eq!(
        p.clearing
            .participants
            .iter()
            .map(|x| x.net_fen)
            .sum::<i64>(),
        0
    );
    let net = |code: &str| {
        p.clearing
            .participants
            .iter()
            .find(|x| x.code == code)
            .unwrap()
            .net_fen
    };
    // QD owes RZ 500 for rides on QD cards in Rizhao, and 5000 for the load of an RZ card at a
    // QD recharge point (QD took the cash); MOT owes QD 400 for a metro ride.
    // Fees 0.1% paid by acquirers: RZ on 500 → 0.5 → 1 fen; QD on 5400 → 5.4 → 5 fen.
    assert_eq!(net("RZ"), 500 + 5000 - 1);
    assert_eq!(net("MOT"), -400);
    assert_eq!(net("QD"), -500 - 5000 + 400 - 5);
    assert_eq!(net("HUB"), 6);

    // The file after the cut-off is the next day's.
    let next = clearing::positions(&store, &s, day(22)).await.unwrap();
    assert_eq!(next.status, "open");
    assert_eq!(next.clearing.tx_amount_fen, 999);
}

async fn closing_a_window_again_changes_nothing_and_returns_the_same_figures(store: Store) {
    a_ride_of_200(&store).await;
    let s = settings();
    let first = clearing::close_window(&store, &s, day(21), at(LATER), false)
        .await
        .unwrap();
    let p1 =
        serde_json::to_string(&clearing::positions(&store, &s, day(21)).await.unwrap()).unwrap();
    // Another file for that day arrives late; a second close changes nothing.
    file(
        &store,
        "RZ",
        at(BEFORE_21),
        "accepted",
        &[("QD", "RZ", "local", "bus", "purchase", 700)],
    )
    .await;
    let second = clearing::close_window(&store, &s, day(21), at(LATER), false)
        .await
        .unwrap();
    assert!(!second.newly_closed);
    assert_eq!(first.window, second.window);
    let p2 =
        serde_json::to_string(&clearing::positions(&store, &s, day(21)).await.unwrap()).unwrap();
    assert_eq!(p1, p2);
}

async fn a_late_file_goes_to_the_next_window_and_a_closed_window_never_changes(store: Store) {
    a_ride_of_200(&store).await;
    let s = settings();
    clearing::close_window(&store, &s, day(21), at("2026-11-21T16:00:00Z"), false)
        .await
        .unwrap();
    // Received before the 21st's cut-off but only accepted (ingested) after it closed.
    file(
        &store,
        "RZ",
        at(BEFORE_21),
        "accepted",
        &[("QD", "RZ", "local", "bus", "purchase", 700)],
    )
    .await;
    let closed22 = clearing::close_window(&store, &s, day(22), at(LATER), false)
        .await
        .unwrap();
    assert_eq!(
        closed22.window.tx_amount_fen, 700,
        "the late record is in the next window"
    );
    let p21 = clearing::positions(&store, &s, day(21)).await.unwrap();
    assert_eq!(
        p21.clearing.tx_amount_fen, 200,
        "the closed window is as it was"
    );
}

async fn an_adjustment_clears_in_the_next_window_that_closes(store: Store) {
    a_ride_of_200(&store).await;
    let s = settings();
    clearing::close_window(&store, &s, day(21), at("2026-11-21T16:00:00Z"), false)
        .await
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    let adj = NewAdjustment {
        reference: "ADJ-1".into(),
        payer: "RZ".into(),
        payee: "QD".into(),
        amount_fen: 200,
        reason: "duplicate reversed".into(),
        source: "discrepancy:1".into(),
    };
    assert!(
        insert_adjustment(&mut tx, &adj, at("2026-11-22T01:00:00Z"))
            .await
            .unwrap()
    );
    assert!(
        !insert_adjustment(&mut tx, &adj, at("2026-11-22T01:00:00Z"))
            .await
            .unwrap(),
        "a reference is used once"
    );
    tx.commit().await.unwrap();
    clearing::close_window(&store, &s, day(22), at(LATER), false)
        .await
        .unwrap();
    let p = clearing::positions(&store, &s, day(22)).await.unwrap();
    assert_eq!(p.clearing.adjustments.len(), 1);
    let pair = p
        .clearing
        .pairs
        .iter()
        .find(|x| x.payer == "RZ" && x.payee == "QD")
        .unwrap();
    assert_eq!(pair.adjustment_fen, 200);
    let qd = p
        .clearing
        .participants
        .iter()
        .find(|x| x.code == "QD")
        .unwrap();
    assert_eq!(qd.net_fen, 200);
    let stmt = clearing::statement(&store, &Default::default(), day(22), "QD")
        .await
        .unwrap()
        .unwrap();
    assert!(
        stmt.lines
            .iter()
            .any(|l| l.reference == "ADJ-1" && l.credit_fen == 200),
        "the statement shows the adjustment line"
    );
}

async fn a_failed_check_leaves_the_window_open_with_nothing_marked(store: Store) {
    participants(&store, &["QD", "RZ"]).await;
    // A negative amount makes clearing refuse the window.
    file(
        &store,
        "RZ",
        at(BEFORE_21),
        "accepted",
        &[("QD", "RZ", "local", "bus", "purchase", -5)],
    )
    .await;
    let s = settings();
    let err = clearing::close_window(&store, &s, day(21), at(LATER), false)
        .await
        .unwrap_err();
    assert!(matches!(err, ClearingError::CheckFailed { .. }), "{err}");
    assert!(err.to_string().contains("stays open"), "{err}");
    assert!(store.closed_window(day(21)).await.unwrap().is_none());
    let p = clearing::positions(&store, &s, day(22)).await;
    assert!(
        p.is_err(),
        "the file is still unwindowed, so the next day would take it"
    );
}

async fn a_window_cannot_close_before_its_cutoff_unless_asked(store: Store) {
    a_ride_of_200(&store).await;
    let s = settings();
    let now = at("2026-11-21T12:00:00Z");
    let err = clearing::close_window(&store, &s, day(21), now, false)
        .await
        .unwrap_err();
    assert!(matches!(err, ClearingError::TooEarly { .. }), "{err}");
    let closed = clearing::close_window(&store, &s, day(21), now, true)
        .await
        .unwrap();
    assert_eq!(
        closed.window.cutoff_at, now,
        "an early close records when it really closed"
    );
    assert_eq!(closed.window.tx_amount_fen, 200);
}

async fn rejected_and_unprocessed_files_stay_out_of_windows(store: Store) {
    participants(&store, &["QD", "RZ"]).await;
    file(&store, "RZ", at(BEFORE_21), "rejected", &[]).await;
    file(&store, "RZ", at(BEFORE_21), "received", &[]).await;
    file(
        &store,
        "RZ",
        at(BEFORE_21),
        "accepted",
        &[("QD", "RZ", "local", "bus", "purchase", 200)],
    )
    .await;
    let closed = clearing::close_window(&store, &settings(), day(21), at(LATER), false)
        .await
        .unwrap();
    assert_eq!(closed.window.file_count, 1);
}
