//! The promotions an order applies, checked against their rows inside the checkout
//! transaction.
//!
//! A node prices a basket against its offer cache (`offerline_app::offers`), which follows
//! other nodes' writes with a lag (the change watcher, then a debounce, then a rebuild): a
//! checkout priced just before a PATCH, on another process sharing the SQLite file, or on a
//! node that has not heard a PostgreSQL NOTIFY yet, carries the offer as the cache knew it.
//! The database is the authority, so the transaction that writes the order reads each applied
//! promotion's row and:
//!
//! - refuses the order ([`StoreError::OfferChanged`]) when the row says the offer is off:
//!   missing or deleted, inactive, not open at the checkout instant, or applied more often
//!   than its per-basket limit now allows — or when the row changed at all since the copy the
//!   basket was priced with was read (its `modified_at` differs: a new benefit, condition or
//!   customer list). The caller re-prices against fresh offers (or refuses the checkout), and
//!   nothing is written;
//! - enforces the global, per-customer and budget limits as the row has them *now*: the usage
//!   claims are given the row's limits before they are claimed, so a limit lowered (or added,
//!   or raised) since the cache was built is the one the conditional claims check.
//!
//! Read inside the transaction, after the order's other statements are queued behind the same
//! lock: on SQLite the writer holds the write lock (`BEGIN IMMEDIATE`), so the row is the
//! latest committed by any process; on PostgreSQL each statement sees every commit before it.
//! A promotion write that commits after this read is ordered after the checkout, as if the
//! checkout had come first. The PostgreSQL writer's fast path (`pg_bulk`) reads the
//! rows of a whole batch at once, just before the one statement that writes its orders and
//! commits: the same rule, since a read inside a transaction locks nothing either.

use std::collections::HashMap;

use offerline_core::{OfferId, OrderDraft, UsageClaim};

use crate::exec::{Exec, Param};
use crate::list::placeholders;
use crate::{Result, StoreError};

/// One applied promotion's row, as the checkout reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Row {
    active: bool,
    deleted: bool,
    modified_at: i64,
    start_at: Option<i64>,
    end_at: Option<i64>,
    max_basket: Option<i64>,
    max_user: Option<i64>,
    max_global: Option<i64>,
    max_discount: Option<i64>,
}

/// Ids per `IN` list: well under both engines' bound-parameter limits.
const CHUNK: usize = 500;

/// Checks every promotion `draft` applies against its row at instant `at` (microseconds);
/// `priced` holds (promotion id, `modified_at`) of the rows the offers were priced from.
/// `Err(OfferChanged)`: an applied offer is off or changed (see the module docs).
/// `Ok(None)`: the claims' limits are the rows'. `Ok(Some(claims))`: the draft's claims with
/// the rows' limits, to be claimed instead of the draft's.
pub async fn current_claims<E: Exec>(
    tx: &mut E,
    draft: &OrderDraft,
    priced: &[(i64, i64)],
    at: i64,
) -> Result<Option<Vec<UsageClaim>>> {
    let ids = applied_ids(draft);
    if ids.is_empty() {
        return Ok(None);
    }
    let rows = OfferRows::read(tx, &ids).await?;
    rows.claims(draft, priced, at)
}

