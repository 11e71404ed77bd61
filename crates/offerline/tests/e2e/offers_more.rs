//! Contract §10 through the HTTP API on both engines: tiers (the 600.00 → 120.00, 300.00 →
//! 30.00, 99.00 → not applied examples, with which tier applied and what the next needs), a
//! multibuy on an amount condition ("spend 100, get the cheapest free"), a promotion's
//! `usage`, a tier lost by a return under `reprice`, and a gift with purchase from the basket to
//! the ledger, and Elastic Path carts priced by offerline's promotions.

use serde_json::{Value, json};

use crate::both;
use crate::checkout::{product, promotion};
use crate::helpers::{Db, Server};

both!(
    tiers_price_simulate_and_validate,
    cheapest_free_on_spend_and_usage_follows_orders,
    a_gift_joins_the_basket_and_the_ledger,
    elastic_path_carts_priced_by_rule_promotions,
    bulk_promotions_and_explain_modes,
    offerline_price_answers_as_simulate_does,
);

async fn simulate(s: &Server, t: &str, lines: Value) -> Value {
    let (st, r) = s.post("/api/v1/pricing/simulate/", t, json!({"lines": lines})).await;
    assert_eq!(st, 200, "{r}");
    r
}

async fn tiers_price_simulate_and_validate(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    let p = product(&s, &staff, "TIER-1", "300.00").await;
    product(&s, &staff, "TIER-2", "99.00").await;
    let body = json!({"name": "Spend more, save more", "slug": "tiers", "offer_type": "site", "currency": "try",
        "start_datetime": "2020-01-01T00:00:00Z", "refund_policy": "reprice",
        "condition": {"type": "amount", "value": "100.00", "range": {"all": true}},
        "benefit": {"type": "percentage", "value": null, "range": {"all": true},
                    "tiers": [{"threshold": "100.00", "value": "10"}, {"threshold": "500.00", "value": "20"}]}});
    let id = promotion(&s, &staff, body.clone()).await;
    let (_, got) = s.get(&format!("/api/v1/promotions/{id}/"), &staff).await;
    assert_eq!(got["benefit"]["tiers"], body["benefit"]["tiers"], "{got}");

    let r = simulate(&s, &staff, json!([{"sku": "TIER-1", "quantity": 2}])).await;
    assert_eq!(r["total_discount"], "120.00", "600.00 → 120.00: {r}");
    assert_eq!(r["applied"][0]["detail"], "tier 2 of 2: 20 % from 500.00");
    let r = simulate(&s, &staff, json!([{"sku": "TIER-1", "quantity": 1}])).await;
    assert_eq!(r["total_discount"], "30.00", "300.00 → 30.00: {r}");
    assert_eq!(r["applied"][0]["detail"], "tier 1 of 2: 10 % from 100.00; add 200.00 more for 20 %");
    let r = simulate(&s, &staff, json!([{"sku": "TIER-2", "quantity": 1}])).await;
    assert_eq!(r["total_discount"], "0.00");
    let na = r["not_applied"].as_array().unwrap().iter().find(|n| n["promotion"] == id).unwrap();
    assert_eq!(na["reason"], "condition_not_met");
    assert_eq!(na["detail"], "add 1.00 more from the range");

    // Bad tiers: each a 400 on the field.
    let bad = |tiers: Value, condition: Value| {
        let mut b = body.clone();
        b["slug"] = json!("bad");
        b["benefit"]["tiers"] = tiers;
        b["condition"] = condition;
        b
    };
    let amount = json!({"type": "amount", "value": "100.00", "range": {"all": true}});
    for b in [
        bad(json!([{"threshold": "500.00", "value": "20"}, {"threshold": "100.00", "value": "10"}]), amount.clone()),
        bad(json!([{"threshold": "50.00", "value": "10"}]), amount.clone()),
        bad(json!([]), amount.clone()),
        bad(json!([{"threshold": "100.00"}]), amount.clone()),
        bad(json!([{"threshold": "100.00", "value": "10"}]), json!({"type": "none", "value": null})),
        bad(json!("10"), amount.clone()),
    ] {
        let (st, e) = s.post("/api/v1/promotions/", &staff, b.clone()).await;
        assert_eq!(st, 400, "{b}: {e}");
        assert!(e.to_string().contains("tiers") || e.to_string().contains("condition"), "{e}");
    }
    let mut both_given = body.clone();
    both_given["benefit"]["value"] = json!("10");
    let (st, _) = s.post("/api/v1/promotions/", &staff, both_given).await;
    assert_eq!(st, 400);

    // A tier lost by a return under reprice: 2 × 300.00 earned 20 % (120.00); returning one
    // leaves 300.00, which earns 10 % (30.00): the refund is 240.00 − (60.00 − 30.00) = 210.00.
    let (_, cust) = s.customer();
    s.post("/baskets/basket/", &cust, json!({"product": p, "quantity": 2})).await;
    let (st, o) = s.post("/orders/checkout/", &cust, json!({})).await;
    assert_eq!(st, 201, "{o}");
    assert_eq!(o["order"]["discount_amount"], "120.00");
    let pk = o["order"]["pk"].as_i64().unwrap();
    let unit = o["order"]["orderitem_set"][0]["pk"].as_i64().unwrap();
    let (st, c) =
        s.post(&format!("/api/v1/orders/{pk}/cancel/?dry_run=1"), &staff, json!({"order_items": [unit]})).await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["refund_amount"], "210.00", "{c}");
}

