//! The `offerline` binary: `serve`, `migrate`, `demo`, `generate`, `user create`, `client create`.
//!
//! Configuration comes from the environment (`OFFERLINE_ADDR`, `OFFERLINE_DATABASE_URL`,
//! `OFFERLINE_LOG`, `OFFERLINE_LOG_FORMAT`, the lifetimes and rates of [`PolicyArgs`], and the
//! server's bounds `OFFERLINE_MAX_REQUESTS`, `OFFERLINE_REQUEST_TIMEOUT`,
//! `OFFERLINE_HEADER_TIMEOUT`), and every variable but the log's has a flag that mirrors it.
//!
//! Every command goes through the application (`offerline_app`) except `generate`, which
//! bulk-writes rows through the store directly ([`generate`]).

mod demo;
mod generate;
mod price;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use offerline_api::http::limits::{self, Limits};
use offerline_app::App;
use offerline_app::identity::{self, NewUser};
use offerline_app::policy::{Policy, TokenRates, parse_duration};
use offerline_store::Store;

#[derive(Parser)]
#[command(name = "offerline", version, about = "Orders and promotions with an exact discount ledger.")]
struct Cli {
    /// Database URL: sqlite://FILE?mode=rwc (the default, in the working directory) or postgres://…
    #[arg(long, env = "OFFERLINE_DATABASE_URL", default_value = offerline_app::ops::DEFAULT_URL, global = true)]
    database_url: String,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(subcommand)]
    command: Command,
}

/// Lifetimes of what a client is handed, the purge of what expired, and the access-token
/// rates (`offerline_app::policy`; docs/RELIABILITY.md has the figures). Durations read
/// `14d`, `24h`, `90m`, `30s`.
#[derive(clap::Args)]
struct PolicyArgs {
    /// Lifetime of an API token (staff and storefront logins, `user create --token`).
    #[arg(long, env = "OFFERLINE_TOKEN_TTL", default_value = "14d", value_parser = parse_duration, global = true)]
    token_ttl: std::time::Duration,
    /// Lifetime of a storefront session (the osessionid cookie).
    #[arg(long, env = "OFFERLINE_SESSION_TTL", default_value = "14d", value_parser = parse_duration, global = true)]
    session_ttl: std::time::Duration,
    /// Lifetime of an Elastic Path access token (its expires_in).
    #[arg(long, env = "OFFERLINE_CLIENT_TOKEN_TTL", default_value = "1h", value_parser = parse_duration, global = true)]
    client_token_ttl: std::time::Duration,
    /// How long a checkout's Idempotency-Key is remembered.
    #[arg(long, env = "OFFERLINE_IDEMPOTENCY_TTL", default_value = "24h", value_parser = parse_duration, global = true)]
    idempotency_ttl: std::time::Duration,
    /// How often expired tokens, sessions and idempotency keys are deleted.
    #[arg(long, env = "OFFERLINE_PURGE_EVERY", default_value = "10m", value_parser = parse_duration, global = true)]
    purge_every: std::time::Duration,
    /// Access tokens a caller address may ask for per minute (0: no limit).
    #[arg(long, env = "OFFERLINE_ACCESS_TOKENS_PER_PEER", default_value_t = 60, global = true)]
    access_tokens_per_peer: u32,
    /// Access tokens one client id may be given per minute (0: no limit).
    #[arg(long, env = "OFFERLINE_ACCESS_TOKENS_PER_CLIENT", default_value_t = 600, global = true)]
    access_tokens_per_client: u32,
}

