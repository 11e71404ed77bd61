//! The rule every input that names customers follows: they exist. A promotion's or a
//! voucher's customer list and a simulation's customer are checked by it.

use crate::error::{AppError, AppResult};
use crate::handle::App;

/// The ids among `ids` that name no user, in their order (one query per 500 ids).
pub async fn unknown(app: &App, ids: &[i64]) -> AppResult<Vec<i64>> {
    Ok(app.store().missing_users(ids).await?)
}

/// `Ok` when every id names a user, else [`AppError::Unknown`] on `field` with the others.
pub async fn require(app: &App, field: &str, ids: &[i64]) -> AppResult<()> {
    let missing = unknown(app, ids).await?;
    if missing.is_empty() { Ok(()) } else { Err(AppError::Unknown { field: field.to_owned(), ids: missing }) }
}
