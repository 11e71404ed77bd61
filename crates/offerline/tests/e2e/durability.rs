//! Crash durability and contested redemptions at scale (DESIGN.md invariants 4 and 5).
//!
//! - A server SIGKILLed in the middle of concurrent checkouts and restarted on the same
//!   database has lost no acknowledged order and kept no partial one, and its usage counters
//!   equal what the orders carry; every checkout whose answer was lost is retried with its
//!   `Idempotency-Key` and gets either the order that was committed or a fresh checkout.
//! - Hundreds (1,000+ with `OFFERLINE_LONG_TESTS=1`) of customers race for a single-use
//!   voucher, a voucher whose offer allows N applications, a site offer with a global limit
//!   and a budget: nothing is overspent and the database's counters agree with the ledger.
//! - Many concurrent duplicates of one checkout with one `Idempotency-Key` make one order,
//!   and every duplicate gets the same body.
//!
//! [`check_ledger`] is the database-side audit every test here ends with.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use offerline_store::Store;
use serde_json::{Value, json};
use sqlx::Row;
use tokio::sync::Semaphore;

use crate::both;
use crate::checkout::{product, promotion};
use crate::helpers::{Db, Server, long_tests, scalar};

both!(
    acknowledged_orders_survive_sigkill,
    contested_redemptions_never_overspend,
    concurrent_duplicates_make_one_order,
    colliding_order_numbers_are_drawn_again,
    acknowledged_cancellations_survive_sigkill,
);

