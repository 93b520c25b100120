//! The operator's commands (issue 18): only `init`, `demo` and `serve --init` create a hub;
//! every other storage command refuses a missing, older or newer one; one `serve` per SQLite
//! data directory; connection errors that say what to check; `status`; `config check`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

fn hutong(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hutong"))
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("the hutong binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "failed: {}", stderr(out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Storage commands that only open a hub, with the arguments each needs besides the storage.
const OPENING_COMMANDS: &[&[&str]] = &[
    &["ingest"],
    &["positions", "--day", "2026-11-21", "--format", "json"],
    &["participants", "list"],
    &["routes", "list"],
    &["audit", "verify"],
    &["discrepancies", "--day", "2026-11-21", "--format", "json"],
    &["status"],
];

fn with_storage<'a>(cmd: &[&'a str], flag: &'a str, value: &'a str) -> Vec<&'a str> {
    let mut v = cmd.to_vec();
    v.extend([flag, value]);
    v
}

#[test]
fn every_storage_command_refuses_a_missing_data_dir_with_exit_2_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir");
    let m = missing.to_str().unwrap();
    for cmd in OPENING_COMMANDS {
        let out = hutong(&with_storage(cmd, "--data-dir", m));
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!(
                "no hub at {m} (hutong.db missing): create one with `hutong init --data-dir {m}`"
            )),
            "{cmd:?}: {}",
            stderr(&out)
        );
        assert!(!missing.exists(), "{cmd:?} created {m}");
    }
    // An existing directory without hutong.db is no hub either.
    let empty = dir.path().to_str().unwrap();
    let out = hutong(&["participants", "list", "--data-dir", empty]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.path().join("hutong.db").exists());
}

#[test]
fn init_creates_the_hub_records_its_identity_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("hub");
    let d = d.to_str().unwrap();
    let first: Value = serde_json::from_str(&ok(&hutong(&[
        "init",
        "--data-dir",
        d,
        "--hub-code",
        "QDHUB",
        "--json",
    ])))
    .unwrap();
    assert_eq!(first["created"], true);
    assert_eq!(first["hub_code"], "QDHUB");
    let version = first["schema_version"].as_i64().unwrap();
    assert!(version >= 20261202000001, "{first}");

    let again: Value =
        serde_json::from_str(&ok(&hutong(&["init", "--data-dir", d, "--json"]))).unwrap();
    assert_eq!(again["created"], false);
    assert_eq!(again["migrated_from"], Value::Null);
    assert_eq!(again["created_at"], first["created_at"]);

    let other = hutong(&["init", "--data-dir", d, "--hub-code", "OTHER"]);
    assert_eq!(other.status.code(), Some(2));
    assert!(
        stderr(&other).contains("already hub QDHUB"),
        "{}",
        stderr(&other)
    );

    for cmd in OPENING_COMMANDS {
        let out = hutong(&with_storage(cmd, "--data-dir", d));
        assert_ne!(out.status.code(), Some(2), "{cmd:?}: {}", stderr(&out));
    }
}

/// Runs raw SQL on a hub's database, as someone with database access would.
async fn sql(target: &hub::store::DbTarget, statements: &[&str]) {
    // Open as it is: no migration, no identity written.
    let store = hub::store::Store::open_with(target, hub::store::OpenMode::Create)
        .await
        .unwrap();
    for s in statements {
        hub::store::testing::execute(&store, s).await.unwrap();
    }
    store.close().await;
}

const NEWER: &str = "INSERT INTO _sqlx_migrations \
    (version, description, success, checksum, execution_time) \
    VALUES (29991231000001, 'from the future', TRUE, X'00', 0)";
const NEWER_PG: &str = "INSERT INTO _sqlx_migrations \
    (version, description, success, checksum, execution_time) \
    VALUES (29991231000001, 'from the future', TRUE, '\\x00'::bytea, 0)";
