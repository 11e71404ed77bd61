//! offerline-core: the pure domain of offerline.
//!
//! No I/O, no async, no wire formats, no clock. See the module docs for what each part
//! owns:
//!
//! - [`ids`]: the keys of products, offers, customers and vouchers.
//! - [`money`]: currencies, exact minor-unit amounts, percentages, voucher codes.
//! - [`time`]: instants as microseconds since the epoch, civil dates for messages.
//! - [`offer`]: offers, their ranges, conditions, benefits and limits, and their validation.
//! - [`basket`]: the engine's input (lines, customer, codes, usage of limits so far).
//! - [`index`]: the compiled offer index that finds the offers a basket can touch.
//! - [`engine`]: pricing — the rules for conditions, benefits, stacking, unit order and
//!   rounding are written down there.
//! - [`allocation`]: the allocation of one discount over units (largest remainder), and of
//!   an external cart's custom discounts by the same rule.
//! - [`voucher`]: voucher usage and the one rule that says why a code cannot be used.
//! - [`draft`]: the step from a priced basket (or a custom-discount cart) to an order draft:
//!   units, discount shares, usage claims.
//! - [`refund`]: the step from a cancellation to its refund: which units may go, what each
//!   refunds, which shares are reversed (`keep_shares` and `reprice`).
//! - [`status`]: Akinon order status codes.

pub mod allocation;
pub mod basket;
pub mod draft;
pub mod engine;
pub mod error;
pub mod ids;
pub mod index;
pub mod money;
pub mod offer;
pub mod refund;
pub mod status;
pub mod time;
pub mod voucher;

pub use allocation::{CustomDiscount, CustomLine, CustomSpread, CustomTarget, allocate, spread_custom};
pub use basket::{GiftStock, Line, OfferUsage, PricingInput, UsageSnapshot, VoucherGrant};
pub use draft::{
    CustomItem, DiscountDraft, DiscountSource, DiscountsExceedItems, DraftLine, DraftVoucher, ExternalDiscount,
    ExternalRef, OrderDraft, UnitDraft, UsageClaim, custom_order_draft, order_draft,
};
pub use engine::{Applied, GiftLine, LineResult, NotApplied, Pricing, Reason, UnitRef, UnitResult, price};
pub use error::{DomainError, FieldErrors};
pub use ids::{CustomerId, OfferId, ProductId, VoucherId};
pub use index::OfferIndex;
pub use money::{
    Currency, MINOR_TEXT, Minor, Money, NonNegative, Percent, VoucherCode, format_minor, parse_minor, tax_included,
};
pub use offer::{Benefit, BenefitKind, Condition, ConditionKind, Offer, OfferKind, Range, Tier};
pub use refund::{CancellationStatus, CancellationType, RefundPlan, RefundPolicy};
pub use status::OrderStatus;
pub use time::Timestamp;
pub use voucher::{VoucherFacts, VoucherRefusal, VoucherUsage, refusal};
