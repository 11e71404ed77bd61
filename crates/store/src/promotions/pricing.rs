//! The reads pricing needs: every live promotion as an engine [`Offer`], the versions that
//! say whether what pricing keeps in memory is current, usage of limits so far, a
//! customer's offers, products by sku.

use std::collections::{BTreeSet, HashMap};

use offerline_core::{Offer, OfferId, OfferUsage, UsageSnapshot};
use sqlx::Row;

use super::admin::{PROMO_COLS, Promotion, promotion_from_row};
use crate::exec::{Cols, Exec, Param, Values, complete};
use crate::list::placeholders;
use crate::{Result, Store, StoreError};

/// What [`Store::pricing_versions`] returns: two counters the database moves in the same
/// transaction as every write to what pricing keeps in memory (migration 0014's triggers).
/// A counter only grows, and it moves at commit, never for a rolled-back write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PricingVersions {
    /// Moved by every write to `promotions` and `promotion_customers`: the offer index.
    pub offers: i64,
    /// Moved by every write to `products`, `product_prices` and `price_lists`: the pricing
    /// catalogue.
    pub catalog: i64,
}

/// Every live offer, with the version of the row each was built from.
#[derive(Debug, Clone, Default)]
pub struct LiveOffers {
    pub offers: Vec<Offer>,
    /// Promotion id → the row's `modified_at` when it was read: what a checkout priced with
    /// this offer expects the row to still have ([`crate::current_offers`]).
    pub versions: HashMap<i64, i64>,
}

/// What [`Store::live_offer_changes`] found.
#[derive(Debug, Clone)]
pub struct OfferChanges {
    /// The new and changed offers, with their row versions.
    pub changed: LiveOffers,
    /// Ids that were known and are no longer live (deleted).
    pub removed: Vec<i64>,
}

/// Rows of (promotion_id, applications, discount_spent) of `offer_usage` into `snap`.
fn add_usage(snap: &mut UsageSnapshot, rows: &[sqlx::any::AnyRow]) -> Result<()> {
    for r in rows {
        let apps: i64 = r.try_get(1)?;
        let usage = OfferUsage {
            global_applications: apps.max(0) as u64,
            customer_applications: 0,
            discount_spent: r.try_get(2)?,
        };
        snap.set(OfferId(r.try_get(0)?), usage);
    }
    Ok(())
}

/// Rows of (promotion_id, applications) of `offer_customer_usage` into `snap`.
fn add_customer_usage(snap: &mut UsageSnapshot, rows: &[sqlx::any::AnyRow]) -> Result<()> {
    for r in rows {
        let id = OfferId(r.try_get(0)?);
        let apps: i64 = r.try_get(1)?;
        let mut u = snap.get(id);
        u.customer_applications = apps.max(0) as u64;
        snap.set(id, u);
    }
    Ok(())
}

/// Engine offers from promotion rows and their customer links. A row the types cannot read,
/// or whose offer is invalid, is logged and left out (not priced).
fn live_offers(rows: &[sqlx::any::AnyRow], links: &[sqlx::any::AnyRow]) -> Result<LiveOffers> {
    let mut by_promo: HashMap<i64, Vec<i64>> = HashMap::new();
    for r in links {
        by_promo.entry(r.try_get(0)?).or_default().push(r.try_get(1)?);
    }
    let mut offers = Vec::with_capacity(rows.len());
    let mut versions = HashMap::with_capacity(rows.len());
    for r in rows {
        let mut p = match promotion_from_row(r) {
            Ok(p) => p,
            Err(StoreError::Internal(e)) => {
                tracing::warn!(error = %e, "stored promotion is unreadable; not priced");
                continue;
            }
            Err(e) => return Err(e),
        };
        p.customers = by_promo.remove(&p.id).unwrap_or_default();
        let offer = p.to_offer();
        match offer.field_errors() {
            e if e.is_empty() => {
                versions.insert(p.id, p.modified_at);
                offers.push(offer)
            }
            e => tracing::warn!(promotion = p.id, errors = %e, "stored promotion is invalid; not priced"),
        }
    }
    Ok(LiveOffers { offers, versions })
}

impl Store {
    /// Every promotion that is not deleted, as an engine offer (inactive ones included: the
    /// engine ignores them, and the index still finds them by id). A stored row the types
    /// cannot hold, or whose offer is not valid — impossible through the API, possible for a
    /// row written by hand — is logged and skipped, never priced. Two queries.
    pub async fn load_offers(&self) -> Result<Vec<Offer>> {
        Ok(self.load_live_offers().await?.offers)
    }

