//! The file vault: where file contents live on disk, under `DATA_DIR/files/`.
//!
//! An upload is streamed into `files/tmp/` while its SHA-256 is computed, fsynced, then renamed
//! to `files/in/<SENDER>/<sha256>` (outbound files: `files/out/<ADDRESSEE>/<sha256>`) and the
//! folder fsynced, before the database row is written and the receipt sent. Content-addressed
//! names make a rename after a crash harmless: the same content lands on the same name.
//!
//! # Shared storage (PostgreSQL)
//!
//! A vault opened with [`Vault::open_for`] on a PostgreSQL hub also writes every body it
//! commits into the database ([`Store::put_body`]: chunked, one transaction) before
//! [`Vault::commit`] returns, so the receipt still means durable — and now durable where every
//! replica reaches it. Readers ask [`Vault::local`] for a file: the data directory's copy when
//! this replica has one, else the body fetched from the database into the data directory
//! (staged, digest checked, renamed into place). The data directory is then a cache: a replica
//! that dies loses nothing another replica needs. SQLite hubs keep bodies in the data
//! directory only, as one server serves them.

use std::path::{Path, PathBuf};

use aws_lc_rs::digest::{Context, SHA256};
use bytes::Bytes;
use tokio::fs::{self, File};
use tokio::io::{AsyncWriteExt, BufWriter};

use crate::seal::{SealKey, Sealer};
use crate::store::{Backend, Direction, Store, StoreError};

/// Buffer between the network and the disk: few large writes instead of many small ones.
const WRITE_BUFFER: usize = 1 << 20;

/// Errors of the vault.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// A file system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The content is larger than allowed.
    #[error("the file is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The body could not be read from the network.
    #[error("reading the upload failed: {0}")]
    Body(String),
    /// The shared storage (the database) failed.
    #[error("shared file storage: {0}")]
    Shared(#[from] StoreError),
    /// A body fetched from shared storage is not the content recorded for it.
    #[error("{stored_path}: the body in the database has SHA-256 {got}, {expected} recorded")]
    Digest {
        /// The file's stored path.
        stored_path: String,
        /// The recorded digest.
        expected: String,
        /// The digest of what was read.
        got: String,
    },
}

/// The SHA-256 of `bytes`, lower-case hex: how the hub names and checks file contents.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&SHA256, bytes).as_ref())
}

/// The SHA-256 of the file at `path`, lower-case hex, read in blocks (blocking; never the whole
/// file in memory).
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut ctx = Context::new(&SHA256);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
    }
    Ok(hex::encode(ctx.finish().as_ref()))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> VaultError + '_ {
    move |source| VaultError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A file in the staging area that removes itself when dropped unless it was moved into
/// place: an upload cut off mid-stream (its connection dropped at the end of a graceful
/// shutdown, say) leaves nothing behind.
#[derive(Debug)]
struct TempPath {
    path: PathBuf,
    armed: bool,
}

impl TempPath {
    fn new(path: PathBuf) -> TempPath {
        TempPath { path, armed: true }
    }

    /// The file was moved into place or removed: nothing to clean up.
    fn disarm(&mut self) {
        self.armed = false;
    }
}

