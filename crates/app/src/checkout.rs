//! Placing an order: the storefront checkout of a customer's basket, written with its
//! usage claims and idempotency key in one transaction (`offerline_store::checkout`, the
//! SQLite group-commit writer or a PostgreSQL transaction).
//!
//! The basket is quoted again here ([`crate::basket::quote`]): prices come from the price
//! list at checkout time, the voucher must still be usable, and the limits the quote read
//! are claimed by the database in the transaction that writes the order, so a checkout that
//! would pass a limit is refused and writes nothing.

use std::sync::Arc;

use offerline_core::status::OrderStatus;
use offerline_core::{Offer, OfferIndex, OfferKind, Pricing};
use offerline_store::checkout::{CheckoutOutcome, CheckoutWrite, Render};
use offerline_store::orders::{NewDiscount, NewOrder, NewOrderItem, UsageClaim};
use offerline_store::{Store, StoreError};
use serde_json::Value as Json;

use crate::basket::{Quote, quote, voucher_refusal};
use crate::error::{AppError, AppResult};

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
pub async fn replayed(store: &Store, user: i64, key: Option<&str>) -> AppResult<Option<Answer>> {
    let Some(k) = key else { return Ok(None) };
    Ok(store.idempotent_response(user, k).await?.map(|(status, body)| Answer { status, body }))
}

/// Checks out `user`'s basket (after [`replayed`] found nothing). With an idempotency
/// `key`, a key seen before answers with its stored response (never a second order), also
/// when this attempt lost the race to a duplicate that emptied the basket first.
pub async fn place(
    store: &Store,
    offers: Arc<OfferIndex>,
    user: i64,
    key: Option<String>,
    shipping_address: Option<Json>,
    render: Render,
) -> AppResult<Answer> {
    match try_place(store, offers, user, key.clone(), shipping_address, render).await {
        Err(e) => {
            if let Some(k) = &key
                && let Some((status, body)) = store.idempotent_response(user, k).await?
            {
                return Ok(Answer { status, body });
            }
            Err(e)
        }
        ok => ok,
    }
}

async fn try_place(
    store: &Store,
    offers: Arc<OfferIndex>,
    user: i64,
    key: Option<String>,
    shipping_address: Option<Json>,
    render: Render,
) -> AppResult<Answer> {
    let basket = store.basket(user).await?;
    if basket.lines.is_empty() {
        return Err(AppError::Refused("The basket is empty.".into()));
    }
    let code = basket.voucher_code.clone();
    let q = quote(store, offers, user, basket, None).await?;
    if let Some(why) = &q.invalid {
        return Err(AppError::Refused(why.clone()));
    }
    if let Some(code) = code
        && let Some(why) = voucher_refusal(store, &q, user, &code).await?
    {
        return Err(AppError::Refused(format!("Voucher {code}: {why}")));
    }
    let stock_list = q.stock_list_id.ok_or(AppError::NotFound)?;
    let (order, claims) = build_order(&q, user, stock_list, shipping_address);
    let write = CheckoutWrite {
        user_id: user,
        basket_id: q.basket.id,
        lines: q.lines.iter().map(|l| (l.line_id, l.quantity)).collect(),
        idempotency_key: key,
        order,
        claims,
    };
    let out = store.checkout(write, render).await.map_err(|e| match e {
        StoreError::LimitReached(_) => {
            AppError::Refused("An offer or voucher in this basket has reached its usage limit.".into())
        }
        other => other.into(),
    })?;
    Ok(match out {
        CheckoutOutcome::Placed { placed, body } => {
            tracing::info!(order = placed.id, number = %placed.number, "order placed");
            Answer { status: 201, body }
        }
        CheckoutOutcome::Replayed { status, body } => Answer { status, body },
    })
}

/// Offsets of each line's first unit in the per-unit order item list.
fn state_index(p: &Pricing) -> Vec<usize> {
    let mut off = Vec::with_capacity(p.lines.len());
    let mut n = 0;
    for l in &p.lines {
        off.push(n);
        n += l.units.len();
    }
    off
}

