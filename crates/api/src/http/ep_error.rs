//! The Elastic Path dialect's error body, JSON:API `{"errors": [{status, title, detail}]}`,
//! and how the lower layers' errors map to it. Beside the DRF body ([`super::error`]) because
//! the middleware that rewrites axum's own errors ([`super::dialect`]) needs both.

use axum::Json;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use offerline_app::AppError;
use serde_json::json;

/// An error in the JSON:API shape.
#[derive(Debug)]
pub struct EpError {
    pub status: StatusCode,
    pub title: String,
    pub detail: String,
    /// Seconds to wait, sent as `Retry-After` (a 429).
    pub retry_after: Option<u64>,
}

impl EpError {
    pub fn new(status: StatusCode, title: impl Into<String>, detail: impl Into<String>) -> Self {
        EpError { status, title: title.into(), detail: detail.into(), retry_after: None }
    }
    pub fn unauthorized(detail: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", detail)
    }
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad Request", detail)
    }
    pub fn unprocessable(title: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, title, detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not Found", detail)
    }
    /// Valid credentials without the right (an `implicit` token on a back end's route).
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", detail)
    }
    /// 429 with `Retry-After: secs`.
    pub fn throttled(secs: u64) -> Self {
        EpError {
            retry_after: Some(secs),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                format!("Request was throttled. Expected available in {secs} seconds."),
            )
        }
    }
}

impl IntoResponse for EpError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            Json(json!({ "errors": [{ "status": self.status.as_u16(), "title": self.title, "detail": self.detail }] })),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

pub type EpResult<T> = Result<T, EpError>;

/// The bare 500: the cause is logged, never answered.
fn internal(cause: impl std::fmt::Display) -> EpError {
    tracing::error!(%cause, "internal error");
    EpError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error", "A server error occurred.")
}

impl From<AppError> for EpError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound => EpError::not_found("The requested resource could not be found."),
            AppError::Unprocessable { title, detail } => EpError::unprocessable(title, detail),
            AppError::Refused(m) => EpError::unprocessable("Invalid", m),
            AppError::Field { field, message } => EpError::bad_request(format!("{field}: {message}")),
            AppError::Lines(_) => EpError::bad_request("Some lines cannot be priced."),
            AppError::Invalid(errors) => EpError::bad_request(errors.to_string()),
            AppError::Unknown { field, ids } => EpError::bad_request(format!("{field}: no such object {ids:?}")),
            AppError::Conflict { field, message } => EpError::unprocessable("Conflict", format!("{field}: {message}")),
            AppError::LimitReached(m) => EpError::unprocessable("Limit reached", m),
            AppError::Throttled(secs) => EpError::throttled(secs),
            AppError::Internal(cause) => internal(cause),
            AppError::Store(cause) => internal(cause),
        }
    }
}
