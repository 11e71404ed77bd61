//! The Elastic Path dialect: carts, custom items, custom discounts (every refusal), checkout
//! into the ledger (discount items and shares that sum exactly), the SDK's request quirks
//! (double slash, empty JSON bodies, double-wrapped bulk body), and the real JS SDK.

use offerline_store::Store;
use offerline_store::ledger::{OrderDetail, Parts, Roots};
use serde_json::{Value, json};

use crate::both;
use crate::checkout::futures_join;
use crate::helpers::{Db, Server};

both!(
    a_token_from_a_json_body,
    js_sdk_flow,
    cart_items_and_totals,
    custom_discount_refusals,
    bulk_and_sdk_quirks,
    checkout_writes_exact_ledger,
    custom_discount_ties_go_to_the_dearer_unit,
    auth_and_unknown_ids,
    implicit_tokens_are_for_shoppers,
    a_cart_past_its_caps_is_refused,
    concurrent_adds_stay_within_the_caps,
);

/// The ledger order placed through Elastic Path with this id (its number), with its units,
/// discount items and their applicants.
async fn ledger_order(store: &Store, number: &str) -> OrderDetail {
    let ledger =
        store.ledger(Roots::OrderNumber { number, channel: "elasticpath" }, Parts::ORDER_DETAIL).await.unwrap();
    OrderDetail::new(ledger).expect("the order is in the ledger")
}

/// A client's access token (client_credentials).
pub(crate) async fn token(s: &Server) -> String {
    token_of(s, &client(s)).await
}

/// A new API client: `{client_id, client_secret}`.
fn client(s: &Server) -> Value {
    serde_json::from_str(s.cli(&["client", "create", "--name", "t"]).trim()).unwrap()
}

