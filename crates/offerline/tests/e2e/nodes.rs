//! Two `offerline serve` processes on one database (one PostgreSQL schema, one SQLite file):
//! the limits and the on/off state of a promotion are the database's, whatever either node's
//! offer cache still holds.
//!
//! - Contested redemptions spread over both nodes stay exact (DESIGN.md invariant 4).
//! - A promotion deactivated, ended, not started, deleted, its limit or budget lowered, or its
//!   benefit changed through node A is honoured by the very next checkout on node B, sent as
//!   soon as A answered (no waiting for B's cache), round after round.
//! - A product, a price or a promotion written through one node is priced by the very next
//!   simulation on either node, sent as soon as the write was answered (the in-memory
//!   catalogue and offer index check the database's pricing versions first).
//! - The pricing versions those reads rest on move with every promotion and catalogue write
//!   and never with a checkout, so checkouts never queue on their rows.
//! - The same for a change no offer cache can ever see (a row updated by hand, its
//!   `modified_at` untouched): the checkout transaction reads the row, not the cache.

use offerline_store::Store;
use serde_json::{Value, json};
use sqlx::Row;

use crate::both;
use crate::cache::metric;
use crate::checkout::{product, promotion};
use crate::durability::{check_ledger, checkout, contested_shop, fill, par};
use crate::helpers::{Db, Server};

both!(
    contested_redemptions_over_two_nodes_stay_exact,
    an_offer_turned_off_on_one_node_is_honoured_by_the_next_checkout_on_the_other,
    a_change_no_cache_can_see_is_honoured,
    catalogue_and_promotion_writes_are_priced_at_once_on_both_nodes,
    the_pricing_versions_move_with_promotion_and_catalogue_writes_and_never_with_a_checkout,
);

