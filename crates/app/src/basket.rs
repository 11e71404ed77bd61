//! The storefront basket: quoting it (pricing it against the live offers with the server's
//! prices) and changing it (lines, the voucher code).
//!
//! Prices always come from the default price list, on the server: the basket stores only
//! products and quantities and is quoted again for every view and at checkout
//! ([`crate::checkout`]), so what the customer sees is what the order will say.

use offerline_core::{
    Currency, CustomerId, Line, OfferId, OfferIndex, Pricing, PricingInput, Timestamp, VoucherCode, VoucherGrant,
    VoucherRefusal, price,
};
pub use offerline_store::baskets::{Basket, BasketLine, LineChange, MAX_LINE_QUANTITY, MAX_LINES};
use offerline_store::catalog::{Product, ProductPrice};
use offerline_store::now_micros;
use offerline_store::promotions::Voucher;

use crate::error::{AppError, AppResult};
use crate::gifts::{self, Gift};
use crate::handle::App;
use crate::vouchers;

/// One basket line with its product and the price it is quoted at.
#[derive(Debug, Clone)]
pub struct QuotedLine {
    pub line_id: i64,
    pub quantity: i64,
    pub product: Product,
    pub price: ProductPrice,
}

impl QuotedLine {
    /// Price × quantity, or `None` when it does not fit in an `i64` (a price raised after
    /// the units went into the basket can get it there).
    pub fn total(&self) -> Option<i64> {
        self.price.price.checked_mul(self.quantity)
    }
}

/// Why a basket line cannot be bought now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// The product was deactivated after it went into the basket.
    Inactive,
    /// The product has no price in the default price list.
    NoPrice,
}

impl Unavailable {
    pub fn as_str(self) -> &'static str {
        match self {
            Unavailable::Inactive => "inactive",
            Unavailable::NoPrice => "no_price",
        }
    }
}

/// A basket line that cannot be bought now: shown apart from the priced lines so the
/// customer sees what to remove, left out of the pricing, and refused at checkout.
#[derive(Debug, Clone)]
pub struct UnavailableLine {
    pub line_id: i64,
    pub quantity: i64,
    pub product: Product,
    pub reason: Unavailable,
}

/// A gift line of a quote (contract §10): the product an applied gift offer gives, at its
/// price, discounted to nothing. Not a basket line: the customer cannot change it.
#[derive(Debug, Clone)]
pub struct QuotedGift {
    pub offer: OfferId,
    pub quantity: u32,
    pub gift: Gift,
}

/// A basket priced against the live offers.
#[derive(Debug, Clone)]
pub struct Quote {
    pub basket: Basket,
    /// The default price list's currency, in which the basket is quoted.
    pub currency: Currency,
    pub price_list_id: i64,
    /// The default stock list, which checkout stamps on every order item.
    pub stock_list_id: Option<i64>,
    pub lines: Vec<QuotedLine>,
    /// The lines that cannot be bought now (not in `lines`, not priced): one such line must
    /// not hide the rest of the basket from its owner, but checkout refuses while any is there.
    pub unavailable: Vec<UnavailableLine>,
    /// The voucher the basket's (or the candidate) code names, if it exists.
    pub voucher: Option<Voucher>,
    /// The offers the basket was priced against (checkout reads their limits).
    pub offers: std::sync::Arc<OfferIndex>,
    /// The row version (`modified_at`) of each of those offers, which the checkout
    /// transaction expects the rows to still have.
    pub offer_versions: std::sync::Arc<std::collections::HashMap<i64, i64>>,
    pub pricing: Pricing,
    /// The gift lines, one per `pricing.gifts` entry, in its order.
    pub gifts: Vec<QuotedGift>,
    /// Why the engine cannot price this basket meaningfully (a total over 15 integer
    /// digits, …): the basket still shows, but checkout refuses it, as simulate does.
    pub invalid: Option<String>,
}

/// The customer's basket, quoted. A line whose product was deactivated or lost its price
/// since it went in is listed in [`Quote::unavailable`] and the rest is priced: one such
/// product must not make the basket unreadable for everyone holding it.
pub async fn view(app: &App, user: i64) -> AppResult<Quote> {
    let basket = app.store().basket(user).await?;
    quote(app, user, basket, None).await
}

