//! Rebuilds the crate when a migration is added: `sqlx::migrate!` embeds the folder's files at
//! compile time, and Cargo does not otherwise know that a new file in it changes the crate.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
