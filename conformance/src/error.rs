//! The one error type of this crate.

use card_standards::{CardSerial, IssuerId, StatusWord};

use crate::terminal::Pending;

/// Everything that can go wrong while driving a card: the reader lost the card, the card
/// answered a status word other than 9000, a key is missing, a MAC did not verify, or a
/// transaction was torn and needs recovery.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The reader could not exchange an APDU (no card, card removed, PC/SC failure). The card
    /// may or may not have processed the command.
    #[error("reader: {0}")]
    Reader(String),
    /// The card answered a status word other than 9000.
    #[error("{command}: card answered {sw}")]
    Card {
        /// The command the card refused.
        command: &'static str,
        /// Its status word.
        sw: StatusWord,
    },
    /// A response, file or code that `card-standards` could not parse or map.
    #[error(transparent)]
    Standards(#[from] card_standards::Error),
    /// The PSAM or the load host holds no master key for the card's issuer.
    #[error("no {what} master key for issuer {issuer} with key version {key_version:02X}")]
    KeyNotFound {
        /// Which key (purchase, load).
        what: &'static str,
        /// The card's issuer.
        issuer: IssuerId,
        /// The key version the card announced.
        key_version: u8,
    },
    /// The card's MAC1 of a load did not verify at the host: not a genuine card, or other keys.
    #[error("the card's load MAC1 did not verify at the host")]
    CardMac1Invalid,
    /// The card's MAC2 of a purchase did not verify in the PSAM.
    #[error("the card's MAC2 did not verify in the PSAM")]
    Mac2Invalid,
    /// The PSAM was asked to verify MAC2 without a MAC1 computation before it.
    #[error("the PSAM has no purchase session (MAC1 was not computed)")]
    NoPsamSession,
    /// The terminal found the card's application not valid for the transaction.
    #[error("card application not valid: {0}")]
    CardNotValid(&'static str),
    /// A card profile that cannot be personalised.
    #[error("card profile: {0}")]
    Profile(String),
    /// The card was lost while it processed DEBIT or CREDIT: the transaction may have completed
    /// on the card. Recover it with [`crate::Terminal::recover`].
    #[error("torn transaction: the card was lost during {}", .0.command())]
    Torn(Box<Pending>),
    /// Recovery was attempted with another card than the torn transaction's.
    #[error("card {found} presented for recovery of a transaction of card {expected}")]
    WrongCard {
        /// The serial of the torn transaction.
        expected: CardSerial,
        /// The serial of the card presented.
        found: CardSerial,
    },
}

impl Error {
    /// The status word when the card refused the command.
    pub fn status_word(&self) -> Option<StatusWord> {
        match self {
            Error::Card { sw, .. } => Some(*sw),
            _ => None,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
