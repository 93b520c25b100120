//! Result files (回执): what the hub tells a sender about each record of a file it sent —
//! accepted, or rejected with a reason code — written in the sender's own format family.
//!
//! [`create_result`] starts a result file for any format of a family and returns a
//! [`ResultSink`]; the caller writes one [`ResultEntry`] per record (record `0` stands for the
//! file as a whole, for a whole-file rejection `F01`…`F05`) and closes it with the
//! [`ResultTotals`]. The formats:
//!
//! | family | shape | doc |
//! |---|---|---|
//! | `hutong-xml` | `<ResultFile xmlns="urn:hutong:result:1">`, XSD `schemas/result.xsd` ([`crate::hutong_xml::hub_result`], read by [`crate::hutong_xml::result`]) | `docs/formats/hutong-xml.md` |
//! | `local-csv` | `H,local-csv-result,1,…` / `R,…` / `T,…` ([`crate::local_csv::result`]) | `docs/formats/local-csv.md` |
//! | `mohurd`, `mot`, `pboc` | fixed width, `HMOHURS01…`, `HTUNIRS01…`, `HPBOCRS01…` **\[I\]** | `docs/formats/{mohurd,mot,pboc}.md` |
//!
//! The fixed-width layouts are hutong's own (no network's receipt layout is public), one table
//! each ([`ResultLayout`]) written by [`FixedResultWriter`]. Fixed-width result lines carry
//! the reason cut to its column and in printable ASCII; the XML and CSV results carry it whole.
//! What the record could be read as (scheme … amount) is absent for a record that could not be
//! read (`R07`), and for the whole-file entry.
//!
//! ## Reading results back
//!
//! Partners (the MOHURD network, T-Union, the bank, the local city) send the hub their results
//! for what the hub sent them, in their own family's layout. [`detect_result`] names the
//! family from a file's first bytes (`None` for transaction and blacklist files), and
//! [`open_result`] reads the file as a [`ResultStream`]: the header as [`ResultMeta`], then one
//! `Result<ResultEntry>` per line in constant memory, then the trailer as [`ResultTotals`]
//! ([`ResultStream::totals`], [`ResultStream::finish`]). The fixed-width layouts are read by
//! one engine driven by the [`ResultLayout`] tables ([`FixedResultReader`]), inverting what the
//! writer does: scheme digit, city code in the layout's space back to the card's own, T-Union
//! card number back to its serial, status `A`/`R`, blank record columns as `tx: None`.
//! A bad line is a record-level error (`R07`, `R05`; file, line and field named) and the next
//! item is the next line; a bad header or trailer is `F01`; a trailer whose count, total,
//! accepted or rejected count disagrees with the lines is `F02` (lines that failed count in
//! `count`, and in the total when their amount column reads; accepted and rejected are checked
//! only when every line read; a file answered as a whole, record 0, is not checked). A
//! `hutong-xml` result is read with [`crate::hutong_xml::result::Reader`] (the partner's
//! `<ResultFile>`, entries numbered by position); the hub's own XML results
//! ([`crate::hutong_xml::hub_result`]) are not read back.

use std::fmt::Write as _;
use std::io::Write;

use card_standards::{CanonicalTx, CardSerial, CodeTables, IssuerId, Scheme, TerminalId, TxKind};
use chrono::{NaiveDate, NaiveDateTime};

use crate::Format;
use crate::blacklist::city_to_file;
use crate::error::{Location, Result};
use crate::fields::{self, TimeStyle};

use crate::fixed::{self, Kind, Layout, Record, Writer};
use crate::lines::{self, Col};

mod reader;

pub(crate) use reader::{Cell, Tally, amount_of, finish_with, number, parse_entry};
pub use reader::{FixedResultReader, ResultStream, detect_result, open_result};

/// The header of a result file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultMeta {
    /// Who writes the result (the hub's participant code, `HUB` by default).
    pub sender: String,
    /// Whom the result is for (the sender of the file it answers), where the format has a
    /// place for it.
    pub receiver: Option<String>,
    /// The sequence number of the file this result answers (its sender's `seq`; 0 when its
    /// header could not be read).
    pub seq: u64,
    /// When the hub made the result (local time).
    pub created: NaiveDateTime,
    /// The settlement day the accepted records belong to, where known.
    pub day: Option<NaiveDate>,
}

