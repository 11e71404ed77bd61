//! The Elastic Path wire pieces every `/v2/` handler shares: money as integer minor units
//! with `formatted` strings, timestamps, reading the `{"data": …}` body and its fields, cart
//! references, and the bounds on amounts; the request bodies as wire types, and the answers
//! as serde structs (serialized in declaration order, which is the order of the keys
//! Elastic Path's clients and the seeds know), whose schemas are the OpenAPI document's.

use offerline_core::Currency;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::fieldset;
use crate::http::ep_error::{EpError, EpResult};
use crate::http::schema::{
    Components, NO_NUL, NOT_BLANK, any_of, bool_or_null, component, literal, or_null, pattern, register, string_upto,
};
use crate::http::wire::{Fieldset, present};

/// The most units one cart line may hold (the application's rule).
pub use offerline_app::carts::{MAX_LINE_QUANTITY, amount_limit};
/// Carts expire this many days after their last change (Elastic Path's default).
pub const CART_EXPIRY_DAYS: i64 = 7;
/// Longest cart reference accepted.
pub const MAX_REF_LEN: usize = 128;

// ---------------------------------------------------------------------------------------
// Wire helpers shared by the ep_* modules.

/// `"$85.00"`, `"-$15.00"`, `"€1,234.50"`; currencies without a known symbol are written
/// `"CHF 12.00"`. Thousands are grouped with commas.
pub fn formatted(minor: i64, currency: &str) -> String {
    let digits = Currency::parse(currency).map_or(2, |c| c.minor_digits()) as usize;
    let abs = minor.unsigned_abs().to_string();
    let padded = if abs.len() <= digits { format!("{}{abs}", "0".repeat(digits + 1 - abs.len())) } else { abs };
    let (int, frac) = padded.split_at(padded.len() - digits);
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let number = if digits == 0 { grouped } else { format!("{grouped}.{frac}") };
    let sign = if minor < 0 { "-" } else { "" };
    let code = currency.to_ascii_uppercase();
    match code.as_str() {
        "USD" => format!("{sign}${number}"),
        "EUR" => format!("{sign}€{number}"),
        "GBP" => format!("{sign}£{number}"),
        "TRY" => format!("{sign}₺{number}"),
        _ => format!("{sign}{code} {number}"),
    }
}

/// `{amount, currency, formatted}`.
pub fn money(minor: i64, currency: &str) -> EpMoney {
    EpMoney { amount: minor, currency: currency.to_ascii_uppercase(), formatted: formatted(minor, currency) }
}

/// `"2023-04-19T23:08:57Z"` (seconds, as Elastic Path writes them).
pub fn ep_ts(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map_or_else(String::new, |d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// Reads a JSON object body; an empty body (sent with `Content-Type: application/json` on
/// GET and DELETE) is `{}`.
pub fn body_object(bytes: &[u8]) -> EpResult<Map<String, Value>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) if m.iter().any(|(k, v)| k.contains('\0') || crate::http::wire::contains_nul(v)) => {
            Err(EpError::bad_request("Null characters are not allowed in the request body."))
        }
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(EpError::bad_request("The request body must be a JSON object.")),
        Err(e) => Err(EpError::bad_request(format!("The request body is not valid JSON: {e}"))),
    }
}

/// The `data` member of a body, which must be an object.
pub fn data_object(body: &dyn Fieldset) -> EpResult<&Map<String, Value>> {
    match body.get("data") {
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(EpError::bad_request("data must be an object.")),
        None => Err(EpError::bad_request("data is required.")),
    }
}

/// `include=items,custom_discounts` (comma-joined, any case).
pub fn includes(raw: Option<&str>) -> Vec<String> {
    let pairs: Vec<(String, String)> = raw.and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default();
    pairs
        .into_iter()
        .filter(|(k, _)| k == "include")
        .flat_map(|(_, v)| v.split(',').map(|s| s.trim().to_ascii_lowercase()).collect::<Vec<_>>())
        .filter(|s| !s.is_empty())
        .collect()
}

pub fn opt_bool(obj: &dyn Fieldset, key: &str) -> EpResult<Option<bool>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(EpError::bad_request(format!("{key} must be a boolean."))),
    }
}

