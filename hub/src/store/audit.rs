//! The audit log: every request (refusals included) and every state change, hash-chained.
//!
//! Entry `n` stores `prev_hash` = the hash of entry `n - 1` (the first stores
//! [`GENESIS_HASH`]) and `hash` = SHA-256 over its own fields and `prev_hash`. Changing,
//! removing or reordering an entry breaks the chain at that point, and
//! [`Store::verify_audit_chain`] finds it. (Cutting entries off the end leaves a shorter valid
//! chain: anchor the last hash elsewhere — a statement, a partner — to detect that.)
//!
//! Appends are serialised: `pg_advisory_xact_lock` on PostgreSQL (so several replicas share one
//! chain), `BEGIN IMMEDIATE` on SQLite.

use serde::Serialize;
use sqlx::FromRow;

use super::{Store, StoreResult, Timestamp, Tx, on_db, on_tx};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The advisory lock key that serialises audit appends on PostgreSQL ("hutong" in ASCII).
const AUDIT_LOCK_KEY: i64 = 0x6875_746f_6e67;

/// An entry to append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewAuditEntry<'a> {
    /// The participant it is attributed to (from its certificate), if known.
    pub participant: Option<&'a str>,
    /// What was attempted, e.g. `PUT /v1/files/{name}` or `tls.handshake`.
    pub action: &'a str,
    /// What it was attempted on (a path, a file id).
    pub target: Option<&'a str>,
    /// The outcome: an HTTP status, `refused`, `ok`.
    pub result: &'a str,
    /// More words on the outcome.
    pub detail: Option<&'a str>,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromRow)]
pub struct AuditEntry {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub participant: Option<String>,
    /// What.
    pub action: String,
    /// On what.
    pub target: Option<String>,
    /// Outcome.
    pub result: String,
    /// Details.
    pub detail: Option<String>,
    /// Hash of the previous entry.
    pub prev_hash: String,
    /// Hash of this entry.
    pub hash: String,
}

impl AuditEntry {
    /// The hash this entry should have, from its fields and `prev_hash`.
    pub fn expected_hash(&self) -> String {
        chain_hash(
            self.seq,
            self.at,
            self.participant.as_deref(),
            &self.action,
            self.target.as_deref(),
            &self.result,
            self.detail.as_deref(),
            &self.prev_hash,
        )
    }
}

/// The outcome of checking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditVerification {
    /// Entries checked.
    pub entries: u64,
    /// The first entry that does not fit, and why; `None` when the chain is intact.
    pub broken_at: Option<(i64, String)>,
}

impl AuditVerification {
    /// True when the whole chain is intact.
    pub fn is_intact(&self) -> bool {
        self.broken_at.is_none()
    }
}

#[allow(clippy::too_many_arguments)]
fn chain_hash(
    seq: i64,
    at: Timestamp,
    participant: Option<&str>,
    action: &str,
    target: Option<&str>,
    result: &str,
    detail: Option<&str>,
    prev_hash: &str,
) -> String {
    // A JSON array is an unambiguous encoding of the fields (no separator can be forged).
    let canonical = serde_json::json!([
        seq,
        at.to_text(),
        participant,
        action,
        target,
        result,
        detail,
        prev_hash
    ])
    .to_string();
    hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        canonical.as_bytes(),
    ))
}

/// Appends an entry inside `tx` (so a state change and its audit entry commit together).
pub async fn append_audit(tx: &mut Tx, entry: &NewAuditEntry<'_>) -> StoreResult<AuditEntry> {
    if let Tx::Postgres(t) = tx {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(AUDIT_LOCK_KEY)
            .execute(&mut **t)
            .await?;
    }
    let last: Option<(i64, String)> = on_tx!(tx, conn => {
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?
    });
    let (seq, prev_hash) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS_HASH.to_string()),
    };
    let at = Timestamp::now();
    let hash = chain_hash(
        seq,
        at,
        entry.participant,
        entry.action,
        entry.target,
        entry.result,
        entry.detail,
        &prev_hash,
    );
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO audit_log (seq, at, participant, action, target, result, detail, \
             prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(seq)
        .bind(at)
        .bind(entry.participant)
        .bind(entry.action)
        .bind(entry.target)
        .bind(entry.result)
        .bind(entry.detail)
        .bind(&prev_hash)
        .bind(&hash)
        .execute(&mut *conn)
        .await
        .map(|_| ())?
    });
    Ok(AuditEntry {
        seq,
        at,
        participant: entry.participant.map(str::to_string),
        action: entry.action.to_string(),
        target: entry.target.map(str::to_string),
        result: entry.result.to_string(),
        detail: entry.detail.map(str::to_string),
        prev_hash,
        hash,
    })
}

macro_rules! audit_columns {
    () => {
        "seq, at, participant, action, target, result, detail, prev_hash, hash"
    };
}

impl Store {
    /// Appends an entry in its own transaction.
    pub async fn audit(&self, entry: &NewAuditEntry<'_>) -> StoreResult<AuditEntry> {
        let mut tx = self.begin().await?;
        let stored = append_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Entries after `after_seq`, oldest first, at most `limit`.
    pub async fn audit_entries(&self, after_seq: i64, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        Ok(on_db!(self, pool => {
            sqlx::query_as(concat!(
                "SELECT ", audit_columns!(),
                " FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
            ))
            .bind(after_seq)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Walks the whole chain (in pages, never all in memory) and reports the first entry whose
    /// sequence number, `prev_hash` or own hash does not fit.
    pub async fn verify_audit_chain(&self) -> StoreResult<AuditVerification> {
        let mut expected_prev = GENESIS_HASH.to_string();
        let mut expected_seq = 1;
        let mut entries = 0u64;
        loop {
            let page = self.audit_entries(expected_seq - 1, 1000).await?;
            if page.is_empty() {
                return Ok(AuditVerification {
                    entries,
                    broken_at: None,
                });
            }
            for entry in page {
                let problem = if entry.seq != expected_seq {
                    Some(format!(
                        "expected entry {expected_seq}, found {}",
                        entry.seq
                    ))
                } else if entry.prev_hash != expected_prev {
                    Some("prev_hash does not match the previous entry's hash".to_string())
                } else if entry.hash != entry.expected_hash() {
                    Some("hash does not match the entry's contents".to_string())
                } else {
                    None
                };
                if let Some(problem) = problem {
                    return Ok(AuditVerification {
                        entries,
                        broken_at: Some((entry.seq, problem)),
                    });
                }
                entries += 1;
                expected_seq += 1;
                expected_prev = entry.hash;
            }
        }
    }
}
