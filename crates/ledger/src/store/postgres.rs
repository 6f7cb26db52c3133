//! The PostgreSQL backend: any number of logs in one database (one row of `ledger_logs` each),
//! read by every server node, written by one *sequencer* per log at a time.
//!
//! **The sequencer lease** is a session-level advisory lock on `(LEASE_CLASS, log id)`, taken by
//! the writer's connection when it opens the log and held for as long as that connection lives: a
//! writer whose process or machine dies loses its connection and so its lease, and the next writer
//! takes it within the server's TCP keepalive or `idle_session_timeout`. Because the lease could
//! still be lost silently (a connection pooler in transaction mode, an operator's
//! `pg_terminate_backend`), every append also locks the log's row and checks the stored size equals
//! the writer's (a compare-and-set): a writer that was overtaken gets
//! [`LedgerError::Superseded`], writes nothing and must re-open. No index is written twice.
//!
//! **Durability**: a [`Commit`](super::Commit) is returned only after PostgreSQL's `COMMIT`
//! returned, with `synchronous_commit` at least `on` for this session (raised from `off` or `local`
//! if the server is configured lower), so with a synchronous standby an acknowledged entry is on
//! both.
use std::cell::RefCell;
use std::str::FromStr;
use std::time::Duration;

use postgres::{Client, Config, NoTls};

use super::{Append, LedgerError, Storage};
use crate::merkle::Hash;

/// The first key of every log's sequencer lease (`pg_try_advisory_lock(LEASE_CLASS, log_id)`):
/// ASCII "HPLG".
pub const LEASE_CLASS: i32 = 0x4850_4c47;
/// The advisory lock that serialises schema migrations between nodes starting together: "HPMG".
const MIGRATE_CLASS: i32 = 0x4850_4d47;
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

/// One log's rows in a PostgreSQL database.
pub(super) struct PostgresStore {
    // `postgres::Client` needs `&mut` even to read; the ledger's reads take `&self`.
    client: RefCell<Client>,
    log: i64,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

/// The compare-and-set every write starts with: locks the log's row until COMMIT and refuses unless
/// the stored size is the writer's. Returns whether the log is closed.
fn fence(tx: &mut postgres::Transaction<'_>, log: i64, expected: u64) -> Result<bool, LedgerError> {
    let row = tx.query_one(
        "SELECT size, closed FROM ledger_logs WHERE id = $1 FOR UPDATE",
        &[&log],
    )?;
    let stored = uint(row.get(0))?;
    if stored != expected {
        return Err(LedgerError::Superseded {
            expected,
            found: stored,
        });
    }
    Ok(row.get(1))
}

fn int(x: u64) -> Result<i64, LedgerError> {
    i64::try_from(x).map_err(|_| LedgerError::NotFound(format!("index {x}")))
}

fn uint(x: i64) -> Result<u64, LedgerError> {
    u64::try_from(x).map_err(|_| LedgerError::Corrupt(format!("negative index {x}")))
}

impl PostgresStore {
    /// The writer: migrates, registers the log `origin` if new and takes its lease.
    pub(super) fn open_writer(url: &str, origin: &str) -> Result<Self, LedgerError> {
        let mut client = connect(url)?;
        migrate(&mut client)?;
        durable_session(&mut client)?;
        let find = "SELECT id FROM ledger_logs WHERE origin = $1";
        // Look first: a refused INSERT would still use up a sequence value at every open.
        let log: i64 = match client.query_opt(find, &[&origin])? {
            Some(row) => row.get(0),
            None => {
                client.execute(
                    "INSERT INTO ledger_logs (origin) VALUES ($1) ON CONFLICT (origin) DO NOTHING",
                    &[&origin],
                )?;
                client.query_one(find, &[&origin])?.get(0)
            }
        };
        let key = i32::try_from(log)
            .map_err(|_| LedgerError::Corrupt(format!("log id {log} out of range")))?;
        let leased: bool = client
            .query_one("SELECT pg_try_advisory_lock($1, $2)", &[&LEASE_CLASS, &key])?
            .get(0);
        if !leased {
            return Err(LedgerError::Busy(origin.to_string()));
        }
        Ok(Self {
            client: RefCell::new(client),
            log,
        })
    }

    /// A reader of the existing log `origin` (no lease, no migration).
    pub(super) fn open_reader(url: &str, origin: &str) -> Result<Self, LedgerError> {
        let mut client = connect(url)?;
        let log: i64 = client
            .query_opt("SELECT id FROM ledger_logs WHERE origin = $1", &[&origin])?
            .ok_or_else(|| LedgerError::NotFound(format!("log {origin}")))?
            .get(0);
        Ok(Self {
            client: RefCell::new(client),
            log,
        })
    }
}

impl Storage for PostgresStore {
    fn stored_size(&self) -> Result<u64, LedgerError> {
        let size: i64 = self
            .client
            .borrow_mut()
            .query_one("SELECT size FROM ledger_logs WHERE id = $1", &[&self.log])?
            .get(0);
        uint(size)
    }

    fn is_closed(&self) -> Result<bool, LedgerError> {
        Ok(self
            .client
            .borrow_mut()
            .query_one("SELECT closed FROM ledger_logs WHERE id = $1", &[&self.log])?
            .get(0))
    }

