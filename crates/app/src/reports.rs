//! Reports over the ledger (contract §9): per promotion, over a period of UTC days, the
//! orders it was applied to, the discount it gave, the part of that reversed by
//! cancellations and the net, with the net of each day — the back office's report page,
//! its CSV, and `GET /api/v1/reports/promotions/` render the same [`PromotionReport`]s.
//!
//! A discount item counts on the day it was placed (its order's day); what a later
//! cancellation reversed (`cancel_amount`) is counted against that same day, so a period's
//! net is what the orders placed in it cost in discount as the ledger stands now.

use std::collections::BTreeMap;

use offerline_core::Currency;
pub use offerline_store::reports::DAY_MICROS;

use crate::error::{AppError, AppResult};
use crate::handle::App;

/// The longest period one report covers, in days (a year, leap or not).
pub const MAX_DAYS: i64 = 366;

/// A period of whole UTC days, both ends included, as days since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: i64,
    pub end: i64,
}

impl Period {
    /// The period from `start` to `end` (days since the epoch, inclusive): the end may not
    /// come before the start, nor the period be longer than [`MAX_DAYS`].
    pub fn new(start: i64, end: i64) -> AppResult<Period> {
        if end < start {
            return Err(AppError::Field {
                field: "end".into(),
                message: "The end date is before the start date.".into(),
            });
        }
        if end - start + 1 > MAX_DAYS {
            return Err(AppError::Field {
                field: "end".into(),
                message: format!("A report covers at most {MAX_DAYS} days."),
            });
        }
        Ok(Period { start, end })
    }

    /// Every day of the period, in order.
    pub fn days(&self) -> impl Iterator<Item = i64> {
        self.start..=self.end
    }
}

/// One promotion's figures over a period; money in minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotionReport {
    pub promotion: i64,
    pub name: String,
    pub currency: Currency,
    pub orders: i64,
    pub discount: i64,
    pub reversed: i64,
    /// `discount − reversed`.
    pub net: i64,
    /// (day since the epoch, net discount of that day) for every day of the period, days
    /// without orders included (0), so a chart of them has no gaps.
    pub days: Vec<(i64, i64)>,
}

/// Today (UTC), as days since the epoch: the default end of a report's period.
pub fn today() -> i64 {
    offerline_store::now_micros().div_euclid(DAY_MICROS)
}

/// One row per promotion that gave a discount on an order placed in `period`, by promotion id.
pub async fn promotions(app: &App, period: Period) -> AppResult<Vec<PromotionReport>> {
    let rows = app.store().promotion_days(period.start * DAY_MICROS, (period.end + 1) * DAY_MICROS).await?;
    let mut by_promotion: BTreeMap<i64, (PromotionReport, BTreeMap<i64, i64>)> = BTreeMap::new();
    for r in rows {
        let currency = Currency::parse(&r.currency)
            .map_err(|e| AppError::Internal(format!("promotion {} currency {:?}: {e}", r.promotion_id, r.currency)))?;
        let (report, days) = by_promotion.entry(r.promotion_id).or_insert_with(|| {
            let report = PromotionReport {
                promotion: r.promotion_id,
                name: r.name.clone(),
                currency,
                orders: 0,
                discount: 0,
                reversed: 0,
                net: 0,
                days: Vec::new(),
            };
            (report, BTreeMap::new())
        });
        report.orders += r.orders;
        report.discount += r.discount;
        report.reversed += r.reversed;
        *days.entry(r.day).or_default() += r.discount - r.reversed;
    }
    Ok(by_promotion
        .into_values()
        .map(|(mut report, days)| {
            report.net = report.discount - report.reversed;
            report.days = period.days().map(|d| (d, days.get(&d).copied().unwrap_or(0))).collect();
            report
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_ordered_and_at_most_a_year() {
        assert_eq!(Period::new(10, 10).unwrap().days().collect::<Vec<_>>(), vec![10]);
        assert_eq!(Period::new(10, 12).unwrap().days().count(), 3);
        assert!(matches!(Period::new(11, 10), Err(AppError::Field { field, .. }) if field == "end"));
        assert!(Period::new(0, MAX_DAYS - 1).is_ok());
        assert!(matches!(Period::new(0, MAX_DAYS), Err(AppError::Field { .. })));
    }
}
