//! Pricing: a basket and the open offers in, the discounts per unit and the explanation out.
//!
//! This module is the written statement of the rules. Everything is in whole minor units of
//! the basket's currency; a *unit* is one item of a line (a line of quantity 3 is units
//! 0, 1, 2 of that line), because the ledger records one order item per unit.
//!
//! # Which offers are considered
//! - Inactive offers are ignored.
//! - `site` offers: for everyone. `coupon` offers: only when the customer is in the offer's
//!   `customers` (otherwise `not_eligible_customer`, reported only with `explain_all`).
//! - `coupon_code` and `voucher_code` offers: only when a [`VoucherGrant`] names them; a
//!   `coupon_code` offer also needs the customer listed (else `not_eligible_customer`). Two
//!   grants for one offer: the smallest code is used, the other gets `voucher_invalid`. A
//!   grant naming an offer that needs no code is ignored (the offer applies or not on its
//!   own); one naming an unknown or inactive offer gets `voucher_invalid`.
//! - The offer's currency must be the basket's, and `start <= at < end` must hold
//!   (`not_started` "starts 2026-12-01" / `expired` "ended 2025-01-01").
//! - Limits (see below) must leave at least one application (`limit_reached`).
//! - Without `explain_all`, an offer whose ranges miss the basket is skipped silently (the
//!   [`index`](crate::index) never even yields it); with it, or when the customer gave its
//!   code, it gets `condition_not_met` "no item in the basket is in the offer's range".
//!
//! # Order and stacking
//! Offers are applied one after another, **higher priority first, ties by lower id**. Each
//! offer sees what earlier offers left:
//! - `exclusive: true`: no other offer may use the units this offer used, for its
//!   condition or its benefit; and it cannot use a unit any earlier offer used.
//! - Non-exclusive offers may stack on the same units with each other (for conditions and
//!   benefits), but not on units an exclusive offer used.
//! - A stacked discount applies to what is left of the unit's price: percentages are of the
//!   remaining price, fixed amounts are capped at it, nothing goes below zero. An `amount`
//!   condition counts the remaining prices. A unit with nothing left (or a price of 0) is no
//!   longer eligible for anything, like Oscar skips zero-priced lines.
//! - An offer that fails only because exclusivity took its units (it would apply if those
//!   units were free, at their original price) gets `excluded_by_exclusive` "excluded by
//!   offer N", N being the earliest offer (in processing order) holding one of the units it
//!   would have used. For an exclusive offer that includes units a non-exclusive offer
//!   used: the exclusivity that bars them is its own.
//!
//! # Unit order
//! "Cheapest first" is a total order on units that depends only on what a unit *is*:
//! the line's unit price (the original price, not what stacking left), then sku, then
//! product id, then attributes, then quantity, and only among otherwise identical lines the
//! input line index, then the unit index. "Most expensive first" is the exact reverse.
//! Permuting the input lines therefore permutes the output lines and nothing else.
//!
//! # Applications
//! An offer is applied repeatedly, each application on units this offer has not used yet
//! (an offer never uses a unit twice), until an application fails or gives no discount, or
//! a limit stops it. One application:
//! 1. **Condition** over the available units of the condition range: `amount` — their
//!    remaining prices sum to at least the value; `count` — at least N units; `coverage` —
//!    at least N distinct product ids; `none` — always met.
//! 2. **Benefit** (units are taken cheapest first, at most `max_affected_items`):
//!    - `percentage`: exact `p% × Σ remaining` over the affected units, floored once to
//!      the minor unit (never per unit), then spread.
//!    - `fixed`: `min(value, Σ remaining)` spread over the affected units.
//!    - `fixed_per_unit`: `min(value, remaining)` on each affected unit; no spreading.
//!    - `fixed_price`: N units of the **condition** range (N = the count condition's value,
//!      or `max_affected_items`, the smaller if both), cheapest first, cost `value`
//!      together: discount `max(Σ remaining − value, 0)`, spread over the N units. Fewer
//!      than N units: no application.
//!    - `multibuy` (count N): the free unit is the cheapest available unit of the benefit
//!      range; the rest of the deal is N−1 units of the condition range (N if the free unit
//!      is not in the condition range) taken most expensive first. The discount is the free
//!      unit's remaining price, spread over all units of the deal (seed 000: 199.90 over
//!      three units is 66.63, 66.63, 66.64).
//!    - `multibuy` with an `amount` or `coverage` condition (contract §10, Oscar's "spend
//!      100, get the cheapest free"): once the condition is met, the cheapest available
//!      unit of the benefit range is free, once per application; the free unit carries the
//!      whole discount, and the condition is consumed as step 3 says.
//!    - tiers (`percentage` or `fixed` with `tiers`, under an `amount` or `count`
//!      condition): the highest tier whose threshold the condition range's available units
//!      reach (their remaining value, or their number) gives its value, computed as the
//!      plain benefit would; the offer applies **once**, and every unit of the condition
//!      range counts as a condition unit. Below the first tier: `condition_not_met` with
//!      what is missing. The applied offer's `detail` says which tier applied and what the
//!      next one needs ("tier 1 of 2: 10 % from 100.00; add 200.00 more for 20 %").
//!    - `shipping_free`: amount 0, sets `shipping_free`; applied once.
//!    - `gift` (contract §10): once the condition is met (once per basket), `quantity` units
//!      of the gift product join the result as a gift line (`Pricing::gifts`, after the
//!      input's lines) at the price the caller found for it ([`PricingInput::gifts`]),
//!      each discounted by its whole price: the offer's amount is their value. A gift that
//!      is not in stock (unknown, inactive, unpriced, or priced at nothing) is
//!      `gift_unavailable`; one the budget left cannot cover is `limit_reached`. Basket
//!      units are used only for the condition.
//! 3. **Condition units**: the benefit's units that lie in the condition range count
//!    towards the condition first (Oscar's `consume_items`: `to_consume = value − affected`);
//!    the rest is consumed from the other available units of the condition range, most
//!    expensive first (`count`: units; `amount`: until the value is reached, whole units;
//!    `coverage`: one unit per product not yet covered). A unit is reported in
//!    `benefit_units` if it got a share > 0 and in `condition_units` otherwise, never both:
//!    a multibuy or fixed-price deal's units are all benefit units, so its
//!    `condition_units` is empty, as in seed 000's `conditionapplicant_set`. Percentage,
//!    fixed and fixed-per-unit benefits may discount units that satisfied the condition.
//!
//! # Limits
//! Applications per basket are capped by `max_basket_applications`, by
//! `max_user_applications − customer_applications` (only for a known customer, as Oscar
//! does) and by `max_global_applications − global_applications`. `max_discount` is a budget:
//! each application's discount is trimmed to what is left of it, so it is never overspent;
//! an offer with no application or no budget left gets `limit_reached`.
//!
//! # Rounding and allocation
//! An application's discount is a whole number of minor units, rounded **down** where it
//! has a fraction (percentage), then trimmed to the budget. It is spread over the units it
//! touched in proportion to their remaining price by [`crate::allocation::allocate`]: floors
//! first, leftover minor units by largest remainder, ties to the later unit in
//! cheapest-first order, never beyond a unit's remaining price. (`fixed_per_unit` spreads
//! only when the budget trims it, in proportion to the per-unit amounts.) So every applied
//! offer's shares sum to its amount exactly, and Σ unit discounts = total discount.
//!
//! # Determinism and robustness
//! The result depends only on the input's content, never on the order of lines or offers.
//! The engine does no I/O, allocates proportionally to units and candidate offers, and
//! never panics: input that [`PricingInput::validate`] refuses (negative prices, too many
//! units, totals beyond 15 integer digits) gets no discounts at all.

