//! The ledger's read side: Omnitron discount items and order items, OMS order items and the
//! Commerce account views, compared key for key (types and nesting) with the seed examples in
//! `seeds/`, plus filters, pagination, security and the real Python clients.
//!
//! Fixture orders are written with `place_order` directly on the test's database, the way
//! checkout writes them.

use offerline_core::{
    Currency, CustomerId, DiscountDraft, OfferId, OfferKind, OrderDraft, OrderStatus, ProductId, UnitDraft,
};
use offerline_store::Store;
use offerline_store::catalog::ProductInput;
use offerline_store::orders::{NewOrder, place_order};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Db, Server};

both!(
    omnitron_views_match_seeds_000_and_002,
    omnitron_filters_pagination_and_errors,
    oms_views_match_seed_003,
    account_views_match_seed_001,
    staff_and_customer_boundaries,
    python_clients,
    large_pages_hydrate_in_batches,
    demo_data_matches_the_seeds,
);

fn seed(name: &str) -> Value {
    let path = format!("{}/tests/e2e/seeds/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("seed file")).expect("seed json")
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Keys whose documented type is a string that may be absent (`null`) for some rows.
const NULLABLE_STRINGS: &[&str] = &[
    "retail_price",
    "end_datetime",
    "start_datetime",
    "voucher_code",
    "code",
    "barcode",
    "productization_date",
    "type",
];

/// Objects whose keys are data (attribute names), compared by their values only.
const FREE_MAPS: &[&str] = &["attributes", "attributes_kwargs", "extra_attributes"];

/// Compares `ours` with the seed example recursively: objects must have exactly the seed's
/// keys; arrays are compared by their first element (an empty seed array says nothing about
/// its elements); scalars must have the seed's JSON type. Where the seed shows `null` we may
/// give `null` or a scalar (the documented type of data the seed lacks); where the seed shows
/// a string in [`NULLABLE_STRINGS`] we may give `null`.
fn shape(seed: &Value, ours: &Value, path: &str, errors: &mut Vec<String>) {
    let key = path.rsplit('.').next().unwrap_or("");
    match (seed, ours) {
        // Attribute maps hold data keyed by attribute name, not a schema: every value must
        // have the shape of the seed's first value.
        (Value::Object(s), Value::Object(o)) if FREE_MAPS.contains(&key) => {
            if let Some(s0) = s.values().next() {
                for (k, v) in o {
                    shape(s0, v, &format!("{path}[{k:?}]"), errors);
                }
            }
        }
        (Value::Object(s), Value::Object(o)) => {
            for k in s.keys() {
                match o.get(k) {
                    Some(v) => shape(&s[k], v, &format!("{path}.{k}"), errors),
                    None => errors.push(format!("{path}: missing key {k:?}")),
                }
            }
            for k in o.keys() {
                if !s.contains_key(k) && !ALLOWED_EXTRA.contains(&k.as_str()) {
                    errors.push(format!("{path}: extra key {k:?}"));
                }
            }
        }
        (Value::Array(s), Value::Array(o)) => {
            if let Some(s0) = s.first() {
                for (i, item) in o.iter().enumerate() {
                    shape(s0, item, &format!("{path}[{i}]"), errors);
                }
            }
        }
        (Value::Null, Value::Null | Value::String(_) | Value::Number(_) | Value::Bool(_)) => {}
        (Value::String(_), Value::Null) if NULLABLE_STRINGS.contains(&key) => {}
        (s, o) if kind(s) == kind(o) => {}
        (s, o) => errors.push(format!("{path}: seed has {} ({s}), we give {} ({o})", kind(s), kind(o))),
    }
}

/// Keys the contract adds to the seed views (§8: a discount item's `cancel_amount`).
const ALLOWED_EXTRA: &[&str] = &["cancel_amount"];

#[track_caller]
fn assert_shape(seed: &Value, ours: &Value, what: &str) {
    let mut errors = Vec::new();
    shape(seed, ours, what, &mut errors);
    assert!(errors.is_empty(), "{what} differs from the seed:\n{}\nours: {ours:#}", errors.join("\n"));
}

/// The comparator itself must catch what it is meant to catch.
#[test]
fn shape_comparator_catches_differences() {
    let attrs = json!({"attributes": {"renk": "STD"}, "attributes_kwargs": {"renk": {"value": "STD", "label": "STD"}}});
    let mut e = Vec::new();
    shape(&attrs, &json!({"attributes": {"boyut": "L", "renk": "X"}, "attributes_kwargs": {}}), "$", &mut e);
    assert!(e.is_empty(), "{e:?}");
    shape(&attrs, &json!({"attributes": {"boyut": 1}, "attributes_kwargs": {"x": {"value": "L"}}}), "$", &mut e);
    assert_eq!(e.len(), 2, "{e:?}");
    let s = json!({"a": "1.00", "b": null, "c": [{"x": 1}], "d": {"y": true}, "retail_price": "1.00"});
    let mut e = Vec::new();
    shape(
        &s,
        &json!({"a": "2.00", "b": "x", "c": [{"x": 2}, {"x": 3}], "d": {"y": false}, "retail_price": null}),
        "$",
        &mut e,
    );
    assert!(e.is_empty(), "{e:?}");
    for bad in [
        json!({"a": 1.0, "b": null, "c": [], "d": {"y": true}, "retail_price": "1"}),
        json!({"a": "1", "b": null, "c": [{"x": "1"}], "d": {"y": true}, "retail_price": "1"}),
        json!({"a": "1", "b": null, "c": [], "d": {"y": true}}),
        json!({"a": "1", "b": null, "c": [], "d": {"y": true, "z": 1}, "retail_price": "1"}),
        json!({"a": "1", "b": {}, "c": [], "d": {"y": true}, "retail_price": "1"}),
        json!({"a": null, "b": null, "c": [], "d": {"y": true}, "retail_price": "1"}),
    ] {
        let mut e = Vec::new();
        shape(&s, &bad, "$", &mut e);
        assert!(!e.is_empty(), "not caught: {bad}");
    }
}

/// What the fixture holds.
pub struct Fixture {
    pub store: Store,
    pub staff: String,
    pub staff_username: String,
    pub customer: (i64, String),
    pub customer_email: String,
    pub other: (i64, String),
    /// The "3 al 2 Öde" order of the customer: three units at 199.90, one 199.90 discount.
    pub multibuy_order: (i64, String),
    pub multibuy_items: Vec<i64>,
    pub discount_id: i64,
    pub promotion_id: i64,
    /// Two products: 2 × 63.92 and 2 × 24.72, no discounts.
    pub plain_order: (i64, String),
    pub plain_items: Vec<i64>,
    /// An order of the other customer, with a discount.
    pub other_order: (i64, String),
}

fn attrs(color: &str, kind: &str) -> (Value, Value) {
    (
        json!({"renk": color, "erp_ProductHierarchyLevel02": kind}),
        json!({
            "renk": {"value": color, "data_type": "dropdown", "label": color},
            "erp_ProductHierarchyLevel02": {"value": kind, "data_type": "dropdown", "label": kind},
        }),
    )
}

pub async fn product(store: &Store, name: &str, sku: &str, price: i64, images: usize) -> i64 {
    let (a, k) = attrs("STD", "Cam");
    let p = store
        .create_product(ProductInput {
            name: Some(name.into()),
            sku: Some(sku.into()),
            base_code: Some(Some(format!("B{sku}"))),
            attributes: Some(a),
            attributes_kwargs: Some(k),
            attribute_set: Some(Some(30)),
            images: Some((0..images).map(|i| format!("http://localhost:8000/media/products/{sku}/{i}.jpg")).collect()),
            ..Default::default()
        })
        .await
        .expect("product");
    store.upsert_price(p.id, 1, price, Some(price * 2), 1800).await.expect("price");
    p.id
}

pub fn unit(product: i64, line: &str, price: i64) -> UnitDraft {
    UnitDraft {
        product: ProductId(product),
        line_key: line.into(),
        price,
        retail_price: Some(price * 2),
        tax_rate: 1800,
        price_list_id: Some(1),
        stock_list_id: Some(1),
        product_name: format!("product {product}"),
        product_sku: format!("sku-{product}"),
    }
}

async fn order(
    store: &Store,
    user: i64,
    items: Vec<UnitDraft>,
    discounts: Vec<DiscountDraft>,
) -> offerline_store::orders::PlacedOrder {
    let mut tx = store.begin().await.expect("begin");
    let placed = place_order(
        &mut tx,
        &NewOrder {
            number: None,
            user_id: Some(CustomerId(user)),
            channel: "storefront".into(),
            status: OrderStatus::APPROVED,
            currency: Currency::parse("try").unwrap(),
            customer: None,
            shipping_address: None,
            billing_address: None,
            draft: OrderDraft { units: items, discounts, ..OrderDraft::default() },
        },
    )
    .await
    .expect("place order");
    tx.commit().await.expect("commit");
    placed
}

/// Inserts a promotion row the way the promotions module stores one.
#[allow(clippy::too_many_arguments)]
pub async fn promotion(
    store: &Store,
    name: &str,
    offer_type: &str,
    currency: &str,
    start: Option<i64>,
    end: Option<i64>,
    definition: Value,
) -> i64 {
    let now = offerline_store::now_micros();
    let row = sqlx::query(
        "INSERT INTO promotions (name, slug, label, offer_type, currency, start_at, end_at, definition, created_at, modified_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
    )
    .bind(name)
    .bind(name.to_lowercase().replace(' ', "-"))
    .bind("Special Offer")
    .bind(offer_type)
    .bind(currency)
    .bind(start)
    .bind(end)
    .bind(definition.to_string())
    .bind(now)
    .fetch_one(store.writer())
    .await
    .expect("promotion");
    sqlx::Row::try_get(&row, 0).expect("id")
}

async fn exec(store: &Store, sql: &str, a: i64, b: i64) {
    sqlx::query(sql).bind(a).bind(b).execute(store.writer()).await.expect(sql);
}

pub async fn fixture(s: &Server) -> Fixture {
    let store = Store::connect(&s.database_url).await.expect("store");
    let staff_username = format!("staff-{}", uuid::Uuid::new_v4().simple());
    let (_, staff) = s.user(&staff_username, "", true);
    let customer_email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
    let customer = s.user(&format!("c-{customer_email}"), &customer_email, false);
    let other = s.customer();

    let bardak = product(&store, "Quınn 6-Lı Bardak Seti300 Ml", "2672881093877", 6392, 1).await;
    let pot = product(&store, "Pot N2747003604071910", "2672880307807", 2472, 2).await;
    let kase = product(&store, "Kase", "2672880300001", 19990, 0).await;

    let promotion_id = promotion(
        &store,
        "3 al 2 Öde",
        "site",
        "try",
        Some(0),
        None,
        json!({"condition": {"type": "count", "value": 3}, "benefit": {"type": "multibuy", "value": null}}),
    )
    .await;
    let multibuy = DiscountDraft {
        name: "3 al 2 Öde".into(),
        amount: 19990,
        offer: Some(OfferId(promotion_id)),
        shares: vec![(0, 6663), (1, 6663), (2, 6664)],
        condition_units: vec![0, 1, 2],
        ..Default::default()
    };
    let placed =
        order(&store, customer.0, (0..3).map(|_| unit(kase, "l1", 19990)).collect(), vec![multibuy.clone()]).await;
    let plain = order(
        &store,
        customer.0,
        vec![unit(bardak, "l1", 6392), unit(bardak, "l1", 6392), unit(pot, "l2", 2472), unit(pot, "l2", 2472)],
        vec![],
    )
    .await;
    let other_placed = order(
        &store,
        other.0,
        vec![unit(pot, "l1", 2472)],
        vec![DiscountDraft {
            name: "Other's coupon".into(),
            amount: 500,
            offer_kind: Some(OfferKind::VoucherCode),
            code: Some("OTHER10".into()),
            shares: vec![(0, 500)],
            ..Default::default()
        }],
    )
    .await;
    Fixture {
        store,
        staff,
        staff_username,
        customer,
        customer_email,
        other,
        multibuy_order: (placed.id, placed.number),
        multibuy_items: placed.item_ids,
        discount_id: placed.discount_ids[0],
        promotion_id,
        plain_order: (plain.id, plain.number),
        plain_items: plain.item_ids,
        other_order: (other_placed.id, other_placed.number),
    }
}

async fn omnitron_views_match_seeds_000_and_002(db: Db) {
    let s = Server::start(db).await;
    let f = fixture(&s).await;
    let seed000 = seed("000_discount_item.json");
    let seed002 = seed("002_order_item.json");

    for prefix in ["/api/v1", "/api/i1"] {
        let (st, page) = s
            .get(&format!("{prefix}/discount_items/detailed_integration/?order={}", f.multibuy_order.0), &f.staff)
            .await;
        assert_eq!(st, 200, "{page}");
        assert_eq!(page["count"], 1);
        assert_eq!(page["next"], Value::Null);
        assert_eq!(page["previous"], Value::Null);
        let d = &page["results"][0];
        assert_shape(&seed000, d, "discount item");
        assert_eq!(d["pk"], f.discount_id);
        assert_eq!(d["name"], "3 al 2 Öde");
        assert_eq!(d["amount"], "199.90");
        assert_eq!(d["order"], f.multibuy_order.0);
        assert_eq!(d["offer_type"], "basket_offer");
        assert_eq!(d["promotion"]["id"], f.promotion_id);
        assert_eq!(d["promotion"]["slug"], "3-al-2-öde");
        let shares: Vec<&str> = d["benefitapplicant_set"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["discount_share"].as_str().unwrap())
            .collect();
        assert_eq!(shares, ["66.63", "66.63", "66.64"]);
        let items: Vec<i64> =
            d["benefitapplicant_set"].as_array().unwrap().iter().map(|b| b["order_item"].as_i64().unwrap()).collect();
        assert_eq!(items, f.multibuy_items);
        assert!(d["benefitapplicant_set"].as_array().unwrap().iter().all(|b| b["discount_item"] == f.discount_id));
        let conds = d["conditionapplicant_set"].as_array().unwrap();
        assert_eq!(conds.len(), 3);
        for c in conds {
            let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
            let mut keys = keys;
            keys.sort_unstable();
            assert_eq!(keys, ["created_date", "discount_item", "id", "modified_date", "order_item"]);
            assert_eq!(c["discount_item"], f.discount_id);
        }
        assert!(d["created_date"].as_str().unwrap().ends_with('Z'));

        let (st, one) =
            s.get(&format!("{prefix}/discount_items/{}/detailed_integration/", f.discount_id), &f.staff).await;
        assert_eq!(st, 200);
        assert_eq!(&one, d);
    }

    // Seed 002: the order with 2 × 63.92 and 2 × 24.72.
    let (st, page) =
        s.get(&format!("/api/i1/order_item/detailed_integration/?order={}", f.plain_order.0), &f.staff).await;
    assert_eq!(st, 200, "{page}");
    assert_eq!(page["count"], 4);
    let results = page["results"].as_array().unwrap();
    for (i, item) in results.iter().enumerate() {
        assert_shape(&seed002, item, "order item");
        assert_eq!(item["pk"], f.plain_items[i]);
        assert_eq!(item["order"], f.plain_order.0);
        assert_eq!(item["status"], "400");
        assert_eq!(item["status_display"], "approved");
        assert_eq!(item["price_currency"], "try");
        assert_eq!(item["tax_rate"], "18.00");
        assert_eq!(item["discount_amount"], "0.00");
        assert_eq!(item["installment_interest_amount"], "0.00");
        assert_eq!(item["net_amount"], item["price"]);
        assert_eq!(item["price_list"]["currency"], "try");
        assert_eq!(item["price_list"]["name"], "default_price_list");
        assert_eq!(item["stock_list"]["name"], "default_stock_list");
        assert_eq!(item["mapping"][0]["object_id"], item["pk"]);
        assert_eq!(item["mapping"][0]["content_type"], 44);
        assert_eq!(item["mapping"][0]["integration_type"], "external_company");
        assert_eq!(item["benefitapplicant_set"], json!([]));
    }
    let prices: Vec<&str> = results.iter().map(|r| r["price"].as_str().unwrap()).collect();
    assert_eq!(prices, ["63.92", "63.92", "24.72", "24.72"]);
    assert_eq!(results[0]["product"]["sku"], "2672881093877");
    assert_eq!(results[0]["product"]["productimage_set"].as_array().unwrap().len(), 1);
    assert_eq!(results[2]["product"]["productimage_set"].as_array().unwrap().len(), 2);
    assert_eq!(results[0]["retail_price"], "127.84");

    // A discounted unit: its share, its net amount.
    let (st, item) =
        s.get(&format!("/api/v1/order_item/{}/detailed_integration/", f.multibuy_items[2]), &f.staff).await;
    assert_eq!(st, 200, "{item}");
    assert_shape(&seed002, &item, "order item");
    assert_eq!(item["price"], "199.90");
    assert_eq!(item["discount_amount"], "66.64");
    assert_eq!(item["net_amount"], "133.26");
    assert_eq!(item["benefitapplicant_set"][0]["discount_share"], "66.64");
    assert_eq!(item["benefitapplicant_set"][0]["discount_item"], f.discount_id);
}

async fn omnitron_filters_pagination_and_errors(db: Db) {
    let s = Server::start(db).await;
    let f = fixture(&s).await;
    let base = "/api/v1/order_item/detailed_integration/";
    let (st, p1) = s.get(&format!("{base}?order={}&limit=3", f.plain_order.0), &f.staff).await;
    assert_eq!(st, 200);
    assert_eq!(p1["count"], 4);
    assert_eq!(p1["results"].as_array().unwrap().len(), 3);
    let next = p1["next"].as_str().unwrap();
    assert!(next.starts_with("http://") && next.contains("page=2") && next.contains("limit=3"), "{next}");
    let (st, p2) = s.get(&next.replacen(&s.base, "", 1), &f.staff).await;
    assert_eq!(st, 200);
    assert_eq!(p2["results"].as_array().unwrap().len(), 1);
    assert_eq!(p2["results"][0]["pk"], f.plain_items[3]);
    assert_eq!(p2["next"], Value::Null);
    assert!(p2["previous"].as_str().unwrap().contains("limit=3"));
    let (st, body) = s.get(&format!("{base}?order={}&page=3&limit=3", f.plain_order.0), &f.staff).await;
    assert_eq!((st, body), (404, json!({"detail": "Invalid page."})));

    // Wrong types are 400 in the DRF shape, on every filter.
    for (q, param) in [("order=abc", "order"), ("status=x", "status"), ("pk__in=1,a", "pk__in"), ("id__gt=z", "id__gt")]
    {
        let (st, body) = s.get(&format!("{base}?{q}"), &f.staff).await;
        assert_eq!(st, 400, "{q}");
        assert_eq!(body, json!({ param: ["Enter a number."] }), "{q}");
    }
    let (st, body) = s.get("/api/v1/discount_items/detailed_integration/?order=abc", &f.staff).await;
    assert_eq!((st, body), (400, json!({"order": ["Enter a number."]})));
    let (st, body) = s.get(&format!("{base}?created_date__gte=yesterday"), &f.staff).await;
    assert_eq!(st, 400);
    assert!(body["created_date__gte"].is_array());

    // Status, order number, pk__in, id ranges, sort.
    let (_, p) = s.get(&format!("{base}?order={}&status=450", f.plain_order.0), &f.staff).await;
    assert_eq!(p["count"], 0);
    let (_, p) = s.get(&format!("{base}?status=400"), &f.staff).await;
    assert_eq!(p["count"], 8);
    let (_, p) = s.get(&format!("{base}?order__number={}", f.plain_order.1), &f.staff).await;
    assert_eq!(p["count"], 4);
    let (_, p) = s.get(&format!("{base}?order__number=nope"), &f.staff).await;
    assert_eq!(p["count"], 0);
    let (_, p) = s.get(&format!("{base}?pk__in={},{}", f.plain_items[0], f.multibuy_items[1]), &f.staff).await;
    assert_eq!(p["count"], 2);
    let (_, p) = s.get(&format!("{base}?order={}&id__gt={}", f.plain_order.0, f.plain_items[1]), &f.staff).await;
    assert_eq!(p["count"], 2);
    let (_, p) = s.get(&format!("{base}?order={}&sort=-id", f.plain_order.0), &f.staff).await;
    assert_eq!(p["results"][0]["pk"], f.plain_items[3]);
    let (_, p) = s.get(&format!("{base}?created_date__gte=2000-01-01&modified_date__lte=2999-01-01"), &f.staff).await;
    assert_eq!(p["count"], 8);
    let (_, p) = s.get(&format!("{base}?created_date__lte=2000-01-01"), &f.staff).await;
    assert_eq!(p["count"], 0);
    let (_, p) = s
        .get(&format!("/api/v1/discount_items/detailed_integration/?order__number={}", f.other_order.1), &f.staff)
        .await;
    assert_eq!(p["count"], 1);
    assert_eq!(p["results"][0]["code"], "OTHER10");
    assert_eq!(p["results"][0]["session_offer_type"], "voucher_code");
    assert_eq!(p["results"][0]["promotion"], Value::Null);
    let (_, p) =
        s.get("/api/v1/discount_items/detailed_integration/?modified_date__gte=2000-01-01&sort=-pk", &f.staff).await;
    assert_eq!(p["count"], 2);
    assert_eq!(p["results"][1]["pk"], f.discount_id);
    // No order filter: every discount item.
    let (_, p) = s.get("/api/v1/discount_items/detailed_integration/", &f.staff).await;
    assert_eq!(p["count"], 2);

    // Unknown and malformed ids are 404.
    for path in [
        "/api/v1/order_item/999999/detailed_integration/",
        "/api/v1/order_item/abc/detailed_integration/",
        "/api/v1/discount_items/999999/detailed_integration/",
        "/api/i1/discount_items/x/detailed_integration/",
        "/api/v1/oms/order_items/999999/",
    ] {
        let (st, body) = s.get(path, &f.staff).await;
        assert_eq!((st, body), (404, json!({"detail": "Not found."})), "{path}");
    }
}

async fn oms_views_match_seed_003(db: Db) {
    let s = Server::start(db).await;
    let f = fixture(&s).await;
    let detailed = seed("003_oms_order_item.json");
    let simple = seed("003_oms_order_item_simple.json");
    let single = seed("003_oms_order_item_single.json");

    let (st, page) = s.get(&format!("/api/v1/oms/order_items/?order_number={}", f.plain_order.1), &f.staff).await;
    assert_eq!(st, 200, "{page}");
    assert_eq!(page["count"], 4);
    for (i, item) in page["results"].as_array().unwrap().iter().enumerate() {
        assert_shape(&detailed, item, "OMS order item");
        assert_eq!(item["id"], f.plain_items[i]);
        assert_eq!(item["omnitron_id"], f.plain_items[i]);
        assert_eq!(item["order"], f.plain_order.0);
        assert_eq!(item["state"]["enum_class"], "OrderStatus");
        assert_eq!(item["state"]["enum_value"], "400");
        assert_eq!(item["state"]["name"], "Approved");
        assert_eq!(item["state"]["translations"]["tr-tr"]["name"], "Onaylandı");
        assert_eq!(item["extra_field"], json!({"price_extra_field": {}, "stock_extra_field": {}}));
        assert_eq!(item["product"]["omnitron_id"], item["product"]["id"]);
    }
    assert_eq!(page["results"][0]["price"], "63.92");
    assert_eq!(page["results"][0]["product"]["sku"], "2672881093877");
    assert_eq!(page["results"][2]["product"]["productimage_set"][1]["product"], page["results"][2]["product"]["id"]);

    let (st, page) =
        s.get(&format!("/api/v1/oms/order_items/list-simple/?order_number={}", f.plain_order.1), &f.staff).await;
    assert_eq!(st, 200, "{page}");
    assert_eq!(page["count"], 4);
    for item in page["results"].as_array().unwrap() {
        assert_shape(&simple, item, "OMS simple order item");
        assert!(item["state"].is_i64() && item["product"].is_i64() && item["order"].is_i64());
    }
    let state_id = page["results"][0]["state"].as_i64().unwrap();

    let (st, one) = s.get(&format!("/api/v1/oms/order_items/{}/", f.multibuy_items[0]), &f.staff).await;
    assert_eq!(st, 200, "{one}");
    assert_shape(&single, &one, "OMS order item");
    assert_eq!(one["discount_amount"], "66.63");
    assert_eq!(one["net_amount"], "133.27");

    // Filters: order, status, state, common ones; bad values are 400.
    let (_, p) = s.get(&format!("/api/v1/oms/order_items/?order={}", f.multibuy_order.0), &f.staff).await;
    assert_eq!(p["count"], 3);
    let (_, p) = s.get(&format!("/api/v1/oms/order_items/list-simple/?state={state_id}"), &f.staff).await;
    assert_eq!(p["count"], 8);
    let (_, p) = s.get("/api/v1/oms/order_items/list-simple/?state=1", &f.staff).await;
    assert_eq!(p["count"], 0);
    let (_, p) = s.get("/api/v1/oms/order_items/?status=400&limit=5", &f.staff).await;
    assert_eq!((p["count"].as_i64(), p["results"].as_array().unwrap().len()), (Some(8), 5));
    let (st, body) = s.get("/api/v1/oms/order_items/?state=x", &f.staff).await;
    assert_eq!((st, body), (400, json!({"state": ["Enter a number."]})));
    let (st, body) = s.get("/api/v1/oms/order_items/?order=x", &f.staff).await;
    assert_eq!((st, body), (400, json!({"order": ["Enter a number."]})));
}

async fn login_cookie(s: &Server, email: &str) -> String {
    let resp = s
        .http
        .post(s.url("/users/login/"))
        .json(&json!({"email": email, "password": "pw-123456"}))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status().as_u16(), 200);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    cookie.split(';').next().unwrap().to_owned()
}

async fn get_cookie(s: &Server, path: &str, cookie: &str, currency: Option<&str>) -> (u16, Value) {
    let mut req = s.http.get(s.url(path)).header("Cookie", cookie).header("X-Requested-With", "XMLHttpRequest");
    if let Some(c) = currency {
        req = req.header("x-currency", c);
    }
    let resp = req.send().await.expect("request");
    (resp.status().as_u16(), resp.json().await.expect("json"))
}

/// Offers for the account views: open fixed and percentage coupons, a future one, an
/// expired one, a voucher code, plus offers the customer must not see.
pub async fn account_offers(f: &Fixture) {
    let day = 86_400_000_000i64;
    let now = offerline_store::now_micros();
    let st = &f.store;
    let (me, other) = (f.customer.0, f.other.0);
    let fixed = json!({"condition": {"type": "amount", "value": null}, "benefit": {"type": "fixed", "value": "50.00"}});
    let pct = |v: &str| json!({"condition": {"type": "amount", "value": "500.00"}, "benefit": {"type": "percentage", "value": v}});
    let open_fixed =
        promotion(st, "Fixed 50", "coupon", "try", Some(now - day), Some(now + 30 * day), fixed.clone()).await;
    let open_pct = promotion(st, "Pct 10", "coupon_code", "try", Some(now - day), None, pct("10")).await;
    let future =
        promotion(st, "Future 50", "coupon", "try", Some(now + 10 * day), Some(now + 20 * day), pct("50")).await;
    let future2 = promotion(st, "Future 40", "coupon", "try", Some(now + 5 * day), None, pct("40")).await;
    let expired =
        promotion(st, "Expired 30", "coupon", "try", Some(now - 20 * day), Some(now - 10 * day), pct("30")).await;
    let voucher = promotion(
        st,
        "Voucher 12.5",
        "voucher_code",
        "try",
        None,
        None,
        json!({"condition": {"type": "count", "value": 3}, "benefit": {"type": "fixed", "value": "12.50"}}),
    )
    .await;
    let shipping = promotion(
        st,
        "Ship",
        "coupon",
        "try",
        None,
        None,
        json!({"condition": {"type": "none", "value": null}, "benefit": {"type": "shipping_free", "value": null}}),
    )
    .await;
    let site = promotion(st, "Site", "site", "try", None, None, fixed.clone()).await;
    let others = promotion(st, "Others", "coupon", "try", None, None, fixed.clone()).await;
    let usd = promotion(
        st,
        "USD 5",
        "coupon",
        "usd",
        None,
        None,
        json!({"condition": {"type": "none"}, "benefit": {"type": "fixed", "value": "5.00"}}),
    )
    .await;
    for p in [open_fixed, open_pct, future, future2, expired, shipping, usd] {
        exec(st, "INSERT INTO promotion_customers (promotion_id, user_id) VALUES ($1, $2)", p, me).await;
    }
    exec(st, "INSERT INTO promotion_customers (promotion_id, user_id) VALUES ($1, $2)", others, other).await;
    exec(st, "INSERT INTO promotion_customers (promotion_id, user_id) VALUES ($1, $2)", site, other).await;
    let now_s = offerline_store::now_micros();
    for (code, promo, user) in [("MINE-125", voucher, me), ("THEIRS-125", voucher, other), ("PCT-CODE", open_pct, me)] {
        let row = sqlx::query(
            "INSERT INTO vouchers (code, promotion_id, usage, uses, created_at, modified_at) VALUES ($1, $2, 'multi_use', 0, $3, $3) RETURNING id",
        )
        .bind(code)
        .bind(promo)
        .bind(now_s)
        .fetch_one(st.writer())
        .await
        .expect("voucher");
        let vid: i64 = sqlx::Row::try_get(&row, 0).unwrap();
        exec(st, "INSERT INTO voucher_customers (voucher_id, user_id) VALUES ($1, $2)", vid, user).await;
    }
    // A spent single-use voucher is not offered any more.
    let row = sqlx::query(
        "INSERT INTO vouchers (code, promotion_id, usage, uses, created_at, modified_at) VALUES ('SPENT', $1, 'single_use', 1, $2, $2) RETURNING id",
    )
    .bind(voucher)
    .bind(now_s)
    .fetch_one(st.writer())
    .await
    .expect("voucher");
    let vid: i64 = sqlx::Row::try_get(&row, 0).unwrap();
    exec(st, "INSERT INTO voucher_customers (voucher_id, user_id) VALUES ($1, $2)", vid, me).await;
}

async fn account_views_match_seed_001(db: Db) {
    let s = Server::start(db).await;
    let f = fixture(&s).await;
    account_offers(&f).await;
    let basket_seed = seed("001_basket_offers.json");
    let offer_seed = seed("001_offer_item.json");
    let discount_seed = seed("001_discount_item.json");
    let token = &f.customer.1;

    let (st, body) = s.get("/account/basket-offers/", token).await;
    assert_eq!(st, 200, "{body}");
    assert_shape(&basket_seed, &body, "basket offers");
    let labels = |v: &Value| -> Vec<String> {
        let mut l: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|o| format!("{}:{}", o["offer_type"]["value"].as_str().unwrap(), o["amount"]))
            .collect();
        l.sort();
        l
    };
    // Open: fixed 50, percentage 10 (coupon code), shipping free, my voucher 12.50, and the
    // USD coupon (no x-currency header: every currency).
    assert_eq!(
        labels(&body["all_discounts"]),
        ["coupon:0", "coupon:5", "coupon:50", "coupon_code:0", "voucher_code:12.5"]
    );
    assert_eq!(labels(&body["discounts"]), ["coupon:5", "coupon:50", "voucher_code:12.5"]);
    // The total adds up one currency only: without x-currency, the default price list's
    // (try): 50 + 12.50, the USD coupon listed but not added in.
    assert_eq!(body["total_discount"], json!(62.5));
    let all = body["all_discounts"].as_array().unwrap();
    let find = |code: &str| all.iter().find(|o| o["voucher_code"] == code).cloned().unwrap();
    assert_eq!(find("MINE-125")["condition"], json!({"type": "Count", "value": 3}));
    let pct = find("PCT-CODE");
    assert_eq!(pct["percentage"], 10);
    assert_eq!(pct["benefit_type"], json!({"value": "percentage", "label": "Percentage"}));
    assert_eq!(pct["condition"], json!({"type": "Amount", "value": 500}));
    assert_eq!(pct["end_datetime"], Value::Null);
    let ship = all.iter().find(|o| o["benefit_type"]["value"] == "shipping_free").unwrap();
    assert_eq!(ship["condition"], json!({"type": null, "value": null}));
    assert_eq!(ship["label"], "Special Offer");
    assert_eq!(ship["currency"], json!({"value": "try", "label": "TL"}));

    // x-currency keeps only that currency's offers.
    let cookie = login_cookie(&s, &f.customer_email).await;
    let (st, body) = get_cookie(&s, "/account/basket-offers", &cookie, Some("try")).await;
    assert_eq!(st, 200);
    assert_eq!(labels(&body["discounts"]), ["coupon:50", "voucher_code:12.5"]);
    assert_eq!(body["total_discount"], json!(62.5));
    let (st, body) = get_cookie(&s, "/account/basket-offers/", &cookie, Some("usd")).await;
    assert_eq!(st, 200);
    assert_eq!(body["total_discount"], json!(5));
    assert_eq!(body["discounts"][0]["currency"], json!({"value": "usd", "label": "USD"}));
    let (st, body) = get_cookie(&s, "/account/basket-offers/", &cookie, Some("xx1")).await;
    assert_eq!(st, 400, "{body}");

    // Future offers: start later, earliest first, paginated.
    let (st, page) = get_cookie(&s, "/account/future-basket-offers/", &cookie, None).await;
    assert_eq!(st, 200, "{page}");
    assert_eq!(page["count"], 2);
    for o in page["results"].as_array().unwrap() {
        assert_shape(&offer_seed, o, "future offer");
    }
    assert_eq!(page["results"][0]["percentage"], 40);
    assert_eq!(page["results"][1]["percentage"], 50);
    let (_, page) = s.get("/account/future-basket-offers/?page_size=1&page=2", token).await;
    assert_eq!(page["count"], 2);
    assert_eq!(page["results"][0]["percentage"], 50);
    assert!(page["previous"].as_str().unwrap().contains("page_size=1"));
    let (st, _) = s.get("/account/future-basket-offers/?page=3&limit=1", token).await;
    assert_eq!(st, 404);

    let (st, page) = get_cookie(&s, "/account/expired-basket-offers/", &cookie, None).await;
    assert_eq!(st, 200);
    assert_eq!(page["count"], 1);
    assert_shape(&offer_seed, &page["results"][0], "expired offer");
    assert_eq!(page["results"][0]["percentage"], 30);
    assert_eq!(page["results"][0]["condition"], json!({"type": "Amount", "value": 500}));

    // Discount items on my orders only, newest first.
    let (st, page) = get_cookie(&s, "/account/discount-items/", &cookie, None).await;
    assert_eq!(st, 200, "{page}");
    assert_eq!(page["count"], 1);
    assert_shape(&discount_seed, &page["results"][0], "account discount item");
    assert_eq!(
        page["results"][0],
        json!({
            "amount": "199.90",
            "cancel_amount": "0.00",
            "created_date": page["results"][0]["created_date"],
            "currency": {"value": "try", "label": "TL"},
            "name": "3 al 2 Öde",
            "order_number": f.multibuy_order.1,
        })
    );
    let (_, page) = s.get("/account/discount-items/", &f.other.1).await;
    assert_eq!(page["count"], 1);
    assert_eq!(page["results"][0]["order_number"], f.other_order.1);
    assert_eq!(page["results"][0]["amount"], "5.00");
    // The other customer's open offers: only "Others" (site offers are not listed).
    let (_, body) = s.get("/account/basket-offers/", &f.other.1).await;
    assert_eq!(labels(&body["all_discounts"]), ["coupon:50", "voucher_code:12.5"]);
    assert_eq!(
        body["all_discounts"].as_array().unwrap().iter().filter(|o| o["voucher_code"] == "THEIRS-125").count(),
        1
    );
}

