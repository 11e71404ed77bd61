//! The store's one ledger read model, below HTTP: the model the checkout answer is built
//! from equals what the batched loader reads back, roots keep the order asked for, parts
//! load only what is asked, and the typed list filters select what they name.

use offerline_core::{
    Currency, CustomerId, DiscountDraft, DiscountSource, ExternalRef, OfferId, OfferKind, OrderDraft, OrderStatus,
};
use offerline_store::ledger::{
    BenefitApplicantRow, ConditionApplicantRow, LedgerFilter, OrderDetail, OrderItemRow, Parts, Roots,
};
use offerline_store::list::ListQuery;
use offerline_store::orders::{NewOrder, place_order};
use serde_json::json;

use crate::both;
use crate::helpers::{Db, Server};
use crate::ledger::{fixture, product, unit};

both!(checkout_answer_model_is_what_the_loader_reads_back, loader_roots_parts_and_filters);

async fn checkout_answer_model_is_what_the_loader_reads_back(db: Db) {
    let s = Server::start(db).await;
    let f = fixture(&s).await;
    let p = product(&f.store, "Read back", "read-back-1", 1000, 1).await;
    let new = NewOrder {
        number: None,
        user_id: Some(CustomerId(f.customer.0)),
        channel: "storefront".into(),
        status: OrderStatus::APPROVED,
        currency: Currency::parse("try").unwrap(),
        customer: Some(json!({"name": "N"})),
        shipping_address: Some(json!({"line": "1", "city": "İzmir"})),
        billing_address: None,
        draft: OrderDraft {
            shipping_free: true,
            units: vec![unit(p, "l1", 1000), unit(p, "l1", 1000), unit(p, "l2", 1000)],
            discounts: vec![
                DiscountDraft {
                    name: "3 off".into(),
                    amount: 300,
                    source: DiscountSource::BasketOffer,
                    offer_kind: Some(OfferKind::VoucherCode),
                    code: Some("THREE".into()),
                    offer: Some(OfferId(f.promotion_id)),
                    shares: vec![(0, 100), (1, 100), (2, 100)],
                    condition_units: vec![0, 2],
                    ..Default::default()
                },
                DiscountDraft {
                    name: "custom".into(),
                    amount: 50,
                    source: DiscountSource::CustomDiscount,
                    external: Some(ExternalRef {
                        uuid: "uuid-1".into(),
                        external_id: "ext".into(),
                        discount_engine: "engine".into(),
                        description: "custom".into(),
                    }),
                    line_key: Some("l2".into()),
                    shares: vec![(2, 50)],
                    ..Default::default()
                },
            ],
            claims: Vec::new(),
        },
    };
    let mut tx = f.store.begin().await.unwrap();
    let placed = place_order(&mut tx, &new).await.unwrap();
    tx.commit().await.unwrap();

    let answered = OrderDetail::from_placed(&new, &placed).unwrap();
    let read = f.store.order_detail(placed.id).await.unwrap();
    let (a, r) = (answered.ledger().rows(), read.ledger().rows());
    assert_eq!(a.orders, r.orders);
    assert_eq!(a.discounts, r.discounts);
    // What the write does not return (mapping codes, applicant ids) is all that differs.
    assert_eq!(a.items.len(), r.items.len());
    for (x, y) in a.items.iter().zip(&r.items) {
        assert!(!y.mapping_code.is_empty());
        assert_eq!(&OrderItemRow { mapping_code: y.mapping_code.clone(), ..x.clone() }, y);
    }
    let no_id = |b: &BenefitApplicantRow| BenefitApplicantRow { id: 0, ..b.clone() };
    assert_eq!(a.benefits, r.benefits.iter().map(no_id).collect::<Vec<_>>());
    let no_id = |c: &ConditionApplicantRow| ConditionApplicantRow { id: 0, ..c.clone() };
    assert_eq!(a.conditions, r.conditions.iter().map(no_id).collect::<Vec<_>>());
    // Walked from the order, both give the same shares per discount and unit.
    let shares = |d: &OrderDetail| -> Vec<(i64, i64, i64)> {
        d.order()
            .discounts()
            .flat_map(|x| x.benefits().map(|b| (b.discount_item_id, b.order_item_id, b.discount_share)))
            .collect()
    };
    assert_eq!(shares(&answered), shares(&read));
    let units: Vec<i64> = read.order().items().map(|i| i.net_amount).collect();
    assert_eq!(units, [900, 900, 850]);
}

