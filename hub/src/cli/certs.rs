//! `hutong certs`: the hub's certificate authority.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use certs::{CertRecord, KeySource, ParticipantCode, Pki, Validity, time};
use clap::{Args, Subcommand};

use super::BadInput;

/// `hutong certs …`
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Create the hub CA (key, self-signed certificate) and an empty CRL in --pki.
    Init(InitArgs),
    /// Issue the hub's server certificate for one or more host names / IP addresses.
    Server(ServerArgs),
    /// Issue a participant client certificate (from its CSR, or with a generated key).
    Issue(IssueArgs),
    /// Revoke a participant's certificates (all, or one --serial); servers refuse them at once.
    Revoke(RevokeArgs),
    /// List every certificate issued, with state; flags those expiring within 30 days.
    List(ListArgs),
}

/// Arguments of `certs init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The PKI directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pki: PathBuf,
    /// The CA's name (subject CN).
    #[arg(long)]
    name: String,
    /// Validity in days.
    #[arg(long, default_value_t = 3650)]
    days: u32,
}

/// Arguments of `certs server`.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The PKI directory.
    #[arg(long, value_name = "DIR")]
    pki: PathBuf,
    /// A DNS name or IP address clients use to reach the hub (repeatable).
    #[arg(long = "host", value_name = "H", required = true)]
    hosts: Vec<String>,
    /// Validity in days.
    #[arg(long, default_value_t = 397)]
    days: u32,
}

/// Arguments of `certs issue`.
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The PKI directory.
    #[arg(long, value_name = "DIR")]
    pki: PathBuf,
    /// The participant code (goes in the subject CN and the SAN URI).
    #[arg(long, value_name = "CODE")]
    participant: String,
    /// Where to write CODE.crt, CODE.key (only when generated) and ca.crt.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The partner's certificate signing request (PEM); without it a key is generated.
    #[arg(long, value_name = "FILE")]
    csr: Option<PathBuf>,
    /// Validity in days.
    #[arg(long, default_value_t = 365)]
    days: u32,
}

/// Arguments of `certs revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The PKI directory.
    #[arg(long, value_name = "DIR")]
    pki: PathBuf,
    /// The participant whose certificates to revoke.
    #[arg(long, value_name = "CODE")]
    participant: String,
    /// Revoke only the certificate with this serial (hex), e.g. the old one after a rotation.
    #[arg(long, value_name = "HEX")]
    serial: Option<String>,
}

/// Arguments of `certs list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The PKI directory.
    #[arg(long, value_name = "DIR")]
    pki: PathBuf,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs `hutong certs …`.
