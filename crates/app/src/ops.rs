//! Running the application: the database's migrations, readiness, the data generation
//! caches compare against ([`Changes`]: it moves on every write, here or in another
//! process once the watcher runs), starting that watcher, the periodic purge of what has
//! expired ([`purge`], [`start_purge`]), and closing down.

use std::sync::Arc;

use offerline_store::Store;
pub use offerline_store::changes::Changes;
pub use offerline_store::db::{DEFAULT_URL, redact_url, url_password};
use offerline_store::now_micros;
use offerline_store::purge::PurgeCutoffs;
pub use offerline_store::purge::Purged;

use crate::error::AppResult;
use crate::handle::App;
use crate::policy::micros;

/// Opens the database at `url`, applies pending migrations, and closes it.
pub async fn migrate(url: &str) -> AppResult<()> {
    let store = Store::open(url).await?;
    store.close().await;
    Ok(())
}

/// `Ok` when the database answers.
pub async fn ready(app: &App) -> AppResult<()> {
    Ok(app.store().ping().await?)
}

/// The data generation of this application's database.
pub fn changes(app: &App) -> &Arc<Changes> {
    app.store().changes()
}

/// Starts following other processes' commits (once; later calls do nothing): until then
/// [`Changes::snapshot`] is `None` and caches keyed by it are bypassed. The offer cache
/// follows the same generation.
pub fn watch(app: &App) {
    app.store().watch_changes();
}

/// Stops the watcher and closes the database's connections.
pub async fn close(app: &App) {
    app.store().close().await;
}

/// Deletes the API tokens, storefront sessions and access tokens that have expired (their
/// expiry was fixed when they were issued; a revoked token expired when it was revoked) and
/// the idempotency keys older than the policy's `idempotency_ttl`. Every node may run it:
/// a row deleted twice is deleted once.
pub async fn purge(app: &App) -> AppResult<Purged> {
    let now = now_micros();
    let at = PurgeCutoffs {
        now_micros: now,
        now_secs: now.div_euclid(1_000_000),
        idempotency_created_before: now.saturating_sub(micros(app.policy().idempotency_ttl)),
    };
    Ok(app.store().purge_expired(at).await?)
}

/// Runs [`purge`] now and then every `purge_every` of the policy, until the task is
/// aborted; each run that deleted something is logged at info with its counts (a failed
/// run at warn, and the next one tries again).
pub fn start_purge(app: &App) -> tokio::task::JoinHandle<()> {
    let app = app.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(app.policy().purge_every);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match purge(&app).await {
                Ok(p) if p.total() > 0 => tracing::info!(
                    api_tokens = p.api_tokens,
                    sessions = p.sessions,
                    client_tokens = p.client_tokens,
                    idempotency_keys = p.idempotency_keys,
                    "purged expired rows"
                ),
                Ok(_) => tracing::debug!("purge: nothing expired"),
                Err(e) => tracing::warn!(error = %e, "purge failed; retrying at the next interval"),
            }
        }
    })
}