pub fn opt_string(obj: &dyn Fieldset, key: &str, max: usize) -> EpResult<Option<String>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(EpError::bad_request(format!("{key} must be at most {max} characters."))),
        Some(_) => Err(EpError::bad_request(format!("{key} must be a string."))),
    }
}

pub fn req_string(obj: &dyn Fieldset, key: &str, max: usize) -> EpResult<String> {
    opt_string(obj, key, max)?.ok_or_else(|| EpError::bad_request(format!("{key} is required.")))
}

pub fn opt_int(obj: &dyn Fieldset, key: &str) -> EpResult<Option<i64>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            n.as_i64().map(Some).ok_or_else(|| EpError::bad_request(format!("{key} must be an integer.")))
        }
        Some(_) => Err(EpError::bad_request(format!("{key} must be an integer."))),
    }
}

pub fn check_ref(r: &str) -> EpResult<()> {
    if r.is_empty() || r.len() > MAX_REF_LEN || !r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(EpError::bad_request(format!(
            "A reference must be 1 to {MAX_REF_LEN} letters, digits, '-' or '_'."
        )));
    }
    Ok(())
}

/// Refuses a cart whose items would total `amount_limit` or more.
pub fn check_cart_total(items: impl Iterator<Item = (i64, i64)>, currency: &str) -> EpResult<()> {
    let total: i128 = items.map(|(unit, qty)| i128::from(unit) * i128::from(qty)).sum();
    if total >= i128::from(amount_limit(currency)) {
        return Err(EpError::bad_request("The cart total may not have more than 15 digits before the decimal point."));
    }
    Ok(())
}

/// The form of `POST /oauth/access_token`: a `client_credentials` grant (with the client's
/// secret) or an `implicit` one. Every value is a string; a NUL in any is refused.
#[derive(Debug)]
pub struct AccessTokenForm;

impl utoipa::PartialSchema for AccessTokenForm {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        let text = || ObjectBuilder::new().schema_type(Type::String).pattern(Some(r"^[^\x00]*$"));
        let grant = |g: &str| ObjectBuilder::new().schema_type(Type::String).enum_values(Some([g.to_owned()]));
        let credentials = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("grant_type", grant("client_credentials"))
            .property("client_id", text())
            .property("client_secret", text())
            .required("grant_type")
            .required("client_id")
            .required("client_secret");
        let implicit = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("grant_type", grant("implicit"))
            .property("client_id", text())
            .required("grant_type")
            .required("client_id");
        OneOfBuilder::new().item(credentials).item(implicit).into()
    }
}

impl utoipa::ToSchema for AccessTokenForm {}

/// The answer of `POST /oauth/access_token`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AccessToken {
    pub access_token: String,
    /// Always `"Bearer"`.
    pub token_type: String,
    /// Seconds the token lives.
    pub expires_in: i64,
    /// When it expires, in seconds since the epoch.
    pub expires: i64,
    /// The grant: `client_credentials` or `implicit`.
    pub identifier: String,
}

// ---------------------------------------------------------------------------------------
// Request bodies: the `{"data": …}` envelopes, read as their wire types. Every field holds
// the JSON value as sent ([`present`]); the readers above word the refusals (the first one
// found), and read a type's fields by name ([`Fieldset`]).

/// Longest text of a cart's name, an item's name, sku and promotion code.
pub const MAX_NAME: usize = 255;
/// Longest description (of a cart or an item), and longest custom discount text.
pub const MAX_TEXT: usize = 1024;

/// A body as its wire type `B`: parsed as [`body_object`] parses it (the same refusals),
/// then deserialized.
pub fn read_body<B: DeserializeOwned + Default>(bytes: &[u8]) -> EpResult<B> {
    Ok(object_as(body_object(bytes)?))
}

/// A JSON object as the wire type `T`. Every field of a wire type holds any JSON value, so
/// any object is one.
pub fn object_as<T: DeserializeOwned + Default>(m: Map<String, Value>) -> T {
    serde_json::from_value(Value::Object(m)).unwrap_or_default()
}

/// The `data` member of a body ([`data_object`]: an object, else 400) as the wire type `T`.
pub fn data_as<T: DeserializeOwned + Default>(body: &dyn Fieldset) -> EpResult<T> {
    Ok(object_as(data_object(body)?.clone()))
}

