//! Voter credentials: the typed code, its checksum, key derivation and the signature.
mod common;
use common::{ctx, rng};
use hanpyo_crypto::credential::{PublicCredential, SecretCredential};
use hanpyo_crypto::proofs::schnorr::SchnorrProof;

const ALPHABET: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

#[test]
fn code_round_trips_and_tolerates_what_people_type() {
    let mut r = rng(30);
    for _ in 0..50 {
        let cred = SecretCredential::generate_with_rng(&mut r);
        let code = cred.code();
        assert_eq!(code.len(), 29);
        assert_eq!(code.matches('-').count(), 4);
        assert_eq!(
            SecretCredential::parse(&code).expect("own code parses"),
            cred
        );
        let typed = code
            .to_lowercase()
            .replace('-', " ")
            .replace('0', "o")
            .replace('1', "l");
        assert_eq!(SecretCredential::parse(&typed).expect("tolerated"), cred);
    }
}

#[test]
fn every_single_typo_and_adjacent_swap_is_caught() {
    let mut r = rng(31);
    for _ in 0..5 {
        let code: Vec<char> = SecretCredential::generate_with_rng(&mut r)
            .code()
            .replace('-', "")
            .chars()
            .collect();
        for i in 0..code.len() {
            for c in ALPHABET.chars().filter(|&c| c != code[i]) {
                let mut t = code.clone();
                t[i] = c;
                let s: String = t.into_iter().collect();
                assert!(
                    SecretCredential::parse(&s).is_err(),
                    "substitution at {i} accepted"
                );
            }
            if i + 1 < code.len() && code[i] != code[i + 1] {
                let mut t = code.clone();
                t.swap(i, i + 1);
                let s: String = t.into_iter().collect();
                assert!(SecretCredential::parse(&s).is_err(), "swap at {i} accepted");
            }
        }
    }
}

#[test]
fn malformed_codes_are_refused_with_a_reason() {
    assert!(SecretCredential::parse("").is_err());
    assert!(SecretCredential::parse("ABCDE-ABCDE").is_err());
    let code = SecretCredential::generate_with_rng(&mut rng(32)).code();
    assert!(SecretCredential::parse(&format!("{code}0")).is_err());
    assert!(
        SecretCredential::parse(&code.replacen(|c: char| c.is_ascii_alphanumeric(), "U", 1))
            .is_err()
    );
    assert!(
        SecretCredential::parse(&code.replacen(|c: char| c.is_ascii_alphanumeric(), "한", 1))
            .is_err()
    );
}

#[test]
fn keys_are_bound_to_the_election_and_signatures_verify() {
    let mut r = rng(33);
    let cred = SecretCredential::generate_with_rng(&mut r);
    let key = cred.signing_key(b"election-1");
    assert_eq!(key.public(), cred.signing_key(b"election-1").public());
    assert_ne!(key.public(), cred.signing_key(b"election-2").public());
    let other = SecretCredential::generate_with_rng(&mut r).signing_key(b"election-1");
    assert_ne!(key.public(), other.public());

    let c = ctx();
    let sig = key.sign_with_rng(&c, b"ballot hash", &mut r);
    key.public()
        .verify(&c, b"ballot hash", &sig)
        .expect("valid");
    assert!(key.public().verify(&c, b"ballot hasH", &sig).is_err());
    assert!(other.public().verify(&c, b"ballot hash", &sig).is_err());
    let mut other_election = c;
    other_election.fingerprint[31] ^= 1;
    assert!(
        key.public()
            .verify(&other_election, b"ballot hash", &sig)
            .is_err()
    );
    // Every byte of the signature matters.
    let bytes = sig.to_bytes();
    for i in 0..bytes.len() {
        let mut t = bytes;
        t[i] ^= 0x10;
        let accepted = SchnorrProof::decode(&t)
            .is_ok_and(|s| key.public().verify(&c, b"ballot hash", &s).is_ok());
        assert!(!accepted, "flipped byte {i} accepted");
    }
    // Public credentials decode strictly.
    assert_eq!(
        PublicCredential::decode(key.public().as_bytes()).expect("canonical"),
        *key.public()
    );
    assert!(PublicCredential::decode(&[0u8; 32]).is_err());
}

#[test]
fn debug_output_never_shows_the_secret() {
    let cred = SecretCredential::generate_with_rng(&mut rng(34));
    let code = cred.code();
    let shown = format!("{cred:?} {:?}", cred.signing_key(b"e"));
    assert!(!shown.contains(&code[..5]));
    assert!(shown.contains("redacted"));
}
