//! Dispute cases: the current state in `dispute_cases`, every event in `dispute_events`, every
//! evidence file in `dispute_evidence` (the content is in the vault, named by its SHA-256).
//!
//! A case is loaded whole into a [`reconciliation::dispute::DisputeCase`], changed by the pure
//! state machine, and written back inside the caller's transaction: the row is updated and the
//! events and evidence the action added are appended (history is never rewritten).

use chrono::{DateTime, NaiveDateTime, Utc};
use reconciliation::dispute::{CaseEvent, DisputeCase, Evidence, Proposal, Role, Stage};
use serde::Serialize;

use super::{Store, StoreError, StoreResult, Timestamp, Tx, on_db, on_tx};

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {detail}"))
}

/// A stored time as the naive UTC time the pure state machine works in.
pub fn naive(t: Timestamp) -> NaiveDateTime {
    t.datetime().naive_utc()
}

/// A naive UTC time of the state machine as a stored time.
pub fn stamp(t: NaiveDateTime) -> Timestamp {
    Timestamp::from_datetime(DateTime::<Utc>::from_naive_utc_and_offset(t, Utc))
}

/// A case as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredCase {
    /// Id.
    pub id: i64,
    /// The discrepancy it argues.
    pub discrepancy_id: i64,
    /// The case.
    #[serde(flatten)]
    pub case: DisputeCase,
    /// The adjustment its outcome became.
    pub adjustment_ref: Option<String>,
    /// When opened.
    pub opened_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Where each evidence file's content is, relative to the data directory, with its size
    /// (same order as `case.evidence`).
    #[serde(skip)]
    pub evidence_files: Vec<(String, i64)>,
}

/// Evidence content stored in the vault, for [`save_case`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceFile {
    /// Path relative to the data directory.
    pub stored_path: String,
    /// Size in bytes.
    pub bytes: i64,
}

#[derive(sqlx::FromRow)]
struct CaseRow {
    id: i64,
    discrepancy_id: i64,
    claimant: String,
    respondent: String,
    scheme: String,
    amount_fen: i64,
    stage: String,
    deadline: Timestamp,
    overdue: bool,
    proposal_payer: Option<String>,
    proposal_payee: Option<String>,
    proposal_amount_fen: Option<i64>,
    proposal_by: Option<String>,
    outcome_payer: Option<String>,
    outcome_payee: Option<String>,
    outcome_amount_fen: Option<i64>,
    adjustment_ref: Option<String>,
    opened_at: Timestamp,
    updated_at: Timestamp,
}

const CASE_COLUMNS: &str = "id, discrepancy_id, claimant, respondent, scheme, amount_fen, stage, deadline, overdue, proposal_payer, proposal_payee, proposal_amount_fen, proposal_by, outcome_payer, outcome_payee, outcome_amount_fen, adjustment_ref, opened_at, updated_at";

type EventRow = (i64, Timestamp, String, String, String, String);
type EvidenceRow = (i64, String, String, i64, String, String, Timestamp);

