//! Each scheme's and partner's file formats — transactions, blacklists and result files —
//! read into and written from canonical values as a stream, in constant memory whatever the
//! file's size.
//!
//! # Kind × family
//!
//! A [`Format`] is one **family** (the transaction format a participant speaks,
//! [`Format::family`]) in one **kind** ([`FileKind`]: transactions, blacklist, result;
//! [`Format::kind`], [`Format::of_kind`]); it knows its file extension ([`Format::extension`]).
//!
//! | family module | transactions | blacklist | result | code space |
//! |---|---|---|---|---|
//! | [`hutong_xml`] | `hutong-xml` `<TxFile>` | `hutong-blacklist` `<BlacklistFile>` | `hutong-result` `<ResultFile>` | canonical names |
//! | [`local_csv`] | `local-csv` (legacy M1 records included) | `local-csv-blacklist` | `local-csv-result` | local codes |
//! | [`mohurd`] | `mohurd` 交易上传包 / 交易下发包, modelled on CJ/T 332 **\[I\]** | `mohurd-blacklist` | `mohurd-result` | MOHURD codes |
//! | [`mot`] | `mot` T-Union exchange file, modelled on JT/T 978.4 **\[I\]** | `mot-blacklist` | `mot-result` | T-Union codes |
//! | [`pboc`] | `pboc` bank-card clearing batch, ED/EP and e-cash **\[I\]** | `pboc-blacklist` | `pboc-result` | PBOC codes, MCC |
//!
//! The kinds are the crate's top-level modules: transactions ([`open`], [`create`],
//! [`TxStream`]), [`blacklist`] ([`open_blacklist`], [`create_blacklist`]) and [`result`]
//! ([`open_result`], [`create_result`]). The three fixed-width families (`mohurd`, `mot`,
//! `pboc`) are read and written by **one engine**, [`fixed`]: a [`fixed::Reader`] and a
//! [`fixed::Writer`] driven by a [`fixed::Layout`] of [`lines::Col`] columns, generic over what
//! the columns hold ([`fixed::Item`], [`blacklist::BlacklistItem`], [`result::ResultItem`]). The
//! family folders hold only their layout tables (`layout.rs`, `blacklist.rs`, `result.rs`);
//! those layouts are hutong's own, since CJ/T 332, JT/T 978.4 and the bank batch are not
//! public, and a real layout replaces a table.
//!
//! Reading: [`identify`] names the format of any file — and so its family and kind — from its
//! first [`HEAD`] bytes ([`read_head`]); [`detect`] is the same for transaction and blacklist
//! files, [`detect_result`] for result files. [`open`] reads the header and returns a
//! [`TxStream`], an iterator of `Result<CanonicalTx>` that yields record-level errors (`R05`,
//! `R07`) without losing its place and ends at a file-level error (`F01`);
//! [`TxStream::finish`] then checks the trailer (`F02`). Every [`Error`] names the file, the
//! record (or line) and the field, and maps to a [`ReasonCode`], the one reason-code type the
//! hub's ingest uses too. Writing: [`create`] writes the header and returns a [`TxSink`]; the
//! trailer's count and total are computed while records stream through.
//!
//! Codes are translated through `card_standards`' [`CodeTables`]: city codes (MOHURD vs
//! T-Union), card types and industries per scheme. An unmapped code is an error naming the
//! code and the table, never a default.
//!
//! # Reading a file into canonical records
//!
//! ```
//! use adapters::{ReadOptions, TxStream};
//!
//! let file = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/mohurd-upload.txt"))?;
//! let format = adapters::detect(&file)?;
//! assert_eq!(format, adapters::Format::Mohurd);
//!
//! let mut stream = adapters::open(format, &file[..], ReadOptions::new("mohurd-upload.txt"))?;
//! assert_eq!(stream.meta().sender, "QDT01");
//! let mut records = Vec::new();
//! for item in &mut stream {
//!     match item {
//!         Ok(tx) => records.push(tx),              // stage it
//!         Err(e) => println!("{:?}: {e}", e.reason_code()), // R05/R07: reject this record
//!     }
//! }
//! let summary = stream.finish()?; // F01/F02 here: reject the whole file
//! assert_eq!(summary.records, records.len() as u64);
//! assert_eq!(records[0].card_serial.to_string(), "00002660000000001234");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod blacklist;
mod carry;
mod error;
mod fields;
pub mod fixed;
pub mod hutong_xml;
pub mod lines;
pub mod local_csv;
pub mod mohurd;
pub mod mot;
pub mod pboc;
pub mod result;
pub mod sample;
mod stream;

use std::io::{BufRead, Write};

