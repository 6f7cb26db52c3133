//! Personal data, kept apart from the ledger in the election's state (`state.db`, or its
//! PostgreSQL schema: see [`crate::database`]) and never logged:
//!
//! - the roll: each voter sealed with ChaCha20-Poly1305 under the roll key, found by a keyed hash
//!   (HMAC-SHA-256) of resident id and birth date — matching needs no plaintext index;
//! - one-time login codes (hashed, expiring) with wrong codes counted per identity across
//!   re-requests (five lock it out for 15 minutes), and sessions (hashed tokens);
//! - the binding of a login to the credential it first voted with (sealed; a keyed hash of the
//!   credential makes "one credential, one login" checkable): one login cannot use several
//!   credentials, as in Belenios.
//!
//! `purge` erases all of it after the election. The roll key lives in the election's directory
//! (`roll.key`, owner-only) or, with `HANPYO_ROLL_KEY_DIR`, in `<that directory>/<election id>.key`.
//!
//! The same per-election `state.db` also keeps the trustees' access tokens (hashed) and whether
//! voting was opened.
use std::path::Path;

use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit};
use hmac::{Hmac, Mac};
use rand_core::Rng;
use sha2::Sha256;

use crate::error::ApiError;
use crate::roll::{LineError, Voter};
use crate::sql::{Sql, SqlError, SqlPool};
use crate::sql_params;

/// A contact as the login page shows where the code went, the way Korean government services do:
/// `010-****-5678` for a phone number, `k***@example.kr` for an e-mail address.
pub fn masked_contact(contact: &str) -> String {
    if let Some((local, domain)) = contact.split_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}***@{domain}");
    }
    let mut digits: Vec<char> = contact.chars().filter(char::is_ascii_digit).collect();
    // +82 10 … is read as 010 …
    if contact.trim_start().starts_with("+82") {
        digits.splice(..2, ['0']);
    }
    let n = digits.len();
    if n < 8 {
        return "*".repeat(n);
    }
    let head: String = digits[..3].iter().collect();
    let tail: String = digits[n - 4..].iter().collect();
    format!("{head}-****-{tail}")
}

pub const CODE_SECONDS: i64 = 600;
/// Live codes one identity may hold. Each is valid until it expires: asking for a new code never
/// cancels the one the voter already received (so nobody who knows a voter's resident id can
/// invalidate it), and at most this many are sent per code lifetime.
const MAX_LIVE_CODES: i64 = 5;
/// Wrong codes (across every code sent) before the identity is locked out.
const MAX_ATTEMPTS: i64 = 5;
/// How long an identity stays locked out after [`MAX_ATTEMPTS`] wrong codes: no code is sent and
/// none is accepted meanwhile. Asking for a new code never resets the count.
pub const LOCKOUT_SECONDS: i64 = 900;
/// Session lifetime.
pub const SESSION_SECONDS: i64 = 1800;

/// The identity store. Its methods take `&self`: concurrent requests use the pool's connections
/// side by side.
pub struct Identity {
    db: SqlPool,
    keys: std::sync::RwLock<Keys>,
}

