//! The order ledger's read side: one row type per ledger table ([`rows`]), one read model
//! that every view renders ([`model`]), the one batched loader that builds it ([`load`]),
//! the ledger lists and their filters ([`lists`]), staff changes to an order's units
//! ([`staff`]), and the offers assigned to a customer ([`offers`]).
//!
//! The write side (placing an order) is [`crate::orders`]; what it wrote becomes the same
//! read model for the checkout answer ([`OrderDetail::from_placed`]).

pub mod lists;
pub mod load;
pub mod model;
pub mod offers;
pub mod rows;
pub mod staff;

pub use lists::LedgerFilter;
pub use load::{Parts, Roots};
pub use model::{Ledger, LedgerCancellation, LedgerDiscount, LedgerItem, LedgerOrder, LedgerRows, OrderDetail};
pub use offers::{CustomerOffer, OPEN_OFFERS_CAP, OfferWindow};
pub use rows::{
    BenefitApplicantRow, CancellationItemRow, CancellationRow, ConditionApplicantRow, DiscountItemRow, OrderItemRow,
    OrderRow, PromotionRef, ReversalRow,
};
