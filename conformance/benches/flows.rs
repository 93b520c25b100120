//! Complete simulated purchase flows per second on one core: terminal + PSAM + card, every APDU
//! encoded, parsed and answered (SELECT, READ BINARY 0016, INITIALIZE FOR PURCHASE, PSAM MAC1
//! with DPK diversification, DEBIT FOR PURCHASE with MAC1 check, TAC and MAC2, PSAM MAC2 check)
//! and a `CanonicalTx` built, over a population of cards.
//!
//! `cargo bench -p conformance --bench flows`

#![allow(missing_docs)]

use std::hint::black_box;

use card_standards::crypto::Algorithm;
use card_standards::{CardSerial, Industry, Scheme, TerminalId};
use chrono::NaiveDate;
use conformance::{CardProfile, IssuerKeys, LoadHost, Psam, SimCard, Terminal, TerminalConfig};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const CARDS: u32 = 1024;

fn population(scheme: Scheme, alg: Algorithm) -> (Vec<SimCard>, Terminal) {
    let keys = IssuerKeys::test(alg);
    let cards: Vec<SimCard> = (0..CARDS)
        .map(|i| {
            let mut serial = CardProfile::test_serial(scheme);
            serial.0[6..].copy_from_slice(&i.to_be_bytes());
            let mut profile = CardProfile::new(scheme, CardSerial(serial.0), keys);
            profile.balance = 1_000_000;
            SimCard::personalise(&profile).expect("a valid profile")
        })
        .collect();
    let mut terminal = Terminal::new(
        TerminalConfig::new("BENCH", Industry::Bus),
        Psam::new(TerminalId([0, 0, 0, 0, 0, 1])),
        LoadHost::new(),
    );
    terminal
        .psam_mut()
        .add_key(CardProfile::test_issuer(scheme), 1, alg, keys.mpk);
    (cards, terminal)
}

fn purchases(c: &mut Criterion) {
    let at = NaiveDate::from_ymd_opt(2026, 11, 22)
        .and_then(|d| d.and_hms_opt(8, 15, 0))
        .expect("a valid time");
    let mut group = c.benchmark_group("purchase_flow");
    group.throughput(Throughput::Elements(1));
    for alg in [Algorithm::TripleDes, Algorithm::Sm4] {
        let (mut cards, mut terminal) = population(Scheme::Mot, alg);
        let mut next = 0usize;
        group.bench_function(alg.as_str(), |b| {
            b.iter(|| {
                let card = &mut cards[next % CARDS as usize];
                next += 1;
                let tx = terminal
                    .purchase(card, Scheme::Mot, 1, at)
                    .expect("the purchase completes");
                black_box(tx)
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(6));
    targets = purchases
}
criterion_main!(benches);
