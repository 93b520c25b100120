//! A hub with the participants, routes and issuer keys the ingest tests need, and fresh
//! sample records (times near now, genuine TACs).

use std::sync::Arc;

use adapters::{FileMeta, Format, sample};
use card_standards::{CanonicalTx, CodeTables, TxKind};
use chrono::{Duration, Utc};
use hub::ingest::keys::IssuerKeys;
use hub::ingest::{IngestConfig, IngestReport, Ingestor};
use hub::seal::SealKey;
use hub::store::{Db, Store};
use hub::wire::FileResultJson;

use crate::harness::{Hub, Party};

/// The acquirer that uploads in most tests (and the local issuer's clearing participant).
pub(crate) const ACQUIRER: &str = "QDT01";

/// A running hub set up for ingest.
pub(crate) struct Lab {
    pub(crate) hub: Hub,
    pub(crate) qdt: Party,
    pub(crate) rizhao: Party,
    pub(crate) tunion: Party,
}

/// The issuer keys of the sample records, as a keys file.
pub(crate) fn keys_toml() -> String {
    let mut text = String::new();
    for (s, i, c, alg, mtk) in sample::SAMPLE_KEYS {
        text.push_str(&format!(
            "[[issuer]]\nscheme = \"{s}\"\nissuer = \"{i}\"\ncity = \"{c}\"\nalg = \"{}\"\nmtk = \"{mtk}\"\n",
            alg.as_str()
        ));
    }
    text
}

impl Lab {
    /// A hub on SQLite, or on PostgreSQL (`None` without `DATABASE_URL`), with participants
    /// QDT01 (local issuer and acquirer), MOHURD-CC, TUNION, BANK and RIZHAO, and a route per
    /// scheme.
    pub(crate) async fn start(postgres: bool) -> Option<Lab> {
        let hub = Hub::start_on(postgres).await?;
        let qdt = hub.participant(ACQUIRER).await;
        let rizhao = hub.participant("RIZHAO").await;
        let tunion = hub.participant("TUNION").await;
        hub.register("MOHURD-CC", None).await;
        hub.register("BANK", None).await;
        for (scheme, p) in [
            (card_standards::Scheme::Local, ACQUIRER),
            (card_standards::Scheme::Mohurd, "MOHURD-CC"),
            (card_standards::Scheme::Mot, "TUNION"),
            (card_standards::Scheme::Pboc, "BANK"),
        ] {
            hub.store.add_route(scheme, "*", "*", p).await.unwrap();
        }
        Some(Lab {
            hub,
            qdt,
            rizhao,
            tunion,
        })
    }

    /// The store.
    pub(crate) fn store(&self) -> &Store {
        &self.hub.store
    }

    /// An ingestor holding the sample issuers' keys (or none).
    pub(crate) fn ingestor(&self, with_keys: bool) -> Ingestor {
        let keys = if with_keys {
            IssuerKeys::from_toml(&keys_toml(), "keys.toml").unwrap()
        } else {
            IssuerKeys::default()
        };
        let config = IngestConfig {
            keys: Arc::new(keys),
            ..IngestConfig::default()
        };
        Ingestor::new(self.hub.store.clone(), self.hub.vault.clone(), config, None)
    }

    /// Uploads `bytes` as `name` over mutual TLS as `party`; returns the file id.
    pub(crate) async fn upload(&self, party: &Party, name: &str, bytes: &[u8]) -> i64 {
        self.upload_sealed(party, name, bytes, None).await
    }

    /// Uploads with a `Hutong-Seal` header value.
    pub(crate) async fn upload_sealed(
        &self,
        party: &Party,
        name: &str,
        bytes: &[u8],
        seal: Option<&str>,
    ) -> i64 {
        let path = self.hub.local_file(name, bytes);
        let up = self
            .hub
            .client(party)
            .upload_with_seal(&path, seal)
            .await
            .unwrap();
        assert!(up.new, "{name} was uploaded before");
        up.receipt.file_id
    }

    /// Ingests everything pending with the sample keys; panics on an internal error.
    pub(crate) async fn ingest(&self) -> Vec<IngestReport> {
        let (reports, errors) = self.ingestor(true).run_pending().await;
        assert!(errors.is_empty(), "ingest failed: {errors:?}");
        reports
    }

