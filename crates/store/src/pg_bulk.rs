//! The PostgreSQL checkout writer's fast path: the plain checkouts of a batch written and
//! committed together in one round trip, whatever their number.
//!
//! Written one by one ([`crate::checkout::checkout_tx`] inside a savepoint), a checkout is a
//! round trip per statement on the writer's one connection: its savepoint, the basket (two
//! statements), the promotions read, the order, its items, discount items and two kinds of
//! applicants, then the usage counts and the commit. Here all the plain checkouts of a batch
//! are one statement, its values bound as one array per column (`unnest`), so that its text
//! and its prepared statement are the same for every batch, run as a transaction of its own
//! (committed when PostgreSQL answers). Each of its data-modifying `WITH` parts does one
//! thing for the whole batch:
//!
//! - ids drawn from the sequences of `orders`, `order_items` and `discount_items`, one per
//!   row. Until then the rows name each other by their place in the batch (order 0, 1, …;
//!   items and discount items numbered across the batch), and each insert joins a place to
//!   its id; the statement returns the ids;
//! - every promotion the orders name checked against its row ([`Checks`]);
//! - every priced basket line deleted, each only if it still has its priced quantity, and
//!   the baskets' voucher codes cleared;
//! - the orders, items, discount items, benefit and condition applicants inserted;
//! - their usage counts added, one upsert per table, rows in promotion order as every claim
//!   locks them.
//!
//! If fewer lines were deleted than priced (a basket changed), or a promotion's row fails its
//! check (an offer changed), the statement fails on purpose, a division by zero, and nothing
//! of it stays.
//!
//! The ids and the promotions' rows used to be read in a first round trip of their own. On
//! the checkout bench at 8 clients the writer's PostgreSQL backend was the busiest process
//! (0.66 of the two cores), and that round trip took a fifth of each batch's time in the
//! writer; docs/PERFORMANCE.md has the figures.
//!
//! The ledger tables' statement triggers (list counts, change notifications, references)
//! fire once per batch, and the WAL is flushed once.
//!
//! A checkout is plain when nothing can refuse it once its basket is taken: no idempotency
//! key, no voucher, no claim with a limit (as priced; the statement checks the rows have
//! none either), a basket no other checkout of the batch takes, rows that add up
//! ([`OrderValues::new`]). The others are left to the one-by-one path, in a transaction of
//! their own after this one.
//!
//! What can still go wrong: a basket or an offer that changed since it was priced, an order
//! number taken (an explicit one, or a generated one drawn by another order in the same
//! millisecond), a statement failing, a deadlock. Then nothing was written here
//! ([`Outcome::Fallback`]) and the caller writes the whole batch one by one, so a refusal is
//! still answered alone.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use offerline_core::{OrderDraft, UsageClaim};
use sqlx::{PgConnection, Row as _};

use crate::checkout::{CheckoutWrite, Render, Written};
use crate::current_offers::applied_ids;
use crate::exec::Param;
use crate::orders::{
    DISCOUNT_COLS, ITEM_COLS, ORDER_COLS, OpenCounts, OrderValues, PlacedOrder, claim_usage_deferring, new_order_number,
};
use crate::{Result, StoreError, now_micros};

/// What the fast path did with a batch.
pub(crate) enum Outcome {
    /// One entry per checkout: `Some` for those written and committed here, `None` for those
    /// left to the one-by-one path.
    Written(Vec<Option<Result<Written>>>),
    /// Nothing was written (why, for the log): write the batch one by one.
    Fallback(String),
}

/// Whether a checkout may take the fast path, before its promotions are read.
fn plain(w: &CheckoutWrite) -> bool {
    w.idempotency.is_none()
        && w.basket.as_ref().is_none_or(|b| !b.lines.is_empty())
        && w.order.draft.claims.iter().all(unlimited)
}

fn unlimited(c: &UsageClaim) -> bool {
    match c {
        UsageClaim::Offer { max_applications, max_discount, .. } => {
            max_applications.is_none() && max_discount.is_none()
        }
        UsageClaim::CustomerOffer { max_applications, .. } => max_applications.is_none(),
        UsageClaim::Voucher { .. } => false,
    }
}

