//! Reconciliation, discrepancies, resolution, disputes and the finance console. One module per
//! topic.

mod bench;
mod both;
mod console;
mod data;
mod mtls;
