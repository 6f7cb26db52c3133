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

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

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

impl WitnessState {
    /// Starts following a log (from size 0: the first checkpoint is trusted on first use); a log
    /// already followed is left as it is.
    pub fn follow(&mut self, origin: &str, key: &VerifyingKey) {
        self.logs.entry(origin.to_string()).or_insert(LogState {
            key: hex::encode(key.as_bytes()),
            size: 0,
            root: hex::encode([0u8; 32]),
        });
    }
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
    /// An `add-checkpoint` request that is not well formed.
    #[error("malformed request: {0}")]
    Request(&'static str),
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

    /// Puts back an earlier state (to undo a cosignature that could not be persisted).
    pub fn restore_state(&mut self, state: WitnessState) {
        self.state = state;
    }

    /// Starts following a log (from size 0: the first checkpoint is trusted on first use).
    pub fn add_log(&mut self, origin: &str, key: &VerifyingKey) {
        self.state.follow(origin, key);
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

/// Most consistency-proof lines in an `add-checkpoint` request (C2SP tlog-witness).
pub const MAX_PROOF_LINES: usize = 63;

/// The body of a C2SP tlog-witness `POST <prefix>/add-checkpoint` request: `old <size>\n`, one
/// base64 hash per line of the consistency proof from that size, an empty line, then the signed
/// checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size the witness last co-signed, as the log believes (0: never).
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint's size (empty from 0).
    pub proof: Vec<Hash>,
    /// The signed checkpoint.
    pub checkpoint: String,
}

impl AddCheckpoint {
    /// The request body.
    pub fn encode(&self) -> String {
        let mut out = format!("old {}\n", self.old_size);
        for h in &self.proof {
            out.push_str(&B64.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Strictly parses a request body (decimal without leading zeros, canonical base64 of 32-byte
    /// hashes, at most [`MAX_PROOF_LINES`], no proof from size 0).
    pub fn parse(body: &str) -> Result<Self, WitnessError> {
        let bad = WitnessError::Request;
        let (head, checkpoint) = body
            .split_once("\n\n")
            .ok_or(bad("no empty line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .ok_or(bad("the first line must be `old <size>`"))?;
        if old.is_empty()
            || !old.bytes().all(|b| b.is_ascii_digit())
            || (old.len() > 1 && old.starts_with('0'))
        {
            return Err(bad("the old size must be a decimal without leading zeros"));
        }
        let old_size: u64 = old.parse().map_err(|_| bad("the old size is too large"))?;
        let proof = lines
            .map(|l| {
                let bytes = B64
                    .decode(l)
                    .map_err(|_| bad("a proof line is not base64"))?;
                let hash: Hash = bytes
                    .try_into()
                    .map_err(|_| bad("a proof line is not a 32-byte hash"))?;
                if B64.encode(hash) != l {
                    return Err(bad("a proof line is not canonical base64"));
                }
                Ok(hash)
            })
            .collect::<Result<Vec<Hash>, _>>()?;
        if proof.len() > MAX_PROOF_LINES {
            return Err(bad("more than 63 proof lines"));
        }
        if old_size == 0 && !proof.is_empty() {
            return Err(bad("a proof from size 0 must be empty"));
        }
        Ok(Self {
            old_size,
            proof,
            checkpoint: checkpoint.to_string(),
        })
    }
}

/// Why a cosigner gave no cosignature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignError {
    /// The witness last co-signed another size for this log: ask again from that size.
    #[error("the witness last co-signed size {0}")]
    Conflict(u64),
    /// The witness refused the checkpoint (rollback, fork, bad signature, unknown log…).
    #[error("refused: {0}")]
    Refused(String),
    /// The witness could not be reached, or its answer was not a valid cosignature.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// A witness as the log sees it: in this process ([`Witness`]) or over the network (C2SP
/// tlog-witness). `Send`, so a log asks all its witnesses at once.
pub trait Cosigner: Send {
    /// The witness's key name.
    fn name(&self) -> &str;
    /// The size this witness last co-signed for `origin`, as far as the log knows (0: unknown;
    /// a wrong guess costs one [`CosignError::Conflict`] round trip).
    fn last_size(&self, origin: &str) -> u64;
    /// A cosignature line (`— name base64…\n`) on `note`, whose consistency from `old_size` is
    /// `proof`. Only a line that verifies under the witness's key may be returned.
    fn cosign(
        &mut self,
        note: &str,
        old_size: u64,
        proof: &[Hash],
        timestamp: u64,
    ) -> Result<String, CosignError>;
}

impl Cosigner for Witness {
    fn name(&self) -> &str {
        self.verifier().name()
    }

    fn last_size(&self, origin: &str) -> u64 {
        self.state.logs.get(origin).map_or(0, |l| l.size)
    }

    fn cosign(
        &mut self,
        note: &str,
        old_size: u64,
        proof: &[Hash],
        timestamp: u64,
    ) -> Result<String, CosignError> {
        Witness::cosign(self, note, old_size, proof, timestamp).map_err(|e| match e {
            WitnessError::Conflict { latest, .. } => CosignError::Conflict(latest),
            e => CosignError::Refused(e.to_string()),
        })
    }
}

impl<C: Cosigner + ?Sized> Cosigner for Box<C> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn last_size(&self, origin: &str) -> u64 {
        (**self).last_size(origin)
    }

    fn cosign(
        &mut self,
        note: &str,
        old_size: u64,
        proof: &[Hash],
        timestamp: u64,
    ) -> Result<String, CosignError> {
        (**self).cosign(note, old_size, proof, timestamp)
    }
}

#[cfg(test)]
mod wire_tests {
    use super::{AddCheckpoint, WitnessError};

    #[test]
    fn add_checkpoint_round_trips_and_is_strict() {
        let req = AddCheckpoint {
            old_size: 20,
            proof: vec![[7u8; 32], [9u8; 32]],
            checkpoint: "o\n21\nAAAA\n\n— o AAAA\n".into(),
        };
        let body = req.encode();
        assert!(body.starts_with("old 20\nBwcH"));
        assert_eq!(AddCheckpoint::parse(&body), Ok(req.clone()));
        for bad in [
            body.replacen("old 20", "old 020", 1),
            body.replacen("old 20", "old +20", 1),
            body.replacen("old 20", "old", 1),
            body.replacen("old 20\n", "old 20\nAAAA\n", 1),
            body.replacen("BwcH", "BwcH=", 1),
            body.replacen("\n\n", "\n", 1),
            format!("old 0\n{}", &body["old 20\n".len()..]),
        ] {
            assert!(
                matches!(AddCheckpoint::parse(&bad), Err(WitnessError::Request(_))),
                "accepted {bad:?}"
            );
        }
        let long = AddCheckpoint {
            old_size: 1,
            proof: vec![[1u8; 32]; 64],
            checkpoint: String::new(),
        };
        assert!(AddCheckpoint::parse(&long.encode()).is_err());
    }
}
