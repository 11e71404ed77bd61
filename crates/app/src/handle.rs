//! The application handle: what every use case runs against. It owns the store, the offer
//! cache that follows it, the login throttle, the operator's [`Policy`] and the
//! access-token rate limiters, so an adapter holds one [`App`] and never the store itself:
//! the arrows stay adapter → app → store.

use std::sync::Arc;

use offerline_store::Store;

use crate::error::AppResult;
use crate::offers::OfferCache;
use crate::policy::Policy;
use crate::rate::RateLimiter;
use crate::throttle::Throttle;

/// The application: cheap to clone (clones share everything), needs a Tokio runtime.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    offers: OfferCache,
    throttle: Throttle,
    policy: Policy,
    /// Access tokens asked for, per caller address and per client id.
    token_requests: (RateLimiter, RateLimiter),
}

impl App {
    /// The application over an open store: the offer cache is built now and follows the
    /// store's changes from then on (other processes' too once the watcher runs, `ops::watch`).
    pub async fn load(store: Store) -> AppResult<App> {
        App::load_with(store, Policy::default()).await
    }

    /// [`App::load`] under the operator's `policy`.
    pub async fn load_with(store: Store, policy: Policy) -> AppResult<App> {
        let offers = OfferCache::load(store.clone()).await?;
        let rates = policy.token_rates;
        Ok(App {
            inner: Arc::new(Inner {
                store,
                offers,
                throttle: Throttle::default(),
                policy,
                token_requests: (RateLimiter::new(rates.per_peer), RateLimiter::new(rates.per_client)),
            }),
        })
    }

    /// Opens the database at `url` (applying pending migrations) and loads the application.
    pub async fn open(url: &str) -> AppResult<App> {
        App::open_with(url, Policy::default()).await
    }

    /// [`App::open`] under the operator's `policy`.
    pub async fn open_with(url: &str, policy: Policy) -> AppResult<App> {
        App::load_with(Store::open(url).await?, policy).await
    }

    /// The lifetimes, purge interval and rates this application runs under.
    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    /// The live offers every quote, checkout and simulation prices against.
    pub fn offers(&self) -> &OfferCache {
        &self.inner.offers
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn throttle(&self) -> &Throttle {
        &self.inner.throttle
    }

    /// The access-token rate limiters: (per caller address, per client id).
    pub(crate) fn token_requests(&self) -> &(RateLimiter, RateLimiter) {
        &self.inner.token_requests
    }
}
