//! `offerline generate`: a large, realistic, deterministic ledger for benchmarks and scale
//! tests — customers, products with prices, orders with one item per unit, discount items
//! whose benefit shares sum exactly to their amount, and condition applicants.
//!
//! Rows are written straight into the store's tables (not through checkout) because the
//! point is volume: a million order items through the HTTP path would take hours. Each batch
//! of orders is one transaction of multi-row `INSERT`s with literal values (every value is
//! generated here, none comes from a request), with ids assigned here so that applicants can
//! reference items without `RETURNING` round trips. On PostgreSQL the id sequences are moved
//! past the new rows at the end, the `list_counts` deltas are folded, and the tables are
//! vacuumed and analysed, so index-only scans and the planner see the data as a
//! long-running shop would.
//!
//! The same `--seed` gives the same rows (ids shift only by what the database already held),
//! so runs are comparable.

use std::io::{IsTerminal, Write as _};
use std::time::Instant;

use anyhow::Context;
use offerline_core::{Benefit, BenefitKind, Condition, ConditionKind, OfferKind, Percent, Range};
use offerline_store::auth::NewUser;
use offerline_store::promotions::PromotionInput;
use offerline_store::{Backend, Store};
use serde_json::{Value, json};
use sqlx::Row;

/// What to generate (the subcommand's flags).
#[derive(Debug, Clone)]
pub struct Plan {
    pub customers: usize,
    pub products: usize,
    pub order_items: usize,
    pub items_per_order: usize,
    pub seed: u64,
    /// Quiet: no progress line (the JSON summary is still printed).
    pub quiet: bool,
}

/// A small deterministic generator (xorshift64*), the same as the pricing bench's.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }
}

/// 2026-01-01T00:00:00Z in microseconds: generated orders are spread after it.
const EPOCH_2026: i64 = 1_767_225_600_000_000;
/// Orders per transaction: a few thousand items, so a batch is one or two seconds of work.
const ORDERS_PER_BATCH: usize = 2_000;
/// Rows per multi-row INSERT statement.
const ROWS_PER_INSERT: usize = 2_000;

/// Collects the rows of one table and flushes them as multi-row INSERTs.
struct Insert {
    head: String,
    rows: Vec<String>,
    total: usize,
}

impl Insert {
    fn new(table: &str, cols: &str) -> Self {
        Insert { head: format!("INSERT INTO {table} ({cols}) VALUES "), rows: Vec::new(), total: 0 }
    }
    fn push(&mut self, row: String) {
        self.rows.push(row);
        self.total += 1;
    }
    async fn flush(&mut self, tx: &mut sqlx::Transaction<'static, sqlx::Any>) -> anyhow::Result<()> {
        for chunk in self.rows.chunks(ROWS_PER_INSERT) {
            let mut sql = String::with_capacity(self.head.len() + chunk.len() * 160);
            sql.push_str(&self.head);
            sql.push_str(&chunk.join(","));
            sqlx::raw_sql(&sql).execute(&mut **tx).await.with_context(|| self.head.clone())?;
        }
        self.rows.clear();
        Ok(())
    }
}

/// A text literal (generated text only; quotes are doubled anyway).
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

async fn max_id(store: &Store, table: &str) -> anyhow::Result<i64> {
    // The reader: on SQLite the single writer connection may be held by the batch's transaction.
    Ok(sqlx::query(&format!("SELECT COALESCE(MAX(id), 0) FROM {table}")).fetch_one(store.reader()).await?.try_get(0)?)
}

/// One progress line on stderr: rows done / total, rate, ETA.
struct Progress {
    started: Instant,
    last: Instant,
    total: usize,
    tty: bool,
    quiet: bool,
}

impl Progress {
    fn tick(&mut self, done: usize, force: bool) {
        if self.quiet || (!force && self.last.elapsed().as_millis() < 1000) {
            return;
        }
        self.last = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = done as f64 / secs;
        let eta = if rate > 0.0 { (self.total - done) as f64 / rate } else { 0.0 };
        let width = 30;
        let filled = (done * width).checked_div(self.total).unwrap_or(width);
        let bar: String = "#".repeat(filled) + &"-".repeat(width - filled);
        let line = format!(
            "generate [{bar}] {done}/{} order items  {:.0}/s  {secs:.0}s elapsed  ETA {eta:.0}s",
            self.total, rate
        );
        let mut err = std::io::stderr();
        if self.tty {
            let _ = write!(err, "\r{line}\x1b[K");
            if force {
                let _ = writeln!(err);
            }
        } else {
            let _ = writeln!(err, "{line}");
        }
    }
}