use card_standards::{CanonicalTx, CodeTables};

pub use blacklist::{
    Action, BlacklistSink, BlacklistStream, Entry, create_blacklist, open_blacklist,
};
pub use carry::CarryCheck;
pub use error::{Error, Location, ReasonCode, Result};
pub use fields::{CodeSpace, Slot, is_ecash};
pub use result::{
    RecordStatus, ResultEntry, ResultMeta, ResultSink, ResultStream, ResultTotals, ResultTx,
    create_result, detect_result, open_result,
};
pub use stream::{Direction, FileMeta, FileSummary, ReadOptions, TxSink, TxStream};

/// What a file carries: the *kind* axis of the crate's kind × family layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    /// Transaction records ([`open`], [`create`]).
    Transactions,
    /// Blacklist changes ([`open_blacklist`], [`create_blacklist`]).
    Blacklist,
    /// Result lines: the answer to a file, record by record ([`open_result`],
    /// [`create_result`]).
    Result,
}

/// A file format this crate reads and writes: one family (the transaction format a participant
/// speaks, [`Format::family`]) in one [`FileKind`] ([`Format::kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// `hutong-xml` transaction file (`<TxFile xmlns="urn:hutong:txfile:1">`).
    HutongXml,
    /// `hutong-xml` blacklist file (`<BlacklistFile xmlns="urn:hutong:blacklist:1">`).
    HutongBlacklist,
    /// `local-csv`: the local city system's export.
    LocalCsv,
    /// `mohurd`: MOHURD upload/download package.
    Mohurd,
    /// `mot`: T-Union exchange file.
    Mot,
    /// `pboc`: bank-card clearing batch.
    Pboc,
    /// `local-csv-blacklist`: the local system's blacklist changes (hutong's layout).
    LocalCsvBlacklist,
    /// `mohurd-blacklist`: blacklist changes in the MOHURD fixed-width style **\[I\]**.
    MohurdBlacklist,
    /// `mot-blacklist`: blacklist changes in the T-Union fixed-width style **\[I\]**.
    MotBlacklist,
    /// `pboc-blacklist`: blacklist changes in the bank-batch fixed-width style **\[I\]**.
    PbocBlacklist,
    /// `hutong-result`: `<ResultFile xmlns="urn:hutong:result:1">`.
    HutongResult,
    /// `local-csv-result`: `H,local-csv-result,…`.
    LocalCsvResult,
    /// `mohurd-result`: result lines in the MOHURD fixed-width style **\[I\]**.
    MohurdResult,
    /// `mot-result`: result lines in the T-Union fixed-width style **\[I\]**.
    MotResult,
    /// `pboc-result`: result lines in the bank-batch fixed-width style **\[I\]**.
    PbocResult,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 15] = [
        Format::HutongXml,
        Format::HutongBlacklist,
        Format::LocalCsv,
        Format::Mohurd,
        Format::Mot,
        Format::Pboc,
        Format::LocalCsvBlacklist,
        Format::MohurdBlacklist,
        Format::MotBlacklist,
        Format::PbocBlacklist,
        Format::HutongResult,
        Format::LocalCsvResult,
        Format::MohurdResult,
        Format::MotResult,
        Format::PbocResult,
    ];

    /// The formats that carry transactions: the families.
    pub const TRANSACTIONS: [Format; 5] = [
        Format::HutongXml,
        Format::LocalCsv,
        Format::Mohurd,
        Format::Mot,
        Format::Pboc,
    ];

    /// The formats that carry blacklist changes, in the order of [`Format::TRANSACTIONS`].
    pub const BLACKLISTS: [Format; 5] = [
        Format::HutongBlacklist,
        Format::LocalCsvBlacklist,
        Format::MohurdBlacklist,
        Format::MotBlacklist,
        Format::PbocBlacklist,
    ];

    /// The formats that carry result lines, in the order of [`Format::TRANSACTIONS`].
    pub const RESULTS: [Format; 5] = [
        Format::HutongResult,
        Format::LocalCsvResult,
        Format::MohurdResult,
        Format::MotResult,
        Format::PbocResult,
    ];

    /// The format's name (`hutong-xml`, `local-csv`, …), as used in configuration and docs.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::HutongXml => "hutong-xml",
            Format::HutongBlacklist => "hutong-blacklist",
            Format::LocalCsv => "local-csv",
            Format::Mohurd => "mohurd",
            Format::Mot => "mot",
            Format::Pboc => "pboc",
            Format::LocalCsvBlacklist => "local-csv-blacklist",
            Format::MohurdBlacklist => "mohurd-blacklist",
            Format::MotBlacklist => "mot-blacklist",
            Format::PbocBlacklist => "pboc-blacklist",
            Format::HutongResult => "hutong-result",
            Format::LocalCsvResult => "local-csv-result",
            Format::MohurdResult => "mohurd-result",
            Format::MotResult => "mot-result",
            Format::PbocResult => "pboc-result",
        }
    }

    /// What files of this format carry.
    pub fn kind(self) -> FileKind {
        if Format::BLACKLISTS.contains(&self) {
            FileKind::Blacklist
        } else if Format::RESULTS.contains(&self) {
            FileKind::Result
        } else {
            FileKind::Transactions
        }
    }

    /// Whether files of this format carry blacklist changes (rather than transactions).
    pub fn is_blacklist(self) -> bool {
        self.kind() == FileKind::Blacklist
    }

    /// The transaction format of this format's family: `mohurd-blacklist` → `mohurd`,
    /// `hutong-blacklist` → `hutong-xml`, `mot-result` → `mot`; a transaction format is its own
    /// family. A participant "speaks" a family: its transactions, blacklists and result files.
    pub fn family(self) -> Format {
        match self {
            Format::HutongXml | Format::HutongBlacklist | Format::HutongResult => Format::HutongXml,
            Format::LocalCsv | Format::LocalCsvBlacklist | Format::LocalCsvResult => {
                Format::LocalCsv
            }
            Format::Mohurd | Format::MohurdBlacklist | Format::MohurdResult => Format::Mohurd,
            Format::Mot | Format::MotBlacklist | Format::MotResult => Format::Mot,
            Format::Pboc | Format::PbocBlacklist | Format::PbocResult => Format::Pboc,
        }
    }

    /// The format of `kind` in this format's family: `(mohurd, Blacklist)` →
    /// `mohurd-blacklist`, `(mot-blacklist, Result)` → `mot-result`.
    pub fn of_kind(self, kind: FileKind) -> Format {
        let i = Format::TRANSACTIONS
            .iter()
            .position(|f| *f == self.family())
            .unwrap_or(0);
        match kind {
            FileKind::Transactions => Format::TRANSACTIONS[i],
            FileKind::Blacklist => Format::BLACKLISTS[i],
            FileKind::Result => Format::RESULTS[i],
        }
    }

    /// The blacklist format of this format's family: `mohurd` → `mohurd-blacklist`.
    pub fn blacklist(self) -> Format {
        self.of_kind(FileKind::Blacklist)
    }

    /// The result format of this format's family: `mohurd` → `mohurd-result`.
    pub fn result(self) -> Format {
        self.of_kind(FileKind::Result)
    }

    /// The file-name extension of the format's files, whatever their kind: `xml` for
    /// hutong-xml, `csv` for local-csv, `dat` for the fixed-width families (the hub's outbound
    /// packages, `OUT_<day>_<participant>.dat`, and the blacklists it passes on).
    pub fn extension(self) -> &'static str {
        match self.family() {
            Format::HutongXml => "xml",
            Format::LocalCsv => "csv",
            _ => "dat",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| Error::UnknownFormat {
                file: String::new(),
                start: s.to_string(),
            })
    }
}

