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
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::checkpoint::{Checkpoint, NoteError, NoteVerifier, SignedNote};
use crate::export::{CHECKPOINT_FILE, CHECKPOINTS_FILE, ENTRIES_FILE, MAX_ENTRY_LEN};
use crate::merkle::{Frontier, leaf_hash};
use crate::tiles::{TILE_WIDTH, TileEdge, entries_path, tile_path};

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
        let mut m = Self {
            dir: dir.to_path_buf(),
            frontier: Frontier::new(),
            edge: TileEdge::default(),
            entries_len: 0,
            checkpoint,
            tail: Vec::new(),
        };
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
}
