//! Connecting to the database, the SQLite writer discipline, and migrations.
//!
//! SQLite allows one writer at a time. A deferred transaction that reads and then writes
//! fails with `SQLITE_BUSY` at once when another connection holds the write lock, and
//! `busy_timeout` does not help it. So on SQLite every write goes through a pool of exactly
//! one connection: writers queue in the pool (in process, fairly) instead of racing for the
//! file lock, and "database is locked" cannot happen between our own writers. Reads use a
//! separate pool and, thanks to WAL, never block the writer nor are blocked by it.
//! On PostgreSQL both handles are the same pool and the database's row locks do the work.

use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Connection, Executor};

use crate::Result;
use crate::changes::Changes;
use crate::exec::SqliteReaders;
use crate::writer::{CheckoutWriter, sqlite_file};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The handle every repository works through. Clones share the pools and the change
/// tracking.
#[derive(Clone, Debug)]
pub struct Store {
    read: AnyPool,
    write: AnyPool,
    backend: Backend,
    url: String,
    /// SQLite on a file: checkouts go through the group-commit writer ([`crate::writer`]).
    checkout_writer: Option<Arc<CheckoutWriter>>,
    /// SQLite on a file: small bounded reads run in place ([`SqliteReaders`]).
    sqlite_readers: Option<Arc<SqliteReaders>>,
    tracking: Arc<Tracking>,
}

