//! Storage: every SQL statement of the hub lives under this module.
//!
//! # The choice: a two-backend enum, not `sqlx::AnyPool`
//!
//! [`Db`] is an enum of a [`SqlitePool`] and a [`PgPool`]. Most statements are written once
//! (both engines take `$1` placeholders, `RETURNING` and `ON CONFLICT … DO NOTHING`) and run on
//! whichever pool is open through the `on_db!`/`on_tx!` macros, which expand the same
//! expression once per backend, so every query is type-checked against both drivers.
//! Where the engines differ, a function matches on the backend and says so: claiming due
//! deliveries uses `FOR UPDATE SKIP LOCKED` on PostgreSQL, and write transactions on SQLite
//! start with `BEGIN IMMEDIATE` (one writer at a time, no lock upgrades that fail with BUSY).
//!
//! `AnyPool` would give one code path but hide the driver: no `COPY`, no typed timestamps, no
//! backend-specific SQL. The coming bulk ingest (10 million records a day) needs exactly those
//! fast paths: `COPY … FROM STDIN` through [`Db::Postgres`] (`PgConnection::copy_in_raw`) and
//! large batched `INSERT`s inside one `BEGIN IMMEDIATE` transaction through [`Db::Sqlite`]; the
//! set-based clearing SQL can likewise be specialised per engine where they differ.
//!
//! # Backends
//!
//! - SQLite (default): one file `hutong.db` in the data directory, WAL journal,
//!   `synchronous = FULL` (a receipt is never sent for a row that a power cut could lose),
//!   foreign keys on, a 10-minute busy timeout: SQLite has one writer at a time, and ingesting a
//!   file is one write transaction, so other writers (an upload's row, an audit entry) queue
//!   behind a large ingest rather than fail. PostgreSQL has no such wait.
//! - PostgreSQL: a `postgres://` URL; several `hutong serve` replicas can share one database.
//!
//! Migrations are embedded: `hub/migrations/sqlite/` and `hub/migrations/postgres/` hold the
//! same numbered steps in each dialect. [`Store::open_with`] checks the applied ones against
//! the binary's and, as its [`OpenMode`] allows, applies the missing ones (see `identity`).
//!
//! # Tables
//!
//! Issue 4: `participants`, `files` (inbound and outbound, with digest, size, status and
//! stored path), `deliveries` (the outbox), `audit_log` (hash-chained).
//!
//! Issue 5 (migration `20261122000002`): `routes`, `records` (accepted records only, unique
//! exact natural key), `rejections`, `file_results` (each ingested file's outcome),
//! `blacklist_entries` and the view `blacklisted_cards`; seal columns on `participants` and
//! `files`. See the submodules for their API, and [`records`] for the natural-key encoding.

mod audit;
pub mod bench;
mod bodies;
pub mod clearing;
mod deliveries;
pub mod disputes;
mod drill;
mod error;
mod files;
mod identity;
mod ingested;
mod jobs;
mod participants;
pub mod reconcile;
pub mod records;
mod routes;
mod status;
pub mod testing;
mod time;
mod users;
pub mod verify;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Postgres, Sqlite, Transaction};

pub use audit::{AuditEntry, AuditVerification, GENESIS_HASH, NewAuditEntry, append_audit};
pub use bodies::{BODY_CHUNK, BodyInfo};
pub use deliveries::{Delivery, DeliveryState, enqueue_delivery};
pub use drill::{DeliveryOutcome, IngestTotals};
pub use error::{StoreError, StoreResult};
pub use files::{
    Direction, FileRecord, FileStatus, NewFile, SealCheck, insert_file, set_file_seal,
    set_file_status,
};
pub use identity::{DEFAULT_HUB_CODE, HubIdentity, OpenMode, Prepared, binary_schema_version};
pub use ingested::{
    Content, FileResult, StoredBlacklistEntry, claim_for_ingest, insert_file_result,
    load_blacklist, load_routes, lock_blacklist, seq_used_by,
};
pub use jobs::{JobLock, advisory_key};
pub use participants::{NewParticipant, Participant, ParticipantScheme};
pub use records::{
    Batch, NATURAL_KEY_LEN, NewBlacklistEntry, NewRejection, RecordEncoder, RejectedKey,
    RejectionRow, Stored, StoredRecord, TacStatus, natural_key_bytes, natural_key_from_bytes,
    store_batches, stream_window_package_records,
};
pub use routes::Route;
pub use status::{ClosedWindow, QueueStatus};
pub use time::Timestamp;
pub use users::{NewUser, Session, StaffRole, User};

pub(crate) use error::is_unique_violation;

/// The name of the SQLite file inside the data directory.
pub const SQLITE_FILE: &str = "hutong.db";

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbTarget {
    /// SQLite in this data directory (the file [`SQLITE_FILE`]).
    DataDir(PathBuf),
    /// A URL: `postgres://…` / `postgresql://…`, or `sqlite:PATH`.
    Url(String),
}

