//! Offers ("promotions"), vouchers, the dry-run pricing endpoint, and the in-memory offer
//! cache the engine prices against (contract §4).
//!
//! Endpoints (staff token): `POST/GET /api/v1/promotions/`,
//! `GET/PATCH/DELETE /api/v1/promotions/{id}/`, `POST /api/v1/promotions/{id}/generate_vouchers/`,
//! `POST/GET /api/v1/vouchers/`, `POST /api/v1/pricing/simulate/`.
//!
//! # Wire shape of a promotion
//! The request shape of the contract plus `id`, `created_date` and `modified_date`:
//! `condition` / `benefit` normalised (money values as strings with the currency's digits,
//! `"500.00"`; percentages as plain decimals, `"50"`; counts as numbers; a missing range as
//! `{"all": true}`), `max_discount` as a money string, `customers` as user pks, datetimes
//! ISO-8601 UTC. A missing `condition` is `{"type": "none"}`; `currency` defaults to `try`,
//! `slug` to a slug of the name, `exclusive` and `is_active` to true, `priority` to 0.
//!
//! # Validation errors
//! As DRF nested serializers word them: errors inside `condition` and `benefit` are nested
//! objects, `{"benefit": {"value": ["Ensure this value is less than or equal to 100."]}}`,
//! `{"condition": {"range": {"skus": [...]}}}`; a non-object where an object belongs is
//! `{"benefit": {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}}`;
//! top-level fields are flat (`{"end_datetime": ["End must be after start."]}`). The
//! parser and the rules are the store's ([`offerline_store::promotions::parse_condition`],
//! …) and the core's ([`offerline_core::Offer::field_errors`]), so what is accepted here is
//! exactly what the engine prices.
//!
//! PATCH merges the body over the stored promotion (and `condition` / `benefit` key by key)
//! and validates the result as a whole.
//!
//! # The offer cache
//! [`OfferCache`] holds the compiled [`OfferIndex`] of every promotion that is not deleted.
//! A write in this process rebuilds it before the response is sent, so the next request
//! sees it. Other processes learn of changes through PostgreSQL `NOTIFY offerline_offers`
//! (sent after every write, received by a `LISTEN` task), or on SQLite by polling
//! `MAX(modified_at), COUNT(*)` of promotions every two seconds.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use offerline_core::{
    Currency, Line, OfferId, OfferIndex, PricingInput, Timestamp, VoucherCode, VoucherGrant, parse_minor, price,
};
use offerline_store::list::Op;
use offerline_store::promotions::{
    MAX_GENERATED_CODES, OFFER_TYPES, Promotion, PromotionInput, VOUCHER_USAGES, Voucher, parse_benefit,
    parse_condition,
};
use offerline_store::{Backend, Store, StoreError};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::auth::Staff;
use crate::docs::{Auth, Routes};
use crate::error::{ApiError, ApiResult};
use crate::listing::{Filter, Kind, Listing, Spec};
use crate::wire::{Fields, JsonObject, as_int, ts, ts_opt};

/// The PostgreSQL channel offer writes are announced on. It names no schema: a notify from
/// any schema of the database makes every listener reload, which is merely redundant.
pub const CHANNEL: &str = "offerline_offers";

/// How often a SQLite node checks whether another process changed promotions.
const POLL: Duration = Duration::from_secs(2);

/// The compiled index of every offer, swapped whole when offers change.
pub struct OfferCache {
    index: RwLock<Arc<OfferIndex>>,
    /// Serialises reloads (so a later reload never loses to an earlier one) and remembers
    /// the promotions stamp the current index was built from.
    reloading: tokio::sync::Mutex<Option<(Option<i64>, i64)>>,
}

impl OfferCache {
    pub async fn load(store: &Store) -> Result<Self, StoreError> {
        let cache = OfferCache {
            index: RwLock::new(Arc::new(OfferIndex::build(Vec::new()))),
            reloading: tokio::sync::Mutex::new(None),
        };
        cache.reload(store, "startup").await?;
        Ok(cache)
    }

