//! The read path: stored records rebuilt as canonical records, a file's outcome paged by
//! record number, rejections.

use super::*;

/// Pages of a file's rejections, by record number.
pub type RejectionPages = mpsc::Receiver<StoreResult<Vec<RejectionRow>>>;

/// Pages of a file's accepted records, by record number.
pub type AcceptedPages = mpsc::Receiver<StoreResult<Vec<AcceptedRow>>>;

/// A stored rejection, as the result shows it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct RejectionRow {
    /// Record number.
    pub record_no: i64,
    /// Reason code.
    pub code: String,
    /// Field named.
    pub field: Option<String>,
    /// Why.
    pub reason: String,
    /// Scheme, where read.
    pub scheme: Option<String>,
    /// Issuer code.
    pub issuer_code: Option<String>,
    /// City code.
    pub city_code: Option<String>,
    /// Card serial.
    pub card_serial: Option<String>,
    /// Card counter.
    pub card_seq: Option<i64>,
    /// Kind.
    pub kind: Option<String>,
    /// Terminal.
    pub terminal: Option<String>,
    /// Terminal counter.
    pub terminal_seq: Option<i64>,
    /// Amount.
    pub amount_fen: Option<i64>,
    /// The accepted record a duplicate duplicates.
    pub duplicate_of: Option<i64>,
    /// The record as it was in the file.
    pub raw: Option<String>,
}

/// The columns of [`RejectionRow`].
pub(crate) const REJECTION_ROW_COLUMNS: &str = "record_no, code, field, reason, scheme, \
     issuer_code, city_code, card_serial, CAST(card_seq AS BIGINT) AS card_seq, kind, terminal, \
     CAST(terminal_seq AS BIGINT) AS terminal_seq, CAST(amount_fen AS BIGINT) AS amount_fen, \
     CAST(duplicate_of AS BIGINT) AS duplicate_of, raw";

/// An accepted record's key and amount, as the result shows it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct AcceptedRow {
    /// Record number.
    pub record_no: i64,
    /// The 28-byte natural key.
    pub natural_key: Vec<u8>,
    /// Amount.
    pub amount_fen: i64,
}

/// An accepted record as stored, rebuilt as a canonical record (for outbound files, clearing
/// and reconciliation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// `records.id`.
    pub id: i64,
    /// The file it came in.
    pub file_id: i64,
    /// Its number in that file.
    pub record_no: i64,
    /// The record (its provenance: `file <id>`, record number).
    pub tx: CanonicalTx,
    /// The clearing participant its card's issuer routes to.
    pub issuer_participant: String,
    /// What became of its TAC.
    pub tac_status: TacStatus,
}

#[derive(FromRow)]
struct FullRow {
    id: i64,
    file_id: i64,
    record_no: i64,
    scheme: String,
    issuer_code: String,
    city_code: String,
    card_serial: String,
    card_type: String,
    card_type_raw: String,
    medium: String,
    tx_type: i64,
    amount_fen: i64,
    balance_before_fen: i64,
    card_seq: i64,
    terminal: String,
    terminal_seq: i64,
    tx_time: NaiveDateTime,
    key_version: i64,
    alg_id: i64,
    tac: Option<String>,
    auth_code: Option<String>,
    acquirer: String,
    operator: Option<String>,
    industry: String,
    line: Option<String>,
    station: Option<String>,
    vehicle: Option<String>,
    issuer_participant: String,
    tac_status: String,
}

const FULL_COLUMNS: &str = "id, CAST(file_id AS BIGINT) AS file_id, CAST(record_no AS BIGINT) \
     AS record_no, scheme, issuer_code, city_code, card_serial, card_type, card_type_raw, medium, \
     CAST(tx_type AS BIGINT) AS tx_type, CAST(amount_fen AS BIGINT) AS amount_fen, \
     CAST(balance_before_fen AS BIGINT) AS balance_before_fen, CAST(card_seq AS BIGINT) AS \
     card_seq, terminal, CAST(terminal_seq AS BIGINT) AS terminal_seq, tx_time, \
     CAST(key_version AS BIGINT) AS key_version, CAST(alg_id AS BIGINT) AS alg_id, tac, \
     auth_code, acquirer, operator, industry, line, station, vehicle, issuer_participant, \
     tac_status";

