//! The step from a priced basket (or an external cart) to an order draft: what checkout
//! writes, before it has ids.
//!
//! An order has one unit per quantity (as Akinon does: each unit has its own status and
//! cancellation), one discount per applied offer or external custom discount with its share
//! of each unit it touched (Σ shares = the discount's amount) and the units that satisfied
//! its condition, and the usage it consumes. Unit indexes in a draft point into
//! [`OrderDraft::units`]; the store turns them into order item ids when it writes.
//!
//! Two builders: [`order_draft`] for a basket priced by the engine (storefront checkout)
//! and [`custom_order_draft`] for an Elastic Path cart with custom discounts. Addresses,
//! the customer blob, the order number and status stay with the caller (the store's
//! envelope), since they are not the domain's to compute.

use crate::allocation::{CustomDiscount, CustomLine, CustomSpread, CustomTarget, spread_custom};
use crate::engine::Pricing;
use crate::ids::{CustomerId, OfferId, ProductId, VoucherId};
use crate::index::OfferIndex;
use crate::offer::{Offer, OfferKind};
use crate::refund::RefundPolicy;
use crate::voucher::VoucherUsage;

/// One unit of an order: its price, tax and product data as they were at checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitDraft {
    pub product: ProductId,
    /// Groups the units of one basket line / cart item (the Elastic Path item id).
    pub line_key: String,
    pub price: i64,
    pub retail_price: Option<i64>,
    /// Basis points (1800 = 18%).
    pub tax_rate: i64,
    pub price_list_id: Option<i64>,
    pub stock_list_id: Option<i64>,
    pub product_name: String,
    pub product_sku: String,
}

/// Where a discount comes from: Akinon's `offer_type` of the discount item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum DiscountSource {
    /// An offer applied by the engine (site, coupon or voucher offer).
    #[default]
    BasketOffer,
    /// A custom discount from an external engine (Elastic Path).
    CustomDiscount,
}

impl DiscountSource {
    pub fn as_str(self) -> &'static str {
        match self {
            DiscountSource::BasketOffer => "basket_offer",
            DiscountSource::CustomDiscount => "custom_discount",
        }
    }
}

/// The external engine's names for a custom discount.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExternalRef {
    /// The discount's id in the cart (Elastic Path's custom discount id).
    pub uuid: String,
    pub external_id: String,
    pub discount_engine: String,
    pub description: String,
}

/// One discount of an order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DiscountDraft {
    pub name: String,
    /// Positive, minor units; equals the sum of `shares`.
    pub amount: i64,
    pub source: DiscountSource,
    /// The offer kind, for offers reached through a code or a customer assignment; `None`
    /// for site offers and custom discounts (Akinon's `session_offer_type`).
    pub offer_kind: Option<OfferKind>,
    pub code: Option<String>,
    pub offer: Option<OfferId>,
    pub external: Option<ExternalRef>,
    /// For an item-level custom discount: the line it belongs to.
    pub line_key: Option<String>,
    /// (unit index, share in minor units), shares > 0.
    pub shares: Vec<(usize, i64)>,
    /// Indexes of the units that satisfied the condition.
    pub condition_units: Vec<usize>,
    /// How often the offer applied (given back when the discount is wholly reversed).
    pub applications: u32,
    /// The offer's refund policy, kept with the order so later edits do not move old
    /// refunds.
    pub refund_policy: RefundPolicy,
    /// Under `reprice`: the offer as it was at checkout, which a cancellation prices the
    /// kept units with ([`crate::refund`]).
    pub reprice_offer: Option<Offer>,
}

