//! Table tests of the pricing engine: each condition × benefit with hand-checked numbers,
//! stacking and exclusivity, repeated application, limits and budgets, reasons and details.

use offerline_core::*;

fn try_() -> Currency {
    Currency::parse("try").unwrap()
}

fn at() -> Timestamp {
    Timestamp::from_civil(2026, 6, 1, 0, 0, 0).unwrap()
}

fn offer(id: i64, condition: ConditionKind, cond_range: Range, benefit: BenefitKind, ben_range: Range) -> Offer {
    Offer::new(
        id,
        &format!("offer {id}"),
        try_(),
        Condition { kind: condition, range: cond_range },
        Benefit { kind: benefit, max_affected_items: None, range: ben_range },
    )
}

fn pct(p: i64) -> BenefitKind {
    BenefitKind::Percentage(Percent::from_int(p).unwrap())
}

fn input(lines: Vec<Line>) -> PricingInput {
    PricingInput::new(try_(), at(), lines)
}

fn run(lines: Vec<Line>, offers: Vec<Offer>) -> Pricing {
    price(&input(lines), &OfferIndex::build(offers))
}

fn shares(p: &Pricing, i: usize) -> Vec<i64> {
    p.applied[i].benefit_units.iter().map(|x| x.1).collect()
}

fn u(line: usize, unit: usize) -> UnitRef {
    UnitRef { line, unit }
}

fn reasons(p: &Pricing) -> Vec<(i64, &str, &str)> {
    p.not_applied.iter().map(|n| (n.offer.0, n.reason.as_str(), n.detail.as_str())).collect()
}

/// Checks the ledger invariants on every result the tests produce.
fn check(p: &Pricing) {
    for a in &p.applied {
        assert_eq!(a.benefit_units.iter().map(|x| x.1).sum::<i64>(), a.amount, "offer {:?}", a.offer);
        let cond: std::collections::HashSet<&UnitRef> = a.condition_units.iter().collect();
        for (r, _) in &a.benefit_units {
            assert!(!cond.contains(r));
        }
    }
    let mut total = 0;
    for l in &p.lines {
        for x in &l.units {
            assert!(x.discount >= 0 && x.discount <= x.price && x.net == x.price - x.discount);
            total += x.discount;
        }
    }
    assert_eq!(total, p.total_discount);
    assert_eq!(p.applied.iter().map(|a| a.amount).sum::<i64>(), p.total_discount);
    assert_eq!(p.total, p.total_before_discount - p.total_discount);
}

fn priced(lines: Vec<Line>, offers: Vec<Offer>) -> Pricing {
    let p = run(lines, offers);
    check(&p);
    p
}

// ---------------------------------------------------------------- benefits

#[test]
fn multibuy_seed_000_three_for_two() {
    let p = priced(
        vec![Line::new(1, "A", 3, 19990)],
        vec![offer(1, ConditionKind::Count(3), Range::all(), BenefitKind::Multibuy, Range::all())],
    );
    assert_eq!(p.applied.len(), 1);
    let a = &p.applied[0];
    assert_eq!(a.amount, 19990);
    assert_eq!(a.benefit_units, vec![(u(0, 0), 6663), (u(0, 1), 6663), (u(0, 2), 6664)]);
    assert!(a.condition_units.is_empty());
    assert_eq!(a.applications, 1);
    assert_eq!(p.total_before_discount, 59970);
    assert_eq!(p.total, 39980);
}

#[test]
fn multibuy_free_unit_is_cheapest_and_deal_takes_most_expensive() {
    // 100, 50, 10, 10, 10, 10 with buy 3 pay 2: deal 1 = {10 free, 100, 50}, deal 2 = {10, 10, 10}.
    let p = priced(
        vec![Line::new(1, "X", 1, 10000), Line::new(2, "Y", 1, 5000), Line::new(3, "Z", 4, 1000)],
        vec![offer(1, ConditionKind::Count(3), Range::all(), BenefitKind::Multibuy, Range::all())],
    );
    let a = &p.applied[0];
    assert_eq!(a.applications, 2);
    assert_eq!(a.amount, 2000);
    // Deal 1: 1000 over 1000/5000/10000 → 62.5, 312.5, 625 → 62, 312, 625 + 1 to a .5 tie (later: the 50.00 unit).
    assert_eq!(
        a.benefit_units,
        vec![(u(0, 0), 625), (u(1, 0), 313), (u(2, 0), 62), (u(2, 1), 333), (u(2, 2), 333), (u(2, 3), 334)]
    );
    assert!(a.condition_units.is_empty());
}

#[test]
fn multibuy_leaves_incomplete_deal_alone() {
    let p = priced(
        vec![Line::new(1, "A", 5, 1000)],
        vec![offer(1, ConditionKind::Count(3), Range::all(), BenefitKind::Multibuy, Range::all())],
    );
    assert_eq!(p.applied[0].applications, 1);
    assert_eq!(p.applied[0].amount, 1000);
    assert_eq!(p.lines[0].units.iter().filter(|x| x.discount > 0).count(), 3);
}

#[test]
fn fixed_spreads_with_remainder_to_the_last() {
    let p = priced(
        vec![Line::new(1, "A", 3, 200)],
        vec![offer(1, ConditionKind::None, Range::all(), BenefitKind::Fixed(400), Range::all())],
    );
    assert_eq!(shares(&p, 0), vec![133, 133, 134]);
    assert_eq!(p.total_discount, 400);
}

#[test]
fn fixed_is_capped_at_what_is_left() {
    let p = priced(
        vec![Line::new(1, "A", 2, 300)],
        vec![offer(1, ConditionKind::None, Range::all(), BenefitKind::Fixed(10_000), Range::all())],
    );
    assert_eq!(p.total_discount, 600);
    assert_eq!(p.total, 0);
}

