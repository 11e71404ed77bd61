//! The ledger read model: the rows one request needs ([`Ledger`]), indexed so that a view
//! walks from an order to its items and discounts, from an item or a discount to its order,
//! its applicants and the catalogue rows it shows, without a query of its own.
//!
//! Every view of the ledger — Omnitron, OMS, the Commerce account, the staff orders, Elastic
//! Path, the checkout answer — renders this one model, so a column is read, typed and
//! related to its neighbours in one place only. The model is built by the batched loader
//! ([`crate::ledger::load`]) or, for the checkout answer, from what the checkout wrote.

use std::collections::HashMap;
use std::ops::Deref;

use crate::catalog::{PriceList, Product, StockList};
use offerline_core::CancellationStatus;

use crate::ledger::rows::{
    BenefitApplicantRow, CancellationItemRow, CancellationRow, ConditionApplicantRow, DiscountItemRow, OrderItemRow,
    OrderRow, PromotionRef, ReversalRow,
};
use crate::{Result, StoreError};

/// The rows a ledger is built from. Roots (what a load starts from) come first, in the order
/// they were asked for; every other list is in id order.
#[derive(Debug, Clone, Default)]
pub struct LedgerRows {
    pub orders: Vec<OrderRow>,
    pub items: Vec<OrderItemRow>,
    pub discounts: Vec<DiscountItemRow>,
    pub benefits: Vec<BenefitApplicantRow>,
    pub conditions: Vec<ConditionApplicantRow>,
    pub products: Vec<Product>,
    pub price_lists: Vec<PriceList>,
    pub stock_lists: Vec<StockList>,
    pub promotions: Vec<PromotionRef>,
    pub cancellations: Vec<CancellationRow>,
    pub cancellation_items: Vec<CancellationItemRow>,
    pub reversals: Vec<ReversalRow>,
}

/// Ledger rows with lookups between them (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    rows: LedgerRows,
    order_at: HashMap<i64, usize>,
    items_of_order: HashMap<i64, Vec<usize>>,
    discounts_of_order: HashMap<i64, Vec<usize>>,
    benefits_of_discount: HashMap<i64, Vec<usize>>,
    benefits_of_item: HashMap<i64, Vec<usize>>,
    conditions_of_discount: HashMap<i64, Vec<usize>>,
    products: HashMap<i64, usize>,
    price_lists: HashMap<i64, usize>,
    stock_lists: HashMap<i64, usize>,
    promotions: HashMap<i64, usize>,
    cancellations_of_order: HashMap<i64, Vec<usize>>,
    items_of_cancellation: HashMap<i64, Vec<usize>>,
    reversals_of_item: HashMap<i64, Vec<usize>>,
}

fn positions<T>(rows: &[T], key: impl Fn(&T) -> i64) -> HashMap<i64, Vec<usize>> {
    let mut out: HashMap<i64, Vec<usize>> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        out.entry(key(r)).or_default().push(i);
    }
    out
}

fn position<T>(rows: &[T], key: impl Fn(&T) -> i64) -> HashMap<i64, usize> {
    rows.iter().enumerate().map(|(i, r)| (key(r), i)).collect()
}

impl Ledger {
    /// Indexes `rows`. Every order item and discount item must come with its order: one
    /// without is a broken ledger (the foreign key forbids it), not something to render.
    pub fn new(rows: LedgerRows) -> Result<Ledger> {
        let order_at = position(&rows.orders, |o| o.id);
        let orphan = rows
            .items
            .iter()
            .map(|i| (i.order_id, "order item", i.id))
            .chain(rows.discounts.iter().map(|d| (d.order_id, "discount item", d.id)))
            .chain(rows.cancellations.iter().map(|c| (c.order_id, "cancellation", c.id)))
            .find(|(order, ..)| !order_at.contains_key(order));
        if let Some((order, what, id)) = orphan {
            return Err(StoreError::Internal(format!("{what} {id} without its order {order}")));
        }
        Ok(Ledger {
            order_at,
            items_of_order: positions(&rows.items, |i| i.order_id),
            discounts_of_order: positions(&rows.discounts, |d| d.order_id),
            benefits_of_discount: positions(&rows.benefits, |b| b.discount_item_id),
            benefits_of_item: positions(&rows.benefits, |b| b.order_item_id),
            conditions_of_discount: positions(&rows.conditions, |c| c.discount_item_id),
            products: position(&rows.products, |p| p.id),
            price_lists: position(&rows.price_lists, |l| l.id),
            stock_lists: position(&rows.stock_lists, |l| l.id),
            promotions: position(&rows.promotions, |p| p.id),
            cancellations_of_order: positions(&rows.cancellations, |c| c.order_id),
            items_of_cancellation: positions(&rows.cancellation_items, |i| i.cancellation_id),
            reversals_of_item: positions(&rows.reversals, |r| r.cancellation_item_id),
            rows,
        })
    }

    /// The rows, as loaded.
    pub fn rows(&self) -> &LedgerRows {
        &self.rows
    }

