//! Counting ranked questions: the trustees' re-encryption mix-net and the decryption of each mixed
//! ballot (docs/protocol.md §3.6, docs/record-format.md §5.16–5.17).
//!
//! A homomorphic sum cannot count rankings, so after the encrypted tally each counted ballot's
//! ranked contests (one *row*: its ranked questions' ciphertexts, in question order) go through
//! `t` or more shuffles by distinct trustees, each re-encrypting and permuting every row with a
//! proof ([`hanpyo_crypto::shuffle`]). Then at least `t` trustees post a decryption share of every
//! ciphertext of the last shuffle's rows, and the rows' values — each a one-hot ranking — are
//! counted by the question's method ([`crate::preferential`]). Fewer than `t` dishonest trustees
//! (the assumption that keeps the tally secret) means at least one honest shuffle: no row can be
//! linked back to its ballot.
//!
//! Shuffles and decryption shares are larger than one entry may be, so each is one *payload*
//! carried by consecutive entries of one trustee, its [`Part`]s.
use std::sync::Arc;

use chacha20::ChaCha20Rng;
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::traits::{Identity, VartimeMultiscalarMul};
use hanpyo_crypto::ProofError;
use hanpyo_crypto::ballot::ContestSpec;
use hanpyo_crypto::batch::BatchVerifier;
use hanpyo_crypto::elgamal::{CIPHERTEXT_LEN, Ciphertext, PublicKey};
use hanpyo_crypto::group::Element;
use hanpyo_crypto::proofs::chaum_pedersen::{CHAUM_PEDERSEN_PROOF_LEN, ChaumPedersenProof};
use hanpyo_crypto::proofs::labels;
use hanpyo_crypto::proofs::schnorr::SchnorrProof;
use hanpyo_crypto::shuffle::{ShuffleProof, shuffle_with_rng};
use hanpyo_crypto::threshold::{
    KeyShare, PartialDecryption, ThresholdParams, lagrange_coefficients,
};
use hanpyo_crypto::transcript::{NO_POSITION, ProofContext};
use rand_core::{CryptoRng, SeedableRng};
use rayon::prelude::*;
use sha2::{Digest, Sha512};

use crate::decision::Outcome;
use crate::encoding::{Reader, Writer};
use crate::entry::{Ballot, Entry};
use crate::error::RecordError;
use crate::manifest::Manifest;
use crate::preferential::{RankingMethod, Runoff, Schulze, instant_runoff, schulze};
use crate::question::{Question, QuestionKind};

/// Most payload bytes in one part: with its header, a part fits the server's 256 KiB request.
pub const MAX_PART_BYTES: usize = 192 * 1024;
/// Most parts of one payload.
pub const MAX_PARTS: u32 = 1 << 20;
/// The first position of a mixed row's decryption shares: row `i`, column `k` is at
/// `(ROW_POSITION + i, k)`, apart from every tally cell's `(question, choice)`.
pub const ROW_POSITION: u32 = 0x8000_0000;
/// Bytes of one decryption share with its proof.
pub const SHARE_LEN: usize = 32 + CHAUM_PEDERSEN_PROOF_LEN;
/// Bytes of a shuffle's signature.
const SIGNATURE_LEN: usize = 64;
/// Rows per batch when decryption shares are made or checked in parallel.
const ROWS_PER_BATCH: usize = 256;

/// One entry's piece of a trustee's payload (a shuffle or its decryption shares).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// The trustee whose payload it is.
    pub trustee: u32,
    /// This part's number, from 0.
    pub part: u32,
    /// How many parts the payload has.
    pub parts: u32,
    /// `1..=MAX_PART_BYTES` bytes of the payload.
    pub bytes: Vec<u8>,
}

impl Part {
    /// `u32 trustee ‖ u32 part ‖ u32 parts ‖ u32 len ‖ bytes`.
    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u32(self.trustee)
            .u32(self.part)
            .u32(self.parts)
            .bytes(&self.bytes);
    }

    pub(crate) fn decode(r: &mut Reader<'_>, trustee: u32) -> Result<Self, RecordError> {
        let part = r.u32()?;
        let parts = r.u32()?;
        if parts == 0 || parts > MAX_PARTS || part >= parts {
            return Err(RecordError::Invalid("part", format!("{part} of {parts}")));
        }
        let bytes = r.bytes(MAX_PART_BYTES, "part")?;
        if bytes.is_empty() {
            return Err(RecordError::Invalid("part", "empty".into()));
        }
        Ok(Part {
            trustee,
            part,
            parts,
            bytes: bytes.to_vec(),
        })
    }

    /// `payload` cut into parts of [`MAX_PART_BYTES`] (the last one shorter).
    pub fn split(trustee: u32, payload: &[u8]) -> Vec<Part> {
        let parts = payload.len().div_ceil(MAX_PART_BYTES).max(1) as u32;
        payload
            .chunks(MAX_PART_BYTES)
            .enumerate()
            .map(|(k, bytes)| Part {
                trustee,
                part: k as u32,
                parts,
                bytes: bytes.to_vec(),
            })
            .collect()
    }
}

