//! The Omnitron dialect's wire types: the bodies its handlers answer with and read, as serde
//! structs whose schemas (`utoipa::ToSchema`) are the OpenAPI document's
//! `components.schemas`. A body type's fields hold the values as sent
//! ([`present`](crate::http::wire::present)); the handlers' readers word the refusals.
//!
//! Field order is the order of the seeds' keys: the struct is serialized in declaration
//! order, so the bytes on the wire are the ones the seeds and the clients know. Money is a
//! decimal string in the currency's digits (`"199.90"`), times are ISO-8601 strings; fields
//! Akinon has and offerline does not hold are `null` (an `Option` always `None`) or `{}`.

use offerline_app::catalog::{
    PriceList as PriceListRow, Product as ProductRow, ProductPrice as ProductPriceRow, StockList as StockListRow,
};
use offerline_app::ledger::{
    BenefitApplicantRow, LedgerCancellation, LedgerDiscount, LedgerItem, LedgerOrder, OrderDetail as OrderDetailRows,
    OrderRow,
};
use offerline_app::promotions::{Promotion as PromotionRow, benefit_json, condition_json};
use offerline_app::vouchers::Voucher as VoucherRow;
use offerline_core::status::OrderStatus;
use offerline_core::{ConditionKind, VoucherUsage, tax_included};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};

use crate::http::schema::{
    cancellation_type, currency, int_schema, opt_bool, opt_int, opt_object, opt_text, order_item_ids, pk_list, req_int,
    req_text,
};
use crate::http::wire::{money, present, rate, ts};
use crate::omnitron::promotion_body::CURRENCIES;

/// The body of `POST /auth/login/`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct StaffLogin {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = req_text::<150>, required = true)]
    pub username: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = req_text::<4096>, required = true)]
    pub password: Option<Value>,
}

crate::fieldset!(StaffLogin { "username" => username, "password" => password });

/// The body of `POST /products/` (`name` and `sku` required) and of `PATCH /products/{pk}/`
/// (every field optional; a `name` or `sku` given may not be blank or null).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ProductCreate {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = req_text::<255>, required = true)]
    pub name: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = req_text::<128>, required = true)]
    pub sku: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_text::<128>)]
    pub base_code: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_text::<128>)]
    pub barcode: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_text::<16>)]
    pub product_type: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_bool)]
    pub is_active: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_int)]
    pub attribute_set: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_object)]
    pub attributes: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_object)]
    pub attributes_kwargs: Option<Value>,
    /// Image URLs, in order.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = image_urls)]
    pub images: Option<Value>,
}

crate::fieldset!(ProductCreate { "name" => name, "sku" => sku, "base_code" => base_code, "barcode" => barcode, "product_type" => product_type, "is_active" => is_active, "attribute_set" => attribute_set, "attributes" => attributes, "attributes_kwargs" => attributes_kwargs, "images" => images });

/// See [`ProductCreate`].
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ProductPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = req_text::<255>, required = false)]
    pub name: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = req_text::<128>, required = false)]
    pub sku: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_text::<128>)]
    pub base_code: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_text::<128>)]
    pub barcode: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_text::<16>)]
    pub product_type: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_bool)]
    pub is_active: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_int)]
    pub attribute_set: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_object)]
    pub attributes: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_object)]
    pub attributes_kwargs: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = image_urls)]
    pub images: Option<Value>,
}

crate::fieldset!(ProductPatch { "name" => name, "sku" => sku, "base_code" => base_code, "barcode" => barcode, "product_type" => product_type, "is_active" => is_active, "attribute_set" => attribute_set, "attributes" => attributes, "attributes_kwargs" => attributes_kwargs, "images" => images });

/// A list of non-empty image URLs of at most 2048 bytes each, or null. JSON Schema counts
/// characters, not bytes: any 512 characters fit, and so do 2048 ASCII ones.
fn image_urls() -> RefOr<Schema> {
    let url = AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(512))
                .pattern(Some(r"^[^\x00]*$")),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(2048))
                .pattern(Some(r"^[\x01-\x7f]*$")),
        );
    AnyOfBuilder::new().item(ArrayBuilder::new().items(url)).item(ObjectBuilder::new().schema_type(Type::Null)).into()
}

/// An order status code (`"100"`, or the number): the codes of [`OrderStatus::all`].
fn status_code() -> RefOr<Schema> {
    let codes: Vec<u16> = OrderStatus::all().map(OrderStatus::code).collect();
    AnyOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(codes.iter().map(u16::to_string))))
        .item(ObjectBuilder::new().schema_type(Type::Integer).enum_values(Some(codes.iter().copied())))
        .into()
}

