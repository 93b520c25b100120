//! Discrepancies: every difference reconciliation finds, typed, with the records, files,
//! participants and the amount at stake.

use serde::{Deserialize, Serialize};

use crate::positions::Flow;

/// The kinds of difference hutong finds (issue 7, DESIGN.md flow 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscrepancyType {
    /// The hub sent a record the partner's results do not mention.
    MissingAtPartner,
    /// The partner's results mention a record the hub never sent.
    MissingAtHub,
    /// The partner's amount for a record differs from the hub's.
    AmountMismatch,
    /// The card's issuer rejected the record (its reason attached).
    RejectedByIssuer,
    /// The same transaction presented twice.
    Duplicate,
    /// The TAC does not verify.
    TacInvalid,
    /// The card was blacklisted at the transaction time.
    Blacklisted,
    /// Presented after the acceptance window.
    LatePresentment,
    /// A gap in a card's counter: transactions the hub never saw.
    CounterGap,
    /// Two different transactions with one card counter: a cloned card.
    CounterClash,
    /// A card's balance does not follow from its previous transaction: tampering or cloning.
    BalanceChainBreak,
    /// A partner's declared totals differ from the records.
    TotalMismatch,
}

impl DiscrepancyType {
    /// Every type.
    pub const ALL: [DiscrepancyType; 12] = [
        DiscrepancyType::MissingAtPartner,
        DiscrepancyType::MissingAtHub,
        DiscrepancyType::AmountMismatch,
        DiscrepancyType::RejectedByIssuer,
        DiscrepancyType::Duplicate,
        DiscrepancyType::TacInvalid,
        DiscrepancyType::Blacklisted,
        DiscrepancyType::LatePresentment,
        DiscrepancyType::CounterGap,
        DiscrepancyType::CounterClash,
        DiscrepancyType::BalanceChainBreak,
        DiscrepancyType::TotalMismatch,
    ];

    /// The snake-case name used in files and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            DiscrepancyType::MissingAtPartner => "missing_at_partner",
            DiscrepancyType::MissingAtHub => "missing_at_hub",
            DiscrepancyType::AmountMismatch => "amount_mismatch",
            DiscrepancyType::RejectedByIssuer => "rejected_by_issuer",
            DiscrepancyType::Duplicate => "duplicate",
            DiscrepancyType::TacInvalid => "tac_invalid",
            DiscrepancyType::Blacklisted => "blacklisted",
            DiscrepancyType::LatePresentment => "late_presentment",
            DiscrepancyType::CounterGap => "counter_gap",
            DiscrepancyType::CounterClash => "counter_clash",
            DiscrepancyType::BalanceChainBreak => "balance_chain_break",
            DiscrepancyType::TotalMismatch => "total_mismatch",
        }
    }
}

impl std::fmt::Display for DiscrepancyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DiscrepancyType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        DiscrepancyType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown discrepancy type {s:?}"))
    }
}

/// One difference found, before the hub stores it and gives it an id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What kind of difference.
    pub kind: DiscrepancyType,
    /// The participants involved (acquirer, issuer, partner…).
    pub participants: Vec<String>,
    /// The acquirer of the transaction(s), when there is one.
    pub acquirer: Option<String>,
    /// The clearing participant of the card's issuer, when known.
    pub issuer: Option<String>,
    /// Which way the transaction's money flowed, when the finding is about one.
    pub flow: Option<Flow>,
    /// The hub's record ids involved.
    pub records: Vec<i64>,
    /// The amount at stake, fen (≥ 0).
    pub amount_fen: i64,
    /// A sentence a finance team can read.
    pub detail: String,
}
