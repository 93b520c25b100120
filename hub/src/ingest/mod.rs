//! Ingest (issue 5): every stored inbound file is detected by format, streamed into canonical
//! records, translated through the code tables, checked, and stored — or rejected — in one
//! database transaction; then its result file (and, for a blacklist, the changes for every
//! partner) is deposited in the outboxes.
//!
//! # One file
//!
//! [`Ingestor::ingest_file`]: claim the file (`received`, locked on PostgreSQL so that replicas
//! never ingest one file twice), then the whole-file checks in order — `F05` seal (checked while
//! the upload streamed in), `F01` format and header, `F03` header sender against the uploader,
//! `F04` sequence number — then the records, parsed and checked on one thread
//! ([`pipeline`]) and stored on the other (`crate::store::store_batches`), then `F01`/`F02`
//! at the trailer. A whole-file rejection rolls back everything the file staged and records
//! only the rejection; otherwise the records, the rejections, the outcome (`file_results`) and
//! the file's final status commit together. A crash before the commit leaves the file
//! `received`, and the next run ingests it again from the start.
//!
//! # Outputs
//!
//! After the commit, [`Ingestor::deposit_outputs`] writes the result file in the sender's
//! format family and deposits it in the sender's outbox (sealed when the sender has a seal
//! key), and for a blacklist file the changes in each other participant's family. Outputs are
//! made from the database and their content depends only on it, so redoing them after a crash
//! deposits the same files, which the outbox recognises (`outputs_at` marks them done).

pub mod checks;
pub mod keys;
pub mod outputs;
mod pipeline;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adapters::Format;
use serde::Serialize;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::settings::HubSettings;
use crate::store::{
    Content, FileRecord, FileResult, FileStatus, Store, StoreError, Timestamp, Tx,
    claim_for_ingest, insert_file_result, load_blacklist, load_routes, lock_blacklist, seq_used_by,
    set_file_status, store_batches,
};
use crate::vault::Vault;
use checks::{AmountLimits, BlacklistIndex, Checker, Code, PackageFormats, Rejection, Router};
use keys::IssuerKeys;
use pipeline::{End, Failure, Job};

/// How ingest checks and answers.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// The hub's code (the sender of result and blacklist files), local time and acceptance
    /// window (`R06`).
    pub hub: HubSettings,
    /// Amount limits per scheme (`R05`).
    pub limits: AmountLimits,
    /// Issuer master TAC keys (`R02`).
    pub keys: Arc<IssuerKeys>,
}

impl Default for IngestConfig {
    fn default() -> IngestConfig {
        IngestConfig {
            hub: HubSettings::default(),
            limits: AmountLimits::default(),
            keys: Arc::new(IssuerKeys::default()),
        }
    }
}

/// What went wrong that is not the sender's fault (the file stays `received`).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored file or the result could not be read or written.
    #[error("{0}")]
    Io(String),
    /// Depositing an output failed.
    #[error(transparent)]
    Deposit(#[from] crate::delivery::DepositError),
    /// A partner's result file, handed to reconciliation, could not be processed.
    #[error(transparent)]
    Results(#[from] Box<crate::reconcile::ReconcileError>),
}

/// The outcome of ingesting one file, as `hutong ingest` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IngestReport {
    /// The file.
    pub file_id: i64,
    /// Its name.
    pub name: String,
    /// Its uploader.
    pub sender: String,
    /// Its format, once recognised.
    pub format: Option<String>,
    /// Its final status.
    pub status: FileStatus,
    /// Records read.
    pub records: i64,
    /// Records accepted.
    pub accepted: i64,
    /// Records rejected.
    pub rejected: i64,
    /// The whole-file rejection code, if any.
    pub code: Option<String>,
    /// Its reason.
    pub reason: Option<String>,
    /// Seconds the ingest took (parse, check, store, commit).
    pub seconds: f64,
}

/// Runs ingest against one database and data directory.
#[derive(Debug, Clone)]
pub struct Ingestor {
    store: Store,
    vault: Vault,
    config: Arc<IngestConfig>,
    outbox: Option<Arc<Notify>>,
    metrics: Option<Metrics>,
}

/// How long the worker sleeps when not woken.
const POLL: Duration = Duration::from_secs(5);

