//! Reading result files back: [`detect_result`], [`open_result`], the [`ResultStream`] every
//! family's reader implements, and the one table-driven reader of the fixed-width layouts
//! ([`FixedResultReader`]). The local-csv reader is in [`crate::local_csv::result`]; the
//! `hutong-xml` one wraps [`crate::hutong_xml::result::Reader`].

use std::io::BufRead;

use card_standards::{CardSerial, CodeTables, IssuerCode, IssuerId, Scheme, TerminalId, TxKind};
use chrono::{NaiveDate, NaiveDateTime};

use super::{
    RecordStatus, ResultEntry, ResultItem, ResultLayout, ResultMeta, ResultTotals, ResultTx,
};
use crate::Format;
use crate::blacklist::city_from_file;
use crate::error::{Error, Location, Result, clip};
use crate::fields::{self, TimeStyle};
use crate::lines;
use crate::stream::{self, Line, ReadOptions};

/// A result file being read as a stream of [`ResultEntry`].
///
/// Iterating yields one item per result line: `Ok` for a line that reads, `Err` for one that
/// does not (a line-level `R07`/`R05` error: the next item is the next line). If the header
/// after the first line, the trailer or the framing is broken, or the trailer disagrees with
/// the lines, the iterator yields one file-level error (`F01`, `F02`) and ends;
/// [`ResultStream::finish`] reports it again.
pub trait ResultStream: Iterator<Item = Result<ResultEntry>> {
    /// The family whose result layout the file is in.
    fn family(&self) -> Format;

    /// The header, available as soon as the reader is open.
    fn meta(&self) -> &ResultMeta;

    /// The trailer's totals, once the last line has been read and the trailer agreed with the
    /// lines; `None` before, or when the trailer is missing or disagrees.
    fn totals(&self) -> Option<&ResultTotals>;

    /// Reads to the end (discarding lines not yet taken) and returns the trailer's totals, or
    /// the file-level error: `F01` (broken envelope, no trailer), `F02` (the trailer's count,
    /// total, accepted or rejected disagrees with the lines).
    fn finish(&mut self) -> Result<ResultTotals>;
}

/// The family whose result file the first bytes start (a UTF-8 BOM and leading white space
/// are skipped): [`crate::identify`] when it names a result format, as its family
/// (`Format::LocalCsv` for `H,local-csv-result,`, `Format::Mohurd`, `Format::Mot`,
/// `Format::Pboc` for their layouts' [`ResultLayout::signature`], `Format::HutongXml` for a
/// `<ResultFile>`). `None` for anything else, transaction and blacklist files included.
pub fn detect_result(head: &[u8]) -> Option<Format> {
    crate::identify(head)
        .ok()
        .filter(|f| f.kind() == crate::FileKind::Result)
        .map(Format::family)
}

/// Opens a result file of `family`'s result layout (any format of the family: `mohurd` and
/// `mohurd-blacklist` both read the `mohurd` layout): reads and checks its header (`F01` on
/// failure). `file` names the file in errors; `tables` translate city codes back to the
/// card's own.
pub fn open_result<'a, R: BufRead + 'a>(
    family: Format,
    input: R,
    tables: &'a CodeTables,
    file: &str,
) -> Result<Box<dyn ResultStream + 'a>> {
    Ok(match family.family() {
        Format::HutongXml => Box::new(XmlResultReader::open(input, tables, file)?),
        Format::LocalCsv => Box::new(crate::local_csv::result::Reader::open(input, tables, file)?),
        Format::Mohurd => Box::new(FixedResultReader::open(
            &crate::mohurd::RESULT_LAYOUT,
            input,
            tables,
            file,
        )?),
        Format::Mot => Box::new(FixedResultReader::open(
            &crate::mot::RESULT_LAYOUT,
            input,
            tables,
            file,
        )?),
        _ => Box::new(FixedResultReader::open(
            &crate::pboc::RESULT_LAYOUT,
            input,
            tables,
            file,
        )?),
    })
}

