//! Offers ("promotions") and vouchers administration (contract §4): the handlers, and the
//! wire shape of a promotion and a voucher.
//!
//! Endpoints (staff token): `POST/GET /api/v1/promotions/`,
//! `GET/PATCH/DELETE /api/v1/promotions/{id}/`, `POST /api/v1/promotions/{id}/generate_vouchers/`,
//! `POST/GET /api/v1/vouchers/`. Each handler reads its body ([`crate::promotion_body`]),
//! calls one use case of `offerline_app::promotions` or `offerline_app::vouchers`, and
//! renders the result.
//!
//! # Wire shape of a promotion
//! The request shape of the contract plus `id`, `created_date` and `modified_date`:
//! `condition` / `benefit` normalised (money values as strings with the currency's digits,
//! `"500.00"`; percentages as plain decimals, `"50"`; counts as numbers; every key present;
//! a range as only the keys that say something, `{"all": true}` for every product),
//! `max_discount` as a money string, `customers` as user pks, datetimes ISO-8601 UTC.
//!
//! # Validation errors
//! As DRF nested serializers word them: errors inside `condition` and `benefit` are nested
//! objects, `{"benefit": {"value": ["Ensure this value is less than or equal to 100."]}}`,
//! `{"condition": {"range": {"skus": [...]}}}`; a non-object where an object belongs is
//! `{"benefit": {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}}`;
//! top-level fields are flat (`{"end_datetime": ["End must be after start."]}`).
//!
//! PATCH merges the body over the stored promotion's wire shape (and `condition` /
//! `benefit` key by key) and reads the result as a whole body.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use offerline_app::list::Op;
use offerline_app::promotions::{Promotion, PromotionInput};
use offerline_app::vouchers::{CodeBatch, MAX_GENERATED_CODES, NewVoucher};
use offerline_app::{customers, promotions as admin, vouchers};
use offerline_core::{VoucherCode, VoucherUsage};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::http::auth::Staff;
use crate::http::error::{ApiError, ApiResult, nest, unknown_pk};
use crate::http::listing::{Filter, Kind, Listing, Page, Spec};
use crate::http::path::PathId;
use crate::http::wire::{Body, Fields, Fieldset, typed};
use crate::omnitron::promotion_body::{BulkPromotions, PromotionBody, PromotionPatch, pk_list, read_body};
use crate::omnitron::wire;

// The simulation endpoint reads its body with these too.
pub(crate) use crate::omnitron::promotion_body::{json_type, known_currency};

