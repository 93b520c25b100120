//! `hutong simulate`: determinism, every clean record parses back and its TAC verifies, every
//! fault is where the ground truth says, the manifest and its companions parse, the CLI.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use adapters::hutong_xml::{blacklist, result};
use adapters::{Format, ReadOptions, ReasonCode};
use card_standards::crypto::{Algorithm, Key16};
use card_standards::{CanonicalTx, CardMedium, CodeTables, IssuerTacKey, TacCheck};
use chrono::NaiveDate;
use simulator::{self as simulate, Config, FaultKind, GroundTruth, KeysFile, Manifest, World};

use super::hutong;

const SEED: u64 = 20_261_122;

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hutong-sim-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A small day with every fault, rates high enough that each per-record fault occurs.
fn config() -> Config {
    let mut c = Config::new(SEED, day());
    c.taps = 3_000;
    c.cards = Some(600);
    c.max_file_records = 1_200;
    c.faults = "dup-record=0.004,tac=0.004,result-drop=0.02,result-alter=0.02,dup-file=1,clone=1,gap=2,blacklisted=2,late-file=2,truncated=1,bad-trailer=1"
        .parse()
        .unwrap();
    c
}

/// The shared small world, simulated once per test run.
fn world() -> &'static (PathBuf, Manifest, GroundTruth) {
    static WORLD: OnceLock<(PathBuf, Manifest, GroundTruth)> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tmp("shared");
        let s = simulate::run(&config(), &dir).expect("the simulation runs");
        (dir, s.manifest, s.truth)
    })
}

fn read_records(
    dir: &Path,
    path: &str,
    format: Format,
) -> (Vec<CanonicalTx>, adapters::Result<adapters::FileSummary>) {
    let file = BufReader::new(File::open(dir.join(path)).unwrap());
    let mut stream = adapters::open(format, file, ReadOptions::new(path)).unwrap();
    let mut records = Vec::new();
    for item in &mut stream {
        records.push(item.unwrap_or_else(|e| panic!("{path}: {e}")));
    }
    let summary = stream.finish();
    (records, summary)
}

fn all_files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

fn alg(name: &str) -> Algorithm {
    match name {
        "3des" => Algorithm::TripleDes,
        "sm4" => Algorithm::Sm4,
        other => panic!("alg {other}"),
    }
}

#[test]
fn same_seed_same_files_byte_for_byte() {
    let (a, _, _) = world();
    let b = tmp("again");
    simulate::run(&config(), &b).unwrap();
    let fa = all_files(a);
    let fb = all_files(&b);
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (name, bytes) in &fa {
        assert!(
            bytes == &fb[name],
            "{} differs between two runs",
            name.display()
        );
    }
    assert!(fa.len() > 20, "{} files", fa.len());
    // Another seed gives another day.
    let c = tmp("other-seed");
    let mut other = config();
    other.seed += 1;
    simulate::run(&other, &c).unwrap();
    assert_ne!(
        std::fs::read(a.join("keys.toml")).unwrap(),
        std::fs::read(c.join("keys.toml")).unwrap()
    );
    std::fs::remove_dir_all(&b).unwrap();
    std::fs::remove_dir_all(&c).unwrap();
}

