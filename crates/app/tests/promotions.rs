//! The promotion and voucher use cases and the offer cache, on a SQLite file: the rules
//! they check, read-your-writes for this process's writes and other processes', the
//! follower that rebuilds off the request path, the debounce of its version reads, and its
//! end.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use offerline_app::offers::{CHECK_INTERVAL, OfferCache};
use offerline_app::vouchers::{CodeBatch, NewVoucher};
use offerline_app::{App, AppError, promotions, vouchers};
use offerline_core::{Benefit, BenefitKind, Condition, Currency, OfferKind, Range, VoucherCode};
use offerline_store::Store;
use offerline_store::promotions::PromotionInput;

/// A directory removed when the test ends.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// A migrated store on a fresh SQLite file, that file's URL, and its directory.
async fn store() -> (Store, String, TempDir) {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "offerline-app-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("offerline.db").display());
    (Store::open(&url).await.unwrap(), url, TempDir(dir))
}

fn input(name: &str, kind: OfferKind, off: i64) -> PromotionInput {
    PromotionInput {
        name: name.into(),
        slug: name.to_lowercase(),
        label: String::new(),
        offer_type: kind,
        currency: Currency::parse("try").unwrap(),
        start_at: None,
        end_at: None,
        priority: 0,
        exclusive: true,
        is_active: true,
        condition: Condition::none(),
        benefit: Benefit { kind: BenefitKind::Fixed(off), max_affected_items: None, range: Range::all() },
        max_basket_applications: None,
        max_user_applications: None,
        max_global_applications: None,
        max_discount: None,
        customers: Vec::new(),
        refund_policy: offerline_core::RefundPolicy::KeepShares,
    }
}

/// Waits until `done` holds (5 s at most).
async fn until(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(5), "{what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_anywhere_are_priced_at_once_and_followed_off_the_request_path() {
    let (store, url, _dir) = store().await;
    let app = App::load(store.clone()).await.unwrap();
    let offers = app.offers();
    assert!(offers.is_empty());

    // Read-your-writes: the next pricing (which asks for a fresh index) holds the write.
    let p = promotions::create(&app, &input("Here", OfferKind::Site, 100)).await.unwrap();
    assert!(offers.fresh().await.unwrap().index.get(offerline_core::OfferId(p.id)).is_some());

    // Another process's write, with no change watcher running here: the next pricing holds
    // it all the same, since it reads the pricing versions first.
    let other = Store::connect(&url).await.unwrap();
    let q = other.create_promotion(&input("Elsewhere", OfferKind::Site, 200)).await.unwrap();
    assert!(offers.fresh().await.unwrap().index.get(offerline_core::OfferId(q.id)).is_some(), "created elsewhere");
    let mut changed = q.input();
    changed.benefit.kind = BenefitKind::Fixed(300);
    other.update_promotion(q.id, &changed).await.unwrap();
    let fixed = |s: &offerline_app::offers::Snapshot| {
        s.index.get(offerline_core::OfferId(q.id)).map(|o| o.benefit.kind.clone())
    };
    assert_eq!(fixed(&offers.fresh().await.unwrap()), Some(BenefitKind::Fixed(300)), "changed elsewhere");
    other.delete_promotion(q.id).await.unwrap();
    assert_eq!(offers.fresh().await.unwrap().index.len(), 1, "deleted elsewhere");

    // The catalogue by the same rule: a price written elsewhere is the next simulation's.
    let (_, catalog) = offers.pricing().await.unwrap();
    let before = catalog.len();
    let product = offerline_store::catalog::ProductInput {
        name: Some("Elsewhere".into()),
        sku: Some("ELSEWHERE-1".into()),
        ..Default::default()
    };
    other.create_product(product).await.unwrap();
    assert_eq!(offers.pricing().await.unwrap().1.len(), before + 1, "a product created elsewhere");

    // Off the request path, the follower rebuilds once the store's watcher runs.
    let r = other.create_promotion(&input("Followed", OfferKind::Site, 50)).await.unwrap();
    store.watch_changes();
    until("a promotion created elsewhere, followed", || offers.current().get(offerline_core::OfferId(r.id)).is_some())
        .await;
    other.delete_promotion(r.id).await.unwrap();
    until("a promotion deleted elsewhere, followed", || offers.len() == 1).await;

    // Writes that touch no promotion move the generation but rebuild nothing.
    let before = offers.stats();
    let user = offerline_store::auth::NewUser {
        username: "someone",
        password: "pw-123456",
        email: "someone@example.com",
        first_name: "",
        last_name: "",
        is_staff: false,
    };
    other.create_user(user).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(offers.stats().rebuilds, before.rebuilds);
    other.close().await;
    store.close().await;
}

