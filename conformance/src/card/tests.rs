use card_standards::apdu::BalanceRegister;
use card_standards::crypto::{self, Algorithm, LoadData, PurchaseData};
use card_standards::files::{AppInfo, AppType, CardFile, TxRecord};
use card_standards::{Mac4, Purse, Scheme, StatusWord, TerminalId, TxType};

use super::SimCard;
use crate::profile::{AppState, CardProfile};

const TERMINAL: TerminalId = TerminalId([0, 0, 0, 0, 0, 1]);
const WHEN: [u8; 7] = [0x20, 0x26, 0x11, 0x22, 0x08, 0x15, 0x02];

fn sw(resp: &[u8]) -> StatusWord {
    StatusWord::from_bytes(resp[resp.len() - 2], resp[resp.len() - 1])
}

fn card(scheme: Scheme) -> SimCard {
    let mut card = SimCard::personalise(&CardProfile::test(scheme, Algorithm::TripleDes)).unwrap();
    card.select_by_name(super::layout::aid(scheme)).unwrap();
    card
}

/// MAC1 as the PSAM computes it, from the card's own key (the test peeks at the card).
fn mac1(card: &SimCard, random: [u8; 4], seq: u16, amount: u32, auth: bool) -> Mac4 {
    let key = crypto::purchase_session_key(card.alg, &card.keys.dpk, random, seq, 7);
    let data = PurchaseData {
        amount,
        tx_type: if auth {
            TxType::COMPOSITE_PURCHASE
        } else {
            TxType::EP_PURCHASE
        },
        terminal: TERMINAL,
        terminal_seq: 7,
        date_time: WHEN,
    };
    crypto::purchase_mac1(
        &key,
        &data,
        if auth { card.auth_code.as_ref() } else { None },
    )
}

#[test]
fn purchase_debits_counts_and_records_the_counter_after_the_transaction() {
    let mut c = card(Scheme::Mohurd);
    let init = c
        .initialize_for_purchase(false, Purse::Ep, 1, 150, TERMINAL)
        .unwrap();
    assert_eq!(
        (init.balance, init.offline_seq, init.alg_id),
        (10_000, 0, 0)
    );
    let m = mac1(&c, init.random, 0, 150, false);
    let resp = c.debit_for_purchase(7, WHEN, m).unwrap();
    assert_eq!(c.purse().balance, 9_850);
    assert_eq!(c.purse().offline_seq, 1);
    let rec = TxRecord::decode(c.record(0x18, 1).unwrap()).unwrap();
    assert_eq!(
        (rec.seq, rec.amount, rec.tx_type),
        (1, 150, TxType::EP_PURCHASE)
    );
    let prove = c.get_transaction_prove(TxType::EP_PURCHASE, 1).unwrap();
    assert_eq!((prove.mac, prove.tac), (resp.mac2, resp.tac));
    assert_eq!(
        c.get_transaction_prove(TxType::EP_PURCHASE, 0),
        Err(StatusWord::MAC_NOT_AVAILABLE)
    );
}

#[test]
fn wrong_mac1_answers_9302_changes_nothing_and_ends_the_session() {
    let mut c = card(Scheme::Mot);
    let init = c
        .initialize_for_purchase(false, Purse::Ep, 1, 150, TERMINAL)
        .unwrap();
    let mut m = mac1(&c, init.random, 0, 150, false);
    m.0[0] ^= 1;
    assert_eq!(c.debit_for_purchase(7, WHEN, m), Err(StatusWord::MAC_ERROR));
    assert_eq!(c.purse().balance, 10_000);
    assert_eq!(c.record(0x18, 1), None);
    m.0[0] ^= 1;
    assert_eq!(
        c.debit_for_purchase(7, WHEN, m),
        Err(StatusWord::CONDITIONS_NOT_SATISFIED)
    );
}