/// A record's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordStatus {
    /// Accepted: stored, and cleared in a window.
    Accepted,
    /// Rejected with a reason code.
    Rejected,
}

impl RecordStatus {
    /// `accepted` or `rejected`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordStatus::Accepted => "accepted",
            RecordStatus::Rejected => "rejected",
        }
    }
}

/// What a result line repeats of the record, so that the sender can match it: its natural key
/// and amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResultTx {
    /// The card's scheme.
    pub scheme: Scheme,
    /// The card's issuer and city (the card's own city code).
    pub issuer: IssuerId,
    /// The card's serial.
    pub card: CardSerial,
    /// The card's counter.
    pub card_seq: u16,
    /// What the transaction did.
    pub kind: TxKind,
    /// The terminal (PSAM).
    pub terminal: TerminalId,
    /// The terminal's counter.
    pub terminal_seq: u32,
    /// The amount in fen.
    pub amount_fen: i64,
}

impl From<&CanonicalTx> for ResultTx {
    fn from(tx: &CanonicalTx) -> ResultTx {
        ResultTx {
            scheme: tx.scheme,
            issuer: tx.issuer,
            card: tx.card_serial,
            card_seq: tx.card_seq,
            kind: tx.kind(),
            terminal: tx.terminal,
            terminal_seq: tx.terminal_seq,
            amount_fen: tx.amount_fen,
        }
    }
}

/// One line of a result file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultEntry {
    /// The record's 1-based number in the file it answers; 0 for the file as a whole.
    pub record: u64,
    /// What the record was read as; `None` when it could not be read.
    pub tx: Option<ResultTx>,
    /// Accepted or rejected.
    pub status: RecordStatus,
    /// The reason code of a rejection (`R01`…, `F01`…).
    pub code: Option<String>,
    /// The field the rejection names, as the sender's format spells it.
    pub field: Option<String>,
    /// Why, in words.
    pub reason: Option<String>,
}

/// The totals at the end of a result file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResultTotals {
    /// Records in the file answered (as read).
    pub count: u64,
    /// The sum of their amounts, in fen.
    pub amount_fen: i64,
    /// Records accepted.
    pub accepted: u64,
    /// Records rejected (one by one, or with the whole file).
    pub rejected: u64,
}

/// A result file being written.
pub trait ResultSink {
    /// Writes one line.
    fn write(&mut self, entry: &ResultEntry) -> Result<()>;

    /// Writes the totals and flushes.
    fn close(self: Box<Self>, totals: &ResultTotals) -> Result<()>;
}

/// Starts a result file in the result format of `format`'s family (`mohurd` and
/// `mohurd-blacklist` both write the `mohurd` result layout).
pub fn create_result<'a, W: Write + 'a>(
    format: Format,
    out: W,
    meta: &ResultMeta,
    tables: &'a CodeTables,
) -> Result<Box<dyn ResultSink + 'a>> {
    if let Some(layout) = fixed::layout(format) {
        return Ok(Box::new(FixedResultWriter::new(layout, out, meta, tables)?));
    }
    Ok(match format.family() {
        Format::HutongXml => Box::new(crate::hutong_xml::hub_result::Writer::new(out, meta)?),
        _ => Box::new(crate::local_csv::result::Writer::new(out, meta, tables)?),
    })
}

