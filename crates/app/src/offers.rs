//! The offer cache: the compiled [`OfferIndex`] of every promotion that is not deleted,
//! which every quote, checkout and simulation prices against, with the `modified_at` of
//! each promotion row it was built from ([`Snapshot`]): a checkout hands those versions to
//! the transaction, which refuses an offer whose row has changed since.
//!
//! # Freshness
//! - Every pricing first reads the database's two pricing versions
//!   ([`Store::pricing_versions`]: one indexed read of two rows, which the writing
//!   transaction moves by trigger, migration 0014) and rebuilds first when the index or the
//!   catalogue was built from an older one. So a write committed on any node, by any
//!   process on the same database, is priced by the next pricing everywhere: strict
//!   read-your-writes, at the price of that one small read per pricing (measured in
//!   docs/PERFORMANCE.md). Concurrent callers share one rebuild. This process's own
//!   writes need nothing more: they moved the versions before they were answered.
//! - A write costs its own rows, not a rebuild of every offer, so ten thousand promotions
//!   written one by one cost ten thousand inserts.
//! - A rebuild reads the ids and `modified_at` of the live rows and then only the rows
//!   whose version moved ([`Store::live_offer_changes`]), over the current index: a write
//!   among ten thousand offers reads one row. The startup load and a checkout that found an
//!   offer out of date ([`OfferCache::outdated`], which may be a row changed by hand with its
//!   `modified_at` untouched) read every row.
//! - Off the request path, the follower below rebuilds as soon as it can, so pricing rarely
//!   waits for a rebuild: it waits for the store's change watcher
//!   ([`offerline_store::changes`]) to move the data generation, reads the versions and
//!   rebuilds what moved. The generation moves for every write anywhere (every checkout
//!   too), so it reads them at most once per [`CHECK_INTERVAL`].
//!
//! The cache keeps the pricing catalogue ([`CatalogSnapshot`]) by the same rules, with the
//! catalogue's version. It is loaded on first use.
//!
//! The follower is a task started by [`OfferCache::load`] that holds the cache weakly and
//! is stopped when the last handle to the cache is dropped.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use offerline_core::{OfferId, OfferIndex};
use offerline_store::Store;
use offerline_store::promotions::PricingVersions;

use crate::AppResult;
use crate::catalog_snapshot::CatalogSnapshot;

/// The least time between two of the follower's version reads after the generation moved:
/// the debounce of a burst of writes (a checkout moves the generation too, and most moves
/// change no offer).
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
    /// Serialises rebuilds, so a later one never loses to an earlier one.
    rebuilding: tokio::sync::Mutex<()>,
    /// The offers version the current index was built from (-1 before the first build).
    offers_version: AtomicI64,
    follower: std::sync::Mutex<Option<tokio::task::AbortHandle>>,
    checks: AtomicU64,
    rebuilds: AtomicU64,
    /// The pricing catalogue, once loaded, and the same bookkeeping for it.
    catalog: RwLock<Option<Arc<CatalogSnapshot>>>,
    catalog_loading: tokio::sync::Mutex<()>,
    catalog_version: AtomicI64,
    /// The pricings' reads of the versions, shared ([`OfferCache::versions`]).
    reads: VersionReads,
}

/// The bookkeeping of [`OfferCache::versions`].
#[derive(Default)]
struct VersionReads {
    /// Reads begun so far; a read's ticket is this count once it has begun.
    begun: AtomicU64,
    /// The latest read's ticket and answer, held for the length of a read (so one runs at
    /// a time, and tickets grow).
    last: tokio::sync::Mutex<(u64, PricingVersions)>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let follower = self.follower.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(task) = follower.take() {
            task.abort();
        }
    }
}

