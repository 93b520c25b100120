//! The local-csv reader.

use std::borrow::Cow;
use std::io::BufRead;

use card_standards::CanonicalTx;
use csv::ByteRecord;

use super::{COLUMNS, VERSION};
use crate::Format;
use crate::error::{Error, Location, Result};
use crate::fields::{self, CodeSpace, Codec, Texts, TimeStyle};
use crate::stream::{Bounded, FileMeta, FileSummary, ReadOptions, Tally, TxStream};
use card_standards::Scheme;

/// A reader of one local-csv file: an iterator of canonical records (see [`TxStream`]).
pub struct Reader<'a, R: BufRead> {
    csv: csv::Reader<Bounded<R>>,
    row: ByteRecord,
    codec: Codec<'a>,
    file: String,
    meta: FileMeta,
    records: u64,
    tally: Tally,
    trailer: Option<(u64, i128, Location)>,
    fatal: Option<Error>,
    done: bool,
}

impl<R: BufRead> std::fmt::Debug for Reader<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("local_csv::Reader")
            .field("meta", &self.meta)
            .field("records", &self.records)
            .finish_non_exhaustive()
    }
}

/// A row written back as one CSV line (RFC 4180 quoting, no line end).
pub(crate) fn csv_line(row: &ByteRecord) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let _ = w.write_byte_record(row);
    let mut out = w.into_inner().unwrap_or_default();
    if out.last() == Some(&b'\n') {
        out.pop();
    }
    out
}

pub(super) fn line_of(row: &ByteRecord) -> Option<u64> {
    row.position().map(csv::Position::line)
}

pub(super) fn text(row: &ByteRecord, i: usize) -> std::result::Result<&str, ()> {
    std::str::from_utf8(row.get(i).unwrap_or(b"")).map_err(|_| ())
}

/// Reads the next row; `Ok(false)` at the end of input.
pub(super) fn next_row<R: BufRead>(
    csv: &mut csv::Reader<Bounded<R>>,
    row: &mut ByteRecord,
    file: &str,
) -> Result<bool> {
    csv.read_byte_record(row).map_err(|e| {
        let line = e.position().map(csv::Position::line);
        Error::envelope(
            Location {
                file: file.to_string(),
                record: None,
                line,
            },
            "input",
            format!("unreadable: {e}"),
        )
    })
}

impl<'a, R: BufRead> Reader<'a, R> {
    /// Opens a file: reads and checks the header row (`F01`).
    pub fn open(input: R, opts: ReadOptions<'a>) -> Result<Self> {
        let mut csv = csv::ReaderBuilder::new()
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
        if !next_row(&mut csv, &mut row, opts.file)? {
            return Err(Error::envelope(at(Some(1)), "header", "the file is empty"));
        }
        let here = at(line_of(&row));
        let get = |i: usize, name: &str| {
            text(&row, i).map_err(|()| Error::envelope(here.clone(), name, "not UTF-8"))
        };
        if row.len() != 7 {
            return Err(Error::envelope(
                here,
                "header",
                format!(
                    "expected 7 columns H,local-csv,version,sender,receiver,seq,created; got {}",
                    row.len()
                ),
            ));
        }
        for (i, name, want) in [
            (0, "record type", "H"),
            (1, "format", "local-csv"),
            (2, "version", VERSION),
        ] {
            let t = get(i, name)?;
            if t != want {
                return Err(Error::envelope(
                    here,
                    name,
                    format!("expected {want:?} (value {t:?})"),
                ));
            }
        }
        let sender = get(3, "sender")?;
        if sender.is_empty() {
            return Err(Error::envelope(here, "sender", "missing"));
        }
        let receiver = get(4, "receiver")?;
        let seq_t = get(5, "seq")?;
        let seq = seq_t
            .parse::<u64>()
            .ok()
            .filter(|_| seq_t.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                Error::envelope(
                    here.clone(),
                    "seq",
                    format!("expected a decimal number (value {seq_t:?})"),
                )
            })?;
        let created_t = get(6, "created")?;
        let created = fields::read_time(TimeStyle::Iso, created_t).ok_or_else(|| {
            Error::envelope(
                here.clone(),
                "created",
                format!("expected a date-time YYYY-MM-DDThh:mm:ss (value {created_t:?})"),
            )
        })?;
        let mut meta = FileMeta::new(sender, seq, created);
        meta.receiver = (!receiver.is_empty()).then(|| receiver.to_string());
        Ok(Reader {
            csv,
            row,
            codec: Codec {
                format: Format::LocalCsv,
                tables: opts.tables,
                space: CodeSpace::Network(Scheme::Local),
                time: TimeStyle::Iso,
            },
            file: opts.file.to_string(),
            meta,
            records: 0,
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
            line: line_of(&self.row),
        }
    }