/// Joins consecutive parts into their payload.
#[derive(Debug, Default)]
pub struct Assembly {
    open: Option<(u32, u32, Vec<u8>)>,
}

impl Assembly {
    /// Takes the next part: the whole payload and its trustee once this was the last part. A part
    /// out of turn (not the next of the open payload, or not a first part when none is open) is
    /// refused.
    pub fn push(&mut self, p: &Part) -> Result<Option<(u32, Vec<u8>)>, String> {
        match self.open.take() {
            None if p.part == 0 => self.open = Some((p.trustee, p.parts, p.bytes.clone())),
            None => return Err(format!("part {} without its part 0", p.part)),
            Some((trustee, parts, mut bytes)) => {
                let next = (bytes.len() / MAX_PART_BYTES) as u32;
                if p.trustee != trustee || p.parts != parts || p.part != next {
                    return Err(format!(
                        "trustee {}'s part {} of {} where trustee {trustee}'s part {next} of {parts} was due",
                        p.trustee, p.part, p.parts
                    ));
                }
                bytes.extend_from_slice(&p.bytes);
                self.open = Some((trustee, parts, bytes));
            }
        }
        let Some((_, parts, bytes)) = &self.open else {
            return Ok(None);
        };
        let received = bytes.len().div_ceil(MAX_PART_BYTES) as u32;
        // Every part but the last is full, so the byte count says how many arrived.
        let last = p.part + 1 == *parts;
        if !last {
            if p.bytes.len() != MAX_PART_BYTES {
                self.open = None;
                return Err("a part before the last is not full".into());
            }
            return Ok(None);
        }
        debug_assert_eq!(received, *parts);
        Ok(self.open.take().map(|(trustee, _, bytes)| (trustee, bytes)))
    }

    /// Whether a payload is waiting for more parts.
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }
}

/// A payload whose last part arrived, and the entries that carried it.
#[derive(Debug, PartialEq, Eq)]
pub struct Staged {
    /// The parts' bytes joined.
    pub payload: Vec<u8>,
    /// The encoded entries, in order.
    pub entries: Vec<Vec<u8>>,
}

/// A server's parts of payloads being sent, per trustee, until each payload's last part: the
/// entries as received and their payload joined. A payload's parts are all of one kind; a part 0
/// starts the trustee's payload afresh (a trustee that stopped half-way sends again).
#[derive(Debug, Default)]
pub struct Staging {
    held: std::collections::HashMap<u32, (crate::entry::Kind, Assembly, Vec<Vec<u8>>)>,
}

impl Staging {
    /// Takes `part` (of an entry of `kind`, encoded as `entry`): once it was its payload's last
    /// part, the payload and every entry that carried it. A part out of turn, or of another kind
    /// than the payload it continues, is refused and drops what the trustee had sent.
    pub fn push(
        &mut self,
        kind: crate::entry::Kind,
        part: &Part,
        entry: Vec<u8>,
    ) -> Result<Option<Staged>, String> {
        if part.part == 0 || self.held.get(&part.trustee).is_some_and(|h| h.0 != kind) {
            self.held.remove(&part.trustee);
        }
        let (_, parts, entries) = self
            .held
            .entry(part.trustee)
            .or_insert_with(|| (kind, Assembly::default(), Vec::new()));
        match parts.push(part) {
            Ok(None) => {
                entries.push(entry);
                Ok(None)
            }
            Ok(Some((_, payload))) => {
                entries.push(entry);
                let entries = self
                    .held
                    .remove(&part.trustee)
                    .map(|(_, _, e)| e)
                    .unwrap_or_default();
                Ok(Some(Staged { payload, entries }))
            }
            Err(why) => {
                self.held.remove(&part.trustee);
                Err(why)
            }
        }
    }

    /// Drops everything held (the mix-net is over).
    pub fn clear(&mut self) {
        self.held.clear();
    }
}

/// The manifest's ranked questions (their indices) and the width of one mixed row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rows {
    /// Indices of the ranked questions, ascending.
    pub questions: Vec<usize>,
    /// Ciphertexts per row: the ranked contests' lengths summed.
    pub width: usize,
}

impl Rows {
    /// The mix-net's shape for `m`; `questions` is empty when nothing is ranked.
    pub fn of(m: &Manifest) -> Self {
        let specs = m.contest_specs();
        let questions: Vec<usize> = m
            .questions
            .iter()
            .enumerate()
            .filter(|(_, q)| q.kind.is_ranked())
            .map(|(i, _)| i)
            .collect();
        let width = questions.iter().map(|&q| specs[q].choices as usize).sum();
        Rows { questions, width }
    }

    /// Whether the election has ranked questions.
    pub fn any(&self) -> bool {
        !self.questions.is_empty()
    }

    /// A counted ballot's row: its ranked contests' ciphertexts, in question order.
    pub fn of_ballot(&self, b: &Ballot) -> Vec<Ciphertext> {
        self.of_ciphertexts(&b.ciphertexts())
    }

