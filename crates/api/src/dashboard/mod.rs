//! The back office on the web (contract §9): server-rendered HTML under `/dashboard/` for the
//! people who run promotions and serve customers, on the same use cases as the JSON API.
//!
//! - [`session`]: login and logout; the staff session cookie and the per-session CSRF token
//!   every writing form carries ([`Session`], [`Write`]);
//! - [`promotions`]: the promotion list with status and usage, the create and edit form
//!   (read by the promotions API's own parser, so its messages are the API's), deactivate,
//!   the pricing preview, voucher codes in bulk and their CSV;
//! - [`orders`]: the order list, an order's ledger and cancellations, the cancel / refund
//!   action previewed before it is confirmed, the queue of customers' requests;
//! - [`reports`]: per-promotion totals over a period with a server-drawn SVG chart and CSV;
//! - [`page`]: the layout, the CSS (served from the binary), the error page.
//!
//! Pages work without JavaScript and load nothing from another host. Handlers parse the
//! form or query, call one use case of `offerline_app`, and render; the rules are the
//! application's. The routes are not in `/openapi.json` (they are pages, not an API).

pub mod orders;
pub mod page;
pub mod promotions;
pub mod reports;
pub mod session;

use axum::Router;
use axum::routing::{get, post};

pub use session::{Session, Write};

use crate::AppState;

/// Where the back office lives (the session cookie's path too).
pub const ROOT: &str = "/dashboard";

/// Every page of the back office. Paths are matched with the trailing slash trimmed (see
/// `normalize_path`), so `/dashboard/orders/` and `/dashboard/orders` are one page.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(session::home))
        .route("/dashboard/assets/dashboard.css", get(page::css))
        .route("/dashboard/login", get(session::login_form).post(session::login))
        .route("/dashboard/logout", post(session::logout))
        .route("/dashboard/promotions", get(promotions::list))
        .route("/dashboard/promotions/new", get(promotions::new_form).post(promotions::create))
        .route("/dashboard/promotions/{id}", get(promotions::edit_form).post(promotions::update))
        .route("/dashboard/promotions/{id}/deactivate", post(promotions::deactivate))
        .route("/dashboard/promotions/{id}/vouchers", post(promotions::generate_vouchers))
        .route("/dashboard/promotions/{id}/vouchers.csv", get(promotions::vouchers_csv))
        .route("/dashboard/preview", get(promotions::preview))
        .route("/dashboard/orders", get(orders::list))
        .route("/dashboard/orders/{id}", get(orders::detail))
        .route("/dashboard/orders/{id}/cancel", post(orders::cancel_preview))
        .route("/dashboard/orders/{id}/cancel/confirm", post(orders::cancel_confirm))
        .route("/dashboard/cancellations", get(orders::queue))
        .route("/dashboard/cancellations/{id}/approve", post(orders::approve))
        .route("/dashboard/cancellations/{id}/reject", post(orders::reject))
        .route("/dashboard/reports", get(reports::page))
        .route("/dashboard/reports/csv", get(reports::csv))
}
