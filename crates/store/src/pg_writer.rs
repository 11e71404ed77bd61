//! The PostgreSQL checkout writer: group commit on one connection of its own.
//!
//! Every order applying an offer updates that offer's `offer_usage` row, so every checkout
//! of a popular offer writes the same few rows. PostgreSQL holds a row lock until the
//! transaction has committed, its WAL flushed to disk included, and the
//! change-notification triggers (migration 0007) take the database's notify lock for the
//! same stretch. With one transaction per checkout those two queued every checkout behind
//! the previous one's `fsync`: measured, about 350 orders/s whatever the concurrency, and a
//! bare two-row insert with one hot counter row tops out at the same figure
//! (`docs/PERFORMANCE.md`).
//!
//! So PostgreSQL checkouts are written in batches, like SQLite's ([`crate::writer`]): a
//! thread owns a connection ([`WRITERS`]), takes every checkout waiting (at most
//! [`MAX_BATCH`]) and writes them in ONE transaction, each inside a `SAVEPOINT`. The claims
//! without a limit (most of them: they only count) are held back and written for the whole
//! batch in one upsert per table just before its commit ([`OpenCounts`]): two statements
//! fewer per checkout on the writer's serial path, and the hot counter rows locked only for
//! the batch's last statement and commit. The notification is sent and the WAL flushed once
//! per batch. The rules are the SQLite writer's:
//!
//! - a refused checkout (a limit reached, a basket changed, an offer changed, a key already
//!   used, a statement failing — a deadlock with another transaction included) is rolled
//!   back to its savepoint and answered alone; the others stay;
//! - answers leave only after `COMMIT` succeeded. If the batch fails as a whole (the
//!   connection lost, the commit refused), every checkout of it gets the error and none was
//!   acknowledged; the connection is dropped and opened again for the next batch;
//! - usage limits stay exact: a limited claim is conditional and locks its row as before,
//!   and counts held back for its promotion are written before it; counts held back by a
//!   checkout that is then refused are forgotten with its savepoint. If writing the held
//!   counts fails, the batch is rolled back and written again with every claim in place;
//! - a duplicate `Idempotency-Key` in the same batch finds the first checkout's stored
//!   response inside the transaction; one in another transaction waits on the key's row
//!   lock, as before.
//!
//! Each thread runs its own single-threaded runtime, so its connection is read the moment
//! PostgreSQL answers instead of after whatever the server's workers are busy with, and it
//! prepares each statement once. Under no load a batch is one checkout, and a writer
//! connects at its first batch.

use std::sync::Arc;

use sqlx::{AnyConnection, Connection};
use tokio::sync::{Mutex, mpsc};

use crate::checkout::{CheckoutWrite, Render, Written, checkout_tx, claim_key, replayed, stored_response};
use crate::orders::OpenCounts;
use crate::writer::{CheckoutWriter, Job, MAX_BATCH, answer};
use crate::{Result, StoreError};

/// Writer threads (and connections): one. Two batches in flight deadlock as soon as two
/// checkouts of one customer (a duplicate request, a retry) land in both in opposite order
/// with another pair: each batch holds one customer's basket and key rows and waits for the
/// other's (measured: the duplicate-request tests fail with `deadlock detected`). One writer
/// never waits for itself; what it waits for is another transaction, as a checkout did
/// before. Spreading batches over several writers would need checkouts routed by the rows
/// they lock (customer, limited offers, vouchers).
pub const WRITERS: usize = 1;

type Queue = Arc<Mutex<mpsc::UnboundedReceiver<Job>>>;

/// How many times a batch that lost a deadlock is written again before its checkouts are
/// answered with the error.
const DEADLOCK_RETRIES: u32 = 8;

/// The pause before the `n`th rewrite of a batch that lost a deadlock: growing, and spread
/// by the clock's nanoseconds so two writers do not retry in step.
fn backoff(n: u32) -> std::time::Duration {
    let spread = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    std::time::Duration::from_micros(u64::from(n) * 2_000 + u64::from(spread % 5_000))
}

/// Starts the writer threads for the database at `url`. Each connects at its first batch;
/// they stop when the last handle is dropped.
pub(crate) fn start(url: String) -> Result<CheckoutWriter> {
    let (jobs, queue) = mpsc::unbounded_channel();
    let queue: Queue = Arc::new(Mutex::new(queue));
    let failed = |e: std::io::Error| StoreError::Unavailable(format!("cannot start the checkout writer: {e}"));
    for _ in 0..WRITERS {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(failed)?;
        let (url, queue) = (url.clone(), queue.clone());
        std::thread::Builder::new()
            .name("offerline-checkout-writer".into())
            .spawn(move || runtime.block_on(run(&url, &queue)))
            .map_err(failed)?;
    }
    Ok(CheckoutWriter::over(jobs))
}

