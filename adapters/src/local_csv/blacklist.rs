//! `local-csv-blacklist`: the local system's blacklist changes, in the style of `local-csv`.
//!
//! ```text
//! H,local-csv-blacklist,1,QDT01,,3,2026-11-21T23:00:00
//! # D,scheme,issuer,city,card_serial,action,effective,reason
//! D,local,2660,2660,00002660000000001234,add,2026-11-21T18:00:00,lost
//! T,1
//! ```
//!
//! City codes are MOHURD codes (the local system's code space; a T-Union card's city is
//! translated). The layout is hutong's own \[I\]: the columns are [`BLACKLIST_COLUMNS`].

use std::borrow::Cow;
use std::io::{BufRead, Write};

use card_standards::{CardSerial, CodeTables, IssuerCode, IssuerId, Scheme};
use csv::ByteRecord;

use super::reader::{csv_line, line_of, next_row, text};
use crate::Format;
use crate::blacklist::{
    Action, BlacklistItem as B, BlacklistSink, BlacklistStream, Entry, city_from_file, city_to_file,
};
use crate::error::{Error, Location, Result};
use crate::fields::{self, TimeStyle};
use crate::lines::{CsvCol, csv, ocsv};
use crate::stream::{Bounded, FileMeta, ReadOptions};

/// The tag in the `H` row.
pub const TAG: &str = "local-csv-blacklist";

/// The columns of a `D` row after the leading `D`.
pub const BLACKLIST_COLUMNS: &[CsvCol<B>] = &[
    csv(
        "scheme",
        B::Scheme,
        "card's scheme: `local`, `mohurd`, `mot`, `pboc`",
    ),
    csv("issuer", B::Issuer, "card issuer's code, 4 hex digits"),
    csv("city", B::City, "card issuer's city, MOHURD city code"),
    csv("card_serial", B::Card, "application serial, 20 hex digits"),
    csv("action", B::Action, "`add` (挂失) or `remove` (解挂)"),
    csv(
        "effective",
        B::Effective,
        "local date-time from which the change applies, `YYYY-MM-DDThh:mm:ss`",
    ),
    ocsv("reason", B::Reason, "why, free text"),
];

const FORMAT: Format = Format::LocalCsvBlacklist;

/// A reader of one local-csv blacklist file.
pub struct Reader<'a, R: BufRead> {
    csv: ::csv::Reader<Bounded<R>>,
    row: ByteRecord,
    tables: &'a CodeTables,
    file: String,
    meta: FileMeta,
    entries: u64,
    trailer: Option<(u64, Location)>,
    fatal: Option<Error>,
    done: bool,
}

impl<R: BufRead> std::fmt::Debug for Reader<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("local_csv::blacklist::Reader")
            .field("meta", &self.meta)
            .field("entries", &self.entries)
            .finish_non_exhaustive()
    }
}

