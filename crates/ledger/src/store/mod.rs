//! Durable storage of a log, in one of two engines behind one [`Storage`] interface:
//!
//! - **SQLite** ([`Ledger::open`], feature `storage`): one embedded database file per log (WAL,
//!   `synchronous=FULL`, 16 KiB pages), the zero-setup default;
//! - **PostgreSQL** ([`Ledger::open_postgres`], feature `postgres`): any number of logs in one
//!   database, several server nodes reading it, exactly one writer per log at a time (a
//!   session-level advisory lock, the *sequencer lease*), the schema migrated by `refinery`.
//!
//! [`Ledger::append_batch`] is a group commit: the batch's entries, their leaf-hash index, the tree
//! tiles that changed and the new signed checkpoint are written in **one transaction**, which
//! first checks that the stored log ends where this writer believes it ends (a compare-and-set on
//! the size), so after a crash either all of them are there or none, and no index is ever written
//! twice. Nothing is acknowledged (no [`Commit`] returned, no receipt possible) before that
//! transaction is durable. On open, the stored tree is re-derived from its tiles and checked
//! against the latest checkpoint. The Merkle work is done here, once for both engines; a backend
//! only stores and reads rows.
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::checkpoint::{Checkpoint, NoteError, NoteSigner, SignedNote};
use crate::export::{ExportError, ExportWriter, MAX_ENTRY_LEN};
use crate::merkle::{
    Frontier, Hash, RangeHasher, consistency_proof_from, empty_root, inclusion_proof_from,
    leaf_hash,
};
use crate::receipt::Receipt;
use crate::tiles::{TILE_WIDTH, TileEdge, TileGap, TileSource, TileWrite};
use crate::witness::{CosignError, Cosigner};

#[cfg(feature = "postgres")]
pub mod postgres;
pub(crate) mod sqlite;

/// Most entries in one group commit.
pub const MAX_BATCH: usize = 10_000;