    /// [`Store::load_offers`] with each offer's row version.
    pub async fn load_live_offers(&self) -> Result<LiveOffers> {
        let rows = sqlx::query(&format!("SELECT {PROMO_COLS} FROM promotions WHERE deleted = 0 ORDER BY id"))
            .fetch_all(self.reader())
            .await?;
        let links = sqlx::query(
            "SELECT pc.promotion_id, pc.user_id FROM promotion_customers pc \
             JOIN promotions p ON p.id = pc.promotion_id WHERE p.deleted = 0",
        )
        .fetch_all(self.reader())
        .await?;
        live_offers(&rows, &links)
    }

    /// What changed among the live offers since `known` (promotion id → the row version it
    /// was built from): the offers whose row is new or has another `modified_at`, read in
    /// full, and the ids that are no longer live. One query of ids and versions, then only
    /// the changed rows — a write among ten thousand offers reads one row, not ten thousand.
    /// A row changed without its `modified_at` (by hand) is not seen here; a full
    /// [`Store::load_live_offers`] sees it.
    pub async fn live_offer_changes(&self, known: &HashMap<i64, i64>) -> Result<OfferChanges> {
        // Two integers per live promotion: on a SQLite file read in place (a rebuild, which
        // builds the index on this thread next, is the caller), else one round trip.
        const LIVE: &str = "SELECT id, modified_at FROM promotions WHERE deleted = 0";
        let rows = match self.sqlite_readers() {
            Some(readers) => readers.with(|ex| complete(ex.rows(LIVE, &[])))?,
            None => self.reader().acquire().await?.rows(LIVE, &[]).await?,
        };
        let mut live = std::collections::HashSet::with_capacity(rows.len());
        let mut changed: Vec<i64> = Vec::new();
        for r in &rows {
            let (id, at) = (r.int(0)?, r.int(1)?);
            live.insert(id);
            if known.get(&id) != Some(&at) {
                changed.push(id);
            }
        }
        let mut removed: Vec<i64> = known.keys().copied().filter(|id| !live.contains(id)).collect();
        let mut out = LiveOffers { offers: Vec::new(), versions: HashMap::new() };
        for chunk in changed.chunks(5_000) {
            let ph = crate::list::placeholders(0, chunk.len());
            let sql = format!("SELECT {PROMO_COLS} FROM promotions WHERE deleted = 0 AND id IN ({ph}) ORDER BY id");
            let rows = bind_all!(sqlx::query(&sql), chunk).fetch_all(self.reader()).await?;
            let sql = format!("SELECT promotion_id, user_id FROM promotion_customers WHERE promotion_id IN ({ph})");
            let links = bind_all!(sqlx::query(&sql), chunk).fetch_all(self.reader()).await?;
            let part = live_offers(&rows, &links)?;
            out.offers.extend(part.offers);
            out.versions.extend(part.versions);
        }
        // A known offer whose new row is unreadable or invalid is no longer priced.
        removed.extend(changed.iter().copied().filter(|id| known.contains_key(id) && !out.versions.contains_key(id)));
        Ok(OfferChanges { changed: out, removed })
    }

    /// The versions of what pricing keeps in memory: one indexed read of two rows, cheap
    /// enough to run before every pricing, which is what makes a write on one node priced
    /// by the next pricing on every other.
    pub async fn pricing_versions(&self) -> Result<PricingVersions> {
        // On a SQLite file in place (no hand-off to a pool's worker thread: a few
        // microseconds), else one round trip.
        let rows = match self.sqlite_readers() {
            Some(readers) => readers.with(|ex| complete(versions_on(ex)))?,
            None => versions_on(&mut *self.reader().acquire().await?).await?,
        };
        let mut v = PricingVersions::default();
        for r in &rows {
            match (r.first().and_then(Param::text), r.get(1).and_then(Param::int)) {
                (Some("offers"), Some(n)) => v.offers = n,
                (Some("catalog"), Some(n)) => v.catalog = n,
                _ => {}
            }
        }
        Ok(v)
    }

