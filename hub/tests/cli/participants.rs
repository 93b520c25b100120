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
    let base = ["participants", "add", "--name", "x"];
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
