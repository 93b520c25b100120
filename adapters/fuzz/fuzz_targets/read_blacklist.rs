//! Fuzzes the blacklist reader: no input may panic it.
#![no_main]

use adapters::ReadOptions;
use adapters::hutong_xml::blacklist;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut r) = blacklist::reader(data, ReadOptions::new("fuzz")) {
        for item in &mut r {
            if let Err(e) = item {
                assert!(e.reason_code().is_some(), "{e}");
            }
        }
        let _ = r.finish();
    }
});