/// Undoes every migration after `20261122000004` (the schema of a hub from before
/// `hub_identity`); a new migration adds its undoing here.
const OLDER: &[&str] = &[
    "DELETE FROM _sqlx_migrations WHERE version > 20261122000004",
    "DROP TABLE hub_identity",
    "ALTER TABLE window_outputs DROP COLUMN sha256",
    "ALTER TABLE participants DROP COLUMN settlement_account_id",
    "ALTER TABLE participants DROP COLUMN settlement_bic",
    "ALTER TABLE participants DROP COLUMN settlement_clearing_system",
    "ALTER TABLE participants DROP COLUMN settlement_member_id",
    "DROP TABLE file_body_chunks",
    "DROP TABLE file_bodies",
];

/// The newest migration this binary knows (the same on both backends).
fn latest() -> i64 {
    hub::store::binary_schema_version(hub::store::Backend::Sqlite)
}

/// The refusals of a hub whose schema is newer or older than the binary, on `storage`
/// (`--data-dir DIR` or `--database URL`); `newer` makes the schema newer.
async fn schema_versions_are_checked(
    target: hub::store::DbTarget,
    storage: [String; 2],
    newer: &str,
) {
    let storage: Vec<&str> = storage.iter().map(String::as_str).collect();
    let run = |cmd: &[&str]| {
        let mut v = cmd.to_vec();
        v.extend(storage.iter().copied());
        hutong(&v)
    };
    ok(&run(&["init"]));

    // Older: only init (and serve) migrate; other commands say so.
    sql(&target, OLDER).await;
    let out = run(&["participants", "list"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(e.contains("schema version 20261122000004, older"), "{e}");
    assert!(e.contains(&latest().to_string()), "{e}");
    assert!(e.contains("to migrate"), "{e}");
    assert!(e.contains("`hutong init --"), "{e}");
    let init = ok(&run(&["init"]));
    assert!(
        init.contains("migrated from schema 20261122000004"),
        "{init}"
    );
    ok(&run(&["participants", "list"]));

    // Newer: refused by every command, init included, naming both versions.
    sql(&target, &[newer]).await;
    for cmd in [&["participants", "list"][..], &["init"], &["status"]] {
        let out = run(cmd);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {}", stderr(&out));
        let e = stderr(&out);
        assert!(
            e.contains(&format!(
                "schema version 29991231000001, newer than this hutong's {}",
                latest()
            )),
            "{cmd:?}: {e}"
        );
    }
}

#[tokio::test]
async fn sqlite_schemas_older_or_newer_than_the_binary_are_refused_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let target = hub::store::DbTarget::DataDir(dir.path().to_path_buf());
    let d = dir.path().to_str().unwrap().to_string();
    schema_versions_are_checked(target, ["--data-dir".into(), d], NEWER).await;
}

/// An empty PostgreSQL schema of its own (dropped at the end), as a `--database` URL;
/// `None` without `DATABASE_URL` (which CI must set).
struct EmptySchema {
    base: String,
    schema: String,
    url: String,
}

impl EmptySchema {
    async fn new() -> Option<EmptySchema> {
        let Some(base) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
            assert!(
                std::env::var("CI").is_err(),
                "DATABASE_URL must be set under CI"
            );
            eprintln!("DATABASE_URL is not set: PostgreSQL not tested");
            return None;
        };
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&base).await.unwrap();
        let schema = format!("hutong_ops_{}_{}", std::process::id(), rand_suffix());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options[search_path]={schema}");
        Some(EmptySchema { base, schema, url })
    }
}

fn rand_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{nanos:x}")
}

impl Drop for EmptySchema {
    fn drop(&mut self) {
        let (base, schema) = (self.base.clone(), self.schema.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&base).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP SCHEMA IF EXISTS {schema} CASCADE"
                    )))
                    .execute(&mut conn)
                    .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

#[tokio::test]
async fn postgresql_without_a_hub_is_refused_and_init_creates_one() {
    let Some(pg) = EmptySchema::new().await else {
        return;
    };
    let url = pg.url.as_str();
    let files = tempfile::tempdir().unwrap();
    let files = files.path().to_str().unwrap();
    for cmd in OPENING_COMMANDS {
        let mut args = with_storage(cmd, "--database", url);
        args.extend(["--data-dir", files]);
        let out = hutong(&args);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {}", stderr(&out));
        let e = stderr(&out);
        assert!(e.contains("no hub at postgres"), "{cmd:?}: {e}");
        assert!(
            e.contains(&format!("create one with `hutong init --database {url}`")),
            "{cmd:?}: {e}"
        );
    }
    let init: Value =
        serde_json::from_str(&ok(&hutong(&["init", "--database", url, "--json"]))).unwrap();
    assert_eq!(init["created"], true);
    assert_eq!(init["hub_code"], "HUB");
    let list = hutong(&["participants", "list", "--database", url]);
    ok(&list);
}

