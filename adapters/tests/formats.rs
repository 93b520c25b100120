//! The adapters' integration tests, one module per topic.

use adapters::{Error, FileSummary, Format, ReadOptions, ReasonCode, Result, sample};
use card_standards::{CanonicalTx, CodeTables};

fn tables() -> &'static CodeTables {
    CodeTables::builtin()
}

/// Reads a whole file: every item, then `finish`.
fn read_all(
    format: Format,
    bytes: &[u8],
    name: &str,
) -> (Vec<Result<CanonicalTx>>, Result<FileSummary>) {
    let mut stream = adapters::open(format, bytes, ReadOptions::new(name)).expect("header reads");
    let items: Vec<_> = (&mut stream).collect();
    let summary = stream.finish();
    (items, summary)
}

/// Reads a file that must be good throughout.
fn read_ok(format: Format, bytes: &[u8]) -> Vec<CanonicalTx> {
    let (items, summary) = read_all(format, bytes, "t");
    summary.unwrap_or_else(|e| panic!("{format}: {e}"));
    items
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{format}: {e}")))
        .collect()
}

fn without_provenance(mut tx: CanonicalTx) -> CanonicalTx {
    tx.provenance = None;
    tx
}

fn write(format: Format, records: &[CanonicalTx]) -> Vec<u8> {
    adapters::write_all(format, &sample::sample_meta(format), tables(), records)
        .unwrap_or_else(|e| panic!("{format}: {e}"))
}

fn doc(format: Format) -> String {
    let name = match format {
        Format::HutongBlacklist => "hutong-xml",
        f => f.as_str(),
    };
    let path = format!("{}/../docs/formats/{name}.md", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The "Cannot carry" section of a format's doc.
fn cannot_carry_section(format: Format) -> String {
    let d = doc(format);
    let start = d
        .find("## Cannot carry")
        .unwrap_or_else(|| panic!("docs/formats/{format}.md has no \"## Cannot carry\" section"));
    let rest = &d[start + 3..];
    let end = rest.find("\n## ").map_or(rest.len(), |i| i);
    rest[..end].to_string()
}

mod samples {
    use super::*;

    #[test]
    fn samples_are_what_the_writers_write() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/samples");
        for (name, bytes) in sample::sample_files(tables()).unwrap() {
            let on_disk = std::fs::read(format!("{dir}/{name}")).unwrap();
            assert!(
                on_disk == bytes,
                "samples/{name} differs from the writer's output: run `cargo run -p adapters --example make_samples`"
            );
        }
    }

    #[test]
    fn every_sample_reads_back_to_the_records_it_was_written_from_with_valid_tacs() {
        for format in Format::TRANSACTIONS {
            let bytes = std::fs::read(format!(
                "{}/samples/{}",
                env!("CARGO_MANIFEST_DIR"),
                sample::sample_file_name(format)
            ))
            .unwrap();
            assert_eq!(adapters::detect(&bytes).unwrap(), format);
            let read = read_ok(format, &bytes);
            let want = sample::records_for(format, tables());
            assert!(!want.is_empty());
            assert_eq!(read.len(), want.len(), "{format}");
            for (i, (got, want)) in read.into_iter().zip(want).enumerate() {
                let prov = got.provenance.clone().unwrap();
                assert_eq!(prov.record, i as u64 + 1);
                assert_eq!(prov.file, "t");
                let key = sample::sample_key(&got).expect("a sample issuer");
                let check = got.check_tac(&key).unwrap();
                if got.tac.is_some() {
                    assert_eq!(
                        check,
                        card_standards::TacCheck::Valid,
                        "{format} record {}",
                        i + 1
                    );
                } else {
                    assert_eq!(check, card_standards::TacCheck::NotApplicable);
                }
                assert_eq!(without_provenance(got), want, "{format} record {}", i + 1);
            }
        }
    }

    #[test]
    fn the_example_of_issue_5_reads_as_written() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/samples/issue5-example.xml"
        ))
        .unwrap();
        assert_eq!(adapters::detect(&bytes).unwrap(), Format::HutongXml);
        let mut stream = adapters::open(
            Format::HutongXml,
            &bytes[..],
            ReadOptions::new("issue5.xml"),
        )
        .unwrap();
        assert_eq!(stream.meta().sender, "CODE");
        assert_eq!(stream.meta().seq, 7);
        assert_eq!(stream.meta().created.to_string(), "2026-11-21 23:10:00");
        let tx = stream.next().unwrap().unwrap();
        assert_eq!(tx.card_serial.mot_card_number(), "3105170010170907984");
        assert_eq!(tx.issuer.city_code.to_string(), "1000");
        assert_eq!(tx.card_type_raw, "01");
        assert_eq!(
            tx.acceptance.acquirer, "CODE",
            "acquirer defaults to the sender"
        );
        assert_eq!(tx.acceptance.industry, card_standards::Industry::Bus);
        assert_eq!(tx.tac.unwrap().to_string(), "44A8E04A");
        assert!(stream.next().is_none());
        let s = stream.finish().unwrap();
        assert_eq!((s.records, s.total_fen), (1, 200));
    }

    #[test]
    fn blacklist_sample_reads_back() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/samples/hutong-blacklist.xml"
        ))
        .unwrap();
        assert_eq!(adapters::detect(&bytes).unwrap(), Format::HutongBlacklist);
        let mut r = adapters::hutong_xml::blacklist::reader(&bytes[..], ReadOptions::new("bl.xml"))
            .unwrap();
        let entries: Vec<_> = (&mut r).map(|e| e.unwrap()).collect();
        assert_eq!(entries, sample::blacklist_entries());
        let (meta, n) = r.finish().unwrap();
        assert_eq!((meta.sender.as_str(), n), ("QDT01", 2));
    }
}