    /// The row of a ballot's ciphertexts (`[question][choice]`).
    pub fn of_ciphertexts(&self, all: &[Vec<Ciphertext>]) -> Vec<Ciphertext> {
        self.questions
            .iter()
            .flat_map(|&q| all[q].iter().copied())
            .collect()
    }

    /// Where question `questions[k]`'s values start in a row.
    fn offsets(&self, specs: &[ContestSpec]) -> Vec<usize> {
        self.questions
            .iter()
            .scan(0, |at, &q| {
                let start = *at;
                *at += specs[q].choices as usize;
                Some(start)
            })
            .collect()
    }
}

/// The context of shuffle number `round` (from 0), made by the trustee with verification key `y`.
pub fn shuffle_context(election: &ProofContext, y: &Element, round: u32) -> ProofContext {
    election.bound_to(*y.as_bytes()).at(round, NO_POSITION)
}

/// The context of the decryption share of row `row`, column `column` of the mixed rows.
pub fn share_context(election: &ProofContext, row: usize, column: usize) -> ProofContext {
    election.at(ROW_POSITION + row as u32, column as u32)
}

/// A shuffle's payload: the output rows, the proof that they shuffle the input rows, and the
/// shuffling trustee's signature over both with its key share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shuffled {
    /// The output rows.
    pub rows: Vec<Vec<Ciphertext>>,
    /// The proof.
    pub proof: ShuffleProof,
    /// A `mix-payload` Schnorr signature by `s_j` (for `Y_j`) over [`Shuffled::digest`], in the
    /// shuffle's context: the proof alone shows knowledge of the permutation, not whose it is.
    pub signature: SchnorrProof,
}

impl Shuffled {
    /// `SHA-512(rows ‖ proof)`: what the trustee signs.
    pub fn digest(rows: &[Vec<Ciphertext>], proof: &ShuffleProof) -> [u8; 64] {
        let mut h = Sha512::new();
        for ct in rows.iter().flatten() {
            h.update(ct.to_bytes());
        }
        h.update(proof.to_bytes());
        h.finalize().into()
    }

    /// `rows (N × w ciphertexts, row-major) ‖ proof ‖ signature (64)`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::encoded_len(self.rows.len(), self.proof.t4.len()));
        for ct in self.rows.iter().flatten() {
            out.extend_from_slice(&ct.to_bytes());
        }
        out.extend_from_slice(&self.proof.to_bytes());
        out.extend_from_slice(&self.signature.to_bytes());
        out
    }

    /// Bytes of a shuffle of `n` rows of width `w`: `64·n·w + 32·(5n + 6 + 3w) + 64`.
    pub fn encoded_len(n: usize, w: usize) -> usize {
        n * w * CIPHERTEXT_LEN + ShuffleProof::encoded_len(n, w) + SIGNATURE_LEN
    }

    /// Strict decoding of a shuffle of `n` rows of width `w`.
    pub fn decode(bytes: &[u8], n: usize, w: usize) -> Result<Self, RecordError> {
        if n == 0 || w == 0 || bytes.len() != Self::encoded_len(n, w) {
            return Err(RecordError::Invalid(
                "shuffle",
                format!("{} bytes for {n} rows of {w}", bytes.len()),
            ));
        }
        let rows_len = n * w * CIPHERTEXT_LEN;
        let signed_at = bytes.len() - SIGNATURE_LEN;
        // Decoding a point is a square root: rows decode in parallel.
        let rows = bytes[..rows_len]
            .par_chunks(w * CIPHERTEXT_LEN)
            .map(|row| {
                row.chunks(CIPHERTEXT_LEN)
                    .map(Ciphertext::decode)
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Shuffled {
            rows,
            proof: ShuffleProof::decode(&bytes[rows_len..signed_at], n, w)?,
            signature: SchnorrProof::decode(&bytes[signed_at..])?,
        })
    }

    /// Checks the signature with `Y_j`, then the proof against the input rows, both in `ctx`
    /// ([`shuffle_context`]).
    pub fn verify(
        &self,
        ctx: &ProofContext,
        pk: &PublicKey,
        y: &Element,
        input: &[Vec<Ciphertext>],
    ) -> Result<(), ProofError> {
        self.signature.verify(
            labels::MIX_PAYLOAD,
            ctx,
            y,
            &Self::digest(&self.rows, &self.proof),
        )?;
        self.proof.verify(ctx, pk, input, &self.rows)
    }
}

/// The trustee holding `share` (verification key `y`) shuffles `input` as shuffle number `round`
/// and signs it: its entries, and the output rows (the next shuffle's input).
pub fn shuffle_entries_with_rng<R: CryptoRng + ?Sized>(
    election: &ProofContext,
    pk: &PublicKey,
    share: &KeyShare,
    y: &Element,
    round: u32,
    input: &[Vec<Ciphertext>],
    rng: &mut R,
) -> Result<(Vec<Entry>, Vec<Vec<Ciphertext>>), ProofError> {
    let (rows, secret) = shuffle_with_rng(pk, input, rng)?;
    let ctx = shuffle_context(election, y, round);
    let proof = ShuffleProof::prove_with_rng(&ctx, pk, input, &rows, &secret, rng)?;
    let signature = share.sign_with_rng(
        labels::MIX_PAYLOAD,
        &ctx,
        &Shuffled::digest(&rows, &proof),
        rng,
    );
    let payload = Shuffled {
        rows,
        proof,
        signature,
    };
    let entries = Part::split(share.index(), &payload.encode())
        .into_iter()
        .map(Entry::Shuffle)
        .collect();
    Ok((entries, payload.rows))
}