/// `{"data": T}`: the envelope of every `/v2/` body.
macro_rules! envelope {
    ($(#[$doc:meta])* $name:ident => $data:ty) => {
        $(#[$doc])*
        #[derive(Debug, Default, Deserialize, ToSchema)]
        pub struct $name {
            #[serde(default, deserialize_with = "present")]
            #[schema(value_type = $data, required = true)]
            pub data: Option<Value>,
        }

        fieldset!($name { "data" => data });
    };
}

envelope!(
    /// The body of `POST /v2/carts` and `PUT /v2/carts/{cartID}`.
    CartBody => CartData
);

/// A cart's fields. On creation an absent or null field takes its default (`"Cart"`, `""`,
/// the store's settings); on an update it keeps the cart's.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CartData {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = name_text)]
    pub name: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = long_text)]
    pub description: Option<Value>,
    /// The cart's own settings, over the store's.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DiscountSettings>)]
    pub discount_settings: Option<Value>,
}

fieldset!(CartData { "name" => name, "description" => description, "discount_settings" => discount_settings });

/// Which discounts a cart (or the store) takes: custom discounts, or offerline's rule
/// promotions, never both (both true is refused, 422). Absent or null: unchanged.
#[derive(Debug, Default, Deserialize)]
pub struct DiscountSettings {
    #[serde(default, deserialize_with = "present")]
    pub custom_discounts_enabled: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub use_rule_promotions: Option<Value>,
}

fieldset!(DiscountSettings {
    "custom_discounts_enabled" => custom_discounts_enabled,
    "use_rule_promotions" => use_rule_promotions,
});

impl PartialSchema for DiscountSettings {
    fn schema() -> RefOr<Schema> {
        // Not both true: one of the two is false, null or absent.
        let off = || or_null(ObjectBuilder::new().schema_type(Type::Boolean).enum_values(Some([false])));
        let either = |first: &str, second: &str| {
            ObjectBuilder::new().schema_type(Type::Object).property(first, off()).property(second, bool_or_null())
        };
        any_of(vec![
            either("custom_discounts_enabled", "use_rule_promotions").into(),
            either("use_rule_promotions", "custom_discounts_enabled").into(),
        ])
    }
}

impl ToSchema for DiscountSettings {}

fn name_text() -> RefOr<Schema> {
    or_null(string_upto(MAX_NAME))
}

fn long_text() -> RefOr<Schema> {
    or_null(string_upto(MAX_TEXT))
}

envelope!(
    /// The body of `POST /v2/carts/{cartID}/items`.
    CartItemBody => CartItemData
);

/// A custom item (`type` `custom_item`; the same sku merges into its line, up to 1,000
/// units a line), or a promotion code (`type` `promotion_item`, for a cart priced by rule
/// promotions).
#[derive(Debug, Default, Deserialize)]
pub struct CartItemData {
    #[serde(default, rename = "type", deserialize_with = "present")]
    pub kind: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub name: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub sku: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub description: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub quantity: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub price: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub code: Option<Value>,
}

fieldset!(CartItemData {
    "type" => kind,
    "name" => name,
    "sku" => sku,
    "description" => description,
    "quantity" => quantity,
    "price" => price,
    "code" => code,
});

/// A custom item's unit price: `amount` in minor units, not negative.
#[derive(Debug, Default, Deserialize)]
pub struct ItemPrice {
    #[serde(default, deserialize_with = "present")]
    pub amount: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub includes_tax: Option<Value>,
}

fieldset!(ItemPrice { "amount" => amount, "includes_tax" => includes_tax });

impl PartialSchema for ItemPrice {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("amount", ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)))
            .property("includes_tax", bool_or_null())
            .required("amount")
            .into()
    }
}

impl ToSchema for ItemPrice {}

impl PartialSchema for CartItemData {
    fn schema() -> RefOr<Schema> {
        let non_blank = || pattern(NOT_BLANK).max_length(Some(MAX_NAME));
        let custom = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("type", literal("custom_item"))
            .property("name", non_blank())
            .property("sku", non_blank())
            .property("description", long_text())
            .property(
                "quantity",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1))
                    .maximum(Some(offerline_app::carts::MAX_LINE_QUANTITY)),
            )
            .property("price", component::<ItemPrice>())
            .required("type")
            .required("name")
            .required("sku")
            .required("quantity")
            .required("price");
        let promotion = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("type", literal("promotion_item"))
            .property("code", string_upto(MAX_NAME))
            .required("type")
            .required("code");
        any_of(vec![custom.into(), promotion.into()])
    }
}

