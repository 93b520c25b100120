//! Outbound files: depositing a file for a participant, and pushing it to the participant's
//! endpoint when it has one.
//!
//! [`deposit_outbound`] stores the content, records the file (`out`, status `ready`) and, in
//! the same transaction, queues one delivery per (file, destination) in the outbox table. The
//! [`Deliverer`] claims due deliveries, `PUT`s the file to `ENDPOINT/v1/files/NAME` over mutual
//! TLS through the same [`HubClient`] partners use (the hub's client certificate, trusting the
//! partner's CA), and
//! records the partner's receipt; a failure is retried with exponential backoff until the last
//! attempt. See `crate::store` (deliveries) for why this pushes each file to each destination
//! at most once, restarts included.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::client::{ClientError, HubClient};
use crate::metrics::Metrics;
use crate::store::{
    Delivery, Direction, FileRecord, FileStatus, NewFile, Store, StoreError, Timestamp,
    enqueue_delivery, insert_file, set_file_seal,
};
use crate::vault::{Vault, VaultError};
use crate::wire::validate_name;

/// Errors of depositing an outbound file.
#[derive(Debug, thiserror::Error)]
pub enum DepositError {
    /// The name is not acceptable.
    #[error("{0}")]
    BadName(String),
    /// No such participant.
    #[error("participant {0} is not registered")]
    UnknownParticipant(String),
    /// Storing the content failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// Recording it failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Stores `source` as a file addressed to `addressee` under `name`, and queues its push when the
/// addressee has an endpoint. Depositing the same content for the same addressee again returns
/// the first record (`false`) and queues nothing new.
pub async fn deposit_outbound(
    store: &Store,
    vault: &Vault,
    addressee: &str,
    name: &str,
    source: &Path,
    outbox: Option<&Notify>,
) -> Result<(FileRecord, bool), DepositError> {
    validate_name(name).map_err(DepositError::BadName)?;
    if store.participant(addressee).await?.is_none() {
        return Err(DepositError::UnknownParticipant(addressee.to_string()));
    }
    let seal_key = store.seal_key(addressee).await?;
    let staged = vault.stage_file_sealed(source, seal_key.as_ref()).await?;
    deposit_staged(
        store,
        vault,
        addressee,
        name,
        staged,
        seal_key.as_ref(),
        outbox,
    )
    .await
}

/// Deposits content already in the vault's staging area (written there by the hub, e.g. a
/// result file, with its digest and — under `seal_key`, the addressee's current key — its
/// seal), without copying it again. Otherwise as [`deposit_outbound`].
pub async fn deposit_staged(
    store: &Store,
    vault: &Vault,
    addressee: &str,
    name: &str,
    staged: crate::vault::Staged,
    seal_key: Option<&crate::seal::SealKey>,
    outbox: Option<&Notify>,
) -> Result<(FileRecord, bool), DepositError> {
    if let Err(e) = validate_name(name) {
        vault.discard(staged).await;
        return Err(DepositError::BadName(e));
    }
    let Some(participant) = store.participant(addressee).await? else {
        vault.discard(staged).await;
        return Err(DepositError::UnknownParticipant(addressee.to_string()));
    };
    let seal = staged.seal.clone();
    let sha256 = staged.sha256.clone();
    let bytes = i64::try_from(staged.bytes).unwrap_or(i64::MAX);
    let stored_path = vault.commit(staged, Direction::Out, addressee).await?;
    let mut tx = store.begin().await?;
    let (record, new) = insert_file(
        &mut tx,
        &NewFile {
            direction: Direction::Out,
            sender: None,
            addressee: Some(addressee.to_string()),
            name: name.to_string(),
            sha256,
            bytes,
            status: FileStatus::Ready,
            stored_path,
        },
    )
    .await?;
    if new && let (Some(seal), Some(key)) = (&seal, seal_key) {
        set_file_seal(
            &mut tx,
            record.id,
            Some(seal),
            None,
            Some(&key.check_value()),
        )
        .await?;
    }
    if let Some(endpoint) = &participant.endpoint {
        enqueue_delivery(&mut tx, record.id, addressee, endpoint).await?;
    }
    tx.commit().await?;
    if let Some(outbox) = outbox {
        outbox.notify_one();
    }
    Ok((record, new))
}

/// How deliveries are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// Delay after the first failure; doubled after each further one.
    pub base_delay: Duration,
    /// The longest delay between attempts.
    pub max_delay: Duration,
    /// Attempts before a delivery is marked failed.
    pub max_attempts: u32,
    /// How long a claimed delivery may take before another worker may retry it.
    pub lease: Duration,
    /// How often to look for due deliveries when not woken.
    pub poll: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> DeliveryConfig {
        DeliveryConfig {
            base_delay: Duration::from_secs(5),
            max_delay: Duration::from_secs(3600),
            max_attempts: 15,
            lease: Duration::from_secs(3600),
            poll: Duration::from_secs(5),
        }
    }
}

