//! What the benchmarks (`hutong bench`) ask of the database: generated windows, the bare
//! queries and loads that are the physical limits quoted beside the hub's own figures. Not
//! used by the hub itself.
#![allow(clippy::cast_possible_wrap)] // record counts of a benchmark

use std::io::Write as _;
use std::path::Path;

use futures_util::TryStreamExt;

use super::{Db, NewParticipant, ParticipantScheme, Store, StoreError, StoreResult, Timestamp};

fn file_err(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::File {
        path: path.display().to_string(),
        source,
    }
}

fn csv_err(path: &Path) -> impl Fn(csv::Error) -> StoreError + '_ {
    move |e| StoreError::File {
        path: path.display().to_string(),
        source: std::io::Error::other(e),
    }
}

/// The records, made inside the database: the participant, scheme, industry and amount of
/// record `i` are functions of `i`, so every run stores the same day.
fn generate_sql(db: &Db) -> &'static str {
    // The natural key (see `store::records`): terminal 000001000050, terminal counter i,
    // scheme code i % 4 + 1, issuer 0101, city 2660, card serial, card counter, kind
    // (01 load, 04 purchase).
    match db {
        Db::Sqlite(_) => concat!(
            "WITH RECURSIVE n(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $2) ",
            "INSERT INTO records (file_id, record_no, natural_key, card_type, card_type_raw, medium, tx_type, ",
            "amount_fen, balance_before_fen, card_seq, terminal_seq, tx_time, key_version, alg_id, ",
            "acquirer, industry, issuer_participant, tac_status) ",
            "SELECT $3, i - $1 + 1, ",
            "unhex(printf('000001000050%08x%02x01012660%020d%04x%s', i, i % 4 + 1, i % 1000003, i % 65536, ",
            "CASE WHEN i % 17 = 0 THEN '01' ELSE '04' END)), ",
            "'adult', '01', 'cpu', CASE WHEN i % 17 = 0 THEN 2 ELSE 6 END, 100 + (i * 37) % 900, 100000, i % 65536, ",
            "i, '2026-11-21 08:00:00', 1, 0, ",
            "CASE (i / 7) % 5 WHEN 0 THEN 'QD' WHEN 1 THEN 'RZ' WHEN 2 THEN 'MOT' WHEN 3 THEN 'MOHURD' ELSE 'BANK' END, ",
            "CASE (i / 3) % 4 WHEN 0 THEN 'bus' WHEN 1 THEN 'metro' WHEN 2 THEN 'retail' ELSE 'ferry' END, ",
            "CASE i % 5 WHEN 0 THEN 'QD' WHEN 1 THEN 'RZ' WHEN 2 THEN 'MOT' WHEN 3 THEN 'MOHURD' ELSE 'BANK' END, ",
            "'valid' FROM n"
        ),
        Db::Postgres(_) => concat!(
            "INSERT INTO records (file_id, record_no, natural_key, scheme, issuer_code, city_code, card_serial, ",
            "card_type, card_type_raw, medium, tx_type, kind, amount_fen, balance_before_fen, card_seq, terminal, ",
            "terminal_seq, tx_time, key_version, alg_id, acquirer, industry, issuer_participant, tac_status) ",
            "SELECT $3, i - $1 + 1, ",
            "decode('000001000050' || lpad(to_hex(i), 8, '0') || lpad(to_hex(i % 4 + 1), 2, '0') || '01012660' || ",
            "lpad((i % 1000003)::text, 20, '0') || lpad(to_hex(i % 65536), 4, '0') || ",
            "CASE WHEN i % 17 = 0 THEN '01' ELSE '04' END, 'hex'), ",
            "(ARRAY['local','mohurd','mot','pboc'])[i % 4 + 1], ",
            "'0101', '2660', lpad((i % 1000003)::text, 20, '0'), 'adult', '01', 'cpu', ",
            "CASE WHEN i % 17 = 0 THEN 2 ELSE 6 END, ",
            "CASE WHEN i % 17 = 0 THEN 'load' ELSE 'purchase' END, 100 + (i * 37) % 900, 100000, i % 65536, ",
            "'000001000050', i, TIMESTAMP '2026-11-21 08:00:00', 1, 0, ",
            "(ARRAY['QD','RZ','MOT','MOHURD','BANK'])[(i / 7) % 5 + 1], ",
            "(ARRAY['bus','metro','retail','ferry'])[(i / 3) % 4 + 1], ",
            "(ARRAY['QD','RZ','MOT','MOHURD','BANK'])[i % 5 + 1], ",
            "'valid' FROM generate_series($1::bigint, $2::bigint - 1) AS i"
        ),
    }
}

