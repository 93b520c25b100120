//! The one fixed-width engine behind the `mohurd`, `mot` and `pboc` families: one reader
//! ([`Reader`]) and one writer ([`Writer`]) driven by a [`Layout`] table of [`Col`]umns, generic
//! over what the columns hold — a transaction [`Item`], a
//! [`BlacklistItem`](crate::blacklist::BlacklistItem) or a
//! [`ResultItem`](crate::result::ResultItem), each a [`Record`] — so that a format is its table
//! and a real layout can replace an inferred one by editing the table alone.
//!
//! A file is lines of ASCII, each ending in `\n` (a `\r\n` is accepted on reading): one header
//! line (`H…`), record lines (`D…`; `R…` in result files), one trailer line (`T…`). Every line
//! kind has a fixed length given by its table. Numeric fields are right-aligned and zero-padded, hexadecimal
//! fields are exactly their width in upper case, text fields are left-aligned and padded with
//! spaces; an optional field that is absent is all spaces.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{BufRead, Write};

use card_standards::{CanonicalTx, CodeTables};

use crate::Format;
use crate::error::{Error, Location, Result};
use crate::fields::{self, CodeSpace, Codec, Slot, Texts, TimeStyle};
use crate::lines::{self, Col};
use crate::stream::{self, Direction, FileMeta, FileSummary, Line, Tally, TxSink, TxStream};

/// How a fixed-width field is padded and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Decimal digits, right-aligned, zero-padded.
    Numeric,
    /// Hexadecimal digits, exactly the width, upper case.
    Hex,
    /// Printable ASCII, left-aligned, space-padded.
    Text,
}

impl Kind {
    /// The one-letter name used in the docs' field tables (`N`, `X`, `A`).
    pub fn letter(self) -> char {
        match self {
            Kind::Numeric => 'N',
            Kind::Hex => 'X',
            Kind::Text => 'A',
        }
    }
}

/// What a header or trailer field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope {
    /// The sender's participant code.
    Sender,
    /// The receiver's participant code (blank: none).
    Receiver,
    /// The file sequence number.
    Seq,
    /// Creation date-time `YYYYMMDDhhmmss`.
    Created,
    /// MOHURD: `UP` (交易上传包) or `DN` (交易下发包).
    Direction,
    /// Trailer: number of detail records.
    Count,
    /// Trailer: sum of the detail records' amounts, in fen.
    Total,
}

/// What a field holds: a constant, a canonical [`Slot`] (detail records) or an envelope item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// A constant: the record type, the format tag, the version.
    Const(&'static str),
    /// A fact of the canonical record.
    Slot(Slot),
    /// A header or trailer item.
    Envelope(Envelope),
}

/// One field of a fixed-width transaction record: the crate's one column type,
/// [`Col`], holding an [`Item`].
pub type Field = Col<Item>;

impl Item {
    fn constant(self) -> Option<&'static str> {
        match self {
            Item::Const(c) => Some(c),
            _ => None,
        }
    }
}

/// A fixed-width format of one kind: its three line tables and whose codes it speaks. `I` is
/// what its columns hold: [`Item`] (transactions), [`BlacklistItem`](crate::blacklist::BlacklistItem)
/// or [`ResultItem`](crate::result::ResultItem).
#[derive(Debug)]
pub struct Layout<I: 'static = Item> {
    /// The format (for result layouts, the family they answer).
    pub format: Format,
    /// Whose codes its city, card-type and industry columns hold.
    pub space: CodeSpace,
    /// The header line (`H`).
    pub header: &'static [Col<I>],
    /// A record line (`D`; `R` in result files).
    pub detail: &'static [Col<I>],
    /// The trailer line (`T`).
    pub trailer: &'static [Col<I>],
}

impl<I: Record> Layout<I> {
    /// The length of a line of this table (the end of its last column):
    /// [`lines::record_len`].
    pub fn record_len(table: &[Col<I>]) -> usize {
        lines::record_len(table)
    }

    /// The table as a Markdown table (offset, width, kind, name, meaning), as the docs in
    /// `docs/formats/` show it: [`lines::markdown`].
    pub fn markdown(table: &[Col<I>]) -> String {
        lines::markdown(table)
    }

