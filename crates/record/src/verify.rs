//! The independent verifier.
//!
//! One streaming pass over the record's entries, in ledger order, checks: the encoding of every
//! entry; the order of the election's phases; the manifest; the key ceremony (registrations, digests,
//! commitments, shares and complaints are re-adjudicated and the joint key recomputed); the sorted
//! credential list; every ballot's credential, signature and proofs (in parallel batches on all
//! cores); the revote rule (each credential's last ballot counts); audited ballots (their openings
//! re-encrypt to the ballot, and they are never counted); the encrypted tally (recomputed); every
//! partial decryption proof; the result (re-derived from `t` valid shares); and the Merkle root and
//! signature of the checkpoint over all entries.
//!
//! Memory is bounded by the credential list (40 bytes per voter) plus a fixed window of ballots:
//! the tally is accumulated as ballots stream by, and ballots later superseded by a revote are
//! re-read at the end and subtracted.
use std::path::Path;
use std::time::Instant;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use hanpyo_crypto::ProofError;
use hanpyo_crypto::ballot::ContestSpec;
use hanpyo_crypto::batch::{BatchVerifier, Verifiable, verify_batch};
use hanpyo_crypto::elgamal::{Ciphertext, PublicKey};
use hanpyo_crypto::group::Element;
use hanpyo_crypto::proofs::labels;
use hanpyo_crypto::threshold::{
    CeremonyOutcome, CeremonyTranscript, Complaint, DealerCommitment, EncryptedShare,
    ThresholdParams, lagrange_coefficients, resolve_ceremony,
};
use hanpyo_crypto::transcript::{NO_POSITION, ProofContext};
use hanpyo_ledger::checkpoint::{Checkpoint, NoteVerifier, SignedNote};
use hanpyo_ledger::merkle::{Frontier, Hash, leaf_hash};
use rayon::prelude::*;
use serde::Serialize;

use crate::authority::RunningTally;
use crate::context::{ceremony_context, election_context};
use crate::decision::{DecisionRule, Outcome, Turnout};
use crate::entry::{Ballot, CeremonyMessage, Entry, Kind, Shapes};
use crate::error::RecordError;
use crate::manifest::{LedgerInfo, Manifest};
use crate::mixing::{Mix, MixKeys, RankedCount, Rows};
use hanpyo_crypto::proofs::schnorr::SchnorrProof;
use hanpyo_ledger::export::{DirectoryRecord, Frame, RecordSource};

/// Ballots decoded and verified together (per parallel task).
const BATCH: usize = 64;
/// Ballots held in memory before they are verified.
const WINDOW: usize = 4096;
/// Failures kept in the report (the rest are counted).
const MAX_FAILURES: usize = 1000;

/// Verifier options.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Pin the log operator's key instead of trusting the one in the manifest.
    pub log_key: Option<[u8; 32]>,
    /// Take the log, its witnesses and their quorum from this trust policy, published apart from
    /// the record ([`LedgerInfo::parse_trust_policy`]), instead of from the record's manifest; a
    /// manifest naming another log or other witnesses is then invalid.
    pub trust: Option<LedgerInfo>,
}

/// One reason the record is invalid.
#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    /// Index of the entry concerned, if any.
    pub entry: Option<u64>,
    /// Its kind, if known.
    pub kind: Option<Kind>,
    /// What was checked.
    pub what: String,
    /// Why it failed.
    pub why: String,
}

/// Per-question result.
#[derive(Clone, Debug, Serialize)]
pub struct QuestionResult {
    /// Question title (English).
    pub title: String,
    /// Question title (Korean).
    pub title_ko: String,
    /// The question's kind (the manifest's name: `referendum`, `choose-one`, `choose-range`,
    /// `score`, `scale`).
    pub kind: &'static str,
    /// `(choice in English, choice in Korean, n)`: n is the choice's votes, a score's points, or
    /// for a scale's item the sum of its ratings as step numbers (1 = the lowest step), so that a
    /// score's or a scale's average is `n / voted`.
    pub choices: Vec<(String, String, u64)>,
    /// A scale's steps `(English, Korean)`, lowest first (empty for other kinds).
    pub steps: Vec<(String, String)>,
    /// The decrypted tally cells as the result entry states them: one per choice, or for a scale
    /// one per (item, step), item-major.
    pub counts: Vec<u64>,
    /// The manifest's decision rule, if any.
    pub decision: Option<DecisionRule>,
    /// What the rule makes of the counts (as derived by the verifier).
    pub outcome: Outcome,
    /// A ranked question's count of the decrypted rankings (as derived by the verifier).
    pub ranked: Option<RankedCount>,
}

/// What the record contains.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// Election id.
    pub election_id: Option<String>,
    /// Entries read.
    pub entries: u64,
    /// `n`, `t`.
    pub trustees: Option<(u32, u32)>,
    /// Dealers in `QUAL`.
    pub qualified: Vec<u32>,
    /// Qualified trustees that confirmed a usable key share (checked shares from all of `QUAL`).
    pub confirmed: Vec<u32>,
    /// Dealers left out of the key by the ceremony, with why (a legitimate outcome, not a failure).
    pub disqualified: Vec<(u32, String)>,
    /// Public credentials listed.
    pub credentials: u64,
    /// Ballot entries.
    pub ballots_cast: u64,
    /// Ballots superseded by a later ballot of the same credential.
    pub superseded: u64,
    /// Ballots counted (each credential's last).
    pub ballots_counted: u64,
    /// Benaloh-audited ballots (never counted).
    pub audited: u64,
    /// Trustees whose shares made the result.
    pub decrypting_trustees: Vec<u32>,
    /// Trustees that shuffled the ranked questions' rows, in order.
    pub shufflers: Vec<u32>,
    /// Eligible voters (credentials listed) and voters (ballots counted) of the result.
    pub turnout: Option<Turnout>,
    /// The verified result.
    pub result: Option<Vec<QuestionResult>>,
    /// Signed checkpoints checked (the latest and the earlier ones).
    pub checkpoints: u64,
    /// The checkpoint `(origin, size, root hex)`.
    pub checkpoint: Option<(String, u64, String)>,
    /// Valid witness cosignatures on the final checkpoint.
    pub cosignatures: u64,
    /// The log key the checkpoint was checked with (hex).
    pub log_key: Option<String>,
    /// The witnesses whose cosignatures counted (names), and how many were required.
    pub witnesses: Vec<String>,
    /// The quorum that was required.
    pub witness_quorum: u32,
    /// True when the log key, witnesses and quorum came from a trust policy, false when they
    /// were taken from the record itself (which a forger writes too).
    pub trust_policy: bool,
}

