//! Promotions, vouchers and the dry-run pricing endpoint: CRUD and validation of every
//! offer type, voucher codes (duplicates, bulk generation), and simulations checked by hand
//! (the seed's "3 al 2 Öde", a percentage, offers that do not apply and why, voucher codes).

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Db, Server};

both!(
    promotion_crud_every_offer_type,
    promotion_validation_errors,
    vouchers_and_duplicates,
    generate_vouchers_unique,
    simulate_three_for_two,
    simulate_percentage_by_hand,
    simulate_explains_not_applied,
    simulate_bad_input,
    simulate_voucher_codes,
    api_writes_reach_simulate_at_once,
    promotions_written_on_one_node_are_priced_on_another,
    store_reads_for_checkout_and_usage_limits,
);

/// Creates a product with a price in the default price list; returns its pk.
async fn product(s: &Server, t: &str, sku: &str, price: &str) -> i64 {
    let (st, p) = s.post("/api/v1/products/", t, json!({"name": format!("Product {sku}"), "sku": sku})).await;
    assert_eq!(st, 201, "{p}");
    let pk = p["pk"].as_i64().unwrap();
    let (st, body) = s.post("/api/v1/product_prices/", t, json!({"product": pk, "price": price})).await;
    assert_eq!(st, 201, "{body}");
    pk
}

async fn create(s: &Server, t: &str, body: Value) -> Value {
    let (st, p) = s.post("/api/v1/promotions/", t, body).await;
    assert_eq!(st, 201, "{p}");
    p
}

fn three_for_two() -> Value {
    json!({
        "name": "3 al 2 Öde", "slug": "3-al-2-ode", "label": "Special Offer", "offer_type": "site",
        "currency": "try", "start_datetime": "2020-01-01T00:00:00Z", "end_datetime": null,
        "priority": 0, "exclusive": true, "is_active": true,
        "condition": {"type": "count", "value": 3, "range": {"all": true}},
        "benefit": {"type": "multibuy", "value": null, "max_affected_items": null, "range": {"all": true}},
        "max_basket_applications": null, "max_user_applications": null, "max_global_applications": null,
        "max_discount": null, "customers": []
    })
}

/// Simulates `body`, and checks that the `/api/i1/` path (the Omnitron integration prefix)
/// answers the same.
async fn simulate(s: &Server, t: &str, body: Value) -> Value {
    let (st, r) = s.post("/api/v1/pricing/simulate/", t, body.clone()).await;
    assert_eq!(st, 200, "{r}");
    let (st, i1) = s.post("/api/i1/pricing/simulate/", t, body.clone()).await;
    assert_eq!(st, 200, "{i1}");
    // Some tests poll while another process's write reaches the cache: compare only when
    // nothing moved around the /api/i1/ call.
    let (_, again) = s.post("/api/v1/pricing/simulate/", t, body).await;
    if again == r {
        assert_eq!(i1, r, "the same dry run under /api/i1/");
    }
    r
}

fn shares(applied: &Value) -> Vec<String> {
    applied["benefit_units"].as_array().unwrap().iter().map(|u| u["share"].as_str().unwrap().to_owned()).collect()
}