/// The body of `POST /pricing/simulate/`: a basket of skus to price against the live offers.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SimulateBody {
    /// The basket's currency (the default price list's when absent).
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = currency_code)]
    pub currency: Option<Value>,
    /// The customer the basket is priced for (their coupons and limits).
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_int)]
    pub customer: Option<Value>,
    /// The instant the offers are looked at (now when absent).
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = instant)]
    pub at: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = voucher_codes)]
    pub voucher_codes: Option<Value>,
    /// Which offers `not_applied` explains: all (the default), those the basket came near, none.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = explain)]
    pub explain: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<SimulateLine>, max_items = 5000, required = true)]
    pub lines: Option<Value>,
}

crate::fieldset!(SimulateBody { "currency" => currency, "customer" => customer, "at" => at, "voucher_codes" => voucher_codes, "explain" => explain, "lines" => lines });

/// A line of a simulated basket.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SimulateLine {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = req_text::<128>, required = true)]
    pub sku: Option<Value>,
    /// Units (1 when absent).
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = sim_quantity)]
    pub quantity: Option<Value>,
    /// The unit price, overriding the catalogue's.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = money_amount)]
    pub unit_price: Option<Value>,
}

crate::fieldset!(SimulateLine { "sku" => sku, "quantity" => quantity, "unit_price" => unit_price });

fn nullable(item: impl Into<RefOr<Schema>>) -> RefOr<Schema> {
    AnyOfBuilder::new().item(item).item(ObjectBuilder::new().schema_type(Type::Null)).into()
}

/// One of the ISO 4217 codes offers are written in (either case), or null.
pub(crate) fn currency_code() -> RefOr<Schema> {
    let codes = CURRENCIES.iter().flat_map(|c| [c.to_string(), c.to_ascii_uppercase()]);
    nullable(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(codes)))
}

/// An ISO-8601 instant, a bare date (midnight UTC), or null.
pub(crate) fn instant() -> RefOr<Schema> {
    AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        )
        .item(ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))))
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

/// Up to 50 voucher codes, or null.
fn voucher_codes() -> RefOr<Schema> {
    let code = ObjectBuilder::new().schema_type(Type::String).pattern(Some(r"^[^\x00]*$"));
    nullable(ArrayBuilder::new().items(code).max_items(Some(50)))
}

fn explain() -> RefOr<Schema> {
    nullable(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["all", "basket", "none"])))
}

/// 1 to 10,000 units (or their text), or null.
fn sim_quantity() -> RefOr<Schema> {
    AnyOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(10_000)))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^[ \t\n\r]*\+?0*([1-9][0-9]{0,3}|10000)[ \t\n\r]*$")),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

/// A non-negative decimal amount in the currency's digits: a string (`"10.00"`), a number
/// (up to 15 significant digits, read exactly), or null.
fn money_amount() -> RefOr<Schema> {
    AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^[ \t\n\r]*[0-9]{1,16}(\.[0-9]{1,2})?[ \t\n\r]*$")),
        )
        .item(ObjectBuilder::new().schema_type(Type::Number).minimum(Some(0)))
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

/// The body of a staff cancellation (`POST /orders/{pk}/cancel/`): the order items (units)
/// to cancel or return at once.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct StaffCancel {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = order_item_ids, required = true)]
    pub order_items: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = cancellation_type)]
    pub cancellation_type: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_text::<255>)]
    pub reason: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_text::<2000>)]
    pub description: Option<Value>,
}

crate::fieldset!(StaffCancel { "order_items" => order_items, "cancellation_type" => cancellation_type, "reason" => reason, "description" => description });

/// The body of `POST /vouchers/`: a code for a promotion.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct VoucherCreate {
    /// 1 to 64 of `A-Z a-z 0-9 _ -` (stored upper-cased).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, pattern = r"^[ \t\n\r]*[A-Za-z0-9_-]{1,64}[ \t\n\r]*$", required = true)]
    pub code: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = req_int, required = true)]
    pub promotion: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = voucher_usage, required = true)]
    pub usage: Option<Value>,
    /// The only customers who may use it (anyone when empty).
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = pk_list)]
    pub customers: Option<Value>,
}

crate::fieldset!(VoucherCreate { "code" => code, "promotion" => promotion, "usage" => usage, "customers" => customers });

