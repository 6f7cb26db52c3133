//! A verifiable re-encryption shuffle (mix-net step) and its proof: the Terelius–Wikström proof of a
//! shuffle in the commitment-consistent form of Wikström (2009), as specified for CHVote by Haenni,
//! Locher, Koenig and Dubuis ("Pseudo-code algorithms for verifiable re-encryption mix-nets", 2017),
//! written here additively over Ristretto255 and for rows of `w` ciphertexts shuffled together.
//!
//! Relation: given the election key `K` and `N` input rows `e_j = (e_{j,1} … e_{j,w})` and `N`
//! output rows `e'_i`, the prover knows a permutation `π` of `0..N` and nonces `r̃_{i,k}` with
//! `e'_{i,k} = e_{π(i),k} + (r̃_{i,k}·G, r̃_{i,k}·K)` for every `i, k`: the outputs are the inputs,
//! reordered and re-encrypted, with nothing dropped, duplicated or replaced.
//!
//! Independent generators `h, H_0 … H_{N−1}` ([`generators`]) are points nobody knows a discrete
//! logarithm of. The prover commits to the permutation, `c_{π(i)} = r_{π(i)}·G + H_i`, derives the
//! challenges `u_j` from everything so far, commits to the chain `ĉ_{−1} = h`,
//! `ĉ_i = r̂_i·G + u_{π(i)}·ĉ_{i−1}`, and proves in one sigma protocol, for `u'_i = u_{π(i)}`:
//!
//! - `Σ c_j − Σ H_i = r̄·G` (the commitment is to a permutation matrix's column sums …),
//! - `ĉ_{N−1} − (Π u_j)·h = r̂·G` (… and the `u'` are a permutation of the `u`),
//! - `Σ u_j·c_j = r̃·G + Σ u'_i·H_i`,
//! - `Σ u_j·e_{j,k} = Σ u'_i·e'_{i,k} − (r'_k·G, r'_k·K)` for each `k`,
//! - `ĉ_i = r̂_i·G + u'_i·ĉ_{i−1}` for each `i`.
//!
//! Commitments `t₁ = ω₁·G`, `t₂ = ω₂·G`, `t₃ = ω₃·G + Σ ω'_i·H_i`,
//! `t₄,k = (−ω₄,k·G + Σ ω'_i·α'_{i,k}, −ω₄,k·K + Σ ω'_i·β'_{i,k})`, `t̂_i = ω̂_i·G + ω'_i·ĉ_{i−1}`;
//! challenge `c`; responses `s₁ = ω₁ − c·r̄`, `s₂ = ω₂ − c·r̂`, `s₃ = ω₃ − c·r̃`,
//! `s₄,k = ω₄,k − c·r'_k`, `ŝ_i = ω̂_i − c·r̂_i`, `s'_i = ω'_i − c·u'_i`, where `r̄ = Σ r_j`,
//! `r̂ = Σ r̂_i·Π_{l>i} u'_l`, `r̃ = Σ r_j·u_j`, `r'_k = Σ r̃_{i,k}·u'_i`. The verifier checks
//! (all in one multiscalar multiplication, [`crate::batch`]):
//!
//! - `t₁ = c·(Σ c_j − Σ H_i) + s₁·G`
//! - `t₂ = c·(ĉ_{N−1} − (Π u_j)·h) + s₂·G`
//! - `t₃ = c·Σ u_j·c_j + s₃·G + Σ s'_i·H_i`
//! - `t₄,k = c·Σ u_j·e_{j,k} + (−s₄,k·G, −s₄,k·K) + Σ s'_i·e'_{i,k}` (both components)
//! - `t̂_i = c·ĉ_i + ŝ_i·G + s'_i·ĉ_{i−1}`
//!
//! The permutation is used as a memory index while shuffling and proving (as in other mix-nets):
//! a shuffling trustee runs on its own machine, where cache timing is not observable by voters.
//!
//! Transcripts (docs/protocol.md §3.5): `u_j` = challenge(label `shuffle-u`; `B(seed) U(j)`) with
//! `seed` the 32-byte encoding of challenge(label `shuffle-permutation`; `P(G) P(K) U(N) U(w)`, every
//! input ciphertext `P(α) P(β)` row by row, every output likewise, `P(c_j)` for each `j`); and
//! `c` = challenge(label `shuffle`; `B(seed) P(ĉ_i)… P(t₁) P(t₂) P(t₃) (P(t₄,k.α) P(t₄,k.β))… P(t̂_i)…`).
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{Identity, MultiscalarMul};
use rand_core::CryptoRng;
use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

