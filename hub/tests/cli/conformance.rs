use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use card_standards::crypto::{self, Algorithm, Key16, PurchaseData};
use card_standards::{CardSerial, IssuerTacKey, Mac4, TerminalId, TxType};

use super::hutong;

const MPK: &str = "11223344556677888877665544332211";
const MLK: &str = "22334455667788999988776655443322";
const MTK: &str = "33445566778899AAAA99887766554433";
const SERIAL: &str = "00004100000000000042";

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn list_prints_every_case_with_its_reference_and_the_counts() {
    let out = hutong(&["conformance", "list"]);
    assert!(out.status.success());
    let text = stdout(&out);
    for id in ["LOCAL-01", "MOHURD-42", "MOT-46", "PBOC-41"] {
        assert!(text.contains(id), "{id} missing");
    }
    assert!(text.contains("STANDARDS.md"));
    let last = text.lines().last().unwrap();
    assert!(
        last.ends_with("(local 34, mohurd 35, mot 36, pboc 33)"),
        "{last}"
    );
    let only = stdout(&hutong(&["conformance", "list", "--scheme", "mot"]));
    assert!(!only.contains("MOHURD-") && only.contains("MOT-01"));
}

#[test]
fn run_passes_every_case_and_writes_junit_and_html() {
    let dir = std::env::temp_dir().join(format!("hutong-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junit = dir.join("junit.xml");
    let html = dir.join("report.html");
    let out = hutong(&[
        "conformance",
        "run",
        "--junit",
        junit.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
        "--at",
        "20261122081500",
    ]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.lines()
            .last()
            .unwrap()
            .ends_with("138 passed, 0 failed, 0 skipped"),
        "{text}"
    );
    assert_eq!(text.lines().filter(|l| l.starts_with("PASS ")).count(), 138);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains(r#"<testsuites name="hutong conformance" tests="138" failures="0""#));
    assert!(xml.contains(r#"<testsuite name="conformance.mohurd" tests="35""#));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains(r#"<details id="MOT-26">"#));
    assert!(page.contains("GET TRANSACTION PROVE"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_with_an_unknown_scheme_or_an_unwritable_report_exits_2() {
    let out = hutong(&["conformance", "run", "--scheme", "tunion"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("local, mohurd, mot or pboc"));
    let out = hutong(&[
        "conformance",
        "run",
        "--scheme",
        "pboc",
        "--junit",
        "/nonexistent-dir/junit.xml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent-dir/junit.xml"));
}

#[test]
fn keys_without_a_reader_are_refused() {
    let out = hutong(&["conformance", "run", "--keys", "k.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--reader"));
}

#[cfg(not(feature = "pcsc"))]
#[test]
fn run_with_a_reader_needs_the_pcsc_feature() {
    let out = hutong(&["conformance", "run", "--reader", "ACS", "--keys", "k.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--features pcsc"));
}

fn shell(extra: &[&str]) -> std::process::Child {
    let mut args = vec![
        "conformance",
        "apdu",
        "--scheme",
        "mohurd",
        "--serial",
        SERIAL,
        "--balance",
        "10000",
        "--alg",
        "3des",
        "--mpk",
        MPK,
        "--mlk",
        MLK,
        "--mtk",
        MTK,
    ];
    args.extend_from_slice(extra);
    Command::new(env!("CARGO_BIN_EXE_hutong"))
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the hutong binary starts")
}

#[test]
fn apdu_shell_answers_each_line_and_survives_garbage() {
    let mut child = shell(&["--issuer", "0531", "--city", "2500"]);
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(
            b"00A4040009A0000000038698070100\n\
              805C000204\n\
              not hex at all\n\
              \n\
              # a comment\n\
              80\n\
              \xFF\xFE\n\
              00 b0 95 00 00\r\n\
              80EE000000\n",
        )
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 7, "{lines:?}");
    assert!(lines[0].starts_with("6F328409A00000000386980701") && lines[0].ends_with("9000"));
    assert_eq!(lines[1], "000027109000");
    assert_eq!(lines[2], "6700");
    assert_eq!(lines[3], "6700");
    assert_eq!(lines[4], "6700");
    assert!(
        lines[5].starts_with("05312500") && lines[5].ends_with("9000"),
        "{}",
        lines[5]
    );
    assert!(lines[5].contains(SERIAL));
    assert_eq!(lines[6], "6D00");
}

#[test]
fn apdu_shell_completes_a_purchase_whose_tac_verifies_with_the_master_key() {
    let mut child = shell(&[]);
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut ask = |apdu: &str| -> String {
        writeln!(stdin, "{apdu}").unwrap();
        stdin.flush().unwrap();
        lines.next().unwrap().unwrap()
    };
    assert!(ask("00A4040009A0000000038698070100").ends_with("9000"));
    let init = hex::decode(ask("805001020B0100000064000000000001")).unwrap();
    assert_eq!(&init[15..], &[0x90, 0x00]);
    let random: [u8; 4] = init[11..15].try_into().unwrap();
    let seq = u16::from_be_bytes([init[4], init[5]]);

    let serial: CardSerial = SERIAL.parse().unwrap();
    let mpk: Key16 = MPK.parse().unwrap();
    let dpk = crypto::diversify(Algorithm::TripleDes, &mpk, &serial.diversification_factor());
    let data = PurchaseData {
        amount: 100,
        tx_type: TxType::EP_PURCHASE,
        terminal: TerminalId([0, 0, 0, 0, 0, 1]),
        terminal_seq: 7,
        date_time: [0x20, 0x26, 0x11, 0x22, 0x08, 0x15, 0x00],
    };
    let key = crypto::purchase_session_key(Algorithm::TripleDes, &dpk, random, seq, 7);
    let mac1 = crypto::purchase_mac1(&key, &data, None);
    let debit = hex::decode(ask(&format!("805401000F0000000720261122081500{mac1}08"))).unwrap();
    assert_eq!(&debit[8..], &[0x90, 0x00]);
    let tac = Mac4(debit[..4].try_into().unwrap());
    assert_eq!(&debit[4..8], &crypto::purchase_mac2(&key, 100).0);
    let issuer = IssuerTacKey::new(Algorithm::TripleDes, &MTK.parse().unwrap());
    assert!(issuer.verify_purchase(&serial, &data, &tac));
    assert_eq!(ask("805C000204"), "000026AC9000");
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn apdu_shell_rejects_a_short_serial_with_exit_2() {
    let out = hutong(&[
        "conformance",
        "apdu",
        "--scheme",
        "mot",
        "--serial",
        "0001",
        "--balance",
        "0",
        "--alg",
        "sm4",
        "--mpk",
        MPK,
        "--mlk",
        MLK,
        "--mtk",
        MTK,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--serial"));
}

/// Real card bytes from nfcim/nfsee `tests/reader-mock.js` (commit
/// 8727a7e89f4c3b329de85d8ee2226f1092e161d4, MIT), as card-standards/tests/data/real_cards.toml
/// cites them: a real T-Union FCI, its 0015, and three 0018 records.
const REAL_TU_FCI: &str = "6F318408A000000632010105A5259F0801029F0C1E01011000FFFFFFFF020103105170070104791381201907182040123100009000";
const REAL_TU_0015: &str = "01011000FFFFFFFF020103105170070104791381201907182040123100 00";
const REAL_0018: [&str; 3] = [
    "0002000000000003E805000000000024201708301256379000",
    "0001000000000005DC05300040000570201708301223179000",
    "000100000000004E2001000000000020201708301219179000",
];

#[test]
fn apdu_shell_becomes_a_real_card_from_its_0015_and_replays_its_0018_records() {
    let file_0015 = REAL_TU_0015.replace(' ', "");
    let records: Vec<String> = REAL_0018.iter().map(|r| r[..46].to_string()).collect();
    let mut args = vec![
        "conformance",
        "apdu",
        "--scheme",
        "mot",
        "--balance",
        "5710",
        "--alg",
        "3des",
        "--mpk",
        MPK,
        "--mlk",
        MLK,
        "--mtk",
        MTK,
        "--0015",
        &file_0015,
    ];
    for r in &records {
        args.extend(["--0018", r.as_str()]);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_hutong"))
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(
            b"00A4040008A00000063201010500\n805C000204\n805C010204\n00B201C417\n00B202C417\n00B203C417\n00B204C417\n",
        )
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    assert_eq!(lines[0], REAL_TU_FCI, "the real FCI, 9F08 02 included");
    assert_eq!(lines[1], "0000164E9000");
    assert_eq!(lines[2], "000000009000", "P1 = 01, the second register");
    assert_eq!(&lines[3..6], &REAL_0018[..]);
    assert_eq!(lines[6], "6A83");

    // --0015 carries the serial: giving both is bad input, as is a 0015 of the wrong length.
    let mut both = args[..16].to_vec();
    both.extend(["--serial", SERIAL]);
    let out = hutong(&both);
    assert_eq!(out.status.code(), Some(2));
    let mut short = args[..14].to_vec();
    short.extend(["--0015", "0101"]);
    let out = hutong(&short);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("0015"));
}