    /// Promotions ever created, deleted ones included.
    pub async fn count_promotions(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) FROM promotions").fetch_one(self.reader()).await?.try_get(0)?)
    }

    /// Usage of the offers `ids` (the limited ones pricing looks at,
    /// [`offerline_core::OfferIndex::limited_for`]); with a customer, also that customer's
    /// applications of them. No query at all for no ids.
    pub async fn usage_of(&self, ids: &[OfferId], customer: Option<i64>) -> Result<UsageSnapshot> {
        let mut snap = UsageSnapshot::default();
        let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
        // Within every engine's limit on bound parameters.
        for chunk in ids.chunks(5_000) {
            let sql = format!(
                "SELECT promotion_id, applications, discount_spent FROM offer_usage WHERE promotion_id IN ({})",
                crate::list::placeholders(0, chunk.len())
            );
            add_usage(&mut snap, &bind_all!(sqlx::query(&sql), chunk).fetch_all(self.reader()).await?)?;
            if let Some(c) = customer {
                let sql = format!(
                    "SELECT promotion_id, applications FROM offer_customer_usage WHERE user_id = $1 AND promotion_id IN ({})",
                    crate::list::placeholders(1, chunk.len())
                );
                add_customer_usage(
                    &mut snap,
                    &bind_all!(sqlx::query(&sql).bind(c), chunk).fetch_all(self.reader()).await?,
                )?;
            }
        }
        Ok(snap)
    }

    /// Usage of every offer so far; with a customer, also that customer's applications.
    pub async fn usage_snapshot(&self, customer: Option<i64>) -> Result<UsageSnapshot> {
        let mut snap = UsageSnapshot::default();
        let rows = sqlx::query("SELECT promotion_id, applications, discount_spent FROM offer_usage")
            .fetch_all(self.reader())
            .await?;
        add_usage(&mut snap, &rows)?;
        if let Some(c) = customer {
            let rows = sqlx::query("SELECT promotion_id, applications FROM offer_customer_usage WHERE user_id = $1")
                .bind(c)
                .fetch_all(self.reader())
                .await?;
            add_customer_usage(&mut snap, &rows)?;
        }
        Ok(snap)
    }

    /// Coupon and coupon_code offers listing this customer, and code offers with a voucher
    /// assigned to them; not deleted, any window, by id.
    pub async fn offers_for_customer(&self, customer: i64) -> Result<Vec<Promotion>> {
        let rows = sqlx::query(
            "SELECT p.id FROM promotions p WHERE p.deleted = 0 AND ( \
               (p.offer_type IN ('coupon', 'coupon_code') AND EXISTS ( \
                  SELECT 1 FROM promotion_customers pc WHERE pc.promotion_id = p.id AND pc.user_id = $1)) \
               OR (p.offer_type IN ('voucher_code', 'coupon_code') AND EXISTS ( \
                  SELECT 1 FROM vouchers v JOIN voucher_customers vc ON vc.voucher_id = v.id \
                  WHERE v.promotion_id = p.id AND vc.user_id = $1))) \
             ORDER BY p.id",
        )
        .bind(customer)
        .fetch_all(self.reader())
        .await?;
        let ids = rows.iter().map(|r| r.try_get::<i64, _>(0)).collect::<Result<Vec<_>, _>>()?;
        self.promotions_by_ids(&ids).await
    }

    /// The products with these skus (unknown skus are simply absent); three queries per
    /// 500 skus.
    pub async fn products_by_skus(&self, skus: &[String]) -> Result<Vec<crate::catalog::Product>> {
        let skus: Vec<&str> = skus.iter().map(String::as_str).collect::<BTreeSet<_>>().into_iter().collect();
        if skus.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(skus.len());
        // Chunks keep every query under both engines' bound-parameter limits.
        for chunk in skus.chunks(500) {
            let sql = format!("SELECT id FROM products WHERE sku IN ({})", placeholders(0, chunk.len()));
            let rows = bind_all!(sqlx::query(&sql), chunk).fetch_all(self.reader()).await?;
            let ids = rows.iter().map(|r| r.try_get::<i64, _>(0)).collect::<Result<Vec<_>, _>>()?;
            out.extend(self.products_by_ids(&ids).await?);
        }
        Ok(out)
    }
}

/// The rows of `pricing_versions`, (name, version).
async fn versions_on<E: Exec>(ex: &mut E) -> Result<Vec<Values>> {
    ex.rows("SELECT name, version FROM pricing_versions", &[]).await
}