mod apply;
mod result;

use std::collections::BTreeMap;

use crate::basket::{MAX_UNITS, MAX_UNITS_PER_LINE, PricingInput, VoucherGrant};
use crate::ids::OfferId;
use crate::index::{Candidate, OfferIndex};
use crate::money::VoucherCode;
use crate::offer::{Offer, OfferKind};

use crate::offer::BenefitKind;
use apply::{Fail, State};
pub use result::{Applied, GiftLine, LineResult, NotApplied, Pricing, Reason, UnitRef, UnitResult};
use result::{Output, clamp};

/// Prices `input` against `offers`. See the [module docs](self) for the rules.
///
/// ```
/// use offerline_core::*;
///
/// let try_ = Currency::parse("TRY")?;
/// // "3 al 2 öde": buy 3, pay 2 (seed 000).
/// let offer = Offer::new(
///     1,
///     "3 al 2 Öde",
///     try_,
///     Condition { kind: ConditionKind::Count(3), range: Range::all() },
///     Benefit { kind: BenefitKind::Multibuy, max_affected_items: None, range: Range::all() },
/// )
/// .validated()?;
/// let index = OfferIndex::build(vec![offer]);
/// let unit_price = Money::parse("199.90", try_)?.minor;
/// let input = PricingInput::new(try_, Timestamp(0), vec![Line::new(414, "SKU-1", 3, unit_price)]);
///
/// let p = price(&input, &index);
/// assert_eq!(try_.format(p.total_discount), "199.90");
/// let shares: Vec<String> = p.applied[0].benefit_units.iter().map(|(_, s)| try_.format(*s)).collect();
/// assert_eq!(shares, ["66.63", "66.63", "66.64"]);
/// assert!(p.applied[0].condition_units.is_empty());
/// # Ok::<(), DomainError>(())
/// ```
pub fn price(input: &PricingInput, offers: &OfferIndex) -> Pricing {
    if input.validate().is_err() {
        return unpriced(input);
    }
    let mut state = State::new(input);
    let mut out = Output { applied: Vec::new(), not_applied: Vec::new(), shipping_free: false, gifts: Vec::new() };

    // Voucher grants: one code per offer (the smallest), the others are reported.
    let mut grants: BTreeMap<OfferId, &VoucherCode> = BTreeMap::new();
    let mut sorted_grants: Vec<&VoucherGrant> = input.vouchers.iter().collect();
    sorted_grants.sort();
    sorted_grants.dedup();
    let mut late: Vec<NotApplied> = Vec::new();
    for g in sorted_grants {
        let Some(pos) = offers.position(g.offer) else {
            late.push(not_applied_raw(g.offer, "", Some(&g.code), Reason::VoucherInvalid, "no such offer".into()));
            continue;
        };
        let o = offers.at(pos);
        if !o.active {
            late.push(not_applied(o, Some(&g.code), Reason::VoucherInvalid, "the offer is not active".into()));
        } else if !o.kind.needs_code() {
            // The offer applies, or not, without a code.
        } else if let Some(first) = grants.get(&g.offer) {
            let detail = format!("the offer is already used with code {first}");
            late.push(not_applied(o, Some(&g.code), Reason::VoucherInvalid, detail));
        } else {
            grants.insert(g.offer, &g.code);
        }
    }

    let sorted_lines = state.sorted_lines(input);
    let mut buf = Vec::new();
    let candidates = offers.candidates(&sorted_lines, &mut buf);
    drop(sorted_lines);

    // Walk the candidates and, with explain_all, every other active offer (without it, the
    // offers a code names, so the customer learns why their code did nothing).
    let mut granted: Vec<u32> = grants.keys().filter_map(|id| offers.position(*id)).collect();
    granted.sort_unstable();
    let mut extra: Vec<u32> = if input.explain_all { offers.active_positions().to_vec() } else { granted };
    extra.sort_unstable();
    for (pos, cand) in walk_order(&candidates, &extra) {
        let o = offers.at(pos);
        let code = grants.get(&o.id).copied();
        if let Some(r) = gate(input, o, code) {
            if let Some((reason, detail)) = r {
                out.not_applied.push(not_applied(o, code, reason, detail));
            }
            continue;
        }
        let limits = match apply::limits(o, &input.usage.get(o.id), input.customer.is_some(), input.currency) {
            Ok(l) => l,
            Err(detail) => {
                out.not_applied.push(not_applied(o, code, Reason::LimitReached, detail));
                continue;
            }
        };
        let Some(c) = cand else {
            let detail = "no item in the basket is in the offer's range".to_owned();
            out.not_applied.push(not_applied(o, code, Reason::ConditionNotMet, detail));
            continue;
        };
        let cond = &buf[c.cond.clone()];
        let ben = &buf[c.ben.clone()];
        // A gift must be in stock, priced above nothing, and within the budget left.
        let gift = match &o.benefit.kind {
            BenefitKind::Gift { sku, quantity } => match input.gifts.get(sku).filter(|g| g.unit_price > 0) {
                None => {
                    let detail = format!("the gift {sku} is not available");
                    out.not_applied.push(not_applied(o, code, Reason::GiftUnavailable, detail));
                    continue;
                }
                Some(g) => {
                    let value = i128::from(g.unit_price) * i128::from(*quantity);
                    if limits.budget.is_some_and(|b| i128::from(b) < value) {
                        let detail = "the budget left does not cover the gift".to_owned();
                        out.not_applied.push(not_applied(o, code, Reason::LimitReached, detail));
                        continue;
                    }
                    Some((sku, *quantity, *g))
                }
            },
            _ => None,
        };
        match state.run_offer(pos, o, cond, ben, limits) {
            Ok(mut run) => {
                // Each unit at most once per list, so sorting on the place in input order
                // gives `UnitRef` order.
                run.benefit_units.sort_unstable_by_key(|&(u, _)| state.input_pos(u));
                run.condition_units.sort_unstable_by_key(|&u| state.input_pos(u));
                let mut benefit_units: Vec<(UnitRef, i64)> =
                    run.benefit_units.iter().map(|&(u, s)| (state.unit_ref(u), s)).collect();
                let condition_units: Vec<UnitRef> = run.condition_units.iter().map(|&u| state.unit_ref(u)).collect();
                out.shipping_free |= run.shipping_free;
                let mut amount = run.amount;
                if let (true, Some((sku, quantity, g))) = (run.gift, gift) {
                    let line = input.lines.len() + out.gifts.len();
                    benefit_units.extend((0..quantity as usize).map(|unit| (UnitRef { line, unit }, g.unit_price)));
                    amount = clamp(i128::from(g.unit_price) * i128::from(quantity));
                    out.gifts.push(GiftLine {
                        offer: o.id,
                        product: g.product,
                        sku: sku.clone(),
                        quantity,
                        unit_price: g.unit_price,
                        units: (0..quantity)
                            .map(|_| UnitResult { price: g.unit_price, discount: g.unit_price, net: 0 })
                            .collect(),
                    });
                }
                out.applied.push(Applied {
                    offer: o.id,
                    name: o.name.clone(),
                    code: code.cloned(),
                    amount,
                    applications: run.applications,
                    shipping_free: run.shipping_free,
                    benefit_units,
                    condition_units,
                    detail: run.detail,
                });
            }
            Err(fail) => {
                let (reason, detail) = match fail {
                    Fail::Condition(d) | Fail::NoDiscount(d) => (Reason::ConditionNotMet, d),
                    Fail::Excluded(by) => {
                        (Reason::ExcludedByExclusive, format!("excluded by offer {}", offers.at(by).id.0))
                    }
                };
                out.not_applied.push(not_applied(o, code, reason, detail));
            }
        }
    }
    out.not_applied.extend(late);
    state.finish(input, out)
}

