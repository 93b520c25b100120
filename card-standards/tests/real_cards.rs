//! Real card bytes from public sources (`tests/data/real_cards.toml`, each entry citing its
//! repository, path, revision and licence) decode as the sources' own readers decode them.

use card_standards::apdu::Balance;
use card_standards::files::{AppInfo, AppType, CardFile, MotAppStatus, TxRecord};
use card_standards::schemes::AppInfoLayout;
use card_standards::{CodeTables, Scheme};
use chrono::NaiveDate;
use serde::Deserialize;

#[derive(Deserialize)]
struct RealCards {
    source: Vec<Source>,
    app_info: Vec<AppInfoCase>,
    balance: Vec<BalanceCase>,
    tx_record: Vec<TxCase>,
}

#[derive(Deserialize)]
struct Source {
    id: String,
    repository: String,
    path: String,
    commit: String,
    licence: String,
}

#[derive(Deserialize)]
struct AppInfoCase {
    name: String,
    source: String,
    fci: Option<String>,
    bytes: Option<String>,
    layout: String,
    issuer: Option<String>,
    city: Option<String>,
    city_key: Option<String>,
    app_type: Option<u8>,
    status: Option<u8>,
    serial: Option<String>,
    start: Option<String>,
    expiry: Option<String>,
    fci_9f08: Option<String>,
    refused: Option<String>,
}

#[derive(Deserialize)]
struct BalanceCase {
    name: String,
    answer: String,
    fen: u32,
}

#[derive(Deserialize)]
struct TxCase {
    name: String,
    answer: String,
    seq: u16,
    amount: u32,
    tx_type: u8,
    terminal: String,
    date_time: String,
}

fn real_cards() -> RealCards {
    toml::from_str(include_str!("data/real_cards.toml")).expect("real_cards.toml parses")
}

/// The value of the first `tag` (one or two bytes, short lengths) found scanning `fci`.
fn tlv_value<'a>(fci: &'a [u8], tag: &[u8]) -> Option<&'a [u8]> {
    let at = fci.windows(tag.len()).position(|w| w == tag)?;
    let len = usize::from(*fci.get(at + tag.len())?);
    fci.get(at + tag.len() + 1..at + tag.len() + 1 + len)
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[test]
fn every_entry_cites_a_source_with_repository_path_revision_and_licence() {
    let cards = real_cards();
    for s in &cards.source {
        assert!(s.repository.contains('/') && !s.path.is_empty(), "{}", s.id);
        assert_eq!(s.commit.len(), 40, "{}", s.id);
        assert!(!s.licence.is_empty(), "{}", s.id);
    }
    let known = |id: &str| cards.source.iter().any(|s| s.id == id);
    assert!(cards.app_info.iter().all(|c| known(&c.source)));
}