async fn cheapest_free_on_spend_and_usage_follows_orders(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    let a = product(&s, &staff, "SP-A", "80.00").await;
    let b = product(&s, &staff, "SP-B", "30.00").await;
    let id = promotion(
        &s,
        &staff,
        json!({"name": "Spend 100, cheapest free", "slug": "spend-100", "offer_type": "site", "currency": "try",
               "start_datetime": "2020-01-01T00:00:00Z",
               "condition": {"type": "amount", "value": "100.00", "range": {"all": true}},
               "benefit": {"type": "multibuy", "value": null, "range": {"all": true}}}),
    )
    .await;
    let (_, cust) = s.customer();
    s.post("/baskets/basket/", &cust, json!({"product": a, "quantity": 1})).await;
    s.post("/baskets/basket/", &cust, json!({"product": b, "quantity": 1})).await;
    let (_, basket) = s.get("/baskets/basket/", &cust).await;
    assert_eq!(basket["basket"]["total_discount_amount"], "30.00", "the 30.00 unit is free: {basket}");
    let (st, o) = s.post("/orders/checkout/", &cust, json!({})).await;
    assert_eq!(st, 201, "{o}");
    let items = o["order"]["orderitem_set"].as_array().unwrap();
    let free = items.iter().find(|i| i["price"] == "30.00").unwrap();
    assert_eq!(free["net_amount"], "0.00");

    // usage: one order, 30.00 given; after the free unit's order is cancelled in full,
    // everything is given back.
    let (_, p) = s.get(&format!("/api/v1/promotions/{id}/"), &staff).await;
    assert_eq!(
        p["usage"],
        json!({"applications": 1, "orders": 1, "discount": "30.00", "reversed": "0.00", "net": "30.00"}),
        "{p}"
    );
    let pk = o["order"]["pk"].as_i64().unwrap();
    let ids: Vec<Value> = items.iter().map(|i| i["pk"].clone()).collect();
    let (st, _) = s.post(&format!("/api/v1/orders/{pk}/cancel/"), &staff, json!({"order_items": ids})).await;
    assert_eq!(st, 200);
    let (_, list) = s.get("/api/v1/promotions/?slug=spend-100", &staff).await;
    assert_eq!(
        list["results"][0]["usage"],
        json!({"applications": 0, "orders": 0, "discount": "30.00", "reversed": "30.00", "net": "0.00"}),
        "{list}"
    );
}

