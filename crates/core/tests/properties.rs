//! Property tests of the engine's invariants (DESIGN.md "Invariants" 1–4, in-process), with
//! every benefit kind in the mix (tiers and multibuys on amount conditions included):
//!
//! - Σ shares = the applied amount, exactly, for every applied offer;
//! - no unit's total discount exceeds its price, no net is negative, Σ unit discounts =
//!   total discount = Σ applied amounts; an exclusive offer's units are nobody else's;
//! - the result does not depend on the order of lines, offers or voucher grants;
//! - limits (global applications, per-customer applications, budgets) are never exceeded
//!   over a sequence of orders that feeds usage forward.
//!
//! Offers are generated without validation on purpose: the engine must keep the
//! invariants and not panic even for offers the API would refuse.
//!
//! Cases: `PROPTEST_CASES` if set, else 2,000 per property. The fuzz at scale
//! ([`random_baskets_at_scale_keep_every_money_invariant`]) runs 1,000,000 cases with
//! `OFFERLINE_LONG_TESTS=1` (`OFFERLINE_FUZZ_CASES` overrides).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use offerline_core::*;
use proptest::prelude::*;
use proptest::sample::subsequence;

fn config() -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 2_000;
    }
    c.failure_persistence = None;
    c
}

const SKUS: [&str; 5] = ["A", "B", "C", "D", "E"];

fn cur() -> Currency {
    Currency::parse("try").unwrap()
}

fn at() -> Timestamp {
    Timestamp(1_780_000_000_000_000)
}

fn line() -> impl Strategy<Value = Line> {
    (
        0..SKUS.len(),
        0i64..4,
        prop::option::of(prop::sample::select(vec!["STD", "RED"])),
        0u32..5,
        prop_oneof![
            2 => 1i64..5_000,
            3 => prop::sample::select(vec![0i64, 1, 3, 100, 700, 1000, 19_990]),
        ],
    )
        .prop_map(|(s, p, attr, q, price)| {
            let mut l = Line::new(p, SKUS[s], q, price);
            if let Some(a) = attr {
                l = l.with_attribute("renk", a);
            }
            l
        })
}

/// Lines that tie on price (and often on everything but the sku), to stress the unit order.
fn tie_line() -> impl Strategy<Value = Line> {
    (0..SKUS.len(), 0i64..2, prop::sample::select(vec![100i64, 1000]), 1u32..4)
        .prop_map(|(s, p, price, q)| Line::new(p, SKUS[s], q, price))
}

fn range() -> impl Strategy<Value = Range> {
    prop_oneof![
        3 => Just(Range::all()),
        3 => subsequence(SKUS.to_vec(), 1..4).prop_map(Range::skus),
        1 => (0i64..4).prop_map(|p| Range::products([ProductId(p)])),
        1 => Just(Range::attribute("renk", ["STD"])),
        1 => (subsequence(SKUS.to_vec(), 1..2)).prop_map(|ex| Range::all().excluding(ex)),
        1 => Just(Range::skus(["NOPE"])),
    ]
}

fn condition() -> impl Strategy<Value = ConditionKind> {
    prop_oneof![
        2 => Just(ConditionKind::None),
        2 => (1i64..15_000).prop_map(ConditionKind::Amount),
        3 => (1u32..5).prop_map(ConditionKind::Count),
        1 => (1u32..4).prop_map(ConditionKind::Coverage),
    ]
}

