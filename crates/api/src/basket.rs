//! The storefront basket and checkout (`/baskets/basket/`, `/orders/checkout/`).
//!
//! Prices always come from the default price list, on the server: the basket stores only
//! products and quantities and is re-priced for every view and again at checkout.
//!
//! Discount items: every applied offer or voucher becomes one discount item with
//! `offer_type: "basket_offer"` (Akinon's type for offers applied to the basket). For
//! offers reached through a code or a customer assignment (`coupon`, `coupon_code`,
//! `voucher_code`) `session_offer_type` carries the offer kind, so a reader can tell a
//! voucher discount from a site offer without a second type vocabulary; site offers have
//! `session_offer_type: null`. `promotion` is the offer id.
//!
//! Offer-dependent look-ups (usage counters, vouchers) go through the small functions in
//! the "offer hooks" section, so the promotions storage is used in one place only.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use offerline_core::{
    Currency, CustomerId, DraftLine, DraftVoucher, Line, OfferId, OrderStatus, Pricing, PricingInput, ProductId,
    Timestamp, UsageSnapshot, VoucherCode, VoucherFacts, VoucherGrant, VoucherId, VoucherRefusal, VoucherUsage,
    order_draft, price, refusal,
};
use offerline_store::baskets::Basket;
use offerline_store::catalog::{Product, ProductPrice};
use offerline_store::checkout::{CheckoutOutcome, CheckoutWrite};
use offerline_store::orders::NewOrder;
use offerline_store::{StoreError, now_micros};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Customer;
use crate::docs::{Auth, Routes};
use crate::error::{ApiError, ApiResult};
use crate::omnitron::product_json;
use crate::orders::detail_json;
use crate::wire::{Fields, JsonObject, money};

// ---------------------------------------------------------------------------------------
// Offer hooks: the only places that read promotions storage.

/// A voucher as checkout needs it.
#[derive(Debug, Clone)]
pub struct VoucherInfo {
    pub id: i64,
    pub code: String,
    pub promotion_id: i64,
    pub usage: VoucherUsage,
    pub uses: i64,
    pub customers: Vec<i64>,
}

/// Usage counters of every offer (global, and this customer's).
async fn usage_snapshot(state: &AppState, customer: i64) -> ApiResult<UsageSnapshot> {
    Ok(state.store.usage_snapshot(Some(customer)).await?)
}

async fn voucher_by_code(state: &AppState, code: &str) -> ApiResult<Option<VoucherInfo>> {
    Ok(state.store.voucher_by_code(code).await?.map(|v| VoucherInfo {
        id: v.id,
        code: v.code,
        promotion_id: v.promotion_id,
        usage: v.usage,
        uses: v.uses,
        customers: v.customers,
    }))
}

async fn voucher_used_by(state: &AppState, voucher_id: i64, user_id: i64) -> ApiResult<bool> {
    Ok(state.store.voucher_used_by(voucher_id, user_id).await?)
}

// ---------------------------------------------------------------------------------------
// Pricing a basket.

/// One basket line with its product and price.
struct PricedLine {
    line_id: i64,
    quantity: i64,
    product: Product,
    price: ProductPrice,
}

struct PricedBasket {
    basket: Basket,
    currency: String,
    price_list_id: i64,
    /// The default stock list, which checkout stamps on every order item.
    stock_list_id: Option<i64>,
    lines: Vec<PricedLine>,
    voucher: Option<VoucherInfo>,
    offers: std::sync::Arc<offerline_core::OfferIndex>,
    pricing: Pricing,
    /// Why the engine cannot price this basket meaningfully (a total over 15 integer
    /// digits, …): the basket still shows, but checkout refuses it, as simulate does.
    invalid: Option<String>,
}

/// Why a voucher cannot be used now, before pricing (`None`: usable so far): the core's
/// rule, in the storefront's words.
async fn voucher_problem(state: &AppState, v: &VoucherInfo, user: i64) -> ApiResult<Option<String>> {
    let customer = Some(CustomerId(user));
    let mut facts = VoucherFacts {
        usage: v.usage,
        uses: v.uses,
        assigned: v.customers.iter().map(|&c| CustomerId(c)).collect(),
        used_by_customer: false,
    };
    if let Some(c) = facts.history_needed(customer) {
        facts.used_by_customer = voucher_used_by(state, v.id, c.0).await?;
    }
    Ok(refusal(&facts, customer).map(|r| {
        match r {
            VoucherRefusal::NotAssigned => "This voucher is not available to you.",
            VoucherRefusal::AlreadyUsed => "This voucher has already been used.",
            VoucherRefusal::AlreadyUsedByCustomer => "You have already used this voucher.",
            // A storefront customer is always known; kept for completeness.
            VoucherRefusal::NeedsCustomer => "This voucher needs a signed-in customer.",
        }
        .to_owned()
    }))
}