async fn a_gift_joins_the_basket_and_the_ledger(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    let a = product(&s, &staff, "BUY-1", "100.00").await;
    let g = product(&s, &staff, "GIFT-1", "25.00").await;
    let body = json!({"name": "Free tote", "slug": "tote", "offer_type": "site", "currency": "try",
        "start_datetime": "2020-01-01T00:00:00Z",
        "condition": {"type": "amount", "value": "100.00", "range": {"products": [a]}},
        "benefit": {"type": "gift", "value": null, "gift": {"sku": "GIFT-1", "quantity": 1}}});
    let mut unknown = body.clone();
    unknown["benefit"]["gift"]["sku"] = json!("NOPE");
    unknown["slug"] = json!("nope");
    let (st, e) = s.post("/api/v1/promotions/", &staff, unknown).await;
    assert_eq!(st, 400, "{e}");
    assert!(e.to_string().contains("NOPE"), "{e}");
    let id = promotion(&s, &staff, body.clone()).await;
    let (_, got) = s.get(&format!("/api/v1/promotions/{id}/"), &staff).await;
    assert_eq!(got["benefit"]["gift"], json!({"sku": "GIFT-1", "quantity": 1}));

    let (_, cust) = s.customer();
    s.post("/baskets/basket/", &cust, json!({"product": a, "quantity": 1})).await;
    let (_, b) = s.get("/baskets/basket/", &cust).await;
    let items = b["basket"]["basketitem_set"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{b}");
    assert_eq!(items[1]["is_gift"], true);
    assert_eq!(items[1]["product"]["sku"], "GIFT-1");
    assert_eq!(items[1]["total_amount"], "0.00");
    assert_eq!(b["basket"]["total_amount"], "100.00");
    assert_eq!(b["basket"]["total_discount_amount"], "25.00");

    let r = crate::offers_more::simulate(&s, &staff, json!([{"sku": "BUY-1", "quantity": 1}])).await;
    assert_eq!(r["gifts"][0]["sku"], "GIFT-1", "{r}");
    assert_eq!(r["applied"][0]["benefit_units"], json!([{"line": 1, "unit": 0, "share": "25.00"}]));

    let (st, o) = s.post("/orders/checkout/", &cust, json!({})).await;
    assert_eq!(st, 201, "{o}");
    let order = &o["order"];
    assert_eq!(order["amount"], "100.00");
    let gift = order["orderitem_set"].as_array().unwrap().iter().find(|i| i["product"] == g).expect("a gift unit");
    assert_eq!(gift["net_amount"], "0.00");
    assert_eq!(gift["price"], "25.00");
    let d = &order["discountitem_set"][0];
    assert_eq!(d["amount"], "25.00");
    assert_eq!(d["benefitapplicant_set"], json!([{"order_item": gift["pk"], "discount_share": "25.00"}]));

    // Below the condition: no gift; the gift product gone from sale: gift_unavailable.
    let (_, other) = s.customer();
    s.post("/baskets/basket/", &other, json!({"product": g, "quantity": 1})).await;
    let (_, b) = s.get("/baskets/basket/", &other).await;
    assert_eq!(b["basket"]["basketitem_set"].as_array().unwrap().len(), 1);
    let (st, _) =
        s.send("PATCH", &format!("/api/v1/products/{g}/"), Some(&staff), Some(json!({"is_active": false}))).await;
    assert_eq!(st, 200);
    let r = crate::offers_more::simulate(&s, &staff, json!([{"sku": "BUY-1", "quantity": 1}])).await;
    let na = r["not_applied"].as_array().unwrap().iter().find(|n| n["promotion"] == id).unwrap();
    assert_eq!(na["reason"], "gift_unavailable", "{r}");
}

async fn elastic_path_carts_priced_by_rule_promotions(db: Db) {
    use crate::elasticpath::{ep, item, token};
    let s = Server::start(db).await;
    let staff = s.staff();
    promotion(
        &s,
        &staff,
        json!({"name": "10% off everything", "slug": "usd-ten", "offer_type": "site", "currency": "usd",
               "start_datetime": "2020-01-01T00:00:00Z", "exclusive": false,
               "condition": {"type": "none", "value": null},
               "benefit": {"type": "percentage", "value": "10", "range": {"all": true}}}),
    )
    .await;
    let summer = promotion(
        &s,
        &staff,
        json!({"name": "Summer 5 off", "slug": "summer", "offer_type": "voucher_code", "currency": "usd",
               "start_datetime": "2020-01-01T00:00:00Z", "exclusive": false,
               "condition": {"type": "none", "value": null},
               "benefit": {"type": "fixed", "value": "5.00", "range": {"skus": ["sku-b"]}}}),
    )
    .await;
    let (st, _) = s
        .post("/api/v1/vouchers/", &staff, json!({"code": "SUMMER10", "promotion": summer, "usage": "multi_use"}))
        .await;
    assert_eq!(st, 201);

    let tok = token(&s).await;
    let (st, c) = ep(
        &s,
        "POST",
        "/v2/carts",
        &tok,
        Some(json!({"data": {"name": "rules", "discount_settings": {"use_rule_promotions": true}}})),
    )
    .await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["data"]["discount_settings"]["use_rule_promotions"], true);
    let id = c["data"]["id"].as_str().unwrap().to_owned();
    ep(&s, "POST", &format!("/v2/carts/{id}/items"), &tok, Some(item("A", "sku-a", 2, 4000))).await;
    let (st, items) = ep(&s, "POST", &format!("/v2/carts/{id}/items"), &tok, Some(item("B", "sku-b", 1, 2000))).await;
    assert_eq!(st, 201, "{items}");
    assert_eq!(items["meta"]["display_price"]["discount"]["amount"], -1000, "10 % of 100.00: {items}");
    let a = items["data"].as_array().unwrap().iter().find(|i| i["sku"] == "sku-a").unwrap();
    assert_eq!(a["discounts"][0]["promotion_source"], "rule-promotion");
    assert_eq!(a["discounts"][0]["amount"], json!({"amount": -800, "currency": "USD", "includes_tax": true}));

    // A code: unknown → 422; SUMMER10 → 5.00 more on B; removed and added again.
    let promo = |code: &str| json!({"data": {"type": "promotion_item", "code": code}});
    let (st, e) = ep(&s, "POST", &format!("/v2/carts/{id}/items"), &tok, Some(promo("NOPE"))).await;
    assert_eq!(st, 422, "{e}");
    let (st, items) = ep(&s, "POST", &format!("/v2/carts/{id}/items"), &tok, Some(promo("summer10"))).await;
    assert_eq!(st, 201, "{items}");
    assert_eq!(items["meta"]["display_price"]["discount"]["amount"], -1500, "{items}");
    assert!(items["data"].as_array().unwrap().iter().any(|i| i["type"] == "promotion_item" && i["code"] == "SUMMER10"));
    let (st, items) = ep(&s, "DELETE", &format!("/v2/carts/{id}/discounts/SUMMER10"), &tok, None).await;
    assert_eq!(st, 200, "{items}");
    assert_eq!(items["meta"]["display_price"]["discount"]["amount"], -1000);
    ep(&s, "POST", &format!("/v2/carts/{id}/items"), &tok, Some(promo("SUMMER10"))).await;
    let (_, cart) = ep(&s, "GET", &format!("/v2/carts/{id}?include=items"), &tok, None).await;
    assert_eq!(cart["data"]["meta"]["display_price"]["with_tax"]["amount"], 8500, "{cart}");

    // Custom discounts are refused on it; checkout writes the promotions' discount items.
    let (st, _) = ep(
        &s,
        "POST",
        &format!("/v2/carts/{id}/custom-discounts"),
        &tok,
        Some(json!({"data": crate::elasticpath::disc(-100, "cart")})),
    )
    .await;
    assert_eq!(st, 422);
    let body = json!({"data": {"customer": {"name": "J", "email": "j@example.com"},
        "billing_address": {"first_name": "A", "last_name": "D", "line_1": "1", "postcode": "x", "country": "CA"}}});
    let (st, o) = ep(&s, "POST", &format!("/v2/carts/{id}/checkout"), &tok, Some(body)).await;
    assert_eq!(st, 201, "{o}");
    assert_eq!(o["data"]["meta"]["display_price"]["with_tax"]["amount"], 8500, "{o}");
    let number = o["data"]["id"].as_str().unwrap();
    let (_, list) = s.get(&format!("/api/v1/orders/?number={number}"), &staff).await;
    let pk = list["results"][0]["pk"].as_i64().unwrap();
    let (_, d) = s.get(&format!("/api/v1/discount_items/detailed_integration/?order={pk}"), &staff).await;
    assert_eq!(d["count"], 2, "{d}");
    let mut amounts: Vec<(String, String)> = d["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["amount"].as_str().unwrap().to_owned(), x["promotion"]["name"].as_str().unwrap_or("").to_owned()))
        .collect();
    amounts.sort();
    assert_eq!(
        amounts,
        [("10.00".to_owned(), "10% off everything".to_owned()), ("5.00".to_owned(), "Summer 5 off".to_owned())]
    );
    let (_, p) = s.get(&format!("/api/v1/promotions/{summer}/"), &staff).await;
    assert_eq!(p["usage"]["applications"], 1, "the code's use is counted: {p}");
    // Turning custom discounts on turns the cart's rule promotions off: never both.
    let (st, c) = ep(
        &s,
        "PUT",
        &format!("/v2/carts/{id}"),
        &tok,
        Some(json!({"data": {"discount_settings": {"custom_discounts_enabled": true}}})),
    )
    .await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["data"]["discount_settings"], json!({"custom_discounts_enabled": true, "use_rule_promotions": false}));
}

