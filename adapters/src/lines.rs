//! The table machinery of every line-based format: the one fixed-width column type ([`Col`])
//! of the `mohurd`, `mot` and `pboc` families — for transactions, blacklists and result files
//! alike — and a CSV column ([`CsvCol`]) for `local-csv`'s blacklist and result files, each
//! generic over what the column holds (a [`fixed::Item`](crate::fixed::Item), a
//! [`BlacklistItem`](crate::blacklist::BlacklistItem) or a
//! [`ResultItem`](crate::result::ResultItem)).
//!
//! A format's file *is* its table: the one fixed-width engine (`fixed.rs`) reads and writes any
//! table of [`Col`]s, and adopting a real layout means editing the table. The fixed-width
//! tables are hutong's own **\[I\]**: none of CJ/T 332, JT/T 978.4 or the banks' batch formats
//! is public.

use std::fmt::Write as _;

use crate::Format;
use crate::error::{Error, Result};
use crate::fixed::Kind;

/// One column of a fixed-width line.
#[derive(Debug, Clone, Copy)]
pub struct Col<I> {
    /// The column's name, as errors and docs spell it.
    pub name: &'static str,
    /// 0-based byte offset in the line.
    pub offset: usize,
    /// Width in bytes.
    pub width: usize,
    /// Padding and character set.
    pub kind: Kind,
    /// What it holds.
    pub item: I,
    /// Whether it may be blank.
    pub optional: bool,
    /// What it means, for the docs.
    pub meaning: &'static str,
}

/// Shorthand for a required fixed-width column.
pub(crate) const fn col<I>(
    name: &'static str,
    offset: usize,
    width: usize,
    kind: Kind,
    item: I,
    meaning: &'static str,
) -> Col<I> {
    Col {
        name,
        offset,
        width,
        kind,
        item,
        optional: false,
        meaning,
    }
}

/// Shorthand for an optional fixed-width column.
pub(crate) const fn ocol<I>(
    name: &'static str,
    offset: usize,
    width: usize,
    kind: Kind,
    item: I,
    meaning: &'static str,
) -> Col<I> {
    Col {
        name,
        offset,
        width,
        kind,
        item,
        optional: true,
        meaning,
    }
}

/// One column of a CSV row (after the leading record-type column).
#[derive(Debug, Clone, Copy)]
pub struct CsvCol<I> {
    /// The column's name.
    pub name: &'static str,
    /// What it holds.
    pub item: I,
    /// Whether it may be empty.
    pub optional: bool,
    /// What it means, for the docs.
    pub meaning: &'static str,
}

/// Shorthand for a required CSV column.
pub(crate) const fn csv<I>(name: &'static str, item: I, meaning: &'static str) -> CsvCol<I> {
    CsvCol {
        name,
        item,
        optional: false,
        meaning,
    }
}

/// Shorthand for an optional CSV column.
pub(crate) const fn ocsv<I>(name: &'static str, item: I, meaning: &'static str) -> CsvCol<I> {
    CsvCol {
        name,
        item,
        optional: true,
        meaning,
    }
}

/// The length of a line of this table (the end of its last column).
pub fn record_len<I>(table: &[Col<I>]) -> usize {
    table.iter().map(|c| c.offset + c.width).max().unwrap_or(0)
}

/// A fixed-width table as Markdown (offset, width, kind, name, meaning), as the docs show it.
pub fn markdown<I>(table: &[Col<I>]) -> String {
    let mut s =
        String::from("| offset | width | kind | field | meaning |\n|---:|---:|:-:|---|---|\n");
    for c in table {
        let _ = writeln!(
            s,
            "| {} | {} | {} | `{}`{} | {} |",
            c.offset,
            c.width,
            c.kind.letter(),
            c.name,
            if c.optional { " (optional)" } else { "" },
            c.meaning
        );
    }
    s
}

/// A CSV table as Markdown (position, name, required, meaning); `first` names column 0.
pub fn csv_markdown<I>(first: &str, table: &[CsvCol<I>]) -> String {
    let mut s = format!(
        "| # | column | required | meaning |\n|--:|---|:-:|---|\n| 0 | `{first}` | yes | record type |\n"
    );
    for (i, c) in table.iter().enumerate() {
        let _ = writeln!(
            s,
            "| {} | `{}` | {} | {} |",
            i + 1,
            c.name,
            if c.optional { "" } else { "yes" },
            c.meaning
        );
    }
    s
}