/// Adds DRF's error for each of `ids` that names no user to `errors` under `key`.
pub(crate) async fn check_users(
    state: &AppState,
    key: &str,
    ids: &[i64],
    errors: &mut Map<String, Value>,
) -> ApiResult<()> {
    for id in customers::unknown(&state.app, ids).await? {
        nest(errors, key, &unknown_pk(id));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Rendering

/// A promotion's wire shape as a JSON tree: what a PATCH merges its body over, and what the
/// back office's form shows. Answers are written from [`wire::Promotion`] itself.
pub fn promotion_json(p: &Promotion) -> Value {
    serde_json::to_value(wire::Promotion::from(p)).unwrap_or(Value::Null)
}

// ---------------------------------------------------------------------------------------
// Promotions

/// Reads a whole promotion body and checks its customers, the errors of both in one body.
async fn promotion_input(state: &AppState, body: &PromotionBody) -> ApiResult<PromotionInput> {
    let mut draft = read_body(body);
    check_users(state, "customers", &draft.customers, &mut draft.errors).await?;
    draft.finish()
}

pub(super) async fn create_promotion(
    _: Staff,
    State(state): State<AppState>,
    Body(body): Body<PromotionBody>,
) -> ApiResult<(StatusCode, Json<wire::Promotion>)> {
    let input = promotion_input(&state, &body).await?;
    let p = admin::create(&state.app, &input).await?;
    Ok((StatusCode::CREATED, Json(wire::Promotion::from(&p))))
}

/// Most promotions one bulk call creates (contract §10).
pub const MAX_BULK: usize = 1000;

/// `POST /api/v1/promotions/bulk/` (contract §10): every body as `POST /promotions/` takes
/// it, created all or none; 201 `{"ids": [...]}`, or 400 `{"promotions": [{}, {"name": [...]},
/// ...]}` with one object per input, empty where it was valid.
pub(super) async fn bulk_create(
    _: Staff,
    State(state): State<AppState>,
    Body(body): Body<BulkPromotions>,
) -> ApiResult<(StatusCode, Json<wire::CreatedIds>)> {
    let list = match body.get("promotions") {
        Some(Value::Array(a)) if a.is_empty() => {
            return Err(ApiError::field("promotions", "This list may not be empty."));
        }
        Some(Value::Array(a)) if a.len() > MAX_BULK => {
            return Err(ApiError::field(
                "promotions",
                format!("Ensure this field has no more than {MAX_BULK} elements."),
            ));
        }
        Some(Value::Array(a)) => a,
        None => return Err(ApiError::field("promotions", "This field is required.")),
        Some(_) => return Err(ApiError::field("promotions", "Expected a list of items.")),
    };
    let field_errors = |e: ApiError| -> ApiResult<Value> {
        match e {
            ApiError::Fields(m) => Ok(Value::Object(m)),
            ApiError::BadRequest(m) | ApiError::Detail(m) => Ok(json!({"non_field_errors": [m]})),
            other => Err(other),
        }
    };
    let mut inputs = Vec::with_capacity(list.len());
    let mut errors = Vec::with_capacity(list.len());
    for item in list {
        let Value::Object(obj) = item else {
            errors.push(json!({"non_field_errors": ["Expected a dictionary of items."]}));
            continue;
        };
        match promotion_input(&state, &typed(obj.clone())?).await {
            Ok(input) => {
                inputs.push(input);
                errors.push(json!({}));
            }
            Err(e) => errors.push(field_errors(e)?),
        }
    }
    if errors.iter().any(|e| e.as_object().is_some_and(|m| !m.is_empty())) {
        return Err(ApiError::Fields(Map::from_iter([("promotions".to_owned(), Value::Array(errors))])));
    }
    match admin::create_many(&state.app, &inputs).await {
        Ok(ids) => Ok((StatusCode::CREATED, Json(wire::CreatedIds { ids }))),
        Err(admin::BulkError::Inputs(per)) => {
            let errors = per
                .into_iter()
                .map(|e| e.map_or(Ok(json!({})), |e| field_errors(ApiError::from(e))))
                .collect::<ApiResult<Vec<Value>>>()?;
            Err(ApiError::Fields(Map::from_iter([("promotions".to_owned(), Value::Array(errors))])))
        }
        Err(admin::BulkError::Other(e)) => Err(e.into()),
    }
}

pub(super) async fn get_promotion(
    _: Staff,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<wire::Promotion>> {
    Ok(Json(wire::Promotion::from(&admin::get(&state.app, id).await?)))
}

pub(super) async fn patch_promotion(
    _: Staff,
    State(state): State<AppState>,
    PathId(id): PathId,
    Body(body): Body<PromotionPatch>,
) -> ApiResult<Json<wire::Promotion>> {
    let current = admin::get(&state.app, id).await?;
    let Value::Object(mut merged) = promotion_json(&current) else {
        return Err(ApiError::internal("promotion JSON is not an object"));
    };
    for key in ["id", "created_date", "modified_date"] {
        merged.remove(key);
    }
    for &k in PromotionPatch::FIELDS {
        let Some(v) = body.get(k) else { continue };
        match (merged.get_mut(k), v) {
            (Some(Value::Object(old)), Value::Object(new)) if k == "condition" || k == "benefit" => {
                old.extend(new.clone());
            }
            (_, v) => {
                merged.insert(k.to_owned(), v.clone());
            }
        }
    }
    let input = promotion_input(&state, &typed(merged)?).await?;
    let p = admin::update(&state.app, id, &input).await?;
    Ok(Json(wire::Promotion::from(&p)))
}

pub(super) async fn delete_promotion(
    _: Staff,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<StatusCode> {
    admin::delete(&state.app, id).await?;
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

pub(super) async fn list_promotions(
    _: Staff,
    State(state): State<AppState>,
    listing: Listing,
) -> ApiResult<Json<Page<wire::Promotion>>> {
    let (count, items) = admin::list(&state.app, listing.query(&PROMOTION_SPEC)?).await?;
    Ok(Json(listing.page(count, items.iter().map(wire::Promotion::from))?))
}

// ---------------------------------------------------------------------------------------
// Vouchers

fn usage_field(f: &mut Fields<'_>, default: Option<VoucherUsage>) -> Option<VoucherUsage> {
    match f.obj.get("usage") {
        None | Some(Value::Null) => {
            if default.is_none() {
                f.error("usage", "This field is required.");
            }
            default
        }
        Some(Value::String(s)) if VoucherUsage::parse(s).is_ok() => VoucherUsage::parse(s).ok(),
        Some(other) => {
            let shown = other.as_str().map_or_else(|| other.to_string(), str::to_owned);
            f.error("usage", format!("\"{shown}\" is not a valid choice."));
            None
        }
    }
}

pub(super) async fn create_voucher(
    _: Staff,
    State(state): State<AppState>,
    Body(body): Body<wire::VoucherCreate>,
) -> ApiResult<(StatusCode, Json<wire::Voucher>)> {
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
    let v = vouchers::create(&state.app, &NewVoucher { code, promotion, usage, customers }).await?;
    Ok((StatusCode::CREATED, Json(wire::Voucher::from(&v))))
}

pub(super) async fn list_vouchers(
    _: Staff,
    State(state): State<AppState>,
    listing: Listing,
) -> ApiResult<Json<Page<wire::Voucher>>> {
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
    let (count, items) = vouchers::list(&state.app, &q).await?;
    Ok(Json(listing.page(count, items.iter().map(wire::Voucher::from))?))
}

pub(super) async fn generate_vouchers(
    _: Staff,
    State(state): State<AppState>,
    PathId(id): PathId,
    Body(body): Body<wire::GenerateVouchers>,
) -> ApiResult<(StatusCode, Json<wire::GeneratedCodes>)> {
    let p = admin::get(&state.app, id).await?;
    let mut f = Fields::new(&body);
    let count = f.req_int("count");
    let prefix = f.opt_str("prefix", 32).unwrap_or_default();
    let length = f.opt_int("length").unwrap_or(8);
    let usage = usage_field(&mut f, Some(VoucherUsage::SingleUse));
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
    let batch = CodeBatch {
        count: count.unwrap_or(1) as usize,
        prefix,
        length: length as usize,
        usage: usage.unwrap_or(VoucherUsage::SingleUse),
    };
    let codes = vouchers::generate(&state.app, &p, &batch).await?;
    Ok((StatusCode::CREATED, Json(wire::GeneratedCodes { codes })))
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    use crate::http::wire::assert_reads_any_object;
    use crate::omnitron::promotion_body::{BenefitBody, ConditionBody, GiftBody, TierBody};
    use crate::omnitron::wire::ProductPriceBody;

    #[test]
    fn promotion_bodies_read_any_object() {
        assert_reads_any_object::<PromotionBody>(PromotionBody::FIELDS);
        assert_reads_any_object::<PromotionPatch>(PromotionPatch::FIELDS);
        assert_reads_any_object::<BulkPromotions>(BulkPromotions::FIELDS);
        assert_reads_any_object::<ConditionBody>(ConditionBody::FIELDS);
        assert_reads_any_object::<BenefitBody>(BenefitBody::FIELDS);
        assert_reads_any_object::<TierBody>(TierBody::FIELDS);
        assert_reads_any_object::<GiftBody>(GiftBody::FIELDS);
        assert_reads_any_object::<ProductPriceBody>(ProductPriceBody::FIELDS);
        // A PATCH names the fields of a whole body.
        assert_eq!(PromotionPatch::FIELDS, PromotionBody::FIELDS);
    }

    #[test]
    fn the_bulk_schema_says_the_bulk_bound() {
        let schema = serde_json::to_value(BulkPromotions::schema()).unwrap();
        assert_eq!(schema["properties"]["promotions"]["maxItems"], MAX_BULK);
        assert_eq!(schema["properties"]["promotions"]["minItems"], 1);
    }

    use offerline_app::promotions::{benefit_json, condition_json};
    use offerline_core::{Currency, FieldErrors};

    use super::*;
    use crate::omnitron::promotion_body::{parse_benefit, parse_condition};

    /// Every kind of condition and benefit, every range key and value spelling ("50",
    /// "50.0", 50, "12.50", "500", "500.00", …) in currencies of 0, 2 and 3 digits: read
    /// and rendered, the answer is byte for byte what the promotions API answered when it
    /// rendered the normalised JSON it had stored (recorded in `testdata`), and the errors
    /// are the same.
    #[test]
    fn conditions_and_benefits_render_as_the_stored_normalised_json_did() {
        let golden = include_str!("../../testdata/promotion_definitions.txt");
        let mut checked = 0;
        for line in golden.lines().filter(|l| !l.is_empty()) {
            let [what, currency, input, expected, errors] = line.splitn(5, '|').collect::<Vec<_>>()[..] else {
                panic!("bad golden line {line}");
            };
            let currency = Currency::parse(currency).unwrap();
            let value: Option<Value> = (input != "MISSING").then(|| serde_json::from_str(input).unwrap());
            let mut e = FieldErrors::default();
            let rendered = match what {
                "C" => parse_condition(value.as_ref(), currency, &mut e).map(|c| condition_json(&c, currency)),
                _ => parse_benefit(value.as_ref(), currency, &mut e).map(|b| benefit_json(&b, currency, false)),
            };
            assert_eq!(rendered.map(|r| r.to_string()).unwrap_or_default(), expected, "{line}");
            assert_eq!(e.to_string(), errors, "{line}");
            checked += 1;
        }
        assert!(checked > 150, "{checked} golden lines");
    }
}
