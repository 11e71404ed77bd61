//! The dry-run pricing endpoint (`POST /api/v1/pricing/simulate/`, contract §4): a basket of
//! skus priced against the live offers, with every applied offer's per-unit shares and the
//! reason each other offer did not apply. Nothing is written.

use axum::Json;
use axum::extract::State;
use offerline_core::{Currency, VoucherCode};
use serde_json::{Map, Value, json};

use offerline_app::simulate::{self, SimLine, Simulation};

use crate::AppState;
use crate::http::auth::Staff;
use crate::http::error::{ApiError, ApiResult};
use crate::http::wire::{Fields, JsonObject};
use crate::omnitron::promotions::{check_users, json_type, known_currency};

// ---------------------------------------------------------------------------------------
// Simulation

/// The most lines and voucher codes one simulation takes (a basket, not a catalogue).
const MAX_LINES: usize = 5_000;
const MAX_CODES: usize = 50;

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

pub(super) async fn simulate(
    _: Staff,
    State(state): State<AppState>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let defaults = simulate::Defaults::load(&state.app).await?;
    let mut f = Fields::new(&body);
    let currency = match body.get("currency") {
        None | Some(Value::Null) => Currency::parse(defaults.currency()).ok(),
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
    let explain = match body.get("explain") {
        None | Some(Value::Null) => simulate::Explain::All,
        Some(v) => match v.as_str().and_then(simulate::Explain::parse) {
            Some(e) => e,
            None => {
                f.error("explain", format!("{v} is not a valid choice: all, basket or none."));
                simulate::Explain::All
            }
        },
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
    let req = simulate::Request { currency: cur, customer, at, codes, lines, explain };
    let sim = simulate::simulate(&state.app, &defaults, req).await?;
    Ok(Json(simulation_json(&sim)))
}

/// The simulate answer for a simulation (also what `offerline price` prints).
pub fn simulation_json(sim: &Simulation) -> Value {
    let (input, p) = (&sim.input, &sim.pricing);
    let cur = input.currency;
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
                "detail": a.detail,
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
    not_applied
        .extend(sim.refused_codes.iter().map(|r| not_applied_json(r.promotion, &r.name, "voucher_invalid", &r.detail)));
    json!({
        "currency": cur.as_str(),
        "total_before_discount": fm(p.total_before_discount),
        "total_discount": fm(p.total_discount),
        "total": fm(p.total),
        "shipping_discount": p.shipping_free,
        "lines": lines_json,
        // Gift lines (contract §10): a `benefit_units` entry whose `line` is
        // `lines.len() + k` is unit `unit` of `gifts[k]`.
        "gifts": p.gifts.iter().map(|g| json!({
            "promotion": g.offer.0, "sku": g.sku, "product": g.product.0, "quantity": g.quantity,
            "unit_price": fm(g.unit_price), "is_gift": true,
        })).collect::<Vec<_>>(),
        "applied": applied,
        "not_applied": not_applied,
    })
}