/// The body of `POST /promotions/{id}/generate_vouchers/`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct GenerateVouchers {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = code_count, required = true)]
    pub count: Option<Value>,
    /// Put before each random part (`A-Z a-z 0-9 _ -`, upper-cased); none when blank.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = code_prefix)]
    pub prefix: Option<Value>,
    /// The random part's length, 4 to 32 (8 when absent).
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = code_length)]
    pub length: Option<Value>,
    /// `single_use` when absent.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_voucher_usage)]
    pub usage: Option<Value>,
}

crate::fieldset!(GenerateVouchers { "count" => count, "prefix" => prefix, "length" => length, "usage" => usage });

fn usage_values() -> impl Iterator<Item = &'static str> {
    VoucherUsage::ALL.into_iter().map(VoucherUsage::as_str)
}

fn voucher_usage() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(usage_values())).into()
}

fn opt_voucher_usage() -> RefOr<Schema> {
    nullable(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(usage_values())))
}

fn code_count() -> RefOr<Schema> {
    int_schema(1, 10_000, r"^[ \t\n\r]*\+?0*([1-9][0-9]{0,3}|10000)[ \t\n\r]*$", false)
}

fn code_length() -> RefOr<Schema> {
    int_schema(4, 32, r"^[ \t\n\r]*\+?0*([4-9]|[12][0-9]|3[0-2])[ \t\n\r]*$", true)
}

/// A prefix (or blank), an integer (its text is one), or null.
fn code_prefix() -> RefOr<Schema> {
    AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(32))
                .pattern(Some(r"^[ \t\n\r]*([A-Za-z0-9_-]{1,32})?[ \t\n\r]*$")),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(-999_999_999_999_999_i64))
                .maximum(Some(999_999_999_999_999_i64)),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

/// The body of `POST /price_lists/`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PriceListCreate {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = req_text::<255>, required = true)]
    pub name: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_text::<64>)]
    pub code: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = currency, required = true)]
    pub currency: Option<Value>,
}

crate::fieldset!(PriceListCreate { "name" => name, "code" => code, "currency" => currency });

/// The body of `POST /product_prices/`: a product's price in a price list (the default
/// list when `price_list` is absent), replacing the one it had. Amounts are in the list's
/// currency; `tax_rate` a percentage. A body the schema allows is still refused when
/// `product` or `price_list` names nothing, or an amount has more decimals than the list's
/// currency.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ProductPriceBody {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = req_int, required = true)]
    pub product: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_int)]
    pub price_list: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = price_amount, required = true)]
    pub price: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_price_amount)]
    pub retail_price: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = tax_rate)]
    pub tax_rate: Option<Value>,
}

crate::fieldset!(ProductPriceBody {
    "product" => product,
    "price_list" => price_list,
    "price" => price,
    "retail_price" => retail_price,
    "tax_rate" => tax_rate,
});

fn price_amount() -> RefOr<Schema> {
    crate::http::schema::money(false)
}

fn opt_price_amount() -> RefOr<Schema> {
    nullable(crate::http::schema::money(false))
}

/// A percentage from 0 to 100 of at most two decimals (a text or a JSON number), or null (0).
fn tax_rate() -> RefOr<Schema> {
    let ws = crate::http::schema::WS;
    let text = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!(r"^{ws}*0*(100(\.0{{1,2}})?|[0-9]{{1,2}}(\.[0-9]{{1,2}})?){ws}*$")));
    let number = ObjectBuilder::new().schema_type(Type::Number).minimum(Some(0)).maximum(Some(100));
    nullable(AnyOfBuilder::new().item(text).item(number))
}

/// The body of `POST /stock_lists/`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct StockListCreate {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = req_text::<255>, required = true)]
    pub name: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_text::<64>)]
    pub code: Option<Value>,
}

crate::fieldset!(StockListCreate { "name" => name, "code" => code });

/// The body of an order item's status change: Akinon's status code (`"100"`, …).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ItemStatusChange {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = status_code, required = true)]
    pub status: Option<Value>,
}

crate::fieldset!(ItemStatusChange { "status" => status });

/// The answer of a login: the token key for `Authorization: Token <key>`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenKey {
    pub key: String,
}

/// `/active_user/`: the user behind the token.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActiveUser {
    pub pk: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_staff: bool,
    pub is_active: bool,
    pub date_joined: String,
    pub last_login: Option<String>,
}

/// A product's image.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductImage {
    pub pk: i64,
    pub status: String,
    pub image: String,
    pub order: i64,
    pub created_date: String,
    pub specialimage_set: Vec<Value>,
    pub modified_date: String,
}

