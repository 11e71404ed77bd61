//! The foundation: auth (staff, storefront, throttling), catalogue endpoints, validation
//! errors, pagination edges, path tolerance, operations endpoints.

use serde_json::json;

use crate::both;
use crate::helpers::{Db, Server};

both!(
    omnitron_login_success_failure_and_throttle,
    missing_or_bad_token_is_401_json,
    customer_cannot_reach_staff_endpoints,
    product_crud_and_validation,
    pagination_edges,
    storefront_login_cookie_and_logout,
    paths_tolerate_slashes_and_both_prefixes,
    ops_endpoints,
    prices_and_lists,
);

async fn omnitron_login_success_failure_and_throttle(db: Db) {
    let s = Server::start(db).await;
    s.user("alice", "alice@example.com", true);
    for prefix in ["/api/v1", "/api/i1"] {
        let (st, body) = s
            .send(
                "POST",
                &format!("{prefix}/auth/login/"),
                None,
                Some(json!({"username": "alice", "password": "pw-123456"})),
            )
            .await;
        assert_eq!(st, 200, "{body}");
        let key = body["key"].as_str().unwrap();
        assert!(key.len() >= 32);
        let (st, me) = s.get("/api/v1/active_user/", key).await;
        assert_eq!(st, 200);
        assert_eq!(me["username"], "alice");
        assert_eq!(me["is_staff"], true);
    }
    let (st, body) =
        s.send("POST", "/api/v1/auth/login/", None, Some(json!({"username": "alice", "password": "nope"}))).await;
    assert_eq!(st, 400);
    assert_eq!(body, json!({"non_field_errors": ["Unable to log in with provided credentials."]}));
    let (st, body) = s.send("POST", "/api/v1/auth/login/", None, Some(json!({"username": "alice"}))).await;
    assert_eq!(st, 400);
    assert_eq!(body["password"][0], "This field is required.");
    // Four more failures reach the limit of five; the sixth attempt is throttled, even with
    // the right password.
    for _ in 0..4 {
        let (st, _) =
            s.send("POST", "/api/v1/auth/login/", None, Some(json!({"username": "alice", "password": "nope"}))).await;
        assert_eq!(st, 400);
    }
    let (st, body) =
        s.send("POST", "/api/v1/auth/login/", None, Some(json!({"username": "alice", "password": "pw-123456"}))).await;
    assert_eq!(st, 429, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("throttled"));
}

async fn missing_or_bad_token_is_401_json(db: Db) {
    let s = Server::start(db).await;
    for path in ["/api/v1/products/", "/api/v1/active_user/", "/current_user/"] {
        let (st, body) = s.send("GET", path, None, None).await;
        assert_eq!(st, 401, "{path}");
        assert_eq!(body["detail"], "Authentication credentials were not provided.");
        let (st, body) = s.get(path, "0123456789abcdef0123456789abcdef01234567").await;
        assert_eq!(st, 401, "{path}");
        assert_eq!(body["detail"], "Invalid token.");
    }
    let resp = s.http.get(s.url("/api/v1/products/")).header("Authorization", "Token").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(resp.headers()["www-authenticate"], "Token");
}

async fn customer_cannot_reach_staff_endpoints(db: Db) {
    let s = Server::start(db).await;
    let (_, token) = s.customer();
    for path in ["/api/v1/products/", "/api/v1/price_lists/", "/api/i1/stock_lists/"] {
        let (st, body) = s.get(path, &token).await;
        assert_eq!(st, 403, "{path}");
        assert_eq!(body["detail"], "You do not have permission to perform this action.");
    }
    let (st, _) = s.post("/api/v1/products/", &token, json!({"name": "x", "sku": "x"})).await;
    assert_eq!(st, 403);
    let (st, me) = s.get("/current_user/", &token).await;
    assert_eq!(st, 200);
    assert!(me["email"].as_str().unwrap().ends_with("@example.com"));
}