/// Why a ledger operation failed. Nothing was changed when an append fails.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The SQLite database.
    #[error("storage: {0}")]
    Storage(#[from] rusqlite::Error),
    /// The PostgreSQL database (or the connection to it).
    #[cfg(feature = "postgres")]
    #[error("postgres: {0}")]
    Postgres(#[from] ::postgres::Error),
    /// Migrating the PostgreSQL schema.
    #[cfg(feature = "postgres")]
    #[error("schema migration: {0}")]
    Migration(String),
    /// Another writer holds the log's sequencer lease.
    #[error("another sequencer holds the lease on log {0}")]
    Busy(String),
    /// The stored log no longer ends where this writer's state does: another writer appended
    /// (this one lost its lease). This writer must stop and re-open from storage.
    #[error("the log was advanced by another writer (expected size {expected}, stored {found})")]
    Superseded {
        /// The size this writer appended at.
        expected: u64,
        /// The stored size.
        found: u64,
    },
    /// This writer's lease session ended (its connection was lost or closed, or the database
    /// failed over): another node may be the sequencer now. This writer must stop and re-open.
    #[error("this writer no longer holds the log's sequencer lease")]
    LeaseLost,
    /// The log was closed; it accepts no more entries.
    #[error("the log is closed")]
    Closed,
    /// An entry is empty or larger than [`MAX_ENTRY_LEN`].
    #[error("entry {index} of the batch has {len} bytes (allowed: 1 to {MAX_ENTRY_LEN})")]
    BadEntry {
        /// Position in the batch.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// A batch is empty or larger than [`MAX_BATCH`].
    #[error("a batch holds 1 to {MAX_BATCH} entries, not {0}")]
    BadBatch(usize),
    /// The database belongs to another log.
    #[error("this database holds log {stored}, not {requested}")]
    WrongLog {
        /// Its origin.
        stored: String,
        /// The signer's origin.
        requested: String,
    },
    /// Stored data is inconsistent.
    #[error("corrupt ledger: {0}")]
    Corrupt(String),
    /// A requested index, size or hash is not in the log.
    #[error("not found: {0}")]
    NotFound(String),
    /// A checkpoint note.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// Exporting.
    #[error(transparent)]
    Export(#[from] ExportError),
}

/// What a group commit made durable.
#[derive(Clone, Debug)]
pub struct Commit {
    /// Index of the batch's first entry.
    pub first_index: u64,
    /// Leaf hashes of the batch's entries, in order.
    pub leaf_hashes: Vec<Hash>,
    /// The signed checkpoint covering them.
    pub checkpoint: String,
    /// Tree size after the commit.
    pub size: u64,
}

/// One group commit, as a backend writes it in one transaction.
#[derive(Debug)]
pub(crate) struct Append<'a> {
    /// Index of the first entry: the transaction first checks the stored log ends here.
    pub first: u64,
    /// The entries, in order.
    pub entries: Vec<&'a [u8]>,
    /// Their leaf hashes (a duplicate hash keeps its first index).
    pub leaves: &'a [Hash],
    /// Tiles to insert or replace: `(level, index, hashes as bytes)`.
    pub tiles: Vec<(u32, u64, Vec<u8>)>,
    /// The signed checkpoint of the size after the batch.
    pub checkpoint: &'a str,
}

impl Append<'_> {
    /// The size after the batch.
    pub fn size(&self) -> u64 {
        self.first + self.entries.len() as u64
    }
}

/// One log's rows in a database: what [`Ledger`] and [`LedgerReader`] need of an engine. A backend
/// does no Merkle work and trusts nothing it reads: [`Ledger`] re-derives and checks the tree.
pub(crate) trait Storage: std::fmt::Debug + Send {
    /// Number of stored entries.
    fn stored_size(&self) -> Result<u64, LedgerError>;
    /// Whether the log was closed.
    fn is_closed(&self) -> Result<bool, LedgerError>;
    /// Whether this writer still holds its lease, as far as it knows without a statement of its
    /// own (PostgreSQL asks its lease session once a second for every log of the process; a
    /// backend without leases always holds it).
    fn check_lease(&self) -> Result<(), LedgerError> {
        Ok(())
    }
    /// Whether any process holds this log's lease (a backend without leases: never).
    fn lease_taken(&self) -> Result<bool, LedgerError> {
        Ok(false)
    }
    /// Marks the log closed, if the stored log still ends at `size` (the writer's).
    fn close(&mut self, size: u64) -> Result<(), LedgerError>;
    /// The highest-indexed tile of `level`.
    fn last_tile(&self, level: u32) -> Result<Option<(u64, Vec<u8>)>, LedgerError>;
    /// Tile `(level, index)`.
    fn tile(&self, level: u32, index: u64) -> Result<Option<Vec<u8>>, LedgerError>;
    /// The stored entries with index in `start..end`, in order (possibly fewer).
    fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, LedgerError>;
    /// The index of the entry with this leaf hash, if below `size`.
    fn index_of(&self, leaf: &Hash, size: u64) -> Result<Option<u64>, LedgerError>;
    /// Up to `limit` `(hash, index)` with the hash in `[lo, hi]` and the index below `size`, by hash.
    fn leaves_between(
        &self,
        lo: &Hash,
        hi: &Hash,
        size: u64,
        limit: u32,
    ) -> Result<Vec<(Hash, u64)>, LedgerError>;
    /// The checkpoint note of size `size`.
    fn checkpoint_at(&self, size: u64) -> Result<Option<String>, LedgerError>;
    /// The note of the largest checkpoint.
    fn latest_checkpoint(&self) -> Result<Option<String>, LedgerError>;
    /// Sizes of every checkpoint, ascending.
    fn checkpoint_sizes(&self) -> Result<Vec<u64>, LedgerError>;
    /// Replaces the note of size `size` (the same checkpoint with more cosignatures), if the stored
    /// log still ends at `writer_size`.
    fn replace_checkpoint(
        &mut self,
        writer_size: u64,
        size: u64,
        note: &str,
    ) -> Result<(), LedgerError>;
    /// Writes one group commit in one transaction, or nothing. Refuses with
    /// [`LedgerError::Superseded`] when the stored log does not end at `first`.
    fn append(&mut self, append: &Append<'_>) -> Result<(), LedgerError>;
}

/// An append-only log in a database.
#[derive(Debug)]
pub struct Ledger {
    store: Box<dyn Storage>,
    signer: NoteSigner,
    size: u64,
    edge: TileEdge,
    frontier: Frontier,
    closed: bool,
    /// Following another writer's log (no lease): every write is refused.
    follower: bool,
    /// The last write failed: the store may hold it after all (its commit's answer was lost), so
    /// [`Ledger::holds_lease`] compares sizes until a write succeeds.
    write_failed: bool,
    /// Full tiles never change: keep the most recently read ones (upper levels are shared by every proof).
    tile_cache: RefCell<TileCache>,
}

/// Full tiles by `(level, index)`.
type TileCache = HashMap<(u32, u64), Arc<Vec<Hash>>>;

/// Full tiles kept in memory (8 KiB each).
const TILE_CACHE: usize = 4096;

fn hashes_of(blob: &[u8]) -> Result<Vec<Hash>, LedgerError> {
    if !blob.len().is_multiple_of(32) || blob.is_empty() || blob.len() as u64 > 32 * TILE_WIDTH {
        return Err(LedgerError::Corrupt("tile size".into()));
    }
    Ok(blob
        .chunks(32)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            h
        })
        .collect())
}

fn blob_of(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flatten().copied().collect()
}

impl Ledger {
    /// Opens (or creates) the log in the SQLite database `path`, signing checkpoints with `signer`
    /// (whose key name is the log's origin). Checks the stored tree against the latest checkpoint.
    pub fn open(path: &Path, signer: NoteSigner) -> Result<Self, LedgerError> {
        let store = sqlite::SqliteStore::open(path, signer.verifier().name())?;
        Self::on(Box::new(store), signer)
    }