#[test]
fn fixed_proportional_to_price() {
    // 10.00 off 20.00 + 60.00: 2.50 and 7.50.
    let p = priced(
        vec![Line::new(1, "A", 1, 2000), Line::new(2, "B", 1, 6000)],
        vec![offer(1, ConditionKind::Amount(5000), Range::all(), BenefitKind::Fixed(1000), Range::all())],
    );
    assert_eq!(p.applied[0].benefit_units, vec![(u(0, 0), 250), (u(1, 0), 750)]);
    assert!(p.applied[0].condition_units.is_empty());
}

#[test]
fn fixed_price_bundle_of_three() {
    let p = priced(
        vec![Line::new(1, "A", 3, 700)],
        vec![offer(1, ConditionKind::Count(3), Range::all(), BenefitKind::FixedPrice(2000), Range::all())],
    );
    assert_eq!(p.applied[0].amount, 100);
    assert_eq!(shares(&p, 0), vec![33, 33, 34]);
    assert!(p.applied[0].condition_units.is_empty());
}

#[test]
fn fixed_price_takes_cheapest_and_repeats() {
    // 2 for 15.00 over 5, 9, 10, 12 (each .00): deal 1 = 5+9 = 14 ≤ 15 → no discount, stops.
    let p = priced(
        vec![
            Line::new(1, "A", 1, 500),
            Line::new(2, "B", 1, 900),
            Line::new(3, "C", 1, 1000),
            Line::new(4, "D", 1, 1200),
        ],
        vec![offer(1, ConditionKind::Count(2), Range::all(), BenefitKind::FixedPrice(1500), Range::all())],
    );
    assert!(p.applied.is_empty());
    assert_eq!(reasons(&p), vec![(1, "condition_not_met", "the items already cost no more than the offer price")]);
    // 2 for 8.00 over 5, 9, 10, 12: deal 1 = 5+9 → 6.00 off; deal 2 = 10+12 → 14.00 off.
    let p = priced(
        vec![
            Line::new(1, "A", 1, 500),
            Line::new(2, "B", 1, 900),
            Line::new(3, "C", 1, 1000),
            Line::new(4, "D", 1, 1200),
        ],
        vec![offer(1, ConditionKind::Count(2), Range::all(), BenefitKind::FixedPrice(800), Range::all())],
    );
    let a = &p.applied[0];
    assert_eq!((a.applications, a.amount), (2, 2000));
    // 600 over 500:900 → 214.28.. / 385.71.. → 214 + 386; 1400 over 1000:1200 → 636.36.. / 763.63.. → 636 + 764.
    assert_eq!(a.benefit_units, vec![(u(0, 0), 214), (u(1, 0), 386), (u(2, 0), 636), (u(3, 0), 764)]);
}

#[test]
fn fixed_price_with_amount_condition_and_max_affected() {
    let mut o = offer(1, ConditionKind::Amount(3000), Range::all(), BenefitKind::FixedPrice(1000), Range::all());
    o.benefit.max_affected_items = Some(2);
    o.max_basket_applications = Some(1);
    // 8 + 9 + 20: condition 37 ≥ 30; bundle = 8 + 9 = 17 → 7.00 off; the 20 unit satisfies the rest.
    let p = priced(vec![Line::new(1, "A", 1, 800), Line::new(2, "B", 1, 900), Line::new(3, "C", 1, 2000)], vec![o]);
    let a = &p.applied[0];
    assert_eq!(a.amount, 700);
    // 700 over 800:900 → 329.41 / 370.58 → 329 + 371.
    assert_eq!(a.benefit_units, vec![(u(0, 0), 329), (u(1, 0), 371)]);
    assert_eq!(a.condition_units, vec![u(2, 0)]);
}

#[test]
fn percentage_is_floored_on_the_total_not_per_unit() {
    // 10% of 0.99 + 1.99 + 2.99 = 0.597 → 0.59 (per-unit floors would give 0.57).
    let p = priced(
        vec![Line::new(1, "A", 1, 99), Line::new(2, "B", 1, 199), Line::new(3, "C", 1, 299)],
        vec![offer(1, ConditionKind::None, Range::all(), pct(10), Range::all())],
    );
    assert_eq!(p.applied[0].amount, 59);
    assert_eq!(shares(&p, 0), vec![10, 20, 29]);
}

#[test]
fn percentage_with_fraction_and_max_affected_items() {
    let mut o = offer(
        1,
        ConditionKind::None,
        Range::all(),
        BenefitKind::Percentage(Percent::parse("12.5").unwrap()),
        Range::all(),
    );
    o.benefit.max_affected_items = Some(2);
    o.max_basket_applications = Some(1);
    // Cheapest two: 3.33 and 10.00 → 12.5% of 13.33 = 1.66625 → 1.66.
    let p = priced(vec![Line::new(1, "A", 1, 1000), Line::new(2, "B", 1, 333), Line::new(3, "C", 1, 5000)], vec![o]);
    assert_eq!(p.applied[0].amount, 166);
    // 166 over 333:1000 → 41.47 / 124.53 → 41 + 125.
    assert_eq!(p.applied[0].benefit_units, vec![(u(0, 0), 125), (u(1, 0), 41)]);
    assert_eq!(p.lines[2].discount, 0);
}

#[test]
fn percentage_repeats_on_unused_units_with_max_affected_items() {
    let mut o = offer(1, ConditionKind::Count(2), Range::all(), pct(50), Range::all());
    o.benefit.max_affected_items = Some(1);
    // Buy 2, get the cheaper at 50%: units 10, 20, 30, 40 → app 1: benefit 10, condition 40;
    // app 2: benefit 20, condition 30.
    let p = priced(
        vec![
            Line::new(1, "A", 1, 1000),
            Line::new(2, "B", 1, 2000),
            Line::new(3, "C", 1, 3000),
            Line::new(4, "D", 1, 4000),
        ],
        vec![o],
    );
    let a = &p.applied[0];
    assert_eq!((a.applications, a.amount), (2, 1500));
    assert_eq!(a.benefit_units, vec![(u(0, 0), 500), (u(1, 0), 1000)]);
    assert_eq!(a.condition_units, vec![u(2, 0), u(3, 0)]);
}

