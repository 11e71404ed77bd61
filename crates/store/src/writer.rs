//! The SQLite checkout writer: group commit on a thread of its own.
//!
//! SQLite has one writer. Through sqlx, each of a checkout's fifteen statements is a round
//! trip to the connection's worker thread, and the writer sits idle during every hand-off;
//! measured, those hand-offs, not SQLite, held checkout near 300 orders/s. Here one thread
//! owns a rusqlite connection and runs checkouts back to back, each statement a function
//! call:
//!
//! - checkouts queue on a channel; the thread takes every one waiting (at most
//!   [`MAX_BATCH`]) and writes them in ONE transaction, each inside a `SAVEPOINT`, so a
//!   refused checkout (a limit reached, a basket changed, a key already used) rolls back
//!   alone while the others stay;
//! - an answer goes out only after `COMMIT` succeeded. If the commit fails, every checkout
//!   of the batch gets the error and none of them was written: an acknowledged order is
//!   durable, an unacknowledged one does not exist;
//! - usage limits stay exact: the savepoints run one after another on the one writer, so
//!   each conditional claim sees the claims of the checkouts before it in the batch;
//! - a duplicate `Idempotency-Key` in the same batch finds the first checkout's stored
//!   response inside the transaction and is answered with it once the batch commits;
//! - the sqlx writer connection (every other write's) is held for the whole batch, so the
//!   two connections never race for SQLite's write lock inside this process; another
//!   process is waited for by `busy_timeout`.
//!
//! A batch commits once where N transactions committed N times, and pages several orders
//! touch (index leaves, usage counters) go to the WAL once. Under no load a batch is one
//! checkout, so latency does not wait for company.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use sqlx::AnyPool;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};

use crate::checkout::{CheckoutWrite, Render, Written, checkout_tx, claim_key, replayed, stored_response};
use crate::exec::{SqliteExec, complete};
use crate::{Result, StoreError};

/// Most checkouts written in one transaction. Bounds how long one commit keeps the others
/// (and every other writer) waiting.
pub const MAX_BATCH: usize = 64;

/// A checkout waiting for a batch, and where its answer goes (shared with
/// [`crate::pg_writer`]).
pub(crate) struct Job {
    pub(crate) write: Arc<CheckoutWrite>,
    pub(crate) render: Option<Render>,
    pub(crate) reply: oneshot::Sender<Result<Written>>,
}

/// The handle checkouts are submitted through, to this SQLite writer or to the PostgreSQL
/// one ([`crate::pg_writer`]). The thread stops when the last handle (the last clone of its
/// [`crate::Store`]) is dropped.
#[derive(Debug)]
pub struct CheckoutWriter {
    jobs: mpsc::UnboundedSender<Job>,
}

/// The database file of a SQLite URL, or `None` for an in-memory database (which a second
/// connection could not see, so checkouts stay on sqlx there).
pub fn sqlite_file(url: &str) -> Result<Option<PathBuf>> {
    let opts = sqlx::sqlite::SqliteConnectOptions::from_str(url)?;
    let file = opts.get_filename();
    let name = file.to_string_lossy();
    if url.contains(":memory:") || url.contains("mode=memory") || name.starts_with("file:") {
        return Ok(None);
    }
    Ok(Some(file.to_path_buf()))
}

impl CheckoutWriter {
    /// Starts the writer thread for the database at `path`. `gate` is the sqlx writer pool
    /// (one connection), held during each batch.
    pub fn start(path: PathBuf, gate: AnyPool) -> Result<Self> {
        let (jobs, queue) = mpsc::unbounded_channel();
        let runtime = Handle::current();
        std::thread::Builder::new()
            .name("offerline-checkout-writer".into())
            .spawn(move || run(&path, &gate, &runtime, queue))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the checkout writer: {e}")))?;
        Ok(CheckoutWriter { jobs })
    }

    /// A handle over a queue some other writer thread takes checkouts from.
    pub(crate) fn over(jobs: mpsc::UnboundedSender<Job>) -> Self {
        CheckoutWriter { jobs }
    }

