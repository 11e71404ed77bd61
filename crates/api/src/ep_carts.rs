//! Elastic Path carts: `/v2/carts…` (carts and custom items), `/v2/settings/cart`, and the
//! wire pieces the other `ep_*` modules share (money with `formatted`, timestamps, body
//! reading, the cart's totals, and the cart as the core's custom-discount allocation reads
//! it).
//!
//! Custom discounts live in [`crate::ep_discounts`], checkout and orders in
//! [`crate::ep_orders`]. Every route needs a Bearer access token ([`Client`]).
//!
//! Decisions where Elastic Path's documents are silent:
//! - custom discounts are disabled by default (store setting), as on a new EP store; a cart's
//!   own `discount_settings.custom_discounts_enabled` overrides the store setting;
//! - a custom item needs a `sku` (offerline merges lines and finds the catalogue product by
//!   it); quantities are 1..=[`MAX_LINE_QUANTITY`] per line (one ledger order item per unit);
//! - tax is always 0 (no tax items), so `with_tax` = `without_tax`;
//! - a cart item's `meta.display_price.discount` holds its item-level discounts plus its
//!   share of the cart-level ones, spread by the ledger's rule
//!   ([`offerline_core::spread_custom`], the same shares checkout writes); the unit figure is
//!   the value divided by the quantity, truncated.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use offerline_app::carts::{DEFAULT_CURRENCY, cart_currency, custom_cart};
use offerline_core::{Currency, spread_custom};
use offerline_store::StoreError;
use offerline_store::ep::{EpCart, EpDiscount, EpItem, NewEpItem};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::docs::{Auth, Routes};
use crate::elasticpath::{Client, EpError, EpResult};

/// The most units one cart line may hold.
pub const MAX_LINE_QUANTITY: i64 = 1000;
/// Carts expire this many days after their last change (Elastic Path's default).
pub const CART_EXPIRY_DAYS: i64 = 7;
/// Longest cart reference accepted.
const MAX_REF_LEN: usize = 128;

// ---------------------------------------------------------------------------------------
// Wire helpers shared by the ep_* modules.

/// `"$85.00"`, `"-$15.00"`, `"€1,234.50"`; currencies without a known symbol are written
/// `"CHF 12.00"`. Thousands are grouped with commas.
pub fn formatted(minor: i64, currency: &str) -> String {
    let digits = Currency::parse(currency).map_or(2, |c| c.minor_digits()) as usize;
    let abs = minor.unsigned_abs().to_string();
    let padded = if abs.len() <= digits { format!("{}{abs}", "0".repeat(digits + 1 - abs.len())) } else { abs };
    let (int, frac) = padded.split_at(padded.len() - digits);
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let number = if digits == 0 { grouped } else { format!("{grouped}.{frac}") };
    let sign = if minor < 0 { "-" } else { "" };
    let code = currency.to_ascii_uppercase();
    match code.as_str() {
        "USD" => format!("{sign}${number}"),
        "EUR" => format!("{sign}€{number}"),
        "GBP" => format!("{sign}£{number}"),
        "TRY" => format!("{sign}₺{number}"),
        _ => format!("{sign}{code} {number}"),
    }
}

/// `{amount, currency, formatted}`.
pub fn money(minor: i64, currency: &str) -> Value {
    json!({ "amount": minor, "currency": currency.to_ascii_uppercase(), "formatted": formatted(minor, currency) })
}

/// `"2023-04-19T23:08:57Z"` (seconds, as Elastic Path writes them).
pub fn ep_ts(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map_or_else(String::new, |d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// Reads a JSON object body; an empty body (sent with `Content-Type: application/json` on
/// GET and DELETE) is `{}`.
pub fn body_object(bytes: &[u8]) -> EpResult<Map<String, Value>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) if m.iter().any(|(k, v)| k.contains('\0') || crate::wire::contains_nul(v)) => {
            Err(EpError::bad_request("Null characters are not allowed in the request body."))
        }
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(EpError::bad_request("The request body must be a JSON object.")),
        Err(e) => Err(EpError::bad_request(format!("The request body is not valid JSON: {e}"))),
    }
}

