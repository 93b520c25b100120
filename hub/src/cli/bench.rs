//! `hutong bench …`: measured speed of the hub's hot paths, each printed beside the physical
//! limit measured in the same run. Benchmarks are not part of the test run.
//!
//! Rates and ratios here are floating point; they are measurements, never money.
#![allow(clippy::float_arithmetic)]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use card_standards::crypto::{self, Algorithm, IssuerTacKey, Key16, PurchaseData};
use card_standards::{CardSerial, Mac4, TerminalId, TxType};
use clap::{Args, Subcommand};

/// `hutong bench …`
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// TAC verifications per second per core (3DES and SM4), card-key diversification included,
    /// beside `openssl speed` of the same ciphers.
    Tac(TacArgs),
    /// Closing a generated settlement window of N records, beside a bare GROUP BY of the rows.
    Clear(super::bench_clear::ClearBenchArgs),
    /// Ingest speed per format — parse + translate + verify + store — on SQLite (and on
    /// PostgreSQL when DATABASE_URL is set), beside `wc -l` of the same file (the read limit)
    /// and `sqlite3 :memory: .import` of the same records as CSV (a naive load).
    Ingest(super::bench_ingest::IngestBenchArgs),
    /// A simulated day through upload (mTLS) → ingest → clear on SQLite (and PostgreSQL when
    /// DATABASE_URL is set), records/s per stage and end to end, beside `sqlite3 .import` and
    /// PostgreSQL `COPY` of the same records as CSV.
    E2e(super::bench_e2e::E2eBenchArgs),
}

/// Arguments of `bench tac`.
#[derive(Debug, Args)]
pub struct TacArgs {
    /// Seconds to run each algorithm.
    #[arg(long, default_value_t = 3)]
    seconds: u64,
    /// Skip the `openssl speed` comparison.
    #[arg(long)]
    no_openssl: bool,
}

/// Runs `hutong bench …`.
pub(crate) fn run(cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Tac(args) => tac(&args),
        BenchCommand::Clear(args) => super::bench_clear::run(&args),
        BenchCommand::Ingest(args) => super::bench_ingest::run(&args),
        BenchCommand::E2e(args) => super::bench_e2e::run(&args),
    }
}

/// One clearing-side record: what TAC verification needs.
struct Record {
    serial: CardSerial,
    data: PurchaseData,
    tac: Mac4,
}

fn records(alg: Algorithm, mtk: &Key16, n: u32) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let mut serial = [0u8; 10];
            serial[2..4].copy_from_slice(&[0x26, 0x60]);
            serial[6..].copy_from_slice(&i.wrapping_mul(2_654_435_761).to_be_bytes());
            let serial = CardSerial(serial);
            let data = PurchaseData {
                amount: 100 + i % 900,
                tx_type: TxType::EP_PURCHASE,
                terminal: TerminalId([0x37, 0x02, 0x00, 0x01, 0x00, 0x50]),
                terminal_seq: i,
                date_time: [0x20, 0x26, 0x11, 0x21, 0x08, 0x15, 0x02],
            };
            let dtk = crypto::diversify(alg, mtk, &serial.diversification_factor());
            let tac = crypto::purchase_tac(alg, &dtk, &data);
            Record { serial, data, tac }
        })
        .collect()
}

/// Cipher blocks one verification costs, in units of the algorithm's block cipher: 3DES —
/// 2 triple-DES blocks (diversification) + 3 single-DES blocks (MAC over 24 bytes) = 3 triple-DES
/// equivalents; SM4 — 1 block (diversification) + 2 blocks (MAC over 32 bytes). Key schedules
/// (one per card key) come on top.
fn blocks_per_verification(alg: Algorithm) -> f64 {
    match alg {
        Algorithm::TripleDes => 3.0,
        Algorithm::Sm4 => 3.0,
    }
}

fn measure(alg: Algorithm, seconds: u64) -> (u64, Duration) {
    let mtk: Key16 = "11223344556677888877665544332211"
        .parse()
        .expect("constant key");
    let issuer = IssuerTacKey::new(alg, &mtk);
    let recs = records(alg, &mtk, 4096);
    let budget = Duration::from_secs(seconds);
    let start = Instant::now();
    let mut verified = 0u64;
    while start.elapsed() < budget {
        let ok = recs
            .iter()
            .filter(|r| issuer.verify_purchase(&r.serial, &r.data, &r.tac))
            .count();
        assert_eq!(ok, recs.len(), "every generated TAC verifies");
        verified += ok as u64;
    }
    (verified, start.elapsed())
}

/// Runs `openssl speed -evp CIPHER -bytes 16384` and returns bytes per second.
fn openssl_speed(cipher: &str, seconds: u64) -> anyhow::Result<f64> {
    let out = std::process::Command::new("openssl")
        .args([
            "speed",
            "-evp",
            cipher,
            "-bytes",
            "16384",
            "-seconds",
            &seconds.to_string(),
        ])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with(cipher))
        .ok_or_else(|| anyhow::anyhow!("openssl speed printed no line for {cipher}"))?;
    let kbytes: f64 = line
        .split_whitespace()
        .last()
        .and_then(|v| v.trim_end_matches('k').parse().ok())
        .ok_or_else(|| anyhow::anyhow!("cannot read openssl's figure from {line:?}"))?;
    Ok(kbytes * 1000.0)
}

fn tac(args: &TacArgs) -> anyhow::Result<ExitCode> {
    println!("TAC verification, one core, card DTK diversified from the issuer MTK per record");
    println!(
        "{:<6} {:>16} {:>22} {:>22} {:>8}",
        "alg", "verifications/s", "cipher blocks/s used", "openssl blocks/s", "ratio"
    );
    for (alg, cipher, block) in [
        (Algorithm::TripleDes, "des-ede3-cbc", 8.0),
        (Algorithm::Sm4, "sm4-cbc", 16.0),
    ] {
        let (n, elapsed) = measure(alg, args.seconds);
        let per_sec = n as f64 / elapsed.as_secs_f64();
        let used = per_sec * blocks_per_verification(alg);
        let (limit, ratio) = if args.no_openssl {
            ("-".to_string(), "-".to_string())
        } else {
            let blocks = openssl_speed(cipher, args.seconds)? / block;
            (format!("{blocks:.0}"), format!("{:.2}", used / blocks))
        };
        println!(
            "{:<6} {:>16.0} {:>22.0} {:>22} {:>8}",
            alg.as_str(),
            per_sec,
            used,
            limit,
            ratio
        );
    }
    println!(
        "(ratio = cipher blocks/s our verification pushes / blocks/s of `openssl speed -evp <cipher> -bytes 16384`)"
    );
    Ok(ExitCode::SUCCESS)
}
