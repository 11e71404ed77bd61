//! Placeholder for the `account` endpoints; see the crate docs for what it will own.

use crate::docs::{Auth, Routes};

pub fn routes() -> Routes {
    Routes::new("account", Auth::Staff)
}
