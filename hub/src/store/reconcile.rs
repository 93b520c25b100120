//! Reconciliation's tables: partners' result files and their lines, what the hub sent each
//! partner, the card audit's stream of records, discrepancies and resends.
//!
//! Matching runs in Rust over what these functions read (a partner's results for a day are a
//! few thousand to a few hundred thousand lines); the card audit streams the records of the
//! cards it checks, ordered by card, so memory holds one card's records at a time.

use std::collections::BTreeSet;

use card_standards::{NaturalKey, TxKind};
use chrono::{NaiveDate, NaiveDateTime};
use futures_util::TryStreamExt;
use reconciliation::audit::CardEvent;
use serde::Serialize;

use super::time::day_text;
use super::{Db, Store, StoreError, StoreResult, Timestamp, Tx, on_db, on_tx};

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {detail}"))
}

fn parse_day(s: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| corrupt("day", e))
}

// ---------------------------------------------------------------------------------------------
// Result files

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

fn natural_key(cols: KeyCols) -> StoreResult<NaturalKey> {
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

// ---------------------------------------------------------------------------------------------
// What the hub sent

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

// ---------------------------------------------------------------------------------------------
// The card audit's stream

/// Which card: scheme, issuer code, issuer city and serial.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CardKey {
    /// Scheme.
    pub scheme: String,
    /// Issuer code.
    pub issuer_code: String,
    /// Issuer city.
    pub city_code: String,
    /// Card serial.
    pub card_serial: String,
}

impl std::fmt::Display for CardKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.scheme, self.issuer_code, self.city_code, self.card_serial
        )
    }
}

/// One card's stored records, as the audit reads them.
#[derive(Debug, Clone)]
pub struct CardRecords {
    /// The card.
    pub card: CardKey,
    /// The clearing participant of its issuer.
    pub issuer_participant: String,
    /// Its transactions.
    pub events: Vec<CardEvent>,
    /// Record ids whose TAC the hub found invalid (`tac_status = 'invalid'`).
    pub tac_invalid: Vec<i64>,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    scheme: String,
    issuer_code: String,
    city_code: String,
    card_serial: String,
    kind: String,
    card_seq: i64,
    balance_before_fen: i64,
    amount_fen: i64,
    tx_time: NaiveDateTime,
    terminal: String,
    terminal_seq: i64,
    acquirer: String,
    issuer_participant: String,
    tac_status: String,
    medium: String,
}

const AUDIT_COLUMNS: &str = "r.id, r.scheme, r.issuer_code, r.city_code, r.card_serial, r.kind, CAST(r.card_seq AS BIGINT) AS card_seq, r.balance_before_fen, r.amount_fen, r.tx_time, r.terminal, r.terminal_seq, r.acquirer, r.issuer_participant, r.tac_status, r.medium";

/// The stored record query the card audit streams: every record of the cards that have a
/// record in day `day`'s window (every record when `None`), ordered by card.
pub fn audit_sql(day: Option<NaiveDate>) -> (String, Option<String>) {
    const ORDER: &str = " ORDER BY r.scheme, r.issuer_code, r.city_code, r.card_serial";
    match day {
        Some(d) => (
            format!(
                "SELECT {AUDIT_COLUMNS} FROM records r WHERE (r.scheme, r.issuer_code, r.city_code, r.card_serial) IN \
                 (SELECT r2.scheme, r2.issuer_code, r2.city_code, r2.card_serial FROM records r2 \
                 JOIN files f ON f.id = r2.file_id WHERE f.window_day = $1){ORDER}"
            ),
            Some(day_text(d)),
        ),
        None => (
            format!("SELECT {AUDIT_COLUMNS} FROM records r{ORDER}"),
            None,
        ),
    }
}

