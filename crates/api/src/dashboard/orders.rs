//! Orders in the back office: the filtered list, an order's ledger (each unit, its price,
//! each discount's share, its net and status) with its cancellations, the cancel / refund
//! action — previewed ([`cancellations::preview`]) and only then confirmed
//! ([`cancellations::cancel_now`], with an idempotency key fixed at preview time so a
//! double submit cancels once) — and the queue of customers' requests with approve / reject.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use maud::{Markup, html};
use offerline_app::cancellations::{self, CancelGroup, CancellationStatus, CancellationType, MAX_UNITS};
use offerline_app::ledger::{LedgerCancellation, LedgerOrder, Parts as LedgerParts};
use offerline_app::list::{ListQuery, Op};
use offerline_app::orders;
use offerline_core::refund::is_live;
use offerline_core::status::OrderStatus;

use super::page::{DashError, DashResult, Id, layout, money, respond, see_other, when};
use super::promotions::{pager, window};
use super::session::{FormData, Session, Write};
use crate::AppState;
use crate::http::listing::{Filter, Kind, Listing, Spec};

const ORDER_SPEC: Spec = Spec {
    filters: &[
        Filter { param: "number", column: "number", kind: Kind::Text },
        Filter { param: "user", column: "user_id", kind: Kind::Int },
        Filter { param: "status", column: "status", kind: Kind::Int },
    ],
    sorts: &[("number", "number"), ("amount", "amount")],
    default_sort: ("id", true),
};

fn status_label(s: OrderStatus) -> String {
    format!("{} {}", s.code(), s.name())
}

