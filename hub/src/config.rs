//! `hutong serve` configuration: a TOML file (`--config FILE`) whose values command-line
//! options override.
//!
//! ```toml
//! data_dir = "/var/lib/hutong"          # file contents, and SQLite's hutong.db
//! database = "postgres://hutong@db/hutong"   # optional; default $DATABASE_URL, else SQLite
//! pki = "/etc/hutong/pki"
//! listen = "0.0.0.0:8443"
//! max_file_bytes = 17179869184          # 16 GiB
//!
//! fees = "/etc/hutong/fees.toml"      # fee schedule for clearing (optional: no fees)
//! hub_code = "HUB"                     # the hub's participant code (earns hub fees)
//! settlement_account = "HUTONG-SETTLEMENT"   # the hub's settlement account: its id…
//! settlement_bic = "ABCDCNBJXXX"        # …and its agent: a BIC and/or…
//! settlement_clearing_system = "CNAPS"  # …a clearing system with…
//! settlement_member_id = "999000000000" # …the member id in it (without either: a placeholder)
//!
//! reconcile = "/etc/hutong/reconcile.toml"   # rules, dispute deadlines (optional: defaults)
//! console_listen = "0.0.0.0:8444"      # the finance console (HTTPS; off when absent)
//! ops_listen = "127.0.0.1:9464"         # /healthz, /readyz, /metrics (plain HTTP; "off" for none)
//! replica = "hub-a"                     # this replica's name in metrics (default HOSTNAME:PORT)
//! drain_seconds = 30                    # graceful stop: time for uploads, ingest, jobs in flight
//! keys = "/etc/hutong/issuer-keys.toml"  # issuer master TAC keys (R02), never logged
//!
//! [schedule]                           # see `scheduler`: cut-off, certificate checks, late files
//! cutoff = "23:00"
//! utc_offset = "+08:00"
//! reconcile_at = "06:00"               # daily reconciliation of the previous day
//!
//! [ingest]
//! window_days = 30                      # R06: transactions up to 30 days before the receipt…
//! ahead_seconds = 0                     # …and none after it
//! [ingest.limits.mot]                   # R05 per scheme (default 100000 fen each)
//! max_debit_fen = 100000
//! max_load_fen = 100000
//!
//! [delivery]
//! base_delay_ms = 5000                  # first retry after 5 s, then doubling…
//! max_delay_ms = 3600000                # …up to one hour
//! max_attempts = 15
//! lease_ms = 3600000                    # a push may take this long before it is retried
//! poll_ms = 5000
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::app::{AppSettings, DEFAULT_LISTEN, DEFAULT_MAX_FILE_BYTES, StoreChoice};
use crate::clearing::ClearingSettings;
use crate::delivery::DeliveryConfig;
use crate::ingest::IngestConfig;
use crate::ingest::keys::IssuerKeys;
use crate::reconcile::ReconcileSettings;
use crate::scheduler::{parse_local_time, parse_offset};
use crate::settings::HubSettings;
use crate::store::{DbTarget, OpenMode};
use reconciliation::settlement::ClearingMember;

/// The configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeFile {
    /// Data directory.
    pub data_dir: Option<PathBuf>,
    /// Database URL.
    pub database: Option<String>,
    /// PKI directory.
    pub pki: Option<PathBuf>,
    /// Listening address.
    pub listen: Option<SocketAddr>,
    /// Upload limit in bytes.
    pub max_file_bytes: Option<u64>,
    /// Delivery retries.
    #[serde(default)]
    pub delivery: DeliveryFile,
    /// The fee schedule file for clearing.
    pub fees: Option<PathBuf>,
    /// The hub's own participant code.
    pub hub_code: Option<String>,
    /// The id of the hub's settlement account, which the settlement instructions settle
    /// against (default `HUTONG-SETTLEMENT`).
    pub settlement_account: Option<String>,
    /// The BIC of the hub's settlement account's agent.
    pub settlement_bic: Option<String>,
    /// The clearing system of the agent's member id (with `settlement_member_id`).
    pub settlement_clearing_system: Option<String>,
    /// The agent's member id in `settlement_clearing_system`.
    pub settlement_member_id: Option<String>,
    /// Timed jobs.
    #[serde(default)]
    pub schedule: crate::scheduler::ScheduleConfig,
    /// Reconciliation rules, dispute deadlines and `[reconcile]` settings (a TOML file; see
    /// `crate::reconcile::ReconcileSettings`).
    pub reconcile: Option<PathBuf>,
    /// Local time of the daily reconciliation of the previous day, `HH:MM` (default 06:00);
    /// kept for older files, `[schedule] reconcile_at` is its home.
    pub reconcile_at: Option<String>,
    /// Address of the finance console's HTTPS listener (off when absent).
    pub console_listen: Option<SocketAddr>,
    /// Address of the operations listener (`/healthz`, `/readyz`, `/metrics`), or `off`
    /// (default 127.0.0.1:9464).
    pub ops_listen: Option<String>,
    /// This replica's name in metrics and `/healthz` (default `HOSTNAME:PORT`).
    pub replica: Option<String>,
    /// How long a graceful stop waits for work in flight, in seconds (default 30).
    pub drain_seconds: Option<u64>,
    /// Issuer master TAC keys file.
    pub keys: Option<PathBuf>,
    /// Ingest.
    #[serde(default)]
    pub ingest: IngestFile,
}

