//! Reconciliation on both backends: every discrepancy type from crafted data, idempotency,
//! the resolution rules, adjustments clearing in the next window, the dispute lifecycle with
//! its deadlines.

use std::collections::BTreeMap;

use hub::clearing::{self, ClearingSettings};
use hub::disputes::{self, Actor, CaseError};
use hub::on_both_backends;
use hub::reconcile::{self, ReconcileSettings, ResultsOutcome};
use hub::store::reconcile::{Discrepancy, DiscrepancyFilter, DiscrepancyStatus};
use hub::store::{Direction, StaffRole, Store};
use reconciliation::DiscrepancyType as T;
use reconciliation::dispute::{Action, Proposal, Stage};

use crate::data::{Rec, at, close, day, file, result_file, upload, world};

on_both_backends!(
    every_discrepancy_type_is_found_from_crafted_data_and_stored_once,
    the_rules_decide_what_is_certain_and_adjustments_clear_in_the_next_window,
    a_dispute_goes_from_claim_to_ruling_to_closed_with_every_step_recorded,
    silence_past_a_deadline_concedes_and_the_default_outcome_becomes_an_adjustment,
    a_missing_record_is_resent_once_then_disputed_if_still_missing,
    a_result_file_that_lies_about_its_sender_or_totals_is_refused_whole,
    a_rejected_record_fills_the_counter_gap_it_would_otherwise_leave,
    a_partner_answering_in_its_own_formats_result_layout_is_matched_the_same_way,
);

fn by_type(items: &[Discrepancy]) -> BTreeMap<T, Vec<&Discrepancy>> {
    let mut m: BTreeMap<T, Vec<&Discrepancy>> = BTreeMap::new();
    for d in items {
        m.entry(d.kind).or_default().push(d);
    }
    m
}

fn only<'a>(m: &'a BTreeMap<T, Vec<&'a Discrepancy>>, t: T) -> &'a Discrepancy {
    let v = m.get(&t).unwrap_or_else(|| panic!("no {t}"));
    assert_eq!(v.len(), 1, "{t}: {v:#?}");
    v[0]
}

const NOW: &str = "2026-11-22T03:00:00Z";

async fn every_discrepancy_type_is_found_from_crafted_data_and_stored_once(store: Store) {
    let w = world(&store).await;
    let s = ReconcileSettings::default();
    let summary = reconcile::reconcile_day(&store, &w.vault, &s, day(21), at(NOW), None)
        .await
        .unwrap();
    assert!(
        matches!(summary.result_files.as_slice(), [ResultsOutcome::Stored(f)] if f.results == 8)
    );
    assert_eq!(summary.found.awaiting_results, vec!["QD".to_string()]);
    assert_eq!(summary.found.partners[0].sent, 7);
    let all = store
        .discrepancies(&DiscrepancyFilter {
            day: Some(day(21)),
            ..Default::default()
        })
        .await
        .unwrap();
    let m = by_type(&all);
    assert_eq!(
        m.keys().copied().collect::<Vec<_>>(),
        T::ALL.to_vec(),
        "every type is found: {all:#?}"
    );
    let id = |n: &str| w.ids[n];
    assert_eq!(only(&m, T::MissingAtPartner).records, vec![id("missing")]);
    assert_eq!(only(&m, T::MissingAtPartner).amount_fen, 600);
    let altered = only(&m, T::AmountMismatch);
    assert_eq!(
        (altered.records.clone(), altered.amount_fen),
        (vec![id("altered")], 50)
    );
    assert!(
        altered.files.contains(&w.result_file),
        "names the result file"
    );
    assert_eq!(only(&m, T::RejectedByIssuer).records, vec![id("rejected")]);
    assert!(only(&m, T::RejectedByIssuer).detail.contains("E17"));
    assert_eq!(only(&m, T::TacInvalid).records, vec![id("tac")]);
    assert_eq!(only(&m, T::Blacklisted).records, vec![id("blacklisted")]);
    assert_eq!(only(&m, T::Duplicate).records, vec![id("repeated")]);
    let hub_missing = only(&m, T::MissingAtHub);
    assert!(hub_missing.records.is_empty());
    assert_eq!(hub_missing.amount_fen, 900);
    assert_eq!(hub_missing.scheme.as_deref(), Some("mot"));
    let total = only(&m, T::TotalMismatch);
    assert_eq!(
        total.amount_fen,
        4650 - 3500,
        "declared 4650 fen, sent 3500"
    );
    assert_eq!(total.participants, vec!["MOT".to_string()]);
    let gap = only(&m, T::CounterGap);
    assert_eq!(gap.records, vec![id("gap_a"), id("gap_b")]);
    let clash = only(&m, T::CounterClash);
    assert_eq!(clash.records, vec![id("clone_a"), id("clone_b")]);
    assert_eq!(clash.participants, vec!["QD".to_string(), "RZ".to_string()]);
    let chain = only(&m, T::BalanceChainBreak);
    assert_eq!(
        (chain.records.clone(), chain.amount_fen),
        (vec![id("chain_a"), id("chain_b")], 4100)
    );
    let late = only(&m, T::LatePresentment);
    assert_eq!(
        (late.records.clone(), late.amount_fen),
        (vec![id("late")], 120)
    );

    // Idempotent: the same day again stores nothing new and decides nothing new.
    let again = reconcile::reconcile_day(&store, &w.vault, &s, day(21), at(NOW), None)
        .await
        .unwrap();
    assert!(again.found.new.is_empty(), "{:?}", again.found.new);
    assert_eq!(again.found.known, all.len());
    assert!(again.resolved.decided.is_empty());
    assert!(
        again.result_files.is_empty(),
        "the result file was stored once"
    );
    let after = store
        .discrepancies(&DiscrepancyFilter::default())
        .await
        .unwrap();
    assert_eq!(after.len(), all.len());

    // The card audit's findings are not stored again by the next day's reconciliation.
    file(
        &store,
        "RZ",
        at("2026-11-22T02:00:00Z"),
        &[{
            let mut r = Rec::local(12, 6, 1_850, 100, 40);
            r.time = crate::data::local(22, 9, 0);
            r
        }],
    )
    .await;
    close(&store, &w.vault, 22, at("2026-11-22T16:00:00Z")).await;
    let next = reconcile::reconcile_day(&store, &w.vault, &s, day(22), at(NOW), None)
        .await
        .unwrap();
    assert_eq!(next.found.cards, 1);
    assert_eq!(
        next.found.audit_records, 3,
        "the clone's history is read again"
    );
    assert!(next.found.new.is_empty(), "the clash is not stored twice");
}

