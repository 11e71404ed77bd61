//! The engine's working state: the units in canonical order, what is left of each unit's
//! price, which offers have used which units, and one application of one offer.

use std::collections::{BTreeSet, HashMap};

use crate::allocation::allocate;
use crate::basket::{Line, OfferUsage, PricingInput};
use crate::money::Currency;
use crate::offer::{BenefitKind, ConditionKind, Offer};

use super::result::{LineResult, Output, Pricing, UnitRef, UnitResult, clamp};

const NONE: u32 = u32::MAX;

/// Why an offer's first application failed.
pub(crate) enum Fail {
    Condition(String),
    NoDiscount(String),
    /// It would have applied but for units held by the offer at this index position.
    Excluded(u32),
}

/// What earlier orders left of an offer's limits for this basket.
#[derive(Clone, Copy)]
pub(crate) struct Limits {
    pub max_apps: u64,
    /// What is left of the budget (`None`: no budget).
    pub budget: Option<i64>,
}

/// The applications and budget left, or the `limit_reached` detail.
pub(crate) fn limits(
    o: &Offer,
    usage: &OfferUsage,
    known_customer: bool,
    currency: Currency,
) -> Result<Limits, String> {
    let mut max_apps: u64 = u64::MAX;
    if let Some(g) = o.max_global_applications {
        let left = u64::from(g).saturating_sub(usage.global_applications);
        if left == 0 {
            return Err(format!("limit reached: {} of {g} uses", usage.global_applications));
        }
        max_apps = max_apps.min(left);
    }
    if let Some(u) = o.max_user_applications
        && known_customer
    {
        let left = u64::from(u).saturating_sub(usage.customer_applications);
        if left == 0 {
            return Err(format!("limit reached: {} of {u} uses by this customer", usage.customer_applications));
        }
        max_apps = max_apps.min(left);
    }
    let mut budget = None;
    if let Some(m) = o.max_discount {
        let left = m.saturating_sub(usage.discount_spent);
        if left <= 0 {
            return Err(format!(
                "limit reached: {} of {} budget spent",
                currency.format(usage.discount_spent),
                currency.format(m)
            ));
        }
        budget = Some(left);
    }
    if let Some(b) = o.max_basket_applications {
        if b == 0 {
            return Err("limit reached: no applications per basket".to_owned());
        }
        max_apps = max_apps.min(u64::from(b));
    }
    Ok(Limits { max_apps, budget })
}

/// What all applications of one offer did, with units as canonical ranks.
#[derive(Default)]
pub(crate) struct Run {
    /// For a tiered benefit: which tier applied and what the next needs.
    pub detail: Option<String>,
    /// A gift offer's condition was met (once).
    pub gift: bool,
    pub amount: i64,
    pub applications: u32,
    pub shipping_free: bool,
    pub benefit_units: Vec<(usize, i64)>,
    pub condition_units: Vec<usize>,
}

/// The units one offer run may use and running totals over its condition range.
struct Pool {
    view: View,
    /// Units of the condition range available at the start of the run, cheapest first.
    c: Vec<usize>,
    /// Units of the benefit range available at the start of the run, cheapest first.
    b: Vec<usize>,
    /// Everything before `c_lo` / `b_lo` and from `c_hi` on is known to be used.
    c_lo: usize,
    c_hi: usize,
    b_lo: usize,
    /// Unused condition units: how many, their price sum, and units per product.
    c_count: usize,
    c_sum: i128,
    c_products: HashMap<i64, u32>,
}

struct App {
    discount: i64,
    shipping: bool,
    /// A gift offer's condition was met: its units are given by the caller of the run.
    gift: bool,
    benefit: Vec<(usize, i64)>,
    condition: Vec<usize>,
}

/// For a tiered benefit: which tier applied, and what the next one needs.
fn tier_note<V>(
    currency: Currency,
    money: bool,
    tiers: &[crate::offer::Tier<V>],
    at: usize,
    have: i128,
    show: impl Fn(&V) -> String,
) -> String {
    let unit = |n: i64| {
        if money {
            currency.format(n)
        } else if n == 1 {
            "1 item".into()
        } else {
            format!("{n} items")
        }
    };
    let mut note =
        format!("tier {} of {}: {} from {}", at + 1, tiers.len(), show(&tiers[at].value), unit(tiers[at].threshold));
    if let Some(next) = tiers.get(at + 1) {
        let short = clamp(i128::from(next.threshold) - have);
        note.push_str(&format!("; add {} more for {}", unit(short), show(&next.value)));
    }
    note
}

