//! offerline-app: the use cases of offerline, the only code that combines the pure domain
//! (`offerline-core`) with persistence (`offerline-store`).
//!
//! Every adapter (the HTTP dialects, the CLI) holds one [`App`] (the store, the offer cache
//! that follows it, the login throttle), calls a use case here with it and renders its typed
//! result in its own wire format; a business rule (which voucher may be used, how a priced
//! basket becomes an order, which offers are live) is written once, in this crate or below
//! it. The store's row types an adapter renders are re-exported by the module of their
//! subject, so an adapter needs no other crate than this one and the core. Nothing here
//! knows HTTP: no axum, no status codes, no dialect's error bodies.
//!
//! By subject: [`catalog`]; [`identity`] (users, logins, tokens, sessions, API clients);
//! [`basket`] and [`checkout`] (the storefront); [`carts`] (Elastic Path carts, their custom
//! discounts and checkout); [`simulate`]; [`promotions`], [`vouchers`] and [`customers`];
//! [`orders`] (staff changes), [`cancellations`] (cancel, return, refund; the customer's
//! orders) and [`ledger`] (the read model); [`offers`] (the cache);
//! [`reports`] (per-promotion totals over a period); [`ops`] (migrations, readiness, the data
//! generation, the purge of what expired); [`list`] (the typed list query); [`policy`] (lifetimes
//! and rates the operator sets); [`rate`] and [`throttle`] (request rates and failed logins).

pub mod basket;
pub mod cancellations;
pub mod carts;
pub mod catalog;
pub mod catalog_snapshot;
pub mod checkout;
pub mod customers;
pub mod error;
pub mod gifts;
pub mod handle;
pub mod identity;
pub mod ledger;
pub mod list;
pub mod offers;
pub mod ops;
pub mod orders;
pub mod policy;
pub mod promotions;
pub mod rate;
pub mod reports;
pub mod simulate;
pub mod throttle;
pub mod vouchers;

pub use error::{AppError, AppResult};
pub use handle::App;
