//! `offerline generate` and the list endpoints over what it writes: counts, every page, the
//! ledger invariant Σ shares = amount read back through the API, and the counted list route
//! (PostgreSQL's `list_counts`) agreeing with plain `COUNT(*)`/`OFFSET` before and after
//! writes that move rows between statuses.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Db, Server};

both!(generated_ledger_lists_and_adds_up);

/// "12.34" → 1234 (two-digit currencies, as generated).
fn minor(v: &Value) -> i64 {
    let s = v.as_str().expect("money is a string");
    let (units, cents) = s.split_once('.').expect("two decimals");
    units.parse::<i64>().expect("units") * 100 + cents.parse::<i64>().expect("cents")
}

/// Every page of `path` (which has no `page` yet), checking the envelope on the way; the ids.
async fn walk(s: &Server, token: &str, path: &str, limit: usize) -> (i64, Vec<Value>) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut out = Vec::new();
    let mut page = 1;
    let mut count = -1;
    loop {
        let (st, body) = s.get(&format!("{path}{sep}limit={limit}&page={page}"), token).await;
        assert_eq!(st, 200, "{path} page {page}: {body}");
        let c = body["count"].as_i64().expect("count");
        if count >= 0 {
            assert_eq!(c, count, "count changed between pages of {path}");
        }
        count = c;
        assert_eq!(body["previous"].is_null(), page == 1, "{path} page {page} previous");
        let results = body["results"].as_array().expect("results").clone();
        let more = !body["next"].is_null();
        assert!(more || results.len() as i64 == c - (page - 1) * limit as i64, "{path} last page size");
        out.extend(results);
        if !more {
            break;
        }
        let next = body["next"].as_str().expect("next");
        assert!(next.contains(&format!("page={}", page + 1)), "{path} next link {next}");
        page += 1;
    }
    // One past the end is "Invalid page.", like DRF.
    let (st, body) = s.get(&format!("{path}{sep}limit={limit}&page={}", page + 1), token).await;
    assert_eq!((st, body), (404, json!({"detail": "Invalid page."})), "{path} past the end");
    (count, out)
}

fn ids(rows: &[Value]) -> Vec<i64> {
    rows.iter().map(|r| r["id"].as_i64().or_else(|| r["pk"].as_i64()).expect("id")).collect()
}

async fn generated_ledger_lists_and_adds_up(db: Db) {
    let s = Server::start(db).await;
    let out = s.cli(&[
        "generate",
        "--order-items",
        "2000",
        "--items-per-order",
        "10",
        "--customers",
        "20",
        "--products",
        "50",
        "--seed",
        "7",
        "--quiet",
    ]);
    let summary: Value = serde_json::from_str(out.trim()).expect("summary json");
    assert_eq!(summary["order_items"], 2000);
    assert_eq!(summary["orders"], 200);
    let token = summary["staff_token"].as_str().expect("staff token").to_owned();
    let n_discounts = summary["discount_items"].as_i64().expect("discount count");
    assert!(n_discounts > 0);

    // Every order item, in id order, each exactly once.
    let (count, items) = walk(&s, &token, "/api/v1/order_item/detailed_integration/", 300).await;
    assert_eq!(count, 2000);
    let item_ids = ids(&items);
    assert!(item_ids.windows(2).all(|w| w[0] < w[1]), "order items in id order");
    assert_eq!(item_ids.len(), 2000);

    // Discount items: Σ benefit shares = amount for every one, and the items' own
    // discount_amount is the sum of the shares they carry.
    let (dcount, discounts) = walk(&s, &token, "/api/v1/discount_items/detailed_integration/", 1000).await;
    assert_eq!(dcount, n_discounts);
    let mut carried: BTreeMap<i64, i64> = BTreeMap::new();
    for d in &discounts {
        let shares = d["benefitapplicant_set"].as_array().expect("benefits");
        assert!(!shares.is_empty());
        let sum: i64 = shares.iter().map(|b| minor(&b["discount_share"])).sum();
        assert_eq!(sum, minor(&d["amount"]), "discount item {} shares", d["id"]);
        for b in shares {
            *carried.entry(b["order_item"].as_i64().expect("order_item id")).or_default() +=
                minor(&b["discount_share"]);
        }
    }
    for it in &items {
        let id = it["pk"].as_i64().expect("pk");
        assert_eq!(minor(&it["discount_amount"]), carried.get(&id).copied().unwrap_or(0), "item {id} discount");
    }

    // One order's items through the filter, the middle order of the summary.
    let mid = summary["middle_order_id"].as_i64().expect("middle order");
    let (st, body) = s.get(&format!("/api/v1/order_item/detailed_integration/?order={mid}"), &token).await;
    assert_eq!(st, 200);
    assert_eq!(body["count"], 10);

    // Orders (newest first) and OMS order items: counts and a deep page.
    let (ocount, orders) = walk(&s, &token, "/api/v1/orders/", 50).await;
    assert_eq!(ocount, 200);
    let order_ids = ids(&orders);
    assert!(order_ids.windows(2).all(|w| w[0] > w[1]), "orders newest first");
    let (st, body) = s.get("/api/v1/oms/order_items/?limit=20&page=77", &token).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["count"], 2000);
    assert_eq!(ids(body["results"].as_array().expect("results")), item_ids[1520..1540].to_vec());

    // The counted route (no filter or only `status`) and the plain one (`id__gte=0` makes the
    // query ineligible for it) give the same pages, before and after status changes.
    let statuses: Vec<String> = {
        let mut v: Vec<String> = items.iter().map(|i| i["status"].as_str().expect("status").to_owned()).collect();
        v.sort();
        v.dedup();
        v
    };
    let changed = [item_ids[3], item_ids[1999], item_ids[1000]];
    for round in 0..2 {
        for st_code in &statuses {
            for (path, limit) in [("/api/v1/order_item/detailed_integration/", 7), ("/api/v1/orders/", 9)] {
                for page in [1, 3, 40] {
                    let fast = s.get(&format!("{path}?status={st_code}&limit={limit}&page={page}"), &token).await;
                    let plain =
                        s.get(&format!("{path}?status={st_code}&id__gte=0&limit={limit}&page={page}"), &token).await;
                    assert_eq!(fast.0, plain.0, "{path} status {st_code} page {page} (round {round})");
                    assert_eq!(fast.1["count"], plain.1["count"], "{path} status {st_code} page {page}");
                    if fast.0 == 200 {
                        assert_eq!(
                            ids(fast.1["results"].as_array().expect("results")),
                            ids(plain.1["results"].as_array().expect("results")),
                            "{path} status {st_code} page {page}"
                        );
                    }
                }
            }
        }
        if round == 0 {
            for id in changed {
                let (st, body) = s
                    .send("PATCH", &format!("/api/v1/order_item/{id}/"), Some(&token), Some(json!({"status": "500"})))
                    .await;
                assert_eq!(st, 200, "{body}");
            }
        }
    }
    let (st, body) = s.get("/api/v1/order_item/detailed_integration/?status=500", &token).await;
    assert_eq!(st, 200);
    let shipped = items.iter().filter(|i| i["status"] == "500").count() as i64;
    let moved =
        changed.iter().filter(|id| items.iter().any(|i| i["pk"] == **id && i["status"] != "500")).count() as i64;
    assert_eq!(body["count"].as_i64(), Some(shipped + moved));
}
