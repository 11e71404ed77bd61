//! Operations endpoints: liveness, readiness, Prometheus metrics, the OpenAPI document, and
//! the request-metrics middleware.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::http::docs::{Auth, Routes, Verb};

/// Request counts and latency sums by method and status.
#[derive(Default)]
pub struct Metrics {
    by_status: Mutex<BTreeMap<(String, u16), (u64, f64)>>,
}

pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // Extension methods are any token a client likes: one label for all of them keeps the
    // series (and this map) bounded.
    let method = match req.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m.to_owned(),
        _ => "OTHER".to_owned(),
    };
    let start = Instant::now();
    let resp = next.run(req).await;
    let secs = start.elapsed().as_secs_f64();
    let mut m = state.metrics.by_status.lock().expect("metrics lock");
    let e = m.entry((method, resp.status().as_u16())).or_insert((0, 0.0));
    e.0 += 1;
    e.1 += secs;
    resp
}

/// The answer of `/healthz`: `{"status": "ok"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// The answer of `/readyz`: `ok` and `ok` (200), or `unavailable` and `unreachable` (503).
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    pub database: &'static str,
}

async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

async fn readyz(State(state): State<AppState>) -> Response {
    match offerline_app::ops::ready(&state.app).await {
        Ok(()) => Json(Readiness { status: "ok", database: "ok" }).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(Readiness { status: "unavailable", database: "unreachable" }))
                .into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let mut out = String::from(
        "# HELP offerline_http_requests_total HTTP requests by method and status.\n# TYPE offerline_http_requests_total counter\n",
    );
    let m = state.metrics.by_status.lock().expect("metrics lock").clone();
    for ((method, status), (n, _)) in &m {
        out.push_str(&format!("offerline_http_requests_total{{method=\"{method}\",status=\"{status}\"}} {n}\n"));
    }
    out.push_str("# HELP offerline_http_request_duration_seconds_sum Total time spent serving requests.\n# TYPE offerline_http_request_duration_seconds_sum counter\n");
    for ((method, status), (_, secs)) in &m {
        out.push_str(&format!(
            "offerline_http_request_duration_seconds_sum{{method=\"{method}\",status=\"{status}\"}} {secs:.6}\n"
        ));
    }
    out.push_str(&format!(
        "# HELP offerline_live_offers Offers in the in-memory index.\n# TYPE offerline_live_offers gauge\nofferline_live_offers {}\n",
        state.app.offers().len()
    ));
    let offers = state.app.offers().stats();
    out.push_str(&format!(
        "# HELP offerline_offer_cache_rebuilds_total Builds of the offer index, the first included.
         # TYPE offerline_offer_cache_rebuilds_total counter
offerline_offer_cache_rebuilds_total {}
",
        offers.rebuilds
    ));
    let c = state.responses.stats();
    out.push_str(&format!(
        "# HELP offerline_response_cache_hits_total Staff ledger reads served from the response cache.\n\
         # TYPE offerline_response_cache_hits_total counter\nofferline_response_cache_hits_total {}\n\
         # HELP offerline_response_cache_misses_total Staff ledger reads built from the database.\n\
         # TYPE offerline_response_cache_misses_total counter\nofferline_response_cache_misses_total {}\n\
         # HELP offerline_response_cache_entries Bodies in the response cache.\n\
         # TYPE offerline_response_cache_entries gauge\nofferline_response_cache_entries {}\n\
         # HELP offerline_response_cache_bytes Bytes of bodies and keys in the response cache.\n\
         # TYPE offerline_response_cache_bytes gauge\nofferline_response_cache_bytes {}\n",
        c.hits, c.misses, c.entries, c.bytes
    ));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

async fn openapi(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(state.openapi.clone())
}

pub fn routes() -> Routes {
    Routes::new("ops", Auth::Public)
        .add("/healthz", get(healthz), &[Verb::get("Process is up").ok::<Health>()])
        .add("/readyz", get(readyz), &[Verb::get("Database is reachable").ok::<Readiness>()])
        .add("/metrics", get(metrics), &[("get", "Prometheus metrics")])
        .add("/openapi.json", get(openapi), &[("get", "This OpenAPI document")])
}
