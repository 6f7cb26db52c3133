//! The election as the server tracks it, rebuilt from the ledger on start: manifest, keys,
//! credentials, phase, each credential's last ballot, the running encrypted tally.
use std::collections::{HashMap, HashSet};

use hanpyo_crypto::ballot::ContestSpec;
use hanpyo_crypto::elgamal::{Ciphertext, PublicKey};
use hanpyo_crypto::transcript::ProofContext;
use hanpyo_ledger::merkle::{Hash, leaf_hash};
use hanpyo_ledger::store::Ledger;
use hanpyo_record::authority::RunningTally;
use hanpyo_record::context::election_context;
use hanpyo_record::decision::{Outcome, Turnout};
use hanpyo_record::entry::{CeremonyMessage, Entry, Kind, Shapes};
use hanpyo_record::manifest::Manifest;
use hanpyo_record::mixing::{Mix, RankedCount, Rows, Staging};

use crate::error::ApiError;
use crate::public_log::PublicLog;

/// Where the election is in its life. Transitions only go forward, each by one action:
/// ceremony → (finish-ceremony) credentials → (credentials, open) open → (close) closed →
/// (tally) tallied → (trustees' shares, publish) published.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// The trustees' key ceremony is under way.
    Ceremony,
    /// The joint key exists; public credentials are being uploaded.
    Credentials,
    /// Accepting ballots.
    Open,
    /// Closed; tally pending.
    Closed,
    /// The encrypted tally is published; trustees' partial decryptions (and, with ranked
    /// questions, their shuffles and decryptions of the mixed ballots) are being collected.
    Tallied,
    /// Result published.
    Published,
}

/// The key ceremony's and the decryption's public transcript so far.
#[derive(Debug, Default)]
pub struct Ceremony {
    /// Registered communication keys, by trustee index − 1.
    pub registrations: Vec<Option<PublicKey>>,
    /// Round-1 digests.
    pub digests: Vec<Option<[u8; 32]>>,
    /// Round-2 commitments.
    pub commitments: Vec<hanpyo_crypto::threshold::DealerCommitment>,
    /// Round-3 shares.
    pub shares: Vec<hanpyo_crypto::threshold::EncryptedShare>,
    /// Complaints.
    pub complaints: Vec<hanpyo_crypto::threshold::Complaint>,
    /// Key confirmations `(trustee, dealers whose shares it checked)`.
    pub confirmations: Vec<(u32, Vec<u32>)>,
    /// The administrator stopped waiting for missing digests (until the first commitment, which
    /// closes the round for good, this lives only in memory).
    pub digests_closed: bool,
    /// The published tally `(counted, ciphertexts)`.
    pub tally: Option<(u64, Vec<Vec<Ciphertext>>)>,
    /// Valid partial decryptions `(trustee, D[q][c])`.
    pub partials: Vec<(u32, Vec<Vec<hanpyo_crypto::group::Element>>)>,
    /// The mix-net of ranked questions (from the tally on, when the manifest has any).
    pub mix: Option<Mix>,
    /// Per trustee, the parts of a shuffle or decryption it is sending: held in memory until
    /// the last arrives and the whole is checked, then committed together (a refused payload
    /// never reaches the log).
    pub staged: Staging,
    /// The ranked questions' counts the publish action just computed, for its result entry (a
    /// restart's replay computes them again).
    pub counted: Option<Vec<Option<RankedCount>>>,
}

/// The election's public parameters (immutable once open).
#[derive(Clone, Debug)]
pub struct Parameters {
    /// Manifest.
    pub manifest: Manifest,
    /// Manifest entry bytes.
    pub manifest_entry: Vec<u8>,
    /// Manifest hash.
    pub manifest_hash: Hash,
    /// Decoding shapes.
    pub shapes: Shapes,
    /// Joint key.
    pub joint_key: Option<PublicKey>,
    /// Proof context (once the key exists).
    pub ctx: Option<ProofContext>,
    /// Trustees' verification keys `Y_j` (once the key exists).
    pub verification_keys: Vec<hanpyo_crypto::group::Element>,
}

