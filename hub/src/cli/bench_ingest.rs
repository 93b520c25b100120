//! `hutong bench ingest`: what ingest costs per format, beside the limits of the machine.
//!
//! Per format: a file of N synthetic records (the sample records with their cards, counters,
//! amounts and times varied, and **genuine TACs** from the sample issuers' keys, so that every
//! record is verified), then, in one run:
//!
//! - `wc -l FILE`: the read limit (scanning the bytes once);
//! - `sqlite3 :memory: .import` of the same records as a CSV of the stored columns: a naive
//!   load with no parsing, checking or indexes of ours;
//! - hutong's ingest of the file on SQLite (a fresh data directory, WAL, synchronous=FULL) and,
//!   when `DATABASE_URL` is set, on PostgreSQL (a fresh schema): detect, parse, translate,
//!   check (route, window, amount, blacklist), verify every TAC, store in one transaction;
//! - the result file the sender gets (every record listed), timed apart.
//!
//! Rates and ratios here are floating point: measurements, never money.
#![allow(clippy::float_arithmetic)]

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use adapters::{Format, sample};
use card_standards::{CanonicalTx, CardSerial, CodeTables, Scheme, TxKind};
use chrono::{Duration, Utc};
use clap::Args;

use super::BadInput;
use crate::ingest::keys::IssuerKeys;
use crate::ingest::{IngestConfig, Ingestor};
use crate::store::testing::TestDb;
use crate::store::{Direction, FileStatus, NewFile, Store};
use crate::vault::Vault;

/// Arguments of `bench ingest`.
#[derive(Debug, Args)]
pub struct IngestBenchArgs {
    /// Records per file.
    #[arg(long, default_value_t = 200_000)]
    records: u64,
    /// Formats to measure (default: all five transaction formats).
    #[arg(long = "format", value_parser = |s: &str| s.parse::<Format>().map_err(|_| "expected hutong-xml, local-csv, mohurd, mot or pboc".to_string()))]
    formats: Vec<Format>,
    /// Skip PostgreSQL even when DATABASE_URL is set.
    #[arg(long)]
    no_postgres: bool,
    /// Work in this directory (default: a temporary one, removed after).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

const SENDER: &str = "QDT01";

/// The `i`-th synthetic record: a sample record the format carries, its card, counters,
/// amount and time varied, its TAC recomputed with the sample issuer's key.
fn synthetic(base: &[CanonicalTx], i: u64, now_local: chrono::NaiveDateTime) -> CanonicalTx {
    let mut tx = base[(i % base.len() as u64) as usize].clone();
    // A different card every record: the serial's last 8 digits (decimal, so that T-Union
    // card numbers stay valid).
    let mut digits = tx.card_serial.to_string();
    let tail = format!("{:08}", (i / base.len() as u64) % 100_000_000);
    digits.replace_range(12..20, &tail);
    tx.card_serial = digits.parse::<CardSerial>().unwrap_or(tx.card_serial);
    tx.card_seq = (i % 65_536) as u16;
    tx.terminal_seq = (i % u64::from(u32::MAX)) as u32;
    tx.amount_fen = match tx.kind() {
        TxKind::Load => 1_000 + (i % 9_000) as i64,
        _ => 100 + (i % 900) as i64,
    };
    tx.balance_before_fen = 50_000;
    tx.tx_time = now_local - Duration::seconds(3_600 + (i % 86_400) as i64);
    if tx.tac.is_some()
        && let Some(key) = sample::sample_key(&tx)
    {
        tx.tac = Some(match tx.kind() {
            TxKind::Load => key.load_tac(&tx.card_serial, &tx.load_data().expect("in range")),
            _ => key.purchase_tac(&tx.card_serial, &tx.purchase_data().expect("in range")),
        });
    }
    tx
}

/// Writes the benchmark file of `format` and the same records as CSV for `sqlite3 .import`.
fn generate(format: Format, n: u64, file: &Path, csv: &Path) -> anyhow::Result<()> {
    let tables = CodeTables::builtin();
    let base = sample::records_for(format, tables);
    let now = crate::settings::HubSettings::default().local_time(Utc::now());
    let mut meta = sample::sample_meta(format);
    meta.sender = SENDER.into();
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(file)?);
    let mut csv_out = BufWriter::with_capacity(1 << 20, std::fs::File::create(csv)?);
    writeln!(
        csv_out,
        "record_no,natural_key,scheme,issuer_code,city_code,card_serial,card_type,medium,tx_type,amount_fen,balance_before_fen,card_seq,terminal,terminal_seq,tx_time,key_version,alg_id,tac,acquirer,industry"
    )?;
    {
        let mut sink = adapters::create(format, &mut out, &meta, tables)?;
        for i in 0..n {
            let tx = synthetic(&base, i, now);
            sink.write(&tx)?;
            let nk = hex::encode(crate::store::natural_key_bytes(&tx.natural_key()));
            writeln!(
                csv_out,
                "{},{nk},{},{},{},{},{},{:?},{},{},{},{},{},{},{},{},{},{},{},{}",
                i + 1,
                tx.scheme,
                tx.issuer.issuer_code,
                tx.issuer.city_code,
                tx.card_serial,
                tx.card_type.as_str(),
                tx.medium,
                tx.tx_type.0,
                tx.amount_fen,
                tx.balance_before_fen,
                tx.card_seq,
                tx.terminal,
                tx.terminal_seq,
                tx.tx_time.format("%Y-%m-%d %H:%M:%S"),
                tx.key_version,
                tx.alg_id,
                tx.tac.map(|t| t.to_string()).unwrap_or_default(),
                tx.acceptance.acquirer,
                tx.acceptance.industry.as_str()
            )?;
        }
        sink.close()?;
    }
    out.flush()?;
    csv_out.flush()?;
    Ok(())
}