    /// Opens (or creates) the log named by `signer` in the PostgreSQL database at `url` (a
    /// libpq-style URL or key/value string; several hosts with `target_session_attrs=read-write`
    /// follow a failover), migrating the schema first and taking the log's sequencer lease:
    /// [`LedgerError::Busy`] while another writer (in this process or another) holds it. The
    /// lease is held by this process's lease session for the database (one connection, whatever
    /// the number of logs) until this ledger is dropped or that session ends; reads and writes go
    /// through the process's pool of at most [`postgres::POOL_SIZE`] connections, and every
    /// write first checks that the lease is still held ([`LedgerError::LeaseLost`]).
    #[cfg(feature = "postgres")]
    pub fn open_postgres(url: &str, signer: NoteSigner) -> Result<Self, LedgerError> {
        let store = postgres::PostgresStore::open_writer(url, signer.verifier().name())?;
        Self::on(Box::new(store), signer)
    }

    /// Follows the log named by `signer` in the PostgreSQL database at `url` without taking its
    /// lease, as a server node that is not the log's sequencer does: it reads, proves and builds
    /// receipts exactly as the writer would, is kept current by [`Ledger::refresh`], and refuses
    /// every write with [`LedgerError::Busy`]. Its checks on open are the writer's (the tree
    /// re-derived and matched to the latest checkpoint, whose signature by `signer`'s key must
    /// verify).
    #[cfg(feature = "postgres")]
    pub fn follow_postgres(url: &str, signer: NoteSigner) -> Result<Self, LedgerError> {
        let store = postgres::PostgresStore::open_reader(url, signer.verifier().name())?;
        let mut ledger = Self::empty(Box::new(store), signer);
        ledger.follower = true;
        ledger.reload()?;
        Ok(ledger)
    }

    fn on(store: Box<dyn Storage>, signer: NoteSigner) -> Result<Self, LedgerError> {
        let mut ledger = Self::empty(store, signer);
        ledger.closed = ledger.store.is_closed()?;
        ledger.size = ledger.store.stored_size()?;
        ledger.load_tree()?;
        Ok(ledger)
    }

    fn empty(store: Box<dyn Storage>, signer: NoteSigner) -> Self {
        Self {
            store,
            signer,
            size: 0,
            edge: TileEdge::default(),
            frontier: Frontier::new(),
            closed: false,
            follower: false,
            write_failed: false,
            tile_cache: Default::default(),
        }
    }

    /// Whether this ledger follows another writer's log ([`Ledger::follow_postgres`]).
    pub fn is_follower(&self) -> bool {
        self.follower
    }

    /// Catches a follower up with the database: answers whether the log grew (or was closed)
    /// since the last call. The tree is re-derived from the stored tiles and checked against the
    /// latest checkpoint, as on open.
    pub fn refresh(&mut self) -> Result<bool, LedgerError> {
        let (size, closed) = (self.store.stored_size()?, self.store.is_closed()?);
        if size == self.size && closed == self.closed {
            return Ok(false);
        }
        self.reload()?;
        Ok(true)
    }

    /// Reads the stored size and tree. The writer may commit between these reads (each is a
    /// statement of its own): the checks then fail, and the reads are made again.
    fn reload(&mut self) -> Result<(), LedgerError> {
        let before = (
            self.size,
            self.closed,
            self.edge.clone(),
            self.frontier.clone(),
        );
        let mut attempt = 0;
        let failed = loop {
            let read = self.store.is_closed().and_then(|closed| {
                self.closed = closed;
                self.size = self.store.stored_size()?;
                self.load_tree()
            });
            match read {
                Ok(()) => return Ok(()),
                // Under a steady stream of commits a few reads may race; each try is a handful of
                // statements, so the writer's next commit rarely lands inside all of them.
                Err(LedgerError::Corrupt(_)) if attempt < 10 => attempt += 1,
                Err(e) => break e,
            }
        };
        (self.size, self.closed, self.edge, self.frontier) = before;
        Err(failed)
    }

    /// Checks that this writer still holds its log: the database answers, and the stored size is
    /// the one it wrote last. A writer whose connection (and so its lease) was lost, or that was
    /// overtaken, fails: it must stop writing and follow.
    pub fn check_writer(&self) -> Result<(), LedgerError> {
        self.writable()?;
        self.store.check_lease()?;
        let stored = self.store.stored_size()?;
        if stored != self.size {
            return Err(LedgerError::Superseded {
                expected: self.size,
                found: stored,
            });
        }
        Ok(())
    }

    /// Checks that this writer still holds its log's lease, without a statement of its own (the
    /// backend asks the database once in a while for all its logs together) unless its last
    /// write failed: then as [`Ledger::check_writer`]. Cheap enough to ask every second for every
    /// log of a node.
    pub fn holds_lease(&self) -> Result<(), LedgerError> {
        if self.write_failed {
            return self.check_writer();
        }
        self.writable()?;
        self.store.check_lease()
    }

