//! One `hutong serve` per SQLite data directory: [`DataDirLock`] holds an exclusive OS lock on
//! `DATA_DIR/hutong.lock` for the life of the process (the kernel releases it when the process
//! ends, crash included), with the owner's pid and listening address written in the file so
//! that the second server can say whom it ran into. With PostgreSQL several replicas share
//! one database on purpose, and no lock is taken.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "hutong.lock";

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "{dir} is in use by another hutong serve (pid {pid}, listening on {address}): \
         one hutong serve per SQLite data directory (stop it, or give this one another --data-dir)"
    )]
    Held {
        /// The data directory.
        dir: String,
        /// The owner's pid, as written in the lock file (`?` when unreadable).
        pid: String,
        /// The owner's address, as written in the lock file (`?` when unreadable).
        address: String,
    },
    /// The lock file could not be opened, locked or written.
    #[error("{path}: {source}")]
    Io {
        /// The lock file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl LockError {
    /// True when another server holds the lock (the CLI exits 2).
    pub fn is_bad_input(&self) -> bool {
        matches!(self, LockError::Held { .. })
    }
}

/// The held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct DataDirLock {
    file: File,
    path: PathBuf,
}

impl DataDirLock {
    /// Takes the lock on `dir`'s lock file without waiting, and writes this process's pid and
    /// `address` into it.
    pub fn acquire(dir: &Path, address: &str) -> Result<DataDirLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let shown = path.display().to_string();
        let io = |source| LockError::Io {
            path: shown.clone(),
            source,
        };
        // Not truncated on open: the owner's pid and address stay readable until we hold it.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let field = |key: &str| {
                    text.lines()
                        .find_map(|l| l.strip_prefix(key))
                        .map(|v| v.trim().to_string())
                        .unwrap_or_else(|| "?".into())
                };
                return Err(LockError::Held {
                    dir: dir.display().to_string(),
                    pid: field("pid="),
                    address: field("address="),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let mut lock = DataDirLock { file, path };
        lock.set_address(address).map_err(io)?;
        Ok(lock)
    }

    /// The lock `hutong serve` takes: on `data_dir` when the database is SQLite in it, none for
    /// a URL (PostgreSQL replicas share a database; an `sqlite:` URL names its own file). A
    /// missing directory is created only when `create` (`serve --init`); without it, a
    /// directory with no `hutong.db` gets no lock (nor lock file): opening the store refuses
    /// the missing hub.
    pub fn for_serve(
        target: &crate::store::DbTarget,
        data_dir: &Path,
        address: &str,
        create: bool,
    ) -> Result<Option<DataDirLock>, LockError> {
        if !matches!(target, crate::store::DbTarget::DataDir(_)) {
            return Ok(None);
        }
        if create {
            std::fs::create_dir_all(data_dir).map_err(|source| LockError::Io {
                path: data_dir.display().to_string(),
                source,
            })?;
        } else if !data_dir.join(crate::store::SQLITE_FILE).exists() {
            // No hub: opening the store refuses it; leave the directory as it is.
            return Ok(None);
        }
        DataDirLock::acquire(data_dir, address).map(Some)
    }

    /// Rewrites the address in the lock file (once the listener is bound and its port known).
    pub fn set_address(&mut self, address: &str) -> std::io::Result<()> {
        self.file.set_len(0)?;
        self.file.seek(SeekFrom::Start(0))?;
        writeln!(self.file, "pid={}\naddress={address}", std::process::id())?;
        self.file.sync_data()
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_directory_is_refused_naming_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path(), "127.0.0.1:8443").unwrap();
        let err = DataDirLock::acquire(dir.path(), "127.0.0.1:9443").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert!(text.contains("127.0.0.1:8443"), "{text}");
        drop(first);
        DataDirLock::acquire(dir.path(), "127.0.0.1:9443").expect("released on drop");
    }
}
