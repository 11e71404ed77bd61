//! A cart as Elastic Path shows it: the cart object with `meta.display_price`, its items with
//! their discounts (item-level ones plus their share of the cart-level ones, spread by the
//! ledger's rule, [`offerline_core::spread_custom`], the same shares checkout writes), and
//! the custom discounts; and the look-up the views and handlers share (a cart that must
//! exist).

use std::collections::HashMap;

use offerline_app::carts::{self, EpCart, EpDiscount, EpItem, RulePriced, cart_currency, custom_cart};
use offerline_core::spread_custom;

use super::wire::{
    CART_EXPIRY_DAYS, Cart, CartAnswer, CartIncluded, CartItem, CartLinks, CartMeta, CartRelationships, CartTimestamps,
    CustomDiscountView, CustomItem, DiscountFlags, DiscountRelationships, DisplayPrice, ItemAmount, ItemDisplayPrice,
    ItemImage, ItemLink, ItemMeta, ItemRelationships, ItemsAnswer, NoLinks, PromotionItem, PromotionItemMeta, Ref,
    Refs, RuleDiscount, Timestamps, UnitValue, ep_ts, money,
};
use crate::AppState;
use crate::http::ep_error::{EpError, EpResult};

/// A cart that must exist (only `GET /v2/carts/{ref}` creates one).
pub async fn existing_cart(state: &AppState, id: &str) -> EpResult<EpCart> {
    carts::cart(&state.app, id).await?.ok_or_else(|| EpError::not_found(format!("Cart {id} does not exist.")))
}

// ---------------------------------------------------------------------------------------
// Cart rendering.

/// Cart-wide totals: `display_price` with tax 0.
pub fn display_price(items: &[EpItem], discounts: &[EpDiscount], currency: &str) -> DisplayPrice {
    // Saturating: the inputs are bounded (`amount_limit`), this only keeps a cart written
    // before those bounds from panicking the view.
    let without_discount =
        items.iter().fold(0i64, |acc, i| acc.saturating_add(i.unit_amount.saturating_mul(i.quantity)));
    let discount = discounts.iter().fold(0i64, |acc, d| acc.saturating_add(d.amount));
    let with_tax = without_discount.saturating_add(discount);
    DisplayPrice {
        with_tax: money(with_tax, currency),
        without_tax: money(with_tax, currency),
        tax: money(0, currency),
        discount: money(discount, currency),
        without_discount: money(without_discount, currency),
    }
}

fn cart_timestamps(cart: &EpCart) -> CartTimestamps {
    CartTimestamps {
        created_at: ep_ts(cart.created_at),
        updated_at: ep_ts(cart.modified_at),
        expires_at: ep_ts(cart.modified_at + CART_EXPIRY_DAYS * 86_400_000_000),
    }
}

/// A custom discount as the cart endpoints show it (money with `formatted`).
pub fn discount_json(d: &EpDiscount, currency: &str) -> CustomDiscountView {
    CustomDiscountView {
        kind: "custom_discount",
        id: d.id.clone(),
        external_id: d.external_id.clone(),
        discount_engine: d.discount_engine.clone(),
        description: d.description.clone(),
        discount_code: d.discount_code.clone(),
        amount: money(d.amount, currency),
        relationships: d.item_id.as_ref().map(|item| DiscountRelationships {
            item: ItemLink { data: Ref { kind: "custom_item", id: item.clone() } },
        }),
    }
}

fn discount_ref(d: &EpDiscount) -> Ref {
    Ref { kind: "custom_discount", id: d.id.clone() }
}

/// The cart-level discounts' references.
fn cart_refs(discounts: &[EpDiscount]) -> Refs {
    Refs { data: discounts.iter().filter(|d| d.item_id.is_none()).map(discount_ref).collect() }
}

/// Each item's discount references, by item id, in one pass over the discounts.
fn item_refs(discounts: &[EpDiscount]) -> HashMap<&str, Vec<Ref>> {
    let mut out: HashMap<&str, Vec<Ref>> = HashMap::new();
    for d in discounts {
        if let Some(item) = &d.item_id {
            out.entry(item.as_str()).or_default().push(discount_ref(d));
        }
    }
    out
}

fn unit_value(unit: i64, value: i64, currency: &str) -> UnitValue {
    UnitValue { unit: money(unit, currency), value: money(value, currency) }
}