/// One column of a result line as read: what it holds, its name, whether it may be blank, and
/// its text (`None`: blank).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cell<'l> {
    pub(crate) item: ResultItem,
    pub(crate) name: &'static str,
    pub(crate) optional: bool,
    pub(crate) text: Option<&'l str>,
}

/// A decimal number of digits only.
pub(crate) fn number<T: std::str::FromStr>(t: &str) -> Option<T> {
    if fields::all_digits(t) {
        t.parse().ok()
    } else {
        None
    }
}

/// The amount a line states, if its amount column reads (for the trailer's total, counted
/// even when another column of the line is bad).
pub(crate) fn amount_of(cells: &[Cell<'_>]) -> Option<i64> {
    cells
        .iter()
        .find(|c| c.item == ResultItem::Amount)
        .and_then(|c| c.text)
        .and_then(number)
}

/// The items of [`ResultTx`], in the order they are parsed.
const TX_ITEMS: [ResultItem; 10] = [
    ResultItem::Scheme,
    ResultItem::Issuer,
    ResultItem::City,
    ResultItem::Card,
    ResultItem::MotCard,
    ResultItem::CardSeq,
    ResultItem::Kind,
    ResultItem::Terminal,
    ResultItem::TerminalSeq,
    ResultItem::Amount,
];

/// A result line's entry from its cells: the inverse of `entry_text`. `digit_scheme`: the
/// fixed-width spelling (scheme digit, status `A`/`R`) rather than names. The record's columns
/// are all blank (`tx: None`) or all present.
pub(crate) fn parse_entry(
    cells: &[Cell<'_>],
    tables: &CodeTables,
    city_space: Scheme,
    digit_scheme: bool,
    at: &Location,
) -> Result<ResultEntry> {
    let bad = |c: &Cell<'_>, why: &str| {
        Error::bad_field(at.clone(), c.name, c.text.unwrap_or(""), why.to_string())
    };
    for c in cells {
        match (c.item, c.text) {
            (ResultItem::Const(k), t) if t != Some(k) => {
                return Err(bad(c, &format!("expected {k:?}")));
            }
            (_, None) if !c.optional => return Err(bad(c, "missing")),
            _ => {}
        }
    }
    let find = |item: ResultItem| cells.iter().find(|c| c.item == item);
    let text = |item: ResultItem| find(item).and_then(|c| c.text);
    let owned = |item: ResultItem| text(item).map(str::to_string);

    let record_cell = find(ResultItem::Record)
        .ok_or_else(|| Error::bad_field(at.clone(), "record", "", "the layout has no record"))?;
    let record: u64 = number(record_cell.text.unwrap_or(""))
        .ok_or_else(|| bad(record_cell, "expected a decimal number"))?;
    let status_cell = find(ResultItem::Status)
        .ok_or_else(|| Error::bad_field(at.clone(), "status", "", "the layout has no status"))?;
    let status = match (digit_scheme, status_cell.text.unwrap_or("")) {
        (true, "A") | (false, "accepted") => RecordStatus::Accepted,
        (true, "R") | (false, "rejected") => RecordStatus::Rejected,
        (true, _) => return Err(bad(status_cell, "expected A (accepted) or R (rejected)")),
        (false, _) => return Err(bad(status_cell, "expected accepted or rejected")),
    };

    let tx_cells: Vec<&Cell<'_>> = cells
        .iter()
        .filter(|c| TX_ITEMS.contains(&c.item))
        .collect();
    let tx = if tx_cells.iter().all(|c| c.text.is_none()) {
        None
    } else if let Some(blank) = tx_cells.iter().find(|c| c.text.is_none()) {
        return Err(bad(
            blank,
            "missing: the line names the record, and then needs every one of its columns",
        ));
    } else {
        Some(parse_tx(cells, tables, city_space, digit_scheme, at)?)
    };
    Ok(ResultEntry {
        record,
        tx,
        status,
        code: owned(ResultItem::Code),
        field: owned(ResultItem::Field),
        reason: owned(ResultItem::Reason),
    })
}

/// The record's columns, all present.
fn parse_tx(
    cells: &[Cell<'_>],
    tables: &CodeTables,
    city_space: Scheme,
    digit_scheme: bool,
    at: &Location,
) -> Result<ResultTx> {
    let get = |item: ResultItem| -> Result<(&str, &'static str)> {
        cells
            .iter()
            .find(|c| c.item == item)
            .map(|c| (c.text.unwrap_or(""), c.name))
            .ok_or_else(|| {
                Error::bad_field(at.clone(), "layout", "", format!("no {item:?} column"))
            })
    };
    let bad = |name: &'static str, v: &str, why: &str| {
        Error::bad_field(at.clone(), name, v, why.to_string())
    };
    let decimal = |item: ResultItem, max: u64| -> Result<u64> {
        let (t, name) = get(item)?;
        if !fields::all_digits(t) {
            return Err(bad(name, t, "expected a decimal number"));
        }
        t.parse::<u64>()
            .ok()
            .filter(|v| *v <= max)
            .ok_or_else(|| Error::OutOfRange {
                at: at.clone(),
                field: name,
                value: clip(t),
                reason: format!("must be between 0 and {max}"),
            })
    };

    let (t, name) = get(ResultItem::Scheme)?;
    let scheme = if digit_scheme {
        fields::scheme_of_digit(t).ok_or_else(|| {
            bad(
                name,
                t,
                "expected 1 (local), 2 (mohurd), 3 (mot) or 4 (pboc)",
            )
        })?
    } else {
        t.parse::<Scheme>()
            .map_err(|e| bad(name, t, &e.to_string()))?
    };
    let (t, name) = get(ResultItem::Issuer)?;
    let issuer_code: IssuerCode = t
        .parse()
        .map_err(|_| bad(name, t, "expected 4 hexadecimal digits"))?;
    let (t, name) = get(ResultItem::City)?;
    let city_code =
        city_from_file(tables, city_space, scheme, t).map_err(|why| bad(name, t, &why))?;
    let card = if cells.iter().any(|c| c.item == ResultItem::MotCard) {
        let (t, name) = get(ResultItem::MotCard)?;
        CardSerial::from_mot_card_number(t).map_err(|e| bad(name, t, &e.to_string()))?
    } else {
        let (t, name) = get(ResultItem::Card)?;
        t.parse::<CardSerial>()
            .map_err(|_| bad(name, t, "expected 20 hexadecimal digits"))?
    };
    let card_seq =
        u16::try_from(decimal(ResultItem::CardSeq, u64::from(u16::MAX))?).unwrap_or(u16::MAX);
    let (t, name) = get(ResultItem::Kind)?;
    let kind: TxKind = t
        .parse()
        .map_err(|_| bad(name, t, "not a transaction kind (purchase, load, …)"))?;
    let (t, name) = get(ResultItem::Terminal)?;
    let terminal: TerminalId = t
        .parse()
        .map_err(|_| bad(name, t, "expected 12 hexadecimal digits"))?;
    let terminal_seq =
        u32::try_from(decimal(ResultItem::TerminalSeq, u64::from(u32::MAX))?).unwrap_or(u32::MAX);
    let amount_fen =
        i64::try_from(decimal(ResultItem::Amount, i64::MAX as u64)?).unwrap_or(i64::MAX);
    Ok(ResultTx {
        scheme,
        issuer: IssuerId {
            issuer_code,
            city_code,
        },
        card,
        card_seq,
        kind,
        terminal,
        terminal_seq,
        amount_fen,
    })
}

/// What the lines read so far add up to, to check the trailer against.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tally {
    lines: u64,
    failed: u64,
    whole_file: bool,
    amount: i128,
    accepted: u64,
    rejected: u64,
}

