//! Commerce account views (customer, by `Authorization: Token` or the `osessionid` cookie),
//! seed 001: `/account/basket-offers/` (open offers assigned to me, not paginated),
//! `/account/future-basket-offers/`, `/account/expired-basket-offers/` and
//! `/account/discount-items/` (the discounts on my orders).
//!
//! "Assigned to me" means coupon and coupon-code offers listing me as a customer, and
//! voucher codes assigned to me (`voucher_customers`); site offers apply to everyone and are
//! not listed, as the contract says. The `x-currency` header (the storefront sends it)
//! keeps only offers in that currency. A customer only ever sees their own rows.
//!
//! Queries per request: offers 1 (open) or 2 (count + page); discount items 4 (count, ids,
//! then the ledger loader's discount rows and their orders); plus the credential lookup.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use offerline_app::identity::User;
use offerline_app::ledger::{self, CustomerOffer, LedgerFilter, OfferWindow, Parts};
use offerline_core::Currency;
use serde_json::{Value, json};

use crate::AppState;
use crate::http::auth::Customer;
use crate::http::error::{ApiError, ApiResult};
use crate::http::listing::{Listing, Spec};
use crate::http::wire::{money, ts, ts_opt};

/// `{value, label}` of a currency as the storefront shows it (`try` is "TL").
pub fn currency_json(code: &str) -> Value {
    let label = match code {
        "try" => "TL".to_owned(),
        other => other.to_ascii_uppercase(),
    };
    json!({ "value": code, "label": label })
}

/// A decimal given as a JSON string or number (`"500.00"`, `3`, `"50"`) as a JSON number:
/// an integer when it is whole (`50`, as the seed shows), else a float (`12.5`).
fn number(v: Option<&Value>) -> Value {
    let f = match v {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match f {
        Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9e15 => json!(f as i64),
        Some(f) if f.is_finite() => json!(f),
        _ => Value::Null,
    }
}

fn offer_type_json(t: &str) -> Value {
    let label = match t {
        "coupon" => "Coupon",
        "coupon_code" => "Coupon Code",
        "voucher_code" => "Voucher Code",
        "site" => "Site",
        other => other,
    };
    json!({ "value": t, "label": label })
}

/// Seed 001's offer item, from a promotion's definition:
/// - `benefit_type`: `percentage`, `shipping_free`, or `fixed` for every amount-based benefit
///   (`fixed`, `fixed_per_unit`, `fixed_price`, `multibuy`);
/// - `amount`: the fixed amount off for `fixed`/`fixed_per_unit`, else 0 (a `fixed_price` value
///   is a price, not a discount, and a multibuy's discount depends on the basket);
/// - `percentage`: the percentage for `percentage` benefits, else null;
/// - `condition`: `{"type": "Amount"|"Count"|"Coverage"|null, "value": number|null}`.
pub fn offer_json(o: &CustomerOffer) -> Value {
    let def: Value = serde_json::from_str(&o.definition).unwrap_or(Value::Null);
    let benefit = def.get("benefit");
    let btype = benefit.and_then(|b| b.get("type")).and_then(Value::as_str).unwrap_or("");
    let bvalue = benefit.and_then(|b| b.get("value"));
    let (benefit_type, amount, percentage) = match btype {
        "percentage" => (json!({"value": "percentage", "label": "Percentage"}), json!(0), number(bvalue)),
        "shipping_free" => (json!({"value": "shipping_free", "label": "Shipping Free"}), json!(0), Value::Null),
        "fixed" | "fixed_per_unit" => {
            let a = number(bvalue);
            (json!({"value": "fixed", "label": "Fixed"}), if a.is_null() { json!(0) } else { a }, Value::Null)
        }
        _ => (json!({"value": "fixed", "label": "Fixed"}), json!(0), Value::Null),
    };
    let cond = def.get("condition");
    let ctype = match cond.and_then(|c| c.get("type")).and_then(Value::as_str) {
        Some("amount") => json!("Amount"),
        Some("count") => json!("Count"),
        Some("coverage") => json!("Coverage"),
        _ => Value::Null,
    };
    let cvalue = if ctype.is_null() { Value::Null } else { number(cond.and_then(|c| c.get("value"))) };
    let label = if o.label.trim().is_empty() { o.name.clone() } else { o.label.clone() };
    json!({
        "label": label,
        "amount": amount,
        "percentage": percentage,
        "end_datetime": ts_opt(o.end_at),
        "start_datetime": ts_opt(o.start_at),
        "currency": currency_json(&o.currency),
        "voucher_code": o.code,
        "offer_type": offer_type_json(&o.offer_type),
        "condition": {"type": ctype, "value": cvalue},
        "benefit_type": benefit_type,
    })
}

/// The session currency from `x-currency`; an unknown code is a 400.
fn session_currency(headers: &HeaderMap) -> ApiResult<Option<String>> {
    match headers.get("x-currency").and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(c) => Currency::parse(c)
            .map(|c| Some(c.as_str().to_owned()))
            .map_err(|_| ApiError::field("currency", format!("\"{c}\" is not a valid choice."))),
    }
}