mod round_trip {
    use super::*;

    #[test]
    fn every_format_reads_back_what_it_wrote_field_for_field() {
        for format in Format::TRANSACTIONS {
            let recs = sample::records_for(format, tables());
            let bytes = write(format, &recs);
            let mut stream = adapters::open(format, &bytes[..], ReadOptions::new("rt")).unwrap();
            assert_eq!(
                stream.meta(),
                &sample::sample_meta(format).clone_for(format)
            );
            let read: Vec<_> = (&mut stream)
                .map(|r| without_provenance(r.unwrap()))
                .collect();
            let summary = stream.finish().unwrap();
            assert_eq!(read, recs, "{format}");
            assert_eq!(summary.records, recs.len() as u64);
            assert_eq!(
                summary.total_fen,
                recs.iter().map(|t| t.amount_fen).sum::<i64>()
            );
        }
    }

    /// The metadata a format reads back: MOHURD keeps the direction, the others drop it.
    trait CloneFor {
        fn clone_for(&self, format: Format) -> adapters::FileMeta;
    }
    impl CloneFor for adapters::FileMeta {
        fn clone_for(&self, format: Format) -> adapters::FileMeta {
            let mut m = self.clone();
            if format != Format::Mohurd {
                m.direction = None;
            }
            m
        }
    }

    #[test]
    fn a_mohurd_download_package_keeps_its_direction() {
        let mut meta = sample::sample_meta(Format::Mohurd);
        meta.direction = Some(adapters::Direction::Download);
        let recs = sample::records_for(Format::Mohurd, tables());
        let bytes = adapters::write_all(Format::Mohurd, &meta, tables(), &recs).unwrap();
        assert!(bytes.starts_with(b"HMOHURD01DN"));
        let stream = adapters::open(Format::Mohurd, &bytes[..], ReadOptions::new("dn")).unwrap();
        assert_eq!(stream.meta().direction, Some(adapters::Direction::Download));
    }

    #[test]
    fn an_empty_file_round_trips() {
        for format in Format::TRANSACTIONS {
            let bytes = write(format, &[]);
            let (items, summary) = read_all(format, &bytes, "empty");
            assert!(items.is_empty());
            assert_eq!(summary.unwrap().records, 0, "{format}");
        }
    }
}

mod translation {
    use super::*;

