//! Property tests of the refund rules (DESIGN.md invariants 8 and 9, contract §8), over
//! random baskets priced by the engine with random offers, random refund policies and
//! random sequences of cancellations, each applied to the ledger before the next:
//!
//! - no refund is negative, and Σ refunds never exceed the order's amount;
//! - a discount item's reversals never exceed its amount (`cancel_amount ≤ amount`), nor
//!   any unit's share of it;
//! - under `keep_shares` alone a refund is exactly the cancelled units' nets;
//! - cancelling every unit refunds exactly the order's amount, whatever the sequence.
//!
//! Gifts and tiers are in the mix. Cases: `PROPTEST_CASES` if set, else 2,000.

use offerline_core::refund::{RefundDiscount, RefundInput, RefundUnit, plan};
use offerline_core::*;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 2_000;
    }
    c.failure_persistence = None;
    c
}

const SKUS: [&str; 4] = ["A", "B", "C", "D"];

fn cur() -> Currency {
    Currency::parse("try").unwrap()
}

fn line() -> impl Strategy<Value = Line> {
    (0..SKUS.len(), 1u32..4, prop_oneof![1i64..5_000, prop::sample::select(vec![0i64, 100, 19_990, 30_000])])
        .prop_map(|(s, q, price)| Line::new(s as i64, SKUS[s], q, price))
}

fn range() -> impl Strategy<Value = Range> {
    prop_oneof![3 => Just(Range::all()), 2 => prop::sample::subsequence(SKUS.to_vec(), 1..3).prop_map(Range::skus)]
}

fn offer(id: i64) -> impl Strategy<Value = Offer> {
    let condition = prop_oneof![
        Just(ConditionKind::None),
        (1i64..20_000).prop_map(ConditionKind::Amount),
        (2u32..5).prop_map(ConditionKind::Count),
        (1u32..3).prop_map(ConditionKind::Coverage),
    ];
    let benefit = prop_oneof![
        (1i64..=100).prop_map(|p| BenefitKind::Percentage(Percent::from_int(p).unwrap())),
        (1i64..3_000).prop_map(BenefitKind::Fixed),
        (1i64..1_500).prop_map(BenefitKind::FixedPerUnit),
        (0i64..6_000).prop_map(BenefitKind::FixedPrice),
        Just(BenefitKind::Multibuy),
        (1u32..3).prop_map(|quantity| BenefitKind::Gift { sku: "GIFT".into(), quantity }),
        (1i64..10_000, 1i64..=50).prop_map(|(t, v)| BenefitKind::PercentageTiers(vec![
            Tier { threshold: t, value: Percent::from_int(v).unwrap() },
            Tier { threshold: t * 2, value: Percent::from_int(v + 10).unwrap() },
        ])),
    ];
    (condition, range(), benefit, range(), prop::option::weighted(0.3, 1u32..4), -1i32..2, any::<bool>(), any::<bool>())
        .prop_map(move |(c, cr, b, br, max_affected, priority, exclusive, reprice)| {
            let mut o = Offer::new(
                id,
                &format!("offer {id}"),
                cur(),
                Condition { kind: c, range: cr },
                Benefit { kind: b, max_affected_items: max_affected, range: br },
            );
            o.priority = priority;
            o.exclusive = exclusive;
            o.refund_policy = if reprice { RefundPolicy::Reprice } else { RefundPolicy::KeepShares };
            o
        })
}

fn offers() -> impl Strategy<Value = Vec<Offer>> {
    (0usize..5).prop_flat_map(|n| (1..=n as i64).map(offer).collect::<Vec<_>>())
}

