//! Change tracking: one data generation per [`Store`](crate::Store), which in-memory caches
//! read before they read the database and compare later.
//!
//! A cache entry filled under generation `g` is valid only while the generation is still
//! `g`. The generation moves whenever the data may have changed:
//! - after every write request this process handled (the API's middleware calls
//!   [`Changes::bump`] once the handler has committed, before the response leaves), so a
//!   client always reads its own writes;
//! - when another connection committed — another `offerline serve` on the same database,
//!   `offerline generate`, `psql`, and also this process's own writer, which makes the
//!   watcher a backstop for in-process writes too. On SQLite a task polls `PRAGMA
//!   data_version` on a dedicated connection every [`SQLITE_POLL`]; the value changes when
//!   any *other* connection commits. On PostgreSQL statement-level triggers on the tables
//!   the caches read (migrations 0007 and 0008) `pg_notify('offerline_changes', <schema>)` and a
//!   `LISTEN` task bumps the generation on each notification for its own schema.
//!
//! Until the watcher has started, and whenever it has lost its connection, writes of other
//! processes would go unnoticed, so [`Changes::snapshot`] returns `None` and caches are
//! bypassed; the generation is bumped again when the watcher (re)connects, so nothing
//! filled before the gap survives it. The staleness bound for other processes' writes is
//! therefore the poll interval on SQLite and the notification latency on PostgreSQL.
//!
//! Besides stamping reads, a cache can wait for the generation to move ([`Changes::moved`]):
//! the offer cache (`offerline-app`) does, and then checks whether what it holds changed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sqlx::Connection;
use tokio::sync::{Notify, watch};

use crate::Backend;

/// How often the SQLite watcher reads `PRAGMA data_version`: the longest a write committed
/// by another process can stay unseen by this one's caches.
pub const SQLITE_POLL: Duration = Duration::from_millis(20);

/// How long the watcher waits before reconnecting after an error.
const RETRY: Duration = Duration::from_millis(500);

/// The PostgreSQL channel the change triggers notify (migrations 0007, 0008), with the changed
/// table's schema as payload: servers on other schemas of the same database skip it.
pub const CHANNEL: &str = "offerline_changes";

/// The data generation and whether it follows other processes' writes.
#[derive(Debug, Default)]
pub struct Changes {
    generation: AtomicU64,
    /// True while the watcher is connected and following other connections' commits.
    watching: AtomicBool,
    /// Wakes the tasks waiting in [`Changes::moved`] on every bump.
    moved: Notify,
}

impl Changes {
    /// The generation to stamp a read with, read *before* the database is read; `None`
    /// while no watcher follows other processes' writes (caches must then be bypassed).
    pub fn snapshot(&self) -> Option<u64> {
        if self.watching.load(Ordering::SeqCst) { Some(self.generation.load(Ordering::SeqCst)) } else { None }
    }

    /// Whether something read under `generation` may still be served.
    pub fn is_current(&self, generation: u64) -> bool {
        self.snapshot() == Some(generation)
    }

    /// The data may have changed: every value read before now is stale.
    pub fn bump(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.moved.notify_waiters();
    }

    /// The generation as it is, watched or not: for a task that follows changes with
    /// [`Changes::moved`] rather than stamping reads (use [`Changes::snapshot`] for that).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Resolves once the generation differs from `seen` (at once if it already does).
    pub async fn moved(&self, seen: u64) {
        loop {
            let notified = self.moved.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the generation is read, so a bump in between still wakes us.
            notified.as_mut().enable();
            if self.generation() != seen {
                return;
            }
            notified.await;
        }
    }

    /// Whether a watcher is connected (see the module doc).
    pub fn is_watching(&self) -> bool {
        self.watching.load(Ordering::SeqCst)
    }

    /// The watcher (re)connected: whatever happened while it was away is unknown, so bump,
    /// then let caches be used again.
    fn connected(&self) {
        self.bump();
        self.watching.store(true, Ordering::SeqCst);
    }

    /// The watcher lost its connection: bypass caches until it is back.
    fn disconnected(&self) {
        self.watching.store(false, Ordering::SeqCst);
        self.bump();
    }
}

/// Follows other connections' commits until `stop` turns true or its sender is dropped
/// (the store closed or was dropped). Never panics; errors are logged at debug and retried.
pub(crate) async fn watch(backend: Backend, url: String, changes: Arc<Changes>, mut stop: watch::Receiver<bool>) {
    tracing::debug!(?backend, "change watcher starting");
    loop {
        let lost = match backend {
            Backend::Sqlite => poll_sqlite(&url, &changes, &mut stop).await,
            Backend::Postgres => listen_postgres(&url, &changes, &mut stop).await,
        };
        changes.disconnected();
        match lost {
            None => break,
            Some(e) => tracing::debug!(error = %e, "change watcher lost its connection; retrying"),
        }
        tokio::select! {
            _ = stopped(&mut stop) => break,
            _ = tokio::time::sleep(RETRY) => {}
        }
    }
    changes.disconnected();
    tracing::debug!("change watcher stopped");
}

