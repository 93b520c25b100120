//! The outbox: one row per (file, destination), so a file is pushed to a destination at most
//! once even across restarts.
//!
//! States: `pending` (due at `next_attempt_at`) → `sending` (claimed, with a lease and the
//! attempt counted) → `delivered` (the partner's receipt kept) or back to `pending` with a
//! later `next_attempt_at`, or `failed` after the last attempt. A `sending` row whose lease ran
//! out (the hub died mid-push) is claimed again; the push protocol is idempotent by digest (the
//! partner answers a repeat with its first receipt), so that retry cannot make a second copy.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;
use sqlx::FromRow;

use super::{Db, Store, StoreError, StoreResult, Timestamp, Tx, on_db, on_tx};

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// Being pushed (claimed under a lease).
    Sending,
    /// The destination returned a receipt.
    Delivered,
    /// Gave up after the last attempt.
    Failed,
}

impl DeliveryState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sending => "sending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    /// True when nothing more will happen to it: delivered, or given up.
    pub fn is_final(self) -> bool {
        matches!(self, DeliveryState::Delivered | DeliveryState::Failed)
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeliveryState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pending" => Ok(DeliveryState::Pending),
            "sending" => Ok(DeliveryState::Sending),
            "delivered" => Ok(DeliveryState::Delivered),
            "failed" => Ok(DeliveryState::Failed),
            other => Err(format!("delivery state {other:?}")),
        }
    }
}

/// One (file, destination) push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// Outbox id.
    pub id: i64,
    /// The file pushed.
    pub file_id: i64,
    /// The participant it goes to.
    pub destination: String,
    /// The endpoint (base URL) as it was when the delivery was queued.
    pub endpoint: String,
    /// Where it is.
    pub state: DeliveryState,
    /// Attempts started so far.
    pub attempts: i64,
    /// When the next attempt is due.
    pub next_attempt_at: Timestamp,
    /// While `sending`: when the claim lapses.
    pub lease_until: Option<Timestamp>,
    /// What went wrong last time.
    pub last_error: Option<String>,
    /// The destination's receipt (JSON), once delivered.
    pub remote_receipt: Option<String>,
    /// When it was delivered.
    pub delivered_at: Option<Timestamp>,
}

#[derive(FromRow)]
struct DeliveryRow {
    id: i64,
    file_id: i64,
    destination: String,
    endpoint: String,
    state: String,
    attempts: i64,
    next_attempt_at: Timestamp,
    lease_until: Option<Timestamp>,
    last_error: Option<String>,
    remote_receipt: Option<String>,
    delivered_at: Option<Timestamp>,
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = StoreError;

    fn try_from(r: DeliveryRow) -> StoreResult<Delivery> {
        Ok(Delivery {
            id: r.id,
            file_id: r.file_id,
            destination: r.destination,
            endpoint: r.endpoint,
            state: r.state.parse().map_err(StoreError::Corrupt)?,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            lease_until: r.lease_until,
            last_error: r.last_error,
            remote_receipt: r.remote_receipt,
            delivered_at: r.delivered_at,
        })
    }
}

macro_rules! delivery_columns {
    () => {
        "id, file_id, destination, endpoint, state, attempts, next_attempt_at, lease_until, \
         last_error, remote_receipt, delivered_at"
    };
}

