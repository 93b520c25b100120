//! The local-csv writer.

use std::io::Write;

use card_standards::{CanonicalTx, CodeTables, Scheme};

use super::{COLUMNS, VERSION};
use crate::Format;
use crate::error::{Error, Result};
use crate::fields::{self, CodeSpace, Codec, TimeStyle};
use crate::stream::{FileMeta, FileSummary, Tally, TxSink};

/// A writer of one local-csv file.
pub struct Writer<'a, W: Write> {
    csv: csv::Writer<W>,
    codec: Codec<'a>,
    meta: FileMeta,
    tally: Tally,
    cells: Vec<String>,
}

impl<W: Write> std::fmt::Debug for Writer<'_, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("local_csv::Writer")
            .field("records", &self.tally.count)
            .finish_non_exhaustive()
    }
}

fn out_err(e: impl std::fmt::Display) -> Error {
    Error::Output {
        format: Format::LocalCsv,
        message: e.to_string(),
    }
}

impl<'a, W: Write> Writer<'a, W> {
    /// Starts a file: writes the `H` row and a comment naming the `D` columns.
    pub fn new(mut out: W, meta: &FileMeta, tables: &'a CodeTables) -> Result<Self> {
        if meta.sender.is_empty() {
            return Err(Error::CannotCarry {
                format: Format::LocalCsv,
                field: "sender",
                reason: "empty".into(),
            });
        }
        let mut head = csv::Writer::from_writer(Vec::new());
        let mut created = String::new();
        fields::write_time(TimeStyle::Iso, meta.created, &mut created);
        let seq = meta.seq.to_string();
        head.write_record([
            "H",
            "local-csv",
            VERSION,
            meta.sender.as_str(),
            meta.receiver.as_deref().unwrap_or(""),
            seq.as_str(),
            created.as_str(),
        ])
        .map_err(out_err)?;
        let mut bytes = head.into_inner().map_err(out_err)?;
        bytes.extend_from_slice(b"# D");
        for c in COLUMNS {
            bytes.push(b',');
            bytes.extend_from_slice(c.name.as_bytes());
        }
        bytes.push(b'\n');
        out.write_all(&bytes)
            .map_err(|e| Error::output(Format::LocalCsv, &e))?;
        Ok(Writer {
            csv: csv::WriterBuilder::new().flexible(true).from_writer(out),
            codec: Codec {
                format: Format::LocalCsv,
                tables,
                space: CodeSpace::Network(Scheme::Local),
                time: TimeStyle::Iso,
            },
            meta: meta.clone(),
            tally: Tally::default(),
            cells: vec![String::new(); COLUMNS.len() + 1],
        })
    }

    /// Writes one `D` row; a record that cannot be carried is refused whole.
    pub fn write(&mut self, tx: &CanonicalTx) -> Result<()> {
        fields::check_carriable(&self.codec, |_| true, tx)?;
        self.cells[0].clear();
        self.cells[0].push('D');
        for (i, col) in COLUMNS.iter().enumerate() {
            let cell = &mut self.cells[i + 1];
            cell.clear();
            let present = fields::encode(&self.codec, col.slot, tx, cell)?;
            if !present && !col.optional {
                return Err(Error::CannotCarry {
                    format: Format::LocalCsv,
                    field: col.slot.canonical_field(),
                    reason: format!("column {} is required", col.name),
                });
            }
        }
        self.csv.write_record(&self.cells).map_err(out_err)?;
        self.tally.add(Some(i128::from(tx.amount_fen)));
        Ok(())
    }

    /// Writes the `T` row and flushes; returns the output and the trailer's figures.
    pub fn finish(mut self) -> Result<(W, FileSummary)> {
        let count = self.tally.count.to_string();
        let total = self.tally.total.to_string();
        self.csv
            .write_record(["T", count.as_str(), total.as_str()])
            .map_err(out_err)?;
        self.csv.flush().map_err(out_err)?;
        let out = self.csv.into_inner().map_err(out_err)?;
        let summary = FileSummary {
            meta: self.meta,
            records: self.tally.count,
            total_fen: self.tally.total_fen(),
        };
        Ok((out, summary))
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
