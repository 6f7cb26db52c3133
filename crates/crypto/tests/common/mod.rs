#![allow(dead_code)]
use chacha20::ChaCha20Rng;
use hanpyo_crypto::elgamal::{PublicKey, SecretKey};
use hanpyo_crypto::transcript::ProofContext;
use rand_core::SeedableRng;

pub fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

pub fn ctx() -> ProofContext {
    ProofContext::new([7u8; 32])
}

pub fn keypair(seed: u8) -> (SecretKey, PublicKey) {
    let sk = SecretKey::generate_with_rng(&mut rng(seed));
    let pk = sk.public_key();
    (sk, pk)
}

pub fn unhex<const N: usize>(s: &str) -> [u8; N] {
    hex::decode(s).expect("hex").try_into().expect("length")
}
