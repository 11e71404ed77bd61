//! The compiled offer index: which offers can a basket possibly touch?
//!
//! A shop has thousands of live offers and a basket touches a handful. Checking every
//! offer's ranges against every line would make pricing O(lines × offers) range tests
//! (Oscar runs a query per pair); instead [`OfferIndex::build`] inverts the ranges once:
//!
//! - `sku → offers`, `product → offers`, `(attribute, value) → offers` for listed ranges;
//! - the offers whose range is `all` (they see every line but their `excluded_skus`);
//! - the offers that need no basket line at all (a `none` condition with free shipping).
//!
//! Each posting remembers whether it came from the offer's *condition* range, its *benefit*
//! range or both, so a lookup yields, per offer, exactly the lines in each range — the
//! engine never runs a range test itself. An offer is a candidate only if every range it
//! needs has a line: the condition range unless the condition is `none`, the benefit range
//! unless the benefit is free shipping (fixed price uses the condition range for both).
//! Everything else is skipped without being looked at.
//!
//! Offers are kept in processing order — priority descending, then id ascending — so a
//! candidate's position in the index is its place in the pricing order.
//! Inactive offers are kept (so [`OfferIndex::get`] finds them) but never posted.

use std::collections::HashSet;
use std::ops::Range as Span;
use std::sync::Arc;

use crate::basket::Line;
use crate::ids::{OfferId, ProductId};
use crate::offer::{BenefitKind, ConditionKind, Offer, Range};

/// The index's maps. Their keys are skus, attribute values and ids written by the shop's
/// staff, hashed with a per-map random seed ([`foldhash::fast::RandomState`]): building the
/// index hashes every posting, and SipHash was a third of a rebuild at ten thousand offers.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

pub(crate) const COND: u8 = 1;
pub(crate) const BEN: u8 = 2;

#[derive(Debug, Clone, Copy)]
struct Posting {
    pos: u32,
    roles: u8,
}

#[derive(Debug, Clone, Copy)]
struct Compiled {
    needs_cond: bool,
    needs_ben: bool,
}

/// A compiled, immutable set of offers. Build it when offers change (the store caches it
/// and rebuilds on invalidation) and share it between requests.
///
/// Each offer is held by an [`Arc`], so a rebuild after one write among thousands shares
/// the unchanged offers with the index before it instead of copying every range's skus, and
/// keeps their postings too ([`OfferIndex::with_changes`]).
#[derive(Debug, Clone, Default)]
pub struct OfferIndex {
    offers: Vec<Arc<Offer>>,
    compiled: Vec<Compiled>,
    by_id: HashMap<OfferId, u32>,
    sku: HashMap<String, Vec<Posting>>,
    product: HashMap<ProductId, Vec<Posting>>,
    attr: HashMap<String, HashMap<String, Vec<Posting>>>,
    all: Vec<Posting>,
    always: Vec<u32>,
    active: Vec<u32>,
    /// Whether any active offer has a global, per-customer or budget limit: only then does
    /// pricing need a usage snapshot, which costs the caller a database read.
    usage_limited: bool,
}

/// One candidate offer for a basket: its position in the index and the (sorted) basket
/// line positions in its condition and benefit ranges, as spans of a shared buffer.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub pos: u32,
    pub cond: Span<usize>,
    pub ben: Span<usize>,
}

impl OfferIndex {
    /// Compiles the offers. Ids should be unique; if one repeats, the first in processing
    /// order (priority descending, id ascending, then input order) is kept.
    pub fn build(offers: Vec<Offer>) -> Self {
        Self::build_shared(offers.into_iter().map(Arc::new).collect())
    }

    /// [`OfferIndex::build`] over offers shared with another index.
    pub fn build_shared(offers: Vec<Arc<Offer>>) -> Self {
        let mut ix = Self::over(in_processing_order(offers));
        for pos in 0..ix.offers.len() as u32 {
            ix.post_offer(pos);
        }
        ix
    }