/// Builds the order, the discount items and the usage claims from a priced basket.
pub(crate) fn build_order(
    q: &Quote,
    user: i64,
    stock_list: i64,
    shipping_address: Option<Json>,
) -> (NewOrder, Vec<UsageClaim>) {
    let offsets = state_index(&q.pricing);
    let mut items = Vec::new();
    for l in &q.lines {
        for _ in 0..l.quantity {
            items.push(NewOrderItem {
                product_id: l.product.id,
                line_key: l.line_id.to_string(),
                price: l.price.price,
                retail_price: l.price.retail_price,
                tax_rate: l.price.tax_rate,
                price_list_id: Some(q.price_list_id),
                stock_list_id: Some(stock_list),
                product_name: l.product.name.clone(),
                product_sku: l.product.sku.clone(),
            });
        }
    }
    let offers = &q.offers;
    let mut discounts = Vec::new();
    let mut claims = Vec::new();
    for a in &q.pricing.applied {
        let offer: Option<&Offer> = offers.get(a.offer);
        let kind = offer.map_or(OfferKind::Site, |o| o.kind);
        discounts.push(NewDiscount {
            name: a.name.clone(),
            amount: a.amount,
            offer_type: "basket_offer".into(),
            session_offer_type: (kind != OfferKind::Site).then(|| kind.as_str().to_owned()),
            code: a.code.as_ref().map(|c| c.as_str().to_owned()),
            promotion_id: Some(a.offer.0),
            shares: a.benefit_units.iter().map(|(u, s)| (offsets[u.line] + u.unit, *s)).collect(),
            condition_items: a.condition_units.iter().map(|u| offsets[u.line] + u.unit).collect(),
            ..Default::default()
        });
        claims.push(UsageClaim::Offer {
            promotion_id: a.offer.0,
            applications: i64::from(a.applications),
            discount: a.amount,
            max_applications: offer.and_then(|o| o.max_global_applications).map(i64::from),
            max_discount: offer.and_then(|o| o.max_discount),
        });
        claims.push(UsageClaim::CustomerOffer {
            promotion_id: a.offer.0,
            user_id: user,
            applications: i64::from(a.applications),
            max_applications: offer.and_then(|o| o.max_user_applications).map(i64::from),
        });
        if let Some(v) = q.voucher.as_ref().filter(|v| v.promotion_id == a.offer.0) {
            claims.push(UsageClaim::Voucher { voucher_id: v.id, usage: v.usage.clone(), user_id: Some(user) });
        }
    }
    let order = NewOrder {
        number: None,
        user_id: Some(user),
        channel: "storefront".into(),
        status: i64::from(OrderStatus::APPROVED.code()),
        currency: q.currency.clone(),
        shipping_free: q.pricing.shipping_free,
        customer: None,
        shipping_address,
        billing_address: None,
        items,
        discounts,
    };
    (order, claims)
}

#[cfg(test)]
mod tests {
    //! The offer-dependent half of checkout, without HTTP: a priced basket with live offers
    //! becomes discount items whose shares land on the right order items and sum exactly.

    use std::sync::Arc;

    use offerline_core::{
        Benefit, BenefitKind, Condition, ConditionKind, Currency, Line, OfferIndex, Percent, PricingInput, Range,
        Timestamp, price,
    };
    use offerline_store::baskets::{Basket, BasketLine};
    use offerline_store::catalog::{Product, ProductPrice};
    use serde_json::json;

    use super::*;
    use crate::basket::QuotedLine;

    fn product(id: i64) -> Product {
        Product {
            id,
            name: format!("P{id}"),
            sku: format!("SKU-{id}"),
            base_code: None,
            barcode: None,
            product_type: "0".into(),
            is_active: true,
            parent_id: None,
            attributes: json!({}),
            attributes_kwargs: json!({}),
            extra_attributes: json!({}),
            attribute_set: None,
            uuid: String::new(),
            productization_date: None,
            listing_code: None,
            data_source: None,
            created_at: 0,
            modified_at: 0,
            images: Vec::new(),
        }
    }

