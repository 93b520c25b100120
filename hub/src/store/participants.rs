//! Participants: the clearing centres, networks and partner cities the hub exchanges files with.

use std::fmt;
use std::str::FromStr;

use card_standards::Scheme;
use reconciliation::settlement::{ClearingMember, SettlementAccount};
use serde::Serialize;
use sqlx::FromRow;

use super::{Store, StoreError, StoreResult, Timestamp, is_unique_violation, on_db};
use crate::seal::SealKey;

/// What kind of participant: one of the card schemes' networks, or a partner city linked
/// bilaterally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParticipantScheme {
    /// A card scheme (`local`, `mohurd`, `mot`, `pboc`).
    Scheme(Scheme),
    /// A partner city linked directly to this hub.
    Partner,
}

impl ParticipantScheme {
    /// The lower-case name stored and shown: `local`, `mohurd`, `mot`, `pboc` or `partner`.
    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantScheme::Scheme(s) => s.as_str(),
            ParticipantScheme::Partner => "partner",
        }
    }
}

impl Serialize for ParticipantScheme {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for ParticipantScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ParticipantScheme {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s == "partner" {
            return Ok(ParticipantScheme::Partner);
        }
        s.parse::<Scheme>()
            .map(ParticipantScheme::Scheme)
            .map_err(|_| format!("{s:?}: expected local, mohurd, mot, pboc or partner"))
    }
}

/// A participant as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Participant {
    /// The participant code (as in its certificates).
    pub code: String,
    /// Scheme network or partner city.
    pub scheme: ParticipantScheme,
    /// Display name.
    pub name: String,
    /// Base URL (`https://host:port`) files addressed to it are pushed to, if any.
    pub endpoint: Option<String>,
    /// The CA certificate (PEM) that the endpoint's server certificate must chain to.
    #[serde(skip)]
    pub endpoint_ca_pem: Option<String>,
    /// Client certificate the hub presents to the endpoint (a path), instead of its own.
    pub endpoint_cert_path: Option<String>,
    /// Key of [`Participant::endpoint_cert_path`].
    pub endpoint_key_path: Option<String>,
    /// When it was added.
    pub created_at: Timestamp,
    #[serde(rename = "format")]
    /// The file format family it speaks, as configured (`None`: the default of its scheme,
    /// see [`Participant::format`]).
    pub format_name: Option<String>,
    /// Whether it has a seal key (the key itself is never part of this record).
    pub sealed: bool,
    /// Where its money is settled (`None` for participants added before settlement accounts
    /// existed, until `hutong participants settlement` sets one).
    pub settlement_account: Option<SettlementAccount>,
}

impl Participant {
    /// The format family the participant speaks: its configured one, else by scheme
    /// (`local` → local-csv, `mohurd` → mohurd, `mot` → mot, `pboc` → pboc, `partner` →
    /// hutong-xml).
    pub fn format(&self) -> adapters::Format {
        self.format_name
            .as_deref()
            .and_then(|f| f.parse::<adapters::Format>().ok())
            .map(adapters::Format::family)
            .unwrap_or(match self.scheme {
                ParticipantScheme::Scheme(Scheme::Local) => adapters::Format::LocalCsv,
                ParticipantScheme::Scheme(Scheme::Mohurd) => adapters::Format::Mohurd,
                ParticipantScheme::Scheme(Scheme::Mot) => adapters::Format::Mot,
                ParticipantScheme::Scheme(Scheme::Pboc) => adapters::Format::Pboc,
                ParticipantScheme::Partner => adapters::Format::HutongXml,
            })
    }
}

/// A participant to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewParticipant {
    /// The participant code: 1 to 32 characters A-Z, a-z, 0-9, `-`, `_`.
    pub code: certs::ParticipantCode,
    /// Scheme network or partner city.
    pub scheme: ParticipantScheme,
    /// Display name.
    pub name: String,
    /// Push endpoint, if any.
    pub endpoint: Option<String>,
    /// The endpoint's CA certificate, PEM.
    pub endpoint_ca_pem: Option<String>,
    /// Client certificate path for the endpoint.
    pub endpoint_cert_path: Option<String>,
    /// Client key path for the endpoint.
    pub endpoint_key_path: Option<String>,
    /// Where its money is settled (validated; `hutong participants add` requires one).
    pub settlement_account: Option<SettlementAccount>,
}

#[derive(FromRow)]
struct ParticipantRow {
    code: String,
    scheme: String,
    name: String,
    endpoint: Option<String>,
    endpoint_ca_pem: Option<String>,
    endpoint_cert_path: Option<String>,
    endpoint_key_path: Option<String>,
    created_at: Timestamp,
    format: Option<String>,
    sealed: bool,
    settlement_account_id: Option<String>,
    settlement_bic: Option<String>,
    settlement_clearing_system: Option<String>,
    settlement_member_id: Option<String>,
}

impl TryFrom<ParticipantRow> for Participant {
    type Error = StoreError;

    fn try_from(r: ParticipantRow) -> StoreResult<Participant> {
        let settlement_account = match r.settlement_account_id {
            None => None,
            Some(account_id) => {
                let member = match (r.settlement_clearing_system, r.settlement_member_id) {
                    (Some(system), Some(member_id)) => Some(ClearingMember { system, member_id }),
                    (None, None) => None,
                    _ => {
                        return Err(StoreError::Corrupt(format!(
                            "participants.settlement_clearing_system and settlement_member_id \
                             of {} are not both set",
                            r.code
                        )));
                    }
                };
                let account = SettlementAccount::new(account_id, r.settlement_bic, member)
                    .map_err(|e| StoreError::Corrupt(format!("participant {}: {e}", r.code)))?;
                Some(account)
            }
        };
        Ok(Participant {
            settlement_account,
            scheme: r
                .scheme
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("participants.scheme {e}")))?,
            code: r.code,
            name: r.name,
            endpoint: r.endpoint,
            endpoint_ca_pem: r.endpoint_ca_pem,
            endpoint_cert_path: r.endpoint_cert_path,
            endpoint_key_path: r.endpoint_key_path,
            created_at: r.created_at,
            format_name: r.format,
            sealed: r.sealed,
        })
    }
}