/// The keys derived from the roll key: one seals, one makes the keyed hashes.
struct Keys {
    seal: ChaCha20Poly1305,
    mac_key: [u8; 32],
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Identity(<sealed>)")
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Identity {
    /// The store on `db` (connections to an election's `state.db`, or its PostgreSQL schema,
    /// already migrated), with the 32-byte roll key.
    pub fn open(db: SqlPool, roll_key: &[u8; 32]) -> Result<Self, SqlError> {
        db.with(|sql| match sql.sqlite_connection() {
            Some(conn) => embedded_schema(conn).map_err(SqlError::from),
            None => Ok(()),
        })?;
        let derive = |label: &[u8]| -> [u8; 32] {
            let mut m = new_mac(roll_key);
            m.update(label);
            m.finalize().into_bytes().into()
        };
        let seal_key = derive(b"hanpyo-roll-seal-v1");
        Ok(Self {
            db,
            keys: std::sync::RwLock::new(Keys {
                seal: ChaCha20Poly1305::new(&seal_key.into()),
                mac_key: derive(b"hanpyo-roll-lookup-v1"),
            }),
        })
    }

    fn keys(&self) -> std::sync::RwLockReadGuard<'_, Keys> {
        self.keys.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Voters on the roll.
    pub fn roll_size(&self) -> Result<u64, ApiError> {
        self.db.with(|db| {
            db.query_one("SELECT COUNT(*) FROM roll", &[])
                .and_then(|r| r.int(0))
                .map(|n| n as u64)
                .map_err(ApiError::from)
        })
    }

    /// Whether a roll was imported (then only a logged-in voter may cast): one row looked at, not
    /// counted.
    pub fn has_roll(&self) -> Result<bool, ApiError> {
        self.db
            .with(|db| Ok(db.query_opt("SELECT 1 FROM roll LIMIT 1", &[])?.is_some()))
    }

    /// Adds `voters` in one transaction; refuses (adding nothing) if any is already on the roll.
    pub fn import(&self, voters: &[Voter]) -> Result<usize, ApiError> {
        let k = self.keys();
        self.db.with(|db| {
        // A voter's public credential (from the credential authority's roll) becomes their login's
        // binding right away: no stolen session or intercepted ballot can claim it first.
        type Row<'a> = ([u8; 32], Vec<u8>, &'a str, Option<([u8; 32], Vec<u8>)>);
        let rows: Vec<Row<'_>> = voters
            .iter()
            .map(|v| {
                let person = Voter {
                    credential: None,
                    ..v.clone()
                };
                let json = serde_json::to_vec(&person).unwrap_or_default();
                let binding = v
                    .credential
                    .as_deref()
                    .and_then(|c| hex::decode(c).ok())
                    .map(|c| (k.mac(&[b"credential", &c]), k.seal_bytes(&c)));
                (
                    k.lookup(&v.resident_id, &v.birth_date),
                    k.seal_bytes(&json),
                    v.district.as_str(),
                    binding,
                )
            })
            .collect();
        db.transaction(|tx| {
            for (i, (lookup, sealed, district, binding)) in rows.iter().enumerate() {
                // The district stays in the clear beside the sealed record: it identifies nobody
                // and lets turnout per district be one aggregate query.
                let id = match tx.query_one(
                    "INSERT INTO roll (lookup, sealed, district) VALUES (?1, ?2, ?3) RETURNING id",
                    sql_params![lookup, sealed, *district],
                ) {
                    Ok(row) => row.int(0)?,
                    Err(SqlError::Conflict) => {
                        return Err(ApiError::new(
                            409,
                            "already-on-roll",
                            format!("voter on line {} is already on the roll", i + 2),
                        )
                        .lines(vec![LineError::new(
                            i + 2,
                            "already-on-roll",
                            "this voter is already on the roll (imported earlier)",
                        )]));
                    }
                    Err(e) => return Err(ApiError::from(e)),
                };
                let Some((credential_lookup, sealed_credential)) = binding else {
                    continue;
                };
                match tx.execute(
                    "INSERT INTO bindings (roll_id, credential_lookup, sealed, voted) VALUES (?1, ?2, ?3, 0)",
                    sql_params![id, credential_lookup, sealed_credential],
                ) {
                    Ok(_) => {}
                    Err(SqlError::Conflict) => {
                        let error = "this credential is already bound to a voter".to_string();
                        return Err(ApiError::new(
                            409,
                            "already-on-roll",
                            format!(
                                "the credential on line {} is already bound to a voter",
                                i + 2
                            ),
                        )
                        .lines(vec![LineError::new(
                            i + 2,
                            "credential-bound",
                            error,
                        )]));
                    }
                    Err(e) => return Err(ApiError::from(e)),
                }
            }
            Ok(rows.len())
        })
        })
    }