    pub fn current(&self) -> Arc<OfferIndex> {
        match self.index.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn len(&self) -> usize {
        self.current().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rebuilds the index from the database. Returns the number of offers.
    pub async fn reload(&self, store: &Store, why: &str) -> Result<usize, StoreError> {
        let mut stamp = self.reloading.lock().await;
        let started = Instant::now();
        let new_stamp = store.promotions_stamp().await?;
        let index = OfferIndex::build(store.load_offers().await?);
        let n = index.len();
        match self.index.write() {
            Ok(mut g) => *g = Arc::new(index),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(index),
        }
        *stamp = Some(new_stamp);
        tracing::info!(offers = n, elapsed_ms = started.elapsed().as_secs_f64() * 1000.0, why, "offer cache reloaded");
        Ok(n)
    }

    /// After a write in this process: rebuild now, then tell the other nodes. The write is
    /// committed either way, so a failed notify is logged, not reported.
    pub async fn changed(&self, store: &Store) -> Result<(), ApiError> {
        self.reload(store, "write").await?;
        if let Err(e) = store.notify_offers_changed().await {
            tracing::warn!(error = %e, "could not notify other nodes of an offer change");
        }
        Ok(())
    }

    /// Reloads if the promotions stamp moved since the last build (SQLite polling).
    async fn poll(&self, store: &Store) -> Result<(), StoreError> {
        let now = store.promotions_stamp().await?;
        let last = *self.reloading.lock().await;
        if last != Some(now) {
            self.reload(store, "poll").await?;
        }
        Ok(())
    }
}

/// Keeps the cache fresh across processes: PostgreSQL LISTEN/NOTIFY, SQLite polling.
pub fn spawn_refresh(state: AppState) {
    tokio::spawn(async move {
        match state.store.backend() {
            Backend::Sqlite => loop {
                tokio::time::sleep(POLL).await;
                if let Err(e) = state.offers.poll(&state.store).await {
                    tracing::warn!(error = %e, "offer cache poll failed");
                }
            },
            Backend::Postgres => listen(state).await,
        }
    });
}

async fn listen(state: AppState) {
    loop {
        match sqlx::postgres::PgListener::connect(state.store.url()).await {
            Ok(mut l) => match l.listen(CHANNEL).await {
                Ok(()) => {
                    // Whatever changed while we were not listening.
                    if let Err(e) = state.offers.reload(&state.store, "listen").await {
                        tracing::warn!(error = %e, "offer cache reload failed");
                    }
                    loop {
                        match l.try_recv().await {
                            // `None`: the connection dropped and was re-established, so
                            // notifications may have been missed: reload too.
                            Ok(_) => {
                                while l.next_buffered().is_some() {}
                                if let Err(e) = state.offers.reload(&state.store, "notify").await {
                                    tracing::warn!(error = %e, "offer cache reload failed");
                                }
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "offer listener failed; reconnecting");
                                break;
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "LISTEN {CHANNEL} failed"),
            },
            Err(e) => tracing::warn!(error = %e, "offer listener could not connect"),
        }
        tokio::time::sleep(POLL).await;
    }
}

// ---------------------------------------------------------------------------------------
// Validation helpers

/// Inserts `msg` at a dotted path (`benefit.range.skus`) into a DRF error body, nesting
/// objects per segment; a message repeated at one place is kept once.
fn nest(errors: &mut Map<String, Value>, path: &str, msg: &str) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut cur = errors;
    for p in parts {
        let entry = cur.entry(p.to_owned()).or_insert_with(|| json!({}));
        match entry {
            Value::Object(o) => cur = o,
            Value::Array(a) => {
                if !a.iter().any(|m| m == msg) {
                    a.push(json!(msg));
                }
                return;
            }
            _ => return,
        }
    }
    let entry = cur.entry(last.to_owned()).or_insert_with(|| json!([]));
    let target = match entry {
        Value::Object(o) => o.entry("non_field_errors").or_insert_with(|| json!([])),
        other => other,
    };
    if let Value::Array(a) = target
        && !a.iter().any(|m| m == msg)
    {
        a.push(json!(msg));
    }
}

fn nest_all(errors: &mut Map<String, Value>, e: &offerline_core::FieldErrors) {
    for (path, msg) in e.iter() {
        nest(errors, path, msg);
    }
}

/// ISO 4217 codes in use: a currency must be one of them (three letters alone are not).
pub(crate) const CURRENCIES: &[&str] = &[
    "aed", "afn", "all", "amd", "ang", "aoa", "ars", "aud", "awg", "azn", "bam", "bbd", "bdt", "bgn", "bhd", "bif",
    "bmd", "bnd", "bob", "brl", "bsd", "btn", "bwp", "byn", "bzd", "cad", "cdf", "chf", "clp", "cny", "cop", "crc",
    "cup", "cve", "czk", "djf", "dkk", "dop", "dzd", "egp", "ern", "etb", "eur", "fjd", "fkp", "gbp", "gel", "ghs",
    "gip", "gmd", "gnf", "gtq", "gyd", "hkd", "hnl", "htg", "huf", "idr", "ils", "inr", "iqd", "irr", "isk", "jmd",
    "jod", "jpy", "kes", "kgs", "khr", "kmf", "kpw", "krw", "kwd", "kyd", "kzt", "lak", "lbp", "lkr", "lrd", "lsl",
    "lyd", "mad", "mdl", "mga", "mkd", "mmk", "mnt", "mop", "mru", "mur", "mvr", "mwk", "mxn", "myr", "mzn", "nad",
    "ngn", "nio", "nok", "npr", "nzd", "omr", "pab", "pen", "pgk", "php", "pkr", "pln", "pyg", "qar", "ron", "rsd",
    "rub", "rwf", "sar", "sbd", "scr", "sdg", "sek", "sgd", "shp", "sle", "sos", "srd", "ssp", "stn", "syp", "szl",
    "thb", "tjs", "tmt", "tnd", "top", "try", "ttd", "twd", "tzs", "uah", "ugx", "usd", "uyu", "uzs", "ves", "vnd",
    "vuv", "wst", "xaf", "xcd", "xof", "xpf", "yer", "zar", "zmw", "zwl",
];

/// A known currency, or the DRF choice error.
fn known_currency(v: &Value) -> Result<Currency, String> {
    let s = match v {
        Value::String(s) => s.as_str(),
        other => return Err(format!("\"{other}\" is not a valid choice.")),
    };
    match Currency::parse(s) {
        Ok(c) if CURRENCIES.contains(&c.as_str()) => Ok(c),
        _ => Err(format!("\"{s}\" is not a valid choice.")),
    }
}

fn slugify(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        let c = match ch {
            'ö' | 'Ö' | 'ò' | 'ó' | 'ô' => 'o',
            'ü' | 'Ü' | 'ù' | 'ú' | 'û' => 'u',
            'ş' | 'Ş' => 's',
            'ç' | 'Ç' => 'c',
            'ğ' | 'Ğ' => 'g',
            'ı' | 'İ' | 'î' | 'í' => 'i',
            'â' | 'á' | 'à' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            c => c.to_ascii_lowercase(),
        };
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() { "promotion".into() } else { out }
}

/// The most customers one promotion or voucher lists (larger audiences use voucher codes).
const MAX_CUSTOMERS: usize = 10_000;

/// A list of user pks: DRF's `PrimaryKeyRelatedField(many=True)` wording for bad items.
fn pk_list(f: &mut Fields<'_>, key: &str) -> Vec<i64> {
    match f.obj.get(key) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) if a.len() > MAX_CUSTOMERS => {
            f.error(key, format!("Ensure this field has no more than {MAX_CUSTOMERS} elements."));
            Vec::new()
        }
        Some(Value::Array(a)) => {
            let mut out = Vec::with_capacity(a.len());
            for v in a {
                match v {
                    Value::Number(_) | Value::String(_) if as_int(v).is_some() => out.push(as_int(v).unwrap_or(0)),
                    other => {
                        f.error(key, format!("Incorrect type. Expected pk value, received {}.", json_type(other)));
                        return Vec::new();
                    }
                }
            }
            out.sort_unstable();
            out.dedup();
            out
        }
        Some(other) => {
            f.error(key, format!("Expected a list of items but got type \"{}\".", json_type(other)));
            Vec::new()
        }
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Refuses users that do not exist, as DRF does for related pks.
async fn check_users(state: &AppState, key: &str, ids: &[i64], errors: &mut Map<String, Value>) -> ApiResult<()> {
    for id in state.store.missing_users(ids).await? {
        nest(errors, key, &format!("Invalid pk \"{id}\" - object does not exist."));
    }
    Ok(())
}

/// Parses a whole promotion body (a create, or a PATCH merged over the stored one).
async fn promotion_input(state: &AppState, body: &Map<String, Value>) -> ApiResult<PromotionInput> {
    let mut f = Fields::new(body);
    let name = f.req_str("name", 255);
    let slug = f.opt_str("slug", 255).filter(|s| !s.trim().is_empty());
    let label = f.opt_str("label", 255).unwrap_or_default();
    let offer_type = match body.get("offer_type") {
        None | Some(Value::Null) => {
            f.error("offer_type", "This field is required.");
            None
        }
        Some(Value::String(s)) if OFFER_TYPES.contains(&s.as_str()) => Some(s.clone()),
        Some(other) => {
            let shown = other.as_str().map_or_else(|| other.to_string(), str::to_owned);
            f.error("offer_type", format!("\"{shown}\" is not a valid choice."));
            None
        }
    };
    let currency = match body.get("currency") {
        None | Some(Value::Null) => Currency::parse("try").ok(),
        Some(v) => match known_currency(v) {
            Ok(c) => Some(c),
            Err(m) => {
                f.error("currency", m);
                None
            }
        },
    };
    let start_at = f.opt_instant("start_datetime").flatten();
    let end_at = f.opt_instant("end_datetime").flatten();
    let priority = f.opt_int("priority").unwrap_or(0);
    let exclusive = f.opt_bool("exclusive").unwrap_or(true);
    let is_active = f.opt_bool("is_active").unwrap_or(true);
    let max_basket_applications = f.opt_int("max_basket_applications");
    let max_user_applications = f.opt_int("max_user_applications");
    let max_global_applications = f.opt_int("max_global_applications");
    let cur = currency.unwrap_or(Currency::parse("try").map_err(ApiError::internal)?);
    let max_discount = match body.get("max_discount") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let text = match v {
                Value::String(s) => s.trim().to_owned(),
                Value::Number(n) => n.to_string(),
                _ => String::new(),
            };
            match parse_minor(&text, cur.minor_digits()) {
                Ok(m) => Some(m),
                Err(e) => {
                    f.error("max_discount", e.to_string());
                    None
                }
            }
        }
    };
    let customers = pk_list(&mut f, "customers");
    let mut defs = offerline_core::FieldErrors::default();
    let condition = parse_condition(body.get("condition"), cur, &mut defs);
    let benefit = parse_benefit(body.get("benefit"), cur, &mut defs);
    let mut errors = f.errors.0;
    nest_all(&mut errors, &defs);
    check_users(state, "customers", &customers, &mut errors).await?;
    let (Some(name), Some(offer_type), Some(currency), Some((_, cond)), Some((_, ben)), true) =
        (name, offer_type, currency, condition, benefit, errors.is_empty())
    else {
        return Err(ApiError::Fields(errors));
    };
    let input = PromotionInput {
        slug: slug.unwrap_or_else(|| slugify(&name)),
        name,
        label,
        offer_type,
        currency: currency.as_str().to_owned(),
        start_at,
        end_at,
        priority,
        exclusive,
        is_active,
        definition: json!({ "condition": cond, "benefit": ben }),
        max_basket_applications,
        max_user_applications,
        max_global_applications,
        max_discount,
        customers,
    };
    if let Err(e) = input.to_offer(0) {
        nest_all(&mut errors, &e);
        return Err(ApiError::Fields(errors));
    }
    Ok(input)
}

// ---------------------------------------------------------------------------------------
// Promotions

pub fn promotion_json(p: &Promotion) -> Value {
    let money = |m: Option<i64>| m.map(|m| crate::wire::money(m, &p.currency));
    json!({
        "id": p.id,
        "name": p.name,
        "slug": p.slug,
        "label": p.label,
        "offer_type": p.offer_type,
        "currency": p.currency,
        "start_datetime": ts_opt(p.start_at),
        "end_datetime": ts_opt(p.end_at),
        "priority": p.priority,
        "exclusive": p.exclusive,
        "is_active": p.is_active,
        "condition": p.definition.get("condition").cloned().unwrap_or(Value::Null),
        "benefit": p.definition.get("benefit").cloned().unwrap_or(Value::Null),
        "max_basket_applications": p.max_basket_applications,
        "max_user_applications": p.max_user_applications,
        "max_global_applications": p.max_global_applications,
        "max_discount": money(p.max_discount),
        "customers": p.customers,
        "created_date": ts(p.created_at),
        "modified_date": ts(p.modified_at),
    })
}

fn parse_id(id: &str) -> ApiResult<i64> {
    id.trim().parse::<i64>().map_err(|_| ApiError::NotFound)
}

async fn create_promotion(
    _: Staff,
    State(state): State<AppState>,
    JsonObject(body): JsonObject,
) -> ApiResult<impl IntoResponse> {
    let input = promotion_input(&state, &body).await?;
    let p = state.store.create_promotion(&input).await?;
    state.offers.changed(&state.store).await?;
    tracing::info!(promotion = p.id, offer_type = %p.offer_type, "promotion created");
    Ok((StatusCode::CREATED, Json(promotion_json(&p))))
}

async fn get_promotion(_: Staff, State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(promotion_json(&state.store.promotion(parse_id(&id)?).await?)))
}

