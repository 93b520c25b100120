//! `/v1/settlements/{day}`: the caller's own statement of a closed settlement window, as JSON
//! (default) or, with `?format=xml|csv|xlsx`, as the `camt.053.001.08` XML, CSV or XLSX file.

use axum::extract::State;

use super::extract::{Path, Query};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use reconciliation::settlement;
use serde::Deserialize;

use super::error::ApiError;
use super::{AppState, Authed};
use crate::clearing::{self, ClearingError};

/// `?format=`
#[derive(Debug, Deserialize)]
pub(super) struct SettlementQuery {
    /// `json` (default), `xml`, `csv` or `xlsx`.
    pub format: Option<String>,
}

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/v1/settlements/{day}", get(settlements_statement))
}

impl From<ClearingError> for ApiError {
    fn from(e: ClearingError) -> ApiError {
        ApiError::Internal(e.to_string())
    }
}

fn output(e: reconciliation::Error) -> ApiError {
    ApiError::Internal(e.to_string())
}

/// `GET /v1/settlements/{day}`: 404 until the day's window is closed.
async fn settlements_statement(
    State(state): State<AppState>,
    Authed(who): Authed,
    Path(day): Path<String>,
    Query(q): Query<SettlementQuery>,
) -> Result<Response, ApiError> {
    let day = NaiveDate::parse_from_str(&day, "%Y-%m-%d")
        .map_err(|_| ApiError::BadRequest(format!("{day:?} is not a day YYYY-MM-DD")))?;
    let code = who.code.to_string();
    let Some(s) = clearing::statement(&state.store, &state.hub, day, &code).await? else {
        return Err(ApiError::NotFound(format!(
            "the settlement window of {day} is not closed"
        )));
    };
    let (bytes, content_type, ext) = match q.format.as_deref().unwrap_or("json") {
        "json" => return Ok(Json(s).into_response()),
        "xml" => (
            settlement::write_camt053(
                &s,
                &clearing::settlement_accounts(
                    &state
                        .store
                        .participants()
                        .await
                        .map_err(|e| ApiError::Internal(format!("participants: {e}")))?,
                ),
            )
            .map_err(output)?,
            "application/xml",
            "xml",
        ),
        "csv" => {
            let mut out = Vec::new();
            settlement::write_statement_csv(&s, &mut out).map_err(output)?;
            (out, "text/csv", "csv")
        }
        "xlsx" => (
            settlement::statement_xlsx(&s).map_err(output)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        other => {
            return Err(ApiError::BadRequest(format!(
                "format {other:?}: expected json, xml, csv or xlsx"
            )));
        }
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) =
        HeaderValue::from_str(&format!("attachment; filename=\"STMT_{day}_{code}.{ext}\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