impl Tally {
    /// A line that read.
    pub(crate) fn add(&mut self, e: &ResultEntry) {
        self.lines += 1;
        self.whole_file |= e.record == 0;
        if let Some(tx) = &e.tx {
            self.amount += i128::from(tx.amount_fen);
        }
        match e.status {
            RecordStatus::Accepted => self.accepted += 1,
            RecordStatus::Rejected => self.rejected += 1,
        }
    }

    /// A line that did not read, with its amount if that column did.
    pub(crate) fn add_failed(&mut self, amount: Option<i64>) {
        self.lines += 1;
        self.failed += 1;
        self.amount += i128::from(amount.unwrap_or(0));
    }

    /// Checks the trailer: its count against the lines, its total against their amounts, and
    /// (when every line read) its accepted and rejected counts. A file answered as a whole
    /// (an entry for record 0) has no line per record: nothing to check. `names`: the
    /// trailer's count, total, accepted and rejected fields as the format spells them.
    pub(crate) fn check(
        &self,
        stated: &ResultTotals,
        at: &Location,
        names: [&'static str; 4],
    ) -> Result<()> {
        if self.whole_file {
            return Ok(());
        }
        let mut checks = vec![
            (names[0], i128::from(stated.count), i128::from(self.lines)),
            (names[1], i128::from(stated.amount_fen), self.amount),
        ];
        if self.failed == 0 {
            checks.push((names[2], stated.accepted.into(), self.accepted.into()));
            checks.push((names[3], stated.rejected.into(), self.rejected.into()));
        }
        match checks.into_iter().find(|(_, s, a)| s != a) {
            Some((field, stated, actual)) => Err(Error::TrailerMismatch {
                at: at.clone(),
                field,
                stated,
                actual,
            }),
            None => Ok(()),
        }
    }
}

/// A reader of one fixed-width result file, driven by its [`ResultLayout`].
pub struct FixedResultReader<'a, R> {
    input: R,
    layout: &'static ResultLayout,
    tables: &'a CodeTables,
    file: String,
    meta: ResultMeta,
    line: u64,
    entries: u64,
    buf: Vec<u8>,
    tally: Tally,
    trailer: Option<(ResultTotals, Location)>,
    checked: Option<ResultTotals>,
    fatal: Option<Error>,
    done: bool,
}