impl Store {
    /// Streams the records of the cards with a record in day `day`'s window (every card when
    /// `None`), one card at a time in card order, to `on_card`. Memory holds one card.
    /// Returns the number of records read.
    pub async fn stream_cards<F>(&self, day: Option<NaiveDate>, mut on_card: F) -> StoreResult<u64>
    where
        F: FnMut(CardRecords),
    {
        let (sql, bind) = audit_sql(day);
        let mut current: Option<CardRecords> = None;
        let mut n = 0u64;
        let mut push = |row: AuditRow, current: &mut Option<CardRecords>| -> StoreResult<()> {
            let card = CardKey {
                scheme: row.scheme,
                issuer_code: row.issuer_code,
                city_code: row.city_code,
                card_serial: row.card_serial,
            };
            if current.as_ref().is_some_and(|c| c.card != card)
                && let Some(done) = current.take()
            {
                on_card(done);
            }
            let c = current.get_or_insert_with(|| CardRecords {
                card,
                issuer_participant: row.issuer_participant.clone(),
                events: Vec::new(),
                tac_invalid: Vec::new(),
            });
            if row.tac_status == "invalid" {
                c.tac_invalid.push(row.id);
            }
            c.events.push(CardEvent {
                record_id: row.id,
                kind: row
                    .kind
                    .parse::<TxKind>()
                    .map_err(|e| corrupt("records.kind", e))?,
                card_seq: u16::try_from(row.card_seq)
                    .map_err(|e| corrupt("records.card_seq", e))?,
                balance_before_fen: row.balance_before_fen,
                amount_fen: row.amount_fen,
                tx_time: row.tx_time,
                terminal: row.terminal,
                terminal_seq: u32::try_from(row.terminal_seq)
                    .map_err(|e| corrupt("records.terminal_seq", e))?,
                acquirer: row.acquirer,
                single_counter: row.medium == "m1",
            });
            Ok(())
        };
        macro_rules! stream {
            ($pool:expr) => {{
                let mut q = sqlx::query_as::<_, AuditRow>(sqlx::AssertSqlSafe(sql.clone()));
                if let Some(b) = &bind {
                    q = q.bind(b.clone());
                }
                let mut rows = q.fetch($pool);
                while let Some(row) = rows.try_next().await? {
                    n += 1;
                    push(row, &mut current)?;
                }
            }};
        }
        match self.db() {
            Db::Sqlite(pool) => stream!(pool),
            Db::Postgres(pool) => stream!(pool),
        }
        if let Some(done) = current.take() {
            on_card(done);
        }
        Ok(n)
    }

    /// The records of day `day`'s window with their terminal time and file, for the late
    /// presentment check: `(record id, file id, issuer participant, acquirer, kind, amount,
    /// tx_time)`, streamed to `on_record`.
    pub async fn stream_window_times<F>(&self, day: NaiveDate, mut on_record: F) -> StoreResult<()>
    where
        F: FnMut(WindowRecordTime),
    {
        let sql = "SELECT r.id, r.file_id, r.issuer_participant, r.acquirer, r.kind, r.amount_fen, r.tx_time, r.scheme \
                   FROM records r JOIN files f ON f.id = r.file_id WHERE f.window_day = $1 ORDER BY r.id";
        macro_rules! stream {
            ($pool:expr) => {{
                let mut rows = sqlx::query_as::<_, WindowRecordTime>(sql)
                    .bind(day_text(day))
                    .fetch($pool);
                while let Some(row) = rows.try_next().await? {
                    on_record(row);
                }
            }};
        }
        match self.db() {
            Db::Sqlite(pool) => stream!(pool),
            Db::Postgres(pool) => stream!(pool),
        }
        Ok(())
    }
}

/// A window record's time, for the late presentment check.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WindowRecordTime {
    /// Record id.
    pub id: i64,
    /// Its file.
    pub file_id: i64,
    /// The card issuer's clearing participant.
    pub issuer_participant: String,
    /// Acquirer.
    pub acquirer: String,
    /// Kind.
    pub kind: String,
    /// Amount, fen.
    pub amount_fen: i64,
    /// Terminal time.
    pub tx_time: NaiveDateTime,
    /// Scheme.
    pub scheme: String,
}