#[test]
fn any_other_command_between_initialize_and_debit_cancels_the_session() {
    let mut c = card(Scheme::Local);
    let init = c
        .initialize_for_purchase(false, Purse::Ep, 1, 150, TERMINAL)
        .unwrap();
    let m = mac1(&c, init.random, 0, 150, false);
    let resp = c.transmit(&hex::decode("805C000204").unwrap());
    assert_eq!(sw(&resp), StatusWord::OK);
    assert_eq!(
        c.debit_for_purchase(7, WHEN, m),
        Err(StatusWord::CONDITIONS_NOT_SATISFIED)
    );
    // A malformed APDU cancels it too.
    let init = c
        .initialize_for_purchase(false, Purse::Ep, 1, 150, TERMINAL)
        .unwrap();
    let m = mac1(&c, init.random, 0, 150, false);
    assert_eq!(sw(&c.transmit(&[0x80])), StatusWord::WRONG_LENGTH);
    assert_eq!(
        c.debit_for_purchase(7, WHEN, m),
        Err(StatusWord::CONDITIONS_NOT_SATISFIED)
    );
}

#[test]
fn refusals_of_initialize_use_the_purse_status_words() {
    let mut c = card(Scheme::Pboc);
    let init = |c: &mut SimCard, key: u8, amount: u32| {
        c.initialize_for_purchase(false, Purse::Ep, key, amount, TERMINAL)
            .map(|_| ())
    };
    assert_eq!(
        init(&mut c, 1, 10_001),
        Err(StatusWord::INSUFFICIENT_BALANCE)
    );
    assert_eq!(init(&mut c, 2, 1), Err(StatusWord::KEY_NOT_FOUND));
    assert_eq!(
        c.initialize_for_purchase(true, Purse::Ep, 1, 1, TERMINAL)
            .map(|_| ()),
        Err(StatusWord::FUNCTION_NOT_SUPPORTED)
    );
    // A PBOC card has an (empty) ED beside the EP since issue 17: 9401, where an EP-only card
    // answers 6A86 (this expected 6A86 before).
    assert_eq!(
        c.initialize_for_purchase(false, Purse::Ed, 1, 1, TERMINAL)
            .map(|_| ()),
        Err(StatusWord::INSUFFICIENT_BALANCE)
    );
    assert_eq!(
        card(Scheme::Mohurd)
            .initialize_for_purchase(false, Purse::Ed, 1, 1, TERMINAL)
            .map(|_| ()),
        Err(StatusWord::WRONG_P1P2)
    );
    c.reset();
    assert_eq!(
        init(&mut c, 1, 1),
        Err(StatusWord::CONDITIONS_NOT_SATISFIED)
    );
}

#[test]
fn counters_at_their_limit_refuse_further_transactions() {
    let mut p = CardProfile::test(Scheme::Mohurd, Algorithm::Sm4);
    p.offline_seq = u16::MAX;
    p.online_seq = u16::MAX;
    let mut c = SimCard::personalise(&p).unwrap();
    c.select_by_file_id(0x1001).unwrap();
    assert_eq!(
        c.initialize_for_purchase(false, Purse::Ep, 1, 1, TERMINAL)
            .map(|_| ()),
        Err(StatusWord::COUNTER_AT_LIMIT)
    );
    assert_eq!(
        c.initialize_for_load(Purse::Ep, 1, 1, TERMINAL).map(|_| ()),
        Err(StatusWord::COUNTER_AT_LIMIT)
    );
}

#[test]
fn dates_outside_the_validity_and_impossible_dates_are_refused() {
    let mut p = CardProfile::test(Scheme::Mot, Algorithm::TripleDes);
    p.expiry_date = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    let mut c = SimCard::personalise(&p).unwrap();
    c.select_by_file_id(0x1001).unwrap();
    let init = c
        .initialize_for_purchase(false, Purse::Ep, 1, 5, TERMINAL)
        .unwrap();
    let m = mac1(&c, init.random, 0, 5, false);
    assert_eq!(
        c.debit_for_purchase(7, WHEN, m),
        Err(StatusWord::CONDITIONS_NOT_SATISFIED)
    );
    c.initialize_for_purchase(false, Purse::Ep, 1, 5, TERMINAL)
        .unwrap();
    let mut bad = WHEN;
    bad[2] = 0x13;
    assert_eq!(c.debit_for_purchase(7, bad, m), Err(StatusWord::WRONG_DATA));
    assert_eq!(c.purse().balance, 10_000);
}