/// The verifier's verdict.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// True iff there are no failures.
    pub valid: bool,
    /// Every failure found (up to 1000).
    pub failures: Vec<Failure>,
    /// Failures not listed.
    pub more_failures: u64,
    /// What the record contains.
    pub summary: Summary,
    /// Wall-clock seconds.
    pub seconds: f64,
}

struct Election {
    manifest: Manifest,
    manifest_hash: Hash,
    shapes: Shapes,
    params: ThresholdParams,
}

struct Keys {
    outcome: CeremonyOutcome,
    ctx: ProofContext,
    pk: PublicKey,
}

/// A checked ballot, or `(entry index, kind, why)` it was rejected.
type CheckResult = Result<Checked, (u64, Kind, String)>;

/// A ballot or audited ballot after parallel checking.
struct Checked {
    index: u64,
    offset: u64,
    kind: Kind,
    /// The entry's leaf hash (its tracking code).
    hash: Hash,
    /// The ballot's public credential (audits carry none).
    credential: Option<[u8; 32]>,
    /// `[question][choice]`: what a cast ballot adds to the tally, or what an audit opened.
    ciphertexts: Vec<Vec<Ciphertext>>,
}

struct BallotItem<'a> {
    ballot: &'a Ballot,
    ctx: &'a ProofContext,
    pk: &'a PublicKey,
    specs: &'a [ContestSpec],
}

impl Verifiable for BallotItem<'_> {
    fn queue(&self, batch: &mut BatchVerifier) -> Result<(), ProofError> {
        self.ballot.queue(self.ctx, self.pk, self.specs, batch)
    }
}

struct Verifier {
    options: Options,
    f: Failures,
    summary: Summary,
    tree: Frontier,
    last_kind: Option<Kind>,
    election: Option<Election>,
    registrations: Vec<Option<PublicKey>>,
    digests: Vec<Option<[u8; 32]>>,
    commitments: Vec<DealerCommitment>,
    shares: Vec<EncryptedShare>,
    complaints: Vec<Complaint>,
    confirmations: Vec<(u32, Vec<u32>)>,
    keys: Option<Keys>,
    credentials: Vec<[u8; 32]>,
    /// Per credential: 1 + offset of its last valid ballot, or 0.
    last_ballot: Vec<u64>,
    superseded: Vec<u64>,
    /// Every ballot's and audit's full leaf hash → its entry index (a replay is an identical entry).
    seen_ballots: std::collections::HashMap<Hash, u64>,
    /// The `α` of every ciphertext an audit opened → that audit's entry index.
    audited_alphas: std::collections::HashMap<[u8; 32], u64>,
    pending: Vec<Frame>,
    sums: RunningTally,
    tally: Option<(u64, Vec<Vec<Ciphertext>>)>,
    partials: Vec<(u32, Vec<Vec<Element>>)>,
    /// The mix-net of ranked questions (from the tally on, when the manifest has any).
    mix: Option<Mix>,
    seen_result: bool,
    /// Earlier checkpoints `(note, size, root of the entries at that size once reached)`.
    history: Vec<(SignedNote, Checkpoint, Option<Hash>)>,
    /// Earlier checkpoints the source listed so far (parsed or not).
    history_listed: usize,
    /// The first of `history` whose size the entries have not passed yet.
    next_history: usize,
    /// Where the next entry's frame starts: `(index, byte offset)`.
    position: (u64, u64),
    /// Nothing more can be checked (the record does not start with a manifest).
    stopped: bool,
}

/// Verifies the record in directory `dir`.
pub fn verify_record(dir: &Path, options: &Options) -> Result<Report, RecordError> {
    verify_record_with_progress(dir, options, &mut |_| {})
}

/// Verifies the record in directory `dir`, calling `progress` with the number of entries read
/// (every [`PROGRESS_EVERY`] entries).
pub fn verify_record_with_progress(
    dir: &Path,
    options: &Options,
    progress: &mut dyn FnMut(u64),
) -> Result<Report, RecordError> {
    let start = Instant::now();
    let mut source = DirectoryRecord::open(dir)?;
    let mut report = verify_source(&mut source, options, progress);
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// Entries between two calls of the progress callback.
pub const PROGRESS_EVERY: u64 = 256;

/// Verifies the record `source` (a directory, or bytes in memory in a browser). `progress` is
/// called with the number of entries read every [`PROGRESS_EVERY`] entries. No clock is read
/// (WebAssembly has none): `seconds` is 0, for the caller to fill in.
pub fn verify_source(
    source: &mut dyn RecordSource,
    options: &Options,
    progress: &mut dyn FnMut(u64),
) -> Report {
    let mut v = Verification::new(options.clone());
    v.extend(source, progress);
    v.report(source)
}

/// A verification that goes on as a record grows: the checks of [`verify_source`], entry by
/// entry, with the verifier's state kept between steps, so a mirror checks each step it copies
/// without reading the record again. [`verify_source`] is one step and one report.
pub struct Verification {
    v: Verifier,
}

impl std::fmt::Debug for Verification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verification")
            .field("position", &self.v.position)
            .field("failures", &self.v.f.list.len())
            .finish_non_exhaustive()
    }
}

