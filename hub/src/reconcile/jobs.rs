//! Reconciliation's timed jobs in `hutong serve`, on tokio-cron-scheduler like the hub's other
//! jobs (`crate::scheduler`), each under its job lock so that one replica runs it:
//!
//! | job | when | what |
//! |---|---|---|
//! | `results-intake` | every minute | store partners' result files that arrived ([`super::ingest_pending_results`]) |
//! | `dispute-deadlines` | every 15 minutes | default outcomes of cases whose deadline passed ([`crate::disputes::expire_due`]), then [`super::close_settled`] |
//! | `reconcile` | daily at `reconcile_at` (default 06:00 local) | reconcile the previous settlement day if its window is closed |

use std::sync::Arc;

use chrono::{Duration, NaiveTime, Timelike};
use tokio_cron_scheduler::{Job, JobScheduler};

use super::ReconcileSettings;
use crate::scheduler::{SchedulerError, run_locked};
use crate::store::{Store, Timestamp};
use crate::vault::Vault;

/// The running reconciliation jobs; call [`ReconcileJobs::shutdown`] before dropping.
pub struct ReconcileJobs {
    inner: JobScheduler,
}

impl std::fmt::Debug for ReconcileJobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReconcileJobs")
    }
}

fn job_err(e: impl std::fmt::Display) -> SchedulerError {
    SchedulerError::Job(e.to_string())
}

impl ReconcileJobs {
    /// Starts the jobs.
    pub async fn start(
        store: Store,
        vault: Vault,
        settings: Arc<ReconcileSettings>,
        reconcile_at: NaiveTime,
    ) -> Result<ReconcileJobs, SchedulerError> {
        let inner = JobScheduler::new().await?;
        let offset = settings.cutoff.offset;

        let (s, v) = (store.clone(), vault.clone());
        inner
            .add(Job::new_async_tz("0 * * * * *", offset, move |_, _| {
                let (s, v) = (s.clone(), v.clone());
                Box::pin(async move {
                    let job = async {
                        super::ingest_pending_results(&s, &v, Timestamp::now())
                            .await
                            .map_err(job_err)
                    };
                    match run_locked(&s, "results-intake", job).await {
                        Ok(Some(done)) if !done.is_empty() => {
                            tracing::info!(files = done.len(), "result files stored")
                        }
                        Ok(_) => {}
                        Err(e) => tracing::error!("results-intake job: {e}"),
                    }
                })
            })?)
            .await?;

        let (s, set) = (store.clone(), settings.clone());
        inner
            .add(Job::new_async_tz(
                "30 */15 * * * *",
                offset,
                move |_, _| {
                    let (s, set) = (s.clone(), set.clone());
                    Box::pin(async move {
                        let job = async {
                            let now = Timestamp::now();
                            let expired = crate::disputes::expire_due(&s, &set.deadlines, now)
                                .await
                                .map_err(job_err)?;
                            super::close_settled(&s, now).await.map_err(job_err)?;
                            Ok(expired)
                        };
                        match run_locked(&s, "dispute-deadlines", job).await {
                            Ok(Some(done)) if !done.is_empty() => {
                                tracing::info!(cases = done.len(), "dispute deadlines applied")
                            }
                            Ok(_) => {}
                            Err(e) => tracing::error!("dispute-deadlines job: {e}"),
                        }
                    })
                },
            )?)
            .await?;

        let (s, v, set) = (store.clone(), vault.clone(), settings.clone());
        let cron = format!(
            "{} {} {} * * *",
            reconcile_at.second(),
            reconcile_at.minute(),
            reconcile_at.hour()
        );
        inner
            .add(Job::new_async_tz(cron, offset, move |_, _| {
                let (s, v, set) = (s.clone(), v.clone(), set.clone());
                Box::pin(async move {
                    let now = Timestamp::now();
                    let yesterday = now
                        .datetime()
                        .with_timezone(&set.cutoff.offset)
                        .date_naive()
                        - Duration::days(1);
                    let job = async {
                        if s.closed_window(yesterday).await?.is_none() {
                            return Ok(None);
                        }
                        super::reconcile_day(&s, &v, &set, yesterday, now, None)
                            .await
                            .map(Some)
                            .map_err(job_err)
                    };
                    match run_locked(&s, "reconcile", job).await {
                        Ok(Some(Some(done))) => tracing::info!(
                            day = %yesterday,
                            new = done.found.new.len(),
                            "reconciled"
                        ),
                        Ok(_) => {}
                        Err(e) => tracing::error!("reconcile job: {e}"),
                    }
                })
            })?)
            .await?;
        inner.start().await?;
        Ok(ReconcileJobs { inner })
    }

    /// Stops the jobs.
    pub async fn shutdown(mut self) {
        if let Err(e) = self.inner.shutdown().await {
            tracing::warn!("reconciliation jobs shutdown: {e}");
        }
    }
}