/// Usage an order consumes, checked against its limit in the transaction that writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageClaim {
    /// Global applications and budget of an offer.
    Offer { offer: OfferId, applications: u32, discount: i64, max_applications: Option<u32>, max_discount: Option<i64> },
    /// A customer's applications of an offer.
    CustomerOffer { offer: OfferId, customer: CustomerId, applications: u32, max_applications: Option<u32> },
    /// One use of a voucher code, limited by its usage (`single_use`: once ever;
    /// `once_per_customer`: once per customer; `multi_use`: no limit).
    Voucher { voucher: VoucherId, usage: VoucherUsage, customer: Option<CustomerId> },
}

/// Everything an order is made of besides its envelope (number, customer, status,
/// currency, addresses).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderDraft {
    pub shipping_free: bool,
    pub units: Vec<UnitDraft>,
    pub discounts: Vec<DiscountDraft>,
    pub claims: Vec<UsageClaim>,
}

/// A priced basket line's catalogue data: what each of its units records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftLine {
    pub line_key: String,
    pub product: ProductId,
    pub product_name: String,
    pub product_sku: String,
    pub quantity: u32,
    pub price: i64,
    pub retail_price: Option<i64>,
    pub tax_rate: i64,
    pub price_list_id: Option<i64>,
    pub stock_list_id: Option<i64>,
}

/// The voucher code a basket carries, resolved and found usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DraftVoucher {
    pub id: VoucherId,
    pub offer: OfferId,
    pub usage: VoucherUsage,
}

/// The order draft of a basket the engine priced: `lines` are the basket lines in the
/// order they were priced (`pricing.lines[i]` belongs to `lines[i]`), followed by one line
/// per gift line (`pricing.gifts[k]` belongs to `lines[pricing.lines.len() + k]`): each gift
/// unit becomes an order item, its share the whole of its price.
///
/// Every applied offer becomes one discount (source `basket_offer`; its kind as
/// `offer_kind` unless it is a site offer) and claims its applications and discount,
/// globally and for the customer (when there is one); the basket's voucher claims one use
/// when its offer applied.
pub fn order_draft(
    pricing: &Pricing,
    offers: &OfferIndex,
    lines: &[DraftLine],
    customer: Option<CustomerId>,
    voucher: Option<&DraftVoucher>,
) -> OrderDraft {
    let mut offsets = Vec::with_capacity(pricing.lines.len() + pricing.gifts.len());
    let mut n = 0;
    for l in &pricing.lines {
        offsets.push(n);
        n += l.units.len();
    }
    for g in &pricing.gifts {
        offsets.push(n);
        n += g.units.len();
    }
    let mut units = Vec::with_capacity(n);
    for l in lines {
        for _ in 0..l.quantity {
            units.push(UnitDraft {
                product: l.product,
                line_key: l.line_key.clone(),
                price: l.price,
                retail_price: l.retail_price,
                tax_rate: l.tax_rate,
                price_list_id: l.price_list_id,
                stock_list_id: l.stock_list_id,
                product_name: l.product_name.clone(),
                product_sku: l.product_sku.clone(),
            });
        }
    }
    let mut discounts = Vec::with_capacity(pricing.applied.len());
    let mut claims = Vec::new();
    for a in &pricing.applied {
        let offer = offers.get(a.offer);
        let kind = offer.map_or(OfferKind::Site, |o| o.kind);
        discounts.push(DiscountDraft {
            name: a.name.clone(),
            amount: a.amount,
            source: DiscountSource::BasketOffer,
            offer_kind: (kind != OfferKind::Site).then_some(kind),
            code: a.code.as_ref().map(|c| c.as_str().to_owned()),
            offer: Some(a.offer),
            shares: a.benefit_units.iter().map(|(u, s)| (offsets[u.line] + u.unit, *s)).collect(),
            condition_units: a.condition_units.iter().map(|u| offsets[u.line] + u.unit).collect(),
            applications: a.applications,
            refund_policy: offer.map_or(RefundPolicy::KeepShares, |o| o.refund_policy),
            reprice_offer: offer.filter(|o| o.refund_policy == RefundPolicy::Reprice).cloned(),
            ..DiscountDraft::default()
        });
        claims.push(UsageClaim::Offer {
            offer: a.offer,
            applications: a.applications,
            discount: a.amount,
            max_applications: offer.and_then(|o| o.max_global_applications),
            max_discount: offer.and_then(|o| o.max_discount),
        });
        if let Some(customer) = customer {
            claims.push(UsageClaim::CustomerOffer {
                offer: a.offer,
                customer,
                applications: a.applications,
                max_applications: offer.and_then(|o| o.max_user_applications),
            });
        }
        if let Some(v) = voucher.filter(|v| v.offer == a.offer) {
            claims.push(UsageClaim::Voucher { voucher: v.id, usage: v.usage, customer });
        }
    }
    OrderDraft { shipping_free: pricing.shipping_free, units, discounts, claims }
}