pub(crate) struct State {
    currency: Currency,
    /// Canonical line position → input line index.
    order: Vec<u32>,
    /// Canonical line position → its first unit rank (one extra entry at the end).
    start: Vec<u32>,
    /// Unit rank → canonical line position.
    rank_line: Vec<u32>,
    /// Canonical line position → product id (for coverage).
    product: Vec<i64>,
    original: Vec<i64>,
    remaining: Vec<i64>,
    /// Unit rank → index position of the exclusive offer that used it, or NONE.
    excl: Vec<u32>,
    /// Unit rank → index position of the first non-exclusive offer that used it, or NONE.
    shared: Vec<u32>,
    /// Unit rank → epoch of the offer run that used it (an offer never uses a unit twice).
    mark: Vec<u32>,
    /// Canonical line position → epoch of the offer run whose condition range holds it.
    cond_stamp: Vec<u32>,
    epoch: u32,
    /// Unit rank → the unit's place in input order (input line, then unit): [`UnitRef`]'s
    /// order as one integer, so an applied offer's units are sorted on a `u32`.
    input_pos: Vec<u32>,
}

/// How one application sees a unit: the offer's exclusivity, the run's epoch, and whether
/// other offers' claims are ignored (to test "would it apply but for exclusivity?").
#[derive(Clone, Copy)]
struct View {
    epoch: u32,
    exclusive: bool,
    ignore_claims: bool,
}

fn items(n: usize) -> String {
    if n == 1 { "add 1 more item from the range".to_owned() } else { format!("add {n} more items from the range") }
}

fn products(n: usize) -> String {
    if n == 1 {
        "add 1 more different product from the range".to_owned()
    } else {
        format!("add {n} more different products from the range")
    }
}

fn cmp_lines(a: &Line, b: &Line) -> std::cmp::Ordering {
    a.unit_price
        .cmp(&b.unit_price)
        .then_with(|| a.sku.cmp(&b.sku))
        .then(a.product.cmp(&b.product))
        .then_with(|| a.attributes.cmp(&b.attributes))
        .then(a.quantity.cmp(&b.quantity))
}

impl State {
    /// Expects input that passed [`PricingInput::validate`] (bounded units, prices ≥ 0).
    pub fn new(input: &PricingInput) -> Self {
        let lines = &input.lines;
        let mut order: Vec<u32> = (0..lines.len() as u32).collect();
        order.sort_by(|&i, &j| cmp_lines(&lines[i as usize], &lines[j as usize]).then(i.cmp(&j)));
        let units: usize = lines.iter().map(|l| l.quantity as usize).sum();
        let mut start = Vec::with_capacity(lines.len() + 1);
        let mut rank_line = Vec::with_capacity(units);
        let mut original = Vec::with_capacity(units);
        let mut product = Vec::with_capacity(lines.len());
        for (k, &i) in order.iter().enumerate() {
            let l = &lines[i as usize];
            start.push(rank_line.len() as u32);
            product.push(l.product.0);
            for _ in 0..l.quantity {
                rank_line.push(k as u32);
                original.push(l.unit_price);
            }
        }
        start.push(rank_line.len() as u32);
        let mut input_start = vec![0u32; lines.len()];
        let mut at = 0u32;
        for (i, l) in lines.iter().enumerate() {
            input_start[i] = at;
            at += l.quantity;
        }
        let input_pos = (0..units)
            .map(|u| input_start[order[rank_line[u] as usize] as usize] + u as u32 - start[rank_line[u] as usize])
            .collect();
        State {
            currency: input.currency,
            order,
            start,
            rank_line,
            product,
            remaining: original.clone(),
            original,
            excl: vec![NONE; units],
            shared: vec![NONE; units],
            mark: vec![0; units],
            cond_stamp: vec![0; lines.len()],
            epoch: 0,
            input_pos,
        }
    }