/// Loads the basket's products and prices and prices it against the live offers.
/// `code` overrides the basket's voucher code (for PATCH, before it is saved).
async fn price_basket(state: &AppState, user: i64, basket: Basket, code: Option<&str>) -> ApiResult<PricedBasket> {
    let ids: Vec<i64> = basket.lines.iter().map(|l| l.product_id).collect();
    let catalog = state.store.pricing_catalog(&ids).await?;
    let (list, products, mut prices) = (catalog.price_list, catalog.products, catalog.prices);
    let mut lines = Vec::with_capacity(basket.lines.len());
    for l in &basket.lines {
        let product = products.iter().find(|p| p.id == l.product_id).cloned().ok_or(ApiError::NotFound)?;
        if !product.is_active {
            return Err(ApiError::BadRequest(format!("Product {} is no longer available.", product.sku)));
        }
        let Some(price) = prices.remove(&l.product_id) else {
            return Err(ApiError::BadRequest(format!("Product {} has no price.", product.sku)));
        };
        lines.push(PricedLine { line_id: l.id, quantity: l.quantity, product, price });
    }
    let currency = Currency::parse(&list.currency).map_err(ApiError::internal)?;
    let code = code.map(str::to_owned).or_else(|| basket.voucher_code.clone());
    let mut voucher = None;
    let mut input = PricingInput::new(
        currency,
        Timestamp(now_micros()),
        lines
            .iter()
            .map(|l| Line {
                attributes: l.product.attribute_strings(),
                ..Line::new(l.product.id, &l.product.sku, l.quantity as u32, l.price.price)
            })
            .collect(),
    );
    input.customer = Some(offerline_core::CustomerId(user));
    let offers = state.offers.current();
    if offers.needs_usage() {
        input.usage = usage_snapshot(state, user).await?;
    }
    if let Some(code) = code
        && let Ok(vc) = VoucherCode::parse(&code)
        && let Some(v) = voucher_by_code(state, vc.as_str()).await?
    {
        input.vouchers.push(VoucherGrant { code: vc, offer: offerline_core::OfferId(v.promotion_id) });
        voucher = Some(v);
    }
    let pricing = price(&input, &offers);
    let invalid = input.validate().err().map(|e| e.to_string());
    Ok(PricedBasket {
        basket,
        currency: list.currency,
        price_list_id: list.id,
        stock_list_id: catalog.stock_list.map(|s| s.id),
        lines,
        voucher,
        offers,
        pricing,
        invalid,
    })
}