/// Resolves when the store is closing (or every handle to it is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// SQLite: `PRAGMA data_version` on one dedicated connection. Returns `None` when stopped,
/// else the error that broke the connection.
async fn poll_sqlite(url: &str, changes: &Changes, stop: &mut watch::Receiver<bool>) -> Option<sqlx::Error> {
    async fn version(conn: &mut sqlx::AnyConnection) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar::<_, i64>("PRAGMA data_version").fetch_one(conn).await
    }
    let mut conn = match sqlx::AnyConnection::connect(url).await {
        Ok(c) => c,
        Err(e) => return Some(e),
    };
    // Wait out a checkpoint or WAL recovery rather than drop the connection (which would
    // bypass the caches until the reconnect).
    if let Err(e) = sqlx::query("PRAGMA busy_timeout=1000").execute(&mut conn).await {
        return Some(e);
    }
    let mut last = match version(&mut conn).await {
        Ok(v) => v,
        Err(e) => return Some(e),
    };
    changes.connected();
    tracing::debug!("change watcher polling PRAGMA data_version");
    loop {
        tokio::select! {
            _ = stopped(stop) => {
                conn.close().await.ok();
                return None;
            }
            _ = tokio::time::sleep(SQLITE_POLL) => {}
        }
        match version(&mut conn).await {
            Ok(v) if v != last => {
                last = v;
                changes.bump();
            }
            Ok(_) => {}
            Err(e) => return Some(e),
        }
    }
}

/// PostgreSQL: `LISTEN offerline_changes`. Returns `None` when stopped, else the error that
/// broke the connection. A connection sqlx re-establishes on its own (`Ok(None)`) may have
/// missed notifications, so it counts as lost too and is reconnected here explicitly.
async fn listen_postgres(url: &str, changes: &Changes, stop: &mut watch::Receiver<bool>) -> Option<sqlx::Error> {
    let mut listener = match sqlx::postgres::PgListener::connect(url).await {
        Ok(l) => l,
        Err(e) => return Some(e),
    };
    if let Err(e) = listener.listen(CHANNEL).await {
        return Some(e);
    }
    // The schema our tables resolve to on this URL's search path; notifications from other
    // schemas are ignored. If it cannot be told, every notification counts.
    let schema: Option<String> = sqlx::query_scalar(
        "SELECT n.nspname::TEXT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.oid = to_regclass('orders')",
    )
    .fetch_optional(&mut listener)
    .await
    .ok()
    .flatten();
    let ours = |payload: &str| schema.as_deref().is_none_or(|s| payload.is_empty() || payload == s);
    changes.connected();
    tracing::debug!(?schema, "change watcher listening on {CHANNEL}");
    loop {
        tokio::select! {
            _ = stopped(stop) => return None,
            r = listener.try_recv() => match r {
                Ok(Some(n)) => {
                    let mut changed = ours(n.payload());
                    while let Some(n) = listener.next_buffered() {
                        changed |= ours(n.payload());
                    }
                    if changed {
                        changes.bump();
                    }
                }
                Ok(None) => {
                    let lost = std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "listener connection lost");
                    return Some(sqlx::Error::Io(lost));
                }
                Err(e) => return Some(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_are_none_until_watching_and_move_on_bump() {
        let c = Changes::default();
        assert_eq!(c.snapshot(), None);
        c.connected();
        let g = c.snapshot().expect("watching");
        assert!(c.is_current(g));
        c.bump();
        assert!(!c.is_current(g));
        let g2 = c.snapshot().expect("watching");
        c.disconnected();
        assert_eq!(c.snapshot(), None);
        assert!(!c.is_current(g2));
        c.connected();
        assert!(!c.is_current(g2), "a reconnect invalidates what was read before the gap");
    }

    #[tokio::test]
    async fn moved_wakes_a_waiter_on_the_next_bump_and_returns_at_once_after_one() {
        let c = Arc::new(Changes::default());
        let seen = c.generation();
        let waiter = tokio::spawn({
            let c = c.clone();
            async move { c.moved(seen).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        c.bump();
        tokio::time::timeout(Duration::from_secs(5), waiter).await.expect("woken").expect("joined");
        // Already moved: no wait at all (no bump is coming).
        tokio::time::timeout(Duration::from_millis(100), c.moved(seen)).await.expect("returns at once");
    }
}
