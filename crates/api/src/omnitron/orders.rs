//! The staff order views and changes (`/api/v1/orders/…`, `order_item(s)`), and the order
//! detail shape the checkout answer shares.

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use offerline_app::ledger::{LedgerItem, OrderDetail, OrderRow, Parts};
use offerline_app::orders;
use offerline_core::status::OrderStatus;
use serde_json::{Value, json};

use crate::AppState;
use crate::http::auth::Staff;
use crate::http::cache::{cached, list_key};
use crate::http::error::{ApiError, ApiResult};
use crate::http::listing::{Filter, Kind, Listing, Spec};
use crate::http::path::PathId;
use crate::http::wire::{Fields, JsonObject, money, ts};

// ---------------------------------------------------------------------------------------
// Orders on the wire.

fn order_summary_json(o: &OrderRow) -> Value {
    let c = o.currency.as_str();
    json!({
        "pk": o.id, "number": o.number, "user": o.user_id, "status": o.status.to_string(),
        "amount": money(o.amount, c), "discount_amount": money(o.discount_amount, c),
        "currency": c, "created_date": ts(o.created_at), "modified_date": ts(o.modified_at),
    })
}

fn item_json(i: &LedgerItem<'_>) -> Value {
    let c = i.order().currency.as_str();
    json!({
        "pk": i.id, "id": i.id, "order": i.order_id, "product": i.product_id,
        "product_name": i.product_name, "product_sku": i.product_sku,
        "status": i.status.to_string(), "status_display": i.status.name(),
        "price": money(i.price, c), "retail_price": i.retail_price.map(|r| money(r, c)),
        "tax_rate": crate::http::wire::rate(i.tax_rate), "price_currency": c,
        "price_list": i.price_list_id, "stock_list": i.stock_list_id,
        "net_amount": money(i.net_amount, c), "discount_amount": money(i.discount_amount, c),
        "cancel_status": i.cancel_status, "line_key": i.line_key,
        "created_date": ts(i.created_at), "modified_date": ts(i.modified_at),
    })
}

/// The order detail: the staff view, the cancel answer and the checkout answer.
pub(crate) fn detail_json(d: &OrderDetail) -> Value {
    let order = d.order();
    let cur = order.currency.as_str();
    let mut o = order_summary_json(order.row());
    o["amount_without_discount"] = json!(money(order.amount_without_discount, cur));
    o["shipping_address"] = order.shipping_address.clone().unwrap_or(Value::Null);
    o["orderitem_set"] = order.items().map(|i| item_json(&i)).collect();
    o["discountitem_set"] = order
        .discounts()
        .map(|x| {
            json!({
                "pk": x.id, "order": x.order_id, "name": x.name, "amount": money(x.amount, cur),
                "cancel_amount": money(0, cur), "code": x.code, "offer_type": x.offer_type,
                "session_offer_type": x.session_offer_type, "promotion": x.promotion_id,
                "created_date": ts(x.created_at), "modified_date": ts(x.modified_at),
                "benefitapplicant_set": x.benefits().map(|b| json!({"order_item": b.order_item_id, "discount_share": money(b.discount_share, cur)})).collect::<Vec<_>>(),
                "conditionapplicant_set": x.conditions().map(|c| json!({"order_item": c.order_item_id})).collect::<Vec<_>>(),
            })
        })
        .collect();
    o
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
        listing.envelope(count, ledger.orders().map(|o| order_summary_json(o.row())).collect())
    })
    .await
}

pub(super) async fn order_detail(
    _: Staff,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<Value>> {
    Ok(Json(detail_json(&orders::detail(&state.app, id).await?)))
}

pub(super) async fn item_status(
    _: Staff,
    State(state): State<AppState>,
    PathId(id): PathId,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let mut f = Fields::new(&body);
    let status = f.req_str("status", 8);
    f.finish()?;
    let status =
        OrderStatus::parse(&status.unwrap_or_default()).map_err(|e| ApiError::field("status", e.to_string()))?;
    let ledger = orders::set_item_status(&state.app, id, status).await?;
    let item = ledger.items().next().ok_or(ApiError::NotFound)?;
    Ok(Json(item_json(&item)))
}

pub(super) async fn cancel_order(
    _: Staff,
    State(state): State<AppState>,
    PathId(id): PathId,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let mut f = Fields::new(&body);
    let cancel_status = f.opt_str("cancel_status", 16);
    if let Some(c) = &cancel_status
        && !matches!(c.as_str(), "waiting" | "rejected" | "completed")
    {
        f.error("cancel_status", format!("\"{c}\" is not a valid choice."));
    }
    let items: Option<Vec<i64>> = match body.get("order_items") {
        Some(Value::Array(a)) if !a.is_empty() => a.iter().map(crate::http::wire::as_int).collect(),
        _ => None,
    };
    if items.is_none() {
        f.error("order_items", "A non-empty list of order item ids is required.");
    }
    f.finish()?;
    let detail = orders::cancel_items(&state.app, id, &items.unwrap_or_default(), cancel_status.as_deref()).await?;
    Ok(Json(detail_json(&detail)))
}
