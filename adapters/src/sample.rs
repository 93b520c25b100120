//! Sample records and synthetic files, for the sample files in `adapters/samples/`, the tests,
//! the docs and the benchmark (and the hub's future `hutong bench`).
//!
//! [`records`] gives seven hand-checkable card transactions, one of each kind the formats must
//! handle, with **real TACs** computed by `card_standards::crypto` from these issuer master TAC
//! keys (test keys, published here; never use them for real cards):
//!
//! | issuer (scheme, issuer, city) | algorithm | MTK |
//! |---|---|---|
//! | local 2660 / 2660 (琴岛通-like city card) | 3DES | `11223344556677888877665544332211` |
//! | mohurd 0731 / 4100 (a Changsha card) | 3DES | `0123456789ABCDEFFEDCBA9876543210` |
//! | mot 0101 / 4520 (a T-Union card of Qingdao: T-Union city code 4520) | SM4 profile | `00112233445566778899AABBCCDDEEFF` |
//! | pboc 0574 / 3150 (a Ningbo co-branded card) | 3DES | `FEDCBA98765432100123456789ABCDEF` |
//!
//! Each card's TAC key is diversified from the MTK by the right-most 8 bytes of its serial
//! ([`IssuerTacKey`]). The M1 record has no TAC; the e-cash record carries a made-up
//! cryptogram (the bank's key is not modelled).

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::rc::Rc;

use card_standards::crypto::{Algorithm, Key16};
use card_standards::{
    Acceptance, CanonicalTx, CardMedium, CardType, CodeTables, Industry, IssuerTacKey, Mac4,
    Scheme, TxKind, TxType,
};
use chrono::{NaiveDate, NaiveDateTime, TimeDelta};

use crate::error::Result;
use crate::stream::{FileMeta, TxSink};
use crate::{Direction, Format};

/// The issuer master TAC keys of the sample records: (scheme, issuer, city, algorithm, MTK hex).
pub const SAMPLE_KEYS: &[(Scheme, &str, &str, Algorithm, &str)] = &[
    (
        Scheme::Local,
        "2660",
        "2660",
        Algorithm::TripleDes,
        "11223344556677888877665544332211",
    ),
    (
        Scheme::Mohurd,
        "0731",
        "4100",
        Algorithm::TripleDes,
        "0123456789ABCDEFFEDCBA9876543210",
    ),
    (
        Scheme::Mot,
        "0101",
        "4520",
        Algorithm::Sm4,
        "00112233445566778899AABBCCDDEEFF",
    ),
    (
        Scheme::Pboc,
        "0574",
        "3150",
        Algorithm::TripleDes,
        "FEDCBA98765432100123456789ABCDEF",
    ),
];

/// The sample issuers' master TAC key for a record, if it is one of theirs.
pub fn sample_key(tx: &CanonicalTx) -> Option<IssuerTacKey> {
    SAMPLE_KEYS.iter().find_map(|(s, i, c, alg, mtk)| {
        let mine = *s == tx.scheme
            && tx.issuer.issuer_code.to_string() == *i
            && tx.issuer.city_code.to_string() == *c;
        let key: Key16 = mtk.parse().ok()?;
        mine.then(|| IssuerTacKey::new(*alg, &key))
    })
}

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, mo, d)
        .and_then(|x| x.and_hms_opt(h, mi, s))
        .expect("valid sample date")
}

struct Spec {
    scheme: Scheme,
    issuer: &'static str,
    city: &'static str,
    serial: &'static str,
    card_type: CardType,
    medium: CardMedium,
    tx_type: TxType,
    amount: i64,
    balance: i64,
    card_seq: u16,
    terminal: &'static str,
    terminal_seq: u32,
    time: NaiveDateTime,
    alg_id: u8,
    auth_code: Option<&'static str>,
    industry: Industry,
    acquirer: &'static str,
    operator: Option<&'static str>,
    line: Option<&'static str>,
    station: Option<&'static str>,
    vehicle: Option<&'static str>,
}

