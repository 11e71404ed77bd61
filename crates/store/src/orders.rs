//! The order ledger's write side: placing an order with its items (one per unit), discount
//! items, benefit and condition applicants, and the usage it consumes — all in one
//! transaction, so an acknowledged order is complete and a refused one leaves nothing.
//!
//! Limits are enforced by the database, not by an in-process lock: every usage claim is a
//! conditional `UPDATE … WHERE used + n <= max RETURNING …` (or the upsert equivalent). On
//! PostgreSQL the row lock taken by the first writer makes a racing writer re-check the
//! condition after the first commits; on SQLite writers are serialised by the single writer
//! connection. Either way a claim that would pass a limit matches no row, the transaction
//! rolls back, and the caller refuses the checkout with 400.

use std::borrow::Cow;
use std::collections::BTreeMap;

use offerline_core::{Currency, CustomerId, OfferKind, OrderDraft, OrderStatus, UsageClaim, VoucherUsage};
use serde_json::Value as Json;

use crate::exec::{Exec, Param, ints, opt_int};
use crate::ledger::{
    BenefitApplicantRow, ConditionApplicantRow, DiscountItemRow, Ledger, LedgerRows, OrderItemRow, OrderRow,
};
use crate::promotions::codec::encode_snapshot;
use crate::{Result, StoreError, now_micros};

pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// An order to write: its envelope (number, customer, channel, status, currency, the
/// customer and address blobs a client sent) around the domain's draft (units, discounts,
/// usage claims; see [`offerline_core::draft`]).
#[derive(Debug, Clone)]
pub struct NewOrder {
    /// `None`: a fresh Akinon-style numeric order number is generated.
    pub number: Option<String>,
    pub user_id: Option<CustomerId>,
    pub channel: String,
    pub status: OrderStatus,
    pub currency: Currency,
    pub customer: Option<Json>,
    pub shipping_address: Option<Json>,
    pub billing_address: Option<Json>,
    pub draft: OrderDraft,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct PlacedOrder {
    pub id: i64,
    pub number: String,
    pub item_ids: Vec<i64>,
    pub discount_ids: Vec<i64>,
    /// The `created_at` (= `modified_at`) stamped on every row written.
    pub created_at: i64,
}

/// An Akinon-style order number: 13 digits of milliseconds and 4 random digits.
pub fn new_order_number() -> String {
    use rand::Rng;
    format!("{}{:04}", now_micros() / 1000, rand::thread_rng().gen_range(0..10_000))
}

/// Rows per multi-row INSERT: well under both engines' bound-parameter limits.
const CHUNK: usize = 400;

/// The `VALUES` tuples of a multi-row INSERT: `rows` tuples of `cols` placeholders numbered
/// on from `$1`, each followed by `tail(its last placeholder number)` (e.g. `", $15"` to
/// bind `created_at` to `modified_at` too, or `", 1"` for a constant).
fn values_sql(rows: usize, cols: usize, tail: impl Fn(usize) -> String) -> String {
    use std::fmt::Write;
    let mut sql = String::with_capacity(rows * cols * 5);
    for k in 0..rows {
        sql.push_str(if k > 0 { ", (" } else { "(" });
        for j in 1..=cols {
            if j > 1 {
                sql.push_str(", ");
            }
            write!(sql, "${}", k * cols + j).ok();
        }
        sql.push_str(&tail(k * cols + cols));
        sql.push(')');
    }
    sql
}

/// The counts of claims without a limit, held back by a batch of checkouts (the PostgreSQL
/// checkout writer, [`crate::pg_writer`]) and written in one upsert per table at the end of
/// the batch: sent with its `COMMIT` ([`OpenCounts::statements`]), or, for the checkouts it
/// writes together, as parts of their one statement ([`OpenCounts::take`],
/// `pg_bulk`).
///
/// Such a claim only counts, so when in the transaction it is written changes nothing but
/// how long the counter rows stay locked: every order of a popular offer updates the same
/// `offer_usage` row, and PostgreSQL keeps it locked until the commit has been flushed. Held
/// back, they cost one statement per batch instead of two per checkout, and the rows are
/// locked for the end of the batch only. A limited claim of a promotion with counts held
/// back writes them first, so that its check sees them.
#[derive(Debug, Clone, Default)]
pub struct OpenCounts {
    /// promotion → (applications, discount, orders).
    offers: BTreeMap<i64, (i64, i64, i64)>,
    /// (promotion, customer) → applications.
    customers: BTreeMap<(i64, i64), i64>,
}

impl OpenCounts {
    pub fn is_empty(&self) -> bool {
        self.offers.is_empty() && self.customers.is_empty()
    }

