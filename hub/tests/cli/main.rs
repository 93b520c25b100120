//! Whole-binary tests of the `hutong` command line, one module per subcommand.

mod card;
mod certs;
mod conformance;
mod crypto;
mod demo;
mod drill;
mod ingest;
mod operations;
mod participants;
mod pcsc;
mod simulate;

use std::process::{Command, Output};

/// Runs the built `hutong` binary with `args`.
pub fn hutong(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hutong"))
        .args(args)
        .output()
        .expect("the hutong binary runs")
}

/// `hutong init --data-dir DIR` (SQLite), which every storage command but `init`, `demo` and
/// `serve --init` needs first; panics unless it succeeds.
pub fn init_sqlite(dir: &std::path::Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_hutong"))
        .arg("init")
        .arg("--data-dir")
        .arg(dir)
        .env_remove("DATABASE_URL")
        .output()
        .expect("the hutong binary runs");
    assert!(
        out.status.success(),
        "hutong init: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Parses stdout as one JSON object.
pub fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON object")
}