    /// The orders, roots first in the order asked for.
    pub fn orders(&self) -> impl Iterator<Item = LedgerOrder<'_>> {
        self.rows.orders.iter().map(move |row| LedgerOrder { ledger: self, row })
    }

    /// The cancellations, roots in the order asked for, else in id order.
    pub fn cancellations(&self) -> impl Iterator<Item = LedgerCancellation<'_>> {
        self.rows.cancellations.iter().map(move |row| LedgerCancellation {
            ledger: self,
            row,
            order: self.order_row(row.order_id),
        })
    }

    /// The order items, roots in the order asked for, else in id order.
    pub fn items(&self) -> impl Iterator<Item = LedgerItem<'_>> {
        self.rows.items.iter().map(move |row| self.item_view(row))
    }

    /// The discount items, roots in the order asked for, else in id order.
    pub fn discounts(&self) -> impl Iterator<Item = LedgerDiscount<'_>> {
        self.rows.discounts.iter().map(move |row| self.discount_view(row))
    }

    pub fn order(&self, id: i64) -> Option<LedgerOrder<'_>> {
        self.order_at.get(&id).map(|&i| LedgerOrder { ledger: self, row: &self.rows.orders[i] })
    }

    pub fn product(&self, id: i64) -> Option<&Product> {
        self.products.get(&id).map(|&i| &self.rows.products[i])
    }

    pub fn price_list(&self, id: i64) -> Option<&PriceList> {
        self.price_lists.get(&id).map(|&i| &self.rows.price_lists[i])
    }

    pub fn stock_list(&self, id: i64) -> Option<&StockList> {
        self.stock_lists.get(&id).map(|&i| &self.rows.stock_lists[i])
    }

    pub fn promotion(&self, id: i64) -> Option<&PromotionRef> {
        self.promotions.get(&id).map(|&i| &self.rows.promotions[i])
    }

    fn order_row(&self, id: i64) -> &OrderRow {
        // `new` refused any item or discount without its order.
        &self.rows.orders[self.order_at[&id]]
    }

    fn item_view<'a>(&'a self, row: &'a OrderItemRow) -> LedgerItem<'a> {
        LedgerItem { ledger: self, row, order: self.order_row(row.order_id) }
    }

    fn discount_view<'a>(&'a self, row: &'a DiscountItemRow) -> LedgerDiscount<'a> {
        LedgerDiscount { ledger: self, row, order: self.order_row(row.order_id) }
    }

    fn at<'a, T>(rows: &'a [T], index: &'a HashMap<i64, Vec<usize>>, key: i64) -> impl Iterator<Item = &'a T> + 'a {
        index.get(&key).map_or(&[][..], Vec::as_slice).iter().map(move |&i| &rows[i])
    }
}

/// An order of a [`Ledger`], with its items and discount items as far as they were loaded.
#[derive(Clone, Copy)]
pub struct LedgerOrder<'a> {
    ledger: &'a Ledger,
    row: &'a OrderRow,
}

impl<'a> LedgerOrder<'a> {
    pub fn row(&self) -> &'a OrderRow {
        self.row
    }

    /// Its order items, in id order.
    pub fn items(&self) -> impl Iterator<Item = LedgerItem<'a>> + use<'a> {
        let l = self.ledger;
        Ledger::at(&l.rows.items, &l.items_of_order, self.row.id).map(move |row| l.item_view(row))
    }

    /// Its discount items, in id order.
    pub fn discounts(&self) -> impl Iterator<Item = LedgerDiscount<'a>> + use<'a> {
        let l = self.ledger;
        Ledger::at(&l.rows.discounts, &l.discounts_of_order, self.row.id).map(move |row| l.discount_view(row))
    }

    /// Its cancellations, oldest first (as far as they were loaded).
    pub fn cancellations(&self) -> impl Iterator<Item = LedgerCancellation<'a>> + use<'a> {
        let l = self.ledger;
        let order = self.row;
        Ledger::at(&l.rows.cancellations, &l.cancellations_of_order, order.id).map(move |row| LedgerCancellation {
            ledger: l,
            row,
            order,
        })
    }

    /// Σ refunds of its approved cancellations, minor units.
    pub fn refunded_amount(&self) -> i64 {
        self.cancellations().filter(|c| c.status == CancellationStatus::Approved).map(|c| c.refund_amount).sum()
    }
}

/// A cancellation of a [`Ledger`] with its order, units and reversals.
#[derive(Clone, Copy)]
pub struct LedgerCancellation<'a> {
    ledger: &'a Ledger,
    row: &'a CancellationRow,
    order: &'a OrderRow,
}