async fn patch_promotion(
    _: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id)?;
    let current = state.store.promotion(id).await?;
    let Value::Object(mut merged) = promotion_json(&current) else {
        return Err(ApiError::internal("promotion JSON is not an object"));
    };
    for key in ["id", "created_date", "modified_date"] {
        merged.remove(key);
    }
    for (k, v) in body {
        match (merged.get_mut(&k), v) {
            (Some(Value::Object(old)), Value::Object(new)) if k == "condition" || k == "benefit" => {
                old.extend(new);
            }
            (_, v) => {
                merged.insert(k, v);
            }
        }
    }
    let input = promotion_input(&state, &merged).await?;
    let p = state.store.update_promotion(id, &input).await?;
    state.offers.changed(&state.store).await?;
    Ok(Json(promotion_json(&p)))
}

async fn delete_promotion(
    _: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    state.store.delete_promotion(parse_id(&id)?).await?;
    state.offers.changed(&state.store).await?;
    Ok(StatusCode::NO_CONTENT)
}

const PROMOTION_SPEC: Spec = Spec {
    filters: &[
        Filter { param: "offer_type", column: "offer_type", kind: Kind::Text },
        Filter { param: "is_active", column: "is_active", kind: Kind::Bool },
        Filter { param: "slug", column: "slug", kind: Kind::Text },
        Filter { param: "name", column: "name", kind: Kind::Text },
        Filter { param: "currency", column: "currency", kind: Kind::Text },
    ],
    sorts: &[("priority", "priority"), ("name", "name")],
    default_sort: ("id", false),
};

