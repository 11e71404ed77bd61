//! The ledger's references hold on both databases: SQLite by its foreign keys, PostgreSQL by
//! the per-statement checks of migration 0016, which replaced the per-row foreign keys of
//! the ledger's write-once tables. Each test below is what a foreign key refuses or
//! cascades, asked of the database directly, on an order the demo placed.

use std::time::Duration;

use offerline_store::Store;
use sqlx::{Any, AnyPool, Row, Transaction};

use crate::both;
use crate::helpers::{Db, Scratch, demo_store};

both!(
    ledger_rows_name_parents_that_are_there,
    parents_named_by_the_ledger_are_not_deleted,
    deleting_an_order_deletes_its_ledger
);

/// The columns of an order item copied by [`copy_item`].
const ITEM_COPY: &str = "order_id, product_id, line_key, status, price, retail_price, tax_rate, price_list_id, \
                         stock_list_id, net_amount, discount_amount, mapping_code, product_name, product_sku, \
                         created_at, modified_at";

/// An order item of the demo's, its discount item, and what they name.
struct Placed {
    order: i64,
    item: i64,
    discount: i64,
    product: i64,
    price_list: i64,
    stock_list: i64,
    promotion: i64,
}

/// A fresh demo database (removed when the first value is dropped), the store over it, and
/// one of its placed orders.
async fn demo_order(db: Db) -> (Scratch, Store, Placed) {
    let (scratch, store) = demo_store(db).await;
    let p = placed(store.writer()).await;
    (scratch, store, p)
}