/// The card events of records that ingest **rejected** with every fact the audit needs (R01
/// no route, R02 TAC, R04 blacklisted, R05 amount, R06 time…), per card: a rejected record
/// still used a card counter and moved the card's balance, so the gap and balance-chain checks
/// must count it or they report gaps nobody injected (docs/simulate.md). Duplicates (`R03`)
/// are left out: they repeat a stored record's counter. With `day`, only the rejections of
/// files in that window or earlier ones are read. Record ids are negated (`-rejections.id`) so
/// that a finding never names a rejected record as a stored one.
pub async fn rejected_card_events(
    store: &Store,
    day: Option<NaiveDate>,
) -> StoreResult<std::collections::HashMap<CardKey, Vec<CardEvent>>> {
    type Row = (
        i64,
        String,
        String,
        String,
        String,
        String,
        i64,
        i64,
        i64,
        NaiveDateTime,
        String,
        i64,
        String,
    );
    let sql = "SELECT -j.id, j.scheme, j.issuer_code, j.city_code, j.card_serial, j.kind, \
         CAST(j.card_seq AS BIGINT), CAST(j.balance_before_fen AS BIGINT), \
         CAST(j.amount_fen AS BIGINT), j.tx_time, j.terminal, CAST(j.terminal_seq AS BIGINT), \
         COALESCE(f.sender, '') \
         FROM rejections j JOIN files f ON f.id = j.file_id \
         WHERE j.code <> 'R03' AND j.scheme IS NOT NULL AND j.card_seq IS NOT NULL \
         AND j.kind IS NOT NULL AND j.balance_before_fen IS NOT NULL AND j.amount_fen IS NOT NULL \
         AND j.tx_time IS NOT NULL AND j.terminal IS NOT NULL AND j.terminal_seq IS NOT NULL \
         AND ($1 IS NULL OR f.window_day IS NULL OR f.window_day <= $1)";
    let day = day.map(day_text);
    let rows: Vec<Row> = on_db!(store, pool => {
        sqlx::query_as(sql).bind(day).fetch_all(pool).await?
    });
    let mut out: std::collections::HashMap<CardKey, Vec<CardEvent>> =
        std::collections::HashMap::new();
    for r in rows {
        let event = CardEvent {
            record_id: r.0,
            kind: r
                .5
                .parse::<TxKind>()
                .map_err(|e| corrupt("rejections.kind", e))?,
            card_seq: u16::try_from(r.6).map_err(|e| corrupt("rejections.card_seq", e))?,
            balance_before_fen: r.7,
            amount_fen: r.8,
            tx_time: r.9,
            terminal: r.10,
            terminal_seq: u32::try_from(r.11).map_err(|e| corrupt("rejections.terminal_seq", e))?,
            acquirer: r.12,
            // Rejected records keep no medium: the audit takes the card's from its stored
            // records.
            single_counter: false,
        };
        let card = CardKey {
            scheme: r.1,
            issuer_code: r.2,
            city_code: r.3,
            card_serial: r.4,
        };
        out.entry(card).or_default().push(event);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Discrepancies

/// Where a discrepancy is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscrepancyStatus {
    /// Found; no rule has decided it yet.
    Open,
    /// Kept for review, no money (rule `monitor`).
    Monitoring,
    /// The record was re-sent to the partner; its next results answer it.
    Resent,
    /// Decided with an adjustment that has not cleared yet.
    Resolved,
    /// A dispute case is open.
    Disputed,
    /// Done: the adjustment cleared, or nothing was to be paid.
    Closed,
}

impl DiscrepancyStatus {
    /// Every status.
    pub const ALL: [DiscrepancyStatus; 6] = [
        DiscrepancyStatus::Open,
        DiscrepancyStatus::Monitoring,
        DiscrepancyStatus::Resent,
        DiscrepancyStatus::Resolved,
        DiscrepancyStatus::Disputed,
        DiscrepancyStatus::Closed,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DiscrepancyStatus::Open => "open",
            DiscrepancyStatus::Monitoring => "monitoring",
            DiscrepancyStatus::Resent => "resent",
            DiscrepancyStatus::Resolved => "resolved",
            DiscrepancyStatus::Disputed => "disputed",
            DiscrepancyStatus::Closed => "closed",
        }
    }
}

impl std::fmt::Display for DiscrepancyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DiscrepancyStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        DiscrepancyStatus::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown status {s:?}: expected open, monitoring, resent, resolved, disputed or closed"
                )
            })
    }
}

