//! Who is calling: users (staff and customers) and how they sign in (a password for an API
//! token, and for a storefront customer a session too), their tokens and sessions, and the
//! Elastic Path API clients with their access tokens.
//!
//! The rules: a login for a name with too many recent failures is refused before the
//! password is checked ([`crate::throttle`]); a storefront session lasts
//! [`SESSION_TTL_MICROS`]; a client access token lasts [`CLIENT_TOKEN_TTL_SECS`]. Secrets are
//! looked up by their digest ([`token_digest`]), never stored.

pub use offerline_store::auth::{ApiClient, NewUser, User};
use offerline_store::now_micros;

use crate::error::{AppError, AppResult};
use crate::handle::App;

/// Storefront sessions last two weeks, as Django's default session age.
pub const SESSION_TTL_MICROS: i64 = 14 * 24 * 3600 * 1_000_000;

/// Client access tokens live an hour, as Elastic Path's do.
pub const CLIENT_TOKEN_TTL_SECS: i64 = 3600;

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

/// A back-office login by username: a new API token.
pub async fn staff_login(app: &App, username: &str, password: &str) -> AppResult<String> {
    let user = sign_in(app, false, username, password).await?;
    let key = app.store().issue_token(user.id).await?;
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

/// A storefront login by e-mail: a new API token and a session of [`SESSION_TTL_MICROS`].
pub async fn customer_login(app: &App, email: &str, password: &str) -> AppResult<CustomerLogin> {
    let user = sign_in(app, true, email, password).await?;
    let token = app.store().issue_token(user.id).await?;
    let session = app.store().create_session(user.id, SESSION_TTL_MICROS).await?;
    tracing::info!(user = user.id, "storefront login");
    Ok(CustomerLogin { token, session })
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

/// A new API token for `user` (the CLI and the demo hand them out).
pub async fn issue_token(app: &App, user: i64) -> AppResult<String> {
    Ok(app.store().issue_token(user).await?)
}

/// The user a token belongs to, by the token's [`token_digest`].
pub async fn user_by_token_digest(app: &App, digest: &str) -> AppResult<Option<User>> {
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

/// A client access token and when it expires (seconds since the epoch).
#[derive(Debug, Clone)]
pub struct ClientToken {
    pub token: String,
    pub expires: i64,
}

/// An access token of [`CLIENT_TOKEN_TTL_SECS`] for the client `client_id` under `grant`;
/// the secret is checked when one is given (`client_credentials`, not `implicit`). `None`
/// when the client or its secret is wrong.
pub async fn client_token(
    app: &App,
    client_id: &str,
    secret: Option<&str>,
    grant: &str,
) -> AppResult<Option<ClientToken>> {
    let Some(client) = app.store().check_client(client_id, secret).await? else { return Ok(None) };
    let expires = now_micros().div_euclid(1_000_000) + CLIENT_TOKEN_TTL_SECS;
    let token = app.store().issue_client_token(client.id, grant, expires).await?;
    Ok(Some(ClientToken { token, expires }))
}

/// The client id and grant type behind a live access token.
pub async fn client_by_token(app: &App, token: &str) -> AppResult<Option<(i64, String)>> {
    Ok(app.store().client_by_token(token).await?)
}
