//! Turning errors into HTTP answers: client errors keep their status and say what was wrong;
//! internal errors answer a generic text and are logged, never leaking SQL, paths or keys.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::StoreError;
use crate::vault::VaultError;

/// A note for the audit log, attached to a response as an extension by handlers and errors;
/// the audit middleware stores it as the entry's detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditNote(pub String);

/// What a handler can answer instead of success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request itself is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// 403: the caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such thing.
    #[error("{0}")]
    NotFound(String),
    /// 413: the body is larger than the configured limit.
    #[error("the file is larger than the limit of {0} bytes")]
    PayloadTooLarge(u64),
    /// 500: our fault; the detail is logged, not sent.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let note = match &self {
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error answering a request");
                detail.clone()
            }
            other => other.to_string(),
        };
        let mut response = (status, Json(json!({ "error": self.to_string() }))).into_response();
        response.extensions_mut().insert(AuditNote(note));
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        ApiError::Internal(e.to_string())
    }
}

impl From<VaultError> for ApiError {
    fn from(e: VaultError) -> ApiError {
        match e {
            VaultError::TooLarge { limit } => ApiError::PayloadTooLarge(limit),
            VaultError::Body(detail) => ApiError::BadRequest(format!("reading the body: {detail}")),
            other @ (VaultError::Io { .. } | VaultError::Shared(_) | VaultError::Digest { .. }) => {
                ApiError::Internal(other.to_string())
            }
        }
    }
}
