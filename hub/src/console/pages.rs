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
        ("base.html", include_str!("templates/base.html")),
        ("login.html", include_str!("templates/login.html")),
        ("days.html", include_str!("templates/days.html")),
        ("day.html", include_str!("templates/day.html")),
        ("queue.html", include_str!("templates/queue.html")),
        (
            "discrepancy.html",
            include_str!("templates/discrepancy.html"),
        ),
        ("cases.html", include_str!("templates/cases.html")),
        ("case.html", include_str!("templates/case.html")),
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
        .route("/login", get(login_page).post(login))
        .route("/login/cert", post(login_cert))
        .route("/logout", post(logout))
        .route("/days", get(days))
        .route("/days/{day}", get(day_page))
        .route("/days/{day}/export/{format}", get(day_export))
        .route("/days/{day}/reconcile", post(day_reconcile))
        .route("/discrepancies", get(queue))
        .route("/discrepancies/export/{format}", get(queue_export))
        .route("/discrepancies/{id}", get(discrepancy_page))
        .route("/discrepancies/{id}/close", post(discrepancy_close))
        .route("/cases", get(cases))
        .route("/cases/{id}", get(case_page))
        .route("/cases/{id}/action", post(case_action))
        .route("/cases/{id}/evidence", post(case_evidence))
        .route("/cases/{id}/evidence/{seq}", get(case_evidence_download))
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("console.css"),
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

// --- sign-in --------------------------------------------------------------------------------

fn cookie_header(name: &str, value: &str, max_age: i64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

async fn login_page(
    State(state): St,
    cert: Option<Extension<Caller>>,
    Query(flash): Query<Flash>,
) -> Result<Response, ConsoleError> {
    let token = auth::random_hex(16);
    let page = render(
        &state,
        "login.html",
        None,
        &flash,
        "",
        context! {
            login_csrf => token.clone(),
            cert => cert.map(|c| c.0.0.participant.to_string()),
        },
    )?;
    let mut r = page.into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, cookie_header(LOGIN_COOKIE, &token, 600));
    Ok(r)
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    csrf: String,
    name: Option<String>,
    password: Option<String>,
}

fn check_login_csrf(headers: &axum::http::HeaderMap, form: &str) -> Result<(), ConsoleError> {
    let (mut parts, _) = axum::http::Request::new(()).into_parts();
    parts.headers = headers.clone();
    match super::cookie(&parts, LOGIN_COOKIE) {
        Some(c) if auth::same_token(&c, form) => Ok(()),
        _ => Err(ConsoleError::Forbidden(
            "the sign-in form is stale or not from this console; reload it".into(),
        )),
    }
}

async fn start_session(
    state: &ConsoleState,
    user: &User,
    how: &str,
) -> Result<Response, ConsoleError> {
    let token = auth::random_hex(32);
    let csrf = auth::random_hex(32);
    let expires =
        Timestamp::from_datetime(chrono::Utc::now() + chrono::Duration::hours(SESSION_HOURS));
    state
        .store
        .create_session(&auth::token_digest(&token), user.id, &csrf, expires)
        .await?;
    audit(
        state,
        &user.name,
        "console.login",
        &format!("user:{}", user.name),
        "ok",
        how,
    )
    .await?;
    let mut r = Redirect::to("/days").into_response();
    let h = r.headers_mut();
    h.append(
        header::SET_COOKIE,
        cookie_header(SESSION_COOKIE, &token, SESSION_HOURS * 3600),
    );
    h.append(header::SET_COOKIE, cookie_header(LOGIN_COOKIE, "", 0));
    Ok(r)
}

