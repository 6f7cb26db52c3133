//! An encrypted contest (one question of a ballot): one ciphertext per choice, a proof that each
//! encrypts a value in `[0, value_max]`, and a proof per group of choices that the group's values
//! sum to a number in `[min, max]`.
//!
//! The shapes the manifest's question kinds use:
//! - selections (referendum, choose-one, choose-range): values 0/1, one group, `[min, max]`
//!   selections;
//! - scores: values `0..=R`, one group bounding the total (a budget), or no group when the total
//!   is not bounded;
//! - scales: one 0/1 value per (item, step), one group per item with exactly one step chosen;
//! - rankings (for preferential questions, counted after a mix-net): one 0/1 value per (rank,
//!   choice), one group per rank with at most one choice, and *columns*: each choice at most at
//!   one rank.
//!
//! Proof positions: the value proof of choice `j` of question `q` uses position `(q, j)`; the sum
//! proof of group `g` uses `(q, NO_POSITION − g)` (so a one-group contest's is `(q, NO_POSITION)`);
//! the column proof of position `p` uses `(q, NO_POSITION − groups − p)`.
//! The caller binds the context to the ballot's public credential, so a contest copied into another
//! voter's ballot does not verify.
use rand_core::CryptoRng;

use crate::batch::BatchVerifier;
use crate::elgamal::{self, CIPHERTEXT_LEN, Ciphertext, EncryptionKey, Nonce, PublicKey};
use crate::error::{DecodeError, ProofError};
use crate::proofs::disjunctive::{self, DisjunctiveProof};
use crate::proofs::labels;
use crate::transcript::{NO_POSITION, ProofContext};

/// Most choices one question may have.
pub const MAX_CHOICES: u32 = 64;
/// Most ciphertexts one contest may have (a scale's items × steps).
pub const MAX_CIPHERTEXTS: u32 = 256;

/// The shape of a question as the cryptography sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ContestSpec {
    /// Question index within the manifest.
    pub index: u32,
    /// Number of ciphertexts (1..=[`MAX_CIPHERTEXTS`]).
    pub choices: u32,
    /// Smallest allowed sum of a group.
    pub min: u32,
    /// Largest allowed sum of a group.
    pub max: u32,
    /// Largest value one ciphertext may encrypt (1: a selection).
    pub value_max: u32,
    /// The ciphertexts fall into this many consecutive groups of equal length, each with a proof
    /// that its sum lies in `[min, max]`; 0: no sum proof.
    pub groups: u32,
    /// With groups of 0/1 values: also prove that each column (the values at one position in every
    /// group) sums to 0 or 1 — in a ranking, no choice at two ranks.
    pub columns: bool,
}

impl ContestSpec {
    /// A selection question: `choices` 0/1 values, between `min` and `max` of them chosen.
    pub fn selection(index: u32, choices: u32, min: u32, max: u32) -> Self {
        Self {
            index,
            choices,
            min,
            max,
            value_max: 1,
            groups: 1,
            columns: false,
        }
    }

    /// Checks `1 ≤ choices ≤ MAX_CIPHERTEXTS`, `value_max + 1` within the proofs' branch limit,
    /// `min ≤ max`, and, with groups, that they divide the choices and
    /// `max ≤ group length × value_max` with `max − min + 1` within the branch limit; columns need
    /// groups of 0/1 values.
    pub fn validate(&self) -> Result<(), ProofError> {
        if self.choices == 0 || self.choices > MAX_CIPHERTEXTS {
            return Err(ProofError::Parameter("number of choices out of range"));
        }
        if self.value_max == 0 {
            return Err(ProofError::Parameter("value limit out of range"));
        }
        disjunctive::branches(0, u64::from(self.value_max))?;
        if self.min > self.max {
            return Err(ProofError::Parameter("selection limits out of range"));
        }
        if self.columns && (self.groups == 0 || self.value_max != 1) {
            return Err(ProofError::Parameter("columns need groups of 0/1 values"));
        }
        if self.groups == 0 {
            return Ok(());
        }
        if !self.choices.is_multiple_of(self.groups) {
            return Err(ProofError::Parameter("groups do not divide the choices"));
        }
        let group_max = u64::from(self.choices / self.groups) * u64::from(self.value_max);
        if u64::from(self.max) > group_max {
            return Err(ProofError::Parameter("selection limits out of range"));
        }
        disjunctive::branches(u64::from(self.min), u64::from(self.max))?;
        Ok(())
    }

    /// Checks a plaintext answer against this shape (one value per choice, each within its limit,
    /// each proven sum within its range) and returns the proven sums, in [`ContestSpec::sums`]
    /// order.
    pub fn proven_sums(&self, values: &[u8]) -> Result<Vec<u64>, ProofError> {
        if values.len() != self.choices as usize {
            return Err(ProofError::Parameter("one value per choice is required"));
        }
        if values.iter().any(|&v| u32::from(v) > self.value_max) {
            return Err(ProofError::Parameter("a value above its limit"));
        }
        self.sums()
            .map(|sum| {
                let total: u64 = sum.members().map(|j| u64::from(values[j])).sum();
                if (sum.lo..=sum.hi).contains(&total) {
                    Ok(total)
                } else {
                    Err(ProofError::Parameter(sum.out_of_range))
                }
            })
            .collect()
    }

