//! What the hub sent each partner (its outbound packages and resends), for matching.

use super::*;

/// A record the hub sent (or re-sent) a partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRow {
    /// The record.
    pub record_id: i64,
    /// The inbound file it came in.
    pub file_id: i64,
    /// Its natural key.
    pub key: NaturalKey,
    /// Amount, fen.
    pub amount_fen: i64,
    /// Acquirer.
    pub acquirer: String,
}

type SentDbRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    i64,
    String,
    String,
    i64,
    i64,
    String,
);

fn sent_row(r: SentDbRow) -> StoreResult<SentRow> {
    Ok(SentRow {
        record_id: r.0,
        file_id: r.1,
        key: natural_key((r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9))?,
        amount_fen: r.10,
        acquirer: r.11,
    })
}

const SENT_COLUMNS: &str = "r.id, r.file_id, r.scheme, r.issuer_code, r.city_code, r.card_serial, CAST(r.card_seq AS BIGINT) AS card_seq, r.kind, r.terminal, r.terminal_seq, r.amount_fen, r.acquirer";

impl Store {
    /// The records behind the outbound package day `day`'s window sent `partner` (its cards'
    /// records acquired by someone else), or `None` when no package went to it that day.
    pub async fn sent_records(
        &self,
        day: NaiveDate,
        partner: &str,
    ) -> StoreResult<Option<Vec<SentRow>>> {
        if !self.window_output(day, "outbound", partner).await? {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {SENT_COLUMNS} FROM records r JOIN files f ON f.id = r.file_id \
             WHERE f.window_day = $1 AND r.issuer_participant = $2 AND r.acquirer <> $2 ORDER BY r.id"
        );
        let rows: Vec<SentDbRow> = on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(day_text(day)).bind(partner).fetch_all(pool).await?);
        rows.into_iter()
            .map(sent_row)
            .collect::<StoreResult<_>>()
            .map(Some)
    }

    /// Records re-sent to `partner` before `before` that no result file has answered yet, with
    /// the resend's id.
    pub async fn pending_resends(
        &self,
        partner: &str,
        before: Timestamp,
    ) -> StoreResult<Vec<(i64, SentRow)>> {
        let sql = format!(
            "SELECT s.id, {SENT_COLUMNS} FROM resends s JOIN records r ON r.id = s.record_id \
             WHERE s.partner = $1 AND s.answered_file IS NULL AND s.created_at < $2 ORDER BY s.id"
        );
        type Row = (
            i64,
            i64,
            i64,
            String,
            String,
            String,
            String,
            i64,
            String,
            String,
            i64,
            i64,
            String,
        );
        let rows: Vec<Row> = on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(partner).bind(before).fetch_all(pool).await?);
        rows.into_iter()
            .map(|r| {
                Ok((
                    r.0,
                    sent_row((
                        r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10, r.11, r.12,
                    ))?,
                ))
            })
            .collect()
    }

    /// How many times a record was re-sent to a partner.
    pub async fn resend_count(&self, record_id: i64, partner: &str) -> StoreResult<u32> {
        let n: i64 = on_db!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM resends WHERE record_id = $1 AND partner = $2")
            .bind(record_id).bind(partner).fetch_one(pool).await?);
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// The ids of the inbound files that hold these records.
    pub async fn files_of_records(&self, records: &[i64]) -> StoreResult<Vec<i64>> {
        let mut out = BTreeSet::new();
        for chunk in records.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT DISTINCT file_id FROM records WHERE id IN ({})",
                placeholders.join(", ")
            );
            let ids: Vec<i64> = on_db!(self, pool => {
                let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()));
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(pool).await?
            });
            out.extend(ids);
        }
        Ok(out.into_iter().collect())
    }

    /// One stored record as the resend file carries it (see `crate::outbound`).
    pub async fn record_scheme(&self, record_id: i64) -> StoreResult<Option<String>> {
        Ok(
            on_db!(self, pool => sqlx::query_scalar("SELECT scheme FROM records WHERE id = $1")
            .bind(record_id).fetch_optional(pool).await?),
        )
    }
}

/// Records a resend.
pub async fn insert_resend(
    tx: &mut Tx,
    discrepancy_id: i64,
    record_id: i64,
    partner: &str,
    file_id: i64,
    now: Timestamp,
) -> StoreResult<()> {
    on_tx!(tx, conn => sqlx::query(concat!(
        "INSERT INTO resends (discrepancy_id, record_id, partner, file_id, created_at) VALUES ($1, $2, $3, $4, $5) ",
        "ON CONFLICT (discrepancy_id, record_id) DO NOTHING"))
        .bind(discrepancy_id).bind(record_id).bind(partner).bind(file_id).bind(now)
        .execute(&mut *conn).await.map(|_| ())?);
    Ok(())
}

/// Marks a resend answered by a result file; returns its discrepancy when this call did it.
pub async fn answer_resend(tx: &mut Tx, resend_id: i64, file_id: i64) -> StoreResult<Option<i64>> {
    let d: Option<i64> = on_tx!(tx, conn => sqlx::query_scalar(
        "UPDATE resends SET answered_file = $1 WHERE id = $2 AND answered_file IS NULL RETURNING discrepancy_id")
        .bind(file_id).bind(resend_id).fetch_optional(&mut *conn).await?);
    Ok(d)
}