/// A published result entry's contents.
#[derive(Clone, Debug)]
pub struct Published {
    /// The trustees whose shares were combined.
    pub trustees: Vec<u32>,
    /// `[question][choice]` counts.
    pub counts: Vec<Vec<u64>>,
    /// Credentials listed and ballots counted.
    pub turnout: Turnout,
    /// Each question's outcome under its decision rule (a ranked question's: its count's).
    pub outcomes: Vec<Outcome>,
    /// Per question, a ranked question's count (rounds, pairwise preferences).
    pub ranked: Vec<Option<RankedCount>>,
}

/// The mutable state.
#[derive(Debug)]
pub struct ElectionState {
    /// Parameters.
    pub params: Parameters,
    /// Phase.
    pub phase: Phase,
    /// Sorted public credentials.
    pub credentials: Vec<[u8; 32]>,
    /// Per credential: 1 + index of its last ballot entry, or 0.
    pub last_ballot: Vec<u64>,
    /// Credentials with a ballot (voters), kept as ballots arrive: every page asks for it, and
    /// counting `last_ballot` would cost a pass over the roll each time.
    voters: u64,
    /// Hashes of every ballot received (replay detection), including those being committed.
    pub seen: HashSet<Hash>,
    /// The `α` of every ciphertext an audit opened (including audits being committed) → the
    /// audit's hash: no cast ballot may reuse one.
    pub audited_alphas: HashMap<[u8; 32], Hash>,
    /// The running encrypted tally of the counted ballots.
    pub sums: RunningTally,
    /// Ballot entries in the ledger.
    pub ballots: u64,
    /// Audited ballots in the ledger.
    pub audited: u64,
    /// The ceremony and decryption transcript.
    pub ceremony: Ceremony,
    /// The published result entry's contents.
    pub result: Option<Published>,
    /// Turnout over time since this process started: `(unix minute, voters then)`.
    pub turnout: Vec<(u64, u64)>,
}

/// A ballot checked statelessly, ready to be admitted.
#[derive(Debug)]
pub struct CheckedBallot {
    /// The entry bytes.
    pub bytes: Vec<u8>,
    /// Its leaf hash.
    pub hash: Hash,
    /// Ballot or audited ballot.
    pub kind: Kind,
    /// Its credential (a ballot's; an audit has none).
    pub credential: Option<[u8; 32]>,
    /// `[question][choice]` ciphertexts (what a ballot adds to the tally, or an audit opened).
    pub ciphertexts: Vec<Vec<Ciphertext>>,
}

impl ElectionState {
    /// The state of an election whose log holds only its manifest entry.
    pub fn new(manifest_entry: Vec<u8>) -> Result<Self, String> {
        let Ok(Entry::Manifest(m)) = Entry::decode(&manifest_entry, None) else {
            return Err("the ledger does not start with a manifest".into());
        };
        let shapes = Shapes::of(&m);
        let manifest_hash = leaf_hash(&manifest_entry);
        let sums = RunningTally::new(&shapes.specs);
        let mut st = Self {
            params: Parameters {
                manifest: *m,
                manifest_entry,
                manifest_hash,
                shapes,
                joint_key: None,
                ctx: None,
                verification_keys: Vec::new(),
            },
            phase: Phase::Ceremony,
            credentials: Vec::new(),
            last_ballot: Vec::new(),
            voters: 0,
            seen: HashSet::new(),
            audited_alphas: HashMap::new(),
            sums,
            ballots: 0,
            audited: 0,
            ceremony: Ceremony::default(),
            result: None,
            turnout: Vec::new(),
        };
        let n = st.params.manifest.trustees as usize;
        st.ceremony.registrations = vec![None; n];
        st.ceremony.digests = vec![None; n];
        Ok(st)
    }