/// A discrepancy as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discrepancy {
    /// Id.
    pub id: i64,
    /// Type (`missing_at_partner`, …).
    #[serde(rename = "type")]
    pub kind: reconciliation::DiscrepancyType,
    /// The settlement day whose reconciliation found it.
    pub day: NaiveDate,
    /// Status.
    pub status: DiscrepancyStatus,
    /// Participants involved.
    pub participants: Vec<String>,
    /// Acquirer, when one.
    pub acquirer: Option<String>,
    /// Issuer-side participant, when known.
    pub issuer: Option<String>,
    /// Direction of the transaction's money.
    pub flow: Option<reconciliation::Flow>,
    /// Card scheme, when known (dispute deadlines).
    pub scheme: Option<String>,
    /// Records involved.
    pub records: Vec<i64>,
    /// Files involved (inbound transaction files, result files).
    pub files: Vec<i64>,
    /// Amount at stake, fen.
    pub amount_fen: i64,
    /// Words.
    pub detail: String,
    /// The rule that decided it.
    pub rule: Option<String>,
    /// `adjust`, `resend`, `monitor`, `dispute`, or how a person closed it.
    pub decision: Option<String>,
    /// The adjustment that settles it.
    pub adjustment_ref: Option<String>,
    /// The dispute case.
    pub case_id: Option<i64>,
    /// The resend file.
    pub resend_file_id: Option<i64>,
    /// What resolved it, in words.
    pub resolution: Option<String>,
    /// When found.
    pub found_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// When closed.
    pub closed_at: Option<Timestamp>,
}

