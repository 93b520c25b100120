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
    let instr = settlement_instructions(&c, day(), "SETTLE-001");
    let xml = write_pacs009(
        &instr,
        day(),
        "HUTONG-2026-11-21",
        day().and_hms_opt(23, 5, 0).unwrap(),
        "SETTLE-001",
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
    let xml = write_camt053(&s).unwrap();
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
    assert_eq!(rows.len(), s.lines.len() + 1);
    let credits: i64 = rows[..s.lines.len()]
        .iter()
        .map(|r| r[8].parse::<i64>().unwrap())
        .sum();
    assert_eq!(credits, s.total_credit_fen);
    assert_eq!(&rows[s.lines.len()][2], "NET");
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
