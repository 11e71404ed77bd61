//! The storage format of `promotions.definition`: an offer's condition and benefit as JSON
//! text, `{"condition": {...}, "benefit": {...}}`.
//!
//! The format is the one the column has always held, so rows written by any version read
//! the same: money as a decimal string with the currency's digits (`"500.00"`), a
//! percentage as a plain decimal string (`"12.5"`), counts as numbers, every key present
//! (`"value": null` where a kind takes none, `"max_affected_items": null` when uncapped),
//! and a range as only the keys that say something (`{"all": true}` for every product,
//! `{"all": false}` for an empty one). [`encode`] writes exactly that. [`decode`] also
//! reads what other writers left (a missing range is every product, a missing condition is
//! `none`, numbers where strings belong), because rows written straight to the table by
//! tools and tests exist.
//!
//! Errors are internal: what a client sent was validated (and worded) by the API before it
//! was typed, so a definition this module cannot read is a bug or a hand-edited row.

use std::collections::BTreeSet;

use offerline_core::{
    Benefit, BenefitKind, Condition, ConditionKind, Currency, Offer, Percent, ProductId, Range, RefundPolicy, Tier,
    parse_minor,
};
use serde_json::{Map, Value as Json, json};

/// The column's text for this condition and benefit, money in `currency`.
pub fn encode(condition: &Condition, benefit: &Benefit, currency: Currency) -> String {
    let counts = matches!(condition.kind, ConditionKind::Count(_));
    json!({ "condition": condition_json(condition, currency), "benefit": benefit_json(benefit, currency, counts) })
        .to_string()
}

/// The condition and benefit of a stored definition, money in `currency`.
pub fn decode(text: &str, currency: Currency) -> Result<(Condition, Benefit), String> {
    let def: Json = serde_json::from_str(text).map_err(|e| format!("definition is not JSON: {e}"))?;
    let condition = decode_condition(def.get("condition"), currency)?;
    let benefit = decode_benefit(def.get("benefit"), currency, matches!(condition.kind, ConditionKind::Count(_)))?;
    Ok((condition, benefit))
}

/// An order's copy of a `reprice` promotion as it was at checkout
/// (`discount_items.offer_snapshot`): what repricing needs of it (its condition, benefit,
/// priority, exclusivity and per-basket cap), in the definition's format. Limits on usage,
/// the window, codes and customer lists are left out: a refund reprices without them.
pub fn encode_snapshot(offer: &Offer) -> String {
    json!({
        "name": offer.name,
        "priority": offer.priority,
        "exclusive": offer.exclusive,
        "max_basket_applications": offer.max_basket_applications,
        "condition": condition_json(&offer.condition, offer.currency),
        "benefit": benefit_json(&offer.benefit, offer.currency, matches!(offer.condition.kind, ConditionKind::Count(_))),
    })
    .to_string()
}

/// The offer of an [`encode_snapshot`] text, with the promotion's id.
pub fn decode_snapshot(text: &str, id: i64, currency: Currency) -> Result<Offer, String> {
    let def: Json = serde_json::from_str(text).map_err(|e| format!("offer snapshot is not JSON: {e}"))?;
    let condition = decode_condition(def.get("condition"), currency)?;
    let benefit = decode_benefit(def.get("benefit"), currency, matches!(condition.kind, ConditionKind::Count(_)))?;
    let name = def.get("name").and_then(Json::as_str).unwrap_or_default();
    let mut offer = Offer::new(id, name, currency, condition, benefit);
    offer.priority = def.get("priority").and_then(Json::as_i64).and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
    offer.exclusive = def.get("exclusive").and_then(Json::as_bool).unwrap_or(true);
    offer.max_basket_applications =
        def.get("max_basket_applications").and_then(Json::as_u64).and_then(|n| u32::try_from(n).ok());
    offer.refund_policy = RefundPolicy::Reprice;
    Ok(offer)
}

/// A condition as the definition (and the promotions API) writes it.
pub fn condition_json(c: &Condition, currency: Currency) -> Json {
    let (ty, value) = match c.kind {
        ConditionKind::None => ("none", Json::Null),
        ConditionKind::Amount(m) => ("amount", Json::String(currency.format(m))),
        ConditionKind::Count(n) => ("count", json!(n)),
        ConditionKind::Coverage(n) => ("coverage", json!(n)),
    };
    json!({ "type": ty, "value": value, "range": range_json(&c.range) })
}