async fn login(
    State(state): St,
    headers: axum::http::HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, ConsoleError> {
    check_login_csrf(&headers, &f.csrf)?;
    let name = f.name.unwrap_or_default();
    let password = f.password.unwrap_or_default();
    let user = state.store.user_by_name(&name).await?;
    let ok = match &user {
        Some(u) => u
            .password_hash
            .as_deref()
            .is_some_and(|h| auth::verify_password(&password, h)),
        None => {
            // Same work for an unknown name, so timing does not tell names apart.
            let _ = auth::verify_password(&password, DUMMY_HASH);
            false
        }
    };
    match (ok, user) {
        (true, Some(u)) => start_session(&state, &u, "signed in with a password").await,
        _ => {
            audit(
                &state,
                &name,
                "console.login",
                &format!("user:{name}"),
                "refused",
                "wrong name or password",
            )
            .await?;
            Ok(back("/login", "error", "Wrong user name or password."))
        }
    }
}

/// An argon2id hash of a random password, verified against when the name is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$J1l6P3Xo0U2OW7oYjQ2qk0y5bQy7X0mGf3eTn9WcZbA";

async fn login_cert(
    State(state): St,
    cert: Option<Extension<Caller>>,
    revoked: Option<Extension<CallerRevoked>>,
    headers: axum::http::HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, ConsoleError> {
    check_login_csrf(&headers, &f.csrf)?;
    let Some(Extension(Caller(id))) = cert else {
        return Ok(back(
            "/login",
            "error",
            "Your browser presented no client certificate.",
        ));
    };
    if revoked.is_some() {
        return Ok(back(
            "/login",
            "error",
            "Your client certificate has been revoked.",
        ));
    }
    let name = id.participant.to_string();
    match state.store.user_by_name(&name).await? {
        Some(u) if u.cert_login => {
            start_session(
                &state,
                &u,
                &format!("signed in with certificate {}", id.serial),
            )
            .await
        }
        _ => {
            audit(
                &state,
                &name,
                "console.login",
                &format!("user:{name}"),
                "refused",
                "certificate names no user allowed to sign in by certificate",
            )
            .await?;
            Ok(back(
                "/login",
                "error",
                "That certificate does not sign anyone in.",
            ))
        }
    }
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(state): St,
    staff: Staff,
    Form(f): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(&f.csrf)?;
    state
        .store
        .end_session(&staff.token_digest, Timestamp::now())
        .await?;
    audit(
        &state,
        &staff.session.user.name,
        "console.logout",
        &format!("user:{}", staff.session.user.name),
        "ok",
        "signed out",
    )
    .await?;
    let mut r = back("/login", "msg", "Signed out.");
    r.headers_mut()
        .append(header::SET_COOKIE, cookie_header(SESSION_COOKIE, "", 0));
    Ok(r)
}

// --- settlement days --------------------------------------------------------------------------

#[derive(Serialize)]
struct DayRow {
    day: String,
    status: &'static str,
    tx_count: i64,
    tx_amount_fen: i64,
    open: i64,
    all: i64,
}

async fn days(
    State(state): St,
    staff: Staff,
    Query(flash): Query<Flash>,
) -> Result<Html<String>, ConsoleError> {
    let mut rows = Vec::new();
    for d in state.store.reconciliation_days(90).await? {
        let w = state.store.closed_window(d).await?;
        let counts = state.store.discrepancy_counts(Some(d)).await?;
        rows.push(DayRow {
            day: d.to_string(),
            status: if w.is_some() { "closed" } else { "open" },
            tx_count: w.as_ref().map(|w| w.tx_count).unwrap_or(0),
            tx_amount_fen: w.as_ref().map(|w| w.tx_amount_fen).unwrap_or(0),
            open: counts
                .iter()
                .filter(|c| matches!(c.1.as_str(), "open" | "disputed" | "resent"))
                .map(|c| c.2)
                .sum(),
            all: counts.iter().map(|c| c.2).sum(),
        });
    }
    render(
        &state,
        "days.html",
        Some(&staff),
        &flash,
        "days",
        context! { days => rows },
    )
}

async fn day_page(
    State(state): St,
    staff: Staff,
    Path(day): Path<String>,
    Query(flash): Query<Flash>,
) -> Result<Html<String>, ConsoleError> {
    let day = parse_day(&day)?;
    let p = crate::clearing::positions(&state.store, &state.clearing, day)
        .await
        .map_err(|e| ConsoleError::Internal(e.to_string()))?;
    let counts = state.store.discrepancy_counts(Some(day)).await?;
    render(
        &state,
        "day.html",
        Some(&staff),
        &flash,
        "days",
        context! {
            p => Value::from_serialize(&p),
            cutoff => local(&state, p.cutoff_at),
            closed => p.closed_at.map(|t| local(&state, t)),
            counts => counts,
            can_operate => staff.can(StaffRole::Operator),
        },
    )
}

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

async fn day_export(
    State(state): St,
    staff: Staff,
    Path((day, format)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    let day = parse_day(&day)?;
    let p = crate::clearing::positions(&state.store, &state.clearing, day)
        .await
        .map_err(|e| ConsoleError::Internal(e.to_string()))?;
    let out = match format.as_str() {
        "csv" => download(
            export::positions_csv(&p).map_err(|e| ConsoleError::Internal(e.to_string()))?,
            "text/csv; charset=utf-8",
            &format!("positions_{day}.csv"),
        ),
        "xlsx" => download(
            export::positions_xlsx(&p).map_err(|e| ConsoleError::Internal(e.to_string()))?,
            XLSX,
            &format!("positions_{day}.xlsx"),
        ),
        other => {
            return Err(ConsoleError::NotFound(format!(
                "no export format {other:?}"
            )));
        }
    };
    audit(
        &state,
        &staff.session.user.name,
        "console.export",
        &format!("positions:{day}"),
        "ok",
        &format!("positions of {day} as {format}"),
    )
    .await?;
    Ok(out)
}

async fn day_reconcile(
    State(state): St,
    staff: Staff,
    Path(day): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(&f.csrf)?;
    staff.require(StaffRole::Operator)?;
    let d = parse_day(&day)?;
    let path = format!("/days/{d}");
    match crate::reconcile::reconcile_day(
        &state.store,
        &state.vault,
        &state.reconcile,
        d,
        Timestamp::now(),
        None,
    )
    .await
    {
        Ok(s) => {
            let words = format!(
                "Reconciled {d}: {} new discrepancies ({} known), {} decided, {} cases opened.",
                s.found.new.len(),
                s.found.known,
                s.resolved.decided.len(),
                s.resolved.cases.len()
            );
            audit(
                &state,
                &staff.session.user.name,
                "console.reconcile",
                &format!("day:{d}"),
                "ok",
                &words,
            )
            .await?;
            Ok(back(&path, "msg", &words))
        }
        Err(crate::reconcile::ReconcileError::BadInput(m)) => Ok(back(&path, "error", &m)),
        Err(e) => Err(ConsoleError::Internal(e.to_string())),
    }
}

// --- the queue ----------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, Serialize)]
struct QueueQuery {
    #[serde(default)]
    day: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    participant: String,
    msg: Option<String>,
    error: Option<String>,
}

impl QueueQuery {
    fn filter(&self) -> Result<DiscrepancyFilter, ConsoleError> {
        let some = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_string);
        Ok(DiscrepancyFilter {
            day: some(&self.day).map(|d| parse_day(&d)).transpose()?,
            kind: some(&self.kind)
                .map(|k| k.parse::<DiscrepancyType>())
                .transpose()
                .map_err(ConsoleError::BadRequest)?,
            status: some(&self.status)
                .map(|s| s.parse::<DiscrepancyStatus>())
                .transpose()
                .map_err(ConsoleError::BadRequest)?,
            participant: some(&self.participant),
            limit: Some(5000),
        })
    }

    fn query_string(&self) -> String {
        format!(
            "day={}&type={}&status={}&participant={}",
            enc(&self.day),
            enc(&self.kind),
            enc(&self.status),
            enc(&self.participant)
        )
    }
}

async fn queue(
    State(state): St,
    staff: Staff,
    Query(q): Query<QueueQuery>,
) -> Result<Html<String>, ConsoleError> {
    let items = state.store.discrepancies(&q.filter()?).await?;
    let total: i64 = items.iter().map(|d| d.amount_fen).sum();
    let flash = Flash {
        msg: q.msg.clone(),
        error: q.error.clone(),
    };
    render(
        &state,
        "queue.html",
        Some(&staff),
        &flash,
        "queue",
        context! {
            items => Value::from_serialize(&items),
            total => total,
            f => context! { day => q.day.clone(), type => q.kind.clone(), status => q.status.clone(), participant => q.participant.clone() },
            types => DiscrepancyType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            statuses => DiscrepancyStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            query => q.query_string(),
        },
    )
}

async fn queue_export(
    State(state): St,
    staff: Staff,
    Path(format): Path<String>,
    Query(q): Query<QueueQuery>,
) -> Result<Response, ConsoleError> {
    let mut filter = q.filter()?;
    filter.limit = None;
    let items = state.store.discrepancies(&filter).await?;
    let out = match format.as_str() {
        "csv" => download(
            export::queue_csv(&items).map_err(|e| ConsoleError::Internal(e.to_string()))?,
            "text/csv; charset=utf-8",
            "discrepancies.csv",
        ),
        "xlsx" => download(
            export::queue_xlsx(&items).map_err(|e| ConsoleError::Internal(e.to_string()))?,
            XLSX,
            "discrepancies.xlsx",
        ),
        other => {
            return Err(ConsoleError::NotFound(format!(
                "no export format {other:?}"
            )));
        }
    };
    audit(
        &state,
        &staff.session.user.name,
        "console.export",
        "discrepancies",
        "ok",
        &format!(
            "{} discrepancies as {format} ({})",
            items.len(),
            q.query_string()
        ),
    )
    .await?;
    Ok(out)
}

async fn discrepancy_page(
    State(state): St,
    staff: Staff,
    Path(id): Path<i64>,
    Query(flash): Query<Flash>,
) -> Result<Html<String>, ConsoleError> {
    let d = state
        .store
        .discrepancy(id)
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("no discrepancy {id}")))?;
    let can_close = staff.can(StaffRole::Finance) && d.status == DiscrepancyStatus::Monitoring;
    render(
        &state,
        "discrepancy.html",
        Some(&staff),
        &flash,
        "queue",
        context! { d => Value::from_serialize(&d), found => local(&state, d.found_at), can_close => can_close },
    )
}

