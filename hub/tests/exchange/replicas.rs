//! Two real `hutong serve` replicas on one PostgreSQL database, each with its own data
//! directory (as two machines would have): a file received by one is served, ingested and
//! downloaded by the other, also after the first was SIGKILLed (issue 14's finding).

use std::time::Duration;

use hub::client::HubClient;
use hub::store::{Backend, FileStatus};

use super::crash::{Served, Settings, serve};
use super::shutdown::setup;

#[tokio::test]
async fn a_replica_serves_the_files_another_replica_received_after_that_one_was_killed() {
    let s = setup().await;
    if s.db.store.backend() != Backend::Postgres {
        assert!(
            std::env::var_os("CI").is_none(),
            "replicas share PostgreSQL: CI must set DATABASE_URL"
        );
        eprintln!("skipped: DATABASE_URL is not set (replicas need PostgreSQL)");
        return;
    }
    let data_b = s.dir.path().join("data-b");
    let Served {
        child: mut a,
        url: url_a,
        ..
    } = serve(&s.data, s.pki.dir(), &s.db.target, Settings::Flags, &[]).await;
    let Served {
        child: mut b,
        url: url_b,
        ..
    } = serve(&data_b, s.pki.dir(), &s.db.target, Settings::Flags, &[]).await;
    let key = s.issued.key_pem.clone().unwrap();
    let ca = s.pki.ca_pem().unwrap();
    let client = |url: &str| {
        HubClient::new(
            url,
            s.issued.cert_pem.as_bytes(),
            key.as_bytes(),
            ca.as_bytes(),
        )
        .unwrap()
    };
    let (to_a, to_b) = (client(&url_a), client(&url_b));

    // Eight files, uploaded alternately to each replica, as through a load balancer.
    let mut sent = Vec::new();
    for i in 0..8u32 {
        let body: Vec<u8> = (0..200_000u32 + i).map(|j| ((j + i) % 253) as u8).collect();
        let local = s.dir.path().join(format!("TX-replica-{i}.dat"));
        std::fs::write(&local, &body).unwrap();
        let via = if i % 2 == 0 { &to_a } else { &to_b };
        let up = via.upload(&local).await.unwrap();
        assert!(up.new);
        sent.push((up.receipt, body));
    }
    a.start_kill().unwrap(); // SIGKILL: replica A's data directory is gone with it
    a.wait().await.unwrap();
    std::fs::remove_dir_all(&s.data).unwrap();

    // Replica B lists, ingests and serves every file, A's included.
    let listed = to_b.list(Some("in")).await.unwrap();
    assert_eq!(listed.len(), 8);
    for (receipt, body) in &sent {
        let info = listed
            .iter()
            .find(|f| f.file_id == receipt.file_id)
            .unwrap_or_else(|| panic!("file {} not listed", receipt.file_id));
        let back = s.dir.path().join(format!("back-{}", receipt.file_id));
        to_b.download(info, &back).await.unwrap();
        assert_eq!(
            &std::fs::read(&back).unwrap(),
            body,
            "file {}",
            receipt.file_id
        );
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    for (receipt, _) in &sent {
        loop {
            let f = s.db.store.file(receipt.file_id).await.unwrap().unwrap();
            if f.status != FileStatus::Received {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "file {} was never ingested",
                receipt.file_id
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Not transaction files: each is rejected whole (F01) with its result readable on B.
        let result = to_b.result(receipt.file_id).await.unwrap();
        assert_eq!(result.status, "rejected", "{result:?}");
    }
    b.start_kill().unwrap();
}

#[tokio::test]
async fn storage_migrate_copies_a_data_directorys_bodies_into_the_database_once() {
    use hub::store::{Direction, NewFile};
    use hub::vault::Vault;
    let s = setup().await;
    if s.db.store.backend() != Backend::Postgres {
        // SQLite keeps bodies in the data directory: the command refuses, exit 2.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hutong"))
            .args(["storage", "migrate", "--data-dir"])
            .arg(&s.data)
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("SQLite"));
        return;
    }
    // A file received before shared storage: its body only in the data directory.
    let local = Vault::open(&s.data).unwrap();
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 199) as u8).collect();
    let source = s.dir.path().join("old.dat");
    std::fs::write(&source, &body).unwrap();
    let staged = local.stage_file(&source).await.unwrap();
    let (sha256, bytes) = (staged.sha256.clone(), staged.bytes);
    let stored_path = local.commit(staged, Direction::In, "RIZHAO").await.unwrap();
    s.db.store
        .record_file(&NewFile {
            direction: Direction::In,
            sender: Some("RIZHAO".into()),
            addressee: None,
            name: "old.dat".into(),
            sha256: sha256.clone(),
            bytes: bytes as i64,
            status: FileStatus::Received,
            stored_path: stored_path.clone(),
        })
        .await
        .unwrap();
    assert!(s.db.store.body_info(&stored_path).await.unwrap().is_none());

    let migrate = || {
        let hub::store::DbTarget::Url(url) = &s.db.target else {
            unreachable!()
        };
        std::process::Command::new(env!("CARGO_BIN_EXE_hutong"))
            .args(["storage", "migrate", "--database", url, "--data-dir"])
            .arg(&s.data)
            .output()
            .unwrap()
    };
    let first = migrate();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stdout).starts_with("1 file bodies copied"));
    let info = s.db.store.body_info(&stored_path).await.unwrap().unwrap();
    assert_eq!(
        (info.sha256.as_str(), info.bytes, info.chunks),
        (sha256.as_str(), 3_000_000, 3)
    );
    let again = migrate();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).starts_with("0 file bodies copied"));

    // Another machine's data directory reads it back from the database, whole.
    let other = Vault::open_for(&s.dir.path().join("elsewhere"), &s.db.store).unwrap();
    let path = other.local(&stored_path).await.unwrap();
    assert_eq!(std::fs::read(path).unwrap(), body);
}
