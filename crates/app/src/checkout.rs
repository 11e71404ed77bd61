//! Placing an order: the storefront checkout of a customer's basket, written with its
//! usage claims and idempotency key in one transaction (`offerline_store::checkout`, the
//! SQLite group-commit writer or a PostgreSQL transaction). The Elastic Path checkout of a
//! cart ([`crate::carts::place_order`]) is written by the same transaction.
//!
//! The basket is quoted again here ([`crate::basket::quote`]): prices come from the price
//! list at checkout time, the voucher must still be usable, and the limits the quote read
//! are claimed by the database in the transaction that writes the order, so a checkout that
//! would pass a limit is refused and writes nothing. The quote prices against this node's
//! offer cache; the transaction checks every applied offer against its row and claims the
//! row's limits, and a checkout priced with an offer the database has turned off is priced
//! again against fresh offers ([`place`]).

use std::sync::Arc;

use offerline_core::status::OrderStatus;
use offerline_core::{CustomerId, DraftLine, DraftVoucher, OfferId, OfferIndex, ProductId, VoucherId, order_draft};
use offerline_store::StoreError;
pub use offerline_store::checkout::Render;
use offerline_store::checkout::{BasketLines, CheckoutOutcome, CheckoutWrite, IdempotencyKey};
use offerline_store::now_micros;
use offerline_store::orders::NewOrder;
use serde_json::Value as Json;

use crate::basket::{Quote, quote, unavailable_refusal, voucher_refusal};
use crate::error::{AppError, AppResult};
use crate::handle::App;
use crate::policy::micros;

/// A checkout's answer: the HTTP-neutral status the dialect reports (201 for a new order, or
/// what was stored under the idempotency key) and the body rendered by the caller's
/// `render` when the order was written.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// The stored answer of an idempotency key `user` used before, if any: asked first, so a
/// repeated request is answered as it was the first time, whatever else it now carries.
/// A key is remembered for the policy's `idempotency_ttl`; an older one is a new request.
pub async fn replayed(app: &App, user: i64, key: Option<&str>) -> AppResult<Option<Answer>> {
    let Some(k) = key else { return Ok(None) };
    let stored = app.store().idempotent_response(user, k, key_expiry(app)).await?;
    Ok(stored.map(|(status, body)| Answer { status, body }))
}

/// Keys stored at or before this instant have expired.
fn key_expiry(app: &App) -> i64 {
    now_micros().saturating_sub(micros(app.policy().idempotency_ttl))
}

/// Checks out `user`'s basket (after [`replayed`] found nothing). With an idempotency
/// `key`, a key seen before answers with its stored response (never a second order), also
/// when this attempt lost the race to a duplicate that emptied the basket first.
///
/// The basket is priced against this node's offer cache, current as of the offers version
/// read with the basket's catalogue; a promotion write may still commit between that read
/// and the checkout's transaction, so the transaction checks every applied offer against
/// its row ([`offerline_store::current_offers`]). When the row says an offer is off
/// (deactivated, deleted, ended, its per-basket limit lowered) or changed since the copy the
/// basket was priced with (another benefit, condition, …), nothing is written, the cache
/// is rebuilt from the database, and the basket is priced and checked out once more: the
/// customer gets the order at today's offers, never one with an offer the database has
/// turned off. A second refusal (the offer changed again meanwhile) is a 400 naming it. The
/// cache is rebuilt once for a burst of such checkouts ([`crate::offers::OfferCache::outdated`]).
pub async fn place(
    app: &App,
    user: i64,
    key: Option<String>,
    shipping_address: Option<Json>,
    render: Render,
) -> AppResult<Answer> {
    let mut attempt = try_place(app, user, key.clone(), shipping_address.clone(), render).await;
    if let Err(Failed::OfferChanged { promotion_id, why, priced_with, .. }) = &attempt {
        tracing::info!(promotion = promotion_id, why, "an applied offer changed in the database; pricing again");
        app.offers().outdated(priced_with).await?;
        attempt = try_place(app, user, key.clone(), shipping_address, render).await;
    }
    match attempt {
        Ok(answer) => Ok(answer),
        Err(failed) => {
            if let Some(k) = &key
                && let Some((status, body)) = app.store().idempotent_response(user, k, key_expiry(app)).await?
            {
                return Ok(Answer { status, body });
            }
            Err(failed.into())
        }
    }
}

/// Why one attempt at a checkout failed.
enum Failed {
    /// An applied offer is off or changed in the database (see [`place`]): its name as priced.
    OfferChanged {
        promotion_id: i64,
        why: &'static str,
        name: String,
        /// The offer index the basket was priced with.
        priced_with: Arc<OfferIndex>,
    },
    App(AppError),
}

impl From<AppError> for Failed {
    fn from(e: AppError) -> Self {
        Failed::App(e)
    }
}