/// The `[ingest]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestFile {
    /// The hub's participant code as the sender of result files; kept for older files, the
    /// top-level `hub_code` is its home (both given: they must agree).
    pub hub_code: Option<String>,
    /// Acceptance window: days back from the receipt (default 30).
    pub window_days: Option<u32>,
    /// Acceptance window: seconds ahead of the receipt (default 0).
    pub ahead_seconds: Option<u32>,
    /// Amount limits per scheme (`local`, `mohurd`, `mot`, `pboc`).
    #[serde(default)]
    pub limits: std::collections::BTreeMap<String, LimitFile>,
}

/// An `[ingest.limits.SCHEME]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitFile {
    /// The largest debit, fen.
    pub max_debit_fen: Option<i64>,
    /// The largest load, fen.
    pub max_load_fen: Option<i64>,
}

impl IngestFile {
    /// The amount limits per scheme (`R05`), defaults filled in.
    pub fn limits(&self) -> Result<crate::ingest::checks::AmountLimits, String> {
        let mut limits = crate::ingest::checks::AmountLimits::default();
        for (scheme, l) in &self.limits {
            let s: card_standards::Scheme = scheme.parse().map_err(|_| {
                format!("[ingest.limits.{scheme}]: expected local, mohurd, mot or pboc")
            })?;
            let mut limit = limits.of(s);
            if let Some(v) = l.max_debit_fen {
                limit.max_debit_fen = v;
            }
            if let Some(v) = l.max_load_fen {
                limit.max_load_fen = v;
            }
            limits.set(s, limit);
        }
        Ok(limits)
    }
}

/// The `[delivery]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryFile {
    /// First retry delay, milliseconds.
    pub base_delay_ms: Option<u64>,
    /// Longest retry delay, milliseconds.
    pub max_delay_ms: Option<u64>,
    /// Attempts before giving up.
    pub max_attempts: Option<u32>,
    /// Lease of a push in progress, milliseconds.
    pub lease_ms: Option<u64>,
    /// Poll interval, milliseconds.
    pub poll_ms: Option<u64>,
}

impl DeliveryFile {
    /// The delivery configuration, defaults filled in.
    pub fn to_config(&self) -> DeliveryConfig {
        let d = DeliveryConfig::default();
        let ms = Duration::from_millis;
        DeliveryConfig {
            base_delay: self.base_delay_ms.map(ms).unwrap_or(d.base_delay),
            max_delay: self.max_delay_ms.map(ms).unwrap_or(d.max_delay),
            max_attempts: self.max_attempts.unwrap_or(d.max_attempts),
            lease: self.lease_ms.map(ms).unwrap_or(d.lease),
            poll: self.poll_ms.map(ms).unwrap_or(d.poll),
        }
    }
}

impl ServeFile {
    /// Reads and parses a configuration file; the error names the file and what is wrong.
    pub fn load(path: &Path) -> Result<ServeFile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The hub's settings, read once: `hub_code` (or `[ingest] hub_code`; when both are given
    /// they must agree), the `[schedule]` cut-off and UTC offset, and the `[ingest]`
    /// acceptance window.
    pub fn hub_settings(&self) -> Result<HubSettings, String> {
        let mut hub = HubSettings::default();
        if let Some(code) = self.hub_code().map_err(|e| format!("hub_code: {e}"))? {
            hub.hub_code = code;
        }
        let time = parse_local_time("cutoff", &self.schedule.cutoff).map_err(|e| e.to_string())?;
        let offset = parse_offset(&self.schedule.utc_offset).map_err(|e| e.to_string())?;
        hub.cutoff = reconciliation::CutOff { time, offset };
        if let Some(d) = self.ingest.window_days {
            hub.acceptance.back_days = d;
        }
        if let Some(s) = self.ingest.ahead_seconds {
            hub.acceptance.ahead_seconds = s;
        }
        Ok(hub)
    }

