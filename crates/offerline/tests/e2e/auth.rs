//! Authentication and isolation (DESIGN.md invariant 6): the login throttle, token and
//! session revocation taking effect at once, the session cookie's flags, secrets never
//! reaching the log, and a sweep of every documented endpoint proving that one customer
//! never sees or changes another's data (404/403/401, never a leak).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::both;
use crate::checkout::{product, promotion};
use crate::helpers::{Db, Server};

both!(
    login_throttle_and_revocation,
    secrets_never_reach_the_log,
    customers_see_only_their_own,
    a_login_flood_does_not_starve_other_requests,
);

const PASSWORD: &str = "pw-123456";

async fn login(s: &Server, path: &str, body: Value) -> (u16, Value, Option<String>) {
    let r = s.http.post(s.url(path)).json(&body).send().await.expect("login");
    let status = r.status().as_u16();
    let cookie = r.headers().get("set-cookie").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (status, r.json().await.unwrap_or(Value::Null), cookie)
}

async fn with_cookie(s: &Server, method: &str, path: &str, sid: &str) -> u16 {
    let req = s.http.request(method.parse().expect("method"), s.url(path));
    req.header("Cookie", format!("osessionid={sid}")).send().await.expect("request").status().as_u16()
}

async fn login_throttle_and_revocation(db: Db) {
    let s = Server::start(db).await;
    let (uid, cli_token) = s.user("alice", "alice@example.com", false);
    let (_, _) = s.user("bob", "bob@example.com", false);

    // Omnitron login: five failures lock the username, even for the right password; another
    // username is not affected.
    for _ in 0..5 {
        let (st, e, _) = login(&s, "/api/v1/auth/login/", json!({"username": "alice", "password": "nope"})).await;
        assert_eq!(st, 400, "{e}");
        assert_eq!(e, json!({"non_field_errors": ["Unable to log in with provided credentials."]}));
    }
    let (st, _, _) = login(&s, "/api/v1/auth/login/", json!({"username": "alice", "password": PASSWORD})).await;
    assert_eq!(st, 429, "locked out after 5 failures");
    let (st, _, _) = login(&s, "/api/i1/auth/login/", json!({"username": "ALICE", "password": PASSWORD})).await;
    assert_eq!(st, 429, "the lock is per login name, whatever its case and dialect path");
    let (st, b, _) = login(&s, "/api/v1/auth/login/", json!({"username": "bob", "password": PASSWORD})).await;
    assert_eq!(st, 200, "{b}");

    // Storefront login, throttled by e-mail the same way.
    for _ in 0..5 {
        let (st, _, _) = login(&s, "/users/login/", json!({"email": "bob@example.com", "password": "nope"})).await;
        assert_eq!(st, 400);
    }
    let (st, _, _) = login(&s, "/users/login/", json!({"email": "bob@example.com", "password": PASSWORD})).await;
    assert_eq!(st, 429);

    // A storefront session: the cookie's flags, then logout revokes the token and the
    // session at once.
    let (st, b, cookie) = login(&s, "/users/login/", json!({"email": "alice@example.com", "password": PASSWORD})).await;
    assert_eq!(st, 200, "{b}");
    let key = b["key"].as_str().expect("key").to_owned();
    assert!(key.len() >= 32 && key.bytes().all(|c| c.is_ascii_hexdigit()), "token of ≥128 bits: {key}");
    let cookie = cookie.expect("Set-Cookie");
    let parts: Vec<&str> = cookie.split(';').map(str::trim).collect();
    let sid = parts[0].strip_prefix("osessionid=").expect("osessionid").to_owned();
    assert!(sid.len() >= 32 && sid.bytes().all(|c| c.is_ascii_alphanumeric()), "{sid}");
    for flag in ["HttpOnly", "Path=/", "SameSite=Lax"] {
        assert!(parts.contains(&flag), "{flag} missing from {cookie}");
    }
    assert!(parts.iter().any(|p| p.starts_with("Max-Age=")), "{cookie}");
    let (st, me) = s.get("/current_user/", &key).await;
    assert_eq!(st, 200);
    assert_eq!(me["pk"], uid);
    assert_eq!(with_cookie(&s, "GET", "/current_user/", &sid).await, 200);

    let r = s
        .http
        .post(s.url("/users/logout/"))
        .header("Authorization", format!("Token {key}"))
        .header("Cookie", format!("osessionid={sid}"))
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status().as_u16(), 200);
    let expired = r.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(expired.contains("Max-Age=0") && expired.contains("HttpOnly"), "{expired}");
    // Revoked right away: no grace period, on every kind of endpoint.
    let (st, e) = s.get("/current_user/", &key).await;
    assert_eq!(st, 401, "{e}");
    assert_eq!(s.get("/baskets/basket/", &key).await.0, 401);
    assert_eq!(s.get("/api/v1/active_user/", &key).await.0, 401);
    assert_eq!(with_cookie(&s, "GET", "/current_user/", &sid).await, 401);
    assert_eq!(with_cookie(&s, "GET", "/baskets/basket/", &sid).await, 401);
    // Revocation is per token: the user's other token still works.
    assert_eq!(s.get("/current_user/", &cli_token).await.0, 200);

    // Bad and missing credentials are 401 (never 403), in the dialect's shape.
    for bad in ["0000000000000000000000000000000000000000", "x", &format!("{key}x")] {
        let (st, e) = s.get("/current_user/", bad).await;
        assert_eq!(st, 401, "{bad}: {e}");
        assert_eq!(e, json!({"detail": "Invalid token."}));
    }
    assert_eq!(s.send("GET", "/account/discount-items/", None, None).await.0, 401);
    assert_eq!(with_cookie(&s, "GET", "/current_user/", "forged_session_id_0000000000000000").await, 401);
}

