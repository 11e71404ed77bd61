//! Elastic Path carts: the carts, their custom items and custom discounts, the store's cart
//! settings, the custom discounts as the core's allocation sees them, the checkout of a
//! cart into a ledger order, and that order read back.
//!
//! The rules here: custom discounts are allowed on a cart by its own setting, else by the
//! store's (disabled by default, as on a new Elastic Path store), never together with rule
//! promotions; they are added or changed only on a non-empty cart. A cart holds at most
//! [`MAX_CART_LINES`] lines, [`MAX_LINE_QUANTITY`] units per line and [`MAX_CART_UNITS`]
//! units in all, and totals less than [`amount_limit`]; the store checks them inside the
//! transaction that changes the cart, so concurrent adds cannot pass them. Request syntax
//! (bodies, bounds of a field) is the adapter's.
//!
//! An Elastic Path order is an ordinary ledger order (channel `elasticpath`, status 200
//! `waiting`) whose number is a fresh UUID, the EP order id: one order item per unit
//! (product = the catalogue product with the item's sku, created inactive from the item's
//! name when absent), one discount item per custom discount, spread over the units by the
//! contract's allocation rule ([`offerline_core::spread_custom`]). It is written by the
//! checkout transaction the storefront uses (`offerline_store::checkout`: the SQLite
//! group-commit writer, or a PostgreSQL transaction), without a basket to consume and
//! without usage to claim. The cart stays after checkout, as on Elastic Path.

use std::collections::HashMap;

use offerline_core::status::OrderStatus;
use offerline_core::{
    Currency, CustomDiscount, CustomItem, CustomLine, CustomTarget, ExternalDiscount, ExternalRef, ProductId,
    custom_order_draft, spread_custom,
};
use offerline_store::catalog::{Product, ProductInput};
use offerline_store::checkout::{CheckoutOutcome, CheckoutWrite};
pub use offerline_store::ep::{
    AddedDiscounts, CartCaps, CartRefusal, DiscountFields, DiscountRefusal, EpCart, EpDiscount, EpItem,
    MAX_CUSTOM_DISCOUNTS, NewEpItem,
};
use offerline_store::ledger::{OrderDetail, Parts, Roots};
use offerline_store::orders::NewOrder;
use offerline_store::{Store, StoreError};
use serde_json::Value as Json;

use crate::error::{AppError, AppResult};
use crate::handle::App;

/// The ledger channel of an Elastic Path order.
pub const CHANNEL: &str = "elasticpath";

/// Why a cart or the store cannot have both kinds of discounts on.
pub const BOTH_DISCOUNTS: &str = "Only one discount setting can be set to true at a time.";

fn both_discounts() -> AppError {
    AppError::Unprocessable { title: "Cannot use both discounts together".into(), detail: BOTH_DISCOUNTS.into() }
}

// ---------------------------------------------------------------------------------------
// Settings.

/// The store setting for custom discounts (default disabled).
pub async fn custom_discounts_setting(app: &App) -> AppResult<bool> {
    Ok(app.store().ep_setting("custom_discounts_enabled").await?.as_deref() == Some("true"))
}

/// The store setting for rule promotions (default disabled).
pub async fn rule_promotions_setting(app: &App) -> AppResult<bool> {
    Ok(app.store().ep_setting("use_rule_promotions").await?.as_deref() == Some("true"))
}

/// Custom discounts are allowed on this cart: its own setting, else the store's.
pub async fn custom_discounts_enabled(app: &App, cart: &EpCart) -> AppResult<bool> {
    match cart.custom_discounts_enabled {
        Some(b) => Ok(b),
        None => custom_discounts_setting(app).await,
    }
}

/// A cart's own custom-discount setting from a request's two flags: both on is refused;
/// rule promotions on means custom discounts off; neither given leaves the store's.
pub fn cart_discount_setting(custom: Option<bool>, rules: Option<bool>) -> AppResult<Option<bool>> {
    if custom == Some(true) && rules == Some(true) {
        return Err(both_discounts());
    }
    Ok(custom.or(if rules == Some(true) { Some(false) } else { None }))
}

