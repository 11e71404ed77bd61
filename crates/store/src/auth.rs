//! Identities: users (staff and customers), API tokens, storefront sessions, and the API
//! clients of the Elastic Path dialect with their access tokens.
//!
//! Secrets are never stored: passwords as argon2id hashes, tokens, session ids and client
//! secrets as SHA-256 digests (they are random with ≥128 bits, so a fast digest is safe and
//! lets a request be authenticated with one indexed lookup).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError, is_unique_violation, now_micros};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub is_staff: bool,
    pub is_active: bool,
    pub date_joined: i64,
    pub last_login: Option<i64>,
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub is_staff: bool,
}

#[derive(Debug, Clone)]
pub struct ApiClient {
    pub id: i64,
    pub name: String,
    pub client_id: String,
}

const USER_COLS: &str =
    "id, username, email, first_name, last_name, phone, is_staff, is_active, date_joined, last_login";

fn user_from_row(r: &AnyRow) -> Result<User> {
    Ok(User {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        email: r.try_get("email")?,
        first_name: r.try_get("first_name")?,
        last_name: r.try_get("last_name")?,
        phone: r.try_get("phone")?,
        is_staff: r.try_get::<i64, _>("is_staff")? != 0,
        is_active: r.try_get::<i64, _>("is_active")? != 0,
        date_joined: r.try_get("date_joined")?,
        last_login: r.try_get("last_login")?,
    })
}

/// SHA-256 hex digest of a secret.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A random token of `bytes` bytes, hex-encoded.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// A random id of `len` characters from `[A-Za-z0-9]`: the storefront proxy only accepts
/// `\w+` session cookies.
pub fn random_alnum(len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..len).map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char).collect()
}

pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut rand::thread_rng());
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 with default params").to_string()
}

/// Constant-time by construction (argon2's verifier compares digests in constant time).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// At most this many argon2 computations (verifications and hashes) run at once, each on
/// Tokio's blocking pool: one costs tens of milliseconds of CPU, and run on the async
/// workers a few dozen concurrent logins would stall every endpoint. Excess ones wait for a
/// slot (asleep, not spinning), so a login flood slows logins, not `/healthz` or the ledger.
fn argon2_slots() -> &'static tokio::sync::Semaphore {
    static S: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    S.get_or_init(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())))
}

/// Runs `f` (an argon2 computation) on the blocking pool, bounded by [`argon2_slots`].
async fn off_workers<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let _slot = argon2_slots().acquire().await.map_err(|_| StoreError::Unavailable("argon2 slots closed".into()))?;
    tokio::task::spawn_blocking(f).await.map_err(|e| StoreError::Internal(format!("argon2 task failed: {e}")))
}

/// [`verify_password`] off the async workers. Without a `hash` (no such user) it verifies
/// against a dummy hash, so that a login for an unknown user costs the same time as one
/// with a wrong password; the dummy is made there too, never on a worker.
pub async fn verify_password_off_workers(password: &str, hash: Option<String>) -> bool {
    let password = password.to_owned();
    off_workers(move || verify_password(&password, hash.as_deref().unwrap_or_else(|| dummy_hash())))
        .await
        .unwrap_or(false)
}

/// [`hash_password`] off the async workers (creating a user hashes its password).
pub async fn hash_password_off_workers(password: &str) -> Result<String> {
    let password = password.to_owned();
    off_workers(move || hash_password(&password)).await
}

/// A password hash to verify against when the user does not exist.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("offerline-timing-equaliser"))
}

