//! The `hutong-xml` result file (`<ResultFile xmlns="urn:hutong:result:1">`): round trip, the
//! sample, every error code, XSD validation.

use std::process::Command;

use adapters::hutong_xml::result::{self, ResultEntry, Status, Totals};
use adapters::{FileMeta, ReadOptions, ReasonCode};
use card_standards::{Scheme, TxKind};
use chrono::NaiveDate;

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

fn meta() -> FileMeta {
    let created = NaiveDate::from_ymd_opt(2026, 11, 23)
        .and_then(|d| d.and_hms_opt(2, 0, 0))
        .unwrap();
    let mut m = FileMeta::new("MOHURD", 9_822_001, created);
    m.receiver = Some("HUB".into());
    m
}

fn entries() -> Vec<ResultEntry> {
    let accepted = ResultEntry {
        scheme: Scheme::Mohurd,
        issuer: card_standards::IssuerId {
            issuer_code: "0574".parse().unwrap(),
            city_code: "3150".parse().unwrap(),
        },
        card: "03150200000000000042".parse().unwrap(),
        card_seq: 17,
        kind: TxKind::CompositePurchase,
        terminal: "370201000012".parse().unwrap(),
        terminal_seq: 123,
        amount_fen: 200,
        status: Status::Accepted,
        code: None,
        reason: None,
    };
    let rejected = ResultEntry {
        card_seq: 18,
        kind: TxKind::Purchase,
        terminal: "370205000003".parse().unwrap(),
        terminal_seq: 88,
        amount_fen: 1500,
        status: Status::Rejected,
        code: Some("R02".into()),
        reason: Some("TAC does not verify".into()),
        ..accepted.clone()
    };
    vec![accepted, rejected]
}

fn write(entries: &[ResultEntry]) -> Vec<u8> {
    let mut w = result::writer(Vec::new(), &meta(), day()).unwrap();
    for e in entries {
        w.write(e).unwrap();
    }
    w.finish().unwrap().0
}

fn sample_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/hutong-result.xml")
}

fn read(
    bytes: &[u8],
) -> (
    Vec<adapters::Result<ResultEntry>>,
    adapters::Result<result::ResultSummary>,
) {
    let mut r = result::reader(bytes, ReadOptions::new("results.xml")).unwrap();
    let items: Vec<_> = (&mut r).collect();
    let summary = r.finish();
    (items, summary)
}

#[test]
fn writer_output_is_the_sample_and_reads_back_field_for_field() {
    let bytes = write(&entries());
    let sample = std::fs::read(sample_path()).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        String::from_utf8_lossy(&sample),
        "adapters/samples/hutong-result.xml is out of date"
    );
    assert!(result::is_result_file(&bytes));
    assert!(!result::is_result_file(b"<TxFile/>"));
    assert!(adapters::detect(&bytes).is_err());
    let (items, summary) = read(&bytes);
    let back: Vec<ResultEntry> = items.into_iter().map(Result::unwrap).collect();
    assert_eq!(back, entries());
    let summary = summary.unwrap();
    assert_eq!(summary.meta, meta());
    assert_eq!(summary.day, day());
    assert_eq!(
        summary.totals,
        Totals {
            count: 2,
            amount_fen: 1700,
            accepted: Some((1, 200)),
            rejected: Some((1, 1500)),
        }
    );
    assert_eq!(back[1].natural_key().kind, TxKind::Purchase);
    assert_eq!(back[1].natural_key().card_seq, 18);
}