    /// Length of one group.
    fn group_len(&self) -> usize {
        (self.choices / self.groups.max(1)) as usize
    }

    /// Every proven sum: each group's, then (with columns) each column's.
    fn sums(&self) -> impl Iterator<Item = Sum> + '_ {
        let len = self.group_len();
        let groups = (0..self.groups as usize).map(move |g| Sum {
            start: g * len,
            step: 1,
            count: len,
            position: NO_POSITION - g as u32,
            lo: u64::from(self.min),
            hi: u64::from(self.max),
            out_of_range: "a sum outside [min, max]",
        });
        let columns = (0..if self.columns { len } else { 0 }).map(move |p| Sum {
            start: p,
            step: len,
            count: self.groups as usize,
            position: NO_POSITION - self.groups - p as u32,
            lo: 0,
            hi: 1,
            out_of_range: "a column summing to more than 1",
        });
        groups.chain(columns)
    }

    /// Encoded length of an [`EncryptedContest`] of this shape.
    pub fn encoded_len(&self) -> usize {
        let value_branches = self.value_max as usize + 1;
        self.choices as usize * (CIPHERTEXT_LEN + disjunctive::encoded_len(value_branches))
            + self
                .sums()
                .map(|sum| disjunctive::encoded_len((sum.hi - sum.lo) as usize + 1))
                .sum::<usize>()
    }
}

/// One proven sum of a contest: its members (the ciphertexts `start + k·step`, `k < count`), the
/// position of its proof and its allowed range.
#[derive(Clone, Copy, Debug)]
struct Sum {
    start: usize,
    step: usize,
    count: usize,
    position: u32,
    lo: u64,
    hi: u64,
    out_of_range: &'static str,
}

impl Sum {
    fn members(&self) -> impl Iterator<Item = usize> {
        let (start, step) = (self.start, self.step);
        (0..self.count).map(move |k| start + k * step)
    }

    /// The homomorphic sum of its members' ciphertexts.
    fn ciphertext(&self, selections: &[EncryptedSelection]) -> Ciphertext {
        Ciphertext::sum(self.members().map(|j| &selections[j].ciphertext))
    }
}

/// One encrypted choice and its range proof.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EncryptedSelection {
    /// Encryption of a value in `[0, value_max]`.
    pub ciphertext: Ciphertext,
    /// Proof that it does.
    pub proof: DisjunctiveProof,
}

/// An encrypted question.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EncryptedContest {
    /// One per choice, in manifest order.
    pub selections: Vec<EncryptedSelection>,
    /// Per proven sum, its proof: each group's sum in `[min, max]`, then (with columns) each
    /// column's in `[0, 1]`.
    pub sum_proofs: Vec<DisjunctiveProof>,
}

/// The encryption nonces of a contest: what a Benaloh audit reveals. Secret until then.
#[derive(Clone)]
pub struct ContestOpening {
    /// The plaintext value of each choice.
    pub values: Vec<u8>,
    /// The nonce of each choice.
    pub nonces: Vec<Nonce>,
}

impl core::fmt::Debug for ContestOpening {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The values are the voter's answer: never printed.
        f.write_str("ContestOpening(<redacted>)")
    }
}

impl EncryptedContest {
    /// Encrypts `values` (one per choice) and proves it well formed.
    pub fn encrypt_with_rng<K: EncryptionKey + ?Sized, R: CryptoRng + ?Sized>(
        ctx: &ProofContext,
        pk: &K,
        spec: &ContestSpec,
        values: &[u8],
        rng: &mut R,
    ) -> Result<(Self, ContestOpening), ProofError> {
        spec.validate()?;
        let totals = spec.proven_sums(values)?;
        let mut out = Vec::with_capacity(values.len());
        let mut nonces = Vec::with_capacity(values.len());
        for (j, &v) in values.iter().enumerate() {
            let m = u64::from(v);
            let (ct, r) = elgamal::encrypt_with_rng(pk, m, rng);
            let proof = DisjunctiveProof::prove_with_rng(
                labels::SELECTION,
                &ctx.at(spec.index, j as u32),
                pk,
                &ct,
                0,
                u64::from(spec.value_max),
                m,
                &r,
                rng,
            )?;
            out.push(EncryptedSelection {
                ciphertext: ct,
                proof,
            });
            nonces.push(r);
        }
        let mut sum_proofs = Vec::with_capacity(totals.len());
        for (sum, total) in spec.sums().zip(totals) {
            let nonce = Nonce::from_scalar(sum.members().map(|j| nonces[j].as_scalar()).sum());
            sum_proofs.push(DisjunctiveProof::prove_with_rng(
                labels::SELECTION_COUNT,
                &ctx.at(spec.index, sum.position),
                pk,
                &sum.ciphertext(&out),
                sum.lo,
                sum.hi,
                total,
                &nonce,
                rng,
            )?);
        }
        let opening = ContestOpening {
            values: values.to_vec(),
            nonces,
        };
        Ok((
            Self {
                selections: out,
                sum_proofs,
            },
            opening,
        ))
    }

