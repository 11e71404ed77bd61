//! Rebuilds the crate when a migration is added: `sqlx::migrate!` embeds the migrations
//! directory at compile time, and cargo does not otherwise know to look at it (sqlx's own
//! advice).

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
