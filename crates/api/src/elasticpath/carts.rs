//! Elastic Path carts: `/v2/carts…` (carts and custom items) and `/v2/settings/cart`.
//!
//! Custom discounts live in [`super::discounts`], checkout and orders in [`super::orders`],
//! the shared wire pieces in [`super::wire`] and the cart's views in [`super::cart_view`].
//! Every route needs a Bearer access token ([`Client`]); changing the store's settings
//! needs one from `client_credentials` ([`TrustedClient`]).
//!
//! Decisions where Elastic Path's documents are silent:
//! - custom discounts are disabled by default (store setting), as on a new EP store; a cart's
//!   own `discount_settings.custom_discounts_enabled` overrides the store setting;
//! - a custom item needs a `sku` (offerline merges lines and finds the catalogue product by
//!   it); quantities are 1..=[`MAX_LINE_QUANTITY`] per line (one ledger order item per unit);
//!   a cart holds at most [`carts::MAX_CART_LINES`] lines and [`carts::MAX_CART_UNITS`] units
//!   (422 past either, checked in the write transaction);
//! - tax is always 0 (no tax items), so `with_tax` = `without_tax`;
//! - a cart item's `meta.display_price.discount` holds its item-level discounts plus its
//!   share of the cart-level ones, spread by the ledger's rule
//!   ([`offerline_core::spread_custom`], the same shares checkout writes); the unit figure is
//!   the value divided by the quantity, truncated.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use offerline_app::AppError;
use offerline_app::carts::{self, DEFAULT_CURRENCY, NewEpItem, cart_currency};
use offerline_core::Currency;
use serde_json::Value;

use super::cart_view::{cart_json, existing_cart, items_response};
use super::oauth::{Client, TrustedClient};
use super::wire::{
    CART_EXPIRY_DAYS, CartAnswer, CartBody, CartData, CartItemBody, CartItemData, CartItemQuantity,
    CartItemQuantityBody, DiscountFlags, DiscountSettings, ItemPrice, ItemsAnswer, MAX_LINE_QUANTITY, MAX_NAME,
    MAX_TEXT, Settings, SettingsAnswer, SettingsBody, SettingsData, check_cart_total, check_ref, data_as, includes,
    object_as, opt_bool, opt_int, opt_string, read_body, req_string,
};
use crate::AppState;
use crate::http::ep_error::{EpError, EpResult};
use crate::http::wire::Fieldset;

// ---------------------------------------------------------------------------------------
// Handlers.

/// `discount_settings` of a cart request as the cart's own settings: (custom discounts,
/// rule promotions); both on is refused (422).
fn discount_settings(data: &CartData) -> EpResult<(Option<bool>, Option<bool>)> {
    match data.get("discount_settings") {
        None | Some(Value::Null) => Ok((None, None)),
        Some(Value::Object(ds)) => {
            let ds: DiscountSettings = object_as(ds.clone());
            let custom = opt_bool(&ds, "custom_discounts_enabled")?;
            let rules = opt_bool(&ds, "use_rule_promotions")?;
            let setting = carts::cart_discount_setting(custom, rules)?;
            // Turning custom discounts on turns the cart's rule promotions off (never both).
            let rules = if custom == Some(true) { Some(false) } else { rules };
            Ok((setting, rules))
        }
        Some(_) => Err(EpError::bad_request("discount_settings must be an object.")),
    }
}

pub(super) async fn create_cart(State(state): State<AppState>, _c: Client, body: Bytes) -> EpResult<Json<CartAnswer>> {
    let body: CartBody = read_body(&body)?;
    let data: CartData = data_as(&body)?;
    let name = opt_string(&data, "name", MAX_NAME)?.unwrap_or_else(|| "Cart".into());
    let description = opt_string(&data, "description", MAX_TEXT)?.unwrap_or_default();
    let (enabled, rules) = discount_settings(&data)?;
    let id = uuid::Uuid::new_v4().to_string();
    let cart = carts::create_cart(&state.app, &id, &name, &description, enabled, rules).await?;
    Ok(Json(cart_json(&state, &cart, &[]).await?))
}