async fn the_rules_decide_what_is_certain_and_adjustments_clear_in_the_next_window(store: Store) {
    let w = world(&store).await;
    let s = ReconcileSettings::default();
    let summary = reconcile::reconcile_day(&store, &w.vault, &s, day(21), at(NOW), None)
        .await
        .unwrap();
    let all = store.discrepancies(&Default::default()).await.unwrap();
    let m = by_type(&all);
    let decided = |t: T| {
        let d = only(&m, t);
        (d.status, d.rule.clone().unwrap_or_default())
    };
    use DiscrepancyStatus::*;
    assert_eq!(
        decided(T::TacInvalid),
        (Resolved, "chargeback_to_acquirer".into())
    );
    assert_eq!(
        decided(T::Blacklisted),
        (Resolved, "chargeback_to_acquirer".into())
    );
    assert_eq!(
        decided(T::Duplicate),
        (Resolved, "chargeback_to_acquirer".into())
    );
    assert_eq!(
        decided(T::AmountMismatch),
        (Resolved, "write_off_below_threshold".into())
    );
    assert_eq!(
        decided(T::MissingAtPartner),
        (Resent, "resend_missing".into())
    );
    assert_eq!(decided(T::CounterGap), (Monitoring, "monitor".into()));
    assert_eq!(decided(T::LatePresentment), (Monitoring, "monitor".into()));
    assert_eq!(decided(T::RejectedByIssuer), (Disputed, "dispute".into()));
    assert_eq!(decided(T::CounterClash), (Disputed, "dispute".into()));
    assert_eq!(decided(T::BalanceChainBreak), (Disputed, "dispute".into()));
    assert_eq!(
        decided(T::MissingAtHub).0,
        Monitoring,
        "no acquirer to dispute with"
    );
    assert_eq!(summary.resolved.cases.len(), 3);

    // The resend is a file in MOT's outbox with the one record, in MOT's format.
    let missing = only(&m, T::MissingAtPartner);
    let resend = missing.resend_file_id.unwrap();
    let f = store.file(resend).await.unwrap().unwrap();
    assert_eq!(
        (f.direction, f.addressee.as_deref()),
        (Direction::Out, Some("MOT"))
    );
    assert!(f.name.starts_with("RESEND_D"), "{}", f.name);

    // The chargeback: QD (acquirer) pays MOT back.
    let tac = only(&m, T::TacInvalid);
    let reference = tac.adjustment_ref.clone().unwrap();
    assert_eq!(
        store.adjustment_window(&reference).await.unwrap(),
        Some(None)
    );

    // Adjustments clear in the next window that closes; then the discrepancies close.
    close(&store, &w.vault, 22, at("2026-11-22T16:00:00Z")).await;
    let p = clearing::positions(&store, &ClearingSettings::default(), day(22))
        .await
        .unwrap();
    let adj: Vec<_> = p
        .clearing
        .adjustments
        .iter()
        .map(|a| {
            (
                a.reference.as_str(),
                a.payer.as_str(),
                a.payee.as_str(),
                a.amount_fen,
            )
        })
        .collect();
    assert!(
        adj.contains(&(reference.as_str(), "QD", "MOT", 400)),
        "{adj:?}"
    );
    assert!(
        adj.iter()
            .any(|a| a.1 == "WRITEOFF" && a.2 == "MOT" && a.3 == 50),
        "{adj:?}"
    );
    let closed = reconcile::close_settled(&store, at("2026-11-22T17:00:00Z"))
        .await
        .unwrap();
    assert_eq!(closed.len(), 4, "tac, blacklisted, duplicate, write-off");
    let tac = store.discrepancy(tac.id).await.unwrap().unwrap();
    assert_eq!(tac.status, Closed);
    assert!(tac.resolution.unwrap().contains("2026-11-22"));
    let statement = clearing::statement(&store, &Default::default(), day(22), "QD")
        .await
        .unwrap()
        .unwrap();
    assert!(
        statement.lines.iter().any(|l| l.reference == reference),
        "the statement shows the adjustment line"
    );
    // Day 21's window never changed.
    let p21 = clearing::positions(&store, &ClearingSettings::default(), day(21))
        .await
        .unwrap();
    assert!(p21.clearing.adjustments.is_empty());
}

