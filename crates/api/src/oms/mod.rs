//! Akinon's order management (OMS) dialect: `/api/v1/oms/order_items/…` ([`order_items`]), its
//! answers as typed structs ([`wire`]).

pub mod order_items;
pub mod wire;

use axum::routing::get;

use crate::http::docs::{Auth, Routes, Verb};
use wire::{OmsOrderItem, OmsOrderItemSimple};

/// Every route of the dialect, registered here and nowhere else (the table is also the
/// dialect's part of the OpenAPI document).
pub fn routes() -> Routes {
    Routes::new("oms", Auth::Staff)
        .add(
            "/api/v1/oms/order_items/",
            get(order_items::list_detailed),
            &[Verb::get(
                "OMS order items with state and product objects (filters `order_number`, `order`, `status`, `state`)",
            )
            .page::<OmsOrderItem>()],
        )
        .add(
            "/api/v1/oms/order_items/list-simple/",
            get(order_items::list_simple),
            &[Verb::get("OMS order items with state, order and product as ids").page::<OmsOrderItemSimple>()],
        )
        .add(
            "/api/v1/oms/order_items/{id}/",
            get(order_items::get_item),
            &[Verb::get("One OMS order item in detail").ok::<OmsOrderItem>()],
        )
}