/// The order the engine's pricing makes: one unit per quantity, one discount per applied
/// offer, with the offer's policy and (under `reprice`) the offer itself.
fn order(lines: &[Line], offers: &[Offer]) -> (RefundInput, i64) {
    let mut input = PricingInput::new(cur(), Timestamp(0), lines.to_vec());
    input.gifts.insert("GIFT".into(), GiftStock { product: ProductId(99), unit_price: 700 });
    let p = price(&input, &OfferIndex::build(offers.to_vec()));
    let mut offsets = Vec::new();
    let mut units = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        offsets.push(units.len());
        for _ in 0..l.quantity {
            units.push(RefundUnit {
                product: l.product,
                sku: l.sku.clone(),
                attributes: l.attributes.clone(),
                line_key: i.to_string(),
                price: l.unit_price,
                live: true,
            });
        }
    }
    // Gift units follow the basket's (contract §10).
    for g in &p.gifts {
        offsets.push(units.len());
        for _ in 0..g.quantity {
            units.push(RefundUnit {
                product: g.product,
                sku: g.sku.clone(),
                attributes: Default::default(),
                line_key: format!("gift-{}", g.offer.0),
                price: g.unit_price,
                live: true,
            });
        }
    }
    let discounts = p
        .applied
        .iter()
        .map(|a| {
            let o = offers.iter().find(|o| o.id == a.offer).unwrap();
            RefundDiscount {
                policy: o.refund_policy,
                offer: Some(o.clone()),
                shares: a.benefit_units.iter().map(|(u, s)| (offsets[u.line] + u.unit, *s)).collect(),
                reversed: Vec::new(),
            }
        })
        .collect();
    (RefundInput { currency: cur(), at: Timestamp(0), units, discounts }, p.total)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn refunds_add_up_over_any_sequence_of_cancellations(
        lines in prop::collection::vec(line(), 1..6),
        offers in offers(),
        order_seed in prop::collection::vec(any::<u32>(), 16),
        batch_seed in prop::collection::vec(1usize..4, 16),
    ) {
        let (mut input, amount) = order(&lines, &offers);
        let n = input.units.len();
        let keep_only = input.discounts.iter().all(|d| d.policy == RefundPolicy::KeepShares);
        // A random order of the units, cut into random batches.
        let mut sequence: Vec<usize> = (0..n).collect();
        sequence.sort_by_key(|&u| (order_seed[u % order_seed.len()].wrapping_mul(u as u32 + 1), u));
        let mut refunded = 0i64;
        let mut at = 0;
        let mut b = 0;
        while at < n {
            let take = batch_seed[b % batch_seed.len()].min(n - at);
            b += 1;
            let cancel = &sequence[at..at + take];
            at += take;
            let nets: i64 = cancel.iter().map(|&u| {
                let d: i64 = input.discounts.iter().map(|d| {
                    let s: i64 = d.shares.iter().filter(|(x, _)| *x == u).map(|(_, s)| s).sum();
                    let r: i64 = d.reversed.iter().filter(|(x, _)| *x == u).map(|(_, r)| r).sum();
                    s - r
                }).sum();
                input.units[u].price - d
            }).sum();
            let p = plan(&input, cancel).unwrap();
            for u in &p.units {
                prop_assert!(u.refund >= 0, "negative refund {:?}", u);
            }
            if keep_only {
                prop_assert_eq!(p.refund(), nets);
            }
            prop_assert!(p.refund() <= nets);
            refunded += p.refund();
            prop_assert!(refunded <= amount, "refunded {} of {}", refunded, amount);
            for r in p.units.iter().flat_map(|u| &u.reversals) {
                input.discounts[r.discount].reversed.push((r.target, r.amount));
            }
            for &u in cancel {
                input.units[u].live = false;
            }
            for d in &input.discounts {
                let total: i64 = d.shares.iter().map(|(_, s)| s).sum();
                let reversed: i64 = d.reversed.iter().map(|(_, r)| r).sum();
                prop_assert!(reversed <= total, "cancel_amount {} > amount {}", reversed, total);
                for u in 0..n {
                    let s: i64 = d.shares.iter().filter(|(x, _)| *x == u).map(|(_, s)| s).sum();
                    let r: i64 = d.reversed.iter().filter(|(x, _)| *x == u).map(|(_, r)| r).sum();
                    prop_assert!(r <= s, "unit {} reversed {} of its share {}", u, r, s);
                }
            }
        }
        prop_assert_eq!(refunded, amount, "cancelling every unit refunds the order's amount");
        for d in &input.discounts {
            let total: i64 = d.shares.iter().map(|(_, s)| s).sum();
            let reversed: i64 = d.reversed.iter().map(|(_, r)| r).sum();
            prop_assert_eq!(reversed, total, "every discount is wholly reversed at the end");
        }
    }
}