    /// Whether some process holds this log's lease: a follower tries to take it only when not.
    /// Answered for every log of a process from one look at the database per second.
    pub fn lease_taken(&self) -> Result<bool, LedgerError> {
        self.store.lease_taken()
    }

    /// Refuses a write on a follower.
    fn writable(&self) -> Result<(), LedgerError> {
        if self.follower {
            return Err(LedgerError::Busy(self.origin().to_string()));
        }
        Ok(())
    }

    /// Rebuilds the in-memory right edge from the stored tiles and checks it.
    fn load_tree(&mut self) -> Result<(), LedgerError> {
        let mut edge = TileEdge::default();
        let mut level = 0u32;
        loop {
            let Some((idx, data)) = self.store.last_tile(level)? else {
                break;
            };
            let hashes = hashes_of(&data)?;
            if hashes.len() as u64 == TILE_WIDTH {
                edge.rows.push(Vec::new());
                edge.full.push(idx + 1);
            } else {
                edge.rows.push(hashes);
                edge.full.push(idx);
            }
            level += 1;
        }
        let leaves = edge.full.first().copied().unwrap_or(0) * TILE_WIDTH
            + edge.rows.first().map_or(0, |r| r.len() as u64);
        if leaves != self.size {
            return Err(LedgerError::Corrupt(format!(
                "{} entries but {leaves} leaf hashes",
                self.size
            )));
        }
        self.edge = edge;
        // The frontier: roots of the perfect subtrees making up the tree, largest first.
        let mut frontier_stack = Vec::new();
        let mut start = 0u64;
        for bit in (0..64).rev() {
            let k = 1u64 << bit;
            if self.size & k != 0 {
                frontier_stack.push(crate::tiles::perfect_hash(&*self, bit, start >> bit)?);
                start += k;
            }
        }
        self.frontier = Frontier::from_parts(self.size, frontier_stack);
        let latest = self.latest_checkpoint_verified()?;
        match latest {
            None if self.size == 0 => Ok(()),
            None => Err(LedgerError::Corrupt("entries without a checkpoint".into())),
            Some(cp) if cp.size == self.size && cp.root == self.frontier.root() => Ok(()),
            Some(cp) => Err(LedgerError::Corrupt(format!(
                "latest checkpoint (size {}) does not match the stored tree (size {})",
                cp.size, self.size
            ))),
        }
    }