pub(super) async fn get_cart(
    State(state): State<AppState>,
    _c: Client,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> EpResult<Json<CartAnswer>> {
    check_ref(&id)?;
    let cart = carts::cart_or_create(&state.app, &id).await?;
    Ok(Json(cart_json(&state, &cart, &includes(q.as_deref())).await?))
}

pub(super) async fn update_cart(
    State(state): State<AppState>,
    _c: Client,
    Path(id): Path<String>,
    body: Bytes,
) -> EpResult<Json<CartAnswer>> {
    check_ref(&id)?;
    let body: CartBody = read_body(&body)?;
    let data: CartData = data_as(&body)?;
    let name = opt_string(&data, "name", MAX_NAME)?;
    let description = opt_string(&data, "description", MAX_TEXT)?;
    let (enabled, rules) = discount_settings(&data)?;
    let cart = carts::update_cart(&state.app, &id, name.as_deref(), description.as_deref(), enabled, rules)
        .await
        .map_err(|e| match e {
            AppError::NotFound => EpError::not_found(format!("Cart {id} does not exist.")),
            other => other.into(),
        })?;
    Ok(Json(cart_json(&state, &cart, &[]).await?))
}

pub(super) async fn delete_cart(
    State(state): State<AppState>,
    _c: Client,
    Path(id): Path<String>,
) -> EpResult<StatusCode> {
    if carts::delete_cart(&state.app, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(EpError::not_found(format!("Cart {id} does not exist.")))
    }
}

pub(super) async fn get_items(
    State(state): State<AppState>,
    _c: Client,
    Path(id): Path<String>,
) -> EpResult<Json<ItemsAnswer>> {
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
            Ok(c) if crate::omnitron::promotion_body::CURRENCIES.contains(&c.as_str()) => Ok(Some(c.upper())),
            _ => Err(EpError::bad_request(format!("X-MOLTIN-CURRENCY {v:?} is not a currency code."))),
        },
    }
}

