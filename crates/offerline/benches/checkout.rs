//! Checkout throughput: orders per second through `POST /orders/checkout/`, against the real
//! server binary (built in the bench profile) on a fresh SQLite file and a fresh PostgreSQL
//! schema.
//!
//! ```sh
//! cargo bench -p offerline --bench checkout -- [--orders N] [--clients 1,8,32] [--db sqlite,postgres]
//! ```
//!
//! Workload (issue 4): a 10-line basket (10 products, 1–3 units each, 20 units), three live
//! site offers that all apply (a multibuy "3 al 2", 10 % over 100 TRY on four products, 5 TRY
//! off the basket), so every order writes 1 order, 20 order items, 3 discount items with their
//! benefit and condition applicants, usage counts, and empties the basket, in one
//! transaction.
//!
//! Per concurrency level the bench (1) creates N customers directly in the database (the
//! only shortcut: argon2-hashing thousands of passwords would dominate the setup and is not
//! what is measured) with an API token each, (2) fills each customer's basket over HTTP
//! (10 `POST /baskets/basket/`, measured and reported as basket writes/s), then (3) checks
//! out every basket with C concurrent clients, each taking the next customer, and reports
//! orders/s and checkout latency percentiles. A baseline measured in the same run, with the
//! same client and connections, is `GET /healthz`: the ratio orders/s ÷ healthz/s says how
//! much of the HTTP stack's ceiling one checkout costs, independent of how loaded the shared
//! machine is.
//!
//! Every checkout must answer 201; any other status stops the bench with the body.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use offerline_store::Store;
use serde_json::{Value, json};

struct Args {
    orders: usize,
    clients: Vec<usize>,
    dbs: Vec<String>,
}

fn parse_args() -> Args {
    let mut a = Args { orders: 2000, clients: vec![1, 8, 32], dbs: vec!["sqlite".into(), "postgres".into()] };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--orders" => a.orders = it.next().and_then(|v| v.parse().ok()).expect("--orders N"),
            "--clients" => {
                a.clients = it
                    .next()
                    .expect("--clients 1,8,32")
                    .split(',')
                    .map(|c| c.parse().expect("a number of clients"))
                    .collect()
            }
            "--db" => a.dbs = it.next().expect("--db sqlite,postgres").split(',').map(str::to_owned).collect(),
            // cargo bench passes --bench; ignore what we do not know.
            _ => {}
        }
    }
    a
}

fn pg_admin_url() -> String {
    std::env::var("OFFERLINE_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn start(database_url: &str) -> Server {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_offerline"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("OFFERLINE_DATABASE_URL", database_url)
        .env("OFFERLINE_LOG", std::env::var("OFFERLINE_BENCH_LOG").unwrap_or_else(|_| "warn".into()))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn offerline");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let base = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(url) = line.strip_prefix("offerline listening on ") {
                    break url.trim().to_owned();
                }
            }
            _ => panic!("offerline exited before listening"),
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server { child, base }
}

struct Ctx {
    http: reqwest::Client,
    base: String,
}

impl Ctx {
    async fn call(&self, method: reqwest::Method, path: &str, token: &str, body: Option<&Value>) -> (u16, Value) {
        let mut rq =
            self.http.request(method, format!("{}{path}", self.base)).header("Authorization", format!("Token {token}"));
        if let Some(b) = body {
            rq = rq.json(b);
        }
        let resp = rq.send().await.expect("request");
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.expect("body");
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}

/// Tokens the bench issues live a day (microseconds).
const TOKEN_TTL: i64 = 86_400_000_000;

/// Creates `n` customers with an API token each, straight through the store.
async fn customers(store: &Store, n: usize, tag: &str) -> Vec<String> {
    let hash = offerline_store::auth::hash_password("bench-password");
    let mut tokens = Vec::with_capacity(n);
    for i in 0..n {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, email, password_hash, is_staff, is_active, date_joined) \
             VALUES ($1, $2, $3, 0, 1, 0) RETURNING id",
        )
        .bind(format!("bench-{tag}-{i}"))
        .bind(format!("bench-{tag}-{i}@example.com"))
        .bind(&hash)
        .fetch_one(store.writer())
        .await
        .expect("insert customer");
        tokens.push(store.issue_token(id, TOKEN_TTL).await.expect("token"));
    }
    tokens
}