    /// The same card transaction, accepted in every format and delivered in every other, comes
    /// back field for field; where a format cannot carry it, the refusal names a field that the
    /// format's doc lists under "Cannot carry".
    #[test]
    fn every_acquirer_format_to_every_issuer_format_and_back() {
        let mut carried = 0;
        let mut refused = Vec::new();
        for tx in sample::records(tables()) {
            for from in Format::TRANSACTIONS {
                if let Err(e) = sample::can_carry(from, &tx, tables()) {
                    refused.push((from, e));
                    continue;
                }
                let accepted = read_ok(from, &write(from, std::slice::from_ref(&tx)));
                let canonical = without_provenance(accepted[0].clone());
                assert_eq!(canonical, tx, "{from}");
                for to in Format::TRANSACTIONS {
                    match sample::can_carry(to, &canonical, tables()) {
                        Ok(()) => {
                            let out = write(to, std::slice::from_ref(&canonical));
                            let back = without_provenance(read_ok(to, &out).remove(0));
                            assert_eq!(back, tx, "{from} -> {to}");
                            // And back again into the acquirer's format, byte for byte.
                            assert_eq!(
                                write(from, &[back]),
                                write(from, std::slice::from_ref(&tx))
                            );
                            carried += 1;
                        }
                        Err(e) => refused.push((to, e)),
                    }
                }
            }
        }
        assert!(carried > 100, "{carried} translations");
        for (format, e) in &refused {
            let Error::CannotCarry { field, .. } = e else {
                panic!("{format}: expected CannotCarry, got {e}");
            };
            let section = cannot_carry_section(*format);
            assert!(
                section.contains(&format!("`{field}`")),
                "docs/formats/{format}.md does not list `{field}` under Cannot carry ({e})"
            );
        }
        // What the table of formats promises: M1 only in hutong-xml and local-csv, the auth code
        // not in mot, e-cash not in mohurd or mot.
        let recs = sample::records(tables());
        let m1 = &recs[2];
        let composite = &recs[3];
        let ecash = &recs[6];
        for (tx, format, field) in [
            (m1, Format::Mohurd, "medium"),
            (m1, Format::Mot, "medium"),
            (m1, Format::Pboc, "medium"),
            (composite, Format::Mot, "auth_code"),
            (ecash, Format::Mohurd, "tac"),
            (ecash, Format::Mot, "auth_code"),
        ] {
            match sample::can_carry(format, tx, tables()) {
                Err(Error::CannotCarry { field: f, .. }) => assert_eq!(f, field, "{format}"),
                other => panic!("{format} should refuse: {other:?}"),
            }
        }
    }

    #[test]
    fn city_card_type_and_industry_codes_are_translated_through_the_code_tables() {
        let recs = sample::records(tables());
        let local_bus = std::slice::from_ref(&recs[0]); // local card 2660, adult, bus
        let mot = String::from_utf8(write(Format::Mot, local_bus)).unwrap();
        let d = mot.lines().nth(1).unwrap();
        // city 2660 (MOHURD code of Qingdao) becomes 4520 (the T-Union code real Qingdao cards
        // carry; this expected 3702, a GB/T 2260 prefix, until issue 17); adult 00 → 01;
        // bus → T-Union industry 02.
        assert_eq!(&d[6..10], "4520");
        assert_eq!(&d[29..31], "01");
        let pboc = String::from_utf8(write(Format::Pboc, local_bus)).unwrap();
        assert!(
            pboc.lines().nth(1).unwrap().contains("4131"),
            "bus is MCC 4131"
        );
        // And back: the canonical record keeps the card's own codes.
        let back = read_ok(Format::Mot, mot.as_bytes()).remove(0);
        assert_eq!(back.issuer.city_code.to_string(), "2660");
        assert_eq!(back.card_type_raw, "00");
    }

    #[test]
    fn an_unmapped_code_is_an_error_naming_the_code_and_the_table() {
        let mut tx = sample::records(tables()).remove(4);
        tx.acceptance.industry = card_standards::Industry::SuburbanRail;
        let e = sample::can_carry(Format::Pboc, &tx, tables()).unwrap_err();
        assert!(
            e.to_string()
                .contains("\"suburban_rail\" is not in the industries.pboc table"),
            "{e}"
        );

        // Reading: a T-Union file whose city code is in no table.
        let bytes = write(Format::Mot, &sample::records_for(Format::Mot, tables()));
        let text = String::from_utf8(bytes)
            .unwrap()
            .replacen("D126604520", "D126609999", 1);
        let (items, _) = read_all(Format::Mot, text.as_bytes(), "mot.txt");
        let e = items[0].as_ref().unwrap_err();
        assert_eq!(e.reason_code(), Some(ReasonCode::R07));
        assert_eq!(e.field(), Some("city code"));
        assert!(
            e.to_string()
                .contains("\"9999\" is not in the cities.mot_code table"),
            "{e}"
        );
    }
}

mod errors {
    use super::*;

    fn sample_bytes(format: Format) -> Vec<u8> {
        write(format, &sample::records_for(format, tables()))
    }

    /// Replaces the `n`-th occurrence of `from` in the file.
    fn patch(bytes: &[u8], from: &str, to: &str, n: usize) -> Vec<u8> {
        let s = String::from_utf8(bytes.to_vec()).unwrap();
        let (i, _) = s
            .match_indices(from)
            .nth(n)
            .unwrap_or_else(|| panic!("{from:?} #{n} not in file"));
        format!("{}{}{}", &s[..i], to, &s[i + from.len()..]).into_bytes()
    }

