//! Encrypted contests (1-of-n, k-of-n, referendum, scores with and without a budget, scales),
//! Benaloh openings and batch verification that names the bad items.
mod common;
use common::{ctx, keypair, rng};
use hanpyo_crypto::ProofError;
use hanpyo_crypto::ballot::{ContestSpec, EncryptedContest};
use hanpyo_crypto::batch::{BatchVerifier, Verifiable, find_invalid, verify_batch};
use hanpyo_crypto::elgamal::{Nonce, PublicKey};
use hanpyo_crypto::transcript::ProofContext;
use proptest::prelude::*;

struct Item {
    ctx: ProofContext,
    pk: PublicKey,
    spec: ContestSpec,
    contest: EncryptedContest,
}

impl Verifiable for Item {
    fn queue(&self, batch: &mut BatchVerifier) -> Result<(), ProofError> {
        self.contest.queue(&self.ctx, &self.pk, &self.spec, batch)
    }
}

fn spec(choices: u32, min: u32, max: u32) -> ContestSpec {
    ContestSpec::selection(0, choices, min, max)
}

/// A score question: `choices` values in `0..=points`, the total bounded by `budget` if given.
fn score(choices: u32, points: u32, budget: Option<u32>) -> ContestSpec {
    ContestSpec {
        index: 0,
        choices,
        min: 0,
        max: budget.unwrap_or(0),
        value_max: points,
        groups: u32::from(budget.is_some()),
        columns: false,
    }
}

/// A scale question: `items` items of `steps` steps, one step per item.
fn scale(items: u32, steps: u32) -> ContestSpec {
    ContestSpec {
        index: 0,
        choices: items * steps,
        min: 1,
        max: 1,
        value_max: 1,
        groups: items,
        columns: false,
    }
}

/// A ranking: `ranks` groups (one per rank) of `choices` 0/1 values, at most one choice per rank
/// and each choice at most at one rank.
fn ranking(ranks: u32, choices: u32) -> ContestSpec {
    ContestSpec {
        index: 0,
        choices: ranks * choices,
        min: 0,
        max: 1,
        value_max: 1,
        groups: ranks,
        columns: true,
    }
}

/// The rank-major 0/1 values of `order` (choice indices, most preferred first).
fn ranked(ranks: u32, choices: u32, order: &[u32]) -> Vec<u8> {
    let mut v = vec![0u8; (ranks * choices) as usize];
    for (r, &c) in order.iter().enumerate() {
        v[r * choices as usize + c as usize] = 1;
    }
    v
}

fn selections(choices: u32, chosen: &[u32]) -> Vec<u8> {
    (0..choices)
        .map(|j| u8::from(chosen.contains(&j)))
        .collect()
}

#[test]
fn every_allowed_selection_verifies_and_decodes() {
    let mut r = rng(40);
    let (_, pk) = keypair(41);
    let c = ctx().bound_to([1u8; 32]);
    let cases: &[(ContestSpec, &[u32])] = &[
        (spec(2, 1, 1), &[0]), // referendum yes
        (spec(2, 1, 1), &[1]), // referendum no
        (spec(5, 1, 1), &[3]), // 1 of 5
        (spec(10, 0, 3), &[]), // up to 3 of 10: blank
        (spec(10, 0, 3), &[1, 4, 9]),
        (spec(10, 3, 3), &[0, 1, 2]),
        (spec(4, 2, 4), &[0, 1, 2, 3]),
    ];
    for (s, chosen) in cases {
        assert_round_trip(&c, &pk, s, &selections(s.choices, chosen), &mut r);
    }
}

/// `values` encrypted under `s` verify, encode canonically to `s`'s length, decode to the same
/// contest, and their opening reveals them again.
fn assert_round_trip(
    c: &ProofContext,
    pk: &PublicKey,
    s: &ContestSpec,
    values: &[u8],
    r: &mut impl rand_core::CryptoRng,
) {
    let (contest, opening) =
        EncryptedContest::encrypt_with_rng(c, pk, s, values, r).expect("allowed");
    contest.verify(c, pk, s).expect("valid");
    let bytes = contest.to_bytes();
    assert_eq!(bytes.len(), s.encoded_len());
    assert_eq!(
        EncryptedContest::decode(&bytes, s).expect("canonical"),
        contest
    );
    assert_eq!(
        contest
            .check_opening(pk, s, &opening)
            .expect("opening matches"),
        values.to_vec()
    );
}