/// Loads the basket's products and prices and prices it against the live offers. `code`
/// overrides the basket's voucher code (to try a code before it is saved).
pub async fn quote(app: &App, user: i64, basket: Basket, code: Option<&str>) -> AppResult<Quote> {
    let store = app.store();
    let ids: Vec<i64> = basket.lines.iter().map(|l| l.product_id).collect();
    let catalog = store.pricing_catalog(&ids).await?;
    // The offer index as of the version read with the catalogue (no round trip of its own).
    let snapshot = app.offers().offers_at(catalog.offers_version).await?;
    let offers = snapshot.index;
    let (list, products, mut prices) = (catalog.price_list, catalog.products, catalog.prices);
    let mut lines = Vec::with_capacity(basket.lines.len());
    let mut unavailable = Vec::new();
    for l in &basket.lines {
        let product = products.iter().find(|p| p.id == l.product_id).cloned().ok_or(AppError::NotFound)?;
        match (product.is_active, prices.remove(&l.product_id)) {
            (true, Some(price)) => lines.push(QuotedLine { line_id: l.id, quantity: l.quantity, product, price }),
            (active, _) => {
                let reason = if active { Unavailable::NoPrice } else { Unavailable::Inactive };
                unavailable.push(UnavailableLine { line_id: l.id, quantity: l.quantity, product, reason });
            }
        }
    }
    let currency = Currency::parse(&list.currency).map_err(|e| AppError::Internal(e.to_string()))?;
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
    input.customer = Some(CustomerId(user));
    if let Some(code) = code
        && let Ok(vc) = VoucherCode::parse(&code)
        && let Some(v) = store.voucher_by_code(vc.as_str()).await?
    {
        input.vouchers.push(VoucherGrant { code: vc, offer: OfferId(v.promotion_id) });
        voucher = Some(v);
    }
    // Usage of the limited offers the basket can meet, read only when there are such.
    let limited = offers.limited_for(&input.lines, &input.vouchers, input.explain_all);
    if !limited.is_empty() {
        input.usage = store.usage_of(&limited, Some(user)).await?;
    }
    let gift_stock = gifts::stock(app, &offers, list.id).await?;
    input.gifts = gifts::engine_stock(&gift_stock);
    let pricing = price(&input, &offers);
    let invalid = input.validate().err().map(|e| e.to_string());
    // The gift lines the pricing gave, in its order (`pricing.gifts[k]`).
    let gift_lines = pricing
        .gifts
        .iter()
        .filter_map(|g| {
            gift_stock.get(&g.sku).map(|s| QuotedGift { offer: g.offer, quantity: g.quantity, gift: s.clone() })
        })
        .collect();
    Ok(Quote {
        basket,
        currency,
        price_list_id: list.id,
        stock_list_id: catalog.stock_list.map(|s| s.id),
        lines,
        unavailable,
        voucher,
        offers,
        offer_versions: snapshot.versions,
        pricing,
        gifts: gift_lines,
        invalid,
    })
}

/// Why the quote cannot be checked out as it stands because of its unavailable lines, naming
/// their products, or `None` when every line can be bought.
pub fn unavailable_refusal(q: &Quote) -> Option<String> {
    let skus: Vec<&str> = q.unavailable.iter().map(|u| u.product.sku.as_str()).collect();
    match skus.as_slice() {
        [] => None,
        [one] => Some(format!("Product {one} is no longer available; remove it from the basket to check out.")),
        many => Some(format!(
            "Products {} are no longer available; remove them from the basket to check out.",
            many.join(", ")
        )),
    }
}

