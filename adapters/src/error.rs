//! The one error type of this crate, where it happened, and the hub reason code it maps to.

use std::fmt;

use crate::Format;

/// A place in an input file: the file's name, the 1-based record number and the 1-based line.
///
/// `record` counts transaction (or blacklist) records only, not headers, trailers or comments;
/// it is `None` for errors in the header or trailer. `line` is the physical line where the
/// reader was (for XML, the line on which the offending element ends).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// The file's name, as the caller passed it in [`ReadOptions`](crate::ReadOptions).
    pub file: String,
    /// The record number, for record-level errors.
    pub record: Option<u64>,
    /// The line number, where the format has lines.
    pub line: Option<u64>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        match (self.record, self.line) {
            (Some(r), Some(l)) => write!(f, ": record {r} (line {l})"),
            (Some(r), None) => write!(f, ": record {r}"),
            (None, Some(l)) => write!(f, ": line {l}"),
            (None, None) => Ok(()),
        }
    }
}

/// A reason code of the hub (issue 5): `F..` rejects a whole file, `R..` one record. The one
/// reason-code type of the workspace: adapter errors map to it ([`Error::reason_code`]: `F01`,
/// `F02`, `R05`, `R07`) and the hub's ingest checks decide the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReasonCode {
    /// `F01`: unreadable or malformed envelope; the whole file is rejected.
    F01,
    /// `F02`: the trailer's record count or total disagrees with the records; the whole file is
    /// rejected.
    F02,
    /// `F03`: the file's sender is not the participant of the uploader's certificate.
    F03,
    /// `F04`: a sequence number already used by that sender with different content.
    F04,
    /// `F05`: a missing or wrong file seal.
    F05,
    /// `R01`: no route for the card's issuer.
    R01,
    /// `R02`: the TAC does not verify.
    R02,
    /// `R03`: a duplicate of a record already accepted.
    R03,
    /// `R04`: the card was blacklisted at the transaction's time.
    R04,
    /// `R05`: a value out of range for the scheme (e.g. an amount that is negative or does not
    /// fit the card's 4-byte purse); the record is rejected.
    R05,
    /// `R06`: the transaction time is outside the acceptance window.
    R06,
    /// `R07`: a malformed field (named); the record is rejected.
    R07,
}

impl ReasonCode {
    /// Every code, in order.
    pub const ALL: [ReasonCode; 12] = [
        ReasonCode::F01,
        ReasonCode::F02,
        ReasonCode::F03,
        ReasonCode::F04,
        ReasonCode::F05,
        ReasonCode::R01,
        ReasonCode::R02,
        ReasonCode::R03,
        ReasonCode::R04,
        ReasonCode::R05,
        ReasonCode::R06,
        ReasonCode::R07,
    ];

    /// The code as the hub writes it (`"F01"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::F01 => "F01",
            ReasonCode::F02 => "F02",
            ReasonCode::F03 => "F03",
            ReasonCode::F04 => "F04",
            ReasonCode::F05 => "F05",
            ReasonCode::R01 => "R01",
            ReasonCode::R02 => "R02",
            ReasonCode::R03 => "R03",
            ReasonCode::R04 => "R04",
            ReasonCode::R05 => "R05",
            ReasonCode::R06 => "R06",
            ReasonCode::R07 => "R07",
        }
    }

    /// Whether the code rejects the whole file (`F..`) rather than one record (`R..`).
    pub fn is_file_level(self) -> bool {
        self.as_str().starts_with('F')
    }
}

