//! The `mot-blacklist` layout table **\[I\]**: an issuer's blacklist changes in this family's
//! fixed-width style. hutong's own layout (the real one is not public), read and written by
//! the fixed-width engine (`crate::fixed`); a real layout replaces this table.

use card_standards::Scheme;

use crate::Format;
use crate::blacklist::{self, BlacklistItem as B, BlacklistLayout};
use crate::fields::CodeSpace;
use crate::fixed::Kind;
use crate::lines::{self, Col};

/// The header line.
pub const HEADER: [Col<B>; 7] = blacklist::header("TUNIBL");

/// An entry line.
pub const DETAIL: &[Col<B>] = &[
    lines::col("record type", 0, 1, Kind::Text, B::Const("D"), "`D`: entry"),
    lines::col(
        "card scheme",
        1,
        1,
        Kind::Numeric,
        B::Scheme,
        "card's scheme: 1 local, 2 mohurd, 3 mot, 4 pboc",
    ),
    lines::col(
        "issuer code",
        2,
        4,
        Kind::Hex,
        B::Issuer,
        "card issuer's code",
    ),
    lines::col(
        "city code",
        6,
        4,
        Kind::Numeric,
        B::City,
        "T-Union city code of the card issuer (cities.toml mot_code)",
    ),
    lines::col(
        "card number",
        10,
        19,
        Kind::Numeric,
        B::MotCard,
        "19-digit T-Union card number (0015 serial without its first digit)",
    ),
    lines::col(
        "action",
        29,
        1,
        Kind::Text,
        B::Action,
        "`A` add (挂失), `R` remove (解挂)",
    ),
    lines::col(
        "effective",
        30,
        14,
        Kind::Numeric,
        B::Effective,
        "local date-time from which the change applies, `YYYYMMDDhhmmss`",
    ),
    lines::ocol(
        "reason",
        44,
        20,
        Kind::Text,
        B::Reason,
        "why (`lost`, `stolen`, …); blank: none",
    ),
];

/// The trailer line.
pub const TRAILER: [Col<B>; 2] = blacklist::TRAILER;

/// The layout.
pub static LAYOUT: BlacklistLayout = BlacklistLayout {
    format: Format::MotBlacklist,
    space: CodeSpace::Network(Scheme::Mot),
    header: &HEADER,
    detail: DETAIL,
    trailer: &TRAILER,
};