/// Runs `n` jobs with `clients` concurrent workers; returns the per-job latencies and the
/// elapsed time.
async fn drive<F, Fut>(n: usize, clients: usize, job: F) -> (Vec<Duration>, Duration)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let t0 = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..clients {
        let (next, job) = (next.clone(), job.clone());
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break lat;
                }
                let t = Instant::now();
                job(i).await;
                lat.push(t.elapsed());
            }
        }));
    }
    let mut all = Vec::with_capacity(n);
    for h in handles {
        all.extend(h.await.expect("worker"));
    }
    let elapsed = t0.elapsed();
    all.sort_unstable();
    (all, elapsed)
}

/// The server's peak resident set so far (VmHWM), in MiB; 0 where /proc is not there.
fn peak_rss_mib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// CPU time (user + system) a process has used so far, in milliseconds; 0 where /proc is
/// not there. Per order, it says what a checkout costs whatever else the machine is doing.
fn cpu_ms(pid: &str) -> f64 {
    let ticks = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|s| {
        // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
        let rest = s.rsplit_once(')')?.1;
        let f: Vec<&str> = rest.split_whitespace().collect();
        Some(f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?)
    });
    // Linux reports in USER_HZ, 100 per second on every platform it runs on.
    ticks.map_or(0.0, |t| t * 10.0)
}

fn pct(lat: &[Duration], q: f64) -> f64 {
    lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1))).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

