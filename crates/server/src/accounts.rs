//! Administrator accounts: Argon2id password hashes, short-lived sessions (hashed tokens, in the
//! state so every node of a deployment honours them), roles, failed-login back-off per account and address, and the audit log of every
//! administrative action.
use std::path::{Path, PathBuf};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use rand_core::Rng;
use sha2::{Digest, Sha256};

use crate::database::Database;
use crate::error::ApiError;
use crate::sql::{Param, Sql};
use crate::sql_params;
use crate::{ServerError, data_err};

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AuditRecord {
    /// Seconds since 1970 (UTC).
    pub time: u64,
    /// The account that acted (`(unknown)` for a login to an account that does not exist).
    pub account: String,
    /// The election it acted on (none: the platform itself, e.g. a login or a new account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub election: Option<String>,
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
const SESSION_SECONDS: i64 = 8 * 3600;
/// Failed logins from one address to one account before it must wait between attempts.
const FREE_FAILURES: i64 = 3;
/// The longest wait between attempts (the back-off doubles from 1 s up to this).
const MAX_BACKOFF_SECONDS: i64 = 900;
/// Throttle rows kept at most (the oldest are dropped first; a row older than a day is dropped).
const MAX_THROTTLE_ROWS: i64 = 10_000;

/// Which elections an account may see or manage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every election, and the platform itself: a platform administrator (or observer) creates
    /// elections and assigns accounts to them.
    Platform,
    /// These elections only.
    Elections(std::collections::BTreeSet<String>),
    /// No election: one certificate issuer's console (its key's multibase form, `z…`).
    Issuer(String),
}

/// The prefix of an issuer account's scope.
const ISSUER_SCOPE: &str = "issuer:";

impl Scope {
    /// `*` for the platform, else the election ids separated by commas.
    pub fn encode(&self) -> String {
        match self {
            Scope::Platform => "*".into(),
            Scope::Elections(ids) => ids.iter().cloned().collect::<Vec<_>>().join(","),
            Scope::Issuer(key) => format!("{ISSUER_SCOPE}{key}"),
        }
    }
    /// The inverse of [`Scope::encode`]; election ids must be well formed.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        if s == "*" {
            return Ok(Scope::Platform);
        }
        if let Some(key) = s.strip_prefix(ISSUER_SCOPE) {
            return hanpyo_certs::did::parse_multibase_key(key)
                .map(|_| Scope::Issuer(key.to_string()))
                .map_err(|_| ApiError::malformed("issuer:<the issuer's z… key>"));
        }
        let ids: std::collections::BTreeSet<String> = s
            .split(',')
            .filter(|id| !id.is_empty())
            .map(str::to_string)
            .collect();
        if let Some(bad) = ids
            .iter()
            .find(|id| !hanpyo_record::manifest::valid_election_id(id))
        {
            return Err(ApiError::malformed(format!(
                "{bad:?} is not an election id (1-64 of a-z, 0-9, -)"
            )));
        }
        Ok(Scope::Elections(ids))
    }
    /// As an account's `elections` are shown: `["*"]`, or the ids.
    pub fn listed(&self) -> Vec<String> {
        match self {
            Scope::Platform => vec!["*".into()],
            Scope::Elections(ids) => ids.iter().cloned().collect(),
            Scope::Issuer(_) => vec![self.encode()],
        }
    }
    /// Whether the account may act on `election`.
    pub fn covers(&self, election: &str) -> bool {
        match self {
            Scope::Platform => true,
            Scope::Elections(ids) => ids.contains(election),
            Scope::Issuer(_) => false,
        }
    }
}

/// A logged-in administrator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admin {
    /// Account name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Which elections.
    pub scope: Scope,
}

/// One account as a platform administrator sees it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct AccountOut {
    /// Account name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// `*` (the platform: every election) or the election ids it may act on.
    pub elections: Vec<String>,
}

/// Accounts and sessions.
pub struct Accounts {
    db: Sql,
    /// A password hash no password matches: an unknown account costs the same Argon2id work as a
    /// known one, so timing does not tell which names exist.
    decoy: String,
    /// `audit.log` beside the embedded `state.db` (appended and synced line by line); none on
    /// PostgreSQL, where the audit log is the `audit` table every node writes.
    audit_file: Option<PathBuf>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Accounts")
    }
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

