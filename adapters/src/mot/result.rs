//! The `mot` result-file layout table **\[I\]**: the hub's answer to a file of this family,
//! one line per record. hutong's own layout (no network's receipt layout is public), written
//! by the fixed-width engine (`crate::fixed`); a real layout replaces this table. A line is 222 bytes.

use card_standards::Scheme;

use crate::Format;
use crate::fields::CodeSpace;
use crate::fixed::Kind;
use crate::lines::{self, Col};
use crate::result::{self, ResultItem as R, ResultLayout};

/// The header line.
pub const HEADER: [Col<R>; 8] = result::header("TUNIRS");

/// A result line.
pub const DETAIL: &[Col<R>] = &[
    lines::col(
        "record type",
        0,
        1,
        Kind::Text,
        R::Const("R"),
        "`R`: result",
    ),
    lines::col(
        "record",
        1,
        10,
        Kind::Numeric,
        R::Record,
        "record number in the file answered; 0: the file as a whole",
    ),
    lines::ocol(
        "card scheme",
        11,
        1,
        Kind::Numeric,
        R::Scheme,
        "card's scheme: 1 local, 2 mohurd, 3 mot, 4 pboc",
    ),
    lines::ocol(
        "issuer code",
        12,
        4,
        Kind::Hex,
        R::Issuer,
        "card issuer's code",
    ),
    lines::ocol(
        "city code",
        16,
        4,
        Kind::Numeric,
        R::City,
        "T-Union city code of the card issuer",
    ),
    lines::ocol(
        "card number",
        20,
        19,
        Kind::Numeric,
        R::MotCard,
        "19-digit T-Union card number",
    ),
    lines::ocol("card seq", 39, 5, Kind::Numeric, R::CardSeq, "card counter"),
    lines::ocol(
        "kind",
        44,
        18,
        Kind::Text,
        R::Kind,
        "`purchase`, `composite_purchase`, `load`, …",
    ),
    lines::ocol(
        "terminal",
        62,
        12,
        Kind::Hex,
        R::Terminal,
        "PSAM terminal number",
    ),
    lines::ocol(
        "terminal seq",
        74,
        10,
        Kind::Numeric,
        R::TerminalSeq,
        "PSAM transaction counter",
    ),
    lines::ocol("amount", 84, 10, Kind::Numeric, R::Amount, "amount, fen"),
    lines::col(
        "status",
        94,
        1,
        Kind::Text,
        R::Status,
        "`A` accepted, `R` rejected",
    ),
    lines::ocol(
        "code",
        95,
        3,
        Kind::Text,
        R::Code,
        "reason code (`R01`…, `F01`…) of a rejection",
    ),
    lines::ocol(
        "field",
        98,
        24,
        Kind::Text,
        R::Field,
        "the field the rejection names (cut to 24, printable ASCII)",
    ),
    lines::ocol(
        "reason",
        122,
        100,
        Kind::Text,
        R::Reason,
        "why (cut to 100, printable ASCII)",
    ),
];

/// The trailer line.
pub const TRAILER: [Col<R>; 5] = result::TRAILER;

/// The layout.
pub static LAYOUT: ResultLayout = ResultLayout {
    format: Format::Mot,
    space: CodeSpace::Network(Scheme::Mot),
    header: &HEADER,
    detail: DETAIL,
    trailer: &TRAILER,
};