/// Pricings share their reads of the versions; a pricing that starts after a write was
/// committed must never take the answer of a read that began before it. Readers keep the
/// shared reads busy while another store writes, and the pricing right after each write
/// must hold it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_version_reads_never_answer_a_pricing_with_a_read_older_than_it() {
    let (store, url, _dir) = store().await;
    let app = App::load(store.clone()).await.unwrap();
    let other = Store::connect(&url).await.unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let busy: Vec<_> = (0..6)
        .map(|_| {
            let (offers, stop) = (app.offers().clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    offers.fresh().await.unwrap();
                    // On a SQLite file a pricing's reads run in place and never suspend: let
                    // the writer below have a turn on the two workers.
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for round in 0..30 {
        let p = other.create_promotion(&input(&format!("Round {round}"), OfferKind::Site, 100)).await.unwrap();
        assert!(
            app.offers().fresh().await.unwrap().index.get(offerline_core::OfferId(p.id)).is_some(),
            "round {round}: a promotion committed before the pricing started"
        );
    }
    stop.store(true, Ordering::Relaxed);
    for b in busy {
        b.await.unwrap();
    }
    other.close().await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_changes_costs_one_version_read_per_interval() {
    let (store, _, _dir) = store().await;
    let offers = OfferCache::load(store.clone()).await.unwrap();
    let before = offers.stats();
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(250) {
        for _ in 0..100 {
            store.changes().bump();
        }
        tokio::task::yield_now().await;
    }
    let elapsed = started.elapsed();
    tokio::time::sleep(CHECK_INTERVAL * 4).await;
    let checks = offers.stats().checks - before.checks;
    let bound = (elapsed.as_millis() / CHECK_INTERVAL.as_millis()) as u64 + 3;
    assert!((1..=bound).contains(&checks), "{checks} version reads for a burst of {elapsed:?} (at most {bound})");
    assert_eq!(offers.stats().rebuilds, before.rebuilds, "nothing changed, nothing rebuilt");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_follower_ends_with_the_cache() {
    let (store, _, _dir) = store().await;
    let baseline = Arc::strong_count(store.changes());
    let offers = OfferCache::load(store.clone()).await.unwrap();
    let copy = offers.clone();
    until("the follower started", || Arc::strong_count(store.changes()) > baseline).await;
    drop(offers);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(Arc::strong_count(store.changes()) > baseline, "a clone keeps it following");
    drop(copy);
    until("the follower stopped", || Arc::strong_count(store.changes()) == baseline).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clones_of_the_application_share_one_cache_which_ends_with_the_last() {
    let (store, _, _dir) = store().await;
    let baseline = Arc::strong_count(store.changes());
    let app = App::load(store.clone()).await.unwrap();
    let copy = app.clone();
    until("the follower started", || Arc::strong_count(store.changes()) > baseline).await;
    promotions::create(&copy, &input("Shared", OfferKind::Site, 100)).await.unwrap();
    assert_eq!(
        app.offers().fresh().await.unwrap().index.len(),
        1,
        "a write through one clone is priced through the other at once"
    );
    drop(app);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(Arc::strong_count(store.changes()) > baseline, "a clone keeps it following");
    drop(copy);
    until("the follower stopped", || Arc::strong_count(store.changes()) == baseline).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rules_of_promotions_and_vouchers() {
    let (store, _, _dir) = store().await;
    let app = App::load(store.clone()).await.unwrap();
    let offers = app.offers();

    // Customers must exist; the offer must be meaningful.
    let mut with_ghosts = input("Ghosts", OfferKind::Coupon, 100);
    with_ghosts.customers = vec![900, 901];
    match promotions::create(&app, &with_ghosts).await {
        Err(AppError::Unknown { field, ids }) => assert_eq!((field.as_str(), ids), ("customers", vec![900, 901])),
        other => panic!("{other:?}"),
    }
    let mut multibuy = input("Multibuy", OfferKind::Site, 0);
    multibuy.benefit.kind = BenefitKind::Multibuy;
    multibuy.condition = Condition::none();
    match promotions::create(&app, &multibuy).await {
        Err(AppError::Invalid(e)) => assert_eq!(
            e.to_string(),
            "condition.type: A multibuy needs a count condition of at least 2, or an amount or coverage condition."
        ),
        other => panic!("{other:?}"),
    }
    assert!(offers.is_empty(), "nothing was written");
    assert!(store.list_promotions(&Default::default()).await.unwrap().1.is_empty());

    // Vouchers belong to code offers.
    let site = promotions::create(&app, &input("Site", OfferKind::Site, 100)).await.unwrap();
    let code = promotions::create(&app, &input("Code", OfferKind::VoucherCode, 100)).await.unwrap();
    let voucher = |promotion: i64| NewVoucher {
        code: VoucherCode::parse("hello").unwrap(),
        promotion,
        usage: offerline_core::VoucherUsage::SingleUse,
        customers: Vec::new(),
    };
    match vouchers::create(&app, &voucher(site.id)).await {
        Err(AppError::Field { field, message }) => assert_eq!(
            (field.as_str(), message),
            (
                "promotion",
                format!(
                    "Promotion {} is a site offer; vouchers belong to coupon_code and voucher_code offers.",
                    site.id
                )
            )
        ),
        other => panic!("{other:?}"),
    }
    match vouchers::create(&app, &voucher(424242)).await {
        Err(AppError::Unknown { field, ids }) => assert_eq!((field.as_str(), ids), ("promotion", vec![424242])),
        other => panic!("{other:?}"),
    }
    let v = vouchers::create(&app, &voucher(code.id)).await.unwrap();
    assert_eq!((v.code.as_str(), v.promotion_id), ("HELLO", code.id));

    // Generated codes: long enough for their number, for code offers only.
    let batch = |count: usize, length: usize| CodeBatch {
        count,
        prefix: "G-".into(),
        length,
        usage: offerline_core::VoucherUsage::SingleUse,
    };
    match vouchers::generate(&app, &code, &batch(2000, 4)).await {
        Err(AppError::Field { field, message }) => {
            assert_eq!((field.as_str(), message.as_str()), ("length", "A length of 4 is too short for 2000 codes."))
        }
        other => panic!("{other:?}"),
    }
    match vouchers::generate(&app, &site, &batch(2, 8)).await {
        Err(AppError::Refused(m)) => assert!(m.contains("vouchers belong to coupon_code and voucher_code offers")),
        other => panic!("{other:?}"),
    }
    let codes = vouchers::generate(&app, &code, &batch(3, 8)).await.unwrap();
    assert_eq!(codes.len(), 3);
    assert!(codes.iter().all(|c| c.starts_with("G-") && c.len() == 10), "{codes:?}");

    // Delete: gone from the list, the reads and the index at once.
    promotions::delete(&app, site.id).await.unwrap();
    assert!(offers.fresh().await.unwrap().index.get(offerline_core::OfferId(site.id)).is_none());
    assert!(matches!(promotions::get(&app, site.id).await, Err(AppError::NotFound)));
    let (count, listed) = promotions::list(&app, Default::default()).await.unwrap();
    assert_eq!((count, listed.iter().map(|p| p.id).collect::<Vec<_>>()), (1, vec![code.id]));
    store.close().await;
}

/// A rebuild after writes reads only the rows whose version moved and reuses the rest of the
/// index: what it builds must be what a full load builds, after creates, updates and deletes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_rebuilt_from_the_changed_rows_is_the_full_one() {
    let (store, _, _dir) = store().await;
    let app = App::load(store.clone()).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(promotions::create(&app, &input(&format!("P{i}"), OfferKind::Site, 100 + i)).await.unwrap().id);
    }
    let full = || async { offerline_core::OfferIndex::build(store.load_offers().await.unwrap()) };
    let same = |a: &offerline_core::OfferIndex, b: &offerline_core::OfferIndex| {
        assert_eq!(a.iter().cloned().collect::<Vec<_>>(), b.iter().cloned().collect::<Vec<_>>());
    };
    same(&app.offers().fresh().await.unwrap().index, &full().await);
    let mut changed = input("P1 changed", OfferKind::Site, 999);
    changed.priority = 7;
    promotions::update(&app, ids[1], &changed).await.unwrap();
    promotions::delete(&app, ids[3]).await.unwrap();
    promotions::create(&app, &input("P6", OfferKind::Site, 106)).await.unwrap();
    let fresh = app.offers().fresh().await.unwrap();
    same(&fresh.index, &full().await);
    assert_eq!(fresh.index.len(), 6);
    assert_eq!(fresh.index.iter().next().map(|o| o.name.as_str()), Some("P1 changed"), "priority 7 goes first");
    assert_eq!(fresh.versions.len(), 6);
    assert!(!fresh.versions.contains_key(&ids[3]), "a deleted offer's version goes with it");
}
