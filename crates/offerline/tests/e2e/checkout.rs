//! Storefront basket and checkout, the order ledger it writes, idempotent replays, refused
//! checkouts writing nothing, staff order views, usage limits under concurrent claims, and
//! how the PostgreSQL checkout writer splits a batch.

use offerline_core::{
    Currency, DiscountDraft, OfferId, OrderDraft, OrderStatus, ProductId, UnitDraft, UsageClaim, VoucherId,
    VoucherUsage,
};
use offerline_store::Store;
use offerline_store::orders::{NewOrder, place_order};
use serde_json::{Value, json};
use sqlx::Row;

use crate::both;
use crate::durability::check_ledger;
use crate::helpers::{Db, Server};

both!(
    basket_checkout_and_staff_views,
    idempotent_replay_gives_one_order,
    refused_checkout_writes_nothing,
    usage_claims_hold_under_races,
    multibuy_checkout_and_voucher_races,
    random_checkouts_keep_exact_ledgers,
    checkouts_mixed_with_other_writes,
    a_product_gone_from_sale_leaves_the_rest_of_the_basket,
);

async fn random_checkouts_keep_exact_ledgers(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut products = Vec::new();
    for i in 0..6 {
        let price = format!("{}.{:02}", 1 + next(300), next(100));
        products.push(product(&s, &staff, &format!("R-{i}"), &price).await);
    }
    promotion(
        &s,
        &staff,
        json!({"name": "3 for 2", "slug": "m", "offer_type": "site", "currency": "try", "exclusive": false,
        "start_datetime": "2020-01-01T00:00:00Z",
        "condition": {"type": "count", "value": 3, "range": {"products": products[..3]}},
        "benefit": {"type": "multibuy", "value": null, "range": {"products": products[..3]}}}),
    )
    .await;
    promotion(
        &s,
        &staff,
        json!({"name": "12.5%", "slug": "p", "offer_type": "site", "currency": "try", "exclusive": false,
        "start_datetime": "2020-01-01T00:00:00Z",
        "condition": {"type": "amount", "value": "100.00", "range": {"all": true}},
        "benefit": {"type": "percentage", "value": "12.5", "range": {"all": true}}}),
    )
    .await;
    promotion(
        &s,
        &staff,
        json!({"name": "7.77 off", "slug": "f", "offer_type": "site", "currency": "try", "exclusive": false,
        "start_datetime": "2020-01-01T00:00:00Z",
        "condition": {"type": "none", "value": null},
        "benefit": {"type": "fixed", "value": "7.77", "range": {"all": true}}}),
    )
    .await;
    for _ in 0..8 {
        let (_, t) = s.customer();
        for &p in &products {
            let q = next(5);
            if q > 0 {
                let (st, b) = s.post("/baskets/basket/", &t, json!({"product": p, "quantity": q})).await;
                assert_eq!(st, 200, "{b}");
            }
        }
        s.post("/baskets/basket/", &t, json!({"product": products[0], "quantity": 1})).await;
        let (st, o) = s.post("/orders/checkout/", &t, json!({})).await;
        assert_eq!(st, 201, "{o}");
    }
    let store = Store::connect(&s.database_url).await.unwrap();
    let rows = sqlx::query(
        "SELECT d.id, d.amount, CAST(COALESCE(SUM(b.discount_share), 0) AS BIGINT) FROM discount_items d \
         LEFT JOIN benefit_applicants b ON b.discount_item_id = d.id GROUP BY d.id, d.amount",
    )
    .fetch_all(store.reader())
    .await
    .unwrap();
    assert!(rows.len() >= 8, "offers applied: {}", rows.len());
    for r in &rows {
        assert_eq!(r.get::<i64, _>(1), r.get::<i64, _>(2), "discount item {}", r.get::<i64, _>(0));
    }
    let bad: i64 =
        sqlx::query("SELECT COUNT(*) FROM order_items WHERE net_amount < 0 OR net_amount + discount_amount <> price")
            .fetch_one(store.reader())
            .await
            .unwrap()
            .get(0);
    assert_eq!(bad, 0);
    let mismatched: i64 = sqlx::query(
        "SELECT COUNT(*) FROM orders o WHERE o.discount_amount <> \
         (SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM discount_items d WHERE d.order_id = o.id)",
    )
    .fetch_one(store.reader())
    .await
    .unwrap()
    .get(0);
    assert_eq!(mismatched, 0);
}

/// Creates an active product priced `price` in the default list; returns its pk.
pub(crate) async fn product(s: &Server, staff: &str, sku: &str, price: &str) -> i64 {
    let (st, p) = s.post("/api/v1/products/", staff, json!({"name": format!("Product {sku}"), "sku": sku})).await;
    assert_eq!(st, 201, "{p}");
    let pk = p["pk"].as_i64().unwrap();
    let (st, b) =
        s.post("/api/v1/product_prices/", staff, json!({"product": pk, "price": price, "tax_rate": "18"})).await;
    assert_eq!(st, 201, "{b}");
    pk
}