/// A line of an external cart with the catalogue product its units become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomItem {
    /// The cart item's id: the units' `line_key`.
    pub key: String,
    pub product: ProductId,
    pub name: String,
    pub sku: String,
    pub line: CustomLine,
}

/// An external custom discount and the names it is recorded under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalDiscount {
    /// The amount (positive) and what it applies to.
    pub allocation: CustomDiscount,
    /// The discount code the cart shows (Akinon's `code`).
    pub code: String,
    pub external: ExternalRef,
}

/// The custom discounts exceed what is left of the units they apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("The custom discounts exceed the value of the items they apply to.")]
pub struct DiscountsExceedItems;

/// The order draft of an external cart: one unit per quantity (no tax, no price list), one
/// discount per custom discount (source `custom_discount`, no offer, item-level ones keyed to
/// their item), in the order [`spread_custom`] places them, with its shares. No usage is
/// claimed. Refused when a discount cannot be placed in full.
pub fn custom_order_draft(
    items: &[CustomItem],
    discounts: &[ExternalDiscount],
) -> Result<OrderDraft, DiscountsExceedItems> {
    let lines: Vec<CustomLine> = items.iter().map(|i| i.line).collect();
    let allocations: Vec<CustomDiscount> = discounts.iter().map(|d| d.allocation).collect();
    let CustomSpread { units, mut shares, order, short } = spread_custom(&lines, &allocations);
    if short {
        return Err(DiscountsExceedItems);
    }
    let units = units
        .iter()
        .map(|&(i, price)| UnitDraft {
            product: items[i].product,
            line_key: items[i].key.clone(),
            price,
            retail_price: None,
            tax_rate: 0,
            price_list_id: None,
            stock_list_id: None,
            product_name: items[i].name.clone(),
            product_sku: items[i].sku.clone(),
        })
        .collect();
    let discounts = order
        .iter()
        .map(|&k| {
            let d = &discounts[k];
            DiscountDraft {
                name: d.external.description.clone(),
                amount: d.allocation.amount,
                source: DiscountSource::CustomDiscount,
                code: Some(d.code.clone()),
                external: Some(d.external.clone()),
                line_key: match d.allocation.target {
                    CustomTarget::Line(i) => items.get(i).map(|it| it.key.clone()),
                    CustomTarget::Cart => None,
                },
                shares: std::mem::take(&mut shares[k]),
                ..DiscountDraft::default()
            }
        })
        .collect();
    Ok(OrderDraft { shipping_free: false, units, discounts, claims: Vec::new() })
}

#[cfg(test)]
mod tests {
    //! A priced basket with live offers becomes discounts whose shares land on the right
    //! units and sum exactly; a custom cart becomes discounts placed by the contract's rule.

    use super::*;
    use crate::basket::{Line, PricingInput};
    use crate::engine::price;
    use crate::money::{Currency, Percent};
    use crate::offer::{Benefit, BenefitKind, Condition, ConditionKind, Offer, Range};
    use crate::time::Timestamp;

    fn try_() -> Currency {
        Currency::parse("try").unwrap()
    }

