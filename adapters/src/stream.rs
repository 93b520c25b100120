//! What every reader and writer has in common: file metadata, options, the stream and sink
//! traits, the trailer tally, and a bounded reader that keeps memory flat on hostile input.

use std::io::{self, BufRead, Read};

use card_standards::{CanonicalTx, CodeTables};
use chrono::NaiveDateTime;

use crate::Format;
use crate::error::{Error, Location, Result};

/// Which way a MOHURD package travels (CJ/T 332 names both; the layout is shared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// 交易上传包: from a city (acquirer) to the clearing network.
    Upload,
    /// 交易下发包: from the clearing network to a city (issuer).
    Download,
}

/// The file-level facts of a header: who sent the file, to whom, its sequence number and when
/// it was made. Readers expose it after the header is read; writers take it to write one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    /// The sender's participant (institution) code.
    pub sender: String,
    /// The receiver's participant code, where the format names one.
    pub receiver: Option<String>,
    /// The sender's file sequence number.
    pub seq: u64,
    /// When the sender made the file (its local time; this crate reads no clock).
    pub created: NaiveDateTime,
    /// MOHURD packages only: upload (上传包) or download (下发包). Other formats ignore it on
    /// writing and report `None` on reading.
    pub direction: Option<Direction>,
}

impl FileMeta {
    /// Metadata with no receiver and no direction.
    pub fn new(sender: impl Into<String>, seq: u64, created: NaiveDateTime) -> FileMeta {
        FileMeta {
            sender: sender.into(),
            receiver: None,
            seq,
            created,
            direction: None,
        }
    }
}

/// What a reader needs besides the bytes.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions<'a> {
    /// The file's name (or the hub's file id), quoted in errors and in each record's provenance.
    pub file: &'a str,
    /// The code tables that translate the format's codes.
    pub tables: &'a CodeTables,
}

impl<'a> ReadOptions<'a> {
    /// Options with the built-in code tables.
    pub fn new(file: &'a str) -> ReadOptions<'a> {
        ReadOptions {
            file,
            tables: CodeTables::builtin(),
        }
    }
}

/// The outcome of a whole file: its header and what the trailer agreed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    /// The header.
    pub meta: FileMeta,
    /// Records in the file (rejected records included: the trailer counts them).
    pub records: u64,
    /// The sum of every record's amount, in fen (the trailer's total).
    pub total_fen: i64,
}

/// A file being read as a stream of canonical records.
///
/// Iterating yields one item per record: `Ok` for a record that translated, `Err` for a record
/// that did not (a record-level error, [`Error::is_file_level`] false: keep going, the next
/// item is the next record). If the envelope breaks, the iterator yields one file-level error
/// (`F01`) and ends. [`TxStream::finish`] then says whether the file as a whole stands: it
/// reads whatever the caller did not, and checks the trailer (`F02`).
///
/// The hub stages records as they come and commits only when `finish` returns `Ok`.
pub trait TxStream: Iterator<Item = Result<CanonicalTx>> {
    /// The header's metadata, available as soon as the reader is open.
    fn meta(&self) -> &FileMeta;

    /// Reads to the end (discarding records not yet taken), then checks the envelope and the
    /// trailer: `Err` with `F01` if the envelope is broken or the trailer missing, `F02` if the
    /// trailer's count or total disagrees with the records.
    fn finish(&mut self) -> Result<FileSummary>;

    /// The bytes of the record the last item came from, as they are in the file (a fixed-width
    /// or CSV line without its line end, an XML element), for keeping a rejected record as it
    /// was sent. `None` before the first record and where the format cannot say.
    fn raw_record(&self) -> Option<std::borrow::Cow<'_, [u8]>> {
        None
    }
}

/// A file being written from canonical records, as a stream (the trailer is computed while
/// writing).
pub trait TxSink {
    /// Writes one record. [`Error::CannotCarry`] leaves the output untouched and the writer
    /// usable; [`Error::Output`] means the output itself failed.
    fn write(&mut self, tx: &CanonicalTx) -> Result<()>;

    /// Writes the trailer and flushes; returns what the trailer says.
    fn close(self: Box<Self>) -> Result<FileSummary>;
}

/// Count and total of the records read or written so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    pub(crate) count: u64,
    pub(crate) total: i128,
}

impl Tally {
    pub(crate) fn add(&mut self, amount: Option<i128>) {
        self.count += 1;
        if let Some(a) = amount {
            self.total += a;
        }
    }

    /// Checks a trailer's count and total against the tally (`F02`).
    pub(crate) fn check(
        &self,
        at: &Location,
        names: (&'static str, &'static str),
        count: u64,
        total: i128,
    ) -> Result<()> {
        if count != self.count {
            return Err(Error::TrailerMismatch {
                at: at.clone(),
                field: names.0,
                stated: i128::from(count),
                actual: i128::from(self.count),
            });
        }
        if total != self.total {
            return Err(Error::TrailerMismatch {
                at: at.clone(),
                field: names.1,
                stated: total,
                actual: self.total,
            });
        }
        Ok(())
    }