/// A product as the catalogue and the order items show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Product {
    pub pk: i64,
    pub name: String,
    pub base_code: Option<String>,
    pub sku: String,
    pub product_type: String,
    pub is_active: bool,
    pub parent: Option<i64>,
    pub attributes: Value,
    pub attributes_kwargs: Value,
    pub extra_attributes: Value,
    pub group_products: Vec<Value>,
    pub productimage_set: Vec<ProductImage>,
    pub attribute_set: Option<i64>,
    pub custom_attribute_set: Option<Value>,
    pub productization_date: Option<String>,
    pub listing_code: Option<String>,
    pub data_source: Option<String>,
    pub modified_date: String,
    pub uuid: String,
    pub created_date: String,
}

impl From<&ProductRow> for Product {
    fn from(p: &ProductRow) -> Self {
        Product {
            pk: p.id,
            name: p.name.clone(),
            base_code: p.base_code.clone(),
            sku: p.sku.clone(),
            product_type: p.product_type.clone(),
            is_active: p.is_active,
            parent: p.parent_id,
            attributes: p.attributes.clone(),
            attributes_kwargs: p.attributes_kwargs.clone(),
            extra_attributes: p.extra_attributes.clone(),
            group_products: Vec::new(),
            productimage_set: p
                .images
                .iter()
                .map(|i| ProductImage {
                    pk: i.id,
                    status: i.status.clone(),
                    image: i.image.clone(),
                    order: i.position,
                    created_date: ts(i.created_at),
                    specialimage_set: Vec::new(),
                    modified_date: ts(i.modified_at),
                })
                .collect(),
            attribute_set: p.attribute_set,
            custom_attribute_set: None,
            productization_date: p.productization_date.map(ts),
            listing_code: p.listing_code.clone(),
            data_source: p.data_source.clone(),
            modified_date: ts(p.modified_at),
            uuid: p.uuid.clone(),
            created_date: ts(p.created_at),
        }
    }
}

/// A price list.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceList {
    pub pk: i64,
    pub name: String,
    pub code: Option<String>,
    pub is_auto_sync: bool,
    pub modified_date: String,
    pub created_date: String,
    pub currency: String,
}

impl From<&PriceListRow> for PriceList {
    fn from(l: &PriceListRow) -> Self {
        PriceList {
            pk: l.id,
            name: l.name.clone(),
            code: l.code.clone(),
            is_auto_sync: l.is_auto_sync,
            modified_date: ts(l.modified_at),
            created_date: ts(l.created_at),
            currency: l.currency.clone(),
        }
    }
}

/// A product's price in a price list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductPrice {
    pub pk: i64,
    pub product: i64,
    pub price_list: i64,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub price: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub retail_price: Option<String>,
    /// A percentage (`"18.00"`).
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub tax_rate: String,
    pub currency: String,
    pub created_date: String,
    pub modified_date: String,
}

impl ProductPrice {
    /// The price `p` in a list of `currency`.
    pub fn new(p: &ProductPriceRow, currency: &str) -> Self {
        ProductPrice {
            pk: p.id,
            product: p.product_id,
            price_list: p.price_list_id,
            price: money(p.price, currency),
            retail_price: p.retail_price.map(|r| money(r, currency)),
            tax_rate: rate(p.tax_rate),
            currency: currency.to_owned(),
            created_date: ts(p.created_at),
            modified_date: ts(p.modified_at),
        }
    }
}

/// A stock list.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockList {
    pub pk: i64,
    pub name: String,
    pub code: Option<String>,
    pub is_auto_sync: bool,
    pub modified_date: String,
    pub created_date: String,
}

impl From<&StockListRow> for StockList {
    fn from(l: &StockListRow) -> Self {
        StockList {
            pk: l.id,
            name: l.name.clone(),
            code: l.code.clone(),
            is_auto_sync: l.is_auto_sync,
            modified_date: ts(l.modified_at),
            created_date: ts(l.created_at),
        }
    }
}

/// The share of a discount item one order item carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct BenefitApplicant {
    pub id: i64,
    pub created_date: String,
    pub modified_date: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub discount_share: String,
    pub discount_item: i64,
    pub order_item: i64,
}

impl BenefitApplicant {
    pub fn new(b: &BenefitApplicantRow, currency: &str) -> Self {
        BenefitApplicant {
            id: b.id,
            created_date: ts(b.created_at),
            modified_date: ts(b.modified_at),
            discount_share: money(b.discount_share, currency),
            discount_item: b.discount_item_id,
            order_item: b.order_item_id,
        }
    }
}