    /// The log's origin.
    pub fn origin(&self) -> &str {
        self.signer.verifier().name()
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether the log was closed.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The root at the current size.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// Appends `entries` in one durable transaction and signs the new checkpoint.
    pub fn append_batch<E: AsRef<[u8]>>(&mut self, entries: &[E]) -> Result<Commit, LedgerError> {
        self.writable()?;
        if self.closed {
            return Err(LedgerError::Closed);
        }
        if entries.is_empty() || entries.len() > MAX_BATCH {
            return Err(LedgerError::BadBatch(entries.len()));
        }
        for (index, e) in entries.iter().enumerate() {
            let len = e.as_ref().len();
            if len == 0 || len > MAX_ENTRY_LEN {
                return Err(LedgerError::BadEntry { index, len });
            }
        }
        let first = self.size;
        let origin = self.origin().to_string();
        let mut edge = self.edge.clone();
        let mut frontier = self.frontier.clone();
        let mut completed: Vec<TileWrite> = Vec::new();
        let mut leaf_hashes = Vec::with_capacity(entries.len());
        for e in entries {
            let h = leaf_hash(e.as_ref());
            edge.push(h, &mut completed);
            frontier.push(h);
            leaf_hashes.push(h);
        }
        let size = first + entries.len() as u64;
        let cp = Checkpoint {
            origin,
            size,
            root: frontier.root(),
        };
        let body = cp.body();
        let mut note = SignedNote::new(body.clone());
        note.add_signature_line(&self.signer.signature_line(&body, 0))?;
        let note = note.to_text();
        let stored = self.store.append(&Append {
            first,
            entries: entries.iter().map(AsRef::as_ref).collect(),
            leaves: &leaf_hashes,
            tiles: completed
                .iter()
                .chain(edge.partial_tiles().iter())
                .map(|(level, idx, hashes)| (*level, *idx, blob_of(hashes)))
                .collect(),
            checkpoint: &note,
        });
        self.write_failed = stored.is_err();
        stored?;
        // Only now, durably committed, does the in-memory state move on.
        self.size = size;
        self.edge = edge;
        self.frontier = frontier;
        Ok(Commit {
            first_index: first,
            leaf_hashes,
            checkpoint: note,
            size,
        })
    }

    /// Closes the log: every later append is refused.
    pub fn close(&mut self) -> Result<(), LedgerError> {
        self.writable()?;
        self.store.close(self.size)?;
        self.closed = true;
        Ok(())
    }

    /// The signed checkpoint of size `size`, with its cosignatures.
    pub fn checkpoint_at(&self, size: u64) -> Result<String, LedgerError> {
        read::checkpoint_at(&*self.store, size)
    }

    /// The latest signed checkpoint this ledger holds the tree of (`None` for an empty log): the
    /// writer's last, or the one a follower last caught up with (the writer may have signed newer
    /// ones since; proofs and receipts are against this one).
    pub fn latest_checkpoint(&self) -> Result<Option<String>, LedgerError> {
        if !self.follower {
            return self.store.latest_checkpoint();
        }
        if self.size == 0 {
            return Ok(None);
        }
        self.checkpoint_at(self.size).map(Some)
    }

    /// The latest checkpoint, whose signature by this log's key must verify: whoever can write the
    /// database (a file's owner, a shared database's administrators) cannot make the writer sign
    /// on top of a history it did not sign.
    fn latest_checkpoint_verified(&self) -> Result<Option<Checkpoint>, LedgerError> {
        let Some(text) = self.store.latest_checkpoint()? else {
            return Ok(None);
        };
        let note = SignedNote::parse(&text)?;
        note.verify(self.signer.verifier()).map_err(|e| {
            LedgerError::Corrupt(format!(
                "the latest checkpoint is not signed by this log: {e}"
            ))
        })?;
        Ok(Some(Checkpoint::parse_body(&note.body)?))
    }

    /// Sizes of every stored checkpoint, ascending.
    pub fn checkpoint_sizes(&self) -> Result<Vec<u64>, LedgerError> {
        self.store.checkpoint_sizes()
    }

    /// Adds a witness's cosignature line to the checkpoint of size `size`.
    pub fn add_cosignature(&mut self, size: u64, line: &str) -> Result<(), LedgerError> {
        self.writable()?;
        let mut note = SignedNote::parse(&self.checkpoint_at(size)?)?;
        note.add_signature_line(line)?;
        self.store
            .replace_checkpoint(self.size, size, &note.to_text())
    }

    /// Asks every witness, all at once, to co-sign the latest checkpoint (each with a consistency
    /// proof from the size it last co-signed; a witness that answers with another size is asked
    /// once more from that size), and stores the cosignatures it gets. A witness already on the
    /// checkpoint is not asked again. Refusals and unreachable witnesses are reported, not errors:
    /// the caller decides whether the round reached its quorum.
    pub fn collect_cosignatures<C: Cosigner>(
        &mut self,
        witnesses: &mut [C],
        timestamp: u64,
    ) -> Result<CosignRound, LedgerError> {
        self.writable()?;
        let Some(note) = self.latest_checkpoint()? else {
            return Ok(CosignRound::default());
        };
        let size = self.size;
        let origin = self.origin().to_string();
        let signed: Vec<String> = SignedNote::parse(&note)?
            .signatures
            .into_iter()
            .map(|s| s.name)
            .collect();
        let mut round = CosignRound::default();
        // (witness, old size, proof) still to ask.
        let mut asks: Vec<(usize, u64, Vec<Hash>)> = Vec::new();
        for (i, w) in witnesses.iter().enumerate() {
            if signed.iter().any(|n| n == w.name()) {
                round.cosigned += 1;
                continue;
            }
            let old = w.last_size(&origin).min(size);
            asks.push((i, old, self.proof_between(old, size)?));
        }
        for _attempt in 0..2 {
            if asks.is_empty() {
                break;
            }
            let answers: Vec<(usize, Result<String, CosignError>)> = std::thread::scope(|scope| {
                let handles: Vec<_> = witnesses
                    .iter_mut()
                    .enumerate()
                    .filter_map(|(i, w)| {
                        let (_, old, proof) = asks.iter().find(|a| a.0 == i)?;
                        let note = &note;
                        Some(scope.spawn(move || (i, w.cosign(note, *old, proof, timestamp))))
                    })
                    .collect();
                handles.into_iter().filter_map(|h| h.join().ok()).collect()
            });
            asks.clear();
            for (i, answer) in answers {
                let name = witnesses[i].name().to_string();
                match answer {
                    Ok(line) => match self.add_cosignature(size, &line) {
                        Ok(()) => round.cosigned += 1,
                        Err(e) => round.failures.push((name, e.to_string())),
                    },
                    Err(CosignError::Conflict(latest)) if latest <= size => {
                        asks.push((i, latest, self.proof_between(latest, size)?));
                    }
                    Err(e) => round.failures.push((name, e.to_string())),
                }
            }
        }
        for (i, old, _) in asks {
            round.failures.push((
                witnesses[i].name().to_string(),
                format!("still in conflict (last co-signed size {old})"),
            ));
        }
        Ok(round)
    }

    /// The consistency proof a witness needs from `old` to `new` (empty from 0 or to itself).
    fn proof_between(&self, old: u64, new: u64) -> Result<Vec<Hash>, LedgerError> {
        if old == 0 || old == new {
            Ok(Vec::new())
        } else {
            self.consistency_proof(old, new)
        }
    }

    /// Entry `index`.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>, LedgerError> {
        self.store
            .entries(index, index.saturating_add(1))?
            .pop()
            .ok_or_else(|| LedgerError::NotFound(format!("entry {index}")))
    }

