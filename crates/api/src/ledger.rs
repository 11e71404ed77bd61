//! Placeholder for the `ledger` endpoints; see the crate docs for what it will own.

use crate::docs::{Auth, Routes};

pub fn routes() -> Routes {
    Routes::new("ledger", Auth::Staff)
}
