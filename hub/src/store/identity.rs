//! The hub's identity and the schema-version checks made when storage is opened (issue 18).
//!
//! Only the commands that set a hub up create its storage ([`OpenMode::Create`]: `hutong
//! init`, `hutong demo`, `hutong serve --init`); `hutong serve` also migrates an older schema
//! ([`OpenMode::Migrate`]); every other command opens an existing hub as it is
//! ([`OpenMode::Existing`]) and refuses one that is missing, older or newer than the binary.

use serde::Serialize;

use super::{Backend, Db, Store, StoreError, StoreResult, Timestamp, on_db};

/// The hub code recorded when none is given (the clearing settings' default too).
pub const DEFAULT_HUB_CODE: &str = "HUB";

/// What opening storage may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Open a hub that exists, at this binary's schema version; refuse anything else.
    Existing,
    /// Open a hub that exists, migrating an older schema (`hutong serve`).
    Migrate,
    /// Create the storage if needed, migrate it and record the hub's identity (`hutong init`,
    /// `hutong demo`, `hutong serve --init`).
    Create,
}

/// The row of `hub_identity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct HubIdentity {
    /// The hub's participant code.
    pub hub_code: String,
    /// When the hub's storage was created.
    pub created_at: Timestamp,
    /// The newest migration applied (the schema version).
    pub schema_version: i64,
    /// When the schema was last migrated.
    pub migrated_at: Timestamp,
}

/// What [`Store::prepare`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The database had no hub and was created now.
    pub created: bool,
    /// The schema version before, when it was migrated now.
    pub migrated_from: Option<i64>,
}

/// Where a database's migrations stand against this binary's.
struct SchemaStanding {
    /// The newest migration this binary knows.
    binary: i64,
    /// The newest applied (0 for none).
    database: i64,
    /// A migration applied that this binary does not know.
    newer: Option<i64>,
    /// A migration this binary knows that is not applied.
    missing: Option<i64>,
    /// No migration applied at all.
    empty: bool,
}

/// The newest migration this binary knows, per backend.
pub fn binary_schema_version(backend: Backend) -> i64 {
    migrator(backend)
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

fn migrator(backend: Backend) -> &'static sqlx::migrate::Migrator {
    match backend {
        Backend::Sqlite => &super::SQLITE_MIGRATIONS,
        Backend::Postgres => &super::POSTGRES_MIGRATIONS,
    }
}

impl Store {
    /// Whether the database has a table named `name` (in the search path, on PostgreSQL).
    async fn table_exists(&self, name: &str) -> StoreResult<bool> {
        Ok(match self.db() {
            Db::Sqlite(pool) => {
                sqlx::query_scalar(
                    "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = $1",
                )
                .bind(name)
                .fetch_one(pool)
                .await?
            }
            Db::Postgres(pool) => {
                sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
                    .bind(name)
                    .fetch_one(pool)
                    .await?
            }
        })
    }

    /// The versions of the migrations applied to this database; `None` when it has no
    /// migrations table (it is not a hutong database, or an empty one).
    async fn applied_migrations(&self) -> StoreResult<Option<Vec<i64>>> {
        if !self.table_exists("_sqlx_migrations").await? {
            return Ok(None);
        }
        let sql = "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version";
        Ok(Some(on_db!(self, pool => {
            sqlx::query_scalar(sql).fetch_all(pool).await?
        })))
    }

    /// Whether this database is ready for this binary (`/readyz`): it answers, and every
    /// migration the binary knows is applied and none it does not know. `Ok(Err(why))` names
    /// the mismatch; `Err` is a database that does not answer.
    pub async fn schema_readiness(&self) -> StoreResult<Result<i64, String>> {
        let s = self.schema_standing().await?;
        if let Some(v) = s.newer {
            return Ok(Err(format!(
                "migration {v} is newer than this binary (schema {})",
                s.binary
            )));
        }
        if let Some(v) = s.missing {
            return Ok(Err(format!(
                "migration {v} is not applied (database at {}, binary at {})",
                s.database, s.binary
            )));
        }
        Ok(Ok(s.database))
    }

