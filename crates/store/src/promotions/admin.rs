//! Offers ("promotions") and vouchers: their rows, the JSON definition of an offer's
//! condition and benefit, and the reads pricing needs (every offer as a core
//! [`Offer`], usage so far, a voucher by code).
//!
//! # The definition
//! `promotions.definition` holds `{"condition": {...}, "benefit": {...}}` in the promotions
//! API's own shape, normalised on the way in (money as decimal strings in the offer's
//! currency, percentages as plain decimals, counts as numbers, a missing range as
//! `{"all": true}`). [`parse_condition`] / [`parse_benefit`] are the one parser of that
//! shape: the API uses them to validate a request (collecting field errors keyed by API
//! paths such as `benefit.value`), and [`Store::load_offers`] uses them to turn stored rows
//! into engine offers, so what was accepted is exactly what is priced.
//!
//! # Deleting
//! Deleting is soft (`deleted = 1`): discount items of past orders keep pointing at the
//! promotion, and [`Store::promotions_by_ids`] still renders it. Deleted promotions are not
//! listed, not priced, and their vouchers are not found by code.

use std::collections::{BTreeSet, HashMap, HashSet};

use offerline_core::{
    Benefit, BenefitKind, Condition, ConditionKind, Currency, CustomerId, FieldErrors, Offer, OfferId, OfferKind,
    OfferUsage, Percent, ProductId, Range, Timestamp, UsageSnapshot, VoucherCode, parse_minor,
};
use rand::Rng;
use serde_json::{Map, Value as Json, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::list::{ListQuery, in_id_order, placeholders};
use crate::{Result, Store, StoreError, is_unique_violation, now_micros};

/// A promotion row with its customers.
#[derive(Debug, Clone, PartialEq)]
pub struct Promotion {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub label: String,
    /// `site`, `coupon`, `coupon_code` or `voucher_code`.
    pub offer_type: String,
    pub currency: String,
    pub start_at: Option<i64>,
    pub end_at: Option<i64>,
    pub priority: i64,
    pub exclusive: bool,
    pub is_active: bool,
    /// `{"condition": {...}, "benefit": {...}}`, normalised (see the module docs).
    pub definition: Json,
    pub max_basket_applications: Option<i64>,
    pub max_user_applications: Option<i64>,
    pub max_global_applications: Option<i64>,
    /// Minor units of `currency`.
    pub max_discount: Option<i64>,
    /// User pks, ascending.
    pub customers: Vec<i64>,
    pub deleted: bool,
    pub created_at: i64,
    pub modified_at: i64,
}

/// Everything a promotion is made of besides its id and stamps: what create and update
/// write (an update replaces every field; the API merges a PATCH first).
#[derive(Debug, Clone, PartialEq)]
pub struct PromotionInput {
    pub name: String,
    pub slug: String,
    pub label: String,
    pub offer_type: String,
    pub currency: String,
    pub start_at: Option<i64>,
    pub end_at: Option<i64>,
    pub priority: i64,
    pub exclusive: bool,
    pub is_active: bool,
    pub definition: Json,
    pub max_basket_applications: Option<i64>,
    pub max_user_applications: Option<i64>,
    pub max_global_applications: Option<i64>,
    pub max_discount: Option<i64>,
    pub customers: Vec<i64>,
}

/// A voucher code bound to a promotion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voucher {
    pub id: i64,
    /// Upper case (see [`VoucherCode`]).
    pub code: String,
    pub promotion_id: i64,
    /// `single_use`, `multi_use` or `once_per_customer`.
    pub usage: String,
    /// Orders that used it so far.
    pub uses: i64,
    /// When non-empty, only these users may use it.
    pub customers: Vec<i64>,
    pub created_at: i64,
    pub modified_at: i64,
}

pub const VOUCHER_USAGES: &[&str] = &["single_use", "multi_use", "once_per_customer"];
pub const OFFER_TYPES: &[&str] = &["site", "coupon", "coupon_code", "voucher_code"];
pub const CONDITION_TYPES: &[&str] = &["amount", "count", "coverage", "none"];
pub const BENEFIT_TYPES: &[&str] =
    &["percentage", "fixed", "fixed_per_unit", "fixed_price", "multibuy", "shipping_free"];