/// Offerline's promotions price this cart (contract §10): its own `use_rule_promotions`,
/// else the store's; never together with custom discounts.
pub async fn rule_promotions_enabled(app: &App, cart: &EpCart) -> AppResult<bool> {
    if custom_discounts_enabled(app, cart).await? {
        return Ok(false);
    }
    match cart.use_rule_promotions {
        Some(b) => Ok(b),
        None => rule_promotions_setting(app).await,
    }
}

/// Changes the store's settings (each one given), refused when both would end up on.
pub async fn set_settings(app: &App, custom: Option<bool>, rules: Option<bool>) -> AppResult<()> {
    let custom_now = match custom {
        Some(b) => b,
        None => custom_discounts_setting(app).await?,
    };
    let rules_now = match rules {
        Some(b) => b,
        None => rule_promotions_setting(app).await?,
    };
    if custom_now && rules_now {
        return Err(both_discounts());
    }
    let pairs: Vec<(&str, String)> = [("custom_discounts_enabled", custom), ("use_rule_promotions", rules)]
        .into_iter()
        .filter_map(|(k, v)| v.map(|b| (k, b.to_string())))
        .collect();
    Ok(app.store().set_ep_settings(&pairs).await?)
}

// ---------------------------------------------------------------------------------------
// Carts and their items.

/// The most units one cart line may hold.
pub const MAX_LINE_QUANTITY: i64 = 1000;
/// The most lines (distinct skus) a cart may hold, as the storefront basket
/// ([`crate::basket::MAX_LINES`]).
pub const MAX_CART_LINES: i64 = crate::basket::MAX_LINES;
/// The most units a cart may hold over all its lines. Checkout writes one order item per
/// unit and, per custom discount, one share per unit it touches: ten thousand units with
/// the five cart-level discounts allowed is at most 60,000 rows in one transaction.
pub const MAX_CART_UNITS: i64 = 10_000;

/// The exclusive bound, in minor units of `currency`, of a cart's total and of each custom
/// discount: 15 digits before the decimal point, as for every amount offerline accepts
/// ([`offerline_core::money::MAX_INTEGER_DIGITS`]). It keeps every sum of a cart exact in
/// `i64` (an unbounded `price.amount` × quantity overflowed).
pub fn amount_limit(currency: &str) -> i64 {
    let digits = Currency::parse(currency).map_or(2, |c| c.minor_digits());
    10i64.pow(offerline_core::money::MAX_INTEGER_DIGITS + digits)
}

/// The bounds of a cart in `currency`.
pub fn cart_caps(currency: &str) -> CartCaps {
    CartCaps {
        lines: MAX_CART_LINES,
        units: MAX_CART_UNITS,
        line_quantity: MAX_LINE_QUANTITY,
        total_below: amount_limit(currency),
    }
}

/// A refusal of the store's in words: a line's quantity or the total as the request's
/// syntax words them ([`AppError::Refused`]), the cart's own bounds as a rule
/// ([`AppError::Unprocessable`], 422).
fn cart_refusal(r: CartRefusal) -> AppError {
    let full = |detail: String| AppError::Unprocessable { title: "Cart limit reached".into(), detail };
    match r {
        CartRefusal::Lines => {
            full(format!("A cart may hold at most {MAX_CART_LINES} different items: remove one before adding another."))
        }
        CartRefusal::Units { would_be } => {
            full(format!("A cart may hold at most {MAX_CART_UNITS} units in all (it would hold {would_be})."))
        }
        CartRefusal::LineQuantity { .. } => {
            AppError::Refused(format!("quantity must be between 1 and {MAX_LINE_QUANTITY} per line."))
        }
        CartRefusal::Total => {
            AppError::Refused("The cart total may not have more than 15 digits before the decimal point.".into())
        }
    }
}

/// The cart `id`, if it exists.
pub async fn cart(app: &App, id: &str) -> AppResult<Option<EpCart>> {
    Ok(app.store().ep_cart(id).await?)
}

/// The cart `id`, created empty when there is none (what `GET` of a cart does on Elastic Path).
pub async fn cart_or_create(app: &App, id: &str) -> AppResult<EpCart> {
    Ok(app.store().ep_cart_get_or_create(id).await?)
}

