//! `hutong participants`: who the hub exchanges files with.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::BadInput;
use super::args::StorageArgs;
use crate::seal::SealKey;
use crate::store::{NewParticipant, ParticipantScheme, Store, StoreError};
use reconciliation::settlement::{AccountField, ClearingMember, SettlementAccount};

/// `hutong participants …`
#[derive(Debug, Subcommand)]
pub enum ParticipantsCommand {
    /// Register a participant.
    Add(AddArgs),
    /// List participants.
    List(ListArgs),
    /// Give a participant a seal key: its uploads must then carry a Hutong-Seal, and the
    /// files the hub sends it are sealed.
    SetSealKey(SealKeyArgs),
    /// Remove a participant's seal key.
    ClearSealKey(CodeArgs),
    /// Set the file format family a participant speaks (result files, blacklists, outbound).
    SetFormat(FormatArgs),
    /// Set (or replace) a participant's settlement account: participants registered before
    /// settlement accounts existed have none, and a window's settlement files need one for
    /// every participant with a position.
    Settlement(SettlementArgs),
}

/// A participant's settlement account on the command line: its id and its agent, a BIC
/// and/or a clearing-system member id.
#[derive(Debug, Args)]
pub(crate) struct SettlementAccountArgs {
    /// Its settlement account id (1-34 characters), as the settlement bank knows it.
    #[arg(long, value_name = "ID")]
    settlement_account: Option<String>,
    /// The BIC of the account's agent (ISO 9362: 8 or 11 characters, e.g. ICBKCNBJ).
    #[arg(long, value_name = "BIC")]
    settlement_bic: Option<String>,
    /// The clearing system of --member-id (e.g. CNAPS).
    #[arg(long, value_name = "CODE", requires = "member_id")]
    clearing_system: Option<String>,
    /// The agent's member id in --clearing-system (e.g. a 12-digit CNAPS bank code).
    #[arg(long, value_name = "ID", requires = "clearing_system")]
    member_id: Option<String>,
}

impl SettlementAccountArgs {
    /// The validated account; a missing or invalid part is bad input naming the flags.
    fn account(&self) -> Result<SettlementAccount, BadInput> {
        const FLAGS: &str = "--settlement-account ID with --settlement-bic BIC and/or --clearing-system CODE --member-id ID";
        let Some(id) = &self.settlement_account else {
            return Err(BadInput(format!(
                "a participant needs a settlement account: give {FLAGS}"
            )));
        };
        let member = match (&self.clearing_system, &self.member_id) {
            (Some(system), Some(member_id)) => Some(ClearingMember {
                system: system.clone(),
                member_id: member_id.clone(),
            }),
            _ => None,
        };
        SettlementAccount::new(id.clone(), self.settlement_bic.clone(), member).map_err(|e| {
            let flag = match e.field {
                AccountField::AccountId => "--settlement-account",
                AccountField::Bic => "--settlement-bic",
                AccountField::ClearingSystem => "--clearing-system",
                AccountField::MemberId => "--member-id",
                AccountField::Agent => {
                    return BadInput(format!(
                        "settlement account {id} needs an agent: give --settlement-bic BIC \
                         and/or --clearing-system CODE --member-id ID"
                    ));
                }
            };
            BadInput(format!("{flag}: {e}"))
        })
    }
}

/// Arguments of `participants settlement`.
#[derive(Debug, Args)]
pub struct SettlementArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// The participant code.
    #[arg(long)]
    code: String,
    #[command(flatten)]
    account: SettlementAccountArgs,
}

/// Arguments of `participants set-seal-key`.
#[derive(Debug, Args)]
pub struct SealKeyArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// The participant code.
    #[arg(long)]
    code: String,
    /// The 16-byte SM4 seal key, 32 hex digits.
    #[arg(long, value_name = "HEX", value_parser = parse_seal_key)]
    seal_key: SealKey,
}

/// Arguments naming one participant.
#[derive(Debug, Args)]
pub struct CodeArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// The participant code.
    #[arg(long)]
    code: String,
}