/// The most codes one `generate_vouchers` call makes.
pub const MAX_GENERATED_CODES: usize = 10_000;
/// The alphabet of generated codes: upper-case letters and digits without the look-alikes
/// 0/O and 1/I, so a code read aloud or off paper is typed right.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

pub fn offer_kind(s: &str) -> Option<OfferKind> {
    Some(match s {
        "site" => OfferKind::Site,
        "coupon" => OfferKind::Coupon,
        "coupon_code" => OfferKind::CouponCode,
        "voucher_code" => OfferKind::VoucherCode,
        _ => return None,
    })
}

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

/// A decimal given as a JSON string or number, as text.
fn decimal_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.trim().to_owned()),
        Json::Number(n) => Some(n.to_string()),
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

/// Parses a `RANGE` (see the contract); a missing or null range is every product. Returns
/// the range and its normalised JSON.
pub fn parse_range(v: Option<&Json>, path: &str, e: &mut FieldErrors) -> Option<(Range, Json)> {
    let m = match v {
        None | Some(Json::Null) => return Some((Range::all(), json!({"all": true}))),
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
    Some((r.clone(), range_json(&r)))
}

/// The normalised JSON of a range: only the keys that say something.
pub fn range_json(r: &Range) -> Json {
    let mut out = Map::new();
    if r.all {
        out.insert("all".into(), Json::Bool(true));
    }
    if !r.skus.is_empty() {
        out.insert("skus".into(), json!(r.skus));
    }
    if !r.products.is_empty() {
        out.insert("products".into(), json!(r.products.iter().map(|p| p.0).collect::<Vec<_>>()));
    }
    if !r.attributes.is_empty() {
        out.insert("attributes".into(), json!(r.attributes));
    }
    if !r.excluded_skus.is_empty() {
        out.insert("excluded_skus".into(), json!(r.excluded_skus));
    }
    if out.is_empty() {
        // An empty range stays visibly empty (validation refuses it anyway).
        out.insert("all".into(), Json::Bool(false));
    }
    Json::Object(out)
}

fn choice<'a>(m: &'a Map<String, Json>, path: &str, choices: &[&str], e: &mut FieldErrors) -> Option<&'a str> {
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

fn required<'a>(m: &'a Map<String, Json>, key: &str, path: &str, e: &mut FieldErrors) -> Option<&'a Json> {
    match m.get(key) {
        None | Some(Json::Null) => {
            e.push(&sub(path, key), "This field is required.");
            None
        }
        Some(v) => Some(v),
    }
}

fn money_value(v: &Json, currency: Currency, path: &str, e: &mut FieldErrors) -> Option<i64> {
    match decimal_text(v).map(|s| parse_minor(&s, currency.minor_digits())) {
        Some(Ok(m)) => Some(m),
        Some(Err(err)) => {
            e.push(path, err.to_string());
            None
        }
        None => {
            e.push(path, "A valid number is required.");
            None
        }
    }
}

/// Parses a condition (`{"type", "value", "range"}`); a missing condition is `none`.
/// Returns the condition and its normalised JSON.
pub fn parse_condition(v: Option<&Json>, currency: Currency, e: &mut FieldErrors) -> Option<(Condition, Json)> {
    const P: &str = "condition";
    let m = match v {
        None | Some(Json::Null) => {
            return Some((Condition::none(), json!({"type": "none", "value": null, "range": {"all": true}})));
        }
        Some(Json::Object(m)) => m,
        Some(other) => {
            e.push("condition.non_field_errors", expected_object(other));
            return None;
        }
    };
    let ty = choice(m, P, CONDITION_TYPES, e);
    let range = parse_range(m.get("range"), "condition.range", e);
    let (kind, value) = match ty? {
        "none" => {
            if !matches!(m.get("value"), None | Some(Json::Null)) {
                e.push("condition.value", "A none condition takes no value (null).");
                return None;
            }
            (ConditionKind::None, Json::Null)
        }
        "amount" => {
            let m = money_value(required(m, "value", P, e)?, currency, "condition.value", e)?;
            (ConditionKind::Amount(m), Json::String(currency.format(m)))
        }
        t => {
            let n = parse_count(required(m, "value", P, e)?, "condition.value", 0, e)?;
            let kind = if t == "count" { ConditionKind::Count(n) } else { ConditionKind::Coverage(n) };
            (kind, json!(n))
        }
    };
    let (range, range_json) = range?;
    Some((Condition { kind, range }, json!({"type": ty?, "value": value, "range": range_json})))
}