impl DeliveryConfig {
    /// The delay after failed attempt number `attempt` (1-based): `base · 2^(attempt-1)`,
    /// capped at `max_delay`.
    pub fn backoff(&self, attempt: i64) -> Duration {
        let exponent = u32::try_from(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX)
            .min(30);
        self.base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay)
    }
}

/// The hub's own TLS material for pushes: its client certificate and key (by default the
/// server certificate, which also allows client authentication) and the CA used for partners
/// registered without one of their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubTls {
    /// Client certificate, PEM file.
    pub cert: PathBuf,
    /// Its key, PEM file.
    pub key: PathBuf,
    /// Default CA for partner endpoints.
    pub ca: PathBuf,
}

/// The delivery worker.
#[derive(Debug, Clone)]
pub struct Deliverer {
    store: Store,
    vault: Vault,
    config: DeliveryConfig,
    hub_tls: HubTls,
    wake: Arc<Notify>,
    metrics: Option<Metrics>,
}

impl Deliverer {
    /// A worker; `wake` is notified when deliveries are queued.
    pub fn new(
        store: Store,
        vault: Vault,
        config: DeliveryConfig,
        hub_tls: HubTls,
        wake: Arc<Notify>,
    ) -> Deliverer {
        Deliverer {
            store,
            vault,
            config,
            hub_tls,
            wake,
            metrics: None,
        }
    }

