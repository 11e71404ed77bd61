//! Who is calling: users (staff and customers) and how they sign in (a password for an API
//! token, and for a storefront customer a session too), their tokens and sessions, and the
//! Elastic Path API clients with their access tokens and what each [`Grant`] may do.
//!
//! The rules: a login for a name with too many recent failures is refused before the
//! password is checked ([`crate::throttle`]); API tokens, storefront sessions and client
//! access tokens live as long as the [`Policy`](crate::policy::Policy) says, from the moment
//! they are issued, and an expired one finds nobody; access tokens are asked for at most at
//! the policy's rates ([`crate::rate`]). Secrets are looked up by their digest
//! ([`token_digest`]), never stored.

use std::net::IpAddr;

pub use offerline_store::auth::{ApiClient, NewUser, User};
use offerline_store::now_micros;

use crate::error::{AppError, AppResult};
use crate::handle::App;
use crate::policy::micros;

/// What a failed login is told, whichever part was wrong.
const BAD_CREDENTIALS: &str = "Unable to log in with provided credentials.";

/// The digest a token (or any secret) is stored and looked up by: a cache of tokens may be
/// keyed by it without holding a raw token.
pub fn token_digest(secret: &str) -> String {
    offerline_store::auth::digest(secret)
}

/// The digest of the user's lower-cased e-mail (the storefront's `hashed_email`).
pub fn hashed_email(u: &User) -> String {
    token_digest(&u.email.to_lowercase())
}

// ---------------------------------------------------------------------------------------
// Users.

/// Creates a user; [`AppError::Conflict`] on a username already taken.
pub async fn create_user(app: &App, u: NewUser<'_>) -> AppResult<User> {
    Ok(app.store().create_user(u).await?)
}

pub async fn user_by_username(app: &App, username: &str) -> AppResult<Option<User>> {
    Ok(app.store().user_by_username(username).await?)
}

// ---------------------------------------------------------------------------------------
// Logins, tokens and sessions.

/// Checks `login`'s password through the throttle: refused with [`AppError::Throttled`]
/// while the name is locked out (attempts in flight count, so concurrent guesses cannot all
/// pass), with [`AppError::Refused`] on bad credentials (which
/// count towards the lock).
async fn sign_in(app: &App, by_email: bool, login: &str, password: &str) -> AppResult<User> {
    let attempt = app.throttle().begin(login).map_err(AppError::Throttled)?;
    match app.store().check_password(by_email, login, password).await {
        Ok(Some(user)) => {
            attempt.succeed();
            Ok(user)
        }
        Ok(None) => {
            attempt.fail();
            Err(AppError::Refused(BAD_CREDENTIALS.into()))
        }
        Err(e) => {
            attempt.release();
            Err(e.into())
        }
    }
}

/// A back-office login by username: a new API token of the policy's `token_ttl`.
pub async fn staff_login(app: &App, username: &str, password: &str) -> AppResult<String> {
    let user = sign_in(app, false, username, password).await?;
    let key = issue_token(app, user.id).await?;
    tracing::info!(user = user.id, "omnitron login");
    Ok(key)
}

/// What a customer is told when they try the back office's login: the same words as bad
/// credentials, so the form does not tell which accounts exist or are staff.
const NOT_STAFF: &str = BAD_CREDENTIALS;

/// Back-office sessions last a working day: staff sign in again each morning.
pub const BACK_OFFICE_SESSION_TTL_MICROS: i64 = 12 * 3600 * 1_000_000;

/// A back-office (web) login by username: the staff user and a new session of
/// [`BACK_OFFICE_SESSION_TTL_MICROS`]. Through the same throttle as every login; a
/// customer's right password is refused like a wrong one (and counts as a failure).
pub async fn back_office_login(app: &App, username: &str, password: &str) -> AppResult<(User, String)> {
    let attempt = app.throttle().begin(username).map_err(AppError::Throttled)?;
    let user = match app.store().check_password(false, username, password).await {
        Ok(Some(user)) if user.is_staff => {
            attempt.succeed();
            user
        }
        Ok(_) => {
            attempt.fail();
            return Err(AppError::Refused(NOT_STAFF.into()));
        }
        Err(e) => {
            attempt.release();
            return Err(e.into());
        }
    };
    let session = app.store().create_session(user.id, BACK_OFFICE_SESSION_TTL_MICROS).await?;
    tracing::info!(user = user.id, "back office login");
    Ok((user, session))
}

/// The staff user of a live session; `None` for an unknown or expired session and for a
/// customer's session (a storefront session never opens the back office).
pub async fn staff_by_session(app: &App, session: &str) -> AppResult<Option<User>> {
    Ok(app.store().user_by_session(session).await?.filter(|u| u.is_staff))
}

/// A storefront login: a new API token and a new session.
#[derive(Debug, Clone)]
pub struct CustomerLogin {
    pub token: String,
    pub session: String,
}

