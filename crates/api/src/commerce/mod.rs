//! Akinon's storefront (Commerce) dialect: the customer's login and session ([`session`]),
//! the account views of offers and used discounts ([`account`]), the basket and checkout
//! ([`basket`]), and my orders with their cancellation requests ([`orders`]).

pub mod account;
pub mod basket;
pub mod orders;
pub mod session;
pub mod wire;

use axum::routing::{get, post};

use crate::http::docs::{Auth, Routes, Verb};
use crate::omnitron::wire::{Cancellation, CheckoutAnswer, OrderDetail};
use wire::{
    AccountDiscountItem, AccountOffer, BasketAdd, BasketAnswer, BasketOffers, BasketSet, BasketVoucher, CancelRequest,
    Checkout, CurrentUser, CustomerLogin, LoggedOut,
};

/// Every route of the dialect, registered here and nowhere else (the table is also the
/// dialect's part of the OpenAPI document).
pub fn routes() -> Routes {
    Routes::new("storefront-basket", Auth::Customer)
        .add(
            "/baskets/basket/",
            get(basket::get_basket)
                .post(basket::add_to_basket)
                .put(basket::set_basket_line)
                .patch(basket::patch_basket),
            &[
                Verb::get("The customer's basket, priced").ok::<BasketAnswer>(),
                Verb::post("Add units of a product to the basket").body::<BasketAdd>().ok::<BasketAnswer>(),
                Verb::put("Set a product's quantity in the basket (0 removes it)")
                    .body::<BasketSet>()
                    .ok::<BasketAnswer>(),
                Verb::patch("Apply or remove a voucher code").body::<BasketVoucher>().ok::<BasketAnswer>(),
            ],
        )
        .add(
            "/orders/checkout/",
            post(basket::checkout),
            &[Verb::post("Check out the basket (Idempotency-Key header supported)")
                .body::<Checkout>()
                .ok::<CheckoutAnswer>()],
        )
        .merge(
            Routes::new("storefront", Auth::Public)
                .add(
                    "/users/login/",
                    post(session::login),
                    &[Verb::post("Log in with e-mail and password; sets the osessionid cookie")
                        .body::<CustomerLogin>()
                        .ok::<crate::omnitron::wire::TokenKey>()],
                )
                .add(
                    "/users/logout/",
                    post(session::logout).get(session::logout),
                    &[Verb::post("End the session").ok::<LoggedOut>(), Verb::get("End the session").ok::<LoggedOut>()],
                )
                .merge(Routes::new("storefront", Auth::Customer).add(
                    "/current_user/",
                    get(session::current_user),
                    &[Verb::get("The signed-in customer").ok::<CurrentUser>()],
                )),
        )
        .merge(
            Routes::new("account", Auth::Customer)
                .add(
                    "/account/basket-offers/",
                    get(account::basket_offers),
                    &[Verb::get("My open coupon and code offers: {discounts (fixed), total_discount, all_discounts}")
                        .ok::<BasketOffers>()],
                )
                .add(
                    "/account/future-basket-offers/",
                    get(account::future_offers),
                    &[Verb::get("My offers starting later").page::<AccountOffer>()],
                )
                .add(
                    "/account/expired-basket-offers/",
                    get(account::expired_offers),
                    &[Verb::get("My ended offers").page::<AccountOffer>()],
                )
                .add(
                    "/account/discount-items/",
                    get(account::discount_items),
                    &[Verb::get("Discounts on my orders, newest first").page::<AccountDiscountItem>()],
                )
                .add(
                    "/users/orders/",
                    get(orders::list),
                    &[Verb::get("My orders, newest first, with items, discounts and cancellations")
                        .page::<OrderDetail>()],
                )
                .add("/users/orders/{pk}/", get(orders::detail), &[Verb::get("One of my orders").ok::<OrderDetail>()])
                .add(
                    "/orders/{pk}/cancel/",
                    post(orders::request_cancel),
                    &[Verb::post("Ask to cancel (before shipping) or return (after) items of my order")
                        .body::<CancelRequest>()
                        .ok_one_or_list::<Cancellation>()],
                ),
        )
}
