//! `<ResultFile xmlns="urn:hutong:result:1">`: the hub's answer to a hutong-xml file (a
//! transaction or blacklist file), one `<Result>` per record and the `<Totals>`.
//!
//! ```xml
//! <ResultFile xmlns="urn:hutong:result:1" sender="HUB" seq="42" created="2026-11-22T01:00:00" day="2026-11-22" receiver="QDT01">
//!   <Result record="1" scheme="local" issuer="2660" city="2660" card="00002660000000001234"
//!           cardSeq="17" kind="purchase" terminal="000001000050" terminalSeq="123" amount="200"
//!           status="accepted"/>
//!   <Result record="2" status="rejected" code="R07" field="terminal" reason="…"/>
//!   <Totals count="2" amount="200" accepted="1" rejected="1"/>
//! </ResultFile>
//! ```
//!
//! `seq` is the sequence number of the file answered; `day` (optional) the settlement day;
//! `receiver` (optional, hutong's addition) the participant the result is for. A `<Result>`
//! carries the record's natural key and amount when the record could be read (not for an
//! `R07` record, nor for `record="0"`, the entry of a whole-file rejection `F01`…`F05`).
//! XSD: `adapters/schemas/result.xsd`.

use std::fmt::Write as _;
use std::io::Write;

use super::escape_attr;
use crate::Format;
use crate::error::{Error, Result};
use crate::fields::{self, TimeStyle};
use crate::result::{ResultEntry, ResultMeta, ResultSink, ResultTotals};

/// The namespace of result files.
pub const RESULT_NAMESPACE: &str = "urn:hutong:result:1";

const FORMAT: Format = Format::HutongXml;

/// The attributes of `<Result>` (name, meaning), in writing order.
pub const RESULT_ATTRIBUTES: &[(&str, &str)] = &[
    (
        "record",
        "record number in the file answered; 0: the file as a whole",
    ),
    (
        "scheme",
        "card's scheme (absent when the record could not be read)",
    ),
    ("issuer", "card issuer's code, 4 hex digits"),
    ("city", "card issuer's city code as the card stores it"),
    ("card", "application serial, 20 hex digits"),
    ("cardSeq", "card counter"),
    ("kind", "`purchase`, `composite_purchase`, `load`, …"),
    ("terminal", "terminal (PSAM) number, 12 hex digits"),
    ("terminalSeq", "terminal counter"),
    ("amount", "amount, fen"),
    ("status", "`accepted` or `rejected`"),
    ("code", "reason code of a rejection (`R01`…, `F01`…)"),
    (
        "field",
        "the field the rejection names, as the file spells it",
    ),
    ("reason", "why, in words"),
];

/// Escapes free text for an attribute, replacing the characters XML 1.0 cannot carry by `?`.
fn text_attr(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    let mut escaped = String::new();
    if !escape_attr(value, &mut escaped) {
        escaped.clear();
        let clean: String = value
            .chars()
            .map(|c| {
                if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r')
                    || c == '\u{FFFE}'
                    || c == '\u{FFFF}'
                {
                    '?'
                } else {
                    c
                }
            })
            .collect();
        escape_attr(&clean, &mut escaped);
    }
    out.push_str(&escaped);
    out.push('"');
}

/// A writer of one `<ResultFile>`.
pub struct Writer<W: Write> {
    out: W,
    line: String,
}

impl<W: Write> std::fmt::Debug for Writer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("hutong_xml::hub_result::Writer")
            .finish_non_exhaustive()
    }
}

impl<W: Write> Writer<W> {
    /// Starts a file: writes the XML declaration and the root start tag.
    pub fn new(mut out: W, meta: &ResultMeta) -> Result<Self> {
        if meta.sender.is_empty() {
            return Err(Error::CannotCarry {
                format: FORMAT,
                field: "sender",
                reason: "empty".into(),
            });
        }
        let mut head = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = write!(head, "<ResultFile xmlns=\"{RESULT_NAMESPACE}\"");
        text_attr(&mut head, "sender", &meta.sender);
        let _ = write!(head, " seq=\"{}\" created=\"", meta.seq);
        fields::write_time(TimeStyle::Iso, meta.created, &mut head);
        head.push('"');
        if let Some(d) = meta.day {
            let _ = write!(head, " day=\"{}\"", d.format("%Y-%m-%d"));
        }
        if let Some(r) = &meta.receiver {
            text_attr(&mut head, "receiver", r);
        }
        head.push_str(">\n");
        out.write_all(head.as_bytes())
            .map_err(|e| Error::output(FORMAT, &e))?;
        Ok(Writer {
            out,
            line: String::new(),
        })
    }
}

impl<W: Write> ResultSink for Writer<W> {
    fn write(&mut self, e: &ResultEntry) -> Result<()> {
        let l = &mut self.line;
        l.clear();
        let _ = write!(l, "  <Result record=\"{}\"", e.record);
        if let Some(tx) = &e.tx {
            let _ = write!(
                l,
                " scheme=\"{}\" issuer=\"{}\" city=\"{}\" card=\"{}\" cardSeq=\"{}\" kind=\"{}\" \
                 terminal=\"{}\" terminalSeq=\"{}\" amount=\"{}\"",
                tx.scheme,
                tx.issuer.issuer_code,
                tx.issuer.city_code,
                tx.card,
                tx.card_seq,
                tx.kind,
                tx.terminal,
                tx.terminal_seq,
                tx.amount_fen
            );
        }
        let _ = write!(l, " status=\"{}\"", e.status.as_str());
        for (name, value) in [
            ("code", &e.code),
            ("field", &e.field),
            ("reason", &e.reason),
        ] {
            if let Some(v) = value {
                text_attr(l, name, v);
            }
        }
        l.push_str("/>\n");
        self.out
            .write_all(l.as_bytes())
            .map_err(|err| Error::output(FORMAT, &err))
    }

    fn close(mut self: Box<Self>, totals: &ResultTotals) -> Result<()> {
        let tail = format!(
            "  <Totals count=\"{}\" amount=\"{}\" accepted=\"{}\" rejected=\"{}\"/>\n</ResultFile>\n",
            totals.count, totals.amount_fen, totals.accepted, totals.rejected
        );
        self.out
            .write_all(tail.as_bytes())
            .and_then(|()| self.out.flush())
            .map_err(|e| Error::output(FORMAT, &e))
    }
}
