//! `/v1/disputes` and `/v1/discrepancies`: partners take part in dispute cases over mutual TLS —
//! list their cases, read one with its history and evidence, add evidence (upload a file),
//! accept, contest, propose, escalate — and list the discrepancies that involve them. A case
//! of other participants is 403; every request is audited by the router's middleware, every
//! case action also by the action itself.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Extension, State};

use super::extract::{self, Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::NaiveDate;
use http_body_util::BodyExt;
use reconciliation::dispute::{Action, DeadlineTable};
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiError, AuditNote};
use super::{AppState, Authed};
use crate::disputes::{self, Actor, CaseError};
use crate::store::Timestamp;
use crate::store::disputes::StoredCase;
use crate::store::reconcile::DiscrepancyFilter;
use crate::wire::validate_name;

/// The dispute deadlines the API's actions use; `hutong serve` adds it to the router as an
/// extension (the defaults when absent).
#[derive(Debug, Clone, Default)]
pub struct DisputeConfig(pub Arc<DeadlineTable>);

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/disputes", get(disputes_list))
        .route("/v1/disputes/{id}", get(disputes_show))
        .route("/v1/disputes/{id}/actions", post(disputes_act))
        .route("/v1/disputes/{id}/evidence/{name}", put(disputes_evidence))
        .route(
            "/v1/disputes/{id}/evidence-files/{seq}",
            get(disputes_evidence_download),
        )
        .route("/v1/discrepancies", get(discrepancies_list))
}

/// Errors of case actions: a refused transition is 409 with the reason.
enum CaseApiError {
    Api(ApiError),
    Conflict(String),
}

impl From<ApiError> for CaseApiError {
    fn from(e: ApiError) -> Self {
        CaseApiError::Api(e)
    }
}

impl From<CaseError> for CaseApiError {
    fn from(e: CaseError) -> Self {
        match e {
            CaseError::NotFound(id) => {
                CaseApiError::Api(ApiError::NotFound(format!("no dispute case {id}")))
            }
            CaseError::Forbidden(m) => CaseApiError::Api(ApiError::Forbidden(m)),
            CaseError::Refused(r) => CaseApiError::Conflict(r.to_string()),
            CaseError::Store(s) => CaseApiError::Api(s.into()),
        }
    }
}

impl IntoResponse for CaseApiError {
    fn into_response(self) -> Response {
        match self {
            CaseApiError::Api(e) => e.into_response(),
            CaseApiError::Conflict(m) => {
                let mut r = (StatusCode::CONFLICT, Json(json!({ "error": m }))).into_response();
                r.extensions_mut().insert(AuditNote(m));
                r
            }
        }
    }
}

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::NotFound(format!("no dispute case {id}")))
}

