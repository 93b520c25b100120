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

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use card_standards::{CanonicalTx, CardMedium, NaturalKey, Scheme, TxKind};
use chrono::NaiveDateTime;
use serde::Serialize;
use sqlx::FromRow;
use tokio::sync::mpsc;

use super::{Backend, Store, StoreError, StoreResult, Tx, on_db};

/// The length of [`natural_key_bytes`].
pub const NATURAL_KEY_LEN: usize = 28;

/// Rows per multi-row `INSERT` on SQLite (24 values each, well under SQLite's 32 766 limit).
pub const SQLITE_ROWS_PER_INSERT: usize = 400;

/// The one-byte code of a scheme in the natural key.
pub fn scheme_code(s: Scheme) -> u8 {
    match s {
        Scheme::Local => 1,
        Scheme::Mohurd => 2,
        Scheme::Mot => 3,
        Scheme::Pboc => 4,
    }
}

/// The one-byte code of a kind in the natural key.
pub fn kind_code(k: TxKind) -> u8 {
    match k {
        TxKind::Load => 1,
        TxKind::Unload => 2,
        TxKind::CashWithdrawal => 3,
        TxKind::Purchase => 4,
        TxKind::CompositePurchase => 5,
        TxKind::OverdraftUpdate => 6,
        TxKind::Other => 7,
    }
}

fn scheme_of_code(c: u8) -> Option<Scheme> {
    Scheme::ALL.into_iter().find(|s| scheme_code(*s) == c)
}

fn kind_of_code(c: u8) -> TxKind {
    [
        TxKind::Load,
        TxKind::Unload,
        TxKind::CashWithdrawal,
        TxKind::Purchase,
        TxKind::CompositePurchase,
        TxKind::OverdraftUpdate,
    ]
    .into_iter()
    .find(|k| kind_code(*k) == c)
    .unwrap_or(TxKind::Other)
}

/// The exact 28-byte encoding of a natural key (see the module documentation).
pub fn natural_key_bytes(k: &NaturalKey) -> [u8; NATURAL_KEY_LEN] {
    let mut b = [0u8; NATURAL_KEY_LEN];
    b[0..6].copy_from_slice(k.terminal.as_bytes());
    b[6..10].copy_from_slice(&k.terminal_seq.to_be_bytes());
    b[10] = scheme_code(k.scheme);
    b[11..13].copy_from_slice(k.issuer.issuer_code.as_bytes());
    b[13..15].copy_from_slice(k.issuer.city_code.as_bytes());
    b[15..25].copy_from_slice(k.card_serial.as_bytes());
    b[25..27].copy_from_slice(&k.card_seq.to_be_bytes());
    b[27] = kind_code(k.kind);
    b
}

/// Decodes [`natural_key_bytes`]; `None` for bytes no key encodes to.
pub fn natural_key_from_bytes(b: &[u8]) -> Option<NaturalKey> {
    if b.len() != NATURAL_KEY_LEN {
        return None;
    }
    let arr = |r: std::ops::Range<usize>| b[r].to_vec();
    Some(NaturalKey {
        scheme: scheme_of_code(b[10])?,
        issuer: card_standards::IssuerId {
            issuer_code: card_standards::IssuerCode(arr(11..13).try_into().ok()?),
            city_code: card_standards::CityCode(arr(13..15).try_into().ok()?),
        },
        card_serial: card_standards::CardSerial(arr(15..25).try_into().ok()?),
        card_seq: u16::from_be_bytes([b[25], b[26]]),
        kind: kind_of_code(b[27]),
        terminal: card_standards::TerminalId(arr(0..6).try_into().ok()?),
        terminal_seq: u32::from_be_bytes([b[6], b[7], b[8], b[9]]),
    })
}

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

/// One batch of a file's outcome, encoded for the backend by [`RecordEncoder`].
#[derive(Debug, Default)]
pub struct Batch {
    sqlite: Vec<SqliteRow>,
    copy: Vec<u8>,
    copy_rejections: Vec<u8>,
    copy_rows: usize,
    rejections: Vec<NewRejection>,
    blacklist: Vec<NewBlacklistEntry>,
    candidates: u64,
    candidates_fen: i64,
}

impl Batch {
    /// Records (candidates and rejections) in the batch.
    pub fn len(&self) -> usize {
        self.sqlite.len() + self.copy_rows + self.rejections.len() + self.blacklist.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds an accepted blacklist entry.
    pub fn push_blacklist(&mut self, e: NewBlacklistEntry) {
        self.blacklist.push(e);
    }
}

#[derive(Debug)]
struct SqliteRow {
    record_no: i64,
    natural_key: [u8; NATURAL_KEY_LEN],
    card_type: Arc<str>,
    card_type_raw: Arc<str>,
    medium: Arc<str>,
    tx_type: i64,
    amount_fen: i64,
    balance_before_fen: i64,
    card_seq: i64,
    terminal_seq: i64,
    tx_time: String,
    key_version: i64,
    alg_id: i64,
    tac: Option<String>,
    auth_code: Option<String>,
    acquirer: Arc<str>,
    operator: Option<Arc<str>>,
    industry: Arc<str>,
    line: Option<Arc<str>>,
    station: Option<Arc<str>>,
    vehicle: Option<Arc<str>>,
    issuer_participant: Arc<str>,
    tac_status: Arc<str>,
}

/// Shares repeated strings (card types, industries, acquirers, routes…) between rows, so that
/// binding them does not allocate per row.
#[derive(Debug, Default)]
struct Interner(HashMap<Box<str>, Arc<str>>);

impl Interner {
    const MAX: usize = 65_536;

    fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.0.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        if self.0.len() < Interner::MAX {
            self.0.insert(Box::from(s), a.clone());
        }
        a
    }
}

/// Encodes a file's accepted records and rejections for the open backend, on the parsing
/// thread, and cuts them into batches.
#[derive(Debug)]
pub struct RecordEncoder {
    backend: Backend,
    copy: bool,
    file_id: i64,
    batch: Batch,
    strings: Interner,
    hex: String,
}

/// The columns of a rejection in `COPY` order (PostgreSQL).
const REJECTION_COPY_COLUMNS: &str = "file_id, record_no, code, field, reason, scheme, \
     issuer_code, city_code, card_serial, card_seq, kind, terminal, terminal_seq, amount_fen, \
     balance_before_fen, tx_time, raw";

/// The record columns both backends insert (SQLite computes the rest from the key).
const RECORD_COLUMNS_PG: &str = "record_no, natural_key, scheme, issuer_code, city_code, \
     card_serial, card_type, card_type_raw, medium, tx_type, kind, amount_fen, \
     balance_before_fen, card_seq, terminal, terminal_seq, tx_time, key_version, alg_id, tac, \
     auth_code, acquirer, operator, industry, line, station, vehicle, issuer_participant, \
     tac_status";

const SQLITE_INSERT_COLUMNS: &str = "file_id, record_no, natural_key, card_type, card_type_raw, \
     medium, tx_type, amount_fen, balance_before_fen, card_seq, terminal_seq, tx_time, \
     key_version, alg_id, tac, auth_code, acquirer, operator, industry, line, station, vehicle, \
     issuer_participant, tac_status";

const SQLITE_VALUES_PER_ROW: usize = 24;

fn medium_str(m: CardMedium) -> &'static str {
    match m {
        CardMedium::Cpu => "cpu",
        CardMedium::MifareClassic => "m1",
    }
}

/// `tx_time` as both backends store it in text: `YYYY-MM-DD HH:MM:SS`.
fn time_text(t: NaiveDateTime, out: &mut String) {
    let _ = write!(out, "{}", t.format("%Y-%m-%d %H:%M:%S"));
}

/// Appends a value to a `COPY … (FORMAT text)` line, escaped.
fn copy_text(out: &mut Vec<u8>, s: &str) {
    for &b in s.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

fn copy_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => copy_text(out, s),
        None => out.extend_from_slice(b"\\N"),
    }
}

fn copy_num(out: &mut Vec<u8>, n: i64) {
    let _ = write!(VecWriter(out), "{n}");
}

struct VecWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

impl RecordEncoder {
    /// An encoder for `backend` and the file `file_id`; `transactions` false for a blacklist
    /// file (whose entries and rejections are few and go in with plain inserts on both
    /// backends).
    pub fn new(backend: Backend, transactions: bool, file_id: i64) -> RecordEncoder {
        RecordEncoder {
            backend,
            copy: backend == Backend::Postgres && transactions,
            file_id,
            batch: Batch::default(),
            strings: Interner::default(),
            hex: String::new(),
        }
    }

    /// Records and rejections waiting in the current batch.
    pub fn pending(&self) -> usize {
        self.batch.len()
    }

    /// Takes the current batch.
    pub fn take(&mut self) -> Batch {
        std::mem::take(&mut self.batch)
    }

