//! What the scheduler needs from storage: a lock per job, so that when several `hutong serve`
//! replicas share one PostgreSQL only one of them runs a job, and the facts its checks read.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};

use sqlx::Connection;

use super::{Db, Store, StoreResult, Timestamp, on_db};

/// Job names held by this process (SQLite: one process serves a database file).
static LOCAL_LOCKS: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(|| Mutex::new(HashSet::new()));

/// A held job lock. PostgreSQL: a session advisory lock on a connection of its own, released
/// when the lock is released or dropped (dropping closes the connection, and the server drops
/// the lock with it — a crashed replica cannot keep a job locked). SQLite: a name held in this
/// process.
#[derive(Debug)]
pub struct JobLock {
    name: String,
    pg: Option<sqlx::PgConnection>,
}

impl JobLock {
    /// The job's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Releases the lock.
    pub async fn release(mut self) {
        if let Some(conn) = self.pg.take() {
            // Closing the session releases its advisory locks.
            let _ = conn.close().await;
        }
    }
}

impl Drop for JobLock {
    fn drop(&mut self) {
        if self.pg.is_none() {
            LOCAL_LOCKS
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&self.name);
        }
    }
}

/// The advisory-lock key of a job name: the first 8 bytes of its SHA-256.
pub fn advisory_key(name: &str) -> i64 {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, name.as_bytes());
    i64::from_be_bytes(
        digest.as_ref()[..8]
            .try_into()
            .expect("a SHA-256 has 32 bytes"),
    )
}

impl Store {
    /// Tries to take the lock of job `name`; `None` when another replica (or task) holds it.
    pub async fn try_job_lock(&self, name: &str) -> StoreResult<Option<JobLock>> {
        match self.db() {
            Db::Postgres(pool) => {
                let mut conn = pool.acquire().await?.detach();
                let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(advisory_key(name))
                    .fetch_one(&mut conn)
                    .await?;
                if got {
                    Ok(Some(JobLock {
                        name: name.to_string(),
                        pg: Some(conn),
                    }))
                } else {
                    let _ = conn.close().await;
                    Ok(None)
                }
            }
            Db::Sqlite(_) => {
                let mut held = LOCAL_LOCKS.lock().unwrap_or_else(|p| p.into_inner());
                if held.insert(name.to_string()) {
                    Ok(Some(JobLock {
                        name: name.to_string(),
                        pg: None,
                    }))
                } else {
                    Ok(None)
                }
            }
        }
    }

    /// When `participant` last uploaded a file, if ever.
    pub async fn last_upload_from(&self, participant: &str) -> StoreResult<Option<Timestamp>> {
        let at: Option<Timestamp> = on_db!(self, pool => {
            sqlx::query_scalar("SELECT MAX(received_at) FROM files WHERE direction = 'in' AND sender = $1")
                .bind(participant)
                .fetch_one(pool)
                .await?
        });
        Ok(at)
    }
}