/// Why the basket's voucher does not apply, or `None` when it does.
async fn voucher_refusal(state: &AppState, pb: &PricedBasket, user: i64, code: &str) -> ApiResult<Option<String>> {
    let Some(v) = &pb.voucher else {
        return Ok(Some(format!("Voucher code \"{code}\" was not found.")));
    };
    if let Some(p) = voucher_problem(state, v, user).await? {
        return Ok(Some(p));
    }
    if pb.pricing.applied.iter().any(|a| a.offer.0 == v.promotion_id) {
        return Ok(None);
    }
    let why = pb.pricing.not_applied.iter().find(|n| n.offer.0 == v.promotion_id);
    Ok(Some(match why {
        Some(n) if !n.detail.is_empty() => capitalize(&n.detail),
        Some(n) => n.reason.as_str().replace('_', " "),
        None => "This voucher cannot be applied to this basket.".into(),
    }))
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn basket_json(pb: &PricedBasket) -> Value {
    let cur = pb.currency.as_str();
    let items: Vec<Value> = pb
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let lr = &pb.pricing.lines[i];
            let badges: Vec<Value> = pb
                .pricing
                .applied
                .iter()
                .filter_map(|a| {
                    let d: i64 = a.benefit_units.iter().filter(|(u, _)| u.line == i).map(|(_, s)| *s).sum();
                    (d > 0).then(|| json!({"description": a.name, "discount": money(d, cur)}))
                })
                .collect();
            let mut product = product_json(&l.product);
            product["price"] = json!(money(l.price.price, cur));
            product["retail_price"] = json!(l.price.retail_price.map(|r| money(r, cur)));
            json!({
                "id": l.line_id,
                "product": product,
                "quantity": l.quantity,
                "unit_price": money(l.price.price, cur),
                "price": money(l.price.price * l.quantity, cur),
                "discount_amount": money(lr.discount, cur),
                "total_amount": money(lr.net, cur),
                "shipping_discount": pb.pricing.shipping_free,
                "offer_badges": badges,
            })
        })
        .collect();
    json!({"basket": {
        "pk": pb.basket.id,
        "basketitem_set": items,
        "voucher_code": pb.basket.voucher_code,
        "total_product_amount": money(pb.pricing.total_before_discount, cur),
        "total_discount_amount": money(pb.pricing.total_discount, cur),
        "total_amount": money(pb.pricing.total, cur),
        "total_quantity": pb.lines.iter().map(|l| l.quantity).sum::<i64>(),
        "discounts": pb.pricing.applied.iter().map(|a| json!({"description": a.name, "discount": money(a.amount, cur)})).collect::<Vec<_>>(),
        "offers_not_applied": pb.pricing.not_applied.iter().map(|n| json!({
            "promotion": n.offer.0, "name": n.name, "reason": n.reason.as_str(), "detail": n.detail,
        })).collect::<Vec<_>>(),
        "upsell_details": [],
        "upsell_messages": [],
        "unavailable_basket_products": [],
        "segment": null,
    }})
}

async fn get_basket(Customer(u): Customer, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let basket = state.store.basket(u.id).await?;
    Ok(Json(basket_json(&price_basket(&state, u.id, basket, None).await?)))
}

async fn change_line(state: &AppState, user: i64, body: &serde_json::Map<String, Value>, add: bool) -> ApiResult<()> {
    let mut f = Fields::new(body);
    let product = f.req_int("product");
    let quantity = f.req_int("quantity");
    if let Some(q) = quantity {
        let min = if add { 1 } else { 0 };
        if !(min..=offerline_store::baskets::MAX_LINE_QUANTITY).contains(&q) {
            f.error("quantity", format!("Ensure this value is between {min} and 1000."));
        }
    }
    f.finish()?;
    let (product, quantity) = (product.unwrap_or_default(), quantity.unwrap_or_default());
    let bad = || ApiError::field("product", format!("Invalid pk \"{product}\" - object does not exist."));
    let p = state.store.product(product).await.map_err(|_| bad())?;
    if quantity > 0 {
        if !p.is_active {
            return Err(bad());
        }
        let list = state.store.default_price_list().await?;
        if state.store.prices_for(list.id, &[product]).await?.is_empty() {
            return Err(ApiError::field("product", "This product has no price and cannot be bought."));
        }
    }
    state.store.change_basket_line(user, product, quantity, add).await?;
    Ok(())
}

async fn add_to_basket(
    Customer(u): Customer,
    State(state): State<AppState>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    change_line(&state, u.id, &body, true).await?;
    get_basket(Customer(u), State(state)).await
}

async fn set_basket_line(
    Customer(u): Customer,
    State(state): State<AppState>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    change_line(&state, u.id, &body, false).await?;
    get_basket(Customer(u), State(state)).await
}

async fn patch_basket(
    Customer(u): Customer,
    State(state): State<AppState>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let mut f = Fields::new(&body);
    let remove = f.opt_bool("remove_voucher_code").unwrap_or(false);
    let code = f.opt_str("voucher_code", VoucherCode::MAX_LEN);
    f.finish()?;
    if remove {
        state.store.set_basket_voucher(u.id, None).await?;
    } else if let Some(code) = code {
        let vc = VoucherCode::parse(&code).map_err(|e| ApiError::field("voucher_code", e.to_string()))?;
        let basket = state.store.basket(u.id).await?;
        let pb = price_basket(&state, u.id, basket, Some(vc.as_str())).await?;
        if let Some(why) = voucher_refusal(&state, &pb, u.id, vc.as_str()).await? {
            return Err(ApiError::field("voucher_code", why));
        }
        state.store.set_basket_voucher(u.id, Some(vc.as_str())).await?;
    }
    get_basket(Customer(u), State(state)).await
}

