//! Parsers of the day's settlement files, of verify's own: camt.053 and pacs.009 (by element
//! path suffix, so added elements are ignored), the statement CSV, and yuan as exact fen.

use super::*;

/// Yuan with at most two decimals (`123.45`, `-0.05`, `7`) as fen, by integer arithmetic.
pub fn parse_yuan(s: &str) -> Option<i64> {
    let s = s.trim();
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty()
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    let v = whole.checked_mul(100)?.checked_add(frac)?;
    Some(if negative { -v } else { v })
}

/// Walks an XML document calling `on_end(path, text)` at the end of every element, with the
/// path of local names from the root and the element's own text. Errors name `file`.
pub(super) fn walk_xml(
    file: &str,
    bytes: &[u8],
    mut on_end: impl FnMut(&[String], &str) -> Result<(), String>,
) -> Result<(), String> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut buf = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    loop {
        let at = reader.buffer_position();
        let ev = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("{file}: XML at byte {at}: {e}"))?;
        match ev {
            Event::Start(e) => {
                path.push(local_name(&e));
                text.clear();
            }
            Event::Empty(e) => {
                path.push(local_name(&e));
                on_end(&path, "")?;
                path.pop();
            }
            Event::Text(t) => {
                let s: &str = t.as_ref();
                text.push_str(s);
            }
            Event::End(_) => {
                on_end(&path, text.trim())?;
                text.clear();
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(())
}

pub(super) fn local_name(e: &quick_xml::events::BytesStart<'_>) -> String {
    let name = e.local_name();
    let s: &str = name.as_ref();
    s.to_string()
}

pub(super) fn ends_with(path: &[String], suffix: &[&str]) -> bool {
    path.len() >= suffix.len()
        && path[path.len() - suffix.len()..]
            .iter()
            .zip(suffix)
            .all(|(a, b)| a == b)
}

/// A camt.053 statement's net (Σ `Ntry/Amt` signed by `Ntry/CdtDbtInd`, fen) and its number
/// of entries; its `Stmt/Id` must be `{day}-{code}`. Other elements are ignored.
pub fn parse_camt053(
    file: &str,
    bytes: &[u8],
    day: NaiveDate,
    code: &str,
) -> Result<(i64, usize), String> {
    let mut net = 0i64;
    let mut entries = 0usize;
    let mut amt: Option<i64> = None;
    let mut ind: Option<i64> = None;
    let mut id: Option<String> = None;
    walk_xml(file, bytes, |path, text| {
        if ends_with(path, &["Stmt", "Id"]) {
            id = Some(text.to_string());
        } else if ends_with(path, &["Ntry", "Amt"]) {
            amt = Some(parse_yuan(text).ok_or_else(|| {
                format!(
                    "{file}: Ntry {} Amt: not an amount in yuan ({text:?})",
                    entries + 1
                )
            })?);
        } else if ends_with(path, &["Ntry", "CdtDbtInd"]) {
            ind = Some(match text {
                "CRDT" => 1,
                "DBIT" => -1,
                other => {
                    return Err(format!(
                        "{file}: Ntry {} CdtDbtInd: expected CRDT or DBIT ({other:?})",
                        entries + 1
                    ));
                }
            });
        } else if path.last().is_some_and(|n| n == "Ntry") {
            entries += 1;
            let a = amt
                .take()
                .ok_or_else(|| format!("{file}: Ntry {entries}: no Amt"))?;
            let s = ind
                .take()
                .ok_or_else(|| format!("{file}: Ntry {entries}: no CdtDbtInd"))?;
            net = net
                .checked_add(a * s)
                .ok_or_else(|| format!("{file}: Ntry {entries}: the sum overflows"))?;
        }
        Ok(())
    })?;
    let want = format!("{day}-{code}");
    match id {
        Some(id) if id == want => Ok((net, entries)),
        Some(id) => Err(format!("{file}: Stmt/Id is {id:?}, expected {want:?}")),
        None => Err(format!("{file}: no Stmt/Id")),
    }
}

/// A statement CSV's net (Σ `credit_fen` − Σ `debit_fen` over its line rows: `TXNS`, `FEES`,
/// `ADJS`) and its number of line rows. The `TOTAL` row must hold the sums of the lines' debits
/// and credits, and the `NET` row the net (on the credit side when the participant is paid,
/// on the debit side when it pays); a disagreement is an error naming the row and both figures.
pub fn parse_statement_csv(file: &str, bytes: &[u8]) -> Result<(i64, usize), String> {
    let mut r = csv::Reader::from_reader(bytes);
    let headers = r
        .headers()
        .map_err(|e| format!("{file}: header: {e}"))?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("{file}: header: no column {name:?}"))
    };
    let (kind, debit, credit) = (col("kind")?, col("debit_fen")?, col("credit_fen")?);
    let (mut debits, mut credits, mut rows) = (0i64, 0i64, 0usize);
    let (mut total, mut net) = (None, None);
    for (i, row) in r.records().enumerate() {
        let line = i + 2;
        let row = row.map_err(|e| format!("{file}: line {line}: {e}"))?;
        let number = |c: usize, name: &str| -> Result<i64, String> {
            let v = row.get(c).unwrap_or("");
            v.trim()
                .parse::<i64>()
                .map_err(|_| format!("{file}: line {line} {name}: not fen ({v:?})"))
        };
        let (d, c) = (number(debit, "debit_fen")?, number(credit, "credit_fen")?);
        match row.get(kind) {
            Some("TOTAL") => total = Some((line, d, c)),
            Some("NET") => net = Some((line, d, c)),
            _ => {
                let overflow = || format!("{file}: line {line}: the sum overflows");
                debits = debits.checked_add(d).ok_or_else(overflow)?;
                credits = credits.checked_add(c).ok_or_else(overflow)?;
                rows += 1;
            }
        }
    }
    let lines_net = credits - debits;
    match total {
        Some((line, d, c)) if (d, c) != (debits, credits) => {
            return Err(format!(
                "{file}: line {line} (TOTAL): debits {d} and credits {c} fen, but the lines sum \
                 to {debits} and {credits} fen"
            ));
        }
        Some(_) => {}
        None => return Err(format!("{file}: no TOTAL row")),
    }
    match net {
        Some((line, d, c)) if c - d != lines_net || (d != 0 && c != 0) => Err(format!(
            "{file}: line {line} (NET): {} fen, but the lines net {lines_net} fen",
            c - d
        )),
        Some(_) => Ok((lines_net, rows)),
        None => Err(format!("{file}: no NET row")),
    }
}

