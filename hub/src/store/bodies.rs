//! File bodies kept in the database (PostgreSQL's shared file storage, see `crate::vault`):
//! one `file_bodies` row per stored path with its digest and size, and its content in
//! `file_body_chunks` of at most [`BODY_CHUNK`] bytes. Bodies are streamed in and out one
//! chunk at a time, never held whole in memory.

use futures_util::TryStreamExt;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

use super::{Store, StoreError, StoreResult, on_db, on_tx};

/// The largest chunk of a body: 1 MiB.
pub const BODY_CHUNK: usize = 1 << 20;

/// What the database knows of a stored body.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BodyInfo {
    /// The SHA-256 of the content, lower-case hex.
    pub sha256: String,
    /// Its size in bytes.
    pub bytes: i64,
    /// How many chunks hold it.
    pub chunks: i64,
}

impl Store {
    /// Stores the body of `stored_path`, read from `content` (which must be `bytes` long and
    /// have the SHA-256 `sha256`), with all its chunks in one transaction: when this returns
    /// the body is durable, whole, in the database. A body already stored under that path is
    /// kept (paths are content-addressed) and `false` returned.
    pub async fn put_body(
        &self,
        stored_path: &str,
        sha256: &str,
        bytes: u64,
        content: &mut (dyn AsyncRead + Unpin + Send),
    ) -> StoreResult<bool> {
        let too_large = || StoreError::Corrupt(format!("{stored_path}: {bytes} bytes"));
        let size = i64::try_from(bytes).map_err(|_| too_large())?;
        let chunks = i64::try_from(bytes.div_ceil(BODY_CHUNK as u64)).map_err(|_| too_large())?;
        let mut tx = self.begin().await?;
        let inserted = on_tx!(&mut tx, conn => {
            sqlx::query(
                "INSERT INTO file_bodies (stored_path, sha256, bytes, chunks) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (stored_path) DO NOTHING",
            )
            .bind(stored_path)
            .bind(sha256)
            .bind(size)
            .bind(chunks)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        if inserted == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let mut buf = vec![0u8; BODY_CHUNK];
        let mut seq = 0i64;
        let mut total = 0u64;
        loop {
            let n = fill(content, &mut buf).await.map_err(|e| {
                StoreError::Corrupt(format!("reading the body of {stored_path}: {e}"))
            })?;
            if n == 0 {
                break;
            }
            total += n as u64;
            on_tx!(&mut tx, conn => {
                sqlx::query(
                    "INSERT INTO file_body_chunks (stored_path, seq, data) VALUES ($1, $2, $3)",
                )
                .bind(stored_path)
                .bind(seq)
                .bind(&buf[..n])
                .execute(&mut *conn)
                .await?;
            });
            seq += 1;
        }
        if total != bytes || seq != chunks {
            tx.rollback().await?;
            return Err(StoreError::Corrupt(format!(
                "{stored_path}: {total} bytes in {seq} chunks read, {bytes} in {chunks} expected; \
                 nothing stored"
            )));
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The digest, size and chunk count of the body stored under `stored_path`, if any.
    pub async fn body_info(&self, stored_path: &str) -> StoreResult<Option<BodyInfo>> {
        let sql = "SELECT sha256, bytes, chunks FROM file_bodies WHERE stored_path = $1";
        Ok(on_db!(self, pool => {
            sqlx::query_as(sql).bind(stored_path).fetch_optional(pool).await?
        }))
    }

    /// Sends the body stored under `stored_path` into `chunks`, chunk by chunk in order;
    /// returns its [`BodyInfo`], or `None` when no body is stored there. The receiver checks
    /// the digest.
    pub async fn copy_body(
        &self,
        stored_path: &str,
        chunks: mpsc::Sender<Vec<u8>>,
    ) -> StoreResult<Option<BodyInfo>> {
        let Some(info) = self.body_info(stored_path).await? else {
            return Ok(None);
        };
        let sql = "SELECT data FROM file_body_chunks WHERE stored_path = $1 ORDER BY seq";
        let mut written = 0u64;
        let mut seen = 0i64;
        on_db!(self, pool => {
            let mut rows = sqlx::query_scalar::<_, Vec<u8>>(sql).bind(stored_path).fetch(pool);
            while let Some(chunk) = rows.try_next().await? {
                written += chunk.len() as u64;
                seen += 1;
                if chunks.send(chunk).await.is_err() {
                    return Err(StoreError::Corrupt(format!(
                        "the body of {stored_path}: its reader went away"
                    )));
                }
            }
        });
        if seen != info.chunks || i64::try_from(written).ok() != Some(info.bytes) {
            return Err(StoreError::Corrupt(format!(
                "{stored_path}: {written} bytes in {seen} chunks in the database, {} in {} recorded",
                info.bytes, info.chunks
            )));
        }
        Ok(Some(info))
    }

    /// The stored paths and digests of files whose body is not in the database: what
    /// `hutong storage migrate` copies there.
    pub async fn paths_without_body(&self) -> StoreResult<Vec<(String, String)>> {
        let sql = "SELECT stored_path, sha256 FROM files \
                   WHERE stored_path NOT IN (SELECT stored_path FROM file_bodies) \
                   ORDER BY id";
        Ok(on_db!(self, pool => sqlx::query_as(sql).fetch_all(pool).await?))
    }
}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
async fn fill(
    input: &mut (dyn AsyncRead + Unpin + Send),
    buf: &mut [u8],
) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let got = input.read(&mut buf[n..]).await?;
        if got == 0 {
            break;
        }
        n += got;
    }
    Ok(n)
}
