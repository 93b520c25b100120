//! The hub: the `hutong` binary's library. It owns everything that touches the outside world —
//! the command line, the HTTPS server, storage and delivery — and calls the pure crates
//! (`card-standards`, `adapters`, `reconciliation`, `certs`, `conformance`) for the rules.

pub mod clearing;
pub mod cli;
pub mod client;
pub mod config;
pub mod console;
pub mod datadir;
pub mod delivery;
pub mod demo;
pub mod disputes;
pub mod http;
pub mod ingest;
pub mod outbound;
pub mod reconcile;
pub mod scheduler;
pub mod seal;
pub mod server;
pub mod simulate;
pub mod store;
pub mod vault;
