//! Blacklist files and result files in every family, and the raw record a reader gives back for
//! a rejected record.

use adapters::{
    Entry, Format, ReadOptions, ReasonCode, RecordStatus, ResultEntry, ResultTotals, ResultTx,
    sample,
};
use card_standards::CodeTables;

fn tables() -> &'static CodeTables {
    CodeTables::builtin()
}

fn sample_blacklist(format: Format) -> Vec<u8> {
    adapters::blacklist::write_all_blacklist(
        format,
        &sample::sample_meta(format),
        tables(),
        &sample::blacklist_entries(),
    )
    .unwrap_or_else(|e| panic!("{format}: {e}"))
}

fn read_blacklist(
    format: Format,
    bytes: &[u8],
) -> (Vec<adapters::Result<Entry>>, adapters::Result<u64>) {
    let mut s = adapters::open_blacklist(format, bytes, ReadOptions::new("bl")).expect("header");
    let items: Vec<_> = (&mut s).collect();
    let fin = s.finish().map(|(_, n)| n);
    (items, fin)
}

fn patch(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(text.contains(from), "{from:?} not in\n{text}");
    text.replacen(from, to, 1).into_bytes()
}

mod blacklists {
    use super::*;

    #[test]
    fn every_blacklist_format_is_detected_and_reads_back_its_entries() {
        for format in Format::BLACKLISTS {
            let bytes = sample_blacklist(format);
            assert_eq!(adapters::detect(&bytes).unwrap(), format);
            let (items, fin) = read_blacklist(format, &bytes);
            let back: Vec<Entry> = items.into_iter().map(|r| r.unwrap()).collect();
            assert_eq!(back, sample::blacklist_entries(), "{format}");
            assert_eq!(fin.unwrap(), 2);
            assert!(format.is_blacklist());
            assert_eq!(format.family().blacklist(), format);
        }
    }

    #[test]
    fn the_committed_blacklist_samples_are_the_writers_output() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/samples");
        for format in Format::BLACKLISTS {
            let on_disk =
                std::fs::read(format!("{dir}/{}", sample::sample_file_name(format))).unwrap();
            assert_eq!(on_disk, sample_blacklist(format), "{format}");
        }
    }

    #[test]
    fn a_bad_action_rejects_only_its_entry_with_r07_naming_the_field() {
        for (format, from, to, field) in [
            (
                Format::HutongBlacklist,
                "action=\"remove\"",
                "action=\"drop\"",
                "action",
            ),
            (Format::LocalCsvBlacklist, ",remove,", ",drop,", "action"),
            (
                Format::MohurdBlacklist,
                "R20261121193000",
                "X20261121193000",
                "action",
            ),
            (
                Format::MotBlacklist,
                "R20261121193000",
                "X20261121193000",
                "action",
            ),
            (
                Format::PbocBlacklist,
                "R20261121193000",
                "X20261121193000",
                "action",
            ),
        ] {
            let bytes = patch(&sample_blacklist(format), from, to);
            let (items, fin) = read_blacklist(format, &bytes);
            assert!(items[0].is_ok(), "{format}");
            let e = items[1].as_ref().unwrap_err();
            assert_eq!(e.reason_code(), Some(ReasonCode::R07), "{format}: {e}");
            assert_eq!(e.field(), Some(field), "{format}: {e}");
            assert_eq!(e.record(), Some(2), "{format}: {e}");
            assert_eq!(fin.unwrap(), 2, "{format}");
        }
    }

    #[test]
    fn a_trailer_count_that_disagrees_is_f02_and_a_missing_trailer_f01() {
        for (format, from, to) in [
            (Format::LocalCsvBlacklist, "T,2", "T,3"),
            (Format::MohurdBlacklist, "T0000000002", "T0000000003"),
            (Format::MotBlacklist, "T0000000002", "T0000000001"),
            (Format::HutongBlacklist, "count=\"2\"", "count=\"5\""),
        ] {
            let bytes = patch(&sample_blacklist(format), from, to);
            let e = read_blacklist(format, &bytes).1.unwrap_err();
            assert_eq!(e.reason_code(), Some(ReasonCode::F02), "{format}: {e}");
        }
        for format in [Format::LocalCsvBlacklist, Format::PbocBlacklist] {
            let good = sample_blacklist(format);
            let text = String::from_utf8(good).unwrap();
            let cut = text.rfind("T").unwrap();
            let e = read_blacklist(format, &text.as_bytes()[..cut])
                .1
                .unwrap_err();
            assert_eq!(e.reason_code(), Some(ReasonCode::F01), "{format}: {e}");
        }
    }

    #[test]
    fn a_transaction_reader_refuses_a_blacklist_and_the_other_way_round() {
        for format in Format::BLACKLISTS {
            let e = adapters::open(format, &b""[..], ReadOptions::new("x"))
                .err()
                .unwrap();
            assert_eq!(e.reason_code(), Some(ReasonCode::F01));
        }
        for format in Format::TRANSACTIONS {
            let e = adapters::open_blacklist(format, &b""[..], ReadOptions::new("x"))
                .err()
                .unwrap();
            assert_eq!(e.reason_code(), Some(ReasonCode::F01));
        }
    }

    #[test]
    fn a_blacklist_reader_keeps_the_raw_entry_line() {
        for format in Format::BLACKLISTS {
            let bytes = sample_blacklist(format);
            let mut s =
                adapters::open_blacklist(format, &bytes[..], ReadOptions::new("b")).unwrap();
            assert!(s.raw_record().is_none());
            s.next().unwrap().unwrap();
            let raw = String::from_utf8(s.raw_record().unwrap().into_owned()).unwrap();
            assert!(raw.contains("lost"), "{format}: {raw}");
            assert!(!raw.contains('\n'), "{format}: {raw:?}");
        }
    }
}

