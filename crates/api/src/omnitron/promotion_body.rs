//! The promotions API's request bodies, read into typed values with the errors worded as
//! Django REST framework words them.
//!
//! A promotion body is read in two steps, as DRF validates a serializer: [`read_promotion`]
//! reads every field and collects every syntax error (nested under `condition` and
//! `benefit` like DRF's nested serializers); the handler adds the customers that do not
//! exist; [`PromotionDraft::finish`] refuses the lot if anything was wrong, then checks
//! the integer bounds of the model fields and yields a [`PromotionInput`]. The rules that
//! are not about syntax (customers exist, the offer is meaningful) are the use cases' in
//! `offerline_app::promotions`.
//!
//! Conditions and benefits: `{"type", "value", "range"}` (a benefit also takes
//! `max_affected_items`); a missing condition is `none`, a missing range every product.
//! Money values are decimal strings or numbers in the promotion's currency, percentages
//! plain decimals, counts integers or numeric strings. Errors carry dotted paths
//! (`benefit.range.skus`) that [`crate::http::error::nest`] turns into DRF's nested objects.

use std::collections::BTreeSet;

use offerline_app::promotions::PromotionInput;
use offerline_core::{
    Benefit, BenefitKind, Condition, ConditionKind, Currency, FieldErrors, OfferKind, Percent, ProductId, Range,
    RefundPolicy, Tier, parse_minor,
};
use serde::Deserialize;
use serde_json::{Map, Value as Json};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, ArrayBuilder, ObjectBuilder, Schema, Type};

use crate::fieldset;
use crate::http::error::{ApiError, ApiResult, nest_all};
use crate::http::schema::{
    Components, NOT_BLANK, WS, any_of, component, int_range, int_text, money, one_of_strings, opt_bool, opt_text,
    or_null, pattern, pk_list as pk_list_schema, register, req_text,
};
use crate::http::wire::{Fields, Fieldset, INEXACT_NUMBER, as_int, number_text, present};
use crate::omnitron::wire::{currency_code, instant};

const CONDITION_TYPES: &[&str] = &["amount", "count", "coverage", "none"];
const BENEFIT_TYPES: &[&str] =
    &["percentage", "fixed", "fixed_per_unit", "fixed_price", "multibuy", "shipping_free", "gift"];

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
pub(crate) fn known_currency(v: &Json) -> Result<Currency, String> {
    let s = match v {
        Json::String(s) => s.as_str(),
        other => return Err(format!("\"{other}\" is not a valid choice.")),
    };
    match Currency::parse(s) {
        Ok(c) if CURRENCIES.contains(&c.as_str()) => Ok(c),
        _ => Err(format!("\"{s}\" is not a valid choice.")),
    }
}

/// DRF's name of a JSON value's type, as its messages show it.
pub(crate) fn json_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "int",
        Json::String(_) => "str",
        Json::Array(_) => "list",
        Json::Object(_) => "dict",
    }
}

/// The most customers one promotion or voucher lists (larger audiences use voucher codes).
const MAX_CUSTOMERS: usize = 10_000;

/// A list of user pks: DRF's `PrimaryKeyRelatedField(many=True)` wording for bad items.
pub(crate) fn pk_list(f: &mut Fields<'_>, key: &str) -> Vec<i64> {
    match f.obj.get(key) {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Array(a)) if a.len() > MAX_CUSTOMERS => {
            f.error(key, format!("Ensure this field has no more than {MAX_CUSTOMERS} elements."));
            Vec::new()
        }
        Some(Json::Array(a)) => {
            let mut out = Vec::with_capacity(a.len());
            for v in a {
                match v {
                    Json::Number(_) | Json::String(_) if as_int(v).is_some() => out.push(as_int(v).unwrap_or(0)),
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

// ---------------------------------------------------------------------------------------
// The wire types: what the readers below read, and the document's schemas of it

/// The body of `POST /api/v1/promotions/` and of each entry of a bulk create: a whole
/// promotion (read by `read_body`; a field not declared here is not read). Defaults: `currency` `try`, `slug` a slug of the name, `label` empty, `exclusive` and
/// `is_active` true, `priority` 0, `condition` none, `refund_policy` `keep_shares`.
///
/// A body the schema allows can still be refused for what it cannot say: a customer id that
/// names no one, a gift sku that names no product, an end not after the start, tier
/// thresholds that do not increase (or start below the condition's value), a multibuy or a
/// fixed price without the condition it needs, a range that matches no product, a money
/// value with more decimals than the currency has.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PromotionBody {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = req_text::<255>, required = true)]
    pub name: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_text::<255>)]
    pub slug: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_text::<255>)]
    pub label: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = offer_type, required = true)]
    pub offer_type: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = currency_code)]
    pub currency: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = instant)]
    pub start_datetime: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = instant)]
    pub end_datetime: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = priority)]
    pub priority: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_bool)]
    pub exclusive: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_bool)]
    pub is_active: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = basket_limit)]
    pub max_basket_applications: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = limit_schema)]
    pub max_user_applications: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = limit_schema)]
    pub max_global_applications: Option<Json>,
    /// The most one basket gets off from this promotion, in its currency.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = max_discount)]
    pub max_discount: Option<Json>,
    /// The only customers it applies to (user pks; coupons).
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = pk_list_schema)]
    pub customers: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = refund_policy)]
    pub refund_policy: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<ConditionBody>)]
    pub condition: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = BenefitBody, required = true)]
    pub benefit: Option<Json>,
}