/// An order item that met a discount item's condition.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConditionApplicant {
    pub id: i64,
    pub created_date: String,
    pub modified_date: String,
    pub order_item: i64,
    pub discount_item: i64,
}

/// The promotion a discount item came from.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromotionSummary {
    pub id: i64,
    pub created_date: String,
    pub modified_date: String,
    pub name: String,
    pub slug: String,
}

/// Seed 000's discount item.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscountItem {
    pub pk: i64,
    pub name: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub amount: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub cancel_amount: String,
    pub order: i64,
    pub offer_type: String,
    pub session_offer_type: Option<String>,
    pub code: Option<String>,
    pub modified_date: String,
    pub promotion: Option<PromotionSummary>,
    pub created_date: String,
    pub benefitapplicant_set: Vec<BenefitApplicant>,
    pub conditionapplicant_set: Vec<ConditionApplicant>,
}

impl From<&LedgerDiscount<'_>> for DiscountItem {
    fn from(d: &LedgerDiscount<'_>) -> Self {
        let c = d.order().currency.as_str();
        DiscountItem {
            pk: d.id,
            name: d.name.clone(),
            amount: money(d.amount, c),
            cancel_amount: money(d.cancel_amount, c),
            order: d.order_id,
            offer_type: d.offer_type.clone(),
            session_offer_type: d.session_offer_type.clone(),
            code: d.code.clone(),
            modified_date: ts(d.modified_at),
            promotion: d.promotion().map(|p| PromotionSummary {
                id: p.id,
                created_date: ts(p.created_at),
                modified_date: ts(p.modified_at),
                name: p.name.clone(),
                slug: p.slug.clone(),
            }),
            created_date: ts(d.created_at),
            benefitapplicant_set: d.benefits().map(|b| BenefitApplicant::new(b, c)).collect(),
            conditionapplicant_set: d
                .conditions()
                .map(|c| ConditionApplicant {
                    id: c.id,
                    created_date: ts(c.created_at),
                    modified_date: ts(c.modified_at),
                    order_item: c.order_item_id,
                    discount_item: c.discount_item_id,
                })
                .collect(),
        }
    }
}

/// The integration mapping of an order item.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderItemMapping {
    pub pk: i64,
    pub content_type: i64,
    pub object_id: i64,
    pub integration_type: String,
    pub code: String,
    pub modified_date: String,
    pub created_date: String,
}

/// Seed 002's order item (one per unit).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderItem {
    pub pk: i64,
    pub order: i64,
    pub product: Option<Product>,
    pub status: String,
    pub price_currency: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub price: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub tax_rate: String,
    pub extra_field: Value,
    pub price_list: Option<PriceList>,
    pub stock_list: Option<StockList>,
    pub invoice_number: Option<String>,
    pub invoice_date: Option<String>,
    pub e_archive_url: Option<String>,
    pub cancel_status: Option<String>,
    pub status_display: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub installment_interest_amount: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub net_amount: String,
    pub tracking_number: Option<String>,
    pub shipping_company: Option<String>,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub discount_amount: String,
    pub shipment_code: Option<String>,
    pub benefitapplicant_set: Vec<BenefitApplicant>,
    pub external_status: Option<String>,
    pub retail_price: Option<String>,
    pub attributes: Value,
    pub attributes_kwargs: Value,
    pub tracking_url: Option<String>,
    pub image: Option<String>,
    pub parent: Option<i64>,
    pub data_source: Option<String>,
    pub estimated_delivery_date: Option<String>,
    pub datasource: Option<String>,
    pub mapping: Vec<OrderItemMapping>,
}

impl OrderItem {
    /// Django's content-type id of the order item model in the seed's `mapping` entries.
    pub const CONTENT_TYPE: i64 = 44;
}