/// A tiered benefit's tiers: thresholds as unit counts (`count_thresholds`) or money.
fn tiers_json(b: &BenefitKind, currency: Currency, count_thresholds: bool) -> Option<Json> {
    let threshold = |t: i64| if count_thresholds { json!(t) } else { Json::String(currency.format(t)) };
    match b {
        BenefitKind::PercentageTiers(t) => Some(Json::Array(
            t.iter().map(|t| json!({"threshold": threshold(t.threshold), "value": t.value.to_string()})).collect(),
        )),
        BenefitKind::FixedTiers(t) => Some(Json::Array(
            t.iter().map(|t| json!({"threshold": threshold(t.threshold), "value": currency.format(t.value)})).collect(),
        )),
        _ => None,
    }
}

/// A benefit as the definition (and the promotions API) writes it; tier thresholds as unit
/// counts when `count_thresholds` (under a count condition), else as money.
pub fn benefit_json(b: &Benefit, currency: Currency, count_thresholds: bool) -> Json {
    if let BenefitKind::Gift { sku, quantity } = &b.kind {
        return json!({ "type": "gift", "value": null, "gift": {"sku": sku, "quantity": quantity},
                       "max_affected_items": b.max_affected_items, "range": range_json(&b.range) });
    }
    if let Some(tiers) = tiers_json(&b.kind, currency, count_thresholds) {
        let ty = if matches!(b.kind, BenefitKind::PercentageTiers(_)) { "percentage" } else { "fixed" };
        return json!({ "type": ty, "value": null, "tiers": tiers, "max_affected_items": b.max_affected_items,
                       "range": range_json(&b.range) });
    }
    let (ty, value) = match &b.kind {
        BenefitKind::Percentage(p) => ("percentage", Json::String(p.to_string())),
        BenefitKind::Fixed(m) => ("fixed", Json::String(currency.format(*m))),
        BenefitKind::FixedPerUnit(m) => ("fixed_per_unit", Json::String(currency.format(*m))),
        BenefitKind::FixedPrice(m) => ("fixed_price", Json::String(currency.format(*m))),
        BenefitKind::Multibuy => ("multibuy", Json::Null),
        BenefitKind::ShippingFree => ("shipping_free", Json::Null),
        BenefitKind::PercentageTiers(_) | BenefitKind::FixedTiers(_) | BenefitKind::Gift { .. } => {
            ("percentage", Json::Null)
        }
    };
    json!({ "type": ty, "value": value, "max_affected_items": b.max_affected_items, "range": range_json(&b.range) })
}

fn range_json(r: &Range) -> Json {
    let mut out = Map::new();
    if r.all {
        out.insert("all".into(), Json::Bool(true));
    }
    if !r.skus.is_empty() {
        out.insert("skus".into(), json!(r.skus));
    }
    if !r.products.is_empty() {
        out.insert("products".into(), json!(r.products.iter().map(|p| p.0).collect::<Vec<_>>()));
    }
    if !r.attributes.is_empty() {
        out.insert("attributes".into(), json!(r.attributes));
    }
    if !r.excluded_skus.is_empty() {
        out.insert("excluded_skus".into(), json!(r.excluded_skus));
    }
    if out.is_empty() {
        out.insert("all".into(), Json::Bool(false));
    }
    Json::Object(out)
}

fn text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.trim().to_owned()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn count(v: Option<&Json>, what: &str) -> Result<u32, String> {
    let n = match v {
        Some(Json::Number(n)) => n.as_u64(),
        Some(Json::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    n.and_then(|n| u32::try_from(n).ok()).ok_or_else(|| format!("{what} is not a count"))
}

fn money(v: Option<&Json>, currency: Currency, what: &str) -> Result<i64, String> {
    let t = v.and_then(text).ok_or_else(|| format!("{what} is not an amount"))?;
    parse_minor(&t, currency.minor_digits()).map_err(|e| format!("{what} {t:?}: {e}"))
}

fn kind<'a>(m: &'a Map<String, Json>, what: &str) -> Result<&'a str, String> {
    m.get("type").and_then(Json::as_str).ok_or_else(|| format!("{what} has no type"))
}

fn decode_condition(v: Option<&Json>, currency: Currency) -> Result<Condition, String> {
    let m = match v {
        None | Some(Json::Null) => return Ok(Condition::none()),
        Some(Json::Object(m)) => m,
        Some(_) => return Err("condition is not an object".into()),
    };
    let value = m.get("value");
    let kind = match kind(m, "condition")? {
        "none" => ConditionKind::None,
        "amount" => ConditionKind::Amount(money(value, currency, "condition value")?),
        "count" => ConditionKind::Count(count(value, "condition value")?),
        "coverage" => ConditionKind::Coverage(count(value, "condition value")?),
        other => return Err(format!("unknown condition type {other:?}")),
    };
    Ok(Condition { kind, range: decode_range(m.get("range"))? })
}

