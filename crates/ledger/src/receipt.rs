//! Receipts: what a voter (or any submitter) keeps to prove an entry is in the log.
//!
//! A receipt is issued only after the entry is durably committed and covered by a signed
//! checkpoint. It holds the entry's leaf hash (the tracking code), its index, the inclusion proof
//! and the checkpoint with its witness cosignatures; checking it needs only SHA-256 and Ed25519.
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, NoteError, NoteVerifier, SignedNote};
use crate::merkle::{Hash, verify_inclusion};

/// Receipt format version.
pub const RECEIPT_VERSION: u32 = 1;

/// A receipt (serialized as JSON; hashes in lowercase hex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Always [`RECEIPT_VERSION`].
    pub version: u32,
    /// The log.
    pub origin: String,
    /// The entry's index.
    pub index: u64,
    /// The entry's leaf hash (its tracking code), hex.
    pub leaf_hash: String,
    /// Inclusion proof against the checkpoint, hex hashes.
    pub inclusion_proof: Vec<String>,
    /// The signed checkpoint (with any cosignatures).
    pub checkpoint: String,
}

/// Why a receipt does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// Not a well-formed receipt.
    #[error("malformed receipt: {0}")]
    Malformed(&'static str),
    /// The checkpoint's signature or format.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] NoteError),
    /// The inclusion proof does not lead to the checkpoint's root.
    #[error("the inclusion proof does not match the checkpoint")]
    NotIncluded,
    /// Fewer valid witness cosignatures than required.
    #[error("{found} valid witness cosignature(s), {required} required")]
    TooFewCosignatures {
        /// Valid ones found.
        found: usize,
        /// Required.
        required: usize,
    },
}

fn hex32(s: &str) -> Result<Hash, ReceiptError> {
    let v = hex::decode(s).map_err(|_| ReceiptError::Malformed("hash is not hex"))?;
    if hex::encode(&v) != s {
        return Err(ReceiptError::Malformed("hash is not lowercase hex"));
    }
    v.try_into()
        .map_err(|_| ReceiptError::Malformed("hash length"))
}

impl Receipt {
    /// Builds a receipt.
    pub fn new(
        origin: &str,
        index: u64,
        leaf_hash: &Hash,
        proof: &[Hash],
        checkpoint_note: &str,
    ) -> Self {
        Self {
            version: RECEIPT_VERSION,
            origin: origin.to_string(),
            index,
            leaf_hash: hex::encode(leaf_hash),
            inclusion_proof: proof.iter().map(hex::encode).collect(),
            checkpoint: checkpoint_note.to_string(),
        }
    }

    /// The leaf hash.
    pub fn leaf(&self) -> Result<Hash, ReceiptError> {
        hex32(&self.leaf_hash)
    }

    /// Checks the log's signature, the inclusion proof and at least `min_cosignatures` valid
    /// cosignatures among `witnesses`. Returns the checkpoint.
    pub fn verify(
        &self,
        log: &NoteVerifier,
        witnesses: &[NoteVerifier],
        min_cosignatures: usize,
    ) -> Result<Checkpoint, ReceiptError> {
        if self.version != RECEIPT_VERSION {
            return Err(ReceiptError::Malformed("unknown version"));
        }
        let note = SignedNote::parse(&self.checkpoint)?;
        note.verify(log)?;
        let cp = Checkpoint::parse_body(&note.body)?;
        if cp.origin != self.origin || cp.origin != log.name() {
            return Err(ReceiptError::Malformed("origin mismatch"));
        }
        let proof = self
            .inclusion_proof
            .iter()
            .map(|h| hex32(h))
            .collect::<Result<Vec<_>, _>>()?;
        if !verify_inclusion(&self.leaf()?, self.index, cp.size, &proof, &cp.root) {
            return Err(ReceiptError::NotIncluded);
        }
        let found = witnesses.iter().filter(|w| note.verify(w).is_ok()).count();
        if found < min_cosignatures {
            return Err(ReceiptError::TooFewCosignatures {
                found,
                required: min_cosignatures,
            });
        }
        Ok(cp)
    }
}
