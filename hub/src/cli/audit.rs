//! `hutong audit`: the hash-chained audit log.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::args::StorageArgs;
use crate::store::Store;

/// `hutong audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the whole chain; exit 1 and name the first entry that does not fit.
    Verify(VerifyArgs),
}

/// Arguments of `audit verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    storage: StorageArgs,
}

/// Runs `hutong audit …`.
pub(super) fn run(cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    let AuditCommand::Verify(args) = cmd;
    let target = args.storage.target()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let check = runtime.block_on(async {
        let store = Store::open_existing(&target).await?;
        let check = store.verify_audit_chain().await;
        store.close().await;
        check
    })?;
    match check.broken_at {
        None => {
            println!("audit log intact: {} entries", check.entries);
            Ok(ExitCode::SUCCESS)
        }
        Some((seq, why)) => {
            println!(
                "audit log BROKEN at entry {seq}: {why} ({} entries before it are intact)",
                check.entries
            );
            Ok(ExitCode::from(1))
        }
    }
}
