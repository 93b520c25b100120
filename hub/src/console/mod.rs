//! The finance console: a server-rendered web application that the hub serves on its own HTTPS
//! listener (`hutong serve --console-listen ADDR`), for finance teams and the hub operator.
//!
//! * **Pages** ([`router`]): settlement days with positions, the discrepancy queue with filters,
//!   a page per discrepancy and per dispute case (full history, evidence, actions), exports of
//!   the queue and of a day's positions as CSV and XLSX. HTML from [minijinja] templates
//!   compiled into the binary, one small stylesheet, no JavaScript: any browser, no build step.
//! * **Sign-in**: local accounts (`hutong users add`, argon2id hashes) or a client certificate
//!   of the hub CA naming a user created with `--cert` (the listener asks for a certificate
//!   but does not require one). A session is a random 256-bit token in a `Secure; HttpOnly;
//!   SameSite=Strict` cookie, stored only as its SHA-256, valid 8 hours.
//! * **Authorisation by role**: `viewer` reads and exports; `finance` also works cases (evidence,
//!   proposals for the participant it acts for, escalation) and closes monitored discrepancies;
//!   `operator` also arbitrates, withdraws and runs reconciliation. Checked on every request.
//! * **CSRF**: every form carries the session's token (the sign-in form a double-submit cookie);
//!   a POST without the right one is refused (403). Cookies are `SameSite=Strict` too.
//! * **Audit**: every action — sign-in (and refusals), sign-out, case actions, closing a
//!   discrepancy, running reconciliation — goes to the hash-chained audit log.

pub mod auth;
mod export;
mod pages;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::Environment;

use crate::clearing::ClearingSettings;
use crate::reconcile::ReconcileSettings;
use crate::store::{Session, StaffRole, Store, Timestamp};
use crate::vault::Vault;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "hutong_session";
/// The sign-in form's double-submit cookie.
pub const LOGIN_COOKIE: &str = "hutong_login";
/// How long a session lasts.
pub const SESSION_HOURS: i64 = 8;

/// What the console's handlers share.
#[derive(Debug, Clone)]
pub struct ConsoleState {
    /// The database.
    pub store: Store,
    /// File contents (evidence, outboxes).
    pub vault: Vault,
    /// Reconciliation and dispute settings.
    pub reconcile: Arc<ReconcileSettings>,
    /// Clearing settings (positions of open windows, cut-off).
    pub clearing: Arc<ClearingSettings>,
    /// The largest evidence upload, bytes.
    pub max_upload_bytes: u64,
    templates: Arc<Environment<'static>>,
}

impl ConsoleState {
    /// The console's state.
    pub fn new(
        store: Store,
        vault: Vault,
        reconcile: ReconcileSettings,
        clearing: ClearingSettings,
    ) -> ConsoleState {
        ConsoleState {
            store,
            vault,
            reconcile: Arc::new(reconcile),
            clearing: Arc::new(clearing),
            max_upload_bytes: 64 << 20,
            templates: Arc::new(pages::templates()),
        }
    }
}

/// The console's router (pages, forms, exports), with its security headers.
pub fn router(state: ConsoleState) -> Router {
    pages::routes()
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

/// A signed-in staff member (the extractor redirects to the sign-in page otherwise).
#[derive(Debug, Clone)]
pub struct Staff {
    /// The session.
    pub session: Session,
    /// The SHA-256 of the session token.
    pub token_digest: String,
}

impl Staff {
    /// Whether the user's role is at least `role`.
    pub fn can(&self, role: StaffRole) -> bool {
        self.session.user.role >= role
    }

    /// Refuses (403) unless the user's role is at least `role`.
    pub fn require(&self, role: StaffRole) -> Result<(), ConsoleError> {
        if self.can(role) {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden(format!(
                "this needs the {role} role; {} is {}",
                self.session.user.name, self.session.user.role
            )))
        }
    }

    /// Refuses (403) a form whose CSRF token is not the session's.
    pub fn check_csrf(&self, token: &str) -> Result<(), ConsoleError> {
        if auth::same_token(token, &self.session.csrf) {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden(
                "the form is stale or not from this console (CSRF token); reload the page".into(),
            ))
        }
    }
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

impl FromRequestParts<ConsoleState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ConsoleState) -> Result<Self, Response> {
        let to_login = || Redirect::to("/login").into_response();
        let Some(token) = cookie(parts, SESSION_COOKIE) else {
            return Err(to_login());
        };
        let digest = auth::token_digest(&token);
        match state.store.session(&digest, Timestamp::now()).await {
            Ok(Some(session)) => Ok(Staff {
                session,
                token_digest: digest,
            }),
            Ok(None) => Err(to_login()),
            Err(e) => Err(ConsoleError::Internal(e.to_string()).into_response()),
        }
    }
}

/// What a console handler can answer instead of a page.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// 400.
    #[error("{0}")]
    BadRequest(String),
    /// 403.
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 500; logged, not shown.
    #[error("internal error")]
    Internal(String),
}

impl From<crate::store::StoreError> for ConsoleError {
    fn from(e: crate::store::StoreError) -> Self {
        ConsoleError::Internal(e.to_string())
    }
}

impl From<minijinja::Error> for ConsoleError {
    fn from(e: minijinja::Error) -> Self {
        ConsoleError::Internal(format!("template: {e:#}"))
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let status = match &self {
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::Forbidden(_) => StatusCode::FORBIDDEN,
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::Internal(detail) => {
                tracing::error!(%detail, "console: internal error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let text = self.to_string();
        let body = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>hutong console</title>\
             <link rel=\"stylesheet\" href=\"/static/console.css\"></head><body><main><h1>{}</h1>\
             <p class=\"error\">{}</p><p><a href=\"/days\">Back to the console</a></p></main></body></html>",
            status.as_u16(),
            html_escape(&text)
        );
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response()
    }
}

/// Escapes text for HTML.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The state extractor, re-exported for the pages.
pub(crate) type St = State<ConsoleState>;
