//! Vouchers: how often a code may be used, and the one rule that says why a code cannot be
//! used now.
//!
//! The rule is checked before pricing (the storefront basket, checkout and the staff
//! simulator all ask [`refusal`]), so a refused code is explained instead of silently not
//! applying. It is advice, not enforcement: checkout claims the use in the transaction that
//! writes the order ([`crate::draft::UsageClaim::Voucher`]), and the database refuses a use
//! that a racing order took first.

use std::fmt;

use crate::error::DomainError;
use crate::ids::CustomerId;

/// How often a voucher code may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VoucherUsage {
    /// Once, by anyone.
    SingleUse,
    /// Any number of times.
    MultiUse,
    /// Once per customer; a use needs a known customer.
    OncePerCustomer,
}

impl VoucherUsage {
    /// Every usage, in the order the API lists them.
    pub const ALL: [VoucherUsage; 3] = [VoucherUsage::SingleUse, VoucherUsage::MultiUse, VoucherUsage::OncePerCustomer];

    /// The stored and API spelling: `single_use`, `multi_use`, `once_per_customer`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL.into_iter().find(|u| u.as_str() == s).ok_or_else(|| DomainError::NotAChoice(s.to_owned()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            VoucherUsage::SingleUse => "single_use",
            VoucherUsage::MultiUse => "multi_use",
            VoucherUsage::OncePerCustomer => "once_per_customer",
        }
    }
}

impl fmt::Display for VoucherUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the store knows about a voucher, as [`refusal`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherFacts {
    pub usage: VoucherUsage,
    /// Orders that used the code so far.
    pub uses: i64,
    /// When non-empty, only these customers may use the code.
    pub assigned: Vec<CustomerId>,
    /// Whether the customer asking has used the code before. Only read for a
    /// `once_per_customer` code: fill it in when [`VoucherFacts::history_needed`] says so.
    pub used_by_customer: bool,
}

/// Why a voucher code cannot be used now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoucherRefusal {
    /// The code is assigned to customers, and the one asking is not among them (or is
    /// not known).
    NotAssigned,
    /// A single-use code that an order has used.
    AlreadyUsed,
    /// A once-per-customer code and no customer to count the use against.
    NeedsCustomer,
    /// A once-per-customer code this customer has used.
    AlreadyUsedByCustomer,
}

impl VoucherFacts {
    /// The customer whose past use of the code decides [`refusal`], if any: the store's
    /// answer goes in [`VoucherFacts::used_by_customer`]. `None` when the answer cannot
    /// matter (not a once-per-customer code, no customer, or refused before that), so the
    /// look-up is made only when it is needed.
    pub fn history_needed(&self, customer: Option<CustomerId>) -> Option<CustomerId> {
        let asked = Self { used_by_customer: false, ..self.clone() };
        match (refusal(&asked, customer), customer) {
            (None, Some(c)) if self.usage == VoucherUsage::OncePerCustomer => Some(c),
            _ => None,
        }
    }
}

/// Why `customer` cannot use the voucher now, or `None` when nothing known so far stops it.
/// The checks, in order: the assignment to customers, then the usage (`single_use` already
/// used; `once_per_customer` without a customer, or used by this customer).
pub fn refusal(facts: &VoucherFacts, customer: Option<CustomerId>) -> Option<VoucherRefusal> {
    if !facts.assigned.is_empty() && !customer.is_some_and(|c| facts.assigned.contains(&c)) {
        return Some(VoucherRefusal::NotAssigned);
    }
    match (facts.usage, customer) {
        (VoucherUsage::SingleUse, _) if facts.uses > 0 => Some(VoucherRefusal::AlreadyUsed),
        (VoucherUsage::OncePerCustomer, None) => Some(VoucherRefusal::NeedsCustomer),
        (VoucherUsage::OncePerCustomer, Some(_)) if facts.used_by_customer => {
            Some(VoucherRefusal::AlreadyUsedByCustomer)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(usage: VoucherUsage, uses: i64, assigned: &[i64]) -> VoucherFacts {
        VoucherFacts {
            usage,
            uses,
            assigned: assigned.iter().map(|&c| CustomerId(c)).collect(),
            used_by_customer: false,
        }
    }

    #[test]
    fn usages_round_trip_their_stored_spelling() {
        for u in VoucherUsage::ALL {
            assert_eq!(VoucherUsage::parse(u.as_str()), Ok(u));
        }
        assert_eq!(VoucherUsage::parse("twice").unwrap_err().to_string(), "\"twice\" is not a valid choice.");
        assert!(VoucherUsage::parse("SINGLE_USE").is_err());
    }

    #[test]
    fn assignment_is_checked_first() {
        let f = facts(VoucherUsage::SingleUse, 3, &[7, 8]);
        assert_eq!(refusal(&f, Some(CustomerId(9))), Some(VoucherRefusal::NotAssigned));
        assert_eq!(refusal(&f, None), Some(VoucherRefusal::NotAssigned));
        assert_eq!(refusal(&f, Some(CustomerId(8))), Some(VoucherRefusal::AlreadyUsed));
        assert_eq!(refusal(&facts(VoucherUsage::MultiUse, 3, &[7]), Some(CustomerId(7))), None);
    }

    #[test]
    fn single_use_codes_are_refused_once_used() {
        assert_eq!(refusal(&facts(VoucherUsage::SingleUse, 0, &[]), None), None);
        assert_eq!(refusal(&facts(VoucherUsage::SingleUse, 1, &[]), None), Some(VoucherRefusal::AlreadyUsed));
        assert_eq!(refusal(&facts(VoucherUsage::MultiUse, 100, &[]), None), None);
    }

    #[test]
    fn once_per_customer_codes_need_a_customer_who_has_not_used_them() {
        let mut f = facts(VoucherUsage::OncePerCustomer, 5, &[]);
        assert_eq!(refusal(&f, None), Some(VoucherRefusal::NeedsCustomer));
        assert_eq!(f.history_needed(None), None);
        assert_eq!(f.history_needed(Some(CustomerId(4))), Some(CustomerId(4)));
        assert_eq!(refusal(&f, Some(CustomerId(4))), None);
        f.used_by_customer = true;
        assert_eq!(refusal(&f, Some(CustomerId(4))), Some(VoucherRefusal::AlreadyUsedByCustomer));
    }

    #[test]
    fn the_history_is_asked_for_only_when_it_decides() {
        let customer = Some(CustomerId(4));
        assert_eq!(facts(VoucherUsage::SingleUse, 0, &[]).history_needed(customer), None);
        assert_eq!(facts(VoucherUsage::MultiUse, 0, &[]).history_needed(customer), None);
        // Refused by the assignment before the usage is looked at.
        assert_eq!(facts(VoucherUsage::OncePerCustomer, 0, &[5]).history_needed(customer), None);
        assert_eq!(facts(VoucherUsage::OncePerCustomer, 0, &[4]).history_needed(customer), customer);
    }
}