/// What a column of a result file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultItem {
    /// A constant: record type, format tag, version.
    Const(&'static str),
    /// Header: who writes the result.
    Sender,
    /// Header: whom it is for.
    Receiver,
    /// Header: the sequence number of the file answered.
    Seq,
    /// Header: when the result was made.
    Created,
    /// Header: the settlement day, `YYYYMMDD` (blank: not known).
    Day,
    /// The record's number in the file answered (0: the file).
    Record,
    /// The card's scheme (a digit in fixed-width files, the name elsewhere).
    Scheme,
    /// The card issuer's code.
    Issuer,
    /// The card issuer's city code, in the format's code space.
    City,
    /// The 20-hex-digit serial.
    Card,
    /// The 19-digit T-Union card number.
    MotCard,
    /// The card's counter.
    CardSeq,
    /// The transaction kind (`purchase`, `load`, …).
    Kind,
    /// The terminal.
    Terminal,
    /// The terminal's counter.
    TerminalSeq,
    /// The amount, fen.
    Amount,
    /// `A` accepted / `R` rejected (fixed width), `accepted` / `rejected` elsewhere.
    Status,
    /// The reason code.
    Code,
    /// The field named.
    Field,
    /// The reason.
    Reason,
    /// Trailer: records answered.
    Count,
    /// Trailer: their total amount.
    Total,
    /// Trailer: records accepted.
    Accepted,
    /// Trailer: records rejected.
    Rejected,
}

/// A fixed-width result format: the engine's [`Layout`] over [`ResultItem`] columns (its
/// `format` is the family it answers; the city columns hold the codes of its `space`).
pub type ResultLayout = Layout<ResultItem>;

/// The text of an entry's item (unpadded) into `out`; false when absent. A value the
/// format's code space cannot express (a city the table does not translate, a serial that is
/// no T-Union number) is absent rather than an error: a result must always be written.
pub(crate) fn entry_text(
    item: ResultItem,
    e: &ResultEntry,
    tables: &CodeTables,
    city_space: Scheme,
    digit_scheme: bool,
    out: &mut String,
) -> bool {
    let tx = e.tx.as_ref();
    match item {
        ResultItem::Const(c) => out.push_str(c),
        ResultItem::Record => {
            let _ = write!(out, "{}", e.record);
        }
        ResultItem::Status => out.push_str(if digit_scheme {
            match e.status {
                RecordStatus::Accepted => "A",
                RecordStatus::Rejected => "R",
            }
        } else {
            e.status.as_str()
        }),
        ResultItem::Code => match &e.code {
            Some(c) => out.push_str(c),
            None => return false,
        },
        ResultItem::Field => match &e.field {
            Some(f) if !f.is_empty() => out.push_str(f),
            _ => return false,
        },
        ResultItem::Reason => match &e.reason {
            Some(r) if !r.is_empty() => out.push_str(r),
            _ => return false,
        },
        _ => {
            let Some(tx) = tx else { return false };
            match item {
                ResultItem::Scheme if digit_scheme => out.push(fields::scheme_digit(tx.scheme)),
                ResultItem::Scheme => out.push_str(tx.scheme.as_str()),
                ResultItem::Issuer => {
                    let _ = write!(out, "{}", tx.issuer.issuer_code);
                }
                ResultItem::City => {
                    match city_to_file(tables, city_space, tx.scheme, tx.issuer.city_code) {
                        Ok(c) => out.push_str(&c),
                        Err(_) => return false,
                    }
                }
                ResultItem::Card => {
                    let _ = write!(out, "{}", tx.card);
                }
                ResultItem::MotCard => {
                    let s = tx.card.to_string();
                    if !s.starts_with('0') || !fields::all_digits(&s) {
                        return false;
                    }
                    out.push_str(&s[1..]);
                }
                ResultItem::CardSeq => {
                    let _ = write!(out, "{}", tx.card_seq);
                }
                ResultItem::Kind => out.push_str(tx.kind.as_str()),
                ResultItem::Terminal => {
                    let _ = write!(out, "{}", tx.terminal);
                }
                ResultItem::TerminalSeq => {
                    let _ = write!(out, "{}", tx.terminal_seq);
                }
                ResultItem::Amount => {
                    if tx.amount_fen < 0 {
                        return false;
                    }
                    let _ = write!(out, "{}", tx.amount_fen);
                }
                _ => return false,
            }
        }
    }
    true
}

/// A writer of one fixed-width result file: the engine's [`Writer`].
pub type FixedResultWriter<'a, W> = Writer<'a, W, ResultItem>;

impl<W: Write> ResultSink for FixedResultWriter<'_, W> {
    fn write(&mut self, e: &ResultEntry) -> Result<()> {
        Writer::write(self, e)
    }

    fn close(self: Box<Self>, totals: &ResultTotals) -> Result<()> {
        (*self).finish_with(totals).map(|_| ())
    }
}