    /// Starts a login: if the person is on the roll, a fresh code is stored and returned with
    /// their contact, for delivery (outside any lock). The caller's answer never says whether they
    /// are on the roll (no enumeration).
    pub fn start_login(
        &self,
        resident_id: &str,
        birth_date: &str,
    ) -> Result<Option<(String, String)>, ApiError> {
        let k = self.keys();
        self.db.with(|db| {
            let lookup = k.lookup(resident_id, birth_date);
            let Some(row) = db.query_opt(
                "SELECT id, sealed FROM roll WHERE lookup = ?1",
                sql_params![&lookup],
            )?
            else {
                return Ok(None);
            };
            let (id, sealed) = (row.int(0)?, row.bytes(1)?);
            // A locked-out identity gets no new code (and the answer stays the same: 202).
            if Self::locked_until(db, id)?.is_some() {
                return Ok(None);
            }
            let voter: Voter = k
                .open_bytes(&sealed)
                .and_then(|p| serde_json::from_slice(&p).ok())
                .ok_or_else(ApiError::internal)?;
            db.execute(
                "DELETE FROM login_codes WHERE roll_id = ?1 AND expires < ?2",
                sql_params![id, now()],
            )?;
            let live = db
                .query_one(
                    "SELECT COUNT(*) FROM login_codes WHERE roll_id = ?1",
                    sql_params![id],
                )?
                .int(0)?;
            if live >= MAX_LIVE_CODES {
                // The voter already holds codes that still work; send no more for now.
                return Ok(None);
            }
            let code = format!("{:06}", hanpyo_crypto::os_rng().next_u32() % 1_000_000);
            let code_hash = k.mac(&[b"code", &id.to_be_bytes(), code.as_bytes()]);
            db.execute(
                "INSERT INTO login_codes (roll_id, code_hash, expires) VALUES (?1, ?2, ?3)",
                sql_params![id, &code_hash, now() + CODE_SECONDS],
            )?;
            Ok(Some((voter.contact, code)))
        })
    }

    /// Completes a login with the code; returns a session token.
    pub fn finish_login(
        &self,
        resident_id: &str,
        birth_date: &str,
        code: &str,
    ) -> Result<String, ApiError> {
        let k = self.keys();
        self.db.with(|db| {
            let bad = || {
                ApiError::new(
                    401,
                    "bad-code",
                    "wrong or expired code (or not on the roll)",
                )
            };
            let lookup = k.lookup(resident_id, birth_date);
            let Some(row) = db.query_opt(
                "SELECT id FROM roll WHERE lookup = ?1",
                sql_params![&lookup],
            )?
            else {
                return Err(bad());
            };
            let id = row.int(0)?;
            if let Some(until) = Self::locked_until(db, id)? {
                let wait = (until - now()).max(1);
                return Err(ApiError::new(
                    429,
                    "locked",
                    format!(
                        "too many wrong codes: try again in {} minute(s)",
                        (wait + 59) / 60
                    ),
                )
                .retry_after(wait as u64));
            }
            let given = k.mac(&[b"code", &id.to_be_bytes(), code.trim().as_bytes()]);
            let live = db.query(
                "SELECT code_hash FROM login_codes WHERE roll_id = ?1 AND expires >= ?2",
                sql_params![id, now()],
            )?;
            // Compared in constant time, each one.
            let mut matched = false;
            for row in &live {
                let hash = row.bytes(0)?;
                let equal = hash.len() == 32
                    && given.iter().zip(&hash).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0;
                matched |= equal;
            }
            if !matched {
                Self::note_failure(db, id)?;
                return Err(bad());
            }
            db.transaction(|tx| {
                tx.execute(
                    "DELETE FROM login_codes WHERE roll_id = ?1",
                    sql_params![id],
                )?;
                tx.execute(
                    "DELETE FROM login_failures WHERE roll_id = ?1",
                    sql_params![id],
                )
            })?;
            let mut token = [0u8; 32];
            hanpyo_crypto::os_rng().fill_bytes(&mut token);
            let token = hex::encode(token);
            let th = k.mac(&[b"session", token.as_bytes()]);
            db.execute(
                "INSERT INTO sessions (token_hash, roll_id, expires) VALUES (?1, ?2, ?3)",
                sql_params![&th, id, now() + SESSION_SECONDS],
            )?;
            Ok(token)
        })
    }

