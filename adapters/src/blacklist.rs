//! Blacklist files (黑名单): an issuer's changes to the list of cards terminals must refuse
//! (挂失 and its reversal), in every family's format, read and written as a stream.
//!
//! One [`Entry`] per change. [`open_blacklist`] reads a file of any blacklist format into a
//! [`BlacklistStream`]; [`create_blacklist`] writes one. The formats:
//!
//! | format | shape | city codes |
//! |---|---|---|
//! | `hutong-blacklist` | `<BlacklistFile xmlns="urn:hutong:blacklist:1">` ([`crate::hutong_xml::blacklist`]) | the card's own |
//! | `local-csv-blacklist` | `H,local-csv-blacklist,1,…` / `D,…` / `T,count` ([`crate::local_csv::blacklist`]) | MOHURD |
//! | `mohurd-blacklist` | fixed width, `HMOHUBL01…` ([`crate::mohurd::blacklist`]) **\[I\]** | MOHURD |
//! | `mot-blacklist` | fixed width, `HTUNIBL01…`, 19-digit card numbers ([`crate::mot::blacklist`]) **\[I\]** | T-Union |
//! | `pboc-blacklist` | fixed width, `HPBOCBL01…` ([`crate::pboc::blacklist`]) **\[I\]** | MOHURD |
//!
//! The fixed-width layouts are hutong's own (the real ones are not public), one table each,
//! read and written by the one engine in this module ([`FixedBlacklistReader`],
//! [`FixedBlacklistWriter`]). Entry-level problems are `R07` errors and the stream goes on;
//! envelope problems are `F01` and end it; a trailer count that disagrees is `F02`.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{BufRead, Write};

use card_standards::{CardSerial, CityCode, CodeTables, IssuerCode, IssuerId, Scheme};
use chrono::NaiveDateTime;

use crate::Format;
use crate::error::{Error, Location, Result};
use crate::fields::{self, TimeStyle};
use crate::fixed::Kind;
use crate::lines::{self, Col};
use crate::stream::{self, FileMeta, Line, ReadOptions};

/// Whether an entry puts a card on the blacklist or takes it off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `add`: the card is blacklisted from `effective` on.
    Add,
    /// `remove`: the card is no longer blacklisted from `effective` on.
    Remove,
}

impl Action {
    /// `add` or `remove`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Add => "add",
            Action::Remove => "remove",
        }
    }
}

impl std::str::FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Action, String> {
        match s {
            "add" => Ok(Action::Add),
            "remove" => Ok(Action::Remove),
            other => Err(format!("{other:?}: expected add or remove")),
        }
    }
}

/// One blacklist change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The card's scheme.
    pub scheme: Scheme,
    /// The card's issuer and issuer city (the card's own city code).
    pub issuer: IssuerId,
    /// The card's application serial.
    pub card: CardSerial,
    /// Add or remove.
    pub action: Action,
    /// From when (local time).
    pub effective: NaiveDateTime,
    /// Why (`lost`, `stolen`, `fraud`, …), free text.
    pub reason: String,
}

/// A blacklist file being read as a stream of entries.
///
/// Like [`TxStream`](crate::TxStream): an `Err` item with [`Error::is_file_level`] false is one
/// bad entry (`R07`) and the next item is the next entry; a file-level error (`F01`) ends the
/// stream; [`BlacklistStream::finish`] checks the envelope and the trailer (`F02`).
pub trait BlacklistStream: Iterator<Item = Result<Entry>> {
    /// The header's metadata.
    fn meta(&self) -> &FileMeta;

    /// Reads to the end and checks the envelope and the trailer's count; returns the
    /// metadata and the number of entries.
    fn finish(&mut self) -> Result<(FileMeta, u64)>;

    /// The bytes of the entry the last item came from, as they are in the file.
    fn raw_record(&self) -> Option<Cow<'_, [u8]>> {
        None
    }
}

