//! The read caches (crates/api/src/cache.rs, the token cache in auth.rs, the data
//! generation in crates/store/src/changes.rs): a repeated staff ledger read is served from
//! memory, a write through the API shows on the very next read, a write by another
//! connection (another process) shows within a bounded time, a revoked token is refused on
//! the next request, and a cached body never reaches a caller who is not staff.
//!
//! Waiting uses generous deadlines (the watcher starts asynchronously, and on PostgreSQL
//! other tests' schemas share the notification channel), never timing assertions.

use std::time::{Duration, Instant};

use offerline_store::Store;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Db, Server, demo_database};

both!(cached_reads_follow_writes, cached_bodies_still_need_a_staff_token, a_simulation_leaves_the_caches_alone);

/// How long to wait for something that must happen "soon" (a watcher connecting, another
/// process's write being noticed); far above the real bounds (20 ms polls, notifications).
const DEADLINE: Duration = Duration::from_secs(5);

struct Demo {
    s: Server,
    staff: String,
    customer: String,
    o1: i64,
}

async fn demo_server(db: Db) -> Demo {
    let (url, dir, schema, tour) = demo_database(db).await;
    let tokens: Vec<&str> = tour.split("token: ").skip(1).filter_map(|t| t.split_whitespace().next()).collect();
    let orders = tour.split("Ledger (orders ").nth(1).expect("the demo placed orders");
    let o1: i64 = orders.split(':').next().expect("o1").trim().parse().expect("o1 id");
    let s = Server::start_on(db, url, dir, schema);
    Demo { s, staff: tokens[0].to_owned(), customer: tokens[1].to_owned(), o1 }
}

