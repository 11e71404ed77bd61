//! Akinon's back office (Omnitron) dialect, served under `/api/v1/` and `/api/i1/`: login and
//! `active_user` ([`session`]), the catalogue slice ([`catalog`]), promotions and vouchers
//! ([`promotions`], their request bodies in [`promotion_body`]), the dry-run pricing
//! ([`simulate`]), the staff order views and changes ([`orders`]), the cancellation
//! request queue ([`cancellations`]), the detailed ledger views of discount items and
//! order items ([`ledger`]) and the per-promotion report ([`reports`]).

pub mod cancellations;
pub mod catalog;
pub mod ledger;
pub mod orders;
pub mod promotion_body;
pub mod promotions;
pub mod reports;
pub mod session;
pub mod simulate;
pub mod wire;

use axum::routing::{get, patch, post};

use crate::http::docs::{Auth, Routes, Verb};
use promotion_body::{BulkPromotions, PromotionBody, PromotionPatch};
use wire::{
    ActiveUser, Cancellation, CreatedIds, DiscountItem, GenerateVouchers, GeneratedCodes, ItemStatusChange,
    OrderDetail, OrderItem, OrderLine, OrderSummary, PriceList, PriceListCreate, Product, ProductCreate, ProductPatch,
    ProductPrice, ProductPriceBody, Promotion, SimulateBody, StaffCancel, StaffLogin, StockList, StockListCreate,
    TokenKey, Voucher, VoucherCreate,
};