#[test]
fn every_clean_record_parses_back_and_its_tac_verifies() {
    let (dir, manifest, truth) = world();
    // Keys the hub holds, from keys.toml.
    let keys: KeysFile =
        toml::from_str(&std::fs::read_to_string(dir.join("keys.toml")).unwrap()).unwrap();
    let held: HashMap<(String, String, String), IssuerTacKey> = keys
        .issuer
        .iter()
        .map(|k| {
            let mtk: Key16 = k.mtk.parse().unwrap();
            (
                (k.scheme.clone(), k.issuer.clone(), k.city.clone()),
                IssuerTacKey::new(alg(&k.alg), &mtk),
            )
        })
        .collect();
    assert_eq!(held.len(), 6, "Qingdao's and Rizhao's three issuers each");
    // Every issuer's key, rebuilt from the seed (what the partners hold).
    let world = World::build(SEED, day(), 0, CodeTables::builtin()).unwrap();
    let all: HashMap<(String, String, String), IssuerTacKey> = world
        .issuers
        .iter()
        .map(|i| {
            (
                (
                    i.scheme.to_string(),
                    i.id.issuer_code.to_string(),
                    i.id.city_code.to_string(),
                ),
                i.keys.tac_key(),
            )
        })
        .collect();
    let tampered: Vec<(String, u64)> = truth
        .faults
        .iter()
        .filter(|f| f.kind == FaultKind::Tac)
        .flat_map(|f| f.records.iter().map(|r| (r.file.clone(), r.record)))
        .collect();
    let (mut verified, mut unverified, mut m1) = (0, 0, 0);
    for f in manifest
        .file
        .iter()
        .filter(|f| f.expect == "accepted" || f.expect == "late")
    {
        let format: Format = f.format.parse().unwrap();
        let (records, summary) = read_records(dir, &f.path, format);
        let summary = summary.unwrap_or_else(|e| panic!("{}: {e}", f.path));
        assert_eq!(summary.records, f.records, "{}", f.path);
        assert_eq!(summary.total_fen, f.amount_fen, "{}", f.path);
        assert_eq!(summary.meta.sender, f.participant);
        assert_eq!(summary.meta.seq, f.seq);
        for (i, tx) in records.iter().enumerate() {
            let n = i as u64 + 1;
            let key = (
                tx.scheme.to_string(),
                tx.issuer.issuer_code.to_string(),
                tx.issuer.city_code.to_string(),
            );
            let is_tampered = tampered.contains(&(f.path.clone(), n));
            if tx.medium == CardMedium::MifareClassic {
                assert_eq!(tx.check_tac(&all[&key]).unwrap(), TacCheck::NotApplicable);
                m1 += 1;
                continue;
            }
            let want = if is_tampered {
                TacCheck::Invalid
            } else {
                TacCheck::Valid
            };
            assert_eq!(
                tx.check_tac(&all[&key]).unwrap(),
                want,
                "{} record {n}",
                f.path
            );
            match held.get(&key) {
                Some(k) => {
                    assert_eq!(tx.check_tac(k).unwrap(), want, "{} record {n}", f.path);
                    verified += 1;
                }
                None => unverified += 1,
            }
            assert_eq!(tx.acceptance.acquirer, f.participant);
            if f.expect == "accepted" {
                assert_eq!(tx.tx_time.date(), day());
            }
        }
    }
    assert!(
        verified > 1000 && unverified > 100 && m1 > 10,
        "{verified} {unverified} {m1}"
    );
    // The acquirers' totals in the ground truth are those of their files.
    for a in &truth.acquirers {
        let files: Vec<_> = manifest
            .file
            .iter()
            .filter(|f| f.participant == a.code && (f.expect == "accepted" || f.expect == "late"))
            .collect();
        assert_eq!(
            files.iter().map(|f| f.records).sum::<u64>(),
            a.in_files.records
        );
        assert_eq!(
            files.iter().map(|f| f.amount_fen).sum::<i64>(),
            a.in_files.amount_fen
        );
        let rejected: u64 = a.rejected.values().map(|s| s.records).sum();
        assert_eq!(
            a.accepted.records + rejected,
            a.in_files.records,
            "{}",
            a.code
        );
    }
}

