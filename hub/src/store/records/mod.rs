//! Accepted records and record-level rejections: how ingest stores a file's records, fast, in
//! the transaction that applies the file.
//!
//! # The natural key
//!
//! `records.natural_key` is the exact 28-byte encoding of [`NaturalKey`] made by
//! [`natural_key_bytes`] — never a hash, so two different keys never collide:
//!
//! | bytes | what |
//! |---|---|
//! | 0–5 | terminal (PSAM) number |
//! | 6–9 | terminal counter, big-endian |
//! | 10 | scheme: 1 local, 2 mohurd, 3 mot, 4 pboc |
//! | 11–12 | issuer code |
//! | 13–14 | issuer city code (the card's own) |
//! | 15–24 | card serial |
//! | 25–26 | card counter, big-endian |
//! | 27 | kind: 1 load, 2 unload, 3 cash withdrawal, 4 purchase, 5 composite purchase, 6 overdraft update, 7 other |
//!
//! The terminal comes first so that a file's inserts into the unique index stay local (a
//! terminal's counter only grows), where a card-first key would scatter every insert across
//! the whole index. On SQLite the key's parts (`scheme`, `issuer_code`, `city_code`,
//! `card_serial`, `kind`, `terminal`) are virtual columns computed from it.
//!
//! # The fast paths
//!
//! The parsing side encodes records for the backend ([`RecordEncoder`]) and sends them in
//! batches; [`store_batches`] writes them inside the ingest transaction:
//!
//! - **SQLite**: multi-row `INSERT … ON CONFLICT DO NOTHING` statements of
//!   [`SQLITE_ROWS_PER_INSERT`] rows (prepared once, cached), with repeated strings bound as
//!   shared `Arc<str>` so that binding allocates little. A statement that inserts fewer rows
//!   than it was given met duplicates of accepted records (`R03`); those rows are found by
//!   record number and rejected with the record they duplicate.
//! - **PostgreSQL**: the records stream straight into `records` with `COPY … FROM STDIN` (text
//!   format, encoded on the parsing thread) under a savepoint, and are spilled to an anonymous
//!   temporary file on the way. If the `COPY` meets a duplicate (the unique key refuses it),
//!   it is undone to the savepoint and the spill replayed into a staging table, from which
//!   one set-based `INSERT … SELECT … ORDER BY record_no ON CONFLICT DO NOTHING` keeps the
//!   first of each key and a join rejects the rest as `R03`. The rejections, spilled likewise,
//!   follow with a `COPY` of their own. The PostgreSQL `records` table has no foreign keys:
//!   their per-row triggers would halve the rate.

mod encode;
mod key;
mod read;
mod write;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use card_standards::{CanonicalTx, CardMedium, NaturalKey, Scheme, TxKind};
use chrono::NaiveDateTime;
use serde::Serialize;
use sqlx::FromRow;
use tokio::sync::mpsc;

use super::{Backend, Store, StoreError, StoreResult, Tx, on_db};

pub use encode::*;
pub use key::*;
pub use read::*;
pub use write::*;

/// What the hub could do with a record's TAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TacStatus {
    /// Verified with the issuer's master TAC key.
    Valid,
    /// The hub does not hold the issuer's keys: the issuer's side verifies it.
    Unverified,
    /// The record carries no TAC (M1 card, PBOC e-cash) or its kind has none.
    NotApplicable,
}

impl TacStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TacStatus::Valid => "valid",
            TacStatus::Unverified => "unverified",
            TacStatus::NotApplicable => "not_applicable",
        }
    }
}

/// A record-level rejection as ingest found it (before storage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRejection {
    /// The record's number in its file.
    pub record_no: u64,
    /// `R01`…`R07`.
    pub code: &'static str,
    /// The field named, as the file or the canonical record spells it.
    pub field: Option<String>,
    /// Why.
    pub reason: String,
    /// What the record was read as, where it could be read.
    pub key: Option<RejectedKey>,
    /// The record as it was in the file.
    pub raw: Option<String>,
}

/// The identifying facts of a rejected record that could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedKey {
    /// The card's scheme.
    pub scheme: Scheme,
    /// Issuer code, 4 hex digits.
    pub issuer_code: String,
    /// City code.
    pub city_code: String,
    /// Card serial, 20 hex digits.
    pub card_serial: String,
    /// Card counter (transactions only).
    pub card_seq: Option<i64>,
    /// Kind (transactions only).
    pub kind: Option<&'static str>,
    /// Terminal (transactions only).
    pub terminal: Option<String>,
    /// Terminal counter (transactions only).
    pub terminal_seq: Option<i64>,
    /// Amount (transactions only).
    pub amount_fen: Option<i64>,
    /// Balance before the transaction (transactions only): lets the card audit chain
    /// balances across a rejected record.
    pub balance_before_fen: Option<i64>,
    /// Transaction time, or a blacklist entry's effective time.
    pub tx_time: Option<NaiveDateTime>,
}

impl RejectedKey {
    /// The key of a transaction.
    pub fn of_tx(tx: &CanonicalTx) -> RejectedKey {
        RejectedKey {
            scheme: tx.scheme,
            issuer_code: tx.issuer.issuer_code.to_string(),
            city_code: tx.issuer.city_code.to_string(),
            card_serial: tx.card_serial.to_string(),
            card_seq: Some(i64::from(tx.card_seq)),
            kind: Some(tx.kind().as_str()),
            terminal: Some(tx.terminal.to_string()),
            terminal_seq: Some(i64::from(tx.terminal_seq)),
            amount_fen: Some(tx.amount_fen),
            balance_before_fen: Some(tx.balance_before_fen),
            tx_time: Some(tx.tx_time),
        }
    }
}

/// A blacklist entry accepted by ingest, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBlacklistEntry {
    /// Its number in its file.
    pub record_no: u64,
    /// The entry.
    pub entry: adapters::Entry,
    /// Whether it changed the card's state (and so is distributed).
    pub changed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_natural_key_encoding_is_exact_and_decodes_back() {
        let recs = adapters::sample::records(card_standards::CodeTables::builtin());
        for tx in &recs {
            let k = tx.natural_key();
            let b = natural_key_bytes(&k);
            assert_eq!(natural_key_from_bytes(&b), Some(k));
            assert_eq!(&b[0..6], tx.terminal.as_bytes());
            assert_eq!(b[10], scheme_code(tx.scheme));
        }
        let mut a = recs[0].clone();
        let mut b = recs[0].clone();
        a.card_seq = 1;
        b.card_seq = 256;
        assert_ne!(
            natural_key_bytes(&a.natural_key()),
            natural_key_bytes(&b.natural_key())
        );
    }

    #[test]
    fn copy_text_escapes_what_postgresql_would_misread() {
        let mut out = Vec::new();
        copy_text(&mut out, "a\tb\\c\nd\re");
        assert_eq!(out, b"a\\tb\\\\c\\nd\\re");
    }
}
