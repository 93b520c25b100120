//! `hutong init`: creates a hub's storage (the SQLite file in the data directory, or the
//! tables in a PostgreSQL database), migrates it, and records the hub's identity. Run again
//! on an existing hub it migrates an older schema and otherwise changes nothing.

use std::process::ExitCode;

use clap::Args;

use super::BadInput;
use super::args::StorageArgs;
use crate::store::{DEFAULT_HUB_CODE, OpenMode, Store, binary_schema_version};

/// Arguments of `hutong init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// The hub's participant code, recorded in its identity (default HUB).
    #[arg(long, value_name = "CODE")]
    hub_code: Option<String>,
    /// One JSON object instead of the sentence.
    #[arg(long)]
    json: bool,
}

/// Runs `hutong init`.
pub(super) fn run(a: InitArgs) -> anyhow::Result<ExitCode> {
    let target = a.storage.target()?;
    let code = match &a.hub_code {
        Some(c) => certs::ParticipantCode::new(c)
            .map_err(|e| BadInput(format!("--hub-code: {e}")))?
            .as_str()
            .to_string(),
        None => DEFAULT_HUB_CODE.to_string(),
    };
    if let Some(dir) = &a.storage.data_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| BadInput(format!("--data-dir {}: {e}", dir.display())))?;
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let (prepared, identity) = runtime.block_on(async {
        let (store, prepared) = Store::create_or_open(&target, OpenMode::Create, &code).await?;
        let identity = store.hub_identity().await;
        store.close().await;
        anyhow::Ok((prepared, identity?))
    })?;
    let identity =
        identity.ok_or_else(|| anyhow::anyhow!("the hub's identity was not recorded"))?;
    if a.hub_code.is_some() && identity.hub_code != code {
        return Err(BadInput(format!(
            "{} is already hub {}: --hub-code {code} would change its identity",
            target.describe_hub(),
            identity.hub_code
        ))
        .into());
    }
    let what = if prepared.created {
        "created".to_string()
    } else if let Some(from) = prepared.migrated_from {
        format!("migrated from schema {from}")
    } else {
        "already up to date".to_string()
    };
    if a.json {
        let v = serde_json::json!({
            "hub_code": identity.hub_code,
            "at": target.describe_hub(),
            "created": prepared.created,
            "migrated_from": prepared.migrated_from,
            "schema_version": identity.schema_version,
            "created_at": identity.created_at,
        });
        println!("{v}");
    } else {
        println!(
            "hub {} at {}: {what} (schema {}, binary {}, created {})",
            identity.hub_code,
            target.describe_hub(),
            identity.schema_version,
            binary_schema_version(match target {
                crate::store::DbTarget::DataDir(_) => crate::store::Backend::Sqlite,
                crate::store::DbTarget::Url(ref u) if u.starts_with("sqlite") => {
                    crate::store::Backend::Sqlite
                }
                crate::store::DbTarget::Url(_) => crate::store::Backend::Postgres,
            }),
            identity.created_at
        );
    }
    Ok(ExitCode::SUCCESS)
}
