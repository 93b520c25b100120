//! The settlement day service: the one sequence that closes a day, called alike by
//! `hutong clear`, the scheduler's cut-off job and the demo.
//!
//! [`close_day`] runs, in order:
//! 1. [`clearing::close_window`] — close the window in one transaction and store the figures
//!    (a failed check leaves it open);
//! 2. [`clearing::produce_outputs`] — the settlement instructions and every participant's
//!    statements;
//! 3. [`outbound::produce_packages`] — every issuer side's outbound package (下发包);
//! 4. [`reconcile::close_settled`] — discrepancies and cases whose adjustments this window
//!    cleared are closed.
//!
//! Every step is idempotent, so closing a day again (a retried job, `hutong clear` after the
//! scheduler) returns the stored window and produces nothing twice.

use chrono::NaiveDate;
use tokio::sync::Notify;

use crate::clearing::{self, ClearingError, ClearingSettings, Closed, Output};
use crate::outbound;
use crate::reconcile::{self, ReconcileError};
use crate::store::{Store, Timestamp};
use crate::vault::Vault;

/// What closing a day did.
#[derive(Debug, Clone)]
pub struct ClosedDay {
    /// The window, and whether this call closed it.
    pub closed: Closed,
    /// The settlement files and outbound packages of the day (also those produced before).
    pub outputs: Vec<Output>,
    /// Discrepancy ids closed because their adjustment has now cleared.
    pub settled: Vec<i64>,
}

/// Why a day could not be closed.
#[derive(Debug, thiserror::Error)]
pub enum DayError {
    /// Closing, clearing, settlement files or packages.
    #[error(transparent)]
    Clearing(#[from] ClearingError),
    /// Closing the discrepancies the window settled.
    #[error("closing settled discrepancies: {0}")]
    Settle(#[from] ReconcileError),
}

/// Closes settlement day `day` at `now` (before its cut-off only when `early`), then produces
/// its settlement files and packages and closes what it settled (see the module docs).
pub async fn close_day(
    store: &Store,
    vault: &Vault,
    settings: &ClearingSettings,
    day: NaiveDate,
    now: Timestamp,
    early: bool,
    outbox: Option<&Notify>,
) -> Result<ClosedDay, DayError> {
    let closed = clearing::close_window(store, settings, day, now, early).await?;
    let mut outputs = clearing::produce_outputs(store, vault, settings, day, outbox).await?;
    outputs.extend(outbound::produce_packages(store, vault, day, &settings.hub, outbox).await?);
    let settled = reconcile::close_settled(store, now).await?;
    if closed.newly_closed {
        tracing::info!(%day, records = closed.window.tx_count, "settlement window closed");
    }
    Ok(ClosedDay {
        closed,
        outputs,
        settled,
    })
}
