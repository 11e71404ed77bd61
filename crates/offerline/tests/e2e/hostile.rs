//! Hostile input: oversized, deeply nested, non-UTF-8 and mistyped bodies, absurd ids and page
//! numbers in paths and queries, SQL-looking filter values, money with too many digits, NUL
//! characters, unknown currencies and over-long codes. Each gets a clean 4xx in its dialect's
//! error format (DRF `{"detail"}` / field errors; Elastic Path `{"errors": [{status, title,
//! detail}]}`), never a 5xx, a panic or a hung request, and the server answers `/healthz`
//! afterwards.

use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Db, Server};

both!(
    hostile_bodies,
    hostile_paths_and_pages,
    sql_looking_filters_match_nothing,
    hostile_money_and_codes,
    nul_characters,
    hostile_elastic_path,
);

/// A raw request: any method, headers and body bytes; returns (status, JSON body or string).
async fn raw(s: &Server, method: &str, path: &str, headers: &[(&str, &str)], body: Option<Vec<u8>>) -> (u16, Value) {
    let mut req = s.http.request(method.parse().expect("method"), s.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    let resp = req.send().await.expect("the server answers (no hang, no reset)");
    let status = resp.status().as_u16();
    let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let text = resp.text().await.expect("body");
    assert!(text.is_empty() || ct.starts_with("application/json"), "{method} {path}: {status} {ct}: {text}");
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON error body") })
}

/// Sends a 10 MiB body over a raw socket and reads the answer. The server refuses it from
/// `Content-Length` without reading it and closes the connection, so an HTTP client still
/// writing the body sees a broken pipe instead of the answer; this one stops writing at the
/// first error and reads what the server said.
async fn oversized(s: &Server, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = s.base.trim_start_matches("http://");
    let mut sock = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let len = 10 * 1024 * 1024;
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {len}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    sock.write_all(head.as_bytes()).await.expect("head");
    let chunk = vec![b'['; 64 * 1024];
    for _ in 0..len / chunk.len() {
        if sock.write_all(&chunk).await.is_err() {
            break;
        }
    }
    let mut out = Vec::new();
    sock.read_to_end(&mut out).await.ok();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status: u16 =
        text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("no answer: {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    assert!(text.to_ascii_lowercase().contains("content-type: application/json"), "{path}: {text}");
    (status, serde_json::from_str(body).unwrap_or_else(|_| panic!("JSON error body: {text}")))
}

/// A 4xx with a DRF error body: `{"detail": "…"}`, or field errors `{"field": [..] | {..}}`.
#[track_caller]
fn drf(status: u16, body: &Value, what: &str) {
    assert!((400..500).contains(&status), "{what}: {status} {body}");
    let obj = body.as_object().unwrap_or_else(|| panic!("{what}: not a DRF object: {body}"));
    assert!(!obj.is_empty(), "{what}: empty error body");
    if let Some(d) = obj.get("detail") {
        assert!(d.as_str().is_some_and(|d| !d.is_empty()), "{what}: {body}");
    } else {
        assert!(obj.values().all(|v| v.is_array() || v.is_object()), "{what}: {body}");
    }
}

/// A 4xx with an Elastic Path error body whose `status` is the response's.
#[track_caller]
fn ep_err(status: u16, body: &Value, what: &str) {
    assert!((400..500).contains(&status), "{what}: {status} {body}");
    let e = &body["errors"][0];
    assert_eq!(e["status"], status, "{what}: {body}");
    assert!(e["title"].as_str().is_some_and(|t| !t.is_empty()), "{what}: {body}");
    assert!(e["detail"].as_str().is_some_and(|t| !t.is_empty()), "{what}: {body}");
}

async fn healthy(s: &Server) {
    let (st, body) = s.send("GET", "/healthz", None, None).await;
    assert_eq!((st, body), (200, json!({"status": "ok"})));
}

/// A client-credentials bearer token.
async fn bearer(s: &Server) -> String {
    let c: Value = serde_json::from_str(s.cli(&["client", "create", "--name", "hostile"]).trim()).expect("json");
    let resp = s
        .http
        .post(s.url("/oauth/access_token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c["client_id"].as_str().expect("id")),
            ("client_secret", c["client_secret"].as_str().expect("secret")),
        ])
        .send()
        .await
        .expect("token");
    let v: Value = resp.json().await.expect("json");
    v["access_token"].as_str().expect("access_token").to_owned()
}

/// A product priced `price` in the default price list; returns its pk.
async fn product(s: &Server, t: &str, sku: &str, price: &str) -> i64 {
    let (st, p) = s.post("/api/v1/products/", t, json!({"name": format!("Product {sku}"), "sku": sku})).await;
    assert_eq!(st, 201, "{p}");
    let pk = p["pk"].as_i64().expect("pk");
    let (st, body) = s.post("/api/v1/product_prices/", t, json!({"product": pk, "price": price})).await;
    assert_eq!(st, 201, "{body}");
    pk
}

async fn hostile_bodies(db: Db) {
    let s = Server::start(db).await;
    let t = s.staff();
    let tok = format!("Token {t}");
    let auth = ("Authorization", tok.as_str());
    let json_ct = ("Content-Type", "application/json");
    let nested = "[".repeat(100_000).into_bytes();
    // 10 MB → 413; 100,000 '[' → 400; invalid UTF-8 → 400; JSON that is not an object → 400.
    for path in ["/api/v1/products/", "/api/v1/promotions/", "/api/v1/pricing/simulate/", "/api/v1/auth/login/"] {
        let (st, body) = oversized(&s, "POST", path, &[auth, json_ct]).await;
        assert_eq!(st, 413, "{path}: {body}");
        drf(st, &body, path);
        let (st, body) = raw(&s, "POST", path, &[auth, json_ct], Some(nested.clone())).await;
        assert_eq!(st, 400, "{path}: {body}");
        drf(st, &body, path);
        for bad in [&b"{\"name\": \"\xff\xfe\"}"[..], b"\xc3\x28", b"null", b"[]", b"\"text\"", b"1e999999", b"{\"a\":"]
        {
            let (st, body) = raw(&s, "POST", path, &[auth, json_ct], Some(bad.to_vec())).await;
            assert_eq!(st, 400, "{path} {bad:?}: {body}");
            drf(st, &body, path);
        }
    }
    // A body in a media type no handler reads → 415, DRF's wording; JSON with a charset
    // parameter, and a JSON body sent as a form (curl -d), are still read.
    for ct in ["text/plain", "application/xml", "multipart/form-data; boundary=x", "application/octet-stream"] {
        let body = br#"{"name": "P", "sku": "ct-1"}"#.to_vec();
        let (st, err) = raw(&s, "POST", "/api/v1/products/", &[auth, ("Content-Type", ct)], Some(body)).await;
        assert_eq!(st, 415, "{ct}: {err}");
        assert_eq!(err["detail"], format!("Unsupported media type \"{ct}\" in request."));
    }
    for (ct, sku) in [("application/json; charset=utf-8", "ct-2"), ("application/x-www-form-urlencoded", "ct-3")] {
        let body = format!(r#"{{"name": "P", "sku": "{sku}"}}"#).into_bytes();
        let (st, p) = raw(&s, "POST", "/api/v1/products/", &[auth, ("Content-Type", ct)], Some(body)).await;
        assert_eq!(st, 201, "{ct}: {p}");
    }
    // Storefront routes: the same refusals in the same format.
    let (_, ctoken) = s.customer();
    let ctok = format!("Token {ctoken}");
    for (method, path) in [("POST", "/baskets/basket/"), ("PATCH", "/baskets/basket/"), ("POST", "/orders/checkout/")] {
        let cauth = ("Authorization", ctok.as_str());
        let (st, body) = raw(&s, method, path, &[cauth, json_ct], Some(nested.clone())).await;
        assert_eq!(st, 400, "{path}: {body}");
        drf(st, &body, path);
        let (st, body) = oversized(&s, method, path, &[cauth, json_ct]).await;
        assert_eq!(st, 413, "{path}: {body}");
        drf(st, &body, path);
        let (st, body) = raw(&s, method, path, &[cauth, ("Content-Type", "text/plain")], Some(b"{}".to_vec())).await;
        assert_eq!(st, 415, "{path}: {body}");
        drf(st, &body, path);
    }
    // A method the route does not serve: 405 with DRF's body and the Allow header.
    let (st, body) = raw(&s, "PUT", "/api/v1/products/", &[auth], None).await;
    assert_eq!(st, 405);
    assert_eq!(body, json!({"detail": "Method \"PUT\" not allowed."}));
    // Extension methods are answered, and share one metrics label.
    for m in ["FOO", "BAR", "BAZ"] {
        let (st, body) = raw(&s, m, "/api/v1/products/", &[auth], None).await;
        assert_eq!(st, 405, "{m}");
        drf(st, &body, m);
    }
    let metrics = s.http.get(s.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains("method=\"OTHER\"") && !metrics.contains("FOO"), "{metrics}");
    healthy(&s).await;
}

async fn hostile_paths_and_pages(db: Db) {
    let s = Server::start(db).await;
    let t = s.staff();
    for i in 0..3 {
        product(&s, &t, &format!("page-{i}"), "10.00").await;
    }
    let ids = ["99999999999999999999", "9223372036854775807", "-1", "0", "abc", "1e3", "%20", "1%2F2"];
    let templates = [
        "/api/v1/orders_integration/{}/detailed_integration/",
        "/api/i1/orders_integration/{}/detailed_integration/",
        "/api/v1/products/{}/",
        "/api/v1/promotions/{}/",
        "/api/v1/discount_items/{}/detailed_integration/",
        "/api/v1/order_item/{}/detailed_integration/",
        "/api/v1/oms/order_items/{}/",
    ];
    for tpl in templates {
        for id in ids {
            let path = tpl.replace("{}", id);
            let (st, body) = s.get(&path, &t).await;
            assert_eq!((st, &body), (404, &json!({"detail": "Not found."})), "{path}");
        }
        // A path segment that is not UTF-8 is a 400 in the same format, not axum's text.
        let path = tpl.replace("{}", "%FF%FE");
        let (st, body) = raw(&s, "GET", &path, &[("Authorization", &format!("Token {t}"))], None).await;
        assert_eq!(st, 400, "{path}: {body}");
        drf(st, &body, &path);
    }
    for (method, path) in [
        ("PATCH", "/api/v1/order_item/99999999999999999999/"),
        ("POST", "/api/v1/order_items/-1/update_status/"),
        ("POST", "/api/v1/orders/abc/cancel/"),
        ("POST", "/api/v1/promotions/99999999999999999999/generate_vouchers/"),
        ("PATCH", "/api/v1/products/-1/"),
        ("DELETE", "/api/v1/promotions/abc/"),
    ] {
        let (st, body) = s.send(method, path, Some(&t), Some(json!({"status": "550", "count": 1}))).await;
        assert_eq!((st, &body), (404, &json!({"detail": "Not found."})), "{method} {path}");
    }
    // Pages: 0, negative, not a number, past i64 → 404 "Invalid page."; sizes that are not
    // positive integers fall back to 10, huge ones are capped at 1000 (DRF).
    for page in ["0", "-1", "abc", "99999999999999999999", "9223372036854775807", "1.5", "%00"] {
        for list in ["/api/v1/products/", "/api/v1/orders/", "/api/v1/oms/order_items/", "/api/v1/vouchers/"] {
            let path = format!("{list}?page={page}");
            let (st, body) = s.get(&path, &t).await;
            assert!(st == 404 || (page == "%00" && st == 400), "{path}: {st} {body}");
            drf(st, &body, &path);
            if page != "%00" {
                assert_eq!(body, json!({"detail": "Invalid page."}), "{path}");
            }
        }
    }
    for limit in ["-5", "0", "abc", "100000", "99999999999999999999", "9223372036854775807"] {
        for param in ["limit", "page_size"] {
            let path = format!("/api/v1/products/?{param}={limit}");
            let (st, body) = s.get(&path, &t).await;
            assert_eq!(st, 200, "{path}: {body}");
            assert_eq!(body["count"], 3);
            assert_eq!(body["results"].as_array().map(Vec::len), Some(3), "{path}");
        }
    }
    let (st, body) = s.get("/api/v1/products/?limit=100000&page=2", &t).await;
    assert_eq!((st, &body["detail"]), (404, &json!("Invalid page.")));
    healthy(&s).await;
}

async fn sql_looking_filters_match_nothing(db: Db) {
    let s = Server::start(db).await;
    let t = s.staff();
    let pk = product(&s, &t, "sqli-1", "10.00").await;
    let (_, customer) = s.customer();
    let (st, _) = s.post("/baskets/basket/", &customer, json!({"product": pk, "quantity": 1})).await;
    assert_eq!(st, 200);
    let (st, order) = s.post("/orders/checkout/", &customer, json!({})).await;
    assert_eq!(st, 201, "{order}");
    let hostile = [
        "' OR 1=1 --",
        "1; DROP TABLE orders",
        "1' OR '1'='1",
        "\" OR \"\"=\"",
        "1) OR (1=1",
        "%' OR 1=1 --",
        "x'; DELETE FROM products; --",
        "1 UNION SELECT password FROM users",
    ];
    for v in hostile {
        let q = urlencode(v);
        // Text filters: bound values, so nothing matches and nothing breaks.
        for path in [
            format!("/api/v1/orders/?number={q}"),
            format!("/api/v1/products/?sku={q}"),
            format!("/api/v1/vouchers/?code={q}"),
            format!("/api/v1/oms/order_items/?order_number={q}"),
        ] {
            let (st, body) = s.get(&path, &t).await;
            assert_eq!(st, 200, "{path}: {body}");
            assert_eq!(body["count"], 0, "{path}: {body}");
        }
        // Numeric filters refuse the value; sort keys come from an allow-list (unknown ones
        // are ignored).
        for path in [
            format!("/api/v1/orders/?id__gt={q}"),
            format!("/api/v1/orders/?pk__in={q}"),
            format!("/api/v1/discount_items/detailed_integration/?order={q}"),
            format!("/api/v1/orders/?created_date__gte={q}"),
        ] {
            let (st, body) = s.get(&path, &t).await;
            assert_eq!(st, 400, "{path}: {body}");
            drf(st, &body, &path);
        }
        let (st, body) = s.get(&format!("/api/v1/orders/?sort={q}"), &t).await;
        assert_eq!((st, &body["count"]), (200, &json!(1)), "sort {v}: {body}");
        // Credentials that look like SQL are just wrong credentials.
        let (st, body) = s.send("POST", "/api/v1/auth/login/", None, Some(json!({"username": v, "password": v}))).await;
        assert_eq!(st, 400, "{body}");
        let (st, body) = s.get("/api/v1/orders/", v).await;
        assert_eq!(st, 401, "{body}");
    }
    // Every row is still there.
    let (_, orders) = s.get("/api/v1/orders/", &t).await;
    assert_eq!(orders["count"], 1);
    let (_, products) = s.get("/api/v1/products/", &t).await;
    assert_eq!(products["count"], 1);
    healthy(&s).await;
}

/// `v` as JSON text with the placeholders `"@BIG@"` / `"@NEGBIG@"` replaced by 30-digit
/// integer literals (which `serde_json::Value` cannot hold).
fn with_big(v: &Value) -> Vec<u8> {
    v.to_string()
        .replace("\"@BIG@\"", "123456789012345678901234567890")
        .replace("\"@NEGBIG@\"", "-123456789012345678901234567890")
        .into_bytes()
}

fn urlencode(v: &str) -> String {
    v.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

async fn hostile_money_and_codes(db: Db) {
    let s = Server::start(db).await;
    let t = s.staff();
    let pk = product(&s, &t, "money-1", "10.00").await;
    let thirty = "123456789012345678901234567890";
    for price in [thirty, "1.234", "10.001", "-1", "1e300", "NaN", "Infinity", "0x10", "", "92233720368547758.08"] {
        let (st, body) = s.post("/api/v1/product_prices/", &t, json!({"product": pk, "price": price})).await;
        assert_eq!(st, 400, "{price}: {body}");
        assert!(body["price"].is_array(), "{price}: {body}");
    }
    let (st, body) = s.post("/api/v1/product_prices/", &t, json!({"product": pk, "price": 1e300})).await;
    assert_eq!((st, body["price"].is_array()), (400, true), "{body}");
    let promo = |benefit: Value, extra: Value| {
        let mut p = json!({"name": "Hostile", "offer_type": "site", "currency": "try",
                           "condition": {"type": "none"}, "benefit": benefit});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            p[k] = v;
        }
        p
    };
    for (body, key) in [
        (promo(json!({"type": "fixed", "value": thirty}), json!({})), "benefit"),
        (promo(json!({"type": "fixed", "value": "1.999"}), json!({})), "benefit"),
        (promo(json!({"type": "percentage", "value": "10.0000000000000000000000000001"}), json!({})), "benefit"),
        (promo(json!({"type": "percentage", "value": thirty}), json!({})), "benefit"),
        (promo(json!({"type": "fixed", "value": "1"}), json!({"max_discount": thirty})), "max_discount"),
        (promo(json!({"type": "fixed", "value": "1"}), json!({"priority": "@BIG@"})), "priority"),
        (promo(json!({"type": "fixed", "value": "1"}), json!({"currency": "xyz"})), "currency"),
        (promo(json!({"type": "fixed", "value": "1"}), json!({"currency": "TRYY"})), "currency"),
        (promo(json!({"type": "fixed", "value": "1"}), json!({"currency": "12"})), "currency"),
    ] {
        let tok = format!("Token {t}");
        let h = [("Authorization", tok.as_str()), ("Content-Type", "application/json")];
        let (st, err) = raw(&s, "POST", "/api/v1/promotions/", &h, Some(with_big(&body))).await;
        assert_eq!(st, 400, "{body}: {err}");
        assert!(err[key].is_array() || err[key].is_object(), "{key}: {err}");
    }
    let (st, err) = s
        .post("/api/v1/pricing/simulate/", &t, json!({"lines": [{"sku": "money-1", "quantity": 99999999999999999u64}]}))
        .await;
    assert_eq!(st, 400, "{err}");
    drf(st, &err, "simulate quantity");
    // Over-long voucher codes: refused when created, applied, filtered or generated.
    let long = "V".repeat(100_000);
    let code_promo = json!({"name": "Code", "offer_type": "voucher_code", "benefit": {"type": "fixed", "value": "1"}});
    let (st, p) = s.post("/api/v1/promotions/", &t, code_promo).await;
    assert_eq!(st, 201, "{p}");
    let (st, err) = s.post("/api/v1/vouchers/", &t, json!({"code": long, "promotion": p["id"]})).await;
    assert_eq!((st, err["code"].is_array()), (400, true), "{err}");
    let (st, err) = s
        .post(&format!("/api/v1/promotions/{}/generate_vouchers/", p["id"]), &t, json!({"count": 1, "prefix": long}))
        .await;
    assert_eq!((st, err["prefix"].is_array()), (400, true), "{err}");
    let (st, page) = s.get(&format!("/api/v1/vouchers/?code={}", "V".repeat(4000)), &t).await;
    assert_eq!((st, &page["count"]), (200, &json!(0)));
    let (_, customer) = s.customer();
    let (st, err) = s.send("PATCH", "/baskets/basket/", Some(&customer), Some(json!({"voucher_code": long}))).await;
    assert_eq!((st, err["voucher_code"].is_array()), (400, true), "{err}");
    // Simulate explains instead of refusing: the code is reported as not applicable.
    let body = json!({"lines": [{"sku": "money-1", "quantity": 1}], "voucher_codes": [long]});
    let (st, r) = s.post("/api/v1/pricing/simulate/", &t, body).await;
    assert_eq!((st, &r["not_applied"][0]["reason"]), (200, &json!("voucher_invalid")));
    assert_eq!(r["total_discount"], "0.00");
    // A basket whose total passes 15 integer digits shows, but does not check out (as
    // simulate refuses it); nothing is written.
    let big = product(&s, &t, "money-big", "9999999999999.99").await;
    let (st, b) = s.post("/baskets/basket/", &customer, json!({"product": big, "quantity": 1000})).await;
    assert_eq!(st, 200, "{b}");
    let (st, err) = s.post("/orders/checkout/", &customer, json!({})).await;
    assert_eq!(st, 400, "{err}");
    assert_eq!(
        err,
        json!({"non_field_errors": ["The basket total has more than 15 digits before the decimal point."]})
    );
    let (_, orders) = s.get("/api/v1/orders/", &t).await;
    assert_eq!(orders["count"], 0);
    healthy(&s).await;
}

async fn nul_characters(db: Db) {
    let s = Server::start(db).await;
    let t = s.staff();
    // Bodies: the field that holds the NUL is named, DRF's message.
    for (path, body, field) in [
        ("/api/v1/products/", json!({"name": "a\u{0}b", "sku": "nul-1"}), "name"),
        ("/api/v1/products/", json!({"name": "ok", "sku": "nul-2", "attributes": {"k\u{0}": "v"}}), "attributes"),
        ("/api/v1/auth/login/", json!({"username": "admin\u{0}", "password": "x"}), "username"),
        ("/users/login/", json!({"email": "a\u{0}@example.com", "password": "x"}), "email"),
        ("/api/v1/promotions/", json!({"name": "N\u{0}", "offer_type": "site"}), "name"),
    ] {
        let (st, err) = s.send("POST", path, Some(&t), Some(body)).await;
        assert_eq!(st, 400, "{path}: {err}");
        assert_eq!(err[field], json!(["Null characters are not allowed."]), "{path}: {err}");
    }
    let (_, customer) = s.customer();
    let (st, err) =
        s.send("PATCH", "/baskets/basket/", Some(&customer), Some(json!({"voucher_code": "AB\u{0}C"}))).await;
    assert_eq!((st, &err["voucher_code"]), (400, &json!(["Null characters are not allowed."])));
    // Paths and queries.
    for path in [
        "/api/v1/products/?sku=a%00b",
        "/api/v1/orders/?number=%00",
        "/api/v1/products/1%00/",
        "/api/v1/vouchers/?code=X%00",
        "/api/v1/discount_items/detailed_integration/?order=1%00",
    ] {
        let (st, err) = s.get(path, &t).await;
        assert_eq!((st, &err), (400, &json!({"detail": "Null characters are not allowed."})), "{path}");
    }
    let (_, products) = s.get("/api/v1/products/", &t).await;
    assert_eq!(products["count"], 0);
    healthy(&s).await;
}

async fn hostile_elastic_path(db: Db) {
    let s = Server::start(db).await;
    let tok = bearer(&s).await;
    let auth = format!("Bearer {tok}");
    let h = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
    let (st, c) = raw(
        &s,
        "POST",
        "/v2/carts",
        &h,
        Some(br#"{"data": {"name": "h", "discount_settings": {"custom_discounts_enabled": true}}}"#.to_vec()),
    )
    .await;
    assert_eq!(st, 200, "{c}");
    let cart = c["data"]["id"].as_str().expect("cart id").to_owned();
    let item = |amount: Value, qty: Value| {
        let sku = format!("sku-{amount}-{qty}");
        with_big(&json!({"data": {"type": "custom_item", "name": "A", "sku": sku, "quantity": qty,
                                  "price": {"amount": amount, "includes_tax": true}}}))
    };
    let (st, items) = raw(&s, "POST", &format!("/v2/carts/{cart}/items"), &h, Some(item(json!(4000), json!(2)))).await;
    assert_eq!(st, 201, "{items}");
    let item_id = items["data"][0]["id"].as_str().expect("item id").to_owned();

    let nested = "[".repeat(100_000).into_bytes();
    for path in
        ["/v2/carts".to_owned(), format!("/v2/carts/{cart}/items"), format!("/v2/carts/{cart}/custom-discounts")]
    {
        let (st, e) = oversized(&s, "POST", &path, &h).await;
        assert_eq!(st, 413, "{path}");
        ep_err(st, &e, &path);
        for bad in [
            nested.clone(),
            b"{\"data\": \"\xff\"}".to_vec(),
            b"[1]".to_vec(),
            b"{\"data\": {\"name\": \"a\\u0000\"}}".to_vec(),
        ] {
            let (st, e) = raw(&s, "POST", &path, &h, Some(bad)).await;
            assert_eq!(st, 400, "{path}: {e}");
            ep_err(st, &e, &path);
        }
        let text = [("Authorization", auth.as_str()), ("Content-Type", "text/plain")];
        let (st, e) = raw(&s, "POST", &path, &text, Some(b"{}".to_vec())).await;
        assert_eq!(st, 415, "{path}: {e}");
        ep_err(st, &e, &path);
    }
    // Amounts: not integers, too many digits, a cart total past 15 integer digits (which
    // overflowed `i64` and panicked the cart's views before) → 400; none is stored.
    for (amount, qty) in [
        (json!(1.5), json!(1)),
        (json!("1000"), json!(1)),
        (json!("@BIG@"), json!(1)),
        (json!(1e30), json!(1)),
        (json!(-5), json!(1)),
        (json!(i64::MAX), json!(1000)),
        (json!(99_999_999_999_999_999i64), json!(1)),
        (json!(4000), json!(9223372036854775807u64)),
        (json!(4000), json!(-1)),
    ] {
        let path = format!("/v2/carts/{cart}/items");
        let (st, e) = raw(&s, "POST", &path, &h, Some(item(amount.clone(), qty.clone()))).await;
        assert_eq!(st, 400, "{amount} × {qty}: {e}");
        ep_err(st, &e, "item");
    }
    let q = json!({"data": {"quantity": 1000}}).to_string().into_bytes();
    let (st, e) =
        raw(&s, "POST", &format!("/v2/carts/{cart}/items"), &h, Some(item(json!(9_999_999_999_999_999i64), json!(1))))
            .await;
    assert_eq!(st, 201, "{e}");
    let big = e["data"].as_array().and_then(|a| a.iter().find(|i| i["quantity"] == 1)).expect("the big line")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (st, e) = raw(&s, "PUT", &format!("/v2/carts/{cart}/items/{big}"), &h, Some(q)).await;
    assert_eq!(st, 400, "{e}");
    ep_err(st, &e, "quantity");
    let (st, _) = raw(&s, "DELETE", &format!("/v2/carts/{cart}/items/{big}"), &h, None).await;
    assert_eq!(st, 200);
    // Custom discounts: i64::MIN, 30 digits, fractions → refused; over-long codes → 400.
    let disc = |amount: Value, code: &str| {
        with_big(&json!({"data": {"type": "custom_discount", "external_id": "x", "discount_engine": "E",
                                  "amount": amount, "description": "d", "discount_code": code}}))
    };
    for amount in
        [json!(i64::MIN), json!(-100_000_000_000_000_000i64), json!(-1.005), json!("-100.999"), json!("@NEGBIG@")]
    {
        for path in
            [format!("/v2/carts/{cart}/custom-discounts"), format!("/v2/carts/{cart}/items/{item_id}/custom-discounts")]
        {
            let (st, e) = raw(&s, "POST", &path, &h, Some(disc(amount.clone(), "c"))).await;
            assert!(st == 400 || st == 422, "{amount}: {st} {e}");
            ep_err(st, &e, "discount amount");
        }
    }
    let (st, e) = raw(
        &s,
        "POST",
        &format!("/v2/carts/{cart}/custom-discounts"),
        &h,
        Some(disc(json!(-100), &"C".repeat(100_000))),
    )
    .await;
    assert_eq!(st, 400, "{e}");
    ep_err(st, &e, "discount code");
    // The cart is intact and its totals exact.
    let (st, c) = raw(&s, "GET", &format!("/v2/carts/{cart}?include=items,custom_discounts"), &h, None).await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["data"]["meta"]["display_price"]["with_tax"]["amount"], 8000);
    // Ids and currencies.
    for path in [
        format!("/v2/carts/{}", "C".repeat(5000)),
        "/v2/carts/a%00b".to_owned(),
        "/v2/carts/%FF%FE".to_owned(),
        format!("/v2/carts/{cart}/custom-discounts/%FF"),
    ] {
        let (st, e) = raw(&s, "DELETE", &path, &h, None).await;
        assert!(st == 400 || st == 404, "{}: {st}", &path[..40]);
        ep_err(st, &e, &path);
        if !path.contains("custom-discounts") {
            let (st, e) = raw(&s, "GET", &path, &h, None).await;
            assert_eq!(st, 400, "{}: {e}", &path[..40]);
            ep_err(st, &e, &path);
        }
    }
    for path in ["/v2/orders/99999999999999999999", "/v2/orders/-1/items", "/v2/orders/abc", "/v2/no-such-thing"] {
        let (st, e) = raw(&s, "GET", path, &h, None).await;
        assert_eq!(st, 404, "{path}: {e}");
        ep_err(st, &e, path);
    }
    let (st, e) = raw(&s, "PATCH", &format!("/v2/carts/{cart}"), &h, None).await;
    assert_eq!(st, 405, "{e}");
    ep_err(st, &e, "405");
    for cur in ["12", "US", "USDX", "€€€", "ZZZ", "xxx"] {
        let hc = [h[0], h[1], ("X-MOLTIN-CURRENCY", cur)];
        let (st, e) = raw(&s, "POST", &format!("/v2/carts/{cart}/items"), &hc, Some(item(json!(100), json!(1)))).await;
        assert_eq!(st, 400, "{cur}: {e}");
        ep_err(st, &e, cur);
    }
    let resp = s
        .http
        .post(s.url("/oauth/access_token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", "a\u{0}"), ("client_secret", "b")])
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status().as_u16(), 400);
    let e: Value = resp.json().await.expect("json");
    ep_err(400, &e, "oauth NUL");
    healthy(&s).await;
}