#[test]
fn real_0015_files_decode_with_byte_8_kept_as_the_application_type() {
    let tables = CodeTables::builtin();
    let mut decoded = 0;
    for c in real_cards().app_info {
        let (raw, fci) = match (&c.fci, &c.bytes) {
            (Some(fci), _) => {
                let fci = hex::decode(fci).unwrap();
                let raw = tlv_value(&fci, &[0x9F, 0x0C]).unwrap().to_vec();
                if let Some(v) = &c.fci_9f08 {
                    let got = tlv_value(&fci, &[0x9F, 0x08]).unwrap();
                    assert_eq!(hex::encode_upper(got), v.to_uppercase(), "{}: 9F08", c.name);
                }
                (raw, Some(fci))
            }
            (None, Some(b)) => {
                let b = hex::decode(b).unwrap();
                (b[..b.len() - 2].to_vec(), None)
            }
            (None, None) => panic!("{}: no bytes", c.name),
        };
        let layout = match c.layout.as_str() {
            "mot" => AppInfoLayout::Mot,
            _ => AppInfoLayout::Mohurd,
        };
        assert!(AppInfo::lengths(layout).contains(&raw.len()), "{}", c.name);
        if let Some(field) = &c.refused {
            let e = AppInfo::decode(layout, &raw).unwrap_err();
            assert!(e.to_string().starts_with(field.as_str()), "{}: {e}", c.name);
            continue;
        }
        let info = AppInfo::decode(layout, &raw).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert_eq!(info.encode(), raw, "{}: byte for byte", c.name);
        let issuer = info.issuer();
        assert_eq!(Some(issuer.issuer_code.to_string()), c.issuer, "{}", c.name);
        assert_eq!(Some(issuer.city_code.to_string()), c.city, "{}", c.name);
        assert_eq!(Some(info.serial().to_string()), c.serial, "{}", c.name);
        assert_eq!(
            Some(info.start_date()),
            c.start.as_deref().map(date),
            "{}",
            c.name
        );
        assert_eq!(
            Some(info.expiry_date()),
            c.expiry.as_deref().map(date),
            "{}",
            c.name
        );
        assert_eq!(Some(info.app_type()), c.app_type.map(AppType), "{}", c.name);
        assert_eq!(info.status(), c.status.map(MotAppStatus), "{}", c.name);
        if let Some(key) = &c.city_key {
            let scheme = if layout == AppInfoLayout::Mot {
                Scheme::Mot
            } else {
                Scheme::Mohurd
            };
            let city = tables
                .city_by_card_code(scheme, &issuer.city_code.to_string())
                .unwrap();
            assert_eq!(&city.key, key, "{}", c.name);
        }
        // Byte 8 decides nothing: a terminal accepts the card inside its dates.
        assert_eq!(info.validity(info.start_date()), Ok(()), "{}", c.name);
        let _ = fci;
        decoded += 1;
    }
    assert_eq!(decoded, 3);
}

#[test]
fn application_types_no_source_names_stay_raw_and_do_not_refuse_the_card() {
    let raw = hex::decode(
        "07314100000000000101000041000000899999852015060520380808 0000".replace(' ', ""),
    )
    .unwrap();
    for byte8 in [0x00u8, 0x02, 0x82] {
        let mut b = raw.clone();
        b[8] = byte8;
        let info = AppInfo::decode(AppInfoLayout::Mohurd, &b).unwrap();
        assert_eq!(info.app_type(), AppType(byte8));
        assert_eq!(info.encode(), b);
        assert_eq!(info.validity(date("2020-01-01")), Ok(()));
    }
    assert_eq!(AppType(0x82).to_string(), "82 (unknown)");
    assert_eq!(AppType(0x82).name(), None);
    // A 32-byte 0015 keeps its last two bytes.
    let mut long = raw.clone();
    long.extend_from_slice(&[0xAB, 0xCD]);
    let info = AppInfo::decode(AppInfoLayout::Mohurd, &long).unwrap();
    assert_eq!(info.encode(), long);
    // T-Union 0015 is 30 bytes only; 31 is refused in either layout.
    assert!(AppInfo::decode(AppInfoLayout::Mot, &long).is_err());
    assert!(AppInfo::decode(AppInfoLayout::Mohurd, &long[..31]).is_err());
}

#[test]
fn t_union_validity_follows_the_status_byte_and_the_dates() {
    use card_standards::files::Invalidity;
    let raw = hex::decode(
        "01011000FFFFFFFF020103105170070104791381201907182040123100 00".replace(' ', ""),
    )
    .unwrap();
    let check = |status: u8, today: &str| {
        let mut b = raw.clone();
        b[9] = status;
        AppInfo::decode(AppInfoLayout::Mot, &b)
            .unwrap()
            .validity(date(today))
    };
    assert_eq!(check(0x01, "2026-01-01"), Ok(()));
    assert_eq!(check(0x00, "2026-01-01"), Err(Invalidity::NotEnabled));
    assert_eq!(check(0x02, "2026-01-01"), Err(Invalidity::Stopped));
    assert_eq!(check(0x07, "2026-01-01"), Err(Invalidity::UnknownStatus(7)));
    assert_eq!(check(0x01, "2019-07-17"), Err(Invalidity::NotYetValid));
    assert_eq!(check(0x01, "2041-01-01"), Err(Invalidity::Expired));
    // Byte 8 is not looked at.
    let mut b = raw.clone();
    b[8] = 0x82;
    assert_eq!(
        AppInfo::decode(AppInfoLayout::Mot, &b)
            .unwrap()
            .validity(date("2026-01-01")),
        Ok(())
    );
}