impl ToSchema for CartItemData {
    fn schemas(out: &mut Components) {
        register::<ItemPrice>(out);
    }
}

envelope!(
    /// The body of `PUT /v2/carts/{cartID}/items/{cartitemID}`.
    CartItemQuantityBody => CartItemQuantity
);

/// A cart item's new quantity (0 removes it).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CartItemQuantity {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = line_quantity, required = true)]
    pub quantity: Option<Value>,
}

fieldset!(CartItemQuantity { "quantity" => quantity });

fn line_quantity() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(0))
        .maximum(Some(offerline_app::carts::MAX_LINE_QUANTITY))
        .into()
}

envelope!(
    /// The body of `PUT /v2/settings/cart`.
    SettingsBody => SettingsData
);

/// The store's cart settings.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SettingsData {
    /// Each one given changes the store's setting; both on at once is refused (422), the
    /// setting not given counted as it is stored.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DiscountSettings>)]
    pub discounts: Option<Value>,
}

fieldset!(SettingsData { "discounts" => discounts });

/// The body of `POST …/custom-discounts` (on a cart, or on a cart item): one custom
/// discount (answered 201), or several (`data` an array, answered 200 with the refusals in
/// `errors`; with `options.add_all_or_nothing`, any refusal refuses them all, 422). The
/// JS SDK's `{"data": {"data": [...], "options": …}}` is read as the same.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CustomDiscountsBody {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = DiscountsData, required = true)]
    pub data: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DiscountOptions>)]
    pub options: Option<Value>,
}

fieldset!(CustomDiscountsBody { "data" => data, "options" => options });

/// How several custom discounts are added.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct DiscountOptions {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = bool_or_null)]
    pub add_all_or_nothing: Option<Value>,
}

fieldset!(DiscountOptions { "add_all_or_nothing" => add_all_or_nothing });

/// One custom discount, several, or the JS SDK's wrapping of them.
#[derive(Debug)]
pub struct DiscountsData;

fn one_or_many_discounts() -> Vec<RefOr<Schema>> {
    let many = ArrayBuilder::new().items(component::<CustomDiscount>()).min_items(Some(1));
    vec![component::<CustomDiscount>(), many.into()]
}

impl PartialSchema for DiscountsData {
    fn schema() -> RefOr<Schema> {
        let mut all = one_or_many_discounts();
        all.push(component::<WrappedDiscounts>());
        any_of(all)
    }
}

impl ToSchema for DiscountsData {
    fn schemas(out: &mut Components) {
        register::<CustomDiscount>(out);
        register::<WrappedDiscounts>(out);
    }
}

/// The JS SDK's `Bulk*` without options: `{"data": [...]}` inside `data` (an object with no
/// `type`), its `options` used when the body has none.
#[derive(Debug)]
pub struct WrappedDiscounts;

impl PartialSchema for WrappedDiscounts {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("data", any_of(one_or_many_discounts()))
            .property("options", or_null(component::<DiscountOptions>()))
            .required("data")
            .into()
    }
}

impl ToSchema for WrappedDiscounts {
    fn schemas(out: &mut Components) {
        register::<CustomDiscount>(out);
        register::<DiscountOptions>(out);
    }
}

/// A custom discount (every field required, as Elastic Path's `CartsCustomDiscountsObject`).
/// `amount` is negative, in minor units of the cart's currency, and under 15 digits before
/// the decimal point (422 otherwise). On a cart, `relationships.item` may point at one of
/// its items.
#[derive(Debug, Default, Deserialize)]
pub struct CustomDiscount {
    #[serde(default, rename = "type", deserialize_with = "present")]
    pub kind: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub external_id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub discount_engine: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub amount: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub description: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub discount_code: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub relationships: Option<Value>,
}

fieldset!(CustomDiscount {
    "type" => kind,
    "external_id" => external_id,
    "discount_engine" => discount_engine,
    "amount" => amount,
    "description" => description,
    "discount_code" => discount_code,
    "relationships" => relationships,
});

/// The texts of a custom discount, in the order they are read.
pub const DISCOUNT_TEXTS: [&str; 4] = ["external_id", "discount_engine", "description", "discount_code"];

