//! Applying the resolution rules to open discrepancies, and closing what has cleared.
//!
//! Each decision is one transaction: the discrepancy's status and the rule that decided it,
//! the adjustment or the dispute case or the resend record, and an audit entry commit together.
//! A resend writes its file into the partner's outbox first (content-addressed and carrying the
//! discrepancy's id, so a retry after a crash deposits the same file again, not a second one).

use reconciliation::resolution::{Decision, decide};
use serde::Serialize;

use super::{ReconcileError, ReconcileSettings};
use crate::disputes::open_case;
use crate::store::clearing::{NewAdjustment, insert_adjustment};
use crate::store::reconcile::{
    Discrepancy, DiscrepancyFilter, DiscrepancyStatus, DiscrepancyUpdate, insert_resend,
    update_discrepancy,
};
use crate::store::{NewAuditEntry, Store, Timestamp, Tx, append_audit};
use crate::vault::Vault;

/// What [`resolve_open`] decided.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResolveSummary {
    /// `(discrepancy, rule, decision)` for each discrepancy decided now.
    pub decided: Vec<(i64, String, String)>,
    /// Dispute cases opened.
    pub cases: Vec<i64>,
    /// Adjustments made.
    pub adjustments: Vec<String>,
    /// Resend files deposited.
    pub resends: Vec<i64>,
}