fn staff(name: &str, role: StaffRole, participant: Option<&str>) -> Actor {
    Actor::Staff {
        name: name.into(),
        role,
        participant: participant.map(str::to_string),
    }
}

async fn a_dispute_goes_from_claim_to_ruling_to_closed_with_every_step_recorded(store: Store) {
    let w = world(&store).await;
    let s = ReconcileSettings::default();
    reconcile::reconcile_day(&store, &w.vault, &s, day(21), at(NOW), None)
        .await
        .unwrap();
    let all = store.discrepancies(&Default::default()).await.unwrap();
    let rejected = only(&by_type(&all), T::RejectedByIssuer).clone();
    let id = rejected.case_id.unwrap();
    let c = store.case(id).await.unwrap().unwrap();
    assert_eq!(
        (c.case.claimant.as_str(), c.case.respondent.as_str()),
        ("MOT", "QD")
    );
    assert_eq!((c.case.stage, c.case.amount_fen), (Stage::Opened, 500));
    let t = |h: u32| at(&format!("2026-11-22T{h:02}:00:00Z"));
    let dl = &s.deadlines;

    // Someone who is not a party, and a viewer, cannot act.
    let err = disputes::act(
        &store,
        dl,
        id,
        &Actor::Participant("RZ".into()),
        Action::Accept,
        None,
        t(4),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CaseError::Forbidden(_)), "{err}");
    let err = disputes::act(
        &store,
        dl,
        id,
        &staff("vera", StaffRole::Viewer, Some("QD")),
        Action::Accept,
        None,
        t(4),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CaseError::Forbidden(_)));
    // QD's finance staff add evidence and counter-propose for QD.
    let qd = staff("fang", StaffRole::Finance, Some("QD"));
    let c = disputes::act(
        &store,
        dl,
        id,
        &qd,
        Action::AddEvidence {
            name: "log.csv".into(),
            sha256: "ab".repeat(32),
        },
        Some(hub::store::disputes::EvidenceFile {
            stored_path: "files/in/_evidence/x".into(),
            bytes: 2,
        }),
        t(5),
    )
    .await
    .unwrap();
    assert_eq!(c.case.evidence.len(), 1);
    let half = Proposal {
        payer: "QD".into(),
        payee: "MOT".into(),
        amount_fen: 250,
    };
    disputes::act(
        &store,
        dl,
        id,
        &qd,
        Action::Propose(half.clone()),
        None,
        t(6),
    )
    .await
    .unwrap();
    // A party cannot accept its own proposal: refused, nothing changes.
    let err = disputes::act(&store, dl, id, &qd, Action::Accept, None, t(7))
        .await
        .unwrap_err();
    assert!(matches!(err, CaseError::Refused(_)));
    assert_eq!(store.case(id).await.unwrap().unwrap().case.history.len(), 3);
    // MOT contests: arbitration. Finance staff cannot rule; the operator does.
    disputes::act(
        &store,
        dl,
        id,
        &Actor::Participant("MOT".into()),
        Action::Contest,
        None,
        t(8),
    )
    .await
    .unwrap();
    let ruling = Proposal {
        payer: "QD".into(),
        payee: "MOT".into(),
        amount_fen: 300,
    };
    let err = disputes::act(
        &store,
        dl,
        id,
        &staff("fang", StaffRole::Finance, None),
        Action::Arbitrate(ruling.clone()),
        None,
        t(9),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CaseError::Forbidden(_)));
    let c = disputes::act(
        &store,
        dl,
        id,
        &staff("olga", StaffRole::Operator, None),
        Action::Arbitrate(ruling),
        None,
        t(10),
    )
    .await
    .unwrap();
    assert_eq!(c.case.stage, Stage::Accepted);
    assert_eq!(
        c.adjustment_ref.as_deref(),
        Some(format!("ADJ-CASE-{id}").as_str())
    );
    let d = store.discrepancy(rejected.id).await.unwrap().unwrap();
    assert_eq!(d.status, DiscrepancyStatus::Resolved);

    // The adjustment clears in the next window; the case and the discrepancy close.
    close(&store, &w.vault, 22, at("2026-11-22T16:00:00Z")).await;
    reconcile::close_settled(&store, at("2026-11-22T17:00:00Z"))
        .await
        .unwrap();
    let c = store.case(id).await.unwrap().unwrap();
    assert_eq!(c.case.stage, Stage::Closed);
    let steps: Vec<(&str, &str)> = c
        .case
        .history
        .iter()
        .map(|e| (e.actor.as_str(), e.action.as_str()))
        .collect();
    assert_eq!(
        steps,
        vec![
            ("system", "open"),
            ("fang (QD)", "add_evidence"),
            ("fang (QD)", "propose"),
            ("MOT", "contest"),
            ("olga", "arbitrate"),
            ("system", "close"),
        ]
    );
    assert_eq!(
        store
            .discrepancy(rejected.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        DiscrepancyStatus::Closed
    );
    // Every action is in the audit log.
    let audit = store.audit_entries(0, 10_000).await.unwrap();
    for action in [
        "dispute.open",
        "dispute.add_evidence",
        "dispute.propose",
        "dispute.contest",
        "dispute.arbitrate",
        "dispute.close",
    ] {
        assert!(
            audit
                .iter()
                .any(|e| e.action == action && e.target.as_deref() == Some(&format!("case:{id}"))),
            "{action}"
        );
    }
    assert!(store.verify_audit_chain().await.unwrap().is_intact());
}