fn benefit() -> impl Strategy<Value = BenefitKind> {
    prop_oneof![
        3 => prop_oneof![(1i64..=100).prop_map(|p| Percent::from_int(p).unwrap()), Just(Percent::parse("12.5").unwrap()), Just(Percent::parse("33.3333").unwrap())]
            .prop_map(BenefitKind::Percentage),
        2 => (1i64..3_000).prop_map(BenefitKind::Fixed),
        2 => (1i64..1_500).prop_map(BenefitKind::FixedPerUnit),
        2 => (0i64..6_000).prop_map(BenefitKind::FixedPrice),
        2 => Just(BenefitKind::Multibuy),
        1 => Just(BenefitKind::ShippingFree),
        2 => prop::collection::vec((1i64..12_000, 1i64..=100), 1..4).prop_map(|mut t| {
            t.sort_unstable();
            BenefitKind::PercentageTiers(
                t.into_iter().map(|(threshold, v)| Tier { threshold, value: Percent::from_int(v).unwrap() }).collect(),
            )
        }),
        1 => (1u32..3).prop_map(|quantity| BenefitKind::Gift { sku: "GIFT".into(), quantity }),
        1 => prop::collection::vec((1i64..6, 1i64..3_000), 1..3)
            .prop_map(|t| BenefitKind::FixedTiers(t.into_iter().map(|(threshold, value)| Tier { threshold, value }).collect())),
    ]
}

#[derive(Debug, Clone)]
struct Limits {
    basket: Option<u32>,
    user: Option<u32>,
    global: Option<u32>,
    budget: Option<i64>,
}

fn limits() -> impl Strategy<Value = Limits> {
    (
        prop::option::weighted(0.3, 1u32..4),
        prop::option::weighted(0.3, 0u32..4),
        prop::option::weighted(0.3, 0u32..6),
        prop::option::weighted(0.3, 1i64..8_000),
    )
        .prop_map(|(basket, user, global, budget)| Limits { basket, user, global, budget })
}

fn offer(id: i64) -> impl Strategy<Value = Offer> {
    (
        condition(),
        range(),
        benefit(),
        range(),
        prop::option::weighted(0.3, 1u32..4),
        -1i32..2,
        any::<bool>(),
        limits(),
        0u8..10,
    )
        .prop_map(move |(c, cr, b, br, max_affected, priority, exclusive, l, kind)| {
            let mut o = Offer::new(
                id,
                &format!("offer {id}"),
                cur(),
                Condition { kind: c, range: cr },
                Benefit { kind: b, max_affected_items: max_affected, range: br },
            );
            o.priority = priority;
            o.exclusive = exclusive;
            o.max_basket_applications = l.basket;
            o.max_user_applications = l.user;
            o.max_global_applications = l.global;
            o.max_discount = l.budget;
            match kind {
                0 => {
                    o.kind = OfferKind::VoucherCode;
                }
                1 => {
                    o.kind = OfferKind::Coupon;
                    o.customers.insert(CustomerId(1));
                }
                2 => {
                    o.kind = OfferKind::CouponCode;
                    o.customers.insert(CustomerId(2));
                }
                _ => {}
            }
            o
        })
}

fn offers() -> impl Strategy<Value = Vec<Offer>> {
    (0usize..7).prop_flat_map(|n| (1..=n as i64).map(offer).collect::<Vec<_>>())
}

fn grants(offers: &[Offer]) -> Vec<VoucherGrant> {
    offers
        .iter()
        .filter(|o| o.kind.needs_code())
        .map(|o| VoucherGrant { code: VoucherCode::parse(&format!("CODE{}", o.id.0)).unwrap(), offer: o.id })
        .collect()
}

fn customer() -> impl Strategy<Value = Option<CustomerId>> {
    prop::option::of((1i64..4).prop_map(CustomerId))
}

