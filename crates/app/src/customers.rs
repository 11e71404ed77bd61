//! The rule every input that names customers follows: they exist. A promotion's or a
//! voucher's customer list and a simulation's customer are checked by it.

use offerline_store::Store;

use crate::{AppError, AppResult};

/// The ids among `ids` that name no user, in their order (one query per 500 ids).
pub async fn unknown(store: &Store, ids: &[i64]) -> AppResult<Vec<i64>> {
    Ok(store.missing_users(ids).await?)
}

/// `Ok` when every id names a user, else [`AppError::Unknown`] on `field` with the others.
pub async fn require(store: &Store, field: &str, ids: &[i64]) -> AppResult<()> {
    let missing = unknown(store, ids).await?;
    if missing.is_empty() { Ok(()) } else { Err(AppError::Unknown { field: field.to_owned(), ids: missing }) }
}
