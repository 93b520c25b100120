//! Kind × family: every format knows its family, its kind and its extension, and one
//! detection routine names the format of any sample file from its first bytes.

use adapters::{FileKind, Format, ReasonCode, sample};
use card_standards::CodeTables;

fn tables() -> &'static CodeTables {
    CodeTables::builtin()
}

#[test]
fn every_format_is_one_family_in_one_kind_and_names_itself_back() {
    for family in Format::TRANSACTIONS {
        for (kind, list) in [
            (FileKind::Transactions, Format::TRANSACTIONS),
            (FileKind::Blacklist, Format::BLACKLISTS),
            (FileKind::Result, Format::RESULTS),
        ] {
            let format = family.of_kind(kind);
            assert!(list.contains(&format), "{family} {kind:?}");
            assert_eq!(format.kind(), kind);
            assert_eq!(format.family(), family);
            assert_eq!(format.as_str().parse::<Format>().unwrap(), format);
            assert_eq!(format.extension(), family.extension());
        }
    }
    assert_eq!(Format::ALL.len(), 15);
    assert_eq!(Format::Mot.blacklist(), Format::MotBlacklist);
    assert_eq!(Format::MotBlacklist.result(), Format::MotResult);
    assert!(Format::PbocBlacklist.is_blacklist() && !Format::PbocResult.is_blacklist());
}

#[test]
fn fixed_width_files_are_dat_csv_files_csv_and_xml_files_xml() {
    assert_eq!(Format::HutongXml.extension(), "xml");
    assert_eq!(Format::HutongResult.extension(), "xml");
    assert_eq!(Format::LocalCsvBlacklist.extension(), "csv");
    for f in [Format::Mohurd, Format::MotBlacklist, Format::PbocResult] {
        assert_eq!(f.extension(), "dat", "{f}");
    }
}

#[test]
fn identify_names_every_sample_file_with_its_kind_from_its_head() {
    for format in Format::TRANSACTIONS {
        let bytes = sample::sample_result(format, tables()).unwrap();
        let head = adapters::read_head(&bytes[..]).unwrap();
        assert!(head.len() <= adapters::HEAD);
        assert_eq!(adapters::identify(&head).unwrap(), format.result());
        assert!(
            adapters::detect(&head).is_err(),
            "{format}: detect refuses results"
        );
        assert_eq!(adapters::detect_result(&head), Some(format));
    }
    for (name, bytes) in sample::sample_files(tables()).unwrap() {
        let format = adapters::identify(&bytes).unwrap();
        match format.kind() {
            FileKind::Result => assert_eq!(adapters::detect_result(&bytes), Some(format.family())),
            _ => assert_eq!(adapters::detect(&bytes).unwrap(), format, "{name}"),
        }
    }
    let e = adapters::identify(b"R0000000001").unwrap_err();
    assert_eq!(e.reason_code(), Some(ReasonCode::F01));
}

#[test]
fn reason_codes_spell_and_parse_back_and_tell_file_from_record() {
    for code in ReasonCode::ALL {
        assert_eq!(code.as_str().parse::<ReasonCode>().unwrap(), code);
        assert_eq!(code.is_file_level(), code.as_str().starts_with('F'));
    }
    assert!("R08".parse::<ReasonCode>().is_err());
}
