//! `offerline demo`: a ready-to-try data set, loaded through the same repositories the API
//! uses, and a curl tour that works against it. Running it twice changes nothing.

use anyhow::Context;
use offerline_store::Store;
use offerline_store::auth::NewUser;
use offerline_store::catalog::ProductInput;
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
}

async fn ensure_user(
    store: &Store,
    username: &str,
    password: &str,
    email: &str,
    staff: bool,
    first: &str,
    last: &str,
) -> anyhow::Result<i64> {
    if let Some(u) = store.user_by_username(username).await? {
        return Ok(u.id);
    }
    Ok(store
        .create_user(NewUser { username, password, email, first_name: first, last_name: last, is_staff: staff })
        .await?
        .id)
}

pub async fn load(store: &Store, addr: &str) -> anyhow::Result<Loaded> {
    let base = format!("http://{addr}");
    let staff_id = ensure_user(store, STAFF_USER, STAFF_PASSWORD, "admin@example.com", true, "Ada", "Admin").await?;
    let customer_id = ensure_user(store, "customer", CUSTOMER_PASSWORD, CUSTOMER_EMAIL, false, "Deniz", "Demo").await?;
    let list = store.default_price_list().await?;
    let mut product_ids = Vec::new();
    for p in PRODUCTS {
        let product = match store.product_by_sku(p.sku).await? {
            Some(existing) => existing,
            None => store
                .create_product(ProductInput {
                    name: Some(p.name.into()),
                    sku: Some(p.sku.into()),
                    base_code: Some(Some(p.base_code.into())),
                    attributes: Some(Value::Object(p.attrs.iter().map(|(k, v)| ((*k).into(), json!(v))).collect())),
                    attributes_kwargs: Some(kwargs(p.attrs)),
                    attribute_set: Some(Some(30)),
                    images: Some(vec![format!("{base}{}", p.image)]),
                    ..Default::default()
                })
                .await
                .with_context(|| format!("creating product {}", p.sku))?,
        };
        store.upsert_price(product.id, list.id, p.price, None, 1800).await?;
        product_ids.push(product.id);
    }
    let staff_token = store.issue_token(staff_id).await?;
    let customer_token = store.issue_token(customer_id).await?;
    let loaded = Loaded { staff_token, customer_id, customer_token, product_ids };
    print_tour(&base, &loaded);
    Ok(loaded)
}

fn print_tour(base: &str, l: &Loaded) {
    let st = &l.staff_token;
    let ct = &l.customer_token;
    println!(
        r#"offerline demo data loaded.

  staff:    {STAFF_USER} / {STAFF_PASSWORD}       token: {st}
  customer: {CUSTOMER_EMAIL} / {CUSTOMER_PASSWORD}  token: {ct}  (pk {cid})

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
}
