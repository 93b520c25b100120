//! Reading result files back in every family: what `create_result` writes reads back equal,
//! a trailer that disagrees is refused, a bad line is an error for that line only, and
//! `detect_result` tells result files from the rest.

use adapters::{
    Error, Format, ReasonCode, RecordStatus, ResultEntry, ResultMeta, ResultStream, ResultTotals,
    ResultTx, sample,
};
use card_standards::CodeTables;

const FAMILIES: [Format; 4] = [Format::LocalCsv, Format::Mohurd, Format::Mot, Format::Pboc];

fn tables() -> &'static CodeTables {
    CodeTables::builtin()
}

fn entries(format: Format) -> Vec<ResultEntry> {
    let recs = sample::records_for(format, tables());
    vec![
        ResultEntry {
            record: 1,
            tx: Some(ResultTx::from(&recs[0])),
            status: RecordStatus::Accepted,
            code: None,
            field: None,
            reason: None,
        },
        ResultEntry {
            record: 2,
            tx: Some(ResultTx::from(&recs[1])),
            status: RecordStatus::Rejected,
            code: Some("R02".into()),
            field: Some("tac".into()),
            reason: Some("the TAC does not verify".into()),
        },
        ResultEntry {
            record: 3,
            tx: None,
            status: RecordStatus::Rejected,
            code: Some("R07".into()),
            field: Some("terminal".into()),
            reason: Some("expected 12 hexadecimal digits".into()),
        },
    ]
}

fn totals_of(entries: &[ResultEntry]) -> ResultTotals {
    ResultTotals {
        count: entries.len() as u64,
        amount_fen: entries
            .iter()
            .filter_map(|e| e.tx.map(|t| t.amount_fen))
            .sum(),
        accepted: entries
            .iter()
            .filter(|e| e.status == RecordStatus::Accepted)
            .count() as u64,
        rejected: entries
            .iter()
            .filter(|e| e.status == RecordStatus::Rejected)
            .count() as u64,
    }
}

fn write(format: Format, entries: &[ResultEntry], totals: &ResultTotals) -> Vec<u8> {
    let mut out = Vec::new();
    let mut sink =
        adapters::create_result(format, &mut out, &sample::sample_result_meta(), tables())
            .unwrap_or_else(|e| panic!("{format}: {e}"));
    for e in entries {
        sink.write(e).unwrap_or_else(|e| panic!("{format}: {e}"));
    }
    sink.close(totals).unwrap();
    out
}

fn open(format: Format, bytes: &[u8]) -> Box<dyn ResultStream + '_> {
    adapters::open_result(format, bytes, tables(), "res.txt")
        .unwrap_or_else(|e| panic!("{format}: {e}"))
}

fn read(
    format: Format,
    bytes: &[u8],
) -> (
    ResultMeta,
    Vec<adapters::Result<ResultEntry>>,
    adapters::Result<ResultTotals>,
) {
    let mut s = open(format, bytes);
    let items: Vec<_> = (&mut s).collect();
    let fin = s.finish();
    (s.meta().clone(), items, fin)
}

/// The file with line `n` (1-based) changed by `f`.
fn patch_line(bytes: &[u8], n: usize, f: impl FnOnce(&str) -> String) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[n - 1] = f(&lines[n - 1]);
    let mut out = lines.join("\n");
    out.push('\n');
    out.into_bytes()
}

/// The 1-based line number of the `k`-th line starting with `R` (the local-csv file has a
/// comment line after its header).
fn result_line(bytes: &[u8], k: usize) -> usize {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with('R'))
        .nth(k - 1)
        .map(|(i, _)| i + 1)
        .unwrap()
}

#[test]
fn every_family_reads_back_what_create_result_wrote_field_for_field() {
    for format in FAMILIES {
        let es = entries(format);
        let totals = totals_of(&es);
        let bytes = write(format, &es, &totals);
        let (meta, items, fin) = read(format, &bytes);
        assert_eq!(meta, sample::sample_result_meta(), "{format}");
        let got: Vec<ResultEntry> = items
            .into_iter()
            .map(|r| r.unwrap_or_else(|e| panic!("{format}: {e}")))
            .collect();
        assert_eq!(got, es, "{format}");
        assert_eq!(fin.unwrap(), totals, "{format}");
    }
}

