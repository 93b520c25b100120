//! A participant's statement as an XLSX workbook, for finance teams who live in spreadsheets.
//!
//! Amounts are written twice: fen as integers (exact) and yuan as decimals formatted `0.00`.
//! (A spreadsheet stores every number as a binary double; yuan values are exact to the fen for
//! any amount below 2^53 fen.) The settlement day is a date cell formatted `yyyy-mm-dd`.

use chrono::Datelike;
use rust_decimal::Decimal;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

use super::Statement;
use crate::error::{Error, Result};

fn yuan(fen: i64) -> Decimal {
    Decimal::new(fen, 2)
}

/// Builds the workbook bytes.
pub fn statement_xlsx(s: &Statement) -> Result<Vec<u8>> {
    let err = |e: rust_xlsxwriter::XlsxError| Error::Output {
        what: "statement XLSX",
        detail: e.to_string(),
    };
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    let sheet = book.add_worksheet();
    sheet.set_name("Statement").map_err(err)?;
    sheet
        .write_with_format(0, 0, "hutong settlement statement", &bold)
        .map_err(err)?;
    sheet.write(1, 0, "participant").map_err(err)?;
    sheet.write(1, 1, s.participant.as_str()).map_err(err)?;
    sheet.write(2, 0, "settlement day").map_err(err)?;
    // A date cell (a serial day number shown yyyy-mm-dd), not text.
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let day = ExcelDateTime::from_ymd(
        u16::try_from(s.day.year()).map_err(|_| Error::Output {
            what: "statement XLSX",
            detail: format!("day {} is out of a spreadsheet's range", s.day),
        })?,
        s.day.month() as u8,
        s.day.day() as u8,
    )
    .map_err(err)?;
    sheet.write_with_format(2, 1, &day, &date).map_err(err)?;
    sheet.write(3, 0, "net (yuan)").map_err(err)?;
    sheet
        .write_with_format(3, 1, yuan(s.net_fen), &money)
        .map_err(err)?;
    sheet.write(4, 0, "net (fen)").map_err(err)?;
    sheet.write(4, 1, s.net_fen).map_err(err)?;

    let header = [
        "kind",
        "counterparty",
        "reference",
        "description",
        "count",
        "debit (yuan)",
        "credit (yuan)",
        "debit (fen)",
        "credit (fen)",
    ];
    for (c, h) in header.iter().enumerate() {
        sheet
            .write_with_format(6, c as u16, *h, &bold)
            .map_err(err)?;
    }
    let mut row = 7u32;
    for l in &s.lines {
        sheet.write(row, 0, l.kind.code()).map_err(err)?;
        sheet.write(row, 1, l.counterparty.as_str()).map_err(err)?;
        sheet.write(row, 2, l.reference.as_str()).map_err(err)?;
        sheet.write(row, 3, l.description.as_str()).map_err(err)?;
        sheet.write(row, 4, l.count).map_err(err)?;
        sheet
            .write_with_format(row, 5, yuan(l.debit_fen), &money)
            .map_err(err)?;
        sheet
            .write_with_format(row, 6, yuan(l.credit_fen), &money)
            .map_err(err)?;
        sheet.write(row, 7, l.debit_fen).map_err(err)?;
        sheet.write(row, 8, l.credit_fen).map_err(err)?;
        row += 1;
    }
    sheet
        .write_with_format(row, 0, "TOTAL", &bold)
        .map_err(err)?;
    sheet
        .write_with_format(row, 5, yuan(s.total_debit_fen), &money)
        .map_err(err)?;
    sheet
        .write_with_format(row, 6, yuan(s.total_credit_fen), &money)
        .map_err(err)?;
    sheet.write(row, 7, s.total_debit_fen).map_err(err)?;
    sheet.write(row, 8, s.total_credit_fen).map_err(err)?;
    sheet.set_column_width(3, 60).map_err(err)?;
    book.save_to_buffer().map_err(err)
}
