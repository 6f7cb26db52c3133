//! # hanpyo-crypto
//!
//! The mathematics every other part of Hanpyo trusts, over the prime-order group
//! **Ristretto255** (RFC 9496, via `curve25519-dalek`):
//!
//! | module | what |
//! |---|---|
//! | [`group`] | strict decoding of points and scalars; [`group::Element`] keeps a point with its canonical bytes |
//! | [`transcript`] | the one strong Fiat–Shamir construction every proof uses |
//! | [`elgamal`] | exponential ElGamal `Enc(m; r) = (rG, mG + rK)`, homomorphic sums |
//! | [`dlog`] | baby-step/giant-step decoding of small `m` from `mG` |
//! | [`proofs`] | Schnorr, Chaum–Pedersen, disjunctive (range) Chaum–Pedersen, decryption shares |
//! | [`threshold`] | Pedersen DKG with Feldman commitments, partial decryption, Lagrange combination |
//! | [`credential`] | Belenios-style voter credentials and the credential signature |
//! | [`batch`] | random-weight batch verification in one multiscalar multiplication |
//! | [`ballot`] | an encrypted contest: values, their range proofs and the groups' sum proofs |
//! | [`shuffle`] | a verifiable re-encryption shuffle (mix-net step): the Terelius–Wikström proof |
//!
//! This crate does no I/O, builds for `wasm32-unknown-unknown`, and every secret lives in a type that
//! zeroizes on drop. Every function that needs randomness has a `_with_rng` form taking any
//! [`rand_core::CryptoRng`]; the plain form uses the operating system's generator.
//!
//! The byte-exact specification of every transcript and proof is `docs/protocol.md`.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(missing_docs))]

pub mod ballot;
pub mod batch;
pub mod credential;
pub mod dlog;
pub mod elgamal;
pub mod error;
pub mod group;
pub mod proofs;
pub mod shuffle;
pub mod threshold;
pub mod transcript;

pub use error::{DecodeError, ProofError};

/// Protocol version carried in every Fiat–Shamir domain tag. Bump on any change to a transcript.
pub const PROTOCOL_VERSION: u8 = 1;

/// The operating system's random generator as an infallible [`rand_core::CryptoRng`].
///
/// A failing OS generator is unrecoverable for a cryptographic system, so it panics rather than
/// continuing with weak randomness.
pub fn os_rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}