#[test]
fn the_sample_result_of_every_family_reads_back_and_totals_are_exposed_after_the_last_line() {
    for format in FAMILIES {
        let bytes = sample::sample_result(format, tables()).unwrap();
        let mut s = open(format, &bytes);
        assert_eq!(s.family(), format);
        assert_eq!(s.totals(), None, "{format}: not before the trailer");
        let items: Vec<_> = (&mut s).collect();
        assert_eq!(items.len(), 3);
        assert!(items.iter().all(Result::is_ok), "{format}");
        let t = *s.totals().expect("totals after the last line");
        assert_eq!((t.count, t.accepted, t.rejected), (3, 1, 2), "{format}");
        assert_eq!(s.finish().unwrap(), t);
    }
}

#[test]
fn a_card_of_another_city_space_reads_back_with_its_own_city_code() {
    // A local (MOHURD-space) card in a T-Union result, and a T-Union card in a MOHURD one.
    let recs = sample::records(tables());
    for (format, scheme) in [
        (Format::Mot, card_standards::Scheme::Local),
        (Format::Mohurd, card_standards::Scheme::Mot),
        (Format::LocalCsv, card_standards::Scheme::Mot),
    ] {
        let Some(tx) = recs.iter().find(|t| t.scheme == scheme) else {
            panic!("no {scheme} sample record")
        };
        let es = vec![ResultEntry {
            record: 1,
            tx: Some(ResultTx::from(tx)),
            status: RecordStatus::Accepted,
            code: None,
            field: None,
            reason: None,
        }];
        let bytes = write(format, &es, &totals_of(&es));
        let (_, items, fin) = read(format, &bytes);
        assert_eq!(items[0].as_ref().unwrap(), &es[0], "{format}");
        fin.unwrap();
    }
}

#[test]
fn a_whole_file_rejection_reads_back_as_record_zero_without_line_checks() {
    for format in FAMILIES {
        let e = ResultEntry {
            record: 0,
            tx: None,
            status: RecordStatus::Rejected,
            code: Some("F02".into()),
            field: Some("total amount".into()),
            reason: Some("trailer total amount is 9 but the records give 7".into()),
        };
        let totals = ResultTotals {
            count: 2,
            amount_fen: 7,
            accepted: 0,
            rejected: 2,
        };
        let bytes = write(format, std::slice::from_ref(&e), &totals);
        let (_, items, fin) = read(format, &bytes);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].as_ref().unwrap(), &e, "{format}");
        assert_eq!(fin.unwrap(), totals, "{format}");
    }
}

fn assert_mismatch(format: Format, bytes: &[u8], field: &str, stated: i128, actual: i128) {
    let (_, items, fin) = read(format, bytes);
    let last = items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(
        last,
        fin.as_ref().unwrap_err(),
        "{format}: yielded, then reported again"
    );
    match last {
        Error::TrailerMismatch {
            field: f,
            stated: s,
            actual: a,
            at,
        } => {
            assert_eq!((*f, *s, *a), (field, stated, actual), "{format}");
            assert_eq!(at.file, "res.txt");
            assert!(at.line.is_some(), "{format}: the trailer's line");
        }
        other => panic!("{format}: {other}"),
    }
    assert_eq!(last.reason_code(), Some(ReasonCode::F02));
}

#[test]
fn a_trailer_count_that_disagrees_with_the_lines_is_refused_with_f02() {
    for format in FAMILIES {
        let es = entries(format);
        let mut totals = totals_of(&es);
        totals.count += 1;
        let bytes = write(format, &es, &totals);
        let field = if format == Format::LocalCsv {
            "count"
        } else {
            "record count"
        };
        assert_mismatch(format, &bytes, field, 4, 3);
        let mut s = open(format, &bytes);
        s.by_ref().for_each(drop);
        assert_eq!(
            s.totals(),
            None,
            "{format}: no totals from a refused trailer"
        );
    }
}

#[test]
fn a_trailer_total_that_disagrees_with_the_amounts_is_refused_with_f02() {
    for format in FAMILIES {
        let es = entries(format);
        let mut totals = totals_of(&es);
        let actual = i128::from(totals.amount_fen);
        totals.amount_fen += 5;
        let bytes = write(format, &es, &totals);
        let field = if format == Format::LocalCsv {
            "amount"
        } else {
            "total amount"
        };
        assert_mismatch(format, &bytes, field, actual + 5, actual);
    }
}

#[test]
fn trailer_accepted_and_rejected_counts_are_checked_too() {
    for format in FAMILIES {
        let es = entries(format);
        let mut totals = totals_of(&es);
        totals.accepted = 2;
        let bytes = write(format, &es, &totals);
        assert_mismatch(format, &bytes, "accepted", 2, 1);
    }
}