impl<R> std::fmt::Debug for FixedResultReader<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixedResultReader")
            .field("format", &self.layout.format)
            .field("file", &self.file)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

fn limit(layout: &ResultLayout) -> usize {
    [layout.header, layout.detail, layout.trailer]
        .into_iter()
        .map(lines::record_len)
        .max()
        .unwrap_or(0)
        + 2
}

impl<'a, R: BufRead> FixedResultReader<'a, R> {
    /// Opens a file: reads and checks the header line (`F01`).
    pub fn open(
        layout: &'static ResultLayout,
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
        match stream::read_line(&mut input, &mut buf, limit(layout)) {
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
        let mut meta = ResultMeta {
            sender: String::new(),
            receiver: None,
            seq: 0,
            created: NaiveDateTime::MIN,
            day: None,
        };
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
                ResultItem::Const(k) if t != k => return Err(bad(&format!("expected {k:?}"))),
                ResultItem::Sender => meta.sender = t.to_string(),
                ResultItem::Receiver => meta.receiver = Some(t.to_string()),
                ResultItem::Seq => {
                    meta.seq = number(t).ok_or_else(|| bad("expected a decimal number"))?
                }
                ResultItem::Created => {
                    meta.created = fields::read_time(TimeStyle::Compact, t)
                        .ok_or_else(|| bad("expected a date-time YYYYMMDDhhmmss"))?
                }
                ResultItem::Day => {
                    meta.day = Some(
                        NaiveDate::parse_from_str(t, "%Y%m%d")
                            .ok()
                            .filter(|_| t.len() == 8 && fields::all_digits(t))
                            .ok_or_else(|| bad("expected a date YYYYMMDD"))?,
                    )
                }
                _ => {}
            }
        }
        Ok(FixedResultReader {
            input,
            layout,
            tables,
            file: file.to_string(),
            meta,
            line: 1,
            entries: 0,
            buf,
            tally: Tally::default(),
            trailer: None,
            checked: None,
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

    fn fail(&mut self, e: Error) -> Option<Result<ResultEntry>> {
        self.done = true;
        self.fatal = Some(e.clone());
        Some(Err(e))
    }

    fn trailer_names(&self) -> [&'static str; 4] {
        let name = |item: ResultItem, default: &'static str| {
            self.layout
                .trailer
                .iter()
                .find(|c| c.item == item)
                .map_or(default, |c| c.name)
        };
        [
            name(ResultItem::Count, "record count"),
            name(ResultItem::Total, "total amount"),
            name(ResultItem::Accepted, "accepted"),
            name(ResultItem::Rejected, "rejected"),
        ]
    }

    fn read_trailer(&self) -> Result<ResultTotals> {
        let at = self.at(None);
        let want = lines::record_len(self.layout.trailer);
        if self.buf.len() != want {
            return Err(Error::envelope(
                at,
                "trailer length",
                format!("trailer is {} bytes, expected {want}", self.buf.len()),
            ));
        }
        let mut totals = ResultTotals::default();
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
            let n = || number::<u64>(t).ok_or_else(|| bad("expected a decimal number"));
            match c.item {
                ResultItem::Const(k) if t != k => return Err(bad(&format!("expected {k:?}"))),
                ResultItem::Count => totals.count = n()?,
                ResultItem::Total => {
                    totals.amount_fen = number(t).ok_or_else(|| bad("expected a decimal number"))?
                }
                ResultItem::Accepted => totals.accepted = n()?,
                ResultItem::Rejected => totals.rejected = n()?,
                _ => {}
            }
        }
        Ok(totals)
    }