#[test]
fn every_fault_kind_is_in_the_ground_truth_and_in_the_files() {
    let (dir, manifest, truth) = world();
    for kind in FaultKind::ALL {
        assert!(
            truth.faults.iter().any(|f| f.kind == kind),
            "{kind} missing from the ground truth"
        );
    }
    let read = |path: &str| -> Vec<CanonicalTx> {
        let format: Format = manifest
            .file
            .iter()
            .find(|f| f.path == path)
            .unwrap()
            .format
            .parse()
            .unwrap();
        read_records(dir, path, format).0
    };
    for f in &truth.faults {
        match f.kind {
            FaultKind::Truncated | FaultKind::BadTrailer => {
                let path = f.file.as_deref().unwrap();
                let entry = manifest.file.iter().find(|e| e.path == path).unwrap();
                let format: Format = entry.format.parse().unwrap();
                let file = BufReader::new(File::open(dir.join(path)).unwrap());
                let mut s = adapters::open(format, file, ReadOptions::new(path)).unwrap();
                for _ in &mut s {}
                let err = s.finish().unwrap_err();
                let want = if f.kind == FaultKind::Truncated {
                    ReasonCode::F01
                } else {
                    ReasonCode::F02
                };
                assert_eq!(err.reason_code(), Some(want), "{path}: {err}");
                assert_eq!(entry.expect, f.expect);
                // The complete file is delivered after it.
                let original = f.original.as_deref().unwrap();
                let pos = |p: &str| manifest.file.iter().position(|e| e.path == p).unwrap();
                assert!(pos(path) < pos(original));
            }
            FaultKind::DupFile => {
                let copy = std::fs::read(dir.join(f.file.as_deref().unwrap())).unwrap();
                let original = std::fs::read(dir.join(f.original.as_deref().unwrap())).unwrap();
                assert_eq!(copy, original);
            }
            FaultKind::DupRecord => {
                let [a, b] = &f.records[..] else {
                    panic!("{f:?}")
                };
                let ra = &read(&a.file)[a.record as usize - 1];
                let rb = &read(&b.file)[b.record as usize - 1];
                assert_eq!(ra.natural_key(), rb.natural_key());
                assert_eq!((a.expect.as_str(), b.expect.as_str()), ("accepted", "R03"));
            }
            FaultKind::Tac => {
                let r = &f.records[0];
                let tx = &read(&r.file)[r.record as usize - 1];
                assert_eq!(tx.card_serial.to_string(), f.card.as_ref().unwrap().card);
                assert!(f.expect == "R02" || f.expect == "tac_invalid");
            }
            FaultKind::Clone => {
                let seq = f.card_seq.expect("the clash's counter");
                let clash: Vec<CanonicalTx> = f
                    .records
                    .iter()
                    .filter(|r| r.card_seq == seq)
                    .map(|r| read(&r.file)[r.record as usize - 1].clone())
                    .collect();
                assert!(clash.len() >= 2, "{f:?}");
                assert_eq!(clash[0].card_serial, clash[1].card_serial);
                assert_eq!(clash[0].card_seq, clash[1].card_seq);
                assert_ne!(clash[0].natural_key(), clash[1].natural_key());
            }
            FaultKind::Gap => {
                let missing = f.missing.as_ref().unwrap();
                assert_eq!(Some(missing.card_seq), f.card_seq);
                let seqs: Vec<u16> = f
                    .records
                    .iter()
                    .filter(|r| r.kind != "load")
                    .map(|r| r.card_seq)
                    .collect();
                assert!(seqs.contains(&(missing.card_seq + 1)), "{f:?}");
                assert!(!seqs.contains(&missing.card_seq));
                // No file holds the missing transaction.
                for e in manifest.file.iter().filter(|e| e.expect == "accepted") {
                    assert!(
                        !read(&e.path)
                            .iter()
                            .any(|t| t.card_serial.to_string() == missing.card.card
                                && t.card_seq == missing.card_seq
                                && t.kind().as_str() == missing.kind)
                    );
                }
            }
            FaultKind::Blacklisted => {
                let effective = f.effective.unwrap();
                let bl = f.file.as_deref().unwrap();
                let reader = blacklist::reader(
                    BufReader::new(File::open(dir.join(bl)).unwrap()),
                    ReadOptions::new(bl),
                )
                .unwrap();
                let entries: Vec<_> = reader.map(Result::unwrap).collect();
                let card = &f.card.as_ref().unwrap().card;
                assert!(entries.iter().any(|e| e.card.to_string() == *card
                    && e.effective == effective
                    && e.action == blacklist::Action::Add));
                for r in &f.records {
                    let tx = &read(&r.file)[r.record as usize - 1];
                    assert_eq!(tx.tx_time >= effective, r.expect == "R04", "{r:?}");
                }
                assert!(f.records.iter().any(|r| r.expect == "R04"));
            }
            FaultKind::LateFile => {
                let path = f.file.as_deref().unwrap();
                let records = read(path);
                assert!(!records.is_empty());
                assert!(records.iter().all(|t| t.tx_time.date() < day()));
                assert_eq!(
                    manifest
                        .file
                        .iter()
                        .find(|e| e.path == path)
                        .unwrap()
                        .expect,
                    "late"
                );
            }
            FaultKind::ResultDrop | FaultKind::ResultAlter => {
                let path = f.file.as_deref().unwrap();
                let r = &f.records[0];
                let tx = &read(&r.file)[r.record as usize - 1];
                let reader = result::reader(
                    BufReader::new(File::open(dir.join(path)).unwrap()),
                    ReadOptions::new(path),
                )
                .unwrap();
                let results: Vec<_> = reader.map(Result::unwrap).collect();
                let found = results.iter().find(|e| e.natural_key() == tx.natural_key());
                if f.kind == FaultKind::ResultDrop {
                    assert!(found.is_none(), "{f:?}");
                } else {
                    let found = found.unwrap();
                    assert_eq!(Some(found.amount_fen), f.partner_amount_fen);
                    assert_ne!(found.amount_fen, tx.amount_fen);
                }
            }
        }
    }
}

