//! The application handle: what every use case runs against. It owns the store, the offer
//! cache that follows it, and the login throttle, so an adapter holds one [`App`] and never
//! the store itself: the arrows stay adapter → app → store.

use std::sync::Arc;

use offerline_store::Store;

use crate::error::AppResult;
use crate::offers::OfferCache;
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
}

impl App {
    /// The application over an open store: the offer cache is built now and follows the
    /// store's changes from then on (other processes' too once the watcher runs, `ops::watch`).
    pub async fn load(store: Store) -> AppResult<App> {
        let offers = OfferCache::load(store.clone()).await?;
        Ok(App { inner: Arc::new(Inner { store, offers, throttle: Throttle::default() }) })
    }

    /// Opens the database at `url` (applying pending migrations) and loads the application.
    pub async fn open(url: &str) -> AppResult<App> {
        App::load(Store::open(url).await?).await
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
}
