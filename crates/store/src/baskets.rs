//! Storefront baskets: one per customer, its lines (product and quantity) and the voucher
//! code applied to it.
//!
//! A basket holds no prices: the storefront prices it from the default price list every
//! time it is shown and again at checkout, so a client can never choose a price. The
//! checkout transaction empties the basket (see [`crate::checkout`]).

use sqlx::Row;

use crate::{Result, Store, StoreError, now_micros};

/// The most units of one product a basket line may hold.
pub const MAX_LINE_QUANTITY: i64 = 1000;
/// The most lines a basket may hold.
pub const MAX_LINES: i64 = 200;

/// What [`Store::change_basket_line`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineChange {
    Changed,
    /// The line would hold `would_be` units, more than the cap; nothing changed.
    OverCap {
        would_be: i64,
    },
    /// A new line would exceed [`MAX_LINES`]; nothing changed.
    TooManyLines,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasketLine {
    pub id: i64,
    pub product_id: i64,
    pub quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basket {
    pub id: i64,
    pub user_id: i64,
    /// Upper-cased, as vouchers are stored.
    pub voucher_code: Option<String>,
    /// In the order they were added.
    pub lines: Vec<BasketLine>,
}

impl Store {
    /// The customer's basket, without creating it (`None` if the customer never had one).
    pub async fn find_basket(&self, user_id: i64) -> Result<Option<Basket>> {
        // One round trip: the basket row repeated on each of its lines (or once, with NULL
        // line columns, when it is empty).
        let rows = sqlx::query(
            "SELECT b.id, b.voucher_code, l.id, l.product_id, l.quantity FROM baskets b \
             LEFT JOIN basket_lines l ON l.basket_id = b.id WHERE b.user_id = $1 ORDER BY l.id",
        )
        .bind(user_id)
        .fetch_all(self.reader())
        .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let mut lines = Vec::with_capacity(rows.len());
        for r in &rows {
            if let Some(id) = r.try_get::<Option<i64>, _>(2)? {
                lines.push(BasketLine { id, product_id: r.try_get(3)?, quantity: r.try_get(4)? });
            }
        }
        Ok(Some(Basket { id: first.try_get(0)?, user_id, voucher_code: first.try_get(1)?, lines }))
    }

    /// The customer's basket, created empty on first use.
    pub async fn basket(&self, user_id: i64) -> Result<Basket> {
        if let Some(b) = self.find_basket(user_id).await? {
            return Ok(b);
        }
        self.basket_id(user_id).await?;
        self.find_basket(user_id).await?.ok_or(StoreError::NotFound)
    }

    /// The id of the customer's basket, creating it if needed (one write at most).
    async fn basket_id(&self, user_id: i64) -> Result<i64> {
        // Most calls find it: a read, without queueing for the (SQLite: single) writer.
        if let Some(r) =
            sqlx::query("SELECT id FROM baskets WHERE user_id = $1").bind(user_id).fetch_optional(self.reader()).await?
        {
            return Ok(r.try_get(0)?);
        }
        let now = now_micros();
        sqlx::query(
            "INSERT INTO baskets (user_id, created_at, modified_at) VALUES ($1, $2, $2) ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(now)
        .execute(self.writer())
        .await?;
        Ok(sqlx::query("SELECT id FROM baskets WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(self.writer())
            .await?
            .try_get(0)?)
    }

    /// Adds `quantity` units of a product (`add`), or sets the line to `quantity` (`!add`;
    /// 0 removes the line). The resulting quantity must stay within 0..=`cap` (the caller's
    /// bound, at most [`MAX_LINE_QUANTITY`]) and a new line within [`MAX_LINES`], else
    /// nothing changes and the outcome says why.
    ///
    /// The change is one statement: the line is inserted or its quantity raised by the
    /// database itself, with both bounds checked in the same statement, so concurrent adds
    /// of one product all count (reading the line and then writing a new total lost all but
    /// one of them on PostgreSQL).
    pub async fn change_basket_line(
        &self,
        user_id: i64,
        product_id: i64,
        quantity: i64,
        add: bool,
        cap: i64,
    ) -> Result<LineChange> {
        let basket_id = self.basket_id(user_id).await?;
        let cap = cap.min(MAX_LINE_QUANTITY);
        let now = now_micros();
        let mut tx = self.begin().await?;
        if !add && quantity == 0 {
            sqlx::query("DELETE FROM basket_lines WHERE basket_id = $1 AND product_id = $2")
                .bind(basket_id)
                .bind(product_id)
                .execute(&mut *tx)
                .await?;
        } else {
            let new_quantity = if add { "basket_lines.quantity + excluded.quantity" } else { "excluded.quantity" };
            let changed = sqlx::query(&format!(
                "INSERT INTO basket_lines (basket_id, product_id, quantity, created_at) \
                 SELECT $1, $2, $3, $4 WHERE $3 BETWEEN 1 AND $5 AND ( \
                   (SELECT COUNT(*) FROM basket_lines WHERE basket_id = $1) < $6 \
                   OR EXISTS (SELECT 1 FROM basket_lines WHERE basket_id = $1 AND product_id = $2)) \
                 ON CONFLICT (basket_id, product_id) DO UPDATE SET quantity = {new_quantity} \
                 WHERE {new_quantity} <= $5 RETURNING quantity"
            ))
            .bind(basket_id)
            .bind(product_id)
            .bind(quantity)
            .bind(now)
            .bind(cap)
            .bind(MAX_LINES)
            .fetch_optional(&mut *tx)
            .await?;
            if changed.is_none() {
                let current: Option<i64> =
                    sqlx::query("SELECT quantity FROM basket_lines WHERE basket_id = $1 AND product_id = $2")
                        .bind(basket_id)
                        .bind(product_id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .map(|r| r.try_get(0))
                        .transpose()?;
                return Ok(match current {
                    Some(c) => LineChange::OverCap { would_be: if add { c + quantity } else { quantity } },
                    None if !(1..=cap).contains(&quantity) => LineChange::OverCap { would_be: quantity },
                    None => LineChange::TooManyLines,
                });
            }
        }
        sqlx::query("UPDATE baskets SET modified_at = $2 WHERE id = $1")
            .bind(basket_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(LineChange::Changed)
    }

    /// Sets (or with `None` removes) the basket's voucher code. The caller validates it.
    pub async fn set_basket_voucher(&self, user_id: i64, code: Option<&str>) -> Result<()> {
        let basket_id = self.basket_id(user_id).await?;
        sqlx::query("UPDATE baskets SET voucher_code = $2, modified_at = $3 WHERE id = $1")
            .bind(basket_id)
            .bind(code)
            .bind(now_micros())
            .execute(self.writer())
            .await?;
        Ok(())
    }
}