    pub fn sorted_lines<'a>(&self, input: &'a PricingInput) -> Vec<&'a Line> {
        self.order.iter().map(|&i| &input.lines[i as usize]).collect()
    }

    /// Where a unit stands in input order (the order of [`UnitRef`]s).
    pub fn input_pos(&self, rank: usize) -> u32 {
        self.input_pos[rank]
    }

    pub fn unit_ref(&self, rank: usize) -> UnitRef {
        let k = self.rank_line[rank] as usize;
        UnitRef { line: self.order[k] as usize, unit: rank - self.start[k] as usize }
    }

    fn units_asc<'a>(&'a self, lines: &'a [u32]) -> impl Iterator<Item = usize> + 'a {
        lines.iter().flat_map(|&k| self.start[k as usize] as usize..self.start[k as usize + 1] as usize)
    }

    fn blocked(&self, u: usize, exclusive: bool) -> bool {
        self.excl[u] != NONE || (exclusive && self.shared[u] != NONE)
    }

    fn price(&self, u: usize, v: View) -> i64 {
        if v.ignore_claims && self.blocked(u, v.exclusive) { self.original[u] } else { self.remaining[u] }
    }

    fn avail(&self, u: usize, v: View) -> bool {
        self.mark[u] != v.epoch && (v.ignore_claims || !self.blocked(u, v.exclusive)) && self.price(u, v) > 0
    }

    fn in_cond(&self, u: usize, v: View) -> bool {
        self.cond_stamp[self.rank_line[u] as usize] == v.epoch
    }

    fn new_epoch(&mut self, cond: &[u32]) -> u32 {
        self.epoch += 1;
        for &k in cond {
            self.cond_stamp[k as usize] = self.epoch;
        }
        self.epoch
    }

    /// All applications of one offer within `limits`, or why it did not apply at all.
    pub fn run_offer(&mut self, pos: u32, o: &Offer, cond: &[u32], ben: &[u32], limits: Limits) -> Result<Run, Fail> {
        let Limits { max_apps, mut budget } = limits;
        let ben = if matches!(o.benefit.kind, BenefitKind::FixedPrice(_)) { cond } else { ben };
        let view = View { epoch: self.new_epoch(cond), exclusive: o.exclusive, ignore_claims: false };
        let mut pool = self.pool(o, cond, ben, view);
        let mut run = Run::default();
        while u64::from(run.applications) < max_apps {
            match self.apply_once(o, &mut pool, budget) {
                Ok((app, note)) => {
                    run.detail = note;
                    for &(u, s) in &app.benefit {
                        self.remaining[u] -= s;
                    }
                    run.amount = run.amount.saturating_add(app.discount);
                    run.applications += 1;
                    run.benefit_units.extend(app.benefit);
                    run.condition_units.extend(app.condition);
                    if let Some(b) = budget.as_mut() {
                        *b -= app.discount;
                    }
                    if app.shipping {
                        run.shipping_free = true;
                        break;
                    }
                    if app.gift {
                        run.gift = true;
                        break;
                    }
                    if budget == Some(0) || o.benefit.kind.thresholds().is_some() {
                        // A tiered benefit applies once: the highest tier reached.
                        break;
                    }
                }
                Err(f) if run.applications == 0 => return Err(self.explain(o, cond, ben, budget, f)),
                Err(_) => break,
            }
        }
        for u in run.benefit_units.iter().map(|x| x.0).chain(run.condition_units.iter().copied()) {
            if o.exclusive {
                self.excl[u] = pos;
            } else if self.shared[u] == NONE {
                self.shared[u] = pos;
            }
        }
        Ok(run)
    }

    /// The first application failed: was it only because other offers hold the units?
    fn explain(&mut self, o: &Offer, cond: &[u32], ben: &[u32], budget: Option<i64>, f: Fail) -> Fail {
        let blocked_by = |s: &Self, u: usize| -> Option<u32> {
            if s.excl[u] != NONE {
                Some(s.excl[u])
            } else if o.exclusive && s.shared[u] != NONE {
                Some(s.shared[u])
            } else {
                None
            }
        };
        let any_blocked = self.units_asc(cond).chain(self.units_asc(ben)).any(|u| blocked_by(self, u).is_some());
        if !any_blocked {
            return f;
        }
        let view = View { epoch: self.new_epoch(cond), exclusive: o.exclusive, ignore_claims: true };
        let mut pool = self.pool(o, cond, ben, view);
        let Ok((app, _)) = self.apply_once(o, &mut pool, budget) else {
            return f;
        };
        let used = app.benefit.iter().map(|x| x.0).chain(app.condition.iter().copied());
        let by = used
            .filter_map(|u| blocked_by(self, u))
            .min()
            .or_else(|| self.units_asc(cond).chain(self.units_asc(ben)).filter_map(|u| blocked_by(self, u)).min());
        by.map_or(f, Fail::Excluded)
    }

    /// The units an offer run may use, collected once: availability only shrinks during a
    /// run (only the run itself marks units), so later applications just skip marked units
    /// and keep running totals instead of rescanning the ranges.
    fn pool(&self, o: &Offer, cond: &[u32], ben: &[u32], view: View) -> Pool {
        let c = self.available(cond, view);
        let b = if std::ptr::eq(cond, ben) { c.clone() } else { self.available(ben, view) };
        let c_sum = c.iter().map(|&u| i128::from(self.price(u, view))).sum();
        let mut c_products = HashMap::new();
        if matches!(o.condition.kind, ConditionKind::Coverage(_)) {
            for &u in &c {
                *c_products.entry(self.product_of(u)).or_insert(0u32) += 1;
            }
        }
        Pool { view, c_lo: 0, c_hi: c.len(), b_lo: 0, c_count: c.len(), c_sum, c_products, c, b }
    }

    /// The available units of `lines`, cheapest first, in a vector sized for all of them
    /// (grown one push at a time, the collection cost more than the scan).
    fn available(&self, lines: &[u32], view: View) -> Vec<usize> {
        let n = lines.iter().map(|&k| (self.start[k as usize + 1] - self.start[k as usize]) as usize).sum();
        let mut out = Vec::with_capacity(n);
        out.extend(self.units_asc(lines).filter(|&u| self.avail(u, view)));
        out
    }

    fn product_of(&self, u: usize) -> i64 {
        self.product[self.rank_line[u] as usize]
    }

    fn used(&self, u: usize, v: View) -> bool {
        self.mark[u] == v.epoch
    }

    /// Marks a unit as used by this run and keeps the pool's totals in step.
    fn take(&mut self, pool: &mut Pool, u: usize) {
        let v = pool.view;
        if self.used(u, v) {
            return;
        }
        self.mark[u] = v.epoch;
        if self.in_cond(u, v) {
            pool.c_count -= 1;
            pool.c_sum -= i128::from(self.price(u, v));
            let p = self.product_of(u);
            if let Some(n) = pool.c_products.get_mut(&p) {
                *n -= 1;
                if *n == 0 {
                    pool.c_products.remove(&p);
                }
            }
        }
    }

    /// Up to `n` unused units of `list` from `*lo` on, cheapest first (advancing `*lo` past
    /// the used prefix), their prices and the sum.
    fn cheapest(&self, list: &[usize], lo: &mut usize, v: View, n: usize) -> (Vec<usize>, Vec<i64>, i128) {
        while *lo < list.len() && self.used(list[*lo], v) {
            *lo += 1;
        }
        let mut sel: Vec<usize> = Vec::with_capacity(n.min(list.len() - *lo));
        sel.extend(list[*lo..].iter().copied().filter(|&u| !self.used(u, v)).take(n));
        let prices: Vec<i64> = sel.iter().map(|&u| self.price(u, v)).collect();
        let base = prices.iter().map(|&p| i128::from(p)).sum();
        (sel, prices, base)
    }

    /// The unused units of the condition pool, most expensive first.
    fn dearest<'a>(&'a self, pool: &'a mut Pool) -> impl Iterator<Item = usize> + 'a {
        let v = pool.view;
        while pool.c_hi > 0 && self.used(pool.c[pool.c_hi - 1], v) {
            pool.c_hi -= 1;
        }
        pool.c[..pool.c_hi].iter().rev().copied().filter(move |&u| !self.used(u, v))
    }

    /// One application on the pool's unused units. Marks the units it uses (only when it
    /// succeeds).
    fn apply_once(&mut self, o: &Offer, pool: &mut Pool, budget: Option<i64>) -> Result<(App, Option<String>), Fail> {
        let money = matches!(o.condition.kind, ConditionKind::Amount(_));
        let have = if money { pool.c_sum } else { pool.c_count as i128 };
        // A tiered benefit: the tier reached (or what the first needs), and what to say of it.
        let (tier, note) = match &o.benefit.kind {
            BenefitKind::PercentageTiers(t) => {
                let at = self.tier_reached(o, pool, t.iter().map(|t| t.threshold))?;
                (Some(at), Some(tier_note(self.currency, money, t, at, have, |p| format!("{p} %"))))
            }
            BenefitKind::FixedTiers(t) => {
                let at = self.tier_reached(o, pool, t.iter().map(|t| t.threshold))?;
                let cur = self.currency;
                (
                    Some(at),
                    Some(tier_note(self.currency, money, t, at, have, move |v| format!("{} off", cur.format(*v)))),
                )
            }
            _ => (None, None),
        };
        let mut app = self.apply_benefit(o, pool, budget, tier)?;
        if note.is_some() {
            // Every unit of the condition range counted towards the tier reached.
            let rest: Vec<usize> = self.dearest(pool).collect();
            for u in rest {
                self.take(pool, u);
                app.condition.push(u);
            }
        }
        Ok((app, note))
    }

    /// One application's benefit; `tier` is the tier a tiered benefit reached.
    fn apply_benefit(
        &mut self,
        o: &Offer,
        pool: &mut Pool,
        budget: Option<i64>,
        tier: Option<usize>,
    ) -> Result<App, Fail> {
        let v = pool.view;
        // 1. The condition.
        match o.condition.kind {
            ConditionKind::Count(n) => {
                if pool.c_count < n as usize {
                    return Err(Fail::Condition(items(n as usize - pool.c_count)));
                }
            }
            ConditionKind::Amount(value) => {
                if pool.c_sum < i128::from(value) {
                    let short = clamp(i128::from(value) - pool.c_sum);
                    return Err(Fail::Condition(format!("add {} more from the range", self.currency.format(short))));
                }
            }
            ConditionKind::Coverage(n) => {
                if pool.c_products.len() < n as usize {
                    return Err(Fail::Condition(products(n as usize - pool.c_products.len())));
                }
            }
            ConditionKind::None => {}
        }

        // 2. The benefit: which units, how much, and the weights to spread it by.
        let cap_items = o.benefit.max_affected_items.map_or(usize::MAX, |m| m as usize);
        let mut shipping = false;
        let (sel, weights, discount): (Vec<usize>, Vec<i64>, i128) = match &o.benefit.kind {
            BenefitKind::Percentage(p) => {
                let (sel, prices, base) = self.cheapest(&pool.b, &mut pool.b_lo, v, cap_items);
                (sel, prices, p.floor_of(base))
            }
            BenefitKind::Fixed(value) => {
                let (sel, prices, base) = self.cheapest(&pool.b, &mut pool.b_lo, v, cap_items);
                (sel, prices, i128::from(*value).min(base))
            }
            BenefitKind::FixedPerUnit(value) => {
                let (sel, prices, _) = self.cheapest(&pool.b, &mut pool.b_lo, v, cap_items);
                let per: Vec<i64> = prices.iter().map(|&p| p.min(*value).max(0)).collect();
                let d = per.iter().map(|&x| i128::from(x)).sum();
                (sel, per, d)
            }
            BenefitKind::FixedPrice(value) => {
                let n = match (&o.condition.kind, o.benefit.max_affected_items) {
                    (ConditionKind::Count(c), Some(m)) => (*c).min(m),
                    (ConditionKind::Count(c), None) => *c,
                    (_, Some(m)) => m,
                    (_, None) => 0,
                } as usize;
                if n == 0 {
                    return Err(Fail::NoDiscount("the offer has no bundle size".to_owned()));
                }
                let (sel, prices, base) = self.cheapest(&pool.c, &mut pool.c_lo, v, n);
                if sel.len() < n {
                    return Err(Fail::Condition(items(n - sel.len())));
                }
                let d = (base - i128::from(*value)).max(0);
                if d == 0 {
                    return Err(Fail::NoDiscount("the items already cost no more than the offer price".to_owned()));
                }
                (sel, prices, d)
            }
            BenefitKind::Multibuy => {
                let (free, _, _) = self.cheapest(&pool.b, &mut pool.b_lo, v, 1);
                let Some(&free) = free.first() else {
                    return Err(Fail::NoDiscount("no item in the offer's range is left to discount".to_owned()));
                };
                let n = match o.condition.kind {
                    ConditionKind::Count(n) => n,
                    // Spend (or cover) this much, get the cheapest unit of the range free
                    // (Oscar's multibuy with a value condition): the free unit carries the
                    // whole discount; step 3 consumes the condition.
                    ConditionKind::Amount(_) | ConditionKind::Coverage(_) => {
                        let price = self.price(free, v);
                        return self.finish_application(
                            o,
                            pool,
                            budget,
                            vec![free],
                            vec![price],
                            i128::from(price),
                            false,
                        );
                    }
                    ConditionKind::None => {
                        return Err(Fail::NoDiscount(
                            "a multibuy needs a count, amount or coverage condition".to_owned(),
                        ));
                    }
                };
                let need = (n as usize).saturating_sub(usize::from(self.in_cond(free, v)));
                let mut sel: Vec<usize> = self.dearest(pool).filter(|&u| u != free).take(need).collect();
                if sel.len() < need {
                    return Err(Fail::Condition(items(need - sel.len())));
                }
                sel.push(free);
                sel.sort_unstable();
                let prices: Vec<i64> = sel.iter().map(|&u| self.price(u, v)).collect();
                let d = i128::from(self.price(free, v));
                (sel, prices, d)
            }
            BenefitKind::ShippingFree => {
                shipping = true;
                (Vec::new(), Vec::new(), 0)
            }
            // No unit of the basket is discounted: the gift units are given once the
            // condition is met (consumed in step 3).
            BenefitKind::Gift { .. } => (Vec::new(), Vec::new(), 0),
            BenefitKind::PercentageTiers(tiers) => {
                let Some(at) = tier else { return Err(Fail::NoDiscount("no tier was reached".into())) };
                let (sel, prices, base) = self.cheapest(&pool.b, &mut pool.b_lo, v, cap_items);
                (sel, prices, tiers[at].value.floor_of(base))
            }
            BenefitKind::FixedTiers(tiers) => {
                let Some(at) = tier else { return Err(Fail::NoDiscount("no tier was reached".into())) };
                let (sel, prices, base) = self.cheapest(&pool.b, &mut pool.b_lo, v, cap_items);
                (sel, prices, i128::from(tiers[at].value).min(base))
            }
        };
        self.finish_application(o, pool, budget, sel, weights, discount, shipping)
    }

    /// The highest tier the condition range's available units reach (their remaining value
    /// for an `amount` condition, their number for a `count` one), or what is missing for
    /// the first.
    fn tier_reached(&self, o: &Offer, pool: &Pool, thresholds: impl Iterator<Item = i64>) -> Result<usize, Fail> {
        let (have, money) = match o.condition.kind {
            ConditionKind::Amount(_) => (pool.c_sum, true),
            _ => (pool.c_count as i128, false),
        };
        let mut reached = None;
        let mut first = None;
        for (i, t) in thresholds.enumerate() {
            first.get_or_insert(t);
            if i128::from(t) <= have {
                reached = Some(i);
            }
        }
        reached.ok_or_else(|| {
            let short = clamp(i128::from(first.unwrap_or(0)) - have);
            Fail::Condition(if money {
                format!("add {} more from the range", self.currency.format(short))
            } else {
                items(short.max(0) as usize)
            })
        })
    }

    /// Steps 2 (the amount, trimmed and spread) and 3 (the condition's units) of one
    /// application whose benefit units, weights and raw discount are chosen.
    #[allow(clippy::too_many_arguments)]
    fn finish_application(
        &mut self,
        o: &Offer,
        pool: &mut Pool,
        budget: Option<i64>,
        sel: Vec<usize>,
        weights: Vec<i64>,
        discount: i128,
        shipping: bool,
    ) -> Result<App, Fail> {
        let v = pool.view;
        // Never more than the units can take (only an invalid offer, e.g. a negative fixed
        // price, could ask for more), so the shares always sum to the discount.
        let room: i128 = weights.iter().map(|&w| i128::from(w.max(0))).sum();
        let mut discount = clamp(discount.min(room).max(0));
        if let Some(b) = budget {
            discount = discount.min(b.max(0));
        }
        let gift = matches!(o.benefit.kind, BenefitKind::Gift { .. });
        if discount == 0 && !shipping && !gift {
            let detail = if sel.is_empty() {
                "no item in the offer's range is left to discount"
            } else {
                "the discount rounds down to nothing"
            };
            return Err(Fail::NoDiscount(detail.to_owned()));
        }
        let shares = allocate(discount, &weights, &weights);

        // 3. The condition's units: the benefit's units in the condition range count first,
        //    the rest is consumed most expensive first.
        let mut consumed: Vec<usize> = Vec::new();
        match o.condition.kind {
            ConditionKind::Count(n) => {
                let have = sel.iter().filter(|&&u| self.in_cond(u, v)).count();
                let need = (n as usize).saturating_sub(have);
                for &u in &sel {
                    self.take(pool, u);
                }
                consumed.extend(self.dearest(pool).take(need));
            }
            ConditionKind::Amount(value) => {
                let mut acc: i128 =
                    sel.iter().filter(|&&u| self.in_cond(u, v)).map(|&u| i128::from(self.price(u, v))).sum();
                for &u in &sel {
                    self.take(pool, u);
                }
                if acc < i128::from(value) {
                    for u in self.dearest(pool) {
                        consumed.push(u);
                        acc += i128::from(self.price(u, v));
                        if acc >= i128::from(value) {
                            break;
                        }
                    }
                }
            }
            ConditionKind::Coverage(n) => {
                let mut covered: BTreeSet<i64> =
                    sel.iter().filter(|&&u| self.in_cond(u, v)).map(|&u| self.product_of(u)).collect();
                for &u in &sel {
                    self.take(pool, u);
                }
                if covered.len() < n as usize {
                    for u in self.dearest(pool) {
                        if covered.insert(self.product_of(u)) {
                            consumed.push(u);
                            if covered.len() >= n as usize {
                                break;
                            }
                        }
                    }
                }
            }
            ConditionKind::None => {
                for &u in &sel {
                    self.take(pool, u);
                }
            }
        }
        for &u in &consumed {
            self.take(pool, u);
        }

        let mut benefit = Vec::with_capacity(sel.len());
        for (&u, &s) in sel.iter().zip(&shares) {
            if s > 0 {
                benefit.push((u, s));
            } else {
                consumed.push(u);
            }
        }
        Ok(App { discount, shipping, gift, benefit, condition: consumed })
    }

    /// Builds the output from the final unit prices.
    pub fn finish(self, input: &PricingInput, out: Output) -> Pricing {
        let mut pos_of = vec![0usize; self.order.len()];
        for (k, &i) in self.order.iter().enumerate() {
            pos_of[i as usize] = k;
        }
        let mut before: i128 = 0;
        let mut disc: i128 = 0;
        let lines = (0..input.lines.len())
            .map(|i| {
                let k = pos_of[i];
                let r = self.start[k] as usize..self.start[k + 1] as usize;
                let units: Vec<UnitResult> = r
                    .map(|u| UnitResult {
                        price: self.original[u],
                        discount: self.original[u] - self.remaining[u],
                        net: self.remaining[u],
                    })
                    .collect();
                let d: i64 = units.iter().map(|x| x.discount).sum();
                let n: i64 = units.iter().map(|x| x.net).sum();
                before += i128::from(d) + i128::from(n);
                disc += i128::from(d);
                LineResult { units, discount: d, net: n }
            })
            .collect();
        for g in &out.gifts {
            let value: i128 = g.units.iter().map(|u| i128::from(u.price)).sum();
            before += value;
            disc += value;
        }
        Pricing {
            currency: input.currency,
            total_before_discount: clamp(before),
            total_discount: clamp(disc),
            total: clamp(before - disc),
            shipping_free: out.shipping_free,
            lines,
            applied: out.applied,
            not_applied: out.not_applied,
            gifts: out.gifts,
        }
    }
}
