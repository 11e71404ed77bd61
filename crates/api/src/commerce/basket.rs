//! The storefront basket and checkout (`/baskets/basket/`, `/orders/checkout/`): requests
//! parsed, the use cases of `offerline_app::basket` and `offerline_app::checkout` called, their
//! results rendered in the Commerce shapes.
//!
//! Discount items: every applied offer or voucher becomes one discount item with
//! `offer_type: "basket_offer"` (Akinon's type for offers applied to the basket). For
//! offers reached through a code or a customer assignment (`coupon`, `coupon_code`,
//! `voucher_code`) `session_offer_type` carries the offer kind, so a reader can tell a
//! voucher discount from a site offer without a second type vocabulary; site offers have
//! `session_offer_type: null`. `promotion` is the offer id.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use offerline_app::basket::{self, Quote};
use offerline_app::{AppError, checkout};
use offerline_core::VoucherCode;
use serde_json::Value;

use crate::AppState;
use crate::commerce::wire::{
    Basket, BasketAdd, BasketAnswer, BasketLine, BasketProduct, BasketSet, BasketVoucher, Checkout, DiscountBadge,
    OfferNotApplied, UnavailableLine,
};
use crate::http::auth::Customer;
use crate::http::error::{ApiError, ApiResult};
use crate::http::wire::{Body, Fields, Fieldset, money};
use crate::omnitron::wire::{CheckoutAnswer, OrderDetail, Product};

/// The basket in seed 001's shape. A line whose product cannot be bought now (deactivated,
/// or without a price) is left out of `basketitem_set` and the totals and listed in
/// `unavailable_basket_products` (`{id, product, quantity, reason: "inactive" | "no_price"}`),
/// so its owner sees the rest of the basket and what to remove; checkout refuses it. A line whose price × quantity does not fit in an `i64`
/// (its price was raised after the units went in; adding them is refused) is a 400 naming
/// the product, so the customer lowers its quantity: never a wrapped or panicking total.
fn basket_answer(pb: &Quote) -> ApiResult<BasketAnswer> {
    let cur = pb.currency.as_str();
    let lines = pb
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let total = l.total().ok_or_else(|| {
                ApiError::from(AppError::Refused(format!(
                    "The total of product {} is too large; lower its quantity.",
                    l.product.sku
                )))
            })?;
            let lr = &pb.pricing.lines[i];
            let badges = pb
                .pricing
                .applied
                .iter()
                .filter_map(|a| {
                    let d: i64 = a.benefit_units.iter().filter(|(u, _)| u.line == i).map(|(_, s)| *s).sum();
                    (d > 0).then(|| DiscountBadge { description: a.name.clone(), discount: money(d, cur) })
                })
                .collect();
            Ok(BasketLine {
                id: Some(l.line_id),
                product: BasketProduct {
                    product: Product::from(&l.product),
                    price: money(l.price.price, cur),
                    retail_price: l.price.retail_price.map(|r| money(r, cur)),
                },
                quantity: l.quantity,
                unit_price: money(l.price.price, cur),
                price: money(total, cur),
                discount_amount: money(lr.discount, cur),
                total_amount: money(lr.net, cur),
                shipping_discount: pb.pricing.shipping_free,
                offer_badges: badges,
                is_gift: None,
            })
        })
        .collect::<ApiResult<Vec<BasketLine>>>()?;
    // Gift lines (contract §10) after the basket's own: at their price, discounted to
    // nothing, `"is_gift": true`; they are not basket lines (no `id` to change them by).
    let gifts = pb.gifts.iter().enumerate().map(|(k, g)| {
        let value = pb.pricing.gifts.get(k).map_or(0, |r| r.units.iter().map(|u| u.price).sum::<i64>());
        let name = pb.pricing.applied.iter().find(|a| a.offer == g.offer).map_or("", |a| a.name.as_str());
        BasketLine {
            id: None,
            product: BasketProduct {
                product: Product::from(&g.gift.product),
                price: money(g.gift.price.price, cur),
                retail_price: g.gift.price.retail_price.map(|r| money(r, cur)),
            },
            quantity: i64::from(g.quantity),
            unit_price: money(g.gift.price.price, cur),
            price: money(value, cur),
            discount_amount: money(value, cur),
            total_amount: money(0, cur),
            shipping_discount: pb.pricing.shipping_free,
            offer_badges: vec![DiscountBadge { description: name.to_owned(), discount: money(value, cur) }],
            is_gift: Some(true),
        }
    });
    let basket = Basket {
        pk: pb.basket.id,
        basketitem_set: lines.into_iter().chain(gifts).collect(),
        voucher_code: pb.basket.voucher_code.clone(),
        total_product_amount: money(pb.pricing.total_before_discount, cur),
        total_discount_amount: money(pb.pricing.total_discount, cur),
        total_amount: money(pb.pricing.total, cur),
        total_quantity: pb.lines.iter().map(|l| l.quantity).sum::<i64>(),
        discounts: pb
            .pricing
            .applied
            .iter()
            .map(|a| DiscountBadge { description: a.name.clone(), discount: money(a.amount, cur) })
            .collect(),
        offers_not_applied: pb
            .pricing
            .not_applied
            .iter()
            .map(|n| OfferNotApplied {
                promotion: n.offer.0,
                name: n.name.clone(),
                reason: n.reason.as_str().to_owned(),
                detail: n.detail.clone(),
            })
            .collect(),
        upsell_details: Vec::new(),
        upsell_messages: Vec::new(),
        unavailable_basket_products: pb
            .unavailable
            .iter()
            .map(|u| UnavailableLine {
                id: u.line_id,
                product: Product::from(&u.product),
                quantity: u.quantity,
                reason: u.reason.as_str().to_owned(),
            })
            .collect(),
        segment: None,
    };
    Ok(BasketAnswer { basket })
}

