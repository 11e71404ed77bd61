//! Money stays exact from the request to the answer: JSON numbers given for amounts are read
//! exactly or refused, the account's offer total is summed in minor units of one currency,
//! a basket line's price × quantity cannot overflow, and concurrent adds to one basket line
//! all count.

use serde_json::{Value, json};

use crate::both;
use crate::checkout::product;
use crate::helpers::{Db, Server};
use crate::ledger::{fixture, promotion};

both!(
    money_numbers_are_read_exactly_or_refused,
    account_offer_total_is_exact_in_one_currency,
    basket_line_total_cannot_overflow,
    concurrent_adds_to_one_basket_line_all_count,
);

async fn money_numbers_are_read_exactly_or_refused(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    let (st, p) = s.post("/api/v1/products/", &staff, json!({"name": "Big", "sku": "BIG-1"})).await;
    assert_eq!(st, 201, "{p}");
    let pk = p["pk"].as_i64().unwrap();
    // As a number, 99999999999999.99 is read into a double whose text is …98: refused.
    let (st, e) = s
        .post("/api/v1/product_prices/", &staff, json!({"product": pk, "price": 99_999_999_999_999.99, "tax_rate": 18}))
        .await;
    assert_eq!(st, 400, "{e}");
    assert!(e["price"][0].as_str().unwrap().contains("send it as a string"), "{e}");
    // As a string it is kept to the last digit; a short number is still read as it was written.
    let (st, b) = s
        .post("/api/v1/product_prices/", &staff, json!({"product": pk, "price": "99999999999999.99", "tax_rate": 18}))
        .await;
    assert_eq!(st, 201, "{b}");
    assert_eq!(b["price"], "99999999999999.99", "{b}");
    let (st, b) =
        s.post("/api/v1/product_prices/", &staff, json!({"product": pk, "price": 12.5, "tax_rate": 18})).await;
    assert_eq!(st, 201, "{b}");
    assert_eq!(b["price"], "12.50", "{b}");
    // A promotion's amounts likewise.
    let body = |v: Value| {
        json!({"name": "Exact", "currency": "try", "offer_type": "site",
               "condition": {"type": "none"}, "benefit": {"type": "fixed", "value": v}})
    };
    let (st, e) = s.post("/api/v1/promotions/", &staff, body(json!(99_999_999_999_999.99))).await;
    assert_eq!(st, 400, "{e}");
    assert!(e.to_string().contains("send it as a string"), "{e}");
    let (st, p) = s.post("/api/v1/promotions/", &staff, body(json!("99999999999999.99"))).await;
    assert_eq!(st, 201, "{p}");
}

async fn account_offer_total_is_exact_in_one_currency(db: Db) {
    let s = Server::start(db).await;
    let f = fixture(&s).await;
    let me = f.customer.0;
    let fixed = |v: &str| json!({"condition": {"type": "none"}, "benefit": {"type": "fixed", "value": v}});
    for (name, currency, value) in
        [("KWD a", "kwd", "1.234"), ("KWD b", "kwd", "0.001"), ("TRY a", "try", "0.10"), ("TRY b", "try", "0.20")]
    {
        let id = promotion(&f.store, name, "coupon", currency, None, None, fixed(value)).await;
        sqlx::query("INSERT INTO promotion_customers (promotion_id, user_id) VALUES ($1, $2)")
            .bind(id)
            .bind(me)
            .execute(f.store.writer())
            .await
            .unwrap();
    }
    let raw = |currency: Option<&'static str>| {
        let mut req =
            s.http.get(s.url("/account/basket-offers/")).header("Authorization", format!("Token {}", f.customer.1));
        if let Some(c) = currency {
            req = req.header("x-currency", c);
        }
        async move {
            let r = req.send().await.unwrap();
            assert_eq!(r.status().as_u16(), 200);
            r.text().await.unwrap()
        }
    };
    // Three minor digits are kept (two assumed gave 1.23), written as an exact number.
    let kwd = raw(Some("kwd")).await;
    assert!(kwd.contains(r#""total_discount":1.235,"#), "{kwd}");
    let try_ = raw(Some("try")).await;
    assert!(try_.contains(r#""total_discount":0.3,"#), "{try_}");
    // Without x-currency every offer is listed, and the total is the default price list's
    // currency's (try) alone, never lira and dinars added up.
    let all = raw(None).await;
    let body: Value = serde_json::from_str(&all).unwrap();
    assert_eq!(body["discounts"].as_array().unwrap().len(), 4, "{all}");
    assert!(all.contains(r#""total_discount":0.3,"#), "{all}");
}

async fn basket_line_total_cannot_overflow(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    let (_, cust) = s.customer();
    // About i64::MAX / 100 minor units: 100 of them fit in an i64, 500 or 1000 do not.
    let big = product(&s, &staff, "HUGE-1", "922337203685477.00").await;
    let (st, e) = s.post("/baskets/basket/", &cust, json!({"product": big, "quantity": 1000})).await;
    assert_eq!(st, 400, "{e}");
    assert!(e["quantity"][0].as_str().unwrap().contains("too large"), "{e}");
    let (st, e) = s.send("PUT", "/baskets/basket/", Some(&cust), Some(json!({"product": big, "quantity": 500}))).await;
    assert_eq!(st, 400, "{e}");
    // Nothing was stored, and the basket still shows.
    let (st, b) = s.get("/baskets/basket/", &cust).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["basket"]["basketitem_set"], json!([]));
    // One unit fits, and adding past the limit is refused the same way.
    let (st, b) = s.post("/baskets/basket/", &cust, json!({"product": big, "quantity": 1})).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["basket"]["basketitem_set"][0]["price"], "922337203685477.00");
    let (st, e) = s.post("/baskets/basket/", &cust, json!({"product": big, "quantity": 999})).await;
    assert_eq!(st, 400, "{e}");
    let (st, b) = s.get("/baskets/basket/", &cust).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["basket"]["basketitem_set"][0]["quantity"], 1);
}

async fn concurrent_adds_to_one_basket_line_all_count(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    let (_, cust) = s.customer();
    let p = product(&s, &staff, "RACE-1", "1.00").await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (http, url, auth) = (s.http.clone(), s.url("/baskets/basket/"), format!("Token {cust}"));
        tasks.push(tokio::spawn(async move {
            let r =
                http.post(url).header("Authorization", auth).json(&json!({"product": p, "quantity": 1})).send().await;
            r.unwrap().status().as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let (st, b) = s.get("/baskets/basket/", &cust).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["basket"]["basketitem_set"][0]["quantity"], 20, "{b}");
    assert_eq!(b["basket"]["total_amount"], "20.00");
}
