//! The application layer's error: what a use case can answer besides its result. Each
//! dialect maps a variant to its own error body (DRF, JSON:API); storage errors pass through
//! unchanged so the mapping of a database refusal stays in one place.

use offerline_core::FieldErrors;
use offerline_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The object does not exist (or the caller may not know it does).
    #[error("not found")]
    NotFound,
    /// The request cannot be honoured as it stands; the message says why, for the caller.
    #[error("{0}")]
    Refused(String),
    /// A named field of the request is wrong.
    #[error("{field}: {message}")]
    Field { field: String, message: String },
    /// Some lines of a request cannot be priced: one entry per requested line, `None` for the
    /// good ones.
    #[error("lines cannot be priced")]
    Lines(Vec<Option<LineProblem>>),
    /// A rule of the domain refused the request (an Elastic Path 422): a short title and the
    /// detail for the caller.
    #[error("{title}: {detail}")]
    Unprocessable { title: String, detail: String },
    /// A bug or a broken invariant, never the caller's input.
    #[error("internal: {0}")]
    Internal(String),
    /// What the request describes is not meaningful: every reason at once, keyed by field
    /// paths (`benefit.value`), as the domain words them ([`offerline_core::Offer::field_errors`]).
    #[error("invalid: {0}")]
    Invalid(FieldErrors),
    /// A field of the request names objects that do not exist (the ids, in request order).
    #[error("{field}: no such object {ids:?}")]
    Unknown { field: String, ids: Vec<i64> },
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type AppResult<T> = Result<T, AppError>;

/// Why a requested line cannot be priced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineProblem {
    UnknownSku(String),
    /// The product has no price in the default price list (whose currency is given) and the
    /// request gave none.
    NoPrice {
        price_list_currency: String,
    },
}