impl Discrepancy {
    /// The finding it was stored from (for the resolution rules).
    pub fn finding(&self) -> reconciliation::Finding {
        reconciliation::Finding {
            kind: self.kind,
            participants: self.participants.clone(),
            acquirer: self.acquirer.clone(),
            issuer: self.issuer.clone(),
            flow: self.flow,
            records: self.records.clone(),
            amount_fen: self.amount_fen,
            detail: self.detail.clone(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct DiscrepancyRow {
    id: i64,
    #[sqlx(rename = "type")]
    kind: String,
    day: String,
    status: String,
    participants: String,
    acquirer: Option<String>,
    issuer: Option<String>,
    flow: Option<String>,
    scheme: Option<String>,
    records: String,
    files: String,
    amount_fen: i64,
    detail: String,
    rule: Option<String>,
    decision: Option<String>,
    adjustment_ref: Option<String>,
    case_id: Option<i64>,
    resend_file_id: Option<i64>,
    resolution: Option<String>,
    found_at: Timestamp,
    updated_at: Timestamp,
    closed_at: Option<Timestamp>,
}

impl TryFrom<DiscrepancyRow> for Discrepancy {
    type Error = StoreError;
    fn try_from(r: DiscrepancyRow) -> StoreResult<Discrepancy> {
        Ok(Discrepancy {
            id: r.id,
            kind: r
                .kind
                .parse()
                .map_err(|e| corrupt("discrepancies.type", e))?,
            day: parse_day(&r.day)?,
            status: r
                .status
                .parse()
                .map_err(|e| corrupt("discrepancies.status", e))?,
            participants: serde_json::from_str(&r.participants)
                .map_err(|e| corrupt("discrepancies.participants", e))?,
            acquirer: r.acquirer,
            issuer: r.issuer,
            flow: r
                .flow
                .map(|f| f.parse())
                .transpose()
                .map_err(|e| corrupt("discrepancies.flow", e))?,
            scheme: r.scheme,
            records: serde_json::from_str(&r.records)
                .map_err(|e| corrupt("discrepancies.records", e))?,
            files: serde_json::from_str(&r.files).map_err(|e| corrupt("discrepancies.files", e))?,
            amount_fen: r.amount_fen,
            detail: r.detail,
            rule: r.rule,
            decision: r.decision,
            adjustment_ref: r.adjustment_ref,
            case_id: r.case_id,
            resend_file_id: r.resend_file_id,
            resolution: r.resolution,
            found_at: r.found_at,
            updated_at: r.updated_at,
            closed_at: r.closed_at,
        })
    }
}

const DISCREPANCY_COLUMNS: &str = "d.id, d.type, d.day, d.status, d.participants, d.acquirer, d.issuer, d.flow, d.scheme, d.records, d.files, d.amount_fen, d.detail, d.rule, d.decision, d.adjustment_ref, d.case_id, d.resend_file_id, d.resolution, d.found_at, d.updated_at, d.closed_at";

/// A discrepancy to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDiscrepancy {
    /// What makes it the same difference when found again.
    pub fingerprint: String,
    /// The settlement day.
    pub day: NaiveDate,
    /// The finding.
    pub finding: reconciliation::Finding,
    /// Card scheme, when known.
    pub scheme: Option<String>,
    /// Files involved.
    pub files: Vec<i64>,
}

/// Stores a discrepancy unless one with the same fingerprint exists; returns the new id.
pub async fn insert_discrepancy(
    tx: &mut Tx,
    d: &NewDiscrepancy,
    now: Timestamp,
) -> StoreResult<Option<i64>> {
    let f = &d.finding;
    let participants = serde_json::to_string(&f.participants).unwrap_or_else(|_| "[]".into());
    let records = serde_json::to_string(&f.records).unwrap_or_else(|_| "[]".into());
    let files = serde_json::to_string(&d.files).unwrap_or_else(|_| "[]".into());
    let id: Option<i64> = on_tx!(tx, conn => sqlx::query_scalar(concat!(
        "INSERT INTO discrepancies (fingerprint, type, day, status, participants, acquirer, issuer, flow, scheme, records, files, ",
        "amount_fen, detail, found_at, updated_at) VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) ",
        "ON CONFLICT (fingerprint) DO NOTHING RETURNING id"))
        .bind(&d.fingerprint).bind(f.kind.as_str()).bind(day_text(d.day)).bind(&participants)
        .bind(&f.acquirer).bind(&f.issuer).bind(f.flow.map(|x| x.as_str())).bind(&d.scheme)
        .bind(&records).bind(&files).bind(f.amount_fen.max(0)).bind(&f.detail).bind(now)
        .fetch_optional(&mut *conn).await?);
    if let Some(id) = id {
        for p in f.participants.iter().collect::<BTreeSet<_>>() {
            on_tx!(tx, conn => sqlx::query("INSERT INTO discrepancy_participants (discrepancy_id, participant) VALUES ($1, $2)")
                .bind(id).bind(p).execute(&mut *conn).await.map(|_| ())?);
        }
    }
    Ok(id)
}

/// How a discrepancy was decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscrepancyUpdate {
    /// The rule (`chargeback_to_acquirer`, …) or `None` to keep.
    pub rule: Option<String>,
    /// `adjust`, `resend`, `monitor`, `dispute`, `closed_by_hand`…
    pub decision: Option<String>,
    /// The adjustment reference.
    pub adjustment_ref: Option<String>,
    /// The dispute case.
    pub case_id: Option<i64>,
    /// The resend file.
    pub resend_file_id: Option<i64>,
    /// What resolved it, in words.
    pub resolution: Option<String>,
}

/// Moves a discrepancy from `from` to `to` (compare-and-set), filling the given fields (a
/// `None` keeps the stored value). False when it was not in `from`.
pub async fn update_discrepancy(
    tx: &mut Tx,
    id: i64,
    from: &[DiscrepancyStatus],
    to: DiscrepancyStatus,
    u: &DiscrepancyUpdate,
    now: Timestamp,
) -> StoreResult<bool> {
    let allowed: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let placeholders: Vec<String> = (0..allowed.len()).map(|i| format!("${}", i + 10)).collect();
    let sql = format!(
        "UPDATE discrepancies SET status = $1, rule = COALESCE($2, rule), decision = COALESCE($3, decision), \
         adjustment_ref = COALESCE($4, adjustment_ref), case_id = COALESCE($5, case_id), \
         resend_file_id = COALESCE($6, resend_file_id), resolution = COALESCE($7, resolution), updated_at = $8, \
         closed_at = CASE WHEN $1 = 'closed' THEN $8 ELSE closed_at END WHERE id = $9 AND status IN ({})",
        placeholders.join(", ")
    );
    let n = on_tx!(tx, conn => {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(to.as_str()).bind(&u.rule).bind(&u.decision).bind(&u.adjustment_ref).bind(u.case_id)
            .bind(u.resend_file_id).bind(&u.resolution).bind(now).bind(id);
        for s in &allowed {
            q = q.bind(*s);
        }
        q.execute(&mut *conn).await?.rows_affected()
    });
    Ok(n == 1)
}

/// Filters of the discrepancy queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscrepancyFilter {
    /// One settlement day.
    pub day: Option<NaiveDate>,
    /// One type.
    pub kind: Option<reconciliation::DiscrepancyType>,
    /// One status.
    pub status: Option<DiscrepancyStatus>,
    /// Involving this participant.
    pub participant: Option<String>,
    /// At most this many (newest first when set; all, oldest first, when not).
    pub limit: Option<i64>,
}

impl Store {
    /// Discrepancies matching `filter`, by id.
    pub async fn discrepancies(&self, filter: &DiscrepancyFilter) -> StoreResult<Vec<Discrepancy>> {
        let mut sql = format!("SELECT {DISCREPANCY_COLUMNS} FROM discrepancies d");
        let mut binds: Vec<String> = Vec::new();
        let mut wheres: Vec<String> = Vec::new();
        if let Some(p) = &filter.participant {
            binds.push(p.clone());
            sql.push_str(&format!(
                " JOIN discrepancy_participants dp ON dp.discrepancy_id = d.id AND dp.participant = ${}",
                binds.len()
            ));
        }
        if let Some(day) = filter.day {
            binds.push(day_text(day));
            wheres.push(format!("d.day = ${}", binds.len()));
        }
        if let Some(k) = filter.kind {
            binds.push(k.as_str().into());
            wheres.push(format!("d.type = ${}", binds.len()));
        }
        if let Some(s) = filter.status {
            binds.push(s.as_str().into());
            wheres.push(format!("d.status = ${}", binds.len()));
        }
        if !wheres.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&wheres.join(" AND "));
        }
        match filter.limit {
            Some(n) => sql.push_str(&format!(" ORDER BY d.id DESC LIMIT {}", n.max(0))),
            None => sql.push_str(" ORDER BY d.id"),
        }
        let rows: Vec<DiscrepancyRow> = on_db!(self, pool => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for b in &binds {
                q = q.bind(b.clone());
            }
            q.fetch_all(pool).await?
        });
        rows.into_iter().map(Discrepancy::try_from).collect()
    }

    /// One discrepancy.
    pub async fn discrepancy(&self, id: i64) -> StoreResult<Option<Discrepancy>> {
        let sql = format!("SELECT {DISCREPANCY_COLUMNS} FROM discrepancies d WHERE d.id = $1");
        let row: Option<DiscrepancyRow> = on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?);
        row.map(Discrepancy::try_from).transpose()
    }

    /// Counts of discrepancies per (type, status) for a day (every day when `None`).
    pub async fn discrepancy_counts(
        &self,
        day: Option<NaiveDate>,
    ) -> StoreResult<Vec<(String, String, i64, i64)>> {
        let rows: Vec<(String, String, i64, i64)> = match day {
            Some(d) => on_db!(self, pool => sqlx::query_as(
                "SELECT type, status, COUNT(*), CAST(SUM(amount_fen) AS BIGINT) FROM discrepancies WHERE day = $1 GROUP BY type, status ORDER BY type, status")
                .bind(day_text(d)).fetch_all(pool).await?),
            None => on_db!(self, pool => sqlx::query_as(
                "SELECT type, status, COUNT(*), CAST(SUM(amount_fen) AS BIGINT) FROM discrepancies GROUP BY type, status ORDER BY type, status")
                .fetch_all(pool).await?),
        };
        Ok(rows)
    }

    /// The days that have discrepancies or closed windows, newest first.
    pub async fn reconciliation_days(&self, limit: i64) -> StoreResult<Vec<NaiveDate>> {
        let rows: Vec<String> = on_db!(self, pool => sqlx::query_scalar(
            "SELECT day FROM (SELECT day FROM discrepancies UNION SELECT day FROM windows) d ORDER BY day DESC LIMIT $1")
            .bind(limit).fetch_all(pool).await?);
        rows.iter().map(|d| parse_day(d)).collect()
    }

    /// The window an adjustment cleared in: `None` when no such adjustment, `Some(None)` when
    /// it has not cleared yet.
    pub async fn adjustment_window(&self, reference: &str) -> StoreResult<Option<Option<String>>> {
        let row: Option<Option<String>> = on_db!(self, pool => sqlx::query_scalar(
            "SELECT window_day FROM adjustments WHERE reference = $1")
            .bind(reference).fetch_optional(pool).await?);
        Ok(row)
    }

    /// Resolved discrepancies whose adjustment has cleared in a closed window: `(id,
    /// reference, window day)`.
    pub async fn cleared_resolutions(&self) -> StoreResult<Vec<(i64, String, String)>> {
        let rows: Vec<(i64, String, String)> = on_db!(self, pool => sqlx::query_as(concat!(
            "SELECT d.id, a.reference, a.window_day FROM discrepancies d JOIN adjustments a ON a.reference = d.adjustment_ref ",
            "JOIN windows w ON w.day = a.window_day WHERE d.status = 'resolved' ORDER BY d.id"))
            .fetch_all(pool).await?);
        Ok(rows)
    }
}
