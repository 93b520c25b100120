//! Benchmark (ignored; run by hand): the card audit over N stored records beside a bare
//! `SELECT … ORDER BY card` of the same rows.
//!
//! ```sh
//! HUTONG_BENCH_RECORDS=1000000 cargo test --release -p hub --test reconcile -- --ignored --nocapture bench
//! ```

// Timing only: the floats here are seconds and rates, never money.
#![allow(clippy::float_arithmetic)]

use std::time::Instant;

use hub::store::Store;
use hub::store::testing::TestDb;

async fn fill(store: &Store, n: usize) {
    crate::data::participants(store).await;
    const PER_CARD: usize = 10;
    const PER_FILE: usize = 50_000;
    let received = crate::data::at("2026-11-21T10:00:00Z");
    let mut i = 0usize;
    while i < n {
        let rows = PER_FILE.min(n - i);
        let recs: Vec<_> = (i..i + rows)
            .map(|k| {
                let (card, seq) = (k / PER_CARD, (k % PER_CARD) as u16);
                let before = 100_000 - i64::from(seq) * 200;
                let mut r = crate::data::Rec::local(card as u64, seq, before, 200, u32::from(seq));
                r.terminal_seq = k as u32;
                r
            })
            .collect();
        crate::data::file(store, "RZ", received, &recs).await;
        i += rows;
    }
    hub::store::bench::analyze(store).await.unwrap();
}

async fn bare(store: &Store) -> u64 {
    let (sql, _) = hub::store::reconcile::audit_sql(None);
    hub::store::testing::count_rows(store, &sql).await.unwrap()
}

async fn measure(label: &str, store: &Store, n: usize) {
    let t = Instant::now();
    fill(store, n).await;
    eprintln!(
        "{label}: {n} records stored in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    for _ in 0..2 {
        let t = Instant::now();
        let rows = bare(store).await;
        let bare_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let (cards, records, findings) = hub::reconcile::audit_all(store).await.unwrap();
        let audit_s = t.elapsed().as_secs_f64();
        assert_eq!((rows, records, findings), (n as u64, n as u64, 0));
        eprintln!(
            "{label}: bare SELECT … ORDER BY card {rows} rows in {bare_s:.2} s ({:.0} rows/s); card audit {records} records / {cards} cards in {audit_s:.2} s ({:.0} records/s)",
            rows as f64 / bare_s,
            records as f64 / audit_s
        );
    }
}

#[tokio::test]
#[ignore]
async fn bench_card_audit() {
    let n: usize = std::env::var("HUTONG_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::sqlite(dir.path()).await.unwrap();
    measure("SQLite", &db.store, n).await;
    if let Some(pg) = TestDb::postgres().await.unwrap() {
        measure("PostgreSQL", &pg.store, n).await;
    }
}
