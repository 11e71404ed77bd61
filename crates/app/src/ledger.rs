//! Reading the order ledger: the one read model (orders, order items, discount items and
//! their applicants, with the catalogue rows a view asks for) every view renders — the
//! Omnitron and OMS views, the Commerce account, Elastic Path orders, the checkout answer —
//! and the offers assigned to a customer.
//!
//! A read names its roots (or a typed list query and [`LedgerFilter`]) and the [`Parts`] it
//! shows; each part is one batched query whatever the page size. Views of what the ledger
//! says about a customer read the clock here, not in the adapter.

pub use offerline_store::ledger::{
    BenefitApplicantRow, CancellationItemRow, CancellationRow, ConditionApplicantRow, CustomerOffer, DiscountItemRow,
    Ledger, LedgerCancellation, LedgerDiscount, LedgerFilter, LedgerItem, LedgerOrder, LedgerRows, OPEN_OFFERS_CAP,
    OfferWindow, OrderDetail, OrderItemRow, OrderRow, Parts, PromotionRef, Roots,
};
use offerline_store::now_micros;

use crate::error::AppResult;
use crate::handle::App;
use crate::list::ListQuery;

/// The ledger from `roots` with `parts`.
pub async fn load(app: &App, roots: Roots<'_>, parts: Parts) -> AppResult<Ledger> {
    Ok(app.store().ledger(roots, parts).await?)
}

/// A page of order items (`q` and `filter`) with `parts`, and the count of all matches.
pub async fn order_items(app: &App, q: &ListQuery, filter: &LedgerFilter, parts: Parts) -> AppResult<(i64, Ledger)> {
    Ok(app.store().list_order_items(q, filter, parts).await?)
}

/// A page of discount items (`q` and `filter`) with `parts`, and the count of all matches.
pub async fn discount_items(app: &App, q: &ListQuery, filter: &LedgerFilter, parts: Parts) -> AppResult<(i64, Ledger)> {
    Ok(app.store().list_discount_items(q, filter, parts).await?)
}

/// The offers assigned to `user` in `window` as of now, in `currency` (`None`: any), and
/// their count: every open one (up to [`OPEN_OFFERS_CAP`], count not read), or one window
/// of `limit` from `offset` of the future or expired ones.
pub async fn customer_offers(
    app: &App,
    user: i64,
    currency: Option<&str>,
    window: OfferWindow,
    limit: i64,
    offset: i64,
) -> AppResult<(i64, Vec<CustomerOffer>)> {
    Ok(app.store().customer_offers(user, currency, now_micros(), window, limit, offset).await?)
}