impl TryFrom<FullRow> for StoredRecord {
    type Error = StoreError;
    fn try_from(r: FullRow) -> StoreResult<StoredRecord> {
        let bad = |what: &str, v: &str| {
            StoreError::Corrupt(format!("records.{what} {v:?} of record {}", r.id))
        };
        let num = |what: &str, v: i64| {
            StoreError::Corrupt(format!("records.{what} {v} of record {}", r.id))
        };
        let tx = CanonicalTx {
            scheme: r.scheme.parse().map_err(|_| bad("scheme", &r.scheme))?,
            issuer: card_standards::IssuerId {
                issuer_code: r
                    .issuer_code
                    .parse()
                    .map_err(|_| bad("issuer_code", &r.issuer_code))?,
                city_code: r
                    .city_code
                    .parse()
                    .map_err(|_| bad("city_code", &r.city_code))?,
            },
            card_serial: r
                .card_serial
                .parse()
                .map_err(|_| bad("card_serial", &r.card_serial))?,
            card_type: r
                .card_type
                .parse()
                .map_err(|_| bad("card_type", &r.card_type))?,
            card_type_raw: r.card_type_raw.clone(),
            medium: match r.medium.as_str() {
                "cpu" => CardMedium::Cpu,
                "m1" => CardMedium::MifareClassic,
                other => return Err(bad("medium", other)),
            },
            tx_type: card_standards::TxType(
                u8::try_from(r.tx_type).map_err(|_| num("tx_type", r.tx_type))?,
            ),
            amount_fen: r.amount_fen,
            balance_before_fen: r.balance_before_fen,
            card_seq: u16::try_from(r.card_seq).map_err(|_| num("card_seq", r.card_seq))?,
            terminal: r
                .terminal
                .parse()
                .map_err(|_| bad("terminal", &r.terminal))?,
            terminal_seq: u32::try_from(r.terminal_seq)
                .map_err(|_| num("terminal_seq", r.terminal_seq))?,
            tx_time: r.tx_time,
            key_version: u8::try_from(r.key_version)
                .map_err(|_| num("key_version", r.key_version))?,
            alg_id: u8::try_from(r.alg_id).map_err(|_| num("alg_id", r.alg_id))?,
            tac: r
                .tac
                .as_deref()
                .map(|t| t.parse().map_err(|_| bad("tac", t)))
                .transpose()?,
            auth_code: r
                .auth_code
                .as_deref()
                .map(|t| t.parse().map_err(|_| bad("auth_code", t)))
                .transpose()?,
            acceptance: card_standards::Acceptance {
                acquirer: r.acquirer,
                operator: r.operator,
                industry: r
                    .industry
                    .parse()
                    .map_err(|_| bad("industry", &r.industry))?,
                line: r.line,
                station: r.station,
                vehicle: r.vehicle,
            },
            provenance: Some(card_standards::Provenance {
                file: format!("file {}", r.file_id),
                record: u64::try_from(r.record_no).unwrap_or(0),
            }),
        };
        let tac_status = match r.tac_status.as_str() {
            "valid" => TacStatus::Valid,
            "unverified" => TacStatus::Unverified,
            "not_applicable" => TacStatus::NotApplicable,
            other => return Err(bad("tac_status", other)),
        };
        Ok(StoredRecord {
            id: r.id,
            file_id: r.file_id,
            record_no: r.record_no,
            tx,
            issuer_participant: r.issuer_participant,
            tac_status,
        })
    }
}