impl From<&LedgerItem<'_>> for OrderItem {
    fn from(i: &LedgerItem<'_>) -> Self {
        let c = i.order().currency.as_str();
        OrderItem {
            pk: i.id,
            order: i.order_id,
            product: i.product().map(Product::from),
            status: i.status.to_string(),
            price_currency: c.to_owned(),
            price: money(i.price, c),
            tax_rate: rate(i.tax_rate),
            extra_field: json!({}),
            price_list: i.price_list().map(PriceList::from),
            stock_list: i.stock_list().map(StockList::from),
            invoice_number: i.invoice_number.clone(),
            invoice_date: None,
            e_archive_url: None,
            cancel_status: i.cancel_status.clone(),
            status_display: i.status.name().to_owned(),
            installment_interest_amount: money(i.installment_interest_amount, c),
            net_amount: money(i.net_amount, c),
            tracking_number: i.tracking_number.clone(),
            shipping_company: i.shipping_company.clone(),
            discount_amount: money(i.discount_amount, c),
            shipment_code: None,
            benefitapplicant_set: i.benefits().map(|b| BenefitApplicant::new(b, c)).collect(),
            external_status: i.external_status.clone(),
            retail_price: i.retail_price.map(|r| money(r, c)),
            attributes: json!({}),
            attributes_kwargs: json!({}),
            tracking_url: None,
            image: None,
            parent: None,
            data_source: None,
            estimated_delivery_date: None,
            datasource: None,
            mapping: vec![OrderItemMapping {
                pk: i.id,
                content_type: Self::CONTENT_TYPE,
                object_id: i.id,
                integration_type: "external_company".to_owned(),
                code: i.mapping_code.clone(),
                modified_date: ts(i.modified_at),
                created_date: ts(i.created_at),
            }],
        }
    }
}

/// An order in a list: its totals, no lines.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderSummary {
    pub pk: i64,
    pub number: String,
    pub user: Option<i64>,
    pub status: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub amount: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub discount_amount: String,
    pub currency: String,
    pub created_date: String,
    pub modified_date: String,
}

impl From<&OrderRow> for OrderSummary {
    fn from(o: &OrderRow) -> Self {
        let c = o.currency.as_str();
        OrderSummary {
            pk: o.id,
            number: o.number.clone(),
            user: o.user_id,
            status: o.status.to_string(),
            amount: money(o.amount, c),
            discount_amount: money(o.discount_amount, c),
            currency: c.to_owned(),
            created_date: ts(o.created_at),
            modified_date: ts(o.modified_at),
        }
    }
}

/// An order item as the order detail shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderLine {
    pub pk: i64,
    pub id: i64,
    pub order: i64,
    pub product: i64,
    pub product_name: String,
    pub product_sku: String,
    pub status: String,
    pub status_display: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub price: String,
    pub retail_price: Option<String>,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub tax_rate: String,
    pub price_currency: String,
    pub price_list: Option<i64>,
    pub stock_list: Option<i64>,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub net_amount: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub discount_amount: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub tax_amount: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub without_net_amount: String,
    pub cancel_status: Option<String>,
    pub line_key: String,
    pub created_date: String,
    pub modified_date: String,
}

impl From<&LedgerItem<'_>> for OrderLine {
    fn from(i: &LedgerItem<'_>) -> Self {
        let c = i.order().currency.as_str();
        let tax = tax_included(i.net_amount, i.tax_rate);
        OrderLine {
            pk: i.id,
            id: i.id,
            order: i.order_id,
            product: i.product_id,
            product_name: i.product_name.clone(),
            product_sku: i.product_sku.clone(),
            status: i.status.to_string(),
            status_display: i.status.name().to_owned(),
            price: money(i.price, c),
            retail_price: i.retail_price.map(|r| money(r, c)),
            tax_rate: rate(i.tax_rate),
            price_currency: c.to_owned(),
            price_list: i.price_list_id,
            stock_list: i.stock_list_id,
            net_amount: money(i.net_amount, c),
            discount_amount: money(i.discount_amount, c),
            tax_amount: money(tax, c),
            without_net_amount: money(i.net_amount - tax, c),
            cancel_status: i.cancel_status.clone(),
            line_key: i.line_key.clone(),
            created_date: ts(i.created_at),
            modified_date: ts(i.modified_at),
        }
    }
}

/// An order item's share of a discount, in the order detail.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderShare {
    pub order_item: i64,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub discount_share: String,
}

/// An order item that met a discount's condition, in the order detail.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderConditionItem {
    pub order_item: i64,
}

/// A discount item as the order detail shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDiscount {
    pub pk: i64,
    pub order: i64,
    pub name: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub amount: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub cancel_amount: String,
    pub code: Option<String>,
    pub offer_type: String,
    pub session_offer_type: Option<String>,
    pub promotion: Option<i64>,
    pub created_date: String,
    pub modified_date: String,
    pub benefitapplicant_set: Vec<OrderShare>,
    pub conditionapplicant_set: Vec<OrderConditionItem>,
}

/// A discount share given back by a cancelled unit.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscountReversal {
    pub discount_item: i64,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub amount: String,
}

