//! Test support: a fresh, migrated database per test, on SQLite or on PostgreSQL.
//!
//! PostgreSQL tests read `DATABASE_URL` (CI: `postgres://postgres@127.0.0.1:5432/test`) and
//! isolate themselves in a schema of their own (`hutong_t_<random>`, dropped when the
//! [`TestDb`] is dropped), so tests run in parallel against one database without colliding.

use std::path::Path;
use std::str::FromStr;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use super::{DbTarget, Store, StoreResult};

/// A database for one test.
#[derive(Debug)]
pub struct TestDb {
    /// The open store.
    pub store: Store,
    /// The same database as a target another process can open (`hutong … --database`).
    pub target: DbTarget,
    pg_schema: Option<(String, String)>,
}

impl TestDb {
    /// SQLite in `dir` (the caller's temporary directory).
    pub async fn sqlite(dir: &Path) -> StoreResult<TestDb> {
        let target = DbTarget::DataDir(dir.to_path_buf());
        Ok(TestDb {
            store: Store::open(&target).await?,
            target,
            pg_schema: None,
        })
    }

    /// PostgreSQL at `DATABASE_URL` in a new schema; `None` when `DATABASE_URL` is not set.
    pub async fn postgres() -> StoreResult<Option<TestDb>> {
        let Some(url) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        let mut random = [0u8; 8];
        aws_lc_rs::rand::fill(&mut random).map_err(|_| {
            super::StoreError::Corrupt("no randomness for a test schema name".into())
        })?;
        let schema = format!("hutong_t_{}", hex::encode(random));
        let base = PgConnectOptions::from_str(&url)?;
        let mut conn = PgConnection::connect_with(&base).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        // The pool's connections carry the schema's name, so that dropping the schema can end
        // them first (see `Drop`).
        let store = Store::open_postgres(
            base.options([("search_path", schema.as_str())])
                .application_name(&schema),
            &url,
        )
        .await?;
        let sep = if url.contains('?') { '&' } else { '?' };
        Ok(Some(TestDb {
            store,
            target: DbTarget::Url(format!("{url}{sep}options[search_path]={schema}")),
            pg_schema: Some((url, schema)),
        }))
    }

    /// PostgreSQL when `DATABASE_URL` is set, else SQLite in `dir`.
    pub async fn from_env(dir: &Path) -> StoreResult<TestDb> {
        match TestDb::postgres().await? {
            Some(db) => Ok(db),
            None => TestDb::sqlite(dir).await,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((url, schema)) = self.pg_schema.take() else {
            return;
        };
        // Drop the schema from a thread of its own: Drop cannot await, and the test's runtime
        // may be shutting down.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect(&url).await {
                    // A test that ended while one of its tasks was inside a transaction (a
                    // server task aborted mid-audit, say) leaves that connection idle in the
                    // transaction, holding its locks, until the pool is dropped — after this
                    // runs. End the test's own connections first, or the DROP waits for ever
                    // (and every other test waiting on the audit log's advisory lock with it).
                    let _ = sqlx::query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE application_name = $1 AND pid <> pg_backend_pid()",
                    )
                    .bind(&schema)
                    .execute(&mut conn)
                    .await;
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP SCHEMA IF EXISTS {schema} CASCADE"
                    )))
                    .execute(&mut conn)
                    .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// Overwrites the `result` of audit entry `seq` behind the chain's back, as an attacker with
/// database access would: for tests that the chain shows it.
pub async fn tamper_audit_result(store: &Store, seq: i64, result: &str) -> StoreResult<()> {
    super::on_db!(store, pool => {
        sqlx::query("UPDATE audit_log SET result = $1 WHERE seq = $2")
            .bind(result)
            .bind(seq)
            .execute(pool)
            .await
            .map(|_| ())?
    });
    Ok(())
}

/// Expands each named `async fn(Store)` into two tests (for integration tests; needs `tokio`
/// and `tempfile` as dev-dependencies): `NAME::on_sqlite` (always) and
/// `NAME::on_postgres` (when `DATABASE_URL` is set; otherwise it says so and passes).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn on_sqlite() {
                    let dir = tempfile::tempdir().unwrap();
                    let db = hub::store::testing::TestDb::sqlite(dir.path()).await.unwrap();
                    super::$name(db.store.clone()).await;
                }

                #[tokio::test]
                async fn on_postgres() {
                    let Some(db) = hub::store::testing::TestDb::postgres().await.unwrap() else {
                        eprintln!("DATABASE_URL is not set: PostgreSQL not tested");
                        return;
                    };
                    super::$name(db.store.clone()).await;
                }
            }
        )*
    };
}