#[test]
fn result_files_agree_with_the_ground_truth_and_the_xsd() {
    let (dir, manifest, truth) = world();
    let schema = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../adapters/schemas/result.xsd"
    );
    for p in &truth.partners {
        let path = dir.join(&p.results_file);
        let mut r = result::reader(
            BufReader::new(File::open(&path).unwrap()),
            ReadOptions::new(&p.results_file),
        )
        .unwrap();
        let n = (&mut r).map(Result::unwrap).count() as u64;
        let summary = r.finish().unwrap();
        assert_eq!(summary.day, day());
        assert_eq!(summary.meta.sender, p.code);
        assert_eq!(summary.totals.count, n);
        assert_eq!(n, p.declared.records);
        let dropped = truth
            .faults
            .iter()
            .filter(|f| f.kind == FaultKind::ResultDrop && f.participant == p.code)
            .count() as u64;
        assert_eq!(p.routed.records, n + dropped, "{}", p.code);
        assert!(manifest.result.iter().any(|e| e.path == p.results_file));
        xmllint(schema, &path);
    }
    // The hutong-xml transaction files and every blacklist validate against their XSDs too.
    let schemas = concat!(env!("CARGO_MANIFEST_DIR"), "/../adapters/schemas");
    for f in manifest
        .file
        .iter()
        .filter(|f| f.format == "hutong-xml" && f.expect != "F01")
    {
        xmllint(&format!("{schemas}/txfile.xsd"), &dir.join(&f.path));
    }
    for b in &manifest.blacklist {
        xmllint(&format!("{schemas}/blacklist.xsd"), &dir.join(&b.path));
    }
}

