//! The step from a cancellation to its refund (contract §8): which units may be cancelled or
//! returned, what each cancelled unit refunds, and which discount shares are reversed.
//!
//! # The ledger this works on
//! An order's units each carry, per discount item, a share placed at checkout. The shares
//! never change; a cancellation adds *reversals* (discount item, unit, amount). What a unit
//! is discounted by now is `share − Σ reversals` on it, per discount item, and its net is
//! `price − Σ` of that over the discount items: what the customer paid for it, plus any
//! discount an earlier cancellation clawed back from it.
//!
//! # The rules
//! - A **cancelled unit** refunds its net and reverses everything it is discounted by now.
//! - The units that stay (live units not in this cancellation) keep their shares, except
//!   under a promotion whose [`RefundPolicy`] is `reprice`: those units are priced again by
//!   the engine, with the promotion as it was when the order was placed (the order keeps a
//!   snapshot of it) at the order's time, without usage limits and with only the order's
//!   `reprice` promotions. What they lose of that promotion's discount
//!   (`Σ discount now − Σ discount repriced`, never negative) is *clawed back*: reversed on
//!   those kept units and taken from the refund.
//! - A refund is never negative: when the kept units lose more than the cancelled units'
//!   nets, only as much as the nets is clawed back (spread over the promotions in proportion
//!   to what each lost), and the rest of the discount stays on the kept units.
//!
//! Every amount is split by [`allocate`]: a promotion's clawback over its kept units in
//! proportion to what each is discounted by now (never more than that), and the clawback as
//! a whole over the promotions in proportion to their losses. The clawback is then taken
//! from the cancelled units' refunds in unit order, each up to its net, and each reversal
//! on a kept unit is listed under the cancelled unit whose refund paid for it.
//!
//! # What follows (the invariants the property tests check)
//! Let *paid* be Σ refunds so far + Σ net of the live units. A cancellation refunds
//! `R = Σ net(cancelled) − C` and moves `C` back onto the kept units' nets, so *paid* does
//! not move: it stays the order's amount. Hence Σ refunds ≤ the order's amount, cancelling
//! every unit refunds it exactly, no refund is negative, and under `keep_shares` alone a
//! refund is exactly the cancelled units' nets. A discount item's reversals never exceed
//! what its units are discounted by, so `cancel_amount ≤ amount`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::allocation::allocate;
use crate::basket::{GiftStock, Line, PricingInput};
use crate::engine::price;
use crate::ids::ProductId;
use crate::index::OfferIndex;
use crate::money::Currency;
use crate::offer::{BenefitKind, Offer, OfferKind};
use crate::status::OrderStatus;
use crate::time::Timestamp;

/// How a promotion gives money back when some of the units it discounted are cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RefundPolicy {
    /// Each cancelled unit refunds its net; the kept units keep their shares.
    #[default]
    KeepShares,
    /// The kept units are priced again; the discount they lose is clawed back.
    Reprice,
}

impl RefundPolicy {
    pub const ALL: [RefundPolicy; 2] = [RefundPolicy::KeepShares, RefundPolicy::Reprice];

    pub fn as_str(self) -> &'static str {
        match self {
            RefundPolicy::KeepShares => "keep_shares",
            RefundPolicy::Reprice => "reprice",
        }
    }

    /// The policy named by [`Self::as_str`]'s spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// Cancel (before shipping) or return (after).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CancellationType {
    #[default]
    Cancel,
    Refund,
}

impl CancellationType {
    pub const ALL: [CancellationType; 2] = [CancellationType::Cancel, CancellationType::Refund];

    pub fn as_str(self) -> &'static str {
        match self {
            CancellationType::Cancel => "cancel",
            CancellationType::Refund => "refund",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The status an approved cancellation of this type gives its units.
    pub fn done_status(self) -> OrderStatus {
        match self {
            CancellationType::Cancel => OrderStatus::CANCELLED,
            CancellationType::Refund => OrderStatus::REFUNDED,
        }
    }

    /// Whether a unit in `status` may be cancelled (`cancel`: not shipped yet, status below
    /// 500) or returned (`refund`: shipped or delivered, 500–550) with this type; a unit
    /// already cancelled, refunded or waiting for a cancellation may be neither.
    pub fn check(self, status: OrderStatus) -> Result<(), UnitRefusal> {
        let code = status.code();
        match code {
            50 => Err(UnitRefusal::Waiting),
            100 => Err(UnitRefusal::Cancelled),
            600 => Err(UnitRefusal::Refunded),
            _ => match self {
                CancellationType::Cancel if code >= 500 => Err(UnitRefusal::Shipped),
                CancellationType::Refund if !(500..=550).contains(&code) => Err(UnitRefusal::NotShipped),
                _ => Ok(()),
            },
        }
    }
}

/// Where a cancellation stands: a customer's request waits for staff; staff act at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CancellationStatus {
    Waiting,
    Approved,
    Rejected,
}