impl std::ops::Deref for TempPath {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for TempPath {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Content in the vault's temporary area, hashed and synced, not yet in place.
#[derive(Debug)]
pub struct Staged {
    path: TempPath,
    /// SHA-256, lower-case hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// The content's seal (SM4-CMAC), when staged with a seal key.
    pub seal: Option<String>,
}

impl Staged {
    /// Removes staged content (blocking; for writers that gave up).
    pub fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The vault of one data directory, sharing bodies through the database when opened so on
/// PostgreSQL.
#[derive(Debug, Clone)]
pub struct Vault {
    data_dir: PathBuf,
    shared: Option<Store>,
}

impl Vault {
    /// Opens (creating the folders of) the vault in `data_dir`, and removes staging files a
    /// crash left behind (only those older than a day: replicas sharing the folder may be
    /// receiving into it right now).
    pub fn open(data_dir: &Path) -> Result<Vault, VaultError> {
        let tmp = data_dir.join("files").join("tmp");
        std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        let day = std::time::Duration::from_secs(24 * 3600);
        for entry in std::fs::read_dir(&tmp).map_err(io(&tmp))?.flatten() {
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > day);
            if stale {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(Vault {
            data_dir: data_dir.to_path_buf(),
            shared: None,
        })
    }

    /// Opens the vault of `data_dir` for the hub in `store`: on PostgreSQL bodies are shared
    /// through the database (see the module documentation); on SQLite as [`Vault::open`].
    pub fn open_for(data_dir: &Path, store: &Store) -> Result<Vault, VaultError> {
        let mut vault = Vault::open(data_dir)?;
        if store.backend() == Backend::Postgres {
            vault.shared = Some(store.clone());
        }
        Ok(vault)
    }

    /// True when bodies are shared through the database.
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// A local path holding the file stored as `stored_path`: this data directory's copy, or
    /// (shared storage) the body fetched from the database into it first. Without either the
    /// path is returned as it is, and opening it reports the missing file.
    pub async fn local(&self, stored_path: &str) -> Result<PathBuf, VaultError> {
        let path = self.data_dir.join(stored_path);
        let Some(store) = &self.shared else {
            return Ok(path);
        };
        if fs::try_exists(&path).await.unwrap_or(false) {
            return Ok(path);
        }
        let mut writer = self.stage().await?;
        let (chunks, mut received) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
        let write = async {
            while let Some(chunk) = received.recv().await {
                writer.write(&chunk, u64::MAX).await?;
            }
            Ok::<_, VaultError>(())
        };
        let (fetched, written) = tokio::join!(store.copy_body(stored_path, chunks), write);
        written?;
        let Some(info) = fetched? else {
            writer.abort().await;
            return Ok(path);
        };
        let mut staged = writer.finish().await?;
        if staged.sha256 != info.sha256 {
            return Err(VaultError::Digest {
                stored_path: stored_path.to_string(),
                expected: info.sha256,
                got: staged.sha256.clone(),
            });
        }
        let dir = path.parent().unwrap_or(&self.data_dir).to_path_buf();
        fs::create_dir_all(&dir).await.map_err(io(&dir))?;
        fs::rename(&staged.path, &path).await.map_err(io(&path))?;
        staged.path.disarm();
        sync_dir(&dir).await?;
        tracing::debug!(stored_path, "fetched from shared storage");
        Ok(path)
    }

    /// Copies the body of `stored_path` from this data directory into shared storage if it is
    /// not there yet: every [`Vault::commit`], a file the hub wrote in place (the pacs.009),
    /// `hutong storage migrate`. `false` when there was nothing to do (no shared storage, or
    /// the body is there already: [`Store::put_body`] keeps the first).
    pub async fn share(&self, stored_path: &str, sha256: &str) -> Result<bool, VaultError> {
        let Some(store) = &self.shared else {
            return Ok(false);
        };
        let path = self.data_dir.join(stored_path);
        let mut file = File::open(&path).await.map_err(io(&path))?;
        let bytes = file.metadata().await.map_err(io(&path))?.len();
        Ok(store
            .put_body(stored_path, sha256, bytes, &mut file)
            .await?)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The absolute path of a stored file (`stored_path` is relative to the data directory).
    pub fn path_of(&self, stored_path: &str) -> PathBuf {
        self.data_dir.join(stored_path)
    }

    /// A new temporary file to stream into.
    pub async fn stage(&self) -> Result<StageWriter, VaultError> {
        self.stage_sealed(None).await
    }

    /// A new temporary file to stream into, computing the content's seal under `key` as it
    /// goes.
    pub async fn stage_sealed(&self, key: Option<&SealKey>) -> Result<StageWriter, VaultError> {
        let mut random = [0u8; 12];
        aws_lc_rs::rand::fill(&mut random).map_err(|_| VaultError::Body("no randomness".into()))?;
        let path = self
            .data_dir
            .join("files")
            .join("tmp")
            .join(hex::encode(random));
        let file = File::create(&path).await.map_err(io(&path))?;
        Ok(StageWriter {
            writer: BufWriter::with_capacity(WRITE_BUFFER, file),
            path: TempPath::new(path),
            digest: Context::new(&SHA256),
            bytes: 0,
            sealer: key.map(Sealer::new),
        })
    }

    /// Copies a local file into staging (for files the hub produces itself).
    pub async fn stage_file(&self, source: &Path) -> Result<Staged, VaultError> {
        self.stage_file_sealed(source, None).await
    }

    /// Copies a local file into staging, sealing it under `key` on the way.
    pub async fn stage_file_sealed(
        &self,
        source: &Path,
        key: Option<&SealKey>,
    ) -> Result<Staged, VaultError> {
        use tokio::io::AsyncReadExt;
        let mut input = File::open(source).await.map_err(io(source))?;
        let mut writer = self.stage_sealed(key).await?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = input.read(&mut buf).await.map_err(io(source))?;
            if n == 0 {
                break;
            }
            writer.write(&buf[..n], u64::MAX).await?;
        }
        writer.finish().await
    }

    /// Moves staged content to its place for `owner` (sender or addressee) and returns its
    /// `stored_path`. Durable when this returns (file and folder fsynced).
    pub async fn commit(
        &self,
        staged: Staged,
        direction: Direction,
        owner: &str,
    ) -> Result<String, VaultError> {
        let relative = format!("files/{}/{owner}/{}", direction.as_str(), staged.sha256);
        let target = self.data_dir.join(&relative);
        let dir = target.parent().unwrap_or(&self.data_dir).to_path_buf();
        fs::create_dir_all(&dir).await.map_err(io(&dir))?;
        let mut staged = staged;
        fs::rename(&staged.path, &target)
            .await
            .map_err(io(&target))?;
        staged.path.disarm();
        sync_dir(&dir).await?;
        self.share(&relative, &staged.sha256).await?;
        Ok(relative)
    }

    /// A new file in the staging area to write into synchronously (from a blocking thread),
    /// hashing and sealing as it goes; [`HashingWriter::finish`] makes it [`Staged`].
    pub fn stage_blocking(&self, key: Option<&SealKey>) -> Result<HashingWriter, VaultError> {
        let mut random = [0u8; 12];
        aws_lc_rs::rand::fill(&mut random).map_err(|_| VaultError::Body("no randomness".into()))?;
        let path = self
            .data_dir
            .join("files")
            .join("tmp")
            .join(hex::encode(random));
        let file = std::fs::File::create(&path).map_err(io(&path))?;
        Ok(HashingWriter {
            out: std::io::BufWriter::with_capacity(WRITE_BUFFER, file),
            path: TempPath::new(path),
            digest: Context::new(&SHA256),
            bytes: 0,
            sealer: key.map(Sealer::new),
        })
    }

    /// Throws staged content away (a duplicate, or a refused upload).
    pub async fn discard(&self, staged: Staged) {
        let _ = fs::remove_file(&staged.path).await;
    }
}

/// Streams content into the staging area, hashing as it goes.
pub struct StageWriter {
    writer: BufWriter<File>,
    path: TempPath,
    digest: Context,
    bytes: u64,
    sealer: Option<Sealer>,
}

impl std::fmt::Debug for StageWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StageWriter")
            .field("path", &self.path.path)
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

impl StageWriter {
    /// Appends a chunk; refuses to grow past `limit` bytes (the partial file is removed).
    pub async fn write(&mut self, chunk: &[u8], limit: u64) -> Result<(), VaultError> {
        self.bytes += chunk.len() as u64;
        if self.bytes > limit {
            let _ = fs::remove_file(&self.path).await;
            return Err(VaultError::TooLarge { limit });
        }
        self.digest.update(chunk);
        if let Some(s) = &mut self.sealer {
            s.update(chunk);
        }
        self.writer.write_all(chunk).await.map_err(io(&self.path))
    }