    fn header_error(format: Format, bytes: &[u8]) -> Error {
        match adapters::open(format, bytes, ReadOptions::new("broken")) {
            Err(e) => e,
            Ok(mut s) => {
                let mut last = None;
                for item in &mut s {
                    if let Err(e) = item {
                        last = Some(e);
                    }
                }
                s.finish().err().or(last).expect("an error")
            }
        }
    }

    #[test]
    fn rejects_file_whose_header_is_broken_with_f01_naming_line_and_field() {
        let cases: [(Format, &str, &str, &str); 5] = [
            (Format::HutongXml, "seq=\"42\"", "seq=\"x42\"", "seq"),
            (Format::LocalCsv, ",42,", ",4x2,", "seq"),
            (Format::Mohurd, "HMOHURD01UP", "HMOHURD01XX", "direction"),
            (Format::Mot, "20261121231000", "20261321231000", "created"),
            (Format::Pboc, "HPBOCBT01", "HPBOCBT07", "version"),
        ];
        for (format, from, to, field) in cases {
            let bytes = patch(&sample_bytes(format), from, to, 0);
            let e = header_error(format, &bytes);
            assert_eq!(e.reason_code(), Some(ReasonCode::F01), "{format}: {e}");
            assert_eq!(e.field(), Some(field), "{format}: {e}");
            let at = e.location().unwrap();
            assert_eq!(at.file, "broken");
            assert!(at.line.is_some(), "{format}: {e}");
            assert!(e.to_string().starts_with("broken"), "{e}");
        }
    }

    #[test]
    fn rejects_file_whose_trailer_count_or_total_disagrees_with_f02() {
        for format in Format::TRANSACTIONS {
            let good = sample_bytes(format);
            let n = sample::records_for(format, tables()).len();
            let total: i64 = sample::records_for(format, tables())
                .iter()
                .map(|t| t.amount_fen)
                .sum();
            let (count_from, count_to, total_from, total_to) = match format {
                Format::HutongXml => (
                    format!("count=\"{n}\""),
                    format!("count=\"{}\"", n + 1),
                    format!("totalAmount=\"{total}\""),
                    format!("totalAmount=\"{}\"", total - 1),
                ),
                Format::LocalCsv => (
                    format!("T,{n},"),
                    format!("T,{},", n + 1),
                    format!(",{total}\n"),
                    format!(",{}\n", total - 1),
                ),
                _ => (
                    format!("T{n:010}"),
                    format!("T{:010}", n + 1),
                    format!("{total:016}\n"),
                    format!("{:016}\n", total - 1),
                ),
            };
            for (from, to, field) in [
                (&count_from, &count_to, ["count", "record count"]),
                (&total_from, &total_to, ["totalAmount", "total amount"]),
            ] {
                let bytes = patch(&good, from, to, 0);
                let (items, summary) = read_all(format, &bytes, "f02");
                assert!(
                    items.iter().all(Result::is_ok),
                    "records themselves are fine"
                );
                let e = summary.unwrap_err();
                assert_eq!(e.reason_code(), Some(ReasonCode::F02), "{format}: {e}");
                let f = e.field().unwrap();
                assert!(field.contains(&f) || f == "total", "{format}: {f}");
                assert!(matches!(e, Error::TrailerMismatch { .. }));
            }
        }
    }

    #[test]
    fn a_malformed_field_rejects_only_its_record_with_r07_naming_file_record_and_field() {
        let cases: [(Format, &str, &str, &str); 5] = [
            (
                Format::HutongXml,
                "terminal=\"000001000077\"",
                "terminal=\"00000100007Z\"",
                "terminal",
            ),
            (
                Format::LocalCsv,
                ",000001000077,",
                ",00000100007Z,",
                "terminal",
            ),
            (Format::Mohurd, "000001000077", "00000100007Z", "terminal"),
            (Format::Mot, "000001000077", "00000100007Z", "terminal"),
            (Format::Pboc, "000001000077", "00000100007Z", "terminal"),
        ];
        for (format, from, to, field) in cases {
            let bytes = patch(&sample_bytes(format), from, to, 0);
            let (items, summary) = read_all(format, &bytes, "r07.dat");
            let n = sample::records_for(format, tables()).len();
            assert_eq!(
                items.len(),
                n,
                "{format}: a bad record does not end the file"
            );
            let bad: Vec<_> = items.iter().filter_map(|r| r.as_ref().err()).collect();
            assert_eq!(bad.len(), 1, "{format}");
            let e = bad[0];
            assert_eq!(e.reason_code(), Some(ReasonCode::R07), "{format}: {e}");
            assert!(!e.is_file_level());
            assert_eq!(e.field(), Some(field));
            assert_eq!(e.record(), Some(2), "{format}: the load is record 2");
            assert_eq!(e.location().unwrap().file, "r07.dat");
            assert!(items[2].is_ok(), "{format}: the next record reads");
            summary.unwrap(); // the envelope is fine: count and total still agree
        }
    }

