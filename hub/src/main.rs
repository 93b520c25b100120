//! `hutong`: the interoperability hub for China's city transit cards.
//!
//! This file only parses the command line and turns the outcome into an exit code; every
//! subcommand lives in [`hub::cli`].

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // One crypto provider for rustls in the whole process (STACK.md, pitfall 1).
    certs::install_default_provider();
    let cli = hub::cli::Cli::parse();
    // The demo draws progress bars on stderr, the benchmarks print tables and verify its
    // checks: only warnings go there unless RUST_LOG asks (and not sqlx's "slow statement",
    // which every whole-day query of a large day would print).
    let default_filter = match cli.command {
        hub::cli::Command::Demo(_) | hub::cli::Command::Bench(_) | hub::cli::Command::Verify(_) => {
            "warn,sqlx::query=error"
        }
        _ => "warn,hub=info",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .init();
    match hub::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            hub::cli::exit_code_for(&err)
        }
    }
}