pub(super) fn run(cmd: CertsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CertsCommand::Init(a) => {
            let pki = Pki::init(&a.pki, &a.name, a.days).map_err(user_error)?;
            let ca = &pki.list()?[0];
            println!(
                "created hub CA {:?} in {} (serial {}, valid until {})",
                a.name,
                pki.dir().display(),
                ca.serial,
                when(ca.not_after)
            );
        }
        CertsCommand::Server(a) => {
            let pki = Pki::open(&a.pki).map_err(user_error)?;
            let issued = pki
                .issue_server(&a.hosts, Validity::days(a.days).map_err(user_error)?)
                .map_err(user_error)?;
            println!(
                "issued server certificate for {} (serial {}, valid until {}): {}",
                a.hosts.join(", "),
                issued.record.serial,
                when(issued.record.not_after),
                pki.server_cert_path().display()
            );
        }
        CertsCommand::Issue(a) => issue(a)?,
        CertsCommand::Revoke(a) => {
            let pki = Pki::open(&a.pki).map_err(user_error)?;
            let code = ParticipantCode::new(&a.participant).map_err(user_error)?;
            for r in pki.revoke(&code, a.serial.as_deref()).map_err(user_error)? {
                println!("revoked {} serial {}", code, r.serial);
            }
        }
        CertsCommand::List(a) => {
            let pki = Pki::open(&a.pki).map_err(user_error)?;
            list(&pki.list()?, a.json)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn issue(a: IssueArgs) -> anyhow::Result<()> {
    let pki = Pki::open(&a.pki).map_err(user_error)?;
    let code = ParticipantCode::new(&a.participant).map_err(user_error)?;
    let validity = Validity::days(a.days).map_err(user_error)?;
    let crt = a.out.join(format!("{code}.crt"));
    let key = a.out.join(format!("{code}.key"));
    for path in [&crt, &key] {
        if path.exists() {
            return Err(BadInput(format!(
                "{} exists: choose another --out (the file may hold a key still in use)",
                path.display()
            ))
            .into());
        }
    }
    let csr = match &a.csr {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| BadInput(format!("--csr {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let source = match &csr {
        Some(pem) => KeySource::Csr(pem),
        None => KeySource::Generate,
    };
    let issued = pki
        .issue_participant(&code, source, validity)
        .map_err(user_error)?;
    std::fs::create_dir_all(&a.out).with_context(|| a.out.display().to_string())?;
    write_new(&crt, &issued.cert_pem, false)?;
    if let Some(key_pem) = &issued.key_pem {
        write_new(&key, key_pem, true)?;
    }
    let ca = a.out.join("ca.crt");
    std::fs::write(&ca, &issued.ca_pem).with_context(|| ca.display().to_string())?;
    println!(
        "issued {code} serial {} valid until {}: {}{}",
        issued.record.serial,
        when(issued.record.not_after),
        crt.display(),
        if issued.key_pem.is_some() {
            format!(", {}", key.display())
        } else {
            String::new()
        }
    );
    Ok(())
}

/// Writes a file that must not exist yet (a key is created owner-readable only).
fn write_new(path: &Path, text: &str, secret: bool) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    use std::io::Write;
    let mut file = options
        .open(path)
        .with_context(|| path.display().to_string())?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| path.display().to_string())
}

fn list(records: &[CertRecord], json: bool) -> anyhow::Result<()> {
    let now = time::OffsetDateTime::now_utc();
    let window = time::Duration::days(certs::EXPIRY_WARNING_DAYS);
    if json {
        for r in records {
            let mut v = serde_json::to_value(r)?;
            v["state"] = r.state(now).as_str().into();
            v["expires_soon"] = r.expires_within(now, window).into();
            println!("{v}");
        }
        return Ok(());
    }
    println!(
        "{:<32}  {:<11}  {:<20}  {:<20}  {:<13}  NOTE",
        "SERIAL", "KIND", "PARTICIPANT/SUBJECT", "NOT_AFTER", "STATE"
    );
    for r in records {
        let kind = format!("{:?}", r.kind).to_lowercase();
        let who = r.participant.clone().unwrap_or_else(|| r.subject.clone());
        let note = if r.expires_within(now, window) {
            format!("EXPIRES WITHIN {} DAYS", certs::EXPIRY_WARNING_DAYS)
        } else {
            String::new()
        };
        println!(
            "{:<32}  {:<11}  {:<20}  {:<20}  {:<13}  {note}",
            r.serial,
            kind,
            who,
            when(r.not_after),
            r.state(now).as_str()
        );
    }
    Ok(())
}

/// RFC 3339, to the second.
fn when(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// Errors the user can fix are [`BadInput`] (exit 2); the rest stay failures (exit 1).
fn user_error(e: certs::Error) -> anyhow::Error {
    use certs::Error as E;
    match e {
        E::InvalidParticipantCode(_)
        | E::InvalidHost(_)
        | E::InvalidValidity(_)
        | E::BadCsr(_)
        | E::AlreadyInitialised(_)
        | E::NotInitialised(_)
        | E::NothingToRevoke { .. } => BadInput(e.to_string()).into(),
        other => anyhow::Error::new(other),
    }
}