#[test]
fn blocked_application_answers_select_with_9303_and_not_enabled_refuses_initialize() {
    let mut p = CardProfile::test(Scheme::Mot, Algorithm::TripleDes);
    p.app_state = AppState::Blocked;
    let mut c = SimCard::personalise(&p).unwrap();
    let resp = c.transmit(&hex::decode("00A4040008A00000063201010500").unwrap());
    assert_eq!(resp, vec![0x93, 0x03]);
    p.app_state = AppState::NotEnabled;
    let mut c = SimCard::personalise(&p).unwrap();
    c.select_by_file_id(0x1001).unwrap();
    assert_eq!(
        c.get_balance(Purse::Ep, BalanceRegister::Balance),
        Ok(10_000)
    );
    assert_eq!(
        c.initialize_for_load(Purse::Ep, 1, 5, TERMINAL).map(|_| ()),
        Err(StatusWord::CONDITIONS_NOT_SATISFIED)
    );
}

#[test]
fn composite_purchase_writes_cached_records_only_when_debit_succeeds() {
    let mut c = card(Scheme::Mohurd);
    let mut record = vec![0u8; 48];
    record[..3].copy_from_slice(&[0x02, 0x2E, 0x00]);
    record[10] = 0xAB;
    let init = c
        .initialize_for_purchase(true, Purse::Ep, 1, 100, TERMINAL)
        .unwrap();
    c.update_capp_data_cache(2, 0x17, &record).unwrap();
    // MAC1 without the authentication code: refused, record not written.
    let m = mac1(&c, init.random, 0, 100, false);
    let m = {
        let key = crypto::purchase_session_key(c.alg, &c.keys.dpk, init.random, 0, 7);
        let data = PurchaseData {
            amount: 100,
            tx_type: TxType::COMPOSITE_PURCHASE,
            terminal: TERMINAL,
            terminal_seq: 7,
            date_time: WHEN,
        };
        assert_ne!(crypto::purchase_mac1(&key, &data, None), m);
        crypto::purchase_mac1(&key, &data, None)
    };
    assert_eq!(c.debit_for_purchase(7, WHEN, m), Err(StatusWord::MAC_ERROR));
    assert_eq!(c.record(0x17, 2).unwrap()[10], 0);

    let init = c
        .initialize_for_purchase(true, Purse::Ep, 1, 100, TERMINAL)
        .unwrap();
    c.update_capp_data_cache(2, 0x17, &record).unwrap();
    let m = mac1(&c, init.random, 0, 100, true);
    c.debit_for_purchase(7, WHEN, m).unwrap();
    assert_eq!(c.record(0x17, 2).unwrap(), &record[..]);
    let rec = TxRecord::decode(c.record(0x18, 1).unwrap()).unwrap();
    assert_eq!(rec.tx_type, TxType::COMPOSITE_PURCHASE);
}

#[test]
fn capp_updates_check_session_file_length_record_and_lock() {
    let mut p = CardProfile::test(Scheme::Mot, Algorithm::TripleDes);
    p.locked_records = vec![2];
    let mut c = SimCard::personalise(&p).unwrap();
    c.select_by_file_id(0x1001).unwrap();
    let rec128 = [0u8; 128];
    assert_eq!(
        c.update_capp_data_cache(1, 0x1A, &rec128),
        Err(StatusWord::CONDITIONS_NOT_SATISFIED)
    );
    let open = |c: &mut SimCard| {
        c.initialize_for_purchase(true, Purse::Ep, 1, 1, TERMINAL)
            .unwrap();
    };
    open(&mut c);
    assert_eq!(
        c.update_capp_data_cache(2, 0x1A, &rec128),
        Err(StatusWord::DATA_INVALIDATED)
    );
    open(&mut c);
    assert_eq!(
        c.update_capp_data_cache(3, 0x1A, &rec128),
        Err(StatusWord::RECORD_NOT_FOUND)
    );
    open(&mut c);
    assert_eq!(
        c.update_capp_data_cache(1, 0x1A, &rec128[..127]),
        Err(StatusWord::WRONG_LENGTH)
    );
    open(&mut c);
    assert_eq!(
        c.update_capp_data_cache(1, 0x18, &[0; 23]),
        Err(StatusWord::INCOMPATIBLE_FILE)
    );
    open(&mut c);
    assert_eq!(
        c.update_capp_data_cache(1, 0x1E, &[0; 48]),
        Err(StatusWord::WRONG_P1P2)
    );
    open(&mut c);
    assert_eq!(c.update_capp_data_cache(0, 0x1E, &[0; 48]), Ok(()));
    assert_eq!(c.update_capp_data_cache(1, 0x1A, &rec128), Ok(()));
}

