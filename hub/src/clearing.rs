//! Closing a settlement window (清分) and what follows: the clearing checks, the positions,
//! and the settlement files — instructions for the settlement bank and a statement for every
//! participant — delivered to the participants' outboxes.
//!
//! Closing is one database transaction: mark the window's files and adjustments, aggregate
//! the window's records in SQL, clear them ([`reconciliation::clear`]), check (the files
//! taken, the counts, and that every issuer side's outbound package will carry what it is
//! charged: [`crate::outbound::check_packages`]), store the figures. A failed check rolls everything back: the window stays open and the error says
//! why. A closed window never changes; closing it again returns the stored figures.
//! Settlement files are produced after the close and are idempotent too (their content is a
//! function of the stored figures; each output is recorded once).

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use reconciliation::settlement::{
    self, AccountError, ClearingMember, SettlementAccount, SettlementAccounts, Statement,
};
use reconciliation::{Clearing, FeeSchedule};
use serde::Serialize;
use tokio::sync::Notify;

use crate::delivery::{DepositError, deposit_outbound};
use crate::settings::HubSettings;
use crate::store::clearing::{
    WindowRecord, mark_window_adjustments, mark_window_files, persist_window, unwindowed_before,
    window_adjustments, window_aggregates,
};
use crate::store::{Store, StoreError, Timestamp};
use crate::vault::{Vault, sha256_hex};

/// How clearing is configured.
#[derive(Debug, Clone)]
pub struct ClearingSettings {
    /// The hub's code (the payee of hub fees), cut-off and local time.
    pub hub: HubSettings,
    /// The fee schedule.
    pub fees: FeeSchedule,
    /// SHA-256 of the fee schedule's file (recorded with each window), or of nothing.
    pub fees_sha256: String,
    /// The hub's settlement account, which the instructions settle against: every net payer
    /// pays into it, every net receiver is paid from it. Default
    /// [`ClearingSettings::placeholder_settlement_account`].
    pub settlement_account: SettlementAccount,
}

/// The account id of the hub's settlement account when none is configured.
pub const DEFAULT_SETTLEMENT_ACCOUNT: &str = "HUTONG-SETTLEMENT";

impl Default for ClearingSettings {
    fn default() -> Self {
        ClearingSettings {
            hub: HubSettings::default(),
            fees: FeeSchedule::default(),
            fees_sha256: sha256_hex(b""),
            settlement_account: ClearingSettings::placeholder_settlement_account(
                DEFAULT_SETTLEMENT_ACCOUNT,
            ),
        }
    }
}

/// The pacs.009 of `day`, relative to the data directory: where [`produce_outputs`]
/// writes it, and its key in shared storage (`hutong verify` fetches it by this name).
pub fn pacs009_path(day: NaiveDate) -> String {
    format!("settlements/{day}/pacs009_{day}.xml")
}

impl ClearingSettings {
    /// The hub's settlement account when no agent is configured: `account_id` with a
    /// placeholder agent, member `HUTONG-SETTLEMENT` of a proprietary clearing system `HUTONG`.
    /// No settlement bank knows it; configure the real one (`settlement_bic`, or
    /// `settlement_clearing_system` and `settlement_member_id`, in the configuration file;
    /// `--settlement-bic`, or `--clearing-system` and `--member-id`, on `hutong clear`).
    pub fn placeholder_settlement_account(account_id: &str) -> SettlementAccount {
        SettlementAccount {
            account_id: account_id.to_string(),
            bic: None,
            member: Some(ClearingMember {
                system: "HUTONG".into(),
                member_id: "HUTONG-SETTLEMENT".into(),
            }),
        }
    }

    /// Sets the hub's settlement account from its parts: an account id (default
    /// [`DEFAULT_SETTLEMENT_ACCOUNT`]) and a BIC and/or a clearing system with a member id.
    /// Without either, the agent is the placeholder (with a warning in the log).
    pub fn with_settlement_account(
        mut self,
        account_id: Option<&str>,
        bic: Option<&str>,
        member: Option<ClearingMember>,
    ) -> Result<Self, AccountError> {
        let account_id = account_id.unwrap_or(DEFAULT_SETTLEMENT_ACCOUNT);
        self.settlement_account = if bic.is_none() && member.is_none() {
            if account_id != DEFAULT_SETTLEMENT_ACCOUNT {
                tracing::warn!(
                    account_id,
                    "the hub's settlement account has no BIC or clearing-system member id: \
                     its instructions name a placeholder agent"
                );
            }
            let a = ClearingSettings::placeholder_settlement_account(account_id);
            a.validate()?;
            a
        } else {
            SettlementAccount::new(account_id, bic.map(str::to_string), member)?
        };
        Ok(self)
    }