impl Ingestor {
    /// An ingestor; `outbox` is woken when outputs are queued for pushing.
    pub fn new(
        store: Store,
        vault: Vault,
        config: IngestConfig,
        outbox: Option<Arc<Notify>>,
    ) -> Ingestor {
        Ingestor {
            store,
            vault,
            config: Arc::new(config),
            outbox,
            metrics: None,
        }
    }

    /// Counts what this ingestor does in `metrics` (records by reason code, durations).
    pub fn with_metrics(mut self, metrics: Metrics) -> Ingestor {
        self.metrics = Some(metrics);
        self
    }

    /// Counts one ingested file's records and duration.
    async fn count(&self, r: &IngestReport) {
        let Some(m) = &self.metrics else { return };
        m.ingest_took(Duration::try_from_secs_f64(r.seconds).unwrap_or_default());
        m.records_ingested("accepted", u64::try_from(r.accepted).unwrap_or(0));
        match &r.code {
            Some(code) => m.records_ingested(code, u64::try_from(r.rejected).unwrap_or(0)),
            None if r.rejected > 0 => match self.store.rejection_counts(r.file_id).await {
                Ok(counts) => {
                    for (code, n) in counts {
                        m.records_ingested(&code, u64::try_from(n).unwrap_or(0));
                    }
                }
                Err(e) => tracing::warn!(error = %e, "metrics: rejection counts not read"),
            },
            None => {}
        }
    }

    /// The configuration.
    pub fn config(&self) -> &IngestConfig {
        &self.config
    }

    /// Ingests every `received` file once (oldest first), then deposits every pending output.
    /// A file that fails for a reason that is not its own stays `received` and is reported in
    /// the error list.
    pub async fn run_pending(&self) -> (Vec<IngestReport>, Vec<(i64, IngestError)>) {
        self.run_pending_until(&CancellationToken::new()).await
    }

    /// [`Ingestor::run_pending`], stopping before the next file once `stop` is cancelled
    /// (the file being ingested commits or rolls back first).
    async fn run_pending_until(
        &self,
        stop: &CancellationToken,
    ) -> (Vec<IngestReport>, Vec<(i64, IngestError)>) {
        let mut reports = Vec::new();
        let mut errors = Vec::new();
        let mut after = 0i64;
        loop {
            let queue = match self.store.files_with_status(FileStatus::Received, 64).await {
                Ok(q) => q,
                Err(e) => {
                    errors.push((0, e.into()));
                    break;
                }
            };
            let todo: Vec<FileRecord> = queue.into_iter().filter(|f| f.id > after).collect();
            if todo.is_empty() {
                break;
            }
            for f in todo {
                if stop.is_cancelled() {
                    return (reports, errors);
                }
                after = after.max(f.id);
                match self.ingest_file(f.id).await {
                    Ok(Some(r)) => {
                        self.count(&r).await;
                        reports.push(r)
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::error!(file_id = f.id, error = %e, "ingest failed; the file stays received");
                        errors.push((f.id, e));
                    }
                }
            }
        }
        if let Err(e) = self.deposit_pending_outputs().await {
            errors.push((0, e));
        }
        (reports, errors)
    }

    /// Deposits the outputs of every ingested file that has none yet.
    pub async fn deposit_pending_outputs(&self) -> Result<usize, IngestError> {
        let mut done = 0;
        loop {
            let pending = self.store.files_pending_outputs(64).await?;
            if pending.is_empty() {
                return Ok(done);
            }
            for id in pending {
                self.deposit_outputs(id).await?;
                done += 1;
            }
        }
    }

    /// The background worker of `hutong serve`: ingest what is received, deposit outputs,
    /// sleep until `wake` or the poll interval, until `stop` is cancelled (then it returns
    /// after the file in hand: its transaction commits or rolls back, never half-applies).
    pub async fn run(self, wake: Arc<Notify>, stop: CancellationToken) {
        while !stop.is_cancelled() {
            let (reports, errors) = self.run_pending_until(&stop).await;
            for r in &reports {
                tracing::info!(file_id = r.file_id, sender = %r.sender, status = %r.status.as_str(),
                    accepted = r.accepted, rejected = r.rejected, code = ?r.code, "ingested");
            }
            let busy = !reports.is_empty();
            if !errors.is_empty() || !busy {
                tokio::select! {
                    _ = tokio::time::timeout(POLL, wake.notified()) => {}
                    _ = stop.cancelled() => {}
                }
            }
        }
    }