async fn promotion_crud_every_offer_type(db: Db) {
    let s = Server::start(db).await;
    let t = s.staff();
    let (cust, _) = s.customer();

    let site = create(&s, &t, three_for_two()).await;
    assert_eq!(site["name"], "3 al 2 Öde");
    assert_eq!(site["offer_type"], "site");
    assert_eq!(site["condition"], json!({"type": "count", "value": 3, "range": {"all": true}}));
    assert_eq!(
        site["benefit"],
        json!({"type": "multibuy", "value": null, "max_affected_items": null, "range": {"all": true}})
    );
    assert_eq!(site["start_datetime"], "2020-01-01T00:00:00.000000Z");
    assert_eq!(site["end_datetime"], Value::Null);
    assert_eq!(site["exclusive"], true);
    assert!(site["id"].as_i64().unwrap() > 0);
    assert!(site["created_date"].as_str().unwrap().ends_with('Z'));
    assert!(site["modified_date"].as_str().unwrap().ends_with('Z'));

    let coupon = create(
        &s,
        &t,
        json!({"name": "Special Offer", "offer_type": "coupon", "currency": "TRY",
               "condition": {"type": "amount", "value": "500", "range": {"skus": ["A", "B"]}},
               "benefit": {"type": "fixed", "value": 50, "range": {"skus": ["A"], "excluded_skus": ["B"]}},
               "max_discount": "1000", "max_user_applications": 1, "customers": [cust]}),
    )
    .await;
    assert_eq!(coupon["slug"], "special-offer");
    assert_eq!(coupon["currency"], "try");
    assert_eq!(coupon["condition"]["value"], "500.00");
    assert_eq!(coupon["condition"]["range"], json!({"skus": ["A", "B"]}));
    assert_eq!(coupon["benefit"]["value"], "50.00");
    assert_eq!(coupon["benefit"]["range"], json!({"skus": ["A"], "excluded_skus": ["B"]}));
    assert_eq!(coupon["max_discount"], "1000.00");
    assert_eq!(coupon["max_user_applications"], 1);
    assert_eq!(coupon["customers"], json!([cust]));

    let coupon_code = create(
        &s,
        &t,
        json!({"name": "Half", "offer_type": "coupon_code", "customers": [cust],
               "condition": {"type": "coverage", "value": 2, "range": {"attributes": {"renk": ["STD"]}}},
               "benefit": {"type": "percentage", "value": "50.00", "max_affected_items": 2}}),
    )
    .await;
    assert_eq!(coupon_code["benefit"]["value"], "50");
    assert_eq!(coupon_code["benefit"]["max_affected_items"], 2);
    assert_eq!(coupon_code["benefit"]["range"], json!({"all": true}));
    assert_eq!(coupon_code["condition"]["range"], json!({"attributes": {"renk": ["STD"]}}));

    let voucher = create(
        &s,
        &t,
        json!({"name": "Free shipping", "offer_type": "voucher_code", "exclusive": false, "priority": 5,
               "benefit": {"type": "shipping_free"}}),
    )
    .await;
    assert_eq!(voucher["condition"], json!({"type": "none", "value": null, "range": {"all": true}}));
    assert_eq!(voucher["benefit"]["type"], "shipping_free");
    assert_eq!(voucher["priority"], 5);
    assert_eq!(voucher["exclusive"], false);

    for (ty, value) in [("fixed_per_unit", "5.5"), ("fixed_price", "100")] {
        let p = create(
            &s,
            &t,
            json!({"name": ty, "offer_type": "site", "condition": {"type": "count", "value": 2},
                   "benefit": {"type": ty, "value": value}}),
        )
        .await;
        assert_eq!(p["benefit"]["type"], ty);
        assert!(p["benefit"]["value"].as_str().unwrap().ends_with('0'), "{p}");
    }

    let (st, list) = s.get("/api/v1/promotions/", &t).await;
    assert_eq!(st, 200);
    assert_eq!(list["count"], 6);
    let (st, list) = s.get("/api/v1/promotions/?offer_type=coupon", &t).await;
    assert_eq!(st, 200);
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0]["id"], coupon["id"]);

    // PATCH: a top-level field and one key of the benefit; the rest stays.
    let id = coupon["id"].as_i64().unwrap();
    let (st, p) = s
        .send(
            "PATCH",
            &format!("/api/v1/promotions/{id}/"),
            Some(&t),
            Some(json!({"name": "Bigger", "benefit": {"value": "75"}})),
        )
        .await;
    assert_eq!(st, 200, "{p}");
    assert_eq!(p["name"], "Bigger");
    assert_eq!(p["benefit"]["value"], "75.00");
    assert_eq!(p["benefit"]["type"], "fixed");
    assert_eq!(p["benefit"]["range"], json!({"skus": ["A"], "excluded_skus": ["B"]}));
    assert_eq!(p["customers"], json!([cust]));
    assert_eq!(p["created_date"], coupon["created_date"]);
    // A refused PATCH changes nothing.
    let (st, bad) = s
        .send(
            "PATCH",
            &format!("/api/v1/promotions/{id}/"),
            Some(&t),
            Some(json!({"benefit": {"type": "percentage", "value": "150"}})),
        )
        .await;
    assert_eq!(st, 400);
    assert_eq!(bad, json!({"benefit": {"value": ["Ensure this value is less than or equal to 100."]}}));
    let (st, again) = s.get(&format!("/api/v1/promotions/{id}/"), &t).await;
    assert_eq!(st, 200);
    assert_eq!(again["benefit"]["value"], "75.00");
    assert_eq!(again["name"], "Bigger");

    // DELETE is soft for the ledger but gone for the API.
    let (st, _) = s.send("DELETE", &format!("/api/v1/promotions/{id}/"), Some(&t), None).await;
    assert_eq!(st, 204);
    let (st, body) = s.get(&format!("/api/v1/promotions/{id}/"), &t).await;
    assert_eq!(st, 404);
    assert_eq!(body["detail"], "Not found.");
    let (st, _) = s.send("DELETE", &format!("/api/v1/promotions/{id}/"), Some(&t), None).await;
    assert_eq!(st, 404);
    let (_, list) = s.get("/api/v1/promotions/", &t).await;
    assert_eq!(list["count"], 5);
    let (st, _) = s.get("/api/v1/promotions/abc/", &t).await;
    assert_eq!(st, 404);

    // Customers may not touch promotions.
    let (_, ctoken) = s.customer();
    let (st, _) = s.get("/api/v1/promotions/", &ctoken).await;
    assert_eq!(st, 403);
    let (st, _) = s.post("/api/v1/pricing/simulate/", &ctoken, json!({"lines": []})).await;
    assert_eq!(st, 403);
}

