//! The scheduler: timed jobs of the running hub, on tokio-cron-scheduler, at local times of the
//! configured UTC offset (Asia/Shanghai, UTC+8, by default).
//!
//! | job | when | what |
//! |---|---|---|
//! | `close-window` | the daily cut-off (default 23:00) | [`close_due_days`]: close today's window and any missed day, through [`crate::day::close_day`] (clear, settlement files, outbound packages, settled discrepancies) |
//! | `results-intake` | every minute | store partners' result files that arrived ([`crate::reconcile::ingest_pending_results`]) |
//! | `dispute-deadlines` | every 15 minutes | default outcomes of cases whose deadline passed ([`crate::disputes::expire_due`]), then [`crate::reconcile::close_settled`] |
//! | `reconcile` | daily at `reconcile_at` (default 06:00) | [`reconcile_previous_day`]: reconcile yesterday if its window is closed |
//! | `cert-expiry` | daily (default 09:00) | warn about participant and server certificates that expire within `cert_warn_days` |
//! | `late-files` | at each `[[schedule.expect]]` time | warn when a participant has sent no file since the last cut-off |
//!
//! This is the hub's one scheduler: every timed job is started here, at local times of the
//! hub's UTC offset ([`crate::settings::HubSettings`]).
//!
//! Every job takes a job lock first ([`Store::try_job_lock`]): with several `hutong serve`
//! replicas on one PostgreSQL, only one runs it (an advisory lock), the others skip. Jobs are
//! also idempotent, so a run repeated by hand (`hutong clear`) changes nothing. Warnings go to
//! the log and to the audit log.
//!
//! ```toml
//! [schedule]
//! cutoff = "23:00"          # local time of the daily cut-off
//! utc_offset = "+08:00"     # Asia/Shanghai (no daylight saving)
//! cert_check = "09:00"
//! cert_warn_days = 30
//! reconcile_at = "06:00"    # daily reconciliation of the previous day
//!
//! [[schedule.expect]]       # a participant expected to send a file every day…
//! participant = "MOT"
//! by = "02:00"              # …by this local time
//! ```

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, Timelike, Utc};
use serde::Deserialize;
use tokio::sync::Notify;
use tokio_cron_scheduler::{Job, JobScheduler};
use tokio_util::task::TaskTracker;

use crate::clearing::ClearingSettings;
use crate::metrics::Metrics;
use crate::reconcile::ReconcileSettings;
use crate::settings::HubSettings;
use crate::store::{NewAuditEntry, Store, StoreError, Timestamp};
use crate::vault::Vault;

/// The `[schedule]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Local time of the daily cut-off, `HH:MM`. Read into the hub's settings
    /// ([`crate::config::ServeFile::hub_settings`]); the scheduler takes the cut-off from
    /// `JobContext::clearing.hub`, not from here.
    pub cutoff: String,
    /// Offset of local time from UTC, `+HH:MM`; read into the hub's settings like `cutoff`.
    pub utc_offset: String,
    /// Local time of the daily certificate check.
    pub cert_check: String,
    /// Warn about certificates that expire within this many days.
    pub cert_warn_days: i64,
    /// Local time of the daily reconciliation of the previous day, `HH:MM` (default 06:00).
    pub reconcile_at: Option<String>,
    /// Participants expected to send a file every day, and by when.
    pub expect: Vec<ExpectedFile>,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            cutoff: "23:00".into(),
            utc_offset: "+08:00".into(),
            cert_check: "09:00".into(),
            cert_warn_days: 30,
            reconcile_at: None,
            expect: Vec::new(),
        }
    }
}

/// A participant that should send a file every day by a local time.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFile {
    /// Participant code.
    pub participant: String,
    /// Local time, `HH:MM`.
    pub by: String,
}