use crate::batch::BatchVerifier;
use crate::elgamal::{Ciphertext, Nonce, PublicKey};
use crate::error::{DecodeError, ProofError};
use crate::group::{Element, Reader};
use crate::transcript::{ProofContext, Transcript};

/// Picks one component (`α` or `β`) of a ciphertext.
type Component = fn(&Ciphertext) -> &Element;

/// Labels of the shuffle's transcripts.
pub mod labels {
    /// The seed of the permutation challenges `u_j`.
    pub const PERMUTATION: &str = "shuffle-permutation";
    /// One permutation challenge `u_j`.
    pub const U: &str = "shuffle-u";
    /// The sigma protocol's challenge `c`.
    pub const SHUFFLE: &str = "shuffle";
}

/// Most rows one shuffle may have (bounds proof size: about 160 bytes a row).
pub const MAX_ROWS: usize = 1 << 24;
/// Most ciphertexts in one row.
pub const MAX_WIDTH: usize = 1024;

/// `h` (index `None`) or `H_i`: `from_uniform_bytes(SHA-512("hanpyo-shuffle-generator-v1" ‖ tag))`,
/// with tag `0xFF` for `h` and `0x00 ‖ u64be(i)` for `H_i` — points of unknown discrete logarithm.
pub fn generator(index: Option<u64>) -> Element {
    let mut h = Sha512::new();
    h.update(b"hanpyo-shuffle-generator-v1");
    match index {
        None => h.update([0xFF]),
        Some(i) => {
            h.update([0x00]);
            h.update(i.to_be_bytes());
        }
    }
    let wide: [u8; 64] = h.finalize().into();
    Element::from_point(RistrettoPoint::from_uniform_bytes(&wide))
}

/// `h` and `H_0 … H_{n−1}`.
pub fn generators(n: usize) -> (Element, Vec<Element>) {
    (
        generator(None),
        (0..n as u64).map(|i| generator(Some(i))).collect(),
    )
}

/// What the shuffler keeps secret: the permutation (output `i` is input `permutation[i]`) and the
/// re-encryption nonces.
pub struct ShuffleSecret {
    permutation: Zeroizing<Vec<usize>>,
    nonces: Vec<Vec<Nonce>>,
}

impl core::fmt::Debug for ShuffleSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ShuffleSecret(<redacted>)")
    }
}

/// A uniform index in `0..bound` (rejection sampling, no modulo bias).
fn uniform_below<R: CryptoRng + ?Sized>(rng: &mut R, bound: u64) -> u64 {
    let zone = u64::MAX - (u64::MAX % bound);
    loop {
        let x = rng.next_u64();
        if x < zone {
            return x % bound;
        }
    }
}

/// Checks every row has the same width `1..=MAX_WIDTH` and there are `1..=MAX_ROWS` rows.
fn shape(rows: &[Vec<Ciphertext>]) -> Result<usize, ProofError> {
    let w = rows.first().map_or(0, Vec::len);
    if rows.is_empty() || rows.len() > MAX_ROWS || w == 0 || w > MAX_WIDTH {
        return Err(ProofError::Parameter("shuffle size out of range"));
    }
    if rows.iter().any(|r| r.len() != w) {
        return Err(ProofError::Shape("shuffle rows of different widths"));
    }
    Ok(w)
}