fn decode_benefit(v: Option<&Json>, currency: Currency, count_thresholds: bool) -> Result<Benefit, String> {
    let Some(Json::Object(m)) = v else { return Err("benefit is missing or not an object".into()) };
    let value = m.get("value");
    let tiers = match m.get("tiers") {
        None | Some(Json::Null) => None,
        Some(Json::Array(a)) => Some(a),
        Some(_) => return Err("benefit tiers is not a list".into()),
    };
    let threshold = |t: Option<&Json>| -> Result<i64, String> {
        if count_thresholds { count(t, "tier threshold").map(i64::from) } else { money(t, currency, "tier threshold") }
    };
    let kind = match (kind(m, "benefit")?, tiers) {
        ("percentage", Some(tiers)) => BenefitKind::PercentageTiers(
            tiers
                .iter()
                .map(|t| {
                    let v = t.get("value").and_then(text).ok_or("tier value is not a percentage")?;
                    let value = Percent::parse(&v).map_err(|e| format!("tier value {v:?}: {e}"))?;
                    Ok(Tier { threshold: threshold(t.get("threshold"))?, value })
                })
                .collect::<Result<_, String>>()?,
        ),
        ("fixed", Some(tiers)) => BenefitKind::FixedTiers(
            tiers
                .iter()
                .map(|t| {
                    Ok(Tier {
                        threshold: threshold(t.get("threshold"))?,
                        value: money(t.get("value"), currency, "tier value")?,
                    })
                })
                .collect::<Result<_, String>>()?,
        ),
        (other, Some(_)) => return Err(format!("a {other} benefit takes no tiers")),
        (ty, None) => match ty {
            "percentage" => {
                let t = value.and_then(text).ok_or("benefit value is not a percentage")?;
                BenefitKind::Percentage(Percent::parse(&t).map_err(|e| format!("benefit value {t:?}: {e}"))?)
            }
            "fixed" => BenefitKind::Fixed(money(value, currency, "benefit value")?),
            "fixed_per_unit" => BenefitKind::FixedPerUnit(money(value, currency, "benefit value")?),
            "fixed_price" => BenefitKind::FixedPrice(money(value, currency, "benefit value")?),
            "multibuy" => BenefitKind::Multibuy,
            "shipping_free" => BenefitKind::ShippingFree,
            "gift" => {
                let g = m.get("gift").ok_or("gift benefit without its gift")?;
                let sku = g.get("sku").and_then(Json::as_str).ok_or("gift without a sku")?.to_owned();
                BenefitKind::Gift { sku, quantity: count(g.get("quantity"), "gift quantity")? }
            }
            other => return Err(format!("unknown benefit type {other:?}")),
        },
    };
    let max_affected_items = match m.get("max_affected_items") {
        None | Some(Json::Null) => None,
        v => Some(count(v, "max_affected_items")?),
    };
    Ok(Benefit { kind, max_affected_items, range: decode_range(m.get("range"))? })
}

fn strings(v: &Json, what: &str) -> Result<BTreeSet<String>, String> {
    match v {
        Json::String(s) => Ok(BTreeSet::from([s.clone()])),
        Json::Array(a) => {
            a.iter().map(|s| s.as_str().map(str::to_owned).ok_or_else(|| format!("{what}: not a string"))).collect()
        }
        _ => Err(format!("{what}: not a list of strings")),
    }
}