async fn product_crud_and_validation(db: Db) {
    let s = Server::start(db).await;
    let t = s.staff();
    let (st, p) = s
        .post(
            "/api/v1/products/",
            &t,
            json!({"name": "Bardak", "sku": "SKU-1", "base_code": "B1", "attributes": {"renk": "STD"},
                   "attributes_kwargs": {"renk": {"value": "STD", "data_type": "dropdown", "label": "STD"}},
                   "images": ["http://img.example/1.jpg"]}),
        )
        .await;
    assert_eq!(st, 201, "{p}");
    assert_eq!(p["sku"], "SKU-1");
    assert_eq!(p["product_type"], "0");
    assert_eq!(p["attributes"]["renk"], "STD");
    assert_eq!(p["productimage_set"][0]["image"], "http://img.example/1.jpg");
    assert!(p["uuid"].as_str().unwrap().len() == 36);
    assert!(p["created_date"].as_str().unwrap().ends_with('Z'));
    let pk = p["pk"].as_i64().unwrap();

    let (st, dup) = s.post("/api/v1/products/", &t, json!({"name": "Again", "sku": "SKU-1"})).await;
    assert_eq!(st, 400);
    assert!(dup["sku"][0].as_str().unwrap().contains("already exists"));

    let (st, bad) = s.post("/api/v1/products/", &t, json!({"name": "", "attributes": [1]})).await;
    assert_eq!(st, 400);
    assert_eq!(bad["name"][0], "This field may not be blank.");
    assert_eq!(bad["sku"][0], "This field is required.");
    assert!(bad["attributes"].is_array());

    let resp = s
        .http
        .post(s.url("/api/v1/products/"))
        .header("Authorization", format!("Token {t}"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().starts_with("JSON parse error"));

    let (st, p2) =
        s.send("PATCH", &format!("/api/v1/products/{pk}/"), Some(&t), Some(json!({"name": "Bardak 2"}))).await;
    assert_eq!(st, 200);
    assert_eq!(p2["name"], "Bardak 2");
    assert_eq!(p2["sku"], "SKU-1");
    let (st, got) = s.get(&format!("/api/v1/products/{pk}/"), &t).await;
    assert_eq!(st, 200);
    assert_eq!(got["name"], "Bardak 2");
    for missing in ["/api/v1/products/999999/", "/api/v1/products/abc/"] {
        let (st, body) = s.get(missing, &t).await;
        assert_eq!(st, 404);
        assert_eq!(body["detail"], "Not found.");
    }
    let (st, found) = s.get("/api/v1/products/?sku=SKU-1", &t).await;
    assert_eq!(st, 200);
    assert_eq!(found["count"], 1);

    // A body over 1 MiB is refused with 413.
    let big = "x".repeat(1_100_000);
    let resp = s
        .http
        .post(s.url("/api/v1/products/"))
        .header("Authorization", format!("Token {t}"))
        .header("content-type", "application/json")
        .body(format!("{{\"name\": \"{big}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
}

async fn pagination_edges(db: Db) {
    let s = Server::start(db).await;
    let t = s.staff();
    for i in 0..5 {
        let (st, _) = s
            .post(
                "/api/v1/products/",
                &t,
                json!({"name": format!("P{i}"), "sku": format!("S{i}"), "is_active": i % 2 == 0}),
            )
            .await;
        assert_eq!(st, 201);
    }
    let (st, page) = s.get("/api/v1/products/?limit=2&is_active=true&sort=-id", &t).await;
    assert_eq!(st, 200);
    assert_eq!(page["count"], 3);
    assert_eq!(page["results"].as_array().unwrap().len(), 2);
    assert_eq!(page["results"][0]["sku"], "S4");
    assert_eq!(page["previous"], serde_json::Value::Null);
    let next = page["next"].as_str().unwrap();
    assert!(next.starts_with("http://127.0.0.1:"), "{next}");
    assert!(
        next.contains("limit=2")
            && next.contains("is_active=true")
            && next.contains("sort=-id")
            && next.contains("page=2")
    );
    let resp: serde_json::Value =
        s.http.get(next).header("Authorization", format!("Token {t}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(resp["results"].as_array().unwrap().len(), 1);
    assert_eq!(resp["next"], serde_json::Value::Null);
    let prev = resp["previous"].as_str().unwrap();
    assert!(!prev.contains("page="), "{prev}");
    for bad in ["page=3&limit=2&is_active=true", "page=0", "page=-1", "page=abc", "page=99"] {
        let (st, body) = s.get(&format!("/api/v1/products/?{bad}"), &t).await;
        assert_eq!(st, 404, "{bad}");
        assert_eq!(body["detail"], "Invalid page.");
    }
    // The page size is capped at 1000 and page_size is an alias of limit.
    let (_, all) = s.get("/api/v1/products/?limit=100000", &t).await;
    assert_eq!(all["results"].as_array().unwrap().len(), 5);
    let (_, two) = s.get("/api/v1/products/?page_size=2", &t).await;
    assert_eq!(two["results"].as_array().unwrap().len(), 2);
    let (st, body) = s.get("/api/v1/products/?id__gt=abc", &t).await;
    assert_eq!(st, 400);
    assert_eq!(body["id__gt"][0], "Enter a number.");
    let (_, some) = s.get("/api/v1/products/?pk__in=1,2&unknown_filter=1", &t).await;
    assert_eq!(some["count"], 2);
    // An empty list still has page 1.
    let (st, empty) = s.get("/api/v1/products/?sku=nothing", &t).await;
    assert_eq!(st, 200);
    assert_eq!(empty["count"], 0);
}

async fn storefront_login_cookie_and_logout(db: Db) {
    let s = Server::start(db).await;
    s.user("bob", "Bob@Example.com", false);
    let resp = s
        .http
        .post(s.url("/users/login/"))
        .json(&json!({"email": "bob@example.com", "password": "pw-123456", "formType": "login"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("Path=/") && cookie.contains("SameSite=Lax"));
    let sid = cookie.split(';').next().unwrap().strip_prefix("osessionid=").unwrap().to_owned();
    assert!(sid.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(body["key"].is_string());
    let me = s
        .http
        .get(s.url("/current_user"))
        .header("Cookie", format!("csrftoken=x; osessionid={sid}"))
        .header("X-Requested-With", "XMLHttpRequest")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status().as_u16(), 200);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["email"], "Bob@Example.com");
    let out = s.http.post(s.url("/users/logout/")).header("Cookie", format!("osessionid={sid}")).send().await.unwrap();
    assert_eq!(out.status().as_u16(), 200);
    let again = s.http.get(s.url("/current_user/")).header("Cookie", format!("osessionid={sid}")).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 401);
    let (st, body) =
        s.send("POST", "/users/login/", None, Some(json!({"email": "bob@example.com", "password": "bad"}))).await;
    assert_eq!(st, 400);
    assert!(body["non_field_errors"].is_array());
}

async fn paths_tolerate_slashes_and_both_prefixes(db: Db) {
    let s = Server::start(db).await;
    let t = s.staff();
    for path in
        ["/api/v1/products/", "/api/v1/products", "/api/i1/products/", "/api//v1//products//", "/api/v1/price_lists"]
    {
        let (st, _) = s.get(path, &t).await;
        assert_eq!(st, 200, "{path}");
    }
    let (st, body) = s.get("/api/v1/no-such-thing/", &t).await;
    assert_eq!(st, 404);
    assert_eq!(body["detail"], "Not found.");
    // An empty JSON body on GET is fine.
    let resp = s
        .http
        .get(s.url("/api/v1/products/"))
        .header("Authorization", format!("Token {t}"))
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

async fn ops_endpoints(db: Db) {
    let s = Server::start(db).await;
    let (st, _) = s.send("GET", "/healthz", None, None).await;
    assert_eq!(st, 200);
    let (st, body) = s.send("GET", "/readyz", None, None).await;
    assert_eq!(st, 200);
    assert_eq!(body["database"], "ok");
    let (st, metrics) = s.send("GET", "/metrics", None, None).await;
    assert_eq!(st, 200);
    assert!(metrics.as_str().unwrap().contains("offerline_http_requests_total"));
    let (st, doc) = s.send("GET", "/openapi.json", None, None).await;
    assert_eq!(st, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for p in ["/api/v1/auth/login/", "/api/i1/products/{pk}/", "/users/login/", "/oauth/access_token", "/healthz"] {
        assert!(paths.contains_key(p), "{p} missing from the OpenAPI document");
    }
}

async fn prices_and_lists(db: Db) {
    let s = Server::start(db).await;
    let t = s.staff();
    let (_, lists) = s.get("/api/v1/price_lists/", &t).await;
    assert_eq!(lists["results"][0]["name"], "default_price_list");
    assert_eq!(lists["results"][0]["currency"], "try");
    let (_, stock) = s.get("/api/v1/stock_lists/", &t).await;
    assert_eq!(stock["results"][0]["code"], "default_stock_list");
    let (_, p) = s.post("/api/v1/products/", &t, json!({"name": "P", "sku": "P1"})).await;
    let pk = p["pk"].as_i64().unwrap();
    let (st, price) =
        s.post("/api/v1/product_prices/", &t, json!({"product": pk, "price": "63.92", "tax_rate": "18"})).await;
    assert_eq!(st, 201, "{price}");
    assert_eq!(price["price"], "63.92");
    assert_eq!(price["tax_rate"], "18.00");
    let (st, price) =
        s.post("/api/v1/product_prices/", &t, json!({"product": pk, "price": "70", "retail_price": "99.90"})).await;
    assert_eq!(st, 201);
    assert_eq!(price["price"], "70.00");
    let (_, prices) = s.get(&format!("/api/v1/product_prices/?product={pk}"), &t).await;
    assert_eq!(prices["count"], 1, "upsert keeps one price per product and list");
    for (body, field) in [
        (json!({"product": pk, "price": "-1"}), "price"),
        (json!({"product": pk, "price": "1.234"}), "price"),
        (json!({"product": pk, "price": "abc"}), "price"),
        (json!({"product": 99999, "price": "1"}), "product"),
        (json!({"price": "1"}), "product"),
    ] {
        let (st, err) = s.post("/api/v1/product_prices/", &t, body.clone()).await;
        assert_eq!(st, 400, "{body}");
        assert!(err[field].is_array(), "{body} → {err}");
    }
    let (st, pl) = s.post("/api/v1/price_lists/", &t, json!({"name": "USD list", "currency": "USD"})).await;
    assert_eq!(st, 201);
    assert_eq!(pl["currency"], "usd");
    let (st, err) = s.post("/api/v1/price_lists/", &t, json!({"name": "Bad", "currency": "dollars"})).await;
    assert_eq!(st, 400);
    assert!(err["currency"].is_array());
}
