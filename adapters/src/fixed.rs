//! The fixed-width engine behind the `mohurd`, `mot` and `pboc` formats: one reader and one
//! writer driven by a [`Layout`] table, so that a format is its table and a real layout can
//! replace an inferred one by editing the table alone.
//!
//! A file is lines of ASCII, each ending in `\n` (a `\r\n` is accepted on reading): one header
//! line (`H…`), detail lines (`D…`), one trailer line (`T…`). Every line kind has a fixed
//! length given by its table. Numeric fields are right-aligned and zero-padded, hexadecimal
//! fields are exactly their width in upper case, text fields are left-aligned and padded with
//! spaces; an optional field that is absent is all spaces.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{BufRead, Write};

use card_standards::{CanonicalTx, CodeTables};

use crate::Format;
use crate::error::{Error, Location, Result};
use crate::fields::{self, CodeSpace, Codec, Slot, Texts, TimeStyle};
use crate::stream::{
    self, Direction, FileMeta, FileSummary, Line, ReadOptions, Tally, TxSink, TxStream,
};

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

/// One field of a fixed-width record.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The field's name, as errors and docs spell it.
    pub name: &'static str,
    /// 0-based byte offset in the line.
    pub offset: usize,
    /// Width in bytes.
    pub width: usize,
    /// Padding and character set.
    pub kind: Kind,
    /// What it holds.
    pub item: Item,
    /// Whether it may be blank.
    pub optional: bool,
    /// What it means, for the docs.
    pub meaning: &'static str,
}

/// Shorthand for a table row.
pub(crate) const fn f(
    name: &'static str,
    offset: usize,
    width: usize,
    kind: Kind,
    item: Item,
    meaning: &'static str,
) -> Field {
    Field {
        name,
        offset,
        width,
        kind,
        item,
        optional: false,
        meaning,
    }
}

/// Shorthand for an optional table row.
pub(crate) const fn opt(
    name: &'static str,
    offset: usize,
    width: usize,
    kind: Kind,
    item: Item,
    meaning: &'static str,
) -> Field {
    Field {
        name,
        offset,
        width,
        kind,
        item,
        optional: true,
        meaning,
    }
}

/// A fixed-width format: its three record tables and whose codes it speaks.
#[derive(Debug)]
pub struct Layout {
    /// The format.
    pub format: Format,
    /// Whose codes its city, card-type and industry fields hold.
    pub space: CodeSpace,
    /// The header line (`H`).
    pub header: &'static [Field],
    /// A detail line (`D`).
    pub detail: &'static [Field],
    /// The trailer line (`T`).
    pub trailer: &'static [Field],
}

impl Layout {
    /// The length of a record of this table (the end of its last field).
    pub fn record_len(table: &[Field]) -> usize {
        table.iter().map(|f| f.offset + f.width).max().unwrap_or(0)
    }

    /// The field table as a Markdown table (offset, width, kind, name, meaning), as the docs
    /// in `docs/formats/` show it.
    pub fn markdown(table: &[Field]) -> String {
        let mut s =
            String::from("| offset | width | kind | field | meaning |\n|---:|---:|:-:|---|---|\n");
        for f in table {
            let _ = writeln!(
                s,
                "| {} | {} | {} | `{}`{} | {} |",
                f.offset,
                f.width,
                f.kind.letter(),
                f.name,
                if f.optional { " (optional)" } else { "" },
                f.meaning
            );
        }
        s
    }

    /// The first bytes of every file of this format (record type and format tag), for
    /// [`detect`](crate::detect).
    pub fn signature(&self) -> String {
        self.header
            .iter()
            .take_while(|f| matches!(f.item, Item::Const(_)))
            .map(|f| match f.item {
                Item::Const(c) => c,
                _ => "",
            })
            .collect()
    }

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

/// The text of one field of a line; `None` for a blank field.
fn field_text<'l>(line: &'l [u8], f: &Field) -> std::result::Result<Option<&'l str>, &'static str> {
    let raw = &line[f.offset..f.offset + f.width];
    if !raw.iter().all(|b| (0x20..0x7F).contains(b)) {
        return Err("not printable ASCII");
    }
    let text = std::str::from_utf8(raw).map_err(|_| "not printable ASCII")?;
    if text.bytes().all(|b| b == b' ') {
        return Ok(None);
    }
    Ok(Some(match f.kind {
        Kind::Text => text.trim_end_matches(' '),
        Kind::Numeric | Kind::Hex => text,
    }))
}

