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
use offerline_app::catalog::{PriceList, Product, StockList};
use offerline_app::ledger::{self, LedgerItem, Parts, Roots};
use offerline_app::list::Op;
use offerline_core::status::OrderStatus;
use offerline_core::tax_included;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::http::auth::Staff;
use crate::http::cache::{cached, list_key, object_key};
use crate::http::error::{ApiError, ApiResult};
use crate::http::listing::Listing;
use crate::http::path::PathId;
use crate::http::wire::{money, rate, ts};
use crate::omnitron::ledger::{ORDER_ITEM_SPEC, order_number_filter};

/// When the OMS states "were created": a fixed instant (2021-06-30T14:43:26Z).
const STATE_CREATED: i64 = 1_625_064_206_000_000;
/// Django's content-type id OMS shows on a state object.
const STATE_CONTENT_TYPE: i64 = 1;

/// The OMS `state` object of a status.
pub fn state_json(s: OrderStatus) -> Value {
    json!({
        "id": s.state_id(),
        "created_date": ts(STATE_CREATED),
        "modified_date": ts(STATE_CREATED),
        "translations": {
            "en-us": {"name": s.label_en()},
            "tr-tr": {"name": s.label_tr()},
        },
        "name": s.label_en(),
        "config": {},
        "enum_class": "OrderStatus",
        "enum_value": s.code().to_string(),
        "content_type": STATE_CONTENT_TYPE,
    })
}

/// The OMS product object.
pub fn oms_product_json(p: &Product) -> Value {
    json!({
        "id": p.id,
        "productimage_set": p.images.iter().map(|i| json!({
            "order": i.position,
            "id": i.id,
            "url": i.image,
            "product": p.id,
        })).collect::<Vec<_>>(),
        "created_date": ts(p.created_at),
        "modified_date": ts(p.modified_at),
        "omnitron_id": p.id,
        "name": p.name,
        "base_code": p.base_code,
        "sku": p.sku,
        "barcode": p.barcode,
        "attributes": p.attributes,
        "attributes_kwargs": p.attributes_kwargs,
        "extra_attributes": p.extra_attributes,
        "remote_modified_date": ts(p.modified_at),
    })
}

fn price_list_json(l: &PriceList) -> Value {
    list_json(l.id, &l.name, &l.code, l.created_at, l.is_auto_sync, l.modified_at)
}

fn stock_list_json(l: &StockList) -> Value {
    list_json(l.id, &l.name, &l.code, l.created_at, l.is_auto_sync, l.modified_at)
}

fn list_json(pk: i64, name: &str, code: &Option<String>, created: i64, auto: bool, modified: i64) -> Value {
    json!({
        "pk": pk, "code": code, "name": name, "created_date": ts(created),
        "is_auto_sync": auto, "modified_date": ts(modified),
    })
}

/// The fields common to the detailed and the simple shapes, in seed order.
fn common(i: &LedgerItem<'_>) -> Map<String, Value> {
    let c = i.order().currency.as_str();
    let v = json!({
        "created_date": ts(i.created_at),
        "modified_date": ts(i.modified_at),
        "omnitron_id": i.id,
        "net_amount": money(i.net_amount, c),
        "price": money(i.price, c),
        "price_currency": c,
        "retail_price": i.retail_price.map(|r| money(r, c)),
        "tax_rate": rate(i.tax_rate),
        "tax_amount": money(tax_included(i.net_amount, i.tax_rate), c),
        "discount_amount": money(i.discount_amount, c),
        "without_net_amount": money(i.net_amount - tax_included(i.net_amount, i.tax_rate), c),
        "installment_interest_amount": money(i.installment_interest_amount, c),
        "attributes": {},
        "attributes_kwargs": {},
        "image": null,
        "price_list": i.price_list().map_or(Value::Null, price_list_json),
        "stock_list": i.stock_list().map_or(Value::Null, stock_list_json),
        "extra_field": {"price_extra_field": {}, "stock_extra_field": {}},
        "parent_omnitron_id": null,
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Seed 003's detailed order item.
pub fn detailed_json(i: &LedgerItem<'_>) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(i.id));
    m.insert("state".into(), state_json(i.status));
    m.insert("product".into(), i.product().map_or(Value::Null, oms_product_json));
    m.extend(common(i));
    m.insert("order".into(), json!(i.order_id));
    Value::Object(m)
}

/// Seed 003's simple order item (`state`, `order`, `product` as ids).
pub fn simple_json(i: &LedgerItem<'_>) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(i.id));
    m.extend(common(i));
    m.insert("state".into(), json!(i.status.state_id()));
    m.insert("order".into(), json!(i.order_id));
    m.insert("product".into(), json!(i.product_id));
    Value::Object(m)
}

/// Runs the list with the OMS filters: `order_number`, `order`, `status` (code) and
/// `state` (state id), plus the common ones.
async fn list(state: &AppState, listing: &Listing, simple: bool) -> ApiResult<Value> {
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
    let render = if simple { simple_json } else { detailed_json };
    listing.envelope(count, ledger.items().map(|i| render(&i)).collect())
}

pub(super) async fn list_detailed(
    _: Staff,
    State(state): State<AppState>,
    uri: Uri,
    listing: Listing,
) -> ApiResult<Response> {
    cached(&state, list_key(&listing, &uri), list(&state, &listing, false)).await
}

pub(super) async fn list_simple(
    _: Staff,
    State(state): State<AppState>,
    uri: Uri,
    listing: Listing,
) -> ApiResult<Response> {
    cached(&state, list_key(&listing, &uri), list(&state, &listing, true)).await
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
        Ok(detailed_json(&item))
    })
    .await
}