    /// `(product, quantity, unit price)` per line, priced against `offers`.
    fn priced(lines: &[(i64, u32, i64)], offers: Vec<Offer>) -> (Pricing, OfferIndex, Vec<DraftLine>) {
        let index = OfferIndex::build(offers);
        let input = PricingInput::new(
            try_(),
            Timestamp(0),
            lines.iter().map(|&(pid, q, p)| Line::new(pid, &format!("SKU-{pid}"), q, p)).collect(),
        );
        let pricing = price(&input, &index);
        let draft_lines = lines
            .iter()
            .enumerate()
            .map(|(i, &(pid, quantity, price))| DraftLine {
                line_key: (i + 1).to_string(),
                product: ProductId(pid),
                product_name: format!("P{pid}"),
                product_sku: format!("SKU-{pid}"),
                quantity,
                price,
                retail_price: None,
                tax_rate: 0,
                price_list_id: Some(1),
                stock_list_id: Some(1),
            })
            .collect();
        (pricing, index, draft_lines)
    }

    fn multibuy(id: i64) -> Offer {
        let mut o = Offer::new(
            id,
            "3 al 2 Öde",
            try_(),
            Condition { kind: ConditionKind::Count(3), range: Range::all() },
            Benefit { kind: BenefitKind::Multibuy, max_affected_items: None, range: Range::all() },
        );
        o.max_global_applications = Some(10);
        o
    }

    #[test]
    fn multibuy_becomes_one_discount_item_with_exact_shares() {
        let (pricing, index, lines) = priced(&[(414, 3, 19990)], vec![multibuy(7)]);
        let draft = order_draft(&pricing, &index, &lines, Some(CustomerId(9)), None);
        assert_eq!(draft.units.len(), 3);
        assert_eq!(draft.discounts.len(), 1);
        let d = &draft.discounts[0];
        assert_eq!((d.amount, d.offer, d.source.as_str()), (19990, Some(OfferId(7)), "basket_offer"));
        assert_eq!(d.offer_kind, None, "a site offer");
        let mut shares: Vec<i64> = d.shares.iter().map(|s| s.1).collect();
        shares.sort_unstable();
        assert_eq!(shares, vec![6663, 6663, 6664]);
        assert!(draft.claims.contains(&UsageClaim::Offer {
            offer: OfferId(7),
            applications: 1,
            discount: 19990,
            max_applications: Some(10),
            max_discount: None
        }));
        assert!(draft.claims.contains(&UsageClaim::CustomerOffer {
            offer: OfferId(7),
            customer: CustomerId(9),
            applications: 1,
            max_applications: None
        }));
    }

