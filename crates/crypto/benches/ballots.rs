//! Ballot encryption and verification costs against the machine's own limits, measured in the
//! same run: multiscalar multiplication per point, point decompression, double-base multiplication.
//!
//! `cargo bench -p hanpyo-crypto` runs the criterion benchmarks, then prints a summary table with
//! each ballot's verification cost as a ratio to (a) the MSM limit for the number of points its
//! equations contain and (b) that limit plus one decompression per point (the ballot's own bytes
//! must be decoded once). `HANPYO_BENCH_QUICK=1` shortens every measurement.

mod common;
use common::median;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion};
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use hanpyo_crypto::ProofError;
use hanpyo_crypto::ballot::{ContestSpec, EncryptedContest};
use hanpyo_crypto::batch::{BatchVerifier, Verifiable, verify_batch};
use hanpyo_crypto::credential::{CredentialSigningKey, PublicCredential, SecretCredential};
use hanpyo_crypto::elgamal::{EncryptionKey, KeyTable, PublicKey, SecretKey};
use hanpyo_crypto::proofs::schnorr::SchnorrProof;
use hanpyo_crypto::transcript::ProofContext;
use sha2::{Digest, Sha512};

const BATCH: usize = 1000;

/// A ballot as it arrives: bytes. Verification decodes (decompresses) and checks everything.
struct WireBallot {
    credential: [u8; 32],
    contest: Vec<u8>,
    signature: [u8; 64],
}

struct Setup {
    ctx: ProofContext,
    pk: PublicKey,
    /// The same key with a precomputed table (what a simulation or load generator uses).
    table: KeyTable,
    spec: ContestSpec,
}

/// A decoded ballot, ready to be queued.
struct Decoded<'a> {
    setup: &'a Setup,
    credential: PublicCredential,
    contest: EncryptedContest,
    signature: SchnorrProof,
    digest: [u8; 64],
}

impl Verifiable for Decoded<'_> {
    fn queue(&self, batch: &mut BatchVerifier) -> Result<(), ProofError> {
        let ctx = self.setup.ctx.bound_to(*self.credential.as_bytes());
        self.contest
            .queue(&ctx, &self.setup.pk, &self.setup.spec, batch)?;
        self.credential
            .queue(&self.setup.ctx, &self.digest, &self.signature, batch);
        Ok(())
    }
}

fn decode<'a>(setup: &'a Setup, w: &WireBallot) -> Decoded<'a> {
    Decoded {
        setup,
        credential: PublicCredential::decode(&w.credential).expect("bench ballot"),
        contest: EncryptedContest::decode(&w.contest, &setup.spec).expect("bench ballot"),
        signature: SchnorrProof::decode(&w.signature).expect("bench ballot"),
        digest: Sha512::digest(&w.contest).into(),
    }
}

fn cast(setup: &Setup, key: &CredentialSigningKey, choice: u32) -> WireBallot {
    cast_under(setup, &setup.pk, key, choice)
}

fn cast_under<K: EncryptionKey>(
    setup: &Setup,
    pk: &K,
    key: &CredentialSigningKey,
    choice: u32,
) -> WireBallot {
    let mut rng = hanpyo_crypto::os_rng();
    let selections = answer(&setup.spec, choice);
    let ctx = setup.ctx.bound_to(*key.public().as_bytes());
    let (contest, _) =
        EncryptedContest::encrypt_with_rng(&ctx, pk, &setup.spec, &selections, &mut rng)
            .expect("valid selections");
    let bytes = contest.to_bytes();
    let digest: [u8; 64] = Sha512::digest(&bytes).into();
    WireBallot {
        credential: *key.public().as_bytes(),
        signature: key.sign_with_rng(&setup.ctx, &digest, &mut rng).to_bytes(),
        contest: bytes,
    }
}

