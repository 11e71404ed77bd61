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
use wire::{AccessToken, AccessTokenForm};

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
                .add("/v2/carts", post(carts::create_cart), &[("post", "Create a cart")])
                .add(
                    "/v2/carts/{cartID}",
                    get(carts::get_cart).put(carts::update_cart).delete(carts::delete_cart),
                    &[
                        (
                            "get",
                            "Get a cart (an unknown reference creates an empty cart); include=items,custom_discounts",
                        ),
                        ("put", "Update a cart (name, description, discount_settings)"),
                        ("delete", "Delete a cart"),
                    ],
                )
                .add(
                    "/v2/carts/{cartID}/items",
                    get(carts::get_items).post(carts::add_item),
                    &[
                        ("get", "Get the cart's items"),
                        ("post", "Add a custom item (same sku merges), or a promotion code (promotion_item)"),
                    ],
                )
                .add(
                    "/v2/carts/{cartID}/items/{cartitemID}",
                    put(carts::update_item).delete(carts::delete_item),
                    &[("put", "Set a cart item's quantity (0 removes it)"), ("delete", "Remove a cart item")],
                )
                .add(
                    "/v2/carts/{cartID}/discounts/{promoCode}",
                    delete(carts::remove_promotion),
                    &[("delete", "Remove a promotion code from a cart priced by rule promotions")],
                )
                .add("/v2/settings/cart", get(carts::get_settings), &[("get", "Cart settings")]),
        )
        // A shopper's implicit token may not change settings, touch custom discounts (they
        // set any price) or read orders (a customer's name and addresses): 403.
        .merge(
            Routes::new("elasticpath", Auth::ClientCredentials)
                .add(
                    "/v2/settings/cart",
                    put(carts::put_settings),
                    &[("put", "Update cart settings (custom discounts; client_credentials)")],
                )
                .add(
                    "/v2/carts/{cartID}/custom-discounts",
                    post(discounts::add_cart).delete(discounts::delete_all),
                    &[
                        ("post", "Add one custom discount, or several (data as an array, options.add_all_or_nothing)"),
                        ("delete", "Delete every custom discount of the cart"),
                    ],
                )
                .add(
                    "/v2/carts/{cartID}/custom-discounts/{customdiscountID}",
                    put(discounts::update_cart_discount).delete(discounts::delete_cart_discount),
                    &[("put", "Update a cart custom discount"), ("delete", "Delete a cart custom discount")],
                )
                .add(
                    "/v2/carts/{cartID}/items/{cartitemID}/custom-discounts",
                    post(discounts::add_item),
                    &[("post", "Add a custom discount to a cart item")],
                )
                .add(
                    "/v2/carts/{cartID}/items/{cartitemID}/custom-discounts/{customdiscountID}",
                    put(discounts::update_item_discount).delete(discounts::delete_item_discount),
                    &[
                        ("put", "Update a cart item's custom discount"),
                        ("delete", "Delete a cart item's custom discount"),
                    ],
                ),
        )
        .merge(Routes::new("elasticpath", Auth::Client).add(
            "/v2/carts/{cartID}/checkout",
            post(orders::checkout),
            &[("post", "Check out a cart into a ledger order")],
        ))
        .merge(
            Routes::new("elasticpath", Auth::ClientCredentials)
                .add(
                    "/v2/orders/{orderID}",
                    get(orders::get_order),
                    &[("get", "Get an order (include=custom_discounts,items)")],
                )
                .add("/v2/orders/{orderID}/items", get(orders::get_order_items), &[("get", "Get an order's items")]),
        )
}
