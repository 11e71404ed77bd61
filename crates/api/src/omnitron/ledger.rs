//! Omnitron's detailed views of the order ledger (staff): discount items
//! (`/discount_items/detailed_integration/`, seed 000) and order items
//! (`/order_item/detailed_integration/`, seed 002), lists and single objects, under both
//! `/api/v1/` and `/api/i1/`.
//!
//! Shapes follow the seeds key for key (the wire types [`DiscountItem`] and [`OrderItem`]). Fields Akinon has and offerline does not hold
//! (invoice dates, e-archive URL, shipment code, …) are `null`, or `{}` where the seed shows
//! an object. Both render the store's one ledger read model; every request runs a fixed
//! number of queries whatever the page size: count + ids, then the batched loader
//! ([`offerline_app::ledger`]) — discount items: rows, orders, benefit and condition
//! applicants, promotions; order items: rows, orders, benefit applicants, products (2),
//! price lists, stock lists. Bodies are served from the response cache while the data has
//! not changed (see [`crate::cache`]).

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use offerline_app::ledger::{self, LedgerFilter, Parts, Roots};

use crate::AppState;
use crate::http::auth::Staff;
use crate::http::cache::{cached, list_key, object_key};
use crate::http::error::{ApiError, ApiResult};
use crate::http::listing::{Filter, Kind, Listing, Spec};
use crate::http::path::PathId;
use crate::omnitron::wire::{DiscountItem, OrderItem};

/// `?order__number=` / `?order_number=` (each of `params` given): the rows of the order
/// with that number.
pub fn order_number_filter(listing: &Listing, params: &[&str]) -> LedgerFilter {
    LedgerFilter {
        order_numbers: params.iter().filter_map(|p| listing.get(p)).map(str::to_owned).collect(),
        ..LedgerFilter::default()
    }
}

const DISCOUNT_SPEC: Spec = Spec {
    filters: &[Filter { param: "order", column: "order_id", kind: Kind::Int }],
    sorts: &[],
    default_sort: ("id", false),
};

/// Order-item filters; `status` has the `(status, id)` index, `order` the `(order_id, id)` one.
pub const ORDER_ITEM_SPEC: Spec = Spec {
    filters: &[
        Filter { param: "order", column: "order_id", kind: Kind::Int },
        Filter { param: "status", column: "status", kind: Kind::Int },
    ],
    sorts: &[],
    default_sort: ("id", false),
};

pub(super) async fn list_discount_items(
    _: Staff,
    State(state): State<AppState>,
    uri: Uri,
    listing: Listing,
) -> ApiResult<Response> {
    cached(&state, list_key(&listing, &uri), async {
        let q = listing.query(&DISCOUNT_SPEC)?;
        let filter = order_number_filter(&listing, &["order__number", "order_number"]);
        let (count, ledger) = ledger::discount_items(&state.app, &q, &filter, Parts::DISCOUNT_DETAIL).await?;
        listing.page(count, ledger.discounts().map(|d| DiscountItem::from(&d)))
    })
    .await
}

pub(super) async fn get_discount_item(
    _: Staff,
    State(state): State<AppState>,
    uri: Uri,
    PathId(id): PathId,
) -> ApiResult<Response> {
    cached(&state, object_key(&uri), async {
        let ledger = ledger::load(&state.app, Roots::DiscountItems(&[id]), Parts::DISCOUNT_DETAIL).await?;
        let d = ledger.discounts().next().ok_or(ApiError::NotFound)?;
        Ok(DiscountItem::from(&d))
    })
    .await
}

pub(super) async fn list_order_items(
    _: Staff,
    State(state): State<AppState>,
    uri: Uri,
    listing: Listing,
) -> ApiResult<Response> {
    cached(&state, list_key(&listing, &uri), async {
        let q = listing.query(&ORDER_ITEM_SPEC)?;
        let filter = order_number_filter(&listing, &["order__number", "order_number"]);
        let (count, ledger) = ledger::order_items(&state.app, &q, &filter, Parts::ITEM_DETAIL).await?;
        listing.page(count, ledger.items().map(|i| OrderItem::from(&i)))
    })
    .await
}

pub(super) async fn get_order_item(
    _: Staff,
    State(state): State<AppState>,
    uri: Uri,
    PathId(id): PathId,
) -> ApiResult<Response> {
    cached(&state, object_key(&uri), async {
        let ledger = ledger::load(&state.app, Roots::OrderItems(&[id]), Parts::ITEM_DETAIL).await?;
        let item = ledger.items().next().ok_or(ApiError::NotFound)?;
        Ok(OrderItem::from(&item))
    })
    .await
}