impl Verification {
    /// A verification that has read nothing yet.
    pub fn new(options: Options) -> Self {
        Self {
            v: Verifier {
                options,
                f: Failures::default(),
                summary: Summary::default(),
                tree: Frontier::new(),
                last_kind: None,
                election: None,
                registrations: Vec::new(),
                digests: Vec::new(),
                commitments: Vec::new(),
                shares: Vec::new(),
                complaints: Vec::new(),
                confirmations: Vec::new(),
                keys: None,
                credentials: Vec::new(),
                last_ballot: Vec::new(),
                superseded: Vec::new(),
                seen_ballots: std::collections::HashMap::new(),
                audited_alphas: std::collections::HashMap::new(),
                pending: Vec::new(),
                sums: RunningTally::new(&[]),
                tally: None,
                partials: Vec::new(),
                mix: None,
                seen_result: false,
                history: Vec::new(),
                history_listed: 0,
                next_history: 0,
                position: (0, 0),
                stopped: false,
            },
        }
    }

    /// Where the next step reads on: `(entry index, byte offset in the entries file)`. A step's
    /// source must start there ([`DirectoryRecord::open_at`]).
    ///
    /// [`DirectoryRecord::open_at`]: hanpyo_ledger::export::DirectoryRecord::open_at
    pub fn position(&self) -> (u64, u64) {
        self.v.position
    }

    /// Reads and checks every entry `source` yields, and the earlier checkpoints it lists beyond
    /// those already seen. `progress` is called with the number of entries read so far every
    /// [`PROGRESS_EVERY`] entries.
    pub fn extend(&mut self, source: &mut dyn RecordSource, progress: &mut dyn FnMut(u64)) {
        let v = &mut self.v;
        v.list_history(source);
        if v.stopped {
            return;
        }
        loop {
            if v.summary.entries.is_multiple_of(PROGRESS_EVERY) && v.summary.entries > 0 {
                progress(v.summary.entries);
            }
            let frame = match source.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    v.f.fail(None, None, "entries file", e.to_string());
                    break;
                }
            };
            v.position = (frame.index + 1, frame.offset + 4 + frame.bytes.len() as u64);
            v.tree.push(leaf_hash(&frame.bytes));
            v.summary.entries += 1;
            while let Some(h) = v.history.get_mut(v.next_history) {
                if h.1.size > v.tree.size() {
                    break;
                }
                if h.1.size == v.tree.size() {
                    h.2 = Some(v.tree.root());
                }
                v.next_history += 1;
            }
            if !v.entry(&*source, frame) {
                v.stopped = true;
                break;
            }
        }
        progress(v.summary.entries);
    }

    /// The verdict on the entries read so far and `source`'s latest checkpoint: every check of a
    /// whole record, including what a finished election must hold. The state is not changed by
    /// it: the next step goes on from where the last one stopped.
    pub fn report(&mut self, source: &dyn RecordSource) -> Report {
        let v = &mut self.v;
        v.flush_ballots();
        let (listed, more) = (v.f.list.len(), v.f.more);
        v.finish(source);
        let report = Report {
            valid: v.f.list.is_empty(),
            failures: v.f.list.clone(),
            more_failures: v.f.more,
            summary: v.summary.clone(),
            seconds: 0.0,
        };
        v.f.list.truncate(listed);
        v.f.more = more;
        report
    }
}

/// The kinds an entry of kind `k` may directly follow.
fn may_follow(k: Kind) -> &'static [Kind] {
    use Kind::*;
    match k {
        Manifest => &[],
        TrusteeRegistration => &[Manifest, TrusteeRegistration],
        CeremonyDigest => &[TrusteeRegistration, CeremonyDigest],
        // After every digest, commitments, shares, complaints and confirmations interleave: no
        // trustee waits for another's step (a dealer that withholds is left out of QUAL).
        CeremonyCommitment => &[
            CeremonyDigest,
            CeremonyCommitment,
            CeremonyShare,
            CeremonyComplaint,
            KeyConfirmation,
        ],
        CeremonyShare | CeremonyComplaint | KeyConfirmation | JointKey => &[
            CeremonyCommitment,
            CeremonyShare,
            CeremonyComplaint,
            KeyConfirmation,
        ],
        CredentialList => &[JointKey, CredentialList],
        Ballot | AuditedBallot | Close => &[CredentialList, Ballot, AuditedBallot],
        EncryptedTally => &[Close],
        // After the tally, the trustees' tally shares interleave with the mix-net of ranked
        // questions: shuffles first, then the mixed rows' decryption.
        PartialDecryption => &[EncryptedTally, PartialDecryption, Shuffle, BallotDecryption],
        Shuffle => &[EncryptedTally, PartialDecryption, Shuffle],
        BallotDecryption => &[PartialDecryption, Shuffle, BallotDecryption],
        Result => &[PartialDecryption, BallotDecryption],
    }
}

#[derive(Default)]
struct Failures {
    list: Vec<Failure>,
    more: u64,
}

impl Failures {
    fn fail(&mut self, entry: Option<u64>, kind: Option<Kind>, what: &str, why: impl Into<String>) {
        if self.list.len() < MAX_FAILURES {
            self.list.push(Failure {
                entry,
                kind,
                what: what.to_string(),
                why: why.into(),
            });
        } else {
            self.more += 1;
        }
    }
}

impl Verifier {
    /// Takes the earlier checkpoints `source` lists beyond those already taken. One whose size
    /// the entries have passed gets the root they had there only if it is the current size.
    fn list_history(&mut self, source: &dyn RecordSource) {
        let notes = match source.checkpoints() {
            Ok(notes) => notes,
            Err(e) => return self.f.fail(None, None, "checkpoint history", e.to_string()),
        };
        let before = self.history.len();
        for (i, text) in notes.iter().enumerate().skip(self.history_listed) {
            match SignedNote::parse(text).and_then(|n| Ok((Checkpoint::parse_body(&n.body)?, n))) {
                Ok((cp, n)) => {
                    let size = self.tree.size();
                    let root = (size > 0 && cp.size == size).then(|| self.tree.root());
                    if cp.size <= size {
                        self.next_history = self.history.len() + 1;
                    }
                    self.history.push((n, cp, root));
                }
                Err(e) => self.f.fail(
                    None,
                    None,
                    "checkpoint history",
                    format!("checkpoint {i}: {e}"),
                ),
            }
        }
        self.history_listed = self.history_listed.max(notes.len());
        if self.history[before.saturating_sub(1)..]
            .windows(2)
            .any(|w| w[0].1.size >= w[1].1.size)
        {
            self.f
                .fail(None, None, "checkpoint history", "sizes must increase");
        }
    }

