//! The `<TxFile>` writer.

use std::fmt::Write as _;
use std::io::Write;

use card_standards::{CanonicalTx, CardMedium, CodeTables};

use super::{TX_ATTRIBUTES, TX_NAMESPACE, escape_attr};
use crate::Format;
use crate::error::{Error, Result};
use crate::fields::{self, CodeSpace, Codec, Slot, TimeStyle};
use crate::stream::{FileMeta, FileSummary, Tally, TxSink};

/// A writer of one `<TxFile>`.
pub struct Writer<'a, W: Write> {
    out: W,
    codec: Codec<'a>,
    meta: FileMeta,
    tally: Tally,
    line: String,
    scratch: String,
}

impl<W: Write> std::fmt::Debug for Writer<'_, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("hutong_xml::Writer")
            .field("records", &self.tally.count)
            .finish_non_exhaustive()
    }
}

/// Writes `name="value"` (escaped) or fails with `CannotCarry` naming `field`.
pub(super) fn attr(
    format: Format,
    out: &mut String,
    name: &str,
    value: &str,
    field: &'static str,
) -> Result<()> {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    if !escape_attr(value, out) {
        return Err(Error::CannotCarry {
            format,
            field,
            reason: "holds a control character XML 1.0 cannot carry".into(),
        });
    }
    out.push('"');
    Ok(())
}

/// The root start tag's attributes `sender seq created [receiver]`.
pub(super) fn root_attributes(format: Format, meta: &FileMeta, out: &mut String) -> Result<()> {
    if meta.sender.is_empty() {
        return Err(Error::CannotCarry {
            format,
            field: "sender",
            reason: "empty".into(),
        });
    }
    attr(format, out, "sender", &meta.sender, "sender")?;
    let _ = write!(out, " seq=\"{}\"", meta.seq);
    out.push_str(" created=\"");
    fields::write_time(TimeStyle::Iso, meta.created, out);
    out.push('"');
    if let Some(r) = &meta.receiver {
        attr(format, out, "receiver", r, "receiver")?;
    }
    Ok(())
}

impl<'a, W: Write> Writer<'a, W> {
    /// Starts a file: writes the XML declaration and the root start tag.
    pub fn new(mut out: W, meta: &FileMeta, tables: &'a CodeTables) -> Result<Self> {
        let mut head = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = write!(head, "<TxFile xmlns=\"{TX_NAMESPACE}\"");
        root_attributes(Format::HutongXml, meta, &mut head)?;
        head.push_str(">\n");
        out.write_all(head.as_bytes())
            .map_err(|e| Error::output(Format::HutongXml, &e))?;
        Ok(Writer {
            out,
            codec: Codec {
                format: Format::HutongXml,
                tables,
                space: CodeSpace::Canonical,
                time: TimeStyle::Iso,
            },
            meta: meta.clone(),
            tally: Tally::default(),
            line: String::new(),
            scratch: String::new(),
        })
    }

    /// Writes one `<Tx/>`; a record that cannot be carried is refused whole.
    pub fn write(&mut self, tx: &CanonicalTx) -> Result<()> {
        fields::check_carriable(&self.codec, |_| true, tx)?;
        self.line.clear();
        self.line.push_str("  <Tx");
        for a in TX_ATTRIBUTES {
            // `medium` only for M1 cards: absent means CPU.
            if a.slot == Slot::Medium && tx.medium == CardMedium::Cpu {
                continue;
            }
            self.scratch.clear();
            if fields::encode(&self.codec, a.slot, tx, &mut self.scratch)? {
                attr(
                    Format::HutongXml,
                    &mut self.line,
                    a.name,
                    &self.scratch,
                    a.slot.canonical_field(),
                )?;
            }
        }
        self.line.push_str("/>\n");
        self.out
            .write_all(self.line.as_bytes())
            .map_err(|e| Error::output(Format::HutongXml, &e))?;
        self.tally.add(Some(i128::from(tx.amount_fen)));
        Ok(())
    }

    /// Writes the trailer and closes the root; returns the output and the trailer's figures.
    pub fn finish(mut self) -> Result<(W, FileSummary)> {
        let tail = format!(
            "  <Trailer count=\"{}\" totalAmount=\"{}\"/>\n</TxFile>\n",
            self.tally.count, self.tally.total
        );
        self.out
            .write_all(tail.as_bytes())
            .and_then(|()| self.out.flush())
            .map_err(|e| Error::output(Format::HutongXml, &e))?;
        let summary = FileSummary {
            meta: self.meta,
            records: self.tally.count,
            total_fen: self.tally.total_fen(),
        };
        Ok((self.out, summary))
    }
}

impl<W: Write> TxSink for Writer<'_, W> {
    fn write(&mut self, tx: &CanonicalTx) -> Result<()> {
        Writer::write(self, tx)
    }

    fn close(self: Box<Self>) -> Result<FileSummary> {
        (*self).finish().map(|(_, s)| s)
    }
}
