use std::process::{Command, Output};

fn sqlite(args: &[&str], data_dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hutong"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap()
}

#[test]
fn participants_are_added_and_listed_in_the_data_dir_database() {
    let dir = tempfile::tempdir().unwrap();
    crate::init_sqlite(dir.path());
    let add = sqlite(
        &[
            "participants",
            "add",
            "--settlement-account",
            "ACC-1",
            "--clearing-system",
            "CNAPS",
            "--member-id",
            "999000000001",
            "--code",
            "RIZHAO",
            "--scheme",
            "partner",
            "--name",
            "日照通",
            "--endpoint",
            "https://rizhao.example:8443",
        ],
        dir.path(),
    );
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let add = sqlite(
        &[
            "participants",
            "add",
            "--settlement-account",
            "ACC-1",
            "--clearing-system",
            "CNAPS",
            "--member-id",
            "999000000001",
            "--code",
            "TUNION",
            "--scheme",
            "mot",
            "--name",
            "T-Union",
        ],
        dir.path(),
    );
    assert!(add.status.success());
    assert!(dir.path().join("hutong.db").exists());
    let list = sqlite(&["participants", "list", "--json"], dir.path());
    let rows: Vec<serde_json::Value> = String::from_utf8(list.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["code"], "RIZHAO");
    assert_eq!(rows[0]["endpoint"], "https://rizhao.example:8443");
    assert_eq!(rows[1]["scheme"], "mot");
}

#[test]
fn participants_add_refuses_bad_input_with_exit_2_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    crate::init_sqlite(dir.path());
    let base = [
        "participants",
        "add",
        "--name",
        "x",
        "--settlement-bic",
        "ICBKCNBJ",
        "--settlement-account",
        "ACC-1",
    ];
    let cases: &[&[&str]] = &[
        &["--code", "A B", "--scheme", "local"],
        &["--code", "A", "--scheme", "bitcoin"],
        &[
            "--code",
            "A",
            "--scheme",
            "local",
            "--endpoint",
            "http://plain.example",
        ],
    ];
    for case in cases {
        let args: Vec<&str> = base.iter().chain(case.iter()).copied().collect();
        let out = sqlite(&args, dir.path());
        assert_eq!(
            out.status.code(),
            Some(2),
            "{case:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        sqlite(
            &[
                "participants",
                "add",
                "--settlement-account",
                "ACC-1",
                "--clearing-system",
                "CNAPS",
                "--member-id",
                "999000000001",
                "--code",
                "A",
                "--scheme",
                "local",
                "--name",
                "A"
            ],
            dir.path()
        )
        .status
        .success()
    );
    let dup = sqlite(
        &[
            "participants",
            "add",
            "--settlement-account",
            "ACC-1",
            "--clearing-system",
            "CNAPS",
            "--member-id",
            "999000000001",
            "--code",
            "A",
            "--scheme",
            "local",
            "--name",
            "A",
        ],
        dir.path(),
    );
    assert_eq!(dup.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));
    let list = sqlite(&["participants", "list", "--json"], dir.path());
    assert_eq!(String::from_utf8(list.stdout).unwrap().lines().count(), 1);
    // No database at all.
    let out = Command::new(env!("CARGO_BIN_EXE_hutong"))
        .args(["participants", "list"])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn participants_add_needs_a_settlement_account_and_names_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    crate::init_sqlite(dir.path());
    let base = [
        "participants",
        "add",
        "--code",
        "QD",
        "--scheme",
        "mohurd",
        "--name",
        "琴岛通",
    ];
    let cases: &[(&[&str], &str)] = &[
        (&[], "--settlement-account ID"),
        (&["--settlement-account", "QD-01"], "--settlement-bic BIC"),
        (
            &["--settlement-account", "QD-01", "--settlement-bic", "qdcb"],
            "--settlement-bic",
        ),
        (
            &[
                "--settlement-account",
                &"9".repeat(35),
                "--settlement-bic",
                "QDCBCNBJ",
            ],
            "--settlement-account",
        ),
        (
            &[
                "--settlement-account",
                "QD-01",
                "--member-id",
                "999000000001",
            ],
            "--clearing-system",
        ),
    ];
    for (extra, named) in cases {
        let args: Vec<&str> = base.iter().chain(extra.iter()).copied().collect();
        let out = sqlite(&args, dir.path());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.contains(named), "{extra:?} names {named}: {err}");
    }
    let list = sqlite(&["participants", "list", "--json"], dir.path());
    assert!(list.stdout.is_empty(), "nothing was added");

    let args: Vec<&str> = base
        .iter()
        .copied()
        .chain([
            "--settlement-account",
            "QD-01",
            "--settlement-bic",
            "QDCBCNBJXXX",
        ])
        .collect();
    let out = sqlite(&args, dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = String::from_utf8(sqlite(&["participants", "list"], dir.path()).stdout).unwrap();
    assert!(list.contains("QD-01 (BIC QDCBCNBJXXX)"), "{list}");
}