pub(crate) async fn audit_in(
    tx: &mut Tx,
    actor: Option<&str>,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<(), ReconcileError> {
    append_audit(
        tx,
        &NewAuditEntry {
            participant: actor,
            action,
            target: Some(target),
            result: "ok",
            detail: Some(detail),
        },
    )
    .await?;
    Ok(())
}

/// Applies the rules to every open discrepancy (see [`reconciliation::resolution`]): an
/// adjustment (clears in the next window that closes), a resend of the record to the partner,
/// monitoring, or a dispute case between the two participants. Each decision records its rule.
pub async fn resolve_open(
    store: &Store,
    vault: &Vault,
    settings: &ReconcileSettings,
    now: Timestamp,
    outbox: Option<&tokio::sync::Notify>,
) -> Result<ResolveSummary, ReconcileError> {
    let mut summary = ResolveSummary::default();
    let open = store
        .discrepancies(&DiscrepancyFilter {
            status: Some(DiscrepancyStatus::Open),
            ..DiscrepancyFilter::default()
        })
        .await?;
    for d in open {
        let finding = d.finding();
        let partner = d.issuer.clone().unwrap_or_default();
        let resends = match d.records.first() {
            Some(r) if d.kind == reconciliation::DiscrepancyType::MissingAtPartner => {
                store.resend_count(*r, &partner).await?
            }
            _ => 0,
        };
        let mut r = decide(&settings.rules, &finding, resends);
        let target = format!("discrepancy:{}", d.id);

        if matches!(r.decision, Decision::Resend) {
            let local = settings.hub.local_time(now.datetime());
            match crate::outbound::produce_resend(
                store,
                vault,
                &partner,
                &d.records,
                &format!("D{}", d.id),
                u64::try_from(d.id).unwrap_or(0),
                &settings.hub.hub_code,
                local,
                outbox,
            )
            .await
            {
                Ok((file_id, _)) => {
                    let mut tx = store.begin().await?;
                    for rec in &d.records {
                        insert_resend(&mut tx, d.id, *rec, &partner, file_id, now).await?;
                    }
                    let words = format!("re-sent to {partner} in file {file_id}");
                    if update_discrepancy(
                        &mut tx,
                        d.id,
                        &[DiscrepancyStatus::Open],
                        DiscrepancyStatus::Resent,
                        &DiscrepancyUpdate {
                            rule: Some(r.rule.into()),
                            decision: Some("resend".into()),
                            resend_file_id: Some(file_id),
                            resolution: Some(words.clone()),
                            ..DiscrepancyUpdate::default()
                        },
                        now,
                    )
                    .await?
                    {
                        audit_in(&mut tx, None, "reconcile.resend", &target, &words).await?;
                        tx.commit().await?;
                        summary.decided.push((d.id, r.rule.into(), "resend".into()));
                        summary.resends.push(file_id);
                    }
                    continue;
                }
                Err(e) => {
                    tracing::warn!(
                        discrepancy = d.id,
                        "resend impossible, opening a dispute: {e}"
                    );
                    r = decide(&settings.rules, &finding, settings.rules.max_resends);
                }
            }
        }

        let mut tx = store.begin().await?;
        let (status, update, words) = match &r.decision {
            Decision::Resend => continue,
            Decision::Adjust {
                payer,
                payee,
                amount_fen,
            } if *amount_fen > 0 && payer != payee => {
                let reference = format!("ADJ-D{}", d.id);
                let reason = format!("{} #{} ({})", d.kind, d.id, r.rule);
                insert_adjustment(
                    &mut tx,
                    &NewAdjustment {
                        reference: reference.clone(),
                        payer: payer.clone(),
                        payee: payee.clone(),
                        amount_fen: *amount_fen,
                        reason,
                        source: format!("discrepancy:{}", d.id),
                    },
                    now,
                )
                .await?;
                summary.adjustments.push(reference.clone());
                let words =
                    format!("{payer} pays {payee} {amount_fen} fen: adjustment {reference}");
                (
                    DiscrepancyStatus::Resolved,
                    DiscrepancyUpdate {
                        rule: Some(r.rule.into()),
                        decision: Some("adjust".into()),
                        adjustment_ref: Some(reference),
                        resolution: Some(words.clone()),
                        ..DiscrepancyUpdate::default()
                    },
                    words,
                )
            }
            Decision::Adjust { .. } => {
                let words = "nothing to move".to_string();
                (
                    DiscrepancyStatus::Closed,
                    DiscrepancyUpdate {
                        rule: Some(r.rule.into()),
                        decision: Some("adjust".into()),
                        resolution: Some(words.clone()),
                        ..DiscrepancyUpdate::default()
                    },
                    words,
                )
            }
            Decision::Monitor => {
                let words = "kept for review; no money moves".to_string();
                (
                    DiscrepancyStatus::Monitoring,
                    DiscrepancyUpdate {
                        rule: Some(r.rule.into()),
                        decision: Some("monitor".into()),
                        resolution: Some(words.clone()),
                        ..DiscrepancyUpdate::default()
                    },
                    words,
                )
            }
            Decision::OpenDispute {
                claimant,
                respondent,
            } if !claimant.is_empty() && !respondent.is_empty() && claimant != respondent => {
                let (case_id, update, words) =
                    dispute_in(&mut tx, settings, &d, claimant, respondent, r.rule, now).await?;
                summary.cases.push(case_id);
                (DiscrepancyStatus::Disputed, update, words)
            }
            Decision::OpenDispute { .. } => {
                let words =
                    "no counterparty to dispute with (on-us): for the hub's staff to investigate"
                        .to_string();
                (
                    DiscrepancyStatus::Monitoring,
                    DiscrepancyUpdate {
                        rule: Some(r.rule.into()),
                        decision: Some("review".into()),
                        resolution: Some(words.clone()),
                        ..DiscrepancyUpdate::default()
                    },
                    words,
                )
            }
        };
        let decision = update.decision.clone().unwrap_or_default();
        if update_discrepancy(
            &mut tx,
            d.id,
            &[DiscrepancyStatus::Open],
            status,
            &update,
            now,
        )
        .await?
        {
            let what = format!("rule {}: {words}", r.rule);
            audit_in(&mut tx, None, "reconcile.resolve", &target, &what).await?;
            tx.commit().await?;
            summary.decided.push((d.id, r.rule.into(), decision));
        }
    }
    Ok(summary)
}

/// Opens a dispute case for `d` inside `tx` — `claimant` claims the discrepancy's amount from
/// `respondent` — and returns the case, the discrepancy's update that records it under
/// `rule`, and the decision in words.
async fn dispute_in(
    tx: &mut Tx,
    settings: &ReconcileSettings,
    d: &Discrepancy,
    claimant: &str,
    respondent: &str,
    rule: &str,
    now: Timestamp,
) -> Result<(i64, DiscrepancyUpdate, String), ReconcileError> {
    let scheme = d
        .scheme
        .as_deref()
        .and_then(|s| s.parse().ok())
        .unwrap_or(card_standards::Scheme::Local);
    let case_id = open_case(
        tx,
        &settings.deadlines,
        d.id,
        claimant,
        respondent,
        scheme,
        d.amount_fen,
        &format!("{} #{}: {}", d.kind, d.id, d.detail),
        now,
    )
    .await?;
    let words = format!("dispute case {case_id}: {claimant} claims from {respondent}");
    let update = DiscrepancyUpdate {
        rule: Some(rule.into()),
        decision: Some("dispute".into()),
        case_id: Some(case_id),
        resolution: Some(words.clone()),
        ..DiscrepancyUpdate::default()
    };
    Ok((case_id, update, words))
}

/// Opens a dispute case on an open or monitored discrepancy by hand (not by a rule):
/// `claimant` claims its amount from `respondent`; `rule` names who decided it. One
/// transaction with the discrepancy's move to `disputed` and an audit entry. `None` when the
/// discrepancy was no longer open or monitored.
pub async fn open_dispute(
    store: &Store,
    settings: &ReconcileSettings,
    d: &Discrepancy,
    claimant: &str,
    respondent: &str,
    rule: &str,
    now: Timestamp,
) -> Result<Option<i64>, ReconcileError> {
    if claimant.is_empty() || respondent.is_empty() || claimant == respondent {
        return Err(ReconcileError::BadInput(format!(
            "a dispute needs two different participants, not {claimant:?} and {respondent:?}"
        )));
    }
    let mut tx = store.begin().await?;
    let (case_id, update, words) =
        dispute_in(&mut tx, settings, d, claimant, respondent, rule, now).await?;
    let from = [DiscrepancyStatus::Open, DiscrepancyStatus::Monitoring];
    if !update_discrepancy(
        &mut tx,
        d.id,
        &from,
        DiscrepancyStatus::Disputed,
        &update,
        now,
    )
    .await?
    {
        return Ok(None);
    }
    let target = format!("discrepancy:{}", d.id);
    audit_in(
        &mut tx,
        None,
        "reconcile.resolve",
        &target,
        &format!("{rule}: {words}"),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(case_id))
}

/// Closes every resolved discrepancy whose adjustment has cleared in a closed window, and
/// every decided dispute case likewise (or with nothing to pay). Returns the discrepancies
/// closed.
pub async fn close_settled(store: &Store, now: Timestamp) -> Result<Vec<i64>, ReconcileError> {
    let mut closed = Vec::new();
    for (id, reference, day) in store.cleared_resolutions().await? {
        let mut tx = store.begin().await?;
        let words = format!("adjustment {reference} cleared in the window of {day}");
        if update_discrepancy(
            &mut tx,
            id,
            &[DiscrepancyStatus::Resolved],
            DiscrepancyStatus::Closed,
            &DiscrepancyUpdate {
                resolution: Some(words.clone()),
                ..DiscrepancyUpdate::default()
            },
            now,
        )
        .await?
        {
            audit_in(
                &mut tx,
                None,
                "reconcile.close",
                &format!("discrepancy:{id}"),
                &words,
            )
            .await?;
            tx.commit().await?;
            closed.push(id);
        }
    }
    crate::disputes::close_cleared_cases(store, now).await?;
    Ok(closed)
}

/// A re-sent record was answered by the partner's next result file: the resend's discrepancy
/// is closed, pointing at any new discrepancy the answer produced.
pub(super) async fn close_answered_resend(
    store: &Store,
    discrepancy: i64,
    file_id: i64,
    new: &[i64],
    now: Timestamp,
) -> Result<(), ReconcileError> {
    let Some(d) = store.discrepancy(discrepancy).await? else {
        return Ok(());
    };
    let mut follow_up = None;
    for id in new {
        if let Some(n) = store.discrepancy(*id).await?
            && n.records.iter().any(|r| d.records.contains(r))
        {
            follow_up = Some(n.id);
            break;
        }
    }
    let words = match follow_up {
        Some(n) => format!(
            "the partner answered the re-sent record in file {file_id}: see discrepancy {n}"
        ),
        None => format!("the partner confirmed the re-sent record in file {file_id}"),
    };
    let mut tx = store.begin().await?;
    if update_discrepancy(
        &mut tx,
        discrepancy,
        &[DiscrepancyStatus::Resent],
        DiscrepancyStatus::Closed,
        &DiscrepancyUpdate {
            resolution: Some(words.clone()),
            ..DiscrepancyUpdate::default()
        },
        now,
    )
    .await?
    {
        audit_in(
            &mut tx,
            None,
            "reconcile.close",
            &format!("discrepancy:{discrepancy}"),
            &words,
        )
        .await?;
        tx.commit().await?;
    }
    Ok(())
}
