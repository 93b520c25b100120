//! The `hutong ingest` binary: a summary of every pending file, a crash in the middle of a
//! file (SIGKILL) that leaves it `received` and nothing applied, and a large file ingested in
//! flat memory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use adapters::Format;
use adapters::sample;
use card_standards::Scheme;
use hub::store::{Direction, FileStatus, NewFile, NewParticipant, ParticipantScheme, Store};
use hub::vault::Vault;

use crate::lab::scalar;

/// A data directory with the sample participants and routes, and a configuration whose window
/// accepts the synthetic records' fixed dates whenever the tests run.
struct DataDir {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    config: PathBuf,
    store: Store,
}

async fn data_dir() -> DataDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let store = Store::open(&hub::store::DbTarget::DataDir(dir.clone()))
        .await
        .unwrap();
    for (code, scheme) in [
        ("QDT01", Scheme::Local),
        ("MOHURD-CC", Scheme::Mohurd),
        ("TUNION", Scheme::Mot),
        ("BANK", Scheme::Pboc),
    ] {
        store
            .add_participant(&NewParticipant {
                code: certs::ParticipantCode::new(code).unwrap(),
                scheme: ParticipantScheme::Scheme(scheme),
                name: code.into(),
                endpoint: None,
                endpoint_ca_pem: None,
                endpoint_cert_path: None,
                endpoint_key_path: None,
                settlement_account: Some(hub::demo::setup::simulated_settlement_account(code)),
            })
            .await
            .unwrap();
        store.add_route(scheme, "*", "*", code).await.unwrap();
    }
    let config = tmp.path().join("hutong.toml");
    std::fs::write(
        &config,
        "[ingest]\nwindow_days = 36500\nahead_seconds = 3153600000\n",
    )
    .unwrap();
    DataDir {
        _tmp: tmp,
        dir,
        config,
        store,
    }
}

/// Stores a synthetic file of `n` records (sequence number `seq`, which also keeps its
/// natural keys apart from other files') as QDT01's upload; returns its id.
async fn store_synthetic(d: &DataDir, format: Format, n: u64, seq: u64, name: &str) -> i64 {
    let path = d.dir.join(name);
    {
        let tables = card_standards::CodeTables::builtin();
        let base = sample::records_for(format, tables);
        let mut meta = sample::sample_meta(format);
        meta.seq = seq;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut sink = adapters::create(format, &mut out, &meta, tables).unwrap();
        for i in 0..n {
            sink.write(&sample::synthetic_record(&base, i + seq * 10_000_000))
                .unwrap();
        }
        sink.close().unwrap();
    }
    let vault = Vault::open(&d.dir).unwrap();
    let staged = vault.stage_file(&path).await.unwrap();
    let (sha256, bytes) = (staged.sha256.clone(), staged.bytes as i64);
    let stored_path = vault.commit(staged, Direction::In, "QDT01").await.unwrap();
    std::fs::remove_file(&path).unwrap();
    let (rec, _) = d
        .store
        .record_file(&NewFile {
            direction: Direction::In,
            sender: Some("QDT01".into()),
            addressee: None,
            name: name.into(),
            sha256,
            bytes,
            status: FileStatus::Received,
            stored_path,
        })
        .await
        .unwrap();
    rec.id
}

fn ingest_cmd(d: &DataDir) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hutong"));
    cmd.arg("ingest")
        .arg("--data-dir")
        .arg(&d.dir)
        .arg("--config")
        .arg(&d.config)
        .env_remove("DATABASE_URL");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "hutong ingest failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `hutong ingest` under `/usr/bin/time` and returns its peak resident memory in KiB.