#[test]
fn totals_that_disagree_reject_the_file_with_f02() {
    let text = String::from_utf8(write(&entries())).unwrap();
    for (from, to) in [
        ("count=\"2\"", "count=\"3\""),
        ("amount=\"1700\"", "amount=\"1701\""),
        ("acceptedAmount=\"200\"", "acceptedAmount=\"0\""),
    ] {
        let bad = text.replacen(from, to, 1);
        let err = read(bad.as_bytes()).1.unwrap_err();
        assert_eq!(err.reason_code(), Some(ReasonCode::F02), "{from}: {err}");
    }
    // Totals with only count and amount are enough.
    let short = text.replace(
        " accepted=\"1\" acceptedAmount=\"200\" rejected=\"1\" rejectedAmount=\"1500\"",
        "",
    );
    let summary = read(short.as_bytes()).1.unwrap();
    assert_eq!(summary.totals.accepted, None);
}

#[test]
fn a_truncated_file_or_one_without_totals_is_f01() {
    let bytes = write(&entries());
    let cut = &bytes[..bytes.len() / 2];
    let mut r = result::reader(cut, ReadOptions::new("cut.xml")).unwrap();
    let items: Vec<_> = (&mut r).collect();
    assert!(items.last().unwrap().as_ref().is_err());
    assert_eq!(r.finish().unwrap_err().reason_code(), Some(ReasonCode::F01));

    let text = String::from_utf8(bytes).unwrap();
    let start = text.find("  <Totals").unwrap();
    let end = text.find("</ResultFile>").unwrap();
    let no_totals = format!("{}{}", &text[..start], &text[end..]);
    let err = read(no_totals.as_bytes()).1.unwrap_err();
    assert_eq!(err.reason_code(), Some(ReasonCode::F01), "{err}");

    let no_day = text.replacen(" day=\"2026-11-22\"", "", 1);
    let err = result::reader(no_day.as_bytes(), ReadOptions::new("x")).unwrap_err();
    assert_eq!(err.reason_code(), Some(ReasonCode::F01));
}

#[test]
fn bad_results_are_r07_and_reading_goes_on() {
    let text = String::from_utf8(write(&entries())).unwrap();
    for (from, to, field) in [
        ("kind=\"purchase\"", "kind=\"refund\"", "kind"),
        (" code=\"R02\"", "", "code"),
        ("status=\"accepted\"", "status=\"ok\"", "status"),
        ("cardSeq=\"17\"", "cardSeq=\"x\"", "cardSeq"),
    ] {
        let bad = text.replacen(from, to, 1);
        let (items, _) = read(bad.as_bytes());
        assert_eq!(items.len(), 2, "{from}");
        let err = items.iter().find_map(|i| i.as_ref().err()).unwrap();
        assert_eq!(err.reason_code(), Some(ReasonCode::R07), "{from}: {err}");
        assert_eq!(err.field(), Some(field));
    }
    let big = text.replacen("cardSeq=\"17\"", "cardSeq=\"70000\"", 1);
    let (items, _) = read(big.as_bytes());
    assert_eq!(
        items[0].as_ref().unwrap_err().reason_code(),
        Some(ReasonCode::R05)
    );
}

#[test]
fn writer_refuses_a_rejection_without_code() {
    let mut e = entries().remove(1);
    e.code = None;
    let mut w = result::writer(Vec::new(), &meta(), day()).unwrap();
    assert!(matches!(
        w.write(&e).unwrap_err(),
        adapters::Error::CannotCarry { field: "code", .. }
    ));
    assert_eq!(w.totals().count, 0);
}

#[test]
fn sample_and_writer_output_validate_against_the_xsd() {
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/result.xsd");
    let mut e = entries();
    e[1].reason = Some("bad \"TAC\" & <MAC>\ttab".into());
    let tmp = std::env::temp_dir().join(format!("hutong-result-xsd-{}.xml", std::process::id()));
    std::fs::write(&tmp, write(&e)).unwrap();
    for file in [sample_path(), tmp.clone()] {
        let out = Command::new("xmllint")
            .args(["--noout", "--schema", schema])
            .arg(&file)
            .output()
            .expect("xmllint runs (Debian package libxml2-utils; .ci/run installs it)");
        assert!(
            out.status.success(),
            "{} does not validate: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::remove_file(&tmp).unwrap();
}