/// The ledger invariants of one result.
fn check_invariants(input: &PricingInput, p: &Pricing) -> Result<(), TestCaseError> {
    prop_assert_eq!(p.lines.len(), input.lines.len());
    let mut sum_units = 0i64;
    for (l, r) in input.lines.iter().zip(&p.lines) {
        prop_assert_eq!(r.units.len(), l.quantity as usize);
        for x in &r.units {
            prop_assert_eq!(x.price, l.unit_price);
            prop_assert!(x.discount >= 0 && x.discount <= x.price, "{:?}", x);
            prop_assert!(x.net >= 0);
            prop_assert_eq!(x.net, x.price - x.discount);
            sum_units += x.discount;
        }
        prop_assert_eq!(r.discount, r.units.iter().map(|x| x.discount).sum::<i64>());
        prop_assert_eq!(r.net, r.units.iter().map(|x| x.net).sum::<i64>());
    }
    // Gift lines (contract §10) follow the input's lines: each unit wholly discounted.
    for g in &p.gifts {
        prop_assert_eq!(g.units.len(), g.quantity as usize);
        for x in &g.units {
            prop_assert!(x.price > 0 && x.discount == x.price && x.net == 0, "{:?}", x);
            sum_units += x.discount;
        }
    }
    prop_assert_eq!(sum_units, p.total_discount);
    prop_assert_eq!(p.total, p.total_before_discount - p.total_discount);
    let mut per_unit: HashMap<UnitRef, i64> = HashMap::new();
    for a in &p.applied {
        prop_assert_eq!(a.benefit_units.iter().map(|x| x.1).sum::<i64>(), a.amount, "offer {:?}", a.offer);
        prop_assert!(a.amount > 0 || a.shipping_free);
        prop_assert!(a.applications >= 1);
        let mut seen = BTreeSet::new();
        for &(r, s) in &a.benefit_units {
            prop_assert!(s > 0);
            prop_assert!(seen.insert(r), "unit used twice by one offer");
            let n = input.lines.len();
            let quantity = match r.line.checked_sub(n) {
                None => input.lines[r.line].quantity,
                Some(k) => {
                    prop_assert!(k < p.gifts.len() && p.gifts[k].offer == a.offer, "a gift unit of another offer");
                    p.gifts[k].quantity
                }
            };
            prop_assert!(r.unit < quantity as usize);
            *per_unit.entry(r).or_default() += s;
        }
        for &r in &a.condition_units {
            prop_assert!(seen.insert(r), "unit both benefit and condition, or twice");
            prop_assert!(r.line < input.lines.len() && r.unit < input.lines[r.line].quantity as usize);
        }
    }
    for (r, d) in per_unit {
        let unit = match r.line.checked_sub(input.lines.len()) {
            None => &p.lines[r.line].units[r.unit],
            Some(k) => &p.gifts[k].units[r.unit],
        };
        prop_assert_eq!(unit.discount, d);
    }
    Ok(())
}

fn check_exclusive(offers: &[Offer], p: &Pricing) -> Result<(), TestCaseError> {
    let excl: HashMap<OfferId, bool> = offers.iter().map(|o| (o.id, o.exclusive)).collect();
    let mut owners: HashMap<UnitRef, Vec<OfferId>> = HashMap::new();
    for a in &p.applied {
        for r in a.benefit_units.iter().map(|x| x.0).chain(a.condition_units.iter().copied()) {
            owners.entry(r).or_default().push(a.offer);
        }
    }
    for (r, os) in owners {
        if os.len() > 1 {
            prop_assert!(os.iter().all(|o| !excl[o]), "unit {:?} shared by {:?} with an exclusive offer", r, os);
        }
    }
    Ok(())
}

type LineKey = (i64, String, i64, u32, Vec<(String, String)>);

fn key(l: &Line) -> LineKey {
    (l.unit_price, l.sku.clone(), l.product.0, l.quantity, l.attributes.clone().into_iter().collect())
}

type AppliedSig = (i64, i64, u32, bool, Option<String>, Vec<(LineKey, usize, i64)>, Vec<(LineKey, usize)>);

