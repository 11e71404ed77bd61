//! Splitting discounts over the units they touched: one rule for the engine's offers and
//! for external (Elastic Path) custom discounts.
//!
//! # The allocation rule
//! An amount `A` (whole minor units) is spread over units in proportion to their weights
//! (the engine uses each unit's remaining price):
//!
//! 1. Each unit's exact share is `A × wᵢ / Σw`. Its floor is given first.
//! 2. The minor units left over (fewer than the number of units) go one each to the units
//!    with the **largest remainders**; equal remainders go to the **later** unit in the
//!    order given. The engine passes units cheapest first, so a tie goes to the more
//!    expensive unit: 199.90 over three units of 199.90 is 66.63, 66.63, 66.64, as seed 000
//!    shows, and 4.00 over three units of 2.00 is 1.33, 1.33, 1.34, as Oscar's "last line
//!    takes the remainder" gives.
//! 3. No unit gets more than its cap (the engine passes what is left of the unit's price).
//!    A unit whose proportional share would exceed its cap gets exactly its cap, and the
//!    rest is spread over the other units by the same rule ("water filling"), so the total
//!    is still exact whenever `A ≤ Σcaps`. `A` above `Σcaps` is reduced to `Σcaps`.
//!
//! The result always sums to `min(A, Σcaps)` exactly, which is the invariant the ledger
//! depends on: Σ `discount_share` of a discount item = its amount, to the minor unit.
//!
//! # Custom discounts
//! [`spread_custom`] places a cart's external discounts with the same routine, so both kinds
//! of discount items obey one rule (contract §4 and §6): item-level discounts first, over
//! their item's units, then cart-level ones over what is left of every unit; each discount's
//! units are handed to [`allocate`] cheapest first, as the engine hands them, so a tie goes
//! to the more expensive unit whatever the order of the cart's items.

/// Splits `amount` over units by `weights`, never exceeding `caps`, as described in the
/// [module docs](self).
///
/// - `weights[i]` and `caps[i]` belong to unit `i`; negative values count as 0.
/// - `caps` may be shorter than `weights` (or empty): a missing cap is "no cap".
/// - If every unit that can still take money has weight 0, they share equally.
/// - `amount ≤ 0` or no units gives all zeros.
///
/// Exact integer arithmetic (`i128`) throughout; total for every input.
pub fn allocate(amount: i64, weights: &[i64], caps: &[i64]) -> Vec<i64> {
    let n = weights.len();
    let mut out = vec![0i64; n];
    if amount <= 0 || n == 0 {
        return out;
    }
    let cap = |i: usize| caps.get(i).copied().unwrap_or(i64::MAX).max(0);
    let weight = |i: usize| weights[i].max(0);
    let cap_total: i128 = (0..n).map(|i| i128::from(cap(i))).sum();
    let mut left: i128 = i128::from(amount).min(cap_total);
    let mut active: Vec<usize> = Vec::with_capacity(n);
    active.extend((0..n).filter(|&i| cap(i) > 0));
    let mut rems: Vec<(i128, usize)> = Vec::with_capacity(active.len());
    let caps_are_weights = std::ptr::eq(weights, caps);

    while left > 0 && !active.is_empty() {
        let total_w: i128 = active.iter().map(|&i| i128::from(weight(i))).sum();
        // Every weight 0: equal shares, as if every weight were 1.
        let equal = total_w == 0;
        let total_w = if equal { active.len() as i128 } else { total_w };
        let w = |i: usize| if equal { 1 } else { i128::from(weight(i)) };
        // left < 2^63 and w < 2^63, so the product fits in i128.
        let share = |i: usize| div_rem(left * w(i), total_w);
        // Units whose exact share exceeds their cap take the cap; the rest is re-spread.
        // When the caps are the weights (the engine's case: both the remaining prices) no
        // share can: `left` is at most the caps' total, so `left × wᵢ / Σw ≤ wᵢ`, with
        // equality only when `left = Σw`, exactly. The pass is then skipped.
        let mut capped_any = false;
        if !caps_are_weights {
            active.retain(|&i| {
                let (q, r) = share(i);
                let c = i128::from(cap(i));
                if q > c || (q == c && r > 0) {
                    out[i] = cap(i);
                    capped_any = true;
                    false
                } else {
                    true
                }
            });
        }
        if capped_any {
            left = i128::from(amount).min(cap_total) - out.iter().map(|&v| i128::from(v)).sum::<i128>();
            continue;
        }
        rems.clear();
        let mut given: i128 = 0;
        for &i in &active {
            let (q, r) = share(i);
            // q ≤ cap(i) here, so it fits in i64.
            out[i] = i64::try_from(q).unwrap_or(i64::MAX);
            given += q;
            rems.push((r, i));
        }
        let leftover = usize::try_from(left - given).unwrap_or(0).min(rems.len());
        // The `leftover` units with the largest remainders, ties to the later unit, get one
        // more minor unit each. (remainder, index) is a total order, so which units those
        // are is decided; their order among themselves does not matter, so a partition
        // does instead of a sort.
        let larger_first = |a: &(i128, usize), b: &(i128, usize)| b.0.cmp(&a.0).then(b.1.cmp(&a.1));
        if leftover > 0 && leftover < rems.len() {
            rems.select_nth_unstable_by(leftover - 1, larger_first);
        }
        for &(_, i) in &rems[..leftover] {
            out[i] += 1;
        }
        break;
    }
    out
}

