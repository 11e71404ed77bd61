//! offerline-store: persistence over SQLite (the embedded default) and PostgreSQL.
//!
//! One set of SQL serves both engines through sqlx's `Any` driver. That is possible because
//! the schema holds only 64-bit integers and text: money is integer minor units, rates are
//! hundredths, timestamps are microseconds since the epoch (UTC), JSON is text. Parameters
//! are written `$1, $2, …`, which both engines accept.
//!
//! Layout:
//! - [`db`]: connecting, the SQLite writer discipline, migrations;
//! - [`changes`]: the data generation read caches are checked against, and its watcher;
//! - [`list`]: filtered, sorted, paginated list queries shared by every list endpoint;
//! - [`auth`]: users, API tokens, storefront sessions, API clients and their tokens;
//! - [`catalog`]: products, images, price lists, stock lists, product prices;
//! - [`baskets`]: storefront baskets and their lines;
//! - [`checkout`]: the checkout transaction with idempotency keys;
//! - [`current_offers`]: the applied promotions checked against their rows in that transaction;
//! - [`exec`]: the statement runner the order write path is written against (sqlx or rusqlite);
//! - [`writer`]: the SQLite checkout writer, group commit on a thread of its own;
//! - [`promotions`]: offers, their definitions, vouchers, and the reads pricing needs.
//! - [`orders`]: placing an order (the ledger's write side);
//! - [`cancellations`]: cancelling and returning units, requests and their approval, with
//!   the refund and the usage given back in the same transaction;
//! - [`ledger`]: the ledger's read side — one row type per table, the one read model every
//!   view renders and its batched loader, the ledger lists, staff changes to an order's
//!   units, and a customer's offers;
//! - [`ep`]: Elastic Path carts, custom items and discounts;
//! - [`purge`]: deleting expired tokens, sessions, access tokens and idempotency keys;
//! - [`reports`]: the back office's report: per-promotion totals of discount items per day.

/// Binds each id of a list to a query built with [`list::placeholders`].
macro_rules! bind_all {
    ($q:expr, $ids:expr) => {{
        let mut q = $q;
        for id in $ids {
            q = q.bind(*id);
        }
        q
    }};
}

pub mod auth;
pub mod baskets;
pub mod cancellations;
pub mod catalog;
pub mod changes;
pub mod checkout;
pub mod current_offers;
pub mod db;
pub mod ep;
pub mod exec;
pub mod ledger;
pub mod list;
pub mod orders;
pub(crate) mod pg_bulk;
pub mod pg_writer;
pub mod promotions;
pub mod purge;
pub mod reports;
pub mod writer;

pub use db::{Backend, Store};

/// Errors of the storage layer. The API layer maps each variant to its dialect's error body.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or state conflict the caller can fix (e.g. a duplicate sku).
    #[error("{field}: {message}")]
    Conflict { field: &'static str, message: String },
    /// A usage limit would be broken (voucher uses, applications, budget).
    #[error("limit reached: {0}")]
    LimitReached(String),
    #[error("invalid: {0}")]
    Invalid(String),
    /// An offer the order was priced with is off in the database now (deleted, inactive,
    /// outside its window, or over its per-basket limit) or its row changed since: the pricing
    /// used an older copy of it ([`current_offers`]). Nothing was written; price again and retry, or refuse.
    #[error("offer {promotion_id} is {why}")]
    OfferChanged { promotion_id: i64, why: &'static str },
    /// A statement or a row did not have the shape the code expects: a bug, never the
    /// client's input (so the API answers 500, not 400).
    #[error("internal: {0}")]
    Internal(String),
    /// The store cannot serve the request now (the checkout writer stopped or its batch
    /// could not commit); nothing was written.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The database named by the URL cannot be opened: what was tried (a file path, or the
    /// URL without its password) and why, in words an operator can act on.
    #[error("cannot open {target}: {reason}")]
    Open { target: String, reason: String },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// From the SQLite checkout writer ([`writer`]), which runs on rusqlite.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

impl StoreError {
    /// True when the database refused a row for a unique constraint (either driver).
    /// True when PostgreSQL aborted the transaction to break a deadlock, or for a
    /// serialization failure: nothing was written, and running it again is safe.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Db(sqlx::Error::Database(d)) => matches!(d.code().as_deref(), Some("40P01" | "40001")),
            _ => false,
        }
    }

    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Db(e) => is_unique_violation(e),
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ),
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Microseconds since the Unix epoch, UTC: the one clock every row is stamped with.
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// True when the database reported a unique-constraint violation.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            matches!(d.kind(), sqlx::error::ErrorKind::UniqueViolation)
                || d.message().contains("UNIQUE constraint failed")
                || d.code().as_deref() == Some("23505")
        }
        _ => false,
    }
}
