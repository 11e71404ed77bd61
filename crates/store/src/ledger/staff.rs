//! Staff changes to an order's units: an item's status, and cancelling items. Each answers
//! with the ledger read back after the change, as the views that render the answer need it.

use offerline_core::status::OrderStatus;

use crate::ledger::load::{Parts, Roots};
use crate::ledger::model::{Ledger, OrderDetail};
use crate::{Result, Store, StoreError, now_micros};

impl Store {
    /// Sets an order item's status; the item with its order, read back.
    pub async fn set_order_item_status(&self, id: i64, status: OrderStatus) -> Result<Ledger> {
        let done = sqlx::query("UPDATE order_items SET status = $2, modified_at = $3 WHERE id = $1")
            .bind(id)
            .bind(i64::from(status.code()))
            .bind(now_micros())
            .execute(self.writer())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let ledger = self.ledger(Roots::OrderItems(&[id]), Parts::NONE).await?;
        if ledger.rows().items.is_empty() {
            return Err(StoreError::NotFound);
        }
        Ok(ledger)
    }

    /// Cancels items of an order: status 100 (cancelled) and `cancel_status`. The discount
    /// shares placed on them stay as they were (no re-spreading over the other items), so
    /// the ledger still sums. When every item is cancelled, so is the order. Every id must
    /// belong to the order, else `Invalid` and nothing changes. Answers with the order
    /// read back.
    pub async fn cancel_order_items(
        &self,
        order_id: i64,
        item_ids: &[i64],
        cancel_status: Option<&str>,
    ) -> Result<OrderDetail> {
        if item_ids.is_empty() {
            return Err(StoreError::Invalid("order_items: This list may not be empty.".into()));
        }
        let now = now_micros();
        let mut tx = self.writer().begin().await?;
        let exists = sqlx::query("SELECT id FROM orders WHERE id = $1").bind(order_id).fetch_optional(&mut *tx).await?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        let ph = crate::list::placeholders(3, item_ids.len());
        let sql = format!(
            "UPDATE order_items SET status = {cancelled}, cancel_status = $1, modified_at = $2 \
             WHERE order_id = $3 AND id IN ({ph})",
            cancelled = OrderStatus::CANCELLED.code()
        );
        let done = bind_all!(sqlx::query(&sql).bind(cancel_status).bind(now).bind(order_id), item_ids)
            .execute(&mut *tx)
            .await?;
        let mut distinct = item_ids.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        if done.rows_affected() != distinct.len() as u64 {
            return Err(StoreError::Invalid("order_items: every item must belong to this order.".into()));
        }
        sqlx::query(&format!(
            "UPDATE orders SET status = {cancelled}, modified_at = $2 WHERE id = $1 \
             AND NOT EXISTS (SELECT 1 FROM order_items WHERE order_id = $1 AND status <> {cancelled})",
            cancelled = OrderStatus::CANCELLED.code()
        ))
        .bind(order_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.order_detail(order_id).await
    }
}