fieldset!(PromotionBody {
    "name" => name,
    "slug" => slug,
    "label" => label,
    "offer_type" => offer_type,
    "currency" => currency,
    "start_datetime" => start_datetime,
    "end_datetime" => end_datetime,
    "priority" => priority,
    "exclusive" => exclusive,
    "is_active" => is_active,
    "max_basket_applications" => max_basket_applications,
    "max_user_applications" => max_user_applications,
    "max_global_applications" => max_global_applications,
    "max_discount" => max_discount,
    "customers" => customers,
    "refund_policy" => refund_policy,
    "condition" => condition,
    "benefit" => benefit,
});

/// The body of `PATCH /api/v1/promotions/{id}/`: any fields of a `PromotionBody`, merged
/// over the stored promotion (`condition` and `benefit` key by key) and read as a whole
/// body, so the keys of a partial condition or benefit are checked against the stored ones.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PromotionPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = req_text::<255>)]
    pub name: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_text::<255>)]
    pub slug: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_text::<255>)]
    pub label: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = offer_type)]
    pub offer_type: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = currency_code)]
    pub currency: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = instant)]
    pub start_datetime: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = instant)]
    pub end_datetime: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = priority)]
    pub priority: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_bool)]
    pub exclusive: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_bool)]
    pub is_active: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = basket_limit)]
    pub max_basket_applications: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = limit_schema)]
    pub max_user_applications: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = limit_schema)]
    pub max_global_applications: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = max_discount)]
    pub max_discount: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = pk_list_schema)]
    pub customers: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = refund_policy)]
    pub refund_policy: Option<Json>,
    /// Merged key by key over the stored condition.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<ConditionPatch>)]
    pub condition: Option<Json>,
    /// Merged key by key over the stored benefit.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<BenefitPatch>)]
    pub benefit: Option<Json>,
}

fieldset!(PromotionPatch {
    "name" => name,
    "slug" => slug,
    "label" => label,
    "offer_type" => offer_type,
    "currency" => currency,
    "start_datetime" => start_datetime,
    "end_datetime" => end_datetime,
    "priority" => priority,
    "exclusive" => exclusive,
    "is_active" => is_active,
    "max_basket_applications" => max_basket_applications,
    "max_user_applications" => max_user_applications,
    "max_global_applications" => max_global_applications,
    "max_discount" => max_discount,
    "customers" => customers,
    "refund_policy" => refund_policy,
    "condition" => condition,
    "benefit" => benefit,
});

/// The body of `POST /api/v1/promotions/bulk/`: 1 to 1,000 promotions (`MAX_BULK`), each
/// read as a `PromotionBody`, created all or none.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct BulkPromotions {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<PromotionBody>, min_items = 1, max_items = 1000, required = true)]
    pub promotions: Option<Json>,
}

fieldset!(BulkPromotions { "promotions" => promotions });

/// A condition: `{"type", "value", "range"}` (other keys are not read; read by
/// `parse_condition`). Absent or null: none.
#[derive(Debug, Default, Deserialize)]
pub struct ConditionBody {
    #[serde(default, rename = "type", deserialize_with = "present")]
    pub kind: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    pub value: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    pub range: Option<Json>,
}

fieldset!(ConditionBody { "type" => kind, "value" => value, "range" => range });

/// A benefit: `{"type", "value", "tiers", "gift", "max_affected_items", "range"}` (other
/// keys are not read; read by `parse_benefit_for`).
#[derive(Debug, Default, Deserialize)]
pub struct BenefitBody {
    #[serde(default, rename = "type", deserialize_with = "present")]
    pub kind: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    pub value: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    pub tiers: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    pub gift: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    pub max_affected_items: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    pub range: Option<Json>,
}

fieldset!(BenefitBody {
    "type" => kind,
    "value" => value,
    "tiers" => tiers,
    "gift" => gift,
    "max_affected_items" => max_affected_items,
    "range" => range,
});

