//! Partners' result files and their lines (`result_files`, `result_lines`).

use super::*;

/// A processed result file (`result_files`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResultFileInfo {
    /// The inbound file.
    pub file_id: i64,
    /// The partner that sent it.
    pub partner: String,
    /// The settlement day its results are for.
    pub day: NaiveDate,
    /// `stored` or `rejected`.
    pub status: String,
    /// Why it was refused (status `rejected`).
    pub error: Option<String>,
    /// Result lines stored.
    pub results: i64,
    /// Result lines that did not parse (not stored; counted in the declared totals).
    pub bad_results: i64,
    /// The partner's declared count.
    pub declared_count: Option<i64>,
    /// The partner's declared amount, fen.
    pub declared_amount_fen: Option<i64>,
    /// When it was processed.
    pub processed_at: Timestamp,
}

type ResultFileRow = (
    i64,
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Timestamp,
);

fn result_file(row: ResultFileRow) -> StoreResult<ResultFileInfo> {
    let (file_id, partner, day, status, error, results, bad, count, amount, at) = row;
    Ok(ResultFileInfo {
        file_id,
        partner,
        day: parse_day(&day)?,
        status,
        error,
        results,
        bad_results: bad,
        declared_count: count,
        declared_amount_fen: amount,
        processed_at: at,
    })
}

const RESULT_FILE_COLUMNS: &str = "file_id, partner, day, status, error, results, bad_results, declared_count, declared_amount_fen, processed_at";

/// The declared totals of a result file as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeclaredRow {
    /// `count`.
    pub count: i64,
    /// `amount`, fen.
    pub amount_fen: i64,
    /// `accepted` / `acceptedAmount`.
    pub accepted: Option<(i64, i64)>,
    /// `rejected` / `rejectedAmount`.
    pub rejected: Option<(i64, i64)>,
}

/// Records that a result file was processed: stored (with its declared totals) or rejected.
#[allow(clippy::too_many_arguments)]
pub async fn insert_result_file(
    tx: &mut Tx,
    file_id: i64,
    partner: &str,
    day: NaiveDate,
    error: Option<&str>,
    results: i64,
    bad_results: i64,
    declared: Option<DeclaredRow>,
    now: Timestamp,
) -> StoreResult<()> {
    let status = if error.is_some() {
        "rejected"
    } else {
        "stored"
    };
    let d = declared;
    on_tx!(tx, conn => sqlx::query(concat!(
        "INSERT INTO result_files (file_id, partner, day, status, error, results, bad_results, declared_count, ",
        "declared_amount_fen, declared_accepted, declared_accepted_amount_fen, declared_rejected, ",
        "declared_rejected_amount_fen, processed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"))
        .bind(file_id).bind(partner).bind(day_text(day)).bind(status).bind(error).bind(results).bind(bad_results)
        .bind(d.map(|d| d.count)).bind(d.map(|d| d.amount_fen))
        .bind(d.and_then(|d| d.accepted).map(|a| a.0)).bind(d.and_then(|d| d.accepted).map(|a| a.1))
        .bind(d.and_then(|d| d.rejected).map(|a| a.0)).bind(d.and_then(|d| d.rejected).map(|a| a.1))
        .bind(now)
        .execute(&mut *conn).await.map(|_| ())?);
    Ok(())
}

/// One stored result line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultLine {
    /// Line number in the file (1-based, among the lines that parsed).
    pub line: i64,
    /// The transaction.
    pub key: NaturalKey,
    /// The partner's amount, fen.
    pub amount_fen: i64,
    /// `accepted` or `rejected`.
    pub accepted: bool,
    /// Reason code.
    pub code: Option<String>,
    /// Reason.
    pub reason: Option<String>,
}

