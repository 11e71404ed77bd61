//! The pricing catalogue (the default lists, and the basket's products with their prices in
//! the default list and their images) is read in one statement, a round trip where it was
//! three. What it reads is what the reads table by table give.

use sqlx::Row;

use crate::both;
use crate::helpers::{Db, demo_store};

both!(the_pricing_catalogue_read_at_once_is_the_catalogue_read_table_by_table);

async fn the_pricing_catalogue_read_at_once_is_the_catalogue_read_table_by_table(db: Db) {
    let (_scratch, store) = demo_store(db).await;
    let pool = store.writer();
    let ids: Vec<i64> = sqlx::query("SELECT id FROM products ORDER BY id LIMIT 3")
        .fetch_all(pool)
        .await
        .expect("products")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let [a, b, c] = ids[..] else { panic!("the demo has three products: {ids:?}") };
    // Two images on a, their positions against their ids' order, one on b; c without a price.
    for sql in [
        format!(
            "INSERT INTO product_images (product_id, image, status, position, created_at, modified_at) \
             VALUES ({a}, 'second.jpg', 'active', 2, 1, 1), ({a}, 'first.jpg', 'active', 1, 1, 1), \
             ({b}, 'only.jpg', 'active', 0, 1, 1)"
        ),
        format!("DELETE FROM product_prices WHERE product_id = {c}"),
    ] {
        sqlx::query(&sql).execute(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let asked = [c, a, 999_999_999, b];
    let catalogue = store.pricing_catalog(&asked).await.expect("catalogue");

    let list = store.default_price_list().await.expect("default list");
    assert_eq!(catalogue.price_list, list);
    let products = store.products_by_ids(&asked).await.expect("products");
    assert_eq!(catalogue.products, products, "in the order asked, the missing one left out");
    let ids: Vec<i64> = catalogue.products.iter().map(|p| p.id).collect();
    assert_eq!(ids, [c, a, b]);
    let images = |k: usize| -> Vec<&str> { catalogue.products[k].images.iter().map(|i| i.image.as_str()).collect() };
    // The demo's own images come first (position 0).
    assert!(images(1).ends_with(&["first.jpg", "second.jpg"]), "in position order: {:?}", images(1));
    assert!(images(2).ends_with(&["only.jpg"]), "{:?}", images(2));
    let prices = store.prices_for(list.id, &asked).await.expect("prices");
    assert_eq!(catalogue.prices, prices);
    assert!(prices.contains_key(&a) && prices.contains_key(&b) && !prices.contains_key(&c));
    assert!(catalogue.stock_list.is_some(), "the demo has the default stock list");

    // No products asked: the lists and the version alone, as read with them.
    let lists = store.pricing_catalog(&[]).await.expect("lists");
    assert_eq!((lists.price_list, lists.stock_list), (catalogue.price_list, catalogue.stock_list));
    assert_eq!(lists.offers_version, catalogue.offers_version);
    assert!(lists.products.is_empty() && lists.prices.is_empty());
}
