//! A hub on 127.0.0.1 (port 0) with a fresh PKI, database and data directory, and the
//! participants and clients the tests need.

use std::path::PathBuf;
use std::sync::Arc;

use certs::{KeySource, ParticipantCode, Pki, Validity};
use hub::app::{AppSettings, Application, StoreChoice};
use hub::client::HubClient;
use hub::store::testing::TestDb;
use hub::store::{NewParticipant, ParticipantScheme, Store};
use hub::vault::Vault;
use tempfile::TempDir;
use tokio::sync::Notify;

/// A running hub.
pub(crate) struct Hub {
    pub(crate) pki: Pki,
    pub(crate) store: Store,
    pub(crate) vault: Vault,
    pub(crate) url: String,
    pub(crate) dir: TempDir,
    pub(crate) _app: Application,
    #[allow(dead_code)] // the ingest tests read it
    pub(crate) db: TestDb,
    /// Woken by the server when a file is stored.
    #[allow(dead_code)] // the ingest tests read it
    pub(crate) ingest_wake: Arc<Notify>,
}

/// A participant's credentials, PEM.
#[derive(Clone)]
pub(crate) struct Party {
    pub(crate) cert: String,
    pub(crate) key: String,
}

impl Hub {
    /// Starts a hub with an upload limit of 1 MiB (tests of the limit need a small one).
    pub(crate) async fn start() -> Hub {
        Hub::start_with_limit(1 << 20).await
    }

    pub(crate) async fn start_with_limit(max_file_bytes: u64) -> Hub {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::from_env(dir.path()).await.unwrap();
        Hub::start_in(dir, db, max_file_bytes).await
    }

    /// Starts a hub on SQLite, or on PostgreSQL (`None` when `DATABASE_URL` is not set).
    #[allow(dead_code)] // used by the ingest tests
    pub(crate) async fn start_on(postgres: bool) -> Option<Hub> {
        let dir = tempfile::tempdir().unwrap();
        let db = if postgres {
            TestDb::postgres().await.unwrap()?
        } else {
            TestDb::sqlite(dir.path()).await.unwrap()
        };
        Some(Hub::start_in(dir, db, 64 << 20).await)
    }

    async fn start_in(dir: TempDir, db: TestDb, max_file_bytes: u64) -> Hub {
        certs::install_default_provider();
        let pki = Pki::init(&dir.path().join("pki"), "Test hub CA", 30).unwrap();
        pki.issue_server(
            &["127.0.0.1".into(), "localhost".into()],
            Validity::days(30).unwrap(),
        )
        .unwrap();
        let store = db.store.clone();
        // The API alone: the tests drive ingest, delivery and the jobs themselves.
        let mut settings = AppSettings::new(
            StoreChoice::Open(store.clone()),
            dir.path().join("data"),
            pki.dir().to_path_buf(),
        );
        settings.max_file_bytes = max_file_bytes;
        settings.workers.ingest = false;
        settings.workers.delivery = false;
        settings.workers.scheduler = false;
        let app = Application::build(settings).await.unwrap();
        let vault = app.vault().clone();
        let ingest_wake = app.ingest_wake();
        let url = format!("https://127.0.0.1:{}", app.api_addr().port());
        Hub {
            pki,
            store,
            vault,
            url,
            dir,
            _app: app,
            db,
            ingest_wake,
        }
    }

    /// Issues a certificate for `code` and registers it.
    pub(crate) async fn participant(&self, code: &str) -> Party {
        let party = self.issue(code, Validity::days(30).unwrap());
        self.register(code, None).await;
        party
    }

    /// Issues a certificate only.
    pub(crate) fn issue(&self, code: &str, validity: Validity) -> Party {
        let issued = self
            .pki
            .issue_participant(
                &ParticipantCode::new(code).unwrap(),
                KeySource::Generate,
                validity,
            )
            .unwrap();
        Party {
            cert: issued.cert_pem,
            key: issued.key_pem.unwrap(),
        }
    }

    /// Registers a participant, with a push endpoint if given.
    pub(crate) async fn register(&self, code: &str, endpoint: Option<NewEndpoint>) {
        let (endpoint, ca, cert, key) = match endpoint {
            Some(e) => (
                Some(e.url),
                Some(e.ca_pem),
                Some(e.cert_path),
                Some(e.key_path),
            ),
            None => (None, None, None, None),
        };
        self.store
            .add_participant(&NewParticipant {
                code: ParticipantCode::new(code).unwrap(),
                scheme: ParticipantScheme::Partner,
                name: format!("{code} card company"),
                endpoint,
                endpoint_ca_pem: ca,
                endpoint_cert_path: cert,
                endpoint_key_path: key,
                settlement_account: Some(hub::demo::setup::simulated_settlement_account(code)),
            })
            .await
            .unwrap();
    }

    pub(crate) fn ca_pem(&self) -> String {
        self.pki.ca_pem().unwrap()
    }

    /// The participant client.
    pub(crate) fn client(&self, party: &Party) -> HubClient {
        HubClient::new(
            &self.url,
            party.cert.as_bytes(),
            party.key.as_bytes(),
            self.ca_pem().as_bytes(),
        )
        .unwrap()
    }

    /// A plain reqwest client trusting the hub CA, presenting `party` if given (for requests
    /// the participant client would never send).
    pub(crate) fn raw(&self, party: Option<&Party>) -> reqwest::Client {
        let ca = self.ca_pem();
        let tls = certs::client_config(
            ca.as_bytes(),
            party.map(|p| (p.cert.as_bytes(), p.key.as_bytes())),
        )
        .unwrap();
        reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .build()
            .unwrap()
    }

    /// Writes `content` to a file named `name` in a fresh folder and returns its path.
    pub(crate) fn local_file(&self, name: &str, content: &[u8]) -> PathBuf {
        let folder = self.dir.path().join(format!("local-{}", rand_suffix()));
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    /// Every audit entry.
    pub(crate) async fn audit(&self) -> Vec<hub::store::AuditEntry> {
        self.store.audit_entries(0, 10_000).await.unwrap()
    }

    /// Waits (up to 5 s) for an audit entry that `matches`: handshake refusals are written by
    /// the server's connection task, which may finish after the client saw the refusal.
    pub(crate) async fn wait_for_audit(
        &self,
        matches: impl Fn(&hub::store::AuditEntry) -> bool,
    ) -> hub::store::AuditEntry {
        for _ in 0..100 {
            if let Some(e) = self.audit().await.into_iter().find(|e| matches(e)) {
                return e;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no such audit entry in {:#?}", self.audit().await)
    }
}

/// A push endpoint for a participant.
pub(crate) struct NewEndpoint {
    pub(crate) url: String,
    pub(crate) ca_pem: String,
    pub(crate) cert_path: String,
    pub(crate) key_path: String,
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed).to_string()
}

/// SHA-256 hex of bytes.
pub(crate) fn sha256(bytes: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes))
}