/// Why the scheduler could not start or a job failed.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// A time or offset in `[schedule]` that does not parse.
    #[error("[schedule] {field}: {value:?} is not {expected}")]
    Config {
        /// The field.
        field: &'static str,
        /// Its value.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// The scheduler library refused.
    #[error("scheduler: {0}")]
    Cron(#[from] tokio_cron_scheduler::JobSchedulerError),
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The PKI directory.
    #[error(transparent)]
    Certs(#[from] certs::Error),
    /// A job's own work failed.
    #[error("{0}")]
    Job(String),
}

/// A parsed `HH:MM` (or `HH:MM:SS`).
pub fn parse_local_time(field: &'static str, value: &str) -> Result<NaiveTime, SchedulerError> {
    NaiveTime::parse_from_str(value, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(value, "%H:%M:%S"))
        .map_err(|_| SchedulerError::Config {
            field,
            value: value.into(),
            expected: "a local time HH:MM",
        })
}

/// A parsed `+HH:MM`.
pub fn parse_offset(value: &str) -> Result<FixedOffset, SchedulerError> {
    value
        .parse::<FixedOffset>()
        .map_err(|_| SchedulerError::Config {
            field: "utc_offset",
            value: value.into(),
            expected: "an offset such as +08:00",
        })
}

/// What jobs work with: the storage, and the settings of the parts whose work they run.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// The database.
    pub store: Store,
    /// The data directory's file store.
    pub vault: Vault,
    /// The PKI directory, for certificate checks.
    pub pki: Option<PathBuf>,
    /// Clearing (the hub's code, cut-off and local time among them).
    pub clearing: Arc<ClearingSettings>,
    /// Reconciliation and dispute deadlines.
    pub reconcile: Arc<ReconcileSettings>,
    /// Woken when a job deposits a file for delivery.
    pub outbox: Option<Arc<Notify>>,
    /// Where close durations are observed.
    pub metrics: Option<Metrics>,
}

impl JobContext {
    /// A context with default settings, no PKI and no delivery wake-up.
    pub fn new(store: Store, vault: Vault) -> JobContext {
        JobContext {
            store,
            vault,
            pki: None,
            clearing: Arc::new(ClearingSettings::default()),
            reconcile: Arc::new(ReconcileSettings::default()),
            outbox: None,
            metrics: None,
        }
    }

    fn hub(&self) -> &HubSettings {
        &self.clearing.hub
    }
}

fn job_err(e: impl std::fmt::Display) -> SchedulerError {
    SchedulerError::Job(e.to_string())
}

/// The cut-off job's work: closes today's window (and every earlier day missed while the hub
/// was down, up to a week back) through [`crate::day::close_day`]. Returns the days closed.
pub async fn close_due_days(
    ctx: &JobContext,
    now: Timestamp,
) -> Result<Vec<NaiveDate>, SchedulerError> {
    let today = ctx.hub().local_date(now.datetime());
    let last = ctx.store.closed_days(1).await?.first().copied();
    let mut day = match last {
        Some(d) => (d + Duration::days(1)).max(today - Duration::days(7)),
        None => today,
    };
    let mut closed = Vec::new();
    while day <= today {
        // The job fires at the cut-off; a few milliseconds early is still the cut-off.
        let early = day == today;
        let outbox = ctx.outbox.as_deref();
        let started = std::time::Instant::now();
        crate::day::close_day(
            &ctx.store,
            &ctx.vault,
            &ctx.clearing,
            day,
            now,
            early,
            outbox,
        )
        .await
        .map_err(job_err)?;
        if let Some(m) = &ctx.metrics {
            m.close_took(started.elapsed());
        }
        closed.push(day);
        day += Duration::days(1);
    }
    Ok(closed)
}

/// The daily reconciliation's work: reconciles yesterday (local time) when its window is
/// closed; `None` when it is not.
pub async fn reconcile_previous_day(
    ctx: &JobContext,
    now: Timestamp,
) -> Result<Option<(NaiveDate, crate::reconcile::ReconcileSummary)>, SchedulerError> {
    let yesterday = ctx.hub().local_date(now.datetime()) - Duration::days(1);
    if ctx.store.closed_window(yesterday).await?.is_none() {
        return Ok(None);
    }
    let outbox = ctx.outbox.as_deref();
    crate::reconcile::reconcile_day(
        &ctx.store,
        &ctx.vault,
        &ctx.reconcile,
        yesterday,
        now,
        outbox,
    )
    .await
    .map(|done| Some((yesterday, done)))
    .map_err(job_err)
}

/// Runs `job` under the job lock `name`; skips (returns `None`) when another replica holds it.
pub async fn run_locked<T, F>(
    store: &Store,
    name: &str,
    job: F,
) -> Result<Option<T>, SchedulerError>
where
    F: Future<Output = Result<T, SchedulerError>>,
{
    let Some(lock) = store.try_job_lock(name).await? else {
        tracing::info!(job = name, "skipped: another replica holds the job lock");
        return Ok(None);
    };
    let out = job.await;
    lock.release().await;
    out.map(Some)
}

async fn warn(
    store: &Store,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<(), SchedulerError> {
    tracing::warn!(action, target, "{detail}");
    store
        .audit(&NewAuditEntry {
            participant: None,
            action,
            target: Some(target),
            result: "warning",
            detail: Some(detail),
        })
        .await?;
    Ok(())
}

/// Warns about certificates (valid, not revoked) that expire within `days`; returns the warnings.
pub async fn check_certificates(
    ctx: &JobContext,
    now: DateTime<Utc>,
    days: i64,
) -> Result<Vec<String>, SchedulerError> {
    let Some(dir) = &ctx.pki else {
        return Ok(Vec::new());
    };
    let pki = certs::Pki::open(dir)?;
    let now_odt = certs_time(now);
    let window = time_duration_days(days);
    let mut warnings = Vec::new();
    for cert in pki.list()? {
        if cert.state(now_odt) == certs::CertState::Valid && cert.expires_within(now_odt, window) {
            let who = cert
                .participant
                .clone()
                .unwrap_or_else(|| "the hub server".into());
            let text = format!(
                "certificate {} of {who} expires {}",
                cert.serial, cert.not_after
            );
            warn(&ctx.store, "cert.expiring", &cert.serial, &text).await?;
            warnings.push(text);
        }
    }
    Ok(warnings)
}

fn certs_time(now: DateTime<Utc>) -> certs::time::OffsetDateTime {
    certs::time::OffsetDateTime::from_unix_timestamp(now.timestamp())
        .unwrap_or(certs::time::OffsetDateTime::UNIX_EPOCH)
}

fn time_duration_days(days: i64) -> certs::time::Duration {
    certs::time::Duration::days(days)
}

/// Warns about each expected participant that has sent no file since `since` (the last
/// cut-off); returns the warnings.
pub async fn check_late_files(
    ctx: &JobContext,
    expected: &[String],
    since: DateTime<Utc>,
) -> Result<Vec<String>, SchedulerError> {
    let mut warnings = Vec::new();
    for participant in expected {
        let last = ctx.store.last_upload_from(participant).await?;
        if last.is_none_or(|t| t.datetime() < since) {
            let text = match last {
                Some(t) => format!("{participant} has sent no file since {since} (last file {t})"),
                None => format!("{participant} has never sent a file"),
            };
            warn(&ctx.store, "file.late", participant, &text).await?;
            warnings.push(text);
        }
    }
    Ok(warnings)
}

/// The most recent cut-off instant at or before `now`.
pub fn last_cutoff(now: DateTime<Utc>, cutoff: NaiveTime, offset: FixedOffset) -> DateTime<Utc> {
    let local = now.with_timezone(&offset);
    let today = local
        .date_naive()
        .and_time(cutoff)
        .and_local_timezone(offset)
        .single()
        .expect("fixed offset");
    let at = if today <= local {
        today
    } else {
        today - Duration::days(1)
    };
    at.with_timezone(&Utc)
}

fn cron_at(t: NaiveTime) -> String {
    format!("{} {} {} * * *", t.second(), t.minute(), t.hour())
}

/// The running scheduler. Call [`Scheduler::shutdown`] before dropping it (the library logs
/// spurious errors otherwise).
pub struct Scheduler {
    inner: JobScheduler,
    /// The job runs in progress (each holds a token while it runs).
    running: TaskTracker,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scheduler")
    }
}

/// What a job does, given its context; `Some(text)` is logged as what it did.
type JobWork = Arc<
    dyn Fn(
            JobContext,
        ) -> Pin<Box<dyn Future<Output = Result<Option<String>, SchedulerError>> + Send>>
        + Send
        + Sync,
>;

impl Scheduler {
    /// Starts every timed job of the hub (see the module docs) at local times of the hub's
    /// offset (`ctx.clearing.hub`); `config` gives the times of the daily checks.
    pub async fn start(
        ctx: JobContext,
        config: &ScheduleConfig,
    ) -> Result<Scheduler, SchedulerError> {
        let offset = ctx.hub().offset();
        let cutoff = ctx.hub().cutoff.time;
        let cert_check = parse_local_time("cert_check", &config.cert_check)?;
        let reconcile_at = parse_local_time(
            "reconcile_at",
            config.reconcile_at.as_deref().unwrap_or("06:00"),
        )?;
        let inner = JobScheduler::new().await?;
        let running = TaskTracker::new();
        // Every job runs under its job lock, and its outcome is logged. Once shutdown has
        // begun no new run starts, and shutdown waits for the runs in progress.
        let add = |schedule: String, name: &str, work: JobWork| {
            let (ctx, name, running) = (ctx.clone(), name.to_string(), running.clone());
            Job::new_async_tz(schedule, offset, move |_id, _sched| {
                let (ctx, name, work) = (ctx.clone(), name.clone(), work.clone());
                let running = running.clone();
                Box::pin(async move {
                    if running.is_closed() {
                        return;
                    }
                    let _run = running.token();
                    let store = ctx.store.clone();
                    match run_locked(&store, &name, work(ctx)).await {
                        Ok(Some(Some(done))) => tracing::info!(job = %name, "{done}"),
                        Ok(_) => {}
                        Err(e) => tracing::error!(job = %name, "{e}"),
                    }
                })
            })
        };

        let close: JobWork = Arc::new(|ctx: JobContext| {
            Box::pin(async move {
                let days = close_due_days(&ctx, Timestamp::now()).await?;
                Ok((!days.is_empty()).then(|| format!("closed {days:?}")))
            })
        });
        inner
            .add(add(cron_at(cutoff), "close-window", close)?)
            .await?;

        let intake: JobWork = Arc::new(|ctx: JobContext| {
            Box::pin(async move {
                let done = crate::reconcile::ingest_pending_results(
                    &ctx.store,
                    &ctx.vault,
                    Timestamp::now(),
                )
                .await
                .map_err(job_err)?;
                Ok((!done.is_empty()).then(|| format!("{} result file(s) stored", done.len())))
            })
        });
        inner
            .add(add("0 * * * * *".into(), "results-intake", intake)?)
            .await?;

        let deadlines: JobWork = Arc::new(|ctx: JobContext| {
            Box::pin(async move {
                let now = Timestamp::now();
                let expired =
                    crate::disputes::expire_due(&ctx.store, &ctx.reconcile.deadlines, now)
                        .await
                        .map_err(job_err)?;
                crate::reconcile::close_settled(&ctx.store, now)
                    .await
                    .map_err(job_err)?;
                Ok((!expired.is_empty())
                    .then(|| format!("dispute deadlines applied to {} case(s)", expired.len())))
            })
        });
        inner
            .add(add(
                "30 */15 * * * *".into(),
                "dispute-deadlines",
                deadlines,
            )?)
            .await?;

        let reconcile: JobWork = Arc::new(|ctx: JobContext| {
            Box::pin(async move {
                let done = reconcile_previous_day(&ctx, Timestamp::now()).await?;
                Ok(done.map(|(day, s)| {
                    format!("reconciled {day}: {} new discrepancies", s.found.new.len())
                }))
            })
        });
        inner
            .add(add(cron_at(reconcile_at), "reconcile", reconcile)?)
            .await?;

        let days = config.cert_warn_days;
        let certs: JobWork =
            Arc::new(move |ctx: JobContext| {
                Box::pin(async move {
                    let warned = check_certificates(&ctx, Utc::now(), days).await?;
                    Ok((!warned.is_empty())
                        .then(|| format!("{} certificate warning(s)", warned.len())))
                })
            });
        inner
            .add(add(cron_at(cert_check), "cert-expiry", certs)?)
            .await?;

        for expect in &config.expect {
            let by = parse_local_time("expect.by", &expect.by)?;
            let who = vec![expect.participant.clone()];
            let late: JobWork = Arc::new(move |ctx: JobContext| {
                let who = who.clone();
                Box::pin(async move {
                    let since = last_cutoff(Utc::now(), cutoff, offset);
                    let late = check_late_files(&ctx, &who, since).await?;
                    Ok((!late.is_empty()).then(|| late.join("; ")))
                })
            });
            let name = format!("late-files:{}", expect.participant);
            inner.add(add(cron_at(by), &name, late)?).await?;
        }
        inner.start().await?;
        Ok(Scheduler { inner, running })
    }

    /// Stops every job: no new run starts, the runs in progress are given `drain` to finish
    /// (each releases its job lock as it ends; a run cut off after that loses its lock with
    /// the process, and its transaction rolls back).
    pub async fn shutdown(mut self, drain: std::time::Duration) {
        self.running.close();
        if let Err(e) = self.inner.shutdown().await {
            tracing::warn!("scheduler shutdown: {e}");
        }
        if tokio::time::timeout(drain, self.running.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                running = self.running.len(),
                "scheduled jobs still running after the drain timeout"
            );
        }
    }
}

/// The current time as the store records it (for jobs that audit).
pub fn now() -> Timestamp {
    Timestamp::now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_cutoff_is_yesterdays_until_todays_has_passed() {
        let offset = parse_offset("+08:00").unwrap();
        let cutoff = parse_local_time("cutoff", "23:00").unwrap();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(
            last_cutoff(at("2026-11-21T14:59:00Z"), cutoff, offset),
            at("2026-11-20T15:00:00Z")
        );
        assert_eq!(
            last_cutoff(at("2026-11-21T15:00:00Z"), cutoff, offset),
            at("2026-11-21T15:00:00Z")
        );
        assert_eq!(cron_at(cutoff), "0 0 23 * * *");
    }

    #[test]
    fn bad_times_in_the_schedule_name_the_field() {
        let e = parse_local_time("cutoff", "25:00").unwrap_err().to_string();
        assert!(e.contains("cutoff") && e.contains("25:00"), "{e}");
        assert!(parse_offset("Asia/Shanghai").is_err());
    }
}
