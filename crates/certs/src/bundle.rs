//! The certificate file a holder keeps (and shows): the credential, the evidence that its
//! issuance and its issuer's approval are on the log (each entry with its inclusion receipt
//! against a witnessed checkpoint), the log's public keys, and a stapled status list.
use std::collections::BTreeSet;

use ed25519_dalek::{SigningKey, VerifyingKey};
use hanpyo_ledger::checkpoint::{KeyKind, NoteVerifier};
use hanpyo_ledger::receipt::Receipt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::issue::Credential;
use crate::sd_jwt::SdJwt;
use crate::template::{Format, VC_CONTEXT};
use crate::{CertError, did, integrity};

/// The bundle's version.
pub const BUNDLE_VERSION: u32 = 1;
/// The largest certificate file accepted, in bytes.
pub const MAX_BUNDLE: usize = 256 * 1024;

/// A log entry with its inclusion receipt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// The entry as a JSON object (its log bytes are its JCS form).
    pub entry: Value,
    /// Its receipt.
    pub receipt: Receipt,
}

/// A witness's public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessKey {
    /// Its name (as in its cosignature lines).
    pub name: String,
    /// Its Ed25519 key, hex.
    pub key: String,
}

/// The public keys a verifier trusts a certificate log by: pinned in a trust file
/// (`--trust`), or as a certificate carries them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Anchors {
    /// The log's origin (also its key's name).
    pub origin: String,
    /// The log's checkpoint key, hex.
    pub log_key: String,
    /// The operator's approval key, a `did:key`.
    pub operator: String,
    /// The witnesses.
    pub witnesses: Vec<WitnessKey>,
    /// How many of them must have co-signed.
    pub quorum: usize,
}

/// An Ed25519 public key written as 64 lowercase hex digits (a log's or a witness's key).
pub fn hex_key(s: &str) -> Result<VerifyingKey, CertError> {
    let bytes: [u8; 32] = hex::decode(s)
        .ok()
        .filter(|b| hex::encode(b) == s)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| CertError::malformed("a key is 64 lowercase hex digits"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| CertError::malformed("not an Ed25519 key"))
}

