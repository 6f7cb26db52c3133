//! # hanpyo-wasm
//!
//! What the voter's browser runs, compiled to WebAssembly with wasm-bindgen: the ballot is encrypted
//! and proven **on the device** (the plaintext never leaves it), a Benaloh audit decodes an encrypted
//! ballot from its revealed randomness, and a receipt is checked (log signature, witness quorum,
//! inclusion) with nothing but SHA-256 and Ed25519.
//!
//! Each function takes and returns JSON text so the JavaScript side stays small; the same functions
//! are plain Rust (the `booth` module) and tested natively.
#![forbid(unsafe_code)]

pub mod booth;

use wasm_bindgen::prelude::*;

/// Encrypts, proves and signs a ballot (or an audited ballot). See [`booth::make_ballot`].
#[wasm_bindgen(js_name = makeBallot)]
pub fn make_ballot(request_json: &str) -> Result<String, JsError> {
    booth::make_ballot(request_json).map_err(|e| JsError::new(&e))
}

/// Checks a receipt against the election's manifest entry. See [`booth::verify_receipt`].
#[wasm_bindgen(js_name = verifyReceipt)]
pub fn verify_receipt(receipt_json: &str, manifest_entry_hex: &str) -> Result<String, JsError> {
    booth::verify_receipt(receipt_json, manifest_entry_hex).map_err(|e| JsError::new(&e))
}

/// Whether a typed credential code is well formed (check symbol included).
#[wasm_bindgen(js_name = checkCredentialCode)]
pub fn check_credential_code(code: &str) -> bool {
    hanpyo_crypto::credential::SecretCredential::parse(code).is_ok()
}
