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
//! So PostgreSQL checkouts are written like SQLite's ([`crate::writer`]): one thread owns a
//! connection, takes every checkout waiting (at most [`MAX_BATCH`]) and writes them in ONE
//! transaction, each inside a `SAVEPOINT`; the counters are locked, the notification sent
//! and the WAL flushed once per batch. The rules are the writer's:
//!
//! - a refused checkout (a limit reached, a basket changed, an offer changed, a key already
//!   used, a statement failing — a deadlock with another transaction included) is rolled
//!   back to its savepoint and answered alone; the others stay;
//! - answers leave only after `COMMIT` succeeded. If the batch fails as a whole (the
//!   connection lost, the commit refused), every checkout of it gets the error and none was
//!   acknowledged; the connection is dropped and opened again for the next batch;
//! - usage limits stay exact: the conditional claims of one batch run one after another on
//!   the one connection, each seeing the claims before it, and against other transactions
//!   the row locks work as before;
//! - a duplicate `Idempotency-Key` in the same batch finds the first checkout's stored
//!   response inside the transaction; one in another transaction waits on the key's row
//!   lock, as before.
//!
//! The thread runs its own single-threaded runtime, so the connection is read the moment
//! PostgreSQL answers instead of after whatever the server's workers are busy with, and it
//! prepares each statement once. Under no load a batch is one checkout.

use sqlx::{AnyConnection, Connection};
use tokio::sync::mpsc;

use crate::checkout::{CheckoutWrite, Render, Written, checkout_tx, claim_key, replayed, stored_response};
use crate::writer::{CheckoutWriter, Job, MAX_BATCH};
use crate::{Result, StoreError};

/// Starts the writer thread for the database at `url`. It connects at its first batch and
/// stops when the last handle is dropped.
pub(crate) fn start(url: String) -> Result<CheckoutWriter> {
    let (jobs, queue) = mpsc::unbounded_channel();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StoreError::Unavailable(format!("cannot start the checkout writer: {e}")))?;
    std::thread::Builder::new()
        .name("offerline-checkout-writer".into())
        .spawn(move || runtime.block_on(run(&url, queue)))
        .map_err(|e| StoreError::Unavailable(format!("cannot start the checkout writer: {e}")))?;
    Ok(CheckoutWriter::over(jobs))
}

async fn run(url: &str, mut queue: mpsc::UnboundedReceiver<Job>) {
    let mut conn: Option<AnyConnection> = None;
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let (work, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|j| ((j.write, j.render), j.reply)).unzip();
        let connected = match conn.take() {
            Some(c) => Ok(c),
            None => AnyConnection::connect(url).await.map_err(StoreError::from),
        };
        let outcome = match connected {
            Err(e) => Err(e),
            Ok(mut c) => {
                let written = write_batch(&mut c, work).await;
                // After a failed batch the connection's state is unknown: open a new one.
                if written.is_ok() {
                    conn = Some(c);
                }
                written
            }
        };
        match outcome {
            Ok(results) => {
                tracing::debug!(checkouts = results.len(), "checkout batch committed");
                for (reply, r) in replies.into_iter().zip(results) {
                    reply.send(r).ok();
                }
            }
            Err(e) => {
                tracing::error!(error = %e, checkouts = replies.len(), "checkout batch failed; nothing acknowledged");
                let message = e.to_string();
                for reply in replies {
                    reply.send(Err(StoreError::Unavailable(message.clone()))).ok();
                }
            }
        }
    }
    tracing::debug!("checkout writer stopped");
}

/// Runs statements without parameters in one round trip (the simple query protocol).
async fn raw(conn: &mut AnyConnection, sql: &'static str) -> Result<()> {
    sqlx::raw_sql(sql).execute(conn).await?;
    Ok(())
}

/// Writes a batch in one transaction. `Err`: the batch as a whole failed (nothing
/// acknowledged); `Ok`: one result per checkout, in order, all committed that succeeded.
async fn write_batch(
    conn: &mut AnyConnection,
    work: Vec<(std::sync::Arc<CheckoutWrite>, Option<Render>)>,
) -> Result<Vec<Result<Written>>> {
    let mut results = Vec::with_capacity(work.len());
    // What opens the next checkout's savepoint, in the same round trip as what the previous
    // one left to do: begin the transaction, or release the savepoint of a written checkout
    // (the last one's is committed with the transaction).
    let mut open = "BEGIN; SAVEPOINT checkout";
    for (w, render) in work {
        match one(conn, open, &w, render).await {
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
    raw(conn, "COMMIT").await?;
    Ok(results)
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
) -> Result<(Result<Written>, bool)> {
    raw(conn, open).await?;
    let done = async {
        if !claim_key(conn, w).await? {
            return Ok(None);
        }
        checkout_tx(conn, w, render).await.map(Some)
    }
    .await;
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
        Err(e) => {
            raw(conn, "ROLLBACK TO SAVEPOINT checkout; RELEASE SAVEPOINT checkout").await?;
            Ok((Err(e), true))
        }
    }
}
