//! `/v1/files`: upload (`PUT /v1/files/{name}`), list (`GET /v1/files?direction=in|out`) and
//! download (`GET /v1/files/{file_id}`).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use http_body_util::BodyExt;
use serde::Deserialize;
use tokio_util::io::ReaderStream;

use super::error::{ApiError, AuditNote};
use super::extract::{Path, Query};
use super::{AppState, Authed};
use crate::delivery::seal_for;
use crate::seal::SEAL_HEADER;
use crate::store::{
    Direction, FileRecord, FileStatus, NewFile, SealCheck, insert_file, set_file_seal,
};
use crate::wire::{FileInfo, FileResultJson, Receipt, ResultRejection, validate_name};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/files", get(files_list))
        .route("/v1/files/{name}", put(files_upload).get(files_download))
        .route("/v1/files/{name}/result", get(files_result))
}

/// `PUT /v1/files/{name}`: streams the body to disk, hashing it, fsyncs, records it and
/// answers the receipt: 201 for a new file, 200 with the first receipt for content this
/// participant has sent before.
async fn files_upload(
    State(state): State<AppState>,
    Authed(who): Authed,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    validate_name(&name).map_err(ApiError::BadRequest)?;
    let limit = state.max_file_bytes;
    if let Some(length) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && length > limit
    {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    // A participant with a seal key seals every upload: the SM4-CMAC of the body, computed
    // while it streams in; a missing or wrong seal is rejected at ingest (F05), the file kept.
    let seal_key = state.store.seal_key(&who.code).await?;
    let presented = headers
        .get(SEAL_HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let mut writer = state.vault.stage_sealed(seal_key.as_ref()).await?;
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => {
                writer.abort().await;
                return Err(ApiError::BadRequest(format!("reading the body: {e}")));
            }
        };
        if let Ok(data) = frame.into_data() {
            writer.write_bytes(data, limit).await?;
        }
    }
    let staged = writer.finish().await?;
    if staged.bytes == 0 {
        state.vault.discard(staged).await;
        return Err(ApiError::BadRequest(format!(
            "{name}: the file is empty (a file carries at least its header); nothing stored"
        )));
    }
    if let Some(first) = state
        .store
        .inbound_by_digest(&who.code, &staged.sha256)
        .await?
    {
        state.vault.discard(staged).await;
        return Ok(receipt_response(StatusCode::OK, &first, "repeat of"));
    }
    let bytes = i64::try_from(staged.bytes).map_err(|_| ApiError::PayloadTooLarge(limit))?;
    let sha256 = staged.sha256.clone();
    let check = staged.seal.as_ref().map(|computed| match &presented {
        None => SealCheck::Missing,
        Some(p) if crate::seal::seals_match(p, computed) => SealCheck::Valid,
        Some(_) => SealCheck::Wrong,
    });
    let stored_path = state.vault.commit(staged, Direction::In, &who.code).await?;
    let mut tx = state.store.begin().await?;
    let (mut record, new) = insert_file(
        &mut tx,
        &NewFile {
            direction: Direction::In,
            sender: Some(who.code.clone()),
            addressee: None,
            name,
            sha256,
            bytes,
            status: FileStatus::Received,
            stored_path,
        },
    )
    .await?;
    if new && (check.is_some() || presented.is_some()) {
        let presented = presented
            .as_deref()
            .map(|p| p.chars().take(64).collect::<String>());
        set_file_seal(&mut tx, record.id, presented.as_deref(), check, None).await?;
        record.seal = presented;
        record.seal_check = check;
    }
    tx.commit().await?;
    if new {
        state.ingest.notify_one();
    }
    Ok(if new {
        receipt_response(StatusCode::CREATED, &record, "stored")
    } else {
        receipt_response(StatusCode::OK, &record, "repeat of")
    })
}

fn receipt_response(status: StatusCode, record: &FileRecord, what: &str) -> Response {
    let mut response = (status, Json(Receipt::from(record))).into_response();
    response.extensions_mut().insert(AuditNote(format!(
        "{what} file {} ({} bytes, sha256 {})",
        record.id, record.bytes, record.sha256
    )));
    response
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    direction: Option<String>,
}

