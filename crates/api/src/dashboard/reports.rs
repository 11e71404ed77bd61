//! The report page: per promotion over a period, the orders, discount, reversed and net, a
//! chart of the net discount per day drawn on the server as inline SVG (bars, no script),
//! and the same rows as CSV. The figures are [`offerline_app::reports`]'; the period is read
//! as the JSON report reads it.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use maud::{Markup, html};
use offerline_app::reports::{self, Period, PromotionReport};

use super::page::{DashError, DashResult, layout, respond};
use super::promotions::{csv_field, csv_response};
use super::session::Session;
use crate::AppState;
use crate::omnitron::reports::{day_date, read_period};

const CHART_W: i64 = 600;
const CHART_H: i64 = 160;
/// Room under the bars for the axis labels.
const AXIS: i64 = 16;

/// The period asked for; without one, the last 30 days through today.
fn period_of(params: &[(String, String)]) -> Result<Period, String> {
    let get = |k: &str| params.iter().rev().find(|(p, _)| p == k).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    let (start, end) = (get("start"), get("end"));
    if start.is_none() && end.is_none() {
        let today = reports::today();
        return Period::new(today - 29, today).map_err(|e| e.to_string());
    }
    read_period(start, end)
        .map_err(|errors| errors.into_iter().map(|(f, m)| format!("{f}: {m}")).collect::<Vec<_>>().join(" "))
}

/// Bars of the net discount per day, scaled to the period's largest day; exact integer
/// arithmetic on minor units (a bar's height is rounded down to the pixel).
fn chart(r: &PromotionReport) -> Markup {
    let n = r.days.len().max(1) as i64;
    let max = r.days.iter().map(|&(_, net)| net).max().unwrap_or(0).max(1);
    let plot = CHART_H - AXIS;
    let bar_w = (CHART_W / n).max(1);
    let first = r.days.first().map(|&(d, _)| day_date(d)).unwrap_or_default();
    let last = r.days.last().map(|&(d, _)| day_date(d)).unwrap_or_default();
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {CHART_W} {CHART_H}")) role="img"
            aria-label=(format!("Net discount per day of {}", r.name)) data-promotion=(r.promotion) {
            title { "Net discount per day: " (r.name) }
            line x1="0" y1=(plot) x2=(CHART_W) y2=(plot) stroke="#b9c0cb" {}
            @for (i, &(day, net)) in r.days.iter().enumerate() {
                @let h = (i128::from(net.max(0)) * i128::from(plot - 4) / i128::from(max)) as i64;
                rect.bar x=(i as i64 * bar_w) y=(plot - h) width=((bar_w - 1).max(1)) height=(h) data-net=(r.currency.format(net)) {
                    title { (day_date(day)) ": " (r.currency.format(net)) }
                }
            }
            text x="0" y=(CHART_H - 3) { (first) }
            text x=(CHART_W) y=(CHART_H - 3) text-anchor="end" { (last) }
            text x="2" y="10" { "max " (r.currency.format(max)) }
        }
    }
}

pub(super) async fn page(
    session: Session,
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> DashResult {
    let (period, error) = match period_of(&params) {
        Ok(p) => (Some(p), None),
        Err(e) => (None, Some(e)),
    };
    let rows = match period {
        Some(p) => reports::promotions(&state.app, p).await?,
        None => Vec::new(),
    };
    let (start, end) = period.map_or_else(
        || {
            let get = |k: &str| params.iter().rev().find(|(p, _)| p == k).map(|(_, v)| v.clone()).unwrap_or_default();
            (get("start"), get("end"))
        },
        |p| (day_date(p.start), day_date(p.end)),
    );
    let csv = format!("/dashboard/reports/csv?start={start}&end={end}");
    let body = html! {
        @if let Some(e) = &error { p.error role="alert" { (e) } }
        form.filters method="get" action="/dashboard/reports/" {
            div.field { label for="r-start" { "From" } input #r-start name="start" type="date" value=(start); }
            div.field { label for="r-end" { "Until" } input #r-end name="end" type="date" value=(end); }
            button type="submit" { "Show" }
        }
        @if period.is_some() {
            p { a #report-csv href=(csv) { "Download as CSV" } }
            @if rows.is_empty() { p { "No promotion gave a discount on an order placed in this period." } }
            div.table-wrap { table #report {
                thead { tr { th { "Promotion" } th.num { "Orders" } th.num { "Discount" } th.num { "Reversed" } th.num { "Net" } } }
                tbody {
                    @for r in &rows {
                        tr data-promotion=(r.promotion) {
                            td { a href=(format!("/dashboard/promotions/{}/", r.promotion)) { (r.name) } }
                            td.num { (r.orders) }
                            td.num { (r.currency.format(r.discount)) }
                            td.num { (r.currency.format(r.reversed)) }
                            td.num { (r.currency.format(r.net)) " " (r.currency.as_str()) }
                        }
                    }
                }
            } }
            @for r in &rows {
                h2 { (r.name) }
                (chart(r))
            }
        }
    };
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    Ok(respond(status, layout("Reports", Some(&session), body)))
}

pub(super) async fn csv(
    _: Session,
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> DashResult {
    let period = period_of(&params).map_err(|e| DashError::Bad(StatusCode::BAD_REQUEST, e))?;
    let rows = reports::promotions(&state.app, period).await?;
    let mut out = String::from("promotion,name,currency,orders,discount,reversed,net\n");
    for r in &rows {
        let m = |v: i64| r.currency.format(v);
        out.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            r.promotion,
            csv_field(&r.name),
            r.currency.as_str(),
            r.orders,
            m(r.discount),
            m(r.reversed),
            m(r.net)
        ));
    }
    let name = format!("promotions-{}-{}.csv", day_date(period.start), day_date(period.end));
    Ok(csv_response(&name, out))
}
