//! Setting up an election the way the demo and the simulator need it: manifest, the ledger operator's
//! and the witnesses' keys, a key ceremony among simulated trustees, all from one master seed.
//! Real trustees run the ceremony themselves (the trustee issue); this is for demos and tests.
use anyhow::{Context, Result};
use chacha20::ChaCha20Rng;
use ed25519_dalek::SigningKey;
use hanpyo_crypto::elgamal::{PublicKey, SecretKey};
use hanpyo_crypto::proofs::labels;
use hanpyo_crypto::proofs::schnorr::SchnorrProof;
use hanpyo_crypto::threshold::{
    CeremonyOutcome, CeremonyTranscript, Dealer, KeyShare, resolve_ceremony,
};
use hanpyo_crypto::transcript::NO_POSITION;
use hanpyo_ledger::checkpoint::{KeyKind, NoteSigner};
use hanpyo_ledger::merkle::{Hash, leaf_hash};
use hanpyo_ledger::witness::{Witness, WitnessState};
use hanpyo_record::context::ceremony_context;
use hanpyo_record::entry::{CeremonyMessage, Entry};
use hanpyo_record::manifest::{LedgerInfo, Manifest, WitnessInfo};
use rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

/// The manifest used when none is given.
pub const DEMO_MANIFEST: &str = include_str!("demo-manifest.toml");

/// The demo's second election (an apartment complex's vote).
pub const DEMO_APARTMENT_MANIFEST: &str = include_str!("demo-apartment.toml");

/// Per-party randomness derived from the master seed: reproducible with a seed, and independent
/// per voter so ballots can be made in parallel.
pub fn voter_rng(master: &[u8; 32], voter: u32, purpose: u8) -> ChaCha20Rng {
    let mut h = Sha256::new();
    h.update(b"hanpyo-simulate-v1");
    h.update(master);
    h.update(voter.to_be_bytes());
    h.update([purpose]);
    ChaCha20Rng::from_seed(h.finalize().into())
}

/// An election ready for voting.
pub struct Setup {
    /// The manifest.
    pub manifest: Manifest,
    /// Its entry hash.
    pub manifest_hash: Hash,
    /// The ledger operator's key seed.
    pub log_seed: [u8; 32],
    /// The ledger operator's signer.
    pub signer: NoteSigner,
    /// The witnesses (following the log).
    pub witnesses: Vec<Witness>,
    /// The witnesses' key seeds, in manifest order (for test vectors only).
    pub witness_seeds: Vec<[u8; 32]>,
    /// The trustees' communication secret keys (a demo's and a simulation's only).
    pub trustee_keys: Vec<SecretKey>,
    /// The ceremony's outcome.
    pub outcome: CeremonyOutcome,
    /// Every trustee's key share.
    pub key_shares: Vec<KeyShare>,
    /// Manifest, registrations, ceremony and joint key entries, in order.
    pub entries: Vec<Vec<u8>>,
    /// The setup's generator, to continue from.
    pub rng: ChaCha20Rng,
}