impl PolicyArgs {
    fn policy(&self) -> Policy {
        Policy {
            token_ttl: self.token_ttl,
            session_ttl: self.session_ttl,
            client_token_ttl: self.client_token_ttl,
            idempotency_ttl: self.idempotency_ttl,
            purge_every: self.purge_every,
            token_rates: TokenRates {
                per_peer: self.access_tokens_per_peer,
                per_client: self.access_tokens_per_client,
            },
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations and serve HTTP until SIGINT/SIGTERM.
    Serve {
        /// Address to listen on (port 0 picks a free port; the chosen address is printed).
        #[arg(long, env = "OFFERLINE_ADDR", default_value = "127.0.0.1:8000")]
        addr: String,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Apply pending migrations and exit.
    Migrate,
    /// Migrate, load the demo catalogue, promotions and orders, and print a curl tour.
    Demo {
        /// Also serve on this address after loading (what the README's first command does).
        #[arg(long)]
        serve: Option<String>,
    },
    /// Migrate and generate a large deterministic ledger (customers, products, orders, order
    /// items, discount items and applicants) for benchmarks; prints progress to stderr and a
    /// JSON summary (counts, a middle order id, a staff token) to stdout.
    Generate {
        /// Total order items (one per unit) to write.
        #[arg(long, default_value_t = 100_000)]
        order_items: usize,
        /// Order items per order (the last order takes the remainder).
        #[arg(long, default_value_t = 10)]
        items_per_order: usize,
        #[arg(long, default_value_t = 1_000)]
        customers: usize,
        #[arg(long, default_value_t = 500)]
        products: usize,
        /// Seed of the generator: the same seed writes the same rows.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// No progress line.
        #[arg(long)]
        quiet: bool,
    },
    /// Price a basket against promotions in process (no server, no database) and print the
    /// simulate answer, or with --repeat the time per basket (to compare engines).
    Price {
        /// A JSON list of promotion bodies as POST /api/v1/promotions/ takes them.
        #[arg(long)]
        promotions: std::path::PathBuf,
        /// A JSON basket: {"currency", "lines": [{"sku", "quantity", "unit_price"}], "voucher_codes"}.
        #[arg(long)]
        basket: std::path::PathBuf,
        /// Price it this many times and print the time per basket instead of the answer.
        #[arg(long)]
        repeat: Option<u32>,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage Elastic Path API clients.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
}

/// What one client can hold of the server (`offerline_api::http::limits`; README, "Configuration").
#[derive(clap::Args)]
struct LimitArgs {
    /// Most requests handled at once; more are answered 503 at once (/healthz is exempt).
    #[arg(long, env = "OFFERLINE_MAX_REQUESTS", default_value_t = limits::DEFAULT_MAX_REQUESTS as u32,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_requests: u32,
    /// Seconds a request may take, body included, before it is answered 503.
    #[arg(long, env = "OFFERLINE_REQUEST_TIMEOUT", default_value = "30", value_parser = seconds)]
    request_timeout: Duration,
    /// Seconds a connection may take to send a request's headers (also how long an idle
    /// kept-alive connection stays open); past it the connection is closed.
    #[arg(long, env = "OFFERLINE_HEADER_TIMEOUT", default_value = "20", value_parser = seconds)]
    header_timeout: Duration,
}

impl LimitArgs {
    fn limits(&self) -> Limits {
        Limits {
            max_requests: self.max_requests as usize,
            request_timeout: self.request_timeout,
            header_timeout: self.header_timeout,
        }
    }
}

/// A number of seconds (`30`, `0.5`), more than 0 and at most a day.
fn seconds(s: &str) -> Result<Duration, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 86_400.0 => Ok(Duration::from_secs_f64(v)),
        _ => Err(format!("expected a number of seconds between 0 and 86400, got {s:?}")),
    }
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user (a customer unless --staff); prints the user as JSON.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: String,
        /// The e-mail a customer logs in to the storefront with.
        #[arg(long, default_value = "")]
        email: String,
        #[arg(long)]
        staff: bool,
        /// Also issue an API token and print it.
        #[arg(long)]
        token: bool,
    },
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Create an API client; prints {"client_id", "client_secret"} (the secret is shown only now).
    Create {
        #[arg(long)]
        name: String,
    },
}

fn init_logging(bulk: bool) {
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("OFFERLINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    if bulk {
        // `generate` sends statements of thousands of rows that take over a second on a busy
        // machine by design; sqlx's slow-statement warning would print each one in full.
        if let Ok(d) = "sqlx::query=error".parse() {
            filter = filter.add_directive(d);
        }
    }
    let json = std::env::var("OFFERLINE_LOG_FORMAT").is_ok_and(|v| v == "json");
    // Colour codes only for a person at a terminal: in a file, a pipe or a log collector
    // they are noise around every field.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: draining in-flight requests");
}

pub(crate) async fn serve(app: App, addr: &str, limits: Limits) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr()?;
    let state = offerline_api::state_with_limits(app, limits);
    // The test harness and scripts read this line to find the port.
    println!("offerline listening on http://{local}");
    tracing::info!(%local, "serving");
    offerline_api::serve(listener, state, shutdown_signal()).await?;
    Ok(())
}

