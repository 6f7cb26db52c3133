//! Record entries and their canonical encoding: `u8(FORMAT_VERSION) ‖ u8(kind) ‖ body`.
//!
//! Entries that carry ballots or tallies are decoded against the election's manifest (which fixes
//! every length), so each value has exactly one encoding. `docs/record-format.md` gives every body
//! byte for byte.
use hanpyo_crypto::ballot::{ContestOpening, ContestSpec, EncryptedContest};
use hanpyo_crypto::credential::PublicCredential;
use hanpyo_crypto::elgamal::{Ciphertext, Nonce, PublicKey, SecretKey};
use hanpyo_crypto::group::Element;
use hanpyo_crypto::proofs::chaum_pedersen::ChaumPedersenProof;
use hanpyo_crypto::proofs::labels;
use hanpyo_crypto::proofs::schnorr::SchnorrProof;
use hanpyo_crypto::threshold::{Complaint, DealerCommitment, EncryptedShare, MAX_TRUSTEES};
use hanpyo_crypto::transcript::{NO_POSITION, ProofContext};
use hanpyo_ledger::merkle::{Hash, leaf_hash};
use sha2::{Digest, Sha512};

use crate::decision::{Outcome, Turnout};
use crate::encoding::{Reader, Writer};
use crate::error::RecordError;
use crate::manifest::Manifest;
use crate::mixing::Part;

/// Version byte that starts every entry.
pub const FORMAT_VERSION: u8 = 2;
/// Largest entry accepted (a credential list chunk of 100,000 is 3.2 MB).
pub const MAX_ENTRY_LEN: usize = hanpyo_ledger::export::MAX_ENTRY_LEN;
/// Most public credentials in one list entry.
pub const MAX_CREDENTIALS_PER_ENTRY: usize = 100_000;

/// Entry kinds, in the order they may appear in a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The manifest (first entry).
    Manifest = 1,
    /// A trustee's communication key with proof of possession.
    TrusteeRegistration = 2,
    /// DKG round 1: commitment digest (signed by the dealer).
    CeremonyDigest = 3,
    /// DKG round 2: Feldman commitments (signed by the dealer).
    CeremonyCommitment = 4,
    /// DKG round 3: an encrypted share (signed by the dealer).
    CeremonyShare = 5,
    /// DKG round 4: a complaint (signed by the accuser).
    CeremonyComplaint = 6,
    /// The joint key and verification keys.
    JointKey = 7,
    /// A chunk of the sorted public credential list.
    CredentialList = 8,
    /// A cast ballot.
    Ballot = 9,
    /// A Benaloh-audited (spoiled) encryption, never counted: ciphertexts and their openings only.
    AuditedBallot = 10,
    /// Voting closed.
    Close = 11,
    /// The homomorphic tally of the counted ballots.
    EncryptedTally = 12,
    /// One trustee's partial decryption of the tally.
    PartialDecryption = 13,
    /// The decrypted result.
    Result = 14,
    /// A trustee confirms that the shares it holds from the dealers it lists check out (signed).
    KeyConfirmation = 15,
    /// Part of a trustee's shuffle of the ranked questions' rows (after the tally).
    Shuffle = 16,
    /// Part of a trustee's decryption shares of the mixed rows.
    BallotDecryption = 17,
}

impl Kind {
    fn from_u8(b: u8) -> Result<Self, RecordError> {
        Ok(match b {
            1 => Kind::Manifest,
            2 => Kind::TrusteeRegistration,
            3 => Kind::CeremonyDigest,
            4 => Kind::CeremonyCommitment,
            5 => Kind::CeremonyShare,
            6 => Kind::CeremonyComplaint,
            7 => Kind::JointKey,
            8 => Kind::CredentialList,
            9 => Kind::Ballot,
            10 => Kind::AuditedBallot,
            11 => Kind::Close,
            12 => Kind::EncryptedTally,
            13 => Kind::PartialDecryption,
            14 => Kind::Result,
            15 => Kind::KeyConfirmation,
            16 => Kind::Shuffle,
            17 => Kind::BallotDecryption,
            other => return Err(RecordError::Invalid("entry kind", other.to_string())),
        })
    }

    /// The kind of an encoded entry, from its header.
    pub fn of(entry: &[u8]) -> Result<Self, RecordError> {
        match entry {
            [FORMAT_VERSION, k, ..] => Self::from_u8(*k),
            [v, ..] if *v != FORMAT_VERSION => {
                Err(RecordError::Invalid("format version", v.to_string()))
            }
            _ => Err(RecordError::Truncated),
        }
    }
}

