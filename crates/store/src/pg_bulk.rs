//! The PostgreSQL checkout writer's fast path: the plain checkouts of a batch written and
//! committed together in two round trips, whatever their number.
//!
//! Written one by one ([`crate::checkout::checkout_tx`] inside a savepoint), a checkout is a
//! round trip per statement on the writer's one connection: its savepoint, the basket (two
//! statements), the promotions read, the order, its items, discount items and two kinds of
//! applicants, then the usage counts and the commit. Here, for all the plain checkouts of a
//! batch:
//!
//! 1. one statement, prepared once like the second: ids drawn from the sequences of
//!    `orders`, `order_items` and `discount_items` for their rows, and the rows of every
//!    promotion they apply. (It was a simple query with the ids and counts written into
//!    its text, planned again on every batch: 0.68 ms a batch against 0.35–0.5 ms now,
//!    timed in the writer on the checkout bench at 8 clients);
//! 2. one statement, its values bound as one array per column (`unnest`), so that its text
//!    and its prepared statement are the same for every batch, run as a transaction of its
//!    own (committed when PostgreSQL answers): every priced basket line deleted, each only
//!    if it still has its priced quantity, the baskets' voucher codes cleared, the orders,
//!    items, discount items, benefit and condition applicants inserted under the ids drawn,
//!    and their usage counts added (one upsert per table, rows in promotion order as every
//!    claim locks them), each in one data-modifying `WITH` part. If fewer lines were deleted
//!    than priced (a basket changed), it fails on purpose, a division by zero, and nothing
//!    of it stays.
//!
//! The ledger tables' statement triggers (list counts, change notifications) fire once per
//! batch, and the WAL is flushed once.
//!
//! A checkout is plain when nothing can refuse it once its basket is taken: no idempotency
//! key, no voucher, no claim with a limit (as priced, and as its promotions' rows have them
//! now), a basket no other checkout of the batch takes, rows that add up
//! ([`OrderValues::new`]). The others — and a plain one whose offer the rows turn off, so
//! that its refusal is the one-by-one path's — are left to the one-by-one path, in a
//! transaction of their own after this one.
//!
//! What can still go wrong: a basket that changed since it was priced, an order number
//! taken (an explicit one, or a generated one drawn by another order in the same
//! millisecond), a statement failing, a deadlock. Then nothing was written here
//! ([`Outcome::Fallback`]) and the caller writes the whole batch one by one, so a refusal is
//! still answered alone.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock};

use offerline_core::UsageClaim;
use sqlx::{PgConnection, Row as _};

use crate::checkout::{CheckoutWrite, Render, Written};
use crate::current_offers::{OfferRows, ROW_COLS, applied_ids};
use crate::exec::{Param, values_of_pg_row};
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

    // 1. The promotions' rows; ids for every row the orders may write.
    let mut ids: Vec<i64> = orders.iter().flat_map(|(i, _)| applied_ids(&work[*i].0.order.draft)).collect();
    ids.sort_unstable();
    ids.dedup();
    let n_items: usize = orders.iter().map(|(_, v)| v.units()).sum();
    let n_discounts: usize = orders.iter().map(|(i, _)| work[*i].0.order.draft.discounts.len()).sum();
    let mut rows = OfferRows::default();
    let mut drawn: HashMap<&str, std::vec::IntoIter<i64>> = HashMap::new();
    {
        let fetched = sqlx::query(&FIRST_ROUND_TRIP)
            .bind(&ids)
            .bind(orders.len() as i64)
            .bind(n_items as i64)
            .bind(n_discounts as i64)
            .fetch_all(&mut *conn)
            .await?;
        for (k, r) in fetched.iter().enumerate() {
            if k == 0 {
                for (j, table) in DRAWN.into_iter().enumerate() {
                    drawn.insert(table, r.try_get::<Vec<i64>, _>(j)?.into_iter());
                }
            }
            let promotion = values_of_pg_row(r, DRAWN.len())?;
            // No promotion named (or none left): the one row has none.
            if !matches!(promotion.first(), Some(Param::Int(None))) {
                rows.add(&promotion)?;
            }
        }
    }
    let mut ids_of = |table: &str, n: usize| -> Result<Vec<i64>> {
        let ids: Vec<i64> = drawn.get_mut(table).map(|it| it.take(n).collect()).unwrap_or_default();
        if ids.len() < n {
            return Err(StoreError::Internal(format!("too few ids drawn for {table}")));
        }
        Ok(ids)
    };
    // An offer the rows turn off, or now give a limit: left to the one-by-one path.
    orders.retain(|(i, _)| {
        let w = &work[*i].0;
        matches!(rows.claims(&w.order.draft, &w.priced_offers, now), Ok(None))
    });
    if orders.is_empty() {
        return Ok(Outcome::Written(results));
    }

    // 2. Everything they write, in one statement and transaction.
    let mut st = Statement::default();
    let mut numbers = HashSet::new();
    let mut held = OpenCounts::default();
    let mut placed = Vec::with_capacity(orders.len());
    for (i, v) in &orders {
        let w = &work[*i].0;
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
        let order_id = ids_of("orders", 1)?[0];
        st.orders.push(std::iter::once(Param::from(order_id)).chain(v.order_row(&number)))?;
        let item_ids = ids_of("order_items", v.units())?;
        for (k, &id) in item_ids.iter().enumerate() {
            st.items.push(std::iter::once(Param::from(id)).chain(v.item_row(order_id, k)))?;
        }
        let discount_ids = ids_of("discount_items", w.order.draft.discounts.len())?;
        for (d, &id) in w.order.draft.discounts.iter().zip(&discount_ids) {
            st.discounts.push(std::iter::once(Param::from(id)).chain(v.discount_row(order_id, d)))?;
        }
        let (benefit, condition) = v.applicants(&discount_ids, &item_ids);
        for (discount, item, share) in benefit {
            st.benefits.push([discount.into(), item.into(), share.into(), now.into()])?;
        }
        for (discount, item, _) in condition {
            st.conditions.push([discount.into(), item.into(), now.into()])?;
        }
        // Every claim only counts: no statement, the count is added to the held ones.
        claim_usage_deferring(conn, &w.order.draft.claims, order_id, Some(&mut held)).await?;
        placed.push((*i, PlacedOrder { id: order_id, number, item_ids, discount_ids, created_at: now }));
    }
    (st.offer_counts, st.customer_counts) = held.take();
    if let Err(e) = st.run(conn, now).await {
        let why = match &e {
            StoreError::Db(sqlx::Error::Database(d)) if d.code().as_deref() == Some(BASKET_CHANGED) => {
                "a basket changed since it was priced".to_owned()
            }
            _ => e.to_string(),
        };
        return Ok(Outcome::Fallback(why));
    }
    for (i, p) in placed {
        results[i] = Some(Ok(Written::Placed { placed: p, body: None }));
    }
    Ok(Outcome::Written(results))
}

