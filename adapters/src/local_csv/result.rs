//! `local-csv` result files: the hub's answer to a local-csv file, one `R` row per record.
//!
//! ```text
//! H,local-csv-result,1,HUB,QDT01,42,2026-11-22T01:00:00,2026-11-22
//! # R,record,scheme,issuer,city,card_serial,card_seq,kind,terminal,terminal_seq,amount,status,code,field,reason
//! R,1,local,2660,2660,00002660000000001234,17,purchase,000001000050,123,200,accepted,,,
//! R,2,,,,,,,,,,rejected,R07,terminal,… expected 12 hexadecimal digits …
//! T,2,200,1,1
//! ```
//!
//! The `H` row is `H,local-csv-result,1,sender,receiver,seq,created,day` (`seq` is the answered
//! file's, `day` the settlement day or empty); the `T` row `T,count,amount,accepted,rejected`.
//! City codes are MOHURD codes. The layout is hutong's own \[I\]: [`RESULT_COLUMNS`].
//!
//! The local city system sends its results for what the hub sent it in this same layout;
//! [`Reader`] reads them back (through [`crate::result::open_result`]).

use std::io::{BufRead, Write};

use card_standards::{CodeTables, Scheme};
use chrono::NaiveDate;
use csv::ByteRecord;

use super::reader::{line_of, next_row, text};
use crate::Format;
use crate::error::{Error, Location, Result};
use crate::lines::{CsvCol, csv, ocsv};
use crate::result::{
    Cell, ResultEntry, ResultItem as R, ResultMeta, ResultSink, ResultStream, ResultTotals, Tally,
    amount_of, entry_text, finish_with, number, parse_entry,
};
use crate::stream::{Bounded, FileMeta};

/// The tag in the `H` row.
pub const TAG: &str = "local-csv-result";

/// The columns of an `R` row after the leading `R`.
pub const RESULT_COLUMNS: &[CsvCol<R>] = &[
    csv(
        "record",
        R::Record,
        "record number in the file answered; 0: the file as a whole",
    ),
    ocsv("scheme", R::Scheme, "card's scheme"),
    ocsv("issuer", R::Issuer, "card issuer's code"),
    ocsv("city", R::City, "card issuer's city, MOHURD city code"),
    ocsv("card_serial", R::Card, "application serial, 20 hex digits"),
    ocsv("card_seq", R::CardSeq, "card counter"),
    ocsv(
        "kind",
        R::Kind,
        "`purchase`, `composite_purchase`, `load`, …",
    ),
    ocsv("terminal", R::Terminal, "terminal (PSAM) number"),
    ocsv("terminal_seq", R::TerminalSeq, "terminal counter"),
    ocsv("amount", R::Amount, "amount, fen"),
    csv("status", R::Status, "`accepted` or `rejected`"),
    ocsv(
        "code",
        R::Code,
        "reason code of a rejection (`R01`…, `F01`…)",
    ),
    ocsv("field", R::Field, "the field the rejection names"),
    ocsv("reason", R::Reason, "why"),
];

const FORMAT: Format = Format::LocalCsv;

fn out_err(e: impl std::fmt::Display) -> Error {
    Error::Output {
        format: FORMAT,
        message: e.to_string(),
    }
}

/// A writer of one local-csv result file.
pub struct Writer<'a, W: Write> {
    csv: ::csv::Writer<W>,
    tables: &'a CodeTables,
    cells: Vec<String>,
}

impl<W: Write> std::fmt::Debug for Writer<'_, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("local_csv::result::Writer")
            .finish_non_exhaustive()
    }
}

impl<'a, W: Write> Writer<'a, W> {
    /// Starts a file: writes the `H` row and a comment naming the `R` columns.
    pub fn new(mut out: W, meta: &ResultMeta, tables: &'a CodeTables) -> Result<Self> {
        let mut fm = FileMeta::new(meta.sender.clone(), meta.seq, meta.created);
        fm.receiver = meta.receiver.clone();
        let day = meta
            .day
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        let names: Vec<&str> = RESULT_COLUMNS.iter().map(|c| c.name).collect();
        let head = super::write_header(FORMAT, TAG, &fm, &[&day], "R", &names)?;
        out.write_all(&head)
            .map_err(|e| Error::output(FORMAT, &e))?;
        Ok(Writer {
            csv: ::csv::WriterBuilder::new().flexible(true).from_writer(out),
            tables,
            cells: vec![String::new(); RESULT_COLUMNS.len() + 1],
        })
    }
}

