//! The offer index after a promotion write: built again from every offer (the baseline,
//! what a rebuild did before `OfferIndex::with_changes`) against the index before it with
//! the changed offer taken out and put back in. Ten thousand offers of 20–200 skus each
//! from a catalogue of 5,000 (about a million sku postings), as `bench/rebuild_after_write.sh`
//! writes them through the API; the changed offer moves to the front of processing order,
//! so every other offer's position shifts.
//!
//! Run: `cargo bench -p offerline-core --bench index`

use std::collections::HashSet;
use std::sync::Arc;

use divan::{Bencher, black_box};
use offerline_core::*;

fn main() {
    divan::main();
}

mod common;

use common::Rng;

const OFFERS: &[usize] = &[1_000, 10_000];

fn catalogue(n: usize) -> (Vec<Arc<Offer>>, Arc<Offer>) {
    let mut r = Rng(0x5851_F42D_4C95_7F2D ^ n as u64);
    let try_ = Currency::parse("try").unwrap();
    let offer = |id: usize, r: &mut Rng| {
        let skus = 20 + r.below(181) as usize;
        let range = Range::skus((0..skus).map(|_| format!("SKU-{:05}", r.below(5_000))));
        let mut o = Offer::new(
            id as i64,
            &format!("offer {id}"),
            try_,
            Condition { kind: ConditionKind::Count(1), range: range.clone() },
            Benefit { kind: BenefitKind::Percentage(Percent::from_int(5).unwrap()), max_affected_items: None, range },
        );
        o.exclusive = false;
        o
    };
    let offers: Vec<Arc<Offer>> = (1..=n).map(|id| Arc::new(offer(id, &mut r))).collect();
    let mut changed = offer(n / 2, &mut r);
    changed.priority = 10;
    (offers, Arc::new(changed))
}

/// The baseline: every offer posted again.
#[divan::bench(args = OFFERS)]
fn build_from_scratch(bencher: Bencher<'_, '_>, n: usize) {
    let (offers, changed) = catalogue(n);
    let all: Vec<Arc<Offer>> =
        offers.iter().filter(|o| o.id != changed.id).cloned().chain(std::iter::once(changed.clone())).collect();
    bencher.with_inputs(|| all.clone()).bench_values(OfferIndex::build_shared);
}

/// The index before the write with the changed offer in place of the one of its id, as the
/// offer cache asks for it (nothing removed).
#[divan::bench(args = OFFERS)]
fn with_one_change(bencher: Bencher<'_, '_>, n: usize) {
    let (offers, changed) = catalogue(n);
    let before = OfferIndex::build_shared(offers);
    let gone: HashSet<OfferId> = HashSet::new();
    bencher.with_inputs(|| vec![changed.clone()]).bench_values(|c| black_box(&before).with_changes(c, &gone));
}
