//! Typed errors of the record layer.
use hanpyo_crypto::{DecodeError, ProofError};

/// Why an entry, a manifest or a record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The input ended early.
    #[error("truncated")]
    Truncated,
    /// Bytes remain after a complete value.
    #[error("{0} trailing byte(s)")]
    TrailingBytes(usize),
    /// A length or count is over its bound.
    #[error("{0} too large")]
    TooLarge(&'static str),
    /// A field has a value the format does not allow.
    #[error("invalid {0}: {1}")]
    Invalid(&'static str, String),
    /// A point or scalar is not canonical.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A cryptographic check failed.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// Reading or writing files.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Reading or writing the log export.
    #[error(transparent)]
    Export(#[from] hanpyo_ledger::export::ExportError),
}
