//! Elastic Path custom discounts on a cart and on a cart item:
//! `/v2/carts/{cartID}/custom-discounts[/{id}]` and
//! `/v2/carts/{cartID}/items/{cartitemID}/custom-discounts[/{id}]` (the JS SDK sends
//! `items/{id}//custom-discounts`; path normalisation collapses the slashes).
//!
//! Every route needs a `client_credentials` token ([`TrustedClient`]): a custom discount
//! sets any price, so a shopper's `implicit` token gets 403.
//!
//! Checks, in this order: unknown cart or item → 404; malformed body or missing field →
//! 400; custom discounts disabled (cart setting, else store setting) → 422; empty cart →
//! 422; amount ≥ 0 → 422; more than [`MAX_CUSTOM_DISCOUNTS`] cart-level discounts per cart
//! or per item → 422 (counted in the write transaction).
//!
//! POST takes one object (→ 201 `{data: discount}`) or an array with
//! `options.add_all_or_nothing` (→ 200 `{data: [added], errors: [refusals]}`, each refusal
//! pointing at its entry with `source.pointer`; with `add_all_or_nothing`, or when every
//! entry is refused, nothing is written and the answer is 422 `{errors}`). The SDK's
//! double-wrapped `{"data":{"data":[…]}}` (Bulk* called without options) is unwrapped.
//! `DELETE /custom-discounts` removes every custom discount of the cart, both levels.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use offerline_app::AppError;
use offerline_app::carts::{self, DiscountFields, DiscountRefusal, MAX_CUSTOM_DISCOUNTS, cart_currency};
use serde::Serialize;
use serde_json::Value;

use super::cart_view::{discount_json, existing_cart};
use super::wire::{
    CustomDiscount, CustomDiscountPatch, CustomDiscountPatchBody, CustomDiscountsBody, DiscountAnswer, DiscountOptions,
    DiscountsAnswer, EntryError, MAX_TEXT, Pointer, data_as, object_as, opt_bool, opt_int, opt_string, read_body,
};
use crate::AppState;
use crate::elasticpath::oauth::TrustedClient;
use crate::http::ep_error::{EpError, EpResult};
use crate::http::wire::Fieldset;

/// One entry of a request: the item it targets (from the path or `relationships.item`)
/// and its fields.
struct Entry {
    item_id: Option<String>,
    fields: DiscountFields,
}

fn parse_type(obj: &dyn Fieldset) -> EpResult<()> {
    match obj.get("type") {
        Some(Value::String(t)) if t == "custom_discount" => Ok(()),
        Some(_) => Err(EpError::bad_request("type must be custom_discount.")),
        None => Err(EpError::bad_request("type is required (custom_discount).")),
    }
}

fn required_text(obj: &dyn Fieldset, key: &str) -> EpResult<String> {
    opt_string(obj, key, MAX_TEXT)?.ok_or_else(|| EpError::bad_request(format!("{key} is required.")))
}

/// Every field is required (Elastic Path's `CartsCustomDiscountsObject`).
fn parse_fields(obj: &CustomDiscount) -> EpResult<DiscountFields> {
    parse_type(obj)?;
    Ok(DiscountFields {
        external_id: required_text(obj, "external_id")?,
        discount_engine: required_text(obj, "discount_engine")?,
        amount: opt_int(obj, "amount")?.ok_or_else(|| EpError::bad_request("amount is required."))?,
        description: required_text(obj, "description")?,
        discount_code: required_text(obj, "discount_code")?,
    })
}

fn related_item(obj: &CustomDiscount) -> EpResult<Option<String>> {
    match obj.get("relationships") {
        None | Some(Value::Null) => Ok(None),
        Some(r) => match r.pointer("/item/data/id") {
            Some(Value::String(id)) => Ok(Some(id.clone())),
            None | Some(Value::Null) if r.get("item").is_none() => Ok(None),
            _ => Err(EpError::bad_request("relationships.item.data.id must be a cart item id.")),
        },
    }
}

/// An amount the cart cannot take: not negative, or (in minor units of `currency`) more
/// than 15 digits before the decimal point, the bound every amount of a cart keeps so its
/// sums stay exact in `i64`.
fn amount_refusal(amount: i64, currency: &str) -> Option<EpError> {
    if amount >= 0 {
        return Some(EpError::unprocessable("Invalid amount", "A custom discount amount must be less than zero."));
    }
    (amount <= -super::wire::amount_limit(currency)).then(|| {
        EpError::unprocessable(
            "Invalid amount",
            "A custom discount amount may not have more than 15 digits before the decimal point.",
        )
    })
}