/// The embedded schema (PostgreSQL's is `migrations/postgres/platform`), created in place; a file
/// from before a column existed gets it.
fn embedded_schema(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS admins (name TEXT PRIMARY KEY, role TEXT NOT NULL, phc TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS login_throttle (account TEXT NOT NULL, address TEXT NOT NULL, failures INTEGER NOT NULL, next_allowed INTEGER NOT NULL, updated INTEGER NOT NULL, PRIMARY KEY (account, address));
         CREATE TABLE IF NOT EXISTS admin_sessions (token_hash BLOB PRIMARY KEY, name TEXT NOT NULL, started INTEGER NOT NULL) WITHOUT ROWID;",
    )?;
    // Accounts made before elections were many act on every election: the platform's.
    if conn
        .prepare("SELECT elections FROM admins LIMIT 0")
        .is_err()
    {
        conn.execute_batch("ALTER TABLE admins ADD COLUMN elections TEXT NOT NULL DEFAULT '*'")?;
    }
    Ok(())
}

impl Accounts {
    /// Opens the deployment's accounts: in `data`'s `state.db` (the audit log `audit.log` beside
    /// it), or in the PostgreSQL database.
    pub fn open(data: &Path, database: &Database) -> Result<Self, ServerError> {
        let db = database.platform_state(data)?;
        let audit_file = match db.sqlite_connection() {
            Some(conn) => {
                embedded_schema(conn).map_err(|e| data_err(&data.join("state.db"), e))?;
                Some(data.join("audit.log"))
            }
            None => None,
        };
        let mut salt = [0u8; 16];
        hanpyo_crypto::os_rng().fill_bytes(&mut salt);
        let decoy = Argon2::default()
            .hash_password(&salt)
            .map(|h| h.to_string())
            .unwrap_or_default();
        Ok(Self {
            db,
            decoy,
            audit_file,
        })
    }

    /// Creates (or replaces the password, role and scope of) an account.
    pub fn create_user(
        &mut self,
        name: &str,
        role: Role,
        scope: &Scope,
        password: &str,
    ) -> Result<(), ApiError> {
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
        self.db.execute(
            "INSERT INTO admins (name, role, phc, elections) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET role = excluded.role, phc = excluded.phc,
                 elections = excluded.elections",
            sql_params![name, role.as_str(), &phc, &scope.encode()],
        )?;
        self.audit(
            None,
            name,
            "create-user",
            &format!("{} of {}", role.as_str(), scope.encode()),
        );
        Ok(())
    }

    /// Removes an account (one just made whose purpose then failed); unknown names are ignored.
    pub fn delete_user(&mut self, name: &str) {
        if let Err(e) = self
            .db
            .execute("DELETE FROM admins WHERE name = ?1", sql_params![name])
        {
            tracing::error!(error = %e, "removing an account");
        }
    }

    /// Sets which elections an account may act on; its live sessions follow at once (a session
    /// reads its account's scope at every request).
    pub fn set_scope(&mut self, name: &str, scope: &Scope) -> Result<(), ApiError> {
        let changed = self.db.execute(
            "UPDATE admins SET elections = ?2 WHERE name = ?1",
            sql_params![name, &scope.encode()],
        )?;
        if changed == 0 {
            return Err(ApiError::new(404, "no-account", "no such account"));
        }
        Ok(())
    }

    /// Every account (names, roles, scopes; never a password hash).
    pub fn list(&mut self) -> Result<Vec<AccountOut>, ApiError> {
        let rows = self.db.query(
            "SELECT name, role, elections FROM admins ORDER BY name",
            &[],
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (name, role, elections) = (row.text(0)?, row.text(1)?, row.text(2)?);
            out.push(AccountOut {
                name,
                role: Role::parse(&role).unwrap_or(Role::Observer),
                // A stored scope that does not parse grants nothing (login refuses it too).
                elections: Scope::parse(&elections)
                    .map(|s| s.listed())
                    .unwrap_or_default(),
            });
        }
        Ok(out)
    }

