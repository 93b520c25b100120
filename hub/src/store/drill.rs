//! The figures `hutong drill` compares between its faulted and its clean run: what ingest
//! made of the day's files, counted over the whole database.

use super::{DeliveryState, Store, StoreError, StoreResult, on_db};

/// What ingest made of every inbound file.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct IngestTotals {
    /// Inbound files recorded.
    pub files_in: i64,
    /// Of those, still waiting for ingest.
    pub waiting: i64,
    /// Files with a result.
    pub results: i64,
    /// Records read, over every result.
    pub records: i64,
    /// Records accepted.
    pub accepted: i64,
    /// Records rejected.
    pub rejected: i64,
    /// Results whose accepted and rejected records do not add up to the records read.
    pub unbalanced: i64,
    /// Files rejected whole (an `F` code).
    pub rejected_whole: i64,
    /// Rejections by code.
    pub by_code: Vec<(String, i64)>,
}

impl Store {
    /// [`IngestTotals`] now.
    pub async fn ingest_totals(&self) -> StoreResult<IngestTotals> {
        let files = "SELECT count(*), count(CASE WHEN status = 'received' THEN 1 END) \
                     FROM files WHERE direction = 'in'";
        let results = "SELECT count(*), CAST(coalesce(sum(records), 0) AS BIGINT), \
                       CAST(coalesce(sum(accepted), 0) AS BIGINT), \
                       CAST(coalesce(sum(rejected), 0) AS BIGINT), \
                       count(CASE WHEN records <> accepted + rejected THEN 1 END), \
                       count(CASE WHEN code IS NOT NULL THEN 1 END) \
                       FROM file_results";
        let codes = "SELECT code, count(*) FROM rejections GROUP BY code ORDER BY code";
        let (files_in, waiting): (i64, i64) =
            on_db!(self, pool => sqlx::query_as(files).fetch_one(pool).await?);
        let (results, records, accepted, rejected, unbalanced, rejected_whole): (
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
        ) = on_db!(self, pool => sqlx::query_as(results).fetch_one(pool).await?);
        let by_code = on_db!(self, pool => sqlx::query_as(codes).fetch_all(pool).await?);
        Ok(IngestTotals {
            files_in,
            waiting,
            results,
            records,
            accepted,
            rejected,
            unbalanced,
            rejected_whole,
            by_code,
        })
    }

    /// Every outbound delivery: its destination, the file's digest and name, and its state.
    pub async fn delivery_outcomes(&self) -> StoreResult<Vec<DeliveryOutcome>> {
        let sql = "SELECT d.destination, f.sha256, f.name, d.state, d.attempts, d.last_error \
                   FROM deliveries d \
                   JOIN files f ON f.id = d.file_id ORDER BY d.id";
        let rows: Vec<(String, String, String, String, i64, Option<String>)> =
            on_db!(self, pool => sqlx::query_as(sql).fetch_all(pool).await?);
        rows.into_iter()
            .map(|(destination, sha256, name, state, attempts, last_error)| {
                Ok(DeliveryOutcome {
                    state: state.parse().map_err(StoreError::Corrupt)?,
                    destination,
                    sha256,
                    name,
                    attempts,
                    last_error,
                })
            })
            .collect()
    }
}

/// One delivery as [`Store::delivery_outcomes`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOutcome {
    /// The participant it goes to.
    pub destination: String,
    /// The file's SHA-256.
    pub sha256: String,
    /// The file's name.
    pub name: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts so far.
    pub attempts: i64,
    /// The last attempt's error, if it failed.
    pub last_error: Option<String>,
}
