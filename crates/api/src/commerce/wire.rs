//! The storefront dialect's wire types: the request bodies its handlers read, and the basket
//! it answers with, in seed 001's key order.
//!
//! A body type's fields hold the values as sent ([`present`]) and its readers read them by
//! name (`http::wire::Fields`, [`crate::fieldset!`]), for DRF's message per bad field; the
//! schemas on the fields say which data they accept, and are the document's.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::http::schema::{
    cancellation_type, opt_bool, opt_object, opt_string, opt_text, quantity_to_add, quantity_to_set, req_int, req_text,
};
use crate::http::wire::present;
use crate::omnitron::wire::Product;

/// The body of `POST /users/login/`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CustomerLogin {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = req_text::<254>, required = true)]
    pub email: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = req_text::<4096>, required = true)]
    pub password: Option<Value>,
}

crate::fieldset!(CustomerLogin { "email" => email, "password" => password });

/// The body of `POST /baskets/basket/`: units of a product to add.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct BasketAdd {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = req_int, required = true)]
    pub product: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = quantity_to_add, required = true)]
    pub quantity: Option<Value>,
}

crate::fieldset!(BasketAdd { "product" => product, "quantity" => quantity });

/// The body of `PUT /baskets/basket/`: a product's quantity (0 removes the line).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct BasketSet {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = req_int, required = true)]
    pub product: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = quantity_to_set, required = true)]
    pub quantity: Option<Value>,
}

crate::fieldset!(BasketSet { "product" => product, "quantity" => quantity });

/// The body of `PATCH /baskets/basket/`: a voucher code to apply, or its removal.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct BasketVoucher {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_text::<64>)]
    pub voucher_code: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_bool)]
    pub remove_voucher_code: Option<Value>,
}

crate::fieldset!(BasketVoucher { "voucher_code" => voucher_code, "remove_voucher_code" => remove_voucher_code });

/// A unit of my order to cancel or return.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CancelUnit {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = req_int, required = true)]
    pub order_item: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = cancellation_type)]
    pub cancellation_type: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_string::<255>)]
    pub reason: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_string::<2000>)]
    pub description: Option<Value>,
}

crate::fieldset!(CancelUnit { "order_item" => order_item, "cancellation_type" => cancellation_type, "reason" => reason, "description" => description });

/// The body of `POST /orders/{pk}/cancel/` (storefront): the units to cancel or return.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CancelRequest {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<CancelUnit>, min_items = 1, max_items = 1000, required = true)]
    pub cancel_order_items: Option<Value>,
}

crate::fieldset!(CancelRequest { "cancel_order_items" => cancel_order_items });

/// The body of `POST /orders/checkout/`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct Checkout {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_object)]
    pub shipping_address: Option<Value>,
}

crate::fieldset!(Checkout { "shipping_address" => shipping_address });

/// The answer of a logout: `{"detail": "Successfully logged out."}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoggedOut {
    pub detail: &'static str,
}

/// A basket line's product: the catalogue's product with the price it is sold at.
#[derive(Debug, Serialize, ToSchema)]
pub struct BasketProduct {
    #[serde(flatten)]
    pub product: Product,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub price: String,
    pub retail_price: Option<String>,
}

/// An offer's share of a line or of the basket.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscountBadge {
    pub description: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub discount: String,
}

/// A basket line, priced. A gift line (contract §10) has no `id` and `"is_gift": true`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BasketLine {
    pub id: Option<i64>,
    pub product: BasketProduct,
    pub quantity: i64,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub unit_price: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub price: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub discount_amount: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub total_amount: String,
    pub shipping_discount: bool,
    pub offer_badges: Vec<DiscountBadge>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_gift: Option<bool>,
}

/// An offer that did not apply to the basket, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferNotApplied {
    pub promotion: i64,
    pub name: String,
    pub reason: String,
    pub detail: String,
}

/// A line whose product cannot be bought now (`"inactive"` or `"no_price"`).
#[derive(Debug, Serialize, ToSchema)]
pub struct UnavailableLine {
    pub id: i64,
    pub product: Product,
    pub quantity: i64,
    pub reason: String,
}

/// The basket in seed 001's shape.
#[derive(Debug, Serialize, ToSchema)]
pub struct Basket {
    pub pk: i64,
    pub basketitem_set: Vec<BasketLine>,
    pub voucher_code: Option<String>,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub total_product_amount: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub total_discount_amount: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub total_amount: String,
    pub total_quantity: i64,
    pub discounts: Vec<DiscountBadge>,
    pub offers_not_applied: Vec<OfferNotApplied>,
    pub upsell_details: Vec<Value>,
    pub upsell_messages: Vec<Value>,
    pub unavailable_basket_products: Vec<UnavailableLine>,
    pub segment: Option<Value>,
}

/// The basket answer: `{"basket": …}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BasketAnswer {
    pub basket: Basket,
}

/// A code and the words shown for it (`{"value": "try", "label": "TL"}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ValueLabel {
    pub value: String,
    pub label: String,
}

/// What an offer asks of the basket: `type` is `"Amount"`, `"Count"`, `"Coverage"` or null.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferCondition {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// A number, or null.
    pub value: Value,
}

/// One of my offers, as the account views show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountOffer {
    pub label: String,
    /// The fixed amount off, a number (0 for other benefits).
    pub amount: Value,
    /// The percentage off, a number, or null.
    pub percentage: Value,
    pub end_datetime: Option<String>,
    pub start_datetime: Option<String>,
    pub currency: ValueLabel,
    pub voucher_code: Option<String>,
    pub offer_type: ValueLabel,
    pub condition: OfferCondition,
    pub benefit_type: ValueLabel,
}

/// `/account/basket-offers/`: my open fixed-amount offers with their total, and all of them.
#[derive(Debug, Serialize, ToSchema)]
pub struct BasketOffers {
    pub discounts: Vec<AccountOffer>,
    /// The fixed amounts added up in the currency's digits, as a JSON number.
    #[schema(value_type = f64)]
    pub total_discount: Box<RawValue>,
    pub all_discounts: Vec<AccountOffer>,
}

/// A discount on one of my orders.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountDiscountItem {
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub amount: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub cancel_amount: String,
    pub created_date: String,
    pub currency: ValueLabel,
    pub name: String,
    pub order_number: String,
}

/// `/current_user/`: the signed-in customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentUser {
    pub pk: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub email_allowed: bool,
    pub sms_allowed: bool,
    pub date_joined: String,
    pub last_login: Option<String>,
    pub date_of_birth: Option<String>,
    pub gender: Option<String>,
    pub hashed_email: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::wire::assert_reads_any_object;

    #[test]
    fn request_bodies_read_any_object() {
        assert_reads_any_object::<CustomerLogin>(CustomerLogin::FIELDS);
        assert_reads_any_object::<BasketAdd>(BasketAdd::FIELDS);
        assert_reads_any_object::<BasketSet>(BasketSet::FIELDS);
        assert_reads_any_object::<BasketVoucher>(BasketVoucher::FIELDS);
        assert_reads_any_object::<Checkout>(Checkout::FIELDS);
        assert_reads_any_object::<CancelRequest>(CancelRequest::FIELDS);
        assert_reads_any_object::<CancelUnit>(CancelUnit::FIELDS);
        // One reader reads both.
        assert_eq!(BasketAdd::FIELDS, BasketSet::FIELDS);
    }
}