async fn list_promotions(_: Staff, State(state): State<AppState>, listing: Listing) -> ApiResult<Json<Value>> {
    let mut q = listing.query(&PROMOTION_SPEC)?;
    q.filter("deleted", Op::Eq, 0);
    let (count, items) = state.store.list_promotions(&q).await?;
    Ok(Json(listing.envelope(count, items.iter().map(promotion_json).collect())?))
}

// ---------------------------------------------------------------------------------------
// Vouchers

pub fn voucher_json(v: &Voucher) -> Value {
    json!({
        "id": v.id,
        "code": v.code,
        "promotion": v.promotion_id,
        "usage": v.usage,
        "uses": v.uses,
        "customers": v.customers,
        "created_date": ts(v.created_at),
        "modified_date": ts(v.modified_at),
    })
}

/// The promotion a voucher may belong to: one that exists and takes a code.
async fn code_promotion(state: &AppState, id: i64, field: &str) -> ApiResult<Promotion> {
    let p = match state.store.promotion(id).await {
        Ok(p) => p,
        Err(StoreError::NotFound) => {
            return Err(ApiError::field(field, format!("Invalid pk \"{id}\" - object does not exist.")));
        }
        Err(e) => return Err(e.into()),
    };
    if !matches!(p.offer_type.as_str(), "coupon_code" | "voucher_code") {
        return Err(ApiError::field(
            field,
            format!(
                "Promotion {id} is a {} offer; vouchers belong to coupon_code and voucher_code offers.",
                p.offer_type
            ),
        ));
    }
    Ok(p)
}