    /// The hub's participant code: `hub_code`, or `[ingest] hub_code` (when both are given
    /// they must agree); `None` when neither is.
    pub fn hub_code(&self) -> Result<Option<String>, String> {
        let code = match (&self.hub_code, &self.ingest.hub_code) {
            (Some(a), Some(b)) if a != b => {
                return Err(format!(
                    "hub_code = {a:?} and [ingest] hub_code = {b:?} disagree: give one"
                ));
            }
            (Some(c), _) | (None, Some(c)) => c,
            (None, None) => return Ok(None),
        };
        certs::ParticipantCode::new(code)
            .map(|c| Some(c.as_str().to_string()))
            .map_err(|e| e.to_string())
    }

    /// Clearing's settings: the hub's, the settlement account, and the fee schedule of `fees`
    /// (a command-line path) or of the file's `fees`.
    pub fn clearing_settings(&self, fees: Option<&Path>) -> Result<ClearingSettings, String> {
        let mut s = ClearingSettings {
            hub: self.hub_settings()?,
            ..ClearingSettings::default()
        };
        let member = match (&self.settlement_clearing_system, &self.settlement_member_id) {
            (Some(system), Some(member_id)) => Some(ClearingMember {
                system: system.clone(),
                member_id: member_id.clone(),
            }),
            (None, None) => None,
            _ => {
                return Err(
                    "settlement_clearing_system and settlement_member_id go together: give both"
                        .into(),
                );
            }
        };
        s = s
            .with_settlement_account(
                self.settlement_account.as_deref(),
                self.settlement_bic.as_deref(),
                member,
            )
            .map_err(|e| {
                format!(
                    "settlement_account/settlement_bic/settlement_clearing_system/\
                     settlement_member_id: {e}"
                )
            })?;
        if let Some(path) = fees.or(self.fees.as_deref()) {
            s = s.with_fees_file(path).map_err(|e| format!("fees: {e}"))?;
        }
        Ok(s)
    }

    /// Reconciliation's settings: the hub's, and the rules and deadlines of `rules` (a
    /// command-line path) or of the file's `reconcile`.
    pub fn reconcile_settings(&self, rules: Option<&Path>) -> Result<ReconcileSettings, String> {
        let mut s = ReconcileSettings {
            hub: self.hub_settings()?,
            ..ReconcileSettings::default()
        };
        if let Some(path) = rules.or(self.reconcile.as_deref()) {
            s = s.with_file(path).map_err(|e| format!("reconcile: {e}"))?;
        }
        Ok(s)
    }

    /// Ingest's configuration: the hub's settings, the `[ingest]` limits, and the issuer keys
    /// of `keys` (a command-line path) or of the file's `keys`.
    pub fn ingest_config(&self, keys: Option<&Path>) -> Result<IngestConfig, String> {
        let mut config = IngestConfig {
            hub: self.hub_settings()?,
            limits: self.ingest.limits()?,
            ..IngestConfig::default()
        };
        if let Some(path) = keys.or(self.keys.as_deref()) {
            config.keys = Arc::new(IssuerKeys::load(path).map_err(|e| e.to_string())?);
            tracing::info!(issuers = config.keys.len(), "issuer keys loaded");
        }
        Ok(config)
    }

    /// The application's settings: every key of the file, defaults for the rest, on the
    /// database `target`. Needs `data_dir` and `pki`.
    pub fn app_settings(&self, target: DbTarget) -> Result<AppSettings, String> {
        let data_dir = self
            .data_dir
            .clone()
            .ok_or("give --data-dir DIR (or data_dir in --config)")?;
        let pki = self
            .pki
            .clone()
            .ok_or("give --pki DIR (or pki in --config)")?;
        let mut schedule = self.schedule.clone();
        if schedule.reconcile_at.is_none() {
            schedule.reconcile_at = self.reconcile_at.clone();
        }
        parse_local_time(
            "reconcile_at",
            schedule.reconcile_at.as_deref().unwrap_or("06:00"),
        )
        .map_err(|e| e.to_string())?;
        let store = StoreChoice::Target(target, OpenMode::Migrate);
        let mut settings = AppSettings::new(store, data_dir, pki);
        settings.listen = match self.listen {
            Some(addr) => addr,
            None => DEFAULT_LISTEN.parse().map_err(|e| format!("listen: {e}"))?,
        };
        settings.console_listen = self.console_listen;
        settings.ops_listen = parse_ops_listen(self.ops_listen.as_deref())?;
        settings.replica = self.replica.clone();
        if let Some(seconds) = self.drain_seconds {
            settings.drain = std::time::Duration::from_secs(seconds);
        }
        settings.max_file_bytes = self.max_file_bytes.unwrap_or(DEFAULT_MAX_FILE_BYTES);
        settings.hub = self.hub_settings()?;
        settings.clearing = self.clearing_settings(None)?;
        settings.reconcile = self.reconcile_settings(None)?;
        settings.ingest = self.ingest_config(None)?;
        settings.delivery = self.delivery.to_config();
        settings.schedule = schedule;
        Ok(settings)
    }
}