    /// Ingests one file if it is `received` and no one else holds it; `None` otherwise.
    pub async fn ingest_file(&self, file_id: i64) -> Result<Option<IngestReport>, IngestError> {
        let started = Instant::now();
        let Some(file) = self.store.file(file_id).await? else {
            return Ok(None);
        };
        if file.status != FileStatus::Received || file.sender.is_none() {
            return Ok(None);
        }
        let sender = file.sender.clone().unwrap_or_default();
        let packages = PackageFormats::new(
            &self.config.hub.hub_code,
            self.store
                .participants()
                .await?
                .iter()
                .map(|p| (p.code.clone(), crate::outbound::package_format(p))),
        );
        let mut tx = self.store.begin().await?;
        if !claim_for_ingest(&mut tx, file_id).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        let base = Outcome::new(&file, &sender);

        // F05: the seal, checked while the upload streamed in.
        if let Some(check) = file.seal_check
            && check != crate::store::SealCheck::Valid
        {
            let why = match check {
                crate::store::SealCheck::Missing => {
                    "the sender has a seal key but the upload carried no Hutong-Seal header"
                }
                _ => {
                    "the Hutong-Seal header is not the SM4-CMAC of the body under the sender's seal key"
                }
            };
            let r = Rejection::new(Code::F05, Some("Hutong-Seal"), why);
            return self.reject_whole(tx, base, r, started).await.map(Some);
        }

        // F01: the format.
        let path = match self.vault.local(&file.stored_path).await {
            Ok(path) => path,
            Err(e) => {
                tx.rollback().await?;
                return Err(IngestError::Io(e.to_string()));
            }
        };
        let format = match detect(&path) {
            Ok(Ok(Detected::Data(f))) => f,
            Ok(Ok(Detected::Results)) => {
                // A partner's result file is reconciliation's to read (it moves the file out
                // of `received` in a transaction of its own).
                tx.rollback().await?;
                let outcome = crate::reconcile::ingest_results(
                    &self.store,
                    &self.vault,
                    file_id,
                    crate::store::Timestamp::now(),
                )
                .await
                .map_err(Box::new)?;
                tracing::info!(file_id, ?outcome, "result file stored for reconciliation");
                return Ok(None);
            }
            Ok(Err(r)) => return self.reject_whole(tx, base, r, started).await.map(Some),
            Err(e) => {
                tx.rollback().await?;
                return Err(e);
            }
        };
        let content = if format.is_blacklist() {
            Content::Blacklist
        } else {
            Content::Transactions
        };
        let base = Outcome {
            format: Some(format),
            content: Some(content),
            ..base
        };

        if content == Content::Blacklist {
            lock_blacklist(&mut tx).await?;
        }
        let (router, bad) = Router::from_rows(&load_routes(&mut tx).await?);
        for b in bad {
            tracing::warn!(route = %b, "a stored route does not parse; ignored");
        }
        let stored_blacklist = load_blacklist(&mut tx).await?;
        let mut index = BlacklistIndex::default();
        let mut order_base = 0;
        for e in &stored_blacklist {
            index.add(&e.entry, e.id, e.file_id);
            order_base = order_base.max(e.id);
        }
        let checker = Checker::new(
            &self.config.hub,
            file.received_at.datetime(),
            self.config.limits,
            router,
            self.config.keys.clone(),
            index,
            packages,
        );
        let job = Job {
            path,
            label: format!("file {} ({})", file.id, file.name),
            format,
            backend: tx.backend(),
            checker,
            sender: sender.clone(),
            file_id,
            order_base,
        };
        let (head_tx, head_rx) = oneshot::channel();
        let (batch_tx, mut batch_rx) = mpsc::channel(pipeline::IN_FLIGHT);
        let parser = tokio::task::spawn_blocking(move || pipeline::run(job, head_tx, batch_tx));

        let meta = match head_rx.await {
            Ok(Ok(meta)) => meta,
            other => {
                drop(batch_rx);
                let end = join(parser).await?;
                let failure = match other {
                    Ok(Err(f)) => f,
                    _ => end.outcome.err().unwrap_or(Failure::Internal(
                        "the parser ended without a header".into(),
                    )),
                };
                return self.fail(tx, base, failure, started).await;
            }
        };
        let base = Outcome {
            sender_seq: Some(i64::try_from(meta.seq).unwrap_or(i64::MAX)),
            ..base
        };
        // F03: the header's sender is the uploader.
        if meta.sender != sender {
            drop(batch_rx);
            let _ = join(parser).await;
            let r = Rejection::new(
                Code::F03,
                Some("sender"),
                format!(
                    "the file's header names the sender {:?} but it was uploaded with the \
                     certificate of {sender}",
                    meta.sender
                ),
            );
            return self.reject_whole(tx, base, r, started).await.map(Some);
        }
        // F04: the sequence number is unused (by an applied file of the same content).
        if let Some(seq) = base.sender_seq
            && let Some((other, name)) = seq_used_by(&mut tx, &sender, content, seq).await?
        {
            drop(batch_rx);
            let _ = join(parser).await;
            let r = Rejection::new(
                Code::F04,
                Some("seq"),
                format!(
                    "sequence number {seq} was already used by {sender} for file {other} \
                     ({name}) with different content"
                ),
            );
            return self.reject_whole(tx, base, r, started).await.map(Some);
        }

        let stored = store_batches(&mut tx, file_id, &mut batch_rx).await;
        drop(batch_rx);
        let end = join(parser).await?;
        let stored = match stored {
            Ok(s) => s,
            Err(e) => {
                tx.rollback().await?;
                return Err(e.into());
            }
        };
        if let Err(f) = end.outcome {
            let base = Outcome {
                records: i64::try_from(end.records).unwrap_or(i64::MAX),
                total_fen: end.total_fen,
                ..base
            };
            return self.fail(tx, base, f, started).await;
        }
        let accepted = i64::try_from(match content {
            Content::Transactions => stored.accepted,
            Content::Blacklist => stored.blacklist_entries,
        })
        .unwrap_or(i64::MAX);
        let rejected = i64::try_from(stored.rejected).unwrap_or(i64::MAX);
        let records = i64::try_from(end.records).unwrap_or(i64::MAX);
        if accepted + rejected != records {
            tx.rollback().await?;
            return Err(IngestError::Io(format!(
                "file {file_id}: {records} records read but {accepted} accepted and {rejected} \
                 rejected; nothing applied"
            )));
        }
        let status = if rejected == 0 {
            FileStatus::Accepted
        } else if accepted == 0 {
            FileStatus::Rejected
        } else {
            FileStatus::PartiallyAccepted
        };
        let result = FileResult {
            status,
            records,
            accepted,
            rejected,
            total_fen: end.total_fen,
            accepted_fen: stored.accepted_fen,
            ..base.result(file_id)
        };
        insert_file_result(&mut tx, &result).await?;
        if !set_file_status(&mut tx, file_id, FileStatus::Received, status).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(report(&file, &result, started)))
    }

    async fn fail(
        &self,
        tx: Tx,
        base: Outcome,
        failure: Failure,
        started: Instant,
    ) -> Result<Option<IngestReport>, IngestError> {
        match failure {
            Failure::Reject(r) => self.reject_whole(tx, base, r, started).await.map(Some),
            Failure::Internal(m) => {
                tx.rollback().await?;
                Err(IngestError::Io(m))
            }
            Failure::Abandoned => {
                tx.rollback().await?;
                Err(IngestError::Io("the parser stopped early".into()))
            }
        }
    }

    /// Rejects the file whole: everything it staged is rolled back, and only its outcome and
    /// final status are recorded, in a transaction of their own.
    async fn reject_whole(
        &self,
        tx: Tx,
        base: Outcome,
        r: Rejection,
        started: Instant,
    ) -> Result<IngestReport, IngestError> {
        tx.rollback().await?;
        let file_id = base.file_id;
        let mut tx = self.store.begin().await?;
        if !claim_for_ingest(&mut tx, file_id).await? {
            tx.rollback().await?;
            return Err(IngestError::Io(format!(
                "file {file_id} was taken by another worker"
            )));
        }
        let result = FileResult {
            status: FileStatus::Rejected,
            rejected: base.records,
            code: Some(r.code.as_str().to_string()),
            field: r.field.clone(),
            reason: Some(r.reason.clone()),
            record_no: r.record.and_then(|n| i64::try_from(n).ok()),
            ..base.result(file_id)
        };
        insert_file_result(&mut tx, &result).await?;
        set_file_status(&mut tx, file_id, FileStatus::Received, FileStatus::Rejected).await?;
        tx.commit().await?;
        let file = self
            .store
            .file(file_id)
            .await?
            .ok_or_else(|| IngestError::Io(format!("file {file_id} vanished")))?;
        Ok(report(&file, &result, started))
    }

    /// Writes and deposits the outputs of one ingested file (see the module documentation).
    pub async fn deposit_outputs(&self, file_id: i64) -> Result<(), IngestError> {
        outputs::deposit_outputs(
            &self.store,
            &self.vault,
            &self.config.hub,
            file_id,
            self.outbox.as_deref(),
        )
        .await
    }
}