#[test]
fn reads_answer_iso_status_words() {
    let mut c = card(Scheme::Mohurd);
    let read = |c: &mut SimCard, apdu: &str| c.transmit(&hex::decode(apdu).unwrap());
    let r = read(&mut c, "00B0950000");
    assert_eq!((r.len(), sw(&r)), (32, StatusWord::OK));
    assert_eq!(sw(&read(&mut c, "00B0950020")), StatusWord(0x6C1E));
    assert_eq!(sw(&read(&mut c, "00B0951E00")), StatusWord::WRONG_OFFSET);
    assert_eq!(sw(&read(&mut c, "00B09A0000")), StatusWord::FILE_NOT_FOUND);
    assert_eq!(
        sw(&read(&mut c, "00B201C417")),
        StatusWord::RECORD_NOT_FOUND
    );
    assert_eq!(sw(&read(&mut c, "00B201BC00")), StatusWord::OK);
    assert_eq!(
        sw(&read(&mut c, "00B201AC00")),
        StatusWord::INCOMPATIBLE_FILE
    );
    assert_eq!(
        sw(&read(&mut c, "00B0970000")),
        StatusWord::INCOMPATIBLE_FILE
    );
    // Current EF by file id.
    assert_eq!(sw(&read(&mut c, "00A40000020016")), StatusWord::OK);
    assert_eq!(read(&mut c, "00B0000000").len(), 57);
    c.reset();
    assert_eq!(sw(&read(&mut c, "00B0000000")), StatusWord::NO_CURRENT_EF);
    assert_eq!(sw(&read(&mut c, "00B0950000")), StatusWord::FILE_NOT_FOUND);
}

#[test]
fn pse_lists_the_application() {
    let mut c =
        SimCard::personalise(&CardProfile::test(Scheme::Mohurd, Algorithm::TripleDes)).unwrap();
    let fci = c.transmit(b"\x00\xA4\x04\x00\x0E1PAY.SYS.DDF01\x00");
    assert_eq!(sw(&fci), StatusWord::OK);
    let dir = c.transmit(&hex::decode("00B2010C00").unwrap());
    assert_eq!(hex::encode_upper(&dir), "610B4F09A000000003869807019000");
    let mut c =
        SimCard::personalise(&CardProfile::test(Scheme::Mot, Algorithm::TripleDes)).unwrap();
    let fci = c.transmit(b"\x00\xA4\x04\x00\x0E2PAY.SYS.DDF01\x00");
    assert!(hex::encode_upper(&fci).contains("4F08A0000006320101055008"));
}

#[test]
fn get_challenge_and_auth_code_follow_the_scheme() {
    let mut c = card(Scheme::Mohurd);
    let a = c.transmit(&hex::decode("0084000008").unwrap());
    let b = c.transmit(&hex::decode("0084000008").unwrap());
    assert_eq!(a.len(), 10);
    assert_ne!(a, b);
    let code = c.transmit(&hex::decode("80CA000009").unwrap());
    assert_eq!((code.len(), code[0]), (11, 0x85));
    let mut m = card(Scheme::Mot);
    assert_eq!(
        m.transmit(&hex::decode("80CA000009").unwrap()),
        vec![0x6D, 0x00]
    );
}

#[test]
fn transmit_survives_arbitrary_bytes() {
    let mut c = card(Scheme::Local);
    let mut x: u32 = 12345;
    for len in 0..300usize {
        let bytes: Vec<u8> = (0..len % 40)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        let resp = c.transmit(&bytes);
        assert!(resp.len() >= 2);
    }
}

