//! The back office's report read: the per-promotion, per-day totals of the discount items
//! placed in a period.

use sqlx::Row;

use crate::Result;
use crate::db::Store;

/// Microseconds in a day: report days are UTC days.
pub const DAY_MICROS: i64 = 86_400_000_000;

/// One promotion's discount items of one UTC day: the orders they are on, the discount
/// given and the part of it reversed by cancellations (`cancel_amount`), in minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayTotal {
    pub promotion_id: i64,
    pub name: String,
    pub currency: String,
    /// Days since the epoch (UTC).
    pub day: i64,
    pub orders: i64,
    pub discount: i64,
    pub reversed: i64,
}

impl Store {
    /// The discount items placed from `start` (inclusive) to `end` (exclusive), microseconds,
    /// summed per promotion and UTC day; ordered by promotion, then day. Items of no
    /// promotion (Elastic Path custom discounts) are not counted.
    pub async fn promotion_days(&self, start: i64, end: i64) -> Result<Vec<DayTotal>> {
        let rows = sqlx::query(
            // The day is the integer quotient on both engines (BIGINT / BIGINT).
            "SELECT d.promotion_id, p.name, p.currency, d.created_at / 86400000000 AS day, \
                    COUNT(DISTINCT d.order_id), CAST(SUM(d.amount) AS BIGINT), CAST(SUM(d.cancel_amount) AS BIGINT) \
             FROM discount_items d JOIN promotions p ON p.id = d.promotion_id \
             WHERE d.created_at >= $1 AND d.created_at < $2 \
             GROUP BY d.promotion_id, p.name, p.currency, d.created_at / 86400000000 \
             ORDER BY d.promotion_id, day",
        )
        .bind(start)
        .bind(end)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DayTotal {
                    promotion_id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    currency: r.try_get(2)?,
                    day: r.try_get(3)?,
                    orders: r.try_get(4)?,
                    discount: r.try_get(5)?,
                    reversed: r.try_get(6)?,
                })
            })
            .collect()
    }
}