/// A reader of one fixed-width file.
pub struct FixedReader<'a, R> {
    input: R,
    layout: &'static Layout,
    codec: Codec<'a>,
    file: String,
    meta: FileMeta,
    line: u64,
    records: u64,
    buf: Vec<u8>,
    tally: Tally,
    trailer: Option<(u64, i128, Location)>,
    fatal: Option<Error>,
    done: bool,
}

impl<R> std::fmt::Debug for FixedReader<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixedReader")
            .field("format", &self.layout.format)
            .field("file", &self.file)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

/// The longest line the reader keeps: longer lines are reported, not stored.
fn line_limit(layout: &Layout) -> usize {
    [layout.header, layout.detail, layout.trailer]
        .into_iter()
        .map(Layout::record_len)
        .max()
        .unwrap_or(0)
        + 2
}

fn check_length(
    line: &[u8],
    table: &[Field],
    at: &Location,
    what: &str,
) -> std::result::Result<(), (String, String)> {
    let want = Layout::record_len(table);
    if line.len() != want {
        let _ = at;
        return Err((
            format!("{what} length"),
            format!("{what} is {} bytes, expected {want}", line.len()),
        ));
    }
    Ok(())
}

impl<'a, R: BufRead> FixedReader<'a, R> {
    /// Opens a file: reads and checks the header (`F01` if it is broken).
    pub fn open(layout: &'static Layout, mut input: R, opts: ReadOptions<'a>) -> Result<Self> {
        let mut buf = Vec::new();
        let at = Location {
            file: opts.file.to_string(),
            record: None,
            line: Some(1),
        };
        let limit = line_limit(layout);
        match stream::read_line(&mut input, &mut buf, limit) {
            Err(e) => return Err(stream::input_error(at, &e)),
            Ok(Line::Eof) => return Err(Error::envelope(at, "header", "the file is empty")),
            Ok(_) => {}
        }
        if let Err((field, reason)) = check_length(&buf, layout.header, &at, "header") {
            return Err(Error::envelope(at, field, reason));
        }
        let mut meta = FileMeta::new("", 0, chrono::NaiveDateTime::MIN);
        for f in layout.header {
            let text =
                field_text(&buf, f).map_err(|why| Error::envelope(at.clone(), f.name, why))?;
            let bad = |why: &str| {
                Error::envelope(
                    at.clone(),
                    f.name,
                    format!("{why} (value {:?})", text.unwrap_or("")),
                )
            };
            match (f.item, text) {
                (_, None) if f.optional => {}
                (_, None) => return Err(bad("missing")),
                (Item::Const(c), Some(t)) => {
                    if t != c {
                        return Err(bad(&format!("expected {c:?}")));
                    }
                }
                (Item::Envelope(e), Some(t)) => match e {
                    Envelope::Sender => meta.sender = t.to_string(),
                    Envelope::Receiver => meta.receiver = Some(t.to_string()),
                    Envelope::Seq => {
                        meta.seq = t
                            .parse()
                            .ok()
                            .filter(|_| t.bytes().all(|b| b.is_ascii_digit()))
                            .ok_or_else(|| bad("expected a decimal number"))?
                    }
                    Envelope::Created => {
                        meta.created = fields::read_time(TimeStyle::Compact, t)
                            .ok_or_else(|| bad("expected a date-time YYYYMMDDhhmmss"))?
                    }
                    Envelope::Direction => {
                        meta.direction = Some(match t {
                            "UP" => Direction::Upload,
                            "DN" => Direction::Download,
                            _ => return Err(bad("expected UP or DN")),
                        })
                    }
                    Envelope::Count | Envelope::Total => {}
                },
                (Item::Slot(_), _) => {}
            }
        }
        Ok(FixedReader {
            input,
            layout,
            codec: layout.codec(opts.tables),
            file: opts.file.to_string(),
            meta,
            line: 1,
            records: 0,
            buf,
            tally: Tally::default(),
            trailer: None,
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
    fn fail(&mut self, e: Error) -> Option<Result<CanonicalTx>> {
        self.done = true;
        self.fatal = Some(e.clone());
        Some(Err(e))
    }

    fn read_trailer(&mut self) -> Result<(u64, i128)> {
        let at = self.at(None);
        if let Err((field, reason)) = check_length(&self.buf, self.layout.trailer, &at, "trailer") {
            return Err(Error::envelope(at, field, reason));
        }
        let (mut count, mut total) = (None, None);
        for f in self.layout.trailer {
            let text =
                field_text(&self.buf, f).map_err(|why| Error::envelope(at.clone(), f.name, why))?;
            let bad = |why: &str| {
                Error::envelope(
                    at.clone(),
                    f.name,
                    format!("{why} (value {:?})", text.unwrap_or("")),
                )
            };
            let t = text.ok_or_else(|| bad("missing"))?;
            match f.item {
                Item::Const(c) if t != c => return Err(bad(&format!("expected {c:?}"))),
                Item::Envelope(Envelope::Count) => {
                    count = Some(
                        t.parse::<u64>()
                            .ok()
                            .filter(|_| t.bytes().all(|b| b.is_ascii_digit()))
                            .ok_or_else(|| bad("expected a decimal number"))?,
                    )
                }
                Item::Envelope(Envelope::Total) => {
                    total = Some(
                        t.parse::<i128>()
                            .ok()
                            .filter(|_| t.bytes().all(|b| b.is_ascii_digit()))
                            .ok_or_else(|| bad("expected a decimal number"))?,
                    )
                }
                _ => {}
            }
        }
        match (count, total) {
            (Some(c), Some(t)) => Ok((c, t)),
            _ => Err(Error::envelope(
                at,
                "trailer",
                "the layout has no count or total",
            )),
        }
    }

    fn read_detail(&mut self) -> Result<CanonicalTx> {
        self.records += 1;
        let at = self.at(Some(self.records));
        let layout = self.layout;
        if let Err((field, reason)) = check_length(&self.buf, layout.detail, &at, "record") {
            self.tally.add(None);
            return Err(Error::Field {
                at,
                field: "record length",
                value: String::new(),
                reason: format!("{reason} ({field})"),
            });
        }
        let mut texts = Texts::new();
        let mut first_error = None;
        for f in layout.detail {
            match field_text(&self.buf, f) {
                Err(why) => {
                    if first_error.is_none() {
                        first_error = Some(Error::bad_field(
                            at.clone(),
                            f.name,
                            &String::from_utf8_lossy(&self.buf[f.offset..f.offset + f.width]),
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
        self.tally.add(fields::tally_amount(&texts));
        if let Some(e) = first_error {
            return Err(e);
        }
        fields::build(&self.codec, &texts, &at, None)
    }
}

impl<R: BufRead> Iterator for FixedReader<'_, R> {
    type Item = Result<CanonicalTx>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let limit = line_limit(self.layout);
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
                if self.trailer.is_none() {
                    let at = self.at(None);
                    return self.fail(Error::envelope(
                        at,
                        "trailer",
                        "the file ends without a trailer line",
                    ));
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
                self.tally.add(None);
                let at = self.at(Some(self.records));
                return Some(Err(Error::Field {
                    at,
                    field: "record length",
                    value: String::new(),
                    reason: format!("line longer than {} bytes", limit - 2),
                }));
            }
            match self.buf.first() {
                None => continue,
                Some(b'D') => return Some(self.read_detail()),
                Some(b'T') => match self.read_trailer() {
                    Ok((count, total)) => {
                        let at = self.at(None);
                        self.trailer = Some((count, total, at));
                    }
                    Err(e) => return self.fail(e),
                },
                Some(b'H') => {
                    let at = self.at(None);
                    return self.fail(Error::envelope(at, "header", "a second header line"));
                }
                Some(_) => {
                    self.records += 1;
                    self.tally.add(None);
                    let at = self.at(Some(self.records));
                    let head = String::from_utf8_lossy(&self.buf[..1]).into_owned();
                    return Some(Err(Error::bad_field(
                        at,
                        "record type",
                        &head,
                        "expected D (detail), H or T",
                    )));
                }
            }
        }
    }
}

impl<R: BufRead> TxStream for FixedReader<'_, R> {
    fn meta(&self) -> &FileMeta {
        &self.meta
    }

    fn raw_record(&self) -> Option<Cow<'_, [u8]>> {
        (self.records > 0).then_some(Cow::Borrowed(&self.buf[..]))
    }

    fn finish(&mut self) -> Result<FileSummary> {
        while self.next().is_some() {}
        if let Some(e) = &self.fatal {
            return Err(e.clone());
        }
        let (count, total, at) = self
            .trailer
            .clone()
            .ok_or_else(|| Error::envelope(self.at(None), "trailer", "missing"))?;
        let names = trailer_names(self.layout);
        self.tally.check(&at, names, count, total)?;
        Ok(FileSummary {
            meta: self.meta.clone(),
            records: self.tally.count,
            total_fen: self.tally.total_fen(),
        })
    }
}

fn trailer_names(layout: &Layout) -> (&'static str, &'static str) {
    let name = |want: Envelope| {
        layout
            .trailer
            .iter()
            .find(|f| f.item == Item::Envelope(want))
            .map_or("", |f| f.name)
    };
    (name(Envelope::Count), name(Envelope::Total))
}

/// A writer of one fixed-width file.
pub struct FixedWriter<'a, W: Write> {
    out: W,
    layout: &'static Layout,
    codec: Codec<'a>,
    meta: FileMeta,
    tally: Tally,
    line: String,
    scratch: String,
}

impl<W: Write> std::fmt::Debug for FixedWriter<'_, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixedWriter")
            .field("format", &self.layout.format)
            .field("records", &self.tally.count)
            .finish_non_exhaustive()
    }
}

fn pad(format: Format, f: &Field, text: &str, field: &'static str, out: &mut String) -> Result<()> {
    let cannot = |reason: String| Error::CannotCarry {
        format,
        field,
        reason,
    };
    match f.kind {
        Kind::Numeric => {
            if !text.bytes().all(|b| b.is_ascii_digit()) || text.len() > f.width {
                return Err(cannot(format!(
                    "{text:?} does not fit {} ({} digits)",
                    f.name, f.width
                )));
            }
            out.extend(std::iter::repeat_n('0', f.width - text.len()));
            out.push_str(text);
        }
        Kind::Hex => {
            if !text.bytes().all(|b| b.is_ascii_hexdigit()) || text.len() != f.width {
                return Err(cannot(format!(
                    "{text:?} does not fit {} ({} hex digits)",
                    f.name, f.width
                )));
            }
            out.push_str(&text.to_ascii_uppercase());
        }
        Kind::Text => {
            if !text.bytes().all(|b| (0x20..0x7F).contains(&b))
                || text.len() > f.width
                || text.ends_with(' ')
            {
                return Err(cannot(format!(
                    "{text:?} does not fit {} (at most {} printable ASCII characters, no trailing space)",
                    f.name, f.width
                )));
            }
            out.push_str(text);
            out.extend(std::iter::repeat_n(' ', f.width - text.len()));
        }
    }
    Ok(())
}

impl<'a, W: Write> FixedWriter<'a, W> {
    /// Starts a file: writes the header line.
    pub fn new(
        layout: &'static Layout,
        out: W,
        meta: &FileMeta,
        tables: &'a CodeTables,
    ) -> Result<Self> {
        let mut w = FixedWriter {
            out,
            layout,
            codec: layout.codec(tables),
            meta: meta.clone(),
            tally: Tally::default(),
            line: String::new(),
            scratch: String::new(),
        };
        let mut line = String::new();
        for f in layout.header {
            let mut text = String::new();
            let present = match f.item {
                Item::Const(c) => {
                    text.push_str(c);
                    true
                }
                Item::Envelope(Envelope::Sender) => {
                    text.push_str(&meta.sender);
                    !meta.sender.is_empty()
                }
                Item::Envelope(Envelope::Receiver) => match &meta.receiver {
                    Some(r) => {
                        text.push_str(r);
                        true
                    }
                    None => false,
                },
                Item::Envelope(Envelope::Seq) => {
                    let _ = write!(text, "{}", meta.seq);
                    true
                }
                Item::Envelope(Envelope::Created) => {
                    fields::write_time(TimeStyle::Compact, meta.created, &mut text);
                    true
                }
                Item::Envelope(Envelope::Direction) => {
                    text.push_str(match meta.direction {
                        Some(Direction::Download) => "DN",
                        Some(Direction::Upload) | None => "UP",
                    });
                    true
                }
                _ => false,
            };
            if present {
                pad(layout.format, f, &text, f.name, &mut line)?;
            } else if f.optional {
                line.extend(std::iter::repeat_n(' ', f.width));
            } else {
                return Err(Error::CannotCarry {
                    format: layout.format,
                    field: f.name,
                    reason: "the header needs it".into(),
                });
            }
        }
        line.push('\n');
        w.out
            .write_all(line.as_bytes())
            .map_err(|e| Error::output(layout.format, &e))?;
        Ok(w)
    }

