//! Order life (contract §8): cancelling and returning units, by staff at once (with a
//! preview and an idempotency key) or by the customer as a request that staff approve or
//! reject; the customer's own orders. Every answer is the ledger read model, read back after
//! the write, so every view renders the cancellation the same way.
//!
//! The money (what each unit refunds, which shares are reversed, `keep_shares` and
//! `reprice`) is [`offerline_core::refund`]'s; the transaction that records it, gives the
//! usage back and keeps concurrent requests apart is
//! [`offerline_store::cancellations`]'.

pub use offerline_core::refund::{CancellationStatus, CancellationType, RefundPolicy};
pub use offerline_store::cancellations::{CancelGroup, MAX_UNITS};
use offerline_store::cancellations::{CancelRequest, Cancelled};
pub use offerline_store::ledger::{CancellationItemRow, CancellationRow, LedgerCancellation, ReversalRow};
use offerline_store::ledger::{Ledger, OrderDetail, Parts, Roots};

use crate::error::{AppError, AppResult};
use crate::handle::App;
use crate::list::{ListQuery, Op};

/// What a staff cancellation answered: the order after it, and whether the idempotency key
/// had been used before (nothing was cancelled again).
#[derive(Debug)]
pub struct StaffCancel {
    pub order: OrderDetail,
    pub replayed: bool,
}

/// Staff cancel or return units of an order at once; the refund is recorded and the usage
/// given back. `key`: the caller's `Idempotency-Key`.
pub async fn cancel_now(
    app: &App,
    staff: i64,
    order_id: i64,
    group: CancelGroup,
    key: Option<String>,
) -> AppResult<StaffCancel> {
    let req =
        CancelRequest { order_id, groups: vec![group], user_id: Some(staff), customer: None, idempotency_key: key };
    let replayed = matches!(app.store().cancel(&req).await?, Cancelled::Replayed);
    Ok(StaffCancel { order: app.store().order_detail(order_id).await?, replayed })
}

/// What [`cancel_now`] would record, with nothing written: a ledger holding the order and
/// the cancellation (id 0).
pub async fn preview(app: &App, staff: i64, order_id: i64, group: CancelGroup) -> AppResult<Ledger> {
    let req =
        CancelRequest { order_id, groups: vec![group], user_id: Some(staff), customer: None, idempotency_key: None };
    Ok(app.store().preview_cancellation(&req).await?)
}

/// A customer asks to cancel or return units of their order: one waiting cancellation per
/// group, read back. Another customer's order is `NotFound`.
pub async fn request(app: &App, customer: i64, order_id: i64, groups: Vec<CancelGroup>) -> AppResult<Ledger> {
    let req =
        CancelRequest { order_id, groups, user_id: Some(customer), customer: Some(customer), idempotency_key: None };
    match app.store().cancel(&req).await? {
        Cancelled::Written(ids) => Ok(app.store().ledger(Roots::Cancellations(&ids), Parts::NONE).await?),
        Cancelled::Replayed => Err(AppError::Internal("a request without a key was replayed".into())),
    }
}

/// A page of cancellations (the staff queue), with their orders, units and reversals.
pub async fn list(app: &App, q: &ListQuery) -> AppResult<(i64, Ledger)> {
    Ok(app.store().list_cancellations(q).await?)
}

/// One cancellation with its order, units and reversals.
pub async fn detail(app: &App, id: i64) -> AppResult<Ledger> {
    let ledger = app.store().ledger(Roots::Cancellations(&[id]), Parts::NONE).await?;
    if ledger.rows().cancellations.is_empty() {
        return Err(AppError::NotFound);
    }
    Ok(ledger)
}

/// Approves a waiting request: its refund is computed from the ledger as it is now.
pub async fn approve(app: &App, id: i64) -> AppResult<Ledger> {
    app.store().approve_cancellation(id).await?;
    detail(app, id).await
}

/// Rejects a waiting request: nothing is refunded and its units go back to their status.
pub async fn reject(app: &App, id: i64) -> AppResult<Ledger> {
    app.store().reject_cancellation(id).await?;
    detail(app, id).await
}

/// A page of the customer's own orders (newest first unless `q` sorts otherwise), with
/// their items, discount items and cancellations.
pub async fn customer_orders(app: &App, customer: i64, q: &ListQuery) -> AppResult<(i64, Ledger)> {
    let mut q = q.clone();
    q.filter("user_id", Op::Eq, customer);
    Ok(app.store().list_orders(&q, Parts::ORDER_DETAIL).await?)
}

/// One of the customer's own orders; another customer's is `NotFound`.
pub async fn customer_order(app: &App, customer: i64, id: i64) -> AppResult<OrderDetail> {
    let d = app.store().order_detail(id).await?;
    if d.order().user_id != Some(customer) {
        return Err(AppError::NotFound);
    }
    Ok(d)
}