    /// The first bytes of every file of this format (record type, format tag, version), for
    /// [`identify`](crate::identify).
    pub fn signature(&self) -> String {
        lines::signature(self.header, I::constant)
    }

    /// Whose city codes the city columns hold (a network's; MOHURD's for the canonical space,
    /// which no fixed-width layout uses).
    pub(crate) fn city_space(&self) -> card_standards::Scheme {
        match self.space {
            CodeSpace::Network(s) => s,
            CodeSpace::Canonical => card_standards::Scheme::Mohurd,
        }
    }

    /// The longest line the reader keeps: longer lines are reported, not stored.
    fn limit(&self) -> usize {
        [self.header, self.detail, self.trailer]
            .into_iter()
            .map(lines::record_len)
            .max()
            .unwrap_or(0)
            + 2
    }

    /// The name of the trailer column holding `item`, or `default`.
    pub(crate) fn trailer_name(&self, item: I, default: &'static str) -> &'static str {
        self.trailer
            .iter()
            .find(|c| c.item == item)
            .map_or(default, |c| c.name)
    }
}

/// One kind of fixed-width file as the engine sees it: what its columns hold (`Self`), what a
/// record line is read into and written from, and what its header and trailer carry. The
/// engine does the rest: lines, lengths, padding, constants, framing and file-level errors.
pub trait Record: Copy + PartialEq + std::fmt::Debug + 'static {
    /// What one record line is (a transaction, a blacklist entry, a result line).
    type Value;
    /// What the header says.
    type Meta: Clone;
    /// What the trailer says.
    type Totals: Clone + Default;
    /// What the record lines read so far add up to, for the trailer check.
    type Tally: Default;

    /// The record type of a record line (`D`, or `R` in result files).
    const TAG: u8;
    /// What a record line is called in errors (`detail`, `entry`, `result`).
    const NAME: &'static str;
    /// How a record line of the wrong length is described: its noun and a suffix.
    const LENGTH: (&'static str, &'static str);
    /// Whether the trailer is checked when the last line is read (the iterator yields the
    /// `F02`) rather than only by `finish`.
    const CHECK_AT_END: bool;
    /// The layouts of this kind, one per fixed-width family (`mohurd`, `mot`, `pboc`).
    const LAYOUTS: [&'static Layout<Self>; 3];

    /// The constant a column holds, if it holds one.
    fn constant(self) -> Option<&'static str>;
    /// The header before it is read.
    fn empty_meta() -> Self::Meta;
    /// Takes a header column's (non-blank) text into the header; `Err` says why it is wrong.
    fn read_header(
        self,
        meta: &mut Self::Meta,
        text: &str,
    ) -> std::result::Result<(), &'static str>;
    /// A header column's text (empty: none).
    fn write_header(self, meta: &Self::Meta, out: &mut String);
    /// Takes a trailer column's text into the totals; `Err` says why it is wrong.
    fn read_trailer(
        self,
        totals: &mut Self::Totals,
        text: &str,
    ) -> std::result::Result<(), &'static str>;
    /// A trailer column's text.
    fn write_trailer(self, totals: &Self::Totals, out: &mut String);
    /// Counts a line that could not be read as a record at all (too long, wrong length, wrong
    /// record type).
    fn failed(tally: &mut Self::Tally);
    /// Reads a record line of the right length, counting it in the tally whatever the outcome.
    fn read_record(
        layout: &Layout<Self>,
        tables: &CodeTables,
        line: &[u8],
        at: &Location,
        tally: &mut Self::Tally,
    ) -> Result<Self::Value>;
    /// Checks the trailer against the tally and the number of record lines (`F02`).
    fn check(
        layout: &Layout<Self>,
        tally: &Self::Tally,
        records: u64,
        totals: &Self::Totals,
        at: &Location,
    ) -> Result<()>;
    /// Writes a record line's columns into `line` (without its line end); returns the amount
    /// to add to the written total, if the kind has one.
    fn write_record(
        layout: &Layout<Self>,
        tables: &CodeTables,
        value: &Self::Value,
        line: &mut String,
    ) -> Result<Option<i128>>;
}

/// The fixed-width layout of kind `I` in `format`'s family; `None` for a family that is not
/// fixed-width (`hutong-xml`, `local-csv`).
pub fn layout<I: Record>(format: Format) -> Option<&'static Layout<I>> {
    I::LAYOUTS
        .into_iter()
        .find(|l| l.format.family() == format.family())
}