async fn count(store: &Store, table: &str) -> i64 {
    sqlx::query(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(store.reader()).await.unwrap().try_get(0).unwrap()
}

async fn basket_checkout_and_staff_views(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    let (uid, cust) = s.customer();
    let a = product(&s, &staff, "A-1", "199.90").await;
    let b = product(&s, &staff, "B-1", "10.05").await;
    let (st, unpriced) = s.post("/api/v1/products/", &staff, json!({"name": "no price", "sku": "NP"})).await;
    assert_eq!(st, 201);

    let (st, body) = s.get("/baskets/basket/", &cust).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["basket"]["basketitem_set"], json!([]));
    assert_eq!(body["basket"]["total_amount"], "0.00");

    let (st, body) = s.post("/baskets/basket/", &cust, json!({"product": a, "quantity": 2})).await;
    assert_eq!(st, 200, "{body}");
    let (st, body) = s.post("/baskets/basket/", &cust, json!({"product": a, "quantity": 1})).await;
    assert_eq!(st, 200, "{body}");
    let (st, body) = s.send("PUT", "/baskets/basket/", Some(&cust), Some(json!({"product": b, "quantity": 4}))).await;
    assert_eq!(st, 200, "{body}");
    let basket = &body["basket"];
    assert_eq!(basket["total_quantity"], 7);
    assert_eq!(basket["total_product_amount"], "639.90");
    assert_eq!(basket["total_amount"], "639.90");
    let items = basket["basketitem_set"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["product"]["sku"], "A-1");
    assert_eq!(items[0]["quantity"], 3);
    assert_eq!(items[0]["unit_price"], "199.90");
    assert_eq!(items[0]["price"], "599.70");
    assert_eq!(items[1]["total_amount"], "40.20");

    // Bad input: unknown product, no price, bad quantities, unknown voucher.
    let (st, e) = s.post("/baskets/basket/", &cust, json!({"product": 999999, "quantity": 1})).await;
    assert_eq!(st, 400);
    assert!(e["product"][0].as_str().unwrap().contains("does not exist"), "{e}");
    let (st, e) = s.post("/baskets/basket/", &cust, json!({"product": unpriced["pk"], "quantity": 1})).await;
    assert_eq!(st, 400, "{e}");
    for q in [0, -1, 1001] {
        let (st, e) = s.post("/baskets/basket/", &cust, json!({"product": a, "quantity": q})).await;
        assert_eq!(st, 400, "{q}: {e}");
        assert!(e["quantity"].is_array(), "{e}");
    }
    let (st, e) = s.post("/baskets/basket/", &cust, json!({"product": a, "quantity": 998})).await;
    assert_eq!(st, 400, "3 + 998 > 1000: {e}");
    let (st, e) = s.send("PATCH", "/baskets/basket/", Some(&cust), Some(json!({"voucher_code": "NOPE10"}))).await;
    assert_eq!(st, 400);
    assert!(e["voucher_code"][0].as_str().unwrap().contains("not found"), "{e}");
    let (st, _) = s.send("GET", "/baskets/basket/", None, None).await;
    assert_eq!(st, 401);

    // Checkout: prices from the price list at checkout time.
    let (st, _) = s.post("/api/v1/product_prices/", &staff, json!({"product": b, "price": "10.00"})).await;
    assert_eq!(st, 201);
    let (st, body) = s
        .post("/orders/checkout/", &cust, json!({"shipping_address": {"line": "Moda Cd. 1", "city": "İstanbul"}}))
        .await;
    assert_eq!(st, 201, "{body}");
    let order = &body["order"];
    assert_eq!(order["status"], "400");
    assert_eq!(order["amount"], "639.70");
    assert_eq!(order["discount_amount"], "0.00");
    assert_eq!(order["currency"], "try");
    let oi = order["orderitem_set"].as_array().unwrap();
    assert_eq!(oi.len(), 7, "one order item per unit");
    assert_eq!(oi.iter().filter(|i| i["product"] == a).count(), 3);
    assert!(oi.iter().all(|i| i["status"] == "400" && i["stock_list"].is_i64()));
    assert!(oi.iter().filter(|i| i["product"] == a).all(|i| i["tax_rate"] == "18.00" && i["price"] == "199.90"));
    assert!(oi.iter().filter(|i| i["product"] == b).all(|i| i["price"] == "10.00"));
    let pk = order["pk"].as_i64().unwrap();

    // The basket is empty; an empty basket cannot be checked out.
    let (_, body) = s.get("/baskets/basket/", &cust).await;
    assert_eq!(body["basket"]["basketitem_set"], json!([]));
    let (st, e) = s.post("/orders/checkout/", &cust, json!({})).await;
    assert_eq!(st, 400);
    assert_eq!(e, json!({"non_field_errors": ["The basket is empty."]}));

    // Staff views.
    let (st, _) = s.get("/api/v1/orders/", &cust).await;
    assert_eq!(st, 403);
    let (st, list) = s.get(&format!("/api/v1/orders/?user={uid}"), &staff).await;
    assert_eq!(st, 200, "{list}");
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0]["pk"], pk);
    assert_eq!(list["results"][0]["status"], "400");
    assert_eq!(list["results"][0]["amount"], "639.70");
    let (_, list) = s.get(&format!("/api/v1/orders/?number={}", order["number"].as_str().unwrap()), &staff).await;
    assert_eq!(list["count"], 1);
    let (_, list) = s.get("/api/v1/orders/?status=100", &staff).await;
    assert_eq!(list["count"], 0);
    let (st, detail) = s.get(&format!("/api/v1/orders_integration/{pk}/detailed_integration/"), &staff).await;
    assert_eq!(st, 200, "{detail}");
    assert_eq!(detail["orderitem_set"], order["orderitem_set"]);
    assert_eq!(detail["shipping_address"]["city"], "İstanbul");
    let (st, _) = s.get("/api/v1/orders_integration/999999/detailed_integration/", &staff).await;
    assert_eq!(st, 404);

    // Item status: validated against the Akinon codes.
    let item = oi[0]["id"].as_i64().unwrap();
    let (st, it) =
        s.send("PATCH", &format!("/api/v1/order_item/{item}/"), Some(&staff), Some(json!({"status": "450"}))).await;
    assert_eq!(st, 200, "{it}");
    assert_eq!(it["status"], "450");
    assert_eq!(it["status_display"], "preparing");
    let (st, e) = s.post(&format!("/api/i1/order_items/{item}/update_status/"), &staff, json!({"status": "401"})).await;
    assert_eq!(st, 400);
    assert!(e["status"].is_array(), "{e}");

    // Cancel two items; the others stay.
    let ids = [oi[1]["id"].as_i64().unwrap(), oi[2]["id"].as_i64().unwrap()];
    let (st, c) = s.post(&format!("/api/v1/orders/{pk}/cancel/"), &staff, json!({"order_items": ids})).await;
    assert_eq!(st, 200, "{c}");
    let cancelled: Vec<&Value> =
        c["orderitem_set"].as_array().unwrap().iter().filter(|i| i["status"] == "100").collect();
    assert_eq!(cancelled.len(), 2);
    assert!(cancelled.iter().all(|i| i["cancel_status"] == "completed"));
    assert_eq!(c["status"], "400", "the order stays approved while items remain");
    let (st, e) = s.post(&format!("/api/v1/orders/{pk}/cancel/"), &staff, json!({"order_items": [999999]})).await;
    assert_eq!(st, 400, "{e}");
    let (st, e) = s
        .post(&format!("/api/v1/orders/{pk}/cancel/"), &staff, json!({"order_items": [ids[0]], "cancel_status": "x"}))
        .await;
    assert_eq!(st, 400, "{e}");
}