fn decode_range(v: Option<&Json>) -> Result<Range, String> {
    let m = match v {
        None | Some(Json::Null) => return Ok(Range::all()),
        Some(Json::Object(m)) => m,
        Some(_) => return Err("range is not an object".into()),
    };
    let mut r = Range::default();
    for (k, v) in m {
        match k.as_str() {
            "all" => r.all = v.as_bool().ok_or("range all is not a boolean")?,
            "skus" => r.skus = strings(v, "range skus")?,
            "excluded_skus" => r.excluded_skus = strings(v, "range excluded_skus")?,
            "products" => {
                let a = v.as_array().ok_or("range products is not a list")?;
                r.products = a
                    .iter()
                    .map(|p| match p {
                        Json::Number(n) => n.as_i64(),
                        Json::String(s) => s.trim().parse().ok(),
                        _ => None,
                    })
                    .map(|p| p.map(ProductId).ok_or_else(|| "range products: not a pk".to_owned()))
                    .collect::<Result<_, _>>()?;
            }
            "attributes" => {
                let attrs = v.as_object().ok_or("range attributes is not an object")?;
                for (name, values) in attrs {
                    r.attributes.insert(name.clone(), strings(values, "range attribute values")?);
                }
            }
            other => return Err(format!("unknown range key {other:?}")),
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(s: &str) -> Currency {
        Currency::parse(s).unwrap()
    }

    /// Definitions as the promotions API has always stored them (its normalised output for
    /// every kind, range key and currency exponent): each reads back and is written again
    /// byte for byte.
    #[test]
    fn stored_definitions_round_trip_byte_for_byte() {
        let none = r#"{"type":"none","value":null,"range":{"all":true}}"#;
        let fixed = r#"{"type":"fixed","value":"10.00","max_affected_items":null,"range":{"all":true}}"#;
        let conditions = [
            ("try", none),
            ("try", r#"{"type":"none","value":null,"range":{"skus":["A","B"]}}"#),
            ("try", r#"{"type":"none","value":null,"range":{"all":false}}"#),
            ("try", r#"{"type":"none","value":null,"range":{"attributes":{"color":[]}}}"#),
            ("try", r#"{"type":"amount","value":"500.50","range":{"all":true}}"#),
            ("jpy", r#"{"type":"amount","value":"500","range":{"all":true}}"#),
            ("kwd", r#"{"type":"amount","value":"12.500","range":{"all":true}}"#),
            ("try", r#"{"type":"count","value":3,"range":{"all":true,"excluded_skus":["Z"]}}"#),
            ("try", r#"{"type":"coverage","value":2,"range":{"products":[1,2,3]}}"#),
            (
                "try",
                r#"{"type":"count","value":1,"range":{"all":true,"skus":["S"],"products":[7],"attributes":{"a":["x","y"],"b":["x"]},"excluded_skus":["E"]}}"#,
            ),
        ];
        for (c, condition) in conditions {
            let text =
                format!(r#"{{"condition":{condition},"benefit":{fixed}}}"#).replace("10.00", &cur(c).format(1000));
            let (cond, ben) = decode(&text, cur(c)).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(encode(&cond, &ben, cur(c)), text);
        }
        let benefits = [
            ("try", r#"{"type":"percentage","value":"50","max_affected_items":null,"range":{"all":true}}"#),
            ("try", r#"{"type":"percentage","value":"12.5","max_affected_items":null,"range":{"all":true}}"#),
            ("try", r#"{"type":"percentage","value":"0.0001","max_affected_items":1,"range":{"all":true}}"#),
            ("try", r#"{"type":"percentage","value":"100","max_affected_items":null,"range":{"all":true}}"#),
            ("try", r#"{"type":"fixed","value":"12.50","max_affected_items":null,"range":{"skus":["A","B"]}}"#),
            ("jpy", r#"{"type":"fixed","value":"10","max_affected_items":null,"range":{"all":true}}"#),
            ("kwd", r#"{"type":"fixed_per_unit","value":"1.000","max_affected_items":3,"range":{"all":true}}"#),
            ("try", r#"{"type":"fixed_price","value":"0.00","max_affected_items":2,"range":{"all":true}}"#),
            ("try", r#"{"type":"multibuy","value":null,"max_affected_items":null,"range":{"all":true}}"#),
            ("try", r#"{"type":"shipping_free","value":null,"max_affected_items":null,"range":{"all":false}}"#),
        ];
        for (c, benefit) in benefits {
            let text = format!(r#"{{"condition":{none},"benefit":{benefit}}}"#);
            let (cond, ben) = decode(&text, cur(c)).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(encode(&cond, &ben, cur(c)), text);
        }
    }

    /// What tools and tests write straight to the table: keys left out, numbers for strings.
    #[test]
    fn sparse_definitions_read_with_defaults() {
        let (c, b) = decode(
            r#"{"condition": {"type": "count", "value": 3}, "benefit": {"type": "multibuy", "value": null}}"#,
            cur("try"),
        )
        .unwrap();
        assert_eq!(c, Condition { kind: ConditionKind::Count(3), range: Range::all() });
        assert_eq!(b, Benefit { kind: BenefitKind::Multibuy, max_affected_items: None, range: Range::all() });
        let (c, b) = decode(r#"{"benefit": {"type": "percentage", "value": 10}}"#, cur("try")).unwrap();
        assert_eq!(c, Condition::none());
        assert_eq!(b.kind, BenefitKind::Percentage(Percent::parse("10").unwrap()));
        let (_, b) = decode(r#"{"benefit": {"type": "fixed", "value": 5}}"#, cur("try")).unwrap();
        assert_eq!(b.kind, BenefitKind::Fixed(500));
    }

    #[test]
    fn unreadable_definitions_are_errors() {
        for text in [
            "",
            "{}",
            r#"{"benefit": null}"#,
            r#"{"benefit": {"type": "gift"}}"#,
            r#"{"benefit": {"type": "fixed", "value": "ten"}}"#,
            r#"{"benefit": {"type": "fixed", "value": "1.005"}}"#,
            r#"{"condition": {"type": "count", "value": -1}, "benefit": {"type": "multibuy"}}"#,
            r#"{"condition": "none", "benefit": {"type": "multibuy"}}"#,
            r#"{"benefit": {"type": "multibuy", "range": {"colour": ["red"]}}}"#,
        ] {
            assert!(decode(text, cur("try")).is_err(), "{text}");
        }
    }
}
