//! The staff queue of cancellation requests (contract §8): `/api/v1/cancellation_requests/`
//! (filters `status`, `order`, `cancellation_type`, the common date filters; paginated),
//! one request, and its approval (the refund computed and recorded then) or rejection.
//! Each renders the cancellation shape of [`super::orders::cancellation_json`].

use axum::Json;
use axum::extract::State;
use offerline_app::cancellations;
use serde_json::Value;

use crate::AppState;
use crate::http::auth::Staff;
use crate::http::error::{ApiError, ApiResult};
use crate::http::listing::{Filter, Kind, Listing, Spec};
use crate::http::path::PathId;
use crate::omnitron::orders::cancellation_json;

const SPEC: Spec = Spec {
    filters: &[
        Filter { param: "status", column: "status", kind: Kind::Text },
        Filter { param: "order", column: "order_id", kind: Kind::Int },
        Filter { param: "cancellation_type", column: "cancellation_type", kind: Kind::Text },
    ],
    sorts: &[],
    default_sort: ("id", true),
};

pub(super) async fn list(_: Staff, State(state): State<AppState>, listing: Listing) -> ApiResult<Json<Value>> {
    let (count, ledger) = cancellations::list(&state.app, &listing.query(&SPEC)?).await?;
    Ok(Json(listing.envelope(count, ledger.cancellations().map(|c| cancellation_json(&c)).collect())?))
}

/// The one cancellation a ledger loaded for it holds.
fn one(ledger: &offerline_app::ledger::Ledger) -> ApiResult<Json<Value>> {
    let c = ledger.cancellations().next().ok_or(ApiError::NotFound)?;
    Ok(Json(cancellation_json(&c)))
}

pub(super) async fn detail(_: Staff, State(state): State<AppState>, PathId(id): PathId) -> ApiResult<Json<Value>> {
    one(&cancellations::detail(&state.app, id).await?)
}

pub(super) async fn approve(_: Staff, State(state): State<AppState>, PathId(id): PathId) -> ApiResult<Json<Value>> {
    one(&cancellations::approve(&state.app, id).await?)
}

pub(super) async fn reject(_: Staff, State(state): State<AppState>, PathId(id): PathId) -> ApiResult<Json<Value>> {
    one(&cancellations::reject(&state.app, id).await?)
}