/// A tier of a tiered benefit: `{"threshold", "value"}`.
#[derive(Debug, Default, Deserialize)]
pub struct TierBody {
    #[serde(default, deserialize_with = "present")]
    pub threshold: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    pub value: Option<Json>,
}

fieldset!(TierBody { "threshold" => threshold, "value" => value });

/// A gift benefit's product: `{"sku", "quantity"}`.
#[derive(Debug, Default, Deserialize)]
pub struct GiftBody {
    #[serde(default, deserialize_with = "present")]
    pub sku: Option<Json>,
    #[serde(default, deserialize_with = "present")]
    pub quantity: Option<Json>,
}

fieldset!(GiftBody { "sku" => sku, "quantity" => quantity });

/// A JSON object as the nested wire type `T` (every field of which holds any value).
fn nested<T: for<'de> Deserialize<'de> + Default>(m: &Map<String, Json>) -> T {
    T::deserialize(&Json::Object(m.clone())).unwrap_or_default()
}

// The schemas. Values are read as `parse_minor` and `Percent::parse` read them (white space
// around, leading zeros) or as JSON numbers of at most 15 significant digits; counts as
// integers or their text.

fn offer_type() -> RefOr<Schema> {
    one_of_strings(OfferKind::ALL.map(OfferKind::as_str)).into()
}

fn refund_policy() -> RefOr<Schema> {
    or_null(one_of_strings(RefundPolicy::ALL.map(RefundPolicy::as_str)))
}

/// `priority`: a 32-bit integer (or its text), or null.
fn priority() -> RefOr<Schema> {
    int_range(i32::MIN.into(), i32::MAX.into(), true)
}

/// A limit: an unsigned 32-bit integer (or its text), or null (none).
fn limit_schema() -> RefOr<Schema> {
    int_range(0, u32::MAX.into(), true)
}

/// `max_basket_applications`: as [`limit_schema`], at least 1.
fn basket_limit() -> RefOr<Schema> {
    int_range(1, u32::MAX.into(), true)
}

/// A count of at least 1 (an unsigned 32-bit integer, or its text).
fn count() -> RefOr<Schema> {
    int_range(1, u32::MAX.into(), false)
}

/// `max_discount`: a positive money value, or null.
fn max_discount() -> RefOr<Schema> {
    or_null(money(true))
}

/// A percentage above 0 and at most 100, of at most 4 decimals (a text or a JSON number).
fn percent() -> RefOr<Schema> {
    let text = pattern(&format!(r"^{WS}*0*(100(\.0+)?|[1-9][0-9]?(\.[0-9]{{1,4}}0*)?|0\.[0-9]{{0,3}}[1-9]0*){WS}*$"));
    let number = ObjectBuilder::new().schema_type(Type::Number).exclusive_minimum(Some(0)).maximum(Some(100));
    any_of(vec![text.into(), number.into()])
}

/// Only null: a field this kind of condition or benefit takes no value for.
fn null() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Null)
}

/// A list of non-blank strings.
fn text_list() -> ArrayBuilder {
    ArrayBuilder::new().items(pattern(NOT_BLANK))
}

/// A range (read by `parse_range`, which reports each key it does not know, so only the
/// keys named here are allowed): the products of the range are those it names (all of them,
/// skus, product pks, attribute values), minus the excluded skus. Absent or null: every
/// product.
#[derive(Debug)]
pub struct RangeBody;

impl utoipa::PartialSchema for RangeBody {
    fn schema() -> RefOr<Schema> {
        let id = any_of(vec![
            ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(i64::MAX)).into(),
            pattern(&int_text(1, i64::MAX)).into(),
        ]);
        let values = any_of(vec![pattern(r"^[^\x00]*$").into(), text_list().into()]);
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("all", ObjectBuilder::new().schema_type(Type::Boolean))
            .property("skus", text_list())
            .property("excluded_skus", text_list())
            .property("products", ArrayBuilder::new().items(id))
            .property(
                "attributes",
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .additional_properties(Some(AdditionalProperties::RefOr(values))),
            )
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .into()
    }
}

impl ToSchema for RangeBody {}

fn range() -> RefOr<Schema> {
    or_null(component::<RangeBody>())
}

/// One kind of condition or benefit: `type` one of `kinds`, the `fields` it takes, and
/// `range` (nullable everywhere); `required` beside `type`.
fn kind(kinds: &[&str], fields: Vec<(&str, RefOr<Schema>)>, required: &[&str]) -> RefOr<Schema> {
    let mut o = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("type", one_of_strings(kinds.iter().copied()))
        .required("type");
    for (name, schema) in fields {
        o = o.property(name, schema);
    }
    for r in required {
        o = o.required(*r);
    }
    o.property("range", range()).into()
}