async fn own_case(state: &AppState, code: &str, id: i64) -> Result<StoredCase, ApiError> {
    let case = state
        .store
        .case(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no dispute case {id}")))?;
    if case.case.role_of(code).is_none() {
        return Err(ApiError::Forbidden(format!(
            "dispute case {id} is between other participants"
        )));
    }
    Ok(case)
}

/// `GET /v1/disputes`: the caller's cases (claimant or respondent), with their history.
async fn disputes_list(
    State(state): State<AppState>,
    Authed(who): Authed,
) -> Result<Json<Vec<StoredCase>>, ApiError> {
    let cases = state
        .store
        .cases(&crate::store::disputes::CaseFilter {
            participant: Some(who.code.clone()),
            ..Default::default()
        })
        .await?;
    Ok(Json(cases))
}

/// `GET /v1/disputes/{id}`: one of the caller's cases.
async fn disputes_show(
    State(state): State<AppState>,
    Authed(who): Authed,
    Path(id): Path<String>,
) -> Result<Json<StoredCase>, ApiError> {
    Ok(Json(own_case(&state, &who.code, parse_id(&id)?).await?))
}

/// `POST /v1/disputes/{id}/actions` with `{"action": "accept" | "contest" | "escalate" |
/// "request_evidence" | "withdraw"}` or `{"action": "propose", "payer", "payee",
/// "amount_fen"}`: 200 with the case afterwards; 409 when the case's stage or the caller's
/// role does not allow it.
async fn disputes_act(
    State(state): State<AppState>,
    Authed(who): Authed,
    config: Option<Extension<DisputeConfig>>,
    Path(id): Path<String>,
    extract::Json(action): extract::Json<Action>,
) -> Result<Response, CaseApiError> {
    let id = parse_id(&id)?;
    own_case(&state, &who.code, id).await?;
    if matches!(action, Action::AddEvidence { .. } | Action::Arbitrate(_)) {
        return Err(ApiError::BadRequest(
            "evidence is uploaded with PUT /v1/disputes/{id}/evidence/{name}; arbitration is the hub operator's"
                .into(),
        )
        .into());
    }
    let deadlines = config.map(|c| c.0.0.clone()).unwrap_or_default();
    let name = action.name();
    let case = disputes::act(
        &state.store,
        &deadlines,
        id,
        &Actor::Participant(who.code.clone()),
        action,
        None,
        Timestamp::now(),
    )
    .await?;
    let mut r = Json(&case).into_response();
    r.extensions_mut().insert(AuditNote(format!(
        "{name} on case {id}: stage {}",
        case.case.stage
    )));
    Ok(r)
}

/// `PUT /v1/disputes/{id}/evidence/{name}` (raw body): stores the file in the vault with its
/// SHA-256 and adds it to the case's evidence; 201 with the case.
async fn disputes_evidence(
    State(state): State<AppState>,
    Authed(who): Authed,
    config: Option<Extension<DisputeConfig>>,
    Path((id, name)): Path<(String, String)>,
    body: Body,
) -> Result<Response, CaseApiError> {
    let id = parse_id(&id)?;
    validate_name(&name).map_err(ApiError::BadRequest)?;
    own_case(&state, &who.code, id).await?;
    let limit = state.max_file_bytes;
    let mut writer = state.vault.stage().await.map_err(ApiError::from)?;
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                writer.abort().await;
                return Err(ApiError::BadRequest(format!("reading the body: {e}")).into());
            }
        };
        if let Ok(data) = frame.into_data() {
            writer
                .write_bytes(data, limit)
                .await
                .map_err(ApiError::from)?;
        }
    }
    let staged = writer.finish().await.map_err(ApiError::from)?;
    let (file, sha256) = disputes::store_evidence(&state.vault, staged)
        .await
        .map_err(ApiError::from)?;
    let deadlines = config.map(|c| c.0.0.clone()).unwrap_or_default();
    let case = disputes::act(
        &state.store,
        &deadlines,
        id,
        &Actor::Participant(who.code.clone()),
        Action::AddEvidence {
            name: name.clone(),
            sha256: sha256.clone(),
        },
        Some(file),
        Timestamp::now(),
    )
    .await?;
    let mut r = (StatusCode::CREATED, Json(&case)).into_response();
    r.extensions_mut().insert(AuditNote(format!(
        "evidence {name} (sha256 {sha256}) on case {id}"
    )));
    Ok(r)
}

/// `GET /v1/disputes/{id}/evidence-files/{seq}`: an evidence file of one of the caller's cases
/// (1-based, in the order added).
async fn disputes_evidence_download(
    State(state): State<AppState>,
    Authed(who): Authed,
    Path((id, seq)): Path<(String, usize)>,
) -> Result<Response, ApiError> {
    let case = own_case(&state, &who.code, parse_id(&id)?).await?;
    let (Some(e), Some((path, _))) = (
        seq.checked_sub(1).and_then(|i| case.case.evidence.get(i)),
        seq.checked_sub(1).and_then(|i| case.evidence_files.get(i)),
    ) else {
        return Err(ApiError::NotFound(format!(
            "no evidence {seq} on case {id}"
        )));
    };
    let bytes = tokio::fs::read(state.vault.local(path).await?)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut r = bytes.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&e.sha256) {
        r.headers_mut().insert("x-hutong-sha256", v);
    }
    Ok(r)
}

#[derive(Debug, Deserialize)]
struct DiscrepancyQuery {
    day: Option<String>,
}

/// `GET /v1/discrepancies?day=YYYY-MM-DD`: the discrepancies that involve the caller.
async fn discrepancies_list(
    State(state): State<AppState>,
    Authed(who): Authed,
    Query(q): Query<DiscrepancyQuery>,
) -> Result<Json<Vec<crate::store::reconcile::Discrepancy>>, ApiError> {
    let day = q
        .day
        .map(|d| {
            NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                .map_err(|_| ApiError::BadRequest(format!("{d:?} is not a day YYYY-MM-DD")))
        })
        .transpose()?;
    let items = state
        .store
        .discrepancies(&DiscrepancyFilter {
            day,
            participant: Some(who.code.clone()),
            ..DiscrepancyFilter::default()
        })
        .await?;
    Ok(Json(items))
}
