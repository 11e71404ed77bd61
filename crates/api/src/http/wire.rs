//! Small pieces every dialect uses to read requests and write responses: money and time
//! formatting, a JSON body extractor that answers malformed bodies in the dialect's format,
//! and typed readers for the fields of a JSON object that collect DRF-style field errors.
//!
//! A body with a wire type ([`Body`]) is deserialized into it, and its readers read the
//! type's fields by name ([`Fieldset`]): a reader can only read a field the type declares,
//! so the document (generated from the type) names every field the handler reads. The
//! fields keep the JSON value as sent (absent, `null` or a value: [`present`]), because the
//! readers, not serde, word the refusals: DRF's message per bad field, in the order and
//! shape clients and tests rely on.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use offerline_core::{Currency, Timestamp, format_minor};
use serde_json::{Map, Number, Value};

use super::error::{ApiError, FieldErrors, NUL_MESSAGE};

/// `"199.90"` for 19990 minor units of a two-digit currency.
pub fn money(minor: i64, currency: &str) -> String {
    let digits = Currency::parse(currency).map_or(2, |c| c.minor_digits());
    format_minor(minor, digits)
}

/// An amount in an answer: written as [`money`] writes it (`"199.90"`), straight into the
/// response body with no `String` of its own.
#[derive(Debug, Clone, Copy)]
pub struct Amount(pub offerline_core::Minor);

impl Amount {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Amount(currency.display(minor))
    }
}

impl serde::Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // One string, escaped in one call, rather than `collect_str`'s several writes.
        s.serialize_str(self.0.write_into(&mut [0; offerline_core::MINOR_TEXT]))
    }
}

impl utoipa::PartialSchema for Amount {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^-?[0-9]+(\.[0-9]+)?$"))
            .description(Some("An exact decimal amount in the answer's currency, as a string (\"199.90\")."))
            .examples(["199.90"])
            .into()
    }
}

impl utoipa::ToSchema for Amount {}

/// The refusal for a JSON number given for a decimal that cannot be read exactly.
pub const INEXACT_NUMBER: &str =
    "A number with more than 15 significant digits cannot be read exactly; send it as a string.";

/// The exact decimal text of a JSON number given for an amount with `digits` fraction
/// digits, or `None` when it cannot be known.
///
/// serde_json reads a non-integer number into an `f64` (with a fast parser that may miss
/// the nearest double), and its text is then the shortest form of that double, not what
/// the client wrote: `99999999999999.99` comes back as `100000000000000.0`. A decimal of at
/// most 15 digits in all (fraction digits counted at `digits`) survives that trip
/// unchanged, so such a text is what the client sent; a longer amount may not be, and is
/// refused rather than silently changed. Integers are held exactly and always answer.
pub fn number_text(n: &Number, digits: u32) -> Option<String> {
    let text = n.to_string();
    if !n.is_f64() {
        return Some(text);
    }
    let mantissa = text.split(['e', 'E']).next().unwrap_or("");
    let all: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = all.trim_start_matches('0').trim_end_matches('0');
    let bound = 10f64.powi(15 - digits.min(15) as i32);
    let short = n.as_f64().is_some_and(|f| f.abs() < bound);
    (significant.len() <= 15 && short).then_some(text)
}

/// `"2021-05-11T06:42:55.684412Z"`.
pub fn ts(micros: i64) -> String {
    Timestamp(micros).to_iso8601()
}

pub fn ts_opt(micros: Option<i64>) -> Value {
    micros.map_or(Value::Null, |m| Value::String(ts(m)))
}

/// Hundredths of a percent as `"18.00"`.
pub fn rate(hundredths: i64) -> String {
    format_minor(hundredths, 2)
}

/// Parses an ISO-8601 instant (`2026-01-01T00:00:00Z`, with offset or fraction) or a bare
/// date (`2026-01-01`, midnight UTC) into microseconds.
pub fn parse_instant(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp_micros());
    }
    if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(dt.and_utc().timestamp_micros());
    }
    if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f") {
        return Some(dt.and_utc().timestamp_micros());
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp_micros())
}

/// A JSON object body. An empty body reads as `{}` (clients send `Content-Type:
/// application/json` with no body); anything that is not a JSON object is a 400.
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        parse_object(&body_bytes(req, state).await?).map(JsonObject)
    }
}

/// The request's body, within the size limit.
async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge
        } else {
            ApiError::Detail(e.body_text())
        }
    })
}

