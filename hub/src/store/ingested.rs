//! The outcome of each ingested file (`file_results`) and the blacklist as stored
//! (`blacklist_entries`).

use card_standards::{CardSerial, IssuerId, Scheme};
use chrono::NaiveDateTime;
use serde::Serialize;
use sqlx::FromRow;

use super::{FileStatus, Store, StoreError, StoreResult, Timestamp, Tx, on_db, on_tx};

/// What a file holds, as far as ingest is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Content {
    /// Card transactions.
    Transactions,
    /// Blacklist changes.
    Blacklist,
}

impl Content {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Content::Transactions => "transactions",
            Content::Blacklist => "blacklist",
        }
    }
}

/// The outcome of one ingested file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileResult {
    /// The file.
    pub file_id: i64,
    /// Its uploader.
    pub sender: String,
    /// What it holds, once its format was recognised.
    pub content: Option<Content>,
    /// Its format, once recognised.
    pub format: Option<String>,
    /// The sequence number in its header, once read.
    pub sender_seq: Option<i64>,
    /// `accepted`, `partially_accepted` or `rejected`.
    pub status: FileStatus,
    /// Records read (for a whole-file rejection: those read before it).
    pub records: i64,
    /// Records accepted.
    pub accepted: i64,
    /// Records rejected.
    pub rejected: i64,
    /// Total amount of the records read, fen.
    pub total_fen: i64,
    /// Total amount of the records accepted, fen.
    pub accepted_fen: i64,
    /// For a whole-file rejection: `F01`…`F05`.
    pub code: Option<String>,
    /// The field the whole-file rejection names.
    pub field: Option<String>,
    /// Why the file was rejected whole.
    pub reason: Option<String>,
    /// Where in the file the whole-file problem is, if at a record.
    pub record_no: Option<i64>,
    /// When it was ingested.
    pub ingested_at: Timestamp,
    /// When its result file (and blacklist changes) were deposited.
    pub outputs_at: Option<Timestamp>,
    /// The result file deposited in the sender's outbox.
    pub result_file_id: Option<i64>,
}

#[derive(FromRow)]
struct FileResultRow {
    file_id: i64,
    sender: String,
    content: Option<String>,
    format: Option<String>,
    sender_seq: Option<i64>,
    status: String,
    records: i64,
    accepted: i64,
    rejected: i64,
    total_fen: i64,
    accepted_fen: i64,
    code: Option<String>,
    field: Option<String>,
    reason: Option<String>,
    record_no: Option<i64>,
    ingested_at: Timestamp,
    outputs_at: Option<Timestamp>,
    result_file_id: Option<i64>,
}

impl TryFrom<FileResultRow> for FileResult {
    type Error = StoreError;
    fn try_from(r: FileResultRow) -> StoreResult<FileResult> {
        Ok(FileResult {
            file_id: r.file_id,
            sender: r.sender,
            content: match r.content.as_deref() {
                None => None,
                Some("transactions") => Some(Content::Transactions),
                Some("blacklist") => Some(Content::Blacklist),
                Some(other) => {
                    return Err(StoreError::Corrupt(format!("file_results.content {other}")));
                }
            },
            format: r.format,
            sender_seq: r.sender_seq,
            status: r.status.parse().map_err(StoreError::Corrupt)?,
            records: r.records,
            accepted: r.accepted,
            rejected: r.rejected,
            total_fen: r.total_fen,
            accepted_fen: r.accepted_fen,
            code: r.code,
            field: r.field,
            reason: r.reason,
            record_no: r.record_no,
            ingested_at: r.ingested_at,
            outputs_at: r.outputs_at,
            result_file_id: r.result_file_id,
        })
    }
}

const RESULT_COLUMNS: &str = "file_id, sender, content, format, sender_seq, status, records, \
     accepted, rejected, total_fen, accepted_fen, code, field, reason, record_no, ingested_at, \
     outputs_at, result_file_id";

