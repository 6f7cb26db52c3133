//! Every proof: completeness, and rejection of any tampered statement, commitment, challenge or
//! response, and of a proof moved to another election, party, position or relation.
mod common;
use common::{ctx, keypair, rng};
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::scalar::Scalar;
use hanpyo_crypto::elgamal::{Ciphertext, Nonce};
use hanpyo_crypto::group::Element;
use hanpyo_crypto::proofs::chaum_pedersen::{ChaumPedersenProof, DleqStatement};
use hanpyo_crypto::proofs::disjunctive::DisjunctiveProof;
use hanpyo_crypto::proofs::labels;
use hanpyo_crypto::proofs::schnorr::SchnorrProof;
use hanpyo_crypto::transcript::ProofContext;

/// Flips every bit position class of every byte; each altered encoding must fail to decode or verify.
fn every_byte_flip_is_rejected(bytes: &[u8], accepts: impl Fn(&[u8]) -> bool) {
    assert!(accepts(bytes), "the untouched proof must verify");
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80] {
            let mut t = bytes.to_vec();
            t[i] ^= mask;
            assert!(
                !accepts(&t),
                "flipping byte {i} with mask {mask:#x} was accepted"
            );
        }
    }
}

fn other_contexts() -> Vec<ProofContext> {
    let base = ctx().at(1, 2);
    let mut other_fp = base;
    other_fp.fingerprint[0] ^= 1;
    vec![
        other_fp,
        base.bound_to([9u8; 32]),
        base.at(1, 3),
        base.at(2, 2),
    ]
}

#[test]
fn schnorr_proof_verifies_and_rejects_tampering() {
    let mut r = rng(1);
    let x = Scalar::from(123_456_789u64);
    let public = Element::from_point(RISTRETTO_BASEPOINT_POINT * x);
    let c = ctx().at(1, 2);
    let proof = SchnorrProof::prove_with_rng(labels::SCHNORR, &c, &x, &public, b"msg", &mut r);
    proof
        .verify(labels::SCHNORR, &c, &public, b"msg")
        .expect("valid");
    every_byte_flip_is_rejected(&proof.to_bytes(), |b| {
        SchnorrProof::decode(b)
            .is_ok_and(|p| p.verify(labels::SCHNORR, &c, &public, b"msg").is_ok())
    });
    // statement, message, relation and context
    let other = Element::from_point(RISTRETTO_BASEPOINT_POINT * (x + Scalar::ONE));
    assert!(proof.verify(labels::SCHNORR, &c, &other, b"msg").is_err());
    assert!(proof.verify(labels::SCHNORR, &c, &public, b"msh").is_err());
    assert!(
        proof
            .verify(labels::CREDENTIAL_SIGNATURE, &c, &public, b"msg")
            .is_err()
    );
    for oc in other_contexts() {
        assert!(proof.verify(labels::SCHNORR, &oc, &public, b"msg").is_err());
    }
    // a wrong witness does not give a valid proof
    let bad = SchnorrProof::prove_with_rng(
        labels::SCHNORR,
        &c,
        &(x + Scalar::ONE),
        &public,
        b"msg",
        &mut r,
    );
    assert!(bad.verify(labels::SCHNORR, &c, &public, b"msg").is_err());
}

