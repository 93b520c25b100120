//! Any bytes as a command APDU: parsing must return a command or an error, never panic, and a
//! parsed command must re-encode to an APDU that parses to the same command.
#![no_main]

use card_standards::apdu::{Command, CommandApdu, ResponseApdu};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ResponseApdu::parse(data);
    if let Ok(apdu) = CommandApdu::parse(data) {
        if let Ok(cmd) = Command::parse(&apdu) {
            let again = Command::parse(&CommandApdu::parse(&cmd.to_apdu().to_bytes()).unwrap()).unwrap();
            assert_eq!(again, cmd);
        }
    }
});
