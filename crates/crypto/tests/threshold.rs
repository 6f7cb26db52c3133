//! Pedersen DKG with Feldman commitments, commit-before-reveal and complaints; threshold
//! decryption with proofs and Lagrange combination.
mod common;
use common::{ctx, rng};
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::scalar::Scalar;
use hanpyo_crypto::dlog::DlogTable;
use hanpyo_crypto::elgamal::{Ciphertext, PublicKey, SecretKey};
use hanpyo_crypto::threshold::{
    CeremonyOutcome, CeremonyTranscript, Complaint, Dealer, DealerCommitment, Disqualification,
    EncryptedShare, KeyShare, PartialDecryption, ShareError, ThresholdParams,
    combine_partial_decryptions, resolve_ceremony,
};
use rand_core::CryptoRng;

struct Ceremony {
    params: ThresholdParams,
    comm_secrets: Vec<SecretKey>,
    comm_keys: Vec<PublicKey>,
    dealers: Vec<Dealer>,
    commitments: Vec<DealerCommitment>,
    digests: Vec<Option<[u8; 32]>>,
    shares: Vec<EncryptedShare>,
}

fn run_rounds(n: u32, t: u32, r: &mut impl CryptoRng) -> Ceremony {
    let c = ctx();
    let params = ThresholdParams::new(n, t).expect("params");
    let comm_secrets: Vec<SecretKey> = (0..n).map(|_| SecretKey::generate_with_rng(r)).collect();
    let comm_keys = comm_secrets.iter().map(SecretKey::public_key).collect();
    let dealers: Vec<Dealer> = (1..=n)
        .map(|i| Dealer::new_with_rng(params, i, r).expect("dealer"))
        .collect();
    let commitments: Vec<DealerCommitment> = dealers
        .iter()
        .map(|d| d.commitment_with_rng(&c, r))
        .collect();
    let digests = commitments.iter().map(|cm| Some(cm.digest(&c))).collect();
    let mut ceremony = Ceremony {
        params,
        comm_secrets,
        comm_keys,
        dealers,
        commitments,
        digests,
        shares: Vec::new(),
    };
    for d in &ceremony.dealers {
        for j in (1..=n).filter(|&j| j != d.index()) {
            let share = d
                .encrypted_share_with_rng(&c, j, &ceremony.comm_keys[(j - 1) as usize], r)
                .expect("share");
            ceremony.shares.push(share);
        }
    }
    ceremony
}

impl Ceremony {
    fn transcript<'a>(&'a self, complaints: &'a [Complaint]) -> CeremonyTranscript<'a> {
        CeremonyTranscript {
            params: self.params,
            trustee_keys: &self.comm_keys,
            digests: &self.digests,
            commitments: &self.commitments,
            shares: &self.shares,
            complaints,
        }
    }

    /// Trustee `j` opens what it received from the qualified dealers and combines its key share.
    fn key_share(&self, j: u32, outcome: &CeremonyOutcome) -> KeyShare {
        let c = ctx();
        let mut parts = Vec::new();
        for &i in &outcome.qualified {
            if i == j {
                parts.push(self.dealers[(i - 1) as usize].share_for(j).expect("own"));
            } else {
                let share = self
                    .shares
                    .iter()
                    .find(|s| s.dealer == i && s.recipient == j)
                    .expect("share present");
                let cm = &self.commitments[(i - 1) as usize];
                parts.push(
                    share
                        .open(&c, &self.comm_secrets[(j - 1) as usize], cm)
                        .expect("valid share"),
                );
            }
        }
        KeyShare::combine(j, &parts, outcome).expect("share matches Y_j")
    }
}

fn decrypt_with(
    params: &ThresholdParams,
    shares: &[KeyShare],
    outcome: &CeremonyOutcome,
    ct: &Ciphertext,
    r: &mut impl CryptoRng,
) -> Option<u64> {
    let c = ctx().at(0, 0);
    let partials: Vec<PartialDecryption> = shares
        .iter()
        .map(|s| {
            let y = outcome.verification_key(s.index()).expect("Y_j");
            let p = s.partial_decrypt_with_rng(&c, y, ct, r);
            p.verify(&c, y, ct).expect("valid partial decryption");
            p
        })
        .collect();
    let point = combine_partial_decryptions(params, ct, &partials).ok()?;
    DlogTable::new(1_000).decode(&point)
}