impl DbTarget {
    /// The target for command-line options: `--database URL`, else the `DATABASE_URL`
    /// environment variable (`env_url`), else SQLite in `--data-dir`.
    pub fn choose(
        database: Option<&str>,
        env_url: Option<&str>,
        data_dir: Option<&Path>,
    ) -> Option<DbTarget> {
        database
            .or(env_url.filter(|u| !u.is_empty()))
            .map(|u| DbTarget::Url(u.to_string()))
            .or_else(|| data_dir.map(|d| DbTarget::DataDir(d.to_path_buf())))
    }

    /// A description without any password, for messages.
    pub fn describe(&self) -> String {
        match self {
            DbTarget::DataDir(dir) => dir.join(SQLITE_FILE).display().to_string(),
            DbTarget::Url(url) => redact(url),
        }
    }

    /// Where the hub is, for refusals: the data directory, or the URL without its password.
    pub fn describe_hub(&self) -> String {
        match self {
            DbTarget::DataDir(dir) => dir.display().to_string(),
            DbTarget::Url(url) => redact(url),
        }
    }

    /// The command that creates a hub here (`hutong init --data-dir DIR` or `--database URL`,
    /// the URL without its password).
    pub fn init_command(&self) -> String {
        match self {
            DbTarget::DataDir(dir) => format!("hutong init --data-dir {}", dir.display()),
            DbTarget::Url(url) => format!("hutong init --database {}", redact(url)),
        }
    }
}

/// The two backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`, as metrics and reports name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// An open connection pool of either backend. Match on it for backend-specific fast paths.
#[derive(Debug, Clone)]
pub enum Db {
    /// SQLite.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

/// A write transaction of either backend. Store functions that must compose (store a file and
/// enqueue its deliveries; later: ingest a file's records) take `&mut Tx`.
#[derive(Debug)]
pub enum Tx {
    /// SQLite, begun with `BEGIN IMMEDIATE`.
    Sqlite(Transaction<'static, Sqlite>),
    /// PostgreSQL.
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    /// Commits.
    pub async fn commit(self) -> StoreResult<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    /// Rolls back (everything the transaction wrote is gone).
    pub async fn rollback(self) -> StoreResult<()> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await?,
            Tx::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Runs the same expression on whichever pool is open (`$pool` is `&SqlitePool` or `&PgPool`).
macro_rules! on_db {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store.db() {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs the same expression on a transaction's connection (`$conn` is `&mut SqliteConnection`
/// or `&mut PgConnection`).
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::store::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

pub(crate) use {on_db, on_tx};

/// The hub's database. Cheap to clone (the pools are shared).
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
}

impl Store {
    /// Opens (creating if needed) and migrates the database, recording the hub's identity
    /// with the default hub code when it is new: [`Store::open_with`] in [`OpenMode::Create`].
    /// For the commands that set a hub up and for tests; every other command opens with
    /// [`Store::open_existing`].
    pub async fn open(target: &DbTarget) -> StoreResult<Store> {
        Store::open_with(target, OpenMode::Create).await
    }

    /// Opens a hub that exists at this binary's schema version. No hub there (for SQLite: no
    /// `hutong.db` in the directory; for PostgreSQL: no hutong tables or no identity), an
    /// older schema or a newer one: an error saying which, and what to run.
    pub async fn open_existing(target: &DbTarget) -> StoreResult<Store> {
        Store::open_with(target, OpenMode::Existing).await
    }

    /// Opens the database as `mode` allows (see [`OpenMode`]); a hub created now gets the
    /// default hub code.
    pub async fn open_with(target: &DbTarget, mode: OpenMode) -> StoreResult<Store> {
        Ok(Store::create_or_open(target, mode, DEFAULT_HUB_CODE)
            .await?
            .0)
    }

    /// Opens the database as `mode` allows and says what was done; a hub created now records
    /// `hub_code` (`hutong init --hub-code`).
    pub async fn create_or_open(
        target: &DbTarget,
        mode: OpenMode,
        hub_code: &str,
    ) -> StoreResult<(Store, Prepared)> {
        let described = target.describe_hub();
        let init = target.init_command();
        let store = match target {
            DbTarget::DataDir(dir) => {
                let file = dir.join(SQLITE_FILE);
                if mode == OpenMode::Create {
                    std::fs::create_dir_all(dir).map_err(|e| StoreError::Connect {
                        target: dir.display().to_string(),
                        cause: e.to_string(),
                        remedies: String::new(),
                    })?;
                } else if !file.exists() {
                    return Err(StoreError::NoHub {
                        at: dir.display().to_string(),
                        why: format!("{SQLITE_FILE} missing"),
                        init,
                    });
                }
                Store::connect_sqlite(&file, mode == OpenMode::Create).await?
            }
            DbTarget::Url(url) => {
                if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                    let options =
                        PgConnectOptions::from_str(url).map_err(|e| StoreError::Connect {
                            target: redact(url),
                            cause: e.to_string(),
                            remedies: String::new(),
                        })?;
                    Store::connect_postgres(options, &redact(url)).await?
                } else if let Some(path) = url
                    .strip_prefix("sqlite://")
                    .or(url.strip_prefix("sqlite:"))
                {
                    let path = Path::new(path);
                    if mode != OpenMode::Create && !path.exists() {
                        return Err(StoreError::NoHub {
                            at: path.display().to_string(),
                            why: "file missing".into(),
                            init,
                        });
                    }
                    Store::connect_sqlite(path, mode == OpenMode::Create).await?
                } else {
                    return Err(StoreError::UnsupportedUrl(redact(url)));
                }
            }
        };
        let prepared = store.prepare(mode, hub_code, &described, &init).await?;
        Ok((store, prepared))
    }

    /// Opens (creating if needed) and migrates an SQLite file.
    pub async fn open_sqlite(path: &Path) -> StoreResult<Store> {
        let store = Store::connect_sqlite(path, true).await?;
        let target = path.display().to_string();
        let init = format!("hutong init --database sqlite:{target}");
        store
            .prepare(OpenMode::Create, DEFAULT_HUB_CODE, &target, &init)
            .await?;
        Ok(store)
    }

    async fn connect_sqlite(path: &Path, create: bool) -> StoreResult<Store> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(600));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Connect {
                target: path.display().to_string(),
                cause: e.to_string(),
                remedies: String::new(),
            })?;
        Ok(Store {
            db: Db::Sqlite(pool),
        })
    }

