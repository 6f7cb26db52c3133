//! Administrator accounts: Argon2id password hashes in `state.db`, short-lived sessions (hashed
//! tokens), roles, failed-login lockout, and the audit log of every administrative action.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use rand_core::Rng;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// What an account may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything: roll, close, tally, purge.
    Administrator,
    /// Read-only: status, turnout, audit log.
    Observer,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Observer => "observer",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "administrator" => Some(Role::Administrator),
            "observer" => Some(Role::Observer),
            _ => None,
        }
    }
}

/// Administrator session lifetime.
const SESSION: Duration = Duration::from_secs(8 * 3600);
/// Failed logins before an account is locked for [`LOCKOUT`].
const MAX_FAILURES: u32 = 5;
/// Lockout after too many failures.
const LOCKOUT: Duration = Duration::from_secs(300);

/// A logged-in administrator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admin {
    /// Account name.
    pub name: String,
    /// Role.
    pub role: Role,
}

/// Accounts and sessions.
pub struct Accounts {
    conn: Connection,
    sessions: HashMap<[u8; 32], (Admin, Instant)>,
    failures: HashMap<String, (u32, Instant)>,
    audit: PathBuf,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Accounts")
    }
}

fn db_err(e: rusqlite::Error) -> ApiError {
    tracing::error!(error = %e, "accounts store");
    ApiError::internal()
}

fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Accounts {
    /// Opens the accounts in `state.db`; the audit log is `audit.log` beside it.
    pub fn open(data: &Path) -> Result<Self, rusqlite::Error> {
        let conn = Connection::open(data.join("state.db"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS admins (name TEXT PRIMARY KEY, role TEXT NOT NULL, phc TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS trustee_tokens (trustee INTEGER PRIMARY KEY, token_hash BLOB NOT NULL UNIQUE);
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
        )?;
        Ok(Self {
            conn,
            sessions: HashMap::new(),
            failures: HashMap::new(),
            audit: data.join("audit.log"),
        })
    }

    /// Creates (or replaces the password and role of) an account.
    pub fn create_user(&mut self, name: &str, role: Role, password: &str) -> Result<(), ApiError> {
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(ApiError::malformed(
                "account names are 1-64 of a-z, A-Z, 0-9, - _ .",
            ));
        }
        if password.chars().count() < 12 {
            return Err(ApiError::malformed("passwords have at least 12 characters"));
        }
        let phc = Argon2::default()
            .hash_password(password.as_bytes())
            .map_err(|_| ApiError::internal())?
            .to_string();
        self.conn
            .execute(
                "INSERT OR REPLACE INTO admins (name, role, phc) VALUES (?1, ?2, ?3)",
                params![name, role.as_str(), phc],
            )
            .map_err(db_err)?;
        self.audit(name, "create-user", role.as_str());
        Ok(())
    }

    /// Logs in; returns a session token.
    pub fn login(&mut self, name: &str, password: &str) -> Result<(String, Role), ApiError> {
        let bad = || ApiError::new(401, "bad-login", "wrong account name or password");
        if let Some((n, at)) = self.failures.get(name)
            && *n >= MAX_FAILURES
            && at.elapsed() < LOCKOUT
        {
            return Err(ApiError::new(
                429,
                "locked",
                "too many failed logins; try again in a few minutes",
            ));
        }
        let row: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT role, phc FROM admins WHERE name = ?1",
                params![name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db_err)?;
        let verified = row.as_ref().and_then(|(role, phc)| {
            let parsed: argon2::password_hash::phc::PasswordHash = phc.parse().ok()?;
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .ok()
                .and(Role::parse(role))
        });
        let Some(role) = verified else {
            let e = self
                .failures
                .entry(name.to_string())
                .or_insert((0, Instant::now()));
            e.0 += 1;
            e.1 = Instant::now();
            self.audit(name, "login", "refused");
            return Err(bad());
        };
        self.failures.remove(name);
        let mut t = [0u8; 32];
        hanpyo_crypto::os_rng().fill_bytes(&mut t);
        let token = hex::encode(t);
        self.sessions.insert(
            token_hash(&token),
            (
                Admin {
                    name: name.to_string(),
                    role,
                },
                Instant::now(),
            ),
        );
        self.audit(name, "login", "ok");
        Ok((token, role))
    }

    /// Ends a session (an unknown or missing token is already ended).
    pub fn logout(&mut self, token: Option<&str>) {
        if let Some(t) = token
            && let Some((admin, _)) = self.sessions.remove(&token_hash(t))
        {
            self.audit(&admin.name, "logout", "ok");
        }
    }

    /// The administrator behind a session token, if it is live and has `role` (an administrator
    /// may do what an observer may).
    pub fn authorize(&self, token: Option<&str>, needed: Role) -> Result<Admin, ApiError> {
        let (admin, since) = token
            .and_then(|t| self.sessions.get(&token_hash(t)))
            .ok_or_else(ApiError::unauthorized)?;
        if since.elapsed() > SESSION {
            return Err(ApiError::unauthorized());
        }
        if needed == Role::Administrator && admin.role != Role::Administrator {
            return Err(ApiError::new(
                403,
                "forbidden",
                "this needs the administrator role",
            ));
        }
        Ok(admin.clone())
    }

    /// A new access token for trustee `index` (replacing any earlier one).
    pub fn invite_trustee(&mut self, index: u32) -> Result<String, ApiError> {
        let mut t = [0u8; 32];
        hanpyo_crypto::os_rng().fill_bytes(&mut t);
        let token = hex::encode(t);
        self.conn
            .execute(
                "INSERT OR REPLACE INTO trustee_tokens (trustee, token_hash) VALUES (?1, ?2)",
                params![index, &token_hash(&token)[..]],
            )
            .map_err(db_err)?;
        Ok(token)
    }

    /// The trustee a token belongs to.
    pub fn trustee(&self, token: Option<&str>) -> Result<u32, ApiError> {
        let unauthorized =
            || ApiError::new(401, "unauthorized", "a trustee access token is required");
        let token = token.ok_or_else(unauthorized)?;
        self.conn
            .query_row(
                "SELECT trustee FROM trustee_tokens WHERE token_hash = ?1",
                params![&token_hash(token)[..]],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)?
            .ok_or_else(unauthorized)
    }

    /// Whether voting was opened (opening writes no ledger entry; it is recorded here and in the
    /// audit log).
    pub fn opened(&self) -> Result<bool, ApiError> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM meta WHERE key = 'opened'", [], |_| Ok(()))
            .optional()
            .map_err(db_err)?
            .is_some())
    }

    /// Records that voting is open.
    pub fn set_opened(&mut self) -> Result<(), ApiError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('opened', '1')",
                [],
            )
            .map_err(db_err)?;
        Ok(())
    }

    /// Appends a line to the audit log (time, account, action, outcome) and syncs it.
    pub fn audit(&self, who: &str, action: &str, outcome: &str) {
        use std::io::Write;
        let line = serde_json::json!({
            "time": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            "account": who,
            "action": action,
            "outcome": outcome,
        });
        let r = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.audit)
            .and_then(|mut f| {
                f.write_all(format!("{line}\n").as_bytes())?;
                f.sync_all()
            });
        if let Err(e) = r {
            tracing::error!(error = %e, "audit log");
        }
    }

    /// The audit log's lines.
    pub fn audit_log(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.audit)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}