/// Parses a benefit (`{"type", "value", "max_affected_items", "range"}`). Returns the
/// benefit and its normalised JSON.
pub fn parse_benefit(v: Option<&Json>, currency: Currency, e: &mut FieldErrors) -> Option<(Benefit, Json)> {
    const P: &str = "benefit";
    let m = match v {
        None | Some(Json::Null) => {
            e.push(P, "This field is required.");
            return None;
        }
        Some(Json::Object(m)) => m,
        Some(other) => {
            e.push("benefit.non_field_errors", expected_object(other));
            return None;
        }
    };
    let ty = choice(m, P, BENEFIT_TYPES, e);
    let range = parse_range(m.get("range"), "benefit.range", e);
    let max_items = match m.get("max_affected_items") {
        None | Some(Json::Null) => Some(None),
        Some(v) => parse_count(v, "benefit.max_affected_items", 1, e).map(Some),
    };
    let (kind, value) = match ty? {
        "percentage" => {
            let v = required(m, "value", P, e)?;
            match decimal_text(v).map(|s| Percent::parse(&s)) {
                Some(Ok(p)) => (BenefitKind::Percentage(p), Json::String(p.to_string())),
                Some(Err(err)) => {
                    e.push("benefit.value", err.to_string());
                    return None;
                }
                None => {
                    e.push("benefit.value", "A valid number is required.");
                    return None;
                }
            }
        }
        t @ ("fixed" | "fixed_per_unit" | "fixed_price") => {
            let m = money_value(required(m, "value", P, e)?, currency, "benefit.value", e)?;
            let kind = match t {
                "fixed" => BenefitKind::Fixed(m),
                "fixed_per_unit" => BenefitKind::FixedPerUnit(m),
                _ => BenefitKind::FixedPrice(m),
            };
            (kind, Json::String(currency.format(m)))
        }
        t => {
            if !matches!(m.get("value"), None | Some(Json::Null)) {
                e.push("benefit.value", format!("A {t} benefit takes no value (null)."));
                return None;
            }
            let kind = if t == "multibuy" { BenefitKind::Multibuy } else { BenefitKind::ShippingFree };
            (kind, Json::Null)
        }
    };
    let max_affected_items = max_items?;
    let (range, range_json) = range?;
    Some((
        Benefit { kind, max_affected_items, range },
        json!({"type": ty?, "value": value, "max_affected_items": max_affected_items, "range": range_json}),
    ))
}

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

impl PromotionInput {
    /// The engine's offer for this input (with `id`), or every field error, keyed by API
    /// paths (`benefit.value`, `end_datetime`, …): the parse errors of the definition and
    /// then [`Offer::field_errors`].
    pub fn to_offer(&self, id: i64) -> std::result::Result<Offer, FieldErrors> {
        let mut e = FieldErrors::default();
        let kind = offer_kind(&self.offer_type);
        if kind.is_none() {
            e.push("offer_type", format!("\"{}\" is not a valid choice.", self.offer_type));
        }
        let currency = Currency::parse(&self.currency);
        if currency.is_err() {
            e.push("currency", format!("\"{}\" is not a valid choice.", self.currency));
        }
        let cur = match &currency {
            Ok(c) => *c,
            Err(_) => Currency::parse("try").map_err(|_| e.clone())?,
        };
        let condition = parse_condition(self.definition.get("condition"), cur, &mut e);
        let benefit = parse_benefit(self.definition.get("benefit"), cur, &mut e);
        let priority = match i32::try_from(self.priority) {
            Ok(p) => p,
            Err(_) => {
                e.push("priority", "Ensure this value is between -2147483648 and 2147483647.");
                0
            }
        };
        let max_basket = limit(self.max_basket_applications, "max_basket_applications", &mut e);
        let max_user = limit(self.max_user_applications, "max_user_applications", &mut e);
        let max_global = limit(self.max_global_applications, "max_global_applications", &mut e);
        let (Some(kind), Ok(currency), Some((condition, _)), Some((benefit, _)), true) =
            (kind, currency, condition, benefit, e.is_empty())
        else {
            return Err(e);
        };
        let offer = Offer {
            id: OfferId(id),
            name: self.name.clone(),
            kind,
            currency,
            start: self.start_at.map(Timestamp),
            end: self.end_at.map(Timestamp),
            priority,
            exclusive: self.exclusive,
            active: self.is_active,
            condition,
            benefit,
            max_basket_applications: max_basket,
            max_user_applications: max_user,
            max_global_applications: max_global,
            max_discount: self.max_discount,
            customers: self.customers.iter().map(|c| CustomerId(*c)).collect(),
        };
        let e = offer.field_errors();
        if e.is_empty() { Ok(offer) } else { Err(e) }
    }
}

