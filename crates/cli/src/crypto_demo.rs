//! `hanpyo crypto-demo`: the cryptographic core end to end, in memory, with timings.
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chacha20::ChaCha20Rng;
use hanpyo_crypto::ProofError;
use hanpyo_crypto::ballot::{ContestSpec, EncryptedContest};
use hanpyo_crypto::batch::{BatchVerifier, Verifiable, verify_batch};
use hanpyo_crypto::credential::{CredentialSigningKey, SecretCredential};
use hanpyo_crypto::dlog::DlogTable;
use hanpyo_crypto::elgamal::{Ciphertext, PublicKey, SecretKey};
use hanpyo_crypto::proofs::schnorr::SchnorrProof;
use hanpyo_crypto::threshold::{
    CeremonyTranscript, Dealer, KeyShare, ThresholdParams, combine_partial_decryptions,
    resolve_ceremony,
};
use hanpyo_crypto::transcript::ProofContext;
use rand_core::{CryptoRng, SeedableRng};

/// Options of `hanpyo crypto-demo`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Number of voters.
    #[arg(long, default_value_t = 1000)]
    voters: u32,
    /// Number of choices of the (choose exactly one) question.
    #[arg(long, default_value_t = 4)]
    choices: u32,
    /// Number of trustees.
    #[arg(long, default_value_t = 3)]
    trustees: u32,
    /// Trustees needed to decrypt.
    #[arg(long, default_value_t = 2)]
    threshold: u32,
    /// Deterministic randomness from this seed (INSECURE: for reproducible demos and tests only).
    #[arg(long)]
    seed: Option<u64>,
}

struct Ballot<'a> {
    ctx: &'a ProofContext,
    pk: &'a PublicKey,
    spec: &'a ContestSpec,
    key: &'a CredentialSigningKey,
    contest: EncryptedContest,
    signature: SchnorrProof,
}

impl Ballot<'_> {
    fn message(&self) -> Vec<u8> {
        self.contest.to_bytes()
    }
}

impl Verifiable for Ballot<'_> {
    fn queue(&self, batch: &mut BatchVerifier) -> Result<(), ProofError> {
        let public = self.key.public();
        self.contest.queue(
            &self.ctx.bound_to(*public.as_bytes()),
            self.pk,
            self.spec,
            batch,
        )?;
        public.queue(self.ctx, &self.message(), &self.signature, batch);
        Ok(())
    }
}

pub fn run(args: &Args) -> Result<ExitCode> {
    match args.seed {
        Some(seed) => {
            eprintln!(
                "WARNING: --seed makes every secret predictable. Never use it for a real election."
            );
            let mut s = [0u8; 32];
            s[..8].copy_from_slice(&seed.to_le_bytes());
            demo(args, &mut ChaCha20Rng::from_seed(s))
        }
        None => demo(args, &mut hanpyo_crypto::os_rng()),
    }
}

