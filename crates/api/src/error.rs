//! Errors of the HTTP layer and their Akinon (Django REST framework) bodies.
//!
//! Every handler of the Omnitron, Commerce and OMS dialects returns [`ApiError`]; the
//! Elastic Path dialect has its own JSON:API error type in `elasticpath`. Internal errors are
//! logged with their cause and answered with a bare 500, never with the cause. The use
//! cases' refusals (`offerline_app::AppError`) and the store's errors map to [`ApiError`]
//! here, once; [`nest`] builds DRF's nested field errors from dotted paths.
//!
//! [`dialect_errors`] is the middleware that gives the errors axum produces itself (405,
//! path and body rejections, unknown paths) and hostile requests refused before routing (NUL
//! in the URL, 415) the same bodies, in the dialect of the request's path.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use offerline_app::AppError;
use offerline_store::StoreError;
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

impl From<AppError> for ApiError {
    /// The use cases' refusals in DRF's shapes: field errors nested by path, unknown
    /// objects as DRF words a bad related pk, a refusal as `non_field_errors`.
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound => ApiError::NotFound,
            AppError::Refused(m) => ApiError::BadRequest(m),
            AppError::Field { field, message } => ApiError::field(&field, message),
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
            AppError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Conflict { field, message } => ApiError::field(field, message),
            StoreError::LimitReached(m) => ApiError::BadRequest(format!("Limit reached: {m}.")),
            StoreError::Invalid(m) => ApiError::BadRequest(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
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
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Whether a path belongs to the Elastic Path dialect (JSON:API error bodies).
pub fn is_elastic_path(path: &str) -> bool {
    path.starts_with("/v2/") || path == "/v2" || path.starts_with("/oauth/")
}

/// An error body in the dialect of `path`: DRF `{"detail"}` or JSON:API `{"errors"}`.
fn dialect_error(path: &str, status: StatusCode, detail: String) -> Response {
    if is_elastic_path(path) {
        let title = status.canonical_reason().unwrap_or("Error");
        crate::elasticpath::EpError::new(status, title, detail).into_response()
    } else {
        let mut resp = (status, axum::Json(json!({ "detail": detail }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
        }
        resp
    }
}

/// 404 for a path no route serves, in the dialect of the path.
pub fn not_found(path: &str) -> Response {
    if is_elastic_path(path) {
        crate::elasticpath::EpError::not_found("The requested resource could not be found.").into_response()
    } else {
        ApiError::NotFound.into_response()
    }
}

/// A body in a media type no handler reads, i.e. neither JSON nor a form; returns the type.
/// Forms pass: `/oauth/access_token` reads them, and elsewhere the body still reaches the
/// JSON parser (400 unless it is JSON), so `curl -d '{…}'` keeps working.
fn unsupported_media_type(req: &axum::extract::Request) -> Option<String> {
    let has_body = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .map_or(req.headers().contains_key(header::TRANSFER_ENCODING), |l| l.as_bytes() != b"0");
    if !has_body {
        return None;
    }
    let ct = req.headers().get(header::CONTENT_TYPE)?;
    let ct = String::from_utf8_lossy(ct.as_bytes()).into_owned();
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let json = essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"));
    if json || essence.is_empty() || essence == "application/x-www-form-urlencoded" { None } else { Some(ct) }
}

/// Middleware: the errors axum itself produces — a method the route does not serve (405,
/// empty body), a path parameter that is not UTF-8 or a body over the limit read by a
/// `Bytes` extractor (plain text) — are answered in the dialect's error format like every
/// other error, and a body in a media type no handler reads gets DRF's 415.
pub async fn dialect_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let path = req.uri().path().to_owned();
    // A NUL in the path or the query can name nothing, and PostgreSQL refuses it even as a
    // bound parameter; refuse it here for every route at once.
    if path.contains("%00") || req.uri().query().is_some_and(|q| q.contains("%00")) {
        return dialect_error(&path, StatusCode::BAD_REQUEST, crate::wire::NUL_MESSAGE.to_owned());
    }
    if let Some(ct) = unsupported_media_type(&req) {
        let shown: String = ct.chars().take(100).collect();
        return dialect_error(
            &path,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Unsupported media type \"{shown}\" in request."),
        );
    }
    let method = req.method().clone();
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json =
        resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let detail = match status {
        StatusCode::METHOD_NOT_ALLOWED => format!("Method \"{method}\" not allowed."),
        StatusCode::PAYLOAD_TOO_LARGE => "Request body is too large.".to_owned(),
        _ if !text.is_empty() => String::from_utf8_lossy(&text).into_owned(),
        _ => status.canonical_reason().unwrap_or("Error").to_owned(),
    };
    let mut out = dialect_error(&path, status, detail);
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}
