//! Order life (contract §8, DESIGN invariants 8–10) through the HTTP API on both engines:
//! the worked examples of §8 (`keep_shares` 133.27 / 66.63, `reprice` 0.00 / 199.90 and
//! 240.00 / 60.00), the customer → staff request flow, bad requests, the races (20
//! concurrent cancellations of one unit; cancellations against checkouts of a single-use
//! code), usage given back (a single-use code usable again, a budget available again), old
//! refunds unmoved by later promotion edits, Elastic Path statuses and per-unit tax.

use serde_json::{Value, json};

use crate::both;
use crate::checkout::{futures_join, product, promotion};
use crate::helpers::{Db, Server};

both!(
    worked_examples_of_section_8,
    a_request_waits_then_is_approved_or_rejected,
    bad_cancellations_are_refused_with_the_unit_named,
    concurrent_cancellations_of_one_unit_record_one_refund,
    usage_comes_back_with_a_cancellation,
    single_use_code_is_never_on_two_live_orders,
    statuses_come_from_cancellations_only,
    elastic_path_order_status_follows_the_ledger,
);

/// "3 al 2 Öde" on 3 × 199.90 with the given refund policy, ordered by a new customer:
/// (order pk, its item ids, the discount item id, the customer's token).
async fn three_for_two_order(s: &Server, staff: &str, policy: &str, sku: &str) -> (i64, Vec<i64>, i64, String) {
    let a = product(s, staff, sku, "199.90").await;
    promotion(
        s,
        staff,
        json!({"name": format!("3 al 2 Öde {sku}"), "slug": format!("3-al-2-{sku}"), "offer_type": "site",
               "currency": "try", "start_datetime": "2020-01-01T00:00:00Z", "refund_policy": policy,
               "condition": {"type": "count", "value": 3, "range": {"products": [a]}},
               "benefit": {"type": "multibuy", "value": null, "range": {"products": [a]}}}),
    )
    .await;
    let (_, cust) = s.customer();
    order_of(s, &cust, &[(a, 3)]).await
}

/// Checks out `lines` for the customer `cust`: (order pk, item ids, first discount id, cust).
async fn order_of(s: &Server, cust: &str, lines: &[(i64, u32)]) -> (i64, Vec<i64>, i64, String) {
    for &(p, q) in lines {
        let (st, b) = s.post("/baskets/basket/", cust, json!({"product": p, "quantity": q})).await;
        assert_eq!(st, 200, "{b}");
    }
    let (st, o) = s.post("/orders/checkout/", cust, json!({})).await;
    assert_eq!(st, 201, "{o}");
    let o = &o["order"];
    let items = o["orderitem_set"].as_array().unwrap().iter().map(|i| i["pk"].as_i64().unwrap()).collect();
    let discount = o["discountitem_set"][0]["pk"].as_i64().unwrap_or(0);
    (o["pk"].as_i64().unwrap(), items, discount, cust.to_owned())
}

fn item(order: &Value, pk: i64) -> &Value {
    order["orderitem_set"].as_array().unwrap().iter().find(|i| i["pk"] == pk).expect("item in order")
}

fn share_of(order: &Value, discount: i64, item: i64) -> String {
    let d = order["discountitem_set"].as_array().unwrap().iter().find(|d| d["pk"] == discount).unwrap();
    let b = d["benefitapplicant_set"].as_array().unwrap().iter().find(|b| b["order_item"] == item).unwrap();
    b["discount_share"].as_str().unwrap().to_owned()
}