/// Stores result lines in batches (multi-row `INSERT`s).
pub async fn insert_result_lines(
    tx: &mut Tx,
    file_id: i64,
    lines: &[ResultLine],
) -> StoreResult<()> {
    const COLS: usize = 14;
    for chunk in lines.chunks(400) {
        let mut sql = String::from(
            "INSERT INTO partner_results (file_id, line, scheme, issuer_code, city_code, card_serial, card_seq, kind, terminal, terminal_seq, amount_fen, status, code, reason) VALUES ",
        );
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..COLS {
                if c > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("${}", i * COLS + c + 1));
            }
            sql.push(')');
        }
        macro_rules! bind_all {
            ($q:expr) => {{
                let mut q = $q;
                for l in chunk {
                    q = q
                        .bind(file_id)
                        .bind(l.line)
                        .bind(l.key.scheme.as_str())
                        .bind(l.key.issuer.issuer_code.to_string())
                        .bind(l.key.issuer.city_code.to_string())
                        .bind(l.key.card_serial.to_string())
                        .bind(i64::from(l.key.card_seq))
                        .bind(l.key.kind.as_str())
                        .bind(l.key.terminal.to_string())
                        .bind(i64::from(l.key.terminal_seq))
                        .bind(l.amount_fen)
                        .bind(if l.accepted { "accepted" } else { "rejected" })
                        .bind(l.code.clone())
                        .bind(l.reason.clone());
                }
                q
            }};
        }
        on_tx!(tx, conn => bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql.clone()))).execute(&mut *conn).await.map(|_| ())?);
    }
    Ok(())
}

/// The columns of a natural key, as stored in `records` and `partner_results`.
type KeyCols = (String, String, String, String, i64, String, String, i64);

pub(super) fn natural_key(cols: KeyCols) -> StoreResult<NaturalKey> {
    let (scheme, issuer, city, serial, card_seq, kind, terminal, terminal_seq) = cols;
    Ok(NaturalKey {
        scheme: scheme.parse().map_err(|e| corrupt("scheme", e))?,
        issuer: card_standards::IssuerId {
            issuer_code: issuer.parse().map_err(|e| corrupt("issuer_code", e))?,
            city_code: city.parse().map_err(|e| corrupt("city_code", e))?,
        },
        card_serial: serial.parse().map_err(|e| corrupt("card_serial", e))?,
        card_seq: u16::try_from(card_seq).map_err(|e| corrupt("card_seq", e))?,
        kind: kind.parse().map_err(|e| corrupt("kind", e))?,
        terminal: terminal.parse().map_err(|e| corrupt("terminal", e))?,
        terminal_seq: u32::try_from(terminal_seq).map_err(|e| corrupt("terminal_seq", e))?,
    })
}

impl Store {
    /// A processed result file, if `file_id` is one.
    pub async fn result_file(&self, file_id: i64) -> StoreResult<Option<ResultFileInfo>> {
        let sql = format!("SELECT {RESULT_FILE_COLUMNS} FROM result_files WHERE file_id = $1");
        let row: Option<ResultFileRow> = on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(file_id).fetch_optional(pool).await?);
        row.map(result_file).transpose()
    }

    /// The result files processed for a day (every partner, stored and rejected), oldest first.
    pub async fn result_files_of_day(&self, day: NaiveDate) -> StoreResult<Vec<ResultFileInfo>> {
        let sql = format!(
            "SELECT {RESULT_FILE_COLUMNS} FROM result_files WHERE day = $1 ORDER BY file_id"
        );
        let rows: Vec<ResultFileRow> = on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(day_text(day)).fetch_all(pool).await?);
        rows.into_iter().map(result_file).collect()
    }

    /// The lines of a stored result file, in file order.
    pub async fn result_lines(&self, file_id: i64) -> StoreResult<Vec<ResultLine>> {
        type Row = (
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
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = on_db!(self, pool => sqlx::query_as(concat!(
            "SELECT line, scheme, issuer_code, city_code, card_serial, card_seq, kind, terminal, terminal_seq, ",
            "amount_fen, status, code, reason FROM partner_results WHERE file_id = $1 ORDER BY line"))
            .bind(file_id).fetch_all(pool).await?);
        rows.into_iter()
            .map(|r| {
                Ok(ResultLine {
                    line: r.0,
                    key: natural_key((r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8))?,
                    amount_fen: r.9,
                    accepted: r.10 == "accepted",
                    code: r.11,
                    reason: r.12,
                })
            })
            .collect()
    }

    /// The declared totals of a stored result file.
    pub async fn result_declared(&self, file_id: i64) -> StoreResult<Option<DeclaredRow>> {
        type Row = (
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
        );
        let row: Option<Row> = on_db!(self, pool => sqlx::query_as(concat!(
            "SELECT declared_count, declared_amount_fen, declared_accepted, declared_accepted_amount_fen, ",
            "declared_rejected, declared_rejected_amount_fen FROM result_files WHERE file_id = $1"))
            .bind(file_id).fetch_optional(pool).await?);
        Ok(row.and_then(|(c, a, ac, aa, rc, ra)| {
            Some(DeclaredRow {
                count: c?,
                amount_fen: a?,
                accepted: ac.zip(aa),
                rejected: rc.zip(ra),
            })
        }))
    }
}
