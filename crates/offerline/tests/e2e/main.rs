//! End-to-end tests: each test starts the real `offerline` binary on a free port against its
//! own database — a fresh SQLite file, or a fresh PostgreSQL schema — and talks HTTP to it.
//! Every test runs on both engines (see [`both!`]). PostgreSQL being unreachable fails the
//! test; it never skips.

mod helpers;

mod auth;
mod cache;
mod catalog_read;
mod checkout;
mod connections;
mod dashboard;
mod durability;
mod elasticpath;
mod expiry;
mod first_minute;
mod foundation;
mod generate;
mod generated_client;
mod hostile;
mod ledger;
mod money;
mod nodes;
mod offers_more;
mod order_life;
mod promotions;
mod read_model;
mod references;
mod schema_fuzz;
mod writer_checks;
