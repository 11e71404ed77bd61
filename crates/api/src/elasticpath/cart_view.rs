//! A cart as Elastic Path shows it: the cart object with `meta.display_price`, its items with
//! their discounts (item-level ones plus their share of the cart-level ones, spread by the
//! ledger's rule, [`offerline_core::spread_custom`], the same shares checkout writes), and
//! the custom discounts; and the look-up the views and handlers share (a cart that must
//! exist).

use std::collections::HashMap;

use offerline_app::carts::{self, EpCart, EpDiscount, EpItem, RulePriced, cart_currency, custom_cart};
use offerline_core::spread_custom;
use serde_json::{Map, Value, json};

use super::wire::{CART_EXPIRY_DAYS, ep_ts, money};
use crate::AppState;
use crate::http::ep_error::{EpError, EpResult};

/// A cart that must exist (only `GET /v2/carts/{ref}` creates one).
pub async fn existing_cart(state: &AppState, id: &str) -> EpResult<EpCart> {
    carts::cart(&state.app, id).await?.ok_or_else(|| EpError::not_found(format!("Cart {id} does not exist.")))
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

fn discount_ref(d: &EpDiscount) -> Value {
    json!({ "type": "custom_discount", "id": d.id })
}

/// The cart-level discounts' references.
fn cart_refs(discounts: &[EpDiscount]) -> Value {
    Value::Array(discounts.iter().filter(|d| d.item_id.is_none()).map(discount_ref).collect())
}

/// Each item's discount references, by item id, in one pass over the discounts.
fn item_refs(discounts: &[EpDiscount]) -> HashMap<&str, Vec<Value>> {
    let mut out: HashMap<&str, Vec<Value>> = HashMap::new();
    for d in discounts {
        if let Some(item) = &d.item_id {
            out.entry(item.as_str()).or_default().push(discount_ref(d));
        }
    }
    out
}

fn unit_value(unit: i64, value: i64, currency: &str) -> Value {
    json!({ "unit": money(unit, currency), "value": money(value, currency) })
}

/// A custom item with its price, value and `display_price` after `disc` (minor units off it),
/// the shape both the custom-discount and the rule-promotion cart views give an item.
fn custom_item_json(it: &EpItem, disc: i64, currency: &str) -> Value {
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
    })
}

