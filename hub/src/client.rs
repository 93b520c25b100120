//! The participant's side: upload files to a hub and fetch what it holds for us, over mutual
//! TLS, with errors that say what went wrong (your certificate expired, the hub refused it as
//! revoked, the hub's certificate is not from the CA you gave…) rather than a raw error chain.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use aws_lc_rs::digest::{Context, SHA256};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;

use crate::seal::{SEAL_HEADER, SealKey, Sealer, seal_file, seals_match, write_sidecar};
use crate::wire::{FileInfo, FileResultJson, Receipt};

/// The file in `--out` that remembers which files were fetched.
pub const FETCHED_STATE_FILE: &str = ".hutong-fetched.json";

/// What can go wrong talking to the hub.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A file or value given by the user is unusable.
    #[error("{0}")]
    BadInput(String),
    /// Our own certificate is past its validity: no point connecting.
    #[error(
        "your certificate (serial {serial}) expired at {not_after}: ask the hub operator for a new one (hutong certs issue)"
    )]
    CertificateExpired {
        /// Serial number.
        serial: String,
        /// End of validity.
        not_after: String,
    },
    /// Our own certificate's validity has not started.
    #[error(
        "your certificate (serial {serial}) is not valid before {not_before}: check this machine's clock"
    )]
    CertificateNotYetValid {
        /// Serial number.
        serial: String,
        /// Start of validity.
        not_before: String,
    },
    /// The TLS handshake failed or the hub refused our certificate.
    #[error("{0}")]
    Tls(String),
    /// The hub answered with an error status.
    #[error("the hub answered {status}: {message}")]
    Http {
        /// The status.
        status: StatusCode,
        /// The hub's message.
        message: String,
    },
    /// A local file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Anything else on the way (connection refused, DNS, a broken connection).
    #[error("{0}")]
    Transport(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ClientError + '_ {
    move |source| ClientError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Turns a reqwest error into a sentence, recognising TLS failures by the rustls error inside.
pub fn describe_transport_error(e: &reqwest::Error) -> String {
    use rustls::{AlertDescription as A, CertificateError as C, Error as R};
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut tls: Option<&R> = None;
    while let Some(err) = source {
        if let Some(r) = err.downcast_ref::<R>() {
            tls = Some(r);
            break;
        }
        if let Some(r) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<R>())
        {
            tls = Some(r);
            break;
        }
        source = err.source();
    }
    let chain_text = {
        let mut parts = vec![e.to_string()];
        let mut s = std::error::Error::source(e);
        while let Some(err) = s {
            parts.push(err.to_string());
            s = err.source();
        }
        parts.join(": ")
    };
    // rustls errors arrive boxed inside hyper's and io's errors; when the type cannot be
    // reached through `source()`, its Display text (stable in rustls 0.23) still can.
    let has = |needle: &str| chain_text.contains(needle);
    let alert =
        |a: A| tls == Some(&R::AlertReceived(a)) || has(&format!("received fatal alert: {a:?}"));
    if alert(A::CertificateRevoked) {
        return "the hub refused your certificate: it is revoked".into();
    }
    if alert(A::CertificateExpired) {
        return "the hub refused your certificate: it has expired".into();
    }
    if alert(A::UnknownCA) {
        return "the hub refused your certificate: it was not issued by the hub's CA".into();
    }
    if alert(A::CertificateRequired) {
        return "the hub requires a client certificate (--cert and --key)".into();
    }
    match tls {
        Some(R::AlertReceived(alert)) => {
            return format!(
                "the hub refused the TLS handshake ({alert:?}): your certificate may be revoked, \
                 expired or from another CA"
            );
        }
        Some(R::InvalidCertificate(C::UnknownIssuer | C::BadSignature)) => {
            return "the hub's certificate is not signed by the CA given with --ca".into();
        }
        Some(R::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. })) => {
            return "the hub's certificate is not valid for the host name in --hub".into();
        }
        Some(R::InvalidCertificate(C::Expired | C::ExpiredContext { .. })) => {
            return "the hub's certificate has expired".into();
        }
        Some(other) => return format!("TLS failed: {other}"),
        None => {}
    }
    if has("invalid peer certificate: UnknownIssuer")
        || has("invalid peer certificate: BadSignature")
    {
        "the hub's certificate is not signed by the CA given with --ca".into()
    } else if has("invalid peer certificate: certificate not valid for name")
        || has("NotValidForName")
    {
        "the hub's certificate is not valid for the host name in --hub".into()
    } else if has("invalid peer certificate: certificate expired")
        || has("invalid peer certificate: Expired")
    {
        "the hub's certificate has expired".into()
    } else if has("received fatal alert") {
        format!(
            "the hub refused the TLS handshake: your certificate may be revoked, expired or from \
             another CA ({chain_text})"
        )
    } else if e.is_connect() {
        format!("cannot connect to the hub: {chain_text}")
    } else if has("connection closed")
        || has("reset by peer")
        || has("broken pipe")
        || has("IncompleteMessage")
    {
        format!(
            "the hub closed the connection: it probably refused your certificate \
             (revoked, expired or from another CA) ({chain_text})"
        )
    } else {
        chain_text
    }
}