/// The real card bytes of `card-standards/tests/data/real_cards.toml` (nfcim/nfsee
/// `tests/reader-mock.js` at 8727a7e89f4c3b329de85d8ee2226f1092e161d4, MIT; see that file).
mod real {
    /// The T-Union FCI of a real Beijing card (CardEnum.TU).
    pub(super) const TU_FCI: &str = "6F318408A000000632010105A5259F0801029F0C1E01011000FFFFFFFF020103105170070104791381201907182040123100009000";
    /// The 0018 records 1–3 (READ RECORD answers without SW).
    pub(super) const RECORDS: [&str; 3] = [
        "0002000000000003e805000000000024201708301256379000",
        "0001000000000005dc05300040000570201708301223179000",
        "000100000000004e2001000000000020201708301219179000",
    ];
    /// The 0015 of a real Tsinghua campus card under the MOHURD AID (byte 8 = 03).
    pub(super) const THU_0015: &str =
        "62640022333300010301000000000000100011aa201301012015123155669000";
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

/// The 9F0C value of an FCI (short lengths only).
fn fci_0015(fci: &[u8]) -> &[u8] {
    let at = fci.windows(2).position(|w| w == [0x9F, 0x0C]).unwrap();
    &fci[at + 3..at + 3 + usize::from(fci[at + 2])]
}

#[test]
fn get_balance_p1_01_answers_the_second_register_and_other_p1_6a86() {
    for scheme in Scheme::ALL {
        let mut c = card(scheme);
        assert_eq!(
            c.transmit(&unhex("805C010204")),
            unhex("000000009000"),
            "{scheme}"
        );
        assert_eq!(
            c.transmit(&unhex("805C000204")),
            unhex("000027109000"),
            "{scheme}"
        );
        assert_eq!(
            sw(&c.transmit(&unhex("805C020204"))),
            StatusWord::WRONG_P1P2,
            "{scheme}"
        );
    }
}

#[test]
fn the_t_union_fci_carries_9f08_02_and_mohurd_01() {
    for (scheme, version) in [
        (Scheme::Mot, 0x02),
        (Scheme::Mohurd, 0x01),
        (Scheme::Local, 0x01),
    ] {
        let mut c = SimCard::personalise(&CardProfile::test(scheme, Algorithm::TripleDes)).unwrap();
        let fci = c
            .select_by_name(super::layout::aid(scheme))
            .unwrap()
            .to_vec();
        let at = fci
            .windows(3)
            .position(|w| w == [0x9F, 0x08, 0x01])
            .unwrap();
        assert_eq!(fci[at + 3], version, "{scheme}");
    }
}

#[test]
fn a_card_personalised_from_a_real_t_union_0015_and_0018_records_is_that_card() {
    let fci = unhex(real::TU_FCI);
    let raw_0015 = fci_0015(&fci[..fci.len() - 2]).to_vec();
    let records: Vec<Vec<u8>> = real::RECORDS
        .iter()
        .map(|r| {
            let b = unhex(r);
            b[..b.len() - 2].to_vec()
        })
        .collect();
    let keys = crate::IssuerKeys::test(Algorithm::TripleDes);
    let mut p = CardProfile::from_real_files(Scheme::Mot, keys, &raw_0015, None, None).unwrap();
    p.preload_records(&records).unwrap();
    p.balance = 5710;
    assert_eq!(p.serial.to_string(), "03105170070104791381");
    assert_eq!(p.issuer.to_string(), "0101/1000");
    assert_eq!(
        (p.offline_seq, p.online_seq),
        (2, 1),
        "counters follow the records"
    );
    let mut c = SimCard::personalise(&p).unwrap();
    // SELECT answers the real FCI byte for byte (same 9F08 02, same 0015).
    assert_eq!(c.transmit(&unhex("00A4040008A00000063201010500")), fci);
    assert_eq!(
        c.transmit(&unhex("00B095001E")),
        [&raw_0015[..], &[0x90, 0x00]].concat()
    );
    for (n, want) in real::RECORDS.iter().enumerate() {
        let got = c.transmit(&[0x00, 0xB2, n as u8 + 1, 0xC4, 0x17]);
        assert_eq!(hex::encode(got), *want, "record {}", n + 1);
    }
    // The real records replay, and the card's next purchase follows them.
    let init = c
        .initialize_for_purchase(false, Purse::Ep, 1, 10, TERMINAL)
        .unwrap();
    assert_eq!(init.offline_seq, 2);
    let m = mac1(&c, init.random, 2, 10, false);
    c.debit_for_purchase(7, WHEN, m).unwrap();
    assert_eq!(TxRecord::decode(c.record(0x18, 1).unwrap()).unwrap().seq, 3);
    assert_eq!(
        hex::encode(c.record(0x18, 4).unwrap()),
        &real::RECORDS[2][..46]
    );
}

#[test]
fn a_card_personalised_from_a_real_campus_0015_keeps_its_application_type() {
    let raw = unhex(real::THU_0015);
    let raw = &raw[..30];
    let keys = crate::IssuerKeys::test(Algorithm::TripleDes);
    let p = CardProfile::from_real_files(Scheme::Mohurd, keys, raw, None, None).unwrap();
    assert_eq!(p.app_type, AppType::TYPE_03);
    assert_eq!(p.app_state, AppState::Enabled);
    let mut c = SimCard::personalise(&p).unwrap();
    let fci = c
        .select_by_name(super::layout::aid(Scheme::Mohurd))
        .unwrap()
        .to_vec();
    assert_eq!(fci_0015(&fci), raw);
    let info = AppInfo::decode(Scheme::Mohurd.profile().app_info_layout, fci_0015(&fci)).unwrap();
    assert_eq!(info.status(), None, "a MOHURD-layout 0015 has no 启用 flag");
    // Refused inputs name the file.
    let e = CardProfile::from_real_files(Scheme::Mohurd, keys, &raw[..29], None, None).unwrap_err();
    assert!(e.to_string().contains("0015"), "{e}");
    let e =
        CardProfile::from_real_files(Scheme::Mohurd, keys, raw, Some(&[0; 10]), None).unwrap_err();
    assert!(e.to_string().contains("0016"), "{e}");
    let mut p = p.clone();
    let e = p.preload_records(&[vec![0; 22]]).unwrap_err();
    assert!(e.to_string().contains("0018 record 1"), "{e}");
}

#[test]
fn a_pboc_card_carries_an_ed_purse_beside_the_ep() {
    let mut p = CardProfile::test(Scheme::Pboc, Algorithm::TripleDes);
    p.ed_balance = Some(300);
    let mut c = SimCard::personalise(&p).unwrap();
    c.select_by_name(super::layout::aid(Scheme::Pboc)).unwrap();
    assert_eq!(c.transmit(&unhex("805C000104")), unhex("0000012C9000"));
    // Load 200 fen into the ED: type 01, the EP untouched.
    let init = c.initialize_for_load(Purse::Ed, 1, 200, TERMINAL).unwrap();
    assert_eq!(init.balance, 300);
    let key = crypto::load_session_key(c.alg, &c.keys.dlk, init.random, init.online_seq);
    let data = LoadData {
        balance_before: 300,
        amount: 200,
        tx_type: TxType::ED_LOAD,
        terminal: TERMINAL,
        online_seq: init.online_seq,
        date_time: WHEN,
    };
    assert_eq!(init.mac1, crypto::load_mac1(&key, &data));
    c.credit_for_load(WHEN, crypto::load_mac2(&key, &data))
        .unwrap();
    assert_eq!(
        (c.purse().ed_balance, c.purse().balance),
        (Some(500), 10_000)
    );
    let rec = TxRecord::decode(c.record(0x18, 1).unwrap()).unwrap();
    assert_eq!((rec.tx_type, rec.amount), (TxType::ED_LOAD, 200));
    // A purchase from the ED is type 05.
    let init = c
        .initialize_for_purchase(false, Purse::Ed, 1, 50, TERMINAL)
        .unwrap();
    assert_eq!(init.balance, 500);
    let key = crypto::purchase_session_key(c.alg, &c.keys.dpk, init.random, init.offline_seq, 7);
    let data = PurchaseData {
        amount: 50,
        tx_type: TxType::ED_PURCHASE,
        terminal: TERMINAL,
        terminal_seq: 7,
        date_time: WHEN,
    };
    c.debit_for_purchase(7, WHEN, crypto::purchase_mac1(&key, &data, None))
        .unwrap();
    assert_eq!(
        (c.purse().ed_balance, c.purse().balance),
        (Some(450), 10_000)
    );
    assert_eq!(
        TxRecord::decode(c.record(0x18, 1).unwrap())
            .unwrap()
            .tx_type,
        TxType::ED_PURCHASE
    );
    // EP-only schemes still refuse the ED.
    let mut t = card(Scheme::Mot);
    assert_eq!(
        sw(&t.transmit(&unhex("805C000104"))),
        StatusWord::WRONG_P1P2
    );
}
