//! # hanpyo-record
//!
//! The public election record: every entry (manifest, key ceremony, credentials, ballots, tally,
//! decryption, result) in one canonical binary encoding, appended to a `hanpyo-ledger` Merkle log
//! whose signed checkpoint covers them all; and [`verify`], the independent verifier.
//!
//! | module | what |
//! |---|---|
//! | [`encoding`] | the canonical encoding primitives |
//! | [`manifest`] | the election manifest (TOML in, canonical bytes out) |
//! | [`question`] | question kinds, their contests' shapes, answers as encrypted values |
//! | [`decision`] | decision rules (turnout threshold, majority) and outcomes |
//! | [`preferential`] | counting decrypted rankings: instant-runoff and Schulze |
//! | [`mixing`] | the mix-net of ranked questions: shuffles, decryption of each mixed row, the count |
//! | [`entry`] | every entry kind, tracking codes |
//! | [`context`] | election and ceremony fingerprints (what every proof is bound to) |
//! | [`standing`] | a ballot's standing (counted, superseded, audit) from signed log data |
//! | [`verify`] | the verifier: streaming, parallel, bounded memory |
#![forbid(unsafe_code)]

pub mod authority;
pub mod context;
pub mod decision;
pub mod encoding;
pub mod entry;
pub mod error;
pub mod manifest;
pub mod mixing;
pub mod preferential;
pub mod question;
pub mod standing;
pub mod verify;

pub use error::RecordError;