    /// Reads the fee schedule from `path` (TOML), keeping the other defaults.
    pub fn with_fees_file(mut self, path: &Path) -> Result<Self, ClearingError> {
        let text = std::fs::read(path)
            .map_err(|e| ClearingError::Fees(format!("{}: {e}", path.display())))?;
        let s = std::str::from_utf8(&text)
            .map_err(|e| ClearingError::Fees(format!("{}: {e}", path.display())))?;
        self.fees = FeeSchedule::from_toml(s)
            .map_err(|e| ClearingError::Fees(format!("{}: {e}", path.display())))?;
        self.fees_sha256 = sha256_hex(&text);
        Ok(self)
    }
}

/// Why a window could not be closed or its outputs produced.
#[derive(Debug, thiserror::Error)]
pub enum ClearingError {
    /// A check failed: the window stays open.
    #[error("window {day} stays open: {reason}")]
    CheckFailed {
        /// The day.
        day: NaiveDate,
        /// Why.
        reason: String,
    },
    /// The day's cut-off has not passed yet (close early only when asked to).
    #[error(
        "the cut-off of {day} is at {cutoff} and has not passed; close it early only on purpose"
    )]
    TooEarly {
        /// The day.
        day: NaiveDate,
        /// Its cut-off.
        cutoff: DateTime<Utc>,
    },
    /// The fee schedule.
    #[error("fee schedule {0}")]
    Fees(String),
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A participant with a position in the window has no settlement account.
    #[error(
        "participant {participant} has a position in window {day} but no settlement account: \
         set it with `hutong participants settlement --code {participant} --settlement-account ID \
         --settlement-bic BIC` (or `--clearing-system CODE --member-id ID`), then produce the \
         window's outputs again (`hutong clear --day {day}`)"
    )]
    NoSettlementAccount {
        /// The window.
        day: NaiveDate,
        /// The participant code.
        participant: String,
    },
    /// Writing a settlement file.
    #[error("settlement output: {0}")]
    Output(String),
    /// Depositing a file in an outbox.
    #[error(transparent)]
    Deposit(#[from] DepositError),
}

/// A window's figures, open (provisional) or closed.
#[derive(Debug, Clone, Serialize)]
pub struct Positions {
    /// Settlement day.
    pub day: NaiveDate,
    /// `open` or `closed`.
    pub status: &'static str,
    /// The cut-off instant (the actual one for a window closed early).
    pub cutoff_at: Timestamp,
    /// When it closed.
    pub closed_at: Option<Timestamp>,
    /// Figures.
    #[serde(flatten)]
    pub clearing: Clearing,
}

/// The figures of day `day`: the stored ones when its window is closed, otherwise what it
/// would take if it closed now.
pub async fn positions(
    store: &Store,
    settings: &ClearingSettings,
    day: NaiveDate,
) -> Result<Positions, ClearingError> {
    if let Some(w) = store.closed_window(day).await? {
        let clearing = store.window_figures(day).await?;
        return Ok(Positions {
            day,
            status: "closed",
            cutoff_at: w.cutoff_at,
            closed_at: Some(w.closed_at),
            clearing,
        });
    }
    let cutoff_at = Timestamp::from_datetime(settings.hub.cutoff.instant(day));
    let (aggregates, adjustments) = store.provisional_window(cutoff_at).await?;
    let clearing = reconciliation::clear(
        &aggregates,
        &adjustments,
        &settings.fees,
        &settings.hub.hub_code,
    )
    .map_err(|e| ClearingError::CheckFailed {
        day,
        reason: e.to_string(),
    })?;
    Ok(Positions {
        day,
        status: "open",
        cutoff_at,
        closed_at: None,
        clearing,
    })
}

/// The outcome of [`close_window`].
#[derive(Debug, Clone)]
pub struct Closed {
    /// The window.
    pub window: WindowRecord,
    /// Whether this call closed it (false: it was closed already).
    pub newly_closed: bool,
}

