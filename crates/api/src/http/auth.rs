//! Who is calling: extractors for staff (Omnitron/OMS `Authorization: Token`) and customers
//! (storefront `Token` or the `osessionid` cookie); Elastic Path API clients (`Bearer`) have
//! theirs in their dialect. The login throttle is the application's
//! ([`offerline_app::identity`]).
//!
//! Missing or bad credentials are always 401 (omnisdk re-authenticates only on 401, and the
//! storefront signs the user out on 401); valid credentials without the right are 403.
//!
//! Tokens found in the database are remembered in a [`TokenCache`] while the store's data
//! generation does not move (any write request here, or any commit elsewhere, moves it; see
//! [`offerline_app::ops::Changes`]) and the token has not expired, so a logout or revocation
//! is seen by the very next request, and an expired token is refused (401) at once.

use std::collections::HashMap;
use std::sync::RwLock;

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use offerline_app::identity::{self, User};
use offerline_app::ops;

use crate::AppState;
use crate::http::error::ApiError;

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
    let key = match token_from(parts) {
        None => return Ok(None),
        Some(Err(e)) => return Err(e),
        Some(Ok(key)) => key,
    };
    let token_digest = identity::token_digest(&key);
    let changes = ops::changes(&state.app);
    let generation = changes.snapshot();
    if let Some(g) = generation
        && let Some(u) = state.tokens.get(&token_digest, g, now_micros())
    {
        return Ok(Some(u));
    }
    match identity::user_by_token_digest(&state.app, &token_digest).await? {
        Some((u, expires_at)) => {
            if let Some(g) = generation {
                state.tokens.insert(token_digest, g, u.clone(), expires_at, changes.snapshot());
            }
            Ok(Some(u))
        }
        None => Err(ApiError::Unauthenticated(BAD_TOKEN)),
    }
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// Token digest → user, each entry valid for the data generation it was read under and
/// until the token expires. Only tokens that were found are kept (an unknown token always
/// asks the database, so a token issued a moment ago by another process works at once).
/// Keyed by the SHA-256 digest, so no raw token is held here nor could reach a log through
/// it.
#[derive(Default)]
pub struct TokenCache {
    map: RwLock<HashMap<String, Entry>>,
}

struct Entry {
    generation: u64,
    user: User,
    /// When the token expires (microseconds since the epoch).
    expires_at: i64,
}

impl TokenCache {
    /// Entries kept at most; past it the cache is emptied and refills (tokens in use come
    /// back on their next request).
    pub const MAX_ENTRIES: usize = 10_000;

    /// The user of a token read under `generation`, unless it has expired by `now`.
    pub fn get(&self, token_digest: &str, generation: u64, now: i64) -> Option<User> {
        let map = self.map.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(token_digest).filter(|e| e.generation == generation && now < e.expires_at).map(|e| e.user.clone())
    }

    /// Keeps `user`, read under `generation`, whose token expires at `expires_at`, unless
    /// `current` shows it is already stale.
    pub fn insert(&self, token_digest: String, generation: u64, user: User, expires_at: i64, current: Option<u64>) {
        if current != Some(generation) {
            return;
        }
        let mut map = self.map.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= Self::MAX_ENTRIES {
            map.retain(|_, e| e.generation == generation);
            if map.len() >= Self::MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(token_digest, Entry { generation, user, expires_at });
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
            return match identity::user_by_session(&state.app, &sid).await? {
                Some(u) => Ok(Customer(u)),
                None => Err(ApiError::Unauthenticated(NO_CREDENTIALS)),
            };
        }
        Err(ApiError::Unauthenticated(NO_CREDENTIALS))
    }
}
