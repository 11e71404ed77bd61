//! offerline-api: the HTTP face of offerline.
//!
//! One axum application serves every dialect. Each dialect is a folder whose `mod.rs`
//! registers all its routes; its files parse requests, call one use case of
//! `offerline_app`, and render the result in the dialect's wire format:
//!
//! - [`omnitron`] — Akinon's back office under `/api/{v1,i1}/`: login, `active_user`, the
//!   catalogue, promotions and vouchers, `pricing/simulate`, staff orders, the detailed
//!   ledger views;
//! - [`commerce`] — Akinon's storefront: `/users/…`, `/current_user/`, `/account/…`,
//!   `/baskets/basket/`, `/orders/checkout/`;
//! - [`oms`] — Akinon's order management: `/api/v1/oms/order_items/…`;
//! - [`elasticpath`] — `/oauth/access_token` and `/v2/…`;
//! - [`ops`] — `/healthz`, `/readyz`, `/metrics`, `/openapi.json`;
//! - [`dashboard`] — the back office on the web under `/dashboard/`: HTML pages, not an API,
//!   so not in the route table's OpenAPI document.
//!
//! Beside them, [`http`] holds the pieces they share: authentication extractors, both
//! dialects' error bodies and the middleware that answers axum's own
//! errors in the path's dialect, lists, wire helpers, the route table that is also the
//! OpenAPI document, the response cache, the path-id extractor, the bounds on requests in
//! flight and their duration; [`server`] is the connection loop with its header timeout. No dialect imports another's
//! handlers, and `http` imports no dialect.
//!
//! The state every handler shares holds the application ([`offerline_app::App`]), never the
//! store: the api reaches the database only through a use case.

pub mod commerce;
pub mod dashboard;
pub mod elasticpath;
pub mod http;
pub mod omnitron;
pub mod oms;
pub mod ops;
pub mod server;

use http::limits::{self, Limiter, Limits};
use http::{auth, cache, docs, error};

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::Uri;
use offerline_app::App;
use tower::Layer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

/// Largest request body accepted (contract: bodies over 1 MiB → 413).
pub const BODY_LIMIT: usize = 1 << 20;

/// Shared state of every handler.
pub struct Shared {
    pub app: App,
    pub metrics: ops::Metrics,
    pub openapi: serde_json::Value,
    pub tokens: auth::TokenCache,
    pub responses: cache::ResponseCache,
    /// Requests in flight and the timeouts ([`http::limits`]).
    pub limiter: Limiter,
}

#[derive(Clone)]
pub struct AppState(pub Arc<Shared>);

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

fn routes() -> docs::Routes {
    ops::routes().merge(omnitron::routes()).merge(commerce::routes()).merge(oms::routes()).merge(elasticpath::routes())
}

/// Collapses repeated slashes and trims the trailing slash before routing, so `/a//b/`,
/// `/a/b/` and `/a/b` reach the same handler (clients differ; the Elastic Path SDK really
/// sends `items/{id}//custom-discounts`).
pub fn normalize_path(mut req: Request) -> Request {
    let uri = req.uri();
    let path = uri.path();
    if path.len() > 1 && (path.ends_with('/') || path.contains("//")) {
        let mut clean = String::with_capacity(path.len());
        for seg in path.split('/').filter(|s| !s.is_empty()) {
            clean.push('/');
            clean.push_str(seg);
        }
        if clean.is_empty() {
            clean.push('/');
        }
        if let Some(q) = uri.query() {
            clean.push('?');
            clean.push_str(q);
        }
        let mut parts = uri.clone().into_parts();
        if let Ok(pq) = clean.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(u) = Uri::from_parts(parts) {
                *req.uri_mut() = u;
            }
        }
    }
    req
}

/// Builds the state around `app`: the route table's OpenAPI document and empty caches, with
/// the default [`Limits`]. Other processes' writes are followed once [`serve`] starts the
/// watcher.
pub fn state(app: App) -> AppState {
    state_with_limits(app, Limits::default())
}

/// [`state`] with the given bounds on requests and connections.
pub fn state_with_limits(app: App, limits: Limits) -> AppState {
    let (_, openapi) = routes().into_parts();
    AppState(Arc::new(Shared {
        app,
        metrics: ops::Metrics::default(),
        openapi,
        tokens: auth::TokenCache::default(),
        responses: cache::ResponseCache::default(),
        limiter: Limiter::new(limits),
    }))
}

/// The routed application with its middleware, expecting normalised paths (see
/// [`normalize_path`]); [`app`] adds the normalisation in front.
pub fn router(state: AppState) -> axum::Router {
    let (router, _) = routes().into_parts();
    router
        .merge(dashboard::router())
        .fallback(|uri: Uri| async move { http::dialect::not_found(uri.path()) })
        .layer(axum::middleware::from_fn(http::dialect::dialect_errors))
        // Inside the metrics, so its 503s are counted.
        .layer(axum::middleware::from_fn_with_state(state.limiter.clone(), limits::bound))
        .layer(axum::middleware::from_fn_with_state(state.clone(), ops::track))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(error::ApiError::Internal("handler panicked".into()))
        }))
        // Outermost, so it runs after everything a write request did, panics included.
        .layer(axum::middleware::from_fn_with_state(state.clone(), cache::bump_after_writes))
        .with_state(state)
}

/// The whole application as a service, path normalisation first.
pub fn app(
    state: AppState,
) -> impl tower::Service<Request, Response = axum::response::Response, Error = std::convert::Infallible, Future = impl Send>
+ Clone
+ Send
+ 'static {
    tower::util::MapRequestLayer::new(normalize_path).layer(router(state))
}

/// Serves until `shutdown` resolves, then drains in-flight requests ([`server`]). Starts the
/// watcher of other processes' writes and the periodic purge of what has expired
/// ([`offerline_app::ops::start_purge`]); each connection carries its peer's address
/// (the access-token rate is counted per address).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let application = state.app.clone();
    // Caches are used only once the watcher follows other processes' commits; the offer
    // cache follows it too.
    offerline_app::ops::watch(&application);
    let purge = offerline_app::ops::start_purge(&application);
    let limits = state.limiter.limits();
    let served = server::run(listener, app(state), limits, shutdown).await;
    purge.abort();
    served?;
    tokio::time::timeout(Duration::from_secs(5), offerline_app::ops::close(&application)).await.ok();
    Ok(())
}
