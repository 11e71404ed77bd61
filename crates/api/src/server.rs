//! The HTTP/1.1 server loop: accepting connections and closing the ones that hold the
//! server without sending anything.
//!
//! `axum::serve` offers no header timeout: a client that sends its headers a byte a second,
//! or opens a connection and sends nothing, held it (a task and a file descriptor) forever.
//! Here each connection is served by hyper's HTTP/1 connection with a header read timeout
//! ([`Limits::header_timeout`]): the clock starts whenever the connection waits for a
//! request's head — when it is accepted and after each response on a kept-alive connection —
//! and a head not complete in time closes the connection. What happens after the head (the
//! body, the handler) is bounded by the request timeout of [`crate::http::limits`].
//!
//! Shutdown: stop accepting, let each connection finish the request it is serving (idle ones
//! close at once), and wait at most the request timeout plus the header timeout for them.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::time::Duration;

use axum::extract::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tower::ServiceExt;

use crate::http::limits::Limits;

/// Serves `service` on `listener` until `shutdown` resolves, then drains (module docs).
pub async fn run<S>(
    listener: tokio::net::TcpListener,
    service: S,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        stream.set_nodelay(true).ok();
        // Each request carries its peer's address, as `axum::serve`'s connect info gives it
        // (the access-token rate is counted per address).
        let service = service.clone().map_request(move |req: hyper::Request<Incoming>| {
            let mut req = req.map(axum::body::Body::new);
            req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            req
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                // A header timeout, a client that went away, a malformed request: the
                // connection's end, not the server's.
                tracing::debug!(error = %e, "connection closed");
            }
        });
    }
    drop(listener);
    let drain = limits.request_timeout + limits.header_timeout;
    if tokio::time::timeout(drain, graceful.shutdown()).await.is_err() {
        tracing::warn!(after_s = drain.as_secs(), "connections still open at shutdown; closing them");
    }
    Ok(())
}

/// An accept that failed: a connection reset before it was accepted is nothing; anything else
/// (file descriptors exhausted, …) is logged and waited out for a second, so the loop does
/// not spin.
async fn accept_failed(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