    /// When the identity's lockout ends, if it is locked out now.
    fn locked_until(db: &mut Sql, id: i64) -> Result<Option<i64>, ApiError> {
        let until = db
            .query_opt(
                "SELECT locked_until FROM login_failures WHERE roll_id = ?1",
                sql_params![id],
            )?
            .map(|r| r.int(0))
            .transpose()?;
        Ok(until.filter(|&u| u > now()))
    }

    /// Counts a wrong code against the identity (not the code: a new code keeps the count); the
    /// [`MAX_ATTEMPTS`]th locks it out for [`LOCKOUT_SECONDS`] and starts a fresh count after.
    fn note_failure(db: &mut Sql, id: i64) -> Result<(), ApiError> {
        db.execute(
            "INSERT INTO login_failures (roll_id, failures, locked_until) VALUES (?1, 1, 0)
             ON CONFLICT (roll_id) DO UPDATE SET failures = login_failures.failures + 1",
            sql_params![id],
        )?;
        db.execute(
            "UPDATE login_failures SET failures = 0, locked_until = ?2
             WHERE roll_id = ?1 AND failures >= ?3",
            sql_params![id, now() + LOCKOUT_SECONDS, MAX_ATTEMPTS],
        )?;
        Ok(())
    }

    /// Ends a voter's session: its token stops working at once (an unknown token is no error).
    pub fn end_session(&self, token: &str) -> Result<(), ApiError> {
        let k = self.keys();
        self.db.with(|db| {
            let th = k.mac(&[b"session", token.as_bytes()]);
            db.execute(
                "DELETE FROM sessions WHERE token_hash = ?1",
                sql_params![&th],
            )?;
            Ok(())
        })
    }

    /// The roll entry of a live session.
    pub fn session(&self, token: &str) -> Result<i64, ApiError> {
        let k = self.keys();
        self.db.with(|db| {
            let th = k.mac(&[b"session", token.as_bytes()]);
            let row = db.query_opt(
                "SELECT roll_id, expires FROM sessions WHERE token_hash = ?1",
                sql_params![&th],
            )?;
            match row {
                Some(r) if r.int(1)? >= now() => Ok(r.int(0)?),
                _ => Err(ApiError::new(
                    401,
                    "no-session",
                    "log in first (or again: the session expired)",
                )),
            }
        })
    }

    /// Binds the login to `credential` on its first ballot; later ballots must use the same one,
    /// and no other login may use it.
    pub fn bind(&self, roll_id: i64, credential: &[u8; 32]) -> Result<(), ApiError> {
        let k = self.keys();
        self.db.with(|db| {
        let cl = k.mac(&[b"credential", credential]);
        let existing = db
            .query_opt(
                "SELECT credential_lookup, voted FROM bindings WHERE roll_id = ?1",
                sql_params![roll_id],
            )?
            .map(|r| Ok::<_, SqlError>((r.bytes(0)?, r.int(1)? != 0)))
            .transpose()?;
        let mismatch = || {
            ApiError::new(
                403,
                "credential-mismatch",
                "this login already voted with another credential (or this credential belongs to another login)",
            )
        };
        match existing {
            Some((e, true)) if e == cl => Ok(()),
            Some((e, false)) if e == cl => {
                // A pre-bound login's first ballot: it now counts toward turnout.
                db.execute(
                    "UPDATE bindings SET voted = 1 WHERE roll_id = ?1",
                    sql_params![roll_id],
                )?;
                Ok(())
            }
            Some(_) => Err(mismatch()),
            None => {
                let sealed = k.seal_bytes(credential);
                match db.execute(
                    "INSERT INTO bindings (roll_id, credential_lookup, sealed) VALUES (?1, ?2, ?3)",
                    sql_params![roll_id, &cl, &sealed],
                ) {
                    Ok(_) => Ok(()),
                    Err(SqlError::Conflict) => Err(mismatch()),
                    Err(e) => Err(e.into()),
                }
            }
        }
        })
    }