/// The next batch: the first checkout waiting and every one queued behind it.
async fn next_batch(queue: &Queue) -> Option<Vec<Job>> {
    let mut queue = queue.lock().await;
    let mut batch = vec![queue.recv().await?];
    while batch.len() < MAX_BATCH {
        match queue.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    Some(batch)
}

async fn run(url: &str, queue: &Queue) {
    let mut conn: Option<AnyConnection> = None;
    while let Some(batch) = next_batch(queue).await {
        let (work, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|j| ((j.write, j.render), j.reply)).unzip();
        let connected = match conn.take() {
            Some(c) => Ok(c),
            None => AnyConnection::connect(url).await.map_err(StoreError::from),
        };
        let outcome = match connected {
            Err(e) => Err(e),
            Ok(mut c) => {
                let mut deadlocks = 0;
                let written = loop {
                    let written = match write_batch(&mut c, &work, true).await {
                        Ok(Err(e)) => {
                            tracing::warn!(error = %e, "writing a batch's usage counts failed; writing it again claim by claim");
                            write_batch(&mut c, &work, false).await.and_then(|r| r)
                        }
                        other => other.and_then(|r| r),
                    };
                    match written {
                        // Another transaction (another node's batch, a cancellation) locked
                        // the same counter rows in the other order, and PostgreSQL chose this
                        // batch: it was rolled back whole, its locks are gone and the other
                        // side finishes. Write it again after a pause that differs per
                        // writer, so two nodes' retries do not meet again.
                        Err(e) if e.is_retryable() && deadlocks < DEADLOCK_RETRIES => {
                            deadlocks += 1;
                            tracing::info!(error = %e, deadlocks, checkouts = work.len(), "a checkout batch lost a deadlock; writing it again");
                            tokio::time::sleep(backoff(deadlocks)).await;
                        }
                        other => break other,
                    }
                };
                // After a failed batch the connection's state is unknown: open a new one.
                if written.is_ok() {
                    conn = Some(c);
                }
                written
            }
        };
        answer(replies, outcome);
    }
    tracing::debug!("checkout writer stopped");
}

/// Runs statements without parameters in one round trip (the simple query protocol).
async fn raw(conn: &mut AnyConnection, sql: &'static str) -> Result<()> {
    sqlx::raw_sql(sql).execute(conn).await?;
    Ok(())
}

/// Writes a batch in one transaction, the claims without a limit held back to its end when
/// `hold`. `Err`: the batch as a whole failed (nothing acknowledged); `Ok(Err)`: writing the
/// held counts failed and the transaction was rolled back (nothing written); `Ok(Ok)`: one
/// result per checkout, in order, all committed that succeeded.
async fn write_batch(
    conn: &mut AnyConnection,
    work: &[(Arc<CheckoutWrite>, Option<Render>)],
    hold: bool,
) -> Result<Result<Vec<Result<Written>>>> {
    let mut results = Vec::with_capacity(work.len());
    let mut held = OpenCounts::default();
    // What opens the next checkout's savepoint, in the same round trip as what the previous
    // one left to do: begin the transaction, or release the savepoint of a written checkout
    // (the last one's is committed with the transaction).
    let mut open = "BEGIN; SAVEPOINT checkout";
    for (w, render) in work {
        match one(conn, open, w, *render, hold.then_some(&mut held)).await {
            Ok((r, released)) => {
                open = if released { "SAVEPOINT checkout" } else { "RELEASE SAVEPOINT checkout; SAVEPOINT checkout" };
                results.push(r);
            }
            Err(e) => {
                raw(conn, "ROLLBACK").await.ok();
                return Err(e);
            }
        }
    }
    if !held.is_empty()
        && let Err(e) = held.write(conn).await
    {
        raw(conn, "ROLLBACK").await?;
        return Ok(Err(e));
    }
    raw(conn, "COMMIT").await?;
    Ok(Ok(results))
}

/// One checkout inside its savepoint, opened by `open`; also whether the savepoint was
/// released already (a refused checkout's, undone). The outer `Err` means the transaction
/// itself is in doubt (a savepoint could not be taken or undone) and the batch must be
/// abandoned.
async fn one(
    conn: &mut AnyConnection,
    open: &'static str,
    w: &CheckoutWrite,
    render: Option<Render>,
    mut held: Option<&mut OpenCounts>,
) -> Result<(Result<Written>, bool)> {
    raw(conn, open).await?;
    // The counts as they were at the savepoint, for a rollback to it to restore.
    let before = held.as_deref().cloned();
    let done = async {
        if !claim_key(conn, w).await? {
            return Ok(None);
        }
        checkout_tx(conn, w, render, held.as_deref_mut()).await.map(Some)
    }
    .await;
    if !matches!(done, Ok(Some(_)))
        && let (Some(held), Some(before)) = (held, before)
    {
        *held = before;
    }
    match done {
        Ok(Some(out)) => Ok((Ok(out), false)),
        Ok(None) => {
            // The refused insert aborted the savepoint: undo it, read the stored answer, and
            // undo again, so that a failing read cannot leave the batch's transaction aborted
            // (PostgreSQL would then turn its COMMIT into a rollback without an error).
            raw(conn, "ROLLBACK TO SAVEPOINT checkout").await?;
            let stored = match &w.idempotency {
                Some(k) => stored_response(conn, k.user_id, &k.key).await.and_then(replayed),
                None => Err(StoreError::Internal("a key was refused without one".into())),
            };
            raw(conn, "ROLLBACK TO SAVEPOINT checkout; RELEASE SAVEPOINT checkout").await?;
            Ok((stored, true))
        }
        // A deadlock: the batch holds the rows its earlier checkouts locked, so this one
        // cannot simply be tried again inside it; the whole batch is rolled back and written
        // again (`run`).
        Err(e) if e.is_retryable() => Err(e),
        Err(e) => {
            raw(conn, "ROLLBACK TO SAVEPOINT checkout; RELEASE SAVEPOINT checkout").await?;
            Ok((Err(e), true))
        }
    }
}
