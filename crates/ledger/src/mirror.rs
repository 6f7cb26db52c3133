//! A mirror's copy of a log: every entry, checked against every checkpoint it is shown, kept in a
//! directory that is at once an election record (`entries`, `checkpoint`, `checkpoints`: what
//! `hanpyo verify` reads) and a static C2SP tlog-tiles tree (`checkpoint`, `tile/<L>/<N>[.p/<W>]`,
//! `tile/entries/<N>[.p/<W>]`) that any static web server can serve to others.
//!
//! A checkpoint is accepted only if it is signed by the log and the root of the mirror's entries
//! at its size is the checkpoint's root: a log that rewrote, dropped or forked any entry the
//! mirror holds, or shows a smaller tree than before, is caught ([`MirrorError`]) and nothing is
//! written. Crash safety: entries and tiles are written first, the checkpoint last (atomically); on
//! opening, entries beyond the checkpoint's size are cut off.
//!
//! Beside the record, `leaves.sqlite` indexes every entry by its leaf hash (a ballot's tracking
//! code), so a mirror answers what a server's public board does: receipts against its checkpoint,
//! an entry by index or tracking code, consistency proofs. The index can always be rebuilt from the
//! entries: it is brought level with the checkpoint on opening.
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::checkpoint::{Checkpoint, NoteError, NoteVerifier, SignedNote};
use crate::export::{CHECKPOINT_FILE, CHECKPOINTS_FILE, ENTRIES_FILE, MAX_ENTRY_LEN};
use std::sync::Arc;

use rusqlite::{Connection, params};

use crate::merkle::{
    Frontier, Hash, RangeHasher, consistency_proof_from, inclusion_proof_from, leaf_hash,
};
use crate::receipt::Receipt;
use crate::tiles::{TILE_WIDTH, TileEdge, TileGap, TileSource, entries_path, tile_path};

/// The leaf-hash index beside the record.
pub const INDEX_FILE: &str = "leaves.sqlite";

/// Why the mirror refused what the log showed it.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    /// The checkpoint is malformed, for another log, or not signed by the log's key.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] NoteError),
    /// The checkpoint names another origin than the log being mirrored.
    #[error("checkpoint of log {got:?}, not {want:?}")]
    Origin {
        /// The mirrored log.
        want: String,
        /// The checkpoint's.
        got: String,
    },
    /// A smaller tree than one already checked: the log rolled back.
    #[error("rollback: the log shows size {shown} after size {held} was checked")]
    Rollback {
        /// What the mirror holds.
        held: u64,
        /// What the log shows.
        shown: u64,
    },
    /// The checkpoint's root is not the root of the entries: the log's history changed (or the
    /// entries served are not the checkpoint's).
    #[error(
        "fork: the checkpoint of size {size} does not match the entries (the log's history differs from the mirror's)"
    )]
    Fork {
        /// The checkpoint's size.
        size: u64,
    },
    /// Not the entries the checkpoint needs.
    #[error("entries: {0}")]
    Entries(String),
    /// The mirror's own files.
    #[error("mirror directory: {0}")]
    Io(#[from] std::io::Error),
    /// The mirror's leaf-hash index.
    #[error("mirror index: {0}")]
    Index(#[from] rusqlite::Error),
    /// A tile the mirror should hold is missing or short.
    #[error("mirror directory: missing or short tile {0}/{1}")]
    Tile(u32, u64),
    /// An index, size or hash the mirror does not hold.
    #[error("not found: {0}")]
    NotFound(String),
}

impl From<TileGap> for MirrorError {
    fn from(TileGap(level, index): TileGap) -> Self {
        MirrorError::Tile(level, index)
    }
}

/// The mirror's state and directory.
#[derive(Debug)]
pub struct Mirror {
    dir: PathBuf,
    frontier: Frontier,
    edge: TileEdge,
    /// Length of `entries` up to the checkpoint's size.
    entries_len: u64,
    checkpoint: Option<String>,
    /// The entries of the last, partial entry bundle.
    tail: Vec<Vec<u8>>,
    /// Leaf hash → index of the first entry with it.
    index: Connection,
}

fn frame(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 4);
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
    out
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename).
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Splits `u32be(len) ‖ entry` frames.
pub fn split_frames(bytes: &[u8]) -> Result<Vec<Vec<u8>>, MirrorError> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (len, tail) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| MirrorError::Entries("a truncated frame".into()))?;
        let len = u32::from_be_bytes(*len) as usize;
        if len > MAX_ENTRY_LEN || len > tail.len() {
            return Err(MirrorError::Entries("a frame longer than its data".into()));
        }
        out.push(tail[..len].to_vec());
        rest = &tail[len..];
    }
    Ok(out)
}

