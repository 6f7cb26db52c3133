//! The re-encryption shuffle and its Terelius–Wikström proof: an honest shuffle verifies and keeps
//! every plaintext; a shuffle that drops, duplicates or replaces a row, a bad re-encryption, a
//! proof moved to another context or another key, and any altered proof value are refused.
mod common;
use common::{ctx, keypair, rng};
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use hanpyo_crypto::elgamal::{Ciphertext, PublicKey, SecretKey};
use hanpyo_crypto::group::Element;
use hanpyo_crypto::shuffle::{ShuffleProof, generator, generators, shuffle_with_rng};
use proptest::prelude::*;

/// `n` rows of `w` encryptions of `row·w + column` (so every row is recognisable once decrypted).
fn rows(pk: &PublicKey, n: usize, w: usize, seed: u8) -> Vec<Vec<Ciphertext>> {
    let mut r = rng(seed);
    (0..n)
        .map(|i| {
            (0..w)
                .map(|k| pk.encrypt_with_rng((i * w + k) as u64, &mut r).0)
                .collect()
        })
        .collect()
}

fn decrypt_all(sk: &SecretKey, rows: &[Vec<Ciphertext>]) -> Vec<Vec<RistrettoPoint>> {
    rows.iter()
        .map(|r| r.iter().map(|ct| sk.decrypt_to_point(ct)).collect())
        .collect()
}

fn sorted(mut v: Vec<Vec<RistrettoPoint>>) -> Vec<Vec<[u8; 32]>> {
    let mut out: Vec<Vec<[u8; 32]>> = v
        .drain(..)
        .map(|r| r.iter().map(|p| p.compress().to_bytes()).collect())
        .collect();
    out.sort();
    out
}

#[test]
fn an_honest_shuffle_verifies_keeps_every_plaintext_and_round_trips() {
    let (sk, pk) = keypair(60);
    let mut r = rng(61);
    for (n, w) in [(1, 1), (2, 3), (17, 5)] {
        let inputs = rows(&pk, n, w, 62);
        let (outputs, secret) = shuffle_with_rng(&pk, &inputs, &mut r).expect("shuffle");
        let proof = ShuffleProof::prove_with_rng(&ctx(), &pk, &inputs, &outputs, &secret, &mut r)
            .expect("proof");
        proof.verify(&ctx(), &pk, &inputs, &outputs).expect("valid");
        // Every ciphertext is fresh, every row's plaintexts survive (as a multiset of rows).
        for (i, o) in inputs.iter().zip(&outputs) {
            for (a, b) in i.iter().zip(o) {
                assert_ne!(a, b, "re-encrypted");
            }
        }
        assert_eq!(
            sorted(decrypt_all(&sk, &inputs)),
            sorted(decrypt_all(&sk, &outputs))
        );
        let bytes = proof.to_bytes();
        assert_eq!(bytes.len(), ShuffleProof::encoded_len(n, w));
        assert_eq!(
            ShuffleProof::decode(&bytes, n, w).expect("canonical"),
            proof
        );
        assert!(ShuffleProof::decode(&bytes, n + 1, w).is_err());
        assert!(ShuffleProof::decode(&bytes[1..], n, w).is_err());
    }
}

/// A mixer that cheats: the proof is made honestly for an honest shuffle, then the published
/// outputs differ from what it proves.
#[test]
fn a_dropped_duplicated_replaced_or_badly_reencrypted_row_is_refused() {
    let (_, pk) = keypair(63);
    let mut r = rng(64);
    let inputs = rows(&pk, 8, 3, 65);
    let (outputs, secret) = shuffle_with_rng(&pk, &inputs, &mut r).expect("shuffle");
    let proof = ShuffleProof::prove_with_rng(&ctx(), &pk, &inputs, &outputs, &secret, &mut r)
        .expect("proof");
    let refused = |outs: &[Vec<Ciphertext>]| proof.verify(&ctx(), &pk, &inputs, outs).is_err();
    // Dropped (and replaced by a copy of another): same length, one row twice.
    let mut dup = outputs.clone();
    dup[3] = dup[5].clone();
    assert!(refused(&dup), "a duplicated row");
    // Replaced by a fresh encryption of another vote.
    let mut replaced = outputs.clone();
    replaced[0] = (0..3).map(|_| pk.encrypt_with_rng(1, &mut r).0).collect();
    assert!(refused(&replaced), "a replaced row");
    // A bad re-encryption: one ciphertext shifted by G (its plaintext plus one).
    let mut shifted = outputs.clone();
    shifted[2][1] = Ciphertext::from_points(
        *shifted[2][1].alpha.point(),
        shifted[2][1].beta.point() + RistrettoPoint::mul_base(&Scalar::ONE),
    );
    assert!(refused(&shifted), "a changed plaintext");
    // Two rows swapped after proving.
    let mut swapped = outputs.clone();
    swapped.swap(1, 6);
    assert!(refused(&swapped), "an order other than the proven one");
    // A row dropped outright: the shapes no longer match.
    assert!(refused(&outputs[1..]), "a dropped row");
    // Mixing columns of one row with another's (a partial replacement).
    let mut mixed = outputs.clone();
    mixed[4][0] = outputs[7][0];
    assert!(refused(&mixed), "columns from another row");
}

