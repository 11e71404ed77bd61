//! The Elastic Path dialect: `/oauth/access_token` and `/v2/…` (carts, custom discounts,
//! checkout, orders). Errors are JSON:API `{"errors": [{status, title, detail}]}`; amounts
//! are integer minor units with `formatted` strings.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use offerline_app::identity::{self, ClientToken};
use serde_json::{Value, json};

use crate::AppState;
use crate::http::ep_error::{EpError, EpResult};

/// Access tokens live an hour, as Elastic Path's do.
pub const TOKEN_TTL_SECS: i64 = identity::CLIENT_TOKEN_TTL_SECS;

/// An API client authenticated with `Authorization: Bearer <access_token>`.
pub struct Client {
    pub id: i64,
    pub grant: String,
}

impl FromRequestParts<AppState> for Client {
    type Rejection = EpError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| EpError::unauthorized("You must provide a valid Bearer access token."))?;
        match identity::client_by_token(&state.app, token).await? {
            Some((id, grant)) => Ok(Client { id, grant }),
            None => Err(EpError::unauthorized("The access token is invalid or has expired.")),
        }
    }
}

/// `POST /oauth/access_token`, form-encoded. The response is **flat** JSON: the SDK reads
/// `access_token` and `expires` from the top level.
pub(super) async fn access_token(State(state): State<AppState>, body: axum::body::Bytes) -> EpResult<Json<Value>> {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .or_else(|_| {
            serde_json::from_slice::<serde_json::Map<String, Value>>(&body)
                .map(|m| m.into_iter().filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned()))).collect())
        })
        .map_err(|_| EpError::bad_request("The body must be form-encoded: grant_type, client_id[, client_secret]."))?;
    if form.iter().any(|(k, v)| k.contains('\0') || v.contains('\0')) {
        return Err(EpError::bad_request("Null characters are not allowed."));
    }
    let get = |k: &str| form.iter().find(|(p, _)| p == k).map(|(_, v)| v.as_str());
    let grant = get("grant_type").ok_or_else(|| EpError::bad_request("grant_type is required."))?;
    let client_id = get("client_id").ok_or_else(|| EpError::bad_request("client_id is required."))?;
    let secret = match grant {
        "client_credentials" => {
            Some(get("client_secret").ok_or_else(|| EpError::bad_request("client_secret is required."))?)
        }
        "implicit" => None,
        other => {
            return Err(EpError::bad_request(format!(
                "Unsupported grant_type {other:?}: use client_credentials or implicit."
            )));
        }
    };
    let ClientToken { token, expires } = identity::client_token(&state.app, client_id, secret, grant)
        .await?
        .ok_or_else(|| EpError::unauthorized("The client credentials are invalid."))?;
    Ok(Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": TOKEN_TTL_SECS,
        "expires": expires,
        "identifier": grant,
    })))
}