impl Mirror {
    /// Opens (or creates) the mirror in `dir`, re-reading its entries and checking them against
    /// its checkpoint.
    pub fn open(dir: &Path) -> Result<Self, MirrorError> {
        std::fs::create_dir_all(dir)?;
        let checkpoint = match std::fs::read_to_string(dir.join(CHECKPOINT_FILE)) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e.into()),
        };
        let size = match &checkpoint {
            Some(t) => Checkpoint::parse_body(&SignedNote::parse(t)?.body)?.size,
            None => 0,
        };
        let index = open_index(&dir.join(INDEX_FILE))?;
        let mut m = Self {
            dir: dir.to_path_buf(),
            frontier: Frontier::new(),
            edge: TileEdge::default(),
            entries_len: 0,
            checkpoint,
            tail: Vec::new(),
            index,
        };
        let indexed = m.indexed()?;
        let mut unindexed = Vec::new();
        let mut bytes = Vec::new();
        if let Ok(mut f) = File::open(dir.join(ENTRIES_FILE)) {
            f.read_to_end(&mut bytes)?;
        }
        let mut offset = 0usize;
        while m.frontier.size() < size {
            let len = bytes
                .get(offset..offset + 4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(u32::from_be_bytes)
                .ok_or_else(|| MirrorError::Entries("fewer entries than the checkpoint".into()))?
                as usize;
            let entry = bytes
                .get(offset + 4..offset + 4 + len)
                .ok_or_else(|| MirrorError::Entries("a truncated entry".into()))?;
            if m.frontier.size() >= indexed {
                unindexed.push(leaf_hash(entry));
            }
            m.push(entry, &mut Vec::new());
            offset += 4 + len;
        }
        m.entries_len = offset as u64;
        if let Some(t) = &m.checkpoint {
            let cp = Checkpoint::parse_body(&SignedNote::parse(t)?.body)?;
            if cp.root != m.frontier.root() {
                return Err(MirrorError::Fork { size });
            }
        }
        // The index level with the checkpoint: rows of entries beyond it (a crash before the
        // checkpoint was written) dropped, missing ones added.
        if indexed > size {
            let tx = m.index.transaction()?;
            tx.execute("DELETE FROM leaves WHERE idx >= ?1", params![size])?;
            tx.execute("UPDATE indexed SET size = ?1", params![size])?;
            tx.commit()?;
        } else if indexed < size {
            m.index_leaves(indexed, &unindexed)?;
        }
        // Entries written after the last checkpoint (a crash in between) are dropped.
        if bytes.len() > offset {
            OpenOptions::new()
                .write(true)
                .open(dir.join(ENTRIES_FILE))?
                .set_len(offset as u64)?;
        }
        Ok(m)
    }

    /// Entries held (the checkpoint's size).
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The latest checkpoint accepted.
    pub fn checkpoint(&self) -> Option<&str> {
        self.checkpoint.as_deref()
    }

    /// Bytes of the `entries` file that belong to the checkpoint.
    pub fn entries_len(&self) -> u64 {
        self.entries_len
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds an entry; answers the entry bundle it completed, if any: `(index, entries)`.
    fn push(
        &mut self,
        entry: &[u8],
        tiles: &mut Vec<crate::tiles::TileWrite>,
    ) -> Option<(u64, Vec<Vec<u8>>)> {
        let leaf = leaf_hash(entry);
        let index = self.frontier.size() / TILE_WIDTH;
        self.frontier.push(leaf);
        self.edge.push(leaf, tiles);
        self.tail.push(entry.to_vec());
        (self.tail.len() as u64 == TILE_WIDTH).then(|| (index, std::mem::take(&mut self.tail)))
    }

    fn write_bundle(&self, index: u64, entries: &[Vec<u8>]) -> std::io::Result<()> {
        let bundle: Vec<u8> = entries.iter().flat_map(|e| frame(e)).collect();
        let path = self.dir.join(entries_path(index, entries.len() as u64));
        write_atomically(&path, &bundle)
    }

    /// A checkpoint of the mirrored log, its signature checked.
    fn checked(note: &str, log: &NoteVerifier) -> Result<Checkpoint, MirrorError> {
        let parsed = SignedNote::parse(note)?;
        let cp = Checkpoint::parse_body(&parsed.body)?;
        if cp.origin != log.name() {
            return Err(MirrorError::Origin {
                want: log.name().to_string(),
                got: cp.origin,
            });
        }
        parsed.verify(log)?;
        Ok(cp)
    }

    /// Checks `note` (signed by `log`) against the mirror's entries followed by `new_entries`
    /// (those after [`Mirror::size`], up to the checkpoint's size), and each of the `earlier`
    /// checkpoints (ascending, strictly between the two sizes) against the entries up to its own
    /// size; only if all hold, writes the entries, their tiles, the earlier checkpoints and the
    /// held one to `checkpoints`, and `note` as the checkpoint.
    pub fn advance(
        &mut self,
        earlier: &[String],
        note: &str,
        log: &NoteVerifier,
        new_entries: &[Vec<u8>],
    ) -> Result<(), MirrorError> {
        let cp = Self::checked(note, log)?;
        let held = self.size();
        if cp.size < held {
            return Err(MirrorError::Rollback {
                held,
                shown: cp.size,
            });
        }
        if cp.size - held != new_entries.len() as u64 {
            return Err(MirrorError::Entries(format!(
                "{} entries for sizes {held}..{}",
                new_entries.len(),
                cp.size
            )));
        }
        let mut stops = Vec::with_capacity(earlier.len());
        let mut last = held;
        for n in earlier {
            let e = Self::checked(n, log)?;
            if e.size <= last || e.size >= cp.size {
                return Err(MirrorError::Entries(format!(
                    "checkpoint of size {} out of order",
                    e.size
                )));
            }
            last = e.size;
            stops.push(e);
        }
        // Check first, on a copy: nothing is written unless every root matches.
        let mut frontier = self.frontier.clone();
        let mut next = stops.iter().peekable();
        for e in new_entries {
            frontier.push(leaf_hash(e));
            if let Some(stop) = next.next_if(|s| s.size == frontier.size())
                && frontier.root() != stop.root
            {
                return Err(MirrorError::Fork { size: stop.size });
            }
        }
        if frontier.root() != cp.root {
            return Err(MirrorError::Fork { size: cp.size });
        }
        let mut tiles = Vec::new();
        let mut bundles = Vec::new();
        let mut bytes = Vec::new();
        for e in new_entries {
            bundles.extend(self.push(e, &mut tiles));
            bytes.extend_from_slice(&frame(e));
        }
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(ENTRIES_FILE))?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        // Hash tiles (full ones and the new right edge) and entry bundles.
        for (level, index, hashes) in tiles.iter().chain(self.edge.partial_tiles().iter()) {
            let path = self
                .dir
                .join(tile_path(*level, *index, hashes.len() as u64));
            write_atomically(&path, &hashes.concat())?;
        }
        for (index, entries) in &bundles {
            self.write_bundle(*index, entries)?;
        }
        if !self.tail.is_empty() && !new_entries.is_empty() {
            self.write_bundle(self.size() / TILE_WIDTH, &self.tail)?;
        }
        self.index_leaves(
            held,
            &new_entries.iter().map(|e| leaf_hash(e)).collect::<Vec<_>>(),
        )?;
        // A larger tree's checkpoint joins the history; the same size with new cosignatures
        // replaces it.
        let mut history = Vec::new();
        if let Some(old) = self.checkpoint.take()
            && cp.size > held
        {
            history.extend_from_slice(&frame(old.as_bytes()));
        }
        for n in earlier {
            history.extend_from_slice(&frame(n.as_bytes()));
        }
        if !history.is_empty() {
            let mut c = OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join(CHECKPOINTS_FILE))?;
            c.write_all(&history)?;
            c.sync_all()?;
        }
        write_atomically(&self.dir.join(CHECKPOINT_FILE), note.as_bytes())?;
        self.entries_len += bytes.len() as u64;
        self.checkpoint = Some(note.to_string());
        Ok(())
    }
}

