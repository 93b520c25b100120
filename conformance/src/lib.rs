//! The conformance suite: simulated contactless CPU cards of every scheme, the PSAM, load host
//! and terminal that drive them, and the catalogue of positive and negative cases that
//! compliance engineers run against simulated or real cards.
//!
//! * [`SimCard`]: an ISO 7816-4 APDU state machine per scheme (`local`, `mohurd`, `mot`,
//!   `pboc`) with its MF, PSE and application DF, the scheme's files, the ED/EP purse, its
//!   counters and its keys, personalised from a [`CardProfile`] and the issuer's
//!   [`IssuerKeys`]. Raw APDUs in ([`SimCard::transmit`]) or typed calls.
//! * [`Psam`], [`LoadHost`] and [`Terminal`]: purchase, composite purchase, load and torn
//!   transaction recovery, each completed transaction as a [`card_standards::CanonicalTx`].
//! * [`CardReader`]: the one interface to a card — the simulated card, [`TearingReader`] and
//!   [`TracingReader`] wrappers, and a PC/SC reader with the `pcsc` feature.
//! * [`catalogue()`] of [`Case`]s, [`run`] over a [`CardSource`] ([`SimulatedCards`] or a
//!   [`RealCard`]), and the JUnit and HTML [`report`]s.
//!
//! Facts that are inferred rather than seen in a source are marked \[I\] where they are
//! implemented (see `conformance/README.md` for the list); the simulated cards and the hub's
//! TAC verification use the same choices, so they agree with each other, not necessarily
//! with every real card.
//!
//! # A purchase on a simulated card
//!
//! ```
//! use card_standards::crypto::Algorithm;
//! use card_standards::{Industry, Scheme, TacCheck, TerminalId};
//! use conformance::{CardProfile, LoadHost, Psam, SimCard, Terminal, TerminalConfig};
//!
//! let profile = CardProfile::test(Scheme::Mot, Algorithm::Sm4);
//! let mut card = SimCard::personalise(&profile)?;
//!
//! let mut psam = Psam::new(TerminalId([0, 0, 0, 0, 0, 1]));
//! psam.add_key(profile.issuer, profile.key_version, profile.keys.alg, profile.keys.mpk);
//! let config = TerminalConfig::new("QDT", Industry::Bus);
//! let mut terminal = Terminal::new(config, psam, LoadHost::new());
//!
//! let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 22)
//!     .and_then(|d| d.and_hms_opt(8, 15, 0))
//!     .expect("a date");
//! let tx = terminal.purchase(&mut card, Scheme::Mot, 200, at)?;
//! assert_eq!(card.purse().balance, 9_800);
//! // The clearing side verifies the TAC from the issuer's master TAC key.
//! assert_eq!(tx.check_tac(&profile.keys.tac_key())?, TacCheck::Valid);
//!
//! // The whole catalogue against fresh simulated cards.
//! let cases = conformance::catalogue();
//! let report = conformance::run(&cases, &mut conformance::SimulatedCards::new(), at);
//! assert!(report.succeeded(), "{}", report.summary());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod card;
pub mod catalogue;
pub mod dump;
mod error;
#[cfg(feature = "pcsc")]
mod pcsc_reader;
mod profile;
mod psam;
mod reader;
pub mod report;
mod runner;
mod terminal;
#[cfg(feature = "pcsc")]
mod virtual_reader;
pub mod vpcd;

pub use card::{PurseState, SimCard};
pub use catalogue::{Case, CaseRun, Setup, catalogue, catalogue_for};
pub use error::{Error, Result};
#[cfg(feature = "pcsc")]
pub use pcsc_reader::PcscReader;
pub use profile::{AppState, CardKeys, CardProfile, IssuerKeys, RealFiles};
pub use psam::{LoadAuthorisation, LoadHost, LoadRequest, Mac1, Mac1Request, Psam, PsamSession};
pub use reader::{CardReader, Tear, TearingReader, TraceEvent, TracingReader, command_name};
pub use runner::{
    CardSource, CardUnderTest, CaseReport, RealCard, Report, SimulatedCards, Summary, Unavailable,
    Verdict, run, run_case, run_each,
};
pub use terminal::{
    CardInfo, Pending, PendingLoad, PendingPurchase, Recovery, Terminal, TerminalConfig,
    fci_app_info,
};
#[cfg(feature = "pcsc")]
pub use virtual_reader::VirtualCards;