/// A trustee's decryption shares of every ciphertext of the mixed rows, row-major.
pub type RowShares = Vec<(Element, ChaumPedersenProof)>;

/// The decryption-share entries of `share` for the mixed `rows`, and the shares `D` they carry
/// (row-major). Batches of rows are decrypted in parallel, each with its own ChaCha20 generator
/// seeded from `rng`.
pub fn ballot_decryption_entries_with_rng<R: CryptoRng + ?Sized>(
    election: &ProofContext,
    share: &KeyShare,
    y: &Element,
    rows: &[Vec<Ciphertext>],
    rng: &mut R,
) -> (Vec<Entry>, Vec<Element>) {
    let seeds: Vec<[u8; 32]> = (0..rows.len().div_ceil(ROWS_PER_BATCH))
        .map(|_| {
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            seed
        })
        .collect();
    let batches: Vec<(Vec<u8>, Vec<Element>)> = rows
        .par_chunks(ROWS_PER_BATCH)
        .zip(seeds.into_par_iter())
        .enumerate()
        .map(|(b, (batch, seed))| {
            let mut rng = ChaCha20Rng::from_seed(seed);
            let mut out =
                Vec::with_capacity(batch.len() * batch.first().map_or(0, Vec::len) * SHARE_LEN);
            let mut shares = Vec::new();
            for (r, row) in batch.iter().enumerate() {
                for (k, ct) in row.iter().enumerate() {
                    let ctx = share_context(election, b * ROWS_PER_BATCH + r, k);
                    let d = share.partial_decrypt_with_rng(&ctx, y, ct, &mut rng);
                    out.extend_from_slice(d.share.as_bytes());
                    out.extend_from_slice(&d.proof.to_bytes());
                    shares.push(d.share);
                }
            }
            (out, shares)
        })
        .collect();
    let (payload, shares): (Vec<Vec<u8>>, Vec<Vec<Element>>) = batches.into_iter().unzip();
    let entries = Part::split(share.index(), &payload.concat())
        .into_iter()
        .map(Entry::BallotDecryption)
        .collect();
    (entries, shares.concat())
}

/// Strict decoding of decryption shares for `n` rows of width `w`.
pub fn decode_shares(bytes: &[u8], n: usize, w: usize) -> Result<RowShares, RecordError> {
    if bytes.len() != n * w * SHARE_LEN {
        return Err(RecordError::Invalid(
            "ballot decryption",
            format!("{} bytes for {n} rows of {w}", bytes.len()),
        ));
    }
    bytes
        .par_chunks(SHARE_LEN)
        .map(|c| {
            let mut r = Reader::new(c);
            Ok((r.point()?, ChaumPedersenProof::decode(r.raw(96)?)?))
        })
        .collect()
}

/// Whether every proof of trustee `trustee`'s (verification key `y`) shares of `rows` verifies
/// (batches of rows checked in parallel, each with its own random weights).
pub fn verify_shares(
    election: &ProofContext,
    trustee: u32,
    y: &Element,
    rows: &[Vec<Ciphertext>],
    shares: &RowShares,
) -> bool {
    let w = rows.first().map_or(0, Vec::len).max(1);
    if shares.len() != rows.len() * w {
        return false;
    }
    rows.par_chunks(ROWS_PER_BATCH)
        .zip(shares.par_chunks(ROWS_PER_BATCH * w))
        .enumerate()
        .all(|(b, (rows, shares))| {
            let mut batch = BatchVerifier::new();
            for (j, ((d, proof), ct)) in shares.iter().zip(rows.iter().flatten()).enumerate() {
                let row = b * ROWS_PER_BATCH + j / w;
                PartialDecryption {
                    trustee,
                    share: *d,
                    proof: *proof,
                }
                .queue(&share_context(election, row, j % w), y, ct, &mut batch);
            }
            batch.verify()
        })
}