/// An allowed answer of this shape, different for each `choice`: `max` selections from `choice`
/// on; for a scale, item `g`'s step `choice + g`; for a score, `(choice + j) mod (value_max + 1)`
/// points, lowered from the first choice on until within the budget.
fn answer(spec: &ContestSpec, choice: u32) -> Vec<u8> {
    let n = spec.choices;
    if spec.value_max > 1 {
        let mut v: Vec<u32> = (0..n)
            .map(|j| (choice + j) % (spec.value_max + 1))
            .collect();
        if spec.groups == 1 {
            let mut j = 0;
            while v.iter().sum::<u32>() > spec.max {
                v[j % n as usize] = v[j % n as usize].saturating_sub(1);
                j += 1;
            }
        }
        return v.iter().map(|&x| x as u8).collect();
    }
    if spec.groups > 1 {
        let len = n / spec.groups;
        return (0..n)
            .map(|j| u8::from(j % len == (choice + j / len) % len))
            .collect();
    }
    (0..n)
        .map(|j| {
            u8::from(if spec.max == 1 {
                j == choice
            } else {
                (j + choice) % n < spec.max
            })
        })
        .collect()
}

fn setup(spec: ContestSpec) -> Setup {
    let pk = SecretKey::generate().public_key();
    Setup {
        ctx: ProofContext::new([3u8; 32]),
        pk,
        table: KeyTable::new(&pk),
        spec,
    }
}

fn keys(n: usize) -> Vec<CredentialSigningKey> {
    (0..n)
        .map(|_| SecretCredential::generate().signing_key(b"bench"))
        .collect()
}

/// Points in a ballot's verification equations: per ciphertext its two points and two commitments
/// per branch of its range proof, per group two commitments per branch, and the signature's two.
fn points_per_ballot(spec: &ContestSpec) -> usize {
    let value_branches = spec.value_max + 1;
    let sum_branches = spec.max - spec.min + 1;
    let columns = if spec.columns {
        spec.choices / spec.groups
    } else {
        0
    };
    (spec.choices * (2 + 2 * value_branches) + spec.groups * 2 * sum_branches + columns * 2 * 2 + 2)
        as usize
}

/// The selection shapes, and score and scale questions (protocol.md §3.4).
fn shapes() -> Vec<(&'static str, ContestSpec)> {
    let score = |choices, value_max, budget: Option<u32>| ContestSpec {
        index: 0,
        choices,
        min: 0,
        max: budget.unwrap_or(0),
        value_max,
        groups: u32::from(budget.is_some()),
        columns: false,
    };
    vec![
        ("1-of-2", ContestSpec::selection(0, 2, 1, 1)),
        ("1-of-5", ContestSpec::selection(0, 5, 1, 1)),
        ("1-of-10", ContestSpec::selection(0, 10, 1, 1)),
        ("3-of-10", ContestSpec::selection(0, 10, 3, 3)),
        ("score-5x0..5", score(5, 5, None)),
        ("score-5x0..10", score(5, 10, None)),
        ("score-5x0..5-b10", score(5, 5, Some(10))),
        (
            "ranking-5x5",
            ContestSpec {
                index: 0,
                choices: 25,
                min: 0,
                max: 1,
                value_max: 1,
                groups: 5,
                columns: true,
            },
        ),
        (
            "scale-5x5",
            ContestSpec {
                index: 0,
                choices: 25,
                min: 1,
                max: 1,
                value_max: 1,
                groups: 5,
                columns: false,
            },
        ),
    ]
}

fn verify_batch_of(setup: &Setup, wire: &[WireBallot]) {
    let decoded: Vec<Decoded<'_>> = wire.iter().map(|w| decode(setup, w)).collect();
    verify_batch(&decoded).expect("valid batch");
}

fn random_points(n: usize) -> (Vec<Scalar>, Vec<RistrettoPoint>) {
    let mut rng = hanpyo_crypto::os_rng();
    (
        (0..n).map(|_| Scalar::random(&mut rng)).collect(),
        (0..n).map(|_| RistrettoPoint::random(&mut rng)).collect(),
    )
}