/// mimalloc instead of glibc's malloc: a request allocates many small short-lived objects on
/// several threads (JSON values, rows, strings), where glibc's arenas spent a quarter of the
/// checkout path's CPU (docs/PERFORMANCE.md § Checkout).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A failed command prints one line, `error: ` and its causes joined by `: `, and exits
/// with 1: an operator needs what failed and why, not anyhow's multi-line report.
#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(matches!(cli.command, Command::Generate { .. }));
    match run(&cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e, &cli.database_url));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line; a cause its parent already quotes is left out, and
/// the database password never appears, even where a driver quotes the URL.
fn one_line(e: &anyhow::Error, url: &str) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string().split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    match offerline_app::ops::url_password(url) {
        Some(password) => line.replace(password, "***"),
        None => line,
    }
}

async fn run(cli: &Cli) -> anyhow::Result<()> {
    let url = &cli.database_url;
    let opening = || format!("opening database {}", offerline_app::ops::redact_url(url));
    let policy = cli.policy.policy();
    let open = || async { App::open_with(url, policy).await.with_context(opening) };
    match &cli.command {
        Command::Serve { addr, limits } => serve(open().await?, addr, limits.limits()).await,
        Command::Price { promotions, basket, repeat } => price::run(promotions, basket, *repeat),
        Command::Migrate => {
            offerline_app::ops::migrate(url).await.with_context(opening)?;
            eprintln!("migrations applied to {}", offerline_app::ops::redact_url(url));
            Ok(())
        }
        Command::Demo { serve: addr } => {
            let app = open().await?;
            let addr_for_tour = addr.clone().unwrap_or_else(|| "127.0.0.1:8000".into());
            demo::load(&app, &addr_for_tour).await?;
            match addr {
                Some(a) => serve(app, a, Limits::default()).await,
                None => Ok(()),
            }
        }
        Command::Generate { order_items, items_per_order, customers, products, seed, quiet } => {
            let store = Store::open(url).await.with_context(opening)?;
            let plan = generate::Plan {
                customers: *customers,
                products: *products,
                order_items: *order_items,
                items_per_order: *items_per_order,
                seed: *seed,
                quiet: *quiet,
            };
            let summary = generate::run(&store, &plan).await.context("generating")?;
            println!("{summary}");
            Ok(())
        }
        Command::User { command: UserCommand::Create { username, password, email, staff, token } } => {
            let app = open().await?;
            let u = identity::create_user(
                &app,
                NewUser { username, password, email, first_name: "", last_name: "", is_staff: *staff },
            )
            .await
            .context("creating user")?;
            let mut out =
                serde_json::json!({ "pk": u.id, "username": u.username, "email": u.email, "is_staff": u.is_staff });
            if *token {
                out["token"] = serde_json::Value::String(identity::issue_token(&app, u.id).await?);
            }
            println!("{out}");
            Ok(())
        }
        Command::Client { command: ClientCommand::Create { name } } => {
            let app = open().await?;
            let (c, secret) = identity::create_client(&app, name).await?;
            println!("{}", serde_json::json!({ "client_id": c.client_id, "client_secret": secret }));
            Ok(())
        }
    }
}
