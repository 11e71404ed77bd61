//! The JSON schemas of what the field readers of [`super::wire::Fields`] accept, for the
//! request-body types of the OpenAPI document (`#[schema(schema_with = …)]`).
//!
//! The readers are lenient the way DRF is (a number for a string, a numeric string for an
//! integer, `"true"` for a boolean, `null` for an absent optional field), and a schema says
//! exactly that, no more and no less: data the schema allows is read, data it refuses gets the
//! field's 400. Strings never hold a NUL (refused for every body, see `wire::parse_object`).

use utoipa::ToSchema;
use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};

/// Any string without a NUL.
pub const NO_NUL: &str = r"^[^\x00]*$";
/// A string with a character other than white space (and no NUL): not blank once trimmed.
pub const NOT_BLANK: &str = r"^[^\x00]*[^\s\x00][^\x00]*$";
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

/// One character of what `str::trim` strips: Unicode's white space.
pub const WS: &str = r"[\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";

/// A regular expression (a non-capturing group) for the decimal digits, without a sign or a
/// leading zero, of every integer from `min` (0 or 1) to `max`.
pub fn digits_upto(min: u64, max: u64) -> String {
    assert!(min <= 1 && min <= max, "digits_upto counts from 0 or 1");
    let n = max.to_string();
    let b = n.as_bytes();
    let k = n.len();
    if k == 1 {
        return format!("(?:[{min}-{}])", b[0] as char);
    }
    let mut alts = vec![format!("[{min}-9]")];
    if k > 2 {
        alts.push(format!("[1-9][0-9]{{1,{}}}", k - 2));
    }
    // The numbers of `k` digits up to `max`: a prefix of `max`, a smaller digit, any digits.
    for i in 0..k {
        let d = b[i] - b'0';
        let lo = u8::from(i == 0);
        if d > lo {
            let class = if d - 1 == lo { format!("{lo}") } else { format!("[{lo}-{}]", d - 1) };
            let rest = k - i - 1;
            let tail = if rest > 0 { format!("[0-9]{{{rest}}}") } else { String::new() };
            alts.push(format!("{}{class}{tail}", &n[..i]));
        }
    }
    alts.push(n.clone());
    format!("(?:{})", alts.join("|"))
}

/// The texts `str::trim` then `str::parse::<i64>` reads as an integer from `min` to `max`
/// (`min` is 0, 1, or negative): white space around, a sign, leading zeros.
pub fn int_text(min: i64, max: i64) -> String {
    let up = digits_upto(min.clamp(0, 1) as u64, max as u64);
    let body = if min < 0 {
        format!(r"(?:\+?0*{up}|-0*{})", digits_upto(0, min.unsigned_abs()))
    } else {
        format!(r"\+?0*{up}")
    };
    format!("^{WS}*{body}{WS}*$")
}

/// An integer from `min` to `max` as a JSON integer or its text ([`int_text`]), or also null.
pub fn int_range(min: i64, max: i64, nullable: bool) -> RefOr<Schema> {
    int_schema(min, max, &int_text(min, max), nullable)
}

/// `schema`, or null.
pub fn or_null(schema: impl Into<RefOr<Schema>>) -> RefOr<Schema> {
    one_of(vec![schema.into()], true)
}

/// Any of `items`.
pub fn any_of(items: Vec<RefOr<Schema>>) -> RefOr<Schema> {
    one_of(items, false)
}

/// A string matching `pattern`.
pub fn pattern(pattern: &str) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).pattern(Some(pattern))
}

/// Exactly `value` (a one-value enum: the document's generated clients read it as a literal).
pub fn literal(value: &str) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some([value]))
}

/// One of `values`.
pub fn one_of_strings<S: Into<String>>(values: impl IntoIterator<Item = S>) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values.into_iter().map(Into::into)))
}

/// A string of at most `max` characters (none a NUL).
pub fn string_upto(max: usize) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).max_length(Some(max)).pattern(Some(NO_NUL))
}

/// A boolean, or null.
pub fn bool_or_null() -> RefOr<Schema> {
    or_null(ObjectBuilder::new().schema_type(Type::Boolean))
}

/// A money value as `Fields::opt_money` and the promotion readers read it: a decimal text of
/// at most 15 integer digits and as many decimals as the currency has (3 at most: the
/// document does not know the currency), or a JSON number; more than 0 when `positive`,
/// else at least 0.
pub fn money(positive: bool) -> RefOr<Schema> {
    let text = pattern(&format!(r"^{WS}*0*[0-9]{{1,15}}(\.[0-9]{{1,3}})?{WS}*$"));
    let number = ObjectBuilder::new().schema_type(Type::Number).maximum(Some(999_999_999_999_999_i64));
    let number = if positive { number.exclusive_minimum(Some(0)) } else { number.minimum(Some(0)) };
    any_of(vec![text.into(), number.into()])
}

/// The components a type's schema refers to, as `ToSchema::schemas` collects them.
pub type Components = Vec<(String, RefOr<Schema>)>;

/// A `$ref` to the component `T`. An object nested in a union is given by reference, not
/// inline: client generators name inline objects after their place, and one reached
/// through several branches gets two models of one name.
pub fn component<T: ToSchema>() -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(T::name()))
}

/// Puts `T` (and the components it refers to) among the components.
pub fn register<T: ToSchema>(out: &mut Components) {
    out.push((T::name().into_owned(), T::schema()));
    T::schemas(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        regex_lite::Regex::new(pattern).unwrap().is_match(text)
    }

    /// The pattern of a range holds exactly the texts `str::parse` reads into it.
    #[test]
    fn integer_texts_are_exactly_the_range() {
        for (min, max) in
            [(0, 9), (1, 9), (0, 10), (1, 100), (1, 1000), (0, 4_294_967_295), (-2_147_483_648, 2_147_483_647)]
        {
            let p = int_text(min, max);
            let candidates = [min - 1, min, min + 1, max - 1, max, max + 1, 0, 1, 7, 10, 99, 100, 101, 999, 1000, 1001];
            for n in candidates {
                let inside = (min..=max).contains(&n);
                for text in [n.to_string(), format!(" {n}\n"), format!("+{n}"), format!("00{n}")] {
                    let read = text.trim().parse::<i64>().is_ok_and(|v| (min..=max).contains(&v));
                    assert_eq!(matches(&p, &text), read, "{text:?} against {min}..={max}: {p}");
                }
                assert_eq!(matches(&p, &n.to_string()), inside);
            }
            assert!(!matches(&p, ""), "{p}");
            assert!(!matches(&p, "1.0"), "{p}");
            assert!(!matches(&p, "+-1"), "{p}");
        }
    }
}