/// A cast ballot: the voter's public credential, one encrypted contest per question, and the
/// credential's signature over [`Ballot::signed_message`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ballot {
    /// The public credential `S`.
    pub credential: PublicCredential,
    /// One per question.
    pub contests: Vec<EncryptedContest>,
    /// Schnorr signature by `s`.
    pub signature: SchnorrProof,
}

impl Ballot {
    /// `SHA-512("hanpyo-ballot-v1" ‖ S ‖ contest bytes…)`: what the credential signs.
    pub fn signed_message(&self) -> [u8; 64] {
        Self::message(&self.credential, &self.contests)
    }

    /// The ciphertexts `[question][choice]` (what the tally sums).
    pub fn ciphertexts(&self) -> Vec<Vec<Ciphertext>> {
        self.contests
            .iter()
            .map(|c| c.selections.iter().map(|s| s.ciphertext).collect())
            .collect()
    }

    /// The message a ballot with this credential and these contests is signed over.
    pub fn message(credential: &PublicCredential, contests: &[EncryptedContest]) -> [u8; 64] {
        let mut h = Sha512::new();
        h.update(b"hanpyo-ballot-v1");
        h.update(credential.as_bytes());
        for c in contests {
            h.update(c.to_bytes());
        }
        h.finalize().into()
    }

    /// Queues the signature and every proof of this ballot (contests bound to its credential).
    pub fn queue(
        &self,
        ctx: &hanpyo_crypto::transcript::ProofContext,
        pk: &PublicKey,
        specs: &[ContestSpec],
        batch: &mut hanpyo_crypto::batch::BatchVerifier,
    ) -> Result<(), hanpyo_crypto::ProofError> {
        if self.contests.len() != specs.len() {
            return Err(hanpyo_crypto::ProofError::Shape("ballot"));
        }
        let bound = ctx.bound_to(*self.credential.as_bytes());
        for (c, s) in self.contests.iter().zip(specs) {
            c.queue(&bound, pk, s, batch)?;
        }
        self.credential
            .queue(ctx, &self.signed_message(), &self.signature, batch);
        Ok(())
    }

    /// Verifies this ballot on its own.
    pub fn verify(
        &self,
        ctx: &hanpyo_crypto::transcript::ProofContext,
        pk: &PublicKey,
        specs: &[ContestSpec],
    ) -> Result<(), hanpyo_crypto::ProofError> {
        let mut b = hanpyo_crypto::batch::BatchVerifier::new();
        self.queue(ctx, pk, specs, &mut b)?;
        b.verify()
            .then_some(())
            .ok_or(hanpyo_crypto::ProofError::Invalid("ballot"))
    }

    fn encode(&self, w: &mut Writer) {
        w.raw(self.credential.as_bytes());
        for c in &self.contests {
            w.raw(&c.to_bytes());
        }
        w.raw(&self.signature.to_bytes());
    }

    fn decode(r: &mut Reader<'_>, specs: &[ContestSpec]) -> Result<Self, RecordError> {
        let credential = PublicCredential::decode(r.raw(32)?)?;
        let contests = specs
            .iter()
            .map(|s| Ok(EncryptedContest::decode(r.raw(s.encoded_len())?, s)?))
            .collect::<Result<_, RecordError>>()?;
        let signature = SchnorrProof::decode(r.raw(64)?)?;
        Ok(Self {
            credential,
            contests,
            signature,
        })
    }
}

/// A Benaloh audit: the ciphertexts of an encryption the voter chose not to cast, with their
/// openings (plaintext bit and nonce of each). It carries no credential, no signature and no proof,
/// so it says nothing about who audited, and nothing in it can be signed into a countable ballot:
/// a ballot is valid only with a credential's signature, and the verifier fails a record in which
/// a ballot reuses a ciphertext that an earlier audit opened.
#[derive(Clone, Debug)]
pub struct AuditedBallot {
    /// `[question][choice]`.
    pub ciphertexts: Vec<Vec<Ciphertext>>,
    /// One per question: the selection bits and the nonces.
    pub openings: Vec<ContestOpening>,
}

