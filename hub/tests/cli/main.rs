//! Whole-binary tests of the `hutong` command line, one module per subcommand.

mod certs;
mod conformance;
mod crypto;
mod demo;
mod ingest;
mod participants;
mod simulate;

use std::process::{Command, Output};

/// Runs the built `hutong` binary with `args`.
pub fn hutong(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hutong"))
        .args(args)
        .output()
        .expect("the hutong binary runs")
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