/// A shuffle of other inputs, and a proof moved to another election or key, do not verify.
#[test]
fn a_proof_is_bound_to_its_inputs_context_and_key() {
    let (_, pk) = keypair(66);
    let (_, other_pk) = keypair(67);
    let mut r = rng(68);
    let inputs = rows(&pk, 5, 2, 69);
    let (outputs, secret) = shuffle_with_rng(&pk, &inputs, &mut r).expect("shuffle");
    let proof = ShuffleProof::prove_with_rng(&ctx(), &pk, &inputs, &outputs, &secret, &mut r)
        .expect("proof");
    let other_inputs = rows(&pk, 5, 2, 70);
    assert!(proof.verify(&ctx(), &pk, &other_inputs, &outputs).is_err());
    assert!(
        proof
            .verify(&ctx().at(1, 0), &pk, &inputs, &outputs)
            .is_err()
    );
    assert!(proof.verify(&ctx(), &other_pk, &inputs, &outputs).is_err());
}

#[test]
fn every_altered_proof_value_is_refused() {
    let (_, pk) = keypair(71);
    let mut r = rng(72);
    let inputs = rows(&pk, 4, 2, 73);
    let (outputs, secret) = shuffle_with_rng(&pk, &inputs, &mut r).expect("shuffle");
    let proof = ShuffleProof::prove_with_rng(&ctx(), &pk, &inputs, &outputs, &secret, &mut r)
        .expect("proof");
    let bytes = proof.to_bytes();
    // Flip one bit in every 32-byte value in turn (points that no longer decode are refused too).
    for at in (0..bytes.len()).step_by(32) {
        let mut b = bytes.clone();
        b[at] ^= 1;
        let ok = ShuffleProof::decode(&b, 4, 2)
            .map(|p| p.verify(&ctx(), &pk, &inputs, &outputs).is_ok())
            .unwrap_or(false);
        assert!(!ok, "value at byte {at} altered, still verifies");
    }
}

#[test]
fn the_generators_are_fixed_distinct_and_independent_of_g() {
    let (h, hs) = generators(4);
    assert_eq!(h, generator(None));
    assert_eq!(hs[3], generator(Some(3)));
    let mut all: Vec<[u8; 32]> = hs.iter().map(|e| *e.as_bytes()).collect();
    all.push(*h.as_bytes());
    all.push(*Element::generator().as_bytes());
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 6);
    // Pinned (docs/protocol.md §3.5), so another implementation can check its derivation.
    assert_eq!(
        hex::encode(h.as_bytes()),
        "f6fd7cbeab8fa9213c0598e6b4006c76d45734def011ec89b5314662ad45cc7b"
    );
    assert_eq!(
        hex::encode(hs[0].as_bytes()),
        "8e1ca9180f578ddebef0391d562874c95e674c8a2aae3e2ddaffe93408005550"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn any_shuffle_of_any_size_verifies(n in 1usize..12, w in 1usize..4, seed in any::<u8>()) {
        let (_, pk) = keypair(seed);
        let mut r = rng(seed.wrapping_add(1));
        let inputs = rows(&pk, n, w, seed.wrapping_add(2));
        let (outputs, secret) = shuffle_with_rng(&pk, &inputs, &mut r).expect("shuffle");
        let proof = ShuffleProof::prove_with_rng(&ctx(), &pk, &inputs, &outputs, &secret, &mut r).expect("proof");
        prop_assert!(proof.verify(&ctx(), &pk, &inputs, &outputs).is_ok());
    }
}