/// A blacklist file being written.
pub trait BlacklistSink {
    /// Writes one entry; [`Error::CannotCarry`] leaves the output untouched.
    fn write(&mut self, entry: &Entry) -> Result<()>;

    /// Writes the trailer and flushes; returns the number of entries.
    fn close(self: Box<Self>) -> Result<u64>;
}

/// Opens a blacklist file of `format` (one of [`Format::BLACKLISTS`]): reads and checks its
/// header (`F01` on failure).
pub fn open_blacklist<'a, R: BufRead + 'a>(
    format: Format,
    input: R,
    opts: ReadOptions<'a>,
) -> Result<Box<dyn BlacklistStream + 'a>> {
    Ok(match format {
        Format::HutongBlacklist => Box::new(crate::hutong_xml::blacklist::reader(input, opts)?),
        Format::LocalCsvBlacklist => Box::new(crate::local_csv::blacklist::reader(input, opts)?),
        Format::MohurdBlacklist => Box::new(FixedBlacklistReader::open(
            &crate::mohurd::BLACKLIST_LAYOUT,
            input,
            opts,
        )?),
        Format::MotBlacklist => Box::new(FixedBlacklistReader::open(
            &crate::mot::BLACKLIST_LAYOUT,
            input,
            opts,
        )?),
        Format::PbocBlacklist => Box::new(FixedBlacklistReader::open(
            &crate::pboc::BLACKLIST_LAYOUT,
            input,
            opts,
        )?),
        other => return Err(stream::wrong_content(opts.file, other, "blacklist entries")),
    })
}

/// Starts a blacklist file in the blacklist format of `format`'s family (`mohurd` and
/// `mohurd-blacklist` both write `mohurd-blacklist`): writes its header.
pub fn create_blacklist<'a, W: Write + 'a>(
    format: Format,
    out: W,
    meta: &FileMeta,
    tables: &'a CodeTables,
) -> Result<Box<dyn BlacklistSink + 'a>> {
    Ok(match format.blacklist() {
        Format::HutongBlacklist => Box::new(crate::hutong_xml::blacklist::writer(out, meta)?),
        Format::LocalCsvBlacklist => {
            Box::new(crate::local_csv::blacklist::writer(out, meta, tables)?)
        }
        Format::MohurdBlacklist => Box::new(FixedBlacklistWriter::new(
            &crate::mohurd::BLACKLIST_LAYOUT,
            out,
            meta,
            tables,
        )?),
        Format::MotBlacklist => Box::new(FixedBlacklistWriter::new(
            &crate::mot::BLACKLIST_LAYOUT,
            out,
            meta,
            tables,
        )?),
        _ => Box::new(FixedBlacklistWriter::new(
            &crate::pboc::BLACKLIST_LAYOUT,
            out,
            meta,
            tables,
        )?),
    })
}

/// Writes `entries` as one whole blacklist file of `format`'s family into memory.
pub fn write_all_blacklist<'e>(
    format: Format,
    meta: &FileMeta,
    tables: &CodeTables,
    entries: impl IntoIterator<Item = &'e Entry>,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut sink = create_blacklist(format, &mut out, meta, tables)?;
        for e in entries {
            sink.write(e)?;
        }
        sink.close()?;
    }
    Ok(out)
}

/// What a column of a blacklist file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlacklistItem {
    /// A constant: record type, format tag, version.
    Const(&'static str),
    /// Header: the sender's participant code.
    Sender,
    /// Header: the receiver's participant code (blank: none).
    Receiver,
    /// Header: the sender's blacklist file sequence number.
    Seq,
    /// Header: when the file was made.
    Created,
    /// The card's scheme as one digit (1 local, 2 mohurd, 3 mot, 4 pboc), or by name (CSV).
    Scheme,
    /// The card issuer's code, 4 hex digits.
    Issuer,
    /// The card issuer's city code, in the format's code space.
    City,
    /// The 20-hex-digit application serial.
    Card,
    /// The 19-digit T-Union card number.
    MotCard,
    /// `A` add / `R` remove (fixed width), `add` / `remove` (CSV).
    Action,
    /// From when the change applies.
    Effective,
    /// Why, free text.
    Reason,
    /// Trailer: the number of entries.
    Count,
}

