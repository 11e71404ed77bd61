//! The response cache: serialized JSON bodies of the staff ledger reads, served from memory
//! while the store's data generation has not moved, and the middleware that moves it after
//! every write request.
//!
//! Cached: the Omnitron `discount_items` and `order_item` detailed views (lists and single
//! objects, `/api/v1` and `/api/i1`), the OMS order items (`/api/v1/oms/order_items/`,
//! `list-simple`, single) and the staff order list (`/api/v1/orders/`). Their bodies depend only on the database and the request (path,
//! query string, and for lists the Host / `X-Forwarded-Host` / `X-Forwarded-Proto` that
//! `next` / `previous` links are built from, all part of the key), never on the clock nor on
//! which staff user asks, so one entry serves every staff caller. The caller still
//! authenticates as staff first (the handler's `Staff` extractor runs before the lookup), so
//! a customer or a revoked token gets its 401/403 exactly as without the cache.
//! `/account/basket-offers/` and the other account views are not cached: they depend on the
//! customer and on offer validity windows, i.e. on the clock.
//!
//! Validity: an entry stores the generation read *before* the database was read
//! ([`offerline_app::ops::Changes`]), and is served only while the generation still equals it.
//! A write in this process bumps the generation before its response leaves
//! ([`bump_after_writes`]); writes of other processes bump it within the watcher's bound.
//! Only successful (200) bodies are cached. Memory is bounded by [`MAX_ENTRIES`] and
//! [`MAX_BYTES`]: when full, stale entries go first, then arbitrary ones.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use offerline_app::ops::{self, Changes};
use serde::Serialize;

use crate::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::listing::Listing;

/// At most this many cached bodies.
pub const MAX_ENTRIES: usize = 4096;
/// At most this many bytes of cached bodies and keys.
pub const MAX_BYTES: usize = 64 << 20;

struct Entry {
    generation: u64,
    body: Bytes,
}

#[derive(Default)]
struct Inner {
    map: HashMap<String, Entry>,
    bytes: usize,
}

/// Serialized bodies by request key, each valid for one data generation.
pub struct ResponseCache {
    inner: RwLock<Inner>,
    max_entries: usize,
    max_bytes: usize,
    hits: AtomicU64,
    misses: AtomicU64,
    /// One lock per key being built: concurrent misses of one key wait for the first to
    /// fill it instead of all reading the database at once (the cold start of 32 clients
    /// asking for the same page was the p99 of the list benchmarks).
    flights: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Default for ResponseCache {
    fn default() -> Self {
        Self::new(MAX_ENTRIES, MAX_BYTES)
    }
}

/// A request's share of a key's build lock ([`ResponseCache::flight`]).
struct Flight<'a> {
    cache: &'a ResponseCache,
    key: &'a str,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl Drop for Flight<'_> {
    /// Forgets the key's lock once no other request holds or waits for it.
    fn drop(&mut self) {
        let mut flights = self.cache.flights.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // The map's reference and this one: nobody else is waiting.
        if Arc::strong_count(&self.lock) <= 2 {
            flights.remove(self.key);
        }
    }
}

/// Counters and size, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub entries: usize,
    pub bytes: usize,
}

