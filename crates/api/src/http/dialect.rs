//! The errors axum produces before a handler runs (405, a path segment that is not UTF-8,
//! a body over the limit, a media type no handler reads, a NUL in the URL) and the 404 of a
//! path no route serves, answered in the dialect of the path: JSON:API for `/v2/…` and
//! `/oauth/…`, DRF for the rest.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::ep_error::EpError;
use super::error::{ApiError, NUL_MESSAGE};

/// Whether a path belongs to the Elastic Path dialect (JSON:API error bodies).
pub fn is_elastic_path(path: &str) -> bool {
    path.starts_with("/v2/") || path == "/v2" || path.starts_with("/oauth/")
}

/// An error body in the dialect of `path`: DRF `{"detail"}` or JSON:API `{"errors"}`.
pub(crate) fn dialect_error(path: &str, status: StatusCode, detail: String) -> Response {
    if is_elastic_path(path) {
        let title = status.canonical_reason().unwrap_or("Error");
        EpError::new(status, title, detail).into_response()
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
        EpError::not_found("The requested resource could not be found.").into_response()
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
        return dialect_error(&path, StatusCode::BAD_REQUEST, NUL_MESSAGE.to_owned());
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
    // JSON is already in a dialect's format; HTML is the back office's own error page.
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html"));
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
