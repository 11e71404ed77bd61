//! The Elastic Path wire pieces every `/v2/` handler shares: money as integer minor units
//! with `formatted` strings, timestamps, reading the `{"data": …}` body and its fields, cart
//! references, and the bounds on amounts.

use offerline_core::Currency;
use serde_json::{Map, Value, json};

use crate::http::ep_error::{EpError, EpResult};

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
pub fn money(minor: i64, currency: &str) -> Value {
    json!({ "amount": minor, "currency": currency.to_ascii_uppercase(), "formatted": formatted(minor, currency) })
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
pub fn data_object(body: &Map<String, Value>) -> EpResult<&Map<String, Value>> {
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

pub fn opt_bool(obj: &Map<String, Value>, key: &str) -> EpResult<Option<bool>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(EpError::bad_request(format!("{key} must be a boolean."))),
    }
}

pub fn opt_string(obj: &Map<String, Value>, key: &str, max: usize) -> EpResult<Option<String>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(EpError::bad_request(format!("{key} must be at most {max} characters."))),
        Some(_) => Err(EpError::bad_request(format!("{key} must be a string."))),
    }
}

pub fn req_string(obj: &Map<String, Value>, key: &str, max: usize) -> EpResult<String> {
    opt_string(obj, key, max)?.ok_or_else(|| EpError::bad_request(format!("{key} is required.")))
}

pub fn opt_int(obj: &Map<String, Value>, key: &str) -> EpResult<Option<i64>> {
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