/// A custom item with its price, value and `display_price` after `disc` (minor units off it),
/// the shape both the custom-discount and the rule-promotion cart views give an item.
fn custom_item_json(it: &EpItem, disc: i64, currency: &str) -> CustomItem {
    let value = it.unit_amount * it.quantity;
    let q = it.quantity.max(1);
    let with = value - disc;
    let amount = |amount: i64| ItemAmount { amount, currency: currency.to_owned(), includes_tax: it.includes_tax };
    CustomItem {
        id: it.id.clone(),
        kind: "custom_item",
        name: it.name.clone(),
        description: it.description.clone(),
        sku: it.sku.clone(),
        slug: String::new(),
        image: ItemImage { mime_type: String::new(), file_name: String::new(), href: String::new() },
        quantity: it.quantity,
        manage_stock: false,
        unit_price: amount(it.unit_amount),
        value: amount(value),
        links: NoLinks {},
        meta: ItemMeta {
            display_price: ItemDisplayPrice {
                with_tax: unit_value(with / q, with, currency),
                without_tax: unit_value(with / q, with, currency),
                tax: unit_value(0, 0, currency),
                discount: unit_value(-disc / q, -disc, currency),
                without_discount: unit_value(it.unit_amount, value, currency),
            },
            timestamps: Timestamps { created_at: ep_ts(it.created_at), updated_at: ep_ts(it.modified_at) },
        },
        relationships: None,
        discounts: None,
    }
}