/// The SQLSTATE the second round trip fails with when a basket changed: division by zero.
const BASKET_CHANGED: &str = "22012";

/// The tables whose ids the first round trip draws, in the order of its first columns.
const DRAWN: [&str; 3] = ["orders", "order_items", "discount_items"];

/// The first round trip, prepared once: `$2`–`$4` ids drawn from the sequences of
/// [`DRAWN`] as its first three columns (arrays), then the rows ([`ROW_COLS`]) of the
/// promotions `$1`, one per result row; a single row with nulls there if none is found.
/// Each sequence is named once per call (an init plan), not once per id.
static FIRST_ROUND_TRIP: LazyLock<String> = LazyLock::new(|| {
    let draw = |table: &str, n: usize| {
        format!(
            "ARRAY(SELECT nextval((SELECT pg_get_serial_sequence('{table}', 'id')::regclass)) \
             FROM generate_series(1, ${n}::int8))"
        )
    };
    let cols: Vec<String> = ROW_COLS.split(", ").map(|c| format!("p.{c}")).collect();
    format!(
        "SELECT d.*, {} FROM (SELECT {}, {}, {}) d LEFT JOIN promotions p ON p.id = ANY($1::int8[])",
        cols.join(", "),
        draw(DRAWN[0], 2),
        draw(DRAWN[1], 3),
        draw(DRAWN[2], 4)
    )
});

