//! `hanpyo simulate`: a complete election, offline, written as a record that `hanpyo verify` checks.
//!
//! Key ceremony among the trustees, credentials, every voter's ballot (some audited first, some
//! revoting), close, tally, partial decryption by exactly `t` trustees (trustee 1 absent when
//! `t < n`), for ranked questions a shuffle by each of those trustees in turn and their decryption
//! of the mixed rows, result. Also writes the plaintext intent (`intent.json`) so tests can compare the
//! result with the truth, and, for small elections, the intermediate values an outside verifier
//! implementer needs (`values.json`).
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chacha20::ChaCha20Rng;
use hanpyo_crypto::ballot::ContestSpec;
use hanpyo_crypto::credential::SecretCredential;
use hanpyo_crypto::elgamal::Ciphertext;
use hanpyo_crypto::group::Element;
use hanpyo_crypto::proofs::labels;
use hanpyo_crypto::threshold::{KeyShare, lagrange_coefficients};
use hanpyo_ledger::merkle::leaf_hash;
use hanpyo_ledger::store::Ledger;
use hanpyo_ledger::witness::Witness;
use hanpyo_record::authority::{
    RunningTally, combine_result, encrypt_ballot_with_rng, partial_decryption_with_rng,
};
use hanpyo_record::context::{ceremony_context, election_context};
use hanpyo_record::entry::{AuditedBallot, Entry, Kind, MAX_CREDENTIALS_PER_ENTRY, TrackingCode};
use hanpyo_record::mixing::{Mix, Rows};
use rand_core::Rng;
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::setup::voter_rng;

/// Options of `hanpyo simulate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Number of eligible voters (each casts at least one ballot).
    #[arg(long)]
    voters: u32,
    /// Output directory (must not exist or be empty); the record goes to OUT/record.
    #[arg(long)]
    out: PathBuf,
    /// Deterministic randomness from this seed. INSECURE: every secret becomes predictable.
    #[arg(long)]
    seed: Option<u64>,
    /// Election manifest (TOML); default: a demo with a referendum, a choose-one and a choose-range question.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Override the manifest's number of trustees.
    #[arg(long)]
    trustees: Option<u32>,
    /// Override the manifest's threshold.
    #[arg(long)]
    threshold: Option<u32>,
    /// Percentage of voters who vote again later (only their last ballot counts).
    #[arg(long, default_value_t = 10)]
    revote_percent: u32,
    /// Percentage of voters who audit a ballot (Benaloh) before casting.
    #[arg(long, default_value_t = 5)]
    audit_percent: u32,
    /// Number of independent witnesses co-signing every checkpoint (all are required).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(0..=16))]
    witnesses: u8,
    /// Keep the ledger in this PostgreSQL database (as a multi-node deployment does) instead of
    /// OUT/ledger.db; the election's log must not be in it yet.
    #[arg(long, env = "HANPYO_DATABASE", hide_env_values = true)]
    database: Option<String>,
    /// Entries per block (group commit, one signed and witnessed checkpoint each).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    block_size: u32,
}

/// Entries go to the ledger in blocks (group commits); each block's checkpoint is co-signed by
/// every witness after it checks consistency with the last one it signed.
struct Blocks {
    ledger: Ledger,
    block: usize,
    pending: Vec<Vec<u8>>,
    witnesses: Vec<Witness>,
    timestamp: u64,
}

impl Blocks {
    fn append(&mut self, entry: &[u8]) -> Result<u64> {
        let index = self.ledger.size() + self.pending.len() as u64;
        self.pending.push(entry.to_vec());
        if self.pending.len() >= self.block {
            self.commit()?;
        }
        Ok(index)
    }

    fn commit(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.ledger.append_batch(&self.pending)?;
        self.pending.clear();
        self.timestamp += 1;
        self.ledger
            .collect_cosignatures(&mut self.witnesses, self.timestamp)?
            .all_cosigned()?;
        Ok(())
    }

    fn finish(mut self) -> Result<Ledger> {
        self.commit()?;
        Ok(self.ledger)
    }
}

/// The wall time of each step and the process's peak memory when it ended (Linux), printed with
/// the summary: the 10-million-voter benchmark's figures.
struct Phases {
    last: Instant,
    done: Vec<(&'static str, f64, Option<u64>)>,
}

impl Phases {
    fn new() -> Self {
        Self {
            last: Instant::now(),
            done: Vec::new(),
        }
    }

