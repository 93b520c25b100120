//! Dispute cases between two participants, stored: opening a case for a discrepancy, every
//! action of a party, the hub's staff or the deadline job, evidence files in the vault, and
//! the adjustment each decision becomes.
//!
//! The lifecycle and the default outcomes are [`reconciliation::dispute`]'s; this module runs
//! each action in one transaction: load the case (row-locked on PostgreSQL), apply the action,
//! write the case and its new history, make the adjustment of a decision, move the discrepancy
//! on, append the audit log. An action that is not allowed changes nothing.
//!
//! Who may do what:
//!
//! | actor | may |
//! |---|---|
//! | a participant (mTLS) that is a party | add evidence, propose, accept, contest, escalate, request evidence (claimant), withdraw (claimant) |
//! | staff with role `finance` acting for a party (`users.participant`) | as that party |
//! | staff with role `finance` | add evidence, request evidence |
//! | staff with role `operator` | all of finance's, arbitrate (`resolve`), withdraw |
//! | `system` (the deadline job) | the default outcome when a deadline passes |

use card_standards::Scheme;
use reconciliation::dispute::{
    Action, Claim, DeadlineTable, DisputeCase, DisputeError, Proposal, Role, Stage,
};
use serde::Serialize;

use crate::store::clearing::{NewAdjustment, insert_adjustment};
use crate::store::disputes::{
    EvidenceFile, StoredCase, insert_case, load_case_for_update, naive, save_case,
};
use crate::store::reconcile::{DiscrepancyStatus, DiscrepancyUpdate, update_discrepancy};
use crate::store::{NewAuditEntry, StaffRole, Store, StoreError, Timestamp, Tx, append_audit};

/// Who acts on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A participant over the mTLS API (its certificate's code).
    Participant(String),
    /// A member of the hub's staff (console or CLI).
    Staff {
        /// The user's name.
        name: String,
        /// The user's role.
        role: StaffRole,
        /// The participant the user acts for, if any.
        participant: Option<String>,
    },
    /// The deadline job.
    System,
}

impl Actor {
    /// The name recorded in the history and the audit log.
    pub fn label(&self) -> String {
        match self {
            Actor::Participant(p) => p.clone(),
            Actor::Staff {
                name, participant, ..
            } => match participant {
                Some(p) => format!("{name} ({p})"),
                None => name.clone(),
            },
            Actor::System => "system".into(),
        }
    }

    fn audit_participant(&self) -> Option<String> {
        match self {
            Actor::Participant(p) => Some(p.clone()),
            Actor::Staff { participant, .. } => participant.clone(),
            Actor::System => None,
        }
    }
}

