//! Files: what participants uploaded (`in`) and what the hub addresses to them (`out`).
//!
//! # The seam for ingest (issue 5)
//!
//! An uploaded file is stored durably and recorded with status [`FileStatus::Received`]; the
//! upload's receipt says so. Ingest picks such files up with [`Store::files_with_status`] and
//! moves each on with [`set_file_status`] (a compare-and-set, so two workers cannot
//! both take a file) inside its own transaction. New statuses are added to [`FileStatus`].

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use sqlx::FromRow;

use super::{Store, StoreError, StoreResult, Timestamp, Tx, on_db, on_tx};

/// Which way a file travels, seen from the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Uploaded by a participant to the hub.
    In,
    /// Produced by the hub for a participant (fetched by it, or pushed to its endpoint).
    Out,
}

impl Direction {
    /// `in` or `out`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

impl FromStr for Direction {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "in" => Ok(Direction::In),
            "out" => Ok(Direction::Out),
            other => Err(format!("direction {other:?}: expected in or out")),
        }
    }
}

/// Where a file is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// Inbound, stored durably, waiting for ingest.
    Received,
    /// Outbound, ready to be fetched or pushed.
    Ready,
    /// Inbound partner result file, stored per record by reconciliation
    /// (`crate::reconcile::ingest_results`).
    ResultsStored,
    /// Inbound partner result file refused whole (broken envelope or totals); see
    /// `result_files.error`.
    ResultsRejected,
    /// Inbound, ingested: every record accepted.
    Accepted,
    /// Inbound, ingested: some records accepted, some rejected.
    PartiallyAccepted,
    /// Inbound, ingested: nothing applied (rejected whole, or every record rejected).
    Rejected,
}

impl FileStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Received => "received",
            FileStatus::Ready => "ready",
            FileStatus::ResultsStored => "results_stored",
            FileStatus::ResultsRejected => "results_rejected",
            FileStatus::Accepted => "accepted",
            FileStatus::PartiallyAccepted => "partially_accepted",
            FileStatus::Rejected => "rejected",
        }
    }

    /// Whether ingest is done with the file (one of the three final states).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            FileStatus::Accepted | FileStatus::PartiallyAccepted | FileStatus::Rejected
        )
    }
}

/// What the hub found when it checked an upload's `Hutong-Seal` while the body streamed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SealCheck {
    /// The seal is the SM4-CMAC of the body under the sender's key.
    Valid,
    /// The sender has a seal key but the upload carried no seal.
    Missing,
    /// The seal is not the body's.
    Wrong,
}

impl SealCheck {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SealCheck::Valid => "valid",
            SealCheck::Missing => "missing",
            SealCheck::Wrong => "wrong",
        }
    }
}

impl FromStr for SealCheck {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "valid" => Ok(SealCheck::Valid),
            "missing" => Ok(SealCheck::Missing),
            "wrong" => Ok(SealCheck::Wrong),
            other => Err(format!("seal check {other:?}")),
        }
    }
}

impl fmt::Display for FileStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FileStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "received" => Ok(FileStatus::Received),
            "ready" => Ok(FileStatus::Ready),
            "results_stored" => Ok(FileStatus::ResultsStored),
            "results_rejected" => Ok(FileStatus::ResultsRejected),
            "accepted" => Ok(FileStatus::Accepted),
            "partially_accepted" => Ok(FileStatus::PartiallyAccepted),
            "rejected" => Ok(FileStatus::Rejected),
            other => Err(format!("file status {other:?}")),
        }
    }
}

/// A file as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRecord {
    /// The hub's id for the file.
    pub id: i64,
    /// In (uploaded) or out (addressed to a participant).
    pub direction: Direction,
    /// Who uploaded it (inbound files).
    pub sender: Option<String>,
    /// Who it is for (outbound files).
    pub addressee: Option<String>,
    /// The name it was uploaded or produced under.
    pub name: String,
    /// SHA-256 of the content, lower-case hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: i64,
    /// Where it is in its life.
    pub status: FileStatus,
    /// Path of the content, relative to the data directory.
    pub stored_path: String,
    /// When the hub stored it.
    pub received_at: Timestamp,
    /// Inbound: the `Hutong-Seal` header as presented; outbound: the hub's seal under the
    /// addressee's key (made at deposit).
    pub seal: Option<String>,
    /// Inbound: the seal as checked at upload (`None`: the sender had no seal key).
    pub seal_check: Option<SealCheck>,
    /// Outbound: the check value of the key [`FileRecord::seal`] was made with.
    pub seal_kcv: Option<String>,
}