    /// Appends a network chunk.
    pub async fn write_bytes(&mut self, chunk: Bytes, limit: u64) -> Result<(), VaultError> {
        self.write(&chunk, limit).await
    }

    /// Flushes and fsyncs; the content is then staged.
    pub async fn finish(mut self) -> Result<Staged, VaultError> {
        self.writer.flush().await.map_err(io(&self.path))?;
        self.writer
            .get_ref()
            .sync_all()
            .await
            .map_err(io(&self.path))?;
        Ok(Staged {
            path: self.path,
            sha256: hex::encode(self.digest.finish()),
            bytes: self.bytes,
            seal: self.sealer.map(Sealer::finish),
        })
    }

    /// Gives up: removes the partial file.
    pub async fn abort(self) {
        let _ = fs::remove_file(&self.path).await;
    }
}

/// A synchronous writer into the staging area that hashes (and seals) what it writes.
pub struct HashingWriter {
    out: std::io::BufWriter<std::fs::File>,
    path: TempPath,
    digest: Context,
    bytes: u64,
    sealer: Option<Sealer>,
}

impl std::fmt::Debug for HashingWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashingWriter")
            .field("path", &self.path.path)
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

impl std::io::Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.digest.update(&buf[..n]);
        if let Some(s) = &mut self.sealer {
            s.update(&buf[..n]);
        }
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl HashingWriter {
    /// Flushes and fsyncs; the content is then staged.
    pub fn finish(mut self) -> Result<Staged, VaultError> {
        use std::io::Write as _;
        self.out.flush().map_err(io(&self.path))?;
        self.out.get_ref().sync_all().map_err(io(&self.path))?;
        Ok(Staged {
            path: self.path,
            sha256: hex::encode(self.digest.finish()),
            bytes: self.bytes,
            seal: self.sealer.map(Sealer::finish),
        })
    }

    /// Gives up: removes the partial file.
    pub fn abort(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn sync_dir(dir: &Path) -> Result<(), VaultError> {
    let d = dir.to_path_buf();
    tokio::task::spawn_blocking(move || std::fs::File::open(&d).and_then(|f| f.sync_all()))
        .await
        .map_err(|e| VaultError::Body(e.to_string()))?
        .map_err(io(dir))
}
