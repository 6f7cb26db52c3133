//! What the election's parties compute to produce entries: a voter's ballot, a trustee's partial
//! decryption of the tally, and the result from `t` partial decryptions. The verifier checks these
//! independently (in [`crate::verify`]); this module is what the simulator, the server and the
//! command-line clients share to make them.
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::traits::Identity;
use hanpyo_crypto::ballot::{ContestOpening, ContestSpec, EncryptedContest};
use hanpyo_crypto::credential::CredentialSigningKey;
use hanpyo_crypto::dlog::DlogTable;
use hanpyo_crypto::elgamal::{Ciphertext, EncryptionKey};
use hanpyo_crypto::group::Element;
use hanpyo_crypto::threshold::{KeyShare, ThresholdParams, lagrange_coefficients};
use hanpyo_crypto::transcript::ProofContext;
use rand_core::CryptoRng;

use crate::entry::{Ballot, Entry};
use crate::error::RecordError;

/// Encrypts one value vector per question ([`crate::question::Question::values_of`]), proves it,
/// and signs the ballot.
pub fn encrypt_ballot_with_rng<K: EncryptionKey + ?Sized, R: CryptoRng + ?Sized>(
    ctx: &ProofContext,
    pk: &K,
    specs: &[ContestSpec],
    key: &CredentialSigningKey,
    values: &[Vec<u8>],
    rng: &mut R,
) -> Result<(Ballot, Vec<ContestOpening>), RecordError> {
    if values.len() != specs.len() {
        return Err(RecordError::Invalid(
            "ballot",
            "one selection list per question".into(),
        ));
    }
    let bound = ctx.bound_to(*key.public().as_bytes());
    let mut contests = Vec::with_capacity(specs.len());
    let mut openings = Vec::with_capacity(specs.len());
    for (spec, sel) in specs.iter().zip(values) {
        let (c, o) = EncryptedContest::encrypt_with_rng(&bound, pk, spec, sel, rng)?;
        contests.push(c);
        openings.push(o);
    }
    let signature = key.sign_with_rng(ctx, &Ballot::message(key.public(), &contests), rng);
    let ballot = Ballot {
        credential: *key.public(),
        contests,
        signature,
    };
    Ok((ballot, openings))
}

/// Trustee `share`'s partial decryption of every tally ciphertext, as a record entry.
pub fn partial_decryption_with_rng<R: CryptoRng + ?Sized>(
    ctx: &ProofContext,
    share: &KeyShare,
    verification_key: &Element,
    tally: &[Vec<Ciphertext>],
    rng: &mut R,
) -> Entry {
    let shares = tally
        .iter()
        .enumerate()
        .map(|(q, row)| {
            row.iter()
                .enumerate()
                .map(|(j, ct)| {
                    let p = share.partial_decrypt_with_rng(
                        &ctx.at(q as u32, j as u32),
                        verification_key,
                        ct,
                        rng,
                    );
                    (p.share, p.proof)
                })
                .collect()
        })
        .collect();
    Entry::PartialDecryption {
        trustee: share.index(),
        shares,
    }
}

/// Combines the (already verified) partial decryptions of `trustees` and decodes every count
/// (of question `q` at most `max[q]`: [`crate::manifest::Manifest::cell_maxima`]).
pub fn combine_result(
    params: &ThresholdParams,
    tally: &[Vec<Ciphertext>],
    partials: &[(u32, &[Vec<Element>])],
    max: &[u64],
) -> Result<Vec<Vec<u64>>, RecordError> {
    if partials.len() < params.threshold as usize {
        return Err(RecordError::Invalid(
            "result",
            "fewer than t partial decryptions".into(),
        ));
    }
    let indices: Vec<u32> = partials.iter().map(|(t, _)| *t).collect();
    let lambdas = lagrange_coefficients(&indices)?;
    let table = DlogTable::new(max.iter().copied().max().unwrap_or(0));
    tally
        .iter()
        .enumerate()
        .map(|(q, row)| {
            row.iter()
                .enumerate()
                .map(|(j, ct)| {
                    let combined: RistrettoPoint = lambdas
                        .iter()
                        .zip(partials)
                        .map(|(l, (_, s))| l * s[q][j].point())
                        .sum();
                    let bound = max.get(q).copied().unwrap_or(0);
                    let count = table
                        .decode(&(ct.beta.point() - combined))
                        .filter(|&m| m <= bound);
                    count.ok_or_else(|| {
                        RecordError::Invalid(
                            "result",
                            format!("question {q} choice {j} out of range"),
                        )
                    })
                })
                .collect()
        })
        .collect()
}

/// The homomorphic tally as it accumulates: per question and choice, the sum of the counted
/// ballots' ciphertexts. A revote subtracts the superseded ballot and adds the new one.
#[derive(Clone, Debug)]
pub struct RunningTally {
    sums: Vec<Vec<(RistrettoPoint, RistrettoPoint)>>,
}

impl RunningTally {
    /// An empty tally for these questions.
    pub fn new(specs: &[ContestSpec]) -> Self {
        Self {
            sums: specs
                .iter()
                .map(|s| {
                    vec![
                        (RistrettoPoint::identity(), RistrettoPoint::identity());
                        s.choices as usize
                    ]
                })
                .collect(),
        }
    }

    /// Adds a ballot's `[question][choice]` ciphertexts.
    pub fn add(&mut self, cts: &[Vec<Ciphertext>]) {
        self.apply(cts, true);
    }

    /// Subtracts a superseded ballot's ciphertexts.
    pub fn subtract(&mut self, cts: &[Vec<Ciphertext>]) {
        self.apply(cts, false);
    }

    fn apply(&mut self, cts: &[Vec<Ciphertext>], plus: bool) {
        for (row, cs) in self.sums.iter_mut().zip(cts) {
            for (acc, ct) in row.iter_mut().zip(cs) {
                if plus {
                    acc.0 += ct.alpha.point();
                    acc.1 += ct.beta.point();
                } else {
                    acc.0 -= ct.alpha.point();
                    acc.1 -= ct.beta.point();
                }
            }
        }
    }

    /// The tally's ciphertexts `[question][choice]`.
    pub fn ciphertexts(&self) -> Vec<Vec<Ciphertext>> {
        self.sums
            .iter()
            .map(|row| {
                row.iter()
                    .map(|(a, b)| Ciphertext::from_points(*a, *b))
                    .collect()
            })
            .collect()
    }
}
