//! Reconciliation of a settlement day (DESIGN.md flows 6–7): partners' results matched against
//! what the hub sent them, the card-level audit, late presentments — every difference stored
//! once as a discrepancy — and the resolution rules applied to what they decide.
//!
//! The steps are library functions that take a [`Store`], a [`Vault`] and the time, so the CLI
//! (`hutong reconcile`), the scheduler and `hutong demo` call the same code:
//!
//! | function | what |
//! |---|---|
//! | [`ingest_results`] / [`ingest_pending_results`] | store partners' result files (`hutong-xml` `<ResultFile>`) |
//! | [`reconcile_day`] | everything below for one day, then [`resolve_open`] and [`close_settled`] |
//! | [`find_discrepancies`] | matching, audit, late presentment for one day; stores what is new |
//! | [`resolve_open`] | apply the rules to open discrepancies: adjust, resend, monitor or open a dispute |
//! | [`close_settled`] | close discrepancies and cases whose adjustment has cleared in a closed window |
//!
//! # What "sent" means
//!
//! After day D's window closes, each issuer-side participant P gets an outbound package with
//! the window's records of P's cards acquired by someone else (`crate::outbound`). The records
//! *behind that package* are what the hub sent P for D: exactly the records D's window cleared
//! between P and the acquirers (a record the format could not carry was cleared but not
//! delivered, and shows as missing at P). Records re-sent to P by the `resend_missing` rule and
//! not answered yet are added to the next result file's "sent" set.
//!
//! # Idempotency
//!
//! Each finding has a fingerprint (its type, the records it names — or, when it names none, the
//! partner and the transaction — and, for matching findings, the day). A discrepancy with the
//! same fingerprint is never stored twice, so running a day again stores nothing new, and a
//! card-audit finding seen again on a later day is not stored again.

mod resolve;
mod results;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use chrono::NaiveDate;
use reconciliation::audit::{audit_card, is_late_presentment};
use reconciliation::dispute::DeadlineTable;
use reconciliation::matching::{
    DeclaredTotals, PartnerResult, ResultStatus, SentRecord, match_results,
};
use reconciliation::resolution::ResolutionRules;
use reconciliation::{DiscrepancyType, Finding, Flow};
use serde::{Deserialize, Serialize};

use crate::settings::HubSettings;
use crate::store::reconcile::{
    CardKey, NewDiscrepancy, SentRow, answer_resend, insert_discrepancy, rejected_card_events,
};
use crate::store::{NewAuditEntry, Store, StoreError, Timestamp, append_audit};
use crate::vault::Vault;

pub use resolve::{ResolveSummary, close_settled, open_dispute, resolve_open};
pub use results::{ResultsOutcome, ingest_pending_results, ingest_results};

/// How reconciliation is configured: one TOML file (`hutong reconcile --rules FILE`, `reconcile`
/// in `hutong serve`'s configuration) with the tables `[reconcile]`, `[resolution]` (the rules,
/// [`ResolutionRules`]) and `[disputes.default]` / `[disputes.<scheme>]` (the deadlines,
/// [`DeadlineTable`]). Absent keys keep their defaults.
///
/// ```toml
/// [reconcile]
/// late_presentment_days = 1     # a record older than its window's cut-off by more than this is late
///
/// [resolution]
/// write_off_below_fen = 100
/// write_off_account = "WRITEOFF"
///
/// [disputes.mot]
/// respond_days = 10
/// evidence_days = 20
/// accept_days = 10
/// arbitration_days = 15
/// ```
#[derive(Debug, Clone)]
pub struct ReconcileSettings {
    /// The resolution rules.
    pub rules: ResolutionRules,
    /// Dispute deadlines per scheme.
    pub deadlines: DeadlineTable,
    /// A record whose terminal time is more than this many days before its window's cut-off is
    /// a late presentment.
    pub late_presentment_days: i64,
    /// The hub's code (sender of resend files), cut-off (which instant a window's day ends
    /// at) and local time.
    pub hub: HubSettings,
}

