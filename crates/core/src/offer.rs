//! Offers (campaigns, coupons, voucher offers) as the engine reads them.
//!
//! An [`Offer`] is the classic conditional offer: a [`Condition`] over a [`Range`] that the
//! basket must satisfy, a [`Benefit`] over a range that says what is discounted, a validity
//! window, a priority and an exclusivity flag, and limits (per basket, per customer,
//! global, and a money budget). What each kind of condition and benefit *does* is written
//! down in [`crate::engine`]; this module owns the data and the rules that make an offer
//! meaningful at all ([`Offer::validate`]).
//!
//! All money values are minor units of the offer's currency.

use std::collections::{BTreeMap, BTreeSet};

use crate::basket::Line;
use crate::error::{DomainError, FieldErrors};
use crate::ids::{CustomerId, OfferId, ProductId};
use crate::money::{Currency, Percent};
use crate::refund::RefundPolicy;
use crate::time::Timestamp;

/// A set of products, described the way the promotions API describes it.
///
/// A line matches when its sku is not in `excluded_skus` and at least one of: `all`, its sku
/// is in `skus`, its product is in `products`, or for some attribute listed in `attributes`
/// the line's value of that attribute is one of the listed values. An empty range (nothing
/// listed, `all` false) matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Range {
    pub all: bool,
    pub skus: BTreeSet<String>,
    pub products: BTreeSet<ProductId>,
    pub attributes: BTreeMap<String, BTreeSet<String>>,
    pub excluded_skus: BTreeSet<String>,
}

impl Range {
    /// Every product (the API's `{"all": true}` and a missing range).
    pub fn all() -> Self {
        Range { all: true, ..Range::default() }
    }

    pub fn skus<I: IntoIterator<Item = S>, S: Into<String>>(skus: I) -> Self {
        Range { skus: skus.into_iter().map(Into::into).collect(), ..Range::default() }
    }

    pub fn products<I: IntoIterator<Item = ProductId>>(products: I) -> Self {
        Range { products: products.into_iter().collect(), ..Range::default() }
    }

    pub fn attribute<I: IntoIterator<Item = S>, S: Into<String>>(name: &str, values: I) -> Self {
        let mut attributes = BTreeMap::new();
        attributes.insert(name.to_owned(), values.into_iter().map(Into::into).collect());
        Range { attributes, ..Range::default() }
    }

    pub fn excluding<I: IntoIterator<Item = S>, S: Into<String>>(mut self, skus: I) -> Self {
        self.excluded_skus.extend(skus.into_iter().map(Into::into));
        self
    }

    /// Whether a basket line's product is in the range.
    pub fn matches(&self, line: &Line) -> bool {
        if self.excluded_skus.contains(&line.sku) {
            return false;
        }
        self.all
            || self.skus.contains(&line.sku)
            || self.products.contains(&line.product)
            || self
                .attributes
                .iter()
                .any(|(name, values)| line.attributes.get(name).is_some_and(|v| values.contains(v)))
    }

    /// True if no line can match (nothing listed and not `all`).
    pub fn is_empty(&self) -> bool {
        !self.all
            && self.skus.is_empty()
            && self.products.is_empty()
            && self.attributes.values().all(BTreeSet::is_empty)
    }
}

/// What the basket must hold for the offer to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionKind {
    /// The range's units are worth at least this many minor units.
    Amount(i64),
    /// At least this many units of the range.
    Count(u32),
    /// At least this many distinct products of the range.
    Coverage(u32),
    /// Always met.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub kind: ConditionKind,
    pub range: Range,
}

impl Condition {
    /// The condition that is always met (its range is irrelevant).
    pub fn none() -> Self {
        Condition { kind: ConditionKind::None, range: Range::all() }
    }
}

/// What the offer gives. See [`crate::engine`] for the exact arithmetic of each kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BenefitKind {
    /// This percentage off each affected unit.
    Percentage(Percent),
    /// This many minor units off in total, spread over the affected units.
    Fixed(i64),
    /// This many minor units off each affected unit.
    FixedPerUnit(i64),
    /// N units of the condition's range cost this many minor units together.
    FixedPrice(i64),
    /// Buy N pay N−1 (N = the count condition's value); with an amount or coverage
    /// condition, the cheapest unit of the range free once the condition is met.
    Multibuy,
    /// The highest tier the condition reaches applies, once: that percentage off the
    /// range's units.
    PercentageTiers(Vec<Tier<Percent>>),
    /// The highest tier the condition reaches applies, once: that many minor units off in
    /// total, spread over the range's units.
    FixedTiers(Vec<Tier<i64>>),
    /// Shipping costs nothing.
    ShippingFree,
    /// When the condition is met (once per basket), `quantity` units of the product with
    /// this sku join the priced result at their price, discounted to nothing (contract §10).
    Gift { sku: String, quantity: u32 },
}

/// One step of a tiered benefit: from `threshold` (minor units of the condition range for
/// an `amount` condition, units for a `count` condition), `value` applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier<V> {
    pub threshold: i64,
    pub value: V,
}

