//! offerline-core: the pure domain of offerline.
//!
//! No I/O, no async, no wire formats, no clock. See the module docs for what each part
//! owns:
//!
//! - [`money`]: currencies, exact minor-unit amounts, percentages, voucher codes.
//! - [`time`]: instants as microseconds since the epoch, civil dates for messages.
//! - [`offer`]: offers, their ranges, conditions, benefits and limits, and their validation.
//! - [`basket`]: the engine's input (lines, customer, codes, usage of limits so far).
//! - [`index`]: the compiled offer index that finds the offers a basket can touch.
//! - [`engine`]: pricing — the rules for conditions, benefits, stacking, unit order and
//!   rounding are written down there.
//! - [`ledger`]: the allocation of one discount over units (largest remainder).
//! - [`status`]: Akinon order status codes.

pub mod basket;
pub mod engine;
pub mod error;
pub mod index;
pub mod ledger;
pub mod money;
pub mod offer;
pub mod status;
pub mod time;

pub use basket::{Line, OfferUsage, PricingInput, UsageSnapshot, VoucherGrant};
pub use engine::{Applied, LineResult, NotApplied, Pricing, Reason, UnitRef, UnitResult, price};
pub use error::{DomainError, FieldErrors};
pub use index::OfferIndex;
pub use ledger::allocate;
pub use money::{Currency, Money, NonNegative, Percent, VoucherCode, format_minor, parse_minor};
pub use offer::{
    Benefit, BenefitKind, Condition, ConditionKind, CustomerId, Offer, OfferId, OfferKind, ProductId, Range,
};
pub use time::Timestamp;
