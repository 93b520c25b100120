//! `hutong reconcile`, `hutong discrepancies`, `hutong disputes …` and `hutong users …`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};
use reconciliation::DiscrepancyType;
use reconciliation::dispute::{Action, Proposal, Stage};
use serde::Serialize;

use super::BadInput;
use super::args::{HubArgs, StorageArgs};
use crate::disputes::{self, Actor, CaseError};
use crate::reconcile::{self, ReconcileError, ReconcileSettings};
use crate::store::disputes::{CaseFilter, StoredCase};
use crate::store::reconcile::{Discrepancy, DiscrepancyFilter, DiscrepancyStatus};
use crate::store::{NewUser, StaffRole, Store, StoreError, Timestamp};
use crate::vault::Vault;

fn day(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| "expected a day YYYY-MM-DD".to_string())
}

/// What reconciliation needs from the command line.
#[derive(Debug, Args)]
pub(crate) struct ReconcileOptions {
    #[command(flatten)]
    storage: StorageArgs,
    /// Reconciliation rules, dispute deadlines and `[reconcile]` settings (TOML).
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    #[command(flatten)]
    hub: HubArgs,
}

impl ReconcileOptions {
    fn settings(&self) -> anyhow::Result<ReconcileSettings> {
        let mut s = ReconcileSettings {
            hub: self.hub.settings()?,
            ..ReconcileSettings::default()
        };
        if let Some(path) = &self.rules {
            s = s
                .with_file(path)
                .map_err(|e| BadInput(format!("--rules {e}")))?;
        }
        Ok(s)
    }
}

/// `hutong reconcile`
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// The settlement day to reconcile (its window must be closed).
    #[arg(long, value_parser = day)]
    day: NaiveDate,
    #[command(flatten)]
    options: ReconcileOptions,
}

fn bad_or(e: ReconcileError) -> anyhow::Error {
    match e {
        ReconcileError::BadInput(m) => BadInput(m).into(),
        other => other.into(),
    }
}

/// Runs `hutong reconcile`: stores pending result files, finds, resolves, closes; prints the
/// summary as JSON.
pub(crate) fn run_reconcile(a: ReconcileArgs) -> anyhow::Result<ExitCode> {
    let settings = a.options.settings()?;
    let data_dir = a.options.storage.data_dir.clone().ok_or_else(|| {
        BadInput("give --data-dir DIR (where the files and outboxes live)".into())
    })?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let store = Store::open_existing(&a.options.storage.target()?).await?;
        let vault = Vault::open_for(&data_dir, &store)?;
        let out =
            reconcile::reconcile_day(&store, &vault, &settings, a.day, Timestamp::now(), None)
                .await;
        store.close().await;
        let summary = out.map_err(bad_or)?;
        print_json(&summary)?;
        eprintln!(
            "{}: {} new discrepancies ({} already known), {} decided, {} cases opened, {} closed",
            a.day,
            summary.found.new.len(),
            summary.found.known,
            summary.resolved.decided.len(),
            summary.resolved.cases.len(),
            summary.closed.len()
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// Output format of listings.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ListFormat {
    /// A JSON array.
    Json,
    /// CSV with a header row.
    Csv,
}

/// `hutong discrepancies`
#[derive(Debug, Args)]
pub struct DiscrepanciesArgs {
    /// Only this settlement day.
    #[arg(long, value_parser = day)]
    day: Option<NaiveDate>,
    /// json or csv.
    #[arg(long, value_enum, default_value = "json")]
    format: ListFormat,
    /// Only this type (missing_at_partner, counter_gap, …).
    #[arg(long = "type", value_parser = |s: &str| s.parse::<DiscrepancyType>())]
    kind: Option<DiscrepancyType>,
    /// Only this status (open, monitoring, resent, resolved, disputed, closed).
    #[arg(long, value_parser = |s: &str| s.parse::<DiscrepancyStatus>())]
    status: Option<DiscrepancyStatus>,
    /// Only those involving this participant.
    #[arg(long)]
    participant: Option<String>,
    #[command(flatten)]
    storage: StorageArgs,
}

/// One discrepancy as `hutong discrepancies` prints it.
#[derive(Debug, Serialize)]
pub(crate) struct DiscrepancyLine<'a> {
    /// Id.
    pub id: i64,
    /// Type.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Settlement day.
    pub day: String,
    /// Participants.
    pub participants: &'a [String],
    /// Records.
    pub records: &'a [i64],
    /// Amount at stake, fen.
    pub amount_fen: i64,
    /// Status.
    pub status: &'static str,
    /// Files.
    pub files: &'a [i64],
    /// The rule that decided it.
    pub rule: Option<&'a str>,
    /// The dispute case.
    pub case_id: Option<i64>,
    /// The adjustment.
    pub adjustment_ref: Option<&'a str>,
    /// Words.
    pub detail: &'a str,
}

