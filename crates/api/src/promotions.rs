//! Offers ("promotions") and vouchers administration (contract §4).
//!
//! Endpoints (staff token): `POST/GET /api/v1/promotions/`,
//! `GET/PATCH/DELETE /api/v1/promotions/{id}/`, `POST /api/v1/promotions/{id}/generate_vouchers/`,
//! `POST/GET /api/v1/vouchers/`.
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

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use offerline_core::{Currency, VoucherCode, parse_minor};
use offerline_store::StoreError;
use offerline_store::list::Op;
use offerline_store::promotions::{
    MAX_GENERATED_CODES, OFFER_TYPES, Promotion, PromotionInput, VOUCHER_USAGES, Voucher, parse_benefit,
    parse_condition,
};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::auth::Staff;
use crate::docs::{Auth, Routes};
use crate::error::{ApiError, ApiResult};
use crate::listing::{Filter, Kind, Listing, Spec};
use crate::wire::{Fields, JsonObject, as_int, ts, ts_opt};

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
pub(crate) fn known_currency(v: &Value) -> Result<Currency, String> {
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

pub(crate) fn json_type(v: &Value) -> &'static str {
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
pub(crate) async fn check_users(
    state: &AppState,
    key: &str,
    ids: &[i64],
    errors: &mut Map<String, Value>,
) -> ApiResult<()> {
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
        "usage": v.usage.as_str(),
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
}