    /// Adds a record that passed every check but the duplicate check (done by the database).
    pub fn accepted(
        &mut self,
        record_no: u64,
        tx: &CanonicalTx,
        issuer_participant: &str,
        tac_status: TacStatus,
    ) {
        let nk = natural_key_bytes(&tx.natural_key());
        self.batch.candidates += 1;
        self.batch.candidates_fen += tx.amount_fen;
        let a = &tx.acceptance;
        match self.backend {
            Backend::Sqlite => {
                let mut tx_time = String::with_capacity(19);
                time_text(tx.tx_time, &mut tx_time);
                let s = &mut self.strings;
                let row = SqliteRow {
                    record_no: i64::try_from(record_no).unwrap_or(i64::MAX),
                    natural_key: nk,
                    card_type: s.get(tx.card_type.as_str()),
                    card_type_raw: s.get(&tx.card_type_raw),
                    medium: s.get(medium_str(tx.medium)),
                    tx_type: i64::from(tx.tx_type.0),
                    amount_fen: tx.amount_fen,
                    balance_before_fen: tx.balance_before_fen,
                    card_seq: i64::from(tx.card_seq),
                    terminal_seq: i64::from(tx.terminal_seq),
                    tx_time,
                    key_version: i64::from(tx.key_version),
                    alg_id: i64::from(tx.alg_id),
                    tac: tx.tac.map(|t| t.to_string()),
                    auth_code: tx.auth_code.map(|c| c.to_string()),
                    acquirer: s.get(&a.acquirer),
                    operator: a.operator.as_deref().map(|v| s.get(v)),
                    industry: s.get(a.industry.as_str()),
                    line: a.line.as_deref().map(|v| s.get(v)),
                    station: a.station.as_deref().map(|v| s.get(v)),
                    vehicle: a.vehicle.as_deref().map(|v| s.get(v)),
                    issuer_participant: s.get(issuer_participant),
                    tac_status: s.get(tac_status.as_str()),
                };
                self.batch.sqlite.push(row);
            }
            Backend::Postgres => {
                let o = &mut self.batch.copy;
                let h = &mut self.hex;
                copy_num(o, self.file_id);
                o.push(b'\t');
                copy_num(o, i64::try_from(record_no).unwrap_or(i64::MAX));
                o.extend_from_slice(b"\t\\\\x");
                o.extend_from_slice(hex::encode(nk).as_bytes());
                o.push(b'\t');
                o.extend_from_slice(tx.scheme.as_str().as_bytes());
                h.clear();
                let _ = write!(
                    h,
                    "\t{}\t{}\t{}\t",
                    tx.issuer.issuer_code, tx.issuer.city_code, tx.card_serial
                );
                o.extend_from_slice(h.as_bytes());
                o.extend_from_slice(tx.card_type.as_str().as_bytes());
                o.push(b'\t');
                copy_text(o, &tx.card_type_raw);
                o.push(b'\t');
                o.extend_from_slice(medium_str(tx.medium).as_bytes());
                o.push(b'\t');
                copy_num(o, i64::from(tx.tx_type.0));
                o.push(b'\t');
                o.extend_from_slice(tx.kind().as_str().as_bytes());
                o.push(b'\t');
                copy_num(o, tx.amount_fen);
                o.push(b'\t');
                copy_num(o, tx.balance_before_fen);
                o.push(b'\t');
                copy_num(o, i64::from(tx.card_seq));
                h.clear();
                let _ = write!(h, "\t{}\t{}\t", tx.terminal, tx.terminal_seq);
                time_text(tx.tx_time, h);
                let _ = write!(h, "\t{}\t{}\t", tx.key_version, tx.alg_id);
                match tx.tac {
                    Some(t) => {
                        let _ = write!(h, "{t}\t");
                    }
                    None => h.push_str("\\N\t"),
                }
                match tx.auth_code {
                    Some(t) => {
                        let _ = write!(h, "{t}\t");
                    }
                    None => h.push_str("\\N\t"),
                }
                o.extend_from_slice(h.as_bytes());
                copy_text(o, &a.acquirer);
                o.push(b'\t');
                copy_opt(o, a.operator.as_deref());
                o.push(b'\t');
                o.extend_from_slice(a.industry.as_str().as_bytes());
                o.push(b'\t');
                copy_opt(o, a.line.as_deref());
                o.push(b'\t');
                copy_opt(o, a.station.as_deref());
                o.push(b'\t');
                copy_opt(o, a.vehicle.as_deref());
                o.push(b'\t');
                copy_text(o, issuer_participant);
                o.push(b'\t');
                o.extend_from_slice(tac_status.as_str().as_bytes());
                o.push(b'\n');
                self.batch.copy_rows += 1;
            }
        }
    }

    /// Adds a record-level rejection.
    pub fn rejected(&mut self, r: NewRejection) {
        match self.copy {
            false => self.batch.rejections.push(r),
            true => {
                // COPY rejections (REJECTION_COPY_COLUMNS)
                let o = &mut self.batch.copy_rejections;
                copy_num(o, self.file_id);
                o.push(b'\t');
                copy_num(o, i64::try_from(r.record_no).unwrap_or(i64::MAX));
                o.push(b'\t');
                o.extend_from_slice(r.code.as_bytes());
                o.push(b'\t');
                copy_opt(o, r.field.as_deref());
                o.push(b'\t');
                copy_text(o, &r.reason);
                o.push(b'\t');
                let k = r.key.as_ref();
                copy_opt(o, k.map(|k| k.scheme.as_str()));
                o.push(b'\t');
                copy_opt(o, k.map(|k| k.issuer_code.as_str()));
                o.push(b'\t');
                copy_opt(o, k.map(|k| k.city_code.as_str()));
                o.push(b'\t');
                copy_opt(o, k.map(|k| k.card_serial.as_str()));
                o.push(b'\t');
                match k.and_then(|k| k.card_seq) {
                    Some(v) => copy_num(o, v),
                    None => o.extend_from_slice(b"\\N"),
                }
                o.push(b'\t');
                copy_opt(o, k.and_then(|k| k.kind));
                o.push(b'\t');
                copy_opt(o, k.and_then(|k| k.terminal.as_deref()));
                o.push(b'\t');
                match k.and_then(|k| k.terminal_seq) {
                    Some(v) => copy_num(o, v),
                    None => o.extend_from_slice(b"\\N"),
                }
                o.push(b'\t');
                match k.and_then(|k| k.amount_fen) {
                    Some(v) => copy_num(o, v),
                    None => o.extend_from_slice(b"\\N"),
                }
                o.push(b'\t');
                match k.and_then(|k| k.balance_before_fen) {
                    Some(v) => copy_num(o, v),
                    None => o.extend_from_slice(b"\\N"),
                }
                o.push(b'\t');
                match k.and_then(|k| k.tx_time) {
                    Some(t) => {
                        let mut s = String::new();
                        time_text(t, &mut s);
                        o.extend_from_slice(s.as_bytes());
                    }
                    None => o.extend_from_slice(b"\\N"),
                }
                o.push(b'\t');
                copy_opt(o, r.raw.as_deref());
                o.push(b'\n');
                self.batch.copy_rows += 1;
            }
        }
    }

    /// Adds an accepted blacklist entry (stored with plain inserts on both backends).
    pub fn blacklist(&mut self, e: NewBlacklistEntry) {
        self.batch.blacklist.push(e);
    }
}

/// What storing a file's batches came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stored {
    /// Records inserted into `records`.
    pub accepted: u64,
    /// Their total amount.
    pub accepted_fen: i64,
    /// Rejections stored (including `R03` duplicates found on insert).
    pub rejected: u64,
    /// Of those, duplicates (`R03`).
    pub duplicates: u64,
    /// Blacklist entries stored.
    pub blacklist_entries: u64,
}