    /// Opens, creating the hub's tables if needed, and migrates a PostgreSQL database.
    pub async fn open_postgres(options: PgConnectOptions, described: &str) -> StoreResult<Store> {
        let described = redact(described);
        let store = Store::connect_postgres(options, &described).await?;
        let init = format!("hutong init --database {described}");
        store
            .prepare(OpenMode::Create, DEFAULT_HUB_CODE, &described, &init)
            .await?;
        Ok(store)
    }

    /// Connects to PostgreSQL: one connection first, whose error names the real cause (the
    /// pool would only say it timed out), then the pool.
    async fn connect_postgres(options: PgConnectOptions, described: &str) -> StoreResult<Store> {
        let fail = |e: sqlx::Error| StoreError::Connect {
            target: described.to_string(),
            cause: connect_cause(&e),
            remedies: postgres_remedies(&options, &e),
        };
        let first = tokio::time::timeout(
            Duration::from_secs(10),
            <sqlx::postgres::PgConnection as sqlx::Connection>::connect_with(&options),
        )
        .await
        .unwrap_or(Err(sqlx::Error::PoolTimedOut));
        match first {
            Ok(conn) => {
                use sqlx::Connection;
                let _ = conn.close().await;
            }
            Err(e) => return Err(fail(e)),
        }
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .map_err(fail)?;
        Ok(Store {
            db: Db::Postgres(pool),
        })
    }

    /// The pool, for backend-specific code (the store's own: no SQL outside `store`).
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// Which backend is open.
    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Begins a write transaction (`BEGIN IMMEDIATE` on SQLite).
    pub async fn begin(&self) -> StoreResult<Tx> {
        Ok(match &self.db {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// The driver's error as one line, without repeating itself.
fn connect_cause(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::PoolTimedOut => "no connection within 10 s".to_string(),
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(db) => db.message().to_string(),
        other => other.to_string(),
    }
}

/// What to check when PostgreSQL cannot be reached, the likeliest first.
fn postgres_remedies(options: &PgConnectOptions, e: &sqlx::Error) -> String {
    let host = options.get_host();
    let port = options.get_port();
    let database = options.get_database().unwrap_or("(the user's name)");
    let user = options.get_username();
    let running = format!("is the server running and reachable? `pg_isready -h {host} -p {port}`");
    let exists = format!(
        "does the database {database:?} exist? `createdb -h {host} -p {port} -U {user} {database}`"
    );
    let auth = format!(
        "authentication: does the server accept user {user:?} from here (password in the URL, \
         PGPASSWORD or ~/.pgpass; pg_hba.conf)?"
    );
    let code = match e {
        sqlx::Error::Database(db) => db.code().map(|c| c.to_string()),
        _ => None,
    };
    let ordered: Vec<&String> = match code.as_deref() {
        Some("3D000") => vec![&exists, &running, &auth],
        Some(c) if c.starts_with("28") => vec![&auth, &running, &exists],
        _ => vec![&running, &exists, &auth],
    };
    ordered
        .iter()
        .map(|r| format!("\n  - {r}"))
        .collect::<String>()
}

/// A URL with its password replaced by `***`.
fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}