async fn idempotent_replay_gives_one_order(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    let (_, cust) = s.customer();
    let a = product(&s, &staff, "A-1", "5.00").await;
    let (st, _) = s.post("/baskets/basket/", &cust, json!({"product": a, "quantity": 2})).await;
    assert_eq!(st, 200);
    let key = "2b9f4a3e-6a57-4f7c-9d0d-1f1f5f1d2c11";
    let send = |k: &'static str| {
        s.http
            .post(s.url("/orders/checkout/"))
            .header("Authorization", format!("Token {cust}"))
            .header("Idempotency-Key", k)
            .json(&json!({}))
            .send()
    };
    // Concurrent duplicates: one order, every answer the same.
    let answers = futures_join((0..8).map(|_| async { send(key).await.unwrap() }).collect::<Vec<_>>()).await;
    let mut orders = Vec::new();
    for r in answers {
        assert_eq!(r.status().as_u16(), 201);
        let v: Value = r.json().await.unwrap();
        orders.push(v["order"]["pk"].as_i64().unwrap());
    }
    orders.dedup();
    assert_eq!(orders.len(), 1, "one order for one key");
    // A later replay, even with an empty basket, gets the same order.
    let r = send(key).await.unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["order"]["pk"], orders[0]);
    let store = Store::connect(&s.database_url).await.unwrap();
    assert_eq!(count(&store, "orders").await, 1);
    assert_eq!(count(&store, "order_items").await, 2);
    // The key is per customer: another customer's same key is a new checkout.
    let (_, other) = s.customer();
    s.post("/baskets/basket/", &other, json!({"product": a, "quantity": 1})).await;
    let r = s
        .http
        .post(s.url("/orders/checkout/"))
        .header("Authorization", format!("Token {other}"))
        .header("Idempotency-Key", key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    assert_eq!(count(&store, "orders").await, 2);
}