fn limit_error(item: Option<&str>) -> EpError {
    match item {
        Some(i) => EpError::unprocessable(
            "Custom discount limit reached",
            format!("Cart item {i} already has {MAX_CUSTOM_DISCOUNTS} custom discounts."),
        ),
        None => EpError::unprocessable(
            "Custom discount limit reached",
            format!("The cart already has {MAX_CUSTOM_DISCOUNTS} custom discounts."),
        ),
    }
}

fn refusal_error(r: &DiscountRefusal) -> EpError {
    match r {
        DiscountRefusal::UnknownItem(i) => EpError::not_found(format!("Cart item {i} does not exist.")),
        DiscountRefusal::Limit { item_id } => limit_error(item_id.as_deref()),
    }
}

fn error_entry(e: &EpError, index: usize) -> EntryError {
    EntryError {
        status: e.status.as_u16(),
        title: e.title.clone(),
        detail: e.detail.clone(),
        source: Pointer { pointer: format!("/data/{index}") },
    }
}

async fn add(state: AppState, cart_id: String, route_item: Option<String>, body: Bytes) -> EpResult<Response> {
    let cart = existing_cart(&state, &cart_id).await?;
    let items = carts::items(&state.app, &cart_id).await?;
    if let Some(i) = &route_item
        && !items.iter().any(|it| &it.id == i)
    {
        return Err(EpError::not_found(format!("Cart item {i} does not exist.")));
    }
    let body: CustomDiscountsBody = read_body(&body)?;
    let mut data = body.get("data").ok_or_else(|| EpError::bad_request("data is required."))?;
    let mut options = body.get("options");
    // The SDK's Bulk* without options sends {"data": {"data": [...]}}.
    if let Value::Object(inner) = data
        && inner.contains_key("data")
        && !inner.contains_key("type")
    {
        options = options.or(inner.get("options"));
        data = &inner["data"];
    }
    let all_or_nothing = match options {
        None | Some(Value::Null) => false,
        Some(Value::Object(o)) => {
            opt_bool(&object_as::<DiscountOptions>(o.clone()), "add_all_or_nothing")?.unwrap_or(false)
        }
        Some(_) => return Err(EpError::bad_request("options must be an object.")),
    };
    let (bulk, raw): (bool, Vec<CustomDiscount>) = match data {
        Value::Object(o) => (false, vec![object_as(o.clone())]),
        Value::Array(a) if !a.is_empty() => (
            true,
            a.iter()
                .map(|v| {
                    v.as_object()
                        .map(|o| object_as(o.clone()))
                        .ok_or_else(|| EpError::bad_request("Every entry of data must be an object."))
                })
                .collect::<EpResult<_>>()?,
        ),
        Value::Array(_) => return Err(EpError::bad_request("data may not be an empty array.")),
        _ => return Err(EpError::bad_request("data must be an object or an array.")),
    };
    let entries = raw
        .iter()
        .map(|o| {
            let item_id = match &route_item {
                Some(i) => Some(i.clone()),
                None => related_item(o)?,
            };
            Ok(Entry { item_id, fields: parse_fields(o)? })
        })
        .collect::<EpResult<Vec<_>>>()?;
    carts::check_discountable(&state.app, &cart).await?;
    let currency = cart_currency(&cart);

    if !bulk {
        let e = &entries[0];
        if let Some(err) = amount_refusal(e.fields.amount, &currency) {
            return Err(err);
        }
        let out = carts::add_discounts(&state.app, &cart_id, &[(e.item_id.clone(), e.fields.clone())], true).await?;
        return match out.entries.into_iter().next() {
            Some(Ok(d)) if out.committed => {
                Ok((StatusCode::CREATED, Json(DiscountAnswer { data: discount_json(&d, &currency) })).into_response())
            }
            Some(Err(r)) => Err(refusal_error(&r)),
            _ => Err(EpError::unprocessable("Not added", "The custom discount was not added.")),
        };
    }

    // Bulk: amounts are checked here, the rest in the store's transaction.
    let mut errors: Vec<EntryError> = Vec::new();
    let mut to_store = Vec::new();
    let mut index_of = Vec::new();
    for (k, e) in entries.iter().enumerate() {
        match amount_refusal(e.fields.amount, &currency) {
            Some(err) => errors.push(error_entry(&err, k)),
            None => {
                to_store.push((e.item_id.clone(), e.fields.clone()));
                index_of.push(k);
            }
        }
    }
    if all_or_nothing && !errors.is_empty() {
        return Ok(refused(errors));
    }
    let mut added = Vec::new();
    let committed = if to_store.is_empty() {
        false
    } else {
        let out = carts::add_discounts(&state.app, &cart_id, &to_store, all_or_nothing).await?;
        for (r, &k) in out.entries.iter().zip(&index_of) {
            match r {
                Ok(d) => added.push(discount_json(d, &currency)),
                Err(refusal) => errors.push(error_entry(&refusal_error(refusal), k)),
            }
        }
        out.committed
    };
    if !committed {
        errors.sort_by(|a, b| a.source.pointer.cmp(&b.source.pointer));
        return Ok(refused(errors));
    }
    let resp = DiscountsAnswer { data: added, errors: (!errors.is_empty()).then_some(errors) };
    Ok((StatusCode::OK, Json(resp)).into_response())
}

