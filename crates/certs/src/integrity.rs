//! W3C Data Integrity proofs with the cryptosuite **`eddsa-jcs-2022`** (W3C Data Integrity EdDSA
//! Cryptosuites v1.0, §3.3).
//!
//! The relation proven: the holder of the Ed25519 key named by `verificationMethod` signed
//!
//! ```text
//! SHA-256(JCS(proofConfig)) ‖ SHA-256(JCS(document without "proof"))
//! ```
//!
//! where `proofConfig` is the proof without `proofValue`, with the document's `@context` when it
//! has one. `proofValue` is `z` + base58btc of the 64-byte signature. Checked against the
//! specification's own test vector (`tests/vectors/`).
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::{CertError, did, jcs};

/// The proof's `type`.
pub const PROOF_TYPE: &str = "DataIntegrityProof";
/// The cryptosuite.
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";

/// What a proof says besides its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofOptions {
    /// When it was made (`dateTime`).
    pub created: String,
    /// `did:key:z…#z…` of the signing key.
    pub verification_method: String,
    /// `assertionMethod` for an issuer's credential, `authentication` for a holder's presentation.
    pub proof_purpose: String,
    /// A verifier's one-time challenge (presentations).
    pub challenge: Option<String>,
    /// The verifier the presentation is meant for (presentations).
    pub domain: Option<String>,
}

fn proof_config(options: &ProofOptions, context: Option<&Value>) -> Map<String, Value> {
    let mut p = Map::new();
    p.insert("type".into(), json!(PROOF_TYPE));
    p.insert("cryptosuite".into(), json!(CRYPTOSUITE));
    p.insert("created".into(), json!(options.created));
    p.insert(
        "verificationMethod".into(),
        json!(options.verification_method),
    );
    p.insert("proofPurpose".into(), json!(options.proof_purpose));
    if let Some(c) = &options.challenge {
        p.insert("challenge".into(), json!(c));
    }
    if let Some(d) = &options.domain {
        p.insert("domain".into(), json!(d));
    }
    if let Some(ctx) = context {
        p.insert("@context".into(), ctx.clone());
    }
    p
}

/// The 64 bytes signed: the hash of the proof configuration, then the hash of the document.
pub fn hash_data(
    proof_config: &Map<String, Value>,
    document: &Map<String, Value>,
) -> Result<[u8; 64], CertError> {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&Sha256::digest(jcs::canonical(proof_config)?));
    out[32..].copy_from_slice(&Sha256::digest(jcs::canonical(document)?));
    Ok(out)
}

/// Adds an `eddsa-jcs-2022` proof to `document` (which must not have one) and returns it.
pub fn sign(
    document: &Map<String, Value>,
    key: &SigningKey,
    options: &ProofOptions,
) -> Result<Map<String, Value>, CertError> {
    if document.contains_key("proof") {
        return Err(CertError::malformed("the document already has a proof"));
    }
    let config = proof_config(options, document.get("@context"));
    let signature = key.sign(&hash_data(&config, document)?);
    let mut proof = config;
    proof.insert(
        "proofValue".into(),
        json!(format!(
            "z{}",
            bs58::encode(signature.to_bytes()).into_string()
        )),
    );
    let mut secured = document.clone();
    secured.insert("proof".into(), Value::Object(proof));
    Ok(secured)
}

/// A proof that verified: who signed, for what, and the document it secures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The signing key.
    pub key: VerifyingKey,
    /// Its verification method.
    pub verification_method: String,
    /// The proof's purpose.
    pub proof_purpose: String,
    /// The challenge, if any.
    pub challenge: Option<String>,
    /// The domain, if any.
    pub domain: Option<String>,
    /// When it was made.
    pub created: String,
}

fn string_member(proof: &Map<String, Value>, name: &str) -> Result<Option<String>, CertError> {
    match proof.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(CertError::malformed(format!(
            "proof.{name} is not a string"
        ))),
    }
}

/// Verifies the single `eddsa-jcs-2022` proof of `secured` with the key its verification method
/// names (`did:key`, resolved locally), for `purpose`.
pub fn verify(secured: &Map<String, Value>, purpose: &str) -> Result<VerifiedProof, CertError> {
    let Some(Value::Object(proof)) = secured.get("proof") else {
        return Err(CertError::malformed(
            "no proof (a single proof object is expected)",
        ));
    };
    for member in proof.keys() {
        if !matches!(
            member.as_str(),
            "type"
                | "cryptosuite"
                | "created"
                | "verificationMethod"
                | "proofPurpose"
                | "challenge"
                | "domain"
                | "@context"
                | "proofValue"
        ) {
            return Err(CertError::malformed(format!(
                "unknown proof member {}",
                did::clip(member)
            )));
        }
    }
    let req = |name: &str| -> Result<String, CertError> {
        string_member(proof, name)?
            .ok_or_else(|| CertError::malformed(format!("proof.{name} missing")))
    };
    if req("type")? != PROOF_TYPE || req("cryptosuite")? != CRYPTOSUITE {
        return Err(CertError::malformed(format!(
            "not a {PROOF_TYPE} with cryptosuite {CRYPTOSUITE}"
        )));
    }
    let created = req("created")?;
    if crate::parse_datetime(&created).is_none() {
        return Err(CertError::malformed("proof.created is not a UTC dateTime"));
    }
    let proof_purpose = req("proofPurpose")?;
    if proof_purpose != purpose {
        return Err(CertError::malformed(format!(
            "proof purpose {} where {purpose} is expected",
            did::clip(&proof_purpose)
        )));
    }
    let verification_method = req("verificationMethod")?;
    let key = did::parse_verification_method(&verification_method)?;
    let value = req("proofValue")?;
    let sig_bytes = value
        .strip_prefix('z')
        .filter(|b| b.len() <= 100)
        .and_then(|b| bs58::decode(b).into_vec().ok())
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .ok_or_else(|| CertError::malformed("proofValue is not z + base58btc of 64 bytes"))?;
    if format!("z{}", bs58::encode(sig_bytes).into_string()) != value {
        return Err(CertError::malformed(
            "proofValue is not canonical base58btc",
        ));
    }
    let mut config = proof.clone();
    config.remove("proofValue");
    let mut document = secured.clone();
    document.remove("proof");
    // The proof's @context, when present, must be how the document's begins; it then stands
    // for the document's in the hash (vc-di-eddsa §3.3.2).
    if let Some(ctx) = config.get("@context") {
        let (Some(Value::Array(pc)), Some(Value::Array(dc))) =
            (Some(ctx), document.get("@context"))
        else {
            return Err(CertError::malformed(
                "proof.@context and the document's must be arrays",
            ));
        };
        if !dc.starts_with(pc) {
            return Err(CertError::malformed(
                "the document's @context does not begin with the proof's",
            ));
        }
        document.insert("@context".into(), ctx.clone());
    }
    // The proof configuration always carries the document's @context (§3.3.5), whether or not
    // the proof repeats it: a proof made without it (an earlier draft) does not verify.
    if let Some(ctx) = document.get("@context") {
        config.insert("@context".into(), ctx.clone());
    }
    let data = hash_data(&config, &document)?;
    key.verify_strict(&data, &Signature::from_bytes(&sig_bytes))
        .map_err(|_| CertError::Signature("the eddsa-jcs-2022 proof does not verify".into()))?;
    Ok(VerifiedProof {
        key,
        verification_method,
        proof_purpose,
        challenge: string_member(proof, "challenge")?,
        domain: string_member(proof, "domain")?,
        created,
    })
}
