//! Omnitron's detailed views of the order ledger (staff): discount items
//! (`/discount_items/detailed_integration/`, seed 000) and order items
//! (`/order_item/detailed_integration/`, seed 002), lists and single objects, under both
//! `/api/v1/` and `/api/i1/`.
//!
//! Shapes follow the seeds key for key. Fields Akinon has and offerline does not hold
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
use offerline_app::ledger::{self, BenefitApplicantRow, LedgerDiscount, LedgerFilter, LedgerItem, Parts, Roots};
use offerline_core::status::OrderStatus;
use serde_json::{Value, json};

use crate::AppState;
use crate::http::auth::Staff;
use crate::http::cache::{cached, list_key, object_key};
use crate::http::error::{ApiError, ApiResult};
use crate::http::listing::{Filter, Kind, Listing, Spec};
use crate::http::path::PathId;
use crate::http::wire::{money, rate, ts};
use crate::omnitron::catalog::{price_list_json, product_json, stock_list_json};

/// Django's content-type id of the order item model in the seed's `mapping` entries.
pub const ORDER_ITEM_CONTENT_TYPE: i64 = 44;

/// `?order__number=` / `?order_number=` (each of `params` given): the rows of the order
/// with that number.
pub fn order_number_filter(listing: &Listing, params: &[&str]) -> LedgerFilter {
    LedgerFilter {
        order_numbers: params.iter().filter_map(|p| listing.get(p)).map(str::to_owned).collect(),
        ..LedgerFilter::default()
    }
}

pub fn benefit_json(b: &BenefitApplicantRow, currency: &str) -> Value {
    json!({
        "id": b.id,
        "created_date": ts(b.created_at),
        "modified_date": ts(b.modified_at),
        "discount_share": money(b.discount_share, currency),
        "discount_item": b.discount_item_id,
        "order_item": b.order_item_id,
    })
}

/// Seed 000's discount item.
pub fn discount_item_json(d: &LedgerDiscount<'_>) -> Value {
    let c = d.order().currency.as_str();
    json!({
        "pk": d.id,
        "name": d.name,
        "amount": money(d.amount, c),
        "cancel_amount": money(d.cancel_amount, c),
        "order": d.order_id,
        "offer_type": d.offer_type,
        "session_offer_type": d.session_offer_type,
        "code": d.code,
        "modified_date": ts(d.modified_at),
        "promotion": d.promotion().map(|p| json!({
            "id": p.id,
            "created_date": ts(p.created_at),
            "modified_date": ts(p.modified_at),
            "name": p.name,
            "slug": p.slug,
        })),
        "created_date": ts(d.created_at),
        "benefitapplicant_set": d.benefits().map(|b| benefit_json(b, c)).collect::<Vec<_>>(),
        "conditionapplicant_set": d.conditions().map(|c| json!({
            "id": c.id,
            "created_date": ts(c.created_at),
            "modified_date": ts(c.modified_at),
            "order_item": c.order_item_id,
            "discount_item": c.discount_item_id,
        })).collect::<Vec<_>>(),
    })
}

/// `status_display`: the Akinon snake-case name of a status.
pub fn status_name(status: OrderStatus) -> Value {
    Value::String(status.name().to_owned())
}

/// Seed 002's order item.
pub fn order_item_json(i: &LedgerItem<'_>) -> Value {
    let c = i.order().currency.as_str();
    json!({
        "pk": i.id,
        "order": i.order_id,
        "product": i.product().map_or(Value::Null, product_json),
        "status": i.status.to_string(),
        "price_currency": c,
        "price": money(i.price, c),
        "tax_rate": rate(i.tax_rate),
        "extra_field": {},
        "price_list": i.price_list().map_or(Value::Null, price_list_json),
        "stock_list": i.stock_list().map_or(Value::Null, stock_list_json),
        "invoice_number": i.invoice_number,
        "invoice_date": null,
        "e_archive_url": null,
        "cancel_status": i.cancel_status,
        "status_display": status_name(i.status),
        "installment_interest_amount": money(i.installment_interest_amount, c),
        "net_amount": money(i.net_amount, c),
        "tracking_number": i.tracking_number,
        "shipping_company": i.shipping_company,
        "discount_amount": money(i.discount_amount, c),
        "shipment_code": null,
        "benefitapplicant_set": i.benefits().map(|b| benefit_json(b, c)).collect::<Vec<_>>(),
        "external_status": i.external_status,
        "retail_price": i.retail_price.map(|r| money(r, c)),
        "attributes": {},
        "attributes_kwargs": {},
        "tracking_url": null,
        "image": null,
        "parent": null,
        "data_source": null,
        "estimated_delivery_date": null,
        "datasource": null,
        "mapping": [{
            "pk": i.id,
            "content_type": ORDER_ITEM_CONTENT_TYPE,
            "object_id": i.id,
            "integration_type": "external_company",
            "code": i.mapping_code,
            "modified_date": ts(i.modified_at),
            "created_date": ts(i.created_at),
        }],
    })
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
        listing.envelope(count, ledger.discounts().map(|d| discount_item_json(&d)).collect())
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
        Ok(discount_item_json(&d))
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
        listing.envelope(count, ledger.items().map(|i| order_item_json(&i)).collect())
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
        Ok(order_item_json(&item))
    })
    .await
}