fn build(s: Spec, tables: &CodeTables) -> CanonicalTx {
    let parse = "sample constants parse";
    let mut tx = CanonicalTx {
        scheme: s.scheme,
        issuer: card_standards::IssuerId {
            issuer_code: s.issuer.parse().expect(parse),
            city_code: s.city.parse().expect(parse),
        },
        card_serial: s.serial.parse().expect(parse),
        card_type: s.card_type,
        card_type_raw: tables
            .card_type_code(s.scheme, s.card_type)
            .expect("sample card types are in the tables")
            .to_string(),
        medium: s.medium,
        tx_type: s.tx_type,
        amount_fen: s.amount,
        balance_before_fen: s.balance,
        card_seq: s.card_seq,
        terminal: s.terminal.parse().expect(parse),
        terminal_seq: s.terminal_seq,
        tx_time: s.time,
        key_version: if s.medium == CardMedium::Cpu { 1 } else { 0 },
        alg_id: s.alg_id,
        tac: None,
        auth_code: s.auth_code.map(|a| a.parse().expect(parse)),
        acceptance: Acceptance {
            acquirer: s.acquirer.to_string(),
            operator: s.operator.map(str::to_string),
            industry: s.industry,
            line: s.line.map(str::to_string),
            station: s.station.map(str::to_string),
            vehicle: s.vehicle.map(str::to_string),
        },
        provenance: None,
    };
    let ecash = s.scheme == Scheme::Pboc && s.auth_code.is_some();
    if s.medium == CardMedium::Cpu && !ecash {
        let key = sample_key(&tx).expect("every CPU sample issuer has a key");
        tx.tac = Some(match tx.kind() {
            TxKind::Load => key.load_tac(&tx.card_serial, &tx.load_data().expect("in range")),
            _ => key.purchase_tac(&tx.card_serial, &tx.purchase_data().expect("in range")),
        });
    }
    tx
}

