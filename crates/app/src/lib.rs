//! offerline-app: the use cases of offerline, the only code that combines the pure domain
//! (`offerline-core`) with persistence (`offerline-store`).
//!
//! Every adapter (the HTTP dialects, the CLI) calls a use case here and renders its typed
//! result in its own wire format; a business rule (which voucher may be used, how a priced
//! basket becomes an order, which offers are live) is written once, in this crate or below
//! it. Nothing here knows HTTP: no axum, no status codes, no dialect's error bodies.

pub mod basket;
pub mod carts;
pub mod checkout;
pub mod customers;
pub mod error;
pub mod offers;
pub mod promotions;
pub mod simulate;
pub mod vouchers;

pub use error::{AppError, AppResult};