async fn staff_and_customer_boundaries(db: Db) {
    let s = Server::start(db).await;
    let f = fixture(&s).await;
    let staff_paths = [
        format!("/api/v1/discount_items/detailed_integration/?order={}", f.multibuy_order.0),
        format!("/api/i1/discount_items/{}/detailed_integration/", f.discount_id),
        format!("/api/i1/order_item/detailed_integration/?order={}", f.multibuy_order.0),
        format!("/api/v1/order_item/{}/detailed_integration/", f.multibuy_items[0]),
        format!("/api/v1/oms/order_items/?order_number={}", f.multibuy_order.1),
        "/api/v1/oms/order_items/list-simple/".to_owned(),
        format!("/api/v1/oms/order_items/{}/", f.multibuy_items[0]),
    ];
    for path in &staff_paths {
        // The order's own customer may not read the back office views of it.
        let (st, body) = s.get(path, &f.customer.1).await;
        assert_eq!(st, 403, "{path}");
        assert_eq!(body, json!({"detail": "You do not have permission to perform this action."}));
        let (st, body) = s.send("GET", path, None, None).await;
        assert_eq!(st, 401, "{path}");
        assert_eq!(body, json!({"detail": "Authentication credentials were not provided."}));
        let (st, _) = s.get(path, "bad-token").await;
        assert_eq!(st, 401, "{path}");
    }
    for path in [
        "/account/basket-offers/",
        "/account/future-basket-offers/",
        "/account/expired-basket-offers/",
        "/account/discount-items/",
    ] {
        let (st, body) = s.send("GET", path, None, None).await;
        assert_eq!(st, 401, "{path}");
        assert_eq!(body["detail"], "Authentication credentials were not provided.");
        let (st, _) = get_cookie(&s, path, "osessionid=unknownsession", None).await;
        assert_eq!(st, 401, "{path}");
    }
    // Customers see only their own discount items: the other customer's order never shows,
    // whatever filter is tried.
    let (_, page) = s.get(&format!("/account/discount-items/?pk__in={}", f.discount_id), &f.other.1).await;
    assert_eq!(page["count"], 0);
    let (_, page) = s.get(&format!("/account/discount-items/?order={}", f.multibuy_order.0), &f.other.1).await;
    assert_eq!(page["count"], 1);
    assert_eq!(page["results"][0]["order_number"], f.other_order.1);
}