    /// Rebuilds the state from the ledger's entries.
    pub fn rebuild(ledger: &Ledger) -> Result<Self, String> {
        let mut st = Self::new(ledger.entry(0).map_err(|e| e.to_string())?)?;
        let size = ledger.size();
        let mut start = 1;
        while start < size {
            let end = (start + 1000).min(size);
            let entries = ledger.entries(start, end).map_err(|e| e.to_string())?;
            for (i, bytes) in entries.iter().enumerate() {
                st.replay(ledger, start + i as u64, bytes)?;
            }
            start = end;
        }
        st.note_turnout();
        Ok(st)
    }

    /// Takes the committed entry `index` of `log` (after the manifest) into the state, as the
    /// server did when it committed it: a server replays its own ledger on start, a mirror each
    /// entry it copies.
    pub fn replay<L: PublicLog + ?Sized>(
        &mut self,
        log: &L,
        index: u64,
        bytes: &[u8],
    ) -> Result<(), String> {
        let e = Entry::decode(bytes, Some(&self.params.shapes))
            .map_err(|e| format!("entry {index}: {e}"))?;
        match e {
            Entry::Ballot(b) => {
                let c = CheckedBallot {
                    hash: leaf_hash(bytes),
                    kind: Kind::Ballot,
                    credential: Some(*b.credential.as_bytes()),
                    ciphertexts: b.ciphertexts(),
                    bytes: Vec::new(),
                };
                self.seen.insert(c.hash);
                self.phase = Phase::Open;
                self.apply(log, index, &c)?;
            }
            Entry::AuditedBallot(a) => {
                let hash = leaf_hash(bytes);
                self.seen.insert(hash);
                self.reserve_alphas(&a.ciphertexts, hash);
                self.phase = Phase::Open;
                self.audited += 1;
            }
            other => self.record(log, bytes, other)?,
        }
        Ok(())
    }

    /// The mix-net's first input: each counted ballot's row of ranked ciphertexts, in entry order.
    pub fn counted_rows<L: PublicLog + ?Sized>(
        &self,
        log: &L,
        rows: &Rows,
    ) -> Result<Vec<Vec<Ciphertext>>, String> {
        let mut indices: Vec<u64> = self
            .last_ballot
            .iter()
            .filter(|&&l| l > 0)
            .map(|l| l - 1)
            .collect();
        indices.sort_unstable();
        indices
            .into_iter()
            .map(|i| {
                let bytes = log.entry(i).map_err(|e| e.to_string())?;
                match Entry::decode(&bytes, Some(&self.params.shapes)) {
                    Ok(Entry::Ballot(b)) => Ok(rows.of_ballot(&b)),
                    _ => Err(format!("entry {i} is not a ballot")),
                }
            })
            .collect()
    }

    /// The index of `credential`'s last ballot so far, if it cast one.
    pub fn last_ballot_of(&self, credential: &[u8]) -> Option<u64> {
        self.credentials
            .binary_search_by(|c| c.as_slice().cmp(credential))
            .ok()
            .and_then(|pos| self.last_ballot.get(pos).copied())
            .filter(|&last| last > 0)
            .map(|last| last - 1)
    }

    /// The index of the ballot that replaced the ballot at `index` cast with `credential` (the
    /// credential's last ballot, when it is a later one).
    pub fn later_ballot(&self, credential: &[u8], index: u64) -> Option<u64> {
        self.last_ballot_of(credential).filter(|&last| last > index)
    }

    /// The turnout a result entry states: the credentials listed, and `voted` (the tally's count).
    pub fn result_turnout(&self, voted: u64) -> Turnout {
        Turnout {
            eligible: self.credentials.len() as u64,
            voted,
        }
    }