/// A new cart; `custom_discounts` is its own setting ([`cart_discount_setting`]).
pub async fn create_cart(
    app: &App,
    id: &str,
    name: &str,
    description: &str,
    custom_discounts: Option<bool>,
    rules: Option<bool>,
) -> AppResult<EpCart> {
    Ok(app.store().ep_create_cart(id, name, description, custom_discounts, rules).await?)
}

/// Changes the fields given; [`AppError::NotFound`] when the cart does not exist.
pub async fn update_cart(
    app: &App,
    id: &str,
    name: Option<&str>,
    description: Option<&str>,
    custom_discounts: Option<bool>,
    rules: Option<bool>,
) -> AppResult<EpCart> {
    Ok(app.store().ep_update_cart(id, name, description, custom_discounts, rules).await?)
}

/// Deletes the cart with its items and discounts; false when there was none.
pub async fn delete_cart(app: &App, id: &str) -> AppResult<bool> {
    Ok(app.store().ep_delete_cart(id).await?)
}

/// The cart's items, in the order they were added.
pub async fn items(app: &App, cart_id: &str) -> AppResult<Vec<EpItem>> {
    Ok(app.store().ep_cart_items(cart_id).await?)
}

/// Adds a custom item (merged with the line of the same sku); the cart takes `currency`
/// if it has none. [`AppError::Refused`] when the store refuses the line (another currency,
/// a line over [`MAX_LINE_QUANTITY`], a total over [`amount_limit`]),
/// [`AppError::Unprocessable`] when the cart would pass [`MAX_CART_LINES`] or
/// [`MAX_CART_UNITS`], [`AppError::NotFound`] when the cart is gone.
pub async fn add_item(app: &App, cart_id: &str, currency: &str, item: &NewEpItem) -> AppResult<()> {
    match app.store().ep_add_item(cart_id, currency, item, &cart_caps(currency)).await? {
        None => Ok(()),
        Some(r) => Err(cart_refusal(r)),
    }
}

/// Sets a line's quantity (0 removes it); [`AppError::NotFound`] when there is no such item,
/// refused as [`add_item`] when more units would pass a bound.
pub async fn set_item_quantity(app: &App, cart: &EpCart, item_id: &str, quantity: i64) -> AppResult<()> {
    let caps = cart_caps(&cart_currency(cart));
    match app.store().ep_set_item_quantity(&cart.id, item_id, quantity, &caps).await? {
        None => Ok(()),
        Some(r) => Err(cart_refusal(r)),
    }
}

/// Removes a line; false when there was none.
pub async fn delete_item(app: &App, cart_id: &str, item_id: &str) -> AppResult<bool> {
    Ok(app.store().ep_delete_item(cart_id, item_id).await?)
}

// ---------------------------------------------------------------------------------------
// Custom discounts.

/// The cart's custom discounts, both levels.
pub async fn discounts(app: &App, cart_id: &str) -> AppResult<Vec<EpDiscount>> {
    Ok(app.store().ep_cart_discounts(cart_id).await?)
}

/// The rules every add and update of a custom discount obeys: custom discounts are enabled
/// for the cart, and the cart has items.
pub async fn check_discountable(app: &App, cart: &EpCart) -> AppResult<()> {
    if !custom_discounts_enabled(app, cart).await? {
        return Err(AppError::Unprocessable {
            title: "Custom discounts disabled".into(),
            detail: "Custom discounts are not enabled for this cart: set discount_settings.custom_discounts_enabled \
                     on the cart or discounts.custom_discounts_enabled in /v2/settings/cart."
                .into(),
        });
    }
    if items(app, &cart.id).await?.is_empty() {
        return Err(AppError::Unprocessable {
            title: "Cart is empty".into(),
            detail: "Custom discounts cannot be added to an empty cart.".into(),
        });
    }
    Ok(())
}

/// Adds custom discounts (each for the cart, or for the item it names) in one transaction
/// that counts the limits; with `all_or_nothing` one refusal writes none.
pub async fn add_discounts(
    app: &App,
    cart_id: &str,
    entries: &[(Option<String>, DiscountFields)],
    all_or_nothing: bool,
) -> AppResult<AddedDiscounts> {
    Ok(app.store().ep_add_discounts(cart_id, entries, all_or_nothing).await?)
}