    /// Handles one entry; false stops reading (nothing more can be checked).
    fn entry(&mut self, source: &dyn RecordSource, frame: Frame) -> bool {
        let idx = Some(frame.index);
        let kind = match Kind::of(&frame.bytes) {
            Ok(k) => k,
            Err(e) => {
                self.f.fail(idx, None, "entry header", e.to_string());
                return self.election.is_some();
            }
        };
        // The record's grammar: each kind may only follow the kinds listed by `may_follow`.
        match self.last_kind {
            None if kind != Kind::Manifest => {
                self.f.fail(
                    idx,
                    Some(kind),
                    "entry order",
                    "the first entry must be the manifest",
                );
                return false;
            }
            Some(last) if !may_follow(kind).contains(&last) => {
                self.f.fail(
                    idx,
                    Some(kind),
                    "entry order",
                    format!("{kind:?} may not follow {last:?}"),
                );
                return true;
            }
            _ => {}
        }
        self.last_kind = Some(kind);
        if self.mix.as_ref().is_some_and(Mix::is_open)
            && !matches!(kind, Kind::Shuffle | Kind::BallotDecryption)
        {
            self.f.fail(
                idx,
                Some(kind),
                "mix-net",
                "a shuffle's or decryption's parts are not all there",
            );
        }
        if matches!(kind, Kind::Ballot | Kind::AuditedBallot) {
            self.pending.push(frame);
            if self.pending.len() >= WINDOW {
                self.flush_ballots();
            }
            return true;
        }
        self.flush_ballots();
        let decoded = Entry::decode(&frame.bytes, self.election.as_ref().map(|e| &e.shapes));
        let entry = match decoded {
            Ok(e) => e,
            Err(e) => {
                self.f.fail(idx, Some(kind), "encoding", e.to_string());
                return kind != Kind::Manifest;
            }
        };
        match entry {
            Entry::Manifest(m) => self.manifest(*m, &frame.bytes),
            Entry::TrusteeRegistration { index, key, proof } => {
                if let Some(e) = &self.election {
                    let ctx = ceremony_context(&e.manifest_hash).at(index, NO_POSITION);
                    let slot = (index - 1) as usize;
                    if self.registrations[slot].is_some() {
                        self.f.fail(
                            idx,
                            Some(kind),
                            "trustee registration",
                            format!("trustee {index} registered twice"),
                        );
                    } else if proof
                        .verify(labels::TRUSTEE_KEY, &ctx, key.element(), &[])
                        .is_err()
                    {
                        self.f.fail(
                            idx,
                            Some(kind),
                            "trustee registration",
                            format!("trustee {index}: invalid proof of possession"),
                        );
                    } else {
                        self.registrations[slot] = Some(key);
                    }
                }
            }
            Entry::Ceremony(m, signature) => self.ceremony_message(frame.index, *m, &signature),
            Entry::JointKey {
                key,
                qualified,
                verification_keys,
            } => self.joint_key(frame.index, key, qualified, verification_keys),
            Entry::CredentialList(list) => {
                for c in list {
                    let bytes = *c.as_bytes();
                    if self.credentials.last().is_some_and(|last| *last >= bytes) {
                        self.f.fail(
                            idx,
                            Some(kind),
                            "credential list",
                            "credentials must be strictly ascending (sorted, no duplicates)",
                        );
                        break;
                    }
                    self.credentials.push(bytes);
                }
                self.last_ballot.resize(self.credentials.len(), 0);
                self.summary.credentials = self.credentials.len() as u64;
            }
            Entry::Ballot(_) | Entry::AuditedBallot(..) => {}
            Entry::Close => {}
            Entry::EncryptedTally { counted, tally } => {
                let lot = leaf_hash(&frame.bytes);
                self.encrypted_tally(source, frame.index, counted, tally, lot)
            }
            Entry::Shuffle(_) | Entry::BallotDecryption(_) => self.mix_part(frame.index, &entry),
            Entry::PartialDecryption { trustee, shares } => {
                self.partial(frame.index, trustee, shares)
            }
            Entry::Result {
                trustees,
                counts,
                turnout,
                outcomes,
            } => self.result(frame.index, trustees, counts, turnout, outcomes),
        }
        true
    }

    fn manifest(&mut self, m: Manifest, bytes: &[u8]) {
        let shapes = Shapes::of(&m);
        let Ok(params) = m.threshold_params() else {
            return;
        };
        let n = m.trustees as usize;
        self.registrations = vec![None; n];
        self.digests = vec![None; n];
        self.sums = RunningTally::new(&shapes.specs);
        self.summary.election_id = Some(m.election_id.clone());
        self.summary.trustees = Some((m.trustees, m.threshold));
        self.election = Some(Election {
            manifest_hash: leaf_hash(bytes),
            manifest: m,
            shapes,
            params,
        });
    }