/// Runs futures concurrently (tokio tasks would need 'static borrows of the server).
pub(crate) async fn futures_join<F: std::future::Future>(fs: Vec<F>) -> Vec<F::Output> {
    let mut out = Vec::new();
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = fs.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if results[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => results[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    out.extend(results.into_iter().map(|r| r.expect("ready")));
    out
}

async fn refused_checkout_writes_nothing(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    let (_, cust) = s.customer();
    let a = product(&s, &staff, "A-1", "5.00").await;
    let b = product(&s, &staff, "B-1", "7.00").await;
    s.post("/baskets/basket/", &cust, json!({"product": a, "quantity": 2})).await;
    s.post("/baskets/basket/", &cust, json!({"product": b, "quantity": 1})).await;
    let store = Store::connect(&s.database_url).await.unwrap();
    let tables = ["orders", "order_items", "discount_items", "benefit_applicants", "offer_usage", "idempotency_keys"];
    let mut before = Vec::new();
    for t in tables {
        before.push(count(&store, t).await);
    }
    // The product is withdrawn after it went into the basket.
    let (st, _) =
        s.send("PATCH", &format!("/api/v1/products/{b}/"), Some(&staff), Some(json!({"is_active": false}))).await;
    assert_eq!(st, 200);
    let r = s
        .http
        .post(s.url("/orders/checkout/"))
        .header("Authorization", format!("Token {cust}"))
        .header("Idempotency-Key", "k-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let e: Value = r.json().await.unwrap();
    assert!(e["non_field_errors"][0].as_str().unwrap().contains("B-1"), "{e}");
    for (t, n) in tables.iter().zip(&before) {
        assert_eq!(count(&store, t).await, *n, "{t}");
    }
    // The basket is intact: removing the product lets the checkout through.
    s.send("PUT", "/baskets/basket/", Some(&cust), Some(json!({"product": b, "quantity": 0}))).await;
    let (st, o) = s.post("/orders/checkout/", &cust, json!({})).await;
    assert_eq!(st, 201, "{o}");
    assert_eq!(o["order"]["amount"], "10.00");
}

/// Limits are enforced by the database: many concurrent `place_order` calls with claims on
/// one offer, one single-use voucher and one budget honour the limit exactly.
async fn usage_claims_hold_under_races(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    let a = product(&s, &staff, "A-1", "5.00").await;
    let store = Store::connect(&s.database_url).await.unwrap();
    let now = 1_700_000_000_000_000i64;
    for (id, max_global, max_discount) in [(1, Some(10i64), None), (2, None, None), (3, None, Some(1000i64))] {
        sqlx::query(
            "INSERT INTO promotions (id, name, slug, offer_type, currency, definition, max_global_applications, max_discount, created_at, modified_at) \
             VALUES ($1, $2, $2, 'voucher_code', 'try', '{}', $3, $4, $5, $5)",
        )
        .bind(id)
        .bind(format!("p{id}"))
        .bind(max_global)
        .bind(max_discount)
        .bind(now)
        .execute(store.writer())
        .await
        .unwrap();
    }
    sqlx::query("INSERT INTO vouchers (code, promotion_id, usage, uses, created_at, modified_at) VALUES ('ONCE', 2, 'single_use', 0, $1, $1)")
        .bind(now)
        .execute(store.writer())
        .await
        .unwrap();
    let voucher: i64 =
        sqlx::query("SELECT id FROM vouchers WHERE code = 'ONCE'").fetch_one(store.reader()).await.unwrap().get(0);

    let order = |promotion: i64, amount: i64, claim: UsageClaim| NewOrder {
        number: None,
        user_id: None,
        channel: "storefront".into(),
        status: OrderStatus::APPROVED,
        currency: Currency::parse("try").unwrap(),
        customer: None,
        shipping_address: None,
        billing_address: None,
        draft: OrderDraft {
            shipping_free: false,
            units: vec![UnitDraft {
                product: ProductId(a),
                line_key: "l".into(),
                price: 500,
                retail_price: None,
                tax_rate: 0,
                price_list_id: None,
                stock_list_id: None,
                product_name: "A".into(),
                product_sku: "A-1".into(),
            }],
            discounts: vec![DiscountDraft {
                name: "d".into(),
                amount,
                offer: Some(OfferId(promotion)),
                shares: vec![(0, amount)],
                ..Default::default()
            }],
            claims: vec![claim],
        },
    };
    let cases: Vec<(i64, i64, UsageClaim, i64)> = vec![
        (
            1,
            100,
            UsageClaim::Offer {
                offer: OfferId(1),
                applications: 1,
                discount: 100,
                max_applications: Some(10),
                max_discount: None,
            },
            10,
        ),
        (
            2,
            100,
            UsageClaim::Voucher { voucher: VoucherId(voucher), usage: VoucherUsage::SingleUse, customer: None },
            1,
        ),
        (
            3,
            100,
            UsageClaim::Offer {
                offer: OfferId(3),
                applications: 1,
                discount: 100,
                max_applications: None,
                max_discount: Some(1000),
            },
            10,
        ),
    ];
    for (promotion, amount, claim, limit) in cases {
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let store = store.clone();
            let o = order(promotion, amount, claim.clone());
            tasks.push(tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                match place_order(&mut tx, &o).await {
                    Ok(_) => {
                        tx.commit().await.unwrap();
                        true
                    }
                    Err(offerline_store::StoreError::LimitReached(_)) => false,
                    Err(e) => panic!("unexpected {e}"),
                }
            }));
        }
        let mut ok = 0;
        for t in tasks {
            if t.await.unwrap() {
                ok += 1;
            }
        }
        assert_eq!(ok, limit, "promotion {promotion}");
        let written: i64 = sqlx::query("SELECT COUNT(*) FROM discount_items WHERE promotion_id = $1")
            .bind(promotion)
            .fetch_one(store.reader())
            .await
            .unwrap()
            .get(0);
        assert_eq!(written, limit, "discount items of promotion {promotion}");
    }
    let row = sqlx::query("SELECT applications, discount_spent FROM offer_usage WHERE promotion_id = 3")
        .fetch_one(store.reader())
        .await
        .unwrap();
    assert_eq!(row.get::<i64, _>(1), 1000);
    let uses: i64 = sqlx::query("SELECT uses FROM vouchers WHERE id = $1")
        .bind(voucher)
        .fetch_one(store.reader())
        .await
        .unwrap()
        .get(0);
    assert_eq!(uses, 1);
}

pub(crate) async fn promotion(s: &Server, staff: &str, body: Value) -> i64 {
    let (st, p) = s.post("/api/v1/promotions/", staff, body).await;
    assert_eq!(st, 201, "{p}");
    p["pk"].as_i64().or_else(|| p["id"].as_i64()).expect("promotion id")
}

