//! The one error type of this crate, and its mapping to ISO 7816 status words.

use crate::status::StatusWord;

/// Everything that can go wrong in `card-standards`: a malformed field, an unknown code, a
/// malformed APDU, a key of the wrong size.
///
/// Every variant names what it was looking at (the field, the table, the code) so that the
/// message alone tells a user what to fix. [`Error::status_word`] maps an error to the status
/// word a card answers with, the way rustls maps its errors to alerts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A code that a code table does not hold.
    #[error("code {code:?} is not in the {table} table")]
    UnknownCode {
        /// The table that was searched (e.g. `cities.mohurd_code`).
        table: &'static str,
        /// The code that was looked up, as written.
        code: String,
    },
    /// A field or buffer of the wrong length.
    #[error("{field}: expected {expected} bytes, got {actual}")]
    WrongLength {
        /// The field, file or key.
        field: &'static str,
        /// Bytes expected.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// A field whose value is not valid (BCD digit out of range, impossible date, …).
    #[error("{field}: {reason} (value {value})")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// The value as given (hex for binary fields).
        value: String,
        /// What was expected.
        reason: &'static str,
    },
    /// A command APDU that cannot be parsed (shorter than 4 bytes, Lc disagrees with the data).
    #[error("malformed APDU: {0}")]
    MalformedApdu(&'static str),
    /// A class byte this model does not know.
    #[error("class byte {0:02X} not supported")]
    UnsupportedClass(u8),
    /// An instruction byte this model does not know.
    #[error("instruction {0:02X} not supported")]
    UnsupportedInstruction(u8),
    /// P1/P2 that the command does not accept.
    #[error("P1 P2 = {p1:02X} {p2:02X} not accepted by {command}")]
    WrongP1P2 {
        /// The command.
        command: &'static str,
        /// P1 as sent.
        p1: u8,
        /// P2 as sent.
        p2: u8,
    },
    /// A response APDU whose status word is not 9000 where a success was expected.
    #[error("card answered {0}")]
    CardStatus(StatusWord),
    /// A code-table data file that does not parse (a build defect, caught by tests).
    #[error("code table {table}: {detail}")]
    CodeTable {
        /// The data file.
        table: &'static str,
        /// The parser's message.
        detail: String,
    },
}

impl Error {
    /// The ISO 7816 status word a card answers when it meets this error in a command.
    pub fn status_word(&self) -> StatusWord {
        match self {
            Error::WrongLength { .. } | Error::MalformedApdu(_) => StatusWord::WRONG_LENGTH,
            Error::UnsupportedClass(_) => StatusWord::CLASS_NOT_SUPPORTED,
            Error::UnsupportedInstruction(_) => StatusWord::INSTRUCTION_NOT_SUPPORTED,
            Error::WrongP1P2 { .. } => StatusWord::WRONG_P1P2,
            Error::CardStatus(sw) => *sw,
            Error::UnknownCode { .. } | Error::InvalidField { .. } | Error::CodeTable { .. } => {
                StatusWord::WRONG_DATA
            }
        }
    }

    /// Shorthand for [`Error::WrongLength`] when `actual != expected`.
    pub(crate) fn check_len(field: &'static str, expected: usize, actual: usize) -> Result<()> {
        if expected == actual {
            Ok(())
        } else {
            Err(Error::WrongLength {
                field,
                expected,
                actual,
            })
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
