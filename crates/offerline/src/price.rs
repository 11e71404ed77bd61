//! `offerline price`: prices one basket against a set of promotions in process — no server,
//! no database — and prints the simulate answer (`POST /api/v1/pricing/simulate/`'s shape,
//! rendered by the same code), or with `--repeat N` how long pricing the basket takes. It
//! exists so the engine can be compared with other engines on the same input.
//!
//! Inputs, both JSON files:
//! - promotions: a list of promotion bodies as `POST /api/v1/promotions/` takes them (or the
//!   bulk body `{"promotions": [...]}`), read and validated by the API's own reader. Each may
//!   carry `"id"` (else its position, from 1) and, for code offers, `"codes": ["SUMMER10"]`:
//!   the codes a basket may give for it (there is no voucher table here).
//! - basket: `{"currency"?: "try", "lines": [{"sku", "quantity", "unit_price", "product"?,
//!   "attributes"?: {name: value}}], "voucher_codes"?: [...], "customer"?: pk, "at"?: ISO-8601}`;
//!   every line gives its unit price (there is no catalogue here), and `"gifts": {sku: price}`
//!   the gift products there are. Every live offer that did
//!   not apply is explained, as simulate's `explain: "all"` does.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, anyhow, bail};
use offerline_app::simulate::Simulation;
use offerline_core::{
    Currency, CustomerId, GiftStock, Line, OfferId, OfferIndex, PricingInput, ProductId, Timestamp, VoucherCode,
    VoucherGrant, parse_minor, price,
};
use serde_json::{Value, json};

fn read(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// The offers of a promotions file, and the codes that grant each code offer.
fn offers(v: &Value) -> anyhow::Result<(OfferIndex, BTreeMap<String, OfferId>)> {
    let list = match v {
        Value::Array(a) => a,
        Value::Object(m) => m.get("promotions").and_then(Value::as_array).context("no \"promotions\" list")?,
        _ => bail!("promotions: expected a list of promotion bodies"),
    };
    let mut out = Vec::with_capacity(list.len());
    let mut codes = BTreeMap::new();
    for (i, body) in list.iter().enumerate() {
        let Value::Object(obj) = body else { bail!("promotion {i}: expected an object") };
        let input = offerline_api::omnitron::promotion_body::read_promotion(obj).finish().map_err(|e| match e {
            offerline_api::http::error::ApiError::Fields(m) => anyhow!("promotion {i}: {}", Value::Object(m)),
            other => anyhow!("promotion {i}: {other}"),
        })?;
        let id = obj.get("id").and_then(Value::as_i64).unwrap_or(i as i64 + 1);
        let offer = input.to_offer(id);
        let errors = offer.field_errors();
        if !errors.is_empty() {
            bail!("promotion {i}: {errors}");
        }
        for c in obj.get("codes").and_then(Value::as_array).into_iter().flatten() {
            let code = VoucherCode::parse(c.as_str().unwrap_or_default())
                .map_err(|e| anyhow!("promotion {i}: code {c}: {e}"))?;
            codes.insert(code.as_str().to_owned(), OfferId(id));
        }
        out.push(offer);
    }
    Ok((OfferIndex::build(out), codes))
}

/// The engine's input from a basket file.
fn basket(v: &Value, codes: &BTreeMap<String, OfferId>) -> anyhow::Result<PricingInput> {
    let currency = Currency::parse(v.get("currency").and_then(Value::as_str).unwrap_or("try"))?;
    let digits = currency.minor_digits();
    let lines = v.get("lines").and_then(Value::as_array).context("basket: a \"lines\" list is required")?;
    let mut out = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        let sku = l.get("sku").and_then(Value::as_str).with_context(|| format!("lines[{i}].sku is required"))?;
        let quantity = l.get("quantity").and_then(Value::as_u64).unwrap_or(1);
        let price = match l.get("unit_price") {
            Some(Value::String(s)) => parse_minor(s, digits).map_err(|e| anyhow!("lines[{i}].unit_price: {e}"))?,
            Some(Value::Number(n)) => {
                parse_minor(&n.to_string(), digits).map_err(|e| anyhow!("lines[{i}].unit_price: {e}"))?
            }
            _ => bail!("lines[{i}].unit_price is required (there is no catalogue here)"),
        };
        let mut line = Line::new(
            l.get("product").and_then(Value::as_i64).unwrap_or(i as i64 + 1),
            sku,
            u32::try_from(quantity)?,
            price,
        );
        for (k, a) in l.get("attributes").and_then(Value::as_object).into_iter().flatten() {
            line = line.with_attribute(k, a.as_str().unwrap_or_default());
        }
        out.push(line);
    }
    let at = match v.get("at").and_then(Value::as_str) {
        Some(s) => chrono::DateTime::parse_from_rfc3339(s).with_context(|| format!("at: {s:?}"))?.timestamp_micros(),
        None => chrono::Utc::now().timestamp_micros(),
    };
    let mut input = PricingInput::new(currency, Timestamp(at), out);
    input.customer = v.get("customer").and_then(Value::as_i64).map(CustomerId);
    input.explain_all = true;
    for c in v.get("voucher_codes").and_then(Value::as_array).into_iter().flatten() {
        let code = VoucherCode::parse(c.as_str().unwrap_or_default()).map_err(|e| anyhow!("voucher code {c}: {e}"))?;
        if let Some(&offer) = codes.get(code.as_str()) {
            input.vouchers.push(VoucherGrant { code, offer });
        }
    }
    // Gift stock: `"gifts": {"GIFT-1": "25.00"}` (there is no catalogue here).
    for (k, (sku, price)) in v.get("gifts").and_then(Value::as_object).into_iter().flatten().enumerate() {
        let text = match price {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let unit_price = parse_minor(&text, digits).map_err(|e| anyhow!("gifts.{sku}: {e}"))?;
        input.gifts.insert(sku.clone(), GiftStock { product: ProductId(1_000_000 + k as i64), unit_price });
    }
    input.validate().map_err(|e| anyhow!("basket: {e}"))?;
    Ok(input)
}

/// Prints the simulate answer, or with `repeat` the time per basket (the first pricing,
/// untimed, warms the caches).
pub fn run(promotions: &Path, basket_file: &Path, repeat: Option<u32>) -> anyhow::Result<()> {
    let (index, codes) = offers(&read(promotions)?)?;
    let input = basket(&read(basket_file)?, &codes)?;
    let pricing = price(&input, &index);
    match repeat {
        None => {
            let sim = Simulation { input, pricing, refused_codes: Vec::new() };
            let body = offerline_api::omnitron::simulate::answer_body(&sim)?;
            println!("{}", String::from_utf8_lossy(&body));
        }
        Some(n) => {
            let n = n.max(1);
            let start = Instant::now();
            let mut total = 0i64;
            for _ in 0..n {
                total = total
                    .wrapping_add(std::hint::black_box(price(std::hint::black_box(&input), &index)).total_discount);
            }
            let elapsed = start.elapsed();
            println!(
                "{}",
                json!({
                    "baskets": n,
                    "offers": index.len(),
                    "lines": input.lines.len(),
                    "total_discount": input.currency.format(pricing.total_discount),
                    "elapsed_ms": elapsed.as_secs_f64() * 1e3,
                    "per_basket_us": elapsed.as_secs_f64() * 1e6 / f64::from(n),
                    "checksum": total,
                })
            );
        }
    }
    Ok(())
}