const COLUMNS: &str = "code, scheme, name, endpoint, endpoint_ca_pem, endpoint_cert_path, \
                       endpoint_key_path, created_at, format, seal_key IS NOT NULL AS sealed, \
                       settlement_account_id, settlement_bic, settlement_clearing_system, \
                       settlement_member_id";

impl Store {
    /// Adds a participant; a code that exists already is [`StoreError::Duplicate`].
    pub async fn add_participant(&self, p: &NewParticipant) -> StoreResult<Participant> {
        let now = Timestamp::now();
        let account = p.settlement_account.as_ref();
        let member = account.and_then(|a| a.member.as_ref());
        let result = on_db!(self, pool => {
            sqlx::query(
                "INSERT INTO participants (code, scheme, name, endpoint, endpoint_ca_pem, \
                 endpoint_cert_path, endpoint_key_path, created_at, settlement_account_id, \
                 settlement_bic, settlement_clearing_system, settlement_member_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(p.code.as_str())
            .bind(p.scheme.as_str())
            .bind(&p.name)
            .bind(&p.endpoint)
            .bind(&p.endpoint_ca_pem)
            .bind(&p.endpoint_cert_path)
            .bind(&p.endpoint_key_path)
            .bind(now)
            .bind(account.map(|a| a.account_id.as_str()))
            .bind(account.and_then(|a| a.bic.as_deref()))
            .bind(member.map(|m| m.system.as_str()))
            .bind(member.map(|m| m.member_id.as_str()))
            .execute(pool)
            .await
            .map(|_| ())
        });
        match result {
            Ok(()) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Duplicate(format!("participant {}", p.code)));
            }
            Err(e) => return Err(e.into()),
        }
        self.participant(p.code.as_str())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("participant {}", p.code)))
    }

    /// One participant by code.
    pub async fn participant(&self, code: &str) -> StoreResult<Option<Participant>> {
        let row: Option<ParticipantRow> = on_db!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM participants WHERE code = $1"
            )))
            .bind(code)
            .fetch_optional(pool)
            .await?
        });
        row.map(Participant::try_from).transpose()
    }

    /// Sets (or with `None` clears) a participant's seal key. False if there is no such
    /// participant.
    pub async fn set_seal_key(&self, code: &str, key: Option<&SealKey>) -> StoreResult<bool> {
        let bytes = key.map(|k| k.bytes().to_vec());
        let n = on_db!(self, pool => {
            sqlx::query("UPDATE participants SET seal_key = $1 WHERE code = $2")
                .bind(&bytes)
                .bind(code)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// A participant's seal key, if it has one.
    pub async fn seal_key(&self, code: &str) -> StoreResult<Option<SealKey>> {
        let row: Option<(Option<Vec<u8>>,)> = on_db!(self, pool => {
            sqlx::query_as("SELECT seal_key FROM participants WHERE code = $1")
                .bind(code)
                .fetch_optional(pool)
                .await?
        });
        match row.and_then(|(k,)| k) {
            None => Ok(None),
            Some(bytes) => SealKey::from_slice(&bytes).map(Some).ok_or_else(|| {
                StoreError::Corrupt(format!("participants.seal_key of {code} is not 16 bytes"))
            }),
        }
    }

    /// Sets a participant's settlement account (replacing any). False if there is no such
    /// participant.
    pub async fn set_settlement_account(
        &self,
        code: &str,
        account: &SettlementAccount,
    ) -> StoreResult<bool> {
        let member = account.member.as_ref();
        let n = on_db!(self, pool => {
            sqlx::query(
                "UPDATE participants SET settlement_account_id = $1, settlement_bic = $2, \
                 settlement_clearing_system = $3, settlement_member_id = $4 WHERE code = $5",
            )
            .bind(&account.account_id)
            .bind(&account.bic)
            .bind(member.map(|m| m.system.as_str()))
            .bind(member.map(|m| m.member_id.as_str()))
            .bind(code)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Sets (or with `None` clears) the format family a participant speaks. False if there is
    /// no such participant.
    pub async fn set_participant_format(
        &self,
        code: &str,
        format: Option<adapters::Format>,
    ) -> StoreResult<bool> {
        let name = format.map(|f| f.family().as_str());
        let n = on_db!(self, pool => {
            sqlx::query("UPDATE participants SET format = $1 WHERE code = $2")
                .bind(name)
                .bind(code)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Sets (or with `None` clears) the endpoint files are pushed to, trusted through the hub
    /// CA and reached with the hub's own certificate (`hutong drill`'s simulated partners).
    /// False if there is no such participant.
    pub async fn set_participant_endpoint(
        &self,
        code: &str,
        endpoint: Option<&str>,
    ) -> StoreResult<bool> {
        let n = on_db!(self, pool => {
            sqlx::query(
                "UPDATE participants SET endpoint = $1, endpoint_ca_pem = NULL, \
                 endpoint_cert_path = NULL, endpoint_key_path = NULL WHERE code = $2",
            )
            .bind(endpoint)
            .bind(code)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Every participant, by code.
    pub async fn participants(&self) -> StoreResult<Vec<Participant>> {
        let rows: Vec<ParticipantRow> = on_db!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM participants ORDER BY code"
            )))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Participant::try_from).collect()
    }
}