#[test]
fn fixed_per_unit_caps_at_unit_price_without_spreading() {
    let p = priced(
        vec![Line::new(1, "A", 2, 300), Line::new(2, "B", 1, 1000)],
        vec![offer(1, ConditionKind::None, Range::all(), BenefitKind::FixedPerUnit(500), Range::all())],
    );
    assert_eq!(p.applied[0].benefit_units, vec![(u(0, 0), 300), (u(0, 1), 300), (u(1, 0), 500)]);
    assert_eq!(p.applied[0].applications, 1);
}

#[test]
fn shipping_free_consumes_condition_units() {
    let o = offer(1, ConditionKind::Count(2), Range::skus(["A"]), BenefitKind::ShippingFree, Range::all());
    let p = priced(vec![Line::new(1, "A", 3, 1000), Line::new(2, "B", 1, 500)], vec![o]);
    let a = &p.applied[0];
    assert!(a.shipping_free && p.shipping_free);
    assert_eq!((a.amount, a.applications), (0, 1));
    assert!(a.benefit_units.is_empty());
    // The two most expensive of the range: units 2 and 1 of line 0 (identical units, reverse order).
    assert_eq!(a.condition_units, vec![u(0, 1), u(0, 2)]);
    assert_eq!(p.total_discount, 0);
}

#[test]
fn shipping_free_without_condition_applies_to_any_basket() {
    let o = offer(1, ConditionKind::None, Range::all(), BenefitKind::ShippingFree, Range::all());
    let p = priced(vec![Line::new(1, "A", 1, 1000)], vec![o.clone()]);
    assert!(p.shipping_free);
    let p = priced(vec![], vec![o]);
    assert!(p.shipping_free);
}

// ---------------------------------------------------------------- conditions

#[test]
fn amount_condition_reports_what_is_missing() {
    let o = offer(7, ConditionKind::Amount(50000), Range::all(), pct(10), Range::all());
    let p = priced(vec![Line::new(1, "A", 2, 19000)], vec![o.clone()]);
    assert!(p.applied.is_empty());
    assert_eq!(reasons(&p), vec![(7, "condition_not_met", "add 120.00 more from the range")]);
    let p = priced(vec![Line::new(1, "A", 3, 19000)], vec![o]);
    assert_eq!(p.applied[0].amount, 5700);
}

#[test]
fn amount_condition_consumes_most_expensive_first() {
    // Spend 25.00 on range A/B, get 5.00 off C. Condition units: 20.00 then 10.00 (whole units).
    let o = offer(1, ConditionKind::Amount(2500), Range::skus(["A", "B"]), BenefitKind::Fixed(500), Range::skus(["C"]));
    let p = priced(vec![Line::new(1, "A", 2, 1000), Line::new(2, "B", 1, 2000), Line::new(3, "C", 1, 3000)], vec![o]);
    let a = &p.applied[0];
    assert_eq!(a.benefit_units, vec![(u(2, 0), 500)]);
    assert_eq!(a.condition_units, vec![u(0, 1), u(1, 0)]);
    assert_eq!(a.applications, 1, "the one A unit left is worth 10.00 < 25.00");
}

#[test]
fn count_condition_messages() {
    let o = offer(3, ConditionKind::Count(4), Range::all(), pct(10), Range::all());
    let p = priced(vec![Line::new(1, "A", 2, 1000)], vec![o.clone()]);
    assert_eq!(reasons(&p), vec![(3, "condition_not_met", "add 2 more items from the range")]);
    let p = priced(vec![Line::new(1, "A", 3, 1000)], vec![o]);
    assert_eq!(reasons(&p), vec![(3, "condition_not_met", "add 1 more item from the range")]);
}

#[test]
fn count_condition_on_other_range_consumes_its_units() {
    // Buy 2 of X, get 10% off Y.
    let o = offer(1, ConditionKind::Count(2), Range::skus(["X"]), pct(10), Range::skus(["Y"]));
    let p = priced(
        vec![
            Line::new(1, "X", 1, 1000),
            Line::new(2, "X2", 1, 1),
            Line::new(3, "X", 1, 1000),
            Line::new(4, "Y", 2, 5000),
        ],
        vec![o],
    );
    let a = &p.applied[0];
    assert_eq!(a.amount, 1000);
    assert_eq!(a.benefit_units, vec![(u(3, 0), 500), (u(3, 1), 500)]);
    assert_eq!(a.condition_units, vec![u(0, 0), u(2, 0)]);
}

#[test]
fn coverage_condition() {
    let o = offer(5, ConditionKind::Coverage(3), Range::all(), pct(10), Range::all());
    let p = priced(vec![Line::new(1, "A", 5, 1000), Line::new(2, "B", 1, 1000)], vec![o.clone()]);
    assert_eq!(reasons(&p), vec![(5, "condition_not_met", "add 1 more different product from the range")]);
    let p = priced(vec![Line::new(1, "A", 2, 1000), Line::new(2, "B", 1, 1000), Line::new(3, "C", 1, 1000)], vec![o]);
    assert_eq!(p.applied[0].amount, 400);
    assert!(p.applied[0].condition_units.is_empty());
}

#[test]
fn coverage_with_shipping_takes_one_unit_per_product() {
    let o = offer(5, ConditionKind::Coverage(2), Range::all(), BenefitKind::ShippingFree, Range::all());
    let p = priced(vec![Line::new(1, "A", 2, 1000), Line::new(2, "B", 1, 500)], vec![o]);
    assert_eq!(p.applied[0].condition_units, vec![u(0, 1), u(1, 0)]);
}