/// Opens a file: reads and checks its `H` row (`F01`).
pub fn reader<R: BufRead>(input: R, opts: ReadOptions<'_>) -> Result<Reader<'_, R>> {
    let mut rd = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(Bounded::new(input, b'\n'));
    let mut row = ByteRecord::new();
    let at = |line: Option<u64>| Location {
        file: opts.file.to_string(),
        record: None,
        line,
    };
    if !next_row(&mut rd, &mut row, opts.file)? {
        return Err(Error::envelope(at(Some(1)), "header", "the file is empty"));
    }
    let meta = super::read_header(&row, &at(line_of(&row)), TAG, 7)?;
    Ok(Reader {
        csv: rd,
        row,
        tables: opts.tables,
        file: opts.file.to_string(),
        meta,
        entries: 0,
        trailer: None,
        fatal: None,
        done: false,
    })
}

impl<R: BufRead> Reader<'_, R> {
    fn at(&self, record: Option<u64>) -> Location {
        Location {
            file: self.file.clone(),
            record,
            line: line_of(&self.row),
        }
    }

    fn fail(&mut self, e: Error) -> Option<Result<Entry>> {
        self.done = true;
        self.fatal = Some(e.clone());
        Some(Err(e))
    }

    fn entry(&mut self) -> Result<Entry> {
        self.entries += 1;
        let at = self.at(Some(self.entries));
        if self.row.len() != BLACKLIST_COLUMNS.len() + 1 {
            return Err(Error::Field {
                at,
                field: "record length",
                value: String::new(),
                reason: format!(
                    "{} columns, expected {}",
                    self.row.len(),
                    BLACKLIST_COLUMNS.len() + 1
                ),
            });
        }
        let cell = |i: usize| -> Result<&str> {
            let c = &BLACKLIST_COLUMNS[i];
            let t = text(&self.row, i + 1)
                .map_err(|()| Error::bad_field(at.clone(), c.name, "", "not UTF-8"))?;
            if t.is_empty() && !c.optional {
                return Err(Error::bad_field(at.clone(), c.name, "", "missing"));
            }
            Ok(t)
        };
        let bad = |i: usize, v: &str, why: &str| {
            Error::bad_field(at.clone(), BLACKLIST_COLUMNS[i].name, v, why)
        };
        let t = cell(0)?;
        let scheme: Scheme = t
            .parse()
            .map_err(|e: card_standards::Error| bad(0, t, &e.to_string()))?;
        let t = cell(1)?;
        let issuer_code: IssuerCode = t
            .parse()
            .map_err(|_| bad(1, t, "expected 4 hexadecimal digits"))?;
        let t = cell(2)?;
        let city_code =
            city_from_file(self.tables, Scheme::Local, scheme, t).map_err(|why| bad(2, t, &why))?;
        let t = cell(3)?;
        let card: CardSerial = t
            .parse()
            .map_err(|_| bad(3, t, "expected 20 hexadecimal digits"))?;
        let t = cell(4)?;
        let action: Action = t.parse().map_err(|why: String| bad(4, t, &why))?;
        let t = cell(5)?;
        let effective = fields::read_time(TimeStyle::Iso, t)
            .ok_or_else(|| bad(5, t, "expected a date-time YYYY-MM-DDThh:mm:ss"))?;
        let reason = cell(6)?.to_string();
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
}

impl<R: BufRead> Iterator for Reader<'_, R> {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            match next_row(&mut self.csv, &mut self.row, &self.file) {
                Err(e) => return self.fail(e),
                Ok(false) => {
                    self.done = true;
                    if self.trailer.is_none() {
                        let at = self.at(None);
                        return self.fail(Error::envelope(
                            at,
                            "trailer",
                            "the file ends without a T row",
                        ));
                    }
                    return None;
                }
                Ok(true) => {}
            }
            let kind = self.row.get(0).unwrap_or(b"");
            if self.row.len() == 1 && kind.is_empty() {
                continue;
            }
            if self.trailer.is_some() {
                let at = self.at(None);
                return self.fail(Error::envelope(at, "trailer", "rows after the T row"));
            }
            match kind {
                b"D" => return Some(self.entry()),
                b"T" => {
                    let at = self.at(None);
                    let t = text(&self.row, 1).unwrap_or("\u{FFFD}");
                    let count = (self.row.len() == 2)
                        .then(|| t.parse::<u64>().ok())
                        .flatten()
                        .filter(|_| t.bytes().all(|b| b.is_ascii_digit()));
                    match count {
                        Some(c) => self.trailer = Some((c, at)),
                        None => {
                            return self.fail(Error::envelope(
                                at,
                                "count",
                                format!("expected T,count with a decimal count (value {t:?})"),
                            ));
                        }
                    }
                }
                b"H" => {
                    let at = self.at(None);
                    return self.fail(Error::envelope(at, "header", "a second H row"));
                }
                other => {
                    self.entries += 1;
                    let at = self.at(Some(self.entries));
                    let v = String::from_utf8_lossy(other).into_owned();
                    return Some(Err(Error::bad_field(
                        at,
                        "record type",
                        &v,
                        "expected D, H or T",
                    )));
                }
            }
        }
    }
}

impl<R: BufRead> BlacklistStream for Reader<'_, R> {
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
            return Err(Error::TrailerMismatch {
                at,
                field: "count",
                stated: i128::from(count),
                actual: i128::from(self.entries),
            });
        }
        Ok((self.meta.clone(), self.entries))
    }

    fn raw_record(&self) -> Option<Cow<'_, [u8]>> {
        (self.entries > 0).then(|| Cow::Owned(csv_line(&self.row)))
    }
}

/// A writer of one local-csv blacklist file.
pub struct Writer<'a, W: Write> {
    csv: ::csv::Writer<W>,
    tables: &'a CodeTables,
    count: u64,
}

impl<W: Write> std::fmt::Debug for Writer<'_, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("local_csv::blacklist::Writer")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

fn out_err(e: impl std::fmt::Display) -> Error {
    Error::Output {
        format: FORMAT,
        message: e.to_string(),
    }
}

/// Starts a file: writes the `H` row and a comment naming the `D` columns.
pub fn writer<'a, W: Write>(
    mut out: W,
    meta: &FileMeta,
    tables: &'a CodeTables,
) -> Result<Writer<'a, W>> {
    let names: Vec<&str> = BLACKLIST_COLUMNS.iter().map(|c| c.name).collect();
    let head = super::write_header(FORMAT, TAG, meta, &[], "D", &names)?;
    out.write_all(&head)
        .map_err(|e| Error::output(FORMAT, &e))?;
    Ok(Writer {
        csv: ::csv::WriterBuilder::new().flexible(true).from_writer(out),
        tables,
        count: 0,
    })
}

impl<W: Write> BlacklistSink for Writer<'_, W> {
    fn write(&mut self, e: &Entry) -> Result<()> {
        let city = city_to_file(self.tables, Scheme::Local, e.scheme, e.issuer.city_code).map_err(
            |reason| Error::CannotCarry {
                format: FORMAT,
                field: "city",
                reason,
            },
        )?;
        let mut effective = String::new();
        fields::write_time(TimeStyle::Iso, e.effective, &mut effective);
        self.csv
            .write_record([
                "D",
                e.scheme.as_str(),
                &e.issuer.issuer_code.to_string(),
                &city,
                &e.card.to_string(),
                e.action.as_str(),
                &effective,
                &e.reason,
            ])
            .map_err(out_err)?;
        self.count += 1;
        Ok(())
    }

    fn close(mut self: Box<Self>) -> Result<u64> {
        let count = self.count.to_string();
        self.csv.write_record(["T", &count]).map_err(out_err)?;
        self.csv.flush().map_err(out_err)?;
        Ok(self.count)
    }
}
