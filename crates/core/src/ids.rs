//! The store's keys as the domain sees them: products, offers, customers, vouchers.
//!
//! They live apart from the modules that use them so that those modules (offers, baskets,
//! drafts) depend on them and never on each other just for an id.

/// The catalogue's primary key of a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProductId(pub i64);

/// The store's primary key of an offer ("promotion").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OfferId(pub i64);

/// A customer's user pk (as `/current_user/` gives it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CustomerId(pub i64);

/// The store's primary key of a voucher code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VoucherId(pub i64);
