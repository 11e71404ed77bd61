//! The offer cache: the compiled [`OfferIndex`] of every promotion that is not deleted,
//! which every quote, checkout and simulation prices against, with the `modified_at` of
//! each promotion row it was built from ([`Snapshot`]): a checkout hands those versions to
//! the transaction, which refuses an offer whose row has changed since.
//!
//! # Freshness
//! - A write in this process (the promotion and voucher use cases) only marks the index
//!   out of date ([`OfferCache::changed`]): a write costs its own rows, not a rebuild of
//!   every offer, so ten thousand promotions written one by one cost ten thousand inserts.
//!   Pricing asks for the index through [`OfferCache::fresh`], which rebuilds first when a
//!   write of this process is not in it yet (one rebuild for any number of writes), so the
//!   writer's next pricing sees its write. The follower below usually has rebuilt by then,
//!   off the request path.
//! - Such a rebuild reads the ids and `modified_at` of the live rows and then only the rows
//!   whose version moved ([`Store::live_offer_changes`]), over the current index: a write
//!   among ten thousand offers reads one row. The startup load and a checkout that found an
//!   offer out of date ([`OfferCache::outdated`], which may be a row changed by hand with its
//!   `modified_at` untouched) read every row.
//! - Writes of other processes reach it through the store's one change watcher
//!   ([`offerline_store::changes`]): the cache waits for the data generation to move, then
//!   compares the cheap [`Store::promotions_stamp`] with the stamp its index was built from
//!   and rebuilds only if it moved. The generation moves for every write anywhere (every
//!   checkout too), so the comparison runs at most once per [`CHECK_INTERVAL`]; a burst of
//!   moves costs one stamp query. The staleness bound for another process's promotion
//!   write is therefore the watcher's (20 ms on SQLite, the notification latency on
//!   PostgreSQL) plus [`CHECK_INTERVAL`] plus one rebuild.
//!
//! The cache also keeps the pricing catalogue ([`CatalogSnapshot`]) by the same rules: a
//! catalogue write of this process marks it out of date ([`OfferCache::catalog_changed`]),
//! [`OfferCache::catalog`] reloads it first when it is, and the follower reloads it when
//! [`Store::catalog_stamp`] moved. It is loaded on first use.
//!
//! The follower is a task started by [`OfferCache::load`] that holds the cache weakly and
//! is stopped when the last handle to the cache is dropped.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use offerline_core::{Offer, OfferIndex};
use offerline_store::Store;
use offerline_store::catalog::CatalogStamp;
use offerline_store::promotions::PromotionsStamp;

use crate::AppResult;
use crate::catalog_snapshot::CatalogSnapshot;

/// The least time between two stamp checks after the generation moved: the debounce of a
/// burst of writes (a checkout moves the generation too, and most moves change no offer).
pub const CHECK_INTERVAL: Duration = Duration::from_millis(25);

/// How long the follower waits before trying a failed refresh again.
const RETRY: Duration = Duration::from_secs(1);

/// The compiled index of every offer, swapped whole when offers change. Clones share it.
#[derive(Clone)]
pub struct OfferCache {
    inner: Arc<Inner>,
}

/// One build of the cache: the index and, for each offer in it, the `modified_at` of the
/// promotion row it was built from — read together, so a checkout can tell the database
/// which version of each offer it was priced with.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub index: Arc<OfferIndex>,
    /// Promotion id → its row's `modified_at` at this build.
    pub versions: Arc<HashMap<i64, i64>>,
}