#[test]
fn dkg_and_threshold_decryption_for_several_t_of_n() {
    let mut r = rng(20);
    for (t, n) in [(1u32, 1u32), (2, 3), (3, 5), (5, 9)] {
        let cer = run_rounds(n, t, &mut r);
        let outcome = resolve_ceremony(&ctx(), &cer.transcript(&[])).expect("ceremony succeeds");
        assert_eq!(outcome.qualified, (1..=n).collect::<Vec<_>>());
        assert!(outcome.disqualified.is_empty());
        // The joint key is the sum of the constant terms: check through a decryption.
        let shares: Vec<KeyShare> = (1..=n).map(|j| cer.key_share(j, &outcome)).collect();
        let (ct, _) = outcome.joint_key.encrypt_with_rng(42, &mut r);
        // exactly t: the first t, and the last t
        assert_eq!(
            decrypt_with(&cer.params, &shares[..t as usize], &outcome, &ct, &mut r),
            Some(42)
        );
        assert_eq!(
            decrypt_with(
                &cer.params,
                &shares[(n - t) as usize..],
                &outcome,
                &ct,
                &mut r
            ),
            Some(42)
        );
        // all n
        assert_eq!(
            decrypt_with(&cer.params, &shares, &outcome, &ct, &mut r),
            Some(42)
        );
        // fewer than t: refused, and the Lagrange combination of t−1 shares is wrong anyway
        if t > 1 {
            let few = &shares[..(t - 1) as usize];
            assert_eq!(decrypt_with(&cer.params, few, &outcome, &ct, &mut r), None);
            let loose = ThresholdParams::new(n, t - 1).expect("params");
            assert_ne!(decrypt_with(&loose, few, &outcome, &ct, &mut r), Some(42));
        }
    }
}

#[test]
fn a_wrong_partial_decryption_is_rejected() {
    let mut r = rng(21);
    let cer = run_rounds(3, 2, &mut r);
    let outcome = resolve_ceremony(&ctx(), &cer.transcript(&[])).expect("ok");
    let s1 = cer.key_share(1, &outcome);
    let s2 = cer.key_share(2, &outcome);
    let (ct, _) = outcome.joint_key.encrypt_with_rng(3, &mut r);
    let c = ctx().at(0, 0);
    let y1 = outcome.verification_key(1).expect("Y_1");
    let y2 = outcome.verification_key(2).expect("Y_2");
    let p1 = s1.partial_decrypt_with_rng(&c, y1, &ct, &mut r);
    // a share of trustee 2 presented as trustee 1's, a share for another position, a shifted share
    let p2 = s2.partial_decrypt_with_rng(&c, y2, &ct, &mut r);
    assert!(p2.verify(&c, y1, &ct).is_err());
    assert!(p1.verify(&ctx().at(0, 1), y1, &ct).is_err());
    let mut shifted = p1;
    shifted.share = (p1.share.point() + RISTRETTO_BASEPOINT_POINT).into();
    assert!(shifted.verify(&c, y1, &ct).is_err());
    // a trustee with a wrong secret cannot prove its share
    let liar = KeyShare::from_parts(1, Scalar::from(5u8));
    assert!(
        liar.partial_decrypt_with_rng(&c, y1, &ct, &mut r)
            .verify(&c, y1, &ct)
            .is_err()
    );
}

#[test]
fn a_cheating_dealer_is_detected_and_named() {
    let mut r = rng(22);
    let c = ctx();
    let mut cer = run_rounds(5, 3, &mut r);
    // Dealer 2 sends trustee 4 a share from a different polynomial than the one it committed to.
    let other_poly = Dealer::new_with_rng(cer.params, 2, &mut r).expect("dealer");
    let bad = other_poly
        .encrypted_share_with_rng(&c, 4, &cer.comm_keys[3], &mut r)
        .expect("share");
    let slot = cer
        .shares
        .iter()
        .position(|s| s.dealer == 2 && s.recipient == 4)
        .expect("present");
    cer.shares[slot] = bad.clone();
    // Dealer 5 sends trustee 1 garbage.
    let slot5 = cer
        .shares
        .iter()
        .position(|s| s.dealer == 5 && s.recipient == 1)
        .expect("present");
    cer.shares[slot5].ciphertext[3] ^= 0x40;

    // The recipients notice and complain.
    assert_eq!(
        bad.open(&c, &cer.comm_secrets[3], &cer.commitments[1])
            .err(),
        Some(ShareError::Inconsistent)
    );
    assert_eq!(
        cer.shares[slot5]
            .open(&c, &cer.comm_secrets[0], &cer.commitments[4])
            .err(),
        Some(ShareError::Undecryptable)
    );
    let complaints = vec![
        Complaint::new_with_rng(&c, &cer.comm_secrets[3], &bad, &mut r),
        Complaint::new_with_rng(&c, &cer.comm_secrets[0], &cer.shares[slot5], &mut r),
        // A false accusation by trustee 3 against honest dealer 1 is ignored.
        Complaint::new_with_rng(
            &c,
            &cer.comm_secrets[2],
            cer.shares
                .iter()
                .find(|s| s.dealer == 1 && s.recipient == 3)
                .expect("present"),
            &mut r,
        ),
    ];
    let outcome = resolve_ceremony(&c, &cer.transcript(&complaints)).expect("3 of 5 remain");
    assert_eq!(outcome.qualified, vec![1, 3, 4]);
    assert_eq!(
        outcome.disqualified,
        vec![
            (
                2,
                Disqualification::BadShare {
                    accuser: 4,
                    reason: ShareError::Inconsistent
                }
            ),
            (
                5,
                Disqualification::BadShare {
                    accuser: 1,
                    reason: ShareError::Undecryptable
                }
            ),
        ]
    );
    // The remaining dealers' key still works, with any three trustees (including the cheaters,
    // whose shares from the honest dealers are valid).
    let shares: Vec<KeyShare> = [2u32, 4, 5]
        .iter()
        .map(|&j| cer.key_share(j, &outcome))
        .collect();
    let (ct, _) = outcome.joint_key.encrypt_with_rng(7, &mut r);
    assert_eq!(
        decrypt_with(&cer.params, &shares, &outcome, &ct, &mut r),
        Some(7)
    );

    // A complaint with a forged Diffie–Hellman value cannot frame dealer 1.
    let honest = cer
        .shares
        .iter()
        .find(|s| s.dealer == 1 && s.recipient == 3)
        .expect("present");
    let mut framed = Complaint::new_with_rng(&c, &cer.comm_secrets[2], honest, &mut r);
    framed.dh = (framed.dh.point() + RISTRETTO_BASEPOINT_POINT).into();
    assert!(
        framed
            .adjudicate(&c, &cer.comm_keys[2], honest, &cer.commitments[0])
            .is_err()
    );
}