    /// This index with the offers `gone` names taken out and `changed` put in (an offer of
    /// `changed` replaces the one of its id here): what [`OfferIndex::build_shared`] builds
    /// from the offers left and the changed ones, made without posting the unchanged
    /// offers' ranges again.
    ///
    /// After one promotion write among ten thousand offers of 20–200 skus, a build posts
    /// about a million sku entries, one hash lookup each. Here the postings of the
    /// unchanged offers are copied key by key with their positions renumbered (an offer's
    /// position is its place in processing order, which an insert shifts), and only the
    /// changed offers are posted. The order of the postings under a key does not matter:
    /// the candidate lookup sorts what it finds.
    pub fn with_changes(&self, changed: Vec<Arc<Offer>>, gone: &HashSet<OfferId>) -> Self {
        let changed = in_processing_order(changed);
        let replaced: HashSet<OfferId> = changed.iter().map(|o| o.id).collect();
        // Old position → new one (`u32::MAX`: taken out), and the changed offers' new ones.
        let mut remap = vec![u32::MAX; self.offers.len()];
        let mut fresh = Vec::with_capacity(changed.len());
        let mut offers = Vec::with_capacity(self.offers.len() + changed.len());
        let mut incoming = changed.into_iter().peekable();
        for (old, o) in self.offers.iter().enumerate() {
            if gone.contains(&o.id) || replaced.contains(&o.id) {
                continue;
            }
            while let Some(c) = incoming.next_if(|c| processing_order(c, o).is_lt()) {
                fresh.push(offers.len() as u32);
                offers.push(c);
            }
            remap[old] = offers.len() as u32;
            offers.push(o.clone());
        }
        for c in incoming {
            fresh.push(offers.len() as u32);
            offers.push(c);
        }

        let mut ix = Self::over(offers);
        ix.sku = renumbered_map(&self.sku, &remap);
        ix.product = renumbered_map(&self.product, &remap);
        ix.attr = self
            .attr
            .iter()
            .map(|(name, values)| (name.clone(), renumbered_map(values, &remap)))
            .filter(|(_, values)| !values.is_empty())
            .collect();
        ix.all = renumbered(&self.all, &remap);
        for pos in fresh {
            ix.post_offer(pos);
        }
        ix
    }

    /// The index of `offers` (in processing order, ids unique) without any range posted.
    fn over(offers: Vec<Arc<Offer>>) -> Self {
        let mut ix = OfferIndex { compiled: Vec::with_capacity(offers.len()), ..OfferIndex::default() };
        ix.by_id.reserve(offers.len());
        for (pos, o) in offers.iter().enumerate() {
            let pos = pos as u32;
            ix.by_id.insert(o.id, pos);
            let fixed_price = matches!(o.benefit.kind, BenefitKind::FixedPrice(_));
            let needs_cond = !matches!(o.condition.kind, ConditionKind::None) || fixed_price;
            let needs_ben = !matches!(o.benefit.kind, BenefitKind::ShippingFree) && !fixed_price;
            ix.compiled.push(Compiled { needs_cond, needs_ben });
            if !o.active {
                continue;
            }
            ix.active.push(pos);
            ix.usage_limited |=
                o.max_global_applications.is_some() || o.max_user_applications.is_some() || o.max_discount.is_some();
            if !needs_cond && !needs_ben {
                ix.always.push(pos);
            }
        }
        ix.offers = offers;
        ix
    }

    /// Posts the ranges of the offer at `pos` (inactive offers are never posted).
    fn post_offer(&mut self, pos: u32) {
        let o = self.offers[pos as usize].clone();
        if !o.active {
            return;
        }
        match self.compiled[pos as usize] {
            Compiled { needs_cond: false, needs_ben: false } => {}
            Compiled { needs_cond: true, needs_ben: true } if o.condition.range == o.benefit.range => {
                self.post(&o.condition.range, pos, COND | BEN)
            }
            Compiled { needs_cond, needs_ben } => {
                if needs_cond {
                    self.post(&o.condition.range, pos, COND);
                }
                if needs_ben {
                    self.post(&o.benefit.range, pos, BEN);
                }
            }
        }
    }

    fn post(&mut self, range: &Range, pos: u32, roles: u8) {
        let p = Posting { pos, roles };
        if range.all {
            self.all.push(p);
            return;
        }
        for sku in &range.skus {
            push_posting(&mut self.sku, sku, p);
        }
        for product in &range.products {
            self.product.entry(*product).or_default().push(p);
        }
        for (name, values) in &range.attributes {
            let m = match self.attr.get_mut(name.as_str()) {
                Some(m) => m,
                None => self.attr.entry(name.clone()).or_default(),
            };
            for v in values {
                push_posting(m, v, p);
            }
        }
    }

