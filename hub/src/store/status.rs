//! The figures `hutong status` shows: what an operator checks first (issue 18). Every count
//! is one small aggregate over an indexed column, so the command stays fast on a large hub.

use serde::Serialize;

use super::{Store, StoreResult, Timestamp, on_db};

/// The state of a hub's queues at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QueueStatus {
    /// Inbound files stored and waiting for ingest (`received`).
    pub files_waiting: i64,
    /// When the oldest of them arrived.
    pub oldest_waiting_at: Option<Timestamp>,
    /// Accepted inbound files not yet taken by a settlement window (the open window's files).
    pub open_window_files: i64,
    /// When the oldest of them arrived.
    pub open_window_oldest_at: Option<Timestamp>,
    /// The last closed window: its day, when it closed, and its record count.
    pub last_closed: Option<ClosedWindow>,
    /// Deliveries pending whose next attempt is due now.
    pub deliveries_due: i64,
    /// Deliveries pending after at least one failed attempt.
    pub deliveries_retrying: i64,
    /// Deliveries given up on (`failed`).
    pub deliveries_failed: i64,
    /// The last error of a retrying or failed delivery, if any.
    pub delivery_last_error: Option<String>,
    /// Discrepancies nobody has worked yet (`open`).
    pub discrepancies_open: i64,
    /// Discrepancies not yet closed in any other way (monitoring, resent, disputed, resolved
    /// but not yet settled).
    pub discrepancies_in_progress: i64,
    /// Dispute cases not yet closed.
    pub disputes_open: i64,
    /// Of those, the ones past their deadline.
    pub disputes_overdue: i64,
    /// The nearest deadline of an open case.
    pub nearest_dispute_deadline: Option<Timestamp>,
}

/// A closed settlement window, briefly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ClosedWindow {
    /// The settlement day, `YYYY-MM-DD`.
    pub day: String,
    /// When it closed.
    pub closed_at: Timestamp,
    /// Records it cleared.
    pub tx_count: i64,
}

impl Store {
    /// The queues' state at `now`.
    pub async fn queue_status(&self, now: Timestamp) -> StoreResult<QueueStatus> {
        let waiting = "SELECT count(*), min(received_at) FROM files \
                       WHERE direction = 'in' AND status = 'received'";
        let open_window = "SELECT count(*), min(received_at) FROM files \
                           WHERE direction = 'in' AND window_day IS NULL \
                           AND status IN ('accepted', 'partially_accepted')";
        let last_closed = "SELECT day, closed_at, tx_count FROM windows \
                           ORDER BY day DESC LIMIT 1";
        let deliveries = "SELECT \
              count(CASE WHEN state = 'pending' AND next_attempt_at <= $1 THEN 1 END), \
              count(CASE WHEN state IN ('pending', 'sending') AND attempts > 0 THEN 1 END), \
              count(CASE WHEN state = 'failed' THEN 1 END) \
            FROM deliveries WHERE state <> 'delivered'";
        let last_error = "SELECT last_error FROM deliveries \
                          WHERE state <> 'delivered' AND last_error IS NOT NULL \
                          ORDER BY id DESC LIMIT 1";
        let discrepancies = "SELECT \
              count(CASE WHEN status = 'open' THEN 1 END), \
              count(CASE WHEN status <> 'open' THEN 1 END) \
            FROM discrepancies WHERE status <> 'closed'";
        let disputes = "SELECT count(*), \
              count(CASE WHEN overdue OR deadline < $1 THEN 1 END), \
              min(deadline) \
            FROM dispute_cases WHERE stage <> 'closed'";
        let (files_waiting, oldest_waiting_at): (i64, Option<Timestamp>) =
            on_db!(self, pool => sqlx::query_as(waiting).fetch_one(pool).await?);
        let (open_window_files, open_window_oldest_at): (i64, Option<Timestamp>) =
            on_db!(self, pool => sqlx::query_as(open_window).fetch_one(pool).await?);
        let last_closed: Option<ClosedWindow> =
            on_db!(self, pool => sqlx::query_as(last_closed).fetch_optional(pool).await?);
        let (deliveries_due, deliveries_retrying, deliveries_failed): (i64, i64, i64) = on_db!(
            self, pool => sqlx::query_as(deliveries).bind(now).fetch_one(pool).await?
        );
        let delivery_last_error: Option<Option<String>> =
            on_db!(self, pool => sqlx::query_scalar(last_error).fetch_optional(pool).await?);
        let (discrepancies_open, discrepancies_in_progress): (i64, i64) =
            on_db!(self, pool => sqlx::query_as(discrepancies).fetch_one(pool).await?);
        let (disputes_open, disputes_overdue, nearest_dispute_deadline): (
            i64,
            i64,
            Option<Timestamp>,
        ) = on_db!(self, pool => sqlx::query_as(disputes).bind(now).fetch_one(pool).await?);
        Ok(QueueStatus {
            files_waiting,
            oldest_waiting_at,
            open_window_files,
            open_window_oldest_at,
            last_closed,
            deliveries_due,
            deliveries_retrying,
            deliveries_failed,
            delivery_last_error: delivery_last_error.flatten(),
            discrepancies_open,
            discrepancies_in_progress,
            disputes_open,
            disputes_overdue,
            nearest_dispute_deadline,
        })
    }
}