#[derive(Debug, Deserialize)]
struct CloseForm {
    csrf: String,
    note: String,
}

async fn discrepancy_close(
    State(state): St,
    staff: Staff,
    Path(id): Path<i64>,
    Form(f): Form<CloseForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(&f.csrf)?;
    staff.require(StaffRole::Finance)?;
    let note = f.note.trim();
    if note.is_empty() {
        return Ok(back(
            &format!("/discrepancies/{id}"),
            "error",
            "Say why it can be closed.",
        ));
    }
    let user = &staff.session.user.name;
    let words = format!("closed after review by {user}: {note}");
    let mut tx = state.store.begin().await?;
    let done = crate::store::reconcile::update_discrepancy(
        &mut tx,
        id,
        &[DiscrepancyStatus::Monitoring],
        DiscrepancyStatus::Closed,
        &crate::store::reconcile::DiscrepancyUpdate {
            decision: Some("closed_after_review".into()),
            resolution: Some(words.clone()),
            ..Default::default()
        },
        Timestamp::now(),
    )
    .await?;
    if !done {
        return Ok(back(
            &format!("/discrepancies/{id}"),
            "error",
            "Only a monitored discrepancy can be closed by hand.",
        ));
    }
    let detail = format!("console user {user}: {words}");
    append_audit(
        &mut tx,
        &NewAuditEntry {
            participant: None,
            action: "console.close_discrepancy",
            target: Some(&format!("discrepancy:{id}")),
            result: "ok",
            detail: Some(&detail),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(back(&format!("/discrepancies/{id}"), "msg", "Closed."))
}

// --- cases --------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct CaseQuery {
    #[serde(default)]
    participant: String,
    open: Option<String>,
    msg: Option<String>,
    error: Option<String>,
}

async fn cases(
    State(state): St,
    staff: Staff,
    Query(q): Query<CaseQuery>,
) -> Result<Html<String>, ConsoleError> {
    let participant = Some(q.participant.trim().to_string()).filter(|p| !p.is_empty());
    let list = state
        .store
        .cases(&CaseFilter {
            participant,
            stage: None,
            open_only: q.open.is_some(),
        })
        .await?;
    #[derive(Serialize)]
    struct Row {
        id: i64,
        discrepancy_id: i64,
        claimant: String,
        respondent: String,
        amount_fen: i64,
        stage: Stage,
        overdue: bool,
        deadline: String,
    }
    let rows: Vec<Row> = list
        .iter()
        .map(|c| Row {
            id: c.id,
            discrepancy_id: c.discrepancy_id,
            claimant: c.case.claimant.clone(),
            respondent: c.case.respondent.clone(),
            amount_fen: c.case.amount_fen,
            stage: c.case.stage,
            overdue: c.case.overdue,
            deadline: if c.case.stage.is_open() {
                local_naive(&state, c.case.deadline)
            } else {
                "—".into()
            },
        })
        .collect();
    let flash = Flash {
        msg: q.msg.clone(),
        error: q.error.clone(),
    };
    render(
        &state,
        "cases.html",
        Some(&staff),
        &flash,
        "cases",
        context! { cases => rows, f => context! { participant => q.participant.clone(), open => q.open.is_some() } },
    )
}

fn actor(staff: &Staff) -> Actor {
    let u = &staff.session.user;
    Actor::Staff {
        name: u.name.clone(),
        role: u.role,
        participant: u.participant.clone(),
    }
}

async fn case_page(
    State(state): St,
    staff: Staff,
    Path(id): Path<i64>,
    Query(flash): Query<Flash>,
) -> Result<Html<String>, ConsoleError> {
    let c = state
        .store
        .case(id)
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("no dispute case {id}")))?;
    let u = &staff.session.user;
    let as_party = u.participant.as_deref().and_then(|p| c.case.role_of(p));
    let open = c.case.stage.is_open();
    let mut actions: Vec<&str> = Vec::new();
    let mut simple: Vec<(&str, &str)> = Vec::new();
    let mut money: Vec<(&str, &str)> = Vec::new();
    if open && staff.can(StaffRole::Finance) {
        actions.push("evidence");
        if c.case.stage == Stage::Opened
            && (as_party == Some(reconciliation::dispute::Role::Claimant) || as_party.is_none())
        {
            simple.push(("request_evidence", "Request evidence"));
        }
        if as_party.is_some() && c.case.stage != Stage::Escalated {
            let pending_from_other = c
                .case
                .proposal
                .as_ref()
                .is_some_and(|(_, by)| Some(*by) != as_party);
            if pending_from_other {
                simple.push(("accept", "Accept the pending proposal"));
            }
            if c.case.stage == Stage::Proposed && pending_from_other {
                simple.push(("contest", "Contest (to arbitration)"));
            }
            simple.push(("escalate", "Escalate to the operator"));
            money.push(("propose", "Propose"));
        }
        if staff.can(StaffRole::Operator) {
            money.push(("arbitrate", "Rule (arbitrate)"));
            simple.push(("withdraw", "Withdraw the claim"));
        }
    }
    for (a, _) in simple.iter().chain(money.iter()) {
        actions.push(a);
    }
    #[derive(Serialize)]
    struct Ev {
        at: String,
        actor: String,
        action: String,
        note: String,
        stage: Stage,
    }
    let history: Vec<Ev> = c
        .case
        .history
        .iter()
        .map(|e| Ev {
            at: local_naive(&state, e.at),
            actor: e.actor.clone(),
            action: e.action.clone(),
            note: e.note.clone(),
            stage: e.stage,
        })
        .collect();
    #[derive(Serialize)]
    struct File {
        name: String,
        sha256: String,
        added_by: String,
        at: String,
    }
    let evidence: Vec<File> = c
        .case
        .evidence
        .iter()
        .map(|e| File {
            name: e.name.clone(),
            sha256: e.sha256.clone(),
            added_by: e.added_by.clone(),
            at: local_naive(&state, e.at),
        })
        .collect();
    render(
        &state,
        "case.html",
        Some(&staff),
        &flash,
        "cases",
        context! {
            c => Value::from_serialize(&c),
            deadline => if open { local_naive(&state, c.case.deadline) } else { "—".to_string() },
            history => history,
            evidence => evidence,
            actions => actions,
            simple => simple,
            money => money,
            open => open,
        },
    )
}

