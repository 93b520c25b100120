//! The simulated partners' side of the demo: each partner is a separate mutual-TLS client
//! with its own certificate ([`HubClient`]), as `hutong upload` and `hutong fetch` are.

use std::collections::BTreeMap;
use std::path::Path;

use super::setup::Configured;
use super::{DemoError, Event, Observer};
use crate::client::{HubClient, fetch_new};
use simulator::Manifest;

/// One uploaded file.
#[derive(Debug, Clone)]
pub struct UploadedFile {
    /// The uploader.
    pub participant: String,
    /// The hub's file id (the first receipt's, for a repeated upload).
    pub file_id: i64,
    /// False when the hub already held the content (it answered with the first receipt).
    pub new: bool,
    /// Size.
    pub bytes: u64,
}

/// Every upload of the day, by path relative to the simulation's directory.
#[derive(Debug, Clone, Default)]
pub struct Uploads {
    /// Transaction and blacklist files.
    pub files: BTreeMap<String, UploadedFile>,
}

fn client(url: &str, configured: &Configured, code: &str) -> Result<HubClient, DemoError> {
    let c = configured
        .credentials
        .get(code)
        .ok_or_else(|| DemoError::Step {
            step: "upload",
            message: format!("no credentials for participant {code}"),
        })?;
    HubClient::from_files(url, &c.cert, &c.key, &c.ca).map_err(|e| DemoError::Step {
        step: "upload",
        message: format!("{code}: {e}"),
    })
}

/// Uploads `paths` (relative to `world_dir`) in order as `code`.
async fn upload_all(
    url: String,
    configured: &Configured,
    code: String,
    paths: Vec<String>,
    world_dir: &Path,
    observe: Observer<'_>,
) -> Result<Vec<(String, UploadedFile)>, DemoError> {
    let client = client(&url, configured, &code)?;
    let total = paths.len() as u64;
    let mut bytes = 0u64;
    let mut out = Vec::new();
    for (i, rel) in paths.into_iter().enumerate() {
        let got = client
            .upload(&world_dir.join(&rel))
            .await
            .map_err(|e| DemoError::Step {
                step: "upload",
                message: format!("{code} uploading {rel}: {e}"),
            })?;
        let size = u64::try_from(got.receipt.bytes).unwrap_or(0);
        bytes += size;
        observe(Event::Uploaded {
            participant: code.clone(),
            done: i as u64 + 1,
            total,
            bytes,
        });
        out.push((
            rel,
            UploadedFile {
                participant: code.clone(),
                file_id: got.receipt.file_id,
                new: got.new,
                bytes: size,
            },
        ));
    }
    observe(Event::PartnerDone(code));
    Ok(out)
}

/// Every partner uploads at once, each its own files in the manifest's order: first every
/// blacklist (so that the cards they list are blacklisted before the day's files are checked),
/// then the transaction files.
pub async fn upload_day(
    url: &str,
    configured: &Configured,
    manifest: &Manifest,
    world_dir: &Path,
    observe: Observer<'_>,
) -> Result<Uploads, DemoError> {
    let mut uploads = Uploads::default();
    let mut blacklists: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for b in &manifest.blacklist {
        blacklists
            .entry(b.participant.clone())
            .or_default()
            .push(b.path.clone());
    }
    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut ordered = manifest.file.clone();
    ordered.sort_by_key(|f| f.order);
    for f in &ordered {
        files
            .entry(f.participant.clone())
            .or_default()
            .push(f.path.clone());
    }
    for phase in [blacklists, files] {
        let runs = phase.into_iter().map(|(code, paths)| {
            upload_all(url.to_string(), configured, code, paths, world_dir, observe)
        });
        for done in futures_util::future::join_all(runs).await {
            uploads.files.extend(done?);
        }
    }
    Ok(uploads)
}

/// Each partner fetches what the hub has for it (outbound packages, settlement statements,
/// results of its uploads) into `DIR/partners/CODE/inbox`, then uploads its result files for
/// the day. Returns the number of files fetched.
pub async fn fetch_and_answer(
    url: &str,
    configured: &Configured,
    manifest: &Manifest,
    world_dir: &Path,
) -> Result<usize, DemoError> {
    let mut fetched = 0;
    for (code, creds) in &configured.credentials {
        let client = client(url, configured, code)?;
        let inbox = creds
            .cert
            .parent()
            .map(|p| p.join("inbox"))
            .unwrap_or_else(|| world_dir.join("inbox"));
        fetched += fetch_new(&client, &inbox)
            .await
            .map_err(|e| DemoError::Step {
                step: "results",
                message: format!("{code} fetching: {e}"),
            })?
            .len();
        for r in manifest.result.iter().filter(|r| &r.participant == code) {
            client
                .upload(&world_dir.join(&r.path))
                .await
                .map_err(|e| DemoError::Step {
                    step: "results",
                    message: format!("{code} uploading {}: {e}", r.path),
                })?;
        }
    }
    Ok(fetched)
}
