//! The embedded backend: one log in one SQLite database (WAL, `synchronous=FULL`, 16 KiB pages).
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::{Append, LedgerError, Storage};
use crate::merkle::Hash;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS entries (idx INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS leaves (hash BLOB PRIMARY KEY, idx INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tiles (level INTEGER NOT NULL, idx INTEGER NOT NULL, data BLOB NOT NULL,
                                  PRIMARY KEY (level, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL);
";

/// One log's database file.
#[derive(Debug)]
pub(super) struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    /// Opens (or creates) the database of the log named `origin`; refuses another log's.
    pub(super) fn open(path: &Path, origin: &str) -> Result<Self, LedgerError> {
        let conn = Connection::open(path)?;
        // page_size only takes effect on a new database, before WAL is enabled.
        conn.pragma_update(None, "page_size", 16384)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        let stored: Option<Vec<u8>> = conn
            .query_row("SELECT value FROM meta WHERE key = 'origin'", [], |r| {
                r.get(0)
            })
            .optional()?;
        match stored {
            None => {
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('origin', ?1)",
                    params![origin.as_bytes()],
                )?;
            }
            Some(s) if s == origin.as_bytes() => {}
            Some(s) => {
                return Err(LedgerError::WrongLog {
                    stored: String::from_utf8_lossy(&s).into_owned(),
                    requested: origin.to_string(),
                });
            }
        }
        Ok(Self { conn })
    }

    /// Opens an existing database read-only: with the write-ahead log it reads committed rows
    /// while the writer appends.
    pub(super) fn open_read_only(path: &Path) -> Result<Self, LedgerError> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.pragma_update(None, "query_only", "ON")?;
        Ok(Self { conn })
    }
}

impl Storage for SqliteStore {
    fn stored_size(&self) -> Result<u64, LedgerError> {
        Ok(stored_size(&self.conn)?)
    }

    fn is_closed(&self) -> Result<bool, LedgerError> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM meta WHERE key = 'closed'", [], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn close(&mut self, size: u64) -> Result<(), LedgerError> {
        let tx = self.conn.transaction()?;
        fence(&tx, size)?;
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('closed', x'01')",
            [],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn last_tile(&self, level: u32) -> Result<Option<(u64, Vec<u8>)>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT idx, data FROM tiles WHERE level = ?1 ORDER BY idx DESC LIMIT 1",
                params![level],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    fn tile(&self, level: u32, index: u64) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self
            .conn
            .prepare_cached("SELECT data FROM tiles WHERE level = ?1 AND idx = ?2")?
            .query_row(params![level, index], |row| row.get(0))
            .optional()?)
    }

    fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, LedgerError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT data FROM entries WHERE idx >= ?1 AND idx < ?2 ORDER BY idx")?;
        let rows = st.query_map(params![start, end], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn index_of(&self, leaf: &Hash, size: u64) -> Result<Option<u64>, LedgerError> {
        Ok(index_of(&self.conn, leaf, size)?)
    }

    fn leaves_between(
        &self,
        lo: &Hash,
        hi: &Hash,
        size: u64,
        limit: u32,
    ) -> Result<Vec<(Hash, u64)>, LedgerError> {
        Ok(leaves_between(&self.conn, lo, hi, size, limit)?)
    }

    fn checkpoint_at(&self, size: u64) -> Result<Option<String>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT note FROM checkpoints WHERE size = ?1",
                params![size],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn latest_checkpoint(&self) -> Result<Option<String>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn checkpoint_sizes(&self) -> Result<Vec<u64>, LedgerError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT size FROM checkpoints ORDER BY size")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn replace_checkpoint(
        &mut self,
        writer_size: u64,
        size: u64,
        note: &str,
    ) -> Result<(), LedgerError> {
        let tx = self.conn.transaction()?;
        fence(&tx, writer_size)?;
        tx.execute(
            "UPDATE checkpoints SET note = ?1 WHERE size = ?2",
            params![note, size],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn append(&mut self, a: &Append<'_>) -> Result<(), LedgerError> {
        let tx = self.conn.transaction()?;
        {
            fence(&tx, a.first)?;
            let mut put_entry =
                tx.prepare_cached("INSERT INTO entries (idx, data) VALUES (?1, ?2)")?;
            let mut put_leaf =
                tx.prepare_cached("INSERT OR IGNORE INTO leaves (hash, idx) VALUES (?1, ?2)")?;
            for (i, (e, h)) in a.entries.iter().zip(a.leaves).enumerate() {
                let idx = a.first + i as u64;
                put_entry.execute(params![idx, e])?;
                put_leaf.execute(params![&h[..], idx])?;
            }
            let mut put_tile = tx.prepare_cached(
                "INSERT OR REPLACE INTO tiles (level, idx, data) VALUES (?1, ?2, ?3)",
            )?;
            for (level, idx, data) in &a.tiles {
                put_tile.execute(params![level, idx, data])?;
            }
        }
        tx.execute(
            "INSERT INTO checkpoints (size, note) VALUES (?1, ?2)",
            params![a.size(), a.checkpoint],
        )?;
        tx.commit()?;
        Ok(())
    }
}

/// Entries stored: the index after the last.
fn stored_size(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries", [], |r| {
        r.get(0)
    })
}

/// The compare-and-set every write starts with (inside its transaction): the stored log must end
/// where the writer believes it ends.
fn fence(tx: &rusqlite::Transaction<'_>, expected: u64) -> Result<(), LedgerError> {
    let stored = stored_size(tx)?;
    if stored != expected {
        return Err(LedgerError::Superseded {
            expected,
            found: stored,
        });
    }
    Ok(())
}

/// The index of the row of a `leaves(hash, idx)` table (a log's or a mirror's) with this hash, if
/// it is below `size`.
pub(crate) fn index_of(conn: &Connection, leaf: &Hash, size: u64) -> rusqlite::Result<Option<u64>> {
    conn.query_row(
        "SELECT idx FROM leaves WHERE hash = ?1 AND idx < ?2",
        params![&leaf[..], size],
        |r| r.get(0),
    )
    .optional()
}

/// Up to `limit` rows of a `leaves(hash, idx)` table (a log's or a mirror's) with the hash in
/// `[lo, hi]` and the index below `size`, by hash.
pub(crate) fn leaves_between(
    conn: &Connection,
    lo: &Hash,
    hi: &Hash,
    size: u64,
    limit: u32,
) -> rusqlite::Result<Vec<(Hash, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT hash, idx FROM leaves WHERE hash >= ?1 AND hash <= ?2 AND idx < ?3 ORDER BY hash LIMIT ?4",
    )?;
    let rows = stmt.query_map(params![&lo[..], &hi[..], size, limit], |r| {
        Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, u64>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (h, i) = row?;
        if let Ok(h) = Hash::try_from(h.as_slice()) {
            out.push((h, i));
        }
    }
    Ok(out)
}