mod results {
    use super::*;

    #[test]
    fn the_committed_result_samples_are_the_writers_output() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/samples");
        for format in Format::TRANSACTIONS {
            let name = sample::sample_result_file_name(format);
            let on_disk = std::fs::read(format!("{dir}/{name}")).unwrap();
            assert_eq!(
                on_disk,
                sample::sample_result(format, tables()).unwrap(),
                "{name}"
            );
        }
    }

    #[test]
    fn fixed_width_result_lines_have_the_layout_length_and_carry_the_outcome() {
        for (format, layout) in [
            (Format::Mohurd, &adapters::mohurd::RESULT_LAYOUT),
            (Format::Mot, &adapters::mot::RESULT_LAYOUT),
            (Format::Pboc, &adapters::pboc::RESULT_LAYOUT),
        ] {
            let text = String::from_utf8(sample::sample_result(format, tables()).unwrap()).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), 5, "{format}");
            assert!(lines[0].starts_with(&layout.signature()));
            assert_eq!(lines[0].len(), adapters::lines::record_len(layout.header));
            for l in &lines[1..4] {
                assert_eq!(
                    l.len(),
                    adapters::lines::record_len(layout.detail),
                    "{format}: {l}"
                );
            }
            assert_eq!(lines[4].len(), adapters::lines::record_len(layout.trailer));
            assert!(lines[2].contains("RR02tac"), "{format}: {}", lines[2]);
            // The unreadable record: number, status and reason, no card columns.
            assert!(
                lines[3].starts_with("R0000000003 "),
                "{format}: {}",
                lines[3]
            );
            assert!(lines[3].contains("RR07terminal"), "{format}");
            assert_eq!(lines[4], "T0000000003000000000000520000000000010000000002");
        }
    }

    #[test]
    fn a_whole_file_rejection_is_record_zero_in_every_family() {
        for format in Format::TRANSACTIONS {
            let mut out = Vec::new();
            let mut sink =
                adapters::create_result(format, &mut out, &sample::sample_result_meta(), tables())
                    .unwrap();
            sink.write(&ResultEntry {
                record: 0,
                tx: None,
                status: RecordStatus::Rejected,
                code: Some("F02".into()),
                field: Some("total amount".into()),
                reason: Some("trailer total amount is 9 but the records give 7 — 差".into()),
            })
            .unwrap();
            sink.close(&ResultTotals {
                count: 2,
                amount_fen: 7,
                accepted: 0,
                rejected: 2,
            })
            .unwrap();
            let text = String::from_utf8(out).unwrap();
            assert!(text.contains("F02"), "{format}: {text}");
            match format {
                Format::HutongXml => {
                    assert!(text.contains("<Result record=\"0\" status=\"rejected\" code=\"F02\""));
                    assert!(text.contains("give 7 — 差"), "XML carries the reason whole");
                }
                Format::LocalCsv => {
                    assert!(text.contains("R,0,,,,,,,,,,rejected,F02,total amount,"))
                }
                _ => assert!(
                    text.contains("give 7 ? ?"),
                    "{format}: printable ASCII only"
                ),
            }
        }
    }

    #[test]
    fn a_result_names_a_card_in_the_families_own_city_codes() {
        let recs = sample::records(tables());
        let local = recs
            .iter()
            .find(|t| t.scheme == card_standards::Scheme::Local)
            .unwrap();
        let entry = ResultEntry {
            record: 1,
            tx: Some(ResultTx::from(local)),
            status: RecordStatus::Accepted,
            code: None,
            field: None,
            reason: None,
        };
        let mut out = Vec::new();
        let mut sink = adapters::create_result(
            Format::Mot,
            &mut out,
            &sample::sample_result_meta(),
            tables(),
        )
        .unwrap();
        sink.write(&entry).unwrap();
        sink.close(&ResultTotals::default()).unwrap();
        let text = String::from_utf8(out).unwrap();
        // Qingdao: MOHURD 2660 is T-Union 4520 (3702 before issue 17, a GB/T 2260 prefix).
        assert!(
            text.lines().nth(1).unwrap()[12..20].ends_with("4520"),
            "{text}"
        );
    }

    #[test]
    fn the_xml_result_sample_and_a_hostile_reason_validate_against_the_xsd() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let xmllint = |file: &std::path::Path| {
            let out = std::process::Command::new("xmllint")
                .args(["--noout", "--schema"])
                .arg(dir.join("schemas/result.xsd"))
                .arg(file)
                .output()
                .expect("xmllint runs (Debian package libxml2-utils)");
            assert!(
                out.status.success(),
                "{}: {}",
                file.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        xmllint(&dir.join("samples/hutong-hub-result.xml"));
        let mut out = Vec::new();
        let mut sink = adapters::create_result(
            Format::HutongBlacklist,
            &mut out,
            &sample::sample_result_meta(),
            tables(),
        )
        .unwrap();
        sink.write(&ResultEntry {
            record: 4,
            tx: None,
            status: RecordStatus::Rejected,
            code: Some("R07".into()),
            field: Some("a\"b".into()),
            reason: Some("bad <value> & \u{1} control".into()),
        })
        .unwrap();
        sink.close(&ResultTotals::default()).unwrap();
        let tmp = std::env::temp_dir().join(format!("hutong-result-{}.xml", std::process::id()));
        std::fs::write(&tmp, &out).unwrap();
        xmllint(&tmp);
        std::fs::remove_file(&tmp).unwrap();
    }
}