    /// Writes the counts held back (in promotion id order, as every claim locks its rows) and
    /// forgets them.
    pub async fn write<E: Exec>(&mut self, tx: &mut E) -> Result<()> {
        let offers: Vec<(i64, i64, i64, i64)> =
            std::mem::take(&mut self.offers).into_iter().map(|(p, (a, d, o))| (p, a, d, o)).collect();
        let customers: Vec<(i64, i64, i64)> =
            std::mem::take(&mut self.customers).into_iter().map(|((p, u), a)| (p, u, a)).collect();
        for chunk in offers.chunks(CHUNK) {
            let mut sql = String::from(
                "INSERT INTO offer_usage (promotion_id, applications, discount_spent, orders_count) VALUES ",
            );
            sql.push_str(&values_sql(chunk.len(), 4, |_| String::new()));
            sql.push_str(
                " ON CONFLICT (promotion_id) DO UPDATE SET applications = offer_usage.applications + excluded.applications, \
                 discount_spent = offer_usage.discount_spent + excluded.discount_spent, \
                 orders_count = offer_usage.orders_count + excluded.orders_count",
            );
            let params: Vec<Param<'_>> =
                chunk.iter().flat_map(|&(p, a, d, o)| [p.into(), a.into(), d.into(), o.into()]).collect();
            tx.execute(&sql, &params).await?;
        }
        for chunk in customers.chunks(CHUNK) {
            write_open_customers(tx, chunk).await?;
        }
        Ok(())
    }

    /// The counts held, taken: per promotion (id, applications, discount, orders) and per
    /// customer (promotion, customer, applications), each in the order [`OpenCounts::write`]
    /// locks their rows.
    pub fn take(&mut self) -> (Vec<[i64; 4]>, Vec<[i64; 3]>) {
        (
            std::mem::take(&mut self.offers).into_iter().map(|(p, (a, d, o))| [p, a, d, o]).collect(),
            std::mem::take(&mut self.customers).into_iter().map(|((p, u), a)| [p, u, a]).collect(),
        )
    }