#[test]
fn a_real_balance_answer_with_bit_31_set_is_the_masked_balance() {
    for c in real_cards().balance {
        let answer = hex::decode(&c.answer).unwrap();
        let data = &answer[..4];
        assert!(Balance::bit31(data), "{}", c.name);
        assert_eq!(Balance::parse(data).unwrap(), Balance(c.fen), "{}", c.name);
        assert!(u32::from_be_bytes(data.try_into().unwrap()) > 2_000_000_000);
    }
}

#[test]
fn real_0018_records_decode_and_reencode_byte_for_byte() {
    for c in real_cards().tx_record {
        let answer = hex::decode(&c.answer).unwrap();
        let raw = &answer[..23];
        let r = TxRecord::decode(raw).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert_eq!(r.seq, c.seq, "{}", c.name);
        assert_eq!(r.amount, c.amount, "{}", c.name);
        assert_eq!(r.tx_type.0, c.tx_type, "{}", c.name);
        assert_eq!(
            r.terminal.to_string(),
            c.terminal.to_uppercase(),
            "{}",
            c.name
        );
        assert_eq!(
            r.date_time.format("%Y-%m-%dT%H:%M:%S").to_string(),
            c.date_time
        );
        assert_eq!(r.encode(), raw, "{}", c.name);
    }
}

/// The decoder (`hutong card decode`) turns every real 0015 of the file into the JSON a
/// compliance engineer reads: the same issuer, city, serial, dates, application type and
/// (T-Union) enabled flag as the sources' readers show.
#[test]
fn the_decoder_turns_each_real_0015_into_named_fields() {
    use card_standards::decode::{FileKind, decode};
    let mut decoded = 0;
    for c in real_cards().app_info {
        if c.refused.is_some() {
            continue;
        }
        let scheme = match c.layout.as_str() {
            "mot" => Scheme::Mot,
            _ => Scheme::Mohurd,
        };
        let (kind, hex_text) = match (&c.fci, &c.bytes) {
            (Some(fci), _) => (FileKind::Fci, fci),
            (None, Some(b)) => (FileKind::AppInfo, b),
            (None, None) => panic!("{}: no bytes", c.name),
        };
        let d = decode(kind, Some(scheme), &[hex::decode(hex_text).unwrap()])
            .unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let j = serde_json::to_value(&d).unwrap();
        assert_eq!(j["status_word"], "9000 (success)", "{}: {j}", c.name);
        let a = if kind == FileKind::Fci {
            &j["fci"]["app_info"]
        } else {
            &j["app_info"]
        };
        assert_eq!(a["layout"], c.layout, "{}: {j}", c.name);
        assert_eq!(a["issuer_code"].as_str(), c.issuer.as_deref(), "{}", c.name);
        assert_eq!(a["city"]["raw"].as_str(), c.city.as_deref(), "{}", c.name);
        assert_eq!(a["serial"].as_str(), c.serial.as_deref(), "{}", c.name);
        assert_eq!(a["start_date"].as_str(), c.start.as_deref(), "{}", c.name);
        assert_eq!(a["expiry_date"].as_str(), c.expiry.as_deref(), "{}", c.name);
        if let Some(t) = c.app_type {
            assert_eq!(a["byte8"], format!("{t:02X}"), "{}", c.name);
        }
        match (scheme, c.status) {
            (Scheme::Mot, Some(s)) => assert_eq!(a["enabled"], s == 1, "{}", c.name),
            _ => assert!(a.get("enabled").is_none(), "{}: {a}", c.name),
        }
        decoded += 1;
    }
    assert!(decoded >= 3, "only {decoded} real 0015 files decoded");
}
