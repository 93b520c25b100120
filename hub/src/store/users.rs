//! The console's staff accounts and their sessions. Passwords are stored only as argon2 PHC
//! strings; a session is stored only as the SHA-256 of its token, so a copy of the database
//! lets nobody sign in.

use serde::Serialize;

use super::{Store, StoreError, StoreResult, Timestamp, is_unique_violation, on_db};

/// What a staff member may do in the console. Each role may do everything the roles before it
/// may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// Read everything, export.
    Viewer,
    /// Work the queue: add evidence, propose, accept, contest, escalate, request evidence,
    /// close a monitored discrepancy.
    Finance,
    /// Arbitrate escalated cases, withdraw, run reconciliation.
    Operator,
}

impl StaffRole {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Viewer => "viewer",
            StaffRole::Finance => "finance",
            StaffRole::Operator => "operator",
        }
    }
}

impl std::fmt::Display for StaffRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for StaffRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "viewer" => Ok(StaffRole::Viewer),
            "finance" => Ok(StaffRole::Finance),
            "operator" => Ok(StaffRole::Operator),
            other => Err(format!(
                "role {other:?}: expected viewer, finance or operator"
            )),
        }
    }
}

/// A staff account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Sign-in name (also the participant code of a client certificate that signs in as it).
    pub name: String,
    /// Role.
    pub role: StaffRole,
    /// The participant this user acts for in dispute cases (e.g. the hub city's own code).
    pub participant: Option<String>,
    /// The argon2 PHC string, if the user has a password.
    #[serde(skip)]
    pub password_hash: Option<String>,
    /// Whether a client certificate naming this user signs it in.
    pub cert_login: bool,
    /// When added.
    pub created_at: Timestamp,
}

type UserRow = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    bool,
    Timestamp,
);

fn user(r: UserRow) -> StoreResult<User> {
    Ok(User {
        id: r.0,
        name: r.1,
        role: r
            .2
            .parse()
            .map_err(|e: String| StoreError::Corrupt(format!("users.role: {e}")))?,
        participant: r.3,
        password_hash: r.4,
        cert_login: r.5,
        created_at: r.6,
    })
}

const USER_COLUMNS: &str = "id, name, role, participant, password_hash, cert_login, created_at";

/// A user to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Name.
    pub name: String,
    /// Role.
    pub role: StaffRole,
    /// Participant acted for.
    pub participant: Option<String>,
    /// argon2 PHC string.
    pub password_hash: Option<String>,
    /// Client-certificate sign-in.
    pub cert_login: bool,
}

/// A signed-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user.
    pub user: User,
    /// The session's CSRF token (forms carry it).
    pub csrf: String,
    /// When it expires.
    pub expires_at: Timestamp,
}

impl Store {
    /// Adds a user; a taken name is [`StoreError::Duplicate`].
    pub async fn add_user(&self, u: &NewUser) -> StoreResult<User> {
        let sql = format!(
            "INSERT INTO users (name, role, participant, password_hash, cert_login, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {USER_COLUMNS}"
        );
        let res: Result<UserRow, sqlx::Error> = on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&u.name).bind(u.role.as_str()).bind(&u.participant).bind(&u.password_hash).bind(u.cert_login).bind(Timestamp::now())
            .fetch_one(pool).await);
        match res {
            Ok(r) => user(r),
            Err(e) if is_unique_violation(&e) => {
                Err(StoreError::Duplicate(format!("user {}", u.name)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// One user by name.
    pub async fn user_by_name(&self, name: &str) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE name = $1");
        let r: Option<UserRow> = on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(name).fetch_optional(pool).await?);
        r.map(user).transpose()
    }

    /// Every user, by name.
    pub async fn users(&self) -> StoreResult<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY name");
        let rows: Vec<UserRow> =
            on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?);
        rows.into_iter().map(user).collect()
    }

    /// Stores a session (by the SHA-256 of its token).
    pub async fn create_session(
        &self,
        token_sha256: &str,
        user_id: i64,
        csrf: &str,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        on_db!(self, pool => sqlx::query(
            "INSERT INTO console_sessions (token_sha256, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(token_sha256).bind(user_id).bind(csrf).bind(Timestamp::now()).bind(expires_at)
            .execute(pool).await.map(|_| ())?);
        Ok(())
    }

    /// The session of a token's SHA-256, if it exists and has not expired at `now`.
    pub async fn session(
        &self,
        token_sha256: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Session>> {
        let sql = "SELECT s.user_id, s.csrf, s.expires_at FROM console_sessions s WHERE s.token_sha256 = $1 AND s.expires_at > $2";
        let row: Option<(i64, String, Timestamp)> = on_db!(self, pool => sqlx::query_as(sql).bind(token_sha256).bind(now).fetch_optional(pool).await?);
        let Some((user_id, csrf, expires_at)) = row else {
            return Ok(None);
        };
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let u: Option<UserRow> = on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(user_id).fetch_optional(pool).await?);
        Ok(match u {
            Some(u) => Some(Session {
                user: user(u)?,
                csrf,
                expires_at,
            }),
            None => None,
        })
    }

    /// Ends a session, and removes expired ones.
    pub async fn end_session(&self, token_sha256: &str, now: Timestamp) -> StoreResult<()> {
        on_db!(self, pool => sqlx::query("DELETE FROM console_sessions WHERE token_sha256 = $1 OR expires_at <= $2")
            .bind(token_sha256).bind(now).execute(pool).await.map(|_| ())?);
        Ok(())
    }
}
