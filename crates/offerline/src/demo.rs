//! `offerline demo`: a ready-to-try data set and a curl tour that works against it.
//!
//! Users and the catalogue are loaded through the application's use cases; promotions, baskets and
//! orders go through the real HTTP API, driven in process (no socket), so the demo orders
//! are priced by the engine and written by checkout exactly as a client's would be — the
//! seed examples come out of the ledger, not out of fixtures. Running it twice changes
//! nothing.

use anyhow::Context;
use offerline_app::catalog::{self, ProductInput};
use offerline_app::identity::{self, NewUser};
use offerline_app::{App, promotions};
use serde_json::{Value, json};

pub const STAFF_USER: &str = "admin";
pub const STAFF_PASSWORD: &str = "offerline-admin";
pub const CUSTOMER_EMAIL: &str = "customer@example.com";
pub const CUSTOMER_PASSWORD: &str = "offerline-customer";

struct SeedProduct {
    name: &'static str,
    sku: &'static str,
    base_code: &'static str,
    price: i64,
    attrs: &'static [(&'static str, &'static str)],
    image: &'static str,
}

const PRODUCTS: &[SeedProduct] = &[
    SeedProduct {
        name: "Quınn 6-Lı Bardak Seti300 Ml",
        sku: "2672881093877",
        base_code: "1KBARD0243",
        price: 6392,
        attrs: &[
            ("erp_ProductAtt06Desc", "300 ML"),
            ("uretim_yeri", "ÇEK CUMHURİYETİ"),
            ("renk", "STD"),
            ("erp_color", "STD"),
            ("materyal", "CAM"),
            ("erp_ProductHierarchyLevel01", "TEKSTİL DIŞI"),
            ("erp_ProductHierarchyLevel02", "Cam"),
            ("boyut", "300 ML"),
            ("erp_ProductCode", "1KBARD0243139"),
        ],
        image: "/media/products/2017/01/23/845/79d3df28-b32c-4f60-affd-0b2930542ee8.jpg",
    },
    SeedProduct {
        name: "Pot N2747003604071910",
        sku: "2672880307807",
        base_code: "1KSURH0090",
        price: 2472,
        attrs: &[
            ("uretim_yeri", "ÇİN"),
            ("renk", "STD"),
            ("erp_color", "STD"),
            ("erp_ProductHierarchyLevel01", "TEKSTİL DIŞI"),
            ("erp_ProductHierarchyLevel02", "Porselen"),
            ("erp_ProductCode", "1KSURH0090139"),
        ],
        image: "/media/products/2017/01/23/8606/6f8f886b-dbc9-4d06-8539-86a08b16b2fe.jpg",
    },
    SeedProduct {
        name: "Kristal Karaf 1 Lt",
        sku: "2672880000001",
        base_code: "1KKARF0001",
        price: 19990,
        attrs: &[("renk", "STD"), ("materyal", "KRİSTAL"), ("erp_ProductHierarchyLevel02", "Cam")],
        image: "/media/products/demo/karaf.jpg",
    },
];

fn kwargs(attrs: &[(&str, &str)]) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in attrs {
        if k.starts_with("erp_ProductHierarchy") || *k == "renk" || *k == "erp_color" {
            m.insert((*k).into(), json!({ "value": v, "data_type": "dropdown", "label": v }));
        }
    }
    Value::Object(m)
}

/// Ids the later sections of the demo need.
pub struct Loaded {
    pub staff_token: String,
    pub customer_id: i64,
    pub customer_token: String,
    pub product_ids: Vec<i64>,
    /// (multibuy order pk, plain order pk), when the demo placed them.
    pub orders: Option<(i64, i64)>,
}

async fn ensure_user(
    app: &App,
    username: &str,
    password: &str,
    email: &str,
    staff: bool,
    first: &str,
    last: &str,
) -> anyhow::Result<i64> {
    if let Some(u) = identity::user_by_username(app, username).await? {
        return Ok(u.id);
    }
    let u = NewUser { username, password, email, first_name: first, last_name: last, is_staff: staff };
    Ok(identity::create_user(app, u).await?.id)
}

