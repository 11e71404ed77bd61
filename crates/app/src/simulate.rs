//! The staff dry run (contract §4, `POST /api/v1/pricing/simulate/`): a basket of skus priced
//! against the live offers at a chosen instant for a chosen customer and codes, with the
//! engine's explanation of every offer. Nothing is written.
//!
//! Voucher codes are resolved and checked here with the same rule the storefront uses
//! ([`crate::vouchers::refusal`]); the engine only sees the usable ones, and each refused
//! code is reported beside the engine's `not_applied` list.

use std::collections::BTreeSet;
use std::sync::Arc;

use offerline_core::{
    Currency, CustomerId, Line, OfferId, OfferIndex, Pricing, PricingInput, ProductId, Timestamp, VoucherCode,
    VoucherGrant, VoucherRefusal, price,
};
use offerline_store::now_micros;

use crate::catalog_snapshot::CatalogSnapshot;
pub use crate::error::LineProblem;
use crate::error::{AppError, AppResult};
use crate::gifts;
use crate::handle::App;
use crate::vouchers;

/// One requested line: a sku, a quantity, and optionally the price to use instead of the
/// default price list's.
#[derive(Debug, Clone)]
pub struct SimLine {
    pub sku: String,
    pub quantity: u32,
    pub unit_price: Option<i64>,
}

/// A simulation request, already parsed.
#[derive(Debug, Clone)]
pub struct Request {
    pub currency: Currency,
    pub customer: Option<i64>,
    /// The instant to price at (microseconds); now when absent.
    pub at: Option<i64>,
    pub codes: Vec<String>,
    pub lines: Vec<SimLine>,
    /// Which offers that did not apply are explained (contract §10).
    pub explain: Explain,
}

/// Which offers that did not apply a simulation explains (contract §10 `explain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Explain {
    /// Every live offer, with its reason (the default).
    #[default]
    All,
    /// Only offers whose ranges touch the basket's products (and those a code names).
    Basket,
    /// None: `not_applied` is empty.
    None,
}

impl Explain {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "all" => Some(Explain::All),
            "basket" => Some(Explain::Basket),
            "none" => Some(Explain::None),
            _ => None,
        }
    }
}

/// A voucher code that was not given to the engine, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedCode {
    /// The code's promotion, when the code exists.
    pub promotion: Option<i64>,
    pub name: String,
    pub detail: String,
}

/// The priced dry run: the engine's input (lines as priced) and result, and the codes
/// refused before pricing.
#[derive(Debug, Clone)]
pub struct Simulation {
    pub input: PricingInput,
    pub pricing: Pricing,
    pub refused_codes: Vec<RefusedCode>,
}

/// What a simulation falls back on: the default price list (its currency when the request
/// names none, its prices when a line gives none), with the rest of the pricing catalogue,
/// and the offers it prices against. Taken once per request, before the request is parsed,
/// since the currency decides how its money is read; both are the in-memory snapshots, so
/// the only row read for them is the pricing versions ([`crate::offers`]).
#[derive(Debug, Clone)]
pub struct Defaults {
    catalog: Arc<CatalogSnapshot>,
    offers: Arc<OfferIndex>,
}

impl Defaults {
    pub async fn load(app: &App) -> AppResult<Self> {
        let (snapshot, catalog) = app.offers().pricing().await?;
        Ok(Defaults { catalog, offers: snapshot.index })
    }

    /// The default price list's currency code, as stored.
    pub fn currency(&self) -> &str {
        &self.catalog.price_list.currency
    }
}

/// Prices `req` against the live offers. Lines whose sku is unknown or unpriced are refused
/// together ([`AppError::Lines`], one entry per requested line).
pub async fn simulate(app: &App, defaults: &Defaults, req: Request) -> AppResult<Simulation> {
    let (store, offers) = (app.store(), defaults.offers.clone());
    let catalog = &defaults.catalog;
    let default_list = &catalog.price_list;
    let cur = req.currency;
    // The default list's prices hold only in its own currency.
    let listed = default_list.currency.eq_ignore_ascii_case(cur.as_str());
    let mut problems = Vec::with_capacity(req.lines.len());
    let mut lines = Vec::with_capacity(req.lines.len());
    for l in &req.lines {
        let problem = match catalog.by_sku(&l.sku) {
            None => Some(LineProblem::UnknownSku(l.sku.clone())),
            Some(p) => match l.unit_price.or(if listed { p.price } else { None }) {
                Some(unit_price) => {
                    lines.push(Line {
                        product: ProductId(p.id),
                        sku: p.sku.clone(),
                        attributes: p.attributes.clone(),
                        quantity: l.quantity,
                        unit_price,
                    });
                    None
                }
                None => Some(LineProblem::NoPrice { price_list_currency: default_list.currency.clone() }),
            },
        };
        problems.push(problem);
    }
    if problems.iter().any(Option::is_some) {
        return Err(AppError::Lines(problems));
    }

    let mut refused_codes = Vec::new();
    let mut grants = Vec::new();
    let mut seen = BTreeSet::new();
    for raw in &req.codes {
        let code = match VoucherCode::parse(raw) {
            Ok(c) => c,
            Err(e) => {
                let detail = format!("\"{raw}\" is not a valid code: {e}");
                refused_codes.push(RefusedCode { promotion: None, name: String::new(), detail });
                continue;
            }
        };
        if !seen.insert(code.clone()) {
            continue;
        }
        let Some(v) = store.voucher_by_code(code.as_str()).await? else {
            let detail = format!("no voucher with code {code}");
            refused_codes.push(RefusedCode { promotion: None, name: String::new(), detail });
            continue;
        };
        match vouchers::refusal(app, &v, req.customer).await? {
            Some(r) => {
                let detail = match r {
                    VoucherRefusal::NotAssigned => format!("the code {code} is not assigned to this customer"),
                    VoucherRefusal::AlreadyUsed => format!("the code {code} has already been used"),
                    VoucherRefusal::NeedsCustomer => {
                        format!("the code {code} can be used once per customer and needs a customer")
                    }
                    VoucherRefusal::AlreadyUsedByCustomer => format!("this customer has already used the code {code}"),
                };
                let name = offers.get(OfferId(v.promotion_id)).map_or("", |o| o.name.as_str()).to_owned();
                refused_codes.push(RefusedCode { promotion: Some(v.promotion_id), name, detail });
            }
            None => grants.push(VoucherGrant { code, offer: OfferId(v.promotion_id) }),
        }
    }

    let explain_all = req.explain == Explain::All;
    // Usage of the limited offers this pricing looks at, and none read when there are none.
    let limited = offers.limited_for(&lines, &grants, explain_all);
    let input = PricingInput {
        currency: cur,
        at: Timestamp(req.at.unwrap_or_else(now_micros)),
        customer: req.customer.map(CustomerId),
        lines,
        vouchers: grants,
        usage: if limited.is_empty() { Default::default() } else { store.usage_of(&limited, req.customer).await? },
        explain_all,
        gifts: if listed { gifts::snapshot_stock(catalog, &offers) } else { Default::default() },
    };
    input.validate().map_err(|e| AppError::Refused(e.to_string()))?;
    let mut pricing = price(&input, &offers);
    if req.explain == Explain::None {
        pricing.not_applied.clear();
        refused_codes.clear();
    }
    Ok(Simulation { input, pricing, refused_codes })
}