macro_rules! insert_rejection_query {
    ($file_id:expr, $r:expr, $dup:expr) => {{
        let k = $r.key.as_ref();
        sqlx::query(
            "INSERT INTO rejections (file_id, record_no, code, field, reason, scheme, issuer_code, \
             city_code, card_serial, card_seq, kind, terminal, terminal_seq, amount_fen, \
             balance_before_fen, tx_time, duplicate_of, raw) VALUES ($1, $2, $3, $4, $5, $6, $7, \
             $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        )
        .bind($file_id)
        .bind(i64::try_from($r.record_no).unwrap_or(i64::MAX))
        .bind($r.code)
        .bind(&$r.field)
        .bind(&$r.reason)
        .bind(k.map(|k| k.scheme.as_str()))
        .bind(k.map(|k| k.issuer_code.clone()))
        .bind(k.map(|k| k.city_code.clone()))
        .bind(k.map(|k| k.card_serial.clone()))
        .bind(k.and_then(|k| k.card_seq))
        .bind(k.and_then(|k| k.kind))
        .bind(k.and_then(|k| k.terminal.clone()))
        .bind(k.and_then(|k| k.terminal_seq))
        .bind(k.and_then(|k| k.amount_fen))
        .bind(k.and_then(|k| k.balance_before_fen))
        .bind(k.and_then(|k| k.tx_time))
        .bind($dup)
        .bind(&$r.raw)
    }};
}

macro_rules! insert_blacklist_query {
    ($file_id:expr, $e:expr) => {{
        let en = &$e.entry;
        sqlx::query(
            "INSERT INTO blacklist_entries (file_id, record_no, scheme, issuer_code, city_code, \
             card_serial, action, effective, reason, changed) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind($file_id)
        .bind(i64::try_from($e.record_no).unwrap_or(i64::MAX))
        .bind(en.scheme.as_str())
        .bind(en.issuer.issuer_code.to_string())
        .bind(en.issuer.city_code.to_string())
        .bind(en.card.to_string())
        .bind(en.action.as_str())
        .bind(en.effective)
        .bind(en.reason.clone())
        .bind($e.changed)
    }};
}

/// Writes every batch that arrives on `rx` into the transaction, until the channel closes,
/// and returns what was stored. Nothing is committed here: the caller commits when the file
/// as a whole stands, or rolls back.
pub async fn store_batches(
    tx: &mut Tx,
    file_id: i64,
    rx: &mut mpsc::Receiver<Batch>,
) -> StoreResult<Stored> {
    match tx {
        Tx::Sqlite(_) => store_sqlite(tx, file_id, rx).await,
        Tx::Postgres(_) => store_postgres(tx, file_id, rx).await,
    }
}

fn sqlite_insert_sql(rows: usize) -> String {
    let mut sql = String::with_capacity(60 + rows * SQLITE_VALUES_PER_ROW * 3);
    let _ = write!(sql, "INSERT INTO records ({SQLITE_INSERT_COLUMNS}) VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..SQLITE_VALUES_PER_ROW {
            if c > 0 {
                sql.push(',');
            }
            sql.push('?');
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT DO NOTHING");
    sql
}

async fn store_sqlite(
    tx: &mut Tx,
    file_id: i64,
    rx: &mut mpsc::Receiver<Batch>,
) -> StoreResult<Stored> {
    let Tx::Sqlite(t) = tx else {
        return Err(StoreError::Corrupt("store_sqlite on PostgreSQL".into()));
    };
    let conn = &mut **t;
    let mut stored = Stored::default();
    let full_sql = sqlite_insert_sql(SQLITE_ROWS_PER_INSERT);
    while let Some(mut batch) = rx.recv().await {
        let mut rows = std::mem::take(&mut batch.sqlite);
        stored.accepted_fen += batch.candidates_fen;
        while !rows.is_empty() {
            let take = rows.len().min(SQLITE_ROWS_PER_INSERT);
            let chunk: Vec<SqliteRow> = rows.drain(..take).collect();
            let sql = if take == SQLITE_ROWS_PER_INSERT {
                full_sql.clone()
            } else {
                sqlite_insert_sql(take)
            };
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            let (first, last) = (chunk[0].record_no, chunk[take - 1].record_no);
            let mut keys = Vec::new();
            for r in &chunk {
                keys.push((r.record_no, r.natural_key, r.amount_fen, r.tx_time.clone()));
            }
            for r in chunk {
                q = q
                    .bind(file_id)
                    .bind(r.record_no)
                    .bind(r.natural_key.to_vec())
                    .bind(r.card_type)
                    .bind(r.card_type_raw)
                    .bind(r.medium)
                    .bind(r.tx_type)
                    .bind(r.amount_fen)
                    .bind(r.balance_before_fen)
                    .bind(r.card_seq)
                    .bind(r.terminal_seq)
                    .bind(r.tx_time)
                    .bind(r.key_version)
                    .bind(r.alg_id)
                    .bind(r.tac)
                    .bind(r.auth_code)
                    .bind(r.acquirer)
                    .bind(r.operator)
                    .bind(r.industry)
                    .bind(r.line)
                    .bind(r.station)
                    .bind(r.vehicle)
                    .bind(r.issuer_participant)
                    .bind(r.tac_status);
            }
            let inserted = q.execute(&mut *conn).await?.rows_affected();
            stored.accepted += inserted;
            if inserted as usize == take {
                continue;
            }
            // Some rows met an accepted twin: find which, and reject them as R03.
            let present: Vec<(i64,)> = sqlx::query_as(
                "SELECT record_no FROM records WHERE file_id = $1 AND record_no BETWEEN $2 AND $3",
            )
            .bind(file_id)
            .bind(first)
            .bind(last)
            .fetch_all(&mut *conn)
            .await?;
            let present: std::collections::HashSet<i64> =
                present.into_iter().map(|(n,)| n).collect();
            for (record_no, nk, amount, tx_time) in keys {
                if present.contains(&record_no) {
                    continue;
                }
                let twin: Option<(i64, i64, i64)> = sqlx::query_as(
                    "SELECT id, file_id, record_no FROM records WHERE natural_key = $1",
                )
                .bind(nk.to_vec())
                .fetch_optional(&mut *conn)
                .await?;
                let rej = duplicate_rejection(record_no, &nk, amount, &tx_time, twin);
                insert_rejection_sqlite(conn, file_id, &rej.0, rej.1).await?;
                stored.accepted_fen -= amount;
                stored.rejected += 1;
                stored.duplicates += 1;
            }
        }
        for r in &batch.rejections {
            insert_rejection_sqlite(conn, file_id, r, None).await?;
            stored.rejected += 1;
        }
        for e in &batch.blacklist {
            insert_blacklist_query!(file_id, e)
                .execute(&mut *conn)
                .await?;
            stored.blacklist_entries += 1;
        }
    }
    Ok(stored)
}

/// The `R03` rejection of a record whose key is already accepted (`twin`: id, file, record).
fn duplicate_rejection(
    record_no: i64,
    nk: &[u8],
    amount: i64,
    tx_time: &str,
    twin: Option<(i64, i64, i64)>,
) -> (NewRejection, Option<i64>) {
    let key = natural_key_from_bytes(nk);
    let reason = match twin {
        Some((_, f, r)) => format!(
            "duplicate of an accepted record (file {f}, record {r}) with the same natural key"
        ),
        None => "duplicate of an accepted record with the same natural key".to_string(),
    };
    let rej = NewRejection {
        record_no: u64::try_from(record_no).unwrap_or(0),
        code: "R03",
        field: None,
        reason,
        key: key.map(|k| RejectedKey {
            scheme: k.scheme,
            issuer_code: k.issuer.issuer_code.to_string(),
            city_code: k.issuer.city_code.to_string(),
            card_serial: k.card_serial.to_string(),
            card_seq: Some(i64::from(k.card_seq)),
            kind: Some(k.kind.as_str()),
            terminal: Some(k.terminal.to_string()),
            terminal_seq: Some(i64::from(k.terminal_seq)),
            amount_fen: Some(amount),
            balance_before_fen: None,
            tx_time: NaiveDateTime::parse_from_str(tx_time, "%Y-%m-%d %H:%M:%S").ok(),
        }),
        raw: None,
    };
    (rej, twin.map(|(id, _, _)| id))
}

async fn insert_rejection_sqlite(
    conn: &mut sqlx::SqliteConnection,
    file_id: i64,
    r: &NewRejection,
    duplicate_of: Option<i64>,
) -> StoreResult<()> {
    insert_rejection_query!(file_id, r, duplicate_of)
        .execute(conn)
        .await?;
    Ok(())
}

async fn store_postgres(
    tx: &mut Tx,
    file_id: i64,
    rx: &mut mpsc::Receiver<Batch>,
) -> StoreResult<Stored> {
    use tokio::io::{AsyncSeekExt, AsyncWriteExt};
    let Tx::Postgres(t) = tx else {
        return Err(StoreError::Corrupt("store_postgres on SQLite".into()));
    };
    let conn = &mut **t;
    let spill_err = |e: std::io::Error| StoreError::Corrupt(format!("ingest spill file: {e}"));
    // What went into the COPY is also spilled to anonymous temporary files: the records, to
    // replay them through the duplicate-tolerant path should the COPY meet a duplicate; the
    // rejections, which cannot share the connection with a COPY in progress.
    let mut spill = tokio::fs::File::from_std(tempfile::tempfile().map_err(spill_err)?);
    let mut spill_rej = tokio::fs::File::from_std(tempfile::tempfile().map_err(spill_err)?);
    let mut stored = Stored::default();
    let mut candidates = 0u64;
    let mut rejections_spilled = 0u64;
    let mut blacklist = Vec::new();
    let mut other_rejections = Vec::new();
    sqlx::query("SAVEPOINT ingest_fast")
        .execute(&mut *conn)
        .await?;
    let copied = {
        let mut copy = conn
            .copy_in_raw(&format!(
                "COPY records (file_id, {RECORD_COLUMNS_PG}) FROM STDIN (FORMAT text)"
            ))
            .await?;
        while let Some(mut batch) = rx.recv().await {
            candidates += batch.candidates;
            stored.accepted_fen += batch.candidates_fen;
            if !batch.copy.is_empty() {
                spill.write_all(&batch.copy).await.map_err(spill_err)?;
                copy.send(std::mem::take(&mut batch.copy)).await?;
            }
            if !batch.copy_rejections.is_empty() {
                spill_rej
                    .write_all(&batch.copy_rejections)
                    .await
                    .map_err(spill_err)?;
                rejections_spilled += bytecount_lines(&batch.copy_rejections);
            }
            blacklist.append(&mut batch.blacklist);
            other_rejections.append(&mut batch.rejections);
        }
        copy.finish().await
    };
    match copied {
        Ok(n) => {
            sqlx::query("RELEASE SAVEPOINT ingest_fast")
                .execute(&mut *conn)
                .await?;
            stored.accepted = n;
        }
        Err(e) if super::is_unique_violation(&e) => {
            // A record duplicates an accepted one (or one earlier in this file): undo the
            // COPY, stage the records, insert them in record order keeping the first of each
            // key, and reject the rest as R03.
            sqlx::query("ROLLBACK TO SAVEPOINT ingest_fast")
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "CREATE TEMP TABLE IF NOT EXISTS ingest_stage (file_id BIGINT, record_no BIGINT, \
                 natural_key BYTEA, scheme TEXT, issuer_code TEXT, city_code TEXT, \
                 card_serial TEXT, card_type TEXT, card_type_raw TEXT, medium TEXT, \
                 tx_type INTEGER, kind TEXT, amount_fen BIGINT, balance_before_fen BIGINT, \
                 card_seq INTEGER, terminal TEXT, terminal_seq BIGINT, tx_time TIMESTAMP, \
                 key_version INTEGER, alg_id INTEGER, tac TEXT, auth_code TEXT, acquirer TEXT, \
                 operator TEXT, industry TEXT, line TEXT, station TEXT, vehicle TEXT, \
                 issuer_participant TEXT, tac_status TEXT) ON COMMIT DROP",
            )
            .execute(&mut *conn)
            .await?;
            spill.flush().await.map_err(spill_err)?;
            spill
                .seek(std::io::SeekFrom::Start(0))
                .await
                .map_err(spill_err)?;
            let mut copy = conn
                .copy_in_raw(&format!(
                    "COPY ingest_stage (file_id, {RECORD_COLUMNS_PG}) FROM STDIN (FORMAT text)"
                ))
                .await?;
            copy.read_from(&mut spill).await?;
            copy.finish().await?;
            stored.accepted = sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO records (file_id, {RECORD_COLUMNS_PG}) SELECT file_id, \
                 {RECORD_COLUMNS_PG} FROM ingest_stage ORDER BY record_no ON CONFLICT DO NOTHING"
            )))
            .execute(&mut *conn)
            .await?
            .rows_affected();
            let dups = sqlx::query(
                "INSERT INTO rejections (file_id, record_no, code, field, reason, scheme, \
                 issuer_code, city_code, card_serial, card_seq, kind, terminal, terminal_seq, \
                 amount_fen, tx_time, duplicate_of) \
                 SELECT $1, s.record_no, 'R03', NULL, 'duplicate of an accepted record (file ' \
                 || r.file_id || ', record ' || r.record_no || ') with the same natural key', \
                 s.scheme, s.issuer_code, s.city_code, s.card_serial, s.card_seq, s.kind, \
                 s.terminal, s.terminal_seq, s.amount_fen, s.tx_time, r.id \
                 FROM ingest_stage s JOIN records r ON r.natural_key = s.natural_key \
                 WHERE NOT (r.file_id = $1 AND r.record_no = s.record_no)",
            )
            .bind(file_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            stored.duplicates = dups;
            stored.rejected += dups;
            let (dup_fen,): (Option<i64>,) = sqlx::query_as(
                "SELECT SUM(amount_fen)::BIGINT FROM rejections WHERE file_id = $1 AND code = 'R03'",
            )
            .bind(file_id)
            .fetch_one(&mut *conn)
            .await?;
            stored.accepted_fen -= dup_fen.unwrap_or(0);
            sqlx::query("TRUNCATE ingest_stage")
                .execute(&mut *conn)
                .await?;
        }
        Err(e) => return Err(e.into()),
    }
    if stored.accepted + stored.duplicates != candidates {
        return Err(StoreError::Corrupt(format!(
            "file {file_id}: {candidates} records to store, {} stored and {} duplicates",
            stored.accepted, stored.duplicates
        )));
    }
    if rejections_spilled > 0 {
        spill_rej.flush().await.map_err(spill_err)?;
        spill_rej
            .seek(std::io::SeekFrom::Start(0))
            .await
            .map_err(spill_err)?;
        let mut copy = conn
            .copy_in_raw(&format!(
                "COPY rejections ({REJECTION_COPY_COLUMNS}) FROM STDIN (FORMAT text)"
            ))
            .await?;
        copy.read_from(&mut spill_rej).await?;
        stored.rejected += copy.finish().await?;
    }
    for r in &other_rejections {
        insert_rejection_query!(file_id, r, None::<i64>)
            .execute(&mut *conn)
            .await?;
        stored.rejected += 1;
    }
    for e in &blacklist {
        insert_blacklist_query!(file_id, e)
            .execute(&mut *conn)
            .await?;
        stored.blacklist_entries += 1;
    }
    Ok(stored)
}