/// Every route of the dialect, registered here and nowhere else (the table is also the
/// dialect's part of the OpenAPI document).
pub fn routes() -> Routes {
    Routes::new("omnitron-auth", Auth::Public)
        .omnitron(
            "/auth/login/",
            post(session::login),
            &[Verb::post("Log in with username and password; returns a token key").body::<StaffLogin>().ok::<TokenKey>()],
        )
        .merge(Routes::new("omnitron-auth", Auth::Staff).omnitron(
            "/active_user/",
            get(session::active_user),
            &[Verb::get("The user behind the token").ok::<ActiveUser>()],
        ))
        .merge(
            Routes::new("catalogue", Auth::Staff)
                .omnitron(
                    "/products/",
                    get(catalog::list_products).post(catalog::create_product),
                    &[Verb::get("List products").page::<Product>(), Verb::post("Create a product").body::<ProductCreate>().ok::<Product>()],
                )
                .omnitron(
                    "/products/{pk}/",
                    get(catalog::get_product).patch(catalog::patch_product),
                    &[Verb::get("A product").ok::<Product>(), Verb::patch("Update a product").body::<ProductPatch>().ok::<Product>()],
                )
                .omnitron(
                    "/price_lists/",
                    get(catalog::list_price_lists).post(catalog::create_price_list),
                    &[Verb::get("List price lists").page::<PriceList>(), Verb::post("Create a price list").body::<PriceListCreate>().ok::<PriceList>()],
                )
                .omnitron(
                    "/stock_lists/",
                    get(catalog::list_stock_lists).post(catalog::create_stock_list),
                    &[Verb::get("List stock lists").page::<StockList>(), Verb::post("Create a stock list").body::<StockListCreate>().ok::<StockList>()],
                )
                .omnitron(
                    "/product_prices/",
                    get(catalog::list_prices).post(catalog::upsert_price),
                    &[
                        Verb::get("List product prices").page::<ProductPrice>(),
                        Verb::post("Set a product's price in a price list").body::<ProductPriceBody>().ok::<ProductPrice>(),
                    ],
                ),
        )
        .merge(
            Routes::new("promotions", Auth::Staff)
                .add(
                    "/api/v1/promotions/",
                    get(promotions::list_promotions).post(promotions::create_promotion),
                    &[
                        Verb::get("List promotions (offers)").page::<Promotion>(),
                        Verb::post("Create a promotion").body::<PromotionBody>().ok::<Promotion>(),
                    ],
                )
                .add(
                    "/api/v1/promotions/bulk/",
                    post(promotions::bulk_create),
                    &[Verb::post("Create up to 1,000 promotions, all or none").body::<BulkPromotions>().ok::<CreatedIds>()],
                )
                .add(
                    "/api/v1/promotions/{id}/",
                    get(promotions::get_promotion)
                        .patch(promotions::patch_promotion)
                        .delete(promotions::delete_promotion),
                    &[
                        Verb::get("A promotion").ok::<Promotion>(),
                        Verb::patch("Update a promotion").body::<PromotionPatch>().ok::<Promotion>(),
                        Verb::delete("Delete a promotion (soft)"),
                    ],
                )
                .add(
                    "/api/v1/promotions/{id}/generate_vouchers/",
                    post(promotions::generate_vouchers),
                    &[Verb::post("Generate unique random voucher codes for a code promotion")
                        .body::<GenerateVouchers>()
                        .ok::<GeneratedCodes>()],
                )
                .add(
                    "/api/v1/vouchers/",
                    get(promotions::list_vouchers).post(promotions::create_voucher),
                    &[Verb::get("List vouchers").page::<Voucher>(), Verb::post("Create a voucher").body::<VoucherCreate>().ok::<Voucher>()],
                ),
        )
        .merge(Routes::new("promotions", Auth::Staff).omnitron(
            "/pricing/simulate/",
            post(simulate::simulate),
            &[Verb::post("Dry-run pricing with the explanation of every offer")
                .body::<SimulateBody>()
                .ok::<simulate::SimulationAnswer<'static>>()],
        ))
        .merge(
            Routes::new("orders", Auth::Staff)
                .omnitron("/orders/", get(orders::list_orders), &[Verb::get("List orders").page::<OrderSummary>()])
                .omnitron(
                    "/orders_integration/{pk}/detailed_integration/",
                    get(orders::order_detail),
                    &[Verb::get("An order with its items and discount items").ok::<OrderDetail>()],
                )
                .omnitron(
                    "/order_item/{pk}/",
                    patch(orders::item_status),
                    &[Verb::patch("Change an order item's status").body::<ItemStatusChange>().ok::<OrderLine>()],
                )
                .omnitron(
                    "/order_items/{pk}/update_status/",
                    post(orders::item_status),
                    &[Verb::post("Change an order item's status").body::<ItemStatusChange>().ok::<OrderLine>()],
                )
                .omnitron(
                    "/orders/{pk}/cancel/",
                    post(orders::cancel_order),
                    &[Verb::post(
                        "Cancel (before shipping) or return (after) order items at once, with the refund recorded; \
                         ?dry_run=1 previews (the cancellation); Idempotency-Key supported",
                    )
                    .body::<StaffCancel>()
                    .ok_either::<OrderDetail, Cancellation>()],
                )
                .add(
                    "/api/v1/cancellation_requests/",
                    get(cancellations::list),
                    &[Verb::get("Cancellation requests (filters status, order, cancellation_type, dates)")
                        .page::<Cancellation>()],
                )
                .add(
                    "/api/v1/cancellation_requests/{id}/",
                    get(cancellations::detail),
                    &[Verb::get("A cancellation request with its units and refunds").ok::<Cancellation>()],
                )
                .add(
                    "/api/v1/cancellation_requests/{id}/approve/",
                    post(cancellations::approve),
                    &[Verb::post("Approve a waiting request: the refund is computed and recorded").ok::<Cancellation>()],
                )
                .add(
                    "/api/v1/cancellation_requests/{id}/reject/",
                    post(cancellations::reject),
                    &[Verb::post("Reject a waiting request: nothing is refunded, the units go back").ok::<Cancellation>()],
                ),
        )
        .merge(Routes::new("reports", Auth::Staff).add(
            "/api/v1/reports/promotions/",
            get(reports::promotions),
            &[Verb::get(
                "Per promotion over ?start=YYYY-MM-DD&end=YYYY-MM-DD: orders, discount, reversed, net and the net per day",
            )
            .ok::<reports::PromotionsReport>()],
        ))
        .merge(
            Routes::new("ledger", Auth::Staff)
                .omnitron(
                    "/discount_items/detailed_integration/",
                    get(ledger::list_discount_items),
                    &[Verb::get("Discount items with benefit and condition applicants (filter `order`)").page::<DiscountItem>()],
                )
                .omnitron(
                    "/discount_items/{pk}/detailed_integration/",
                    get(ledger::get_discount_item),
                    &[Verb::get("One discount item with its applicants").ok::<DiscountItem>()],
                )
                .omnitron(
                    "/order_item/detailed_integration/",
                    get(ledger::list_order_items),
                    &[Verb::get("Order items (one per unit) with product, lists and discount shares (filter `order`)")
                        .page::<OrderItem>()],
                )
                .omnitron(
                    "/order_item/{pk}/detailed_integration/",
                    get(ledger::get_order_item),
                    &[Verb::get("One order item in detail").ok::<OrderItem>()],
                ),
        )
}