/// The items with their prices and discounts; linear in items, units and discounts (the
/// spread is, [`spread_custom`]; each item's references come from one map).
pub fn items_json(items: &[EpItem], discounts: &[EpDiscount], currency: &str) -> Vec<CartItem> {
    let (lines, allocations) = custom_cart(items, discounts);
    let item_discount = spread_custom(&lines, &allocations).line_totals(items.len());
    let mut refs = item_refs(discounts);
    items
        .iter()
        .zip(item_discount)
        .map(|(it, disc)| {
            let mut v = custom_item_json(it, disc, currency);
            v.relationships = Some(ItemRelationships {
                custom_discounts: Refs { data: refs.remove(it.id.as_str()).unwrap_or_default() },
            });
            CartItem::Custom(Box::new(v))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// A cart priced by offerline's promotions (contract §10).

/// Totals of a rule-priced cart: the engine's, tax 0 (items carry tax-inclusive prices).
fn rule_display_price(p: &RulePriced, currency: &str) -> DisplayPrice {
    let r = &p.pricing;
    DisplayPrice {
        with_tax: money(r.total, currency),
        without_tax: money(r.total, currency),
        tax: money(0, currency),
        discount: money(-r.total_discount, currency),
        without_discount: money(r.total_before_discount, currency),
    }
}

/// The items of a rule-priced cart, each with the promotions' `discounts` on it (Elastic
/// Path's shape: negative amounts, `promotion_source: "rule-promotion"`, `is_cart_discount`
/// for offers that are not limited to some products), then one `promotion_item` per code.
fn rule_items_json(p: &RulePriced, currency: &str) -> Vec<CartItem> {
    let code_of = |offer: i64| p.vouchers.iter().find(|v| v.promotion_id == offer).map(|v| v.code.clone());
    let included = |amount: i64| ItemAmount { amount, currency: currency.to_owned(), includes_tax: true };
    let mut out: Vec<CartItem> = p
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let disc = p.pricing.lines.get(i).map_or(0, |l| l.discount);
            let discounts: Vec<RuleDiscount> = p
                .pricing
                .applied
                .iter()
                .filter_map(|a| {
                    let d: i64 = a.benefit_units.iter().filter(|(u, _)| u.line == i).map(|(_, s)| *s).sum();
                    (d > 0).then(|| {
                        let whole_cart = p.offers.get(a.offer).is_some_and(|o| o.benefit.range.all);
                        RuleDiscount {
                            amount: included(-d),
                            code: a.code.as_ref().map(|c| c.as_str().to_owned()).or_else(|| code_of(a.offer.0)),
                            id: format!("promotion-{}", a.offer.0),
                            promotion_id: a.offer.0,
                            name: a.name.clone(),
                            promotion_source: "rule-promotion",
                            is_cart_discount: whole_cart,
                        }
                    })
                })
                .collect();
            let mut v = custom_item_json(it, disc, currency);
            v.discounts = Some(discounts);
            CartItem::Custom(Box::new(v))
        })
        .collect();
    out.extend(p.codes.iter().map(|c| {
        let applied = p.vouchers.iter().find(|v| v.code == c.code).and_then(|v| {
            p.pricing.applied.iter().find(|a| a.offer.0 == v.promotion_id).map(|a| (v.promotion_id, a.amount))
        });
        CartItem::Promotion(Box::new(PromotionItem {
            id: c.id.clone(),
            kind: "promotion_item",
            name: c.code.clone(),
            sku: c.code.clone(),
            code: c.code.clone(),
            promotion_id: applied.map(|(id, _)| id),
            quantity: 1,
            unit_price: included(-applied.map_or(0, |(_, a)| a)),
            value: included(-applied.map_or(0, |(_, a)| a)),
            links: NoLinks {},
            meta: PromotionItemMeta {
                timestamps: Timestamps { created_at: ep_ts(c.created_at), updated_at: ep_ts(c.created_at) },
            },
        }))
    }));
    out
}

pub async fn cart_json(state: &AppState, cart: &EpCart, include: &[String]) -> EpResult<CartAnswer> {
    let items = carts::items(&state.app, &cart.id).await?;
    let discounts = carts::discounts(&state.app, &cart.id).await?;
    let currency = cart_currency(cart);
    let enabled = carts::custom_discounts_enabled(&state.app, cart).await?;
    // Priced by offerline's promotions exactly when rule promotions are on for the cart.
    let priced = carts::rule_priced(&state.app, cart).await?;
    let rules = priced.is_some();
    let rule_items = priced.as_ref().map(|p| rule_items_json(p, &currency));
    let (display_price, item_refs) = match (&priced, &rule_items) {
        (Some(p), Some(list)) => (rule_display_price(p, &currency), list.iter().map(CartItem::reference).collect()),
        _ => (
            display_price(&items, &discounts, &currency),
            items.iter().map(|i| Ref { kind: "custom_item", id: i.id.clone() }).collect(),
        ),
    };
    let data = Cart {
        id: cart.id.clone(),
        kind: "cart",
        name: cart.name.clone(),
        description: cart.description.clone(),
        discount_settings: DiscountFlags { custom_discounts_enabled: enabled, use_rule_promotions: rules },
        links: CartLinks { own: format!("/v2/carts/{}", cart.id) },
        meta: CartMeta { display_price, timestamps: cart_timestamps(cart) },
        relationships: CartRelationships { items: Refs { data: item_refs }, custom_discounts: cart_refs(&discounts) },
    };
    let mut included = CartIncluded::default();
    if include.iter().any(|i| i == "items") {
        included.items = Some(match rule_items {
            Some(list) => list,
            None => items_json(&items, &discounts, &currency),
        });
    }
    if include.iter().any(|i| i == "custom_discounts") {
        included.custom_discounts = Some(discounts.iter().map(|d| discount_json(d, &currency)).collect());
    }
    let any = included.items.is_some() || included.custom_discounts.is_some();
    Ok(CartAnswer { data, included: any.then_some(included) })
}

/// The item collection response: `{data:[items], meta:{display_price, timestamps}}`.
pub async fn items_response(state: &AppState, cart_id: &str) -> EpResult<ItemsAnswer> {
    let cart = existing_cart(state, cart_id).await?;
    if let Some(priced) = carts::rule_priced(&state.app, &cart).await? {
        let currency = cart_currency(&cart);
        return Ok(ItemsAnswer {
            data: rule_items_json(&priced, &currency),
            meta: CartMeta {
                display_price: rule_display_price(&priced, &currency),
                timestamps: cart_timestamps(&cart),
            },
        });
    }
    let items = carts::items(&state.app, cart_id).await?;
    let discounts = carts::discounts(&state.app, cart_id).await?;
    let currency = cart_currency(&cart);
    Ok(ItemsAnswer {
        data: items_json(&items, &discounts, &currency),
        meta: CartMeta {
            display_price: display_price(&items, &discounts, &currency),
            timestamps: cart_timestamps(&cart),
        },
    })
}