impl BlacklistItem {
    fn constant(self) -> Option<&'static str> {
        match self {
            BlacklistItem::Const(c) => Some(c),
            _ => None,
        }
    }
}

/// A fixed-width blacklist format: its three tables and its city-code space.
#[derive(Debug)]
pub struct BlacklistLayout {
    /// The format.
    pub format: Format,
    /// Whose city codes the `City` column holds: `Scheme::Mot` for T-Union codes, any other
    /// scheme for MOHURD codes.
    pub city_space: Scheme,
    /// The header line (`H`).
    pub header: &'static [Col<BlacklistItem>],
    /// An entry line (`D`).
    pub detail: &'static [Col<BlacklistItem>],
    /// The trailer line (`T`).
    pub trailer: &'static [Col<BlacklistItem>],
}

impl BlacklistLayout {
    /// The first bytes of every file of this format, for [`detect`](crate::detect).
    pub fn signature(&self) -> String {
        lines::signature(self.header, BlacklistItem::constant)
    }

    fn limit(&self) -> usize {
        [self.header, self.detail, self.trailer]
            .into_iter()
            .map(lines::record_len)
            .max()
            .unwrap_or(0)
            + 2
    }
}

/// The card's own city code from a city column in `space`.
pub(crate) fn city_from_file(
    tables: &CodeTables,
    space: Scheme,
    scheme: Scheme,
    text: &str,
) -> std::result::Result<CityCode, String> {
    if text.len() != 4 || !fields::all_digits(text) {
        return Err("expected 4 decimal digits".into());
    }
    let own = if fields::same_city_space(space, scheme) {
        text
    } else {
        tables
            .translate_city(space, text, scheme)
            .map_err(|e| e.to_string())?
    };
    own.parse()
        .map_err(|_| format!("city code {own} is not 4 digits"))
}

/// A card's city code written in `space` (translated through the cities table if needed).
pub(crate) fn city_to_file(
    tables: &CodeTables,
    space: Scheme,
    scheme: Scheme,
    city: CityCode,
) -> std::result::Result<String, String> {
    let own = city.to_string();
    if !fields::all_digits(&own) {
        return Err(format!("city code {own} is not 4 decimal digits"));
    }
    if fields::same_city_space(space, scheme) {
        Ok(own)
    } else {
        tables
            .translate_city(scheme, &own, space)
            .map(str::to_string)
            .map_err(|e| e.to_string())
    }
}

/// A reader of one fixed-width blacklist file.
pub struct FixedBlacklistReader<'a, R> {
    input: R,
    layout: &'static BlacklistLayout,
    tables: &'a CodeTables,
    file: String,
    meta: FileMeta,
    line: u64,
    entries: u64,
    buf: Vec<u8>,
    trailer: Option<(u64, Location)>,
    fatal: Option<Error>,
    done: bool,
}

impl<R> std::fmt::Debug for FixedBlacklistReader<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixedBlacklistReader")
            .field("format", &self.layout.format)
            .field("file", &self.file)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

