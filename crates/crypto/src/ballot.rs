//! An encrypted contest (one question of a ballot): one ciphertext per choice, a proof that each
//! encrypts 0 or 1, and a proof that their sum (the number of selections) lies in `[min, max]`.
//!
//! Proof positions: the selection proof of choice `j` of question `q` uses position `(q, j)`; the
//! selection-count proof uses `(q, NO_POSITION)`. The caller binds the context to the ballot's
//! public credential, so a contest copied into another voter's ballot does not verify.
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

/// The shape of a question as the cryptography sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ContestSpec {
    /// Question index within the manifest.
    pub index: u32,
    /// Number of choices (1..=[`MAX_CHOICES`]).
    pub choices: u32,
    /// Fewest selections allowed.
    pub min: u32,
    /// Most selections allowed.
    pub max: u32,
}

impl ContestSpec {
    /// Checks `1 ≤ choices ≤ MAX_CHOICES` and `0 ≤ min ≤ max ≤ choices`.
    pub fn validate(&self) -> Result<(), ProofError> {
        if self.choices == 0 || self.choices > MAX_CHOICES {
            return Err(ProofError::Parameter("number of choices out of range"));
        }
        if self.min > self.max || self.max > self.choices {
            return Err(ProofError::Parameter("selection limits out of range"));
        }
        Ok(())
    }

    /// Encoded length of an [`EncryptedContest`] of this shape.
    pub fn encoded_len(&self) -> usize {
        let branches = (self.max - self.min + 1) as usize;
        self.choices as usize * (CIPHERTEXT_LEN + disjunctive::encoded_len(2))
            + disjunctive::encoded_len(branches)
    }
}

/// One encrypted choice and its 0/1 proof.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EncryptedSelection {
    /// Encryption of 0 or 1.
    pub ciphertext: Ciphertext,
    /// Proof that it encrypts 0 or 1.
    pub proof: DisjunctiveProof,
}

/// An encrypted question.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EncryptedContest {
    /// One per choice, in manifest order.
    pub selections: Vec<EncryptedSelection>,
    /// Proof that the number of selections is in `[min, max]`.
    pub count_proof: DisjunctiveProof,
}

/// The encryption nonces of a contest: what a Benaloh audit reveals. Secret until then.
#[derive(Clone, Debug)]
pub struct ContestOpening {
    /// The plaintext selections (0 or 1 each).
    pub selections: Vec<u8>,
    /// The nonce of each selection.
    pub nonces: Vec<Nonce>,
}

impl EncryptedContest {
    /// Encrypts `selections` (one 0/1 per choice) and proves it well-formed.
    pub fn encrypt_with_rng<R: CryptoRng + ?Sized>(
        ctx: &ProofContext,
        pk: &PublicKey,
        spec: &ContestSpec,
        selections: &[bool],
        rng: &mut R,
    ) -> Result<(Self, ContestOpening), ProofError> {
        spec.validate()?;
        if selections.len() != spec.choices as usize {
            return Err(ProofError::Parameter(
                "one selection per choice is required",
            ));
        }
        let count = selections.iter().filter(|s| **s).count() as u64;
        if count < u64::from(spec.min) || count > u64::from(spec.max) {
            return Err(ProofError::Parameter(
                "number of selections outside [min, max]",
            ));
        }
        let mut out = Vec::with_capacity(selections.len());
        let mut nonces = Vec::with_capacity(selections.len());
        for (j, &sel) in selections.iter().enumerate() {
            let m = u64::from(sel);
            let (ct, r) = pk.encrypt_with_rng(m, rng);
            let proof = DisjunctiveProof::prove_with_rng(
                labels::SELECTION,
                &ctx.at(spec.index, j as u32),
                pk,
                &ct,
                0,
                1,
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
        let total_ct = Ciphertext::sum(out.iter().map(|s| &s.ciphertext));
        let total_nonce = Nonce::from_scalar(nonces.iter().map(|r| r.as_scalar()).sum::<Scalar>());
        let count_proof = DisjunctiveProof::prove_with_rng(
            labels::SELECTION_COUNT,
            &ctx.at(spec.index, NO_POSITION),
            pk,
            &total_ct,
            u64::from(spec.min),
            u64::from(spec.max),
            count,
            &total_nonce,
            rng,
        )?;
        let opening = ContestOpening {
            selections: selections.iter().map(|s| u8::from(*s)).collect(),
            nonces,
        };
        Ok((
            Self {
                selections: out,
                count_proof,
            },
            opening,
        ))
    }

    /// The homomorphic sum of the selections (an encryption of the number of selections).
    pub fn total(&self) -> Ciphertext {
        Ciphertext::sum(self.selections.iter().map(|s| &s.ciphertext))
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
        if self.selections.len() != spec.choices as usize {
            return Err(ProofError::Shape("contest"));
        }
        for (j, s) in self.selections.iter().enumerate() {
            s.proof.queue(
                labels::SELECTION,
                &ctx.at(spec.index, j as u32),
                pk,
                &s.ciphertext,
                0,
                1,
                batch,
            )?;
        }
        self.count_proof.queue(
            labels::SELECTION_COUNT,
            &ctx.at(spec.index, NO_POSITION),
            pk,
            &self.total(),
            u64::from(spec.min),
            u64::from(spec.max),
            batch,
        )
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

    /// Checks a Benaloh audit: re-encrypting the revealed plaintexts with the revealed nonces
    /// gives exactly these ciphertexts. Returns the plaintext selections.
    pub fn check_opening(
        &self,
        pk: &PublicKey,
        opening: &ContestOpening,
    ) -> Result<Vec<u8>, ProofError> {
        if opening.selections.len() != self.selections.len()
            || opening.nonces.len() != self.selections.len()
        {
            return Err(ProofError::Shape("contest opening"));
        }
        for ((s, &m), r) in self
            .selections
            .iter()
            .zip(&opening.selections)
            .zip(&opening.nonces)
        {
            if m > 1 || pk.encrypt_with_nonce(u64::from(m), r) != s.ciphertext {
                return Err(ProofError::Invalid("contest opening"));
            }
        }
        Ok(opening.selections.clone())
    }

    /// `(ciphertext ‖ 0/1 proof)` per choice, then the count proof.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for s in &self.selections {
            out.extend_from_slice(&s.ciphertext.to_bytes());
            out.extend_from_slice(&s.proof.to_bytes());
        }
        out.extend_from_slice(&self.count_proof.to_bytes());
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
        let sel_proof_len = disjunctive::encoded_len(2);
        let mut rest = bytes;
        let mut selections = Vec::with_capacity(spec.choices as usize);
        for _ in 0..spec.choices {
            let (ct, tail) = rest.split_at(CIPHERTEXT_LEN);
            let (pr, tail) = tail.split_at(sel_proof_len);
            selections.push(EncryptedSelection {
                ciphertext: Ciphertext::decode(ct)?,
                proof: DisjunctiveProof::decode(pr, 0, 1)?,
            });
            rest = tail;
        }
        let count_proof = DisjunctiveProof::decode(rest, u64::from(spec.min), u64::from(spec.max))?;
        Ok(Self {
            selections,
            count_proof,
        })
    }
}
