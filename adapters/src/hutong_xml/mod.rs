//! `hutong-xml`: the hub-to-hub interchange of partner cities (issue 5), transactions and
//! blacklists, read and written as a stream with quick-xml.
//!
//! ```xml
//! <TxFile xmlns="urn:hutong:txfile:1" sender="CODE" seq="7" created="2026-11-21T23:10:00">
//!   <Tx scheme="mot" issuer="0000" city="1000" card="03105170010170907984" cardType="adult"
//!       typeCode="06" amount="200" balanceBefore="1000" cardSeq="17" terminal="000001000050"
//!       terminalSeq="123" time="2026-11-21T08:15:02" keyVersion="01" algId="00" tac="44A8E04A"
//!       industry="bus"/>
//!   <Trailer count="1" totalAmount="200"/>
//! </TxFile>
//! ```
//!
//! The attributes of `<Tx>` are in [`TX_ATTRIBUTES`]; those of issue 5 are fixed, hutong adds
//! optional ones (`medium`, `acquirer`, `operator`, `line`, `station`, `vehicle`; `receiver` on
//! the root). Codes are canonical names (`cardType="adult"`, `industry="bus"`) and `city` is
//! the card's own city code, so this format translates nothing and carries every field of the
//! canonical record. `acquirer`, when absent, is the file's `sender`.
//!
//! Blacklists: [`blacklist`], `<BlacklistFile xmlns="urn:hutong:blacklist:1">` with `<Entry>`
//! elements and an optional `<Trailer count>`.
//!
//! Partners' results: [`result`], `<ResultFile xmlns="urn:hutong:result:1">` with one
//! `<Result>` per record the hub routed to the partner (accepted or rejected with a reason
//! code) and the partner's `<Totals>`.
//!
//! The XSDs are `adapters/schemas/txfile.xsd`, `adapters/schemas/blacklist.xsd` and
//! `adapters/schemas/result.xsd`. The reader
//! accepts any namespace prefix, comments and processing instructions, ignores attributes it
//! does not know (so that later optional attributes do not break older readers), and refuses a
//! run of more than 64 KiB without a `>`. Field table: `docs/formats/hutong-xml.md`.

pub mod blacklist;
mod core;
pub mod hub_result;
mod reader;
pub mod result;
mod writer;

pub use reader::Reader;
pub use writer::Writer;

use std::io::{BufRead, Write};

use card_standards::CodeTables;

use crate::error::Result;
use crate::fields::Slot;
use crate::stream::{FileMeta, ReadOptions};

/// The namespace of transaction files.
pub const TX_NAMESPACE: &str = "urn:hutong:txfile:1";

/// One attribute of `<Tx>`: its name, the canonical fact it carries, and whether it may be
/// absent.
#[derive(Debug, Clone, Copy)]
pub struct Attr {
    /// The attribute's name.
    pub name: &'static str,
    /// What it carries.
    pub slot: Slot,
    /// Whether it may be absent.
    pub optional: bool,
    /// What it means, for the docs.
    pub meaning: &'static str,
}

const fn a(name: &'static str, slot: Slot, meaning: &'static str) -> Attr {
    Attr {
        name,
        slot,
        optional: false,
        meaning,
    }
}

const fn o(name: &'static str, slot: Slot, meaning: &'static str) -> Attr {
    Attr {
        name,
        slot,
        optional: true,
        meaning,
    }
}

