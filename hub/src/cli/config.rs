//! `hutong config check FILE`: parses a `serve` configuration and opens every file it names
//! (PKI, issuer keys, fees, reconciliation rules), reporting every problem at once — each with
//! its key and line — without starting anything. Exit 0 when there is none, 2 otherwise.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::BadInput;
use crate::config::ServeFile;

/// `hutong config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check a `serve` configuration file: every key, every file it names; starts nothing.
    Check(CheckArgs),
}

/// Arguments of `config check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The TOML configuration file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// One JSON object per problem instead of the text.
    #[arg(long)]
    json: bool,
}

/// One thing wrong with the file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(super) struct Problem {
    /// The key (`pki`, `delivery.max_attempts`, …), or empty for the file as a whole.
    pub(super) key: String,
    /// The line of the key in the file, 1-based, when known.
    pub(super) line: Option<usize>,
    /// What is wrong.
    pub(super) message: String,
}

/// Runs `hutong config …`.
pub(super) fn run(cmd: ConfigCommand) -> anyhow::Result<ExitCode> {
    let ConfigCommand::Check(a) = cmd;
    let text = std::fs::read_to_string(&a.file)
        .map_err(|e| BadInput(format!("{}: {e}", a.file.display())))?;
    let problems = check(&text);
    let shown = a.file.display();
    if a.json {
        for p in &problems {
            println!("{}", serde_json::to_string(p)?);
        }
    } else {
        for p in &problems {
            let line = p.line.map(|l| format!(":{l}")).unwrap_or_default();
            let key = if p.key.is_empty() {
                String::new()
            } else {
                format!(" {}:", p.key)
            };
            eprintln!("{shown}{line}:{key} {}", p.message);
        }
        if problems.is_empty() {
            println!("{shown}: no problems found");
        } else {
            eprintln!("{shown}: {} problem(s)", problems.len());
        }
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// The 1-based line holding `offset`.
fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line where `key` is set: a top-level `key = …`, `[key]` or `[key.…]`; for a dotted
/// `table.field`, the field's line inside `[table]` (else the table's header).
fn line_of(text: &str, key: &str) -> Option<usize> {
    let (top, field) = match key.split_once('.') {
        Some((t, f)) => (t, Some(f)),
        None => (key, None),
    };
    let assigns = |l: &str, k: &str| {
        l.strip_prefix(k)
            .is_some_and(|rest| rest.trim_start().starts_with(['=', '.']))
    };
    let mut table: Option<String> = None;
    let mut header = None;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim_start();
        if let Some(h) = l.strip_prefix('[') {
            let name = h.trim_start_matches('[');
            let name = name
                .split([']', '.'])
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            if name == top && header.is_none() {
                header = Some(i + 1);
                if field.is_none() {
                    return header;
                }
            }
            table = Some(name);
            continue;
        }
        match (&table, field) {
            (None, _) if assigns(l, top) => return Some(i + 1),
            (Some(t), Some(f)) if t == top && assigns(l, f) => return Some(i + 1),
            _ => {}
        }
    }
    header
}

/// Every problem of a configuration's text.
pub(super) fn check(text: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    let table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            let e: toml::de::Error = e;
            problems.push(Problem {
                key: String::new(),
                line: e.span().map(|s| line_at(text, s.start)),
                message: format!("not valid TOML: {}", e.message()),
            });
            return problems;
        }
    };
    // Each key on its own, so that one bad key does not hide the others.
    let mut good = toml::Table::new();
    for (key, value) in &table {
        let mut one = toml::Table::new();
        one.insert(key.clone(), value.clone());
        match toml::Value::Table(one.clone()).try_into::<ServeFile>() {
            Ok(_) => {
                good.insert(key.clone(), value.clone());
            }
            Err(e) => problems.push(Problem {
                key: key.clone(),
                line: line_of(text, key),
                message: e.message().trim().to_string(),
            }),
        }
    }
    let file: ServeFile = match toml::Value::Table(good).try_into() {
        Ok(f) => f,
        Err(e) => {
            problems.push(Problem {
                key: String::new(),
                line: None,
                message: e.message().trim().to_string(),
            });
            return problems;
        }
    };
    let mut report = |key: &str, message: String| {
        problems.push(Problem {
            key: key.to_string(),
            line: line_of(text, key),
            message,
        })
    };
    check_storage(&file, &mut report);
    let pki = file
        .pki
        .as_ref()
        .and_then(|dir| check_pki(dir, &mut report));
    if file.console_listen.is_some() {
        match &pki {
            Some(pki) => {
                let files = certs::ServerTlsFiles::of(pki);
                if let Err(e) = files.load_for(certs::ClientAuth::Optional) {
                    report("console_listen", format!("the console's TLS: {e}"));
                }
            }
            None if file.pki.is_none() => report(
                "console_listen",
                "needs pki (the hub's server certificate)".into(),
            ),
            None => {}
        }
    }
    if let Some(path) = &file.keys
        && let Err(e) = crate::ingest::keys::IssuerKeys::load(path)
    {
        report("keys", e);
    }
    if let Err(e) = file.ingest.limits() {
        report("ingest", e);
    }
    if let Some(path) = &file.fees
        && let Err(e) = crate::clearing::ClearingSettings::default().with_fees_file(path)
    {
        report("fees", e.to_string());
    }
    if let Some(path) = &file.reconcile
        && let Err(e) = crate::reconcile::ReconcileSettings::default().with_file(path)
    {
        report("reconcile", e);
    }
    if let Some(at) = &file.reconcile_at
        && let Err(e) = crate::scheduler::parse_local_time("reconcile_at", at)
    {
        report("reconcile_at", e.to_string());
    }
    if let Some(at) = &file.schedule.reconcile_at
        && let Err(e) = crate::scheduler::parse_local_time("reconcile_at", at)
    {
        report("schedule.reconcile_at", e.to_string());
    }
    let s = &file.schedule;
    for (field, value) in [("cutoff", &s.cutoff), ("cert_check", &s.cert_check)] {
        if let Err(e) = crate::scheduler::parse_local_time(field, value) {
            report(&format!("schedule.{field}"), e.to_string());
        }
    }
    if let Err(e) = crate::scheduler::parse_offset(&s.utc_offset) {
        report("schedule.utc_offset", e.to_string());
    }
    for expected in &s.expect {
        if let Err(e) = crate::scheduler::parse_local_time("expect.by", &expected.by) {
            report("schedule.expect", format!("{}: {e}", expected.participant));
        }
    }
    if let Err(e) = file.hub_code() {
        report("hub_code", e);
    }
    // In the file's order; problems of the file as a whole last.
    problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
    problems
}