impl BenefitKind {
    /// The tiers' thresholds, for a tiered benefit.
    pub fn thresholds(&self) -> Option<Vec<i64>> {
        match self {
            BenefitKind::PercentageTiers(t) => Some(t.iter().map(|t| t.threshold).collect()),
            BenefitKind::FixedTiers(t) => Some(t.iter().map(|t| t.threshold).collect()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Benefit {
    pub kind: BenefitKind,
    /// At most this many units are touched per application (`None`: no cap).
    pub max_affected_items: Option<u32>,
    pub range: Range,
}

/// How an offer reaches a basket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OfferKind {
    /// Everyone, no code.
    Site,
    /// The listed customers, no code.
    Coupon,
    /// The listed customers, with a code.
    CouponCode,
    /// Anyone with a code.
    VoucherCode,
}

impl OfferKind {
    /// Every kind, in the order the API lists them.
    pub const ALL: [OfferKind; 4] = [OfferKind::Site, OfferKind::Coupon, OfferKind::CouponCode, OfferKind::VoucherCode];

    /// The kind named by [`Self::as_str`]'s spelling (exact, lower case).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The API's `offer_type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            OfferKind::Site => "site",
            OfferKind::Coupon => "coupon",
            OfferKind::CouponCode => "coupon_code",
            OfferKind::VoucherCode => "voucher_code",
        }
    }

    pub fn needs_code(self) -> bool {
        matches!(self, OfferKind::CouponCode | OfferKind::VoucherCode)
    }

    pub fn needs_listed_customer(self) -> bool {
        matches!(self, OfferKind::Coupon | OfferKind::CouponCode)
    }
}

/// A campaign as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub id: OfferId,
    pub name: String,
    pub kind: OfferKind,
    pub currency: Currency,
    /// Open from this instant (inclusive); `None`: always was.
    pub start: Option<Timestamp>,
    /// Closed from this instant (exclusive); `None`: never closes.
    pub end: Option<Timestamp>,
    /// Higher goes first.
    pub priority: i32,
    /// No other offer may use the units this one used.
    pub exclusive: bool,
    /// Inactive offers are ignored by the engine entirely.
    pub active: bool,
    pub condition: Condition,
    pub benefit: Benefit,
    pub max_basket_applications: Option<u32>,
    pub max_user_applications: Option<u32>,
    pub max_global_applications: Option<u32>,
    /// A budget in minor units over all orders.
    pub max_discount: Option<i64>,
    /// For coupon and coupon_code offers: who may use it.
    pub customers: BTreeSet<CustomerId>,
    /// How a cancellation of some of the units it discounted gives money back
    /// ([`crate::refund`]).
    pub refund_policy: RefundPolicy,
}

impl Offer {
    /// A site-wide, active, exclusive offer with no window and no limits, as a starting
    /// point for building offers in code and tests.
    pub fn new(id: i64, name: &str, currency: Currency, condition: Condition, benefit: Benefit) -> Self {
        Offer {
            id: OfferId(id),
            name: name.to_owned(),
            kind: OfferKind::Site,
            currency,
            start: None,
            end: None,
            priority: 0,
            exclusive: true,
            active: true,
            condition,
            benefit,
            max_basket_applications: None,
            max_user_applications: None,
            max_global_applications: None,
            max_discount: None,
            customers: BTreeSet::new(),
            refund_policy: RefundPolicy::KeepShares,
        }
    }