/// The items with their prices and discounts; linear in items, units and discounts (the
/// spread is, [`spread_custom`]; each item's references come from one map).
pub fn items_json(items: &[EpItem], discounts: &[EpDiscount], currency: &str) -> Vec<Value> {
    let (lines, allocations) = custom_cart(items, discounts);
    let item_discount = spread_custom(&lines, &allocations).line_totals(items.len());
    let mut refs = item_refs(discounts);
    items
        .iter()
        .zip(item_discount)
        .map(|(it, disc)| {
            let mut v = custom_item_json(it, disc, currency);
            v["relationships"] =
                json!({ "custom_discounts": { "data": refs.remove(it.id.as_str()).unwrap_or_default() } });
            v
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// A cart priced by offerline's promotions (contract §10).

/// Totals of a rule-priced cart: the engine's, tax 0 (items carry tax-inclusive prices).
fn rule_display_price(p: &RulePriced, currency: &str) -> Value {
    let r = &p.pricing;
    json!({
        "with_tax": money(r.total, currency),
        "without_tax": money(r.total, currency),
        "tax": money(0, currency),
        "discount": money(-r.total_discount, currency),
        "without_discount": money(r.total_before_discount, currency),
    })
}

/// The items of a rule-priced cart, each with the promotions' `discounts` on it (Elastic
/// Path's shape: negative amounts, `promotion_source: "rule-promotion"`, `is_cart_discount`
/// for offers that are not limited to some products), then one `promotion_item` per code.
fn rule_items_json(p: &RulePriced, currency: &str) -> Vec<Value> {
    let code_of = |offer: i64| p.vouchers.iter().find(|v| v.promotion_id == offer).map(|v| v.code.clone());
    let mut out: Vec<Value> = p
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let disc = p.pricing.lines.get(i).map_or(0, |l| l.discount);
            let discounts: Vec<Value> = p
                .pricing
                .applied
                .iter()
                .filter_map(|a| {
                    let d: i64 = a.benefit_units.iter().filter(|(u, _)| u.line == i).map(|(_, s)| *s).sum();
                    (d > 0).then(|| {
                        let whole_cart = p.offers.get(a.offer).is_some_and(|o| o.benefit.range.all);
                        json!({
                            "amount": { "amount": -d, "currency": currency, "includes_tax": true },
                            "code": a.code.as_ref().map(|c| c.as_str().to_owned()).or_else(|| code_of(a.offer.0)),
                            "id": format!("promotion-{}", a.offer.0),
                            "promotion_id": a.offer.0,
                            "name": a.name,
                            "promotion_source": "rule-promotion",
                            "is_cart_discount": whole_cart,
                        })
                    })
                })
                .collect();
            let mut v = custom_item_json(it, disc, currency);
            v["discounts"] = Value::Array(discounts);
            v
        })
        .collect();
    out.extend(p.codes.iter().map(|c| {
        let applied = p.vouchers.iter().find(|v| v.code == c.code).and_then(|v| {
            p.pricing.applied.iter().find(|a| a.offer.0 == v.promotion_id).map(|a| (v.promotion_id, a.amount))
        });
        json!({
            "id": c.id,
            "type": "promotion_item",
            "name": c.code,
            "sku": c.code,
            "code": c.code,
            "promotion_id": applied.map(|(id, _)| id),
            "quantity": 1,
            "unit_price": { "amount": -applied.map_or(0, |(_, a)| a), "currency": currency, "includes_tax": true },
            "value": { "amount": -applied.map_or(0, |(_, a)| a), "currency": currency, "includes_tax": true },
            "links": {},
            "meta": { "timestamps": { "created_at": ep_ts(c.created_at), "updated_at": ep_ts(c.created_at) } },
        })
    }));
    out
}

pub async fn cart_json(state: &AppState, cart: &EpCart, include: &[String]) -> EpResult<Value> {
    let items = carts::items(&state.app, &cart.id).await?;
    let discounts = carts::discounts(&state.app, &cart.id).await?;
    let currency = cart_currency(cart);
    let enabled = carts::custom_discounts_enabled(&state.app, cart).await?;
    // Priced by offerline's promotions exactly when rule promotions are on for the cart.
    let priced = carts::rule_priced(&state.app, cart).await?;
    let rules = priced.is_some();
    let rule_items = priced.as_ref().map(|p| rule_items_json(p, &currency));
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
            "custom_discounts": { "data": cart_refs(&discounts) },
        },
    });
    let mut included = Map::new();
    if let (Some(p), Some(list)) = (&priced, &rule_items) {
        data["meta"]["display_price"] = rule_display_price(p, &currency);
        data["relationships"]["items"]["data"] =
            list.iter().map(|i| json!({ "type": i["type"], "id": i["id"] })).collect();
    }
    if include.iter().any(|i| i == "items") {
        let list = match rule_items {
            Some(list) => list,
            None => items_json(&items, &discounts, &currency),
        };
        included.insert("items".into(), Value::Array(list));
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
    if let Some(priced) = carts::rule_priced(&state.app, &cart).await? {
        let currency = cart_currency(&cart);
        return Ok(json!({
            "data": rule_items_json(&priced, &currency),
            "meta": {
                "display_price": rule_display_price(&priced, &currency),
                "timestamps": cart_timestamps(&cart),
            },
        }));
    }
    let items = carts::items(&state.app, cart_id).await?;
    let discounts = carts::discounts(&state.app, cart_id).await?;
    let currency = cart_currency(&cart);
    Ok(json!({
        "data": items_json(&items, &discounts, &currency),
        "meta": {
            "display_price": display_price(&items, &discounts, &currency),
            "timestamps": cart_timestamps(&cart),
        },
    }))
}
