//! `pboc`: a bank-card clearing batch for PBOC cards: ED/EP purse transactions of co-branded
//! city cards (PBOC 2.0, with TAC) and e-cash transactions (PBOC 3.0 EC / qPBOC, with the
//! application cryptogram), sent to or received from the acquiring bank.
//!
//! **The real layout is not public**: each acquiring bank and the card network define their own
//! batch files (STANDARDS.md §5). This layout is hutong's, kept in one table ([`HEADER`],
//! [`DETAIL`], [`TRAILER`]) so that a bank's real one can replace it. Amounts are 12 digits, as
//! the EMV amount tag 9F02 has them; industries are ISO 18245 merchant category codes from the
//! `pboc` rows of the industries table; city codes are MOHURD city codes.
//!
//! **E-cash in the canonical record** \[I\]: an EC record has no TAC; its CID (tag 9F27, 1 byte)
//! and application cryptogram (tag 9F26, 8 bytes) travel together as the record's 9-byte
//! `auth_code`, and its ATC (tag 9F36) as `card_seq`. [`is_ecash`](crate::is_ecash) tells such a
//! record. The batch cannot carry M1 records.
//! Field table and worked example: `docs/formats/pboc.md`.

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
    format: Format::Pboc,
    space: CodeSpace::Network(Scheme::Pboc),
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