    /// Every reason this offer cannot be saved, keyed by the API's field paths. Empty when
    /// the offer is valid.
    pub fn field_errors(&self) -> FieldErrors {
        const POSITIVE: &str = "Ensure this value is greater than 0.";
        const NON_NEGATIVE: &str = "Ensure this value is greater than or equal to 0.";
        const AT_LEAST_ONE: &str = "Ensure this value is greater than or equal to 1.";
        let mut e = FieldErrors::default();
        if self.name.trim().is_empty() {
            e.push("name", "This field may not be blank.");
        }
        if let (Some(s), Some(end)) = (self.start, self.end)
            && end <= s
        {
            e.push("end_datetime", "End must be after start.");
        }
        match self.condition.kind {
            ConditionKind::Amount(v) if v <= 0 => e.push("condition.value", POSITIVE),
            ConditionKind::Count(0) | ConditionKind::Coverage(0) => e.push("condition.value", POSITIVE),
            _ => {}
        }
        let needs_range = !matches!(self.condition.kind, ConditionKind::None);
        if needs_range && self.condition.range.is_empty() {
            e.push("condition.range", "The range matches no product.");
        }
        match &self.benefit.kind {
            BenefitKind::Percentage(p) => {
                let v = p.value();
                if v > rust_decimal::Decimal::ONE_HUNDRED {
                    e.push("benefit.value", "Ensure this value is less than or equal to 100.");
                } else if v <= rust_decimal::Decimal::ZERO {
                    e.push("benefit.value", POSITIVE);
                }
            }
            BenefitKind::Fixed(v) | BenefitKind::FixedPerUnit(v) if *v <= 0 => e.push("benefit.value", POSITIVE),
            BenefitKind::FixedPrice(v) if *v < 0 => e.push("benefit.value", NON_NEGATIVE),
            BenefitKind::FixedPrice(_) => {
                let count = matches!(self.condition.kind, ConditionKind::Count(_));
                if !count && self.benefit.max_affected_items.is_none() {
                    e.push(
                        "benefit.max_affected_items",
                        "A fixed price needs a count condition or max_affected_items.",
                    );
                }
            }
            BenefitKind::Multibuy => {
                match self.condition.kind {
                    ConditionKind::Count(n) if n >= 2 => {}
                    ConditionKind::Count(n) if n > 0 => {
                        e.push("condition.value", "A multibuy needs a count condition of at least 2.")
                    }
                    ConditionKind::Count(_) | ConditionKind::Amount(_) | ConditionKind::Coverage(_) => {}
                    ConditionKind::None => e.push(
                        "condition.type",
                        "A multibuy needs a count condition of at least 2, or an amount or coverage condition.",
                    ),
                }
                if self.benefit.max_affected_items.is_some() {
                    e.push("benefit.max_affected_items", "A multibuy takes no max_affected_items.");
                }
            }
            BenefitKind::PercentageTiers(_) | BenefitKind::FixedTiers(_) => {
                let thresholds = self.benefit.kind.thresholds().unwrap_or_default();
                if thresholds.is_empty() {
                    e.push("benefit.tiers", "Give at least one tier.");
                }
                if thresholds.windows(2).any(|w| w[1] <= w[0]) {
                    e.push("benefit.tiers", "Tier thresholds must increase.");
                }
                match self.condition.kind {
                    ConditionKind::Amount(v) => {
                        if thresholds.first().is_some_and(|&t| t < v) {
                            e.push("benefit.tiers", "A tier's threshold cannot be below the condition's value.");
                        }
                    }
                    ConditionKind::Count(n) => {
                        if thresholds.first().is_some_and(|&t| t < i64::from(n)) {
                            e.push("benefit.tiers", "A tier's threshold cannot be below the condition's value.");
                        }
                    }
                    _ => e.push("condition.type", "Tiers need an amount or a count condition."),
                }
                match &self.benefit.kind {
                    BenefitKind::PercentageTiers(t) => {
                        let v = |p: &Percent| p.value();
                        if t.iter().any(|t| v(&t.value) > rust_decimal::Decimal::ONE_HUNDRED) {
                            e.push("benefit.tiers", "Ensure each value is less than or equal to 100.");
                        } else if t.iter().any(|t| v(&t.value) <= rust_decimal::Decimal::ZERO) {
                            e.push("benefit.tiers", "Ensure each value is greater than 0.");
                        }
                    }
                    BenefitKind::FixedTiers(t) if t.iter().any(|t| t.value <= 0) => {
                        e.push("benefit.tiers", "Ensure each value is greater than 0.")
                    }
                    _ => {}
                }
            }
            BenefitKind::Gift { sku, quantity } => {
                if sku.trim().is_empty() {
                    e.push("benefit.gift.sku", "This field may not be blank.");
                }
                if *quantity == 0 {
                    e.push("benefit.gift.quantity", AT_LEAST_ONE);
                }
                if matches!(self.condition.kind, ConditionKind::None) {
                    e.push("condition.type", "A gift needs a condition.");
                }
            }
            _ => {}
        }
        let benefit_uses_own_range = !matches!(
            self.benefit.kind,
            BenefitKind::FixedPrice(_) | BenefitKind::ShippingFree | BenefitKind::Gift { .. }
        );
        if benefit_uses_own_range && self.benefit.range.is_empty() {
            e.push("benefit.range", "The range matches no product.");
        }
        if self.benefit.max_affected_items == Some(0) {
            e.push("benefit.max_affected_items", AT_LEAST_ONE);
        }
        if self.max_basket_applications == Some(0) {
            e.push("max_basket_applications", AT_LEAST_ONE);
        }
        if self.max_discount.is_some_and(|v| v <= 0) {
            e.push("max_discount", POSITIVE);
        }
        e
    }

    /// `Ok(())` or every field error at once ([`DomainError::Fields`]).
    pub fn validate(&self) -> Result<(), DomainError> {
        let e = self.field_errors();
        if e.is_empty() { Ok(()) } else { Err(DomainError::Fields(e)) }
    }

    /// The offer itself, if valid: the validating constructor.
    pub fn validated(self) -> Result<Self, DomainError> {
        self.validate().map(|()| self)
    }

    /// Whether the offer is open at `at`: `start <= at < end`.
    pub fn is_open_at(&self, at: Timestamp) -> bool {
        self.start.is_none_or(|s| s <= at) && self.end.is_none_or(|e| at < e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_kinds_parse_their_own_spelling_only() {
        for k in OfferKind::ALL {
            assert_eq!(OfferKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(OfferKind::parse("Site"), None);
        assert_eq!(OfferKind::parse(" site"), None);
        assert_eq!(OfferKind::parse(""), None);
    }
}