    /// Entries `start..end` (at most [`MAX_BATCH`]).
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, LedgerError> {
        if end > self.size {
            return Err(LedgerError::NotFound(format!("range {start}..{end}")));
        }
        read::entries(&*self.store, start, end)
    }

    /// The index of the entry with this leaf hash (a ballot's tracking code).
    pub fn index_of(&self, leaf: &Hash) -> Result<Option<u64>, LedgerError> {
        self.store.index_of(leaf, self.size)
    }

    /// Up to `limit` entries whose leaf hash lies in `[lo, hi]` (a tracking code prefix), by hash.
    pub fn leaves_between(
        &self,
        lo: &Hash,
        hi: &Hash,
        limit: u32,
    ) -> Result<Vec<(Hash, u64)>, LedgerError> {
        self.store.leaves_between(lo, hi, self.size, limit)
    }

    /// The stored tile `(level, index)`, cut to `width` hashes (tiles only grow, so a narrower
    /// request is the tile as it was at an earlier size).
    pub fn tile(&self, level: u32, index: u64, width: u64) -> Result<Vec<u8>, LedgerError> {
        read::tile(&*self.store, level, index, width)
    }

    /// Entry bundle `index` (entries `256·index ..`, `width` of them), each `u32be(len) ‖ entry`.
    pub fn entry_bundle(&self, index: u64, width: u64) -> Result<Vec<u8>, LedgerError> {
        read::entry_bundle(&*self.store, index, width)
    }

    /// The hashes of tile `(level, index)`, from the cache when it is full.
    fn read_tile(&self, level: u32, index: u64) -> Result<Arc<Vec<Hash>>, LedgerError> {
        if let Some(t) = self.tile_cache.borrow().get(&(level, index)) {
            return Ok(t.clone());
        }
        // The partial tile of a level is the committed right edge, already in memory: proofs
        // against the latest checkpoint read it at every level, and a database round trip each
        // (PostgreSQL's, above all) would dominate the receipt.
        let l = level as usize;
        if self.edge.full.get(l) == Some(&index)
            && self.edge.rows.get(l).is_some_and(|r| !r.is_empty())
        {
            return Ok(Arc::new(self.edge.rows[l].clone()));
        }
        let data = self
            .store
            .tile(level, index)?
            .ok_or_else(|| LedgerError::Corrupt(format!("missing tile {level}/{index}")))?;
        let hashes = Arc::new(hashes_of(&data)?);
        if hashes.len() as u64 == TILE_WIDTH {
            let mut cache = self.tile_cache.borrow_mut();
            if cache.len() >= TILE_CACHE {
                cache.clear();
            }
            cache.insert((level, index), hashes.clone());
        }
        Ok(hashes)
    }

    /// Inclusion proof of entry `index` in the tree of size `size`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LedgerError> {
        if index >= size || size > self.size {
            return Err(LedgerError::NotFound(format!(
                "entry {index} in size {size}"
            )));
        }
        inclusion_proof_from(self, index, size)
    }

    /// Consistency proof from size `m` to size `n`.
    pub fn consistency_proof(&self, m: u64, n: u64) -> Result<Vec<Hash>, LedgerError> {
        if m == 0 || m > n || n > self.size {
            return Err(LedgerError::NotFound(format!("sizes {m} → {n}")));
        }
        consistency_proof_from(self, m, n)
    }

    /// A receipt for the entry with leaf hash `leaf`, against the latest checkpoint.
    pub fn receipt(&self, leaf: &Hash) -> Result<Receipt, LedgerError> {
        let note = self
            .latest_checkpoint()?
            .ok_or_else(|| LedgerError::NotFound("no checkpoint".into()))?;
        let size = Checkpoint::parse_body(&SignedNote::parse(&note)?.body)?.size;
        self.receipt_against(leaf, size, note)
    }

    /// A receipt for the entry with this leaf hash against the checkpoint of size `size` (with
    /// the cosignatures it has): a follower answers for the checkpoint its sequencer had the
    /// witnesses co-sign, not a newer one they may not have yet.
    pub fn receipt_at(&self, leaf: &Hash, size: u64) -> Result<Receipt, LedgerError> {
        let note = self.checkpoint_at(size)?;
        self.receipt_against(leaf, size, note)
    }

    fn receipt_against(
        &self,
        leaf: &Hash,
        size: u64,
        note: String,
    ) -> Result<Receipt, LedgerError> {
        let index = self
            .index_of(leaf)?
            .ok_or_else(|| LedgerError::NotFound("no entry with that hash".into()))?;
        let proof = self.inclusion_proof(index, size)?;
        Ok(Receipt::new(self.origin(), index, leaf, &proof, &note))
    }

    /// Receipts for the consecutive entries `first_index..` with these leaf hashes, against the
    /// latest checkpoint (with its cosignatures). Subtree hashes shared between the proofs (all the
    /// upper levels) are computed once for the whole batch.
    pub fn receipts_for(
        &self,
        first_index: u64,
        leaves: &[Hash],
    ) -> Result<Vec<Receipt>, LedgerError> {
        let note = self
            .latest_checkpoint()?
            .ok_or_else(|| LedgerError::NotFound("no checkpoint".into()))?;
        let size = Checkpoint::parse_body(&SignedNote::parse(&note)?.body)?.size;
        let memo = Memo {
            ledger: self,
            cache: RefCell::new(HashMap::new()),
        };
        leaves
            .iter()
            .enumerate()
            .map(|(i, leaf)| {
                let index = first_index + i as u64;
                if index >= size {
                    return Err(LedgerError::NotFound(format!(
                        "entry {index} in size {size}"
                    )));
                }
                let proof = inclusion_proof_from(&memo, index, size)?;
                Ok(Receipt::new(self.origin(), index, leaf, &proof, &note))
            })
            .collect()
    }

    /// Recomputes the root of every stored checkpoint from the tiles and checks each signature
    /// covers the stored tree. Returns the number of checkpoints checked.
    pub fn verify_history(&self) -> Result<usize, LedgerError> {
        let sizes = self.checkpoint_sizes()?;
        for &size in &sizes {
            let note = SignedNote::parse(&self.checkpoint_at(size)?)?;
            note.verify(self.signer.verifier())?;
            let cp = Checkpoint::parse_body(&note.body)?;
            let root = if size == 0 {
                empty_root()
            } else {
                self.range_hash(0, size)?
            };
            if cp.size != size || cp.root != root {
                return Err(LedgerError::Corrupt(format!(
                    "checkpoint of size {size} does not match the tree"
                )));
            }
        }
        Ok(sizes.len())
    }

    /// Writes the whole log as an export directory (entries, latest checkpoint, earlier ones).
    pub fn export(&self, dir: &Path) -> Result<(), LedgerError> {
        read::export(&*self.store, self.size, dir)
    }
}