/// The seed's "3 al 2" through the whole stack, then 50 customers racing for a voucher whose
/// offer allows 10 applications and for a single-use voucher.
async fn multibuy_checkout_and_voucher_races(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    let a = product(&s, &staff, "MB-1", "199.90").await;
    let v = product(&s, &staff, "V-1", "100.00").await;
    promotion(
        &s,
        &staff,
        json!({"name": "3 al 2 Öde", "slug": "3-al-2", "offer_type": "site", "currency": "try",
               "start_datetime": "2020-01-01T00:00:00Z",
               "condition": {"type": "count", "value": 3, "range": {"products": [a]}},
               "benefit": {"type": "multibuy", "value": null, "range": {"products": [a]}}}),
    )
    .await;
    let (_, cust) = s.customer();
    s.post("/baskets/basket/", &cust, json!({"product": a, "quantity": 3})).await;
    let (_, basket) = s.get("/baskets/basket/", &cust).await;
    assert_eq!(basket["basket"]["total_discount_amount"], "199.90", "{basket}");
    let (st, o) = s.post("/orders/checkout/", &cust, json!({})).await;
    assert_eq!(st, 201, "{o}");
    let order = &o["order"];
    assert_eq!(order["amount"], "399.80");
    assert_eq!(order["discount_amount"], "199.90");
    let d = &order["discountitem_set"][0];
    assert_eq!(d["amount"], "199.90");
    assert_eq!(d["offer_type"], "basket_offer");
    let mut shares: Vec<String> = d["benefitapplicant_set"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["discount_share"].as_str().unwrap().to_owned())
        .collect();
    shares.sort();
    assert_eq!(shares, ["66.63", "66.63", "66.64"]);
    let pk = order["pk"].as_i64().unwrap();
    let (_, detail) = s.get(&format!("/api/v1/orders_integration/{pk}/detailed_integration/"), &staff).await;
    assert_eq!(detail["discountitem_set"], order["discountitem_set"]);

    // Vouchers: one multi-use code on an offer limited to 10 applications, one single-use code.
    let limited = promotion(
        &s,
        &staff,
        json!({"name": "10 off", "slug": "ten", "offer_type": "voucher_code", "currency": "try",
               "start_datetime": "2020-01-01T00:00:00Z", "max_global_applications": 10,
               "condition": {"type": "none", "value": null},
               "benefit": {"type": "fixed", "value": "10.00", "range": {"products": [v]}}}),
    )
    .await;
    let once = promotion(
        &s,
        &staff,
        json!({"name": "5 off", "slug": "five", "offer_type": "voucher_code", "currency": "try",
               "start_datetime": "2020-01-01T00:00:00Z",
               "condition": {"type": "none", "value": null},
               "benefit": {"type": "fixed", "value": "5.00", "range": {"products": [v]}}}),
    )
    .await;
    let budget = promotion(
        &s,
        &staff,
        json!({"name": "budget", "slug": "budget", "offer_type": "voucher_code", "currency": "try",
               "start_datetime": "2020-01-01T00:00:00Z", "max_discount": "100.00",
               "condition": {"type": "none", "value": null},
               "benefit": {"type": "fixed", "value": "10.00", "range": {"products": [v]}}}),
    )
    .await;
    for (code, p, usage) in
        [("TENOFF", limited, "multi_use"), ("ONCE5", once, "single_use"), ("BUDGET", budget, "multi_use")]
    {
        let (st, b) = s.post("/api/v1/vouchers/", &staff, json!({"code": code, "promotion": p, "usage": usage})).await;
        assert_eq!(st, 201, "{b}");
    }
    let store = Store::connect(&s.database_url).await.unwrap();
    for (code, limit) in [("TENOFF", 10usize), ("ONCE5", 1), ("BUDGET", 10)] {
        let mut tokens = Vec::new();
        for _ in 0..50 {
            let (_, t) = s.customer();
            let (st, b) = s.post("/baskets/basket/", &t, json!({"product": v, "quantity": 1})).await;
            assert_eq!(st, 200, "{b}");
            let (st, b) = s.send("PATCH", "/baskets/basket/", Some(&t), Some(json!({"voucher_code": code}))).await;
            assert_eq!(st, 200, "{b}");
            tokens.push(t);
        }
        let mut tasks = Vec::new();
        for t in tokens {
            let http = s.http.clone();
            let url = s.url("/orders/checkout/");
            tasks.push(tokio::spawn(async move {
                let r =
                    http.post(url).header("Authorization", format!("Token {t}")).json(&json!({})).send().await.unwrap();
                r.status().as_u16()
            }));
        }
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.unwrap());
        }
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), limit, "{code}: {statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 50 - limit, "{code}: {statuses:?}");
        let carried: i64 = sqlx::query("SELECT COUNT(*) FROM discount_items WHERE code = $1")
            .bind(code)
            .fetch_one(store.reader())
            .await
            .unwrap()
            .get(0);
        assert_eq!(carried as usize, limit, "{code}");
    }
}