    #[test]
    fn the_voucher_claims_a_use_when_its_offer_applied() {
        let (pricing, _, lines) = priced(&[(414, 3, 19990)], vec![multibuy(7)]);
        // The draft reads the offer's kind and limits from the index it is given.
        let mut coded = multibuy(7);
        coded.kind = OfferKind::VoucherCode;
        let index = OfferIndex::build(vec![coded]);
        let voucher = DraftVoucher { id: VoucherId(3), offer: OfferId(7), usage: VoucherUsage::OncePerCustomer };
        let draft = order_draft(&pricing, &index, &lines, Some(CustomerId(9)), Some(&voucher));
        assert_eq!(draft.discounts[0].offer_kind, Some(OfferKind::VoucherCode));
        assert_eq!(
            draft.claims.last(),
            Some(&UsageClaim::Voucher {
                voucher: VoucherId(3),
                usage: VoucherUsage::OncePerCustomer,
                customer: Some(CustomerId(9))
            })
        );
        // Another offer's voucher claims nothing; without a customer, only global usage.
        let other = DraftVoucher { offer: OfferId(8), ..voucher };
        let draft = order_draft(&pricing, &index, &lines, None, Some(&other));
        assert!(draft.claims.iter().all(|c| matches!(c, UsageClaim::Offer { .. })), "{:?}", draft.claims);
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
            let lines: Vec<(i64, u32, i64)> =
                (0..1 + next(6)).map(|i| (100 + i as i64, 1 + next(5) as u32, 1 + next(50_000) as i64)).collect();
            let mut pct = Offer::new(
                2,
                "pct",
                try_(),
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
                try_(),
                Condition::none(),
                Benefit { kind: BenefitKind::Fixed(777), max_affected_items: None, range: Range::all() },
            );
            fixed.exclusive = false;
            let (pricing, index, draft_lines) = priced(&lines, vec![multibuy(1), pct, fixed]);
            let draft = order_draft(&pricing, &index, &draft_lines, Some(CustomerId(9)), None);
            let units: u32 = lines.iter().map(|l| l.1).sum();
            assert_eq!(draft.units.len() as u32, units);
            let mut per_unit = vec![0i64; draft.units.len()];
            for d in &draft.discounts {
                assert_eq!(d.shares.iter().map(|s| s.1).sum::<i64>(), d.amount, "Σ shares = amount");
                for &(i, s) in &d.shares {
                    per_unit[i] += s;
                }
            }
            for (it, d) in draft.units.iter().zip(&per_unit) {
                assert!(*d <= it.price, "no unit below zero");
            }
            assert_eq!(per_unit.iter().sum::<i64>(), pricing.total_discount);
            discount_items += draft.discounts.len();
        }
        assert!(discount_items > 300, "the offers applied: {discount_items}");
    }

    fn item(key: &str, product: i64, unit_price: i64, quantity: u32) -> CustomItem {
        CustomItem {
            key: key.into(),
            product: ProductId(product),
            name: format!("Item {key}"),
            sku: format!("sku-{key}"),
            line: CustomLine { unit_price, quantity },
        }
    }

    fn external(id: &str, amount: i64, target: CustomTarget) -> ExternalDiscount {
        ExternalDiscount {
            allocation: CustomDiscount { amount, target },
            code: format!("CODE-{id}"),
            external: ExternalRef {
                uuid: id.into(),
                external_id: format!("ext-{id}"),
                discount_engine: "engine".into(),
                description: format!("Discount {id}"),
            },
        }
    }

    #[test]
    fn a_custom_cart_becomes_units_and_discounts_item_level_first() {
        let items = [item("a", 1, 300, 1), item("b", 2, 100, 2)];
        let discounts = [external("cart", 2, CustomTarget::Cart), external("onb", 50, CustomTarget::Line(1))];
        let draft = custom_order_draft(&items, &discounts).unwrap();
        assert_eq!(
            draft.units.iter().map(|u| (u.line_key.as_str(), u.price)).collect::<Vec<_>>(),
            [("a", 300), ("b", 100), ("b", 100)]
        );
        assert_eq!(draft.units[1].product, ProductId(2));
        let names: Vec<&str> = draft.discounts.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["Discount onb", "Discount cart"]);
        let onb = &draft.discounts[0];
        assert_eq!((onb.line_key.as_deref(), onb.amount, &onb.shares[..]), (Some("b"), 50, &[(1, 25), (2, 25)][..]));
        assert_eq!(onb.source, DiscountSource::CustomDiscount);
        assert_eq!((onb.offer, onb.code.as_deref()), (None, Some("CODE-onb")));
        // The cart-level 0.02 by unit price (3:1:1): 0.012 floors to 0.01 on the 3.00 unit;
        // the leftover goes to the largest remainder, the 1.00 units tie, the later one wins.
        assert_eq!(draft.discounts[1].shares, vec![(0, 1), (2, 1)]);
        assert!(draft.claims.is_empty());
        assert!(!draft.shipping_free);

        let too_much = [external("x", 401, CustomTarget::Line(1))];
        assert_eq!(custom_order_draft(&items, &too_much), Err(DiscountsExceedItems));
    }
}
