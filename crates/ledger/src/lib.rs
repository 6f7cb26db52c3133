//! hanpyo-ledger: the append-only, witnessed Merkle log of opaque entries (DESIGN §5).
//!
//! Not built yet: this crate is a placeholder so that the workspace shows its final layout.
//! It lands with the ledger issue.
#![forbid(unsafe_code)]