/// Lines in a `COPY` text buffer (one per row).
fn bytecount_lines(b: &[u8]) -> u64 {
    b.iter().filter(|&&c| c == b'\n').count() as u64
}

/// Pages of a file's rejections, by record number.
pub type RejectionPages = mpsc::Receiver<StoreResult<Vec<RejectionRow>>>;

/// Pages of a file's accepted records, by record number.
pub type AcceptedPages = mpsc::Receiver<StoreResult<Vec<AcceptedRow>>>;

/// A stored rejection, as the result shows it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct RejectionRow {
    /// Record number.
    pub record_no: i64,
    /// Reason code.
    pub code: String,
    /// Field named.
    pub field: Option<String>,
    /// Why.
    pub reason: String,
    /// Scheme, where read.
    pub scheme: Option<String>,
    /// Issuer code.
    pub issuer_code: Option<String>,
    /// City code.
    pub city_code: Option<String>,
    /// Card serial.
    pub card_serial: Option<String>,
    /// Card counter.
    pub card_seq: Option<i64>,
    /// Kind.
    pub kind: Option<String>,
    /// Terminal.
    pub terminal: Option<String>,
    /// Terminal counter.
    pub terminal_seq: Option<i64>,
    /// Amount.
    pub amount_fen: Option<i64>,
    /// The accepted record a duplicate duplicates.
    pub duplicate_of: Option<i64>,
    /// The record as it was in the file.
    pub raw: Option<String>,
}