    fn quoted(lines: &[(i64, i64, i64)], offers: Vec<Offer>) -> Quote {
        let offers = Arc::new(OfferIndex::build(offers));
        let try_ = Currency::parse("try").unwrap();
        let input = PricingInput::new(
            try_,
            Timestamp(0),
            lines.iter().map(|&(pid, q, p)| Line::new(pid, &format!("SKU-{pid}"), q as u32, p)).collect(),
        );
        let pricing = price(&input, &offers);
        Quote {
            basket: Basket {
                id: 1,
                user_id: 9,
                voucher_code: None,
                lines: lines
                    .iter()
                    .enumerate()
                    .map(|(i, &(pid, q, _))| BasketLine { id: i as i64 + 1, product_id: pid, quantity: q })
                    .collect(),
            },
            currency: "try".into(),
            price_list_id: 1,
            stock_list_id: Some(1),
            lines: lines
                .iter()
                .enumerate()
                .map(|(i, &(pid, q, p))| QuotedLine {
                    line_id: i as i64 + 1,
                    quantity: q,
                    product: product(pid),
                    price: ProductPrice {
                        id: pid,
                        product_id: pid,
                        price_list_id: 1,
                        price: p,
                        retail_price: None,
                        tax_rate: 0,
                        created_at: 0,
                        modified_at: 0,
                    },
                })
                .collect(),
            voucher: None,
            offers,
            pricing,
            invalid: None,
        }
    }

    fn multibuy(id: i64) -> Offer {
        let mut o = Offer::new(
            id,
            "3 al 2 Öde",
            Currency::parse("try").unwrap(),
            Condition { kind: ConditionKind::Count(3), range: Range::all() },
            Benefit { kind: BenefitKind::Multibuy, max_affected_items: None, range: Range::all() },
        );
        o.max_global_applications = Some(10);
        o
    }

    #[test]
    fn multibuy_becomes_one_discount_item_with_exact_shares() {
        let pb = quoted(&[(414, 3, 19990)], vec![multibuy(7)]);
        let (order, claims) = build_order(&pb, 9, 1, None);
        assert_eq!(order.items.len(), 3);
        assert_eq!(order.discounts.len(), 1);
        let d = &order.discounts[0];
        assert_eq!((d.amount, d.promotion_id, d.offer_type.as_str()), (19990, Some(7), "basket_offer"));
        assert_eq!(d.session_offer_type, None, "a site offer");
        let mut shares: Vec<i64> = d.shares.iter().map(|s| s.1).collect();
        shares.sort_unstable();
        assert_eq!(shares, vec![6663, 6663, 6664]);
        assert!(claims.contains(&UsageClaim::Offer {
            promotion_id: 7,
            applications: 1,
            discount: 19990,
            max_applications: Some(10),
            max_discount: None
        }));
    }

    #[test]
    fn random_baskets_give_exact_ledgers() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut discount_items = 0;
        for _ in 0..300 {
            let lines: Vec<(i64, i64, i64)> =
                (0..1 + next(6)).map(|i| (100 + i as i64, 1 + next(5) as i64, 1 + next(50_000) as i64)).collect();
            let mut pct = Offer::new(
                2,
                "pct",
                Currency::parse("try").unwrap(),
                Condition { kind: ConditionKind::Amount(10_000), range: Range::all() },
                Benefit {
                    kind: BenefitKind::Percentage(Percent::parse("12.5").unwrap()),
                    max_affected_items: None,
                    range: Range::all(),
                },
            );
            pct.exclusive = false;
            let mut fixed = Offer::new(
                3,
                "fixed",
                Currency::parse("try").unwrap(),
                Condition::none(),
                Benefit { kind: BenefitKind::Fixed(777), max_affected_items: None, range: Range::all() },
            );
            fixed.exclusive = false;
            let pb = quoted(&lines, vec![multibuy(1), pct, fixed]);
            let (order, _) = build_order(&pb, 9, 1, None);
            let units: i64 = lines.iter().map(|l| l.1).sum();
            assert_eq!(order.items.len() as i64, units);
            let mut per_unit = vec![0i64; order.items.len()];
            for d in &order.discounts {
                assert_eq!(d.shares.iter().map(|s| s.1).sum::<i64>(), d.amount, "Σ shares = amount");
                for &(i, s) in &d.shares {
                    per_unit[i] += s;
                }
            }
            for (it, d) in order.items.iter().zip(&per_unit) {
                assert!(*d <= it.price, "no unit below zero");
            }
            assert_eq!(per_unit.iter().sum::<i64>(), pb.pricing.total_discount);
            discount_items += order.discounts.len();
        }
        assert!(discount_items > 300, "the offers applied: {discount_items}");
    }
}
