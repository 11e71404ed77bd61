//! Lifetimes and the purge (docs/RELIABILITY.md, issue 17): API tokens, storefront
//! sessions, Elastic Path access tokens and idempotency keys expire as the server's
//! settings say (an expired one is refused with 401, even one the token cache holds; an
//! expired idempotency key is a new request), the periodic purge deletes them and logs the
//! counts, and `POST /oauth/access_token` is rate-limited per caller and per client (429
//! with `Retry-After`).

use std::time::{Duration, Instant};

use offerline_store::Store;
use serde_json::{Value, json};
use sqlx::Row;

use crate::both;
use crate::checkout::product;
use crate::helpers::{Db, Server};

both!(expired_credentials_are_refused, the_purge_deletes_what_expired, access_tokens_are_rate_limited);

async fn login(s: &Server, path: &str, body: Value) -> (Value, Option<String>) {
    let r = s.http.post(s.url(path)).json(&body).send().await.expect("login");
    assert_eq!(r.status().as_u16(), 200);
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.strip_prefix("osessionid="))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned);
    (r.json().await.expect("json"), cookie)
}

async fn with_cookie(s: &Server, path: &str, sid: &str) -> u16 {
    let r = s.http.get(s.url(path)).header("Cookie", format!("osessionid={sid}")).send().await.expect("request");
    r.status().as_u16()
}

/// `POST /oauth/access_token` with `form`: (status, body, Retry-After).
async fn access_token(s: &Server, form: &[(&str, &str)]) -> (u16, Value, Option<u64>) {
    let r = s.http.post(s.url("/oauth/access_token")).form(form).send().await.expect("token");
    let status = r.status().as_u16();
    let retry = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    (status, r.json().await.unwrap_or(Value::Null), retry)
}

fn new_client(s: &Server) -> (String, String) {
    let c: Value = serde_json::from_str(s.cli(&["client", "create", "--name", "t"]).trim()).expect("json");
    (c["client_id"].as_str().expect("id").to_owned(), c["client_secret"].as_str().expect("secret").to_owned())
}

