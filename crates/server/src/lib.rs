//! hanpyo-server: the HTTP API, voter roll, ingest pipeline and static web (DESIGN §6).
//!
//! Not built yet: this crate is a placeholder so that the workspace shows its final layout.
//! It lands with the voting server issue.
#![forbid(unsafe_code)]
