//! The order ledger's read side: discount items with their benefit and condition
//! applicants, order items with their shares, a customer's discount history and the offers
//! assigned to a customer — the rows behind the Omnitron, OMS and Commerce account views.
//!
//! Every list is a page of ids ([`Store::list_ids`]) hydrated with a fixed number of `IN`
//! queries, so the number of queries per request does not grow with the page size:
//! - discount items: 1 rows (joined to the order for its currency) + 1 benefit applicants
//!   + 1 condition applicants + 1 promotions;
//! - order items: 1 rows (joined to the order) + 1 benefit applicants (products, price and
//!   stock lists are hydrated by the API layer with the catalogue's batched readers);
//! - a customer's offers: one `UNION ALL` over coupon offers and voucher codes, plus a count.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::list::{ListQuery, in_id_order, placeholders};
use crate::{Result, Store};

/// One benefit applicant: the share of a discount carried by one order item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenefitApplicant {
    pub id: i64,
    pub discount_item_id: i64,
    pub order_item_id: i64,
    pub discount_share: i64,
    pub created_at: i64,
    pub modified_at: i64,
}

/// One condition applicant: an order item that satisfied a discount's condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionApplicant {
    pub id: i64,
    pub discount_item_id: i64,
    pub order_item_id: i64,
    pub created_at: i64,
    pub modified_at: i64,
}

/// The few promotion fields a discount item shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotionRef {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub created_at: i64,
    pub modified_at: i64,
}

/// A discount item with everything its detailed view shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscountItem {
    pub id: i64,
    pub order_id: i64,
    pub order_number: String,
    pub currency: String,
    pub name: String,
    pub amount: i64,
    pub offer_type: String,
    pub session_offer_type: Option<String>,
    pub code: Option<String>,
    pub promotion: Option<PromotionRef>,
    pub created_at: i64,
    pub modified_at: i64,
    pub benefits: Vec<BenefitApplicant>,
    pub conditions: Vec<ConditionApplicant>,
}

/// An order item (one unit) with its benefit applicants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderItem {
    pub id: i64,
    pub order_id: i64,
    pub order_number: String,
    pub currency: String,
    pub product_id: i64,
    pub status: i64,
    pub price: i64,
    pub retail_price: Option<i64>,
    pub tax_rate: i64,
    pub price_list_id: Option<i64>,
    pub stock_list_id: Option<i64>,
    pub net_amount: i64,
    pub discount_amount: i64,
    pub installment_interest_amount: i64,
    pub cancel_status: Option<String>,
    pub tracking_number: Option<String>,
    pub shipping_company: Option<String>,
    pub invoice_number: Option<String>,
    pub external_status: Option<String>,
    pub mapping_code: String,
    pub created_at: i64,
    pub modified_at: i64,
    pub benefits: Vec<BenefitApplicant>,
}

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

fn benefit_from_row(r: &AnyRow) -> Result<BenefitApplicant> {
    Ok(BenefitApplicant {
        id: r.try_get("id")?,
        discount_item_id: r.try_get("discount_item_id")?,
        order_item_id: r.try_get("order_item_id")?,
        discount_share: r.try_get("discount_share")?,
        created_at: r.try_get("created_at")?,
        modified_at: r.try_get("modified_at")?,
    })
}

const BENEFIT_COLS: &str = "id, discount_item_id, order_item_id, discount_share, created_at, modified_at";