/// Replaces a custom discount's fields; [`AppError::NotFound`] when there is no such discount.
pub async fn update_discount(
    app: &App,
    cart_id: &str,
    item_id: Option<&str>,
    id: &str,
    fields: &DiscountFields,
) -> AppResult<EpDiscount> {
    Ok(app.store().ep_update_discount(cart_id, item_id, id, fields).await?)
}

/// Removes a custom discount; false when there was none.
pub async fn delete_discount(app: &App, cart_id: &str, item_id: Option<&str>, id: &str) -> AppResult<bool> {
    Ok(app.store().ep_delete_discount(cart_id, item_id, id).await?)
}

/// Removes every custom discount of the cart, both levels; returns how many.
pub async fn delete_all_discounts(app: &App, cart_id: &str) -> AppResult<u64> {
    Ok(app.store().ep_delete_all_discounts(cart_id).await?)
}

/// A cart's items and custom discounts as the allocation takes them: item-level discounts
/// point at their item's position (an item no longer in the cart points nowhere, and is
/// not placed); amounts are positive. Linear: items are found by id in a map.
pub fn custom_cart(items: &[EpItem], discounts: &[EpDiscount]) -> (Vec<CustomLine>, Vec<CustomDiscount>) {
    let lines = items
        .iter()
        .map(|it| CustomLine { unit_price: it.unit_amount, quantity: u32::try_from(it.quantity).unwrap_or(0) })
        .collect();
    let position: HashMap<&str, usize> = items.iter().enumerate().map(|(i, it)| (it.id.as_str(), i)).collect();
    let discounts = discounts
        .iter()
        .map(|d| CustomDiscount {
            amount: d.amount.saturating_neg().max(0),
            target: match &d.item_id {
                None => CustomTarget::Cart,
                Some(item) => CustomTarget::Line(position.get(item.as_str()).copied().unwrap_or(usize::MAX)),
            },
        })
        .collect();
    (lines, discounts)
}

fn exceeds() -> AppError {
    AppError::Unprocessable {
        title: "Discount exceeds total".into(),
        detail: "The custom discounts exceed the value of the items they apply to.".into(),
    }
}

/// Who the order is for and where it goes, as the Elastic Path request gave them.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub customer: Json,
    pub shipping_address: Json,
    pub billing_address: Json,
}

/// Checks out `cart` into a ledger order; returns the order's number (the EP order id).
/// Refused (nothing written) when the cart is empty or its discounts exceed its items.
pub async fn place_order(app: &App, cart: &EpCart, to: Recipient) -> AppResult<String> {
    let store = app.store();
    let items = store.ep_cart_items(&cart.id).await?;
    if items.is_empty() {
        return Err(AppError::Unprocessable {
            title: "Cart is empty".into(),
            detail: "An empty cart cannot be checked out.".into(),
        });
    }
    // A cart filled before the bounds existed is checked out only once brought under them.
    let units = items.iter().fold(0i64, |acc, it| acc.saturating_add(it.quantity));
    if items.len() as i64 > MAX_CART_LINES || units > MAX_CART_UNITS {
        return Err(cart_refusal(if units > MAX_CART_UNITS {
            CartRefusal::Units { would_be: units }
        } else {
            CartRefusal::Lines
        }));
    }
    if rule_promotions_enabled(app, cart).await? {
        return place_rule_order(app, cart, to).await;
    }
    let discounts = store.ep_cart_discounts(&cart.id).await?;
    let (lines, allocations) = custom_cart(&items, &discounts);
    // Checked before any product is created for the cart's skus.
    if spread_custom(&lines, &allocations).short {
        return Err(exceeds());
    }
    // Products first: on SQLite the order's transaction runs on the one writer, which must
    // not wait on anything else.
    let mut products = Vec::with_capacity(items.len());
    for it in &items {
        products.push(product_for(app, it).await?);
    }
    let custom_items: Vec<CustomItem> = items
        .iter()
        .zip(&products)
        .zip(lines)
        .map(|((it, p), line)| CustomItem {
            key: it.id.clone(),
            product: ProductId(p.id),
            name: it.name.clone(),
            sku: it.sku.clone(),
            line,
        })
        .collect();
    let externals: Vec<ExternalDiscount> = discounts
        .iter()
        .zip(allocations)
        .map(|(d, allocation)| ExternalDiscount {
            allocation,
            code: d.discount_code.clone(),
            external: ExternalRef {
                uuid: d.id.clone(),
                external_id: d.external_id.clone(),
                discount_engine: d.discount_engine.clone(),
                description: d.description.clone(),
            },
        })
        .collect();
    let currency = cart_currency(cart);
    let order = NewOrder {
        number: Some(uuid::Uuid::new_v4().to_string()),
        user_id: None,
        channel: CHANNEL.into(),
        status: OrderStatus::WAITING,
        currency: Currency::parse(&currency)
            .map_err(|e| AppError::Internal(format!("cart {} currency {currency:?}: {e}", cart.id)))?,
        customer: Some(to.customer),
        shipping_address: Some(to.shipping_address),
        billing_address: Some(to.billing_address),
        draft: custom_order_draft(&custom_items, &externals).map_err(|_| exceeds())?,
    };
    write_order(store, CheckoutWrite { idempotency: None, basket: None, priced_offers: Vec::new(), order }).await
}

