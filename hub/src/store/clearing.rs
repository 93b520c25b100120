//! Settlement windows and their clearing: marking what a window takes, the set-based
//! aggregation over stored records, and the closed window's figures, which never change.
//!
//! A window takes whole files: every inbound file whose records were accepted (`accepted` or
//! `partially_accepted`), received before the day's cut-off and not yet in a window, gets the
//! window's day in `files.window_day`. Ingest applies a file's records in one transaction, so
//! every accepted record is in exactly one window, and closing a window touches a few rows per
//! file instead of millions of records. The money is then one `GROUP BY` over the window's
//! records (joined to their files), run inside the database engine.

use chrono::NaiveDate;
use reconciliation::{
    Adjustment, Aggregate, Clearing, FeeLine, Flow, PairPosition, ParticipantPosition,
};
use rust_decimal::Decimal;
use serde::Serialize;

use super::time::day_text;
use super::{Store, StoreError, StoreResult, Timestamp, Tx, on_db, on_tx};

/// A closed window's header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindowRecord {
    /// Settlement day.
    pub day: NaiveDate,
    /// The cut-off instant.
    pub cutoff_at: Timestamp,
    /// When it closed.
    pub closed_at: Timestamp,
    /// Transactions in it.
    pub tx_count: i64,
    /// Their amount, fen.
    pub tx_amount_fen: i64,
    /// On-us transactions.
    pub on_us_count: i64,
    /// Files it took.
    pub file_count: i64,
    /// SHA-256 of the fee schedule that cleared it.
    pub fees_sha256: String,
}

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {detail}"))
}

type AggRow = (String, String, String, String, String, i64, i64);
type FeeRow = (i64, String, String, String, i64, i64, String, i64);

fn to_aggregate(row: AggRow) -> StoreResult<Option<Aggregate>> {
    let (issuer, acquirer, scheme, industry, kind, count, amount) = row;
    let kind: card_standards::TxKind = kind.parse().map_err(|e| corrupt("records.kind", e))?;
    let Some(flow) = Flow::of(kind) else {
        return Ok(None);
    };
    Ok(Some(Aggregate {
        issuer,
        acquirer,
        scheme: scheme.parse().map_err(|e| corrupt("records.scheme", e))?,
        industry: industry
            .parse()
            .map_err(|e| corrupt("records.industry", e))?,
        flow,
        count: u64::try_from(count).map_err(|e| corrupt("count", e))?,
        amount_fen: amount,
    }))
}

macro_rules! aggregate_sql {
    ($filter:literal) => {
        concat!(
            "SELECT r.issuer_participant, r.acquirer, r.scheme, r.industry, r.kind, ",
            "COUNT(*), CAST(SUM(r.amount_fen) AS BIGINT) ",
            "FROM records r JOIN files f ON f.id = r.file_id WHERE ",
            $filter,
            " GROUP BY r.issuer_participant, r.acquirer, r.scheme, r.industry, r.kind ",
            "ORDER BY r.issuer_participant, r.acquirer, r.scheme, r.industry, r.kind"
        )
    };
}

/// Gives day `day`'s window every unwindowed accepted inbound file received before `cutoff`;
/// returns how many files it took.
pub async fn mark_window_files(tx: &mut Tx, day: NaiveDate, cutoff: Timestamp) -> StoreResult<u64> {
    let sql = concat!(
        "UPDATE files SET window_day = $1 WHERE direction = 'in' AND window_day IS NULL ",
        "AND received_at < $2 AND status IN ('accepted', 'partially_accepted')"
    );
    let done = on_tx!(tx, conn => sqlx::query(sql).bind(day_text(day)).bind(cutoff).execute(&mut *conn).await?.rows_affected());
    Ok(done)
}

/// Accepted inbound files received before `cutoff` that are in no window (must be none right
/// after [`mark_window_files`]).
pub async fn unwindowed_before(tx: &mut Tx, cutoff: Timestamp) -> StoreResult<i64> {
    let sql = concat!(
        "SELECT COUNT(*) FROM files WHERE direction = 'in' AND window_day IS NULL ",
        "AND received_at < $1 AND status IN ('accepted', 'partially_accepted')"
    );
    let n: i64 =
        on_tx!(tx, conn => sqlx::query_scalar(sql).bind(cutoff).fetch_one(&mut *conn).await?);
    Ok(n)
}