#[test]
fn ranges_by_product_attribute_and_exclusion() {
    let mut r = Range::attribute("renk", ["STD"]).excluding(["B"]);
    r.products.insert(ProductId(9));
    let o = offer(1, ConditionKind::None, Range::all(), pct(10), r);
    let p = priced(
        vec![
            Line::new(1, "A", 1, 1000).with_attribute("renk", "STD"),
            Line::new(2, "B", 1, 1000).with_attribute("renk", "STD"),
            Line::new(3, "C", 1, 1000).with_attribute("renk", "RED"),
            Line::new(9, "D", 1, 1000),
        ],
        vec![o],
    );
    assert_eq!(p.applied[0].benefit_units, vec![(u(0, 0), 100), (u(3, 0), 100)]);
}

// ---------------------------------------------------------------- stacking

#[test]
fn exclusive_offer_takes_the_units_and_excludes_the_next() {
    let a = offer(1, ConditionKind::None, Range::all(), pct(10), Range::all());
    let b = offer(2, ConditionKind::None, Range::all(), pct(20), Range::all());
    let p = priced(vec![Line::new(1, "A", 1, 10000)], vec![b, a]);
    assert_eq!(p.applied.len(), 1);
    assert_eq!(p.applied[0].offer, OfferId(1), "ties in priority go to the lower id");
    assert_eq!(reasons(&p), vec![(2, "excluded_by_exclusive", "excluded by offer 1")]);
}

#[test]
fn higher_priority_goes_first() {
    let a = offer(1, ConditionKind::None, Range::all(), pct(10), Range::all());
    let mut b = offer(2, ConditionKind::None, Range::all(), pct(20), Range::all());
    b.priority = 5;
    let p = priced(vec![Line::new(1, "A", 1, 10000)], vec![a, b]);
    assert_eq!(p.applied[0].offer, OfferId(2));
    assert_eq!(p.total_discount, 2000);
    assert_eq!(reasons(&p), vec![(1, "excluded_by_exclusive", "excluded by offer 2")]);
}

#[test]
fn non_exclusive_offers_stack_on_what_is_left() {
    let mut a = offer(1, ConditionKind::None, Range::all(), pct(10), Range::all());
    let mut b = offer(2, ConditionKind::None, Range::all(), pct(10), Range::all());
    a.exclusive = false;
    b.exclusive = false;
    let p = priced(vec![Line::new(1, "A", 1, 10000)], vec![a, b]);
    assert_eq!(p.applied.iter().map(|x| x.amount).collect::<Vec<_>>(), vec![1000, 900]);
    assert_eq!(p.total, 8100);
}

#[test]
fn stacking_never_goes_below_zero() {
    let mut a = offer(1, ConditionKind::None, Range::all(), BenefitKind::Fixed(800), Range::all());
    let mut b = offer(2, ConditionKind::None, Range::all(), BenefitKind::FixedPerUnit(800), Range::all());
    a.exclusive = false;
    b.exclusive = false;
    let p = priced(vec![Line::new(1, "A", 1, 1000)], vec![a, b]);
    assert_eq!(p.applied.iter().map(|x| x.amount).collect::<Vec<_>>(), vec![800, 200]);
    assert_eq!(p.total, 0);
    // A third one finds nothing left.
    let mut c = offer(3, ConditionKind::None, Range::all(), pct(50), Range::all());
    c.exclusive = false;
    let mut a2 = offer(1, ConditionKind::None, Range::all(), pct(100), Range::all());
    a2.exclusive = false;
    let p = priced(vec![Line::new(1, "A", 1, 1000)], vec![a2, c]);
    assert_eq!(reasons(&p), vec![(3, "condition_not_met", "no item in the offer's range is left to discount")]);
}

#[test]
fn amount_condition_counts_prices_after_earlier_discounts() {
    let mut a = offer(1, ConditionKind::None, Range::all(), pct(50), Range::all());
    let mut b = offer(2, ConditionKind::Amount(8000), Range::all(), BenefitKind::Fixed(500), Range::all());
    a.exclusive = false;
    b.exclusive = false;
    let p = priced(vec![Line::new(1, "A", 1, 10000)], vec![a, b]);
    assert_eq!(p.applied.len(), 1);
    assert_eq!(reasons(&p), vec![(2, "condition_not_met", "add 30.00 more from the range")]);
}

#[test]
fn exclusive_and_non_exclusive_do_not_mix() {
    let mut a = offer(1, ConditionKind::None, Range::all(), pct(10), Range::all());
    a.exclusive = false;
    let b = offer(2, ConditionKind::None, Range::all(), pct(10), Range::all());
    let p = priced(vec![Line::new(1, "A", 1, 10000)], vec![a.clone(), b.clone()]);
    assert_eq!(reasons(&p), vec![(2, "excluded_by_exclusive", "excluded by offer 1")]);
    // The other way round.
    let mut b2 = b;
    b2.priority = 1;
    let p = priced(vec![Line::new(1, "A", 1, 10000)], vec![a, b2]);
    assert_eq!(p.applied[0].offer, OfferId(2));
    assert_eq!(reasons(&p), vec![(1, "excluded_by_exclusive", "excluded by offer 2")]);
}

#[test]
fn exclusive_offers_share_a_basket_on_different_units() {
    let a = offer(1, ConditionKind::None, Range::all(), pct(10), Range::skus(["A"]));
    let b = offer(2, ConditionKind::None, Range::all(), pct(20), Range::all());
    let p = priced(vec![Line::new(1, "A", 1, 10000), Line::new(2, "B", 1, 10000)], vec![a, b]);
    assert_eq!(p.applied.len(), 2);
    assert_eq!(p.applied[1].benefit_units, vec![(u(1, 0), 2000)]);
}

