//! `hutong card decode` and `hutong card trace`.

use serde_json::json;

use super::{hutong, json};

/// The real Changsha card's FCI with its 9000 (STANDARDS.md §2, ConardLKL/ChangSha logs).
const CHANGSHA_FCI: &str = "6F328409A00000000386980701A5259F0801019F0C1E\
                            0731410000000000010100004100000089999985201506052038080800009000";

#[test]
fn decode_prints_every_field_named_and_typed() {
    let j = json(&hutong(&["card", "decode", "--file", "fci", CHANGSHA_FCI]));
    assert_eq!(j["scheme"], "mohurd");
    assert_eq!(j["fci"]["app_info"]["card_number"], "4100000089999985");
    assert_eq!(j["fci"]["app_info"]["city"]["name"], "Changsha");
    let j = json(&hutong(&[
        "card",
        "decode",
        "--file",
        "0018",
        "--scheme",
        "mohurd",
        "0001 000000 00001C37 02 000001000050 20140825103100 9000",
        "0000000000000000000000000000000000000000000000",
    ]));
    assert_eq!(
        j["tx_records"][0]["amount"],
        json!({"fen": 7223, "yuan": "72.23"})
    );
    assert_eq!(j["tx_records"][1]["empty"], true);
    let j = json(&hutong(&[
        "card", "decode", "--file", "balance", "80002710",
    ]));
    assert_eq!(j["balance"]["raw"], "80002710");
}

#[test]
fn decode_refuses_bad_input_with_exit_code_2() {
    for args in [
        &["card", "decode", "--file", "0015", "00"][..],
        &[
            "card", "decode", "--file", "0015", "--scheme", "mot", "0102",
        ],
        &["card", "decode", "--file", "0018", "zz"],
        &["card", "decode", "--file", "0019", "00"],
    ] {
        let out = hutong(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn trace_annotates_a_log_as_text_and_json() {
    let dir = std::env::temp_dir().join(format!("hutong-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("apdu.log");
    std::fs::write(
        &log,
        "# power on\n>> 00A4040009A0000000038698070100\n<< 6A82\n\
         >> 805C000204\n<< 000027109000\n>> 80EE0000\n<< 6D00\n",
    )
    .unwrap();
    let out = hutong(&["card", "trace", log.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("SELECT (by name)"), "{text}");
    assert!(
        text.contains("<< 6A82 (file or application not found)"),
        "{text}"
    );
    assert!(text.contains("\"fen\":10000"), "{text}");
    assert!(text.contains("(not a command)"), "{text}");
    assert!(text.trim_end().ends_with("3 exchanges"), "{text}");
    let out = hutong(&["card", "trace", "--json", log.to_str().unwrap()]);
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j[1]["name"], "GET BALANCE");
    assert_eq!(j[1]["decoded"]["balance"]["yuan"], "100.00");
    assert_eq!(j[2]["status_word"], "6D00");
    let missing = hutong(&["card", "trace", dir.join("nope").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
    std::fs::remove_dir_all(dir).unwrap();
}