impl AuditedBallot {
    /// The audit of `ballot`'s encryption, given its openings.
    pub fn of(ballot: &Ballot, openings: Vec<ContestOpening>) -> Self {
        Self {
            ciphertexts: ballot.ciphertexts(),
            openings,
        }
    }

    /// Checks the audit against the election key and the questions' shapes: every opening
    /// re-encrypts to its ciphertext (`α = r·G`, `β = m·G + r·K`), each value is within its limit
    /// and each group of values sums to a number in `[min, max]`. Answers the values per question
    /// ([`crate::question::Question::answer_of`] reads them as the voter's answer).
    pub fn check(&self, pk: &PublicKey, specs: &[ContestSpec]) -> Result<Vec<Vec<u8>>, String> {
        if self.ciphertexts.len() != specs.len() || self.openings.len() != specs.len() {
            return Err("one opening per question is required".into());
        }
        let mut values = Vec::with_capacity(specs.len());
        for (q, ((cts, o), s)) in self
            .ciphertexts
            .iter()
            .zip(&self.openings)
            .zip(specs)
            .enumerate()
        {
            if cts.len() != s.choices as usize
                || o.values.len() != cts.len()
                || o.nonces.len() != cts.len()
            {
                return Err(format!("question {q}: one opening per choice is required"));
            }
            for (j, ((ct, &m), r)) in cts.iter().zip(&o.values).zip(&o.nonces).enumerate() {
                if u32::from(m) > s.value_max || pk.encrypt_with_nonce(u64::from(m), r) != *ct {
                    return Err(format!(
                        "question {q} choice {j}: the opening does not re-encrypt to the ciphertext"
                    ));
                }
            }
            if let Err(e) = s.proven_sums(&o.values) {
                return Err(format!("question {q}: {e}"));
            }
            values.push(o.values.clone());
        }
        Ok(values)
    }

    fn encode(&self, w: &mut Writer) {
        for (cts, o) in self.ciphertexts.iter().zip(&self.openings) {
            for ct in cts {
                w.raw(&ct.to_bytes());
            }
            for v in &o.values {
                w.u8(*v);
            }
            for n in &o.nonces {
                w.scalar(n.as_scalar());
            }
        }
    }

    fn decode(r: &mut Reader<'_>, specs: &[ContestSpec]) -> Result<Self, RecordError> {
        let mut ciphertexts = Vec::with_capacity(specs.len());
        let mut openings = Vec::with_capacity(specs.len());
        for s in specs {
            let cts = (0..s.choices)
                .map(|_| Ok(Ciphertext::decode(r.raw(64)?)?))
                .collect::<Result<Vec<_>, RecordError>>()?;
            let values = r.raw(s.choices as usize)?.to_vec();
            if values.iter().any(|&v| u32::from(v) > s.value_max) {
                return Err(RecordError::Invalid(
                    "audited selection",
                    format!("above {}", s.value_max),
                ));
            }
            let nonces = (0..s.choices)
                .map(|_| Ok(Nonce::from_scalar(r.scalar()?)))
                .collect::<Result<_, RecordError>>()?;
            ciphertexts.push(cts);
            openings.push(ContestOpening { values, nonces });
        }
        Ok(Self {
            ciphertexts,
            openings,
        })
    }
}

/// A key-ceremony message: what a trustee sends in the DKG (protocol.md §6). Each is signed by its
/// sender with its registered communication key (label `ceremony-entry`, ceremony context at
/// position `(sender, 0xFFFFFFFF)`, over [`CeremonyMessage::signed_message`]), so nobody — not the
/// operator either — can post one in a trustee's name.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // boxed in `Entry::Ceremony`; a handful per trustee
pub enum CeremonyMessage {
    /// Round 1: dealer `dealer`'s commitment digest.
    Digest {
        /// Dealer index.
        dealer: u32,
        /// Commitment digest.
        digest: [u8; 32],
    },
    /// Round 2: the revealed Feldman commitments.
    Commitment(DealerCommitment),
    /// Round 3: an encrypted share.
    Share(EncryptedShare),
    /// A complaint against a bad share (at any time once the share is public).
    Complaint(Complaint),
    /// Trustee `trustee` holds valid shares (checked against their commitments) from `dealers`
    /// (ascending; its own index when it dealt): its key share for any `QUAL ⊆ dealers` is sound.
    Confirmation {
        /// The confirming trustee.
        trustee: u32,
        /// The dealers whose shares it checked, strictly ascending.
        dealers: Vec<u32>,
    },
}