async fn worked_examples_of_section_8(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();

    // keep_shares: cancelling one unit refunds its net (199.90 − its share) and reverses its share.
    let (pk, items, d, _) = three_for_two_order(&s, &staff, "keep_shares", "KS-1").await;
    let (_, before) = s.get(&format!("/api/v1/orders_integration/{pk}/detailed_integration/"), &staff).await;
    let unit = *items.iter().find(|&&i| share_of(&before, d, i) == "66.63").unwrap();
    // The preview writes nothing.
    let (st, preview) =
        s.post(&format!("/api/v1/orders/{pk}/cancel/?dry_run=1"), &staff, json!({"order_items": [unit]})).await;
    assert_eq!(st, 200, "{preview}");
    assert_eq!(preview["refund_amount"], "133.27", "{preview}");
    assert_eq!(preview["id"], Value::Null);
    assert_eq!(preview["items"][0]["discount_reversed"], json!([{"discount_item": d, "amount": "66.63"}]));
    let (_, same) = s.get(&format!("/api/v1/orders_integration/{pk}/detailed_integration/"), &staff).await;
    assert_eq!(same["cancellation_set"], json!([]));
    assert_eq!(item(&same, unit)["status"], "400");

    let (st, o) = s
        .post(&format!("/api/v1/orders/{pk}/cancel/"), &staff, json!({"order_items": [unit], "reason": "changed mind"}))
        .await;
    assert_eq!(st, 200, "{o}");
    let c = &o["cancellation_set"][0];
    assert_eq!(c["status"], "approved");
    assert_eq!(c["cancellation_type"], "cancel");
    assert_eq!(c["refund_amount"], "133.27");
    assert_eq!(c["items"][0]["order_item"], unit);
    assert_eq!(c["items"][0]["discount_reversed"], json!([{"discount_item": d, "amount": "66.63"}]));
    assert_eq!(o["refunded_amount"], "133.27");
    assert_eq!(o["discountitem_set"][0]["cancel_amount"], "66.63");
    assert_eq!(item(&o, unit)["status"], "100");
    assert_eq!(item(&o, unit)["cancel_status"], "completed");
    assert_eq!(o["status"], "400", "two units remain");
    // The shares placed at checkout never change.
    assert_eq!(o["discountitem_set"][0]["benefitapplicant_set"], before["discountitem_set"][0]["benefitapplicant_set"]);
    // The seed views show it too, and the discount item's modified_date moved.
    let (_, di) = s.get(&format!("/api/v1/discount_items/{d}/detailed_integration/"), &staff).await;
    assert_eq!(di["cancel_amount"], "66.63");
    assert!(di["modified_date"].as_str().unwrap() > before["discountitem_set"][0]["modified_date"].as_str().unwrap());

    // Cancelling the rest refunds exactly the order's amount in all.
    let rest: Vec<i64> = items.iter().copied().filter(|&i| i != unit).collect();
    let (st, o) = s.post(&format!("/api/v1/orders/{pk}/cancel/"), &staff, json!({"order_items": rest})).await;
    assert_eq!(st, 200, "{o}");
    assert_eq!(o["refunded_amount"], "399.80");
    assert_eq!(o["amount"], "399.80");
    assert_eq!(o["discountitem_set"][0]["cancel_amount"], "199.90");
    assert_eq!(o["status"], "100", "every unit cancelled: the order is");

    // reprice: the two kept units no longer make a deal: refund 0.00, the whole 199.90 reversed.
    let (pk, items, d, _) = three_for_two_order(&s, &staff, "reprice", "RP-1").await;
    let (st, o) = s.post(&format!("/api/v1/orders/{pk}/cancel/"), &staff, json!({"order_items": [items[0]]})).await;
    assert_eq!(st, 200, "{o}");
    let c = &o["cancellation_set"][0];
    assert_eq!(c["refund_amount"], "0.00", "{c}");
    assert_eq!(c["items"][0]["discount_reversed"], json!([{"discount_item": d, "amount": "199.90"}]));
    assert_eq!(o["discountitem_set"][0]["cancel_amount"], "199.90");

    // reprice: 10 % off from 500.00 on two units of 300.00; cancelling one refunds 240.00.
    let p = product(&s, &staff, "TEN-1", "300.00").await;
    let promo = promotion(
        &s,
        &staff,
        json!({"name": "10% from 500", "slug": "ten-from-500", "offer_type": "site", "currency": "try",
               "start_datetime": "2020-01-01T00:00:00Z", "refund_policy": "reprice",
               "condition": {"type": "amount", "value": "500.00", "range": {"products": [p]}},
               "benefit": {"type": "percentage", "value": "10", "range": {"products": [p]}}}),
    )
    .await;
    let (_, cust) = s.customer();
    let (pk, items, d, _) = order_of(&s, &cust, &[(p, 2)]).await;
    // A later edit of the promotion does not move this order's refund (invariant 10).
    let (st, e) =
        s.send("PATCH", &format!("/api/v1/promotions/{promo}/"), Some(&staff), Some(json!({"benefit": {"type": "percentage", "value": "50", "range": {"products": [p]}}, "refund_policy": "keep_shares"}))).await;
    assert_eq!(st, 200, "{e}");
    let (st, o) = s.post(&format!("/api/v1/orders/{pk}/cancel/"), &staff, json!({"order_items": [items[1]]})).await;
    assert_eq!(st, 200, "{o}");
    let c = &o["cancellation_set"][0];
    assert_eq!(c["refund_amount"], "240.00", "{c}");
    assert_eq!(c["items"][0]["discount_reversed"], json!([{"discount_item": d, "amount": "60.00"}]));
    // The kept unit's modified_date moved with the clawback (an ERP polling by date sees it).
    assert_eq!(item(&o, items[0])["modified_date"], item(&o, items[1])["modified_date"]);
    assert!(item(&o, items[0])["modified_date"].as_str() > item(&o, items[0])["created_date"].as_str());
}