impl Store {
    /// Accepted records with `id > after_id`, by id, at most `limit`; only those routed to
    /// `issuer_participant` when given. Page through all of them by passing the last id back.
    pub async fn stored_records(
        &self,
        issuer_participant: Option<&str>,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<StoredRecord>> {
        let rows: Vec<FullRow> = on_db!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {FULL_COLUMNS} FROM records WHERE id > $1 \
                 AND ($2 IS NULL OR issuer_participant = $2) ORDER BY id LIMIT $3"
            )))
            .bind(after_id)
            .bind(issuer_participant)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(StoredRecord::try_from).collect()
    }

    /// Streams the records of the closed window `day` charged to issuer side `issuer` and
    /// acquired by another participant — what its outbound package (下发包) carries, by id — to
    /// `out` in batches of at most `batch`, without holding the package in memory; returns how
    /// many it sent. Stops early (without error) when the receiver is gone.
    pub async fn stream_package_records(
        &self,
        day: chrono::NaiveDate,
        issuer: &str,
        batch: usize,
        out: &mpsc::Sender<Vec<CanonicalTx>>,
    ) -> StoreResult<u64> {
        use futures_util::TryStreamExt;
        let sql = format!(
            "SELECT {FULL_COLUMNS} FROM records \
             WHERE file_id IN (SELECT id FROM files WHERE window_day = $1) \
             AND issuer_participant = $2 AND acquirer <> $2 ORDER BY id"
        );
        let day = crate::store::time::day_text(day);
        let mut sent = 0u64;
        let mut buf = Vec::with_capacity(batch);
        on_db!(self, pool => {
            let mut rows = sqlx::query_as::<_, FullRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(day.clone())
                .bind(issuer)
                .fetch(pool);
            while let Some(row) = rows.try_next().await? {
                buf.push(StoredRecord::try_from(row)?.tx);
                if buf.len() >= batch {
                    sent += buf.len() as u64;
                    if out.send(std::mem::replace(&mut buf, Vec::with_capacity(batch))).await.is_err() {
                        return Ok(sent);
                    }
                }
            }
        });
        if !buf.is_empty() {
            sent += buf.len() as u64;
            let _ = out.send(buf).await;
        }
        Ok(sent)
    }

    /// The accepted record `id`, if there is one.
    pub async fn stored_record(&self, id: i64) -> StoreResult<Option<StoredRecord>> {
        let row: Option<FullRow> = on_db!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {FULL_COLUMNS} FROM records WHERE id = $1"
            )))
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        row.map(StoredRecord::try_from).transpose()
    }

    /// A file's rejections, by record number.
    pub async fn rejections_of(&self, file_id: i64) -> StoreResult<Vec<RejectionRow>> {
        Ok(on_db!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {REJECTION_ROW_COLUMNS} FROM rejections WHERE file_id = $1 ORDER BY record_no"
            )))
            .bind(file_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Streams a file's rejections (by record number) and accepted records (by record number)
    /// into two channels of bounded size, from a task of its own: for results of any size.
    pub fn stream_file_outcome(
        &self,
        file_id: i64,
        chunk: usize,
    ) -> (RejectionPages, AcceptedPages) {
        let (rtx, rrx) = mpsc::channel(4);
        let (atx, arx) = mpsc::channel(4);
        let store = self.clone();
        tokio::spawn(async move {
            let rej = store.page_rejections(file_id, chunk, rtx);
            let acc = store.page_accepted(file_id, chunk, atx);
            let _ = tokio::join!(rej, acc);
        });
        (rrx, arx)
    }

    async fn page_rejections(
        &self,
        file_id: i64,
        chunk: usize,
        out: mpsc::Sender<StoreResult<Vec<RejectionRow>>>,
    ) {
        let mut after = -1i64;
        loop {
            let page: StoreResult<Vec<RejectionRow>> = async {
                Ok(on_db!(self, pool => {
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {REJECTION_ROW_COLUMNS} FROM rejections WHERE file_id = $1 \
                         AND record_no > $2 ORDER BY record_no LIMIT $3"
                    )))
                    .bind(file_id)
                    .bind(after)
                    .bind(i64::try_from(chunk).unwrap_or(1000))
                    .fetch_all(pool)
                    .await?
                }))
            }
            .await;
            let done = match &page {
                Ok(p) => {
                    if let Some(last) = p.last() {
                        after = last.record_no;
                    }
                    p.len() < chunk
                }
                Err(_) => true,
            };
            if out.send(page).await.is_err() || done {
                return;
            }
        }
    }

    async fn page_accepted(
        &self,
        file_id: i64,
        chunk: usize,
        out: mpsc::Sender<StoreResult<Vec<AcceptedRow>>>,
    ) {
        let mut after = -1i64;
        loop {
            let page: StoreResult<Vec<AcceptedRow>> = async {
                Ok(on_db!(self, pool => {
                    sqlx::query_as(
                        "SELECT record_no, natural_key, \
                         CAST(amount_fen AS BIGINT) AS amount_fen FROM records \
                         WHERE file_id = $1 AND record_no > $2 ORDER BY record_no LIMIT $3",
                    )
                    .bind(file_id)
                    .bind(after)
                    .bind(i64::try_from(chunk).unwrap_or(1000))
                    .fetch_all(pool)
                    .await?
                }))
            }
            .await;
            let done = match &page {
                Ok(p) => {
                    if let Some(last) = p.last() {
                        after = last.record_no;
                    }
                    p.len() < chunk
                }
                Err(_) => true,
            };
            if out.send(page).await.is_err() || done {
                return;
            }
        }
    }

    /// How many accepted records a file has.
    pub async fn record_count(&self, file_id: i64) -> StoreResult<i64> {
        let (n,): (i64,) = on_db!(self, pool => {
            sqlx::query_as("SELECT COUNT(*) FROM records WHERE file_id = $1")
                .bind(file_id)
                .fetch_one(pool)
                .await?
        });
        Ok(n)
    }

    /// The id of the accepted record `record_no` of file `file_id`, if it was accepted.
    pub async fn record_id_at(&self, file_id: i64, record_no: i64) -> StoreResult<Option<i64>> {
        Ok(on_db!(self, pool => {
            sqlx::query_scalar("SELECT id FROM records WHERE file_id = $1 AND record_no = $2")
                .bind(file_id)
                .bind(record_no)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Records accepted by ingest so far, over every file (for progress displays).
    pub async fn accepted_records_total(&self) -> StoreResult<u64> {
        let n: Option<i64> = on_db!(self, pool => {
            sqlx::query_scalar("SELECT CAST(SUM(accepted) AS BIGINT) FROM file_results")
                .fetch_one(pool)
                .await?
        });
        Ok(u64::try_from(n.unwrap_or(0)).unwrap_or(0))
    }
}

/// Streams, inside transaction `tx`, the records of day `day`'s window that go into an
/// outbound package (acquired by another participant than their issuer side) to
/// `on_record`, by id. The close reads them before it commits, to check that each issuer
/// side's package will carry everything charged to it.
pub async fn stream_window_package_records<F>(
    tx: &mut Tx,
    day: chrono::NaiveDate,
    mut on_record: F,
) -> StoreResult<()>
where
    F: FnMut(StoredRecord) -> StoreResult<()>,
{
    use futures_util::TryStreamExt;
    let sql = format!(
        "SELECT {FULL_COLUMNS} FROM records \
         WHERE file_id IN (SELECT id FROM files WHERE window_day = $1) \
         AND acquirer <> issuer_participant ORDER BY id"
    );
    let day = crate::store::time::day_text(day);
    crate::store::on_tx!(tx, conn => {
        let mut rows = sqlx::query_as::<_, FullRow>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(day.clone())
            .fetch(&mut *conn);
        while let Some(row) = rows.try_next().await? {
            on_record(StoredRecord::try_from(row)?)?;
        }
    });
    Ok(())
}
