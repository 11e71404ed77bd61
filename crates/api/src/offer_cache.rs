//! The in-memory offer cache the engine prices against.
//!
//! [`OfferCache`] holds the compiled [`OfferIndex`] of every promotion that is not deleted.
//! A write in this process rebuilds it before the response is sent, so the next request
//! sees it. Other processes learn of changes through PostgreSQL `NOTIFY offerline_offers`
//! (sent after every write, received by a `LISTEN` task), or on SQLite by polling
//! `MAX(modified_at), COUNT(*)` of promotions every two seconds.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use offerline_core::OfferIndex;
use offerline_store::{Backend, Store, StoreError};

use crate::AppState;
use crate::error::ApiError;

/// The PostgreSQL channel offer writes are announced on. It names no schema: a notify from
/// any schema of the database makes every listener reload, which is merely redundant.
pub const CHANNEL: &str = "offerline_offers";

/// How often a SQLite node checks whether another process changed promotions.
const POLL: Duration = Duration::from_secs(2);

/// The compiled index of every offer, swapped whole when offers change.
pub struct OfferCache {
    index: RwLock<Arc<OfferIndex>>,
    /// Serialises reloads (so a later reload never loses to an earlier one) and remembers
    /// the promotions stamp the current index was built from.
    reloading: tokio::sync::Mutex<Option<(Option<i64>, i64)>>,
}

impl OfferCache {
    pub async fn load(store: &Store) -> Result<Self, StoreError> {
        let cache = OfferCache {
            index: RwLock::new(Arc::new(OfferIndex::build(Vec::new()))),
            reloading: tokio::sync::Mutex::new(None),
        };
        cache.reload(store, "startup").await?;
        Ok(cache)
    }

    pub fn current(&self) -> Arc<OfferIndex> {
        match self.index.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn len(&self) -> usize {
        self.current().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rebuilds the index from the database. Returns the number of offers.
    pub async fn reload(&self, store: &Store, why: &str) -> Result<usize, StoreError> {
        let mut stamp = self.reloading.lock().await;
        let started = Instant::now();
        let new_stamp = store.promotions_stamp().await?;
        let index = OfferIndex::build(store.load_offers().await?);
        let n = index.len();
        match self.index.write() {
            Ok(mut g) => *g = Arc::new(index),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(index),
        }
        *stamp = Some(new_stamp);
        tracing::info!(offers = n, elapsed_ms = started.elapsed().as_secs_f64() * 1000.0, why, "offer cache reloaded");
        Ok(n)
    }

    /// After a write in this process: rebuild now, then tell the other nodes. The write is
    /// committed either way, so a failed notify is logged, not reported.
    pub async fn changed(&self, store: &Store) -> Result<(), ApiError> {
        self.reload(store, "write").await?;
        if let Err(e) = store.notify_offers_changed().await {
            tracing::warn!(error = %e, "could not notify other nodes of an offer change");
        }
        Ok(())
    }

    /// Reloads if the promotions stamp moved since the last build (SQLite polling).
    async fn poll(&self, store: &Store) -> Result<(), StoreError> {
        let now = store.promotions_stamp().await?;
        let last = *self.reloading.lock().await;
        if last != Some(now) {
            self.reload(store, "poll").await?;
        }
        Ok(())
    }
}

/// Keeps the cache fresh across processes: PostgreSQL LISTEN/NOTIFY, SQLite polling.
pub fn spawn_refresh(state: AppState) {
    tokio::spawn(async move {
        match state.store.backend() {
            Backend::Sqlite => loop {
                tokio::time::sleep(POLL).await;
                if let Err(e) = state.offers.poll(&state.store).await {
                    tracing::warn!(error = %e, "offer cache poll failed");
                }
            },
            Backend::Postgres => listen(state).await,
        }
    });
}

async fn listen(state: AppState) {
    loop {
        match sqlx::postgres::PgListener::connect(state.store.url()).await {
            Ok(mut l) => match l.listen(CHANNEL).await {
                Ok(()) => {
                    // Whatever changed while we were not listening.
                    if let Err(e) = state.offers.reload(&state.store, "listen").await {
                        tracing::warn!(error = %e, "offer cache reload failed");
                    }
                    loop {
                        match l.try_recv().await {
                            // `None`: the connection dropped and was re-established, so
                            // notifications may have been missed: reload too.
                            Ok(_) => {
                                while l.next_buffered().is_some() {}
                                if let Err(e) = state.offers.reload(&state.store, "notify").await {
                                    tracing::warn!(error = %e, "offer cache reload failed");
                                }
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "offer listener failed; reconnecting");
                                break;
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "LISTEN {CHANNEL} failed"),
            },
            Err(e) => tracing::warn!(error = %e, "offer listener could not connect"),
        }
        tokio::time::sleep(POLL).await;
    }
}