fn assemble(
    row: CaseRow,
    events: Vec<EventRow>,
    evidence: Vec<EvidenceRow>,
) -> StoreResult<StoredCase> {
    let proposal = match (
        row.proposal_payer,
        row.proposal_payee,
        row.proposal_amount_fen,
        row.proposal_by,
    ) {
        (Some(payer), Some(payee), Some(amount_fen), Some(by)) => Some((
            Proposal {
                payer,
                payee,
                amount_fen,
            },
            by.parse::<Role>()
                .map_err(|e| corrupt("dispute_cases.proposal_by", e))?,
        )),
        _ => None,
    };
    let outcome = match (row.outcome_payer, row.outcome_payee, row.outcome_amount_fen) {
        (Some(payer), Some(payee), Some(amount_fen)) => Some(Proposal {
            payer,
            payee,
            amount_fen,
        }),
        _ => None,
    };
    let history = events
        .into_iter()
        .map(|(_, at, actor, action, note, stage)| {
            Ok(CaseEvent {
                at: naive(at),
                actor,
                action,
                note,
                stage: stage
                    .parse()
                    .map_err(|e| corrupt("dispute_events.stage", e))?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let mut files = Vec::new();
    let evidence = evidence
        .into_iter()
        .map(|(_, name, sha256, bytes, path, added_by, at)| {
            files.push((path, bytes));
            Evidence {
                name,
                sha256,
                added_by,
                at: naive(at),
            }
        })
        .collect();
    Ok(StoredCase {
        id: row.id,
        discrepancy_id: row.discrepancy_id,
        case: DisputeCase {
            claimant: row.claimant,
            respondent: row.respondent,
            scheme: row
                .scheme
                .parse()
                .map_err(|e| corrupt("dispute_cases.scheme", e))?,
            amount_fen: row.amount_fen,
            stage: row
                .stage
                .parse()
                .map_err(|e| corrupt("dispute_cases.stage", e))?,
            deadline: naive(row.deadline),
            proposal,
            outcome,
            overdue: row.overdue,
            evidence,
            history,
        },
        adjustment_ref: row.adjustment_ref,
        opened_at: row.opened_at,
        updated_at: row.updated_at,
        evidence_files: files,
    })
}

/// Stores a new case with its first events; returns its id.
pub async fn insert_case(
    tx: &mut Tx,
    discrepancy_id: i64,
    case: &DisputeCase,
    now: Timestamp,
) -> StoreResult<i64> {
    let (pp, pe, pa, pb) = proposal_cols(case);
    let id: i64 = on_tx!(tx, conn => sqlx::query_scalar(concat!(
        "INSERT INTO dispute_cases (discrepancy_id, claimant, respondent, scheme, amount_fen, stage, deadline, overdue, ",
        "proposal_payer, proposal_payee, proposal_amount_fen, proposal_by, opened_at, updated_at) ",
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id"))
        .bind(discrepancy_id).bind(&case.claimant).bind(&case.respondent).bind(case.scheme.as_str())
        .bind(case.amount_fen).bind(case.stage.as_str()).bind(stamp(case.deadline)).bind(case.overdue)
        .bind(pp).bind(pe).bind(pa).bind(pb).bind(now)
        .fetch_one(&mut *conn).await?);
    append_events(tx, id, case, 0).await?;
    Ok(id)
}

fn proposal_cols(
    case: &DisputeCase,
) -> (
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<&'static str>,
) {
    match &case.proposal {
        Some((p, by)) => (
            Some(p.payer.clone()),
            Some(p.payee.clone()),
            Some(p.amount_fen),
            Some(by.as_str()),
        ),
        None => (None, None, None, None),
    }
}

async fn append_events(tx: &mut Tx, id: i64, case: &DisputeCase, from: usize) -> StoreResult<()> {
    for (i, e) in case.history.iter().enumerate().skip(from) {
        on_tx!(tx, conn => sqlx::query(
            "INSERT INTO dispute_events (case_id, seq, at, actor, action, note, stage) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(id).bind(i as i64 + 1).bind(stamp(e.at)).bind(&e.actor).bind(&e.action).bind(&e.note).bind(e.stage.as_str())
            .execute(&mut *conn).await.map(|_| ())?);
    }
    Ok(())
}

/// Writes a changed case back: the row, the events after `before.history`, the evidence after
/// `before.evidence` (whose content is `new_evidence`, in order), and the adjustment
/// reference when one was made.
pub async fn save_case(
    tx: &mut Tx,
    before: &StoredCase,
    after: &DisputeCase,
    new_evidence: &[EvidenceFile],
    adjustment_ref: Option<&str>,
    now: Timestamp,
) -> StoreResult<()> {
    let (pp, pe, pa, pb) = proposal_cols(after);
    let (op, oe, oa) = match &after.outcome {
        Some(o) => (
            Some(o.payer.clone()),
            Some(o.payee.clone()),
            Some(o.amount_fen),
        ),
        None => (None, None, None),
    };
    let n = on_tx!(tx, conn => sqlx::query(concat!(
        "UPDATE dispute_cases SET stage = $1, deadline = $2, overdue = $3, proposal_payer = $4, proposal_payee = $5, ",
        "proposal_amount_fen = $6, proposal_by = $7, outcome_payer = $8, outcome_payee = $9, outcome_amount_fen = $10, ",
        "adjustment_ref = COALESCE($11, adjustment_ref), updated_at = $12 WHERE id = $13 AND stage = $14"))
        .bind(after.stage.as_str()).bind(stamp(after.deadline)).bind(after.overdue).bind(pp).bind(pe).bind(pa).bind(pb)
        .bind(op).bind(oe).bind(oa).bind(adjustment_ref).bind(now).bind(before.id).bind(before.case.stage.as_str())
        .execute(&mut *conn).await?.rows_affected());
    if n != 1 {
        return Err(StoreError::Corrupt(format!(
            "dispute case {} changed while it was being updated",
            before.id
        )));
    }
    append_events(tx, before.id, after, before.case.history.len()).await?;
    let first = before.case.evidence.len();
    for (i, (e, file)) in after
        .evidence
        .iter()
        .skip(first)
        .zip(new_evidence)
        .enumerate()
    {
        on_tx!(tx, conn => sqlx::query(
            "INSERT INTO dispute_evidence (case_id, seq, name, sha256, bytes, stored_path, added_by, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(before.id).bind((first + i) as i64 + 1).bind(&e.name).bind(&e.sha256).bind(file.bytes).bind(&file.stored_path)
            .bind(&e.added_by).bind(stamp(e.at))
            .execute(&mut *conn).await.map(|_| ())?);
    }
    Ok(())
}

/// Loads a case inside a transaction, locking its row on PostgreSQL (SQLite's `BEGIN
/// IMMEDIATE` already serialises writers).
pub async fn load_case_for_update(tx: &mut Tx, id: i64) -> StoreResult<Option<StoredCase>> {
    let lock = match tx {
        Tx::Postgres(_) => " FOR UPDATE",
        Tx::Sqlite(_) => "",
    };
    let sql = format!("SELECT {CASE_COLUMNS} FROM dispute_cases WHERE id = $1{lock}");
    let row: Option<CaseRow> = on_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?);
    let Some(row) = row else {
        return Ok(None);
    };
    let events: Vec<EventRow> = on_tx!(tx, conn => sqlx::query_as(
        "SELECT seq, at, actor, action, note, stage FROM dispute_events WHERE case_id = $1 ORDER BY seq")
        .bind(id).fetch_all(&mut *conn).await?);
    let evidence: Vec<EvidenceRow> = on_tx!(tx, conn => sqlx::query_as(
        "SELECT seq, name, sha256, bytes, stored_path, added_by, at FROM dispute_evidence WHERE case_id = $1 ORDER BY seq")
        .bind(id).fetch_all(&mut *conn).await?);
    assemble(row, events, evidence).map(Some)
}

/// Filters of case lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    /// Cases where this participant is claimant or respondent.
    pub participant: Option<String>,
    /// Only cases in this stage.
    pub stage: Option<Stage>,
    /// Only cases still waiting for someone (not accepted or closed).
    pub open_only: bool,
}

impl Store {
    /// One case with its history and evidence.
    pub async fn case(&self, id: i64) -> StoreResult<Option<StoredCase>> {
        let sql = format!("SELECT {CASE_COLUMNS} FROM dispute_cases WHERE id = $1");
        let row: Option<CaseRow> = on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?);
        let Some(row) = row else {
            return Ok(None);
        };
        let events: Vec<EventRow> = on_db!(self, pool => sqlx::query_as(
            "SELECT seq, at, actor, action, note, stage FROM dispute_events WHERE case_id = $1 ORDER BY seq")
            .bind(id).fetch_all(pool).await?);
        let evidence: Vec<EvidenceRow> = on_db!(self, pool => sqlx::query_as(
            "SELECT seq, name, sha256, bytes, stored_path, added_by, at FROM dispute_evidence WHERE case_id = $1 ORDER BY seq")
            .bind(id).fetch_all(pool).await?);
        assemble(row, events, evidence).map(Some)
    }

    /// Cases matching `filter`, by id (with their history).
    pub async fn cases(&self, filter: &CaseFilter) -> StoreResult<Vec<StoredCase>> {
        let mut wheres = Vec::new();
        let mut binds = Vec::new();
        if let Some(p) = &filter.participant {
            binds.push(p.clone());
            wheres.push(format!(
                "(claimant = ${n} OR respondent = ${n})",
                n = binds.len()
            ));
        }
        if let Some(s) = filter.stage {
            binds.push(s.as_str().to_string());
            wheres.push(format!("stage = ${}", binds.len()));
        }
        if filter.open_only {
            wheres.push("stage NOT IN ('accepted', 'closed')".into());
        }
        let mut sql = "SELECT id FROM dispute_cases".to_string();
        if !wheres.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&wheres.join(" AND "));
        }
        sql.push_str(" ORDER BY id");
        let ids: Vec<i64> = on_db!(self, pool => {
            let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()));
            for b in &binds {
                q = q.bind(b.clone());
            }
            q.fetch_all(pool).await?
        });
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(c) = self.case(id).await? {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// Ids of cases whose deadline has passed at `now` and that may still change by it
    /// (opened, evidence requested, proposed; escalated ones not yet flagged overdue).
    pub async fn due_cases(&self, now: Timestamp) -> StoreResult<Vec<i64>> {
        let ids: Vec<i64> = on_db!(self, pool => sqlx::query_scalar(concat!(
            "SELECT id FROM dispute_cases WHERE deadline <= $1 AND (stage IN ('opened', 'evidence_requested', 'proposed') ",
            "OR (stage = 'escalated' AND overdue = $2)) ORDER BY id"))
            .bind(now).bind(false).fetch_all(pool).await?);
        Ok(ids)
    }

    /// Cases decided (stage accepted) whose adjustment has cleared in a closed window, or
    /// that had nothing to pay: `(id, adjustment reference if any, window day if any)`.
    pub async fn cases_to_close(&self) -> StoreResult<Vec<(i64, Option<String>, Option<String>)>> {
        let rows: Vec<(i64, Option<String>, Option<String>)> = on_db!(self, pool => sqlx::query_as(concat!(
            "SELECT c.id, c.adjustment_ref, a.window_day FROM dispute_cases c ",
            "LEFT JOIN adjustments a ON a.reference = c.adjustment_ref ",
            "LEFT JOIN windows w ON w.day = a.window_day ",
            "WHERE c.stage = 'accepted' AND (c.adjustment_ref IS NULL OR w.day IS NOT NULL) ORDER BY c.id"))
            .fetch_all(pool).await?);
        Ok(rows)
    }
}