    fn fail(&mut self, e: Error) -> Option<Result<CanonicalTx>> {
        self.done = true;
        self.fatal = Some(e.clone());
        Some(Err(e))
    }

    fn detail(&mut self) -> Result<CanonicalTx> {
        self.records += 1;
        let at = self.at(Some(self.records));
        if self.row.len() != COLUMNS.len() + 1 {
            self.tally.add(None);
            return Err(Error::Field {
                at,
                field: "record length",
                value: String::new(),
                reason: format!("{} columns, expected {}", self.row.len(), COLUMNS.len() + 1),
            });
        }
        let mut texts = Texts::new();
        let mut bad_utf8 = None;
        for (i, col) in COLUMNS.iter().enumerate() {
            match text(&self.row, i + 1) {
                Ok(t) => texts.set(col.slot, col.name, Cow::Borrowed(t)),
                Err(()) => {
                    texts.declare(col.slot, col.name);
                    if bad_utf8.is_none() {
                        bad_utf8 = Some(col.name);
                    }
                }
            }
        }
        self.tally.add(fields::tally_amount(&texts));
        if let Some(name) = bad_utf8 {
            return Err(Error::bad_field(at, name, "", "not UTF-8"));
        }
        fields::build(&self.codec, &texts, &at, None)
    }

    fn read_trailer(&self) -> Result<(u64, i128)> {
        let at = self.at(None);
        if self.row.len() != 3 {
            return Err(Error::envelope(
                at,
                "trailer",
                format!("expected 3 columns T,count,total; got {}", self.row.len()),
            ));
        }
        let num = |i: usize, name: &str| -> Result<u64> {
            let t = text(&self.row, i).unwrap_or("\u{FFFD}");
            t.parse::<u64>()
                .ok()
                .filter(|_| t.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| {
                    Error::envelope(
                        at.clone(),
                        name,
                        format!("expected a decimal number (value {t:?})"),
                    )
                })
        };
        Ok((num(1, "count")?, i128::from(num(2, "total")?)))
    }
}

impl<R: BufRead> Iterator for Reader<'_, R> {
    type Item = Result<CanonicalTx>;

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
                        let at = Location {
                            file: self.file.clone(),
                            record: None,
                            line: None,
                        };
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
                continue; // an empty line
            }
            if self.trailer.is_some() {
                let at = self.at(None);
                return self.fail(Error::envelope(at, "trailer", "rows after the T row"));
            }
            match kind {
                b"D" => return Some(self.detail()),
                b"T" => match self.read_trailer() {
                    Ok((c, t)) => self.trailer = Some((c, t, self.at(None))),
                    Err(e) => return self.fail(e),
                },
                b"H" => {
                    let at = self.at(None);
                    return self.fail(Error::envelope(at, "header", "a second H row"));
                }
                other => {
                    self.records += 1;
                    self.tally.add(None);
                    let at = self.at(Some(self.records));
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

impl<R: BufRead> TxStream for Reader<'_, R> {
    fn meta(&self) -> &FileMeta {
        &self.meta
    }

    fn raw_record(&self) -> Option<Cow<'_, [u8]>> {
        (self.records > 0).then(|| Cow::Owned(csv_line(&self.row)))
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
        self.tally.check(&at, ("count", "total"), count, total)?;
        Ok(FileSummary {
            meta: self.meta.clone(),
            records: self.tally.count,
            total_fen: self.tally.total_fen(),
        })
    }
}