async fn ep_status(s: &Server, token: &str) -> (u16, Value) {
    let r = s.http.get(s.url("/v2/carts/expiry-cart")).bearer_auth(token).send().await.expect("ep");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// Checks out the customer's basket (one unit of `product`) with an `Idempotency-Key`;
/// returns the order's pk.
async fn checkout_with_key(s: &Server, token: &str, product: i64, key: &str) -> i64 {
    let (st, _) = s.post("/baskets/basket/", token, json!({"product": product, "quantity": 1})).await;
    assert_eq!(st, 200);
    let r = s
        .http
        .post(s.url("/orders/checkout/"))
        .header("Authorization", format!("Token {token}"))
        .header("Idempotency-Key", key)
        .json(&json!({}))
        .send()
        .await
        .expect("checkout");
    assert_eq!(r.status().as_u16(), 201);
    r.json::<Value>().await.expect("json")["order"]["pk"].as_i64().expect("pk")
}

/// With lifetimes of 3 s: every credential works until it expires and is refused (401,
/// in each dialect's format) after, including a staff token the token cache holds; a new
/// login works; an idempotency key past its lifetime checks out anew. Credentials the CLI
/// issued under the default lifetime keep working.
async fn expired_credentials_are_refused(db: Db) {
    let env = [
        ("OFFERLINE_TOKEN_TTL", "3s"),
        ("OFFERLINE_SESSION_TTL", "3s"),
        ("OFFERLINE_CLIENT_TOKEN_TTL", "3s"),
        ("OFFERLINE_IDEMPOTENCY_TTL", "3s"),
        // No purge during the test: expiry alone must refuse them.
        ("OFFERLINE_PURGE_EVERY", "1h"),
    ];
    let s = Server::start_logged_with(db, "warn", &env).await;
    let staff_cli = s.staff();
    s.user("boss", "", true);
    let (_, customer_cli) = s.customer();
    s.user("carol", "carol@example.com", false);
    let p = product(&s, &staff_cli, "EXP-1", "5.00").await;
    let (client_id, secret) = new_client(&s);

    let issued = Instant::now();
    let (staff, _) = login(&s, "/api/v1/auth/login/", json!({"username": "boss", "password": "pw-123456"})).await;
    let staff = staff["key"].as_str().expect("key").to_owned();
    let (cust, sid) = login(&s, "/users/login/", json!({"email": "carol@example.com", "password": "pw-123456"})).await;
    let (cust, sid) = (cust["key"].as_str().expect("key").to_owned(), sid.expect("session cookie"));
    let (st, tok, _) = access_token(
        &s,
        &[("grant_type", "client_credentials"), ("client_id", &client_id), ("client_secret", &secret)],
    )
    .await;
    assert_eq!(st, 200, "{tok}");
    assert_eq!(tok["expires_in"], 3, "the configured lifetime: {tok}");
    let bearer = tok["access_token"].as_str().expect("token").to_owned();

    let first = checkout_with_key(&s, &customer_cli, p, "expiring-key").await;
    assert_eq!(checkout_with_key(&s, &customer_cli, p, "expiring-key").await, first, "replayed within its life");

    assert_eq!(s.get("/current_user/", &cust).await.0, 200);
    assert_eq!(with_cookie(&s, "/current_user/", &sid).await, 200);
    assert_eq!(ep_status(&s, &bearer).await.0, 200);
    // Last, and twice: the second answer comes from the token cache, which must not
    // outlive the token.
    assert_eq!(s.get("/api/v1/active_user/", &staff).await.0, 200);
    assert_eq!(s.get("/api/v1/active_user/", &staff).await.0, 200);

    tokio::time::sleep((issued + Duration::from_millis(3_500)).saturating_duration_since(Instant::now())).await;
    let (st, e) = s.get("/api/v1/active_user/", &staff).await;
    assert_eq!((st, &e), (401, &json!({"detail": "Invalid token."})), "an expired staff token");
    assert_eq!(s.get("/current_user/", &cust).await.0, 401, "an expired customer token");
    assert_eq!(with_cookie(&s, "/current_user/", &sid).await, 401, "an expired session");
    let (st, e) = ep_status(&s, &bearer).await;
    assert_eq!((st, &e["errors"][0]["status"]), (401, &json!(401)), "an expired access token: {e}");
    // What the CLI issued under the default lifetime still works; so does a new login.
    assert_eq!(s.get("/api/v1/active_user/", &staff_cli).await.0, 200);
    let (again, _) = login(&s, "/api/v1/auth/login/", json!({"username": "boss", "password": "pw-123456"})).await;
    assert_eq!(s.get("/api/v1/active_user/", again["key"].as_str().expect("key")).await.0, 200);
    // The key has expired: the same key is a new checkout (a new order).
    let second = checkout_with_key(&s, &customer_cli, p, "expiring-key").await;
    assert_ne!(second, first, "an expired key is a new request");
    assert_eq!(checkout_with_key(&s, &customer_cli, p, "expiring-key").await, second, "and is replayed in turn");
}

async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query(sql).fetch_one(store.reader()).await.expect("count").try_get(0).expect("int")
}