/// The data generation, and the means to start and stop its watcher. The watcher holds
/// only the [`Changes`] and a receiver, so dropping every `Store` clone stops it too.
#[derive(Debug)]
struct Tracking {
    changes: Arc<Changes>,
    started: AtomicBool,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Tracking {
    fn new() -> Arc<Self> {
        Arc::new(Tracking {
            changes: Arc::new(Changes::default()),
            started: AtomicBool::new(false),
            stop: tokio::sync::watch::Sender::new(false),
        })
    }
}

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static PG_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a pooled PostgreSQL connection may sit idle and still be handed out without a
/// ping first.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// The default database: a SQLite file in the working directory.
pub const DEFAULT_URL: &str = "sqlite://offerline.db?mode=rwc";

impl Store {
    /// Connects without migrating. `url` is `sqlite://…` or `postgres://…`. A SQLite file
    /// that does not exist is created unless the URL says otherwise with `?mode=…`.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(crate::StoreError::Invalid(format!(
                "unsupported database URL {:?}: use sqlite://… or postgres://…",
                redact_url(url)
            )));
        };
        match backend {
            Backend::Sqlite => {
                let url = sqlite_creating(url);
                Self::connect_sqlite(&url).await.map_err(|e| sqlite_open_error(&url, e))
            }
            Backend::Postgres => {
                let opts = AnyConnectOptions::from_str(url)?;
                // A connection is pinged before it is handed out only when it sat idle for a
                // while (one that PostgreSQL or the network may have dropped meanwhile): under
                // load every read would otherwise pay a round trip more, three per checkout.
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for >= PING_AFTER_IDLE {
                                conn.ping().await?;
                            }
                            Ok(true)
                        })
                    })
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(opts)
                    .await?;
                Ok(Store {
                    read: pool.clone(),
                    write: pool,
                    backend,
                    url: url.to_owned(),
                    checkout_writer: Some(Arc::new(crate::pg_writer::start(url.to_owned())?)),
                    sqlite_readers: None,
                    tracking: Tracking::new(),
                })
            }
        }
    }

    /// SQLite: the single-connection writer pool, the reader pool, and on a file the
    /// checkout writer and in-place readers. `url` already says whether to create the file.
    async fn connect_sqlite(url: &str) -> Result<Self> {
        let opts = AnyConnectOptions::from_str(url)?;
        // No ping before handing out a connection: a SQLite connection is a file
        // handle that cannot go away, and the ping is one more round trip to the
        // connection's worker thread on every query.
        let write = AnyPoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(sqlite_pragmas)
            .connect_with(opts.clone())
            .await?;
        let readers = std::thread::available_parallelism().map_or(4, |n| n.get() as u32 * 2).max(4);
        let read = AnyPoolOptions::new()
            .max_connections(readers)
            .min_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(sqlite_pragmas)
            .connect_with(opts)
            .await?;
        let (checkout_writer, sqlite_readers) = match sqlite_file(url)? {
            Some(path) => (
                Some(Arc::new(CheckoutWriter::start(path.clone(), write.clone())?)),
                Some(Arc::new(SqliteReaders::new(path))),
            ),
            None => (None, None),
        };
        Ok(Store {
            read,
            write,
            backend: Backend::Sqlite,
            url: url.to_owned(),
            checkout_writer,
            sqlite_readers,
            tracking: Tracking::new(),
        })
    }

    /// Connects and applies every pending migration.
    pub async fn open(url: &str) -> Result<Self> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATOR.run(&self.write).await?,
            Backend::Postgres => PG_MIGRATOR.run(&self.write).await?,
        }
        Ok(())
    }

    /// The pool for reads. On SQLite these never take the write lock.
    pub fn reader(&self) -> &AnyPool {
        &self.read
    }

    /// The pool for writes: on SQLite a single connection, so writers queue instead of
    /// failing with "database is locked".
    pub fn writer(&self) -> &AnyPool {
        &self.write
    }

    /// The group-commit checkout writer: on SQLite with a database file ([`crate::writer`]),
    /// and on PostgreSQL ([`crate::pg_writer`]).
    pub(crate) fn checkout_writer(&self) -> Option<&CheckoutWriter> {
        self.checkout_writer.as_deref()
    }

    /// Whether small reads run in place on the calling thread (a SQLite file): they never
    /// wait on the network, so a caller has no reason to share one with others.
    pub fn reads_in_place(&self) -> bool {
        self.sqlite_readers.is_some()
    }

    /// In-place SQLite readers, on SQLite with a database file.
    pub(crate) fn sqlite_readers(&self) -> Option<&SqliteReaders> {
        self.sqlite_readers.as_deref()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Starts a write transaction. On SQLite the single writer connection makes a deferred
    /// `BEGIN` safe; on PostgreSQL row locks and conditional updates keep limits exact.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(self.write.begin().await?)
    }

    /// `SELECT 1` on the read pool: what `/readyz` reports.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// The data generation caches compare against (see [`crate::changes`]).
    pub fn changes(&self) -> &Arc<Changes> {
        &self.tracking.changes
    }

    /// Starts the task that follows other connections' commits (once per store; later
    /// calls do nothing). Until it has connected, [`Changes::snapshot`] is `None` and caches
    /// are bypassed, so a store without a watcher (the CLI, `demo`) never serves stale data.
    /// Needs a Tokio runtime. The task ends when the store is closed or dropped.
    pub fn watch_changes(&self) {
        if self.tracking.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let stop = self.tracking.stop.subscribe();
        tokio::spawn(crate::changes::watch(self.backend, self.url.clone(), self.tracking.changes.clone(), stop));
    }

    pub async fn close(&self) {
        self.tracking.stop.send_replace(true);
        self.read.close().await;
        self.write.close().await;
    }
}

/// The URL with the password of its user info replaced by `***`, for messages and logs.
/// The user info is taken to end at the URL's last `@`, so a password holding an unencoded
/// `@` is hidden whole; an `@` later in the URL (in the query) hides more, never less.
pub fn redact_url(url: &str) -> String {
    match password_span(url) {
        Some((start, end)) => format!("{}***{}", &url[..start], &url[end..]),
        None => url.to_owned(),
    }
}

/// Where the password of `url` is (byte range), if it has one.
fn password_span(url: &str) -> Option<(usize, usize)> {
    let scheme_end = url.find("://")? + 3;
    let at = url.rfind('@').filter(|&at| at > scheme_end)?;
    let colon = url[scheme_end..at].find(':')? + scheme_end + 1;
    Some((colon, at))
}

/// The password of `url` as written, to scrub from a message that may quote it.
pub fn url_password(url: &str) -> Option<&str> {
    password_span(url).map(|(s, e)| &url[s..e]).filter(|p| !p.is_empty())
}

/// A SQLite URL that creates its file when missing: `mode=rwc` unless the URL gives a
/// `mode` itself or names an in-memory database.
fn sqlite_creating(url: &str) -> Cow<'_, str> {
    let query = url.split_once('?').map(|(_, q)| q);
    let has_mode = query.is_some_and(|q| q.split('&').any(|p| p.starts_with("mode=")));
    if has_mode || url.contains(":memory:") {
        return Cow::Borrowed(url);
    }
    let sep = if query.is_some() { '&' } else { '?' };
    Cow::Owned(format!("{url}{sep}mode=rwc"))
}

