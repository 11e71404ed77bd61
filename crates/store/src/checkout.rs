//! The checkout transaction: one storefront order written with everything it implies, or
//! nothing at all.
//!
//! In ONE transaction, in this order:
//! 1. the `Idempotency-Key` (if any) is claimed first, by inserting it under the primary key
//!    (user, key). A concurrent duplicate blocks on that key (PostgreSQL) or comes after the
//!    first on the single writer (SQLite), then fails the insert, and answers with the
//!    stored response (on SQLite read inside the batch's transaction, so a duplicate in the
//!    same batch sees it too): one order, never two. If the first rolls back, the
//!    duplicate's insert succeeds and it tries for itself;
//! 2. the priced basket lines are deleted, each only if it still has the id and quantity
//!    that were priced — a basket changed (or checked out) in the meantime refuses the
//!    checkout instead of writing an order the customer did not see; the voucher code is
//!    cleared;
//! 3. every applied promotion is checked against its row as it is now
//!    ([`crate::current_offers`]): an offer that is off or changed since it was priced refuses
//!    the checkout, and the usage claims carry the row's limits, not those of the offer cache
//!    the basket was priced with;
//! 4. the order, its items, discount items and applicants, and the usage claims
//!    ([`crate::orders::place_order`]); a claim past a limit aborts everything;
//! 5. the response body is stored under the idempotency key.
//!
//! Refused checkouts store nothing, so retrying with the same key after fixing the basket
//! is possible (only a successful order is replayed).
//!
//! All reads that pricing needs happen before the transaction: on SQLite there is one
//! writer, and awaiting a read while holding it would only add latency.
//!
//! The transaction is written once ([`checkout_tx`], over [`Exec`]) and run two ways: by a
//! group-commit writer, a savepoint per checkout and one commit per batch — on SQLite
//! through rusqlite ([`crate::writer`]), on PostgreSQL on a connection of its own
//! ([`crate::pg_writer`]); on an in-memory SQLite database by sqlx, one transaction per
//! checkout, driven by a thread of its own.

use std::borrow::Cow;
use std::sync::Arc;

use sqlx::Row;

use crate::current_offers::current_claims;
use crate::exec::{Exec, Param};
use crate::orders::{NewOrder, OpenCounts, OrderDetail, PlacedOrder, new_order_number, place_order_deferring};
use crate::{Result, Store, StoreError, now_micros};

/// Everything a checkout writes.
#[derive(Debug, Clone)]
pub struct CheckoutWrite {
    /// The customer's `Idempotency-Key`, if the request carried one.
    pub idempotency: Option<IdempotencyKey>,
    /// The storefront basket lines the order consumes, as priced; `None` for an order from
    /// an external cart (Elastic Path), which stays as it is.
    pub basket: Option<BasketLines>,
    /// The promotions the order applies, each with the `modified_at` of the row it was priced
    /// from: a row changed since refuses the write ([`crate::current_offers`]).
    pub priced_offers: Vec<(i64, i64)>,
    /// The order, its draft carrying the usage claims.
    pub order: NewOrder,
}

/// An idempotency key, scoped to the customer who sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub user_id: i64,
    pub key: String,
    /// Keys stored at or before this instant (microseconds) have expired: this request is
    /// a new one, and the expired row is replaced in the same transaction.
    pub expired_at_or_before: i64,
}

/// A basket's lines as they were priced: each is deleted only if it still has that id and
/// quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasketLines {
    pub basket_id: i64,
    /// (basket line id, quantity).
    pub lines: Vec<(i64, i64)>,
}

/// What a checkout did.
#[derive(Debug, Clone)]
pub enum CheckoutOutcome {
    /// A new order; `body` is the response (stored for replays), when a renderer was given.
    Placed { placed: PlacedOrder, body: Option<String> },
    /// The key was used before: the original status and body.
    Replayed { status: u16, body: String },
}

/// What the transaction did. The body of a new order is rendered inside the transaction
/// only when it must be stored with an idempotency key; otherwise the caller renders it
/// after the commit, off the (SQLite: single) writer.
#[derive(Debug)]
pub(crate) enum Written {
    Placed { placed: PlacedOrder, body: Option<String> },
    Replayed { status: u16, body: String },
}