/// How often the follower read the versions and the cache rebuilt, for tests and diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// The follower's version reads after the generation moved.
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
                rebuilding: tokio::sync::Mutex::new(()),
                offers_version: AtomicI64::new(-1),
                follower: std::sync::Mutex::new(None),
                checks: AtomicU64::new(0),
                rebuilds: AtomicU64::new(0),
                catalog: RwLock::new(None),
                catalog_loading: tokio::sync::Mutex::new(()),
                catalog_version: AtomicI64::new(-1),
                reads: VersionReads::default(),
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

    /// The index with every committed promotion write in it, of this node or any other:
    /// what pricing uses (see the module's freshness rules).
    pub async fn fresh(&self) -> AppResult<Snapshot> {
        let versions = self.versions().await?;
        self.offers_at(versions.offers).await
    }

    /// The index and the pricing catalogue (loaded on first use), both current, for one read
    /// of the versions.
    pub async fn pricing(&self) -> AppResult<(Snapshot, Arc<CatalogSnapshot>)> {
        let versions = self.versions().await?;
        Ok((self.offers_at(versions.offers).await?, self.catalog_at(versions.catalog).await?))
    }

    /// The pricing versions as of a read that began after this call did: what every pricing
    /// waits for. Concurrent callers share reads: one read runs at a time, and a caller
    /// takes the answer of the first read that began after it arrived, so under load a
    /// round trip serves every pricing that was waiting for it (on PostgreSQL, one round
    /// trip per batch of waiting pricings rather than one each). Reads in place (a SQLite
    /// file) are not waited for: a caller that finds one running reads on its own.
    async fn versions(&self) -> AppResult<PricingVersions> {
        let reads = &self.inner.reads;
        // A read with a ticket past this one began after this call: it sees every write
        // committed before the call, which is all read-your-writes asks.
        let need = reads.begun.load(Ordering::SeqCst) + 1;
        let mut last = if self.inner.store.reads_in_place() {
            // A read in place takes microseconds and never waits: waiting for another's turn
            // would queue this pricing behind whatever that task's worker runs first
            // (measured: a quarter fewer mixed simulations a second at 32 connections).
            match reads.last.try_lock() {
                Ok(last) => last,
                Err(_) => return Ok(self.inner.store.pricing_versions().await?),
            }
        } else {
            reads.last.lock().await
        };
        if last.0 >= need {
            return Ok(last.1);
        }
        let ticket = reads.begun.fetch_add(1, Ordering::SeqCst) + 1;
        let versions = self.inner.store.pricing_versions().await?;
        *last = (ticket, versions);
        Ok(versions)
    }

    /// The index built from the offers `version` or a later one: for a caller that read
    /// the version along with its own rows.
    pub async fn offers_at(&self, version: i64) -> AppResult<Snapshot> {
        let current = || self.inner.offers_version.load(Ordering::SeqCst) >= version;
        if !current() {
            let turn = self.inner.rebuilding.lock().await;
            if !current() {
                self.rebuild(&turn, "changed", false).await?;
            }
        }
        Ok(self.snapshot())
    }

    /// The catalogue loaded from `version` or a later one.
    async fn catalog_at(&self, version: i64) -> AppResult<Arc<CatalogSnapshot>> {
        // The version before the catalogue: a load stores the catalogue first.
        let current =
            || if self.inner.catalog_version.load(Ordering::SeqCst) >= version { self.loaded_catalog() } else { None };
        if let Some(c) = current() {
            return Ok(c);
        }
        let turn = self.inner.catalog_loading.lock().await;
        match current() {
            Some(c) => Ok(c),
            None => self.reload_catalog(&turn).await,
        }
    }

    fn loaded_catalog(&self) -> Option<Arc<CatalogSnapshot>> {
        match self.inner.catalog.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Loads the catalogue; `_turn` shows the caller holds the load lock.
    async fn reload_catalog(&self, _turn: &tokio::sync::MutexGuard<'_, ()>) -> AppResult<Arc<CatalogSnapshot>> {
        let started = Instant::now();
        // The version first, as for the offers: a write between the reads is never lost.
        let version = self.inner.store.pricing_versions().await?.catalog;
        let catalog = Arc::new(CatalogSnapshot::from_rows(self.inner.store.catalog_rows().await?));
        match self.inner.catalog.write() {
            Ok(mut g) => *g = Some(catalog.clone()),
            Err(poisoned) => *poisoned.into_inner() = Some(catalog.clone()),
        }
        self.inner.catalog_version.store(version, Ordering::SeqCst);
        tracing::debug!(
            products = catalog.len(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "pricing catalogue loaded"
        );
        Ok(catalog)
    }

    /// After a checkout found an offer it was priced with out of date in the database:
    /// rebuilds the index, unless it has been rebuilt since `seen` (the index that checkout
    /// priced with) — a burst of such checkouts costs one rebuild, not one each.
    pub async fn outdated(&self, seen: &Arc<OfferIndex>) -> AppResult<()> {
        let turn = self.inner.rebuilding.lock().await;
        if !Arc::ptr_eq(&self.current(), seen) {
            return Ok(());
        }
        self.rebuild(&turn, "an offer was out of date at checkout", true).await.map(drop)
    }

    /// Rebuilds the index from the database. Returns the number of offers.
    pub async fn reload(&self, why: &str) -> AppResult<usize> {
        let turn = self.inner.rebuilding.lock().await;
        self.rebuild(&turn, why, true).await
    }

    /// Reads the versions, reloads the pricing catalogue if it was loaded and its version
    /// moved, and rebuilds the index if the offers version moved.
    pub async fn refresh(&self) -> AppResult<Refreshed> {
        self.inner.checks.fetch_add(1, Ordering::Relaxed);
        let PricingVersions { offers, catalog } = self.inner.store.pricing_versions().await?;
        if self.loaded_catalog().is_some() {
            self.catalog_at(catalog).await?;
        }
        let turn = self.inner.rebuilding.lock().await;
        if self.inner.offers_version.load(Ordering::SeqCst) >= offers {
            return Ok(Refreshed { rebuilt: None });
        }
        let started = Instant::now();
        self.rebuild(&turn, "changed", false).await?;
        Ok(Refreshed { rebuilt: Some(started.elapsed()) })
    }

    /// Builds the index again: from every live row when `full` (or when nothing was built
    /// yet), else from the rows whose `modified_at` moved, over the current index. `_turn`
    /// shows the caller holds the rebuild lock.
    async fn rebuild(&self, _turn: &tokio::sync::MutexGuard<'_, ()>, why: &str, full: bool) -> AppResult<usize> {
        let started = Instant::now();
        // The version first: a write between the two reads is then in the index or in a
        // version later than the one kept, never lost.
        let version = self.inner.store.pricing_versions().await?.offers;
        let built = self.inner.offers_version.load(Ordering::SeqCst) >= 0;
        let snapshot = match (built, full) {
            (true, false) => {
                // Only the rows whose version moved are read; the rest of the index is reused.
                let current = self.snapshot();
                let changes = self.inner.store.live_offer_changes(&current.versions).await?;
                // A changed offer replaces the one of its id, in the versions and the index.
                let mut versions: HashMap<i64, i64> = (*current.versions).clone();
                for id in &changes.removed {
                    versions.remove(id);
                }
                versions.extend(changes.changed.versions);
                // The unchanged offers and their postings are kept; only the changed ones
                // are posted.
                let gone: HashSet<OfferId> = changes.removed.into_iter().map(OfferId).collect();
                let changed = changes.changed.offers.into_iter().map(Arc::new).collect();
                Snapshot { index: Arc::new(current.index.with_changes(changed, &gone)), versions: Arc::new(versions) }
            }
            _ => {
                let live = self.inner.store.load_live_offers().await?;
                Snapshot { index: Arc::new(OfferIndex::build(live.offers)), versions: Arc::new(live.versions) }
            }
        };
        let n = snapshot.index.len();
        // The index it replaces is dropped after the lock is released: freeing thousands of
        // offers' postings must not hold up the pricings that read the current one.
        let replaced = match self.inner.current.write() {
            Ok(mut g) => std::mem::replace(&mut *g, snapshot),
            Err(poisoned) => std::mem::replace(&mut *poisoned.into_inner(), snapshot),
        };
        drop(replaced);
        self.inner.offers_version.store(version, Ordering::SeqCst);
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
}

/// The follower: waits for the data generation to move past `seen`, refreshes, rests
/// [`CHECK_INTERVAL`], and again, until the cache is gone.
async fn follow(cache: Weak<Inner>, mut seen: u64) {
    let Some(changes) = cache.upgrade().map(|c| c.store.changes().clone()) else { return };
    loop {
        changes.moved(seen).await;
        let before = seen;
        // Before the versions are read: a move after this point is caught by the next round.
        seen = changes.generation();
        let Some(inner) = cache.upgrade() else { return };
        match (OfferCache { inner }).refresh().await {
            // A rebuild rests as long as it took: while promotions are written in a stream,
            // the background rebuilds take at most half a core from the writes.
            Ok(r) => tokio::time::sleep(r.rebuilt.unwrap_or_default().max(CHECK_INTERVAL)).await,
            Err(e) => {
                // The change is still unaccounted for: try it again, after a pause.
                tracing::warn!(error = %e, "offer cache refresh failed; retrying");
                seen = before;
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}