    /// Writes one record; a record the format cannot carry is refused whole
    /// ([`Error::CannotCarry`]) and nothing is written.
    pub fn write(&mut self, tx: &CanonicalTx) -> Result<()> {
        let layout = self.layout;
        fields::check_carriable(&self.codec, |s| layout.has(s), tx)?;
        self.line.clear();
        for f in layout.detail {
            match f.item {
                Item::Const(c) => self.line.push_str(c),
                Item::Slot(slot) => {
                    self.scratch.clear();
                    let present = fields::encode(&self.codec, slot, tx, &mut self.scratch)?;
                    if present {
                        pad(
                            layout.format,
                            f,
                            &self.scratch,
                            slot.canonical_field(),
                            &mut self.line,
                        )?;
                    } else if f.optional {
                        self.line.extend(std::iter::repeat_n(' ', f.width));
                    } else {
                        return Err(Error::CannotCarry {
                            format: layout.format,
                            field: slot.canonical_field(),
                            reason: format!("{} is required in every record", f.name),
                        });
                    }
                }
                Item::Envelope(_) => self.line.extend(std::iter::repeat_n(' ', f.width)),
            }
        }
        self.line.push('\n');
        self.out
            .write_all(self.line.as_bytes())
            .map_err(|e| Error::output(layout.format, &e))?;
        self.tally.add(Some(i128::from(tx.amount_fen)));
        Ok(())
    }