    pub(crate) fn total_fen(&self) -> i64 {
        i64::try_from(self.total).unwrap_or(i64::MAX)
    }
}

/// The longest run of bytes a reader accepts without a delimiter (a newline for line formats,
/// `>` for XML): 64 KiB. Longer runs are an envelope error, so memory stays flat even on a
/// hostile file.
pub(crate) const MAX_RUN: usize = 64 * 1024;

/// A `BufRead` wrapper that counts lines and fails once more than [`MAX_RUN`] bytes pass
/// without `delim`.
pub(crate) struct Bounded<R> {
    inner: R,
    delim: u8,
    run: usize,
    /// Newlines consumed so far.
    pub(crate) newlines: u64,
}

impl<R: BufRead> Bounded<R> {
    pub(crate) fn new(inner: R, delim: u8) -> Bounded<R> {
        Bounded {
            inner,
            delim,
            run: 0,
            newlines: 0,
        }
    }

    /// The 1-based line the reader is on.
    pub(crate) fn line(&self) -> u64 {
        self.newlines + 1
    }
}

impl<R: BufRead> Read for Bounded<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let avail = self.fill_buf()?;
            let n = avail.len().min(out.len());
            out[..n].copy_from_slice(&avail[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Bounded<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.run > MAX_RUN {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "more than {MAX_RUN} bytes without a {:?}",
                    char::from(self.delim)
                ),
            ));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        // A `BufRead` whose buffer is not empty returns it again without reading: look at the
        // bytes being consumed to count lines and delimiters.
        if let Ok(buf) = self.inner.fill_buf() {
            let seen = &buf[..amt.min(buf.len())];
            self.newlines += seen.iter().filter(|&&b| b == b'\n').count() as u64;
            match seen.iter().rposition(|&b| b == self.delim) {
                Some(i) => self.run = seen.len() - i - 1,
                None => self.run += seen.len(),
            }
        }
        self.inner.consume(amt);
    }
}

/// The outcome of [`read_line`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// End of input.
    Eof,
    /// A line (without its `\n` or `\r\n`) is in the buffer.
    Full,
    /// The line was longer than the limit; it was consumed up to its newline and only its
    /// first `limit` bytes are in the buffer.
    TooLong,
}

/// Reads one line into `buf` (cleared first), keeping at most `limit` bytes of it.
pub(crate) fn read_line<R: BufRead>(
    r: &mut R,
    buf: &mut Vec<u8>,
    limit: usize,
) -> io::Result<Line> {
    buf.clear();
    let mut any = false;
    let mut too_long = false;
    loop {
        let (done, used) = {
            let avail = match r.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                break;
            }
            any = true;
            let (chunk, done, used) = match avail.iter().position(|&b| b == b'\n') {
                Some(i) => (&avail[..i], true, i + 1),
                None => (avail, false, avail.len()),
            };
            let room = limit.saturating_sub(buf.len());
            if chunk.len() > room {
                too_long = true;
            }
            buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            (done, used)
        };
        r.consume(used);
        if done {
            break;
        }
    }
    if !any {
        return Ok(Line::Eof);
    }
    if buf.last() == Some(&b'\r') && !too_long {
        buf.pop();
    }
    Ok(if too_long { Line::TooLong } else { Line::Full })
}

/// Maps an input I/O error to an envelope error (`F01`).
pub(crate) fn input_error(at: Location, e: &io::Error) -> Error {
    Error::envelope(at, "input", format!("unreadable: {e}"))
}

/// The name a stream reports for the format it reads, for [`Error::WrongContent`].
pub(crate) fn wrong_content(file: &str, format: Format, wanted: &'static str) -> Error {
    Error::WrongContent {
        file: file.to_string(),
        format,
        wanted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_line_splits_strips_cr_and_truncates_long_lines() {
        let mut r = io::Cursor::new(b"ab\r\ncdefgh\nij".to_vec());
        let mut buf = Vec::new();
        assert_eq!(read_line(&mut r, &mut buf, 4).unwrap(), Line::Full);
        assert_eq!(buf, b"ab");
        assert_eq!(read_line(&mut r, &mut buf, 4).unwrap(), Line::TooLong);
        assert_eq!(buf, b"cdef");
        assert_eq!(read_line(&mut r, &mut buf, 4).unwrap(), Line::Full);
        assert_eq!(buf, b"ij");
        assert_eq!(read_line(&mut r, &mut buf, 4).unwrap(), Line::Eof);
    }

    #[test]
    fn bounded_counts_lines_and_refuses_a_run_without_delimiter() {
        let mut ok = Bounded::new(io::Cursor::new(b"a\nb\nc".to_vec()), b'\n');
        let mut s = String::new();
        ok.read_to_string(&mut s).unwrap();
        assert_eq!(ok.line(), 3);

        let long = vec![b'x'; MAX_RUN + 10];
        let mut bad = Bounded::new(io::BufReader::with_capacity(1024, &long[..]), b'>');
        let mut sink = Vec::new();
        let err = bad.read_to_end(&mut sink).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