/// The promotions an order applies (its discounts' and its claims'), sorted, once each.
pub(crate) fn applied_ids(draft: &OrderDraft) -> Vec<i64> {
    let mut ids: Vec<i64> = draft.discounts.iter().filter_map(|d| d.offer.map(|o| o.0)).collect();
    ids.extend(draft.claims.iter().filter_map(|c| match c {
        UsageClaim::Offer { offer, .. } | UsageClaim::CustomerOffer { offer, .. } => Some(offer.0),
        UsageClaim::Voucher { .. } => None,
    }));
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Promotion rows as the checkout reads them: those of one order ([`current_claims`]), or
/// those of every order of a batch, read once ([`crate::pg_bulk`]).
#[derive(Debug, Default)]
pub(crate) struct OfferRows(HashMap<i64, Row>);

impl OfferRows {
    /// The rows of promotions `ids` (a missing one is absent).
    pub(crate) async fn read<E: Exec>(tx: &mut E, ids: &[i64]) -> Result<Self> {
        Ok(OfferRows(read_rows(tx, ids).await?))
    }

    /// [`current_claims`] against these rows, which must hold every promotion the draft
    /// applies that exists ([`applied_ids`]).
    pub(crate) fn claims(&self, draft: &OrderDraft, priced: &[(i64, i64)], at: i64) -> Result<Option<Vec<UsageClaim>>> {
        let rows = &self.0;
        for id in applied_ids(draft) {
            let off = |why: &'static str| StoreError::OfferChanged { promotion_id: id, why };
            let Some(r) = rows.get(&id) else { return Err(off("deleted")) };
            if r.deleted {
                return Err(off("deleted"));
            }
            if !r.active {
                return Err(off("inactive"));
            }
            if r.start_at.is_some_and(|s| at < s) {
                return Err(off("not started yet"));
            }
            if r.end_at.is_some_and(|e| at >= e) {
                return Err(off("ended"));
            }
        }
        for &(id, version) in priced {
            if rows.get(&id).is_some_and(|r| r.modified_at != version) {
                return Err(StoreError::OfferChanged {
                    promotion_id: id,
                    why: "different from the one the basket was priced with",
                });
            }
        }
        let mut claims = draft.claims.clone();
        let mut changed = false;
        for c in &mut claims {
            match c {
                UsageClaim::Offer { offer, applications, max_applications, max_discount, .. } => {
                    let r = row(rows, *offer)?;
                    if r.max_basket.is_some_and(|m| i64::from(*applications) > m) {
                        return Err(StoreError::OfferChanged {
                            promotion_id: offer.0,
                            why: "over its per-basket limit",
                        });
                    }
                    let (apps, budget) = (count(r.max_global), r.max_discount);
                    changed |= *max_applications != apps || *max_discount != budget;
                    (*max_applications, *max_discount) = (apps, budget);
                }
                UsageClaim::CustomerOffer { offer, max_applications, .. } => {
                    let apps = count(row(rows, *offer)?.max_user);
                    changed |= *max_applications != apps;
                    *max_applications = apps;
                }
                UsageClaim::Voucher { .. } => {}
            }
        }
        Ok(changed.then_some(claims))
    }
}

fn row(rows: &HashMap<i64, Row>, offer: OfferId) -> Result<&Row> {
    rows.get(&offer.0).ok_or(StoreError::OfferChanged { promotion_id: offer.0, why: "deleted" })
}

/// A stored count limit as the claims hold it. Rows are written through the API (at most
/// `u32::MAX`); a larger or negative value written by hand is read as what it means.
fn count(v: Option<i64>) -> Option<u32> {
    v.map(|m| u32::try_from(m.max(0)).unwrap_or(u32::MAX))
}

/// The columns [`OfferRows`] reads, in the order [`OfferRows::add`] takes them.
pub(crate) const ROW_COLS: &str = "id, is_active, deleted, start_at, end_at, max_basket_applications, \
     max_user_applications, max_global_applications, max_discount, modified_at";

async fn read_rows<E: Exec>(tx: &mut E, ids: &[i64]) -> Result<HashMap<i64, Row>> {
    let mut out = OfferRows::default();
    for chunk in ids.chunks(CHUNK) {
        let sql = format!("SELECT {ROW_COLS} FROM promotions WHERE id IN ({})", placeholders(0, chunk.len()));
        let params: Vec<Param<'_>> = chunk.iter().map(|&id| id.into()).collect();
        for r in tx.rows(&sql, &params).await? {
            out.add(&r)?;
        }
    }
    Ok(out.0)
}

impl OfferRows {
    /// Adds a row read as [`ROW_COLS`].
    pub(crate) fn add(&mut self, r: &[Param<'_>]) -> Result<()> {
        let int = |i: usize| r.get(i).and_then(Param::int);
        let Some(id) = int(0) else { return Err(StoreError::Internal("a promotion row without an id".into())) };
        self.0.insert(
            id,
            Row {
                active: int(1) != Some(0),
                deleted: int(2) != Some(0),
                start_at: int(3),
                end_at: int(4),
                max_basket: int(5),
                max_user: int(6),
                max_global: int(7),
                max_discount: int(8),
                modified_at: int(9).unwrap_or_default(),
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use offerline_core::{CustomerId, DiscountDraft, VoucherId, VoucherUsage};

    use super::*;
    use crate::exec::{SqliteExec, complete};

    fn db() -> rusqlite::Connection {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE promotions (id INTEGER PRIMARY KEY, is_active BIGINT NOT NULL, deleted BIGINT NOT NULL, \
             start_at BIGINT, end_at BIGINT, max_basket_applications BIGINT, max_user_applications BIGINT, \
             max_global_applications BIGINT, max_discount BIGINT, modified_at BIGINT NOT NULL); \
             INSERT INTO promotions VALUES (1, 1, 0, 100, 200, NULL, NULL, NULL, NULL, 50);",
        )
        .unwrap();
        c
    }

    /// An order applying offer 1 twice for 500, with every claim the cache gave it.
    fn draft() -> OrderDraft {
        let offer = OfferId(1);
        OrderDraft {
            discounts: vec![DiscountDraft { offer: Some(offer), amount: 500, ..DiscountDraft::default() }],
            claims: vec![
                UsageClaim::Offer { offer, applications: 2, discount: 500, max_applications: None, max_discount: None },
                UsageClaim::CustomerOffer { offer, customer: CustomerId(9), applications: 2, max_applications: None },
                UsageClaim::Voucher { voucher: VoucherId(3), usage: VoucherUsage::MultiUse, customer: None },
            ],
            ..OrderDraft::default()
        }
    }

    fn check(c: &rusqlite::Connection, at: i64) -> Result<Option<Vec<UsageClaim>>> {
        complete(current_claims(&mut SqliteExec { conn: c }, &draft(), &[(1, 50)], at))
    }

    fn why(r: Result<Option<Vec<UsageClaim>>>) -> &'static str {
        match r {
            Err(StoreError::OfferChanged { promotion_id: 1, why }) => why,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_offer_the_row_turns_off_is_refused() {
        let c = db();
        assert!(check(&c, 150).unwrap().is_none(), "as priced: nothing to change");
        assert_eq!(why(check(&c, 99)), "not started yet");
        assert!(check(&c, 100).is_ok(), "the window includes its start");
        assert_eq!(why(check(&c, 200)), "ended", "and excludes its end");
        c.execute_batch("UPDATE promotions SET is_active = 0").unwrap();
        assert_eq!(why(check(&c, 150)), "inactive");
        c.execute_batch("UPDATE promotions SET is_active = 1, deleted = 1").unwrap();
        assert_eq!(why(check(&c, 150)), "deleted");
        c.execute_batch("DELETE FROM promotions").unwrap();
        assert_eq!(why(check(&c, 150)), "deleted");
        let c = db();
        c.execute_batch("UPDATE promotions SET max_basket_applications = 1").unwrap();
        assert_eq!(why(check(&c, 150)), "over its per-basket limit");
        let c = db();
        c.execute_batch("UPDATE promotions SET modified_at = 49").unwrap();
        assert_eq!(
            why(check(&c, 150)),
            "different from the one the basket was priced with",
            "another version, older or not"
        );
        let unversioned = complete(current_claims(&mut SqliteExec { conn: &c }, &draft(), &[], 150));
        assert!(unversioned.unwrap().is_none(), "without a version, only the row's state is checked");
    }

    #[test]
    fn the_claims_carry_the_rows_limits() {
        let c = db();
        c.execute_batch(
            "UPDATE promotions SET max_global_applications = 7, max_discount = 900, max_user_applications = 3, \
             max_basket_applications = 2",
        )
        .unwrap();
        let claims = check(&c, 150).unwrap().expect("the limits differ from the cache's");
        assert_eq!(
            claims[0],
            UsageClaim::Offer {
                offer: OfferId(1),
                applications: 2,
                discount: 500,
                max_applications: Some(7),
                max_discount: Some(900)
            }
        );
        assert_eq!(
            claims[1],
            UsageClaim::CustomerOffer {
                offer: OfferId(1),
                customer: CustomerId(9),
                applications: 2,
                max_applications: Some(3)
            }
        );
        assert_eq!(claims[2], draft().claims[2], "a voucher claim is the voucher's");
        // A limit removed since is removed from the claim too; one out of range is the most.
        c.execute_batch("UPDATE promotions SET max_global_applications = NULL, max_user_applications = 99999999999")
            .unwrap();
        let claims = check(&c, 150).unwrap().unwrap();
        assert!(matches!(claims[0], UsageClaim::Offer { max_applications: None, max_discount: Some(900), .. }));
        assert!(matches!(claims[1], UsageClaim::CustomerOffer { max_applications: Some(u32::MAX), .. }));
    }
}