/// The values of every mixed row, from the (verified) shares of at least `t` trustees: each must
/// be 0 or 1.
pub fn row_values(
    params: &ThresholdParams,
    rows: &[Vec<Ciphertext>],
    shares: &[(u32, &[Element])],
) -> Result<Vec<Vec<u8>>, String> {
    if shares.len() < params.threshold as usize {
        return Err("at least t trustees' shares are required".into());
    }
    let indices: Vec<u32> = shares.iter().map(|(t, _)| *t).collect();
    for &i in &indices {
        params.check_index(i).map_err(|e| e.to_string())?;
    }
    // `M = β − Σ λ_j·D_j` (protocol.md §7), with the Lagrange coefficients computed once.
    let lambdas = lagrange_coefficients(&indices).map_err(|e| e.to_string())?;
    let (zero, g) = (RistrettoPoint::identity(), RISTRETTO_BASEPOINT_POINT);
    rows.par_iter()
        .enumerate()
        .map(|(i, row)| {
            let w = row.len();
            row.iter()
                .enumerate()
                .map(|(k, ct)| {
                    let combined = RistrettoPoint::vartime_multiscalar_mul(
                        &lambdas,
                        shares.iter().map(|(_, s)| *s[i * w + k].point()),
                    );
                    match ct.beta.point() - combined {
                        m if m == zero => Ok(0),
                        m if m == g => Ok(1),
                        _ => Err(format!("mixed row {i}, value {k} is neither 0 nor 1")),
                    }
                })
                .collect()
        })
        .collect()
}

/// One ranked question's count.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RankedCount {
    /// How it was counted.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "instant-runoff"))]
    pub method: RankingMethod,
    /// Ballots counted.
    pub ballots: u64,
    /// The elected choices (instant-runoff: at most one; Schulze: several on a tie).
    pub winners: Vec<u32>,
    /// Instant-runoff's rounds (empty for Schulze).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub rounds: Vec<crate::preferential::Round>,
    /// Schulze's `d[i][j]`, ballots ranking `i` above `j` (empty for instant-runoff).
    pub pairwise: Vec<Vec<u64>>,
}

impl RankedCount {
    /// What the result entry states: the one winner, or no majority (none, or a tie).
    pub fn outcome(&self) -> Outcome {
        match self.winners.as_slice() {
            [one] => Outcome::Elected(*one),
            _ => Outcome::NoMajority,
        }
    }
}

/// Every ranked question's decrypted rankings, checked and counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counted {
    /// Per manifest question: its count (`None` for other kinds).
    pub counts: Vec<Option<RankedCount>>,
    /// Per manifest question: the rank matrix the rankings make (`ranks × choices`, rank-major),
    /// which must equal the tally's cells (`None` for other kinds).
    pub matrices: Vec<Option<Vec<u64>>>,
}

impl Counted {
    /// The outcome of each ranked question (`None` for others).
    pub fn outcomes(&self) -> Vec<Option<Outcome>> {
        self.counts
            .iter()
            .map(|c| c.as_ref().map(RankedCount::outcome))
            .collect()
    }
}

/// Checks each row's rankings (at most one choice per rank, each choice at most once) and counts
/// them: `values` are the mixed rows' values, `lot` the tie-break seed (docs/protocol.md §8).
pub fn count(m: &Manifest, values: &[Vec<u8>], lot: &[u8; 32]) -> Result<Counted, String> {
    let rows = Rows::of(m);
    let specs = m.contest_specs();
    let offsets = rows.offsets(&specs);
    let mut counts = vec![None; m.questions.len()];
    let mut matrices = vec![None; m.questions.len()];
    for (&q, &start) in rows.questions.iter().zip(&offsets) {
        let question: &Question = &m.questions[q];
        let QuestionKind::Ranked { method, .. } = question.kind else {
            continue;
        };
        let spec = &specs[q];
        let n = question.choices.len();
        let mut matrix = vec![0u64; spec.choices as usize];
        let mut rankings = Vec::with_capacity(values.len());
        for (i, row) in values.iter().enumerate() {
            let contest = row
                .get(start..start + spec.choices as usize)
                .ok_or_else(|| format!("mixed row {i} is too short"))?;
            spec.proven_sums(contest)
                .map_err(|e| format!("mixed row {i}, question {q}: {e}"))?;
            for (cell, &v) in matrix.iter_mut().zip(contest) {
                *cell += u64::from(v);
            }
            rankings.push(question.ranking_of(contest));
        }
        let choices = n as u32;
        let count = match method {
            RankingMethod::InstantRunoff => {
                let Runoff { rounds, winner } = instant_runoff(choices, &rankings, lot);
                RankedCount {
                    method,
                    ballots: values.len() as u64,
                    winners: winner.into_iter().collect(),
                    rounds,
                    pairwise: Vec::new(),
                }
            }
            RankingMethod::Schulze => {
                let Schulze {
                    pairwise, winners, ..
                } = schulze(choices, &rankings);
                RankedCount {
                    method,
                    ballots: values.len() as u64,
                    winners,
                    rounds: Vec::new(),
                    pairwise,
                }
            }
        };
        counts[q] = Some(count);
        matrices[q] = Some(matrix);
    }
    Ok(Counted { counts, matrices })
}

/// What checking a shuffle or decryption payload needs: the election's context and key, each
/// trustee's verification key, and the threshold.
#[allow(missing_debug_implementations)]
pub struct MixKeys<'a> {
    /// The election context.
    pub ctx: &'a ProofContext,
    /// The joint key.
    pub pk: &'a PublicKey,
    /// `Y_j` of each qualified trustee (`None` for one outside the key).
    pub verification_key: &'a dyn Fn(u32) -> Option<Element>,
    /// `t`.
    pub threshold: u32,
}