impl utoipa::PartialSchema for ConditionBody {
    fn schema() -> RefOr<Schema> {
        any_of(vec![
            kind(&["none"], vec![("value", null().into())], &[]),
            kind(&["amount"], vec![("value", money(true))], &["value"]),
            kind(&["count", "coverage"], vec![("value", count())], &["value"]),
        ])
    }
}

impl ToSchema for ConditionBody {
    fn schemas(out: &mut Components) {
        register::<RangeBody>(out);
    }
}

impl utoipa::PartialSchema for BenefitBody {
    fn schema() -> RefOr<Schema> {
        let max_items = || ("max_affected_items", or_null(count()));
        let no_tiers = || ("tiers", RefOr::from(null()));
        let tiers = ArrayBuilder::new().items(component::<TierBody>()).min_items(Some(1));
        any_of(vec![
            kind(&["percentage"], vec![("value", percent()), no_tiers(), max_items()], &["value"]),
            kind(&["fixed", "fixed_per_unit"], vec![("value", money(true)), no_tiers(), max_items()], &["value"]),
            kind(&["fixed_price"], vec![("value", money(false)), no_tiers(), max_items()], &["value"]),
            kind(
                &["percentage", "fixed"],
                vec![("value", null().into()), ("tiers", tiers.into()), max_items()],
                &["tiers"],
            ),
            kind(
                &["gift"],
                vec![("value", null().into()), no_tiers(), ("gift", component::<GiftBody>()), max_items()],
                &["gift"],
            ),
            kind(&["multibuy", "shipping_free"], vec![("value", null().into()), no_tiers(), max_items()], &[]),
        ])
    }
}

impl ToSchema for BenefitBody {
    fn schemas(out: &mut Components) {
        register::<RangeBody>(out);
        register::<TierBody>(out);
        register::<GiftBody>(out);
    }
}

/// A tier: from `threshold` (money, or units under a count condition) on, `value` (a
/// percentage or money, as the benefit's type reads it).
impl utoipa::PartialSchema for TierBody {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("threshold", any_of(vec![count(), money(true)]))
            .property("value", any_of(vec![percent(), money(true)]))
            .required("threshold")
            .required("value")
            .into()
    }
}

impl ToSchema for TierBody {}

/// A gift: the product's sku, and the units given (1 when absent).
impl utoipa::PartialSchema for GiftBody {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("sku", pattern(NOT_BLANK).max_length(Some(255)))
            .property("quantity", or_null(count()))
            .required("sku")
            .into()
    }
}

impl ToSchema for GiftBody {}

/// A partial condition of a PATCH: any of a condition's keys, each as some kind of
/// condition reads it (merged over the stored condition, the whole is read then).
#[derive(Debug)]
pub struct ConditionPatch;

impl utoipa::PartialSchema for ConditionPatch {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("type", one_of_strings(CONDITION_TYPES.iter().copied()))
            .property("value", or_null(any_of(vec![money(true), count()])))
            .property("range", range())
            .into()
    }
}

impl ToSchema for ConditionPatch {
    fn schemas(out: &mut Components) {
        register::<RangeBody>(out);
    }
}

/// A partial benefit of a PATCH: any of a benefit's keys, each as some kind of benefit
/// reads it (merged over the stored benefit, the whole is read then).
#[derive(Debug)]
pub struct BenefitPatch;

impl utoipa::PartialSchema for BenefitPatch {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("type", one_of_strings(BENEFIT_TYPES.iter().copied()))
            .property("value", or_null(any_of(vec![percent(), money(false)])))
            .property("tiers", or_null(ArrayBuilder::new().items(component::<TierBody>()).min_items(Some(1))))
            .property("gift", or_null(component::<GiftBody>()))
            .property("max_affected_items", or_null(count()))
            .property("range", range())
            .into()
    }
}

impl ToSchema for BenefitPatch {
    fn schemas(out: &mut Components) {
        register::<RangeBody>(out);
        register::<TierBody>(out);
        register::<GiftBody>(out);
    }
}

// ---------------------------------------------------------------------------------------
// A whole promotion

/// A promotion body as read: what parsed, and the errors of what did not.
#[derive(Debug)]
pub struct PromotionDraft {
    /// DRF's error body so far; the handler adds to it (unknown customers) before
    /// [`Self::finish`].
    pub errors: Map<String, Json>,
    /// The customer pks, ascending, once each.
    pub customers: Vec<i64>,
    name: Option<String>,
    slug: Option<String>,
    label: String,
    offer_type: Option<OfferKind>,
    currency: Option<Currency>,
    start_at: Option<i64>,
    end_at: Option<i64>,
    priority: i64,
    exclusive: bool,
    is_active: bool,
    max_basket_applications: Option<i64>,
    max_user_applications: Option<i64>,
    max_global_applications: Option<i64>,
    max_discount: Option<i64>,
    condition: Option<Condition>,
    benefit: Option<Benefit>,
    refund_policy: RefundPolicy,
}

