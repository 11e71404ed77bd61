//! What pricing gives back: per-unit results, the offers applied with their shares, the
//! offers that did not apply with the reason. Apart from the rules ([`super`]) and their
//! arithmetic ([`super::apply`]) so that both read these types without reading each other.

use std::fmt;

use crate::ids::OfferId;
use crate::money::{Currency, VoucherCode};

/// One unit of one input line: `line` indexes [`crate::basket::PricingInput::lines`],
/// `unit` counts from 0 to quantity − 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnitRef {
    pub line: usize,
    pub unit: usize,
}

/// A unit's price, the discount it got from all offers, and what is left (`price − discount`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitResult {
    pub price: i64,
    pub discount: i64,
    pub net: i64,
}

/// The units of one input line, in unit order, with the line's sums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineResult {
    pub units: Vec<UnitResult>,
    pub discount: i64,
    pub net: i64,
}

/// An offer that applied (all its applications together).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub offer: OfferId,
    pub name: String,
    /// The voucher code it came through, for code offers.
    pub code: Option<VoucherCode>,
    /// Σ of `benefit_units` shares; 0 for free shipping.
    pub amount: i64,
    /// How many times it applied (what limits count).
    pub applications: u32,
    pub shipping_free: bool,
    /// Units that got a share (> 0) of the discount, sorted by [`UnitRef`].
    pub benefit_units: Vec<(UnitRef, i64)>,
    /// Units used to satisfy the condition that got no share, sorted by [`UnitRef`].
    pub condition_units: Vec<UnitRef>,
    /// For a tiered benefit: which tier applied and what the next one needs ("tier 1 of 2:
    /// 10 % from 100.00; add 200.00 more for 20 %").
    pub detail: Option<String>,
}

/// Why an offer did not apply (the API's `reason` strings are [`Reason::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    ConditionNotMet,
    NotStarted,
    Expired,
    LimitReached,
    ExcludedByExclusive,
    NotEligibleCustomer,
    VoucherInvalid,
    GiftUnavailable,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ConditionNotMet => "condition_not_met",
            Reason::NotStarted => "not_started",
            Reason::Expired => "expired",
            Reason::LimitReached => "limit_reached",
            Reason::ExcludedByExclusive => "excluded_by_exclusive",
            Reason::NotEligibleCustomer => "not_eligible_customer",
            Reason::VoucherInvalid => "voucher_invalid",
            Reason::GiftUnavailable => "gift_unavailable",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An offer that did not apply, with a reason and a human detail
/// ("add 120.00 more from the range").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotApplied {
    pub offer: OfferId,
    /// Empty when a voucher grant names an offer the index does not have.
    pub name: String,
    pub code: Option<VoucherCode>,
    pub reason: Reason,
    pub detail: String,
}

/// The priced basket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pricing {
    pub currency: Currency,
    pub total_before_discount: i64,
    pub total_discount: i64,
    pub total: i64,
    pub shipping_free: bool,
    /// One per input line, in input order.
    pub lines: Vec<LineResult>,
    /// In processing order (priority descending, id ascending).
    pub applied: Vec<Applied>,
    /// In processing order; voucher problems that name no known offer come last.
    pub not_applied: Vec<NotApplied>,
    /// Gift lines given by applied gift offers, after the input's lines: a [`UnitRef`]
    /// whose `line` is `lines.len() + k` is unit `unit` of `gifts[k]`.
    pub gifts: Vec<GiftLine>,
}

/// Units a gift offer gave: at their price, discounted to nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiftLine {
    pub offer: OfferId,
    pub product: crate::ids::ProductId,
    pub sku: String,
    pub quantity: u32,
    pub unit_price: i64,
    pub units: Vec<UnitResult>,
}

/// The offers' part of a [`Pricing`], as the rules hand it to [`super::price`].
pub(crate) struct Output {
    pub applied: Vec<Applied>,
    pub not_applied: Vec<NotApplied>,
    pub shipping_free: bool,
    pub gifts: Vec<GiftLine>,
}

/// A sum made in `i128`, saturated into `i64` (the engine never panics on big input).
pub(crate) fn clamp(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}
