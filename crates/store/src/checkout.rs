//! The checkout transaction: one storefront order written with everything it implies, or
//! nothing at all.
//!
//! In ONE transaction, in this order:
//! 1. the `Idempotency-Key` (if any) is claimed first, by inserting it under the primary key
//!    (user, key). A concurrent duplicate blocks on that key (PostgreSQL) or queues behind
//!    the single writer (SQLite), then fails the insert once the first commits, and answers
//!    with the stored response: one order, never two. If the first rolls back, the
//!    duplicate's insert succeeds and it tries for itself;
//! 2. the priced basket lines are deleted, each only if it still has the id and quantity
//!    that were priced — a basket changed (or checked out) in the meantime refuses the
//!    checkout instead of writing an order the customer did not see; the voucher code is
//!    cleared;
//! 3. the order, its items, discount items and applicants, and the usage claims
//!    ([`crate::orders::place_order`]); a claim past a limit aborts everything;
//! 4. the response body is stored under the idempotency key.
//!
//! Refused checkouts store nothing, so retrying with the same key after fixing the basket
//! is possible (only a successful order is replayed).
//!
//! All reads that pricing needs happen before [`Store::begin`]: on SQLite the writer pool
//! has one connection, and awaiting the reader while holding it would only add latency.

use sqlx::Row;

use crate::orders::{NewOrder, OrderDetail, PlacedOrder, Tx, UsageClaim, place_order};
use crate::{Result, Store, StoreError, is_unique_violation, now_micros};

/// Everything a checkout writes.
#[derive(Debug, Clone)]
pub struct CheckoutWrite {
    pub user_id: i64,
    pub basket_id: i64,
    /// (basket line id, quantity) as priced.
    pub lines: Vec<(i64, i64)>,
    pub idempotency_key: Option<String>,
    pub order: NewOrder,
    pub claims: Vec<UsageClaim>,
}

/// What a checkout did.
#[derive(Debug, Clone)]
pub enum CheckoutOutcome {
    /// A new order; `body` is the response stored for replays.
    Placed { placed: PlacedOrder, body: String },
    /// The key was used before: the original status and body.
    Replayed { status: u16, body: String },
}

/// Status stored while the first request holding a key is still in its transaction. Never
/// visible to others: the row commits only with its final body.
const PENDING: i64 = 0;

impl Store {
    /// The stored response for a customer's idempotency key.
    pub async fn idempotent_response(&self, user_id: i64, key: &str) -> Result<Option<(u16, String)>> {
        let row = sqlx::query("SELECT status, body FROM idempotency_keys WHERE user_id = $1 AND key = $2")
            .bind(user_id)
            .bind(key)
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
    /// order into the 201 body, which is stored with the key.
    pub async fn checkout(
        &self,
        w: &CheckoutWrite,
        render: impl FnOnce(&OrderDetail) -> String,
    ) -> Result<CheckoutOutcome> {
        let mut tx = self.begin().await?;
        if let Some(key) = &w.idempotency_key {
            let claimed = sqlx::query(
                "INSERT INTO idempotency_keys (user_id, key, status, body, created_at) VALUES ($1, $2, $3, '', $4)",
            )
            .bind(w.user_id)
            .bind(key)
            .bind(PENDING)
            .bind(now_micros())
            .execute(&mut *tx)
            .await;
            match claimed {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {
                    tx.rollback().await?;
                    return match self.idempotent_response(w.user_id, key).await? {
                        Some((status, body)) => Ok(CheckoutOutcome::Replayed { status, body }),
                        None => Err(StoreError::Conflict {
                            field: "idempotency_key",
                            message: "A request with this key is still in progress.".into(),
                        }),
                    };
                }
                Err(e) => return Err(e.into()),
            }
        }
        match self.checkout_in(&mut tx, w, render).await {
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

    async fn checkout_in(
        &self,
        tx: &mut Tx,
        w: &CheckoutWrite,
        render: impl FnOnce(&OrderDetail) -> String,
    ) -> Result<CheckoutOutcome> {
        if w.lines.is_empty() {
            return Err(StoreError::Invalid("The basket is empty.".into()));
        }
        let mut sql = String::from("DELETE FROM basket_lines WHERE basket_id = $1 AND (");
        for i in 0..w.lines.len() {
            if i > 0 {
                sql.push_str(" OR ");
            }
            sql.push_str(&format!("(id = ${} AND quantity = ${})", 2 + 2 * i, 3 + 2 * i));
        }
        sql.push(')');
        let mut q = sqlx::query(&sql).bind(w.basket_id);
        for (id, qty) in &w.lines {
            q = q.bind(*id).bind(*qty);
        }
        let deleted = q.execute(&mut **tx).await?.rows_affected();
        if deleted != w.lines.len() as u64 {
            return Err(StoreError::Invalid(
                "The basket changed during checkout; please review it and check out again.".into(),
            ));
        }
        sqlx::query("UPDATE baskets SET voucher_code = NULL, modified_at = $2 WHERE id = $1")
            .bind(w.basket_id)
            .bind(now_micros())
            .execute(&mut **tx)
            .await?;
        let placed = place_order(tx, &w.order, &w.claims).await?;
        let body = render(&OrderDetail::from_placed(&w.order, &placed));
        if let Some(key) = &w.idempotency_key {
            sqlx::query("UPDATE idempotency_keys SET status = 201, body = $3 WHERE user_id = $1 AND key = $2")
                .bind(w.user_id)
                .bind(key)
                .bind(&body)
                .execute(&mut **tx)
                .await?;
        }
        Ok(CheckoutOutcome::Placed { placed, body })
    }
}