impl<'a> LedgerCancellation<'a> {
    pub fn row(&self) -> &'a CancellationRow {
        self.row
    }

    pub fn order(&self) -> &'a OrderRow {
        self.order
    }

    /// Its units, in id order, each with the reversals listed under it summed per discount
    /// item (discount item id, amount), in discount item order.
    pub fn items(&self) -> impl Iterator<Item = (&'a CancellationItemRow, Vec<(i64, i64)>)> + use<'a> {
        let l = self.ledger;
        Ledger::at(&l.rows.cancellation_items, &l.items_of_cancellation, self.row.id).map(move |item| {
            let mut by_discount: std::collections::BTreeMap<i64, i64> = Default::default();
            for r in Ledger::at(&l.rows.reversals, &l.reversals_of_item, item.id) {
                *by_discount.entry(r.discount_item_id).or_insert(0) += r.amount;
            }
            (item, by_discount.into_iter().collect())
        })
    }
}

impl std::fmt::Debug for LedgerCancellation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LedgerCancellation").field(self.row).finish()
    }
}

impl Deref for LedgerCancellation<'_> {
    type Target = CancellationRow;
    fn deref(&self) -> &CancellationRow {
        self.row
    }
}

/// The row alone: the ledger around it would drown it.
impl std::fmt::Debug for LedgerOrder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LedgerOrder").field(self.row).finish()
    }
}

impl Deref for LedgerOrder<'_> {
    type Target = OrderRow;
    fn deref(&self) -> &OrderRow {
        self.row
    }
}

/// An order item of a [`Ledger`] with its order, its shares of discounts and the catalogue
/// rows it refers to, as far as they were loaded.
#[derive(Clone, Copy)]
pub struct LedgerItem<'a> {
    ledger: &'a Ledger,
    row: &'a OrderItemRow,
    order: &'a OrderRow,
}

impl<'a> LedgerItem<'a> {
    pub fn row(&self) -> &'a OrderItemRow {
        self.row
    }

    pub fn order(&self) -> &'a OrderRow {
        self.order
    }

    /// The benefit applicants on this item, in id order.
    pub fn benefits(&self) -> impl Iterator<Item = &'a BenefitApplicantRow> + use<'a> {
        Ledger::at(&self.ledger.rows.benefits, &self.ledger.benefits_of_item, self.row.id)
    }

    pub fn product(&self) -> Option<&'a Product> {
        self.ledger.product(self.row.product_id)
    }

    pub fn price_list(&self) -> Option<&'a PriceList> {
        self.row.price_list_id.and_then(|id| self.ledger.price_list(id))
    }

    pub fn stock_list(&self) -> Option<&'a StockList> {
        self.row.stock_list_id.and_then(|id| self.ledger.stock_list(id))
    }
}

/// The row alone: the ledger around it would drown it.
impl std::fmt::Debug for LedgerItem<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LedgerItem").field(self.row).finish()
    }
}

impl Deref for LedgerItem<'_> {
    type Target = OrderItemRow;
    fn deref(&self) -> &OrderItemRow {
        self.row
    }
}

/// A discount item of a [`Ledger`] with its order, applicants and promotion, as far as they
/// were loaded.
#[derive(Clone, Copy)]
pub struct LedgerDiscount<'a> {
    ledger: &'a Ledger,
    row: &'a DiscountItemRow,
    order: &'a OrderRow,
}

impl<'a> LedgerDiscount<'a> {
    pub fn row(&self) -> &'a DiscountItemRow {
        self.row
    }

    pub fn order(&self) -> &'a OrderRow {
        self.order
    }

    /// Its benefit applicants (the shares that sum to its amount), in id order.
    pub fn benefits(&self) -> impl Iterator<Item = &'a BenefitApplicantRow> + use<'a> {
        Ledger::at(&self.ledger.rows.benefits, &self.ledger.benefits_of_discount, self.row.id)
    }

    /// Its condition applicants, in id order.
    pub fn conditions(&self) -> impl Iterator<Item = &'a ConditionApplicantRow> + use<'a> {
        Ledger::at(&self.ledger.rows.conditions, &self.ledger.conditions_of_discount, self.row.id)
    }

    pub fn promotion(&self) -> Option<&'a PromotionRef> {
        self.row.promotion_id.and_then(|id| self.ledger.promotion(id))
    }
}

/// The row alone: the ledger around it would drown it.
impl std::fmt::Debug for LedgerDiscount<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LedgerDiscount").field(self.row).finish()
    }
}

impl Deref for LedgerDiscount<'_> {
    type Target = DiscountItemRow;
    fn deref(&self) -> &DiscountItemRow {
        self.row
    }
}

/// A ledger holding one order with what its detail views show (items, discount items,
/// applicants): the staff order detail, the cancel answer and the checkout answer.
#[derive(Debug, Clone)]
pub struct OrderDetail {
    ledger: Ledger,
}

impl OrderDetail {
    /// The ledger's first order as a detail; `None` when it holds no order.
    pub fn new(ledger: Ledger) -> Option<OrderDetail> {
        (!ledger.rows.orders.is_empty()).then_some(OrderDetail { ledger })
    }

    pub fn order(&self) -> LedgerOrder<'_> {
        LedgerOrder { ledger: &self.ledger, row: &self.ledger.rows.orders[0] }
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }
}
