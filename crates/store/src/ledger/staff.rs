//! Staff changes to an order's units: an item's status, answered with the ledger read back
//! after the change, as the views that render the answer need it. Cancelling units is
//! [`crate::cancellations`]' (it records the money that goes with it).

use offerline_core::status::OrderStatus;

use crate::ledger::load::{Parts, Roots};
use crate::ledger::model::Ledger;
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
}