impl CeremonyMessage {
    /// The entry kind.
    pub fn kind(&self) -> Kind {
        match self {
            CeremonyMessage::Digest { .. } => Kind::CeremonyDigest,
            CeremonyMessage::Commitment(_) => Kind::CeremonyCommitment,
            CeremonyMessage::Share(_) => Kind::CeremonyShare,
            CeremonyMessage::Complaint(_) => Kind::CeremonyComplaint,
            CeremonyMessage::Confirmation { .. } => Kind::KeyConfirmation,
        }
    }

    /// The trustee who sends (and signs) it: the dealer, the accuser or the confirming trustee.
    pub fn sender(&self) -> u32 {
        match self {
            CeremonyMessage::Digest { dealer, .. } => *dealer,
            CeremonyMessage::Commitment(c) => c.dealer,
            CeremonyMessage::Share(s) => s.dealer,
            CeremonyMessage::Complaint(c) => c.accuser,
            CeremonyMessage::Confirmation { trustee, .. } => *trustee,
        }
    }

    fn encode_body(&self, w: &mut Writer) {
        match self {
            CeremonyMessage::Digest { dealer, digest } => {
                w.u32(*dealer).raw(digest);
            }
            CeremonyMessage::Commitment(c) => {
                w.u32(c.dealer).u32(c.coefficients.len() as u32);
                for (p, proof) in c.coefficients.iter().zip(&c.proofs) {
                    w.point(p).raw(&proof.to_bytes());
                }
            }
            CeremonyMessage::Share(s) => {
                w.u32(s.dealer)
                    .u32(s.recipient)
                    .point(&s.ephemeral)
                    .bytes(&s.ciphertext);
            }
            CeremonyMessage::Complaint(c) => {
                w.u32(c.accuser)
                    .u32(c.accused)
                    .point(&c.dh)
                    .raw(&c.proof.to_bytes());
            }
            CeremonyMessage::Confirmation { trustee, dealers } => {
                w.u32(*trustee).u32(dealers.len() as u32);
                for d in dealers {
                    w.u32(*d);
                }
            }
        }
    }

    fn decode(kind: Kind, r: &mut Reader<'_>, n: u32) -> Result<Self, RecordError> {
        Ok(match kind {
            Kind::CeremonyDigest => CeremonyMessage::Digest {
                dealer: read_trustee(r, n)?,
                digest: r.array()?,
            },
            Kind::CeremonyCommitment => {
                let dealer = read_trustee(r, n)?;
                let t = r.count(MAX_TRUSTEES as usize, "coefficients")?;
                let mut coefficients = Vec::with_capacity(t);
                let mut proofs = Vec::with_capacity(t);
                for _ in 0..t {
                    coefficients.push(r.point()?);
                    proofs.push(SchnorrProof::decode(r.raw(64)?)?);
                }
                CeremonyMessage::Commitment(DealerCommitment {
                    dealer,
                    coefficients,
                    proofs,
                })
            }
            Kind::CeremonyShare => CeremonyMessage::Share(EncryptedShare {
                dealer: read_trustee(r, n)?,
                recipient: read_trustee(r, n)?,
                ephemeral: r.nonidentity_point()?,
                ciphertext: r.bytes(48, "share ciphertext")?.to_vec(),
            }),
            Kind::CeremonyComplaint => CeremonyMessage::Complaint(Complaint {
                accuser: read_trustee(r, n)?,
                accused: read_trustee(r, n)?,
                dh: r.point()?,
                proof: ChaumPedersenProof::decode(r.raw(96)?)?,
            }),
            Kind::KeyConfirmation => {
                let trustee = read_trustee(r, n)?;
                let count = r.count(n as usize, "confirmed dealers")?;
                let dealers: Vec<u32> = (0..count)
                    .map(|_| read_trustee(r, n))
                    .collect::<Result<_, _>>()?;
                if dealers.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(RecordError::Invalid(
                        "confirmed dealers",
                        "not strictly ascending".into(),
                    ));
                }
                CeremonyMessage::Confirmation { trustee, dealers }
            }
            _ => {
                return Err(RecordError::Invalid(
                    "entry kind",
                    "not a ceremony message".into(),
                ));
            }
        })
    }

    /// What the sender signs: `u8(FORMAT_VERSION) ‖ u8(kind) ‖ body` — the entry without its
    /// trailing signature.
    pub fn signed_message(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(FORMAT_VERSION).u8(self.kind() as u8);
        self.encode_body(&mut w);
        w.into_bytes()
    }

    /// Signs with the sender's communication secret `x` (`P = x·G` registered for the sender) in the
    /// ceremony context; the signed entry.
    pub fn sign_with_rng<R: rand_core::CryptoRng + ?Sized>(
        self,
        ceremony: &ProofContext,
        secret: &SecretKey,
        rng: &mut R,
    ) -> Entry {
        let signature = SchnorrProof::prove_with_rng(
            labels::CEREMONY_ENTRY,
            &ceremony.at(self.sender(), NO_POSITION),
            secret.as_scalar(),
            secret.public_key().element(),
            &self.signed_message(),
            rng,
        );
        Entry::Ceremony(Box::new(self), signature)
    }

    /// Checks `signature` by the sender's registered communication key `key`.
    pub fn verify_signature(
        &self,
        ceremony: &ProofContext,
        key: &PublicKey,
        signature: &SchnorrProof,
    ) -> Result<(), hanpyo_crypto::ProofError> {
        signature.verify(
            labels::CEREMONY_ENTRY,
            &ceremony.at(self.sender(), NO_POSITION),
            key.element(),
            &self.signed_message(),
        )
    }
}