pub(super) async fn add_item(
    State(state): State<AppState>,
    _c: Client,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> EpResult<Response> {
    let cart = existing_cart(&state, &id).await?;
    let body: CartItemBody = read_body(&body)?;
    let data: CartItemData = data_as(&body)?;
    let data = &data;
    match data.get("type").and_then(Value::as_str) {
        Some("custom_item") => {}
        // The SDK's AddPromotion (contract §10): a code for a cart priced by rule promotions.
        Some("promotion_item") => {
            let code = req_string(data, "code", MAX_NAME)?;
            carts::add_promotion(&state.app, &cart, &code).await?;
            return Ok((StatusCode::CREATED, Json(items_response(&state, &id).await?)).into_response());
        }
        Some(other) => {
            return Err(EpError::bad_request(format!(
                "Item type {other:?} is not supported: use custom_item or promotion_item."
            )));
        }
        None => return Err(EpError::bad_request("type is required (custom_item or promotion_item).")),
    }
    let name = req_string(data, "name", MAX_NAME)?;
    let sku = req_string(data, "sku", MAX_NAME)?;
    if name.trim().is_empty() || sku.trim().is_empty() {
        return Err(EpError::bad_request("name and sku may not be blank."));
    }
    let description = opt_string(data, "description", MAX_TEXT)?.unwrap_or_default();
    let quantity = opt_int(data, "quantity")?.ok_or_else(|| EpError::bad_request("quantity is required."))?;
    let price: ItemPrice = match data.get("price") {
        Some(Value::Object(p)) => object_as(p.clone()),
        Some(_) => return Err(EpError::bad_request("price must be an object.")),
        None => return Err(EpError::bad_request("price is required.")),
    };
    let amount = opt_int(&price, "amount")?.ok_or_else(|| EpError::bad_request("price.amount is required."))?;
    let includes_tax = opt_bool(&price, "includes_tax")?.unwrap_or(true);
    if amount < 0 {
        return Err(EpError::bad_request("price.amount may not be negative."));
    }
    let items = carts::items(&state.app, &id).await?;
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
    carts::add_item(&state.app, &id, &currency, &item).await.map_err(|e| match e {
        AppError::Refused(m) => EpError::bad_request(m),
        AppError::NotFound => EpError::not_found(format!("Cart {id} does not exist.")),
        other => other.into(),
    })?;
    Ok((StatusCode::CREATED, Json(items_response(&state, &id).await?)).into_response())
}

pub(super) async fn update_item(
    State(state): State<AppState>,
    _c: Client,
    Path((id, item)): Path<(String, String)>,
    body: Bytes,
) -> EpResult<Json<ItemsAnswer>> {
    let cart = existing_cart(&state, &id).await?;
    let body: CartItemQuantityBody = read_body(&body)?;
    let data: CartItemQuantity = data_as(&body)?;
    let quantity = opt_int(&data, "quantity")?.ok_or_else(|| EpError::bad_request("quantity is required."))?;
    if !(0..=MAX_LINE_QUANTITY).contains(&quantity) {
        return Err(EpError::bad_request(format!("quantity must be between 0 and {MAX_LINE_QUANTITY}.")));
    }
    let items = carts::items(&state.app, &id).await?;
    let cart_total = items.iter().map(|i| (i.unit_amount, if i.id == item { quantity } else { i.quantity }));
    check_cart_total(cart_total, &cart_currency(&cart))?;
    carts::set_item_quantity(&state.app, &cart, &item, quantity).await.map_err(|e| match e {
        AppError::NotFound => EpError::not_found(format!("Cart item {item} does not exist.")),
        AppError::Refused(m) => EpError::bad_request(m),
        other => other.into(),
    })?;
    Ok(Json(items_response(&state, &id).await?))
}

pub(super) async fn delete_item(
    State(state): State<AppState>,
    _c: Client,
    Path((id, item)): Path<(String, String)>,
) -> EpResult<Json<ItemsAnswer>> {
    let cart = existing_cart(&state, &id).await?;
    // A promotion item is removed with its code (contract §10).
    if !carts::delete_item(&state.app, &id, &item).await? && !carts::remove_promotion(&state.app, &cart, &item).await? {
        return Err(EpError::not_found(format!("Cart item {item} does not exist.")));
    }
    Ok(Json(items_response(&state, &id).await?))
}

/// `DELETE /v2/carts/{id}/discounts/{code}` (the SDK's RemovePromotion): the code leaves the
/// cart; 404 when the cart does not hold it.
pub(super) async fn remove_promotion(
    State(state): State<AppState>,
    _c: Client,
    Path((id, code)): Path<(String, String)>,
) -> EpResult<Json<ItemsAnswer>> {
    let cart = existing_cart(&state, &id).await?;
    if !carts::remove_promotion(&state.app, &cart, &code).await? {
        return Err(EpError::not_found(format!("Cart {id} holds no promotion {code}.")));
    }
    Ok(Json(items_response(&state, &id).await?))
}

async fn settings_json(state: &AppState) -> EpResult<SettingsAnswer> {
    Ok(SettingsAnswer {
        data: Settings {
            kind: "settings",
            cart_expiry_days: CART_EXPIRY_DAYS,
            discounts: DiscountFlags {
                custom_discounts_enabled: carts::custom_discounts_setting(&state.app).await?,
                use_rule_promotions: carts::rule_promotions_setting(&state.app).await?,
            },
        },
    })
}

pub(super) async fn get_settings(State(state): State<AppState>, _c: Client) -> EpResult<Json<SettingsAnswer>> {
    Ok(Json(settings_json(&state).await?))
}

pub(super) async fn put_settings(
    State(state): State<AppState>,
    _c: TrustedClient,
    body: Bytes,
) -> EpResult<Json<SettingsAnswer>> {
    let body: SettingsBody = read_body(&body)?;
    let data: SettingsData = data_as(&body)?;
    let (custom, rules) = match data.get("discounts") {
        None | Some(Value::Null) => (None, None),
        Some(Value::Object(d)) => {
            let d: DiscountSettings = object_as(d.clone());
            (opt_bool(&d, "custom_discounts_enabled")?, opt_bool(&d, "use_rule_promotions")?)
        }
        Some(_) => return Err(EpError::bad_request("discounts must be an object.")),
    };
    carts::set_settings(&state.app, custom, rules).await?;
    Ok(Json(settings_json(&state).await?))
}