/// Why an action on a case was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// No such case.
    #[error("dispute case {0} does not exist")]
    NotFound(i64),
    /// The actor may not act on this case (not a party, or the role does not allow it).
    #[error("{0}")]
    Forbidden(String),
    /// The state machine refused the action (wrong stage, own proposal, bad proposal).
    #[error(transparent)]
    Refused(#[from] DisputeError),
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Opens a case for discrepancy `discrepancy_id` inside `tx` (the resolution rules call this):
/// the claimant claims `amount_fen` from the respondent. Returns the case id.
#[allow(clippy::too_many_arguments)]
pub async fn open_case(
    tx: &mut Tx,
    deadlines: &DeadlineTable,
    discrepancy_id: i64,
    claimant: &str,
    respondent: &str,
    scheme: Scheme,
    amount_fen: i64,
    note: &str,
    now: Timestamp,
) -> Result<i64, StoreError> {
    let case = DisputeCase::open(
        Claim {
            claimant: claimant.into(),
            respondent: respondent.into(),
            scheme,
            amount_fen,
            note: note.into(),
        },
        "system",
        naive(now),
        deadlines,
    );
    let id = insert_case(tx, discrepancy_id, &case, now).await?;
    append_audit(
        tx,
        &NewAuditEntry {
            participant: None,
            action: "dispute.open",
            target: Some(&format!("case:{id}")),
            result: "ok",
            detail: Some(&format!(
                "{claimant} claims {amount_fen} fen from {respondent}: {note}"
            )),
        },
    )
    .await?;
    Ok(id)
}

/// The role an actor takes for an action on a case, or why it may not act.
fn role_for(case: &DisputeCase, actor: &Actor, action: &Action) -> Result<Role, CaseError> {
    let operator_only = matches!(action, Action::Arbitrate(_));
    let party_action = matches!(
        action,
        Action::Propose(_) | Action::Accept | Action::Contest | Action::Escalate
    );
    match actor {
        Actor::System => Ok(Role::Operator),
        Actor::Participant(p) => case
            .role_of(p)
            .ok_or_else(|| CaseError::Forbidden(format!("{p} is not a party to this case"))),
        Actor::Staff {
            name,
            role,
            participant,
        } => {
            if *role < StaffRole::Finance {
                return Err(CaseError::Forbidden(format!(
                    "{name} is a viewer: viewers cannot act on cases"
                )));
            }
            let as_party = participant.as_deref().and_then(|p| case.role_of(p));
            if operator_only || matches!(action, Action::Withdraw) && as_party.is_none() {
                return if *role >= StaffRole::Operator {
                    Ok(Role::Operator)
                } else {
                    Err(CaseError::Forbidden(format!(
                        "{} needs the operator role",
                        action.name()
                    )))
                };
            }
            if party_action {
                return as_party.ok_or_else(|| {
                    CaseError::Forbidden(format!(
                        "{name} acts for no party of this case ({} v {}): only a party may {}",
                        case.claimant,
                        case.respondent,
                        action.name()
                    ))
                });
            }
            Ok(as_party.unwrap_or(Role::Operator))
        }
    }
}

/// Acts on case `id`. `evidence` is the stored content of an [`Action::AddEvidence`]. Returns
/// the case afterwards. One transaction; a refused action changes nothing.
pub async fn act(
    store: &Store,
    deadlines: &DeadlineTable,
    id: i64,
    actor: &Actor,
    action: Action,
    evidence: Option<EvidenceFile>,
    now: Timestamp,
) -> Result<StoredCase, CaseError> {
    let mut tx = store.begin().await?;
    let before = load_case_for_update(&mut tx, id)
        .await?
        .ok_or(CaseError::NotFound(id))?;
    let role = role_for(&before.case, actor, &action)?;
    let mut case = before.case.clone();
    let name = action.name();
    let decided = case.act(&actor.label(), role, action, naive(now), deadlines)?;
    let files: Vec<EvidenceFile> = evidence.into_iter().collect();
    finish(&mut tx, &before, case, decided, &files, actor, name, now).await?;
    tx.commit().await?;
    store.case(id).await?.ok_or(CaseError::NotFound(id))
}

/// Writes an acted-on case: the adjustment of a decision, the discrepancy's move, the audit.
#[allow(clippy::too_many_arguments)]
async fn finish(
    tx: &mut Tx,
    before: &StoredCase,
    mut case: DisputeCase,
    decided: Option<Proposal>,
    files: &[EvidenceFile],
    actor: &Actor,
    action: &str,
    now: Timestamp,
) -> Result<(), CaseError> {
    let id = before.id;
    let mut adjustment = None;
    let mut discrepancy_move: Option<(DiscrepancyStatus, String, Option<String>)> = None;
    if let Some(p) = &decided {
        if p.amount_fen > 0 && p.payer != p.payee {
            let reference = format!("ADJ-CASE-{id}");
            insert_adjustment(
                tx,
                &NewAdjustment {
                    reference: reference.clone(),
                    payer: p.payer.clone(),
                    payee: p.payee.clone(),
                    amount_fen: p.amount_fen,
                    reason: format!(
                        "dispute case #{id} (discrepancy #{})",
                        before.discrepancy_id
                    ),
                    source: format!("dispute:{id}"),
                },
                now,
            )
            .await?;
            discrepancy_move = Some((
                DiscrepancyStatus::Resolved,
                format!(
                    "case {id} decided: {} pays {} {} fen (adjustment {reference})",
                    p.payer, p.payee, p.amount_fen
                ),
                Some(reference.clone()),
            ));
            adjustment = Some(reference);
        } else {
            case.close(naive(now), "decided with nothing to pay");
            discrepancy_move = Some((
                DiscrepancyStatus::Closed,
                format!("case {id} decided with nothing to pay"),
                None,
            ));
        }
    } else if case.stage == Stage::Closed && before.case.stage != Stage::Closed {
        discrepancy_move = Some((
            DiscrepancyStatus::Closed,
            format!("case {id} withdrawn by {}", actor.label()),
            None,
        ));
    }
    save_case(tx, before, &case, files, adjustment.as_deref(), now).await?;
    if let Some((to, words, reference)) = discrepancy_move {
        update_discrepancy(
            tx,
            before.discrepancy_id,
            &[DiscrepancyStatus::Disputed],
            to,
            &DiscrepancyUpdate {
                adjustment_ref: reference,
                resolution: Some(words),
                ..DiscrepancyUpdate::default()
            },
            now,
        )
        .await?;
    }
    let note = case
        .history
        .last()
        .map(|e| e.note.clone())
        .unwrap_or_default();
    let who = actor.audit_participant();
    let detail = format!("by {}: {note}; stage {}", actor.label(), case.stage);
    append_audit(
        tx,
        &NewAuditEntry {
            participant: who.as_deref(),
            action: &format!("dispute.{action}"),
            target: Some(&format!("case:{id}")),
            result: "ok",
            detail: Some(&detail),
        },
    )
    .await?;
    Ok(())
}

/// What the deadline job did to one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expired {
    /// The case.
    pub case_id: i64,
    /// Its stage afterwards.
    pub stage: Stage,
    /// The default outcome applied, if the deadline decided it.
    pub outcome: Option<Proposal>,
}