async fn promotion_validation_errors(db: Db) {
    let s = Server::start(db).await;
    let t = s.staff();
    let base = |condition: Value, benefit: Value| json!({"name": "X", "offer_type": "site", "condition": condition, "benefit": benefit});
    let cases: Vec<(Value, Value)> = vec![
        (
            base(json!({"type": "none"}), json!({"type": "percentage", "value": "150"})),
            json!({"benefit": {"value": ["Ensure this value is less than or equal to 100."]}}),
        ),
        (
            base(json!({"type": "none"}), json!({"type": "fixed", "value": "-5.00"})),
            json!({"benefit": {"value": ["Ensure this value is greater than 0."]}}),
        ),
        (
            base(json!({"type": "amount", "value": "-1"}), json!({"type": "fixed", "value": "5.00"})),
            json!({"condition": {"value": ["Ensure this value is greater than 0."]}}),
        ),
        (
            base(json!({"type": "none"}), json!({"type": "x", "value": "5"})),
            json!({"benefit": {"type": ["\"x\" is not a valid choice."]}}),
        ),
        (
            base(json!({"type": "bogus"}), json!({"type": "fixed", "value": "5"})),
            json!({"condition": {"type": ["\"bogus\" is not a valid choice."]}}),
        ),
        (
            base(json!({"type": "count", "value": 2, "range": "all"}), json!({"type": "fixed", "value": "5"})),
            json!({"condition": {"range": ["Expected a dictionary with one of all, skus, products, attributes."]}}),
        ),
        (
            base(json!({"type": "count", "value": 2, "range": {"skus": "A"}}), json!({"type": "fixed", "value": "5"})),
            json!({"condition": {"range": {"skus": ["Expected a list of skus (non-empty strings)."]}}}),
        ),
        (
            base(json!({"type": "none"}), json!({"type": "fixed", "value": "5", "range": {}})),
            json!({"benefit": {"range": ["The range matches no product."]}}),
        ),
        (
            base(json!({"type": "none"}), json!("fixed")),
            json!({"benefit": {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}}),
        ),
        (
            json!({"name": "X", "offer_type": "site", "benefit": {"type": "fixed", "value": "5"},
                   "start_datetime": "2026-02-01T00:00:00Z", "end_datetime": "2026-01-01T00:00:00Z"}),
            json!({"end_datetime": ["End must be after start."]}),
        ),
        (
            json!({"name": "X", "offer_type": "site", "currency": "xyz", "benefit": {"type": "fixed", "value": "5"}}),
            json!({"currency": ["\"xyz\" is not a valid choice."]}),
        ),
        (
            json!({"name": "X", "offer_type": "everyone", "benefit": {"type": "fixed", "value": "5"}}),
            json!({"offer_type": ["\"everyone\" is not a valid choice."]}),
        ),
        (
            json!({"name": "X", "offer_type": "coupon", "benefit": {"type": "fixed", "value": "5"}, "customers": [999999]}),
            json!({"customers": ["Invalid pk \"999999\" - object does not exist."]}),
        ),
        (
            json!({"name": "X", "offer_type": "site", "benefit": {"type": "fixed", "value": "5.123"}}),
            json!({"benefit": {"value": ["Ensure that there are no more than 2 decimal places."]}}),
        ),
        (
            json!({"offer_type": "site"}),
            json!({"name": ["This field is required."], "benefit": ["This field is required."]}),
        ),
        (
            base(json!({"type": "none"}), json!({"type": "multibuy"})),
            json!({"condition": {"type": [
                "A multibuy needs a count condition of at least 2, or an amount or coverage condition."
            ]}}),
        ),
    ];
    for (body, expected) in cases {
        let (st, got) = s.post("/api/v1/promotions/", &t, body.clone()).await;
        assert_eq!(st, 400, "{body} → {got}");
        assert_eq!(got, expected, "{body}");
    }
    // Several errors at once, each under its own key.
    let (st, got) = s
        .post(
            "/api/v1/promotions/",
            &t,
            json!({"name": "", "offer_type": "site", "condition": {"type": "count", "value": -1},
                   "benefit": {"type": "percentage", "value": "101"}}),
        )
        .await;
    assert_eq!(st, 400);
    assert_eq!(got["name"], json!(["This field may not be blank."]));
    assert_eq!(got["condition"]["value"], json!(["Ensure this value is greater than or equal to 0."]));
    assert_eq!(got["benefit"]["value"], json!(["Ensure this value is less than or equal to 100."]));
    // Nothing was written.
    let (_, list) = s.get("/api/v1/promotions/", &t).await;
    assert_eq!(list["count"], 0);
}

async fn vouchers_and_duplicates(db: Db) {
    let s = Server::start(db).await;
    let t = s.staff();
    let (cust, _) = s.customer();
    let promo = create(
        &s,
        &t,
        json!({"name": "Code", "offer_type": "voucher_code", "benefit": {"type": "percentage", "value": "10"}}),
    )
    .await;
    let pid = promo["id"].as_i64().unwrap();
    let (st, v) = s
        .post(
            "/api/v1/vouchers/",
            &t,
            json!({"code": " summer-10 ", "promotion": pid, "usage": "multi_use", "customers": [cust]}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["code"], "SUMMER-10");
    assert_eq!(v["promotion"], pid);
    assert_eq!(v["usage"], "multi_use");
    assert_eq!(v["uses"], 0);
    assert_eq!(v["customers"], json!([cust]));

    let (st, dup) =
        s.post("/api/v1/vouchers/", &t, json!({"code": "Summer-10", "promotion": pid, "usage": "single_use"})).await;
    assert_eq!(st, 400);
    assert_eq!(dup, json!({"code": ["voucher with this code already exists."]}));

    let (st, bad) =
        s.post("/api/v1/vouchers/", &t, json!({"code": "no spaces", "promotion": 999999, "usage": "sometimes"})).await;
    assert_eq!(st, 400);
    assert_eq!(bad["code"], json!(["Enter a valid code: letters, digits, \"-\" and \"_\" only."]));
    assert_eq!(bad["usage"], json!(["\"sometimes\" is not a valid choice."]));
    let (st, bad) =
        s.post("/api/v1/vouchers/", &t, json!({"code": "OK1", "promotion": 999999, "usage": "single_use"})).await;
    assert_eq!(st, 400);
    assert_eq!(bad, json!({"promotion": ["Invalid pk \"999999\" - object does not exist."]}));
    let site = create(&s, &t, three_for_two()).await;
    let (st, bad) =
        s.post("/api/v1/vouchers/", &t, json!({"code": "OK1", "promotion": site["id"], "usage": "single_use"})).await;
    assert_eq!(st, 400);
    assert!(bad["promotion"][0].as_str().unwrap().contains("site offer"), "{bad}");

    let (st, list) = s.get(&format!("/api/v1/vouchers/?promotion={pid}"), &t).await;
    assert_eq!(st, 200);
    assert_eq!(list["count"], 1);
    let (_, list) = s.get("/api/v1/vouchers/?code=summer-10", &t).await;
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0]["code"], "SUMMER-10");
    let (_, list) = s.get("/api/v1/vouchers/?code=OTHER", &t).await;
    assert_eq!(list["count"], 0);
}

