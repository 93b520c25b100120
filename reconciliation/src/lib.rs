//! Clearing and reconciliation rules: settlement windows, fee schedules, net positions,
//! settlement outputs, and (as they land) matching against partners' results, discrepancies,
//! disputes and adjustments.
//!
//! The rules are pure functions over figures the hub's database computes; the hub runs them
//! inside database transactions. Money is integer fen; fee arithmetic is `rust_decimal`,
//! rounded once per aggregate, half-up ([`fees`]).
//!
//! ```
//! use card_standards::{Industry, Scheme};
//! use reconciliation::{Aggregate, FeeSchedule, Flow, clear};
//!
//! let fees = FeeSchedule::from_toml(r#"
//!     [[fee]]
//!     industry = "retail"
//!     payer = "acquirer"
//!     payee = "issuer"
//!     rate = "0.0070"
//! "#)?;
//! let window = [Aggregate {
//!     issuer: "QD".into(), acquirer: "RZ".into(), scheme: Scheme::Local,
//!     industry: Industry::Retail, flow: Flow::IssuerPaysAcquirer, count: 13, amount_fen: 2450,
//! }];
//! let cleared = clear(&window, &[], &fees, "HUB")?;
//! let rz = cleared.participants.iter().find(|p| p.code == "RZ").unwrap();
//! assert_eq!((rz.receivable_fen, rz.fees_fen, rz.net_fen), (2450, -17, 2433));
//! # Ok::<(), reconciliation::Error>(())
//! ```

pub mod audit;
pub mod discrepancy;
pub mod dispute;
mod error;
pub mod fees;
pub mod matching;
pub mod money;
mod positions;
pub mod resolution;
pub mod settlement;
mod window;

pub use discrepancy::{DiscrepancyType, Finding};
pub use error::{Error, Result};
pub use fees::{FeePayee, FeePayer, FeeRule, FeeSchedule};
pub use positions::{
    Adjustment, Aggregate, Clearing, FeeLine, Flow, PairPosition, ParticipantPosition, clear,
};
pub use window::CutOff;