/// The text of a column of a header or trailer, checked against a constant, or the error.
fn envelope_text<'l, I: Record>(
    line: &'l [u8],
    c: &Col<I>,
    at: &Location,
) -> Result<Option<&'l str>> {
    let text = lines::text_of(line, c).map_err(|why| Error::envelope(at.clone(), c.name, why))?;
    if let (Some(k), Some(t)) = (c.item.constant(), text)
        && t != k
    {
        return Err(Error::envelope(
            at.clone(),
            c.name,
            format!("expected {k:?} (value {t:?})"),
        ));
    }
    Ok(text)
}

/// A reader of one fixed-width file of any kind.
pub struct Reader<'a, R, I: Record> {
    input: R,
    pub(crate) layout: &'static Layout<I>,
    tables: &'a CodeTables,
    pub(crate) file: String,
    pub(crate) meta: I::Meta,
    line: u64,
    pub(crate) records: u64,
    buf: Vec<u8>,
    pub(crate) tally: I::Tally,
    pub(crate) trailer: Option<(I::Totals, Location)>,
    pub(crate) checked: bool,
    fatal: Option<Error>,
    done: bool,
}

impl<R, I: Record> std::fmt::Debug for Reader<'_, R, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("fixed::Reader")
            .field("format", &self.layout.format)
            .field("file", &self.file)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

fn length_error(line: &[u8], table: &[Col<impl Record>], at: &Location, what: &str) -> Result<()> {
    let want = lines::record_len(table);
    if line.len() != want {
        return Err(Error::envelope(
            at.clone(),
            format!("{what} length"),
            format!("{what} is {} bytes, expected {want}", line.len()),
        ));
    }
    Ok(())
}

impl<'a, R: BufRead, I: Record> Reader<'a, R, I> {
    /// Opens a file: reads and checks the header line (`F01` if it is broken). `file` names
    /// the file in errors; `tables` translate codes.
    pub fn open(
        layout: &'static Layout<I>,
        mut input: R,
        tables: &'a CodeTables,
        file: &str,
    ) -> Result<Self> {
        let mut buf = Vec::new();
        let at = Location {
            file: file.to_string(),
            record: None,
            line: Some(1),
        };
        match stream::read_line(&mut input, &mut buf, layout.limit()) {
            Err(e) => return Err(stream::input_error(at, &e)),
            Ok(Line::Eof) => return Err(Error::envelope(at, "header", "the file is empty")),
            Ok(_) => {}
        }
        length_error(&buf, layout.header, &at, "header")?;
        let mut meta = I::empty_meta();
        for c in layout.header {
            let text = envelope_text(&buf, c, &at)?;
            let bad = |why: &str| {
                Error::envelope(
                    at.clone(),
                    c.name,
                    format!("{why} (value {:?})", text.unwrap_or("")),
                )
            };
            match text {
                None if c.optional => {}
                None => return Err(bad("missing")),
                Some(t) => c.item.read_header(&mut meta, t).map_err(bad)?,
            }
        }
        Ok(Reader {
            input,
            layout,
            tables,
            file: file.to_string(),
            meta,
            line: 1,
            records: 0,
            buf,
            tally: I::Tally::default(),
            trailer: None,
            checked: false,
            fatal: None,
            done: false,
        })
    }

    fn at(&self, record: Option<u64>) -> Location {
        Location {
            file: self.file.clone(),
            record,
            line: Some(self.line),
        }
    }

    /// Ends the stream with a file-level error, yielded once.
    fn fail(&mut self, e: Error) -> Option<Result<I::Value>> {
        self.done = true;
        self.fatal = Some(e.clone());
        Some(Err(e))
    }

