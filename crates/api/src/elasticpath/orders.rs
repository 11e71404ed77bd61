//! Elastic Path checkout and orders: `POST /v2/carts/{cartID}/checkout`,
//! `GET /v2/orders/{orderID}[?include=custom_discounts,items]`, `GET /v2/orders/{orderID}/items`.
//!
//! An Elastic Path order is an ordinary ledger order (channel `elasticpath`) whose `number`
//! is the EP order id, written by [`offerline_app::carts::place_order`]: one order item
//! per unit (product = the catalogue product with the item's sku, created inactive from the
//! item's name when absent), `line_key` = the cart item id, and one discount item per custom
//! discount (offer_type `custom_discount`, no promotion, code = discount_code, amount
//! positive, external_uuid = the discount id, line_key = the item for item-level ones),
//! spread over units by the ledger's allocation rule — item-level discounts over their
//! item's units first, then cart-level ones over what is left of every unit (the core's
//! [`offerline_core::custom_order_draft`] builds it).
//!
//! Checkout takes any token (a shopper checks out with an `implicit` one); reading an
//! order back needs `client_credentials` ([`TrustedClient`]): an order holds a customer's
//! name and addresses, and an implicit token is public.
//!
//! Decisions: the ledger status is 200 (`waiting`): EP reports the order `incomplete` and
//! `unpaid`, until its units say otherwise ([`ep_states`]: `cancelled`, `refunded`,
//! `fulfilled`). Checkout answers 201. Discounts larger than what they apply to, or an empty
//! cart, are refused with 422 and write nothing. The cart stays after checkout, as on EP.
//! The custom discounts a cart holds are applied even if custom discounts were disabled
//! after they were added (the cart shows them in its totals too).
//! Order items are one per cart line; an order item's id is the ledger `mapping_code` of
//! the line's first unit, and its `meta.display_price.discount` includes its share of the
//! cart-level discounts (from the ledger's benefit applicants).

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use offerline_app::carts::{self, Recipient};
use offerline_app::ledger::{DiscountItemRow, LedgerItem, LedgerOrder, OrderDetail};
use offerline_core::OrderStatus;
use serde_json::{Map, Value, json};

use super::cart_view::existing_cart;
use super::wire::{
    BareAmount, CheckoutBody, CheckoutData, DiscountRef, DiscountRefs, EpOrderDiscount, EpOrderItem, ItemAmount,
    ItemLink, NoLinks, Order, OrderAnswer, OrderDisplayPrice, OrderIncluded, OrderItemDisplayPrice, OrderItemMeta,
    OrderItemRelationships, OrderItemsAnswer, OrderMeta, OrderRelationships, Ref, Refs, Timestamps, UnitValue, data_as,
    ep_ts, includes, money, read_body,
};
use crate::AppState;
use crate::elasticpath::oauth::{Client, TrustedClient};
use crate::http::ep_error::{EpError, EpResult};
use crate::http::wire::Fieldset;

/// The ledger status of an Elastic Path order (`waiting`).
pub const LEDGER_STATUS: OrderStatus = OrderStatus::WAITING;

fn object_field<'a>(data: &'a CheckoutData, key: &str) -> EpResult<&'a Map<String, Value>> {
    match data.get(key) {
        Some(Value::Object(o)) => Ok(o),
        Some(_) => Err(EpError::bad_request(format!("{key} must be an object."))),
        None => Err(EpError::bad_request(format!("{key} is required."))),
    }
}

fn check_customer(c: &Map<String, Value>) -> EpResult<()> {
    let text = |k: &str| c.get(k).and_then(Value::as_str).filter(|s| !s.trim().is_empty());
    if text("id").is_some() || (text("email").is_some() && text("name").is_some()) {
        Ok(())
    } else {
        Err(EpError::bad_request("customer needs name and email (or id)."))
    }
}

pub(super) async fn checkout(
    State(state): State<AppState>,
    _c: Client,
    Path(cart_id): Path<String>,
    body: Bytes,
) -> EpResult<Response> {
    let cart = existing_cart(&state, &cart_id).await?;
    let body: CheckoutBody = read_body(&body)?;
    let data: CheckoutData = data_as(&body)?;
    let customer = object_field(&data, "customer")?;
    check_customer(customer)?;
    let billing = object_field(&data, "billing_address")?;
    let shipping = match data.get("shipping_address") {
        None | Some(Value::Null) => billing,
        Some(_) => object_field(&data, "shipping_address")?,
    };
    let to = Recipient {
        customer: Value::Object(customer.clone()),
        shipping_address: Value::Object(shipping.clone()),
        billing_address: Value::Object(billing.clone()),
    };
    let number = carts::place_order(&state.app, &cart, to).await?;
    let stored = load(&state, &number).await?;
    Ok((StatusCode::CREATED, Json(OrderAnswer { data: order_json(&stored), included: None })).into_response())
}