/// The part of the mix a payload is checked against ([`Mix::snapshot`]): a server takes it under
/// its state's lock and checks the payload (seconds for a large election) without the lock.
#[derive(Clone, Debug)]
pub struct MixSnapshot {
    trustee: u32,
    y: Element,
    round: u32,
    decrypted: usize,
    width: usize,
    rows: Arc<Vec<Vec<Ciphertext>>>,
}

impl MixSnapshot {
    /// Whether the mix has moved on since (a shuffle or decryption applied meanwhile).
    pub fn is_current(&self, mix: &Mix) -> bool {
        Arc::ptr_eq(&self.rows, &mix.current)
            && self.round == mix.shufflers.len() as u32
            && self.decrypted == mix.decryptions.len()
    }

    /// Checks a whole payload of `kind`: a shuffle's signature and proof, or every decryption
    /// share's proof ([`Mix::may_send`] first).
    pub fn verify(
        &self,
        kind: crate::entry::Kind,
        payload: &[u8],
        keys: &MixKeys<'_>,
    ) -> Result<Payload, String> {
        let (trustee, y, n, w) = (self.trustee, self.y, self.rows.len(), self.width);
        if kind == crate::entry::Kind::Shuffle {
            let s = Shuffled::decode(payload, n, w).map_err(|e| e.to_string())?;
            let ctx = shuffle_context(keys.ctx, &y, self.round);
            s.verify(&ctx, keys.pk, &y, &self.rows).map_err(|_| {
                format!("trustee {trustee}'s shuffle signature or proof does not verify")
            })?;
            return Ok(Payload::Shuffle(trustee, s.rows));
        }
        let shares = decode_shares(payload, n, w).map_err(|e| e.to_string())?;
        if !verify_shares(keys.ctx, trustee, &y, &self.rows, &shares) {
            return Err(format!(
                "trustee {trustee}: a mixed row's decryption share proof does not verify"
            ));
        }
        Ok(Payload::Decryption(
            trustee,
            shares.into_iter().map(|(d, _)| d).collect(),
        ))
    }
}

/// A checked payload, ready to apply.
#[derive(Debug)]
pub enum Payload {
    /// A shuffle's output rows.
    Shuffle(u32, Vec<Vec<Ciphertext>>),
    /// A trustee's decryption shares `D` of the mixed rows (their proofs checked), row-major.
    Decryption(u32, Vec<Element>),
}

/// The mix-net as the record has it so far: the rows the next shuffle takes (the counted
/// ballots' rows, then each shuffle's output), who shuffled, who decrypted.
#[derive(Debug)]
pub struct Mix {
    /// The shape of a row.
    pub rows: Rows,
    /// The counted ballots' rows before any shuffle, then the last shuffle's output (shared: a
    /// server checks a payload against a snapshot without holding its state).
    pub current: Arc<Vec<Vec<Ciphertext>>>,
    /// The trustees that shuffled, in order.
    pub shufflers: Vec<u32>,
    /// The trustees' decryption shares of the last shuffle's rows, in the order posted.
    pub decryptions: Vec<(u32, Vec<Element>)>,
    /// The instant-runoff lot: the encrypted tally entry's leaf hash.
    pub lot: [u8; 32],
    parts: Assembly,
    kind: Option<crate::entry::Kind>,
}

impl Mix {
    /// Before the first shuffle: the counted ballots' rows in ascending entry order.
    pub fn new(rows: Rows, initial: Vec<Vec<Ciphertext>>, lot: [u8; 32]) -> Self {
        Mix {
            rows,
            current: Arc::new(initial),
            shufflers: Vec::new(),
            decryptions: Vec::new(),
            lot,
            parts: Assembly::default(),
            kind: None,
        }
    }

    /// Whether a payload's parts have begun and not ended (the next entry must continue it).
    pub fn is_open(&self) -> bool {
        self.parts.is_open()
    }

    /// How many parts a payload of `kind` has now (its length is fixed by the rows' shape), or
    /// `None` for a kind that is not a mix-net payload.
    pub fn parts_due(&self, kind: crate::entry::Kind) -> Option<u32> {
        let (n, w) = (self.current.len(), self.rows.width);
        let len = match kind {
            crate::entry::Kind::Shuffle => Shuffled::encoded_len(n.max(1), w.max(1)),
            crate::entry::Kind::BallotDecryption => n * w * SHARE_LEN,
            _ => return None,
        };
        Some(len.div_ceil(MAX_PART_BYTES).max(1) as u32)
    }