    fn close(&mut self, size: u64) -> Result<(), LedgerError> {
        let log = self.log;
        let mut tx = self.client.get_mut().transaction()?;
        fence(&mut tx, log, size)?;
        tx.execute(
            "UPDATE ledger_logs SET closed = TRUE WHERE id = $1",
            &[&log],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn last_tile(&self, level: u32) -> Result<Option<(u64, Vec<u8>)>, LedgerError> {
        let row = self.client.borrow_mut().query_opt(
            "SELECT idx, data FROM ledger_tiles WHERE log_id = $1 AND level = $2 \
             ORDER BY idx DESC LIMIT 1",
            &[&self.log, &(level as i32)],
        )?;
        row.map(|r| Ok((uint(r.get(0))?, r.get(1)))).transpose()
    }

    fn tile(&self, level: u32, index: u64) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self
            .client
            .borrow_mut()
            .query_opt(
                "SELECT data FROM ledger_tiles WHERE log_id = $1 AND level = $2 AND idx = $3",
                &[&self.log, &(level as i32), &int(index)?],
            )?
            .map(|r| r.get(0)))
    }

    fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, LedgerError> {
        Ok(self
            .client
            .borrow_mut()
            .query(
                "SELECT data FROM ledger_entries WHERE log_id = $1 AND idx >= $2 AND idx < $3 \
                 ORDER BY idx",
                &[&self.log, &int(start)?, &int(end)?],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn index_of(&self, leaf: &Hash, size: u64) -> Result<Option<u64>, LedgerError> {
        self.client
            .borrow_mut()
            .query_opt(
                "SELECT idx FROM ledger_leaves WHERE log_id = $1 AND hash = $2 AND idx < $3",
                &[&self.log, &&leaf[..], &int(size)?],
            )?
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
        let rows = self.client.borrow_mut().query(
            "SELECT hash, idx FROM ledger_leaves WHERE log_id = $1 AND hash >= $2 AND hash <= $3 \
             AND idx < $4 ORDER BY hash LIMIT $5",
            &[
                &self.log,
                &&lo[..],
                &&hi[..],
                &int(size)?,
                &i64::from(limit),
            ],
        )?;
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
        Ok(self
            .client
            .borrow_mut()
            .query_opt(
                "SELECT note FROM ledger_checkpoints WHERE log_id = $1 AND size = $2",
                &[&self.log, &int(size)?],
            )?
            .map(|r| r.get(0)))
    }

    fn latest_checkpoint(&self) -> Result<Option<String>, LedgerError> {
        Ok(self
            .client
            .borrow_mut()
            .query_opt(
                "SELECT note FROM ledger_checkpoints WHERE log_id = $1 ORDER BY size DESC LIMIT 1",
                &[&self.log],
            )?
            .map(|r| r.get(0)))
    }

    fn checkpoint_sizes(&self) -> Result<Vec<u64>, LedgerError> {
        self.client
            .borrow_mut()
            .query(
                "SELECT size FROM ledger_checkpoints WHERE log_id = $1 ORDER BY size",
                &[&self.log],
            )?
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
        let log = self.log;
        let mut tx = self.client.get_mut().transaction()?;
        fence(&mut tx, log, writer_size)?;
        tx.execute(
            "UPDATE ledger_checkpoints SET note = $3 WHERE log_id = $1 AND size = $2",
            &[&log, &int(size)?, &note],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn append(&mut self, a: &Append<'_>) -> Result<(), LedgerError> {
        let log = self.log;
        let mut tx = self.client.get_mut().transaction()?;
        if fence(&mut tx, log, a.first)? {
            return Err(LedgerError::Closed);
        }
        // One statement per table (arrays unnested server-side), not one round trip per row.
        let first = int(a.first)?;
        let idxs: Vec<i64> = (first..first + a.entries.len() as i64).collect();
        tx.execute(
            "INSERT INTO ledger_entries (log_id, idx, data) \
             SELECT $1, * FROM unnest($2::int8[], $3::bytea[])",
            &[&log, &idxs, &a.entries],
        )?;
        let hashes: Vec<&[u8]> = a.leaves.iter().map(|h| &h[..]).collect();
        // A repeated hash keeps its first index (the earlier row wins), as in SQLite.
        tx.execute(
            "INSERT INTO ledger_leaves (log_id, hash, idx) \
             SELECT $1, h, i FROM unnest($2::bytea[], $3::int8[]) AS u(h, i) ORDER BY i \
             ON CONFLICT (log_id, hash) DO NOTHING",
            &[&log, &hashes, &idxs],
        )?;
        let levels: Vec<i32> = a.tiles.iter().map(|t| t.0 as i32).collect();
        let tile_idxs = a
            .tiles
            .iter()
            .map(|t| int(t.1))
            .collect::<Result<Vec<_>, _>>()?;
        let blobs: Vec<&[u8]> = a.tiles.iter().map(|t| &t.2[..]).collect();
        tx.execute(
            "INSERT INTO ledger_tiles (log_id, level, idx, data) \
             SELECT $1, * FROM unnest($2::int4[], $3::int8[], $4::bytea[]) \
             ON CONFLICT (log_id, level, idx) DO UPDATE SET data = EXCLUDED.data",
            &[&log, &levels, &tile_idxs, &blobs],
        )?;
        let size = int(a.size())?;
        tx.execute(
            "INSERT INTO ledger_checkpoints (log_id, size, note) VALUES ($1, $2, $3)",
            &[&log, &size, &a.checkpoint],
        )?;
        tx.execute(
            "UPDATE ledger_logs SET size = $2 WHERE id = $1",
            &[&log, &size],
        )?;
        tx.commit()?;
        Ok(())
    }
}
