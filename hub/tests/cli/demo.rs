//! `hutong demo`: the whole day end to end, on the embedded SQLite and on PostgreSQL — every
//! injected fault found, positions that net to zero, settlement files and a dispute.

use std::path::Path;

use serde_json::Value;

use super::{hutong, json};

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hutong-demo-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Validates `path` against `reconciliation/xsd/{schema}` with xmllint (skipped with a note
/// when xmllint is missing, except under `CI`, where that fails).
fn xmllint(schema: &str, path: &Path) {
    let xsd = concat!(env!("CARGO_MANIFEST_DIR"), "/../reconciliation/xsd/");
    let out = match std::process::Command::new("xmllint")
        .args(["--noout", "--schema", &format!("{xsd}{schema}")])
        .arg(path)
        .output()
    {
        Ok(out) => out,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("xmllint not run ({e}); install libxml2-utils to validate {schema}");
            return;
        }
        Err(e) => panic!("xmllint runs under CI (Debian package libxml2-utils): {e}"),
    };
    assert!(
        out.status.success(),
        "{} does not validate against {schema}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What every demo report must show.
fn check_report(r: &Value, dir: &Path) {
    let faults = r["faults"].as_array().expect("faults");
    assert!(
        faults.len() > 10,
        "the default faults are injected: {faults:?}"
    );
    let missed: Vec<&Value> = faults.iter().filter(|f| f["found"] != true).collect();
    assert!(
        missed.is_empty(),
        "faults the hub did not find: {missed:#?}"
    );
    for kind in [
        "clone",
        "gap",
        "blacklisted",
        "late-file",
        "truncated",
        "bad-trailer",
        "dup-file",
    ] {
        assert!(
            faults.iter().any(|f| f["kind"] == kind),
            "a {kind} fault was injected"
        );
    }
    assert_eq!(r["files_rejected_by_code"]["F01"], 1);
    assert_eq!(r["files_rejected_by_code"]["F02"], 1);
    assert!(r["duplicate_uploads"].as_u64().unwrap() >= 1);
    assert!(r["records_accepted"].as_u64().unwrap() > 4_000);
    let net: i64 = r["positions"]["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["net_fen"].as_i64().unwrap())
        .sum();
    assert_eq!(net, 0, "net positions sum to zero");
    let failed: Vec<&Value> = r["verify"]["checks"]
        .as_array()
        .expect("the demo ran hutong verify")
        .iter()
        .filter(|c| c["passed"] != true)
        .collect();
    assert!(failed.is_empty(), "hutong verify failed: {failed:#?}");
    assert!(r["verify"]["passed"].as_u64().unwrap() > 30);
    assert!(
        !r["cases"].as_array().unwrap().is_empty(),
        "at least one dispute is open"
    );
    let day = r["day"].as_str().unwrap();
    let settlements = dir.join("hub").join("settlements").join(day);
    assert!(
        std::fs::read_dir(&settlements)
            .map(|d| d.count() > 0)
            .unwrap_or(false),
        "settlement files in {}",
        settlements.display()
    );
    // Every camt.053 statement and the pacs.009 of the day, against the official XSDs.
    let mut validated = 0;
    for entry in std::fs::read_dir(&settlements).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let schema = if name.starts_with("STMT_") && name.ends_with(".xml") {
            "camt.053.001.08.xsd"
        } else if name.starts_with("pacs009_") {
            "pacs.009.001.08.xsd"
        } else {
            continue;
        };
        xmllint(schema, &path);
        validated += 1;
    }
    assert!(
        validated >= 6,
        "the pacs.009 and the statements: {validated}"
    );
    for code in ["QD", "MOHURD", "MOT", "BANK", "RZ"] {
        let inbox = dir.join("partners").join(code).join("inbox");
        let names: Vec<String> = std::fs::read_dir(&inbox)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().any(|n| n.starts_with("STMT_")),
            "{code} fetched its statement over mTLS: {names:?}"
        );
    }
}

#[test]
fn the_demo_finds_every_injected_fault_and_says_where_the_reports_are() {
    let dir = tmp("sqlite");
    let out = hutong(&["demo", "--dir", dir.to_str().unwrap(), "--taps", "5000"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "Net positions",
        "Discrepancies",
        "Injected faults:",
        "report.json",
        "hutong serve --data-dir",
        "--console-listen",
    ] {
        assert!(text.contains(needle), "{needle:?} in:\n{text}");
    }
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    check_report(&report, &dir);

    // A database URL of no known kind is bad input (exit 2), named as such.
    let other = tmp("bad-url");
    let bad = hutong(&[
        "demo",
        "--dir",
        other.to_str().unwrap(),
        "--database",
        "mysql://localhost/x",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--database"));
    let _ = std::fs::remove_dir_all(&other);

    // The directory is not reused: a second run refuses it, exit 2, and leaves it alone.
    let again = hutong(&["demo", "--dir", dir.to_str().unwrap(), "--taps", "5000"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
    assert!(dir.join("report.json").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_demo_runs_the_same_day_on_postgresql() {
    let Some(db) = hub::store::testing::TestDb::postgres().await.unwrap() else {
        assert!(
            std::env::var("CI").is_err(),
            "DATABASE_URL must be set under CI"
        );
        eprintln!("DATABASE_URL not set: skipping the PostgreSQL demo");
        return;
    };
    let url = match &db.target {
        hub::store::DbTarget::Url(u) => u.clone(),
        other => panic!("a URL target: {other:?}"),
    };
    let dir = tmp("postgres");
    let args: Vec<String> = [
        "demo",
        "--dir",
        dir.to_str().unwrap(),
        "--taps",
        "5000",
        "--database",
        &url,
        "--json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        hutong(&args)
    })
    .await
    .unwrap();
    let report = json(&out);
    check_report(&report, &dir);
    assert!(report["database"].as_str().unwrap().starts_with("postgres"));
    let _ = std::fs::remove_dir_all(&dir);
}
