//! The write path: [`store_batches`] writes a file's batches inside the ingest transaction
//! (multi-row inserts on SQLite, `COPY` under a savepoint on PostgreSQL), finding duplicates
//! (`R03`) on the way.

use super::*;

/// What storing a file's batches came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stored {
    /// Records inserted into `records`.
    pub accepted: u64,
    /// Their total amount.
    pub accepted_fen: i64,
    /// Rejections stored (including `R03` duplicates found on insert).
    pub rejected: u64,
    /// Of those, duplicates (`R03`).
    pub duplicates: u64,
    /// Blacklist entries stored.
    pub blacklist_entries: u64,
}

macro_rules! insert_rejection_query {
    ($file_id:expr, $r:expr, $dup:expr) => {{
        let k = $r.key.as_ref();
        sqlx::query(
            "INSERT INTO rejections (file_id, record_no, code, field, reason, scheme, issuer_code, \
             city_code, card_serial, card_seq, kind, terminal, terminal_seq, amount_fen, \
             balance_before_fen, tx_time, duplicate_of, raw) VALUES ($1, $2, $3, $4, $5, $6, $7, \
             $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        )
        .bind($file_id)
        .bind(i64::try_from($r.record_no).unwrap_or(i64::MAX))
        .bind($r.code)
        .bind(&$r.field)
        .bind(&$r.reason)
        .bind(k.map(|k| k.scheme.as_str()))
        .bind(k.map(|k| k.issuer_code.clone()))
        .bind(k.map(|k| k.city_code.clone()))
        .bind(k.map(|k| k.card_serial.clone()))
        .bind(k.and_then(|k| k.card_seq))
        .bind(k.and_then(|k| k.kind))
        .bind(k.and_then(|k| k.terminal.clone()))
        .bind(k.and_then(|k| k.terminal_seq))
        .bind(k.and_then(|k| k.amount_fen))
        .bind(k.and_then(|k| k.balance_before_fen))
        .bind(k.and_then(|k| k.tx_time))
        .bind($dup)
        .bind(&$r.raw)
    }};
}

macro_rules! insert_blacklist_query {
    ($file_id:expr, $e:expr) => {{
        let en = &$e.entry;
        sqlx::query(
            "INSERT INTO blacklist_entries (file_id, record_no, scheme, issuer_code, city_code, \
             card_serial, action, effective, reason, changed) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind($file_id)
        .bind(i64::try_from($e.record_no).unwrap_or(i64::MAX))
        .bind(en.scheme.as_str())
        .bind(en.issuer.issuer_code.to_string())
        .bind(en.issuer.city_code.to_string())
        .bind(en.card.to_string())
        .bind(en.action.as_str())
        .bind(en.effective)
        .bind(en.reason.clone())
        .bind($e.changed)
    }};
}

/// Writes every batch that arrives on `rx` into the transaction, until the channel closes,
/// and returns what was stored. Nothing is committed here: the caller commits when the file
/// as a whole stands, or rolls back.
pub async fn store_batches(
    tx: &mut Tx,
    file_id: i64,
    rx: &mut mpsc::Receiver<Batch>,
) -> StoreResult<Stored> {
    match tx {
        Tx::Sqlite(_) => store_sqlite(tx, file_id, rx).await,
        Tx::Postgres(_) => store_postgres(tx, file_id, rx).await,
    }
}

fn sqlite_insert_sql(rows: usize) -> String {
    let mut sql = String::with_capacity(60 + rows * SQLITE_VALUES_PER_ROW * 3);
    let _ = write!(sql, "INSERT INTO records ({SQLITE_INSERT_COLUMNS}) VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..SQLITE_VALUES_PER_ROW {
            if c > 0 {
                sql.push(',');
            }
            sql.push('?');
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT DO NOTHING");
    sql
}

async fn store_sqlite(
    tx: &mut Tx,
    file_id: i64,
    rx: &mut mpsc::Receiver<Batch>,
) -> StoreResult<Stored> {
    let Tx::Sqlite(t) = tx else {
        return Err(StoreError::Corrupt("store_sqlite on PostgreSQL".into()));
    };
    let conn = &mut **t;
    let mut stored = Stored::default();
    let full_sql = sqlite_insert_sql(SQLITE_ROWS_PER_INSERT);
    while let Some(mut batch) = rx.recv().await {
        let mut rows = std::mem::take(&mut batch.sqlite);
        stored.accepted_fen += batch.candidates_fen;
        while !rows.is_empty() {
            let take = rows.len().min(SQLITE_ROWS_PER_INSERT);
            let chunk: Vec<SqliteRow> = rows.drain(..take).collect();
            let sql = if take == SQLITE_ROWS_PER_INSERT {
                full_sql.clone()
            } else {
                sqlite_insert_sql(take)
            };
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            let (first, last) = (chunk[0].record_no, chunk[take - 1].record_no);
            let mut keys = Vec::new();
            for r in &chunk {
                keys.push((r.record_no, r.natural_key, r.amount_fen, r.tx_time.clone()));
            }
            for r in chunk {
                q = q
                    .bind(file_id)
                    .bind(r.record_no)
                    .bind(r.natural_key.to_vec())
                    .bind(r.card_type)
                    .bind(r.card_type_raw)
                    .bind(r.medium)
                    .bind(r.tx_type)
                    .bind(r.amount_fen)
                    .bind(r.balance_before_fen)
                    .bind(r.card_seq)
                    .bind(r.terminal_seq)
                    .bind(r.tx_time)
                    .bind(r.key_version)
                    .bind(r.alg_id)
                    .bind(r.tac)
                    .bind(r.auth_code)
                    .bind(r.acquirer)
                    .bind(r.operator)
                    .bind(r.industry)
                    .bind(r.line)
                    .bind(r.station)
                    .bind(r.vehicle)
                    .bind(r.issuer_participant)
                    .bind(r.tac_status);
            }
            let inserted = q.execute(&mut *conn).await?.rows_affected();
            stored.accepted += inserted;
            if inserted as usize == take {
                continue;
            }
            // Some rows met an accepted twin: find which, and reject them as R03.
            let present: Vec<(i64,)> = sqlx::query_as(
                "SELECT record_no FROM records WHERE file_id = $1 AND record_no BETWEEN $2 AND $3",
            )
            .bind(file_id)
            .bind(first)
            .bind(last)
            .fetch_all(&mut *conn)
            .await?;
            let present: std::collections::HashSet<i64> =
                present.into_iter().map(|(n,)| n).collect();
            for (record_no, nk, amount, tx_time) in keys {
                if present.contains(&record_no) {
                    continue;
                }
                let twin: Option<(i64, i64, i64)> = sqlx::query_as(
                    "SELECT id, file_id, record_no FROM records WHERE natural_key = $1",
                )
                .bind(nk.to_vec())
                .fetch_optional(&mut *conn)
                .await?;
                let rej = duplicate_rejection(record_no, &nk, amount, &tx_time, twin);
                insert_rejection_sqlite(conn, file_id, &rej.0, rej.1).await?;
                stored.accepted_fen -= amount;
                stored.rejected += 1;
                stored.duplicates += 1;
            }
        }
        for r in &batch.rejections {
            insert_rejection_sqlite(conn, file_id, r, None).await?;
            stored.rejected += 1;
        }
        for e in &batch.blacklist {
            insert_blacklist_query!(file_id, e)
                .execute(&mut *conn)
                .await?;
            stored.blacklist_entries += 1;
        }
    }
    Ok(stored)
}

/// The `R03` rejection of a record whose key is already accepted (`twin`: id, file, record).
fn duplicate_rejection(
    record_no: i64,
    nk: &[u8],
    amount: i64,
    tx_time: &str,
    twin: Option<(i64, i64, i64)>,
) -> (NewRejection, Option<i64>) {
    let key = natural_key_from_bytes(nk);
    let reason = match twin {
        Some((_, f, r)) => format!(
            "duplicate of an accepted record (file {f}, record {r}) with the same natural key"
        ),
        None => "duplicate of an accepted record with the same natural key".to_string(),
    };
    let rej = NewRejection {
        record_no: u64::try_from(record_no).unwrap_or(0),
        code: "R03",
        field: None,
        reason,
        key: key.map(|k| RejectedKey {
            scheme: k.scheme,
            issuer_code: k.issuer.issuer_code.to_string(),
            city_code: k.issuer.city_code.to_string(),
            card_serial: k.card_serial.to_string(),
            card_seq: Some(i64::from(k.card_seq)),
            kind: Some(k.kind.as_str()),
            terminal: Some(k.terminal.to_string()),
            terminal_seq: Some(i64::from(k.terminal_seq)),
            amount_fen: Some(amount),
            balance_before_fen: None,
            tx_time: NaiveDateTime::parse_from_str(tx_time, "%Y-%m-%d %H:%M:%S").ok(),
        }),
        raw: None,
    };
    (rej, twin.map(|(id, _, _)| id))
}

async fn insert_rejection_sqlite(
    conn: &mut sqlx::SqliteConnection,
    file_id: i64,
    r: &NewRejection,
    duplicate_of: Option<i64>,
) -> StoreResult<()> {
    insert_rejection_query!(file_id, r, duplicate_of)
        .execute(conn)
        .await?;
    Ok(())
}

async fn store_postgres(
    tx: &mut Tx,
    file_id: i64,
    rx: &mut mpsc::Receiver<Batch>,
) -> StoreResult<Stored> {
    use tokio::io::{AsyncSeekExt, AsyncWriteExt};
    let Tx::Postgres(t) = tx else {
        return Err(StoreError::Corrupt("store_postgres on SQLite".into()));
    };
    let conn = &mut **t;
    let spill_err = |e: std::io::Error| StoreError::Corrupt(format!("ingest spill file: {e}"));
    // What went into the COPY is also spilled to anonymous temporary files: the records, to
    // replay them through the duplicate-tolerant path should the COPY meet a duplicate; the
    // rejections, which cannot share the connection with a COPY in progress.
    let mut spill = tokio::fs::File::from_std(tempfile::tempfile().map_err(spill_err)?);
    let mut spill_rej = tokio::fs::File::from_std(tempfile::tempfile().map_err(spill_err)?);
    let mut stored = Stored::default();
    let mut candidates = 0u64;
    let mut rejections_spilled = 0u64;
    let mut blacklist = Vec::new();
    let mut other_rejections = Vec::new();
    sqlx::query("SAVEPOINT ingest_fast")
        .execute(&mut *conn)
        .await?;
    let copied = {
        let mut copy = conn
            .copy_in_raw(&format!(
                "COPY records (file_id, {RECORD_COLUMNS_PG}) FROM STDIN (FORMAT text)"
            ))
            .await?;
        while let Some(mut batch) = rx.recv().await {
            candidates += batch.candidates;
            stored.accepted_fen += batch.candidates_fen;
            if !batch.copy.is_empty() {
                spill.write_all(&batch.copy).await.map_err(spill_err)?;
                copy.send(std::mem::take(&mut batch.copy)).await?;
            }
            if !batch.copy_rejections.is_empty() {
                spill_rej
                    .write_all(&batch.copy_rejections)
                    .await
                    .map_err(spill_err)?;
                rejections_spilled += bytecount_lines(&batch.copy_rejections);
            }
            blacklist.append(&mut batch.blacklist);
            other_rejections.append(&mut batch.rejections);
        }
        copy.finish().await
    };
    match copied {
        Ok(n) => {
            sqlx::query("RELEASE SAVEPOINT ingest_fast")
                .execute(&mut *conn)
                .await?;
            stored.accepted = n;
        }
        Err(e) if crate::store::is_unique_violation(&e) => {
            // A record duplicates an accepted one (or one earlier in this file): undo the
            // COPY, stage the records, insert them in record order keeping the first of each
            // key, and reject the rest as R03.
            sqlx::query("ROLLBACK TO SAVEPOINT ingest_fast")
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "CREATE TEMP TABLE IF NOT EXISTS ingest_stage (file_id BIGINT, record_no BIGINT, \
                 natural_key BYTEA, scheme TEXT, issuer_code TEXT, city_code TEXT, \
                 card_serial TEXT, card_type TEXT, card_type_raw TEXT, medium TEXT, \
                 tx_type INTEGER, kind TEXT, amount_fen BIGINT, balance_before_fen BIGINT, \
                 card_seq INTEGER, terminal TEXT, terminal_seq BIGINT, tx_time TIMESTAMP, \
                 key_version INTEGER, alg_id INTEGER, tac TEXT, auth_code TEXT, acquirer TEXT, \
                 operator TEXT, industry TEXT, line TEXT, station TEXT, vehicle TEXT, \
                 issuer_participant TEXT, tac_status TEXT) ON COMMIT DROP",
            )
            .execute(&mut *conn)
            .await?;
            spill.flush().await.map_err(spill_err)?;
            spill
                .seek(std::io::SeekFrom::Start(0))
                .await
                .map_err(spill_err)?;
            let mut copy = conn
                .copy_in_raw(&format!(
                    "COPY ingest_stage (file_id, {RECORD_COLUMNS_PG}) FROM STDIN (FORMAT text)"
                ))
                .await?;
            copy.read_from(&mut spill).await?;
            copy.finish().await?;
            stored.accepted = sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO records (file_id, {RECORD_COLUMNS_PG}) SELECT file_id, \
                 {RECORD_COLUMNS_PG} FROM ingest_stage ORDER BY record_no ON CONFLICT DO NOTHING"
            )))
            .execute(&mut *conn)
            .await?
            .rows_affected();
            let dups = sqlx::query(
                "INSERT INTO rejections (file_id, record_no, code, field, reason, scheme, \
                 issuer_code, city_code, card_serial, card_seq, kind, terminal, terminal_seq, \
                 amount_fen, tx_time, duplicate_of) \
                 SELECT $1, s.record_no, 'R03', NULL, 'duplicate of an accepted record (file ' \
                 || r.file_id || ', record ' || r.record_no || ') with the same natural key', \
                 s.scheme, s.issuer_code, s.city_code, s.card_serial, s.card_seq, s.kind, \
                 s.terminal, s.terminal_seq, s.amount_fen, s.tx_time, r.id \
                 FROM ingest_stage s JOIN records r ON r.natural_key = s.natural_key \
                 WHERE NOT (r.file_id = $1 AND r.record_no = s.record_no)",
            )
            .bind(file_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            stored.duplicates = dups;
            stored.rejected += dups;
            let (dup_fen,): (Option<i64>,) = sqlx::query_as(
                "SELECT SUM(amount_fen)::BIGINT FROM rejections WHERE file_id = $1 AND code = 'R03'",
            )
            .bind(file_id)
            .fetch_one(&mut *conn)
            .await?;
            stored.accepted_fen -= dup_fen.unwrap_or(0);
            sqlx::query("TRUNCATE ingest_stage")
                .execute(&mut *conn)
                .await?;
        }
        Err(e) => return Err(e.into()),
    }
    if stored.accepted + stored.duplicates != candidates {
        return Err(StoreError::Corrupt(format!(
            "file {file_id}: {candidates} records to store, {} stored and {} duplicates",
            stored.accepted, stored.duplicates
        )));
    }
    if rejections_spilled > 0 {
        spill_rej.flush().await.map_err(spill_err)?;
        spill_rej
            .seek(std::io::SeekFrom::Start(0))
            .await
            .map_err(spill_err)?;
        let mut copy = conn
            .copy_in_raw(&format!(
                "COPY rejections ({REJECTION_COPY_COLUMNS}) FROM STDIN (FORMAT text)"
            ))
            .await?;
        copy.read_from(&mut spill_rej).await?;
        stored.rejected += copy.finish().await?;
    }
    for r in &other_rejections {
        insert_rejection_query!(file_id, r, None::<i64>)
            .execute(&mut *conn)
            .await?;
        stored.rejected += 1;
    }
    for e in &blacklist {
        insert_blacklist_query!(file_id, e)
            .execute(&mut *conn)
            .await?;
        stored.blacklist_entries += 1;
    }
    Ok(stored)
}

/// Lines in a `COPY` text buffer (one per row).
fn bytecount_lines(b: &[u8]) -> u64 {
    b.iter().filter(|&&c| c == b'\n').count() as u64
}