/// Turns the written order into the 201 body.
pub type Render = fn(&OrderDetail) -> String;

/// Status stored while the first request holding a key is still in its transaction. Never
/// visible to others: the row commits only with its final body.
const PENDING: i64 = 0;

impl Store {
    /// The stored response for a customer's idempotency key, unless it was stored at or
    /// before `expired_at_or_before` (microseconds).
    pub async fn idempotent_response(
        &self,
        user_id: i64,
        key: &str,
        expired_at_or_before: i64,
    ) -> Result<Option<(u16, String)>> {
        let row = sqlx::query(
            "SELECT status, body FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND created_at > $3",
        )
        .bind(user_id)
        .bind(key)
        .bind(expired_at_or_before)
        .fetch_optional(self.reader())
        .await?;
        match row {
            Some(r) => {
                let status: i64 = r.try_get(0)?;
                Ok((status != PENDING).then(|| Ok::<_, StoreError>((status as u16, r.try_get(1)?))).transpose()?)
            }
            None => Ok(None),
        }
    }

    /// Runs the checkout transaction (see the module docs). `render` turns the written
    /// order into the 201 body, which is stored with the key; without it (an order whose
    /// caller reads it back) nothing is rendered and no key may be given.
    pub async fn checkout(&self, w: CheckoutWrite, render: Option<Render>) -> Result<CheckoutOutcome> {
        let w = Arc::new(w);
        let written = match self.checkout_writer() {
            Some(writer) => writer.submit(w.clone(), render).await?,
            // In-memory SQLite, which the writers' connections could not see.
            None => {
                // Driven by a thread of its own rather than by a runtime worker: each statement
                // is a round trip to the database, and polled by a worker the task would wait
                // behind every other request's work between two of them, holding its locks.
                let (store, w) = (self.clone(), w.clone());
                let runtime = tokio::runtime::Handle::current();
                tokio::task::spawn_blocking(move || runtime.block_on(store.checkout_sqlx(&w, render)))
                    .await
                    .map_err(|e| StoreError::Unavailable(format!("checkout task failed: {e}")))??
            }
        };
        Ok(match written {
            Written::Placed { body: Some(body), placed } => CheckoutOutcome::Placed { placed, body: Some(body) },
            Written::Placed { body: None, placed } => {
                let body = render.map(|r| OrderDetail::from_placed(&w.order, &placed).map(|d| r(&d))).transpose()?;
                CheckoutOutcome::Placed { body, placed }
            }
            Written::Replayed { status, body } => CheckoutOutcome::Replayed { status, body },
        })
    }

    async fn checkout_sqlx(&self, w: &CheckoutWrite, render: Option<Render>) -> Result<Written> {
        let mut tx = self.begin().await?;
        if !claim_key(&mut tx, w).await? {
            tx.rollback().await?;
            let Some(k) = &w.idempotency else {
                return Err(StoreError::Internal("a key was refused without one".into()));
            };
            return replayed(self.idempotent_response(k.user_id, &k.key, k.expired_at_or_before).await?);
        }
        match checkout_tx(&mut tx, w, render, None).await {
            Ok(out) => {
                tx.commit().await?;
                Ok(out)
            }
            Err(e) => {
                tx.rollback().await.ok();
                Err(e)
            }
        }
    }
}

