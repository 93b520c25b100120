//! The parsing side of the fast paths: [`RecordEncoder`] encodes a file's records and
//! rejections for the open backend (bound rows for SQLite, `COPY` text for PostgreSQL) and
//! cuts them into [`Batch`]es.

use super::*;

/// One batch of a file's outcome, encoded for the backend by [`RecordEncoder`].
#[derive(Debug, Default)]
pub struct Batch {
    pub(super) sqlite: Vec<SqliteRow>,
    pub(super) copy: Vec<u8>,
    pub(super) copy_rejections: Vec<u8>,
    pub(super) copy_rows: usize,
    pub(super) rejections: Vec<NewRejection>,
    pub(super) blacklist: Vec<NewBlacklistEntry>,
    pub(super) candidates: u64,
    pub(super) candidates_fen: i64,
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
pub(super) struct SqliteRow {
    pub(super) record_no: i64,
    pub(super) natural_key: [u8; NATURAL_KEY_LEN],
    pub(super) card_type: Arc<str>,
    pub(super) card_type_raw: Arc<str>,
    pub(super) medium: Arc<str>,
    pub(super) tx_type: i64,
    pub(super) amount_fen: i64,
    pub(super) balance_before_fen: i64,
    pub(super) card_seq: i64,
    pub(super) terminal_seq: i64,
    pub(super) tx_time: String,
    pub(super) key_version: i64,
    pub(super) alg_id: i64,
    pub(super) tac: Option<String>,
    pub(super) auth_code: Option<String>,
    pub(super) acquirer: Arc<str>,
    pub(super) operator: Option<Arc<str>>,
    pub(super) industry: Arc<str>,
    pub(super) line: Option<Arc<str>>,
    pub(super) station: Option<Arc<str>>,
    pub(super) vehicle: Option<Arc<str>>,
    pub(super) issuer_participant: Arc<str>,
    pub(super) tac_status: Arc<str>,
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
pub(super) const REJECTION_COPY_COLUMNS: &str = "file_id, record_no, code, field, reason, scheme, \
     issuer_code, city_code, card_serial, card_seq, kind, terminal, terminal_seq, amount_fen, \
     balance_before_fen, tx_time, raw";

/// The record columns both backends insert (SQLite computes the rest from the key).
pub(super) const RECORD_COLUMNS_PG: &str = "record_no, natural_key, scheme, issuer_code, city_code, \
     card_serial, card_type, card_type_raw, medium, tx_type, kind, amount_fen, \
     balance_before_fen, card_seq, terminal, terminal_seq, tx_time, key_version, alg_id, tac, \
     auth_code, acquirer, operator, industry, line, station, vehicle, issuer_participant, \
     tac_status";

pub(super) const SQLITE_INSERT_COLUMNS: &str = "file_id, record_no, natural_key, card_type, card_type_raw, \
     medium, tx_type, amount_fen, balance_before_fen, card_seq, terminal_seq, tx_time, \
     key_version, alg_id, tac, auth_code, acquirer, operator, industry, line, station, vehicle, \
     issuer_participant, tac_status";

pub(super) const SQLITE_VALUES_PER_ROW: usize = 24;

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
pub(super) fn copy_text(out: &mut Vec<u8>, s: &str) {
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