/// What a pacs.009 file says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pacs009 {
    /// `GrpHdr/NbOfTxs`.
    pub nb_of_txs: Option<i64>,
    /// `GrpHdr/CtrlSum`, fen.
    pub ctrl_sum_fen: Option<i64>,
    /// Each `CdtTrfTxInf`: `PmtId/InstrId` and `IntrBkSttlmAmt` (fen), in order.
    pub transfers: Vec<(String, i64)>,
}

/// Reads a pacs.009 file (other elements are ignored).
pub fn parse_pacs009(file: &str, bytes: &[u8]) -> Result<Pacs009, String> {
    let mut out = Pacs009::default();
    let mut id: Option<String> = None;
    let mut amount: Option<i64> = None;
    walk_xml(file, bytes, |path, text| {
        let n = out.transfers.len() + 1;
        if ends_with(path, &["GrpHdr", "NbOfTxs"]) {
            out.nb_of_txs = Some(
                text.parse()
                    .map_err(|_| format!("{file}: GrpHdr/NbOfTxs: not a number ({text:?})"))?,
            );
        } else if ends_with(path, &["GrpHdr", "CtrlSum"]) {
            out.ctrl_sum_fen = Some(
                parse_yuan(text)
                    .ok_or_else(|| format!("{file}: GrpHdr/CtrlSum: not an amount ({text:?})"))?,
            );
        } else if ends_with(path, &["CdtTrfTxInf", "PmtId", "InstrId"]) {
            id = Some(text.to_string());
        } else if ends_with(path, &["CdtTrfTxInf", "IntrBkSttlmAmt"]) {
            amount = Some(parse_yuan(text).ok_or_else(|| {
                format!("{file}: CdtTrfTxInf {n} IntrBkSttlmAmt: not an amount ({text:?})")
            })?);
        } else if path.last().is_some_and(|p| p == "CdtTrfTxInf") {
            let i = id
                .take()
                .ok_or_else(|| format!("{file}: CdtTrfTxInf {n}: no PmtId/InstrId"))?;
            let a = amount
                .take()
                .ok_or_else(|| format!("{file}: CdtTrfTxInf {n}: no IntrBkSttlmAmt"))?;
            out.transfers.push((i, a));
        }
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_parse_to_fen_exactly_without_floats() {
        assert_eq!(parse_yuan("123.45"), Some(12345));
        assert_eq!(parse_yuan("0.05"), Some(5));
        assert_eq!(parse_yuan("-0.05"), Some(-5));
        assert_eq!(parse_yuan("7"), Some(700));
        assert_eq!(parse_yuan("7.5"), Some(750));
        assert_eq!(parse_yuan("0.1"), Some(10));
        assert_eq!(parse_yuan("1.234"), None);
        assert_eq!(parse_yuan("1e3"), None);
        assert_eq!(parse_yuan(""), None);
        assert_eq!(parse_yuan(".5"), None);
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
    }

    #[test]
    fn camt053_net_is_the_signed_sum_of_entry_amounts_whatever_else_the_file_holds() {
        let xml = br#"<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<Stmt><Id>2026-11-21-QD</Id><Acct><Id><Othr><Id>QD</Id></Othr></Id></Acct>
<Bal><Amt Ccy="CNY">99.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Bal>
<TxsSummry><TtlNtries><TtlNetNtry><Amt>1.00</Amt><CdtDbtInd>DBIT</CdtDbtInd></TtlNetNtry></TtlNtries></TxsSummry>
<Ntry><NtryRef>1</NtryRef><Amt Ccy="CNY">26.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><NewElement>x</NewElement>
<NtryDtls><TxDtls><AmtDtls><InstdAmt><Amt Ccy="CNY">5.00</Amt></InstdAmt></AmtDtls></TxDtls></NtryDtls></Ntry>
<Ntry><Amt Ccy="CNY">0.17</Amt><CdtDbtInd>DBIT</CdtDbtInd></Ntry>
</Stmt></BkToCstmrStmt></Document>"#;
        assert_eq!(parse_camt053("s.xml", xml, day(), "QD"), Ok((2650 - 17, 2)));
        let e = parse_camt053("s.xml", xml, day(), "RZ").unwrap_err();
        assert!(e.contains("s.xml") && e.contains("Stmt/Id"), "{e}");
        let bad = br#"<Document><Stmt><Id>2026-11-21-QD</Id><Ntry><Amt>2,00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry></Stmt></Document>"#;
        let e = parse_camt053("s.xml", bad, day(), "QD").unwrap_err();
        assert!(e.contains("s.xml") && e.contains("Ntry 1 Amt"), "{e}");
    }

    #[test]
    fn pacs009_is_read_for_its_count_control_sum_and_each_instruction() {
        let xml = br#"<Document><FICdtTrf><GrpHdr><MsgId>M</MsgId><NbOfTxs>2</NbOfTxs><CtrlSum>10.00</CtrlSum></GrpHdr>
<CdtTrfTxInf><PmtId><InstrId>2026-11-21-QD-PAY</InstrId><EndToEndId>x</EndToEndId></PmtId><IntrBkSttlmAmt Ccy="CNY">5.00</IntrBkSttlmAmt><Dbtr><FinInstnId><ClrSysMmbId><MmbId>QD</MmbId></ClrSysMmbId></FinInstnId></Dbtr></CdtTrfTxInf>
<CdtTrfTxInf><PmtId><InstrId>2026-11-21-RZ-RCV</InstrId></PmtId><IntrBkSttlmAmt Ccy="CNY">5.00</IntrBkSttlmAmt></CdtTrfTxInf>
</FICdtTrf></Document>"#;
        let p = parse_pacs009("p.xml", xml).unwrap();
        assert_eq!(p.nb_of_txs, Some(2));
        assert_eq!(p.ctrl_sum_fen, Some(1000));
        assert_eq!(
            p.transfers,
            vec![
                ("2026-11-21-QD-PAY".to_string(), 500),
                ("2026-11-21-RZ-RCV".to_string(), 500)
            ]
        );
        let e = parse_pacs009(
            "p.xml",
            b"<Document><GrpHdr><CtrlSum>ten</CtrlSum></GrpHdr></Document>",
        )
        .unwrap_err();
        assert!(e.contains("p.xml") && e.contains("CtrlSum"), "{e}");
    }

    #[test]
    fn statement_csv_net_sums_credits_minus_debits_of_the_lines_and_checks_total_and_net() {
        let head = "day,participant,kind,counterparty,reference,description,count,debit_fen,credit_fen,debit_yuan,credit_yuan\n\
2026-11-21,QD,TXNS,RZ,,x,2,0,2650,0.00,26.50\n\
2026-11-21,QD,FEES,RZ,rule 1,y,1,17,0,0.17,0.00\n\
2026-11-21,QD,TOTAL,,,totals,,17,2650,0.17,26.50\n";
        let csv = format!("{head}2026-11-21,QD,NET,,,net,,0,2633,0.00,26.33\n");
        assert_eq!(parse_statement_csv("s.csv", csv.as_bytes()), Ok((2633, 2)));
        let wrong_net = format!("{head}2026-11-21,QD,NET,,,net,,17,2650,0.17,26.50\n");
        let e = parse_statement_csv("s.csv", wrong_net.as_bytes()).unwrap_err();
        assert!(e.contains("NET") && e.contains("2633"), "{e}");
        let wrong_total = csv.replace("totals,,17,2650", "totals,,18,2650");
        let e = parse_statement_csv("s.csv", wrong_total.as_bytes()).unwrap_err();
        assert!(e.contains("TOTAL") && e.contains("18"), "{e}");
        let e = parse_statement_csv("s.csv", b"day,kind\n").unwrap_err();
        assert!(e.contains("s.csv") && e.contains("debit_fen"), "{e}");
    }
}