async fn run_db(label: &str, database_url: &str, args: &Args) {
    let server = start(database_url);
    let store = Store::open(database_url).await.expect("open store");
    let staff_id: i64 = sqlx::query_scalar(
        "INSERT INTO users (username, email, password_hash, is_staff, is_active, date_joined) \
         VALUES ('bench-staff', '', 'x', 1, 1, 0) RETURNING id",
    )
    .fetch_one(store.writer())
    .await
    .expect("staff");
    let staff = store.issue_token(staff_id, TOKEN_TTL).await.expect("staff token");
    let ctx = Arc::new(Ctx {
        http: reqwest::Client::builder().pool_max_idle_per_host(64).build().expect("client"),
        base: server.base.clone(),
    });
    let mut products = Vec::new();
    for i in 0..10 {
        let (st, p) = ctx
            .call(
                reqwest::Method::POST,
                "/api/v1/products/",
                &staff,
                Some(&json!({"name": format!("Bench {i}"), "sku": format!("BENCH-{i}")})),
            )
            .await;
        assert_eq!(st, 201, "product: {p}");
        let pk = p["pk"].as_i64().expect("pk");
        let price = format!("{}.90", 19 + 10 * i);
        let (st, b) = ctx
            .call(
                reqwest::Method::POST,
                "/api/v1/product_prices/",
                &staff,
                Some(&json!({"product": pk, "price": price})),
            )
            .await;
        assert_eq!(st, 201, "price: {b}");
        products.push(pk);
    }
    let offers = [
        json!({"name": "3 al 2", "offer_type": "site", "currency": "try", "exclusive": false,
               "condition": {"type": "count", "value": 3, "range": {"products": &products[..3]}},
               "benefit": {"type": "multibuy", "value": null, "range": {"products": &products[..3]}}}),
        json!({"name": "10% off", "offer_type": "site", "currency": "try", "exclusive": false,
               "condition": {"type": "amount", "value": "100.00", "range": {"all": true}},
               "benefit": {"type": "percentage", "value": "10", "range": {"products": &products[3..7]}}}),
        json!({"name": "5 TL off", "offer_type": "site", "currency": "try", "exclusive": false,
               "condition": {"type": "none", "value": null},
               "benefit": {"type": "fixed", "value": "5.00", "range": {"all": true}}}),
    ];
    for o in &offers {
        let (st, b) = ctx.call(reqwest::Method::POST, "/api/v1/promotions/", &staff, Some(o)).await;
        assert_eq!(st, 201, "offer: {b}");
    }
    let products = Arc::new(products);

    for &clients in &args.clients {
        let tokens = Arc::new(customers(&store, args.orders, &format!("c{clients}")).await);

        // Baseline in the same run: the HTTP ceiling with the same client and concurrency.
        let c2 = ctx.clone();
        let (_, hz_el) = drive(args.orders * 4, clients, move |_| {
            let c = c2.clone();
            async move {
                let r = c.http.get(format!("{}/healthz", c.base)).send().await.expect("healthz");
                assert!(r.status().is_success());
                r.bytes().await.expect("body");
            }
        })
        .await;
        let healthz = (args.orders * 4) as f64 / hz_el.as_secs_f64();

        eprintln!("{label}: {clients} clients: filling {} baskets", args.orders);
        let (c2, t2, p2) = (ctx.clone(), tokens.clone(), products.clone());
        let (_, fill_el) = drive(args.orders, clients, move |i| {
            let (c, t, p) = (c2.clone(), t2.clone(), p2.clone());
            async move {
                for (k, pk) in p.iter().enumerate() {
                    let body = json!({"product": pk, "quantity": 1 + k % 3});
                    let (st, b) = c.call(reqwest::Method::POST, "/baskets/basket/", &t[i], Some(&body)).await;
                    assert!(st == 200 || st == 201, "basket add: {st} {b}");
                }
            }
        })
        .await;
        let fills = (args.orders * products.len()) as f64 / fill_el.as_secs_f64();

        eprintln!("{label}: {clients} clients: checking out {} baskets", args.orders);
        let (c2, t2) = (ctx.clone(), tokens.clone());
        let server_pid = server.child.id().to_string();
        let (server_cpu, own_cpu) = (cpu_ms(&server_pid), cpu_ms("self"));
        let (lat, el) = drive(args.orders, clients, move |i| {
            let (c, t) = (c2.clone(), t2.clone());
            async move {
                let (st, b) = c.call(reqwest::Method::POST, "/orders/checkout/", &t[i], Some(&json!({}))).await;
                assert_eq!(st, 201, "checkout: {b}");
                assert_eq!(b["order"]["discountitem_set"].as_array().map(Vec::len), Some(3), "three offers apply: {b}");
            }
        })
        .await;
        let orders = args.orders as f64 / el.as_secs_f64();
        let per_order = |before: f64, pid: &str| (cpu_ms(pid) - before) / args.orders as f64;
        println!(
            "{label:<10} clients={clients} orders={} orders/s={orders:.0} p50={:.2}ms p99={:.2}ms \
             healthz/s={healthz:.0} ratio={:.3} basket-writes/s={fills:.0} server-cpu/order={:.2}ms \
             client-cpu/order={:.2}ms server-peak-rss={}MiB",
            args.orders,
            pct(&lat, 0.5),
            pct(&lat, 0.99),
            orders / healthz,
            per_order(server_cpu, &server_pid),
            per_order(own_cpu, "self"),
            peak_rss_mib(server.child.id()),
        );
    }
    store.close().await;
    drop(server);
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    for db in &args.dbs {
        match db.as_str() {
            "sqlite" => {
                let dir = std::env::temp_dir().join(format!("offerline-bench-{}", std::process::id()));
                std::fs::create_dir_all(&dir).expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
                run_db("sqlite", &url, &args).await;
                std::fs::remove_dir_all(&dir).ok();
            }
            "postgres" => {
                let admin = pg_admin_url();
                let schema = format!("bench_{}", std::process::id());
                let pool = sqlx::PgPool::connect(&admin).await.expect("PostgreSQL is required for this bench");
                sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&pool).await.expect("schema");
                let sep = if admin.contains('?') { '&' } else { '?' };
                let url = format!("{admin}{sep}options=-csearch_path%3D{schema}");
                run_db("postgres", &url, &args).await;
                sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&pool).await.ok();
            }
            other => panic!("unknown database {other:?} (sqlite, postgres)"),
        }
    }
}
