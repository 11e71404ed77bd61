//! The engine's input: what is in the basket, who is buying, when, with which codes, and
//! how much of each offer's limits earlier orders already used.
//!
//! The engine does no look-ups: the caller resolves voucher codes (and reports unknown or
//! used-up codes itself), takes prices from the price list, and reads the usage counters
//! from the store in the same transaction that will record the new usage.

use std::collections::{BTreeMap, HashMap};

use crate::error::DomainError;
use crate::ids::{CustomerId, OfferId, ProductId};
use crate::money::{Currency, MAX_INTEGER_DIGITS, VoucherCode};
use crate::time::Timestamp;

/// The most units one line may have, and the most units a basket may have. The engine's
/// output is per unit (one order item per unit, as Akinon does), so the work and the
/// output size are linear in units; these bounds keep one request from asking for
/// billions of them.
pub const MAX_UNITS_PER_LINE: u32 = 10_000;
pub const MAX_UNITS: u64 = 100_000;

/// One basket line: `quantity` identical units of a product at `unit_price` minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub product: ProductId,
    pub sku: String,
    /// The product's attributes (name → value), for attribute ranges.
    pub attributes: BTreeMap<String, String>,
    pub quantity: u32,
    pub unit_price: i64,
}

impl Line {
    pub fn new(product: i64, sku: &str, quantity: u32, unit_price: i64) -> Self {
        Line { product: ProductId(product), sku: sku.to_owned(), attributes: BTreeMap::new(), quantity, unit_price }
    }

    pub fn with_attribute(mut self, name: &str, value: &str) -> Self {
        self.attributes.insert(name.to_owned(), value.to_owned());
        self
    }
}

/// A voucher code the caller has already resolved to an offer and found usable.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VoucherGrant {
    pub code: VoucherCode,
    pub offer: OfferId,
}

/// How much of an offer's limits earlier orders have used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OfferUsage {
    /// Applications over all orders (checked against `max_global_applications`).
    pub global_applications: u64,
    /// Applications on this customer's orders (checked against `max_user_applications`).
    pub customer_applications: u64,
    /// Discount given over all orders, minor units (checked against `max_discount`).
    pub discount_spent: i64,
}

/// Usage per offer; an offer that is missing has used nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UsageSnapshot {
    pub offers: HashMap<OfferId, OfferUsage>,
}

impl UsageSnapshot {
    pub fn get(&self, offer: OfferId) -> OfferUsage {
        self.offers.get(&offer).copied().unwrap_or_default()
    }

    pub fn set(&mut self, offer: OfferId, usage: OfferUsage) {
        self.offers.insert(offer, usage);
    }
}

/// A product a gift offer gives, as the caller found it: active and priced in the basket's
/// price list (a gift whose sku is not here is `gift_unavailable`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GiftStock {
    pub product: ProductId,
    pub unit_price: i64,
}

/// Everything [`crate::engine::price`] needs besides the offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricingInput {
    pub currency: Currency,
    pub at: Timestamp,
    pub customer: Option<CustomerId>,
    pub lines: Vec<Line>,
    pub vouchers: Vec<VoucherGrant>,
    pub usage: UsageSnapshot,
    /// Report every offer that did not apply, even those whose ranges miss the basket and
    /// coupons assigned to other customers (the dry-run simulator wants this; a storefront
    /// basket does not).
    pub explain_all: bool,
    /// The gift products the live offers name, by sku.
    pub gifts: BTreeMap<String, GiftStock>,
}

impl PricingInput {
    pub fn new(currency: Currency, at: Timestamp, lines: Vec<Line>) -> Self {
        PricingInput {
            currency,
            at,
            customer: None,
            lines,
            vouchers: Vec::new(),
            usage: UsageSnapshot::default(),
            explain_all: false,
            gifts: BTreeMap::new(),
        }
    }

    /// Refuses a basket the engine cannot price meaningfully: a negative unit price, a
    /// line or basket with too many units ([`MAX_UNITS_PER_LINE`], [`MAX_UNITS`]), or a
    /// line total above 15 integer digits. [`crate::engine::price`] never panics on such
    /// input, but it gives no discounts on it; call this first to tell the user why.
    pub fn validate(&self) -> Result<(), DomainError> {
        let limit = 10i128.pow(MAX_INTEGER_DIGITS + self.currency.minor_digits());
        let mut units: u64 = 0;
        let mut total: i128 = 0;
        for (i, l) in self.lines.iter().enumerate() {
            if l.unit_price < 0 {
                return Err(DomainError::InvalidInput(format!("lines[{i}].unit_price: {}", DomainError::Negative)));
            }
            if l.quantity > MAX_UNITS_PER_LINE {
                return Err(DomainError::InvalidInput(format!(
                    "lines[{i}].quantity: Ensure this value is less than or equal to {MAX_UNITS_PER_LINE}."
                )));
            }
            units += u64::from(l.quantity);
            total += i128::from(l.unit_price) * i128::from(l.quantity);
        }
        if units > MAX_UNITS {
            return Err(DomainError::InvalidInput(format!("A basket may hold at most {MAX_UNITS} units.")));
        }
        if total >= limit {
            return Err(DomainError::InvalidInput(format!(
                "The basket total has more than {MAX_INTEGER_DIGITS} digits before the decimal point."
            )));
        }
        Ok(())
    }
}
