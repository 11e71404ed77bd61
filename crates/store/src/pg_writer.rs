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
//! thread owns a connection ([`WRITERS`]) and takes every checkout waiting (at most
//! [`MAX_BATCH`]). A batch is written in two parts, each a transaction of its own:
//!
//! 1. its plain checkouts — no idempotency key, no voucher, no limit to claim — together,
//!    in one round trip whatever their number (`pg_bulk`): one statement per batch draws
//!    the ids, checks the promotions, writes every order's rows, its usage counts included,
//!    and commits. They are answered as soon as it has committed. If anything in it fails
//!    (a basket or an offer changed since it was priced, an order number taken, a
//!    deadlock), nothing of it is written and every checkout of the batch goes to the second
//!    part;
//! 2. the others one by one, each inside a `SAVEPOINT` of one transaction. The claims
//!    without a limit are held back and written for the whole part in one upsert per table,
//!    sent with its `COMMIT` in one round trip ([`OpenCounts`]).
//!
//! The notification is sent and the WAL flushed once per part. The rules are the SQLite
//! writer's:
//!
//! - a refused checkout (a limit reached, a basket changed, an offer changed, a key already
//!   used, a statement failing — a deadlock with another transaction included) is rolled
//!   back to its savepoint and answered alone; the others stay;
//! - answers leave only after the `COMMIT` of the part that wrote them succeeded. If a part
//!   fails as a whole (the connection lost, the commit refused), every checkout of it gets
//!   the error and none was acknowledged; the connection is dropped and opened again for the
//!   next batch;
//! - usage limits stay exact: only checkouts without a limit to claim (as priced, and as the
//!   promotions' rows say inside the writer) are written in the first part, and their counts
//!   are committed before the second part starts; in the second, a limited claim is
//!   conditional and locks its row as before, and counts held back for its promotion are
//!   written before it; counts held back by a checkout that is then refused are forgotten
//!   with its savepoint. If writing the held counts fails, the part is rolled back and
//!   written again with every claim in place;
//! - a duplicate `Idempotency-Key` in the same batch finds the first checkout's stored
//!   response inside the transaction; one in another transaction waits on the key's row
//!   lock, as before.
//!
//! Each thread runs its own single-threaded runtime, so its connection is read the moment
//! PostgreSQL answers instead of after whatever the server's workers are busy with, and it
//! prepares each statement once. Under no load a batch is one checkout, and a writer
//! connects at its first batch.

use std::sync::Arc;

use sqlx::{Connection, PgConnection};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::checkout::{
    CheckoutOutcome, CheckoutWrite, Render, Written, checkout_tx, claim_key, replayed, stored_response,
};
use crate::orders::OpenCounts;
use crate::pg_bulk::{self, Outcome};
use crate::writer::{CheckoutWriter, Job, MAX_BATCH, answer};
use crate::{Result, StoreError};

/// Writer threads (and connections): one. Two batches in flight deadlock as soon as two
/// checkouts of one customer (a duplicate request, a retry) land in both in opposite order
/// with another pair: each batch holds one customer's basket and key rows and waits for the
/// other's (measured: the duplicate-request tests fail with `deadlock detected`). One writer
/// never waits for itself; what it waits for is another transaction, as a checkout did
/// before. Spreading batches over several writers would need checkouts routed by the rows
/// they lock (customer, limited offers, vouchers); measured with the first part's two
/// round trips, two or three writers sharing the queue made fewer orders per second than
/// one on the 2-core machine (smaller batches, each with its own commit and counter-row
/// waits).
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

type Work = Vec<(Arc<CheckoutWrite>, Option<Render>)>;
type Reply = oneshot::Sender<Result<Written>>;

async fn run(url: &str, queue: &Queue) {
    let mut conn: Option<PgConnection> = None;
    while let Some(batch) = next_batch(queue).await {
        let (work, replies): (Work, Vec<_>) = batch.into_iter().map(|j| ((j.write, j.render), j.reply)).unzip();
        let connected = match conn.take() {
            Some(c) => Ok(c),
            None => PgConnection::connect(url).await.map_err(StoreError::from),
        };
        match connected {
            Err(e) => answer(replies, Err(e)),
            Ok(mut c) => {
                // After a failed part the connection's state is unknown: open a new one.
                if !write_all(&mut c, work, replies).await.failed {
                    conn = Some(c);
                }
            }
        }
    }
    tracing::debug!("checkout writer stopped");
}

/// What [`write_all`] did.
struct Wrote {
    /// How many checkouts the first part wrote together.
    together: usize,
    /// A part failed as a whole: the connection is not to be used again.
    failed: bool,
}