async fn loader_roots_parts_and_filters(db: Db) {
    let s = Server::start(db).await;
    let f = fixture(&s).await;
    let store = &f.store;
    let items = &f.multibuy_items;

    // Roots keep the order asked for; unknown ids are left out; their orders come along,
    // and nothing else unless asked.
    let l = store.ledger(Roots::OrderItems(&[items[2], 999_999, items[0]]), Parts::NONE).await.unwrap();
    assert_eq!(l.items().map(|i| i.id).collect::<Vec<_>>(), [items[2], items[0]]);
    assert_eq!(l.orders().map(|o| o.id).collect::<Vec<_>>(), [f.multibuy_order.0]);
    assert!(l.items().all(|i| i.order().number == f.multibuy_order.1));
    let rows = l.rows();
    assert!(rows.benefits.is_empty() && rows.products.is_empty() && rows.price_lists.is_empty());

    let l = store.ledger(Roots::OrderItems(&[items[2]]), Parts::ITEM_DETAIL).await.unwrap();
    let i = l.items().next().unwrap();
    assert_eq!(i.benefits().map(|b| b.discount_share).collect::<Vec<_>>(), [6664]);
    assert_eq!(i.product().map(|p| p.sku.as_str()), Some("2672880300001"));
    assert!(i.price_list().is_some() && i.stock_list().is_some());

    let l = store.ledger(Roots::DiscountItems(&[f.discount_id]), Parts::DISCOUNT_DETAIL).await.unwrap();
    let d = l.discounts().next().unwrap();
    assert_eq!(d.benefits().map(|b| b.discount_share).sum::<i64>(), d.amount);
    assert_eq!(d.conditions().count(), 3);
    assert_eq!(d.promotion().map(|p| p.id), Some(f.promotion_id));
    assert_eq!(d.order().id, f.multibuy_order.0);

    let detail = store.order_detail(f.multibuy_order.0).await.unwrap();
    assert_eq!(detail.order().items().map(|i| i.id).collect::<Vec<_>>(), *items);
    assert_eq!(detail.order().discounts().map(|d| d.id).collect::<Vec<_>>(), [f.discount_id]);
    assert!(store.order_detail(999_999).await.is_err());

    // An order by number is found in its own channel only.
    let number = f.multibuy_order.1.as_str();
    let other = store.ledger(Roots::OrderNumber { number, channel: "elasticpath" }, Parts::NONE).await.unwrap();
    assert!(OrderDetail::new(other).is_none());
    let found = store.ledger(Roots::OrderNumber { number, channel: "storefront" }, Parts::NONE).await.unwrap();
    assert_eq!(OrderDetail::new(found).unwrap().order().id, f.multibuy_order.0);

    // Typed list filters.
    let mut q = ListQuery::new();
    q.page(100, 0);
    let by_number = |numbers: &[&str]| LedgerFilter {
        order_numbers: numbers.iter().map(|n| n.to_string()).collect(),
        ..LedgerFilter::default()
    };
    let (count, l) = store.list_order_items(&q, &by_number(&[&f.plain_order.1]), Parts::NONE).await.unwrap();
    assert_eq!(count, 4);
    assert_eq!(l.items().map(|i| i.id).collect::<Vec<_>>(), f.plain_items);
    let both = by_number(&[&f.plain_order.1, &f.multibuy_order.1]);
    assert_eq!(store.list_order_items(&q, &both, Parts::NONE).await.unwrap().0, 0);
    for (user, order) in [(f.customer.0, f.multibuy_order.0), (f.other.0, f.other_order.0)] {
        let mine = LedgerFilter { customer: Some(user), ..LedgerFilter::default() };
        let (count, l) = store.list_discount_items(&q, &mine, Parts::NONE).await.unwrap();
        assert_eq!(count, 1);
        assert_eq!(l.discounts().map(|d| (d.order().id, d.order().user_id)).collect::<Vec<_>>(), [(order, Some(user))]);
    }
}