/// `data_dir` and `database`: where the hub is, and whether one is there.
fn check_storage(file: &ServeFile, report: &mut impl FnMut(&str, String)) {
    if let Some(url) = &file.database {
        let known = ["postgres://", "postgresql://", "sqlite:"];
        if !known.iter().any(|p| url.starts_with(p)) {
            report(
                "database",
                "expected a postgres://… or sqlite:… URL".to_string(),
            );
        }
    }
    let Some(dir) = &file.data_dir else {
        return;
    };
    if dir.exists() && !dir.is_dir() {
        report("data_dir", format!("{} is not a directory", dir.display()));
    } else if file.database.is_none() && !dir.join(crate::store::SQLITE_FILE).exists() {
        report(
            "data_dir",
            format!(
                "no hub at {} ({} missing): create one with `hutong init --data-dir {}` \
                 (or start `hutong serve --init`)",
                dir.display(),
                crate::store::SQLITE_FILE,
                dir.display()
            ),
        );
    }
}

/// `pki`: the directory opens, and its CA and server certificate and key load.
fn check_pki(dir: &Path, report: &mut impl FnMut(&str, String)) -> Option<certs::Pki> {
    let pki = match certs::Pki::open(dir) {
        Ok(p) => p,
        Err(e) => {
            report("pki", e.to_string());
            return None;
        }
    };
    if !pki.server_cert_path().exists() {
        report(
            "pki",
            format!(
                "{} holds no server certificate: run `hutong certs server --pki {} --host HOST`",
                dir.display(),
                dir.display()
            ),
        );
        return None;
    }
    if let Err(e) = crate::server::ReloadingTls::load(certs::ServerTlsFiles::of(&pki)) {
        report("pki", format!("the server's TLS files: {e}"));
        return None;
    }
    Some(pki)
}