/// Opens (or creates) the leaf-hash index.
fn open_index(path: &Path) -> Result<Connection, MirrorError> {
    let conn = Connection::open(path)?;
    // The index is rebuilt from the entries if it is behind: no need to fsync every write.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS leaves (hash BLOB PRIMARY KEY, idx INTEGER NOT NULL) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS indexed (size INTEGER NOT NULL);
         INSERT INTO indexed SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM indexed);",
    )?;
    Ok(conn)
}

impl Mirror {
    /// Entries the index covers.
    fn indexed(&self) -> Result<u64, MirrorError> {
        Ok(self
            .index
            .query_row("SELECT size FROM indexed", [], |r| r.get(0))?)
    }

    /// Indexes the entries `first..` with these leaf hashes (an identical later entry keeps the
    /// first one's index, as the server's log does).
    fn index_leaves(&mut self, first: u64, leaves: &[Hash]) -> Result<(), MirrorError> {
        let tx = self.index.transaction()?;
        {
            let mut insert =
                tx.prepare_cached("INSERT OR IGNORE INTO leaves (hash, idx) VALUES (?1, ?2)")?;
            for (i, leaf) in leaves.iter().enumerate() {
                insert.execute(params![&leaf[..], first + i as u64])?;
            }
        }
        tx.execute(
            "UPDATE indexed SET size = ?1",
            params![first + leaves.len() as u64],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The index of the entry with this leaf hash (a tracking code).
    pub fn index_of(&self, leaf: &Hash) -> Result<Option<u64>, MirrorError> {
        Ok(crate::store::sqlite::index_of(
            &self.index,
            leaf,
            self.size(),
        )?)
    }

    /// Up to `limit` entries whose leaf hash lies in `[lo, hi]`, by hash.
    pub fn leaves_between(
        &self,
        lo: &Hash,
        hi: &Hash,
        limit: u32,
    ) -> Result<Vec<(Hash, u64)>, MirrorError> {
        Ok(crate::store::sqlite::leaves_between(
            &self.index,
            lo,
            hi,
            self.size(),
            limit,
        )?)
    }

    /// Entry `index`, from its entry bundle.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>, MirrorError> {
        let size = self.size();
        if index >= size {
            return Err(MirrorError::NotFound(format!("entry {index}")));
        }
        let bundle = index / TILE_WIDTH;
        let at = (index % TILE_WIDTH) as usize;
        if bundle == size / TILE_WIDTH {
            return self
                .tail
                .get(at)
                .cloned()
                .ok_or(MirrorError::Tile(0, bundle));
        }
        let bytes = std::fs::read(self.dir.join(entries_path(bundle, TILE_WIDTH)))?;
        split_frames(&bytes)?
            .into_iter()
            .nth(at)
            .ok_or(MirrorError::Tile(0, bundle))
    }

    /// Entries `start..end` (all held).
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, MirrorError> {
        if start > end || end > self.size() {
            return Err(MirrorError::NotFound(format!("range {start}..{end}")));
        }
        let mut out = Vec::with_capacity((end - start) as usize);
        let mut at = start;
        while at < end {
            let bundle = at / TILE_WIDTH;
            let skip = (at % TILE_WIDTH) as usize;
            let take = ((bundle + 1) * TILE_WIDTH).min(end) - at;
            let entries = if bundle == self.size() / TILE_WIDTH {
                self.tail.clone()
            } else {
                split_frames(&std::fs::read(
                    self.dir.join(entries_path(bundle, TILE_WIDTH)),
                )?)?
            };
            let got: Vec<_> = entries.into_iter().skip(skip).take(take as usize).collect();
            if got.len() as u64 != take {
                return Err(MirrorError::Tile(0, bundle));
            }
            out.extend(got);
            at += take;
        }
        Ok(out)
    }

    /// The latest checkpoint's size and log name.
    fn held(&self) -> Result<(Checkpoint, &str), MirrorError> {
        let note = self
            .checkpoint
            .as_deref()
            .ok_or_else(|| MirrorError::NotFound("no checkpoint yet".into()))?;
        Ok((
            Checkpoint::parse_body(&SignedNote::parse(note)?.body)?,
            note,
        ))
    }

    /// A receipt for the entry with leaf hash `leaf`, against the mirror's checkpoint (with the
    /// cosignatures the log showed).
    pub fn receipt(&self, leaf: &Hash) -> Result<Receipt, MirrorError> {
        let index = self
            .index_of(leaf)?
            .ok_or_else(|| MirrorError::NotFound("no entry with that hash".into()))?;
        let (cp, note) = self.held()?;
        let proof = inclusion_proof_from(self, index, cp.size)?;
        Ok(Receipt::new(&cp.origin, index, leaf, &proof, note))
    }

    /// Consistency proof from size `m` to size `n` (`0 < m ≤ n ≤` the mirror's size).
    pub fn consistency_proof(&self, m: u64, n: u64) -> Result<Vec<Hash>, MirrorError> {
        if m == 0 || m > n || n > self.size() {
            return Err(MirrorError::NotFound(format!("sizes {m} → {n}")));
        }
        consistency_proof_from(self, m, n)
    }
}

impl TileSource for Mirror {
    type Error = MirrorError;