    #[test]
    fn an_amount_out_of_range_is_r05() {
        let bytes = patch(
            &sample_bytes(Format::HutongXml),
            "amount=\"200\"",
            "amount=\"-200\"",
            0,
        );
        let (items, _) = read_all(Format::HutongXml, &bytes, "r05.xml");
        let e = items[0].as_ref().unwrap_err();
        assert_eq!(e.reason_code(), Some(ReasonCode::R05), "{e}");
        assert_eq!(e.field(), Some("amount"));
        let bytes = patch(
            &sample_bytes(Format::LocalCsv),
            ",200,1000,17,",
            ",4294967296,1000,17,",
            0,
        );
        let (items, _) = read_all(Format::LocalCsv, &bytes, "r05.csv");
        assert_eq!(
            items[0].as_ref().unwrap_err().reason_code(),
            Some(ReasonCode::R05)
        );
        let bytes = patch(
            &sample_bytes(Format::Mohurd),
            "000000100000017",
            "000000100099999",
            0,
        );
        let (items, _) = read_all(Format::Mohurd, &bytes, "r05.txt");
        let e = items[0].as_ref().unwrap_err();
        assert_eq!(
            (e.reason_code(), e.field()),
            (Some(ReasonCode::R05), Some("card seq")),
            "{e}"
        );
    }

    #[test]
    fn a_truncated_file_is_f01_and_ends_the_stream() {
        for format in Format::TRANSACTIONS {
            let good = sample_bytes(format);
            let cut = &good[..good.len() * 2 / 3];
            let (items, summary) = read_all(format, cut, "cut");
            let last = items.last().unwrap().as_ref().unwrap_err();
            assert!(last.is_file_level(), "{format}: {last}");
            assert_eq!(last.reason_code(), Some(ReasonCode::F01));
            assert_eq!(summary.unwrap_err(), last.clone());
        }
    }

    #[test]
    fn data_after_the_trailer_and_a_second_header_are_f01() {
        let mut bytes = sample_bytes(Format::Mohurd);
        let line = String::from_utf8(bytes.clone())
            .unwrap()
            .lines()
            .nth(1)
            .unwrap()
            .to_string();
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        let e = read_all(Format::Mohurd, &bytes, "x").1.unwrap_err();
        assert_eq!(
            (e.reason_code(), e.field()),
            (Some(ReasonCode::F01), Some("trailer")),
            "{e}"
        );

        let xml = patch(
            &sample_bytes(Format::HutongXml),
            "</TxFile>",
            "<Tx/></TxFile>",
            0,
        );
        let e = read_all(Format::HutongXml, &xml, "x").1.unwrap_err();
        assert_eq!(e.reason_code(), Some(ReasonCode::F01), "{e}");

        let csv = patch(
            &sample_bytes(Format::LocalCsv),
            "T,",
            "H,local-csv,1,A,,1,2026-11-21T00:00:00\nT,",
            0,
        );
        let e = read_all(Format::LocalCsv, &csv, "x").1.unwrap_err();
        assert_eq!(
            (e.reason_code(), e.field()),
            (Some(ReasonCode::F01), Some("header")),
            "{e}"
        );
    }

    #[test]
    fn xml_that_is_not_well_formed_or_in_the_wrong_namespace_is_f01() {
        let good = sample_bytes(Format::HutongXml);
        for (from, to) in [
            ("<Tx ", "<Tx scheme=\"a\" "),        // duplicate attribute
            ("/>\n  <Trailer", ">\n  <Trailer"),  // unclosed element
            ("urn:hutong:txfile:1", "urn:other"), // wrong namespace
            ("<Trailer", "<Footer"),              // unknown element
        ] {
            let bytes = patch(&good, from, to, 0);
            let e = header_error(Format::HutongXml, &bytes);
            assert_eq!(e.reason_code(), Some(ReasonCode::F01), "{from}: {e}");
        }
        // A prefixed namespace is the same document.
        let prefixed = String::from_utf8(good.clone())
            .unwrap()
            .replace("<TxFile xmlns=", "<h:TxFile xmlns:h=")
            .replace("</TxFile>", "</h:TxFile>")
            .replace("<Tx ", "<h:Tx ")
            .replace("<Trailer", "<h:Trailer");
        assert_eq!(
            read_ok(Format::HutongXml, prefixed.as_bytes()),
            read_ok(Format::HutongXml, &good)
        );
    }