struct Inner {
    store: Store,
    current: RwLock<Snapshot>,
    /// Serialises rebuilds (so a later one never loses to an earlier one) and remembers the
    /// stamp the current index was built from.
    built: tokio::sync::Mutex<Option<PromotionsStamp>>,
    follower: std::sync::Mutex<Option<tokio::task::AbortHandle>>,
    checks: AtomicU64,
    rebuilds: AtomicU64,
    /// Writes of this process so far ([`OfferCache::changed`]).
    wanted: AtomicU64,
    /// The writes of this process the current index has seen: a build records the
    /// `wanted` it read before it read the database.
    done: AtomicU64,
    /// The pricing catalogue, once loaded, and the same bookkeeping for it.
    catalog: RwLock<Option<Arc<CatalogSnapshot>>>,
    catalog_built: tokio::sync::Mutex<Option<CatalogStamp>>,
    catalog_wanted: AtomicU64,
    catalog_done: AtomicU64,
    /// When the follower last compared the catalogue stamp, and how long that took.
    catalog_checked: std::sync::Mutex<Option<(Instant, Duration)>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let follower = self.follower.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(task) = follower.take() {
            task.abort();
        }
    }
}

/// How often the cache compared its stamp and rebuilt, for tests and diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Stamp comparisons after the generation moved.
    pub checks: u64,
    /// Index builds, the first one included.
    pub rebuilds: u64,
}

impl OfferCache {
    /// Builds the index from `store` and starts following the store's changes (needs a
    /// Tokio runtime). Other processes' writes are seen once the store's watcher runs
    /// ([`Store::watch_changes`]); until then only this process's writes are.
    pub async fn load(store: Store) -> AppResult<Self> {
        let changes = store.changes().clone();
        // Read before the first build: a move during it is then still ahead of the follower.
        let seen = changes.generation();
        let cache = OfferCache {
            inner: Arc::new(Inner {
                store,
                current: RwLock::new(Snapshot {
                    index: Arc::new(OfferIndex::build(Vec::new())),
                    versions: Arc::default(),
                }),
                built: tokio::sync::Mutex::new(None),
                follower: std::sync::Mutex::new(None),
                checks: AtomicU64::new(0),
                rebuilds: AtomicU64::new(0),
                wanted: AtomicU64::new(0),
                done: AtomicU64::new(0),
                catalog: RwLock::new(None),
                catalog_built: tokio::sync::Mutex::new(None),
                catalog_wanted: AtomicU64::new(0),
                catalog_done: AtomicU64::new(0),
                catalog_checked: std::sync::Mutex::new(None),
            }),
        };
        cache.reload("startup").await?;
        let task = tokio::spawn(follow(Arc::downgrade(&cache.inner), seen));
        *cache.inner.follower.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(task.abort_handle());
        Ok(cache)
    }

    /// The index as it is now; a rebuild swaps in a new one and leaves this one intact.
    pub fn current(&self) -> Arc<OfferIndex> {
        self.snapshot().index
    }

    /// The index as it is now with the row versions it was built from.
    pub fn snapshot(&self) -> Snapshot {
        match self.inner.current.read() {
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

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            checks: self.inner.checks.load(Ordering::Relaxed),
            rebuilds: self.inner.rebuilds.load(Ordering::Relaxed),
        }
    }

    /// After a write in this process: the index is out of date, and the next
    /// [`OfferCache::fresh`] rebuilds it unless the follower has. Other processes learn of
    /// the write through their change watchers.
    pub fn changed(&self) {
        self.inner.wanted.fetch_add(1, Ordering::SeqCst);
    }

    /// The index with every write of this process in it: what pricing uses, so a
    /// promotion written by one request is priced by the next (read-your-writes). Rebuilds
    /// first when a write is not in it yet; concurrent callers share one rebuild.
    pub async fn fresh(&self) -> AppResult<Snapshot> {
        let wanted = self.inner.wanted.load(Ordering::SeqCst);
        if self.inner.done.load(Ordering::SeqCst) < wanted {
            let mut built = self.inner.built.lock().await;
            if self.inner.done.load(Ordering::SeqCst) < wanted {
                self.rebuild(&mut built, "write", false).await?;
            }
        }
        Ok(self.snapshot())
    }

