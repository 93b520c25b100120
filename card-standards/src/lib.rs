//! The card-level facts of China's transit card standards, as pure Rust: the four schemes,
//! issuer and card identities, code tables, card file codecs, the APDU model, the ED/EP purse
//! cryptography (3DES and hutong's SM4 profile), and [`CanonicalTx`], the one record every
//! transaction becomes.
//!
//! Nothing here does I/O or reads a clock, so everything can be tested and fuzzed directly.
//!
//! * [`crypto`]: key diversification, session keys, MAC1/MAC2/TAC; [`IssuerTacKey`] for bulk
//!   verification on the clearing side.
//! * [`apdu`]: [`Command`](apdu::Command) and the typed responses; [`StatusWord`].
//! * [`files`]: 0015, 0016, 0017, 0018, 001A, 001E.
//! * [`codes`]: cities, card types, industries, from versioned data files.
//! * [`schemes`]: each scheme's AID, files and 0015 layout.
//!
//! # Computing and verifying a TAC
//!
//! The clearing side holds the issuer's master TAC key, derives the card's TAC key from the
//! card serial, and checks the TAC the card produced:
//!
//! ```
//! use card_standards::crypto::{self, Algorithm, IssuerTacKey, Key16, PurchaseData};
//! use card_standards::{CardSerial, TxType};
//!
//! let mtk: Key16 = "11223344556677888877665544332211".parse()?;
//! let serial: CardSerial = "00002660000000001234".parse()?;
//! let purchase = PurchaseData {
//!     amount: 200,
//!     tx_type: TxType::EP_PURCHASE,
//!     terminal: "000001000050".parse()?,
//!     terminal_seq: 123,
//!     date_time: [0x20, 0x26, 0x11, 0x21, 0x08, 0x15, 0x02],
//! };
//!
//! // What the card computes with its own diversified DTK ...
//! let dtk = crypto::diversify(Algorithm::TripleDes, &mtk, &serial.diversification_factor());
//! let tac = crypto::purchase_tac(Algorithm::TripleDes, &dtk, &purchase);
//!
//! // ... the clearing centre verifies from the master key.
//! let issuer = IssuerTacKey::new(Algorithm::TripleDes, &mtk);
//! assert!(issuer.verify_purchase(&serial, &purchase, &tac));
//! # Ok::<(), card_standards::Error>(())
//! ```

mod macros;

pub mod apdu;
pub mod bcd;
mod canonical;
pub mod codes;
pub mod crypto;
pub mod decode;
mod error;
pub mod files;
mod identity;
mod scheme;
pub mod schemes;
mod status;
mod tx_type;

pub use canonical::{Acceptance, CanonicalTx, CardMedium, NaturalKey, Provenance, TacCheck};
pub use codes::{CardType, City, CodeTables, Industry};
pub use crypto::IssuerTacKey;
pub use error::{Error, Result};
pub use identity::{AuthCode, CardSerial, CityCode, IssuerCode, IssuerId, Mac4, TerminalId};
pub use scheme::Scheme;
pub use status::StatusWord;
pub use tx_type::{Purse, TxKind, TxType};