/// Arguments of `participants set-format`.
#[derive(Debug, Args)]
pub struct FormatArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// The participant code.
    #[arg(long)]
    code: String,
    /// hutong-xml, local-csv, mohurd, mot or pboc.
    #[arg(long, value_parser = parse_format)]
    format: adapters::Format,
}

fn parse_seal_key(s: &str) -> Result<SealKey, String> {
    SealKey::from_hex(s)
}

fn parse_format(s: &str) -> Result<adapters::Format, String> {
    s.parse::<adapters::Format>()
        .map(adapters::Format::family)
        .map_err(|_| "expected hutong-xml, local-csv, mohurd, mot or pboc".to_string())
}

/// Arguments of `participants add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// The participant code, as in its certificate (1-32 of A-Z a-z 0-9 - _).
    #[arg(long)]
    code: String,
    /// local, mohurd, mot, pboc or partner.
    #[arg(long, value_parser = |s: &str| s.parse::<ParticipantScheme>())]
    scheme: ParticipantScheme,
    /// Display name.
    #[arg(long)]
    name: String,
    /// Base URL (https://host:port) to push files addressed to it.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// CA certificate (PEM) the endpoint's server certificate chains to (default: the hub CA).
    #[arg(long, value_name = "FILE", requires = "endpoint")]
    endpoint_ca: Option<PathBuf>,
    /// Client certificate to present to the endpoint (default: the hub's server certificate).
    #[arg(long, value_name = "FILE", requires_all = ["endpoint", "endpoint_key"])]
    endpoint_cert: Option<PathBuf>,
    /// Key of --endpoint-cert.
    #[arg(long, value_name = "FILE", requires = "endpoint_cert")]
    endpoint_key: Option<PathBuf>,
    /// A 16-byte SM4 seal key (32 hex digits): its uploads must carry a Hutong-Seal and the
    /// files sent to it are sealed. Stored with the participant, never shown.
    #[arg(long, value_name = "HEX", value_parser = parse_seal_key)]
    seal_key: Option<SealKey>,
    /// The format family it speaks (default by scheme: local → local-csv, mohurd, mot, pboc,
    /// partner → hutong-xml).
    #[arg(long, value_parser = parse_format)]
    format: Option<adapters::Format>,
    /// Where its money is settled (required).
    #[command(flatten)]
    settlement: SettlementAccountArgs,
}