/// The seven sample transactions, with real TACs (see the module docs for the keys):
///
/// 1. a local CPU card, EP purchase on a bus;
/// 2. the same card, EP load at a recharge point;
/// 3. a local legacy M1 wallet card on a bus (no TAC);
/// 4. a MOHURD card (Changsha), composite purchase in the metro, with its authentication code;
/// 5. a T-Union card (SM4 profile) paying a tunnel toll;
/// 6. a PBOC co-branded card's ED/EP purchase in a taxi;
/// 7. a PBOC e-cash purchase in a shop (cryptogram, no TAC).
pub fn records(tables: &CodeTables) -> Vec<CanonicalTx> {
    let local = |serial,
                 card_type,
                 medium,
                 tx_type,
                 amount,
                 balance,
                 card_seq,
                 tseq,
                 time,
                 industry,
                 line,
                 vehicle| Spec {
        scheme: Scheme::Local,
        issuer: "2660",
        city: "2660",
        serial,
        card_type,
        medium,
        tx_type,
        amount,
        balance,
        card_seq,
        terminal: "000001000050",
        terminal_seq: tseq,
        time,
        alg_id: 0,
        auth_code: None,
        industry,
        acquirer: "QDT01",
        operator: Some("QDBUS"),
        line,
        station: None,
        vehicle,
    };
    let specs = vec![
        local(
            "00002660000000001234",
            CardType::Adult,
            CardMedium::Cpu,
            TxType::EP_PURCHASE,
            200,
            1000,
            17,
            123,
            at(2026, 11, 21, 8, 15, 2),
            Industry::Bus,
            Some("1"),
            Some("B10234"),
        ),
        Spec {
            operator: Some("QDT-RECHARGE"),
            terminal: "000001000077",
            ..local(
                "00002660000000001234",
                CardType::Adult,
                CardMedium::Cpu,
                TxType::EP_LOAD,
                5000,
                800,
                4,
                9001,
                at(2026, 11, 21, 9, 0, 0),
                Industry::Retail,
                None,
                None,
            )
        },
        local(
            "00002660000000900017",
            CardType::Elderly,
            CardMedium::MifareClassic,
            TxType::EP_PURCHASE,
            100,
            2350,
            311,
            124,
            at(2026, 11, 21, 8, 20, 41),
            Industry::Bus,
            Some("1"),
            Some("B10234"),
        ),
        Spec {
            scheme: Scheme::Mohurd,
            issuer: "0731",
            city: "4100",
            serial: "00004100000089999985",
            card_type: CardType::Student,
            medium: CardMedium::Cpu,
            tx_type: TxType::COMPOSITE_PURCHASE,
            amount: 300,
            balance: 7223,
            card_seq: 42,
            terminal: "000000000001",
            terminal_seq: 1,
            time: at(2026, 11, 21, 7, 48, 12),
            alg_id: 0,
            auth_code: Some("8588D32B7688D32B76"),
            industry: Industry::Metro,
            acquirer: "QDT01",
            operator: Some("QDMETRO"),
            line: Some("M3"),
            station: Some("S12"),
            vehicle: None,
        },
        Spec {
            scheme: Scheme::Mot,
            issuer: "0101",
            city: "4520",
            serial: "03105170010170907984",
            card_type: CardType::Adult,
            medium: CardMedium::Cpu,
            tx_type: TxType::EP_PURCHASE,
            amount: 1000,
            balance: 15000,
            card_seq: 17,
            terminal: "370200000005",
            terminal_seq: 88,
            time: at(2026, 11, 21, 18, 2, 33),
            alg_id: 4,
            auth_code: None,
            industry: Industry::Highway,
            acquirer: "QDT01",
            operator: Some("JZWTUNNEL"),
            line: Some("JZW"),
            station: Some("T01"),
            vehicle: Some("LU-B12345"),
        },
        Spec {
            scheme: Scheme::Pboc,
            issuer: "0574",
            city: "3150",
            serial: "00003150000000000777",
            card_type: CardType::Adult,
            medium: CardMedium::Cpu,
            tx_type: TxType::EP_PURCHASE,
            amount: 2150,
            balance: 30000,
            card_seq: 5,
            terminal: "370200000010",
            terminal_seq: 560,
            time: at(2026, 11, 21, 21, 30, 0),
            alg_id: 0,
            auth_code: None,
            industry: Industry::Taxi,
            acquirer: "QDT01",
            operator: Some("QDTAXI"),
            line: None,
            station: None,
            vehicle: Some("B8888"),
        },
        Spec {
            scheme: Scheme::Pboc,
            issuer: "0574",
            city: "3150",
            serial: "00003150000000000888",
            card_type: CardType::Adult,
            medium: CardMedium::Cpu,
            tx_type: TxType::EP_PURCHASE,
            amount: 1280,
            balance: 50000,
            card_seq: 49,
            terminal: "370200000020",
            terminal_seq: 77,
            time: at(2026, 11, 21, 12, 5, 9),
            alg_id: 0,
            auth_code: Some("40A1B2C3D4E5F60718"),
            industry: Industry::Retail,
            acquirer: "QDT01",
            operator: Some("SHOP-0815"),
            line: None,
            station: None,
            vehicle: None,
        },
    ];
    specs.into_iter().map(|s| build(s, tables)).collect()
}

/// The header the sample files and synthetic files use.
pub fn sample_meta(format: Format) -> FileMeta {
    let mut meta = FileMeta::new("QDT01", 42, at(2026, 11, 21, 23, 10, 0));
    meta.receiver = match format {
        Format::Mohurd => Some("MOHURD-CC".into()),
        Format::Mot => Some("TUNION-CC".into()),
        Format::Pboc => Some("BANK-ACQ".into()),
        _ => None,
    };
    if format == Format::Mohurd {
        meta.direction = Some(Direction::Upload);
    }
    meta
}