    /// A signed ceremony message: its sender's registered key must have signed it; otherwise it
    /// is a failure and is left out of the transcript (as if never sent).
    fn ceremony_message(&mut self, index: u64, m: CeremonyMessage, signature: &SchnorrProof) {
        let Some(e) = &self.election else { return };
        let kind = Some(m.kind());
        let sender = m.sender();
        let ctx = ceremony_context(&e.manifest_hash);
        let signed = self
            .registrations
            .get((sender as usize).wrapping_sub(1))
            .copied()
            .flatten()
            .is_some_and(|key| m.verify_signature(&ctx, &key, signature).is_ok());
        if !signed {
            self.f.fail(
                Some(index),
                kind,
                "key ceremony",
                format!("not signed by trustee {sender}'s registered key"),
            );
            return;
        }
        match m {
            CeremonyMessage::Digest { dealer, digest } => {
                if self.digests[(dealer - 1) as usize]
                    .replace(digest)
                    .is_some()
                {
                    self.f.fail(
                        Some(index),
                        kind,
                        "key ceremony",
                        format!("dealer {dealer} published two digests"),
                    );
                }
            }
            CeremonyMessage::Commitment(c) => self.commitments.push(c),
            CeremonyMessage::Share(s) => self.shares.push(s),
            CeremonyMessage::Complaint(c) => self.complaints.push(c),
            CeremonyMessage::Confirmation { trustee, dealers } => {
                self.confirmations.push((trustee, dealers))
            }
        }
    }

    fn joint_key(
        &mut self,
        index: u64,
        key: PublicKey,
        qualified: Vec<u32>,
        verification_keys: Vec<Element>,
    ) {
        let Some(e) = &self.election else { return };
        let kind = Some(Kind::JointKey);
        let Some(trustee_keys) = self
            .registrations
            .iter()
            .copied()
            .collect::<Option<Vec<_>>>()
        else {
            self.f.fail(
                Some(index),
                kind,
                "key ceremony",
                "not every trustee registered a key",
            );
            return;
        };
        let ctx = ceremony_context(&e.manifest_hash);
        let transcript = CeremonyTranscript {
            params: e.params,
            trustee_keys: &trustee_keys,
            digests: &self.digests,
            commitments: &self.commitments,
            shares: &self.shares,
            complaints: &self.complaints,
        };
        let outcome = match resolve_ceremony(&ctx, &transcript) {
            Ok(o) => o,
            Err(err) => {
                self.f
                    .fail(Some(index), kind, "key ceremony", err.to_string());
                return;
            }
        };
        if outcome.joint_key != key
            || outcome.qualified != qualified
            || outcome.verification_keys != verification_keys
        {
            self.f.fail(
                Some(index),
                kind,
                "joint key",
                "does not match the key ceremony's transcript",
            );
        }
        let confirmed = outcome.confirmed(&self.confirmations);
        if confirmed.len() < e.params.threshold as usize {
            self.f.fail(
                Some(index),
                kind,
                "key ceremony",
                format!(
                    "only trustees {confirmed:?} confirmed holding checked shares from every qualified dealer {:?}; {} are needed, or the key may not be decryptable",
                    outcome.qualified, e.params.threshold
                ),
            );
        }
        self.summary.confirmed = confirmed;
        self.summary.qualified = outcome.qualified.clone();
        self.summary.disqualified = outcome
            .disqualified
            .iter()
            .map(|(i, why)| (*i, format!("{why:?}")))
            .collect();
        let ectx = election_context(&e.manifest_hash, &outcome.joint_key);
        self.keys = Some(Keys {
            pk: outcome.joint_key,
            outcome,
            ctx: ectx,
        });
    }

    /// Decodes and verifies the pending ballots in parallel, then applies them in order.
    fn flush_ballots(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        let (Some(e), Some(k)) = (&self.election, &self.keys) else {
            for f in &pending {
                self.f.fail(
                    Some(f.index),
                    Kind::of(&f.bytes).ok(),
                    "ballot",
                    "cannot be verified: the record has no valid joint key",
                );
            }
            return;
        };
        let results: Vec<Vec<CheckResult>> = pending
            .par_chunks(BATCH)
            .map(|chunk| check_ballots(chunk, &e.shapes, &k.ctx, &k.pk))
            .collect();
        for r in results.into_iter().flatten() {
            match r {
                Ok(c) => self.apply(c),
                Err((i, kind, why)) => self.f.fail(Some(i), Some(kind), "ballot", why),
            }
        }
    }

    fn apply(&mut self, c: Checked) {
        if let Some(&earlier) = self.seen_ballots.get(&c.hash) {
            self.f.fail(
                Some(c.index),
                Some(c.kind),
                "replay",
                format!("identical to entry {earlier}; a replayed entry is never counted"),
            );
            return;
        }
        self.seen_ballots.insert(c.hash, c.index);
        let Some(credential) = c.credential else {
            // An audit: remember what it opened, so no ballot can ever count it.
            self.summary.audited += 1;
            for ct in c.ciphertexts.iter().flatten() {
                self.audited_alphas
                    .entry(*ct.alpha.as_bytes())
                    .or_insert(c.index);
            }
            return;
        };
        let Ok(pos) = self.credentials.binary_search(&credential) else {
            self.f.fail(
                Some(c.index),
                Some(c.kind),
                "eligibility",
                "the ballot's credential is not on the credential list",
            );
            return;
        };
        if let Some(audit) = c
            .ciphertexts
            .iter()
            .flatten()
            .find_map(|ct| self.audited_alphas.get(ct.alpha.as_bytes()))
        {
            self.f.fail(
                Some(c.index),
                Some(c.kind),
                "audited ballot cast",
                format!(
                    "reuses an encryption opened by the audit at entry {audit}: an audited encryption is public and never counts"
                ),
            );
            return;
        }
        self.summary.ballots_cast += 1;
        let prev = std::mem::replace(&mut self.last_ballot[pos], c.offset + 1);
        if prev != 0 {
            self.superseded.push(prev - 1);
        }
        self.sums.add(&c.ciphertexts);
    }