    fn read_trailer(&self) -> Result<I::Totals> {
        let at = self.at(None);
        length_error(&self.buf, self.layout.trailer, &at, "trailer")?;
        let mut totals = I::Totals::default();
        for c in self.layout.trailer {
            let text = envelope_text(&self.buf, c, &at)?;
            let bad = |why: &str| {
                Error::envelope(
                    at.clone(),
                    c.name,
                    format!("{why} (value {:?})", text.unwrap_or("")),
                )
            };
            let t = text.ok_or_else(|| bad("missing"))?;
            c.item.read_trailer(&mut totals, t).map_err(bad)?;
        }
        Ok(totals)
    }

    /// A record line that is not one: counted, and an `R07` naming `field`.
    fn not_a_record(
        &mut self,
        field: &'static str,
        value: &str,
        reason: String,
    ) -> Result<I::Value> {
        I::failed(&mut self.tally);
        Err(Error::Field {
            at: self.at(Some(self.records)),
            field,
            value: value.to_string(),
            reason,
        })
    }

    fn read_record(&mut self) -> Result<I::Value> {
        self.records += 1;
        let want = lines::record_len(self.layout.detail);
        if self.buf.len() != want {
            let (noun, suffix) = I::LENGTH;
            let reason = format!(
                "{noun} is {} bytes, expected {want}{suffix}",
                self.buf.len()
            );
            return self.not_a_record("record length", "", reason);
        }
        let at = self.at(Some(self.records));
        I::read_record(self.layout, self.tables, &self.buf, &at, &mut self.tally)
    }

    /// Reads to the end; the file-level error, or the trailer's totals (checked).
    pub(crate) fn end(&mut self) -> Result<I::Totals> {
        while self.next().is_some() {}
        if let Some(e) = &self.fatal {
            return Err(e.clone());
        }
        let (totals, at) = self
            .trailer
            .clone()
            .ok_or_else(|| Error::envelope(self.at(None), "trailer", "missing"))?;
        if !self.checked {
            I::check(self.layout, &self.tally, self.records, &totals, &at)?;
        }
        Ok(totals)
    }

    /// The bytes of the record line the last item came from.
    pub(crate) fn raw(&self) -> Option<Cow<'_, [u8]>> {
        (self.records > 0).then_some(Cow::Borrowed(&self.buf[..]))
    }
}

impl<R: BufRead, I: Record> Iterator for Reader<'_, R, I> {
    type Item = Result<I::Value>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let limit = self.layout.limit();
        loop {
            let read = stream::read_line(&mut self.input, &mut self.buf, limit);
            self.line += 1;
            let line = match read {
                Err(e) => {
                    let at = self.at(None);
                    return self.fail(stream::input_error(at, &e));
                }
                Ok(l) => l,
            };
            if line == Line::Eof {
                self.line -= 1;
                self.done = true;
                let Some((totals, at)) = &self.trailer else {
                    let at = self.at(None);
                    return self.fail(Error::envelope(
                        at,
                        "trailer",
                        "the file ends without a trailer line",
                    ));
                };
                if I::CHECK_AT_END {
                    match I::check(self.layout, &self.tally, self.records, totals, at) {
                        Ok(()) => self.checked = true,
                        Err(e) => return self.fail(e),
                    }
                }
                return None;
            }
            if self.trailer.is_some() {
                if self.buf.iter().all(|b| b.is_ascii_whitespace()) {
                    continue;
                }
                let at = self.at(None);
                return self.fail(Error::envelope(
                    at,
                    "trailer",
                    "data after the trailer line",
                ));
            }
            if line == Line::TooLong {
                self.records += 1;
                let reason = format!("line longer than {} bytes", limit - 2);
                return Some(self.not_a_record("record length", "", reason));
            }
            match self.buf.first() {
                None => continue,
                Some(&b) if b == I::TAG => return Some(self.read_record()),
                Some(b'T') => match self.read_trailer() {
                    Ok(totals) => {
                        let at = self.at(None);
                        self.trailer = Some((totals, at));
                    }
                    Err(e) => return self.fail(e),
                },
                Some(b'H') => {
                    let at = self.at(None);
                    return self.fail(Error::envelope(at, "header", "a second header line"));
                }
                Some(_) => {
                    self.records += 1;
                    let head = String::from_utf8_lossy(&self.buf[..1]).into_owned();
                    let reason = format!("expected {} ({}), H or T", char::from(I::TAG), I::NAME);
                    let e = self.not_a_record("record type", &head, reason);
                    return Some(e);
                }
            }
        }
    }
}

