//! The customer's orders and their cancellation requests (contract §8): `GET /users/orders/`
//! (newest first, paginated) and `GET /users/orders/{pk}/`, each order with
//! `orderitem_set`, `discountitem_set` (with `cancel_amount`) and `cancellation_set`, in the
//! order detail shape the checkout answers with; `POST /orders/{pk}/cancel/` asks to cancel
//! or return units, for staff to approve. Another customer's order is 404.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use offerline_app::cancellations::{self, CancelGroup, CancellationType, MAX_UNITS};
use serde::Serialize;
use serde_json::Value;

use crate::AppState;
use crate::commerce::wire::{CancelRequest, CancelUnit};
use crate::http::auth::Customer;
use crate::http::error::{ApiError, ApiResult};
use crate::http::listing::{Listing, Page, Spec};
use crate::http::path::PathId;
use crate::http::wire::{Body, Fieldset, as_int, typed};
use crate::omnitron::wire::{Cancellation, OrderDetail};

pub(super) async fn list(
    Customer(u): Customer,
    State(state): State<AppState>,
    listing: Listing,
) -> ApiResult<Json<Page<OrderDetail>>> {
    const SPEC: Spec = Spec { filters: &[], sorts: &[], default_sort: ("id", true) };
    let (count, ledger) = cancellations::customer_orders(&state.app, u.id, &listing.query(&SPEC)?).await?;
    Ok(Json(listing.page(count, ledger.orders().map(|o| OrderDetail::from(&o)))?))
}

pub(super) async fn detail(
    Customer(u): Customer,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<OrderDetail>> {
    Ok(Json(OrderDetail::from(&cancellations::customer_order(&state.app, u.id, id).await?)))
}

/// `{"cancel_order_items": [{"order_item": pk, "reason": "…", "cancellation_type": "cancel" |
/// "refund", "description"?: "…"}, …]}`: the items of one type become one cancellation
/// (reasons and descriptions joined). 201 with the cancellation, or with a list of two when
/// the request mixes both types.
pub(super) async fn request_cancel(
    Customer(u): Customer,
    State(state): State<AppState>,
    PathId(id): PathId,
    Body(body): Body<CancelRequest>,
) -> ApiResult<(StatusCode, Json<Requested>)> {
    let groups = cancel_groups(body)?;
    let ledger = cancellations::request(&state.app, u.id, id, groups).await?;
    let mut created: Vec<Cancellation> = ledger.cancellations().map(|c| Cancellation::from(&c)).collect();
    let body = if created.len() == 1 { Requested::One(Box::new(created.remove(0))) } else { Requested::Both(created) };
    Ok((StatusCode::CREATED, Json(body)))
}

/// The answer of a cancellation request: the one cancellation, or a list of both when the
/// request mixed cancels and refunds.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Requested {
    One(Box<Cancellation>),
    Both(Vec<Cancellation>),
}

fn cancel_groups(body: CancelRequest) -> ApiResult<Vec<CancelGroup>> {
    let entries = match body.cancel_order_items {
        Some(Value::Array(a)) if a.is_empty() => {
            return Err(ApiError::field("cancel_order_items", "This list may not be empty."));
        }
        Some(Value::Array(a)) if a.len() > MAX_UNITS => {
            return Err(ApiError::field(
                "cancel_order_items",
                format!("Ensure this field has no more than {MAX_UNITS} elements."),
            ));
        }
        Some(Value::Array(a)) => a,
        None => return Err(ApiError::field("cancel_order_items", "This field is required.")),
        Some(_) => return Err(ApiError::field("cancel_order_items", "Expected a list of items.")),
    };
    let mut groups: Vec<CancelGroup> = Vec::new();
    for (i, e) in entries.into_iter().enumerate() {
        let bad = |m: &str| ApiError::field(&format!("cancel_order_items[{i}]"), m.to_owned());
        let Value::Object(e) = e else { return Err(bad("Expected a dictionary of items.")) };
        let e: CancelUnit = typed(e)?;
        let item =
            e.get("order_item").and_then(as_int).ok_or_else(|| bad("order_item: A valid integer is required."))?;
        let kind = match e.get("cancellation_type") {
            None | Some(Value::Null) => CancellationType::Cancel,
            Some(v) => v
                .as_str()
                .and_then(CancellationType::parse)
                .ok_or_else(|| bad("cancellation_type: Choose \"cancel\" or \"refund\"."))?,
        };
        let text = |key: &str, max: usize| -> ApiResult<String> {
            match e.get(key) {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) if s.chars().count() <= max => Ok(s.trim().to_owned()),
                Some(Value::String(_)) => {
                    Err(bad(&format!("{key}: Ensure this field has no more than {max} characters.")))
                }
                Some(_) => Err(bad(&format!("{key}: Not a valid string."))),
            }
        };
        let (reason, description) = (text("reason", 255)?, text("description", 2000)?);
        match groups.iter_mut().find(|g| g.kind == kind) {
            Some(g) => {
                g.items.push(item);
                join(&mut g.reason, &reason);
                join(&mut g.description, &description);
            }
            None => groups.push(CancelGroup { items: vec![item], kind, reason, description }),
        }
    }
    Ok(groups)
}

/// Adds `more` to `text` unless it is empty or already there.
fn join(text: &mut String, more: &str) {
    if more.is_empty() || text.split("; ").any(|t| t == more) {
        return;
    }
    if !text.is_empty() {
        text.push_str("; ");
    }
    text.push_str(more);
}