/// The value types of a table's columns as the second round trip binds them, one letter a
/// column: `i` a 64-bit integer (an `int8[]` array), `t` text (`text[]`). The id first, then
/// the columns of [`ORDER_COLS`] (and [`OrderValues::order_row`]), …
const ORDER_TYPES: &str = concat!(
    "i",     // id
    "titit", // number, user_id, channel, status, currency
    "iiii",  // amount, discount_amount, amount_without_discount, shipping_free
    "ttt",   // customer, shipping_address, billing_address
    "i",     // created_at
);
/// … of [`ITEM_COLS`] ([`OrderValues::item_row`]), …
const ITEM_TYPES: &str = concat!(
    "i",     // id
    "iiti",  // order_id, product_id, line_key, status
    "iiiii", // price, retail_price, tax_rate, price_list_id, stock_list_id
    "ii",    // net_amount, discount_amount
    "ttt",   // mapping_code, product_name, product_sku
    "i",     // created_at
);
/// … of [`DISCOUNT_COLS`] ([`OrderValues::discount_row`]), …
const DISCOUNT_TYPES: &str = concat!(
    "i",      // id
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

/// The second round trip (see the module docs). Parameters: `$1`–`$3` the lines to delete
/// (basket, line, quantity), `$4` the instant, `$5` the baskets, `$6` how many lines, `$7`–`$10`
/// the per-promotion counts, `$11`–`$13` the per-customer counts, then one array per column
/// of each table's rows; every table's `modified_at` is its `created_at`.
static STATEMENT: LazyLock<String> = LazyLock::new(|| {
    let mut next = 14;
    let mut part = |name: &str, table: &str, cols: &str, types: &str| {
        let sql = insert_part(name, table, cols, types, next);
        next += types.len();
        sql
    };
    let parts = [
        part("o", "orders", &format!("id, {ORDER_COLS}"), ORDER_TYPES),
        part("i", "order_items", &format!("id, {ITEM_COLS}"), ITEM_TYPES),
        part("d", "discount_items", &format!("id, {DISCOUNT_COLS}"), DISCOUNT_TYPES),
        part("b", "benefit_applicants", BENEFIT_COLS, BENEFIT_TYPES),
        part("c", "condition_applicants", CONDITION_COLS, CONDITION_TYPES),
    ];
    format!(
        "WITH taken AS (DELETE FROM basket_lines l USING unnest($1::int8[], $2::int8[], $3::int8[]) AS t(basket_id, id, quantity) \
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
         SELECT 1 / (CASE WHEN (SELECT COUNT(*) FROM taken) = $6 THEN 1 ELSE 0 END)",
        parts.join(", ")
    )
});

/// `name AS (INSERT INTO table (cols, modified_at) SELECT … FROM unnest(…))`, its arrays bound
/// from `$first` on, `modified_at` the last column's value again.
fn insert_part(name: &str, table: &str, cols: &str, types: &str, first: usize) -> String {
    use std::fmt::Write;
    let (mut arrays, mut names) = (String::new(), String::new());
    for (j, ty) in types.chars().enumerate() {
        let sep = if j > 0 { ", " } else { "" };
        let ty = if ty == 'i' { "int8" } else { "text" };
        write!(arrays, "{sep}${}::{ty}[]", first + j).ok();
        write!(names, "{sep}c{j}").ok();
    }
    format!(
        "{name} AS (INSERT INTO {table} ({cols}, modified_at) SELECT {names}, c{} FROM unnest({arrays}) AS t({names}))",
        types.len() - 1
    )
}

/// The rows of the second round trip.
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
        }
    }
}

/// Column `k` of fixed-width integer rows.
fn column<const N: usize>(rows: &[[i64; N]], k: usize) -> Vec<i64> {
    rows.iter().map(|r| r[k]).collect()
}

impl Statement {
    /// Runs and commits it.
    async fn run(&self, conn: &mut PgConnection, now: i64) -> Result<()> {
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
        for rows in [&self.orders, &self.items, &self.discounts, &self.benefits, &self.conditions] {
            for c in &rows.columns {
                q = match c {
                    Column::Int(v) => q.bind(v),
                    Column::Text(v) => q.bind(v),
                };
            }
        }
        q.execute(&mut *conn).await?;
        Ok(())
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

    #[cfg(test)]
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

    /// Every array is bound once, numbered on from the thirteen of the baskets and counts.
    #[test]
    fn the_statement_numbers_every_array() {
        let sql = &*STATEMENT;
        let n = 13
            + ORDER_TYPES.len()
            + ITEM_TYPES.len()
            + DISCOUNT_TYPES.len()
            + BENEFIT_TYPES.len()
            + CONDITION_TYPES.len();
        assert!(sql.contains(&format!("${n}::int8[]")), "{sql}");
        assert!(!sql.contains(&format!("${}:", n + 1)));
        assert_eq!(
            insert_part("b", "benefit_applicants", BENEFIT_COLS, BENEFIT_TYPES, 9),
            "b AS (INSERT INTO benefit_applicants (discount_item_id, order_item_id, discount_share, created_at, modified_at) \
             SELECT c0, c1, c2, c3, c3 FROM unnest($9::int8[], $10::int8[], $11::int8[], $12::int8[]) AS t(c0, c1, c2, c3))"
        );
    }

    /// The drawn arrays come first, in [`DRAWN`]'s order, each counted by its own parameter;
    /// every promotion column follows.
    #[test]
    fn the_first_round_trip_draws_then_reads() {
        let sql = &*FIRST_ROUND_TRIP;
        let at = |needle: &str| sql.find(needle).unwrap_or_else(|| panic!("{needle} in {sql}"));
        assert!(at("'orders', 'id'") < at("'order_items', 'id'"));
        assert!(at("'order_items', 'id'") < at("'discount_items', 'id'"));
        for n in 2..=4 {
            assert_eq!(sql.matches(&format!("generate_series(1, ${n}::int8)")).count(), 1, "{sql}");
        }
        assert!(sql.starts_with(&format!("SELECT d.*, p.{}", ROW_COLS.replace(", ", ", p."))), "{sql}");
    }
}
