//! The staff order views and changes (`/api/v1/orders/…`, `order_item(s)`, the staff
//! cancellation). The order detail and cancellation shapes they answer with, which the
//! checkout answer and the customer's order views share, are [`super::wire`]'s.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::Uri;
use axum::response::Response;
use offerline_app::cancellations::{self, CancelGroup, CancellationType, MAX_UNITS};
use offerline_app::ledger::Parts;
use offerline_app::orders;
use offerline_core::status::OrderStatus;
use serde::Serialize;
use serde_json::Value;

use crate::AppState;
use crate::http::auth::Staff;
use crate::http::cache::{cached, list_key};
use crate::http::error::{ApiError, ApiResult};
use crate::http::listing::{Filter, Kind, Listing, Spec};
use crate::http::path::PathId;
use crate::http::wire::{Body, Fields, Fieldset, idempotency_key};
use crate::omnitron::wire::{Cancellation, ItemStatusChange, OrderDetail, OrderLine, OrderSummary, StaffCancel};

/// The answer of a staff cancellation: the preview of the cancellation (`?dry_run=1`;
/// nothing was written), or the order after it.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum CancelAnswer {
    Done(OrderDetail),
    Preview(Cancellation),
}

// ---------------------------------------------------------------------------------------
// Staff.

const ORDER_SPEC: Spec = Spec {
    filters: &[
        Filter { param: "number", column: "number", kind: Kind::Text },
        Filter { param: "user", column: "user_id", kind: Kind::Int },
        Filter { param: "status", column: "status", kind: Kind::Int },
        Filter { param: "channel", column: "channel", kind: Kind::Text },
    ],
    sorts: &[("number", "number"), ("amount", "amount")],
    default_sort: ("id", true),
};

/// Cached like the ledger views (crate::cache): the body depends only on the database and
/// the request.
pub(super) async fn list_orders(
    _: Staff,
    State(state): State<AppState>,
    uri: Uri,
    listing: Listing,
) -> ApiResult<Response> {
    cached(&state, list_key(&listing, &uri), async {
        let (count, ledger) = orders::list(&state.app, &listing.query(&ORDER_SPEC)?, Parts::NONE).await?;
        listing.page(count, ledger.orders().map(|o| OrderSummary::from(o.row())))
    })
    .await
}

pub(super) async fn order_detail(
    _: Staff,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<OrderDetail>> {
    Ok(Json(OrderDetail::from(&orders::detail(&state.app, id).await?)))
}

pub(super) async fn item_status(
    _: Staff,
    State(state): State<AppState>,
    PathId(id): PathId,
    Body(body): Body<ItemStatusChange>,
) -> ApiResult<Json<OrderLine>> {
    let mut f = Fields::new(&body);
    let status = f.req_str("status", 8);
    f.finish()?;
    let status =
        OrderStatus::parse(&status.unwrap_or_default()).map_err(|e| ApiError::field("status", e.to_string()))?;
    let ledger = orders::set_item_status(&state.app, id, status).await?;
    let item = ledger.items().next().ok_or(ApiError::NotFound)?;
    Ok(Json(OrderLine::from(&item)))
}

/// `POST /api/v1/orders/{pk}/cancel/` (contract §8): staff cancel or return units at once;
/// `?dry_run=1` previews the cancellation without writing; `Idempotency-Key` replays.
pub(super) async fn cancel_order(
    Staff(staff): Staff,
    State(state): State<AppState>,
    PathId(id): PathId,
    uri: Uri,
    headers: HeaderMap,
    Body(body): Body<StaffCancel>,
) -> ApiResult<Json<CancelAnswer>> {
    let dry_run = uri
        .query()
        .map(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap_or_default())
        .unwrap_or_default()
        .iter()
        .any(|(k, v)| k == "dry_run" && matches!(v.as_str(), "1" | "true" | "True" | "yes"));
    let key = idempotency_key(&headers)?;
    let group = cancel_group(&body)?;
    if dry_run {
        let ledger = cancellations::preview(&state.app, staff.id, id, group).await?;
        let c = ledger.cancellations().next().ok_or(ApiError::NotFound)?;
        return Ok(Json(CancelAnswer::Preview(Cancellation::from(&c))));
    }
    let done = cancellations::cancel_now(&state.app, staff.id, id, group, key).await?;
    Ok(Json(CancelAnswer::Done(OrderDetail::from(&done.order))))
}

/// The staff cancel body: `{"order_items": [pk, …], "cancellation_type"?, "reason"?,
/// "description"?}`.
fn cancel_group(body: &StaffCancel) -> ApiResult<CancelGroup> {
    let mut f = Fields::new(body);
    let kind = f.opt_str("cancellation_type", 16);
    let reason = f.opt_str("reason", 255).unwrap_or_default();
    let description = f.opt_str("description", 2000).unwrap_or_default();
    let kind = match kind.as_deref() {
        None => Some(CancellationType::Cancel),
        Some(k) => {
            let t = CancellationType::parse(k);
            if t.is_none() {
                f.error("cancellation_type", format!("\"{k}\" is not a valid choice."));
            }
            t
        }
    };
    let items = match body.get("order_items") {
        Some(Value::Array(a)) if a.is_empty() => {
            f.error("order_items", "This list may not be empty.");
            None
        }
        Some(Value::Array(a)) if a.len() > MAX_UNITS => {
            f.error("order_items", format!("Ensure this field has no more than {MAX_UNITS} elements."));
            None
        }
        Some(Value::Array(a)) => {
            let ids: Option<Vec<i64>> = a.iter().map(crate::http::wire::as_int).collect();
            if ids.is_none() {
                f.error("order_items", "A list of order item ids (integers) is required.");
            }
            ids
        }
        None => {
            f.error("order_items", "This field is required.");
            None
        }
        Some(_) => {
            f.error("order_items", "Expected a list of items.");
            None
        }
    };
    f.finish()?;
    Ok(CancelGroup { items: items.unwrap_or_default(), kind: kind.unwrap_or_default(), reason, description })
}