/// Arguments of `participants list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs `hutong participants …`.
pub(super) fn run(cmd: ParticipantsCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        match cmd {
            ParticipantsCommand::Add(a) => add(a).await,
            ParticipantsCommand::List(a) => list(a).await,
            ParticipantsCommand::SetSealKey(a) => {
                let store = Store::open_existing(&a.storage.target()?).await?;
                let done = store.set_seal_key(&a.code, Some(&a.seal_key)).await?;
                store.close().await;
                if !done {
                    return Err(
                        BadInput(format!("participant {} is not registered", a.code)).into(),
                    );
                }
                println!(
                    "participant {} now seals its files (key check value {})",
                    a.code,
                    a.seal_key.check_value()
                );
                Ok(())
            }
            ParticipantsCommand::ClearSealKey(a) => {
                let store = Store::open_existing(&a.storage.target()?).await?;
                let done = store.set_seal_key(&a.code, None).await?;
                store.close().await;
                if !done {
                    return Err(
                        BadInput(format!("participant {} is not registered", a.code)).into(),
                    );
                }
                println!("participant {} no longer seals its files", a.code);
                Ok(())
            }
            ParticipantsCommand::Settlement(a) => {
                let account = a.account.account()?;
                let store = Store::open_existing(&a.storage.target()?).await?;
                let done = store.set_settlement_account(&a.code, &account).await?;
                store.close().await;
                if !done {
                    return Err(
                        BadInput(format!("participant {} is not registered", a.code)).into(),
                    );
                }
                println!("participant {} settles on {account}", a.code);
                Ok(())
            }
            ParticipantsCommand::SetFormat(a) => {
                let store = Store::open_existing(&a.storage.target()?).await?;
                let done = store
                    .set_participant_format(&a.code, Some(a.format))
                    .await?;
                store.close().await;
                if !done {
                    return Err(
                        BadInput(format!("participant {} is not registered", a.code)).into(),
                    );
                }
                println!("participant {} speaks {}", a.code, a.format);
                Ok(())
            }
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn add(a: AddArgs) -> anyhow::Result<()> {
    let code = certs::ParticipantCode::new(&a.code).map_err(|e| BadInput(e.to_string()))?;
    if a.name.trim().is_empty() {
        return Err(BadInput("--name is empty".into()).into());
    }
    let settlement_account = a.settlement.account()?;
    if let Some(endpoint) = &a.endpoint {
        let url = reqwest::Url::parse(endpoint)
            .map_err(|e| BadInput(format!("--endpoint {endpoint}: {e}")))?;
        if url.scheme() != "https" {
            return Err(
                BadInput(format!("--endpoint {endpoint}: expected an https:// URL")).into(),
            );
        }
    }
    let endpoint_ca_pem = match &a.endpoint_ca {
        Some(path) => {
            let pem = std::fs::read_to_string(path)
                .map_err(|e| BadInput(format!("--endpoint-ca {}: {e}", path.display())))?;
            certs::certificates_from_pem(pem.as_bytes(), "--endpoint-ca")
                .map_err(|e| BadInput(e.to_string()))?;
            Some(pem)
        }
        None => None,
    };
    let absolute = |p: &PathBuf| -> anyhow::Result<String> {
        let p = std::path::absolute(p).map_err(|e| BadInput(format!("{}: {e}", p.display())))?;
        if !p.exists() {
            return Err(BadInput(format!("{} does not exist", p.display())).into());
        }
        Ok(p.display().to_string())
    };
    let store = Store::open_existing(&a.storage.target()?).await?;
    let added = store
        .add_participant(&NewParticipant {
            code,
            scheme: a.scheme,
            name: a.name.trim().to_string(),
            endpoint: a.endpoint.clone(),
            endpoint_ca_pem,
            endpoint_cert_path: a.endpoint_cert.as_ref().map(absolute).transpose()?,
            endpoint_key_path: a.endpoint_key.as_ref().map(absolute).transpose()?,
            settlement_account: Some(settlement_account),
        })
        .await
        .map_err(|e| match e {
            StoreError::Duplicate(what) => {
                anyhow::Error::new(BadInput(format!("{what} already exists")))
            }
            other => other.into(),
        })?;
    if let Some(key) = &a.seal_key {
        store.set_seal_key(added.code.as_str(), Some(key)).await?;
    }
    if let Some(f) = a.format {
        store
            .set_participant_format(added.code.as_str(), Some(f))
            .await?;
    }
    let added = store
        .participant(added.code.as_str())
        .await?
        .unwrap_or(added);
    println!(
        "added participant {} ({}, {}){}{}",
        added.code,
        added.scheme,
        added.name,
        added
            .endpoint
            .as_ref()
            .map(|e| format!(", pushing to {e}"))
            .unwrap_or_default(),
        added
            .settlement_account
            .as_ref()
            .map(|a| format!(", settling on {a}"))
            .unwrap_or_default()
    );
    store.close().await;
    Ok(())
}

async fn list(a: ListArgs) -> anyhow::Result<()> {
    let store = Store::open_existing(&a.storage.target()?).await?;
    let all = store.participants().await?;
    if a.json {
        for p in &all {
            println!("{}", serde_json::to_string(p)?);
        }
    } else {
        println!(
            "{:<16}  {:<8}  {:<30}  {:<10}  {:<6}  {:<40}  ENDPOINT",
            "CODE", "SCHEME", "NAME", "FORMAT", "SEALED", "SETTLEMENT ACCOUNT"
        );
        for p in &all {
            println!(
                "{:<16}  {:<8}  {:<30}  {:<10}  {:<6}  {:<40}  {}",
                p.code,
                p.scheme.as_str(),
                p.name,
                p.format().as_str(),
                if p.sealed { "yes" } else { "no" },
                p.settlement_account
                    .as_ref()
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "- (none: participants settlement)".into()),
                p.endpoint.as_deref().unwrap_or("-")
            );
        }
    }
    store.close().await;
    Ok(())
}
