//! `hutong routes`: which clearing participant each card issuer's transactions go to.

use std::process::ExitCode;

use card_standards::Scheme;
use clap::{Args, Subcommand};

use super::BadInput;
use super::args::StorageArgs;
use crate::ingest::checks::RoutePattern;
use crate::store::{Store, StoreError};

/// `hutong routes …`
#[derive(Debug, Subcommand)]
pub enum RoutesCommand {
    /// Add a route: the transactions of cards of this issuer clear with this participant.
    Add(RouteArgs),
    /// Remove a route.
    Remove(RemoveArgs),
    /// List the routes.
    List(ListArgs),
}

/// Arguments of `routes add`.
#[derive(Debug, Args)]
pub struct RouteArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// The card scheme: local, mohurd, mot or pboc.
    #[arg(long, value_parser = |s: &str| s.parse::<Scheme>().map_err(|_| "expected local, mohurd, mot or pboc".to_string()))]
    scheme: Scheme,
    /// The card issuer's code (4 hex digits) or '*'.
    #[arg(long)]
    issuer: String,
    /// The card issuer's city code as the card stores it (4 digits) or '*'.
    #[arg(long)]
    city: String,
    /// The clearing participant.
    #[arg(long)]
    participant: String,
}

/// Arguments of `routes remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// The card scheme.
    #[arg(long, value_parser = |s: &str| s.parse::<Scheme>().map_err(|_| "expected local, mohurd, mot or pboc".to_string()))]
    scheme: Scheme,
    /// The issuer code or '*'.
    #[arg(long)]
    issuer: String,
    /// The city code or '*'.
    #[arg(long)]
    city: String,
}

/// Arguments of `routes list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
}

/// Runs `hutong routes …`.
pub(super) fn run(cmd: RoutesCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        match cmd {
            RoutesCommand::Add(a) => {
                let p = RoutePattern::parse(&a.issuer, &a.city).map_err(BadInput)?;
                let store = Store::open_existing(&a.storage.target()?).await?;
                let r = store
                    .add_route(a.scheme, &p.issuer_text(), &p.city_text(), &a.participant)
                    .await
                    .map_err(|e| match e {
                        StoreError::Duplicate(w) => anyhow::Error::new(BadInput(format!(
                            "{w} already exists (remove it first)"
                        ))),
                        StoreError::NotFound(w) => anyhow::Error::new(BadInput(format!(
                            "{w} is not registered (hutong participants add)"
                        ))),
                        other => other.into(),
                    })?;
                println!(
                    "route {} issuer {} city {} → {}",
                    r.scheme, r.issuer_code, r.city_code, r.participant
                );
                store.close().await;
            }
            RoutesCommand::Remove(a) => {
                let p = RoutePattern::parse(&a.issuer, &a.city).map_err(BadInput)?;
                let store = Store::open_existing(&a.storage.target()?).await?;
                let gone = store
                    .remove_route(a.scheme, &p.issuer_text(), &p.city_text())
                    .await?;
                store.close().await;
                if !gone {
                    return Err(BadInput(format!(
                        "no route for {} issuer {} city {}",
                        a.scheme,
                        p.issuer_text(),
                        p.city_text()
                    ))
                    .into());
                }
                println!("removed");
            }
            RoutesCommand::List(a) => {
                let store = Store::open_existing(&a.storage.target()?).await?;
                let routes = store.routes().await?;
                if a.json {
                    for r in &routes {
                        println!("{}", serde_json::to_string(r)?);
                    }
                } else {
                    println!("{:<8} {:<6} {:<6} PARTICIPANT", "SCHEME", "ISSUER", "CITY");
                    for r in &routes {
                        println!(
                            "{:<8} {:<6} {:<6} {}",
                            r.scheme.as_str(),
                            r.issuer_code,
                            r.city_code,
                            r.participant
                        );
                    }
                }
                store.close().await;
            }
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
