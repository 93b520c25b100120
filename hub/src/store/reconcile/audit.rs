//! The card audit's stream: every card's records in order, and the rejected events it also reads.

use super::*;

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