impl CancellationStatus {
    pub const ALL: [CancellationStatus; 3] =
        [CancellationStatus::Waiting, CancellationStatus::Approved, CancellationStatus::Rejected];

    pub fn as_str(self) -> &'static str {
        match self {
            CancellationStatus::Waiting => "waiting",
            CancellationStatus::Approved => "approved",
            CancellationStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The unit's `cancel_status` (seed 002's words) while in a cancellation in this state.
    pub fn unit_cancel_status(self) -> &'static str {
        match self {
            CancellationStatus::Waiting => "waiting",
            CancellationStatus::Approved => "completed",
            CancellationStatus::Rejected => "rejected",
        }
    }
}

/// Why one unit cannot be in a cancellation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitRefusal {
    Waiting,
    Cancelled,
    Refunded,
    /// `cancel` asked for a unit that has shipped.
    Shipped,
    /// `refund` asked for a unit that has not shipped.
    NotShipped,
}

impl fmt::Display for UnitRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UnitRefusal::Waiting => "is already waiting for a cancellation",
            UnitRefusal::Cancelled => "is already cancelled",
            UnitRefusal::Refunded => "is already refunded",
            UnitRefusal::Shipped => "has shipped: ask for a refund instead of a cancellation",
            UnitRefusal::NotShipped => "has not shipped: ask for a cancellation instead of a refund",
        })
    }
}

/// Whether a unit still counts as part of the order: not cancelled and not refunded (a unit
/// waiting for a cancellation still does until it is approved).
pub fn is_live(status: OrderStatus) -> bool {
    !matches!(status.code(), 100 | 600)
}

/// Whether a status may be set on a unit directly (a status change through the order item
/// endpoints). Cancellation waiting, cancelled and refunded come only from a cancellation,
/// which records the money that goes with them.
pub fn settable_directly(status: OrderStatus) -> bool {
    !matches!(status.code(), 50 | 100 | 600)
}

/// The order's status once its units have these statuses, if the units decide it: every
/// unit cancelled → cancelled; every unit cancelled or refunded, some refunded → refunded.
pub fn rolled_up(units: impl IntoIterator<Item = OrderStatus>) -> Option<OrderStatus> {
    let (mut any, mut refunded) = (false, false);
    for s in units {
        any = true;
        match s.code() {
            100 => {}
            600 => refunded = true,
            _ => return None,
        }
    }
    any.then_some(if refunded { OrderStatus::REFUNDED } else { OrderStatus::CANCELLED })
}

/// One unit of the order, as repricing needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundUnit {
    pub product: ProductId,
    pub sku: String,
    pub attributes: BTreeMap<String, String>,
    /// The units of one basket line share it; they are priced again as one line.
    pub line_key: String,
    pub price: i64,
    /// Not cancelled and not refunded ([`is_live`]).
    pub live: bool,
}

/// One discount item of the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundDiscount {
    pub policy: RefundPolicy,
    /// The promotion as it was when the order was placed; needed for `reprice` (without it
    /// the discount item keeps its shares).
    pub offer: Option<Offer>,
    /// (unit index, share) as placed at checkout.
    pub shares: Vec<(usize, i64)>,
    /// (unit index, amount) reversed by earlier approved cancellations.
    pub reversed: Vec<(usize, i64)>,
}

/// An order's ledger as a cancellation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundInput {
    pub currency: Currency,
    /// When the order was placed: repricing prices at this instant.
    pub at: Timestamp,
    pub units: Vec<RefundUnit>,
    pub discounts: Vec<RefundDiscount>,
}

/// One reversal: `amount` of discount item `discount`'s share on unit `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reversal {
    pub discount: usize,
    pub target: usize,
    pub amount: i64,
}

/// What one cancelled unit refunds, and the reversals listed under it: its own shares,
/// and the clawback from kept units its refund paid for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRefund {
    pub unit: usize,
    pub refund: i64,
    pub reversals: Vec<Reversal>,
}

/// The refund of one cancellation, per cancelled unit in unit order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RefundPlan {
    pub units: Vec<UnitRefund>,
}

impl RefundPlan {
    pub fn refund(&self) -> i64 {
        self.units.iter().map(|u| u.refund).sum()
    }

