//! TAC verification per core, with the diversification of each card's DTK from the issuer's
//! master key included (what a clearing centre does per record).
//!
//! `cargo bench -p card-standards --bench tac`. For a figure beside `openssl speed` in the same
//! run, use `hutong bench tac`.

#![allow(missing_docs)]

use std::hint::black_box;

use card_standards::crypto::{self, Algorithm, IssuerTacKey, Key16, PurchaseData};
use card_standards::{CardSerial, TerminalId, TxType};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn records(
    alg: Algorithm,
    mtk: &Key16,
    n: u32,
) -> Vec<(CardSerial, PurchaseData, card_standards::Mac4)> {
    (0..n)
        .map(|i| {
            let mut serial = [0u8; 10];
            serial[6..].copy_from_slice(&i.to_be_bytes());
            let serial = CardSerial(serial);
            let data = PurchaseData {
                amount: 100 + i,
                tx_type: TxType::EP_PURCHASE,
                terminal: TerminalId([0, 0, 1, 0, 0, 0x50]),
                terminal_seq: i,
                date_time: [0x20, 0x26, 0x11, 0x21, 0x08, 0x15, 0x02],
            };
            let dtk = crypto::diversify(alg, mtk, &serial.diversification_factor());
            let tac = crypto::purchase_tac(alg, &dtk, &data);
            (serial, data, tac)
        })
        .collect()
}

fn verify(c: &mut Criterion) {
    let mtk: Key16 = "11223344556677888877665544332211".parse().unwrap();
    let mut group = c.benchmark_group("tac_verify_with_diversification");
    for alg in [Algorithm::TripleDes, Algorithm::Sm4] {
        let issuer = IssuerTacKey::new(alg, &mtk);
        let recs = records(alg, &mtk, 1024);
        group.throughput(Throughput::Elements(recs.len() as u64));
        group.bench_function(alg.as_str(), |b| {
            b.iter(|| {
                let ok = recs
                    .iter()
                    .filter(|(s, d, t)| issuer.verify_purchase(s, d, t))
                    .count();
                assert_eq!(black_box(ok), recs.len());
            })
        });
    }
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