    /// Per district: `(district, voters on the roll, voters who have cast a ballot)`, sorted by
    /// district (one aggregate query; rows without a district count under "").
    pub fn district_turnout(&self) -> Result<Vec<(String, u64, u64)>, ApiError> {
        self.db.with(|db| {
            let rows = db.query(
            "SELECT COALESCE(r.district, ''), COUNT(*), CAST(COALESCE(SUM(b.voted), 0) AS BIGINT)
             FROM roll r LEFT JOIN bindings b ON b.roll_id = r.id GROUP BY 1 ORDER BY 1",
            &[],
        )?;
            rows.iter()
                .map(|r| Ok((r.text(0)?, r.int(1)? as u64, r.int(2)? as u64)))
                .collect::<Result<_, SqlError>>()
                .map_err(ApiError::from)
        })
    }

    /// A new access token for trustee `index` (replacing any earlier one).
    pub fn invite_trustee(&self, index: u32) -> Result<String, ApiError> {
        self.db.with(|db| {
            let mut t = [0u8; 32];
            hanpyo_crypto::os_rng().fill_bytes(&mut t);
            let token = hex::encode(t);
            db.execute(
                "INSERT INTO trustee_tokens (trustee, token_hash) VALUES (?1, ?2)
             ON CONFLICT (trustee) DO UPDATE SET token_hash = excluded.token_hash",
                sql_params![index, &trustee_token_hash(&token)],
            )?;
            Ok(token)
        })
    }

    /// The trustee a token belongs to.
    pub fn trustee(&self, token: Option<&str>) -> Result<u32, ApiError> {
        self.db.with(|db| {
            let unauthorized =
                || ApiError::new(401, "unauthorized", "a trustee access token is required");
            let token = token.ok_or_else(unauthorized)?;
            let row = db
                .query_opt(
                    "SELECT trustee FROM trustee_tokens WHERE token_hash = ?1",
                    sql_params![&trustee_token_hash(token)],
                )?
                .ok_or_else(unauthorized)?;
            u32::try_from(row.int(0)?).map_err(|_| ApiError::internal())
        })
    }

    /// Whether voting was opened (opening writes no ledger entry; it is recorded here and in the
    /// audit log).
    pub fn opened(&self) -> Result<bool, ApiError> {
        self.db.with(|db| {
            Ok(db
                .query_opt("SELECT 1 FROM meta WHERE key = 'opened'", &[])?
                .is_some())
        })
    }