/// Claims the checkout's idempotency key, if it has one, by inserting it. `false`: the key
/// is taken, and on PostgreSQL the transaction is now aborted and must be rolled back. An
/// expired row under the key (not purged yet) is deleted first, in the same transaction:
/// of two requests racing for one expired key, the second waits on the first's row lock
/// (PostgreSQL) or runs after it on the one writer (SQLite), then finds the fresh row.
pub(crate) async fn claim_key<E: Exec>(tx: &mut E, w: &CheckoutWrite) -> Result<bool> {
    let Some(k) = &w.idempotency else { return Ok(true) };
    tx.execute(
        "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND created_at <= $3",
        &[k.user_id.into(), (&k.key).into(), k.expired_at_or_before.into()],
    )
    .await?;
    let claimed = tx
        .execute(
            "INSERT INTO idempotency_keys (user_id, key, status, body, created_at) VALUES ($1, $2, $3, '', $4)",
            &[k.user_id.into(), (&k.key).into(), PENDING.into(), now_micros().into()],
        )
        .await;
    match claimed {
        Ok(_) => Ok(true),
        Err(e) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

/// The answer to a checkout whose key was taken: the stored response, or a conflict while
/// the first request holding the key has not finished.
pub(crate) fn replayed(stored: Option<(u16, String)>) -> Result<Written> {
    match stored {
        Some((status, body)) => Ok(Written::Replayed { status, body }),
        None => Err(StoreError::Conflict {
            field: "idempotency_key",
            message: "A request with this key is still in progress.".into(),
        }),
    }
}

/// The stored response under a key, read inside the transaction (the SQLite writer's: a
/// duplicate in the same batch sees the first one's row).
pub(crate) async fn stored_response<E: Exec>(tx: &mut E, user_id: i64, key: &str) -> Result<Option<(u16, String)>> {
    let rows = tx
        .rows(
            "SELECT status, body FROM idempotency_keys WHERE user_id = $1 AND key = $2",
            &[user_id.into(), key.into()],
        )
        .await?;
    Ok(rows.first().and_then(|r| match (r.first().and_then(Param::int), r.get(1).and_then(Param::text)) {
        (Some(status), Some(body)) if status != PENDING => Some((status as u16, body.to_owned())),
        _ => None,
    }))
}

/// Steps 2–5 of the module docs, after the key is claimed. With `held`, the usage claims
/// without a limit are added to it, for the caller to write later in the same transaction
/// ([`OpenCounts`]).
pub(crate) async fn checkout_tx<E: Exec>(
    tx: &mut E,
    w: &CheckoutWrite,
    render: Option<Render>,
    held: Option<&mut OpenCounts>,
) -> Result<Written> {
    if let Some(b) = &w.basket {
        take_basket(tx, b).await?;
    }
    // The order as priced, unless a promotion's limits changed since: then with the row's.
    let order = match current_claims(tx, &w.order.draft, &w.priced_offers, now_micros()).await? {
        None => Cow::Borrowed(&w.order),
        Some(claims) => {
            let mut o = w.order.clone();
            o.draft.claims = claims;
            Cow::Owned(o)
        }
    };
    let placed = place_order_deferring(tx, &order, new_order_number, held).await?;
    let (Some(k), Some(render)) = (&w.idempotency, render) else { return Ok(Written::Placed { placed, body: None }) };
    let body = render(&OrderDetail::from_placed(&order, &placed)?);
    tx.execute(
        "UPDATE idempotency_keys SET status = 201, body = $3 WHERE user_id = $1 AND key = $2",
        &[k.user_id.into(), (&k.key).into(), (&body).into()],
    )
    .await?;
    Ok(Written::Placed { placed, body: Some(body) })
}

/// Step 2: the priced lines leave the basket, each only if unchanged, and its code is cleared.
async fn take_basket<E: Exec>(tx: &mut E, b: &BasketLines) -> Result<()> {
    if b.lines.is_empty() {
        return Err(StoreError::Invalid("The basket is empty.".into()));
    }
    let mut sql = String::from("DELETE FROM basket_lines WHERE basket_id = $1 AND (");
    let mut params: Vec<Param<'_>> = vec![b.basket_id.into()];
    for (i, (id, qty)) in b.lines.iter().enumerate() {
        if i > 0 {
            sql.push_str(" OR ");
        }
        sql.push_str(&format!("(id = ${} AND quantity = ${})", 2 + 2 * i, 3 + 2 * i));
        params.extend([(*id).into(), (*qty).into()]);
    }
    sql.push(')');
    let deleted = tx.execute(&sql, &params).await?;
    if deleted != b.lines.len() as u64 {
        return Err(StoreError::Invalid(
            "The basket changed during checkout; please review it and check out again.".into(),
        ));
    }
    tx.execute(
        "UPDATE baskets SET voucher_code = NULL, modified_at = $2 WHERE id = $1",
        &[b.basket_id.into(), now_micros().into()],
    )
    .await?;
    Ok(())
}
