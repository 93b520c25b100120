use card_standards::crypto::Algorithm;
use card_standards::{
    CardType, Industry, Scheme, StatusWord, TacCheck, TerminalId, TxKind, TxType,
};
use conformance::{
    CardProfile, Error, IssuerKeys, LoadHost, Psam, Recovery, SimCard, Tear, TearingReader,
    Terminal, TerminalConfig,
};

use super::now;

const TERMINAL: TerminalId = TerminalId([0x00, 0x00, 0x12, 0x34, 0x56, 0x78]);

fn terminal_for(card: &SimCard, keys: &IssuerKeys) -> Terminal {
    let mut config = TerminalConfig::new("QDT", Industry::Bus);
    config.operator = Some("Qingdao Bus".into());
    config.line = 321;
    config.station = 7;
    let mut terminal = Terminal::new(config, Psam::new(TERMINAL), LoadHost::new());
    terminal
        .psam_mut()
        .add_key(card.issuer(), 1, keys.alg, keys.mpk);
    terminal
        .host_mut()
        .add_key(card.issuer(), 1, keys.alg, keys.mlk);
    terminal
}

fn personalise(scheme: Scheme, alg: Algorithm) -> (SimCard, IssuerKeys) {
    let profile = CardProfile::test(scheme, alg);
    (SimCard::personalise(&profile).unwrap(), profile.keys)
}

#[test]
fn every_schemes_tacs_verify_with_the_issuer_master_key_for_both_algorithms() {
    for scheme in Scheme::ALL {
        for alg in [Algorithm::TripleDes, Algorithm::Sm4] {
            let (mut card, keys) = personalise(scheme, alg);
            let mut terminal = terminal_for(&card, &keys);
            let issuer = keys.tac_key();
            let mut txs = vec![
                terminal.purchase(&mut card, scheme, 150, now()).unwrap(),
                terminal.load(&mut card, scheme, 2_000, now()).unwrap(),
            ];
            if scheme != Scheme::Pboc {
                txs.push(
                    terminal
                        .composite_purchase(&mut card, scheme, 300, now())
                        .unwrap(),
                );
            }
            for tx in &txs {
                assert_eq!(
                    tx.check_tac(&issuer).unwrap(),
                    TacCheck::Valid,
                    "{scheme} {alg} {}",
                    tx.kind()
                );
                assert_eq!(tx.alg_id, alg.alg_id());
                // Another issuer's key does not verify it.
                let other = IssuerKeys {
                    mtk: keys.mpk,
                    ..keys
                };
                assert_eq!(tx.check_tac(&other.tac_key()).unwrap(), TacCheck::Invalid);
            }
            assert_eq!(
                card.purse().balance,
                10_000 - 150 + 2_000 - if scheme == Scheme::Pboc { 0 } else { 300 }
            );
        }
    }
}

#[test]
fn canonical_records_carry_card_purse_and_acceptance_facts() {
    let (mut card, keys) = personalise(Scheme::Mohurd, Algorithm::TripleDes);
    let mut terminal = terminal_for(&card, &keys);
    let tx = terminal
        .purchase(&mut card, Scheme::Mohurd, 150, now())
        .unwrap();
    assert_eq!(tx.scheme, Scheme::Mohurd);
    assert_eq!(tx.issuer, card.issuer());
    assert_eq!(tx.card_serial, card.serial());
    assert_eq!(
        (tx.card_type, tx.card_type_raw.as_str()),
        (CardType::Adult, "01")
    );
    assert_eq!(
        (tx.tx_type, tx.amount_fen, tx.balance_before_fen),
        (TxType::EP_PURCHASE, 150, 10_000)
    );
    assert_eq!(
        (tx.card_seq, tx.terminal, tx.terminal_seq),
        (0, TERMINAL, 1)
    );
    assert_eq!(tx.tx_time, now());
    assert_eq!(tx.acceptance.acquirer, "QDT");
    assert_eq!(tx.acceptance.industry, Industry::Bus);
    assert_eq!(tx.acceptance.line.as_deref(), Some("321"));
    assert_eq!(tx.auth_code, None);

    let composite = terminal
        .composite_purchase(&mut card, Scheme::Mohurd, 50, now())
        .unwrap();
    assert_eq!(composite.kind(), TxKind::CompositePurchase);
    assert_eq!(composite.card_seq, 1);
    assert_eq!(composite.terminal_seq, 2);
    assert_eq!(composite.auth_code.unwrap().0[0], 0x85);

    let load = terminal
        .load(&mut card, Scheme::Mohurd, 500, now())
        .unwrap();
    assert_eq!(
        (load.kind(), load.card_seq, load.balance_before_fen),
        (TxKind::Load, 0, 9_800)
    );
    assert_eq!(load.balance_after_fen(), 10_300);
    // Natural keys differ between the three.
    assert_ne!(tx.natural_key(), composite.natural_key());
    assert_ne!(tx.natural_key(), load.natural_key());
}