/// A storefront login by e-mail: a new API token and a session, each of the policy's
/// lifetime (`token_ttl`, `session_ttl`).
pub async fn customer_login(app: &App, email: &str, password: &str) -> AppResult<CustomerLogin> {
    let user = sign_in(app, true, email, password).await?;
    let token = issue_token(app, user.id).await?;
    let session = app.store().create_session(user.id, micros(app.policy().session_ttl)).await?;
    tracing::info!(user = user.id, "storefront login");
    Ok(CustomerLogin { token, session })
}

/// How long a storefront session lasts, in whole seconds (the cookie's `Max-Age`).
pub fn session_max_age(app: &App) -> u64 {
    app.policy().session_ttl.as_secs()
}

/// Ends the session and revokes the token the caller presented (either may be absent).
pub async fn logout(app: &App, session: Option<&str>, token: Option<&str>) -> AppResult<()> {
    if let Some(sid) = session {
        app.store().end_session(sid).await?;
    }
    if let Some(key) = token {
        app.store().revoke_token(key).await?;
    }
    Ok(())
}

/// A new API token for `user` of the policy's `token_ttl` (logins, the CLI and the demo).
pub async fn issue_token(app: &App, user: i64) -> AppResult<String> {
    Ok(app.store().issue_token(user, micros(app.policy().token_ttl)).await?)
}

/// The user a live token belongs to, by the token's [`token_digest`], with when the token
/// expires (microseconds since the epoch): whoever remembers the answer must not use it
/// past then.
pub async fn user_by_token_digest(app: &App, digest: &str) -> AppResult<Option<(User, i64)>> {
    Ok(app.store().user_by_token_digest(digest).await?)
}

/// The user of a live storefront session.
pub async fn user_by_session(app: &App, session: &str) -> AppResult<Option<User>> {
    Ok(app.store().user_by_session(session).await?)
}

// ---------------------------------------------------------------------------------------
// API clients.

/// Creates an API client; returns it with its secret, which is shown only now.
pub async fn create_client(app: &App, name: &str) -> AppResult<(ApiClient, String)> {
    Ok(app.store().create_client(name).await?)
}

/// How an Elastic Path access token was obtained, and so what it may do.
///
/// An `implicit` token needs only the public `client_id` (it is what a shopper's browser
/// holds): it may use carts, their items, promotion codes and checkout. Store settings,
/// custom discounts (which set any price) and reading orders need `client_credentials`,
/// which proves the secret: a back end's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    ClientCredentials,
    Implicit,
}

impl Grant {
    /// The grant named by a `grant_type`; `None` for any other.
    pub fn parse(s: &str) -> Option<Grant> {
        match s {
            "client_credentials" => Some(Grant::ClientCredentials),
            "implicit" => Some(Grant::Implicit),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Grant::ClientCredentials => "client_credentials",
            Grant::Implicit => "implicit",
        }
    }

    /// May change store settings, add, change or remove custom discounts, and read orders.
    pub fn is_trusted(self) -> bool {
        self == Grant::ClientCredentials
    }
}

/// A client access token, when it expires (seconds since the epoch) and how long it lives.
#[derive(Debug, Clone)]
pub struct ClientToken {
    pub token: String,
    pub expires: i64,
    pub expires_in: i64,
}

/// An access token of the policy's `client_token_ttl` for the client `client_id` under
/// `grant`; the secret is checked when one is given (`client_credentials`, not `implicit`).
/// `None` when the client or its secret is wrong.
///
/// Asked for at most at the policy's rates, per caller address (`peer`, checked before the
/// database is read) and per client id (checked once the client is known, so made-up ids
/// cannot crowd out a real one): past either, [`AppError::Throttled`] with the seconds to
/// wait, and nothing is written.
pub async fn client_token(
    app: &App,
    client_id: &str,
    secret: Option<&str>,
    grant: Grant,
    peer: Option<IpAddr>,
) -> AppResult<Option<ClientToken>> {
    let (per_peer, per_client) = app.token_requests();
    if let Some(ip) = peer {
        per_peer.check(&ip.to_string()).map_err(AppError::Throttled)?;
    }
    let Some(client) = app.store().check_client(client_id, secret).await? else {
        return Ok(None);
    };
    per_client.check(&client.client_id).map_err(AppError::Throttled)?;
    let ttl = i64::try_from(app.policy().client_token_ttl.as_secs()).unwrap_or(i64::MAX);
    let expires = now_micros().div_euclid(1_000_000).saturating_add(ttl);
    let token = app.store().issue_client_token(client.id, grant.as_str(), expires).await?;
    Ok(Some(ClientToken { token, expires, expires_in: ttl }))
}

/// The client id and grant behind a live access token. A grant the store holds but this
/// version does not know counts as [`Grant::Implicit`], the one with fewer rights.
pub async fn client_by_token(app: &App, token: &str) -> AppResult<Option<(i64, Grant)>> {
    let found = app.store().client_by_token(token).await?;
    Ok(found.map(|(id, grant)| (id, Grant::parse(&grant).unwrap_or(Grant::Implicit))))
}
