//! The dry-run pricing endpoint (`POST /api/v1/pricing/simulate/`, contract §4): a basket of
//! skus priced against the live offers, with every applied offer's per-unit shares and the
//! reason each other offer did not apply. Nothing is written.

use std::collections::{BTreeSet, HashMap};

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use offerline_core::{
    Currency, CustomerId, Line, OfferId, PricingInput, Timestamp, VoucherCode, VoucherFacts, VoucherGrant,
    VoucherRefusal, price, refusal,
};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::auth::Staff;
use crate::docs::{Auth, Routes};
use crate::error::{ApiError, ApiResult};
use crate::promotions::{check_users, json_type, known_currency};
use crate::wire::{Fields, JsonObject};

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
        // The core's rule, in the simulator's words.
        let who = customer.map(CustomerId);
        let mut facts = VoucherFacts {
            usage: v.usage,
            uses: v.uses,
            assigned: v.customers.iter().map(|&c| CustomerId(c)).collect(),
            used_by_customer: false,
        };
        if let Some(c) = facts.history_needed(who) {
            facts.used_by_customer = state.store.voucher_used_by(v.id, c.0).await?;
        }
        let problem = refusal(&facts, who).map(|r| match r {
            VoucherRefusal::NotAssigned => format!("the code {code} is not assigned to this customer"),
            VoucherRefusal::AlreadyUsed => format!("the code {code} has already been used"),
            VoucherRefusal::NeedsCustomer => {
                format!("the code {code} can be used once per customer and needs a customer")
            }
            VoucherRefusal::AlreadyUsedByCustomer => format!("this customer has already used the code {code}"),
        });
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
    Routes::new("promotions", Auth::Staff).add(
        "/api/v1/pricing/simulate/",
        post(simulate),
        &[("post", "Dry-run pricing with the explanation of every offer")],
    )
}
