//! Staff work on orders: the order list and one order's detail, an order item's status,
//! and cancelling items. Each change answers with the ledger read back after it (the
//! [`crate::ledger`] read model), as the views that render the answer need it.
//!
//! A cancellation keeps the discount shares placed on the cancelled items (no re-spreading),
//! so the ledger still sums; when every item is cancelled, so is the order.

use offerline_core::status::OrderStatus;
use offerline_store::ledger::{Ledger, OrderDetail, Parts};

use crate::error::AppResult;
use crate::handle::App;
use crate::list::ListQuery;

/// A page of orders (`q`) with `parts`, and the count of all matches.
pub async fn list(app: &App, q: &ListQuery, parts: Parts) -> AppResult<(i64, Ledger)> {
    Ok(app.store().list_orders(q, parts).await?)
}

/// One order with its items, discount items and applicants.
pub async fn detail(app: &App, id: i64) -> AppResult<OrderDetail> {
    Ok(app.store().order_detail(id).await?)
}

/// Sets an order item's status; the item with its order, read back.
pub async fn set_item_status(app: &App, item: i64, status: OrderStatus) -> AppResult<Ledger> {
    Ok(app.store().set_order_item_status(item, status).await?)
}

/// Cancels `items` of order `order` (every one must belong to it, else nothing changes),
/// with an optional `cancel_status`; the order read back.
pub async fn cancel_items(app: &App, order: i64, items: &[i64], cancel_status: Option<&str>) -> AppResult<OrderDetail> {
    Ok(app.store().cancel_order_items(order, items, cancel_status).await?)
}
