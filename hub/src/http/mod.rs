//! The HTTP API, one module per resource, merged by [`app`]. Every request arrives over mutual
//! TLS; the server (`crate::server`) attaches the caller's [`Caller`] identity, read from its
//! certificate, to each request, and every request is written to the audit log with its
//! outcome.

mod disputes;
pub mod error;
mod extract;
mod files;
mod openapi;
mod settlements;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::middleware::{self, Next};
use axum::response::Response;
use tokio::sync::Notify;

use crate::store::{NewAuditEntry, Participant, Store};
use crate::vault::Vault;
use error::{ApiError, AuditNote};

pub use disputes::DisputeConfig;

pub use crate::server::{Caller, CallerRevoked, PeerAddr};

/// What handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// File contents on disk.
    pub vault: Vault,
    /// The largest upload accepted, in bytes.
    pub max_file_bytes: u64,
    /// Woken when deliveries are queued, so the delivery worker starts at once.
    pub outbox: Arc<Notify>,
    /// Woken when a file is stored, so the ingest worker starts at once.
    pub ingest: Arc<Notify>,
    /// The hub's code and local time (statements are stamped in it).
    pub hub: Arc<crate::settings::HubSettings>,
    /// This replica's metrics (uploads are counted by the audit layer).
    pub metrics: crate::metrics::Metrics,
}

/// The router: every resource, with request auditing around them.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(files::router())
        .merge(openapi::router())
        .merge(settlements::router())
        .merge(disputes::router())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            audit_requests,
        ))
        .with_state(state)
}

/// The registered participant behind the caller's certificate. A certificate of the hub CA
/// whose participant is not (or no longer) registered is refused with 403.
#[derive(Debug, Clone)]
pub struct Authed(pub Participant);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = parts.extensions.get::<Caller>().ok_or_else(|| {
            ApiError::Forbidden("the client certificate names no hutong participant".into())
        })?;
        let code = caller.0.participant.as_str();
        if parts.extensions.get::<CallerRevoked>().is_some() {
            return Err(ApiError::Forbidden(format!(
                "certificate {} of {code} has been revoked",
                caller.0.serial
            )));
        }
        match state.store.participant(code).await? {
            Some(p) => Ok(Authed(p)),
            None => Err(ApiError::Forbidden(format!(
                "participant {code} is not registered at this hub"
            ))),
        }
    }
}

/// Writes one audit entry per request: participant, method and route, path, status, and the
/// handler's note. A failure to audit is logged; the answer is not changed.
async fn audit_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let participant = req
        .extensions()
        .get::<Caller>()
        .map(|c| c.0.participant.to_string());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "(no route)".to_string());
    let action = format!("{} {route}", req.method());
    let target = req.uri().to_string();
    let peer = req.extensions().get::<PeerAddr>().map(|p| p.0);
    let response = next.run(req).await;
    let mut detail = response
        .extensions()
        .get::<AuditNote>()
        .map(|n| n.0.clone());
    if let Some(peer) = peer {
        let from = format!("from {peer}");
        detail = Some(match detail {
            Some(d) => format!("{d}; {from}"),
            None => from,
        });
    }
    let status = response.status().as_u16();
    if route == "/v1/files/{name}" && action.starts_with("PUT ") {
        state.metrics.file_received(participant.as_deref(), status);
    }
    let result = status.to_string();
    let entry = NewAuditEntry {
        participant: participant.as_deref(),
        action: &action,
        target: Some(&target),
        result: &result,
        detail: detail.as_deref(),
    };
    if let Err(e) = state.store.audit(&entry).await {
        tracing::error!(error = %e, %action, %target, "could not write the audit log");
    }
    response
}