    /// Queues a checkout and waits for its batch to commit.
    pub(crate) async fn submit(&self, write: Arc<CheckoutWrite>, render: Option<Render>) -> Result<Written> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Unavailable("the checkout writer has stopped".into());
        self.jobs.send(Job { write, render, reply }).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn run(path: &Path, gate: &AnyPool, runtime: &Handle, mut queue: mpsc::UnboundedReceiver<Job>) {
    let mut conn: Option<rusqlite::Connection> = None;
    while let Some(first) = queue.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let (work, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|j| ((j.write, j.render), j.reply)).unzip();
        let outcome = match conn.take().map_or_else(|| open(path), Ok) {
            Err(e) => Err(e),
            Ok(c) => {
                // In the runtime's context: the held connection goes back to its pool on drop,
                // which needs the runtime.
                let written = runtime.block_on(async {
                    let _held = gate.acquire().await?;
                    write_batch(&c, work)
                });
                conn = Some(c);
                written
            }
        };
        answer(replies, outcome);
    }
    tracing::debug!("checkout writer stopped");
}

/// Sends each checkout of a batch its result, once the batch has committed; when the batch
/// failed as a whole, every checkout gets the error (none of them was written).
pub(crate) fn answer(replies: Vec<oneshot::Sender<Result<Written>>>, outcome: Result<Vec<Result<Written>>>) {
    match outcome {
        Ok(results) => {
            tracing::debug!(checkouts = results.len(), "checkout batch committed");
            for (reply, r) in replies.into_iter().zip(results) {
                reply.send(r).ok();
            }
        }
        Err(e) => {
            tracing::error!(error = %e, checkouts = replies.len(), "checkout batch failed; nothing written");
            let message = e.to_string();
            for reply in replies {
                reply.send(Err(StoreError::Unavailable(message.clone()))).ok();
            }
        }
    }
}

/// The writer's connection, with the settings of every other connection of the store.
fn open(path: &Path) -> Result<rusqlite::Connection> {
    let c = rusqlite::Connection::open(path)?;
    c.execute_batch(
        "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000; \
         PRAGMA cache_size=-32000; PRAGMA temp_store=MEMORY;",
    )?;
    c.set_prepared_statement_cache_capacity(64);
    Ok(c)
}

/// Writes a batch in one transaction. `Err`: the batch as a whole failed (nothing written);
/// `Ok`: one result per checkout, in order, all committed that succeeded.
fn write_batch(
    conn: &rusqlite::Connection,
    work: Vec<(Arc<CheckoutWrite>, Option<Render>)>,
) -> Result<Vec<Result<Written>>> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let mut results = Vec::with_capacity(work.len());
    for (w, render) in work {
        match one(conn, &w, render) {
            Ok(r) => results.push(r),
            Err(e) => {
                conn.execute_batch("ROLLBACK").ok();
                return Err(e);
            }
        }
    }
    if let Err(e) = conn.execute_batch("COMMIT") {
        conn.execute_batch("ROLLBACK").ok();
        return Err(e.into());
    }
    Ok(results)
}

/// One checkout inside its savepoint. The outer `Err` means the transaction itself is in
/// doubt (a savepoint could not be taken or undone) and the batch must be abandoned.
fn one(conn: &rusqlite::Connection, w: &CheckoutWrite, render: Option<Render>) -> Result<Result<Written>> {
    conn.execute_batch("SAVEPOINT checkout")?;
    let mut ex = SqliteExec { conn };
    let done = complete(async {
        if !claim_key(&mut ex, w).await? {
            return Ok(None);
        }
        checkout_tx(&mut ex, w, render, None).await.map(Some)
    });
    match done {
        Ok(Some(out)) => {
            conn.execute_batch("RELEASE checkout")?;
            Ok(Ok(out))
        }
        Ok(None) => {
            conn.execute_batch("ROLLBACK TO checkout; RELEASE checkout")?;
            let Some(k) = &w.idempotency else {
                return Ok(Err(StoreError::Internal("a key was refused without one".into())));
            };
            Ok(complete(stored_response(&mut ex, k.user_id, &k.key)).and_then(replayed))
        }
        Err(e) => {
            conn.execute_batch("ROLLBACK TO checkout; RELEASE checkout")?;
            Ok(Err(e))
        }
    }
}