    fn read_entry(&mut self) -> Result<ResultEntry> {
        self.entries += 1;
        let at = self.at(Some(self.entries));
        let want = lines::record_len(self.layout.detail);
        if self.buf.len() != want {
            self.tally.add_failed(None);
            return Err(Error::Field {
                at,
                field: "record length",
                value: String::new(),
                reason: format!("line is {} bytes, expected {want}", self.buf.len()),
            });
        }
        let mut cells = Vec::with_capacity(self.layout.detail.len());
        let mut broken = None;
        for c in self.layout.detail {
            let text = match lines::text_of(&self.buf, c) {
                Ok(t) => t,
                Err(why) => {
                    let raw = self
                        .buf
                        .get(c.offset..c.offset + c.width)
                        .unwrap_or_default();
                    broken.get_or_insert_with(|| {
                        Error::bad_field(at.clone(), c.name, &String::from_utf8_lossy(raw), why)
                    });
                    None
                }
            };
            cells.push(Cell {
                item: c.item,
                name: c.name,
                optional: c.optional,
                text,
            });
        }
        let parsed = match broken {
            Some(e) => Err(e),
            None => parse_entry(&cells, self.tables, self.layout.city_space, true, &at),
        };
        match &parsed {
            Ok(e) => self.tally.add(e),
            Err(_) => self.tally.add_failed(amount_of(&cells)),
        }
        parsed
    }
}

impl<R: BufRead> Iterator for FixedResultReader<'_, R> {
    type Item = Result<ResultEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let limit = limit(self.layout);
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
                return match self.trailer.take() {
                    None => {
                        let at = self.at(None);
                        self.fail(Error::envelope(
                            at,
                            "trailer",
                            "the file ends without a trailer line",
                        ))
                    }
                    Some((totals, at)) => {
                        match self.tally.check(&totals, &at, self.trailer_names()) {
                            Ok(()) => {
                                self.checked = Some(totals);
                                None
                            }
                            Err(e) => self.fail(e),
                        }
                    }
                };
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
                self.tally.add_failed(None);
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
                Some(b'R') => return Some(self.read_entry()),
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
                    self.entries += 1;
                    self.tally.add_failed(None);
                    let at = self.at(Some(self.entries));
                    let head = String::from_utf8_lossy(&self.buf[..1]).into_owned();
                    return Some(Err(Error::bad_field(
                        at,
                        "record type",
                        &head,
                        "expected R (result), H or T",
                    )));
                }
            }
        }
    }
}