    /// After a catalogue write of this process (a product, a price, a price list): the
    /// next [`OfferCache::catalog`] reloads first.
    pub fn catalog_changed(&self) {
        self.inner.catalog_wanted.fetch_add(1, Ordering::SeqCst);
    }

    /// The pricing catalogue with every catalogue write of this process in it (loaded on
    /// first use; concurrent callers share one load).
    pub async fn catalog(&self) -> AppResult<Arc<CatalogSnapshot>> {
        let wanted = self.inner.catalog_wanted.load(Ordering::SeqCst);
        if self.inner.catalog_done.load(Ordering::SeqCst) >= wanted
            && let Some(c) = self.loaded_catalog()
        {
            return Ok(c);
        }
        let mut built = self.inner.catalog_built.lock().await;
        match self.loaded_catalog() {
            Some(c) if self.inner.catalog_done.load(Ordering::SeqCst) >= wanted => Ok(c),
            _ => self.reload_catalog(&mut built).await,
        }
    }

    fn loaded_catalog(&self) -> Option<Arc<CatalogSnapshot>> {
        match self.inner.catalog.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    async fn reload_catalog(&self, built: &mut Option<CatalogStamp>) -> AppResult<Arc<CatalogSnapshot>> {
        let started = Instant::now();
        let writes = self.inner.catalog_wanted.load(Ordering::SeqCst);
        // The stamp first, as for the offers: a write between the reads is never lost.
        let stamp = self.inner.store.catalog_stamp().await?;
        let catalog = Arc::new(CatalogSnapshot::from_rows(self.inner.store.catalog_rows().await?));
        match self.inner.catalog.write() {
            Ok(mut g) => *g = Some(catalog.clone()),
            Err(poisoned) => *poisoned.into_inner() = Some(catalog.clone()),
        }
        *built = Some(stamp);
        self.inner.catalog_done.fetch_max(writes, Ordering::SeqCst);
        tracing::debug!(
            products = catalog.len(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "pricing catalogue loaded"
        );
        Ok(catalog)
    }

    /// Reloads the pricing catalogue if it was loaded and its stamp moved since. The stamp
    /// reads every product and price row, so on a large catalogue it is compared at most
    /// once per ten times its own cost (a check of 5 ms waits 50 ms); returns `true` when
    /// the comparison was put off, so the follower comes back for it.
    async fn refresh_catalog(&self) -> AppResult<bool> {
        if self.loaded_catalog().is_none() {
            return Ok(false);
        }
        let last = *self.inner.catalog_checked.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, took)) = last
            && at.elapsed() < took * 10
        {
            return Ok(true);
        }
        let mut built = self.inner.catalog_built.lock().await;
        let started = Instant::now();
        let now = self.inner.store.catalog_stamp().await?;
        *self.inner.catalog_checked.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((started, started.elapsed()));
        if *built != Some(now) {
            self.reload_catalog(&mut built).await?;
        }
        Ok(false)
    }

    /// After a checkout found an offer it was priced with out of date in the database:
    /// rebuilds the index, unless it has been rebuilt since `seen` (the index that checkout
    /// priced with) — a burst of such checkouts costs one rebuild, not one each.
    pub async fn outdated(&self, seen: &Arc<OfferIndex>) -> AppResult<()> {
        let mut built = self.inner.built.lock().await;
        if !Arc::ptr_eq(&self.current(), seen) {
            return Ok(());
        }
        self.rebuild(&mut built, "an offer was out of date at checkout", true).await.map(drop)
    }

    /// Rebuilds the index from the database. Returns the number of offers.
    pub async fn reload(&self, why: &str) -> AppResult<usize> {
        let mut built = self.inner.built.lock().await;
        self.rebuild(&mut built, why, true).await
    }

