//! The simulated partners' endpoints: one real mutual-TLS server per partner on 127.0.0.1,
//! speaking the hub's own `PUT /v1/files/{name}` protocol (a repeat of content already held is
//! answered 200 with the first receipt, as the hub answers it), counting what it receives.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::put;

use super::DrillError;
use crate::server::{self, ReloadingTls, RunningServer};
use crate::store::Timestamp;
use crate::wire::Receipt;

/// What one partner's endpoint received.
#[derive(Debug, Default)]
pub struct Received {
    /// Pushes answered, in order: (file name, SHA-256).
    pub pushes: Vec<(String, String)>,
    /// Each distinct content stored, with how many times it was pushed.
    pub stored: BTreeMap<String, usize>,
}

/// The endpoints of every partner, while they run.
pub struct Endpoints {
    /// Each partner's endpoint address.
    pub addrs: BTreeMap<String, std::net::SocketAddr>,
    /// What each received.
    pub received: BTreeMap<String, Arc<Mutex<Received>>>,
    _servers: Vec<RunningServer>,
}

impl std::fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoints")
            .field("addrs", &self.addrs)
            .finish()
    }
}

impl Endpoints {
    /// Starts one endpoint per code in `partners`, with the hub's PKI: its server certificate,
    /// and client certificates of the hub CA required (the hub pushes with its own).
    pub async fn start(pki: &certs::Pki, partners: &[String]) -> Result<Endpoints, DrillError> {
        let mut addrs = BTreeMap::new();
        let mut received = BTreeMap::new();
        let mut servers = Vec::new();
        for code in partners {
            let state = Arc::new(Mutex::new(Received::default()));
            // Files of any size, as the hub takes them (axum's default limit is 2 MB, less
            // than a day's result file or package).
            let router = Router::new()
                .route("/v1/files/{name}", put(receive))
                .layer(axum::extract::DefaultBodyLimit::disable())
                .with_state(state.clone());
            let tls = ReloadingTls::load(certs::ServerTlsFiles::of(pki))
                .map_err(|e| DrillError::Setup(format!("endpoint TLS: {e}")))?;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| DrillError::Setup(format!("endpoint: {e}")))?;
            let running = server::spawn(listener, Arc::new(tls), router, Default::default())
                .map_err(|e| DrillError::Setup(format!("endpoint: {e}")))?;
            addrs.insert(code.clone(), running.local_addr);
            received.insert(code.clone(), state);
            servers.push(running);
        }
        Ok(Endpoints {
            addrs,
            received,
            _servers: servers,
        })
    }

    /// How many times `sha256` was pushed to `code` (0 when never).
    pub fn pushes_of(&self, code: &str, sha256: &str) -> usize {
        self.received
            .get(code)
            .map(|r| {
                let r = r.lock().unwrap_or_else(|p| p.into_inner());
                r.stored.get(sha256).copied().unwrap_or(0)
            })
            .unwrap_or(0)
    }

    /// Distinct contents stored and pushes answered, over every endpoint.
    pub fn totals(&self) -> (usize, usize) {
        self.received.values().fold((0, 0), |(s, p), r| {
            let r = r.lock().unwrap_or_else(|p| p.into_inner());
            (s + r.stored.len(), p + r.pushes.len())
        })
    }
}

async fn receive(
    State(state): State<Arc<Mutex<Received>>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let sha256 = crate::vault::sha256_hex(&body);
    let (first, id) = {
        let mut r = state.lock().unwrap_or_else(|p| p.into_inner());
        r.pushes.push((name.clone(), sha256.clone()));
        let count = r.stored.entry(sha256.clone()).or_insert(0);
        *count += 1;
        (*count == 1, r.stored.len())
    };
    let receipt = Receipt {
        file_id: i64::try_from(id).unwrap_or(i64::MAX),
        name,
        sha256,
        bytes: i64::try_from(body.len()).unwrap_or(i64::MAX),
        status: "received".into(),
        received_at: Timestamp::now(),
    };
    let status = if first {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, axum::Json(receipt)).into_response()
}