/// The Elastic Path order with this id (the ledger order's number) with its units, discount
/// items, their shares and the units' products.
async fn load(state: &AppState, number: &str) -> EpResult<OrderDetail> {
    carts::order(&state.app, number).await?.ok_or_else(|| EpError::not_found(format!("Order {number} does not exist.")))
}

/// A JSON document of the order; `{}` when there is none.
fn document(v: &Option<Value>) -> Value {
    v.clone().unwrap_or_else(|| json!({}))
}

/// Lines of an order: units grouped by `line_key`, in first-unit order (one pass, the
/// lines found by key in a map).
fn lines<'a>(order: &LedgerOrder<'a>) -> Vec<Vec<LedgerItem<'a>>> {
    let mut out: Vec<Vec<LedgerItem<'a>>> = Vec::new();
    let mut at: HashMap<&'a str, usize> = HashMap::new();
    for u in order.items() {
        let key: &'a str = &u.row().line_key;
        match at.get(key) {
            Some(&i) => out[i].push(u),
            None => {
                at.insert(key, out.len());
                out.push(vec![u]);
            }
        }
    }
    out
}

/// An order's `status`, `payment` and `shipping` from its units (contract §8): `cancelled`
/// when every unit is cancelled, else `incomplete`; `refunded` when every unit is
/// refunded, else `unpaid` (offerline takes no payments); `fulfilled` when every unit not
/// cancelled has shipped (shipped, delivered, or returned after it), else `unfulfilled`.
fn ep_states(units: impl Iterator<Item = OrderStatus>) -> (&'static str, &'static str, &'static str) {
    let (mut n, mut cancelled, mut refunded, mut shipped) = (0, 0, 0, 0);
    for s in units {
        n += 1;
        match s.code() {
            100 => cancelled += 1,
            600 => {
                refunded += 1;
                shipped += 1;
            }
            500..=550 => shipped += 1,
            _ => {}
        }
    }
    let status = if n > 0 && cancelled == n { "cancelled" } else { "incomplete" };
    let payment = if n > 0 && refunded == n { "refunded" } else { "unpaid" };
    let shipping = if n > cancelled && shipped == n - cancelled { "fulfilled" } else { "unfulfilled" };
    (status, payment, shipping)
}

fn order_json(d: &OrderDetail) -> Order {
    let o = d.order();
    let cur = o.currency.upper();
    let with_tax = o.amount;
    let paid = 0;
    let m = |v: i64| money(v, &cur);
    let (status, payment, shipping) = ep_states(o.items().map(|i| i.status));
    Order {
        id: o.number.clone(),
        kind: "order",
        status,
        payment,
        shipping,
        anonymized: false,
        customer: document(&o.customer),
        shipping_address: document(&o.shipping_address),
        billing_address: document(&o.billing_address),
        links: NoLinks {},
        meta: OrderMeta {
            display_price: OrderDisplayPrice {
                with_tax: m(with_tax),
                without_tax: m(with_tax),
                tax: m(0),
                discount: m(-o.discount_amount),
                balance_owing: m(with_tax - paid),
                paid: m(paid),
                authorized: m(0),
                without_discount: m(o.amount_without_discount),
            },
            timestamps: Timestamps { created_at: ep_ts(o.created_at), updated_at: ep_ts(o.modified_at) },
        },
        relationships: OrderRelationships {
            items: Refs {
                data: lines(&o).iter().map(|line| Ref { kind: "item", id: line[0].mapping_code.clone() }).collect(),
            },
            custom_discounts: DiscountRefs {
                data: o.discounts().filter(|d| d.line_key.is_none()).map(|d| discount_ref(&d)).collect(),
            },
        },
    }
}

fn discount_ref(d: &DiscountItemRow) -> DiscountRef {
    DiscountRef { kind: "custom_discount", id: d.external_uuid.clone() }
}

/// A custom discount in `included.custom_discounts` (seed 004: amount without `formatted`).
fn included_discount(d: &DiscountItemRow, cur: &str) -> EpOrderDiscount {
    EpOrderDiscount {
        amount: BareAmount { amount: -d.amount, currency: cur.to_owned() },
        kind: "custom_discount",
        id: d.external_uuid.clone(),
        external_id: d.external_id.clone(),
        discount_engine: d.discount_engine.clone(),
        description: d.description.clone(),
        discount_code: d.code.clone(),
    }
}