/// Builds the setup from `master` (the witnesses' keys from `witness_master`: elections of one
/// deployment share their witnesses).
pub fn setup(
    master: &[u8; 32],
    witness_master: &[u8; 32],
    manifest: Option<&str>,
    trustees: Option<u32>,
    threshold: Option<u32>,
    n_witnesses: u8,
    witness_quorum: Option<u8>,
) -> Result<Setup> {
    let mut rng = voter_rng(master, u32::MAX, 0);
    let mut entries: Vec<Vec<u8>> = Vec::new();
    // The ledger operator's key and the manifest.
    let mut log_seed = [0u8; 32];
    voter_rng(master, u32::MAX, 1).fill_bytes(&mut log_seed);
    let log_key = SigningKey::from_bytes(&log_seed);
    let text = manifest.unwrap_or(DEMO_MANIFEST);
    let placeholder = LedgerInfo {
        origin: "x".into(),
        key: [0; 32],
        witnesses: Vec::new(),
        witness_quorum: 0,
    };
    let parsed = Manifest::from_toml(text, placeholder).context("manifest")?;
    let mut manifest = parsed;
    manifest.trustees = trustees.unwrap_or(manifest.trustees);
    manifest.threshold = threshold.unwrap_or(manifest.threshold);
    // Independent witnesses co-sign every checkpoint; the manifest names them.
    let mut witnesses = Vec::new();
    let mut witness_seeds = Vec::new();
    for i in 0..n_witnesses {
        let mut seed = [0u8; 32];
        voter_rng(witness_master, u32::MAX, 2 + i).fill_bytes(&mut seed);
        witness_seeds.push(seed);
        let name = format!("witness-{}.hanpyo.local", i + 1);
        witnesses.push(Witness::new(
            &name,
            SigningKey::from_bytes(&seed),
            WitnessState::default(),
        )?);
    }
    manifest.ledger = LedgerInfo {
        origin: format!("hanpyo.local/{}", manifest.election_id),
        key: log_key.verifying_key().to_bytes(),
        witnesses: witnesses
            .iter()
            .map(|w| WitnessInfo {
                name: w.verifier().name().to_string(),
                key: w.verifier().key().to_bytes(),
            })
            .collect(),
        witness_quorum: u32::from(witness_quorum.unwrap_or(n_witnesses)),
    };
    manifest.validate().context("manifest")?;
    let params = manifest.threshold_params()?;
    let signer = NoteSigner::new(&manifest.ledger.origin, log_key, KeyKind::Ed25519)?;

    for w in &mut witnesses {
        w.add_log(&manifest.ledger.origin, signer.verifier().key());
    }
    let manifest_bytes = Entry::Manifest(Box::new(manifest.clone())).encode();
    entries.push(manifest_bytes.clone());
    let manifest_hash = leaf_hash(&manifest_bytes);

    // Key ceremony.
    let cctx = ceremony_context(&manifest_hash);
    let comm: Vec<SecretKey> = (0..params.trustees)
        .map(|_| SecretKey::generate_with_rng(&mut rng))
        .collect();
    let comm_pub: Vec<PublicKey> = comm.iter().map(SecretKey::public_key).collect();
    for (i, sk) in comm.iter().enumerate() {
        let index = i as u32 + 1;
        let proof = SchnorrProof::prove_with_rng(
            labels::TRUSTEE_KEY,
            &cctx.at(index, NO_POSITION),
            sk.as_scalar(),
            comm_pub[i].element(),
            &[],
            &mut rng,
        );
        entries.push(
            Entry::TrusteeRegistration {
                index,
                key: comm_pub[i],
                proof,
            }
            .encode(),
        );
    }
    let dealers = (1..=params.trustees)
        .map(|i| Dealer::new_with_rng(params, i, &mut rng))
        .collect::<Result<Vec<_>, _>>()?;
    let commitments: Vec<_> = dealers
        .iter()
        .map(|d| d.commitment_with_rng(&cctx, &mut rng))
        .collect();
    let digests: Vec<_> = commitments.iter().map(|c| Some(c.digest(&cctx))).collect();
    // Every ceremony message is signed by its sender's communication key.
    let signed = |m: CeremonyMessage, rng: &mut ChaCha20Rng| {
        let sender = (m.sender() - 1) as usize;
        m.sign_with_rng(&cctx, &comm[sender], rng).encode()
    };
    for c in &commitments {
        let digest = CeremonyMessage::Digest {
            dealer: c.dealer,
            digest: c.digest(&cctx),
        };
        entries.push(signed(digest, &mut rng));
    }
    for c in &commitments {
        entries.push(signed(CeremonyMessage::Commitment(c.clone()), &mut rng));
    }
    let mut shares = Vec::new();
    for d in &dealers {
        for j in (1..=params.trustees).filter(|&j| j != d.index()) {
            let s = d.encrypted_share_with_rng(&cctx, j, &comm_pub[(j - 1) as usize], &mut rng)?;
            entries.push(signed(CeremonyMessage::Share(s.clone()), &mut rng));
            shares.push(s);
        }
    }
    // Each trustee has checked every share it received: it confirms all the dealers.
    for j in 1..=params.trustees {
        let confirmation = CeremonyMessage::Confirmation {
            trustee: j,
            dealers: (1..=params.trustees).collect(),
        };
        entries.push(signed(confirmation, &mut rng));
    }
    let outcome = resolve_ceremony(
        &cctx,
        &CeremonyTranscript {
            params,
            trustee_keys: &comm_pub,
            digests: &digests,
            commitments: &commitments,
            shares: &shares,
            complaints: &[],
        },
    )?;
    let key_shares = dealers
        .iter()
        .zip(&comm)
        .map(|(d, c)| KeyShare::from_transcript(&cctx, d, c, &commitments, &shares, &outcome))
        .collect::<Result<Vec<_>, _>>()?;
    entries.push(
        Entry::JointKey {
            key: outcome.joint_key,
            qualified: outcome.qualified.clone(),
            verification_keys: outcome.verification_keys.clone(),
        }
        .encode(),
    );
    Ok(Setup {
        manifest,
        manifest_hash,
        log_seed,
        signer,
        witnesses,
        witness_seeds,
        trustee_keys: comm,
        outcome,
        key_shares,
        entries,
        rng,
    })
}
