//! Reading result files back: [`detect_result`], [`open_result`], the [`ResultStream`] every
//! family's reader implements, and the one table-driven reader of the fixed-width layouts
//! ([`FixedResultReader`]). The local-csv reader is in [`crate::local_csv::result`]; the
//! `hutong-xml` one wraps [`crate::hutong_xml::result::Reader`].

use std::io::BufRead;

use card_standards::{CardSerial, CodeTables, IssuerCode, IssuerId, Scheme, TerminalId, TxKind};

use super::{
    RecordStatus, ResultEntry, ResultItem, ResultLayout, ResultMeta, ResultTotals, ResultTx,
};
use crate::Format;
use crate::blacklist::city_from_file;
use crate::error::{Error, Location, Result, clip};
use crate::fields;
use crate::lines;
use crate::stream::ReadOptions;

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
    if let Some(layout) = crate::fixed::layout(family) {
        return Ok(Box::new(FixedResultReader::open(
            layout, input, tables, file,
        )?));
    }
    Ok(match family.family() {
        Format::HutongXml => Box::new(XmlResultReader::open(input, tables, file)?),
        _ => Box::new(crate::local_csv::result::Reader::open(input, tables, file)?),
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
pub struct Tally {
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

/// A reader of one fixed-width result file, driven by its [`ResultLayout`]: the engine's
/// [`Reader`](crate::fixed::Reader).
pub type FixedResultReader<'a, R> = crate::fixed::Reader<'a, R, ResultItem>;

/// The cells of a result line of the right length, and the first column that does not read.
pub(crate) fn cells_of<'l>(
    layout: &ResultLayout,
    line: &'l [u8],
    at: &Location,
) -> (Vec<Cell<'l>>, Option<Error>) {
    let mut cells = Vec::with_capacity(layout.detail.len());
    let mut broken = None;
    for c in layout.detail {
        let text = match lines::text_of(line, c) {
            Ok(t) => t,
            Err(why) => {
                let raw = line.get(c.offset..c.offset + c.width).unwrap_or_default();
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
    (cells, broken)
}

impl<R: BufRead> ResultStream for FixedResultReader<'_, R> {
    fn family(&self) -> Format {
        self.layout.format
    }

    fn meta(&self) -> &ResultMeta {
        &self.meta
    }

    fn totals(&self) -> Option<&ResultTotals> {
        self.trailer
            .as_ref()
            .filter(|_| self.checked)
            .map(|(t, _)| t)
    }

    fn finish(&mut self) -> Result<ResultTotals> {
        self.end()
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
