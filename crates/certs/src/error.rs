//! Errors of building or reading certificates (a verifier's refusals are [`crate::verify::Refusal`]).

/// Why a certificate, credential or entry could not be built or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// Not well-formed (the reason names what).
    #[error("malformed: {0}")]
    Malformed(String),
    /// A signature or proof does not verify.
    #[error("invalid signature: {0}")]
    Signature(String),
    /// A field of a template is missing or not of its kind.
    #[error("field {field}: {reason}")]
    Field {
        /// The field's name.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl CertError {
    pub(crate) fn malformed(what: impl Into<String>) -> Self {
        Self::Malformed(what.into())
    }
}