    /// The upserts [`OpenCounts::write`] runs, as SQL text with the counts written in, and
    /// forgets them: for a caller that sends them in one round trip with its `COMMIT` (the
    /// simple query protocol takes no parameters). Every value is an integer this process
    /// computed, formatted as a number: nothing a client sent reaches the text.
    pub fn statements(&mut self) -> String {
        use std::fmt::Write;
        let mut sql = String::new();
        let offers = std::mem::take(&mut self.offers);
        for chunk in offers.into_iter().collect::<Vec<_>>().chunks(CHUNK) {
            sql.push_str("INSERT INTO offer_usage (promotion_id, applications, discount_spent, orders_count) VALUES ");
            for (k, (p, (a, d, o))) in chunk.iter().enumerate() {
                write!(sql, "{}({p}, {a}, {d}, {o})", if k > 0 { ", " } else { "" }).ok();
            }
            sql.push_str(
                " ON CONFLICT (promotion_id) DO UPDATE SET applications = offer_usage.applications + excluded.applications, \
                 discount_spent = offer_usage.discount_spent + excluded.discount_spent, \
                 orders_count = offer_usage.orders_count + excluded.orders_count; ",
            );
        }
        let customers = std::mem::take(&mut self.customers);
        for chunk in customers.into_iter().collect::<Vec<_>>().chunks(CHUNK) {
            sql.push_str("INSERT INTO offer_customer_usage (promotion_id, user_id, applications) VALUES ");
            for (k, ((p, u), a)) in chunk.iter().enumerate() {
                write!(sql, "{}({p}, {u}, {a})", if k > 0 { ", " } else { "" }).ok();
            }
            sql.push_str(
                " ON CONFLICT (promotion_id, user_id) DO UPDATE SET \
                 applications = offer_customer_usage.applications + excluded.applications; ",
            );
        }
        sql
    }
}

/// Counts of per-customer claims without a limit, (promotion, customer, applications) in
/// that order, in one multi-row upsert.
async fn write_open_customers<E: Exec>(tx: &mut E, rows: &[(i64, i64, i64)]) -> Result<()> {
    let mut sql = String::from("INSERT INTO offer_customer_usage (promotion_id, user_id, applications) VALUES ");
    sql.push_str(&values_sql(rows.len(), 3, |_| String::new()));
    sql.push_str(
        " ON CONFLICT (promotion_id, user_id) DO UPDATE SET applications = offer_customer_usage.applications + excluded.applications",
    );
    let params: Vec<Param<'_>> = rows.iter().flat_map(|&(p, u, a)| [p.into(), u.into(), a.into()]).collect();
    tx.execute(&sql, &params).await?;
    Ok(())
}

/// Consumes usage claims. Any claim that would break its limit → `LimitReached`, and the
/// caller must roll back (dropping the transaction does).
pub async fn claim_usage<E: Exec>(tx: &mut E, claims: &[UsageClaim], order_id: i64) -> Result<()> {
    claim_usage_deferring(tx, claims, order_id, None).await
}

/// [`claim_usage`], the claims without a limit added to `held` instead of written when it is
/// given (see [`OpenCounts`]).
pub async fn claim_usage_deferring<E: Exec>(
    tx: &mut E,
    claims: &[UsageClaim],
    order_id: i64,
    held: Option<&mut OpenCounts>,
) -> Result<()> {
    let now = now_micros();
    // Counters of offers without a limit only count: they go in one multi-row upsert per
    // table, in promotion id order so that concurrent orders lock rows in the same order
    // (no deadlock on PostgreSQL). Limited ones are claimed one by one, each checked.
    let mut open_offers: Vec<(i64, i64, i64)> = Vec::new();
    let mut open_customers: Vec<(i64, i64, i64)> = Vec::new();
    for claim in claims {
        match claim {
            UsageClaim::Offer { offer, applications, discount, max_applications: None, max_discount: None } => {
                open_offers.push((offer.0, i64::from(*applications), *discount))
            }
            UsageClaim::CustomerOffer { offer, customer, applications, max_applications: None } => {
                open_customers.push((offer.0, customer.0, i64::from(*applications)))
            }
            _ => {}
        }
    }
    if let Some(held) = held {
        // A limited claim checks the counter as written: counts held back for its promotion
        // go first.
        let limited_on_held = claims.iter().any(|c| match c {
            UsageClaim::Offer { offer, max_applications, max_discount, .. } => {
                (max_applications.is_some() || max_discount.is_some()) && held.offers.contains_key(&offer.0)
            }
            UsageClaim::CustomerOffer { offer, customer, max_applications: Some(_), .. } => {
                held.customers.contains_key(&(offer.0, customer.0))
            }
            _ => false,
        });
        if limited_on_held {
            held.write(tx).await?;
        }
        for (p, a, d) in open_offers.drain(..) {
            let e = held.offers.entry(p).or_default();
            (e.0, e.1, e.2) = (e.0 + a, e.1 + d, e.2 + 1);
        }
        for (p, u, a) in open_customers.drain(..) {
            *held.customers.entry((p, u)).or_default() += a;
        }
    }
    open_offers.sort_unstable();
    open_customers.sort_unstable();
    if !open_offers.is_empty() {
        let mut sql =
            String::from("INSERT INTO offer_usage (promotion_id, applications, discount_spent, orders_count) VALUES ");
        sql.push_str(&values_sql(open_offers.len(), 3, |_| ", 1".into()));
        sql.push_str(
            " ON CONFLICT (promotion_id) DO UPDATE SET applications = offer_usage.applications + excluded.applications, \
             discount_spent = offer_usage.discount_spent + excluded.discount_spent, orders_count = offer_usage.orders_count + 1",
        );
        let params: Vec<Param<'_>> = open_offers.iter().flat_map(|&(p, a, d)| [p.into(), a.into(), d.into()]).collect();
        tx.execute(&sql, &params).await?;
    }
    if !open_customers.is_empty() {
        write_open_customers(tx, &open_customers).await?;
    }
    for claim in claims {
        match claim {
            UsageClaim::Offer { max_applications: None, max_discount: None, .. }
            | UsageClaim::CustomerOffer { max_applications: None, .. } => {}
            UsageClaim::Offer { offer, applications, discount, max_applications, max_discount } => {
                let (promotion_id, applications) = (offer.0, i64::from(*applications));
                let max_applications = max_applications.map(i64::from);
                // One conditional upsert: a new row is checked here (the WHERE of DO UPDATE
                // only guards existing rows), an existing one by the database.
                let over_first =
                    max_applications.is_some_and(|m| applications > m) || max_discount.is_some_and(|m| *discount > m);
                let row = opt_int(
                    tx,
                    "INSERT INTO offer_usage (promotion_id, applications, discount_spent, orders_count) VALUES ($3, $1, $2, 1) \
                     ON CONFLICT (promotion_id) DO UPDATE SET applications = offer_usage.applications + excluded.applications, \
                     discount_spent = offer_usage.discount_spent + excluded.discount_spent, \
                     orders_count = offer_usage.orders_count + 1 \
                     WHERE ($4 < 0 OR offer_usage.applications + excluded.applications <= $4) \
                     AND ($5 < 0 OR offer_usage.discount_spent + excluded.discount_spent <= $5) \
                     RETURNING applications",
                    &[
                        applications.into(),
                        (*discount).into(),
                        promotion_id.into(),
                        max_applications.unwrap_or(-1).into(),
                        max_discount.unwrap_or(-1).into(),
                    ],
                )
                .await?;
                if row.is_none() || over_first {
                    return Err(StoreError::LimitReached(format!("offer {promotion_id}")));
                }
            }
            UsageClaim::CustomerOffer { offer, customer, applications, max_applications } => {
                let (promotion_id, applications) = (offer.0, i64::from(*applications));
                let max_applications = max_applications.map(i64::from);
                let row = opt_int(
                    tx,
                    "INSERT INTO offer_customer_usage (promotion_id, user_id, applications) VALUES ($1, $2, $3) \
                     ON CONFLICT (promotion_id, user_id) DO UPDATE SET applications = offer_customer_usage.applications + excluded.applications \
                     WHERE $4 < 0 OR offer_customer_usage.applications + excluded.applications <= $4 \
                     RETURNING applications",
                    &[
                        promotion_id.into(),
                        customer.0.into(),
                        applications.into(),
                        max_applications.unwrap_or(-1).into(),
                    ],
                )
                .await?;
                let over_first = max_applications.is_some_and(|m| applications > m);
                if row.is_none() || over_first {
                    return Err(StoreError::LimitReached(format!("offer {promotion_id} for this customer")));
                }
            }
            UsageClaim::Voucher { voucher, usage, customer } => {
                let voucher_id = voucher.0;
                let user_id = customer.map(|c| c.0);
                let ok = match usage {
                    VoucherUsage::SingleUse => opt_int(
                        tx,
                        "UPDATE vouchers SET uses = uses + 1, modified_at = $2 WHERE id = $1 AND uses = 0 RETURNING id",
                        &[voucher_id.into(), now.into()],
                    )
                    .await?
                    .is_some(),
                    VoucherUsage::OncePerCustomer => {
                        let Some(uid) = user_id else {
                            return Err(StoreError::LimitReached("this voucher needs a signed-in customer".into()));
                        };
                        // The unique (voucher_id, user_id, order_id) index does not stop a second
                        // order, so lock the voucher row first and then check.
                        tx.execute(
                            "UPDATE vouchers SET uses = uses + 1, modified_at = $2 WHERE id = $1",
                            &[voucher_id.into(), now.into()],
                        )
                        .await?;
                        let used = opt_int(
                            tx,
                            "SELECT COUNT(*) FROM voucher_applications WHERE voucher_id = $1 AND user_id = $2",
                            &[voucher_id.into(), uid.into()],
                        )
                        .await?;
                        used == Some(0)
                    }
                    VoucherUsage::MultiUse => opt_int(
                        tx,
                        "UPDATE vouchers SET uses = uses + 1, modified_at = $2 WHERE id = $1 RETURNING id",
                        &[voucher_id.into(), now.into()],
                    )
                    .await?
                    .is_some(),
                };
                if !ok {
                    return Err(StoreError::LimitReached(format!("voucher {voucher_id} has been used")));
                }
                tx.execute(
                    "INSERT INTO voucher_applications (voucher_id, user_id, order_id, created_at) VALUES ($1, $2, $3, $4)",
                    &[voucher_id.into(), user_id.into(), order_id.into(), now.into()],
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// Writes an order and everything under it inside `tx`, then consumes the draft's usage
/// claims. Returns `Invalid` if the discounts do not add up (Σ shares ≠ amount, a unit
/// discounted below zero) — that is a bug upstream, and nothing is written.
pub async fn place_order<E: Exec>(tx: &mut E, order: &NewOrder) -> Result<PlacedOrder> {
    place_order_numbered(tx, order, new_order_number).await
}

/// Tries for a generated order number before giving up: two orders in the same millisecond
/// draw the same 4 random digits once in 10,000, which at a thousand orders a second would
/// refuse one checkout in ten thousand.
const NUMBER_ATTEMPTS: usize = 8;

/// [`place_order`] with the source of generated order numbers given (tests pass one that
/// collides). A generated number that is taken is drawn again; the insert uses
/// `ON CONFLICT DO NOTHING`, so the collision does not abort the transaction (PostgreSQL).
/// An explicit [`NewOrder::number`] that is taken is a `Conflict`.
pub async fn place_order_numbered<E: Exec>(
    tx: &mut E,
    order: &NewOrder,
    next_number: impl FnMut() -> String,
) -> Result<PlacedOrder> {
    place_order_deferring(tx, order, next_number, None).await
}

/// [`place_order_numbered`], the claims without a limit added to `held` when it is given
/// (see [`OpenCounts`]).
pub async fn place_order_deferring<E: Exec>(
    tx: &mut E,
    order: &NewOrder,
    mut next_number: impl FnMut() -> String,
    held: Option<&mut OpenCounts>,
) -> Result<PlacedOrder> {
    let v = OrderValues::new(order, now_micros())?;
    let mut attempt = 0;
    let (order_id, number): (i64, String) = loop {
        attempt += 1;
        let number = order.number.clone().unwrap_or_else(&mut next_number);
        let id = opt_int(tx, &ORDER_INSERT, &v.order_row(&number)).await?;
        match id {
            Some(id) => break (id, number),
            None if order.number.is_none() && attempt < NUMBER_ATTEMPTS => continue,
            None => {
                return Err(StoreError::Conflict {
                    field: "number",
                    message: "order with this number already exists.".into(),
                });
            }
        }
    };

    // Order items, in chunks of multi-row INSERTs. Ids are assigned in VALUES order, so the
    // sorted returned ids line up with the input units.
    let mut item_ids = Vec::with_capacity(order.draft.units.len());
    for (c, chunk) in order.draft.units.chunks(CHUNK).enumerate() {
        let sql = format!(
            "INSERT INTO order_items ({ITEM_COLS}, modified_at) VALUES {} RETURNING id",
            values_sql(chunk.len(), ITEM_COLS_N, |last| format!(", ${last}"))
        );
        let params: Vec<Param<'_>> = (0..chunk.len()).flat_map(|k| v.item_row(order_id, c * CHUNK + k)).collect();
        let mut ids = ints(tx, &sql, &params).await?;
        ids.sort_unstable();
        item_ids.extend(ids);
    }

    // Discount items in one multi-row INSERT (ids sorted, as for the items), then every
    // benefit applicant and every condition applicant of the order in one INSERT each.
    let mut discount_ids = Vec::with_capacity(order.draft.discounts.len());
    for chunk in order.draft.discounts.chunks(CHUNK / 2) {
        let sql = format!(
            "INSERT INTO discount_items ({DISCOUNT_COLS}, modified_at) VALUES {} RETURNING id",
            values_sql(chunk.len(), DISCOUNT_COLS_N, |last| format!(", ${last}"))
        );
        let params: Vec<Param<'_>> = chunk.iter().flat_map(|d| v.discount_row(order_id, d)).collect();
        let mut ids = ints(tx, &sql, &params).await?;
        ids.sort_unstable();
        discount_ids.extend(ids);
    }
    let (benefit, condition) = v.applicants(&discount_ids, &item_ids);
    insert_applicants(tx, &benefit, v.now).await?;
    insert_applicants(tx, &condition, v.now).await?;

    claim_usage_deferring(tx, &order.draft.claims, order_id, held).await?;
    Ok(PlacedOrder { id: order_id, number, item_ids, discount_ids, created_at: v.now })
}

/// One order's row, its number drawn again on a conflict ([`place_order_numbered`]).
static ORDER_INSERT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "INSERT INTO orders ({ORDER_COLS}, modified_at) VALUES {} ON CONFLICT (number) DO NOTHING RETURNING id",
        values_sql(1, ORDER_COLS_N, |last| format!(", ${last}"))
    )
});

/// The columns of an order row as [`OrderValues::order_row`] gives them; `modified_at`
/// follows, equal to `created_at`.
pub(crate) const ORDER_COLS: &str = "number, user_id, channel, status, currency, amount, discount_amount, \
     amount_without_discount, shipping_free, customer, shipping_address, billing_address, created_at";
const ORDER_COLS_N: usize = 13;
/// The columns of an order item row ([`OrderValues::item_row`]); `modified_at` follows.
pub(crate) const ITEM_COLS: &str = "order_id, product_id, line_key, status, price, retail_price, tax_rate, \
     price_list_id, stock_list_id, net_amount, discount_amount, mapping_code, product_name, product_sku, created_at";
const ITEM_COLS_N: usize = 15;
/// The columns of a discount item row ([`OrderValues::discount_row`]); `modified_at` follows.
pub(crate) const DISCOUNT_COLS: &str = "order_id, name, amount, offer_type, session_offer_type, code, promotion_id, \
     external_id, discount_engine, description, external_uuid, line_key, applications, refund_policy, \
     offer_snapshot, created_at";
const DISCOUNT_COLS_N: usize = 16;

/// What an order's rows hold, checked and computed before any of them is written: one
/// source for the order writers, one order at a time ([`place_order`]) or a batch's orders
/// in one statement per table ([`crate::pg_bulk`]). Building it returns `Invalid` if the
/// discounts do not add up (Σ shares ≠ amount, a unit discounted below zero).
pub(crate) struct OrderValues<'a> {
    order: &'a NewOrder,
    /// What each unit is discounted by, in all.
    unit_discount: Vec<i64>,
    gross: i64,
    discount: i64,
    status: i64,
    /// The `created_at` (= `modified_at`) of every row.
    pub(crate) now: i64,
}

impl<'a> OrderValues<'a> {
    pub(crate) fn new(order: &'a NewOrder, now: i64) -> Result<Self> {
        let draft = &order.draft;
        let n = draft.units.len();
        if n == 0 {
            return Err(StoreError::Invalid("an order needs at least one item".into()));
        }
        let mut unit_discount = vec![0i64; n];
        for d in &draft.discounts {
            let mut sum = 0i64;
            for &(i, share) in &d.shares {
                if i >= n || share < 0 {
                    return Err(StoreError::Invalid(format!("discount {:?}: bad share", d.name)));
                }
                unit_discount[i] += share;
                sum += share;
            }
            if sum != d.amount {
                return Err(StoreError::Invalid(format!("discount {:?}: shares {sum} != amount {}", d.name, d.amount)));
            }
            if d.condition_units.iter().any(|&i| i >= n) {
                return Err(StoreError::Invalid(format!("discount {:?}: bad condition unit", d.name)));
            }
        }
        if draft.units.iter().zip(&unit_discount).any(|(it, d)| *d > it.price) {
            return Err(StoreError::Invalid("a unit's discount exceeds its price".into()));
        }
        Ok(OrderValues {
            order,
            gross: draft.units.iter().map(|i| i.price).sum(),
            discount: draft.discounts.iter().map(|d| d.amount).sum(),
            unit_discount,
            status: i64::from(order.status.code()),
            now,
        })
    }

    /// How many units (order items) the order has.
    pub(crate) fn units(&self) -> usize {
        self.unit_discount.len()
    }

    /// The order row under `number` ([`ORDER_COLS`]).
    pub(crate) fn order_row(&self, number: &str) -> Vec<Param<'a>> {
        let o = self.order;
        let to_text = |j: &Option<Json>| Param::from(j.as_ref().map(|v| v.to_string()));
        vec![
            number.to_owned().into(),
            o.user_id.map(|c| c.0).into(),
            (&o.channel).into(),
            self.status.into(),
            o.currency.as_str().into(),
            (self.gross - self.discount).into(),
            self.discount.into(),
            self.gross.into(),
            i64::from(o.draft.shipping_free).into(),
            to_text(&o.customer),
            to_text(&o.shipping_address),
            to_text(&o.billing_address),
            self.now.into(),
        ]
    }

    /// The row of unit `k` of order `order_id` ([`ITEM_COLS`]).
    pub(crate) fn item_row(&self, order_id: i64, k: usize) -> [Param<'a>; ITEM_COLS_N] {
        let it = &self.order.draft.units[k];
        let d = self.unit_discount[k];
        [
            order_id.into(),
            it.product.0.into(),
            (&it.line_key).into(),
            self.status.into(),
            it.price.into(),
            it.retail_price.into(),
            it.tax_rate.into(),
            it.price_list_id.into(),
            it.stock_list_id.into(),
            (it.price - d).into(),
            d.into(),
            // From the thread's generator, not the OS: `new_v4` is a getrandom system
            // call per unit, on the (SQLite: single) writer.
            uuid::Builder::from_random_bytes(rand::random()).into_uuid().to_string().into(),
            (&it.product_name).into(),
            (&it.product_sku).into(),
            self.now.into(),
        ]
    }

    /// The row of discount `d` (one of the draft's) of order `order_id` ([`DISCOUNT_COLS`]).
    pub(crate) fn discount_row(
        &self,
        order_id: i64,
        d: &'a offerline_core::DiscountDraft,
    ) -> [Param<'a>; DISCOUNT_COLS_N] {
        let ext = d.external.as_ref();
        [
            order_id.into(),
            (&d.name).into(),
            d.amount.into(),
            d.source.as_str().into(),
            text(d.offer_kind.map(OfferKind::as_str)),
            (&d.code).into(),
            d.offer.map(|o| o.0).into(),
            text(ext.map(|e| e.external_id.as_str())),
            text(ext.map(|e| e.discount_engine.as_str())),
            text(ext.map(|e| e.description.as_str())),
            text(ext.map(|e| e.uuid.as_str())),
            (&d.line_key).into(),
            i64::from(d.applications).into(),
            d.refund_policy.as_str().into(),
            Param::from(d.reprice_offer.as_ref().map(encode_snapshot)),
            self.now.into(),
        ]
    }

    /// The benefit applicants (with a share) and the condition applicants (without), as
    /// (discount item id, order item id, share), given the ids the order's discounts and units
    /// were written under, in the draft's order.
    pub(crate) fn applicants(&self, discount_ids: &[i64], item_ids: &[i64]) -> (Vec<Applicant>, Vec<Applicant>) {
        let mut benefit = Vec::new();
        let mut condition = Vec::new();
        for (d, &id) in self.order.draft.discounts.iter().zip(discount_ids) {
            benefit.extend(d.shares.iter().map(|&(i, s)| (id, item_ids[i], Some(s))));
            condition.extend(d.condition_units.iter().map(|&i| (id, item_ids[i], None)));
        }
        (benefit, condition)
    }
}

/// An applicant row: (discount item id, order item id, share — `None` for a condition
/// applicant).
pub(crate) type Applicant = (i64, i64, Option<i64>);

/// A text column that may be NULL, borrowed.
fn text(v: Option<&str>) -> Param<'_> {
    Param::Text(v.map(Cow::Borrowed))
}