/// The file name of each format's sample in `adapters/samples/`.
pub fn sample_file_name(format: Format) -> &'static str {
    match format {
        Format::HutongXml => "hutong-tx.xml",
        Format::HutongBlacklist => "hutong-blacklist.xml",
        Format::LocalCsv => "local.csv",
        Format::Mohurd => "mohurd-upload.txt",
        Format::Mot => "mot.txt",
        Format::Pboc => "pboc.txt",
        Format::LocalCsvBlacklist => "local-blacklist.csv",
        Format::MohurdBlacklist => "mohurd-blacklist.txt",
        Format::MotBlacklist => "mot-blacklist.txt",
        Format::PbocBlacklist => "pboc-blacklist.txt",
        Format::HutongResult
        | Format::LocalCsvResult
        | Format::MohurdResult
        | Format::MotResult
        | Format::PbocResult => sample_result_file_name(format),
    }
}

/// The file name of each family's sample result file in `adapters/samples/`.
pub fn sample_result_file_name(format: Format) -> &'static str {
    match format.family() {
        Format::HutongXml => "hutong-hub-result.xml",
        Format::LocalCsv => "local-result.csv",
        Format::Mohurd => "mohurd-result.txt",
        Format::Mot => "mot-result.txt",
        _ => "pboc-result.txt",
    }
}

/// The header of the sample result files.
pub fn sample_result_meta() -> crate::ResultMeta {
    crate::ResultMeta {
        sender: "HUB".into(),
        receiver: Some("QDT01".into()),
        seq: 42,
        created: at(2026, 11, 22, 1, 0, 0),
        day: NaiveDate::from_ymd_opt(2026, 11, 22),
    }
}

/// The sample result of a file of `format`'s family: its first sample record accepted, its
/// second rejected with `R02`, and a third record that could not be read (`R07`).
pub fn sample_result(format: Format, tables: &CodeTables) -> Result<Vec<u8>> {
    use crate::{RecordStatus, ResultEntry, ResultTotals, ResultTx};
    let recs = records_for(format.family(), tables);
    let entries = [
        ResultEntry {
            record: 1,
            tx: Some(ResultTx::from(&recs[0])),
            status: RecordStatus::Accepted,
            code: None,
            field: None,
            reason: None,
        },
        ResultEntry {
            record: 2,
            tx: Some(ResultTx::from(&recs[1])),
            status: RecordStatus::Rejected,
            code: Some("R02".into()),
            field: Some("tac".into()),
            reason: Some("the TAC does not verify with the issuer's key".into()),
        },
        ResultEntry {
            record: 3,
            tx: None,
            status: RecordStatus::Rejected,
            code: Some("R07".into()),
            field: Some("terminal".into()),
            reason: Some(
                "field terminal: expected 12 hexadecimal digits (value \"00000100007Z\")".into(),
            ),
        },
    ];
    let mut out = Vec::new();
    let mut sink = crate::create_result(format, &mut out, &sample_result_meta(), tables)?;
    for e in &entries {
        sink.write(e)?;
    }
    sink.close(&ResultTotals {
        count: 3,
        amount_fen: recs[0].amount_fen + recs[1].amount_fen,
        accepted: 1,
        rejected: 2,
    })?;
    Ok(out)
}

/// The sample blacklist changes: the local card of record 1 reported lost, and an older entry
/// for a T-Union card lifted.
pub fn blacklist_entries() -> Vec<crate::blacklist::Entry> {
    use crate::blacklist::{Action, Entry};
    let parse = "sample constants parse";
    vec![
        Entry {
            scheme: Scheme::Local,
            issuer: card_standards::IssuerId {
                issuer_code: "2660".parse().expect(parse),
                city_code: "2660".parse().expect(parse),
            },
            card: "00002660000000001234".parse().expect(parse),
            action: Action::Add,
            effective: at(2026, 11, 21, 18, 0, 0),
            reason: "lost".into(),
        },
        Entry {
            scheme: Scheme::Mot,
            issuer: card_standards::IssuerId {
                issuer_code: "0101".parse().expect(parse),
                city_code: "4520".parse().expect(parse),
            },
            card: "03105170010170907984".parse().expect(parse),
            action: Action::Remove,
            effective: at(2026, 11, 21, 19, 30, 0),
            reason: "found by owner".into(),
        },
    ]
}

