//! The command line: one module per subcommand, dispatched from [`run`]. Exit codes are
//! decided here, in one place: 0 success, 1 failure, 2 bad input.

mod args;
mod audit;
mod bench;
mod bench_clear;
mod bench_e2e;
mod bench_ingest;
mod card;
mod certs;
mod clear;
mod config;
mod conformance;
mod crypto;
mod demo;
mod drill;
mod ingest;
mod init;
mod participants;
mod reconcile;
mod routes;
mod serve;
mod simulate;
mod status;
mod storage;
mod upload;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Input the user got wrong (a value, a file): exit code 2, like clap's own usage errors.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// hutong (互通): the interoperability hub for China's city transit cards.
#[derive(Debug, Parser)]
#[command(name = "hutong", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The whole hub on its embedded default with simulated partners: simulate a day, serve,
    /// upload over mTLS, ingest, clear, settle, reconcile, and report (start here).
    Demo(demo::DemoArgs),
    /// Create a hub's storage (or migrate an older one) and record its identity: the first
    /// command of a new hub.
    Init(init::InitArgs),
    /// What an operator checks first: participants, certificates, ingest, windows, deliveries,
    /// discrepancies, disputes, the audit chain. Exit 0 when nothing needs attention, 1 otherwise.
    Status(status::StatusArgs),
    /// Prove a closed settlement day: records, windows, pairs, positions, statements,
    /// instructions, packages, the audit chain and file digests agree. Exit 0, or 1 naming the
    /// first disagreement.
    Verify(verify::VerifyArgs),
    /// Check a `serve` configuration file without starting anything.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// A seeded fault drill: a simulated day through N replicas (PostgreSQL, a private
    /// cluster) or one server (SQLite) killed and restarted at random, held against a clean
    /// run of the same day. Exit 0 when every invariant held, 1 otherwise.
    Drill(drill::DrillArgs),
    /// File storage: `migrate` copies a data directory's file bodies into PostgreSQL's shared
    /// storage, so that every replica serves them.
    Storage(storage::StorageCommand),
    /// Close a day's settlement window by hand (idempotent), produce its settlement files, print its positions.
    Clear(clear::ClearArgs),
    /// Write a closed day's outbound packages (下发包) into each issuer side's outbox, in its
    /// format (idempotent; `hutong clear` does it too).
    Outbound(clear::OutboundArgs),
    /// Print a settlement window's positions (open windows: what it would take now).
    Positions(clear::PositionsArgs),
    /// The compliance engineer's calculator: diversify keys, compute MAC1/MAC2/TAC, MACs.
    #[command(subcommand)]
    Crypto(crypto::CryptoCommand),
    /// Benchmarks of the hot paths, each beside its physical limit (not part of the tests).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// A seeded day of every participant's files, blacklists, partners' results, keys, fees,
    /// the manifest and the ground truth of the faults injected.
    Simulate(simulate::SimulateArgs),
    /// The conformance suite: list and run the catalogue, reports, an APDU shell on a card.
    #[command(subcommand)]
    Conformance(conformance::ConformanceCommand),
    /// Card tools: decode dumped files and responses to JSON, annotate APDU logs, read a card
    /// on a PC/SC reader.
    #[command(subcommand)]
    Card(card::CardCommand),
    /// The hub's certificate authority: CA, server and participant certificates, revocation.
    #[command(subcommand)]
    Certs(certs::CertsCommand),
    /// Participants the hub exchanges files with.
    #[command(subcommand)]
    Participants(participants::ParticipantsCommand),
    /// Serve the mutual-TLS file exchange (and push outbound files to partner endpoints).
    Serve(serve::ServeArgs),
    /// Ingest every stored file waiting for it: parse, translate, check, store; results out.
    Ingest(ingest::IngestArgs),
    /// The routing table: which clearing participant each card issuer's transactions go to.
    #[command(subcommand)]
    Routes(routes::RoutesCommand),
    /// Upload files to a hub as a participant.
    Upload(upload::UploadArgs),
    /// Download every file a hub holds for us that was not fetched before.
    Fetch(upload::FetchArgs),
    /// The hash-chained audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Reconcile a closed settlement day: partners' results, card audit, late presentments;
    /// store the discrepancies and apply the resolution rules (idempotent).
    Reconcile(reconcile::ReconcileArgs),
    /// List discrepancies (JSON or CSV).
    Discrepancies(reconcile::DiscrepanciesArgs),
    /// Dispute cases: list, show, propose, accept, escalate, resolve (arbitrate), expire.
    #[command(subcommand)]
    Disputes(reconcile::DisputesCommand),
    /// The finance console's users.
    #[command(subcommand)]
    Users(reconcile::UsersCommand),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Init(args) => init::run(args),
        Command::Config(cmd) => config::run(cmd),
        Command::Status(args) => status::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Storage(cmd) => storage::run(cmd),
        Command::Drill(args) => drill::run(args),
        Command::Crypto(cmd) => crypto::run(cmd),
        Command::Clear(args) => clear::run_clear(args),
        Command::Positions(args) => clear::run_positions(args),
        Command::Outbound(args) => clear::run_outbound(args),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Simulate(args) => simulate::run(args),
        Command::Conformance(cmd) => conformance::run(cmd),
        Command::Card(cmd) => card::run(cmd),
        Command::Certs(cmd) => certs::run(cmd),
        Command::Participants(cmd) => participants::run(cmd),
        Command::Serve(args) => serve::run(args),
        Command::Ingest(args) => ingest::run(args),
        Command::Routes(cmd) => routes::run(cmd),
        Command::Upload(args) => upload::run_upload(args),
        Command::Fetch(args) => upload::run_fetch(args),
        Command::Audit(cmd) => audit::run(cmd),
        Command::Reconcile(args) => reconcile::run_reconcile(args),
        Command::Discrepancies(args) => reconcile::run_discrepancies(args),
        Command::Disputes(cmd) => reconcile::run_disputes(cmd),
        Command::Users(cmd) => reconcile::run_users(cmd),
    }
}

/// The exit code for an error: 2 for [`BadInput`], for storage errors the user fixes by
/// pointing elsewhere or running `hutong init` ([`crate::store::StoreError::is_bad_input`]),
/// a taken data directory and an application that cannot start on what it was given
/// ([`crate::app::AppError::is_bad_input`]), anywhere in the chain; 1 otherwise.
pub fn exit_code_for(err: &anyhow::Error) -> ExitCode {
    let bad = err.chain().any(|e| {
        e.downcast_ref::<BadInput>().is_some()
            || e.downcast_ref::<crate::store::StoreError>()
                .is_some_and(|s| s.is_bad_input())
            || e.downcast_ref::<crate::datadir::LockError>()
                .is_some_and(|l| l.is_bad_input())
            || e.downcast_ref::<crate::app::AppError>()
                .is_some_and(|a| a.is_bad_input())
    });
    if bad {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}