/// Reads a whole promotion body (a create, or a PATCH merged over the stored one) as a
/// [`PromotionBody`].
pub fn read_promotion(body: &Map<String, Json>) -> PromotionDraft {
    read_body(&nested(body))
}

/// Reads a [`PromotionBody`]: every field, every syntax error (see the module doc).
pub fn read_body(body: &PromotionBody) -> PromotionDraft {
    let mut f = Fields::new(body);
    let name = f.req_str("name", 255);
    let slug = f.opt_str("slug", 255).filter(|s| !s.trim().is_empty());
    let label = f.opt_str("label", 255).unwrap_or_default();
    let offer_type = match body.get("offer_type") {
        None | Some(Json::Null) => {
            f.error("offer_type", "This field is required.");
            None
        }
        Some(Json::String(s)) if OfferKind::parse(s).is_some() => OfferKind::parse(s),
        Some(other) => {
            let shown = other.as_str().map_or_else(|| other.to_string(), str::to_owned);
            f.error("offer_type", format!("\"{shown}\" is not a valid choice."));
            None
        }
    };
    let default = Currency::parse("try").expect("\"try\" is three letters");
    let currency = match body.get("currency") {
        None | Some(Json::Null) => Some(default),
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
    // Amounts are read in the currency asked for, or in `try` when it is not valid (its
    // own error is already recorded).
    let cur = currency.unwrap_or(default);
    let max_discount = match body.get("max_discount") {
        None | Some(Json::Null) => None,
        Some(v) => {
            let text = match v {
                Json::Number(_) => decimal_text(v, cur.minor_digits()),
                _ => Some(decimal_text(v, cur.minor_digits()).unwrap_or_default()),
            };
            match text.map(|t| parse_minor(&t, cur.minor_digits())) {
                Some(Ok(m)) => Some(m),
                Some(Err(e)) => {
                    f.error("max_discount", e.to_string());
                    None
                }
                None => {
                    f.error("max_discount", INEXACT_NUMBER);
                    None
                }
            }
        }
    };
    let customers = pk_list(&mut f, "customers");
    let refund_policy = match body.get("refund_policy") {
        None | Some(Json::Null) => RefundPolicy::KeepShares,
        Some(v) => match v.as_str().and_then(RefundPolicy::parse) {
            Some(p) => p,
            None => {
                let shown = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                f.error("refund_policy", format!("\"{shown}\" is not a valid choice."));
                RefundPolicy::KeepShares
            }
        },
    };
    let mut defs = FieldErrors::default();
    let condition = parse_condition(body.get("condition"), cur, &mut defs);
    let counts = condition.as_ref().is_some_and(|c| matches!(c.kind, ConditionKind::Count(_)));
    let benefit = parse_benefit_for(body.get("benefit"), cur, counts, &mut defs);
    let mut errors = f.errors.0;
    nest_all(&mut errors, &defs);
    PromotionDraft {
        errors,
        customers,
        name,
        slug,
        label,
        offer_type,
        currency,
        start_at,
        end_at,
        priority,
        exclusive,
        is_active,
        max_basket_applications,
        max_user_applications,
        max_global_applications,
        max_discount,
        condition,
        benefit,
        refund_policy,
    }
}

impl PromotionDraft {
    /// The typed input, or the 400: every error collected so far if there is any, else
    /// the model's integer bounds (`priority` a 32-bit integer, the limits unsigned 32-bit).
    pub fn finish(self) -> ApiResult<PromotionInput> {
        let (Some(name), Some(offer_type), Some(currency), Some(condition), Some(benefit), true) =
            (self.name, self.offer_type, self.currency, self.condition, self.benefit, self.errors.is_empty())
        else {
            return Err(ApiError::Fields(self.errors));
        };
        let mut e = FieldErrors::default();
        let priority = match i32::try_from(self.priority) {
            Ok(p) => p,
            Err(_) => {
                e.push("priority", "Ensure this value is between -2147483648 and 2147483647.");
                0
            }
        };
        let max_basket_applications = limit(self.max_basket_applications, "max_basket_applications", &mut e);
        let max_user_applications = limit(self.max_user_applications, "max_user_applications", &mut e);
        let max_global_applications = limit(self.max_global_applications, "max_global_applications", &mut e);
        if !e.is_empty() {
            let mut errors = Map::new();
            nest_all(&mut errors, &e);
            return Err(ApiError::Fields(errors));
        }
        Ok(PromotionInput {
            slug: self.slug.unwrap_or_else(|| slugify(&name)),
            name,
            label: self.label,
            offer_type,
            currency,
            start_at: self.start_at,
            end_at: self.end_at,
            priority,
            exclusive: self.exclusive,
            is_active: self.is_active,
            condition,
            benefit,
            max_basket_applications,
            max_user_applications,
            max_global_applications,
            max_discount: self.max_discount,
            customers: self.customers,
            refund_policy: self.refund_policy,
        })
    }
}

/// An optional limit as an unsigned 32-bit integer.
fn limit(v: Option<i64>, path: &str, e: &mut FieldErrors) -> Option<u32> {
    let n = v?;
    match u32::try_from(n) {
        Ok(n) => Some(n),
        Err(_) if n < 0 => {
            e.push(path, "Ensure this value is greater than or equal to 0.");
            None
        }
        Err(_) => {
            e.push(path, format!("Ensure this value is less than or equal to {}.", u32::MAX));
            None
        }
    }
}

// ---------------------------------------------------------------------------------------
// Conditions, benefits, ranges

fn not_a_choice(v: &Json) -> String {
    match v {
        Json::String(s) => format!("\"{s}\" is not a valid choice."),
        other => format!("\"{other}\" is not a valid choice."),
    }
}

fn sub(path: &str, key: &str) -> String {
    format!("{path}.{key}")
}

fn expected_object(v: &Json) -> String {
    let kind = match v {
        Json::Array(_) => "list",
        Json::String(_) => "str",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::Bool(_) => "bool",
        _ => "null",
    };
    format!("Invalid data. Expected a dictionary, but got {kind}.")
}

/// A decimal given as a JSON string or number, as text; `None` for other values and for
/// numbers whose exact text cannot be known ([`number_text`]).
fn decimal_text(v: &Json, digits: u32) -> Option<String> {
    match v {
        Json::String(s) => Some(s.trim().to_owned()),
        Json::Number(n) => number_text(n, digits),
        _ => None,
    }
}

/// An integer given as a JSON number or a numeric string.
fn int_of(v: &Json) -> Option<i64> {
    match v {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A positive count (`u32`); errors as DRF words them.
fn parse_count(v: &Json, path: &str, min: i64, e: &mut FieldErrors) -> Option<u32> {
    match int_of(v) {
        None => {
            e.push(path, "A valid integer is required.");
            None
        }
        Some(n) if n < min => {
            e.push(path, format!("Ensure this value is greater than or equal to {min}."));
            None
        }
        Some(n) => match u32::try_from(n) {
            Ok(n) => Some(n),
            Err(_) => {
                e.push(path, format!("Ensure this value is less than or equal to {}.", u32::MAX));
                None
            }
        },
    }
}

fn string_set(v: &Json) -> Option<BTreeSet<String>> {
    match v {
        Json::Array(a) => a.iter().map(|s| s.as_str().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())).collect(),
        _ => None,
    }
}

/// Parses a `RANGE` (see the contract); a missing or null range is every product.
pub fn parse_range(v: Option<&Json>, path: &str, e: &mut FieldErrors) -> Option<Range> {
    let m = match v {
        None | Some(Json::Null) => return Some(Range::all()),
        Some(Json::Object(m)) => m,
        Some(_) => {
            e.push(path, "Expected a dictionary with one of all, skus, products, attributes.");
            return None;
        }
    };
    let before = e.0.len();
    let mut r = Range::default();
    for (k, val) in m {
        let p = sub(path, k);
        match k.as_str() {
            "all" => match val {
                Json::Bool(b) => r.all = *b,
                _ => e.push(&p, "Must be a valid boolean."),
            },
            "skus" | "excluded_skus" => match string_set(val) {
                Some(s) if k == "skus" => r.skus = s,
                Some(s) => r.excluded_skus = s,
                None => e.push(&p, "Expected a list of skus (non-empty strings)."),
            },
            "products" => match val {
                Json::Array(a) => match a.iter().map(|x| int_of(x).filter(|n| *n > 0)).collect::<Option<Vec<_>>>() {
                    Some(ids) => r.products = ids.into_iter().map(ProductId).collect(),
                    None => e.push(&p, "Expected a list of product pks."),
                },
                _ => e.push(&p, "Expected a list of product pks."),
            },
            "attributes" => match val {
                Json::Object(attrs) => {
                    for (name, values) in attrs {
                        let set = match values {
                            Json::String(s) => Some(BTreeSet::from([s.clone()])),
                            other => string_set(other),
                        };
                        match set {
                            Some(s) => {
                                r.attributes.insert(name.clone(), s);
                            }
                            None => e.push(&sub(&p, name), "Expected a list of attribute values."),
                        }
                    }
                }
                _ => e.push(&p, "Expected a dictionary of attribute name to a list of values."),
            },
            other => e.push(
                path,
                format!("Unknown key \"{other}\": a range takes all, skus, products, attributes and excluded_skus."),
            ),
        }
    }
    if e.0.len() > before {
        return None;
    }
    Some(r)
}

fn choice<'a>(m: &'a dyn Fieldset, path: &str, choices: &[&str], e: &mut FieldErrors) -> Option<&'a str> {
    match m.get("type") {
        None | Some(Json::Null) => {
            e.push(&sub(path, "type"), "This field is required.");
            None
        }
        Some(Json::String(s)) if choices.contains(&s.as_str()) => Some(s.as_str()),
        Some(other) => {
            e.push(&sub(path, "type"), not_a_choice(other));
            None
        }
    }
}