    /// Counts failed attempts in `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Deliverer {
        self.metrics = Some(metrics);
        self
    }

    /// Runs until `stop` is cancelled: push what is due, then sleep until woken or the poll
    /// interval passes. A push in progress when `stop` comes is finished and recorded first,
    /// so a partner never receives a file the hub does not know it sent.
    pub async fn run(self, stop: CancellationToken) {
        while !stop.is_cancelled() {
            match self.run_once_until(&stop).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "delivery worker"),
            }
            tokio::select! {
                _ = tokio::time::timeout(self.config.poll, self.wake.notified()) => {}
                _ = stop.cancelled() => {}
            }
        }
    }

    /// Claims and pushes every delivery due now (up to 16), returns how many it handled.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        self.run_once_until(&CancellationToken::new()).await
    }

    /// [`Deliverer::run_once`], leaving the rest of the claimed batch (its lease expires and
    /// it is pushed later) once `stop` is cancelled.
    async fn run_once_until(&self, stop: &CancellationToken) -> Result<usize, StoreError> {
        let claimed = self
            .store
            .claim_due_deliveries(Timestamp::now(), self.config.lease, 16)
            .await?;
        for delivery in &claimed {
            if stop.is_cancelled() {
                break;
            }
            match self.push(delivery).await {
                Ok(receipt) => {
                    tracing::info!(file_id = delivery.file_id, destination = %delivery.destination, "delivered");
                    self.store
                        .mark_delivered(delivery.id, delivery.attempts, &receipt)
                        .await?;
                }
                Err(error) => {
                    if let Some(m) = &self.metrics {
                        m.delivery_failed(&delivery.destination);
                    }
                    let retry_at = (delivery.attempts < i64::from(self.config.max_attempts))
                        .then(|| Timestamp::now().plus(self.config.backoff(delivery.attempts)));
                    tracing::warn!(file_id = delivery.file_id, destination = %delivery.destination,
                        attempt = delivery.attempts, %error, retry = retry_at.is_some(), "delivery failed");
                    self.store
                        .mark_attempt_failed(delivery.id, delivery.attempts, &error, retry_at)
                        .await?;
                }
            }
        }
        Ok(claimed.len())
    }

    async fn push(&self, delivery: &Delivery) -> Result<String, String> {
        let file = self
            .store
            .file(delivery.file_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("file {} is gone", delivery.file_id))?;
        let partner = self
            .store
            .participant(&delivery.destination)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("participant {} is gone", delivery.destination))?;
        let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
        let ca = match &partner.endpoint_ca_pem {
            Some(pem) => pem.as_bytes().to_vec(),
            None => read(&self.hub_tls.ca)?,
        };
        let (cert, key) = match (&partner.endpoint_cert_path, &partner.endpoint_key_path) {
            (Some(c), Some(k)) => (read(Path::new(c))?, read(Path::new(k))?),
            _ => (read(&self.hub_tls.cert)?, read(&self.hub_tls.key)?),
        };
        let client = HubClient::new(&delivery.endpoint, &cert, &key, &ca)
            .map_err(|e| format!("endpoint {}: {e}", delivery.endpoint))?;
        let seal = seal_for(&self.store, &self.vault, &file, &delivery.destination)
            .await
            .map_err(|e| e.to_string())?;
        let path = self
            .vault
            .local(&file.stored_path)
            .await
            .map_err(|e| e.to_string())?;
        let uploaded = client
            .upload_as(&path, &file.name, seal.as_deref())
            .await
            .map_err(|e| match e {
                ClientError::Http { status, message } => format!(
                    "HTTP {status}: {}",
                    message.chars().take(300).collect::<String>()
                ),
                other => other.to_string(),
            })?;
        let receipt = uploaded.receipt;
        if receipt.sha256 != file.sha256 {
            return Err(format!(
                "the partner's receipt has digest {} but the file is {}",
                receipt.sha256, file.sha256
            ));
        }
        serde_json::to_string(&receipt).map_err(|e| e.to_string())
    }
}

/// Why the seal of a file could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// Reading the participant's key.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading the file to seal it.
    #[error("sealing {path}: {reason}")]
    Read {
        /// The stored file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The `Hutong-Seal` of `file` for `participant` (sent with a download and with a push):
/// `None` when the participant has no seal key; the seal made at deposit when it was made
/// with the participant's current key; else computed now (reading the file once).
pub async fn seal_for(
    store: &Store,
    vault: &Vault,
    file: &FileRecord,
    participant: &str,
) -> Result<Option<String>, SealError> {
    let Some(key) = store.seal_key(participant).await? else {
        return Ok(None);
    };
    if file.direction == Direction::Out
        && let (Some(seal), Some(kcv)) = (&file.seal, &file.seal_kcv)
        && *kcv == key.check_value()
    {
        return Ok(Some(seal.clone()));
    }
    let path = vault
        .local(&file.stored_path)
        .await
        .map_err(|e| SealError::Read {
            path: vault.path_of(&file.stored_path),
            reason: e.to_string(),
        })?;
    let failed = |path: &Path, reason: String| SealError::Read {
        path: path.to_path_buf(),
        reason,
    };
    let p = path.clone();
    tokio::task::spawn_blocking(move || crate::seal::seal_file(&key, &p))
        .await
        .map_err(|e| failed(&path, e.to_string()))?
        .map(Some)
        .map_err(|e| failed(&path, e.to_string()))
}