    /// Writes the trailer and flushes; returns the output and what the trailer says.
    pub fn finish(mut self) -> Result<(W, FileSummary)> {
        let layout = self.layout;
        let mut line = String::new();
        for f in layout.trailer {
            let mut text = String::new();
            match f.item {
                Item::Const(c) => text.push_str(c),
                Item::Envelope(Envelope::Count) => {
                    let _ = write!(text, "{}", self.tally.count);
                }
                Item::Envelope(Envelope::Total) => {
                    let _ = write!(text, "{}", self.tally.total);
                }
                _ => {}
            }
            pad(layout.format, f, &text, f.name, &mut line)?;
        }
        line.push('\n');
        self.out
            .write_all(line.as_bytes())
            .and_then(|()| self.out.flush())
            .map_err(|e| Error::output(layout.format, &e))?;
        let summary = FileSummary {
            meta: self.meta,
            records: self.tally.count,
            total_fen: self.tally.total_fen(),
        };
        Ok((self.out, summary))
    }
}

impl<W: Write> TxSink for FixedWriter<'_, W> {
    fn write(&mut self, tx: &CanonicalTx) -> Result<()> {
        FixedWriter::write(self, tx)
    }

    fn close(self: Box<Self>) -> Result<FileSummary> {
        (*self).finish().map(|(_, s)| s)
    }
}

#[cfg(test)]
pub(crate) fn check_table(layout: &Layout) {
    for table in [layout.header, layout.detail, layout.trailer] {
        let mut end = 0;
        for f in table {
            assert_eq!(
                f.offset, end,
                "{:?}: field {} starts at {}, expected {end}",
                layout.format, f.name, f.offset
            );
            end = f.offset + f.width;
        }
    }
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
    assert!(layout.has(Slot::CardSerial) || layout.has(Slot::MotCardNumber));
}