impl Promotion {
    /// The fields of this promotion as an input (for a PATCH merge or [`Self::to_offer`]).
    pub fn input(&self) -> PromotionInput {
        PromotionInput {
            name: self.name.clone(),
            slug: self.slug.clone(),
            label: self.label.clone(),
            offer_type: self.offer_type.clone(),
            currency: self.currency.clone(),
            start_at: self.start_at,
            end_at: self.end_at,
            priority: self.priority,
            exclusive: self.exclusive,
            is_active: self.is_active,
            definition: self.definition.clone(),
            max_basket_applications: self.max_basket_applications,
            max_user_applications: self.max_user_applications,
            max_global_applications: self.max_global_applications,
            max_discount: self.max_discount,
            customers: self.customers.clone(),
        }
    }

    pub fn to_offer(&self) -> std::result::Result<Offer, FieldErrors> {
        self.input().to_offer(self.id)
    }
}

const PROMO_COLS: &str = "id, name, slug, label, offer_type, currency, start_at, end_at, priority, exclusive, \
     is_active, definition, max_basket_applications, max_user_applications, max_global_applications, max_discount, \
     deleted, created_at, modified_at";

const VOUCHER_COLS: &str = "id, code, promotion_id, usage, uses, created_at, modified_at";

fn promotion_from_row(r: &AnyRow) -> Result<Promotion> {
    let definition: String = r.try_get("definition")?;
    Ok(Promotion {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        slug: r.try_get("slug")?,
        label: r.try_get("label")?,
        offer_type: r.try_get("offer_type")?,
        currency: r.try_get("currency")?,
        start_at: r.try_get("start_at")?,
        end_at: r.try_get("end_at")?,
        priority: r.try_get("priority")?,
        exclusive: r.try_get::<i64, _>("exclusive")? != 0,
        is_active: r.try_get::<i64, _>("is_active")? != 0,
        definition: serde_json::from_str(&definition).unwrap_or(Json::Null),
        max_basket_applications: r.try_get("max_basket_applications")?,
        max_user_applications: r.try_get("max_user_applications")?,
        max_global_applications: r.try_get("max_global_applications")?,
        max_discount: r.try_get("max_discount")?,
        customers: Vec::new(),
        deleted: r.try_get::<i64, _>("deleted")? != 0,
        created_at: r.try_get("created_at")?,
        modified_at: r.try_get("modified_at")?,
    })
}

