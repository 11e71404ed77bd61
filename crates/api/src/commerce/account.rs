//! Commerce account views (customer, by `Authorization: Token` or the `osessionid` cookie),
//! seed 001: `/account/basket-offers/` (open offers assigned to me, not paginated),
//! `/account/future-basket-offers/`, `/account/expired-basket-offers/` and
//! `/account/discount-items/` (the discounts on my orders).
//!
//! "Assigned to me" means coupon and coupon-code offers listing me as a customer, and
//! voucher codes assigned to me (`voucher_customers`); site offers apply to everyone and are
//! not listed, as the contract says. The `x-currency` header (the storefront sends it)
//! keeps only offers in that currency. A customer only ever sees their own rows.
//!
//! `total_discount` adds up amounts of one currency only: the session currency
//! (`x-currency`), or without it the default price list's currency, the one the basket is
//! quoted in. `discounts` still lists the fixed offers of every currency; those in other
//! currencies are not added in, since a sum of lira and dollars means nothing. The sum is
//! taken in exact minor units of that currency and written as a JSON number from its
//! decimal text, so a currency with three minor digits keeps them and no float rounds it.
//!
//! Queries per request: offers 1 (open; plus the default price list when no `x-currency`
//! is given and there are offers) or 2 (count + page); discount items 4 (count, ids, then
//! the ledger loader's discount rows and their orders); plus the credential lookup.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use offerline_app::identity::User;
use offerline_app::ledger::{self, CustomerOffer, LedgerFilter, OfferWindow, Parts};
use offerline_app::{AppError, catalog};
use offerline_core::{Currency, parse_minor};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::AppState;
use crate::commerce::wire::{AccountDiscountItem, AccountOffer, BasketOffers, OfferCondition, ValueLabel};
use crate::http::auth::Customer;
use crate::http::error::{ApiError, ApiResult};
use crate::http::listing::{Listing, Page, Spec};
use crate::http::wire::{money, number_text, ts};
/// `{value, label}` of a currency as the storefront shows it (`try` is "TL").
fn currency_label(code: &str) -> ValueLabel {
    let label = match code {
        "try" => "TL".to_owned(),
        other => other.to_ascii_uppercase(),
    };
    ValueLabel { value: code.to_owned(), label }
}

/// A decimal given as a JSON string or number (`"500.00"`, `3`, `"50"`) as a JSON number:
/// an integer when it is whole (`50`, as the seed shows), else a float (`12.5`).
fn number(v: Option<&Value>) -> Value {
    let f = match v {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match f {
        Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9e15 => json!(f as i64),
        Some(f) if f.is_finite() => json!(f),
        _ => Value::Null,
    }
}

fn offer_type_label(t: &str) -> ValueLabel {
    let label = match t {
        "coupon" => "Coupon",
        "coupon_code" => "Coupon Code",
        "voucher_code" => "Voucher Code",
        "site" => "Site",
        other => other,
    };
    ValueLabel { value: t.to_owned(), label: label.to_owned() }
}

fn value_label(value: &str, label: &str) -> ValueLabel {
    ValueLabel { value: value.to_owned(), label: label.to_owned() }
}

fn account_offer(o: &CustomerOffer) -> AccountOffer {
    let def: Value = serde_json::from_str(&o.definition).unwrap_or(Value::Null);
    let benefit = def.get("benefit");
    let btype = benefit.and_then(|b| b.get("type")).and_then(Value::as_str).unwrap_or("");
    let bvalue = benefit
        .and_then(|b| b.get("value"))
        .filter(|v| !v.is_null())
        .or_else(|| benefit.and_then(|b| b.get("tiers")).and_then(|t| t.get(0)).and_then(|t| t.get("value")));
    let (benefit_type, amount, percentage) = match btype {
        "percentage" => (value_label("percentage", "Percentage"), json!(0), number(bvalue)),
        "shipping_free" => (value_label("shipping_free", "Shipping Free"), json!(0), Value::Null),
        "fixed" | "fixed_per_unit" => {
            let a = number(bvalue);
            (value_label("fixed", "Fixed"), if a.is_null() { json!(0) } else { a }, Value::Null)
        }
        _ => (value_label("fixed", "Fixed"), json!(0), Value::Null),
    };
    let cond = def.get("condition");
    let ctype = match cond.and_then(|c| c.get("type")).and_then(Value::as_str) {
        Some("amount") => Some("Amount"),
        Some("count") => Some("Count"),
        Some("coverage") => Some("Coverage"),
        _ => None,
    };
    let cvalue = if ctype.is_none() { Value::Null } else { number(cond.and_then(|c| c.get("value"))) };
    let label = if o.label.trim().is_empty() { o.name.clone() } else { o.label.clone() };
    AccountOffer {
        label,
        amount,
        percentage,
        end_datetime: o.end_at.map(ts),
        start_datetime: o.start_at.map(ts),
        currency: currency_label(&o.currency),
        voucher_code: o.code.clone(),
        offer_type: offer_type_label(&o.offer_type),
        condition: OfferCondition { kind: ctype.map(str::to_owned), value: cvalue },
        benefit_type,
    }
}

fn session_currency(headers: &HeaderMap) -> ApiResult<Option<String>> {
    match headers.get("x-currency").and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(c) => Currency::parse(c)
            .map(|c| Some(c.as_str().to_owned()))
            .map_err(|_| ApiError::field("currency", format!("\"{c}\" is not a valid choice."))),
    }
}