/// The text of one column of a line; `None` for a blank column. The line must be at least
/// [`record_len`] long.
pub(crate) fn text_of<'l, I>(
    line: &'l [u8],
    c: &Col<I>,
) -> std::result::Result<Option<&'l str>, &'static str> {
    let raw = line
        .get(c.offset..c.offset + c.width)
        .ok_or("the line is too short")?;
    if !raw.iter().all(|b| (0x20..0x7F).contains(b)) {
        return Err("not printable ASCII");
    }
    let text = std::str::from_utf8(raw).map_err(|_| "not printable ASCII")?;
    if text.bytes().all(|b| b == b' ') {
        return Ok(None);
    }
    Ok(Some(match c.kind {
        Kind::Text => text.trim_end_matches(' '),
        Kind::Numeric | Kind::Hex => text,
    }))
}

/// Writes `text` into `out` padded to the column (see `fixed.rs` for the rules), or fails with
/// [`Error::CannotCarry`] naming `field`.
pub(crate) fn pad<I>(
    format: Format,
    c: &Col<I>,
    text: &str,
    field: &'static str,
    out: &mut String,
) -> Result<()> {
    let cannot = |reason: String| Error::CannotCarry {
        format,
        field,
        reason,
    };
    match c.kind {
        Kind::Numeric => {
            if !text.bytes().all(|b| b.is_ascii_digit()) || text.len() > c.width {
                return Err(cannot(format!(
                    "{text:?} does not fit {} ({} digits)",
                    c.name, c.width
                )));
            }
            out.extend(std::iter::repeat_n('0', c.width - text.len()));
            out.push_str(text);
        }
        Kind::Hex => {
            if !text.bytes().all(|b| b.is_ascii_hexdigit()) || text.len() != c.width {
                return Err(cannot(format!(
                    "{text:?} does not fit {} ({} hex digits)",
                    c.name, c.width
                )));
            }
            out.push_str(&text.to_ascii_uppercase());
        }
        Kind::Text => {
            if !text.bytes().all(|b| (0x20..0x7F).contains(&b))
                || text.len() > c.width
                || text.ends_with(' ')
            {
                return Err(cannot(format!(
                    "{text:?} does not fit {} (at most {} printable ASCII characters, no trailing space)",
                    c.name, c.width
                )));
            }
            out.push_str(text);
            out.extend(std::iter::repeat_n(' ', c.width - text.len()));
        }
    }
    Ok(())
}

/// Writes free text into a text column, lossily: characters that are not printable ASCII
/// become `?`, the text is cut to the column's width, trailing spaces are dropped. (Reasons
/// and field names in fixed-width result files; the JSON result and the XML and CSV result
/// files carry them whole.)
pub(crate) fn pad_lossy<I>(c: &Col<I>, text: &str, out: &mut String) {
    let mut clean: String = text
        .chars()
        .map(|ch| if (' '..='~').contains(&ch) { ch } else { '?' })
        .take(c.width)
        .collect();
    while clean.ends_with(' ') {
        clean.pop();
    }
    out.push_str(&clean);
    out.extend(std::iter::repeat_n(' ', c.width - clean.len()));
}

/// Blank columns.
pub(crate) fn blank<I>(c: &Col<I>, out: &mut String) {
    out.extend(std::iter::repeat_n(' ', c.width));
}

/// The constant prefix of a header table (record type, format tag, version): a file's
/// signature for [`detect`](crate::detect).
pub(crate) fn signature<I: Copy>(
    table: &[Col<I>],
    constant: impl Fn(I) -> Option<&'static str>,
) -> String {
    table.iter().map_while(|c| constant(c.item)).collect()
}

/// Checks that a table's columns follow each other without gaps or overlaps.
#[cfg(test)]
pub(crate) fn check_contiguous<I>(what: &str, table: &[Col<I>]) {
    let mut end = 0;
    for c in table {
        assert_eq!(
            c.offset, end,
            "{what}: column {} starts at {}, expected {end}",
            c.name, c.offset
        );
        end = c.offset + c.width;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossy_text_is_cut_to_width_and_keeps_only_printable_ascii() {
        let c = col("reason", 0, 8, Kind::Text, (), "");
        let mut out = String::new();
        pad_lossy(&c, "卡 lost today", &mut out);
        assert_eq!(out, "? lost t");
        out.clear();
        pad_lossy(&c, "ab  ", &mut out);
        assert_eq!(out, "ab      ");
    }
}