async fn bulk_promotions_and_explain_modes(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    product(&s, &staff, "BULK-1", "50.00").await;
    let body = |i: usize| {
        json!({"name": format!("Bulk {i}"), "slug": format!("bulk-{i}"), "offer_type": "site", "currency": "try",
               "start_datetime": "2020-01-01T00:00:00Z", "exclusive": false,
               "condition": {"type": "amount", "value": "100.00", "range": {"skus": [format!("SKU-{i}")]}},
               "benefit": {"type": "fixed", "value": "1.00", "range": {"skus": [format!("SKU-{i}")]}}})
    };
    // One bad body among good ones: nothing is written, each body gets its own errors.
    let mut bad: Vec<Value> = (0..3).map(body).collect();
    bad[1]["name"] = json!("");
    bad.push(json!("not an object"));
    let (st, e) = s.post("/api/v1/promotions/bulk/", &staff, json!({"promotions": bad})).await;
    assert_eq!(st, 400, "{e}");
    assert_eq!(e["promotions"][0], json!({}));
    assert!(e["promotions"][1]["name"].is_array(), "{e}");
    assert_eq!(e["promotions"][2], json!({}));
    assert!(e["promotions"][3]["non_field_errors"].is_array());
    let (_, list) = s.get("/api/v1/promotions/", &staff).await;
    assert_eq!(list["count"], 0, "all or nothing");
    for (b, what) in [
        (json!({"promotions": []}), "empty"),
        (json!({}), "missing"),
        (json!({"promotions": (0..1001).map(body).collect::<Vec<_>>()}), "too many"),
    ] {
        let (st, e) = s.post("/api/v1/promotions/bulk/", &staff, b).await;
        assert_eq!(st, 400, "{what}: {e}");
        assert!(e["promotions"].is_array(), "{what}: {e}");
    }
    // 300 good ones: created at once, and priced by the very next simulate.
    let mut good: Vec<Value> = (0..300).map(body).collect();
    good.push(json!({"name": "Everything 10%", "slug": "all-10", "offer_type": "site", "currency": "try",
        "start_datetime": "2020-01-01T00:00:00Z", "exclusive": false, "condition": {"type": "none", "value": null},
        "benefit": {"type": "percentage", "value": "10", "range": {"all": true}}}));
    let (st, r) = s.post("/api/v1/promotions/bulk/", &staff, json!({"promotions": good})).await;
    assert_eq!(st, 201, "{r}");
    assert_eq!(r["ids"].as_array().unwrap().len(), 301);
    let lines = json!([{"sku": "BULK-1", "quantity": 1}]);
    let all = simulate(&s, &staff, lines.clone()).await;
    assert_eq!(all["total_discount"], "5.00", "{all}");
    assert_eq!(all["not_applied"].as_array().unwrap().len(), 300, "every live offer explained by default");
    let (st, basket) = s.post("/api/v1/pricing/simulate/", &staff, json!({"lines": lines, "explain": "basket"})).await;
    assert_eq!(st, 200, "{basket}");
    assert_eq!(basket["not_applied"], json!([]), "no other offer touches the basket");
    assert_eq!(basket["applied"], all["applied"]);
    let (_, none) = s.post("/api/v1/pricing/simulate/", &staff, json!({"lines": lines, "explain": "none"})).await;
    assert_eq!(none["not_applied"], json!([]));
    let (st, e) = s.post("/api/v1/pricing/simulate/", &staff, json!({"lines": lines, "explain": "some"})).await;
    assert_eq!(st, 400, "{e}");
    assert!(e["explain"].is_array());
}