/// Records a file's outcome (in the transaction that applies it, with the file's status).
pub async fn insert_file_result(tx: &mut Tx, r: &FileResult) -> StoreResult<()> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO file_results (file_id, sender, content, format, sender_seq, status, \
             records, accepted, rejected, total_fen, accepted_fen, code, field, reason, \
             record_no, ingested_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(r.file_id)
        .bind(&r.sender)
        .bind(r.content.map(Content::as_str))
        .bind(&r.format)
        .bind(r.sender_seq)
        .bind(r.status.as_str())
        .bind(r.records)
        .bind(r.accepted)
        .bind(r.rejected)
        .bind(r.total_fen)
        .bind(r.accepted_fen)
        .bind(&r.code)
        .bind(&r.field)
        .bind(&r.reason)
        .bind(r.record_no)
        .bind(r.ingested_at)
        .execute(&mut *conn)
        .await
        .map(|_| ())?
    });
    Ok(())
}

/// The applied file (accepted or partially accepted) of `sender` that used `seq` for
/// `content`, if any: `(file_id, name)`.
pub async fn seq_used_by(
    tx: &mut Tx,
    sender: &str,
    content: Content,
    seq: i64,
) -> StoreResult<Option<(i64, String)>> {
    Ok(on_tx!(tx, conn => {
        sqlx::query_as(
            "SELECT r.file_id, f.name FROM file_results r JOIN files f ON f.id = r.file_id \
             WHERE r.sender = $1 AND r.content = $2 AND r.sender_seq = $3 \
             AND r.status <> 'rejected'",
        )
        .bind(sender)
        .bind(content.as_str())
        .bind(seq)
        .fetch_optional(&mut *conn)
        .await?
    }))
}

/// One stored blacklist entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlacklistEntry {
    /// Id (ties of `effective` are broken by it: the later wins).
    pub id: i64,
    /// The file it came in.
    pub file_id: i64,
    /// The entry.
    pub entry: adapters::Entry,
    /// Whether it changed its card's state.
    pub changed: bool,
}

#[derive(FromRow)]
struct BlacklistRow {
    id: i64,
    file_id: i64,
    scheme: String,
    issuer_code: String,
    city_code: String,
    card_serial: String,
    action: String,
    effective: NaiveDateTime,
    reason: String,
    changed: bool,
}

impl TryFrom<BlacklistRow> for StoredBlacklistEntry {
    type Error = StoreError;
    fn try_from(r: BlacklistRow) -> StoreResult<StoredBlacklistEntry> {
        let bad =
            |what: &str, v: &str| StoreError::Corrupt(format!("blacklist_entries.{what} {v}"));
        Ok(StoredBlacklistEntry {
            id: r.id,
            file_id: r.file_id,
            entry: adapters::Entry {
                scheme: r
                    .scheme
                    .parse::<Scheme>()
                    .map_err(|_| bad("scheme", &r.scheme))?,
                issuer: IssuerId {
                    issuer_code: r
                        .issuer_code
                        .parse()
                        .map_err(|_| bad("issuer_code", &r.issuer_code))?,
                    city_code: r
                        .city_code
                        .parse()
                        .map_err(|_| bad("city_code", &r.city_code))?,
                },
                card: r
                    .card_serial
                    .parse::<CardSerial>()
                    .map_err(|_| bad("card_serial", &r.card_serial))?,
                action: r.action.parse().map_err(|_| bad("action", &r.action))?,
                effective: r.effective,
                reason: r.reason,
            },
            changed: r.changed,
        })
    }
}

const BLACKLIST_COLUMNS: &str = "id, file_id, scheme, issuer_code, city_code, card_serial, action, \
     effective, reason, changed";

/// Every stored blacklist entry, oldest first (read inside the ingest transaction, so that
/// the checks see exactly what is committed).
pub async fn load_blacklist(tx: &mut Tx) -> StoreResult<Vec<StoredBlacklistEntry>> {
    let rows: Vec<BlacklistRow> = on_tx!(tx, conn => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {BLACKLIST_COLUMNS} FROM blacklist_entries ORDER BY id"
        )))
        .fetch_all(&mut *conn)
        .await?
    });
    rows.into_iter()
        .map(StoredBlacklistEntry::try_from)
        .collect()
}

/// Every route, read inside a transaction.
pub async fn load_routes(tx: &mut Tx) -> StoreResult<Vec<(String, String, String, String)>> {
    Ok(on_tx!(tx, conn => {
        sqlx::query_as("SELECT scheme, issuer_code, city_code, participant FROM routes")
            .fetch_all(&mut *conn)
            .await?
    }))
}

