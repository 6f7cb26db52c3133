//! The PostgreSQL backend: any number of logs in one database (one row of `ledger_logs` each),
//! read by every server node, written by one *sequencer* per log at a time.
//!
//! **The sequencer lease** is a session-level advisory lock on `(LEASE_CLASS, log id)`. A process
//! holds the leases of every log it writes in one *lease session* per database, a connection of
//! its own, until the writer is dropped or the session ends: a writer whose process or machine
//! dies loses its session and so its leases, and the next writer takes them within the server's
//! TCP keepalive or `idle_session_timeout`. Reads and writes go through a pool of at most
//! [`POOL_SIZE`] connections per process and database, shared by all its logs, so the number of
//! connections does not grow with the number of logs (elections) a node hosts. Every write's
//! transaction starts with a fence: it locks the log's row, checks that the lease session still
//! holds the lease (`pg_locks`), else [`LedgerError::LeaseLost`], and that the stored size equals
//! the writer's (a compare-and-set), else [`LedgerError::Superseded`] (the lease could be lost
//! silently, e.g. behind a connection pooler in transaction mode). A refused writer writes
//! nothing and must re-open. No index is written twice.
//!
//! **Wake-ups**: every write's transaction also sends `NOTIFY` on [`NOTIFY_CHANNEL`] with the
//! log's origin as payload (delivered at `COMMIT`, not at all on rollback), so the nodes that
//! follow the log can `LISTEN` instead of polling it.
//!
//! **Durability**: a [`Commit`](super::Commit) is returned only after PostgreSQL's `COMMIT`
//! returned, with `synchronous_commit` at least `on` for this session (raised from `off` or `local`
//! if the server is configured lower), so with a synchronous standby an acknowledged entry is on
//! both.
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use postgres::{Client, Config, NoTls};

use super::{Append, LedgerError, Storage};
use crate::merkle::Hash;

/// The first key of every log's sequencer lease (`pg_try_advisory_lock(LEASE_CLASS, log_id)`):
/// ASCII "HPLG".
pub const LEASE_CLASS: i32 = 0x4850_4c47;
/// The advisory lock that serialises schema migrations between nodes starting together: "HPMG".
const MIGRATE_CLASS: i32 = 0x4850_4d47;
/// The channel every committed write of a log is announced on (`pg_notify`, payload: the log's
/// origin).
pub const NOTIFY_CHANNEL: &str = "hanpyo_ledger";
/// How long what a process learnt of the leases (its lease session alive; which leases any
/// session holds) is trusted before the database is asked again: one question per process and
/// database per period, whatever the number of logs.
const LEASE_LOOK: Duration = Duration::from_secs(1);
/// The table in which `refinery` records the ledger's applied migrations.
pub const MIGRATION_TABLE: &str = "ledger_schema_history";

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// A connection's settings from `url` (`postgres://…` or `host=… dbname=…`), with a connect timeout
/// of 10 s unless the URL sets one, and TCP keepalives (10 s idle, then 3 probes 2 s apart) and a
/// 15 s limit on unacknowledged data, so a node notices a database machine that died within about
/// 16 s instead of the system's default minutes.
pub fn config(url: &str) -> Result<Config, LedgerError> {
    let mut config = Config::from_str(url)?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    config.keepalives(true);
    config.keepalives_idle(Duration::from_secs(10));
    config.keepalives_interval(Duration::from_secs(2));
    config.keepalives_retries(3);
    config.tcp_user_timeout(Duration::from_secs(15));
    if config.get_application_name().is_none() {
        config.application_name("hanpyo");
    }
    Ok(config)
}

/// Connects to `url` (no TLS: run the database on the same host or a private network).
pub fn connect(url: &str) -> Result<Client, LedgerError> {
    Ok(config(url)?.connect(NoTls)?)
}

/// Makes `client`'s session fit for writes that are acknowledged: no statement is ever timed out
/// (a COMMIT cancelled while it waits for the synchronous standby returns success with only a
/// warning, the data on the primary alone), and `synchronous_commit` is at least `on` (raised from
/// `off`, `local` or `remote_write`), so a commit is flushed, and on the synchronous standby when
/// there is one, before it returns.
pub fn durable_session(client: &mut Client) -> Result<(), LedgerError> {
    client.batch_execute("SET statement_timeout = 0")?;
    let level: String = client.query_one("SHOW synchronous_commit", &[])?.get(0);
    if matches!(level.as_str(), "off" | "local" | "remote_write") {
        client.batch_execute("SET synchronous_commit TO on")?;
    }
    Ok(())
}