/// A writer of one fixed-width file of any kind.
pub struct Writer<'a, W: Write, I: Record> {
    out: W,
    pub(crate) layout: &'static Layout<I>,
    tables: &'a CodeTables,
    meta: I::Meta,
    pub(crate) tally: Tally,
    line: String,
}

impl<W: Write, I: Record> std::fmt::Debug for Writer<'_, W, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("fixed::Writer")
            .field("format", &self.layout.format)
            .field("records", &self.tally.count)
            .finish_non_exhaustive()
    }
}

impl<'a, W: Write, I: Record> Writer<'a, W, I> {
    /// Starts a file: writes the header line.
    pub fn new(
        layout: &'static Layout<I>,
        mut out: W,
        meta: &I::Meta,
        tables: &'a CodeTables,
    ) -> Result<Self> {
        let format = layout.format;
        let mut line = String::new();
        let mut text = String::new();
        for c in layout.header {
            text.clear();
            c.item.write_header(meta, &mut text);
            if !text.is_empty() {
                lines::pad(format, c, &text, c.name, &mut line)?;
            } else if c.optional {
                lines::blank(c, &mut line);
            } else {
                return Err(Error::CannotCarry {
                    format,
                    field: c.name,
                    reason: "the header needs it".into(),
                });
            }
        }
        line.push('\n');
        out.write_all(line.as_bytes())
            .map_err(|e| Error::output(format, &e))?;
        Ok(Writer {
            out,
            layout,
            tables,
            meta: meta.clone(),
            tally: Tally::default(),
            line,
        })
    }

    /// Writes one record line; a value the format cannot carry is refused whole
    /// ([`Error::CannotCarry`]) and nothing is written.
    pub fn write(&mut self, value: &I::Value) -> Result<()> {
        self.line.clear();
        let amount = I::write_record(self.layout, self.tables, value, &mut self.line)?;
        self.line.push('\n');
        self.out
            .write_all(self.line.as_bytes())
            .map_err(|e| Error::output(self.layout.format, &e))?;
        self.tally.add(amount);
        Ok(())
    }

    /// Writes the trailer with `totals` and flushes; returns the output.
    pub fn finish_with(mut self, totals: &I::Totals) -> Result<W> {
        let format = self.layout.format;
        let mut line = String::new();
        let mut text = String::new();
        for c in self.layout.trailer {
            text.clear();
            c.item.write_trailer(totals, &mut text);
            lines::pad(format, c, &text, c.name, &mut line)?;
        }
        line.push('\n');
        self.out
            .write_all(line.as_bytes())
            .and_then(|()| self.out.flush())
            .map_err(|e| Error::output(format, &e))?;
        Ok(self.out)
    }
}

// --- Transactions: the `Record` of the transaction layouts. -----------------------------

/// A reader of one fixed-width transaction file (see [`TxStream`]).
pub type FixedReader<'a, R> = Reader<'a, R, Item>;

/// A writer of one fixed-width transaction file (see [`TxSink`]).
pub type FixedWriter<'a, W> = Writer<'a, W, Item>;

impl Layout<Item> {
    fn has(&self, slot: Slot) -> bool {
        self.detail.iter().any(|f| f.item == Item::Slot(slot))
    }

    fn codec<'a>(&self, tables: &'a CodeTables) -> Codec<'a> {
        Codec {
            format: self.format,
            tables,
            space: self.space,
            time: TimeStyle::Compact,
        }
    }
}

fn decimal<T: std::str::FromStr>(t: &str) -> std::result::Result<T, &'static str> {
    t.parse()
        .ok()
        .filter(|_| t.bytes().all(|b| b.is_ascii_digit()))
        .ok_or("expected a decimal number")
}

impl Record for Item {
    type Value = CanonicalTx;
    type Meta = FileMeta;
    type Totals = (u64, i128);
    type Tally = Tally;
    const TAG: u8 = b'D';
    const NAME: &'static str = "detail";
    const LENGTH: (&'static str, &'static str) = ("record", " (record length)");
    const CHECK_AT_END: bool = false;
    const LAYOUTS: [&'static Layout<Item>; 3] = [
        &crate::mohurd::LAYOUT,
        &crate::mot::LAYOUT,
        &crate::pboc::LAYOUT,
    ];