/// The `data` member of a body, which must be an object.
pub fn data_object(body: &Map<String, Value>) -> EpResult<&Map<String, Value>> {
    match body.get("data") {
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(EpError::bad_request("data must be an object.")),
        None => Err(EpError::bad_request("data is required.")),
    }
}

/// `include=items,custom_discounts` (comma-joined, any case).
pub fn includes(raw: Option<&str>) -> Vec<String> {
    let pairs: Vec<(String, String)> = raw.and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default();
    pairs
        .into_iter()
        .filter(|(k, _)| k == "include")
        .flat_map(|(_, v)| v.split(',').map(|s| s.trim().to_ascii_lowercase()).collect::<Vec<_>>())
        .filter(|s| !s.is_empty())
        .collect()
}

pub fn opt_bool(obj: &Map<String, Value>, key: &str) -> EpResult<Option<bool>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(EpError::bad_request(format!("{key} must be a boolean."))),
    }
}

pub fn opt_string(obj: &Map<String, Value>, key: &str, max: usize) -> EpResult<Option<String>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(EpError::bad_request(format!("{key} must be at most {max} characters."))),
        Some(_) => Err(EpError::bad_request(format!("{key} must be a string."))),
    }
}

pub fn req_string(obj: &Map<String, Value>, key: &str, max: usize) -> EpResult<String> {
    opt_string(obj, key, max)?.ok_or_else(|| EpError::bad_request(format!("{key} is required.")))
}

pub fn opt_int(obj: &Map<String, Value>, key: &str) -> EpResult<Option<i64>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            n.as_i64().map(Some).ok_or_else(|| EpError::bad_request(format!("{key} must be an integer.")))
        }
        Some(_) => Err(EpError::bad_request(format!("{key} must be an integer."))),
    }
}

pub fn check_ref(r: &str) -> EpResult<()> {
    if r.is_empty() || r.len() > MAX_REF_LEN || !r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(EpError::bad_request(format!(
            "A reference must be 1 to {MAX_REF_LEN} letters, digits, '-' or '_'."
        )));
    }
    Ok(())
}

/// A cart that must exist (only `GET /v2/carts/{ref}` creates one).
pub async fn existing_cart(state: &AppState, id: &str) -> EpResult<EpCart> {
    state.store.ep_cart(id).await?.ok_or_else(|| EpError::not_found(format!("Cart {id} does not exist.")))
}

/// The store setting for custom discounts (default disabled).
pub async fn store_custom_discounts_enabled(state: &AppState) -> EpResult<bool> {
    Ok(state.store.ep_setting("custom_discounts_enabled").await?.as_deref() == Some("true"))
}

async fn store_rule_promotions(state: &AppState) -> EpResult<bool> {
    Ok(state.store.ep_setting("use_rule_promotions").await?.as_deref() == Some("true"))
}

/// Custom discounts are allowed on this cart: its own setting, else the store's.
pub async fn custom_discounts_enabled(state: &AppState, cart: &EpCart) -> EpResult<bool> {
    match cart.custom_discounts_enabled {
        Some(b) => Ok(b),
        None => store_custom_discounts_enabled(state).await,
    }
}

/// The exclusive bound, in minor units of `currency`, of a cart's total and of each custom
/// discount: 15 digits before the decimal point, as for every amount offerline accepts
/// (`offerline_core::money::MAX_INTEGER_DIGITS`). It keeps every sum of a cart exact in
/// `i64` (an unbounded `price.amount` × quantity overflowed).
pub fn amount_limit(currency: &str) -> i64 {
    let digits = Currency::parse(currency).map_or(2, |c| c.minor_digits());
    10i64.pow(offerline_core::money::MAX_INTEGER_DIGITS + digits)
}