/// Brings the ledger's schema up to date; returns the migrations applied now (`V1__ledger`, …).
/// Nodes starting together take turns (an advisory lock), so each migration runs once.
pub fn migrate(client: &mut Client) -> Result<Vec<String>, LedgerError> {
    run_migrations(
        client,
        MIGRATE_CLASS,
        None,
        embedded::migrations::runner(),
        MIGRATION_TABLE,
    )
}

/// Runs `runner`'s migrations (their history in `table`) under the advisory lock `(lock, 0)`, so
/// that nodes starting together take turns and each migration runs once; `first`, if given, runs
/// under the same lock before them (e.g. creating the schema they go in). Answers the migrations
/// applied now (`V1__name`, …).
pub fn run_migrations(
    client: &mut Client,
    lock: i32,
    first: Option<&str>,
    mut runner: refinery::Runner,
    table: &str,
) -> Result<Vec<String>, LedgerError> {
    client.execute("SELECT pg_advisory_lock($1, 0)", &[&lock])?;
    let report = match first.map(|sql| client.batch_execute(sql)) {
        Some(Err(e)) => Err(LedgerError::from(e)),
        _ => {
            runner.set_migration_table_name(table);
            runner
                .run(client)
                .map_err(|e| LedgerError::Migration(e.to_string()))
        }
    };
    client.execute("SELECT pg_advisory_unlock($1, 0)", &[&lock])?;
    Ok(report?
        .applied_migrations()
        .iter()
        .map(|m| format!("V{}__{}", m.version(), m.name()))
        .collect())
}

/// Connections kept per database by one process, shared by every log it opens there: at most
/// this many, opened only while that many statements run at once. A node hosting many elections
/// so holds at most `POOL_SIZE + 1` connections for their logs, whatever their number.
pub const POOL_SIZE: usize = 16;

/// One process's connections to one database (by URL): a pool for every log's reads and writes,
/// and one *lease session* that holds the sequencer leases of every log this process writes.
struct Hub {
    url: String,
    pool: Mutex<Pool>,
    freed: Condvar,
    lease: Mutex<LeaseSession>,
    migrated: Mutex<bool>,
    /// Which logs' leases some session of the database held when last looked, and when.
    taken: Mutex<Option<(std::time::Instant, HashSet<i32>)>>,
}

#[derive(Default)]
struct Pool {
    idle: Vec<Client>,
    open: usize,
}

/// The session holding this process's leases, and which logs it holds them for.
#[derive(Default)]
struct LeaseSession {
    client: Option<Client>,
    /// Its backend's process id, which `pg_locks` shows as the holder.
    pid: i32,
    held: HashSet<i32>,
    /// When the session last answered.
    answered: Option<std::time::Instant>,
}

impl LeaseSession {
    /// Whether the session is connected (a closed one held its leases no longer).
    fn alive(&self) -> bool {
        self.client.as_ref().is_some_and(|c| !c.is_closed())
    }
}

/// Every hub of this process, by URL.
fn hub(url: &str) -> Arc<Hub> {
    static HUBS: OnceLock<Mutex<HashMap<String, Arc<Hub>>>> = OnceLock::new();
    let mut hubs = HUBS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    hubs.entry(url.to_string())
        .or_insert_with(|| {
            Arc::new(Hub {
                url: url.to_string(),
                pool: Default::default(),
                freed: Condvar::new(),
                lease: Default::default(),
                migrated: Mutex::new(false),
                taken: Mutex::new(None),
            })
        })
        .clone()
}

