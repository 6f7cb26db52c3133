//! # hanpyo-wasm
//!
//! What the voter's browser runs, compiled to WebAssembly with wasm-bindgen: the ballot is encrypted
//! and proven **on the device** (the plaintext never leaves it), a Benaloh audit decodes an encrypted
//! ballot from its revealed randomness, and a receipt is checked (log signature, witness quorum,
//! inclusion) with nothing but SHA-256 and Ed25519, and the whole election record is verified with
//! the same verifier as `hanpyo verify`.
//!
//! Each function takes and returns JSON text so the JavaScript side stays small; the same functions
//! are plain Rust (the `booth` module) and tested natively.
#![forbid(unsafe_code)]

pub mod booth;
#[cfg(feature = "certs")]
pub mod wallet;

use wasm_bindgen::prelude::*;

/// Encrypts, proves and signs a ballot (or an audited ballot). See [`booth::make_ballot`].
#[wasm_bindgen(js_name = makeBallot)]
pub fn make_ballot(request_json: &str) -> Result<String, JsError> {
    booth::make_ballot(request_json).map_err(|e| JsError::new(&e))
}

/// Checks a receipt against the election's manifest entry, and a trust policy's text when
/// given. See [`booth::verify_receipt`].
#[wasm_bindgen(js_name = verifyReceipt)]
pub fn verify_receipt(
    receipt_json: &str,
    manifest_entry_hex: &str,
    trust_policy: Option<String>,
) -> Result<String, JsError> {
    booth::verify_receipt(receipt_json, manifest_entry_hex, trust_policy.as_deref())
        .map_err(|e| JsError::new(&e))
}

/// Whether a typed credential code is well formed (check symbol included).
#[wasm_bindgen(js_name = checkCredentialCode)]
pub fn check_credential_code(code: &str) -> bool {
    hanpyo_crypto::credential::SecretCredential::parse(code).is_ok()
}

/// The receipt's QR code (SVG markup) for `text`.
#[wasm_bindgen(js_name = qrSvg)]
pub fn qr_svg(text: &str) -> Result<String, JsError> {
    booth::qr_svg(text).map_err(|e| JsError::new(&e))
}

/// Verifies a whole election record (see [`booth::verify_record`]); `progress` is called with
/// the number of entries read so far.
#[wasm_bindgen(js_name = verifyRecord)]
pub fn verify_record(
    entries: Vec<u8>,
    checkpoint: Vec<u8>,
    checkpoints: Vec<u8>,
    progress: &js_sys::Function,
) -> Result<String, JsError> {
    let mut report = |n: u64| {
        let _ = progress.call1(&JsValue::NULL, &JsValue::from_f64(n as f64));
    };
    booth::verify_record(entries, checkpoint, checkpoints, &mut report)
        .map_err(|e| JsError::new(&e))
}

/// Checks a signed checkpoint's log signature and witness cosignatures against the manifest. See
/// [`booth::verify_checkpoint`].
#[wasm_bindgen(js_name = verifyCheckpoint)]
pub fn verify_checkpoint(note: &str, manifest_entry_hex: &str) -> Result<String, JsError> {
    booth::verify_checkpoint(note, manifest_entry_hex).map_err(|e| JsError::new(&e))
}

/// Lists framed entries (kind, tracking code, size). See [`booth::describe_entries`].
#[wasm_bindgen(js_name = describeEntries)]
pub fn describe_entries(framed: &[u8], start: u64) -> Result<String, JsError> {
    booth::describe_entries(framed, start).map_err(|e| JsError::new(&e))
}

/// Checks an audited ballot independently and decodes its choices. See [`booth::check_audit`].
#[wasm_bindgen(js_name = checkAudit)]
pub fn check_audit(
    entry_hex: &str,
    manifest_entry_hex: &str,
    joint_key_hex: &str,
) -> Result<String, JsError> {
    booth::check_audit(entry_hex, manifest_entry_hex, joint_key_hex).map_err(|e| JsError::new(&e))
}

/// Checks the server's proof of a ballot's standing (counted, superseded, audit). See
/// [`booth::check_standing`].
#[wasm_bindgen(js_name = checkStanding)]
pub fn check_standing(
    proof_json: &str,
    tracking_code_hex: &str,
    manifest_entry_hex: &str,
    trust_policy: Option<String>,
) -> Result<String, JsError> {
    booth::check_standing(
        proof_json,
        tracking_code_hex,
        manifest_entry_hex,
        trust_policy.as_deref(),
    )
    .map_err(|e| JsError::new(&e))
}

/// A new holder key made on this device. See [`wallet::new_holder_key`].
#[cfg(feature = "certs")]
#[wasm_bindgen(js_name = certNewHolderKey)]
pub fn cert_new_holder_key() -> String {
    wallet::new_holder_key()
}

/// The `did:key` of a holder key. See [`wallet::holder_did`].
#[cfg(feature = "certs")]
#[wasm_bindgen(js_name = certHolderDid)]
pub fn cert_holder_did(seed: &str) -> Result<String, JsError> {
    wallet::holder_did(seed).map_err(|e| JsError::new(&e))
}

/// The fields of a certificate its holder may choose to show. See [`wallet::disclosable`].
#[cfg(feature = "certs")]
#[wasm_bindgen(js_name = certDisclosable)]
pub fn cert_disclosable(bundle: &str) -> Result<String, JsError> {
    wallet::disclosable(bundle).map_err(|e| JsError::new(&e))
}

/// A presentation for one verifier. See [`wallet::present`].
#[cfg(feature = "certs")]
#[wasm_bindgen(js_name = certPresent)]
pub fn cert_present(
    bundle: &str,
    seed: &str,
    disclose: &str,
    audience: &str,
    nonce: &str,
    now: f64,
) -> Result<String, JsError> {
    wallet::present(bundle, seed, disclose, audience, nonce, now as u64)
        .map_err(|e| JsError::new(&e))
}

/// Verifies a certificate file in the browser. See [`wallet::verify_certificate`].
#[cfg(feature = "certs")]
#[wasm_bindgen(js_name = certVerify)]
pub fn cert_verify(bundle: &str, options: &str) -> Result<String, JsError> {
    wallet::verify_certificate(bundle, options).map_err(|e| JsError::new(&e))
}
