//! Promotions administration: create, update, delete, read and list offers.
//!
//! An input is typed ([`PromotionInput`]: core conditions, benefits, ranges, currency,
//! offer kind) and whole: the adapters parse and merge requests (a PATCH is merged over the
//! stored promotion before it gets here). The rules checked here are the ones that are not
//! about syntax: the customers exist, and the offer is meaningful
//! ([`offerline_core::Offer::field_errors`]). Every write marks the offer cache out of date
//! before it returns, so the next pricing rebuilds it (if the cache's follower has not) and
//! prices against it.

pub use offerline_store::promotions::codec::{benefit_json, condition_json};
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
    tracing::info!(promotion = p.id, offer_type = p.offer_type.as_str(), "promotion created");
    Ok(p)
}

/// Creates `inputs` all or none (contract §10 bulk): each is checked first, and the errors
/// come back one per input (`None` for a good one) without writing anything. The offer
/// cache is marked out of date once, so the next pricing sees them all.
pub async fn create_many(app: &App, inputs: &[PromotionInput]) -> Result<Vec<i64>, BulkError> {
    let mut errors: Vec<Option<AppError>> = Vec::with_capacity(inputs.len());
    for input in inputs {
        errors.push(check(app, input).await.err());
    }
    if errors.iter().any(Option::is_some) {
        return Err(BulkError::Inputs(errors));
    }
    let ids = app.store().create_promotions(inputs).await.map_err(|e| BulkError::Other(e.into()))?;
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
    Ok(app.store().update_promotion(id, input).await?)
}

/// Soft delete: the offer stops applying, the ledger keeps pointing at it.
pub async fn delete(app: &App, id: i64) -> AppResult<()> {
    Ok(app.store().delete_promotion(id).await?)
}

/// How many promotions were ever created, deleted ones included (the demo loads its own
/// only into a database that never had any).
pub async fn count_all(app: &App) -> AppResult<i64> {
    Ok(app.store().count_promotions().await?)
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

/// Stops promotion `id` from applying (`is_active` off), every other field kept; the
/// promotion, read back.
pub async fn deactivate(app: &App, id: i64) -> AppResult<Promotion> {
    let mut input = get(app, id).await?.input();
    input.is_active = false;
    update(app, id, &input).await
}

/// Where a promotion stands at an instant, as the back office lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Active and inside its window: it applies now.
    Active,
    /// Active, but its window has not started.
    Scheduled,
    /// Active, but its window is over.
    Ended,
    /// Switched off (`is_active` false), whatever its window.
    Inactive,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Scheduled => "scheduled",
            Status::Ended => "ended",
            Status::Inactive => "inactive",
        }
    }
}

/// The status of `p` at `now` (microseconds). The window is `[start, end)`, as pricing reads it.
pub fn status(p: &Promotion, now: i64) -> Status {
    if !p.is_active {
        Status::Inactive
    } else if p.start_at.is_some_and(|s| now < s) {
        Status::Scheduled
    } else if p.end_at.is_some_and(|e| now >= e) {
        Status::Ended
    } else {
        Status::Active
    }
}

/// The status of `p` now.
pub fn status_now(p: &Promotion) -> Status {
    status(p, offerline_store::now_micros())
}

#[cfg(test)]
mod tests {
    use offerline_core::{Benefit, BenefitKind, Condition, Currency, OfferKind, Percent, Range, RefundPolicy};

    use super::*;

    fn promotion(is_active: bool, start_at: Option<i64>, end_at: Option<i64>) -> Promotion {
        Promotion {
            id: 1,
            name: "p".into(),
            slug: "p".into(),
            label: String::new(),
            offer_type: OfferKind::Site,
            currency: Currency::parse("try").unwrap(),
            start_at,
            end_at,
            priority: 0,
            exclusive: true,
            is_active,
            condition: Condition::none(),
            benefit: Benefit {
                kind: BenefitKind::Percentage(Percent::parse("10").unwrap()),
                max_affected_items: None,
                range: Range::all(),
            },
            max_basket_applications: None,
            max_user_applications: None,
            max_global_applications: None,
            max_discount: None,
            customers: Vec::new(),
            refund_policy: RefundPolicy::KeepShares,
            deleted: false,
            created_at: 0,
            modified_at: 0,
            usage: Default::default(),
        }
    }

    /// The window is `[start, end)` as pricing reads it; switched off wins over any window.
    #[test]
    fn status_follows_the_switch_then_the_window() {
        assert_eq!(status(&promotion(true, None, None), 50), Status::Active);
        assert_eq!(status(&promotion(true, Some(50), Some(60)), 50), Status::Active);
        assert_eq!(status(&promotion(true, Some(51), None), 50), Status::Scheduled);
        assert_eq!(status(&promotion(true, None, Some(50)), 50), Status::Ended);
        assert_eq!(status(&promotion(true, Some(10), Some(51)), 50), Status::Active);
        assert_eq!(status(&promotion(false, Some(10), Some(60)), 50), Status::Inactive);
        assert_eq!(status(&promotion(false, Some(51), None), 50), Status::Inactive);
    }
}