/// The columns of [`RejectionRow`].
pub(crate) const REJECTION_ROW_COLUMNS: &str = "record_no, code, field, reason, scheme, \
     issuer_code, city_code, card_serial, CAST(card_seq AS BIGINT) AS card_seq, kind, terminal, \
     CAST(terminal_seq AS BIGINT) AS terminal_seq, CAST(amount_fen AS BIGINT) AS amount_fen, \
     CAST(duplicate_of AS BIGINT) AS duplicate_of, raw";

/// An accepted record's key and amount, as the result shows it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct AcceptedRow {
    /// Record number.
    pub record_no: i64,
    /// The 28-byte natural key.
    pub natural_key: Vec<u8>,
    /// Amount.
    pub amount_fen: i64,
}

/// An accepted record as stored, rebuilt as a canonical record (for outbound files, clearing
/// and reconciliation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// `records.id`.
    pub id: i64,
    /// The file it came in.
    pub file_id: i64,
    /// Its number in that file.
    pub record_no: i64,
    /// The record (its provenance: `file <id>`, record number).
    pub tx: CanonicalTx,
    /// The clearing participant its card's issuer routes to.
    pub issuer_participant: String,
    /// What became of its TAC.
    pub tac_status: TacStatus,
}

#[derive(FromRow)]
struct FullRow {
    id: i64,
    file_id: i64,
    record_no: i64,
    scheme: String,
    issuer_code: String,
    city_code: String,
    card_serial: String,
    card_type: String,
    card_type_raw: String,
    medium: String,
    tx_type: i64,
    amount_fen: i64,
    balance_before_fen: i64,
    card_seq: i64,
    terminal: String,
    terminal_seq: i64,
    tx_time: NaiveDateTime,
    key_version: i64,
    alg_id: i64,
    tac: Option<String>,
    auth_code: Option<String>,
    acquirer: String,
    operator: Option<String>,
    industry: String,
    line: Option<String>,
    station: Option<String>,
    vehicle: Option<String>,
    issuer_participant: String,
    tac_status: String,
}