pub(super) async fn basket_offers(
    Customer(u): Customer,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<BasketOffers>> {
    let currency = session_currency(&headers)?;
    let (_, offers) = ledger::customer_offers(&state.app, u.id, currency.as_deref(), OfferWindow::Open, 0, 0).await?;
    let total_currency = match currency {
        Some(c) => Some(c),
        None if offers.is_empty() => None,
        None => match catalog::default_price_list(&state.app).await {
            Ok(list) => Some(list.currency),
            Err(AppError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
    };
    let all: Vec<AccountOffer> = offers.iter().map(account_offer).collect();
    let (mut discounts, mut total) = (Vec::new(), 0i128);
    for (o, v) in offers.iter().zip(&all) {
        if v.benefit_type.value == "fixed" {
            discounts.push(account_offer(o));
            if total_currency.as_deref().is_none_or(|c| c.eq_ignore_ascii_case(&o.currency)) {
                total += i128::from(fixed_amount_minor(o));
            }
        }
    }
    let digits = total_currency.as_deref().and_then(|c| Currency::parse(c).ok()).map_or(2, |c| c.minor_digits());
    Ok(Json(BasketOffers { discounts, total_discount: decimal_number(total, digits), all_discounts: all }))
}

fn fixed_amount_minor(o: &CustomerOffer) -> i64 {
    let def: Value = serde_json::from_str(&o.definition).unwrap_or(Value::Null);
    let digits = Currency::parse(&o.currency).map_or(2, |c| c.minor_digits());
    let text = match def.get("benefit").and_then(|b| b.get("value")) {
        Some(Value::String(s)) => Some(s.trim().to_owned()),
        Some(Value::Number(n)) => number_text(n, digits),
        _ => None,
    };
    text.and_then(|t| parse_minor(&t, digits).ok()).unwrap_or(0)
}

/// A minor-unit amount as a JSON number written from its exact decimal text: an integer
/// when it is whole (`50`), else its shortest decimal (`62.5`, `1.235`). Up to 15
/// significant digits this is the very text the `f64` total of old wrote; beyond that a
/// double would round it, and this stays exact.
fn decimal_number(minor: i128, digits: u32) -> Box<RawValue> {
    let scale = 10u128.pow(digits);
    let (abs, sign) = (minor.unsigned_abs(), if minor < 0 { "-" } else { "" });
    let (int, frac) = (abs / scale, abs % scale);
    let text = if frac == 0 {
        format!("{sign}{int}")
    } else {
        let frac = format!("{frac:0width$}", width = digits as usize);
        format!("{sign}{int}.{}", frac.trim_end_matches('0'))
    };
    RawValue::from_string(text).expect("a decimal is a JSON number")
}

async fn window_offers(
    u: &User,
    state: &AppState,
    headers: &HeaderMap,
    listing: &Listing,
    window: OfferWindow,
) -> ApiResult<Page<AccountOffer>> {
    let currency = session_currency(headers)?;
    let offset = (listing.page - 1).saturating_mul(listing.limit);
    let (count, offers) =
        ledger::customer_offers(&state.app, u.id, currency.as_deref(), window, listing.limit, offset).await?;
    listing.page(count, offers.iter().map(account_offer))
}

pub(super) async fn future_offers(
    Customer(u): Customer,
    State(state): State<AppState>,
    headers: HeaderMap,
    listing: Listing,
) -> ApiResult<Json<Page<AccountOffer>>> {
    Ok(Json(window_offers(&u, &state, &headers, &listing, OfferWindow::Future).await?))
}

pub(super) async fn expired_offers(
    Customer(u): Customer,
    State(state): State<AppState>,
    headers: HeaderMap,
    listing: Listing,
) -> ApiResult<Json<Page<AccountOffer>>> {
    Ok(Json(window_offers(&u, &state, &headers, &listing, OfferWindow::Expired).await?))
}

/// My discount items, newest first. `sort` and the common filters apply; the order filter
/// is always "my orders" (`orders (user_id, id)` index).
pub(super) async fn discount_items(
    Customer(u): Customer,
    State(state): State<AppState>,
    listing: Listing,
) -> ApiResult<Json<Page<AccountDiscountItem>>> {
    const SPEC: Spec = Spec { filters: &[], sorts: &[], default_sort: ("created_at", true) };
    let q = listing.query(&SPEC)?;
    let mine = LedgerFilter { customer: Some(u.id), ..LedgerFilter::default() };
    let (count, ledger) = ledger::discount_items(&state.app, &q, &mine, Parts::NONE).await?;
    let results = ledger.discounts().map(|d| {
        let c = d.order().currency.as_str();
        AccountDiscountItem {
            amount: money(d.amount, c),
            cancel_amount: money(d.cancel_amount, c),
            created_date: ts(d.created_at),
            currency: currency_label(c),
            name: d.name.clone(),
            order_number: d.order().number.clone(),
        }
    });
    Ok(Json(listing.page(count, results)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decimal_total_is_written_as_the_float_total_was_and_exactly_beyond() {
        for minor in [0i64, 1, 10, 30, 5000, 6250, 6750, 19_990, 123_456_789_012_345] {
            let old = if minor % 100 == 0 { json!(minor / 100) } else { json!(minor as f64 / 100.0) };
            assert_eq!(decimal_number(i128::from(minor), 2).get(), old.to_string(), "{minor}");
        }
        assert_eq!(decimal_number(1235, 3).get(), "1.235");
        assert_eq!(decimal_number(500, 0).get(), "500");
        assert_eq!(decimal_number(9_999_999_999_999_999, 2).get(), "99999999999999.99");
    }
}