/// The order's items, one per line. Linear in units, discounts and shares: each unit's
/// line and each line's item-level discounts are looked up in maps, and each share is
/// visited once, to add it to its line's figure for its discount code.
fn order_items_json(d: &OrderDetail) -> Vec<EpOrderItem> {
    let o = d.order();
    let cur = o.currency.upper();
    let pair = |unit: i64, value: i64| UnitValue { unit: money(unit, &cur), value: money(value, &cur) };
    let lines = lines(&o);
    let line_of: HashMap<i64, usize> =
        lines.iter().enumerate().flat_map(|(i, line)| line.iter().map(move |u| (u.id, i))).collect();
    let mut item_discounts: HashMap<&str, Vec<DiscountRef>> = HashMap::new();
    // Discount codes touching each line, with the line's share of each, in discount order.
    let mut by_code: Vec<Map<String, Value>> = vec![Map::new(); lines.len()];
    for disc in o.discounts() {
        if let Some(key) = disc.row().line_key.as_deref() {
            item_discounts.entry(key).or_default().push(discount_ref(&disc));
        }
        let mut shares: HashMap<usize, i64> = HashMap::new();
        for b in disc.benefits() {
            if let Some(&line) = line_of.get(&b.order_item_id) {
                *shares.entry(line).or_default() += b.discount_share;
            }
        }
        let code = disc.code.clone().unwrap_or_else(|| disc.name.clone());
        for (line, share) in shares.into_iter().filter(|&(_, s)| s > 0) {
            let codes = &mut by_code[line];
            let prev = codes.get(&code).and_then(|v: &Value| v["amount"].as_i64()).unwrap_or(0);
            codes.insert(code.clone(), json!(money(prev - share, &cur)));
        }
    }
    let amount = |amount: i64| ItemAmount { amount, currency: cur.clone(), includes_tax: true };
    lines
        .iter()
        .zip(by_code)
        .map(|(line, by_code)| {
            let first = &line[0];
            let qty = line.len() as i64;
            let value: i64 = line.iter().map(|u| u.price).sum();
            let discount: i64 = line.iter().map(|u| u.discount_amount).sum();
            let with = value - discount;
            let item_discounts = item_discounts.remove(first.line_key.as_str()).unwrap_or_default();
            EpOrderItem {
                kind: "order_item",
                id: first.mapping_code.clone(),
                quantity: qty,
                product_id: first.product().map(|p| p.uuid.clone()),
                name: first.product_name.clone(),
                sku: first.product_sku.clone(),
                unit_price: amount(first.price),
                value: amount(value),
                discounts: Vec::new(),
                links: NoLinks {},
                meta: OrderItemMeta {
                    display_price: OrderItemDisplayPrice {
                        with_tax: pair(with / qty, with),
                        without_tax: pair(with / qty, with),
                        tax: pair(0, 0),
                        discount: pair(-discount / qty, -discount),
                        without_discount: pair(first.price, value),
                        discounts: by_code,
                    },
                    timestamps: Timestamps { created_at: ep_ts(first.created_at), updated_at: ep_ts(first.created_at) },
                },
                relationships: OrderItemRelationships {
                    cart_item: ItemLink { data: Ref { kind: "cart_item", id: first.line_key.clone() } },
                    custom_discounts: DiscountRefs { data: item_discounts },
                },
            }
        })
        .collect()
}

pub(super) async fn get_order(
    State(state): State<AppState>,
    _c: TrustedClient,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> EpResult<Json<OrderAnswer>> {
    let l = load(&state, &id).await?;
    let include = includes(q.as_deref());
    let mut included = OrderIncluded::default();
    if include.iter().any(|i| i == "custom_discounts") {
        let order = l.order();
        let cur = order.currency.upper();
        included.custom_discounts = Some(order.discounts().map(|d| included_discount(&d, &cur)).collect());
    }
    if include.iter().any(|i| i == "items") {
        included.items = Some(order_items_json(&l));
    }
    let any = included.custom_discounts.is_some() || included.items.is_some();
    Ok(Json(OrderAnswer { data: order_json(&l), included: any.then_some(included) }))
}

pub(super) async fn get_order_items(
    State(state): State<AppState>,
    _c: TrustedClient,
    Path(id): Path<String>,
) -> EpResult<Json<OrderItemsAnswer>> {
    let l = load(&state, &id).await?;
    Ok(Json(OrderItemsAnswer { data: order_items_json(&l) }))
}