impl std::str::FromStr for ReasonCode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<ReasonCode, String> {
        ReasonCode::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("{s:?}: not a reason code (F01…F05, R01…R07)"))
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can go wrong reading or writing a file.
///
/// Reading errors carry a [`Location`] and the name of the field as the format spells it (an XML
/// attribute, a CSV column, a fixed-width field of the layout table), and map to a hub
/// [`ReasonCode`] with [`Error::reason_code`]. Writing errors ([`Error::CannotCarry`],
/// [`Error::Output`]) have no reason code: they are the hub's own problem, not the sender's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The envelope is broken: header, trailer, framing, XML syntax, unreadable input (`F01`).
    #[error("{at}: malformed envelope: {field}: {reason}")]
    Envelope {
        /// Where.
        at: Location,
        /// The header/trailer field or element that is wrong.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The trailer's count or total disagrees with the records (`F02`).
    #[error("{at}: trailer {field} is {stated} but the records give {actual}")]
    TrailerMismatch {
        /// Where (the trailer's line).
        at: Location,
        /// The trailer field (`count` or `total`, as the format names it).
        field: &'static str,
        /// What the trailer says.
        stated: i128,
        /// What the records add up to.
        actual: i128,
    },
    /// A record field that cannot be parsed, or a code that a code table does not hold (`R07`).
    #[error("{at}: field {field}: {reason} (value {value:?})")]
    Field {
        /// Where.
        at: Location,
        /// The field as the format names it.
        field: &'static str,
        /// The value as it was in the file (truncated to 64 characters).
        value: String,
        /// What is wrong; for an unmapped code, the code table's own message naming the table.
        reason: String,
    },
    /// A record field that parses but is out of range (`R05`).
    #[error("{at}: field {field}: out of range: {reason} (value {value:?})")]
    OutOfRange {
        /// Where.
        at: Location,
        /// The field as the format names it.
        field: &'static str,
        /// The value as it was in the file.
        value: String,
        /// The allowed range.
        reason: String,
    },
    /// `detect` does not recognise the first bytes as any format (`F01`).
    #[error("{file}: not a file of any known format (starts with {start:?})")]
    UnknownFormat {
        /// The file.
        file: String,
        /// Its first bytes, escaped.
        start: String,
    },
    /// A transaction reader was asked to read a blacklist file or the other way round (`F01`).
    #[error("{file}: a {format} file holds no {wanted}")]
    WrongContent {
        /// The file.
        file: String,
        /// Its format.
        format: Format,
        /// What the caller wanted (`transactions`, `blacklist entries`).
        wanted: &'static str,
    },
    /// A writer cannot represent a canonical value in this format (the record is not written;
    /// the writer stays usable).
    #[error("{format} cannot carry {field}: {reason}")]
    CannotCarry {
        /// The format.
        format: Format,
        /// The canonical field (`medium`, `tac`, `auth_code`, `card_serial`, …).
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Writing the output failed.
    #[error("writing {format} output: {message}")]
    Output {
        /// The format.
        format: Format,
        /// The I/O error's message.
        message: String,
    },
}

impl Error {
    /// The hub reason code: `F01`/`F02` reject the whole file, `R05`/`R07` one record; `None`
    /// for writer errors.
    pub fn reason_code(&self) -> Option<ReasonCode> {
        match self {
            Error::Envelope { .. } | Error::UnknownFormat { .. } | Error::WrongContent { .. } => {
                Some(ReasonCode::F01)
            }
            Error::TrailerMismatch { .. } => Some(ReasonCode::F02),
            Error::Field { .. } => Some(ReasonCode::R07),
            Error::OutOfRange { .. } => Some(ReasonCode::R05),
            Error::CannotCarry { .. } | Error::Output { .. } => None,
        }
    }

    /// Whether this error rejects the whole file. A reader yields at most one such error and
    /// then ends; [`TxStream::finish`](crate::TxStream::finish) reports it again.
    pub fn is_file_level(&self) -> bool {
        self.reason_code().is_some_and(ReasonCode::is_file_level)
    }

    /// Where the error happened, for reading errors that have a location.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Error::Envelope { at, .. }
            | Error::TrailerMismatch { at, .. }
            | Error::Field { at, .. }
            | Error::OutOfRange { at, .. } => Some(at),
            _ => None,
        }
    }

    /// The field the error names (as the format spells it), where there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Envelope { field, .. } => Some(field),
            Error::TrailerMismatch { field, .. }
            | Error::Field { field, .. }
            | Error::OutOfRange { field, .. }
            | Error::CannotCarry { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The record number the error names, for record-level errors.
    pub fn record(&self) -> Option<u64> {
        self.location().and_then(|l| l.record)
    }

    pub(crate) fn envelope(
        at: Location,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> Error {
        Error::Envelope {
            at,
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn bad_field(
        at: Location,
        field: &'static str,
        value: &str,
        reason: impl Into<String>,
    ) -> Error {
        Error::Field {
            at,
            field,
            value: clip(value),
            reason: reason.into(),
        }
    }

    pub(crate) fn output(format: Format, e: &std::io::Error) -> Error {
        Error::Output {
            format,
            message: e.to_string(),
        }
    }
}

/// A value as quoted in an error: at most 64 characters.
pub(crate) fn clip(value: &str) -> String {
    match value.char_indices().nth(64) {
        Some((i, _)) => format!("{}…", &value[..i]),
        None => value.to_string(),
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