    /// Takes a committed non-ballot entry (`bytes`, decoded `e`) of `log` into the state.
    pub fn record<L: PublicLog + ?Sized>(
        &mut self,
        log: &L,
        bytes: &[u8],
        e: Entry,
    ) -> Result<(), String> {
        if let Entry::EncryptedTally { .. } = &e {
            let rows = Rows::of(&self.params.manifest);
            if rows.any() {
                let initial = self.counted_rows(log, &rows)?;
                self.ceremony.mix = Some(Mix::new(rows, initial, leaf_hash(bytes)));
            }
        }
        let c = &mut self.ceremony;
        match e {
            Entry::TrusteeRegistration { index, key, .. } => {
                if let Some(slot) = c.registrations.get_mut((index as usize).wrapping_sub(1)) {
                    *slot = Some(key);
                }
            }
            Entry::Ceremony(m, _) => match *m {
                CeremonyMessage::Digest { dealer, digest } => {
                    if let Some(slot) = c.digests.get_mut((dealer as usize).wrapping_sub(1)) {
                        *slot = Some(digest);
                    }
                }
                CeremonyMessage::Commitment(x) => c.commitments.push(x),
                CeremonyMessage::Share(x) => c.shares.push(x),
                CeremonyMessage::Complaint(x) => c.complaints.push(x),
                CeremonyMessage::Confirmation { trustee, dealers } => {
                    c.confirmations.push((trustee, dealers))
                }
            },
            Entry::JointKey {
                key,
                verification_keys,
                ..
            } => {
                self.params.verification_keys = verification_keys;
                self.params.ctx = Some(election_context(&self.params.manifest_hash, &key));
                self.params.joint_key = Some(key);
                self.phase = Phase::Credentials;
            }
            Entry::CredentialList(list) => {
                self.credentials.extend(list.iter().map(|c| *c.as_bytes()));
                self.last_ballot.resize(self.credentials.len(), 0);
            }
            Entry::Close => self.phase = Phase::Closed,
            Entry::EncryptedTally { counted, tally } => {
                c.tally = Some((counted, tally));
                self.phase = Phase::Tallied;
            }
            Entry::PartialDecryption { trustee, shares } => {
                c.partials.push((
                    trustee,
                    shares
                        .into_iter()
                        .map(|r| r.into_iter().map(|(d, _)| d).collect())
                        .collect(),
                ));
            }
            Entry::Shuffle(_) | Entry::BallotDecryption(_) => {
                // Checked before it was committed (or by the log's own server): only applied. One
                // that cannot be (a broken log) is reported, and never stops the server's start.
                if let Some(mix) = &mut c.mix
                    && let Err(why) = mix.take(&e, None)
                {
                    tracing::error!(error = %why, "a mix-net entry of the log could not be applied");
                }
            }
            Entry::Result {
                trustees,
                counts,
                turnout,
                outcomes,
            } => {
                let ranked = match (c.counted.take(), &c.mix) {
                    (Some(counted), _) => counted,
                    (None, Some(mix)) => {
                        let params = self
                            .params
                            .manifest
                            .threshold_params()
                            .map_err(|e| e.to_string())?;
                        // A log whose mix cannot be counted is reported; the server still starts.
                        mix.counted(&self.params.manifest, &params)
                            .map(|c| c.counts)
                            .unwrap_or_else(|why| {
                                tracing::error!(error = %why, "the log's ranked questions cannot be counted");
                                vec![None; counts.len()]
                            })
                    }
                    (None, None) => vec![None; counts.len()],
                };
                c.staged.clear();
                self.result = Some(Published {
                    trustees,
                    counts,
                    turnout,
                    outcomes,
                    ranked,
                });
                self.phase = Phase::Published;
            }
            Entry::Manifest(_) | Entry::Ballot(_) | Entry::AuditedBallot(_) => {}
        }
        Ok(())
    }

    /// Decodes and verifies a submitted ballot (no state needed: run it off the async runtime).
    pub fn check(params: &Parameters, bytes: Vec<u8>) -> Result<CheckedBallot, ApiError> {
        let mut r = Self::check_batch(vec![(params, bytes)]);
        r.pop().unwrap_or_else(|| Err(ApiError::internal()))
    }