/// `offerline price` (no server, no database) prints what the HTTP simulate answers for the
/// same promotions and basket.
async fn offerline_price_answers_as_simulate_does(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    product(&s, &staff, "PA", "199.90").await;
    product(&s, &staff, "PB", "50.00").await;
    let promos = vec![
        json!({"name": "3 al 2", "slug": "three", "offer_type": "site", "currency": "try",
               "condition": {"type": "count", "value": 3, "range": {"skus": ["PA"]}},
               "benefit": {"type": "multibuy", "value": null, "range": {"skus": ["PA"]}}}),
        json!({"name": "Tiers", "slug": "tiers", "offer_type": "site", "currency": "try", "exclusive": false,
               "condition": {"type": "amount", "value": "100.00", "range": {"skus": ["PB"]}},
               "benefit": {"type": "percentage", "value": null, "range": {"skus": ["PB"]},
                           "tiers": [{"threshold": "100.00", "value": "10"}, {"threshold": "200.00", "value": "20"}]}}),
        json!({"name": "Not this basket", "slug": "other", "offer_type": "site", "currency": "try",
               "condition": {"type": "count", "value": 1, "range": {"skus": ["NONE"]}},
               "benefit": {"type": "fixed", "value": "1.00", "range": {"skus": ["NONE"]}}}),
    ];
    for p in &promos {
        promotion(&s, &staff, p.clone()).await;
    }
    let http = simulate(&s, &staff, json!([{"sku": "PA", "quantity": 3}, {"sku": "PB", "quantity": 5}])).await;
    let dir = std::env::temp_dir().join(format!("offerline-price-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (pf, bf) = (dir.join(format!("p-{db:?}.json")), dir.join(format!("b-{db:?}.json")));
    std::fs::write(&pf, Value::Array(promos).to_string()).unwrap();
    let basket = json!({"currency": "try", "lines": [
        {"sku": "PA", "quantity": 3, "unit_price": "199.90"}, {"sku": "PB", "quantity": 5, "unit_price": "50.00"}]});
    std::fs::write(&bf, basket.to_string()).unwrap();
    let out = s.cli(&["price", "--promotions", pf.to_str().unwrap(), "--basket", bf.to_str().unwrap()]);
    let cli: Value = serde_json::from_str(out.trim()).unwrap();
    for k in ["total_before_discount", "total_discount", "total", "lines", "applied", "not_applied"] {
        assert_eq!(cli[k], http[k], "{k}: {cli} vs {http}");
    }
    assert_eq!(cli["total_discount"], "249.90", "199.90 + 20 % of 250.00");
    let timed =
        s.cli(&["price", "--promotions", pf.to_str().unwrap(), "--basket", bf.to_str().unwrap(), "--repeat", "50"]);
    let timed: Value = serde_json::from_str(timed.trim()).unwrap();
    assert_eq!(timed["baskets"], 50);
    assert_eq!(timed["total_discount"], "249.90");
}
