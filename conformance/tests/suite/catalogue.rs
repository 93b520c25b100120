use card_standards::Scheme;
use card_standards::crypto::Algorithm;
use conformance::{
    CardProfile, LoadHost, Psam, RealCard, SimCard, SimulatedCards, Terminal, TerminalConfig,
    Verdict, catalogue, catalogue_for, report, run,
};

use super::now;

fn failures(report: &conformance::Report) -> String {
    report
        .cases
        .iter()
        .filter(|c| c.verdict == Verdict::Failed)
        .map(|c| {
            format!(
                "{} {}: {:?}\n{}",
                c.id,
                c.title,
                c.message,
                report::format_trace(&c.trace)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_case_passes_against_the_simulated_cards() {
    let cases = catalogue();
    let report = run(&cases, &mut SimulatedCards::new(), now());
    assert!(report.succeeded(), "{}", failures(&report));
    assert_eq!(report.summary().passed, cases.len());
    assert!(cases.len() >= 4 * 15);
}

#[test]
fn every_case_records_its_apdu_trace() {
    let report = run(
        &catalogue_for(&[Scheme::Mot]),
        &mut SimulatedCards::new(),
        now(),
    );
    for case in &report.cases {
        assert!(
            case.trace.iter().any(|e| e.status_word().is_some()),
            "{} has no exchange in its trace",
            case.id
        );
    }
}

/// A simulated card with a history, driven as if it were a real card: the catalogue must not
/// rely on a fresh card's state.
fn card_with_history(scheme: Scheme, alg: Algorithm) -> SimCard {
    let mut card = SimCard::personalise(&CardProfile::test(scheme, alg)).unwrap();
    let mut terminal = Terminal::new(
        TerminalConfig::new("ELSEWHERE", card_standards::Industry::Metro),
        Psam::new(card_standards::TerminalId([9, 9, 9, 9, 9, 9])),
        LoadHost::new(),
    );
    let keys = conformance::IssuerKeys::test(alg);
    terminal.psam_mut().add_key(card.issuer(), 1, alg, keys.mpk);
    terminal.host_mut().add_key(card.issuer(), 1, alg, keys.mlk);
    for i in 0..13u32 {
        let at = now() - chrono::Duration::days(30) + chrono::Duration::minutes(i.into());
        terminal.purchase(&mut card, scheme, 10 + i, at).unwrap();
        if i % 4 == 0 {
            terminal.load(&mut card, scheme, 1_000, at).unwrap();
        }
    }
    card
}

#[test]
fn the_real_card_runner_skips_what_the_card_cannot_run_and_passes_the_rest() {
    for scheme in Scheme::ALL {
        let card = card_with_history(scheme, Algorithm::Sm4);
        let mut source = RealCard::new(
            card,
            scheme,
            conformance::IssuerKeys::test(Algorithm::Sm4),
            1,
        );
        let report = run(&catalogue(), &mut source, now());
        assert!(report.succeeded(), "{}", failures(&report));
        let skipped: Vec<&str> = report
            .cases
            .iter()
            .filter(|c| c.verdict == Verdict::Skipped)
            .map(|c| c.id.as_str())
            .collect();
        let prefix = conformance::catalogue::id_prefix(scheme);
        // Other schemes' cases, the 3DES cases and the specially personalised ones.
        assert!(skipped.contains(&format!("{prefix}-05").as_str()));
        assert!(skipped.contains(&format!("{prefix}-18").as_str()));
        assert!(!skipped.contains(&format!("{prefix}-06").as_str()));
        let own_passed = report
            .cases
            .iter()
            .filter(|c| c.scheme == scheme && c.verdict == Verdict::Passed)
            .count();
        assert!(own_passed >= 20, "{scheme}: only {own_passed} cases ran");
        assert!(report.target.contains("simulated"));
    }
}

#[test]
fn a_card_that_breaks_the_rules_fails_the_cases_that_check_them() {
    // A "card" that answers 9000 to everything: most cases must fail, none may pass silently.
    struct Yes;
    impl conformance::CardReader for Yes {
        fn transmit(&mut self, _: &[u8], response: &mut Vec<u8>) -> conformance::Result<()> {
            response.clear();
            response.extend_from_slice(&[0x90, 0x00]);
            Ok(())
        }
        fn reset(&mut self) -> conformance::Result<()> {
            Ok(())
        }
        fn describe(&self) -> String {
            "a card that says yes".into()
        }
    }
    let keys = conformance::IssuerKeys::test(Algorithm::TripleDes);
    let mut source = RealCard::new(Yes, Scheme::Mohurd, keys, 1);
    let report = run(&catalogue_for(&[Scheme::Mohurd]), &mut source, now());
    let summary = report.summary();
    assert_eq!(
        summary.passed,
        0,
        "{:?}",
        report
            .cases
            .iter()
            .filter(|c| c.verdict == Verdict::Passed)
            .map(|c| &c.id)
            .collect::<Vec<_>>()
    );
    assert!(summary.failed >= 20);
    assert!(!report.succeeded());
}

#[test]
fn a_card_with_truncated_answers_fails_cases_without_stopping_the_run() {
    // Answers INITIALIZE with 2 bytes and 9000: the cases that read counters must fail cleanly.
    struct Truncating(SimCard);
    impl conformance::CardReader for Truncating {
        fn transmit(&mut self, apdu: &[u8], response: &mut Vec<u8>) -> conformance::Result<()> {
            self.0.transmit_into(apdu, response);
            if apdu.get(1) == Some(&0x50) && response.len() > 4 {
                response.drain(2..response.len() - 2);
            }
            Ok(())
        }
        fn reset(&mut self) -> conformance::Result<()> {
            self.0.reset();
            Ok(())
        }
        fn describe(&self) -> String {
            "a card with short answers".into()
        }
    }
    let card =
        SimCard::personalise(&CardProfile::test(Scheme::Local, Algorithm::TripleDes)).unwrap();
    let keys = conformance::IssuerKeys::test(Algorithm::TripleDes);
    let mut source = RealCard::new(Truncating(card), Scheme::Local, keys, 1);
    let report = run(&catalogue_for(&[Scheme::Local]), &mut source, now());
    let s = report.summary();
    assert!(s.failed >= 15, "{s}");
    assert!(
        report
            .cases
            .iter()
            .filter_map(|c| c.message.as_deref())
            .all(|m| !m.contains("panicked"))
    );
    let c05 = report.cases.iter().find(|c| c.id == "LOCAL-05").unwrap();
    assert!(
        c05.message.as_deref().unwrap().contains("INITIALIZE"),
        "{:?}",
        c05.message
    );
}