/// Merges the candidates with the other offers to look at (`extra`, sorted positions), in
/// processing order, each position once; `None` for an offer that is no candidate.
fn walk_order<'a>(candidates: &'a [Candidate], extra: &[u32]) -> Vec<(u32, Option<&'a Candidate>)> {
    let mut out = Vec::with_capacity(candidates.len() + extra.len());
    let mut e = extra.iter().copied().peekable();
    for c in candidates {
        while let Some(x) = e.next_if(|&x| x < c.pos) {
            out.push((x, None));
        }
        e.next_if_eq(&c.pos);
        out.push((c.pos, Some(c)));
    }
    out.extend(e.map(|x| (x, None)));
    out
}

/// Eligibility, currency and window. `None`: go on. `Some(None)`: skip silently.
/// `Some(Some(..))`: report.
fn gate(input: &PricingInput, o: &Offer, code: Option<&VoucherCode>) -> Option<Option<(Reason, String)>> {
    let listed = input.customer.is_some_and(|c| o.customers.contains(&c));
    match o.kind {
        OfferKind::Site => {}
        OfferKind::Coupon if !listed => {
            let detail = "the offer is not assigned to this customer".to_owned();
            return Some(input.explain_all.then_some((Reason::NotEligibleCustomer, detail)));
        }
        OfferKind::Coupon => {}
        OfferKind::CouponCode | OfferKind::VoucherCode => {
            if code.is_none() {
                return Some(None);
            }
            if o.kind == OfferKind::CouponCode && !listed {
                let detail = "the code is not assigned to this customer".to_owned();
                return Some(Some((Reason::NotEligibleCustomer, detail)));
            }
        }
    }
    if o.currency != input.currency {
        let detail = format!("the offer is for {} baskets, this basket is in {}", o.currency, input.currency);
        return Some(match code {
            Some(_) => Some((Reason::VoucherInvalid, detail)),
            None => input.explain_all.then_some((Reason::ConditionNotMet, detail)),
        });
    }
    if let Some(s) = o.start
        && input.at < s
    {
        return Some(Some((Reason::NotStarted, format!("starts {}", s.date_string()))));
    }
    if let Some(e) = o.end
        && input.at >= e
    {
        return Some(Some((Reason::Expired, format!("ended {}", e.date_string()))));
    }
    None
}

