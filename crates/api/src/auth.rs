//! Who is calling: extractors for staff (Omnitron/OMS `Authorization: Token`), customers
//! (storefront `Token` or the `osessionid` cookie), and Elastic Path API clients (`Bearer`),
//! plus the login throttle.
//!
//! Missing or bad credentials are always 401 (omnisdk re-authenticates only on 401, and the
//! storefront signs the user out on 401); valid credentials without the right are 403.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use offerline_store::auth::User;

use crate::AppState;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "osessionid";

const NO_CREDENTIALS: &str = "Authentication credentials were not provided.";
const BAD_TOKEN: &str = "Invalid token.";

/// The `Token` key of an `Authorization: Token <key>` header, if the header uses that scheme.
pub fn token_from(parts: &Parts) -> Option<Result<String, ApiError>> {
    let v = parts.headers.get(AUTHORIZATION)?;
    let s = v.to_str().ok()?.trim();
    let (scheme, rest) = s.split_once(' ').unwrap_or((s, ""));
    if !scheme.eq_ignore_ascii_case("token") {
        return None;
    }
    let key = rest.trim();
    if key.is_empty() || key.contains(' ') {
        return Some(Err(ApiError::Unauthenticated("Invalid token header. No credentials provided.")));
    }
    Some(Ok(key.to_owned()))
}

/// The value of the `osessionid` cookie.
pub fn session_from(parts: &Parts) -> Option<String> {
    parts.headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == SESSION_COOKIE && !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            .then(|| v.to_owned())
    })
}

async fn user_from_token(state: &AppState, parts: &Parts) -> Result<Option<User>, ApiError> {
    match token_from(parts) {
        None => Ok(None),
        Some(Err(e)) => Err(e),
        Some(Ok(key)) => match state.store.user_by_token(&key).await? {
            Some(u) => Ok(Some(u)),
            None => Err(ApiError::Unauthenticated(BAD_TOKEN)),
        },
    }
}

/// Any signed-in user, by token.
pub struct Authenticated(pub User);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        user_from_token(state, parts).await?.map(Authenticated).ok_or(ApiError::Unauthenticated(NO_CREDENTIALS))
    }
}

/// A staff user (back office, integrations, OMS).
pub struct Staff(pub User);

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Authenticated(u) = Authenticated::from_request_parts(parts, state).await?;
        if u.is_staff { Ok(Staff(u)) } else { Err(ApiError::Forbidden) }
    }
}

/// A storefront customer: `Authorization: Token` or the `osessionid` cookie (the Akinon
/// storefront proxy sends only the cookie). Staff users may act as customers too.
pub struct Customer(pub User);

impl FromRequestParts<AppState> for Customer {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(u) = user_from_token(state, parts).await? {
            return Ok(Customer(u));
        }
        if let Some(sid) = session_from(parts) {
            return match state.store.user_by_session(&sid).await? {
                Some(u) => Ok(Customer(u)),
                None => Err(ApiError::Unauthenticated(NO_CREDENTIALS)),
            };
        }
        Err(ApiError::Unauthenticated(NO_CREDENTIALS))
    }
}

/// Failed-login throttle: after [`Throttle::MAX_FAILURES`] failures for one login name
/// within the window, further attempts get 429 until the window passes. In-process: on a
/// multi-node PostgreSQL deployment each node throttles on its own (documented).
#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Throttle {
    pub const MAX_FAILURES: u32 = 5;
    pub const WINDOW: Duration = Duration::from_secs(300);

    /// `Err(seconds to wait)` when `login` is locked out.
    pub fn check(&self, login: &str) -> Result<(), u64> {
        let map = self.failures.lock().expect("throttle lock");
        match map.get(&login.to_lowercase()) {
            Some((n, since)) if *n >= Self::MAX_FAILURES && since.elapsed() < Self::WINDOW => {
                Err((Self::WINDOW - since.elapsed()).as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    pub fn fail(&self, login: &str) {
        let mut map = self.failures.lock().expect("throttle lock");
        if map.len() > 100_000 {
            map.retain(|_, (_, since)| since.elapsed() < Self::WINDOW);
        }
        let e = map.entry(login.to_lowercase()).or_insert((0, Instant::now()));
        if e.1.elapsed() >= Self::WINDOW {
            *e = (0, Instant::now());
        }
        e.0 += 1;
    }

    pub fn succeed(&self, login: &str) {
        self.failures.lock().expect("throttle lock").remove(&login.to_lowercase());
    }
}
