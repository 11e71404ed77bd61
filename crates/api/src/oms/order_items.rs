//! OMS order items (staff), seed 003: `/api/v1/oms/order_items/` (detailed: `state` and
//! `product` objects), `/api/v1/oms/order_items/list-simple/` (`state`, `order`, `product`
//! as ids) and `/api/v1/oms/order_items/{id}/`.
//!
//! OMS keeps its own copy of an order item; offerline has one ledger, so `id` and
//! `omnitron_id` are the same order item id, and the product's `id` and `omnitron_id` the
//! catalogue product id. The `state` object is the item's status rendered from
//! [`OrderStatus`]: its `id` is the status's stable position in the Akinon table, its dates a
//! fixed constant (the states are fixed data, not rows). Items render the store's one ledger
//! read model; a request runs a fixed number of queries whatever the page size: count + ids,
//! then the batched loader — rows, orders, price lists, stock lists, and products (2) in the
//! detailed shape. Bodies are served from the response cache while the data has not changed
//! (see [`crate::cache`]).

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use offerline_app::ledger::{self, LedgerItem, Parts, Roots};
use offerline_app::list::Op;
use offerline_core::status::OrderStatus;

use crate::AppState;
use crate::http::auth::Staff;
use crate::http::cache::{cached, list_key, object_key};
use crate::http::error::{ApiError, ApiResult};
use crate::http::listing::Listing;
use crate::http::listing::Page;
use crate::http::path::PathId;
use crate::omnitron::ledger::{ORDER_ITEM_SPEC, order_number_filter};
use crate::oms::wire::{OmsOrderItem, OmsOrderItemSimple};

/// Runs the list with the OMS filters: `order_number`, `order`, `status` (code) and
/// `state` (state id), plus the common ones; each item rendered as `T` (the simple shape
/// or the detailed one).
async fn list<T>(state: &AppState, listing: &Listing, simple: bool) -> ApiResult<Page<T>>
where
    T: for<'a, 'l> From<&'a LedgerItem<'l>>,
{
    let mut q = listing.query(&ORDER_ITEM_SPEC)?;
    let filter = order_number_filter(listing, &["order_number", "order__number"]);
    if let Some(s) = listing.get("state") {
        let id = s.trim().parse::<i64>().map_err(|_| ApiError::field("state", "Enter a number."))?;
        // An unknown state id matches nothing, as a foreign key filter would.
        let code = OrderStatus::all().find(|st| st.state_id() == id).map_or(-1, |st| i64::from(st.code()));
        q.filter("status", Op::Eq, code);
    }
    // Price and stock lists are shown in the simple shape too; products are not.
    let parts = Parts { lists: true, products: !simple, ..Parts::NONE };
    let (count, ledger) = ledger::order_items(&state.app, &q, &filter, parts).await?;
    listing.page(count, ledger.items().map(|i| T::from(&i)))
}

pub(super) async fn list_detailed(
    _: Staff,
    State(state): State<AppState>,
    uri: Uri,
    listing: Listing,
) -> ApiResult<Response> {
    cached(&state, list_key(&listing, &uri), list::<OmsOrderItem>(&state, &listing, false)).await
}

pub(super) async fn list_simple(
    _: Staff,
    State(state): State<AppState>,
    uri: Uri,
    listing: Listing,
) -> ApiResult<Response> {
    cached(&state, list_key(&listing, &uri), list::<OmsOrderItemSimple>(&state, &listing, true)).await
}

pub(super) async fn get_item(
    _: Staff,
    State(state): State<AppState>,
    uri: Uri,
    PathId(id): PathId,
) -> ApiResult<Response> {
    cached(&state, object_key(&uri), async {
        let parts = Parts { lists: true, products: true, ..Parts::NONE };
        let ledger = ledger::load(&state.app, Roots::OrderItems(&[id]), parts).await?;
        let item = ledger.items().next().ok_or(ApiError::NotFound)?;
        Ok(OmsOrderItem::from(&item))
    })
    .await
}
