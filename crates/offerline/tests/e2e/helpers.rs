//! The harness: start the real server on a free port with its own database, call it, stop it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use offerline_store::Store;
use serde_json::Value;
use sqlx::Row;

/// Where PostgreSQL is (trust auth). Overridable for other machines.
pub fn pg_admin_url() -> String {
    std::env::var("OFFERLINE_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Runs a test body once per database engine: `both!(name)` expects `async fn name(db: Db)`.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { super::$name($crate::helpers::Db::Sqlite).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { super::$name($crate::helpers::Db::Postgres).await }
        }
    )*};
}

/// A fresh database loaded by `offerline demo`: (url, dir, schema, the demo's printed tour,
/// which holds the staff and customer tokens and the ids of the orders it placed).
pub async fn demo_database(db: Db) -> (String, Option<PathBuf>, Option<String>, String) {
    let (url, dir, schema) = fresh_database(db).await;
    let out = Command::new(env!("CARGO_BIN_EXE_offerline"))
        .arg("demo")
        .env("OFFERLINE_DATABASE_URL", &url)
        .env("OFFERLINE_LOG", "warn")
        .output()
        .expect("run offerline demo");
    assert!(out.status.success(), "demo failed: {}", String::from_utf8_lossy(&out.stderr));
    (url, dir, schema, String::from_utf8(out.stdout).expect("utf-8"))
}

/// A fresh demo database (removed when the first value is dropped) and the store over it, for
/// a test that asks the store or the database directly.
pub async fn demo_store(db: Db) -> (Scratch, Store) {
    let (url, dir, schema, _tour) = demo_database(db).await;
    let scratch = Scratch { dir, schema };
    let store = Store::connect(&url).await.expect("store");
    (scratch, store)
}

/// The integer `sql` reads, as the store's readers see it.
pub async fn scalar(store: &Store, sql: &str) -> i64 {
    sqlx::query(sql).fetch_one(store.reader()).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

pub struct Server {
    pub base: String,
    pub db: Db,
    pub database_url: String,
    child: Child,
    dir: Option<PathBuf>,
    schema: Option<String>,
    pub http: reqwest::Client,
    log: Option<PathBuf>,
}

/// Spawns `offerline serve` on a free port; returns the child and its base URL. With `log`,
/// runs at that log level and sends stderr to that file.
fn spawn(database_url: &str, log: Option<(&str, &PathBuf)>) -> (Child, String) {
    spawn_with(database_url, log, &[])
}

/// [`spawn`] with extra environment variables (the server's settings).
fn spawn_with(database_url: &str, log: Option<(&str, &PathBuf)>, env: &[(&str, &str)]) -> (Child, String) {
    let level = match log {
        Some((level, _)) => level.to_owned(),
        None => std::env::var("OFFERLINE_TEST_LOG").unwrap_or_else(|_| "warn".into()),
    };
    let stderr = match log {
        Some((_, path)) => Stdio::from(std::fs::File::create(path).expect("log file")),
        None => Stdio::inherit(),
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_offerline"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("OFFERLINE_DATABASE_URL", database_url)
        .env("OFFERLINE_LOG", level)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("spawn offerline");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(url) = line.strip_prefix("offerline listening on ") {
                    break url.trim().to_owned();
                }
            }
            _ => panic!("offerline exited before listening (database {database_url})"),
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, base)
}

/// Whether the long variants run (`OFFERLINE_LONG_TESTS=1`).
pub fn long_tests() -> bool {
    std::env::var("OFFERLINE_LONG_TESTS").is_ok_and(|v| v == "1")
}

fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_owned()
}