#[test]
fn exclusive_condition_units_are_taken_too() {
    // Offer 1 (buy 2 A, shipping free) holds both A units; offer 2 needs 1 A for its condition.
    let a = offer(1, ConditionKind::Count(2), Range::skus(["A"]), BenefitKind::ShippingFree, Range::all());
    let b = offer(2, ConditionKind::Count(1), Range::skus(["A"]), pct(10), Range::skus(["B"]));
    let p = priced(vec![Line::new(1, "A", 2, 1000), Line::new(2, "B", 1, 1000)], vec![a, b]);
    assert_eq!(p.applied.len(), 1);
    assert_eq!(reasons(&p), vec![(2, "excluded_by_exclusive", "excluded by offer 1")]);
}

// ---------------------------------------------------------------- limits

#[test]
fn max_basket_applications() {
    let mut o = offer(1, ConditionKind::Count(2), Range::all(), BenefitKind::Multibuy, Range::all());
    o.max_basket_applications = Some(2);
    let p = priced(vec![Line::new(1, "A", 10, 1000)], vec![o]);
    assert_eq!((p.applied[0].applications, p.applied[0].amount), (2, 2000));
}

#[test]
fn unlimited_applications_until_units_run_out() {
    let mut o = offer(1, ConditionKind::None, Range::all(), BenefitKind::Fixed(100), Range::all());
    o.benefit.max_affected_items = Some(1);
    let p = priced(vec![Line::new(1, "A", 5, 1000)], vec![o]);
    assert_eq!((p.applied[0].applications, p.applied[0].amount), (5, 500));
}

#[test]
fn global_and_customer_limits() {
    let mut o = offer(1, ConditionKind::Count(2), Range::all(), BenefitKind::Multibuy, Range::all());
    o.max_global_applications = Some(10);
    o.max_user_applications = Some(3);
    let lines = vec![Line::new(1, "A", 10, 1000)];
    let index = OfferIndex::build(vec![o]);
    let mut i = input(lines);
    i.customer = Some(CustomerId(5));
    i.usage.set(OfferId(1), OfferUsage { global_applications: 8, customer_applications: 0, discount_spent: 0 });
    let p = price(&i, &index);
    assert_eq!(p.applied[0].applications, 2, "two global applications left");
    i.usage.set(OfferId(1), OfferUsage { global_applications: 0, customer_applications: 2, discount_spent: 0 });
    assert_eq!(price(&i, &index).applied[0].applications, 1, "one left for this customer");
    i.usage.set(OfferId(1), OfferUsage { global_applications: 10, customer_applications: 0, discount_spent: 0 });
    let p = price(&i, &index);
    assert_eq!(reasons(&p), vec![(1, "limit_reached", "limit reached: 10 of 10 uses")]);
    i.usage.set(OfferId(1), OfferUsage { global_applications: 0, customer_applications: 3, discount_spent: 0 });
    let p = price(&i, &index);
    assert_eq!(reasons(&p), vec![(1, "limit_reached", "limit reached: 3 of 3 uses by this customer")]);
    // Anonymous baskets are not held to the per-customer limit (as in Oscar).
    i.customer = None;
    assert_eq!(price(&i, &index).applied[0].applications, 5);
}

#[test]
fn budget_trims_the_discount_and_is_never_overspent() {
    let mut o = offer(1, ConditionKind::None, Range::all(), pct(50), Range::all());
    o.max_discount = Some(5000);
    let index = OfferIndex::build(vec![o]);
    let mut i = input(vec![Line::new(1, "A", 3, 1000)]);
    i.usage.set(OfferId(1), OfferUsage { discount_spent: 4500, ..OfferUsage::default() });
    let p = price(&i, &index);
    check(&p);
    assert_eq!(p.applied[0].amount, 500);
    assert_eq!(shares(&p, 0), vec![166, 167, 167]);
    i.usage.set(OfferId(1), OfferUsage { discount_spent: 5000, ..OfferUsage::default() });
    let p = price(&i, &index);
    assert_eq!(reasons(&p), vec![(1, "limit_reached", "limit reached: 50.00 of 50.00 budget spent")]);
}

#[test]
fn budget_trims_fixed_per_unit_by_their_amounts_and_stops_repeats() {
    let mut o = offer(1, ConditionKind::None, Range::all(), BenefitKind::FixedPerUnit(300), Range::all());
    o.benefit.max_affected_items = Some(2);
    o.max_discount = Some(700);
    let p = priced(vec![Line::new(1, "A", 2, 200), Line::new(2, "B", 4, 1000)], vec![o]);
    let a = &p.applied[0];
    // App 1: 2.00 + 2.00 = 4.00 (budget 3.00 left); app 2: 3.00 + 3.00 trimmed to 3.00 → 1.50 + 1.50.
    assert_eq!((a.applications, a.amount), (2, 700));
    assert_eq!(a.benefit_units, vec![(u(0, 0), 200), (u(0, 1), 200), (u(1, 0), 150), (u(1, 1), 150)]);
}

// ---------------------------------------------------------------- who and when

#[test]
fn window_reasons() {
    let mut a = offer(1, ConditionKind::None, Range::all(), pct(10), Range::all());
    a.start = Timestamp::from_civil(2026, 12, 1, 0, 0, 0);
    let mut b = offer(2, ConditionKind::None, Range::all(), pct(10), Range::all());
    b.end = Timestamp::from_civil(2025, 1, 1, 0, 0, 0);
    let mut c = offer(3, ConditionKind::None, Range::all(), pct(10), Range::all());
    c.start = Some(at());
    c.end = Timestamp::from_civil(2026, 6, 1, 0, 0, 1);
    let p = priced(vec![Line::new(1, "A", 1, 1000)], vec![a, b, c]);
    assert_eq!(p.applied[0].offer, OfferId(3), "start is inclusive");
    assert_eq!(reasons(&p), vec![(1, "not_started", "starts 2026-12-01"), (2, "expired", "ended 2025-01-01")]);
    // End is exclusive.
    let mut d = offer(4, ConditionKind::None, Range::all(), pct(10), Range::all());
    d.end = Some(at());
    let p = priced(vec![Line::new(1, "A", 1, 1000)], vec![d]);
    assert_eq!(reasons(&p), vec![(4, "expired", "ended 2026-06-01")]);
}