fn transport(e: reqwest::Error) -> ClientError {
    let text = describe_transport_error(&e);
    if text.starts_with("the hub") || text.starts_with("TLS") {
        ClientError::Tls(text)
    } else {
        ClientError::Transport(text)
    }
}

/// A connection to one hub, as one participant.
#[derive(Debug, Clone)]
pub struct HubClient {
    base: Url,
    http: reqwest::Client,
}

/// The outcome of one upload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Uploaded {
    /// The local file.
    pub path: PathBuf,
    /// The hub's receipt.
    pub receipt: Receipt,
    /// False when the hub already had this content (the first receipt came back).
    pub new: bool,
    /// Seconds the upload took.
    pub seconds: f64,
}

impl HubClient {
    /// A client for the hub at `hub` (`https://host:port`), presenting `cert_pem`/`key_pem` and
    /// trusting only `ca_pem`. Checks the certificate's validity first.
    pub fn new(
        hub: &str,
        cert_pem: &[u8],
        key_pem: &[u8],
        ca_pem: &[u8],
    ) -> Result<HubClient, ClientError> {
        let base =
            Url::parse(hub).map_err(|e| ClientError::BadInput(format!("hub URL {hub}: {e}")))?;
        if base.scheme() != "https" {
            return Err(ClientError::BadInput(format!(
                "hub URL {hub}: expected an https:// URL"
            )));
        }
        let chain = certs::certificates_from_pem(cert_pem, "--cert")
            .map_err(|e| ClientError::BadInput(e.to_string()))?;
        let info = certs::inspect_certificate(&chain[0])
            .map_err(|e| ClientError::BadInput(e.to_string()))?;
        let now = certs::time::OffsetDateTime::now_utc();
        if now > info.not_after {
            return Err(ClientError::CertificateExpired {
                serial: info.serial,
                not_after: info.not_after.to_string(),
            });
        }
        if now < info.not_before {
            return Err(ClientError::CertificateNotYetValid {
                serial: info.serial,
                not_before: info.not_before.to_string(),
            });
        }
        let tls = certs::client_config(ca_pem, Some((cert_pem, key_pem)))
            .map_err(|e| ClientError::BadInput(e.to_string()))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(std::time::Duration::from_secs(15))
            .build()
            .map_err(|e| ClientError::BadInput(format!("TLS setup: {e}")))?;
        Ok(HubClient { base, http })
    }

    /// Reads `--cert`, `--key` and `--ca` files and builds the client.
    pub fn from_files(
        hub: &str,
        cert: &Path,
        key: &Path,
        ca: &Path,
    ) -> Result<HubClient, ClientError> {
        let read = |p: &Path, what: &str| {
            std::fs::read(p)
                .map_err(|e| ClientError::BadInput(format!("{what} {}: {e}", p.display())))
        };
        HubClient::new(
            hub,
            &read(cert, "--cert")?,
            &read(key, "--key")?,
            &read(ca, "--ca")?,
        )
    }

