//! # hanpyo-ledger
//!
//! A transparency log of **opaque entries**, in the style of Certificate Transparency: it knows
//! nothing of elections, so other public services can reuse it.
//!
//! | module | what |
//! |---|---|
//! | [`merkle`] | RFC 9162 Merkle tree hashing, a streaming root, inclusion and consistency proofs |
//! | [`checkpoint`] | checkpoints (origin, size, root) as C2SP signed notes with Ed25519 |
#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod merkle;

pub use merkle::Hash;