    /// Number of offers (active or not).
    pub fn len(&self) -> usize {
        self.offers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.offers.is_empty()
    }

    /// Whether pricing against this index reads [`crate::UsageSnapshot`] at all (some
    /// active offer has a global, per-customer or budget limit). When it does not, callers
    /// may pass an empty snapshot and skip reading usage counters.
    pub fn needs_usage(&self) -> bool {
        self.usage_limited
    }

    pub fn get(&self, id: OfferId) -> Option<&Offer> {
        self.by_id.get(&id).map(|&p| &*self.offers[p as usize])
    }

    /// All offers in processing order (priority descending, id ascending).
    pub fn iter(&self) -> impl Iterator<Item = &Offer> {
        self.offers.iter().map(|o| &**o)
    }

    pub(crate) fn at(&self, pos: u32) -> &Offer {
        &self.offers[pos as usize]
    }

    pub(crate) fn position(&self, id: OfferId) -> Option<u32> {
        self.by_id.get(&id).copied()
    }

    /// The active offers with a global, per-customer or budget limit whose usage pricing
    /// `lines` with `vouchers` reads: with `explain_all` every one of them (a limit is
    /// reported before a missed range), otherwise the candidates for the lines and the
    /// offers a code names. A caller reads usage for these alone; none when no offer has a
    /// limit.
    pub fn limited_for(
        &self,
        lines: &[Line],
        vouchers: &[crate::basket::VoucherGrant],
        explain_all: bool,
    ) -> Vec<OfferId> {
        if !self.usage_limited {
            return Vec::new();
        }
        let positions: Vec<u32> = if explain_all {
            self.active.clone()
        } else {
            let refs: Vec<&Line> = lines.iter().collect();
            let mut buf = Vec::new();
            let mut p: Vec<u32> = self.candidates(&refs, &mut buf).iter().map(|c| c.pos).collect();
            p.extend(vouchers.iter().filter_map(|v| self.position(v.offer)));
            p.sort_unstable();
            p.dedup();
            p
        };
        positions
            .into_iter()
            .map(|pos| &*self.offers[pos as usize])
            .filter(|o| {
                o.active
                    && (o.max_global_applications.is_some()
                        || o.max_user_applications.is_some()
                        || o.max_discount.is_some())
            })
            .map(|o| o.id)
            .collect()
    }

    /// Positions of the active offers, in processing order.
    pub(crate) fn active_positions(&self) -> &[u32] {
        &self.active
    }

    /// The candidate offers for `lines` (given in the engine's canonical order), in
    /// processing order. Line lists in `buf` are ascending.
    pub(crate) fn candidates(&self, lines: &[&Line], buf: &mut Vec<u32>) -> Vec<Candidate> {
        let mut hits: Vec<(u32, u32, u8)> = Vec::new();
        for (k, line) in lines.iter().enumerate() {
            let k = k as u32;
            let mut push = |ps: &[Posting]| {
                for p in ps {
                    let roles = self.unexcluded_roles(*p, &line.sku);
                    if roles != 0 {
                        hits.push((p.pos, k, roles));
                    }
                }
            };
            if let Some(ps) = self.sku.get(line.sku.as_str()) {
                push(ps);
            }
            if let Some(ps) = self.product.get(&line.product) {
                push(ps);
            }
            for (name, value) in &line.attributes {
                if let Some(ps) = self.attr.get(name.as_str()).and_then(|m| m.get(value.as_str())) {
                    push(ps);
                }
            }
            push(&self.all);
        }
        hits.sort_unstable_by_key(|&(pos, k, _)| (pos, k));

        let mut out: Vec<Candidate> = Vec::new();
        let mut always = self.always.iter().copied().peekable();
        let mut i = 0;
        let mut scratch: Vec<(u32, u8)> = Vec::new();
        while i < hits.len() {
            let pos = hits[i].0;
            while let Some(a) = always.next_if(|&a| a < pos) {
                out.push(Candidate { pos: a, cond: 0..0, ben: 0..0 });
            }
            scratch.clear();
            while i < hits.len() && hits[i].0 == pos {
                let (_, k, roles) = hits[i];
                match scratch.last_mut() {
                    Some(last) if last.0 == k => last.1 |= roles,
                    _ => scratch.push((k, roles)),
                }
                i += 1;
            }
            let c0 = buf.len();
            buf.extend(scratch.iter().filter(|s| s.1 & COND != 0).map(|s| s.0));
            let b0 = buf.len();
            buf.extend(scratch.iter().filter(|s| s.1 & BEN != 0).map(|s| s.0));
            let b1 = buf.len();
            let c = self.compiled[pos as usize];
            if (!c.needs_cond || b0 > c0) && (!c.needs_ben || b1 > b0) {
                out.push(Candidate { pos, cond: c0..b0, ben: b0..b1 });
            } else {
                buf.truncate(c0);
            }
        }
        for a in always {
            out.push(Candidate { pos: a, cond: 0..0, ben: 0..0 });
        }
        out
    }