/// A custom discount's amount: negative, and at most 18 digits (the bound of a
/// three-decimal currency; the cart's currency may bound it lower, 422).
fn discount_amount() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Integer).maximum(Some(-1)).minimum(Some(-999_999_999_999_999_999_i64))
}

/// A custom discount's item: `{"item": {"data": {"id": "<cart item id>"}}}` (no `item`:
/// none). On a cart item's route the route names the item, and this is not read.
#[derive(Debug)]
pub struct DiscountItemLink;

impl PartialSchema for DiscountItemLink {
    fn schema() -> RefOr<Schema> {
        let id = ObjectBuilder::new().schema_type(Type::Object).property("id", pattern(NO_NUL)).required("id");
        let item = ObjectBuilder::new().schema_type(Type::Object).property("data", id).required("data");
        ObjectBuilder::new().schema_type(Type::Object).property("item", item).into()
    }
}

impl ToSchema for DiscountItemLink {}

/// `relationships` of a custom discount: a `DiscountItemLink`, or any value that is not an
/// object (read as none).
fn relationships() -> RefOr<Schema> {
    let object = component::<DiscountItemLink>();
    let mut other: Vec<RefOr<Schema>> = [Type::Null, Type::Boolean, Type::Number, Type::String]
        .into_iter()
        .map(|t| ObjectBuilder::new().schema_type(t).into())
        .collect();
    other.push(ArrayBuilder::new().items(ObjectBuilder::new().schema_type(SchemaType::AnyValue)).into());
    any_of(other.into_iter().chain([object]).collect())
}

impl PartialSchema for CustomDiscount {
    fn schema() -> RefOr<Schema> {
        let mut o = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("type", literal("custom_discount"))
            .required("type")
            .property("amount", discount_amount())
            .required("amount");
        for key in DISCOUNT_TEXTS {
            o = o.property(key, string_upto(MAX_TEXT)).required(key);
        }
        o.property("relationships", relationships()).into()
    }
}

impl ToSchema for CustomDiscount {
    fn schemas(out: &mut Components) {
        register::<DiscountItemLink>(out);
    }
}

envelope!(
    /// The body of `PUT …/custom-discounts/{customdiscountID}`.
    CustomDiscountPatchBody => CustomDiscountPatch
);

/// A custom discount's new fields: each absent or null keeps its value.
#[derive(Debug, Default, Deserialize)]
pub struct CustomDiscountPatch {
    #[serde(default, rename = "type", deserialize_with = "present")]
    pub kind: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub external_id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub discount_engine: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub amount: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub description: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub discount_code: Option<Value>,
}

fieldset!(CustomDiscountPatch {
    "type" => kind,
    "external_id" => external_id,
    "discount_engine" => discount_engine,
    "amount" => amount,
    "description" => description,
    "discount_code" => discount_code,
});

impl PartialSchema for CustomDiscountPatch {
    fn schema() -> RefOr<Schema> {
        let mut o = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("type", literal("custom_discount"))
            .property("amount", or_null(discount_amount()));
        for key in DISCOUNT_TEXTS {
            o = o.property(key, long_text());
        }
        o.into()
    }
}

impl ToSchema for CustomDiscountPatch {}

envelope!(
    /// The body of `POST /v2/carts/{cartID}/checkout`.
    CheckoutBody => CheckoutData
);

/// Who the order is for and where it goes. The customer and the addresses are kept as
/// given (other fields too), and shown back on the order.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CheckoutData {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = customer, required = true)]
    pub customer: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = address, required = true)]
    pub billing_address: Option<Value>,
    /// The billing address when absent or null.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = opt_address)]
    pub shipping_address: Option<Value>,
}

fieldset!(CheckoutData {
    "customer" => customer,
    "billing_address" => billing_address,
    "shipping_address" => shipping_address,
});

/// A customer: an `id`, or a `name` and an `email` (non-blank strings).
fn customer() -> RefOr<Schema> {
    let text = || pattern(NOT_BLANK);
    let by_id = ObjectBuilder::new().schema_type(Type::Object).property("id", text()).required("id");
    let by_name = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("name", text())
        .property("email", text())
        .required("name")
        .required("email");
    any_of(vec![by_id.into(), by_name.into()])
}

