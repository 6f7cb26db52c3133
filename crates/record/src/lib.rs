//! hanpyo-record: election entries, their canonical encoding and the independent verifier (DESIGN §4).
//!
//! Not built yet: this crate is a placeholder so that the workspace shows its final layout.
//! It lands with the election record issue.
#![forbid(unsafe_code)]