#[test]
fn a_recovered_torn_purchase_equals_the_untorn_one() {
    for scheme in Scheme::ALL {
        let (card, keys) = personalise(scheme, Algorithm::Sm4);
        let mut twin = card.clone();
        let mut plain = terminal_for(&card, &keys);
        let expected = plain.purchase(&mut twin, scheme, 420, now()).unwrap();

        let mut torn = terminal_for(&card, &keys);
        let mut reader = TearingReader::new(card);
        reader.tear_at(0x54, Tear::AfterCommand);
        let Err(Error::Torn(pending)) = torn.purchase(&mut reader, scheme, 420, now()) else {
            panic!("{scheme}: the purchase was not torn");
        };
        assert_eq!(pending.seq_after(), 1);
        let Recovery::Completed(tx) = torn.recover(&mut reader, &pending).unwrap() else {
            panic!("{scheme}: the card lost a purchase it completed");
        };
        assert_eq!(*tx, expected, "{scheme}");
        assert_eq!(reader.inner_mut().purse(), twin.purse());
        // Asking again finds the same proof: recovery is idempotent.
        assert!(matches!(
            torn.recover(&mut reader, &pending).unwrap(),
            Recovery::Completed(_)
        ));
    }
}

#[test]
fn a_purchase_torn_before_the_card_saw_debit_is_not_completed_and_can_be_retried() {
    let (card, keys) = personalise(Scheme::Mot, Algorithm::TripleDes);
    let mut terminal = terminal_for(&card, &keys);
    let mut reader = TearingReader::new(card);
    reader.tear_at(0x54, Tear::BeforeCommand);
    let Err(Error::Torn(pending)) = terminal.purchase(&mut reader, Scheme::Mot, 99, now()) else {
        panic!("not torn");
    };
    assert_eq!(
        terminal.recover(&mut reader, &pending).unwrap(),
        Recovery::NotCompleted
    );
    assert_eq!(reader.inner_mut().purse().balance, 10_000);
    let tx = terminal
        .purchase(&mut reader, Scheme::Mot, 99, now())
        .unwrap();
    assert_eq!((tx.card_seq, tx.terminal_seq), (0, 2));
    assert_eq!(reader.tears(), 1);
}

#[test]
fn a_torn_load_is_recovered_and_credited_once() {
    let (card, keys) = personalise(Scheme::Local, Algorithm::TripleDes);
    let mut terminal = terminal_for(&card, &keys);
    let mut reader = TearingReader::new(card);
    reader.tear_at(0x52, Tear::AfterCommand);
    let Err(Error::Torn(pending)) = terminal.load(&mut reader, Scheme::Local, 700, now()) else {
        panic!("not torn");
    };
    let Recovery::Completed(tx) = terminal.recover(&mut reader, &pending).unwrap() else {
        panic!("lost");
    };
    assert_eq!(tx.check_tac(&keys.tac_key()).unwrap(), TacCheck::Valid);
    assert_eq!(reader.inner_mut().purse().balance, 10_700);
    assert_eq!(reader.inner_mut().purse().online_seq, 1);
}

#[test]
fn recovery_with_another_card_is_refused() {
    let (card, keys) = personalise(Scheme::Pboc, Algorithm::TripleDes);
    let mut terminal = terminal_for(&card, &keys);
    let mut reader = TearingReader::new(card);
    reader.tear_at(0x54, Tear::AfterCommand);
    let Err(Error::Torn(pending)) = terminal.purchase(&mut reader, Scheme::Pboc, 5, now()) else {
        panic!("not torn");
    };
    let mut profile = CardProfile::test(Scheme::Pboc, Algorithm::TripleDes);
    profile.serial.0[9] = 0x77;
    let mut other = SimCard::personalise(&profile).unwrap();
    assert!(matches!(
        terminal.recover(&mut other, &pending),
        Err(Error::WrongCard { .. })
    ));
}