/// Writes a batch, its plain checkouts first and then the others (see the module docs),
/// and answers every checkout.
async fn write_all(conn: &mut PgConnection, work: Work, replies: Vec<Reply>) -> Wrote {
    let mut replies: Vec<Option<Reply>> = replies.into_iter().map(Some).collect();
    let mut together = 0;
    match pg_bulk::write(conn, &work).await {
        Ok(Outcome::Written(results)) => {
            for (r, reply) in results.into_iter().zip(&mut replies) {
                if let Some(r) = r
                    && let Some(reply) = reply.take()
                {
                    reply.send(r).ok();
                    together += 1;
                }
            }
            if together > 0 {
                tracing::debug!(checkouts = together, "plain checkouts committed together");
            }
        }
        Ok(Outcome::Fallback(why)) => {
            tracing::info!(why, checkouts = work.len(), "writing a checkout batch one by one");
        }
        // Nothing of it was written; if the connection is gone, the second part finds out.
        Err(e) => tracing::info!(error = %e, checkouts = work.len(), "writing a checkout batch one by one"),
    }
    let (rest, replies): (Work, Vec<Reply>) =
        work.into_iter().zip(replies).filter_map(|(w, reply)| reply.map(|r| (w, r))).unzip();
    if rest.is_empty() {
        return Wrote { together, failed: false };
    }
    let written = one_by_one(conn, &rest).await;
    let failed = written.is_err();
    answer(replies, written);
    Wrote { together, failed }
}

/// Writes checkouts one by one in one transaction, again as long as it loses deadlocks or
/// holding the counts failed; one result per checkout, in order.
async fn one_by_one(
    conn: &mut PgConnection,
    work: &[(Arc<CheckoutWrite>, Option<Render>)],
) -> Result<Vec<Result<Written>>> {
    let mut deadlocks = 0;
    let mut hold = true;
    loop {
        match write_batch(conn, work, hold).await {
            Ok(Ok(results)) => return Ok(results),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "writing a batch's usage counts failed; writing it again claim by claim");
                hold = false;
            }
            // Another transaction (another node's batch, a cancellation) locked the same rows
            // in the other order, and PostgreSQL chose this batch: it was rolled back whole,
            // its locks are gone and the other side finishes. Write it again after a pause
            // that differs per writer, so two nodes' retries do not meet again.
            Err(e) if e.is_retryable() && deadlocks < DEADLOCK_RETRIES => {
                deadlocks += 1;
                tracing::info!(error = %e, deadlocks, checkouts = work.len(), "a checkout batch lost a deadlock; writing it again");
                tokio::time::sleep(backoff(deadlocks)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Writes `writes` as one batch on a connection of its own to the database at `url`, the way
/// the writer writes a batch, each with `render`; returns each checkout's outcome in order
/// (a placed order written together without its body) and how many the first part wrote
/// together. For tests, which cannot
/// choose how the writer batches checkouts.
#[doc(hidden)]
pub async fn write_one_batch(
    url: &str,
    writes: Vec<CheckoutWrite>,
    render: Render,
) -> Result<(Vec<Result<CheckoutOutcome>>, usize)> {
    let mut conn = PgConnection::connect(url).await?;
    let (mut replies, mut answers) = (Vec::new(), Vec::new());
    for _ in &writes {
        let (reply, answered) = oneshot::channel();
        replies.push(reply);
        answers.push(answered);
    }
    let wrote = write_all(&mut conn, writes.into_iter().map(|w| (Arc::new(w), Some(render))).collect(), replies).await;
    let mut out = Vec::with_capacity(answers.len());
    for answered in answers {
        let written = answered.await.map_err(|_| StoreError::Internal("a checkout was not answered".into()))?;
        out.push(written.map(|w| match w {
            Written::Placed { placed, body } => CheckoutOutcome::Placed { placed, body },
            Written::Replayed { status, body } => CheckoutOutcome::Replayed { status, body },
        }));
    }
    Ok((out, wrote.together))
}

/// Runs statements without parameters in one round trip (the simple query protocol).
async fn raw(conn: &mut PgConnection, sql: &'static str) -> Result<()> {
    sqlx::raw_sql(sql).execute(conn).await?;
    Ok(())
}

/// Writes checkouts one by one in one transaction, the claims without a limit held back to
/// its end when `hold`. `Err`: the batch as a whole failed (nothing acknowledged);
/// `Ok(Err)`: writing the held counts failed and the transaction was rolled back (nothing
/// written); `Ok(Ok)`: one result per checkout, in order, all committed that succeeded.
async fn write_batch(
    conn: &mut PgConnection,
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
    // The held counts and the commit in one round trip. If an upsert fails, PostgreSQL skips
    // the rest of the text, `COMMIT` included, and the transaction is left to roll back.
    let held_counts = !held.is_empty();
    if let Err(e) = sqlx::raw_sql(&format!("{}COMMIT", held.statements())).execute(&mut *conn).await {
        let e = StoreError::from(e);
        raw(conn, "ROLLBACK").await?;
        if !held_counts || e.is_retryable() {
            return Err(e);
        }
        return Ok(Err(e));
    }
    Ok(Ok(results))
}

/// One checkout inside its savepoint, opened by `open`; also whether the savepoint was
/// released already (a refused checkout's, undone). The outer `Err` means the transaction
/// itself is in doubt (a savepoint could not be taken or undone) and the batch must be
/// abandoned.
async fn one(
    conn: &mut PgConnection,
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