fn address() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::Object).into()
}

fn opt_address() -> RefOr<Schema> {
    or_null(ObjectBuilder::new().schema_type(Type::Object))
}

// ---------------------------------------------------------------------------------------
// Answers.

/// An amount: integer minor units, the currency (upper case) and the amount as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EpMoney {
    pub amount: i64,
    pub currency: String,
    /// `"$85.00"`, `"-₺15.00"`, `"CHF 12.00"`.
    pub formatted: String,
}

/// A price as a cart item or an order item gives it: minor units and whether tax is in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemAmount {
    pub amount: i64,
    pub currency: String,
    pub includes_tax: bool,
}

/// Totals (tax is always 0).
#[derive(Debug, Serialize, ToSchema)]
pub struct DisplayPrice {
    pub with_tax: EpMoney,
    pub without_tax: EpMoney,
    pub tax: EpMoney,
    /// Negative (or 0): what the discounts take off.
    pub discount: EpMoney,
    pub without_discount: EpMoney,
}

/// A figure per unit (truncated) and for the whole line.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnitValue {
    pub unit: EpMoney,
    pub value: EpMoney,
}

/// An item's totals, per unit and for the line.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemDisplayPrice {
    pub with_tax: UnitValue,
    pub without_tax: UnitValue,
    pub tax: UnitValue,
    pub discount: UnitValue,
    pub without_discount: UnitValue,
}

/// A reference to another object: its `type` and `id`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ref {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
}

/// A to-many relationship.
#[derive(Debug, Serialize, ToSchema)]
pub struct Refs {
    pub data: Vec<Ref>,
}

/// No links (`{}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct NoLinks {}

#[derive(Debug, Serialize, ToSchema)]
pub struct Timestamps {
    pub created_at: String,
    pub updated_at: String,
}

/// A cart's times: it expires `CART_EXPIRY_DAYS` after its last change.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartTimestamps {
    pub created_at: String,
    pub updated_at: String,
    pub expires_at: String,
}

/// Which discounts price a cart, as it is priced now.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscountFlags {
    pub custom_discounts_enabled: bool,
    pub use_rule_promotions: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CartLinks {
    #[serde(rename = "self")]
    pub own: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CartMeta {
    pub display_price: DisplayPrice,
    pub timestamps: CartTimestamps,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CartRelationships {
    /// Its items (custom items, and promotion items when rule promotions price it).
    pub items: Refs,
    /// Its cart-level custom discounts.
    pub custom_discounts: Refs,
}

/// A cart.
#[derive(Debug, Serialize, ToSchema)]
pub struct Cart {
    pub id: String,
    /// `"cart"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub description: String,
    pub discount_settings: DiscountFlags,
    pub links: CartLinks,
    pub meta: CartMeta,
    pub relationships: CartRelationships,
}

/// What `include=items,custom_discounts` asked for.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct CartIncluded {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<CartItem>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_discounts: Option<Vec<CustomDiscountView>>,
}

/// The answer of the cart endpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartAnswer {
    pub data: Cart,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub included: Option<CartIncluded>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemImage {
    pub mime_type: String,
    pub file_name: String,
    pub href: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemMeta {
    pub display_price: ItemDisplayPrice,
    pub timestamps: Timestamps,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemRelationships {
    /// The item's own custom discounts.
    pub custom_discounts: Refs,
}

/// A promotion's discount on a custom item of a cart priced by rule promotions.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleDiscount {
    /// Negative.
    pub amount: ItemAmount,
    /// The code that brought the promotion, if one did.
    pub code: Option<String>,
    /// `promotion-<pk>`.
    pub id: String,
    pub promotion_id: i64,
    pub name: String,
    /// `"rule-promotion"`.
    pub promotion_source: &'static str,
    /// Whether the promotion applies to every product.
    pub is_cart_discount: bool,
}

/// A custom item of a cart. On a cart priced by custom discounts it has `relationships`
/// (its custom discounts); on one priced by rule promotions, `discounts` (the promotions').
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomItem {
    pub id: String,
    /// `"custom_item"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub description: String,
    pub sku: String,
    pub slug: String,
    pub image: ItemImage,
    pub quantity: i64,
    pub manage_stock: bool,
    pub unit_price: ItemAmount,
    pub value: ItemAmount,
    pub links: NoLinks,
    pub meta: ItemMeta,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relationships: Option<ItemRelationships>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discounts: Option<Vec<RuleDiscount>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PromotionItemMeta {
    pub timestamps: Timestamps,
}

/// A promotion code on a cart priced by rule promotions; its value is the discount its
/// promotion gave (negative), `promotion_id` null while it gives nothing.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromotionItem {
    pub id: String,
    /// `"promotion_item"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub sku: String,
    pub code: String,
    pub promotion_id: Option<i64>,
    pub quantity: i64,
    pub unit_price: ItemAmount,
    pub value: ItemAmount,
    pub links: NoLinks,
    pub meta: PromotionItemMeta,
}

/// An item of a cart.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum CartItem {
    Custom(Box<CustomItem>),
    Promotion(Box<PromotionItem>),
}

impl CartItem {
    /// The reference to it.
    pub fn reference(&self) -> Ref {
        match self {
            CartItem::Custom(i) => Ref { kind: i.kind, id: i.id.clone() },
            CartItem::Promotion(i) => Ref { kind: i.kind, id: i.id.clone() },
        }
    }
}

/// The items of a cart, with the cart's totals.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemsAnswer {
    pub data: Vec<CartItem>,
    pub meta: CartMeta,
}