/// Range hashes memoized for one batch of proofs.
struct Memo<'a> {
    ledger: &'a Ledger,
    cache: RefCell<HashMap<(u64, u64), Hash>>,
}

impl RangeHasher for Memo<'_> {
    type Error = LedgerError;
    fn range_hash(&self, start: u64, end: u64) -> Result<Hash, LedgerError> {
        if let Some(h) = self.cache.borrow().get(&(start, end)) {
            return Ok(*h);
        }
        let h = self.ledger.range_hash(start, end)?;
        self.cache.borrow_mut().insert((start, end), h);
        Ok(h)
    }
}

impl TileSource for Ledger {
    type Error = LedgerError;
    fn tile_hashes(&self, level: u32, index: u64) -> Result<Arc<Vec<Hash>>, LedgerError> {
        self.read_tile(level, index)
    }
}

impl RangeHasher for Ledger {
    type Error = LedgerError;
    fn range_hash(&self, start: u64, end: u64) -> Result<Hash, LedgerError> {
        crate::tiles::range_hash(self, start, end)
    }
}

impl From<TileGap> for LedgerError {
    fn from(TileGap(level, index): TileGap) -> Self {
        LedgerError::Corrupt(format!("missing or short tile {level}/{index}"))
    }
}

/// What one round of [`Ledger::collect_cosignatures`] got.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CosignRound {
    /// Witnesses whose cosignature is now on the latest checkpoint.
    pub cosigned: usize,
    /// The others: `(witness, why)`.
    pub failures: Vec<(String, String)>,
}

impl CosignRound {
    /// Every witness co-signed (in-process witnesses never fail unless the log misbehaved).
    pub fn all_cosigned(self) -> Result<(), LedgerError> {
        match self.failures.first() {
            None => Ok(()),
            Some((name, why)) => Err(LedgerError::Corrupt(format!(
                "witness {name} gave no cosignature: {why}"
            ))),
        }
    }
}

/// Reads shared by [`Ledger`] and [`LedgerReader`], with the checks every backend needs.
mod read {
    use std::path::Path;

    use super::{ExportWriter, LedgerError, MAX_BATCH, Storage, TILE_WIDTH};

    /// The log as it was at size `size` (a checkpoint's), as an export directory: its entries,
    /// the checkpoint of that size and every earlier one.
    pub(super) fn export(store: &dyn Storage, size: u64, dir: &Path) -> Result<(), LedgerError> {
        let mut w = ExportWriter::create(dir)?;
        let mut start = 0;
        while start < size {
            let end = (start + MAX_BATCH as u64).min(size);
            for e in entries(store, start, end)? {
                w.append(&e)?;
            }
            start = end;
        }
        let latest = checkpoint_at(store, size)?;
        let earlier = store
            .checkpoint_sizes()?
            .into_iter()
            .filter(|&s| s < size)
            .map(|s| checkpoint_at(store, s))
            .collect::<Result<Vec<_>, _>>()?;
        w.finish_with_notes(&latest, &earlier)?;
        Ok(())
    }