/// Seconds a command takes (its output discarded); `None` if it cannot run.
pub(super) fn time_command(program: &str, args: &[&str]) -> Option<f64> {
    let started = Instant::now();
    let status = std::process::Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    status.success().then(|| started.elapsed().as_secs_f64())
}

fn keys() -> IssuerKeys {
    let mut text = String::new();
    for (s, i, c, alg, mtk) in sample::SAMPLE_KEYS {
        text.push_str(&format!(
            "[[issuer]]\nscheme = \"{s}\"\nissuer = \"{i}\"\ncity = \"{c}\"\nalg = \"{}\"\nmtk = \"{mtk}\"\n",
            alg.as_str()
        ));
    }
    IssuerKeys::from_toml(&text, "sample keys").unwrap_or_default()
}

/// Sets up participants and routes, stores `file` as an upload of the sender, ingests it and
/// writes its result file; returns (ingest seconds, result seconds, accepted).
async fn ingest_once(store: Store, data: &Path, file: &Path) -> anyhow::Result<(f64, f64, i64)> {
    use crate::store::{NewParticipant, ParticipantScheme};
    for (code, scheme) in [
        (SENDER, Scheme::Local),
        ("MOHURD-CC", Scheme::Mohurd),
        ("TUNION", Scheme::Mot),
        ("BANK", Scheme::Pboc),
    ] {
        store
            .add_participant(&NewParticipant {
                code: certs::ParticipantCode::new(code)?,
                scheme: ParticipantScheme::Scheme(scheme),
                name: code.into(),
                endpoint: None,
                endpoint_ca_pem: None,
                endpoint_cert_path: None,
                endpoint_key_path: None,
                settlement_account: Some(crate::demo::setup::simulated_settlement_account(code)),
            })
            .await?;
        store.add_route(scheme, "*", "*", code).await?;
    }
    let vault = Vault::open(data)?;
    let staged = vault.stage_file(file).await?;
    let (sha256, bytes) = (staged.sha256.clone(), i64::try_from(staged.bytes)?);
    let stored_path = vault.commit(staged, Direction::In, SENDER).await?;
    let (record, _) = store
        .record_file(&NewFile {
            direction: Direction::In,
            sender: Some(SENDER.into()),
            addressee: None,
            name: file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            sha256,
            bytes,
            status: FileStatus::Received,
            stored_path,
        })
        .await?;
    let config = IngestConfig {
        keys: Arc::new(keys()),
        ..IngestConfig::default()
    };
    let ingestor = Ingestor::new(store.clone(), vault, config, None);
    let started = Instant::now();
    let report = ingestor
        .ingest_file(record.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the file was not ingested"))?;
    let ingest_s = started.elapsed().as_secs_f64();
    if report.status != FileStatus::Accepted {
        anyhow::bail!(
            "the benchmark file was not accepted whole: {} accepted, {} rejected, {:?}",
            report.accepted,
            report.rejected,
            report.reason
        );
    }
    let started = Instant::now();
    ingestor.deposit_outputs(record.id).await?;
    let result_s = started.elapsed().as_secs_f64();
    Ok((ingest_s, result_s, report.accepted))
}

pub(super) fn rate(n: u64, s: f64) -> String {
    if s > 0.0 {
        format!("{:.0}", n as f64 / s)
    } else {
        "-".into()
    }
}

/// Runs `hutong bench ingest`.
pub(crate) fn run(args: &IngestBenchArgs) -> anyhow::Result<ExitCode> {
    let formats = if args.formats.is_empty() {
        Format::TRANSACTIONS.to_vec()
    } else {
        args.formats.clone()
    };
    if let Some(f) = formats.iter().find(|f| f.is_blacklist()) {
        return Err(BadInput(format!("{f} is not a transaction format")).into());
    }
    let tmp;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let postgres = !args.no_postgres
        && std::env::var("DATABASE_URL")
            .ok()
            .is_some_and(|u| !u.is_empty());
    let n = args.records;
    println!(
        "ingest benchmark: {n} records per format, every TAC verified (sample issuers' keys), {} core(s)",
        std::thread::available_parallelism().map_or(1, |p| p.get())
    );
    println!(
        "{:<11} {:>8} {:>9} {:>11} {:>11} {:>10} {:>11} {:>10} {:>11} {:>9}",
        "format",
        "MB",
        "wc -l s",
        "wc lines/s",
        ".import s",
        "sqlite s",
        "sqlite r/s",
        "pg s",
        "pg r/s",
        "result s"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    for format in formats {
        let file = dir.join(format!("bench-{format}.dat"));
        let csv = dir.join(format!("bench-{format}.csv"));
        generate(format, n, &file, &csv)?;
        let mb = std::fs::metadata(&file)?.len() as f64 / 1e6;
        let file_s = file.display().to_string();
        let wc = time_command("wc", &["-l", &file_s]);
        let import = time_command(
            "sqlite3",
            &[
                ":memory:",
                "-cmd",
                ".mode csv",
                &format!(".import {} t", csv.display()),
            ],
        );
        let data = dir.join(format!("data-{format}"));
        let _ = std::fs::remove_dir_all(&data);
        let (sqlite_s, result_s, accepted) = runtime.block_on(async {
            let db = TestDb::sqlite(&data).await?;
            let out = ingest_once(db.store.clone(), &data, &file).await;
            db.store.close().await;
            out
        })?;
        if u64::try_from(accepted).unwrap_or(0) != n {
            anyhow::bail!("{format}: {accepted} of {n} records accepted");
        }
        let pg = if postgres {
            let pg_data = dir.join(format!("pgdata-{format}"));
            Some(runtime.block_on(async {
                let db = TestDb::postgres()
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("DATABASE_URL"))?;
                let out = ingest_once(db.store.clone(), &pg_data, &file).await;
                db.store.close().await;
                out
            })?)
        } else {
            None
        };
        let fmt_s = |s: Option<f64>| s.map_or("-".to_string(), |s| format!("{s:.2}"));
        println!(
            "{:<11} {:>8.1} {:>9} {:>11} {:>11} {:>10.2} {:>11} {:>10} {:>11} {:>9.2}",
            format.as_str(),
            mb,
            fmt_s(wc),
            wc.map_or("-".into(), |s| rate(n, s)),
            fmt_s(import),
            sqlite_s,
            rate(n, sqlite_s),
            fmt_s(pg.map(|p| p.0)),
            pg.map_or("-".into(), |p| rate(n, p.0)),
            result_s
        );
        let _ = std::fs::remove_file(&file);
        let _ = std::fs::remove_file(&csv);
        let _ = std::fs::remove_dir_all(&data);
    }
    println!(
        "(sqlite/pg s: detect + parse + translate + check + TAC + store + commit; result s: the result file, apart)"
    );
    Ok(ExitCode::SUCCESS)
}
