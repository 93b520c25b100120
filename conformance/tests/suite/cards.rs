use card_standards::Scheme;
use card_standards::crypto::Algorithm;
use conformance::{CardProfile, SimCard};

fn sw(resp: &[u8]) -> [u8; 2] {
    [resp[resp.len() - 2], resp[resp.len() - 1]]
}

#[test]
fn every_instruction_and_parameter_gets_a_status_word_and_no_panic() {
    for scheme in Scheme::ALL {
        let mut card =
            SimCard::personalise(&CardProfile::test(scheme, Algorithm::TripleDes)).unwrap();
        card.transmit(&[0x00, 0xA4, 0x00, 0x00, 0x02, 0x10, 0x01]);
        for cla in [0x00u8, 0x80, 0x84] {
            for ins in 0..=255u8 {
                for (p1, p2) in [
                    (0x00, 0x00),
                    (0x01, 0x02),
                    (0x03, 0x02),
                    (0x95, 0x00),
                    (0xFF, 0xFF),
                ] {
                    for body in [
                        &[][..],
                        &[0x00][..],
                        &[0x0B, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1][..],
                        &[0x30; 49][..],
                    ] {
                        let mut apdu = vec![cla, ins, p1, p2];
                        apdu.extend_from_slice(body);
                        let resp = card.transmit(&apdu);
                        assert!(resp.len() >= 2, "{scheme}: {apdu:02X?}");
                    }
                }
            }
        }
        // The purse survived the noise (no command above carried a valid MAC).
        assert_eq!(card.purse().balance, 10_000);
        assert_eq!(card.purse().offline_seq, 0);
    }
}

#[test]
fn unknown_instructions_answer_6d00_and_wrong_class_6e00() {
    let mut card = SimCard::personalise(&CardProfile::test(Scheme::Mot, Algorithm::Sm4)).unwrap();
    assert_eq!(sw(&card.transmit(&[0x80, 0x10, 0x00, 0x00])), [0x6D, 0x00]);
    assert_eq!(
        sw(&card.transmit(&[0x00, 0x5C, 0x00, 0x02, 0x04])),
        [0x6E, 0x00]
    );
}

#[test]
fn personalisation_rejects_an_impossible_profile() {
    let mut profile = CardProfile::test(Scheme::Pboc, Algorithm::TripleDes);
    profile.overdraft_limit = 0x0100_0000;
    assert!(SimCard::personalise(&profile).is_err());
}

#[test]
fn sm4_cards_announce_algorithm_04_and_3des_cards_00() {
    for (alg, id) in [(Algorithm::TripleDes, 0x00), (Algorithm::Sm4, 0x04)] {
        let mut card = SimCard::personalise(&CardProfile::test(Scheme::Local, alg)).unwrap();
        card.transmit(&[0x00, 0xA4, 0x00, 0x00, 0x02, 0x10, 0x01]);
        let init = card.transmit(&hex::decode("805001020B0100000001000000000001").unwrap());
        assert_eq!(sw(&init), [0x90, 0x00]);
        assert_eq!(init[10], id);
    }
}