/// A unit of a cancellation: what it refunds and the discount shares reversed under it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CancellationUnit {
    pub order_item: i64,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub refund_amount: String,
    pub discount_reversed: Vec<DiscountReversal>,
}

/// One cancellation (contract §8). `id` is null in a preview (nothing was written).
#[derive(Debug, Serialize, ToSchema)]
pub struct Cancellation {
    pub id: Option<i64>,
    pub order: i64,
    pub cancellation_type: String,
    pub reason: String,
    pub description: String,
    pub status: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub refund_amount: String,
    pub currency: String,
    pub items: Vec<CancellationUnit>,
    pub created_date: String,
    pub modified_date: String,
}

impl From<&LedgerCancellation<'_>> for Cancellation {
    fn from(c: &LedgerCancellation<'_>) -> Self {
        let cur = c.order().currency.as_str();
        Cancellation {
            id: (c.id != 0).then_some(c.id),
            order: c.order_id,
            cancellation_type: c.cancellation_type.as_str().to_owned(),
            reason: c.reason.clone(),
            description: c.description.clone(),
            status: c.status.as_str().to_owned(),
            refund_amount: money(c.refund_amount, cur),
            currency: cur.to_ascii_lowercase(),
            items: c
                .items()
                .map(|(item, reversed)| CancellationUnit {
                    order_item: item.order_item_id,
                    refund_amount: money(item.refund_amount, cur),
                    discount_reversed: reversed
                        .iter()
                        .map(|&(d, amount)| DiscountReversal { discount_item: d, amount: money(amount, cur) })
                        .collect(),
                })
                .collect(),
            created_date: ts(c.created_at),
            modified_date: ts(c.modified_at),
        }
    }
}

/// An order with its items, discount items and cancellations: the staff detail, the staff
/// cancel answer, the checkout answer and the customer's order views.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDetail {
    pub pk: i64,
    pub number: String,
    pub user: Option<i64>,
    pub status: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub amount: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub discount_amount: String,
    pub currency: String,
    pub created_date: String,
    pub modified_date: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub amount_without_discount: String,
    pub shipping_address: Option<Value>,
    pub orderitem_set: Vec<OrderLine>,
    pub discountitem_set: Vec<OrderDiscount>,
    pub cancellation_set: Vec<Cancellation>,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub refunded_amount: String,
}

impl From<&LedgerOrder<'_>> for OrderDetail {
    fn from(order: &LedgerOrder<'_>) -> Self {
        let cur = order.currency.as_str();
        let OrderSummary { pk, number, user, status, amount, discount_amount, currency, created_date, modified_date } =
            OrderSummary::from(order.row());
        OrderDetail {
            pk,
            number,
            user,
            status,
            amount,
            discount_amount,
            currency,
            created_date,
            modified_date,
            amount_without_discount: money(order.amount_without_discount, cur),
            shipping_address: order.shipping_address.clone(),
            orderitem_set: order.items().map(|i| OrderLine::from(&i)).collect(),
            discountitem_set: order
                .discounts()
                .map(|x| OrderDiscount {
                    pk: x.id,
                    order: x.order_id,
                    name: x.name.clone(),
                    amount: money(x.amount, cur),
                    cancel_amount: money(x.cancel_amount, cur),
                    code: x.code.clone(),
                    offer_type: x.offer_type.clone(),
                    session_offer_type: x.session_offer_type.clone(),
                    promotion: x.promotion_id,
                    created_date: ts(x.created_at),
                    modified_date: ts(x.modified_at),
                    benefitapplicant_set: x
                        .benefits()
                        .map(|b| OrderShare {
                            order_item: b.order_item_id,
                            discount_share: money(b.discount_share, cur),
                        })
                        .collect(),
                    conditionapplicant_set: x
                        .conditions()
                        .map(|c| OrderConditionItem { order_item: c.order_item_id })
                        .collect(),
                })
                .collect(),
            cancellation_set: order.cancellations().map(|c| Cancellation::from(&c)).collect(),
            refunded_amount: money(order.refunded_amount(), cur),
        }
    }
}

impl From<&OrderDetailRows> for OrderDetail {
    fn from(d: &OrderDetailRows) -> Self {
        OrderDetail::from(&d.order())
    }
}

/// The checkout answer: the order placed.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutAnswer {
    pub order: OrderDetail,
}

/// What a promotion has given so far, over all orders.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromotionUsage {
    pub applications: i64,
    pub orders: i64,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub discount: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub reversed: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub net: String,
}