const FULL_COLUMNS: &str = "id, CAST(file_id AS BIGINT) AS file_id, CAST(record_no AS BIGINT) \
     AS record_no, scheme, issuer_code, city_code, card_serial, card_type, card_type_raw, medium, \
     CAST(tx_type AS BIGINT) AS tx_type, CAST(amount_fen AS BIGINT) AS amount_fen, \
     CAST(balance_before_fen AS BIGINT) AS balance_before_fen, CAST(card_seq AS BIGINT) AS \
     card_seq, terminal, CAST(terminal_seq AS BIGINT) AS terminal_seq, tx_time, \
     CAST(key_version AS BIGINT) AS key_version, CAST(alg_id AS BIGINT) AS alg_id, tac, \
     auth_code, acquirer, operator, industry, line, station, vehicle, issuer_participant, \
     tac_status";

impl TryFrom<FullRow> for StoredRecord {
    type Error = StoreError;
    fn try_from(r: FullRow) -> StoreResult<StoredRecord> {
        let bad = |what: &str, v: &str| {
            StoreError::Corrupt(format!("records.{what} {v:?} of record {}", r.id))
        };
        let num = |what: &str, v: i64| {
            StoreError::Corrupt(format!("records.{what} {v} of record {}", r.id))
        };
        let tx = CanonicalTx {
            scheme: r.scheme.parse().map_err(|_| bad("scheme", &r.scheme))?,
            issuer: card_standards::IssuerId {
                issuer_code: r
                    .issuer_code
                    .parse()
                    .map_err(|_| bad("issuer_code", &r.issuer_code))?,
                city_code: r
                    .city_code
                    .parse()
                    .map_err(|_| bad("city_code", &r.city_code))?,
            },
            card_serial: r
                .card_serial
                .parse()
                .map_err(|_| bad("card_serial", &r.card_serial))?,
            card_type: r
                .card_type
                .parse()
                .map_err(|_| bad("card_type", &r.card_type))?,
            card_type_raw: r.card_type_raw.clone(),
            medium: match r.medium.as_str() {
                "cpu" => CardMedium::Cpu,
                "m1" => CardMedium::MifareClassic,
                other => return Err(bad("medium", other)),
            },
            tx_type: card_standards::TxType(
                u8::try_from(r.tx_type).map_err(|_| num("tx_type", r.tx_type))?,
            ),
            amount_fen: r.amount_fen,
            balance_before_fen: r.balance_before_fen,
            card_seq: u16::try_from(r.card_seq).map_err(|_| num("card_seq", r.card_seq))?,
            terminal: r
                .terminal
                .parse()
                .map_err(|_| bad("terminal", &r.terminal))?,
            terminal_seq: u32::try_from(r.terminal_seq)
                .map_err(|_| num("terminal_seq", r.terminal_seq))?,
            tx_time: r.tx_time,
            key_version: u8::try_from(r.key_version)
                .map_err(|_| num("key_version", r.key_version))?,
            alg_id: u8::try_from(r.alg_id).map_err(|_| num("alg_id", r.alg_id))?,
            tac: r
                .tac
                .as_deref()
                .map(|t| t.parse().map_err(|_| bad("tac", t)))
                .transpose()?,
            auth_code: r
                .auth_code
                .as_deref()
                .map(|t| t.parse().map_err(|_| bad("auth_code", t)))
                .transpose()?,
            acceptance: card_standards::Acceptance {
                acquirer: r.acquirer,
                operator: r.operator,
                industry: r
                    .industry
                    .parse()
                    .map_err(|_| bad("industry", &r.industry))?,
                line: r.line,
                station: r.station,
                vehicle: r.vehicle,
            },
            provenance: Some(card_standards::Provenance {
                file: format!("file {}", r.file_id),
                record: u64::try_from(r.record_no).unwrap_or(0),
            }),
        };
        let tac_status = match r.tac_status.as_str() {
            "valid" => TacStatus::Valid,
            "unverified" => TacStatus::Unverified,
            "not_applicable" => TacStatus::NotApplicable,
            other => return Err(bad("tac_status", other)),
        };
        Ok(StoredRecord {
            id: r.id,
            file_id: r.file_id,
            record_no: r.record_no,
            tx,
            issuer_participant: r.issuer_participant,
            tac_status,
        })
    }
}