#[test]
fn chaum_pedersen_proof_verifies_and_rejects_tampering() {
    let mut r = rng(2);
    let x = Scalar::from(987_654_321u64);
    let g2 = Element::from_point(RISTRETTO_BASEPOINT_POINT * Scalar::from(77u8));
    let st = DleqStatement {
        g1: Element::generator(),
        x1: Element::from_point(RISTRETTO_BASEPOINT_POINT * x),
        g2,
        x2: Element::from_point(g2.point() * x),
    };
    let c = ctx().at(1, 2);
    let proof = ChaumPedersenProof::prove_with_rng(labels::CHAUM_PEDERSEN, &c, &st, &x, &mut r);
    proof
        .verify(labels::CHAUM_PEDERSEN, &c, &st)
        .expect("valid");
    every_byte_flip_is_rejected(&proof.to_bytes(), |b| {
        ChaumPedersenProof::decode(b)
            .is_ok_and(|p| p.verify(labels::CHAUM_PEDERSEN, &c, &st).is_ok())
    });
    let shift = Element::from_point(st.x2.point() + RISTRETTO_BASEPOINT_POINT);
    for tampered in [
        DleqStatement { x2: shift, ..st },
        DleqStatement { x1: shift, ..st },
        DleqStatement { g2: shift, ..st },
        DleqStatement { g1: shift, ..st },
    ] {
        assert!(proof.verify(labels::CHAUM_PEDERSEN, &c, &tampered).is_err());
    }
    for oc in other_contexts() {
        assert!(proof.verify(labels::CHAUM_PEDERSEN, &oc, &st).is_err());
    }
    assert!(proof.verify(labels::DECRYPTION_SHARE, &c, &st).is_err());
    // unequal logs cannot be proven equal
    let lie = DleqStatement {
        x2: Element::from_point(g2.point() * (x + Scalar::ONE)),
        ..st
    };
    let bad = ChaumPedersenProof::prove_with_rng(labels::CHAUM_PEDERSEN, &c, &lie, &x, &mut r);
    assert!(bad.verify(labels::CHAUM_PEDERSEN, &c, &lie).is_err());
}

#[test]
fn selection_proof_verifies_for_zero_and_one_and_rejects_tampering() {
    let mut r = rng(3);
    let (_, pk) = keypair(4);
    let c = ctx().bound_to([5u8; 32]).at(1, 2);
    for m in [0u64, 1] {
        let (ct, nonce) = pk.encrypt_with_rng(m, &mut r);
        let proof = DisjunctiveProof::prove_with_rng(
            labels::SELECTION,
            &c,
            &pk,
            &ct,
            0,
            1,
            m,
            &nonce,
            &mut r,
        )
        .expect("in range");
        proof
            .verify(labels::SELECTION, &c, &pk, &ct, 0, 1)
            .expect("valid");
        every_byte_flip_is_rejected(&proof.to_bytes(), |b| {
            DisjunctiveProof::decode(b, 0, 1)
                .is_ok_and(|p| p.verify(labels::SELECTION, &c, &pk, &ct, 0, 1).is_ok())
        });
        // the statement: each half of the ciphertext, the key, the range
        let other = pk.encrypt_with_rng(m, &mut r).0;
        for tampered in [
            Ciphertext {
                alpha: other.alpha,
                ..ct
            },
            Ciphertext {
                beta: other.beta,
                ..ct
            },
        ] {
            assert!(
                proof
                    .verify(labels::SELECTION, &c, &pk, &tampered, 0, 1)
                    .is_err()
            );
        }
        let (_, other_pk) = keypair(9);
        assert!(
            proof
                .verify(labels::SELECTION, &c, &other_pk, &ct, 0, 1)
                .is_err()
        );
        assert!(proof.verify(labels::SELECTION, &c, &pk, &ct, 1, 2).is_err());
        assert!(
            proof
                .verify(labels::SELECTION_COUNT, &c, &pk, &ct, 0, 1)
                .is_err()
        );
        for oc in other_contexts() {
            assert!(
                proof
                    .verify(labels::SELECTION, &oc, &pk, &ct, 0, 1)
                    .is_err()
            );
        }
    }
}