impl Hub {
    /// Runs `f` on a pooled connection (an idle one, a new one while fewer than [`POOL_SIZE`] are
    /// open, else the next one freed). A connection found closed afterwards is dropped, so the
    /// next statement connects again (as after a database failover).
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let mut client = self.checkout()?;
        let out = f(&mut client);
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        if client.is_closed() {
            pool.open -= 1;
        } else {
            pool.idle.push(client);
        }
        drop(pool);
        self.freed.notify_one();
        out
    }

    fn checkout(&self) -> Result<Client, LedgerError> {
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            while let Some(client) = pool.idle.pop() {
                if !client.is_closed() {
                    return Ok(client);
                }
                pool.open -= 1;
            }
            if pool.open < POOL_SIZE {
                pool.open += 1;
                drop(pool);
                let connected = connect(&self.url).and_then(|mut c| {
                    durable_session(&mut c)?;
                    Ok(c)
                });
                if connected.is_err() {
                    self.pool
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .open -= 1;
                    self.freed.notify_one();
                }
                return connected;
            }
            pool = self
                .freed
                .wait(pool)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Migrates the ledger's schema, once per process and database.
    fn migrate_once(&self) -> Result<(), LedgerError> {
        let mut migrated = self.migrated.lock().unwrap_or_else(PoisonError::into_inner);
        if !*migrated {
            self.with(|c| migrate(c).map(drop))?;
            *migrated = true;
        }
        Ok(())
    }

    /// Takes the lease on log `key` in the lease session (connecting it first if it has none or
    /// lost it: every lease it held went with it). Answers the session's backend pid, or
    /// [`LedgerError::Busy`] when another session, or another writer of this process, holds it.
    fn take_lease(&self, key: i32, origin: &str) -> Result<i32, LedgerError> {
        let mut lease = self.lease.lock().unwrap_or_else(PoisonError::into_inner);
        if lease.held.contains(&key) && lease.alive() {
            return Err(LedgerError::Busy(origin.to_string()));
        }
        let mut fresh = false;
        loop {
            if !lease.alive() {
                let mut client = connect(&self.url)?;
                lease.pid = client.query_one("SELECT pg_backend_pid()", &[])?.get(0);
                lease.client = Some(client);
                lease.held.clear();
                lease.answered = Some(std::time::Instant::now());
                fresh = true;
            }
            let client = lease.client.as_mut().ok_or(LedgerError::Closed)?;
            match client.query_one("SELECT pg_try_advisory_lock($1, $2)", &[&LEASE_CLASS, &key]) {
                Ok(row) => {
                    if !row.get::<_, bool>(0) {
                        return Err(LedgerError::Busy(origin.to_string()));
                    }
                    lease.held.insert(key);
                    return Ok(lease.pid);
                }
                // A session that died since its last use: connect once more.
                Err(_) if !fresh && client.is_closed() => lease.client = None,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Gives the lease on `key` back, if the session that took it (`pid`) still holds it.
    fn release_lease(&self, key: i32, pid: i32) {
        let mut lease = self.lease.lock().unwrap_or_else(PoisonError::into_inner);
        if lease.pid != pid || !lease.held.remove(&key) {
            return;
        }
        if let Some(client) = lease.client.as_mut() {
            let _ = client.execute("SELECT pg_advisory_unlock($1, $2)", &[&LEASE_CLASS, &key]);
        }
    }

    /// Whether the lease session that took the lease on `key` (`pid`) still holds it. The session
    /// is asked at most once per [`LEASE_LOOK`] (for every log of the process), so a session the
    /// database ended is noticed within that period, not only at the next write.
    fn holds_lease(&self, key: i32, pid: i32) -> bool {
        let mut lease = self.lease.lock().unwrap_or_else(PoisonError::into_inner);
        let stale = lease.answered.is_none_or(|t| t.elapsed() >= LEASE_LOOK);
        if stale && let Some(client) = lease.client.as_mut() {
            if client.simple_query("SELECT 1").is_ok() {
                lease.answered = Some(std::time::Instant::now());
            } else {
                lease.client = None;
            }
        }
        lease.alive() && lease.pid == pid && lease.held.contains(&key)
    }

    /// Whether some session of the database holds the lease on `key`, from a look at `pg_locks`
    /// made at most once per [`LEASE_LOOK`] for every log of the process.
    fn lease_taken(&self, key: i32) -> Result<bool, LedgerError> {
        let mut taken = self.taken.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((at, keys)) = taken.as_ref()
            && at.elapsed() < LEASE_LOOK
        {
            return Ok(keys.contains(&key));
        }
        let rows = self.with(|c| {
            Ok(c.query(
                "SELECT objid::int8 FROM pg_locks WHERE locktype = 'advisory' AND granted \
                 AND classid = $1::int8::oid AND objsubid = 2 AND database = (SELECT oid \
                 FROM pg_database WHERE datname = current_database())",
                &[&i64::from(LEASE_CLASS)],
            )?)
        })?;
        let keys: HashSet<i32> = rows
            .iter()
            .filter_map(|r| i32::try_from(r.get::<_, i64>(0)).ok())
            .collect();
        let held = keys.contains(&key);
        *taken = Some((std::time::Instant::now(), keys));
        Ok(held)
    }
}

/// Announces a committed write of log `origin` to the nodes listening on [`NOTIFY_CHANNEL`].
fn notify(tx: &mut postgres::Transaction<'_>, origin: &str) -> Result<(), LedgerError> {
    tx.execute("SELECT pg_notify($1, $2)", &[&NOTIFY_CHANNEL, &origin])?;
    Ok(())
}

/// One log's rows in a PostgreSQL database, reached through this process's [`Hub`] for it.
pub(super) struct PostgresStore {
    hub: Arc<Hub>,
    log: i64,
    origin: String,
    /// A writer's lease: the log's lock key and the lease session's pid.
    lease: Option<(i32, i32)>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        if let Some((key, pid)) = self.lease {
            self.hub.release_lease(key, pid);
        }
    }
}

/// The compare-and-set every write starts with: locks the log's row until COMMIT and refuses unless
/// the stored size is the writer's and the writer's lease session still holds the lease (had
/// that session ended, another node may be the sequencer now). Returns whether the log is closed.
fn fence(
    tx: &mut postgres::Transaction<'_>,
    log: i64,
    lease: Option<(i32, i32)>,
    expected: u64,
) -> Result<bool, LedgerError> {
    let (key, pid) = lease.ok_or(LedgerError::LeaseLost)?;
    let row = tx.query_one(
        "SELECT size, closed, EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
         AND granted AND pid = $4 AND classid = $2::int8::oid AND objid = $3::int8::oid \
         AND objsubid = 2 AND database = (SELECT oid FROM pg_database \
         WHERE datname = current_database())) FROM ledger_logs WHERE id = $1 FOR UPDATE",
        &[&log, &i64::from(LEASE_CLASS), &i64::from(key), &pid],
    )?;
    if !row.get::<_, bool>(2) {
        return Err(LedgerError::LeaseLost);
    }
    let stored = uint(row.get(0))?;
    if stored != expected {
        return Err(LedgerError::Superseded {
            expected,
            found: stored,
        });
    }
    Ok(row.get(1))
}

/// The second key of log `log`'s lease (`pg_try_advisory_lock(LEASE_CLASS, key)`): its id.
fn lease_key(log: i64) -> Result<i32, LedgerError> {
    i32::try_from(log).map_err(|_| LedgerError::Corrupt(format!("log id {log} out of range")))
}

fn int(x: u64) -> Result<i64, LedgerError> {
    i64::try_from(x).map_err(|_| LedgerError::NotFound(format!("index {x}")))
}

fn uint(x: i64) -> Result<u64, LedgerError> {
    u64::try_from(x).map_err(|_| LedgerError::Corrupt(format!("negative index {x}")))
}

impl PostgresStore {
    /// The writer: migrates (once per process), registers the log `origin` if new and takes its
    /// lease.
    pub(super) fn open_writer(url: &str, origin: &str) -> Result<Self, LedgerError> {
        let hub = hub(url);
        hub.migrate_once()?;
        let find = "SELECT id FROM ledger_logs WHERE origin = $1";
        let log: i64 = hub.with(|client| {
            // Look first: a refused INSERT would still use up a sequence value at every open.
            Ok(match client.query_opt(find, &[&origin])? {
                Some(row) => row.get(0),
                None => {
                    client.execute(
                        "INSERT INTO ledger_logs (origin) VALUES ($1) \
                         ON CONFLICT (origin) DO NOTHING",
                        &[&origin],
                    )?;
                    client.query_one(find, &[&origin])?.get(0)
                }
            })
        })?;
        let key = lease_key(log)?;
        let pid = hub.take_lease(key, origin)?;
        Ok(Self {
            hub,
            log,
            origin: origin.to_string(),
            lease: Some((key, pid)),
        })
    }

    /// A reader of the existing log `origin` (no lease, no migration).
    pub(super) fn open_reader(url: &str, origin: &str) -> Result<Self, LedgerError> {
        let hub = hub(url);
        let log: i64 = hub
            .with(|c| Ok(c.query_opt("SELECT id FROM ledger_logs WHERE origin = $1", &[&origin])?))?
            .ok_or_else(|| LedgerError::NotFound(format!("log {origin}")))?
            .get(0);
        Ok(Self {
            hub,
            log,
            origin: origin.to_string(),
            lease: None,
        })
    }
}

impl Storage for PostgresStore {
    fn stored_size(&self) -> Result<u64, LedgerError> {
        let size: i64 = self.hub.with(|c| {
            Ok(
                c.query_one("SELECT size FROM ledger_logs WHERE id = $1", &[&self.log])?
                    .get(0),
            )
        })?;
        uint(size)
    }

    fn is_closed(&self) -> Result<bool, LedgerError> {
        self.hub.with(|c| {
            Ok(
                c.query_one("SELECT closed FROM ledger_logs WHERE id = $1", &[&self.log])?
                    .get(0),
            )
        })
    }

    fn check_lease(&self) -> Result<(), LedgerError> {
        let (key, pid) = self.lease.ok_or(LedgerError::LeaseLost)?;
        if self.hub.holds_lease(key, pid) {
            Ok(())
        } else {
            Err(LedgerError::LeaseLost)
        }
    }

    fn lease_taken(&self) -> Result<bool, LedgerError> {
        self.hub.lease_taken(lease_key(self.log)?)
    }

    fn close(&mut self, size: u64) -> Result<(), LedgerError> {
        let (log, lease, origin) = (self.log, self.lease, &self.origin);
        self.hub.with(|c| {
            let mut tx = c.transaction()?;
            fence(&mut tx, log, lease, size)?;
            tx.execute(
                "UPDATE ledger_logs SET closed = TRUE WHERE id = $1",
                &[&log],
            )?;
            notify(&mut tx, origin)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn last_tile(&self, level: u32) -> Result<Option<(u64, Vec<u8>)>, LedgerError> {
        let row = self.hub.with(|c| {
            Ok(c.query_opt(
                "SELECT idx, data FROM ledger_tiles WHERE log_id = $1 AND level = $2 \
                 ORDER BY idx DESC LIMIT 1",
                &[&self.log, &(level as i32)],
            )?)
        })?;
        row.map(|r| Ok((uint(r.get(0))?, r.get(1)))).transpose()
    }

    fn tile(&self, level: u32, index: u64) -> Result<Option<Vec<u8>>, LedgerError> {
        let index = int(index)?;
        self.hub.with(|c| {
            Ok(c.query_opt(
                "SELECT data FROM ledger_tiles WHERE log_id = $1 AND level = $2 AND idx = $3",
                &[&self.log, &(level as i32), &index],
            )?
            .map(|r| r.get(0)))
        })
    }

    fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, LedgerError> {
        let (start, end) = (int(start)?, int(end)?);
        self.hub.with(|c| {
            Ok(c.query(
                "SELECT data FROM ledger_entries WHERE log_id = $1 AND idx >= $2 AND idx < $3 \
                 ORDER BY idx",
                &[&self.log, &start, &end],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
        })
    }

    fn index_of(&self, leaf: &Hash, size: u64) -> Result<Option<u64>, LedgerError> {
        let size = int(size)?;
        self.hub
            .with(|c| {
                Ok(c.query_opt(
                    "SELECT idx FROM ledger_leaves WHERE log_id = $1 AND hash = $2 AND idx < $3",
                    &[&self.log, &&leaf[..], &size],
                )?)
            })?
            .map(|r| uint(r.get(0)))
            .transpose()
    }

    fn leaves_between(
        &self,
        lo: &Hash,
        hi: &Hash,
        size: u64,
        limit: u32,
    ) -> Result<Vec<(Hash, u64)>, LedgerError> {
        let size = int(size)?;
        let rows = self.hub.with(|c| {
            Ok(c.query(
                "SELECT hash, idx FROM ledger_leaves WHERE log_id = $1 AND hash >= $2 \
                 AND hash <= $3 AND idx < $4 ORDER BY hash LIMIT $5",
                &[&self.log, &&lo[..], &&hi[..], &size, &i64::from(limit)],
            )?)
        })?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let h: Vec<u8> = r.get(0);
            if let Ok(h) = Hash::try_from(h.as_slice()) {
                out.push((h, uint(r.get(1))?));
            }
        }
        Ok(out)
    }

    fn checkpoint_at(&self, size: u64) -> Result<Option<String>, LedgerError> {
        let size = int(size)?;
        self.hub.with(|c| {
            Ok(c.query_opt(
                "SELECT note FROM ledger_checkpoints WHERE log_id = $1 AND size = $2",
                &[&self.log, &size],
            )?
            .map(|r| r.get(0)))
        })
    }

    fn latest_checkpoint(&self) -> Result<Option<String>, LedgerError> {
        self.hub.with(|c| {
            Ok(c.query_opt(
                "SELECT note FROM ledger_checkpoints WHERE log_id = $1 ORDER BY size DESC LIMIT 1",
                &[&self.log],
            )?
            .map(|r| r.get(0)))
        })
    }

    fn checkpoint_sizes(&self) -> Result<Vec<u64>, LedgerError> {
        self.hub
            .with(|c| {
                Ok(c.query(
                    "SELECT size FROM ledger_checkpoints WHERE log_id = $1 ORDER BY size",
                    &[&self.log],
                )?)
            })?
            .iter()
            .map(|r| uint(r.get(0)))
            .collect()
    }

    fn replace_checkpoint(
        &mut self,
        writer_size: u64,
        size: u64,
        note: &str,
    ) -> Result<(), LedgerError> {
        let (log, lease, size, origin) = (self.log, self.lease, int(size)?, &self.origin);
        self.hub.with(|c| {
            let mut tx = c.transaction()?;
            fence(&mut tx, log, lease, writer_size)?;
            tx.execute(
                "UPDATE ledger_checkpoints SET note = $3 WHERE log_id = $1 AND size = $2",
                &[&log, &size, &note],
            )?;
            notify(&mut tx, origin)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn append(&mut self, a: &Append<'_>) -> Result<(), LedgerError> {
        let (log, lease, origin) = (self.log, self.lease, &self.origin);
        // One statement per table (arrays unnested server-side), not one round trip per row.
        let first = int(a.first)?;
        let idxs: Vec<i64> = (first..first + a.entries.len() as i64).collect();
        let hashes: Vec<&[u8]> = a.leaves.iter().map(|h| &h[..]).collect();
        let levels: Vec<i32> = a.tiles.iter().map(|t| t.0 as i32).collect();
        let tile_idxs = a
            .tiles
            .iter()
            .map(|t| int(t.1))
            .collect::<Result<Vec<_>, _>>()?;
        let blobs: Vec<&[u8]> = a.tiles.iter().map(|t| &t.2[..]).collect();
        let size = int(a.size())?;
        self.hub.with(|c| {
            let mut tx = c.transaction()?;
            if fence(&mut tx, log, lease, a.first)? {
                return Err(LedgerError::Closed);
            }
            tx.execute(
                "INSERT INTO ledger_entries (log_id, idx, data) \
                 SELECT $1, * FROM unnest($2::int8[], $3::bytea[])",
                &[&log, &idxs, &a.entries],
            )?;
            // A repeated hash keeps its first index (the earlier row wins), as in SQLite.
            tx.execute(
                "INSERT INTO ledger_leaves (log_id, hash, idx) \
                 SELECT $1, h, i FROM unnest($2::bytea[], $3::int8[]) AS u(h, i) ORDER BY i \
                 ON CONFLICT (log_id, hash) DO NOTHING",
                &[&log, &hashes, &idxs],
            )?;
            tx.execute(
                "INSERT INTO ledger_tiles (log_id, level, idx, data) \
                 SELECT $1, * FROM unnest($2::int4[], $3::int8[], $4::bytea[]) \
                 ON CONFLICT (log_id, level, idx) DO UPDATE SET data = EXCLUDED.data",
                &[&log, &levels, &tile_idxs, &blobs],
            )?;
            tx.execute(
                "INSERT INTO ledger_checkpoints (log_id, size, note) VALUES ($1, $2, $3)",
                &[&log, &size, &a.checkpoint],
            )?;
            tx.execute(
                "UPDATE ledger_logs SET size = $2 WHERE id = $1",
                &[&log, &size],
            )?;
            notify(&mut tx, origin)?;
            tx.commit()?;
            Ok(())
        })
    }
}
