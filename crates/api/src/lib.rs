//! offerline-api: the HTTP face of offerline.
//!
//! One axum application serves every dialect. Each module owns its wire shapes and maps the
//! domain to JSON; a reader finds any endpoint from its path in one step:
//!
//! - [`ops`] — `/healthz`, `/readyz`, `/metrics`, `/openapi.json`;
//! - [`omnitron`] — `/api/{v1,i1}/auth/login/`, `active_user`, the catalogue (`products`,
//!   `price_lists`, `stock_lists`, `product_prices`);
//! - [`promotions`] — `/api/v1/promotions/…`, `/api/v1/vouchers/` (bodies read by
//!   [`promotion_body`]);
//! - [`simulate`] — `/api/v1/pricing/simulate/`;
//! - [`orders`] — storefront `/baskets/basket/`, `/orders/checkout/`, staff `/api/v1/orders/…`;
//! - [`ledger`] — Omnitron `discount_items` and `order_item` detailed views;
//! - [`oms`] — `/api/v1/oms/order_items/…`;
//! - [`storefront`] — `/users/login/`, `/users/logout/`, `/current_user/`;
//! - [`account`] — `/account/basket-offers/` and the other `/account/…` views;
//! - [`elasticpath`] — `/oauth/access_token` and `/v2/…`.
//!
//! Cross-cutting pieces: [`auth`] (extractors, throttle, token cache), [`cache`] (the
//! response cache of the staff ledger reads and the write middleware that invalidates it),
//! [`error`] (the DRF error body),
//! [`listing`] (pagination, filters, sort), [`wire`] (money/time formatting, JSON bodies),
//! [`docs`] (the route table and the OpenAPI document built from it).

pub mod account;
pub mod basket;
pub mod elasticpath;
pub mod ep_carts;
pub mod ep_discounts;
pub mod ep_orders;
pub mod http;
pub mod ledger;
pub mod omnitron;
pub mod oms;
pub mod ops;
pub mod orders;
pub mod promotion_body;
pub mod promotions;
pub mod simulate;
pub mod storefront;

pub use http::{auth, cache, docs, error, listing, wire};

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use axum::ServiceExt;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::Uri;
use offerline_store::Store;
use tower::Layer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

/// Largest request body accepted (contract: bodies over 1 MiB → 413).
pub const BODY_LIMIT: usize = 1 << 20;

/// Shared state of every handler.
pub struct Shared {
    pub store: Store,
    pub throttle: auth::Throttle,
    pub metrics: ops::Metrics,
    pub openapi: serde_json::Value,
    pub offers: offerline_app::offers::OfferCache,
    pub tokens: auth::TokenCache,
    pub responses: cache::ResponseCache,
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
    ops::routes()
        .merge(omnitron::routes())
        .merge(promotions::routes())
        .merge(simulate::routes())
        .merge(basket::routes())
        .merge(orders::routes())
        .merge(ledger::routes())
        .merge(oms::routes())
        .merge(storefront::routes())
        .merge(elasticpath::routes())
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

/// Builds the state: the route table's OpenAPI document and a warm offer cache, which
/// follows the store's changes from now on (other processes' too once [`serve`] starts the
/// store's watcher).
pub async fn state(store: Store) -> Result<AppState, offerline_app::AppError> {
    let (_, openapi) = routes().into_parts();
    let offers = offerline_app::offers::OfferCache::load(store.clone()).await?;
    Ok(AppState(Arc::new(Shared {
        store,
        throttle: auth::Throttle::default(),
        metrics: ops::Metrics::default(),
        openapi,
        offers,
        tokens: auth::TokenCache::default(),
        responses: cache::ResponseCache::default(),
    })))
}

/// The routed application with its middleware, expecting normalised paths (see
/// [`normalize_path`]); [`app`] adds the normalisation in front.
pub fn router(state: AppState) -> axum::Router {
    let (router, _) = routes().into_parts();
    router
        .fallback(|uri: Uri| async move { http::dialect::not_found(uri.path()) })
        .layer(axum::middleware::from_fn(http::dialect::dialect_errors))
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

/// Serves until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = state.store.clone();
    // Caches are used only once the watcher follows other processes' commits; the offer
    // cache follows it too.
    store.watch_changes();
    let svc = app(state);
    axum::serve(listener, svc.into_make_service()).with_graceful_shutdown(shutdown).await?;
    tokio::time::timeout(Duration::from_secs(5), store.close()).await.ok();
    Ok(())
}