    fn constant(self) -> Option<&'static str> {
        Item::constant(self)
    }

    fn empty_meta() -> FileMeta {
        FileMeta::new("", 0, chrono::NaiveDateTime::MIN)
    }

    fn read_header(self, meta: &mut FileMeta, t: &str) -> std::result::Result<(), &'static str> {
        match self {
            Item::Envelope(Envelope::Sender) => meta.sender = t.to_string(),
            Item::Envelope(Envelope::Receiver) => meta.receiver = Some(t.to_string()),
            Item::Envelope(Envelope::Seq) => meta.seq = decimal(t)?,
            Item::Envelope(Envelope::Created) => {
                meta.created = fields::read_time(TimeStyle::Compact, t)
                    .ok_or("expected a date-time YYYYMMDDhhmmss")?
            }
            Item::Envelope(Envelope::Direction) => {
                meta.direction = Some(match t {
                    "UP" => Direction::Upload,
                    "DN" => Direction::Download,
                    _ => return Err("expected UP or DN"),
                })
            }
            _ => {}
        }
        Ok(())
    }

    fn write_header(self, meta: &FileMeta, out: &mut String) {
        match self {
            Item::Const(c) => out.push_str(c),
            Item::Envelope(Envelope::Sender) => out.push_str(&meta.sender),
            Item::Envelope(Envelope::Receiver) => {
                out.push_str(meta.receiver.as_deref().unwrap_or(""))
            }
            Item::Envelope(Envelope::Seq) => {
                let _ = write!(out, "{}", meta.seq);
            }
            Item::Envelope(Envelope::Created) => {
                fields::write_time(TimeStyle::Compact, meta.created, out)
            }
            Item::Envelope(Envelope::Direction) => out.push_str(match meta.direction {
                Some(Direction::Download) => "DN",
                Some(Direction::Upload) | None => "UP",
            }),
            _ => {}
        }
    }

    fn read_trailer(
        self,
        totals: &mut (u64, i128),
        t: &str,
    ) -> std::result::Result<(), &'static str> {
        match self {
            Item::Envelope(Envelope::Count) => totals.0 = decimal(t)?,
            Item::Envelope(Envelope::Total) => totals.1 = decimal(t)?,
            _ => {}
        }
        Ok(())
    }

    fn write_trailer(self, totals: &(u64, i128), out: &mut String) {
        match self {
            Item::Const(c) => out.push_str(c),
            Item::Envelope(Envelope::Count) => {
                let _ = write!(out, "{}", totals.0);
            }
            Item::Envelope(Envelope::Total) => {
                let _ = write!(out, "{}", totals.1);
            }
            _ => {}
        }
    }

    fn failed(tally: &mut Tally) {
        tally.add(None);
    }

    fn read_record(
        layout: &Layout<Item>,
        tables: &CodeTables,
        line: &[u8],
        at: &Location,
        tally: &mut Tally,
    ) -> Result<CanonicalTx> {
        let mut texts = Texts::new();
        let mut first_error = None;
        for f in layout.detail {
            match lines::text_of(line, f) {
                Err(why) => {
                    if first_error.is_none() {
                        first_error = Some(Error::bad_field(
                            at.clone(),
                            f.name,
                            &String::from_utf8_lossy(&line[f.offset..f.offset + f.width]),
                            why,
                        ));
                    }
                }
                Ok(text) => match f.item {
                    Item::Const(c) => {
                        if text != Some(c) && first_error.is_none() {
                            first_error = Some(Error::bad_field(
                                at.clone(),
                                f.name,
                                text.unwrap_or(""),
                                format!("expected {c:?}"),
                            ));
                        }
                    }
                    Item::Slot(slot) => match text {
                        Some(t) => texts.set(slot, f.name, Cow::Borrowed(t)),
                        None if f.optional => texts.declare(slot, f.name),
                        None => {
                            texts.declare(slot, f.name);
                            if first_error.is_none() {
                                first_error =
                                    Some(Error::bad_field(at.clone(), f.name, "", "missing"));
                            }
                        }
                    },
                    Item::Envelope(_) => {}
                },
            }
        }
        tally.add(fields::tally_amount(&texts));
        if let Some(e) = first_error {
            return Err(e);
        }
        fields::build(&layout.codec(tables), &texts, at, None)
    }

    fn check(
        layout: &Layout<Item>,
        tally: &Tally,
        _records: u64,
        totals: &(u64, i128),
        at: &Location,
    ) -> Result<()> {
        let names = (
            layout.trailer_name(Item::Envelope(Envelope::Count), ""),
            layout.trailer_name(Item::Envelope(Envelope::Total), ""),
        );
        tally.check(at, names, totals.0, totals.1)
    }

    fn write_record(
        layout: &Layout<Item>,
        tables: &CodeTables,
        tx: &CanonicalTx,
        line: &mut String,
    ) -> Result<Option<i128>> {
        let codec = layout.codec(tables);
        fields::check_carriable(&codec, |s| layout.has(s), tx)?;
        let mut scratch = String::new();
        for f in layout.detail {
            match f.item {
                Item::Const(c) => line.push_str(c),
                Item::Slot(slot) => {
                    scratch.clear();
                    let present = fields::encode(&codec, slot, tx, &mut scratch)?;
                    if present {
                        lines::pad(layout.format, f, &scratch, slot.canonical_field(), line)?;
                    } else if f.optional {
                        lines::blank(f, line);
                    } else {
                        return Err(Error::CannotCarry {
                            format: layout.format,
                            field: slot.canonical_field(),
                            reason: format!("{} is required in every record", f.name),
                        });
                    }
                }
                Item::Envelope(_) => lines::blank(f, line),
            }
        }
        Ok(Some(i128::from(tx.amount_fen)))
    }
}