#[test]
fn too_many_cheaters_make_the_ceremony_fail_clearly() {
    let mut r = rng(23);
    let c = ctx();
    let mut cer = run_rounds(3, 3, &mut r);
    let slot = cer
        .shares
        .iter()
        .position(|s| s.dealer == 1 && s.recipient == 2)
        .expect("present");
    cer.shares[slot].ciphertext[0] ^= 1;
    let complaint = Complaint::new_with_rng(&c, &cer.comm_secrets[1], &cer.shares[slot], &mut r);
    let err = resolve_ceremony(&c, &cer.transcript(&[complaint])).expect_err("only 2 of 3 qualify");
    assert!(err.to_string().contains("fewer than t"), "{err}");
}

#[test]
fn commit_before_reveal_and_missing_messages_disqualify() {
    let mut r = rng(24);
    let c = ctx();
    let mut cer = run_rounds(4, 2, &mut r);
    // Dealer 1 reveals a different commitment than the digest it published (a rushing attempt).
    let replacement = Dealer::new_with_rng(cer.params, 1, &mut r).expect("dealer");
    cer.commitments[0] = replacement.commitment_with_rng(&c, &mut r);
    // Dealer 2 never published a digest; dealer 3 withheld its share for trustee 4.
    cer.digests[1] = None;
    cer.shares.retain(|s| !(s.dealer == 3 && s.recipient == 4));
    // Dealer 4's proof of knowledge is broken (and its digest matches the broken commitment).
    cer.commitments[3].proofs[1].response += Scalar::ONE;
    cer.digests[3] = Some(cer.commitments[3].digest(&c));
    let err = resolve_ceremony(&c, &cer.transcript(&[])).expect_err("nobody qualifies");
    assert!(err.to_string().contains("fewer than t"));

    // With only dealer 1's problem, the others qualify and the reason is given.
    let mut cer = run_rounds(4, 2, &mut r);
    let replacement = Dealer::new_with_rng(cer.params, 1, &mut r).expect("dealer");
    cer.commitments[0] = replacement.commitment_with_rng(&c, &mut r);
    cer.shares.retain(|s| !(s.dealer == 3 && s.recipient == 4));
    let outcome = resolve_ceremony(&c, &cer.transcript(&[])).expect("2 qualify");
    assert_eq!(outcome.qualified, vec![2, 4]);
    assert_eq!(
        outcome.disqualified,
        vec![
            (1, Disqualification::DigestMismatch),
            (3, Disqualification::MissingShare(4))
        ]
    );
}

#[test]
fn parameters_are_checked() {
    assert!(ThresholdParams::new(3, 0).is_err());
    assert!(ThresholdParams::new(3, 4).is_err());
    assert!(ThresholdParams::new(33, 2).is_err());
    assert!(ThresholdParams::new(32, 32).is_ok());
    let p = ThresholdParams::new(3, 2).expect("ok");
    assert!(Dealer::new_with_rng(p, 0, &mut rng(1)).is_err());
    assert!(Dealer::new_with_rng(p, 4, &mut rng(1)).is_err());
}