    fn unexcluded_roles(&self, p: Posting, sku: &str) -> u8 {
        let o = &self.offers[p.pos as usize];
        let mut roles = p.roles;
        if roles & COND != 0
            && !o.condition.range.excluded_skus.is_empty()
            && o.condition.range.excluded_skus.contains(sku)
        {
            roles &= !COND;
        }
        if roles & BEN != 0 && !o.benefit.range.excluded_skus.is_empty() && o.benefit.range.excluded_skus.contains(sku)
        {
            roles &= !BEN;
        }
        roles
    }
}

/// Processing order: priority descending, then id ascending.
fn processing_order(a: &Arc<Offer>, b: &Arc<Offer>) -> std::cmp::Ordering {
    b.priority.cmp(&a.priority).then(a.id.cmp(&b.id))
}

/// `offers` in processing order, each id once: the first in that order (then in input
/// order) is kept.
fn in_processing_order(mut offers: Vec<Arc<Offer>>) -> Vec<Arc<Offer>> {
    offers.sort_by(processing_order);
    let mut seen = HashSet::new();
    offers.retain(|o| seen.insert(o.id));
    offers
}

/// `postings` under their new positions, those taken out dropped.
fn renumbered(postings: &[Posting], remap: &[u32]) -> Vec<Posting> {
    postings
        .iter()
        .filter_map(|p| {
            let pos = remap[p.pos as usize];
            (pos != u32::MAX).then_some(Posting { pos, roles: p.roles })
        })
        .collect()
}

/// A posting map renumbered ([`renumbered`]), keys left without postings dropped.
fn renumbered_map<K: Clone + Eq + std::hash::Hash>(
    map: &HashMap<K, Vec<Posting>>,
    remap: &[u32],
) -> HashMap<K, Vec<Posting>> {
    let mut out = HashMap::with_capacity_and_hasher(map.len(), Default::default());
    for (key, postings) in map {
        let kept = renumbered(postings, remap);
        if !kept.is_empty() {
            out.insert(key.clone(), kept);
        }
    }
    out
}

