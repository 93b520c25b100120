//! The storage error type.

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be opened or reached.
    #[error("cannot open the database {target}: {source}")]
    Connect {
        /// The database (a file path or a URL without its password).
        target: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// A `--database` value that is neither `postgres://…` nor `sqlite:…`.
    #[error("database URL {0:?}: expected postgres://… or sqlite:…")]
    UnsupportedUrl(String),
    /// Applying the migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Inserting something that already exists (a participant code, for example).
    #[error("{0} already exists")]
    Duplicate(String),
    /// A reference to something that does not exist.
    #[error("{0} does not exist")]
    NotFound(String),
    /// A row holding a value this version does not know (a newer schema, or a hand edit).
    #[error("unexpected value in the database: {0}")]
    Corrupt(String),
}

/// Results of storage functions.
pub type StoreResult<T> = Result<T, StoreError>;

/// True for a unique-constraint violation, on either backend.
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.is_unique_violation(),
        _ => false,
    }
}