/// `p / d` and `p % d` for `p ≥ 0` and `d > 0`, in 64-bit arithmetic when both fit: a
/// discount times a price almost always does, and 128-bit division is a library call
/// several times slower.
fn div_rem(p: i128, d: i128) -> (i128, i128) {
    match (u64::try_from(p), u64::try_from(d)) {
        (Ok(p), Ok(d)) => (i128::from(p / d), i128::from(p % d)),
        _ => (p / d, p % d),
    }
}

/// One line of an external cart: `quantity` units at `unit_price` minor units each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomLine {
    pub unit_price: i64,
    pub quantity: u32,
}

/// What an external discount applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomTarget {
    /// Every unit of the cart.
    Cart,
    /// The units of this line (an index into the lines given).
    Line(usize),
}

/// An external discount: `amount` minor units off (positive) its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomDiscount {
    pub amount: i64,
    pub target: CustomTarget,
}

/// Custom discounts placed on a cart's units by [`spread_custom`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomSpread {
    /// `(line index, unit price)` per unit: lines in the order given, a line's units
    /// consecutive. Unit indexes below point into this list.
    pub units: Vec<(usize, i64)>,
    /// Per discount (in the order given): `(unit index, share)` with share > 0, by unit index.
    pub shares: Vec<Vec<(usize, i64)>>,
    /// Discount indexes in the order they were placed (item-level first).
    pub order: Vec<usize>,
    /// True when some discount could not be placed in full (it exceeds what is left of the
    /// units it applies to).
    pub short: bool,
}

impl CustomSpread {
    /// The discount placed on each line, summed over discounts (`lines` = how many lines).
    pub fn line_totals(&self, lines: usize) -> Vec<i64> {
        let mut out = vec![0i64; lines];
        for shares in &self.shares {
            for &(u, s) in shares {
                if let Some(t) = out.get_mut(self.units[u].0) {
                    *t += s;
                }
            }
        }
        out
    }
}