/// Stores `records` (each with the participant that issued its card) as the accepted records
/// of file `file_id`, numbered from 1, through the same encoder and batch writer ingest uses,
/// and returns their ids in order. For tests that need stored records without a file to parse.
pub async fn store_accepted(
    store: &Store,
    file_id: i64,
    records: &[(card_standards::CanonicalTx, &str)],
) -> StoreResult<Vec<i64>> {
    use super::records::{RecordEncoder, TacStatus, store_batches};
    let mut encoder = RecordEncoder::new(store.backend(), true, file_id);
    for (i, (tx, issuer)) in records.iter().enumerate() {
        encoder.accepted(i as u64 + 1, tx, issuer, TacStatus::Valid);
    }
    let (send, mut recv) = tokio::sync::mpsc::channel(1);
    send.send(encoder.take())
        .await
        .map_err(|_| super::StoreError::Corrupt("the batch channel closed early".into()))?;
    drop(send);
    let mut tx = store.begin().await?;
    store_batches(&mut tx, file_id, &mut recv).await?;
    tx.commit().await?;
    let sql = "SELECT id FROM records WHERE file_id = $1 ORDER BY record_no";
    Ok(match store.db() {
        super::Db::Sqlite(p) => sqlx::query_scalar(sql).bind(file_id).fetch_all(p).await?,
        super::Db::Postgres(p) => sqlx::query_scalar(sql).bind(file_id).fetch_all(p).await?,
    })
}

/// Runs raw SQL (one or more statements) on the database, as someone with database access
/// would: tests that craft a state the hub would never write itself.
pub async fn execute(store: &Store, sql: &str) -> StoreResult<()> {
    let q = sqlx::AssertSqlSafe(sql.to_string());
    match store.db() {
        super::Db::Sqlite(p) => sqlx::raw_sql(q).execute(p).await.map(|_| ())?,
        super::Db::Postgres(p) => sqlx::raw_sql(q).execute(p).await.map(|_| ())?,
    }
    Ok(())
}

/// One integer from a query (a count, an id).
pub async fn scalar(store: &Store, sql: &str) -> StoreResult<i64> {
    let q = sqlx::AssertSqlSafe(sql.to_string());
    Ok(match store.db() {
        super::Db::Sqlite(p) => sqlx::query_scalar::<_, i64>(q).fetch_one(p).await?,
        super::Db::Postgres(p) => sqlx::query_scalar::<_, i64>(q).fetch_one(p).await?,
    })
}

/// One optional text from a query.
pub async fn text(store: &Store, sql: &str) -> StoreResult<Option<String>> {
    let q = sqlx::AssertSqlSafe(sql.to_string());
    Ok(match store.db() {
        super::Db::Sqlite(p) => {
            sqlx::query_scalar::<_, Option<String>>(q)
                .fetch_one(p)
                .await?
        }
        super::Db::Postgres(p) => {
            sqlx::query_scalar::<_, Option<String>>(q)
                .fetch_one(p)
                .await?
        }
    })
}

/// The rows a query returns, counted as they stream (a benchmark's bare query).
pub async fn count_rows(store: &Store, sql: &str) -> StoreResult<u64> {
    use futures_util::TryStreamExt;
    let mut n = 0u64;
    macro_rules! run {
        ($p:expr) => {{
            let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).fetch($p);
            while rows.try_next().await?.is_some() {
                n += 1;
            }
        }};
    }
    match store.db() {
        super::Db::Sqlite(p) => run!(p),
        super::Db::Postgres(p) => run!(p),
    }
    Ok(n)
}

/// Sets when the hub received file `file_id` (a received time in the crafted past), and its
/// status when given.
pub async fn set_received(
    store: &Store,
    file_id: i64,
    at: super::Timestamp,
    status: Option<&str>,
) -> StoreResult<()> {
    let sql = "UPDATE files SET received_at = $1, status = COALESCE($2, status) WHERE id = $3";
    match store.db() {
        super::Db::Sqlite(p) => {
            sqlx::query(sql)
                .bind(at)
                .bind(status)
                .bind(file_id)
                .execute(p)
                .await?;
        }
        super::Db::Postgres(p) => {
            sqlx::query(sql)
                .bind(at)
                .bind(status)
                .bind(file_id)
                .execute(p)
                .await?;
        }
    }
    Ok(())
}
