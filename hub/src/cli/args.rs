//! Value parsers for command-line arguments. Each returns a message that says what was
//! expected, and clap adds the argument's name (exit code 2).

use card_standards::crypto::Algorithm;
use chrono::NaiveDateTime;

/// Bytes given as hex on the command line (a newtype so that clap takes one value, not many).
#[derive(Debug, Clone)]
pub(crate) struct HexBytes(pub(crate) Vec<u8>);

/// A card scheme: `local`, `mohurd`, `mot` or `pboc`.
pub(crate) fn scheme(s: &str) -> Result<card_standards::Scheme, String> {
    s.parse()
        .map_err(|_| "expected local, mohurd, mot or pboc".to_string())
}

/// Hex of any even length, as one value.
pub(crate) fn hex_value(s: &str) -> Result<HexBytes, String> {
    hex_bytes(s).map(HexBytes)
}

/// Hex of any even length.
pub(crate) fn hex_bytes(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err(format!(
            "{} hex digits: expected an even number of hex digits",
            s.len()
        ));
    }
    hex::decode(s).map_err(|_| "expected hexadecimal digits 0-9, A-F".to_string())
}

/// Exactly `N` bytes of hex.
pub(crate) fn hex_array<const N: usize>(s: &str) -> Result<[u8; N], String> {
    let bytes = hex_bytes(s)?;
    let got = bytes.len();
    bytes
        .try_into()
        .map_err(|_| format!("expected {} hex digits ({N} bytes), got {}", N * 2, got * 2))
}

/// `3des` or `sm4`.
pub(crate) fn algorithm(s: &str) -> Result<Algorithm, String> {
    s.parse().map_err(|_| "expected 3des or sm4".to_string())
}

/// A participant code, as `certs::ParticipantCode` accepts it.
pub(crate) fn participant_code(s: &str) -> Result<String, String> {
    certs::ParticipantCode::new(s)
        .map(|c| c.as_str().to_string())
        .map_err(|e| e.to_string())
}

/// `YYYYMMDDhhmmss`.
pub(crate) fn compact_datetime(s: &str) -> Result<NaiveDateTime, String> {
    card_standards::bcd::parse_compact_datetime("datetime", s)
        .map_err(|_| "expected a real date and time as YYYYMMDDhhmmss".to_string())
}

/// Where the database is: `--data-dir DIR` (SQLite `hutong.db` in it, the default) or
/// `--database URL` (`postgres://…`); `DATABASE_URL` stands in for `--database`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct StorageArgs {
    /// Data directory: the SQLite database (unless --database / DATABASE_URL) and file contents.
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<std::path::PathBuf>,
    /// Database URL, e.g. postgres://user@host/db (default: $DATABASE_URL, else SQLite in --data-dir).
    #[arg(long, value_name = "URL")]
    pub(crate) database: Option<String>,
}

impl StorageArgs {
    /// The database to open, or a [`super::BadInput`] saying what is missing.
    pub(crate) fn target(&self) -> Result<hub_store::DbTarget, super::BadInput> {
        let env = std::env::var("DATABASE_URL").ok();
        hub_store::DbTarget::choose(
            self.database.as_deref(),
            env.as_deref(),
            self.data_dir.as_deref(),
        )
        .ok_or_else(|| {
            super::BadInput("give --data-dir DIR or --database URL (or set DATABASE_URL)".into())
        })
    }
}

use crate::store as hub_store;

/// The hub's own settings on the command line: its participant code, the daily cut-off and
/// the offset of local time (what `hutong serve` reads from its configuration file).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct HubArgs {
    /// The daily cut-off, local time HH:MM at --utc-offset.
    #[arg(long, default_value = "23:00")]
    pub(crate) cutoff: String,
    /// Local time's offset from UTC (Asia/Shanghai: +08:00).
    #[arg(long, default_value = "+08:00")]
    pub(crate) utc_offset: String,
    /// The hub's own participant code (earns hub fees, sends result, resend and outbound
    /// files, gets no package).
    #[arg(long, default_value = "HUB", value_parser = participant_code)]
    pub(crate) hub_code: String,
}

impl HubArgs {
    /// The hub settings these flags name (the acceptance window at its default).
    pub(crate) fn settings(&self) -> Result<crate::settings::HubSettings, super::BadInput> {
        let bad = |e: crate::scheduler::SchedulerError| super::BadInput(e.to_string());
        let time = crate::scheduler::parse_local_time("--cutoff", &self.cutoff).map_err(bad)?;
        let offset = crate::scheduler::parse_offset(&self.utc_offset).map_err(bad)?;
        Ok(crate::settings::HubSettings {
            hub_code: self.hub_code.clone(),
            cutoff: reconciliation::CutOff { time, offset },
            ..Default::default()
        })
    }
}
