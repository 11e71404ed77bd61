//! Elastic Path carts: the custom discounts they carry as the core's allocation sees them,
//! and the checkout of a cart into a ledger order.
//!
//! An Elastic Path order is an ordinary ledger order (channel `elasticpath`, status 200
//! `waiting`) whose number is a fresh UUID, the EP order id: one order item per unit
//! (product = the catalogue product with the item's sku, created inactive from the item's
//! name when absent), one discount item per custom discount, spread over the units by the
//! contract's allocation rule ([`offerline_core::spread_custom`]). It is written by the
//! checkout transaction the storefront uses (`offerline_store::checkout`: the SQLite
//! group-commit writer, or a PostgreSQL transaction), without a basket to consume and
//! without usage to claim. The cart stays after checkout, as on Elastic Path.

use offerline_core::status::OrderStatus;
use offerline_core::{
    Currency, CustomDiscount, CustomItem, CustomLine, CustomTarget, ExternalDiscount, ExternalRef, ProductId,
    custom_order_draft, spread_custom,
};
use offerline_store::catalog::{Product, ProductInput};
use offerline_store::checkout::{CheckoutOutcome, CheckoutWrite};
use offerline_store::ep::{EpCart, EpDiscount, EpItem};
use offerline_store::orders::NewOrder;
use offerline_store::{Store, StoreError};
use serde_json::Value as Json;

use crate::error::{AppError, AppResult};

/// A cart's items and custom discounts as the allocation takes them: item-level discounts
/// point at their item's position (an item no longer in the cart points nowhere, and is
/// not placed); amounts are positive.
pub fn custom_cart(items: &[EpItem], discounts: &[EpDiscount]) -> (Vec<CustomLine>, Vec<CustomDiscount>) {
    let lines = items
        .iter()
        .map(|it| CustomLine { unit_price: it.unit_amount, quantity: u32::try_from(it.quantity).unwrap_or(0) })
        .collect();
    let discounts = discounts
        .iter()
        .map(|d| CustomDiscount {
            amount: d.amount.saturating_neg().max(0),
            target: match &d.item_id {
                None => CustomTarget::Cart,
                Some(item) => CustomTarget::Line(items.iter().position(|it| &it.id == item).unwrap_or(usize::MAX)),
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
pub async fn place_order(store: &Store, cart: &EpCart, to: Recipient) -> AppResult<String> {
    let items = store.ep_cart_items(&cart.id).await?;
    if items.is_empty() {
        return Err(AppError::Unprocessable {
            title: "Cart is empty".into(),
            detail: "An empty cart cannot be checked out.".into(),
        });
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
        products.push(product_for(store, it).await?);
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
        number: Some(uuid_v4()),
        user_id: None,
        channel: "elasticpath".into(),
        status: OrderStatus::WAITING,
        currency: Currency::parse(&currency)
            .map_err(|e| AppError::Internal(format!("cart {} currency {currency:?}: {e}", cart.id)))?,
        customer: Some(to.customer),
        shipping_address: Some(to.shipping_address),
        billing_address: Some(to.billing_address),
        draft: custom_order_draft(&custom_items, &externals).map_err(|_| exceeds())?,
    };
    let write = CheckoutWrite { idempotency: None, basket: None, order };
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

/// The currency of a cart that does not name one (Elastic Path's default store currency).
pub const DEFAULT_CURRENCY: &str = "USD";

/// The cart's currency: its own, or [`DEFAULT_CURRENCY`].
pub fn cart_currency(cart: &EpCart) -> String {
    cart.currency.clone().unwrap_or_else(|| DEFAULT_CURRENCY.to_owned())
}

/// The catalogue product of a cart item's sku, created inactive (from the item's name)
/// when there is none.
async fn product_for(store: &Store, it: &EpItem) -> AppResult<Product> {
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

fn uuid_v4() -> String {
    uuid::Uuid::new_v4().to_string()
}
