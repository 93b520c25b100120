//! The queries of `hutong verify` ([`crate::verify`]): a closed day's stored records counted
//! and summed by queries of their own, independent of the clearing's aggregation
//! (`store::clearing::window_aggregates`), and the outputs recorded with their digests.

use chrono::NaiveDate;

use super::time::day_text;
use super::{Store, StoreResult, Timestamp, on_db};

/// The records of a window with the same issuer participant, acquirer and kind, counted and
/// summed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordGroup {
    /// The participant the cards' issuer clears through.
    pub issuer: String,
    /// The acquirer participant.
    pub acquirer: String,
    /// The transaction kind as stored (`purchase`, `load`, …).
    pub kind: String,
    /// Records.
    pub count: i64,
    /// Σ amount, fen.
    pub amount_fen: i64,
}

/// How a window's files stand against its cut-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowFiles {
    /// Files whose `window_day` is the day.
    pub in_window: i64,
    /// Of those, files a window may not take: not inbound, not accepted or partially
    /// accepted, or received at or after the cut-off.
    pub misplaced: i64,
    /// Accepted inbound files received before the cut-off that are in no window.
    pub unwindowed_files: i64,
    /// Their records.
    pub unwindowed_records: i64,
}

/// A file a closed window produced, as recorded when it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedOutput {
    /// `pacs009`, `statement-xml`, `statement-csv`, `statement-xlsx`, `outbound`.
    pub kind: String,
    /// For whom (`-` for the instructions).
    pub participant: String,
    /// The outbox file, when it went to an outbox.
    pub file_id: Option<i64>,
    /// The path written, for files that are not in an outbox.
    pub path: Option<String>,
    /// SHA-256 of the bytes written (`None` for outputs written before digests were kept).
    pub sha256: Option<String>,
    /// The outbox file's name.
    pub file_name: Option<String>,
    /// The outbox file's place in the vault (relative to the data directory).
    pub stored_path: Option<String>,
    /// The outbox file's own digest (`files.sha256`).
    pub file_sha256: Option<String>,
}

impl Store {
    /// Day `day`'s window's records grouped per (issuer participant, acquirer, kind).
    pub async fn verify_record_groups(&self, day: NaiveDate) -> StoreResult<Vec<RecordGroup>> {
        let sql = concat!(
            "SELECT r.issuer_participant, r.acquirer, r.kind, COUNT(*), ",
            "CAST(COALESCE(SUM(r.amount_fen), 0) AS BIGINT) ",
            "FROM records r WHERE r.file_id IN (SELECT id FROM files WHERE window_day = $1) ",
            "GROUP BY r.issuer_participant, r.acquirer, r.kind ",
            "ORDER BY r.issuer_participant, r.acquirer, r.kind"
        );
        let rows: Vec<(String, String, String, i64, i64)> = on_db!(self, pool => sqlx::query_as(sql)
            .bind(day_text(day)).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|(issuer, acquirer, kind, count, amount_fen)| RecordGroup {
                issuer,
                acquirer,
                kind,
                count,
                amount_fen,
            })
            .collect())
    }

    /// Day `day`'s window's files against its cut-off `cutoff`.
    pub async fn verify_window_files(
        &self,
        day: NaiveDate,
        cutoff: Timestamp,
    ) -> StoreResult<WindowFiles> {
        let d = day_text(day);
        let in_window: i64 = on_db!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM files WHERE window_day = $1")
            .bind(&d).fetch_one(pool).await?);
        let misplaced: i64 = on_db!(self, pool => sqlx::query_scalar(concat!(
            "SELECT COUNT(*) FROM files WHERE window_day = $1 AND (direction <> 'in' ",
            "OR status NOT IN ('accepted', 'partially_accepted') OR received_at >= $2)"))
            .bind(&d).bind(cutoff).fetch_one(pool).await?);
        let unwindowed_files: i64 = on_db!(self, pool => sqlx::query_scalar(concat!(
            "SELECT COUNT(*) FROM files WHERE direction = 'in' AND window_day IS NULL ",
            "AND received_at < $1 AND status IN ('accepted', 'partially_accepted')"))
            .bind(cutoff).fetch_one(pool).await?);
        let unwindowed_records: i64 = on_db!(self, pool => sqlx::query_scalar(concat!(
            "SELECT COUNT(*) FROM records WHERE file_id IN (SELECT id FROM files ",
            "WHERE direction = 'in' AND window_day IS NULL AND received_at < $1 ",
            "AND status IN ('accepted', 'partially_accepted'))"))
            .bind(cutoff).fetch_one(pool).await?);
        Ok(WindowFiles {
            in_window,
            misplaced,
            unwindowed_files,
            unwindowed_records,
        })
    }

    /// The files day `day`'s window produced, with the digests recorded when they were
    /// written and, for outbox files, the file's own record.
    pub async fn verify_outputs(&self, day: NaiveDate) -> StoreResult<Vec<RecordedOutput>> {
        let sql = concat!(
            "SELECT o.kind, o.participant, o.file_id, o.path, o.sha256, f.name, f.stored_path, f.sha256 ",
            "FROM window_outputs o LEFT JOIN files f ON f.id = o.file_id WHERE o.day = $1 ",
            "ORDER BY o.kind, o.participant"
        );
        type Row = (
            String,
            String,
            Option<i64>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> =
            on_db!(self, pool => sqlx::query_as(sql).bind(day_text(day)).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(
                |(
                    kind,
                    participant,
                    file_id,
                    path,
                    sha256,
                    file_name,
                    stored_path,
                    file_sha256,
                )| {
                    RecordedOutput {
                        kind,
                        participant,
                        file_id,
                        path,
                        sha256,
                        file_name,
                        stored_path,
                        file_sha256,
                    }
                },
            )
            .collect())
    }
}