/// Closes day `day`'s window at its cut-off. `early` allows closing before the cut-off has
/// passed (by hand, or the demo): the window then takes what was received until `now`, and
/// records `now` as its cut-off.
pub async fn close_window(
    store: &Store,
    settings: &ClearingSettings,
    day: NaiveDate,
    now: Timestamp,
    early: bool,
) -> Result<Closed, ClearingError> {
    if let Some(window) = store.closed_window(day).await? {
        return Ok(Closed {
            window,
            newly_closed: false,
        });
    }
    let scheduled = settings.hub.cutoff.instant(day);
    let cutoff_at = if now.datetime() >= scheduled {
        Timestamp::from_datetime(scheduled)
    } else if early {
        now
    } else {
        return Err(ClearingError::TooEarly {
            day,
            cutoff: scheduled,
        });
    };
    let failed = |reason: String| ClearingError::CheckFailed { day, reason };
    let participants = store.participants().await?;

    let mut tx = store.begin().await?;
    let file_count = mark_window_files(&mut tx, day, cutoff_at).await?;
    mark_window_adjustments(&mut tx, day, cutoff_at).await?;
    let left = unwindowed_before(&mut tx, cutoff_at).await?;
    if left != 0 {
        return Err(failed(format!(
            "{left} accepted file(s) received before the cut-off are in no window"
        )));
    }
    let sums = window_aggregates(&mut tx, day).await?;
    let adjustments = window_adjustments(&mut tx, day).await?;
    let clearing = reconciliation::clear(
        &sums.aggregates,
        &adjustments,
        &settings.fees,
        &settings.hub.hub_code,
    )
    .map_err(|e| failed(e.to_string()))?;
    let records = sums.records;
    let counted = i64::try_from(clearing.tx_count).unwrap_or(i64::MAX);
    if counted > records {
        return Err(failed(format!(
            "clearing counts {counted} transactions but the window holds {records} records"
        )));
    }
    crate::outbound::check_packages(
        &mut tx,
        day,
        &sums.aggregates,
        &participants,
        &settings.hub.hub_code,
    )
    .await
    .map_err(failed)?;
    let window = WindowRecord {
        day,
        cutoff_at,
        closed_at: now,
        tx_count: records,
        tx_amount_fen: clearing.tx_amount_fen,
        on_us_count: i64::try_from(clearing.on_us_count).unwrap_or(i64::MAX),
        file_count: i64::try_from(file_count).unwrap_or(i64::MAX),
        fees_sha256: settings.fees_sha256.clone(),
    };
    persist_window(&mut tx, &window, &clearing).await?;
    tx.commit().await?;
    Ok(Closed {
        window,
        newly_closed: true,
    })
}

/// A settlement file produced for a closed window.
#[derive(Debug, Clone, Serialize)]
pub struct Output {
    /// `statement-xml`, `statement-csv`, `statement-xlsx`, `pacs009`.
    pub kind: String,
    /// For whom.
    pub participant: String,
    /// The file's name.
    pub name: String,
    /// Where it was written (the outbox file id, or a path under the data directory).
    pub file_id: Option<i64>,
    /// A path, for files that are not in an outbox.
    pub path: Option<PathBuf>,
}

/// A participant's statement of a closed window.
pub async fn statement(
    store: &Store,
    hub: &HubSettings,
    day: NaiveDate,
    participant: &str,
) -> Result<Option<Statement>, ClearingError> {
    let Some(w) = store.closed_window(day).await? else {
        return Ok(None);
    };
    let clearing = store.window_figures(day).await?;
    let created = hub.local_time(w.closed_at.datetime());
    Ok(Some(settlement::statement(
        &clearing,
        participant,
        day,
        created,
    )))
}

/// The settlement accounts of `participants` that have one, by code.
pub fn settlement_accounts(participants: &[crate::store::Participant]) -> SettlementAccounts {
    participants
        .iter()
        .filter_map(|p| {
            p.settlement_account
                .clone()
                .map(|a| (p.code.to_string(), a))
        })
        .collect()
}

/// The output kinds of a participant's statement, in the order they are written.
const STATEMENT_KINDS: [&str; 3] = ["statement-xml", "statement-csv", "statement-xlsx"];

fn output_err(e: impl std::fmt::Display) -> ClearingError {
    ClearingError::Output(e.to_string())
}