async fn join(parser: tokio::task::JoinHandle<End>) -> Result<End, IngestError> {
    parser
        .await
        .map_err(|e| IngestError::Io(format!("the parser thread failed: {e}")))
}

/// Names a stored file's format from its first bytes: `Ok(Err)` is `F01`.
/// What a stored file is, by its first bytes.
enum Detected {
    /// A transaction or blacklist file of this format: ingest's.
    Data(Format),
    /// A partner's result file: reconciliation's.
    Results,
}

fn detect(path: &std::path::Path) -> Result<Result<Detected, Rejection>, IngestError> {
    let f = std::fs::File::open(path)
        .map_err(|e| IngestError::Io(format!("{}: {e}", path.display())))?;
    let head =
        adapters::read_head(f).map_err(|e| IngestError::Io(format!("{}: {e}", path.display())))?;
    match adapters::identify(&head) {
        Ok(f) if f.kind() == adapters::FileKind::Result => Ok(Ok(Detected::Results)),
        Ok(f) => Ok(Ok(Detected::Data(f))),
        Err(e) => Ok(Err(Rejection::new(
            Code::F01,
            Some("format"),
            format!(
                "{e}: expected hutong-xml, local-csv, mohurd, mot, pboc or one of their blacklist formats"
            ),
        ))),
    }
}

