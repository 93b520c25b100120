//! Any bytes as each card file: decoding must never panic, and whatever decodes must encode back
//! to the same bytes.
#![no_main]

use card_standards::files::{
    CappRecord, CardFile, Cardholder, MohurdAppInfo, MotAppInfo, MotManagementInfo, ProcessRecord,
    TransitRecord, TxRecord,
};
use libfuzzer_sys::fuzz_target;

fn check<F: CardFile + PartialEq + std::fmt::Debug>(data: &[u8]) {
    if let Ok(f) = F::decode(data) {
        assert_eq!(F::decode(&f.encode()).unwrap(), f);
    }
}

fuzz_target!(|data: &[u8]| {
    check::<MohurdAppInfo>(data);
    check::<MotAppInfo>(data);
    check::<Cardholder>(data);
    check::<MotManagementInfo>(data);
    check::<CappRecord>(data);
    check::<TxRecord>(data);
    check::<TransitRecord>(data);
    check::<ProcessRecord>(data);
});
