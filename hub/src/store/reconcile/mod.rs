//! Reconciliation's tables: partners' result files and their lines, what the hub sent each
//! partner, the card audit's stream of records, discrepancies and resends.
//!
//! Matching runs in Rust over what these functions read (a partner's results for a day are a
//! few thousand to a few hundred thousand lines); the card audit streams the records of the
//! cards it checks, ordered by card, so memory holds one card's records at a time.
//!
//! | file | tables |
//! |---|---|
//! | `results.rs` | `result_files`, `result_lines` |
//! | `sent.rs` | what the hub sent (outbound packages), `resends` |
//! | `audit.rs` | the card audit's ordered stream of `records` and rejected events |
//! | `discrepancies.rs` | `discrepancies`: status, filters, updates |

mod audit;
mod discrepancies;
mod results;
mod sent;

use std::collections::BTreeSet;

use card_standards::{NaturalKey, TxKind};
use chrono::{NaiveDate, NaiveDateTime};
use futures_util::TryStreamExt;
use reconciliation::audit::CardEvent;
use serde::Serialize;

use super::time::day_text;
use super::{Db, Store, StoreError, StoreResult, Timestamp, Tx, on_db, on_tx};

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {detail}"))
}

fn parse_day(s: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| corrupt("day", e))
}

pub use audit::*;
pub use discrepancies::*;
pub use results::*;
pub use sent::*;