fn required<'a>(m: &'a dyn Fieldset, key: &str, path: &str, e: &mut FieldErrors) -> Option<&'a Json> {
    match m.get(key) {
        None | Some(Json::Null) => {
            e.push(&sub(path, key), "This field is required.");
            None
        }
        Some(v) => Some(v),
    }
}

fn money_value(v: &Json, currency: Currency, path: &str, e: &mut FieldErrors) -> Option<i64> {
    match decimal_text(v, currency.minor_digits()).map(|s| parse_minor(&s, currency.minor_digits())) {
        Some(Ok(m)) => Some(m),
        Some(Err(err)) => {
            e.push(path, err.to_string());
            None
        }
        None if v.is_number() => {
            e.push(path, INEXACT_NUMBER);
            None
        }
        None => {
            e.push(path, "A valid number is required.");
            None
        }
    }
}

/// Parses a condition (`{"type", "value", "range"}`); a missing condition is `none`.
pub fn parse_condition(v: Option<&Json>, currency: Currency, e: &mut FieldErrors) -> Option<Condition> {
    const P: &str = "condition";
    let m = match v {
        None | Some(Json::Null) => {
            return Some(Condition::none());
        }
        Some(Json::Object(m)) => nested::<ConditionBody>(m),
        Some(other) => {
            e.push("condition.non_field_errors", expected_object(other));
            return None;
        }
    };
    let m = &m;
    let ty = choice(m, P, CONDITION_TYPES, e);
    let range = parse_range(m.get("range"), "condition.range", e);
    let kind = match ty? {
        "none" => {
            if !matches!(m.get("value"), None | Some(Json::Null)) {
                e.push("condition.value", "A none condition takes no value (null).");
                return None;
            }
            ConditionKind::None
        }
        "amount" => ConditionKind::Amount(money_value(required(m, "value", P, e)?, currency, "condition.value", e)?),
        t => {
            let n = parse_count(required(m, "value", P, e)?, "condition.value", 0, e)?;
            if t == "count" { ConditionKind::Count(n) } else { ConditionKind::Coverage(n) }
        }
    };
    Some(Condition { kind, range: range? })
}

