//! The pricing benches' workload, shared by `pricing` (divan: medians) and `pricing_p99`
//! (percentiles): deterministic baskets and offer catalogues. See `pricing.rs` for the mix.

#![allow(dead_code)]

use offerline_core::*;

/// A small deterministic generator (xorshift64*), so every run prices the same baskets.
pub struct Rng(pub u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const BRANDS: u64 = 50;
const COLORS: u64 = 20;

pub fn basket(lines: usize) -> PricingInput {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15 ^ lines as u64);
    let lines = (0..lines)
        .map(|i| {
            let sku = 1_000 + i as u64 * 7 + r.below(5);
            Line::new(sku as i64, &format!("SKU-{sku}"), 1 + r.below(3) as u32, 500 + r.below(50_000) as i64)
                .with_attribute("brand", &format!("brand-{}", r.below(BRANDS)))
                .with_attribute("color", &format!("color-{}", r.below(COLORS)))
                .with_attribute("size", &format!("{}", 36 + r.below(10)))
        })
        .collect();
    let mut input = PricingInput::new(Currency::parse("try").unwrap(), Timestamp(1_780_000_000_000_000), lines);
    input.customer = Some(CustomerId(42));
    input
}

pub fn offers(n: usize, basket: &PricingInput) -> Vec<Offer> {
    let mut r = Rng(0xD1B5_4A32_D192_ED03 ^ n as u64);
    let try_ = Currency::parse("try").unwrap();
    let in_basket: Vec<&str> = basket.lines.iter().map(|l| l.sku.as_str()).collect();
    (0..n)
        .map(|i| {
            let id = i as i64 + 1;
            let site_wide = i < 3.min(n);
            let hits = !site_wide && r.below(100) < 5;
            let range = if site_wide {
                Range::all()
            } else if hits {
                if r.below(2) == 0 {
                    let k = 1 + r.below(4) as usize;
                    Range::skus((0..k).map(|_| in_basket[r.below(in_basket.len() as u64) as usize].to_owned()))
                } else {
                    Range::attribute("brand", [format!("brand-{}", r.below(BRANDS))])
                }
            } else if r.below(3) == 0 {
                // An attribute value no product in the catalogue slice has.
                Range::attribute("brand", [format!("brand-{}", BRANDS + r.below(10_000))])
            } else {
                // 5–20 skus from the rest of the catalogue.
                let k = 5 + r.below(16);
                Range::skus((0..k).map(|_| format!("SKU-{}", 100_000 + r.below(1_000_000))))
            };
            let (condition, benefit) = match r.below(6) {
                0 => (ConditionKind::Count(3), BenefitKind::Multibuy),
                1 => (
                    ConditionKind::Amount(10_000 + r.below(50_000) as i64),
                    BenefitKind::Fixed(1_000 + r.below(5_000) as i64),
                ),
                2 => (ConditionKind::Count(2), BenefitKind::FixedPrice(20_000)),
                3 => (
                    ConditionKind::Coverage(2),
                    BenefitKind::Percentage(Percent::from_int(5 + r.below(30) as i64).unwrap()),
                ),
                4 => (ConditionKind::None, BenefitKind::FixedPerUnit(200 + r.below(1_000) as i64)),
                _ => (ConditionKind::None, BenefitKind::Percentage(Percent::from_int(10).unwrap())),
            };
            let mut o = Offer::new(
                id,
                &format!("campaign {id}"),
                try_,
                Condition { kind: condition, range: range.clone() },
                Benefit { kind: benefit, max_affected_items: None, range },
            );
            o.priority = r.below(5) as i32;
            o.exclusive = r.below(10) < 7;
            if r.below(4) == 0 {
                o.max_basket_applications = Some(1 + r.below(3) as u32);
            }
            if r.below(10) == 0 {
                o.max_discount = Some(1_000_000);
            }
            o
        })
        .collect()
}