/// A JSON object body read as its wire type `T` (see the module doc): parsed as
/// [`JsonObject`] parses it (the same refusals), then deserialized into `T`, whose fields
/// hold the values as sent, so any object is a `T`.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(req, state).await?;
        match straight(&bytes) {
            Some(t) => Ok(Body(t)),
            None => typed(parse_object(&bytes)?).map(Body),
        }
    }
}

/// `bytes` read straight into `T`, in one pass, when that is what [`parse_object`] then
/// [`typed`] give, which build the body as a `Map` and then walk it again. So only: a body
/// that is an object (a struct also reads from an array), and one with no `\u0000` in it (a
/// JSON string can hold a NUL only written so, and those bodies are refused). `None`
/// otherwise, and whenever the read fails (a duplicate key fails a struct but not a `Map`):
/// the two steps then decide, in their words.
fn straight<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace())?;
    if *first != b'{' || bytes.split(|&b| b == b'\\').skip(1).any(|after| after.starts_with(b"u0000")) {
        return None;
    }
    serde_json::from_slice(bytes).ok()
}

/// A JSON object as the wire type `T`. Every field of a wire type holds any JSON value, so
/// this fails only on a type that is not one (a 500, logged).
pub fn typed<T: serde::de::DeserializeOwned>(obj: Map<String, Value>) -> Result<T, ApiError> {
    serde_json::from_value(Value::Object(obj)).map_err(ApiError::internal)
}

/// The fields of a JSON object by name: a body as parsed (a `Map`), or its wire type
/// ([`fieldset!`](crate::fieldset)), whose readers then can only read the fields it declares.
pub trait Fieldset {
    /// The field's value as sent (`Some(Value::Null)` for `null`), or `None` when absent.
    fn get(&self, key: &str) -> Option<&Value>;
}

impl Fieldset for Map<String, Value> {
    fn get(&self, key: &str) -> Option<&Value> {
        Map::get(self, key)
    }
}

/// Implements [`Fieldset`] for a wire type whose fields are `Option<Value>`s read with
/// [`present`]: `fieldset!(Type { "name" => name, "type" => kind })`.
#[macro_export]
macro_rules! fieldset {
    ($t:ty { $($key:literal => $field:ident),* $(,)? }) => {
        impl $t {
            /// The fields, by their names on the wire.
            pub const FIELDS: &'static [&'static str] = &[$($key),*];
        }

        impl $crate::http::wire::Fieldset for $t {
            fn get(&self, key: &str) -> Option<&serde_json::Value> {
                match key {
                    $($key => self.$field.as_ref(),)*
                    // A reader asking for a field the type does not declare would read
                    // nothing, silently: the tests (debug builds) fail on it instead.
                    _ => {
                        debug_assert!(false, "{key} is not a field of {}", stringify!($t));
                        None
                    }
                }
            }
        }
    };
}

/// A wire type's field as sent: `Some(Value::Null)` for `null` (with `#[serde(default)]`, an
/// absent field is `None`). The readers tell the two apart ("may not be null" against
/// "required").
pub fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    <Value as serde::Deserialize>::deserialize(d).map(Some)
}

/// Parses a request body as a JSON object (empty → `{}`), with DRF's parse-error wording.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => {
            if let Some(key) = m.iter().find(|(k, v)| k.contains('\0') || contains_nul(v)).map(|(k, _)| k) {
                return Err(ApiError::field(&key.replace('\0', ""), NUL_MESSAGE));
            }
            Ok(m)
        }
        Ok(_) => Err(ApiError::BadRequest("Invalid data. Expected a dictionary.".into())),
        Err(e) => Err(ApiError::Detail(format!("JSON parse error - {e}"))),
    }
}

/// Whether any string (or object key) in `v` holds a NUL character. PostgreSQL cannot store
/// one in `text` (the insert or even a bound comparison fails), so bodies with one are
/// refused at the door, on both engines alike.
pub fn contains_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(contains_nul),
        Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || contains_nul(v)),
        _ => false,
    }
}

/// Typed field access over a JSON object (or a wire type's fields) that records a DRF-style
/// error per bad field.
pub struct Fields<'a> {
    pub obj: &'a (dyn Fieldset + Sync),
    pub errors: FieldErrors,
}

impl<'a> Fields<'a> {
    pub fn new(obj: &'a (dyn Fieldset + Sync)) -> Self {
        Fields { obj, errors: FieldErrors::default() }
    }

