//! Schnorr proof of knowledge of a discrete logarithm, optionally signing a message.
//!
//! Relation: `{ (X, msg; x) : X = x·G }`.
//!
//! Prover: `k ←$ Z_ℓ`, `A = k·G`, `c = H(label, ctx; G, X, A, msg)`, `z = k + c·x`.
//! Proof: `(A, z)` (64 bytes). Verifier: `z·G − A − c·X = 0`.
//! With a message this is a Schnorr signature by `x` (the credential signature on a ballot).
//! Transcript items (see [`crate::transcript`]): `P(G) P(X) P(A) B(msg)`.
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::scalar::Scalar;
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::batch::BatchVerifier;
use crate::elgamal::random_nonzero_scalar;
use crate::error::{DecodeError, ProofError};
use crate::group::{Element, Reader};
use crate::transcript::{ProofContext, Transcript};

/// A Schnorr proof in commitment form.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SchnorrProof {
    /// `A = k·G`.
    pub commitment: Element,
    /// `z = k + c·x`.
    pub response: Scalar,
}

/// Length of an encoded [`SchnorrProof`].
pub const SCHNORR_PROOF_LEN: usize = 64;

/// The Fiat–Shamir challenge `c` (exposed for test vectors and independent implementations).
pub fn challenge(
    label: &'static str,
    ctx: &ProofContext,
    public: &Element,
    a: &Element,
    msg: &[u8],
) -> Scalar {
    let mut t = Transcript::new(label, ctx);
    t.point(&Element::generator())
        .point(public)
        .point(a)
        .bytes(msg);
    t.challenge()
}

impl SchnorrProof {
    /// Proves knowledge of `secret` with `public = secret·G`, binding `msg`.
    pub fn prove_with_rng<R: CryptoRng + ?Sized>(
        label: &'static str,
        ctx: &ProofContext,
        secret: &Scalar,
        public: &Element,
        msg: &[u8],
        rng: &mut R,
    ) -> Self {
        let k = Zeroizing::new(random_nonzero_scalar(rng));
        let commitment = Element::from_point(&*k * RISTRETTO_BASEPOINT_TABLE);
        let c = challenge(label, ctx, public, &commitment, msg);
        Self {
            commitment,
            response: *k + c * secret,
        }
    }

    /// Queues `z·G − A − c·X = 0`.
    pub fn queue(
        &self,
        label: &'static str,
        ctx: &ProofContext,
        public: &Element,
        msg: &[u8],
        batch: &mut BatchVerifier,
    ) {
        let c = challenge(label, ctx, public, &self.commitment, msg);
        batch
            .equation()
            .g(self.response)
            .term(-Scalar::ONE, &self.commitment)
            .term(-c, public);
    }

    /// Verifies this proof on its own.
    pub fn verify(
        &self,
        label: &'static str,
        ctx: &ProofContext,
        public: &Element,
        msg: &[u8],
    ) -> Result<(), ProofError> {
        let mut b = BatchVerifier::new();
        self.queue(label, ctx, public, msg, &mut b);
        b.verify()
            .then_some(())
            .ok_or(ProofError::Invalid("Schnorr"))
    }

    /// `A ‖ z`.
    pub fn to_bytes(&self) -> [u8; SCHNORR_PROOF_LEN] {
        let mut out = [0u8; SCHNORR_PROOF_LEN];
        out[..32].copy_from_slice(self.commitment.as_bytes());
        out[32..].copy_from_slice(self.response.as_bytes());
        out
    }

    /// Strict decoding of `A ‖ z`.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let p = Self {
            commitment: r.element()?,
            response: r.scalar()?,
        };
        r.finish()?;
        Ok(p)
    }
}