    /// Logs in from `address`; returns a session token.
    ///
    /// Failures are throttled per (account, address) and kept in the state: after
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
        let row = self
            .db
            .query_opt(
                "SELECT role, phc, elections FROM admins WHERE name = ?1",
                sql_params![name],
            )
            .and_then(|r| {
                r.map(|r| Ok((r.text(0)?, r.text(1)?, r.text(2)?)))
                    .transpose()
            })?;
        let account = if row.is_some() { name } else { "(unknown)" };
        let address = address.to_string();
        let next_allowed = self
            .db
            .query_opt(
                "SELECT next_allowed FROM login_throttle WHERE account = ?1 AND address = ?2",
                sql_params![account, &address],
            )
            .and_then(|r| r.map(|r| r.int(0)).transpose())?;
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
        let phc = row.as_ref().map_or(self.decoy.as_str(), |(_, phc, _)| phc);
        let matched = phc
            .parse::<argon2::password_hash::phc::PasswordHash>()
            .ok()
            .is_some_and(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            });
        let granted = row
            .as_ref()
            .filter(|_| matched)
            .and_then(|(role, _, scope)| Some((Role::parse(role)?, Scope::parse(scope).ok()?)));
        let Some((role, _)) = granted else {
            self.note_failure(account, &address, now)?;
            self.audit(None, account, "login", "refused");
            return Err(bad());
        };
        self.db.execute(
            "DELETE FROM login_throttle WHERE account = ?1 AND address = ?2",
            sql_params![account, &address],
        )?;
        let mut t = [0u8; 32];
        hanpyo_crypto::os_rng().fill_bytes(&mut t);
        let token = hex::encode(t);
        self.db.execute(
            "DELETE FROM admin_sessions WHERE started < ?1",
            sql_params![now - SESSION_SECONDS],
        )?;
        self.db.execute(
            "INSERT INTO admin_sessions (token_hash, name, started) VALUES (?1, ?2, ?3)",
            sql_params![&token_hash(&token), name, now],
        )?;
        self.audit(None, name, "login", "ok");
        Ok((token, role))
    }

    fn note_failure(&mut self, account: &str, address: &str, now: i64) -> Result<(), ApiError> {
        let failures = self
            .db
            .query_one(
                "INSERT INTO login_throttle (account, address, failures, next_allowed, updated)
                 VALUES (?1, ?2, 1, 0, ?3)
                 ON CONFLICT (account, address) DO UPDATE
                 SET failures = login_throttle.failures + 1, updated = ?3
                 RETURNING failures",
                sql_params![account, address, now],
            )
            .and_then(|r| r.int(0))?;
        if failures > FREE_FAILURES {
            let wait = 1i64
                .checked_shl((failures - FREE_FAILURES - 1).min(30) as u32)
                .unwrap_or(MAX_BACKOFF_SECONDS)
                .min(MAX_BACKOFF_SECONDS);
            self.db.execute(
                "UPDATE login_throttle SET next_allowed = ?3 WHERE account = ?1 AND address = ?2",
                sql_params![account, address, now + wait],
            )?;
        }
        // Bounded: rows older than a day go, and at most MAX_THROTTLE_ROWS stay.
        self.db.execute(
            "DELETE FROM login_throttle WHERE updated < ?1 OR (account, address) NOT IN
                 (SELECT account, address FROM login_throttle ORDER BY updated DESC LIMIT ?2)",
            sql_params![now - 86_400, MAX_THROTTLE_ROWS],
        )?;
        Ok(())
    }

    /// Ends a session (an unknown or missing token is already ended).
    pub fn logout(&mut self, token: Option<&str>) {
        let Some(t) = token else { return };
        let ended = self
            .db
            .query_opt(
                "DELETE FROM admin_sessions WHERE token_hash = ?1 RETURNING name",
                sql_params![&token_hash(t)],
            )
            .and_then(|r| r.map(|r| r.text(0)).transpose());
        match ended {
            Ok(Some(name)) => self.audit(None, &name, "logout", "ok"),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "ending an administrator session"),
        }
    }

    /// The administrator behind a session token, if it is live and has `role` (an administrator
    /// may do what an observer may). The role and scope are the account's now.
    pub fn authorize(&mut self, token: Option<&str>, needed: Role) -> Result<Admin, ApiError> {
        let token = token.ok_or_else(ApiError::unauthorized)?;
        let row = self
            .db
            .query_opt(
                "SELECT a.name, a.role, a.elections FROM admin_sessions s
                 JOIN admins a ON a.name = s.name WHERE s.token_hash = ?1 AND s.started >= ?2",
                sql_params![&token_hash(token), unix_now() - SESSION_SECONDS],
            )
            .and_then(|r| {
                r.map(|r| Ok((r.text(0)?, r.text(1)?, r.text(2)?)))
                    .transpose()
            })?;
        let admin = row
            .and_then(|(name, role, scope)| {
                Some(Admin {
                    name,
                    role: Role::parse(&role)?,
                    scope: Scope::parse(&scope).ok()?,
                })
            })
            .ok_or_else(ApiError::unauthorized)?;
        if needed == Role::Administrator && admin.role != Role::Administrator {
            return Err(ApiError::new(
                403,
                "forbidden",
                "this needs the administrator role",
            ));
        }
        Ok(admin)
    }

    /// [`Accounts::authorize`], and the account must cover `election`: another election's
    /// administrator is refused with `not-your-election`.
    pub fn authorize_for(
        &mut self,
        token: Option<&str>,
        needed: Role,
        election: &str,
    ) -> Result<Admin, ApiError> {
        let admin = self.authorize(token, needed)?;
        if !admin.scope.covers(election) {
            return Err(ApiError::new(
                403,
                "not-your-election",
                "this account does not administer this election",
            ));
        }
        Ok(admin)
    }

    /// [`Accounts::authorize`] for the platform itself (creating elections, assigning accounts):
    /// an account scoped to some elections is refused with `platform-only`.
    pub fn authorize_platform(
        &mut self,
        token: Option<&str>,
        needed: Role,
    ) -> Result<Admin, ApiError> {
        let admin = self.authorize(token, needed)?;
        if admin.scope != Scope::Platform {
            return Err(ApiError::new(
                403,
                "platform-only",
                "this needs a platform account (one not limited to some elections)",
            ));
        }
        Ok(admin)
    }

    /// Records an administrative action (time, account, election, action, outcome), durably:
    /// a line appended to `audit.log` and synced, or a row of the `audit` table.
    pub fn audit(&mut self, election: Option<&str>, who: &str, action: &str, outcome: &str) {
        let time = unix_now();
        let Some(path) = &self.audit_file else {
            if let Err(e) = self.db.execute(
                "INSERT INTO audit (time, account, election, action, outcome)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                &[
                    Param::Int(time),
                    Param::Text(who),
                    election.map_or(Param::NullText, Param::Text),
                    Param::Text(action),
                    Param::Text(outcome),
                ],
            ) {
                tracing::error!(error = %e, "audit log");
            }
            return;
        };
        use std::io::Write;
        let line = AuditRecord {
            time: time as u64,
            account: who.to_string(),
            election: election.map(str::to_string),
            action: action.to_string(),
            outcome: outcome.to_string(),
        };
        let line = serde_json::to_string(&line).unwrap_or_default();
        use std::os::unix::fs::OpenOptionsExt;
        let r = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .and_then(|mut f| {
                f.write_all(format!("{line}\n").as_bytes())?;
                f.sync_all()
            });
        if let Err(e) = r {
            tracing::error!(error = %e, "audit log");
        }
    }

    /// The audit log's records that `scope` may read, oldest first: a platform account reads
    /// every one; an account scoped to elections reads theirs.
    pub fn audit_log(&mut self, scope: &Scope) -> Vec<AuditRecord> {
        let all: Vec<AuditRecord> = match &self.audit_file {
            Some(path) => std::fs::read_to_string(path)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| serde_json::from_str::<AuditRecord>(l).ok())
                .collect(),
            None => self
                .db
                .query(
                    "SELECT time, account, election, action, outcome FROM audit ORDER BY id",
                    &[],
                )
                .and_then(|rows| {
                    rows.iter()
                        .map(|r| {
                            Ok(AuditRecord {
                                time: r.int(0)? as u64,
                                account: r.text(1)?,
                                election: r.opt_text(2)?,
                                action: r.text(3)?,
                                outcome: r.text(4)?,
                            })
                        })
                        .collect()
                })
                .unwrap_or_else(|e| {
                    tracing::error!(error = %e, "audit log");
                    Vec::new()
                }),
        };
        all.into_iter()
            .filter(|r| match (&r.election, scope) {
                (_, Scope::Platform) => true,
                (Some(e), s) => s.covers(e),
                (None, _) => false,
            })
            .collect()
    }
}
