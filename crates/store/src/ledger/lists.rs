//! Lists of the ledger: a page of ids ([`Store::list_ids`]) loaded by the one loader, plus the
//! filters only the ledger has ([`LedgerFilter`]), which the store turns into SQL itself.
//!
//! A list with no ledger filter keeps its query as the caller built it, so the PostgreSQL
//! `list_counts` route of [`Store::list_ids`] (no filter, or only `status`) still applies.

use std::borrow::Cow;

use crate::Store;
use crate::ledger::load::{Parts, Roots};
use crate::ledger::model::Ledger;
use crate::list::ListQuery;
use crate::{Result, list::Value};

/// Filters of the order-item and discount-item lists that reach through to the order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerFilter {
    /// Rows of the order with this number. Each entry is a condition of its own, so two
    /// different numbers match nothing (as `?order__number=a&order_number=b` does).
    pub order_numbers: Vec<String>,
    /// Rows of this customer's orders.
    pub customer: Option<i64>,
}

impl LedgerFilter {
    /// `query` with these conditions added; `query` itself when there are none. Served by
    /// the unique index on `orders.number`, the `(user_id, id)` index of `orders`, and the
    /// `(order_id, id)` index of the listed table.
    fn apply<'q>(&self, query: &'q ListQuery) -> Cow<'q, ListQuery> {
        if self.order_numbers.is_empty() && self.customer.is_none() {
            return Cow::Borrowed(query);
        }
        let mut q = query.clone();
        for n in &self.order_numbers {
            q.raw("order_id IN (SELECT id FROM orders WHERE number = ?)", vec![Value::from(n.as_str())]);
        }
        if let Some(user) = self.customer {
            q.raw("order_id IN (SELECT id FROM orders WHERE user_id = ?)", vec![user.into()]);
        }
        Cow::Owned(q)
    }
}

impl Store {
    /// A page of orders (`query` over `orders`) with `parts`, and the total count.
    pub async fn list_orders(&self, query: &ListQuery, parts: Parts) -> Result<(i64, Ledger)> {
        let (count, ids) = self.list_ids("orders", query).await?;
        Ok((count, self.ledger(Roots::Orders(&ids), parts).await?))
    }

    /// A page of order items (`query` and `filter` over `order_items`) with `parts`, and the
    /// total count.
    pub async fn list_order_items(
        &self,
        query: &ListQuery,
        filter: &LedgerFilter,
        parts: Parts,
    ) -> Result<(i64, Ledger)> {
        let (count, ids) = self.list_ids("order_items", &filter.apply(query)).await?;
        Ok((count, self.ledger(Roots::OrderItems(&ids), parts).await?))
    }

    /// A page of discount items (`query` and `filter` over `discount_items`) with `parts`,
    /// and the total count.
    pub async fn list_discount_items(
        &self,
        query: &ListQuery,
        filter: &LedgerFilter,
        parts: Parts,
    ) -> Result<(i64, Ledger)> {
        let (count, ids) = self.list_ids("discount_items", &filter.apply(query)).await?;
        Ok((count, self.ledger(Roots::DiscountItems(&ids), parts).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_ledger_filter_keeps_the_query_as_built() {
        let q = ListQuery::new();
        assert!(matches!(LedgerFilter::default().apply(&q), Cow::Borrowed(_)));
        let f = LedgerFilter { order_numbers: vec!["n".into()], customer: Some(7) };
        assert!(matches!(f.apply(&q), Cow::Owned(_)));
    }
}