#[test]
fn every_allowed_score_and_scale_answer_verifies_and_decodes() {
    let mut r = rng(50);
    let (_, pk) = keypair(51);
    let c = ctx().bound_to([1u8; 32]);
    let cases: &[(ContestSpec, &[u8])] = &[
        (score(3, 5, None), &[0, 0, 0]),
        (score(3, 5, None), &[5, 5, 5]),
        (score(4, 10, Some(10)), &[3, 0, 7, 0]),
        (score(4, 10, Some(10)), &[0, 0, 0, 0]),
        (score(2, 3, Some(6)), &[3, 3]),
        (scale(2, 5), &[0, 0, 1, 0, 0, 1, 0, 0, 0, 0]),
        (scale(3, 2), &[1, 0, 0, 1, 0, 1]),
    ];
    for (s, values) in cases {
        assert_round_trip(&c, &pk, s, values, &mut r);
    }
}

#[test]
fn scores_over_their_limit_or_budget_and_scales_with_two_steps_are_refused() {
    let (_, pk) = keypair(52);
    let mut r = rng(53);
    let c = ctx();
    let refused = |s: ContestSpec, values: &[u8], r: &mut _| {
        EncryptedContest::encrypt_with_rng(&c, &pk, &s, values, r).is_err()
    };
    assert!(refused(score(3, 5, None), &[6, 0, 0], &mut r));
    assert!(refused(score(3, 5, Some(8)), &[5, 4, 0], &mut r));
    assert!(refused(scale(2, 3), &[1, 1, 0, 0, 0, 1], &mut r));
    assert!(refused(scale(2, 3), &[0, 0, 0, 0, 0, 1], &mut r));
    assert!(refused(scale(2, 3), &[2, 0, 0, 0, 0, 1], &mut r));
    // Shapes that cannot be: groups that do not divide, a budget above the possible total.
    assert!(refused(
        ContestSpec {
            groups: 4,
            columns: false,
            ..scale(2, 3)
        },
        &[1, 0, 0, 1, 0, 0],
        &mut r
    ));
    assert!(refused(score(2, 3, Some(7)), &[1, 1], &mut r));
    assert!(refused(score(2, 0, None), &[0, 0], &mut r));
}

/// A cheating device cannot make an over-budget or over-range score verify: a proof made for a
/// wider range (the honest prover's limits relaxed) fails against the manifest's shape, and so
/// does a scale answer whose item proof was made for another item.
#[test]
fn a_score_proven_for_a_wider_range_fails_against_the_manifest_shape() {
    let mut r = rng(54);
    let (_, pk) = keypair(55);
    let c = ctx();
    let manifest = score(3, 5, Some(8));
    // The device proves [0, 9] for one value and a total in [0, 15].
    let (wide, _) =
        EncryptedContest::encrypt_with_rng(&c, &pk, &score(3, 9, Some(15)), &[9, 5, 0], &mut r)
            .expect("its own shape");
    assert!(EncryptedContest::decode(&wide.to_bytes(), &manifest).is_err());
    assert!(wide.verify(&c, &pk, &manifest).is_err());
    // Same lengths, a lie inside: values within [0, 5] but the total proven in [0, 10].
    let (over, _) =
        EncryptedContest::encrypt_with_rng(&c, &pk, &score(3, 5, Some(10)), &[5, 5, 0], &mut r)
            .expect("its own shape");
    let mut forged = over.clone();
    forged.sum_proofs[0] =
        EncryptedContest::encrypt_with_rng(&c, &pk, &manifest, &[5, 3, 0], &mut r)
            .expect("honest")
            .0
            .sum_proofs[0]
            .clone();
    assert!(forged.verify(&c, &pk, &manifest).is_err());
    // A scale's item proofs are bound to their positions: swapping two items' sum proofs fails.
    let s = scale(2, 3);
    let (contest, _) =
        EncryptedContest::encrypt_with_rng(&c, &pk, &s, &[1, 0, 0, 0, 1, 0], &mut r).expect("ok");
    let mut swapped = contest.clone();
    swapped.sum_proofs.swap(0, 1);
    assert!(swapped.verify(&c, &pk, &s).is_err());
    // A Benaloh opening that claims a value above the limit is refused even if it re-encrypts.
    let (plain, opening) =
        EncryptedContest::encrypt_with_rng(&c, &pk, &score(1, 9, None), &[7], &mut r).expect("ok");
    assert!(
        plain
            .check_opening(&pk, &score(1, 5, None), &opening)
            .is_err()
    );
}

