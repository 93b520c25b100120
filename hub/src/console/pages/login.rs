//! Sign-in and sign-out: password, client certificate, the session cookie.

use super::*;

pub(super) fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/login/cert", post(login_cert))
        .route("/logout", post(logout))
}

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
    match crate::console::cookie(&parts, LOGIN_COOKIE) {
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
