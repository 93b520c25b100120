//! The same generated day cleared on SQLite and on PostgreSQL gives the same figures, every one.

use hub::clearing::{self, ClearingSettings};
use hub::store::Timestamp;
use hub::store::testing::TestDb;
use reconciliation::FeeSchedule;

use crate::window::{Rec, day, file, participants};

const CODES: [&str; 5] = ["QD", "RZ", "MOT", "MOHURD", "BANK"];
const INDUSTRIES: [&str; 5] = ["bus", "metro", "ferry", "retail", "highway"];
const SCHEMES: [&str; 4] = ["local", "mohurd", "mot", "pboc"];

/// A small deterministic generator (xorshift64*), so both databases get the same day.
struct Gen(u64);

impl Gen {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

async fn generate_and_clear(db: &TestDb) -> String {
    participants(&db.store, &CODES).await;
    let mut g = Gen(0x5EED);
    for f in 0..12 {
        let sender = CODES[f % CODES.len()];
        let n = 50 + g.next(100);
        let recs: Vec<Rec<'_>> = (0..n)
            .map(|_| {
                let kind = if g.next(10) == 0 { "load" } else { "purchase" };
                let amount = if kind == "load" {
                    1000 * (1 + g.next(20) as i64)
                } else {
                    100 + g.next(900) as i64
                };
                (
                    CODES[g.next(CODES.len())],
                    sender,
                    SCHEMES[g.next(SCHEMES.len())],
                    INDUSTRIES[g.next(INDUSTRIES.len())],
                    kind,
                    amount,
                )
            })
            .collect();
        let received = Timestamp::from_datetime(
            chrono::DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
                .unwrap()
                .into(),
        );
        file(&db.store, sender, received, "accepted", &recs).await;
    }
    let settings = ClearingSettings {
        fees: FeeSchedule::from_toml(
            r#"
            [[fee]]
            payer = "acquirer"
            payee = "hub"
            rate = "0.0015"
            [[fee]]
            industry = "retail"
            payer = "acquirer"
            payee = "issuer"
            rate = "0.0070"
            min_fen = 10
            [[fee]]
            scheme = "pboc"
            payer = "issuer"
            payee = "acquirer"
            rate = "0.0035"
            fixed_fen = 1
            "#,
        )
        .unwrap(),
        ..ClearingSettings::default()
    };
    let now = Timestamp::from_datetime(
        chrono::DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z")
            .unwrap()
            .into(),
    );
    clearing::close_window(&db.store, &settings, day(21), now, false)
        .await
        .unwrap();
    serde_json::to_string_pretty(
        &clearing::positions(&db.store, &settings, day(21))
            .await
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn the_same_day_clears_to_the_same_figures_on_sqlite_and_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = TestDb::sqlite(dir.path()).await.unwrap();
    let on_sqlite = generate_and_clear(&sqlite).await;
    let Some(pg) = TestDb::postgres().await.unwrap() else {
        eprintln!("DATABASE_URL is not set: PostgreSQL not compared");
        return;
    };
    let on_postgres = generate_and_clear(&pg).await;
    assert!(on_sqlite.contains("\"fee_fen\""), "figures were produced");
    assert_eq!(on_sqlite, on_postgres);
}
