//! Splitting one discount over the units it touched.
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
//! The store reuses [`allocate`] to spread external discounts (Elastic Path custom
//! discounts) over a cart's or an item's units, so both kinds of discount items obey one
//! rule.

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
    let mut active: Vec<usize> = (0..n).filter(|&i| cap(i) > 0).collect();
    let mut rems: Vec<(i128, usize)> = Vec::with_capacity(active.len());

    while left > 0 && !active.is_empty() {
        let total_w: i128 = active.iter().map(|&i| i128::from(weight(i))).sum();
        let equal = total_w == 0;
        let (total_w, w) = if equal {
            (active.len() as i128, Box::new(|_: usize| 1i128) as Box<dyn Fn(usize) -> i128>)
        } else {
            (total_w, Box::new(move |i: usize| i128::from(weight(i))) as Box<dyn Fn(usize) -> i128>)
        };
        // left < 2^63 and w < 2^63, so the product fits in i128.
        let share = |i: usize| {
            let p = left * w(i);
            (p / total_w, p % total_w)
        };
        // Units whose exact share exceeds their cap take the cap; the rest is re-spread.
        let mut capped_any = false;
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
        let leftover = usize::try_from(left - given).unwrap_or(0);
        // Largest remainder first; ties to the later unit.
        rems.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
        for &(_, i) in rems.iter().take(leftover) {
            out[i] += 1;
        }
        break;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::allocate;

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
}