/// `GET /v1/files?direction=in|out`: the caller's files, uploaded by it (`in`) or addressed to
/// it (`out`); both when `direction` is absent.
async fn files_list(
    State(state): State<AppState>,
    Authed(who): Authed,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<FileInfo>>, ApiError> {
    let directions = match query.direction.as_deref() {
        None => vec![Direction::In, Direction::Out],
        Some(d) => vec![d.parse::<Direction>().map_err(ApiError::BadRequest)?],
    };
    let mut out = Vec::new();
    for direction in directions {
        for f in state.store.files_of(&who.code, direction).await? {
            out.push(FileInfo::from(&f));
        }
    }
    Ok(Json(out))
}

/// `GET /v1/files/{file_id}`: streams one of the caller's files. Another participant's file is
/// 403 (and audited as such), an unknown id 404.
async fn files_download(
    State(state): State<AppState>,
    Authed(who): Authed,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound(format!("no file {id}"));
    let file_id: i64 = id.parse().map_err(|_| not_found())?;
    let file = state.store.file(file_id).await?.ok_or_else(not_found)?;
    if !file.visible_to(&who.code) {
        tracing::warn!(participant = %who.code, file_id, "refused: another participant's file");
        return Err(ApiError::Forbidden(format!(
            "file {file_id} belongs to another participant"
        )));
    }
    let seal = seal_for(&state.store, &state.vault, &file, &who.code)
        .await
        .map_err(|e| match e {
            crate::delivery::SealError::Store(s) => ApiError::from(s),
            other => ApiError::Internal(other.to_string()),
        })?;
    let path = state.vault.local(&file.stored_path).await?;
    let handle = tokio::fs::File::open(&path)
        .await
        .map_err(|e| ApiError::Internal(format!("{}: {e}", path.display())))?;
    let stream = ReaderStream::with_capacity(handle, 256 * 1024);
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(file.bytes));
    if let Ok(v) = HeaderValue::from_str(&file.sha256) {
        headers.insert("x-hutong-sha256", v);
    }
    if let Some(seal) = seal
        && let Ok(v) = HeaderValue::from_str(&seal)
    {
        headers.insert(SEAL_HEADER, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename*=UTF-8''{}",
        percent_encode(&file.name)
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
        .extensions_mut()
        .insert(AuditNote(format!("download of file {file_id}")));
    Ok(response)
}

/// A response body fed from a channel (for results of any size).
struct ChannelBody(tokio::sync::mpsc::Receiver<Result<bytes::Bytes, std::io::Error>>);

impl futures_core::Stream for ChannelBody {
    type Item = Result<bytes::Bytes, std::io::Error>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// `GET /v1/files/{file_id}/result`: the outcome of one of the caller's uploads, as JSON
/// `{file_id, status, records, accepted, rejected, rejections: [{record, code, field?,
/// reason}]}`, the rejections streamed from the database. Only the sender may read it (403
/// otherwise, audited); a file not yet ingested answers with status `received` and no
/// rejections.
async fn files_result(
    State(state): State<AppState>,
    Authed(who): Authed,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound(format!("no file {id}"));
    let file_id: i64 = id.parse().map_err(|_| not_found())?;
    let file = state.store.file(file_id).await?.ok_or_else(not_found)?;
    if file.direction != Direction::In || file.sender.as_deref() != Some(who.code.as_str()) {
        tracing::warn!(participant = %who.code, file_id, "refused: the result of another participant's file");
        return Err(ApiError::Forbidden(format!(
            "file {file_id} was not uploaded by {}: only its sender may read its result",
            who.code
        )));
    }
    let Some(fr) = state.store.file_result(file_id).await? else {
        let pending = FileResultJson {
            file_id,
            status: file.status.as_str().to_string(),
            records: 0,
            accepted: 0,
            rejected: 0,
            rejections: Vec::new(),
        };
        return Ok(Json(pending).into_response());
    };
    let head = FileResultJson {
        file_id,
        status: fr.status.as_str().to_string(),
        records: fr.records,
        accepted: fr.accepted,
        rejected: fr.rejected,
        rejections: Vec::new(),
    };
    let mut text = serde_json::to_string(&head).map_err(|e| ApiError::Internal(e.to_string()))?;
    // Reopen the empty rejections array to stream into it.
    text.truncate(text.len().saturating_sub(2));
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let store = state.store.clone();
    tokio::spawn(async move {
        let send = |s: String| tx.send(Ok(bytes::Bytes::from(s)));
        if send(text).await.is_err() {
            return;
        }
        let mut first = true;
        let mut push = |r: ResultRejection, out: &mut String| {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&serde_json::to_string(&r).unwrap_or_default());
        };
        let mut out = String::new();
        if let Some(code) = &fr.code {
            push(
                ResultRejection {
                    record: fr.record_no.unwrap_or(0),
                    code: code.clone(),
                    field: fr.field.clone(),
                    reason: fr.reason.clone().unwrap_or_default(),
                },
                &mut out,
            );
        } else {
            let (mut rrx, arx) = store.stream_file_outcome(file_id, 4096);
            drop(arx);
            while let Some(page) = rrx.recv().await {
                let page = match page {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::error!(error = %e, file_id, "streaming a result failed");
                        let _ = tx
                            .send(Err(std::io::Error::other("the result could not be read")))
                            .await;
                        return;
                    }
                };
                for r in page {
                    push(
                        ResultRejection {
                            record: r.record_no,
                            code: r.code,
                            field: r.field,
                            reason: r.reason,
                        },
                        &mut out,
                    );
                }
                if out.len() > 64 * 1024 && send(std::mem::take(&mut out)).await.is_err() {
                    return;
                }
            }
        }
        out.push_str("]}");
        let _ = send(out).await;
    });
    let mut response = Response::new(Body::from_stream(ChannelBody(rx)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
        .extensions_mut()
        .insert(AuditNote(format!("result of file {file_id}")));
    Ok(response)
}

/// RFC 3986 percent-encoding of everything but unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
