//! The hub's file exchange end to end: storage on both backends, the mutual-TLS server with
//! real handshakes on 127.0.0.1, uploads and downloads, delivery to a simulated partner, the
//! client, and a crash. One module per topic.

mod crash;
mod delivery;
mod files;
mod harness;
mod replicas;
mod shutdown;
mod store;
mod tls;
pub(crate) use hub::on_both_backends;
