//! Settlement outputs of a cleared window: instructions for the settlement bank
//! (ISO 20022 `pacs.009.001.08`) and a statement per participant (ISO 20022
//! `camt.053.001.08`, CSV, XLSX), on the participants' settlement accounts ([`SettlementAccount`]).
//!
//! Both XML messages are valid against the official XSDs of the versions they declare (kept in
//! `reconciliation/xsd/`; the tests validate every message they produce). Field tables are in
//! `docs/settlement.md`.

mod account;
mod camt053;
mod csv_out;
mod pacs009;
mod xlsx;

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

pub use account::{
    AccountError, AccountField, ClearingMember, SettlementAccount, SettlementAccounts, is_bic,
};
pub use camt053::write_camt053;
pub use csv_out::write_statement_csv;
pub use pacs009::{SettlementInstruction, SettlementParty, settlement_instructions, write_pacs009};
pub use xlsx::statement_xlsx;

use crate::positions::Clearing;

/// What a statement line is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// Card transactions with a counterparty.
    Transactions,
    /// A fee.
    Fee,
    /// An adjustment from a resolved discrepancy or dispute.
    Adjustment,
}

impl LineKind {
    /// The short code used in files (`TXNS`, `FEES`, `ADJS`).
    pub fn code(self) -> &'static str {
        match self {
            LineKind::Transactions => "TXNS",
            LineKind::Fee => "FEES",
            LineKind::Adjustment => "ADJS",
        }
    }
}

/// One line of a participant's statement: money in (credit) or out (debit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementLine {
    /// What the line is.
    pub kind: LineKind,
    /// The other participant.
    pub counterparty: String,
    /// A reference (adjustment reference, fee rule number).
    pub reference: String,
    /// Human description.
    pub description: String,
    /// Transactions behind the line (0 for adjustments).
    pub count: u64,
    /// Money out, fen.
    pub debit_fen: i64,
    /// Money in, fen.
    pub credit_fen: i64,
}

/// A participant's statement of one window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// Participant code.
    pub participant: String,
    /// Settlement day.
    pub day: NaiveDate,
    /// When the statement was made (hub local time).
    pub created: NaiveDateTime,
    /// The lines.
    pub lines: Vec<StatementLine>,
    /// Σ credits, fen.
    pub total_credit_fen: i64,
    /// Σ debits, fen.
    pub total_debit_fen: i64,
    /// Net position, fen (> 0: the participant is paid). Equals credits − debits.
    pub net_fen: i64,
}

/// Builds `participant`'s statement from a cleared window.
pub fn statement(
    clearing: &Clearing,
    participant: &str,
    day: NaiveDate,
    created: NaiveDateTime,
) -> Statement {
    let mut lines = Vec::new();
    for p in &clearing.pairs {
        let (counterparty, out) = if p.payer == participant {
            (&p.payee, true)
        } else if p.payee == participant {
            (&p.payer, false)
        } else {
            continue;
        };
        if p.amount_fen != 0 || p.count != 0 {
            let (debit, credit) = if out {
                (p.amount_fen, 0)
            } else {
                (0, p.amount_fen)
            };
            let description = if out {
                format!("owed to {counterparty} for {} card transactions", p.count)
            } else {
                format!("owed by {counterparty} for {} card transactions", p.count)
            };
            lines.push(StatementLine {
                kind: LineKind::Transactions,
                counterparty: counterparty.clone(),
                reference: String::new(),
                description,
                count: p.count,
                debit_fen: debit,
                credit_fen: credit,
            });
        }
    }
    for f in &clearing.fees {
        let (counterparty, out) = if f.payer == participant {
            (&f.payee, true)
        } else if f.payee == participant {
            (&f.payer, false)
        } else {
            continue;
        };
        if f.fee_fen == 0 {
            continue;
        }
        let (debit, credit) = if out { (f.fee_fen, 0) } else { (0, f.fee_fen) };
        lines.push(StatementLine {
            kind: LineKind::Fee,
            counterparty: counterparty.clone(),
            reference: format!("rule {}", f.rule),
            description: format!(
                "{} on {} fen ({} tx): exact {} fen",
                f.description, f.base_amount_fen, f.count, f.raw_fen
            ),
            count: f.count,
            debit_fen: debit,
            credit_fen: credit,
        });
    }
    for a in &clearing.adjustments {
        let (counterparty, out) = if a.payer == participant {
            (&a.payee, true)
        } else if a.payee == participant {
            (&a.payer, false)
        } else {
            continue;
        };
        let (debit, credit) = if out {
            (a.amount_fen, 0)
        } else {
            (0, a.amount_fen)
        };
        lines.push(StatementLine {
            kind: LineKind::Adjustment,
            counterparty: counterparty.clone(),
            reference: a.reference.clone(),
            description: a.reason.clone(),
            count: 0,
            debit_fen: debit,
            credit_fen: credit,
        });
    }
    let total_credit_fen = lines.iter().map(|l| l.credit_fen).sum();
    let total_debit_fen = lines.iter().map(|l| l.debit_fen).sum();
    Statement {
        participant: participant.to_string(),
        day,
        created,
        lines,
        total_credit_fen,
        total_debit_fen,
        net_fen: total_credit_fen - total_debit_fen,
    }
}

#[cfg(test)]
mod tests;