pub async fn load(app: &App, addr: &str) -> anyhow::Result<Loaded> {
    let base = format!("http://{addr}");
    let staff_id = ensure_user(app, STAFF_USER, STAFF_PASSWORD, "admin@example.com", true, "Ada", "Admin").await?;
    let customer_id = ensure_user(app, "customer", CUSTOMER_PASSWORD, CUSTOMER_EMAIL, false, "Deniz", "Demo").await?;
    let list = catalog::default_price_list(app).await?;
    let mut product_ids = Vec::new();
    for p in PRODUCTS {
        let product = match catalog::product_by_sku(app, p.sku).await? {
            Some(existing) => existing,
            None => catalog::create_product(
                app,
                ProductInput {
                    name: Some(p.name.into()),
                    sku: Some(p.sku.into()),
                    base_code: Some(Some(p.base_code.into())),
                    attributes: Some(Value::Object(p.attrs.iter().map(|(k, v)| ((*k).into(), json!(v))).collect())),
                    attributes_kwargs: Some(kwargs(p.attrs)),
                    attribute_set: Some(Some(30)),
                    images: Some(vec![format!("{base}{}", p.image)]),
                    ..Default::default()
                },
            )
            .await
            .with_context(|| format!("creating product {}", p.sku))?,
        };
        catalog::set_price(app, product.id, &list, p.price, None, 1800).await?;
        product_ids.push(product.id);
    }
    let staff_token = identity::issue_token(app, staff_id).await?;
    let customer_token = identity::issue_token(app, customer_id).await?;
    let mut loaded = Loaded { staff_token, customer_id, customer_token, product_ids, orders: None };
    loaded.orders = promotions_and_orders(app, &loaded).await?;
    print_tour(&base, &loaded);
    Ok(loaded)
}

/// One in-process HTTP call against the real application.
async fn call(
    app: &AppService,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
    key: Option<&str>,
) -> anyhow::Result<(u16, Value)> {
    use tower::ServiceExt;
    let mut req = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1:8000")
        .header("authorization", format!("Token {token}"))
        .header("content-type", "application/json");
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    let req = req.body(axum::body::Body::from(body.map(|b| b.to_string()).unwrap_or_default()))?;
    let resp = app.clone().oneshot(offerline_api::normalize_path(req)).await.map_err(|e| match e {})?;
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await?;
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((status, v))
}

type AppService = axum::Router;

async fn expect(
    app: &AppService,
    method: &str,
    path: &str,
    token: &str,
    body: Value,
    key: Option<&str>,
) -> anyhow::Result<Value> {
    let (st, v) = call(app, method, path, token, Some(body), key).await?;
    anyhow::ensure!((200..300).contains(&st), "demo: {method} {path} answered {st}: {v}");
    Ok(v)
}

/// The promotions of the seeds, and two orders placed through basket and checkout.
async fn promotions_and_orders(app: &App, l: &Loaded) -> anyhow::Result<Option<(i64, i64)>> {
    if promotions::count_all(app).await? > 0 {
        return Ok(None);
    }
    let state = offerline_api::state(app.clone());
    let app: AppService = offerline_api::router(state);
    let (st, ct) = (&l.staff_token, &l.customer_token);
    let (quinn, pot, karaf) = (l.product_ids[0], l.product_ids[1], l.product_ids[2]);
    // Seed 000: "3 al 2 Öde", buy 3 pay 2 on the carafe (199.90).
    expect(&app, "POST", "/api/v1/promotions/", st, json!({
        "name": "3 al 2 Öde", "slug": "3-al-2-ode", "label": "3 al 2 Öde", "offer_type": "site", "currency": "try",
        "start_datetime": "2026-01-01T00:00:00Z", "end_datetime": null, "priority": 10, "exclusive": true, "is_active": true,
        "condition": {"type": "count", "value": 3, "range": {"products": [karaf]}},
        "benefit": {"type": "multibuy", "value": null, "max_affected_items": null, "range": {"products": [karaf]}}
    }), None).await?;
    // Order 1: three carafes → one discount item of 199.90 spread 66.63 / 66.63 / 66.64.
    expect(&app, "POST", "/baskets/basket/", ct, json!({"product": karaf, "quantity": 3}), None).await?;
    let o1 = expect(&app, "POST", "/orders/checkout/", ct, json!({}), Some("demo-order-1")).await?;
    // Order 2 (seed 002): two of each seed product at 63.92 and 24.72, no discount.
    expect(&app, "POST", "/baskets/basket/", ct, json!({"product": quinn, "quantity": 2}), None).await?;
    expect(&app, "POST", "/baskets/basket/", ct, json!({"product": pot, "quantity": 2}), None).await?;
    let o2 = expect(&app, "POST", "/orders/checkout/", ct, json!({}), Some("demo-order-2")).await?;
    // Seed 001: the customer's coupons — active fixed 50 TRY, future 50 %, expired 30 %.
    let customer = l.customer_id;
    for (name, slug, benefit, value, start, end, min) in [
        (
            "Special Offer",
            "special-offer-50",
            "fixed",
            "50.00",
            "2020-02-12T13:45:00Z",
            Some("2030-01-01T00:00:00Z"),
            "100.00",
        ),
        (
            "Special Offer",
            "special-offer-future-50",
            "percentage",
            "50",
            "2030-07-31T12:52:55.914Z",
            Some("2031-07-03T12:52:58.438Z"),
            "500.00",
        ),
        (
            "Special Offer",
            "special-offer-expired-30",
            "percentage",
            "30",
            "2023-07-25T13:12:53.936Z",
            Some("2023-07-25T13:16:28.155Z"),
            "500.00",
        ),
    ] {
        expect(
            &app,
            "POST",
            "/api/v1/promotions/",
            st,
            json!({
                "name": name, "slug": slug, "label": "Special Offer", "offer_type": "coupon", "currency": "try",
                "start_datetime": start, "end_datetime": end, "priority": 0, "exclusive": true, "is_active": true,
                "condition": {"type": "amount", "value": min, "range": {"all": true}},
                "benefit": {"type": benefit, "value": value, "max_affected_items": null, "range": {"all": true}},
                "customers": [customer]
            }),
            None,
        )
        .await?;
    }
    let pk = |v: &Value| v["order"]["pk"].as_i64().unwrap_or_default();
    Ok(Some((pk(&o1), pk(&o2))))
}