    fn encrypted_tally(
        &mut self,
        source: &dyn RecordSource,
        index: u64,
        counted: u64,
        tally: Vec<Vec<Ciphertext>>,
        lot: Hash,
    ) {
        let kind = Some(Kind::EncryptedTally);
        let Some(e) = &self.election else { return };
        let rows = Rows::of(&e.manifest);
        if rows.any() {
            // The mix-net's first input: each counted ballot's ranked contests, in entry order.
            let mut offsets: Vec<u64> = self
                .last_ballot
                .iter()
                .filter(|&&l| l != 0)
                .map(|l| l - 1)
                .collect();
            offsets.sort_unstable();
            let mut initial = Vec::with_capacity(offsets.len());
            for offset in offsets {
                match source
                    .frame_at(offset)
                    .map_err(RecordError::from)
                    .and_then(|b| Entry::decode(&b, Some(&e.shapes)))
                {
                    Ok(Entry::Ballot(b)) => initial.push(rows.of_ballot(&b)),
                    _ => self.f.fail(
                        None,
                        Some(Kind::Ballot),
                        "mix-net",
                        format!("cannot re-read counted ballot at offset {offset}"),
                    ),
                }
            }
            self.mix = Some(Mix::new(rows, initial, lot));
        }
        // Subtract every superseded ballot (re-read from disk: they were verified when first seen).
        let superseded = std::mem::take(&mut self.superseded);
        for offset in &superseded {
            let decoded = source
                .frame_at(*offset)
                .map_err(RecordError::from)
                .and_then(|b| Entry::decode(&b, Some(&e.shapes)));
            match decoded {
                Ok(Entry::Ballot(b)) => self.sums.subtract(&b.ciphertexts()),
                _ => self.f.fail(
                    None,
                    Some(Kind::Ballot),
                    "revote",
                    format!("cannot re-read superseded ballot at offset {offset}"),
                ),
            }
        }
        self.summary.superseded = superseded.len() as u64;
        let expected_count = self.last_ballot.iter().filter(|&&l| l != 0).count() as u64;
        self.summary.ballots_counted = expected_count;
        if counted != expected_count {
            self.f.fail(
                Some(index),
                kind,
                "encrypted tally",
                format!("claims {counted} counted ballots; the record has {expected_count}"),
            );
        }
        let computed = self.sums.ciphertexts();
        for (q, (mine, theirs)) in computed.iter().zip(&tally).enumerate() {
            for (j, (a, b)) in mine.iter().zip(theirs).enumerate() {
                if a != b {
                    self.f.fail(
                        Some(index),
                        kind,
                        "encrypted tally",
                        format!("question {q} choice {j} is not the sum of the counted ballots"),
                    );
                }
            }
        }
        self.tally = Some((counted, tally));
    }

    fn mix_part(&mut self, index: u64, entry: &Entry) {
        let kind = Some(entry.kind());
        let (Some(e), Some(k), Some(mix)) = (&self.election, &self.keys, &mut self.mix) else {
            self.f.fail(
                Some(index),
                kind,
                "mix-net",
                "a mix-net entry without a ranked question's tally",
            );
            return;
        };
        let y = |j: u32| k.outcome.verification_key(j).copied();
        let keys = MixKeys {
            ctx: &k.ctx,
            pk: &k.pk,
            verification_key: &y,
            threshold: e.params.threshold,
        };
        if let Err(why) = mix.take(entry, Some(&keys)) {
            self.f.fail(Some(index), kind, "mix-net", why);
        }
        self.summary.shufflers = mix.shufflers.clone();
    }

    fn partial(
        &mut self,
        index: u64,
        trustee: u32,
        shares: Vec<
            Vec<(
                Element,
                hanpyo_crypto::proofs::chaum_pedersen::ChaumPedersenProof,
            )>,
        >,
    ) {
        let kind = Some(Kind::PartialDecryption);
        let (Some(k), Some((_, tally))) = (&self.keys, &self.tally) else {
            self.f.fail(
                Some(index),
                kind,
                "entry order",
                "partial decryption before the tally",
            );
            return;
        };
        if self.partials.iter().any(|(t, _)| *t == trustee) {
            self.f.fail(
                Some(index),
                kind,
                "partial decryption",
                format!("trustee {trustee} decrypted twice"),
            );
            return;
        }
        let Some(y) = k.outcome.verification_key(trustee) else {
            return;
        };
        let mut batch = BatchVerifier::new();
        for (q, (row, cts)) in shares.iter().zip(tally).enumerate() {
            for (j, ((d, proof), ct)) in row.iter().zip(cts).enumerate() {
                let p = hanpyo_crypto::threshold::PartialDecryption {
                    trustee,
                    share: *d,
                    proof: *proof,
                };
                p.queue(&k.ctx.at(q as u32, j as u32), y, ct, &mut batch);
            }
        }
        if batch.verify() {
            self.partials.push((
                trustee,
                shares
                    .into_iter()
                    .map(|r| r.into_iter().map(|(d, _)| d).collect())
                    .collect(),
            ));
        } else {
            self.f.fail(
                Some(index),
                kind,
                "partial decryption",
                format!("trustee {trustee}: a decryption share proof does not verify"),
            );
        }
    }