fn usage_field(f: &mut Fields<'_>, default: Option<&str>) -> Option<String> {
    match f.obj.get("usage") {
        None | Some(Value::Null) => {
            if default.is_none() {
                f.error("usage", "This field is required.");
            }
            default.map(str::to_owned)
        }
        Some(Value::String(s)) if VOUCHER_USAGES.contains(&s.as_str()) => Some(s.clone()),
        Some(other) => {
            let shown = other.as_str().map_or_else(|| other.to_string(), str::to_owned);
            f.error("usage", format!("\"{shown}\" is not a valid choice."));
            None
        }
    }
}

async fn create_voucher(
    _: Staff,
    State(state): State<AppState>,
    JsonObject(body): JsonObject,
) -> ApiResult<impl IntoResponse> {
    let mut f = Fields::new(&body);
    let code = match body.get("code") {
        None | Some(Value::Null) => {
            f.error("code", "This field is required.");
            None
        }
        Some(Value::String(s)) => match VoucherCode::parse(s) {
            Ok(c) => Some(c),
            Err(e) => {
                f.error("code", e.to_string());
                None
            }
        },
        Some(_) => {
            f.error("code", "Not a valid string.");
            None
        }
    };
    let promotion = f.req_int("promotion");
    let usage = usage_field(&mut f, None);
    let customers = pk_list(&mut f, "customers");
    let mut errors = f.errors.0;
    check_users(&state, "customers", &customers, &mut errors).await?;
    let (Some(code), Some(promotion), Some(usage), true) = (code, promotion, usage, errors.is_empty()) else {
        return Err(ApiError::Fields(errors));
    };
    let p = code_promotion(&state, promotion, "promotion").await?;
    let v = state.store.create_voucher(&code, p.id, &usage, &customers).await?;
    state.offers.changed(&state.store).await?;
    Ok((StatusCode::CREATED, Json(voucher_json(&v))))
}

