//! Offers ("promotions") and vouchers: their rows, the stored form of an offer's condition
//! and benefit, and the reads pricing needs.
//!
//! - [`admin`]: promotion rows, typed inputs, and their writes (create, update, soft delete);
//! - [`vouchers`]: voucher rows, creating one, generating many, finding one by code;
//! - [`pricing`]: every live promotion as an engine offer, the change stamp, usage so far;
//! - [`codec`]: the `definition` column's format (condition and benefit as JSON text).
//!
//! Everything here is typed: requests are parsed and their errors worded by the API, and
//! the rules (which offers take vouchers, which customers exist) are the use cases' in
//! `offerline-app`.

pub mod admin;
pub mod codec;
pub mod pricing;
pub mod vouchers;

pub use admin::{Promotion, PromotionInput};
pub use pricing::{LiveOffers, PricingVersions};
pub use vouchers::{MAX_GENERATED_CODES, Voucher};