/// Fills a settlement window of `records` generated records in files of `per_file`, received
/// on 21 Nov 2026 from the participants `codes` (registered here if they are not).
pub async fn fill_synthetic_window(
    store: &Store,
    codes: &[&str],
    records: u64,
    per_file: u64,
) -> StoreResult<()> {
    for code in codes {
        let _ = store
            .add_participant(&NewParticipant {
                code: certs::ParticipantCode::new(code)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                scheme: ParticipantScheme::Partner,
                name: (*code).into(),
                endpoint: None,
                endpoint_ca_pem: None,
                endpoint_cert_path: None,
                endpoint_key_path: None,
                settlement_account: Some(crate::demo::setup::simulated_settlement_account(code)),
            })
            .await;
    }
    let received = Timestamp::from_datetime(
        chrono::DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
            .expect("a fixed time")
            .into(),
    );
    let mut start = 0u64;
    while start < records {
        let end = (start + per_file).min(records);
        let name = format!("bench-{start}.dat");
        let sha = format!("{start:064x}");
        macro_rules! one {
            ($pool:expr) => {{
                let id: i64 = sqlx::query_scalar(concat!(
                    "INSERT INTO files (direction, sender, name, sha256, bytes, status, stored_path, received_at) ",
                    "VALUES ('in', $1, $2, $3, 0, 'accepted', 'bench', $4) RETURNING id"
                ))
                .bind(codes[(start / per_file) as usize % codes.len()])
                .bind(&name)
                .bind(&sha)
                .bind(received)
                .fetch_one($pool)
                .await?;
                sqlx::query(generate_sql(store.db()))
                    .bind(start as i64)
                    .bind(end as i64)
                    .bind(id)
                    .execute($pool)
                    .await?;
            }};
        }
        match store.db() {
            Db::Sqlite(pool) => one!(pool),
            Db::Postgres(pool) => one!(pool),
        }
        start = end;
    }
    Ok(())
}

/// The physical limit of clearing: one bare `SELECT … GROUP BY` over the stored records, as
/// clearing groups them; returns the records counted.
pub async fn bare_group_by(store: &Store) -> StoreResult<i64> {
    let sql = concat!(
        "SELECT issuer_participant, acquirer, scheme, industry, kind, COUNT(*), CAST(SUM(amount_fen) AS BIGINT) ",
        "FROM records GROUP BY issuer_participant, acquirer, scheme, industry, kind"
    );
    let rows: Vec<(String, String, String, String, String, i64, i64)> = match store.db() {
        Db::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await?,
        Db::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await?,
    };
    Ok(rows.iter().map(|r| r.5).sum())
}

/// The stored columns of `records`, as CSV (for the limits).
const CSV_COLUMNS: [&str; 24] = [
    "file_id",
    "record_no",
    "scheme",
    "issuer_code",
    "city_code",
    "card_serial",
    "card_type",
    "card_type_raw",
    "medium",
    "tx_type",
    "kind",
    "amount_fen",
    "balance_before_fen",
    "card_seq",
    "terminal",
    "terminal_seq",
    "tx_time",
    "key_version",
    "alg_id",
    "tac",
    "acquirer",
    "industry",
    "issuer_participant",
    "tac_status",
];
/// The table the load limits import the CSV into (no index, no constraint).
pub const CSV_TABLE: &str = "(file_id BIGINT, record_no BIGINT, scheme TEXT, issuer_code TEXT, \
     city_code TEXT, card_serial TEXT, card_type TEXT, card_type_raw TEXT, medium TEXT, \
     tx_type INTEGER, kind TEXT, amount_fen BIGINT, balance_before_fen BIGINT, card_seq INTEGER, \
     terminal TEXT, terminal_seq BIGINT, tx_time TEXT, key_version INTEGER, alg_id INTEGER, \
     tac TEXT, acquirer TEXT, industry TEXT, issuer_participant TEXT, tac_status TEXT)";

/// Writes every stored record's columns to `path` as CSV (the input of the load limits);
/// returns the rows written.
pub async fn export_records_csv(store: &Store, path: &Path) -> StoreResult<u64> {
    let mut w = csv::Writer::from_writer(std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(path).map_err(file_err(path))?,
    ));
    let mut n = 0u64;
    let sql = format!(
        "SELECT {} FROM records",
        CSV_COLUMNS.map(|c| format!("CAST({c} AS TEXT)")).join(", ")
    );
    macro_rules! dump {
        ($pool:expr) => {{
            use sqlx::Row;
            let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).fetch($pool);
            while let Some(r) = rows.try_next().await? {
                for i in 0..CSV_COLUMNS.len() {
                    let v: Option<String> = r.try_get(i)?;
                    w.write_field(v.unwrap_or_default())
                        .map_err(csv_err(path))?;
                }
                w.write_record(None::<&[u8]>).map_err(csv_err(path))?;
                n += 1;
            }
        }};
    }
    match store.db() {
        Db::Sqlite(p) => dump!(p),
        Db::Postgres(p) => dump!(p),
    }
    w.into_inner()
        .map_err(|e| file_err(path)(std::io::Error::other(e.to_string())))?
        .flush()
        .map_err(file_err(path))?;
    Ok(n)
}

/// The load limit on PostgreSQL: seconds `COPY … FROM STDIN (FORMAT csv)` of `csv` into a fresh unindexed table takes.
pub async fn pg_copy_seconds(url: &str, csv: &Path) -> StoreResult<f64> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TEMP TABLE bench_copy {CSV_TABLE}"
    )))
    .execute(&mut conn)
    .await?;
    let started = std::time::Instant::now();
    let mut copy = conn
        .copy_in_raw("COPY bench_copy FROM STDIN (FORMAT csv)")
        .await?;
    let file = tokio::fs::File::open(csv).await.map_err(file_err(csv))?;
    copy.read_from(file).await?;
    copy.finish().await?;
    let s = started.elapsed().as_secs_f64();
    conn.close().await?;
    Ok(s)
}

/// Settles a freshly filled table (statistics; on PostgreSQL also hint bits and the visibility
/// map), so that the limit and the hub's own run read it in the same state.
pub async fn analyze(store: &Store) -> StoreResult<()> {
    match store.db() {
        Db::Sqlite(pool) => sqlx::query("ANALYZE").execute(pool).await.map(|_| ())?,
        Db::Postgres(pool) => sqlx::query("VACUUM ANALYZE records")
            .execute(pool)
            .await
            .map(|_| ())?,
    }
    Ok(())
}