/// Permutes the rows uniformly at random and re-encrypts every ciphertext.
pub fn shuffle_with_rng<R: CryptoRng + ?Sized>(
    pk: &PublicKey,
    inputs: &[Vec<Ciphertext>],
    rng: &mut R,
) -> Result<(Vec<Vec<Ciphertext>>, ShuffleSecret), ProofError> {
    shape(inputs)?;
    let n = inputs.len();
    let mut permutation = Zeroizing::new((0..n).collect::<Vec<usize>>());
    for i in (1..n).rev() {
        let j = uniform_below(rng, i as u64 + 1) as usize;
        permutation.swap(i, j);
    }
    let k = pk.element().point();
    let mut outputs = Vec::with_capacity(n);
    let mut nonces = Vec::with_capacity(n);
    for &from in permutation.iter() {
        let mut row = Vec::with_capacity(inputs[from].len());
        let mut row_nonces = Vec::with_capacity(inputs[from].len());
        for ct in &inputs[from] {
            let r = Scalar::random(rng);
            row.push(Ciphertext::from_points(
                ct.alpha.point() + RistrettoPoint::mul_base(&r),
                ct.beta.point() + r * k,
            ));
            row_nonces.push(Nonce::from_scalar(r));
        }
        outputs.push(row);
        nonces.push(row_nonces);
    }
    Ok((
        outputs,
        ShuffleSecret {
            permutation,
            nonces,
        },
    ))
}

/// A proof that `outputs` is a shuffle of `inputs` (commitment form: challenges are derived).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ShuffleProof {
    /// `c_j`, the permutation commitment (one per input row).
    pub permutation_commitment: Vec<Element>,
    /// `ĉ_i`, the commitment chain (one per output row).
    pub chain: Vec<Element>,
    /// `t₁, t₂, t₃`.
    pub t: [Element; 3],
    /// `t₄,k` for each column `k`.
    pub t4: Vec<(Element, Element)>,
    /// `t̂_i`.
    pub t_hat: Vec<Element>,
    /// `s₁, s₂, s₃`.
    pub s: [Scalar; 3],
    /// `s₄,k`.
    pub s4: Vec<Scalar>,
    /// `ŝ_i`.
    pub s_hat: Vec<Scalar>,
    /// `s'_i`.
    pub s_prime: Vec<Scalar>,
}

/// The seed of the permutation challenges and the challenges `u_j`.
fn permutation_challenges(
    ctx: &ProofContext,
    pk: &PublicKey,
    inputs: &[Vec<Ciphertext>],
    outputs: &[Vec<Ciphertext>],
    commitment: &[Element],
) -> ([u8; 32], Vec<Scalar>) {
    let mut t = Transcript::new(labels::PERMUTATION, ctx);
    t.point(&Element::generator())
        .point(pk.element())
        .u64(inputs.len() as u64)
        .u64(inputs.first().map_or(0, Vec::len) as u64);
    for ct in inputs.iter().chain(outputs).flatten() {
        t.point(&ct.alpha).point(&ct.beta);
    }
    t.points(commitment);
    let seed = t.challenge().to_bytes();
    let u = (0..inputs.len() as u64)
        .map(|j| {
            let mut t = Transcript::new(labels::U, ctx);
            t.bytes(&seed).u64(j);
            t.challenge()
        })
        .collect();
    (seed, u)
}

/// The sigma protocol's challenge `c`.
fn challenge(
    ctx: &ProofContext,
    seed: &[u8; 32],
    chain: &[Element],
    t: &[Element; 3],
    t4: &[(Element, Element)],
    t_hat: &[Element],
) -> Scalar {
    let mut tr = Transcript::new(labels::SHUFFLE, ctx);
    tr.bytes(seed).points(chain).points(t);
    for (a, b) in t4 {
        tr.point(a).point(b);
    }
    tr.points(t_hat);
    tr.challenge()
}

fn elements(points: &[RistrettoPoint]) -> Vec<Element> {
    points.iter().map(|p| Element::from_point(*p)).collect()
}