async fn silence_past_a_deadline_concedes_and_the_default_outcome_becomes_an_adjustment(
    store: Store,
) {
    let w = world(&store).await;
    let s = ReconcileSettings::default();
    reconcile::reconcile_day(&store, &w.vault, &s, day(21), at(NOW), None)
        .await
        .unwrap();
    let all = store.discrepancies(&Default::default()).await.unwrap();
    let clash = only(&by_type(&all), T::CounterClash).clone();
    let id = clash.case_id.unwrap();
    // Local scheme: the respondent (RZ) has 10 days.
    assert!(
        disputes::expire_due(&store, &s.deadlines, at("2026-12-01T02:59:00Z"))
            .await
            .unwrap()
            .is_empty()
    );
    let expired = disputes::expire_due(&store, &s.deadlines, at("2026-12-02T03:00:00Z"))
        .await
        .unwrap();
    let mine = expired
        .iter()
        .find(|e| e.case_id == id)
        .expect("the clash case expired");
    let outcome = mine.outcome.clone().unwrap();
    assert_eq!(
        (
            outcome.payer.as_str(),
            outcome.payee.as_str(),
            outcome.amount_fen
        ),
        ("RZ", "QD", 150)
    );
    let c = store.case(id).await.unwrap().unwrap();
    assert_eq!(c.case.stage, Stage::Accepted);
    let last = c.case.history.last().unwrap();
    assert_eq!(
        (last.actor.as_str(), last.action.as_str()),
        ("system", "deadline_passed")
    );
    assert_eq!(
        store
            .adjustment_window(c.adjustment_ref.as_deref().unwrap())
            .await
            .unwrap(),
        Some(None)
    );
    // Running the job again changes nothing.
    let again = disputes::expire_due(&store, &s.deadlines, at("2026-12-02T04:00:00Z"))
        .await
        .unwrap();
    assert!(again.iter().all(|e| e.case_id != id));
    // Configured deadlines: a 1-day table expires the others at once.
    let short = ReconcileSettings::default()
        .with_toml("[disputes.default]\nrespond_days = 1\nevidence_days = 1\naccept_days = 1\narbitration_days = 1\n[disputes.mot]\nrespond_days = 1\nevidence_days = 1\naccept_days = 1\narbitration_days = 1\n")
        .unwrap();
    assert_eq!(
        short
            .deadlines
            .for_scheme(card_standards::Scheme::Mot)
            .respond_days,
        1
    );
}

