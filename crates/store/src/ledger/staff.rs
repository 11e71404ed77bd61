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
        // A unit waiting for, or done by, a cancellation moves only through it: its refund is
        // recorded there (contract §8).
        let done = sqlx::query(
            "UPDATE order_items SET status = $2, modified_at = $3 WHERE id = $1 AND status NOT IN (50, 100, 600)",
        )
        .bind(id)
        .bind(i64::from(status.code()))
        .bind(now_micros())
        .execute(self.writer())
        .await?;
        if done.rows_affected() == 0 {
            let exists = sqlx::query("SELECT status FROM order_items WHERE id = $1")
                .bind(id)
                .fetch_optional(self.reader())
                .await?;
            return Err(match exists {
                None => StoreError::NotFound,
                Some(_) => StoreError::Conflict {
                    field: "status",
                    message: "This item is in a cancellation (waiting, cancelled or refunded); its status moves only \
                              through the cancellation endpoints."
                        .into(),
                },
            });
        }
        let ledger = self.ledger(Roots::OrderItems(&[id]), Parts::NONE).await?;
        if ledger.rows().items.is_empty() {
            return Err(StoreError::NotFound);
        }
        Ok(ledger)
    }
}