#[test]
fn a_ciphertext_of_two_cannot_get_a_valid_zero_one_proof() {
    let mut r = rng(6);
    let (_, pk) = keypair(7);
    let c = ctx();
    let (ct2, nonce) = pk.encrypt_with_rng(2, &mut r);
    // The honest prover refuses.
    assert!(
        DisjunctiveProof::prove_with_rng(labels::SELECTION, &c, &pk, &ct2, 0, 1, 2, &nonce, &mut r)
            .is_err()
    );
    // A prover lying about the plaintext produces proofs that do not verify.
    for claimed in [0u64, 1] {
        let forged = DisjunctiveProof::prove_with_rng(
            labels::SELECTION,
            &c,
            &pk,
            &ct2,
            0,
            1,
            claimed,
            &nonce,
            &mut r,
        )
        .expect("prover takes the claim");
        assert!(
            forged
                .verify(labels::SELECTION, &c, &pk, &ct2, 0, 1)
                .is_err()
        );
    }
    // And a valid proof for an encryption of 1 does not transfer to `ct + Enc(1)`.
    let (ct1, n1) = pk.encrypt_with_rng(1, &mut r);
    let p1 =
        DisjunctiveProof::prove_with_rng(labels::SELECTION, &c, &pk, &ct1, 0, 1, 1, &n1, &mut r)
            .expect("valid");
    let shifted = Ciphertext::from_points(
        *ct1.alpha.point(),
        ct1.beta.point() + RISTRETTO_BASEPOINT_POINT,
    );
    assert!(
        p1.verify(labels::SELECTION, &c, &pk, &shifted, 0, 1)
            .is_err()
    );
}

#[test]
fn range_proof_covers_every_value_of_min_max_ranges() {
    let mut r = rng(8);
    let (_, pk) = keypair(10);
    let c = ctx().at(0, u32::MAX);
    for (lo, hi) in [(0u64, 0u64), (1, 1), (0, 3), (2, 5), (0, 10)] {
        for m in lo..=hi {
            let (ct, nonce) = pk.encrypt_with_rng(m, &mut r);
            let proof = DisjunctiveProof::prove_with_rng(
                labels::SELECTION_COUNT,
                &c,
                &pk,
                &ct,
                lo,
                hi,
                m,
                &nonce,
                &mut r,
            )
            .expect("in range");
            proof
                .verify(labels::SELECTION_COUNT, &c, &pk, &ct, lo, hi)
                .expect("valid");
            let decoded = DisjunctiveProof::decode(&proof.to_bytes(), lo, hi).expect("canonical");
            assert_eq!(decoded, proof);
        }
        // values just outside the range cannot be proven
        for outside in [lo.wrapping_sub(1), hi + 1] {
            if outside > 1_000 {
                continue;
            }
            let (ct, nonce) = pk.encrypt_with_rng(outside, &mut r);
            for claimed in lo..=hi {
                let forged = DisjunctiveProof::prove_with_rng(
                    labels::SELECTION_COUNT,
                    &c,
                    &pk,
                    &ct,
                    lo,
                    hi,
                    claimed,
                    &nonce,
                    &mut r,
                )
                .expect("prover takes the claim");
                assert!(
                    forged
                        .verify(labels::SELECTION_COUNT, &c, &pk, &ct, lo, hi)
                        .is_err()
                );
            }
        }
    }
}

#[test]
fn proofs_of_the_wrong_shape_are_refused() {
    let mut r = rng(11);
    let (_, pk) = keypair(12);
    let c = ctx();
    let (ct, nonce) = pk.encrypt_with_rng(1, &mut r);
    let proof =
        DisjunctiveProof::prove_with_rng(labels::SELECTION, &c, &pk, &ct, 0, 1, 1, &nonce, &mut r)
            .expect("valid");
    let bytes = proof.to_bytes();
    assert!(DisjunctiveProof::decode(&bytes, 0, 2).is_err());
    assert!(DisjunctiveProof::decode(&bytes[..bytes.len() - 1], 0, 1).is_err());
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(DisjunctiveProof::decode(&longer, 0, 1).is_err());
    assert!(proof.verify(labels::SELECTION, &c, &pk, &ct, 0, 2).is_err());
    assert!(proof.verify(labels::SELECTION, &c, &pk, &ct, 2, 1).is_err());
    // nonce bookkeeping is consistent with a second encryption
    let again = pk.encrypt_with_nonce(1, &Nonce::from_scalar(*nonce.as_scalar()));
    assert_eq!(again, ct);
}
