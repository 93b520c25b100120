//! The ED/EP transaction type byte (交易类型标识) that MAC1, MAC2 and the TAC cover.

use serde::{Deserialize, Serialize};

use crate::macros::named_code;

named_code! {
    /// The transaction type byte of the PBOC ED/EP purse, shared by all three standards.
    ///
    /// 01, 02, 05, 06 and 09 are seen in card code and real logs [S]; 03, 04 and 07 are
    /// recalled from the PBOC 2.0 text and **inferred** [I] (STANDARDS.md §1).
    TxType(u8, 2) {
        /// 电子存折圈存 — ED load.
        ED_LOAD = 0x01 => "ED load",
        /// 电子钱包圈存 — EP load.
        EP_LOAD = 0x02 => "EP load",
        /// 圈提 — unload [I].
        UNLOAD = 0x03 => "unload",
        /// 取现 — cash withdrawal [I].
        CASH_WITHDRAWAL = 0x04 => "cash withdrawal",
        /// 电子存折消费 — ED purchase.
        ED_PURCHASE = 0x05 => "ED purchase",
        /// 电子钱包消费 — EP purchase.
        EP_PURCHASE = 0x06 => "EP purchase",
        /// 修改透支限额 — overdraft limit update [I].
        OVERDRAFT_UPDATE = 0x07 => "overdraft limit update",
        /// 复合消费 — composite (CAPP) purchase.
        COMPOSITE_PURCHASE = 0x09 => "composite purchase",
    }
}

/// What a transaction did to the purse, independent of the exact type byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxKind {
    /// Money onto the card (圈存).
    Load,
    /// Money off the card back to an account (圈提).
    Unload,
    /// Cash out.
    CashWithdrawal,
    /// A purchase (消费).
    Purchase,
    /// A composite purchase that also updated a CAPP record (复合消费).
    CompositePurchase,
    /// A change of overdraft limit.
    OverdraftUpdate,
    /// A type byte this crate does not know.
    Other,
}

impl TxKind {
    /// The snake-case name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            TxKind::Load => "load",
            TxKind::Unload => "unload",
            TxKind::CashWithdrawal => "cash_withdrawal",
            TxKind::Purchase => "purchase",
            TxKind::CompositePurchase => "composite_purchase",
            TxKind::OverdraftUpdate => "overdraft_update",
            TxKind::Other => "other",
        }
    }

    /// True when the card's balance goes down by the amount (the issuer owes the acquirer).
    pub fn is_debit(self) -> bool {
        matches!(
            self,
            TxKind::Purchase | TxKind::CompositePurchase | TxKind::Unload | TxKind::CashWithdrawal
        )
    }
}

impl std::str::FromStr for TxKind {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<TxKind, crate::Error> {
        [
            TxKind::Load,
            TxKind::Unload,
            TxKind::CashWithdrawal,
            TxKind::Purchase,
            TxKind::CompositePurchase,
            TxKind::OverdraftUpdate,
            TxKind::Other,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| crate::Error::UnknownCode {
            table: "transaction kinds",
            code: s.to_string(),
        })
    }
}

impl std::fmt::Display for TxKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which of the two purses a transaction used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Purse {
    /// 电子存折 (ED), P2 = 01.
    Ed,
    /// 电子钱包 (EP), P2 = 02.
    Ep,
}

impl Purse {
    /// The P2 byte that selects this purse in GET BALANCE and INITIALIZE.
    pub fn p2(self) -> u8 {
        match self {
            Purse::Ed => 0x01,
            Purse::Ep => 0x02,
        }
    }

    /// The purse a P2 byte selects.
    pub fn from_p2(p2: u8) -> Option<Purse> {
        match p2 {
            0x01 => Some(Purse::Ed),
            0x02 => Some(Purse::Ep),
            _ => None,
        }
    }

    /// The type byte of a load into this purse.
    pub fn load_type(self) -> TxType {
        match self {
            Purse::Ed => TxType::ED_LOAD,
            Purse::Ep => TxType::EP_LOAD,
        }
    }

    /// The type byte of an ordinary purchase from this purse.
    pub fn purchase_type(self) -> TxType {
        match self {
            Purse::Ed => TxType::ED_PURCHASE,
            Purse::Ep => TxType::EP_PURCHASE,
        }
    }
}

impl TxType {
    /// What the transaction did.
    pub fn kind(self) -> TxKind {
        match self {
            TxType::ED_LOAD | TxType::EP_LOAD => TxKind::Load,
            TxType::UNLOAD => TxKind::Unload,
            TxType::CASH_WITHDRAWAL => TxKind::CashWithdrawal,
            TxType::ED_PURCHASE | TxType::EP_PURCHASE => TxKind::Purchase,
            TxType::COMPOSITE_PURCHASE => TxKind::CompositePurchase,
            TxType::OVERDRAFT_UPDATE => TxKind::OverdraftUpdate,
            _ => TxKind::Other,
        }
    }
}

impl Serialize for TxType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{:02X}", self.0))
    }
}

impl<'de> Deserialize<'de> for TxType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        u8::from_str_radix(&text, 16)
            .ok()
            .filter(|_| text.len() == 2)
            .map(TxType)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "transaction type {text:?}: expected 2 hex digits"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_bytes_map_to_kinds_and_unknown_bytes_survive() {
        assert_eq!(TxType(0x09).kind(), TxKind::CompositePurchase);
        assert_eq!(TxType(0x02).kind(), TxKind::Load);
        assert_eq!(TxType(0x42).kind(), TxKind::Other);
        assert_eq!(TxType(0x42).to_string(), "42 (unknown)");
        assert_eq!(TxType::EP_PURCHASE.to_string(), "06 (EP purchase)");
        assert!(TxKind::CompositePurchase.is_debit());
        assert!(!TxKind::Load.is_debit());
    }
}
