//! A participant's statement as CSV: one row per line, then a `TOTAL` row (the debit and
//! credit totals) and a `NET` row (the net position on one side: in the credit columns when
//! it is ≥ 0, in the debit columns when it is < 0, the other side 0). Amounts in fen (exact
//! integers) and in yuan with two decimals.

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
        "TOTAL",
        "",
        "",
        "totals (debits, credits)",
        "",
        &s.total_debit_fen.to_string(),
        &s.total_credit_fen.to_string(),
        &yuan(s.total_debit_fen),
        &yuan(s.total_credit_fen),
    ])
    .map_err(err)?;
    let (net_debit, net_credit) = if s.net_fen < 0 {
        (-s.net_fen, 0)
    } else {
        (0, s.net_fen)
    };
    w.write_record([
        day.as_str(),
        &s.participant,
        "NET",
        "",
        "",
        if s.net_fen < 0 {
            "net position: the participant pays (debits − credits)"
        } else {
            "net position: the participant is paid (credits − debits)"
        },
        "",
        &net_debit.to_string(),
        &net_credit.to_string(),
        &yuan(net_debit),
        &yuan(net_credit),
    ])
    .map_err(err)?;
    w.flush().map_err(|e| Error::Output {
        what: "statement CSV",
        detail: e.to_string(),
    })?;
    Ok(())
}