#[derive(Debug, Deserialize)]
struct ActionForm {
    csrf: String,
    action: String,
    payer: Option<String>,
    payee: Option<String>,
    amount_fen: Option<String>,
}

async fn case_action(
    State(state): St,
    staff: Staff,
    Path(id): Path<i64>,
    Form(f): Form<ActionForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(&f.csrf)?;
    staff.require(StaffRole::Finance)?;
    let path = format!("/cases/{id}");
    let proposal = || -> Result<Proposal, String> {
        let amount = f.amount_fen.as_deref().unwrap_or("").trim();
        let amount_fen: i64 = amount
            .parse()
            .ok()
            .filter(|a: &i64| *a >= 0)
            .ok_or_else(|| format!("amount {amount:?}: a whole number of fen, 0 or more"))?;
        Ok(Proposal {
            payer: f.payer.clone().unwrap_or_default(),
            payee: f.payee.clone().unwrap_or_default(),
            amount_fen,
        })
    };
    let action = match f.action.as_str() {
        "request_evidence" => Action::RequestEvidence,
        "accept" => Action::Accept,
        "contest" => Action::Contest,
        "escalate" => Action::Escalate,
        "withdraw" => Action::Withdraw,
        "propose" => match proposal() {
            Ok(p) => Action::Propose(p),
            Err(m) => return Ok(back(&path, "error", &m)),
        },
        "arbitrate" => match proposal() {
            Ok(p) => Action::Arbitrate(p),
            Err(m) => return Ok(back(&path, "error", &m)),
        },
        other => return Err(ConsoleError::BadRequest(format!("no action {other:?}"))),
    };
    let name = action.name();
    match disputes::act(
        &state.store,
        &state.reconcile.deadlines,
        id,
        &actor(&staff),
        action,
        None,
        Timestamp::now(),
    )
    .await
    {
        Ok(c) => Ok(back(
            &path,
            "msg",
            &format!("Done: {name}; the case is {}.", c.case.stage),
        )),
        Err(CaseError::NotFound(_)) => Err(ConsoleError::NotFound(format!("no dispute case {id}"))),
        Err(CaseError::Store(e)) => Err(e.into()),
        Err(e @ (CaseError::Forbidden(_) | CaseError::Refused(_))) => {
            audit(
                &state,
                &staff.session.user.name,
                &format!("dispute.{name}"),
                &format!("case:{id}"),
                "refused",
                &e.to_string(),
            )
            .await?;
            Ok(back(&path, "error", &e.to_string()))
        }
    }
}