    pub(super) fn checkpoint_at(store: &dyn Storage, size: u64) -> Result<String, LedgerError> {
        store
            .checkpoint_at(size)?
            .ok_or_else(|| LedgerError::NotFound(format!("checkpoint of size {size}")))
    }

    pub(super) fn tile(
        store: &dyn Storage,
        level: u32,
        index: u64,
        width: u64,
    ) -> Result<Vec<u8>, LedgerError> {
        match store.tile(level, index)? {
            Some(d) if (1..=TILE_WIDTH).contains(&width) && d.len() as u64 >= 32 * width => {
                Ok(d[..32 * width as usize].to_vec())
            }
            _ => Err(LedgerError::NotFound(format!(
                "tile {level}/{index} width {width}"
            ))),
        }
    }

    pub(super) fn entry_bundle(
        store: &dyn Storage,
        index: u64,
        width: u64,
    ) -> Result<Vec<u8>, LedgerError> {
        let not_found = || LedgerError::NotFound(format!("entry bundle {index} width {width}"));
        if width == 0 || width > TILE_WIDTH {
            return Err(not_found());
        }
        let start = index.checked_mul(TILE_WIDTH).ok_or_else(not_found)?;
        let mut out = Vec::new();
        for e in entries(store, start, start + width).map_err(|_| not_found())? {
            out.extend_from_slice(&(e.len() as u32).to_be_bytes());
            out.extend_from_slice(&e);
        }
        Ok(out)
    }

    /// Entries `start..end`, all of which must exist (at most [`MAX_BATCH`]).
    pub(super) fn entries(
        store: &dyn Storage,
        start: u64,
        end: u64,
    ) -> Result<Vec<Vec<u8>>, LedgerError> {
        if end < start || end - start > MAX_BATCH as u64 {
            return Err(LedgerError::NotFound(format!("range {start}..{end}")));
        }
        let out = store.entries(start, end)?;
        if out.len() as u64 != end - start {
            return Err(LedgerError::NotFound(format!("range {start}..{end}")));
        }
        Ok(out)
    }
}

/// A read-only handle on a ledger's database, for long reads (a whole-record download) that must
/// neither wait for the writer nor hold it up: with SQLite's write-ahead log, or PostgreSQL's
/// snapshots, it reads committed entries while the sequencer appends. Entries and checkpoints
/// never change once written, so a reader that stops at a checkpoint's size sees exactly that
/// checkpoint's tree.
#[derive(Debug)]
pub struct LedgerReader {
    store: Box<dyn Storage>,
}

impl LedgerReader {
    /// Opens the SQLite database `path` (an existing ledger) read-only.
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        Ok(Self {
            store: Box::new(sqlite::SqliteStore::open_read_only(path)?),
        })
    }

    /// Opens the log `origin` in the PostgreSQL database at `url`, for reading only (no lease).
    #[cfg(feature = "postgres")]
    pub fn open_postgres(url: &str, origin: &str) -> Result<Self, LedgerError> {
        Ok(Self {
            store: Box::new(postgres::PostgresStore::open_reader(url, origin)?),
        })
    }

    /// The latest signed checkpoint (`None` for an empty log).
    pub fn latest_checkpoint(&self) -> Result<Option<String>, LedgerError> {
        self.store.latest_checkpoint()
    }

    /// The signed checkpoint of size `size`.
    pub fn checkpoint_at(&self, size: u64) -> Result<String, LedgerError> {
        read::checkpoint_at(&*self.store, size)
    }

    /// Sizes of every stored checkpoint, ascending.
    pub fn checkpoint_sizes(&self) -> Result<Vec<u64>, LedgerError> {
        self.store.checkpoint_sizes()
    }

    /// Entries `start..end` (at most [`MAX_BATCH`]; all must exist).
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, LedgerError> {
        read::entries(&*self.store, start, end)
    }

    /// The stored tile `(level, index)`, cut to `width` hashes.
    pub fn tile(&self, level: u32, index: u64, width: u64) -> Result<Vec<u8>, LedgerError> {
        read::tile(&*self.store, level, index, width)
    }

    /// Entry bundle `index`, `width` entries, each `u32be(len) ‖ entry`.
    pub fn entry_bundle(&self, index: u64, width: u64) -> Result<Vec<u8>, LedgerError> {
        read::entry_bundle(&*self.store, index, width)
    }

    /// Writes the log as it is at its latest checkpoint as an export directory (a record
    /// `hanpyo verify` reads), while a writer may go on appending.
    pub fn export(&self, dir: &Path) -> Result<u64, LedgerError> {
        let note = self
            .latest_checkpoint()?
            .ok_or_else(|| LedgerError::NotFound("no checkpoint".into()))?;
        let size = Checkpoint::parse_body(&SignedNote::parse(&note)?.body)?.size;
        read::export(&*self.store, size, dir)?;
        Ok(size)
    }
}