pub(super) async fn get_basket(Customer(u): Customer, State(state): State<AppState>) -> ApiResult<Json<BasketAnswer>> {
    Ok(Json(basket_answer(&basket::view(&state.app, u.id).await?)?))
}

/// Reads a [`BasketAdd`] (`add`) or a [`BasketSet`] body, whose fields are the same, and
/// changes the line.
async fn change_line(state: &AppState, user: i64, body: &(dyn Fieldset + Sync), add: bool) -> ApiResult<()> {
    let mut f = Fields::new(body);
    let product = f.req_int("product");
    let quantity = f.req_int("quantity");
    if let Some(q) = quantity {
        let min = if add { 1 } else { 0 };
        if !(min..=basket::MAX_LINE_QUANTITY).contains(&q) {
            f.error("quantity", format!("Ensure this value is between {min} and 1000."));
        }
    }
    f.finish()?;
    let (product, quantity) = (product.unwrap_or_default(), quantity.unwrap_or_default());
    Ok(basket::change_line(&state.app, user, product, quantity, add).await?)
}

pub(super) async fn add_to_basket(
    Customer(u): Customer,
    State(state): State<AppState>,
    Body(body): Body<BasketAdd>,
) -> ApiResult<Json<BasketAnswer>> {
    change_line(&state, u.id, &body, true).await?;
    get_basket(Customer(u), State(state)).await
}

pub(super) async fn set_basket_line(
    Customer(u): Customer,
    State(state): State<AppState>,
    Body(body): Body<BasketSet>,
) -> ApiResult<Json<BasketAnswer>> {
    change_line(&state, u.id, &body, false).await?;
    get_basket(Customer(u), State(state)).await
}

pub(super) async fn patch_basket(
    Customer(u): Customer,
    State(state): State<AppState>,
    Body(body): Body<BasketVoucher>,
) -> ApiResult<Json<BasketAnswer>> {
    let mut f = Fields::new(&body);
    let remove = f.opt_bool("remove_voucher_code").unwrap_or(false);
    let code = f.opt_str("voucher_code", VoucherCode::MAX_LEN);
    f.finish()?;
    if remove {
        basket::set_voucher(&state.app, u.id, None).await?;
    } else if let Some(code) = code {
        let vc = VoucherCode::parse(&code).map_err(|e| ApiError::field("voucher_code", e.to_string()))?;
        basket::set_voucher(&state.app, u.id, Some(&vc)).await?;
    }
    get_basket(Customer(u), State(state)).await
}

fn replay(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED);
    (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

pub(super) async fn checkout(
    Customer(u): Customer,
    State(state): State<AppState>,
    headers: HeaderMap,
    Body(body): Body<Checkout>,
) -> ApiResult<Response> {
    let key = crate::http::wire::idempotency_key(&headers)?;
    if let Some(a) = checkout::replayed(&state.app, u.id, key.as_deref()).await? {
        return Ok(replay(a.status, a.body));
    }
    let shipping_address = match body.get("shipping_address") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => return Err(ApiError::field("shipping_address", "Expected a dictionary of items.")),
    };
    let answer = checkout::place(&state.app, u.id, key, shipping_address, |d| {
        // Kept as written for a replay of the same Idempotency-Key.
        serde_json::to_string(&CheckoutAnswer { order: OrderDetail::from(d) }).unwrap_or_default()
    })
    .await?;
    Ok(replay(answer.status, answer.body))
}