    /// A full tile from its file; the right edge's partial tile from memory (its file may be of
    /// an earlier width).
    fn tile_hashes(&self, level: u32, index: u64) -> Result<Arc<Vec<Hash>>, MirrorError> {
        let l = level as usize;
        if self.edge.full.get(l) == Some(&index) {
            return Ok(Arc::new(self.edge.rows[l].clone()));
        }
        let bytes = std::fs::read(self.dir.join(tile_path(level, index, TILE_WIDTH)))
            .map_err(|_| MirrorError::Tile(level, index))?;
        if bytes.len() as u64 != 32 * TILE_WIDTH {
            return Err(MirrorError::Tile(level, index));
        }
        Ok(Arc::new(
            bytes
                .chunks_exact(32)
                .map(|c| {
                    let mut h = [0u8; 32];
                    h.copy_from_slice(c);
                    h
                })
                .collect(),
        ))
    }
}

impl RangeHasher for Mirror {
    type Error = MirrorError;
    fn range_hash(&self, start: u64, end: u64) -> Result<Hash, MirrorError> {
        crate::tiles::range_hash(self, start, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{KeyKind, NoteSigner};

    fn signer() -> NoteSigner {
        NoteSigner::new(
            "example/log",
            ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]),
            KeyKind::Ed25519,
        )
        .expect("signer")
    }