    /// Queues every proof of this contest.
    pub fn queue(
        &self,
        ctx: &ProofContext,
        pk: &PublicKey,
        spec: &ContestSpec,
        batch: &mut BatchVerifier,
    ) -> Result<(), ProofError> {
        spec.validate()?;
        if self.selections.len() != spec.choices as usize
            || self.sum_proofs.len() != spec.sums().count()
        {
            return Err(ProofError::Shape("contest"));
        }
        for (j, s) in self.selections.iter().enumerate() {
            s.proof.queue(
                labels::SELECTION,
                &ctx.at(spec.index, j as u32),
                pk,
                &s.ciphertext,
                0,
                u64::from(spec.value_max),
                batch,
            )?;
        }
        for (sum, proof) in spec.sums().zip(&self.sum_proofs) {
            proof.queue(
                labels::SELECTION_COUNT,
                &ctx.at(spec.index, sum.position),
                pk,
                &sum.ciphertext(&self.selections),
                sum.lo,
                sum.hi,
                batch,
            )?;
        }
        Ok(())
    }

    /// Verifies this contest on its own.
    pub fn verify(
        &self,
        ctx: &ProofContext,
        pk: &PublicKey,
        spec: &ContestSpec,
    ) -> Result<(), ProofError> {
        let mut b = BatchVerifier::new();
        self.queue(ctx, pk, spec, &mut b)?;
        b.verify()
            .then_some(())
            .ok_or(ProofError::Invalid("contest"))
    }

    /// Checks a Benaloh audit: re-encrypting the revealed values with the revealed nonces gives
    /// exactly these ciphertexts, each value is within its limit and each group's sum within
    /// `[min, max]`. Returns the values.
    pub fn check_opening(
        &self,
        pk: &PublicKey,
        spec: &ContestSpec,
        opening: &ContestOpening,
    ) -> Result<Vec<u8>, ProofError> {
        if opening.values.len() != self.selections.len()
            || opening.nonces.len() != self.selections.len()
        {
            return Err(ProofError::Shape("contest opening"));
        }
        for ((s, &m), r) in self
            .selections
            .iter()
            .zip(&opening.values)
            .zip(&opening.nonces)
        {
            if u32::from(m) > spec.value_max
                || pk.encrypt_with_nonce(u64::from(m), r) != s.ciphertext
            {
                return Err(ProofError::Invalid("contest opening"));
            }
        }
        spec.proven_sums(&opening.values)
            .map_err(|_| ProofError::Invalid("contest opening"))?;
        Ok(opening.values.clone())
    }

    /// `(ciphertext ‖ value proof)` per choice, then the sum proofs (groups', then columns').
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for s in &self.selections {
            out.extend_from_slice(&s.ciphertext.to_bytes());
            out.extend_from_slice(&s.proof.to_bytes());
        }
        for p in &self.sum_proofs {
            out.extend_from_slice(&p.to_bytes());
        }
        out
    }

    /// Strict decoding of a contest of shape `spec` (the length is fixed by the shape).
    pub fn decode(bytes: &[u8], spec: &ContestSpec) -> Result<Self, DecodeError> {
        spec.validate().map_err(|_| DecodeError::OutOfRange {
            what: "contest shape",
        })?;
        if bytes.len() != spec.encoded_len() {
            return Err(DecodeError::Length {
                expected: spec.encoded_len(),
                actual: bytes.len(),
            });
        }
        let value_proof_len = disjunctive::encoded_len(spec.value_max as usize + 1);
        let mut rest = bytes;
        let mut selections = Vec::with_capacity(spec.choices as usize);
        for _ in 0..spec.choices {
            let (ct, tail) = rest.split_at(CIPHERTEXT_LEN);
            let (pr, tail) = tail.split_at(value_proof_len);
            selections.push(EncryptedSelection {
                ciphertext: Ciphertext::decode(ct)?,
                proof: DisjunctiveProof::decode(pr, 0, u64::from(spec.value_max))?,
            });
            rest = tail;
        }
        let mut sum_proofs = Vec::new();
        for sum in spec.sums() {
            let (pr, tail) =
                rest.split_at(disjunctive::encoded_len((sum.hi - sum.lo) as usize + 1));
            sum_proofs.push(DisjunctiveProof::decode(pr, sum.lo, sum.hi)?);
            rest = tail;
        }
        Ok(Self {
            selections,
            sum_proofs,
        })
    }
}
