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
use curve25519_dalek::scalar::Scalar;
use rand_core::CryptoRng;

use crate::batch::BatchVerifier;
use crate::elgamal::{CIPHERTEXT_LEN, Ciphertext, Nonce, PublicKey};
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
    /// and, with groups, that they divide the choices and `0 ≤ min ≤ max ≤ group length × value_max`
    /// with `max − min + 1` within the branch limit.
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
        if self.groups == 0 || self.columns && self.value_max != 1 {
            return match self.columns {
                false => Ok(()),
                true => Err(ProofError::Parameter("columns need groups of 0/1 values")),
            };
        }
        if !self.choices.is_multiple_of(self.groups) {
            return Err(ProofError::Parameter("groups do not divide the choices"));
        }
        let group_max = u64::from(self.choices / self.groups) * u64::from(self.value_max);
        if self.min > self.max || u64::from(self.max) > group_max {
            return Err(ProofError::Parameter("selection limits out of range"));
        }
        disjunctive::branches(u64::from(self.min), u64::from(self.max))?;
        Ok(())
    }

    /// Checks a plaintext answer against this shape (one value per choice, each within its limit,
    /// each group's sum within `[min, max]`) and returns the groups' sums.
    pub fn group_sums(&self, values: &[u8]) -> Result<Vec<u64>, ProofError> {
        if values.len() != self.choices as usize {
            return Err(ProofError::Parameter("one value per choice is required"));
        }
        if values.iter().any(|&v| u32::from(v) > self.value_max) {
            return Err(ProofError::Parameter("a value above its limit"));
        }
        if self.groups == 0 {
            return Ok(Vec::new());
        }
        let sums: Vec<u64> = values
            .chunks(self.group_len())
            .map(|g| g.iter().map(|&v| u64::from(v)).sum())
            .collect();
        if sums
            .iter()
            .any(|&s| s < u64::from(self.min) || s > u64::from(self.max))
        {
            return Err(ProofError::Parameter("a sum outside [min, max]"));
        }
        if self.columns && self.column_sums(values).iter().any(|&s| s > 1) {
            return Err(ProofError::Parameter("a column summing to more than 1"));
        }
        Ok(sums)
    }

    /// The sum of each column (position `p` of every group) of `values`.
    fn column_sums(&self, values: &[u8]) -> Vec<u64> {
        let len = self.group_len();
        (0..len)
            .map(|p| {
                values
                    .iter()
                    .skip(p)
                    .step_by(len)
                    .map(|&v| u64::from(v))
                    .sum()
            })
            .collect()
    }

    /// Number of column proofs.
    fn column_count(&self) -> usize {
        if self.columns { self.group_len() } else { 0 }
    }

    /// Length of one group.
    fn group_len(&self) -> usize {
        (self.choices / self.groups.max(1)) as usize
    }

    /// Encoded length of an [`EncryptedContest`] of this shape.
    pub fn encoded_len(&self) -> usize {
        let value_branches = self.value_max as usize + 1;
        let sum_branches = (self.max.saturating_sub(self.min)) as usize + 1;
        self.choices as usize * (CIPHERTEXT_LEN + disjunctive::encoded_len(value_branches))
            + self.groups as usize * disjunctive::encoded_len(sum_branches)
            + self.column_count() * disjunctive::encoded_len(2)
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
    /// Per group, proof that its sum is in `[min, max]`.
    pub sum_proofs: Vec<DisjunctiveProof>,
    /// With columns: per position in a group, proof that the column sums to 0 or 1.
    pub column_proofs: Vec<DisjunctiveProof>,
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

/// The position of group `g`'s sum proof.
fn sum_position(g: usize) -> u32 {
    NO_POSITION - g as u32
}

/// The position of column `p`'s proof.
fn column_position(spec: &ContestSpec, p: usize) -> u32 {
    NO_POSITION - spec.groups - p as u32
}

impl EncryptedContest {
    /// Encrypts `values` (one per choice) and proves it well formed.
    pub fn encrypt_with_rng<R: CryptoRng + ?Sized>(
        ctx: &ProofContext,
        pk: &PublicKey,
        spec: &ContestSpec,
        values: &[u8],
        rng: &mut R,
    ) -> Result<(Self, ContestOpening), ProofError> {
        spec.validate()?;
        let sums = spec.group_sums(values)?;
        let mut out = Vec::with_capacity(values.len());
        let mut nonces = Vec::with_capacity(values.len());
        for (j, &v) in values.iter().enumerate() {
            let m = u64::from(v);
            let (ct, r) = pk.encrypt_with_rng(m, rng);
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
        let mut sum_proofs = Vec::with_capacity(sums.len());
        for (g, &sum) in sums.iter().enumerate() {
            let range = g * spec.group_len()..(g + 1) * spec.group_len();
            let total_ct = Ciphertext::sum(out[range.clone()].iter().map(|s| &s.ciphertext));
            let total_nonce =
                Nonce::from_scalar(nonces[range].iter().map(|r| r.as_scalar()).sum::<Scalar>());
            sum_proofs.push(DisjunctiveProof::prove_with_rng(
                labels::SELECTION_COUNT,
                &ctx.at(spec.index, sum_position(g)),
                pk,
                &total_ct,
                u64::from(spec.min),
                u64::from(spec.max),
                sum,
                &total_nonce,
                rng,
            )?);
        }
        let mut column_proofs = Vec::with_capacity(spec.column_count());
        if spec.columns {
            let len = spec.group_len();
            for (p, sum) in spec.column_sums(values).into_iter().enumerate() {
                let column_ct =
                    Ciphertext::sum(out.iter().skip(p).step_by(len).map(|s| &s.ciphertext));
                let column_nonce = Nonce::from_scalar(
                    nonces
                        .iter()
                        .skip(p)
                        .step_by(len)
                        .map(|r| r.as_scalar())
                        .sum::<Scalar>(),
                );
                column_proofs.push(DisjunctiveProof::prove_with_rng(
                    labels::SELECTION_COUNT,
                    &ctx.at(spec.index, column_position(spec, p)),
                    pk,
                    &column_ct,
                    0,
                    1,
                    sum,
                    &column_nonce,
                    rng,
                )?);
            }
        }
        let opening = ContestOpening {
            values: values.to_vec(),
            nonces,
        };
        Ok((
            Self {
                selections: out,
                sum_proofs,
                column_proofs,
            },
            opening,
        ))
    }

    /// The homomorphic sum of each group's ciphertexts (an encryption of its sum).
    pub fn group_totals(&self, spec: &ContestSpec) -> Vec<Ciphertext> {
        if spec.groups == 0 {
            return Vec::new();
        }
        self.selections
            .chunks(spec.group_len())
            .map(|g| Ciphertext::sum(g.iter().map(|s| &s.ciphertext)))
            .collect()
    }

    /// The homomorphic sum of each column (position `p` of every group), with columns.
    pub fn column_totals(&self, spec: &ContestSpec) -> Vec<Ciphertext> {
        let len = spec.group_len();
        (0..spec.column_count())
            .map(|p| {
                Ciphertext::sum(
                    self.selections
                        .iter()
                        .skip(p)
                        .step_by(len)
                        .map(|s| &s.ciphertext),
                )
            })
            .collect()
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
            || self.sum_proofs.len() != spec.groups as usize
            || self.column_proofs.len() != spec.column_count()
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
        for (g, (proof, total)) in self
            .sum_proofs
            .iter()
            .zip(self.group_totals(spec))
            .enumerate()
        {
            proof.queue(
                labels::SELECTION_COUNT,
                &ctx.at(spec.index, sum_position(g)),
                pk,
                &total,
                u64::from(spec.min),
                u64::from(spec.max),
                batch,
            )?;
        }
        for (p, (proof, total)) in self
            .column_proofs
            .iter()
            .zip(self.column_totals(spec))
            .enumerate()
        {
            proof.queue(
                labels::SELECTION_COUNT,
                &ctx.at(spec.index, column_position(spec, p)),
                pk,
                &total,
                0,
                1,
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
        spec.group_sums(&opening.values)
            .map_err(|_| ProofError::Invalid("contest opening"))?;
        Ok(opening.values.clone())
    }

    /// `(ciphertext ‖ value proof)` per choice, then the groups' sum proofs, then the column proofs.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for s in &self.selections {
            out.extend_from_slice(&s.ciphertext.to_bytes());
            out.extend_from_slice(&s.proof.to_bytes());
        }
        for p in self.sum_proofs.iter().chain(&self.column_proofs) {
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
        let sum_proof_len =
            disjunctive::encoded_len(spec.max.saturating_sub(spec.min) as usize + 1);
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
        let mut sum_proofs = Vec::with_capacity(spec.groups as usize);
        for _ in 0..spec.groups {
            let (pr, tail) = rest.split_at(sum_proof_len);
            sum_proofs.push(DisjunctiveProof::decode(
                pr,
                u64::from(spec.min),
                u64::from(spec.max),
            )?);
            rest = tail;
        }
        let column_proof_len = disjunctive::encoded_len(2);
        let mut column_proofs = Vec::with_capacity(spec.column_count());
        for _ in 0..spec.column_count() {
            let (pr, tail) = rest.split_at(column_proof_len);
            column_proofs.push(DisjunctiveProof::decode(pr, 0, 1)?);
            rest = tail;
        }
        Ok(Self {
            selections,
            sum_proofs,
            column_proofs,
        })
    }
}