/// How many first bytes of a file [`identify`] looks at (and [`read_head`] reads): enough for
/// any signature, an XML declaration and comments before the root element included.
pub const HEAD: usize = 4096;

/// Reads the first [`HEAD`] bytes of `input` (fewer if it is shorter), for [`identify`].
pub fn read_head(mut input: impl std::io::Read) -> std::io::Result<Vec<u8>> {
    let mut head = vec![0u8; HEAD];
    let mut n = 0;
    while n < head.len() {
        match input.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(n);
    Ok(head)
}

/// The one detection routine: names the format — and so its family and [`FileKind`] — of a
/// file from its first bytes (a UTF-8 BOM and leading white space are skipped; [`HEAD`] bytes
/// are plenty, fewer work as long as they hold the signature). Fails with
/// [`Error::UnknownFormat`] (`F01`).
pub fn identify(first: &[u8]) -> Result<Format> {
    let s = first.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(first);
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let s = &s[start..];
    if s.starts_with(b"<") {
        let root = hutong_xml::root_element(s);
        return match root.as_deref() {
            Some("TxFile") => Ok(Format::HutongXml),
            Some("BlacklistFile") => Ok(Format::HutongBlacklist),
            Some("ResultFile") => Ok(Format::HutongResult),
            _ => Err(unknown(first)),
        };
    }
    let csv = [
        (local_csv::SIGNATURE.to_string(), Format::LocalCsv),
        (
            local_csv::BLACKLIST_SIGNATURE.to_string(),
            Format::LocalCsvBlacklist,
        ),
        (
            format!("H,{},", local_csv::result::TAG),
            Format::LocalCsvResult,
        ),
    ];
    if let Some((_, format)) = csv.iter().find(|(sig, _)| s.starts_with(sig.as_bytes())) {
        return Ok(*format);
    }
    let signatures = [
        (mohurd::LAYOUT.signature(), Format::Mohurd),
        (mot::LAYOUT.signature(), Format::Mot),
        (pboc::LAYOUT.signature(), Format::Pboc),
        (
            mohurd::BLACKLIST_LAYOUT.signature(),
            Format::MohurdBlacklist,
        ),
        (mot::BLACKLIST_LAYOUT.signature(), Format::MotBlacklist),
        (pboc::BLACKLIST_LAYOUT.signature(), Format::PbocBlacklist),
        (mohurd::RESULT_LAYOUT.signature(), Format::MohurdResult),
        (mot::RESULT_LAYOUT.signature(), Format::MotResult),
        (pboc::RESULT_LAYOUT.signature(), Format::PbocResult),
    ];
    signatures
        .iter()
        .find(|(sig, _)| s.starts_with(sig.as_bytes()))
        .map(|(_, format)| *format)
        .ok_or_else(|| unknown(first))
}

/// Names the format of a transaction or blacklist file from its first bytes: [`identify`],
/// refusing result files. Fails with [`Error::UnknownFormat`] (`F01`).
pub fn detect(first: &[u8]) -> Result<Format> {
    match identify(first)? {
        f if f.kind() == FileKind::Result => Err(unknown(first)),
        f => Ok(f),
    }
}

fn unknown(first: &[u8]) -> Error {
    Error::UnknownFormat {
        file: String::new(),
        start: String::from_utf8_lossy(&first[..first.len().min(24)]).into_owned(),
    }
}

/// Opens a transaction file of `format`: reads and checks its header (an `Err` here is `F01`)
/// and returns the stream of its records.
pub fn open<'a, R: BufRead + 'a>(
    format: Format,
    input: R,
    opts: ReadOptions<'a>,
) -> Result<Box<dyn TxStream + 'a>> {
    Ok(match format {
        Format::HutongXml => Box::new(hutong_xml::reader(input, opts)?),
        Format::LocalCsv => Box::new(local_csv::reader(input, opts)?),
        Format::Mohurd => Box::new(mohurd::reader(input, opts)?),
        Format::Mot => Box::new(mot::reader(input, opts)?),
        Format::Pboc => Box::new(pboc::reader(input, opts)?),
        _ => return Err(stream::wrong_content(opts.file, format, "transactions")),
    })
}

