//! The mix-net's cost: shuffle + proof and proof verification per ciphertext, as a ratio to the
//! multiscalar-multiplication limit measured in the same run, and the projection for 1M and 10M
//! ballots. `HANPYO_BENCH_QUICK=1` shortens it; `HANPYO_SHUFFLE_ROWS` sets the rows (default 2000).
//!
//! Not criterion: one shuffle of thousands of rows takes seconds; the median of a few runs is what
//! a mixing trustee will see.
mod common;
use common::median;
use std::hint::black_box;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use hanpyo_crypto::elgamal::{Ciphertext, SecretKey};
use hanpyo_crypto::shuffle::{ShuffleProof, shuffle_with_rng};
use hanpyo_crypto::transcript::ProofContext;

fn main() {
    let quick = std::env::var_os("HANPYO_BENCH_QUICK").is_some();
    let runs = if quick { 1 } else { 3 };
    let n: usize = std::env::var("HANPYO_SHUFFLE_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let mut rng = hanpyo_crypto::os_rng();
    let (s, p): (Vec<Scalar>, Vec<RistrettoPoint>) = (0..34_000)
        .map(|_| (Scalar::random(&mut rng), RistrettoPoint::random(&mut rng)))
        .unzip();
    let msm = median(3, || {
        black_box(RistrettoPoint::vartime_multiscalar_mul(&s, &p));
    }) / s.len() as f64;
    let pk = SecretKey::generate().public_key();
    let ctx = ProofContext::new([9u8; 32]);
    println!("== shuffle (one core; median of {runs}; {n} rows) ==");
    println!("MSM per point: {:.2} µs", msm * 1e6);
    println!(
        "{:>5} {:>14} {:>14} {:>12} {:>12} {:>14} {:>16} {:>16}",
        "width",
        "shuffle+prove s",
        "verify s",
        "prove µs/ct",
        "verify µs/ct",
        "verify × MSM",
        "1M verify (h)",
        "10M verify (h)"
    );
    for w in [1usize, 5, 25] {
        let rows = (n / w).max(2);
        let inputs: Vec<Vec<Ciphertext>> = (0..rows)
            .map(|_| (0..w).map(|_| pk.encrypt_with_rng(1, &mut rng).0).collect())
            .collect();
        let mut made = None;
        let prove = median(runs, || {
            let (outputs, secret) = shuffle_with_rng(&pk, &inputs, &mut rng).expect("shuffle");
            let proof =
                ShuffleProof::prove_with_rng(&ctx, &pk, &inputs, &outputs, &secret, &mut rng)
                    .expect("proof");
            made = Some((outputs, proof));
        });
        let (outputs, proof) = made.expect("made");
        let verify = median(runs, || {
            proof.verify(&ctx, &pk, &inputs, &outputs).expect("valid");
        });
        let cts = (rows * w) as f64;
        // The MSM lower bound for verification: each ciphertext's α and β appear twice (input
        // and output), plus about 4 points per row (c_j, ĉ_i, t̂_i, H_i).
        let points = cts * 4.0 + rows as f64 * 4.0;
        let per_ballot = verify / rows as f64;
        println!(
            "{:>5} {:>14.2} {:>14.2} {:>12.1} {:>12.1} {:>14.2} {:>16.2} {:>16.1}",
            w,
            prove,
            verify,
            prove / cts * 1e6,
            verify / cts * 1e6,
            verify / (points * msm),
            per_ballot * 1e6 / 3600.0,
            per_ballot * 1e7 / 3600.0
        );
    }
    println!(
        "(rows = ballots; width = ciphertexts a ballot; per mixing trustee, one core each step)"
    );
}
