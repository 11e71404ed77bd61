//! Signing in to the back office and the guards of every page.
//!
//! A login (username and password, staff only, through the application's login throttle)
//! opens a session stored like the storefront's (`sessions`, by digest); its id travels in
//! the `odash` cookie — `HttpOnly`, `SameSite=Strict`, `Path=/dashboard` — so no script reads
//! it, no other site's form sends it, and no other part of offerline receives it.
//!
//! [`Session`] guards each page: without a live staff session the browser is sent to the
//! login page (302). [`Write`] guards each form that writes: the session, then the form's
//! `csrf_token`, which must be the session's own ([`csrf_token`]); a write without it is 403.
//! The login form, written before any session exists, carries a token of its own that must
//! match its `odash_login` cookie (`SameSite=Strict`, so another site's form cannot send it):
//! no other site can sign a browser in to an account of its choosing.

use axum::extract::{Form, FromRequest, FromRequestParts, Request, State};
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use offerline_app::identity::{self, BACK_OFFICE_SESSION_TTL_MICROS, User};

use super::page::{DashError, layout, respond, see_other};
use crate::AppState;

/// The back office's session cookie.
pub const COOKIE_NAME: &str = "odash";

/// The CSRF token of a session: a digest of the session id under a purpose of its own, so it
/// is fixed for the session, differs between sessions, and cannot be computed without the
/// session id (which scripts and other sites never see).
pub fn csrf_token(session_id: &str) -> String {
    identity::token_digest(&format!("offerline back office csrf:{session_id}"))
}

/// The login form's own token cookie (see [`login_form`]).
const LOGIN_COOKIE: &str = "odash_login";

/// The value of cookie `name` when it is a plain alphanumeric token.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == name && !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric())).then(|| v.to_owned())
    })
}

/// The session id in the request's `odash` cookie.
fn session_id(parts: &Parts) -> Option<String> {
    cookie(&parts.headers, COOKIE_NAME)
}

/// A signed-in staff user of the back office.
pub struct Session {
    pub user: User,
    id: String,
    pub csrf: String,
}

impl Session {
    /// The hidden field every writing form carries.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf_token" value=(self.csrf); }
    }
}

/// 302 to the login page.
fn to_login() -> Response {
    (StatusCode::FOUND, [(LOCATION, HeaderValue::from_static("/dashboard/login/"))]).into_response()
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(id) = session_id(parts) else { return Err(to_login()) };
        match identity::staff_by_session(&state.app, &id).await {
            Ok(Some(user)) => Ok(Session { user, csrf: csrf_token(&id), id }),
            Ok(None) => Err(to_login()),
            Err(e) => Err(DashError::from(e).into_response()),
        }
    }
}

/// A submitted form, as ordered pairs (a field may repeat, like the units of a cancellation).
#[derive(Debug, Default, Clone)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    /// The last value of `key`, trimmed; `None` when absent or blank.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }

    /// Every non-blank value of `key`, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }
}

/// A writing form from a signed-in staff user, its CSRF token checked.
pub struct Write {
    pub session: Session,
    pub form: FormData,
}

impl FromRequest<AppState> for Write {
    type Rejection = Response;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let session = Session::from_request_parts(&mut parts, state).await?;
        let req = Request::from_parts(parts, body);
        // A body that is not a form carries no token either: refused as a write without one.
        let pairs = Form::<Vec<(String, String)>>::from_request(req, state).await.map(|f| f.0).unwrap_or_default();
        let form = FormData(pairs);
        if form.get("csrf_token") != Some(session.csrf.as_str()) {
            return Err(DashError::Forbidden(
                "The form's CSRF token is missing or wrong: reload the page and try again.",
            )
            .into_response());
        }
        Ok(Write { session, form })
    }
}

