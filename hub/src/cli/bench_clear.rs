//! `hutong bench clear`: closes a generated settlement window of N records and prints
//! records/s, beside the limit measured on the same rows in the same run — one bare
//! `SELECT … GROUP BY` over the stored records.
#![allow(clippy::float_arithmetic)] // rates, not money

use std::time::Instant;

use clap::Args;

use super::BadInput;
use super::args::StorageArgs;
use crate::clearing::{self, ClearingSettings};
use crate::store::{Db, NewParticipant, ParticipantScheme, Store, Timestamp};

/// Arguments of `bench clear`.
#[derive(Debug, Args)]
pub struct ClearBenchArgs {
    /// Records in the window.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Records per file.
    #[arg(long, default_value_t = 500_000)]
    per_file: u64,
    /// Where to put the database (SQLite; default: a temporary directory), or --database URL
    /// (a database whose hutong tables are empty: the bench fills them).
    #[command(flatten)]
    storage: StorageArgs,
}

const CODES: [&str; 5] = ["QD", "RZ", "MOT", "MOHURD", "BANK"];

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

async fn fill(store: &Store, records: u64, per_file: u64) -> anyhow::Result<()> {
    for code in CODES {
        let _ = store
            .add_participant(&NewParticipant {
                code: certs::ParticipantCode::new(code)?,
                scheme: ParticipantScheme::Partner,
                name: code.into(),
                endpoint: None,
                endpoint_ca_pem: None,
                endpoint_cert_path: None,
                endpoint_key_path: None,
            })
            .await;
    }
    let received = Timestamp::from_datetime(
        chrono::DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")?.into(),
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
                .bind(CODES[(start / per_file) as usize % CODES.len()])
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

async fn bare_group_by(store: &Store) -> anyhow::Result<i64> {
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

/// Runs `hutong bench clear`.
pub(crate) fn run(a: &ClearBenchArgs) -> anyhow::Result<std::process::ExitCode> {
    if a.records == 0 || a.per_file == 0 {
        return Err(BadInput("--records and --per-file must be positive".into()).into());
    }
    let tmp = tempfile::tempdir()?;
    let target = if a.storage.data_dir.is_none() && a.storage.database.is_none() {
        crate::store::DbTarget::DataDir(tmp.path().to_path_buf())
    } else {
        a.storage.target()?
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let store = Store::open(&target).await?;
        println!("clearing a window of {} records on {}", a.records, target.describe());
        let t = Instant::now();
        fill(&store, a.records, a.per_file).await?;
        // Settle the fresh table (statistics; on PostgreSQL also hint bits and the visibility
        // map), so that the limit and the close both read it in the same state.
        match store.db() {
            Db::Sqlite(pool) => sqlx::query("ANALYZE").execute(pool).await.map(|_| ())?,
            Db::Postgres(pool) => sqlx::query("VACUUM ANALYZE records").execute(pool).await.map(|_| ())?,
        }
        let filled = t.elapsed();
        println!("  generate and store the records (in SQL)   {:>8.2} s   {:>12.0} records/s", filled.as_secs_f64(), a.records as f64 / filled.as_secs_f64());

        let t = Instant::now();
        let counted = bare_group_by(&store).await?;
        let limit = t.elapsed();
        println!("  limit: one SELECT … GROUP BY of the rows  {:>8.2} s   {:>12.0} records/s", limit.as_secs_f64(), counted as f64 / limit.as_secs_f64());

        let settings = ClearingSettings {
            fees: reconciliation::FeeSchedule::from_toml("[[fee]]\npayer = \"acquirer\"\npayee = \"hub\"\nrate = \"0.0015\"\n")?,
            ..ClearingSettings::default()
        };
        let now = Timestamp::from_datetime(chrono::DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z")?.into());
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).expect("a date");
        let t = Instant::now();
        let closed = clearing::close_window(&store, &settings, day, now, false).await?;
        let close = t.elapsed();
        println!(
            "  close the window (mark, aggregate, clear, check, store) {:>5.2} s   {:>12.0} records/s   ({} records, {:.2}× the limit's time)",
            close.as_secs_f64(),
            closed.window.tx_count as f64 / close.as_secs_f64(),
            closed.window.tx_count,
            close.as_secs_f64() / limit.as_secs_f64()
        );
        store.close().await;
        anyhow::Ok(std::process::ExitCode::SUCCESS)
    })
}
