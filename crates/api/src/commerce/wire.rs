//! The storefront dialect's request-body types: what its handlers read, as schemas for the
//! OpenAPI document. The handlers read the fields one by one (`http::wire::Fields`, for DRF's
//! message per bad field); these types say which data they accept.

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::http::schema::{opt_bool, opt_object, opt_text, quantity_to_add, quantity_to_set, req_int, req_text};

/// The body of `POST /users/login/`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CustomerLogin {
    #[schema(schema_with = req_text::<254>)]
    pub email: Value,
    #[schema(schema_with = req_text::<4096>)]
    pub password: Value,
}

/// The body of `POST /baskets/basket/`: units of a product to add.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BasketAdd {
    #[schema(schema_with = req_int)]
    pub product: Value,
    #[schema(schema_with = quantity_to_add)]
    pub quantity: Value,
}

/// The body of `PUT /baskets/basket/`: a product's quantity (0 removes the line).
#[derive(Debug, Deserialize, ToSchema)]
pub struct BasketSet {
    #[schema(schema_with = req_int)]
    pub product: Value,
    #[schema(schema_with = quantity_to_set)]
    pub quantity: Value,
}

/// The body of `PATCH /baskets/basket/`: a voucher code to apply, or its removal.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BasketVoucher {
    #[schema(schema_with = opt_text::<64>)]
    pub voucher_code: Option<Value>,
    #[schema(schema_with = opt_bool)]
    pub remove_voucher_code: Option<Value>,
}

/// The body of `POST /orders/checkout/`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Checkout {
    #[schema(schema_with = opt_object)]
    pub shipping_address: Option<Value>,
}
