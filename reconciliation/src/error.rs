//! The one error type of `reconciliation`.

/// What can go wrong in clearing and settlement.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A fee schedule that does not parse or makes no sense; names the rule (1-based) and field.
    #[error("fee schedule{}: {field}: {reason}", rule.map(|r| format!(", rule {r}")).unwrap_or_default())]
    FeeSchedule {
        /// The 1-based rule number, when the problem is in one rule.
        rule: Option<usize>,
        /// The field.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A clearing invariant that does not hold; the window must stay open.
    #[error("clearing check failed: {0}")]
    Invariant(String),
    /// An amount that overflows 64-bit fen.
    #[error("amount overflow in {0}")]
    Overflow(&'static str),
    /// A participant with a position has no settlement account to settle it on.
    #[error("participant {participant} has no settlement account")]
    NoSettlementAccount {
        /// The participant code.
        participant: String,
    },
    /// Writing a settlement file failed.
    #[error("writing {what}: {detail}")]
    Output {
        /// The file kind.
        what: &'static str,
        /// The underlying error.
        detail: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