#[test]
fn a_file_without_a_trailer_is_refused_with_f01() {
    for format in FAMILIES {
        let es = entries(format);
        let bytes = write(format, &es, &totals_of(&es));
        let text = String::from_utf8(bytes).unwrap();
        let cut: String = text
            .lines()
            .filter(|l| !l.starts_with('T'))
            .map(|l| format!("{l}\n"))
            .collect();
        let (_, items, fin) = read(format, cut.as_bytes());
        assert_eq!(items.iter().filter(|r| r.is_ok()).count(), 3);
        let e = fin.unwrap_err();
        assert_eq!(e.reason_code(), Some(ReasonCode::F01), "{format}: {e}");
        assert_eq!(e.field(), Some("trailer"));
    }
}

#[test]
fn a_bad_line_names_file_line_and_field_and_the_rest_is_still_read() {
    for format in FAMILIES {
        let es = entries(format);
        let bytes = write(format, &es, &totals_of(&es));
        let n = result_line(&bytes, 1);
        let (bad, field) = match format {
            Format::LocalCsv => (
                patch_line(&bytes, n, |l| {
                    l.replacen(",purchase,", ",bogus,", 1).replacen(
                        ",composite_purchase,",
                        ",bogus,",
                        1,
                    )
                }),
                "kind",
            ),
            _ => {
                let layout = match format {
                    Format::Mohurd => &adapters::mohurd::RESULT_LAYOUT,
                    Format::Mot => &adapters::mot::RESULT_LAYOUT,
                    _ => &adapters::pboc::RESULT_LAYOUT,
                };
                let c = layout.detail.iter().find(|c| c.name == "terminal").unwrap();
                (
                    patch_line(&bytes, n, |l| {
                        let mut s = l.to_string();
                        s.replace_range(c.offset..c.offset + 1, "Z");
                        s
                    }),
                    "terminal",
                )
            }
        };
        let (_, items, fin) = read(format, &bad);
        assert_eq!(items.len(), 3, "{format}");
        let e = items[0].as_ref().unwrap_err();
        let at = e.location().unwrap();
        assert_eq!(at.file, "res.txt");
        assert_eq!(at.line, Some(n as u64), "{format}: {e}");
        assert_eq!(at.record, Some(1));
        assert_eq!(e.field(), Some(field), "{format}: {e}");
        assert_eq!(e.reason_code(), Some(ReasonCode::R07));
        assert!(e.to_string().contains("res.txt"), "{e}");
        assert_eq!(items[1].as_ref().unwrap(), &es[1], "{format}");
        assert_eq!(items[2].as_ref().unwrap(), &es[2], "{format}");
        // The bad line still counts, and its amount still adds up: the trailer stands.
        fin.unwrap_or_else(|e| panic!("{format}: {e}"));
    }
}

#[test]
fn a_line_naming_only_part_of_its_record_is_an_error_for_that_line() {
    let format = Format::Mohurd;
    let es = entries(format);
    let bytes = write(format, &es, &totals_of(&es));
    let n = result_line(&bytes, 2);
    let c = adapters::mohurd::RESULT_LAYOUT
        .detail
        .iter()
        .find(|c| c.name == "card seq")
        .unwrap();
    let bad = patch_line(&bytes, n, |l| {
        let mut s = l.to_string();
        s.replace_range(c.offset..c.offset + c.width, &" ".repeat(c.width));
        s
    });
    let (_, items, _) = read(format, &bad);
    let e = items[1].as_ref().unwrap_err();
    assert_eq!(e.field(), Some("card seq"), "{e}");
    assert!(items[0].is_ok() && items[2].is_ok());
}

#[test]
fn a_bad_header_is_a_whole_file_error_naming_the_field() {
    for format in FAMILIES {
        let es = entries(format);
        let bytes = write(format, &es, &totals_of(&es));
        let bad = match format {
            Format::LocalCsv => patch_line(&bytes, 1, |l| {
                l.replacen(",2026-11-22T01:00:00,", ",2026-13-22T01:00:00,", 1)
            }),
            _ => patch_line(&bytes, 1, |l| {
                let mut s = l.to_string();
                s.replace_range(43..47, "20X6");
                s
            }),
        };
        let e = adapters::open_result(format, &bad[..], tables(), "res.txt")
            .err()
            .unwrap();
        assert_eq!(e.reason_code(), Some(ReasonCode::F01), "{format}: {e}");
        assert_eq!(e.field(), Some("created"), "{format}: {e}");
        let at = e.location().unwrap();
        assert_eq!((at.file.as_str(), at.line), ("res.txt", Some(1)));
    }
}