/// A promotion (an offer) as the back office shows it. `condition` and `benefit` are the
/// store codec's objects (their `type` says which fields follow), as they were written.
#[derive(Debug, Serialize, ToSchema)]
pub struct Promotion {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub label: String,
    pub offer_type: String,
    pub currency: String,
    pub start_datetime: Option<String>,
    pub end_datetime: Option<String>,
    pub priority: i32,
    pub exclusive: bool,
    pub is_active: bool,
    pub condition: Value,
    pub benefit: Value,
    pub max_basket_applications: Option<u32>,
    pub max_user_applications: Option<u32>,
    pub max_global_applications: Option<u32>,
    pub max_discount: Option<String>,
    pub customers: Vec<i64>,
    pub refund_policy: String,
    pub usage: PromotionUsage,
    pub created_date: String,
    pub modified_date: String,
}

impl From<&PromotionRow> for Promotion {
    fn from(p: &PromotionRow) -> Self {
        let count = matches!(p.condition.kind, ConditionKind::Count(_));
        Promotion {
            id: p.id,
            name: p.name.clone(),
            slug: p.slug.clone(),
            label: p.label.clone(),
            offer_type: p.offer_type.as_str().to_owned(),
            currency: p.currency.as_str().to_owned(),
            start_datetime: p.start_at.map(ts),
            end_datetime: p.end_at.map(ts),
            priority: p.priority,
            exclusive: p.exclusive,
            is_active: p.is_active,
            condition: condition_json(&p.condition, p.currency),
            benefit: benefit_json(&p.benefit, p.currency, count),
            max_basket_applications: p.max_basket_applications,
            max_user_applications: p.max_user_applications,
            max_global_applications: p.max_global_applications,
            max_discount: p.max_discount.map(|m| p.currency.format(m)),
            customers: p.customers.clone(),
            refund_policy: p.refund_policy.as_str().to_owned(),
            usage: PromotionUsage {
                applications: p.usage.applications,
                orders: p.usage.orders,
                discount: p.currency.format(p.usage.discount),
                reversed: p.currency.format(p.usage.reversed),
                net: p.currency.format(p.usage.net),
            },
            created_date: ts(p.created_at),
            modified_date: ts(p.modified_at),
        }
    }
}

/// A voucher code of a promotion.
#[derive(Debug, Serialize, ToSchema)]
pub struct Voucher {
    pub id: i64,
    pub code: String,
    pub promotion: i64,
    pub usage: String,
    pub uses: i64,
    pub customers: Vec<i64>,
    pub created_date: String,
    pub modified_date: String,
}

impl From<&VoucherRow> for Voucher {
    fn from(v: &VoucherRow) -> Self {
        Voucher {
            id: v.id,
            code: v.code.clone(),
            promotion: v.promotion_id,
            usage: v.usage.as_str().to_owned(),
            uses: v.uses,
            customers: v.customers.clone(),
            created_date: ts(v.created_at),
            modified_date: ts(v.modified_at),
        }
    }
}

/// The answer of a bulk creation: the new promotions' ids, in the order given.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedIds {
    pub ids: Vec<i64>,
}

/// The answer of a voucher generation: the new codes.
#[derive(Debug, Serialize, ToSchema)]
pub struct GeneratedCodes {
    pub codes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::wire::assert_reads_any_object;

    #[test]
    fn request_bodies_read_any_object() {
        assert_reads_any_object::<StaffLogin>(StaffLogin::FIELDS);
        assert_reads_any_object::<ProductCreate>(ProductCreate::FIELDS);
        assert_reads_any_object::<ProductPatch>(ProductPatch::FIELDS);
        assert_reads_any_object::<PriceListCreate>(PriceListCreate::FIELDS);
        assert_reads_any_object::<StockListCreate>(StockListCreate::FIELDS);
        assert_reads_any_object::<SimulateBody>(SimulateBody::FIELDS);
        assert_reads_any_object::<SimulateLine>(SimulateLine::FIELDS);
        assert_reads_any_object::<StaffCancel>(StaffCancel::FIELDS);
        assert_reads_any_object::<ItemStatusChange>(ItemStatusChange::FIELDS);
        assert_reads_any_object::<VoucherCreate>(VoucherCreate::FIELDS);
        assert_reads_any_object::<GenerateVouchers>(GenerateVouchers::FIELDS);
        // A PATCH names the fields of a whole product.
        assert_eq!(ProductPatch::FIELDS, ProductCreate::FIELDS);
    }
}
