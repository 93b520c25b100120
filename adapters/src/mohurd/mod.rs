//! `mohurd`: the MOHURD interconnection clearing packages, 交易上传包 (upload: a city sends the
//! transactions its terminals accepted on other cities' cards) and 交易下发包 (download: the
//! network passes a city the transactions on its own cards), **modelled on** CJ/T 332-2016.
//!
//! **The real layout is not public.** CJ/T 332 names the two packages and their file-naming
//! tables, but no record layout, file name or cut-off time has been published (STANDARDS.md §5).
//! This layout is hutong's: a header line, fixed-width detail lines carrying everything TAC
//! verification needs (serial, issuer and city, amount, type, terminal, terminal counter,
//! date-time, card counter, key version, algorithm id, TAC, authentication code) and the
//! acceptance facts, and a trailer with count and total. It lives in one table ([`HEADER`],
//! [`DETAIL`], [`TRAILER`]) so that the real one can replace it without touching the engine.
//!
//! Codes are MOHURD's: city codes are MOHURD 城市代码 (a T-Union card's city is translated
//! through the cities table), card types and industries are the `mohurd` rows of the code
//! tables. The package cannot carry legacy M1 records or records without a TAC (e-cash).
//! Field table and worked example: `docs/formats/mohurd.md`.

pub mod blacklist;
mod layout;
pub mod result;

use std::io::{BufRead, Write};

use card_standards::{CodeTables, Scheme};

pub use blacklist::LAYOUT as BLACKLIST_LAYOUT;
pub use layout::{DETAIL, HEADER, TRAILER};
pub use result::LAYOUT as RESULT_LAYOUT;

use crate::Format;
use crate::error::Result;
use crate::fields::CodeSpace;
use crate::fixed::{FixedReader, FixedWriter, Layout};
use crate::stream::{FileMeta, ReadOptions};

/// The format's layout: the three tables and its code space.
pub static LAYOUT: Layout = Layout {
    format: Format::Mohurd,
    space: CodeSpace::Network(Scheme::Mohurd),
    header: HEADER,
    detail: DETAIL,
    trailer: TRAILER,
};

/// A reader of this format: an iterator of canonical records (see [`TxStream`](crate::TxStream)).
pub type Reader<'a, R> = FixedReader<'a, R>;

/// A writer of this format.
pub type Writer<'a, W> = FixedWriter<'a, W>;

/// Opens a file of this format: reads and checks its header.
pub fn reader<R: BufRead>(input: R, opts: ReadOptions<'_>) -> Result<Reader<'_, R>> {
    FixedReader::open(&LAYOUT, input, opts.tables, opts.file)
}

/// Starts a file of this format: writes its header.
pub fn writer<'a, W: Write>(
    out: W,
    meta: &FileMeta,
    tables: &'a CodeTables,
) -> Result<Writer<'a, W>> {
    FixedWriter::new(&LAYOUT, out, meta, tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_table_is_contiguous_and_complete() {
        crate::fixed::check_table(&LAYOUT);
    }
}