    /// The database's migrations against this binary's ([`Store::prepare`] and
    /// [`Store::schema_readiness`] judge from it).
    async fn schema_standing(&self) -> StoreResult<SchemaStanding> {
        let backend = self.backend();
        let known: Vec<i64> = migrator(backend).iter().map(|m| m.version).collect();
        let applied = self.applied_migrations().await?.unwrap_or_default();
        Ok(SchemaStanding {
            binary: binary_schema_version(backend),
            database: applied.iter().copied().max().unwrap_or(0),
            newer: applied.iter().copied().find(|v| !known.contains(v)),
            missing: known.iter().copied().find(|v| !applied.contains(v)),
            empty: applied.is_empty(),
        })
    }

    /// The hub's identity; `None` when the row (or the table) is missing.
    pub async fn hub_identity(&self) -> StoreResult<Option<HubIdentity>> {
        if !self.table_exists("hub_identity").await? {
            return Ok(None);
        }
        let sql = "SELECT hub_code, created_at, schema_version, migrated_at \
                   FROM hub_identity WHERE id = 1";
        Ok(on_db!(self, pool => {
            sqlx::query_as(sql).fetch_optional(pool).await?
        }))
    }

    /// Checks the schema against this binary and, as `mode` allows, creates or migrates it
    /// and records the hub's identity (`hub_code` when it is created). `target` and `init`
    /// (the command that creates this hub) go into the refusals.
    pub(super) async fn prepare(
        &self,
        mode: OpenMode,
        hub_code: &str,
        target: &str,
        init: &str,
    ) -> StoreResult<Prepared> {
        let SchemaStanding {
            binary,
            database,
            newer,
            missing,
            empty,
        } = self.schema_standing().await?;
        let identity = self.hub_identity().await?;
        if empty && mode != OpenMode::Create {
            return Err(StoreError::NoHub {
                at: target.to_string(),
                why: "no hutong tables".into(),
                init: init.to_string(),
            });
        }
        if newer.is_some() {
            return Err(StoreError::SchemaNewer {
                target: target.to_string(),
                database,
                binary,
            });
        }
        let missing = missing.is_some();
        if missing && !empty && mode == OpenMode::Existing {
            return Err(StoreError::SchemaOlder {
                target: target.to_string(),
                database,
                binary,
                init: init.to_string(),
            });
        }
        if !missing && identity.is_none() && mode == OpenMode::Existing {
            return Err(StoreError::NoHub {
                at: target.to_string(),
                why: "no hub identity recorded".into(),
                init: init.to_string(),
            });
        }
        if missing {
            match self.db() {
                Db::Sqlite(pool) => super::SQLITE_MIGRATIONS.run(pool).await?,
                Db::Postgres(pool) => super::POSTGRES_MIGRATIONS.run(pool).await?,
            }
        }
        let now = Timestamp::now();
        let created = empty;
        match identity {
            None => {
                let sql = "INSERT INTO hub_identity \
                           (id, hub_code, created_at, schema_version, migrated_at) \
                           VALUES (1, $1, $2, $3, $2) ON CONFLICT (id) DO NOTHING";
                on_db!(self, pool => {
                    sqlx::query(sql)
                        .bind(hub_code)
                        .bind(now)
                        .bind(binary)
                        .execute(pool)
                        .await
                        .map(|_| ())?
                });
            }
            Some(_) if missing => {
                let sql = "UPDATE hub_identity SET schema_version = $1, migrated_at = $2 \
                           WHERE id = 1";
                on_db!(self, pool => {
                    sqlx::query(sql).bind(binary).bind(now).execute(pool).await.map(|_| ())?
                });
            }
            Some(_) => {}
        }
        Ok(Prepared {
            created,
            migrated_from: (missing && !created).then_some(database),
        })
    }
}
