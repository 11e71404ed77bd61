//! Pricing benchmark: baskets of 10 and 100 lines against 10, 100, 1,000 and 10,000 live
//! offers, plus baselines in the same run so figures can be read as ratios.
//!
//! The offer mix imitates a shop's catalogue of campaigns: most offers list skus or
//! attribute values that the basket does not have (they must cost ~nothing), about 5% hit
//! the basket (listed skus or attribute values present in it), and three are site-wide
//! (`all` range). Conditions and benefits are mixed; most offers are exclusive, as in
//! Oscar's default.
//!
//! Run: `cargo bench -p offerline-core --bench pricing`

use std::collections::BTreeSet;

use divan::{Bencher, black_box};
use offerline_core::*;

fn main() {
    divan::main();
}

mod common;

use common::{basket, offers};

const LINES: &[usize] = &[10, 100];
const OFFERS: &[usize] = &[10, 100, 1_000, 10_000];

/// The baseline: cloning the basket input (what any caller pays to hand it over).
#[divan::bench(args = LINES)]
fn baseline_clone_basket(bencher: Bencher<'_, '_>, lines: usize) {
    let input = basket(lines);
    bencher.bench(|| black_box(&input).clone());
}

/// The engine with no offers: unit expansion, ordering and the output structure.
#[divan::bench(args = LINES)]
fn baseline_price_no_offers(bencher: Bencher<'_, '_>, lines: usize) {
    let input = basket(lines);
    let index = OfferIndex::build(Vec::new());
    bencher.bench(|| price(black_box(&input), black_box(&index)));
}

#[divan::bench(args = OFFERS)]
fn price_10_lines(bencher: Bencher<'_, '_>, offers_n: usize) {
    bench_price(bencher, 10, offers_n);
}

#[divan::bench(args = OFFERS)]
fn price_100_lines(bencher: Bencher<'_, '_>, offers_n: usize) {
    bench_price(bencher, 100, offers_n);
}

/// With `explain_all` (the dry-run simulator): every offer is reported.
#[divan::bench(args = [1_000, 10_000])]
fn simulate_100_lines_explain_all(bencher: Bencher<'_, '_>, offers_n: usize) {
    let mut input = basket(100);
    input.explain_all = true;
    let index = OfferIndex::build(offers(offers_n, &input));
    bencher.bench(|| price(black_box(&input), black_box(&index)));
}

/// Compiling the index (done once per offer change, not per request).
#[divan::bench(args = [1_000, 10_000])]
fn build_index(bencher: Bencher<'_, '_>, offers_n: usize) {
    let all = offers(offers_n, &basket(100));
    bencher.with_inputs(|| all.clone()).bench_values(OfferIndex::build);
}

fn bench_price(bencher: Bencher<'_, '_>, lines: usize, offers_n: usize) {
    let input = basket(lines);
    let all = offers(offers_n, &input);
    let index = OfferIndex::build(all);
    // Sanity: the mix does what the doc says (some offers apply, most are skipped).
    let p = price(&input, &index);
    let touched: BTreeSet<OfferId> =
        p.applied.iter().map(|a| a.offer).chain(p.not_applied.iter().map(|n| n.offer)).collect();
    assert!(touched.len() <= offers_n);
    bencher.bench(|| price(black_box(&input), black_box(&index)));
}