impl From<Failed> for AppError {
    fn from(f: Failed) -> Self {
        match f {
            Failed::OfferChanged { why, name, .. } => AppError::Refused(format!(
                "The offer \"{name}\" is {why}; please review the basket and check out again."
            )),
            Failed::App(e) => e,
        }
    }
}

async fn try_place(
    app: &App,
    user: i64,
    key: Option<String>,
    shipping_address: Option<Json>,
    render: Render,
) -> Result<Answer, Failed> {
    let store = app.store();
    let basket = store.basket(user).await.map_err(AppError::from)?;
    if basket.lines.is_empty() {
        return Err(AppError::Refused("The basket is empty.".into()).into());
    }
    let code = basket.voucher_code.clone();
    let q = quote(app, user, basket, None).await?;
    if let Some(why) = unavailable_refusal(&q) {
        return Err(AppError::Refused(why).into());
    }
    if let Some(why) = &q.invalid {
        return Err(AppError::Refused(why.clone()).into());
    }
    if let Some(code) = code
        && let Some(why) = voucher_refusal(app, &q, user, &code).await?
    {
        return Err(AppError::Refused(format!("Voucher {code}: {why}")).into());
    }
    let stock_list = q.stock_list_id.ok_or(AppError::NotFound)?;
    let order = build_order(&q, user, stock_list, shipping_address);
    let priced_offers =
        q.pricing.applied.iter().filter_map(|a| q.offer_versions.get(&a.offer.0).map(|&v| (a.offer.0, v))).collect();
    let write = CheckoutWrite {
        idempotency: key.map(|key| IdempotencyKey { user_id: user, key, expired_at_or_before: key_expiry(app) }),
        priced_offers,
        basket: Some(BasketLines {
            basket_id: q.basket.id,
            lines: q.lines.iter().map(|l| (l.line_id, l.quantity)).collect(),
        }),
        order,
    };
    let out = store.checkout(write, Some(render)).await.map_err(|e| match e {
        StoreError::LimitReached(_) => {
            AppError::Refused("An offer or voucher in this basket has reached its usage limit.".into()).into()
        }
        StoreError::OfferChanged { promotion_id, why } => {
            let name = q.offers.get(OfferId(promotion_id)).map_or_else(|| promotion_id.to_string(), |o| o.name.clone());
            Failed::OfferChanged { promotion_id, why, name, priced_with: q.offers.clone() }
        }
        other => AppError::from(other).into(),
    })?;
    Ok(match out {
        CheckoutOutcome::Placed { placed, body } => {
            tracing::info!(order = placed.id, number = %placed.number, "order placed");
            Answer { status: 201, body: body.unwrap_or_default() }
        }
        CheckoutOutcome::Replayed { status, body } => Answer { status, body },
    })
}

/// The order a quoted basket becomes: the envelope (storefront channel, approved, the
/// customer, the address) around the core's draft of the priced lines.
pub(crate) fn build_order(q: &Quote, user: i64, stock_list: i64, shipping_address: Option<Json>) -> NewOrder {
    let mut lines: Vec<DraftLine> = q
        .lines
        .iter()
        .map(|l| DraftLine {
            line_key: l.line_id.to_string(),
            product: ProductId(l.product.id),
            product_name: l.product.name.clone(),
            product_sku: l.product.sku.clone(),
            quantity: l.quantity as u32,
            price: l.price.price,
            retail_price: l.price.retail_price,
            tax_rate: l.price.tax_rate,
            price_list_id: Some(q.price_list_id),
            stock_list_id: Some(stock_list),
        })
        .collect();
    // Gift lines follow, in the pricing's order (contract §10): an order item per gift unit.
    lines.extend(q.gifts.iter().map(|g| DraftLine {
        line_key: format!("gift-{}", g.offer.0),
        product: ProductId(g.gift.product.id),
        product_name: g.gift.product.name.clone(),
        product_sku: g.gift.product.sku.clone(),
        quantity: g.quantity,
        price: g.gift.price.price,
        retail_price: g.gift.price.retail_price,
        tax_rate: g.gift.price.tax_rate,
        price_list_id: Some(q.price_list_id),
        stock_list_id: Some(stock_list),
    }));
    let voucher = q.voucher.as_ref().map(|v| DraftVoucher {
        id: VoucherId(v.id),
        offer: OfferId(v.promotion_id),
        usage: v.usage,
    });
    let customer = CustomerId(user);
    NewOrder {
        number: None,
        user_id: Some(customer),
        channel: "storefront".into(),
        status: OrderStatus::APPROVED,
        currency: q.pricing.currency,
        customer: None,
        shipping_address,
        billing_address: None,
        draft: order_draft(&q.pricing, &q.offers, &lines, Some(customer), voucher.as_ref()),
    }
}
