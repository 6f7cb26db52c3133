//! Disjunctive Chaum–Pedersen proof that a ciphertext encrypts an integer in `[lo, hi]`
//! (Cramer–Damgård–Schoenmakers OR-composition of one Chaum–Pedersen proof per candidate value).
//!
//! Relation: `{ (K, (α, β), lo, hi; m, r) : α = r·G ∧ β = m·G + r·K ∧ lo ≤ m ≤ hi }`, i.e. for some
//! `ℓ ∈ [lo, hi]`, `(α, β − ℓ·G) = r·(G, K)`.
//!
//! With `[0, 1]` it proves a selection is 0 or 1; with `[min, max]` over the sum of a question's
//! selections it proves the number of selections is allowed.
//!
//! Prover (real branch `m`; every other branch simulated): for each `ℓ`, draw `k_ℓ, c'_ℓ, z'_ℓ`;
//! `(u_ℓ, t_ℓ) = (k_ℓ, 0)` if `ℓ = m` else `(z'_ℓ, c'_ℓ)`;
//! `A_ℓ = u_ℓ·G − t_ℓ·α`, `B_ℓ = u_ℓ·K − t_ℓ·(β − ℓ·G)`.
//! `c = H(label, ctx; G, K, α, β, lo, hi, A_lo, B_lo, …, A_hi, B_hi)`;
//! `c_m = c − Σ_{ℓ≠m} c'_ℓ`, `z_m = k_m + c_m·r`; simulated branches keep `(c'_ℓ, z'_ℓ)`.
//! Branch selection uses constant-time selects, so timing does not reveal `m`. The prover knows
//! `r` and `m`, so it computes the same commitments as `A_ℓ = s_ℓ·G` and
//! `B_ℓ = s_ℓ·K + t_ℓ·(ℓ − m)·G` with `s_ℓ = u_ℓ − t_ℓ·r`: two fixed-base multiplications by `G`
//! (precomputed table) and one by `K` (from a table too with
//! [`KeyTable`](crate::elgamal::KeyTable)), instead of two multiscalar multiplications over
//! `G, α, K, β`.
//!
//! Proof: `(A_ℓ, B_ℓ)_{ℓ=lo..hi}`, `(c_ℓ)_{ℓ=lo..hi−1}`, `(z_ℓ)_{ℓ=lo..hi}`; `c_hi = c − Σ_{ℓ<hi} c_ℓ`.
//! Verifier, for each `ℓ`: `z_ℓ·G − A_ℓ − c_ℓ·α = 0` and `z_ℓ·K − B_ℓ − c_ℓ·β + c_ℓ·ℓ·G = 0`.
//! Transcript items: `P(G) P(K) P(α) P(β) U(lo) U(hi)` then `P(A_ℓ) P(B_ℓ)` for `ℓ = lo..hi`.
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::scalar::Scalar;
use rand_core::CryptoRng;
use subtle::{ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::batch::BatchVerifier;
use crate::elgamal::{Ciphertext, EncryptionKey, Nonce, PublicKey};
use crate::error::{DecodeError, ProofError};
use crate::group::{Element, Reader};
use crate::transcript::{ProofContext, Transcript};

/// Most values a range may span (`hi − lo + 1`); bounds proof size and verification work.
pub const MAX_BRANCHES: u64 = 256;

/// A proof that a ciphertext encrypts a value in `[lo, hi]`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DisjunctiveProof {
    /// `(A_ℓ, B_ℓ)` for `ℓ = lo..=hi`.
    pub commitments: Vec<(Element, Element)>,
    /// `c_ℓ` for `ℓ = lo..hi` (the last is derived).
    pub challenges: Vec<Scalar>,
    /// `z_ℓ` for `ℓ = lo..=hi`.
    pub responses: Vec<Scalar>,
}

/// The number of branches of `[lo, hi]`, checked against [`MAX_BRANCHES`].
pub fn branches(lo: u64, hi: u64) -> Result<usize, ProofError> {
    if lo > hi {
        return Err(ProofError::Parameter("range with lo > hi"));
    }
    let n = hi - lo + 1;
    if n > MAX_BRANCHES {
        return Err(ProofError::Parameter("range too wide"));
    }
    Ok(n as usize)
}

/// Encoded length of a proof over `branches` values.
pub fn encoded_len(branches: usize) -> usize {
    64 * branches + 32 * (branches - 1) + 32 * branches
}

/// The Fiat–Shamir challenge `c` of a proof with these commitments (exposed for test vectors and
/// independent implementations; verification recomputes it itself).
pub fn challenge(
    label: &'static str,
    ctx: &ProofContext,
    pk: &PublicKey,
    ct: &Ciphertext,
    lo: u64,
    hi: u64,
    commitments: &[(Element, Element)],
) -> Scalar {
    let mut t = Transcript::new(label, ctx);
    t.point(&Element::generator())
        .point(pk.element())
        .point(&ct.alpha)
        .point(&ct.beta)
        .u64(lo)
        .u64(hi);
    for (a, b) in commitments {
        t.point(a).point(b);
    }
    t.challenge()
}

