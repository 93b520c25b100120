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
//! read and written by the crate's one fixed-width engine ([`crate::fixed`]; here
//! [`FixedBlacklistReader`], [`FixedBlacklistWriter`], with [`BlacklistItem`]'s `Record` impl
//! saying what an entry line means). Entry-level problems are `R07` errors and the stream goes on;
//! envelope problems are `F01` and end it; a trailer count that disagrees is `F02`.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{BufRead, Write};

use card_standards::{CardSerial, CityCode, CodeTables, IssuerCode, IssuerId, Scheme};
use chrono::NaiveDateTime;

use crate::Format;
use crate::error::{Error, Location, Result};
use crate::fields::{self, TimeStyle};
use crate::fixed::{self, Kind, Layout, Reader, Record, Writer};
use crate::lines::{self, Col};
use crate::stream::{self, FileMeta, ReadOptions};

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
    if let Some(layout) = fixed::layout(format).filter(|_| format.is_blacklist()) {
        return Ok(Box::new(FixedBlacklistReader::open(
            layout,
            input,
            opts.tables,
            opts.file,
        )?));
    }
    Ok(match format {
        Format::HutongBlacklist => Box::new(crate::hutong_xml::blacklist::reader(input, opts)?),
        Format::LocalCsvBlacklist => Box::new(crate::local_csv::blacklist::reader(input, opts)?),
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
    if let Some(layout) = fixed::layout(format) {
        return Ok(Box::new(FixedBlacklistWriter::new(
            layout, out, meta, tables,
        )?));
    }
    Ok(match format.blacklist() {
        Format::HutongBlacklist => Box::new(crate::hutong_xml::blacklist::writer(out, meta)?),
        _ => Box::new(crate::local_csv::blacklist::writer(out, meta, tables)?),
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

/// A fixed-width blacklist format: the engine's [`Layout`] over [`BlacklistItem`] columns
/// (the city columns hold the codes of its `space`).
pub type BlacklistLayout = Layout<BlacklistItem>;

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

/// A reader of one fixed-width blacklist file: the engine's [`Reader`].
pub type FixedBlacklistReader<'a, R> = Reader<'a, R, BlacklistItem>;

/// A writer of one fixed-width blacklist file: the engine's [`Writer`].
pub type FixedBlacklistWriter<'a, W> = Writer<'a, W, BlacklistItem>;

fn number(t: &str) -> std::result::Result<u64, &'static str> {
    t.parse()
        .ok()
        .filter(|_| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .ok_or("expected a decimal number")
}

impl Record for BlacklistItem {
    type Value = Entry;
    type Meta = FileMeta;
    type Totals = u64;
    type Tally = ();
    const TAG: u8 = b'D';
    const NAME: &'static str = "entry";
    const LENGTH: (&'static str, &'static str) = ("record", "");
    const CHECK_AT_END: bool = false;
    const LAYOUTS: [&'static BlacklistLayout; 3] = [
        &crate::mohurd::BLACKLIST_LAYOUT,
        &crate::mot::BLACKLIST_LAYOUT,
        &crate::pboc::BLACKLIST_LAYOUT,
    ];

    fn constant(self) -> Option<&'static str> {
        match self {
            BlacklistItem::Const(c) => Some(c),
            _ => None,
        }
    }

    fn empty_meta() -> FileMeta {
        FileMeta::new("", 0, NaiveDateTime::MIN)
    }

    fn read_header(self, meta: &mut FileMeta, t: &str) -> std::result::Result<(), &'static str> {
        match self {
            BlacklistItem::Sender => meta.sender = t.to_string(),
            BlacklistItem::Receiver => meta.receiver = Some(t.to_string()),
            BlacklistItem::Seq => meta.seq = number(t)?,
            BlacklistItem::Created => {
                meta.created = fields::read_time(TimeStyle::Compact, t)
                    .ok_or("expected a date-time YYYYMMDDhhmmss")?
            }
            _ => {}
        }
        Ok(())
    }

    fn write_header(self, meta: &FileMeta, out: &mut String) {
        match self {
            BlacklistItem::Const(k) => out.push_str(k),
            BlacklistItem::Sender => out.push_str(&meta.sender),
            BlacklistItem::Receiver => out.push_str(meta.receiver.as_deref().unwrap_or("")),
            BlacklistItem::Seq => {
                let _ = write!(out, "{}", meta.seq);
            }
            BlacklistItem::Created => fields::write_time(TimeStyle::Compact, meta.created, out),
            _ => {}
        }
    }

    fn read_trailer(self, count: &mut u64, t: &str) -> std::result::Result<(), &'static str> {
        if self == BlacklistItem::Count {
            *count = number(t)?;
        }
        Ok(())
    }

    fn write_trailer(self, count: &u64, out: &mut String) {
        match self {
            BlacklistItem::Const(k) => out.push_str(k),
            BlacklistItem::Count => {
                let _ = write!(out, "{count}");
            }
            _ => {}
        }
    }

    fn failed(_: &mut ()) {}

    fn read_record(
        layout: &BlacklistLayout,
        tables: &CodeTables,
        line: &[u8],
        at: &Location,
        _: &mut (),
    ) -> Result<Entry> {
        parse_fixed_entry(layout, tables, line, at)
    }

    fn check(
        layout: &BlacklistLayout,
        _: &(),
        records: u64,
        count: &u64,
        at: &Location,
    ) -> Result<()> {
        if *count != records {
            return Err(Error::TrailerMismatch {
                at: at.clone(),
                field: layout.trailer_name(BlacklistItem::Count, "count"),
                stated: i128::from(*count),
                actual: i128::from(records),
            });
        }
        Ok(())
    }

    fn write_record(
        layout: &BlacklistLayout,
        tables: &CodeTables,
        e: &Entry,
        line: &mut String,
    ) -> Result<Option<i128>> {
        let format = layout.format;
        let cannot = |field: &'static str, reason: String| Error::CannotCarry {
            format,
            field,
            reason,
        };
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
                    &city_to_file(tables, layout.city_space(), e.scheme, e.issuer.city_code)
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
                        lines::blank(c, line);
                        continue;
                    }
                    text.push_str(&e.reason);
                }
                _ => {
                    lines::blank(c, line);
                    continue;
                }
            }
            lines::pad(format, c, &text, c.name, line)?;
        }
        Ok(None)
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
        city_from_file(tables, layout.city_space(), scheme, get(2)).map_err(|why| bad(2, &why))?;
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

impl<R: BufRead> BlacklistStream for FixedBlacklistReader<'_, R> {
    fn meta(&self) -> &FileMeta {
        &self.meta
    }

    fn finish(&mut self) -> Result<(FileMeta, u64)> {
        self.end()?;
        Ok((self.meta.clone(), self.records))
    }

    fn raw_record(&self) -> Option<Cow<'_, [u8]>> {
        self.raw()
    }
}

impl<W: Write> FixedBlacklistWriter<'_, W> {
    /// Writes the trailer and flushes; returns the output and the count.
    pub fn finish(self) -> Result<(W, u64)> {
        let count = self.tally.count;
        Ok((self.finish_with(&count)?, count))
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