impl<'a> From<&'a Discrepancy> for DiscrepancyLine<'a> {
    fn from(d: &'a Discrepancy) -> Self {
        DiscrepancyLine {
            id: d.id,
            kind: d.kind.as_str(),
            day: d.day.to_string(),
            participants: &d.participants,
            records: &d.records,
            amount_fen: d.amount_fen,
            status: d.status.as_str(),
            files: &d.files,
            rule: d.rule.as_deref(),
            case_id: d.case_id,
            adjustment_ref: d.adjustment_ref.as_deref(),
            detail: &d.detail,
        }
    }
}

/// Writes discrepancies as CSV (ids joined with spaces, participants with spaces).
pub(crate) fn discrepancies_csv<W: Write>(items: &[Discrepancy], out: W) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "id",
        "type",
        "day",
        "participants",
        "records",
        "amount_fen",
        "status",
        "files",
        "rule",
        "case_id",
        "adjustment_ref",
        "detail",
    ])?;
    let join = |v: &[i64]| {
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    for d in items {
        w.write_record([
            d.id.to_string(),
            d.kind.to_string(),
            d.day.to_string(),
            d.participants.join(" "),
            join(&d.records),
            d.amount_fen.to_string(),
            d.status.to_string(),
            join(&d.files),
            d.rule.clone().unwrap_or_default(),
            d.case_id.map(|c| c.to_string()).unwrap_or_default(),
            d.adjustment_ref.clone().unwrap_or_default(),
            d.detail.clone(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Runs `hutong discrepancies`.
pub(crate) fn run_discrepancies(a: DiscrepanciesArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let store = Store::open_existing(&a.storage.target()?).await?;
        let items = store
            .discrepancies(&DiscrepancyFilter {
                day: a.day,
                kind: a.kind,
                status: a.status,
                participant: a.participant.clone(),
                limit: None,
            })
            .await?;
        store.close().await;
        match a.format {
            ListFormat::Json => {
                let lines: Vec<DiscrepancyLine<'_>> = items.iter().map(Into::into).collect();
                print_json(&lines)?;
            }
            ListFormat::Csv => discrepancies_csv(&items, std::io::stdout().lock())?,
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn print_json<T: Serialize>(v: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// disputes

/// `hutong disputes …`
#[derive(Debug, Subcommand)]
pub enum DisputesCommand {
    /// List cases.
    List(CaseListArgs),
    /// One case with its history and evidence (JSON).
    Show(CaseShowArgs),
    /// Propose an outcome, as the party the user acts for.
    Propose {
        #[command(flatten)]
        who: ActAs,
        /// Who pays.
        #[arg(long)]
        payer: String,
        /// Who receives.
        #[arg(long)]
        payee: String,
        /// Fen (0: nothing to pay).
        #[arg(long)]
        amount: i64,
    },
    /// Accept the pending claim or proposal, as the party the user acts for.
    Accept {
        #[command(flatten)]
        who: ActAs,
    },
    /// Escalate to arbitration by the hub operator, as the party the user acts for.
    Escalate {
        #[command(flatten)]
        who: ActAs,
    },
    /// Arbitrate (operators): decide who pays whom how much.
    Resolve {
        #[command(flatten)]
        who: ActAs,
        /// Who pays.
        #[arg(long)]
        payer: String,
        /// Who receives.
        #[arg(long)]
        payee: String,
        /// Fen (0: nothing to pay).
        #[arg(long)]
        amount: i64,
    },
    /// Apply the default outcome to every case whose deadline has passed (what the scheduler's
    /// dispute-deadlines job does).
    Expire(ExpireArgs),
}

/// `disputes list`
#[derive(Debug, Args)]
pub struct CaseListArgs {
    /// Only cases of this participant.
    #[arg(long)]
    participant: Option<String>,
    /// Only cases still waiting for someone.
    #[arg(long)]
    open: bool,
    #[command(flatten)]
    storage: StorageArgs,
}

/// `disputes show`
#[derive(Debug, Args)]
pub struct CaseShowArgs {
    /// The case.
    #[arg(long)]
    case: i64,
    #[command(flatten)]
    storage: StorageArgs,
}

/// `disputes expire`
#[derive(Debug, Args)]
pub struct ExpireArgs {
    #[command(flatten)]
    options: ReconcileOptions,
}

/// Which case, and which staff user acts.
#[derive(Debug, Args)]
pub struct ActAs {
    /// The case.
    #[arg(long)]
    case: i64,
    /// The staff user acting (see `hutong users`); its role and participant decide what it may do.
    #[arg(long)]
    user: String,
    #[command(flatten)]
    options: ReconcileOptions,
}

fn case_err(e: CaseError) -> anyhow::Error {
    match e {
        CaseError::Store(s) => s.into(),
        other => BadInput(other.to_string()).into(),
    }
}

async fn staff(store: &Store, name: &str) -> anyhow::Result<Actor> {
    let u = store
        .user_by_name(name)
        .await?
        .ok_or_else(|| BadInput(format!("no user {name:?}: add it with hutong users add")))?;
    Ok(Actor::Staff {
        name: u.name,
        role: u.role,
        participant: u.participant,
    })
}

/// Runs `hutong disputes …`.
pub(crate) fn run_disputes(cmd: DisputesCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        match cmd {
            DisputesCommand::List(CaseListArgs {
                participant,
                open,
                storage,
            }) => {
                let store = Store::open_existing(&storage.target()?).await?;
                let cases = store
                    .cases(&CaseFilter {
                        participant,
                        stage: None,
                        open_only: open,
                    })
                    .await?;
                store.close().await;
                #[derive(Serialize)]
                struct Line<'a> {
                    id: i64,
                    discrepancy_id: i64,
                    claimant: &'a str,
                    respondent: &'a str,
                    amount_fen: i64,
                    stage: Stage,
                    deadline: String,
                    overdue: bool,
                }
                let lines: Vec<Line<'_>> = cases
                    .iter()
                    .map(|c| Line {
                        id: c.id,
                        discrepancy_id: c.discrepancy_id,
                        claimant: &c.case.claimant,
                        respondent: &c.case.respondent,
                        amount_fen: c.case.amount_fen,
                        stage: c.case.stage,
                        deadline: format!("{}Z", c.case.deadline.format("%Y-%m-%dT%H:%M:%S")),
                        overdue: c.case.overdue,
                    })
                    .collect();
                print_json(&lines)?;
            }
            DisputesCommand::Show(CaseShowArgs { case, storage }) => {
                let store = Store::open_existing(&storage.target()?).await?;
                let c = store.case(case).await?;
                store.close().await;
                let c = c.ok_or_else(|| BadInput(format!("no dispute case {case}")))?;
                print_json(&c)?;
            }
            DisputesCommand::Propose {
                who,
                payer,
                payee,
                amount,
            } => {
                act(
                    who,
                    Action::Propose(Proposal {
                        payer,
                        payee,
                        amount_fen: amount,
                    }),
                )
                .await?
            }
            DisputesCommand::Accept { who } => act(who, Action::Accept).await?,
            DisputesCommand::Escalate { who } => act(who, Action::Escalate).await?,
            DisputesCommand::Resolve {
                who,
                payer,
                payee,
                amount,
            } => {
                act(
                    who,
                    Action::Arbitrate(Proposal {
                        payer,
                        payee,
                        amount_fen: amount,
                    }),
                )
                .await?
            }
            DisputesCommand::Expire(ExpireArgs { options }) => {
                let settings = options.settings()?;
                let store = Store::open_existing(&options.storage.target()?).await?;
                let out = disputes::expire_due(&store, &settings.deadlines, Timestamp::now()).await;
                store.close().await;
                print_json(&out.map_err(case_err)?)?;
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

async fn act(who: ActAs, action: Action) -> anyhow::Result<()> {
    let settings = who.options.settings()?;
    let store = Store::open_existing(&who.options.storage.target()?).await?;
    let actor = staff(&store, &who.user).await?;
    let out: Result<StoredCase, CaseError> = disputes::act(
        &store,
        &settings.deadlines,
        who.case,
        &actor,
        action,
        None,
        Timestamp::now(),
    )
    .await;
    store.close().await;
    print_json(&out.map_err(case_err)?)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// users

/// `hutong users …`
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a console user. The password is read from standard input (one line) or, on a
    /// terminal, prompted for.
    Add(UserAddArgs),
    /// List console users.
    List(UserListArgs),
}

/// `users add`
#[derive(Debug, Args)]
pub struct UserAddArgs {
    /// Sign-in name (letters, digits, '-', '_'; a client certificate for this participant
    /// code signs in as this user when --cert is given).
    #[arg(long)]
    name: String,
    /// viewer, finance or operator.
    #[arg(long, value_parser = |s: &str| s.parse::<StaffRole>())]
    role: StaffRole,
    /// The participant the user acts for in dispute cases (e.g. the hub city's own code).
    #[arg(long)]
    participant: Option<String>,
    /// Also sign in with a client certificate of the hub CA naming this user.
    #[arg(long)]
    cert: bool,
    /// No password: sign in by client certificate only (needs --cert).
    #[arg(long)]
    no_password: bool,
    #[command(flatten)]
    storage: StorageArgs,
}

/// `users list`
#[derive(Debug, Args)]
pub struct UserListArgs {
    /// JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    storage: StorageArgs,
}

fn read_password() -> anyhow::Result<String> {
    use std::io::IsTerminal;
    let pw = if std::io::stdin().is_terminal() {
        let a = rpassword::prompt_password("password: ")?;
        let b = rpassword::prompt_password("again: ")?;
        if a != b {
            return Err(BadInput("the passwords differ".into()).into());
        }
        a
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if pw.chars().count() < 8 {
        return Err(BadInput("a password has at least 8 characters".into()).into());
    }
    Ok(pw)
}

/// Runs `hutong users …`.
pub(crate) fn run_users(cmd: UsersCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        UsersCommand::Add(UserAddArgs {
            name,
            role,
            participant,
            cert,
            no_password,
            storage,
        }) => {
            certs::ParticipantCode::new(&name).map_err(|_| {
                BadInput(format!(
                    "user name {name:?}: 1 to 32 letters, digits, '-' or '_'"
                ))
            })?;
            if no_password && !cert {
                return Err(
                    BadInput("--no-password needs --cert (no way to sign in)".into()).into(),
                );
            }
            let target = storage.target()?;
            let hash = if no_password {
                None
            } else {
                Some(crate::console::auth::hash_password(&read_password()?)?)
            };
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async {
                let store = Store::open_existing(&target).await?;
                if let Some(p) = &participant
                    && store.participant(p).await?.is_none()
                {
                    store.close().await;
                    return Err(BadInput(format!("participant {p} is not registered")).into());
                }
                let added = store
                    .add_user(&NewUser {
                        name: name.clone(),
                        role,
                        participant,
                        password_hash: hash,
                        cert_login: cert,
                    })
                    .await;
                store.close().await;
                match added {
                    Ok(u) => print_json(&u)?,
                    Err(StoreError::Duplicate(what)) => {
                        return Err(BadInput(format!("{what} already exists")).into());
                    }
                    Err(e) => return Err(e.into()),
                }
                Ok(ExitCode::SUCCESS)
            })
        }
        UsersCommand::List(UserListArgs { json, storage }) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async {
                let store = Store::open_existing(&storage.target()?).await?;
                let users = store.users().await?;
                store.close().await;
                if json {
                    print_json(&users)?;
                } else {
                    let mut out = std::io::stdout().lock();
                    writeln!(
                        out,
                        "{:<24} {:<9} {:<12} cert",
                        "name", "role", "participant"
                    )?;
                    for u in users {
                        writeln!(
                            out,
                            "{:<24} {:<9} {:<12} {}",
                            u.name,
                            u.role,
                            u.participant.as_deref().unwrap_or("-"),
                            if u.cert_login { "yes" } else { "no" }
                        )?;
                    }
                }
                Ok(ExitCode::SUCCESS)
            })
        }
    }
}
