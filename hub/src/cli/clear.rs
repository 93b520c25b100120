//! `hutong clear` and `hutong positions`: close a day's settlement window by hand, and print a
//! window's positions.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Args, ValueEnum};

use super::BadInput;
use super::args::{HubArgs, StorageArgs};
use crate::clearing::{
    self, ClearingError, ClearingSettings, DEFAULT_SETTLEMENT_ACCOUNT, Positions,
};
use crate::day::DayError;
use crate::store::{Store, Timestamp};
use crate::vault::Vault;
use reconciliation::settlement::ClearingMember;

/// What clearing needs from the command line.
#[derive(Debug, Args)]
pub(crate) struct ClearingArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// The fee schedule (TOML `[[fee]]` rules); without it no fees are charged.
    #[arg(long, value_name = "FILE")]
    fees: Option<PathBuf>,
    #[command(flatten)]
    hub: HubArgs,
    /// The hub's settlement account, which the instructions settle against.
    #[arg(long, value_name = "ID", default_value = DEFAULT_SETTLEMENT_ACCOUNT)]
    settlement_account: String,
    /// The BIC of the hub's settlement account's agent (ISO 9362, 8 or 11 characters).
    #[arg(long, value_name = "BIC")]
    settlement_bic: Option<String>,
    /// The clearing system of the agent's member id (e.g. CNAPS).
    #[arg(long, value_name = "CODE", requires = "member_id")]
    clearing_system: Option<String>,
    /// The agent's member id in --clearing-system (e.g. a 12-digit CNAPS bank code).
    #[arg(long, value_name = "ID", requires = "clearing_system")]
    member_id: Option<String>,
}

impl ClearingArgs {
    fn settings(&self) -> anyhow::Result<ClearingSettings> {
        let member = match (&self.clearing_system, &self.member_id) {
            (Some(system), Some(member_id)) => Some(ClearingMember {
                system: system.clone(),
                member_id: member_id.clone(),
            }),
            _ => None,
        };
        let mut s = ClearingSettings {
            hub: self.hub.settings()?,
            ..ClearingSettings::default()
        }
        .with_settlement_account(
            Some(&self.settlement_account),
            self.settlement_bic.as_deref(),
            member,
        )
        .map_err(|e| {
            BadInput(format!(
                "--settlement-account/--settlement-bic/--clearing-system/--member-id: {e}"
            ))
        })?;
        if let Some(path) = &self.fees {
            s = s
                .with_fees_file(path)
                .map_err(|e| BadInput(format!("--fees {e}")))?;
        }
        Ok(s)
    }
}

fn day(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| "expected a day YYYY-MM-DD".to_string())
}

/// `hutong clear`
#[derive(Debug, Args)]
pub struct ClearArgs {
    /// The settlement day whose window to close.
    #[arg(long, value_parser = day)]
    day: NaiveDate,
    #[command(flatten)]
    clearing: ClearingArgs,
    /// Close before the day's cut-off has passed (the window takes what has arrived until now).
    #[arg(long)]
    early: bool,
}

/// Output format of `hutong positions`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum PositionsFormat {
    /// One JSON object.
    Json,
    /// One CSV table (a `kind` column says participant or pair).
    Csv,
}

/// `hutong positions`
#[derive(Debug, Args)]
pub struct PositionsArgs {
    /// The settlement day.
    #[arg(long, value_parser = day)]
    day: NaiveDate,
    /// json or csv.
    #[arg(long, value_enum, default_value = "json")]
    format: PositionsFormat,
    #[command(flatten)]
    clearing: ClearingArgs,
}

fn storage_dir(storage: &StorageArgs) -> anyhow::Result<PathBuf> {
    storage.data_dir.clone().ok_or_else(|| {
        BadInput("give --data-dir DIR (where settlement files and outboxes live)".into()).into()
    })
}