/// Applies the default outcome to every case whose deadline has passed at `now` (the
/// scheduler's `dispute-deadlines` job; see [`reconciliation::dispute`] for the outcomes). Each
/// case is its own transaction.
pub async fn expire_due(
    store: &Store,
    deadlines: &DeadlineTable,
    now: Timestamp,
) -> Result<Vec<Expired>, CaseError> {
    let _ = deadlines;
    let mut out = Vec::new();
    for id in store.due_cases(now).await? {
        let mut tx = store.begin().await?;
        let Some(before) = load_case_for_update(&mut tx, id).await? else {
            continue;
        };
        let mut case = before.case.clone();
        let outcome = case.expire(naive(now));
        if case.history.len() == before.case.history.len() {
            continue;
        }
        let action = case
            .history
            .last()
            .map(|e| e.action.clone())
            .unwrap_or_default();
        finish(
            &mut tx,
            &before,
            case.clone(),
            outcome.clone(),
            &[],
            &Actor::System,
            &action,
            now,
        )
        .await?;
        tx.commit().await?;
        let stage = store
            .case(id)
            .await?
            .map(|c| c.case.stage)
            .unwrap_or(case.stage);
        out.push(Expired {
            case_id: id,
            stage,
            outcome,
        });
    }
    Ok(out)
}

/// Closes decided cases whose adjustment has cleared in a closed window (or that had nothing to
/// pay). Returns the cases closed.
pub async fn close_cleared_cases(store: &Store, now: Timestamp) -> Result<Vec<i64>, CaseError> {
    let mut closed = Vec::new();
    for (id, reference, day) in store.cases_to_close().await? {
        let mut tx = store.begin().await?;
        let Some(before) = load_case_for_update(&mut tx, id).await? else {
            continue;
        };
        let mut case = before.case.clone();
        let note = match (&reference, &day) {
            (Some(r), Some(d)) => format!("adjustment {r} cleared in the window of {d}"),
            _ => "nothing to pay".to_string(),
        };
        if !case.close(naive(now), &note) {
            continue;
        }
        save_case(&mut tx, &before, &case, &[], None, now).await?;
        append_audit(
            &mut tx,
            &NewAuditEntry {
                participant: None,
                action: "dispute.close",
                target: Some(&format!("case:{id}")),
                result: "ok",
                detail: Some(&note),
            },
        )
        .await?;
        tx.commit().await?;
        closed.push(id);
    }
    Ok(closed)
}

/// Moves staged evidence content into the vault (`files/in/_evidence/<sha256>`, content-addressed
/// and outside every participant's files, so ingest never sees it) and returns where it is with
/// its digest.
pub async fn store_evidence(
    vault: &crate::vault::Vault,
    staged: crate::vault::Staged,
) -> Result<(EvidenceFile, String), crate::vault::VaultError> {
    let sha256 = staged.sha256.clone();
    let bytes = i64::try_from(staged.bytes).unwrap_or(i64::MAX);
    let stored_path = vault
        .commit(staged, crate::store::Direction::In, "_evidence")
        .await?;
    Ok((EvidenceFile { stored_path, bytes }, sha256))
}