/// The 422 of a bulk add that added nothing: `{"errors": [...]}`, one per refused entry.
#[derive(Debug, Serialize)]
struct Refused {
    errors: Vec<EntryError>,
}

fn refused(errors: Vec<EntryError>) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, Json(Refused { errors })).into_response()
}

async fn update(
    state: AppState,
    cart_id: String,
    item: Option<String>,
    id: String,
    body: Bytes,
) -> EpResult<Json<DiscountAnswer>> {
    let cart = existing_cart(&state, &cart_id).await?;
    let discounts = carts::discounts(&state.app, &cart_id).await?;
    let Some(current) = discounts.iter().find(|d| d.id == id && d.item_id == item) else {
        return Err(EpError::not_found(format!("Custom discount {id} does not exist.")));
    };
    let body: CustomDiscountPatchBody = read_body(&body)?;
    let data: CustomDiscountPatch = data_as(&body)?;
    // A partial update keeps the fields it does not name.
    if data.get("type").is_some() {
        parse_type(&data)?;
    }
    let text = |key: &str, cur: &str| -> EpResult<String> {
        Ok(opt_string(&data, key, MAX_TEXT)?.unwrap_or_else(|| cur.to_owned()))
    };
    let fields = DiscountFields {
        external_id: text("external_id", &current.external_id)?,
        discount_engine: text("discount_engine", &current.discount_engine)?,
        amount: opt_int(&data, "amount")?.unwrap_or(current.amount),
        description: text("description", &current.description)?,
        discount_code: text("discount_code", &current.discount_code)?,
    };
    carts::check_discountable(&state.app, &cart).await?;
    if let Some(err) = amount_refusal(fields.amount, &cart_currency(&cart)) {
        return Err(err);
    }
    let d = carts::update_discount(&state.app, &cart_id, item.as_deref(), &id, &fields).await.map_err(|e| match e {
        AppError::NotFound => EpError::not_found(format!("Custom discount {id} does not exist.")),
        other => other.into(),
    })?;
    Ok(Json(DiscountAnswer { data: discount_json(&d, &cart_currency(&cart)) }))
}

async fn remove(state: AppState, cart_id: String, item: Option<String>, id: String) -> EpResult<StatusCode> {
    existing_cart(&state, &cart_id).await?;
    if carts::delete_discount(&state.app, &cart_id, item.as_deref(), &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(EpError::not_found(format!("Custom discount {id} does not exist.")))
    }
}

pub(super) async fn add_cart(
    State(state): State<AppState>,
    _c: TrustedClient,
    Path(cart): Path<String>,
    body: Bytes,
) -> EpResult<Response> {
    add(state, cart, None, body).await
}

pub(super) async fn delete_all(
    State(state): State<AppState>,
    _c: TrustedClient,
    Path(cart): Path<String>,
) -> EpResult<StatusCode> {
    existing_cart(&state, &cart).await?;
    carts::delete_all_discounts(&state.app, &cart).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn update_cart_discount(
    State(state): State<AppState>,
    _c: TrustedClient,
    Path((cart, id)): Path<(String, String)>,
    body: Bytes,
) -> EpResult<Json<DiscountAnswer>> {
    update(state, cart, None, id, body).await
}

pub(super) async fn delete_cart_discount(
    State(state): State<AppState>,
    _c: TrustedClient,
    Path((cart, id)): Path<(String, String)>,
) -> EpResult<StatusCode> {
    remove(state, cart, None, id).await
}

pub(super) async fn add_item(
    State(state): State<AppState>,
    _c: TrustedClient,
    Path((cart, item)): Path<(String, String)>,
    body: Bytes,
) -> EpResult<Response> {
    add(state, cart, Some(item), body).await
}

pub(super) async fn update_item_discount(
    State(state): State<AppState>,
    _c: TrustedClient,
    Path((cart, item, id)): Path<(String, String, String)>,
    body: Bytes,
) -> EpResult<Json<DiscountAnswer>> {
    update(state, cart, Some(item), id, body).await
}

pub(super) async fn delete_item_discount(
    State(state): State<AppState>,
    _c: TrustedClient,
    Path((cart, item, id)): Path<(String, String, String)>,
) -> EpResult<StatusCode> {
    remove(state, cart, Some(item), id).await
}