    fn result(
        &mut self,
        index: u64,
        trustees: Vec<u32>,
        counts: Vec<Vec<u64>>,
        turnout: Turnout,
        outcomes: Vec<Outcome>,
    ) {
        self.seen_result = true;
        let kind = Some(Kind::Result);
        let (Some(e), Some((counted, tally))) = (&self.election, &self.tally) else {
            return;
        };
        let mut fails = Vec::new();
        if trustees.len() < e.params.threshold as usize || trustees.windows(2).any(|w| w[0] >= w[1])
        {
            fails.push(format!(
                "needs at least {} distinct trustees, ascending",
                e.params.threshold
            ));
        }
        let shares: Option<Vec<&Vec<Vec<Element>>>> = trustees
            .iter()
            .map(|t| self.partials.iter().find(|(p, _)| p == t).map(|(_, s)| s))
            .collect();
        match (shares, lagrange_coefficients(&trustees)) {
            (Some(shares), Ok(lambdas)) if fails.is_empty() => {
                let maxima = e.manifest.cell_maxima(*counted);
                for (q, row) in counts.iter().enumerate() {
                    for (j, count) in row.iter().enumerate() {
                        if *count > maxima[q] {
                            fails.push(format!(
                                "question {q} choice {j}: more than {} ballots can give",
                                maxima[q]
                            ));
                            continue;
                        }
                        let combined: RistrettoPoint = lambdas
                            .iter()
                            .zip(&shares)
                            .map(|(l, s)| l * s[q][j].point())
                            .sum();
                        let m = tally[q][j].beta.point() - combined;
                        if m != RistrettoPoint::mul_base(&Scalar::from(*count)) {
                            fails.push(format!("question {q} choice {j}: {count} is not the decryption of the tally"));
                        }
                    }
                }
            }
            (None, _) => fails.push("a listed trustee has no valid partial decryption".into()),
            _ => {}
        }
        // Turnout and outcomes are derived again: eligible = credentials listed, voted = ballots
        // counted, and each question's outcome from its rule and the stated counts.
        let derived = Turnout {
            eligible: self.credentials.len() as u64,
            voted: *counted,
        };
        if turnout != derived {
            fails.push(format!(
                "states {} eligible and {} voted; the record has {} credentials and {} counted ballots",
                turnout.eligible, turnout.voted, derived.eligible, derived.voted
            ));
        }
        // Ranked questions: the mixed rows' rankings, counted again; their rank matrix must be
        // the tally's cells.
        let ranked = match &self.mix {
            Some(mix) => match mix.counted(&e.manifest, &e.params) {
                Ok(c) => {
                    for (q, matrix) in c.matrices.iter().enumerate() {
                        if matrix.as_ref().is_some_and(|m| Some(m) != counts.get(q)) {
                            fails.push(format!(
                                "question {q}: the decrypted rankings do not add up to the tally's ranks"
                            ));
                        }
                    }
                    c.counts
                }
                Err(why) => {
                    fails.push(format!("ranked questions: {why}"));
                    vec![None; e.manifest.questions.len()]
                }
            },
            None => vec![None; e.manifest.questions.len()],
        };
        let ranked_outcomes: Vec<Option<Outcome>> = ranked
            .iter()
            .map(|c| c.as_ref().map(RankedCount::outcome))
            .collect();
        let rules = crate::manifest::Question::rules(&e.manifest.questions);
        let expected = Outcome::of_result(&rules, derived, &counts, &ranked_outcomes);
        for (q, (stated, due)) in outcomes.iter().zip(&expected).enumerate() {
            if stated != due {
                fails.push(format!(
                    "question {q}: states \"{stated}\"; its decision rule or count gives \"{due}\""
                ));
            }
        }
        for f in fails {
            self.f.fail(Some(index), kind, "result", f);
        }
        self.summary.decrypting_trustees = trustees;
        self.summary.turnout = Some(derived);
        self.summary.result = Some(
            e.manifest
                .questions
                .iter()
                .zip(&counts)
                .zip(expected)
                .zip(ranked)
                .map(|(((q, row), outcome), ranked)| QuestionResult {
                    title: q.title.en.clone(),
                    title_ko: q.title.ko.clone(),
                    kind: q.kind.name(),
                    choices: q
                        .choices
                        .iter()
                        .zip(q.choice_totals(row))
                        .map(|(c, n)| (c.en.clone(), c.ko.clone(), n))
                        .collect(),
                    steps: q
                        .steps
                        .iter()
                        .map(|s| (s.en.clone(), s.ko.clone()))
                        .collect(),
                    counts: row.clone(),
                    decision: q.decision,
                    outcome,
                    ranked,
                })
                .collect(),
        );
    }

    fn finish(&mut self, source: &dyn RecordSource) {
        for (what, missing) in [
            ("manifest", self.election.is_none()),
            ("joint key", self.keys.is_none()),
            ("credential list", self.credentials.is_empty()),
            ("encrypted tally", self.tally.is_none()),
            ("result", !self.seen_result),
        ] {
            if missing {
                self.f.fail(
                    None,
                    None,
                    "completeness",
                    format!("the record has no {what}"),
                );
            }
        }
        if let Some(ledger) = self.election.as_ref().map(|e| e.manifest.ledger.clone()) {
            if self.mix.as_ref().is_some_and(Mix::is_open) {
                self.f.fail(
                    None,
                    None,
                    "completeness",
                    "the record ends inside a shuffle's or decryption's parts",
                );
            }
            if self.last_kind.is_some_and(|k| k < Kind::Close) {
                self.f
                    .fail(None, None, "completeness", "voting was never closed");
            }
            self.checkpoint(source, &ledger);
        }
    }

    /// The record's manifest must name the trusted log and exactly the trusted witnesses.
    fn trust_matches(&mut self, policy: &LedgerInfo, manifest: &LedgerInfo) {
        for why in manifest.differences_from(policy) {
            self.f
                .fail(Some(0), Some(Kind::Manifest), "trust policy", why);
        }
    }

