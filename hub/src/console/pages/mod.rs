//! The console's pages and forms.
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /login`, `POST /login`, `POST /login/cert`, `POST /logout` | anyone | sign in (password or client certificate), sign out |
//! | `GET /days` | viewer | settlement days: window, transactions, discrepancies |
//! | `GET /days/{day}` | viewer | positions, pairs, adjustments, discrepancy counts |
//! | `GET /days/{day}/export/{csv,xlsx}` | viewer | the day's positions |
//! | `POST /days/{day}/reconcile` | operator | run reconciliation of the day |
//! | `GET /discrepancies?day&type&status&participant` | viewer | the queue, filtered |
//! | `GET /discrepancies/export/{csv,xlsx}?…` | viewer | the filtered queue |
//! | `GET /discrepancies/{id}`, `POST /discrepancies/{id}/close` | viewer / finance | one discrepancy; close a monitored one after review |
//! | `GET /cases`, `GET /cases/{id}` | viewer | cases; a case with history, evidence and the actions the user may take |
//! | `POST /cases/{id}/action`, `POST /cases/{id}/evidence`, `GET /cases/{id}/evidence/{n}` | finance / operator | act, add evidence, download evidence |

mod cases;
mod days;
mod discrepancies;
mod login;

use axum::extract::{Extension, Multipart, Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::NaiveDate;
use minijinja::{Environment, Value, context};
use reconciliation::DiscrepancyType;
use reconciliation::dispute::{Action, Proposal, Stage};
use serde::{Deserialize, Serialize};

use super::{
    ConsoleError, ConsoleState, LOGIN_COOKIE, SESSION_COOKIE, SESSION_HOURS, St, Staff, auth,
    export,
};
use crate::disputes::{self, Actor, CaseError};
use crate::server::{Caller, CallerRevoked};
use crate::store::disputes::CaseFilter;
use crate::store::reconcile::{DiscrepancyFilter, DiscrepancyStatus};
use crate::store::{NewAuditEntry, StaffRole, Timestamp, User, append_audit};

/// The templates, compiled into the binary.
pub(super) fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, text) in [
        ("base.html", include_str!("../templates/base.html")),
        ("login.html", include_str!("../templates/login.html")),
        ("days.html", include_str!("../templates/days.html")),
        ("day.html", include_str!("../templates/day.html")),
        ("queue.html", include_str!("../templates/queue.html")),
        (
            "discrepancy.html",
            include_str!("../templates/discrepancy.html"),
        ),
        ("cases.html", include_str!("../templates/cases.html")),
        ("case.html", include_str!("../templates/case.html")),
    ] {
        env.add_template(name, text)
            .unwrap_or_else(|e| panic!("console template {name}: {e}"));
    }
    env.add_filter("yuan", |fen: i64| reconciliation::money::yuan(fen));
    env
}

pub(super) fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/days") }))
        .route("/static/console.css", get(stylesheet))
        .merge(login::routes())
        .merge(days::routes())
        .merge(discrepancies::routes())
        .merge(cases::routes())
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../console.css"),
    )
        .into_response()
}

#[derive(Debug, Default, Deserialize)]
struct Flash {
    msg: Option<String>,
    error: Option<String>,
}

fn render(
    state: &ConsoleState,
    name: &str,
    staff: Option<&Staff>,
    flash: &Flash,
    nav: &str,
    ctx: Value,
) -> Result<Html<String>, ConsoleError> {
    let t = state.templates.get_template(name)?;
    let base = context! {
        user => staff.map(|s| Value::from_serialize(&s.session.user)),
        csrf => staff.map(|s| s.session.csrf.clone()),
        msg => flash.msg.clone(),
        error => flash.error.clone(),
        nav => nav,
    };
    Ok(Html(t.render(context! { ..ctx, ..base })?))
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn back(path: &str, key: &str, text: &str) -> Response {
    let sep = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{sep}{key}={}", enc(text))).into_response()
}

async fn audit(
    state: &ConsoleState,
    user: &str,
    action: &str,
    target: &str,
    result: &str,
    detail: &str,
) -> Result<(), ConsoleError> {
    let mut tx = state.store.begin().await?;
    let detail = format!("console user {user}: {detail}");
    append_audit(
        &mut tx,
        &NewAuditEntry {
            participant: None,
            action,
            target: Some(target),
            result,
            detail: Some(&detail),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

fn parse_day(s: &str) -> Result<NaiveDate, ConsoleError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| ConsoleError::BadRequest(format!("{s:?} is not a day YYYY-MM-DD")))
}

fn local(state: &ConsoleState, t: Timestamp) -> String {
    state
        .reconcile
        .hub
        .local_time(t.datetime())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn local_naive(state: &ConsoleState, t: chrono::NaiveDateTime) -> String {
    local(state, crate::store::disputes::stamp(t))
}

/// A file download: `bytes` as an attachment named `filename`.
fn download(bytes: Vec<u8>, content_type: &'static str, filename: &str) -> Response {
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A form that carries only its CSRF token.
#[derive(Debug, Deserialize)]
struct CsrfForm {
    csrf: String,
}