/// Queues a push of `file_id` to `destination` at `endpoint`, due now. Queuing the same pair
/// again does nothing. Returns true when a row was added.
pub async fn enqueue_delivery(
    tx: &mut Tx,
    file_id: i64,
    destination: &str,
    endpoint: &str,
) -> StoreResult<bool> {
    let now = Timestamp::now();
    let added = on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO deliveries (file_id, destination, endpoint, state, attempts, \
             next_attempt_at, created_at) VALUES ($1, $2, $3, 'pending', 0, $4, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(file_id)
        .bind(destination)
        .bind(endpoint)
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    Ok(added == 1)
}

impl Store {
    /// Claims up to `limit` deliveries that are due at `now` (pending and due, or sending with a
    /// lapsed lease): marks them `sending` until `now + lease` and counts the attempt.
    /// Several hubs sharing one PostgreSQL never claim the same row (`SKIP LOCKED`).
    pub async fn claim_due_deliveries(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: i64,
    ) -> StoreResult<Vec<Delivery>> {
        let until = now.plus(lease);
        let rows: Vec<DeliveryRow> = match self.db() {
            Db::Postgres(pool) => {
                sqlx::query_as(concat!(
                    "UPDATE deliveries SET state = 'sending', lease_until = $2, \
                     attempts = attempts + 1 WHERE id IN (SELECT id FROM deliveries \
                     WHERE (state = 'pending' AND next_attempt_at <= $1) \
                     OR (state = 'sending' AND lease_until <= $1) \
                     ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING ",
                    delivery_columns!()
                ))
                .bind(now)
                .bind(until)
                .bind(limit)
                .fetch_all(pool)
                .await?
            }
            Db::Sqlite(_) => {
                // BEGIN IMMEDIATE already makes this the only writer.
                let mut tx = self.begin().await?;
                let rows = on_tx!(&mut tx, conn => {
                    sqlx::query_as(concat!(
                        "UPDATE deliveries SET state = 'sending', lease_until = $2, \
                         attempts = attempts + 1 WHERE id IN (SELECT id FROM deliveries \
                         WHERE (state = 'pending' AND next_attempt_at <= $1) \
                         OR (state = 'sending' AND lease_until <= $1) \
                         ORDER BY next_attempt_at LIMIT $3) RETURNING ",
                        delivery_columns!()
                    ))
                    .bind(now)
                    .bind(until)
                    .bind(limit)
                    .fetch_all(&mut *conn)
                    .await?
                });
                tx.commit().await?;
                rows
            }
        };
        rows.into_iter().map(Delivery::try_from).collect()
    }

    /// Records a successful push of a claimed delivery (attempt `attempt`). False when the
    /// claim was lost meanwhile (the lease lapsed and another worker took it).
    pub async fn mark_delivered(
        &self,
        id: i64,
        attempt: i64,
        receipt_json: &str,
    ) -> StoreResult<bool> {
        let now = Timestamp::now();
        let done = on_db!(self, pool => {
            sqlx::query(
                "UPDATE deliveries SET state = 'delivered', delivered_at = $1, remote_receipt = $2, \
                 lease_until = NULL, last_error = NULL \
                 WHERE id = $3 AND state = 'sending' AND attempts = $4",
            )
            .bind(now)
            .bind(receipt_json)
            .bind(id)
            .bind(attempt)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Records a failed attempt: back to `pending` due at `retry_at`, or `failed` when
    /// `retry_at` is `None` (no attempts left).
    pub async fn mark_attempt_failed(
        &self,
        id: i64,
        attempt: i64,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> StoreResult<bool> {
        let (state, next) = match retry_at {
            Some(at) => (DeliveryState::Pending, at),
            None => (DeliveryState::Failed, Timestamp::now()),
        };
        let done = on_db!(self, pool => {
            sqlx::query(
                "UPDATE deliveries SET state = $1, next_attempt_at = $2, last_error = $3, \
                 lease_until = NULL WHERE id = $4 AND state = 'sending' AND attempts = $5",
            )
            .bind(state.as_str())
            .bind(next)
            .bind(error)
            .bind(id)
            .bind(attempt)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Every delivery of a file.
    pub async fn deliveries_of_file(&self, file_id: i64) -> StoreResult<Vec<Delivery>> {
        let rows: Vec<DeliveryRow> = on_db!(self, pool => {
            sqlx::query_as(concat!(
                "SELECT ", delivery_columns!(), " FROM deliveries WHERE file_id = $1 ORDER BY id"
            ))
            .bind(file_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Delivery::try_from).collect()
    }

    /// When the earliest pending delivery is due, if any (so the worker can sleep until then).
    pub async fn next_delivery_due(&self) -> StoreResult<Option<Timestamp>> {
        let next: Option<(Timestamp,)> = on_db!(self, pool => {
            sqlx::query_as(
                "SELECT next_attempt_at FROM deliveries WHERE state = 'pending' \
                 ORDER BY next_attempt_at LIMIT 1",
            )
            .fetch_optional(pool)
            .await?
        });
        Ok(next.map(|(t,)| t))
    }
}