/// One decryption share with its proof.
pub type DecryptionShare = (Element, ChaumPedersenProof);

/// A record entry.
#[derive(Clone, Debug)]
pub enum Entry {
    /// The manifest.
    Manifest(Box<Manifest>),
    /// Trustee `index`'s communication key, with a `trustee-key` proof of possession.
    TrusteeRegistration {
        /// Trustee index `1..=n`.
        index: u32,
        /// Communication key `P_i`.
        key: PublicKey,
        /// Schnorr proof of knowledge of its secret.
        proof: SchnorrProof,
    },
    /// A key-ceremony message (kinds 3–6 and 15) with its sender's signature.
    Ceremony(Box<CeremonyMessage>, SchnorrProof),
    /// The ceremony's outcome (recomputed by verifiers).
    JointKey {
        /// `K`.
        key: PublicKey,
        /// `QUAL`, ascending.
        qualified: Vec<u32>,
        /// `Y_1..Y_n`.
        verification_keys: Vec<Element>,
    },
    /// A chunk of public credentials, strictly ascending (and above every earlier chunk).
    CredentialList(Vec<PublicCredential>),
    /// A cast ballot.
    Ballot(Box<Ballot>),
    /// A Benaloh audit: ciphertexts and openings, no credential.
    AuditedBallot(Box<AuditedBallot>),
    /// Voting is closed.
    Close,
    /// The tally: number of counted ballots and, per question and choice, the sum of their ciphertexts.
    EncryptedTally {
        /// Counted ballots (each credential's last).
        counted: u64,
        /// `[question][choice]`.
        tally: Vec<Vec<Ciphertext>>,
    },
    /// Trustee `trustee`'s shares `D_j` of every tally ciphertext, with proofs.
    PartialDecryption {
        /// Trustee index.
        trustee: u32,
        /// `[question][choice]`.
        shares: Vec<Vec<DecryptionShare>>,
    },
    /// Part of a trustee's shuffle of the ranked rows ([`crate::mixing`]).
    Shuffle(Part),
    /// Part of a trustee's decryption shares of the last shuffle's rows.
    BallotDecryption(Part),
    /// The result.
    Result {
        /// The trustees whose shares were combined, ascending.
        trustees: Vec<u32>,
        /// `[question][choice]` vote counts.
        counts: Vec<Vec<u64>>,
        /// Credentials listed and ballots counted.
        turnout: Turnout,
        /// Per question, what its decision rule makes of the counts.
        outcomes: Vec<Outcome>,
    },
}

/// The manifest-derived shapes needed to decode ballot and tally entries.
#[derive(Clone, Debug)]
pub struct Shapes {
    /// Per question.
    pub specs: Vec<ContestSpec>,
    /// `n`.
    pub trustees: u32,
}

impl Shapes {
    /// From a manifest.
    pub fn of(m: &Manifest) -> Self {
        Self {
            specs: m.contest_specs(),
            trustees: m.trustees,
        }
    }
}

fn write_matrix<T>(w: &mut Writer, m: &[Vec<T>], mut f: impl FnMut(&mut Writer, &T)) {
    for row in m {
        for v in row {
            f(w, v);
        }
    }
}