/// A counter or gauge from `/metrics`.
pub(crate) async fn metric(s: &Server, name: &str) -> u64 {
    let text = s.http.get(s.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
}

/// Reads `path` until a read is answered from the cache (the hit counter moves), checking
/// every answer equals `expected`. The watcher connects asynchronously after start, and on
/// PostgreSQL other schemas' writes also move the generation, so a hit may take a few tries.
async fn until_served_from_cache(s: &Server, path: &str, token: &str, expected: &Value) {
    let start = Instant::now();
    loop {
        let before = metric(s, "offerline_response_cache_hits_total").await;
        let (st, body) = s.get(path, token).await;
        assert_eq!(st, 200, "{path}: {body}");
        assert_eq!(&body, expected, "{path}: a cached body must equal the one built from the database");
        if metric(s, "offerline_response_cache_hits_total").await > before {
            return;
        }
        assert!(start.elapsed() < DEADLINE, "{path} was never served from the cache");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads `path` until `done` holds for its body; panics after the deadline.
async fn until(s: &Server, path: &str, token: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let (st, body) = s.get(path, token).await;
        assert_eq!(st, 200, "{path}: {body}");
        if done(&body) {
            return body;
        }
        assert!(start.elapsed() < DEADLINE, "{what}: not visible at {path} after {DEADLINE:?}: {body}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn item(list: &Value, pk: i64) -> &Value {
    list["results"].as_array().expect("results").iter().find(|i| i["pk"] == pk || i["id"] == pk).expect("the item")
}

async fn cached_reads_follow_writes(db: Db) {
    let Demo { s, staff, o1, .. } = demo_server(db).await;
    let list = format!("/api/v1/order_item/detailed_integration/?order={o1}");
    let oms = format!("/api/v1/oms/order_items/?order={o1}");
    let discounts = format!("/api/i1/discount_items/detailed_integration/?order={o1}");

    // A repeated read is served again from memory, byte for byte the same document.
    let (st, first) = s.get(&list, &staff).await;
    assert_eq!(st, 200, "{first}");
    let pk = first["results"][0]["pk"].as_i64().expect("pk");
    let product = first["results"][0]["product"]["pk"].as_i64().expect("product pk");
    let single = format!("/api/v1/order_item/{pk}/detailed_integration/");
    until_served_from_cache(&s, &list, &staff, &first).await;
    for path in [&oms, &discounts, &single] {
        let (st, body) = s.get(path, &staff).await;
        assert_eq!(st, 200, "{path}: {body}");
        until_served_from_cache(&s, path, &staff, &body).await;
    }
    assert!(metric(&s, "offerline_response_cache_entries").await >= 4);

    // A write through the API: the very next reads show it, whatever was cached.
    let (st, b) = s.post(&format!("/api/v1/orders/{o1}/cancel/"), &staff, json!({"order_items": [pk]})).await;
    assert_eq!(st, 200, "{b}");
    let (_, after) = s.get(&list, &staff).await;
    assert_eq!(item(&after, pk)["status"], "100", "the list shows the cancel at once: {after}");
    assert_eq!(item(&after, pk)["cancel_status"], "completed");
    let (_, one) = s.get(&single, &staff).await;
    assert_eq!(one["status"], "100", "the single object too: {one}");
    let (_, o) = s.get(&oms, &staff).await;
    assert_eq!(item(&o, pk)["state"]["enum_value"], "100", "and the OMS list: {o}");

    // Writes by another connection (another process, psql, `offerline generate`): visible
    // within the watcher's bound, even though the old bodies were cached.
    until_served_from_cache(&s, &list, &staff, &after).await;
    let other = Store::connect(&s.database_url).await.expect("second store");
    sqlx::query("UPDATE order_items SET tracking_number = 'TRK-ELSEWHERE' WHERE id = $1")
        .bind(pk)
        .execute(other.writer())
        .await
        .expect("update item");
    until(&s, &list, &staff, "another process's item update", |b| item(b, pk)["tracking_number"] == "TRK-ELSEWHERE")
        .await;
    // … including rows the body only joins in (the catalogue).
    until_served_from_cache(&s, &single, &staff, &s.get(&single, &staff).await.1).await;
    sqlx::query("UPDATE products SET name = 'Renamed elsewhere' WHERE id = $1")
        .bind(product)
        .execute(other.writer())
        .await
        .expect("update product");
    until(&s, &single, &staff, "another process's product rename", |b| b["product"]["name"] == "Renamed elsewhere")
        .await;
    other.close().await;
}

async fn cached_bodies_still_need_a_staff_token(db: Db) {
    let Demo { s, staff, customer, o1 } = demo_server(db).await;
    let list = format!("/api/v1/order_item/detailed_integration/?order={o1}");
    let (st, body) = s.get(&list, &staff).await;
    assert_eq!(st, 200, "{body}");
    until_served_from_cache(&s, &list, &staff, &body).await;

    // The body is cached, yet a customer still gets 403 and no or a bad token 401.
    let (st, e) = s.get(&list, &customer).await;
    assert_eq!((st, e), (403, json!({"detail": "You do not have permission to perform this action."})));
    let (st, e) = s.send("GET", &list, None, None).await;
    assert_eq!((st, e), (401, json!({"detail": "Authentication credentials were not provided."})));
    let (st, e) = s.get(&list, "0000000000000000000000000000000000000000").await;
    assert_eq!((st, e), (401, json!({"detail": "Invalid token."})));

    // A staff login whose token is in the token cache; logging out (POST, and the GET the
    // storefront also accepts) refuses it on the very next request.
    s.user("cache-boss", "", true);
    for method in ["POST", "GET"] {
        let (st, b) = s
            .send("POST", "/api/v1/auth/login/", None, Some(json!({"username": "cache-boss", "password": "pw-123456"})))
            .await;
        assert_eq!(st, 200, "{b}");
        let key = b["key"].as_str().expect("key").to_owned();
        until_served_from_cache(&s, &list, &key, &body).await;
        let (st, b) = s.send(method, "/users/logout/", Some(&key), None).await;
        assert_eq!(st, 200, "{method} logout: {b}");
        let (st, e) = s.get(&list, &key).await;
        assert_eq!((st, e), (401, json!({"detail": "Invalid token."})), "after a {method} logout");
    }

    // A token revoked by another process is refused within the watcher's bound.
    let (st, b) = s
        .send("POST", "/api/v1/auth/login/", None, Some(json!({"username": "cache-boss", "password": "pw-123456"})))
        .await;
    assert_eq!(st, 200, "{b}");
    let key = b["key"].as_str().expect("key").to_owned();
    until_served_from_cache(&s, &list, &key, &body).await;
    let other = Store::connect(&s.database_url).await.expect("second store");
    assert!(other.revoke_token(&key).await.expect("revoke"));
    other.close().await;
    let start = Instant::now();
    loop {
        let (st, e) = s.get(&list, &key).await;
        if st == 401 {
            assert_eq!(e, json!({"detail": "Invalid token."}));
            break;
        }
        assert_eq!(st, 200, "{e}");
        assert!(start.elapsed() < DEADLINE, "a token revoked elsewhere still works after {DEADLINE:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The staff token that was never revoked still reads the cached body.
    assert_eq!(s.get(&list, &staff).await, (200, body));
}

/// The pricing simulation takes a body but writes nothing, so it must not move the data
/// generation: the read cached before it is still served from memory after it (and so are
/// the caller's token). A write request does move it.
/// On PostgreSQL other tests' writes move the generation too, so each step is tried until
/// one round runs undisturbed; without the rule no round ever would.
async fn a_simulation_leaves_the_caches_alone(db: Db) {
    let Demo { s, staff, o1, .. } = demo_server(db).await;
    let list = format!("/api/v1/order_item/detailed_integration/?order={o1}");
    let (st, body) = s.get(&list, &staff).await;
    assert_eq!(st, 200, "{body}");
    let (_, demo_item) = s.get("/api/v1/products/?limit=1", &staff).await;
    let sku = demo_item["results"][0]["sku"].as_str().expect("a demo product").to_owned();
    let basket = json!({"lines": [{"sku": sku, "quantity": 2}], "explain": "none"});
    let start = Instant::now();
    loop {
        until_served_from_cache(&s, &list, &staff, &body).await;
        let (st, sim) = s.post("/api/v1/pricing/simulate/", &staff, basket.clone()).await;
        assert_eq!(st, 200, "{sim}");
        let before = metric(&s, "offerline_response_cache_hits_total").await;
        let (_, again) = s.get(&list, &staff).await;
        assert_eq!(again, body);
        if metric(&s, "offerline_response_cache_hits_total").await > before {
            break;
        }
        assert!(start.elapsed() < DEADLINE, "a read after a simulation was never served from the cache");
    }
    // A request that may write (here a refused one: nothing to cancel) moves the generation.
    let (st, refused) = s.post(&format!("/api/v1/orders/{o1}/cancel/"), &staff, json!({"order_items": []})).await;
    assert!((400..500).contains(&st), "{refused}");
    let before = metric(&s, "offerline_response_cache_hits_total").await;
    let (_, again) = s.get(&list, &staff).await;
    assert_eq!(again, body);
    assert_eq!(
        metric(&s, "offerline_response_cache_hits_total").await,
        before,
        "the read after a write request is built from the database"
    );
}