    /// Decodes and verifies many submitted ballots at once: their signatures and proofs in one
    /// random-weight batch (bisected to name the bad ones), so concurrent voters share the cost.
    pub fn check_batch(jobs: Vec<(&Parameters, Vec<u8>)>) -> Vec<Result<CheckedBallot, ApiError>> {
        let mut out: Vec<Option<Result<CheckedBallot, ApiError>>> = Vec::with_capacity(jobs.len());
        let mut decoded = Vec::with_capacity(jobs.len());
        for (k, (params, bytes)) in jobs.into_iter().enumerate() {
            match Self::decode(params, &bytes) {
                Ok((kind, entry)) => {
                    decoded.push((k, params, kind, entry, bytes));
                    out.push(None);
                }
                Err(e) => out.push(Some(Err(e))),
            }
        }
        let items: Vec<Item<'_>> = decoded
            .iter()
            .filter_map(|(_, p, _, e, _)| {
                let (Some(pk), Some(ctx)) = (&p.joint_key, &p.ctx) else {
                    return None;
                };
                match e {
                    Entry::Ballot(b) => Some(Item {
                        ballot: b,
                        ctx,
                        pk,
                        specs: &p.shapes.specs,
                    }),
                    _ => None,
                }
            })
            .collect();
        let bad: Vec<usize> = match hanpyo_crypto::batch::verify_batch(&items) {
            Ok(()) => Vec::new(),
            Err(hanpyo_crypto::ProofError::BatchFailed(b)) => b,
            Err(_) => (0..items.len()).collect(),
        };
        drop(items);
        for (n, (k, params, kind, entry, bytes)) in decoded.into_iter().enumerate() {
            let r = if bad.contains(&n) {
                Err(ApiError::bad_proof())
            } else {
                Self::finish(params, kind, &entry, bytes)
            };
            out[k] = Some(r);
        }
        out.into_iter()
            .map(|r| r.unwrap_or_else(|| Err(ApiError::internal())))
            .collect()
    }

    /// Decodes a ballot that another node of the deployment checked (signature and proofs) before
    /// handing it to this node's sequencer through the database: they are not checked again; an
    /// audit's opening is.
    pub fn check_forwarded(params: &Parameters, bytes: Vec<u8>) -> Result<CheckedBallot, ApiError> {
        let (kind, entry) = Self::decode(params, &bytes)?;
        Self::finish(params, kind, &entry, bytes)
    }

    fn decode(params: &Parameters, bytes: &[u8]) -> Result<(Kind, Entry), ApiError> {
        let kind = Kind::of(bytes).map_err(|e| ApiError::malformed(e.to_string()))?;
        if !matches!(kind, Kind::Ballot | Kind::AuditedBallot) {
            return Err(ApiError::malformed(
                "only ballot and audited-ballot entries may be submitted",
            ));
        }
        if params.joint_key.is_none() || params.ctx.is_none() {
            return Err(ApiError::closed());
        }
        let entry = Entry::decode(bytes, Some(&params.shapes))
            .map_err(|e| ApiError::malformed(e.to_string()))?;
        Ok((kind, entry))
    }

    fn finish(
        params: &Parameters,
        kind: Kind,
        entry: &Entry,
        bytes: Vec<u8>,
    ) -> Result<CheckedBallot, ApiError> {
        let pk = params.joint_key.as_ref().ok_or_else(ApiError::closed)?;
        let (credential, ciphertexts) = match entry {
            Entry::Ballot(b) => (Some(*b.credential.as_bytes()), b.ciphertexts()),
            Entry::AuditedBallot(a) => {
                a.check(pk, &params.shapes.specs)
                    .map_err(|why| ApiError::new(422, "bad-opening", format!("audit: {why}")))?;
                (None, a.ciphertexts.clone())
            }
            _ => return Err(ApiError::malformed("not a ballot")),
        };
        Ok(CheckedBallot {
            hash: leaf_hash(&bytes),
            kind,
            credential,
            ciphertexts,
            bytes,
        })
    }

