//! The APDU model: raw command and response APDUs (ISO 7816-4 short form), typed commands of
//! the ED/EP purse and file system, and typed responses.
//!
//! A card parses a [`CommandApdu`] into a [`Command`] with [`Command::parse`]; an error maps
//! to the status word the card should answer with ([`crate::Error::status_word`]). A terminal
//! builds a [`Command`], sends [`Command::to_apdu`], and parses the response data with the
//! typed response of that command.

mod command;
mod raw;
mod response;

pub use command::{BalanceRegister, Command, ReadTarget};
pub use raw::{CommandApdu, ResponseApdu};
pub use response::{
    Balance, CreditForLoadResponse, DebitForPurchaseResponse, InitializeForLoadResponse,
    InitializeForPurchaseResponse, TransactionProveResponse,
};
