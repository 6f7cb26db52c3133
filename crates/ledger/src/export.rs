//! A log's export (and an election record's on-disk form): a directory with
//!
//! - `entries`: every entry in log order, each framed as `u32be(len) ‖ entry`;
//! - `checkpoint`: the C2SP signed note of the log over all of them (origin, size, root);
//! - `checkpoints` (optional): every earlier signed checkpoint, each framed as `u32be(len) ‖ note`.
//!
//! The Merkle root over the entries' leaf hashes must equal the checkpoint's root, so changing,
//! dropping, adding or reordering any entry is detected; each earlier checkpoint must match the
//! root of its prefix, so the log's published history is checked too.
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::checkpoint::{Checkpoint, NoteSigner, SignedNote};
use crate::merkle::Frontier;

use crate::checkpoint::NoteError;

/// Largest entry accepted in a log.
pub const MAX_ENTRY_LEN: usize = 4 * 1024 * 1024;

/// Why an export could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The file ended inside a frame.
    #[error("truncated frame")]
    Truncated,
    /// A frame is larger than allowed.
    #[error("{0} too large")]
    TooLarge(&'static str),
    /// Signing the checkpoint.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// Reading or writing files.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// File name of the framed entries.
pub const ENTRIES_FILE: &str = "entries";
/// File name of the signed checkpoint.
pub const CHECKPOINT_FILE: &str = "checkpoint";
/// File name of the earlier checkpoints.
pub const CHECKPOINTS_FILE: &str = "checkpoints";

/// Writes an export directory.
#[derive(Debug)]
pub struct ExportWriter {
    dir: PathBuf,
    out: BufWriter<File>,
    tree: Frontier,
    offset: u64,
}

impl ExportWriter {
    /// Creates `dir` (which must not already hold an export).
    pub fn create(dir: &Path) -> Result<Self, ExportError> {
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
    pub fn append(&mut self, entry: &[u8]) -> Result<u64, ExportError> {
        if entry.len() > MAX_ENTRY_LEN {
            return Err(ExportError::TooLarge("entry"));
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
    pub fn finish(mut self, signer: &NoteSigner) -> Result<Checkpoint, ExportError> {
        self.out.flush()?;
        self.out.get_ref().sync_all()?;
        let cp = self.checkpoint(signer.verifier().name());
        let body = cp.body();
        let mut note = SignedNote::new(body.clone());
        note.add_signature_line(&signer.signature_line(&body, 0))?;
        std::fs::write(self.dir.join(CHECKPOINT_FILE), note.to_text())?;
        Ok(cp)
    }

    /// Flushes the entries and writes already-signed checkpoints: the latest, and the earlier ones.
    pub fn finish_with_notes(
        mut self,
        latest: &str,
        earlier: &[String],
    ) -> Result<(), ExportError> {
        self.out.flush()?;
        self.out.get_ref().sync_all()?;
        std::fs::write(self.dir.join(CHECKPOINT_FILE), latest)?;
        if !earlier.is_empty() {
            let mut out = Vec::new();
            for n in earlier {
                out.extend_from_slice(&(n.len() as u32).to_be_bytes());
                out.extend_from_slice(n.as_bytes());
            }
            std::fs::write(self.dir.join(CHECKPOINTS_FILE), out)?;
        }
        Ok(())
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

/// Streams the entries of an export directory.
#[derive(Debug)]
pub struct ExportReader {
    input: BufReader<File>,
    index: u64,
    offset: u64,
}

impl ExportReader {
    /// Opens `dir/entries`.
    pub fn open(dir: &Path) -> Result<Self, ExportError> {
        Ok(Self {
            input: BufReader::with_capacity(1 << 20, File::open(dir.join(ENTRIES_FILE))?),
            index: 0,
            offset: 0,
        })
    }

    /// The next frame, `None` at a clean end, an error on a torn or oversized frame.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ExportError> {
        let mut len = [0u8; 4];
        match self.input.read(&mut len[..1])? {
            0 => return Ok(None),
            _ => self
                .input
                .read_exact(&mut len[1..])
                .map_err(|_| ExportError::Truncated)?,
        }
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_ENTRY_LEN {
            return Err(ExportError::TooLarge("entry frame"));
        }
        let mut bytes = vec![0u8; len];
        self.input
            .read_exact(&mut bytes)
            .map_err(|_| ExportError::Truncated)?;
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
pub fn read_frame_at(dir: &Path, offset: u64) -> Result<Vec<u8>, ExportError> {
    use std::io::{Seek, SeekFrom};
    let mut f = File::open(dir.join(ENTRIES_FILE))?;
    f.seek(SeekFrom::Start(offset))?;
    let mut len = [0u8; 4];
    f.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_ENTRY_LEN {
        return Err(ExportError::TooLarge("entry frame"));
    }
    let mut bytes = vec![0u8; len];
    f.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// The earlier checkpoints of an export (empty if it has none).
pub fn read_checkpoints(dir: &Path) -> Result<Vec<String>, ExportError> {
    let bytes = match std::fs::read(dir.join(CHECKPOINTS_FILE)) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(ExportError::Truncated);
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len > crate::checkpoint::MAX_NOTE_LEN {
            return Err(ExportError::TooLarge("checkpoint"));
        }
        let note = rest.get(4..4 + len).ok_or(ExportError::Truncated)?;
        out.push(String::from_utf8(note.to_vec()).map_err(|_| ExportError::Truncated)?);
        rest = &rest[4 + len..];
    }
    Ok(out)
}
