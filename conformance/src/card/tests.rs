use card_standards::crypto::{self, Algorithm, PurchaseData};
use card_standards::files::{CardFile, TxRecord};
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
    assert_eq!(
        c.initialize_for_purchase(false, Purse::Ed, 1, 1, TERMINAL)
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
    assert_eq!(c.get_balance(Purse::Ep), Ok(10_000));
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
