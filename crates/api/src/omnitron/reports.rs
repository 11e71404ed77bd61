//! `GET /api/v1/reports/promotions/?start=YYYY-MM-DD&end=YYYY-MM-DD` (contract §9, staff
//! token): per promotion over the period (UTC days, both included) the orders, the discount
//! given, the discount reversed by cancellations and the net, with the net of every day —
//! the back office's report for integrations ([`offerline_app::reports`]). Money is the
//! Akinon string of the promotion's currency (`"12.50"`).

use axum::Json;
use axum::extract::{Query, State};
use chrono::NaiveDate;
use offerline_app::reports::{self, Period, PromotionReport};
use serde::Serialize;
use serde_json::{Map, json};
use utoipa::ToSchema;

use crate::AppState;
use crate::http::auth::Staff;
use crate::http::error::{ApiError, ApiResult};
use crate::http::wire::Amount;

/// DRF's `DateField` message for a date it cannot read.
const BAD_DATE: &str = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.";

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date")
}

/// `YYYY-MM-DD` as days since the epoch.
pub(crate) fn parse_day(s: &str) -> Option<i64> {
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    Some((d - epoch()).num_days())
}

/// Days since the epoch as `YYYY-MM-DD`.
pub(crate) fn day_date(day: i64) -> String {
    epoch().checked_add_signed(chrono::TimeDelta::days(day)).map_or_else(String::new, |d| d.to_string())
}

/// The period of `start` and `end` (`YYYY-MM-DD`), or the field errors: each required, a date,
/// and together a [`Period`].
pub(crate) fn read_period(start: Option<&str>, end: Option<&str>) -> Result<Period, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let mut day = |field: &'static str, v: Option<&str>| match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            errors.push((field, "This field is required.".to_owned()));
            None
        }
        Some(s) => {
            let d = parse_day(s);
            if d.is_none() {
                errors.push((field, BAD_DATE.to_owned()));
            }
            d
        }
    };
    let (start, end) = (day("start", start), day("end", end));
    match (start, end) {
        (Some(s), Some(e)) => Period::new(s, e).map_err(|err| match err {
            offerline_app::AppError::Field { message, .. } => vec![("end", message)],
            other => vec![("end", other.to_string())],
        }),
        _ => Err(errors),
    }
}

/// The answer of the report: the period and one entry per promotion.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromotionsReport {
    /// The first day, `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub start: String,
    /// The last day (included).
    #[schema(format = Date)]
    pub end: String,
    pub count: usize,
    pub results: Vec<PromotionReportRow>,
}

/// One promotion over the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromotionReportRow {
    pub promotion: i64,
    pub name: String,
    pub currency: String,
    pub orders: i64,
    pub discount: Amount,
    pub reversed: Amount,
    /// `discount` − `reversed`.
    pub net: Amount,
    /// Every day of the period, days without orders included.
    pub days: Vec<ReportDay>,
}

/// The net discount of one day.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportDay {
    #[schema(format = Date)]
    pub date: String,
    pub net: Amount,
}

impl From<&PromotionReport> for PromotionReportRow {
    fn from(r: &PromotionReport) -> Self {
        let m = |v: i64| Amount::new(v, r.currency);
        PromotionReportRow {
            promotion: r.promotion,
            name: r.name.clone(),
            currency: r.currency.as_str().to_owned(),
            orders: r.orders,
            discount: m(r.discount),
            reversed: m(r.reversed),
            net: m(r.net),
            days: r.days.iter().map(|&(d, net)| ReportDay { date: day_date(d), net: m(net) }).collect(),
        }
    }
}

pub(super) async fn promotions(
    _: Staff,
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> ApiResult<Json<PromotionsReport>> {
    let get = |k: &str| params.iter().rev().find(|(p, _)| p == k).map(|(_, v)| v.as_str());
    let period = read_period(get("start"), get("end")).map_err(|errors| {
        let mut m = Map::new();
        for (field, msg) in errors {
            m.insert(field.to_owned(), json!([msg]));
        }
        ApiError::Fields(m)
    })?;
    let rows = reports::promotions(&state.app, period).await?;
    Ok(Json(PromotionsReport {
        start: day_date(period.start),
        end: day_date(period.end),
        count: rows.len(),
        results: rows.iter().map(PromotionReportRow::from).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_read_and_write_as_iso_dates() {
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(parse_day("2026-03-01"), Some(20513));
        assert_eq!(day_date(20513), "2026-03-01");
        assert_eq!(parse_day("2026-02-30"), None);
        assert_eq!(parse_day("yesterday"), None);
    }

    #[test]
    fn a_period_needs_both_dates_in_order() {
        assert_eq!(read_period(Some("2026-01-01"), Some("2026-01-31")).unwrap().days().count(), 31);
        let e = read_period(None, Some("x")).unwrap_err();
        assert_eq!(e, vec![("start", "This field is required.".into()), ("end", BAD_DATE.into())]);
        let e = read_period(Some("2026-02-01"), Some("2026-01-01")).unwrap_err();
        assert_eq!(e[0].0, "end");
    }
}
