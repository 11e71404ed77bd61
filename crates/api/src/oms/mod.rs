//! Akinon's order management (OMS) dialect: `/api/v1/oms/order_items/…` ([`order_items`]).

pub mod order_items;

use axum::routing::get;

use crate::http::docs::{Auth, Routes};

/// Every route of the dialect, registered here and nowhere else (the table is also the
/// dialect's part of the OpenAPI document).
pub fn routes() -> Routes {
    Routes::new("oms", Auth::Staff)
        .add(
            "/api/v1/oms/order_items/",
            get(order_items::list_detailed),
            &[(
                "get",
                "OMS order items with state and product objects (filters `order_number`, `order`, `status`, `state`)",
            )],
        )
        .add(
            "/api/v1/oms/order_items/list-simple/",
            get(order_items::list_simple),
            &[("get", "OMS order items with state, order and product as ids")],
        )
        .add("/api/v1/oms/order_items/{id}/", get(order_items::get_item), &[("get", "One OMS order item in detail")])
}