async fn a_request_waits_then_is_approved_or_rejected(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    let (pk, items, d, cust) = three_for_two_order(&s, &staff, "keep_shares", "RQ-1").await;

    // The customer's own orders.
    let (st, mine) = s.get("/users/orders/", &cust).await;
    assert_eq!(st, 200, "{mine}");
    assert_eq!(mine["count"], 1);
    assert_eq!(mine["results"][0]["pk"], pk);
    assert_eq!(mine["results"][0]["discountitem_set"][0]["cancel_amount"], "0.00");
    let (st, _) = s.get(&format!("/users/orders/{pk}/"), &cust).await;
    assert_eq!(st, 200);
    let (_, other) = s.customer();
    let (st, _) = s.get(&format!("/users/orders/{pk}/"), &other).await;
    assert_eq!(st, 404, "another customer's order");
    let (st, _) = s
        .post(
            &format!("/orders/{pk}/cancel/"),
            &other,
            json!({"cancel_order_items": [{"order_item": items[0], "reason": "x"}]}),
        )
        .await;
    assert_eq!(st, 404, "another customer's order");

    // A request for one unit waits; the unit is 50.
    let (st, c) = s
        .post(
            &format!("/orders/{pk}/cancel/"),
            &cust,
            json!({"cancel_order_items": [{"order_item": items[0], "reason": "too big", "cancellation_type": "cancel"}]}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    assert_eq!(c["status"], "waiting");
    assert_eq!(c["reason"], "too big");
    let id = c["id"].as_i64().unwrap();
    let (_, o) = s.get(&format!("/users/orders/{pk}/"), &cust).await;
    assert_eq!(item(&o, items[0])["status"], "50");
    assert_eq!(item(&o, items[0])["cancel_status"], "waiting");
    assert_eq!(o["discountitem_set"][0]["cancel_amount"], "0.00", "nothing reversed while waiting");
    // Asking again for a waiting unit names it.
    let (st, e) = s
        .post(&format!("/orders/{pk}/cancel/"), &cust, json!({"cancel_order_items": [{"order_item": items[0]}]}))
        .await;
    assert_eq!(st, 400, "{e}");
    assert!(e.to_string().contains(&items[0].to_string()), "{e}");

    // The staff queue: filter, detail, approve (refund recorded), approve again → 400.
    let (st, q) = s.get(&format!("/api/v1/cancellation_requests/?status=waiting&order={pk}"), &staff).await;
    assert_eq!(st, 200, "{q}");
    assert_eq!(q["count"], 1);
    assert_eq!(q["results"][0]["id"], id);
    let (st, _) = s.get("/api/v1/cancellation_requests/", &cust).await;
    assert_eq!(st, 403, "customers do not see the queue");
    let (st, a) = s.post(&format!("/api/v1/cancellation_requests/{id}/approve/"), &staff, json!({})).await;
    assert_eq!(st, 200, "{a}");
    assert_eq!(a["status"], "approved");
    assert_eq!(a["refund_amount"], "133.27");
    assert_eq!(a["items"][0]["discount_reversed"][0]["discount_item"], d);
    let (st, e) = s.post(&format!("/api/v1/cancellation_requests/{id}/approve/"), &staff, json!({})).await;
    assert_eq!(st, 400, "{e}");
    let (st, e) = s.post(&format!("/api/v1/cancellation_requests/{id}/reject/"), &staff, json!({})).await;
    assert_eq!(st, 400, "rejecting an approved one: {e}");
    let (_, o) = s.get(&format!("/users/orders/{pk}/"), &cust).await;
    assert_eq!(item(&o, items[0])["status"], "100");
    assert_eq!(o["cancellation_set"][0]["status"], "approved");
    assert_eq!(o["discountitem_set"][0]["cancel_amount"], "66.63");

    // A second request is rejected: the unit goes back to where it was, nothing refunded.
    let (st, c) = s
        .post(
            &format!("/orders/{pk}/cancel/"),
            &cust,
            json!({"cancel_order_items": [{"order_item": items[1], "reason": "r"}]}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    let id2 = c["id"].as_i64().unwrap();
    let (st, r) = s.post(&format!("/api/v1/cancellation_requests/{id2}/reject/"), &staff, json!({})).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["status"], "rejected");
    let (_, o) = s.get(&format!("/users/orders/{pk}/"), &cust).await;
    assert_eq!(item(&o, items[1])["status"], "400");
    assert_eq!(item(&o, items[1])["cancel_status"], "rejected");
    assert_eq!(o["refunded_amount"], "133.27");
    let (st, _) = s.post("/api/v1/cancellation_requests/999999/approve/", &staff, json!({})).await;
    assert_eq!(st, 404);
    // Rejected, the unit can be asked for again.
    let (st, c) = s
        .post(&format!("/orders/{pk}/cancel/"), &cust, json!({"cancel_order_items": [{"order_item": items[1]}]}))
        .await;
    assert_eq!(st, 201, "{c}");
}

async fn bad_cancellations_are_refused_with_the_unit_named(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    let (pk, items, _, _) = three_for_two_order(&s, &staff, "keep_shares", "BAD-1").await;
    let (_, items2, _, _) = three_for_two_order(&s, &staff, "keep_shares", "BAD-2").await;
    let url = format!("/api/v1/orders/{pk}/cancel/");
    let cases = [
        (json!({"order_items": []}), "order_items"),
        (json!({}), "order_items"),
        (json!({"order_items": "1"}), "order_items"),
        (json!({"order_items": [999_999]}), "999999"),
        (json!({"order_items": [items2[0]]}), &*items2[0].to_string()),
        (json!({"order_items": [items[0], items[0]]}), &*items[0].to_string()),
        (json!({"order_items": [items[0]], "cancellation_type": "swap"}), "cancellation_type"),
        (json!({"order_items": [items[0]], "cancellation_type": "refund"}), &*items[0].to_string()),
        (json!({"order_items": (0..10_000).collect::<Vec<i64>>()}), "order_items"),
    ];
    for (body, named) in cases {
        let (st, e) = s.post(&url, &staff, body.clone()).await;
        assert_eq!(st, 400, "{body}: {e}");
        assert!(e.to_string().contains(named), "{body}: {e} should name {named}");
    }
    let (st, _) = s.post("/api/v1/orders/999999/cancel/", &staff, json!({"order_items": [1]})).await;
    assert_eq!(st, 404);
    // Nothing above wrote anything.
    let (_, o) = s.get(&format!("/api/v1/orders_integration/{pk}/detailed_integration/"), &staff).await;
    assert_eq!(o["cancellation_set"], json!([]));

    // Shipped: `cancel` is refused, `refund` is the way; refunded twice is refused.
    for &i in &items {
        let (st, e) =
            s.send("PATCH", &format!("/api/v1/order_item/{i}/"), Some(&staff), Some(json!({"status": "500"}))).await;
        assert_eq!(st, 200, "{e}");
    }
    let (st, e) = s.post(&url, &staff, json!({"order_items": [items[0]]})).await;
    assert_eq!(st, 400, "{e}");
    assert!(e.to_string().contains("shipped"), "{e}");
    let (st, o) = s.post(&url, &staff, json!({"order_items": [items[0]], "cancellation_type": "refund"})).await;
    assert_eq!(st, 200, "{o}");
    assert_eq!(item(&o, items[0])["status"], "600");
    let (st, e) = s.post(&url, &staff, json!({"order_items": [items[0]], "cancellation_type": "refund"})).await;
    assert_eq!(st, 400, "{e}");
    assert!(e.to_string().contains("refunded"), "{e}");

    // Idempotency-Key: the same key answers the same and cancels nothing twice.
    let key = [("Idempotency-Key", "cancel-once")];
    let send = |body: Value| {
        let mut r = s.http.post(s.url(&url)).header("Authorization", format!("Token {staff}")).json(&body);
        for (k, v) in key {
            r = r.header(k, v);
        }
        r.send()
    };
    let first = send(json!({"order_items": [items[1]], "cancellation_type": "refund"})).await.unwrap();
    assert_eq!(first.status(), 200);
    let again = send(json!({"order_items": [items[1]], "cancellation_type": "refund"})).await.unwrap();
    assert_eq!(again.status(), 200, "a replay, not a 400 for a refunded unit");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["cancellation_set"].as_array().unwrap().len(), 2);
}

async fn concurrent_cancellations_of_one_unit_record_one_refund(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    let (pk, items, _, _) = three_for_two_order(&s, &staff, "keep_shares", "RACE-1").await;
    let url = format!("/api/v1/orders/{pk}/cancel/");
    let answers =
        futures_join((0..20).map(|_| s.post(&url, &staff, json!({"order_items": [items[2]]}))).collect()).await;
    let ok = answers.iter().filter(|(st, _)| *st == 200).count();
    assert_eq!(ok, 1, "{answers:?}");
    assert!(answers.iter().all(|(st, _)| *st == 200 || *st == 400), "{answers:?}");
    let (_, o) = s.get(&format!("/api/v1/orders_integration/{pk}/detailed_integration/"), &staff).await;
    assert_eq!(o["cancellation_set"].as_array().unwrap().len(), 1);
    assert_eq!(o["refunded_amount"], "133.26");
    // Requests and staff cancellations of different units of one order, at once: Σ refunds
    // still equals the order's amount when all are done.
    let answers =
        futures_join(items[..2].iter().map(|&i| s.post(&url, &staff, json!({"order_items": [i]}))).collect()).await;
    assert!(answers.iter().all(|(st, _)| *st == 200), "{answers:?}");
    let (_, o) = s.get(&format!("/api/v1/orders_integration/{pk}/detailed_integration/"), &staff).await;
    assert_eq!(o["refunded_amount"], o["amount"]);
}

async fn usage_comes_back_with_a_cancellation(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    let p = product(&s, &staff, "BUD-1", "100.00").await;
    // A budget of 20.00 at 10.00 per order: two orders spend it.
    promotion(
        &s,
        &staff,
        json!({"name": "10 off", "slug": "ten-off", "offer_type": "site", "currency": "try",
               "start_datetime": "2020-01-01T00:00:00Z", "max_discount": "20.00",
               "condition": {"type": "none", "value": null},
               "benefit": {"type": "fixed", "value": "10.00", "range": {"products": [p]}}}),
    )
    .await;
    let mut orders = Vec::new();
    for _ in 0..2 {
        let (_, cust) = s.customer();
        orders.push(order_of(&s, &cust, &[(p, 1)]).await);
    }
    let (_, cust) = s.customer();
    s.post("/baskets/basket/", &cust, json!({"product": p, "quantity": 1})).await;
    let (_, b) = s.get("/baskets/basket/", &cust).await;
    assert_eq!(b["basket"]["total_discount_amount"], "0.00", "budget spent: {b}");
    // Refund one of them (shipped first): its 10.00 is available again.
    let (pk, items, _, _) = &orders[0];
    s.send("PATCH", &format!("/api/v1/order_item/{}/", items[0]), Some(&staff), Some(json!({"status": "550"}))).await;
    let (st, o) = s
        .post(
            &format!("/api/v1/orders/{pk}/cancel/"),
            &staff,
            json!({"order_items": items, "cancellation_type": "refund"}),
        )
        .await;
    assert_eq!(st, 200, "{o}");
    assert_eq!(o["refunded_amount"], "90.00");
    assert_eq!(o["status"], "600", "every unit refunded");
    let (_, b) = s.get("/baskets/basket/", &cust).await;
    assert_eq!(b["basket"]["total_discount_amount"], "10.00", "budget given back: {b}");
    let (st, o) = s.post("/orders/checkout/", &cust, json!({})).await;
    assert_eq!(st, 201, "{o}");
    assert_eq!(o["order"]["discount_amount"], "10.00");

    // A single-use code of an order cancelled in full is usable again.
    let coded = promotion(
        &s,
        &staff,
        json!({"name": "code 5", "slug": "code-5", "offer_type": "voucher_code", "currency": "try",
               "start_datetime": "2020-01-01T00:00:00Z",
               "condition": {"type": "none", "value": null},
               "benefit": {"type": "fixed", "value": "5.00", "range": {"products": [p]}}}),
    )
    .await;
    let (st, v) =
        s.post("/api/v1/vouchers/", &staff, json!({"code": "ONCE5", "promotion": coded, "usage": "single_use"})).await;
    assert_eq!(st, 201, "{v}");
    let (_, c1) = s.customer();
    s.post("/baskets/basket/", &c1, json!({"product": p, "quantity": 1})).await;
    let (st, b) = s.send("PATCH", "/baskets/basket/", Some(&c1), Some(json!({"voucher_code": "ONCE5"}))).await;
    assert_eq!(st, 200, "{b}");
    let (st, o) = s.post("/orders/checkout/", &c1, json!({})).await;
    assert_eq!(st, 201, "{o}");
    let pk = o["order"]["pk"].as_i64().unwrap();
    let units: Vec<i64> =
        o["order"]["orderitem_set"].as_array().unwrap().iter().map(|i| i["pk"].as_i64().unwrap()).collect();
    let (_, c2) = s.customer();
    s.post("/baskets/basket/", &c2, json!({"product": p, "quantity": 1})).await;
    let (st, _) = s.send("PATCH", "/baskets/basket/", Some(&c2), Some(json!({"voucher_code": "ONCE5"}))).await;
    assert_eq!(st, 400, "used");
    let (st, _) = s.post(&format!("/api/v1/orders/{pk}/cancel/"), &staff, json!({"order_items": units})).await;
    assert_eq!(st, 200);
    let (st, b) = s.send("PATCH", "/baskets/basket/", Some(&c2), Some(json!({"voucher_code": "ONCE5"}))).await;
    assert_eq!(st, 200, "usable again: {b}");
    let (st, o) = s.post("/orders/checkout/", &c2, json!({})).await;
    assert_eq!(st, 201, "{o}");

    // A free-shipping code's discount item has amount 0 and no share: its use comes back
    // when the order is cancelled in full.
    let ship = promotion(
        &s,
        &staff,
        json!({"name": "Free shipping", "slug": "ship", "offer_type": "voucher_code", "currency": "try",
               "start_datetime": "2020-01-01T00:00:00Z", "exclusive": false,
               "condition": {"type": "none", "value": null},
               "benefit": {"type": "shipping_free", "value": null, "range": {"all": true}}}),
    )
    .await;
    s.post("/api/v1/vouchers/", &staff, json!({"code": "SHIPONCE", "promotion": ship, "usage": "single_use"})).await;
    let (_, c3) = s.customer();
    s.post("/baskets/basket/", &c3, json!({"product": p, "quantity": 1})).await;
    let (st, b) = s.send("PATCH", "/baskets/basket/", Some(&c3), Some(json!({"voucher_code": "SHIPONCE"}))).await;
    assert_eq!(st, 200, "{b}");
    let (st, o) = s.post("/orders/checkout/", &c3, json!({})).await;
    assert_eq!(st, 201, "{o}");
    let pk = o["order"]["pk"].as_i64().unwrap();
    let units: Vec<i64> =
        o["order"]["orderitem_set"].as_array().unwrap().iter().map(|i| i["pk"].as_i64().unwrap()).collect();
    let (st, _) = s.post(&format!("/api/v1/orders/{pk}/cancel/"), &staff, json!({"order_items": units})).await;
    assert_eq!(st, 200);
    let (_, c4) = s.customer();
    s.post("/baskets/basket/", &c4, json!({"product": p, "quantity": 1})).await;
    let (st, b) = s.send("PATCH", "/baskets/basket/", Some(&c4), Some(json!({"voucher_code": "SHIPONCE"}))).await;
    assert_eq!(st, 200, "the free-shipping code is usable again: {b}");
}

async fn single_use_code_is_never_on_two_live_orders(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    let p = product(&s, &staff, "SU-1", "50.00").await;
    let coded = promotion(
        &s,
        &staff,
        json!({"name": "code 1", "slug": "code-1", "offer_type": "voucher_code", "currency": "try",
               "start_datetime": "2020-01-01T00:00:00Z",
               "condition": {"type": "none", "value": null},
               "benefit": {"type": "fixed", "value": "1.00", "range": {"products": [p]}}}),
    )
    .await;
    s.post("/api/v1/vouchers/", &staff, json!({"code": "SOLO", "promotion": coded, "usage": "single_use"})).await;
    // Rounds: one order holds the code; then its full cancellation races a dozen checkouts
    // that carry the code (each applied while the code was free or not: some are refused).
    let mut holder = {
        let (_, c) = s.customer();
        s.post("/baskets/basket/", &c, json!({"product": p, "quantity": 1})).await;
        s.send("PATCH", "/baskets/basket/", Some(&c), Some(json!({"voucher_code": "SOLO"}))).await;
        let (st, o) = s.post("/orders/checkout/", &c, json!({})).await;
        assert_eq!(st, 201, "{o}");
        o["order"].clone()
    };
    for _ in 0..3 {
        let mut custs = Vec::new();
        for _ in 0..12 {
            let (_, c) = s.customer();
            s.post("/baskets/basket/", &c, json!({"product": p, "quantity": 1})).await;
            custs.push(c);
        }
        let pk = holder["pk"].as_i64().unwrap();
        let units: Vec<i64> =
            holder["orderitem_set"].as_array().unwrap().iter().map(|i| i["pk"].as_i64().unwrap()).collect();
        let cancel_url = format!("/api/v1/orders/{pk}/cancel/");
        let cancel = s.post(&cancel_url, &staff, json!({"order_items": units}));
        let s = &s;
        let checkouts = futures_join(
            custs
                .iter()
                .map(|c| async move {
                    let (st, _) =
                        s.send("PATCH", "/baskets/basket/", Some(c), Some(json!({"voucher_code": "SOLO"}))).await;
                    if st != 200 {
                        return None;
                    }
                    let (st, o) = s.post("/orders/checkout/", c, json!({})).await;
                    (st == 201 && o["order"]["discount_amount"] == "1.00").then(|| o["order"].clone())
                })
                .collect(),
        );
        let ((st, _), won) = tokio::join!(cancel, checkouts);
        assert_eq!(st, 200);
        let won: Vec<Value> = won.into_iter().flatten().collect();
        assert!(won.len() <= 1, "the code is on at most one live order: {} won", won.len());
        // Whatever happened, the live orders holding the code are at most one.
        let (_, vs) = s.get(&format!("/api/v1/vouchers/?promotion={coded}"), &staff).await;
        let uses = vs["results"][0]["uses"].as_i64().unwrap_or(0);
        assert_eq!(uses, won.len() as i64, "{vs}");
        match won.into_iter().next() {
            Some(o) => holder = o,
            None => break,
        }
    }
}

async fn statuses_come_from_cancellations_only(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    let (pk, items, _, _) = three_for_two_order(&s, &staff, "keep_shares", "ST-1").await;
    for status in ["50", "100", "600"] {
        let (st, e) = s
            .send("PATCH", &format!("/api/v1/order_item/{}/", items[0]), Some(&staff), Some(json!({"status": status})))
            .await;
        assert_eq!(st, 400, "{status}: {e}");
        assert!(e["status"][0].as_str().unwrap().contains("cancel"), "{e}");
        let (st, _) = s
            .post(&format!("/api/v1/order_items/{}/update_status/", items[0]), &staff, json!({"status": status}))
            .await;
        assert_eq!(st, 400);
    }
    // A unit in a cancellation moves only through it: waiting (50) or cancelled (100) units
    // refuse a direct status change.
    let (st, _) = s.post(&format!("/api/v1/orders/{pk}/cancel/"), &staff, json!({"order_items": [items[2]]})).await;
    assert_eq!(st, 200);
    let (st, e) = s
        .send("PATCH", &format!("/api/v1/order_item/{}/", items[2]), Some(&staff), Some(json!({"status": "400"})))
        .await;
    assert_eq!(st, 400, "a cancelled unit cannot come back: {e}");
    assert!(e["status"].is_array(), "{e}");
    // Per-unit tax in the OMS and Omnitron views: net 133.27 at 18 % holds 20.33.
    let (_, o) = s.get(&format!("/api/v1/orders_integration/{pk}/detailed_integration/"), &staff).await;
    let i = o["orderitem_set"].as_array().unwrap().iter().find(|i| i["net_amount"] == "133.27").unwrap();
    assert_eq!(i["tax_amount"], "20.33");
    assert_eq!(i["without_net_amount"], "112.94");
    let id = i["pk"].as_i64().unwrap();
    let (st, oms) = s.get(&format!("/api/v1/oms/order_items/{id}/"), &staff).await;
    assert_eq!(st, 200, "{oms}");
    assert_eq!(oms["tax_amount"], "20.33");
    assert_eq!(oms["without_net_amount"], "112.94");
}

async fn elastic_path_order_status_follows_the_ledger(db: Db) {
    use crate::elasticpath::{cart_ab, ep, token};
    let s = Server::start(db).await;
    let staff = s.staff();
    let tok = token(&s).await;
    let mut orders = Vec::new();
    for _ in 0..2 {
        let (cart, _, _) = cart_ab(&s, &tok).await;
        let body = json!({"data": {"customer": {"name": "J", "email": "j@example.com"},
            "billing_address": {"first_name": "A", "last_name": "D", "line_1": "1", "postcode": "x", "country": "CA"}}});
        let (st, o) = ep(&s, "POST", &format!("/v2/carts/{cart}/checkout"), &tok, Some(body)).await;
        assert_eq!(st, 201, "{o}");
        assert_eq!(o["data"]["status"], "incomplete");
        assert_eq!(o["data"]["shipping"], "unfulfilled");
        let id = o["data"]["id"].as_str().unwrap().to_owned();
        let (_, list) = s.get(&format!("/api/v1/orders/?number={id}"), &staff).await;
        let pk = list["results"][0]["pk"].as_i64().unwrap();
        let (_, d) = s.get(&format!("/api/v1/orders_integration/{pk}/detailed_integration/"), &staff).await;
        let units: Vec<i64> =
            d["orderitem_set"].as_array().unwrap().iter().map(|i| i["pk"].as_i64().unwrap()).collect();
        orders.push((id, pk, units));
    }
    // Every unit cancelled: cancelled.
    let (id, pk, units) = &orders[0];
    let (st, _) = s.post(&format!("/api/v1/orders/{pk}/cancel/"), &staff, json!({"order_items": units})).await;
    assert_eq!(st, 200);
    let (_, o) = ep(&s, "GET", &format!("/v2/orders/{id}"), &tok, None).await;
    assert_eq!(o["data"]["status"], "cancelled", "{o}");
    // Every unit shipped: fulfilled; every unit then refunded: refunded.
    let (id, pk, units) = &orders[1];
    for u in units {
        s.send("PATCH", &format!("/api/v1/order_item/{u}/"), Some(&staff), Some(json!({"status": "500"}))).await;
    }
    let (_, o) = ep(&s, "GET", &format!("/v2/orders/{id}"), &tok, None).await;
    assert_eq!(o["data"]["shipping"], "fulfilled", "{o}");
    assert_eq!(o["data"]["payment"], "unpaid");
    let (st, r) = s
        .post(
            &format!("/api/v1/orders/{pk}/cancel/"),
            &staff,
            json!({"order_items": units, "cancellation_type": "refund"}),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    let (_, o) = ep(&s, "GET", &format!("/v2/orders/{id}"), &tok, None).await;
    assert_eq!(o["data"]["payment"], "refunded", "{o}");
    assert_eq!(o["data"]["status"], "incomplete");
}