/// Checkouts that succeed, are refused (a single-use code: one wins) and repeat a key, all at
/// once and interleaved with basket writes of other customers. On SQLite this mixes the
/// group-commit writer (checkouts commit together, a savepoint each) with the sqlx writer
/// (basket changes): no request fails with a server error or "database is locked", a refused
/// checkout leaves nothing behind while its batch-mates commit, duplicates of a key get one
/// order, and the ledger adds up.
async fn checkouts_mixed_with_other_writes(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    let a = product(&s, &staff, "MX-1", "10.00").await;
    let once = promotion(
        &s,
        &staff,
        json!({"name": "once", "slug": "once", "offer_type": "voucher_code", "currency": "try",
               "start_datetime": "2020-01-01T00:00:00Z",
               "condition": {"type": "none", "value": null},
               "benefit": {"type": "fixed", "value": "1.00", "range": {"all": true}}}),
    )
    .await;
    let (st, b) =
        s.post("/api/v1/vouchers/", &staff, json!({"code": "ONLYONE", "promotion": once, "usage": "single_use"})).await;
    assert_eq!(st, 201, "{b}");
    let buyers = s.customers(24).await;
    for (i, (_, t)) in buyers.iter().enumerate() {
        let (st, b) = s.post("/baskets/basket/", t, json!({"product": a, "quantity": 1 + i % 3})).await;
        assert_eq!(st, 200, "{b}");
        if i % 3 == 0 {
            let (st, b) = s.send("PATCH", "/baskets/basket/", Some(t), Some(json!({"voucher_code": "ONLYONE"}))).await;
            assert_eq!(st, 200, "{b}");
        }
    }
    let browsers = s.customers(24).await;
    let mut tasks = Vec::new();
    for (i, (_, t)) in buyers.iter().enumerate() {
        // Every fourth buyer sends its checkout three times with one key.
        let copies = if i % 4 == 1 { 3 } else { 1 };
        for _ in 0..copies {
            let (http, url, t) = (s.http.clone(), s.url("/orders/checkout/"), t.clone());
            tasks.push(tokio::spawn(async move {
                let r = http
                    .post(url)
                    .header("Authorization", format!("Token {t}"))
                    .header("Idempotency-Key", format!("mixed-{i}"))
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
                (i, r.status().as_u16(), r.text().await.unwrap())
            }));
        }
    }
    for (_, t) in &browsers {
        let (http, url, t) = (s.http.clone(), s.url("/baskets/basket/"), t.clone());
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .header("Authorization", format!("Token {t}"))
                .json(&json!({"product": a, "quantity": 2}))
                .send()
                .await
                .unwrap();
            (usize::MAX, r.status().as_u16(), r.text().await.unwrap())
        }));
    }
    let mut bodies: std::collections::HashMap<usize, Vec<String>> = std::collections::HashMap::new();
    let mut refused = std::collections::HashSet::new();
    for t in tasks {
        let (i, st, body) = t.await.unwrap();
        assert!(st == 200 || st == 201 || st == 400, "{st} {body}");
        if i == usize::MAX {
            assert_eq!(st, 200, "{body}");
        } else if st == 400 {
            assert!(body.contains("usage limit") || body.contains("already been used"), "{body}");
            refused.insert(i);
        } else {
            bodies.entry(i).or_default().push(body);
        }
    }
    // Of the 8 baskets with the single-use code, one checkout wins it; the other 7 are refused
    // (every copy of a refused buyer's request is refused: no key is stored for a refusal).
    assert_eq!(refused.len(), 7, "{bodies:?}");
    assert!(refused.iter().all(|i| i % 3 == 0 && !bodies.contains_key(i)), "{refused:?}");
    assert_eq!(bodies.len(), 24 - 7);
    for copies in bodies.values() {
        assert!(copies.iter().all(|b| b == &copies[0]), "one key, one answer: {copies:?}");
    }
    let store = Store::connect(&s.database_url).await.unwrap();
    assert_eq!(count(&store, "orders").await, 17);
    let units: i64 = bodies
        .values()
        .map(|c| {
            serde_json::from_str::<Value>(&c[0]).unwrap()["order"]["orderitem_set"].as_array().unwrap().len() as i64
        })
        .sum();
    assert_eq!(count(&store, "order_items").await, units);
    let used: i64 = sqlx::query("SELECT uses FROM vouchers WHERE code = 'ONLYONE'")
        .fetch_one(store.reader())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(used, 1);
    assert_eq!(count(&store, "discount_items").await, 1);
    // The refused baskets are intact (their lines were not deleted by a rolled-back savepoint
    // that leaked), and every browser's basket write landed.
    for (i, (_, t)) in buyers.iter().enumerate() {
        let (_, b) = s.get("/baskets/basket/", t).await;
        let lines = b["basket"]["basketitem_set"].as_array().map_or(0, Vec::len);
        assert_eq!(lines, usize::from(!bodies.contains_key(&i)), "buyer {i}: {b}");
    }
    for (_, t) in &browsers {
        let (_, b) = s.get("/baskets/basket/", t).await;
        assert_eq!(b["basket"]["basketitem_set"].as_array().map_or(0, Vec::len), 1, "{b}");
    }
}