/// With lifetimes of 1 s and a purge every second: the purge deletes the expired API
/// tokens (revoked ones too), sessions, access tokens and idempotency keys, logs what it
/// deleted at info, and leaves live rows alone.
async fn the_purge_deletes_what_expired(db: Db) {
    let env = [
        ("OFFERLINE_TOKEN_TTL", "1s"),
        ("OFFERLINE_SESSION_TTL", "1s"),
        ("OFFERLINE_CLIENT_TOKEN_TTL", "1s"),
        ("OFFERLINE_IDEMPOTENCY_TTL", "1s"),
        ("OFFERLINE_PURGE_EVERY", "1s"),
    ];
    let s = Server::start_logged_with(db, "info", &env).await;
    let staff_cli = s.staff();
    let (_, customer_cli) = s.customer();
    s.user("dave", "dave@example.com", false);
    let p = product(&s, &staff_cli, "PURGE-1", "5.00").await;
    let (client_id, secret) = new_client(&s);
    for _ in 0..2 {
        login(&s, "/users/login/", json!({"email": "dave@example.com", "password": "pw-123456"})).await;
        let (st, _, _) = access_token(&s, &[("grant_type", "implicit"), ("client_id", &client_id)]).await;
        assert_eq!(st, 200);
    }
    let (st, _, _) = access_token(
        &s,
        &[("grant_type", "client_credentials"), ("client_id", &client_id), ("client_secret", &secret)],
    )
    .await;
    assert_eq!(st, 200);
    checkout_with_key(&s, &customer_cli, p, "purged-key").await;

    let store = Store::connect(&s.database_url).await.expect("store");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = [
            count(&store, "SELECT COUNT(*) FROM api_tokens").await,
            count(&store, "SELECT COUNT(*) FROM sessions").await,
            count(&store, "SELECT COUNT(*) FROM client_tokens").await,
            count(&store, "SELECT COUNT(*) FROM idempotency_keys").await,
        ];
        // The three the CLI issued (default lifetime) stay.
        if left == [3, 0, 0, 0] {
            break;
        }
        assert!(Instant::now() < deadline, "not purged: {left:?}\n{}", s.logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    store.close().await;
    // The CLI's tokens are the ones left, and work.
    assert_eq!(s.get("/api/v1/active_user/", &staff_cli).await.0, 200);
    assert_eq!(s.get("/current_user/", &customer_cli).await.0, 200);
    let logs = s.logs();
    assert!(logs.contains("purged expired rows"), "{logs}");
    for field in ["api_tokens=", "sessions=", "client_tokens=", "idempotency_keys="] {
        assert!(logs.contains(field), "{field} in {logs}");
    }
}

/// At most 6 access tokens a minute per caller address and 2 per client id (the test's
/// settings): past either, 429 in the JSON:API format with `Retry-After`, and nothing is
/// issued; another client keeps its own budget; bad credentials count for the address but
/// not for a client.
async fn access_tokens_are_rate_limited(db: Db) {
    let env = [("OFFERLINE_ACCESS_TOKENS_PER_PEER", "6"), ("OFFERLINE_ACCESS_TOKENS_PER_CLIENT", "2")];
    let s = Server::start_logged_with(db, "warn", &env).await;
    let (a, a_secret) = new_client(&s);
    let (b, _) = new_client(&s);
    let (c, _) = new_client(&s);
    let implicit = |id: &str| [("grant_type", "implicit".to_owned()), ("client_id", id.to_owned())];
    let ask = |form: [(&'static str, String); 2]| {
        let s = &s;
        async move { access_token(s, &[(form[0].0, &form[0].1), (form[1].0, &form[1].1)]).await }
    };
    let refused = |(st, e, retry): (u16, Value, Option<u64>), why: &str| {
        assert_eq!(st, 429, "{why}: {e}");
        assert_eq!(e["errors"][0]["status"], 429, "{e}");
        assert_eq!(e["errors"][0]["title"], "Too Many Requests");
        let retry = retry.expect("Retry-After");
        assert!((1..=60).contains(&retry), "{retry}");
    };
    assert_eq!(ask(implicit(&a)).await.0, 200);
    let (st, _, _) =
        access_token(&s, &[("grant_type", "client_credentials"), ("client_id", &a), ("client_secret", &a_secret)])
            .await;
    assert_eq!(st, 200, "either grant counts for the client");
    refused(ask(implicit(&a)).await, "client a's third token"); // the address's 3rd
    assert_eq!(ask(implicit(&b)).await.0, 200, "client b has a budget of its own"); // 4th
    assert_eq!(ask(implicit("no-such-client")).await.0, 401, "bad credentials"); // 5th
    assert_eq!(ask(implicit(&b)).await.0, 200); // 6th
    refused(ask(implicit(&c)).await, "the address's seventh request");

    let store = Store::connect(&s.database_url).await.expect("store");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM client_tokens").await, 4, "only the four answered 200");
    store.close().await;
}