    /// Whether `trustee` may send a payload of `kind` now (before its bytes are looked at): its
    /// verification key `Y_j`, or why not.
    pub fn may_send(
        &self,
        kind: crate::entry::Kind,
        trustee: u32,
        keys: &MixKeys<'_>,
    ) -> Result<Element, String> {
        use crate::entry::Kind;
        if !self.rows.any() {
            return Err("the election has no ranked question".into());
        }
        if self.current.is_empty() {
            return Err("no ballot was counted: there is nothing to mix".into());
        }
        let y = (keys.verification_key)(trustee)
            .ok_or_else(|| format!("trustee {trustee} holds no share of the key"))?;
        match kind {
            Kind::Shuffle if !self.decryptions.is_empty() => {
                Err("a shuffle after the mixed rows' decryption began".into())
            }
            Kind::Shuffle if self.shufflers.contains(&trustee) => {
                Err(format!("trustee {trustee} shuffled twice"))
            }
            Kind::BallotDecryption if self.shufflers.len() < keys.threshold as usize => {
                Err(format!(
                    "{} of the {} shuffles needed before decrypting",
                    self.shufflers.len(),
                    keys.threshold
                ))
            }
            Kind::BallotDecryption if self.decryptions.iter().any(|(t, _)| *t == trustee) => {
                Err(format!("trustee {trustee} decrypted the mixed rows twice"))
            }
            Kind::Shuffle | Kind::BallotDecryption => Ok(y),
            other => Err(format!("{other:?} is not a mix-net entry")),
        }
    }

    /// Checks a whole payload of `kind` from `trustee` against the mix so far, without applying it.
    pub fn check(
        &self,
        kind: crate::entry::Kind,
        trustee: u32,
        payload: &[u8],
        keys: &MixKeys<'_>,
    ) -> Result<Payload, String> {
        let y = self.may_send(kind, trustee, keys)?;
        self.snapshot(trustee, y).verify(kind, payload, keys)
    }

    /// What checking a payload of `trustee` (verification key `y`) needs of the mix now.
    pub fn snapshot(&self, trustee: u32, y: Element) -> MixSnapshot {
        MixSnapshot {
            trustee,
            y,
            round: self.shufflers.len() as u32,
            decrypted: self.decryptions.len(),
            width: self.rows.width,
            rows: Arc::clone(&self.current),
        }
    }

    /// Plays `trustees` (each a key share and its `Y_j`), as a demo or a simulation does: each
    /// shuffles in turn, then each decrypts the mixed rows. Answers their entries, in order; the
    /// mix has them applied. With no counted ballot there is nothing to do.
    pub fn play_trustees<R: CryptoRng + ?Sized>(
        &mut self,
        election: &ProofContext,
        pk: &PublicKey,
        trustees: &[(&KeyShare, Element)],
        rng: &mut R,
    ) -> Result<Vec<Entry>, ProofError> {
        let mut entries = Vec::new();
        if self.current.is_empty() {
            return Ok(entries);
        }
        for (share, y) in trustees {
            let round = self.shufflers.len() as u32;
            let (parts, rows) =
                shuffle_entries_with_rng(election, pk, share, y, round, &self.current, rng)?;
            self.apply(Payload::Shuffle(share.index(), rows));
            entries.extend(parts);
        }
        for (share, y) in trustees {
            let (parts, shares) =
                ballot_decryption_entries_with_rng(election, share, y, &self.current, rng);
            self.apply(Payload::Decryption(share.index(), shares));
            entries.extend(parts);
        }
        Ok(entries)
    }

    /// Applies a checked payload.
    pub fn apply(&mut self, payload: Payload) {
        match payload {
            Payload::Shuffle(t, rows) => {
                self.shufflers.push(t);
                self.current = Arc::new(rows);
            }
            Payload::Decryption(t, shares) => self.decryptions.push((t, shares)),
        }
    }

    /// Takes one part entry: once it completes its payload, the payload is checked (`keys`; or,
    /// for entries already checked before they were committed, `None` only decodes) and applied.
    /// A refused part or payload leaves the mix as it was.
    pub fn take(&mut self, entry: &Entry, keys: Option<&MixKeys<'_>>) -> Result<(), String> {
        let (kind, part) = match entry {
            Entry::Shuffle(p) => (crate::entry::Kind::Shuffle, p),
            Entry::BallotDecryption(p) => (crate::entry::Kind::BallotDecryption, p),
            _ => return Err("not a mix-net entry".into()),
        };
        if self.parts.is_open() && self.kind != Some(kind) {
            self.parts = Assembly::default();
            return Err("a payload's parts must be consecutive".into());
        }
        self.kind = Some(kind);
        let Some((trustee, payload)) = self.parts.push(part)? else {
            return Ok(());
        };
        let checked = match keys {
            Some(keys) => self.check(kind, trustee, &payload, keys)?,
            None => {
                let (n, w) = (self.current.len(), self.rows.width);
                match kind {
                    crate::entry::Kind::Shuffle => Payload::Shuffle(
                        trustee,
                        Shuffled::decode(&payload, n, w)
                            .map_err(|e| e.to_string())?
                            .rows,
                    ),
                    _ => Payload::Decryption(
                        trustee,
                        decode_shares(&payload, n, w)
                            .map_err(|e| e.to_string())?
                            .into_iter()
                            .map(|(d, _)| d)
                            .collect(),
                    ),
                }
            }
        };
        self.apply(checked);
        Ok(())
    }

