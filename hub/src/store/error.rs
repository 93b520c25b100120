//! The storage error type.

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be opened or reached. The message holds the driver's cause once
    /// (it is not a `source`, so that an error chain does not print it twice) and what to check.
    #[error("cannot open the database {target}: {cause}{remedies}")]
    Connect {
        /// The database (a file path or a URL without its password).
        target: String,
        /// The driver's error, as text.
        cause: String,
        /// What to check, each on a line of its own (empty when there is nothing to say).
        remedies: String,
    },
    /// A `--database` value that is neither `postgres://…` nor `sqlite:…`.
    #[error("database URL {0:?}: expected postgres://… or sqlite:…")]
    UnsupportedUrl(String),
    /// There is no hub where a command that only opens one was pointed.
    #[error("no hub at {at} ({why}): create one with `{init}`")]
    NoHub {
        /// The data directory or the database (without its password).
        at: String,
        /// What is missing.
        why: String,
        /// The command that creates it.
        init: String,
    },
    /// The database holds migrations this binary does not know: a newer hutong wrote it.
    #[error(
        "the database {target} has schema version {database}, newer than this hutong's \
         {binary}: run the hutong that created it (or a newer one)"
    )]
    SchemaNewer {
        /// The database (without its password).
        target: String,
        /// The newest migration applied to the database.
        database: i64,
        /// The newest migration this binary knows.
        binary: i64,
    },
    /// The database's schema is older than this binary's and this command does not migrate.
    #[error(
        "the database {target} has schema version {database}, older than this hutong's \
         {binary}: run `{init}` to migrate it (or `hutong serve`)"
    )]
    SchemaOlder {
        /// The database (without its password).
        target: String,
        /// The newest migration applied to the database.
        database: i64,
        /// The newest migration this binary knows.
        binary: i64,
        /// The command that migrates it.
        init: String,
    },
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

impl StoreError {
    /// True for errors the user fixes by pointing the command elsewhere or running another
    /// one first (no hub there, a schema of another version, a URL of no known kind): the CLI
    /// exits 2 for them.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            StoreError::UnsupportedUrl(_)
                | StoreError::NoHub { .. }
                | StoreError::SchemaNewer { .. }
                | StoreError::SchemaOlder { .. }
        )
    }
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
