//! The API's extractors: axum's `Path`, `Query` and `Json`, whose rejections are answered as
//! every other error of the API is — JSON `{"error": "..."}` with status 400 — instead of
//! axum's plain-text bodies (as in axum's `customize-extractor-error` example).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// [`axum::extract::Path`], refusing with a JSON 400.
#[derive(Debug)]
pub(super) struct Path<T>(pub T);

/// [`axum::extract::Query`], refusing with a JSON 400.
#[derive(Debug)]
pub(super) struct Query<T>(pub T);

/// [`axum::Json`] as a request body, refusing with a JSON 400.
#[derive(Debug)]
pub(super) struct Json<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(e) => Err(ApiError::BadRequest(format!("the path: {}", e.body_text()))),
        }
    }
}

impl<S, T> FromRequestParts<S> for Query<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(e) => Err(ApiError::BadRequest(format!(
                "the query string: {}",
                e.body_text()
            ))),
        }
    }
}

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(e) => Err(ApiError::BadRequest(format!(
                "the JSON body: {}",
                e.body_text()
            ))),
        }
    }
}
