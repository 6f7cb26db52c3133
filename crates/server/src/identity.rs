//! Personal data, kept apart from the ledger in `state.db` and never logged:
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
use rusqlite::{Connection, OptionalExtension, params};
use sha2::Sha256;

use crate::error::ApiError;
use crate::roll::{LineError, Voter};

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

/// The identity store.
pub struct Identity {
    conn: Connection,
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

fn db_err(e: rusqlite::Error) -> ApiError {
    tracing::error!(error = %e, "identity store");
    ApiError::internal()
}

impl Identity {
    /// Opens (or creates) `state.db` with the 32-byte roll key.
    pub fn open(path: &Path, roll_key: &[u8; 32]) -> Result<Self, rusqlite::Error> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Deleted personal data is overwritten, not just unlinked from the b-tree.
        conn.pragma_update(None, "secure_delete", "ON")?;
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
        let derive = |label: &[u8]| -> [u8; 32] {
            let mut m = new_mac(roll_key);
            m.update(label);
            m.finalize().into_bytes().into()
        };
        let seal_key = derive(b"hanpyo-roll-seal-v1");
        Ok(Self {
            conn,
            seal: ChaCha20Poly1305::new(&seal_key.into()),
            mac_key: derive(b"hanpyo-roll-lookup-v1"),
        })
    }

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

