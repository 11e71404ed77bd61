//! Errors of the HTTP layer and their Akinon (Django REST framework) bodies.
//!
//! Every handler of the Omnitron, Commerce and OMS dialects returns [`ApiError`]; the
//! Elastic Path dialect has its own JSON:API error type ([`super::ep_error`]). Internal
//! errors are logged with their cause and answered with a bare 500, never with the cause.
//! The application layer's [`offerline_app::AppError`] maps here, once;
//! [`nest`] builds DRF's nested field errors from dotted paths.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401: no or bad credentials. DRF's messages.
    #[error("unauthenticated: {0}")]
    Unauthenticated(&'static str),
    /// 403: valid credentials without the right.
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("invalid page")]
    InvalidPage,
    /// 400 with field errors: `{"field": ["message", …]}`.
    #[error("validation failed")]
    Fields(Map<String, Value>),
    /// 400 with `{"non_field_errors": [message]}`.
    #[error("{0}")]
    BadRequest(String),
    /// 400 with `{"detail": message}` (malformed JSON and the like).
    #[error("{0}")]
    Detail(String),
    #[error("throttled")]
    Throttled(u64),
    #[error("payload too large")]
    TooLarge,
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    /// One field error.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut m = Map::new();
        m.insert(field.to_owned(), json!([message.into()]));
        ApiError::Fields(m)
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        ApiError::Internal(e.to_string())
    }
}

/// Collects field errors the way a DRF serializer does: every bad field at once.
#[derive(Debug, Default)]
pub struct FieldErrors(pub Map<String, Value>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        let entry = self.0.entry(field.to_owned()).or_insert_with(|| json!([]));
        if let Value::Array(a) = entry {
            a.push(Value::String(message.into()));
        }
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// `Ok(())` when nothing was added, else the 400.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() { Ok(()) } else { Err(ApiError::Fields(self.0)) }
    }
}

/// Inserts `msg` at a dotted path (`benefit.range.skus`) into a DRF error body, nesting
/// objects per segment as DRF's nested serializers do; a message repeated at one place is
/// kept once. A message for a path whose parent already holds messages joins them.
pub fn nest(errors: &mut Map<String, Value>, path: &str, msg: &str) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut cur = errors;
    for p in parts {
        let entry = cur.entry(p.to_owned()).or_insert_with(|| json!({}));
        match entry {
            Value::Object(o) => cur = o,
            Value::Array(a) => {
                if !a.iter().any(|m| m == msg) {
                    a.push(json!(msg));
                }
                return;
            }
            _ => return,
        }
    }
    let entry = cur.entry(last.to_owned()).or_insert_with(|| json!([]));
    let target = match entry {
        Value::Object(o) => o.entry("non_field_errors").or_insert_with(|| json!([])),
        other => other,
    };
    if let Value::Array(a) = target
        && !a.iter().any(|m| m == msg)
    {
        a.push(json!(msg));
    }
}

/// [`nest`] for each error of a list keyed by dotted paths, in order.
pub fn nest_all(errors: &mut Map<String, Value>, e: &offerline_core::FieldErrors) {
    for (path, msg) in e.iter() {
        nest(errors, path, msg);
    }
}

/// DRF's message for a related pk that names nothing.
pub fn unknown_pk(id: i64) -> String {
    format!("Invalid pk \"{id}\" - object does not exist.")
}

impl From<offerline_app::AppError> for ApiError {
    fn from(e: offerline_app::AppError) -> Self {
        use offerline_app::AppError;
        match e {
            AppError::NotFound => ApiError::NotFound,
            AppError::Refused(m) => ApiError::BadRequest(m),
            AppError::Field { field, message } => ApiError::field(&field, message),
            AppError::Unprocessable { detail, .. } => ApiError::BadRequest(detail),
            AppError::Lines(problems) => line_errors(&problems),
            AppError::Invalid(errors) => {
                let mut m = Map::new();
                nest_all(&mut m, &errors);
                ApiError::Fields(m)
            }
            AppError::Unknown { field, ids } => {
                let mut m = Map::new();
                for id in ids {
                    nest(&mut m, &field, &unknown_pk(id));
                }
                ApiError::Fields(m)
            }
            AppError::Conflict { field, message } => ApiError::field(&field, message),
            AppError::LimitReached(m) => ApiError::BadRequest(format!("Limit reached: {m}.")),
            AppError::Throttled(secs) => ApiError::Throttled(secs),
            AppError::Internal(m) => ApiError::Internal(m),
            AppError::Store(e) => ApiError::Internal(e.to_string()),
        }
    }
}

/// `{"lines": [{}, {"sku": ["…"]}, …]}`: one object per requested line, empty for the good ones.
fn line_errors(problems: &[Option<offerline_app::simulate::LineProblem>]) -> ApiError {
    let items = problems
        .iter()
        .map(|p| match p {
            None => json!({}),
            Some(offerline_app::simulate::LineProblem::UnknownSku(sku)) => {
                json!({"sku": [format!("Object with sku={sku} does not exist.")]})
            }
            Some(offerline_app::simulate::LineProblem::NoPrice { price_list_currency }) => {
                json!({"unit_price": [format!(
                    "The product has no price in the default price list ({price_list_currency}); give unit_price."
                )]})
            }
        })
        .collect();
    ApiError::Fields(Map::from_iter([("lines".to_owned(), Value::Array(items))]))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = if let ApiError::Throttled(secs) = &self { Some(*secs) } else { None };
        let (status, body) = match self {
            ApiError::Unauthenticated(m) => (StatusCode::UNAUTHORIZED, json!({ "detail": m })),
            ApiError::Forbidden => {
                (StatusCode::FORBIDDEN, json!({ "detail": "You do not have permission to perform this action." }))
            }
            ApiError::NotFound => (StatusCode::NOT_FOUND, json!({ "detail": "Not found." })),
            ApiError::InvalidPage => (StatusCode::NOT_FOUND, json!({ "detail": "Invalid page." })),
            ApiError::Fields(m) => (StatusCode::BAD_REQUEST, Value::Object(m)),
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, json!({ "non_field_errors": [m] })),
            ApiError::Detail(m) => (StatusCode::BAD_REQUEST, json!({ "detail": m })),
            ApiError::Throttled(secs) => (
                StatusCode::TOO_MANY_REQUESTS,
                json!({ "detail": format!("Request was throttled. Expected available in {secs} seconds.") }),
            ),
            ApiError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, json!({ "detail": "Request body is too large." })),
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, json!({ "detail": "A server error occurred." }))
            }
        };
        let mut resp = (status, axum::Json(body)).into_response();
        if let Some(secs) = retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// DRF's message for a string with a NUL character (`ProhibitNullCharactersValidator`).
pub const NUL_MESSAGE: &str = "Null characters are not allowed.";
