//! The staff queue of cancellation requests (contract §8): `/api/v1/cancellation_requests/`
//! (filters `status`, `order`, `cancellation_type`, the common date filters; paginated),
//! one request, and its approval (the refund computed and recorded then) or rejection.
//! Each answers the cancellation shape ([`Cancellation`]).

use axum::Json;
use axum::extract::State;
use offerline_app::cancellations;

use crate::AppState;
use crate::http::auth::Staff;
use crate::http::error::{ApiError, ApiResult};
use crate::http::listing::{Filter, Kind, Listing, Page, Spec};
use crate::http::path::PathId;
use crate::omnitron::wire::Cancellation;

const SPEC: Spec = Spec {
    filters: &[
        Filter { param: "status", column: "status", kind: Kind::Text },
        Filter { param: "order", column: "order_id", kind: Kind::Int },
        Filter { param: "cancellation_type", column: "cancellation_type", kind: Kind::Text },
    ],
    sorts: &[],
    default_sort: ("id", true),
};

pub(super) async fn list(
    _: Staff,
    State(state): State<AppState>,
    listing: Listing,
) -> ApiResult<Json<Page<Cancellation>>> {
    let (count, ledger) = cancellations::list(&state.app, &listing.query(&SPEC)?).await?;
    Ok(Json(listing.page(count, ledger.cancellations().map(|c| Cancellation::from(&c)))?))
}

/// The one cancellation a ledger loaded for it holds.
fn one(ledger: &offerline_app::ledger::Ledger) -> ApiResult<Json<Cancellation>> {
    let c = ledger.cancellations().next().ok_or(ApiError::NotFound)?;
    Ok(Json(Cancellation::from(&c)))
}

pub(super) async fn detail(
    _: Staff,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<Cancellation>> {
    one(&cancellations::detail(&state.app, id).await?)
}

pub(super) async fn approve(
    _: Staff,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<Cancellation>> {
    one(&cancellations::approve(&state.app, id).await?)
}

pub(super) async fn reject(
    _: Staff,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<Cancellation>> {
    one(&cancellations::reject(&state.app, id).await?)
}