impl FileRecord {
    /// True when `participant` may read the file: it sent it or it is addressed to it.
    pub fn visible_to(&self, participant: &str) -> bool {
        self.sender.as_deref() == Some(participant)
            || self.addressee.as_deref() == Some(participant)
    }
}

/// A file to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    /// In or out.
    pub direction: Direction,
    /// Sender (required for inbound files).
    pub sender: Option<String>,
    /// Addressee (required for outbound files).
    pub addressee: Option<String>,
    /// Name.
    pub name: String,
    /// SHA-256, lower-case hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: i64,
    /// Initial status.
    pub status: FileStatus,
    /// Path relative to the data directory.
    pub stored_path: String,
}

#[derive(FromRow)]
struct FileRow {
    id: i64,
    direction: String,
    sender: Option<String>,
    addressee: Option<String>,
    name: String,
    sha256: String,
    bytes: i64,
    status: String,
    stored_path: String,
    received_at: Timestamp,
    seal: Option<String>,
    seal_check: Option<String>,
    seal_kcv: Option<String>,
}

impl TryFrom<FileRow> for FileRecord {
    type Error = StoreError;

    fn try_from(r: FileRow) -> StoreResult<FileRecord> {
        Ok(FileRecord {
            id: r.id,
            direction: r.direction.parse().map_err(StoreError::Corrupt)?,
            sender: r.sender,
            addressee: r.addressee,
            name: r.name,
            sha256: r.sha256,
            bytes: r.bytes,
            status: r.status.parse().map_err(StoreError::Corrupt)?,
            stored_path: r.stored_path,
            received_at: r.received_at,
            seal: r.seal,
            seal_check: r
                .seal_check
                .map(|c| c.parse())
                .transpose()
                .map_err(StoreError::Corrupt)?,
            seal_kcv: r.seal_kcv,
        })
    }
}

macro_rules! file_columns {
    () => {
        "id, direction, sender, addressee, name, sha256, bytes, status, stored_path, received_at, \
         seal, seal_check, seal_kcv"
    };
}

/// Records a file unless the same content is already recorded for the same sender (inbound) or
/// addressee (outbound). Returns the record and whether it is new; for a repeat, the first
/// record.
pub async fn insert_file(tx: &mut Tx, file: &NewFile) -> StoreResult<(FileRecord, bool)> {
    let now = Timestamp::now();
    let inserted: Option<FileRow> = on_tx!(tx, conn => {
        sqlx::query_as(concat!(
            "INSERT INTO files (direction, sender, addressee, name, sha256, bytes, status, \
             stored_path, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT DO NOTHING RETURNING ",
            file_columns!()
        ))
        .bind(file.direction.as_str())
        .bind(&file.sender)
        .bind(&file.addressee)
        .bind(&file.name)
        .bind(&file.sha256)
        .bind(file.bytes)
        .bind(file.status.as_str())
        .bind(&file.stored_path)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?
    });
    if let Some(row) = inserted {
        return Ok((row.try_into()?, true));
    }
    let existing = find_by_digest(tx, file).await?.ok_or_else(|| {
        StoreError::Corrupt(format!(
            "file {} conflicted on insert but has no twin with digest {}",
            file.name, file.sha256
        ))
    })?;
    Ok((existing, false))
}

async fn find_by_digest(tx: &mut Tx, file: &NewFile) -> StoreResult<Option<FileRecord>> {
    let row: Option<FileRow> = match file.direction {
        Direction::In => on_tx!(tx, conn => {
            sqlx::query_as(concat!(
                "SELECT ", file_columns!(),
                " FROM files WHERE direction = 'in' AND sender = $1 AND sha256 = $2"
            ))
            .bind(&file.sender)
            .bind(&file.sha256)
            .fetch_optional(&mut *conn)
            .await?
        }),
        Direction::Out => on_tx!(tx, conn => {
            sqlx::query_as(concat!(
                "SELECT ", file_columns!(),
                " FROM files WHERE direction = 'out' AND addressee = $1 AND sha256 = $2"
            ))
            .bind(&file.addressee)
            .bind(&file.sha256)
            .fetch_optional(&mut *conn)
            .await?
        }),
    };
    row.map(FileRecord::try_from).transpose()
}

