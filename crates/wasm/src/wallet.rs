//! The certificate pages' side: a holder's key made and kept on the device, presentations made
//! there (the chosen fields only), and every check of `hanpyo cert verify` run in the verifier's
//! browser, so no server learns who checks which certificate. JSON text in and out.
use std::collections::BTreeSet;

use ed25519_dalek::SigningKey;
use hanpyo_certs::bundle::{Anchors, Bundle};
use hanpyo_certs::verify::{self, Challenge, Options};
use serde::Deserialize;
use serde_json::{Map, Value, json};

fn seed(hex_seed: &str) -> Result<SigningKey, String> {
    let mut b = [0u8; 32];
    hex::decode_to_slice(hex_seed, &mut b)
        .map_err(|_| "a holder key is 64 hex digits".to_string())?;
    Ok(SigningKey::from_bytes(&b))
}

/// A new holder key: `{"seed": hex, "did": "did:key:…"}` (the seed stays on the device).
pub fn new_holder_key() -> String {
    let mut s = [0u8; 32];
    rand_core::Rng::fill_bytes(&mut hanpyo_crypto::os_rng(), &mut s);
    let key = SigningKey::from_bytes(&s);
    json!({"seed": hex::encode(s), "did": hanpyo_certs::did::did_key(&key.verifying_key())})
        .to_string()
}

/// The `did:key` of a holder key.
pub fn holder_did(hex_seed: &str) -> Result<String, String> {
    Ok(hanpyo_certs::did::did_key(&seed(hex_seed)?.verifying_key()))
}

/// The fields a certificate's holder may choose to disclose (a JSON array; empty unless SD-JWT).
pub fn disclosable(bundle: &str) -> Result<String, String> {
    let b = Bundle::parse(bundle.as_bytes()).map_err(|e| e.to_string())?;
    Ok(json!(b.disclosable().map_err(|e| e.to_string())?).to_string())
}

/// A presentation of `bundle` to `audience` with its `nonce`, showing only `disclose` (a JSON
/// array of field names).
pub fn present(
    bundle: &str,
    hex_seed: &str,
    disclose: &str,
    audience: &str,
    nonce: &str,
    now: u64,
) -> Result<String, String> {
    let b = Bundle::parse(bundle.as_bytes()).map_err(|e| e.to_string())?;
    let names: BTreeSet<String> =
        serde_json::from_str(disclose).map_err(|e| format!("disclose: {e}"))?;
    let shown = b
        .present(&seed(hex_seed)?, &names, audience, nonce, now)
        .map_err(|e| e.to_string())?;
    Ok(shown.to_json())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct VerifyOptions {
    now: u64,
    #[serde(default)]
    trust: Option<Anchors>,
    #[serde(default)]
    status: Option<Map<String, Value>>,
    #[serde(default)]
    allow_unchecked_status: bool,
    #[serde(default)]
    challenge: Option<ChallengeIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ChallengeIn {
    audience: String,
    nonce: String,
    max_age: u64,
}

/// Verifies a certificate file as `hanpyo cert verify` does. Answers
/// `{"valid": true, "verified": {…}}` or `{"valid": false, "code": …, "reason": …}`.
pub fn verify_certificate(bundle: &str, options: &str) -> Result<String, String> {
    let o: VerifyOptions = serde_json::from_str(options).map_err(|e| format!("options: {e}"))?;
    let b = match Bundle::parse(bundle.as_bytes()) {
        Ok(b) => b,
        Err(e) => {
            return Ok(
                json!({"valid": false, "code": "malformed", "reason": e.to_string()}).to_string(),
            );
        }
    };
    let opts = Options {
        now: o.now,
        trust: o.trust,
        status: o.status,
        allow_unchecked_status: o.allow_unchecked_status,
        challenge: o.challenge.map(|c| Challenge {
            audience: c.audience,
            nonce: c.nonce,
            max_age: c.max_age,
        }),
    };
    Ok(match verify::verify(&b, &opts) {
        Ok(v) => json!({"valid": true, "verified": v}),
        Err(r) => json!({"valid": false, "code": r.code(), "reason": r.to_string()}),
    }
    .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_malformed_files() {
        let k: Value = serde_json::from_str(&new_holder_key()).expect("json");
        let did = holder_did(k["seed"].as_str().expect("seed")).expect("did");
        assert_eq!(k["did"], json!(did));
        let out: Value =
            serde_json::from_str(&verify_certificate("{}", r#"{"now": 0}"#).expect("answer"))
                .expect("json");
        assert_eq!(out["code"], "malformed");
        assert!(verify_certificate("{}", r#"{"now": 0, "extra": 1}"#).is_err());
    }
}