fn replay(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED);
    (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The order of a priced basket: the core's draft (units, discounts, usage claims) in the
/// storefront's envelope.
fn build_order(pb: &PricedBasket, user: i64, stock_list: i64, shipping_address: Option<Value>) -> NewOrder {
    let lines: Vec<DraftLine> = pb
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
            price_list_id: Some(pb.price_list_id),
            stock_list_id: Some(stock_list),
        })
        .collect();
    let voucher = pb.voucher.as_ref().map(|v| DraftVoucher {
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
        currency: pb.pricing.currency,
        customer: None,
        shipping_address,
        billing_address: None,
        draft: order_draft(&pb.pricing, &pb.offers, &lines, Some(customer), voucher.as_ref()),
    }
}

async fn checkout(
    Customer(u): Customer,
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => match v.to_str().map(str::trim) {
            Ok(k) if !k.is_empty() && k.len() <= 255 => Some(k.to_owned()),
            _ => return Err(ApiError::Detail("Idempotency-Key must be 1 to 255 visible characters.".into())),
        },
    };
    if let Some(k) = &key
        && let Some((status, body)) = state.store.idempotent_response(u.id, k).await?
    {
        return Ok(replay(status, body));
    }
    match try_checkout(&state, u.id, key.clone(), &body).await {
        Err(e) => {
            // A duplicate that lost the race may have found the basket already emptied:
            // answer with the winner's response.
            if let Some(k) = &key
                && let Some((status, body)) = state.store.idempotent_response(u.id, k).await?
            {
                return Ok(replay(status, body));
            }
            Err(e)
        }
        ok => ok,
    }
}

async fn try_checkout(
    state: &AppState,
    user: i64,
    key: Option<String>,
    body: &serde_json::Map<String, Value>,
) -> ApiResult<Response> {
    let shipping_address = match body.get("shipping_address") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => return Err(ApiError::field("shipping_address", "Expected a dictionary of items.")),
    };
    let basket = state.store.basket(user).await?;
    if basket.lines.is_empty() {
        return Err(ApiError::BadRequest("The basket is empty.".into()));
    }
    let code = basket.voucher_code.clone();
    let pb = price_basket(state, user, basket, None).await?;
    if let Some(why) = &pb.invalid {
        return Err(ApiError::BadRequest(why.clone()));
    }
    if let Some(code) = code
        && let Some(why) = voucher_refusal(state, &pb, user, &code).await?
    {
        return Err(ApiError::BadRequest(format!("Voucher {code}: {why}")));
    }
    let stock_list = pb.stock_list_id.ok_or(ApiError::NotFound)?;
    let order = build_order(&pb, user, stock_list, shipping_address);
    let write = CheckoutWrite {
        user_id: user,
        basket_id: pb.basket.id,
        lines: pb.lines.iter().map(|l| (l.line_id, l.quantity)).collect(),
        idempotency_key: key,
        order,
    };
    let out =
        state.store.checkout(write, |d| json!({"order": detail_json(d)}).to_string()).await.map_err(|e| match e {
            StoreError::LimitReached(_) => {
                ApiError::BadRequest("An offer or voucher in this basket has reached its usage limit.".into())
            }
            other => other.into(),
        })?;
    match out {
        CheckoutOutcome::Placed { placed, body } => {
            tracing::info!(order = placed.id, number = %placed.number, "order placed");
            Ok(replay(201, body))
        }
        CheckoutOutcome::Replayed { status, body } => Ok(replay(status, body)),
    }
}

pub fn routes() -> Routes {
    Routes::new("storefront-basket", Auth::Customer)
        .add(
            "/baskets/basket/",
            get(get_basket).post(add_to_basket).put(set_basket_line).patch(patch_basket),
            &[
                ("get", "The customer's basket, priced"),
                ("post", "Add units of a product to the basket"),
                ("put", "Set a product's quantity in the basket (0 removes it)"),
                ("patch", "Apply or remove a voucher code"),
            ],
        )
        .add(
            "/orders/checkout/",
            post(checkout),
            &[("post", "Check out the basket (Idempotency-Key header supported)")],
        )
}