fn xmllint(schema: &str, file: &Path) {
    let out = std::process::Command::new("xmllint")
        .args(["--noout", "--schema", schema])
        .arg(file)
        .output()
        .expect("xmllint runs (Debian package libxml2-utils)");
    assert!(
        out.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn manifest_keys_and_fees_parse_and_describe_the_world() {
    let (dir, manifest, _) = world();
    let text = std::fs::read_to_string(dir.join("world.toml")).unwrap();
    let back: Manifest = toml::from_str(&text).unwrap();
    assert_eq!(&back, manifest);
    let codes: Vec<&str> = manifest
        .participant
        .iter()
        .map(|p| p.code.as_str())
        .collect();
    assert_eq!(codes, ["QD", "MOHURD", "MOT", "BANK", "RZ", "HUB"]);
    let formats: Vec<Option<&str>> = manifest
        .participant
        .iter()
        .map(|p| p.format.as_deref())
        .collect();
    assert_eq!(
        formats,
        [
            Some("local-csv"),
            Some("mohurd"),
            Some("mot"),
            Some("pboc"),
            Some("hutong-xml"),
            None
        ]
    );
    assert!(
        manifest
            .route
            .iter()
            .any(|r| r.scheme == "mohurd" && r.issuer == "*" && r.participant == "MOHURD")
    );
    let held: Vec<&str> = manifest
        .issuer
        .iter()
        .filter(|i| i.key_held)
        .map(|i| i.participant.as_str())
        .collect();
    assert!(held.iter().all(|p| *p == "QD" || *p == "RZ"));
    let keys: KeysFile =
        toml::from_str(&std::fs::read_to_string(dir.join(&manifest.keys)).unwrap()).unwrap();
    assert_eq!(keys.issuer.len(), held.len());
    assert!(
        keys.issuer.iter().any(|k| k.alg == "3des") && keys.issuer.iter().any(|k| k.alg == "sm4")
    );
    let fees = reconciliation::FeeSchedule::from_toml(
        &std::fs::read_to_string(dir.join(&manifest.fees)).unwrap(),
    )
    .unwrap();
    assert!(fees.rules().len() >= 4);
    let truth: GroundTruth =
        serde_json::from_str(&std::fs::read_to_string(dir.join(&manifest.ground_truth)).unwrap())
            .unwrap();
    assert_eq!(
        truth.faults.len() as u64,
        manifest.counts.faults.values().sum::<u64>()
    );
    assert_eq!(manifest.counts.taps, 3_000);
    assert_eq!(manifest.counts.cards, 600);
    for b in &manifest.blacklist {
        let r = blacklist::reader(
            BufReader::new(File::open(dir.join(&b.path)).unwrap()),
            ReadOptions::new(&b.path),
        )
        .unwrap();
        assert_eq!(r.map(Result::unwrap).count() as u64, b.entries);
    }
    // Several files per acquirer when the day is big for the file size.
    let qd = manifest
        .file
        .iter()
        .filter(|f| f.participant == "QD" && f.expect == "accepted")
        .count();
    assert!(qd >= 2, "{qd}");
    // Nothing in the output comes from the clock: every time is the day's or the days around it.
    for f in &manifest.file {
        assert!((f.created.date() - day()).num_days().abs() <= 1);
    }
}

#[test]
fn cli_writes_a_small_world_and_refuses_bad_input_with_exit_2() {
    let dir = tmp("cli");
    let d = dir.to_str().unwrap();
    let args = [
        "simulate",
        "--seed",
        "7",
        "--day",
        "2026-11-22",
        "--out",
        d,
        "--taps",
        "400",
        "--cards",
        "150",
    ];
    let out = hutong(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("400 taps") && text.contains("world.toml"),
        "{text}"
    );
    for f in simulate::TOP_FILES {
        assert!(dir.join(f).is_file(), "{f}");
    }
    // The directory is not empty now: exit 2 unless --force.
    let again = hutong(&args);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--out"));
    let mut forced = args.to_vec();
    forced.extend(["--force", "--faults", "none"]);
    let out = hutong(&forced);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("faults: none"));
    for (bad, needle) in [
        (vec!["--faults", "teleport=1"], "teleport"),
        (vec!["--faults", "tac=2"], "above 1"),
        (vec!["--day", "2026-02-30"], "--day"),
        (vec!["--taps", "5"], "--taps"),
        (vec!["--cities", "99"], "--cities"),
    ] {
        let fresh = tmp("cli-bad");
        let mut a = vec![
            "simulate",
            "--seed",
            "7",
            "--day",
            "2026-11-22",
            "--out",
            fresh.to_str().unwrap(),
        ];
        a.extend(bad.iter().copied());
        let out = hutong(&a);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(needle),
            "{bad:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
