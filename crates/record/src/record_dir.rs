//! The record on disk: a directory with
//!
//! - `entries`: every entry in ledger order, each framed as `u32be(len) ‖ entry`;
//! - `checkpoint`: the C2SP signed note of the log over all of them (origin, size, root).
//!
//! It is the ledger's export: the Merkle root over the entries' leaf hashes must equal the
//! checkpoint's root, so changing, dropping, adding or reordering any entry is detected.
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use hanpyo_ledger::checkpoint::{Checkpoint, NoteSigner, SignedNote};
use hanpyo_ledger::merkle::Frontier;

use crate::entry::MAX_ENTRY_LEN;
use crate::error::RecordError;

/// File name of the framed entries.
pub const ENTRIES_FILE: &str = "entries";
/// File name of the signed checkpoint.
pub const CHECKPOINT_FILE: &str = "checkpoint";

/// Writes a record directory.
#[derive(Debug)]
pub struct RecordWriter {
    dir: PathBuf,
    out: BufWriter<File>,
    tree: Frontier,
    offset: u64,
}

impl RecordWriter {
    /// Creates `dir` (which must not already hold a record).
    pub fn create(dir: &Path) -> Result<Self, RecordError> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(ENTRIES_FILE);
        let file = File::options().write(true).create_new(true).open(&path)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            out: BufWriter::with_capacity(1 << 20, file),
            tree: Frontier::new(),
            offset: 0,
        })
    }

    /// Appends an encoded entry; returns its index.
    pub fn append(&mut self, entry: &[u8]) -> Result<u64, RecordError> {
        if entry.len() > MAX_ENTRY_LEN {
            return Err(RecordError::TooLarge("entry"));
        }
        self.out.write_all(&(entry.len() as u32).to_be_bytes())?;
        self.out.write_all(entry)?;
        self.offset += 4 + entry.len() as u64;
        self.tree.push_entry(entry);
        Ok(self.tree.size() - 1)
    }

    /// The checkpoint of what was appended so far.
    pub fn checkpoint(&self, origin: &str) -> Checkpoint {
        Checkpoint {
            origin: origin.to_string(),
            size: self.tree.size(),
            root: self.tree.root(),
        }
    }

    /// Flushes the entries and writes the checkpoint signed by `signer` (whose name is the origin).
    pub fn finish(mut self, signer: &NoteSigner) -> Result<Checkpoint, RecordError> {
        self.out.flush()?;
        self.out.get_ref().sync_all()?;
        let cp = self.checkpoint(signer.verifier().name());
        let body = cp.body();
        let mut note = SignedNote::new(body.clone());
        note.add_signature_line(&signer.signature_line(&body, 0))
            .map_err(|e| RecordError::Invalid("checkpoint", e.to_string()))?;
        std::fs::write(self.dir.join(CHECKPOINT_FILE), note.to_text())?;
        Ok(cp)
    }
}

/// One framed entry as read back.
#[derive(Debug)]
pub struct Frame {
    /// Index in the log.
    pub index: u64,
    /// Byte offset of the frame in the entries file.
    pub offset: u64,
    /// The entry.
    pub bytes: Vec<u8>,
}

/// Streams the entries of a record directory.
#[derive(Debug)]
pub struct RecordReader {
    input: BufReader<File>,
    index: u64,
    offset: u64,
}

impl RecordReader {
    /// Opens `dir/entries`.
    pub fn open(dir: &Path) -> Result<Self, RecordError> {
        Ok(Self {
            input: BufReader::with_capacity(1 << 20, File::open(dir.join(ENTRIES_FILE))?),
            index: 0,
            offset: 0,
        })
    }

    /// The next frame, `None` at a clean end, an error on a torn or oversized frame.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, RecordError> {
        let mut len = [0u8; 4];
        match self.input.read(&mut len[..1])? {
            0 => return Ok(None),
            _ => self
                .input
                .read_exact(&mut len[1..])
                .map_err(|_| RecordError::Truncated)?,
        }
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_ENTRY_LEN {
            return Err(RecordError::TooLarge("entry frame"));
        }
        let mut bytes = vec![0u8; len];
        self.input
            .read_exact(&mut bytes)
            .map_err(|_| RecordError::Truncated)?;
        let frame = Frame {
            index: self.index,
            offset: self.offset,
            bytes,
        };
        self.index += 1;
        self.offset += 4 + len as u64;
        Ok(Some(frame))
    }
}

/// Reads the frame at `offset` (used to revisit superseded ballots).
pub fn read_frame_at(dir: &Path, offset: u64) -> Result<Vec<u8>, RecordError> {
    use std::io::{Seek, SeekFrom};
    let mut f = File::open(dir.join(ENTRIES_FILE))?;
    f.seek(SeekFrom::Start(offset))?;
    let mut len = [0u8; 4];
    f.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_ENTRY_LEN {
        return Err(RecordError::TooLarge("entry frame"));
    }
    let mut bytes = vec![0u8; len];
    f.read_exact(&mut bytes)?;
    Ok(bytes)
}