/// Generates the data set and returns the JSON summary.
pub async fn run(store: &Store, plan: &Plan) -> anyhow::Result<Value> {
    let started = Instant::now();
    let mut rng = Rng::new(plan.seed);
    let pg = store.backend() == Backend::Postgres;
    let now = offerline_store::now_micros();

    // A staff user and its token, so the summary is enough to query the lists.
    let staff_name = "generate-staff";
    let staff_id = match store.user_by_username(staff_name).await? {
        Some(u) => u.id,
        None => {
            store
                .create_user(NewUser {
                    username: staff_name,
                    password: "generate-staff-pw",
                    email: "",
                    first_name: "",
                    last_name: "",
                    is_staff: true,
                })
                .await?
                .id
        }
    };
    let token_ttl = offerline_app::policy::micros(offerline_app::policy::Policy::default().token_ttl);
    let staff_token = store.issue_token(staff_id, token_ttl).await?;

    // Customers: the first through the repository (for a real password hash), the rest copy it.
    let user_base = max_id(store, "users").await?;
    let first = store
        .create_user(NewUser {
            username: &format!("gen-{}", user_base + 1),
            password: "generate-customer-pw",
            email: &format!("gen-{}@example.com", user_base + 1),
            first_name: "Gen",
            last_name: "Customer",
            is_staff: false,
        })
        .await?;
    let hash: String = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
        .bind(first.id)
        .fetch_one(store.writer())
        .await?
        .try_get(0)?;
    let mut customer_ids = vec![first.id];
    let user_base = max_id(store, "users").await?;
    let mut tx = store.begin().await?;
    let mut users = Insert::new(
        "users",
        "id, username, email, first_name, last_name, password_hash, is_staff, is_active, date_joined",
    );
    for k in 1..plan.customers.max(1) {
        let id = user_base + k as i64;
        customer_ids.push(id);
        users.push(format!(
            "({id}, 'gen-{id}', 'gen-{id}@example.com', 'Gen', 'Customer {id}', {}, 0, 1, {})",
            lit(&hash),
            EPOCH_2026 - 86_400_000_000 + id
        ));
    }
    users.flush(&mut tx).await?;

    // Products with attributes and a price in the default price list.
    let price_list = store.default_price_list().await?;
    let stock_list_id: Option<i64> =
        sqlx::query("SELECT MIN(id) FROM stock_lists").fetch_one(&mut *tx).await?.try_get(0)?;
    let stock_list = stock_list_id.map_or("NULL".to_owned(), |s| s.to_string());
    let product_base = max_id(store, "products").await?;
    let price_base = max_id(store, "product_prices").await?;
    let mut products = Insert::new(
        "products",
        "id, name, sku, base_code, product_type, is_active, attributes, attributes_kwargs, uuid, created_at, modified_at",
    );
    let mut prices = Insert::new(
        "product_prices",
        "id, product_id, price_list_id, price, retail_price, tax_rate, created_at, modified_at",
    );
    // (id, name, sku, price)
    let mut catalogue: Vec<(i64, String, String, i64)> = Vec::with_capacity(plan.products);
    for k in 0..plan.products.max(1) {
        let id = product_base + 1 + k as i64;
        let sku = format!("GEN-{}-{id}", plan.seed);
        let name = format!("Generated product {id}");
        let price = 1_000 + rng.below(200) as i64 * 250; // 10.00 .. 507.50
        let attrs = json!({ "brand": format!("brand-{}", rng.below(50)), "color": format!("color-{}", rng.below(20)),
                            "size": (36 + rng.below(10)).to_string() });
        products.push(format!(
            "({id}, {}, {}, 'GEN{id}', '0', 1, {}, '{{}}', '{}', {EPOCH_2026}, {EPOCH_2026})",
            lit(&name),
            lit(&sku),
            lit(&attrs.to_string()),
            rng.uuid()
        ));
        prices.push(format!(
            "({}, {id}, {}, {price}, {}, 1800, {EPOCH_2026}, {EPOCH_2026})",
            price_base + 1 + k as i64,
            price_list.id,
            price + price / 5
        ));
        catalogue.push((id, name, sku, price));
    }
    products.flush(&mut tx).await?;
    prices.flush(&mut tx).await?;
    tx.commit().await?;

    // Two historic (inactive) campaigns the discount items point at; inactive so they do not
    // change pricing for whatever runs against this database next.
    let try_ = offerline_core::Currency::parse("try")?;
    let mut promo = |name: &str, slug: &str, condition: Condition, kind: BenefitKind| PromotionInput {
        name: name.into(),
        slug: format!("{slug}-{}", rng.below(1_000_000)),
        label: name.into(),
        offer_type: OfferKind::Site,
        currency: try_,
        start_at: Some(EPOCH_2026),
        end_at: None,
        priority: 0,
        exclusive: false,
        is_active: false,
        condition,
        benefit: Benefit { kind, max_affected_items: None, range: Range::all() },
        max_basket_applications: None,
        max_user_applications: None,
        max_global_applications: None,
        max_discount: None,
        customers: Vec::new(),
        refund_policy: offerline_core::RefundPolicy::KeepShares,
    };
    let pct = store
        .create_promotion(&promo(
            "Generated 10% off",
            "generated-10-off",
            Condition { kind: ConditionKind::Count(1), range: Range::all() },
            BenefitKind::Percentage(Percent::from_int(10)?),
        ))
        .await?;
    let fixed = store
        .create_promotion(&promo("Generated 5 TL off", "generated-5-off", Condition::none(), BenefitKind::Fixed(500)))
        .await?;

    // Orders, items, discounts, applicants — in batches, one transaction each.
    let k_items = plan.items_per_order.max(1);
    let n_orders = plan.order_items.div_ceil(k_items).max(1);
    let mut ids = [
        max_id(store, "orders").await?,
        max_id(store, "order_items").await?,
        max_id(store, "discount_items").await?,
        max_id(store, "benefit_applicants").await?,
        max_id(store, "condition_applicants").await?,
    ];
    let first_order = ids[0] + 1;
    let mut orders = Insert::new(
        "orders",
        "id, number, user_id, channel, status, currency, amount, discount_amount, amount_without_discount, \
         shipping_amount, shipping_free, created_at, modified_at",
    );
    let mut items = Insert::new(
        "order_items",
        "id, order_id, product_id, line_key, status, price, retail_price, tax_rate, price_list_id, stock_list_id, \
         net_amount, discount_amount, mapping_code, product_name, product_sku, created_at, modified_at",
    );
    let mut discounts = Insert::new(
        "discount_items",
        "id, order_id, name, amount, offer_type, session_offer_type, code, promotion_id, created_at, modified_at",
    );
    let mut benefits = Insert::new(
        "benefit_applicants",
        "id, discount_item_id, order_item_id, discount_share, created_at, modified_at",
    );
    let mut conditions =
        Insert::new("condition_applicants", "id, discount_item_id, order_item_id, created_at, modified_at");
    let mut progress = Progress {
        started: Instant::now(),
        last: Instant::now(),
        total: plan.order_items,
        tty: std::io::stderr().is_terminal(),
        quiet: plan.quiet,
    };
    let mut items_done = 0usize;
    let mut ledger_check = 0i64; // Σ shares − Σ amounts over everything written: must stay 0.
    let mut tx = store.begin().await?;
    for o in 0..n_orders {
        let order_id = ids[0] + 1;
        ids[0] += 1;
        let n_units = (plan.order_items - items_done).min(k_items);
        // An order every 20 s, from its id: numbers (time + id digits) stay unique when the
        // generator runs again on the same database.
        let created = EPOCH_2026 + order_id * 20_000_000;
        let status = match rng.below(100) {
            0..60 => 400,
            60..85 => 550,
            85..95 => 100,
            _ => 450,
        };
        let user = customer_ids[rng.below(customer_ids.len() as u64) as usize];
        // Units: lines of 1–3 units of one product.
        let mut units: Vec<(i64, usize, usize)> = Vec::with_capacity(n_units); // (item id, product index, line)
        let mut line = 0;
        while units.len() < n_units {
            let p = rng.below(catalogue.len() as u64) as usize;
            let q = (1 + rng.below(3) as usize).min(n_units - units.len());
            for _ in 0..q {
                ids[1] += 1;
                units.push((ids[1], p, line));
            }
            line += 1;
        }
        let prices: Vec<i64> = units.iter().map(|u| catalogue[u.1].3).collect();
        let gross: i64 = prices.iter().sum();
        let mut unit_discount = vec![0i64; n_units];
        let mut order_discounts: Vec<(i64, String, i64, i64, Vec<i64>, bool)> = Vec::new(); // (id, name, amount, promo, shares, condition)
        if rng.below(100) < 50 {
            let shares: Vec<i64> = prices.iter().map(|p| p / 10).collect();
            order_discounts.push((0, "Generated 10% off".into(), shares.iter().sum(), pct.id, shares, true));
        }
        if rng.below(100) < 20 && gross >= 2 * 500 {
            // 5.00 spread in proportion to price; the last unit takes the remainder so the
            // shares sum to the amount exactly.
            let mut shares: Vec<i64> = prices.iter().map(|p| 500 * p / gross).collect();
            let rest = 500 - shares.iter().sum::<i64>();
            if let Some(last) = shares.last_mut() {
                *last += rest;
            }
            order_discounts.push((0, "Generated 5 TL off".into(), 500, fixed.id, shares, false));
        }
        for d in &mut order_discounts {
            ids[2] += 1;
            d.0 = ids[2];
            ledger_check += d.4.iter().sum::<i64>() - d.2;
            for (i, s) in d.4.iter().enumerate() {
                unit_discount[i] += s;
            }
        }
        let discount: i64 = order_discounts.iter().map(|d| d.2).sum();
        orders.push(format!(
            "({order_id}, '{}{:04}', {user}, 'storefront', {status}, 'try', {}, {discount}, {gross}, 0, 0, {created}, {created})",
            created / 1000,
            order_id % 10_000,
            gross - discount
        ));
        for (i, (item_id, p, line)) in units.iter().enumerate() {
            let (pid, name, sku, price) = &catalogue[*p];
            let d = unit_discount[i];
            items.push(format!(
                "({item_id}, {order_id}, {pid}, '{order_id}-{line}', {status}, {price}, {}, 1800, {}, {stock_list}, {}, {d}, '{}', {}, {}, {created}, {created})",
                price + price / 5,
                price_list.id,
                price - d,
                rng.uuid(),
                lit(name),
                lit(sku)
            ));
        }
        for (did, name, amount, promo_id, shares, condition) in &order_discounts {
            discounts.push(format!(
                "({did}, {order_id}, {}, {amount}, 'site', 'site', NULL, {promo_id}, {created}, {created})",
                lit(name)
            ));
            for (i, s) in shares.iter().enumerate() {
                ids[3] += 1;
                benefits.push(format!("({}, {did}, {}, {s}, {created}, {created})", ids[3], units[i].0));
            }
            if *condition {
                for u in &units {
                    ids[4] += 1;
                    conditions.push(format!("({}, {did}, {}, {created}, {created})", ids[4], u.0));
                }
            }
        }
        items_done += n_units;
        if (o + 1) % ORDERS_PER_BATCH == 0 || o + 1 == n_orders {
            if pg {
                sqlx::raw_sql("SET LOCAL synchronous_commit TO off").execute(&mut *tx).await?;
            }
            for ins in [&mut orders, &mut items, &mut discounts, &mut benefits, &mut conditions] {
                ins.flush(&mut tx).await?;
            }
            tx.commit().await?;
            progress.tick(items_done, o + 1 == n_orders);
            tx = store.begin().await?;
        }
    }
    drop(tx);
    anyhow::ensure!(ledger_check == 0, "generated discounts do not add up ({ledger_check})");
    let write_secs = progress.started.elapsed().as_secs_f64();

    // Sequences past the explicit ids, then statistics (and the visibility map, on
    // PostgreSQL) as a shop that has run for a while would have them.
    let tables = [
        "users",
        "products",
        "product_prices",
        "orders",
        "order_items",
        "discount_items",
        "benefit_applicants",
        "condition_applicants",
    ];
    if pg {
        for t in tables {
            sqlx::raw_sql(&format!(
                "SELECT setval(pg_get_serial_sequence('{t}', 'id'), GREATEST((SELECT MAX(id) FROM {t}), 1))"
            ))
            .execute(store.writer())
            .await?;
        }
        // The count deltas the triggers wrote, one row per statement and bucket, folded
        // into one per bucket: every list request reads them.
        for t in ["order_items", "orders", "discount_items"] {
            store.fold_list_counts(t).await?;
        }
        sqlx::raw_sql(&format!("VACUUM ANALYZE {}, list_counts", tables.join(", "))).execute(store.writer()).await?;
    } else {
        sqlx::raw_sql("ANALYZE").execute(store.writer()).await?;
    }
    let total_secs = started.elapsed().as_secs_f64();
    let rows = users.total
        + products.total
        + prices.total
        + orders.total
        + items.total
        + discounts.total
        + benefits.total
        + conditions.total;
    Ok(json!({
        "seed": plan.seed,
        "customers": customer_ids.len(),
        "products": catalogue.len(),
        "orders": orders.total,
        "order_items": items.total,
        "discount_items": discounts.total,
        "benefit_applicants": benefits.total,
        "condition_applicants": conditions.total,
        "rows": rows,
        "first_order_id": first_order,
        "last_order_id": ids[0],
        "middle_order_id": first_order + (ids[0] - first_order) / 2,
        "promotion_ids": [pct.id, fixed.id],
        "staff_username": staff_name,
        "staff_token": staff_token,
        "write_seconds": (write_secs * 10.0).round() / 10.0,
        "total_seconds": (total_secs * 10.0).round() / 10.0,
        "order_items_per_second": (items.total as f64 / write_secs.max(1e-3)).round(),
        "rows_per_second": (rows as f64 / write_secs.max(1e-3)).round(),
        "generated_at": now,
    }))
}