impl<W: Write> ResultSink for Writer<'_, W> {
    fn write(&mut self, e: &ResultEntry) -> Result<()> {
        self.cells[0].clear();
        self.cells[0].push('R');
        for (i, c) in RESULT_COLUMNS.iter().enumerate() {
            let cell = &mut self.cells[i + 1];
            cell.clear();
            entry_text(c.item, e, self.tables, Scheme::Local, false, cell);
        }
        self.csv.write_record(&self.cells).map_err(out_err)
    }

    fn close(mut self: Box<Self>, totals: &ResultTotals) -> Result<()> {
        self.csv
            .write_record([
                "T",
                &totals.count.to_string(),
                &totals.amount_fen.to_string(),
                &totals.accepted.to_string(),
                &totals.rejected.to_string(),
            ])
            .map_err(out_err)?;
        self.csv.flush().map_err(out_err)
    }
}

/// The trailer's fields, as errors name them.
const TRAILER_NAMES: [&str; 4] = ["count", "amount", "accepted", "rejected"];

/// A reader of one local-csv result file (see [`crate::result::ResultStream`]).
pub struct Reader<'a, R: BufRead> {
    csv: ::csv::Reader<Bounded<R>>,
    row: ByteRecord,
    tables: &'a CodeTables,
    file: String,
    meta: ResultMeta,
    entries: u64,
    tally: Tally,
    trailer: Option<(ResultTotals, Location)>,
    checked: Option<ResultTotals>,
    fatal: Option<Error>,
    done: bool,
}

impl<R: BufRead> std::fmt::Debug for Reader<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("local_csv::result::Reader")
            .field("meta", &self.meta)
            .field("entries", &self.entries)
            .finish_non_exhaustive()
    }
}

