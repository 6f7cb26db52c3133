//! Typed errors.
use thiserror::Error;

/// Why a byte string is not a valid encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Wrong number of bytes for a fixed-size value.
    #[error("expected {expected} bytes, got {actual}")]
    Length {
        /// The required length.
        expected: usize,
        /// The length received.
        actual: usize,
    },
    /// Not the canonical encoding of a Ristretto255 point (RFC 9496 §4.3.1).
    #[error("not a canonical Ristretto255 point encoding")]
    NonCanonicalPoint,
    /// The identity point where the protocol forbids it.
    #[error("the identity point is not allowed here")]
    IdentityPoint,
    /// Not the canonical (fully reduced, little-endian) encoding of a scalar mod ℓ.
    #[error("not a canonical scalar encoding")]
    NonCanonicalScalar,
    /// The zero scalar where the protocol forbids it.
    #[error("the zero scalar is not allowed here")]
    ZeroScalar,
    /// A count field is outside its allowed range.
    #[error("{what} out of range")]
    OutOfRange {
        /// Which field.
        what: &'static str,
    },
    /// A human-typed credential code is malformed.
    #[error("credential code: {0}")]
    CredentialCode(&'static str),
}

/// Why a proof, signature or protocol message was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    /// The verification equation does not hold.
    #[error("{0} proof does not verify")]
    Invalid(&'static str),
    /// The proof's shape does not match its statement (e.g. wrong number of branches).
    #[error("{0} proof has the wrong shape for its statement")]
    Shape(&'static str),
    /// A parameter is out of its allowed range.
    #[error("invalid parameter: {0}")]
    Parameter(&'static str),
    /// Items of a batch failed; their indices, in increasing order.
    #[error("{} item(s) of the batch failed: {:?}", .0.len(), .0)]
    BatchFailed(Vec<usize>),
}