#[test]
fn selections_outside_the_limits_are_refused() {
    let (_, pk) = keypair(42);
    let mut r = rng(43);
    let c = ctx();
    assert!(
        EncryptedContest::encrypt_with_rng(
            &c,
            &pk,
            &spec(5, 1, 1),
            &selections(5, &[0, 1]),
            &mut r
        )
        .is_err()
    );
    assert!(
        EncryptedContest::encrypt_with_rng(&c, &pk, &spec(5, 1, 1), &selections(5, &[]), &mut r)
            .is_err()
    );
    assert!(
        EncryptedContest::encrypt_with_rng(&c, &pk, &spec(5, 1, 1), &selections(4, &[0]), &mut r)
            .is_err()
    );
    assert!(
        EncryptedContest::encrypt_with_rng(&c, &pk, &spec(5, 3, 2), &selections(5, &[0]), &mut r)
            .is_err()
    );
    assert!(EncryptedContest::encrypt_with_rng(&c, &pk, &spec(0, 0, 0), &[], &mut r).is_err());
}

#[test]
fn a_contest_moved_to_another_voter_or_question_fails() {
    let mut r = rng(44);
    let (_, pk) = keypair(45);
    let c = ctx().bound_to([1u8; 32]);
    let s = spec(5, 1, 1);
    let (contest, _) =
        EncryptedContest::encrypt_with_rng(&c, &pk, &s, &selections(5, &[2]), &mut r).expect("ok");
    assert!(contest.verify(&c.bound_to([2u8; 32]), &pk, &s).is_err());
    assert!(
        contest
            .verify(&c, &pk, &ContestSpec { index: 1, ..s })
            .is_err()
    );
    assert!(contest.verify(&c, &pk, &spec(5, 1, 2)).is_err());
    // Two selections swapped: each 0/1 proof is bound to its choice position.
    let mut swapped = contest.clone();
    swapped.selections.swap(0, 2);
    assert!(swapped.verify(&c, &pk, &s).is_err());
}

#[test]
fn a_benaloh_opening_with_a_wrong_nonce_or_plaintext_is_rejected() {
    let mut r = rng(46);
    let (_, pk) = keypair(47);
    let c = ctx();
    let s = spec(3, 1, 1);
    let (contest, opening) =
        EncryptedContest::encrypt_with_rng(&c, &pk, &s, &selections(3, &[1]), &mut r).expect("ok");
    let mut lie = opening.clone();
    lie.values = vec![1, 0, 0];
    assert!(contest.check_opening(&pk, &s, &lie).is_err());
    let mut wrong_nonce = opening.clone();
    wrong_nonce.nonces[0] = Nonce::from_scalar(
        wrong_nonce.nonces[0].as_scalar() + curve25519_dalek::scalar::Scalar::ONE,
    );
    assert!(contest.check_opening(&pk, &s, &wrong_nonce).is_err());
}