/// Benefit applicants (with a share) or condition applicants (without), multi-row: rows are
/// (discount item id, order item id, share).
async fn insert_applicants<E: Exec>(tx: &mut E, rows: &[(i64, i64, Option<i64>)], now: i64) -> Result<()> {
    for chunk in rows.chunks(CHUNK) {
        let benefit = chunk[0].2.is_some();
        let cols = if benefit { 4 } else { 3 };
        let mut sql = if benefit {
            String::from(
                "INSERT INTO benefit_applicants (discount_item_id, order_item_id, discount_share, created_at, modified_at) VALUES ",
            )
        } else {
            String::from(
                "INSERT INTO condition_applicants (discount_item_id, order_item_id, created_at, modified_at) VALUES ",
            )
        };
        sql.push_str(&values_sql(chunk.len(), cols, |last| format!(", ${last}")));
        let mut params: Vec<Param<'_>> = Vec::with_capacity(chunk.len() * cols);
        for &(discount_id, item, share) in chunk {
            params.extend([discount_id.into(), item.into()]);
            if let Some(s) = share {
                params.push(s.into());
            }
            params.push(now.into());
        }
        tx.execute(&sql, &params).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// What was written, as the ledger's read model: the checkout answer renders it like every
// other view of an order.

pub use crate::ledger::OrderDetail;

impl OrderDetail {
    /// What [`place_order`] wrote, rebuilt from its input and output without reading it
    /// back (the checkout renders its response, and stores it for idempotent replays,
    /// inside the transaction that writes the order). The write returns neither the units'
    /// mapping codes nor the applicants' ids: they are left empty (`""`, 0) here, and no
    /// order detail view shows them. A status or currency the ledger cannot read is
    /// `Internal`, so an order is never acknowledged with an answer that could not be built.
    pub fn from_placed(o: &NewOrder, p: &PlacedOrder) -> Result<OrderDetail> {
        let draft = &o.draft;
        let (status, currency) = (o.status, o.currency);
        let n = draft.units.len();
        let mut unit_discount = vec![0i64; n];
        for d in &draft.discounts {
            for &(i, s) in &d.shares {
                unit_discount[i] += s;
            }
        }
        let gross: i64 = draft.units.iter().map(|i| i.price).sum();
        let discount: i64 = draft.discounts.iter().map(|d| d.amount).sum();
        let at = p.created_at;
        let mut rows = LedgerRows {
            orders: vec![OrderRow {
                id: p.id,
                number: p.number.clone(),
                user_id: o.user_id.map(|c| c.0),
                channel: o.channel.clone(),
                status,
                currency,
                amount: gross - discount,
                discount_amount: discount,
                amount_without_discount: gross,
                shipping_amount: 0,
                shipping_free: draft.shipping_free,
                customer: o.customer.clone(),
                shipping_address: o.shipping_address.clone(),
                billing_address: o.billing_address.clone(),
                created_at: at,
                modified_at: at,
            }],
            ..LedgerRows::default()
        };
        rows.items = draft
            .units
            .iter()
            .enumerate()
            .map(|(i, it)| OrderItemRow {
                id: p.item_ids[i],
                order_id: p.id,
                product_id: it.product.0,
                line_key: it.line_key.clone(),
                status,
                price: it.price,
                retail_price: it.retail_price,
                tax_rate: it.tax_rate,
                price_list_id: it.price_list_id,
                stock_list_id: it.stock_list_id,
                net_amount: it.price - unit_discount[i],
                discount_amount: unit_discount[i],
                installment_interest_amount: 0,
                cancel_status: None,
                tracking_number: None,
                shipping_company: None,
                invoice_number: None,
                external_status: None,
                mapping_code: String::new(),
                product_name: it.product_name.clone(),
                product_sku: it.product_sku.clone(),
                created_at: at,
                modified_at: at,
            })
            .collect();
        for (d, &id) in draft.discounts.iter().zip(&p.discount_ids) {
            let ext = d.external.as_ref();
            rows.discounts.push(DiscountItemRow {
                id,
                order_id: p.id,
                name: d.name.clone(),
                amount: d.amount,
                offer_type: d.source.as_str().to_owned(),
                session_offer_type: d.offer_kind.map(|k| k.as_str().to_owned()),
                code: d.code.clone(),
                promotion_id: d.offer.map(|o| o.0),
                external_id: ext.map(|e| e.external_id.clone()),
                discount_engine: ext.map(|e| e.discount_engine.clone()),
                description: ext.map(|e| e.description.clone()),
                external_uuid: ext.map(|e| e.uuid.clone()),
                line_key: d.line_key.clone(),
                cancel_amount: 0,
                applications: i64::from(d.applications),
                refund_policy: d.refund_policy,
                created_at: at,
                modified_at: at,
            });
            rows.benefits.extend(d.shares.iter().map(|&(i, s)| BenefitApplicantRow {
                id: 0,
                discount_item_id: id,
                order_item_id: p.item_ids[i],
                discount_share: s,
                created_at: at,
                modified_at: at,
            }));
            rows.conditions.extend(d.condition_units.iter().map(|&i| ConditionApplicantRow {
                id: 0,
                discount_item_id: id,
                order_item_id: p.item_ids[i],
                created_at: at,
                modified_at: at,
            }));
        }
        OrderDetail::new(Ledger::new(rows)?).ok_or_else(|| StoreError::Internal("no order placed".into()))
    }
}

#[cfg(test)]
mod tests {
    use offerline_core::{CustomerId, OfferId};

    use super::*;
    use crate::exec::{SqliteExec, complete};

    fn usage_db() -> rusqlite::Connection {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE offer_usage (promotion_id INTEGER PRIMARY KEY, applications BIGINT NOT NULL DEFAULT 0, \
             discount_spent BIGINT NOT NULL DEFAULT 0, orders_count BIGINT NOT NULL DEFAULT 0); \
             CREATE TABLE offer_customer_usage (promotion_id BIGINT NOT NULL, user_id BIGINT NOT NULL, \
             applications BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (promotion_id, user_id)); \
             INSERT INTO offer_usage VALUES (1, 10, 1000, 5);",
        )
        .unwrap();
        c
    }

    fn offer(id: i64, applications: u32, discount: i64, max: Option<u32>) -> UsageClaim {
        UsageClaim::Offer { offer: OfferId(id), applications, discount, max_applications: max, max_discount: None }
    }

    fn customer(id: i64, user: i64, applications: u32) -> UsageClaim {
        UsageClaim::CustomerOffer {
            offer: OfferId(id),
            customer: CustomerId(user),
            applications,
            max_applications: None,
        }
    }

    fn usage(c: &rusqlite::Connection, id: i64) -> (i64, i64, i64) {
        c.query_row(
            "SELECT applications, discount_spent, orders_count FROM offer_usage WHERE promotion_id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    }

    /// Counts held back over several orders are written as if each order had written its own.
    #[test]
    fn held_counts_add_up_to_the_orders_claims() {
        let c = usage_db();
        let mut ex = SqliteExec { conn: &c };
        let mut held = OpenCounts::default();
        for user in [7, 8] {
            let claims = [offer(1, 2, 300, None), offer(2, 1, 50, None), customer(1, user, 2)];
            complete(claim_usage_deferring(&mut ex, &claims, 0, Some(&mut held))).unwrap();
        }
        assert_eq!(usage(&c, 1), (10, 1000, 5), "nothing written yet");
        complete(held.write(&mut ex)).unwrap();
        assert!(held.is_empty());
        assert_eq!(usage(&c, 1), (14, 1600, 7));
        assert_eq!(usage(&c, 2), (2, 100, 2));
        let per_customer: i64 =
            c.query_row("SELECT SUM(applications) FROM offer_customer_usage", [], |r| r.get(0)).unwrap();
        assert_eq!(per_customer, 4);
    }

    /// A limited claim sees the counts held back for its promotion: they are written first.
    #[test]
    fn a_limited_claim_checks_the_held_counts_too() {
        let c = usage_db();
        let mut ex = SqliteExec { conn: &c };
        let mut held = OpenCounts::default();
        complete(claim_usage_deferring(&mut ex, &[offer(1, 3, 0, None)], 0, Some(&mut held))).unwrap();
        // 10 used + 3 held + 2 = 15 > 14: refused, though 10 + 2 alone would pass.
        let over = complete(claim_usage_deferring(&mut ex, &[offer(1, 2, 0, Some(14))], 0, Some(&mut held)));
        assert!(matches!(over, Err(StoreError::LimitReached(_))), "{over:?}");
        assert_eq!(usage(&c, 1).0, 13, "the held counts were written before the check");
        assert!(held.is_empty());
    }

    /// The counts as text run to the same figures as [`OpenCounts::write`].
    #[test]
    fn held_counts_as_text_add_up_too() {
        let c = usage_db();
        let mut ex = SqliteExec { conn: &c };
        let mut held = OpenCounts::default();
        for user in [7, 8] {
            let claims = [offer(1, 2, 300, None), offer(2, 1, 50, None), customer(1, user, 2)];
            complete(claim_usage_deferring(&mut ex, &claims, 0, Some(&mut held))).unwrap();
        }
        let sql = held.statements();
        assert!(held.is_empty());
        assert_eq!(held.statements(), "", "nothing held, nothing to write");
        c.execute_batch(&sql).unwrap();
        assert_eq!(usage(&c, 1), (14, 1600, 7));
        assert_eq!(usage(&c, 2), (2, 100, 2));
        let per_customer: i64 =
            c.query_row("SELECT SUM(applications) FROM offer_customer_usage", [], |r| r.get(0)).unwrap();
        assert_eq!(per_customer, 4);
    }

    #[test]
    fn values_tuples_number_placeholders_on_and_take_a_tail() {
        assert_eq!(values_sql(2, 3, |last| format!(", ${last}")), "($1, $2, $3, $3), ($4, $5, $6, $6)");
        assert_eq!(values_sql(2, 2, |_| ", 1".into()), "($1, $2, 1), ($3, $4, 1)");
        assert_eq!(values_sql(1, 1, |_| String::new()), "($1)");
        assert_eq!(values_sql(0, 4, |_| String::new()), "");
    }
}