impl Record for ResultItem {
    type Value = ResultEntry;
    type Meta = ResultMeta;
    type Totals = ResultTotals;
    type Tally = Tally;
    const TAG: u8 = b'R';
    const NAME: &'static str = "result";
    const LENGTH: (&'static str, &'static str) = ("line", "");
    const CHECK_AT_END: bool = true;
    const LAYOUTS: [&'static ResultLayout; 3] = [
        &crate::mohurd::RESULT_LAYOUT,
        &crate::mot::RESULT_LAYOUT,
        &crate::pboc::RESULT_LAYOUT,
    ];

    fn constant(self) -> Option<&'static str> {
        match self {
            ResultItem::Const(c) => Some(c),
            _ => None,
        }
    }

    fn empty_meta() -> ResultMeta {
        ResultMeta {
            sender: String::new(),
            receiver: None,
            seq: 0,
            created: NaiveDateTime::MIN,
            day: None,
        }
    }

    fn read_header(self, meta: &mut ResultMeta, t: &str) -> std::result::Result<(), &'static str> {
        match self {
            ResultItem::Sender => meta.sender = t.to_string(),
            ResultItem::Receiver => meta.receiver = Some(t.to_string()),
            ResultItem::Seq => meta.seq = number(t).ok_or("expected a decimal number")?,
            ResultItem::Created => {
                meta.created = fields::read_time(TimeStyle::Compact, t)
                    .ok_or("expected a date-time YYYYMMDDhhmmss")?
            }
            ResultItem::Day => {
                meta.day = Some(
                    NaiveDate::parse_from_str(t, "%Y%m%d")
                        .ok()
                        .filter(|_| t.len() == 8 && fields::all_digits(t))
                        .ok_or("expected a date YYYYMMDD")?,
                )
            }
            _ => {}
        }
        Ok(())
    }

    fn write_header(self, meta: &ResultMeta, out: &mut String) {
        match self {
            ResultItem::Const(k) => out.push_str(k),
            ResultItem::Sender => out.push_str(&meta.sender),
            ResultItem::Receiver => out.push_str(meta.receiver.as_deref().unwrap_or("")),
            ResultItem::Seq => {
                let _ = write!(out, "{}", meta.seq);
            }
            ResultItem::Created => fields::write_time(TimeStyle::Compact, meta.created, out),
            ResultItem::Day => {
                if let Some(d) = meta.day {
                    let _ = write!(out, "{}", d.format("%Y%m%d"));
                }
            }
            _ => {}
        }
    }

    fn read_trailer(
        self,
        totals: &mut ResultTotals,
        t: &str,
    ) -> std::result::Result<(), &'static str> {
        let n = || number::<u64>(t).ok_or("expected a decimal number");
        match self {
            ResultItem::Count => totals.count = n()?,
            ResultItem::Total => {
                totals.amount_fen = number(t).ok_or("expected a decimal number")?
            }
            ResultItem::Accepted => totals.accepted = n()?,
            ResultItem::Rejected => totals.rejected = n()?,
            _ => {}
        }
        Ok(())
    }

    fn write_trailer(self, totals: &ResultTotals, out: &mut String) {
        let _ = match self {
            ResultItem::Const(k) => write!(out, "{k}"),
            ResultItem::Count => write!(out, "{}", totals.count),
            ResultItem::Total => write!(out, "{}", totals.amount_fen.max(0)),
            ResultItem::Accepted => write!(out, "{}", totals.accepted),
            ResultItem::Rejected => write!(out, "{}", totals.rejected),
            _ => Ok(()),
        };
    }

    fn failed(tally: &mut Tally) {
        tally.add_failed(None);
    }

    fn read_record(
        layout: &ResultLayout,
        tables: &CodeTables,
        line: &[u8],
        at: &Location,
        tally: &mut Tally,
    ) -> Result<ResultEntry> {
        let (cells, broken) = reader::cells_of(layout, line, at);
        let parsed = match broken {
            Some(e) => Err(e),
            None => parse_entry(&cells, tables, layout.city_space(), true, at),
        };
        match &parsed {
            Ok(e) => tally.add(e),
            Err(_) => tally.add_failed(amount_of(&cells)),
        }
        parsed
    }

    fn check(
        layout: &ResultLayout,
        tally: &Tally,
        _records: u64,
        totals: &ResultTotals,
        at: &Location,
    ) -> Result<()> {
        let names = [
            layout.trailer_name(ResultItem::Count, "record count"),
            layout.trailer_name(ResultItem::Total, "total amount"),
            layout.trailer_name(ResultItem::Accepted, "accepted"),
            layout.trailer_name(ResultItem::Rejected, "rejected"),
        ];
        tally.check(totals, at, names)
    }

    fn write_record(
        layout: &ResultLayout,
        tables: &CodeTables,
        e: &ResultEntry,
        line: &mut String,
    ) -> Result<Option<i128>> {
        let mut text = String::new();
        for c in layout.detail {
            text.clear();
            if !entry_text(c.item, e, tables, layout.city_space(), true, &mut text) {
                lines::blank(c, line);
                continue;
            }
            if matches!(c.item, ResultItem::Reason | ResultItem::Field) {
                lines::pad_lossy(c, &text, line);
            } else if lines::pad(layout.format, c, &text, c.name, line).is_err() {
                // A value too wide for its column (never one the readers accept): blank.
                lines::blank(c, line);
            }
        }
        Ok(None)
    }
}