#[test]
fn inactive_offers_are_ignored() {
    let mut a = offer(1, ConditionKind::None, Range::all(), pct(10), Range::all());
    a.active = false;
    let index = OfferIndex::build(vec![a]);
    let mut i = input(vec![Line::new(1, "A", 1, 1000)]);
    i.explain_all = true;
    let p = price(&i, &index);
    assert!(p.applied.is_empty() && p.not_applied.is_empty());
    assert_eq!(index.len(), 1);
    assert!(index.get(OfferId(1)).is_some());
}

#[test]
fn coupon_offers_need_a_listed_customer() {
    let mut a = offer(1, ConditionKind::None, Range::all(), pct(10), Range::all());
    a.kind = OfferKind::Coupon;
    a.customers.insert(CustomerId(5));
    let index = OfferIndex::build(vec![a]);
    let mut i = input(vec![Line::new(1, "A", 1, 1000)]);
    i.customer = Some(CustomerId(6));
    let p = price(&i, &index);
    assert!(p.applied.is_empty() && p.not_applied.is_empty(), "silent without explain_all");
    i.explain_all = true;
    let p = price(&i, &index);
    assert_eq!(reasons(&p), vec![(1, "not_eligible_customer", "the offer is not assigned to this customer")]);
    i.customer = Some(CustomerId(5));
    let p = price(&i, &index);
    assert_eq!(p.applied[0].amount, 100);
    assert_eq!(p.applied[0].code, None);
}

#[test]
fn code_offers_need_a_grant() {
    let mut v = offer(1, ConditionKind::None, Range::all(), BenefitKind::Fixed(500), Range::all());
    v.kind = OfferKind::VoucherCode;
    let mut c = offer(2, ConditionKind::None, Range::all(), BenefitKind::Fixed(500), Range::all());
    c.kind = OfferKind::CouponCode;
    c.exclusive = false;
    v.exclusive = false;
    c.customers.insert(CustomerId(5));
    let index = OfferIndex::build(vec![v, c]);
    let mut i = input(vec![Line::new(1, "A", 1, 10000)]);
    i.explain_all = true;
    let p = price(&i, &index);
    assert!(p.applied.is_empty() && p.not_applied.is_empty(), "code offers are invisible without a code");
    let code = VoucherCode::parse("summer").unwrap();
    i.vouchers = vec![
        VoucherGrant { code: code.clone(), offer: OfferId(1) },
        VoucherGrant { code: VoucherCode::parse("VIP").unwrap(), offer: OfferId(2) },
    ];
    let p = price(&i, &index);
    assert_eq!(p.applied.len(), 1);
    assert_eq!(p.applied[0].code, Some(code));
    assert_eq!(reasons(&p), vec![(2, "not_eligible_customer", "the code is not assigned to this customer")]);
    i.customer = Some(CustomerId(5));
    let p = price(&i, &index);
    assert_eq!(p.applied.len(), 2);
    assert_eq!(p.total_discount, 1000);
}

#[test]
fn voucher_problems() {
    let mut v = offer(1, ConditionKind::Count(5), Range::all(), BenefitKind::Fixed(500), Range::all());
    v.kind = OfferKind::VoucherCode;
    let mut eur = offer(2, ConditionKind::None, Range::all(), BenefitKind::Fixed(500), Range::all());
    eur.kind = OfferKind::VoucherCode;
    eur.currency = Currency::parse("eur").unwrap();
    let mut miss = offer(3, ConditionKind::None, Range::all(), BenefitKind::Fixed(500), Range::skus(["Z"]));
    miss.kind = OfferKind::VoucherCode;
    let index = OfferIndex::build(vec![v, eur, miss]);
    let mut i = input(vec![Line::new(1, "A", 1, 10000)]);
    let g = |c: &str, o: i64| VoucherGrant { code: VoucherCode::parse(c).unwrap(), offer: OfferId(o) };
    i.vouchers = vec![g("B", 1), g("A", 1), g("E", 2), g("M", 3), g("X", 99)];
    let p = price(&i, &index);
    assert_eq!(
        reasons(&p),
        vec![
            (1, "condition_not_met", "add 4 more items from the range"),
            (2, "voucher_invalid", "the offer is for eur baskets, this basket is in try"),
            (3, "condition_not_met", "no item in the basket is in the offer's range"),
            (1, "voucher_invalid", "the offer is already used with code A"),
            (99, "voucher_invalid", "no such offer"),
        ]
    );
    assert_eq!(p.not_applied[0].code.as_ref().map(VoucherCode::as_str), Some("A"));
}

#[test]
fn explain_all_reports_index_misses() {
    let a = offer(1, ConditionKind::None, Range::all(), pct(10), Range::skus(["NOPE"]));
    let b = offer(2, ConditionKind::Count(1), Range::attribute("renk", ["RED"]), pct(10), Range::all());
    let index = OfferIndex::build(vec![a, b]);
    let mut i = input(vec![Line::new(1, "A", 1, 1000)]);
    assert!(price(&i, &index).not_applied.is_empty());
    i.explain_all = true;
    let p = price(&i, &index);
    assert_eq!(
        reasons(&p),
        vec![
            (1, "condition_not_met", "no item in the basket is in the offer's range"),
            (2, "condition_not_met", "no item in the basket is in the offer's range"),
        ]
    );
}

#[test]
fn other_currency_offers_are_skipped() {
    let mut a = offer(1, ConditionKind::None, Range::all(), pct(10), Range::all());
    a.currency = Currency::parse("usd").unwrap();
    let index = OfferIndex::build(vec![a]);
    let mut i = input(vec![Line::new(1, "A", 1, 1000)]);
    assert!(price(&i, &index).not_applied.is_empty());
    i.explain_all = true;
    assert_eq!(
        reasons(&price(&i, &index)),
        vec![(1, "condition_not_met", "the offer is for usd baskets, this basket is in try")]
    );
}