#[test]
fn a_transaction_file_given_as_a_result_file_is_refused_not_misread() {
    for format in FAMILIES {
        let tx_file = sample::sample_files(tables())
            .unwrap()
            .into_iter()
            .find(|(name, _)| *name == sample::sample_file_name(format))
            .unwrap()
            .1;
        let e = adapters::open_result(format, &tx_file[..], tables(), "tx")
            .err()
            .unwrap();
        assert_eq!(e.reason_code(), Some(ReasonCode::F01), "{format}: {e}");
    }
}

#[test]
fn detect_result_names_each_family_and_nothing_else() {
    for format in FAMILIES {
        let bytes = sample::sample_result(format, tables()).unwrap();
        assert_eq!(adapters::detect_result(&bytes), Some(format), "{format}");
        assert_eq!(
            adapters::detect_result(&bytes[..20]),
            Some(format),
            "{format}: the first bytes suffice"
        );
    }
    let xml = partner_xml_result();
    assert_eq!(adapters::detect_result(&xml), Some(Format::HutongXml));
    let hub_xml = sample::sample_result(Format::HutongXml, tables()).unwrap();
    assert_eq!(adapters::detect_result(&hub_xml), Some(Format::HutongXml));
    for (name, bytes) in sample::sample_files(tables()).unwrap() {
        if adapters::detect(&bytes).is_ok() {
            assert_eq!(
                adapters::detect_result(&bytes),
                None,
                "{name}: not a result file"
            );
        }
    }
    for format in FAMILIES {
        let bl = adapters::blacklist::write_all_blacklist(
            format,
            &sample::sample_meta(format),
            tables(),
            &sample::blacklist_entries(),
        )
        .unwrap();
        assert_eq!(adapters::detect_result(&bl), None, "{format} blacklist");
    }
    assert_eq!(adapters::detect_result(b""), None);
    assert_eq!(adapters::detect_result(b"R0000000001"), None);
}

fn partner_xml_result() -> Vec<u8> {
    use adapters::hutong_xml::result::{ResultEntry as X, Status, writer};
    let recs = sample::records_for(Format::HutongXml, tables());
    let meta = adapters::FileMeta::new("MOHURD", 9, sample::sample_result_meta().created);
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let mut w = writer(Vec::new(), &meta, day).unwrap();
    for (tx, status) in [(&recs[0], Status::Accepted), (&recs[1], Status::Rejected)] {
        w.write(&X {
            scheme: tx.scheme,
            issuer: tx.issuer,
            card: tx.card_serial,
            card_seq: tx.card_seq,
            kind: tx.kind(),
            terminal: tx.terminal,
            terminal_seq: tx.terminal_seq,
            amount_fen: tx.amount_fen,
            status,
            code: (status == Status::Rejected).then(|| "R02".to_string()),
            reason: None,
        })
        .unwrap();
    }
    w.finish().unwrap().0
}

#[test]
fn a_partners_xml_result_reads_through_open_result_numbered_by_position() {
    let bytes = partner_xml_result();
    let recs = sample::records_for(Format::HutongXml, tables());
    let (meta, items, fin) = read(Format::HutongXml, &bytes);
    assert_eq!(meta.sender, "MOHURD");
    assert_eq!(meta.day, chrono::NaiveDate::from_ymd_opt(2026, 11, 22));
    let got: Vec<ResultEntry> = items.into_iter().map(Result::unwrap).collect();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].record, 1);
    assert_eq!(got[0].tx, Some(ResultTx::from(&recs[0])));
    assert_eq!(got[1].status, RecordStatus::Rejected);
    assert_eq!(got[1].code.as_deref(), Some("R02"));
    let t = fin.unwrap();
    assert_eq!((t.count, t.accepted, t.rejected), (2, 1, 1));
    assert_eq!(t.amount_fen, recs[0].amount_fen + recs[1].amount_fen);
}

#[test]
fn no_prefix_of_a_result_file_panics_a_reader() {
    for format in FAMILIES {
        let bytes = sample::sample_result(format, tables()).unwrap();
        for n in 0..bytes.len() {
            if let Ok(mut s) = adapters::open_result(format, &bytes[..n], tables(), "cut") {
                for item in &mut s {
                    if let Err(e) = item {
                        assert!(e.location().is_some() && e.reason_code().is_some(), "{e}");
                    }
                }
                if let Err(e) = s.finish() {
                    assert!(e.is_file_level(), "{format} at {n}: {e}");
                }
            }
        }
    }
}