/// Simulates `body` on `s` until `done` holds (10 s at most): the node's offer cache caught up.
async fn until_priced(s: &Server, staff: &str, body: &Value, what: &str, done: impl Fn(&Value) -> bool) {
    let mut last = Value::Null;
    for _ in 0..200 {
        let (st, r) = s.post("/api/v1/pricing/simulate/", staff, body.clone()).await;
        assert_eq!(st, 200, "{r}");
        if done(&r) {
            return;
        }
        last = r;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{what} never reached the offer cache: {last}");
}

fn applied_ids(r: &Value) -> Vec<i64> {
    r["applied"].as_array().map(|a| a.iter().filter_map(|x| x["promotion"].as_i64()).collect()).unwrap_or_default()
}

async fn scalar(store: &Store, sql: &str, id: i64) -> i64 {
    sqlx::query(sql).bind(id).fetch_one(store.reader()).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

/// Orders carrying promotion `id`.
async fn carried(store: &Store, id: i64) -> i64 {
    scalar(store, "SELECT COUNT(*) FROM discount_items WHERE promotion_id = $1", id).await
}

/// Four groups race at once, each for its own product and limit, every other customer on
/// the other node.
async fn contested_redemptions_over_two_nodes_stay_exact(db: Db) {
    let n: usize = 60;
    let a = Server::start(db).await;
    let b = Server::start_on(db, a.database_url.clone(), None, None);
    let staff = a.staff();
    let limit = 20i64;
    let (products, [once, nuses, site, budget]) = contested_shop(&a, &staff, "N", limit, "200.00").await;
    let everything = json!({"lines": products.iter().enumerate().map(|(i, _)| json!({"sku": format!("N-{i}"), "quantity": 1})).collect::<Vec<_>>(),
        "voucher_codes": ["ONCE", "NUSES", "BUDGET"]});
    for s in [&a, &b] {
        until_priced(s, &staff, &everything, "the four offers", |r| applied_ids(r).len() == 4).await;
    }
    let groups: [(i64, Option<&str>, i64); 4] =
        [(once, Some("ONCE"), 1), (nuses, Some("NUSES"), limit), (site, None, limit), (budget, Some("BUDGET"), limit)];
    let customers = a.customers(4 * n).await;
    let plans = customers
        .iter()
        .enumerate()
        .map(|(i, (_, t))| (t.clone(), vec![(products[i % 4], 1)], groups[i % 4].1.map(str::to_owned)))
        .collect();
    fill(&a, plans).await;
    let http = a.http.clone();
    let (url_a, url_b) = (a.url("/orders/checkout/"), b.url("/orders/checkout/"));
    // Customer i checks out on node A when i / 4 is even, else on node B: each group is
    // split over both nodes.
    let attempts: Vec<_> = customers
        .iter()
        .enumerate()
        .map(|(i, (_, t))| (t.clone(), if (i / 4) % 2 == 0 { url_a.clone() } else { url_b.clone() }))
        .collect();
    let answers =
        par(attempts, 64, move |(t, url)| checkout(http.clone(), url, t, uuid::Uuid::new_v4().to_string())).await;
    let store = Store::connect(&a.database_url).await.expect("store");
    for (g, (promotion, code, expected)) in groups.iter().enumerate() {
        let mut ok = [0, 0];
        for (i, answer) in answers.iter().enumerate().filter(|(i, _)| i % 4 == g) {
            match answer {
                Some((201, _)) => ok[(i / 4) % 2] += 1,
                Some((400, body)) => {
                    assert!(body.contains("limit") || body.contains("Voucher"), "customer {i}: {body}")
                }
                other => panic!("customer {i}: {other:?}"),
            }
        }
        assert_eq!(carried(&store, *promotion).await, *expected, "{code:?}: orders carrying the offer");
        if code.is_some() {
            assert_eq!(ok[0] + ok[1], *expected, "{code:?}: successful checkouts (node A, node B: {ok:?})");
        } else {
            assert!(ok[0] + ok[1] >= *expected, "site offer: {ok:?} checkouts");
        }
    }
    let figures = check_ledger(&store).await;
    println!(
        "two nodes ({db:?}): {} contested checkouts, {} orders, {} discount items, overspend 0",
        4 * n,
        figures.orders,
        figures.discounts
    );
    store.close().await;
}

/// What a checkout did with the offer `id`: `Some(Some(amount))` an order carrying it,
/// `Some(None)` an order without it, `None` refused (400, the message checked).
async fn checkout_on(s: &Server, token: &str, id: i64) -> Option<Option<String>> {
    let (st, r) = s.post("/orders/checkout/", token, json!({})).await;
    match st {
        201 => Some(
            r["order"]["discountitem_set"]
                .as_array()
                .expect("discount items")
                .iter()
                .find(|d| d["promotion"].as_i64() == Some(id))
                .map(|d| d["amount"].as_str().expect("amount").to_owned()),
        ),
        400 => {
            let text = r.to_string();
            assert!(text.contains("limit") || text.contains("offer"), "refused without a reason: {text}");
            None
        }
        _ => panic!("checkout: {st} {r}"),
    }
}

/// Rounds of: make sure node B prices the offer, turn it off (or change its benefit) through
/// node A, check out on B at once. Each kind of change is tried three times.
async fn an_offer_turned_off_on_one_node_is_honoured_by_the_next_checkout_on_the_other(db: Db) {
    let a = Server::start(db).await;
    let b = Server::start_on(db, a.database_url.clone(), None, None);
    let staff = a.staff();
    let p = product(&a, &staff, "OFF-1", "100.00").await;
    let body = json!({"name": "Ten off", "slug": "ten", "offer_type": "site", "currency": "try", "exclusive": false,
        "start_datetime": "2020-01-01T00:00:00Z", "condition": {"type": "none", "value": null},
        "benefit": {"type": "percentage", "value": "10", "range": {"all": true}}});
    let mut id = promotion(&a, &staff, body.clone()).await;
    let store = Store::connect(&a.database_url).await.expect("store");
    let line = json!({"lines": [{"sku": "OFF-1", "quantity": 1}]});
    let customers = b.customers(50).await;
    let mut customers = customers.into_iter();
    let patch = |id: i64, change: Value| {
        let a = &a;
        let staff = staff.clone();
        async move {
            let (st, r) = a.send("PATCH", &format!("/api/v1/promotions/{id}/"), Some(&staff), Some(change)).await;
            assert_eq!(st, 200, "{r}");
        }
    };
    let mut carrying_off = Vec::new();
    for round in 0..3 {
        for kind in ["inactive", "ended", "not started", "limit", "budget", "changed", "deleted"] {
            // Node B prices the offer now, and the next customer has it in their basket.
            until_priced(&b, &staff, &line, "the offer turned on again", |r| applied_ids(r).contains(&id)).await;
            let (_, token) = customers.next().expect("a fresh customer");
            let (st, r) = b.post("/baskets/basket/", &token, json!({"product": p, "quantity": 1})).await;
            assert_eq!(st, 200, "{r}");
            let used = carried(&store, id).await;
            match kind {
                "inactive" => patch(id, json!({"is_active": false})).await,
                "ended" => patch(id, json!({"end_datetime": "2021-01-01T00:00:00Z"})).await,
                "not started" => patch(id, json!({"start_datetime": "2100-01-01T00:00:00Z"})).await,
                "limit" => patch(id, json!({"max_global_applications": used})).await,
                "budget" => patch(id, json!({"max_discount": format!("{}.00", 10 * used.max(1))})).await,
                "changed" => patch(id, json!({"benefit": {"value": "20"}})).await,
                _ => {
                    let (st, _) = a.send("DELETE", &format!("/api/v1/promotions/{id}/"), Some(&staff), None).await;
                    assert_eq!(st, 204);
                }
            }
            // At once, on the other node.
            let outcome = checkout_on(&b, &token, id).await;
            match (kind, &outcome) {
                ("limit" | "budget", _) => {}
                ("changed", Some(Some(amount))) if amount == "20.00" => {}
                ("changed", _) => carrying_off.push(format!("round {round}: changed: {outcome:?}, not 20.00")),
                (_, Some(Some(_))) => carrying_off.push(format!("round {round}: {kind}")),
                _ => {}
            }
            if matches!(kind, "limit" | "budget") && carried(&store, id).await != used {
                carrying_off.push(format!("round {round}: {kind}: usage past the lowered limit"));
            }
            // On again for the next round.
            match kind {
                "inactive" => patch(id, json!({"is_active": true})).await,
                "ended" => patch(id, json!({"end_datetime": null})).await,
                "not started" => patch(id, json!({"start_datetime": "2020-01-01T00:00:00Z"})).await,
                "limit" => patch(id, json!({"max_global_applications": null})).await,
                "budget" => patch(id, json!({"max_discount": null})).await,
                "changed" => patch(id, json!({"benefit": {"value": "10"}})).await,
                _ => id = promotion(&a, &staff, body.clone()).await,
            }
            // A checkout that applies the offer while it is on, so the next lowered limit has
            // usage under it.
            let (_, t) = customers.next().expect("a fresh customer");
            until_priced(&b, &staff, &line, "the offer turned on again", |r| {
                r["applied"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x["promotion"] == id && x["amount"] == "10.00"))
            })
            .await;
            b.post("/baskets/basket/", &t, json!({"product": p, "quantity": 1})).await;
            let on = checkout_on(&b, &t, id).await;
            assert_eq!(on, Some(Some("10.00".to_owned())), "round {round}: {kind}: on again");
        }
    }
    assert!(carrying_off.is_empty(), "checkouts on node B that applied what node A had turned off: {carrying_off:?}");
    check_ledger(&store).await;
    store.close().await;
}

/// Concurrent checkouts in the burst of [`a_change_no_cache_can_see_is_honoured`].
const HERD: usize = 16;

/// A row changed by hand, `modified_at` untouched: the pricing versions move, but a rebuild
/// reads only the rows whose `modified_at` moved, so no offer cache on either node ever
/// picks the change up. The checkout still honours the row, and a burst of checkouts priced
/// with the stale offer rebuilds the cache (from every row) once, not once each.
async fn a_change_no_cache_can_see_is_honoured(db: Db) {
    let a = Server::start(db).await;
    let b = Server::start_on(db, a.database_url.clone(), None, None);
    let staff = a.staff();
    let p = product(&a, &staff, "HAND-1", "100.00").await;
    let body = |slug: &str| {
        json!({"name": slug, "slug": slug, "offer_type": "site", "currency": "try", "exclusive": false,
        "start_datetime": "2020-01-01T00:00:00Z", "condition": {"type": "none", "value": null},
        "benefit": {"type": "fixed", "value": "5.00", "range": {"all": true}}})
    };
    let off = promotion(&a, &staff, body("off")).await;
    let capped = promotion(&a, &staff, body("capped")).await;
    let herd = promotion(&a, &staff, body("herd")).await;
    let line = json!({"lines": [{"sku": "HAND-1", "quantity": 1}]});
    for s in [&a, &b] {
        until_priced(s, &staff, &line, "the three offers", |r| applied_ids(r).len() == 3).await;
    }
    let store = Store::connect(&a.database_url).await.expect("store");
    let customers = b.customers(3 + HERD).await;
    // One order with both, so the cap below has usage to meet.
    let (_, t) = &customers[0];
    b.post("/baskets/basket/", t, json!({"product": p, "quantity": 1})).await;
    let (st, r) = b.post("/orders/checkout/", t, json!({})).await;
    assert_eq!((st, r["order"]["discount_amount"].as_str()), (201, Some("15.00")), "{r}");

    sqlx::query("UPDATE promotions SET is_active = 0 WHERE id = $1").bind(off).execute(store.writer()).await.unwrap();
    sqlx::query("UPDATE promotions SET max_global_applications = 1 WHERE id = $1")
        .bind(capped)
        .execute(store.writer())
        .await
        .unwrap();
    // Give the followers time to see the commit: they rebuild from the rows whose
    // `modified_at` moved, which these are not, so both still price the two offers.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for s in [&a, &b] {
        let (st, r) = s.post("/api/v1/pricing/simulate/", &staff, line.clone()).await;
        assert_eq!((st, applied_ids(&r).len()), (200, 3), "the caches cannot have seen it: {r}");
    }
    for (i, s) in [(1, &b), (2, &a)] {
        let (_, t) = &customers[i];
        s.post("/baskets/basket/", t, json!({"product": p, "quantity": 1})).await;
        let outcome = checkout_on(s, t, off).await;
        assert!(matches!(outcome, Some(None) | None), "customer {i}: an order with the inactive offer: {outcome:?}");
    }
    assert_eq!(carried(&store, off).await, 1, "the inactive offer was applied again");
    assert_eq!(carried(&store, capped).await, 1, "the capped offer went past its limit of 1");

    // A burst: HERD checkouts at once on node B, all priced with an offer turned off by hand
    // after B's cache was last built. Each is priced again; the cache is rebuilt once.
    let (_, t) = &customers[2];
    b.post("/baskets/basket/", t, json!({"product": p, "quantity": 1})).await;
    assert_eq!(checkout_on(&b, t, herd).await, Some(Some("5.00".to_owned())), "B prices the herd offer");
    let plans: Vec<_> = customers[3..].iter().map(|(_, t)| (t.clone(), vec![(p, 1)], None)).collect();
    fill(&b, plans).await;
    sqlx::query("UPDATE promotions SET is_active = 0 WHERE id = $1").bind(herd).execute(store.writer()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let rebuilds = metric(&b, "offerline_offer_cache_rebuilds_total").await;
    let herd_orders = carried(&store, herd).await;
    let (http, url) = (b.http.clone(), b.url("/orders/checkout/"));
    let tokens: Vec<String> = customers[3..].iter().map(|(_, t)| t.clone()).collect();
    let answers =
        par(tokens, HERD, move |t| checkout(http.clone(), url.clone(), t, uuid::Uuid::new_v4().to_string())).await;
    for a in &answers {
        let (st, body) = a.as_ref().expect("answered");
        assert_eq!(*st, 201, "{body}");
        let order: Value = serde_json::from_str(body).expect("json");
        let ids: Vec<i64> = order["order"]["discountitem_set"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|d| d["promotion"].as_i64())
            .collect();
        assert!(!ids.contains(&herd), "an order with the offer turned off: {body}");
    }
    assert_eq!(carried(&store, herd).await, herd_orders, "the burst applied the offer turned off");
    let rebuilt = metric(&b, "offerline_offer_cache_rebuilds_total").await - rebuilds;
    assert_eq!(rebuilt, 1, "{HERD} stale checkouts rebuilt the offer cache {rebuilt} times");
    check_ledger(&store).await;
    store.close().await;
}

/// Simulate reads its products, prices and offers from memory (issue 16): each write must
/// still be priced by the next request on either node, sent as soon as the write was
/// answered, whatever the other node's follower has seen.
async fn catalogue_and_promotion_writes_are_priced_at_once_on_both_nodes(db: Db) {
    let a = Server::start(db).await;
    let b = Server::start_on(db, a.database_url.clone(), None, None);
    let staff = a.staff();
    let line = json!({"lines": [{"sku": "FRESH-1", "quantity": 2}], "explain": "none"});
    // Unknown on both nodes first (so both have loaded their catalogue without it).
    for s in [&a, &b] {
        let (st, r) = s.post("/api/v1/pricing/simulate/", &staff, line.clone()).await;
        assert_eq!(st, 400, "{r}");
    }
    let p = product(&a, &staff, "FRESH-1", "40.00").await;
    for (node, s) in [("a", &a), ("b", &b)] {
        let (st, r) = s.post("/api/v1/pricing/simulate/", &staff, line.clone()).await;
        assert_eq!((st, r["total"].as_str()), (200, Some("80.00")), "a new product on node {node}: {r}");
    }

    // A new price, then a promotion, then the promotion changed and deleted: each is the
    // next simulation's on both nodes, over rounds, so a follower that happened to be fast
    // once does not pass for the rule.
    for round in 0..5 {
        let price = 50 + round;
        let (st, r) =
            a.post("/api/v1/product_prices/", &staff, json!({"product": p, "price": format!("{price}.00")})).await;
        assert!(st == 200 || st == 201, "{r}");
        let full = format!("{}.00", 2 * price);
        for (node, s) in [("a", &a), ("b", &b)] {
            let (_, r) = s.post("/api/v1/pricing/simulate/", &staff, line.clone()).await;
            assert_eq!(r["total"].as_str(), Some(full.as_str()), "round {round}: a price on node {node}: {r}");
        }
        let id = promotion(
            &a,
            &staff,
            json!({"name": format!("Fresh ten {round}"), "slug": format!("fresh-ten-{round}"), "offer_type": "site",
            "currency": "try", "exclusive": false, "start_datetime": "2020-01-01T00:00:00Z",
            "condition": {"type": "none", "value": null},
            "benefit": {"type": "fixed", "value": "10.00", "range": {"skus": ["FRESH-1"]}}}),
        )
        .await;
        let off = format!("{}.00", 2 * price - 10);
        for (node, s) in [("a", &a), ("b", &b)] {
            let (_, r) = s.post("/api/v1/pricing/simulate/", &staff, line.clone()).await;
            assert_eq!(
                (r["total"].as_str(), applied_ids(&r)),
                (Some(off.as_str()), vec![id]),
                "round {round}: a promotion on node {node}: {r}"
            );
        }
        let (st, r) = a
            .send("PATCH", &format!("/api/v1/promotions/{id}/"), Some(&staff), Some(json!({"is_active": false})))
            .await;
        assert_eq!(st, 200, "{r}");
        for (node, s) in [("a", &a), ("b", &b)] {
            let (_, r) = s.post("/api/v1/pricing/simulate/", &staff, line.clone()).await;
            assert_eq!(
                (r["total"].as_str(), applied_ids(&r)),
                (Some(full.as_str()), vec![]),
                "round {round}: turned off, node {node}: {r}"
            );
        }
        let (st, _) = a.send("DELETE", &format!("/api/v1/promotions/{id}/"), Some(&staff), None).await;
        assert_eq!(st, 204);
    }

    // And back the other way: a write on B is priced by both at once.
    let (st, r) = b.post("/api/v1/product_prices/", &staff, json!({"product": p, "price": "20.00"})).await;
    assert!(st == 200 || st == 201, "{r}");
    for (node, s) in [("b", &b), ("a", &a)] {
        let (_, r) = s.post("/api/v1/pricing/simulate/", &staff, line.clone()).await;
        assert_eq!(r["total"], "40.00", "a price from node b, on node {node}: {r}");
    }
}

/// The two counters every pricing reads (migration 0014): each write to a promotion or to the
/// catalogue moves its own, in the writing transaction; a checkout moves neither (on
/// PostgreSQL their rows stay locked until a writer commits, so a checkout that moved them
/// would queue every other checkout behind it).
async fn the_pricing_versions_move_with_promotion_and_catalogue_writes_and_never_with_a_checkout(db: Db) {
    let s = Server::start(db).await;
    let staff = s.staff();
    let store = Store::connect(&s.database_url).await.expect("store");
    let versions = || async { store.pricing_versions().await.expect("versions") };
    let v0 = versions().await;
    let p = product(&s, &staff, "VER-1", "100.00").await;
    let v1 = versions().await;
    assert!(v1.catalog > v0.catalog && v1.offers == v0.offers, "a product and its price: {v0:?} → {v1:?}");
    let id = promotion(
        &s,
        &staff,
        json!({"name": "Versioned", "slug": "versioned", "offer_type": "site", "currency": "try", "exclusive": false,
        "start_datetime": "2020-01-01T00:00:00Z", "condition": {"type": "none", "value": null},
        "benefit": {"type": "percentage", "value": "10", "range": {"all": true}}}),
    )
    .await;
    let v2 = versions().await;
    assert!(v2.offers > v1.offers && v2.catalog == v1.catalog, "a promotion: {v1:?} → {v2:?}");
    let (_, token) = s.customers(1).await.into_iter().next().expect("a customer");
    let (st, r) = s.post("/baskets/basket/", &token, json!({"product": p, "quantity": 2})).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(checkout_on(&s, &token, id).await, Some(Some("20.00".to_owned())));
    assert_eq!(versions().await, v2, "a checkout moves no pricing version");
    let (st, r) =
        s.send("PATCH", &format!("/api/v1/promotions/{id}/"), Some(&staff), Some(json!({"is_active": false}))).await;
    assert_eq!(st, 200, "{r}");
    let v3 = versions().await;
    assert!(v3.offers > v2.offers && v3.catalog == v2.catalog, "a promotion changed: {v2:?} → {v3:?}");
    store.close().await;
}