/// Adds `p` to the postings of `key`. The key is copied only the first time it is posted:
/// ten thousand offers over a few thousand skus post about a million entries, and copying
/// the sku for each was most of a rebuild.
fn push_posting(map: &mut HashMap<String, Vec<Posting>>, key: &str, p: Posting) {
    match map.get_mut(key) {
        Some(postings) => postings.push(p),
        None => {
            map.insert(key.to_owned(), vec![p]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Currency, Percent};
    use crate::offer::{Benefit, Condition};
    use proptest::prelude::*;

    const SKUS: [&str; 4] = ["A", "B", "C", "D"];

    fn range() -> impl Strategy<Value = Range> {
        (
            any::<bool>(),
            proptest::sample::subsequence(SKUS.to_vec(), 0..3),
            proptest::sample::subsequence(vec![0i64, 1, 2], 0..2),
            proptest::sample::subsequence(vec!["STD", "RED"], 0..2),
            proptest::sample::subsequence(SKUS.to_vec(), 0..2),
        )
            .prop_map(|(all, skus, products, colors, excluded)| {
                let mut r = Range::skus(skus).excluding(excluded);
                r.all = all && colors.is_empty();
                r.products = products.into_iter().map(ProductId).collect();
                if !colors.is_empty() {
                    r.attributes.insert("renk".into(), colors.into_iter().map(String::from).collect());
                }
                r
            })
    }

    fn line() -> impl Strategy<Value = Line> {
        (0..SKUS.len(), 0i64..3, proptest::option::of(proptest::sample::select(vec!["STD", "RED", "BLU"]))).prop_map(
            |(s, p, c)| {
                let l = Line::new(p, SKUS[s], 1, 100);
                match c {
                    Some(c) => l.with_attribute("renk", c),
                    None => l,
                }
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// The inverted index finds exactly the lines `Range::matches` accepts.
        #[test]
        fn index_agrees_with_range_matches(
            cr in range(),
            br in range(),
            count in any::<bool>(),
            lines in proptest::collection::vec(line(), 0..6),
        ) {
            let kind = if count { ConditionKind::Count(1) } else { ConditionKind::None };
            let o = Offer::new(
                1,
                "o",
                Currency::parse("try").unwrap(),
                Condition { kind, range: cr.clone() },
                Benefit { kind: BenefitKind::Percentage(Percent::from_int(10).unwrap()), max_affected_items: None, range: br.clone() },
            );
            let ix = OfferIndex::build(vec![o]);
            let refs: Vec<&Line> = lines.iter().collect();
            let mut buf = Vec::new();
            let cands = ix.candidates(&refs, &mut buf);
            let want_cond: Vec<u32> = (0..lines.len() as u32).filter(|&k| cr.matches(&lines[k as usize])).collect();
            let want_ben: Vec<u32> = (0..lines.len() as u32).filter(|&k| br.matches(&lines[k as usize])).collect();
            let expect = (!count || !want_cond.is_empty()) && !want_ben.is_empty();
            prop_assert_eq!(cands.len(), usize::from(expect));
            if let Some(c) = cands.first() {
                prop_assert_eq!(&buf[c.ben.clone()], &want_ben[..]);
                if count {
                    prop_assert_eq!(&buf[c.cond.clone()], &want_cond[..]);
                }
            }
        }

        /// An index changed in place prices exactly as one built from its offers.
        #[test]
        fn an_index_with_changes_is_the_index_built_from_scratch(
            before in proptest::collection::vec(offer(), 0..10),
            changed in proptest::collection::vec(offer(), 0..5),
            gone in proptest::collection::vec(0i64..12, 0..4),
            baskets in proptest::collection::vec(proptest::collection::vec(line(), 0..5), 1..4),
        ) {
            let ix = OfferIndex::build(before);
            let gone: HashSet<OfferId> = gone.into_iter().map(OfferId).collect();
            let changed: Vec<Arc<Offer>> = changed.into_iter().map(Arc::new).collect();
            let changed_ids: HashSet<OfferId> = changed.iter().map(|o| o.id).collect();
            let kept = ix.offers.iter().filter(|o| !gone.contains(&o.id) && !changed_ids.contains(&o.id)).cloned();
            let built = OfferIndex::build_shared(kept.chain(changed.iter().cloned()).collect());
            let updated = ix.with_changes(changed, &gone);
            prop_assert_eq!(observed(&updated, &baskets), observed(&built, &baskets));
        }
    }

    fn offer() -> impl Strategy<Value = Offer> {
        (0i64..12, -2i32..3, any::<bool>(), 0u8..4, 0u8..3, range(), range(), any::<bool>()).prop_map(
            |(id, priority, active, cond, ben, cr, br, limited)| {
                let kind = match cond {
                    0 => ConditionKind::None,
                    _ => ConditionKind::Count(u32::from(cond)),
                };
                let benefit = match ben {
                    0 => BenefitKind::Percentage(Percent::from_int(10).unwrap()),
                    1 => BenefitKind::ShippingFree,
                    _ => BenefitKind::FixedPrice(50),
                };
                let br = if id % 3 == 0 { cr.clone() } else { br };
                let mut o = Offer::new(
                    id,
                    "o",
                    Currency::parse("try").unwrap(),
                    Condition { kind, range: cr },
                    Benefit { kind: benefit, max_affected_items: None, range: br },
                );
                o.priority = priority;
                o.active = active;
                if limited {
                    o.max_global_applications = Some(3);
                }
                o
            },
        )
    }

    /// Everything pricing reads of an index, for `baskets`.
    fn observed(ix: &OfferIndex, baskets: &[Vec<Line>]) -> String {
        let mut out = format!(
            "ids {:?} active {:?} always {:?} usage {}",
            ix.iter().map(|o| (o.id.0, o.priority, o.active)).collect::<Vec<_>>(),
            ix.active_positions(),
            ix.always,
            ix.needs_usage(),
        );
        for lines in baskets {
            let refs: Vec<&Line> = lines.iter().collect();
            let mut buf = Vec::new();
            for c in ix.candidates(&refs, &mut buf) {
                out += &format!(" | {} {:?} {:?}", c.pos, &buf[c.cond.clone()], &buf[c.ben.clone()]);
            }
            out += " ;";
        }
        out
    }

    #[test]
    fn processing_order_and_lookup() {
        let t = Currency::parse("try").unwrap();
        let mk = |id: i64, prio: i32| {
            let mut o = Offer::new(
                id,
                "o",
                t,
                Condition::none(),
                Benefit { kind: BenefitKind::Fixed(100), max_affected_items: None, range: Range::skus(["X"]) },
            );
            o.priority = prio;
            o
        };
        let ix = OfferIndex::build(vec![mk(3, 0), mk(1, 0), mk(2, 5), mk(1, 9)]);
        assert_eq!(ix.len(), 3, "duplicate id 1 keeps the first in processing order");
        assert_eq!(ix.iter().map(|o| o.id.0).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(ix.get(OfferId(1)).map(|o| o.priority), Some(9));
        assert!(ix.get(OfferId(7)).is_none());
        let line = Line::new(1, "Y", 1, 100);
        let mut buf = Vec::new();
        assert!(ix.candidates(&[&line], &mut buf).is_empty(), "a miss costs no evaluation");
    }

    #[test]
    fn usage_is_read_for_the_limited_offers_a_pricing_looks_at() {
        let t = Currency::parse("try").unwrap();
        let mk = |id: i64, sku: &str, limited: bool| {
            let mut o = Offer::new(
                id,
                "o",
                t,
                Condition::none(),
                Benefit { kind: BenefitKind::Fixed(100), max_affected_items: None, range: Range::skus([sku]) },
            );
            if limited {
                o.max_global_applications = Some(5);
            }
            o
        };
        let mut coded = mk(4, "Z", true);
        coded.kind = crate::offer::OfferKind::VoucherCode;
        let mut off = mk(5, "X", true);
        off.active = false;
        let ix = OfferIndex::build(vec![mk(1, "X", true), mk(2, "X", false), mk(3, "Y", true), coded, off]);
        let lines = [Line::new(1, "X", 1, 100)];
        let ids = |v: Vec<OfferId>| v.into_iter().map(|o| o.0).collect::<Vec<_>>();
        assert_eq!(ids(ix.limited_for(&lines, &[], false)), [1], "the basket's limited candidates only");
        let grant =
            crate::basket::VoucherGrant { code: crate::VoucherCode::parse("CODE1").unwrap(), offer: OfferId(4) };
        assert_eq!(ids(ix.limited_for(&lines, &[grant], false)), [1, 4], "and the offers a code names");
        assert_eq!(ids(ix.limited_for(&lines, &[], true)), [1, 3, 4], "explaining all: every active limited offer");
        assert!(OfferIndex::build(vec![mk(2, "X", false)]).limited_for(&lines, &[], true).is_empty());
    }

    #[test]
    fn usage_is_needed_only_when_an_active_offer_has_a_limit() {
        let t = Currency::parse("try").unwrap();
        let mk = |id: i64| {
            Offer::new(
                id,
                "o",
                t,
                Condition::none(),
                Benefit { kind: BenefitKind::Fixed(100), max_affected_items: None, range: Range::skus(["X"]) },
            )
        };
        assert!(!OfferIndex::build(vec![mk(1), mk(2)]).needs_usage());
        let mut basket_only = mk(3);
        basket_only.max_basket_applications = Some(1);
        assert!(!OfferIndex::build(vec![mk(1), basket_only]).needs_usage(), "a basket limit needs no counters");
        for limit in 0..3 {
            let mut o = mk(4);
            match limit {
                0 => o.max_global_applications = Some(10),
                1 => o.max_user_applications = Some(1),
                _ => o.max_discount = Some(5_000),
            }
            let mut inactive = o.clone();
            inactive.active = false;
            assert!(OfferIndex::build(vec![mk(1), o]).needs_usage());
            assert!(!OfferIndex::build(vec![mk(1), inactive]).needs_usage(), "inactive offers are never priced");
        }
    }
}