    #[test]
    fn a_record_of_the_wrong_length_or_type_is_r07_and_reading_goes_on() {
        let good = String::from_utf8(sample_bytes(Format::Pboc)).unwrap();
        let mut lines: Vec<String> = good.lines().map(str::to_string).collect();
        lines[1].pop(); // one byte short
        lines[2].replace_range(0..1, "X");
        let bytes = (lines.join("\n") + "\n").into_bytes();
        let (items, summary) = read_all(Format::Pboc, &bytes, "p");
        let e0 = items[0].as_ref().unwrap_err();
        assert_eq!(
            (e0.reason_code(), e0.field(), e0.record()),
            (Some(ReasonCode::R07), Some("record length"), Some(1))
        );
        let e1 = items[1].as_ref().unwrap_err();
        assert_eq!((e1.field(), e1.record()), (Some("record type"), Some(2)));
        assert!(items[2..].iter().all(Result::is_ok));
        // The two unreadable amounts are missing from the total: F02.
        assert_eq!(summary.unwrap_err().reason_code(), Some(ReasonCode::F02));
    }

    /// Found by fuzzing (detect_and_read): a control character in a fixed-width text field was
    /// read, and then the writer could not write it back.
    #[test]
    fn fixed_width_fields_refuse_control_characters() {
        let good = sample_bytes(Format::Mohurd);
        let e = header_error(
            Format::Mohurd,
            &patch(&good, "QDT01       MOHURD", "QDT0\u{0}       MOHURD", 0),
        );
        assert_eq!(
            (e.reason_code(), e.field()),
            (Some(ReasonCode::F01), Some("sender")),
            "{e}"
        );
        let (items, _) = read_all(
            Format::Mohurd,
            &patch(&good, "QDBUS", "QD\u{7}US", 0),
            "ctl",
        );
        let e = items[0].as_ref().unwrap_err();
        assert_eq!(
            (e.reason_code(), e.field()),
            (Some(ReasonCode::R07), Some("operator")),
            "{e}"
        );
    }

    /// Found by fuzzing (detect_and_read): chrono reads "-026" as a year; such a date-time read
    /// could not be written back.
    #[test]
    fn date_times_must_have_digits_exactly_where_the_pattern_has_them() {
        let good = sample_bytes(Format::LocalCsv);
        let e = header_error(
            Format::LocalCsv,
            &patch(&good, ",2026-11-21T23:10:00", ",-026-11-21T23:10:00", 0),
        );
        assert_eq!(
            (e.reason_code(), e.field()),
            (Some(ReasonCode::F01), Some("created")),
            "{e}"
        );
        let (items, _) = read_all(
            Format::LocalCsv,
            &patch(&good, "2026-11-21T08:15:02", "+026-11-21T08:15:02", 0),
            "t",
        );
        assert_eq!(items[0].as_ref().unwrap_err().field(), Some("tx_time"));
    }

    #[test]
    fn an_m1_record_with_a_tac_and_a_cpu_record_without_are_r07() {
        let csv = sample_bytes(Format::LocalCsv);
        let bad = patch(
            &csv,
            ",m1,06,100,2350,311,000001000050,124,2026-11-21T08:20:41,00,00,,",
            ",m1,06,100,2350,311,000001000050,124,2026-11-21T08:20:41,00,00,12345678,",
            0,
        );
        let (items, _) = read_all(Format::LocalCsv, &bad, "m1.csv");
        let e = items[2].as_ref().unwrap_err();
        assert_eq!((e.field(), e.record()), (Some("tac"), Some(3)), "{e}");
        let bad = patch(&csv, ",025E8AF9,", ",,", 0);
        let (items, _) = read_all(Format::LocalCsv, &bad, "cpu.csv");
        assert_eq!(items[0].as_ref().unwrap_err().field(), Some("tac"));
    }

    #[test]
    fn detect_refuses_what_it_does_not_know_with_f01() {
        for junk in [
            &b""[..],
            b"hello",
            b"<html></html>",
            b"H,other-csv,1",
            b"HXXXXXX01",
        ] {
            let e = adapters::detect(junk).unwrap_err();
            assert_eq!(e.reason_code(), Some(ReasonCode::F01));
        }
        assert_eq!(
            adapters::detect(b"\xEF\xBB\xBF  <?xml version=\"1.0\"?><TxFile>").unwrap(),
            Format::HutongXml
        );
        let e = adapters::open(Format::HutongBlacklist, &b""[..], ReadOptions::new("b"))
            .err()
            .unwrap();
        assert_eq!(e.reason_code(), Some(ReasonCode::F01));
    }

