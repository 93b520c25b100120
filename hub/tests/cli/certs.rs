use std::path::Path;

use super::hutong;

fn run(args: &[&str]) -> std::process::Output {
    hutong(args)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn list_json(pki: &str) -> Vec<serde_json::Value> {
    let out = run(&["certs", "list", "--pki", pki, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn certs_init_server_issue_revoke_and_list_work_together() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let pki = path(&pki);
    let out_dir = dir.path().join("rizhao");
    assert!(
        run(&["certs", "init", "--pki", pki, "--name", "Qingdao hub CA"])
            .status
            .success()
    );
    assert!(
        run(&[
            "certs",
            "server",
            "--pki",
            pki,
            "--host",
            "hub.example",
            "--host",
            "127.0.0.1"
        ])
        .status
        .success()
    );
    let issued = run(&[
        "certs",
        "issue",
        "--pki",
        pki,
        "--participant",
        "RIZHAO",
        "--out",
        path(&out_dir),
        "--days",
        "20",
    ]);
    assert!(
        issued.status.success(),
        "{}",
        String::from_utf8_lossy(&issued.stderr)
    );
    for f in ["RIZHAO.crt", "RIZHAO.key", "ca.crt"] {
        assert!(out_dir.join(f).exists(), "{f}");
    }
    let listed = list_json(pki);
    assert_eq!(listed.len(), 3);
    let rizhao = listed
        .iter()
        .find(|c| c["participant"] == "RIZHAO")
        .unwrap();
    assert_eq!(rizhao["state"], "valid");
    assert_eq!(rizhao["expires_soon"], true, "20 days is within 30");
    // Issuing into the same folder again would overwrite a key: refused, exit 2.
    let again = run(&[
        "certs",
        "issue",
        "--pki",
        pki,
        "--participant",
        "RIZHAO",
        "--out",
        path(&out_dir),
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
    let revoked = run(&["certs", "revoke", "--pki", pki, "--participant", "RIZHAO"]);
    assert!(revoked.status.success());
    let rizhao = list_json(pki)
        .into_iter()
        .find(|c| c["participant"] == "RIZHAO")
        .unwrap();
    assert_eq!(rizhao["state"], "revoked");
    // Nothing left to revoke: exit 2 with the participant named.
    let none = run(&["certs", "revoke", "--pki", pki, "--participant", "RIZHAO"]);
    assert_eq!(none.status.code(), Some(2));
    let table = run(&["certs", "list", "--pki", pki]);
    assert!(String::from_utf8_lossy(&table.stdout).contains("revoked"));
}

#[test]
fn certs_commands_refuse_bad_input_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let pki = path(&pki);
    let out = run(&["certs", "list", "--pki", pki]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("certs init"));
    assert!(
        run(&["certs", "init", "--pki", pki, "--name", "CA"])
            .status
            .success()
    );
    assert_eq!(
        run(&["certs", "init", "--pki", pki, "--name", "CA"])
            .status
            .code(),
        Some(2)
    );
    let bad_code = run(&[
        "certs",
        "issue",
        "--pki",
        pki,
        "--participant",
        "../evil",
        "--out",
        pki,
    ]);
    assert_eq!(bad_code.status.code(), Some(2));
    let bad_csr = dir.path().join("bad.csr");
    std::fs::write(&bad_csr, "not a CSR").unwrap();
    let out = run(&[
        "certs",
        "issue",
        "--pki",
        pki,
        "--participant",
        "X",
        "--out",
        pki,
        "--csr",
        path(&bad_csr),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        run(&["certs", "server", "--pki", pki, "--host", "no spaces"])
            .status
            .code(),
        Some(2)
    );
}