/// The interpreter for the client tests: `OFFERLINE_TEST_PYTHON`, else `<repo>/.venv`.
pub(crate) fn python() -> String {
    if let Ok(p) = std::env::var("OFFERLINE_TEST_PYTHON") {
        return p;
    }
    let venv = format!("{}/../../.venv/bin/python", env!("CARGO_MANIFEST_DIR"));
    assert!(
        std::path::Path::new(&venv).exists(),
        "the client tests need Python with tests/clients/requirements.txt: set OFFERLINE_TEST_PYTHON or create {venv} \
         (python3 -m venv .venv && .venv/bin/pip install -r tests/clients/requirements.txt); scripts/test does this"
    );
    venv
}

/// Runs `tests/clients/<script>` with `config` as its one JSON argument; its exit status,
/// stdout and stderr.
pub(crate) async fn run_client_script(script: &str, config: &Value) -> (std::process::ExitStatus, String, String) {
    let path = format!("{}/../../tests/clients/{script}", env!("CARGO_MANIFEST_DIR"));
    let out =
        tokio::process::Command::new(python()).arg(&path).arg(config.to_string()).output().await.expect("run python");
    (out.status, String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

async fn python_clients(db: Db) {
    let s = Server::start(db).await;
    let f = fixture(&s).await;
    account_offers(&f).await;
    let config = json!({
        "base_url": s.base,
        "staff_username": f.staff_username,
        "staff_password": "pw-123456",
        "customer_email": f.customer_email,
        "customer_password": "pw-123456",
        "customer_token": f.customer.1,
        "multibuy_order": f.multibuy_order.0,
        "multibuy_order_number": f.multibuy_order.1,
        "plain_order": f.plain_order.0,
        "plain_order_number": f.plain_order.1,
        "discount_id": f.discount_id,
        "seeds_dir": format!("{}/tests/e2e/seeds", env!("CARGO_MANIFEST_DIR")),
    });
    let py = python();
    let dir = format!("{}/../../tests/clients", env!("CARGO_MANIFEST_DIR"));
    for script in ["seed_requests.py", "omnisdk_client.py", "storefront_cookie.py"] {
        let out = tokio::process::Command::new(&py)
            .arg(format!("{dir}/{script}"))
            .arg(config.to_string())
            .output()
            .await
            .expect("run python");
        assert!(
            out.status.success(),
            "{script} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("OK"), "{script} did not report OK:\n{stdout}");
    }
}

/// A page of 1000 (the cap) hydrates with batched `IN` queries on both engines: a 600-unit
/// order with one discount spread over every unit, read in one page and in pages of 250.
async fn large_pages_hydrate_in_batches(db: Db) {
    let s = Server::start(db).await;
    let f = fixture(&s).await;
    let p = product(&f.store, "Bulk", "bulk-1", 1000, 1).await;
    let n = 600;
    let discount = DiscountDraft {
        name: "Bulk 1.00 off each".into(),
        amount: 100 * n as i64,
        shares: (0..n).map(|i| (i, 100)).collect(),
        condition_units: (0..n).collect(),
        ..Default::default()
    };
    let placed = order(&f.store, f.customer.0, (0..n).map(|_| unit(p, "l1", 1000)).collect(), vec![discount]).await;
    let (st, page) =
        s.get(&format!("/api/v1/order_item/detailed_integration/?order={}&limit=5000", placed.id), &f.staff).await;
    assert_eq!(st, 200);
    assert_eq!(page["count"], n);
    let results = page["results"].as_array().unwrap();
    assert_eq!(results.len(), n);
    assert!(results.iter().all(|r| r["net_amount"] == "9.00" && r["product"]["sku"] == "bulk-1"));
    let pks: Vec<i64> = results.iter().map(|r| r["pk"].as_i64().unwrap()).collect();
    assert_eq!(pks, placed.item_ids);
    let mut seen = Vec::new();
    for page_no in 1..=3 {
        let (_, page) = s
            .get(
                &format!("/api/v1/oms/order_items/list-simple/?order={}&limit=250&page={page_no}", placed.id),
                &f.staff,
            )
            .await;
        seen.extend(page["results"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()));
    }
    assert_eq!(seen, placed.item_ids);
    let (_, page) = s.get(&format!("/api/v1/discount_items/detailed_integration/?order={}", placed.id), &f.staff).await;
    assert_eq!(page["results"][0]["amount"], "600.00");
    assert_eq!(page["results"][0]["benefitapplicant_set"].as_array().unwrap().len(), n);
    assert_eq!(page["results"][0]["conditionapplicant_set"].as_array().unwrap().len(), n);
}

/// `offerline demo` builds its orders through the real engine and checkout; the seed
/// endpoints must then show the seeds' numbers and shapes for that data.
async fn demo_data_matches_the_seeds(db: Db) {
    let (url, dir, schema, tour) = crate::helpers::demo_database(db).await;
    let tokens: Vec<&str> = tour.split("token: ").skip(1).map(|t| t.split_whitespace().next().unwrap()).collect();
    let (staff, customer) = (tokens[0], tokens[1]);
    let orders = tour.split("Ledger (orders ").nth(1).expect("the demo placed orders");
    let o1: i64 = orders.split(':').next().unwrap().trim().parse().unwrap();
    let o2: i64 = orders.split(", ").nth(1).unwrap().split(':').next().unwrap().trim().parse().unwrap();
    // Running the demo again changes nothing.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_offerline"))
        .arg("demo")
        .env("OFFERLINE_DATABASE_URL", &url)
        .env("OFFERLINE_LOG", "warn")
        .output()
        .unwrap();
    assert!(again.status.success());
    let s = Server::start_on(db, url, dir, schema);

    let (st, d) = s.get(&format!("/api/v1/discount_items/detailed_integration/?order={o1}"), staff).await;
    assert_eq!(st, 200);
    assert_eq!(d["count"], 1);
    let item = &d["results"][0];
    assert_shape(&seed("000_discount_item.json"), item, "demo discount item");
    assert_eq!(item["name"], "3 al 2 Öde");
    assert_eq!(item["amount"], "199.90");
    assert_eq!(item["promotion"]["slug"], "3-al-2-ode");
    let shares: Vec<&str> = item["benefitapplicant_set"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["discount_share"].as_str().unwrap())
        .collect();
    assert_eq!(shares, ["66.63", "66.63", "66.64"]);

    let (st, items) = s.get(&format!("/api/i1/order_item/detailed_integration/?order={o2}"), staff).await;
    assert_eq!(st, 200);
    assert_eq!(items["count"], 4);
    assert_shape(&seed("002_order_item.json"), &items["results"][0], "demo order item");
    let mut prices: Vec<&str> =
        items["results"].as_array().unwrap().iter().map(|i| i["price"].as_str().unwrap()).collect();
    prices.sort_unstable();
    assert_eq!(prices, ["24.72", "24.72", "63.92", "63.92"]);
    assert!(
        items["results"].as_array().unwrap().iter().all(|i| i["status"] == "400" && i["discount_amount"] == "0.00")
    );

    let (st, oms) = s.get(&format!("/api/v1/oms/order_items/?order={o1}"), staff).await;
    assert_eq!(st, 200);
    assert_eq!(oms["count"], 3);
    assert_shape(&seed("003_oms_order_item.json"), &oms["results"][0], "demo OMS order item");

    let (st, offers) = s.get("/account/basket-offers/", customer).await;
    assert_eq!(st, 200);
    assert_shape(&seed("001_basket_offers.json"), &offers, "demo basket offers");
    assert_eq!(offers["total_discount"], 50);
    assert_eq!(offers["discounts"][0]["label"], "Special Offer");
    for (path, pct) in [("/account/future-basket-offers/", 50), ("/account/expired-basket-offers/", 30)] {
        let (st, page) = s.get(path, customer).await;
        assert_eq!(st, 200, "{path}");
        assert_eq!(page["count"], 1, "{path}");
        assert_eq!(page["results"][0]["percentage"], pct, "{path}");
        assert_shape(&seed("001_offer_item.json"), &page["results"][0], path);
    }
    let (st, used) = s.get("/account/discount-items/", customer).await;
    assert_eq!(st, 200);
    assert_eq!(used["count"], 1);
    assert_eq!(used["results"][0]["amount"], "199.90");
    assert_shape(&seed("001_discount_item.json"), &used["results"][0], "demo account discount item");
}