impl Anchors {
    /// The log's and witnesses' note verifiers.
    pub fn verifiers(&self) -> Result<(NoteVerifier, Vec<NoteVerifier>), CertError> {
        let log = NoteVerifier::new(&self.origin, hex_key(&self.log_key)?, KeyKind::Ed25519)
            .map_err(|e| CertError::malformed(format!("log key: {e}")))?;
        let witnesses = self
            .witnesses
            .iter()
            .map(|w| {
                NoteVerifier::new(&w.name, hex_key(&w.key)?, KeyKind::Cosignature)
                    .map_err(|e| CertError::malformed(format!("witness key: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok((log, witnesses))
    }

    /// The operator's key.
    pub fn operator_key(&self) -> Result<VerifyingKey, CertError> {
        did::parse_did_key(&self.operator)
    }
}

/// A certificate file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Bundle {
    /// Always [`BUNDLE_VERSION`].
    pub hanpyo_certificate: u32,
    /// The document type (a template id).
    #[serde(rename = "type")]
    pub doc_type: String,
    /// `vc-di` or `sd-jwt`.
    pub format: Format,
    /// The VC with its proof (`vc-di`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<Map<String, Value>>,
    /// The SD-JWT, issued or presented (`sd-jwt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sd_jwt: Option<String>,
    /// A holder's presentation of a `vc-di` credential to one verifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presentation: Option<Map<String, Value>>,
    /// The commitment's salt, hex.
    pub commitment_salt: String,
    /// The issuance entry and its receipt.
    pub issuance: Evidence,
    /// The issuer's registration and its receipt.
    pub issuer: Evidence,
    /// The log's keys as the issuer's registry gave them.
    pub registry: Anchors,
    /// The issuer's latest status list credential, stapled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Map<String, Value>>,
}

impl<'de> Deserialize<'de> for Format {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match String::deserialize(d)?.as_str() {
            "vc-di" => Ok(Format::DataIntegrity),
            "sd-jwt" => Ok(Format::SdJwt),
            _ => Err(serde::de::Error::custom("format is vc-di or sd-jwt")),
        }
    }
}

impl Bundle {
    /// Assembles a bundle from an issued credential and its evidence.
    pub fn new(
        doc_type: &str,
        credential: &Credential,
        salt: &[u8; 32],
        issuance: Evidence,
        issuer: Evidence,
        registry: Anchors,
        status: Option<Map<String, Value>>,
    ) -> Self {
        let (format, credential, sd_jwt) = match credential {
            Credential::DataIntegrity(vc) => (Format::DataIntegrity, Some(vc.clone()), None),
            Credential::SdJwt(sd) => (Format::SdJwt, None, Some(sd.serialize())),
        };
        Self {
            hanpyo_certificate: BUNDLE_VERSION,
            doc_type: doc_type.to_string(),
            format,
            credential,
            sd_jwt,
            presentation: None,
            commitment_salt: hex::encode(salt),
            issuance,
            issuer,
            registry,
            status,
        }
    }

    /// Reads a certificate file (bounded, strict).
    pub fn parse(bytes: &[u8]) -> Result<Self, CertError> {
        if bytes.len() > MAX_BUNDLE {
            return Err(CertError::malformed(format!(
                "a certificate file is at most {MAX_BUNDLE} bytes"
            )));
        }
        serde_json::from_slice(bytes)
            .map_err(|e| CertError::malformed(format!("not a certificate file: {e}")))
    }

    /// Writes it (pretty JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The names of the fields the holder may choose to disclose (`sd-jwt`), empty otherwise.
    pub fn disclosable(&self) -> Result<Vec<String>, CertError> {
        let Some(s) = &self.sd_jwt else {
            return Ok(Vec::new());
        };
        let v = crate::sd_jwt::verify(s)?;
        Ok(v.disclosed.into_keys().collect())
    }

    /// A presentation for one verifier (`audience`) and its one-time `nonce`, signed by the
    /// holder's key. For `sd-jwt`, only the fields in `disclose` are kept; a `vc-di` credential
    /// is shown whole inside a Verifiable Presentation.
    pub fn present(
        &self,
        holder: &SigningKey,
        disclose: &BTreeSet<String>,
        audience: &str,
        nonce: &str,
        now: u64,
    ) -> Result<Self, CertError> {
        let mut out = self.clone();
        match self.format {
            Format::SdJwt => {
                let s = self
                    .sd_jwt
                    .as_deref()
                    .ok_or_else(|| CertError::malformed("no sdJwt"))?;
                let (sd, _) = SdJwt::parse(s)?;
                out.sd_jwt = Some(sd.present(disclose, holder, audience, nonce, now)?);
            }
            Format::DataIntegrity => {
                if !disclose.is_empty() {
                    return Err(CertError::malformed(
                        "a vc-di credential is shown whole: choose fields only with sd-jwt",
                    ));
                }
                let vc = self
                    .credential
                    .clone()
                    .ok_or_else(|| CertError::malformed("no credential"))?;
                let Value::Object(vp) = json!({
                    "@context": [VC_CONTEXT],
                    "type": ["VerifiablePresentation"],
                    "holder": did::did_key(&holder.verifying_key()),
                    "verifiableCredential": [vc],
                }) else {
                    return Err(CertError::malformed("presentation"));
                };
                out.presentation = Some(integrity::sign(
                    &vp,
                    holder,
                    &integrity::ProofOptions {
                        created: crate::datetime(now),
                        verification_method: did::verification_method(&holder.verifying_key()),
                        proof_purpose: "authentication".into(),
                        challenge: Some(nonce.to_string()),
                        domain: Some(audience.to_string()),
                    },
                )?);
            }
        }
        Ok(out)
    }
}
