//! ElGamal, homomorphic sums and discrete-log decoding, as properties over random inputs.
mod common;
use common::{keypair, rng};
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::scalar::Scalar;
use hanpyo_crypto::dlog::DlogTable;
use hanpyo_crypto::elgamal::{Ciphertext, PublicKey};
use proptest::prelude::*;

fn table() -> &'static DlogTable {
    static TABLE: std::sync::OnceLock<DlogTable> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| DlogTable::new(100_000))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn encrypt_then_decrypt(m in 0u64..100_000, seed in any::<u8>()) {
        let (sk, pk) = keypair(seed);
        let (ct, nonce) = pk.encrypt_with_rng(m, &mut rng(seed.wrapping_add(1)));
        prop_assert_eq!(table().decode(&sk.decrypt_to_point(&ct)), Some(m));
        prop_assert_eq!(pk.encrypt_with_nonce(m, &nonce), ct);
        prop_assert_eq!(Ciphertext::decode(&ct.to_bytes()).expect("canonical"), ct);
    }

    #[test]
    fn sums_of_ciphertexts_decrypt_to_sums(ms in proptest::collection::vec(0u64..1_000, 0..40), seed in any::<u8>()) {
        let (sk, pk) = keypair(seed);
        let mut r = rng(seed ^ 0x55);
        let cts: Vec<Ciphertext> = ms.iter().map(|&m| pk.encrypt_with_rng(m, &mut r).0).collect();
        let total = Ciphertext::sum(&cts);
        let pairwise = cts.iter().fold(Ciphertext::zero(), |acc, c| &acc + c);
        prop_assert_eq!(total, pairwise);
        prop_assert_eq!(table().decode(&sk.decrypt_to_point(&total)), Some(ms.iter().sum::<u64>()));
    }

    #[test]
    fn dlog_decodes_exactly_the_range(max in 0u64..5_000, m in 0u64..10_000) {
        let t = DlogTable::new(max);
        let p = RISTRETTO_BASEPOINT_POINT * Scalar::from(m);
        prop_assert_eq!(t.decode(&p), (m <= max).then_some(m));
    }
}

#[test]
fn dlog_handles_a_ten_million_voter_tally() {
    let t = DlogTable::new(10_000_000);
    for m in [0u64, 1, 3_162, 3_163, 5_000_000, 9_999_999, 10_000_000] {
        assert_eq!(
            t.decode(&(RISTRETTO_BASEPOINT_POINT * Scalar::from(m))),
            Some(m)
        );
    }
    assert_eq!(
        t.decode(&(RISTRETTO_BASEPOINT_POINT * Scalar::from(10_000_001u64))),
        None
    );
    assert_eq!(t.decode(&(RISTRETTO_BASEPOINT_POINT * -Scalar::ONE)), None);
}

#[test]
fn the_wrong_key_does_not_decrypt() {
    let (_, pk) = keypair(1);
    let (sk2, _) = keypair(2);
    let (ct, _) = pk.encrypt_with_rng(5, &mut rng(3));
    assert_ne!(table().decode(&sk2.decrypt_to_point(&ct)), Some(5));
}

#[test]
fn keys_decode_strictly() {
    let (_, pk) = keypair(1);
    assert_eq!(
        PublicKey::decode(pk.element().as_bytes()).expect("canonical"),
        pk
    );
    assert!(
        PublicKey::decode(&[0u8; 32]).is_err(),
        "the identity would encrypt in the clear"
    );
    let mut bytes = pk.element().to_owned().as_bytes().to_vec();
    bytes.push(0);
    assert!(Ciphertext::decode(&bytes[..]).is_err());
}