/// The header every fixed-width result layout shares: `H` + tag(6) + `01` + sender(12) +
/// receiver(12) + seq(10) + created(14) + day(8).
pub(crate) const fn header(tag: &'static str) -> [Col<ResultItem>; 8] {
    use ResultItem as R;
    [
        lines::col(
            "record type",
            0,
            1,
            Kind::Text,
            R::Const("H"),
            "`H`: header",
        ),
        lines::col("format", 1, 6, Kind::Text, R::Const(tag), "format tag"),
        lines::col(
            "version",
            7,
            2,
            Kind::Numeric,
            R::Const("01"),
            "layout version `01`",
        ),
        lines::col(
            "sender",
            9,
            12,
            Kind::Text,
            R::Sender,
            "the hub's participant code",
        ),
        lines::ocol(
            "receiver",
            21,
            12,
            Kind::Text,
            R::Receiver,
            "the participant the result is for",
        ),
        lines::col(
            "file seq",
            33,
            10,
            Kind::Numeric,
            R::Seq,
            "`seq` of the file answered (0: its header was unreadable)",
        ),
        lines::col(
            "created",
            43,
            14,
            Kind::Numeric,
            R::Created,
            "when the result was made, `YYYYMMDDhhmmss`",
        ),
        lines::ocol(
            "day",
            57,
            8,
            Kind::Numeric,
            R::Day,
            "settlement day `YYYYMMDD`; blank: not yet known",
        ),
    ]
}

/// The trailer every fixed-width result layout shares.
pub(crate) const TRAILER: [Col<ResultItem>; 5] = {
    use ResultItem as R;
    [
        lines::col(
            "record type",
            0,
            1,
            Kind::Text,
            R::Const("T"),
            "`T`: trailer",
        ),
        lines::col(
            "record count",
            1,
            10,
            Kind::Numeric,
            R::Count,
            "records in the file answered",
        ),
        lines::col(
            "total amount",
            11,
            16,
            Kind::Numeric,
            R::Total,
            "their amounts' sum, fen",
        ),
        lines::col(
            "accepted",
            27,
            10,
            Kind::Numeric,
            R::Accepted,
            "records accepted",
        ),
        lines::col(
            "rejected",
            37,
            10,
            Kind::Numeric,
            R::Rejected,
            "records rejected",
        ),
    ]
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_result_tables_are_contiguous() {
        for layout in [
            &crate::mohurd::RESULT_LAYOUT,
            &crate::mot::RESULT_LAYOUT,
            &crate::pboc::RESULT_LAYOUT,
        ] {
            lines::check_contiguous("header", layout.header);
            lines::check_contiguous("detail", layout.detail);
            lines::check_contiguous("trailer", layout.trailer);
        }
    }
}
