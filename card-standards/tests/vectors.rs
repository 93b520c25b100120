//! Every public purse vector of STANDARDS.md, read from `tests/data/vectors.toml`.

use card_standards::crypto::{self, Algorithm, Key16, LoadData, PurchaseData};
use card_standards::{AuthCode, TerminalId, TxType, bcd};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vectors {
    purchase: Vec<Purchase>,
    load: Vec<Load>,
    cmac: Vec<Cmac>,
    parity: Vec<ParityVector>,
}

#[derive(Deserialize)]
struct Cmac {
    name: String,
    key: String,
    data: String,
    tag: String,
}

#[derive(Deserialize)]
struct ParityVector {
    name: String,
    key: String,
    adjusted: String,
}

#[derive(Deserialize)]
struct Purchase {
    name: String,
    alg: String,
    dpk: String,
    dtk: Option<String>,
    random: String,
    card_seq: u16,
    terminal_seq: u32,
    amount: u32,
    #[serde(rename = "type")]
    tx_type: String,
    terminal: String,
    datetime: String,
    auth_code: Option<String>,
    session_key: String,
    mac1: String,
    mac2: Option<String>,
    tac: Option<String>,
}

#[derive(Deserialize)]
struct Load {
    name: String,
    alg: String,
    dlk: String,
    dtk: String,
    random: String,
    card_seq: u16,
    balance: u32,
    amount: u32,
    #[serde(rename = "type")]
    tx_type: String,
    terminal: String,
    datetime: String,
    session_key: String,
    mac1: String,
    mac2: String,
    tac: String,
    tac_key: String,
}

fn vectors() -> Vectors {
    toml::from_str(include_str!("data/vectors.toml")).expect("vectors.toml parses")
}

