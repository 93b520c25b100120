use chrono::NaiveDate;
use quick_xml::Reader;
use quick_xml::events::Event;

use super::*;
use crate::fees::FeeSchedule;
use crate::positions::{Adjustment, Aggregate, Flow, clear};
use card_standards::{Industry, Scheme};

fn cleared() -> Clearing {
    let fees =
        FeeSchedule::from_toml("[[fee]]\npayer=\"acquirer\"\npayee=\"hub\"\nrate=\"0.0015\"\n")
            .unwrap();
    let agg = |i: &str, a: &str, n, amt| Aggregate {
        issuer: i.into(),
        acquirer: a.into(),
        scheme: Scheme::Mohurd,
        industry: Industry::Bus,
        flow: Flow::IssuerPaysAcquirer,
        count: n,
        amount_fen: amt,
    };
    let aggs = vec![
        agg("QD", "RZ", 120, 24_015),
        agg("RZ", "QD", 40, 8_003),
        agg("NB", "QD", 7, 1_400),
        agg("QD", "NB", 3, 600),
    ];
    let adj = vec![Adjustment {
        reference: "ADJ-7".into(),
        payer: "NB".into(),
        payee: "QD".into(),
        amount_fen: 250,
        reason: "TAC failure charged back".into(),
    }];
    clear(&aggs, &adj, &fees, "HUB").unwrap()
}

/// Settlement accounts of every participant of [`cleared`]: QD with a BIC, RZ with a CNAPS
/// member id, NB with both, HUB with a proprietary clearing system.
fn accounts() -> SettlementAccounts {
    let member = |system: &str, id: &str| {
        Some(ClearingMember {
            system: system.into(),
            member_id: id.into(),
        })
    };
    [
        (
            "QD",
            SettlementAccount::new("6222-QD-01", Some("QDCBCNBJ".into()), None),
        ),
        (
            "RZ",
            SettlementAccount::new("RZ-SETTLE", None, member("CNAPS", "999000000002")),
        ),
        (
            "NB",
            SettlementAccount::new(
                "NB01",
                Some("NBCBCNBJXXX".into()),
                member("CNAPS", "999000000003"),
            ),
        ),
        (
            "HUB",
            SettlementAccount::new("HUB-FEES", None, member("HUTONG", "HUB")),
        ),
    ]
    .into_iter()
    .map(|(c, a)| (c.to_string(), a.unwrap()))
    .collect()
}

/// The hub's settlement account.
fn settlement() -> SettlementAccount {
    SettlementAccount::new("HUTONG-SETTLEMENT", Some("HUTGCNBJ".into()), None).unwrap()
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
}

fn fen(yuan: &str) -> i64 {
    let (sign, digits) = yuan.strip_prefix('-').map_or((1, yuan), |d| (-1, d));
    let (whole, cents) = digits.split_once('.').unwrap();
    assert_eq!(cents.len(), 2, "two decimals: {yuan}");
    sign * (whole.parse::<i64>().unwrap() * 100 + cents.parse::<i64>().unwrap())
}

/// Every text value of elements named `name`, in document order.
fn texts(xml: &[u8], name: &str) -> Vec<String> {
    let mut reader = Reader::from_reader(xml);
    let mut out = Vec::new();
    let mut inside = false;
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).expect("well-formed XML") {
            Event::Start(e) => inside = e.name().as_ref() == name,
            Event::Text(t) if inside => out.push(t.xml10_content().into_owned()),
            Event::End(_) => inside = false,
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    out
}

#[test]
fn statements_of_all_participants_net_to_their_positions_and_to_zero() {
    let c = cleared();
    let created = day().and_hms_opt(23, 5, 0).unwrap();
    let mut total = 0;
    for p in &c.participants {
        let s = statement(&c, &p.code, day(), created);
        assert_eq!(s.net_fen, p.net_fen, "{}", p.code);
        total += s.net_fen;
    }
    assert_eq!(total, 0);
    let qd = statement(&c, "QD", day(), created);
    assert!(
        qd.lines.iter().any(|l| l.kind == LineKind::Adjustment
            && l.reference == "ADJ-7"
            && l.credit_fen == 250)
    );
    assert!(
        qd.lines
            .iter()
            .any(|l| l.kind == LineKind::Fee && l.counterparty == "HUB")
    );
}