/// A product deactivated (or its price removed) after customers put it in their baskets: each
/// of them still sees their basket, that product listed in `unavailable_basket_products` and
/// the rest priced; checkout is a 400 naming it and writes nothing; once it is removed, the
/// basket checks out.
async fn a_product_gone_from_sale_leaves_the_rest_of_the_basket(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    let a = product(&s, &staff, "KEEP-1", "50.00").await;
    let gone = product(&s, &staff, "GONE-1", "20.00").await;
    let unpriced = product(&s, &staff, "NOPRICE-1", "5.00").await;
    promotion(
        &s,
        &staff,
        json!({"name": "Ten off", "slug": "ten", "offer_type": "site", "currency": "try", "exclusive": false,
        "start_datetime": "2020-01-01T00:00:00Z", "condition": {"type": "none", "value": null},
        "benefit": {"type": "percentage", "value": "10", "range": {"all": true}}}),
    )
    .await;
    let (_, cust) = s.customer();
    let (_, other) = s.customer();
    for (p, q) in [(a, 2), (gone, 1), (unpriced, 3)] {
        let (st, b) = s.post("/baskets/basket/", &cust, json!({"product": p, "quantity": q})).await;
        assert_eq!(st, 200, "{b}");
    }
    let (st, b) = s.post("/baskets/basket/", &other, json!({"product": gone, "quantity": 4})).await;
    assert_eq!(st, 200, "{b}");

    let (st, b) =
        s.send("PATCH", &format!("/api/v1/products/{gone}/"), Some(&staff), Some(json!({"is_active": false}))).await;
    assert_eq!(st, 200, "{b}");
    let store = Store::connect(&s.database_url).await.unwrap();
    sqlx::query("DELETE FROM product_prices WHERE product_id = $1")
        .bind(unpriced)
        .execute(store.writer())
        .await
        .unwrap();

    let (st, body) = s.get("/baskets/basket/", &cust).await;
    assert_eq!(st, 200, "a basket holding a deactivated product still shows: {body}");
    let basket = &body["basket"];
    let items = basket["basketitem_set"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{basket}");
    assert_eq!(items[0]["product"]["sku"], "KEEP-1");
    assert_eq!(
        (&basket["total_product_amount"], &basket["total_discount_amount"], &basket["total_amount"]),
        (&json!("100.00"), &json!("10.00"), &json!("90.00")),
        "the rest is priced, offers included"
    );
    assert_eq!(basket["total_quantity"], 2);
    let unavailable = basket["unavailable_basket_products"].as_array().unwrap();
    let listed: Vec<(&str, i64, &str)> = unavailable
        .iter()
        .map(|u| {
            (u["product"]["sku"].as_str().unwrap(), u["quantity"].as_i64().unwrap(), u["reason"].as_str().unwrap())
        })
        .collect();
    assert_eq!(listed, [("GONE-1", 1, "inactive"), ("NOPRICE-1", 3, "no_price")]);
    assert!(unavailable.iter().all(|u| u["id"].as_i64().is_some()), "each names its basket line: {body}");

    let (st, body) = s.get("/baskets/basket/", &other).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["basket"]["basketitem_set"], json!([]));
    assert_eq!(body["basket"]["total_amount"], "0.00");
    assert_eq!(body["basket"]["unavailable_basket_products"][0]["product"]["sku"], "GONE-1");

    let (st, e) = s.post("/orders/checkout/", &cust, json!({})).await;
    assert_eq!(st, 400, "{e}");
    let text = e.to_string();
    assert!(text.contains("GONE-1") && text.contains("NOPRICE-1") && text.contains("no longer available"), "{text}");
    let (st, e) = s.post("/orders/checkout/", &other, json!({})).await;
    assert_eq!(st, 400, "{e}");
    assert!(e.to_string().contains("Product GONE-1 is no longer available"), "{e}");
    assert_eq!(count(&store, "orders").await, 0, "a refused checkout wrote an order");
    assert_eq!(count(&store, "basket_lines").await, 4, "a refused checkout changed a basket");

    for p in [gone, unpriced] {
        let (st, b) = s.send("PUT", "/baskets/basket/", Some(&cust), Some(json!({"product": p, "quantity": 0}))).await;
        assert_eq!(st, 200, "{b}");
        assert!(b["basket"]["unavailable_basket_products"].as_array().unwrap().iter().all(|u| u["product"]["pk"] != p));
    }
    let (st, o) = s.post("/orders/checkout/", &cust, json!({})).await;
    assert_eq!(st, 201, "{o}");
    assert_eq!((o["order"]["amount"].as_str(), o["order"]["discount_amount"].as_str()), (Some("90.00"), Some("10.00")));
    check_ledger(&store).await;
    store.close().await;
}

