//! Asking the one voucher rule ([`offerline_core::voucher::refusal`]) about a stored voucher:
//! the storefront basket, checkout and the staff simulation all ask it through here. The
//! rule is pure; the one fact it may need from the database (has this customer used the
//! code?) is read only when the rule says it matters. The database's usage claim at checkout
//! stays the enforcement; this only explains.

use offerline_core::{CustomerId, VoucherFacts, VoucherRefusal, refusal as rule};
use offerline_store::Store;
use offerline_store::promotions::Voucher;

use crate::error::AppResult;

/// Why `v` cannot be used by `customer`, or `None` when it may be used so far.
pub async fn refusal(store: &Store, v: &Voucher, customer: Option<i64>) -> AppResult<Option<VoucherRefusal>> {
    let customer = customer.map(CustomerId);
    let mut facts = VoucherFacts {
        usage: v.usage,
        uses: v.uses,
        assigned: v.customers.iter().map(|&c| CustomerId(c)).collect(),
        used_by_customer: false,
    };
    if let Some(c) = facts.history_needed(customer) {
        facts.used_by_customer = store.voucher_used_by(v.id, c.0).await?;
    }
    Ok(rule(&facts, customer))
}
