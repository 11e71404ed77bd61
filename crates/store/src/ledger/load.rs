//! The one batched loader of the ledger: from the ids a view starts from (orders, order items
//! or discount items, or an order's number) to a [`Ledger`] holding those rows, their orders
//! and whatever else the view shows ([`Parts`]).
//!
//! Each part is one `IN` query over the ids gathered by the step before (products two: rows
//! and images), so a load costs a fixed number of queries whatever the page size — at most
//! twelve, and only the parts asked for:
//!
//! | step | rows | query |
//! |---|---|---|
//! | roots | orders, order items or discount items | `WHERE id IN (…)` (an order: `WHERE number = … AND channel = …`) |
//! | their orders | orders of the items or discounts | `WHERE id IN (…)` |
//! | `items`, `discounts` | of the orders loaded | `WHERE order_id IN (…)` |
//! | `benefits` | of the discount items loaded, else of the order items | `WHERE discount_item_id / order_item_id IN (…)` |
//! | `conditions` | of the discount items loaded | `WHERE discount_item_id IN (…)` |
//! | `promotions`, `products`, `lists` | what the discount items / order items refer to | `WHERE id IN (…)` |
//! | `cancellations` | of the orders loaded (or the roots), then their items, then reversals | `WHERE order_id / cancellation_id / cancellation_item_id IN (…)` |
//!
//! Roots keep the order of the ids asked for (a list's page order); every other row comes
//! in id order, which is the order every view shows them in.

use sqlx::any::AnyRow;

use crate::ledger::model::{Ledger, LedgerRows, OrderDetail};
use crate::ledger::rows::{
    BENEFIT_COLS, BenefitApplicantRow, CANCELLATION_COLS, CANCELLATION_ITEM_COLS, CONDITION_COLS, CancellationItemRow,
    CancellationRow, ConditionApplicantRow, DISCOUNT_COLS, DiscountItemRow, ITEM_COLS, ORDER_COLS, OrderItemRow,
    OrderRow, PROMOTION_COLS, PromotionRef, REVERSAL_COLS, ReversalRow,
};
use crate::list::{in_id_order, placeholders};
use crate::{Result, Store, StoreError};