/// Every sample file as the writers produce it: `(file name, bytes)`. Each transaction format
/// holds the sample records it can carry ([`records_for`]).
pub fn sample_files(tables: &CodeTables) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let mut files = Vec::new();
    for format in Format::TRANSACTIONS {
        let recs = records_for(format, tables);
        files.push((
            sample_file_name(format),
            crate::write_all(format, &sample_meta(format), tables, &recs)?,
        ));
    }
    for format in Format::BLACKLISTS {
        files.push((
            sample_file_name(format),
            crate::blacklist::write_all_blacklist(
                format,
                &sample_meta(format),
                tables,
                &blacklist_entries(),
            )?,
        ));
    }
    for format in Format::TRANSACTIONS {
        files.push((
            sample_result_file_name(format),
            sample_result(format, tables)?,
        ));
    }
    Ok(files)
}

/// Whether `format` can carry `tx` (`Err` is the writer's [`Error::CannotCarry`](crate::Error)).
pub fn can_carry(format: Format, tx: &CanonicalTx, tables: &CodeTables) -> Result<()> {
    crate::CarryCheck::new(tables).check(format, tx)
}

/// The sample records `format` can carry.
pub fn records_for(format: Format, tables: &CodeTables) -> Vec<CanonicalTx> {
    records(tables)
        .into_iter()
        .filter(|tx| can_carry(format, tx, tables).is_ok())
        .collect()
}

/// The `i`-th synthetic record of a file of `format`: a sample record the format can carry,
/// with counters, amount and time varied so that every record has its own natural key. The
/// TACs of synthetic records are not genuine.
pub fn synthetic_record(base: &[CanonicalTx], i: u64) -> CanonicalTx {
    let mut tx = base[(i % base.len() as u64) as usize].clone();
    tx.card_seq = (i % 65_536) as u16;
    tx.terminal_seq = (i % u64::from(u32::MAX)) as u32;
    tx.amount_fen = 100 + (i % 900) as i64;
    tx.balance_before_fen = 100_000;
    tx.tx_time += TimeDelta::seconds((i % 86_400) as i64);
    if let Some(t) = &mut tx.tac {
        *t = Mac4((i as u32).to_be_bytes());
    }
    tx
}

#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A synthetic file of `n` records of one format, generated as it is read: a `Read` that never
/// holds more than a few records, for streaming tests and benchmarks of any size.
pub struct SyntheticFile {
    base: Vec<CanonicalTx>,
    sink: Option<Box<dyn TxSink>>,
    buf: Shared,
    pos: usize,
    next: u64,
    n: u64,
}

impl std::fmt::Debug for SyntheticFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyntheticFile")
            .field("next", &self.next)
            .field("n", &self.n)
            .finish_non_exhaustive()
    }
}

impl SyntheticFile {
    /// A file of `n` synthetic records of `format`, with the built-in code tables.
    pub fn new(format: Format, n: u64) -> Result<SyntheticFile> {
        let tables = CodeTables::builtin();
        let buf = Shared::default();
        let sink = crate::create(format, buf.clone(), &sample_meta(format), tables)?;
        Ok(SyntheticFile {
            base: records_for(format, tables),
            sink: Some(sink),
            buf,
            pos: 0,
            next: 0,
            n,
        })
    }
}

impl Read for SyntheticFile {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            {
                let mut b = self.buf.0.borrow_mut();
                if self.pos < b.len() {
                    let n = (b.len() - self.pos).min(out.len());
                    out[..n].copy_from_slice(&b[self.pos..self.pos + n]);
                    self.pos += n;
                    if self.pos == b.len() {
                        b.clear();
                        self.pos = 0;
                    }
                    return Ok(n);
                }
            }
            let Some(sink) = self.sink.as_mut() else {
                return Ok(0);
            };
            if self.next < self.n {
                // A few hundred records per refill keeps the buffer small.
                let stop = (self.next + 256).min(self.n);
                while self.next < stop {
                    let tx = synthetic_record(&self.base, self.next);
                    sink.write(&tx).map_err(io::Error::other)?;
                    self.next += 1;
                }
            } else if let Some(sink) = self.sink.take() {
                sink.close().map_err(io::Error::other)?;
            }
        }
    }
}