impl Store {
    /// Creates a user; its password is hashed off the async workers.
    pub async fn create_user(&self, u: NewUser<'_>) -> Result<User> {
        let hash = hash_password_off_workers(u.password).await?;
        let now = now_micros();
        let row = sqlx::query(&format!(
            "INSERT INTO users (username, email, first_name, last_name, password_hash, is_staff, is_active, date_joined) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7) RETURNING {USER_COLS}"
        ))
        .bind(u.username)
        .bind(u.email)
        .bind(u.first_name)
        .bind(u.last_name)
        .bind(hash)
        .bind(i64::from(u.is_staff))
        .bind(now)
        .fetch_one(self.writer())
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict { field: "username", message: "A user with that username already exists.".into() }
            } else {
                e.into()
            }
        })?;
        user_from_row(&row)
    }

    pub async fn user(&self, id: i64) -> Result<User> {
        let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound)?;
        user_from_row(&row)
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users WHERE username = $1"))
            .bind(username)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Checks a password for a user found by username (Omnitron) or by e-mail (storefront).
    /// Always runs one argon2 verification, found or not (off the async workers).
    pub async fn check_password(&self, by_email: bool, login: &str, password: &str) -> Result<Option<User>> {
        let sql = if by_email {
            format!(
                "SELECT {USER_COLS}, password_hash FROM users WHERE lower(email) = lower($1) AND email <> '' ORDER BY id LIMIT 1"
            )
        } else {
            format!("SELECT {USER_COLS}, password_hash FROM users WHERE username = $1")
        };
        let row = sqlx::query(&sql).bind(login).fetch_optional(self.reader()).await?;
        let (user, hash) = match &row {
            Some(r) => (Some(user_from_row(r)?), Some(r.try_get::<String, _>("password_hash")?)),
            None => (None, None),
        };
        let ok = verify_password_off_workers(password, hash).await;
        Ok(match user {
            Some(u) if ok && u.is_active => {
                sqlx::query("UPDATE users SET last_login = $1 WHERE id = $2")
                    .bind(now_micros())
                    .bind(u.id)
                    .execute(self.writer())
                    .await?;
                Some(u)
            }
            _ => None,
        })
    }

    /// Issues a new API token (40 hex characters, 160 random bits) that expires
    /// `ttl_micros` from now, and returns it; only its digest is kept.
    pub async fn issue_token(&self, user_id: i64, ttl_micros: i64) -> Result<String> {
        let token = random_hex(20);
        let now = now_micros();
        sqlx::query("INSERT INTO api_tokens (user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(user_id)
            .bind(digest(&token))
            .bind(now)
            .bind(now.saturating_add(ttl_micros))
            .execute(self.writer())
            .await?;
        Ok(token)
    }

    pub async fn user_by_token(&self, token: &str) -> Result<Option<User>> {
        Ok(self.user_by_token_digest(&digest(token)).await?.map(|(u, _)| u))
    }

    /// The user of a live token, by the token's digest (callers that key a cache by the
    /// digest hash the token once), with when the token expires (microseconds): a cache
    /// must not serve it past then. A revoked or expired token finds nobody.
    pub async fn user_by_token_digest(&self, token_digest: &str) -> Result<Option<(User, i64)>> {
        let row = sqlx::query(&format!(
            "SELECT {}, t.expires_at AS token_expires_at FROM users u JOIN api_tokens t ON t.user_id = u.id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2 AND u.is_active = 1",
            USER_COLS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ")
        ))
        .bind(token_digest)
        .bind(now_micros())
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(|r| Ok((user_from_row(r)?, r.try_get("token_expires_at")?))).transpose()
    }

    /// Revokes a token (it expires now, so the purge takes it too); returns whether it
    /// existed. Moves the data generation itself, so the revocation reaches token caches on
    /// the next request even when it is served on a `GET` (`/users/logout/` accepts one),
    /// which the API's write middleware lets pass.
    pub async fn revoke_token(&self, token: &str) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1, expires_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
        )
        .bind(now_micros())
        .bind(digest(token))
        .execute(self.writer())
        .await?;
        self.changes().bump();
        Ok(r.rows_affected() > 0)
    }

    /// Starts a storefront session; returns the cookie value.
    pub async fn create_session(&self, user_id: i64, ttl_micros: i64) -> Result<String> {
        let sid = random_alnum(40);
        let now = now_micros();
        sqlx::query("INSERT INTO sessions (user_id, session_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(user_id)
            .bind(digest(&sid))
            .bind(now)
            .bind(now + ttl_micros)
            .execute(self.writer())
            .await?;
        Ok(sid)
    }

    pub async fn user_by_session(&self, sid: &str) -> Result<Option<User>> {
        let row = sqlx::query(&format!(
            "SELECT {} FROM users u JOIN sessions s ON s.user_id = u.id \
             WHERE s.session_hash = $1 AND s.expires_at > $2 AND u.is_active = 1",
            USER_COLS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ")
        ))
        .bind(digest(sid))
        .bind(now_micros())
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn end_session(&self, sid: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE session_hash = $1").bind(digest(sid)).execute(self.writer()).await?;
        Ok(())
    }

    /// Creates an API client; returns it with its secret, which is shown only now.
    pub async fn create_client(&self, name: &str) -> Result<(ApiClient, String)> {
        let client_id = random_hex(16);
        let secret = random_hex(24);
        let id: i64 = sqlx::query(
            "INSERT INTO api_clients (name, client_id, secret_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(name)
        .bind(&client_id)
        .bind(digest(&secret))
        .bind(now_micros())
        .fetch_one(self.writer())
        .await?
        .try_get(0)?;
        Ok((ApiClient { id, name: name.to_owned(), client_id }, secret))
    }

    /// Finds a client by id, checking the secret when one is given (client_credentials);
    /// `None` for the implicit grant.
    pub async fn check_client(&self, client_id: &str, secret: Option<&str>) -> Result<Option<ApiClient>> {
        let row = sqlx::query("SELECT id, name, client_id, secret_hash FROM api_clients WHERE client_id = $1")
            .bind(client_id)
            .fetch_optional(self.reader())
            .await?;
        let Some(r) = row else { return Ok(None) };
        if let Some(secret) = secret {
            let stored: String = r.try_get("secret_hash")?;
            if !constant_time_eq(stored.as_bytes(), digest(secret).as_bytes()) {
                return Ok(None);
            }
        }
        Ok(Some(ApiClient { id: r.try_get("id")?, name: r.try_get("name")?, client_id: r.try_get("client_id")? }))
    }

    pub async fn issue_client_token(&self, client: i64, grant: &str, expires_at: i64) -> Result<String> {
        let token = random_hex(20);
        sqlx::query(
            "INSERT INTO client_tokens (api_client_id, token_hash, grant_type, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(client)
        .bind(digest(&token))
        .bind(grant)
        .bind(expires_at)
        .execute(self.writer())
        .await?;
        Ok(token)
    }

    /// The client and grant type behind a live access token.
    pub async fn client_by_token(&self, token: &str) -> Result<Option<(i64, String)>> {
        let row = sqlx::query(
            "SELECT api_client_id, grant_type FROM client_tokens WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(digest(token))
        .bind(chrono::Utc::now().timestamp())
        .fetch_optional(self.reader())
        .await?;
        Ok(match row {
            Some(r) => Some((r.try_get(0)?, r.try_get(1)?)),
            None => None,
        })
    }
}

/// Compares two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    /// Runs `work` on a one-thread runtime beside a task spawned just before it; true when
    /// that task ran before `work` finished, which it can only do if `work` gave the thread
    /// back while it computed (an argon2 run on the worker holds it to the end).
    fn lets_other_tasks_run<F: std::future::Future>(work: impl FnOnce() -> F) -> bool {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let ran = Arc::new(AtomicBool::new(false));
            let flag = Arc::clone(&ran);
            tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });
            work().await;
            ran.load(Ordering::SeqCst)
        })
    }

    /// Hashing a new user's password (`offerline user create`, the demo) and verifying one
    /// (every login, unknown users too) run on the blocking pool: the one runtime thread
    /// serves other tasks meanwhile.
    #[test]
    fn argon2_runs_off_the_async_workers() {
        assert!(lets_other_tasks_run(|| async { hash_password_off_workers("pw-123456").await.expect("hash") }));
        let hash = hash_password("pw-123456");
        assert!(lets_other_tasks_run(|| async {
            assert!(verify_password_off_workers("pw-123456", Some(hash)).await);
        }));
        assert!(lets_other_tasks_run(|| async { assert!(!verify_password_off_workers("x", None).await) }));
        // The check itself can fail: a hash on the runtime thread holds it to the end.
        assert!(!lets_other_tasks_run(|| async { hash_password("pw-123456") }));
    }
}