impl ShuffleProof {
    /// Proves that `outputs` (made by [`shuffle_with_rng`] with `secret`) shuffle `inputs`.
    pub fn prove_with_rng<R: CryptoRng + ?Sized>(
        ctx: &ProofContext,
        pk: &PublicKey,
        inputs: &[Vec<Ciphertext>],
        outputs: &[Vec<Ciphertext>],
        secret: &ShuffleSecret,
        rng: &mut R,
    ) -> Result<Self, ProofError> {
        let w = shape(inputs)?;
        let n = inputs.len();
        let pi = &secret.permutation;
        if shape(outputs)? != w
            || outputs.len() != n
            || pi.len() != n
            || secret.nonces.len() != n
            || secret.nonces.iter().any(|row| row.len() != w)
        {
            return Err(ProofError::Shape("shuffle"));
        }
        let (h, hs) = generators(n);
        let g = RistrettoPoint::mul_base(&Scalar::ONE);
        // Permutation commitment: c_{π(i)} = r_{π(i)}·G + H_i.
        let r: Zeroizing<Vec<Scalar>> =
            Zeroizing::new((0..n).map(|_| Scalar::random(rng)).collect());
        let mut c = vec![RistrettoPoint::identity(); n];
        for (i, &j) in pi.iter().enumerate() {
            c[j] = RistrettoPoint::mul_base(&r[j]) + hs[i].point();
        }
        let c = elements(&c);
        let (seed, u) = permutation_challenges(ctx, pk, inputs, outputs, &c);
        let u_prime: Zeroizing<Vec<Scalar>> = Zeroizing::new(pi.iter().map(|&j| u[j]).collect());
        // Commitment chain ĉ_i = r̂_i·G + u'_i·ĉ_{i−1}, ĉ_{−1} = h.
        let r_hat: Zeroizing<Vec<Scalar>> =
            Zeroizing::new((0..n).map(|_| Scalar::random(rng)).collect());
        let mut chain = Vec::with_capacity(n);
        let mut prev = *h.point();
        for i in 0..n {
            prev = RistrettoPoint::mul_base(&r_hat[i]) + u_prime[i] * prev;
            chain.push(prev);
        }
        let chain = elements(&chain);
        let w1 = Zeroizing::new(Scalar::random(rng));
        let w2 = Zeroizing::new(Scalar::random(rng));
        let w3 = Zeroizing::new(Scalar::random(rng));
        let w4: Zeroizing<Vec<Scalar>> =
            Zeroizing::new((0..w).map(|_| Scalar::random(rng)).collect());
        let w_hat: Zeroizing<Vec<Scalar>> =
            Zeroizing::new((0..n).map(|_| Scalar::random(rng)).collect());
        let w_prime: Zeroizing<Vec<Scalar>> =
            Zeroizing::new((0..n).map(|_| Scalar::random(rng)).collect());
        let t = [
            Element::from_point(RistrettoPoint::mul_base(&w1)),
            Element::from_point(RistrettoPoint::mul_base(&w2)),
            Element::from_point(
                RistrettoPoint::mul_base(&w3)
                    + RistrettoPoint::multiscalar_mul(
                        w_prime.iter(),
                        hs.iter().map(Element::point),
                    ),
            ),
        ];
        let k = *pk.element().point();
        // t₄,k = (−ω₄,k·G + Σ ω'_i·α'_{i,k}, −ω₄,k·K + Σ ω'_i·β'_{i,k})
        let t4_component = |col: usize, part: Component, base: RistrettoPoint| {
            Element::from_point(RistrettoPoint::multiscalar_mul(
                w_prime.iter().chain(core::iter::once(&-w4[col])),
                outputs
                    .iter()
                    .map(|row| *part(&row[col]).point())
                    .chain(core::iter::once(base)),
            ))
        };
        let t4: Vec<(Element, Element)> = (0..w)
            .map(|col| {
                (
                    t4_component(col, |ct| &ct.alpha, g),
                    t4_component(col, |ct| &ct.beta, k),
                )
            })
            .collect();
        let t_hat: Vec<Element> = (0..n)
            .map(|i| {
                let before = if i == 0 {
                    *h.point()
                } else {
                    *chain[i - 1].point()
                };
                Element::from_point(RistrettoPoint::mul_base(&w_hat[i]) + w_prime[i] * before)
            })
            .collect();
        let ch = challenge(ctx, &seed, &chain, &t, &t4, &t_hat);
        // Witness values.
        let r_bar = Zeroizing::new(r.iter().sum::<Scalar>());
        let mut v = Zeroizing::new(Scalar::ONE);
        let mut r_hat_sum = Zeroizing::new(Scalar::ZERO);
        for i in (0..n).rev() {
            *r_hat_sum += r_hat[i] * *v;
            *v *= u_prime[i];
        }
        let r_tilde = Zeroizing::new(r.iter().zip(&u).map(|(r, u)| r * u).sum::<Scalar>());
        let r_prime: Zeroizing<Vec<Scalar>> = Zeroizing::new(
            (0..w)
                .map(|col| {
                    secret
                        .nonces
                        .iter()
                        .zip(u_prime.iter())
                        .map(|(row, u)| row[col].as_scalar() * u)
                        .sum()
                })
                .collect(),
        );
        Ok(Self {
            permutation_commitment: c,
            chain,
            t,
            t4,
            t_hat,
            s: [
                *w1 - ch * *r_bar,
                *w2 - ch * *r_hat_sum,
                *w3 - ch * *r_tilde,
            ],
            s4: w4
                .iter()
                .zip(r_prime.iter())
                .map(|(w, r)| w - ch * r)
                .collect(),
            s_hat: w_hat
                .iter()
                .zip(r_hat.iter())
                .map(|(w, r)| w - ch * r)
                .collect(),
            s_prime: w_prime
                .iter()
                .zip(u_prime.iter())
                .map(|(w, u)| w - ch * u)
                .collect(),
        })
    }