impl Store {
    /// Accepted records with `id > after_id`, by id, at most `limit`; only those routed to
    /// `issuer_participant` when given. Page through all of them by passing the last id back.
    pub async fn stored_records(
        &self,
        issuer_participant: Option<&str>,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<StoredRecord>> {
        let rows: Vec<FullRow> = on_db!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {FULL_COLUMNS} FROM records WHERE id > $1 \
                 AND ($2 IS NULL OR issuer_participant = $2) ORDER BY id LIMIT $3"
            )))
            .bind(after_id)
            .bind(issuer_participant)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(StoredRecord::try_from).collect()
    }

    /// A file's rejections, by record number.
    pub async fn rejections_of(&self, file_id: i64) -> StoreResult<Vec<RejectionRow>> {
        Ok(on_db!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {REJECTION_ROW_COLUMNS} FROM rejections WHERE file_id = $1 ORDER BY record_no"
            )))
            .bind(file_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Streams a file's rejections (by record number) and accepted records (by record number)
    /// into two channels of bounded size, from a task of its own: for results of any size.
    pub fn stream_file_outcome(
        &self,
        file_id: i64,
        chunk: usize,
    ) -> (RejectionPages, AcceptedPages) {
        let (rtx, rrx) = mpsc::channel(4);
        let (atx, arx) = mpsc::channel(4);
        let store = self.clone();
        tokio::spawn(async move {
            let rej = store.page_rejections(file_id, chunk, rtx);
            let acc = store.page_accepted(file_id, chunk, atx);
            let _ = tokio::join!(rej, acc);
        });
        (rrx, arx)
    }

    async fn page_rejections(
        &self,
        file_id: i64,
        chunk: usize,
        out: mpsc::Sender<StoreResult<Vec<RejectionRow>>>,
    ) {
        let mut after = -1i64;
        loop {
            let page: StoreResult<Vec<RejectionRow>> = async {
                Ok(on_db!(self, pool => {
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {REJECTION_ROW_COLUMNS} FROM rejections WHERE file_id = $1 \
                         AND record_no > $2 ORDER BY record_no LIMIT $3"
                    )))
                    .bind(file_id)
                    .bind(after)
                    .bind(i64::try_from(chunk).unwrap_or(1000))
                    .fetch_all(pool)
                    .await?
                }))
            }
            .await;
            let done = match &page {
                Ok(p) => {
                    if let Some(last) = p.last() {
                        after = last.record_no;
                    }
                    p.len() < chunk
                }
                Err(_) => true,
            };
            if out.send(page).await.is_err() || done {
                return;
            }
        }
    }

    async fn page_accepted(
        &self,
        file_id: i64,
        chunk: usize,
        out: mpsc::Sender<StoreResult<Vec<AcceptedRow>>>,
    ) {
        let mut after = -1i64;
        loop {
            let page: StoreResult<Vec<AcceptedRow>> = async {
                Ok(on_db!(self, pool => {
                    sqlx::query_as(
                        "SELECT record_no, natural_key, \
                         CAST(amount_fen AS BIGINT) AS amount_fen FROM records \
                         WHERE file_id = $1 AND record_no > $2 ORDER BY record_no LIMIT $3",
                    )
                    .bind(file_id)
                    .bind(after)
                    .bind(i64::try_from(chunk).unwrap_or(1000))
                    .fetch_all(pool)
                    .await?
                }))
            }
            .await;
            let done = match &page {
                Ok(p) => {
                    if let Some(last) = p.last() {
                        after = last.record_no;
                    }
                    p.len() < chunk
                }
                Err(_) => true,
            };
            if out.send(page).await.is_err() || done {
                return;
            }
        }
    }

    /// How many accepted records a file has.
    pub async fn record_count(&self, file_id: i64) -> StoreResult<i64> {
        let (n,): (i64,) = on_db!(self, pool => {
            sqlx::query_as("SELECT COUNT(*) FROM records WHERE file_id = $1")
                .bind(file_id)
                .fetch_one(pool)
                .await?
        });
        Ok(n)
    }

    /// The id of the accepted record `record_no` of file `file_id`, if it was accepted.
    pub async fn record_id_at(&self, file_id: i64, record_no: i64) -> StoreResult<Option<i64>> {
        Ok(on_db!(self, pool => {
            sqlx::query_scalar("SELECT id FROM records WHERE file_id = $1 AND record_no = $2")
                .bind(file_id)
                .bind(record_no)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Records accepted by ingest so far, over every file (for progress displays).
    pub async fn accepted_records_total(&self) -> StoreResult<u64> {
        let n: Option<i64> = on_db!(self, pool => {
            sqlx::query_scalar("SELECT CAST(SUM(accepted) AS BIGINT) FROM file_results")
                .fetch_one(pool)
                .await?
        });
        Ok(u64::try_from(n.unwrap_or(0)).unwrap_or(0))
    }
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
