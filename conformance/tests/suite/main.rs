//! Integration tests of the conformance crate, one module per topic.

mod cards;
mod catalogue;
mod decode;
mod flows;
mod pcsc;
mod reports;

use chrono::{NaiveDate, NaiveDateTime};

/// The clock the tests run at.
pub fn now() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 22)
        .and_then(|d| d.and_hms_opt(8, 15, 0))
        .expect("a valid date")
}
