//! The log's entries: public evidence, never personal data.
//!
//! Every entry is a JSON object in JCS form (RFC 8785), at most [`MAX_ENTRY`] bytes, with a
//! `kind`. Entries made by a party carry `signature`: `z` + base58btc of the Ed25519 signature of
//!
//! ```text
//! "hanpyo-certs/v1 entry\n" ‖ JCS(the entry without "signature")
//! ```
//!
//! by the party's key — the operator for `issuer`, the issuer for `issuance` and `revocation`,
//! the registered party for `provenance`. The first entry of a certificate log is `registry`.
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{CertError, did, jcs};

/// The largest entry, in bytes.
pub const MAX_ENTRY: usize = 16 * 1024;
/// The signature's domain.
pub const SIGNATURE_DOMAIN: &[u8] = b"hanpyo-certs/v1 entry\n";
/// The commitment's domain.
pub const COMMITMENT_DOMAIN: &[u8] = b"hanpyo-certs/v1 commitment\n";

/// Why a credential is revoked: fixed codes, so no free text (and no personal data) reaches
/// the log.
pub const REVOCATION_REASONS: &[&str] = &[
    "issued-in-error",
    "superseded",
    "withdrawn",
    "holder-request",
    "fraud",
];

/// The stages of a provenance chain, in order.
pub const STAGES: &[&str] = &["collection", "transport", "refining", "export"];
/// Units of a provenance quantity (whole numbers of).
pub const UNITS: &[&str] = &["kg", "L"];

/// The log's first entry: who runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Registry {
    /// The registry's name (the operator's organisation).
    pub name: String,
    /// The operator's approval key, a `did:key`.
    pub operator: String,
    /// Where status lists are published: `<statusBase>/<issuer key>/<list>`.
    pub status_base: String,
    /// Always 1.
    pub version: u32,
}

/// An issuer approved by the operator (signed by the operator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Issuer {
    /// The issuer's key, a `did:key`: its credentials' `issuer`.
    pub issuer: String,
    /// The organisation's name.
    pub name: String,
    /// The document types it may issue (template ids).
    pub types: Vec<String>,
    /// When the operator approved it.
    pub approved: String,
    /// The operator's signature.
    pub signature: String,
}

/// One credential issued (signed by its issuer): a salted commitment, never its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Issuance {
    /// The issuer.
    pub issuer: String,
    /// The document type.
    #[serde(rename = "type")]
    pub doc_type: String,
    /// `SHA-256(COMMITMENT_DOMAIN ‖ salt ‖ SHA-256(credential bytes))`, lowercase hex.
    pub commitment: String,
    /// The credential's index in its issuer's status lists (0, 1, 2, … per issuer).
    pub status_index: u64,
    /// When.
    pub issued: String,
    /// The issuer's signature.
    pub signature: String,
}

/// A credential revoked (signed by its issuer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Revocation {
    /// The issuer.
    pub issuer: String,
    /// The credential's status index.
    pub status_index: u64,
    /// One of [`REVOCATION_REASONS`].
    pub reason: String,
    /// When.
    pub revoked: String,
    /// The issuer's signature.
    pub signature: String,
}

/// What a provenance event takes from an earlier lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LotInput {
    /// The earlier lot.
    pub lot: String,
    /// How much of it (in the lots' unit).
    pub quantity: u64,
}

/// A provenance event (signed by the registered party that did it): a new lot made at a stage
/// from earlier lots (none at collection).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Provenance {
    /// The party, a registered issuer allowed `provenance-lot`.
    pub party: String,
    /// The new lot's id.
    pub lot: String,
    /// One of [`STAGES`].
    pub stage: String,
    /// The new lot's quantity.
    pub quantity: u64,
    /// One of [`UNITS`].
    pub unit: String,
    /// What it was made from.
    pub inputs: Vec<LotInput>,
    /// When.
    pub recorded: String,
    /// The party's signature.
    pub signature: String,
}

/// An entry of a certificate log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// The first entry.
    Registry(Registry),
    /// An approved issuer.
    Issuer(Issuer),
    /// A credential issued.
    Issuance(Issuance),
    /// A credential revoked.
    Revocation(Revocation),
    /// A provenance event.
    Provenance(Provenance),
}

fn to_object<T: Serialize>(
    kind: &str,
    body: &T,
) -> Result<serde_json::Map<String, Value>, CertError> {
    match serde_json::to_value(body) {
        Ok(Value::Object(mut m)) => {
            m.insert("kind".into(), Value::String(kind.into()));
            Ok(m)
        }
        _ => Err(CertError::malformed("entry")),
    }
}