    fn note(signer: &NoteSigner, entries: &[Vec<u8>]) -> String {
        let mut f = Frontier::new();
        for e in entries {
            f.push_entry(e);
        }
        let body = Checkpoint {
            origin: "example/log".into(),
            size: f.size(),
            root: f.root(),
        }
        .body();
        let mut n = SignedNote::new(body.clone());
        n.add_signature_line(&signer.signature_line(&body, 0))
            .expect("line");
        n.to_text()
    }

    #[test]
    fn follows_a_growing_log_and_refuses_forks_and_rollbacks() {
        let dir = std::env::temp_dir().join(format!("hanpyo-mirror-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = signer();
        let log: Vec<Vec<u8>> = (0..600u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let mut m = Mirror::open(&dir).expect("open");
        m.advance(&[], &note(&s, &log[..300]), s.verifier(), &log[..300])
            .expect("first");
        // Two checkpoints in one step: the earlier one is checked at its own size too.
        let forged_earlier = note(&s, &[log[..400].to_vec(), vec![b"x".to_vec()]].concat());
        let e = m.advance(
            &[forged_earlier],
            &note(&s, &log[..600]),
            s.verifier(),
            &log[300..600],
        );
        assert!(matches!(e, Err(MirrorError::Fork { size: 401 })), "{e:?}");
        assert_eq!(m.size(), 300, "nothing of a refused step is kept");
        m.advance(
            &[note(&s, &log[..450])],
            &note(&s, &log[..600]),
            s.verifier(),
            &log[300..600],
        )
        .expect("second");
        assert_eq!(m.size(), 600);
        // A rewritten history: the same size with one entry changed.
        let mut forged = log.clone();
        forged[5] = b"changed".to_vec();
        forged.push(b"next".to_vec());
        let e = m.advance(&[], &note(&s, &forged), s.verifier(), &forged[600..]);
        assert!(matches!(e, Err(MirrorError::Fork { size: 601 })), "{e:?}");
        let e = m.advance(&[], &note(&s, &log[..10]), s.verifier(), &[]);
        assert!(matches!(e, Err(MirrorError::Rollback { .. })), "{e:?}");
        // Another key's checkpoint.
        let other = NoteSigner::new(
            "example/log",
            ed25519_dalek::SigningKey::from_bytes(&[8u8; 32]),
            KeyKind::Ed25519,
        )
        .expect("signer");
        let e = m.advance(&[], &note(&other, &log), s.verifier(), &[]);
        assert!(matches!(e, Err(MirrorError::Checkpoint(_))), "{e:?}");
        // Reopened: the same state, and the files form a record and a tile tree.
        let m = Mirror::open(&dir).expect("reopen");
        assert_eq!(m.size(), 600);
        assert!(dir.join("tile/0/000").is_file() && dir.join("tile/0/002.p/88").is_file());
        assert!(dir.join("tile/1/000.p/2").is_file());
        let bundle = std::fs::read(dir.join("tile/entries/002.p/88")).expect("bundle");
        assert_eq!(
            split_frames(&bundle).expect("frames"),
            log[512..600].to_vec()
        );
        let history = crate::export::parse_checkpoints(
            &std::fs::read(dir.join("checkpoints")).expect("history"),
        )
        .expect("checkpoints");
        assert_eq!(history, vec![note(&s, &log[..300]), note(&s, &log[..450])]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn answers_receipts_entries_and_proofs_like_the_log() {
        let dir = std::env::temp_dir().join(format!("hanpyo-mirror-reads-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = signer();
        // Past one level-1 tile boundary, with a repeated entry (its first index is kept).
        let mut log: Vec<Vec<u8>> = (0..70_000u32).map(|i| i.to_be_bytes().to_vec()).collect();
        log.push(log[3].clone());
        let leaves: Vec<Hash> = log.iter().map(|e| leaf_hash(e)).collect();
        let mut m = Mirror::open(&dir).expect("open");
        m.advance(&[], &note(&s, &log[..1000]), s.verifier(), &log[..1000])
            .expect("first");
        m.advance(&[], &note(&s, &log), s.verifier(), &log[1000..])
            .expect("second");
        let check = |m: &Mirror| {
            let size = log.len() as u64;
            for index in [0u64, 3, 255, 256, 999, 65_535, 65_536, 69_999] {
                let r = m.receipt(&leaves[index as usize]).expect("receipt");
                assert_eq!(r.index, index);
                r.verify(s.verifier(), &[], 0).expect("receipt verifies");
                assert_eq!(m.entry(index).expect("entry"), log[index as usize]);
            }
            assert_eq!(m.receipt(&leaves[70_000]).expect("repeat").index, 3);
            assert_eq!(m.entries(250, 520).expect("range"), log[250..520].to_vec());
            assert!(m.entry(size).is_err() && m.receipt(&[9u8; 32]).is_err());
            for (old, new) in [(1, size), (1000, size), (65_536, size), (300, 1000)] {
                let proof = m.consistency_proof(old, new).expect("proof");
                assert_eq!(
                    Some(proof),
                    crate::merkle::consistency_proof(&leaves[..new as usize], old as usize)
                );
            }
            let mut sorted = leaves.clone();
            sorted.sort();
            let found = m
                .leaves_between(&sorted[10], &sorted[14], 3)
                .expect("search");
            assert_eq!(
                found.iter().map(|f| f.0).collect::<Vec<_>>(),
                sorted[10..13].to_vec()
            );
        };
        check(&m);
        drop(m);
        // Reopened, and with the index lost: rebuilt from the entries.
        check(&Mirror::open(&dir).expect("reopen"));
        std::fs::remove_file(dir.join(INDEX_FILE)).expect("remove index");
        let _ = std::fs::remove_file(dir.join(format!("{INDEX_FILE}-wal")));
        check(&Mirror::open(&dir).expect("reindexed"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
