//! The scheduler: timed jobs of the running hub, on tokio-cron-scheduler, at local times of the
//! configured UTC offset (Asia/Shanghai, UTC+8, by default).
//!
//! | job | when | what |
//! |---|---|---|
//! | `close-window` | the daily cut-off (default 23:00) | close the day's settlement window, clear, write settlement files and outbound files |
//! | `cert-expiry` | daily (default 09:00) | warn about participant and server certificates that expire within `cert_warn_days` |
//! | `late-files` | at each `[[schedule.expect]]` time | warn when a participant has sent no file since the last cut-off |
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
//!
//! [[schedule.expect]]       # a participant expected to send a file every day…
//! participant = "MOT"
//! by = "02:00"              # …by this local time
//! ```

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, NaiveTime, Timelike, Utc};
use serde::Deserialize;
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::store::{NewAuditEntry, Store, StoreError, Timestamp};

/// The `[schedule]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Local time of the daily cut-off, `HH:MM`.
    pub cutoff: String,
    /// Offset of local time from UTC, `+HH:MM`.
    pub utc_offset: String,
    /// Local time of the daily certificate check.
    pub cert_check: String,
    /// Warn about certificates that expire within this many days.
    pub cert_warn_days: i64,
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

/// What jobs work with.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// The database.
    pub store: Store,
    /// The PKI directory, for certificate checks.
    pub pki: Option<PathBuf>,
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
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scheduler")
    }
}

/// A job body: what runs at the job's time.
pub type JobBody =
    Arc<dyn Fn(JobContext) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

impl Scheduler {
    /// Starts the jobs of `config`. `close_window` is the cut-off job's body (it closes and
    /// clears the day whose cut-off it is).
    pub async fn start(
        ctx: JobContext,
        config: &ScheduleConfig,
        close_window: JobBody,
    ) -> Result<Scheduler, SchedulerError> {
        let offset = parse_offset(&config.utc_offset)?;
        let cutoff = parse_local_time("cutoff", &config.cutoff)?;
        let cert_check = parse_local_time("cert_check", &config.cert_check)?;
        let inner = JobScheduler::new().await?;

        let add = |schedule: String, body: JobBody| {
            let ctx = ctx.clone();
            Job::new_async_tz(schedule, offset, move |_id, _sched| {
                let ctx = ctx.clone();
                let body = body.clone();
                Box::pin(async move { body(ctx).await })
            })
        };

        inner.add(add(cron_at(cutoff), close_window)?).await?;

        let days = config.cert_warn_days;
        let certs: JobBody = Arc::new(move |ctx: JobContext| {
            Box::pin(async move {
                let store = ctx.store.clone();
                if let Err(e) = run_locked(
                    &store,
                    "cert-expiry",
                    check_certificates(&ctx, Utc::now(), days),
                )
                .await
                {
                    tracing::error!("cert-expiry job: {e}");
                }
            })
        });
        inner.add(add(cron_at(cert_check), certs)?).await?;

        for expect in &config.expect {
            let by = parse_local_time("expect.by", &expect.by)?;
            let who = vec![expect.participant.clone()];
            let late: JobBody = Arc::new(move |ctx: JobContext| {
                let who = who.clone();
                Box::pin(async move {
                    let store = ctx.store.clone();
                    let since = last_cutoff(Utc::now(), cutoff, offset);
                    let name = format!("late-files:{}", who[0]);
                    if let Err(e) =
                        run_locked(&store, &name, check_late_files(&ctx, &who, since)).await
                    {
                        tracing::error!("late-files job: {e}");
                    }
                })
            });
            inner.add(add(cron_at(by), late)?).await?;
        }
        inner.start().await?;
        Ok(Scheduler { inner })
    }

    /// Stops every job.
    pub async fn shutdown(mut self) {
        if let Err(e) = self.inner.shutdown().await {
            tracing::warn!("scheduler shutdown: {e}");
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