/// The PostgreSQL writer's batches, written through its own batch function so that the test
/// chooses what is batched together: plain checkouts are written together; a batch with a
/// basket changed since it was priced is written one by one instead, so that only that
/// checkout is refused; checkouts with a limit to claim, a key, or a basket another
/// checkout of the batch takes go one by one after the plain ones, with the limits exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_write_plain_checkouts_together_and_refusals_alone() {
    use offerline_core::CustomerId;
    use offerline_store::StoreError;
    use offerline_store::checkout::{BasketLines, CheckoutOutcome, CheckoutWrite, IdempotencyKey};
    use offerline_store::pg_writer::write_one_batch;

    let s = Server::start(Db::Postgres).await;
    let staff = s.staff();
    let a = product(&s, &staff, "BT-1", "10.00").await;
    let store = Store::connect(&s.database_url).await.unwrap();
    // Promotion 1 counts only; promotion 2 allows one application in all.
    for (id, max_global) in [(1, None), (2, Some(1i64))] {
        sqlx::query(
            "INSERT INTO promotions (id, name, slug, offer_type, currency, definition, max_global_applications, created_at, modified_at) \
             VALUES ($1, $2, $2, 'site', 'try', '{}', $3, 0, 0)",
        )
        .bind(id)
        .bind(format!("p{id}"))
        .bind(max_global)
        .execute(store.writer())
        .await
        .unwrap();
    }
    let customers = s.customers(9).await;
    // Each customer's basket: two units of `a`; (user, basket, line, quantity).
    let mut baskets = Vec::new();
    for (uid, token) in &customers {
        let (st, b) = s.post("/baskets/basket/", token, json!({"product": a, "quantity": 2})).await;
        assert!(st == 200 || st == 201, "{b}");
        let r = sqlx::query(
            "SELECT b.id, l.id, l.quantity FROM baskets b JOIN basket_lines l ON l.basket_id = b.id WHERE b.user_id = $1",
        )
        .bind(uid)
        .fetch_one(store.reader())
        .await
        .unwrap();
        baskets.push((*uid, r.get::<i64, _>(0), r.get::<i64, _>(1), r.get::<i64, _>(2)));
    }
    // A checkout of customer `k`'s basket: 2 units, 300 off through `promotion` (with a
    // claim of the offer and of the customer), a key if given.
    let write = |k: usize, promotion: i64, limit: Option<u32>, key: Option<&str>| {
        let (uid, basket_id, line, qty) = baskets[k];
        let unit = UnitDraft {
            product: ProductId(a),
            line_key: line.to_string(),
            price: 1000,
            retail_price: None,
            tax_rate: 18,
            price_list_id: None,
            stock_list_id: None,
            product_name: "BT".into(),
            product_sku: "BT-1".into(),
        };
        let offer = OfferId(promotion);
        CheckoutWrite {
            idempotency: key.map(|k| IdempotencyKey { user_id: uid, key: k.into(), expired_at_or_before: 0 }),
            basket: Some(BasketLines { basket_id, lines: vec![(line, qty)] }),
            priced_offers: vec![],
            order: NewOrder {
                number: None,
                user_id: Some(CustomerId(uid)),
                channel: "storefront".into(),
                status: OrderStatus::APPROVED,
                currency: Currency::parse("try").unwrap(),
                customer: None,
                shipping_address: Some(json!({"city": "İzmir"})),
                billing_address: None,
                draft: OrderDraft {
                    shipping_free: false,
                    units: vec![unit.clone(), unit],
                    discounts: vec![DiscountDraft {
                        name: format!("p{promotion}"),
                        amount: 300,
                        offer: Some(offer),
                        shares: vec![(0, 150), (1, 150)],
                        condition_units: vec![0, 1],
                        applications: 1,
                        ..DiscountDraft::default()
                    }],
                    claims: vec![
                        UsageClaim::Offer {
                            offer,
                            applications: 1,
                            discount: 300,
                            max_applications: limit,
                            max_discount: None,
                        },
                        UsageClaim::CustomerOffer {
                            offer,
                            customer: CustomerId(uid),
                            applications: 1,
                            max_applications: None,
                        },
                    ],
                },
            },
        }
    };
    let placed = |r: &Result<CheckoutOutcome, StoreError>| matches!(r, Ok(CheckoutOutcome::Placed { .. }));
    let lines_left = |k: usize| {
        let store = store.clone();
        let basket = baskets[k].1;
        async move {
            sqlx::query("SELECT COUNT(*) FROM basket_lines WHERE basket_id = $1")
                .bind(basket)
                .fetch_one(store.reader())
                .await
                .unwrap()
                .get::<i64, _>(0)
        }
    };

    // Three plain checkouts: written together.
    let render: offerline_store::checkout::Render = |d| d.order().row().number.clone();
    let (out, together) = write_one_batch(
        &s.database_url,
        vec![write(0, 1, None, None), write(1, 1, None, None), write(2, 1, None, None)],
        render,
    )
    .await
    .unwrap();
    assert!(out.iter().all(placed), "{out:?}");
    assert_eq!(together, 3);
    for k in 0..3 {
        assert_eq!(lines_left(k).await, 0, "customer {k}'s basket was taken");
    }

    // Customer 4's basket changed since it was priced: the batch is written one by one, and
    // only that checkout is refused. Customer 3's basket is taken twice: the second refused.
    sqlx::query("UPDATE basket_lines SET quantity = 5 WHERE id = $1")
        .bind(baskets[4].2)
        .execute(store.writer())
        .await
        .unwrap();
    let (out, together) = write_one_batch(
        &s.database_url,
        vec![write(3, 1, None, None), write(4, 1, None, None), write(5, 1, None, None), write(3, 1, None, None)],
        render,
    )
    .await
    .unwrap();
    assert_eq!(together, 0, "nothing written together");
    assert!(placed(&out[0]) && placed(&out[2]), "{out:?}");
    assert!(matches!(out[1], Err(StoreError::Invalid(_))), "{:?}", out[1]);
    assert!(matches!(out[3], Err(StoreError::Invalid(_))), "{:?}", out[3]);
    assert_eq!(lines_left(4).await, 1, "the refused checkout took nothing");

    // Mixed: the plain one together; the limited offer claimed by one of two, exactly; the
    // keyed one and the second checkout of one basket one by one.
    sqlx::query("UPDATE basket_lines SET quantity = 2 WHERE id = $1")
        .bind(baskets[4].2)
        .execute(store.writer())
        .await
        .unwrap();
    let (out, together) = write_one_batch(
        &s.database_url,
        vec![
            write(6, 2, Some(1), None),
            write(7, 1, None, None),
            write(8, 1, None, Some("k-8")),
            write(4, 2, Some(1), None),
            write(7, 1, None, None),
        ],
        render,
    )
    .await
    .unwrap();
    assert_eq!(together, 1, "customer 7's, once: the second checkout of its basket goes one by one");
    assert!(placed(&out[0]) && placed(&out[1]) && placed(&out[2]), "{out:?}");
    assert!(matches!(out[3], Err(StoreError::LimitReached(_))), "{:?}", out[3]);
    assert!(matches!(out[4], Err(StoreError::Invalid(_))), "{:?}", out[4]);
    assert_eq!(lines_left(4).await, 1, "the checkout over the limit took nothing");

    let usage = |promotion: i64| {
        let store = store.clone();
        async move {
            sqlx::query("SELECT applications, orders_count, discount_spent FROM offer_usage WHERE promotion_id = $1")
                .bind(promotion)
                .fetch_one(store.reader())
                .await
                .map(|r| (r.get::<i64, _>(0), r.get::<i64, _>(1), r.get::<i64, _>(2)))
                .unwrap()
        }
    };
    assert_eq!(usage(1).await, (7, 7, 2100), "customers 0, 1, 2, 3, 5, 7, 8");
    assert_eq!(usage(2).await, (1, 1, 300), "customer 6 only");
    assert_eq!(count(&store, "orders").await, 8);
    let key: i64 = sqlx::query("SELECT COUNT(*) FROM idempotency_keys WHERE key = 'k-8' AND status = 201")
        .fetch_one(store.reader())
        .await
        .unwrap()
        .get(0);
    assert_eq!(key, 1);
    check_ledger(&store).await;
}
