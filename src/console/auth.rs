//! Login, sessions and CSRF. The login form posts `username` and `password` to `/login`;
//! success sets an HttpOnly, SameSite=Strict session cookie. Every page and API call needs
//! a session (API calls answer 401, pages redirect to the form). Every change is a POST
//! that must carry the session's CSRF token (form field `csrf` or header `X-CSRF-Token`);
//! a request without it is refused with 403 before anything is done.

use super::{State, html};
use axum::extract::{Form, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const COOKIE: &str = "rk_console";
/// Sessions end after a day of inactivity.
const SESSION_IDLE: Duration = Duration::from_secs(24 * 3600);

pub struct Session {
    pub csrf: String,
    seen: Instant,
}

#[derive(Default)]
pub struct Sessions {
    by_token: HashMap<String, Session>,
}

fn random_token() -> String {
    crate::security::scram::random_bytes(24).iter().map(|b| format!("{b:02x}")).collect()
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == COOKIE).then(|| v.to_string())
    })
}

/// The CSRF token of the request's session, if it has one.
pub fn csrf_of(state: &State, headers: &HeaderMap) -> Option<String> {
    let token = cookie_token(headers)?;
    let mut s = state.sessions.lock().unwrap_or_else(|e| e.into_inner());
    let session = s.by_token.get_mut(&token)?;
    if session.seen.elapsed() > SESSION_IDLE {
        s.by_token.remove(&token);
        return None;
    }
    session.seen = Instant::now();
    Some(session.csrf.clone())
}

/// A refused change: its status and message.
pub struct Refused(StatusCode, &'static str);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

/// Checks the CSRF token a change carries against the session's (constant time).
pub fn check_csrf(state: &State, headers: &HeaderMap, sent: Option<&str>) -> Result<(), Refused> {
    let sent = sent.map(str::to_string).or_else(|| headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_string));
    match (csrf_of(state, headers), sent) {
        (Some(expected), Some(sent)) if crate::security::scram::constant_time_eq(expected.as_bytes(), sent.as_bytes()) => Ok(()),
        _ => Err(Refused(StatusCode::FORBIDDEN, "refused: missing or wrong CSRF token\n")),
    }
}

/// Refuses changes in --read-only mode.
pub fn check_writable(state: &State) -> Result<(), Refused> {
    if state.read_only {
        return Err(Refused(StatusCode::FORBIDDEN, "refused: the console runs with --read-only\n"));
    }
    Ok(())
}

pub async fn require_login(axum::extract::State(state): axum::extract::State<State>, req: Request, next: Next) -> Response {
    if csrf_of(&state, req.headers()).is_some() {
        return next.run(req).await;
    }
    if req.uri().path().starts_with("/api/") || req.method() != axum::http::Method::GET {
        return (StatusCode::UNAUTHORIZED, "log in first\n").into_response();
    }
    Redirect::to("/login").into_response()
}

pub async fn login_page() -> Html<String> {
    Html(html::login(None))
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

pub async fn login(axum::extract::State(state): axum::extract::State<State>, Form(f): Form<LoginForm>) -> Response {
    use crate::security::scram::constant_time_eq;
    let ok = constant_time_eq(f.username.as_bytes(), state.username.as_bytes())
        & constant_time_eq(f.password.as_bytes(), state.password.as_bytes());
    if !ok {
        // A failed login costs a moment, so passwords cannot be guessed quickly.
        tokio::time::sleep(Duration::from_millis(300)).await;
        return (StatusCode::UNAUTHORIZED, Html(html::login(Some("Wrong user name or password.")))).into_response();
    }
    let token = random_token();
    let mut s = state.sessions.lock().unwrap_or_else(|e| e.into_inner());
    s.by_token.retain(|_, v| v.seen.elapsed() < SESSION_IDLE);
    s.by_token.insert(token.clone(), Session { csrf: random_token(), seen: Instant::now() });
    let cookie = format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

#[derive(serde::Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

pub async fn logout(axum::extract::State(state): axum::extract::State<State>, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Response {
    if let Err(r) = check_csrf(&state, &headers, f.csrf.as_deref()) {
        return r.into_response();
    }
    if let Some(t) = cookie_token(&headers) {
        state.sessions.lock().unwrap_or_else(|e| e.into_inner()).by_token.remove(&t);
    }
    let cookie = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response()
}
