//! `mot`: the T-Union exchange file between the clearing centre and its member institutions,
//! **modelled on** JT/T 978.4-2015 (信息接口).
//!
//! **The real layout is not public** (STANDARDS.md §5). This layout is hutong's: a header line,
//! fixed-width detail lines and a trailer with count and total, kept in one table ([`HEADER`],
//! [`DETAIL`], [`TRAILER`]) so that the real one can replace it. Each detail carries what TAC
//! verification needs and the 001E-style process information of public transport: the process
//! type (entry, exit, single fare, fare adjustment, load), the T-Union industry code, line and
//! station.
//!
//! Cards are numbered by their 19-digit T-Union card number (the 0015 serial without its first
//! digit); city codes are T-Union city codes (`cities.toml` `mot_code`), so a MOHURD-scheme card's
//! city is translated through the cities table; card types and industries are the `mot` rows of
//! the code tables. The file cannot carry M1 records, records without a TAC, MOHURD
//! authentication codes, or serials that are not 19 decimal digits after a leading 0.
//!
//! The canonical record has no entry/exit flag: a reader accepts process types 03, 04, 06 and
//! 08 for purchases and 0A for loads, and a writer writes 06 (single fare) and 0A.
//! Field table and worked example: `docs/formats/mot.md`.

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
    format: Format::Mot,
    space: CodeSpace::Network(Scheme::Mot),
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