/// The one dispatch from a transaction format to its writer, boxed as the caller's sink type.
macro_rules! writer_for {
    ($format:expr, $out:expr, $meta:expr, $tables:expr) => {
        match $format {
            Format::HutongXml => Box::new(hutong_xml::writer($out, $meta, $tables)?),
            Format::LocalCsv => Box::new(local_csv::writer($out, $meta, $tables)?),
            Format::Mohurd => Box::new(mohurd::writer($out, $meta, $tables)?),
            Format::Mot => Box::new(mot::writer($out, $meta, $tables)?),
            Format::Pboc => Box::new(pboc::writer($out, $meta, $tables)?),
            _ => return Err(stream::wrong_content("", $format, "transactions")),
        }
    };
}

/// Starts a transaction file of `format` on `out`: writes its header and returns the sink that
/// takes the records.
pub fn create<'a, W: Write + 'a>(
    format: Format,
    out: W,
    meta: &FileMeta,
    tables: &'a CodeTables,
) -> Result<Box<dyn TxSink + 'a>> {
    Ok(writer_for!(format, out, meta, tables))
}

/// [`create`] for an output that may move between threads: the sink is `Send` too (what an
/// async task that holds a sink across an `.await` needs).
pub fn create_send<'a, W: Write + Send + 'a>(
    format: Format,
    out: W,
    meta: &FileMeta,
    tables: &'a CodeTables,
) -> Result<Box<dyn TxSink + Send + 'a>> {
    Ok(writer_for!(format, out, meta, tables))
}

/// Writes `records` as one whole file of `format` into memory (a convenience for tests, samples
/// and small files). Stops at the first record the format cannot carry.
pub fn write_all<'t>(
    format: Format,
    meta: &FileMeta,
    tables: &CodeTables,
    records: impl IntoIterator<Item = &'t CanonicalTx>,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut sink = create(format, &mut out, meta, tables)?;
        for tx in records {
            sink.write(tx)?;
        }
        sink.close()?;
    }
    Ok(out)
}
