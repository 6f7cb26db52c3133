//! Non-interactive zero-knowledge proofs (sigma protocols made non-interactive by the strong
//! Fiat–Shamir transform of [`crate::transcript`]).
//!
//! All proofs are carried in **commitment form** (commitments and responses; challenges that are
//! derived are not sent), so that a verifier can check many of them in one multiscalar
//! multiplication ([`crate::batch`]). Each module's documentation states the relation proven and
//! the verification equations.
pub mod chaum_pedersen;
pub mod disjunctive;
pub mod schnorr;

/// The label of each relation, hashed into its transcript. Distinct labels keep a proof of one kind
/// from being reinterpreted as another.
pub mod labels {
    /// Knowledge of a trustee's polynomial coefficient.
    pub const COEFFICIENT_POK: &str = "coefficient-pok";
    /// A voter's credential signature over a ballot.
    pub const CREDENTIAL_SIGNATURE: &str = "credential-signature";
    /// A selection encrypts 0 or 1.
    pub const SELECTION: &str = "selection";
    /// A question's selections sum to a count in [min, max].
    pub const SELECTION_COUNT: &str = "selection-count";
    /// A trustee's partial decryption is `s_j·α` for its verification key `Y_j = s_j·G`.
    pub const DECRYPTION_SHARE: &str = "decryption-share";
    /// A trustee's Diffie–Hellman value for a disputed share (used in a complaint).
    pub const SHARE_KEY_REVEAL: &str = "share-key-reveal";
    /// Knowledge of a trustee's communication secret key (registration).
    pub const TRUSTEE_KEY: &str = "trustee-key";
    /// A trustee's signature, with its communication key, over a key-ceremony entry it sends.
    pub const CEREMONY_ENTRY: &str = "ceremony-entry";
    /// A trustee's signature, with its key share `s_j` (for `Y_j`), over a shuffle it publishes:
    /// only the holder of a share can shuffle in that trustee's name.
    pub const MIX_PAYLOAD: &str = "mix-payload";
    /// A plain Schnorr proof of knowledge of a discrete log (tests and generic use).
    pub const SCHNORR: &str = "schnorr";
    /// A plain equality of discrete logs (tests and generic use).
    pub const CHAUM_PEDERSEN: &str = "chaum-pedersen";
}