/// The layout table of `<Tx>`, in the order the writer writes the attributes.
pub const TX_ATTRIBUTES: &[Attr] = &[
    a(
        "scheme",
        Slot::Scheme,
        "card's scheme: `local`, `mohurd`, `mot`, `pboc`",
    ),
    a(
        "issuer",
        Slot::IssuerCode,
        "card issuer's code, 4 hex digits",
    ),
    a(
        "city",
        Slot::CityCode,
        "card issuer's city code as the card stores it, 4 digits",
    ),
    a(
        "card",
        Slot::CardSerial,
        "10-byte application serial of the card's 0015, 20 hex digits",
    ),
    a(
        "cardType",
        Slot::CardType,
        "canonical card type: adult, student, elderly, disabled, staff, other",
    ),
    a(
        "typeCode",
        Slot::TxType,
        "ED/EP transaction type byte, 2 hex digits",
    ),
    a("amount", Slot::Amount, "amount, fen"),
    a("balanceBefore", Slot::BalanceBefore, "balance before, fen"),
    a(
        "cardSeq",
        Slot::CardSeq,
        "card counter as the card returned it in INITIALIZE",
    ),
    a(
        "terminal",
        Slot::Terminal,
        "PSAM terminal number, 12 hex digits",
    ),
    a("terminalSeq", Slot::TerminalSeq, "PSAM transaction counter"),
    a(
        "time",
        Slot::TxTime,
        "terminal local date-time `YYYY-MM-DDThh:mm:ss`",
    ),
    a("keyVersion", Slot::KeyVersion, "key version, 2 hex digits"),
    a(
        "algId",
        Slot::AlgId,
        "algorithm id, 2 hex digits (00 3DES, 04 SM4 profile)",
    ),
    o(
        "tac",
        Slot::Tac,
        "TAC, 8 hex digits; absent for M1 cards and PBOC e-cash",
    ),
    o(
        "authCode",
        Slot::AuthCode,
        "MOHURD composite purchase: 安全认证码, 18 hex digits (PBOC e-cash: CID ‖ cryptogram)",
    ),
    a(
        "industry",
        Slot::Industry,
        "canonical industry: metro, bus, taxi, ferry, highway, retail, …",
    ),
    o(
        "medium",
        Slot::Medium,
        "`cpu` (default) or `m1` (legacy MIFARE Classic wallet, no TAC)",
    ),
    o(
        "acquirer",
        Slot::Acquirer,
        "acquirer participant code; default: the file's sender",
    ),
    o("operator", Slot::Operator, "operator / merchant"),
    o("line", Slot::Line, "line"),
    o("station", Slot::Station, "station / stop"),
    o("vehicle", Slot::Vehicle, "vehicle"),
];

/// The `<Tx>` attribute table as Markdown, as `docs/formats/hutong-xml.md` shows it.
pub fn markdown() -> String {
    let mut s = String::from("| attribute | required | meaning |\n|---|:-:|---|\n");
    for a in TX_ATTRIBUTES {
        s.push_str(&format!(
            "| `{}` | {} | {} |\n",
            a.name,
            if a.optional { "" } else { "yes" },
            a.meaning
        ));
    }
    s
}

/// Opens a transaction file: reads up to the root element and checks its attributes.
pub fn reader<R: BufRead>(input: R, opts: ReadOptions<'_>) -> Result<Reader<'_, R>> {
    Reader::open(input, opts)
}

/// Starts a transaction file: writes the XML declaration and the root element.
pub fn writer<'a, W: Write>(
    out: W,
    meta: &FileMeta,
    tables: &'a CodeTables,
) -> Result<Writer<'a, W>> {
    Writer::new(out, meta, tables)
}

/// The local name of the root element, if the bytes start an XML document (used by
/// [`detect`](crate::detect)).
pub(crate) fn root_element(bytes: &[u8]) -> Option<String> {
    let mut r = quick_xml::NsReader::from_reader(bytes);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match r.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                let name = e.local_name();
                let s: &str = name.as_ref();
                return Some(s.to_string());
            }
            Ok(quick_xml::events::Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Escapes an attribute value (also tab, newline and carriage return, which XML would
/// otherwise normalise to spaces). `None` if the text holds a character XML 1.0 forbids.
pub(crate) fn escape_attr(text: &str, out: &mut String) -> bool {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => return false,
            c => out.push(c),
        }
    }
    true
}