    fn mark(&mut self, step: &'static str) {
        let now = Instant::now();
        self.done
            .push((step, (now - self.last).as_secs_f64(), peak_memory_kib()));
        self.last = now;
    }

    fn print(&self) {
        for (step, secs, peak) in &self.done {
            match peak {
                Some(kib) => println!(
                    "  {step:<24} {secs:>9.1} s   peak memory {} MiB",
                    kib / 1024
                ),
                None => println!("  {step:<24} {secs:>9.1} s"),
            }
        }
    }
}

/// The process's peak resident memory so far (`VmHWM`), where the system tells it.
fn peak_memory_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

#[derive(Serialize)]
struct Intent {
    election_id: String,
    voters: u32,
    ballots_cast: u64,
    revotes: u64,
    audited: u64,
    /// `[question][choice]`: what the voters' last ballots chose.
    counts: Vec<Vec<u64>>,
}

#[derive(Serialize)]
struct EntryValue {
    index: u64,
    kind: Kind,
    leaf_hash: String,
}

#[derive(Serialize)]
struct Values {
    note: &'static str,
    manifest_hash: String,
    ceremony_fingerprint: String,
    election_fingerprint: String,
    joint_key: String,
    first_ballot_credential: String,
    first_ballot_signed_message: String,
    first_ballot_tracking_code: String,
    first_ballot_tracking_code_short: String,
    /// `c` of the first ballot's selection proof for question 0, choice 0.
    first_ballot_selection_challenge: String,
    /// `c` of the first ballot's credential signature.
    first_ballot_signature_challenge: String,
    ceremony: CeremonyValues,
    decryption: DecryptionValues,
    /// Ranked questions only: the mix-net's values (protocol.md §3.6).
    #[serde(skip_serializing_if = "Option::is_none")]
    mix: Option<MixValues>,
    merkle_root: String,
    entries: Vec<EntryValue>,
}

/// The mix-net of ranked questions (protocol.md §3.6).
#[derive(Serialize)]
struct MixValues {
    /// The instant-runoff lot: the encrypted tally entry's leaf hash.
    lot: String,
    /// The trustees that shuffled, in order.
    shufflers: Vec<u32>,
    /// Rows and ciphertexts per row.
    rows: usize,
    width: usize,
    /// The trustees whose shares decrypt the mixed rows (the first `t`).
    decrypting: Vec<u32>,
    /// Each mixed row's decrypted values (one digit per ciphertext), in the last shuffle's order.
    values: Vec<String>,
    /// Per question: a ranked question's count (null for other kinds).
    counts: Vec<Option<hanpyo_record::mixing::RankedCount>>,
}

/// The key ceremony's intermediate values (protocol.md §6).
#[derive(Serialize)]
struct CeremonyValues {
    /// `P_i`, the trustees' communication keys.
    trustee_keys: Vec<String>,
    /// `digest_i` per dealer.
    digests: Vec<String>,
    /// `QUAL`.
    qualified: Vec<u32>,
    /// `Y_j`.
    verification_keys: Vec<String>,
    /// Dealer 1's share to trustee 2: `E`, the Diffie–Hellman point `x_2·E`, the 32-byte
    /// ChaCha20-Poly1305 key derived from it, and the decrypted share `f_1(2)`.
    /// (With one trustee there are no shares, and no complaint below.)
    #[serde(skip_serializing_if = "Option::is_none")]
    share_1_to_2: Option<ShareValues>,
    /// A complaint by trustee 2 against dealer 1's share (not in the record: the share is valid,
    /// so adjudication finds the complaint unjustified) — the encoded kind-6 entry, signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    complaint_2_against_1: Option<String>,
    /// `"unjustified"` for the complaint above.
    #[serde(skip_serializing_if = "Option::is_none")]
    complaint_verdict: Option<&'static str>,
    /// The Schnorr challenge of trustee 1's signature on its first ceremony entry (its digest).
    digest_1_signature_challenge: String,
}

#[derive(Serialize)]
struct ShareValues {
    ephemeral: String,
    dh: String,
    key: String,
    share: String,
}

/// The threshold decryption of tally ciphertext `[0][0]` (protocol.md §7).
#[derive(Serialize)]
struct DecryptionValues {
    /// The decrypting trustees `S`, ascending.
    trustees: Vec<u32>,
    /// `λ_j` for `j ∈ S` (scalars, little-endian hex).
    lagrange: Vec<String>,
    /// `α ‖ β` of tally `[0][0]`.
    tally_0_0: String,
    /// `D_j` for `j ∈ S`, for tally `[0][0]`.
    shares_0_0: Vec<String>,
    /// `M = β − Σ λ_j·D_j`.
    m_0_0: String,
    /// The count `m` with `M = m·G`.
    count_0_0: u64,
}

fn decryption_values(
    trustees: &[u32],
    tally_0_0: &hanpyo_crypto::elgamal::Ciphertext,
    partials: &[(u32, Vec<Vec<Element>>)],
    count_0_0: u64,
) -> Result<DecryptionValues> {
    let lambdas = lagrange_coefficients(trustees)?;
    let combined: curve25519_dalek::ristretto::RistrettoPoint = lambdas
        .iter()
        .zip(partials)
        .map(|(l, (_, d))| l * d[0][0].point())
        .sum();
    Ok(DecryptionValues {
        trustees: trustees.to_vec(),
        lagrange: lambdas.iter().map(|l| hex::encode(l.as_bytes())).collect(),
        tally_0_0: hex::encode(tally_0_0.to_bytes()),
        shares_0_0: partials
            .iter()
            .map(|(_, d)| hex::encode(d[0][0].as_bytes()))
            .collect(),
        m_0_0: hex::encode((tally_0_0.beta.point() - combined).compress().as_bytes()),
        count_0_0,
    })
}

fn ceremony_values(
    cctx: &hanpyo_crypto::transcript::ProofContext,
    trustee_keys: &[hanpyo_crypto::elgamal::SecretKey],
    setup_entries: &[Vec<u8>],
    manifest: &hanpyo_record::manifest::Manifest,
    outcome: &hanpyo_crypto::threshold::CeremonyOutcome,
    rng: &mut ChaCha20Rng,
) -> Result<CeremonyValues> {
    use hanpyo_record::entry::CeremonyMessage;
    let shapes = hanpyo_record::entry::Shapes::of(manifest);
    let messages: Vec<(
        CeremonyMessage,
        hanpyo_crypto::proofs::schnorr::SchnorrProof,
    )> = setup_entries
        .iter()
        .filter_map(|e| match Entry::decode(e, Some(&shapes)) {
            Ok(Entry::Ceremony(m, sig)) => Some((*m, sig)),
            _ => None,
        })
        .collect();
    let digests = messages
        .iter()
        .filter_map(|(m, _)| match m {
            CeremonyMessage::Digest { digest, .. } => Some(hex::encode(digest)),
            _ => None,
        })
        .collect();
    let commitment_1 = messages
        .iter()
        .find_map(|(m, _)| match m {
            CeremonyMessage::Commitment(c) if c.dealer == 1 => Some(c.clone()),
            _ => None,
        })
        .context("dealer 1's commitment")?;
    let share = messages.iter().find_map(|(m, _)| match m {
        CeremonyMessage::Share(s) if s.dealer == 1 && s.recipient == 2 => Some(s.clone()),
        _ => None,
    });
    // Dealer 1's share to trustee 2 opened, and an (unjustified) complaint about it.
    let mut opened = None;
    if let (Some(share), Some(x2)) = (share, trustee_keys.get(1)) {
        let dh = x2.as_scalar() * share.ephemeral.point();
        let value = share.open(cctx, x2, &commitment_1)?;
        let complaint = hanpyo_crypto::threshold::Complaint::new_with_rng(cctx, x2, &share, rng);
        if complaint
            .adjudicate(cctx, &x2.public_key(), &share, &commitment_1)
            .is_ok()
        {
            bail!("internal error: a valid share was found bad");
        }
        let values = ShareValues {
            ephemeral: hex::encode(share.ephemeral.as_bytes()),
            dh: hex::encode(dh.compress().as_bytes()),
            key: hex::encode(*share.symmetric_key(
                cctx,
                &x2.public_key(),
                &hanpyo_crypto::group::Element::from_point(dh),
            )),
            share: hex::encode(value.as_bytes()),
        };
        let entry = CeremonyMessage::Complaint(complaint)
            .sign_with_rng(cctx, x2, rng)
            .encode();
        opened = Some((values, hex::encode(entry)));
    }
    let (digest_1, sig_1) = messages
        .iter()
        .find(|(m, _)| matches!(m, CeremonyMessage::Digest { dealer: 1, .. }))
        .context("dealer 1's digest")?;
    Ok(CeremonyValues {
        trustee_keys: trustee_keys
            .iter()
            .map(|k| hex::encode(k.public_key().element().as_bytes()))
            .collect(),
        digests,
        qualified: outcome.qualified.clone(),
        verification_keys: outcome
            .verification_keys
            .iter()
            .map(|y| hex::encode(y.as_bytes()))
            .collect(),
        complaint_verdict: opened.as_ref().map(|_| "unjustified"),
        complaint_2_against_1: opened.as_ref().map(|o| o.1.clone()),
        share_1_to_2: opened.map(|o| o.0),
        digest_1_signature_challenge: hex::encode(
            hanpyo_crypto::proofs::schnorr::challenge(
                labels::CEREMONY_ENTRY,
                &cctx.at(1, hanpyo_crypto::transcript::NO_POSITION),
                trustee_keys[0].public_key().element(),
                &sig_1.commitment,
                &digest_1.signed_message(),
            )
            .as_bytes(),
        ),
    })
}

/// A random allowed answer for each question, as the values its contest encrypts: per group of
/// values (the whole contest when it has no sum proof), 0/1 values with a random allowed number of
/// ones, or values in `0..=value_max` lowered until the group's sum is allowed.
pub(crate) fn random_values(specs: &[ContestSpec], rng: &mut impl Rng) -> Vec<Vec<u8>> {
    specs
        .iter()
        .map(|s| {
            let len = s.choices / s.groups.max(1);
            if s.columns {
                // A ranking: a random number of distinct choices, one per rank from the first.
                let mut order: Vec<u32> = (0..len).collect();
                for i in (1..order.len()).rev() {
                    order.swap(i, (rng.next_u32() as usize) % (i + 1));
                }
                let ranked = rng.next_u32() % (s.groups + 1);
                let mut values = vec![0u8; s.choices as usize];
                for (rank, &c) in order.iter().take(ranked as usize).enumerate() {
                    values[rank * len as usize + c as usize] = 1;
                }
                return values;
            }
            let mut values = Vec::with_capacity(s.choices as usize);
            for _ in 0..s.groups.max(1) {
                let (min, max) = if s.groups == 0 {
                    (0, len * s.value_max)
                } else {
                    (s.min, s.max)
                };
                if s.value_max == 1 {
                    let k = min + rng.next_u32() % (max - min + 1);
                    let mut order: Vec<u32> = (0..len).collect();
                    for i in (1..order.len()).rev() {
                        order.swap(i, (rng.next_u32() as usize) % (i + 1));
                    }
                    let chosen = &order[..k as usize];
                    values.extend((0..len).map(|j| u8::from(chosen.contains(&j))));
                } else {
                    let mut group: Vec<u32> = (0..len)
                        .map(|_| rng.next_u32() % (s.value_max + 1))
                        .collect();
                    while group.iter().sum::<u32>() > max {
                        let j = (rng.next_u32() % len) as usize;
                        group[j] = group[j].saturating_sub(1);
                    }
                    values.extend(group.iter().map(|&v| v as u8));
                }
            }
            values
        })
        .collect()
}

/// What a revoter's first ballot contributed, to be replaced by the second.
struct FirstBallot {
    voter: u32,
    selections: Vec<Vec<u8>>,
    ciphertexts: Vec<Vec<Ciphertext>>,
}

struct Cast {
    audit: Option<Vec<u8>>,
    ballot: Vec<u8>,
    selections: Vec<Vec<u8>>,
    ciphertexts: Vec<Vec<Ciphertext>>,
    revotes: bool,
}

pub fn run(args: &Args) -> Result<ExitCode> {
    if args.voters == 0 {
        bail!("--voters must be at least 1");
    }
    if args.revote_percent > 100 || args.audit_percent > 100 {
        bail!("percentages must be between 0 and 100");
    }
    if args.out.exists() && std::fs::read_dir(&args.out)?.next().is_some() {
        bail!("{} exists and is not empty", args.out.display());
    }
    let master: [u8; 32] = match args.seed {
        Some(seed) => {
            eprintln!(
                "WARNING: --seed {seed}: every key, credential and nonce is predictable. Never use it for a real election."
            );
            Sha256::digest(seed.to_be_bytes()).into()
        }
        None => {
            let mut m = [0u8; 32];
            hanpyo_crypto::os_rng().fill_bytes(&mut m);
            m
        }
    };
    let started = Instant::now();
    let mut phases = Phases::new();

    let manifest = match &args.manifest {
        Some(p) => {
            Some(std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)
        }
        None => None,
    };
    let s = crate::setup::setup(
        &master,
        &master,
        manifest.as_deref(),
        args.trustees,
        args.threshold,
        args.witnesses,
        None,
    )?;
    let crate::setup::Setup {
        manifest,
        manifest_hash,
        log_seed,
        signer,
        witnesses,
        witness_seeds,
        trustee_keys,
        outcome,
        key_shares,
        entries: setup_entries,
        mut rng,
    } = s;
    let params = manifest.threshold_params()?;
    let specs = manifest.contest_specs();
    let record_dir = args.out.join("record");
    std::fs::create_dir_all(&args.out)?;
    let ledger = match &args.database {
        None => Ledger::open(&args.out.join("ledger.db"), signer)?,
        Some(url) => {
            let ledger = Ledger::open_postgres(url, signer).context("the PostgreSQL ledger")?;
            if ledger.size() > 0 {
                bail!(
                    "the database already holds log {} ({} entries)",
                    ledger.origin(),
                    ledger.size()
                );
            }
            ledger
        }
    };
    let mut w = Blocks {
        ledger,
        block: args.block_size as usize,
        pending: Vec::new(),
        witnesses,
        timestamp: manifest.opens_at.max(0) as u64,
    };
    let mut leaves: Vec<(u64, Kind, [u8; 32])> = Vec::new();
    let small = args.voters <= 1000;
    let mut put = |w: &mut Blocks, e: &[u8]| -> Result<u64> {
        let i = w.append(e)?;
        if small {
            leaves.push((i, Kind::of(e)?, leaf_hash(e)));
        }
        Ok(i)
    };
    for e in &setup_entries {
        put(&mut w, e)?;
    }
    phases.mark("setup and key ceremony");
    let cctx = ceremony_context(&manifest_hash);
    let pk = outcome.joint_key;
    let ectx = election_context(&manifest_hash, &pk);

    // Credentials: the authority generates them; only the sorted public list is published.
    let election_id = manifest.election_id.as_bytes();
    let mut publics: Vec<[u8; 32]> = (0..args.voters)
        .into_par_iter()
        .map(|i| {
            *SecretCredential::generate_with_rng(&mut voter_rng(&master, i, 0))
                .signing_key(election_id)
                .public()
                .as_bytes()
        })
        .collect();
    publics.sort_unstable();
    for chunk in publics.chunks(MAX_CREDENTIALS_PER_ENTRY) {
        let list = chunk
            .iter()
            .map(|b| hanpyo_crypto::credential::PublicCredential::decode(b))
            .collect::<Result<Vec<_>, _>>()?;
        put(&mut w, &Entry::CredentialList(list).encode())?;
    }
    drop(publics);
    phases.mark("credentials");

    // Voting: every voter casts (some audit first); then some vote again.
    let revote_pct = args.revote_percent;
    let audit_pct = args.audit_percent;
    // Every synthetic voter encrypts under the same key: multiply by it from a table.
    let key_table = hanpyo_crypto::elgamal::KeyTable::new(&pk);
    let make = |i: u32, round: u8| -> Result<Cast> {
        let key = SecretCredential::generate_with_rng(&mut voter_rng(&master, i, 0))
            .signing_key(election_id);
        let mut r = voter_rng(&master, i, 1 + round);
        let audit = if round == 0 && r.next_u32() % 100 < audit_pct {
            let sel = random_values(&specs, &mut r);
            let (b, openings) =
                encrypt_ballot_with_rng(&ectx, &key_table, &specs, &key, &sel, &mut r)?;
            Some(Entry::AuditedBallot(Box::new(AuditedBallot::of(&b, openings))).encode())
        } else {
            None
        };
        let selections = random_values(&specs, &mut r);
        let (b, _) = encrypt_ballot_with_rng(&ectx, &key_table, &specs, &key, &selections, &mut r)?;
        let ciphertexts = b.ciphertexts();
        Ok(Cast {
            audit,
            ballot: Entry::Ballot(Box::new(b)).encode(),
            selections,
            ciphertexts,
            revotes: round == 0 && r.next_u32() % 100 < revote_pct,
        })
    };
    let mut counts: Vec<Vec<u64>> = specs.iter().map(|s| vec![0; s.choices as usize]).collect();
    let mut sums = RunningTally::new(&specs);
    let tally_counts = |counts: &mut Vec<Vec<u64>>, values: &[Vec<u8>], sign: bool| {
        for (row, s) in counts.iter_mut().zip(values) {
            for (c, v) in row.iter_mut().zip(s) {
                if sign {
                    *c += u64::from(*v)
                } else {
                    *c -= u64::from(*v)
                }
            }
        }
    };
    // Ranked questions: each voter's last ballot's row and entry index (the mix-net's input).
    let rows = Rows::of(&manifest);
    let mut last_rows: Vec<Option<(u64, Vec<Ciphertext>)>> = if rows.any() {
        vec![None; args.voters as usize]
    } else {
        Vec::new()
    };
    let mut revoters: Vec<FirstBallot> = Vec::new();
    let (mut cast, mut audited) = (0u64, 0u64);
    let mut first_ballot: Option<Vec<u8>> = None;
    let progress = crate::progress::bar("ballots", Some(u64::from(args.voters)));
    const CHUNK: u32 = 2048;
    let make_chunk = |start: u32| -> Result<Vec<Cast>> {
        let end = (start + CHUNK).min(args.voters);
        (start..end).into_par_iter().map(|i| make(i, 0)).collect()
    };
    // Appends one chunk of first ballots (in voter order) and accounts for them.
    let mut consume = |start: u32, made: Vec<Cast>| -> Result<()> {
        for (i, c) in (start..).zip(made) {
            if let Some(a) = &c.audit {
                put(&mut w, a)?;
                audited += 1;
            }
            let index = put(&mut w, &c.ballot)?;
            if rows.any() {
                last_rows[i as usize] = Some((index, rows.of_ciphertexts(&c.ciphertexts)));
            }
            cast += 1;
            if first_ballot.is_none() {
                first_ballot = Some(c.ballot.clone());
            }
            sums.add(&c.ciphertexts);
            tally_counts(&mut counts, &c.selections, true);
            if c.revotes {
                revoters.push(FirstBallot {
                    voter: i,
                    selections: c.selections,
                    ciphertexts: c.ciphertexts,
                });
            }
        }
        Ok(())
    };
    // The ledger's appends (one core) overlap the making of the next chunk (the other cores).
    let mut made = make_chunk(0)?;
    for start in (0..args.voters).step_by(CHUNK as usize) {
        let next = start + CHUNK;
        let (following, consumed) = rayon::join(
            || (next < args.voters).then(|| make_chunk(next)).transpose(),
            || consume(start, std::mem::take(&mut made)),
        );
        consumed?;
        made = following?.unwrap_or_default();
        progress.set_position(u64::from(next.min(args.voters)));
    }
    progress.finish_and_clear();
    let revotes = revoters.len() as u64;
    for chunk in revoters.chunks(CHUNK as usize) {
        let made: Vec<Cast> = chunk
            .par_iter()
            .map(|f| make(f.voter, 1))
            .collect::<Result<_>>()?;
        for (first, c) in chunk.iter().zip(made) {
            let (old_sel, old_cts) = (&first.selections, &first.ciphertexts);
            let index = put(&mut w, &c.ballot)?;
            if rows.any() {
                last_rows[first.voter as usize] =
                    Some((index, rows.of_ciphertexts(&c.ciphertexts)));
            }
            cast += 1;
            sums.subtract(old_cts);
            tally_counts(&mut counts, old_sel, false);
            sums.add(&c.ciphertexts);
            tally_counts(&mut counts, &c.selections, true);
        }
    }
    put(&mut w, &Entry::Close.encode())?;
    phases.mark("ballots");

    // Tally and decryption by exactly t trustees.
    let counted = u64::from(args.voters);
    let tally = sums.ciphertexts();
    let tally_entry = Entry::EncryptedTally {
        counted,
        tally: tally.clone(),
    }
    .encode();
    put(&mut w, &tally_entry)?;
    let present = &key_shares[(params.trustees - params.threshold) as usize..];
    let mut partial_values: Vec<(u32, Vec<Vec<Element>>)> = Vec::new();
    for s in present {
        let y = outcome
            .verification_key(s.index())
            .context("verification key")?;
        let entry = partial_decryption_with_rng(&ectx, s, y, &tally, &mut rng);
        put(&mut w, &entry.encode())?;
        if let Entry::PartialDecryption { trustee, shares } = entry {
            partial_values.push((
                trustee,
                shares
                    .into_iter()
                    .map(|r| r.into_iter().map(|(d, _)| d).collect())
                    .collect(),
            ));
        }
    }
    let refs: Vec<(u32, &[Vec<Element>])> = partial_values
        .iter()
        .map(|(t, s)| (*t, s.as_slice()))
        .collect();
    let result = combine_result(&params, &tally, &refs, &manifest.cell_maxima(counted))?;
    if result != counts {
        bail!("internal error: the decrypted result differs from the simulated intent");
    }
    // Ranked questions: the present trustees shuffle in turn and decrypt the mixed rows.
    let mut ranked = vec![None; result.len()];
    let mut mix_values = None;
    if rows.any() {
        let mut initial: Vec<(u64, Vec<Ciphertext>)> = last_rows.into_iter().flatten().collect();
        initial.sort_unstable_by_key(|(i, _)| *i);
        let mut mix = Mix::new(
            rows.clone(),
            initial.into_iter().map(|(_, r)| r).collect(),
            leaf_hash(&tally_entry),
        );
        let trustees = present
            .iter()
            .map(|s| {
                Ok((
                    s,
                    *outcome
                        .verification_key(s.index())
                        .context("verification key")?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        for e in mix.play_trustees(&ectx, &pk, &trustees, &mut rng)? {
            put(&mut w, &e.encode())?;
        }
        let c = mix
            .counted(&manifest, &params)
            .map_err(anyhow::Error::msg)?;
        for (q, matrix) in c.matrices.iter().enumerate() {
            if matrix.as_ref().is_some_and(|m| *m != result[q]) {
                bail!("internal error: the mixed rankings differ from the tally of question {q}");
            }
        }
        ranked = c.outcomes();
        let t = params.threshold as usize;
        let shares = mix.first_shares(t);
        let values = hanpyo_record::mixing::row_values(&params, &mix.current, &shares)
            .map_err(anyhow::Error::msg)?;
        mix_values = Some(MixValues {
            lot: hex::encode(mix.lot),
            shufflers: mix.shufflers.clone(),
            rows: mix.current.len(),
            width: mix.rows.width,
            decrypting: shares.iter().map(|(j, _)| *j).collect(),
            values: values
                .iter()
                .map(|row| row.iter().map(|v| char::from(b'0' + v)).collect())
                .collect(),
            counts: c.counts,
        });
    }
    let trustees: Vec<u32> = present.iter().map(KeyShare::index).collect();
    put(
        &mut w,
        &Entry::result(
            &manifest,
            trustees,
            result.clone(),
            hanpyo_record::decision::Turnout {
                eligible: u64::from(args.voters),
                voted: counted,
            },
            &ranked,
        )
        .encode(),
    )?;
    let mut ledger = w.finish()?;
    ledger.close()?;
    phases.mark("tally and decryption");
    ledger.export(&record_dir)?;
    phases.mark("record export");
    let checkpoint = hanpyo_ledger::checkpoint::Checkpoint {
        origin: ledger.origin().to_string(),
        size: ledger.size(),
        root: ledger.root(),
    };

    let intent = Intent {
        election_id: manifest.election_id.clone(),
        voters: args.voters,
        ballots_cast: cast,
        revotes,
        audited,
        counts,
    };
    write_json(&args.out.join("intent.json"), &intent)?;
    if small {
        // The parties' secrets, for tests of this simulation only (never part of the record).
        let secrets = args.out.join("secrets");
        std::fs::create_dir_all(&secrets)?;
        let codes: Vec<String> = (0..args.voters)
            .map(|i| SecretCredential::generate_with_rng(&mut voter_rng(&master, i, 0)).code())
            .collect();
        write_json(&secrets.join("credentials.json"), &codes)?;
        std::fs::write(
            secrets.join("log-signing-key"),
            format!("{}\n", hex::encode(log_seed)),
        )?;
        // The witnesses' Ed25519 seeds (manifest order) and the trustees' communication secrets,
        // so a tester can co-sign altered records and open the ceremony's shares.
        let names: Vec<String> = manifest
            .ledger
            .witnesses
            .iter()
            .map(|w| w.name.clone())
            .collect();
        let seeds: Vec<serde_json::Value> = names
            .iter()
            .zip(&witness_seeds)
            .map(|(name, seed)| serde_json::json!({"name": name, "seed": hex::encode(seed)}))
            .collect();
        write_json(&secrets.join("witness-keys.json"), &seeds)?;
        let comm: Vec<String> = trustee_keys
            .iter()
            .map(|k| hex::encode(k.as_scalar().as_bytes()))
            .collect();
        write_json(&secrets.join("trustee-keys.json"), &comm)?;
    }
    if small && let Some(fb) = &first_ballot {
        // What the first voter keeps: the receipt of their ballot (tracking code, inclusion proof,
        // witnessed checkpoint).
        let receipts = args.out.join("receipts");
        std::fs::create_dir_all(&receipts)?;
        write_json(
            &receipts.join("first-ballot.json"),
            &ledger.receipt(&leaf_hash(fb))?,
        )?;
    }
    if small && let Some(fb) = first_ballot {
        let Entry::Ballot(b) =
            Entry::decode(&fb, Some(&hanpyo_record::entry::Shapes::of(&manifest)))?
        else {
            bail!("internal error: first ballot");
        };
        let code = TrackingCode::of(&fb);
        let values = Values {
            note: "Intermediate values of this record for implementers of other verifiers; see docs/record-format.md and docs/protocol.md.",
            manifest_hash: hex::encode(manifest_hash),
            ceremony_fingerprint: hex::encode(cctx.fingerprint),
            election_fingerprint: hex::encode(ectx.fingerprint),
            joint_key: hex::encode(pk.element().as_bytes()),
            first_ballot_credential: hex::encode(b.credential.as_bytes()),
            first_ballot_signed_message: hex::encode(b.signed_message()),
            first_ballot_tracking_code: code.hex(),
            first_ballot_tracking_code_short: code.short(),
            first_ballot_selection_challenge: {
                let sel = &b.contests[0].selections[0];
                let c = hanpyo_crypto::proofs::disjunctive::challenge(
                    labels::SELECTION,
                    &ectx.bound_to(*b.credential.as_bytes()).at(0, 0),
                    &pk,
                    &sel.ciphertext,
                    0,
                    1,
                    &sel.proof.commitments,
                );
                hex::encode(c.as_bytes())
            },
            first_ballot_signature_challenge: {
                let c = hanpyo_crypto::proofs::schnorr::challenge(
                    labels::CREDENTIAL_SIGNATURE,
                    &ectx.bound_to(*b.credential.as_bytes()),
                    &b.credential.0,
                    &b.signature.commitment,
                    &b.signed_message(),
                );
                hex::encode(c.as_bytes())
            },
            ceremony: ceremony_values(
                &cctx,
                &trustee_keys,
                &setup_entries,
                &manifest,
                &outcome,
                // Its own stream: the complaint's randomness, reproducible from the seed.
                &mut voter_rng(&master, u32::MAX, 100),
            )?,
            decryption: decryption_values(
                &present.iter().map(KeyShare::index).collect::<Vec<_>>(),
                &tally[0][0],
                &partial_values,
                result[0][0],
            )?,
            mix: mix_values,
            merkle_root: hex::encode(checkpoint.root),
            entries: leaves
                .iter()
                .map(|(index, kind, h)| EntryValue {
                    index: *index,
                    kind: *kind,
                    leaf_hash: hex::encode(h),
                })
                .collect(),
        };
        write_json(&args.out.join("values.json"), &values)?;
    }
    println!(
        "simulated {} voters: {cast} ballots cast ({revotes} revotes), {audited} audited, {} entries, in {:.1} s",
        args.voters,
        checkpoint.size,
        started.elapsed().as_secs_f64()
    );
    phases.print();
    println!("record: {}", record_dir.display());
    Ok(ExitCode::SUCCESS)
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
