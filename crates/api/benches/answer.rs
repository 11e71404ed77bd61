//! The simulate answer's cost beside the engine's: a stacking basket (every offer applies
//! to every unit, so the answer is mostly unit shares) priced, then written as JSON by
//! serde_json (the baseline, and what the answer was written with before
//! `offerline_api::http::json`) and by the answer's own writer. Both writers give the same
//! bytes (checked before timing).
//!
//! Run: `cargo bench -p offerline-api --bench answer`

use divan::{Bencher, black_box};
use offerline_api::omnitron::simulate::{answer_body, simulation_answer};
use offerline_app::simulate::Simulation;
use offerline_core::*;

fn main() {
    divan::main();
}

/// (lines, offers): the 10 × 10 and a 100 × 100 stacking basket.
const SHAPES: &[(usize, usize)] = &[(10, 10), (100, 100)];

/// `lines` lines of one to three units and `offers` non-exclusive offers of 1–10 % on every
/// product, all of which apply and stack.
fn workload((lines, offers): (usize, usize)) -> (PricingInput, OfferIndex) {
    let try_ = Currency::parse("try").unwrap();
    let basket = (0..lines)
        .map(|i| {
            Line::new(i as i64 + 1, &format!("SKU-{i:05}"), 1 + (i % 3) as u32, 1_000 + (i as i64 * 7_919) % 50_000)
        })
        .collect();
    let input = PricingInput::new(try_, Timestamp(1_780_000_000_000_000), basket);
    let offers = (0..offers)
        .map(|k| {
            let percent = Percent::from_int(1 + (k % 10) as i64).unwrap();
            let mut o = Offer::new(
                k as i64 + 1,
                &format!("stack {k}"),
                try_,
                Condition::none(),
                Benefit { kind: BenefitKind::Percentage(percent), max_affected_items: None, range: Range::all() },
            );
            o.exclusive = false;
            o
        })
        .collect();
    (input, OfferIndex::build(offers))
}

fn stacking(shape: (usize, usize)) -> Simulation {
    let (input, index) = workload(shape);
    let pricing = price(&input, &index);
    assert_eq!(pricing.applied.len(), shape.1, "every offer applies");
    Simulation { input, pricing, refused_codes: Vec::new() }
}

/// The engine on the same input (the scale the answer is read against).
#[divan::bench(args = SHAPES)]
fn engine(bencher: Bencher<'_, '_>, shape: (usize, usize)) {
    let (input, index) = workload(shape);
    bencher.bench(|| price(black_box(&input), black_box(&index)));
}

/// The baseline: the answer written by serde_json.
#[divan::bench(args = SHAPES)]
fn answer_serde_json(bencher: Bencher<'_, '_>, shape: (usize, usize)) {
    let sim = stacking(shape);
    assert_eq!(serde_json::to_vec(&simulation_answer(&sim)).unwrap(), answer_body(&sim).unwrap());
    bencher.bench(|| serde_json::to_vec(&simulation_answer(black_box(&sim))));
}

/// The answer as the simulate handler writes it.
#[divan::bench(args = SHAPES)]
fn answer_own_writer(bencher: Bencher<'_, '_>, shape: (usize, usize)) {
    let sim = stacking(shape);
    bencher.bench(|| answer_body(black_box(&sim)));
}