mod raw_records {
    use super::*;

    #[test]
    fn every_reader_gives_back_the_record_a_rejection_came_from() {
        for format in Format::TRANSACTIONS {
            let recs = sample::records_for(format, tables());
            let bytes =
                adapters::write_all(format, &sample::sample_meta(format), tables(), &recs).unwrap();
            let mut s = adapters::open(format, &bytes[..], ReadOptions::new("r")).unwrap();
            assert!(s.raw_record().is_none(), "{format}");
            s.next().unwrap().unwrap();
            let raw = String::from_utf8(s.raw_record().unwrap().into_owned()).unwrap();
            let text = String::from_utf8(bytes.clone()).unwrap();
            assert!(!raw.contains('\n'), "{format}: {raw:?}");
            let line = text
                .lines()
                .find(|l| l.contains(&recs[0].terminal.to_string()))
                .unwrap();
            match format {
                Format::HutongXml => {
                    assert!(raw.starts_with("<Tx ") && raw.ends_with("/>"), "{raw}");
                    assert!(line.trim().starts_with(&raw[..40]), "{raw} vs {line}");
                }
                _ => assert_eq!(raw, line, "{format}"),
            }
        }
    }
}

mod docs {
    use adapters::lines::{csv_markdown, markdown};

    fn doc(name: &str) -> String {
        let path = format!("{}/../docs/formats/{name}.md", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn format_docs_show_the_blacklist_and_result_tables_of_the_code() {
        for (name, b, r) in [
            (
                "mohurd",
                &adapters::mohurd::BLACKLIST_LAYOUT,
                &adapters::mohurd::RESULT_LAYOUT,
            ),
            (
                "mot",
                &adapters::mot::BLACKLIST_LAYOUT,
                &adapters::mot::RESULT_LAYOUT,
            ),
            (
                "pboc",
                &adapters::pboc::BLACKLIST_LAYOUT,
                &adapters::pboc::RESULT_LAYOUT,
            ),
        ] {
            let d = doc(name);
            for table in [markdown(b.header), markdown(b.detail), markdown(b.trailer)] {
                assert!(
                    d.contains(&table),
                    "docs/formats/{name}.md is out of date:\n{table}"
                );
            }
            for table in [markdown(r.header), markdown(r.detail), markdown(r.trailer)] {
                assert!(
                    d.contains(&table),
                    "docs/formats/{name}.md is out of date:\n{table}"
                );
            }
        }
        let d = doc("local-csv");
        assert!(d.contains(&csv_markdown(
            "D",
            adapters::local_csv::blacklist::BLACKLIST_COLUMNS
        )));
        assert!(d.contains(&csv_markdown(
            "R",
            adapters::local_csv::result::RESULT_COLUMNS
        )));
        assert!(doc("hutong-xml").contains("urn:hutong:result:1"));
    }
}