/// Writes a closed window's settlement files: the `pacs.009` instructions under
/// `DATA_DIR/settlements/DAY/` (none on a day without net positions: a `pacs.009` carries at
/// least one transfer), and each registered participant's statement (`camt.053` XML, CSV,
/// XLSX) into its outbox. Every participant with a position needs a settlement account
/// ([`ClearingError::NoSettlementAccount`] before anything is written otherwise); the hub's
/// code, when its participant has none, settles on the hub's settlement account. Idempotent:
/// an output already produced is not produced again.
pub async fn produce_outputs(
    store: &Store,
    vault: &Vault,
    settings: &ClearingSettings,
    day: NaiveDate,
    outbox: Option<&Notify>,
) -> Result<Vec<Output>, ClearingError> {
    let Some(w) = store.closed_window(day).await? else {
        return Err(ClearingError::CheckFailed {
            day,
            reason: "the window is not closed".into(),
        });
    };
    let clearing = store.window_figures(day).await?;
    let created = settings.hub.local_time(w.closed_at.datetime());
    let participants = store.participants().await?;
    let registered: std::collections::HashSet<String> =
        participants.iter().map(|p| p.code.to_string()).collect();
    let mut accounts = settlement_accounts(&participants);
    // The hub's fees are paid into its own settlement account unless its participant has one.
    accounts
        .entry(settings.hub.hub_code.clone())
        .or_insert_with(|| settings.settlement_account.clone());
    // Every participant with a position needs its account for the outputs still to write
    // (the instructions and its statement name it): checked before anything is written.
    let pacs_done = store.window_output(day, "pacs009", "-").await?;
    for position in &clearing.participants {
        let code = &position.code;
        let mut needed = !pacs_done && position.net_fen != 0;
        if registered.contains(code) && !needed {
            for kind in STATEMENT_KINDS {
                needed |= !store.window_output(day, kind, code).await?;
            }
        }
        if needed && !accounts.contains_key(code) {
            return Err(ClearingError::NoSettlementAccount {
                day,
                participant: code.clone(),
            });
        }
    }
    let dir = vault.data_dir().join("settlements").join(day.to_string());
    tokio::fs::create_dir_all(&dir).await.map_err(output_err)?;
    let mut outputs = Vec::new();

    // Shared storage (PostgreSQL): the instruction is kept in the database too, under its
    // path relative to the data directory, so any replica can read it back.
    let shared_path = pacs009_path(day);
    let path = vault.path_of(&shared_path);
    let name = format!("pacs009_{day}.xml");
    // A pacs.009 carries at least one transfer: a day without net positions has none.
    let path = if pacs_done {
        let path = vault.local(&shared_path).await.map_err(output_err)?;
        path.exists().then_some(path)
    } else {
        let instructions = settlement::settlement_instructions(
            &clearing,
            day,
            &settings.settlement_account,
            &accounts,
        )
        .map_err(output_err)?;
        let path = (!instructions.is_empty()).then_some(path);
        let mut digest = None;
        if let Some(path) = &path {
            let xml = settlement::write_pacs009(
                &instructions,
                day,
                &format!("HUTONG-{day}"),
                created,
                &settings.settlement_account,
            )
            .map_err(output_err)?;
            write_durably(path, &xml).await?;
            let sha256 = sha256_hex(&xml);
            vault
                .share(&shared_path, &sha256)
                .await
                .map_err(output_err)?;
            digest = Some(sha256);
        }
        store
            .record_window_output(
                day,
                "pacs009",
                "-",
                None,
                path.as_ref().map(|p| p.display().to_string()).as_deref(),
                digest.as_deref(),
            )
            .await?;
        path
    };
    outputs.push(Output {
        kind: "pacs009".into(),
        participant: "-".into(),
        name,
        file_id: None,
        path,
    });

    for position in &clearing.participants {
        let code = &position.code;
        if !registered.contains(code) {
            continue;
        }
        let s = settlement::statement(&clearing, code, day, created);
        for kind in STATEMENT_KINDS {
            let name = match kind {
                "statement-xml" => format!("STMT_{day}_{code}.xml"),
                "statement-csv" => format!("STMT_{day}_{code}.csv"),
                _ => format!("STMT_{day}_{code}.xlsx"),
            };
            if store.window_output(day, kind, code).await? {
                outputs.push(Output {
                    kind: kind.into(),
                    participant: code.clone(),
                    name,
                    file_id: None,
                    path: None,
                });
                continue;
            }
            let bytes = match kind {
                "statement-xml" => settlement::write_camt053(&s, &accounts).map_err(output_err)?,
                "statement-csv" => {
                    let mut csv = Vec::new();
                    settlement::write_statement_csv(&s, &mut csv).map_err(output_err)?;
                    csv
                }
                _ => settlement::statement_xlsx(&s).map_err(output_err)?,
            };
            let staged = dir.join(&name);
            write_durably(&staged, &bytes).await?;
            let (record, _) = deposit_outbound(store, vault, code, &name, &staged, outbox).await?;
            store
                .record_window_output(
                    day,
                    kind,
                    code,
                    Some(record.id),
                    None,
                    Some(&sha256_hex(&bytes)),
                )
                .await?;
            outputs.push(Output {
                kind: kind.into(),
                participant: code.clone(),
                name,
                file_id: Some(record.id),
                path: Some(staged),
            });
        }
    }
    Ok(outputs)
}

async fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), ClearingError> {
    use tokio::io::AsyncWriteExt;
    let tmp = path.with_extension("tmp");
    let mut f = tokio::fs::File::create(&tmp).await.map_err(output_err)?;
    f.write_all(bytes).await.map_err(output_err)?;
    f.sync_all().await.map_err(output_err)?;
    tokio::fs::rename(&tmp, path).await.map_err(output_err)?;
    Ok(())
}