fn demo<R: CryptoRng>(args: &Args, rng: &mut R) -> Result<ExitCode> {
    let params =
        ThresholdParams::new(args.trustees, args.threshold).context("trustees/threshold")?;
    let spec = ContestSpec {
        index: 0,
        choices: args.choices,
        min: 1,
        max: 1,
    };
    spec.validate().context("choices")?;
    let ceremony_ctx = ProofContext::new([0u8; 32]);

    // Key ceremony.
    let t0 = Instant::now();
    let comm: Vec<SecretKey> = (0..params.trustees)
        .map(|_| SecretKey::generate_with_rng(rng))
        .collect();
    let comm_pub: Vec<PublicKey> = comm.iter().map(SecretKey::public_key).collect();
    let dealers = (1..=params.trustees)
        .map(|i| Dealer::new_with_rng(params, i, rng))
        .collect::<Result<Vec<_>, _>>()?;
    let commitments: Vec<_> = dealers
        .iter()
        .map(|d| d.commitment_with_rng(&ceremony_ctx, rng))
        .collect();
    let digests: Vec<_> = commitments
        .iter()
        .map(|c| Some(c.digest(&ceremony_ctx)))
        .collect();
    let mut shares = Vec::new();
    for d in &dealers {
        for j in (1..=params.trustees).filter(|&j| j != d.index()) {
            shares.push(d.encrypted_share_with_rng(
                &ceremony_ctx,
                j,
                &comm_pub[(j - 1) as usize],
                rng,
            )?);
        }
    }
    let outcome = resolve_ceremony(
        &ceremony_ctx,
        &CeremonyTranscript {
            params,
            trustee_keys: &comm_pub,
            digests: &digests,
            commitments: &commitments,
            shares: &shares,
            complaints: &[],
        },
    )?;
    let key_shares = (1..=params.trustees)
        .map(|j| {
            let parts = outcome
                .qualified
                .iter()
                .map(|&i| {
                    if i == j {
                        Ok(dealers[(i - 1) as usize].share_for(j)?)
                    } else {
                        let s = shares
                            .iter()
                            .find(|s| s.dealer == i && s.recipient == j)
                            .context("missing share")?;
                        s.open(
                            &ceremony_ctx,
                            &comm[(j - 1) as usize],
                            &commitments[(i - 1) as usize],
                        )
                        .map_err(anyhow::Error::from)
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(KeyShare::combine(j, &parts, &outcome)?)
        })
        .collect::<Result<Vec<_>>>()?;
    let pk = outcome.joint_key;
    println!(
        "key ceremony: {} of {} trustees, joint key {}… ({:.0} ms)",
        params.threshold,
        params.trustees,
        &hex::encode(pk.element().as_bytes())[..16],
        t0.elapsed().as_secs_f64() * 1e3
    );

    // The election context binds every proof to this election and its key.
    let mut fingerprint = [0u8; 32];
    fingerprint.copy_from_slice(&pk.element().as_bytes()[..]);
    let ctx = ProofContext::new(fingerprint);

    // Credentials and ballots.
    let creds: Vec<CredentialSigningKey> = (0..args.voters)
        .map(|_| SecretCredential::generate_with_rng(rng).signing_key(b"crypto-demo"))
        .collect();
    let mut intent = vec![0u64; args.choices as usize];
    let t1 = Instant::now();
    let mut ballots = Vec::with_capacity(creds.len());
    for key in &creds {
        let choice = (rng.next_u32() % args.choices) as usize;
        intent[choice] += 1;
        let sel: Vec<bool> = (0..args.choices as usize).map(|j| j == choice).collect();
        let (contest, _) = EncryptedContest::encrypt_with_rng(
            &ctx.bound_to(*key.public().as_bytes()),
            &pk,
            &spec,
            &sel,
            rng,
        )?;
        let signature = key.sign_with_rng(&ctx, &contest.to_bytes(), rng);
        ballots.push(Ballot {
            ctx: &ctx,
            pk: &pk,
            spec: &spec,
            key,
            contest,
            signature,
        });
    }
    let enc = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    verify_batch(&ballots)?;
    let ver = t2.elapsed().as_secs_f64();
    println!(
        "{} ballots: encrypted+proved+signed in {:.0} µs each; batch-verified in {:.0} µs each",
        ballots.len(),
        enc * 1e6 / f64::from(args.voters.max(1)),
        ver * 1e6 / f64::from(args.voters.max(1))
    );

    // Tally with exactly t trustees (the last ones: trustee 1 is "absent" when t < n).
    let t3 = Instant::now();
    let present = &key_shares[(params.trustees - params.threshold) as usize..];
    let table = DlogTable::new(u64::from(args.voters));
    let mut result = Vec::with_capacity(args.choices as usize);
    for j in 0..args.choices as usize {
        let total = Ciphertext::sum(ballots.iter().map(|b| &b.contest.selections[j].ciphertext));
        let pos = ctx.at(0, j as u32);
        let partials = present
            .iter()
            .map(|s| {
                let y = outcome
                    .verification_key(s.index())
                    .context("verification key")?;
                let p = s.partial_decrypt_with_rng(&pos, y, &total, rng);
                p.verify(&pos, y, &total)?;
                Ok(p)
            })
            .collect::<Result<Vec<_>>>()?;
        let point = combine_partial_decryptions(&params, &total, &partials)?;
        result.push(table.decode(&point).context("tally out of range")?);
    }
    println!(
        "tally decrypted by trustees {:?} in {:.0} ms",
        present.iter().map(KeyShare::index).collect::<Vec<_>>(),
        t3.elapsed().as_secs_f64() * 1e3
    );
    println!("choice  votes  (intended)");
    for (j, (got, want)) in result.iter().zip(&intent).enumerate() {
        println!("{j:>6}  {got:>5}  ({want})");
    }
    if result != intent {
        bail!("the decrypted tally differs from the simulated intent");
    }
    println!("result matches the simulated intent");
    Ok(ExitCode::SUCCESS)
}