    /// The ranked questions' counts, from the first `t` trustees' decryption shares; with no
    /// counted ballot, counts of nothing.
    pub fn counted(&self, m: &Manifest, params: &ThresholdParams) -> Result<Counted, String> {
        if self.current.is_empty() {
            return count(m, &[], &self.lot);
        }
        let t = params.threshold as usize;
        if self.shufflers.len() < t || self.decryptions.len() < t {
            return Err(format!(
                "{} shuffles and {} decryptions of the mixed rows; {t} of each are needed",
                self.shufflers.len(),
                self.decryptions.len()
            ));
        }
        let values = row_values(params, &self.current, &self.first_shares(t))?;
        count(m, &values, &self.lot)
    }

    /// The decryption shares of the first `t` trustees that decrypted the mixed rows.
    pub fn first_shares(&self, t: usize) -> Vec<(u32, &[Element])> {
        self.decryptions
            .iter()
            .take(t)
            .map(|(j, s)| (*j, s.as_slice()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_join_back_into_their_payload_only_in_order() {
        let payload: Vec<u8> = (0..(2 * MAX_PART_BYTES + 10)).map(|i| i as u8).collect();
        let parts = Part::split(3, &payload);
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| p.parts == 3 && p.trustee == 3));
        let mut a = Assembly::default();
        assert_eq!(a.push(&parts[0]), Ok(None));
        assert!(a.is_open());
        assert_eq!(a.push(&parts[1]), Ok(None));
        assert_eq!(a.push(&parts[2]), Ok(Some((3, payload.clone()))));
        assert!(!a.is_open());
        // Out of turn: a later part first, a part skipped, another trustee's part in between.
        let mut a = Assembly::default();
        assert!(a.push(&parts[1]).is_err());
        let mut a = Assembly::default();
        a.push(&parts[0]).expect("first");
        assert!(a.push(&parts[2]).is_err());
        let mut a = Assembly::default();
        a.push(&parts[0]).expect("first");
        let other = Part {
            trustee: 2,
            ..parts[1].clone()
        };
        assert!(a.push(&other).is_err());
        // A short part before the last.
        let mut a = Assembly::default();
        let short = Part {
            bytes: vec![1; 10],
            ..parts[0].clone()
        };
        assert!(a.push(&short).is_err());
        // A one-part payload.
        let one = Part::split(1, b"abc");
        assert_eq!(
            Assembly::default().push(&one[0]),
            Ok(Some((1, b"abc".to_vec())))
        );
    }

    #[test]
    fn staging_holds_one_payload_per_trustee_of_one_kind() {
        use crate::entry::Kind;
        let payload: Vec<u8> = (0..(MAX_PART_BYTES + 5)).map(|i| i as u8).collect();
        let parts = Part::split(2, &payload);
        let mut s = Staging::default();
        assert_eq!(s.push(Kind::Shuffle, &parts[0], b"e0".to_vec()), Ok(None));
        // Another trustee's payload is held apart.
        let other = Part::split(3, b"x");
        assert!(matches!(
            s.push(Kind::BallotDecryption, &other[0], b"o".to_vec()),
            Ok(Some(_))
        ));
        assert_eq!(
            s.push(Kind::Shuffle, &parts[1], b"e1".to_vec()),
            Ok(Some(Staged {
                payload: payload.clone(),
                entries: vec![b"e0".to_vec(), b"e1".to_vec()]
            }))
        );
        // A shuffle's part 0 continued by a decryption's part 1: refused, nothing kept.
        s.push(Kind::Shuffle, &parts[0], b"e0".to_vec())
            .expect("first");
        assert!(
            s.push(Kind::BallotDecryption, &parts[1], b"d1".to_vec())
                .is_err()
        );
        assert!(s.push(Kind::Shuffle, &parts[1], b"e1".to_vec()).is_err());
        // A part 0 again starts afresh.
        s.push(Kind::Shuffle, &parts[0], b"a".to_vec())
            .expect("first");
        s.push(Kind::Shuffle, &parts[0], b"b".to_vec())
            .expect("again");
        assert_eq!(
            s.push(Kind::Shuffle, &parts[1], b"c".to_vec()),
            Ok(Some(Staged {
                payload,
                entries: vec![b"b".to_vec(), b"c".to_vec()]
            }))
        );
    }

    #[test]
    fn a_part_decodes_strictly() {
        let encode = |part: u32, parts: u32, bytes: &[u8]| {
            let mut w = Writer::new();
            w.u32(part).u32(parts).bytes(bytes);
            w.into_bytes()
        };
        let ok = encode(1, 2, b"x");
        assert!(Part::decode(&mut Reader::new(&ok), 1).is_ok());
        for bad in [
            encode(2, 2, b"x"),
            encode(0, 0, b"x"),
            encode(0, MAX_PARTS + 1, b"x"),
            encode(0, 1, b""),
            encode(0, 1, &vec![0; MAX_PART_BYTES + 1]),
        ] {
            assert!(Part::decode(&mut Reader::new(&bad), 1).is_err());
        }
    }
}