pub(super) async fn list(session: Session, State(state): State<AppState>, parts: Parts) -> DashResult {
    let mut listing = Listing::from_parts(&parts)?;
    listing.params.retain(|(_, v)| !v.trim().is_empty());
    let q = listing.query(&ORDER_SPEC)?;
    let (count, ledger) = orders::list(&state.app, &q, LedgerParts::NONE).await?;
    let get = |k: &str| listing.get(k).unwrap_or("").to_owned();
    let current_status = get("status");
    let body = html! {
        form.filters method="get" action="/dashboard/orders/" {
            div.field { label for="o-number" { "Number" } input #o-number name="number" type="text" value=(get("number")); }
            div.field { label for="o-user" { "Customer id" } input #o-user name="user" type="text" value=(get("user")); }
            div.field {
                label for="o-status" { "Status" }
                select #o-status name="status" {
                    option value="" { "any" }
                    @for s in OrderStatus::all() {
                        option value=(s.code()) selected[current_status == s.code().to_string()] { (status_label(s)) }
                    }
                }
            }
            div.field { label for="o-from" { "Placed from" } input #o-from name="created_date__gte" type="date" value=(get("created_date__gte")); }
            div.field { label for="o-to" { "Placed until" } input #o-to name="created_date__lte" type="date" value=(get("created_date__lte")); }
            button type="submit" { "Filter" }
        }
        div.table-wrap { table #orders {
            thead { tr { th { "Number" } th { "Customer" } th { "Status" } th.num { "Amount" } th.num { "Discount" } th { "Placed" } } }
            tbody {
                @for o in ledger.orders() {
                    @let c = o.currency.as_str();
                    tr {
                        td { a href=(format!("/dashboard/orders/{}/", o.id)) { (o.number) } }
                        td {
                            @if let Some(u) = o.user_id { (u) } @else { "—" }
                            @if let Some(email) = o.customer.as_ref().and_then(|c| c["email"].as_str()) { " · " (email) }
                        }
                        td { (status_label(o.status)) }
                        td.num { (money(o.amount, c)) }
                        td.num { (money(o.discount_amount, c)) }
                        td { (when(o.created_at)) }
                    }
                }
            }
        } }
        (pager("/dashboard/orders/", &listing.params, listing.page, listing.limit, count))
    };
    Ok(respond(StatusCode::OK, layout("Orders", Some(&session), body)))
}

/// The ledger of an order as a table: one row per unit, one column per discount item.
fn ledger_table(o: &LedgerOrder<'_>, session: Option<&Session>) -> Markup {
    let c = o.currency.as_str();
    let discounts: Vec<_> = o.discounts().collect();
    let can_cancel = session.is_some() && o.items().any(|i| is_live(i.status) && i.status.code() != 50);
    let table = html! {
        div.table-wrap { table #ledger {
            thead { tr {
                @if can_cancel { th { "Cancel" } }
                th { "Unit" } th { "SKU" } th { "Product" } th.num { "Price" }
                @for d in &discounts { th.num { (d.name) } }
                th.num { "Net" } th { "Status" }
            } }
            tbody {
                @for i in o.items() {
                    tr data-unit=(i.id) {
                        @if can_cancel {
                            td {
                                @if is_live(i.status) && i.status.code() != 50 {
                                    input type="checkbox" name="order_items" value=(i.id) id=(format!("unit-{}", i.id));
                                    label.visually-hidden for=(format!("unit-{}", i.id)) { "unit " (i.id) }
                                }
                            }
                        }
                        td { (i.id) }
                        td { (i.product_sku) }
                        td { (i.product_name) }
                        td.num { (money(i.price, c)) }
                        @for d in &discounts {
                            @let share = d.benefits().find(|b| b.order_item_id == i.id).map(|b| b.discount_share);
                            td.num.share { @if let Some(s) = share { (money(s, c)) } @else { "—" } }
                        }
                        td.num { (money(i.net_amount, c)) }
                        td { (status_label(i.status)) @if let Some(cs) = &i.cancel_status { " · " (cs) } }
                    }
                }
            }
            tfoot {
                tr {
                    @if can_cancel { td {} }
                    th colspan="4" { "Discount (reversed by cancellations)" }
                    @for d in &discounts {
                        td.num { (money(d.amount, c)) " " span.cancel-amount data-discount=(d.id) { "(" (money(d.cancel_amount, c)) ")" } }
                    }
                    td.num { (money(o.amount, c)) } td {}
                }
            }
        } }
    };
    match session {
        Some(s) if can_cancel => html! {
            form method="post" action=(format!("/dashboard/orders/{}/cancel/", o.id)) {
                (s.csrf_field())
                (table)
                div.filters {
                    div.field {
                        label for="c-type" { "Cancellation type" }
                        select #c-type name="cancellation_type" {
                            @for t in CancellationType::ALL { option value=(t.as_str()) { (t.as_str()) } }
                        }
                    }
                    div.field { label for="c-reason" { "Reason" } input #c-reason name="reason" type="text"; }
                    button type="submit" { "Preview the refund" }
                }
            }
        },
        _ => table,
    }
}

fn cancellation_table(cs: &[LedgerCancellation<'_>]) -> Markup {
    html! {
        div.table-wrap { table.cancellations {
            thead { tr { th { "Id" } th { "Type" } th { "Status" } th { "Reason" } th { "Units (refund; shares reversed)" } th.num { "Refund" } th { "When" } } }
            tbody {
                @for c in cs {
                    @let cur = c.order().currency.as_str();
                    tr {
                        td { @if c.id != 0 { (c.id) } @else { "preview" } }
                        td { (c.cancellation_type.as_str()) }
                        td { (c.status.as_str()) }
                        td { (c.reason) }
                        td { ul { @for (item, reversed) in c.items() {
                            li {
                                "unit " (item.order_item_id) ": " (money(item.refund_amount, cur))
                                @for (d, amount) in &reversed { "; discount " (d) " −" span.reversed { (money(*amount, cur)) } }
                            }
                        } } }
                        td.num.refund { (money(c.refund_amount, cur)) }
                        td { @if c.id != 0 { (when(c.created_at)) } }
                    }
                }
            }
        } }
    }
}

pub(super) async fn detail(
    session: Session,
    State(state): State<AppState>,
    Id(id): Id,
    Query(params): Query<Vec<(String, String)>>,
) -> DashResult {
    let d = orders::detail(&state.app, id).await?;
    let o = d.order();
    let c = o.currency.as_str();
    let cancellations: Vec<_> = o.cancellations().collect();
    let notice = params.iter().any(|(k, _)| k == "cancelled");
    let body = html! {
        @if notice { div.notice role="status" { "The cancellation was recorded." } }
        section {
            p {
                "Customer " @if let Some(u) = o.user_id { (u) } @else { "—" }
                " · " (status_label(o.status)) " · placed " (when(o.created_at))
            }
            p {
                "Before discount " (money(o.amount_without_discount, c)) " · discount " (money(o.discount_amount, c))
                " · paid " (money(o.amount, c)) " · refunded " strong #refunded { (money(o.refunded_amount(), c)) } " " (c)
            }
        }
        h2 { "Ledger" }
        (ledger_table(&o, Some(&session)))
        h2 { "Cancellations" }
        @if cancellations.is_empty() { p { "None." } } @else { (cancellation_table(&cancellations)) }
    };
    Ok(respond(StatusCode::OK, layout(&format!("Order {}", o.number), Some(&session), body)))
}

/// The cancel form's group: the ticked units, the type and the reason.
fn cancel_group(f: &FormData) -> DashResult<CancelGroup> {
    let items: Vec<i64> = f
        .all("order_items")
        .map(|s| s.parse::<i64>().map_err(|_| DashError::Bad(StatusCode::BAD_REQUEST, "Units are numbers.".into())))
        .collect::<Result<_, _>>()?;
    if items.is_empty() {
        return Err(DashError::Bad(StatusCode::BAD_REQUEST, "Tick at least one unit to cancel.".into()));
    }
    if items.len() > MAX_UNITS {
        return Err(DashError::Bad(StatusCode::BAD_REQUEST, format!("At most {MAX_UNITS} units at once.")));
    }
    let kind = match f.get("cancellation_type") {
        None => CancellationType::Cancel,
        Some(k) => CancellationType::parse(k)
            .ok_or_else(|| DashError::Bad(StatusCode::BAD_REQUEST, format!("\"{k}\" is not a cancellation type.")))?,
    };
    let reason: String = f.get("reason").unwrap_or("").chars().take(255).collect();
    Ok(CancelGroup { items, kind, reason, description: String::new() })
}

/// `POST /dashboard/orders/{id}/cancel/`: what the cancellation would refund, nothing written,
/// and the form that confirms it.
pub(super) async fn cancel_preview(State(state): State<AppState>, Id(id): Id, w: Write) -> DashResult {
    let group = cancel_group(&w.form)?;
    let ledger = cancellations::preview(&state.app, w.session.user.id, id, group.clone()).await?;
    let c = ledger.cancellations().next().ok_or(DashError::NotFound)?;
    let cur = c.order().currency.as_str();
    let key = uuid::Uuid::new_v4().simple().to_string();
    let body = html! {
        section {
            p { "Order " a href=(format!("/dashboard/orders/{id}/")) { (c.order().number) } }
            p.refund-preview { "This " (c.cancellation_type.as_str()) " refunds " strong #preview-refund { (money(c.refund_amount, cur)) } " " (cur) "." }
            (cancellation_table(&[c]))
            form method="post" action=(format!("/dashboard/orders/{id}/cancel/confirm/")) {
                (w.session.csrf_field())
                input type="hidden" name="idempotency_key" value=(key);
                input type="hidden" name="cancellation_type" value=(group.kind.as_str());
                input type="hidden" name="reason" value=(group.reason);
                @for i in &group.items { input type="hidden" name="order_items" value=(i); }
                button #confirm-cancel type="submit" { "Confirm and refund" }
                " " a href=(format!("/dashboard/orders/{id}/")) { "Back without cancelling" }
            }
        }
    };
    Ok(respond(StatusCode::OK, layout("Confirm the cancellation", Some(&w.session), body)))
}

/// `POST /dashboard/orders/{id}/cancel/confirm/`: the cancellation recorded (once per key).
pub(super) async fn cancel_confirm(State(state): State<AppState>, Id(id): Id, w: Write) -> DashResult {
    let group = cancel_group(&w.form)?;
    let key = w.form.get("idempotency_key").map(|k| k.chars().take(64).collect());
    cancellations::cancel_now(&state.app, w.session.user.id, id, group, key).await?;
    Ok(see_other(&format!("/dashboard/orders/{id}/?cancelled=1")))
}

/// `GET /dashboard/cancellations/`: the customers' requests waiting for staff, oldest first.
pub(super) async fn queue(
    session: Session,
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> DashResult {
    let (page, limit) = window(&params);
    let mut q = ListQuery::new();
    q.filter("status", Op::Eq, CancellationStatus::Waiting.as_str()).order("id", false).page(limit, (page - 1) * limit);
    let (count, ledger) = cancellations::list(&state.app, &q).await?;
    let done = params.iter().rev().find(|(k, _)| k == "done").map(|(_, v)| v.clone());
    let body = html! {
        @if let Some(d) = done { div.notice role="status" { "The request was " (d) "." } }
        @if count == 0 { p { "No request is waiting." } }
        div.table-wrap { table #queue {
            thead { tr { th { "Request" } th { "Order" } th { "Type" } th { "Reason" } th { "Units" } th.num { "Refund" } th { "Asked" } th { "Decide" } } }
            tbody {
                @for c in ledger.cancellations() {
                    @let cur = c.order().currency.as_str();
                    tr data-request=(c.id) {
                        td { (c.id) }
                        td { a href=(format!("/dashboard/orders/{}/", c.order_id)) { (c.order().number) } }
                        td { (c.cancellation_type.as_str()) }
                        td { (c.reason) }
                        td { (c.items().map(|(i, _)| i.order_item_id.to_string()).collect::<Vec<_>>().join(", ")) }
                        td.num { (money(c.refund_amount, cur)) }
                        td { (when(c.created_at)) }
                        td {
                            form.inline method="post" action=(format!("/dashboard/cancellations/{}/approve/", c.id)) {
                                (session.csrf_field())
                                button.approve type="submit" { "Approve" }
                            }
                            " "
                            form.inline method="post" action=(format!("/dashboard/cancellations/{}/reject/", c.id)) {
                                (session.csrf_field())
                                button.danger.reject type="submit" { "Reject" }
                            }
                        }
                    }
                }
            }
        } }
        (pager("/dashboard/cancellations/", &params, page, limit, count))
    };
    Ok(respond(StatusCode::OK, layout("Cancellation queue", Some(&session), body)))
}

pub(super) async fn approve(State(state): State<AppState>, Id(id): Id, _w: Write) -> DashResult {
    cancellations::approve(&state.app, id).await?;
    Ok(see_other("/dashboard/cancellations/?done=approved"))
}

pub(super) async fn reject(State(state): State<AppState>, Id(id): Id, _w: Write) -> DashResult {
    cancellations::reject(&state.app, id).await?;
    Ok(see_other("/dashboard/cancellations/?done=rejected"))
}
