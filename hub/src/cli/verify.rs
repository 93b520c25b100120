//! `hutong verify`: the proof of a closed settlement day ([`crate::verify::verify_day`]): each
//! check with its figures, then `N passed, M failed`. Exit 0 when every check passes, 1
//! naming the first disagreement with both figures, 2 for a day that is not closed.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::Args;

use super::BadInput;
use super::args::StorageArgs;
use crate::store::Store;
use crate::vault::Vault;
use crate::verify::{self, DayProof, VerifyError};

/// Arguments of `hutong verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The closed settlement day to prove.
    #[arg(long, value_parser = day)]
    day: NaiveDate,
    #[command(flatten)]
    storage: StorageArgs,
    /// One JSON object instead of the text.
    #[arg(long)]
    json: bool,
}

fn day(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| "expected a day YYYY-MM-DD".to_string())
}

/// Runs `hutong verify`.
pub(super) fn run(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let target = a.storage.target()?;
    let data_dir: PathBuf = a.storage.data_dir.clone().ok_or_else(|| {
        BadInput("give --data-dir DIR (where the settlement files and outboxes live)".into())
    })?;
    let runtime = tokio::runtime::Runtime::new()?;
    let proof = runtime.block_on(async {
        let store = Store::open_existing(&target).await?;
        let vault = Vault::open_for(&data_dir, &store)?;
        let proof = verify::verify_day(&store, &vault, a.day).await;
        store.close().await;
        match proof {
            Err(e @ VerifyError::NotClosed(_)) => Err(anyhow::Error::new(BadInput(e.to_string()))),
            other => Ok(other?),
        }
    })?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&proof)?);
    } else {
        print!("{}", text(&proof));
    }
    match proof.first_failure() {
        None => Ok(ExitCode::SUCCESS),
        Some(c) => {
            eprintln!("verify {}: first disagreement: {}", proof.day, c.line());
            Ok(ExitCode::from(1))
        }
    }
}

/// The proof as text: one line per check, then the counts.
pub(crate) fn text(proof: &DayProof) -> String {
    let mut s = format!("settlement day {}\n", proof.day);
    for c in &proof.checks {
        s.push_str(&format!(
            "  {:<4}  {}\n",
            if c.passed { "ok" } else { "FAIL" },
            c.line()
        ));
    }
    s.push_str(&format!(
        "{} passed, {} failed\n",
        proof.passed, proof.failed
    ));
    s
}