impl<R: BufRead> TxStream for Reader<'_, R, Item> {
    fn meta(&self) -> &FileMeta {
        &self.meta
    }

    fn raw_record(&self) -> Option<Cow<'_, [u8]>> {
        self.raw()
    }

    fn finish(&mut self) -> Result<FileSummary> {
        self.end()?;
        Ok(FileSummary {
            meta: self.meta.clone(),
            records: self.tally.count,
            total_fen: self.tally.total_fen(),
        })
    }
}

impl<W: Write> Writer<'_, W, Item> {
    /// Writes the trailer and flushes; returns the output and what the trailer says.
    pub fn finish(self) -> Result<(W, FileSummary)> {
        let summary = FileSummary {
            meta: self.meta.clone(),
            records: self.tally.count,
            total_fen: self.tally.total_fen(),
        };
        let totals = (self.tally.count, self.tally.total);
        Ok((self.finish_with(&totals)?, summary))
    }
}

impl<W: Write> TxSink for Writer<'_, W, Item> {
    fn write(&mut self, tx: &CanonicalTx) -> Result<()> {
        Writer::write(self, tx)
    }

    fn close(self: Box<Self>) -> Result<FileSummary> {
        (*self).finish().map(|(_, s)| s)
    }
}

#[cfg(test)]
pub(crate) fn check_table(layout: &Layout) {
    lines::check_contiguous("header", layout.header);
    lines::check_contiguous("detail", layout.detail);
    lines::check_contiguous("trailer", layout.trailer);
    // The detail table carries every slot a record needs.
    for slot in [
        Slot::IssuerCode,
        Slot::CityCode,
        Slot::CardType,
        Slot::TxType,
        Slot::Amount,
        Slot::BalanceBefore,
        Slot::CardSeq,
        Slot::Terminal,
        Slot::TerminalSeq,
        Slot::TxTime,
        Slot::KeyVersion,
        Slot::AlgId,
        Slot::Tac,
        Slot::Industry,
        Slot::Acquirer,
    ] {
        assert!(layout.has(slot), "{:?} lacks {slot:?}", layout.format);
    }
    assert!(layout.has(Slot::SchemeDigit) || layout.has(Slot::Scheme));
    // The trailer carries the count and the total the reader checks.
    for want in [Envelope::Count, Envelope::Total] {
        assert!(
            layout
                .trailer
                .iter()
                .any(|f| f.item == Item::Envelope(want))
        );
    }
    assert!(layout.has(Slot::CardSerial) || layout.has(Slot::MotCardNumber));
}