fn number(t: &str) -> Option<u64> {
    t.parse()
        .ok()
        .filter(|_| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
}

impl<'a, R: BufRead> FixedBlacklistReader<'a, R> {
    /// Opens a file: reads and checks the header line (`F01`).
    pub fn open(
        layout: &'static BlacklistLayout,
        mut input: R,
        opts: ReadOptions<'a>,
    ) -> Result<Self> {
        let mut buf = Vec::new();
        let at = Location {
            file: opts.file.to_string(),
            record: None,
            line: Some(1),
        };
        match stream::read_line(&mut input, &mut buf, layout.limit()) {
            Err(e) => return Err(stream::input_error(at, &e)),
            Ok(Line::Eof) => return Err(Error::envelope(at, "header", "the file is empty")),
            Ok(_) => {}
        }
        let want = lines::record_len(layout.header);
        if buf.len() != want {
            return Err(Error::envelope(
                at,
                "header length",
                format!("header is {} bytes, expected {want}", buf.len()),
            ));
        }
        let mut meta = FileMeta::new("", 0, NaiveDateTime::MIN);
        for c in layout.header {
            let text =
                lines::text_of(&buf, c).map_err(|why| Error::envelope(at.clone(), c.name, why))?;
            let bad = |why: &str| {
                Error::envelope(
                    at.clone(),
                    c.name,
                    format!("{why} (value {:?})", text.unwrap_or("")),
                )
            };
            let Some(t) = text else {
                if c.optional {
                    continue;
                }
                return Err(bad("missing"));
            };
            match c.item {
                BlacklistItem::Const(k) if t != k => return Err(bad(&format!("expected {k:?}"))),
                BlacklistItem::Sender => meta.sender = t.to_string(),
                BlacklistItem::Receiver => meta.receiver = Some(t.to_string()),
                BlacklistItem::Seq => {
                    meta.seq = number(t).ok_or_else(|| bad("expected a decimal number"))?
                }
                BlacklistItem::Created => {
                    meta.created = fields::read_time(TimeStyle::Compact, t)
                        .ok_or_else(|| bad("expected a date-time YYYYMMDDhhmmss"))?
                }
                _ => {}
            }
        }
        Ok(FixedBlacklistReader {
            input,
            layout,
            tables: opts.tables,
            file: opts.file.to_string(),
            meta,
            line: 1,
            entries: 0,
            buf,
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

    fn fail(&mut self, e: Error) -> Option<Result<Entry>> {
        self.done = true;
        self.fatal = Some(e.clone());
        Some(Err(e))
    }

    fn read_trailer(&self) -> Result<u64> {
        let at = self.at(None);
        let want = lines::record_len(self.layout.trailer);
        if self.buf.len() != want {
            return Err(Error::envelope(
                at,
                "trailer length",
                format!("trailer is {} bytes, expected {want}", self.buf.len()),
            ));
        }
        let mut count = None;
        for c in self.layout.trailer {
            let text = lines::text_of(&self.buf, c)
                .map_err(|why| Error::envelope(at.clone(), c.name, why))?;
            let bad = |why: &str| {
                Error::envelope(
                    at.clone(),
                    c.name,
                    format!("{why} (value {:?})", text.unwrap_or("")),
                )
            };
            let t = text.ok_or_else(|| bad("missing"))?;
            match c.item {
                BlacklistItem::Const(k) if t != k => return Err(bad(&format!("expected {k:?}"))),
                BlacklistItem::Count => {
                    count = Some(number(t).ok_or_else(|| bad("expected a decimal number"))?)
                }
                _ => {}
            }
        }
        count.ok_or_else(|| Error::envelope(at, "trailer", "the layout has no count"))
    }

    fn read_entry(&mut self) -> Result<Entry> {
        self.entries += 1;
        let at = self.at(Some(self.entries));
        let want = lines::record_len(self.layout.detail);
        if self.buf.len() != want {
            return Err(Error::Field {
                at,
                field: "record length",
                value: String::new(),
                reason: format!("record is {} bytes, expected {want}", self.buf.len()),
            });
        }
        parse_fixed_entry(self.layout, self.tables, &self.buf, &at)
    }
}

fn parse_fixed_entry(
    layout: &BlacklistLayout,
    tables: &CodeTables,
    line: &[u8],
    at: &Location,
) -> Result<Entry> {
    let mut texts: [Option<&str>; 14] = [None; 14];
    let slot = |item: BlacklistItem| -> usize {
        match item {
            BlacklistItem::Scheme => 0,
            BlacklistItem::Issuer => 1,
            BlacklistItem::City => 2,
            BlacklistItem::Card => 3,
            BlacklistItem::MotCard => 4,
            BlacklistItem::Action => 5,
            BlacklistItem::Effective => 6,
            BlacklistItem::Reason => 7,
            _ => 13,
        }
    };
    let mut names: [&'static str; 14] = [""; 14];
    for c in layout.detail {
        let text = lines::text_of(line, c).map_err(|why| {
            let raw = line.get(c.offset..c.offset + c.width).unwrap_or_default();
            Error::bad_field(at.clone(), c.name, &String::from_utf8_lossy(raw), why)
        })?;
        match (c.item, text) {
            (BlacklistItem::Const(k), t) if t != Some(k) => {
                return Err(Error::bad_field(
                    at.clone(),
                    c.name,
                    t.unwrap_or(""),
                    format!("expected {k:?}"),
                ));
            }
            (BlacklistItem::Const(_), _) => {}
            (item, None) if !c.optional => {
                let _ = item;
                return Err(Error::bad_field(at.clone(), c.name, "", "missing"));
            }
            (item, t) => {
                texts[slot(item)] = t;
                names[slot(item)] = c.name;
            }
        }
    }
    let get = |i: usize| texts[i].unwrap_or("");
    let bad = |i: usize, why: &str| Error::bad_field(at.clone(), names[i], get(i), why);
    let scheme = fields::scheme_of_digit(get(0))
        .ok_or_else(|| bad(0, "expected 1 (local), 2 (mohurd), 3 (mot) or 4 (pboc)"))?;
    let issuer_code: IssuerCode = get(1)
        .parse()
        .map_err(|_| bad(1, "expected 4 hexadecimal digits"))?;
    let city_code =
        city_from_file(tables, layout.city_space, scheme, get(2)).map_err(|why| bad(2, &why))?;
    let card = if !names[4].is_empty() {
        CardSerial::from_mot_card_number(get(4)).map_err(|e| bad(4, &e.to_string()))?
    } else {
        get(3)
            .parse()
            .map_err(|_| bad(3, "expected 20 hexadecimal digits"))?
    };
    let action = match get(5) {
        "A" => Action::Add,
        "R" => Action::Remove,
        _ => return Err(bad(5, "expected A (add) or R (remove)")),
    };
    let effective = fields::read_time(TimeStyle::Compact, get(6))
        .ok_or_else(|| bad(6, "expected a date-time YYYYMMDDhhmmss"))?;
    Ok(Entry {
        scheme,
        issuer: IssuerId {
            issuer_code,
            city_code,
        },
        card,
        action,
        effective,
        reason: get(7).to_string(),
    })
}

impl<R: BufRead> Iterator for FixedBlacklistReader<'_, R> {
    type Item = Result<Entry>;

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
                self.entries += 1;
                let at = self.at(Some(self.entries));
                return Some(Err(Error::Field {
                    at,
                    field: "record length",
                    value: String::new(),
                    reason: format!("line longer than {} bytes", limit - 2),
                }));
            }
            match self.buf.first() {
                None => continue,
                Some(b'D') => return Some(self.read_entry()),
                Some(b'T') => match self.read_trailer() {
                    Ok(count) => {
                        let at = self.at(None);
                        self.trailer = Some((count, at));
                    }
                    Err(e) => return self.fail(e),
                },
                Some(b'H') => {
                    let at = self.at(None);
                    return self.fail(Error::envelope(at, "header", "a second header line"));
                }
                Some(_) => {
                    self.entries += 1;
                    let at = self.at(Some(self.entries));
                    let head = String::from_utf8_lossy(&self.buf[..1]).into_owned();
                    return Some(Err(Error::bad_field(
                        at,
                        "record type",
                        &head,
                        "expected D (entry), H or T",
                    )));
                }
            }
        }
    }
}

impl<R: BufRead> BlacklistStream for FixedBlacklistReader<'_, R> {
    fn meta(&self) -> &FileMeta {
        &self.meta
    }

    fn finish(&mut self) -> Result<(FileMeta, u64)> {
        while self.next().is_some() {}
        if let Some(e) = &self.fatal {
            return Err(e.clone());
        }
        let (count, at) = self
            .trailer
            .clone()
            .ok_or_else(|| Error::envelope(self.at(None), "trailer", "missing"))?;
        if count != self.entries {
            let field = self
                .layout
                .trailer
                .iter()
                .find(|c| c.item == BlacklistItem::Count)
                .map_or("count", |c| c.name);
            return Err(Error::TrailerMismatch {
                at,
                field,
                stated: i128::from(count),
                actual: i128::from(self.entries),
            });
        }
        Ok((self.meta.clone(), self.entries))
    }

    fn raw_record(&self) -> Option<Cow<'_, [u8]>> {
        (self.entries > 0).then_some(Cow::Borrowed(&self.buf[..]))
    }
}