/// Why the SQLite database of `url` could not be opened, naming its file. SQLite's own
/// words ("unable to open database file") do not say what is wrong with the path, so the
/// common causes are told from the file system.
fn sqlite_open_error(url: &str, e: crate::StoreError) -> crate::StoreError {
    let path = match sqlite_file(url) {
        Ok(Some(path)) => path,
        _ => return crate::StoreError::Open { target: redact_url(url), reason: one_line(&e) },
    };
    let reason = diagnose_path(&path).unwrap_or_else(|| one_line(&e));
    crate::StoreError::Open { target: format!("SQLite database {}", path.display()), reason }
}

fn diagnose_path(path: &Path) -> Option<String> {
    if path.is_dir() {
        return Some("it is a directory".into());
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.exists() {
            return Some(format!("directory {} does not exist", parent.display()));
        }
        if !parent.is_dir() {
            return Some(format!("{} is not a directory", parent.display()));
        }
    }
    if !path.exists() {
        // Only reachable with a `mode` that does not create (`ro`, `rw`).
        return Some("no such file, and the URL's mode does not create it".into());
    }
    None
}

/// An error's message without the driver's prefix and on one line.
fn one_line(e: &crate::StoreError) -> String {
    let text = e.to_string();
    let text = text.strip_prefix("error returned from database: ").unwrap_or(&text);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

type ConnectFuture<'c> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), sqlx::Error>> + Send + 'c>>;

/// Per-connection SQLite settings. `synchronous=NORMAL` in WAL mode never loses a committed
/// transaction to a process crash (only to a power cut of the whole machine), which is the
/// trade every WAL deployment makes for commit latency.
fn sqlite_pragmas(conn: &mut sqlx::AnyConnection, _meta: sqlx::pool::PoolConnectionMetadata) -> ConnectFuture<'_> {
    Box::pin(async move {
        conn.execute(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; \
             PRAGMA busy_timeout=10000; PRAGMA cache_size=-32000; PRAGMA temp_store=MEMORY;",
        )
        .await?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_a_password_with_an_unencoded_at() {
        let url = "postgres://user:s3cr3t@p4ss@127.0.0.1:1/db";
        assert_eq!(redact_url(url), "postgres://user:***@127.0.0.1:1/db");
        assert_eq!(url_password(url), Some("s3cr3t@p4ss"));
        assert_eq!(redact_url("postgres://user:pw@host/db"), "postgres://user:***@host/db");
        assert_eq!(redact_url("postgres://user@host/db"), "postgres://user@host/db");
        assert_eq!(redact_url("sqlite://shop.db"), "sqlite://shop.db");
        assert_eq!(url_password("postgres://user@host/db"), None);
    }

    #[test]
    fn sqlite_urls_create_their_file_unless_a_mode_is_given() {
        assert_eq!(sqlite_creating("sqlite://shop.db"), "sqlite://shop.db?mode=rwc");
        assert_eq!(sqlite_creating("sqlite:///a/shop.db?cache=shared"), "sqlite:///a/shop.db?cache=shared&mode=rwc");
        assert_eq!(sqlite_creating("sqlite://shop.db?mode=ro"), "sqlite://shop.db?mode=ro");
        assert_eq!(sqlite_creating("sqlite::memory:"), "sqlite::memory:");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_missing_sqlite_file_is_created_and_an_unopenable_one_named() {
        let dir = std::env::temp_dir().join(format!("offerline-db-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("new.db");
        let _ = std::fs::remove_file(&file);
        let store = Store::open(&format!("sqlite://{}", file.display())).await.expect("created");
        store.close().await;
        assert!(file.exists());
        let missing = dir.join("nowhere").join("x.db");
        let err = Store::connect(&format!("sqlite://{}", missing.display())).await.unwrap_err().to_string();
        assert!(err.contains(&missing.display().to_string()) && err.contains("does not exist"), "{err}");
        let err = Store::connect(&format!("sqlite://{}", dir.display())).await.unwrap_err().to_string();
        assert!(err.contains("it is a directory"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