async fn placed(pool: &AnyPool) -> Placed {
    let r = sqlx::query(
        "SELECT i.order_id, i.id, d.id, i.product_id, i.price_list_id, i.stock_list_id, d.promotion_id \
         FROM benefit_applicants b JOIN order_items i ON i.id = b.order_item_id \
         JOIN discount_items d ON d.id = b.discount_item_id \
         WHERE i.price_list_id IS NOT NULL AND i.stock_list_id IS NOT NULL AND d.promotion_id IS NOT NULL \
         ORDER BY b.id LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .expect("the demo placed an order with a discount");
    Placed {
        order: r.get(0),
        item: r.get(1),
        discount: r.get(2),
        product: r.get(3),
        price_list: r.get(4),
        stock_list: r.get(5),
        promotion: r.get(6),
    }
}

/// Whether `e` is the database refusing a reference: PostgreSQL's `foreign_key_violation`,
/// SQLite's `SQLITE_CONSTRAINT_FOREIGNKEY`.
fn refused_reference(e: &sqlx::Error) -> bool {
    e.as_database_error().and_then(|d| d.code()).is_some_and(|c| c == "23503" || c == "787")
}

/// Inserts a copy of order item `item` with `column` set to `value`, in `tx`.
async fn copy_item(tx: &mut Transaction<'_, Any>, item: i64, column: &str, value: i64) -> Result<(), sqlx::Error> {
    let cols = ITEM_COPY.replace(column, &format!("{value} AS {column}"));
    sqlx::query(&format!("INSERT INTO order_items ({ITEM_COPY}) SELECT {cols} FROM order_items WHERE id = {item}"))
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Inserts an applicant into `table` (benefit or condition applicants) naming `discount` and
/// `item`, in `tx`.
async fn applicant(tx: &mut Transaction<'_, Any>, table: &str, discount: i64, item: i64) -> Result<(), sqlx::Error> {
    let (cols, vals) = match table {
        "benefit_applicants" => ("discount_item_id, order_item_id, discount_share, created_at, modified_at", "0, 0, 0"),
        _ => ("discount_item_id, order_item_id, created_at, modified_at", "0, 0"),
    };
    sqlx::query(&format!("INSERT INTO {table} ({cols}) VALUES ({discount}, {item}, {vals})"))
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Inserts a discount item of `order` naming `promotion`, in `tx`.
async fn discount_item(tx: &mut Transaction<'_, Any>, order: i64, promotion: i64) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO discount_items (order_id, name, amount, offer_type, promotion_id, created_at, modified_at) \
         VALUES ({order}, 'x', 1, 'x', {promotion}, 0, 0)"
    ))
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

async fn ledger_rows_name_parents_that_are_there(db: Db) {
    let (_scratch, store, p) = demo_order(db).await;
    let pool = store.writer();
    let missing = 1_000_000_000;

    // Rows naming only rows that are there are taken.
    let mut tx = pool.begin().await.unwrap();
    copy_item(&mut tx, p.item, "order_id", p.order).await.expect("a copy of a placed item");
    discount_item(&mut tx, p.order, p.promotion).await.expect("a discount item naming placed rows");
    for table in ["benefit_applicants", "condition_applicants"] {
        applicant(&mut tx, table, p.discount, p.item).await.expect("an applicant naming placed rows");
    }
    tx.rollback().await.unwrap();

    for (column, what) in [
        ("order_id", "order"),
        ("product_id", "product"),
        ("price_list_id", "price list"),
        ("stock_list_id", "stock list"),
    ] {
        let mut tx = pool.begin().await.unwrap();
        let e = copy_item(&mut tx, p.item, column, missing).await.expect_err(what);
        assert!(refused_reference(&e), "an order item naming a missing {what}: {e}");
        tx.rollback().await.ok();
    }
    for table in ["benefit_applicants", "condition_applicants"] {
        for (discount, item, what) in [(missing, p.item, "discount item"), (p.discount, missing, "order item")] {
            let mut tx = pool.begin().await.unwrap();
            let e = applicant(&mut tx, table, discount, item).await.expect_err(what);
            assert!(refused_reference(&e), "{table} naming a missing {what}: {e}");
            tx.rollback().await.ok();
        }
    }
    for (order, promotion, what) in [(missing, p.promotion, "order"), (p.order, missing, "promotion")] {
        let mut tx = pool.begin().await.unwrap();
        let e = discount_item(&mut tx, order, promotion).await.expect_err(what);
        assert!(refused_reference(&e), "a discount item naming a missing {what}: {e}");
        tx.rollback().await.ok();
    }

    // Nothing names the missing rows.
    let named: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM order_items WHERE $1 IN (order_id, product_id, price_list_id, stock_list_id)) \
         + (SELECT COUNT(*) FROM discount_items WHERE $1 IN (order_id, promotion_id)) \
         + (SELECT COUNT(*) FROM benefit_applicants WHERE $1 IN (discount_item_id, order_item_id)) \
         + (SELECT COUNT(*) FROM condition_applicants WHERE $1 IN (discount_item_id, order_item_id))",
    )
    .bind(missing)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(named, 0);

    if db == Db::Postgres {
        a_concurrent_delete_meets_the_insert(&store, &p).await;
    }
}