/// A writer of one fixed-width blacklist file.
pub struct FixedBlacklistWriter<'a, W: Write> {
    out: W,
    layout: &'static BlacklistLayout,
    tables: &'a CodeTables,
    count: u64,
    line: String,
}

impl<W: Write> std::fmt::Debug for FixedBlacklistWriter<'_, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixedBlacklistWriter")
            .field("format", &self.layout.format)
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

impl<'a, W: Write> FixedBlacklistWriter<'a, W> {
    /// Starts a file: writes the header line.
    pub fn new(
        layout: &'static BlacklistLayout,
        mut out: W,
        meta: &FileMeta,
        tables: &'a CodeTables,
    ) -> Result<Self> {
        let format = layout.format;
        let mut line = String::new();
        for c in layout.header {
            let mut text = String::new();
            let present = match c.item {
                BlacklistItem::Const(k) => {
                    text.push_str(k);
                    true
                }
                BlacklistItem::Sender => {
                    text.push_str(&meta.sender);
                    !meta.sender.is_empty()
                }
                BlacklistItem::Receiver => {
                    text.push_str(meta.receiver.as_deref().unwrap_or(""));
                    !text.is_empty()
                }
                BlacklistItem::Seq => {
                    let _ = write!(text, "{}", meta.seq);
                    true
                }
                BlacklistItem::Created => {
                    fields::write_time(TimeStyle::Compact, meta.created, &mut text);
                    true
                }
                _ => false,
            };
            if present {
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
        Ok(FixedBlacklistWriter {
            out,
            layout,
            tables,
            count: 0,
            line: String::new(),
        })
    }

    /// Writes one entry line; an entry the format cannot carry is refused whole.
    pub fn write(&mut self, e: &Entry) -> Result<()> {
        let layout = self.layout;
        let format = layout.format;
        let cannot = |field: &'static str, reason: String| Error::CannotCarry {
            format,
            field,
            reason,
        };
        self.line.clear();
        let mut text = String::new();
        for c in layout.detail {
            text.clear();
            match c.item {
                BlacklistItem::Const(k) => text.push_str(k),
                BlacklistItem::Scheme => text.push(fields::scheme_digit(e.scheme)),
                BlacklistItem::Issuer => {
                    let _ = write!(text, "{}", e.issuer.issuer_code);
                }
                BlacklistItem::City => text.push_str(
                    &city_to_file(self.tables, layout.city_space, e.scheme, e.issuer.city_code)
                        .map_err(|why| cannot("city", why))?,
                ),
                BlacklistItem::Card => {
                    let _ = write!(text, "{}", e.card);
                }
                BlacklistItem::MotCard => {
                    let s = e.card.to_string();
                    if !s.starts_with('0') || !fields::all_digits(&s) {
                        return Err(cannot(
                            "card",
                            format!("serial {s} is not a 19-digit T-Union card number"),
                        ));
                    }
                    text.push_str(&s[1..]);
                }
                BlacklistItem::Action => text.push_str(match e.action {
                    Action::Add => "A",
                    Action::Remove => "R",
                }),
                BlacklistItem::Effective => {
                    use chrono::Datelike;
                    if !(0..=9999).contains(&e.effective.year()) {
                        return Err(cannot("effective", "year has no 4-digit form".into()));
                    }
                    fields::write_time(TimeStyle::Compact, e.effective, &mut text);
                }
                BlacklistItem::Reason => {
                    if e.reason.is_empty() {
                        lines::blank(c, &mut self.line);
                        continue;
                    }
                    text.push_str(&e.reason);
                }
                _ => {
                    lines::blank(c, &mut self.line);
                    continue;
                }
            }
            lines::pad(format, c, &text, c.name, &mut self.line)?;
        }
        self.line.push('\n');
        self.out
            .write_all(self.line.as_bytes())
            .map_err(|err| Error::output(format, &err))?;
        self.count += 1;
        Ok(())
    }

    /// Writes the trailer and flushes; returns the output and the count.
    pub fn finish(mut self) -> Result<(W, u64)> {
        let format = self.layout.format;
        let mut line = String::new();
        for c in self.layout.trailer {
            let text = match c.item {
                BlacklistItem::Const(k) => k.to_string(),
                BlacklistItem::Count => self.count.to_string(),
                _ => String::new(),
            };
            lines::pad(format, c, &text, c.name, &mut line)?;
        }
        line.push('\n');
        self.out
            .write_all(line.as_bytes())
            .and_then(|()| self.out.flush())
            .map_err(|e| Error::output(format, &e))?;
        Ok((self.out, self.count))
    }
}

impl<W: Write> BlacklistSink for FixedBlacklistWriter<'_, W> {
    fn write(&mut self, entry: &Entry) -> Result<()> {
        FixedBlacklistWriter::write(self, entry)
    }