    /// Queues the verification equations (`3 + 2w + N` of them).
    pub fn queue(
        &self,
        ctx: &ProofContext,
        pk: &PublicKey,
        inputs: &[Vec<Ciphertext>],
        outputs: &[Vec<Ciphertext>],
        batch: &mut BatchVerifier,
    ) -> Result<(), ProofError> {
        let w = shape(inputs)?;
        let n = inputs.len();
        if shape(outputs)? != w
            || outputs.len() != n
            || self.permutation_commitment.len() != n
            || self.chain.len() != n
            || self.t4.len() != w
            || self.t_hat.len() != n
            || self.s4.len() != w
            || self.s_hat.len() != n
            || self.s_prime.len() != n
        {
            return Err(ProofError::Shape("shuffle"));
        }
        let (h, hs) = generators(n);
        let (seed, u) =
            permutation_challenges(ctx, pk, inputs, outputs, &self.permutation_commitment);
        let c = challenge(ctx, &seed, &self.chain, &self.t, &self.t4, &self.t_hat);
        let one = -Scalar::ONE;
        let generator_g = Element::generator();
        let last = &self.chain[n - 1];
        // t₁ = c·(Σ c_j − Σ H_i) + s₁·G
        let mut e = batch.equation();
        e.term(one, &self.t[0]).g(self.s[0]);
        for (cj, hi) in self.permutation_commitment.iter().zip(&hs) {
            e.term(c, cj).term(-c, hi);
        }
        // t₂ = c·(ĉ_{N−1} − (Π u_j)·h) + s₂·G
        let u_product: Scalar = u.iter().product();
        batch
            .equation()
            .term(one, &self.t[1])
            .term(c, last)
            .term(-c * u_product, &h)
            .g(self.s[1]);
        // t₃ = c·Σ u_j·c_j + s₃·G + Σ s'_i·H_i
        let mut e = batch.equation();
        e.term(one, &self.t[2]).g(self.s[2]);
        for (uj, cj) in u.iter().zip(&self.permutation_commitment) {
            e.term(c * uj, cj);
        }
        for (s, hi) in self.s_prime.iter().zip(&hs) {
            e.term(*s, hi);
        }
        // t₄,k = c·Σ u_j·e_{j,k} + (−s₄,k·G, −s₄,k·K) + Σ s'_i·e'_{i,k}
        // One equation per component: α with base G, β with base K.
        let components: [(Component, &Element); 2] = [
            (|ct| &ct.alpha, &generator_g),
            (|ct| &ct.beta, pk.element()),
        ];
        for col in 0..w {
            let t4 = [&self.t4[col].0, &self.t4[col].1];
            for ((part, base), t) in components.iter().zip(t4) {
                let mut e = batch.equation();
                e.term(one, t).term(-self.s4[col], base);
                for (uj, row) in u.iter().zip(inputs) {
                    e.term(c * uj, part(&row[col]));
                }
                for (s, row) in self.s_prime.iter().zip(outputs) {
                    e.term(*s, part(&row[col]));
                }
            }
        }
        // t̂_i = c·ĉ_i + ŝ_i·G + s'_i·ĉ_{i−1}
        for i in 0..n {
            let before = if i == 0 { &h } else { &self.chain[i - 1] };
            batch
                .equation()
                .term(one, &self.t_hat[i])
                .term(c, &self.chain[i])
                .g(self.s_hat[i])
                .term(self.s_prime[i], before);
        }
        Ok(())
    }