async fn case_evidence(
    State(state): St,
    staff: Staff,
    Path(id): Path<i64>,
    mut form: Multipart,
) -> Result<Response, ConsoleError> {
    staff.require(StaffRole::Finance)?;
    let path = format!("/cases/{id}");
    let mut csrf_ok = false;
    let mut stored = None;
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|e| ConsoleError::BadRequest(format!("the upload: {e}")))?
    {
        match field.name() {
            Some("csrf") => {
                let v = field
                    .text()
                    .await
                    .map_err(|e| ConsoleError::BadRequest(e.to_string()))?;
                staff.check_csrf(&v)?;
                csrf_ok = true;
            }
            Some("file") if csrf_ok => {
                let name = field
                    .file_name()
                    .map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n).to_string())
                    .unwrap_or_else(|| "evidence".into());
                crate::wire::validate_name(&name).map_err(ConsoleError::BadRequest)?;
                let mut w = state
                    .vault
                    .stage()
                    .await
                    .map_err(|e| ConsoleError::Internal(e.to_string()))?;
                while let Some(chunk) = field
                    .chunk()
                    .await
                    .map_err(|e| ConsoleError::BadRequest(e.to_string()))?
                {
                    if let Err(e) = w.write_bytes(chunk, state.max_upload_bytes).await {
                        return Ok(back(&path, "error", &e.to_string()));
                    }
                }
                let staged = w
                    .finish()
                    .await
                    .map_err(|e| ConsoleError::Internal(e.to_string()))?;
                stored = Some((name, staged));
            }
            Some("file") => {
                return Err(ConsoleError::Forbidden(
                    "the CSRF token must come before the file".into(),
                ));
            }
            _ => {}
        }
    }
    let Some((name, staged)) = stored else {
        return Ok(back(&path, "error", "Choose a file."));
    };
    let (file, sha256) = disputes::store_evidence(&state.vault, staged)
        .await
        .map_err(|e| ConsoleError::Internal(e.to_string()))?;
    match disputes::act(
        &state.store,
        &state.reconcile.deadlines,
        id,
        &actor(&staff),
        Action::AddEvidence {
            name: name.clone(),
            sha256: sha256.clone(),
        },
        Some(file),
        Timestamp::now(),
    )
    .await
    {
        Ok(_) => Ok(back(
            &path,
            "msg",
            &format!("Evidence {name} added (SHA-256 {sha256})."),
        )),
        Err(CaseError::Store(e)) => Err(e.into()),
        Err(e) => Ok(back(&path, "error", &e.to_string())),
    }
}

async fn case_evidence_download(
    State(state): St,
    staff: Staff,
    Path((id, seq)): Path<(i64, usize)>,
) -> Result<Response, ConsoleError> {
    let c = state
        .store
        .case(id)
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("no dispute case {id}")))?;
    let i = seq
        .checked_sub(1)
        .ok_or_else(|| ConsoleError::NotFound("no such evidence".into()))?;
    let (Some(e), Some((stored, _))) = (c.case.evidence.get(i), c.evidence_files.get(i)) else {
        return Err(ConsoleError::NotFound(format!(
            "no evidence {seq} on case {id}"
        )));
    };
    let bytes = tokio::fs::read(state.vault.path_of(stored))
        .await
        .map_err(|e| ConsoleError::Internal(e.to_string()))?;
    audit(
        &state,
        &staff.session.user.name,
        "console.evidence_download",
        &format!("case:{id}"),
        "ok",
        &e.name,
    )
    .await?;
    Ok(download(
        bytes,
        "application/octet-stream",
        &e.name.replace('"', ""),
    ))
}
