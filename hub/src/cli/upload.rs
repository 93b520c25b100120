//! `hutong upload` and `hutong fetch`: the participant's client.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::BadInput;
use crate::client::{ClientError, HubClient, fetch_new_sealed};
use crate::seal::SealKey;

/// Where the hub is and who we are.
#[derive(Debug, Args)]
pub(super) struct ConnectArgs {
    /// The hub's base URL, e.g. https://hub.example:8443.
    #[arg(long, value_name = "URL")]
    hub: String,
    /// Our client certificate (PEM), issued by the hub CA.
    #[arg(long, value_name = "FILE")]
    cert: PathBuf,
    /// Our private key (PEM).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The hub CA certificate (PEM): the only CA trusted for the hub's server certificate.
    #[arg(long, value_name = "FILE")]
    ca: PathBuf,
}

/// Arguments of `hutong upload`.
#[derive(Debug, Args)]
pub struct UploadArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Our seal key (32 hex digits), when the hub requires our files sealed: each upload
    /// carries the Hutong-Seal of its content.
    #[arg(long, value_name = "HEX", value_parser = parse_seal_key)]
    seal_key: Option<SealKey>,
    /// Files to upload (each under its own file name).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

fn parse_seal_key(s: &str) -> Result<SealKey, String> {
    SealKey::from_hex(s)
}

/// Arguments of `hutong fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Where to write the files (and remember what was fetched).
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
    /// Our seal key (32 hex digits): every file must arrive with the Hutong-Seal of its
    /// content under it (else it is not kept). Seals the hub sends are written to NAME.seal.
    #[arg(long, value_name = "HEX", value_parser = parse_seal_key)]
    seal_key: Option<SealKey>,
}

fn client(c: &ConnectArgs) -> anyhow::Result<HubClient> {
    HubClient::from_files(&c.hub, &c.cert, &c.key, &c.ca).map_err(client_error)
}

/// Bad input stays exit 2; every other client error is a failure with its own clear message.
fn client_error(e: ClientError) -> anyhow::Error {
    match e {
        ClientError::BadInput(m) => BadInput(m).into(),
        other => anyhow::Error::msg(other.to_string()),
    }
}

/// Uploads each file; prints one JSON line per file (the receipt, and whether it was new), and
/// the throughput on stderr.
pub(super) fn run_upload(args: UploadArgs) -> anyhow::Result<ExitCode> {
    for f in &args.files {
        if !f.is_file() {
            return Err(BadInput(format!("{}: not a readable file", f.display())).into());
        }
    }
    let client = client(&args.connect)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        for path in &args.files {
            let up = client
                .upload_sealed(path, args.seal_key.as_ref())
                .await
                .map_err(client_error)?;
            let mut line = serde_json::to_value(&up.receipt)?;
            line["new"] = up.new.into();
            println!("{line}");
            eprintln!(
                "{}: {} ({} bytes in {:.2} s, {})",
                path.display(),
                if up.new {
                    "stored"
                } else {
                    "already there (first receipt)"
                },
                up.receipt.bytes,
                up.seconds,
                throughput(up.receipt.bytes, up.seconds)
            );
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Downloads every file addressed to us not fetched before; one JSON line per file.
pub(super) fn run_fetch(args: FetchArgs) -> anyhow::Result<ExitCode> {
    let client = client(&args.connect)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let fetched = runtime
        .block_on(fetch_new_sealed(&client, &args.out, args.seal_key.as_ref()))
        .map_err(client_error)?;
    for f in &fetched {
        println!("{}", serde_json::to_string(f)?);
    }
    eprintln!(
        "fetched {} new file(s) into {}",
        fetched.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `N MB/s` (decimal megabytes).
#[allow(clippy::float_arithmetic)] // a rate for people to read
pub(crate) fn throughput(bytes: i64, seconds: f64) -> String {
    if seconds <= 0.0 {
        return "-".into();
    }
    #[allow(clippy::cast_precision_loss)]
    let mb = bytes as f64 / 1e6;
    format!("{:.1} MB/s", mb / seconds)
}
