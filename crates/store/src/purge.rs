//! Deleting what has expired: API tokens (revoked ones expire when revoked), storefront
//! sessions, Elastic Path access tokens, and idempotency keys older than their lifetime.
//!
//! Each table is purged by its own indexed column (migration 0010) in batches of
//! [`PURGE_BATCH`] rows, each batch a statement of its own: on SQLite a purge of a million
//! rows never holds the one writer for more than one batch at a time, and checkouts queue
//! between batches rather than behind the whole purge. A table with nothing expired gets one
//! indexed read and no write (on PostgreSQL a `DELETE` that matches nothing still fires
//! the change-notification triggers, which would empty every node's read caches).

use sqlx::Row;

use crate::{Result, Store};

/// Rows deleted per statement.
pub const PURGE_BATCH: i64 = 5_000;

/// What one purge deleted, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub api_tokens: u64,
    pub sessions: u64,
    pub client_tokens: u64,
    pub idempotency_keys: u64,
}

impl Purged {
    pub fn total(&self) -> u64 {
        self.api_tokens + self.sessions + self.client_tokens + self.idempotency_keys
    }
}

/// The instants before which rows are expired, each in its column's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgeCutoffs {
    /// `api_tokens.expires_at` and `sessions.expires_at`: microseconds; at or before it.
    pub now_micros: i64,
    /// `client_tokens.expires_at`: seconds; at or before it.
    pub now_secs: i64,
    /// `idempotency_keys.created_at`: microseconds; keys created at or before it.
    pub idempotency_created_before: i64,
}

impl Store {
    /// Deletes every expired row (see the module docs); returns how many per table.
    pub async fn purge_expired(&self, at: PurgeCutoffs) -> Result<Purged> {
        Ok(Purged {
            api_tokens: self.purge_table("api_tokens", "expires_at", at.now_micros).await?,
            sessions: self.purge_table("sessions", "expires_at", at.now_micros).await?,
            client_tokens: self.purge_table("client_tokens", "expires_at", at.now_secs).await?,
            idempotency_keys: self.purge_table("idempotency_keys", "created_at", at.idempotency_created_before).await?,
        })
    }

    /// Deletes the rows of `table` whose `column` is at or before `cutoff`, oldest first, a
    /// batch at a time: each batch ends at the [`PURGE_BATCH`]-th oldest expired value
    /// (rows sharing it go in the same batch), read from the column's index. `table` and
    /// `column` are this module's constants, never input.
    async fn purge_table(&self, table: &'static str, column: &'static str, cutoff: i64) -> Result<u64> {
        let mut deleted = 0;
        loop {
            let first =
                sqlx::query(&format!("SELECT {column} FROM {table} WHERE {column} <= $1 ORDER BY {column} LIMIT 1"))
                    .bind(cutoff)
                    .fetch_optional(self.reader())
                    .await?;
            if first.is_none() {
                return Ok(deleted);
            }
            let last: Option<i64> = sqlx::query(&format!(
                "SELECT {column} FROM {table} WHERE {column} <= $1 ORDER BY {column} LIMIT 1 OFFSET $2"
            ))
            .bind(cutoff)
            .bind(PURGE_BATCH - 1)
            .fetch_optional(self.reader())
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
            let upto = last.unwrap_or(cutoff).min(cutoff);
            let n = sqlx::query(&format!("DELETE FROM {table} WHERE {column} <= $1"))
                .bind(upto)
                .execute(self.writer())
                .await?
                .rows_affected();
            deleted += n;
            if last.is_none() || upto == cutoff {
                return Ok(deleted);
            }
        }
    }
}