const ORDER_ITEM_COLS: &str = "oi.id, oi.order_id, o.number, o.currency, oi.product_id, oi.status, oi.price, \
     oi.retail_price, oi.tax_rate, oi.price_list_id, oi.stock_list_id, oi.net_amount, oi.discount_amount, \
     oi.installment_interest_amount, oi.cancel_status, oi.tracking_number, oi.shipping_company, oi.invoice_number, \
     oi.external_status, oi.mapping_code, oi.created_at, oi.modified_at";

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
    /// Discount items by id, fully hydrated, in the order of `ids` (four queries).
    pub async fn discount_items_by_ids(&self, ids: &[i64]) -> Result<Vec<DiscountItem>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ph = placeholders(0, ids.len());
        let rows = self
            .fetch_in(
                format!(
                    "SELECT d.id, d.order_id, o.number, o.currency, d.name, d.amount, d.offer_type, d.session_offer_type, \
                     d.code, d.promotion_id, d.created_at, d.modified_at \
                     FROM discount_items d JOIN orders o ON o.id = d.order_id WHERE d.id IN ({ph})"
                ),
                ids,
            )
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        let mut promo_ids = Vec::new();
        for r in &rows {
            let promotion_id: Option<i64> = r.try_get("promotion_id")?;
            promo_ids.extend(promotion_id);
            items.push((
                promotion_id,
                DiscountItem {
                    id: r.try_get("id")?,
                    order_id: r.try_get("order_id")?,
                    order_number: r.try_get("number")?,
                    currency: r.try_get("currency")?,
                    name: r.try_get("name")?,
                    amount: r.try_get("amount")?,
                    offer_type: r.try_get("offer_type")?,
                    session_offer_type: r.try_get("session_offer_type")?,
                    code: r.try_get("code")?,
                    promotion: None,
                    created_at: r.try_get("created_at")?,
                    modified_at: r.try_get("modified_at")?,
                    benefits: Vec::new(),
                    conditions: Vec::new(),
                },
            ));
        }
        let mut benefits: HashMap<i64, Vec<BenefitApplicant>> = HashMap::new();
        for r in &self
            .fetch_in(
                format!("SELECT {BENEFIT_COLS} FROM benefit_applicants WHERE discount_item_id IN ({ph}) ORDER BY id"),
                ids,
            )
            .await?
        {
            let b = benefit_from_row(r)?;
            benefits.entry(b.discount_item_id).or_default().push(b);
        }
        let mut conditions: HashMap<i64, Vec<ConditionApplicant>> = HashMap::new();
        for r in &self
            .fetch_in(
                format!(
                    "SELECT id, discount_item_id, order_item_id, created_at, modified_at FROM condition_applicants \
                     WHERE discount_item_id IN ({ph}) ORDER BY id"
                ),
                ids,
            )
            .await?
        {
            let c = ConditionApplicant {
                id: r.try_get("id")?,
                discount_item_id: r.try_get("discount_item_id")?,
                order_item_id: r.try_get("order_item_id")?,
                created_at: r.try_get("created_at")?,
                modified_at: r.try_get("modified_at")?,
            };
            conditions.entry(c.discount_item_id).or_default().push(c);
        }
        promo_ids.sort_unstable();
        promo_ids.dedup();
        let mut promotions: HashMap<i64, PromotionRef> = HashMap::new();
        if !promo_ids.is_empty() {
            let pph = placeholders(0, promo_ids.len());
            for r in &self
                .fetch_in(
                    format!("SELECT id, name, slug, created_at, modified_at FROM promotions WHERE id IN ({pph})"),
                    &promo_ids,
                )
                .await?
            {
                let p = PromotionRef {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    slug: r.try_get("slug")?,
                    created_at: r.try_get("created_at")?,
                    modified_at: r.try_get("modified_at")?,
                };
                promotions.insert(p.id, p);
            }
        }
        let items = items
            .into_iter()
            .map(|(pid, mut d)| {
                d.promotion = pid.and_then(|p| promotions.get(&p).cloned());
                d.benefits = benefits.remove(&d.id).unwrap_or_default();
                d.conditions = conditions.remove(&d.id).unwrap_or_default();
                d
            })
            .collect();
        Ok(in_id_order(ids, items, |d| d.id))
    }

    /// A page of discount items (`query` over `discount_items`) and the total count.
    pub async fn list_discount_items(&self, query: &ListQuery) -> Result<(i64, Vec<DiscountItem>)> {
        let (count, ids) = self.list_ids("discount_items", query).await?;
        Ok((count, self.discount_items_by_ids(&ids).await?))
    }

    /// Order items by id with their benefit applicants, in the order of `ids` (two queries).
    pub async fn order_items_by_ids(&self, ids: &[i64]) -> Result<Vec<OrderItem>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ph = placeholders(0, ids.len());
        let rows = self
            .fetch_in(
                format!(
                    "SELECT {ORDER_ITEM_COLS} FROM order_items oi JOIN orders o ON o.id = oi.order_id WHERE oi.id IN ({ph})"
                ),
                ids,
            )
            .await?;
        let mut benefits: HashMap<i64, Vec<BenefitApplicant>> = HashMap::new();
        for r in &self
            .fetch_in(
                format!("SELECT {BENEFIT_COLS} FROM benefit_applicants WHERE order_item_id IN ({ph}) ORDER BY id"),
                ids,
            )
            .await?
        {
            let b = benefit_from_row(r)?;
            benefits.entry(b.order_item_id).or_default().push(b);
        }
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: i64 = r.try_get("id")?;
            items.push(OrderItem {
                id,
                order_id: r.try_get("order_id")?,
                order_number: r.try_get("number")?,
                currency: r.try_get("currency")?,
                product_id: r.try_get("product_id")?,
                status: r.try_get("status")?,
                price: r.try_get("price")?,
                retail_price: r.try_get("retail_price")?,
                tax_rate: r.try_get("tax_rate")?,
                price_list_id: r.try_get("price_list_id")?,
                stock_list_id: r.try_get("stock_list_id")?,
                net_amount: r.try_get("net_amount")?,
                discount_amount: r.try_get("discount_amount")?,
                installment_interest_amount: r.try_get("installment_interest_amount")?,
                cancel_status: r.try_get("cancel_status")?,
                tracking_number: r.try_get("tracking_number")?,
                shipping_company: r.try_get("shipping_company")?,
                invoice_number: r.try_get("invoice_number")?,
                external_status: r.try_get("external_status")?,
                mapping_code: r.try_get("mapping_code")?,
                created_at: r.try_get("created_at")?,
                modified_at: r.try_get("modified_at")?,
                benefits: benefits.remove(&id).unwrap_or_default(),
            });
        }
        Ok(in_id_order(ids, items, |i| i.id))
    }

    /// A page of order items (`query` over `order_items`) and the total count.
    pub async fn list_order_items(&self, query: &ListQuery) -> Result<(i64, Vec<OrderItem>)> {
        let (count, ids) = self.list_ids("order_items", query).await?;
        Ok((count, self.order_items_by_ids(&ids).await?))
    }

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