    /// Uploads one file and ingests it; returns its report.
    pub(crate) async fn ingest_one(&self, party: &Party, name: &str, bytes: &[u8]) -> IngestReport {
        let id = self.upload(party, name, bytes).await;
        let reports = self.ingest().await;
        reports
            .into_iter()
            .find(|r| r.file_id == id)
            .expect("the file was ingested")
    }

    /// The JSON result of a file, as its sender reads it over mTLS.
    pub(crate) async fn result(&self, party: &Party, file_id: i64) -> FileResultJson {
        self.hub.client(party).result(file_id).await.unwrap()
    }

    /// One integer from SQL.
    pub(crate) async fn scalar(&self, sql: &str) -> i64 {
        scalar(self.store(), sql).await
    }
}

/// One integer from SQL (a count).
pub(crate) async fn scalar(store: &Store, sql: &str) -> i64 {
    let q = sqlx::AssertSqlSafe(sql.to_string());
    match store.db() {
        Db::Sqlite(pool) => sqlx::query_scalar::<_, i64>(q)
            .fetch_one(pool)
            .await
            .unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar::<_, i64>(q)
            .fetch_one(pool)
            .await
            .unwrap(),
    }
}

/// One optional text from SQL.
pub(crate) async fn text(store: &Store, sql: &str) -> Option<String> {
    let q = sqlx::AssertSqlSafe(sql.to_string());
    match store.db() {
        Db::Sqlite(pool) => sqlx::query_scalar::<_, Option<String>>(q)
            .fetch_one(pool)
            .await
            .unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar::<_, Option<String>>(q)
            .fetch_one(pool)
            .await
            .unwrap(),
    }
}

/// Recomputes a record's TAC with its sample issuer's key (after a test changed it).
pub(crate) fn genuine(mut tx: CanonicalTx) -> CanonicalTx {
    if tx.tac.is_some()
        && let Some(key) = sample::sample_key(&tx)
    {
        tx.tac = Some(match tx.kind() {
            TxKind::Load => key.load_tac(&tx.card_serial, &tx.load_data().unwrap()),
            _ => key.purchase_tac(&tx.card_serial, &tx.purchase_data().unwrap()),
        });
    }
    tx
}

/// The seven sample records moved to the last hours before now (China time), with genuine
/// TACs: they pass every check.
pub(crate) fn records() -> Vec<CanonicalTx> {
    let recs = sample::records(CodeTables::builtin());
    let latest = recs.iter().map(|t| t.tx_time).max().unwrap();
    let now = china_local(Utc::now());
    let now = now - Duration::nanoseconds(i64::from(chrono::Timelike::nanosecond(&now)));
    let shift = now - Duration::hours(1) - latest;
    recs.into_iter()
        .map(|mut t| {
            t.tx_time += shift;
            genuine(t)
        })
        .collect()
}

/// The fresh records `format` can carry.
pub(crate) fn records_for(format: Format) -> Vec<CanonicalTx> {
    records()
        .into_iter()
        .filter(|t| sample::can_carry(format, t, CodeTables::builtin()).is_ok())
        .collect()
}

/// A whole transaction file.
pub(crate) fn file(format: Format, sender: &str, seq: u64, records: &[CanonicalTx]) -> Vec<u8> {
    let mut meta = sample::sample_meta(format);
    meta.sender = sender.to_string();
    meta.seq = seq;
    adapters::write_all(format, &meta, CodeTables::builtin(), records).unwrap()
}

/// A blacklist file.
pub(crate) fn blacklist_file(
    format: Format,
    sender: &str,
    seq: u64,
    entries: &[adapters::Entry],
) -> Vec<u8> {
    let mut meta = FileMeta::new(sender, seq, china_local(Utc::now()));
    meta.receiver = None;
    adapters::blacklist::write_all_blacklist(format, &meta, CodeTables::builtin(), entries).unwrap()
}

/// A seal key for tests.
pub(crate) fn seal_key() -> SealKey {
    SealKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap()
}

/// Local time of `t` at the hub's default offset (UTC+8): what terminals stamp.
pub(crate) fn china_local(t: chrono::DateTime<Utc>) -> chrono::NaiveDateTime {
    hub::settings::HubSettings::default().local_time(t)
}