    /// Σ reversed per discount index.
    pub fn reversed_by_discount(&self) -> BTreeMap<usize, i64> {
        let mut out = BTreeMap::new();
        for r in self.units.iter().flat_map(|u| &u.reversals) {
            *out.entry(r.discount).or_insert(0) += r.amount;
        }
        out
    }
}

/// A cancellation that names units it cannot: the caller checks statuses first (with
/// [`CancellationType::check`]), so these are bugs upstream, reported rather than guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("a cancellation needs at least one unit")]
    Empty,
    #[error("unit {0} is not in the order")]
    Unknown(usize),
    #[error("unit {0} is named twice")]
    Duplicate(usize),
    #[error("unit {0} is already cancelled or refunded")]
    NotLive(usize),
}

/// The refund of cancelling `cancel` (unit indexes), by the rules of the
/// [module docs](self).
pub fn plan(input: &RefundInput, cancel: &[usize]) -> Result<RefundPlan, PlanError> {
    let n = input.units.len();
    if cancel.is_empty() {
        return Err(PlanError::Empty);
    }
    let mut in_cancel = vec![false; n];
    for &u in cancel {
        if u >= n {
            return Err(PlanError::Unknown(u));
        }
        if in_cancel[u] {
            return Err(PlanError::Duplicate(u));
        }
        if !input.units[u].live {
            return Err(PlanError::NotLive(u));
        }
        in_cancel[u] = true;
    }
    let now = current_discounts(input);
    let mut cancelled: Vec<usize> = cancel.to_vec();
    cancelled.sort_unstable();
    let kept: Vec<usize> = (0..n).filter(|&u| input.units[u].live && !in_cancel[u]).collect();

    // Each cancelled unit: its net, and its own shares reversed.
    let mut out: Vec<UnitRefund> = cancelled
        .iter()
        .map(|&u| {
            let discount: i64 = now.iter().map(|d| d[u]).sum();
            let reversals = now
                .iter()
                .enumerate()
                .filter(|(_, d)| d[u] > 0)
                .map(|(di, d)| Reversal { discount: di, target: u, amount: d[u] })
                .collect();
            UnitRefund { unit: u, refund: (input.units[u].price - discount).max(0), reversals }
        })
        .collect();

    // What the kept units lose under `reprice`, and how much of it the refunds can pay.
    let losses = reprice_losses(input, &now, &kept);
    let lost: i64 = losses.iter().sum();
    let nets: i64 = out.iter().map(|u| u.refund).sum();
    let clawback = if lost <= nets { losses.clone() } else { allocate(nets, &losses, &losses) };

    // Spread each promotion's clawback over its kept units, then take it from the refunds
    // in unit order.
    let mut payer = 0usize;
    for (di, &amount) in clawback.iter().enumerate() {
        if amount == 0 {
            continue;
        }
        let weights: Vec<i64> = kept.iter().map(|&u| now[di][u]).collect();
        for (k, mut take) in allocate(amount, &weights, &weights).into_iter().enumerate() {
            while take > 0 && payer < out.len() {
                let paid = take.min(out[payer].refund);
                if paid > 0 {
                    out[payer].refund -= paid;
                    out[payer].reversals.push(Reversal { discount: di, target: kept[k], amount: paid });
                    take -= paid;
                }
                if out[payer].refund == 0 {
                    payer += 1;
                }
            }
        }
    }
    Ok(RefundPlan { units: out })
}

/// Per discount item, per unit: the share placed at checkout less what was reversed since.
fn current_discounts(input: &RefundInput) -> Vec<Vec<i64>> {
    let n = input.units.len();
    input
        .discounts
        .iter()
        .map(|d| {
            let mut v = vec![0i64; n];
            for &(u, s) in &d.shares {
                if u < n {
                    v[u] += s.max(0);
                }
            }
            for &(u, r) in &d.reversed {
                if u < n {
                    v[u] = (v[u] - r.max(0)).max(0);
                }
            }
            v
        })
        .collect()
}

/// Per discount item: the discount its kept units lose when priced again (0 unless its
/// policy is `reprice` and the order kept its promotion).
fn reprice_losses(input: &RefundInput, now: &[Vec<i64>], kept: &[usize]) -> Vec<i64> {
    let mut losses = vec![0i64; input.discounts.len()];
    let repriced: Vec<(usize, &Offer)> = input
        .discounts
        .iter()
        .enumerate()
        .filter(|(_, d)| d.policy == RefundPolicy::Reprice)
        .filter_map(|(i, d)| d.offer.as_ref().map(|o| (i, o)))
        .filter(|&(i, _)| kept.iter().any(|&u| now[i][u] > 0))
        .collect();
    if repriced.is_empty() {
        return losses;
    }
    let kept_now = repriced_discounts(input, kept, &repriced);
    for (i, _) in repriced {
        let had: i64 = kept.iter().map(|&u| now[i][u]).sum();
        losses[i] = (had - kept_now.get(&i).copied().unwrap_or(0)).max(0);
    }
    losses
}