/// Places external discounts on a cart's units.
///
/// Item-level discounts go first, in line order (a line's own discounts in the order
/// given), each over its line's units; then cart-level ones, in the order given, over what
/// is left of every unit. Each is split by [`allocate`] with weights = unit prices and caps
/// = what is left of each unit, its units passed cheapest first (a stable sort: units of
/// equal price keep their cart order), so ties go to the more expensive unit as the
/// contract's rule says, whatever the order of the lines. A discount whose line does not
/// exist is not placed at all (and not counted as short). A negative amount places nothing.
///
/// Linear in lines, units and discounts (plus one sort of the units by price when there is
/// a cart-level discount): a line's units are a range of the unit list, and discounts are
/// put in order by one pass into per-line buckets.
pub fn spread_custom(lines: &[CustomLine], discounts: &[CustomDiscount]) -> CustomSpread {
    let mut units = Vec::new();
    let mut starts = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        starts.push(units.len());
        units.extend(std::iter::repeat_n((i, l.unit_price), l.quantity as usize));
    }
    let mut left: Vec<i64> = units.iter().map(|u| u.1.max(0)).collect();
    let mut shares = vec![Vec::new(); discounts.len()];
    let mut by_line: Vec<Vec<usize>> = vec![Vec::new(); lines.len()];
    let mut cart = Vec::new();
    for (k, d) in discounts.iter().enumerate() {
        match d.target {
            CustomTarget::Line(line) => {
                if let Some(b) = by_line.get_mut(line) {
                    b.push(k);
                }
            }
            CustomTarget::Cart => cart.push(k),
        }
    }
    let mut order: Vec<usize> = by_line.into_iter().flatten().collect();
    order.extend(&cart);
    // Every unit, cheapest first, stable: the order `allocate`'s tie rule is written for.
    // A line's units share one price, so its range is already in that order.
    let all_cheapest_first: Vec<usize> = if cart.is_empty() {
        Vec::new()
    } else {
        let mut all: Vec<usize> = (0..units.len()).collect();
        all.sort_by_key(|&u| units[u].1);
        all
    };
    let mut short = false;
    for &k in &order {
        let d = discounts[k];
        let target: Vec<usize> = match d.target {
            CustomTarget::Line(line) => (starts[line]..starts[line] + lines[line].quantity as usize).collect(),
            CustomTarget::Cart => all_cheapest_first.clone(),
        };
        let amount = d.amount.max(0);
        let weights: Vec<i64> = target.iter().map(|&u| units[u].1).collect();
        let caps: Vec<i64> = target.iter().map(|&u| left[u]).collect();
        let got = allocate(amount, &weights, &caps);
        if got.iter().sum::<i64>() != amount {
            short = true;
        }
        let mut placed: Vec<(usize, i64)> =
            target.iter().zip(got).filter(|&(_, s)| s > 0).map(|(&u, s)| (u, s)).collect();
        placed.sort_unstable_by_key(|&(u, _)| u);
        for &(u, s) in &placed {
            left[u] -= s;
        }
        shares[k] = placed;
    }
    CustomSpread { units, shares, order, short }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn examples_from_the_contract() {
        assert_eq!(allocate(19990, &[19990; 3], &[19990; 3]), vec![6663, 6663, 6664]);
        assert_eq!(allocate(400, &[200; 3], &[200; 3]), vec![133, 133, 134]);
        assert_eq!(allocate(100, &[700; 3], &[700; 3]), vec![33, 33, 34]);
    }

    #[test]
    fn proportional_with_remainders() {
        // 10 over 1:2:3 → 1.67, 3.33, 5 → floors 1,3,5 (+1 to the largest remainder: unit 0).
        assert_eq!(allocate(10, &[1, 2, 3], &[]), vec![2, 3, 5]);
        assert_eq!(allocate(0, &[1, 2], &[]), vec![0, 0]);
        assert_eq!(allocate(-5, &[1, 2], &[]), vec![0, 0]);
        assert_eq!(allocate(5, &[], &[]), Vec::<i64>::new());
        assert_eq!(allocate(3, &[0, 0, 0], &[]), vec![1, 1, 1]);
        assert_eq!(allocate(2, &[0, 0, 0], &[]), vec![0, 1, 1]);
    }

    #[test]
    fn caps_are_respected_and_total_kept() {
        // Unit 0 would get 50 but can take 10; the other 90 go to unit 1 and 2 by weight.
        assert_eq!(allocate(100, &[1, 1, 1], &[10, 1000, 1000]), vec![10, 45, 45]);
        // More than the caps allow: reduced to Σcaps.
        assert_eq!(allocate(100, &[1, 1], &[10, 20]), vec![10, 20]);
        // A zero-weight unit only takes money once the weighted ones are full.
        assert_eq!(allocate(30, &[1, 0], &[10, 100]), vec![10, 20]);
        assert_eq!(
            allocate(i64::MAX, &[i64::MAX, i64::MAX, 1], &[i64::MAX, 5, i64::MAX]).iter().sum::<i64>(),
            i64::MAX
        );
    }

    fn cart(amount: i64) -> CustomDiscount {
        CustomDiscount { amount, target: CustomTarget::Cart }
    }

    #[test]
    fn a_custom_discount_tie_goes_to_the_more_expensive_unit() {
        // 0.02 over 3.00 and 1.00: exact shares 0.015 and 0.005, one minor unit each as
        // floors, the remainders tie; the later unit cheapest first is the 3.00 one.
        for lines in [
            [CustomLine { unit_price: 300, quantity: 1 }, CustomLine { unit_price: 100, quantity: 1 }],
            [CustomLine { unit_price: 100, quantity: 1 }, CustomLine { unit_price: 300, quantity: 1 }],
        ] {
            let sp = spread_custom(&lines, &[cart(2)]);
            let expensive = if lines[0].unit_price == 300 { 0 } else { 1 };
            assert_eq!(sp.shares, vec![vec![(expensive, 2)]]);
            assert!(!sp.short);
        }
    }

    #[test]
    fn item_level_discounts_go_first_and_cart_level_ones_take_what_is_left() {
        let lines = [CustomLine { unit_price: 500, quantity: 2 }, CustomLine { unit_price: 200, quantity: 1 }];
        let discounts = [cart(600), CustomDiscount { amount: 900, target: CustomTarget::Line(0) }];
        let sp = spread_custom(&lines, &discounts);
        assert_eq!(sp.units, vec![(0, 500), (0, 500), (1, 200)]);
        assert_eq!(sp.order, vec![1, 0]);
        assert_eq!(sp.shares[1], vec![(0, 450), (1, 450)]);
        // What is left: 50, 50, 200; 600 over weights 500:500:200 water-fills to all of it.
        assert_eq!(sp.shares[0], vec![(0, 50), (1, 50), (2, 200)]);
        assert!(sp.short, "600 > 300 left");
        assert_eq!(sp.line_totals(2), vec![1000, 200]);
        // A discount on a line that is not there is not placed, and not short.
        let sp = spread_custom(&lines, &[CustomDiscount { amount: 5, target: CustomTarget::Line(7) }]);
        assert_eq!((sp.order.len(), sp.short), (0, false));
    }

    fn lines_and_discounts() -> impl Strategy<Value = (Vec<CustomLine>, Vec<CustomDiscount>)> {
        // Distinct prices per line (a shuffled sample of a set), so the cheapest-first order
        // does not depend on the order of the lines.
        proptest::sample::subsequence((1..=40i64).map(|p| p * 37).collect::<Vec<_>>(), 1..6)
            .prop_flat_map(|prices| {
                let n = prices.len();
                (
                    Just(prices).prop_shuffle(),
                    proptest::collection::vec(0u32..4, n),
                    proptest::collection::vec((0i64..3000, proptest::option::of(0..n)), 0..6),
                )
            })
            .prop_map(|(prices, qty, ds)| {
                let lines =
                    prices.iter().zip(qty).map(|(&unit_price, quantity)| CustomLine { unit_price, quantity }).collect();
                let discounts = ds
                    .into_iter()
                    .map(|(amount, line)| CustomDiscount {
                        amount,
                        target: line.map_or(CustomTarget::Cart, CustomTarget::Line),
                    })
                    .collect();
                (lines, discounts)
            })
    }

    /// The first `spread_custom`, quadratic (every discount scans every unit): the
    /// reference the linear one must match.
    fn reference_spread(lines: &[CustomLine], discounts: &[CustomDiscount]) -> CustomSpread {
        let mut units = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            units.extend(std::iter::repeat_n((i, l.unit_price), l.quantity as usize));
        }
        let mut left: Vec<i64> = units.iter().map(|u| u.1.max(0)).collect();
        let mut shares = vec![Vec::new(); discounts.len()];
        let mut order: Vec<usize> = Vec::with_capacity(discounts.len());
        for line in 0..lines.len() {
            order.extend(
                discounts.iter().enumerate().filter(|(_, d)| d.target == CustomTarget::Line(line)).map(|(k, _)| k),
            );
        }
        order.extend(discounts.iter().enumerate().filter(|(_, d)| d.target == CustomTarget::Cart).map(|(k, _)| k));
        let mut short = false;
        for &k in &order {
            let d = discounts[k];
            let mut target: Vec<usize> = match d.target {
                CustomTarget::Line(line) => (0..units.len()).filter(|&u| units[u].0 == line).collect(),
                CustomTarget::Cart => (0..units.len()).collect(),
            };
            target.sort_by_key(|&u| units[u].1);
            let amount = d.amount.max(0);
            let weights: Vec<i64> = target.iter().map(|&u| units[u].1).collect();
            let caps: Vec<i64> = target.iter().map(|&u| left[u]).collect();
            let got = allocate(amount, &weights, &caps);
            if got.iter().sum::<i64>() != amount {
                short = true;
            }
            let mut placed: Vec<(usize, i64)> =
                target.iter().zip(got).filter(|&(_, s)| s > 0).map(|(&u, s)| (u, s)).collect();
            placed.sort_unstable_by_key(|&(u, _)| u);
            for &(u, s) in &placed {
                left[u] -= s;
            }
            shares[k] = placed;
        }
        CustomSpread { units, shares, order, short }
    }

    /// The first [`allocate`]: 128-bit division everywhere and a full sort of the
    /// remainders. Kept as the reference the faster one must match.
    fn reference_allocate(amount: i64, weights: &[i64], caps: &[i64]) -> Vec<i64> {
        let n = weights.len();
        let mut out = vec![0i64; n];
        if amount <= 0 || n == 0 {
            return out;
        }
        let cap = |i: usize| caps.get(i).copied().unwrap_or(i64::MAX).max(0);
        let weight = |i: usize| i128::from(weights[i].max(0));
        let cap_total: i128 = (0..n).map(|i| i128::from(cap(i))).sum();
        let mut left: i128 = i128::from(amount).min(cap_total);
        let mut active: Vec<usize> = Vec::with_capacity(n);
        active.extend((0..n).filter(|&i| cap(i) > 0));
        while left > 0 && !active.is_empty() {
            let total_w: i128 = active.iter().map(|&i| weight(i)).sum();
            let equal = total_w == 0;
            let total_w = if equal { active.len() as i128 } else { total_w };
            let share = |i: usize| {
                let p = left * if equal { 1 } else { weight(i) };
                (p / total_w, p % total_w)
            };
            let before = active.len();
            active.retain(|&i| {
                let (q, r) = share(i);
                let c = i128::from(cap(i));
                let over = q > c || (q == c && r > 0);
                if over {
                    out[i] = cap(i);
                }
                !over
            });
            if active.len() != before {
                left = i128::from(amount).min(cap_total) - out.iter().map(|&v| i128::from(v)).sum::<i128>();
                continue;
            }
            let mut rems = Vec::new();
            let mut given = 0;
            for &i in &active {
                let (q, r) = share(i);
                out[i] = i64::try_from(q).unwrap();
                given += q;
                rems.push((r, i));
            }
            rems.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
            for &(_, i) in rems.iter().take(usize::try_from(left - given).unwrap()) {
                out[i] += 1;
            }
            break;
        }
        out
    }

    /// Weights and caps from small prices (ties everywhere) to amounts whose products
    /// need 128 bits.
    fn allocation_input() -> impl Strategy<Value = (i64, Vec<i64>, Vec<i64>)> {
        let value = prop_oneof![0i64..5, 0i64..100_000, 0i64..=i64::MAX, Just(i64::MAX)];
        (1usize..40).prop_flat_map(move |n| {
            (
                prop_oneof![1i64..1_000_000, 1i64..=i64::MAX],
                proptest::collection::vec(value.clone(), n),
                proptest::collection::vec(value.clone(), 0..=n),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn allocate_matches_the_reference((amount, weights, caps) in allocation_input()) {
            let got = allocate(amount, &weights, &caps);
            prop_assert_eq!(&got, &reference_allocate(amount, &weights, &caps));
            let room: i128 = (0..weights.len()).map(|i| i128::from(caps.get(i).copied().unwrap_or(i64::MAX).max(0))).sum();
            prop_assert_eq!(got.iter().map(|&v| i128::from(v)).sum::<i128>(), i128::from(amount).min(room));
            // The engine passes one slice as both (the pass over caps is skipped then).
            prop_assert_eq!(allocate(amount, &weights, &weights), reference_allocate(amount, &weights, &weights));
        }

        #[test]
        fn custom_spreads_are_exact_capped_and_independent_of_line_order(
            (lines, discounts) in lines_and_discounts(),
            rotate in 0usize..6,
        ) {
            let sp = spread_custom(&lines, &discounts);
            // Σ shares = min(amount, what was left of its units when it was placed).
            let mut left: Vec<i64> = sp.units.iter().map(|u| u.1).collect();
            let mut short = false;
            for &k in &sp.order {
                let d = discounts[k];
                let room: i64 = sp.units.iter().enumerate()
                    .filter(|(_, u)| matches!(d.target, CustomTarget::Cart) || d.target == CustomTarget::Line(u.0))
                    .map(|(i, _)| left[i]).sum();
                let placed: i64 = sp.shares[k].iter().map(|s| s.1).sum();
                prop_assert_eq!(placed, d.amount.min(room));
                short |= placed != d.amount;
                for &(u, s) in &sp.shares[k] {
                    prop_assert!(s > 0);
                    left[u] -= s;
                }
            }
            prop_assert_eq!(short, sp.short);
            prop_assert!(left.iter().all(|&l| l >= 0), "no unit beyond its price");

            // The same cart with its lines in another order: every line gets the same.
            let n = lines.len();
            let r = rotate % n;
            let moved = |i: usize| (i + n - r) % n;
            let mut lines2 = lines.clone();
            lines2.rotate_left(r);
            let discounts2: Vec<CustomDiscount> = discounts.iter().map(|d| CustomDiscount {
                amount: d.amount,
                target: match d.target { CustomTarget::Line(i) => CustomTarget::Line(moved(i)), t => t },
            }).collect();
            let sp2 = spread_custom(&lines2, &discounts2);
            for k in 0..discounts.len() {
                let per_line = |sp: &CustomSpread, at: &dyn Fn(usize) -> usize| {
                    let mut t = vec![0i64; n];
                    for &(u, s) in &sp.shares[k] { t[at(sp.units[u].0)] += s; }
                    t
                };
                prop_assert_eq!(per_line(&sp, &|i| i), per_line(&sp2, &|i| (i + r) % n));
            }
        }

        /// The linear spread places exactly what the first, quadratic one did (kept here as
        /// the reference): same units, shares, order and shortfall, equal prices across
        /// lines included.
        #[test]
        fn the_linear_spread_matches_the_reference(
            (lines, discounts) in lines_and_discounts(),
            same_price in proptest::bool::ANY,
        ) {
            let lines: Vec<CustomLine> = if same_price {
                lines.iter().map(|l| CustomLine { unit_price: 100, ..*l }).collect()
            } else {
                lines
            };
            prop_assert_eq!(spread_custom(&lines, &discounts), reference_spread(&lines, &discounts));
        }
    }
}