#[tokio::test]
async fn postgresql_schemas_older_or_newer_than_the_binary_are_refused_naming_both_versions() {
    let Some(pg) = EmptySchema::new().await else {
        return;
    };
    let target = hub::store::DbTarget::Url(pg.url.clone());
    schema_versions_are_checked(target, ["--database".into(), pg.url.clone()], NEWER_PG).await;
}

#[test]
fn a_postgresql_connection_error_names_the_target_without_its_password_the_cause_once_and_what_to_check()
 {
    // Port 1 on the loopback: nothing listens there.
    let out = hutong(&[
        "participants",
        "list",
        "--database",
        "postgres://hub:s3cret@127.0.0.1:1/hutong",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(!e.contains("s3cret"), "{e}");
    assert!(e.contains("postgres://hub:***@127.0.0.1:1/hutong"), "{e}");
    assert!(e.contains("pg_isready -h 127.0.0.1 -p 1"), "{e}");
    assert!(e.contains("does the database \"hutong\" exist?"), "{e}");
    assert!(e.contains("authentication"), "{e}");
    let cause = "Connection refused";
    assert_eq!(e.matches(cause).count(), 1, "the cause once: {e}");
}

/// A PKI with a server certificate for 127.0.0.1.
fn pki(dir: &Path) -> String {
    let p = dir.join("pki");
    let p = p.to_str().unwrap().to_string();
    ok(&hutong(&["certs", "init", "--pki", &p, "--name", "Ops CA"]));
    ok(&hutong(&[
        "certs",
        "server",
        "--pki",
        &p,
        "--host",
        "127.0.0.1",
    ]));
    p
}

/// Starts `hutong serve` with `args` and returns it with its first line of output, or the
/// process's whole output when it exited instead.
fn serve(args: &[&str]) -> Result<(Child, String), Output> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hutong"))
        .arg("serve")
        .args(["--listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let stdout = child.stdout.take().unwrap();
    let mut reader = BufReader::new(stdout);
    reader.read_line(&mut first).unwrap();
    if first.is_empty() {
        return Err(child.wait_with_output().unwrap());
    }
    // Keep draining stdout so that the server never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            sink.clear();
        }
    });
    Ok((child, first.trim().to_string()))
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn one_serve_per_sqlite_data_dir_the_second_names_the_first_and_a_crash_releases_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = pki(dir.path());
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();

    // Without --init a missing hub is refused, and nothing is created.
    let refused = serve(&["--data-dir", d, "--pki", &p]).map(|(c, _)| stop(c));
    let out = refused.expect_err("serve refuses a missing hub");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("create one with `hutong init --data-dir"));
    assert!(!data.exists());

    let (first, line) = serve(&["--data-dir", d, "--pki", &p, "--init"]).expect("serve --init");
    let address = line
        .strip_prefix("hutong listening on https://")
        .unwrap()
        .to_string();
    let second = serve(&["--data-dir", d, "--pki", &p])
        .map(|(c, _)| stop(c))
        .expect_err("the second serve refuses");
    assert_eq!(second.status.code(), Some(2), "{}", stderr(&second));
    let e = stderr(&second);
    assert!(e.contains(&format!("pid {}", first.id())), "{e}");
    assert!(e.contains(&address), "{e}");

    // SIGKILL: the kernel releases the lock with the process.
    stop(first);
    let (third, _) = serve(&["--data-dir", d, "--pki", &p]).expect("the lock is free again");
    stop(third);
}

#[tokio::test]
async fn several_serves_share_one_postgresql_database() {
    let Some(pg) = EmptySchema::new().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = pki(dir.path());
    let data = dir.path().join("data");
    let d = data.to_str().unwrap().to_string();
    ok(&hutong(&["init", "--database", &pg.url, "--data-dir", &d]));
    let url = pg.url.clone();
    let (a, b) = tokio::task::spawn_blocking(move || {
        let args = ["--data-dir", &d, "--pki", &p, "--database", &url];
        let a = serve(&args).expect("the first replica");
        let b = serve(&args).expect("the second replica");
        (a, b)
    })
    .await
    .unwrap();
    stop(a.0);
    stop(b.0);
}

