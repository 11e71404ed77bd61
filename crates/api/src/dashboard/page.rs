//! The back office's frame: the layout every page shares (navigation, the logout form), the
//! stylesheet served from the binary, the error page, and small rendering helpers.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use offerline_app::AppError;
use offerline_core::Timestamp;

use super::Session;
use crate::http::error::ApiError;

/// The stylesheet: small, responsive (one column on a phone), compiled into the binary.
const CSS: &str = include_str!("dashboard.css");

pub(super) async fn css() -> Response {
    let mut resp = CSS.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    resp
}

/// A whole page: `title`, the navigation when someone is signed in, and `body`.
pub fn layout(title: &str, session: Option<&Session>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · offerline back office" }
                link rel="stylesheet" href="/dashboard/assets/dashboard.css";
            }
            body {
                header.top {
                    a.brand href="/dashboard/" { "offerline" }
                    @if let Some(s) = session {
                        nav {
                            a href="/dashboard/promotions/" { "Promotions" }
                            a href="/dashboard/preview/" { "Preview" }
                            a href="/dashboard/orders/" { "Orders" }
                            a href="/dashboard/cancellations/" { "Cancellation queue" }
                            a href="/dashboard/reports/" { "Reports" }
                        }
                        form.logout method="post" action="/dashboard/logout/" {
                            (s.csrf_field())
                            span.who { (s.user.username) }
                            button type="submit" { "Log out" }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// An HTML response with `status`.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

/// 303 See Other to `to`: after a write, the browser fetches the result with GET.
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// `minor` in `currency` as the API writes money (`"66.63"`).
pub fn money(minor: i64, currency: &str) -> String {
    crate::http::wire::money(minor, currency)
}

/// An instant for people: `2026-01-31 14:05 UTC`.
pub fn when(micros: i64) -> String {
    let iso = Timestamp(micros).to_iso8601();
    format!("{} {} UTC", &iso[..10.min(iso.len())], iso.get(11..16).unwrap_or(""))
}

/// Why a page cannot be shown: rendered as an HTML error page with the matching status.
#[derive(Debug)]
pub enum DashError {
    NotFound,
    /// 403: a write without the session's CSRF token.
    Forbidden(&'static str),
    /// 400 (or 429 when throttled): the message is for the user.
    Bad(StatusCode, String),
    Internal(String),
}

impl From<AppError> for DashError {
    fn from(e: AppError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<ApiError> for DashError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::NotFound | ApiError::InvalidPage => DashError::NotFound,
            ApiError::Forbidden => DashError::Forbidden("You do not have permission to perform this action."),
            ApiError::Unauthenticated(m) => DashError::Forbidden(m),
            ApiError::Throttled(secs) => DashError::Bad(
                StatusCode::TOO_MANY_REQUESTS,
                format!("Too many attempts. Try again in {secs} seconds."),
            ),
            ApiError::Fields(m) => {
                let text = flatten_errors(&serde_json::Value::Object(m))
                    .into_iter()
                    .map(|(path, msg)| if path.is_empty() { msg } else { format!("{path}: {msg}") })
                    .collect::<Vec<_>>()
                    .join(" ");
                DashError::Bad(StatusCode::BAD_REQUEST, text)
            }
            ApiError::BadRequest(m) | ApiError::Detail(m) => DashError::Bad(StatusCode::BAD_REQUEST, m),
            ApiError::TooLarge => DashError::Bad(StatusCode::PAYLOAD_TOO_LARGE, "Request body is too large.".into()),
            ApiError::Internal(m) => DashError::Internal(m),
        }
    }
}

impl IntoResponse for DashError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            DashError::NotFound => (StatusCode::NOT_FOUND, "Not found.".to_owned()),
            DashError::Forbidden(m) => (StatusCode::FORBIDDEN, m.to_owned()),
            DashError::Bad(status, m) => (status, m),
            DashError::Internal(cause) => {
                tracing::error!(%cause, "internal error (back office)");
                (StatusCode::INTERNAL_SERVER_ERROR, "A server error occurred.".to_owned())
            }
        };
        let title = status.canonical_reason().unwrap_or("Error");
        respond(
            status,
            layout(
                title,
                None,
                html! {
                    p.error role="alert" { (message) }
                    p { a href="/dashboard/" { "Back to the back office" } }
                },
            ),
        )
    }
}

pub type DashResult<T = Response> = Result<T, DashError>;

/// DRF's nested error body as (dotted path, message) pairs, in order: `{"benefit": {"value":
/// ["…"]}}` → `("benefit.value", "…")`; `non_field_errors` belong to their parent's path.
pub fn flatten_errors(v: &serde_json::Value) -> Vec<(String, String)> {
    fn walk(v: &serde_json::Value, path: &str, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let p = if k == "non_field_errors" {
                        path.to_owned()
                    } else if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(v, &p, out);
                }
            }
            serde_json::Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    match x {
                        serde_json::Value::String(s) => out.push((path.to_owned(), s.clone())),
                        other => walk(other, &format!("{path}.{i}"), out),
                    }
                }
            }
            serde_json::Value::String(s) => out.push((path.to_owned(), s.clone())),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, "", &mut out);
    out
}

/// A numeric id from the path; anything else names no page (404).
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = DashError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await.map_err(|_| DashError::NotFound)?;
        raw.parse::<i64>().map(Id).map_err(|_| DashError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nested_errors_flatten_to_dotted_paths() {
        let v = json!({"name": ["This field is required."],
                       "benefit": {"value": ["Too big."], "range": {"skus": ["Bad."]}, "non_field_errors": ["Whole."]}});
        assert_eq!(
            flatten_errors(&v),
            vec![
                ("name".into(), "This field is required.".into()),
                ("benefit.value".into(), "Too big.".into()),
                ("benefit.range.skus".into(), "Bad.".into()),
                ("benefit".into(), "Whole.".into()),
            ]
        );
    }
}