/// Refuses a cart whose items would total `amount_limit` or more.
fn check_cart_total(items: impl Iterator<Item = (i64, i64)>, currency: &str) -> EpResult<()> {
    let total: i128 = items.map(|(unit, qty)| i128::from(unit) * i128::from(qty)).sum();
    if total >= i128::from(amount_limit(currency)) {
        return Err(EpError::bad_request("The cart total may not have more than 15 digits before the decimal point."));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Cart rendering.

/// Cart-wide totals: `display_price` with tax 0.
pub fn display_price(items: &[EpItem], discounts: &[EpDiscount], currency: &str) -> Value {
    // Saturating: the inputs are bounded (`amount_limit`), this only keeps a cart written
    // before those bounds from panicking the view.
    let without_discount =
        items.iter().fold(0i64, |acc, i| acc.saturating_add(i.unit_amount.saturating_mul(i.quantity)));
    let discount = discounts.iter().fold(0i64, |acc, d| acc.saturating_add(d.amount));
    let with_tax = without_discount.saturating_add(discount);
    json!({
        "with_tax": money(with_tax, currency),
        "without_tax": money(with_tax, currency),
        "tax": money(0, currency),
        "discount": money(discount, currency),
        "without_discount": money(without_discount, currency),
    })
}

fn cart_timestamps(cart: &EpCart) -> Value {
    json!({
        "created_at": ep_ts(cart.created_at),
        "updated_at": ep_ts(cart.modified_at),
        "expires_at": ep_ts(cart.modified_at + CART_EXPIRY_DAYS * 86_400_000_000),
    })
}

/// A custom discount as the cart endpoints show it (money with `formatted`).
pub fn discount_json(d: &EpDiscount, currency: &str) -> Value {
    let mut v = json!({
        "type": "custom_discount",
        "id": d.id,
        "external_id": d.external_id,
        "discount_engine": d.discount_engine,
        "description": d.description,
        "discount_code": d.discount_code,
        "amount": money(d.amount, currency),
    });
    if let Some(item) = &d.item_id {
        v["relationships"] = json!({ "item": { "data": { "type": "custom_item", "id": item } } });
    }
    v
}

fn refs(discounts: &[EpDiscount], item: Option<&str>) -> Value {
    Value::Array(
        discounts
            .iter()
            .filter(|d| d.item_id.as_deref() == item)
            .map(|d| json!({ "type": "custom_discount", "id": d.id }))
            .collect(),
    )
}

fn unit_value(unit: i64, value: i64, currency: &str) -> Value {
    json!({ "unit": money(unit, currency), "value": money(value, currency) })
}

fn items_json(items: &[EpItem], discounts: &[EpDiscount], currency: &str) -> Vec<Value> {
    let (lines, allocations) = custom_cart(items, discounts);
    let item_discount = spread_custom(&lines, &allocations).line_totals(items.len());
    items
        .iter()
        .zip(item_discount)
        .map(|(it, disc)| {
            let value = it.unit_amount * it.quantity;
            let q = it.quantity.max(1);
            let with = value - disc;
            json!({
                "id": it.id,
                "type": "custom_item",
                "name": it.name,
                "description": it.description,
                "sku": it.sku,
                "slug": "",
                "image": { "mime_type": "", "file_name": "", "href": "" },
                "quantity": it.quantity,
                "manage_stock": false,
                "unit_price": { "amount": it.unit_amount, "currency": currency, "includes_tax": it.includes_tax },
                "value": { "amount": value, "currency": currency, "includes_tax": it.includes_tax },
                "links": {},
                "meta": {
                    "display_price": {
                        "with_tax": unit_value(with / q, with, currency),
                        "without_tax": unit_value(with / q, with, currency),
                        "tax": unit_value(0, 0, currency),
                        "discount": unit_value(-disc / q, -disc, currency),
                        "without_discount": unit_value(it.unit_amount, value, currency),
                    },
                    "timestamps": { "created_at": ep_ts(it.created_at), "updated_at": ep_ts(it.modified_at) },
                },
                "relationships": { "custom_discounts": { "data": refs(discounts, Some(&it.id)) } },
            })
        })
        .collect()
}

async fn cart_json(state: &AppState, cart: &EpCart, include: &[String]) -> EpResult<Value> {
    let items = state.store.ep_cart_items(&cart.id).await?;
    let discounts = state.store.ep_cart_discounts(&cart.id).await?;
    let currency = cart_currency(cart);
    let enabled = custom_discounts_enabled(state, cart).await?;
    let rules = !enabled && store_rule_promotions(state).await?;
    let mut data = json!({
        "id": cart.id,
        "type": "cart",
        "name": cart.name,
        "description": cart.description,
        "discount_settings": { "custom_discounts_enabled": enabled, "use_rule_promotions": rules },
        "links": { "self": format!("/v2/carts/{}", cart.id) },
        "meta": {
            "display_price": display_price(&items, &discounts, &currency),
            "timestamps": cart_timestamps(cart),
        },
        "relationships": {
            "items": { "data": items.iter().map(|i| json!({ "type": "custom_item", "id": i.id })).collect::<Vec<_>>() },
            "custom_discounts": { "data": refs(&discounts, None) },
        },
    });
    let mut included = Map::new();
    if include.iter().any(|i| i == "items") {
        included.insert("items".into(), Value::Array(items_json(&items, &discounts, &currency)));
    }
    if include.iter().any(|i| i == "custom_discounts") {
        included.insert(
            "custom_discounts".into(),
            Value::Array(discounts.iter().map(|d| discount_json(d, &currency)).collect()),
        );
    }
    let mut out = json!({ "data": data.take() });
    if !included.is_empty() {
        out["included"] = Value::Object(included);
    }
    Ok(out)
}

/// The item collection response: `{data:[items], meta:{display_price, timestamps}}`.
pub async fn items_response(state: &AppState, cart_id: &str) -> EpResult<Value> {
    let cart = existing_cart(state, cart_id).await?;
    let items = state.store.ep_cart_items(cart_id).await?;
    let discounts = state.store.ep_cart_discounts(cart_id).await?;
    let currency = cart_currency(&cart);
    Ok(json!({
        "data": items_json(&items, &discounts, &currency),
        "meta": {
            "display_price": display_price(&items, &discounts, &currency),
            "timestamps": cart_timestamps(&cart),
        },
    }))
}

// ---------------------------------------------------------------------------------------
// Handlers.

const BOTH_DISCOUNTS: &str = "Only one discount setting can be set to true at a time.";

/// `discount_settings` of a cart request: (custom_discounts_enabled, use_rule_promotions).
fn discount_settings(data: &Map<String, Value>) -> EpResult<Option<bool>> {
    match data.get("discount_settings") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(ds)) => {
            let custom = opt_bool(ds, "custom_discounts_enabled")?;
            let rules = opt_bool(ds, "use_rule_promotions")?;
            if custom == Some(true) && rules == Some(true) {
                return Err(EpError::unprocessable("Cannot use both discounts together", BOTH_DISCOUNTS));
            }
            Ok(custom.or(if rules == Some(true) { Some(false) } else { None }))
        }
        Some(_) => Err(EpError::bad_request("discount_settings must be an object.")),
    }
}