#[test]
fn status_on_the_demo_s_data_reports_each_queue_and_exits_1_when_something_needs_attention() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let demo_s = demo.to_str().unwrap();
    ok(&hutong(&["demo", "--taps", "2000", "--dir", demo_s]));
    let hub_dir = demo.join("hub");
    let h = hub_dir.to_str().unwrap();

    let out = hutong(&["status", "--data-dir", h, "--json"]);
    let r: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(r["hub"]["hub_code"], "HUB");
    assert_eq!(r["participants"].as_array().unwrap().len(), 6, "{r}");
    assert_eq!(r["ingest"]["files_waiting"], 0);
    assert!(r["windows"]["last_closed"]["tx_count"].as_i64().unwrap() > 0);
    assert_eq!(r["audit"]["intact"], true);
    assert!(r["audit"]["entries"].as_i64().unwrap() > 0);
    assert!(r["disputes"]["open"].as_i64().unwrap() >= 1, "{r}");
    assert!(r["disputes"]["nearest_deadline"].is_string(), "{r}");
    assert_eq!(
        r["certificates"],
        Value::Null,
        "no --pki, no pki in the data dir"
    );
    let attention = r["attention"].as_array().unwrap();
    assert_eq!(
        out.status.code(),
        Some(if attention.is_empty() { 0 } else { 1 }),
        "{r}"
    );

    let pki = demo.join("pki");
    let with_pki = hutong(&[
        "status",
        "--data-dir",
        h,
        "--pki",
        pki.to_str().unwrap(),
        "--json",
    ]);
    let r: Value = serde_json::from_slice(&with_pki.stdout).unwrap();
    assert!(
        r["certificates"]["issued"].as_array().unwrap().len() >= 6,
        "{r}"
    );
    assert!(r["certificates"]["nearest_expiry"].is_string(), "{r}");

    // A tampered audit log needs attention, and the text says where.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let target = hub::store::DbTarget::DataDir(hub_dir.clone());
        let store = hub::store::Store::open_existing(&target).await.unwrap();
        hub::store::testing::tamper_audit_result(&store, 2, "forged")
            .await
            .unwrap();
        store.close().await;
    });
    let text = hutong(&["status", "--data-dir", h]);
    assert_eq!(text.status.code(), Some(1));
    let t = String::from_utf8_lossy(&text.stdout);
    assert!(t.contains("needs attention"), "{t}");
    assert!(t.contains("audit log BROKEN at entry 2"), "{t}");
    assert!(t.contains("participants   6"), "{t}");
}

#[test]
fn status_of_a_healthy_hub_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    ok(&hutong(&["init", "--data-dir", d]));
    ok(&hutong(&[
        "participants",
        "add",
        "--settlement-account",
        "ACC-1",
        "--clearing-system",
        "CNAPS",
        "--member-id",
        "999000000001",
        "--data-dir",
        d,
        "--code",
        "RZ",
        "--scheme",
        "partner",
        "--name",
        "日照通",
    ]));
    let out = hutong(&["status", "--data-dir", d]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing needs attention"));
}

