//! `GET /api/v1/reports/promotions/?start=YYYY-MM-DD&end=YYYY-MM-DD` (contract §9, staff
//! token): per promotion over the period (UTC days, both included) the orders, the discount
//! given, the discount reversed by cancellations and the net, with the net of every day —
//! the back office's report for integrations ([`offerline_app::reports`]). Money is the
//! Akinon string of the promotion's currency (`"12.50"`).

use axum::Json;
use axum::extract::{Query, State};
use chrono::NaiveDate;
use offerline_app::reports::{self, Period, PromotionReport};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::http::auth::Staff;
use crate::http::error::{ApiError, ApiResult};

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

pub(crate) fn report_json(r: &PromotionReport) -> Value {
    let m = |v: i64| r.currency.format(v);
    json!({
        "promotion": r.promotion,
        "name": r.name,
        "currency": r.currency.as_str(),
        "orders": r.orders,
        "discount": m(r.discount),
        "reversed": m(r.reversed),
        "net": m(r.net),
        "days": r.days.iter().map(|&(d, net)| json!({"date": day_date(d), "net": m(net)})).collect::<Vec<_>>(),
    })
}

pub(super) async fn promotions(
    _: Staff,
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Value>> {
    let get = |k: &str| params.iter().rev().find(|(p, _)| p == k).map(|(_, v)| v.as_str());
    let period = read_period(get("start"), get("end")).map_err(|errors| {
        let mut m = Map::new();
        for (field, msg) in errors {
            m.insert(field.to_owned(), json!([msg]));
        }
        ApiError::Fields(m)
    })?;
    let rows = reports::promotions(&state.app, period).await?;
    Ok(Json(json!({
        "start": day_date(period.start),
        "end": day_date(period.end),
        "count": rows.len(),
        "results": rows.iter().map(report_json).collect::<Vec<_>>(),
    })))
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