/// Parses a benefit (`{"type", "value", "max_affected_items", "range"}`), tier thresholds as
/// money.
pub fn parse_benefit(v: Option<&Json>, currency: Currency, e: &mut FieldErrors) -> Option<Benefit> {
    parse_benefit_for(v, currency, false, e)
}

/// Parses a promotion's tiers (contract §10): `[{"threshold", "value"}, …]`, thresholds as
/// unit counts (`count_thresholds`, under a count condition) or money, values as the
/// benefit's type reads them.
fn parse_tiers(
    tiers: &Json,
    ty: &str,
    currency: Currency,
    count_thresholds: bool,
    e: &mut FieldErrors,
) -> Option<BenefitKind> {
    const P: &str = "benefit.tiers";
    let Json::Array(list) = tiers else {
        e.push(P, "Expected a list of items.");
        return None;
    };
    if list.is_empty() {
        e.push(P, "Give at least one tier.");
        return None;
    }
    let mut pct = Vec::new();
    let mut fixed = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let path = format!("{P}[{i}]");
        let Json::Object(t) = t else {
            e.push(&path, "Expected a dictionary of items.");
            return None;
        };
        let t = &nested::<TierBody>(t);
        let threshold = required(t, "threshold", &path, e)?;
        let threshold = if count_thresholds {
            i64::from(parse_count(threshold, &format!("{path}.threshold"), 1, e)?)
        } else {
            money_value(threshold, currency, &format!("{path}.threshold"), e)?
        };
        let value = required(t, "value", &path, e)?;
        if ty == "percentage" {
            match decimal_text(value, 2).map(|s| Percent::parse(&s)) {
                Some(Ok(p)) => pct.push(Tier { threshold, value: p }),
                Some(Err(err)) => {
                    e.push(&format!("{path}.value"), err.to_string());
                    return None;
                }
                None => {
                    e.push(&format!("{path}.value"), "A valid number is required.");
                    return None;
                }
            }
        } else {
            fixed.push(Tier { threshold, value: money_value(value, currency, &format!("{path}.value"), e)? });
        }
    }
    Some(if ty == "percentage" { BenefitKind::PercentageTiers(pct) } else { BenefitKind::FixedTiers(fixed) })
}

