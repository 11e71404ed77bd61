//! Pricing latency percentiles: median and p99 of `price` for baskets of 10 and 100 lines
//! against 10, 100, 1,000 and 10,000 live offers, on the same workload as the divan bench
//! (`benches/common`). divan reports medians and extremes but not percentiles, so this
//! harness times every call on its own (`Instant` around one `price`), after a warm-up, and
//! sorts the samples.
//!
//! Run: `cargo bench -p offerline-core --bench pricing_p99 [-- SECONDS_PER_CELL]`
//! Output: one line per cell, `lines offers samples median_us p99_us`, for `bench/run`.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{basket, offers};
use offerline_core::*;

fn main() {
    // cargo passes `--bench`; the first number is the time budget per cell.
    let secs: f64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1.0);
    let budget = Duration::from_secs_f64(secs);
    println!("{:>5} {:>6} {:>8} {:>10} {:>10}", "lines", "offers", "samples", "median_us", "p99_us");
    for lines in [10usize, 100] {
        for n in [10usize, 100, 1_000, 10_000] {
            let input = basket(lines);
            let index = OfferIndex::build(offers(n, &input));
            let warm = Instant::now();
            while warm.elapsed() < budget / 10 {
                black_box(price(black_box(&input), black_box(&index)));
            }
            let mut samples: Vec<u64> = Vec::with_capacity(100_000);
            let start = Instant::now();
            while start.elapsed() < budget || samples.len() < 100 {
                let t = Instant::now();
                black_box(price(black_box(&input), black_box(&index)));
                samples.push(t.elapsed().as_nanos() as u64);
            }
            samples.sort_unstable();
            let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)] as f64 / 1000.0;
            println!("{lines:>5} {n:>6} {:>8} {:>10.1} {:>10.1}", samples.len(), at(0.5), at(0.99));
        }
    }
}
