//! `<BlacklistFile xmlns="urn:hutong:blacklist:1">`: an issuer's blacklist changes (挂失 and
//! their reversal), read and written as a stream.
//!
//! ```xml
//! <BlacklistFile xmlns="urn:hutong:blacklist:1" sender="QDT01" seq="3" created="2026-11-21T23:00:00">
//!   <Entry scheme="local" issuer="2660" city="2660" card="00002660000000001234" action="add"
//!          effective="2026-11-21T18:00:00" reason="lost"/>
//!   <Trailer count="1"/>
//! </BlacklistFile>
//! ```
//!
//! `card` is the 20-hex-digit serial, `city` the card's own city code, `effective` the local
//! time from which the change applies (the hub keeps, per card, the entry with the latest
//! `effective`). The `<Trailer count>` is optional on reading (issue 5 does not require it) and
//! checked when present; the writer always writes it.

use std::fmt::Write as _;
use std::io::{BufRead, Write};

use card_standards::{CardSerial, CityCode, IssuerCode, IssuerId, Scheme};

use super::core::{self, Core, Names, Step};
use super::reader::read_meta;
use super::writer::{attr, root_attributes};
use crate::Format;
use crate::error::{Error, Location, Result};
use crate::fields::{self, TimeStyle};
use crate::stream::{FileMeta, ReadOptions};

/// The namespace of blacklist files.
pub const BLACKLIST_NAMESPACE: &str = "urn:hutong:blacklist:1";

const NAMES: Names = Names {
    namespace: BLACKLIST_NAMESPACE,
    root: "BlacklistFile",
    record: "Entry",
    trailer: "Trailer",
    trailer_required: false,
};

pub use crate::blacklist::{Action, Entry};

/// The attributes of `<Entry>` (name, meaning), in writing order.
pub const ENTRY_ATTRIBUTES: &[(&str, &str)] = &[
    ("scheme", "card's scheme: `local`, `mohurd`, `mot`, `pboc`"),
    ("issuer", "card issuer's code, 4 hex digits"),
    (
        "city",
        "card issuer's city code as the card stores it, 4 digits",
    ),
    ("card", "application serial, 20 hex digits"),
    ("action", "`add` or `remove`"),
    (
        "effective",
        "local date-time from which the change applies, `YYYY-MM-DDThh:mm:ss`",
    ),
    ("reason", "why, free text (may be empty)"),
];

/// A reader of one `<BlacklistFile>`: an iterator of entries. Entry-level problems are `R07`
/// errors (the next item is the next entry); envelope problems `F01` (the iterator ends).
pub struct Reader<R> {
    core: Core<R>,
    buf: Vec<u8>,
    meta: FileMeta,
    entries: u64,
    trailer: Option<(u64, Location)>,
    fatal: Option<Error>,
    done: bool,
}

impl<R> std::fmt::Debug for Reader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("blacklist::Reader")
            .field("meta", &self.meta)
            .field("entries", &self.entries)
            .finish_non_exhaustive()
    }
}

/// Opens a blacklist file: reads up to the root element and checks its attributes (`F01`).
pub fn reader<R: BufRead>(input: R, opts: ReadOptions<'_>) -> Result<Reader<R>> {
    let (core, attrs) = Core::open(input, NAMES, opts.file)?;
    let meta = read_meta(&core.at(None), &attrs)?;
    Ok(Reader {
        core,
        buf: Vec::new(),
        meta,
        entries: 0,
        trailer: None,
        fatal: None,
        done: false,
    })
}

fn parse_entry(at: &Location, attrs: &[(String, String)]) -> Result<Entry> {
    let get = |name: &'static str| {
        core::optional(attrs, name).ok_or_else(|| Error::bad_field(at.clone(), name, "", "missing"))
    };
    let bad = |name: &'static str, v: &str, why: &str| Error::bad_field(at.clone(), name, v, why);
    let scheme_t = get("scheme")?;
    let scheme = scheme_t
        .parse::<Scheme>()
        .map_err(|e| bad("scheme", scheme_t, &e.to_string()))?;
    let issuer_t = get("issuer")?;
    let issuer_code: IssuerCode = issuer_t
        .parse()
        .map_err(|_| bad("issuer", issuer_t, "expected 4 hexadecimal digits"))?;
    let city_t = get("city")?;
    if city_t.len() != 4 || !city_t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("city", city_t, "expected 4 decimal digits"));
    }
    let city_code: CityCode = city_t
        .parse()
        .map_err(|_| bad("city", city_t, "expected 4 decimal digits"))?;
    let card_t = get("card")?;
    let card: CardSerial = card_t
        .parse()
        .map_err(|_| bad("card", card_t, "expected 20 hexadecimal digits"))?;
    let action_t = get("action")?;
    let action: Action = action_t
        .parse()
        .map_err(|_| bad("action", action_t, "expected add or remove"))?;
    let eff_t = get("effective")?;
    let effective = fields::read_time(TimeStyle::Iso, eff_t).ok_or_else(|| {
        bad(
            "effective",
            eff_t,
            "expected a date-time YYYY-MM-DDThh:mm:ss",
        )
    })?;
    let reason = core::optional(attrs, "reason").unwrap_or("").to_string();
    Ok(Entry {
        scheme,
        issuer: IssuerId {
            issuer_code,
            city_code,
        },
        card,
        action,
        effective,
        reason,
    })
}

