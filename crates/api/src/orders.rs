//! The staff order views and changes (`/api/v1/orders/…`, `order_item(s)`), and the order
//! detail shape the checkout answer shares.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::{get, patch, post};
use offerline_core::status::OrderStatus;
use offerline_store::orders::{Order, OrderDetail, OrderItem};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Staff;
use crate::cache::{cached, list_key};
use crate::docs::{Auth, Routes};
use crate::error::{ApiError, ApiResult};
use crate::listing::{Filter, Kind, Listing, Spec};
use crate::wire::{Fields, JsonObject, money, ts};

// ---------------------------------------------------------------------------------------
// Orders on the wire.

fn status_str(s: i64) -> String {
    s.to_string()
}

fn order_summary_json(o: &Order) -> Value {
    json!({
        "pk": o.id, "number": o.number, "user": o.user_id, "status": status_str(o.status),
        "amount": money(o.amount, &o.currency), "discount_amount": money(o.discount_amount, &o.currency),
        "currency": o.currency, "created_date": ts(o.created_at), "modified_date": ts(o.modified_at),
    })
}

fn item_json(i: &OrderItem, currency: &str) -> Value {
    let status = OrderStatus::from_code(i.status).map(|s| s.name()).unwrap_or("");
    json!({
        "pk": i.id, "id": i.id, "order": i.order_id, "product": i.product_id,
        "product_name": i.product_name, "product_sku": i.product_sku,
        "status": status_str(i.status), "status_display": status,
        "price": money(i.price, currency), "retail_price": i.retail_price.map(|r| money(r, currency)),
        "tax_rate": crate::wire::rate(i.tax_rate), "price_currency": currency,
        "price_list": i.price_list_id, "stock_list": i.stock_list_id,
        "net_amount": money(i.net_amount, currency), "discount_amount": money(i.discount_amount, currency),
        "cancel_status": i.cancel_status, "line_key": i.line_key,
        "created_date": ts(i.created_at), "modified_date": ts(i.modified_at),
    })
}

pub(crate) fn detail_json(d: &OrderDetail) -> Value {
    let cur = d.order.currency.as_str();
    let mut o = order_summary_json(&d.order);
    o["amount_without_discount"] = json!(money(d.order.amount_without_discount, cur));
    o["shipping_address"] = d.order.shipping_address.clone().unwrap_or(Value::Null);
    o["orderitem_set"] = d.items.iter().map(|i| item_json(i, cur)).collect();
    o["discountitem_set"] = d
        .discounts
        .iter()
        .map(|x| {
            json!({
                "pk": x.id, "order": x.order_id, "name": x.name, "amount": money(x.amount, cur),
                "cancel_amount": money(0, cur), "code": x.code, "offer_type": x.offer_type,
                "session_offer_type": x.session_offer_type, "promotion": x.promotion_id,
                "created_date": ts(x.created_at), "modified_date": ts(x.modified_at),
                "benefitapplicant_set": x.shares.iter().map(|(item, s)| json!({"order_item": item, "discount_share": money(*s, cur)})).collect::<Vec<_>>(),
                "conditionapplicant_set": x.condition_items.iter().map(|item| json!({"order_item": item})).collect::<Vec<_>>(),
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
async fn list_orders(_: Staff, State(state): State<AppState>, uri: Uri, listing: Listing) -> ApiResult<Response> {
    cached(&state, list_key(&listing, &uri), async {
        let (count, orders) = state.store.list_orders(&listing.query(&ORDER_SPEC)?).await?;
        listing.envelope(count, orders.iter().map(order_summary_json).collect())
    })
    .await
}

fn pk(s: &str) -> ApiResult<i64> {
    s.parse::<i64>().map_err(|_| ApiError::NotFound)
}

async fn order_detail(_: Staff, State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(detail_json(&state.store.order_detail(pk(&id)?).await?)))
}

async fn item_status(
    _: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let id = pk(&id)?;
    let mut f = Fields::new(&body);
    let status = f.req_str("status", 8);
    f.finish()?;
    let status =
        OrderStatus::parse(&status.unwrap_or_default()).map_err(|e| ApiError::field("status", e.to_string()))?;
    let item = state.store.set_order_item_status(id, i64::from(status.code())).await?;
    let order = state.store.order_detail(item.order_id).await?;
    Ok(Json(item_json(&item, &order.order.currency)))
}

async fn cancel_order(
    _: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let id = pk(&id)?;
    let mut f = Fields::new(&body);
    let cancel_status = f.opt_str("cancel_status", 16);
    if let Some(c) = &cancel_status
        && !matches!(c.as_str(), "waiting" | "rejected" | "completed")
    {
        f.error("cancel_status", format!("\"{c}\" is not a valid choice."));
    }
    let items: Option<Vec<i64>> = match body.get("order_items") {
        Some(Value::Array(a)) if !a.is_empty() => a.iter().map(crate::wire::as_int).collect(),
        _ => None,
    };
    if items.is_none() {
        f.error("order_items", "A non-empty list of order item ids is required.");
    }
    f.finish()?;
    state.store.cancel_order_items(id, &items.unwrap_or_default(), cancel_status.as_deref()).await?;
    Ok(Json(detail_json(&state.store.order_detail(id).await?)))
}

pub fn routes() -> Routes {
    Routes::new("orders", Auth::Staff)
        .omnitron("/orders/", get(list_orders), &[("get", "List orders")])
        .omnitron(
            "/orders_integration/{pk}/detailed_integration/",
            get(order_detail),
            &[("get", "An order with its items and discount items")],
        )
        .omnitron("/order_item/{pk}/", patch(item_status), &[("patch", "Change an order item's status")])
        .omnitron("/order_items/{pk}/update_status/", post(item_status), &[("post", "Change an order item's status")])
        .omnitron("/orders/{pk}/cancel/", post(cancel_order), &[("post", "Cancel order items")])
}
