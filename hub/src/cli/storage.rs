//! `hutong storage migrate`: copies the file bodies of an existing data directory into the
//! database (PostgreSQL's shared file storage, see [`crate::vault`]), so that every replica
//! can serve, ingest and push files received before shared storage existed. Idempotent: a body
//! already in the database is skipped.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::BadInput;
use super::args::StorageArgs;
use crate::store::Store;
use crate::vault::Vault;

/// Arguments of `hutong storage`.
#[derive(Debug, Args)]
pub struct StorageCommand {
    #[command(subcommand)]
    command: StorageSub,
}

#[derive(Debug, Subcommand)]
enum StorageSub {
    /// Copy every file body of DATA_DIR that the database does not hold yet into it.
    Migrate {
        #[command(flatten)]
        storage: StorageArgs,
    },
}

/// Runs `hutong storage`.
pub(super) fn run(a: StorageCommand) -> anyhow::Result<ExitCode> {
    let StorageSub::Migrate { storage } = a.command;
    let target = storage.target()?;
    let data_dir = storage
        .data_dir
        .clone()
        .ok_or_else(|| BadInput("give --data-dir DIR (the files to copy)".into()))?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let store = Store::open_existing(&target).await?;
        let vault = Vault::open_for(&data_dir, &store)?;
        if !vault.is_shared() {
            store.close().await;
            return Err(anyhow::Error::new(BadInput(
                "this hub is on SQLite: its file bodies stay in the data directory \
                 (shared storage is PostgreSQL's)"
                    .into(),
            )));
        }
        let todo = store.paths_without_body().await?;
        let (mut copied, mut missing) = (0usize, Vec::new());
        for (stored, sha256) in &todo {
            if !vault.path_of(stored).exists() {
                missing.push(stored.clone());
                continue;
            }
            if vault.share(stored, sha256).await? {
                copied += 1;
            }
        }
        store.close().await;
        println!(
            "{copied} file bodies copied into the database; {} already there or not here",
            todo.len() - copied
        );
        if missing.is_empty() {
            Ok(ExitCode::SUCCESS)
        } else {
            for m in &missing {
                eprintln!("not in {}: {m}", data_dir.display());
            }
            eprintln!(
                "{} files are in neither the database nor this data directory: run this on \
                 the machine that received them",
                missing.len()
            );
            Ok(ExitCode::from(1))
        }
    })
}