fn read_matrix<T>(
    r: &mut Reader<'_>,
    specs: &[ContestSpec],
    mut f: impl FnMut(&mut Reader<'_>) -> Result<T, RecordError>,
) -> Result<Vec<Vec<T>>, RecordError> {
    specs
        .iter()
        .map(|s| (0..s.choices).map(|_| f(r)).collect())
        .collect()
}

fn check_shape<T>(m: &[Vec<T>], specs: &[ContestSpec]) -> bool {
    m.len() == specs.len()
        && m.iter()
            .zip(specs)
            .all(|(row, s)| row.len() == s.choices as usize)
}

fn read_trustee(r: &mut Reader<'_>, n: u32) -> Result<u32, RecordError> {
    let i = r.u32()?;
    if i == 0 || i > n.min(MAX_TRUSTEES) {
        return Err(RecordError::Invalid("trustee index", i.to_string()));
    }
    Ok(i)
}

impl Entry {
    /// The kind.
    pub fn kind(&self) -> Kind {
        match self {
            Entry::Manifest(_) => Kind::Manifest,
            Entry::TrusteeRegistration { .. } => Kind::TrusteeRegistration,
            Entry::Ceremony(m, _) => m.kind(),
            Entry::JointKey { .. } => Kind::JointKey,
            Entry::CredentialList(_) => Kind::CredentialList,
            Entry::Ballot(_) => Kind::Ballot,
            Entry::AuditedBallot(_) => Kind::AuditedBallot,
            Entry::Close => Kind::Close,
            Entry::EncryptedTally { .. } => Kind::EncryptedTally,
            Entry::PartialDecryption { .. } => Kind::PartialDecryption,
            Entry::Shuffle(_) => Kind::Shuffle,
            Entry::BallotDecryption(_) => Kind::BallotDecryption,
            Entry::Result { .. } => Kind::Result,
        }
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(FORMAT_VERSION).u8(self.kind() as u8);
        match self {
            Entry::Manifest(m) => m.encode(&mut w),
            Entry::TrusteeRegistration { index, key, proof } => {
                w.u32(*index).point(key.element()).raw(&proof.to_bytes());
            }
            Entry::Ceremony(m, signature) => {
                m.encode_body(&mut w);
                w.raw(&signature.to_bytes());
            }
            Entry::JointKey {
                key,
                qualified,
                verification_keys,
            } => {
                w.point(key.element()).u32(qualified.len() as u32);
                for q in qualified {
                    w.u32(*q);
                }
                w.u32(verification_keys.len() as u32);
                for y in verification_keys {
                    w.point(y);
                }
            }
            Entry::CredentialList(list) => {
                w.u32(list.len() as u32);
                for c in list {
                    w.raw(c.as_bytes());
                }
            }
            Entry::Ballot(b) => b.encode(&mut w),
            Entry::AuditedBallot(a) => a.encode(&mut w),
            Entry::Close => {}
            Entry::EncryptedTally { counted, tally } => {
                w.u64(*counted);
                write_matrix(&mut w, tally, |w, ct| {
                    w.raw(&ct.to_bytes());
                });
            }
            Entry::PartialDecryption { trustee, shares } => {
                w.u32(*trustee);
                write_matrix(&mut w, shares, |w, (d, proof)| {
                    w.point(d).raw(&proof.to_bytes());
                });
            }
            Entry::Shuffle(p) | Entry::BallotDecryption(p) => p.encode(&mut w),
            Entry::Result {
                trustees,
                counts,
                turnout,
                outcomes,
            } => {
                w.u32(trustees.len() as u32);
                for t in trustees {
                    w.u32(*t);
                }
                write_matrix(&mut w, counts, |w, c| {
                    w.u64(*c);
                });
                w.u64(turnout.eligible).u64(turnout.voted);
                for o in outcomes {
                    o.encode(&mut w);
                }
            }
        }
        w.into_bytes()
    }

    /// Strict decoding. `shapes` is required for every kind but the manifest.
    pub fn decode(bytes: &[u8], shapes: Option<&Shapes>) -> Result<Self, RecordError> {
        if bytes.len() > MAX_ENTRY_LEN {
            return Err(RecordError::TooLarge("entry"));
        }
        let kind = Kind::of(bytes)?;
        let mut r = Reader::new(&bytes[2..]);
        let need = || {
            shapes.ok_or(RecordError::Invalid(
                "entry order",
                "the manifest must come first".into(),
            ))
        };
        let entry = match kind {
            Kind::Manifest => Entry::Manifest(Box::new(Manifest::decode(&mut r)?)),
            Kind::TrusteeRegistration => {
                let n = need()?.trustees;
                Entry::TrusteeRegistration {
                    index: read_trustee(&mut r, n)?,
                    key: PublicKey(r.nonidentity_point()?),
                    proof: SchnorrProof::decode(r.raw(64)?)?,
                }
            }
            Kind::CeremonyDigest
            | Kind::CeremonyCommitment
            | Kind::CeremonyShare
            | Kind::CeremonyComplaint
            | Kind::KeyConfirmation => {
                let message = CeremonyMessage::decode(kind, &mut r, need()?.trustees)?;
                Entry::Ceremony(Box::new(message), SchnorrProof::decode(r.raw(64)?)?)
            }
            Kind::JointKey => {
                let n = need()?.trustees;
                let key = PublicKey(r.nonidentity_point()?);
                let q = r.count(n as usize, "qualified")?;
                let qualified = (0..q)
                    .map(|_| read_trustee(&mut r, n))
                    .collect::<Result<_, _>>()?;
                let y = r.count(n as usize, "verification keys")?;
                let verification_keys = (0..y).map(|_| r.point()).collect::<Result<_, _>>()?;
                Entry::JointKey {
                    key,
                    qualified,
                    verification_keys,
                }
            }
            Kind::CredentialList => {
                need()?;
                let n = r.count(MAX_CREDENTIALS_PER_ENTRY, "credential list")?;
                let list = (0..n)
                    .map(|_| Ok(PublicCredential::decode(r.raw(32)?)?))
                    .collect::<Result<Vec<_>, RecordError>>()?;
                Entry::CredentialList(list)
            }
            Kind::Ballot => Entry::Ballot(Box::new(Ballot::decode(&mut r, &need()?.specs)?)),
            Kind::AuditedBallot => {
                Entry::AuditedBallot(Box::new(AuditedBallot::decode(&mut r, &need()?.specs)?))
            }
            Kind::Close => Entry::Close,
            Kind::EncryptedTally => {
                let specs = &need()?.specs;
                let counted = r.u64()?;
                let tally = read_matrix(&mut r, specs, |r| Ok(Ciphertext::decode(r.raw(64)?)?))?;
                Entry::EncryptedTally { counted, tally }
            }
            Kind::PartialDecryption => {
                let sh = need()?;
                let trustee = read_trustee(&mut r, sh.trustees)?;
                let shares = read_matrix(&mut r, &sh.specs, |r| {
                    Ok((r.point()?, ChaumPedersenProof::decode(r.raw(96)?)?))
                })?;
                Entry::PartialDecryption { trustee, shares }
            }
            Kind::Shuffle | Kind::BallotDecryption => {
                let trustee = read_trustee(&mut r, need()?.trustees)?;
                let part = Part::decode(&mut r, trustee)?;
                if kind == Kind::Shuffle {
                    Entry::Shuffle(part)
                } else {
                    Entry::BallotDecryption(part)
                }
            }
            Kind::Result => {
                let sh = need()?;
                let k = r.count(sh.trustees as usize, "result trustees")?;
                let trustees = (0..k)
                    .map(|_| read_trustee(&mut r, sh.trustees))
                    .collect::<Result<_, _>>()?;
                let counts = read_matrix(&mut r, &sh.specs, |r| r.u64())?;
                let turnout = Turnout {
                    eligible: r.u64()?,
                    voted: r.u64()?,
                };
                let outcomes = sh
                    .specs
                    .iter()
                    .map(|spec| Outcome::decode(&mut r, spec.choices))
                    .collect::<Result<_, _>>()?;
                Entry::Result {
                    trustees,
                    counts,
                    turnout,
                    outcomes,
                }
            }
        };
        r.finish()?;
        Ok(entry)
    }

    /// The result entry: the counts, the turnout they rest on and what each question's decision
    /// rule (or, for a ranked question, its count: `ranked`) makes of them.
    pub fn result(
        manifest: &Manifest,
        trustees: Vec<u32>,
        counts: Vec<Vec<u64>>,
        turnout: Turnout,
        ranked: &[Option<Outcome>],
    ) -> Self {
        let outcomes = Outcome::of_result(
            &crate::manifest::Question::rules(&manifest.questions),
            turnout,
            &counts,
            ranked,
        );
        Entry::Result {
            trustees,
            counts,
            turnout,
            outcomes,
        }
    }

    /// Whether a tally/share/result matrix has the manifest's shape (used when building entries).
    pub fn has_shape(&self, shapes: &Shapes) -> bool {
        match self {
            Entry::EncryptedTally { tally, .. } => check_shape(tally, &shapes.specs),
            Entry::PartialDecryption { shares, .. } => check_shape(shares, &shapes.specs),
            Entry::Result {
                counts, outcomes, ..
            } => check_shape(counts, &shapes.specs) && outcomes.len() == shapes.specs.len(),
            _ => true,
        }
    }
}

/// A ballot's tracking code: its RFC 9162 leaf hash `SHA-256(0x00 ‖ entry)`, so the code a voter
/// keeps is exactly what the ledger's inclusion proof is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TrackingCode(pub Hash);

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl TrackingCode {
    /// The code of an encoded entry.
    pub fn of(entry: &[u8]) -> Self {
        Self(leaf_hash(entry))
    }

    /// The short form shown to people: the first 100 bits in Crockford base32, four groups of five.
    pub fn short(&self) -> String {
        let mut acc: u128 = 0;
        for b in &self.0[..13] {
            acc = (acc << 8) | u128::from(*b);
        }
        acc >>= 4; // 104 → 100 bits
        let mut out = String::with_capacity(23);
        for i in 0..20 {
            if i > 0 && i % 5 == 0 {
                out.push('-');
            }
            let v = (acc >> (5 * (19 - i))) & 31;
            out.push(char::from(CROCKFORD[v as usize]));
        }
        out
    }

    /// Full hex.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The range `[lo, hi]` of leaf hashes whose short form is `short` (as typed: groups and case
    /// do not matter, `I`/`L` read as 1 and `O` as 0), or `None` if it is not 20 Crockford symbols.
    pub fn short_range(short: &str) -> Option<(Hash, Hash)> {
        let mut acc: u128 = 0;
        let mut n = 0;
        for c in short.chars().filter(|c| !matches!(c, '-' | ' ')) {
            let c = match c.to_ascii_uppercase() {
                'I' | 'L' => '1',
                'O' => '0',
                c => c,
            };
            let v = CROCKFORD.iter().position(|&x| char::from(x) == c)?;
            acc = (acc << 5) | v as u128;
            n += 1;
            if n > 20 {
                return None;
            }
        }
        if n != 20 {
            return None;
        }
        // 100 bits: the first 12 bytes and the high nibble of the 13th.
        let bits = (acc << 4).to_be_bytes(); // 104 bits in the low 13 bytes of 16
        let mut lo = [0u8; 32];
        lo[..13].copy_from_slice(&bits[3..16]);
        let mut hi = [0xffu8; 32];
        hi[..13].copy_from_slice(&bits[3..16]);
        hi[12] |= 0x0f;
        Some((lo, hi))
    }
}

#[cfg(test)]
mod tracking_code_tests {
    use super::TrackingCode;

    #[test]
    fn a_short_code_maps_back_to_the_range_of_its_hashes() {
        for seed in 0u8..50 {
            let code = TrackingCode::of(&[seed, 1, 2, 3]);
            let (lo, hi) = TrackingCode::short_range(&code.short()).expect("parses");
            assert!(lo <= code.0 && code.0 <= hi, "{}", code.short());
            // As typed: lower case, no dashes, O for 0 and l for 1.
            let typed = code
                .short()
                .to_lowercase()
                .replace('-', "")
                .replace('0', "o")
                .replace('1', "l");
            assert_eq!(TrackingCode::short_range(&typed), Some((lo, hi)));
            // Only hashes sharing the first 100 bits are in range.
            let mut other = code.0;
            other[12] ^= 0x10;
            assert!(!(lo <= other && other <= hi));
            let mut same = code.0;
            same[12] ^= 0x01;
            same[31] ^= 0xff;
            assert!(lo <= same && same <= hi);
        }
        for bad in [
            "",
            "ABCDE",
            "ABCDE-FGHJK-MNPQR-STVWU",
            "ABCDE-FGHJK-MNPQR-STVWXY",
        ] {
            assert_eq!(TrackingCode::short_range(bad), None, "{bad}");
        }
    }
}