#[test]
fn the_terminal_refuses_invalid_cards_before_the_purse_and_reports_card_refusals() {
    let mut profile = CardProfile::test(Scheme::Mohurd, Algorithm::TripleDes);
    profile.expiry_date = chrono::NaiveDate::from_ymd_opt(2020, 12, 31).unwrap();
    let mut card = SimCard::personalise(&profile).unwrap();
    let mut terminal = terminal_for(&card, &profile.keys);
    assert!(matches!(
        terminal.purchase(&mut card, Scheme::Mohurd, 1, now()),
        Err(Error::CardNotValid("application expired"))
    ));
    terminal.reconfigure(|c| c.check_validity = false);
    let err = terminal
        .purchase(&mut card, Scheme::Mohurd, 1, now())
        .unwrap_err();
    assert_eq!(
        err.status_word(),
        Some(StatusWord::CONDITIONS_NOT_SATISFIED)
    );

    let (mut rich, keys) = personalise(Scheme::Mot, Algorithm::TripleDes);
    let mut terminal = terminal_for(&rich, &keys);
    let err = terminal
        .purchase(&mut rich, Scheme::Mot, 10_001, now())
        .unwrap_err();
    assert_eq!(err.status_word(), Some(StatusWord::INSUFFICIENT_BALANCE));
    // A terminal without the issuer's key refuses before DEBIT.
    let mut bare = Terminal::new(
        TerminalConfig::new("X", Industry::Bus),
        Psam::new(TERMINAL),
        LoadHost::new(),
    );
    assert!(matches!(
        bare.purchase(&mut rich, Scheme::Mot, 1, now()),
        Err(Error::KeyNotFound {
            what: "purchase",
            ..
        })
    ));
    assert!(matches!(
        bare.load(&mut rich, Scheme::Mot, 1, now()),
        Err(Error::KeyNotFound { what: "load", .. })
    ));
    assert_eq!(rich.purse().balance, 10_000);
}

#[test]
fn a_host_with_the_wrong_load_key_rejects_the_cards_mac1() {
    let (mut card, keys) = personalise(Scheme::Mohurd, Algorithm::Sm4);
    let mut terminal = Terminal::new(
        TerminalConfig::new("X", Industry::Bus),
        Psam::new(TERMINAL),
        LoadHost::new(),
    );
    terminal
        .host_mut()
        .add_key(card.issuer(), 1, keys.alg, keys.mpk);
    assert!(matches!(
        terminal.load(&mut card, Scheme::Mohurd, 100, now()),
        Err(Error::CardMac1Invalid)
    ));
    assert_eq!(card.purse().balance, 10_000);
}

#[test]
fn detect_finds_the_scheme_of_a_card() {
    for scheme in Scheme::ALL {
        let (mut card, keys) = personalise(scheme, Algorithm::TripleDes);
        let mut terminal = terminal_for(&card, &keys);
        assert_eq!(terminal.detect(&mut card).unwrap().scheme, scheme);
    }
}

#[test]
fn a_terminal_accepts_mohurd_cards_whatever_0015_byte_8_says_and_checks_dates_and_t_union_status() {
    use card_standards::files::AppType;
    use conformance::AppState;
    // Real cards in daily use carry 00, 02 and 82 in byte 8 (issue 17); before, a terminal with
    // validity checks refused all but 01 as "application not enabled".
    for byte8 in [0x00, 0x01, 0x02, 0x03, 0x82] {
        let mut p = CardProfile::test(Scheme::Mohurd, Algorithm::TripleDes);
        p.app_type = AppType(byte8);
        let mut card = SimCard::personalise(&p).unwrap();
        let mut terminal = terminal_for(&card, &p.keys);
        let info = terminal
            .read_card(&mut card, Scheme::Mohurd, now())
            .unwrap();
        assert_eq!((info.app_type, info.status), (AppType(byte8), None));
        terminal
            .purchase(&mut card, Scheme::Mohurd, 10, now())
            .unwrap();
    }
    // A T-Union card's 启用标识 and every card's dates are still checked.
    for (state, reason) in [
        (AppState::NotEnabled, "application not enabled"),
        (AppState::Blocked, ""),
    ] {
        let mut p = CardProfile::test(Scheme::Mot, Algorithm::TripleDes);
        p.app_state = state;
        let mut card = SimCard::personalise(&p).unwrap();
        let mut terminal = terminal_for(&card, &p.keys);
        let e = terminal
            .read_card(&mut card, Scheme::Mot, now())
            .unwrap_err();
        if !reason.is_empty() {
            assert!(matches!(e, Error::CardNotValid(r) if r == reason), "{e}");
        }
    }
    let mut p = CardProfile::test(Scheme::Mohurd, Algorithm::TripleDes);
    p.expiry_date = chrono::NaiveDate::from_ymd_opt(2020, 6, 30).unwrap();
    let mut card = SimCard::personalise(&p).unwrap();
    let mut terminal = terminal_for(&card, &p.keys);
    let e = terminal
        .read_card(&mut card, Scheme::Mohurd, now())
        .unwrap_err();
    assert!(
        matches!(e, Error::CardNotValid("application expired")),
        "{e}"
    );
}