    /// Verifies this proof on its own.
    pub fn verify(
        &self,
        ctx: &ProofContext,
        pk: &PublicKey,
        inputs: &[Vec<Ciphertext>],
        outputs: &[Vec<Ciphertext>],
    ) -> Result<(), ProofError> {
        let mut b = BatchVerifier::new();
        self.queue(ctx, pk, inputs, outputs, &mut b)?;
        b.verify()
            .then_some(())
            .ok_or(ProofError::Invalid("shuffle"))
    }

    /// Encoded length for `n` rows of width `w`.
    pub fn encoded_len(n: usize, w: usize) -> usize {
        32 * (3 * n + 3 + 2 * w) + 32 * (3 + w + 2 * n)
    }

    /// `c_j* ‖ ĉ_i* ‖ t₁ ‖ t₂ ‖ t₃ ‖ (t₄,k.α ‖ t₄,k.β)* ‖ t̂_i* ‖ s₁ ‖ s₂ ‖ s₃ ‖ s₄,k* ‖ ŝ_i* ‖ s'_i*`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let n = self.chain.len();
        let mut out = Vec::with_capacity(Self::encoded_len(n, self.t4.len()));
        let points = self
            .permutation_commitment
            .iter()
            .chain(&self.chain)
            .chain(&self.t)
            .chain(self.t4.iter().flat_map(|(a, b)| [a, b]))
            .chain(&self.t_hat);
        for p in points {
            out.extend_from_slice(p.as_bytes());
        }
        let scalars = self
            .s
            .iter()
            .chain(&self.s4)
            .chain(&self.s_hat)
            .chain(&self.s_prime);
        for s in scalars {
            out.extend_from_slice(s.as_bytes());
        }
        out
    }

    /// Strict decoding of a proof for `n` rows of width `w` (the statement fixes the length).
    pub fn decode(bytes: &[u8], n: usize, w: usize) -> Result<Self, DecodeError> {
        if n == 0 || n > MAX_ROWS || w == 0 || w > MAX_WIDTH {
            return Err(DecodeError::OutOfRange {
                what: "shuffle size",
            });
        }
        if bytes.len() != Self::encoded_len(n, w) {
            return Err(DecodeError::Length {
                expected: Self::encoded_len(n, w),
                actual: bytes.len(),
            });
        }
        let mut r = Reader::new(bytes);
        let mut points = |count: usize| {
            (0..count)
                .map(|_| r.element())
                .collect::<Result<Vec<_>, _>>()
        };
        let permutation_commitment = points(n)?;
        let chain = points(n)?;
        let t3 = points(3)?;
        let t4 = points(2 * w)?;
        let t_hat = points(n)?;
        let mut scalars = |count: usize| {
            (0..count)
                .map(|_| r.scalar())
                .collect::<Result<Vec<_>, _>>()
        };
        let s = scalars(3)?;
        let s4 = scalars(w)?;
        let s_hat = scalars(n)?;
        let s_prime = scalars(n)?;
        r.finish()?;
        Ok(Self {
            permutation_commitment,
            chain,
            t: [t3[0], t3[1], t3[2]],
            t4: t4.chunks(2).map(|p| (p[0], p[1])).collect(),
            t_hat,
            s: [s[0], s[1], s[2]],
            s4,
            s_hat,
            s_prime,
        })
    }
}
