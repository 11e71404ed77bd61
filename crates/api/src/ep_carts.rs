//! Placeholder for the Elastic Path carts, custom discounts, checkout and orders.

use crate::docs::{Auth, Routes};

pub fn routes() -> Routes {
    Routes::new("elasticpath", Auth::Client)
}