/// The store's cart settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct Settings {
    /// `"settings"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub cart_expiry_days: i64,
    pub discounts: DiscountFlags,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsAnswer {
    pub data: Settings,
}

/// The item a custom discount belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemLink {
    pub data: Ref,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DiscountRelationships {
    pub item: ItemLink,
}

/// A custom discount of a cart (`relationships.item` when it belongs to an item).
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomDiscountView {
    /// `"custom_discount"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    pub external_id: String,
    pub discount_engine: String,
    pub description: String,
    pub discount_code: String,
    /// Negative.
    pub amount: EpMoney,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relationships: Option<DiscountRelationships>,
}

/// One custom discount, added (201) or changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscountAnswer {
    pub data: CustomDiscountView,
}

/// Where a refusal of a bulk add points: `/data/<index>`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Pointer {
    pub pointer: String,
}

/// A refused entry of a bulk add.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryError {
    pub status: u16,
    pub title: String,
    pub detail: String,
    pub source: Pointer,
}

/// Several custom discounts added (200): those added, and the entries refused.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscountsAnswer {
    pub data: Vec<CustomDiscountView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<EntryError>>,
}

/// A custom discount of an order (its id may be unknown, null).
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscountRef {
    /// `"custom_discount"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DiscountRefs {
    pub data: Vec<DiscountRef>,
}

/// An order's totals (tax 0, nothing paid).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDisplayPrice {
    pub with_tax: EpMoney,
    pub without_tax: EpMoney,
    pub tax: EpMoney,
    pub discount: EpMoney,
    pub balance_owing: EpMoney,
    pub paid: EpMoney,
    pub authorized: EpMoney,
    pub without_discount: EpMoney,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderMeta {
    pub display_price: OrderDisplayPrice,
    pub timestamps: Timestamps,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderRelationships {
    /// Its items, one per cart line (`type` `item`).
    pub items: Refs,
    /// Its cart-level custom discounts.
    pub custom_discounts: DiscountRefs,
}

/// An order placed from a cart.
#[derive(Debug, Serialize, ToSchema)]
pub struct Order {
    pub id: String,
    /// `"order"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `incomplete`, or `cancelled` when every unit is.
    pub status: &'static str,
    /// `unpaid`, or `refunded` when every unit is.
    pub payment: &'static str,
    /// `unfulfilled`, or `fulfilled` when every unit not cancelled has shipped.
    pub shipping: &'static str,
    pub anonymized: bool,
    /// As the checkout gave it.
    pub customer: Value,
    pub shipping_address: Value,
    pub billing_address: Value,
    pub links: NoLinks,
    pub meta: OrderMeta,
    pub relationships: OrderRelationships,
}

/// An amount without `formatted` (seed 004's included custom discounts).
#[derive(Debug, Serialize, ToSchema)]
pub struct BareAmount {
    pub amount: i64,
    pub currency: String,
}

/// A custom discount of an order, as `include=custom_discounts` shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EpOrderDiscount {
    /// Negative.
    pub amount: BareAmount,
    /// `"custom_discount"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: Option<String>,
    pub external_id: Option<String>,
    pub discount_engine: Option<String>,
    pub description: Option<String>,
    pub discount_code: Option<String>,
}