impl<R: BufRead> Reader<R> {
    /// The header's metadata.
    pub fn meta(&self) -> &FileMeta {
        &self.meta
    }

    fn fail(&mut self, e: Error) -> Option<Result<Entry>> {
        self.done = true;
        self.fatal = Some(e.clone());
        Some(Err(e))
    }

    /// Reads to the end and checks the envelope and, when present, the trailer's count
    /// (`F01`/`F02`). Returns the metadata and the number of entries.
    pub fn finish(&mut self) -> Result<(FileMeta, u64)> {
        while self.next().is_some() {}
        if let Some(e) = &self.fatal {
            return Err(e.clone());
        }
        if let Some((count, at)) = &self.trailer
            && *count != self.entries
        {
            return Err(Error::TrailerMismatch {
                at: at.clone(),
                field: "count",
                stated: i128::from(*count),
                actual: i128::from(self.entries),
            });
        }
        Ok((self.meta.clone(), self.entries))
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let Reader { core, buf, .. } = self;
            let step = match core.step(buf) {
                Ok(s) => s,
                Err(e) => return self.fail(e),
            };
            match step {
                Step::Skip => {}
                Step::End => {
                    self.done = true;
                    return None;
                }
                Step::Trailer(e) => {
                    let at = core.at(None);
                    let counted = core
                        .plain_attributes(&e)
                        .and_then(|attrs| core::number(&at, &attrs, "count"));
                    match counted {
                        Ok(c) => self.trailer = Some((c, at)),
                        Err(err) => return self.fail(err),
                    }
                }
                Step::Record(e) => {
                    self.entries += 1;
                    let at = core.at(Some(self.entries));
                    return Some(match core.plain_attributes(&e) {
                        Ok(attrs) => parse_entry(&at, &attrs),
                        Err(err) => return self.fail(err),
                    });
                }
            }
        }
    }
}

/// A writer of one `<BlacklistFile>`.
pub struct Writer<W: Write> {
    out: W,
    count: u64,
    line: String,
}

impl<W: Write> std::fmt::Debug for Writer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("blacklist::Writer")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

const FORMAT: Format = Format::HutongBlacklist;

/// Starts a blacklist file: writes the declaration and the root start tag.
pub fn writer<W: Write>(mut out: W, meta: &FileMeta) -> Result<Writer<W>> {
    let mut head = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = write!(head, "<BlacklistFile xmlns=\"{BLACKLIST_NAMESPACE}\"");
    root_attributes(FORMAT, meta, &mut head)?;
    head.push_str(">\n");
    out.write_all(head.as_bytes())
        .map_err(|e| Error::output(FORMAT, &e))?;
    Ok(Writer {
        out,
        count: 0,
        line: String::new(),
    })
}

impl<W: Write> Writer<W> {
    /// Writes one entry.
    pub fn write(&mut self, e: &Entry) -> Result<()> {
        let city = e.issuer.city_code.to_string();
        if !city.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::CannotCarry {
                format: FORMAT,
                field: "city",
                reason: format!("{city} is not 4 decimal digits"),
            });
        }
        let mut l = std::mem::take(&mut self.line);
        l.clear();
        let _ = write!(
            l,
            "  <Entry scheme=\"{}\" issuer=\"{}\" city=\"{city}\" card=\"{}\" action=\"{}\" effective=\"",
            e.scheme,
            e.issuer.issuer_code,
            e.card,
            e.action.as_str()
        );
        fields::write_time(TimeStyle::Iso, e.effective, &mut l);
        l.push('"');
        let escaped = attr(FORMAT, &mut l, "reason", &e.reason, "reason");
        l.push_str("/>\n");
        let written = escaped.and_then(|()| {
            self.out
                .write_all(l.as_bytes())
                .map_err(|err| Error::output(FORMAT, &err))
        });
        self.line = l;
        written?;
        self.count += 1;
        Ok(())
    }

    /// Writes the trailer and closes the root; returns the output and the count.
    pub fn finish(mut self) -> Result<(W, u64)> {
        let tail = format!("  <Trailer count=\"{}\"/>\n</BlacklistFile>\n", self.count);
        self.out
            .write_all(tail.as_bytes())
            .and_then(|()| self.out.flush())
            .map_err(|e| Error::output(FORMAT, &e))?;
        Ok((self.out, self.count))
    }
}

impl<R: BufRead> crate::blacklist::BlacklistStream for Reader<R> {
    fn meta(&self) -> &FileMeta {
        &self.meta
    }

    fn finish(&mut self) -> Result<(FileMeta, u64)> {
        Reader::finish(self)
    }

    fn raw_record(&self) -> Option<std::borrow::Cow<'_, [u8]>> {
        (self.entries > 0).then(|| std::borrow::Cow::Owned(core::element_text(&self.buf)))
    }
}

impl<W: Write> crate::blacklist::BlacklistSink for Writer<W> {
    fn write(&mut self, entry: &Entry) -> Result<()> {
        Writer::write(self, entry)
    }

    fn close(self: Box<Self>) -> Result<u64> {
        (*self).finish().map(|(_, n)| n)
    }
}