    fn url(&self, segments: &[&str]) -> Result<Url, ClientError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| {
                ClientError::BadInput(format!("hub URL {}: cannot take a path", self.base))
            })?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// Uploads one file, streaming it from disk.
    pub async fn upload(&self, path: &Path) -> Result<Uploaded, ClientError> {
        self.upload_sealed(path, None).await
    }

    /// Uploads one file with its `Hutong-Seal` under `seal` (computed by reading the file once
    /// before sending it, since the header precedes the body).
    pub async fn upload_sealed(
        &self,
        path: &Path,
        seal: Option<&SealKey>,
    ) -> Result<Uploaded, ClientError> {
        let seal_value = match seal {
            Some(key) => {
                let (key, p) = (*key, path.to_path_buf());
                Some(
                    tokio::task::spawn_blocking(move || seal_file(&key, &p))
                        .await
                        .map_err(|e| ClientError::Transport(e.to_string()))?
                        .map_err(io(path))?,
                )
            }
            None => None,
        };
        self.upload_with_seal(path, seal_value.as_deref()).await
    }

    /// Uploads one file with a given `Hutong-Seal` header value (or none).
    pub async fn upload_with_seal(
        &self,
        path: &Path,
        seal: Option<&str>,
    ) -> Result<Uploaded, ClientError> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| ClientError::BadInput(format!("{}: not a file name", path.display())))?;
        self.upload_as(path, name, seal).await
    }

    /// Uploads the file at `path` under the name `name`, with a given `Hutong-Seal` header
    /// value (or none).
    pub async fn upload_as(
        &self,
        path: &Path,
        name: &str,
        seal: Option<&str>,
    ) -> Result<Uploaded, ClientError> {
        let handle = tokio::fs::File::open(path).await.map_err(io(path))?;
        let bytes = handle.metadata().await.map_err(io(path))?.len();
        let started = Instant::now();
        let mut request = self
            .http
            .put(self.url(&["v1", "files", name])?)
            .header(reqwest::header::CONTENT_LENGTH, bytes);
        if let Some(seal) = seal {
            request = request.header(SEAL_HEADER, seal);
        }
        let response = request
            .body(reqwest::Body::wrap_stream(ReaderStream::with_capacity(
                handle,
                1 << 20,
            )))
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let response = check(response).await?;
        let receipt: Receipt = response.json().await.map_err(transport)?;
        Ok(Uploaded {
            path: path.to_path_buf(),
            receipt,
            new: status == StatusCode::CREATED,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Lists our files: `Some("in")` uploaded by us, `Some("out")` addressed to us.
    pub async fn list(&self, direction: Option<&str>) -> Result<Vec<FileInfo>, ClientError> {
        let mut url = self.url(&["v1", "files"])?;
        if let Some(d) = direction {
            url.query_pairs_mut().append_pair("direction", d);
        }
        let response = check(self.http.get(url).send().await.map_err(transport)?).await?;
        response.json().await.map_err(transport)
    }

    /// The JSON result of one of our uploads (`GET /v1/files/{id}/result`).
    pub async fn result(&self, file_id: i64) -> Result<FileResultJson, ClientError> {
        let id = file_id.to_string();
        let response = check(
            self.http
                .get(self.url(&["v1", "files", &id, "result"])?)
                .send()
                .await
                .map_err(transport)?,
        )
        .await?;
        response.json().await.map_err(transport)
    }

    /// Downloads one file to `target` (through `target.part`, fsynced, digest checked).
    pub async fn download(&self, file: &FileInfo, target: &Path) -> Result<(), ClientError> {
        self.download_sealed(file, target, None).await.map(|_| ())
    }

    /// Downloads one file to `target`; with `seal`, the `Hutong-Seal` the hub sends must be
    /// the SM4-CMAC of the content under it (else the file is not kept). A seal the hub sent
    /// is written to the `NAME.seal` sidecar and returned.
    pub async fn download_sealed(
        &self,
        file: &FileInfo,
        target: &Path,
        seal: Option<&SealKey>,
    ) -> Result<Option<String>, ClientError> {
        let id = file.file_id.to_string();
        let mut response = check(
            self.http
                .get(self.url(&["v1", "files", &id])?)
                .send()
                .await
                .map_err(transport)?,
        )
        .await?;
        let presented = response
            .headers()
            .get(SEAL_HEADER)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let part = target.with_extension("part");
        let mut out = tokio::fs::File::create(&part).await.map_err(io(&part))?;
        let mut digest = Context::new(&SHA256);
        let mut sealer = seal.map(Sealer::new);
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            digest.update(&chunk);
            if let Some(s) = &mut sealer {
                s.update(&chunk);
            }
            out.write_all(&chunk).await.map_err(io(&part))?;
        }
        out.flush().await.map_err(io(&part))?;
        out.sync_all().await.map_err(io(&part))?;
        drop(out);
        let got = hex::encode(digest.finish());
        if got != file.sha256 {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(ClientError::Transport(format!(
                "file {} arrived with digest {got}, the hub listed {}",
                file.file_id, file.sha256
            )));
        }
        if let Some(s) = sealer {
            let computed = s.finish();
            let ok = presented
                .as_deref()
                .is_some_and(|p| seals_match(p, &computed));
            if !ok {
                let _ = tokio::fs::remove_file(&part).await;
                return Err(ClientError::Transport(match presented {
                    None => format!(
                        "file {} arrived without the Hutong-Seal its seal key requires",
                        file.file_id
                    ),
                    Some(_) => format!(
                        "file {} arrived with a Hutong-Seal that is not the SM4-CMAC of its content under the seal key",
                        file.file_id
                    ),
                }));
            }
        }
        tokio::fs::rename(&part, target).await.map_err(io(target))?;
        if let Some(p) = &presented {
            write_sidecar(target, p.trim()).map_err(io(target))?;
        }
        Ok(presented)
    }
}

async fn check(response: reqwest::Response) -> Result<reqwest::Response, ClientError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let text = response.text().await.unwrap_or_default();
    let message = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or(text);
    Err(ClientError::Http { status, message })
}