/// An order item's totals, and what each discount code took off it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderItemDisplayPrice {
    pub with_tax: UnitValue,
    pub without_tax: UnitValue,
    pub tax: UnitValue,
    pub discount: UnitValue,
    pub without_discount: UnitValue,
    /// By discount code (the discount's name when it has none): the amount off this item.
    #[schema(schema_with = money_by_code)]
    pub discounts: Map<String, Value>,
}

fn money_by_code() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::RefOr(EpMoney::schema())))
        .into()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderItemMeta {
    pub display_price: OrderItemDisplayPrice,
    pub timestamps: Timestamps,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderItemRelationships {
    /// The cart line it came from (`type` `cart_item`).
    pub cart_item: ItemLink,
    /// The line's own custom discounts.
    pub custom_discounts: DiscountRefs,
}

/// An order's item: one cart line, all its units.
#[derive(Debug, Serialize, ToSchema)]
pub struct EpOrderItem {
    /// `"order_item"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    pub quantity: i64,
    pub product_id: Option<String>,
    pub name: String,
    pub sku: String,
    pub unit_price: ItemAmount,
    pub value: ItemAmount,
    /// Always empty (the discounts are in `meta.display_price.discounts`).
    #[schema(max_items = 0)]
    pub discounts: Vec<Value>,
    pub links: NoLinks,
    pub meta: OrderItemMeta,
    pub relationships: OrderItemRelationships,
}

/// What `include=custom_discounts,items` asked for.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct OrderIncluded {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_discounts: Option<Vec<EpOrderDiscount>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<EpOrderItem>>,
}

/// An order (the checkout's answer, 201, and `GET /v2/orders/{orderID}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderAnswer {
    pub data: Order,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub included: Option<OrderIncluded>,
}

/// An order's items.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderItemsAnswer {
    pub data: Vec<EpOrderItem>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::wire::assert_reads_any_object;

    #[test]
    fn bodies_read_any_object() {
        assert_reads_any_object::<CartBody>(CartBody::FIELDS);
        assert_reads_any_object::<CartData>(CartData::FIELDS);
        assert_reads_any_object::<DiscountSettings>(DiscountSettings::FIELDS);
        assert_reads_any_object::<CartItemBody>(CartItemBody::FIELDS);
        assert_reads_any_object::<CartItemData>(CartItemData::FIELDS);
        assert_reads_any_object::<ItemPrice>(ItemPrice::FIELDS);
        assert_reads_any_object::<CartItemQuantityBody>(CartItemQuantityBody::FIELDS);
        assert_reads_any_object::<CartItemQuantity>(CartItemQuantity::FIELDS);
        assert_reads_any_object::<SettingsBody>(SettingsBody::FIELDS);
        assert_reads_any_object::<SettingsData>(SettingsData::FIELDS);
        assert_reads_any_object::<CustomDiscountsBody>(CustomDiscountsBody::FIELDS);
        assert_reads_any_object::<DiscountOptions>(DiscountOptions::FIELDS);
        assert_reads_any_object::<CustomDiscount>(CustomDiscount::FIELDS);
        assert_reads_any_object::<CustomDiscountPatchBody>(CustomDiscountPatchBody::FIELDS);
        assert_reads_any_object::<CustomDiscountPatch>(CustomDiscountPatch::FIELDS);
        assert_reads_any_object::<CheckoutBody>(CheckoutBody::FIELDS);
        assert_reads_any_object::<CheckoutData>(CheckoutData::FIELDS);
    }

    /// The document's bounds are the readers' (the same constants).
    #[test]
    fn schemas_say_the_readers_bounds() {
        let q = serde_json::to_value(CartItemQuantity::schema()).unwrap();
        assert_eq!(q["properties"]["quantity"]["maximum"], MAX_LINE_QUANTITY);
        let data = serde_json::to_value(CartData::schema()).unwrap();
        assert_eq!(data["properties"]["name"]["anyOf"][0]["maxLength"], MAX_NAME);
        assert_eq!(data["properties"]["description"]["anyOf"][0]["maxLength"], MAX_TEXT);
    }
}