impl ResponseCache {
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        ResponseCache {
            inner: RwLock::new(Inner::default()),
            max_entries,
            max_bytes,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            flights: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The build lock of `key`, shared by every request missing it at the same time. The
    /// returned [`Flight`] forgets the lock when dropped, which also covers a request
    /// cancelled while it waits or builds (a client gone away).
    fn flight<'a>(&'a self, key: &'a str) -> Flight<'a> {
        let mut flights = self.flights.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let lock = flights.entry(key.to_owned()).or_default().clone();
        Flight { cache: self, key, lock }
    }

    /// Like [`Self::get`], without counting (the second look of a request that waited).
    fn peek(&self, key: &str, generation: u64) -> Option<Bytes> {
        self.read().map.get(key).filter(|e| e.generation == generation).map(|e| e.body.clone())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The body cached under `key` if it was read under `generation` (the current one).
    pub fn get(&self, key: &str, generation: u64) -> Option<Bytes> {
        let hit = self.read().map.get(key).filter(|e| e.generation == generation).map(|e| e.body.clone());
        let counter = if hit.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        hit
    }

    /// Keeps `body`, read under `generation`, unless `current` (the generation now) shows it
    /// is already stale or it is too big to be worth a slot. When full, entries of other
    /// generations than `current` are dropped first, then arbitrary ones.
    pub fn insert(&self, key: String, generation: u64, body: Bytes, current: Option<u64>) {
        let size = key.len() + body.len();
        if current != Some(generation) || size > self.max_bytes / 8 {
            return;
        }
        let mut inner = self.write();
        if let Some(old) = inner.map.remove(&key) {
            inner.bytes -= key.len() + old.body.len();
        }
        if inner.map.len() >= self.max_entries || inner.bytes + size > self.max_bytes {
            let Inner { map, bytes } = &mut *inner;
            map.retain(|k, e| {
                let keep = e.generation == generation;
                if !keep {
                    *bytes -= k.len() + e.body.len();
                }
                keep
            });
        }
        while inner.map.len() >= self.max_entries || inner.bytes + size > self.max_bytes {
            let Some(k) = inner.map.keys().next().cloned() else { break };
            if let Some(e) = inner.map.remove(&k) {
                inner.bytes -= k.len() + e.body.len();
            }
        }
        inner.bytes += size;
        inner.map.insert(key, Entry { generation, body });
    }

    pub fn stats(&self) -> CacheStats {
        let inner = self.read();
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: inner.map.len(),
            bytes: inner.bytes,
        }
    }
}

/// The key of a list: its page links' base (scheme, host, path) and the raw query string.
pub fn list_key(listing: &Listing, uri: &Uri) -> String {
    match uri.query() {
        Some(q) => format!("{}?{q}", listing.base()),
        None => listing.base().to_owned(),
    }
}

/// The key of a single object: its path (the body has no links).
pub fn object_key(uri: &Uri) -> String {
    uri.path().to_owned()
}

fn json_body(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

/// Serves `key` from the cache, or runs `build` and caches the body it answers, serialized
/// straight from its wire type. `build` is only polled on a miss; its errors pass through
/// uncached. Call it after the caller has authenticated.
pub async fn cached<T: Serialize>(
    state: &AppState,
    key: String,
    build: impl Future<Output = ApiResult<T>>,
) -> ApiResult<Response> {
    let changes = ops::changes(&state.app);
    // Read before the database: a write committed after this point moves the generation,
    // so whatever `build` reads is never kept past it.
    let generation = changes.snapshot();
    if let Some(g) = generation
        && let Some(body) = state.responses.get(&key, g)
    {
        return Ok(json_body(body));
    }
    if generation.is_none() {
        let value = build.await?;
        return Ok(json_body(Bytes::from(serde_json::to_vec(&value).map_err(ApiError::internal)?)));
    }
    let flight = state.responses.flight(&key);
    let _turn = flight.lock.lock().await;
    // Whoever held the lock before may have filled the entry; the generation is read again
    // (before this request's own database read) so that a write meanwhile is not missed.
    let generation = changes.snapshot();
    let out = match generation.and_then(|g| state.responses.peek(&key, g)) {
        Some(body) => Ok(body),
        None => match build.await {
            Ok(value) => serde_json::to_vec(&value).map(Bytes::from).map_err(ApiError::internal).inspect(|body| {
                if let Some(g) = generation {
                    state.responses.insert(key.clone(), g, body.clone(), changes.snapshot());
                }
            }),
            Err(e) => Err(e),
        },
    };
    out.map(json_body)
}

/// Bumps the generation when dropped, unless disarmed: after the handler returned, and also
/// if it panicked or the client went away mid-request, since a write may have committed
/// either way.
struct BumpOnDrop(Option<Arc<Changes>>);

impl Drop for BumpOnDrop {
    fn drop(&mut self) {
        if let Some(changes) = self.0.take() {
            changes.bump();
        }
    }
}

/// Set on a response by a handler that takes a body but writes nothing (the pricing
/// simulation): its request leaves the data generation where it was. Without it every
/// simulation would make the next request read its token from the database again, and
/// empty every cached read.
#[derive(Clone, Copy, Debug)]
pub struct ReadOnly;

/// Middleware: after a request that may write (any method but GET, HEAD and OPTIONS) has
/// been handled — its transaction committed — and before its response leaves, move the
/// data generation, so the same client's next read never comes from the cache of before.
/// A response marked [`ReadOnly`] says nothing was written; a panic or a dropped request
/// still bumps.
pub async fn bump_after_writes(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let mut bump = BumpOnDrop(Some(ops::changes(&state.app).clone()));
    let res = next.run(req).await;
    if res.extensions().get::<ReadOnly>().is_some() {
        bump.0 = None;
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(n: usize) -> Bytes {
        Bytes::from(vec![b'x'; n])
    }

    /// Concurrent misses of a key share one build lock, which is forgotten once the last
    /// holder lands.
    #[test]
    fn misses_of_one_key_share_a_flight() {
        let c = ResponseCache::default();
        let a = c.flight("k");
        let b = c.flight("k");
        assert!(Arc::ptr_eq(&a.lock, &b.lock));
        assert!(!Arc::ptr_eq(&a.lock, &c.flight("other").lock));
        assert!(!c.flights.lock().unwrap().contains_key("other"), "forgotten when dropped");
        drop(a);
        assert!(c.flights.lock().unwrap().contains_key("k"), "b still waits");
        drop(b);
        assert!(!c.flights.lock().unwrap().contains_key("k"));
    }

    #[test]
    fn serves_only_the_generation_it_was_filled_under() {
        let c = ResponseCache::new(10, 1 << 20);
        c.insert("a".into(), 1, body(3), Some(1));
        assert_eq!(c.get("a", 1).as_deref(), Some(&b"xxx"[..]));
        assert_eq!(c.get("a", 2), None, "a newer generation makes it stale");
        c.insert("b".into(), 1, body(3), Some(2));
        assert_eq!(c.get("b", 1), None, "read under a generation that already moved: not kept");
        c.insert("c".into(), 1, body(3), None);
        assert_eq!(c.get("c", 1), None, "no watcher: not kept");
        let s = c.stats();
        assert_eq!((s.hits, s.misses, s.entries), (1, 3, 1));
    }

    #[test]
    fn entries_and_bytes_stay_bounded() {
        let c = ResponseCache::new(4, 1000);
        for i in 0..100 {
            c.insert(format!("k{i}"), 7, body(50), Some(7));
            let s = c.stats();
            assert!(s.entries <= 4 && s.bytes <= 1000, "{s:?}");
        }
        // Bytes bound: 9 bodies of ~110 bytes cannot all fit in 1000.
        let c = ResponseCache::new(1000, 1000);
        for i in 0..9 {
            c.insert(format!("k{i}"), 1, body(110), Some(1));
        }
        let s = c.stats();
        assert!(s.bytes <= 1000 && s.entries < 9, "{s:?}");
        // A body over an eighth of the budget is not cached at all.
        c.insert("big".into(), 1, body(200), Some(1));
        assert_eq!(c.get("big", 1), None);
        // Replacing a key does not count its old body twice.
        let c = ResponseCache::new(10, 1000);
        for _ in 0..50 {
            c.insert("same".into(), 1, body(100), Some(1));
        }
        assert_eq!(c.stats().bytes, "same".len() + 100);
    }

    #[test]
    fn stale_entries_are_evicted_before_current_ones() {
        let c = ResponseCache::new(3, 1 << 20);
        c.insert("old1".into(), 1, body(1), Some(1));
        c.insert("old2".into(), 1, body(1), Some(1));
        c.insert("new1".into(), 2, body(1), Some(2));
        c.insert("new2".into(), 2, body(1), Some(2));
        assert!(c.get("new1", 2).is_some() && c.get("new2", 2).is_some());
        assert_eq!(c.stats().entries, 2, "both stale entries went, no current one did");
    }
}