/// An implicit token of the client `c` (its public id alone).
async fn implicit_token(s: &Server, c: &Value) -> String {
    let resp = s
        .http
        .post(s.url("/oauth/access_token"))
        .form(&[("grant_type", "implicit"), ("client_id", c["client_id"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["identifier"], "implicit");
    v["access_token"].as_str().unwrap().to_owned()
}

/// A client_credentials token of the client `c`.
async fn token_of(s: &Server, c: &Value) -> String {
    let resp = s
        .http
        .post(s.url("/oauth/access_token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c["client_id"].as_str().unwrap()),
            ("client_secret", c["client_secret"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let v: Value = resp.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

/// A request as the SDK sends it: Bearer, `Content-Type: application/json` always (also on
/// GET/DELETE with no body).
pub(crate) async fn ep(s: &Server, method: &str, path: &str, tok: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = s
        .http
        .request(method.parse().unwrap(), s.url(path))
        .header("Authorization", format!("Bearer {tok}"))
        .header("Content-Type", "application/json")
        .header("X-MOLTIN-CURRENCY", "USD");
    if let Some(b) = body {
        req = req.body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let st = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (st, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
}

pub(crate) fn disc(amount: i64, level: &str) -> Value {
    json!({"type": "custom_discount", "external_id": format!("{level} custom discount"),
           "discount_engine": "Custom Discount Engine", "amount": amount,
           "description": "custom discount description", "discount_code": format!("{level} custom-code")})
}

pub(crate) fn item(name: &str, sku: &str, qty: i64, amount: i64) -> Value {
    json!({"data": {"type": "custom_item", "name": name, "sku": sku, "quantity": qty,
                    "price": {"amount": amount, "includes_tax": true}}})
}

/// A cart with custom discounts enabled holding 2 × 4000 (A) and 1 × 2000 (B); returns
/// (cart id, item A id, item B id).
pub(crate) async fn cart_ab(s: &Server, tok: &str) -> (String, String, String) {
    let (st, c) = ep(
        s,
        "POST",
        "/v2/carts",
        tok,
        Some(json!({"data": {"name": "c", "discount_settings": {"custom_discounts_enabled": true}}})),
    )
    .await;
    assert_eq!(st, 200, "{c}");
    let id = c["data"]["id"].as_str().unwrap().to_owned();
    let (st, _) = ep(s, "POST", &format!("/v2/carts/{id}/items"), tok, Some(item("A", "sku-a", 2, 4000))).await;
    assert_eq!(st, 201);
    let (st, items) = ep(s, "POST", &format!("/v2/carts/{id}/items"), tok, Some(item("B", "sku-b", 1, 2000))).await;
    assert_eq!(st, 201, "{items}");
    let find = |sku: &str| {
        items["data"].as_array().unwrap().iter().find(|i| i["sku"] == sku).unwrap()["id"].as_str().unwrap().to_owned()
    };
    (id.clone(), find("sku-a"), find("sku-b"))
}

fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

async fn js_sdk_flow(db: Db) {
    let s = Server::start(db).await;
    let c: Value = serde_json::from_str(s.cli(&["client", "create", "--name", "sdk"]).trim()).unwrap();
    // A USD promotion with a code, for the SDK's AddPromotion on a cart priced by rule
    // promotions (contract §10).
    let staff = s.staff();
    let promo = crate::checkout::promotion(
        &s,
        &staff,
        json!({"name": "SDK 5 off", "slug": "sdk5", "offer_type": "voucher_code", "currency": "usd",
               "start_datetime": "2020-01-01T00:00:00Z", "condition": {"type": "none", "value": null},
               "benefit": {"type": "fixed", "value": "5.00", "range": {"all": true}}}),
    )
    .await;
    let (st, v) =
        s.post("/api/v1/vouchers/", &staff, json!({"code": "SDK5", "promotion": promo, "usage": "multi_use"})).await;
    assert_eq!(st, 201, "{v}");
    let dir = std::env::var("OFFERLINE_TEST_NODE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("tests/clients"));
    assert!(
        dir.join("node_modules/@elasticpath/js-sdk").is_dir(),
        "the Elastic Path JS SDK is not installed in {}: run scripts/test (it runs npm install in tests/clients)",
        dir.display()
    );
    let out = tokio::process::Command::new("node")
        .current_dir(&dir)
        .arg("ep_flow.mjs")
        .arg(&s.base)
        .arg(c["client_id"].as_str().unwrap())
        .arg(c["client_secret"].as_str().unwrap())
        .arg("SDK5")
        .output()
        .await
        .expect("run node (Node.js 20 is required)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "SDK flow failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_str(stdout.trim().lines().last().unwrap()).unwrap();
    assert_eq!(summary["ok"], true);
    assert_eq!(summary["with_tax"], 8500);
    assert_eq!(summary["discount"], -1500);
    // The SDK's order is in the ledger.
    let store = offerline_store::Store::connect(&s.database_url).await.unwrap();
    let detail = ledger_order(&store, summary["order_id"].as_str().unwrap()).await;
    let order = detail.order();
    assert_eq!((order.amount, order.discount_amount, order.currency.as_str()), (8500, 1500, "usd"));
    // The rule-priced order: its discount item names the promotion.
    let detail = ledger_order(&store, summary["rule_order_id"].as_str().expect("a rule order")).await;
    let d: Vec<(i64, Option<i64>)> = detail.order().discounts().map(|d| (d.amount, d.promotion_id)).collect();
    assert_eq!(d, vec![(500, Some(promo))]);
}

async fn cart_items_and_totals(db: Db) {
    let s = Server::start(db).await;
    let tok = token(&s).await;
    // An unknown reference creates an empty cart.
    let (st, c) = ep(&s, "GET", "/v2/carts/my-ref-123", &tok, None).await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["data"]["id"], "my-ref-123");
    assert_eq!(c["data"]["type"], "cart");
    assert_eq!(c["data"]["discount_settings"]["custom_discounts_enabled"], false);
    assert_eq!(
        c["data"]["meta"]["display_price"]["with_tax"],
        json!({"amount": 0, "currency": "USD", "formatted": "$0.00"})
    );
    for k in ["created_at", "updated_at", "expires_at"] {
        assert!(c["data"]["meta"]["timestamps"][k].as_str().unwrap().ends_with('Z'));
    }
    let (st, _) = ep(&s, "POST", "/v2/carts/my-ref-123/items", &tok, Some(item("A", "a", 2, 4000))).await;
    assert_eq!(st, 201);
    // Same sku merges.
    let (st, items) = ep(&s, "POST", "/v2/carts/my-ref-123/items", &tok, Some(item("A", "a", 1, 4000))).await;
    assert_eq!(st, 201);
    assert_eq!(items["data"].as_array().unwrap().len(), 1);
    assert_eq!(items["data"][0]["quantity"], 3);
    assert_eq!(items["data"][0]["value"]["amount"], 12000);
    assert_eq!(items["meta"]["display_price"]["without_discount"]["formatted"], "$120.00");
    let a = items["data"][0]["id"].as_str().unwrap().to_owned();
    // Another currency than the cart's is refused.
    let resp = s
        .http
        .post(s.url("/v2/carts/my-ref-123/items"))
        .bearer_auth(&tok)
        .header("X-MOLTIN-CURRENCY", "EUR")
        .json(&item("B", "b", 1, 100))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    // PUT quantity, GET items, include=items.
    let (st, items) =
        ep(&s, "PUT", &format!("/v2/carts/my-ref-123/items/{a}"), &tok, Some(json!({"data": {"quantity": 1}}))).await;
    assert_eq!(st, 200, "{items}");
    assert_eq!(items["meta"]["display_price"]["with_tax"]["amount"], 4000);
    let (st, c) = ep(&s, "GET", "/v2/carts/my-ref-123?include=items,custom_discounts", &tok, None).await;
    assert_eq!(st, 200);
    assert_eq!(c["included"]["items"][0]["sku"], "a");
    assert_eq!(c["included"]["custom_discounts"], json!([]));
    assert_eq!(c["data"]["relationships"]["items"]["data"][0]["id"], a.as_str());
    // PUT cart, DELETE item, DELETE cart.
    let (st, c) = ep(&s, "PUT", "/v2/carts/my-ref-123", &tok, Some(json!({"data": {"name": "renamed"}}))).await;
    assert_eq!((st, c["data"]["name"].as_str()), (200, Some("renamed")));
    let (st, items) = ep(&s, "DELETE", &format!("/v2/carts/my-ref-123/items/{a}"), &tok, None).await;
    assert_eq!(st, 200);
    assert_eq!(items["data"], json!([]));
    let (st, _) = ep(&s, "DELETE", "/v2/carts/my-ref-123", &tok, None).await;
    assert_eq!(st, 204);
    let (st, _) = ep(&s, "PUT", "/v2/carts/my-ref-123", &tok, Some(json!({"data": {"name": "x"}}))).await;
    assert_eq!(st, 404);
    // Bad item bodies.
    let (_, c) = ep(&s, "POST", "/v2/carts", &tok, Some(json!({"data": {"name": "c"}}))).await;
    let id = c["data"]["id"].as_str().unwrap();
    for bad in [
        json!({"data": {"type": "custom_item", "name": "x", "sku": "x", "quantity": 0, "price": {"amount": 1}}}),
        json!({"data": {"type": "custom_item", "name": "x", "sku": "x", "quantity": 1}}),
        json!({"data": {"type": "cart_item", "id": "x", "quantity": 1}}),
        json!([1, 2]),
    ] {
        let (st, e) = ep(&s, "POST", &format!("/v2/carts/{id}/items"), &tok, Some(bad)).await;
        assert_eq!(st, 400, "{e}");
        assert_eq!(e["errors"][0]["status"], 400);
    }
}

async fn custom_discount_refusals(db: Db) {
    let s = Server::start(db).await;
    let tok = token(&s).await;
    // Disabled: the store default, on a cart without its own setting.
    let (_, c) = ep(&s, "POST", "/v2/carts", &tok, Some(json!({"data": {"name": "c"}}))).await;
    let plain = c["data"]["id"].as_str().unwrap().to_owned();
    ep(&s, "POST", &format!("/v2/carts/{plain}/items"), &tok, Some(item("A", "a", 1, 1000))).await;
    let (st, e) =
        ep(&s, "POST", &format!("/v2/carts/{plain}/custom-discounts"), &tok, Some(json!({"data": disc(-100, "c")})))
            .await;
    assert_eq!(st, 422, "{e}");
    assert_eq!(e["errors"][0]["title"], "Custom discounts disabled");
    // The store setting enables it.
    let (st, set) = ep(
        &s,
        "PUT",
        "/v2/settings/cart",
        &tok,
        Some(json!({"data": {"type": "settings", "discounts": {"custom_discounts_enabled": true}}})),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(set["data"]["discounts"]["custom_discounts_enabled"], true);
    let (_, got) = ep(&s, "GET", "/v2/settings/cart", &tok, None).await;
    assert_eq!(got, set);
    let (st, _) =
        ep(&s, "POST", &format!("/v2/carts/{plain}/custom-discounts"), &tok, Some(json!({"data": disc(-100, "c")})))
            .await;
    assert_eq!(st, 201);
    let (st, e) = ep(
        &s,
        "PUT",
        "/v2/settings/cart",
        &tok,
        Some(json!({"data": {"discounts": {"custom_discounts_enabled": true, "use_rule_promotions": true}}})),
    )
    .await;
    assert_eq!(st, 422);
    assert_eq!(e["errors"][0]["detail"], "Only one discount setting can be set to true at a time.");
    // A cart's own setting overrides the store's.
    let (_, c) = ep(
        &s,
        "POST",
        "/v2/carts",
        &tok,
        Some(json!({"data": {"name": "off", "discount_settings": {"custom_discounts_enabled": false}}})),
    )
    .await;
    let off = c["data"]["id"].as_str().unwrap().to_owned();
    ep(&s, "POST", &format!("/v2/carts/{off}/items"), &tok, Some(item("A", "a", 1, 1000))).await;
    let (st, _) =
        ep(&s, "POST", &format!("/v2/carts/{off}/custom-discounts"), &tok, Some(json!({"data": disc(-100, "c")})))
            .await;
    assert_eq!(st, 422);

    let (cart, a, _) = cart_ab(&s, &tok).await;
    let path = format!("/v2/carts/{cart}/custom-discounts");
    let item_path = format!("/v2/carts/{cart}/items/{a}/custom-discounts");
    // Empty cart.
    let (_, c) = ep(
        &s,
        "POST",
        "/v2/carts",
        &tok,
        Some(json!({"data": {"name": "e", "discount_settings": {"custom_discounts_enabled": true}}})),
    )
    .await;
    let empty = c["data"]["id"].as_str().unwrap();
    let (st, e) =
        ep(&s, "POST", &format!("/v2/carts/{empty}/custom-discounts"), &tok, Some(json!({"data": disc(-1, "c")})))
            .await;
    assert_eq!((st, e["errors"][0]["title"].as_str()), (422, Some("Cart is empty")));
    // Amount ≥ 0, on both levels.
    for amount in [0, 100] {
        for p in [&path, &item_path] {
            let (st, e) = ep(&s, "POST", p, &tok, Some(json!({"data": disc(amount, "x")}))).await;
            assert_eq!(st, 422, "{e}");
        }
    }
    // Malformed bodies and missing fields → 400.
    let mut missing = disc(-1, "x");
    missing.as_object_mut().unwrap().remove("discount_code");
    for bad in [
        json!({"data": missing}),
        json!({"data": "x"}),
        json!({"nodata": 1}),
        json!({"data": {"type": "custom_discount", "external_id": "e", "discount_engine": "d", "amount": "-1",
                                "description": "d", "discount_code": "c"}}),
    ] {
        let (st, e) = ep(&s, "POST", &path, &tok, Some(bad.clone())).await;
        assert_eq!(st, 400, "{bad} → {e}");
        assert_eq!(e["errors"][0]["status"], 400);
    }
    let resp = s
        .http
        .post(s.url(&path))
        .bearer_auth(&tok)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    // Five per cart, the sixth refused; five per item, the sixth refused.
    for k in 0..5 {
        let (st, _) = ep(&s, "POST", &path, &tok, Some(json!({"data": disc(-10 - k, "cart")}))).await;
        assert_eq!(st, 201);
        let (st, _) = ep(&s, "POST", &item_path, &tok, Some(json!({"data": disc(-10 - k, "item")}))).await;
        assert_eq!(st, 201);
    }
    let (st, e) = ep(&s, "POST", &path, &tok, Some(json!({"data": disc(-1, "cart")}))).await;
    assert_eq!((st, e["errors"][0]["title"].as_str()), (422, Some("Custom discount limit reached")));
    let (st, _) = ep(&s, "POST", &item_path, &tok, Some(json!({"data": disc(-1, "item")}))).await;
    assert_eq!(st, 422);
    let (_, c) = ep(&s, "GET", &format!("/v2/carts/{cart}?include=custom_discounts"), &tok, None).await;
    assert_eq!(c["included"]["custom_discounts"].as_array().unwrap().len(), 10);
    assert_eq!(c["data"]["relationships"]["custom_discounts"]["data"].as_array().unwrap().len(), 5);
    assert_eq!(c["data"]["meta"]["display_price"]["discount"]["amount"], -2 * (10 + 11 + 12 + 13 + 14));
}

async fn bulk_and_sdk_quirks(db: Db) {
    let s = Server::start(db).await;
    let tok = token(&s).await;
    let (cart, a, b) = cart_ab(&s, &tok).await;
    // The SDK's double slash before custom-discounts.
    let (st, d) = ep(
        &s,
        "POST",
        &format!("/v2/carts/{cart}/items/{a}//custom-discounts"),
        &tok,
        Some(json!({"data": disc(-500, "item")})),
    )
    .await;
    assert_eq!(st, 201, "{d}");
    assert_eq!(d["data"]["amount"], json!({"amount": -500, "currency": "USD", "formatted": "-$5.00"}));
    assert_eq!(d["data"]["relationships"]["item"]["data"]["id"], a.as_str());
    let item_cd = d["data"]["id"].as_str().unwrap().to_owned();
    // Bulk, SDK double-wrapped without options; one bad entry is reported, the rest added.
    let mut on_b = disc(-200, "bulk-item");
    on_b["relationships"] = json!({"item": {"data": {"type": "custom_item", "id": b}}});
    let (st, r) = ep(
        &s,
        "POST",
        &format!("/v2/carts/{cart}/custom-discounts"),
        &tok,
        Some(json!({"data": {"data": [disc(-100, "bulk"), disc(5, "bad"), on_b]}})),
    )
    .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["data"].as_array().unwrap().len(), 2);
    assert_eq!(r["errors"][0]["source"]["pointer"], "/data/1");
    assert_eq!(r["data"][1]["relationships"]["item"]["data"]["id"], b.as_str());
    // add_all_or_nothing: one bad entry → nothing written.
    let (st, r) = ep(
        &s,
        "POST",
        &format!("/v2/carts/{cart}/custom-discounts"),
        &tok,
        Some(json!({"data": [disc(-1, "x"), disc(1, "y")], "options": {"add_all_or_nothing": true}})),
    )
    .await;
    assert_eq!(st, 422, "{r}");
    let (_, c) = ep(&s, "GET", &format!("/v2/carts/{cart}?include=custom_discounts"), &tok, None).await;
    assert_eq!(c["included"]["custom_discounts"].as_array().unwrap().len(), 3);
    assert_eq!(c["data"]["meta"]["display_price"]["discount"]["amount"], -800);
    // PUT and DELETE of discounts (empty JSON body on DELETE).
    let cart_cd = c["data"]["relationships"]["custom_discounts"]["data"][0]["id"].as_str().unwrap().to_owned();
    let (st, u) = ep(
        &s,
        "PUT",
        &format!("/v2/carts/{cart}/custom-discounts/{cart_cd}"),
        &tok,
        Some(json!({"data": disc(-300, "cart")})),
    )
    .await;
    assert_eq!((st, u["data"]["amount"]["amount"].as_i64()), (200, Some(-300)));
    let (st, _) = ep(
        &s,
        "PUT",
        &format!("/v2/carts/{cart}/custom-discounts/{cart_cd}"),
        &tok,
        Some(json!({"data": disc(1, "cart")})),
    )
    .await;
    assert_eq!(st, 422);
    let (st, u) = ep(
        &s,
        "PUT",
        &format!("/v2/carts/{cart}/items/{a}/custom-discounts/{item_cd}"),
        &tok,
        Some(json!({"data": {"amount": -700}})),
    )
    .await;
    assert_eq!((st, u["data"]["amount"]["amount"].as_i64()), (200, Some(-700)));
    let resp = s
        .http
        .delete(s.url(&format!("/v2/carts/{cart}/items/{a}/custom-discounts/{item_cd}")))
        .bearer_auth(&tok)
        .header("Content-Type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert_eq!(resp.text().await.unwrap(), "");
    let (st, _) = ep(&s, "DELETE", &format!("/v2/carts/{cart}/custom-discounts/{cart_cd}"), &tok, None).await;
    assert_eq!(st, 204);
    let (st, _) = ep(&s, "DELETE", &format!("/v2/carts/{cart}/custom-discounts/{cart_cd}"), &tok, None).await;
    assert_eq!(st, 404);
    let (st, _) = ep(&s, "DELETE", &format!("/v2/carts/{cart}/custom-discounts"), &tok, None).await;
    assert_eq!(st, 204);
    let (_, c) = ep(&s, "GET", &format!("/v2/carts/{cart}?include=custom_discounts"), &tok, None).await;
    assert_eq!(c["included"]["custom_discounts"], json!([]));
}

async fn checkout_writes_exact_ledger(db: Db) {
    let s = Server::start(db).await;
    let tok = token(&s).await;
    let (cart, a, b) = cart_ab(&s, &tok).await;
    // Amounts that do not divide evenly: −1001 over the cart, −333 on A, −7 on B.
    ep(&s, "POST", &format!("/v2/carts/{cart}/custom-discounts"), &tok, Some(json!({"data": disc(-1001, "cart")})))
        .await;
    ep(
        &s,
        "POST",
        &format!("/v2/carts/{cart}/items/{a}/custom-discounts"),
        &tok,
        Some(json!({"data": disc(-333, "item")})),
    )
    .await;
    let (st, _) = ep(
        &s,
        "POST",
        &format!("/v2/carts/{cart}/items/{b}/custom-discounts"),
        &tok,
        Some(json!({"data": disc(-7, "itemb")})),
    )
    .await;
    assert_eq!(st, 201);
    let body = json!({"data": {"customer": {"name": "John Doe", "email": "j@example.com"},
        "billing_address": {"first_name": "A", "last_name": "D", "line_1": "1", "postcode": "x", "country": "CA"},
        "shipping_address": {"first_name": "A", "last_name": "D", "line_1": "1", "postcode": "x", "country": "CA"}}});
    let (st, o) = ep(&s, "POST", &format!("/v2/carts/{cart}/checkout"), &tok, Some(body.clone())).await;
    assert_eq!(st, 201, "{o}");
    let id = o["data"]["id"].as_str().unwrap().to_owned();
    let dp = &o["data"]["meta"]["display_price"];
    assert_eq!(dp["without_discount"]["amount"], 10000);
    assert_eq!(dp["discount"]["amount"], -1341);
    assert_eq!(dp["with_tax"]["amount"], 8659);
    assert_eq!(dp["balance_owing"]["formatted"], "$86.59");
    // Order shape: only the cart-level discount on the order; both in included, item-level first.
    let (st, o) = ep(&s, "GET", &format!("/v2/orders/{id}?include=custom_discounts"), &tok, None).await;
    assert_eq!(st, 200);
    assert_eq!(o["data"]["relationships"]["custom_discounts"]["data"].as_array().unwrap().len(), 1);
    let inc = o["included"]["custom_discounts"].as_array().unwrap();
    assert_eq!(inc.iter().map(|d| d["amount"]["amount"].as_i64().unwrap()).collect::<Vec<_>>(), vec![-333, -7, -1001]);
    assert!(inc[0]["amount"].get("formatted").is_none());
    let (st, items) = ep(&s, "GET", &format!("/v2/orders/{id}/items"), &tok, None).await;
    assert_eq!(st, 200);
    let items = items["data"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let total: i64 =
        items.iter().map(|i| i["meta"]["display_price"]["discount"]["value"]["amount"].as_i64().unwrap()).sum();
    assert_eq!(total, -1341);
    assert_eq!(items[0]["relationships"]["cart_item"]["data"]["id"], a.as_str());
    assert_eq!(items[0]["relationships"]["custom_discounts"]["data"].as_array().unwrap().len(), 1);

    // The ledger: one order item per unit, discount items with positive amounts whose
    // benefit applicants sum exactly; item-level shares stay on their item.
    let store = offerline_store::Store::connect(&s.database_url).await.unwrap();
    let detail = ledger_order(&store, &id).await;
    let order = detail.order();
    assert_eq!((order.amount, order.discount_amount, order.amount_without_discount), (8659, 1341, 10000));
    let units: Vec<_> = order.items().collect();
    assert_eq!(units.len(), 3);
    let discounts: Vec<_> = order.discounts().collect();
    assert_eq!(discounts.len(), 3);
    let shares: Vec<(i64, i64, i64)> = discounts
        .iter()
        .flat_map(|d| d.benefits())
        .map(|b| (b.discount_item_id, b.order_item_id, b.discount_share))
        .collect();
    for d in &discounts {
        assert_eq!(d.offer_type, "custom_discount");
        assert!(d.amount > 0);
        let sum: i64 = shares.iter().filter(|x| x.0 == d.id).map(|x| x.2).sum();
        assert_eq!(sum, d.amount, "{d:?}");
        if let Some(line) = &d.line_key {
            for (_, oi, _) in shares.iter().filter(|x| x.0 == d.id) {
                assert_eq!(&units.iter().find(|u| u.id == *oi).unwrap().line_key, line);
            }
        }
    }
    let unit_sum: i64 = units.iter().map(|u| u.discount_amount).sum();
    assert_eq!(unit_sum, 1341);
    let product = store.product_by_sku("sku-a").await.unwrap().unwrap();
    assert!(!product.is_active);
    assert_eq!(product.name, "A");
    let row: (i64, Option<String>) = sqlx::query_as(
        "SELECT CAST(SUM(ba.discount_share) AS BIGINT), MAX(di.code) FROM benefit_applicants ba \
         JOIN discount_items di ON di.id = ba.discount_item_id WHERE di.order_id = $1",
    )
    .bind(order.id)
    .fetch_one(store.reader())
    .await
    .unwrap();
    assert_eq!(row.0, 1341);

    // Discounts larger than the items → 422, nothing written; empty cart → 422.
    let (_, c) = ep(&s, "GET", &format!("/v2/carts/{cart}"), &tok, None).await;
    let cd = c["data"]["relationships"]["custom_discounts"]["data"][0]["id"].as_str().unwrap().to_owned();
    ep(&s, "PUT", &format!("/v2/carts/{cart}/custom-discounts/{cd}"), &tok, Some(json!({"data": {"amount": -20000}})))
        .await;
    let (st, e) = ep(&s, "POST", &format!("/v2/carts/{cart}/checkout"), &tok, Some(body.clone())).await;
    assert_eq!(st, 422, "{e}");
    let (_, c) = ep(&s, "POST", "/v2/carts", &tok, Some(json!({"data": {"name": "e"}}))).await;
    let (st, _) =
        ep(&s, "POST", &format!("/v2/carts/{}/checkout", c["data"]["id"].as_str().unwrap()), &tok, Some(body)).await;
    assert_eq!(st, 422);
    let (st, _) =
        ep(&s, "POST", &format!("/v2/carts/{cart}/checkout"), &tok, Some(json!({"data": {"customer": {}}}))).await;
    assert_eq!(st, 400);
    let n: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM orders").fetch_one(store.reader()).await.unwrap();
    assert_eq!(n.0, 1);
}

/// The contract's tie rule (§4, §6) holds for custom discounts as for offers: a cart-level
/// 0.02 over units of 3.00 and 1.00 (exact shares 0.015 and 0.005, equal remainders) goes
/// wholly to the 3.00 unit, the later one cheapest first, whichever item was added first —
/// in the cart's view, the Elastic Path order and the ledger's benefit applicants.
async fn custom_discount_ties_go_to_the_dearer_unit(db: Db) {
    let s = Server::start(db).await;
    let tok = token(&s).await;
    let staff = s.staff();
    let dear = ("Dear", "tie-dear", 300);
    let cheap = ("Cheap", "tie-cheap", 100);
    for (first, second) in [(dear, cheap), (cheap, dear)] {
        let (st, c) = ep(
            &s,
            "POST",
            "/v2/carts",
            &tok,
            Some(json!({"data": {"name": "tie", "discount_settings": {"custom_discounts_enabled": true}}})),
        )
        .await;
        assert_eq!(st, 200, "{c}");
        let cart = c["data"]["id"].as_str().unwrap().to_owned();
        for (name, sku, amount) in [first, second] {
            let (st, e) =
                ep(&s, "POST", &format!("/v2/carts/{cart}/items"), &tok, Some(item(name, sku, 1, amount))).await;
            assert_eq!(st, 201, "{e}");
        }
        let (st, e) = ep(
            &s,
            "POST",
            &format!("/v2/carts/{cart}/custom-discounts"),
            &tok,
            Some(json!({"data": disc(-2, "cart")})),
        )
        .await;
        assert_eq!(st, 201, "{e}");

        // The cart's items show the share each will get.
        let (st, items) = ep(&s, "GET", &format!("/v2/carts/{cart}/items"), &tok, None).await;
        assert_eq!(st, 200, "{items}");
        let shown: Vec<(String, i64)> = items["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let d = i["meta"]["display_price"]["discount"]["value"]["amount"].as_i64().unwrap();
                (i["sku"].as_str().unwrap().to_owned(), d)
            })
            .collect();
        let expected = |a: &str, b: &str| {
            let of = |sku: &str| if sku == "tie-dear" { -2 } else { 0 };
            vec![(a.to_owned(), of(a)), (b.to_owned(), of(b))]
        };
        assert_eq!(shown, expected(first.1, second.1));

        let body = json!({"data": {"customer": {"name": "John Doe", "email": "j@example.com"},
            "billing_address": {"first_name": "A", "last_name": "D", "line_1": "1", "postcode": "x", "country": "CA"}}});
        let (st, o) = ep(&s, "POST", &format!("/v2/carts/{cart}/checkout"), &tok, Some(body)).await;
        assert_eq!(st, 201, "{o}");
        let number = o["data"]["id"].as_str().unwrap().to_owned();
        assert_eq!(o["data"]["meta"]["display_price"]["discount"]["amount"], -2);
        let (st, items) = ep(&s, "GET", &format!("/v2/orders/{number}/items"), &tok, None).await;
        assert_eq!(st, 200, "{items}");
        let shown: Vec<(String, i64)> = items["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let d = i["meta"]["display_price"]["discount"]["value"]["amount"].as_i64().unwrap();
                (i["sku"].as_str().unwrap().to_owned(), d)
            })
            .collect();
        assert_eq!(shown, expected(first.1, second.1));

        // The ledger: one benefit applicant, 0.02 on the 3.00 unit.
        let (st, orders) = s.get(&format!("/api/v1/orders/?number={number}"), &staff).await;
        assert_eq!((st, orders["count"].as_i64()), (200, Some(1)), "{orders}");
        let pk = orders["results"][0]["pk"].as_i64().unwrap();
        let (st, units) = s.get(&format!("/api/v1/order_item/detailed_integration/?order={pk}"), &staff).await;
        assert_eq!(st, 200, "{units}");
        let dear_unit = units["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["price"] == "3.00")
            .unwrap_or_else(|| panic!("a 3.00 unit: {units}"))["pk"]
            .clone();
        let (st, page) = s.get(&format!("/api/v1/discount_items/detailed_integration/?order={pk}"), &staff).await;
        assert_eq!((st, page["count"].as_i64()), (200, Some(1)), "{page}");
        let d = &page["results"][0];
        assert_eq!((d["amount"].as_str(), d["offer_type"].as_str()), (Some("0.02"), Some("custom_discount")));
        let shares: Vec<(Value, Value)> = d["benefitapplicant_set"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| (b["order_item"].clone(), b["discount_share"].clone()))
            .collect();
        assert_eq!(shares, vec![(dear_unit, json!("0.02"))]);
    }
}

async fn auth_and_unknown_ids(db: Db) {
    let s = Server::start(db).await;
    let tok = token(&s).await;
    for (m, p) in
        [("GET", "/v2/carts/abc"), ("POST", "/v2/carts"), ("GET", "/v2/orders/x"), ("GET", "/v2/settings/cart")]
    {
        let (st, e) = s.send(m, p, None, Some(json!({"data": {}}))).await;
        assert_eq!(st, 401, "{m} {p}");
        assert_eq!(e["errors"][0]["status"], 401);
        let (st, _) = ep(&s, m, p, "not-a-token", None).await;
        assert_eq!(st, 401);
    }
    let (cart, a, _) = cart_ab(&s, &tok).await;
    let d = Some(json!({"data": disc(-1, "x")}));
    for (m, p, body) in [
        ("POST", "/v2/carts/nope/custom-discounts".to_owned(), d.clone()),
        ("POST", format!("/v2/carts/{cart}/items/nope/custom-discounts"), d.clone()),
        ("PUT", format!("/v2/carts/{cart}/custom-discounts/nope"), d.clone()),
        ("DELETE", format!("/v2/carts/{cart}/items/{a}/custom-discounts/nope"), None),
        ("PUT", format!("/v2/carts/{cart}/items/nope"), Some(json!({"data": {"quantity": 1}}))),
        ("POST", "/v2/carts/nope/items".to_owned(), Some(item("A", "a", 1, 1))),
        ("POST", "/v2/carts/nope/checkout".to_owned(), Some(json!({"data": {}}))),
        ("GET", "/v2/orders/nope".to_owned(), None),
        ("GET", "/v2/orders/nope/items".to_owned(), None),
        ("DELETE", "/v2/carts/nope".to_owned(), None),
    ] {
        let (st, e) = ep(&s, m, &p, &tok, body).await;
        assert_eq!(st, 404, "{m} {p} {e}");
        assert_eq!(e["errors"][0]["status"], 404);
    }
    // The routes are documented.
    let (_, doc) = s.send("GET", "/openapi.json", None, None).await;
    for p in ["/v2/carts/{cartID}/items/{cartitemID}/custom-discounts", "/v2/orders/{orderID}", "/v2/settings/cart"] {
        assert!(doc["paths"].get(p).is_some(), "{p}");
    }
}

/// An implicit token (the public client id alone) is a shopper's: carts, their items and
/// checkout work; store settings, custom discounts at both levels and reading orders are
/// refused with 403 in the JSON:API format, and nothing changes. A client_credentials
/// token of the same client may do all of it.
async fn implicit_tokens_are_for_shoppers(db: Db) {
    let s = Server::start(db).await;
    let c = client(&s);
    let shopper = implicit_token(&s, &c).await;
    let backend = token_of(&s, &c).await;

    // The shopper's cart, items and quantities.
    let (cart, a, _) = cart_ab(&s, &shopper).await;
    let (st, v) =
        ep(&s, "PUT", &format!("/v2/carts/{cart}/items/{a}"), &shopper, Some(json!({"data": {"quantity": 3}}))).await;
    assert_eq!(st, 200, "{v}");
    let (st, _) = ep(&s, "GET", &format!("/v2/carts/{cart}?include=items"), &shopper, None).await;
    assert_eq!(st, 200);
    let (st, _) = ep(&s, "GET", "/v2/settings/cart", &shopper, None).await;
    assert_eq!(st, 200, "reading the settings is harmless");

    // A discount put there by the back end, for the update and delete routes.
    let (st, d) = ep(
        &s,
        "POST",
        &format!("/v2/carts/{cart}/custom-discounts"),
        &backend,
        Some(json!({"data": disc(-100, "cart")})),
    )
    .await;
    assert_eq!(st, 201, "{d}");
    let cd = d["data"]["id"].as_str().unwrap().to_owned();
    let (st, d) = ep(
        &s,
        "POST",
        &format!("/v2/carts/{cart}/items/{a}/custom-discounts"),
        &backend,
        Some(json!({"data": disc(-50, "item")})),
    )
    .await;
    assert_eq!(st, 201, "{d}");
    let id = d["data"]["id"].as_str().unwrap().to_owned();

    let settings = Some(json!({"data": {"type": "settings", "discounts": {"custom_discounts_enabled": false}}}));
    let forbidden: Vec<(&str, String, Option<Value>)> = vec![
        ("PUT", "/v2/settings/cart".into(), settings.clone()),
        ("POST", format!("/v2/carts/{cart}/custom-discounts"), Some(json!({"data": disc(-999, "cart")}))),
        ("POST", format!("/v2/carts/{cart}/custom-discounts"), Some(json!({"data": [disc(-999, "cart")]}))),
        ("PUT", format!("/v2/carts/{cart}/custom-discounts/{cd}"), Some(json!({"data": {"amount": -999}}))),
        ("DELETE", format!("/v2/carts/{cart}/custom-discounts/{cd}"), None),
        ("DELETE", format!("/v2/carts/{cart}/custom-discounts"), None),
        ("POST", format!("/v2/carts/{cart}/items/{a}/custom-discounts"), Some(json!({"data": disc(-999, "item")}))),
        ("POST", format!("/v2/carts/{cart}/items/{a}//custom-discounts"), Some(json!({"data": disc(-999, "item")}))),
        ("PUT", format!("/v2/carts/{cart}/items/{a}/custom-discounts/{id}"), Some(json!({"data": {"amount": -999}}))),
        ("DELETE", format!("/v2/carts/{cart}/items/{a}/custom-discounts/{id}"), None),
    ];
    for (m, p, body) in &forbidden {
        let (st, e) = ep(&s, m, p, &shopper, body.clone()).await;
        assert_eq!(st, 403, "{m} {p}: {e}");
        assert_eq!(e["errors"][0]["status"], 403, "{e}");
        assert_eq!(e["errors"][0]["title"], "Forbidden");
        assert!(e["errors"][0]["detail"].as_str().unwrap().contains("client_credentials"), "{e}");
    }
    // Nothing changed: the store setting is still off, the two discounts are as they were.
    let (_, st_now) = ep(&s, "GET", "/v2/settings/cart", &backend, None).await;
    assert_eq!(st_now["data"]["discounts"]["custom_discounts_enabled"], false, "never turned on here");
    let (_, full) = ep(&s, "GET", &format!("/v2/carts/{cart}?include=custom_discounts"), &shopper, None).await;
    let amounts: Vec<i64> = full["included"]["custom_discounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["amount"]["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, vec![-100, -50], "{full}");

    // The shopper checks out; the order is the back end's to read.
    let body = json!({"data": {"customer": {"name": "Shop Per", "email": "shop@example.com"},
                                "billing_address": {"first_name": "S", "line_1": "1 Street", "country": "CA"}}});
    let (st, o) = ep(&s, "POST", &format!("/v2/carts/{cart}/checkout"), &shopper, Some(body)).await;
    assert_eq!(st, 201, "{o}");
    let order = o["data"]["id"].as_str().unwrap().to_owned();
    for p in [
        format!("/v2/orders/{order}"),
        format!("/v2/orders/{order}?include=custom_discounts"),
        format!("/v2/orders/{order}/items"),
    ] {
        let (st, e) = ep(&s, "GET", &p, &shopper, None).await;
        assert_eq!((st, e["errors"][0]["status"].clone()), (403, json!(403)), "{p}: {e}");
        let (st, v) = ep(&s, "GET", &p, &backend, None).await;
        assert_eq!(st, 200, "{p}: {v}");
    }

    // The back end may do everything the shopper may not.
    for (m, p, body) in forbidden.into_iter().rev() {
        let (st, e) = ep(&s, m, &p, &backend, body).await;
        assert!(matches!(st, 200 | 201 | 204 | 404), "{m} {p}: {st} {e}");
        assert_ne!(st, 403);
    }
    // The OpenAPI document says which routes need client_credentials.
    let (_, doc) = s.send("GET", "/openapi.json", None, None).await;
    assert!(doc["paths"]["/v2/settings/cart"]["put"]["responses"].get("403").is_some());
    assert!(doc["paths"]["/oauth/access_token"]["post"]["responses"].get("429").is_some());
}

/// The lines of a cart: (sku, quantity).
async fn lines_of(s: &Server, tok: &str, cart: &str) -> Vec<(String, i64)> {
    let (st, v) = ep(s, "GET", &format!("/v2/carts/{cart}/items"), tok, None).await;
    assert_eq!(st, 200, "{v}");
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["sku"].as_str().unwrap().to_owned(), i["quantity"].as_i64().unwrap()))
        .collect()
}

/// A cart holds at most 200 lines, 1000 units per line and 10,000 units in all: past a cap
/// the answer is 422 (JSON:API, a message naming the cap) and nothing is stored; fewer
/// units are always accepted; checkout of a full cart works.
async fn a_cart_past_its_caps_is_refused(db: Db) {
    let s = Server::start(db).await;
    let tok = token(&s).await;
    // Lines: 200 fit, the 201st does not (a sku already in the cart still merges).
    let (st, _) = ep(&s, "GET", "/v2/carts/lines", &tok, None).await;
    assert_eq!(st, 200);
    for i in 0..200 {
        let (st, v) = ep(&s, "POST", "/v2/carts/lines/items", &tok, Some(item("L", &format!("l-{i}"), 1, 100))).await;
        assert_eq!(st, 201, "line {i}: {v}");
    }
    let (st, e) = ep(&s, "POST", "/v2/carts/lines/items", &tok, Some(item("L", "l-200", 1, 100))).await;
    assert_eq!(st, 422, "{e}");
    assert_eq!(e["errors"][0]["status"], 422);
    assert_eq!(e["errors"][0]["title"], "Cart limit reached");
    assert!(e["errors"][0]["detail"].as_str().unwrap().contains("at most 200 different items"), "{e}");
    let lines = lines_of(&s, &tok, "lines").await;
    assert_eq!(lines.len(), 200);
    assert!(!lines.iter().any(|(sku, _)| sku == "l-200"), "nothing stored");
    let (st, v) = ep(&s, "POST", "/v2/carts/lines/items", &tok, Some(item("L", "l-7", 4, 100))).await;
    assert_eq!(st, 201, "a known sku merges: {v}");

    // Units: ten lines of 1000 make the cap; one more unit is refused, by add or by PUT.
    let (st, _) = ep(&s, "GET", "/v2/carts/units", &tok, None).await;
    assert_eq!(st, 200);
    for i in 0..10 {
        let (st, v) = ep(&s, "POST", "/v2/carts/units/items", &tok, Some(item("U", &format!("u-{i}"), 1000, 1))).await;
        assert_eq!(st, 201, "{v}");
    }
    let (st, e) = ep(&s, "POST", "/v2/carts/units/items", &tok, Some(item("U", "u-10", 1, 1))).await;
    assert_eq!(st, 422, "{e}");
    assert!(e["errors"][0]["detail"].as_str().unwrap().contains("at most 10000 units"), "{e}");
    let (_, items) = ep(&s, "GET", "/v2/carts/units/items", &tok, None).await;
    let first = items["data"][0]["id"].as_str().unwrap().to_owned();
    let (st, v) =
        ep(&s, "PUT", &format!("/v2/carts/units/items/{first}"), &tok, Some(json!({"data": {"quantity": 999}}))).await;
    assert_eq!(st, 200, "fewer units are fine: {v}");
    let (st, e) =
        ep(&s, "PUT", &format!("/v2/carts/units/items/{first}"), &tok, Some(json!({"data": {"quantity": 1000}}))).await;
    assert_eq!(st, 200, "back to the cap exactly: {e}");
    let (st, e) = ep(&s, "POST", "/v2/carts/units/items", &tok, Some(item("U", "u-0", 1, 1))).await;
    assert_eq!(st, 400, "the line's own cap comes first: {e}");
    let units: i64 = lines_of(&s, &tok, "units").await.iter().map(|(_, q)| q).sum();
    assert_eq!(units, 10_000, "nothing stored past the cap");

    // A full cart checks out: 10,000 order items in one transaction.
    let body = json!({"data": {"customer": {"name": "Full", "email": "full@example.com"},
                                "billing_address": {"first_name": "F", "line_1": "1 Street", "country": "CA"}}});
    let (st, o) = ep(&s, "POST", "/v2/carts/units/checkout", &tok, Some(body)).await;
    assert_eq!(st, 201, "{o}");
    let (st, items) =
        ep(&s, "GET", &format!("/v2/orders/{}/items", o["data"]["id"].as_str().unwrap()), &tok, None).await;
    assert_eq!(st, 200);
    assert_eq!(items["data"].as_array().unwrap().iter().map(|i| i["quantity"].as_i64().unwrap()).sum::<i64>(), 10_000);
}

/// Concurrent adds to a cart at its caps: however many race, the cart ends exactly at the
/// cap (lines, units and one line's quantity), never past it, and every refusal is a 422
/// or the line's 400.
async fn concurrent_adds_stay_within_the_caps(db: Db) {
    let s = Server::start(db).await;
    let tok = token(&s).await;
    let add_all = |cart: &'static str, bodies: Vec<Value>| {
        let (s, tok) = (&s, &tok);
        async move {
            let path = format!("/v2/carts/{cart}/items");
            let calls = bodies.into_iter().map(|b| {
                let path = path.clone();
                async move { ep(s, "POST", &path, tok, Some(b)).await }
            });
            futures_join(calls.collect()).await.into_iter().map(|(st, _)| st).collect::<Vec<u16>>()
        }
    };
    // 198 lines; 12 new skus race for the last two places.
    let (st, _) = ep(&s, "GET", "/v2/carts/race-lines", &tok, None).await;
    assert_eq!(st, 200);
    for i in 0..198 {
        let (st, v) =
            ep(&s, "POST", "/v2/carts/race-lines/items", &tok, Some(item("L", &format!("l-{i}"), 1, 1))).await;
        assert_eq!(st, 201, "{v}");
    }
    let out = add_all("race-lines", (0..12).map(|i| item("R", &format!("r-{i}"), 1, 1)).collect()).await;
    assert_eq!(out.iter().filter(|&&st| st == 201).count(), 2, "{out:?}");
    assert!(out.iter().all(|st| matches!(st, 201 | 422)), "{out:?}");
    assert_eq!(lines_of(&s, &tok, "race-lines").await.len(), 200);

    // 9,990 units; 12 adds of 4 units race for the last 10 (two fit).
    let (st, _) = ep(&s, "GET", "/v2/carts/race-units", &tok, None).await;
    assert_eq!(st, 200);
    for i in 0..10 {
        let q = if i == 9 { 990 } else { 1000 };
        let (st, v) =
            ep(&s, "POST", "/v2/carts/race-units/items", &tok, Some(item("U", &format!("u-{i}"), q, 1))).await;
        assert_eq!(st, 201, "{v}");
    }
    let out = add_all("race-units", (0..12).map(|i| item("R", &format!("r-{i}"), 4, 1)).collect()).await;
    assert_eq!(out.iter().filter(|&&st| st == 201).count(), 2, "{out:?}");
    assert!(out.iter().all(|st| matches!(st, 201 | 422)), "{out:?}");
    let units: i64 = lines_of(&s, &tok, "race-units").await.iter().map(|(_, q)| q).sum();
    assert_eq!(units, 9_998);

    // One line at 995 units; 12 adds of one unit of the same sku race for the last 5.
    let (st, _) = ep(&s, "GET", "/v2/carts/race-line", &tok, None).await;
    assert_eq!(st, 200);
    let (st, _) = ep(&s, "POST", "/v2/carts/race-line/items", &tok, Some(item("M", "m", 995, 1))).await;
    assert_eq!(st, 201);
    let out = add_all("race-line", (0..12).map(|_| item("M", "m", 1, 1)).collect()).await;
    assert_eq!(out.iter().filter(|&&st| st == 201).count(), 5, "{out:?}");
    assert!(out.iter().all(|st| matches!(st, 201 | 400)), "{out:?}");
    assert_eq!(lines_of(&s, &tok, "race-line").await, vec![("m".to_owned(), 1000)]);
}

/// The token endpoint takes its fields as a JSON object too (a body that starts with `{`),
/// and says what is wrong with a JSON body that is not one.
async fn a_token_from_a_json_body(db: Db) {
    let s = Server::start(db).await;
    let c = client(&s);
    let body =
        json!({"grant_type": "client_credentials", "client_id": c["client_id"], "client_secret": c["client_secret"]});
    let resp = s.http.post(s.url("/oauth/access_token")).json(&body).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["identifier"], "client_credentials", "{v}");
    let (st, _) = ep(&s, "GET", "/v2/settings/cart", v["access_token"].as_str().unwrap(), None).await;
    assert_eq!(st, 200);
    let resp = s
        .http
        .post(s.url("/oauth/access_token"))
        .header("Content-Type", "application/json")
        .body("{\"grant_type\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let v: Value = resp.json().await.unwrap();
    assert!(v["errors"][0]["detail"].as_str().unwrap().contains("JSON object"), "{v}");
}