#[test]
fn a_batch_names_exactly_the_invalid_items() {
    let mut r = rng(48);
    let (_, pk) = keypair(49);
    let s = spec(5, 1, 1);
    let mut items: Vec<Item> = (0..40u8)
        .map(|v| {
            let c = ctx().bound_to([v; 32]);
            let (contest, _) = EncryptedContest::encrypt_with_rng(
                &c,
                &pk,
                &s,
                &selections(5, &[u32::from(v) % 5]),
                &mut r,
            )
            .expect("ok");
            Item {
                ctx: c,
                pk,
                spec: s,
                contest,
            }
        })
        .collect();
    assert_eq!(verify_batch(&items), Ok(()));
    assert!(find_invalid(&items).is_empty());
    // Corrupt three items in different ways: a response, a commitment, a statement (ciphertext).
    items[3].contest.selections[1].proof.responses[0] += curve25519_dalek::scalar::Scalar::ONE;
    items[17].contest.sum_proofs[0].commitments[0].0 =
        items[16].contest.sum_proofs[0].commitments[0].0;
    let other = items[30].contest.selections[4].ciphertext;
    items[29].contest.selections[4].ciphertext = other;
    assert_eq!(
        verify_batch(&items),
        Err(ProofError::BatchFailed(vec![3, 17, 29]))
    );
    assert_eq!(find_invalid(&items), vec![3, 17, 29]);
    // A malformed item (wrong shape) is named too.
    items[35].contest.selections.pop();
    assert_eq!(
        verify_batch(&items),
        Err(ProofError::BatchFailed(vec![3, 17, 29, 35]))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn any_allowed_k_of_n_round_trips(choices in 1u32..8, seed in any::<u8>(), picks in any::<u8>()) {
        let mut r = rng(seed);
        let (_, pk) = keypair(seed.wrapping_add(3));
        let chosen: Vec<u32> = (0..choices).filter(|j| picks & (1 << j) != 0).collect();
        let k = chosen.len() as u32;
        let s = spec(choices, k.saturating_sub(1), k);
        let c = ctx();
        let (contest, _) = EncryptedContest::encrypt_with_rng(&c, &pk, &s, &selections(choices, &chosen), &mut r).expect("ok");
        prop_assert!(contest.verify(&c, &pk, &s).is_ok());
        prop_assert_eq!(EncryptedContest::decode(&contest.to_bytes(), &s).expect("canonical"), contest);
    }
}

#[test]
fn a_ranking_proves_one_choice_per_rank_and_one_rank_per_choice() {
    let mut r = rng(56);
    let (_, pk) = keypair(57);
    let c = ctx().bound_to([3u8; 32]);
    let s = ranking(5, 5);
    for order in [&[2u32, 0, 4][..], &[0, 1, 2, 3, 4], &[], &[4]] {
        let values = ranked(5, 5, order);
        let (contest, opening) =
            EncryptedContest::encrypt_with_rng(&c, &pk, &s, &values, &mut r).expect("a ranking");
        contest.verify(&c, &pk, &s).expect("valid");
        let bytes = contest.to_bytes();
        assert_eq!(bytes.len(), s.encoded_len());
        assert_eq!(
            EncryptedContest::decode(&bytes, &s).expect("canonical"),
            contest
        );
        assert_eq!(
            contest.check_opening(&pk, &s, &opening).expect("opens"),
            values
        );
    }
    // A choice at two ranks, two choices at one rank: refused on the device.
    let mut twice = ranked(5, 5, &[2, 0]);
    twice[2 * 5 + 2] = 1;
    assert!(EncryptedContest::encrypt_with_rng(&c, &pk, &s, &twice, &mut r).is_err());
    let mut crowded = ranked(5, 5, &[2]);
    crowded[1] = 1;
    assert!(EncryptedContest::encrypt_with_rng(&c, &pk, &s, &crowded, &mut r).is_err());
    // A cheating device encrypts the double ranking without column proofs and pastes in an honest
    // ballot's: the verifier refuses it.
    let relaxed = ContestSpec {
        columns: false,
        ..s
    };
    let (mut forged, _) =
        EncryptedContest::encrypt_with_rng(&c, &pk, &relaxed, &twice, &mut r).expect("relaxed");
    let (honest, _) =
        EncryptedContest::encrypt_with_rng(&c, &pk, &s, &ranked(5, 5, &[2, 0, 1]), &mut r)
            .expect("honest");
    forged.sum_proofs.extend_from_slice(&honest.sum_proofs[5..]); // its 5 column proofs
    assert!(forged.verify(&c, &pk, &s).is_err());
    // Column proofs are bound to their positions.
    let mut swapped = honest.clone();
    swapped.sum_proofs.swap(5, 7); // columns 0 and 2
    assert!(swapped.verify(&c, &pk, &s).is_err());
    // Columns need groups of 0/1 values.
    assert!(ContestSpec { value_max: 2, ..s }.validate().is_err());
    assert!(ContestSpec { groups: 0, ..s }.validate().is_err());
}
