//! The one extractor for numeric path ids (`{pk}`, `{id}`): a segment that is not an integer
//! names no object, so it is answered like an id that does not exist (404 `Not found.`),
//! not as a malformed request. Elastic Path ids are strings and use axum's `Path` as is.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// A numeric id from the request's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    /// axum's own rejection (a segment that is not UTF-8) is kept, so the dialect middleware
    /// words it as before; a segment that is not a number is a 404.
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        raw.parse::<i64>().map(PathId).map_err(|_| ApiError::NotFound.into_response())
    }
}