    #[test]
    fn blacklist_errors_name_entry_and_attribute() {
        let mut w = adapters::hutong_xml::blacklist::writer(
            Vec::new(),
            &sample::sample_meta(Format::HutongBlacklist),
        )
        .unwrap();
        for e in sample::blacklist_entries() {
            w.write(&e).unwrap();
        }
        let good = w.finish().unwrap().0;
        let bad = patch(&good, "action=\"remove\"", "action=\"drop\"", 0);
        let mut r =
            adapters::hutong_xml::blacklist::reader(&bad[..], ReadOptions::new("bl")).unwrap();
        let items: Vec<_> = (&mut r).collect();
        let e = items[1].as_ref().unwrap_err();
        assert_eq!(
            (e.field(), e.record(), e.reason_code()),
            (Some("action"), Some(2), Some(ReasonCode::R07))
        );
        r.finish().unwrap();
        let bad = patch(&good, "count=\"2\"", "count=\"3\"", 0);
        let mut r =
            adapters::hutong_xml::blacklist::reader(&bad[..], ReadOptions::new("bl")).unwrap();
        assert_eq!(r.finish().unwrap_err().reason_code(), Some(ReasonCode::F02));
    }

    #[test]
    fn a_writer_refuses_a_record_whole_and_stays_usable() {
        let recs = sample::records(tables());
        let mut out = Vec::new();
        let meta = sample::sample_meta(Format::Mot);
        let mut w = adapters::mot::writer(&mut out, &meta, tables()).unwrap();
        assert!(w.write(&recs[2]).is_err()); // M1
        w.write(&recs[4]).unwrap();
        let (_, summary) = w.finish().unwrap();
        assert_eq!(summary.records, 1);
        assert_eq!(read_ok(Format::Mot, &out).len(), 1);
    }
}

mod xsd {
    use super::*;
    use std::process::Command;

    fn xmllint(schema: &str, file: &std::path::Path) {
        let dir = env!("CARGO_MANIFEST_DIR");
        let out = Command::new("xmllint")
            .args(["--noout", "--schema", &format!("{dir}/schemas/{schema}")])
            .arg(file)
            .output()
            .expect("xmllint runs (Debian package libxml2-utils; .ci/run installs it)");
        assert!(
            out.status.success(),
            "{} does not validate against {schema}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn samples_and_writer_output_validate_against_the_xsds() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        xmllint("txfile.xsd", &dir.join("hutong-tx.xml"));
        xmllint("txfile.xsd", &dir.join("issue5-example.xml"));
        xmllint("blacklist.xsd", &dir.join("hutong-blacklist.xml"));

        // Writer output with escapes and every optional attribute.
        let mut recs = sample::records(tables());
        recs[0].acceptance.operator = Some("Bus & Co \"<1>\"\tline".into());
        let bytes = write(Format::HutongXml, &recs);
        let tmp = std::env::temp_dir().join(format!("hutong-xsd-{}.xml", std::process::id()));
        std::fs::write(&tmp, &bytes).unwrap();
        xmllint("txfile.xsd", &tmp);
        std::fs::remove_file(&tmp).unwrap();
        assert_eq!(
            read_ok(Format::HutongXml, &bytes)[0].acceptance.operator,
            recs[0].acceptance.operator
        );
    }
}

mod docs {
    use super::*;
    use adapters::fixed::Layout;

    #[test]
    fn format_docs_show_the_layout_tables_of_the_code() {
        for (format, layout) in [
            (Format::Mohurd, &adapters::mohurd::LAYOUT),
            (Format::Mot, &adapters::mot::LAYOUT),
            (Format::Pboc, &adapters::pboc::LAYOUT),
        ] {
            let d = doc(format);
            for table in [layout.header, layout.detail, layout.trailer] {
                assert!(
                    d.contains(&Layout::markdown(table)),
                    "docs/formats/{format}.md is out of date:\n{}",
                    Layout::markdown(table)
                );
            }
        }
        assert!(doc(Format::HutongXml).contains(&adapters::hutong_xml::markdown()));
        assert!(doc(Format::LocalCsv).contains(&adapters::local_csv::markdown()));
    }
}

mod properties {
    use super::*;
    use card_standards::{Acceptance, CardMedium, CardType, Industry, IssuerId, Scheme, TxType};
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of("[A-Za-z0-9][A-Za-z0-9 .-]{0,6}[A-Za-z0-9]")
    }