async fn create_cart(State(state): State<AppState>, _c: Client, body: Bytes) -> EpResult<Json<Value>> {
    let body = body_object(&body)?;
    let data = data_object(&body)?;
    let name = opt_string(data, "name", 255)?.unwrap_or_else(|| "Cart".into());
    let description = opt_string(data, "description", 1024)?.unwrap_or_default();
    let enabled = discount_settings(data)?;
    let id = uuid::Uuid::new_v4().to_string();
    let cart = state.store.ep_create_cart(&id, &name, &description, enabled).await?;
    Ok(Json(cart_json(&state, &cart, &[]).await?))
}

async fn get_cart(
    State(state): State<AppState>,
    _c: Client,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> EpResult<Json<Value>> {
    check_ref(&id)?;
    let cart = state.store.ep_cart_get_or_create(&id).await?;
    Ok(Json(cart_json(&state, &cart, &includes(q.as_deref())).await?))
}

async fn update_cart(
    State(state): State<AppState>,
    _c: Client,
    Path(id): Path<String>,
    body: Bytes,
) -> EpResult<Json<Value>> {
    check_ref(&id)?;
    let body = body_object(&body)?;
    let data = data_object(&body)?;
    let name = opt_string(data, "name", 255)?;
    let description = opt_string(data, "description", 1024)?;
    let enabled = discount_settings(data)?;
    let cart = state.store.ep_update_cart(&id, name.as_deref(), description.as_deref(), enabled).await.map_err(
        |e| match e {
            StoreError::NotFound => EpError::not_found(format!("Cart {id} does not exist.")),
            other => other.into(),
        },
    )?;
    Ok(Json(cart_json(&state, &cart, &[]).await?))
}

async fn delete_cart(State(state): State<AppState>, _c: Client, Path(id): Path<String>) -> EpResult<StatusCode> {
    if state.store.ep_delete_cart(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(EpError::not_found(format!("Cart {id} does not exist.")))
    }
}

async fn get_items(State(state): State<AppState>, _c: Client, Path(id): Path<String>) -> EpResult<Json<Value>> {
    Ok(Json(items_response(&state, &id).await?))
}

/// The currency named by `X-MOLTIN-CURRENCY`, upper case.
fn header_currency(headers: &HeaderMap) -> EpResult<Option<String>> {
    // A value that is not visible ASCII (`"€€€"`) is refused like any other non-code, not
    // read as absent.
    match headers.get("x-moltin-currency").map(|v| v.to_str().unwrap_or("\u{fffd}")) {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(None),
        // Three letters alone are not a currency: `ZZZ` is refused as promotions refuse it.
        Some(v) => match Currency::parse(v) {
            Ok(c) if crate::promotion_body::CURRENCIES.contains(&c.as_str()) => Ok(Some(c.upper())),
            _ => Err(EpError::bad_request(format!("X-MOLTIN-CURRENCY {v:?} is not a currency code."))),
        },
    }
}

async fn add_item(
    State(state): State<AppState>,
    _c: Client,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> EpResult<Response> {
    let cart = existing_cart(&state, &id).await?;
    let body = body_object(&body)?;
    let data = data_object(&body)?;
    match data.get("type").and_then(Value::as_str) {
        Some("custom_item") => {}
        Some(other) => {
            return Err(EpError::bad_request(format!("Item type {other:?} is not supported: use custom_item.")));
        }
        None => return Err(EpError::bad_request("type is required (custom_item).")),
    }
    let name = req_string(data, "name", 255)?;
    let sku = req_string(data, "sku", 255)?;
    if name.trim().is_empty() || sku.trim().is_empty() {
        return Err(EpError::bad_request("name and sku may not be blank."));
    }
    let description = opt_string(data, "description", 1024)?.unwrap_or_default();
    let quantity = opt_int(data, "quantity")?.ok_or_else(|| EpError::bad_request("quantity is required."))?;
    let price = match data.get("price") {
        Some(Value::Object(p)) => p,
        Some(_) => return Err(EpError::bad_request("price must be an object.")),
        None => return Err(EpError::bad_request("price is required.")),
    };
    let amount = opt_int(price, "amount")?.ok_or_else(|| EpError::bad_request("price.amount is required."))?;
    let includes_tax = opt_bool(price, "includes_tax")?.unwrap_or(true);
    if amount < 0 {
        return Err(EpError::bad_request("price.amount may not be negative."));
    }
    let items = state.store.ep_cart_items(&id).await?;
    let existing: i64 = items.iter().filter(|i| i.sku == sku).map(|i| i.quantity).sum();
    if quantity < 1 || existing.saturating_add(quantity) > MAX_LINE_QUANTITY {
        return Err(EpError::bad_request(format!("quantity must be between 1 and {MAX_LINE_QUANTITY} per line.")));
    }
    let currency =
        header_currency(&headers)?.or_else(|| cart.currency.clone()).unwrap_or_else(|| DEFAULT_CURRENCY.to_owned());
    // A merged line takes the new unit amount for all its units.
    let kept = items.iter().filter(|i| i.sku != sku).map(|i| (i.unit_amount, i.quantity));
    check_cart_total(kept.chain([(amount, existing + quantity)]), &currency)?;
    let item = NewEpItem { sku, name, description, quantity, unit_amount: amount, includes_tax };
    state.store.ep_add_item(&id, &currency, &item).await.map_err(|e| match e {
        StoreError::Invalid(m) => EpError::bad_request(m),
        StoreError::NotFound => EpError::not_found(format!("Cart {id} does not exist.")),
        other => other.into(),
    })?;
    Ok((StatusCode::CREATED, Json(items_response(&state, &id).await?)).into_response())
}

async fn update_item(
    State(state): State<AppState>,
    _c: Client,
    Path((id, item)): Path<(String, String)>,
    body: Bytes,
) -> EpResult<Json<Value>> {
    let cart = existing_cart(&state, &id).await?;
    let body = body_object(&body)?;
    let data = data_object(&body)?;
    let quantity = opt_int(data, "quantity")?.ok_or_else(|| EpError::bad_request("quantity is required."))?;
    if !(0..=MAX_LINE_QUANTITY).contains(&quantity) {
        return Err(EpError::bad_request(format!("quantity must be between 0 and {MAX_LINE_QUANTITY}.")));
    }
    let items = state.store.ep_cart_items(&id).await?;
    let cart_total = items.iter().map(|i| (i.unit_amount, if i.id == item { quantity } else { i.quantity }));
    check_cart_total(cart_total, &cart_currency(&cart))?;
    state.store.ep_set_item_quantity(&id, &item, quantity).await.map_err(|e| match e {
        StoreError::NotFound => EpError::not_found(format!("Cart item {item} does not exist.")),
        other => other.into(),
    })?;
    Ok(Json(items_response(&state, &id).await?))
}

async fn delete_item(
    State(state): State<AppState>,
    _c: Client,
    Path((id, item)): Path<(String, String)>,
) -> EpResult<Json<Value>> {
    existing_cart(&state, &id).await?;
    if !state.store.ep_delete_item(&id, &item).await? {
        return Err(EpError::not_found(format!("Cart item {item} does not exist.")));
    }
    Ok(Json(items_response(&state, &id).await?))
}

async fn settings_json(state: &AppState) -> EpResult<Value> {
    Ok(json!({ "data": {
        "type": "settings",
        "cart_expiry_days": CART_EXPIRY_DAYS,
        "discounts": {
            "custom_discounts_enabled": store_custom_discounts_enabled(state).await?,
            "use_rule_promotions": store_rule_promotions(state).await?,
        },
    }}))
}

async fn get_settings(State(state): State<AppState>, _c: Client) -> EpResult<Json<Value>> {
    Ok(Json(settings_json(&state).await?))
}

async fn put_settings(State(state): State<AppState>, _c: Client, body: Bytes) -> EpResult<Json<Value>> {
    let body = body_object(&body)?;
    let data = data_object(&body)?;
    let mut pairs: HashMap<&str, bool> = HashMap::new();
    match data.get("discounts") {
        None | Some(Value::Null) => {}
        Some(Value::Object(d)) => {
            for key in ["custom_discounts_enabled", "use_rule_promotions"] {
                if let Some(b) = opt_bool(d, key)? {
                    pairs.insert(key, b);
                }
            }
        }
        Some(_) => return Err(EpError::bad_request("discounts must be an object.")),
    }
    let custom = match pairs.get("custom_discounts_enabled") {
        Some(b) => *b,
        None => store_custom_discounts_enabled(&state).await?,
    };
    let rules = match pairs.get("use_rule_promotions") {
        Some(b) => *b,
        None => store_rule_promotions(&state).await?,
    };
    if custom && rules {
        return Err(EpError::unprocessable("Cannot use both discounts together", BOTH_DISCOUNTS));
    }
    let pairs: Vec<(&str, String)> = pairs.into_iter().map(|(k, v)| (k, v.to_string())).collect();
    state.store.set_ep_settings(&pairs).await?;
    Ok(Json(settings_json(&state).await?))
}

pub fn routes() -> Routes {
    Routes::new("elasticpath", Auth::Client)
        .add("/v2/carts", post(create_cart), &[("post", "Create a cart")])
        .add(
            "/v2/carts/{cartID}",
            get(get_cart).put(update_cart).delete(delete_cart),
            &[
                ("get", "Get a cart (an unknown reference creates an empty cart); include=items,custom_discounts"),
                ("put", "Update a cart (name, description, discount_settings)"),
                ("delete", "Delete a cart"),
            ],
        )
        .add(
            "/v2/carts/{cartID}/items",
            get(get_items).post(add_item),
            &[("get", "Get the cart's items"), ("post", "Add a custom item (same sku merges)")],
        )
        .add(
            "/v2/carts/{cartID}/items/{cartitemID}",
            put(update_item).delete(delete_item),
            &[("put", "Set a cart item's quantity (0 removes it)"), ("delete", "Remove a cart item")],
        )
        .add(
            "/v2/settings/cart",
            get(get_settings).put(put_settings),
            &[("get", "Cart settings"), ("put", "Update cart settings (custom discounts)")],
        )
        .merge(crate::ep_discounts::routes())
        .merge(crate::ep_orders::routes())
}
