//! The local-csv layout table: the columns of a `D` row, in order.

use crate::fields::Slot;

/// One column of a `D` row.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The column's name (in errors, docs and the comment line the writer puts under the header).
    pub name: &'static str,
    /// What it carries.
    pub slot: Slot,
    /// Whether it may be empty.
    pub optional: bool,
    /// What it means, for the docs.
    pub meaning: &'static str,
}

const fn c(name: &'static str, slot: Slot, meaning: &'static str) -> Column {
    Column {
        name,
        slot,
        optional: false,
        meaning,
    }
}

const fn o(name: &'static str, slot: Slot, meaning: &'static str) -> Column {
    Column {
        name,
        slot,
        optional: true,
        meaning,
    }
}

/// The columns after the leading `D`.
pub const COLUMNS: &[Column] = &[
    c(
        "scheme",
        Slot::Scheme,
        "card's scheme: `local`, `mohurd`, `mot`, `pboc`",
    ),
    c(
        "issuer",
        Slot::IssuerCode,
        "card issuer's code, 4 hex digits",
    ),
    c(
        "city",
        Slot::CityCode,
        "card issuer's city, MOHURD city code (the local system's code space)",
    ),
    c(
        "card_serial",
        Slot::CardSerial,
        "application serial, 20 hex digits (M1 cards: the city's card number in the same form)",
    ),
    c(
        "card_type",
        Slot::CardType,
        "card type, local code (00 adult, 01 student, 02 elderly, 03 staff, 06 disabled, 0F other)",
    ),
    c(
        "medium",
        Slot::Medium,
        "`cpu` or `m1` (legacy MIFARE Classic wallet: no TAC)",
    ),
    c(
        "tx_type",
        Slot::TxType,
        "ED/EP transaction type byte (M1: the same byte the local system records)",
    ),
    c("amount", Slot::Amount, "amount, fen"),
    c("balance_before", Slot::BalanceBefore, "balance before, fen"),
    c(
        "card_seq",
        Slot::CardSeq,
        "card counter (M1: the wallet's transaction counter)",
    ),
    c(
        "terminal",
        Slot::Terminal,
        "terminal (PSAM / SAM) number, 12 hex digits",
    ),
    c(
        "terminal_seq",
        Slot::TerminalSeq,
        "terminal transaction counter",
    ),
    c(
        "tx_time",
        Slot::TxTime,
        "terminal local date-time `YYYY-MM-DDThh:mm:ss`",
    ),
    c("key_version", Slot::KeyVersion, "key version, 2 hex digits"),
    c("alg_id", Slot::AlgId, "algorithm id, 2 hex digits"),
    o(
        "tac",
        Slot::Tac,
        "TAC, 8 hex digits; empty for M1 records (and PBOC e-cash)",
    ),
    o(
        "auth_code",
        Slot::AuthCode,
        "MOHURD composite purchase 安全认证码 (PBOC e-cash: CID ‖ cryptogram), 18 hex digits",
    ),
    c(
        "industry",
        Slot::Industry,
        "industry, local code (01 bus, 02 metro, 03 ferry, 04 taxi, 05 tunnel/highway, …)",
    ),
    c("acquirer", Slot::Acquirer, "acquirer participant code"),
    o("operator", Slot::Operator, "operator / merchant"),
    o("line", Slot::Line, "line"),
    o("station", Slot::Station, "station / stop"),
    o("vehicle", Slot::Vehicle, "vehicle"),
];
