//! Administrator accounts: Argon2id password hashes in `state.db`, short-lived sessions (hashed
//! tokens), roles, failed-login back-off per account and address, and the audit log of every
//! administrative action.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use rand_core::Rng;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AuditRecord {
    /// Seconds since 1970 (UTC).
    pub time: u64,
    /// The account that acted (`(unknown)` for a login to an account that does not exist).
    pub account: String,
    /// What it did.
    pub action: String,
    /// `ok`, `refused`, or what came of it.
    pub outcome: String,
}

/// What an account may do.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
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
/// Failed logins from one address to one account before it must wait between attempts.
const FREE_FAILURES: i64 = 3;
/// The longest wait between attempts (the back-off doubles from 1 s up to this).
const MAX_BACKOFF_SECONDS: i64 = 900;
/// Throttle rows kept at most (the oldest are dropped first; a row older than a day is dropped).
const MAX_THROTTLE_ROWS: i64 = 10_000;

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
    /// A password hash no password matches: an unknown account costs the same Argon2id work as a
    /// known one, so timing does not tell which names exist.
    decoy: String,
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

/// Account names: 1–64 of `A–Z a–z 0–9 - _ .`.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
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
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS login_throttle (account TEXT NOT NULL, address TEXT NOT NULL, failures INTEGER NOT NULL, next_allowed INTEGER NOT NULL, updated INTEGER NOT NULL, PRIMARY KEY (account, address));",
        )?;
        let mut salt = [0u8; 16];
        hanpyo_crypto::os_rng().fill_bytes(&mut salt);
        let decoy = Argon2::default()
            .hash_password(&salt)
            .map(|h| h.to_string())
            .unwrap_or_default();
        Ok(Self {
            conn,
            sessions: HashMap::new(),
            decoy,
            audit: data.join("audit.log"),
        })
    }

    /// Creates (or replaces the password and role of) an account.
    pub fn create_user(&mut self, name: &str, role: Role, password: &str) -> Result<(), ApiError> {
        if !valid_name(name) {
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

    /// Logs in from `address`; returns a session token.
    ///
    /// Failures are throttled per (account, address) and kept in `state.db`: after
    /// [`FREE_FAILURES`] the next attempt from that address waits 1 s, then 2 s, 4 s … up to
    /// [`MAX_BACKOFF_SECONDS`]. An outsider's guesses therefore slow only the outsider: the real
    /// administrator, from another address, is never locked out. Names that are not well-formed
    /// are refused before anything is stored; an unknown account costs the same Argon2id work as a
    /// known one and is throttled and audited as `(unknown)`, so neither timing nor the audit log
    /// tells which names exist, and nothing an outsider sends grows without bound.
    pub fn login(
        &mut self,
        name: &str,
        password: &str,
        address: std::net::IpAddr,
    ) -> Result<(String, Role), ApiError> {
        let bad = || ApiError::new(401, "bad-login", "wrong account name or password");
        if !valid_name(name) || password.len() > 1024 {
            return Err(bad());
        }
        let now = unix_now();
        let row: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT role, phc FROM admins WHERE name = ?1",
                params![name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db_err)?;
        let account = if row.is_some() { name } else { "(unknown)" };
        let address = address.to_string();
        let next_allowed: Option<i64> = self
            .conn
            .query_row(
                "SELECT next_allowed FROM login_throttle WHERE account = ?1 AND address = ?2",
                params![account, address],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)?;
        if let Some(at) = next_allowed.filter(|&at| at > now) {
            return Err(ApiError::new(
                429,
                "locked",
                format!(
                    "too many failed logins from this address: try again in {} s",
                    at - now
                ),
            )
            .retry_after((at - now).max(1) as u64));
        }
        let phc = row.as_ref().map_or(self.decoy.as_str(), |(_, phc)| phc);
        let matched = phc
            .parse::<argon2::password_hash::phc::PasswordHash>()
            .ok()
            .is_some_and(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            });
        let role = row
            .as_ref()
            .filter(|_| matched)
            .and_then(|(role, _)| Role::parse(role));
        let Some(role) = role else {
            self.note_failure(account, &address, now)?;
            self.audit(account, "login", "refused");
            return Err(bad());
        };
        self.conn
            .execute(
                "DELETE FROM login_throttle WHERE account = ?1 AND address = ?2",
                params![account, address],
            )
            .map_err(db_err)?;
        let mut t = [0u8; 32];
        hanpyo_crypto::os_rng().fill_bytes(&mut t);
        let token = hex::encode(t);
        self.sessions
            .retain(|_, (_, since)| since.elapsed() <= SESSION);
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

    fn note_failure(&mut self, account: &str, address: &str, now: i64) -> Result<(), ApiError> {
        let failures: i64 = self
            .conn
            .query_row(
                "INSERT INTO login_throttle (account, address, failures, next_allowed, updated)
                 VALUES (?1, ?2, 1, 0, ?3)
                 ON CONFLICT (account, address) DO UPDATE SET failures = failures + 1, updated = ?3
                 RETURNING failures",
                params![account, address, now],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        if failures > FREE_FAILURES {
            let wait = 1i64
                .checked_shl((failures - FREE_FAILURES - 1).min(30) as u32)
                .unwrap_or(MAX_BACKOFF_SECONDS)
                .min(MAX_BACKOFF_SECONDS);
            self.conn
                .execute(
                    "UPDATE login_throttle SET next_allowed = ?3 WHERE account = ?1 AND address = ?2",
                    params![account, address, now + wait],
                )
                .map_err(db_err)?;
        }
        // Bounded: rows older than a day go, and at most MAX_THROTTLE_ROWS stay.
        self.conn
            .execute(
                "DELETE FROM login_throttle WHERE updated < ?1 OR rowid NOT IN
                 (SELECT rowid FROM login_throttle ORDER BY updated DESC LIMIT ?2)",
                params![now - 86_400, MAX_THROTTLE_ROWS],
            )
            .map_err(db_err)?;
        Ok(())
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
        let line = AuditRecord {
            time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            account: who.to_string(),
            action: action.to_string(),
            outcome: outcome.to_string(),
        };
        let line = serde_json::to_string(&line).unwrap_or_default();
        use std::os::unix::fs::OpenOptionsExt;
        let r = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
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
    pub fn audit_log(&self) -> Vec<AuditRecord> {
        std::fs::read_to_string(&self.audit)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}