/// Writes an Elastic Path order through the checkout transaction; its number.
async fn write_order(store: &Store, write: CheckoutWrite) -> AppResult<String> {
    match store.checkout(write, None).await {
        Ok(CheckoutOutcome::Placed { placed, .. }) => {
            tracing::info!(order = placed.id, number = %placed.number, "Elastic Path order placed");
            Ok(placed.number)
        }
        Ok(CheckoutOutcome::Replayed { .. }) => Err(AppError::Internal("a checkout without a key was replayed".into())),
        Err(StoreError::Invalid(m)) => Err(AppError::Unprocessable { title: "Invalid order".into(), detail: m }),
        Err(e) => Err(e.into()),
    }
}

/// The Elastic Path order with this id (the ledger order's number): its units, discount
/// items, their shares and the units' products.
pub async fn order(app: &App, number: &str) -> AppResult<Option<OrderDetail>> {
    let parts = Parts { items: true, discounts: true, benefits: true, products: true, ..Parts::NONE };
    let ledger = app.store().ledger(Roots::OrderNumber { number, channel: CHANNEL }, parts).await?;
    Ok(OrderDetail::new(ledger))
}

/// The currency of a cart that does not name one (Elastic Path's default store currency).
pub const DEFAULT_CURRENCY: &str = "USD";

/// The cart's currency: its own, or [`DEFAULT_CURRENCY`].
pub fn cart_currency(cart: &EpCart) -> String {
    cart.currency.clone().unwrap_or_else(|| DEFAULT_CURRENCY.to_owned())
}