/// Runs `hutong clear`: closes the window (or finds it closed), produces the settlement files,
/// prints the positions as JSON — the same output however often it runs.
pub(crate) fn run_clear(a: ClearArgs) -> anyhow::Result<ExitCode> {
    let settings = a.clearing.settings()?;
    let data_dir = storage_dir(&a.clearing.storage)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let store = Store::open_existing(&a.clearing.storage.target()?).await?;
        let vault = Vault::open_for(&data_dir, &store)?;
        let day = match crate::day::close_day(
            &store,
            &vault,
            &settings,
            a.day,
            Timestamp::now(),
            a.early,
            None,
        )
        .await
        {
            Ok(d) => d,
            Err(DayError::Clearing(
                e @ (ClearingError::TooEarly { .. } | ClearingError::CheckFailed { .. }),
            )) => {
                store.close().await;
                return Err(anyhow::Error::new(e).context("the window stays open"));
            }
            Err(DayError::Clearing(e @ ClearingError::NoSettlementAccount { .. })) => {
                store.close().await;
                return Err(BadInput(e.to_string()).into());
            }
            Err(e) => return Err(e.into()),
        };
        let (closed, outputs) = (day.closed, day.outputs);
        let p = clearing::positions(&store, &settings, a.day).await?;
        print_json(&p)?;
        eprintln!(
            "window {} {}: {} transactions, {} files, {} settlement files and packages",
            a.day,
            if closed.newly_closed {
                "closed"
            } else {
                "was already closed"
            },
            closed.window.tx_count,
            closed.window.file_count,
            outputs.len()
        );
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// Runs `hutong positions`.
pub(crate) fn run_positions(a: PositionsArgs) -> anyhow::Result<ExitCode> {
    let settings = a.clearing.settings()?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let store = Store::open_existing(&a.clearing.storage.target()?).await?;
        let p = clearing::positions(&store, &settings, a.day).await?;
        match a.format {
            PositionsFormat::Json => print_json(&p)?,
            PositionsFormat::Csv => print_csv(&p)?,
        }
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}

fn print_json(p: &Positions) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, p)?;
    writeln!(out)?;
    Ok(())
}

fn print_csv(p: &Positions) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(std::io::stdout().lock());
    w.write_record([
        "day",
        "status",
        "kind",
        "code",
        "counterparty",
        "count",
        "amount_fen",
        "fee_fen",
        "adjustment_fen",
        "receivable_fen",
        "payable_fen",
        "fees_fen",
        "net_fen",
    ])?;
    let day = p.day.to_string();
    for x in &p.clearing.participants {
        w.write_record([
            &day,
            p.status,
            "participant",
            &x.code,
            "",
            "",
            "",
            "",
            "",
            &x.receivable_fen.to_string(),
            &x.payable_fen.to_string(),
            &x.fees_fen.to_string(),
            &x.net_fen.to_string(),
        ])?;
    }
    for x in &p.clearing.pairs {
        w.write_record([
            &day,
            p.status,
            "pair",
            &x.payer,
            &x.payee,
            &x.count.to_string(),
            &x.amount_fen.to_string(),
            &x.fee_fen.to_string(),
            &x.adjustment_fen.to_string(),
            "",
            "",
            "",
            "",
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// `hutong outbound`
#[derive(Debug, Args)]
pub struct OutboundArgs {
    /// The settlement day (its window must be closed: `hutong clear`).
    #[arg(long, value_parser = day)]
    day: NaiveDate,
    #[command(flatten)]
    storage: StorageArgs,
    #[command(flatten)]
    hub: HubArgs,
}

/// Runs `hutong outbound`: writes the day's outbound packages (下发包) — each issuer side's
/// records acquired elsewhere, in its own format — into the outboxes, for every participant
/// that has none yet for the day, and prints them as JSON lines. Idempotent.
pub(crate) fn run_outbound(a: OutboundArgs) -> anyhow::Result<ExitCode> {
    let data_dir = storage_dir(&a.storage)?;
    let hub = a.hub.settings()?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let store = Store::open_existing(&a.storage.target()?).await?;
        let vault = Vault::open_for(&data_dir, &store)?;
        let outputs =
            match crate::outbound::produce_packages(&store, &vault, a.day, &hub, None).await {
                Ok(o) => o,
                Err(e @ ClearingError::CheckFailed { .. }) => {
                    store.close().await;
                    return Err(BadInput(format!("{e} (close it with hutong clear)")).into());
                }
                Err(e) => return Err(e.into()),
            };
        let mut out = std::io::stdout().lock();
        for o in &outputs {
            serde_json::to_writer(&mut out, o)?;
            writeln!(out)?;
        }
        eprintln!(
            "{} package(s) written for {} (participants that had one already are skipped)",
            outputs.len(),
            a.day
        );
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}