    /// Reloads the pricing catalogue if its stamp moved, then rebuilds the index if the
    /// promotions stamp moved since the last build.
    pub async fn refresh(&self) -> AppResult<Refreshed> {
        let catalog_put_off = self.refresh_catalog().await?;
        let mut built = self.inner.built.lock().await;
        self.inner.checks.fetch_add(1, Ordering::Relaxed);
        let now = self.inner.store.promotions_stamp().await?;
        if *built == Some(now) {
            return Ok(Refreshed { rebuilt: None, catalog_put_off });
        }
        let started = Instant::now();
        self.rebuild(&mut built, "changed", false).await?;
        Ok(Refreshed { rebuilt: Some(started.elapsed()), catalog_put_off })
    }

    /// Builds the index again: from every live row when `full` (or when nothing was built
    /// yet), else from the rows whose `modified_at` moved, over the current index.
    async fn rebuild(&self, built: &mut Option<PromotionsStamp>, why: &str, full: bool) -> AppResult<usize> {
        let started = Instant::now();
        // Before the database is read: a write counted after this is marked for the next build.
        let writes = self.inner.wanted.load(Ordering::SeqCst);
        // The stamp first: a write between the two reads is then in the index or in a stamp
        // that differs from the one kept, never lost.
        let stamp = self.inner.store.promotions_stamp().await?;
        let snapshot = match (built.is_some(), full) {
            (true, false) => {
                // Only the rows whose version moved are read; the rest of the index is reused.
                let current = self.snapshot();
                let changes = self.inner.store.live_offer_changes(&current.versions).await?;
                let mut gone: HashSet<i64> = changes.removed.into_iter().collect();
                gone.extend(changes.changed.versions.keys().copied());
                let mut versions: HashMap<i64, i64> =
                    current.versions.iter().filter(|(id, _)| !gone.contains(id)).map(|(k, v)| (*k, *v)).collect();
                versions.extend(changes.changed.versions);
                let offers: Vec<Offer> = current
                    .index
                    .iter()
                    .filter(|o| !gone.contains(&o.id.0))
                    .cloned()
                    .chain(changes.changed.offers)
                    .collect();
                Snapshot { index: Arc::new(OfferIndex::build(offers)), versions: Arc::new(versions) }
            }
            _ => {
                let live = self.inner.store.load_live_offers().await?;
                Snapshot { index: Arc::new(OfferIndex::build(live.offers)), versions: Arc::new(live.versions) }
            }
        };
        let n = snapshot.index.len();
        match self.inner.current.write() {
            Ok(mut g) => *g = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
        *built = Some(stamp);
        self.inner.done.fetch_max(writes, Ordering::SeqCst);
        self.inner.rebuilds.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            offers = n,
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            why,
            full,
            "offer cache reloaded"
        );
        Ok(n)
    }
}

/// What a [`OfferCache::refresh`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refreshed {
    /// How long the index rebuild took, if the promotions had changed.
    pub rebuilt: Option<Duration>,
    /// The catalogue stamp was not compared this time (it was compared too recently).
    pub catalog_put_off: bool,
}

/// The follower: waits for the data generation to move past `seen`, refreshes, rests
/// [`CHECK_INTERVAL`], and again, until the cache is gone.
async fn follow(cache: Weak<Inner>, mut seen: u64) {
    let Some(changes) = cache.upgrade().map(|c| c.store.changes().clone()) else { return };
    loop {
        changes.moved(seen).await;
        let before = seen;
        // Before the stamp is read: a move after this point is caught by the next round.
        seen = changes.generation();
        let Some(inner) = cache.upgrade() else { return };
        match (OfferCache { inner }).refresh().await {
            // A rebuild rests as long as it took: while promotions are written in a stream,
            // the background rebuilds take at most half a core from the writes.
            Ok(r) => {
                if r.catalog_put_off {
                    // The move may have been a catalogue write: come back for it.
                    seen = before;
                }
                tokio::time::sleep(r.rebuilt.unwrap_or_default().max(CHECK_INTERVAL)).await;
            }
            Err(e) => {
                // The change is still unaccounted for: try it again, after a pause.
                tracing::warn!(error = %e, "offer cache refresh failed; retrying");
                seen = before;
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}
