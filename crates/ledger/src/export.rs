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
    /// A framed checkpoint note is not UTF-8 text.
    #[error("checkpoint {0} is not UTF-8")]
    NotUtf8(usize),
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

/// Streams the entries of an export: a directory's `entries` file, or bytes in memory.
#[derive(Debug)]
pub struct ExportReader<R = BufReader<File>> {
    input: R,
    index: u64,
    offset: u64,
}

impl ExportReader {
    /// Opens `dir/entries`.
    pub fn open(dir: &Path) -> Result<Self, ExportError> {
        Ok(Self::from_reader(BufReader::with_capacity(
            1 << 20,
            File::open(dir.join(ENTRIES_FILE))?,
        )))
    }
}

impl<R: Read> ExportReader<R> {
    /// Reads framed entries from `input` (the `entries` file's format).
    pub fn from_reader(input: R) -> Self {
        Self {
            input,
            index: 0,
            offset: 0,
        }
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

/// Reads the frame at `offset` of `input` (used to revisit superseded ballots).
fn frame_at<R: Read + std::io::Seek>(mut input: R, offset: u64) -> Result<Vec<u8>, ExportError> {
    input.seek(std::io::SeekFrom::Start(offset))?;
    let mut len = [0u8; 4];
    input.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_ENTRY_LEN {
        return Err(ExportError::TooLarge("entry frame"));
    }
    let mut bytes = vec![0u8; len];
    input.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// Reads the frame at `offset` of `dir/entries`.
pub fn read_frame_at(dir: &Path, offset: u64) -> Result<Vec<u8>, ExportError> {
    frame_at(File::open(dir.join(ENTRIES_FILE))?, offset)
}

/// An election record to verify: its framed entries, read in order and revisited by offset, and
/// its checkpoints.
pub trait RecordSource {
    /// The next entry, `None` at a clean end.
    fn next_frame(&mut self) -> Result<Option<Frame>, ExportError>;
    /// The entry whose frame starts at byte `offset` (an offset an earlier [`Frame`] reported).
    fn frame_at(&self, offset: u64) -> Result<Vec<u8>, ExportError>;
    /// The latest signed checkpoint (note text).
    fn checkpoint(&self) -> Result<Vec<u8>, ExportError>;
    /// The earlier signed checkpoints, oldest first (empty if none).
    fn checkpoints(&self) -> Result<Vec<String>, ExportError>;
}

/// A record exported to a directory (`entries`, `checkpoint`, optional `checkpoints`).
#[derive(Debug)]
pub struct DirectoryRecord {
    dir: PathBuf,
    reader: ExportReader,
}

impl DirectoryRecord {
    /// Opens the record in `dir`.
    pub fn open(dir: &Path) -> Result<Self, ExportError> {
        Ok(Self {
            dir: dir.to_path_buf(),
            reader: ExportReader::open(dir)?,
        })
    }

    /// Opens the record in `dir` to read on from entry `index`, whose frame starts at byte
    /// `offset` (where an earlier reading stopped: a record that grew is checked incrementally).
    pub fn open_at(dir: &Path, index: u64, offset: u64) -> Result<Self, ExportError> {
        use std::io::Seek;
        let mut file = File::open(dir.join(ENTRIES_FILE))?;
        file.seek(std::io::SeekFrom::Start(offset))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            reader: ExportReader {
                input: BufReader::with_capacity(1 << 20, file),
                index,
                offset,
            },
        })
    }
}

impl RecordSource for DirectoryRecord {
    fn next_frame(&mut self) -> Result<Option<Frame>, ExportError> {
        self.reader.next_frame()
    }
    fn frame_at(&self, offset: u64) -> Result<Vec<u8>, ExportError> {
        read_frame_at(&self.dir, offset)
    }
    fn checkpoint(&self) -> Result<Vec<u8>, ExportError> {
        Ok(std::fs::read(self.dir.join(CHECKPOINT_FILE))?)
    }
    fn checkpoints(&self) -> Result<Vec<String>, ExportError> {
        read_checkpoints(&self.dir)
    }
}

/// A record held in memory, as a browser downloads it from `/api/v1/record/{file}`.
#[derive(Debug)]
pub struct MemoryRecord {
    entries: Vec<u8>,
    reader_offset: u64,
    index: u64,
    checkpoint: Vec<u8>,
    checkpoints: Vec<u8>,
}

impl MemoryRecord {
    /// The three files' contents (`checkpoints` may be empty).
    pub fn new(entries: Vec<u8>, checkpoint: Vec<u8>, checkpoints: Vec<u8>) -> Self {
        Self {
            entries,
            reader_offset: 0,
            index: 0,
            checkpoint,
            checkpoints,
        }
    }
}

impl RecordSource for MemoryRecord {
    fn next_frame(&mut self) -> Result<Option<Frame>, ExportError> {
        let mut reader = ExportReader {
            input: self
                .entries
                .get(self.reader_offset as usize..)
                .unwrap_or_default(),
            index: self.index,
            offset: self.reader_offset,
        };
        let frame = reader.next_frame()?;
        self.index = reader.index;
        self.reader_offset = reader.offset;
        Ok(frame)
    }
    fn frame_at(&self, offset: u64) -> Result<Vec<u8>, ExportError> {
        frame_at(std::io::Cursor::new(&self.entries), offset)
    }
    fn checkpoint(&self) -> Result<Vec<u8>, ExportError> {
        Ok(self.checkpoint.clone())
    }
    fn checkpoints(&self) -> Result<Vec<String>, ExportError> {
        parse_checkpoints(&self.checkpoints)
    }
}

/// The earlier checkpoints of an export (empty if it has none).
pub fn read_checkpoints(dir: &Path) -> Result<Vec<String>, ExportError> {
    match std::fs::read(dir.join(CHECKPOINTS_FILE)) {
        Ok(b) => parse_checkpoints(&b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// Parses a `checkpoints` file's framed notes.
pub fn parse_checkpoints(bytes: &[u8]) -> Result<Vec<String>, ExportError> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(ExportError::Truncated);
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len > crate::checkpoint::MAX_NOTE_LEN {
            return Err(ExportError::TooLarge("checkpoint"));
        }
        let note = rest.get(4..4 + len).ok_or(ExportError::Truncated)?;
        out.push(String::from_utf8(note.to_vec()).map_err(|_| ExportError::NotUtf8(out.len()))?);
        rest = &rest[4 + len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framed_checkpoints_are_read_strictly_and_named_by_what_is_wrong() {
        let frame = |b: &[u8]| [&(b.len() as u32).to_be_bytes()[..], b].concat();
        let good = [frame(b"a note\n"), frame(b"another\n")].concat();
        assert_eq!(
            parse_checkpoints(&good).expect("two"),
            vec!["a note\n", "another\n"]
        );
        let not_text = [frame(b"a note\n"), frame(&[0xFF, 0xFE])].concat();
        assert!(matches!(
            parse_checkpoints(&not_text),
            Err(ExportError::NotUtf8(1))
        ));
        assert!(matches!(
            parse_checkpoints(&good[..good.len() - 1]),
            Err(ExportError::Truncated)
        ));
        assert!(matches!(
            parse_checkpoints(&[0, 0]),
            Err(ExportError::Truncated)
        ));
    }
}
