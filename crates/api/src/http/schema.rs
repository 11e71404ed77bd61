//! The JSON schemas of what the field readers of [`super::wire::Fields`] accept, for the
//! request-body types of the OpenAPI document (`#[schema(schema_with = …)]`).
//!
//! The readers are lenient the way DRF is (a number for a string, a numeric string for an
//! integer, `"true"` for a boolean, `null` for an absent optional field), and a schema says
//! exactly that, no more and no less: data the schema allows is read, data it refuses gets the
//! field's 400. Strings never hold a NUL (refused for every body, see `wire::parse_object`).

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, ObjectBuilder, Schema, Type};

/// Any string without a NUL.
const NO_NUL: &str = r"^[^\x00]*$";
/// A string with a character other than white space (and no NUL): not blank once trimmed.
const NOT_BLANK: &str = r"^[^\x00]*[^\s\x00][^\x00]*$";
/// An integer as a string: what `str::parse::<i64>` reads once trimmed (18 digits at most, so
/// it always fits).
const INT_TEXT: &str = r"^[ \t\n\r]*[+-]?[0-9]{1,18}[ \t\n\r]*$";

fn one_of(items: Vec<RefOr<Schema>>, nullable: bool) -> RefOr<Schema> {
    let mut any = AnyOfBuilder::new();
    for item in items {
        any = any.item(item);
    }
    if nullable {
        any = any.item(ObjectBuilder::new().schema_type(Type::Null));
    }
    any.into()
}

fn text_schema(max: usize, not_blank: bool, nullable: bool) -> RefOr<Schema> {
    let string = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(not_blank.then_some(1))
        .max_length(Some(max))
        .pattern(Some(if not_blank { NOT_BLANK } else { NO_NUL }));
    // A number is read as its text (`Fields::opt_str`).
    one_of(vec![string.into(), ObjectBuilder::new().schema_type(Type::Number).into()], nullable)
}

/// `Fields::req_str(key, MAX)`: a non-blank string of at most `MAX` characters, or a number.
pub fn req_text<const MAX: usize>() -> RefOr<Schema> {
    text_schema(MAX, true, false)
}

/// `Fields::opt_str(key, MAX)`: a string of at most `MAX` characters, a number, or null.
pub fn opt_text<const MAX: usize>() -> RefOr<Schema> {
    text_schema(MAX, false, true)
}

/// An integer from `min` to `max`, or its text (`text`: the pattern of exactly those texts),
/// or also null.
pub fn int_schema(min: i64, max: i64, text: &str, nullable: bool) -> RefOr<Schema> {
    let number = ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(min)).maximum(Some(max));
    let text = ObjectBuilder::new().schema_type(Type::String).pattern(Some(text));
    one_of(vec![number.into(), text.into()], nullable)
}

/// `Fields::req_int`: an integer (or its text).
pub fn req_int() -> RefOr<Schema> {
    int_schema(i64::MIN, i64::MAX, INT_TEXT, false)
}

/// `Fields::opt_int`: an integer (or its text), or null.
pub fn opt_int() -> RefOr<Schema> {
    int_schema(i64::MIN, i64::MAX, INT_TEXT, true)
}

/// A basket line's quantity: 1 to 1000 when adding, 0 (removes) to 1000 when setting.
pub fn quantity_to_add() -> RefOr<Schema> {
    int_schema(1, 1000, r"^[ \t\n\r]*\+?0*([1-9][0-9]{0,2}|1000)[ \t\n\r]*$", false)
}

/// See [`quantity_to_add`].
pub fn quantity_to_set() -> RefOr<Schema> {
    int_schema(0, 1000, r"^[ \t\n\r]*\+?0*([0-9]{1,3}|1000)[ \t\n\r]*$", false)
}

/// `Fields::opt_bool`: a boolean, one of its texts, or null.
pub fn opt_bool() -> RefOr<Schema> {
    let text =
        ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["true", "True", "1", "false", "False", "0"]));
    one_of(vec![ObjectBuilder::new().schema_type(Type::Boolean).into(), text.into()], true)
}

/// A JSON object (free keys), or null.
pub fn opt_object() -> RefOr<Schema> {
    one_of(vec![ObjectBuilder::new().schema_type(Type::Object).into()], true)
}

/// A three-letter ISO 4217 currency code (either case).
pub fn currency() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).pattern(Some(r"^[A-Za-z]{3}$")).into()
}

/// `cancel` or `refund` (null or absent: `cancel`).
pub fn cancellation_type() -> RefOr<Schema> {
    one_of(vec![ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["cancel", "refund"])).into()], true)
}

/// 1 to 1000 order item ids (integers, or their text).
pub fn order_item_ids() -> RefOr<Schema> {
    let id = int_schema(i64::MIN, i64::MAX, INT_TEXT, false);
    ArrayBuilder::new().items(id).min_items(Some(1)).max_items(Some(1000)).into()
}

/// A string of at most `MAX` characters, or null (strings only: no number).
pub fn opt_string<const MAX: usize>() -> RefOr<Schema> {
    one_of(
        vec![ObjectBuilder::new().schema_type(Type::String).max_length(Some(MAX)).pattern(Some(NO_NUL)).into()],
        true,
    )
}

/// A list of user ids (integers or their text; at most 10,000), or null.
pub fn pk_list() -> RefOr<Schema> {
    let id = int_schema(i64::MIN, i64::MAX, INT_TEXT, false);
    one_of(vec![ArrayBuilder::new().items(id).max_items(Some(10_000)).into()], true)
}
