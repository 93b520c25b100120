//! The real `hutong serve` binary, killed with SIGKILL right after it sent a receipt.

use std::process::Stdio;
use std::time::Duration;

use hub::client::HubClient;
use hub::store::DbTarget;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How to tell `hutong serve` its settings.
pub(crate) enum Settings<'a> {
    Flags,
    ConfigFile(&'a std::path::Path),
}

/// A running `hutong serve`.
pub(crate) struct Served {
    /// The process.
    pub(crate) child: Child,
    /// Its API's URL.
    pub(crate) url: String,
    /// Its operations listener's URL, `http://ADDR`.
    pub(crate) ops: String,
}

/// Starts `hutong serve` and returns it with its URLs (read from its first lines of output).
pub(crate) async fn serve(
    data: &std::path::Path,
    pki: &std::path::Path,
    db: &DbTarget,
    settings: Settings<'_>,
    extra: &[&str],
) -> Served {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hutong"));
    cmd.arg("serve")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .args(extra)
        .kill_on_drop(true);
    let database = match db {
        DbTarget::Url(url) => Some(url.clone()),
        DbTarget::DataDir(_) => None,
    };
    match settings {
        Settings::Flags => {
            cmd.args([
                "--listen",
                "127.0.0.1:0",
                "--ops-listen",
                "127.0.0.1:0",
                "--pki",
            ])
            .arg(pki)
            .arg("--data-dir")
            .arg(data);
            if let Some(url) = &database {
                cmd.args(["--database", url]);
            }
        }
        Settings::ConfigFile(path) => {
            let mut toml = format!(
                "data_dir = {:?}\npki = {:?}\nlisten = \"127.0.0.1:0\"\nops_listen = \"127.0.0.1:0\"\n\
                 max_file_bytes = 100000000\n",
                data.display().to_string(),
                pki.display().to_string()
            );
            if let Some(url) = &database {
                toml.push_str(&format!("database = {url:?}\n"));
            }
            toml.push_str("[delivery]\nbase_delay_ms = 1000\n");
            std::fs::write(path, toml).unwrap();
            cmd.arg("--config").arg(path);
        }
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the server starts within 30 s")
        .unwrap()
        .expect("a first line");
    let url = line
        .strip_prefix("hutong listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    let ops = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the server prints its listeners")
            .unwrap()
            .expect("an operations line");
        if let Some(addr) = line.strip_prefix("operations on ") {
            break addr.to_string();
        }
    };
    // Keep reading the server's stdout so that it can never block on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Served { child, url, ops }
}

#[tokio::test]
async fn a_file_survives_sigkill_of_the_server_right_after_its_receipt() {
    let super::shutdown::Setup {
        dir,
        pki,
        issued,
        data,
        db,
    } = super::shutdown::setup().await;
    let key = issued.key_pem.unwrap();
    let ca = pki.ca_pem().unwrap();
    let content: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    let local = dir.path().join("TX-crash.dat");
    std::fs::write(&local, &content).unwrap();

    let Served { mut child, url, .. } =
        serve(&data, pki.dir(), &db.target, Settings::Flags, &[]).await;
    // Upload with the real `hutong upload`.
    let creds = dir.path().join("creds");
    std::fs::create_dir_all(&creds).unwrap();
    for (name, text) in [
        ("c.crt", &issued.cert_pem),
        ("c.key", &key),
        ("ca.crt", &ca),
    ] {
        std::fs::write(creds.join(name), text).unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_hutong"))
        .args(["upload", "--hub", &url, "--cert"])
        .arg(creds.join("c.crt"))
        .arg("--key")
        .arg(creds.join("c.key"))
        .arg("--ca")
        .arg(creds.join("ca.crt"))
        .arg(&local)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("the upload finishes within 60 s")
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let receipt: hub::wire::Receipt = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(receipt.bytes, 2_000_000);
    child.start_kill().unwrap(); // SIGKILL, no chance to flush anything
    let status = child.wait().await.unwrap();
    assert!(!status.success());

    // Restart, this time from a configuration file.
    let config = dir.path().join("hutong.toml");
    let Served { mut child, url, .. } = serve(
        &data,
        pki.dir(),
        &db.target,
        Settings::ConfigFile(&config),
        &[],
    )
    .await;
    let client = HubClient::new(
        &url,
        issued.cert_pem.as_bytes(),
        key.as_bytes(),
        ca.as_bytes(),
    )
    .unwrap();
    let listed = client.list(Some("in")).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].file_id, receipt.file_id);
    assert_eq!(listed[0].sha256, receipt.sha256);
    let back = dir.path().join("back.dat");
    client.download(&listed[0], &back).await.unwrap();
    assert_eq!(std::fs::read(&back).unwrap(), content);
    // And the same upload is still recognised as a repeat.
    let again = client.upload(&local).await.unwrap();
    assert!(!again.new);
    assert_eq!(again.receipt.file_id, receipt.file_id);
    // The server's ingest worker reads the upload (not a transaction file: rejected F01) and
    // puts its result in our outbox; wait for that so the fetches below see a settled outbox.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let f = db.store.file(receipt.file_id).await.unwrap().unwrap();
        let pending = db.store.files_pending_outputs(1).await.unwrap();
        if f.status != hub::store::FileStatus::Received && pending.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "ingest did not finish the upload"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A file the hub (another process on the same data) addresses to us: `hutong fetch` gets it.
    let vault = hub::vault::Vault::open(&data).unwrap();
    let statement = dir.path().join("stmt.xml");
    std::fs::write(&statement, b"<statement/>").unwrap();
    hub::delivery::deposit_outbound(&db.store, &vault, "RIZHAO", "stmt.xml", &statement, None)
        .await
        .unwrap();
    let inbox = dir.path().join("inbox");
    let fetch = |inbox: std::path::PathBuf| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hutong"));
        cmd.args(["fetch", "--hub", &url, "--cert"])
            .arg(creds.join("c.crt"))
            .arg("--key")
            .arg(creds.join("c.key"))
            .arg("--ca")
            .arg(creds.join("ca.crt"))
            .arg("--out")
            .arg(inbox);
        cmd
    };
    let out = tokio::time::timeout(Duration::from_secs(60), fetch(inbox.clone()).output())
        .await
        .expect("fetch finishes within 60 s")
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(inbox.join("stmt.xml")).unwrap(),
        b"<statement/>"
    );
    let out = tokio::time::timeout(Duration::from_secs(60), fetch(inbox.clone()).output())
        .await
        .expect("fetch finishes within 60 s")
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "nothing new the second time");
    child.start_kill().unwrap();
    let _ = child.wait().await;
}