/// Writes and commits the plain checkouts of `work` (see the module docs). The connection
/// must not be in a transaction.
pub(crate) async fn write(conn: &mut PgConnection, work: &[(Arc<CheckoutWrite>, Option<Render>)]) -> Result<Outcome> {
    let mut results: Vec<Option<Result<Written>>> = work.iter().map(|_| None).collect();
    let now = now_micros();
    let mut baskets = HashSet::new();
    let mut orders: Vec<(usize, OrderValues<'_>)> = Vec::new();
    for (i, (w, _)) in work.iter().enumerate() {
        if !plain(w) || w.basket.as_ref().is_some_and(|b| baskets.contains(&b.basket_id)) {
            continue;
        }
        // An order whose rows do not add up is refused by the one-by-one path.
        let Ok(values) = OrderValues::new(&w.order, now) else { continue };
        if let Some(b) = &w.basket {
            baskets.insert(b.basket_id);
        }
        orders.push((i, values));
    }
    if orders.is_empty() {
        return Ok(Outcome::Written(results));
    }

    // One statement: the rows name each other by their place in the batch (the orders, and
    // the items and discount items across the batch); it draws their ids and returns them.
    let mut st = Statement::default();
    let mut numbers = HashSet::new();
    let mut held = OpenCounts::default();
    // (checkout, order number, its items' and its discount items' places)
    let mut placed = Vec::with_capacity(orders.len());
    let (mut items, mut discounts) = (0, 0);
    for (place, (i, v)) in orders.iter().enumerate() {
        let w = &work[*i].0;
        st.checks.add(&w.order.draft, &w.priced_offers);
        if let Some(b) = &w.basket {
            st.baskets.push(b.basket_id);
            for &(id, qty) in &b.lines {
                st.lines.push([b.basket_id, id, qty]);
            }
        }
        // A number drawn twice in the batch is drawn again (one taken by an earlier order
        // fails the statement: then the one-by-one path draws again).
        let mut number = w.order.number.clone().unwrap_or_else(new_order_number);
        while !numbers.insert(number.clone()) {
            if w.order.number.is_some() {
                return Ok(Outcome::Fallback(format!("order number {number} given twice")));
            }
            number = new_order_number();
        }
        let order = place as i64;
        st.orders.push(std::iter::once(Param::from(order)).chain(v.order_row(&number)))?;
        let item_places: Vec<i64> = (items..items + v.units() as i64).collect();
        for (k, &item) in item_places.iter().enumerate() {
            st.items.push(std::iter::once(Param::from(item)).chain(v.item_row(order, k)))?;
        }
        let discount_places: Vec<i64> = (discounts..discounts + w.order.draft.discounts.len() as i64).collect();
        for (d, &discount) in w.order.draft.discounts.iter().zip(&discount_places) {
            st.discounts.push(std::iter::once(Param::from(discount)).chain(v.discount_row(order, d)))?;
        }
        let (benefit, condition) = v.applicants(&discount_places, &item_places);
        for (discount, item, share) in benefit {
            st.benefits.push([discount.into(), item.into(), share.into(), now.into()])?;
        }
        for (discount, item, _) in condition {
            st.conditions.push([discount.into(), item.into(), now.into()])?;
        }
        // Every claim only counts: no statement, no row naming the order, the count is
        // added to the held ones.
        claim_usage_deferring(conn, &w.order.draft.claims, order, Some(&mut held)).await?;
        placed.push((*i, number, item_places.len(), discount_places.len()));
        (items, discounts) = (items + item_places.len() as i64, discounts + discount_places.len() as i64);
    }
    (st.offer_counts, st.customer_counts) = held.take();
    let ids = match st.run(conn, now).await {
        Ok(ids) => ids,
        Err(e) => {
            let why = match &e {
                StoreError::Db(sqlx::Error::Database(d)) if d.code().as_deref() == Some(CHANGED) => {
                    "a basket or an offer changed since it was priced".to_owned()
                }
                _ => e.to_string(),
            };
            return Ok(Outcome::Fallback(why));
        }
    };
    // The statement draws exactly the counts it was given, so every place has its id.
    let [order_ids, item_ids, discount_ids] = ids;
    let (mut item_ids, mut discount_ids) = (item_ids.into_iter(), discount_ids.into_iter());
    for ((i, number, n_items, n_discounts), id) in placed.into_iter().zip(order_ids) {
        let item_ids = item_ids.by_ref().take(n_items).collect();
        let discount_ids = discount_ids.by_ref().take(n_discounts).collect();
        let placed = PlacedOrder { id, number, item_ids, discount_ids, created_at: now };
        results[i] = Some(Ok(Written::Placed { placed, body: None }));
    }
    Ok(Outcome::Written(results))
}

/// The SQLSTATE the statement fails with when a basket or an offer changed since it was
/// priced: division by zero.
const CHANGED: &str = "22012";

/// What the statement checks of every promotion an order names, against the promotion's row
/// as the statement reads it: [`crate::current_offers::OfferRows::claims`], made stricter
/// where that is simpler. It is there, not deleted, active, started and not ended; it has
/// the version the basket was priced with, if one was priced; for a count claim, the
/// basket's applications are within its per-basket limit, and it has no limit of its own to
/// claim (no global count, no budget); for a customer's claim, no per-customer limit. One
/// row failing fails the whole statement, and the one-by-one path, which reads the rows
/// itself, then answers every checkout of the batch exactly.
#[derive(Default)]
struct Checks {
    ids: Vec<i64>,
    versions: Vec<Option<i64>>,
    applications: Vec<Option<i64>>,
    customer: Vec<i64>,
}

impl Checks {
    fn add(&mut self, draft: &OrderDraft, priced: &[(i64, i64)]) {
        let applied = applied_ids(draft);
        let version = |id: i64| priced.iter().find(|p| p.0 == id).map(|p| p.1);
        for &id in &applied {
            self.push(id, version(id), None, false);
        }
        for &(id, v) in priced.iter().filter(|p| !applied.contains(&p.0)) {
            self.push(id, Some(v), None, false);
        }
        for c in &draft.claims {
            match c {
                UsageClaim::Offer { offer, applications, .. } => {
                    self.push(offer.0, None, Some(i64::from(*applications)), false)
                }
                UsageClaim::CustomerOffer { offer, .. } => self.push(offer.0, None, None, true),
                UsageClaim::Voucher { .. } => {}
            }
        }
    }

    fn push(&mut self, id: i64, version: Option<i64>, applications: Option<i64>, customer: bool) {
        self.ids.push(id);
        self.versions.push(version);
        self.applications.push(applications);
        self.customer.push(i64::from(customer));
    }
}

/// The value types of a table's columns as the statement binds them, one letter a
/// column: `i` a 64-bit integer (an `int8[]` array), `t` text (`text[]`). The row's place
/// first (the statement puts the id drawn for it there), and after it the places of the
/// rows it names (an item's order, an applicant's discount item and item), then the other
/// columns of [`ORDER_COLS`] (and [`OrderValues::order_row`]), …
const ORDER_TYPES: &str = concat!(
    "i",     // id (its place)
    "titit", // number, user_id, channel, status, currency
    "iiii",  // amount, discount_amount, amount_without_discount, shipping_free
    "ttt",   // customer, shipping_address, billing_address
    "i",     // created_at
);
/// … of [`ITEM_COLS`] ([`OrderValues::item_row`]), …
const ITEM_TYPES: &str = concat!(
    "i",     // id (its place)
    "iiti",  // order_id, product_id, line_key, status
    "iiiii", // price, retail_price, tax_rate, price_list_id, stock_list_id
    "ii",    // net_amount, discount_amount
    "ttt",   // mapping_code, product_name, product_sku
    "i",     // created_at
);
/// … of [`DISCOUNT_COLS`] ([`OrderValues::discount_row`]), …
const DISCOUNT_TYPES: &str = concat!(
    "i",      // id (its place)
    "itittt", // order_id, name, amount, offer_type, session_offer_type, code
    "i",      // promotion_id
    "ttttt",  // external_id, discount_engine, description, external_uuid, line_key
    "itt",    // applications, refund_policy, offer_snapshot
    "i",      // created_at
);
const BENEFIT_COLS: &str = "discount_item_id, order_item_id, discount_share, created_at";
const BENEFIT_TYPES: &str = "iiii";
const CONDITION_COLS: &str = "discount_item_id, order_item_id, created_at";
const CONDITION_TYPES: &str = "iii";

/// The statement (see the module docs). Parameters: `$1`–`$3` the lines to delete (basket,
/// line, quantity), `$4` the instant, `$5` the baskets, `$6` how many lines, `$7`–`$10` the
/// per-promotion counts, `$11`–`$13` the per-customer counts, `$14`–`$17` the [`Checks`],
/// `$18`–`$20` how many orders, items and discount items, then one array per column of each
/// table's rows; every table's `modified_at` is its `created_at`. It returns the ids drawn
/// for the orders, items and discount items, each in the order of their places.
static STATEMENT: LazyLock<String> = LazyLock::new(|| {
    let mut next = 21;
    let mut part = |name: &str, table: &str, cols: &str, types: &str, places: &[&str]| {
        let sql = insert_part(name, table, cols, types, places, next);
        next += types.len();
        sql
    };
    let parts = [
        part("o", "orders", &format!("id, {ORDER_COLS}"), ORDER_TYPES, &["oid"]),
        part("i", "order_items", &format!("id, {ITEM_COLS}"), ITEM_TYPES, &["iid", "oid"]),
        part("d", "discount_items", &format!("id, {DISCOUNT_COLS}"), DISCOUNT_TYPES, &["did", "oid"]),
        part("b", "benefit_applicants", BENEFIT_COLS, BENEFIT_TYPES, &["did", "iid"]),
        part("c", "condition_applicants", CONDITION_COLS, CONDITION_TYPES, &["did", "iid"]),
    ];
    // Ids for places 0..n, in order; the sequence named once per call (an init plan).
    let draw = |name: &str, table: &str, n: usize| {
        format!(
            "{name} AS (SELECT k, nextval((SELECT pg_get_serial_sequence('{table}', 'id')::regclass)) AS id \
             FROM generate_series(0, ${n}::int8 - 1) AS k)"
        )
    };
    format!(
        "WITH {}, {}, {}, \
         as_priced AS (SELECT COUNT(*) AS n FROM unnest($14::int8[], $15::int8[], $16::int8[], $17::int8[]) \
         AS c(id, version, applications, customer) JOIN promotions p ON p.id = c.id \
         WHERE p.deleted = 0 AND p.is_active <> 0 AND (p.start_at IS NULL OR p.start_at <= $4) \
         AND (p.end_at IS NULL OR p.end_at > $4) AND (c.version IS NULL OR p.modified_at = c.version) \
         AND (c.applications IS NULL OR ((p.max_basket_applications IS NULL OR c.applications <= p.max_basket_applications) \
         AND p.max_global_applications IS NULL AND p.max_discount IS NULL)) \
         AND (c.customer = 0 OR p.max_user_applications IS NULL)), \
         taken AS (DELETE FROM basket_lines l USING unnest($1::int8[], $2::int8[], $3::int8[]) AS t(basket_id, id, quantity) \
         WHERE l.basket_id = t.basket_id AND l.id = t.id AND l.quantity = t.quantity RETURNING l.basket_id), \
         cleared AS (UPDATE baskets SET voucher_code = NULL, modified_at = $4 WHERE id = ANY($5::int8[])), {}, \
         counts AS (INSERT INTO offer_usage (promotion_id, applications, discount_spent, orders_count) \
         SELECT * FROM unnest($7::int8[], $8::int8[], $9::int8[], $10::int8[]) \
         ON CONFLICT (promotion_id) DO UPDATE SET applications = offer_usage.applications + excluded.applications, \
         discount_spent = offer_usage.discount_spent + excluded.discount_spent, \
         orders_count = offer_usage.orders_count + excluded.orders_count), \
         customer_counts AS (INSERT INTO offer_customer_usage (promotion_id, user_id, applications) \
         SELECT * FROM unnest($11::int8[], $12::int8[], $13::int8[]) \
         ON CONFLICT (promotion_id, user_id) DO UPDATE SET \
         applications = offer_customer_usage.applications + excluded.applications) \
         SELECT ARRAY(SELECT id FROM oid ORDER BY k), ARRAY(SELECT id FROM iid ORDER BY k), \
         ARRAY(SELECT id FROM did ORDER BY k), \
         1 / (CASE WHEN (SELECT COUNT(*) FROM taken) = $6 AND (SELECT n FROM as_priced) = cardinality($14::int8[]) \
         THEN 1 ELSE 0 END)",
        draw("oid", "orders", 18),
        draw("iid", "order_items", 19),
        draw("did", "discount_items", 20),
        parts.join(", ")
    )
});

/// `name AS (INSERT INTO table (cols, modified_at) SELECT … FROM unnest(…))`, its arrays bound
/// from `$first` on, `modified_at` the last column's value again. Its first columns hold
/// places, each replaced by the id drawn for it in the id table `places` names.
fn insert_part(name: &str, table: &str, cols: &str, types: &str, places: &[&str], first: usize) -> String {
    use std::fmt::Write;
    let (mut arrays, mut names, mut values, mut joins) = (String::new(), String::new(), String::new(), String::new());
    for (j, ty) in types.chars().enumerate() {
        let sep = if j > 0 { ", " } else { "" };
        let ty = if ty == 'i' { "int8" } else { "text" };
        write!(arrays, "{sep}${}::{ty}[]", first + j).ok();
        write!(names, "{sep}c{j}").ok();
        match places.get(j) {
            Some(ids) => {
                write!(values, "{sep}x{j}.id").ok();
                write!(joins, " JOIN {ids} x{j} ON x{j}.k = t.c{j}").ok();
            }
            None => {
                write!(values, "{sep}c{j}").ok();
            }
        }
    }
    format!(
        "{name} AS (INSERT INTO {table} ({cols}, modified_at) SELECT {values}, c{} FROM unnest({arrays}) AS t({names}){joins})",
        types.len() - 1
    )
}

/// The rows of the statement.
struct Statement {
    /// (basket, line, quantity) of every line to delete.
    lines: Vec<[i64; 3]>,
    baskets: Vec<i64>,
    orders: Rows,
    items: Rows,
    discounts: Rows,
    benefits: Rows,
    conditions: Rows,
    /// The held counts ([`OpenCounts::take`]).
    offer_counts: Vec<[i64; 4]>,
    customer_counts: Vec<[i64; 3]>,
    checks: Checks,
}

impl Default for Statement {
    fn default() -> Self {
        Statement {
            lines: Vec::new(),
            baskets: Vec::new(),
            orders: Rows::new(ORDER_TYPES),
            items: Rows::new(ITEM_TYPES),
            discounts: Rows::new(DISCOUNT_TYPES),
            benefits: Rows::new(BENEFIT_TYPES),
            conditions: Rows::new(CONDITION_TYPES),
            offer_counts: Vec::new(),
            customer_counts: Vec::new(),
            checks: Checks::default(),
        }
    }
}

/// Column `k` of fixed-width integer rows.
fn column<const N: usize>(rows: &[[i64; N]], k: usize) -> Vec<i64> {
    rows.iter().map(|r| r[k]).collect()
}

impl Statement {
    /// Runs and commits it.
    /// Runs and commits it; the ids drawn for the orders, items and discount items.
    async fn run(&self, conn: &mut PgConnection, now: i64) -> Result<[Vec<i64>; 3]> {
        let mut q = sqlx::query(&STATEMENT)
            .bind(column(&self.lines, 0))
            .bind(column(&self.lines, 1))
            .bind(column(&self.lines, 2))
            .bind(now)
            .bind(&self.baskets)
            .bind(self.lines.len() as i64);
        for k in 0..4 {
            q = q.bind(column(&self.offer_counts, k));
        }
        for k in 0..3 {
            q = q.bind(column(&self.customer_counts, k));
        }
        let c = &self.checks;
        q = q.bind(&c.ids).bind(&c.versions).bind(&c.applications).bind(&c.customer);
        q = q.bind(self.orders.len() as i64).bind(self.items.len() as i64).bind(self.discounts.len() as i64);
        for rows in [&self.orders, &self.items, &self.discounts, &self.benefits, &self.conditions] {
            for c in &rows.columns {
                q = match c {
                    Column::Int(v) => q.bind(v),
                    Column::Text(v) => q.bind(v),
                };
            }
        }
        let row = q.fetch_one(&mut *conn).await?;
        Ok([row.try_get(0)?, row.try_get(1)?, row.try_get(2)?])
    }
}

/// One array of values per column.
enum Column {
    Int(Vec<Option<i64>>),
    Text(Vec<Option<String>>),
}

/// Rows to insert with one statement, column by column, of the types given (see
/// [`ORDER_TYPES`]).
struct Rows {
    columns: Vec<Column>,
}

impl Rows {
    fn new(types: &str) -> Self {
        Rows {
            columns: types
                .chars()
                .map(|t| if t == 'i' { Column::Int(Vec::new()) } else { Column::Text(Vec::new()) })
                .collect(),
        }
    }

    fn len(&self) -> usize {
        match self.columns.first() {
            Some(Column::Int(v)) => v.len(),
            Some(Column::Text(v)) => v.len(),
            None => 0,
        }
    }

    /// Adds a row; `Internal` (and nothing added) if its values are not of the columns' types.
    fn push<'p>(&mut self, row: impl IntoIterator<Item = Param<'p>>) -> Result<()> {
        let row: Vec<Param<'p>> = row.into_iter().collect();
        let fits = row.len() == self.columns.len()
            && row
                .iter()
                .zip(&self.columns)
                .all(|(p, c)| matches!((p, c), (Param::Int(_), Column::Int(_)) | (Param::Text(_), Column::Text(_))));
        if !fits {
            return Err(StoreError::Internal("a bulk row does not match its table's columns".into()));
        }
        for (p, c) in row.into_iter().zip(&mut self.columns) {
            match (p, c) {
                (Param::Int(v), Column::Int(c)) => c.push(v),
                (Param::Text(v), Column::Text(c)) => c.push(v.map(|s| s.into_owned())),
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use offerline_core::{Currency, CustomerId, DiscountDraft, OfferId, OrderDraft, OrderStatus, ProductId, UnitDraft};

    use super::*;
    use crate::orders::NewOrder;

    /// An order with every optional value given, and one with none.
    fn orders() -> Vec<NewOrder> {
        let unit = |retail: Option<i64>, list: Option<i64>| UnitDraft {
            product: ProductId(3),
            line_key: "7".into(),
            price: 1000,
            retail_price: retail,
            tax_rate: 18,
            price_list_id: list,
            stock_list_id: list,
            product_name: "P".into(),
            product_sku: "P-1".into(),
        };
        let order = |full: bool| NewOrder {
            number: full.then(|| "1".to_owned()),
            user_id: full.then_some(CustomerId(9)),
            channel: "storefront".into(),
            status: OrderStatus::APPROVED,
            currency: Currency::parse("try").unwrap(),
            customer: full.then(|| serde_json::json!({"a": 1})),
            shipping_address: None,
            billing_address: full.then(|| serde_json::json!("x")),
            draft: OrderDraft {
                units: vec![unit(full.then_some(1200), full.then_some(1)), unit(None, None)],
                discounts: vec![DiscountDraft {
                    name: "d".into(),
                    amount: 100,
                    offer: full.then_some(OfferId(4)),
                    shares: vec![(0, 60), (1, 40)],
                    condition_units: vec![0, 1],
                    ..DiscountDraft::default()
                }],
                ..OrderDraft::default()
            },
        };
        vec![order(true), order(false)]
    }

    /// The declared column types are those of the rows the order writers build.
    #[test]
    fn the_rows_fit_the_declared_columns() {
        let mut st = Statement::default();
        for o in &orders() {
            let v = OrderValues::new(o, 5).unwrap();
            st.orders.push(std::iter::once(Param::from(1)).chain(v.order_row("n"))).unwrap();
            for k in 0..v.units() {
                st.items.push(std::iter::once(Param::from(2)).chain(v.item_row(1, k))).unwrap();
            }
            for d in &o.draft.discounts {
                st.discounts.push(std::iter::once(Param::from(3)).chain(v.discount_row(1, d))).unwrap();
            }
            let (b, c) = v.applicants(&[3], &[2, 4]);
            assert_eq!((b.len(), c.len()), (2, 2));
        }
        assert_eq!((st.orders.len(), st.items.len(), st.discounts.len()), (2, 4, 2));
        for (cols, types) in [(ORDER_COLS, ORDER_TYPES), (ITEM_COLS, ITEM_TYPES), (DISCOUNT_COLS, DISCOUNT_TYPES)] {
            assert_eq!(cols.split(',').count() + 1, types.len(), "{cols}");
        }
        assert_eq!(BENEFIT_COLS.split(',').count(), BENEFIT_TYPES.len());
        assert_eq!(CONDITION_COLS.split(',').count(), CONDITION_TYPES.len());
    }

    #[test]
    fn a_row_of_another_shape_is_refused_whole() {
        let mut rows = Rows::new("it");
        rows.push([Param::from(1), Param::from("a")]).unwrap();
        assert!(rows.push([Param::from("x"), Param::from("a")]).is_err(), "a text where an integer was");
        assert!(rows.push([Param::from(1)]).is_err(), "a column short");
        assert_eq!(rows.len(), 1, "nothing of a refused row kept");
    }

    /// Every array is bound once, numbered on from the twenty of the baskets, counts, checks
    /// and sizes; each place column is joined to its id table.
    #[test]
    fn the_statement_numbers_every_array() {
        let sql = &*STATEMENT;
        let n = 20
            + ORDER_TYPES.len()
            + ITEM_TYPES.len()
            + DISCOUNT_TYPES.len()
            + BENEFIT_TYPES.len()
            + CONDITION_TYPES.len();
        assert!(sql.contains(&format!("${n}::int8[]")), "{sql}");
        assert!(!sql.contains(&format!("${}:", n + 1)));
        for k in 1..=n {
            assert!(
                sql.contains(&format!("${k}:")) || sql.contains(&format!("${k} ")) || sql.contains(&format!("${k})")),
                "${k}"
            );
        }
        assert_eq!(
            insert_part("b", "benefit_applicants", BENEFIT_COLS, BENEFIT_TYPES, &["did", "iid"], 9),
            "b AS (INSERT INTO benefit_applicants (discount_item_id, order_item_id, discount_share, created_at, modified_at) \
             SELECT x0.id, x1.id, c2, c3, c3 FROM unnest($9::int8[], $10::int8[], $11::int8[], $12::int8[]) AS t(c0, c1, c2, c3) \
             JOIN did x0 ON x0.k = t.c0 JOIN iid x1 ON x1.k = t.c1)"
        );
    }

    /// A check row per promotion the order applies (with the version priced, if any), per
    /// priced promotion it does not apply, and per count and customer claim.
    #[test]
    fn every_promotion_named_is_checked() {
        let offer = |id| OfferId(id);
        let draft = OrderDraft {
            discounts: vec![DiscountDraft { offer: Some(offer(4)), amount: 100, ..DiscountDraft::default() }],
            claims: vec![
                UsageClaim::Offer {
                    offer: offer(4),
                    applications: 2,
                    discount: 100,
                    max_applications: None,
                    max_discount: None,
                },
                UsageClaim::CustomerOffer {
                    offer: offer(4),
                    customer: CustomerId(9),
                    applications: 2,
                    max_applications: None,
                },
                UsageClaim::Offer {
                    offer: offer(6),
                    applications: 1,
                    discount: 0,
                    max_applications: None,
                    max_discount: None,
                },
            ],
            ..OrderDraft::default()
        };
        let mut c = Checks::default();
        c.add(&draft, &[(4, 70), (8, 80)]);
        assert_eq!(c.ids, [4, 6, 8, 4, 4, 6]);
        assert_eq!(c.versions, [Some(70), None, Some(80), None, None, None]);
        assert_eq!(c.applications, [None, None, None, Some(2), None, Some(1)]);
        assert_eq!(c.customer, [0, 0, 0, 0, 1, 0]);
    }
}
