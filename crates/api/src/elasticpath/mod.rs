//! The Elastic Path dialect: `/oauth/access_token` and the [`oauth::Client`] extractor
//! ([`oauth`]), carts and custom items and the cart settings ([`carts`]), custom discounts
//! ([`discounts`]), checkout and orders ([`orders`]); the shared wire pieces ([`wire`]) and
//! the cart's views ([`cart_view`]). Errors are JSON:API (`crate::http::ep_error`); amounts
//! are integer minor units with `formatted` strings.

pub mod cart_view;
pub mod carts;
pub mod discounts;
pub mod oauth;
pub mod orders;
pub mod wire;

use axum::routing::{delete, get, post, put};

use crate::http::docs::{Auth, Routes, Verb};
use wire::{
    AccessToken, AccessTokenForm, CartAnswer, CartBody, CartItemBody, CartItemQuantityBody, CheckoutBody,
    CustomDiscountPatchBody, CustomDiscountsBody, DiscountAnswer, DiscountsAnswer, ItemsAnswer, OrderAnswer,
    OrderItemsAnswer, SettingsAnswer, SettingsBody,
};

/// Every route of the dialect, registered here and nowhere else (the table is also the
/// dialect's part of the OpenAPI document).
pub fn routes() -> Routes {
    Routes::new("elasticpath", Auth::Public)
        .add(
            "/oauth/access_token",
            post(oauth::access_token),
            &[Verb::post("Client credentials or implicit token (a form)")
                .body::<AccessTokenForm>()
                .ok::<AccessToken>()],
        )
        .merge(
            Routes::new("elasticpath", Auth::Client)
                .add(
                    "/v2/carts",
                    post(carts::create_cart),
                    &[Verb::post("Create a cart").body::<CartBody>().ok::<CartAnswer>()],
                )
                .add(
                    "/v2/carts/{cartID}",
                    get(carts::get_cart).put(carts::update_cart).delete(carts::delete_cart),
                    &[
                        Verb::get(
                            "Get a cart (an unknown reference creates an empty cart); include=items,custom_discounts",
                        )
                        .ok::<CartAnswer>(),
                        Verb::put("Update a cart (name, description, discount_settings)")
                            .body::<CartBody>()
                            .ok::<CartAnswer>(),
                        Verb::delete("Delete a cart"),
                    ],
                )
                .add(
                    "/v2/carts/{cartID}/items",
                    get(carts::get_items).post(carts::add_item),
                    &[
                        Verb::get("Get the cart's items").ok::<ItemsAnswer>(),
                        Verb::post("Add a custom item (same sku merges), or a promotion code (promotion_item)")
                            .body::<CartItemBody>()
                            .ok::<ItemsAnswer>(),
                    ],
                )
                .add(
                    "/v2/carts/{cartID}/items/{cartitemID}",
                    put(carts::update_item).delete(carts::delete_item),
                    &[
                        Verb::put("Set a cart item's quantity (0 removes it)")
                            .body::<CartItemQuantityBody>()
                            .ok::<ItemsAnswer>(),
                        Verb::delete("Remove a cart item (answers the items left)").ok::<ItemsAnswer>(),
                    ],
                )
                .add(
                    "/v2/carts/{cartID}/discounts/{promoCode}",
                    delete(carts::remove_promotion),
                    &[Verb::delete(
                        "Remove a promotion code from a cart priced by rule promotions (answers the items)",
                    )
                    .ok::<ItemsAnswer>()],
                )
                .add(
                    "/v2/settings/cart",
                    get(carts::get_settings),
                    &[Verb::get("Cart settings").ok::<SettingsAnswer>()],
                ),
        )
        // A shopper's implicit token may not change settings, touch custom discounts (they
        // set any price) or read orders (a customer's name and addresses): 403.
        .merge(
            Routes::new("elasticpath", Auth::ClientCredentials)
                .add(
                    "/v2/settings/cart",
                    put(carts::put_settings),
                    &[Verb::put("Update cart settings (custom discounts; client_credentials)")
                        .body::<SettingsBody>()
                        .ok::<SettingsAnswer>()],
                )
                .add(
                    "/v2/carts/{cartID}/custom-discounts",
                    post(discounts::add_cart).delete(discounts::delete_all),
                    &[
                        Verb::post(
                            "Add one custom discount, or several (data as an array, options.add_all_or_nothing)",
                        )
                        .body::<CustomDiscountsBody>()
                        .ok_either::<DiscountAnswer, DiscountsAnswer>(),
                        Verb::delete("Delete every custom discount of the cart"),
                    ],
                )
                .add(
                    "/v2/carts/{cartID}/custom-discounts/{customdiscountID}",
                    put(discounts::update_cart_discount).delete(discounts::delete_cart_discount),
                    &[
                        Verb::put("Update a cart custom discount")
                            .body::<CustomDiscountPatchBody>()
                            .ok::<DiscountAnswer>(),
                        Verb::delete("Delete a cart custom discount"),
                    ],
                )
                .add(
                    "/v2/carts/{cartID}/items/{cartitemID}/custom-discounts",
                    post(discounts::add_item),
                    &[Verb::post("Add a custom discount to a cart item")
                        .body::<CustomDiscountsBody>()
                        .ok_either::<DiscountAnswer, DiscountsAnswer>()],
                )
                .add(
                    "/v2/carts/{cartID}/items/{cartitemID}/custom-discounts/{customdiscountID}",
                    put(discounts::update_item_discount).delete(discounts::delete_item_discount),
                    &[
                        Verb::put("Update a cart item's custom discount")
                            .body::<CustomDiscountPatchBody>()
                            .ok::<DiscountAnswer>(),
                        Verb::delete("Delete a cart item's custom discount"),
                    ],
                ),
        )
        .merge(Routes::new("elasticpath", Auth::Client).add(
            "/v2/carts/{cartID}/checkout",
            post(orders::checkout),
            &[Verb::post("Check out a cart into a ledger order").body::<CheckoutBody>().ok::<OrderAnswer>()],
        ))
        .merge(
            Routes::new("elasticpath", Auth::ClientCredentials)
                .add(
                    "/v2/orders/{orderID}",
                    get(orders::get_order),
                    &[Verb::get("Get an order (include=custom_discounts,items)").ok::<OrderAnswer>()],
                )
                .add(
                    "/v2/orders/{orderID}/items",
                    get(orders::get_order_items),
                    &[Verb::get("Get an order's items").ok::<OrderItemsAnswer>()],
                ),
        )
}