/// What `fetch` remembers in the output folder.
#[derive(Debug, Default, Serialize, Deserialize)]
struct FetchedState {
    fetched: BTreeSet<i64>,
}

/// A file fetched by [`fetch_new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fetched {
    /// The hub's id.
    pub file_id: i64,
    /// Where it was written.
    pub path: PathBuf,
    /// Size.
    pub bytes: i64,
    /// SHA-256.
    pub sha256: String,
}

/// Downloads every file addressed to us that was not fetched into `out_dir` before. A file is
/// written under its name (or `NAME.FILEID` when a different file already has that name) and
/// remembered in [`FETCHED_STATE_FILE`] only after it is complete.
pub async fn fetch_new(client: &HubClient, out_dir: &Path) -> Result<Vec<Fetched>, ClientError> {
    fetch_new_sealed(client, out_dir, None).await
}

/// [`fetch_new`], verifying each file's seal under `seal` when given.
pub async fn fetch_new_sealed(
    client: &HubClient,
    out_dir: &Path,
    seal: Option<&SealKey>,
) -> Result<Vec<Fetched>, ClientError> {
    tokio::fs::create_dir_all(out_dir)
        .await
        .map_err(io(out_dir))?;
    let state_path = out_dir.join(FETCHED_STATE_FILE);
    let mut state: FetchedState = match tokio::fs::read(&state_path).await {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            ClientError::BadInput(format!(
                "{}: not a fetch state file: {e}",
                state_path.display()
            ))
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => FetchedState::default(),
        Err(e) => return Err(io(&state_path)(e)),
    };
    let mut fetched = Vec::new();
    for file in client.list(Some("out")).await? {
        if state.fetched.contains(&file.file_id) {
            continue;
        }
        if crate::wire::validate_name(&file.name).is_err() {
            return Err(ClientError::Transport(format!(
                "the hub listed an unsafe file name {:?}",
                file.name
            )));
        }
        let mut target = out_dir.join(&file.name);
        if tokio::fs::try_exists(&target).await.unwrap_or(false) {
            target = out_dir.join(format!("{}.{}", file.name, file.file_id));
        }
        client.download_sealed(&file, &target, seal).await?;
        state.fetched.insert(file.file_id);
        let tmp = out_dir.join(format!("{FETCHED_STATE_FILE}.tmp"));
        let text =
            serde_json::to_vec_pretty(&state).map_err(|e| ClientError::Transport(e.to_string()))?;
        tokio::fs::write(&tmp, text).await.map_err(io(&tmp))?;
        tokio::fs::rename(&tmp, &state_path)
            .await
            .map_err(io(&state_path))?;
        fetched.push(Fetched {
            file_id: file.file_id,
            path: target,
            bytes: file.bytes,
            sha256: file.sha256,
        });
    }
    Ok(fetched)
}
