//! The Elastic Path dialect: `/oauth/access_token` and `/v2/…` (carts, custom discounts,
//! checkout, orders). Errors are JSON:API `{"errors": [{status, title, detail}]}`; amounts
//! are integer minor units with `formatted` strings.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::Extensions;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use offerline_app::identity::{self, ClientToken, Grant};
use serde_json::Value;

use crate::AppState;
use crate::elasticpath::wire::AccessToken;
use crate::http::ep_error::{EpError, EpResult};

/// An API client authenticated with `Authorization: Bearer <access_token>`, of either
/// grant: what a shopper may do (carts, their items, checkout).
pub struct Client {
    pub id: i64,
    pub grant: Grant,
}

/// An API client whose token came from `client_credentials` (it proved the secret): store
/// settings, custom discounts and orders. An `implicit` token gets 403
/// ([`Grant::is_trusted`]); a missing or bad one 401, as for [`Client`].
pub struct TrustedClient(pub Client);

const NEEDS_CREDENTIALS: &str = "This operation needs an access token from grant_type=client_credentials; \
     an implicit token may only use carts, their items, promotion codes and checkout.";

impl FromRequestParts<AppState> for TrustedClient {
    type Rejection = EpError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let client = Client::from_request_parts(parts, state).await?;
        if client.grant.is_trusted() { Ok(TrustedClient(client)) } else { Err(EpError::forbidden(NEEDS_CREDENTIALS)) }
    }
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

/// The caller's address, when the server was started with connection info (a router
/// driven without it, as in tests, has none: only the per-client rate applies).
fn peer(extensions: &Extensions) -> Option<std::net::IpAddr> {
    extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(a)| a.ip())
}

/// `POST /oauth/access_token`, form-encoded (or the same fields as a flat JSON object). The
/// response is **flat** JSON: the SDK reads `access_token` and `expires` from the top level.
/// Asked too often (per caller address or per client id, [`identity::client_token`]) → 429
/// with `Retry-After`.
pub(super) async fn access_token(
    State(state): State<AppState>,
    extensions: Extensions,
    body: axum::body::Bytes,
) -> EpResult<Json<AccessToken>> {
    // A form never fails to parse (JSON text reads as one odd field), so a body that looks
    // like a JSON object is read as one first: a flat object of the same fields.
    let json = body.trim_ascii_start().first() == Some(&b'{');
    let form: Vec<(String, String)> = if json {
        serde_json::from_slice::<serde_json::Map<String, Value>>(&body)
            .map(|m| m.into_iter().filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned()))).collect())
            .map_err(|_| {
                EpError::bad_request("The body is not a JSON object of grant_type, client_id[, client_secret].")
            })?
    } else {
        serde_urlencoded::from_bytes(&body).map_err(|_| {
            EpError::bad_request("The body must be form-encoded: grant_type, client_id[, client_secret].")
        })?
    };
    if form.iter().any(|(k, v)| k.contains('\0') || v.contains('\0')) {
        return Err(EpError::bad_request("Null characters are not allowed."));
    }
    let get = |k: &str| form.iter().find(|(p, _)| p == k).map(|(_, v)| v.as_str());
    let grant = get("grant_type").ok_or_else(|| EpError::bad_request("grant_type is required."))?;
    let client_id = get("client_id").ok_or_else(|| EpError::bad_request("client_id is required."))?;
    let grant = Grant::parse(grant).ok_or_else(|| {
        EpError::bad_request(format!("Unsupported grant_type {grant:?}: use client_credentials or implicit."))
    })?;
    let secret = match grant {
        Grant::ClientCredentials => {
            Some(get("client_secret").ok_or_else(|| EpError::bad_request("client_secret is required."))?)
        }
        Grant::Implicit => None,
    };
    let ClientToken { token, expires, expires_in } =
        identity::client_token(&state.app, client_id, secret, grant, peer(&extensions))
            .await?
            .ok_or_else(|| EpError::unauthorized("The client credentials are invalid."))?;
    Ok(Json(AccessToken {
        access_token: token,
        token_type: "Bearer".to_owned(),
        expires_in,
        expires,
        identifier: grant.as_str().to_owned(),
    }))
}
