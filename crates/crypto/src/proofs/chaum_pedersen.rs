//! Chaum–Pedersen proof of equality of discrete logarithms.
//!
//! Relation: `{ (G₁, X₁, G₂, X₂; x) : X₁ = x·G₁ ∧ X₂ = x·G₂ }`.
//!
//! Prover: `k ←$ Z_ℓ`, `A₁ = k·G₁`, `A₂ = k·G₂`, `c = H(label, ctx; G₁, X₁, G₂, X₂, A₁, A₂)`,
//! `z = k + c·x`. Proof: `(A₁, A₂, z)` (96 bytes).
//! Verifier: `z·G₁ − A₁ − c·X₁ = 0` and `z·G₂ − A₂ − c·X₂ = 0`.
//! Transcript items: `P(G₁) P(X₁) P(G₂) P(X₂) P(A₁) P(A₂)`.
//!
//! Used for decryption shares (`G₁ = G, X₁ = Y_j, G₂ = α, X₂ = D_j`) and complaint reveals.
use curve25519_dalek::scalar::Scalar;
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::batch::BatchVerifier;
use crate::elgamal::random_nonzero_scalar;
use crate::error::{DecodeError, ProofError};
use crate::group::{Element, Reader};
use crate::transcript::{ProofContext, Transcript};

/// The public statement of a Chaum–Pedersen proof.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DleqStatement {
    /// First base.
    pub g1: Element,
    /// `x·G₁`.
    pub x1: Element,
    /// Second base.
    pub g2: Element,
    /// `x·G₂`.
    pub x2: Element,
}

/// A Chaum–Pedersen proof in commitment form.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ChaumPedersenProof {
    /// `A₁ = k·G₁`.
    pub a1: Element,
    /// `A₂ = k·G₂`.
    pub a2: Element,
    /// `z = k + c·x`.
    pub response: Scalar,
}

/// Length of an encoded [`ChaumPedersenProof`].
pub const CHAUM_PEDERSEN_PROOF_LEN: usize = 96;

fn challenge(
    label: &'static str,
    ctx: &ProofContext,
    s: &DleqStatement,
    a1: &Element,
    a2: &Element,
) -> Scalar {
    let mut t = Transcript::new(label, ctx);
    t.points([&s.g1, &s.x1, &s.g2, &s.x2, a1, a2]);
    t.challenge()
}

impl ChaumPedersenProof {
    /// Proves `x1 = secret·g1 ∧ x2 = secret·g2`.
    pub fn prove_with_rng<R: CryptoRng + ?Sized>(
        label: &'static str,
        ctx: &ProofContext,
        statement: &DleqStatement,
        secret: &Scalar,
        rng: &mut R,
    ) -> Self {
        let k = Zeroizing::new(random_nonzero_scalar(rng));
        let a1 = Element::from_point(*k * statement.g1.point());
        let a2 = Element::from_point(*k * statement.g2.point());
        let c = challenge(label, ctx, statement, &a1, &a2);
        Self {
            a1,
            a2,
            response: *k + c * secret,
        }
    }

    /// Queues both verification equations.
    pub fn queue(
        &self,
        label: &'static str,
        ctx: &ProofContext,
        statement: &DleqStatement,
        batch: &mut BatchVerifier,
    ) {
        let c = challenge(label, ctx, statement, &self.a1, &self.a2);
        batch
            .equation()
            .term(self.response, &statement.g1)
            .term(-Scalar::ONE, &self.a1)
            .term(-c, &statement.x1);
        batch
            .equation()
            .term(self.response, &statement.g2)
            .term(-Scalar::ONE, &self.a2)
            .term(-c, &statement.x2);
    }

    /// Verifies this proof on its own.
    pub fn verify(
        &self,
        label: &'static str,
        ctx: &ProofContext,
        statement: &DleqStatement,
    ) -> Result<(), ProofError> {
        let mut b = BatchVerifier::new();
        self.queue(label, ctx, statement, &mut b);
        b.verify()
            .then_some(())
            .ok_or(ProofError::Invalid("Chaum-Pedersen"))
    }

    /// `A₁ ‖ A₂ ‖ z`.
    pub fn to_bytes(&self) -> [u8; CHAUM_PEDERSEN_PROOF_LEN] {
        let mut out = [0u8; CHAUM_PEDERSEN_PROOF_LEN];
        out[..32].copy_from_slice(self.a1.as_bytes());
        out[32..64].copy_from_slice(self.a2.as_bytes());
        out[64..].copy_from_slice(self.response.as_bytes());
        out
    }

    /// Strict decoding of `A₁ ‖ A₂ ‖ z`.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let p = Self {
            a1: r.element()?,
            a2: r.element()?,
            response: r.scalar()?,
        };
        r.finish()?;
        Ok(p)
    }
}