/// 200 concurrent bad logins, each for its own unknown name (so the throttle refuses none
/// and every one pays an argon2 verification), while `/healthz` and a ledger read are timed
/// over and over: their answers keep coming within a generous bound, and typically in a
/// small fraction of the flood's length. Before argon2 ran on the blocking pool behind a
/// semaphore, the flood held both async workers and these waited for most of it.
async fn a_login_flood_does_not_starve_other_requests(db: Db) {
    const LOGINS: usize = 200;
    /// Generous for a loaded 2-core machine; a starved worker pool misses it by seconds.
    const BOUND: Duration = Duration::from_millis(2500);
    let s = Server::start(db).await;
    let staff = s.staff();
    assert_eq!(s.send("GET", "/healthz", None, None).await.0, 200);
    assert_eq!(s.get("/api/v1/orders/", &staff).await.0, 200);

    let flood_start = Instant::now();
    let logins: Vec<_> = (0..LOGINS)
        .map(|i| {
            let (path, body) = if i % 2 == 0 {
                ("/api/v1/auth/login/", json!({"username": format!("nobody-{i}"), "password": "nope"}))
            } else {
                ("/users/login/", json!({"email": format!("nobody-{i}@example.com"), "password": "nope"}))
            };
            let (http, url) = (s.http.clone(), s.url(path));
            tokio::spawn(async move { http.post(url).json(&body).send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    // Let the flood reach the server before the first probe.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (mut health, mut ledger) = (Vec::new(), Vec::new());
    while logins.iter().any(|h| !h.is_finished()) && health.len() < 50 {
        let t = Instant::now();
        assert_eq!(s.send("GET", "/healthz", None, None).await.0, 200);
        health.push(t.elapsed());
        let t = Instant::now();
        assert_eq!(s.get("/api/v1/orders/", &staff).await.0, 200);
        ledger.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let probes_done = flood_start.elapsed();
    for h in logins {
        assert_eq!(h.await.expect("login task").expect("login answered"), 400, "a bad login is refused");
    }
    let flood = flood_start.elapsed();
    eprintln!("flood of {LOGINS} logins: {flood:?}; /healthz {health:?}; ledger {ledger:?}");
    assert!(!health.is_empty(), "the flood ended before the first probe ({flood:?})");
    for (what, times) in [("/healthz", &health), ("ledger read", &ledger)] {
        let worst = times.iter().max().expect("probes");
        assert!(*worst < BOUND, "{what} waited {worst:?} during the flood ({times:?})");
    }
    // Most probes well under the flood's length: the median below a quarter of it, when the
    // flood was long enough for that to mean something.
    if probes_done > Duration::from_secs(2) {
        let mut sorted = health.clone();
        sorted.sort();
        let median = sorted[sorted.len() / 2];
        assert!(median < flood / 4, "/healthz median {median:?} against a flood of {flood:?}");
    }
}

async fn secrets_never_reach_the_log(db: Db) {
    let s = Server::start_logged(db, "debug").await;
    let (_, cli_token) = s.user("carol", "carol@example.com", true);
    let (st, b, cookie) = login(&s, "/users/login/", json!({"email": "carol@example.com", "password": PASSWORD})).await;
    assert_eq!(st, 200, "{b}");
    let key = b["key"].as_str().expect("key").to_owned();
    let sid = cookie.expect("cookie").split(';').next().expect("pair").trim_start_matches("osessionid=").to_owned();
    let (st, b, _) = login(&s, "/api/v1/auth/login/", json!({"username": "carol", "password": PASSWORD})).await;
    assert_eq!(st, 200, "{b}");
    let staff_key = b["key"].as_str().expect("key").to_owned();
    let (st, _, _) = login(&s, "/api/v1/auth/login/", json!({"username": "carol", "password": "wrong-pw-987"})).await;
    assert_eq!(st, 400);
    let client: Value = serde_json::from_str(s.cli(&["client", "create", "--name", "log-test"]).trim()).expect("json");
    let (client_id, secret) =
        (client["client_id"].as_str().expect("id"), client["client_secret"].as_str().expect("secret"));
    let r = s
        .http
        .post(s.url("/oauth/access_token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret)])
        .send()
        .await
        .expect("token");
    assert_eq!(r.status().as_u16(), 200);
    let bearer = r.json::<Value>().await.expect("json")["access_token"].as_str().expect("access_token").to_owned();
    // Use every credential, including on failing requests.
    assert_eq!(s.get("/current_user/", &key).await.0, 200);
    assert_eq!(s.get("/api/v1/orders/", &staff_key).await.0, 200);
    assert_eq!(s.get("/api/v1/orders/", &cli_token).await.0, 200);
    assert_eq!(with_cookie(&s, "GET", "/account/discount-items/", &sid).await, 200);
    let r = s.http.get(s.url("/v2/carts/log-cart")).bearer_auth(&bearer).send().await.expect("cart");
    assert_eq!(r.status().as_u16(), 200);
    let r = s.http.get(s.url("/v2/orders/1")).bearer_auth(&bearer).send().await.expect("order");
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(s.get("/current_user/", &format!("{key}0")).await.0, 401);
    let r = s.http.post(s.url("/users/logout/")).header("Authorization", format!("Token {key}")).send().await;
    assert_eq!(r.expect("logout").status().as_u16(), 200);

    let log = s.logs();
    assert!(log.contains("storefront login"), "the debug log was captured: {} bytes", log.len());
    for (what, secret) in [
        ("password", PASSWORD),
        ("wrong password", "wrong-pw-987"),
        ("storefront token", key.as_str()),
        ("session id", sid.as_str()),
        ("staff token", staff_key.as_str()),
        ("CLI token", cli_token.as_str()),
        ("client secret", secret),
        ("access token", bearer.as_str()),
    ] {
        assert!(!log.contains(secret), "the {what} appears in the log");
    }
}

/// Everything two customers own, made through the API.
struct Owned {
    token: String,
    email: String,
    order_pk: i64,
    order_number: String,
    item_id: i64,
}

async fn customers_see_only_their_own(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    let (a_id, a_token) = s.user("owner-a", "owner-a@example.com", false);
    let (b_id, b_token) = s.user("owner-b", "owner-b@example.com", false);
    let pa = product(&s, &staff, "SKU-OF-A", "30.00").await;
    let pb = product(&s, &staff, "SKU-OF-B", "40.00").await;
    // A coupon assigned to A only, a code assigned to A only.
    promotion(
        &s,
        &staff,
        json!({"name": "COUPON-FOR-A", "slug": "ca", "offer_type": "coupon", "currency": "try", "exclusive": false,
               "start_datetime": "2020-01-01T00:00:00Z", "customers": [a_id],
               "condition": {"type": "none", "value": null},
               "benefit": {"type": "fixed", "value": "1.00", "range": {"all": true}}}),
    )
    .await;
    let code_offer = promotion(
        &s,
        &staff,
        json!({"name": "CODEOFFER-FOR-A", "slug": "cc", "offer_type": "coupon_code", "currency": "try", "exclusive": false,
               "start_datetime": "2020-01-01T00:00:00Z", "customers": [a_id],
               "condition": {"type": "none", "value": null},
               "benefit": {"type": "fixed", "value": "2.00", "range": {"all": true}}}),
    )
    .await;
    let (st, v) = s
        .post(
            "/api/v1/vouchers/",
            &staff,
            json!({"code": "ACODE", "promotion": code_offer, "usage": "multi_use", "customers": [a_id]}),
        )
        .await;
    assert_eq!(st, 201, "{v}");

    // Each orders once, then leaves a basket behind.
    let mut owned = Vec::new();
    for (token, p, email, code) in
        [(&a_token, pa, "owner-a@example.com", Some("ACODE")), (&b_token, pb, "owner-b@example.com", None)]
    {
        let (st, b) = s.post("/baskets/basket/", token, json!({"product": p, "quantity": 2})).await;
        assert_eq!(st, 200, "{b}");
        if let Some(code) = code {
            let (st, b) = s.send("PATCH", "/baskets/basket/", Some(token), Some(json!({"voucher_code": code}))).await;
            assert_eq!(st, 200, "{b}");
        }
        let (st, o) = s.post("/orders/checkout/", token, json!({})).await;
        assert_eq!(st, 201, "{o}");
        let (st, _) = s.post("/baskets/basket/", token, json!({"product": p, "quantity": 1})).await;
        assert_eq!(st, 200);
        owned.push(Owned {
            token: token.clone(),
            email: email.into(),
            order_pk: o["order"]["pk"].as_i64().expect("pk"),
            order_number: o["order"]["number"].as_str().expect("number").into(),
            item_id: o["order"]["orderitem_set"][0]["id"].as_i64().expect("item"),
        });
    }
    let (a, b) = (&owned[0], &owned[1]);
    assert!(s.get("/account/discount-items/", &a.token).await.1.to_string().contains(&a.order_number));
    assert!(s.get("/account/basket-offers/", &a.token).await.1.to_string().contains("COUPON-FOR-A"));
    let (_, a_basket) = s.get("/baskets/basket/", &a.token).await;

    // An Elastic Path order too, and a client token.
    let client: Value = serde_json::from_str(s.cli(&["client", "create", "--name", "iso"]).trim()).expect("json");
    let r = s
        .http
        .post(s.url("/oauth/access_token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client["client_id"].as_str().expect("id")),
            ("client_secret", client["client_secret"].as_str().expect("secret")),
        ])
        .send()
        .await
        .expect("token");
    let bearer = r.json::<Value>().await.expect("json")["access_token"].as_str().expect("token").to_owned();
    let ep = |method: &str, path: &str, token: &str, body: Option<Value>| {
        let mut req = s.http.request(method.parse().expect("method"), s.url(path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&json!({ "data": b }));
        }
        async move {
            let r = req.send().await.expect("ep");
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        }
    };
    let (st, body) = ep("GET", "/v2/carts/cart-of-a", &bearer, None).await;
    assert_eq!(st, 200, "{body}");
    let (st, body) = ep(
        "POST",
        "/v2/carts/cart-of-a/items",
        &bearer,
        Some(json!({"type": "custom_item", "name": "EPITEM-A", "sku": "EP-A", "quantity": 1,
                   "price": {"amount": 1000, "includes_tax": true}})),
    )
    .await;
    assert!(st == 200 || st == 201, "{st}: {body}");
    let (st, body) = ep(
        "POST",
        "/v2/carts/cart-of-a/checkout",
        &bearer,
        Some(json!({"customer": {"name": "EP Customer A", "email": "ep-a@example.com"},
                   "billing_address": {"first_name": "A", "last_name": "A", "line_1": "1 A St", "city": "A",
                                       "postcode": "1", "country": "TR"},
                   "shipping_address": {"first_name": "A", "last_name": "A", "line_1": "1 A St", "city": "A",
                                        "postcode": "1", "country": "TR"}})),
    )
    .await;
    assert!(st == 200 || st == 201, "{st}: {body}");
    let ep_order: Value = serde_json::from_str(&body).expect("json");
    let ep_order_id = ep_order["data"]["id"].as_str().expect("id").to_owned();

    // What must never show in B's answers.
    let secrets_of_a = [
        a.email.clone(),
        "owner-a".to_owned(),
        a.order_number.clone(),
        "COUPON-FOR-A".into(),
        "CODEOFFER-FOR-A".into(),
        "ACODE".into(),
        "SKU-OF-A".into(),
        "ep-a@example.com".into(),
        "EPITEM-A".into(),
        ep_order_id.clone(),
    ];

    // The sweep: every documented operation, called by B (and by nobody) with A's ids.
    let (_, openapi) = s.send("GET", "/openapi.json", None, None).await;
    let mut checked = 0;
    for (path, ops) in openapi["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("ops") {
            let security = op["security"].to_string();
            let kind = if security == "null" {
                "public"
            } else if security.contains("bearer") {
                "client"
            } else if security.contains("session") {
                "customer"
            } else {
                "staff"
            };
            if kind == "public" {
                continue;
            }
            let ep_path = path.starts_with("/v2/");
            let id = if ep_path { ep_order_id.clone() } else { a.order_pk.to_string() };
            let concrete = fill_path(path, &id, a.item_id);
            let m = method.to_uppercase();
            let body = if m == "GET" || m == "DELETE" { None } else { Some(json!({})) };
            // Nobody: 401.
            let (st, _) = s.send(&m, &concrete, None, body.clone()).await;
            assert_eq!(st, 401, "{m} {concrete} without credentials");
            match kind {
                "staff" if concrete.ends_with("/active_user/") => {
                    // Any valid token may ask who it is (contract §1).
                    let (st, me) = s.send(&m, &concrete, Some(&b.token), None).await;
                    assert_eq!((st, &me["pk"]), (200, &json!(b_id)), "{me}");
                }
                "staff" => {
                    let (st, e) = s.send(&m, &concrete, Some(&b.token), body.clone()).await;
                    assert_eq!(st, 403, "{m} {concrete} with a customer token: {e}");
                }
                "client" => {
                    // A customer token is not an access token.
                    let (st, _) = ep(&m, &concrete, &b.token, None).await;
                    assert_eq!(st, 401, "{m} {concrete} with a customer token as Bearer");
                }
                _ => {
                    let (st, v) = s.send(&m, &concrete, Some(&b.token), body.clone()).await;
                    assert!(st < 500, "{m} {concrete}: {st} {v}");
                    let text = v.to_string();
                    for secret in &secrets_of_a {
                        assert!(!text.contains(secret.as_str()), "{m} {concrete} shows B {secret:?}: {text}");
                    }
                    // Also with A's ids in the query string.
                    let q = format!("{concrete}?user={}&user_id={}&pk={}", a_id, a_id, a.order_pk);
                    let (_, v) = s.send(&m, &q, Some(&b.token), body).await;
                    for secret in &secrets_of_a {
                        assert!(!v.to_string().contains(secret.as_str()), "{m} {q} shows B {secret:?}");
                    }
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "operations swept: {checked}");

    // B cannot use A's code, and B's own views hold only B's things.
    let (st, e) = s.send("PATCH", "/baskets/basket/", Some(&b.token), Some(json!({"voucher_code": "ACODE"}))).await;
    assert_eq!(st, 400, "{e}");
    let (_, mine) = s.get("/account/discount-items/", &b.token).await;
    assert!(mine["results"].as_array().expect("results").iter().all(|d| d["order_number"] == json!(b.order_number)));
    // A storefront order is not an Elastic Path order.
    let (st, _) = ep("GET", &format!("/v2/orders/{}", a.order_number), &bearer, None).await;
    assert_eq!(st, 404, "a storefront order through /v2/orders");
    // A's basket and order are as A left them.
    assert_eq!(s.get("/baskets/basket/", &a.token).await.1, a_basket);
    let (_, detail) = s.get(&format!("/api/v1/orders_integration/{}/detailed_integration/", a.order_pk), &staff).await;
    assert_eq!(detail["user"], a_id);
    assert!(detail["orderitem_set"].as_array().expect("items").iter().all(|i| i["status"] == "400"));
    let (_, list) = s.get(&format!("/api/v1/orders/?user={b_id}"), &staff).await;
    assert!(list["results"].as_array().expect("results").iter().all(|o| o["user"] == b_id), "{list}");
}

/// A documented path with every `{param}` filled: item-like params get `item`, others `id`.
fn fill_path(path: &str, id: &str, item: i64) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').map(|e| start + e).expect("closing brace");
        let name = &rest[start + 1..end];
        if name.contains("item") || name == "id" {
            out.push_str(&item.to_string());
        } else {
            out.push_str(id);
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}
