//! Rebuild when a migration is added or changed: `sqlx::migrate!` embeds the migrations at
//! compile time and does not watch the folders itself.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
