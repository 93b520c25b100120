//! A participant's statement as CSV: one row per line, then a totals row. Amounts in fen
//! (exact integers) and in yuan with two decimals.

use super::Statement;
use crate::error::{Error, Result};
use crate::money::yuan;

/// The CSV header.
pub(crate) const HEADER: [&str; 11] = [
    "day",
    "participant",
    "kind",
    "counterparty",
    "reference",
    "description",
    "count",
    "debit_fen",
    "credit_fen",
    "debit_yuan",
    "credit_yuan",
];

/// Writes the statement as CSV.
pub fn write_statement_csv<W: std::io::Write>(s: &Statement, out: W) -> Result<()> {
    let err = |e: csv::Error| Error::Output {
        what: "statement CSV",
        detail: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(out);
    w.write_record(HEADER).map_err(err)?;
    let day = s.day.to_string();
    for l in &s.lines {
        w.write_record([
            day.as_str(),
            &s.participant,
            l.kind.code(),
            &l.counterparty,
            &l.reference,
            &l.description,
            &l.count.to_string(),
            &l.debit_fen.to_string(),
            &l.credit_fen.to_string(),
            &yuan(l.debit_fen),
            &yuan(l.credit_fen),
        ])
        .map_err(err)?;
    }
    w.write_record([
        day.as_str(),
        &s.participant,
        "NET",
        "",
        "",
        "net position (credits − debits)",
        "",
        &s.total_debit_fen.to_string(),
        &s.total_credit_fen.to_string(),
        &yuan(s.total_debit_fen),
        &yuan(s.total_credit_fen),
    ])
    .map_err(err)?;
    w.flush().map_err(|e| Error::Output {
        what: "statement CSV",
        detail: e.to_string(),
    })?;
    Ok(())
}