impl<'a, R: BufRead> Reader<'a, R> {
    /// Opens a file: reads and checks its `H` row (`F01`).
    pub fn open(input: R, tables: &'a CodeTables, file: &str) -> Result<Self> {
        // Comment rows are skipped by hand rather than by the CSV parser, which would leave
        // them out of its line count and so misname the line of every later error.
        let mut rd = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(Bounded::new(input, b'\n'));
        let mut row = ByteRecord::new();
        let at = |line: Option<u64>| Location {
            file: file.to_string(),
            record: None,
            line,
        };
        if !next_row(&mut rd, &mut row, file)? {
            return Err(Error::envelope(at(Some(1)), "header", "the file is empty"));
        }
        let here = at(line_of(&row));
        let fm = super::read_header(&row, &here, TAG, 8)?;
        let day_t =
            text(&row, 7).map_err(|()| Error::envelope(here.clone(), "day", "not UTF-8"))?;
        let day = if day_t.is_empty() {
            None
        } else {
            Some(
                NaiveDate::parse_from_str(day_t, "%Y-%m-%d")
                    .ok()
                    .filter(|_| day_t.len() == 10)
                    .ok_or_else(|| {
                        Error::envelope(
                            here.clone(),
                            "day",
                            format!("expected a date YYYY-MM-DD or nothing (value {day_t:?})"),
                        )
                    })?,
            )
        };
        Ok(Reader {
            csv: rd,
            row,
            tables,
            file: file.to_string(),
            meta: ResultMeta {
                sender: fm.sender,
                receiver: fm.receiver,
                seq: fm.seq,
                created: fm.created,
                day,
            },
            entries: 0,
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
            line: line_of(&self.row),
        }
    }

    fn fail(&mut self, e: Error) -> Option<Result<ResultEntry>> {
        self.done = true;
        self.fatal = Some(e.clone());
        Some(Err(e))
    }

    fn entry(&mut self) -> Result<ResultEntry> {
        self.entries += 1;
        let at = self.at(Some(self.entries));
        if self.row.len() != RESULT_COLUMNS.len() + 1 {
            self.tally.add_failed(None);
            return Err(Error::Field {
                at,
                field: "record length",
                value: String::new(),
                reason: format!(
                    "{} columns, expected {}",
                    self.row.len(),
                    RESULT_COLUMNS.len() + 1
                ),
            });
        }
        let mut cells = Vec::with_capacity(RESULT_COLUMNS.len());
        let mut broken = None;
        for (i, c) in RESULT_COLUMNS.iter().enumerate() {
            let t = match text(&self.row, i + 1) {
                Ok(t) => (!t.is_empty()).then_some(t),
                Err(()) => {
                    broken.get_or_insert_with(|| {
                        Error::bad_field(at.clone(), c.name, "", "not UTF-8")
                    });
                    None
                }
            };
            cells.push(Cell {
                item: c.item,
                name: c.name,
                optional: c.optional,
                text: t,
            });
        }
        let parsed = match broken {
            Some(e) => Err(e),
            None => parse_entry(&cells, self.tables, Scheme::Local, false, &at),
        };
        match &parsed {
            Ok(e) => self.tally.add(e),
            Err(_) => self.tally.add_failed(amount_of(&cells)),
        }
        parsed
    }

    fn read_trailer(&self) -> Result<ResultTotals> {
        let at = self.at(None);
        if self.row.len() != 5 {
            return Err(Error::envelope(
                at,
                "trailer",
                format!(
                    "expected 5 columns T,count,amount,accepted,rejected; got {}",
                    self.row.len()
                ),
            ));
        }
        let cell = |i: usize| -> Result<&str> {
            text(&self.row, i)
                .map_err(|()| Error::envelope(at.clone(), TRAILER_NAMES[i - 1], "not UTF-8"))
        };
        let bad = |i: usize, v: &str| {
            Error::envelope(
                at.clone(),
                TRAILER_NAMES[i - 1],
                format!("expected a decimal number (value {v:?})"),
            )
        };
        let count = |i: usize| -> Result<u64> {
            let t = cell(i)?;
            number(t).ok_or_else(|| bad(i, t))
        };
        let t = cell(2)?;
        let amount_fen = match t.strip_prefix('-') {
            Some(digits) => number::<i64>(digits).map(|v| -v),
            None => number(t),
        }
        .ok_or_else(|| bad(2, t))?;
        Ok(ResultTotals {
            count: count(1)?,
            amount_fen,
            accepted: count(3)?,
            rejected: count(4)?,
        })
    }
}

impl<R: BufRead> Iterator for Reader<'_, R> {
    type Item = Result<ResultEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            match next_row(&mut self.csv, &mut self.row, &self.file) {
                Err(e) => return self.fail(e),
                Ok(false) => {
                    self.done = true;
                    return match self.trailer.take() {
                        None => {
                            let at = self.at(None);
                            self.fail(Error::envelope(
                                at,
                                "trailer",
                                "the file ends without a T row",
                            ))
                        }
                        Some((totals, at)) => match self.tally.check(&totals, &at, TRAILER_NAMES) {
                            Ok(()) => {
                                self.checked = Some(totals);
                                None
                            }
                            Err(e) => self.fail(e),
                        },
                    };
                }
                Ok(true) => {}
            }
            let kind = self.row.get(0).unwrap_or(b"");
            if (self.row.len() == 1 && kind.is_empty()) || kind.starts_with(b"#") {
                continue;
            }
            if self.trailer.is_some() {
                let at = self.at(None);
                return self.fail(Error::envelope(at, "trailer", "rows after the T row"));
            }
            match kind {
                b"R" => return Some(self.entry()),
                b"T" => match self.read_trailer() {
                    Ok(t) => {
                        let at = self.at(None);
                        self.trailer = Some((t, at));
                    }
                    Err(e) => return self.fail(e),
                },
                b"H" => {
                    let at = self.at(None);
                    return self.fail(Error::envelope(at, "header", "a second H row"));
                }
                other => {
                    self.entries += 1;
                    self.tally.add_failed(None);
                    let at = self.at(Some(self.entries));
                    let v = String::from_utf8_lossy(other).into_owned();
                    return Some(Err(Error::bad_field(
                        at,
                        "record type",
                        &v,
                        "expected R, H or T",
                    )));
                }
            }
        }
    }
}

impl<R: BufRead> ResultStream for Reader<'_, R> {
    fn family(&self) -> Format {
        FORMAT
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
