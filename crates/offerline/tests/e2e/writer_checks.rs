//! A checkout whose promotion's row changed after the basket was priced gets the same answer
//! from both checkout writers. SQLite's reads the rows inside its transaction; PostgreSQL's
//! writes a batch's plain checkouts in one statement that checks every promotion they name
//! against its row, and writes the batch one by one when a check fails
//! (crates/store/src/pg_bulk.rs). Asked of the store directly, with the row changed by a
//! statement the offer cache never hears of, as a hand-written `UPDATE` or a lagging node
//! would leave it.

use offerline_core::{
    Currency, CustomerId, DiscountDraft, OfferId, OrderDraft, OrderStatus, ProductId, UnitDraft, UsageClaim,
};
use offerline_store::StoreError;
use offerline_store::checkout::{CheckoutOutcome, CheckoutWrite};
use offerline_store::orders::NewOrder;
use sqlx::{AnyPool, Row};

use crate::both;
use crate::helpers::{Db, demo_store, scalar};

both!(a_promotion_changed_since_pricing_gets_the_same_answer_from_both_writers);

/// What a checkout is expected to get.
#[derive(Debug)]
enum Expect {
    Placed,
    /// Refused: the offer changed, for this reason.
    Changed(&'static str),
    /// Refused: a limit the row now has is reached.
    Limit,
}

/// Everything a row as priced has: live, in its window, without limits.
const AS_PRICED: &str = "is_active = 1, deleted = 0, start_at = NULL, end_at = NULL, \
                         max_basket_applications = NULL, max_user_applications = NULL, \
                         max_global_applications = NULL, max_discount = NULL";

async fn run(pool: &AnyPool, sql: &str) {
    sqlx::query(sql).execute(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn a_promotion_changed_since_pricing_gets_the_same_answer_from_both_writers(db: Db) {
    let (_scratch, store) = demo_store(db).await;
    let pool = store.writer();
    let item = sqlx::query(
        "SELECT product_id, price_list_id, stock_list_id FROM order_items \
         WHERE price_list_id IS NOT NULL AND stock_list_id IS NOT NULL ORDER BY id LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .expect("the demo placed an order");
    let (product, list, stock): (i64, i64, i64) = (item.get(0), item.get(1), item.get(2));
    let customer = scalar(&store, "SELECT id FROM users WHERE is_staff = 0 ORDER BY id LIMIT 1").await;
    let promotion = scalar(&store, "SELECT id FROM promotions ORDER BY id LIMIT 1").await;
    run(pool, &format!("UPDATE promotions SET {AS_PRICED} WHERE id = {promotion}")).await;
    let version = scalar(&store, &format!("SELECT modified_at FROM promotions WHERE id = {promotion}")).await;

    // One unit of 100.00 with 10.00 off by the promotion, counted for it and the customer.
    let offer = OfferId(promotion);
    let write = || CheckoutWrite {
        idempotency: None,
        basket: None,
        priced_offers: vec![(promotion, version)],
        order: NewOrder {
            number: None,
            user_id: Some(CustomerId(customer)),
            channel: "storefront".into(),
            status: OrderStatus::APPROVED,
            currency: Currency::parse("try").expect("currency"),
            customer: None,
            shipping_address: None,
            billing_address: None,
            draft: OrderDraft {
                units: vec![UnitDraft {
                    product: ProductId(product),
                    line_key: "1".into(),
                    price: 10_000,
                    retail_price: None,
                    tax_rate: 1800,
                    price_list_id: Some(list),
                    stock_list_id: Some(stock),
                    product_name: "P".into(),
                    product_sku: "P-1".into(),
                }],
                discounts: vec![DiscountDraft {
                    name: "ten off".into(),
                    amount: 1_000,
                    offer: Some(offer),
                    shares: vec![(0, 1_000)],
                    condition_units: vec![0],
                    applications: 1,
                    ..DiscountDraft::default()
                }],
                claims: vec![
                    UsageClaim::Offer {
                        offer,
                        applications: 1,
                        discount: 1_000,
                        max_applications: None,
                        max_discount: None,
                    },
                    UsageClaim::CustomerOffer {
                        offer,
                        customer: CustomerId(customer),
                        applications: 1,
                        max_applications: None,
                    },
                ],
                ..OrderDraft::default()
            },
        },
    };

    // Each case starts from the row as priced, version included.
    let cases = [
        (String::new(), Expect::Placed),
        ("is_active = 0".into(), Expect::Changed("inactive")),
        ("deleted = 1".into(), Expect::Changed("deleted")),
        ("start_at = 4102444800000000".into(), Expect::Changed("not started yet")),
        ("end_at = 1".into(), Expect::Changed("ended")),
        (
            format!("modified_at = {}", version + 1),
            Expect::Changed("different from the one the basket was priced with"),
        ),
        ("max_basket_applications = 0".into(), Expect::Changed("over its per-basket limit")),
        ("max_global_applications = 0".into(), Expect::Limit),
        ("max_discount = 500".into(), Expect::Limit),
        ("max_user_applications = 0".into(), Expect::Limit),
        // Limits the order keeps within are claimed, and the order is placed.
        (
            "max_basket_applications = 1, max_global_applications = 1000, max_user_applications = 5".into(),
            Expect::Placed,
        ),
    ];
    for (change, expect) in cases {
        run(pool, &format!("UPDATE promotions SET {AS_PRICED}, modified_at = {version} WHERE id = {promotion}")).await;
        if !change.is_empty() {
            run(pool, &format!("UPDATE promotions SET {change} WHERE id = {promotion}")).await;
        }
        let orders = scalar(&store, "SELECT COUNT(*) FROM orders").await;
        let items = scalar(&store, "SELECT COUNT(*) FROM order_items").await;
        let out = store.checkout(write(), None).await;
        let written = scalar(&store, "SELECT COUNT(*) FROM orders").await - orders;
        match (&expect, &out) {
            (Expect::Placed, Ok(CheckoutOutcome::Placed { placed, .. })) => {
                assert_eq!(written, 1, "{change}");
                assert_eq!(scalar(&store, "SELECT COUNT(*) FROM order_items").await - items, 1, "{change}");
                let named =
                    scalar(&store, &format!("SELECT promotion_id FROM discount_items WHERE order_id = {}", placed.id))
                        .await;
                assert_eq!(named, promotion, "{change}");
            }
            (Expect::Changed(why), Err(StoreError::OfferChanged { promotion_id, why: got })) => {
                assert_eq!((*promotion_id, *got), (promotion, *why), "{change}");
                assert_eq!(written, 0, "nothing written: {change}");
            }
            (Expect::Limit, Err(StoreError::LimitReached(_))) => assert_eq!(written, 0, "nothing written: {change}"),
            _ => panic!("{change}: expected {expect:?}, got {out:?}"),
        }
    }
}