pub(super) async fn basket_offers(
    Customer(u): Customer,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let currency = session_currency(&headers)?;
    let (_, offers) = ledger::customer_offers(&state.app, u.id, currency.as_deref(), OfferWindow::Open, 0, 0).await?;
    let all: Vec<Value> = offers.iter().map(offer_json).collect();
    let discounts: Vec<Value> = all.iter().filter(|o| o["benefit_type"]["value"] == "fixed").cloned().collect();
    // Sum in minor units so 0.1 + 0.2 stays 0.3.
    let total_minor: i64 = discounts.iter().map(|d| (d["amount"].as_f64().unwrap_or(0.0) * 100.0).round() as i64).sum();
    let total = if total_minor % 100 == 0 { json!(total_minor / 100) } else { json!(total_minor as f64 / 100.0) };
    Ok(Json(json!({ "discounts": discounts, "total_discount": total, "all_discounts": all })))
}

async fn window_offers(
    u: &User,
    state: &AppState,
    headers: &HeaderMap,
    listing: &Listing,
    window: OfferWindow,
) -> ApiResult<Value> {
    let currency = session_currency(headers)?;
    let offset = (listing.page - 1).saturating_mul(listing.limit);
    let (count, offers) =
        ledger::customer_offers(&state.app, u.id, currency.as_deref(), window, listing.limit, offset).await?;
    listing.envelope(count, offers.iter().map(offer_json).collect())
}

pub(super) async fn future_offers(
    Customer(u): Customer,
    State(state): State<AppState>,
    headers: HeaderMap,
    listing: Listing,
) -> ApiResult<Json<Value>> {
    Ok(Json(window_offers(&u, &state, &headers, &listing, OfferWindow::Future).await?))
}

pub(super) async fn expired_offers(
    Customer(u): Customer,
    State(state): State<AppState>,
    headers: HeaderMap,
    listing: Listing,
) -> ApiResult<Json<Value>> {
    Ok(Json(window_offers(&u, &state, &headers, &listing, OfferWindow::Expired).await?))
}

/// My discount items, newest first. `sort` and the common filters apply; the order filter
/// is always "my orders" (`orders (user_id, id)` index).
pub(super) async fn discount_items(
    Customer(u): Customer,
    State(state): State<AppState>,
    listing: Listing,
) -> ApiResult<Json<Value>> {
    const SPEC: Spec = Spec { filters: &[], sorts: &[], default_sort: ("created_at", true) };
    let q = listing.query(&SPEC)?;
    let mine = LedgerFilter { customer: Some(u.id), ..LedgerFilter::default() };
    let (count, ledger) = ledger::discount_items(&state.app, &q, &mine, Parts::NONE).await?;
    let results = ledger
        .discounts()
        .map(|d| {
            let c = d.order().currency.as_str();
            json!({
                "amount": money(d.amount, c),
                "created_date": ts(d.created_at),
                "currency": currency_json(c),
                "name": d.name,
                "order_number": d.order().number,
            })
        })
        .collect();
    Ok(Json(listing.envelope(count, results)?))
}
