//! The operations listener: plain HTTP, no client certificate, bound to 127.0.0.1 by default
//! (`--ops-listen`), for load balancers and Prometheus rather than participants.
//!
//! | route | answers |
//! |---|---|
//! | `GET /healthz` | 200 while the process runs (liveness) |
//! | `GET /readyz` | 200 when the database answers, its migrations are this binary's and the PKI can serve; 503 naming what is not |
//! | `GET /metrics` | every metric of [`crate::metrics`], the state ones read from the database and PKI first |
//!
//! While the hub shuts down, `/readyz` answers 503 (`shutting down`) so a load balancer stops
//! sending new uploads before the API listener closes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::metrics::{CertLabels, DayLabels, Metrics, ReplicaLabels, StateLabels};
use crate::store::{Store, Timestamp};

/// How many closed days `hutong_window_closed` lists.
const CLOSED_DAYS_SHOWN: i64 = 7;

/// What the operations routes read.
#[derive(Debug, Clone)]
pub struct OpsState {
    /// The shared database.
    pub store: Store,
    /// This process's metrics.
    pub metrics: Metrics,
    /// The PKI directory the API serves from.
    pub pki: PathBuf,
    /// Who this replica is.
    pub replica: ReplicaLabels,
    /// Set when shutdown has begun: `/readyz` answers 503 from then on.
    pub draining: Arc<AtomicBool>,
}

/// The running operations listener.
#[derive(Debug)]
pub struct RunningOps {
    /// Where it listens.
    pub local_addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl RunningOps {
    /// Stops the listener and waits for it.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// Serves the operations routes on `listener` until stopped.
pub fn spawn(listener: TcpListener, state: OpsState) -> std::io::Result<RunningOps> {
    let local_addr = listener.local_addr()?;
    state
        .metrics
        .state()
        .replica
        .get_or_create(&state.replica)
        .set(1);
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state);
    let stop = CancellationToken::new();
    let signal = stop.clone();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move { signal.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the operations listener failed");
        }
    });
    Ok(RunningOps {
        local_addr,
        stop,
        task,
    })
}

async fn healthz(State(state): State<OpsState>) -> Response {
    Json(json!({ "status": "up", "replica": state.replica.replica })).into_response()
}

/// One readiness check's outcome.
fn check(ok: bool, detail: String) -> serde_json::Value {
    json!({ "ok": ok, "detail": detail })
}

async fn readyz(State(state): State<OpsState>) -> Response {
    let (db_ok, database, migrations) = match state.store.schema_readiness().await {
        Ok(Ok(version)) => (
            true,
            check(true, format!("{} answers", state.store.backend().as_str())),
            check(true, format!("schema {version}")),
        ),
        Ok(Err(why)) => (
            false,
            check(true, format!("{} answers", state.store.backend().as_str())),
            check(false, why),
        ),
        Err(e) => (
            false,
            check(false, e.to_string()),
            check(false, "not checked: no database".into()),
        ),
    };
    let (pki_ok, pki_detail) = pki_readiness(&state.pki);
    let draining = state.draining.load(Ordering::SeqCst);
    let ready = db_ok && pki_ok && !draining;
    let body = json!({
        "ready": ready,
        "replica": state.replica.replica,
        "checks": {
            "database": database,
            "migrations": migrations,
            "pki": check(pki_ok, pki_detail),
            "accepting": check(!draining, if draining { "shutting down".into() } else { "yes".into() }),
        },
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// The PKI can serve: the CA, CRL and a valid server certificate are there.
fn pki_readiness(dir: &std::path::Path) -> (bool, String) {
    let pki = match certs::Pki::open(dir) {
        Ok(p) => p,
        Err(e) => return (false, e.to_string()),
    };
    for (what, path) in [
        ("CA certificate", pki.ca_cert_path()),
        ("CRL", pki.crl_path()),
        ("server certificate", pki.server_cert_path()),
        ("server key", pki.server_key_path()),
    ] {
        if !path.exists() {
            return (false, format!("no {what} at {}", path.display()));
        }
    }
    let now = certs::time::OffsetDateTime::now_utc();
    let server = pki.list().ok().and_then(|list| {
        list.into_iter()
            .filter(|r| r.kind == certs::CertKind::Server)
            .filter(|r| r.state(now) == certs::CertState::Valid)
            .max_by_key(|r| r.not_after)
    });
    match server {
        Some(r) => (true, format!("server certificate {} valid", r.serial)),
        None => (false, "no valid server certificate in the PKI index".into()),
    }
}

async fn metrics(State(state): State<OpsState>) -> Response {
    if let Err(e) = refresh(&state).await {
        tracing::warn!(error = %e, "metrics: the database did not answer; state gauges are stale");
    }
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state.metrics.render(),
    )
        .into_response()
}

/// Sets the state gauges from the database and the PKI.
async fn refresh(state: &OpsState) -> Result<(), crate::store::StoreError> {
    let gauges = state.metrics.state();
    let now = Timestamp::now();
    let q = state.store.queue_status(now).await?;
    gauges.queue_files.set(q.files_waiting);
    let age = q
        .oldest_waiting_at
        .map(|t| (now.datetime() - t.datetime()).num_seconds().max(0))
        .unwrap_or(0);
    gauges.queue_oldest_seconds.set(age);
    gauges.open_window_files.set(q.open_window_files);
    gauges.last_closed_at.set(
        q.last_closed
            .as_ref()
            .map(|w| w.closed_at.datetime().timestamp())
            .unwrap_or(0),
    );
    for (s, v) in [
        ("due", q.deliveries_due),
        ("retrying", q.deliveries_retrying),
        ("failed", q.deliveries_failed),
    ] {
        gauges
            .deliveries
            .get_or_create(&StateLabels { state: s.into() })
            .set(v);
    }
    gauges.window_closed.clear();
    for day in state.store.closed_days(CLOSED_DAYS_SHOWN).await? {
        let day = day.to_string();
        gauges
            .window_closed
            .get_or_create(&DayLabels { day })
            .set(1);
    }
    gauges.certificate_days.clear();
    if let Ok(list) = certs::Pki::open(&state.pki).and_then(|p| p.list()) {
        let now = certs::time::OffsetDateTime::now_utc();
        for r in list
            .into_iter()
            .filter(|r| r.state(now) == certs::CertState::Valid)
        {
            let labels = CertLabels {
                kind: r.kind.as_str().into(),
                participant: r.participant.clone().unwrap_or_default(),
                serial: r.serial.clone(),
            };
            gauges
                .certificate_days
                .get_or_create(&labels)
                .set((r.not_after - now).whole_days());
        }
    }
    Ok(())
}