    pub fn has(&self, key: &str) -> bool {
        self.obj.get(key).is_some()
    }

    pub fn error(&mut self, key: &str, msg: impl Into<String>) {
        self.errors.add(key, msg);
    }

    /// A required non-blank string.
    pub fn req_str(&mut self, key: &str, max_len: usize) -> Option<String> {
        match self.obj.get(key) {
            None => {
                self.error(key, "This field is required.");
                None
            }
            Some(Value::Null) => {
                self.error(key, "This field may not be null.");
                None
            }
            Some(_) => {
                let v = self.opt_str(key, max_len)?;
                if v.trim().is_empty() {
                    self.error(key, "This field may not be blank.");
                    return None;
                }
                Some(v)
            }
        }
    }

    /// An optional string (absent or null → None).
    pub fn opt_str(&mut self, key: &str, max_len: usize) -> Option<String> {
        match self.obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                if s.chars().count() > max_len {
                    self.error(key, format!("Ensure this field has no more than {max_len} characters."));
                    None
                } else {
                    Some(s.clone())
                }
            }
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => {
                self.error(key, "Not a valid string.");
                None
            }
        }
    }

    /// An optional integer given as a number or a numeric string.
    pub fn opt_int(&mut self, key: &str) -> Option<i64> {
        match self.obj.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => match as_int(v) {
                Some(i) => Some(i),
                None => {
                    self.error(key, "A valid integer is required.");
                    None
                }
            },
        }
    }

    pub fn req_int(&mut self, key: &str) -> Option<i64> {
        if !self.has(key) || self.obj.get(key) == Some(&Value::Null) {
            self.error(key, "This field is required.");
            return None;
        }
        self.opt_int(key)
    }

    pub fn opt_bool(&mut self, key: &str) -> Option<bool> {
        match self.obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) if matches!(s.as_str(), "true" | "True" | "1") => Some(true),
            Some(Value::String(s)) if matches!(s.as_str(), "false" | "False" | "0") => Some(false),
            Some(_) => {
                self.error(key, "Must be a valid boolean.");
                None
            }
        }
    }

    /// An optional decimal amount (number or string) in minor units of `currency`.
    pub fn opt_money(&mut self, key: &str, currency: &str) -> Option<i64> {
        let digits = Currency::parse(currency).map_or(2, |c| c.minor_digits());
        match self.obj.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => {
                let s = match v {
                    Value::String(s) => s.trim().to_owned(),
                    Value::Number(n) => match number_text(n, digits) {
                        Some(t) => t,
                        None => {
                            self.error(key, INEXACT_NUMBER);
                            return None;
                        }
                    },
                    _ => String::new(),
                };
                match offerline_core::parse_minor(&s, digits) {
                    Ok(m) if m >= 0 => Some(m),
                    Ok(_) => {
                        self.error(key, "Ensure this value is greater than or equal to 0.");
                        None
                    }
                    Err(_) => {
                        self.error(key, "A valid number is required.");
                        None
                    }
                }
            }
        }
    }

    pub fn req_money(&mut self, key: &str, currency: &str) -> Option<i64> {
        if !self.has(key) || self.obj.get(key) == Some(&Value::Null) {
            self.error(key, "This field is required.");
            return None;
        }
        self.opt_money(key, currency)
    }

    /// An optional instant (ISO-8601 string).
    pub fn opt_instant(&mut self, key: &str) -> Option<Option<i64>> {
        match self.obj.get(key) {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) => match parse_instant(s) {
                Some(t) => Some(Some(t)),
                None => {
                    self.error(key, "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].");
                    None
                }
            },
            Some(_) => {
                self.error(key, "Datetime has wrong format.");
                None
            }
        }
    }

    pub fn finish(self) -> Result<(), ApiError> {
        self.errors.finish()
    }
}

/// The request's `Idempotency-Key` header, if any: 1 to 255 visible characters, else 400.
pub fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<String>, ApiError> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => match v.to_str().map(str::trim) {
            Ok(k) if !k.is_empty() && k.len() <= 255 => Ok(Some(k.to_owned())),
            _ => Err(ApiError::Detail("Idempotency-Key must be 1 to 255 visible characters.".into())),
        },
    }
}