    /// Admits a checked ballot or audit (phase, eligibility, replay, no reuse of an audited
    /// encryption); reserves its hash and, for an audit, the encryption it opens.
    pub fn admit(&mut self, c: &CheckedBallot) -> Result<(), ApiError> {
        if self.phase != Phase::Open {
            return Err(ApiError::closed());
        }
        if let Some(credential) = &c.credential {
            if self.credentials.binary_search(credential).is_err() {
                return Err(ApiError::not_eligible());
            }
            if c.ciphertexts
                .iter()
                .flatten()
                .any(|ct| self.audited_alphas.contains_key(ct.alpha.as_bytes()))
            {
                return Err(ApiError::audited_encryption());
            }
        }
        if !self.seen.insert(c.hash) {
            return Err(ApiError::replay());
        }
        if c.credential.is_none() {
            self.reserve_alphas(&c.ciphertexts, c.hash);
        }
        Ok(())
    }

    fn reserve_alphas(&mut self, ciphertexts: &[Vec<Ciphertext>], audit: Hash) {
        for ct in ciphertexts.iter().flatten() {
            self.audited_alphas
                .entry(*ct.alpha.as_bytes())
                .or_insert(audit);
        }
    }

    /// Releases what [`Self::admit`] reserved for an entry whose append failed.
    pub fn release(&mut self, hash: &Hash) {
        self.seen.remove(hash);
        if !self.audited_alphas.is_empty() {
            self.audited_alphas.retain(|_, audit| audit != hash);
        }
    }

    /// Applies a committed ballot at `index`: the revote rule and the running tally.
    pub fn apply<L: PublicLog + ?Sized>(
        &mut self,
        log: &L,
        index: u64,
        c: &CheckedBallot,
    ) -> Result<(), String> {
        if c.kind == Kind::AuditedBallot {
            self.audited += 1;
            return Ok(());
        }
        let pos = c
            .credential
            .and_then(|cred| self.credentials.binary_search(&cred).ok())
            .ok_or(())
            .map_err(|_| "ballot with an unlisted credential in the ledger".to_string())?;
        self.ballots += 1;
        let prev = std::mem::replace(&mut self.last_ballot[pos], index + 1);
        if prev == 0 {
            self.voters += 1;
        } else {
            let old = log.entry(prev - 1).map_err(|e| e.to_string())?;
            if let Ok(Entry::Ballot(b)) = Entry::decode(&old, Some(&self.params.shapes)) {
                self.sums.subtract(&b.ciphertexts());
            }
        }
        self.sums.add(&c.ciphertexts);
        Ok(())
    }

    /// Samples the number of voters for the turnout chart: one point per minute, at most a week's.
    pub fn note_turnout(&mut self) {
        const MAX_POINTS: usize = 7 * 24 * 60;
        let minute = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() / 60)
            .unwrap_or(0);
        match self.turnout.last_mut() {
            Some((m, n)) if *m == minute => *n = self.voters,
            _ => {
                if self.turnout.len() == MAX_POINTS {
                    self.turnout.remove(0);
                }
                self.turnout.push((minute, self.voters));
            }
        }
    }

    /// The encrypted tally now.
    pub fn tally(&self) -> Vec<Vec<Ciphertext>> {
        self.sums.ciphertexts()
    }

    /// Ballots counted (credentials with a ballot).
    pub fn counted(&self) -> u64 {
        self.voters
    }

    /// The contest shapes.
    pub fn specs(&self) -> &[ContestSpec] {
        &self.params.shapes.specs
    }
}

/// A ballot queued for batch verification.
struct Item<'a> {
    ballot: &'a hanpyo_record::entry::Ballot,
    ctx: &'a ProofContext,
    pk: &'a PublicKey,
    specs: &'a [ContestSpec],
}

impl hanpyo_crypto::batch::Verifiable for Item<'_> {
    fn queue(
        &self,
        batch: &mut hanpyo_crypto::batch::BatchVerifier,
    ) -> Result<(), hanpyo_crypto::ProofError> {
        self.ballot.queue(self.ctx, self.pk, self.specs, batch)
    }
}