impl Entry {
    /// Its `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Entry::Registry(_) => "registry",
            Entry::Issuer(_) => "issuer",
            Entry::Issuance(_) => "issuance",
            Entry::Revocation(_) => "revocation",
            Entry::Provenance(_) => "provenance",
        }
    }

    /// As a JSON object (with `kind`).
    pub fn to_json(&self) -> Result<serde_json::Map<String, Value>, CertError> {
        let k = self.kind();
        match self {
            Entry::Registry(e) => to_object(k, e),
            Entry::Issuer(e) => to_object(k, e),
            Entry::Issuance(e) => to_object(k, e),
            Entry::Revocation(e) => to_object(k, e),
            Entry::Provenance(e) => to_object(k, e),
        }
    }

    /// Its bytes on the log (JCS).
    pub fn to_bytes(&self) -> Result<Vec<u8>, CertError> {
        jcs::canonical(&self.to_json()?)
    }

    /// Reads an entry: canonical JCS only, a known kind, no unknown member, bounded.
    pub fn parse(bytes: &[u8]) -> Result<Self, CertError> {
        let value = jcs::parse_canonical(bytes, MAX_ENTRY)?;
        Self::from_json(value)
    }

    /// Reads an entry from its JSON object (as a certificate carries it).
    pub fn from_json(value: Value) -> Result<Self, CertError> {
        let Value::Object(mut m) = value else {
            return Err(CertError::malformed("an entry is a JSON object"));
        };
        let kind = match m.remove("kind") {
            Some(Value::String(k)) => k,
            _ => return Err(CertError::malformed("an entry has a kind")),
        };
        let body = Value::Object(m);
        let bad = |e: serde_json::Error| CertError::malformed(format!("{kind} entry: {e}"));
        Ok(match kind.as_str() {
            "registry" => Entry::Registry(serde_json::from_value(body).map_err(bad)?),
            "issuer" => Entry::Issuer(serde_json::from_value(body).map_err(bad)?),
            "issuance" => Entry::Issuance(serde_json::from_value(body).map_err(bad)?),
            "revocation" => Entry::Revocation(serde_json::from_value(body).map_err(bad)?),
            "provenance" => Entry::Provenance(serde_json::from_value(body).map_err(bad)?),
            other => {
                return Err(CertError::malformed(format!(
                    "unknown entry kind {}",
                    did::clip(other)
                )));
            }
        })
    }

    /// The bytes the entry's `signature` covers.
    pub fn signed_bytes(&self) -> Result<Vec<u8>, CertError> {
        let mut m = self.to_json()?;
        m.remove("signature");
        let mut out = SIGNATURE_DOMAIN.to_vec();
        out.extend(jcs::canonical(&m)?);
        Ok(out)
    }

    fn signature_field(&mut self) -> Option<&mut String> {
        match self {
            Entry::Registry(_) => None,
            Entry::Issuer(e) => Some(&mut e.signature),
            Entry::Issuance(e) => Some(&mut e.signature),
            Entry::Revocation(e) => Some(&mut e.signature),
            Entry::Provenance(e) => Some(&mut e.signature),
        }
    }

    /// Signs the entry (its `signature` is replaced).
    pub fn sign(mut self, key: &SigningKey) -> Result<Self, CertError> {
        let sig = key.sign(&self.signed_bytes()?);
        if let Some(field) = self.signature_field() {
            *field = format!("z{}", bs58::encode(sig.to_bytes()).into_string());
        }
        Ok(self)
    }

    /// Checks the entry's signature with `key`.
    pub fn verify_signature(&self, key: &VerifyingKey) -> Result<(), CertError> {
        let sig = match self {
            Entry::Registry(_) => return Ok(()),
            Entry::Issuer(e) => &e.signature,
            Entry::Issuance(e) => &e.signature,
            Entry::Revocation(e) => &e.signature,
            Entry::Provenance(e) => &e.signature,
        };
        let bytes: [u8; 64] = sig
            .strip_prefix('z')
            .filter(|s| s.len() <= 100)
            .and_then(|s| bs58::decode(s).into_vec().ok())
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                CertError::malformed("an entry's signature is z + base58btc of 64 bytes")
            })?;
        key.verify_strict(&self.signed_bytes()?, &Signature::from_bytes(&bytes))
            .map_err(|_| {
                CertError::Signature(format!(
                    "the {} entry's signature does not verify",
                    self.kind()
                ))
            })
    }
}

/// The commitment an issuance entry makes to a credential's bytes with a 32-byte salt.
pub fn commitment(salt: &[u8; 32], credential: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(COMMITMENT_DOMAIN);
    h.update(salt);
    h.update(Sha256::digest(credential));
    hex::encode(h.finalize())
}

/// A lot id: 1–64 of `A–Z a–z 0–9 . _ -`.
pub fn valid_lot(lot: &str) -> bool {
    (1..=64).contains(&lot.len())
        && lot
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}
