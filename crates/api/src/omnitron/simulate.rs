//! The dry-run pricing endpoint (`POST /api/v1/pricing/simulate/`, contract §4): a basket of
//! skus priced against the live offers, with every applied offer's per-unit shares and the
//! reason each other offer did not apply. Nothing is written.

use axum::Extension;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use offerline_core::{Currency, VoucherCode};
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use offerline_app::simulate::{self, SimLine, Simulation};

use crate::AppState;
use crate::http::auth::Staff;
use crate::http::cache::ReadOnly;
use crate::http::error::{ApiError, ApiResult};
use crate::http::wire::{Amount, Body, Fields, Fieldset, typed};
use crate::omnitron::promotions::{check_users, json_type, known_currency};
use crate::omnitron::wire::{SimulateBody, SimulateLine};

// ---------------------------------------------------------------------------------------
// Simulation

/// The most lines and voucher codes one simulation takes (a basket, not a catalogue).
const MAX_LINES: usize = 5_000;
const MAX_CODES: usize = 50;

/// Reads the body's `lines` (taken out of it: each line is read as its wire type without a
/// copy).
fn sim_lines(lines: Option<Value>, cur: Currency, errors: &mut Map<String, Value>) -> ApiResult<Vec<SimLine>> {
    let items = match lines {
        None | Some(Value::Null) => {
            errors.insert("lines".into(), json!(["This field is required."]));
            return Ok(Vec::new());
        }
        Some(Value::Array(a)) if a.len() > MAX_LINES => {
            errors.insert("lines".into(), json!([format!("Ensure this field has no more than {MAX_LINES} elements.")]));
            return Ok(Vec::new());
        }
        Some(Value::Array(a)) => a,
        Some(other) => {
            errors.insert(
                "lines".into(),
                json!([format!("Expected a list of items but got type \"{}\".", json_type(&other))]),
            );
            return Ok(Vec::new());
        }
    };
    let mut out = Vec::with_capacity(items.len());
    let mut line_errors = Vec::with_capacity(items.len());
    for item in items {
        let Value::Object(m) = item else {
            line_errors.push(json!({"non_field_errors": [format!(
                "Invalid data. Expected a dictionary, but got {}.", json_type(&item))]}));
            continue;
        };
        let line: SimulateLine = typed(m)?;
        let mut f = Fields::new(&line);
        let sku = f.req_str("sku", 128);
        let quantity = match line.get("quantity") {
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
    Ok(out)
}

pub(super) async fn simulate(
    _: Staff,
    State(state): State<AppState>,
    Body(mut body): Body<SimulateBody>,
) -> ApiResult<Response> {
    let lines = body.lines.take();
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
    let lines = sim_lines(lines, cur, &mut errors)?;
    if let Some(c) = customer {
        check_users(&state, "customer", &[c], &mut errors).await?;
    }
    if !errors.is_empty() {
        return Err(ApiError::Fields(errors));
    }
    let req = simulate::Request { currency: cur, customer, at, codes, lines, explain };
    let sim = simulate::simulate(&state.app, &defaults, req).await?;
    let body = answer_body(&sim).map_err(|e| ApiError::Internal(e.to_string()))?;
    // Nothing was written: the data generation stays, and the caches with it.
    Ok(([(header::CONTENT_TYPE, "application/json")], Extension(ReadOnly), body).into_response())
}

/// The simulate answer (contract §4 and §10), borrowed from a [`Simulation`] and written
/// straight into the response body: a large basket against thousands of offers answers
/// hundreds of kilobytes, and building it as a `Value` tree first cost more than pricing it.
/// The field order is the wire order.
#[derive(Debug, Serialize, ToSchema)]
pub struct SimulationAnswer<'a> {
    /// The currency the basket was priced in (`"try"`).
    #[schema(value_type = String)]
    pub currency: &'a str,
    pub total_before_discount: Amount,
    pub total_discount: Amount,
    pub total: Amount,
    /// Whether an offer made shipping free.
    pub shipping_discount: bool,
    /// The requested lines in order, with each unit's discount and net amount.
    pub lines: Vec<SimulatedLine<'a>>,
    /// Gift lines (contract §10): a `benefit_units` entry whose `line` is `lines.len() + k`
    /// is unit `unit` of `gifts[k]`.
    pub gifts: Vec<SimulatedGift<'a>>,
    /// The offers that applied, in the order they applied.
    pub applied: Vec<SimulatedApplied<'a>>,
    /// Every other offer asked about (see `explain`), with the reason it did not apply.
    pub not_applied: Vec<SimulatedNotApplied<'a>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimulatedLine<'a> {
    #[schema(value_type = String)]
    pub sku: &'a str,
    pub quantity: u32,
    pub unit_price: Amount,
    pub discount: Amount,
    pub net_amount: Amount,
    pub units: Vec<SimulatedUnit>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimulatedUnit {
    pub discount: Amount,
    pub net_amount: Amount,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimulatedGift<'a> {
    pub promotion: i64,
    #[schema(value_type = String)]
    pub sku: &'a str,
    pub product: i64,
    pub quantity: u32,
    pub unit_price: Amount,
    pub is_gift: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimulatedApplied<'a> {
    pub promotion: i64,
    #[schema(value_type = String)]
    pub name: &'a str,
    pub amount: Amount,
    /// The voucher code that granted the offer, if one did.
    #[schema(value_type = Option<String>)]
    pub code: Option<&'a str>,
    /// What the offer did, when it says more than its amount (a tier reached, say).
    #[schema(value_type = Option<String>)]
    pub detail: Option<&'a str>,
    pub benefit_units: Vec<BenefitUnit>,
    pub condition_units: Vec<ConditionUnit>,
}

/// A unit's share of an applied offer's amount.
#[derive(Debug, Serialize, ToSchema)]
pub struct BenefitUnit {
    pub line: usize,
    pub unit: usize,
    pub share: Amount,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConditionUnit {
    pub line: usize,
    pub unit: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimulatedNotApplied<'a> {
    /// The offer; null for a voucher code that names none.
    pub promotion: Option<i64>,
    #[schema(value_type = String)]
    pub name: &'a str,
    /// `condition_not_met`, `not_started`, `expired`, `limit_reached`,
    /// `excluded_by_exclusive`, `not_eligible_customer`, `voucher_invalid` or
    /// `gift_unavailable`.
    #[schema(value_type = String)]
    pub reason: &'a str,
    #[schema(value_type = String)]
    pub detail: &'a str,
}

/// About how many bytes the answer takes (a little more, usually), so the body is written
/// into one buffer rather than one doubled and copied as it grows: most of a stacking
/// basket's answer is its unit shares, about 40 bytes each.
fn answer_size_hint(sim: &Simulation) -> usize {
    let p = &sim.pricing;
    let units: usize = p.lines.iter().map(|l| l.units.len()).sum();
    let shares: usize = p.applied.iter().map(|a| a.benefit_units.len() + a.condition_units.len()).sum();
    let names: usize = p.applied.iter().map(|a| a.name.len()).sum::<usize>()
        + p.not_applied.iter().map(|n| n.name.len() + n.detail.len()).sum::<usize>();
    let hint = 256 + p.lines.len() * 128 + units * 48 + shares * 44 + p.applied.len() * 160 + p.not_applied.len() * 96;
    // A hint, not a promise: past 16 MiB the buffer grows as it must.
    (hint + names).min(16 << 20)
}

/// The simulate answer's bytes (also what `offerline price` prints).
pub fn answer_body(sim: &Simulation) -> Result<Vec<u8>, crate::http::json::JsonError> {
    crate::http::json::to_vec(&simulation_answer(sim), answer_size_hint(sim))
}

/// The simulate answer for a simulation.
pub fn simulation_answer(sim: &Simulation) -> SimulationAnswer<'_> {
    let (input, p) = (&sim.input, &sim.pricing);
    let cur = input.currency;
    let am = |m: i64| Amount::new(m, cur);
    let lines = input
        .lines
        .iter()
        .zip(&p.lines)
        .map(|(l, r)| SimulatedLine {
            sku: &l.sku,
            quantity: l.quantity,
            unit_price: am(l.unit_price),
            discount: am(r.discount),
            net_amount: am(r.net),
            units: r.units.iter().map(|u| SimulatedUnit { discount: am(u.discount), net_amount: am(u.net) }).collect(),
        })
        .collect();
    let applied = p
        .applied
        .iter()
        .map(|a| SimulatedApplied {
            promotion: a.offer.0,
            name: &a.name,
            amount: am(a.amount),
            code: a.code.as_ref().map(VoucherCode::as_str),
            detail: a.detail.as_deref(),
            benefit_units: a
                .benefit_units
                .iter()
                .map(|(u, s)| BenefitUnit { line: u.line, unit: u.unit, share: am(*s) })
                .collect(),
            condition_units: a.condition_units.iter().map(|u| ConditionUnit { line: u.line, unit: u.unit }).collect(),
        })
        .collect();
    let not_applied = p
        .not_applied
        .iter()
        .map(|n| SimulatedNotApplied {
            promotion: Some(n.offer.0),
            name: &n.name,
            reason: n.reason.as_str(),
            detail: &n.detail,
        })
        .chain(sim.refused_codes.iter().map(|r| SimulatedNotApplied {
            promotion: r.promotion,
            name: &r.name,
            reason: "voucher_invalid",
            detail: &r.detail,
        }))
        .collect();
    SimulationAnswer {
        currency: input.currency.as_str(),
        total_before_discount: am(p.total_before_discount),
        total_discount: am(p.total_discount),
        total: am(p.total),
        shipping_discount: p.shipping_free,
        lines,
        gifts: p
            .gifts
            .iter()
            .map(|g| SimulatedGift {
                promotion: g.offer.0,
                sku: &g.sku,
                product: g.product.0,
                quantity: g.quantity,
                unit_price: am(g.unit_price),
                is_gift: true,
            })
            .collect(),
        applied,
        not_applied,
    }
}