fn voucher_from_row(r: &AnyRow) -> Result<Voucher> {
    Ok(Voucher {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        promotion_id: r.try_get("promotion_id")?,
        usage: r.try_get("usage")?,
        uses: r.try_get("uses")?,
        customers: Vec::new(),
        created_at: r.try_get("created_at")?,
        modified_at: r.try_get("modified_at")?,
    })
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

async fn insert_links(tx: &mut Tx, table: &str, owner_col: &str, owner: i64, users: &[i64]) -> Result<()> {
    let users: BTreeSet<i64> = users.iter().copied().collect();
    let users: Vec<i64> = users.into_iter().collect();
    for chunk in users.chunks(400) {
        let values: Vec<String> = (0..chunk.len()).map(|i| format!("($1, ${})", i + 2)).collect();
        let sql = format!("INSERT INTO {table} ({owner_col}, user_id) VALUES {}", values.join(", "));
        bind_all!(sqlx::query(&sql).bind(owner), chunk).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Random codes: `prefix` and `length` characters of [`CODE_ALPHABET`].
fn random_code(prefix: &str, length: usize) -> String {
    let mut rng = rand::thread_rng();
    let mut s = String::with_capacity(prefix.len() + length);
    s.push_str(prefix);
    for _ in 0..length {
        s.push(CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char);
    }
    s
}

impl Store {
    /// The users among `ids` that do not exist (one query per 500 ids).
    pub async fn missing_users(&self, ids: &[i64]) -> Result<Vec<i64>> {
        let mut found: HashSet<i64> = HashSet::with_capacity(ids.len());
        // Chunks keep every query under both engines' bound-parameter limits.
        for chunk in ids.chunks(500) {
            let sql = format!("SELECT id FROM users WHERE id IN ({})", placeholders(0, chunk.len()));
            for r in self.fetch_in(sql, chunk).await? {
                found.insert(r.try_get::<i64, _>(0)?);
            }
        }
        let mut missing: Vec<i64> = ids.iter().copied().filter(|i| !found.contains(i)).collect();
        missing.dedup();
        Ok(missing)
    }

    pub async fn create_promotion(&self, p: &PromotionInput) -> Result<Promotion> {
        let now = now_micros();
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO promotions (name, slug, label, offer_type, currency, start_at, end_at, priority, exclusive, \
             is_active, definition, max_basket_applications, max_user_applications, max_global_applications, \
             max_discount, deleted, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0, $16, $16) RETURNING id",
        )
        .bind(&p.name)
        .bind(&p.slug)
        .bind(&p.label)
        .bind(&p.offer_type)
        .bind(&p.currency)
        .bind(p.start_at)
        .bind(p.end_at)
        .bind(p.priority)
        .bind(i64::from(p.exclusive))
        .bind(i64::from(p.is_active))
        .bind(p.definition.to_string())
        .bind(p.max_basket_applications)
        .bind(p.max_user_applications)
        .bind(p.max_global_applications)
        .bind(p.max_discount)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        insert_links(&mut tx, "promotion_customers", "promotion_id", id, &p.customers).await?;
        tx.commit().await?;
        self.promotion(id).await
    }

    /// Replaces every field of a (not deleted) promotion.
    pub async fn update_promotion(&self, id: i64, p: &PromotionInput) -> Result<Promotion> {
        let now = now_micros();
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE promotions SET name = $1, slug = $2, label = $3, offer_type = $4, currency = $5, start_at = $6, \
             end_at = $7, priority = $8, exclusive = $9, is_active = $10, definition = $11, \
             max_basket_applications = $12, max_user_applications = $13, max_global_applications = $14, \
             max_discount = $15, modified_at = $16 WHERE id = $17 AND deleted = 0",
        )
        .bind(&p.name)
        .bind(&p.slug)
        .bind(&p.label)
        .bind(&p.offer_type)
        .bind(&p.currency)
        .bind(p.start_at)
        .bind(p.end_at)
        .bind(p.priority)
        .bind(i64::from(p.exclusive))
        .bind(i64::from(p.is_active))
        .bind(p.definition.to_string())
        .bind(p.max_basket_applications)
        .bind(p.max_user_applications)
        .bind(p.max_global_applications)
        .bind(p.max_discount)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM promotion_customers WHERE promotion_id = $1").bind(id).execute(&mut *tx).await?;
        insert_links(&mut tx, "promotion_customers", "promotion_id", id, &p.customers).await?;
        tx.commit().await?;
        self.promotion(id).await
    }

    /// Soft delete: the row stays for the ledger, the offer stops applying.
    pub async fn delete_promotion(&self, id: i64) -> Result<()> {
        let done = sqlx::query("UPDATE promotions SET deleted = 1, modified_at = $1 WHERE id = $2 AND deleted = 0")
            .bind(now_micros())
            .bind(id)
            .execute(self.writer())
            .await?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// A promotion that is not deleted.
    pub async fn promotion(&self, id: i64) -> Result<Promotion> {
        match self.promotions_by_ids(&[id]).await?.pop() {
            Some(p) if !p.deleted => Ok(p),
            _ => Err(StoreError::NotFound),
        }
    }

    /// Promotions with their customers, in the order of `ids`, deleted ones included (views
    /// of past orders render them). Two queries.
    pub async fn promotions_by_ids(&self, ids: &[i64]) -> Result<Vec<Promotion>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ph = placeholders(0, ids.len());
        let rows = self.fetch_in(format!("SELECT {PROMO_COLS} FROM promotions WHERE id IN ({ph})"), ids).await?;
        let mut promos = rows.iter().map(promotion_from_row).collect::<Result<Vec<_>>>()?;
        let links = self
            .fetch_in(
                format!(
                    "SELECT promotion_id, user_id FROM promotion_customers WHERE promotion_id IN ({ph}) \
                     ORDER BY promotion_id, user_id"
                ),
                ids,
            )
            .await?;
        let mut by_promo: HashMap<i64, Vec<i64>> = HashMap::new();
        for r in &links {
            by_promo.entry(r.try_get(0)?).or_default().push(r.try_get(1)?);
        }
        for p in &mut promos {
            p.customers = by_promo.remove(&p.id).unwrap_or_default();
        }
        Ok(in_id_order(ids, promos, |p| p.id))
    }

    /// Lists promotions; the caller adds `deleted = 0` to hide deleted ones.
    pub async fn list_promotions(&self, q: &ListQuery) -> Result<(i64, Vec<Promotion>)> {
        let (count, ids) = self.list_ids("promotions", q).await?;
        Ok((count, self.promotions_by_ids(&ids).await?))
    }

    /// Every promotion that is not deleted, as an engine offer (inactive ones included: the
    /// engine ignores them, and the index still finds them by id). A stored definition the
    /// parser refuses — impossible through the API — is logged and skipped, never priced.
    /// Two queries.
    pub async fn load_offers(&self) -> Result<Vec<Offer>> {
        let rows = sqlx::query(&format!("SELECT {PROMO_COLS} FROM promotions WHERE deleted = 0 ORDER BY id"))
            .fetch_all(self.reader())
            .await?;
        let links = sqlx::query(
            "SELECT pc.promotion_id, pc.user_id FROM promotion_customers pc \
             JOIN promotions p ON p.id = pc.promotion_id WHERE p.deleted = 0",
        )
        .fetch_all(self.reader())
        .await?;
        let mut by_promo: HashMap<i64, Vec<i64>> = HashMap::new();
        for r in &links {
            by_promo.entry(r.try_get(0)?).or_default().push(r.try_get(1)?);
        }
        let mut offers = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut p = promotion_from_row(r)?;
            p.customers = by_promo.remove(&p.id).unwrap_or_default();
            match p.to_offer() {
                Ok(o) => offers.push(o),
                Err(e) => tracing::warn!(promotion = p.id, errors = %e, "stored promotion is invalid; not priced"),
            }
        }
        Ok(offers)
    }

    /// `(MAX(modified_at), COUNT(*))` of promotions: changes whenever a promotion is
    /// created, updated or deleted (a cheap change detector for caches).
    pub async fn promotions_stamp(&self) -> Result<(Option<i64>, i64)> {
        let r = sqlx::query("SELECT MAX(modified_at), COUNT(*) FROM promotions").fetch_one(self.reader()).await?;
        Ok((r.try_get(0)?, r.try_get(1)?))
    }

    /// Usage of every offer so far; with a customer, also that customer's applications.
    pub async fn usage_snapshot(&self, customer: Option<i64>) -> Result<UsageSnapshot> {
        let mut snap = UsageSnapshot::default();
        let rows = sqlx::query("SELECT promotion_id, applications, discount_spent FROM offer_usage")
            .fetch_all(self.reader())
            .await?;
        for r in &rows {
            let id: i64 = r.try_get(0)?;
            let apps: i64 = r.try_get(1)?;
            let spent: i64 = r.try_get(2)?;
            snap.set(
                OfferId(id),
                OfferUsage { global_applications: apps.max(0) as u64, customer_applications: 0, discount_spent: spent },
            );
        }
        if let Some(c) = customer {
            let rows = sqlx::query("SELECT promotion_id, applications FROM offer_customer_usage WHERE user_id = $1")
                .bind(c)
                .fetch_all(self.reader())
                .await?;
            for r in &rows {
                let id = OfferId(r.try_get(0)?);
                let apps: i64 = r.try_get(1)?;
                let mut u = snap.get(id);
                u.customer_applications = apps.max(0) as u64;
                snap.set(id, u);
            }
        }
        Ok(snap)
    }

    /// Coupon and coupon_code offers listing this customer, and code offers with a voucher
    /// assigned to them; not deleted, any window, by id.
    pub async fn offers_for_customer(&self, customer: i64) -> Result<Vec<Promotion>> {
        let rows = sqlx::query(
            "SELECT p.id FROM promotions p WHERE p.deleted = 0 AND ( \
               (p.offer_type IN ('coupon', 'coupon_code') AND EXISTS ( \
                  SELECT 1 FROM promotion_customers pc WHERE pc.promotion_id = p.id AND pc.user_id = $1)) \
               OR (p.offer_type IN ('voucher_code', 'coupon_code') AND EXISTS ( \
                  SELECT 1 FROM vouchers v JOIN voucher_customers vc ON vc.voucher_id = v.id \
                  WHERE v.promotion_id = p.id AND vc.user_id = $1))) \
             ORDER BY p.id",
        )
        .bind(customer)
        .fetch_all(self.reader())
        .await?;
        let ids = rows.iter().map(|r| r.try_get::<i64, _>(0)).collect::<Result<Vec<_>, _>>()?;
        self.promotions_by_ids(&ids).await
    }

    /// Creates a voucher. A code that exists → `Conflict` on `code`.
    pub async fn create_voucher(
        &self,
        code: &VoucherCode,
        promotion_id: i64,
        usage: &str,
        customers: &[i64],
    ) -> Result<Voucher> {
        let now = now_micros();
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO vouchers (code, promotion_id, usage, uses, created_at, modified_at) \
             VALUES ($1, $2, $3, 0, $4, $4) RETURNING id",
        )
        .bind(code.as_str())
        .bind(promotion_id)
        .bind(usage)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict { field: "code", message: "voucher with this code already exists.".into() }
            } else {
                e.into()
            }
        })?
        .try_get(0)?;
        insert_links(&mut tx, "voucher_customers", "voucher_id", id, customers).await?;
        tx.commit().await?;
        self.vouchers_by_ids(&[id]).await?.pop().ok_or(StoreError::NotFound)
    }

    /// Vouchers with their customers, in the order of `ids` (two queries).
    pub async fn vouchers_by_ids(&self, ids: &[i64]) -> Result<Vec<Voucher>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ph = placeholders(0, ids.len());
        let rows = self.fetch_in(format!("SELECT {VOUCHER_COLS} FROM vouchers WHERE id IN ({ph})"), ids).await?;
        let mut vouchers = rows.iter().map(voucher_from_row).collect::<Result<Vec<_>>>()?;
        let links = self
            .fetch_in(
                format!(
                    "SELECT voucher_id, user_id FROM voucher_customers WHERE voucher_id IN ({ph}) ORDER BY voucher_id, user_id"
                ),
                ids,
            )
            .await?;
        let mut by_voucher: HashMap<i64, Vec<i64>> = HashMap::new();
        for r in &links {
            by_voucher.entry(r.try_get(0)?).or_default().push(r.try_get(1)?);
        }
        for v in &mut vouchers {
            v.customers = by_voucher.remove(&v.id).unwrap_or_default();
        }
        Ok(in_id_order(ids, vouchers, |v| v.id))
    }

    pub async fn list_vouchers(&self, q: &ListQuery) -> Result<(i64, Vec<Voucher>)> {
        let (count, ids) = self.list_ids("vouchers", q).await?;
        Ok((count, self.vouchers_by_ids(&ids).await?))
    }

    /// The voucher with this code (normalised with [`VoucherCode::parse`], so any case
    /// matches), unless its promotion is deleted. A malformed code is simply not found.
    pub async fn voucher_by_code(&self, code: &str) -> Result<Option<Voucher>> {
        let Ok(code) = VoucherCode::parse(code) else { return Ok(None) };
        let row = sqlx::query(
            "SELECT v.id FROM vouchers v JOIN promotions p ON p.id = v.promotion_id WHERE v.code = $1 AND p.deleted = 0",
        )
        .bind(code.as_str())
        .fetch_optional(self.reader())
        .await?;
        match row {
            Some(r) => Ok(self.vouchers_by_ids(&[r.try_get(0)?]).await?.pop()),
            None => Ok(None),
        }
    }

    /// Whether this user has an order that used this voucher.
    pub async fn voucher_used_by(&self, voucher_id: i64, user_id: i64) -> Result<bool> {
        let row = sqlx::query("SELECT 1 FROM voucher_applications WHERE voucher_id = $1 AND user_id = $2 LIMIT 1")
            .bind(voucher_id)
            .bind(user_id)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.is_some())
    }

    /// Creates `count` (at most [`MAX_GENERATED_CODES`]) vouchers with fresh random codes
    /// `prefix` + `length` characters, in one transaction: all or none. A code that
    /// collides with an existing one (or a racing writer's) is skipped by
    /// `ON CONFLICT DO NOTHING` and replaced by a new random code. Returns the codes in
    /// creation order.
    pub async fn generate_vouchers(
        &self,
        promotion_id: i64,
        count: usize,
        prefix: &str,
        length: usize,
        usage: &str,
    ) -> Result<Vec<String>> {
        if count == 0 || count > MAX_GENERATED_CODES {
            return Err(StoreError::Invalid(format!("count must be between 1 and {MAX_GENERATED_CODES}")));
        }
        // A code space under 10× the request would make collisions (and retries) common.
        let space = (CODE_ALPHABET.len() as f64).powi(length.min(64) as i32);
        if space < (count as f64) * 10.0 {
            return Err(StoreError::Invalid(format!("length {length} is too short for {count} unique codes")));
        }
        let now = now_micros();
        let mut tx = self.begin().await?;
        let mut made: Vec<String> = Vec::with_capacity(count);
        let mut tried: HashSet<String> = HashSet::with_capacity(count * 2);
        for _round in 0..20 {
            let missing = count - made.len();
            if missing == 0 {
                break;
            }
            let mut batch = Vec::with_capacity(missing);
            while batch.len() < missing {
                let c = random_code(prefix, length);
                if tried.insert(c.clone()) {
                    batch.push(c);
                }
            }
            for chunk in batch.chunks(400) {
                let values: Vec<String> =
                    (0..chunk.len()).map(|i| format!("(${}, $1, $2, 0, $3, $3)", i + 4)).collect();
                let sql = format!(
                    "INSERT INTO vouchers (code, promotion_id, usage, uses, created_at, modified_at) VALUES {} \
                     ON CONFLICT (code) DO NOTHING RETURNING code",
                    values.join(", ")
                );
                let mut q = sqlx::query(&sql).bind(promotion_id).bind(usage).bind(now);
                for c in chunk {
                    q = q.bind(c.as_str());
                }
                let rows = q.fetch_all(&mut *tx).await?;
                let inserted: HashSet<String> =
                    rows.iter().map(|r| r.try_get::<String, _>(0)).collect::<Result<_, _>>()?;
                made.extend(chunk.iter().filter(|c| inserted.contains(*c)).cloned());
            }
        }
        if made.len() != count {
            return Err(StoreError::Invalid("could not find enough unused codes; use a longer length".into()));
        }
        tx.commit().await?;
        Ok(made)
    }

    /// The products with these skus (unknown skus are simply absent); three queries per
    /// 500 skus.
    pub async fn products_by_skus(&self, skus: &[String]) -> Result<Vec<crate::catalog::Product>> {
        let skus: Vec<&str> = skus.iter().map(String::as_str).collect::<BTreeSet<_>>().into_iter().collect();
        if skus.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(skus.len());
        // Chunks keep every query under both engines' bound-parameter limits.
        for chunk in skus.chunks(500) {
            let sql = format!("SELECT id FROM products WHERE sku IN ({})", placeholders(0, chunk.len()));
            let rows = bind_all!(sqlx::query(&sql), chunk).fetch_all(self.reader()).await?;
            let ids = rows.iter().map(|r| r.try_get::<i64, _>(0)).collect::<Result<Vec<_>, _>>()?;
            out.extend(self.products_by_ids(&ids).await?);
        }
        Ok(out)
    }

    /// Tells other nodes that offers changed (PostgreSQL `NOTIFY offerline_offers`; a
    /// no-op on SQLite, where caches poll [`Store::promotions_stamp`]).
    pub async fn notify_offers_changed(&self) -> Result<()> {
        if self.backend() == crate::Backend::Postgres {
            sqlx::query("NOTIFY offerline_offers").execute(self.writer()).await?;
        }
        Ok(())
    }
}
