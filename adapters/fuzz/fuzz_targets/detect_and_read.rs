//! Fuzzes the detector, then the reader it picks, and writes back what was read: whatever a
//! reader accepts, the same format's writer must be able to write.
#![no_main]

use adapters::ReadOptions;
use card_standards::CodeTables;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(format) = adapters::detect(data) else {
        return;
    };
    if format.is_blacklist() {
        return;
    }
    let Ok(mut stream) = adapters::open(format, data, ReadOptions::new("fuzz")) else {
        return;
    };
    let meta = stream.meta().clone();
    let records: Vec<_> = (&mut stream).filter_map(Result::ok).take(64).collect();
    let written = adapters::write_all(format, &meta, CodeTables::builtin(), &records)
        .unwrap_or_else(|e| panic!("{format} read a record it cannot write: {e}"));
    let mut again = adapters::open(format, &written[..], ReadOptions::new("again")).unwrap();
    let back: Vec<_> = (&mut again).map(|r| r.unwrap()).collect();
    assert_eq!(back.len(), records.len());
    again.finish().unwrap();
});
