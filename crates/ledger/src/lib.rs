//! # hanpyo-ledger
//!
//! A transparency log of **opaque entries**, in the style of Certificate Transparency: it knows
//! nothing of elections, so other public services can reuse it.
//!
//! | module | what |
//! |---|---|
//! | [`merkle`] | RFC 9162 Merkle tree hashing, a streaming root, inclusion and consistency proofs |
//! | [`checkpoint`] | checkpoints (origin, size, root) as C2SP signed notes with Ed25519 |
//! | [`tiles`] | the C2SP tlog-tiles layout of the tree |
//! | [`witness`] | a witness that co-signs only consistent checkpoints |
//! | [`receipt`] | inclusion receipts |
//! | [`export`] | the log as files: framed entries and signed checkpoints |
//! | `store` (features `storage`, `postgres`) | durable storage with group commit, in SQLite or PostgreSQL (one sequencer per log) |
#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod export;
pub mod merkle;
#[cfg(feature = "storage")]
pub mod mirror;
pub mod receipt;
#[cfg(feature = "storage")]
pub mod store;
pub mod tiles;
pub mod witness;

pub use merkle::Hash;
