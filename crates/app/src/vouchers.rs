//! The one rule that says whether a voucher code may be used by a customer now, before
//! pricing: the storefront basket, checkout and the staff simulation all ask it. The
//! database's usage claim at checkout stays the enforcement; this rule only explains.

use offerline_store::Store;
use offerline_store::promotions::Voucher;

use crate::error::AppResult;

/// Why a voucher cannot be used, checked in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The voucher is assigned to other customers.
    NotAssigned,
    /// A single-use voucher that has been used.
    AlreadyUsed,
    /// A once-per-customer voucher asked for without a customer.
    NeedsCustomer,
    /// A once-per-customer voucher this customer has used.
    AlreadyUsedByCustomer,
}

/// Why `v` cannot be used by `customer`, or `None` when it may be used so far.
pub async fn refusal(store: &Store, v: &Voucher, customer: Option<i64>) -> AppResult<Option<Refusal>> {
    if !v.customers.is_empty() && !customer.is_some_and(|c| v.customers.contains(&c)) {
        return Ok(Some(Refusal::NotAssigned));
    }
    Ok(match (v.usage.as_str(), customer) {
        ("single_use", _) if v.uses > 0 => Some(Refusal::AlreadyUsed),
        ("once_per_customer", None) => Some(Refusal::NeedsCustomer),
        ("once_per_customer", Some(c)) if store.voucher_used_by(v.id, c).await? => Some(Refusal::AlreadyUsedByCustomer),
        _ => None,
    })
}
