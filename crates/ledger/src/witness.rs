//! A witness (C2SP `tlog-witness` behaviour): it co-signs a log's new checkpoint only if a valid
//! consistency proof links it to the last checkpoint it co-signed for that log, so a log cannot
//! show different histories to different people without a colluding witness.
//!
//! The witness refuses, with a specific error: an unknown log; a bad log signature; an `old` size
//! that is not the one it last co-signed (the caller must retry from that size — HTTP 409 in the
//! C2SP API); a smaller tree (rollback); a different root for the same size or an inconsistent
//! larger tree (fork). The caller must persist the updated state before releasing the cosignature.
use std::collections::BTreeMap;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, KeyKind, NoteError, NoteSigner, NoteVerifier, SignedNote};
use crate::merkle::{Hash, verify_consistency};

/// What the witness remembers of one log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogState {
    /// The log's Ed25519 key (hex).
    pub key: String,
    /// Size of the last co-signed checkpoint (0: none yet).
    pub size: u64,
    /// Its root (hex).
    pub root: String,
}

/// The witness's persistent state (no secrets: the signing key is kept separately).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessState {
    /// By origin.
    pub logs: BTreeMap<String, LogState>,
}

/// Why the witness refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// The witness does not follow this log.
    #[error("unknown log {0}")]
    UnknownLog(String),
    /// The checkpoint is malformed or not signed by the log.
    #[error("checkpoint: {0}")]
    Note(#[from] NoteError),
    /// The request's old size is not the witness's latest for this log.
    #[error("conflict: the witness last co-signed size {latest}, not {requested}")]
    Conflict {
        /// The witness's latest size.
        latest: u64,
        /// What the caller claimed.
        requested: u64,
    },
    /// The new checkpoint is smaller than the last co-signed one.
    #[error("rollback: size {new} is smaller than the co-signed size {latest}")]
    Rollback {
        /// The witness's latest size.
        latest: u64,
        /// The offered size.
        new: u64,
    },
    /// Not an extension of the co-signed history.
    #[error(
        "fork: the checkpoint of size {new} is not consistent with the co-signed size {latest}"
    )]
    Fork {
        /// The witness's latest size.
        latest: u64,
        /// The offered size.
        new: u64,
    },
    /// The stored state is unreadable.
    #[error("corrupt witness state: {0}")]
    State(&'static str),
}

fn unhex32(s: &str) -> Result<[u8; 32], WitnessError> {
    hex::decode(s)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or(WitnessError::State("bad hex"))
}

/// A witness: its signing key and state.
#[derive(Debug)]
pub struct Witness {
    signer: NoteSigner,
    state: WitnessState,
}

impl Witness {
    /// A witness named `name` with `key` and `state`.
    pub fn new(
        name: &str,
        key: ed25519_dalek::SigningKey,
        state: WitnessState,
    ) -> Result<Self, WitnessError> {
        Ok(Self {
            signer: NoteSigner::new(name, key, KeyKind::Cosignature)?,
            state,
        })
    }

    /// The verifier of this witness's cosignatures.
    pub fn verifier(&self) -> &NoteVerifier {
        self.signer.verifier()
    }

    /// The state to persist.
    pub fn state(&self) -> &WitnessState {
        &self.state
    }

    /// Starts following a log (from size 0: the first checkpoint is trusted on first use).
    pub fn add_log(&mut self, origin: &str, key: &VerifyingKey) {
        self.state
            .logs
            .entry(origin.to_string())
            .or_insert(LogState {
                key: hex::encode(key.as_bytes()),
                size: 0,
                root: hex::encode([0u8; 32]),
            });
    }

    /// Co-signs `note` if it extends the last co-signed checkpoint of size `old_size` by the
    /// consistency `proof`. Returns the cosignature line; the state is updated (persist it first).
    pub fn cosign(
        &mut self,
        note: &str,
        old_size: u64,
        proof: &[Hash],
        timestamp: u64,
    ) -> Result<String, WitnessError> {
        let parsed = SignedNote::parse(note)?;
        let cp = Checkpoint::parse_body(&parsed.body)?;
        let log = self
            .state
            .logs
            .get(&cp.origin)
            .ok_or_else(|| WitnessError::UnknownLog(cp.origin.clone()))?;
        let key = VerifyingKey::from_bytes(&unhex32(&log.key)?)
            .map_err(|_| WitnessError::State("log key"))?;
        parsed.verify(&NoteVerifier::new(&cp.origin, key, KeyKind::Ed25519)?)?;
        if old_size != log.size {
            return Err(WitnessError::Conflict {
                latest: log.size,
                requested: old_size,
            });
        }
        let old_root = unhex32(&log.root)?;
        if cp.size < log.size {
            return Err(WitnessError::Rollback {
                latest: log.size,
                new: cp.size,
            });
        }
        let consistent = if log.size == 0 {
            true
        } else if cp.size == log.size {
            cp.root == old_root && proof.is_empty()
        } else {
            verify_consistency(log.size, cp.size, &old_root, &cp.root, proof)
        };
        if !consistent {
            return Err(WitnessError::Fork {
                latest: log.size,
                new: cp.size,
            });
        }
        let line = self.signer.signature_line(&parsed.body, timestamp);
        if let Some(l) = self.state.logs.get_mut(&cp.origin) {
            l.size = cp.size;
            l.root = hex::encode(cp.root);
        }
        Ok(line)
    }
}
