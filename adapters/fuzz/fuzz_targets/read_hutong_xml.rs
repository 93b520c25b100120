//! Fuzzes the hutong_xml reader: no input may panic it; every error names a reason code and a place.
#![no_main]

use adapters::{Format, ReadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut stream) = adapters::open(Format::HutongXml, data, ReadOptions::new("fuzz")) {
        for item in &mut stream {
            if let Err(e) = item {
                assert!(e.reason_code().is_some() && e.location().is_some(), "{e}");
            }
        }
        if let Err(e) = stream.finish() {
            assert!(e.is_file_level(), "{e}");
        }
    }
});