/// What is known of a file's outcome as ingest goes.
#[derive(Debug, Clone)]
struct Outcome {
    file_id: i64,
    sender: String,
    format: Option<Format>,
    content: Option<Content>,
    sender_seq: Option<i64>,
    records: i64,
    total_fen: i64,
}

impl Outcome {
    fn new(file: &FileRecord, sender: &str) -> Outcome {
        Outcome {
            file_id: file.id,
            sender: sender.to_string(),
            format: None,
            content: None,
            sender_seq: None,
            records: 0,
            total_fen: 0,
        }
    }

    fn result(&self, file_id: i64) -> FileResult {
        FileResult {
            file_id,
            sender: self.sender.clone(),
            content: self.content,
            format: self.format.map(|f| f.as_str().to_string()),
            sender_seq: self.sender_seq,
            status: FileStatus::Rejected,
            records: self.records,
            accepted: 0,
            rejected: 0,
            total_fen: self.total_fen,
            accepted_fen: 0,
            code: None,
            field: None,
            reason: None,
            record_no: None,
            ingested_at: Timestamp::now(),
            outputs_at: None,
            result_file_id: None,
        }
    }
}

#[allow(clippy::float_arithmetic)] // a duration for people to read
fn report(file: &FileRecord, r: &FileResult, started: Instant) -> IngestReport {
    IngestReport {
        file_id: file.id,
        name: file.name.clone(),
        sender: r.sender.clone(),
        format: r.format.clone(),
        status: r.status,
        records: r.records,
        accepted: r.accepted,
        rejected: r.rejected,
        code: r.code.clone(),
        reason: r.reason.clone(),
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// Where a file's contents are, for callers that have only a data directory.
pub fn vault_path(vault: &Vault, file: &FileRecord) -> PathBuf {
    vault.path_of(&file.stored_path)
}
