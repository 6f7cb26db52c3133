//! hanpyo-wasm: the wasm-bindgen façade of hanpyo-crypto for the browser (DESIGN §6).
//!
//! Not built yet: this crate is a placeholder so that the workspace shows its final layout.
//! It lands with the web issue; `hanpyo-crypto` itself already builds for `wasm32-unknown-unknown`.
#![forbid(unsafe_code)]