    /// Voters on the roll.
    pub fn roll_size(&self) -> Result<u64, ApiError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM roll", [], |r| r.get(0))
            .map_err(db_err)
    }

    /// Adds `voters` in one transaction; refuses (adding nothing) if any is already on the roll.
    pub fn import(&mut self, voters: &[Voter]) -> Result<usize, ApiError> {
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
                    .map(|c| (self.mac(&[b"credential", &c]), self.seal_bytes(&c)));
                (
                    self.lookup(&v.resident_id, &v.birth_date),
                    self.seal_bytes(&json),
                    v.district.as_str(),
                    binding,
                )
            })
            .collect();
        let tx = self.conn.transaction().map_err(db_err)?;
        for (i, (lookup, sealed, district, binding)) in rows.iter().enumerate() {
            // The district stays in the clear beside the sealed record: it identifies nobody and
            // lets turnout per district be one aggregate query.
            let r = tx.execute(
                "INSERT INTO roll (lookup, sealed, district) VALUES (?1, ?2, ?3)",
                params![&lookup[..], sealed, district],
            );
            if let (Ok(_), Some((credential_lookup, sealed_credential))) = (&r, binding) {
                let b = tx.execute(
                    "INSERT INTO bindings (roll_id, credential_lookup, sealed, voted) VALUES (?1, ?2, ?3, 0)",
                    params![
                        tx.last_insert_rowid(),
                        &credential_lookup[..],
                        sealed_credential
                    ],
                );
                if let Err(rusqlite::Error::SqliteFailure(e, _)) = &b
                    && e.code == rusqlite::ErrorCode::ConstraintViolation
                {
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
                b.map_err(db_err)?;
            }
            if let Err(rusqlite::Error::SqliteFailure(e, _)) = &r
                && e.code == rusqlite::ErrorCode::ConstraintViolation
            {
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
            r.map_err(db_err)?;
        }
        tx.commit().map_err(db_err)?;
        Ok(rows.len())
    }

    /// Starts a login: if the person is on the roll, a fresh code is stored and returned with
    /// their contact, for delivery (outside any lock). The caller's answer never says whether they
    /// are on the roll (no enumeration).
    pub fn start_login(
        &mut self,
        resident_id: &str,
        birth_date: &str,
    ) -> Result<Option<(String, String)>, ApiError> {
        let lookup = self.lookup(resident_id, birth_date);
        let row: Option<(i64, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT id, sealed FROM roll WHERE lookup = ?1",
                params![&lookup[..]],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db_err)?;
        let Some((id, sealed)) = row else {
            return Ok(None);
        };
        // A locked-out identity gets no new code (and the answer stays the same: 202).
        if self.locked_until(id)?.is_some() {
            return Ok(None);
        }
        let voter: Voter = self
            .open_bytes(&sealed)
            .and_then(|p| serde_json::from_slice(&p).ok())
            .ok_or_else(ApiError::internal)?;
        self.conn
            .execute(
                "DELETE FROM login_codes WHERE roll_id = ?1 AND expires < ?2",
                params![id, now()],
            )
            .map_err(db_err)?;
        let live: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM login_codes WHERE roll_id = ?1",
                params![id],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        if live >= MAX_LIVE_CODES {
            // The voter already holds codes that still work; send no more for now.
            return Ok(None);
        }
        let code = format!("{:06}", hanpyo_crypto::os_rng().next_u32() % 1_000_000);
        let code_hash = self.mac(&[b"code", &id.to_be_bytes(), code.as_bytes()]);
        self.conn
            .execute(
                "INSERT INTO login_codes (roll_id, code_hash, expires) VALUES (?1, ?2, ?3)",
                params![id, &code_hash[..], now() + CODE_SECONDS],
            )
            .map_err(db_err)?;
        Ok(Some((voter.contact, code)))
    }

    /// Completes a login with the code; returns a session token.
    pub fn finish_login(
        &mut self,
        resident_id: &str,
        birth_date: &str,
        code: &str,
    ) -> Result<String, ApiError> {
        let bad = || {
            ApiError::new(
                401,
                "bad-code",
                "wrong or expired code (or not on the roll)",
            )
        };
        let lookup = self.lookup(resident_id, birth_date);
        let id: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM roll WHERE lookup = ?1",
                params![&lookup[..]],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)?;
        let Some(id) = id else { return Err(bad()) };
        if let Some(until) = self.locked_until(id)? {
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
        let given = self.mac(&[b"code", &id.to_be_bytes(), code.trim().as_bytes()]);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT code_hash FROM login_codes WHERE roll_id = ?1 AND expires >= ?2",
            )
            .map_err(db_err)?;
        let live: Vec<Vec<u8>> = stmt
            .query_map(params![id, now()], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(db_err)?;
        drop(stmt);
        // Compared in constant time, each one.
        let matched = live.iter().fold(false, |found, hash| {
            let equal =
                hash.len() == 32 && given.iter().zip(hash).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0;
            found | equal
        });
        if !matched {
            self.note_failure(id)?;
            return Err(bad());
        }
        self.conn
            .execute_batch("SAVEPOINT login")
            .and_then(|()| {
                self.conn
                    .execute("DELETE FROM login_codes WHERE roll_id = ?1", params![id])?;
                self.conn
                    .execute("DELETE FROM login_failures WHERE roll_id = ?1", params![id])?;
                self.conn.execute_batch("RELEASE login")
            })
            .map_err(db_err)?;
        let mut token = [0u8; 32];
        hanpyo_crypto::os_rng().fill_bytes(&mut token);
        let token = hex::encode(token);
        let th = self.mac(&[b"session", token.as_bytes()]);
        self.conn
            .execute(
                "INSERT INTO sessions (token_hash, roll_id, expires) VALUES (?1, ?2, ?3)",
                params![&th[..], id, now() + SESSION_SECONDS],
            )
            .map_err(db_err)?;
        Ok(token)
    }

    /// When the identity's lockout ends, if it is locked out now.
    fn locked_until(&self, id: i64) -> Result<Option<i64>, ApiError> {
        let until: Option<i64> = self
            .conn
            .query_row(
                "SELECT locked_until FROM login_failures WHERE roll_id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)?;
        Ok(until.filter(|&u| u > now()))
    }

    /// Counts a wrong code against the identity (not the code: a new code keeps the count); the
    /// [`MAX_ATTEMPTS`]th locks it out for [`LOCKOUT_SECONDS`] and starts a fresh count after.
    fn note_failure(&mut self, id: i64) -> Result<(), ApiError> {
        self.conn
            .execute(
                "INSERT INTO login_failures (roll_id, failures, locked_until) VALUES (?1, 1, 0)
                 ON CONFLICT (roll_id) DO UPDATE SET failures = failures + 1",
                params![id],
            )
            .map_err(db_err)?;
        self.conn
            .execute(
                "UPDATE login_failures SET failures = 0, locked_until = ?2
                 WHERE roll_id = ?1 AND failures >= ?3",
                params![id, now() + LOCKOUT_SECONDS, MAX_ATTEMPTS],
            )
            .map_err(db_err)?;
        Ok(())
    }

    /// Ends a voter's session: its token stops working at once (an unknown token is no error).
    pub fn end_session(&mut self, token: &str) -> Result<(), ApiError> {
        let th = self.mac(&[b"session", token.as_bytes()]);
        self.conn
            .execute(
                "DELETE FROM sessions WHERE token_hash = ?1",
                params![&th[..]],
            )
            .map_err(db_err)?;
        Ok(())
    }

    /// The roll entry of a live session.
    pub fn session(&self, token: &str) -> Result<i64, ApiError> {
        let th = self.mac(&[b"session", token.as_bytes()]);
        let row: Option<(i64, i64)> = self
            .conn
            .query_row(
                "SELECT roll_id, expires FROM sessions WHERE token_hash = ?1",
                params![&th[..]],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db_err)?;
        match row {
            Some((id, exp)) if exp >= now() => Ok(id),
            _ => Err(ApiError::new(
                401,
                "no-session",
                "log in first (or again: the session expired)",
            )),
        }
    }

    /// Binds the login to `credential` on its first ballot; later ballots must use the same one,
    /// and no other login may use it.
    pub fn bind(&mut self, roll_id: i64, credential: &[u8; 32]) -> Result<(), ApiError> {
        let cl = self.mac(&[b"credential", credential]);
        let existing: Option<(Vec<u8>, bool)> = self
            .conn
            .query_row(
                "SELECT credential_lookup, voted FROM bindings WHERE roll_id = ?1",
                params![roll_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db_err)?;
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
                self.conn
                    .execute(
                        "UPDATE bindings SET voted = 1 WHERE roll_id = ?1",
                        params![roll_id],
                    )
                    .map_err(db_err)?;
                Ok(())
            }
            Some(_) => Err(mismatch()),
            None => {
                let sealed = self.seal_bytes(credential);
                match self.conn.execute(
                    "INSERT INTO bindings (roll_id, credential_lookup, sealed) VALUES (?1, ?2, ?3)",
                    params![roll_id, &cl[..], sealed],
                ) {
                    Ok(_) => Ok(()),
                    Err(rusqlite::Error::SqliteFailure(e, _))
                        if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                    {
                        Err(mismatch())
                    }
                    Err(e) => Err(db_err(e)),
                }
            }
        }
    }

    /// Per district: `(district, voters on the roll, voters who have cast a ballot)`, sorted by
    /// district (one aggregate query; rows without a district count under "").
    pub fn district_turnout(&self) -> Result<Vec<(String, u64, u64)>, ApiError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT COALESCE(r.district, ''), COUNT(*), COALESCE(SUM(b.voted), 0) FROM roll r
                 LEFT JOIN bindings b ON b.roll_id = r.id GROUP BY 1 ORDER BY 1",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    /// A new access token for trustee `index` (replacing any earlier one).
    pub fn invite_trustee(&mut self, index: u32) -> Result<String, ApiError> {
        let mut t = [0u8; 32];
        hanpyo_crypto::os_rng().fill_bytes(&mut t);
        let token = hex::encode(t);
        self.conn
            .execute(
                "INSERT OR REPLACE INTO trustee_tokens (trustee, token_hash) VALUES (?1, ?2)",
                params![index, &trustee_token_hash(&token)[..]],
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
                params![&trustee_token_hash(token)[..]],
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

    /// Erases the roll, codes, sessions and bindings for good: deleted with `secure_delete` (pages
    /// overwritten), the file compacted, the write-ahead log checkpointed and truncated (no old
    /// page survives there), and the roll key destroyed — its file overwritten, synced and replaced
    /// by a fresh key, and the old key gone from memory — so even a copy of `state.db` taken
    /// earlier can no longer be opened.
    pub fn purge(&mut self, key_file: &Path) -> Result<(), ApiError> {
        use zeroize::Zeroize;
        self.conn
            .execute_batch(
                "DELETE FROM roll; DELETE FROM login_codes; DELETE FROM sessions;
                 DELETE FROM bindings; DELETE FROM login_failures; VACUUM;",
            )
            .map_err(db_err)?;
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(db_err)?;
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
        self.mac_key.zeroize();
        hanpyo_crypto::os_rng().fill_bytes(&mut self.mac_key);
        let mut seal = [0u8; 32];
        hanpyo_crypto::os_rng().fill_bytes(&mut seal);
        self.seal = ChaCha20Poly1305::new(&seal.into());
        seal.zeroize();
        Ok(())
    }
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