#[test]
fn pacs009_parses_back_with_control_sums_that_match_the_positions() {
    let c = cleared();
    let instr = settlement_instructions(&c, day(), &settlement(), &accounts()).unwrap();
    let xml = write_pacs009(
        &instr,
        day(),
        "HUTONG-2026-11-21",
        day().and_hms_opt(23, 5, 0).unwrap(),
        &settlement(),
    )
    .unwrap();
    let amounts: Vec<i64> = texts(&xml, "IntrBkSttlmAmt")
        .iter()
        .map(|a| fen(a))
        .collect();
    assert_eq!(
        amounts.len(),
        c.participants.iter().filter(|p| p.net_fen != 0).count()
    );
    assert_eq!(texts(&xml, "NbOfTxs"), vec![amounts.len().to_string()]);
    let ctrl = fen(&texts(&xml, "CtrlSum")[0]);
    assert_eq!(ctrl, amounts.iter().sum::<i64>());
    let paid: i64 = c
        .participants
        .iter()
        .filter(|p| p.net_fen < 0)
        .map(|p| -p.net_fen)
        .sum();
    let received: i64 = c
        .participants
        .iter()
        .filter(|p| p.net_fen > 0)
        .map(|p| p.net_fen)
        .sum();
    assert_eq!(
        paid, received,
        "what payers pay in is what receivers take out"
    );
    assert_eq!(ctrl, paid + received);
}

#[test]
fn camt053_closing_balance_is_the_net_and_entries_sum_to_it() {
    let c = cleared();
    let s = statement(&c, "QD", day(), day().and_hms_opt(23, 5, 0).unwrap());
    let xml = write_camt053(&s, &accounts()).unwrap();
    let amounts = texts(&xml, "Amt");
    let indicators = texts(&xml, "CdtDbtInd");
    // Opening balance, closing balance, total net entry, then one per line.
    assert_eq!(amounts.len(), 3 + s.lines.len());
    let signed = |i: usize| {
        if indicators[i] == "DBIT" {
            -fen(&amounts[i])
        } else {
            fen(&amounts[i])
        }
    };
    assert_eq!(signed(0), 0);
    assert_eq!(signed(1), s.net_fen);
    assert_eq!(signed(2), s.net_fen);
    assert_eq!((3..amounts.len()).map(signed).sum::<i64>(), s.net_fen);
}

#[test]
fn csv_statement_reads_back_line_for_line() {
    let c = cleared();
    let s = statement(&c, "RZ", day(), day().and_hms_opt(23, 5, 0).unwrap());
    let mut out = Vec::new();
    write_statement_csv(&s, &mut out).unwrap();
    let mut r = csv::Reader::from_reader(&out[..]);
    let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), s.lines.len() + 2);
    let credits: i64 = rows[..s.lines.len()]
        .iter()
        .map(|r| r[8].parse::<i64>().unwrap())
        .sum();
    assert_eq!(credits, s.total_credit_fen);
    assert_eq!(&rows[s.lines.len()][2], "TOTAL");
    assert_eq!(&rows[s.lines.len() + 1][2], "NET");
}

#[test]
fn xlsx_statement_is_a_workbook() {
    let c = cleared();
    let s = statement(&c, "NB", day(), day().and_hms_opt(23, 5, 0).unwrap());
    let bytes = statement_xlsx(&s).unwrap();
    assert_eq!(&bytes[..4], b"PK\x03\x04", "a zip container");
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"xl/worksheets/sheet1.xml"));
    assert!(has(b"xl/sharedStrings.xml"));
}

// ---- xmllint against the official XSDs ----------------------------------------------------

/// Validates `xml` against `reconciliation/xsd/{schema}` with xmllint. Without xmllint the
/// check is skipped with a note, except under `CI` (set by .ci/run), where it fails.
fn xmllint(schema: &str, xml: &[u8]) {
    use std::process::Command;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = env!("CARGO_MANIFEST_DIR");
    let file = std::env::temp_dir().join(format!(
        "hutong-settlement-{}-{}.xml",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmllint")
        .args(["--noout", "--schema", &format!("{dir}/xsd/{schema}")])
        .arg(&file)
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("xmllint not run ({e}); install libxml2-utils to validate {schema}");
            let _ = std::fs::remove_file(&file);
            return;
        }
        Err(e) => panic!("xmllint runs under CI (Debian package libxml2-utils): {e}"),
    };
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "does not validate against {schema}: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(xml)
    );
}