fn criterion_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("limits");
    for n in [64usize, 2048, 34 * BATCH] {
        let (s, p) = random_points(n);
        g.bench_function(format!("msm/{n}"), |b| {
            b.iter(|| RistrettoPoint::vartime_multiscalar_mul(black_box(&s), black_box(&p)))
        });
    }
    let enc = RistrettoPoint::random(&mut hanpyo_crypto::os_rng()).compress();
    g.bench_function("decompress", |b| b.iter(|| black_box(enc).decompress()));
    let mut rng = hanpyo_crypto::os_rng();
    let (a, bb) = (Scalar::random(&mut rng), Scalar::random(&mut rng));
    let p = RistrettoPoint::random(&mut rng);
    g.bench_function("double-base a*A+b*G", |b| {
        b.iter(|| {
            RistrettoPoint::vartime_double_scalar_mul_basepoint(
                black_box(&a),
                black_box(&p),
                black_box(&bb),
            )
        })
    });
    g.finish();

    let mut g = c.benchmark_group("ballot");
    for (name, spec) in shapes() {
        let choices = spec.choices;
        let s = setup(spec);
        let ks = keys(BATCH);
        g.bench_function(format!("{name}/encrypt+prove+sign"), |b| {
            b.iter(|| cast(&s, &ks[0], 1))
        });
        g.bench_function(format!("{name}/encrypt+prove+sign (key table)"), |b| {
            b.iter(|| cast_under(&s, &s.table, &ks[0], 1))
        });
        let wire: Vec<WireBallot> = ks
            .iter()
            .enumerate()
            .map(|(i, k)| cast(&s, k, i as u32 % choices))
            .collect();
        g.bench_function(format!("{name}/verify-one"), |b| {
            b.iter(|| assert!(decode(&s, &wire[0]).verify_alone()))
        });
        g.bench_function(format!("{name}/verify-batch-{BATCH}"), |b| {
            b.iter_batched(
                || (),
                |_| verify_batch_of(&s, &wire),
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn summary(quick: bool) {
    let runs = if quick { 3 } else { 7 };
    let n = 34 * BATCH;
    let (s, p) = random_points(n);
    let msm = median(runs, || {
        black_box(RistrettoPoint::vartime_multiscalar_mul(&s, &p));
    }) / n as f64;
    let encs: Vec<CompressedRistretto> = p.iter().take(10_000).map(|q| q.compress()).collect();
    let dec = median(runs, || {
        for e in &encs {
            black_box(e.decompress());
        }
    }) / encs.len() as f64;
    println!();
    println!("== summary (median of {runs}; one core) ==");
    println!(
        "MSM per point (n={n}): {:.2} µs; decompress: {:.2} µs",
        msm * 1e6,
        dec * 1e6
    );
    println!(
        "{:<16} {:>6} {:>12} {:>12} {:>12} {:>14} {:>10} {:>14} {:>10} {:>10}",
        "ballot",
        "points",
        "encrypt µs",
        "(table) µs",
        "verify-1 µs",
        "batch/ballot µs",
        "ballots/s",
        "× MSM limit",
        "× MSM+dec",
        "bytes"
    );
    for (name, spec) in shapes() {
        let choices = spec.choices;
        let st = setup(spec);
        let ks = keys(BATCH);
        let enc = median(runs, || {
            black_box(cast(&st, &ks[0], 1));
        });
        let enc_table = median(runs, || {
            black_box(cast_under(&st, &st.table, &ks[0], 1));
        });
        let wire: Vec<WireBallot> = ks
            .iter()
            .enumerate()
            .map(|(i, k)| cast(&st, k, i as u32 % choices))
            .collect();
        let one = median(runs * 5, || assert!(decode(&st, &wire[0]).verify_alone()));
        let batch = median(runs, || verify_batch_of(&st, &wire)) / BATCH as f64;
        let pts = points_per_ballot(&st.spec);
        let bytes = 32 + 64 + wire[0].contest.len();
        println!(
            "{:<16} {:>6} {:>12.0} {:>12.0} {:>12.0} {:>14.0} {:>10.0} {:>14.2} {:>10.2} {:>10}",
            name,
            pts,
            enc * 1e6,
            enc_table * 1e6,
            one * 1e6,
            batch * 1e6,
            2.0 / batch,
            batch / (pts as f64 * msm),
            batch / (pts as f64 * (msm + dec)),
            bytes
        );
    }
    println!(
        "(ballots/s assumes both cores; encrypt = encrypt + prove + sign one contest; (table) = the same under a KeyTable)"
    );
}

fn main() {
    let quick = std::env::var_os("HANPYO_BENCH_QUICK").is_some();
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(if quick { 200 } else { 1000 }))
        .measurement_time(Duration::from_secs(if quick { 1 } else { 4 }))
        .configure_from_args();
    criterion_benches(&mut c);
    c.final_summary();
    summary(quick);
}