/// An integer from a JSON number or numeric string.
pub fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Asserts that `T` reads any JSON object: with each kind of value in every one of its
/// `fields` (and a field it does not have), it deserializes and gives each value back as sent.
/// A wire type that could refuse an object would be read as empty, and its readers would
/// word the wrong refusal.
#[cfg(test)]
pub(crate) fn assert_reads_any_object<T: serde::de::DeserializeOwned + Fieldset>(fields: &[&str]) {
    use serde_json::json;
    let values = [json!(null), json!(true), json!(-7), json!(1.5), json!("x"), json!([1, {}]), json!({"a": [null]})];
    for v in values {
        let obj: Map<String, Value> = fields
            .iter()
            .map(|k| ((*k).to_owned(), v.clone()))
            .chain([("not_a_field".to_owned(), v.clone())])
            .collect();
        let t: T = serde_json::from_value(Value::Object(obj)).expect("any object is one");
        for k in fields {
            assert_eq!(t.get(k), Some(&v), "{k}");
        }
    }
    let empty: T = serde_json::from_value(Value::Object(Map::new())).expect("the empty object is one");
    for k in fields {
        assert_eq!(empty.get(k), None, "{k} absent");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(json: &str) -> Option<String> {
        match serde_json::from_str::<Value>(json).unwrap() {
            Value::Number(n) => number_text(&n, 2),
            _ => unreachable!(),
        }
    }

    #[test]
    fn numbers_are_read_exactly_or_not_at_all() {
        assert_eq!(text("199.9").as_deref(), Some("199.9"));
        assert_eq!(text("0.1").as_deref(), Some("0.1"));
        assert_eq!(text("1234567890123.45").as_deref(), Some("1234567890123.45"));
        assert_eq!(text("99999999999999999").as_deref(), Some("99999999999999999"));
        // More than 15 digits: the double's text is not necessarily the client's.
        assert_eq!(text("99999999999999.99"), None);
        assert_eq!(text("600000000000000.01"), None);
        assert_eq!(text("10000000000000.5"), None);
        assert_eq!(text("0.30000000000000004"), None);
    }

    #[test]
    fn an_inexact_money_number_is_a_field_error() {
        let body = parse_object(br#"{"a": 99999999999999.99, "b": 12.5, "c": "99999999999999.99"}"#).unwrap();
        let mut f = Fields::new(&body);
        assert_eq!(f.opt_money("a", "try"), None);
        assert_eq!(f.opt_money("b", "try"), Some(1250));
        assert_eq!(f.opt_money("c", "try"), Some(9_999_999_999_999_999));
        assert!(f.finish().is_err());
    }

    /// A wire type as the handlers have them: every field any JSON value, kept as sent.
    #[derive(Debug, serde::Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "present")]
        a: Option<Value>,
        #[serde(default, deserialize_with = "present")]
        b: Option<Value>,
    }

    /// Small JSON values whose strings are made of what the one-pass read looks at (NULs,
    /// backslashes, quotes, `u0`) far more often than the JSON writer's any-JSON strategy
    /// makes them.
    fn json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[a\x00\\\"u0]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(("[ab\x00]{1,2}", inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000),
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// The one-pass read takes a body only where the two steps take it too, with the same
        /// fields: bodies written as objects (keys repeated, NULs in keys and strings, nested
        /// values), as other JSON, with spaces around.
        #[test]
        fn a_body_read_in_one_pass_is_the_body_read_in_two(
            fields in proptest::collection::vec(("a|b|c|a\x00", json()), 0..4),
            other in json(),
            as_object in proptest::prelude::any::<bool>(),
            pad in " {0,2}",
        ) {
            let text = if as_object {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{}:{v}", Value::String(k.clone())))
                    .collect();
                format!("{pad}{{{}}}{pad}", parts.join(","))
            } else {
                format!("{pad}{other}")
            };
            let two_steps = parse_object(text.as_bytes()).and_then(typed::<Probe>);
            if let Some(one) = straight::<Probe>(text.as_bytes()) {
                let two = two_steps.expect("taken in one pass, so in two");
                proptest::prop_assert_eq!((&one.a, &one.b), (&two.a, &two.b), "{}", text);
            }
        }
    }

    #[test]
    fn the_one_pass_read_leaves_the_refusals_to_the_two_steps() {
        for text in [r#"{"a": 1, "a": 2}"#, r#"{"a": "x\u0000"}"#, r#"[1, 2]"#, "", r#"{"a": "#] {
            assert!(straight::<Probe>(text.as_bytes()).is_none(), "{text}");
        }
        assert!(straight::<Probe>(br#" {"a": [1], "b": null, "c": 2} "#).is_some_and(|p| p.b == Some(Value::Null)));
    }
}
