//! `hutong drill`: a short seeded fault drill on each backend, as CI runs it (a few thousand
//! records, replicas SIGKILLed and restarted, PostgreSQL crashed once, every connection in
//! flight cut through the drill's proxies), every invariant held.

use std::process::Command;

fn drill(args: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("drill.json");
    let out = Command::new(env!("CARGO_BIN_EXE_hutong"))
        .arg("drill")
        .args(args)
        .arg("--dir")
        .arg(dir.path().join("work"))
        .arg("--json")
        .arg(&json)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    assert!(stdout.contains("replay with --seed"), "{stdout}");
    serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap()
}

fn assert_whole(report: &serde_json::Value, kills: usize, crashes: usize, cuts: usize) {
    assert_eq!(report["failed"], 0, "{report:#}");
    assert_eq!(report["passed"], 11, "{report:#}");
    let faults = report["faults"].as_array().unwrap();
    assert_eq!(faults.len(), kills + crashes + cuts, "{report:#}");
    let of = |kind: &str| faults.iter().filter(|f| f["kind"] == kind).count();
    assert_eq!(
        (of("kill"), of("db-crash"), of("cut")),
        (kills, crashes, cuts)
    );
    for f in faults {
        let stage = f["stage"].as_str().unwrap();
        assert!(
            !stage.starts_with("not "),
            "a fault was not carried out: {f}"
        );
    }
}

#[test]
fn a_single_sqlite_server_killed_and_restarted_keeps_the_day_whole() {
    let report = drill(&[
        "--backend",
        "sqlite",
        "--kills",
        "4",
        "--cuts",
        "2",
        "--taps",
        "2000",
        "--seed",
        "5",
    ]);
    assert_eq!(report["backend"], "sqlite");
    assert_eq!(report["replicas"], 1);
    assert_whole(&report, 4, 0, 2);
}

#[test]
fn three_postgres_replicas_killed_at_random_and_the_database_crashed_keep_the_day_whole() {
    let report = drill(&[
        "--backend",
        "postgres",
        "--replicas",
        "3",
        "--kills",
        "8",
        "--db-restarts",
        "1",
        "--cuts",
        "3",
        "--taps",
        "3000",
        "--seed",
        "9",
    ]);
    assert_eq!(report["backend"], "postgres");
    assert_eq!(report["replicas"], 3);
    assert_whole(&report, 8, 1, 3);
}