/// [`parse_benefit`], with tier thresholds read as unit counts when `count_thresholds`.
pub fn parse_benefit_for(
    v: Option<&Json>,
    currency: Currency,
    count_thresholds: bool,
    e: &mut FieldErrors,
) -> Option<Benefit> {
    const P: &str = "benefit";
    let m = match v {
        None | Some(Json::Null) => {
            e.push(P, "This field is required.");
            return None;
        }
        Some(Json::Object(m)) => nested::<BenefitBody>(m),
        Some(other) => {
            e.push("benefit.non_field_errors", expected_object(other));
            return None;
        }
    };
    let m = &m;
    let ty = choice(m, P, BENEFIT_TYPES, e);
    let range = parse_range(m.get("range"), "benefit.range", e);
    let max_items = match m.get("max_affected_items") {
        None | Some(Json::Null) => Some(None),
        Some(v) => parse_count(v, "benefit.max_affected_items", 1, e).map(Some),
    };
    let tiers = m.get("tiers").filter(|t| !t.is_null());
    let kind = match (ty?, tiers) {
        (t @ ("percentage" | "fixed"), Some(tiers)) => {
            if !matches!(m.get("value"), None | Some(Json::Null)) {
                e.push("benefit.value", "Give either a value or tiers, not both.");
                return None;
            }
            parse_tiers(tiers, t, currency, count_thresholds, e)?
        }
        (t, Some(_)) => {
            e.push("benefit.tiers", format!("A {t} benefit takes no tiers."));
            return None;
        }
        ("percentage", None) => {
            let v = required(m, "value", P, e)?;
            match decimal_text(v, 2).map(|s| Percent::parse(&s)) {
                Some(Ok(p)) => BenefitKind::Percentage(p),
                Some(Err(err)) => {
                    e.push("benefit.value", err.to_string());
                    return None;
                }
                None if v.is_number() => {
                    e.push("benefit.value", INEXACT_NUMBER);
                    return None;
                }
                None => {
                    e.push("benefit.value", "A valid number is required.");
                    return None;
                }
            }
        }
        (t @ ("fixed" | "fixed_per_unit" | "fixed_price"), None) => {
            let m = money_value(required(m, "value", P, e)?, currency, "benefit.value", e)?;
            match t {
                "fixed" => BenefitKind::Fixed(m),
                "fixed_per_unit" => BenefitKind::FixedPerUnit(m),
                _ => BenefitKind::FixedPrice(m),
            }
        }
        ("gift", None) => {
            if !matches!(m.get("value"), None | Some(Json::Null)) {
                e.push("benefit.value", "A gift benefit takes no value (null).");
                return None;
            }
            let g = match m.get("gift") {
                Some(Json::Object(g)) => nested::<GiftBody>(g),
                None | Some(Json::Null) => {
                    e.push("benefit.gift", "This field is required.");
                    return None;
                }
                Some(_) => {
                    e.push("benefit.gift", "Expected a dictionary of items.");
                    return None;
                }
            };
            let sku = match g.get("sku") {
                Some(Json::String(s)) if !s.trim().is_empty() && s.len() <= 255 => s.trim().to_owned(),
                _ => {
                    e.push("benefit.gift.sku", "A product sku is required.");
                    return None;
                }
            };
            let quantity = match g.get("quantity") {
                None | Some(Json::Null) => 1,
                Some(q) => parse_count(q, "benefit.gift.quantity", 1, e)?,
            };
            BenefitKind::Gift { sku, quantity }
        }
        (t, None) => {
            if !matches!(m.get("value"), None | Some(Json::Null)) {
                e.push("benefit.value", format!("A {t} benefit takes no value (null)."));
                return None;
            }
            if t == "multibuy" { BenefitKind::Multibuy } else { BenefitKind::ShippingFree }
        }
    };
    Some(Benefit { kind, max_affected_items: max_items?, range: range? })
}