#[test]
fn config_check_reports_every_problem_at_once_with_its_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hutong.toml");
    std::fs::write(
        &file,
        "data_dir = \"nowhere\"\n\
         pki = \"no-pki\"\n\
         listen = \"not-an-address\"\n\
         fees = \"missing-fees.toml\"\n\
         colour = \"blue\"\n\
         \n\
         [schedule]\n\
         cutoff = \"23:99\"\n",
    )
    .unwrap();
    let out = hutong(&["config", "check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    let f = file.display().to_string();
    for expected in [
        format!("{f}:1: data_dir: no hub at nowhere"),
        format!("{f}:2: pki: "),
        format!("{f}:3: listen: "),
        format!("{f}:4: fees: "),
        format!("{f}:5: colour: unknown field `colour`"),
        format!("{f}:8: schedule.cutoff: "),
        format!("{f}: 6 problem(s)"),
    ] {
        assert!(e.contains(&expected), "{expected:?} in {e}");
    }
    assert!(out.stdout.is_empty(), "nothing started, nothing printed");

    std::fs::write(&file, "data_dir = \"x\"\n[delivery\n").unwrap();
    let out = hutong(&["config", "check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("{f}:2: not valid TOML")),
        "{}",
        stderr(&out)
    );

    let data = dir.path().join("data");
    ok(&hutong(&["init", "--data-dir", data.to_str().unwrap()]));
    let p = pki(dir.path());
    std::fs::write(
        &file,
        format!(
            "data_dir = {:?}\npki = {p:?}\nlisten = \"127.0.0.1:0\"\n",
            data.display().to_string()
        ),
    )
    .unwrap();
    let out = hutong(&["config", "check", file.to_str().unwrap()]);
    assert!(ok(&out).contains("no problems found"));
}

#[tokio::test]
async fn serve_migrates_an_older_schema_that_other_commands_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let p = pki(dir.path());
    let data = dir.path().join("data");
    let d = data.to_str().unwrap().to_string();
    ok(&hutong(&["init", "--data-dir", &d]));
    sql(&hub::store::DbTarget::DataDir(data.clone()), OLDER).await;
    let refused = hutong(&["participants", "list", "--data-dir", &d]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));

    let (server, _) = tokio::task::spawn_blocking(move || {
        serve(&["--data-dir", &d, "--pki", &p]).expect("serve migrates and starts")
    })
    .await
    .unwrap();
    stop(server);
    let d = data.to_str().unwrap();
    ok(&hutong(&["participants", "list", "--data-dir", d]));
    let status: Value =
        serde_json::from_slice(&hutong(&["status", "--data-dir", d, "--json"]).stdout).unwrap();
    assert_eq!(status["hub"]["schema_version"], latest(), "{status}");
}

#[test]
fn a_missing_postgresql_database_is_named_with_createdb_first() {
    let Some(base) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        assert!(
            std::env::var("CI").is_err(),
            "DATABASE_URL must be set under CI"
        );
        eprintln!("DATABASE_URL is not set: PostgreSQL not tested");
        return;
    };
    let mut url = reqwest::Url::parse(&base).unwrap();
    url.set_path("/hutong_no_such_database");
    let out = hutong(&["participants", "list", "--database", url.as_str()]);
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(
        e.contains("\"hutong_no_such_database\" does not exist"),
        "{e}"
    );
    let createdb = e.find("createdb").expect("createdb named");
    let pg_isready = e.find("pg_isready").expect("pg_isready named");
    assert!(createdb < pg_isready, "the likeliest remedy first: {e}");
}

#[tokio::test]
async fn status_names_files_waiting_too_long_and_accepted_files_a_cut_off_missed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    ok(&hutong(&["init", "--data-dir", &d]));
    let old = "2026-01-01T00:00:00.000000Z";
    let participant = format!(
        "INSERT INTO participants (code, scheme, name, created_at) \
         VALUES ('RZ', 'partner', 'Rizhao', '{old}')"
    );
    let file = |name: &str, status: &str| {
        format!(
            "INSERT INTO files (direction, sender, name, sha256, bytes, status, stored_path, \
             received_at) VALUES ('in', 'RZ', '{name}', '{name}', 1, '{status}', 'x', '{old}')"
        )
    };
    let (waiting, accepted) = (file("a.xml", "received"), file("b.xml", "accepted"));
    sql(
        &hub::store::DbTarget::DataDir(dir.path().to_path_buf()),
        &[&participant, &waiting, &accepted],
    )
    .await;
    let out = hutong(&["status", "--data-dir", &d, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["ingest"]["files_waiting"], 1);
    assert_eq!(r["ingest"]["oldest_waiting_at"], old);
    assert_eq!(r["windows"]["open"]["files"], 1);
    let attention: Vec<&str> = r["attention"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(attention.len(), 2, "{attention:?}");
    assert!(
        attention[0].starts_with("1 file(s) waiting for ingest"),
        "{attention:?}"
    );
    assert!(
        attention[1].contains("has the cut-off run?"),
        "{attention:?}"
    );
}