/// What a load starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roots<'a> {
    Orders(&'a [i64]),
    /// The order with this number placed through this channel (how Elastic Path names an
    /// order).
    OrderNumber {
        number: &'a str,
        channel: &'a str,
    },
    OrderItems(&'a [i64]),
    DiscountItems(&'a [i64]),
    /// Cancellations (the staff queue); their items and reversals come with them.
    Cancellations(&'a [i64]),
}

/// What a load brings besides its roots and their orders. Each part asked for is one query
/// (products two); a view asks only for what it shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Parts {
    /// The order items of the orders loaded (when starting from orders).
    pub items: bool,
    /// The discount items of the orders loaded (when starting from orders).
    pub discounts: bool,
    /// The benefit applicants of the discount items loaded, or, when no discount items are
    /// loaded, of the order items.
    pub benefits: bool,
    /// The condition applicants of the discount items loaded.
    pub conditions: bool,
    /// The promotions the discount items loaded refer to.
    pub promotions: bool,
    /// The products (with images) of the order items loaded.
    pub products: bool,
    /// The price and stock lists of the order items loaded.
    pub lists: bool,
    /// The cancellations of the orders loaded, with their items and reversals (three
    /// queries).
    pub cancellations: bool,
}

impl Parts {
    /// The roots and their orders only.
    pub const NONE: Parts = Parts {
        items: false,
        discounts: false,
        benefits: false,
        conditions: false,
        promotions: false,
        products: false,
        lists: false,
        cancellations: false,
    };
    /// An order with its items, discount items and applicants (the order detail views).
    pub const ORDER_DETAIL: Parts =
        Parts { items: true, discounts: true, benefits: true, conditions: true, cancellations: true, ..Parts::NONE };
    /// Discount items with their applicants and promotions (Omnitron's detailed view).
    pub const DISCOUNT_DETAIL: Parts = Parts { benefits: true, conditions: true, promotions: true, ..Parts::NONE };
    /// Order items with their shares, products and lists (Omnitron's detailed view).
    pub const ITEM_DETAIL: Parts = Parts { benefits: true, products: true, lists: true, ..Parts::NONE };
}

/// `ids` sorted, without repeats.
fn distinct(ids: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut v: Vec<i64> = ids.collect();
    v.sort_unstable();
    v.dedup();
    v
}

impl Store {
    /// `SELECT cols FROM table WHERE column IN (ids) ORDER BY id`, decoded; no query for no ids.
    async fn ledger_rows<T>(
        &self,
        cols: &str,
        table: &str,
        column: &str,
        ids: &[i64],
        decode: fn(&AnyRow) -> Result<T>,
    ) -> Result<Vec<T>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ph = placeholders(0, ids.len());
        let rows =
            self.fetch_in(format!("SELECT {cols} FROM {table} WHERE {column} IN ({ph}) ORDER BY id"), ids).await?;
        rows.iter().map(decode).collect()
    }

    /// Loads the ledger rows `roots` names, their orders, and `parts` (see the module docs).
    /// Ids that name nothing are left out.
    pub async fn ledger(&self, roots: Roots<'_>, parts: Parts) -> Result<Ledger> {
        let mut rows = LedgerRows::default();
        let from_orders = matches!(roots, Roots::Orders(_) | Roots::OrderNumber { .. });
        match roots {
            Roots::Orders(ids) => {
                let orders = self.ledger_rows(ORDER_COLS, "orders", "id", ids, OrderRow::from_row).await?;
                rows.orders = in_id_order(ids, orders, |o| o.id);
            }
            Roots::OrderNumber { number, channel } => {
                let found = sqlx::query(&format!("SELECT {ORDER_COLS} FROM orders WHERE number = $1 AND channel = $2"))
                    .bind(number)
                    .bind(channel)
                    .fetch_optional(self.reader())
                    .await?;
                rows.orders = found.as_ref().map(OrderRow::from_row).transpose()?.into_iter().collect();
            }
            Roots::OrderItems(ids) => {
                let items = self.ledger_rows(ITEM_COLS, "order_items", "id", ids, OrderItemRow::from_row).await?;
                rows.items = in_id_order(ids, items, |i| i.id);
            }
            Roots::DiscountItems(ids) => {
                let discounts =
                    self.ledger_rows(DISCOUNT_COLS, "discount_items", "id", ids, DiscountItemRow::from_row).await?;
                rows.discounts = in_id_order(ids, discounts, |d| d.id);
            }
            Roots::Cancellations(ids) => {
                let found =
                    self.ledger_rows(CANCELLATION_COLS, "cancellations", "id", ids, CancellationRow::from_row).await?;
                rows.cancellations = in_id_order(ids, found, |c| c.id);
            }
        }
        if from_orders {
            let order_ids: Vec<i64> = rows.orders.iter().map(|o| o.id).collect();
            if parts.items {
                rows.items =
                    self.ledger_rows(ITEM_COLS, "order_items", "order_id", &order_ids, OrderItemRow::from_row).await?;
            }
            if parts.discounts {
                rows.discounts = self
                    .ledger_rows(DISCOUNT_COLS, "discount_items", "order_id", &order_ids, DiscountItemRow::from_row)
                    .await?;
            }
        } else {
            let order_ids = distinct(
                rows.items
                    .iter()
                    .map(|i| i.order_id)
                    .chain(rows.discounts.iter().map(|d| d.order_id))
                    .chain(rows.cancellations.iter().map(|c| c.order_id)),
            );
            rows.orders = self.ledger_rows(ORDER_COLS, "orders", "id", &order_ids, OrderRow::from_row).await?;
        }
        let discounts_loaded = matches!(roots, Roots::DiscountItems(_)) || (from_orders && parts.discounts);
        let discount_ids: Vec<i64> = rows.discounts.iter().map(|d| d.id).collect();
        if parts.benefits {
            let (column, ids) = if discounts_loaded {
                ("discount_item_id", discount_ids.clone())
            } else {
                ("order_item_id", rows.items.iter().map(|i| i.id).collect())
            };
            rows.benefits = self
                .ledger_rows(BENEFIT_COLS, "benefit_applicants", column, &ids, BenefitApplicantRow::from_row)
                .await?;
        }
        if parts.conditions {
            rows.conditions = self
                .ledger_rows(
                    CONDITION_COLS,
                    "condition_applicants",
                    "discount_item_id",
                    &discount_ids,
                    ConditionApplicantRow::from_row,
                )
                .await?;
        }
        if parts.promotions {
            let ids = distinct(rows.discounts.iter().filter_map(|d| d.promotion_id));
            rows.promotions =
                self.ledger_rows(PROMOTION_COLS, "promotions", "id", &ids, PromotionRef::from_row).await?;
        }
        if parts.products {
            rows.products = self.products_by_ids(&distinct(rows.items.iter().map(|i| i.product_id))).await?;
        }
        if parts.lists {
            rows.price_lists =
                self.price_lists_by_ids(&distinct(rows.items.iter().filter_map(|i| i.price_list_id))).await?;
            rows.stock_lists =
                self.stock_lists_by_ids(&distinct(rows.items.iter().filter_map(|i| i.stock_list_id))).await?;
        }
        if from_orders && parts.cancellations {
            let order_ids: Vec<i64> = rows.orders.iter().map(|o| o.id).collect();
            rows.cancellations = self
                .ledger_rows(CANCELLATION_COLS, "cancellations", "order_id", &order_ids, CancellationRow::from_row)
                .await?;
        }
        if !rows.cancellations.is_empty() {
            let ids: Vec<i64> = rows.cancellations.iter().map(|c| c.id).collect();
            rows.cancellation_items = self
                .ledger_rows(
                    CANCELLATION_ITEM_COLS,
                    "cancellation_items",
                    "cancellation_id",
                    &ids,
                    CancellationItemRow::from_row,
                )
                .await?;
            let ids: Vec<i64> = rows.cancellation_items.iter().map(|i| i.id).collect();
            rows.reversals = self
                .ledger_rows(
                    REVERSAL_COLS,
                    "cancellation_reversals",
                    "cancellation_item_id",
                    &ids,
                    ReversalRow::from_row,
                )
                .await?;
        }
        Ledger::new(rows)
    }

    /// One order with its items, discount items and applicants; `NotFound` if there is none.
    pub async fn order_detail(&self, id: i64) -> Result<OrderDetail> {
        OrderDetail::new(self.ledger(Roots::Orders(&[id]), Parts::ORDER_DETAIL).await?).ok_or(StoreError::NotFound)
    }
}