    fn checkpoint(&mut self, source: &dyn RecordSource, ledger: &LedgerInfo) {
        // What is trusted: a policy published apart from the record, or else the record's own
        // manifest (with the log key the auditor may have pinned).
        let trusted = match self.options.trust.clone() {
            Some(policy) => {
                self.trust_matches(&policy, ledger);
                policy
            }
            None => LedgerInfo {
                key: self.options.log_key.unwrap_or(ledger.key),
                ..ledger.clone()
            },
        };
        let ledger = &trusted;
        self.summary.trust_policy = self.options.trust.is_some();
        self.summary.witnesses = ledger.witnesses.iter().map(|w| w.name.clone()).collect();
        self.summary.witness_quorum = ledger.witness_quorum;
        let key_bytes = ledger.key;
        self.summary.log_key = Some(hex::encode(key_bytes));
        let text = match source.checkpoint() {
            Ok(t) => t,
            Err(e) => return self.f.fail(None, None, "checkpoint", e.to_string()),
        };
        let Ok(text) = String::from_utf8(text) else {
            return self.f.fail(None, None, "checkpoint", "not UTF-8");
        };
        let verifier = match ledger.log_verifier() {
            Ok(v) => v,
            Err(e) => {
                return self
                    .f
                    .fail(None, None, "checkpoint", format!("log key: {e}"));
            }
        };
        let witnesses = match ledger.witness_verifiers() {
            Ok(w) => w,
            Err(e) => return self.f.fail(None, None, "checkpoint", e.to_string()),
        };
        let note = match SignedNote::parse(&text) {
            Ok(n) => n,
            Err(e) => return self.f.fail(None, None, "checkpoint", e.to_string()),
        };
        if let Err(e) = note.verify(&verifier) {
            self.f.fail(None, None, "checkpoint", e.to_string());
        }
        if let Err(why) = check_signature_lines(&note, &verifier, &witnesses) {
            self.f.fail(None, None, "checkpoint", why);
        }
        let cosigned = witnesses.iter().filter(|w| note.verify(w).is_ok()).count();
        self.summary.cosignatures = cosigned as u64;
        if cosigned < ledger.witness_quorum as usize {
            self.f.fail(
                None,
                None,
                "checkpoint",
                format!(
                    "{cosigned} valid witness cosignature(s); the manifest requires {}",
                    ledger.witness_quorum
                ),
            );
        }
        for (i, (n, cp, root)) in self.history.iter().enumerate() {
            let why = if n.verify(&verifier).is_err() {
                Some("not signed by the log")
            } else if check_signature_lines(n, &verifier, &witnesses).is_err() {
                Some(
                    "carries a signature that is not the log's or a listed witness's valid cosignature",
                )
            } else if cp.origin != ledger.origin {
                Some("origin differs from the manifest's ledger")
            } else if cp.size == 0 {
                Some("has size 0: the log signs no checkpoint of the empty log")
            } else if root.is_none_or(|r| r != cp.root) {
                Some("does not match the entries: the log's history was rewritten")
            } else {
                None
            };
            if let Some(why) = why {
                self.f.fail(
                    None,
                    None,
                    "checkpoint history",
                    format!("checkpoint {i} (size {}): {why}", cp.size),
                );
            }
        }
        self.summary.checkpoints = self.history.len() as u64 + 1;
        match Checkpoint::parse_body(&note.body) {
            Ok(cp) => {
                if cp.origin != ledger.origin {
                    self.f.fail(
                        None,
                        None,
                        "checkpoint",
                        "origin differs from the manifest's ledger",
                    );
                }
                if cp.size != self.tree.size() || cp.root != self.tree.root() {
                    self.f.fail(
                        None,
                        None,
                        "checkpoint",
                        format!("signed tree (size {}) does not match the entries (size {}): entries were changed, added, dropped or reordered", cp.size, self.tree.size()),
                    );
                }
                self.summary.checkpoint = Some((cp.origin, cp.size, hex::encode(cp.root)));
            }
            Err(e) => self.f.fail(None, None, "checkpoint", e.to_string()),
        }
    }
}

/// Every signature line must be the log's or a listed witness's, and valid: a line nobody can
/// check would let bytes of the record change unnoticed.
fn check_signature_lines(
    note: &SignedNote,
    log: &NoteVerifier,
    witnesses: &[NoteVerifier],
) -> Result<(), String> {
    for s in &note.signatures {
        let known = std::iter::once(log)
            .chain(witnesses)
            .find(|v| v.name() == s.name && v.key_id() == s.key_id);
        match known {
            None => return Err(format!("signature by an unknown key {:?}", s.name)),
            Some(v) => {
                let single = SignedNote {
                    body: note.body.clone(),
                    signatures: vec![s.clone()],
                };
                if single.verify(v).is_err() {
                    return Err(format!("invalid signature by {}", s.name));
                }
            }
        }
    }
    Ok(())
}

fn check_ballots(
    frames: &[Frame],
    shapes: &Shapes,
    ctx: &ProofContext,
    pk: &PublicKey,
) -> Vec<CheckResult> {
    let mut out: Vec<Option<CheckResult>> = Vec::with_capacity(frames.len());
    let mut decoded: Vec<(usize, Entry)> = Vec::with_capacity(frames.len());
    for (i, f) in frames.iter().enumerate() {
        let kind = Kind::of(&f.bytes).unwrap_or(Kind::Ballot);
        match Entry::decode(&f.bytes, Some(shapes)) {
            Ok(e) => {
                decoded.push((i, e));
                out.push(None);
            }
            Err(e) => out.push(Some(Err((f.index, kind, format!("encoding: {e}"))))),
        }
    }
    let items: Vec<BallotItem<'_>> = decoded
        .iter()
        .filter_map(|(_, e)| match e {
            Entry::Ballot(b) => Some(BallotItem {
                ballot: b,
                ctx,
                pk,
                specs: &shapes.specs,
            }),
            _ => None,
        })
        .collect();
    let bad: Vec<usize> = match verify_batch(&items) {
        Ok(()) => Vec::new(),
        Err(ProofError::BatchFailed(bad)) => bad,
        Err(_) => (0..items.len()).collect(),
    };
    let mut n = 0;
    for (i, e) in decoded {
        let f = &frames[i];
        let kind = e.kind();
        let checked = |credential, ciphertexts| Checked {
            index: f.index,
            offset: f.offset,
            kind,
            hash: leaf_hash(&f.bytes),
            credential,
            ciphertexts,
        };
        out[i] = Some(match e {
            Entry::Ballot(b) => {
                n += 1;
                if bad.contains(&(n - 1)) {
                    Err((
                        f.index,
                        kind,
                        "invalid credential signature or proof".to_string(),
                    ))
                } else {
                    Ok(checked(Some(*b.credential.as_bytes()), b.ciphertexts()))
                }
            }
            Entry::AuditedBallot(a) => match a.check(pk, &shapes.specs) {
                Ok(_) => Ok(checked(None, a.ciphertexts)),
                Err(why) => Err((f.index, kind, format!("audit: {why}"))),
            },
            _ => Err((f.index, kind, "not a ballot".to_string())),
        });
    }
    out.into_iter().flatten().collect()
}