    /// Records that voting is open.
    pub fn set_opened(&self) -> Result<(), ApiError> {
        self.db.with(|db| {
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('opened', '1')
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[],
            )?;
            Ok(())
        })
    }

    /// Erases the roll, codes, sessions and bindings for good: the rows deleted (in SQLite with
    /// `secure_delete`, pages overwritten, the file compacted and the write-ahead log checkpointed
    /// and truncated, so no old page survives there; PostgreSQL keeps dead rows until its vacuum
    /// reclaims them), and the roll key destroyed — its file overwritten, synced and replaced by a
    /// fresh key, and the old key gone from memory — so what remains of the rows anywhere (a dead
    /// row, a copy of `state.db` or a database backup taken earlier) can no longer be opened.
    pub fn purge(&self, key_file: &Path) -> Result<(), ApiError> {
        use zeroize::Zeroize;
        // No login, session or binding runs meanwhile: they all read the keys.
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        self.db.with(|db| {
            db.transaction(|tx| {
                tx.batch(
                    "DELETE FROM roll; DELETE FROM login_codes; DELETE FROM sessions;
                     DELETE FROM bindings; DELETE FROM login_failures;",
                )
            })?;
            if let Some(conn) = db.sqlite_connection() {
                conn.execute_batch("VACUUM")
                    .and_then(|()| {
                        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                    })
                    .map_err(SqlError::from)?;
            }
            Ok::<_, ApiError>(())
        })?;
        let destroy = || -> std::io::Result<()> {
            use std::io::Write;
            let len = std::fs::metadata(key_file).map(|m| m.len()).unwrap_or(0);
            let mut f = std::fs::OpenOptions::new().write(true).open(key_file)?;
            f.write_all(&vec![0u8; len as usize])?;
            f.sync_all()?;
            let mut fresh = [0u8; 32];
            hanpyo_crypto::os_rng().fill_bytes(&mut fresh);
            crate::write_secret(key_file, hex::encode(fresh).as_bytes())?;
            fresh.zeroize();
            Ok(())
        };
        destroy().map_err(|e| {
            tracing::error!(error = %e, "destroying the roll key");
            ApiError::internal()
        })?;
        // Whatever is sealed from now on uses keys nobody has seen; the old ones are wiped.
        keys.mac_key.zeroize();
        hanpyo_crypto::os_rng().fill_bytes(&mut keys.mac_key);
        let mut seal = [0u8; 32];
        hanpyo_crypto::os_rng().fill_bytes(&mut seal);
        keys.seal = ChaCha20Poly1305::new(&seal.into());
        seal.zeroize();
        Ok(())
    }
}

impl Keys {
    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut m = new_mac(&self.mac_key);
        for p in parts {
            m.update(&(p.len() as u32).to_be_bytes());
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }

    fn lookup(&self, resident_id: &str, birth_date: &str) -> [u8; 32] {
        self.mac(&[
            b"voter",
            canonical_resident_id(resident_id).as_bytes(),
            canonical_birth_date(birth_date).as_bytes(),
        ])
    }

    fn seal_bytes(&self, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        hanpyo_crypto::os_rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        // Encryption with a fresh random nonce cannot fail for these sizes.
        out.extend(self.seal.encrypt(&nonce.into(), plain).unwrap_or_default());
        out
    }

    fn open_bytes(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        let (nonce, ct) = sealed.split_at_checked(12)?;
        let nonce: [u8; 12] = nonce.try_into().ok()?;
        self.seal.decrypt(&nonce.into(), ct).ok()
    }
}

/// The embedded schema (PostgreSQL's is `migrations/postgres/election`), created in place; a file
/// from before a column existed gets it.
fn embedded_schema(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS roll (id INTEGER PRIMARY KEY, lookup BLOB NOT NULL UNIQUE, sealed BLOB NOT NULL, district TEXT);
         CREATE TABLE IF NOT EXISTS codes (roll_id INTEGER PRIMARY KEY, code_hash BLOB NOT NULL, expires INTEGER NOT NULL, attempts INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS sessions (token_hash BLOB PRIMARY KEY, roll_id INTEGER NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS bindings (roll_id INTEGER PRIMARY KEY, credential_lookup BLOB NOT NULL UNIQUE, sealed BLOB NOT NULL);
         CREATE TABLE IF NOT EXISTS login_failures (roll_id INTEGER PRIMARY KEY, failures INTEGER NOT NULL, locked_until INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS login_codes (roll_id INTEGER NOT NULL, code_hash BLOB NOT NULL, expires INTEGER NOT NULL);
         CREATE INDEX IF NOT EXISTS login_codes_by_voter ON login_codes (roll_id);
         CREATE TABLE IF NOT EXISTS trustee_tokens (trustee INTEGER PRIMARY KEY, token_hash BLOB NOT NULL UNIQUE);
         CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         DROP TABLE IF EXISTS codes;",
    )?;
    // Rolls imported before the district column: their turnout shows under no district.
    if conn.prepare("SELECT district FROM roll LIMIT 0").is_err() {
        conn.execute_batch("ALTER TABLE roll ADD COLUMN district TEXT")?;
    }
    // A binding made from the credential authority's roll exists before its voter votes:
    // `voted` tells turnout which logins have cast (bindings made on first use always have).
    if conn.prepare("SELECT voted FROM bindings LIMIT 0").is_err() {
        conn.execute_batch("ALTER TABLE bindings ADD COLUMN voted INTEGER NOT NULL DEFAULT 1")?;
    }
    Ok(())
}

/// A resident registration number as people type it — `900131-1234567`, `9001311234567`, with
/// spaces — in the roll's form `YYMMDD-NNNNNNN` (anything else is left as typed, and matches nobody).
pub fn canonical_resident_id(typed: &str) -> String {
    let digits: String = typed.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.len() == 13 && digits.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}", &digits[..6], &digits[6..])
    } else {
        typed.trim().to_string()
    }
}