fn not_applied(o: &Offer, code: Option<&VoucherCode>, reason: Reason, detail: String) -> NotApplied {
    not_applied_raw(o.id, &o.name, code, reason, detail)
}

fn not_applied_raw(
    offer: OfferId,
    name: &str,
    code: Option<&VoucherCode>,
    reason: Reason,
    detail: String,
) -> NotApplied {
    NotApplied { offer, name: name.to_owned(), code: code.cloned(), reason, detail }
}

/// The result for input the engine refuses to price: no discounts; per-unit results only
/// while the unit counts are within bounds.
fn unpriced(input: &PricingInput) -> Pricing {
    let total_units: u64 = input.lines.iter().map(|l| u64::from(l.quantity)).sum();
    let expand = total_units <= MAX_UNITS;
    let mut before: i128 = 0;
    let lines = input
        .lines
        .iter()
        .map(|l| {
            let line_total = i128::from(l.unit_price) * i128::from(l.quantity);
            before += line_total;
            let units = if expand && l.quantity <= MAX_UNITS_PER_LINE {
                vec![UnitResult { price: l.unit_price, discount: 0, net: l.unit_price }; l.quantity as usize]
            } else {
                Vec::new()
            };
            LineResult { units, discount: 0, net: clamp(line_total) }
        })
        .collect();
    Pricing {
        currency: input.currency,
        total_before_discount: clamp(before),
        total_discount: 0,
        total: clamp(before),
        shipping_free: false,
        lines,
        applied: Vec::new(),
        not_applied: Vec::new(),
        gifts: Vec::new(),
    }
}
