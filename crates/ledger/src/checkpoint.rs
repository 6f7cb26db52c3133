//! Checkpoints as C2SP signed notes (`signed-note`, `tlog-checkpoint`, `tlog-cosignature`).
//!
//! A checkpoint body is `origin\nsize\nbase64(root)\n`. A signed note is the body, an empty line, and
//! one line per signature: `— <name> <base64(key_id[4] ‖ signature)>\n`. The operator signs with
//! Ed25519 over the body (key id = `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[0..4]`); a witness
//! co-signs with `cosignature/v1` (key id with algorithm byte `0x04`; signature bytes =
//! `u64be(timestamp) ‖ Ed25519("cosignature/v1\ntime <timestamp>\n" ‖ body)`).
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::merkle::Hash;

/// The em dash that starts a signature line.
const DASH: &str = "\u{2014} ";
/// Longest note accepted.
pub const MAX_NOTE_LEN: usize = 16 * 1024;
/// Most signature lines accepted on one note.
pub const MAX_SIGNATURES: usize = 64;

/// Why a checkpoint or note was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// Not a well-formed note or checkpoint.
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// No signature by the expected key.
    #[error("no signature by {0}")]
    MissingSignature(String),
    /// A signature by the expected key does not verify.
    #[error("invalid signature by {0}")]
    BadSignature(String),
    /// A key name is not allowed (empty, whitespace or `+`).
    #[error("invalid key name")]
    BadName,
}

/// `(origin, size, root)`: the log's state at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's unique name, e.g. `hanpyo.example/election/2026-seoul-1`.
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// Merkle tree root of the first `size` entries.
    pub root: Hash,
}

impl Checkpoint {
    /// The note body.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    /// Strictly parses a body (exactly three lines; canonical decimal and base64).
    pub fn parse_body(body: &str) -> Result<Self, NoteError> {
        let lines: Vec<&str> = body.split_inclusive('\n').collect();
        if lines.len() != 3 || !lines.iter().all(|l| l.ends_with('\n')) {
            return Err(NoteError::Malformed(
                "a checkpoint body has exactly three lines",
            ));
        }
        let origin = lines[0].trim_end_matches('\n');
        if origin.is_empty() || origin.chars().any(char::is_control) {
            return Err(NoteError::Malformed("origin"));
        }
        let size_s = lines[1].trim_end_matches('\n');
        let size: u64 = size_s.parse().map_err(|_| NoteError::Malformed("size"))?;
        if size.to_string() != size_s {
            return Err(NoteError::Malformed("size is not canonical decimal"));
        }
        let root_s = lines[2].trim_end_matches('\n');
        let root_v = B64
            .decode(root_s)
            .map_err(|_| NoteError::Malformed("root"))?;
        let root: Hash = root_v
            .try_into()
            .map_err(|_| NoteError::Malformed("root length"))?;
        if B64.encode(root) != root_s {
            return Err(NoteError::Malformed("root is not canonical base64"));
        }
        Ok(Self {
            origin: origin.to_string(),
            size,
            root,
        })
    }
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(NoteError::BadName);
    }
    Ok(())
}

/// Algorithm of a note key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// Plain Ed25519 over the note body (the log operator).
    Ed25519,
    /// `cosignature/v1` (a witness): timestamped Ed25519.
    Cosignature,
}

impl KeyKind {
    fn alg(self) -> u8 {
        match self {
            KeyKind::Ed25519 => 0x01,
            KeyKind::Cosignature => 0x04,
        }
    }
}

/// A public key with its name, able to verify its signature lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key: VerifyingKey,
    kind: KeyKind,
}

impl NoteVerifier {
    /// A verifier for `name`'s `key`.
    pub fn new(name: &str, key: VerifyingKey, kind: KeyKind) -> Result<Self, NoteError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_string(),
            key,
            kind,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public key.
    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }

    /// `SHA-256(name ‖ 0x0A ‖ alg ‖ key)[0..4]`.
    pub fn key_id(&self) -> [u8; 4] {
        let mut h = Sha256::new();
        h.update(self.name.as_bytes());
        h.update([0x0a, self.kind.alg()]);
        h.update(self.key.as_bytes());
        let d: [u8; 32] = h.finalize().into();
        [d[0], d[1], d[2], d[3]]
    }

    /// Checks one signature line's bytes against `body`; returns the timestamp for cosignatures.
    fn check(&self, body: &str, sig: &[u8]) -> Result<Option<u64>, NoteError> {
        let bad = || NoteError::BadSignature(self.name.clone());
        match self.kind {
            KeyKind::Ed25519 => {
                let s = Signature::from_slice(sig).map_err(|_| bad())?;
                self.key
                    .verify_strict(body.as_bytes(), &s)
                    .map_err(|_| bad())?;
                Ok(None)
            }
            KeyKind::Cosignature => {
                if sig.len() != 72 {
                    return Err(bad());
                }
                let mut ts = [0u8; 8];
                ts.copy_from_slice(&sig[..8]);
                let ts = u64::from_be_bytes(ts);
                let s = Signature::from_slice(&sig[8..]).map_err(|_| bad())?;
                let msg = cosigned_message(body, ts);
                self.key
                    .verify_strict(msg.as_bytes(), &s)
                    .map_err(|_| bad())?;
                Ok(Some(ts))
            }
        }
    }
}