impl<R: BufRead> ResultStream for FixedResultReader<'_, R> {
    fn family(&self) -> Format {
        self.layout.format
    }

    fn meta(&self) -> &ResultMeta {
        &self.meta
    }

    fn totals(&self) -> Option<&ResultTotals> {
        self.checked.as_ref()
    }

    fn finish(&mut self) -> Result<ResultTotals> {
        while self.next().is_some() {}
        finish_with(&self.fatal, self.checked, &self.file)
    }
}

/// What `finish` returns once a reader has ended.
pub(crate) fn finish_with(
    fatal: &Option<Error>,
    checked: Option<ResultTotals>,
    file: &str,
) -> Result<ResultTotals> {
    if let Some(e) = fatal {
        return Err(e.clone());
    }
    checked.ok_or_else(|| {
        Error::envelope(
            Location {
                file: file.to_string(),
                record: None,
                line: None,
            },
            "trailer",
            "missing",
        )
    })
}

/// The `hutong-xml` partner result reader ([`crate::hutong_xml::result::Reader`]) as a
/// [`ResultStream`]: each `<Result>` becomes an entry numbered by its position (the XML names
/// no record number), always with its record (`tx`), never with a `field`.
struct XmlResultReader<R> {
    inner: crate::hutong_xml::result::Reader<R>,
    file: String,
    meta: ResultMeta,
    results: u64,
    checked: Option<ResultTotals>,
    fatal: Option<Error>,
    done: bool,
}

impl<R: BufRead> XmlResultReader<R> {
    fn open(input: R, tables: &CodeTables, file: &str) -> Result<Self> {
        let inner = crate::hutong_xml::result::reader(input, ReadOptions { file, tables })?;
        let m = inner.meta();
        let meta = ResultMeta {
            sender: m.sender.clone(),
            receiver: m.receiver.clone(),
            seq: m.seq,
            created: m.created,
            day: Some(inner.day()),
        };
        Ok(XmlResultReader {
            inner,
            file: file.to_string(),
            meta,
            results: 0,
            checked: None,
            fatal: None,
            done: false,
        })
    }
}

impl<R: BufRead> Iterator for XmlResultReader<R> {
    type Item = Result<ResultEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        use crate::hutong_xml::result::Status;
        if self.done {
            return None;
        }
        match self.inner.next() {
            Some(Ok(x)) => {
                self.results += 1;
                Some(Ok(ResultEntry {
                    record: self.results,
                    tx: Some(ResultTx {
                        scheme: x.scheme,
                        issuer: x.issuer,
                        card: x.card,
                        card_seq: x.card_seq,
                        kind: x.kind,
                        terminal: x.terminal,
                        terminal_seq: x.terminal_seq,
                        amount_fen: x.amount_fen,
                    }),
                    status: match x.status {
                        Status::Accepted => RecordStatus::Accepted,
                        Status::Rejected => RecordStatus::Rejected,
                    },
                    code: x.code,
                    field: None,
                    reason: x.reason,
                }))
            }
            Some(Err(e)) => {
                if e.is_file_level() {
                    self.done = true;
                    self.fatal = Some(e.clone());
                } else {
                    self.results += 1;
                }
                Some(Err(e))
            }
            None => {
                self.done = true;
                match self.inner.finish() {
                    Ok(s) => {
                        let t = s.totals;
                        self.checked = Some(ResultTotals {
                            count: t.count,
                            amount_fen: t.amount_fen,
                            accepted: t.accepted.map_or(0, |(n, _)| n),
                            rejected: t.rejected.map_or(0, |(n, _)| n),
                        });
                        None
                    }
                    Err(e) => {
                        self.fatal = Some(e.clone());
                        Some(Err(e))
                    }
                }
            }
        }
    }
}

impl<R: BufRead> ResultStream for XmlResultReader<R> {
    fn family(&self) -> Format {
        Format::HutongXml
    }

    fn meta(&self) -> &ResultMeta {
        &self.meta
    }

    fn totals(&self) -> Option<&ResultTotals> {
        self.checked.as_ref()
    }

    fn finish(&mut self) -> Result<ResultTotals> {
        while self.next().is_some() {}
        finish_with(&self.fatal, self.checked, &self.file)
    }
}