async fn generate_vouchers_unique(db: Db) {
    let s = Server::start(db).await;
    let t = s.staff();
    let promo = create(
        &s,
        &t,
        json!({"name": "Bulk", "offer_type": "voucher_code", "benefit": {"type": "fixed", "value": "10"}}),
    )
    .await;
    let pid = promo["id"].as_i64().unwrap();
    let (st, body) = s
        .post(
            &format!("/api/v1/promotions/{pid}/generate_vouchers/"),
            &t,
            json!({"count": 500, "prefix": "bf-", "length": 6}),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    let codes: Vec<&str> = body["codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(codes.len(), 500);
    let distinct: HashSet<&str> = codes.iter().copied().collect();
    assert_eq!(distinct.len(), 500);
    for c in &codes {
        assert!(c.starts_with("BF-") && c.len() == 9, "{c}");
        assert!(c[3..].bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()), "{c}");
    }
    // A second batch never repeats a code of the first.
    let (st, body) = s
        .post(
            &format!("/api/v1/promotions/{pid}/generate_vouchers/"),
            &t,
            json!({"count": 100, "prefix": "BF-", "length": 6}),
        )
        .await;
    assert_eq!(st, 201);
    for c in body["codes"].as_array().unwrap() {
        assert!(!distinct.contains(c.as_str().unwrap()));
    }
    let (_, list) = s.get(&format!("/api/v1/vouchers/?promotion={pid}&limit=1"), &t).await;
    assert_eq!(list["count"], 600);
    assert_eq!(list["results"][0]["usage"], "single_use");

    for (body, key) in [
        (json!({"count": 0}), "count"),
        (json!({"count": 10001}), "count"),
        (json!({}), "count"),
        (json!({"count": 5, "length": 2}), "length"),
        (json!({"count": 5, "prefix": "a b"}), "prefix"),
    ] {
        let (st, err) = s.post(&format!("/api/v1/promotions/{pid}/generate_vouchers/"), &t, body.clone()).await;
        assert_eq!(st, 400, "{body}");
        assert!(err[key].is_array(), "{body} → {err}");
    }
    let (st, _) = s.post("/api/v1/promotions/999999/generate_vouchers/", &t, json!({"count": 1})).await;
    assert_eq!(st, 404);
    let (_, list) = s.get(&format!("/api/v1/vouchers/?promotion={pid}&limit=1"), &t).await;
    assert_eq!(list["count"], 600);
}

async fn simulate_three_for_two(db: Db) {
    let s = Server::start(db).await;
    let t = s.staff();
    product(&s, &t, "2672881093877", "199.90").await;
    let promo = create(&s, &t, three_for_two()).await;
    let r = simulate(&s, &t, json!({"lines": [{"sku": "2672881093877", "quantity": 3}], "at": "2026-06-01T00:00:00Z"}))
        .await;
    assert_eq!(r["currency"], "try");
    assert_eq!(r["total_before_discount"], "599.70");
    assert_eq!(r["total_discount"], "199.90");
    assert_eq!(r["total"], "399.80");
    assert_eq!(r["shipping_discount"], false);
    let applied = r["applied"].as_array().unwrap();
    assert_eq!(applied.len(), 1, "{r}");
    assert_eq!(applied[0]["promotion"], promo["id"]);
    assert_eq!(applied[0]["name"], "3 al 2 Öde");
    assert_eq!(applied[0]["amount"], "199.90");
    assert_eq!(applied[0]["code"], Value::Null);
    assert_eq!(shares(&applied[0]), ["66.63", "66.63", "66.64"]);
    let units: Vec<(i64, i64)> = applied[0]["benefit_units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["line"].as_i64().unwrap(), u["unit"].as_i64().unwrap()))
        .collect();
    assert_eq!(units, [(0, 0), (0, 1), (0, 2)]);
    assert_eq!(applied[0]["condition_units"], json!([]));
    let line = &r["lines"][0];
    assert_eq!(line["sku"], "2672881093877");
    assert_eq!(line["quantity"], 3);
    assert_eq!(line["unit_price"], "199.90");
    assert_eq!(line["discount"], "199.90");
    assert_eq!(line["net_amount"], "399.80");
    let unit_discounts: Vec<&str> =
        line["units"].as_array().unwrap().iter().map(|u| u["discount"].as_str().unwrap()).collect();
    assert_eq!(unit_discounts, ["66.63", "66.63", "66.64"]);
    assert_eq!(line["units"][2]["net_amount"], "133.26");
    assert_eq!(r["not_applied"], json!([]));

    // Two units do not make a deal: the engine says what is missing.
    let r = simulate(&s, &t, json!({"lines": [{"sku": "2672881093877", "quantity": 2}]})).await;
    assert_eq!(r["total_discount"], "0.00");
    assert_eq!(r["applied"], json!([]));
    assert_eq!(r["not_applied"][0]["reason"], "condition_not_met");
    assert_eq!(r["not_applied"][0]["detail"], "add 1 more item from the range");
}

async fn simulate_percentage_by_hand(db: Db) {
    let s = Server::start(db).await;
    let t = s.staff();
    product(&s, &t, "A", "10.00").await;
    product(&s, &t, "B", "50.00").await;
    let promo = create(
        &s,
        &t,
        json!({"name": "15% on A over 50", "offer_type": "site",
               "condition": {"type": "amount", "value": "50.00", "range": {"skus": ["A"]}},
               "benefit": {"type": "percentage", "value": "15", "range": {"skus": ["A"]}}}),
    )
    .await;
    // 3 × 33.33 = 99.99 in the range; 15 % = 14.9985 → 14.99 (down); spread over three
    // equal units: 4.99 each and the 2 leftover cents to the later units.
    let r = simulate(
        &s,
        &t,
        json!({"lines": [{"sku": "A", "quantity": 3, "unit_price": "33.33"}, {"sku": "B", "quantity": 1}],
               "currency": "try", "customer": null, "voucher_codes": []}),
    )
    .await;
    assert_eq!(r["total_before_discount"], "149.99");
    assert_eq!(r["total_discount"], "14.99");
    assert_eq!(r["total"], "135.00");
    assert_eq!(r["applied"][0]["promotion"], promo["id"]);
    assert_eq!(r["applied"][0]["amount"], "14.99");
    assert_eq!(shares(&r["applied"][0]), ["4.99", "5.00", "5.00"]);
    assert_eq!(r["lines"][0]["unit_price"], "33.33");
    assert_eq!(r["lines"][0]["net_amount"], "85.00");
    assert_eq!(r["lines"][1]["unit_price"], "50.00");
    assert_eq!(r["lines"][1]["discount"], "0.00");
    assert_eq!(r["lines"][1]["units"], json!([{"discount": "0.00", "net_amount": "50.00"}]));

    // Below the amount: 4 × 10.00 (the list price) = 40.00, 10.00 short.
    let r = simulate(&s, &t, json!({"lines": [{"sku": "A", "quantity": 4}]})).await;
    assert_eq!(r["applied"], json!([]));
    assert_eq!(
        r["not_applied"],
        json!([{"promotion": promo["id"], "name": "15% on A over 50", "reason": "condition_not_met",
                "detail": "add 10.00 more from the range"}])
    );
}

async fn simulate_explains_not_applied(db: Db) {
    let s = Server::start(db).await;
    let t = s.staff();
    let (cust, _) = s.customer();
    let (other, _) = s.customer();
    product(&s, &t, "A", "199.90").await;
    let big = create(
        &s,
        &t,
        json!({"name": "50 off 500", "offer_type": "site", "priority": 3,
               "condition": {"type": "amount", "value": "500.00"}, "benefit": {"type": "fixed", "value": "50.00"}}),
    )
    .await;
    let later = create(
        &s,
        &t,
        json!({"name": "Next year", "offer_type": "site", "priority": 2, "start_datetime": "2099-01-01T00:00:00Z",
               "benefit": {"type": "percentage", "value": "10"}}),
    )
    .await;
    let gone = create(
        &s,
        &t,
        json!({"name": "Last year", "offer_type": "site", "priority": 1, "end_datetime": "2020-01-01T00:00:00Z",
               "benefit": {"type": "percentage", "value": "10"}}),
    )
    .await;
    let coupon = create(
        &s,
        &t,
        json!({"name": "Only for one", "offer_type": "coupon", "customers": [other],
               "benefit": {"type": "fixed", "value": "5"}}),
    )
    .await;
    let r = simulate(
        &s,
        &t,
        json!({"lines": [{"sku": "A", "quantity": 1}], "customer": cust, "at": "2026-06-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(r["applied"], json!([]));
    let reasons: Vec<(Value, &str, &str)> = r["not_applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["promotion"].clone(), n["reason"].as_str().unwrap(), n["detail"].as_str().unwrap()))
        .collect();
    assert_eq!(
        reasons,
        [
            (big["id"].clone(), "condition_not_met", "add 300.10 more from the range"),
            (later["id"].clone(), "not_started", "starts 2099-01-01"),
            (gone["id"].clone(), "expired", "ended 2020-01-01"),
            (coupon["id"].clone(), "not_eligible_customer", "the offer is not assigned to this customer"),
        ]
    );
    // The listed customer gets the coupon; simulating wrote nothing (no usage recorded).
    let r = simulate(&s, &t, json!({"lines": [{"sku": "A", "quantity": 1}], "customer": other})).await;
    assert_eq!(r["applied"][0]["promotion"], coupon["id"]);
    assert_eq!(r["applied"][0]["amount"], "5.00");
    assert_eq!(r["total"], "194.90");
}

async fn simulate_bad_input(db: Db) {
    let s = Server::start(db).await;
    let t = s.staff();
    product(&s, &t, "A", "10.00").await;
    let (st, p) = s.post("/api/v1/products/", &t, json!({"name": "No price", "sku": "NOPRICE"})).await;
    assert_eq!(st, 201, "{p}");

    let (st, e) = s
        .post(
            "/api/v1/pricing/simulate/",
            &t,
            json!({"lines": [{"sku": "A", "quantity": 1}, {"sku": "MISSING", "quantity": 1}]}),
        )
        .await;
    assert_eq!(st, 400);
    assert_eq!(e, json!({"lines": [{}, {"sku": ["Object with sku=MISSING does not exist."]}]}));

    let (st, e) = s.post("/api/v1/pricing/simulate/", &t, json!({"lines": [{"sku": "NOPRICE", "quantity": 1}]})).await;
    assert_eq!(st, 400);
    assert!(e["lines"][0]["unit_price"][0].as_str().unwrap().contains("no price"), "{e}");
    // With a unit price it prices.
    let r = simulate(&s, &t, json!({"lines": [{"sku": "NOPRICE", "quantity": 2, "unit_price": "1.50"}]})).await;
    assert_eq!(r["total"], "3.00");

    let (st, e) = s.post("/api/v1/pricing/simulate/", &t, json!({})).await;
    assert_eq!(st, 400);
    assert_eq!(e, json!({"lines": ["This field is required."]}));
    let (st, e) = s
        .post(
            "/api/v1/pricing/simulate/",
            &t,
            json!({"lines": [{"sku": "A", "quantity": 0, "unit_price": "-1"}], "customer": 999999, "currency": "zzz"}),
        )
        .await;
    assert_eq!(st, 400);
    assert_eq!(e["currency"], json!(["\"zzz\" is not a valid choice."]));
    let (st, e) = s
        .post(
            "/api/v1/pricing/simulate/",
            &t,
            json!({"lines": [{"sku": "A", "quantity": 0, "unit_price": "-1"}], "customer": 999999}),
        )
        .await;
    assert_eq!(st, 400);
    assert_eq!(e["lines"][0]["quantity"], json!(["Ensure this value is greater than or equal to 1."]));
    assert_eq!(e["lines"][0]["unit_price"], json!(["Ensure this value is greater than or equal to 0."]));
    assert_eq!(e["customer"], json!(["Invalid pk \"999999\" - object does not exist."]));
}

async fn simulate_voucher_codes(db: Db) {
    let s = Server::start(db).await;
    let t = s.staff();
    let (cust, _) = s.customer();
    let (other, _) = s.customer();
    product(&s, &t, "A", "80.00").await;
    let promo = create(
        &s,
        &t,
        json!({"name": "20 percent", "offer_type": "voucher_code", "benefit": {"type": "percentage", "value": "20"}}),
    )
    .await;
    let pid = promo["id"].as_i64().unwrap();
    let (st, _) =
        s.post("/api/v1/vouchers/", &t, json!({"code": "SAVE20", "promotion": pid, "usage": "multi_use"})).await;
    assert_eq!(st, 201);
    let (st, _) = s
        .post(
            "/api/v1/vouchers/",
            &t,
            json!({"code": "MINE", "promotion": pid, "usage": "single_use", "customers": [cust]}),
        )
        .await;
    assert_eq!(st, 201);

    // Without a code the offer is silent.
    let r = simulate(&s, &t, json!({"lines": [{"sku": "A", "quantity": 2}]})).await;
    assert_eq!(r["applied"], json!([]));
    assert_eq!(r["not_applied"], json!([]));

    let r =
        simulate(&s, &t, json!({"lines": [{"sku": "A", "quantity": 2}], "voucher_codes": ["save20", "NOPE"]})).await;
    assert_eq!(r["applied"][0]["promotion"], pid);
    assert_eq!(r["applied"][0]["code"], "SAVE20");
    assert_eq!(r["applied"][0]["amount"], "32.00");
    assert_eq!(shares(&r["applied"][0]), ["16.00", "16.00"]);
    assert_eq!(r["total"], "128.00");
    assert_eq!(
        r["not_applied"],
        json!([{"promotion": null, "name": "", "reason": "voucher_invalid", "detail": "no voucher with code NOPE"}])
    );

    // A code assigned to another customer.
    let r =
        simulate(&s, &t, json!({"lines": [{"sku": "A", "quantity": 1}], "voucher_codes": ["mine"], "customer": other}))
            .await;
    assert_eq!(r["applied"], json!([]));
    assert_eq!(r["not_applied"][0]["promotion"], pid);
    assert_eq!(r["not_applied"][0]["name"], "20 percent");
    assert_eq!(r["not_applied"][0]["reason"], "voucher_invalid");
    assert_eq!(r["not_applied"][0]["detail"], "the code MINE is not assigned to this customer");
    // Its customer gets it.
    let r =
        simulate(&s, &t, json!({"lines": [{"sku": "A", "quantity": 1}], "voucher_codes": ["MINE"], "customer": cust}))
            .await;
    assert_eq!(r["applied"][0]["code"], "MINE");
    assert_eq!(r["total_discount"], "16.00");
    // A malformed code is explained, not refused.
    let r = simulate(&s, &t, json!({"lines": [{"sku": "A", "quantity": 1}], "voucher_codes": ["no way"]})).await;
    assert_eq!(r["not_applied"][0]["reason"], "voucher_invalid");
    assert_eq!(r["not_applied"][0]["promotion"], Value::Null);
}

async fn api_writes_reach_simulate_at_once(db: Db) {
    let s = Server::start(db).await;
    let t = s.staff();
    product(&s, &t, "A", "100.00").await;
    let body = json!({"lines": [{"sku": "A", "quantity": 1}]});
    assert_eq!(simulate(&s, &t, body.clone()).await["total"], "100.00");
    let p =
        create(&s, &t, json!({"name": "Ten off", "offer_type": "site", "benefit": {"type": "fixed", "value": "10"}}))
            .await;
    let id = p["id"].as_i64().unwrap();
    let r = simulate(&s, &t, body.clone()).await;
    assert_eq!(r["total"], "90.00");
    assert_eq!(r["applied"][0]["promotion"], id);
    let (st, _) = s
        .send("PATCH", &format!("/api/v1/promotions/{id}/"), Some(&t), Some(json!({"benefit": {"value": "25"}})))
        .await;
    assert_eq!(st, 200);
    assert_eq!(simulate(&s, &t, body.clone()).await["total"], "75.00");
    let (st, _) =
        s.send("PATCH", &format!("/api/v1/promotions/{id}/"), Some(&t), Some(json!({"is_active": false}))).await;
    assert_eq!(st, 200);
    assert_eq!(simulate(&s, &t, body.clone()).await["total"], "100.00");
    let (st, _) =
        s.send("PATCH", &format!("/api/v1/promotions/{id}/"), Some(&t), Some(json!({"is_active": true}))).await;
    assert_eq!(st, 200);
    assert_eq!(simulate(&s, &t, body.clone()).await["total"], "75.00");
    let (st, _) = s.send("DELETE", &format!("/api/v1/promotions/{id}/"), Some(&t), None).await;
    assert_eq!(st, 204);
    let r = simulate(&s, &t, body.clone()).await;
    assert_eq!(r["total"], "100.00");
    assert_eq!(r["not_applied"], json!([]));

    // A write by another process (straight to the database) reaches the cache through the
    // change watcher (PRAGMA data_version on SQLite, the change triggers' NOTIFY on
    // PostgreSQL) within a few seconds: a new promotion, a change to it, its deletion.
    let store = offerline_store::Store::connect(&s.database_url).await.unwrap();
    let input = offerline_store::promotions::PromotionInput {
        name: "Other process".into(),
        slug: "other".into(),
        label: String::new(),
        offer_type: offerline_core::OfferKind::Site,
        currency: offerline_core::Currency::parse("try").unwrap(),
        start_at: None,
        end_at: None,
        priority: 0,
        exclusive: true,
        is_active: true,
        condition: offerline_core::Condition::none(),
        benefit: offerline_core::Benefit {
            kind: offerline_core::BenefitKind::Fixed(100),
            max_affected_items: None,
            range: offerline_core::Range::all(),
        },
        max_basket_applications: None,
        max_user_applications: None,
        max_global_applications: None,
        max_discount: None,
        customers: vec![],
        refund_policy: offerline_core::RefundPolicy::KeepShares,
    };
    let other = store.create_promotion(&input).await.unwrap();
    until_total(&s, &t, &body, "99.00", "a promotion created by another process").await;
    let mut changed = input.clone();
    changed.benefit.kind = offerline_core::BenefitKind::Fixed(250);
    store.update_promotion(other.id, &changed).await.unwrap();
    until_total(&s, &t, &body, "97.50", "a promotion changed by another process").await;
    store.delete_promotion(other.id).await.unwrap();
    until_total(&s, &t, &body, "100.00", "a promotion deleted by another process").await;
    store.close().await;
}

/// Simulates `body` until its total is `total` (10 s at most).
async fn until_total(s: &Server, t: &str, body: &Value, total: &str, what: &str) {
    until_simulated(s, t, body, what, |r| r["total"] == total).await;
}

/// Simulates `body` until the answer satisfies `done` (10 s at most).
async fn until_simulated(s: &Server, t: &str, body: &Value, what: &str, done: impl Fn(&Value) -> bool) {
    let mut last = Value::Null;
    for _ in 0..200 {
        last = simulate(s, t, body.clone()).await;
        if done(&last) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{what} never reached the offer cache: {last}");
}

/// Two servers on one database: what one writes through the API, the other prices, within
/// the change watcher's bound plus one rebuild — creation, a PATCH, vouchers, a delete.
async fn promotions_written_on_one_node_are_priced_on_another(db: Db) {
    let a = Server::start(db).await;
    let b = Server::start_on(db, a.database_url.clone(), None, None);
    let t = a.staff();
    product(&a, &t, "A", "100.00").await;
    let body = json!({"lines": [{"sku": "A", "quantity": 1}]});
    assert_eq!(simulate(&b, &t, body.clone()).await["total"], "100.00");

    let p = create(
        &a,
        &t,
        json!({"name": "Node A", "offer_type": "site", "benefit": {"type": "percentage", "value": "10"}}),
    )
    .await;
    let id = p["id"].as_i64().unwrap();
    until_total(&b, &t, &body, "90.00", "a promotion created on the other node").await;
    let (st, _) = a
        .send("PATCH", &format!("/api/v1/promotions/{id}/"), Some(&t), Some(json!({"benefit": {"value": "25"}})))
        .await;
    assert_eq!(st, 200);
    until_total(&b, &t, &body, "75.00", "a PATCH on the other node").await;

    // A code offer and its voucher, both written on A, used on B.
    let code = create(
        &a,
        &t,
        json!({"name": "Code", "offer_type": "voucher_code", "exclusive": false, "priority": 5,
               "benefit": {"type": "fixed", "value": "5"}}),
    )
    .await;
    let (st, v) =
        a.post("/api/v1/vouchers/", &t, json!({"code": "NODE5", "promotion": code["id"], "usage": "multi_use"})).await;
    assert_eq!(st, 201, "{v}");
    let with_code = json!({"lines": [{"sku": "A", "quantity": 1}], "voucher_codes": ["node5"]});
    until_simulated(&b, &t, &with_code, "a code promotion and voucher created on the other node", |r| {
        r["applied"].as_array().is_some_and(|a| a.iter().any(|x| x["code"] == "NODE5"))
    })
    .await;

    let (st, _) = a.send("DELETE", &format!("/api/v1/promotions/{id}/"), Some(&t), None).await;
    assert_eq!(st, 204);
    until_total(&b, &t, &body, "100.00", "a delete on the other node").await;
    // Both answer the same promotion list.
    assert_eq!(a.get("/api/v1/promotions/", &t).await, b.get("/api/v1/promotions/", &t).await);
}

/// The store functions checkout and the account views build on, and simulate honouring
/// usage recorded by earlier orders (written straight to the tables here, as checkout does).
async fn store_reads_for_checkout_and_usage_limits(db: Db) {
    let s = Server::start(db).await;
    let t = s.staff();
    let (cust, _) = s.customer();
    let (other, _) = s.customer();
    product(&s, &t, "A", "100.00").await;
    let coupon = create(
        &s,
        &t,
        json!({"name": "Coupon", "offer_type": "coupon", "customers": [cust], "max_global_applications": 2,
               "benefit": {"type": "fixed", "value": "10"}}),
    )
    .await;
    let code_offer = create(
        &s,
        &t,
        json!({"name": "Code", "offer_type": "voucher_code", "exclusive": false,
               "benefit": {"type": "fixed", "value": "1"}}),
    )
    .await;
    let unrelated = create(
        &s,
        &t,
        json!({"name": "Site", "offer_type": "site", "is_active": false, "benefit": {"type": "fixed", "value": "1"}}),
    )
    .await;
    let (cid, vid_offer, uid) =
        (coupon["id"].as_i64().unwrap(), code_offer["id"].as_i64().unwrap(), unrelated["id"].as_i64().unwrap());
    let (st, v) = s
        .post(
            "/api/v1/vouchers/",
            &t,
            json!({"code": "ONCE", "promotion": vid_offer, "usage": "single_use", "customers": [cust]}),
        )
        .await;
    assert_eq!(st, 201);
    let voucher_id = v["id"].as_i64().unwrap();

    let store = offerline_store::Store::connect(&s.database_url).await.unwrap();
    let mine: Vec<i64> = store.offers_for_customer(cust).await.unwrap().iter().map(|p| p.id).collect();
    assert_eq!(mine, [cid, vid_offer]);
    assert!(store.offers_for_customer(other).await.unwrap().is_empty());

    let v = store.voucher_by_code("once").await.unwrap().expect("found in any case");
    assert_eq!(
        (v.id, v.code.as_str(), v.promotion_id, v.usage.as_str(), v.uses),
        (voucher_id, "ONCE", vid_offer, "single_use", 0)
    );
    assert_eq!(v.customers, [cust]);
    assert!(store.voucher_by_code("nope").await.unwrap().is_none());
    assert!(store.voucher_by_code("not a code").await.unwrap().is_none());
    assert!(!store.voucher_used_by(voucher_id, cust).await.unwrap());

    let offers = store.load_offers().await.unwrap();
    assert_eq!(offers.len(), 3);
    let c = offers.iter().find(|o| o.id.0 == cid).unwrap();
    assert_eq!(c.max_global_applications, Some(2));
    assert!(c.customers.contains(&offerline_core::CustomerId(cust)));
    assert!(!offers.iter().find(|o| o.id.0 == uid).unwrap().active);

    // Usage so far: the coupon has used both of its global applications; the voucher was
    // used once (by an order of this customer).
    sqlx::query(
        "INSERT INTO offer_usage (promotion_id, applications, discount_spent, orders_count) VALUES ($1, 2, 2000, 2)",
    )
    .bind(cid)
    .execute(store.writer())
    .await
    .unwrap();
    sqlx::query("INSERT INTO offer_customer_usage (promotion_id, user_id, applications) VALUES ($1, $2, 1)")
        .bind(cid)
        .bind(cust)
        .execute(store.writer())
        .await
        .unwrap();
    sqlx::query("UPDATE vouchers SET uses = 1 WHERE id = $1").bind(voucher_id).execute(store.writer()).await.unwrap();
    sqlx::query("INSERT INTO voucher_applications (voucher_id, user_id, order_id, created_at) VALUES ($1, $2, 1, 0)")
        .bind(voucher_id)
        .bind(cust)
        .execute(store.writer())
        .await
        .unwrap();
    let snap = store.usage_snapshot(Some(cust)).await.unwrap();
    let u = snap.get(offerline_core::OfferId(cid));
    assert_eq!((u.global_applications, u.customer_applications, u.discount_spent), (2, 1, 2000));
    let snap = store.usage_snapshot(None).await.unwrap();
    assert_eq!(snap.get(offerline_core::OfferId(cid)).customer_applications, 0);
    assert!(store.voucher_used_by(voucher_id, cust).await.unwrap());
    assert!(!store.voucher_used_by(voucher_id, other).await.unwrap());

    let r =
        simulate(&s, &t, json!({"lines": [{"sku": "A", "quantity": 1}], "customer": cust, "voucher_codes": ["ONCE"]}))
            .await;
    assert_eq!(r["applied"], json!([]));
    let got: Vec<(Value, &str, &str)> = r["not_applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["promotion"].clone(), n["reason"].as_str().unwrap(), n["detail"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            (json!(cid), "limit_reached", "limit reached: 2 of 2 uses"),
            (json!(vid_offer), "voucher_invalid", "the code ONCE has already been used"),
        ]
    );

    // Deleted: not loaded, its vouchers not found, still rendered for the ledger.
    let (st, _) = s.send("DELETE", &format!("/api/v1/promotions/{vid_offer}/"), Some(&t), None).await;
    assert_eq!(st, 204);
    assert!(store.voucher_by_code("ONCE").await.unwrap().is_none());
    assert_eq!(store.load_offers().await.unwrap().len(), 2);
    let rendered = store.promotions_by_ids(&[vid_offer, cid]).await.unwrap();
    assert_eq!(rendered.iter().map(|p| (p.id, p.deleted)).collect::<Vec<_>>(), [(vid_offer, true), (cid, false)]);
    assert_eq!(store.offers_for_customer(cust).await.unwrap().len(), 1);
    store.close().await;
}