/// Why the quote's voucher does not apply, or `None` when it does.
pub async fn voucher_refusal(app: &App, q: &Quote, user: i64, code: &str) -> AppResult<Option<String>> {
    let Some(v) = &q.voucher else {
        return Ok(Some(format!("Voucher code \"{code}\" was not found.")));
    };
    if let Some(r) = vouchers::refusal(app, v, Some(user)).await? {
        return Ok(Some(
            match r {
                VoucherRefusal::NotAssigned => "This voucher is not available to you.",
                VoucherRefusal::AlreadyUsed => "This voucher has already been used.",
                VoucherRefusal::AlreadyUsedByCustomer => "You have already used this voucher.",
                // A storefront customer is always known; kept for completeness.
                VoucherRefusal::NeedsCustomer => "This voucher needs a signed-in customer.",
            }
            .into(),
        ));
    }
    if q.pricing.applied.iter().any(|a| a.offer.0 == v.promotion_id) {
        return Ok(None);
    }
    let why = q.pricing.not_applied.iter().find(|n| n.offer.0 == v.promotion_id);
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

/// Adds units of a product (`add`) or sets its quantity (0 removes it). The product must
/// exist, be active and have a price when units are added. The quantity's bounds are the
/// caller's to check (they are part of the request's syntax, reported with its other fields).
///
/// A line's total (price × quantity) must fit in an `i64` ([`line_cap`]): a product priced
/// near `i64::MAX / 100` minor units overflowed past quantity 100. The store enforces the
/// resulting quantity in the same statement that writes it.
pub async fn change_line(app: &App, user: i64, product: i64, quantity: i64, add: bool) -> AppResult<()> {
    let store = app.store();
    let bad = || AppError::Field {
        field: "product".into(),
        message: format!("Invalid pk \"{product}\" - object does not exist."),
    };
    let p = store.product(product).await.map_err(|_| bad())?;
    let mut cap = MAX_LINE_QUANTITY;
    if quantity > 0 {
        if !p.is_active {
            return Err(bad());
        }
        let list = store.default_price_list().await?;
        let Some((_, price)) = store.prices_for(list.id, &[product]).await?.into_iter().next() else {
            return Err(AppError::Field {
                field: "product".into(),
                message: "This product has no price and cannot be bought.".into(),
            });
        };
        cap = line_cap(price.price);
    }
    match store.change_basket_line(user, product, quantity, add, cap).await? {
        LineChange::Changed => Ok(()),
        LineChange::OverCap { would_be } if !(0..=MAX_LINE_QUANTITY).contains(&would_be) => Err(AppError::Refused(
            format!("Ensure the quantity of a product is at most {MAX_LINE_QUANTITY} (it would be {would_be})."),
        )),
        LineChange::OverCap { would_be } => Err(AppError::Field {
            field: "quantity".into(),
            message: format!(
                "The line total would be too large: at most {cap} of product {} fit in one basket line \
                 (it would be {would_be}).",
                p.sku
            ),
        }),
        LineChange::TooManyLines => {
            Err(AppError::Refused(format!("A basket may hold at most {MAX_LINES} different products.")))
        }
    }
}

/// The most units of a product priced `price` one line may hold: [`MAX_LINE_QUANTITY`], or
/// fewer when their total would not fit in an `i64`. (A total past 15 integer digits still
/// fits: such a basket shows, and checkout refuses it as the engine does.)
pub fn line_cap(price: i64) -> i64 {
    if price <= 0 { MAX_LINE_QUANTITY } else { (i64::MAX / price).min(MAX_LINE_QUANTITY) }
}

/// Applies a voucher code to the basket if it applies now (otherwise says why), or removes
/// the basket's code (`None`).
pub async fn set_voucher(app: &App, user: i64, code: Option<&VoucherCode>) -> AppResult<()> {
    let store = app.store();
    let Some(code) = code else {
        store.set_basket_voucher(user, None).await?;
        return Ok(());
    };
    let basket = store.basket(user).await?;
    let q = quote(app, user, basket, Some(code.as_str())).await?;
    if let Some(why) = voucher_refusal(app, &q, user, code.as_str()).await? {
        return Err(AppError::Field { field: "voucher_code".into(), message: why });
    }
    Ok(store.set_basket_voucher(user, Some(code.as_str())).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_total_fits_in_i64() {
        assert_eq!(line_cap(19_990), MAX_LINE_QUANTITY);
        assert_eq!(line_cap(0), MAX_LINE_QUANTITY);
        // 9999999999999.99 × 1000 still fits (checkout refuses the total, the view shows it).
        assert_eq!(line_cap(999_999_999_999_999), MAX_LINE_QUANTITY);
        // ~ i64::MAX / 100 minor units: 100 units fit, 101 would overflow.
        assert_eq!(line_cap(92_233_720_368_547_700), 100);
        assert_eq!(line_cap(i64::MAX), 1);
        for price in [1, 7, 99_999, 10i64.pow(14) + 3, 10i64.pow(17) - 1, i64::MAX / 3] {
            assert!(price.checked_mul(line_cap(price)).is_some(), "{price}");
        }
    }
}