impl Store {
    /// Records a file in its own transaction (see [`insert_file`]).
    pub async fn record_file(&self, file: &NewFile) -> StoreResult<(FileRecord, bool)> {
        let mut tx = self.begin().await?;
        let out = insert_file(&mut tx, file).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// The inbound file `sender` already sent with this digest, if any (the duplicate check
    /// done before a new upload is moved into place).
    pub async fn inbound_by_digest(
        &self,
        sender: &str,
        sha256: &str,
    ) -> StoreResult<Option<FileRecord>> {
        let row: Option<FileRow> = on_db!(self, pool => {
            sqlx::query_as(concat!(
                "SELECT ", file_columns!(),
                " FROM files WHERE direction = 'in' AND sender = $1 AND sha256 = $2"
            ))
            .bind(sender)
            .bind(sha256)
            .fetch_optional(pool)
            .await?
        });
        row.map(FileRecord::try_from).transpose()
    }

    /// One file by id.
    pub async fn file(&self, id: i64) -> StoreResult<Option<FileRecord>> {
        let row: Option<FileRow> = on_db!(self, pool => {
            sqlx::query_as(concat!("SELECT ", file_columns!(), " FROM files WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(FileRecord::try_from).transpose()
    }

    /// A participant's files in one direction, oldest first: `in` = uploaded by it, `out` =
    /// addressed to it.
    pub async fn files_of(
        &self,
        participant: &str,
        direction: Direction,
    ) -> StoreResult<Vec<FileRecord>> {
        let rows: Vec<FileRow> = match direction {
            Direction::In => on_db!(self, pool => {
                sqlx::query_as(concat!(
                    "SELECT ", file_columns!(),
                    " FROM files WHERE direction = 'in' AND sender = $1 ORDER BY id"
                ))
                .bind(participant)
                .fetch_all(pool)
                .await?
            }),
            Direction::Out => on_db!(self, pool => {
                sqlx::query_as(concat!(
                    "SELECT ", file_columns!(),
                    " FROM files WHERE direction = 'out' AND addressee = $1 ORDER BY id"
                ))
                .bind(participant)
                .fetch_all(pool)
                .await?
            }),
        };
        rows.into_iter().map(FileRecord::try_from).collect()
    }

    /// Files in a status, oldest first, at most `limit` (ingest's work queue).
    pub async fn files_with_status(
        &self,
        status: FileStatus,
        limit: i64,
    ) -> StoreResult<Vec<FileRecord>> {
        let rows: Vec<FileRow> = on_db!(self, pool => {
            sqlx::query_as(concat!(
                "SELECT ", file_columns!(), " FROM files WHERE status = $1 ORDER BY id LIMIT $2"
            ))
            .bind(status.as_str())
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(FileRecord::try_from).collect()
    }

    /// How many files are in a status.
    pub async fn count_files_with_status(&self, status: FileStatus) -> StoreResult<u64> {
        let n: i64 = on_db!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM files WHERE status = $1")
                .bind(status.as_str())
                .fetch_one(pool)
                .await?
        });
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// Moves a file from status `from` to `to`; false if it was not in `from` (someone else
/// moved it first).
pub async fn set_file_status(
    tx: &mut Tx,
    id: i64,
    from: FileStatus,
    to: FileStatus,
) -> StoreResult<bool> {
    let done = on_tx!(tx, conn => {
        sqlx::query("UPDATE files SET status = $1 WHERE id = $2 AND status = $3")
            .bind(to.as_str())
            .bind(id)
            .bind(from.as_str())
            .execute(&mut *conn)
            .await?
            .rows_affected()
    });
    Ok(done == 1)
}

/// Records a file's seal: for an inbound file the header as presented and the check made at
/// upload; for an outbound file the hub's seal and its key's check value.
pub async fn set_file_seal(
    tx: &mut Tx,
    id: i64,
    seal: Option<&str>,
    check: Option<SealCheck>,
    kcv: Option<&str>,
) -> StoreResult<()> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE files SET seal = $1, seal_check = $2, seal_kcv = $3 WHERE id = $4")
            .bind(seal)
            .bind(check.map(SealCheck::as_str))
            .bind(kcv)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map(|_| ())?
    });
    Ok(())
}
