//! Running the application: the database's migrations, readiness, the data generation
//! caches compare against ([`Changes`]: it moves on every write, here or in another
//! process once the watcher runs), starting that watcher, and closing down.

use std::sync::Arc;

use offerline_store::Store;
pub use offerline_store::changes::Changes;
pub use offerline_store::db::{DEFAULT_URL, redact_url, url_password};

use crate::error::AppResult;
use crate::handle::App;

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