// ---------------------------------------------------------------- robustness

#[test]
fn permuting_lines_permutes_the_output() {
    let offers = vec![
        offer(1, ConditionKind::Count(3), Range::all(), BenefitKind::Multibuy, Range::all()),
        offer(2, ConditionKind::None, Range::all(), pct(15), Range::skus(["C"])),
    ];
    let lines = vec![Line::new(1, "A", 2, 500), Line::new(2, "B", 1, 500), Line::new(3, "C", 2, 900)];
    let p1 = priced(lines.clone(), offers.clone());
    let rev: Vec<Line> = lines.iter().rev().cloned().collect();
    let p2 = priced(rev, offers.into_iter().rev().collect());
    for i in 0..3 {
        assert_eq!(p1.lines[i], p2.lines[2 - i]);
    }
    assert_eq!(p1.applied.len(), p2.applied.len());
    for (a, b) in p1.applied.iter().zip(&p2.applied) {
        let mut mapped: Vec<(UnitRef, i64)> =
            b.benefit_units.iter().map(|&(r, s)| (UnitRef { line: 2 - r.line, unit: r.unit }, s)).collect();
        mapped.sort();
        assert_eq!(a.benefit_units, mapped);
    }
}

#[test]
fn invalid_input_gets_no_discount_and_no_panic() {
    let o = offer(1, ConditionKind::None, Range::all(), pct(10), Range::all());
    let p = run(vec![Line::new(1, "A", 1, -500)], vec![o.clone()]);
    assert_eq!(p.total_discount, 0);
    assert_eq!(p.total, -500);
    let p = run(vec![Line::new(1, "A", u32::MAX, i64::MAX)], vec![o.clone()]);
    assert_eq!(p.total_discount, 0);
    assert!(p.lines[0].units.is_empty());
    assert!(input(vec![Line::new(1, "A", 1, -1)]).validate().is_err());
    assert!(input(vec![Line::new(1, "A", 20_000, 1)]).validate().is_err());
    assert!(input(vec![Line::new(1, "A", 10, 10_i64.pow(17))]).validate().is_err());
    assert!(input(vec![Line::new(1, "A", 10_000, 10_i64.pow(12))]).validate().is_ok());
    // Zero-priced units are never discounted.
    let p = priced(vec![Line::new(1, "A", 2, 0), Line::new(2, "B", 1, 1000)], vec![o]);
    assert_eq!(p.applied[0].benefit_units, vec![(u(1, 0), 100)]);
}

#[test]
fn offer_validation_is_field_keyed() {
    let ok = offer(1, ConditionKind::Count(3), Range::all(), BenefitKind::Multibuy, Range::all());
    assert!(ok.clone().validated().is_ok());
    let mut bad = offer(1, ConditionKind::Count(1), Range::all(), BenefitKind::Multibuy, Range::all());
    bad.start = Timestamp::from_civil(2026, 2, 1, 0, 0, 0);
    bad.end = Timestamp::from_civil(2026, 1, 1, 0, 0, 0);
    bad.max_discount = Some(0);
    let e = bad.field_errors();
    let got: Vec<(&str, &str)> = e.iter().collect();
    assert_eq!(
        got,
        vec![
            ("end_datetime", "End must be after start."),
            ("condition.value", "A multibuy needs a count condition of at least 2."),
            ("max_discount", "Ensure this value is greater than 0."),
        ]
    );
    let fp = offer(2, ConditionKind::Amount(100), Range::all(), BenefitKind::FixedPrice(100), Range::all());
    assert_eq!(
        fp.field_errors().0,
        vec![(
            "benefit.max_affected_items".to_owned(),
            "A fixed price needs a count condition or max_affected_items.".to_owned()
        )]
    );
    let zero = offer(3, ConditionKind::Coverage(0), Range::all(), BenefitKind::Fixed(0), Range::default());
    let keys: Vec<String> = zero.field_errors().0.into_iter().map(|x| x.0).collect();
    assert_eq!(keys, vec!["condition.value", "benefit.value", "benefit.range"]);
    assert!(matches!(zero.validate(), Err(DomainError::Fields(_))));
    // Contract §10: a multibuy takes an amount condition now; without a condition it is refused.
    let mb = offer(4, ConditionKind::Amount(100), Range::all(), BenefitKind::Multibuy, Range::all());
    assert!(mb.field_errors().0.is_empty());
    let mb = offer(4, ConditionKind::None, Range::all(), BenefitKind::Multibuy, Range::all());
    assert_eq!(mb.field_errors().0[0].0, "condition.type");
}

#[test]
fn large_quantities_are_priced_without_quadratic_blow_up() {
    // 10 lines × 10,000 units, buy 2 pay 1 repeated 50,000 times; an amount condition
    // with a one-unit benefit repeated until the condition runs dry.
    let lines: Vec<Line> = (0..10).map(|i| Line::new(i, &format!("S{i}"), 10_000, 100 + i)).collect();
    let start = std::time::Instant::now();
    let p = priced(
        lines.clone(),
        vec![offer(1, ConditionKind::Count(2), Range::all(), BenefitKind::Multibuy, Range::all())],
    );
    assert_eq!(p.applied[0].applications, 50_000);
    let mut o = offer(2, ConditionKind::Amount(300), Range::all(), BenefitKind::FixedPerUnit(1), Range::all());
    o.benefit.max_affected_items = Some(1);
    let p = priced(lines, vec![o]);
    // Each application: 1 benefit unit (≥ 1.00) plus 2 most expensive units for the rest.
    assert!(p.applied[0].applications > 20_000);
    assert!(start.elapsed().as_secs() < 10, "took {:?}", start.elapsed());
}