impl Default for ReconcileSettings {
    fn default() -> Self {
        ReconcileSettings {
            rules: ResolutionRules::default(),
            deadlines: DeadlineTable::default(),
            late_presentment_days: 1,
            hub: HubSettings::default(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReconcileTable {
    late_presentment_days: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct ReconcileFile {
    #[serde(default)]
    reconcile: ReconcileTable,
}

impl ReconcileSettings {
    /// Reads the rules, deadlines and `[reconcile]` table from TOML text (other tables are
    /// ignored, so the file can be shared with other configuration).
    pub fn with_toml(mut self, text: &str) -> Result<Self, String> {
        self.rules = ResolutionRules::from_toml(text).map_err(|e| e.to_string())?;
        self.deadlines = DeadlineTable::from_toml(text)?;
        let f: ReconcileFile = toml::from_str(text).map_err(|e| e.to_string())?;
        if let Some(d) = f.reconcile.late_presentment_days {
            if d < 0 {
                return Err("[reconcile] late_presentment_days must not be negative".into());
            }
            self.late_presentment_days = d;
        }
        if self.rules.write_off_below_fen < 0 || self.rules.max_resends > 10 {
            return Err(
                "[resolution] write_off_below_fen must be ≥ 0 and max_resends at most 10".into(),
            );
        }
        Ok(self)
    }

    /// [`ReconcileSettings::with_toml`] on a file; the error names the file.
    pub fn with_file(self, path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        self.with_toml(&text)
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Why reconciliation could not run or an action was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading or writing a file.
    #[error("{0}")]
    Io(String),
    /// Input that makes no sense (a day with no closed window, a file that is not uploaded…).
    #[error("{0}")]
    BadInput(String),
    /// Something named that does not exist.
    #[error("{0} does not exist")]
    NotFound(String),
}

impl From<crate::disputes::CaseError> for ReconcileError {
    fn from(e: crate::disputes::CaseError) -> ReconcileError {
        match e {
            crate::disputes::CaseError::Store(s) => ReconcileError::Store(s),
            crate::disputes::CaseError::NotFound(id) => {
                ReconcileError::NotFound(format!("dispute case {id}"))
            }
            other => ReconcileError::BadInput(other.to_string()),
        }
    }
}

/// What one partner's matching found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartnerMatch {
    /// The partner.
    pub partner: String,
    /// The result file matched (the latest stored one for the day).
    pub result_file: i64,
    /// Records sent (the window's package plus unanswered resends).
    pub sent: usize,
    /// Result lines.
    pub results: usize,
    /// Findings.
    pub findings: usize,
}

/// What [`find_discrepancies`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FindSummary {
    /// Partners matched.
    pub partners: Vec<PartnerMatch>,
    /// Partners with a package for the day but no stored result file yet.
    pub awaiting_results: Vec<String>,
    /// Cards audited.
    pub cards: u64,
    /// Records the audit read.
    pub audit_records: u64,
    /// Findings per type (new and already known).
    pub findings: BTreeMap<String, usize>,
    /// Discrepancies stored now.
    pub new: Vec<i64>,
    /// Findings already stored earlier.
    pub known: usize,
}

/// What [`reconcile_day`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReconcileSummary {
    /// The day.
    pub day: Option<NaiveDate>,
    /// Result files processed now.
    pub result_files: Vec<ResultsOutcome>,
    /// Finding.
    #[serde(flatten)]
    pub found: FindSummary,
    /// Resolution.
    pub resolved: ResolveSummary,
    /// Discrepancies closed because their adjustment cleared.
    pub closed: Vec<i64>,
}

/// Reconciles day `day` (its window must be closed): stores pending result files, finds the
/// day's discrepancies, applies the resolution rules, and closes what has cleared. Running it
/// again changes nothing that was done.
pub async fn reconcile_day(
    store: &Store,
    vault: &Vault,
    settings: &ReconcileSettings,
    day: NaiveDate,
    now: Timestamp,
    outbox: Option<&tokio::sync::Notify>,
) -> Result<ReconcileSummary, ReconcileError> {
    let result_files = ingest_pending_results(store, vault, now).await?;
    let found = find_discrepancies(store, settings, day, now).await?;
    let resolved = resolve_open(store, vault, settings, now, outbox).await?;
    let closed = close_settled(store, now).await?;
    Ok(ReconcileSummary {
        day: Some(day),
        result_files,
        found,
        resolved,
        closed,
    })
}

fn fingerprint(parts: serde_json::Value) -> String {
    hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        parts.to_string().as_bytes(),
    ))
}

/// A finding with what storing it needs.
struct Found {
    finding: Finding,
    fingerprint: String,
    scheme: Option<String>,
    files: Vec<i64>,
}

/// Finds day `day`'s discrepancies — matching of every partner's latest result file, the card
/// audit over the cards of the day's window, late presentments — and stores the new ones (one
/// transaction). The day's window must be closed.
pub async fn find_discrepancies(
    store: &Store,
    settings: &ReconcileSettings,
    day: NaiveDate,
    now: Timestamp,
) -> Result<FindSummary, ReconcileError> {
    if store.closed_window(day).await?.is_none() {
        return Err(ReconcileError::BadInput(format!(
            "the settlement window of {day} is not closed: close it first (hutong clear --day {day})"
        )));
    }
    let mut summary = FindSummary::default();
    let mut found: Vec<Found> = Vec::new();
    let mut answered_resends: Vec<(i64, i64)> = Vec::new();

    // 1. Matching, per partner, against the latest stored result file of the day.
    let mut latest: BTreeMap<String, crate::store::reconcile::ResultFileInfo> = BTreeMap::new();
    for f in store.result_files_of_day(day).await? {
        if f.status == "stored" {
            latest.insert(f.partner.clone(), f);
        }
    }
    for p in store.participants().await? {
        if !latest.contains_key(&p.code) && store.window_output(day, "outbound", &p.code).await? {
            summary.awaiting_results.push(p.code.clone());
        }
    }
    for (partner, rf) in &latest {
        let received = store
            .file(rf.file_id)
            .await?
            .map(|f| f.received_at)
            .unwrap_or(now);
        let mut sent: Vec<SentRow> = store.sent_records(day, partner).await?.unwrap_or_default();
        let resends = store.pending_resends(partner, received).await?;
        let in_window: BTreeSet<i64> = sent.iter().map(|s| s.record_id).collect();
        for (resend_id, row) in resends {
            answered_resends.push((resend_id, rf.file_id));
            if !in_window.contains(&row.record_id) {
                sent.push(row);
            }
        }
        let lines = store.result_lines(rf.file_id).await?;
        let declared = store.result_declared(rf.file_id).await?;
        let sent_records: Vec<SentRecord> = sent
            .iter()
            .map(|s| SentRecord {
                record_id: s.record_id,
                key: s.key,
                amount_fen: s.amount_fen,
                acquirer: s.acquirer.clone(),
            })
            .collect();
        let results: Vec<PartnerResult> = lines
            .iter()
            .map(|l| PartnerResult {
                key: l.key,
                amount_fen: l.amount_fen,
                status: if l.accepted {
                    ResultStatus::Confirmed
                } else {
                    ResultStatus::Rejected {
                        code: l.code.clone().unwrap_or_default(),
                        reason: l.reason.clone().unwrap_or_default(),
                    }
                },
            })
            .collect();
        // Declared totals are compared with what was sent for the day and resent since.
        let declared = declared.map(|d| DeclaredTotals {
            count: u64::try_from(d.count).unwrap_or(0),
            amount_fen: d.amount_fen,
        });
        let findings = match_results(partner, &sent_records, &results, declared);
        let by_record: HashMap<i64, &SentRow> = sent.iter().map(|s| (s.record_id, s)).collect();
        let by_key: HashMap<String, &reconciliation::matching::PartnerResult> =
            results.iter().map(|r| (r.key.to_string(), r)).collect();
        summary.partners.push(PartnerMatch {
            partner: partner.clone(),
            result_file: rf.file_id,
            sent: sent.len(),
            results: results.len(),
            findings: findings.len(),
        });
        for f in findings {
            let rows: Vec<&SentRow> = f
                .records
                .iter()
                .filter_map(|r| by_record.get(r).copied())
                .collect();
            let mut files: Vec<i64> = rows.iter().map(|r| r.file_id).collect();
            files.push(rf.file_id);
            files.sort_unstable();
            files.dedup();
            let scheme = rows
                .first()
                .map(|r| r.key.scheme.as_str().to_string())
                .or_else(|| {
                    by_key
                        .keys()
                        .find(|k| f.detail.contains(k.as_str()))
                        .and_then(|k| k.split(':').next())
                        .map(str::to_string)
                });
            let fp = if f.records.is_empty() {
                fingerprint(serde_json::json!([
                    f.kind.as_str(),
                    day.to_string(),
                    partner,
                    f.detail
                ]))
            } else {
                fingerprint(serde_json::json!([
                    f.kind.as_str(),
                    day.to_string(),
                    partner,
                    f.records
                ]))
            };
            found.push(Found {
                finding: f,
                fingerprint: fp,
                scheme,
                files,
            });
        }
    }

    // 2. The card audit over every card with a record in the day's window.
    let rejected = rejected_card_events(store, Some(day)).await?;
    let mut audit_found: Vec<Found> = Vec::new();
    let mut cards = 0u64;
    let records = store
        .stream_cards(Some(day), |c| {
            cards += 1;
            audit_found.extend(audit_one(c, &rejected));
        })
        .await?;
    summary.cards = cards;
    summary.audit_records = records;
    for f in &mut audit_found {
        f.files = store.files_of_records(&f.finding.records).await?;
    }
    found.extend(audit_found);

    // 3. Late presentment: per inbound file and issuer side, the records presented late.
    let cutoff_local = settings.hub.local_time(settings.hub.cutoff.instant(day));
    // (file, issuer side, acquirer) → (records, amount, scheme, flow)
    type LateGroup = (Vec<i64>, i64, String, Option<Flow>);
    let mut late: BTreeMap<(i64, String, String), LateGroup> = BTreeMap::new();
    let days = settings.late_presentment_days;
    store
        .stream_window_times(day, |r| {
            if is_late_presentment(r.tx_time, cutoff_local, days) {
                let flow = r.kind.parse().ok().and_then(Flow::of);
                let e = late
                    .entry((r.file_id, r.issuer_participant, r.acquirer))
                    .or_insert_with(|| (Vec::new(), 0, r.scheme.clone(), flow));
                e.0.push(r.id);
                e.1 += r.amount_fen;
            }
        })
        .await?;
    for ((file_id, issuer, acquirer), (records, amount, scheme, flow)) in late {
        let mut participants = vec![acquirer.clone(), issuer.clone()];
        participants.sort();
        participants.dedup();
        let detail = format!(
            "{} record(s) of file {file_id} acquired by {acquirer} were presented more than {days} day(s) after the cut-off they belonged to",
            records.len()
        );
        found.push(Found {
            fingerprint: fingerprint(serde_json::json!(["late_presentment", records])),
            finding: Finding {
                kind: DiscrepancyType::LatePresentment,
                participants,
                acquirer: Some(acquirer),
                issuer: Some(issuer),
                flow,
                records,
                amount_fen: amount.max(0),
                detail,
            },
            scheme: Some(scheme),
            files: vec![file_id],
        });
    }

    // 4. Store what is new, in one transaction.
    let mut tx = store.begin().await?;
    for f in &found {
        *summary
            .findings
            .entry(f.finding.kind.as_str().to_string())
            .or_default() += 1;
        let new = insert_discrepancy(
            &mut tx,
            &NewDiscrepancy {
                fingerprint: f.fingerprint.clone(),
                day,
                finding: f.finding.clone(),
                scheme: f.scheme.clone(),
                files: f.files.clone(),
            },
            now,
        )
        .await?;
        match new {
            Some(id) => summary.new.push(id),
            None => summary.known += 1,
        }
    }
    let mut answered = Vec::new();
    for (resend_id, file_id) in &answered_resends {
        if let Some(d) = answer_resend(&mut tx, *resend_id, *file_id).await? {
            answered.push((d, *file_id));
        }
    }
    let detail = format!(
        "{} findings, {} new discrepancies, {} known, {} cards audited",
        found.len(),
        summary.new.len(),
        summary.known,
        summary.cards
    );
    let target = format!("day:{day}");
    append_audit(
        &mut tx,
        &NewAuditEntry {
            participant: None,
            action: "reconcile.find",
            target: Some(&target),
            result: "ok",
            detail: Some(&detail),
        },
    )
    .await?;
    tx.commit().await?;
    for (discrepancy, file_id) in answered {
        resolve::close_answered_resend(store, discrepancy, file_id, &summary.new, now).await?;
    }
    Ok(summary)
}

/// Audits one card's records (with the rejected records that used its counters).
fn audit_one(
    c: crate::store::reconcile::CardRecords,
    rejected: &HashMap<CardKey, Vec<reconciliation::audit::CardEvent>>,
) -> Vec<Found> {
    let mut events = c.events;
    if let Some(extra) = rejected.get(&c.card) {
        for e in extra {
            let twin = events.iter().any(|a| {
                a.kind == e.kind
                    && a.card_seq == e.card_seq
                    && a.terminal == e.terminal
                    && a.terminal_seq == e.terminal_seq
            });
            if !twin {
                let mut e = e.clone();
                e.single_counter = events.first().is_some_and(|a| a.single_counter);
                events.push(e);
            }
        }
    }
    let loads_visible = c.card.scheme == "local";
    let card = c.card.to_string();
    let mut out: Vec<Found> = audit_card(&card, &c.issuer_participant, &mut events, loads_visible)
        .into_iter()
        .filter_map(|mut f| {
            // Rejected records (negative ids) are context, never a stored record.
            f.records.retain(|r| *r > 0);
            if f.records.is_empty() {
                return None;
            }
            let fp = fingerprint(serde_json::json!([f.kind.as_str(), f.records]));
            Some(Found {
                finding: f,
                fingerprint: fp,
                scheme: Some(c.card.scheme.clone()),
                files: Vec::new(),
            })
        })
        .collect();
    for id in c.tac_invalid {
        let Some(e) = events.iter().find(|e| e.record_id == id) else {
            continue;
        };
        let mut participants = vec![e.acquirer.clone(), c.issuer_participant.clone()];
        participants.sort();
        participants.dedup();
        out.push(Found {
            fingerprint: fingerprint(serde_json::json!(["tac_invalid", [id]])),
            finding: Finding {
                kind: DiscrepancyType::TacInvalid,
                participants,
                acquirer: Some(e.acquirer.clone()),
                issuer: Some(c.issuer_participant.clone()),
                flow: Flow::of(e.kind),
                records: vec![id],
                amount_fen: e.amount_fen,
                detail: format!("card {card}: record {id}'s TAC does not verify"),
            },
            scheme: Some(c.card.scheme.clone()),
            files: Vec::new(),
        });
    }
    out
}

/// The whole-database card audit (every stored card), for the benchmark: returns (cards,
/// records, findings). Stores nothing.
pub async fn audit_all(store: &Store) -> Result<(u64, u64, usize), ReconcileError> {
    let rejected = rejected_card_events(store, None).await?;
    let mut cards = 0u64;
    let mut findings = 0usize;
    let records = store
        .stream_cards(None, |c| {
            cards += 1;
            findings += audit_one(c, &rejected).len();
        })
        .await?;
    Ok((cards, records, findings))
}
