//! `hutong routes`, the seal-key commands of `hutong participants`, and the seal computation
//! against OpenSSL.

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

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

const KEY: &str = "0123456789ABCDEFFEDCBA9876543210";

#[test]
fn routes_are_added_listed_and_removed_and_bad_patterns_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::init_sqlite(d);
    ok(&sqlite(
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
        d,
    ));
    let added = ok(&sqlite(
        &[
            "routes",
            "add",
            "--scheme",
            "mot",
            "--issuer",
            "*",
            "--city",
            "*",
            "--participant",
            "TUNION",
        ],
        d,
    ));
    assert!(added.contains("→ TUNION"), "{added}");
    ok(&sqlite(
        &[
            "routes",
            "add",
            "--scheme",
            "mot",
            "--issuer",
            "01ab",
            "--city",
            "3702",
            "--participant",
            "TUNION",
        ],
        d,
    ));
    let list = ok(&sqlite(&["routes", "list", "--json"], d));
    let rows: Vec<serde_json::Value> = list
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .any(|r| r["issuer_code"] == "01AB" && r["city_code"] == "3702")
    );
    // The same pattern twice, an unknown participant, a malformed code: bad input (exit 2).
    for args in [
        vec![
            "routes",
            "add",
            "--scheme",
            "mot",
            "--issuer",
            "*",
            "--city",
            "*",
            "--participant",
            "TUNION",
        ],
        vec![
            "routes",
            "add",
            "--scheme",
            "mot",
            "--issuer",
            "0101",
            "--city",
            "*",
            "--participant",
            "NOBODY",
        ],
        vec![
            "routes",
            "add",
            "--scheme",
            "mot",
            "--issuer",
            "01",
            "--city",
            "*",
            "--participant",
            "TUNION",
        ],
        vec![
            "routes",
            "add",
            "--scheme",
            "bus",
            "--issuer",
            "*",
            "--city",
            "*",
            "--participant",
            "TUNION",
        ],
    ] {
        let out = sqlite(&args, d);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    ok(&sqlite(
        &[
            "routes", "remove", "--scheme", "mot", "--issuer", "*", "--city", "*",
        ],
        d,
    ));
    let list = ok(&sqlite(&["routes", "list"], d));
    assert_eq!(list.lines().count(), 2, "{list}");
    let again = sqlite(
        &[
            "routes", "remove", "--scheme", "mot", "--issuer", "*", "--city", "*",
        ],
        d,
    );
    assert_eq!(again.status.code(), Some(2));
}

#[test]
fn a_seal_key_is_set_with_the_participant_and_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::init_sqlite(d);
    ok(&sqlite(
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
            "--seal-key",
            KEY,
            "--format",
            "local-csv",
        ],
        d,
    ));
    let list = ok(&sqlite(&["participants", "list", "--json"], d));
    let row: serde_json::Value = serde_json::from_str(list.lines().next().unwrap()).unwrap();
    assert_eq!(row["sealed"], true);
    assert_eq!(row["format"], "local-csv");
    let table = ok(&sqlite(&["participants", "list"], d));
    for text in [&list, &table] {
        assert!(
            !text.to_ascii_uppercase().contains("0123456789ABCDEF"),
            "the key leaked: {text}"
        );
    }
    ok(&sqlite(
        &["participants", "clear-seal-key", "--code", "RIZHAO"],
        d,
    ));
    let list = ok(&sqlite(&["participants", "list", "--json"], d));
    assert!(list.contains("\"sealed\":false"), "{list}");
    let set = ok(&sqlite(
        &[
            "participants",
            "set-seal-key",
            "--code",
            "RIZHAO",
            "--seal-key",
            KEY,
        ],
        d,
    ));
    assert!(!set.contains(KEY), "{set}");
    // A short key is refused without echoing it; an unknown participant is bad input.
    let bad = sqlite(
        &[
            "participants",
            "set-seal-key",
            "--code",
            "RIZHAO",
            "--seal-key",
            "0123456789AB",
        ],
        d,
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&bad.stderr).contains("error: 0123456789AB"));
    let nobody = sqlite(
        &[
            "participants",
            "set-seal-key",
            "--code",
            "NOBODY",
            "--seal-key",
            KEY,
        ],
        d,
    );
    assert_eq!(nobody.status.code(), Some(2));
}

/// The SM4-CMAC seal agrees with OpenSSL's independent computation, for the worked example of
/// docs/seals.md and for a body of several blocks with a partial last block.
#[test]
fn the_seal_is_the_sm4_cmac_openssl_computes() {
    let key = hub::seal::SealKey::from_hex(KEY).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let long: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 256) as u8).collect();
    for (body, expected) in [
        (b"abc".to_vec(), Some("8E75238AC2672A6AEE408C1E251854D8")),
        (Vec::new(), None),
        (vec![0x61; 16], None),
        (long, None),
    ] {
        let path = dir.path().join("body");
        std::fs::write(&path, &body).unwrap();
        let ours = hub::seal::seal_file(&key, &path).unwrap();
        assert_eq!(ours, hub::seal::seal_bytes(&key, &body));
        if let Some(e) = expected {
            assert_eq!(ours, e);
        }
        let out = Command::new("openssl")
            .args([
                "mac",
                "-cipher",
                "SM4-CBC",
                "-macopt",
                &format!("hexkey:{KEY}"),
                "-in",
            ])
            .arg(&path)
            .arg("CMAC")
            .output();
        match out {
            Ok(o) if o.status.success() => {
                assert_eq!(
                    String::from_utf8_lossy(&o.stdout).trim(),
                    ours,
                    "{} bytes",
                    body.len()
                );
            }
            _ => eprintln!(
                "this OpenSSL cannot compute SM4-CMAC: checked against the docs' vector only"
            ),
        }
    }
}