/// The operations listener's address: `off` for none, absent for the default
/// [`crate::app::DEFAULT_OPS_LISTEN`].
pub fn parse_ops_listen(value: Option<&str>) -> Result<Option<SocketAddr>, String> {
    match value {
        Some("off") => Ok(None),
        Some(addr) => addr.parse().map(Some).map_err(|e| {
            format!("ops_listen {addr:?}: {e} (an address such as 127.0.0.1:9464, or off)")
        }),
        None => crate::app::DEFAULT_OPS_LISTEN
            .parse()
            .map(Some)
            .map_err(|e| format!("ops_listen: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_parses_and_unknown_keys_are_refused() {
        let file: ServeFile = toml::from_str(
            "data_dir = \"/d\"\npki = \"/p\"\nlisten = \"127.0.0.1:9443\"\nmax_file_bytes = 10\n\
             [delivery]\nbase_delay_ms = 100\nmax_attempts = 3\n",
        )
        .unwrap();
        assert_eq!(file.listen, Some("127.0.0.1:9443".parse().unwrap()));
        let d = file.delivery.to_config();
        assert_eq!(d.base_delay, Duration::from_millis(100));
        assert_eq!(d.max_attempts, 3);
        assert_eq!(d.max_delay, DeliveryConfig::default().max_delay);
        assert!(toml::from_str::<ServeFile>("listen_on = \"x\"").is_err());
    }

    #[test]
    fn the_hub_settings_come_from_schedule_and_ingest_and_the_two_hub_codes_must_agree() {
        let file: ServeFile = toml::from_str(
            "hub_code = \"QDHUB\"\n[schedule]\ncutoff = \"22:30\"\nutc_offset = \"+09:00\"\n\
             [ingest]\nwindow_days = 3\n",
        )
        .unwrap();
        let hub = file.hub_settings().unwrap();
        assert_eq!(hub.hub_code, "QDHUB");
        assert_eq!(hub.cutoff.time.to_string(), "22:30:00");
        assert_eq!(hub.offset().local_minus_utc(), 9 * 3600);
        assert_eq!(hub.acceptance.back_days, 3);
        let clearing = file.clearing_settings(None).unwrap();
        assert_eq!(clearing.hub, hub, "clearing gets the same hub settings");

        let both: ServeFile =
            toml::from_str("hub_code = \"QDHUB\"\n[ingest]\nhub_code = \"HUB\"\n").unwrap();
        let e = both.hub_settings().unwrap_err();
        assert!(
            e.contains("QDHUB") && e.contains("[ingest] hub_code"),
            "{e}"
        );
        let bad: ServeFile = toml::from_str("hub_code = \"not a code\"\n").unwrap();
        assert!(bad.hub_code().is_err());
    }

    #[test]
    fn the_hub_settlement_account_comes_from_the_old_key_and_its_agent_keys() {
        let settings = |toml: &str| {
            toml::from_str::<ServeFile>(toml)
                .unwrap()
                .clearing_settings(None)
        };
        let default = settings("").unwrap().settlement_account;
        assert_eq!(default.account_id, "HUTONG-SETTLEMENT");
        assert_eq!(
            default.member.as_ref().map(|m| m.system.as_str()),
            Some("HUTONG"),
            "the placeholder agent"
        );
        let old = settings("settlement_account = \"POOL-1\"\n").unwrap();
        assert_eq!(
            old.settlement_account.account_id, "POOL-1",
            "the old key works"
        );
        let full = settings(
            "settlement_account = \"POOL-1\"\nsettlement_bic = \"HUTGCNBJ\"\n\
             settlement_clearing_system = \"CNAPS\"\nsettlement_member_id = \"999000000000\"\n",
        )
        .unwrap()
        .settlement_account;
        assert_eq!(full.bic.as_deref(), Some("HUTGCNBJ"));
        assert_eq!(full.member.unwrap().member_id, "999000000000");
        let e = settings("settlement_bic = \"hutg\"\n").unwrap_err();
        assert!(e.contains("settlement_bic") && e.contains("BIC"), "{e}");
        let e = settings("settlement_member_id = \"1\"\n").unwrap_err();
        assert!(e.contains("settlement_clearing_system"), "{e}");
    }
}