impl DisjunctiveProof {
    /// Proves that `ct = Enc_pk(m; nonce)` with `lo ≤ m ≤ hi`.
    #[allow(clippy::too_many_arguments)]
    pub fn prove_with_rng<K: EncryptionKey + ?Sized, R: CryptoRng + ?Sized>(
        label: &'static str,
        ctx: &ProofContext,
        pk: &K,
        ct: &Ciphertext,
        lo: u64,
        hi: u64,
        m: u64,
        nonce: &Nonce,
        rng: &mut R,
    ) -> Result<Self, ProofError> {
        let n = branches(lo, hi)?;
        if m < lo || m > hi {
            return Err(ProofError::Parameter("plaintext outside the proven range"));
        }
        let r = nonce.as_scalar();
        let m_scalar = Scalar::from(m);
        let mut commitments = Vec::with_capacity(n);
        // Per branch: (is_real, k, simulated challenge t (0 if real), simulated response)
        let mut secrets: Vec<(subtle::Choice, Zeroizing<Scalar>, Scalar, Scalar)> =
            Vec::with_capacity(n);
        for i in 0..n {
            let l = lo + i as u64;
            let real = l.ct_eq(&m);
            let k = Zeroizing::new(Scalar::random(rng));
            let c_sim = Scalar::random(rng);
            let z_sim = Scalar::random(rng);
            let u = Scalar::conditional_select(&z_sim, &k, real);
            let t = Scalar::conditional_select(&c_sim, &Scalar::ZERO, real);
            // A = u·G − t·α = s·G and B = u·K − t·(β − ℓ·G) = s·K + t·(ℓ − m)·G, since
            // α = r·G and β = m·G + r·K: constant-time fixed- and variable-base multiplications
            // (zero scalars take the same time as any other).
            let s = Zeroizing::new(u - t * r);
            let a = &*s * RISTRETTO_BASEPOINT_TABLE;
            let b = pk.times(&s) + &(t * (Scalar::from(l) - m_scalar)) * RISTRETTO_BASEPOINT_TABLE;
            commitments.push((Element::from_point(a), Element::from_point(b)));
            secrets.push((real, k, t, z_sim));
        }
        let c = challenge(label, ctx, pk.key(), ct, lo, hi, &commitments);
        let sum_simulated: Scalar = secrets.iter().map(|s| s.2).sum();
        let c_real = c - sum_simulated;
        let mut all_challenges = Vec::with_capacity(n);
        let mut responses = Vec::with_capacity(n);
        for (real, k, t, z_sim) in &secrets {
            let c_l = Scalar::conditional_select(t, &c_real, *real);
            let z_real = **k + c_l * nonce.as_scalar();
            all_challenges.push(c_l);
            responses.push(Scalar::conditional_select(z_sim, &z_real, *real));
        }
        all_challenges.pop();
        Ok(Self {
            commitments,
            challenges: all_challenges,
            responses,
        })
    }

    /// Queues the `2·(hi − lo + 1)` verification equations.
    #[allow(clippy::too_many_arguments)]
    pub fn queue(
        &self,
        label: &'static str,
        ctx: &ProofContext,
        pk: &PublicKey,
        ct: &Ciphertext,
        lo: u64,
        hi: u64,
        batch: &mut BatchVerifier,
    ) -> Result<(), ProofError> {
        let n = branches(lo, hi)?;
        if self.commitments.len() != n
            || self.challenges.len() != n - 1
            || self.responses.len() != n
        {
            return Err(ProofError::Shape("disjunctive"));
        }
        let c = challenge(label, ctx, pk, ct, lo, hi, &self.commitments);
        let c_last = c - self.challenges.iter().sum::<Scalar>();
        let challenges = self.challenges.iter().chain(core::iter::once(&c_last));
        for (i, ((c_l, z_l), (a, b))) in challenges
            .zip(&self.responses)
            .zip(&self.commitments)
            .enumerate()
        {
            let l = Scalar::from(lo + i as u64);
            batch
                .equation()
                .g(*z_l)
                .term(-Scalar::ONE, a)
                .term(-c_l, &ct.alpha);
            batch
                .equation()
                .term(*z_l, pk.element())
                .term(-Scalar::ONE, b)
                .term(-c_l, &ct.beta)
                .g(c_l * l);
        }
        Ok(())
    }

    /// Verifies this proof on its own.
    #[allow(clippy::too_many_arguments)]
    pub fn verify(
        &self,
        label: &'static str,
        ctx: &ProofContext,
        pk: &PublicKey,
        ct: &Ciphertext,
        lo: u64,
        hi: u64,
    ) -> Result<(), ProofError> {
        let mut b = BatchVerifier::new();
        self.queue(label, ctx, pk, ct, lo, hi, &mut b)?;
        b.verify()
            .then_some(())
            .ok_or(ProofError::Invalid("disjunctive"))
    }

    /// `(A_ℓ ‖ B_ℓ)* ‖ c_ℓ* ‖ z_ℓ*`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(encoded_len(self.commitments.len().max(1)));
        for (a, b) in &self.commitments {
            out.extend_from_slice(a.as_bytes());
            out.extend_from_slice(b.as_bytes());
        }
        for s in self.challenges.iter().chain(&self.responses) {
            out.extend_from_slice(s.as_bytes());
        }
        out
    }

    /// Strict decoding of a proof over `[lo, hi]` (the statement fixes the length).
    pub fn decode(bytes: &[u8], lo: u64, hi: u64) -> Result<Self, DecodeError> {
        let n = branches(lo, hi).map_err(|_| DecodeError::OutOfRange { what: "range" })?;
        if bytes.len() != encoded_len(n) {
            return Err(DecodeError::Length {
                expected: encoded_len(n),
                actual: bytes.len(),
            });
        }
        let mut r = Reader::new(bytes);
        let mut commitments = Vec::with_capacity(n);
        for _ in 0..n {
            commitments.push((r.element()?, r.element()?));
        }
        let challenges = (0..n - 1).map(|_| r.scalar()).collect::<Result<_, _>>()?;
        let responses = (0..n).map(|_| r.scalar()).collect::<Result<_, _>>()?;
        r.finish()?;
        Ok(Self {
            commitments,
            challenges,
            responses,
        })
    }
}
