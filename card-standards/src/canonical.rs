//! `CanonicalTx`: the one record every transaction becomes, whatever file it came in.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::bcd;
use crate::codes::{CardType, Industry};
use crate::crypto::{IssuerTacKey, LoadData, PurchaseData};
use crate::error::{Error, Result};
use crate::identity::{AuthCode, CardSerial, IssuerId, Mac4, TerminalId};
use crate::scheme::Scheme;
use crate::tx_type::{TxKind, TxType};

/// The physical card technology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CardMedium {
    /// A contactless CPU card with the ED/EP purse: its transactions carry a TAC.
    #[default]
    Cpu,
    /// A legacy MIFARE Classic (M1) wallet card: no TAC; its records are marked as such.
    MifareClassic,
}

/// Where and by whom a card was accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acceptance {
    /// The acquirer: the participant code of whoever sent the transaction to the hub.
    pub acquirer: String,
    /// Operator / merchant, where known.
    pub operator: Option<String>,
    /// Industry.
    pub industry: Industry,
    /// Line, where known.
    pub line: Option<String>,
    /// Station or stop, where known.
    pub station: Option<String>,
    /// Vehicle, where known.
    pub vehicle: Option<String>,
}

/// Where a record came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The source file's name (or the hub's file id).
    pub file: String,
    /// The record's 1-based number in that file.
    pub record: u64,
}

/// One card transaction in hutong's canonical form (DESIGN.md, "The canonical record").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanonicalTx {
    /// The card's scheme.
    pub scheme: Scheme,
    /// The card's issuer and issuer city.
    pub issuer: IssuerId,
    /// The card's 10-byte application serial (20 hex digits).
    pub card_serial: CardSerial,
    /// Canonical card type.
    pub card_type: CardType,
    /// The scheme's raw card-type code.
    pub card_type_raw: String,
    /// CPU card or legacy M1 card.
    #[serde(default)]
    pub medium: CardMedium,
    /// The ED/EP type byte the card signed.
    pub tx_type: TxType,
    /// Amount in fen.
    pub amount_fen: i64,
    /// Balance before the transaction, in fen.
    pub balance_before_fen: i64,
    /// The card's counter as INITIALIZE returned it (offline for purchases, online for loads).
    pub card_seq: u16,
    /// The terminal (PSAM) number.
    pub terminal: TerminalId,
    /// The terminal's transaction counter.
    pub terminal_seq: u32,
    /// Local time of the terminal.
    pub tx_time: NaiveDateTime,
    /// Version of the card key used.
    pub key_version: u8,
    /// Algorithm id (00 3DES, 04 SM4 profile).
    pub alg_id: u8,
    /// The TAC; `None` for M1 cards, which have none.
    pub tac: Option<Mac4>,
    /// MOHURD composite purchases: the 9-byte authentication code covered by MAC1.
    pub auth_code: Option<AuthCode>,
    /// Where and by whom the card was accepted.
    pub acceptance: Acceptance,
    /// The source file and record number.
    pub provenance: Option<Provenance>,
}

/// The natural key of a card transaction: how duplicates are found across files and cities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NaturalKey {
    /// Scheme.
    pub scheme: Scheme,
    /// Issuer.
    pub issuer: IssuerId,
    /// Card serial.
    pub card_serial: CardSerial,
    /// Card counter.
    pub card_seq: u16,
    /// Kind of transaction.
    pub kind: TxKind,
    /// Terminal.
    pub terminal: TerminalId,
    /// Terminal counter.
    pub terminal_seq: u32,
}

impl std::fmt::Display for NaturalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}:{}:{}:{}",
            self.scheme,
            self.issuer,
            self.card_serial,
            self.card_seq,
            self.kind,
            self.terminal,
            self.terminal_seq
        )
    }
}

/// The outcome of checking a record's TAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TacCheck {
    /// The TAC is what the genuine card would have produced.
    Valid,
    /// The TAC does not verify.
    Invalid,
    /// The record has no TAC to check (M1 card), or its kind carries none.
    NotApplicable,
}

fn card_amount(field: &'static str, fen: i64) -> Result<u32> {
    u32::try_from(fen).map_err(|_| Error::InvalidField {
        field,
        value: fen.to_string(),
        reason: "must be between 0 and 4294967295 fen",
    })
}

impl CanonicalTx {
    /// The natural key.
    pub fn natural_key(&self) -> NaturalKey {
        NaturalKey {
            scheme: self.scheme,
            issuer: self.issuer,
            card_serial: self.card_serial,
            card_seq: self.card_seq,
            kind: self.kind(),
            terminal: self.terminal,
            terminal_seq: self.terminal_seq,
        }
    }

    /// What the transaction did.
    pub fn kind(&self) -> TxKind {
        self.tx_type.kind()
    }

    /// The balance after the transaction.
    pub fn balance_after_fen(&self) -> i64 {
        match self.kind() {
            TxKind::Load => self.balance_before_fen + self.amount_fen,
            k if k.is_debit() => self.balance_before_fen - self.amount_fen,
            _ => self.balance_before_fen,
        }
    }

    /// The card counter after the transaction, as the card's 0018 records it.
    pub fn card_seq_after(&self) -> u16 {
        self.card_seq.wrapping_add(1)
    }

    /// The fields a purchase TAC covers.
    pub fn purchase_data(&self) -> Result<PurchaseData> {
        Ok(PurchaseData {
            amount: card_amount("amount", self.amount_fen)?,
            tx_type: self.tx_type,
            terminal: self.terminal,
            terminal_seq: self.terminal_seq,
            date_time: bcd::encode_datetime(self.tx_time),
        })
    }

    /// The fields a load TAC covers.
    pub fn load_data(&self) -> Result<LoadData> {
        Ok(LoadData {
            balance_before: card_amount("balance before", self.balance_before_fen)?,
            amount: card_amount("amount", self.amount_fen)?,
            tx_type: self.tx_type,
            terminal: self.terminal,
            online_seq: self.card_seq,
            date_time: bcd::encode_datetime(self.tx_time),
        })
    }

    /// Checks the record's TAC with the issuer's master TAC key.
    pub fn check_tac(&self, key: &IssuerTacKey) -> Result<TacCheck> {
        let Some(tac) = self.tac.as_ref() else {
            return Ok(TacCheck::NotApplicable);
        };
        let valid = match self.kind() {
            TxKind::Purchase | TxKind::CompositePurchase => {
                key.verify_purchase(&self.card_serial, &self.purchase_data()?, tac)
            }
            TxKind::Load => key.verify_load(&self.card_serial, &self.load_data()?, tac),
            _ => return Ok(TacCheck::NotApplicable),
        };
        Ok(if valid {
            TacCheck::Valid
        } else {
            TacCheck::Invalid
        })
    }
}