fn peak_kib(d: &DataDir) -> u64 {
    let report = d.dir.join("time.txt");
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-f").arg("%M").arg("-o").arg(&report);
    cmd.arg(env!("CARGO_BIN_EXE_hutong"))
        .arg("ingest")
        .arg("--data-dir")
        .arg(&d.dir)
        .arg("--config")
        .arg(&d.config)
        .env_remove("DATABASE_URL");
    run(&mut cmd);
    std::fs::read_to_string(&report)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn hutong_ingest_processes_every_pending_file_once_and_prints_a_summary() {
    let d = data_dir().await;
    let a = store_synthetic(&d, Format::LocalCsv, 300, 1, "A.csv").await;
    let b = store_synthetic(&d, Format::Pboc, 200, 2, "B.txt").await;
    let out = run(ingest_cmd(&d).arg("--json"));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["file_id"], a);
    assert_eq!(lines[0]["status"], "accepted");
    assert_eq!(lines[0]["accepted"], 300);
    assert_eq!(lines[1]["file_id"], b);
    assert_eq!(lines[1]["format"], "pboc", "{lines:?}");
    assert_eq!(lines[1]["accepted"], 200, "{lines:?}");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        stderr.contains("500 records, 500 accepted, 0 rejected"),
        "{stderr}"
    );
    // The result files are in QDT01's outbox.
    assert_eq!(
        d.store
            .files_of("QDT01", Direction::Out)
            .await
            .unwrap()
            .len(),
        2
    );
    // Nothing pending: a second run does nothing.
    let again = run(&mut ingest_cmd(&d));
    assert!(String::from_utf8_lossy(&again.stderr).contains("ingested 0 file(s)"));
    // A keys file that does not parse is bad input (exit 2), never echoing the key.
    let keys = d.dir.join("keys.toml");
    std::fs::write(&keys, "[[issuer]]\nscheme = \"mot\"\nissuer = \"0101\"\ncity = \"3702\"\nalg = \"sm4\"\nmtk = \"ABCDEF0123\"\n").unwrap();
    let bad = ingest_cmd(&d).arg("--keys").arg(&keys).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("mtk") && !stderr.contains("ABCDEF0123"),
        "{stderr}"
    );
}

/// Waits until the SQLite WAL has grown past `bytes` (the ingest is writing records).
fn wait_for_wal(dir: &Path, bytes: u64, limit: Duration) -> bool {
    let wal = dir.join("hutong.db-wal");
    let started = Instant::now();
    while started.elapsed() < limit {
        if std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) > bytes {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[tokio::test]
async fn an_ingest_killed_midway_applies_nothing_and_the_next_run_ingests_the_file_whole_in_flat_memory()
 {
    const N: u64 = 200_000;
    let d = data_dir().await;
    let id = store_synthetic(&d, Format::Mohurd, N, 1, "BIG.txt").await;
    let mut child = ingest_cmd(&d)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let writing = wait_for_wal(&d.dir, 2 << 20, Duration::from_secs(60));
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    assert!(writing, "the ingest never started writing");
    let f = d.store.file(id).await.unwrap().unwrap();
    assert_eq!(
        f.status,
        FileStatus::Received,
        "the crash left the file to retry"
    );
    assert_eq!(scalar(&d.store, "SELECT COUNT(*) FROM records").await, 0);
    assert_eq!(
        scalar(&d.store, "SELECT COUNT(*) FROM file_results").await,
        0
    );

    // The restart ingests the whole file — and its peak memory is that of a small file.
    let big_peak = peak_kib(&d);
    assert_eq!(
        d.store.file(id).await.unwrap().unwrap().status,
        FileStatus::Accepted
    );
    assert_eq!(
        scalar(
            &d.store,
            &format!("SELECT COUNT(*) FROM records WHERE file_id = {id}")
        )
        .await,
        N as i64
    );
    let small = data_dir().await;
    store_synthetic(&small, Format::Mohurd, N / 10, 1, "SMALL.txt").await;
    let small_peak = peak_kib(&small);
    eprintln!(
        "peak RSS: {big_peak} KiB for {N} records, {small_peak} KiB for {}",
        N / 10
    );
    // Holding 200 000 records (≈ 450 bytes each as canonical records, more as rows) would add
    // ≈ 90 MB; streaming adds only batches in flight and SQLite's bounded page cache.
    assert!(
        big_peak < small_peak + 24 * 1024,
        "peak RSS {big_peak} KiB for {N} records against {small_peak} KiB for {}",
        N / 10
    );
}
