//! The decoder on public real-card bytes (quoted in STANDARDS.md with their sources) and on
//! files built with this crate's codecs. The simulated cards' files of every scheme are
//! round-tripped in `conformance/tests/suite/decode.rs`.

use serde_json::{Value, json};

use super::*;

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

fn json_of(d: &Decoded) -> Value {
    serde_json::to_value(d).unwrap()
}

/// The real Changsha card's FCI as its SELECT answered it, with the 9000 (ConardLKL/ChangSha
/// `doc/华大智宝/CSMetroScriptandLog_20151102` logs; STANDARDS.md §2 test vector 1).
const CHANGSHA_FCI: &str = "6F328409A00000000386980701A5259F0801019F0C1E\
                            073141000000000001010000410000008999998520150605203808080000 9000";

#[test]
fn the_real_changsha_fci_decodes_to_its_application_and_0015() {
    let d = decode(FileKind::Fci, None, &[hex(CHANGSHA_FCI)]).unwrap();
    let j = json_of(&d);
    assert_eq!(j["file"], "fci");
    assert_eq!(j["scheme"], "mohurd");
    assert_eq!(j["status_word"], "9000 (success)");
    assert_eq!(j["fci"]["aid"], "A00000000386980701");
    assert_eq!(j["fci"]["app_version"], "01");
    let a = &j["fci"]["app_info"];
    assert_eq!(a["layout"], "mohurd");
    assert_eq!(a["card_number"], "4100000089999985");
    assert_eq!(a["serial"], "00004100000089999985");
    assert_eq!(a["issuer_code"], "0731");
    assert_eq!(a["city"]["raw"], "4100");
    assert_eq!(a["start_date"], "2015-06-05");
    assert_eq!(a["expiry_date"], "2038-08-08");
    assert_eq!(a["byte8"], "01");
}

#[test]
fn the_real_changsha_load_record_decodes_with_money_in_fen_and_yuan() {
    // 0018-layout record from the same card's load detail file (t4_readTransRecord.txt), as
    // READ RECORD answered it, followed by an unwritten record.
    let rec = hex("000100000000001C3702000001000050201408251031009000");
    let empty = hex("00000000000000000000000000000000000000000000009000");
    let d = decode(FileKind::TxRecords, Some(Scheme::Mohurd), &[rec, empty]).unwrap();
    let j = json_of(&d);
    assert_eq!(j["status_word"], "9000 (success)");
    let recs = j["tx_records"].as_array().unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(
        recs[0],
        json!({
            "record": 1, "counter": 1,
            "overdraft_limit": {"fen": 0, "yuan": "0.00"},
            "amount": {"fen": 7223, "yuan": "72.23"},
            "tx_type": {"raw": "02", "name": "EP load"},
            "terminal": "000001000050",
            "date_time": "2014-08-25T10:31:00"
        })
    );
    assert_eq!(recs[1], json!({"record": 2, "empty": true}));
    // On a MOHURD card 001A holds load records in the same layout.
    let d = decode(
        FileKind::TransitRecords,
        Some(Scheme::Mohurd),
        &[hex("000100000000001C37020000010000502014082510310090 00")],
    )
    .unwrap();
    assert!(matches!(d.content, Content::TxRecords(_)));
}

#[test]
fn the_t_union_fci_sample_gives_the_19_digit_card_number() {
    // 9F0C of a T-Union card replayed by the domosekai HCE emulator (STANDARDS.md §4).
    let raw = hex("01011000FFFFFFFF0201031051700101709079842019080620401231 0000");
    let j = json_of(&decode(FileKind::AppInfo, Some(Scheme::Mot), &[raw]).unwrap());
    assert_eq!(j["app_info"]["layout"], "mot");
    assert_eq!(j["app_info"]["card_number"], "3105170010170907984");
    assert_eq!(j["app_info"]["issuer_suffix"], "FFFFFFFF");
    assert_eq!(j["app_info"]["city"]["raw"], "1000");
    assert!(j["app_info"].get("industry_code").is_none());
}

#[test]
fn unknown_codes_are_kept_raw_and_never_named() {
    let mut raw = hex("07314100000000000101000041000000899999852015060520380808 0000");
    raw[2] = 0x99; // city 9900: in no table
    let j = json_of(&decode(FileKind::AppInfo, Some(Scheme::Mohurd), &[raw]).unwrap());
    assert_eq!(j["app_info"]["city"], json!({"raw": "9900"}));
    let rec = hex("000100000000001C37EE000001000050201408251031 00");
    let j = json_of(&decode(FileKind::TxRecords, None, &[rec]).unwrap());
    assert_eq!(j["tx_records"][0]["tx_type"], json!({"raw": "EE"}));
}

