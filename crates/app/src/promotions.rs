//! Promotions administration: create, update, delete, read and list offers.
//!
//! An input is typed ([`PromotionInput`]: core conditions, benefits, ranges, currency,
//! offer kind) and whole: the adapters parse and merge requests (a PATCH is merged over the
//! stored promotion before it gets here). The rules checked here are the ones that are not
//! about syntax: the customers exist, and the offer is meaningful
//! ([`offerline_core::Offer::field_errors`]). Every write rebuilds the offer cache before
//! it returns, so the next quote prices against it.

use offerline_store::Store;
use offerline_store::list::{ListQuery, Op};
use offerline_store::promotions::{Promotion, PromotionInput};

use crate::offers::OfferCache;
use crate::{AppError, AppResult, customers};

/// Checks an input against the rules (customers first, then the offer itself).
pub async fn check(store: &Store, input: &PromotionInput) -> AppResult<()> {
    customers::require(store, "customers", &input.customers).await?;
    let errors = input.to_offer(0).field_errors();
    if errors.is_empty() { Ok(()) } else { Err(AppError::Invalid(errors)) }
}

pub async fn create(store: &Store, offers: &OfferCache, input: &PromotionInput) -> AppResult<Promotion> {
    check(store, input).await?;
    let p = store.create_promotion(input).await?;
    offers.changed().await?;
    tracing::info!(promotion = p.id, offer_type = p.offer_type.as_str(), "promotion created");
    Ok(p)
}

/// Replaces every field of promotion `id` (not found once deleted).
pub async fn update(store: &Store, offers: &OfferCache, id: i64, input: &PromotionInput) -> AppResult<Promotion> {
    check(store, input).await?;
    let p = store.update_promotion(id, input).await?;
    offers.changed().await?;
    Ok(p)
}

/// Soft delete: the offer stops applying, the ledger keeps pointing at it.
pub async fn delete(store: &Store, offers: &OfferCache, id: i64) -> AppResult<()> {
    store.delete_promotion(id).await?;
    offers.changed().await?;
    Ok(())
}

/// A promotion that is not deleted.
pub async fn get(store: &Store, id: i64) -> AppResult<Promotion> {
    Ok(store.promotion(id).await?)
}

/// Promotions matching `q`, deleted ones never; with the count of all matches.
pub async fn list(store: &Store, mut q: ListQuery) -> AppResult<(i64, Vec<Promotion>)> {
    q.filter("deleted", Op::Eq, 0);
    Ok(store.list_promotions(&q).await?)
}