fn cosigned_message(body: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{body}")
}

/// A signing key with its name.
#[derive(Debug)]
pub struct NoteSigner {
    verifier: NoteVerifier,
    key: SigningKey,
}

impl NoteSigner {
    /// A signer named `name`.
    pub fn new(name: &str, key: SigningKey, kind: KeyKind) -> Result<Self, NoteError> {
        Ok(Self {
            verifier: NoteVerifier::new(name, key.verifying_key(), kind)?,
            key,
        })
    }

    /// The matching verifier.
    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// A signature line for `body` (`timestamp` is used by cosignatures only).
    pub fn signature_line(&self, body: &str, timestamp: u64) -> String {
        let mut bytes = self.verifier.key_id().to_vec();
        match self.verifier.kind {
            KeyKind::Ed25519 => bytes.extend_from_slice(&self.key.sign(body.as_bytes()).to_bytes()),
            KeyKind::Cosignature => {
                bytes.extend_from_slice(&timestamp.to_be_bytes());
                let msg = cosigned_message(body, timestamp);
                bytes.extend_from_slice(&self.key.sign(msg.as_bytes()).to_bytes());
            }
        }
        format!("{DASH}{} {}\n", self.verifier.name, B64.encode(bytes))
    }
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// Key id (first 4 decoded bytes).
    pub key_id: [u8; 4],
    /// Signature bytes after the key id.
    pub signature: Vec<u8>,
}

/// A parsed signed note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedNote {
    /// The signed text, ending in a newline.
    pub body: String,
    /// Its signatures, in order.
    pub signatures: Vec<NoteSignature>,
}

impl SignedNote {
    /// A note with no signatures yet.
    pub fn new(body: String) -> Self {
        Self {
            body,
            signatures: Vec::new(),
        }
    }

    /// Adds a signature line produced by [`NoteSigner::signature_line`].
    pub fn add_signature_line(&mut self, line: &str) -> Result<(), NoteError> {
        let sig = parse_signature_line(
            line.strip_suffix('\n')
                .ok_or(NoteError::Malformed("line end"))?,
        )?;
        self.signatures.push(sig);
        Ok(())
    }

    /// Strictly parses a note.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        if text.len() > MAX_NOTE_LEN {
            return Err(NoteError::Malformed("note too long"));
        }
        let split = text
            .find("\n\n")
            .ok_or(NoteError::Malformed("no blank line before signatures"))?;
        let body = &text[..split + 1];
        let sigs = &text[split + 2..];
        if !sigs.ends_with('\n') {
            return Err(NoteError::Malformed(
                "signature lines must end with a newline",
            ));
        }
        let mut signatures = Vec::new();
        for line in sigs[..sigs.len() - 1].split('\n') {
            signatures.push(parse_signature_line(line)?);
            if signatures.len() > MAX_SIGNATURES {
                return Err(NoteError::Malformed("too many signatures"));
            }
        }
        if signatures.is_empty() {
            return Err(NoteError::Malformed("no signatures"));
        }
        Ok(Self {
            body: body.to_string(),
            signatures,
        })
    }

    /// The note's text.
    pub fn to_text(&self) -> String {
        let mut out = self.body.clone();
        out.push('\n');
        for s in &self.signatures {
            let mut bytes = s.key_id.to_vec();
            bytes.extend_from_slice(&s.signature);
            out.push_str(&format!("{DASH}{} {}\n", s.name, B64.encode(bytes)));
        }
        out
    }

    /// Verifies the signature of `verifier` (there must be one, and every line with its name and
    /// key id must verify). Returns the cosignature timestamp, if any.
    pub fn verify(&self, verifier: &NoteVerifier) -> Result<Option<u64>, NoteError> {
        let id = verifier.key_id();
        let mut found = None;
        for s in self
            .signatures
            .iter()
            .filter(|s| s.name == verifier.name && s.key_id == id)
        {
            found = Some(verifier.check(&self.body, &s.signature)?);
        }
        found.ok_or_else(|| NoteError::MissingSignature(verifier.name.clone()))
    }
}

fn parse_signature_line(line: &str) -> Result<NoteSignature, NoteError> {
    let rest = line
        .strip_prefix(DASH)
        .ok_or(NoteError::Malformed("signature line"))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or(NoteError::Malformed("signature line"))?;
    check_name(name)?;
    let bytes = B64
        .decode(b64)
        .map_err(|_| NoteError::Malformed("signature base64"))?;
    if bytes.len() < 5 || B64.encode(&bytes) != b64 {
        return Err(NoteError::Malformed("signature encoding"));
    }
    Ok(NoteSignature {
        name: name.to_string(),
        key_id: [bytes[0], bytes[1], bytes[2], bytes[3]],
        signature: bytes[4..].to_vec(),
    })
}