fn print_tour(base: &str, l: &Loaded) {
    let st = &l.staff_token;
    let ct = &l.customer_token;
    println!(
        r#"offerline demo data loaded.

  staff:    {STAFF_USER} / {STAFF_PASSWORD}       token: {st}
  customer: {CUSTOMER_EMAIL} / {CUSTOMER_PASSWORD}  token: {ct}  (pk {cid})

Back office (in a browser): {base}/dashboard/  — log in as {STAFF_USER} / {STAFF_PASSWORD}

Try:
  curl -s -X POST {base}/api/v1/auth/login/ -H 'content-type: application/json' -d '{{"username":"{STAFF_USER}","password":"{STAFF_PASSWORD}"}}'
  curl -s {base}/api/v1/active_user/ -H 'Authorization: Token {st}'
  curl -s '{base}/api/v1/products/?sku=2672881093877' -H 'Authorization: Token {st}'
  curl -s {base}/api/v1/price_lists/ -H 'Authorization: Token {st}'
  curl -s '{base}/api/v1/product_prices/?product={p0}' -H 'Authorization: Token {st}'
  curl -s -i -X POST {base}/users/login/ -H 'content-type: application/json' -d '{{"email":"{CUSTOMER_EMAIL}","password":"{CUSTOMER_PASSWORD}"}}'
  curl -s {base}/current_user/ -H 'Authorization: Token {ct}'
  curl -s {base}/openapi.json | head -c 300; echo
"#,
        p0 = l.product_ids[0],
        cid = l.customer_id
    );
    if let Some((o1, o2)) = l.orders {
        println!(
            r#"Ledger (orders {o1}: "3 al 2 Öde" multibuy, {o2}: the two seed products):
  curl -s '{base}/api/v1/discount_items/detailed_integration/?order={o1}' -H 'Authorization: Token {st}'
  curl -s '{base}/api/i1/order_item/detailed_integration/?order={o2}' -H 'Authorization: Token {st}'
  curl -s '{base}/api/v1/orders/?user={cid}' -H 'Authorization: Token {st}'
  curl -s '{base}/api/v1/oms/order_items/?order={o1}' -H 'Authorization: Token {st}'
  curl -s {base}/account/basket-offers/ -H 'Authorization: Token {ct}'
  curl -s {base}/account/future-basket-offers/ -H 'Authorization: Token {ct}'
  curl -s {base}/account/expired-basket-offers/ -H 'Authorization: Token {ct}'
  curl -s {base}/account/discount-items/ -H 'Authorization: Token {ct}'
  curl -s -X POST {base}/api/v1/pricing/simulate/ -H 'Authorization: Token {st}' -H 'content-type: application/json' \\
       -d '{{"lines": [{{"sku": "2672880000001", "quantity": 3}}]}}'
Elastic Path: create a client with `offerline client create --name shop`, then
  curl -s -X POST {base}/oauth/access_token -d grant_type=client_credentials -d client_id=ID -d client_secret=SECRET
"#,
            st = l.staff_token,
            ct = l.customer_token,
            cid = l.customer_id
        );
    }
}