/// Gives day `day`'s window every adjustment made before `cutoff` that is in no window yet.
pub async fn mark_window_adjustments(
    tx: &mut Tx,
    day: NaiveDate,
    cutoff: Timestamp,
) -> StoreResult<u64> {
    let sql = "UPDATE adjustments SET window_day = $1 WHERE window_day IS NULL AND created_at < $2";
    let done = on_tx!(tx, conn => sqlx::query(sql).bind(day_text(day)).bind(cutoff).execute(&mut *conn).await?.rows_affected());
    Ok(done)
}

/// A window's records summed in one pass.
#[derive(Debug, Clone, Default)]
pub struct WindowSums {
    /// Per (issuer participant, acquirer, scheme, industry, kind) of the kinds that move money.
    pub aggregates: Vec<Aggregate>,
    /// Every record in the window, those that move no money included.
    pub records: i64,
}

/// The window's records summed per (issuer participant, acquirer, scheme, industry, kind): one
/// `GROUP BY` over the window's records.
pub async fn window_aggregates(tx: &mut Tx, day: NaiveDate) -> StoreResult<WindowSums> {
    let rows: Vec<AggRow> = on_tx!(tx, conn => sqlx::query_as(aggregate_sql!("f.window_day = $1")).bind(day_text(day)).fetch_all(&mut *conn).await?);
    let records = rows.iter().map(|r| r.5).sum();
    let aggregates = rows
        .into_iter()
        .filter_map(|r| to_aggregate(r).transpose())
        .collect::<StoreResult<_>>()?;
    Ok(WindowSums {
        aggregates,
        records,
    })
}

/// The adjustments a window clears.
pub async fn window_adjustments(tx: &mut Tx, day: NaiveDate) -> StoreResult<Vec<Adjustment>> {
    let sql = "SELECT reference, payer, payee, amount_fen, reason FROM adjustments WHERE window_day = $1 ORDER BY id";
    let rows: Vec<(String, String, String, i64, String)> =
        on_tx!(tx, conn => sqlx::query_as(sql).bind(day_text(day)).fetch_all(&mut *conn).await?);
    Ok(rows
        .into_iter()
        .map(|(reference, payer, payee, amount_fen, reason)| Adjustment {
            reference,
            payer,
            payee,
            amount_fen,
            reason,
        })
        .collect())
}