#[test]
fn balance_and_cardholder_are_named_and_typed() {
    let j = json_of(&decode(FileKind::Balance, None, &[hex("000027109000")]).unwrap());
    assert_eq!(
        j["balance"],
        json!({"fen": 10000, "yuan": "100.00", "raw": "00002710"})
    );
    let mut holder = Cardholder::anonymous(0x02);
    holder.name[..6].copy_from_slice("张三".as_bytes());
    holder.id_number[..4].copy_from_slice(b"1234");
    let j = json_of(
        &decode(
            FileKind::Cardholder,
            Some(Scheme::Mohurd),
            &[holder.encode()],
        )
        .unwrap(),
    );
    assert_eq!(
        j["cardholder"]["card_type"],
        json!({"raw": "02", "name": "student"})
    );
    assert_eq!(j["cardholder"]["name"], "张三");
    assert_eq!(j["cardholder"]["id_number"], "1234");
    // Without the scheme the card type stays raw.
    let j = json_of(&decode(FileKind::Cardholder, None, &[holder.encode()]).unwrap());
    assert_eq!(j["cardholder"]["card_type"], json!({"raw": "02"}));
}

#[test]
fn bad_input_is_an_error_naming_the_file_never_a_panic() {
    let e = decode(FileKind::AppInfo, None, &[vec![0; 30]]).unwrap_err();
    assert!(e.to_string().contains("--scheme"), "{e}");
    let e = decode(FileKind::TxRecords, None, &[vec![1; 22]]).unwrap_err();
    assert!(e.to_string().contains("record"), "{e}");
    let e = decode(FileKind::Fci, None, &[hex("6F05840102")]).unwrap_err();
    assert!(e.to_string().contains("FCI"), "{e}");
    let e = decode(FileKind::Balance, None, &[vec![1, 2, 3]]).unwrap_err();
    assert!(e.to_string().contains("GET BALANCE"), "{e}");
    assert!("0019".parse::<FileKind>().is_err());
    for n in 0..140 {
        for kind in [
            FileKind::AppInfo,
            FileKind::Cardholder,
            FileKind::File0017,
            FileKind::TxRecords,
            FileKind::TransitRecords,
            FileKind::ProcessRecords,
            FileKind::Fci,
            FileKind::Balance,
        ] {
            let _ = decode(kind, Some(Scheme::Mot), &[vec![0x9F; n]]);
            let _ = decode(kind, None, &[vec![0x6F; n]]);
        }
    }
}

#[test]
fn trace_annotates_the_real_changsha_script_log() {
    // The first exchanges of t4_readTransRecord.txt: 61xx, GET RESPONSE, READ RECORD.
    let log = "reset ok,atr:3B9F95803FC6A08031E073FE211357C2051B86986019D1; time:125\n\
        send:00A4040009A00000000386980701\n\
        receive:6134 ;time:15\n\
        send:00C0000034\n\
        receive:6F328409A00000000386980701A5259F0801019F0C1E0731410000000000010100004100000089999985201506052038080800009000 ;time:0\n\
        send:00B201D417\n\
        receive:000100000000001C3702000001000050201408251031009000 ;time:16\n";
    let ex = trace::annotate(log);
    assert_eq!(ex.len(), 3);
    assert_eq!(ex[0].name, "SELECT (by name)");
    assert_eq!(ex[0].status_word.as_deref(), Some("6134"));
    assert_eq!(ex[1].name, "GET RESPONSE");
    let j = serde_json::to_value(&ex[1]).unwrap();
    assert_eq!(j["fields"]["response_of"], "SELECT (by name)");
    assert_eq!(
        j["decoded"]["fci"]["app_info"]["card_number"],
        "4100000089999985"
    );
    let j = serde_json::to_value(&ex[2]).unwrap();
    assert_eq!(j["fields"], json!({"record": "1", "sfi": "1A", "le": "23"}));
    assert_eq!(j["decoded"]["tx_records"][0]["amount"]["fen"], 7223);
    assert_eq!(j["meaning"], "success");
}

#[test]
fn trace_reads_hutong_and_catalogue_forms_and_names_purse_fields() {
    let log = "# power on\n\
        >> 00A4040009A0000000038698070100\n\
        << 6A82\n\
        > 80 5C 00 02 04  GET BALANCE\n\
        < 00 00 27 10  9000 (success)\n\
        APDU: 80 50 01 02 0B 01 00 00 00 C8 00 00 00 00 00 01\n\
        SW: 00 00 27 10 00 00 00 00 00 01 00 12 34 56 78 90 00\n\
        >> 805400000F\n\
        >> 0102\n\
        << 6D00\n";
    let ex = trace::annotate(log);
    assert_eq!(ex.len(), 5);
    assert_eq!(ex[0].meaning, Some("file or application not found"));
    assert!(ex[0].decoded.is_none());
    let j = serde_json::to_value(&ex[1]).unwrap();
    assert_eq!(j["fields"]["purse"], "EP");
    assert_eq!(j["decoded"]["balance"]["yuan"], "100.00");
    let j = serde_json::to_value(&ex[2]).unwrap();
    assert_eq!(j["name"], "INITIALIZE FOR PURCHASE");
    assert_eq!(j["fields"]["amount_fen"], "200");
    assert_eq!(j["decoded"]["balance"], "10000 fen (100.00 yuan)");
    assert_eq!(j["decoded"]["random"], "12345678");
    // A command without its response, then a malformed one.
    assert!(ex[3].response.is_none());
    assert_eq!(ex[4].name, "(not a command)");
    assert!(ex[4].parse_error.is_some());
    assert_eq!(ex[4].status_word.as_deref(), Some("6D00"));
}