/// Takes the lock that serialises blacklist ingests on PostgreSQL (so that whether an entry
/// changed its card's state is decided against every earlier entry); SQLite's `BEGIN
/// IMMEDIATE` already serialises all writers.
pub async fn lock_blacklist(tx: &mut Tx) -> StoreResult<()> {
    if let Tx::Postgres(t) = tx {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(0x6875_7462_6c6b_i64) // "hutblk"
            .execute(&mut **t)
            .await?;
    }
    Ok(())
}

/// Locks an inbound file for ingest and re-reads its status: `false` when it is no longer
/// `received` or another replica holds it (PostgreSQL `FOR UPDATE SKIP LOCKED`).
pub async fn claim_for_ingest(tx: &mut Tx, file_id: i64) -> StoreResult<bool> {
    let row: Option<(i64,)> = match tx {
        Tx::Postgres(t) => {
            sqlx::query_as(
                "SELECT id FROM files WHERE id = $1 AND status = 'received' \
                 FOR UPDATE SKIP LOCKED",
            )
            .bind(file_id)
            .fetch_optional(&mut **t)
            .await?
        }
        Tx::Sqlite(t) => {
            sqlx::query_as("SELECT id FROM files WHERE id = $1 AND status = 'received'")
                .bind(file_id)
                .fetch_optional(&mut **t)
                .await?
        }
    };
    Ok(row.is_some())
}

impl Store {
    /// A file's outcome, once ingested.
    pub async fn file_result(&self, file_id: i64) -> StoreResult<Option<FileResult>> {
        let row: Option<FileResultRow> = on_db!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {RESULT_COLUMNS} FROM file_results WHERE file_id = $1"
            )))
            .bind(file_id)
            .fetch_optional(pool)
            .await?
        });
        row.map(FileResult::try_from).transpose()
    }

    /// How many of a file's records were rejected with each code (for `/metrics`).
    pub async fn rejection_counts(&self, file_id: i64) -> StoreResult<Vec<(String, i64)>> {
        let sql = "SELECT code, count(*) FROM rejections WHERE file_id = $1 GROUP BY code";
        Ok(on_db!(self, pool => sqlx::query_as(sql).bind(file_id).fetch_all(pool).await?))
    }

    /// Ingested files whose result file (and blacklist changes) are not yet deposited, oldest
    /// first.
    pub async fn files_pending_outputs(&self, limit: i64) -> StoreResult<Vec<i64>> {
        let rows: Vec<(i64,)> = on_db!(self, pool => {
            sqlx::query_as(
                "SELECT file_id FROM file_results WHERE outputs_at IS NULL ORDER BY file_id LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Records that a file's outputs are deposited.
    pub async fn mark_outputs_done(
        &self,
        file_id: i64,
        result_file_id: Option<i64>,
    ) -> StoreResult<()> {
        let now = Timestamp::now();
        on_db!(self, pool => {
            sqlx::query(
                "UPDATE file_results SET outputs_at = $1, result_file_id = $2 WHERE file_id = $3",
            )
            .bind(now)
            .bind(result_file_id)
            .bind(file_id)
            .execute(pool)
            .await
            .map(|_| ())?
        });
        Ok(())
    }

    /// The accepted entries of a blacklist file that changed their card's state, in file
    /// order: what is distributed to partners.
    pub async fn blacklist_changes_of(&self, file_id: i64) -> StoreResult<Vec<adapters::Entry>> {
        let rows: Vec<BlacklistRow> = on_db!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {BLACKLIST_COLUMNS} FROM blacklist_entries WHERE file_id = $1 AND changed \
                 ORDER BY record_no"
            )))
            .bind(file_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|r| StoredBlacklistEntry::try_from(r).map(|e| e.entry))
            .collect()
    }

    /// Every stored blacklist entry, oldest first.
    pub async fn blacklist_entries(&self) -> StoreResult<Vec<StoredBlacklistEntry>> {
        let rows: Vec<BlacklistRow> = on_db!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {BLACKLIST_COLUMNS} FROM blacklist_entries ORDER BY id"
            )))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(StoredBlacklistEntry::try_from)
            .collect()
    }
}
