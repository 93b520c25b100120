//! `local-csv`: the local city system's transaction export, including legacy MIFARE Classic
//! (M1) wallet records.
//!
//! CSV (RFC 4180 quoting, UTF-8, `\n` or `\r\n`), one row per line, the first column naming the
//! row: `H` header, `D` detail, `T` trailer. Lines starting with `#` are comments.
//!
//! ```text
//! H,local-csv,1,QDT01,,42,2026-11-21T23:10:00
//! # D,scheme,issuer,city,card_serial,…
//! D,local,2660,2660,00002660000000001234,00,cpu,06,200,1000,17,000001000050,123,2026-11-21T08:15:02,01,00,1A2B3C4D,,01,QDT01,QDBUS,1,,
//! T,1,200
//! ```
//!
//! The header is `H,local-csv,VERSION,sender,receiver,seq,created` (version `1`, receiver may
//! be empty); the trailer `T,count,total` with the number of `D` rows and the sum of their
//! amounts. The `D` columns are in [`COLUMNS`]. Codes are the local system's: MOHURD city codes,
//! the `local` rows of the card-type and industry tables.
//!
//! M1 wallet records are `medium` = `m1` with an empty `tac`: an M1 card signs nothing, so
//! such a record can be checked only for its balance chain, not its TAC. This format carries
//! every field of the canonical record. The layout is the simulated city's own \[I\]; each city
//! exports its own. Field table and worked example: `docs/formats/local-csv.md`.

pub mod blacklist;
mod layout;
mod reader;
pub mod result;
mod writer;

pub use layout::{COLUMNS, Column};
pub use reader::Reader;
pub use writer::Writer;

use std::io::{BufRead, Write};

use card_standards::CodeTables;

use crate::Format;
use crate::error::{Error, Location, Result};
use crate::fields::{self, TimeStyle};
use crate::stream::{FileMeta, ReadOptions};

/// The first bytes of every local-csv file.
pub const SIGNATURE: &str = "H,local-csv,";

/// The first bytes of every local-csv blacklist file.
pub const BLACKLIST_SIGNATURE: &str = "H,local-csv-blacklist,";

/// The layout version this crate writes and reads.
pub const VERSION: &str = "1";

/// The `D` row's column table as Markdown, as `docs/formats/local-csv.md` shows it.
pub fn markdown() -> String {
    let mut s = String::from(
        "| # | column | required | meaning |\n|--:|---|:-:|---|\n| 0 | `D` | yes | record type |\n",
    );
    for (i, c) in COLUMNS.iter().enumerate() {
        s.push_str(&format!(
            "| {} | `{}` | {} | {} |\n",
            i + 1,
            c.name,
            if c.optional { "" } else { "yes" },
            c.meaning
        ));
    }
    s
}

/// Opens a file: reads and checks its header row.
pub fn reader<R: BufRead>(input: R, opts: ReadOptions<'_>) -> Result<Reader<'_, R>> {
    Reader::open(input, opts)
}

/// Starts a file: writes its header row and the column-names comment.
pub fn writer<'a, W: Write>(
    out: W,
    meta: &FileMeta,
    tables: &'a CodeTables,
) -> Result<Writer<'a, W>> {
    Writer::new(out, meta, tables)
}

/// Reads the `H` row of a blacklist or result file: `H,TAG,VERSION,sender,receiver,seq,created`
/// and, for `columns` > 7, more cells the caller reads itself.
pub(crate) fn read_header(
    row: &csv::ByteRecord,
    here: &Location,
    tag: &str,
    columns: usize,
) -> Result<FileMeta> {
    let get = |i: usize, name: &str| {
        std::str::from_utf8(row.get(i).unwrap_or(b""))
            .map_err(|_| Error::envelope(here.clone(), name, "not UTF-8"))
    };
    if row.len() != columns {
        return Err(Error::envelope(
            here.clone(),
            "header",
            format!(
                "expected {columns} columns H,{tag},version,sender,receiver,seq,created; got {}",
                row.len()
            ),
        ));
    }
    for (i, name, want) in [
        (0, "record type", "H"),
        (1, "format", tag),
        (2, "version", VERSION),
    ] {
        let t = get(i, name)?;
        if t != want {
            return Err(Error::envelope(
                here.clone(),
                name,
                format!("expected {want:?} (value {t:?})"),
            ));
        }
    }
    let sender = get(3, "sender")?;
    if sender.is_empty() {
        return Err(Error::envelope(here.clone(), "sender", "missing"));
    }
    let receiver = get(4, "receiver")?;
    let seq_t = get(5, "seq")?;
    let seq = seq_t
        .parse::<u64>()
        .ok()
        .filter(|_| seq_t.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            Error::envelope(
                here.clone(),
                "seq",
                format!("expected a decimal number (value {seq_t:?})"),
            )
        })?;
    let created_t = get(6, "created")?;
    let created = fields::read_time(TimeStyle::Iso, created_t).ok_or_else(|| {
        Error::envelope(
            here.clone(),
            "created",
            format!("expected a date-time YYYY-MM-DDThh:mm:ss (value {created_t:?})"),
        )
    })?;
    let mut meta = FileMeta::new(sender, seq, created);
    meta.receiver = (!receiver.is_empty()).then(|| receiver.to_string());
    Ok(meta)
}

/// The `H` row of a blacklist or result file, `extra` cells after `created`, and a comment
/// line naming the columns of its `record_type` rows.
pub(crate) fn write_header(
    format: Format,
    tag: &str,
    meta: &FileMeta,
    extra: &[&str],
    record_type: &str,
    names: &[&str],
) -> Result<Vec<u8>> {
    let out_err = |e: &dyn std::fmt::Display| Error::Output {
        format,
        message: e.to_string(),
    };
    if meta.sender.is_empty() {
        return Err(Error::CannotCarry {
            format,
            field: "sender",
            reason: "empty".into(),
        });
    }
    let mut created = String::new();
    fields::write_time(TimeStyle::Iso, meta.created, &mut created);
    let seq = meta.seq.to_string();
    let mut cells = vec![
        "H",
        tag,
        VERSION,
        meta.sender.as_str(),
        meta.receiver.as_deref().unwrap_or(""),
        seq.as_str(),
        created.as_str(),
    ];
    cells.extend_from_slice(extra);
    let mut head = csv::Writer::from_writer(Vec::new());
    head.write_record(&cells).map_err(|e| out_err(&e))?;
    let mut bytes = head.into_inner().map_err(|e| out_err(&e))?;
    bytes.extend_from_slice(b"# ");
    bytes.extend_from_slice(record_type.as_bytes());
    for n in names {
        bytes.push(b',');
        bytes.extend_from_slice(n.as_bytes());
    }
    bytes.push(b'\n');
    Ok(bytes)
}