#[test]
fn participants_settlement_sets_the_account_of_a_participant_that_has_none() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = hub::store::testing::TestDb::sqlite(dir.path())
            .await
            .unwrap();
        // A participant as added before settlement accounts existed.
        db.store
            .add_participant(&hub::store::NewParticipant {
                code: certs::ParticipantCode::new("OLD").unwrap(),
                scheme: hub::store::ParticipantScheme::Partner,
                name: "Old".into(),
                endpoint: None,
                endpoint_ca_pem: None,
                endpoint_cert_path: None,
                endpoint_key_path: None,
                settlement_account: None,
            })
            .await
            .unwrap();
        db.store.close().await;
    });
    let list = String::from_utf8(sqlite(&["participants", "list"], dir.path()).stdout).unwrap();
    assert!(list.contains("none: participants settlement"), "{list}");
    let set = |extra: &[&str]| {
        let args: Vec<&str> = ["participants", "settlement", "--code", "OLD"]
            .iter()
            .chain(extra)
            .copied()
            .collect();
        sqlite(&args, dir.path())
    };
    assert_eq!(
        set(&["--settlement-account", "OLD-1"]).status.code(),
        Some(2)
    );
    let out = set(&[
        "--settlement-account",
        "OLD-1",
        "--clearing-system",
        "CNAPS",
        "--member-id",
        "999000000042",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json =
        String::from_utf8(sqlite(&["participants", "list", "--json"], dir.path()).stdout).unwrap();
    let row: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(row["settlement_account"]["account_id"], "OLD-1");
    assert_eq!(row["settlement_account"]["member"]["system"], "CNAPS");
    assert_eq!(
        row["settlement_account"]["member"]["member_id"],
        "999000000042"
    );
    let missing = sqlite(
        &[
            "participants",
            "settlement",
            "--code",
            "NOPE",
            "--settlement-account",
            "X",
            "--settlement-bic",
            "ICBKCNBJ",
        ],
        dir.path(),
    );
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn audit_verify_reports_an_intact_chain_and_a_tampered_one() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(async {
        let db = hub::store::testing::TestDb::sqlite(dir.path())
            .await
            .unwrap();
        for result in ["200", "201", "403"] {
            db.store
                .audit(&hub::store::NewAuditEntry {
                    participant: Some("A"),
                    action: "GET /v1/files",
                    target: None,
                    result,
                    detail: None,
                })
                .await
                .unwrap();
        }
        db.store.clone()
    });
    let ok = sqlite(&["audit", "verify"], dir.path());
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).contains("intact: 3 entries"));
    rt.block_on(hub::store::testing::tamper_audit_result(&store, 2, "200"))
        .unwrap();
    let broken = sqlite(&["audit", "verify"], dir.path());
    assert_eq!(broken.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&broken.stdout).contains("BROKEN at entry 2"));
}