fn random4(s: &str) -> [u8; 4] {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn tx_type(s: &str) -> TxType {
    TxType(u8::from_str_radix(s, 16).unwrap())
}

#[test]
fn reproduces_every_public_purchase_vector() {
    let vectors = vectors().purchase;
    assert!(vectors.len() >= 2);
    for v in vectors {
        let alg: Algorithm = v.alg.parse().unwrap();
        let dpk: Key16 = v.dpk.parse().unwrap();
        let sk =
            crypto::purchase_session_key(alg, &dpk, random4(&v.random), v.card_seq, v.terminal_seq);
        assert_eq!(sk.to_hex(), v.session_key, "{}: session key", v.name);

        let data = PurchaseData {
            amount: v.amount,
            tx_type: tx_type(&v.tx_type),
            terminal: v.terminal.parse::<TerminalId>().unwrap(),
            terminal_seq: v.terminal_seq,
            date_time: bcd::encode_datetime(
                bcd::parse_compact_datetime("datetime", &v.datetime).unwrap(),
            ),
        };
        let auth: Option<AuthCode> = v.auth_code.as_deref().map(|a| a.parse().unwrap());
        let mac1 = crypto::purchase_mac1(&sk, &data, auth.as_ref());
        assert_eq!(mac1.to_string(), v.mac1, "{}: MAC1", v.name);

        if let Some(expected) = v.mac2 {
            assert_eq!(
                crypto::purchase_mac2(&sk, v.amount).to_string(),
                expected,
                "{}: MAC2",
                v.name
            );
        }
        if let (Some(dtk), Some(expected)) = (v.dtk, v.tac) {
            let dtk: Key16 = dtk.parse().unwrap();
            assert_eq!(
                crypto::purchase_tac(alg, &dtk, &data).to_string(),
                expected,
                "{}: TAC",
                v.name
            );
        }
    }
}

#[test]
fn composite_mac1_matches_only_with_the_auth_code_appended() {
    let v = vectors()
        .purchase
        .into_iter()
        .find(|v| v.auth_code.is_some())
        .unwrap();
    let dpk: Key16 = v.dpk.parse().unwrap();
    let sk = crypto::purchase_session_key(
        Algorithm::TripleDes,
        &dpk,
        random4(&v.random),
        v.card_seq,
        v.terminal_seq,
    );
    let data = PurchaseData {
        amount: v.amount,
        tx_type: tx_type(&v.tx_type),
        terminal: v.terminal.parse().unwrap(),
        terminal_seq: v.terminal_seq,
        date_time: bcd::encode_datetime(
            bcd::parse_compact_datetime("datetime", &v.datetime).unwrap(),
        ),
    };
    assert_ne!(crypto::purchase_mac1(&sk, &data, None).to_string(), v.mac1);
}

#[test]
fn reproduces_every_public_load_vector() {
    for v in vectors().load {
        let alg: Algorithm = v.alg.parse().unwrap();
        let dlk: Key16 = v.dlk.parse().unwrap();
        let dtk: Key16 = v.dtk.parse().unwrap();
        let sk = crypto::load_session_key(alg, &dlk, random4(&v.random), v.card_seq);
        assert_eq!(sk.to_hex(), v.session_key, "{}: session key", v.name);
        let data = LoadData {
            balance_before: v.balance,
            amount: v.amount,
            tx_type: tx_type(&v.tx_type),
            terminal: v.terminal.parse().unwrap(),
            online_seq: v.card_seq,
            date_time: bcd::encode_datetime(
                bcd::parse_compact_datetime("datetime", &v.datetime).unwrap(),
            ),
        };
        assert_eq!(
            crypto::load_mac1(&sk, &data).to_string(),
            v.mac1,
            "{}: MAC1",
            v.name
        );
        assert_eq!(
            crypto::load_mac2(&sk, &data).to_string(),
            v.mac2,
            "{}: MAC2",
            v.name
        );
        assert_eq!(
            crypto::tac_key_material(alg, &dtk).to_hex(),
            v.tac_key,
            "{}: TAC key",
            v.name
        );
        assert_eq!(
            crypto::load_tac(alg, &dtk, &data).to_string(),
            v.tac,
            "{}: TAC",
            v.name
        );
    }
}

#[test]
fn sm4_cmac_reproduces_every_vector() {
    let v = vectors().cmac;
    assert_eq!(v.len(), 4);
    for v in v {
        let key: [u8; 16] = hex::decode(&v.key).unwrap().try_into().unwrap();
        let data = hex::decode(&v.data).unwrap();
        assert_eq!(
            hex::encode_upper(crypto::sm4_cmac(&key, &data)),
            v.tag,
            "{}",
            v.name
        );
        // CMAC is not the profile's CBC-MAC with 80-padding.
        assert_ne!(
            hex::encode_upper(crypto::sm4_mac(&key, &data)),
            v.tag,
            "{}",
            v.name
        );
    }
}

#[test]
fn parity_adjusted_keys_print_differently_and_encrypt_the_same() {
    for v in vectors().parity {
        let key: Key16 = v.key.parse().unwrap();
        let adjusted = crypto::adjust_parity(&key);
        assert_eq!(adjusted.to_hex(), v.adjusted, "{}", v.name);
        assert!(
            adjusted.0.iter().all(|b| b.count_ones() % 2 == 1),
            "{}",
            v.name
        );
        assert_eq!(
            crypto::adjust_parity(&adjusted),
            adjusted,
            "{}: idempotent",
            v.name
        );
        let block = [0x11, 0x22, 0x33, 0x44, 0x00, 0x00, 0x80, 0x00];
        assert_eq!(
            crypto::tdes_encrypt_block(&key.0, block),
            crypto::tdes_encrypt_block(&adjusted.0, block),
            "{}",
            v.name
        );
    }
    // The whole real load vector holds with the adjusted keys.
    for v in vectors().load {
        let alg: Algorithm = v.alg.parse().unwrap();
        let dlk = crypto::adjust_parity(&v.dlk.parse().unwrap());
        let sk = crypto::load_session_key(alg, &dlk, random4(&v.random), v.card_seq);
        assert_eq!(sk.to_hex(), v.session_key, "{}", v.name);
    }
}