/// A fresh database URL for one test.
pub async fn fresh_database(db: Db) -> (String, Option<PathBuf>, Option<String>) {
    match db {
        Db::Sqlite => {
            let dir = std::env::temp_dir().join(format!("offerline-test-{}", unique()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            (format!("sqlite://{}?mode=rwc", dir.join("offerline.db").display()), Some(dir), None)
        }
        Db::Postgres => {
            let admin = pg_admin_url();
            let schema = format!("t_{}", unique());
            let mut conn = None;
            for _ in 0..20 {
                match <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await {
                    Ok(c) => {
                        conn = Some(c);
                        break;
                    }
                    Err(e) if e.to_string().contains("too many") => {
                        tokio::time::sleep(Duration::from_millis(250)).await
                    }
                    Err(e) => panic!("PostgreSQL is unreachable at {admin}: {e}. The suite needs it (it never skips)."),
                }
            }
            let mut conn = conn.expect("PostgreSQL connection");
            sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut conn).await.expect("create schema");
            let sep = if admin.contains('?') { '&' } else { '?' };
            (format!("{admin}{sep}options=-csearch_path%3D{schema}"), None, Some(schema))
        }
    }
}

impl Server {
    pub async fn start(db: Db) -> Server {
        let (database_url, dir, schema) = fresh_database(db).await;
        Self::start_on(db, database_url, dir, schema)
    }

    /// Starts the binary on an existing database (used by restart tests too).
    pub fn start_on(db: Db, database_url: String, dir: Option<PathBuf>, schema: Option<String>) -> Server {
        let (child, base) = spawn(&database_url, None);
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
        Server { base, db, database_url, child, dir, schema, http, log: None }
    }

    /// Starts a server on a fresh database with these environment variables set (limits, …).
    pub async fn start_with_env(db: Db, env: &[(&str, &str)]) -> Server {
        let (database_url, dir, schema) = fresh_database(db).await;
        let (child, base) = spawn_with(&database_url, None, env);
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
        Server { base, db, database_url, child, dir, schema, http, log: None }
    }

    /// Starts a server on a fresh database with `OFFERLINE_LOG=level`, its stderr (where the
    /// log goes) captured to a file that [`Server::logs`] reads.
    pub async fn start_logged(db: Db, level: &str) -> Server {
        let (database_url, dir, schema) = fresh_database(db).await;
        let log = std::env::temp_dir().join(format!("offerline-log-{}.txt", unique()));
        let (child, base) = spawn(&database_url, Some((level, &log)));
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
        Server { base, db, database_url, child, dir, schema, http, log: Some(log) }
    }

    /// [`Server::start_logged`] with extra environment variables (the server's settings:
    /// lifetimes, rates).
    pub async fn start_logged_with(db: Db, level: &str, env: &[(&str, &str)]) -> Server {
        let (database_url, dir, schema) = fresh_database(db).await;
        let log = std::env::temp_dir().join(format!("offerline-log-{}.txt", unique()));
        let (child, base) = spawn_with(&database_url, Some((level, &log)), env);
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
        Server { base, db, database_url, child, dir, schema, http, log: Some(log) }
    }

    /// Everything the server has logged so far (only for [`Server::start_logged`]).
    pub fn logs(&self) -> String {
        self.log.as_ref().map(|p| std::fs::read_to_string(p).unwrap_or_default()).unwrap_or_default()
    }

    /// SIGKILLs the process and starts a new one on the same database (a crash and a
    /// restart); `base` changes (a new free port).
    pub fn restart(&mut self) {
        self.kill();
        let (child, base) = spawn(&self.database_url, None);
        self.child = child;
        self.base = base;
    }

    /// The process id, for tests that signal it themselves.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Creates `n` customers straight in the database (no argon2 per user: their password
    /// is unusable) with one API token each; returns (pk, token). For tests that need
    /// hundreds of customers; [`Server::customer`] goes through the CLI.
    pub async fn customers(&self, n: usize) -> Vec<(i64, String)> {
        use sqlx::Row;
        let store = Store::connect(&self.database_url).await.expect("store");
        let mut out = Vec::with_capacity(n);
        let mut tx = store.begin().await.expect("begin");
        for _ in 0..n {
            let u = unique();
            let id: i64 = sqlx::query(
                "INSERT INTO users (username, email, password_hash, is_staff, is_active, date_joined) \
                 VALUES ($1, $2, '!', 0, 1, 0) RETURNING id",
            )
            .bind(format!("bulk-{u}"))
            .bind(format!("{u}@example.com"))
            .fetch_one(&mut *tx)
            .await
            .expect("insert user")
            .get(0);
            let token = offerline_store::auth::random_hex(20);
            sqlx::query("INSERT INTO api_tokens (user_id, token_hash, created_at, expires_at) VALUES ($1, $2, 0, $3)")
                .bind(id)
                .bind(offerline_store::auth::digest(&token))
                .bind(i64::MAX)
                .execute(&mut *tx)
                .await
                .expect("insert token");
            out.push((id, token));
        }
        tx.commit().await.expect("commit");
        store.close().await;
        out
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Runs an `offerline` subcommand against this server's database; returns stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_offerline"))
            .args(args)
            .env("OFFERLINE_DATABASE_URL", &self.database_url)
            .env("OFFERLINE_LOG", "warn")
            .output()
            .expect("run offerline");
        assert!(out.status.success(), "offerline {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// Creates a user through the CLI and returns (pk, token).
    pub fn user(&self, username: &str, email: &str, staff: bool) -> (i64, String) {
        let mut args =
            vec!["user", "create", "--username", username, "--password", "pw-123456", "--email", email, "--token"];
        if staff {
            args.push("--staff");
        }
        let v: Value = serde_json::from_str(self.cli(&args).trim()).expect("json");
        (v["pk"].as_i64().expect("pk"), v["token"].as_str().expect("token").to_owned())
    }

    pub fn staff(&self) -> String {
        self.user(&format!("staff-{}", unique()), "", true).1
    }

    pub fn customer(&self) -> (i64, String) {
        let u = unique();
        self.user(&format!("cust-{u}"), &format!("{u}@example.com"), false)
    }

    pub async fn send(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method.parse().expect("method"), self.url(path));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Token {t}"));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let v = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, v)
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.send("GET", path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.send("POST", path, Some(token), Some(body)).await
    }

    /// Stops the process (SIGKILL) and keeps the database, for restart tests.
    pub fn kill(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if let Some(log) = &self.log {
            std::fs::remove_file(log).ok();
        }
        remove_database(self.dir.take(), self.schema.take());
    }
}

/// A fresh database a test uses without a server ([`fresh_database`], [`demo_database`]):
/// removed when dropped.
pub struct Scratch {
    pub dir: Option<PathBuf>,
    pub schema: Option<String>,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        remove_database(self.dir.take(), self.schema.take());
    }
}

/// Removes a test's SQLite directory or PostgreSQL schema.
fn remove_database(dir: Option<PathBuf>, schema: Option<String>) {
    if let Some(dir) = dir {
        std::fs::remove_dir_all(dir).ok();
    }
    if let Some(schema) = schema {
        // Dropping needs async I/O; do it on a short-lived runtime of its own.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                if let Ok(mut c) = <sqlx::PgConnection as sqlx::Connection>::connect(&pg_admin_url()).await {
                    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut c).await.ok();
                }
            });
        })
        .join()
        .ok();
    }
}