    fn close(self: Box<Self>) -> Result<u64> {
        (*self).finish().map(|(_, n)| n)
    }
}

/// The header and trailer columns every fixed-width blacklist layout shares, after the
/// format tag: `H` + tag(6) + `01` + sender(12) + receiver(12) + seq(10) + created(14); the
/// trailer `T` + count(10).
pub(crate) const fn header(tag: &'static str) -> [Col<BlacklistItem>; 7] {
    use BlacklistItem as B;
    [
        lines::col(
            "record type",
            0,
            1,
            Kind::Text,
            B::Const("H"),
            "`H`: header",
        ),
        lines::col("format", 1, 6, Kind::Text, B::Const(tag), "format tag"),
        lines::col(
            "version",
            7,
            2,
            Kind::Numeric,
            B::Const("01"),
            "layout version `01`",
        ),
        lines::col(
            "sender",
            9,
            12,
            Kind::Text,
            B::Sender,
            "sender's participant code (the card issuer)",
        ),
        lines::ocol(
            "receiver",
            21,
            12,
            Kind::Text,
            B::Receiver,
            "receiver's participant code; blank: none",
        ),
        lines::col(
            "file seq",
            33,
            10,
            Kind::Numeric,
            B::Seq,
            "the sender's blacklist file sequence number",
        ),
        lines::col(
            "created",
            43,
            14,
            Kind::Numeric,
            B::Created,
            "when the file was made, `YYYYMMDDhhmmss`",
        ),
    ]
}

/// The trailer of every fixed-width blacklist layout.
pub(crate) const TRAILER: [Col<BlacklistItem>; 2] = [
    lines::col(
        "record type",
        0,
        1,
        Kind::Text,
        BlacklistItem::Const("T"),
        "`T`: trailer",
    ),
    lines::col(
        "entry count",
        1,
        10,
        Kind::Numeric,
        BlacklistItem::Count,
        "number of `D` lines",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_blacklist_tables_are_contiguous() {
        for layout in [
            &crate::mohurd::BLACKLIST_LAYOUT,
            &crate::mot::BLACKLIST_LAYOUT,
            &crate::pboc::BLACKLIST_LAYOUT,
        ] {
            lines::check_contiguous("header", layout.header);
            lines::check_contiguous("detail", layout.detail);
            lines::check_contiguous("trailer", layout.trailer);
        }
    }
}