async fn list_vouchers(_: Staff, State(state): State<AppState>, listing: Listing) -> ApiResult<Json<Value>> {
    const SPEC: Spec = Spec {
        filters: &[
            Filter { param: "promotion", column: "promotion_id", kind: Kind::Int },
            Filter { param: "usage", column: "usage", kind: Kind::Text },
        ],
        sorts: &[("code", "code")],
        default_sort: ("id", false),
    };
    let mut q = listing.query(&SPEC)?;
    if let Some(code) = listing.get("code") {
        // Codes are stored upper-case; a code that cannot exist matches nothing.
        let normal = VoucherCode::parse(code).map_or_else(|_| code.to_owned(), |c| c.as_str().to_owned());
        q.filter("code", Op::Eq, normal);
    }
    let (count, items) = state.store.list_vouchers(&q).await?;
    Ok(Json(listing.envelope(count, items.iter().map(voucher_json).collect())?))
}

async fn generate_vouchers(
    _: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<impl IntoResponse> {
    let id = parse_id(&id)?;
    let p = state.store.promotion(id).await?;
    let mut f = Fields::new(&body);
    let count = f.req_int("count");
    let prefix = f.opt_str("prefix", 32).unwrap_or_default();
    let length = f.opt_int("length").unwrap_or(8);
    let usage = usage_field(&mut f, Some("single_use"));
    if let Some(c) = count
        && !(1..=MAX_GENERATED_CODES as i64).contains(&c)
    {
        f.error("count", format!("Ensure this value is between 1 and {MAX_GENERATED_CODES}."));
    }
    if !(4..=32).contains(&length) {
        f.error("length", "Ensure this value is between 4 and 32.");
    }
    let prefix = if prefix.trim().is_empty() {
        String::new()
    } else {
        match VoucherCode::parse(&prefix) {
            Ok(c) => c.as_str().to_owned(),
            Err(e) => {
                f.error("prefix", e.to_string());
                String::new()
            }
        }
    };
    f.finish()?;
    let (count, length) = (count.unwrap_or(1) as usize, length as usize);
    // 32 symbols per character: the space must dwarf the request or codes get guessable
    // and collisions frequent.
    if (32f64).powi(length as i32) < count as f64 * 1000.0 {
        return Err(ApiError::field("length", format!("A length of {length} is too short for {count} codes.")));
    }
    if !matches!(p.offer_type.as_str(), "coupon_code" | "voucher_code") {
        return Err(ApiError::BadRequest(format!(
            "Promotion {id} is a {} offer; vouchers belong to coupon_code and voucher_code offers.",
            p.offer_type
        )));
    }
    let codes =
        state.store.generate_vouchers(id, count, &prefix, length, usage.as_deref().unwrap_or("single_use")).await?;
    state.offers.changed(&state.store).await?;
    tracing::info!(promotion = id, count = codes.len(), "vouchers generated");
    Ok((StatusCode::CREATED, Json(json!({ "codes": codes }))))
}

// ---------------------------------------------------------------------------------------
// Simulation

/// The most lines and voucher codes one simulation takes (a basket, not a catalogue).
const MAX_LINES: usize = 5_000;
const MAX_CODES: usize = 50;

/// One parsed request line.
struct SimLine {
    sku: String,
    quantity: u32,
    unit_price: Option<i64>,
}

fn sim_lines(body: &Map<String, Value>, cur: Currency, errors: &mut Map<String, Value>) -> Vec<SimLine> {
    let items = match body.get("lines") {
        None | Some(Value::Null) => {
            errors.insert("lines".into(), json!(["This field is required."]));
            return Vec::new();
        }
        Some(Value::Array(a)) if a.len() > MAX_LINES => {
            errors.insert("lines".into(), json!([format!("Ensure this field has no more than {MAX_LINES} elements.")]));
            return Vec::new();
        }
        Some(Value::Array(a)) => a,
        Some(other) => {
            errors.insert(
                "lines".into(),
                json!([format!("Expected a list of items but got type \"{}\".", json_type(other))]),
            );
            return Vec::new();
        }
    };
    let mut out = Vec::with_capacity(items.len());
    let mut line_errors = Vec::with_capacity(items.len());
    for item in items {
        let Value::Object(m) = item else {
            line_errors.push(json!({"non_field_errors": [format!(
                "Invalid data. Expected a dictionary, but got {}.", json_type(item))]}));
            continue;
        };
        let mut f = Fields::new(m);
        let sku = f.req_str("sku", 128);
        let quantity = match m.get("quantity") {
            None | Some(Value::Null) => Some(1),
            Some(_) => f.opt_int("quantity"),
        };
        let max = offerline_core::basket::MAX_UNITS_PER_LINE;
        let quantity = match quantity {
            Some(q) if q < 1 => {
                f.error("quantity", "Ensure this value is greater than or equal to 1.");
                None
            }
            Some(q) if q > i64::from(max) => {
                f.error("quantity", format!("Ensure this value is less than or equal to {max}."));
                None
            }
            q => q.map(|q| q as u32),
        };
        let unit_price = f.opt_money("unit_price", cur.as_str());
        let errs = f.errors.0;
        if let (Some(sku), Some(quantity), true) = (sku, quantity, errs.is_empty()) {
            out.push(SimLine { sku: sku.trim().to_owned(), quantity, unit_price });
        }
        line_errors.push(Value::Object(errs));
    }
    if line_errors.iter().any(|e| e.as_object().is_some_and(|o| !o.is_empty())) {
        errors.insert("lines".into(), Value::Array(line_errors));
    }
    out
}

fn not_applied_json(promotion: Option<i64>, name: &str, reason: &str, detail: &str) -> Value {
    json!({ "promotion": promotion, "name": name, "reason": reason, "detail": detail })
}

async fn simulate(_: Staff, State(state): State<AppState>, JsonObject(body): JsonObject) -> ApiResult<Json<Value>> {
    let default_list = state.store.default_price_list().await?;
    let mut f = Fields::new(&body);
    let currency = match body.get("currency") {
        None | Some(Value::Null) => Currency::parse(&default_list.currency).ok(),
        Some(v) => match known_currency(v) {
            Ok(c) => Some(c),
            Err(m) => {
                f.error("currency", m);
                None
            }
        },
    };
    let customer = f.opt_int("customer");
    let at = f.opt_instant("at").flatten();
    let codes: Vec<String> = match body.get("voucher_codes") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) if a.len() > MAX_CODES => {
            f.error("voucher_codes", format!("Ensure this field has no more than {MAX_CODES} elements."));
            Vec::new()
        }
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => {
            a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()
        }
        Some(_) => {
            f.error("voucher_codes", "Expected a list of codes (strings).");
            Vec::new()
        }
    };
    let mut errors = f.errors.0;
    let Some(cur) = currency else { return Err(ApiError::Fields(errors)) };
    let lines = sim_lines(&body, cur, &mut errors);
    if let Some(c) = customer {
        check_users(&state, "customer", &[c], &mut errors).await?;
    }
    if !errors.is_empty() {
        return Err(ApiError::Fields(errors));
    }

    // Products (one query per batch) and default prices.
    let skus: Vec<String> = lines.iter().map(|l| l.sku.clone()).collect();
    let products = state.store.products_by_skus(&skus).await?;
    let by_sku: HashMap<&str, &offerline_store::catalog::Product> =
        products.iter().map(|p| (p.sku.as_str(), p)).collect();
    let ids: Vec<i64> = products.iter().map(|p| p.id).collect();
    let prices = if default_list.currency.eq_ignore_ascii_case(cur.as_str()) {
        state.store.prices_for(default_list.id, &ids).await?
    } else {
        HashMap::new()
    };
    let mut line_errors = Vec::with_capacity(lines.len());
    let mut input_lines = Vec::with_capacity(lines.len());
    for l in &lines {
        let mut e = Map::new();
        match by_sku.get(l.sku.as_str()) {
            None => {
                e.insert("sku".into(), json!([format!("Object with sku={} does not exist.", l.sku)]));
            }
            Some(p) => match l.unit_price.or_else(|| prices.get(&p.id).map(|pp| pp.price)) {
                Some(unit_price) => input_lines.push(Line {
                    product: offerline_core::ProductId(p.id),
                    sku: p.sku.clone(),
                    attributes: p.attribute_strings(),
                    quantity: l.quantity,
                    unit_price,
                }),
                None => {
                    e.insert(
                        "unit_price".into(),
                        json!([format!(
                            "The product has no price in the default price list ({}); give unit_price.",
                            default_list.currency
                        )]),
                    );
                }
            },
        }
        line_errors.push(Value::Object(e));
    }
    if line_errors.iter().any(|e| e.as_object().is_some_and(|o| !o.is_empty())) {
        return Err(ApiError::Fields(Map::from_iter([("lines".to_owned(), Value::Array(line_errors))])));
    }

    // Voucher codes: resolved and checked here; the engine only sees usable grants.
    let index = state.offers.current();
    let mut voucher_problems = Vec::new();
    let mut grants = Vec::new();
    let mut seen = BTreeSet::new();
    for raw in &codes {
        let code = match VoucherCode::parse(raw) {
            Ok(c) => c,
            Err(e) => {
                let detail = format!("\"{raw}\" is not a valid code: {e}");
                voucher_problems.push(not_applied_json(None, "", "voucher_invalid", &detail));
                continue;
            }
        };
        if !seen.insert(code.clone()) {
            continue;
        }
        let Some(v) = state.store.voucher_by_code(code.as_str()).await? else {
            let detail = format!("no voucher with code {code}");
            voucher_problems.push(not_applied_json(None, "", "voucher_invalid", &detail));
            continue;
        };
        let problem = if !v.customers.is_empty() && !customer.is_some_and(|c| v.customers.contains(&c)) {
            Some(format!("the code {code} is not assigned to this customer"))
        } else {
            match (v.usage.as_str(), customer) {
                ("single_use", _) if v.uses > 0 => Some(format!("the code {code} has already been used")),
                ("once_per_customer", None) => {
                    Some(format!("the code {code} can be used once per customer and needs a customer"))
                }
                ("once_per_customer", Some(c)) if state.store.voucher_used_by(v.id, c).await? => {
                    Some(format!("this customer has already used the code {code}"))
                }
                _ => None,
            }
        };
        match problem {
            Some(detail) => {
                let name = index.get(OfferId(v.promotion_id)).map_or("", |o| o.name.as_str());
                voucher_problems.push(not_applied_json(Some(v.promotion_id), name, "voucher_invalid", &detail));
            }
            None => grants.push(VoucherGrant { code, offer: OfferId(v.promotion_id) }),
        }
    }

    let input = PricingInput {
        currency: cur,
        at: Timestamp(at.unwrap_or_else(offerline_store::now_micros)),
        customer: customer.map(offerline_core::CustomerId),
        lines: input_lines,
        vouchers: grants,
        usage: state.store.usage_snapshot(customer).await?,
        explain_all: true,
    };
    input.validate().map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let p = price(&input, &index);
    let fm = |m: i64| cur.format(m);
    let lines_json: Vec<Value> = input
        .lines
        .iter()
        .zip(&p.lines)
        .map(|(l, r)| {
            json!({
                "sku": l.sku,
                "quantity": l.quantity,
                "unit_price": fm(l.unit_price),
                "discount": fm(r.discount),
                "net_amount": fm(r.net),
                "units": r.units.iter().map(|u| json!({"discount": fm(u.discount), "net_amount": fm(u.net)}))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    let applied: Vec<Value> = p
        .applied
        .iter()
        .map(|a| {
            json!({
                "promotion": a.offer.0,
                "name": a.name,
                "amount": fm(a.amount),
                "code": a.code.as_ref().map(VoucherCode::as_str),
                "benefit_units": a.benefit_units.iter()
                    .map(|(u, s)| json!({"line": u.line, "unit": u.unit, "share": fm(*s)})).collect::<Vec<_>>(),
                "condition_units": a.condition_units.iter()
                    .map(|u| json!({"line": u.line, "unit": u.unit})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut not_applied: Vec<Value> = p
        .not_applied
        .iter()
        .map(|n| not_applied_json(Some(n.offer.0), &n.name, n.reason.as_str(), &n.detail))
        .collect();
    not_applied.extend(voucher_problems);
    Ok(Json(json!({
        "currency": cur.as_str(),
        "total_before_discount": fm(p.total_before_discount),
        "total_discount": fm(p.total_discount),
        "total": fm(p.total),
        "shipping_discount": p.shipping_free,
        "lines": lines_json,
        "applied": applied,
        "not_applied": not_applied,
    })))
}

pub fn routes() -> Routes {
    Routes::new("promotions", Auth::Staff)
        .add(
            "/api/v1/promotions/",
            get(list_promotions).post(create_promotion),
            &[("get", "List promotions (offers)"), ("post", "Create a promotion")],
        )
        .add(
            "/api/v1/promotions/{id}/",
            get(get_promotion).patch(patch_promotion).delete(delete_promotion),
            &[("get", "A promotion"), ("patch", "Update a promotion"), ("delete", "Delete a promotion (soft)")],
        )
        .add(
            "/api/v1/promotions/{id}/generate_vouchers/",
            post(generate_vouchers),
            &[("post", "Generate unique random voucher codes for a code promotion")],
        )
        .add(
            "/api/v1/vouchers/",
            get(list_vouchers).post(create_voucher),
            &[("get", "List vouchers"), ("post", "Create a voucher")],
        )
        .add(
            "/api/v1/pricing/simulate/",
            post(simulate),
            &[("post", "Dry-run pricing with the explanation of every offer")],
        )
}
