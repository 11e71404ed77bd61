//! The offers assigned to a customer, as the Commerce account views list them: coupon and
//! coupon-code offers that name the customer, and voucher codes assigned to them — one
//! `UNION ALL`, plus a count for the paginated windows.

use sqlx::Row;

use crate::{Result, Store};

/// Which of a customer's assigned offers to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferWindow {
    /// Started (or no start) and not ended at `now`; every row, no window.
    Open,
    /// Starting after `now`, earliest first.
    Future,
    /// Ended at or before `now`, latest end first.
    Expired,
}

/// An offer assigned to a customer, as the account views list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerOffer {
    pub promotion_id: i64,
    pub name: String,
    pub label: String,
    pub offer_type: String,
    pub currency: String,
    pub start_at: Option<i64>,
    pub end_at: Option<i64>,
    /// The promotion's `definition` JSON text (condition and benefit).
    pub definition: String,
    /// The customer's code for a voucher-code (or coupon-code) offer.
    pub code: Option<String>,
}

/// `SELECT` of a customer's assigned offers: coupon and coupon-code offers through
/// `promotion_customers` (with the customer's own code when a voucher of the offer is
/// assigned to them), voucher-code offers through `voucher_customers`. `$1` is the user,
/// `$2` the instant, `$3` the currency ('' for any). Spent vouchers are left out.
const CUSTOMER_OFFERS: &str = "\
SELECT p.id AS promotion_id, p.name, p.label, p.offer_type, p.currency, p.start_at, p.end_at, p.definition, \
  (SELECT MIN(v.code) FROM vouchers v JOIN voucher_customers vc ON vc.voucher_id = v.id \
    WHERE v.promotion_id = p.id AND vc.user_id = $1) AS code \
FROM promotions p JOIN promotion_customers pc ON pc.promotion_id = p.id \
WHERE pc.user_id = $1 AND p.deleted = 0 AND p.is_active = 1 AND p.offer_type IN ('coupon', 'coupon_code') \
  AND ($3 = '' OR p.currency = $3) \
UNION ALL \
SELECT p.id AS promotion_id, p.name, p.label, p.offer_type, p.currency, p.start_at, p.end_at, p.definition, v.code \
FROM vouchers v JOIN voucher_customers vc ON vc.voucher_id = v.id JOIN promotions p ON p.id = v.promotion_id \
WHERE vc.user_id = $1 AND p.deleted = 0 AND p.is_active = 1 AND p.offer_type = 'voucher_code' \
  AND ($3 = '' OR p.currency = $3) \
  AND NOT (v.usage = 'single_use' AND v.uses > 0) \
  AND NOT (v.usage = 'once_per_customer' AND EXISTS (SELECT 1 FROM voucher_applications va \
    WHERE va.voucher_id = v.id AND va.user_id = $1))";

/// At most this many open offers are listed for one customer.
pub const OPEN_OFFERS_CAP: i64 = 1000;

impl Store {
    /// The offers assigned to `user_id` in `window` at `now`, in `currency` (`None`: any),
    /// and their total count. `Open` returns every row (the view is not paginated);
    /// the others return one window of `limit` rows from `offset`.
    pub async fn customer_offers(
        &self,
        user_id: i64,
        currency: Option<&str>,
        now: i64,
        window: OfferWindow,
        limit: i64,
        offset: i64,
    ) -> Result<(i64, Vec<CustomerOffer>)> {
        let (cond, order) = match window {
            OfferWindow::Open => (
                "(o.start_at IS NULL OR o.start_at <= $2) AND (o.end_at IS NULL OR o.end_at > $2)",
                "COALESCE(o.start_at, 0), o.promotion_id, o.code",
            ),
            OfferWindow::Future => ("o.start_at > $2", "o.start_at, o.promotion_id, o.code"),
            OfferWindow::Expired => ("o.end_at <= $2", "o.end_at DESC, o.promotion_id DESC, o.code"),
        };
        let currency = currency.unwrap_or("");
        let count: i64 = if window == OfferWindow::Open {
            -1
        } else {
            sqlx::query(&format!("SELECT COUNT(*) FROM ({CUSTOMER_OFFERS}) o WHERE {cond}"))
                .bind(user_id)
                .bind(now)
                .bind(currency)
                .fetch_one(self.reader())
                .await?
                .try_get(0)?
        };
        if count == 0 {
            return Ok((0, Vec::new()));
        }
        // The open list is not paginated; it is bounded like any page.
        let (limit, offset) = if window == OfferWindow::Open { (OPEN_OFFERS_CAP, 0) } else { (limit, offset) };
        let window_sql = format!(" LIMIT {limit} OFFSET {offset}");
        let rows =
            sqlx::query(&format!("SELECT * FROM ({CUSTOMER_OFFERS}) o WHERE {cond} ORDER BY {order}{window_sql}"))
                .bind(user_id)
                .bind(now)
                .bind(currency)
                .fetch_all(self.reader())
                .await?;
        let offers = rows
            .iter()
            .map(|r| {
                Ok(CustomerOffer {
                    promotion_id: r.try_get("promotion_id")?,
                    name: r.try_get("name")?,
                    label: r.try_get("label")?,
                    offer_type: r.try_get("offer_type")?,
                    currency: r.try_get("currency")?,
                    start_at: r.try_get("start_at")?,
                    end_at: r.try_get("end_at")?,
                    definition: r.try_get("definition")?,
                    code: r.try_get("code")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let count = if count < 0 { offers.len() as i64 } else { count };
        Ok((count, offers))
    }
}