/// A birth date as people type it — `1990-01-31`, `19900131`, `1990.01.31`, `1990/01/31`, `1990. 1.
/// 31.` — in the roll's form `YYYY-MM-DD` (anything else is left as typed, and matches nobody).
pub fn canonical_birth_date(typed: &str) -> String {
    let digits: String = typed.chars().filter(char::is_ascii_digit).collect();
    let parts: Vec<&str> = typed
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .collect();
    match parts[..] {
        [y, m, d] if y.len() == 4 && m.len() <= 2 && d.len() <= 2 => {
            format!("{y}-{m:0>2}-{d:0>2}")
        }
        [_] if digits.len() == 8 => format!("{}-{}-{}", &digits[..4], &digits[4..6], &digits[6..]),
        _ => typed.trim().to_string(),
    }
}

/// Trustee tokens are kept as their SHA-256 (a token is 32 random bytes: no key is needed).
fn trustee_token_hash(token: &str) -> [u8; 32] {
    use sha2::Digest;
    Sha256::digest(token.as_bytes()).into()
}

fn new_mac(key: &[u8; 32]) -> Hmac<Sha256> {
    #[allow(clippy::expect_used)]
    <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

#[cfg(test)]
mod typed_identity_tests {
    use super::{canonical_birth_date, canonical_resident_id, masked_contact};

    #[test]
    fn contacts_are_masked_like_a_government_service_does() {
        assert_eq!(masked_contact("010-1234-5678"), "010-****-5678");
        assert_eq!(masked_contact("01012345678"), "010-****-5678");
        assert_eq!(masked_contact("+82 10 1234 5678"), "010-****-5678");
        assert_eq!(masked_contact("kim@example.kr"), "k***@example.kr");
        assert_eq!(masked_contact("123"), "***");
    }

    #[test]
    fn korean_ways_of_typing_an_identity_match_the_roll() {
        for typed in [
            "900131-1234567",
            "9001311234567",
            " 900131 1234567 ",
            "900131 - 1234567",
        ] {
            assert_eq!(canonical_resident_id(typed), "900131-1234567", "{typed:?}");
        }
        for typed in [
            "1990-01-31",
            "19900131",
            "1990.01.31",
            "1990/01/31",
            "1990. 1. 31.",
            " 1990-1-31 ",
        ] {
            assert_eq!(canonical_birth_date(typed), "1990-01-31", "{typed:?}");
        }
        // Not an identity: kept as typed (and matching no roll entry).
        assert_eq!(canonical_resident_id("90013-11234567x"), "90013-11234567x");
        assert_eq!(canonical_birth_date("31/01/1990"), "31/01/1990");
        assert_eq!(canonical_birth_date("1990013"), "1990013");
    }
}
