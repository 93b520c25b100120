//! `local-csv` result files: the hub's answer to a local-csv file, one `R` row per record.
//!
//! ```text
//! H,local-csv-result,1,HUB,QDT01,42,2026-11-22T01:00:00,2026-11-22
//! # R,record,scheme,issuer,city,card_serial,card_seq,kind,terminal,terminal_seq,amount,status,code,field,reason
//! R,1,local,2660,2660,00002660000000001234,17,purchase,000001000050,123,200,accepted,,,
//! R,2,,,,,,,,,,rejected,R07,terminal,… expected 12 hexadecimal digits …
//! T,2,200,1,1
//! ```
//!
//! The `H` row is `H,local-csv-result,1,sender,receiver,seq,created,day` (`seq` is the answered
//! file's, `day` the settlement day or empty); the `T` row `T,count,amount,accepted,rejected`.
//! City codes are MOHURD codes. The layout is hutong's own \[I\]: [`RESULT_COLUMNS`].

use std::io::Write;

use card_standards::{CodeTables, Scheme};

use crate::Format;
use crate::error::{Error, Result};
use crate::lines::{CsvCol, csv, ocsv};
use crate::result::{
    ResultEntry, ResultItem as R, ResultMeta, ResultSink, ResultTotals, entry_text,
};
use crate::stream::FileMeta;

/// The tag in the `H` row.
pub const TAG: &str = "local-csv-result";

/// The columns of an `R` row after the leading `R`.
pub const RESULT_COLUMNS: &[CsvCol<R>] = &[
    csv(
        "record",
        R::Record,
        "record number in the file answered; 0: the file as a whole",
    ),
    ocsv("scheme", R::Scheme, "card's scheme"),
    ocsv("issuer", R::Issuer, "card issuer's code"),
    ocsv("city", R::City, "card issuer's city, MOHURD city code"),
    ocsv("card_serial", R::Card, "application serial, 20 hex digits"),
    ocsv("card_seq", R::CardSeq, "card counter"),
    ocsv(
        "kind",
        R::Kind,
        "`purchase`, `composite_purchase`, `load`, …",
    ),
    ocsv("terminal", R::Terminal, "terminal (PSAM) number"),
    ocsv("terminal_seq", R::TerminalSeq, "terminal counter"),
    ocsv("amount", R::Amount, "amount, fen"),
    csv("status", R::Status, "`accepted` or `rejected`"),
    ocsv(
        "code",
        R::Code,
        "reason code of a rejection (`R01`…, `F01`…)",
    ),
    ocsv("field", R::Field, "the field the rejection names"),
    ocsv("reason", R::Reason, "why"),
];

const FORMAT: Format = Format::LocalCsv;

fn out_err(e: impl std::fmt::Display) -> Error {
    Error::Output {
        format: FORMAT,
        message: e.to_string(),
    }
}

/// A writer of one local-csv result file.
pub struct Writer<'a, W: Write> {
    csv: ::csv::Writer<W>,
    tables: &'a CodeTables,
    cells: Vec<String>,
}

impl<W: Write> std::fmt::Debug for Writer<'_, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("local_csv::result::Writer")
            .finish_non_exhaustive()
    }
}

impl<'a, W: Write> Writer<'a, W> {
    /// Starts a file: writes the `H` row and a comment naming the `R` columns.
    pub fn new(mut out: W, meta: &ResultMeta, tables: &'a CodeTables) -> Result<Self> {
        let mut fm = FileMeta::new(meta.sender.clone(), meta.seq, meta.created);
        fm.receiver = meta.receiver.clone();
        let day = meta
            .day
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        let names: Vec<&str> = RESULT_COLUMNS.iter().map(|c| c.name).collect();
        let head = super::write_header(FORMAT, TAG, &fm, &[&day], "R", &names)?;
        out.write_all(&head)
            .map_err(|e| Error::output(FORMAT, &e))?;
        Ok(Writer {
            csv: ::csv::WriterBuilder::new().flexible(true).from_writer(out),
            tables,
            cells: vec![String::new(); RESULT_COLUMNS.len() + 1],
        })
    }
}

impl<W: Write> ResultSink for Writer<'_, W> {
    fn write(&mut self, e: &ResultEntry) -> Result<()> {
        self.cells[0].clear();
        self.cells[0].push('R');
        for (i, c) in RESULT_COLUMNS.iter().enumerate() {
            let cell = &mut self.cells[i + 1];
            cell.clear();
            entry_text(c.item, e, self.tables, Scheme::Local, false, cell);
        }
        self.csv.write_record(&self.cells).map_err(out_err)
    }

    fn close(mut self: Box<Self>, totals: &ResultTotals) -> Result<()> {
        self.csv
            .write_record([
                "T",
                &totals.count.to_string(),
                &totals.amount_fen.to_string(),
                &totals.accepted.to_string(),
                &totals.rejected.to_string(),
            ])
            .map_err(out_err)?;
        self.csv.flush().map_err(out_err)
    }
}