/// The catalogue product of a cart item's sku, created inactive (from the item's name)
/// when there is none.
async fn product_for(app: &App, it: &EpItem) -> AppResult<Product> {
    let store = app.store();
    if let Some(p) = store.product_by_sku(&it.sku).await? {
        return Ok(p);
    }
    let input = ProductInput {
        name: Some(it.name.clone()),
        sku: Some(it.sku.clone()),
        is_active: Some(false),
        ..Default::default()
    };
    match store.create_product(input).await {
        Ok(p) => Ok(p),
        // Created meanwhile by another checkout.
        Err(StoreError::Conflict { .. }) => Ok(store.product_by_sku(&it.sku).await?.ok_or(StoreError::NotFound)?),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cart_takes_one_kind_of_discounts() {
        assert_eq!(cart_discount_setting(None, None).unwrap(), None, "the store's setting");
        assert_eq!(cart_discount_setting(Some(true), None).unwrap(), Some(true));
        assert_eq!(cart_discount_setting(Some(false), Some(false)).unwrap(), Some(false));
        assert_eq!(
            cart_discount_setting(None, Some(true)).unwrap(),
            Some(false),
            "rule promotions turn custom ones off"
        );
        assert_eq!(cart_discount_setting(None, Some(false)).unwrap(), None);
        match cart_discount_setting(Some(true), Some(true)) {
            Err(AppError::Unprocessable { title, detail }) => {
                assert_eq!((title.as_str(), detail.as_str()), ("Cannot use both discounts together", BOTH_DISCOUNTS))
            }
            other => panic!("{other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Rule promotions: a cart priced by offerline's promotions (contract §10).

pub use offerline_store::ep::EpPromotionItem;

/// A cart priced by the live offers: its items in order, the catalogue product of each
/// (when one has the item's sku), its promotion codes, and the pricing (line `i` is item `i`).
#[derive(Debug, Clone)]
pub struct RulePriced {
    pub items: Vec<EpItem>,
    pub codes: Vec<EpPromotionItem>,
    pub offers: std::sync::Arc<offerline_core::OfferIndex>,
    pub versions: std::sync::Arc<std::collections::HashMap<i64, i64>>,
    /// The vouchers the codes name (the first per offer is the one checkout claims).
    pub vouchers: Vec<offerline_store::promotions::Voucher>,
    /// The catalogue products with the items' skus (those there are).
    pub products: Vec<Product>,
    pub pricing: offerline_core::Pricing,
}

/// The cart priced by the live offers when rule promotions are on for it, else `None`.
/// An item's product is the catalogue product with its sku (product ranges and attributes
/// then apply); its price is the item's own, as Elastic Path prices it.
pub async fn rule_priced(app: &App, cart: &EpCart) -> AppResult<Option<RulePriced>> {
    if !rule_promotions_enabled(app, cart).await? {
        return Ok(None);
    }
    let store = app.store();
    let items = store.ep_cart_items(&cart.id).await?;
    let codes = store.ep_cart_promotions(&cart.id).await?;
    let skus: Vec<String> = items.iter().map(|i| i.sku.clone()).collect();
    let products = store.products_by_skus(&skus).await?;
    let lines = items
        .iter()
        .map(|it| {
            let p = products.iter().find(|p| p.sku == it.sku);
            offerline_core::Line {
                product: ProductId(p.map_or(0, |p| p.id)),
                sku: it.sku.clone(),
                attributes: p.map(|p| p.attribute_strings()).unwrap_or_default(),
                quantity: u32::try_from(it.quantity).unwrap_or(u32::MAX),
                unit_price: it.unit_amount,
            }
        })
        .collect();
    let currency = Currency::parse(&cart_currency(cart)).map_err(|e| AppError::Internal(e.to_string()))?;
    let snapshot = app.offers().fresh().await?;
    let mut input =
        offerline_core::PricingInput::new(currency, offerline_core::Timestamp(offerline_store::now_micros()), lines);
    let mut vouchers = Vec::new();
    for c in &codes {
        if let Ok(code) = offerline_core::VoucherCode::parse(&c.code)
            && let Some(v) = store.voucher_by_code(code.as_str()).await?
        {
            input.vouchers.push(offerline_core::VoucherGrant { code, offer: offerline_core::OfferId(v.promotion_id) });
            vouchers.push(v);
        }
    }
    let limited = snapshot.index.limited_for(&input.lines, &input.vouchers, input.explain_all);
    if !limited.is_empty() {
        input.usage = store.usage_of(&limited, None).await?;
    }
    let pricing = offerline_core::price(&input, &snapshot.index);
    Ok(Some(RulePriced {
        items,
        codes,
        offers: snapshot.index,
        versions: snapshot.versions,
        vouchers,
        products,
        pricing,
    }))
}

/// Adds a promotion code to a cart priced by rule promotions. 422 when rule promotions are
/// off for the cart, or the code is unknown or cannot be used (the reason given).
pub async fn add_promotion(app: &App, cart: &EpCart, code: &str) -> AppResult<()> {
    let refuse = |detail: String| AppError::Unprocessable { title: "Promotion not applied".into(), detail };
    if !rule_promotions_enabled(app, cart).await? {
        return Err(refuse(
            "Rule promotions are not enabled for this cart: set discount_settings.use_rule_promotions.".into(),
        ));
    }
    let parsed = offerline_core::VoucherCode::parse(code).map_err(|e| refuse(format!("{code:?}: {e}")))?;
    let Some(v) = app.store().voucher_by_code(parsed.as_str()).await? else {
        return Err(refuse(format!("No promotion has the code {parsed}.")));
    };
    if let Some(r) = crate::vouchers::refusal(app, &v, None).await? {
        let why = match r {
            offerline_core::VoucherRefusal::NotAssigned => "is assigned to customers, not to this cart",
            offerline_core::VoucherRefusal::AlreadyUsed => "has already been used",
            offerline_core::VoucherRefusal::AlreadyUsedByCustomer => "has already been used by this customer",
            offerline_core::VoucherRefusal::NeedsCustomer => "can be used once per customer and needs a customer",
        };
        return Err(refuse(format!("The code {parsed} {why}.")));
    }
    Ok(app.store().ep_add_promotion(&cart.id, parsed.as_str()).await?)
}

/// Removes a code (or the promotion item with that id) from the cart; false when it had
/// none.
pub async fn remove_promotion(app: &App, cart: &EpCart, code: &str) -> AppResult<bool> {
    Ok(app.store().ep_remove_promotion(&cart.id, code).await?)
}

/// Checks out a cart priced by rule promotions: the units at the items' prices, one
/// discount item per applied promotion (with `promotion`, shares by the engine's rule), and
/// the usage they claim (limits, budgets, the code's use), as a storefront order.
async fn place_rule_order(app: &App, cart: &EpCart, to: Recipient) -> AppResult<String> {
    let store = app.store();
    // Products first (a sku the catalogue lacks becomes an inactive product), then priced
    // with them, so product ranges see the same ids the order records.
    let items = store.ep_cart_items(&cart.id).await?;
    for it in &items {
        product_for(app, it).await?;
    }
    let Some(priced) = rule_priced(app, cart).await? else {
        return Err(AppError::Unprocessable {
            title: "Cart settings changed".into(),
            detail: "Rule promotions were turned off for this cart during checkout; check out again.".into(),
        });
    };
    let products = &priced.products;
    let lines: Vec<offerline_core::DraftLine> = priced
        .items
        .iter()
        .map(|it| {
            let p = products.iter().find(|p| p.sku == it.sku);
            offerline_core::DraftLine {
                line_key: it.id.clone(),
                product: ProductId(p.map_or(0, |p| p.id)),
                product_name: it.name.clone(),
                product_sku: it.sku.clone(),
                quantity: u32::try_from(it.quantity).unwrap_or(u32::MAX),
                price: it.unit_amount,
                retail_price: None,
                tax_rate: 0,
                price_list_id: None,
                stock_list_id: None,
            }
        })
        .collect();
    let voucher =
        // The code the engine used (of two codes for one offer it takes the smallest).
        priced.vouchers.iter().find(|v| {
            priced.pricing.applied.iter().any(|a| {
                a.offer.0 == v.promotion_id && a.code.as_ref().is_some_and(|c| c.as_str() == v.code.as_str())
            })
        }).map(|v| {
            offerline_core::DraftVoucher {
                id: offerline_core::VoucherId(v.id),
                offer: offerline_core::OfferId(v.promotion_id),
                usage: v.usage,
            }
        });
    let draft = offerline_core::order_draft(&priced.pricing, &priced.offers, &lines, None, voucher.as_ref());
    let currency = cart_currency(cart);
    let priced_offers = priced
        .pricing
        .applied
        .iter()
        .filter_map(|a| priced.versions.get(&a.offer.0).map(|&v| (a.offer.0, v)))
        .collect();
    let order = NewOrder {
        number: Some(uuid::Uuid::new_v4().to_string()),
        user_id: None,
        channel: CHANNEL.into(),
        status: OrderStatus::WAITING,
        currency: Currency::parse(&currency)
            .map_err(|e| AppError::Internal(format!("cart {} currency {currency:?}: {e}", cart.id)))?,
        customer: Some(to.customer),
        shipping_address: Some(to.shipping_address),
        billing_address: Some(to.billing_address),
        draft,
    };
    write_order(store, CheckoutWrite { idempotency: None, basket: None, priced_offers, order }).await
}