/// Runs `f` over `items` with at most `limit` in flight; results in input order.
pub(crate) async fn par<T, R, F, Fut>(items: Vec<T>, limit: usize, f: F) -> Vec<R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
{
    let sem = Arc::new(Semaphore::new(limit));
    let f = Arc::new(f);
    let handles: Vec<_> = items
        .into_iter()
        .map(|t| {
            let (sem, f) = (sem.clone(), f.clone());
            tokio::spawn(async move {
                let _permit = sem.acquire_owned().await.expect("semaphore");
                f(t).await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

/// A deterministic xorshift generator: failures reproduce.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// `"199.90"` → 19990.
fn minor(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("money string: {v}"));
    let (units, cents) = s.split_once('.').unwrap_or((s, "00"));
    units.parse::<i64>().expect("units") * 100 + cents.parse::<i64>().expect("cents")
}

/// One checkout attempt: the status and body, or `None` when the connection failed (the
/// server died before answering).
pub(crate) async fn checkout(http: reqwest::Client, url: String, token: String, key: String) -> Option<(u16, String)> {
    let r = http
        .post(url)
        .header("Authorization", format!("Token {token}"))
        .header("Idempotency-Key", key)
        .json(&json!({}))
        .send()
        .await
        .ok()?;
    let status = r.status().as_u16();
    Some((status, r.text().await.ok()?))
}

/// A customer's token, basket lines (product, quantity) and voucher code.
pub(crate) type Plan = (String, Vec<(i64, i64)>, Option<String>);

/// Fills each customer's basket with `lines` (product, quantity) and applies `code` if any
/// (a code that cannot apply any more is refused with 400, which is fine here).
pub(crate) async fn fill(s: &Server, plans: Vec<Plan>) {
    let (http, base) = (s.http.clone(), s.base.clone());
    par(plans, 32, move |(token, lines, code)| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            for (product, quantity) in lines {
                let r = http
                    .post(format!("{base}/baskets/basket/"))
                    .header("Authorization", format!("Token {token}"))
                    .json(&json!({"product": product, "quantity": quantity}))
                    .send()
                    .await
                    .expect("basket");
                assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap_or_default());
            }
            if let Some(code) = code {
                let r = http
                    .patch(format!("{base}/baskets/basket/"))
                    .header("Authorization", format!("Token {token}"))
                    .json(&json!({"voucher_code": code}))
                    .send()
                    .await
                    .expect("voucher");
                let st = r.status().as_u16();
                assert!(st == 200 || st == 400, "{st}: {}", r.text().await.unwrap_or_default());
            }
        }
    })
    .await;
}

/// The catalogue and offers the crash test checks out against: stacking offers of every
/// limited kind.
struct Shop {
    staff: String,
    products: Vec<i64>,
}

const CODES: [&str; 4] = ["ONCE", "TEN", "BUDGET", "MINE"];

async fn shop(s: &Server) -> Shop {
    let staff = s.staff();
    let mut products = Vec::new();
    for (i, price) in ["19.99", "7.35", "120.00", "3.10"].iter().enumerate() {
        products.push(product(s, &staff, &format!("D-{i}"), price).await);
    }
    let offer = |slug: &str, extra: Value, benefit: Value| {
        let mut body = json!({"name": slug, "slug": slug, "offer_type": "voucher_code", "currency": "try",
            "exclusive": false, "start_datetime": "2020-01-01T00:00:00Z",
            "condition": {"type": "none", "value": null}, "benefit": benefit});
        for (k, v) in extra.as_object().expect("object") {
            body[k] = v.clone();
        }
        body
    };
    promotion(
        s,
        &staff,
        offer(
            "site5",
            json!({"offer_type": "site", "max_global_applications": 70, "refund_policy": "reprice",
                   "condition": {"type": "amount", "value": "50.00", "range": {"all": true}}}),
            json!({"type": "percentage", "value": "5", "range": {"all": true}}),
        ),
    )
    .await;
    let fixed = |v: &str| json!({"type": "fixed", "value": v, "range": {"all": true}});
    let once = promotion(s, &staff, offer("once", json!({}), fixed("5.00"))).await;
    let ten = promotion(s, &staff, offer("ten", json!({"max_global_applications": 10}), fixed("10.00"))).await;
    let budget = promotion(
        s,
        &staff,
        offer("budget", json!({"max_discount": "100.00", "refund_policy": "reprice"}), fixed("7.50")),
    )
    .await;
    let mine = promotion(s, &staff, offer("mine", json!({}), fixed("1.00"))).await;
    for (code, p, usage) in [
        ("ONCE", once, "single_use"),
        ("TEN", ten, "multi_use"),
        ("BUDGET", budget, "multi_use"),
        ("MINE", mine, "once_per_customer"),
    ] {
        let (st, b) = s.post("/api/v1/vouchers/", &staff, json!({"code": code, "promotion": p, "usage": usage})).await;
        assert_eq!(st, 201, "{b}");
    }
    Shop { staff, products }
}

/// Rounds of concurrent checkouts, each cut by a SIGKILL once a third of them have been
/// answered; then the audit.
async fn acknowledged_orders_survive_sigkill(db: Db) {
    let (rounds, per_round) = if long_tests() { (10, 300) } else { (3, 60) };
    let mut s = Server::start(db).await;
    let shop = shop(&s).await;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ db as u64);
    // (customer, order body) of every 201.
    let mut acked: Vec<(i64, Value)> = Vec::new();
    let (mut lost, mut refused) = (0usize, 0usize);
    for _ in 0..rounds {
        let customers = s.customers(per_round).await;
        let plans = customers
            .iter()
            .map(|(_, t)| {
                let mut lines: Vec<(i64, i64)> = Vec::new();
                for &p in &shop.products {
                    if rng.below(2) == 0 || lines.is_empty() && p == shop.products[3] {
                        lines.push((p, 1 + rng.below(3) as i64));
                    }
                }
                let code = match rng.below(5) {
                    4 => None,
                    i => Some(CODES[i as usize].to_owned()),
                };
                (t.clone(), lines, code)
            })
            .collect();
        fill(&s, plans).await;
        let keys: Vec<String> = (0..per_round).map(|_| uuid::Uuid::new_v4().to_string()).collect();
        let answered = Arc::new(AtomicUsize::new(0));
        let (http, url) = (s.http.clone(), s.url("/orders/checkout/"));
        let handles: Vec<_> = customers
            .iter()
            .zip(&keys)
            .map(|((_, t), k)| {
                let answered = answered.clone();
                let attempt = checkout(http.clone(), url.clone(), t.clone(), k.clone());
                tokio::spawn(async move {
                    let out = attempt.await;
                    if out.is_some() {
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                    out
                })
            })
            .collect();
        // The fault: SIGKILL with the rest of the round in flight, restart on the same data.
        while answered.load(Ordering::SeqCst) < per_round / 3 && !handles.iter().all(|h| h.is_finished()) {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        s.restart();
        for (i, h) in handles.into_iter().enumerate() {
            let (uid, token) = &customers[i];
            let out = match h.await.expect("task") {
                Some(out) => out,
                None => {
                    // Lost answer: the retry with the same key gets the committed order, or
                    // (nothing committed) checks the intact basket out now.
                    lost += 1;
                    let retry = checkout(s.http.clone(), s.url("/orders/checkout/"), token.clone(), keys[i].clone());
                    let out = retry.await.expect("the restarted server answers");
                    assert!(!out.1.contains("The basket is empty"), "basket emptied without an order: {}", out.1);
                    out
                }
            };
            match out {
                (201, body) => acked.push((*uid, serde_json::from_str(&body).expect("json"))),
                (400, body) => {
                    assert!(body.contains("limit") || body.contains("Voucher"), "{body}");
                    refused += 1;
                }
                (st, body) => panic!("checkout answered {st}: {body}"),
            }
        }
    }
    assert!(lost > 0, "no checkout was in flight at any SIGKILL");

    // Through the API: every acknowledged order is there, whole, as it was acknowledged.
    for (uid, body) in &acked {
        let o = &body["order"];
        let pk = o["pk"].as_i64().expect("pk");
        let (st, d) = s.get(&format!("/api/v1/orders_integration/{pk}/detailed_integration/"), &shop.staff).await;
        assert_eq!(st, 200, "acknowledged order {pk} is missing: {d}");
        assert_eq!(d["user"], json!(uid));
        for k in ["number", "amount", "discount_amount", "orderitem_set", "discountitem_set"] {
            assert_eq!(d[k], o[k], "order {pk}: {k}");
        }
        assert!(!d["orderitem_set"].as_array().expect("items").is_empty());
        for di in d["discountitem_set"].as_array().expect("discounts") {
            let shares: i64 = di["benefitapplicant_set"]
                .as_array()
                .expect("applicants")
                .iter()
                .map(|b| minor(&b["discount_share"]))
                .sum();
            assert_eq!(shares, minor(&di["amount"]), "order {pk}: {di}");
        }
    }
    // In the database: exactly the acknowledged orders, one per customer at most, and an
    // exact ledger with counters that match it.
    let store = Store::connect(&s.database_url).await.expect("store");
    let figures = check_ledger(&store).await;
    assert_eq!(figures.orders, acked.len() as i64, "orders in the database vs acknowledged");
    let repeated: i64 =
        scalar(&store, "SELECT COUNT(*) FROM (SELECT user_id FROM orders GROUP BY user_id HAVING COUNT(*) > 1) x")
            .await;
    assert_eq!(repeated, 0, "a customer with one basket and one key has two orders");
    println!(
        "crash durability ({db:?}): {rounds} SIGKILLs, {} checkouts, {} acknowledged orders checked, \
         {lost} answers lost and retried, {refused} refused at a limit, {} discount items, overspend 0",
        rounds * per_round,
        acked.len(),
        figures.discounts
    );
}

/// The contested-redemption shop: four products (`{prefix}-0` … `-3`, 40.00 each) and a
/// 10.00-off offer on each — a single-use code (`ONCE`), a code whose offer allows `limit`
/// applications (`NUSES`), a site offer allowing `limit`, and a code with a `budget`
/// (`BUDGET`). Returns the products and the four promotion ids in that order.
pub(crate) async fn contested_shop(
    s: &Server,
    staff: &str,
    prefix: &str,
    limit: i64,
    budget: &str,
) -> (Vec<i64>, [i64; 4]) {
    let mut products = Vec::new();
    for i in 0..4 {
        products.push(product(s, staff, &format!("{prefix}-{i}"), "40.00").await);
    }
    let offer = |slug: &str, kind: &str, p: i64, limits: Value| {
        let mut body = json!({"name": slug, "slug": slug, "offer_type": kind, "currency": "try", "exclusive": false,
            "start_datetime": "2020-01-01T00:00:00Z", "condition": {"type": "none", "value": null},
            "benefit": {"type": "fixed", "value": "10.00", "range": {"products": [p]}}});
        for (k, v) in limits.as_object().expect("object") {
            body[k] = v.clone();
        }
        body
    };
    let once = promotion(s, staff, offer("once", "voucher_code", products[0], json!({}))).await;
    let nuses =
        promotion(s, staff, offer("nuses", "voucher_code", products[1], json!({"max_global_applications": limit})))
            .await;
    let site = promotion(s, staff, offer("site", "site", products[2], json!({"max_global_applications": limit}))).await;
    let budget =
        promotion(s, staff, offer("budget", "voucher_code", products[3], json!({"max_discount": budget}))).await;
    for (code, p, usage) in
        [("ONCE", once, "single_use"), ("NUSES", nuses, "multi_use"), ("BUDGET", budget, "multi_use")]
    {
        let (st, b) = s.post("/api/v1/vouchers/", staff, json!({"code": code, "promotion": p, "usage": usage})).await;
        assert_eq!(st, 201, "{b}");
    }
    (products, [once, nuses, site, budget])
}

/// Four groups race at once, each for its own product and limit.
async fn contested_redemptions_never_overspend(db: Db) {
    let n: usize = if long_tests() { 1000 } else { 250 };
    let s = Server::start(db).await;
    let staff = s.staff();
    let limit = 25i64;
    let (products, [once, nuses, site, budget]) = contested_shop(&s, &staff, "R", limit, "250.00").await;
    let groups: [(i64, Option<&str>, i64); 4] =
        [(once, Some("ONCE"), 1), (nuses, Some("NUSES"), limit), (site, None, limit), (budget, Some("BUDGET"), limit)];
    let customers = s.customers(4 * n).await;
    let plans = customers
        .iter()
        .enumerate()
        .map(|(i, (_, t))| (t.clone(), vec![(products[i % 4], 1)], groups[i % 4].1.map(str::to_owned)))
        .collect();
    fill(&s, plans).await;
    let (http, url) = (s.http.clone(), s.url("/orders/checkout/"));
    let attempts: Vec<_> = customers.iter().map(|(_, t)| t.clone()).collect();
    let answers =
        par(attempts, 64, move |t| checkout(http.clone(), url.clone(), t, uuid::Uuid::new_v4().to_string())).await;
    let store = Store::connect(&s.database_url).await.expect("store");
    for (g, (promotion, code, expected)) in groups.iter().enumerate() {
        let mut ok = 0;
        for (i, a) in answers.iter().enumerate().filter(|(i, _)| i % 4 == g) {
            match a {
                Some((201, _)) => ok += 1,
                // Refused at the limit, or by the voucher check before it ("already been used").
                Some((400, body)) => {
                    assert!(body.contains("limit") || body.contains("Voucher"), "customer {i}: {body}")
                }
                other => panic!("customer {i}: {other:?}"),
            }
        }
        let carried: i64 = sqlx::query("SELECT COUNT(*) FROM discount_items WHERE promotion_id = $1")
            .bind(promotion)
            .fetch_one(store.reader())
            .await
            .expect("count")
            .get(0);
        assert_eq!(carried, *expected, "{code:?}: orders carrying the offer");
        if code.is_some() {
            assert_eq!(ok, *expected, "{code:?}: successful checkouts");
        } else {
            // Past the limit the site offer stops applying; those checkouts go through
            // without it (or are refused if they were priced with it).
            assert!(ok >= *expected, "site offer: {ok} checkouts");
        }
    }
    let figures = check_ledger(&store).await;
    println!(
        "races ({db:?}): {} contested checkouts, {} orders, {} discount items, overspend 0",
        4 * n,
        figures.orders,
        figures.discounts
    );
}

/// `dups` concurrent copies of each customer's checkout, all with one key.
async fn concurrent_duplicates_make_one_order(db: Db) {
    let (customers_n, dups) = if long_tests() { (100, 20) } else { (20, 10) };
    let s = Server::start(db).await;
    let staff = s.staff();
    let a = product(&s, &staff, "I-1", "12.34").await;
    let customers = s.customers(customers_n).await;
    fill(&s, customers.iter().map(|(_, t)| (t.clone(), vec![(a, 2)], None)).collect()).await;
    let mut attempts = Vec::new();
    for (uid, t) in &customers {
        let key = uuid::Uuid::new_v4().to_string();
        for _ in 0..dups {
            attempts.push((*uid, t.clone(), key.clone()));
        }
    }
    let (http, url) = (s.http.clone(), s.url("/orders/checkout/"));
    let answers = par(attempts, 256, move |(uid, t, k)| {
        let attempt = checkout(http.clone(), url.clone(), t, k);
        async move { (uid, attempt.await) }
    })
    .await;
    let store = Store::connect(&s.database_url).await.expect("store");
    for (uid, _) in &customers {
        let bodies: Vec<&String> = answers
            .iter()
            .filter(|(u, _)| u == uid)
            .map(|(_, a)| match a {
                Some((201, body)) => body,
                other => panic!("customer {uid}: {other:?}"),
            })
            .collect();
        assert_eq!(bodies.len(), dups);
        assert!(bodies.iter().all(|b| *b == bodies[0]), "customer {uid}: the duplicates got different bodies");
        let orders: i64 = sqlx::query("SELECT COUNT(*) FROM orders WHERE user_id = $1")
            .bind(uid)
            .fetch_one(store.reader())
            .await
            .expect("count")
            .get(0);
        assert_eq!(orders, 1, "customer {uid}");
    }
    let figures = check_ledger(&store).await;
    assert_eq!(figures.orders, customers_n as i64);
}

/// A generated order number that is taken (two orders in one millisecond drawing the same
/// four digits) is drawn again inside the same transaction, instead of refusing the
/// checkout; an explicit number that is taken is still a conflict.
async fn colliding_order_numbers_are_drawn_again(db: Db) {
    use offerline_core::{Currency, OrderDraft, OrderStatus, ProductId, UnitDraft};
    use offerline_store::StoreError;
    use offerline_store::orders::{NewOrder, place_order, place_order_numbered};
    let s = Server::start(db).await;
    let staff = s.staff();
    let a = product(&s, &staff, "N-1", "5.00").await;
    let store = Store::connect(&s.database_url).await.expect("store");
    let order = |number: Option<&str>| NewOrder {
        number: number.map(str::to_owned),
        user_id: None,
        channel: "storefront".into(),
        status: OrderStatus::APPROVED,
        currency: Currency::parse("try").unwrap(),
        customer: None,
        shipping_address: None,
        billing_address: None,
        draft: OrderDraft {
            units: vec![UnitDraft {
                product: ProductId(a),
                line_key: "l".into(),
                price: 500,
                retail_price: None,
                tax_rate: 0,
                price_list_id: None,
                stock_list_id: None,
                product_name: "N".into(),
                product_sku: "N-1".into(),
            }],
            ..OrderDraft::default()
        },
    };
    let mut tx = store.begin().await.expect("begin");
    place_order(&mut tx, &order(Some("17000000000001234"))).await.expect("first order");
    tx.commit().await.expect("commit");

    let mut tx = store.begin().await.expect("begin");
    let mut drawn = ["17000000000001234", "17000000000001234", "17000000000005678"].into_iter();
    let placed = place_order_numbered(&mut tx, &order(None), || drawn.next().expect("a number").to_owned())
        .await
        .expect("a colliding generated number is drawn again");
    assert_eq!(placed.number, "17000000000005678");
    // The transaction is still usable after the collisions (PostgreSQL aborts on an error).
    place_order(&mut tx, &order(None)).await.expect("same transaction");
    tx.commit().await.expect("commit");

    let mut tx = store.begin().await.expect("begin");
    let taken = place_order(&mut tx, &order(Some("17000000000001234"))).await;
    assert!(matches!(taken, Err(StoreError::Conflict { field: "number", .. })), "{taken:?}");
    tx.rollback().await.expect("rollback");
    let mut tx = store.begin().await.expect("begin");
    let always = place_order_numbered(&mut tx, &order(None), || "17000000000001234".to_owned()).await;
    assert!(matches!(always, Err(StoreError::Conflict { .. })), "gives up: {always:?}");
    tx.rollback().await.expect("rollback");
    assert_eq!(scalar(&store, "SELECT COUNT(*) FROM orders").await, 3);
    check_ledger(&store).await;
}

/// A burst of concurrent staff cancellations (each with its `Idempotency-Key`) cut by a
/// SIGKILL once a third have been answered; after the restart each lost answer is retried
/// with its key. Every acknowledged cancellation is there with the refund it answered, and
/// the audit finds no half-written one and usage counters equal to the ledger net of them.
async fn acknowledged_cancellations_survive_sigkill(db: Db) {
    let per_round = if long_tests() { 200 } else { 48 };
    let mut s = Server::start(db).await;
    let shop = shop(&s).await;
    let customers = s.customers(per_round).await;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ db as u64);
    let plans = customers
        .iter()
        .map(|(_, t)| {
            let lines: Vec<(i64, i64)> = shop.products.iter().map(|&p| (p, 1 + rng.below(2) as i64)).collect();
            let code = match rng.below(5) {
                4 => None,
                i => Some(CODES[i as usize].to_owned()),
            };
            (t.clone(), lines, code)
        })
        .collect();
    fill(&s, plans).await;
    let mut orders: Vec<(i64, Vec<i64>)> = Vec::new();
    for (_, t) in &customers {
        let (st, body) =
            checkout(s.http.clone(), s.url("/orders/checkout/"), t.clone(), uuid::Uuid::new_v4().to_string())
                .await
                .expect("checkout");
        if st != 201 {
            continue;
        }
        let o: Value = serde_json::from_str(&body).expect("json");
        let items =
            o["order"]["orderitem_set"].as_array().expect("items").iter().map(|i| i["pk"].as_i64().unwrap()).collect();
        orders.push((o["order"]["pk"].as_i64().unwrap(), items));
    }
    // Each order: a random part of its units (all of them for every third order).
    let jobs: Vec<(i64, Vec<i64>, String)> = orders
        .iter()
        .enumerate()
        .map(|(n, (pk, items))| {
            let take = if n % 3 == 0 { items.len() } else { 1 + rng.below(items.len() as u64) as usize };
            (*pk, items[..take].to_vec(), uuid::Uuid::new_v4().to_string())
        })
        .collect();
    let answered = Arc::new(AtomicUsize::new(0));
    let cancel = |http: reqwest::Client, base: String, staff: String, (pk, items, key): (i64, Vec<i64>, String)| async move {
        let r = http
            .post(format!("{base}/api/v1/orders/{pk}/cancel/"))
            .header("Authorization", format!("Token {staff}"))
            .header("Idempotency-Key", key)
            .json(&json!({"order_items": items}))
            .send()
            .await
            .ok()?;
        let status = r.status().as_u16();
        Some((status, r.text().await.ok()?))
    };
    let handles: Vec<_> = jobs
        .iter()
        .cloned()
        .map(|job| {
            let answered = answered.clone();
            let attempt = cancel(s.http.clone(), s.base.clone(), shop.staff.clone(), job);
            tokio::spawn(async move {
                let out = attempt.await;
                if out.is_some() {
                    answered.fetch_add(1, Ordering::SeqCst);
                }
                out
            })
        })
        .collect();
    while answered.load(Ordering::SeqCst) < jobs.len() / 3 && !handles.iter().all(|h| h.is_finished()) {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    s.restart();
    let mut lost = 0;
    let mut acked: Vec<(i64, Value)> = Vec::new();
    for (h, job) in handles.into_iter().zip(&jobs) {
        let out = match h.await.expect("task") {
            Some(out) => out,
            None => {
                lost += 1;
                cancel(s.http.clone(), s.base.clone(), shop.staff.clone(), job.clone()).await.expect("restarted")
            }
        };
        assert_eq!(out.0, 200, "cancellation of order {}: {}", job.0, out.1);
        acked.push((job.0, serde_json::from_str(&out.1).expect("json")));
    }
    // Each acknowledged answer is what the database holds now.
    for (pk, answer) in &acked {
        let (_, d) = s.get(&format!("/api/v1/orders_integration/{pk}/detailed_integration/"), &shop.staff).await;
        assert_eq!(d["cancellation_set"], answer["cancellation_set"], "order {pk}");
        assert_eq!(d["refunded_amount"], answer["refunded_amount"], "order {pk}");
        assert_eq!(d["cancellation_set"].as_array().map(Vec::len), Some(1), "order {pk}: cancelled once");
    }
    let store = Store::connect(&s.database_url).await.expect("store");
    check_ledger(&store).await;
    let cancellations = scalar(&store, "SELECT COUNT(*) FROM cancellations").await;
    assert_eq!(cancellations, acked.len() as i64);
    println!(
        "cancellation durability ({db:?}): {} orders, {} cancellations acknowledged, {lost} answers lost and retried",
        orders.len(),
        acked.len()
    );
}

/// What [`check_ledger`] looked at.
pub struct Figures {
    pub orders: i64,
    pub discounts: i64,
}

/// The database-side audit: no partial order, exact shares, totals that add up, usage
/// counters equal to what the orders carry net of cancellations, no limit passed, refunds
/// that add up (never above an order's amount, exactly it once every unit is gone), no
/// half-written cancellation, no idempotency key left pending.
pub async fn check_ledger(store: &Store) -> Figures {
    let checks = [
        (
            "orders without items",
            "SELECT id FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)",
        ),
        (
            "discount items whose shares do not sum to the amount (or have none)",
            "SELECT d.id FROM discount_items d LEFT JOIN benefit_applicants b ON b.discount_item_id = d.id \
             GROUP BY d.id, d.amount HAVING d.amount <= 0 OR COUNT(b.id) = 0 OR SUM(b.discount_share) <> d.amount",
        ),
        (
            "ledger rows naming a row that is not there",
            "SELECT i.id FROM order_items i WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = i.order_id) \
             OR NOT EXISTS (SELECT 1 FROM products p WHERE p.id = i.product_id) \
             UNION ALL SELECT d.id FROM discount_items d WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = d.order_id) \
             OR (d.promotion_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM promotions p WHERE p.id = d.promotion_id)) \
             UNION ALL SELECT b.id FROM benefit_applicants b WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.id = b.order_item_id) \
             OR NOT EXISTS (SELECT 1 FROM discount_items d WHERE d.id = b.discount_item_id) \
             UNION ALL SELECT c.id FROM condition_applicants c WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.id = c.order_item_id) \
             OR NOT EXISTS (SELECT 1 FROM discount_items d WHERE d.id = c.discount_item_id)",
        ),
        (
            "order items with a bad net",
            "SELECT id FROM order_items WHERE net_amount < 0 OR net_amount + discount_amount <> price",
        ),
        (
            "order items whose discount is not the sum of their shares",
            "SELECT i.id FROM order_items i WHERE i.discount_amount <> \
             (SELECT CAST(COALESCE(SUM(b.discount_share), 0) AS BIGINT) FROM benefit_applicants b WHERE b.order_item_id = i.id)",
        ),
        (
            "orders whose totals do not add up",
            "SELECT o.id FROM orders o WHERE o.discount_amount <> \
             (SELECT CAST(COALESCE(SUM(d.amount), 0) AS BIGINT) FROM discount_items d WHERE d.order_id = o.id) \
             OR o.amount_without_discount <> (SELECT CAST(SUM(i.price) AS BIGINT) FROM order_items i WHERE i.order_id = o.id) \
             OR o.amount <> o.amount_without_discount - o.discount_amount",
        ),
        (
            "offers whose usage counters differ from their discount items (net of reversals)",
            "SELECT p.id FROM promotions p LEFT JOIN offer_usage u ON u.promotion_id = p.id \
             WHERE COALESCE(u.applications, 0) <> (SELECT CAST(COALESCE(SUM(d.applications), 0) AS BIGINT) \
                FROM discount_items d WHERE d.promotion_id = p.id AND d.cancel_amount < d.amount) \
             OR COALESCE(u.orders_count, 0) <> \
                (SELECT COUNT(*) FROM discount_items d WHERE d.promotion_id = p.id AND d.cancel_amount < d.amount) \
             OR COALESCE(u.discount_spent, 0) <> \
                (SELECT CAST(COALESCE(SUM(d.amount - d.cancel_amount), 0) AS BIGINT) FROM discount_items d \
                 WHERE d.promotion_id = p.id)",
        ),
        (
            "per-customer usage differing from the customer's discount items (net of reversals)",
            "SELECT c.promotion_id FROM offer_customer_usage c WHERE c.applications <> \
             (SELECT CAST(COALESCE(SUM(d.applications), 0) AS BIGINT) FROM discount_items d \
              JOIN orders o ON o.id = d.order_id \
              WHERE d.promotion_id = c.promotion_id AND o.user_id = c.user_id AND d.cancel_amount < d.amount)",
        ),
        (
            "vouchers whose uses differ from their applications or the live orders carrying the code",
            "SELECT v.id FROM vouchers v WHERE v.uses <> (SELECT COUNT(*) FROM voucher_applications a WHERE a.voucher_id = v.id) \
             OR v.uses <> (SELECT COUNT(*) FROM discount_items d WHERE d.code = v.code AND d.cancel_amount < d.amount)",
        ),
        (
            "discount items whose cancel_amount is not the sum of their approved reversals, or above the amount",
            "SELECT d.id FROM discount_items d WHERE d.cancel_amount > d.amount OR d.cancel_amount <> \
             (SELECT CAST(COALESCE(SUM(r.amount), 0) AS BIGINT) FROM cancellation_reversals r \
              JOIN cancellation_items ci ON ci.id = r.cancellation_item_id \
              JOIN cancellations c ON c.id = ci.cancellation_id \
              WHERE r.discount_item_id = d.id AND c.status = 'approved')",
        ),
        (
            "orders refunded above their amount, or not exactly when every unit is gone",
            "SELECT o.id FROM orders o WHERE \
             (SELECT CAST(COALESCE(SUM(c.refund_amount), 0) AS BIGINT) FROM cancellations c \
              WHERE c.order_id = o.id AND c.status = 'approved') > o.amount \
             OR (NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id AND i.status NOT IN (100, 600)) \
              AND (SELECT CAST(COALESCE(SUM(c.refund_amount), 0) AS BIGINT) FROM cancellations c \
                   WHERE c.order_id = o.id AND c.status = 'approved') <> o.amount)",
        ),
        (
            "cancellations whose refund is not the sum of their units' (or that have no unit)",
            "SELECT c.id FROM cancellations c WHERE c.status <> 'rejected' AND c.refund_amount <> \
             (SELECT CAST(COALESCE(SUM(ci.refund_amount), 0) AS BIGINT) FROM cancellation_items ci \
              WHERE ci.cancellation_id = c.id) OR NOT EXISTS (SELECT 1 FROM cancellation_items ci WHERE ci.cancellation_id = c.id)",
        ),
        (
            "units cancelled or refunded without an approved cancellation, or in two",
            "SELECT i.id FROM order_items i WHERE i.status IN (100, 600) AND 1 <> \
             (SELECT COUNT(*) FROM cancellation_items ci JOIN cancellations c ON c.id = ci.cancellation_id \
              WHERE ci.order_item_id = i.id AND c.status = 'approved')",
        ),
        (
            "voucher applications without their order",
            "SELECT a.id FROM voucher_applications a WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = a.order_id)",
        ),
        (
            "limits passed (overspend)",
            "SELECT p.id FROM promotions p JOIN offer_usage u ON u.promotion_id = p.id \
             WHERE (p.max_global_applications IS NOT NULL AND u.applications > p.max_global_applications) \
             OR (p.max_discount IS NOT NULL AND u.discount_spent > p.max_discount)",
        ),
        ("single-use vouchers used twice", "SELECT id FROM vouchers WHERE usage = 'single_use' AND uses > 1"),
        (
            "once-per-customer vouchers used twice by one customer",
            "SELECT a.voucher_id FROM voucher_applications a JOIN vouchers v ON v.id = a.voucher_id \
             WHERE v.usage = 'once_per_customer' GROUP BY a.voucher_id, a.user_id HAVING COUNT(*) > 1",
        ),
        ("idempotency keys left pending", "SELECT user_id FROM idempotency_keys WHERE status = 0"),
    ];
    for (what, sql) in checks {
        let n = scalar(store, &format!("SELECT COUNT(*) FROM ({sql}) x")).await;
        assert_eq!(n, 0, "{what}: {n}");
    }
    Figures {
        orders: scalar(store, "SELECT COUNT(*) FROM orders").await,
        discounts: scalar(store, "SELECT COUNT(*) FROM discount_items").await,
    }
}
