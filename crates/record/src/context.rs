//! What every proof is bound to.
//!
//! - ceremony fingerprint = `SHA-256("hanpyo-ceremony-v1" ‖ H_M)`, for the key ceremony's proofs
//!   (the joint key does not exist yet);
//! - election fingerprint = `SHA-256("hanpyo-election-v1" ‖ H_M ‖ K)`, for ballots and decryption;
//!
//! where `H_M` is the RFC 9162 leaf hash of the manifest entry and `K` the joint key's encoding.
use hanpyo_crypto::elgamal::PublicKey;
use hanpyo_crypto::transcript::ProofContext;
use hanpyo_ledger::merkle::Hash;
use sha2::{Digest, Sha256};

/// The key ceremony's proof context.
pub fn ceremony_context(manifest_hash: &Hash) -> ProofContext {
    let mut h = Sha256::new();
    h.update(b"hanpyo-ceremony-v1");
    h.update(manifest_hash);
    ProofContext::new(h.finalize().into())
}

/// The election's proof context (ballots, tally decryption).
pub fn election_context(manifest_hash: &Hash, joint_key: &PublicKey) -> ProofContext {
    let mut h = Sha256::new();
    h.update(b"hanpyo-election-v1");
    h.update(manifest_hash);
    h.update(joint_key.element().as_bytes());
    ProofContext::new(h.finalize().into())
}