/// Writes a closed window's figures.
pub async fn persist_window(tx: &mut Tx, w: &WindowRecord, c: &Clearing) -> StoreResult<()> {
    let day = day_text(w.day);
    on_tx!(tx, conn => {
        sqlx::query(concat!(
            "INSERT INTO windows (day, status, cutoff_at, closed_at, tx_count, tx_amount_fen, on_us_count, file_count, fees_sha256) ",
            "VALUES ($1, 'closed', $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(&day).bind(w.cutoff_at).bind(w.closed_at).bind(w.tx_count).bind(w.tx_amount_fen)
        .bind(w.on_us_count).bind(w.file_count).bind(&w.fees_sha256)
        .execute(&mut *conn).await?;
        for p in &c.participants {
            sqlx::query("INSERT INTO window_positions (day, code, receivable_fen, payable_fen, fees_fen, net_fen) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&day).bind(&p.code).bind(p.receivable_fen).bind(p.payable_fen).bind(p.fees_fen).bind(p.net_fen)
                .execute(&mut *conn).await?;
        }
        for p in &c.pairs {
            sqlx::query("INSERT INTO window_pairs (day, payer, payee, count, amount_fen, fee_fen, adjustment_fen) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(&day).bind(&p.payer).bind(&p.payee).bind(i64::try_from(p.count).unwrap_or(i64::MAX)).bind(p.amount_fen).bind(p.fee_fen).bind(p.adjustment_fen)
                .execute(&mut *conn).await?;
        }
        for (i, f) in c.fees.iter().enumerate() {
            sqlx::query(concat!(
                "INSERT INTO window_fees (day, line, rule, description, payer, payee, count, base_amount_fen, raw_fen, fee_fen) ",
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ))
            .bind(&day).bind(i as i64 + 1).bind(f.rule as i64).bind(&f.description).bind(&f.payer).bind(&f.payee)
            .bind(i64::try_from(f.count).unwrap_or(i64::MAX)).bind(f.base_amount_fen).bind(f.raw_fen.to_string()).bind(f.fee_fen)
            .execute(&mut *conn).await?;
        }
    });
    Ok(())
}

/// A new adjustment, to clear in the next window that closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAdjustment {
    /// Unique reference, e.g. `ADJ-DISC-42`.
    pub reference: String,
    /// Who pays.
    pub payer: String,
    /// Who receives.
    pub payee: String,
    /// Fen, positive.
    pub amount_fen: i64,
    /// Why (shown on statements).
    pub reason: String,
    /// What made it: `discrepancy:42`, `dispute:7`, `operator`.
    pub source: String,
}

/// Records an adjustment; an existing reference returns `false` and changes nothing.
pub async fn insert_adjustment(
    tx: &mut Tx,
    a: &NewAdjustment,
    now: Timestamp,
) -> StoreResult<bool> {
    let sql = concat!(
        "INSERT INTO adjustments (reference, payer, payee, amount_fen, reason, source, created_at) ",
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (reference) DO NOTHING"
    );
    let n = on_tx!(tx, conn => sqlx::query(sql)
        .bind(&a.reference).bind(&a.payer).bind(&a.payee).bind(a.amount_fen).bind(&a.reason).bind(&a.source).bind(now)
        .execute(&mut *conn).await?.rows_affected());
    Ok(n == 1)
}

impl Store {
    /// A closed window, if day `day`'s window is closed.
    pub async fn closed_window(&self, day: NaiveDate) -> StoreResult<Option<WindowRecord>> {
        let sql = concat!(
            "SELECT cutoff_at, closed_at, tx_count, tx_amount_fen, on_us_count, file_count, fees_sha256 ",
            "FROM windows WHERE day = $1"
        );
        type Row = (Timestamp, Timestamp, i64, i64, i64, i64, String);
        let row: Option<Row> = on_db!(self, pool => sqlx::query_as(sql).bind(day_text(day)).fetch_optional(pool).await?);
        Ok(row.map(
            |(
                cutoff_at,
                closed_at,
                tx_count,
                tx_amount_fen,
                on_us_count,
                file_count,
                fees_sha256,
            )| WindowRecord {
                day,
                cutoff_at,
                closed_at,
                tx_count,
                tx_amount_fen,
                on_us_count,
                file_count,
                fees_sha256,
            },
        ))
    }

    /// A closed window's figures, as the clearing produced them.
    pub async fn window_figures(&self, day: NaiveDate) -> StoreResult<Clearing> {
        let d = day_text(day);
        let participants: Vec<(String, i64, i64, i64, i64)> = on_db!(self, pool => sqlx::query_as(
            "SELECT code, receivable_fen, payable_fen, fees_fen, net_fen FROM window_positions WHERE day = $1 ORDER BY code")
            .bind(&d).fetch_all(pool).await?);
        let pairs: Vec<(String, String, i64, i64, i64, i64)> = on_db!(self, pool => sqlx::query_as(
            "SELECT payer, payee, count, amount_fen, fee_fen, adjustment_fen FROM window_pairs WHERE day = $1 ORDER BY payer, payee")
            .bind(&d).fetch_all(pool).await?);
        let fees: Vec<FeeRow> = on_db!(self, pool => sqlx::query_as(
            "SELECT rule, description, payer, payee, count, base_amount_fen, raw_fen, fee_fen FROM window_fees WHERE day = $1 ORDER BY line")
            .bind(&d).fetch_all(pool).await?);
        let adjustments: Vec<(String, String, String, i64, String)> = on_db!(self, pool => sqlx::query_as(
            "SELECT reference, payer, payee, amount_fen, reason FROM adjustments WHERE window_day = $1 ORDER BY id")
            .bind(&d).fetch_all(pool).await?);
        let w = self
            .closed_window(day)
            .await?
            .ok_or_else(|| corrupt("windows", format!("{d} is not closed")))?;
        Ok(Clearing {
            participants: participants
                .into_iter()
                .map(
                    |(code, receivable_fen, payable_fen, fees_fen, net_fen)| ParticipantPosition {
                        code,
                        receivable_fen,
                        payable_fen,
                        fees_fen,
                        net_fen,
                    },
                )
                .collect(),
            pairs: pairs
                .into_iter()
                .map(
                    |(payer, payee, count, amount_fen, fee_fen, adjustment_fen)| PairPosition {
                        payer,
                        payee,
                        count: u64::try_from(count).unwrap_or(0),
                        amount_fen,
                        fee_fen,
                        adjustment_fen,
                    },
                )
                .collect(),
            fees: fees
                .into_iter()
                .map(
                    |(rule, description, payer, payee, count, base_amount_fen, raw, fee_fen)| {
                        Ok(FeeLine {
                            rule: usize::try_from(rule).unwrap_or(0),
                            description,
                            payer,
                            payee,
                            count: u64::try_from(count).unwrap_or(0),
                            base_amount_fen,
                            raw_fen: raw
                                .parse::<Decimal>()
                                .map_err(|e| corrupt("window_fees.raw_fen", e))?,
                            fee_fen,
                        })
                    },
                )
                .collect::<StoreResult<_>>()?,
            adjustments: adjustments
                .into_iter()
                .map(|(reference, payer, payee, amount_fen, reason)| Adjustment {
                    reference,
                    payer,
                    payee,
                    amount_fen,
                    reason,
                })
                .collect(),
            tx_count: u64::try_from(w.tx_count).unwrap_or(0),
            tx_amount_fen: w.tx_amount_fen,
            on_us_count: u64::try_from(w.on_us_count).unwrap_or(0),
        })
    }

    /// What an open window would take now: the aggregates of unwindowed accepted files
    /// received before `cutoff`, and the unwindowed adjustments made before it.
    pub async fn provisional_window(
        &self,
        cutoff: Timestamp,
    ) -> StoreResult<(Vec<Aggregate>, Vec<Adjustment>)> {
        let rows: Vec<AggRow> = on_db!(self, pool => sqlx::query_as(aggregate_sql!(
            "f.direction = 'in' AND f.window_day IS NULL AND f.received_at < $1 AND f.status IN ('accepted', 'partially_accepted')"
        )).bind(cutoff).fetch_all(pool).await?);
        let aggregates = rows
            .into_iter()
            .filter_map(|r| to_aggregate(r).transpose())
            .collect::<StoreResult<Vec<_>>>()?;
        let adj: Vec<(String, String, String, i64, String)> = on_db!(self, pool => sqlx::query_as(
            "SELECT reference, payer, payee, amount_fen, reason FROM adjustments WHERE window_day IS NULL AND created_at < $1 ORDER BY id")
            .bind(cutoff).fetch_all(pool).await?);
        let adjustments = adj
            .into_iter()
            .map(|(reference, payer, payee, amount_fen, reason)| Adjustment {
                reference,
                payer,
                payee,
                amount_fen,
                reason,
            })
            .collect();
        Ok((aggregates, adjustments))
    }

    /// The days of closed windows, newest first.
    pub async fn closed_days(&self, limit: i64) -> StoreResult<Vec<NaiveDate>> {
        let rows: Vec<String> = on_db!(self, pool => sqlx::query_scalar("SELECT day FROM windows ORDER BY day DESC LIMIT $1").bind(limit).fetch_all(pool).await?);
        rows.iter()
            .map(|d| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|e| corrupt("windows.day", e))
            })
            .collect()
    }

    /// Whether an output of a closed window was already produced.
    pub async fn window_output(
        &self,
        day: NaiveDate,
        kind: &str,
        participant: &str,
    ) -> StoreResult<bool> {
        let n: i64 = on_db!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM window_outputs WHERE day = $1 AND kind = $2 AND participant = $3")
            .bind(day_text(day)).bind(kind).bind(participant).fetch_one(pool).await?);
        Ok(n > 0)
    }

    /// Records a produced output of a closed window with `sha256`, the hex SHA-256 of the bytes
    /// written (a second record of the same is ignored).
    pub async fn record_window_output(
        &self,
        day: NaiveDate,
        kind: &str,
        participant: &str,
        file_id: Option<i64>,
        path: Option<&str>,
        sha256: Option<&str>,
    ) -> StoreResult<()> {
        on_db!(self, pool => sqlx::query(concat!(
            "INSERT INTO window_outputs (day, kind, participant, file_id, path, sha256) VALUES ($1, $2, $3, $4, $5, $6) ",
            "ON CONFLICT (day, kind, participant) DO NOTHING"))
            .bind(day_text(day)).bind(kind).bind(participant).bind(file_id).bind(path).bind(sha256)
            .execute(pool).await.map(|_| ())?);
        Ok(())
    }
}