/// `GET /dashboard/`: where to go from here.
pub(super) async fn home(session: Session) -> Response {
    respond(
        StatusCode::OK,
        layout(
            "Back office",
            Some(&session),
            html! {
                section {
                    p { "Signed in as " strong { (session.user.username) } "." }
                    ul {
                        li { a href="/dashboard/promotions/" { "Promotions" } ": status, usage, create and edit, vouchers" }
                        li { a href="/dashboard/preview/" { "Preview" } ": price a basket against the live promotions" }
                        li { a href="/dashboard/orders/" { "Orders" } ": the ledger of each order, cancel and refund" }
                        li { a href="/dashboard/cancellations/" { "Cancellation queue" } ": customers' requests" }
                        li { a href="/dashboard/reports/" { "Reports" } ": discount per promotion over a period" }
                    }
                }
            },
        ),
    )
}

fn login_page(status: StatusCode, token: &str, username: &str, error: Option<&str>) -> Response {
    let mut resp = respond(
        status,
        layout(
            "Log in",
            None,
            html! {
                section {
                    @if let Some(e) = error { p.error role="alert" { (e) } }
                    form method="post" action="/dashboard/login/" {
                        input type="hidden" name="login_token" value=(token);
                        div.field {
                            label for="username" { "Username" }
                            input #username name="username" type="text" autocomplete="username" required value=(username);
                        }
                        div.field {
                            label for="password" { "Password" }
                            input #password name="password" type="password" autocomplete="current-password" required;
                        }
                        button type="submit" { "Log in" }
                    }
                }
            },
        ),
    );
    let cookie = format!("{LOGIN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/dashboard; Max-Age=3600");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(SET_COOKIE, v);
    }
    resp
}

/// `GET /dashboard/login/`: the form, with a fresh login token in the form and its cookie.
pub(super) async fn login_form() -> Response {
    login_page(StatusCode::OK, &uuid::Uuid::new_v4().simple().to_string(), "", None)
}

/// `POST /dashboard/login/`: a staff session and its cookie, or the form again with why not.
pub(super) async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let form = FormData(pairs);
    let token = match (cookie(&headers, LOGIN_COOKIE), form.get("login_token")) {
        (Some(c), Some(t)) if c == t => c,
        _ => {
            return DashError::Forbidden("The login form's token is missing or wrong: reload the page and try again.")
                .into_response();
        }
    };
    let username = form.get("username").unwrap_or_default().to_owned();
    let password = form.0.iter().rev().find(|(k, _)| k == "password").map(|(_, v)| v.as_str()).unwrap_or_default();
    if username.is_empty() || password.is_empty() {
        return login_page(StatusCode::BAD_REQUEST, &token, &username, Some("Enter your username and password."));
    }
    match identity::back_office_login(&state.app, &username, password).await {
        Ok((_, sid)) => {
            let mut resp = see_other("/dashboard/");
            let cookie = format!(
                "{COOKIE_NAME}={sid}; HttpOnly; SameSite=Strict; Path=/dashboard; Max-Age={}",
                BACK_OFFICE_SESSION_TTL_MICROS / 1_000_000
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().insert(SET_COOKIE, v);
            }
            resp
        }
        Err(offerline_app::AppError::Refused(m)) => login_page(StatusCode::BAD_REQUEST, &token, &username, Some(&m)),
        Err(offerline_app::AppError::Throttled(secs)) => login_page(
            StatusCode::TOO_MANY_REQUESTS,
            &token,
            &username,
            Some(&format!("Too many failed logins. Try again in {secs} seconds.")),
        ),
        Err(e) => DashError::from(e).into_response(),
    }
}

/// `POST /dashboard/logout/`: the session ends and its cookie is cleared.
pub(super) async fn logout(State(state): State<AppState>, w: Write) -> Response {
    if let Err(e) = identity::logout(&state.app, Some(&w.session.id), None).await {
        return DashError::from(e).into_response();
    }
    let mut resp = see_other("/dashboard/login/");
    resp.headers_mut()
        .insert(SET_COOKIE, HeaderValue::from_static("odash=; HttpOnly; SameSite=Strict; Path=/dashboard; Max-Age=0"));
    resp
}