/// Prices the kept units again with the given discount items' promotions, as the
/// [module docs](self) say: at the order's time, no usage limits, reached without a code
/// or a customer list (the order had them). Returns each discount item's new discount.
fn repriced_discounts(input: &RefundInput, kept: &[usize], offers: &[(usize, &Offer)]) -> HashMap<usize, i64> {
    // A gift promotion's kept gift units are given again if its condition still holds: they
    // are the gift's stock, not lines of the basket.
    let mut gifts = BTreeMap::new();
    let mut gift_units = std::collections::HashSet::new();
    for &(i, o) in offers {
        if let BenefitKind::Gift { sku, .. } = &o.benefit.kind {
            for &(u, _) in &input.discounts[i].shares {
                let unit = &input.units[u];
                if kept.contains(&u) && unit.sku == *sku {
                    gift_units.insert(u);
                    gifts.insert(sku.clone(), GiftStock { product: unit.product, unit_price: unit.price });
                }
            }
        }
    }
    let mut lines: Vec<Line> = Vec::new();
    let mut line_of: HashMap<(&str, i64, ProductId), usize> = HashMap::new();
    for &u in kept.iter().filter(|u| !gift_units.contains(u)) {
        let unit = &input.units[u];
        let at = *line_of.entry((unit.line_key.as_str(), unit.price, unit.product)).or_insert_with(|| {
            lines.push(Line {
                product: unit.product,
                sku: unit.sku.clone(),
                attributes: unit.attributes.clone(),
                quantity: 0,
                unit_price: unit.price,
            });
            lines.len() - 1
        });
        lines[at].quantity += 1;
    }
    let mut by_offer = HashMap::new();
    let mut index_offers = Vec::with_capacity(offers.len());
    for &(i, o) in offers {
        if by_offer.insert(o.id, i).is_none() {
            index_offers.push(Offer {
                kind: OfferKind::Site,
                currency: input.currency,
                start: None,
                end: None,
                active: true,
                max_user_applications: None,
                max_global_applications: None,
                max_discount: None,
                customers: Default::default(),
                ..o.clone()
            });
        }
    }
    let mut pricing_input = PricingInput::new(input.currency, input.at, lines);
    pricing_input.gifts = gifts;
    let pricing = price(&pricing_input, &OfferIndex::build(index_offers));
    pricing.applied.iter().filter_map(|a| by_offer.get(&a.offer).map(|&i| (i, a.amount))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offer::{Benefit, BenefitKind, Condition, ConditionKind, Range};

    fn try_() -> Currency {
        Currency::parse("TRY").unwrap()
    }

    fn unit(line: &str, price: i64) -> RefundUnit {
        RefundUnit {
            product: ProductId(1),
            sku: format!("SKU-{line}"),
            attributes: BTreeMap::new(),
            line_key: line.into(),
            price,
            live: true,
        }
    }

    fn three_for_two() -> Offer {
        Offer::new(
            7,
            "3 al 2 Öde",
            try_(),
            Condition { kind: ConditionKind::Count(3), range: Range::all() },
            Benefit { kind: BenefitKind::Multibuy, max_affected_items: None, range: Range::all() },
        )
    }

    /// 10 % off from 500.00 (the second worked example of §8), under `reprice`.
    fn ten_from_500() -> Offer {
        Offer::new(
            9,
            "10% from 500",
            try_(),
            Condition { kind: ConditionKind::Amount(50000), range: Range::all() },
            Benefit {
                kind: BenefitKind::Percentage(crate::money::Percent::parse("10").unwrap()),
                max_affected_items: None,
                range: Range::all(),
            },
        )
    }

    fn seed_order(policy: RefundPolicy) -> RefundInput {
        RefundInput {
            currency: try_(),
            at: Timestamp(0),
            units: vec![unit("a", 19990), unit("a", 19990), unit("a", 19990)],
            discounts: vec![RefundDiscount {
                policy,
                offer: Some(three_for_two()),
                shares: vec![(0, 6663), (1, 6663), (2, 6664)],
                reversed: vec![],
            }],
        }
    }

    #[test]
    fn keep_shares_refunds_the_net_and_reverses_the_share() {
        let p = plan(&seed_order(RefundPolicy::KeepShares), &[0]).unwrap();
        assert_eq!(p.refund(), 13327);
        assert_eq!(p.units[0].reversals, vec![Reversal { discount: 0, target: 0, amount: 6663 }]);
    }

    #[test]
    fn reprice_claws_back_what_the_kept_units_lose() {
        let p = plan(&seed_order(RefundPolicy::Reprice), &[0]).unwrap();
        assert_eq!(p.refund(), 0);
        assert_eq!(p.reversed_by_discount()[&0], 19990);
        let targets: Vec<(usize, i64)> = p.units[0].reversals.iter().map(|r| (r.target, r.amount)).collect();
        assert_eq!(targets, vec![(0, 6663), (1, 6663), (2, 6664)]);
    }

    #[test]
    fn reprice_of_a_percentage_from_an_amount() {
        let offer = ten_from_500();
        let input = RefundInput {
            currency: try_(),
            at: Timestamp(0),
            units: vec![unit("a", 30000), unit("a", 30000)],
            discounts: vec![RefundDiscount {
                policy: RefundPolicy::Reprice,
                offer: Some(offer),
                shares: vec![(0, 3000), (1, 3000)],
                reversed: vec![],
            }],
        };
        let p = plan(&input, &[1]).unwrap();
        assert_eq!(p.refund(), 24000);
        assert_eq!(p.reversed_by_discount()[&0], 6000);
    }

    #[test]
    fn a_refund_is_never_negative_and_what_it_cannot_pay_stays_on_the_kept_units() {
        // 10% from 500.00 on 490.00 + 20.00: 51.00, shares 49.00 / 2.00. Cancelling the
        // 20.00 unit nets 18.00; the kept unit would lose 49.00: only 18.00 comes back.
        let offer = ten_from_500();
        let mut input = RefundInput {
            currency: try_(),
            at: Timestamp(0),
            units: vec![unit("a", 49000), unit("b", 2000)],
            discounts: vec![RefundDiscount {
                policy: RefundPolicy::Reprice,
                offer: Some(offer),
                shares: vec![(0, 4900), (1, 200)],
                reversed: vec![],
            }],
        };
        let first = plan(&input, &[1]).unwrap();
        assert_eq!(first.refund(), 0);
        assert_eq!(first.reversed_by_discount()[&0], 200 + 1800);
        // Apply it, then cancel the last unit: together exactly the order's amount.
        input.units[1].live = false;
        input.discounts[0].reversed = first.units[0].reversals.iter().map(|r| (r.target, r.amount)).collect();
        let second = plan(&input, &[0]).unwrap();
        assert_eq!(first.refund() + second.refund(), 51000 - 5100);
    }

    #[test]
    fn bad_requests_are_refused() {
        let mut input = seed_order(RefundPolicy::KeepShares);
        assert_eq!(plan(&input, &[]), Err(PlanError::Empty));
        assert_eq!(plan(&input, &[3]), Err(PlanError::Unknown(3)));
        assert_eq!(plan(&input, &[1, 1]), Err(PlanError::Duplicate(1)));
        input.units[2].live = false;
        assert_eq!(plan(&input, &[2]), Err(PlanError::NotLive(2)));
    }

    #[test]
    fn statuses_decide_what_may_be_cancelled_or_returned() {
        let s = |c| OrderStatus::from_code(c).unwrap();
        assert!(CancellationType::Cancel.check(s(400)).is_ok());
        assert!(CancellationType::Cancel.check(s(450)).is_ok());
        assert_eq!(CancellationType::Cancel.check(s(500)), Err(UnitRefusal::Shipped));
        assert_eq!(CancellationType::Refund.check(s(400)), Err(UnitRefusal::NotShipped));
        assert!(CancellationType::Refund.check(s(550)).is_ok());
        assert_eq!(CancellationType::Refund.check(s(600)), Err(UnitRefusal::Refunded));
        assert_eq!(CancellationType::Cancel.check(s(100)), Err(UnitRefusal::Cancelled));
        assert_eq!(CancellationType::Cancel.check(s(50)), Err(UnitRefusal::Waiting));
        assert_eq!(rolled_up([s(100), s(100)]), Some(OrderStatus::CANCELLED));
        assert_eq!(rolled_up([s(100), s(600)]), Some(OrderStatus::REFUNDED));
        assert_eq!(rolled_up([s(100), s(400)]), None);
        assert!(!settable_directly(s(600)) && !settable_directly(s(50)) && settable_directly(s(500)));
    }
}