/// A view of a result that forgets line positions (identical lines are interchangeable).
#[derive(Debug, PartialEq)]
struct Signature {
    totals: (i64, i64, i64, bool),
    lines: Vec<(LineKey, Vec<(i64, i64)>)>,
    applied: Vec<AppliedSig>,
    not_applied: Vec<(i64, &'static str, String, Option<String>)>,
}

fn signature(input: &PricingInput, p: &Pricing) -> Signature {
    let k = |r: &UnitRef| key(&input.lines[r.line]);
    let mut lines: Vec<_> = input
        .lines
        .iter()
        .zip(&p.lines)
        .map(|(l, r)| (key(l), r.units.iter().map(|x| (x.discount, x.net)).collect::<Vec<_>>()))
        .collect();
    lines.sort();
    Signature {
        totals: (p.total_before_discount, p.total_discount, p.total, p.shipping_free),
        lines,
        applied: p
            .applied
            .iter()
            .map(|a| {
                let mut b: Vec<_> = a.benefit_units.iter().map(|(r, s)| (k(r), r.unit, *s)).collect();
                b.sort();
                let mut c: Vec<_> = a.condition_units.iter().map(|r| (k(r), r.unit)).collect();
                c.sort();
                (a.offer.0, a.amount, a.applications, a.shipping_free, a.code.as_ref().map(|c| c.to_string()), b, c)
            })
            .collect(),
        not_applied: p
            .not_applied
            .iter()
            .map(|n| (n.offer.0, n.reason.as_str(), n.detail.clone(), n.code.as_ref().map(|c| c.to_string())))
            .collect(),
    }
}

fn shuffled<T: Clone>(v: &[T], seed: &[usize]) -> Vec<T> {
    let mut v = v.to_vec();
    for (i, s) in seed.iter().enumerate().take(v.len()) {
        let j = i + s % (v.len() - i);
        v.swap(i, j);
    }
    v
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn ledger_invariants_hold(
        lines in prop::collection::vec(line(), 0..8),
        offers in offers(),
        customer in customer(),
        explain_all in any::<bool>(),
    ) {
        let mut input = PricingInput::new(cur(), at(), lines);
        input.customer = customer;
        input.explain_all = explain_all;
        input.gifts.insert("GIFT".into(), GiftStock { product: ProductId(9), unit_price: 450 });
        input.vouchers = grants(&offers);
        let p = price(&input, &OfferIndex::build(offers.clone()));
        check_invariants(&input, &p)?;
        check_exclusive(&offers, &p)?;
    }

    #[test]
    fn order_of_lines_offers_and_codes_does_not_matter(
        lines in prop::collection::vec(prop_oneof![line(), tie_line()], 0..8),
        offers in offers(),
        customer in customer(),
        seed in prop::collection::vec(any::<usize>(), 8),
    ) {
        let mut a = PricingInput::new(cur(), at(), lines.clone());
        a.customer = customer;
        a.explain_all = true;
        a.vouchers = grants(&offers);
        let pa = price(&a, &OfferIndex::build(offers.clone()));

        let perm = shuffled(&(0..lines.len()).collect::<Vec<_>>(), &seed);
        let mut b = a.clone();
        b.lines = perm.iter().map(|&i| lines[i].clone()).collect();
        b.vouchers.reverse();
        let mut rev = offers.clone();
        rev.reverse();
        let pb = price(&b, &OfferIndex::build(shuffled(&rev, &seed)));

        prop_assert_eq!(signature(&a, &pa), signature(&b, &pb));
        // Distinct lines map one to one.
        let distinct = lines.iter().map(key).collect::<BTreeSet<_>>().len() == lines.len();
        if distinct {
            for (j, &i) in perm.iter().enumerate() {
                prop_assert_eq!(&pa.lines[i], &pb.lines[j]);
            }
        }
    }

    #[test]
    fn limits_are_never_exceeded_over_a_sequence_of_orders(
        offers in offers(),
        orders in prop::collection::vec((prop::collection::vec(line(), 0..6), customer()), 1..8),
    ) {
        let index = OfferIndex::build(offers.clone());
        let by_id: BTreeMap<OfferId, &Offer> = offers.iter().map(|o| (o.id, o)).collect();
        let mut global: HashMap<OfferId, u64> = HashMap::new();
        let mut spent: HashMap<OfferId, i64> = HashMap::new();
        let mut per_customer: HashMap<(OfferId, CustomerId), u64> = HashMap::new();
        for (lines, customer) in orders {
            let mut input = PricingInput::new(cur(), at(), lines);
            input.customer = customer;
            input.vouchers = grants(&offers);
            for o in &offers {
                input.usage.set(o.id, OfferUsage {
                    global_applications: global.get(&o.id).copied().unwrap_or(0),
                    customer_applications: customer.map_or(0, |c| per_customer.get(&(o.id, c)).copied().unwrap_or(0)),
                    discount_spent: spent.get(&o.id).copied().unwrap_or(0),
                });
            }
            let p = price(&input, &index);
            check_invariants(&input, &p)?;
            for a in &p.applied {
                let o = by_id[&a.offer];
                if let Some(b) = o.max_basket_applications {
                    prop_assert!(a.applications <= b);
                }
                *global.entry(a.offer).or_default() += u64::from(a.applications);
                *spent.entry(a.offer).or_default() += a.amount;
                if let Some(c) = customer {
                    *per_customer.entry((a.offer, c)).or_default() += u64::from(a.applications);
                }
            }
            for o in &offers {
                if let Some(g) = o.max_global_applications {
                    prop_assert!(global.get(&o.id).copied().unwrap_or(0) <= u64::from(g));
                }
                if let Some(m) = o.max_discount {
                    prop_assert!(spent.get(&o.id).copied().unwrap_or(0) <= m);
                }
                if let Some(u) = o.max_user_applications {
                    for c in 1..4 {
                        prop_assert!(per_customer.get(&(o.id, CustomerId(c))).copied().unwrap_or(0) <= u64::from(u));
                    }
                }
            }
        }
    }

    #[test]
    fn allocate_is_exact_and_capped(
        amount in -10i64..1_000_000,
        units in prop::collection::vec((0i64..100_000, 0i64..100_000), 0..12),
    ) {
        let weights: Vec<i64> = units.iter().map(|u| u.0).collect();
        let caps: Vec<i64> = units.iter().map(|u| u.1).collect();
        let out = allocate(amount, &weights, &caps);
        prop_assert_eq!(out.len(), units.len());
        let room: i64 = caps.iter().sum();
        prop_assert_eq!(out.iter().sum::<i64>(), amount.clamp(0, room));
        for (o, c) in out.iter().zip(&caps) {
            prop_assert!(*o >= 0 && o <= c);
        }
    }

    #[test]
    fn allocate_uncapped_shares_are_within_one_of_exact(
        amount in 0i64..1_000_000,
        weights in prop::collection::vec(1i64..100_000, 1..12),
    ) {
        let out = allocate(amount, &weights, &[]);
        let total: i128 = weights.iter().map(|&w| i128::from(w)).sum();
        for (o, w) in out.iter().zip(&weights) {
            let exact_floor = i128::from(amount) * i128::from(*w) / total;
            prop_assert!(i128::from(*o) == exact_floor || i128::from(*o) == exact_floor + 1);
        }
    }

    #[test]
    fn money_parse_and_format_round_trip(minor in -99_999_999_999_999_999_i64..99_999_999_999_999_999, digits in prop::sample::select(vec!["try", "jpy", "kwd"])) {
        let c = Currency::parse(digits).unwrap();
        let minor = if c.minor_digits() == 0 { minor / 100 } else { minor };
        let s = c.format(minor);
        prop_assert_eq!(Money::parse(&s, c).unwrap().minor, minor);
    }

    #[test]
    fn money_parse_never_panics(s in "\\PC{0,24}") {
        let _ = Money::parse(&s, cur());
        let _ = Percent::parse(&s);
        let _ = VoucherCode::parse(&s);
        let _ = Currency::parse(&s);
    }
}

/// One case of the fuzz at scale: a random basket and offer set, random usage already
/// consumed, priced twice (the second time with lines, offers and codes permuted); every
/// money invariant, exclusivity, determinism and every limit must hold.
fn fuzz_case(
    lines: Vec<Line>,
    offers: Vec<Offer>,
    customer: Option<CustomerId>,
    used: Vec<(u64, u64, i64)>,
    seed: Vec<usize>,
    explain_all: bool,
) -> Result<(), TestCaseError> {
    let mut a = PricingInput::new(cur(), at(), lines.clone());
    a.customer = customer;
    a.explain_all = explain_all;
    a.vouchers = grants(&offers);
    for (o, &(global, mine, spent)) in offers.iter().zip(&used) {
        a.usage.set(
            o.id,
            OfferUsage {
                global_applications: global,
                customer_applications: if customer.is_some() { mine } else { 0 },
                discount_spent: spent,
            },
        );
    }
    let pa = price(&a, &OfferIndex::build(offers.clone()));
    check_invariants(&a, &pa)?;
    check_exclusive(&offers, &pa)?;
    let by_id: HashMap<OfferId, (&Offer, (u64, u64, i64))> =
        offers.iter().zip(&used).map(|(o, u)| (o.id, (o, *u))).collect();
    for ap in &pa.applied {
        let (o, (global, mine, spent)) = by_id[&ap.offer];
        let n = u64::from(ap.applications);
        if let Some(b) = o.max_basket_applications {
            prop_assert!(ap.applications <= b, "basket limit of {:?}", o.id);
        }
        if let Some(g) = o.max_global_applications {
            prop_assert!(global + n <= u64::from(g), "global limit of {:?}", o.id);
        }
        if let Some(m) = o.max_discount {
            prop_assert!(spent + ap.amount <= m, "budget of {:?}", o.id);
        }
        if let (Some(u), Some(_)) = (o.max_user_applications, customer) {
            prop_assert!(mine + n <= u64::from(u), "customer limit of {:?}", o.id);
        }
    }
    let perm = shuffled(&(0..lines.len()).collect::<Vec<_>>(), &seed);
    let mut b = a.clone();
    b.lines = perm.iter().map(|&i| lines[i].clone()).collect();
    b.vouchers.reverse();
    let mut rev = offers.clone();
    rev.reverse();
    let pb = price(&b, &OfferIndex::build(shuffled(&rev, &seed)));
    check_invariants(&b, &pb)?;
    prop_assert_eq!(signature(&a, &pa), signature(&b, &pb));
    Ok(())
}

/// The engine fuzz at scale: 1,000,000 random baskets and offer sets with
/// `OFFERLINE_LONG_TESTS=1` (or `OFFERLINE_FUZZ_CASES=n`), 2,000 otherwise, split over the
/// available cores, each thread with its own fixed seed so a failure reproduces.
#[test]
fn random_baskets_at_scale_keep_every_money_invariant() {
    use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};
    let long = std::env::var("OFFERLINE_LONG_TESTS").is_ok_and(|v| v == "1");
    let total: u32 = std::env::var("OFFERLINE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(if long {
        1_000_000
    } else {
        2_000
    });
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 8) as u32;
    let started = std::time::Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let cases = total / threads + u32::from(t < total % threads);
            s.spawn(move || {
                let mut config = ProptestConfig::with_cases(cases);
                config.failure_persistence = None;
                let mut seed = [7u8; 32];
                seed[..4].copy_from_slice(&t.to_le_bytes());
                let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
                let strategy = (
                    prop::collection::vec(prop_oneof![4 => line(), 1 => tie_line()], 0..8),
                    offers(),
                    customer(),
                    prop::collection::vec((0u64..6, 0u64..4, 0i64..8_000), 7),
                    prop::collection::vec(any::<usize>(), 8),
                    any::<bool>(),
                );
                runner
                    .run(&strategy, |(lines, offers, customer, used, seed, explain_all)| {
                        fuzz_case(lines, offers, customer, used, seed, explain_all)
                    })
                    .unwrap_or_else(|e| panic!("thread {t}: {e}"));
            });
        }
    });
    println!("engine fuzz: {total} random baskets and offer sets, {threads} threads, {:.1?}", started.elapsed());
}
