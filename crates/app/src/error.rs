//! The application layer's error: what a use case can answer besides its result. Each
//! dialect maps a variant to its own error body (DRF, JSON:API). A storage refusal the
//! caller can act on (not found, a conflict, a limit, an invalid request) becomes its typed
//! variant here, once ([`From<StoreError>`]); only the storage layer's own failures travel
//! on as [`AppError::Store`], so no adapter needs to know the store's error type.

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
    /// A uniqueness or state conflict the caller can fix (a duplicate sku, a code taken):
    /// the field it is about and why.
    #[error("{field}: {message}")]
    Conflict { field: String, message: String },
    /// A usage limit would be broken (voucher uses, applications, budget).
    #[error("limit reached: {0}")]
    LimitReached(String),
    /// Too many failed logins for one name: wait this many seconds.
    #[error("throttled for {0} s")]
    Throttled(u64),
    /// The storage layer failed (a database error, the writer unavailable, a broken row):
    /// never the caller's input.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict { field, message } => AppError::Conflict { field: field.to_owned(), message },
            StoreError::LimitReached(m) => AppError::LimitReached(m),
            StoreError::Invalid(m) => AppError::Refused(m),
            StoreError::OfferChanged { promotion_id, why } => {
                AppError::Refused(format!("Offer {promotion_id} is {why}; please review the basket."))
            }
            other => AppError::Store(other),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The store's refusals arrive typed, its failures as the carrier.
    #[test]
    fn store_errors_become_typed_variants() {
        assert!(matches!(AppError::from(StoreError::NotFound), AppError::NotFound));
        let conflict = AppError::from(StoreError::Conflict { field: "sku", message: "taken".into() });
        assert!(matches!(&conflict, AppError::Conflict { field, message } if field == "sku" && message == "taken"));
        assert!(
            matches!(AppError::from(StoreError::LimitReached("uses".into())), AppError::LimitReached(m) if m == "uses")
        );
        assert!(matches!(AppError::from(StoreError::Invalid("bad".into())), AppError::Refused(m) if m == "bad"));
        let off = AppError::from(StoreError::OfferChanged { promotion_id: 7, why: "inactive" });
        assert!(matches!(&off, AppError::Refused(m) if m.contains("Offer 7 is inactive")), "{off:?}");
        let failure = AppError::from(StoreError::Unavailable("writer stopped".into()));
        assert!(matches!(&failure, AppError::Store(StoreError::Unavailable(_))));
        assert_eq!(failure.to_string(), "unavailable: writer stopped");
    }
}