/// PostgreSQL: the checks lock what they find, as a foreign key does, so a product deleted
/// while an order item naming it is being written is refused whichever comes first.
async fn a_concurrent_delete_meets_the_insert(store: &Store, p: &Placed) {
    let pool = store.writer();
    let new_product = || async {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO products (name, sku, uuid, created_at, modified_at) \
             VALUES ('Referenced', 'REF-' || md5(random()::text), md5(random()::text), 0, 0) RETURNING id",
        )
        .fetch_one(pool)
        .await
        .unwrap()
    };

    // The insert first: the delete waits for its commit, then sees the new item.
    let product = new_product().await;
    let mut insert = pool.begin().await.unwrap();
    copy_item(&mut insert, p.item, "product_id", product).await.expect("an item naming the new product");
    let delete = {
        let pool = pool.clone();
        tokio::spawn(async move {
            sqlx::query("DELETE FROM products WHERE id = $1").bind(product).execute(&pool).await.map(|_| ())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!delete.is_finished(), "the delete waits for the insert's lock on the product");
    insert.commit().await.unwrap();
    let e = delete.await.unwrap().expect_err("deleting a product an order item now names");
    assert!(refused_reference(&e), "{e}");
    sqlx::query(&format!("DELETE FROM order_items WHERE product_id = {product}")).execute(pool).await.unwrap();

    // The delete first: the insert waits for its commit, then finds no product.
    let product = new_product().await;
    let mut delete = pool.begin().await.unwrap();
    sqlx::query("DELETE FROM products WHERE id = $1").bind(product).execute(&mut *delete).await.unwrap();
    let insert = {
        let pool = pool.clone();
        let item = p.item;
        tokio::spawn(async move {
            let mut tx = pool.begin().await?;
            copy_item(&mut tx, item, "product_id", product).await?;
            tx.commit().await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!insert.is_finished(), "the insert waits for the delete's lock on the product");
    delete.commit().await.unwrap();
    let e = insert.await.unwrap().expect_err("an item naming a product deleted meanwhile");
    assert!(refused_reference(&e), "{e}");
}

async fn parents_named_by_the_ledger_are_not_deleted(db: Db) {
    let (_scratch, store, p) = demo_order(db).await;
    let pool = store.writer();
    for (table, id) in [
        ("products", p.product),
        ("price_lists", p.price_list),
        ("stock_lists", p.stock_list),
        ("promotions", p.promotion),
    ] {
        let e = sqlx::query(&format!("DELETE FROM {table} WHERE id = {id}")).execute(pool).await.expect_err(table);
        assert!(refused_reference(&e), "deleting a row of {table} an order names: {e}");
        let there: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table} WHERE id = {id}")).fetch_one(pool).await.unwrap();
        assert_eq!(there, 1, "{table} {id} is still there");
    }
    if db == Db::Postgres {
        // Which reference refused it: the ledger's, not another table's foreign key.
        let e =
            sqlx::query(&format!("DELETE FROM promotions WHERE id = {}", p.promotion)).execute(pool).await.unwrap_err();
        assert!(e.to_string().contains("discount_items"), "{e}");
    }
}

async fn deleting_an_order_deletes_its_ledger(db: Db) {
    let (_scratch, store, p) = demo_order(db).await;
    let pool = store.writer();
    let counts = |order: i64| {
        let pool = pool.clone();
        async move {
            let mut out = Vec::new();
            for sql in [
                "SELECT COUNT(*) FROM order_items WHERE order_id = $1",
                "SELECT COUNT(*) FROM discount_items WHERE order_id = $1",
                "SELECT COUNT(*) FROM benefit_applicants b JOIN order_items i ON i.id = b.order_item_id WHERE i.order_id = $1",
                "SELECT COUNT(*) FROM condition_applicants c JOIN order_items i ON i.id = c.order_item_id WHERE i.order_id = $1",
            ] {
                out.push(sqlx::query_scalar::<_, i64>(sql).bind(order).fetch_one(&pool).await.unwrap());
            }
            out
        }
    };
    let all = |pool: AnyPool| async move {
        let mut out = Vec::new();
        for t in ["order_items", "discount_items", "benefit_applicants", "condition_applicants"] {
            out.push(
                sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {t}")).fetch_one(&pool).await.unwrap(),
            );
        }
        out
    };
    // The demo's offers have no condition applicants: the order gets one.
    let mut tx = pool.begin().await.unwrap();
    applicant(&mut tx, "condition_applicants", p.discount, p.item).await.expect("a condition applicant");
    tx.commit().await.unwrap();
    let mine = counts(p.order).await;
    assert!(mine.iter().all(|&n| n > 0), "the order has rows of every kind: {mine:?}");
    let before = all(pool.clone()).await;
    sqlx::query("DELETE FROM orders WHERE id = $1").bind(p.order).execute(pool).await.expect("delete the order");
    assert_eq!(counts(p.order).await, [0, 0, 0, 0], "the order's rows went with it");
    // Only its rows: each table lost exactly what the order had in it.
    let after = all(pool.clone()).await;
    let gone: Vec<i64> = before.iter().zip(&after).map(|(b, a)| b - a).collect();
    assert_eq!(gone, mine, "deleted, per table: {before:?} → {after:?}");
    let orphans: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM benefit_applicants b WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.id = b.order_item_id) \
         OR NOT EXISTS (SELECT 1 FROM discount_items d WHERE d.id = b.discount_item_id)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(orphans, 0, "no applicant outlived its rows");
}
