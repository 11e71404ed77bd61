//! What one client can hold of the server: how many requests run at once, how long one may
//! take, and how long a connection may take to send a request's headers.
//!
//! - **Requests in flight** are bounded by a semaphore taken without waiting: a request over
//!   the bound is answered 503 (with `Retry-After`) at once instead of queueing behind the
//!   others, so a flood costs the server a refusal per request, not a growing queue.
//!   `/healthz` is exempt: a busy process is alive, and an orchestrator must not kill it for
//!   being busy (`/readyz` is not exempt, so a load balancer sees the 503s).
//! - **A request's duration**, from its head to its response (reading the body included, so
//!   a body sent a byte a second is cut off too), is bounded; past it the client gets 503. A
//!   write already handed to the database (a checkout) still commits or rolls back whole;
//!   retrying with the same `Idempotency-Key` gets that order.
//! - **Headers** (and an idle keep-alive connection waiting for its next request) are bounded
//!   by the server loop ([`crate::server`]), which closes the connection.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::Semaphore;

use super::dialect::dialect_error;

/// The bounds, from the command line or the environment (`offerline serve --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most requests handled at once; more are answered 503 at once.
    pub max_requests: usize,
    /// Longest a request may take, from its head to its response.
    pub request_timeout: Duration,
    /// Longest a connection may take to send a request's headers, counted from the moment
    /// the server waits for them: on a new connection and between requests on a kept-alive one.
    pub header_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_requests: DEFAULT_MAX_REQUESTS,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
        }
    }
}

/// Far above what the store can serve at once (its pools hold tens of connections), far
/// below what would exhaust memory or file descriptors.
pub const DEFAULT_MAX_REQUESTS: usize = 1024;
/// Every request of the API answers in milliseconds; 30 s is a stuck client or a stuck
/// database, not a slow query.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Any client on a working network sends its headers in well under a second; 20 s also keeps
/// an idle kept-alive connection that long.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(20);

/// The running state of [`Limits`]: the permits of the requests in flight.
#[derive(Debug, Clone)]
pub struct Limiter {
    limits: Limits,
    permits: Arc<Semaphore>,
}

impl Limiter {
    pub fn new(limits: Limits) -> Self {
        Limiter { limits, permits: Arc::new(Semaphore::new(limits.max_requests.max(1))) }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }
}

/// Middleware: the concurrency bound and the request timeout (see the module docs), their
/// 503s in the dialect of the path.
pub async fn bound(State(limiter): State<Limiter>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if path == "/healthz" {
        return next.run(req).await;
    }
    let Ok(_permit) = limiter.permits.clone().try_acquire_owned() else {
        tracing::warn!(max = limiter.limits.max_requests, %path, "too many requests in flight; answered 503");
        return unavailable(&path, "The server is busy; try again shortly.".into());
    };
    let limit = limiter.limits.request_timeout;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => {
            tracing::warn!(%path, timeout_s = limit.as_secs_f64(), "request timed out; answered 503");
            unavailable(&path, format!("The request did not complete within {} seconds.", seconds(limit)))
        }
    }
}

fn unavailable(path: &str, detail: String) -> Response {
    let mut resp = dialect_error(path, StatusCode::SERVICE_UNAVAILABLE, detail);
    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    resp
}

/// A duration in seconds as a person writes it: `30`, `0.5`.
fn seconds(d: Duration) -> String {
    let s = format!("{:.3}", d.as_secs_f64());
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_read_as_written() {
        assert_eq!(seconds(Duration::from_secs(30)), "30");
        assert_eq!(seconds(Duration::from_millis(500)), "0.5");
        assert_eq!(seconds(Duration::from_millis(1250)), "1.25");
    }
}
