//! Contract §10 through the HTTP API on both engines: tiers (the 600.00 → 120.00, 300.00 →
//! 30.00, 99.00 → not applied examples, with which tier applied and what the next needs), a
//! multibuy on an amount condition ("spend 100, get the cheapest free"), a promotion's
//! `usage`, a tier lost by a return under `reprice`, and a gift with purchase from the basket to
//! the ledger.

use serde_json::{Value, json};

use crate::both;
use crate::checkout::{product, promotion};
use crate::helpers::{Db, Server};

both!(
    tiers_price_simulate_and_validate,
    cheapest_free_on_spend_and_usage_follows_orders,
    a_gift_joins_the_basket_and_the_ledger
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
    let q = product(&s, &staff, "TIER-2", "99.00").await;
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
    let _ = q;
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
