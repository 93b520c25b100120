//! Fuzzes result-file detection and every family's result reader: no input may panic them;
//! every error names a reason code and a place, and `finish` reports only file-level errors.
#![no_main]

use adapters::Format;
use card_standards::CodeTables;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let detected = adapters::detect_result(data);
    for family in [
        Format::HutongXml,
        Format::LocalCsv,
        Format::Mohurd,
        Format::Mot,
        Format::Pboc,
    ] {
        if detected.is_some_and(|f| f != family) {
            continue;
        }
        if let Ok(mut stream) = adapters::open_result(family, data, CodeTables::builtin(), "fuzz") {
            for item in &mut stream {
                if let Err(e) = item {
                    assert!(e.reason_code().is_some() && e.location().is_some(), "{e}");
                }
            }
            if let Err(e) = stream.finish() {
                assert!(e.is_file_level(), "{e}");
            }
        }
    }
});