    prop_compose! {
        fn canonical()(
            scheme in prop::sample::select(Scheme::ALL.to_vec()),
            city in 0..tables().cities().len(),
            issuer in any::<[u8; 2]>(),
            decimal in any::<bool>(),
            serial_bytes in any::<[u8; 10]>(),
            serial_digits in "0[0-9]{19}",
            card_type in prop::sample::select(CardType::ALL.to_vec()),
            m1 in prop::bool::weighted(0.2),
            ecash in prop::bool::weighted(0.2),
            tx_type in prop::sample::select(vec![0x01u8, 0x02, 0x05, 0x06, 0x09]),
            amount in 0..=i64::from(u32::MAX),
            balance in 0..=i64::from(u32::MAX),
            card_seq in any::<u16>(),
            terminal in any::<[u8; 6]>(),
            terminal_seq in any::<u32>(),
            secs in 946_684_800i64..4_102_444_800,
            key_version in any::<u8>(),
            alg_id in any::<u8>(),
            tac in any::<[u8; 4]>(),
            auth in proptest::option::of(any::<[u8; 9]>()),
            industry in prop::sample::select(Industry::ALL.to_vec()),
            acquirer in "[A-Z0-9]{1,12}",
            operator in text(), line in text(), station in text(), vehicle in text(),
        ) -> CanonicalTx {
            let c = &tables().cities()[city];
            let serial = if decimal { serial_digits.parse().unwrap() } else { card_standards::CardSerial(serial_bytes) };
            let ecash = ecash && !m1 && scheme == Scheme::Pboc;
            CanonicalTx {
                scheme,
                issuer: IssuerId { issuer_code: card_standards::IssuerCode(issuer), city_code: c.card_code(scheme).parse().unwrap() },
                card_serial: serial,
                card_type,
                card_type_raw: tables().card_type_code(scheme, card_type).unwrap().to_string(),
                medium: if m1 { CardMedium::MifareClassic } else { CardMedium::Cpu },
                tx_type: TxType(tx_type),
                amount_fen: amount,
                balance_before_fen: balance,
                card_seq,
                terminal: card_standards::TerminalId(terminal),
                terminal_seq,
                tx_time: chrono::DateTime::from_timestamp(secs, 0).unwrap().naive_utc(),
                key_version,
                alg_id,
                tac: (!m1 && !ecash).then_some(card_standards::Mac4(tac)),
                auth_code: if m1 { None } else if ecash { Some(card_standards::AuthCode(auth.unwrap_or([0x40; 9]))) } else { auth.map(card_standards::AuthCode) },
                acceptance: Acceptance { acquirer, operator, industry, line, station, vehicle },
                provenance: None,
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Every format either carries a record field for field or refuses it by name.
        #[test]
        fn every_format_carries_a_record_exactly_or_refuses_it(tx in canonical()) {
            for format in Format::TRANSACTIONS {
                match sample::can_carry(format, &tx, tables()) {
                    Ok(()) => {
                        let bytes = write(format, std::slice::from_ref(&tx));
                        let back = read_ok(format, &bytes);
                        prop_assert_eq!(without_provenance(back[0].clone()), tx.clone(), "{}", format);
                    }
                    Err(Error::CannotCarry { .. }) => {}
                    Err(e) => prop_assert!(false, "{}: {}", format, e),
                }
            }
            // hutong-xml and local-csv carry every consistent record.
            prop_assert!(sample::can_carry(Format::HutongXml, &tx, tables()).is_ok());
        }

        /// Arbitrary bytes never make a reader panic, and every error has a reason code.
        #[test]
        fn readers_survive_arbitrary_input(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
            for format in Format::TRANSACTIONS {
                check_no_panic(format, &bytes);
            }
        }

        /// Nor do valid files with a few bytes changed.
        #[test]
        fn readers_survive_mutated_files(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
            for format in Format::TRANSACTIONS {
                let mut bytes = write(format, &sample::records_for(format, tables()));
                for (i, b) in &edits {
                    let at = i.index(bytes.len());
                    bytes[at] = *b;
                }
                check_no_panic(format, &bytes);
            }
        }
    }

    fn check_no_panic(format: Format, bytes: &[u8]) {
        let _ = adapters::detect(bytes);
        if let Ok(mut s) = adapters::open(format, bytes, ReadOptions::new("fuzz")) {
            for item in &mut s {
                if let Err(e) = item {
                    assert!(e.reason_code().is_some(), "{e}");
                    assert!(e.location().is_some(), "{e}");
                }
            }
            if let Err(e) = s.finish() {
                assert!(e.is_file_level(), "{e}");
            }
        }
    }
}
