//! Staff work on orders: the order list and one order's detail, and an order item's status.
//! Each change answers with the ledger read back after it (the [`crate::ledger`] read
//! model), as the views that render the answer need it. Cancelling and returning units is
//! [`crate::cancellations`]'.

use offerline_core::status::OrderStatus;
use offerline_store::ledger::{Ledger, OrderDetail, Parts};

use offerline_core::refund;

use crate::error::{AppError, AppResult};
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

/// Sets an order item's status; the item with its order, read back. Cancellation waiting,
/// cancelled and refunded are refused: they come only from a cancellation
/// ([`crate::cancellations`]), which records the refund that goes with them.
pub async fn set_item_status(app: &App, item: i64, status: OrderStatus) -> AppResult<Ledger> {
    if !refund::settable_directly(status) {
        return Err(AppError::Field {
            field: "status".into(),
            message: format!(
                "Status {status} ({}) is set by a cancellation: use POST /api/v1/orders/{{pk}}/cancel/ or the \
                 cancellation requests.",
                status.name()
            ),
        });
    }
    Ok(app.store().set_order_item_status(item, status).await?)
}
