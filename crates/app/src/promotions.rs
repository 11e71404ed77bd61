//! Promotions administration: create, update, delete, read and list offers.
//!
//! An input is typed ([`PromotionInput`]: core conditions, benefits, ranges, currency,
//! offer kind) and whole: the adapters parse and merge requests (a PATCH is merged over the
//! stored promotion before it gets here). The rules checked here are the ones that are not
//! about syntax: the customers exist, and the offer is meaningful
//! ([`offerline_core::Offer::field_errors`]). Every write rebuilds the offer cache before
//! it returns, so the next quote prices against it.

pub use offerline_store::promotions::{Promotion, PromotionInput};

use crate::customers;
use crate::error::{AppError, AppResult};
use crate::handle::App;
use crate::list::{ListQuery, Op};

/// Checks an input against the rules (customers first, then the offer itself).
pub async fn check(app: &App, input: &PromotionInput) -> AppResult<()> {
    customers::require(app, "customers", &input.customers).await?;
    if let offerline_core::BenefitKind::Gift { sku, .. } = &input.benefit.kind
        && app.store().product_by_sku(sku).await?.is_none()
    {
        return Err(AppError::Field {
            field: "benefit".into(),
            message: format!("gift.sku: No product has the sku \"{sku}\"."),
        });
    }
    let errors = input.to_offer(0).field_errors();
    if errors.is_empty() { Ok(()) } else { Err(AppError::Invalid(errors)) }
}

pub async fn create(app: &App, input: &PromotionInput) -> AppResult<Promotion> {
    check(app, input).await?;
    let p = app.store().create_promotion(input).await?;
    app.offers().changed().await?;
    tracing::info!(promotion = p.id, offer_type = p.offer_type.as_str(), "promotion created");
    Ok(p)
}

/// Creates `inputs` all or none (contract §10 bulk): each is checked first, and the errors
/// come back one per input (`None` for a good one) without writing anything. The offer
/// cache is rebuilt once, before this returns, so the next pricing sees them all.
pub async fn create_many(app: &App, inputs: &[PromotionInput]) -> Result<Vec<i64>, BulkError> {
    let mut errors: Vec<Option<AppError>> = Vec::with_capacity(inputs.len());
    for input in inputs {
        errors.push(check(app, input).await.err());
    }
    if errors.iter().any(Option::is_some) {
        return Err(BulkError::Inputs(errors));
    }
    let ids = app.store().create_promotions(inputs).await.map_err(|e| BulkError::Other(e.into()))?;
    app.offers().changed().await.map_err(BulkError::Other)?;
    tracing::info!(count = ids.len(), "promotions created in bulk");
    Ok(ids)
}

/// Why a bulk create wrote nothing.
#[derive(Debug)]
pub enum BulkError {
    /// One entry per input: its error, or `None` when it was good.
    Inputs(Vec<Option<AppError>>),
    Other(AppError),
}

/// Replaces every field of promotion `id` (not found once deleted).
pub async fn update(app: &App, id: i64, input: &PromotionInput) -> AppResult<Promotion> {
    check(app, input).await?;
    let p = app.store().update_promotion(id, input).await?;
    app.offers().changed().await?;
    Ok(p)
}

/// Soft delete: the offer stops applying, the ledger keeps pointing at it.
pub async fn delete(app: &App, id: i64) -> AppResult<()> {
    app.store().delete_promotion(id).await?;
    app.offers().changed().await?;
    Ok(())
}

/// How many promotions were ever created, deleted ones included (the demo loads its own
/// only into a database that never had any).
pub async fn count_all(app: &App) -> AppResult<i64> {
    Ok(app.store().promotions_stamp().await?.count)
}

/// A promotion that is not deleted.
pub async fn get(app: &App, id: i64) -> AppResult<Promotion> {
    Ok(app.store().promotion(id).await?)
}

/// Promotions matching `q`, deleted ones never; with the count of all matches.
pub async fn list(app: &App, mut q: ListQuery) -> AppResult<(i64, Vec<Promotion>)> {
    q.filter("deleted", Op::Eq, 0);
    Ok(app.store().list_promotions(&q).await?)
}
