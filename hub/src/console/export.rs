//! Exports: the discrepancy queue and a day's positions as CSV and XLSX. Amounts are written in
//! fen (integers, exact) and in yuan (a decimal, `0.00`).

use rust_decimal::Decimal;
use rust_xlsxwriter::{Format, Workbook, XlsxError};

use crate::clearing::Positions;
use crate::store::reconcile::Discrepancy;

fn yuan(fen: i64) -> Decimal {
    Decimal::new(fen, 2)
}

fn join(v: &[i64]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

const QUEUE_HEADER: [&str; 13] = [
    "id",
    "type",
    "day",
    "status",
    "participants",
    "records",
    "files",
    "amount_fen",
    "amount_yuan",
    "rule",
    "case_id",
    "adjustment_ref",
    "detail",
];

fn queue_row(d: &Discrepancy) -> [String; 13] {
    [
        d.id.to_string(),
        d.kind.to_string(),
        d.day.to_string(),
        d.status.to_string(),
        d.participants.join(" "),
        join(&d.records),
        join(&d.files),
        d.amount_fen.to_string(),
        reconciliation::money::yuan(d.amount_fen),
        d.rule.clone().unwrap_or_default(),
        d.case_id.map(|c| c.to_string()).unwrap_or_default(),
        d.adjustment_ref.clone().unwrap_or_default(),
        d.detail.clone(),
    ]
}

/// The queue as CSV.
pub(crate) fn queue_csv(items: &[Discrepancy]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(QUEUE_HEADER)?;
    for d in items {
        w.write_record(queue_row(d))?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// The queue as an XLSX workbook.
pub(crate) fn queue_xlsx(items: &[Discrepancy]) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    let sheet = book.add_worksheet();
    sheet.set_name("Discrepancies")?;
    for (c, h) in QUEUE_HEADER.iter().enumerate() {
        sheet.write_with_format(0, c as u16, *h, &bold)?;
    }
    for (i, d) in items.iter().enumerate() {
        let row = i as u32 + 1;
        let cells = queue_row(d);
        sheet.write(row, 0, d.id)?;
        for (c, v) in cells.iter().enumerate().skip(1) {
            match c {
                7 => sheet.write(row, 7, d.amount_fen)?,
                8 => sheet.write_with_format(row, 8, yuan(d.amount_fen), &money)?,
                _ => sheet.write(row, c as u16, v.as_str())?,
            };
        }
    }
    sheet.autofit();
    book.save_to_buffer()
}

const POSITION_HEADER: [&str; 9] = [
    "kind",
    "code",
    "counterparty",
    "count",
    "amount_fen",
    "fees_fen",
    "adjustments_fen",
    "net_fen",
    "net_yuan",
];

fn position_rows(p: &Positions) -> Vec<[String; 9]> {
    let mut rows = Vec::new();
    for x in &p.clearing.participants {
        rows.push([
            "participant".into(),
            x.code.clone(),
            String::new(),
            String::new(),
            String::new(),
            x.fees_fen.to_string(),
            String::new(),
            x.net_fen.to_string(),
            reconciliation::money::yuan(x.net_fen),
        ]);
    }
    for x in &p.clearing.pairs {
        rows.push([
            "pair".into(),
            x.payer.clone(),
            x.payee.clone(),
            x.count.to_string(),
            x.amount_fen.to_string(),
            x.fee_fen.to_string(),
            x.adjustment_fen.to_string(),
            String::new(),
            String::new(),
        ]);
    }
    for a in &p.clearing.adjustments {
        rows.push([
            "adjustment".into(),
            a.payer.clone(),
            a.payee.clone(),
            String::new(),
            String::new(),
            String::new(),
            a.amount_fen.to_string(),
            String::new(),
            a.reference.clone(),
        ]);
    }
    rows
}

/// A day's positions as CSV.
pub(crate) fn positions_csv(p: &Positions) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(POSITION_HEADER)?;
    for r in position_rows(p) {
        w.write_record(r)?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// A day's positions as XLSX.
pub(crate) fn positions_xlsx(p: &Positions) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    let sheet = book.add_worksheet();
    sheet.set_name("Positions")?;
    sheet.write_with_format(
        0,
        0,
        format!("settlement day {} ({})", p.day, p.status),
        &bold,
    )?;
    for (c, h) in POSITION_HEADER.iter().enumerate() {
        sheet.write_with_format(2, c as u16, *h, &bold)?;
    }
    for (i, r) in position_rows(p).iter().enumerate() {
        let row = i as u32 + 3;
        for (c, v) in r.iter().enumerate() {
            match v.parse::<i64>() {
                Ok(n) if c != 8 => {
                    sheet.write(row, c as u16, n)?;
                }
                _ if c == 8 && r[0] == "participant" => {
                    let fen: i64 = r[7].parse().unwrap_or(0);
                    sheet.write_with_format(row, 8, yuan(fen), &money)?;
                }
                _ => {
                    sheet.write(row, c as u16, v.as_str())?;
                }
            }
        }
    }
    sheet.autofit();
    book.save_to_buffer()
}