/// Every text node as (slash-separated element path, text), in document order.
fn leaves(xml: &[u8]) -> Vec<(String, String)> {
    let mut reader = Reader::from_reader(xml);
    let mut path: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).expect("well-formed XML") {
            Event::Start(e) => {
                let qname = e.name();
                let name: &str = qname.as_ref();
                path.push(name.to_owned())
            }
            Event::End(_) => {
                path.pop();
            }
            Event::Text(t) => {
                let t = t.xml10_content().into_owned();
                if !t.trim().is_empty() {
                    out.push((path.join("/"), t));
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    out
}

/// The leaves of each `Ntry`, with paths relative to it.
fn entries(xml: &[u8]) -> Vec<Vec<(String, String)>> {
    let prefix = "Document/BkToCstmrStmt/Stmt/Ntry/";
    let mut out: Vec<Vec<(String, String)>> = Vec::new();
    for (p, t) in leaves(xml) {
        let Some(rel) = p.strip_prefix(prefix) else {
            continue;
        };
        if rel == "NtryRef" {
            out.push(Vec::new());
        }
        out.last_mut()
            .expect("NtryRef first")
            .push((rel.to_string(), t));
    }
    out
}

#[test]
fn camt053_statements_validate_against_the_official_xsd() {
    let c = cleared();
    for p in &c.participants {
        let s = statement(&c, &p.code, day(), day().and_hms_opt(23, 5, 0).unwrap());
        xmllint(
            "camt.053.001.08.xsd",
            &write_camt053(&s, &accounts()).unwrap(),
        );
    }
}

#[test]
fn camt053_names_the_participant_creditor_on_credits_and_debtor_on_debits() {
    let c = cleared();
    for p in &c.participants {
        let s = statement(&c, &p.code, day(), day().and_hms_opt(23, 5, 0).unwrap());
        let xml = write_camt053(&s, &accounts()).unwrap();
        let entries = entries(&xml);
        assert_eq!(entries.len(), s.lines.len());
        for (entry, line) in entries.iter().zip(&s.lines) {
            let get = |want: &str| -> Vec<&str> {
                entry
                    .iter()
                    .filter(|(p, _)| p.starts_with(want) && p.ends_with("/Nm"))
                    .map(|(_, t)| t.as_str())
                    .collect()
            };
            let ind = &entry.iter().find(|(p, _)| p == "CdtDbtInd").unwrap().1;
            let debtor = get("NtryDtls/TxDtls/RltdPties/Dbtr/");
            let creditor = get("NtryDtls/TxDtls/RltdPties/Cdtr/");
            let (want_debtor, want_creditor) = if ind == "CRDT" {
                (&line.counterparty, &s.participant)
            } else {
                (&s.participant, &line.counterparty)
            };
            assert_eq!(debtor, vec![want_debtor.as_str()], "{ind} {line:?}");
            assert_eq!(creditor, vec![want_creditor.as_str()], "{ind} {line:?}");
        }
    }
}

#[test]
fn pacs009_validates_and_every_agent_carries_a_bic_or_a_clearing_system_member() {
    let c = cleared();
    let instr = settlement_instructions(&c, day(), &settlement(), &accounts()).unwrap();
    let xml = write_pacs009(
        &instr,
        day(),
        "HUTONG-2026-11-21",
        day().and_hms_opt(23, 5, 0).unwrap(),
        &settlement(),
    )
    .unwrap();
    xmllint("pacs.009.001.08.xsd", &xml);
    // The leaves of each CdtTrfTxInf, relative to it.
    let mut txs: Vec<Vec<(String, String)>> = Vec::new();
    for (p, t) in leaves(&xml) {
        if let Some(rel) = p.strip_prefix("Document/FICdtTrf/CdtTrfTxInf/") {
            if rel == "PmtId/InstrId" {
                txs.push(Vec::new());
            }
            txs.last_mut().unwrap().push((rel.to_string(), t));
        }
    }
    assert_eq!(txs.len(), instr.len());
    let accounts = accounts();
    for tx in &txs {
        let get = |path: &str| -> Option<&str> {
            tx.iter().find(|(p, _)| p == path).map(|(_, t)| t.as_str())
        };
        let id = get("PmtId/InstrId").unwrap();
        let code = id.split('-').nth(3).unwrap();
        let (participant_role, hub_role) = if id.ends_with("-PAY") {
            ("Dbtr", "Cdtr")
        } else {
            ("Cdtr", "Dbtr")
        };
        for (role, account) in [
            (participant_role, &accounts[code]),
            (hub_role, &settlement()),
        ] {
            let agent = |leaf: &str| get(&format!("{role}/FinInstnId/{leaf}"));
            assert!(
                agent("BICFI").is_some()
                    || agent("ClrSysMmbId/ClrSysId/Cd")
                        .or(agent("ClrSysMmbId/ClrSysId/Prtry"))
                        .is_some(),
                "{id}: {role} has a BICFI or a ClrSysMmbId with its ClrSysId"
            );
            assert_eq!(agent("BICFI"), account.bic.as_deref(), "{id} {role}");
            assert_eq!(
                agent("ClrSysMmbId/MmbId"),
                account.member.as_ref().map(|m| m.member_id.as_str()),
                "{id} {role}"
            );
            assert_eq!(
                get(&format!("{role}Acct/Id/Othr/Id")),
                Some(account.account_id.as_str()),
                "{id}: {role}Acct"
            );
        }
    }
}

#[test]
fn csv_statement_has_a_total_row_and_a_net_row_holding_the_net() {
    let c = cleared();
    for p in &c.participants {
        let s = statement(&c, &p.code, day(), day().and_hms_opt(23, 5, 0).unwrap());
        let mut out = Vec::new();
        write_statement_csv(&s, &mut out).unwrap();
        let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(&out[..])
            .records()
            .map(|r| r.unwrap())
            .collect();
        let n = s.lines.len();
        assert_eq!(rows.len(), n + 2, "lines, TOTAL, NET");
        let total = &rows[n];
        assert_eq!(&total[2], "TOTAL");
        assert_eq!(total[7].parse::<i64>().unwrap(), s.total_debit_fen);
        assert_eq!(total[8].parse::<i64>().unwrap(), s.total_credit_fen);
        let net = &rows[n + 1];
        assert_eq!(&net[2], "NET");
        let (debit, credit) = (
            net[7].parse::<i64>().unwrap(),
            net[8].parse::<i64>().unwrap(),
        );
        assert_eq!(credit - debit, s.net_fen, "{}", p.code);
        assert!(debit == 0 || credit == 0, "one side only: {net:?}");
        assert_eq!(fen(&net[10]) - fen(&net[9]), s.net_fen);
    }
}

/// One file of an XLSX (zip) container, as text.
fn zip_entry(bytes: &[u8], name: &str) -> String {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut f = archive.by_name(name).expect(name);
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    s
}

#[test]
fn xlsx_settlement_day_is_a_date_cell_formatted_yyyy_mm_dd() {
    let c = cleared();
    let s = statement(&c, "NB", day(), day().and_hms_opt(23, 5, 0).unwrap());
    let bytes = statement_xlsx(&s).unwrap();
    let sheet = zip_entry(&bytes, "xl/worksheets/sheet1.xml");
    let start = sheet.find(r#"<c r="B3""#).expect("cell B3");
    let cell = &sheet[start..start + sheet[start..].find("</c>").unwrap()];
    assert!(!cell.contains(r#"t="s""#), "not a string: {cell}");
    // Excel's serial day number of 2026-11-21 (days since 1899-12-30).
    let serial = (day() - NaiveDate::from_ymd_opt(1899, 12, 30).unwrap()).num_days();
    assert!(cell.contains(&format!("<v>{serial}</v>")), "{cell}");
    let style: usize = cell
        .split(r#" s=""#)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a style")
        .parse()
        .unwrap();
    let styles = zip_entry(&bytes, "xl/styles.xml");
    let xfs = &styles[styles.find("<cellXfs").unwrap()..];
    let xf = xfs.split("<xf ").nth(style + 1).expect("the cell's xf");
    let fmt_id = xf
        .split(r#"numFmtId=""#)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap();
    assert!(
        styles.contains(&format!(r#"numFmtId="{fmt_id}" formatCode="yyyy-mm-dd""#)),
        "format {fmt_id} is yyyy-mm-dd: {styles}"
    );
}

#[test]
fn a_participant_without_a_settlement_account_is_refused_by_name() {
    let c = cleared();
    let mut accounts = accounts();
    accounts.remove("RZ");
    let err = settlement_instructions(&c, day(), &settlement(), &accounts).unwrap_err();
    assert!(
        matches!(&err, crate::Error::NoSettlementAccount { participant } if participant == "RZ"),
        "{err}"
    );
    let s = statement(&c, "RZ", day(), day().and_hms_opt(23, 5, 0).unwrap());
    let err = write_camt053(&s, &accounts).unwrap_err();
    assert!(err.to_string().contains("RZ"), "{err}");
    // A counterparty without an account is still named, as a party.
    let qd = statement(&c, "QD", day(), day().and_hms_opt(23, 5, 0).unwrap());
    let xml = write_camt053(&qd, &accounts).unwrap();
    xmllint("camt.053.001.08.xsd", &xml);
    assert!(
        leaves(&xml)
            .iter()
            .any(|(p, t)| p.ends_with("RltdPties/Dbtr/Pty/Nm") && t == "RZ")
    );
}

#[test]
fn camt053_with_long_texts_and_no_references_still_validates() {
    let c = cleared();
    let mut s = statement(&c, "QD", day(), day().and_hms_opt(23, 5, 0).unwrap());
    s.lines[0].description = "长".repeat(600);
    s.lines[0].reference = "R".repeat(80);
    for l in &mut s.lines[1..] {
        l.reference.clear();
        l.description.clear();
    }
    xmllint(
        "camt.053.001.08.xsd",
        &write_camt053(&s, &accounts()).unwrap(),
    );
}