async fn a_missing_record_is_resent_once_then_disputed_if_still_missing(store: Store) {
    let w = world(&store).await;
    let s = ReconcileSettings::default();
    reconcile::reconcile_day(&store, &w.vault, &s, day(21), at(NOW), None)
        .await
        .unwrap();
    let first = store
        .discrepancies(&DiscrepancyFilter {
            kind: Some(T::MissingAtPartner),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].status, DiscrepancyStatus::Resent);
    // Day 22: MOT's next results still leave the re-sent record out.
    close(&store, &w.vault, 22, at("2026-11-22T16:00:00Z")).await;
    let bytes = result_file("MOT", day(22), &[]);
    let f = upload(&store, &w.vault, "MOT", "MOT_RESULT_20261122.xml", &bytes).await;
    crate::data::set_received(&store, f, at("2026-11-23T02:00:00Z")).await;
    reconcile::reconcile_day(
        &store,
        &w.vault,
        &s,
        day(22),
        at("2026-11-23T03:00:00Z"),
        None,
    )
    .await
    .unwrap();
    let missing = store
        .discrepancies(&DiscrepancyFilter {
            kind: Some(T::MissingAtPartner),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(missing.len(), 2, "{missing:#?}");
    let old = missing.iter().find(|d| d.id == first[0].id).unwrap();
    assert_eq!(old.status, DiscrepancyStatus::Closed);
    assert!(
        old.resolution
            .as_deref()
            .unwrap()
            .contains("see discrepancy")
    );
    let new = missing.iter().find(|d| d.id != first[0].id).unwrap();
    assert_eq!(new.records, first[0].records);
    assert_eq!(
        (new.status, new.rule.as_deref()),
        (DiscrepancyStatus::Disputed, Some("dispute")),
        "resent once only"
    );
}

async fn a_result_file_that_lies_about_its_sender_or_totals_is_refused_whole(store: Store) {
    let w = world(&store).await;
    let now = at(NOW);
    // Uploaded by RZ but naming MOT as sender.
    let bytes = result_file("MOT", day(21), &[]);
    let f = upload(&store, &w.vault, "RZ", "fake.xml", &bytes).await;
    let out = reconcile::ingest_results(&store, &w.vault, f, now)
        .await
        .unwrap();
    let ResultsOutcome::Rejected(info) = out else {
        panic!("{out:?}")
    };
    assert!(info.error.unwrap().contains("uploaded by RZ"));
    // Totals that disagree with the lines: F02.
    let good = result_file(
        "RZ",
        day(21),
        &[crate::data::answer(&Rec::local(1, 1, 10, 1, 0), 1, None)],
    );
    let text = String::from_utf8(good)
        .unwrap()
        .replace("count=\"1\"", "count=\"2\"");
    let f = upload(&store, &w.vault, "RZ", "bad-totals.xml", text.as_bytes()).await;
    let ResultsOutcome::Rejected(info) = reconcile::ingest_results(&store, &w.vault, f, now)
        .await
        .unwrap()
    else {
        panic!()
    };
    assert!(info.error.unwrap().starts_with("F02"));
    assert_eq!(
        store.file(f).await.unwrap().unwrap().status,
        hub::store::FileStatus::ResultsRejected
    );
    // A transaction file is not a result file: left for ingest.
    let f = upload(
        &store,
        &w.vault,
        "RZ",
        "tx.xml",
        b"<TxFile xmlns=\"urn:hutong:txfile:1\"/>",
    )
    .await;
    assert!(matches!(
        reconcile::ingest_results(&store, &w.vault, f, now)
            .await
            .unwrap(),
        ResultsOutcome::NotResults { .. }
    ));
    assert_eq!(
        store.file(f).await.unwrap().unwrap().status,
        hub::store::FileStatus::Received
    );
    // The stored one is processed once, however often it is asked.
    let a = reconcile::ingest_results(&store, &w.vault, w.result_file, now)
        .await
        .unwrap();
    let b = reconcile::ingest_results(&store, &w.vault, w.result_file, now)
        .await
        .unwrap();
    assert_eq!(a, b);
    assert!(
        matches!(a, ResultsOutcome::Stored(ref i) if i.results == 8 && i.declared_count == Some(8))
    );
}

/// Card 31's second tap was rejected by ingest (R02, a TAC that does not verify) but still used
/// counter 2 and took 100 fen: no gap and no broken balance chain. Card 32 has the same taps
/// with nothing stored for counter 2: a gap.
async fn a_rejected_record_fills_the_counter_gap_it_would_otherwise_leave(store: Store) {
    use hub::store::{NewRejection, RecordEncoder, RejectedKey, store_batches};
    let dir = tempfile::tempdir().unwrap();
    let vault = hub::vault::Vault::open(dir.path()).unwrap();
    crate::data::participants(&store).await;
    let tap = |card, seq, before| Rec::local(card, seq, before, 100, u32::from(seq));
    let (file_id, _) = crate::data::file_and_id(
        &store,
        "RZ",
        at("2026-11-21T10:00:00Z"),
        &[
            tap(31, 1, 1_000),
            tap(31, 3, 800),
            tap(32, 1, 1_000),
            tap(32, 3, 800),
        ],
    )
    .await;
    let mut encoder = RecordEncoder::new(store.backend(), true, file_id);
    encoder.rejected(NewRejection {
        record_no: 5,
        code: "R02",
        field: Some("tac".into()),
        reason: "the TAC does not verify".into(),
        key: Some(RejectedKey::of_tx(&tap(31, 2, 900).canonical())),
        raw: None,
    });
    let (send, mut recv) = tokio::sync::mpsc::channel(1);
    send.send(encoder.take()).await.unwrap();
    drop(send);
    let mut tx = store.begin().await.unwrap();
    store_batches(&mut tx, file_id, &mut recv).await.unwrap();
    tx.commit().await.unwrap();

    close(&store, &vault, 21, at(NOW)).await;
    let s = ReconcileSettings::default();
    reconcile::reconcile_day(&store, &vault, &s, day(21), at(NOW), None)
        .await
        .unwrap();
    let all = store
        .discrepancies(&DiscrepancyFilter {
            day: Some(day(21)),
            ..Default::default()
        })
        .await
        .unwrap();
    let card_findings = |serial: &str| -> Vec<T> {
        all.iter()
            .filter(|d| d.detail.contains(serial))
            .map(|d| d.kind)
            .collect()
    };
    assert_eq!(
        card_findings("00000000000000000032"),
        vec![T::CounterGap],
        "{all:#?}"
    );
    assert_eq!(card_findings("00000000000000000031"), vec![], "{all:#?}");
}

/// T-Union answers in the `mot` result layout (fixed width, 19-digit card numbers, its own
/// city codes) instead of `hutong-xml`: the same lines are stored and the same differences
/// found.
async fn a_partner_answering_in_its_own_formats_result_layout_is_matched_the_same_way(
    store: Store,
) {
    let w = crate::data::world_answered_in(&store, adapters::Format::Mot).await;
    let s = ReconcileSettings::default();
    let summary = reconcile::reconcile_day(&store, &w.vault, &s, day(21), at(NOW), None)
        .await
        .unwrap();
    assert!(
        matches!(summary.result_files.as_slice(), [ResultsOutcome::Stored(f)] if f.results == 8),
        "{:#?}",
        summary.result_files
    );
    let all = store
        .discrepancies(&DiscrepancyFilter {
            day: Some(day(21)),
            ..Default::default()
        })
        .await
        .unwrap();
    let m = by_type(&all);
    let id = |n: &str| w.ids[n];
    assert_eq!(only(&m, T::MissingAtPartner).records, vec![id("missing")]);
    let altered = only(&m, T::AmountMismatch);
    assert_eq!(
        (altered.records.clone(), altered.amount_fen),
        (vec![id("altered")], 50)
    );
    assert!(altered.files.contains(&w.result_file));
    assert_eq!(only(&m, T::RejectedByIssuer).records, vec![id("rejected")]);
    assert!(
        m.contains_key(&T::MissingAtHub),
        "the record never sent: {all:#?}"
    );
}