#[test]
fn limits_are_reported_before_range_misses() {
    let mut o = offer(1, ConditionKind::None, Range::all(), pct(10), Range::skus(["NOPE"]));
    o.max_global_applications = Some(1);
    let index = OfferIndex::build(vec![o]);
    let mut i = input(vec![Line::new(1, "A", 1, 1000)]);
    i.explain_all = true;
    i.usage.set(OfferId(1), OfferUsage { global_applications: 1, ..OfferUsage::default() });
    assert_eq!(reasons(&price(&i, &index)), vec![(1, "limit_reached", "limit reached: 1 of 1 uses")]);
}

// ---------------------------------------------------------------------------------------
// Contract §10: multibuy with a value condition, tiers.

/// django-oscar's `test_multibuy` with a value condition: the basket matches the condition
/// (10.00 spent on 2 × 5.00) and exceeds it (12.00 + 5.00): each time the cheapest unit of
/// the range is free, once per application, and the free unit carries the whole discount.
#[test]
fn multibuy_with_an_amount_condition_frees_the_cheapest_unit() {
    let spend_10 = || offer(1, ConditionKind::Amount(1000), Range::all(), BenefitKind::Multibuy, Range::all());
    assert!(spend_10().validate().is_ok());
    let p = run(vec![Line::new(1, "A", 2, 500)], vec![spend_10()]);
    check(&p);
    assert_eq!(p.total_discount, 500, "matches the condition: one unit free");
    assert_eq!(p.applied[0].applications, 1);
    let p = run(vec![Line::new(1, "A", 1, 1200), Line::new(2, "B", 1, 500)], vec![spend_10()]);
    check(&p);
    assert_eq!(p.total_discount, 500, "exceeds it: the cheapest (5.00) is free");
    assert_eq!(p.applied[0].benefit_units, vec![(u(1, 0), 500)]);
    // Spend 10.00 twice over: two applications, the two cheapest free.
    let p = run(vec![Line::new(1, "A", 4, 500), Line::new(2, "B", 1, 100)], vec![spend_10()]);
    check(&p);
    assert_eq!(p.applied[0].applications, 2, "{p:?}");
    assert_eq!(p.total_discount, 600);
    // Not enough: what is missing.
    let p = run(vec![Line::new(1, "A", 1, 900)], vec![spend_10()]);
    assert_eq!(reasons(&p), vec![(1, "condition_not_met", "add 1.00 more from the range")]);
    // Coverage: two different products, the cheaper free.
    let o = offer(2, ConditionKind::Coverage(2), Range::all(), BenefitKind::Multibuy, Range::all());
    let p = run(vec![Line::new(1, "A", 1, 800), Line::new(2, "B", 1, 300)], vec![o]);
    check(&p);
    assert_eq!(p.total_discount, 300);
    // No condition: still refused.
    assert!(offer(3, ConditionKind::None, Range::all(), BenefitKind::Multibuy, Range::all()).validate().is_err());
}

fn tiers(values: &[(i64, i64)]) -> BenefitKind {
    BenefitKind::PercentageTiers(
        values.iter().map(|&(t, v)| Tier { threshold: t, value: Percent::from_int(v).unwrap() }).collect(),
    )
}

/// The §10 example: 10 % from 100.00, 20 % from 500.00.
#[test]
fn the_highest_tier_reached_applies_once() {
    let o =
        || offer(1, ConditionKind::Amount(10_000), Range::all(), tiers(&[(10_000, 10), (50_000, 20)]), Range::all());
    assert!(o().validate().is_ok());
    let p = run(vec![Line::new(1, "A", 2, 30_000)], vec![o()]);
    check(&p);
    assert_eq!(p.total_discount, 12_000, "600.00 → 120.00");
    assert_eq!(p.applied[0].applications, 1);
    assert_eq!(p.applied[0].detail.as_deref(), Some("tier 2 of 2: 20 % from 500.00"));
    let p = run(vec![Line::new(1, "A", 1, 30_000)], vec![o()]);
    check(&p);
    assert_eq!(p.total_discount, 3_000, "300.00 → 30.00");
    assert_eq!(p.applied[0].detail.as_deref(), Some("tier 1 of 2: 10 % from 100.00; add 200.00 more for 20 %"));
    let p = run(vec![Line::new(1, "A", 1, 9_900)], vec![o()]);
    assert_eq!(reasons(&p), vec![(1, "condition_not_met", "add 1.00 more from the range")]);
    // Count tiers with a fixed benefit: 3 units → 5.00 off, 5 units → 15.00 off.
    let fixed = BenefitKind::FixedTiers(vec![Tier { threshold: 3, value: 500 }, Tier { threshold: 5, value: 1_500 }]);
    let o = offer(2, ConditionKind::Count(3), Range::all(), fixed, Range::all());
    assert!(o.validate().is_ok());
    let p = run(vec![Line::new(1, "A", 6, 1_000)], vec![o.clone()]);
    check(&p);
    assert_eq!(p.total_discount, 1_500);
    let p = run(vec![Line::new(1, "A", 4, 1_000)], vec![o]);
    assert_eq!(p.total_discount, 500);
    assert_eq!(
        p.applied[0].detail.as_deref(),
        Some("tier 1 of 2: 5.00 off from 3 items; add 1 item more for 15.00 off")
    );
}

#[test]
fn tiers_are_validated() {
    let bad = |c: ConditionKind, t: BenefitKind| {
        offer(1, c, Range::all(), t, Range::all()).field_errors().0.into_iter().map(|(k, _)| k).collect::<Vec<_>>()
    };
    assert!(
        bad(ConditionKind::Amount(10_000), tiers(&[(50_000, 20), (10_000, 10)])).contains(&"benefit.tiers".to_owned())
    );
    assert!(bad(ConditionKind::Amount(20_000), tiers(&[(10_000, 10)])).contains(&"benefit.tiers".to_owned()));
    assert!(bad(ConditionKind::None, tiers(&[(10_000, 10)])).contains(&"condition.type".to_owned()));
    assert!(bad(ConditionKind::Amount(10_000), tiers(&[])).contains(&"benefit.tiers".to_owned()));
}
