//! Revocation with the **W3C Bitstring Status List** v1.0.
//!
//! A list is a bitstring of at least 131,072 bits (16 KiB, so one holder's index hides among many),
//! bit `i` being the `i % 8`-th most significant bit of byte `i / 8`; set means revoked. It is
//! published as `encodedList` = `u` + base64url (no padding) of its GZIP compression, inside a
//! `BitstringStatusListCredential` the issuer signs (`eddsa-jcs-2022`) with a short validity, so a
//! verifier can check a stapled copy offline and knows how fresh it is.
use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::SigningKey;
use serde_json::{Map, Value, json};

use crate::{CertError, did, integrity};

/// Bits in one list (the specification's minimum).
pub const LIST_BITS: u64 = 131_072;
/// The largest decompressed list accepted (a bound against compression bombs): 2^24 bits.
pub const MAX_LIST_BYTES: usize = 2 * 1024 * 1024;
/// How long a signed status list is valid: a verifier accepts a stapled copy this long.
pub const VALIDITY_SECS: u64 = 86_400;

/// A revocation bitstring.
#[derive(Clone, PartialEq, Eq)]
pub struct Bitstring {
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Bitstring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bitstring({} bits, {} set)", self.len(), self.count())
    }
}

impl Default for Bitstring {
    fn default() -> Self {
        Self {
            bytes: vec![0; (LIST_BITS / 8) as usize],
        }
    }
}

impl Bitstring {
    /// Number of bits.
    pub fn len(&self) -> u64 {
        self.bytes.len() as u64 * 8
    }

    /// Never empty (at least [`LIST_BITS`]).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Bit `index`; `None` outside the list.
    pub fn get(&self, index: u64) -> Option<bool> {
        let byte = self.bytes.get(usize::try_from(index / 8).ok()?)?;
        Some(byte >> (7 - index % 8) & 1 == 1)
    }

    /// Sets bit `index` (refused outside the list).
    pub fn set(&mut self, index: u64) -> Result<(), CertError> {
        let byte = usize::try_from(index / 8)
            .ok()
            .and_then(|i| self.bytes.get_mut(i))
            .ok_or_else(|| CertError::malformed("status index outside the list"))?;
        *byte |= 0x80 >> (index % 8);
        Ok(())
    }

    /// Number of set bits.
    pub fn count(&self) -> u64 {
        self.bytes.iter().map(|b| u64::from(b.count_ones())).sum()
    }

    /// `encodedList`: `u` + base64url(GZIP(bytes)).
    pub fn encode(&self) -> String {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing to a Vec cannot fail.
        let _ = gz.write_all(&self.bytes);
        let compressed = gz.finish().unwrap_or_default();
        format!("u{}", B64.encode(compressed))
    }

    /// Decodes `encodedList` (strictly: `u` multibase, GZIP, a whole number of bytes, at least
    /// [`LIST_BITS`] bits, at most [`MAX_LIST_BYTES`]).
    pub fn decode(encoded: &str) -> Result<Self, CertError> {
        let body = encoded
            .strip_prefix('u')
            .ok_or_else(|| CertError::malformed("encodedList is not multibase base64url (u…)"))?;
        if body.len() > MAX_LIST_BYTES {
            return Err(CertError::malformed("encodedList too long"));
        }
        let compressed = B64
            .decode(body)
            .map_err(|_| CertError::malformed("encodedList is not base64url without padding"))?;
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(compressed.as_slice())
            .take(MAX_LIST_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|_| CertError::malformed("encodedList is not GZIP"))?;
        if bytes.len() > MAX_LIST_BYTES {
            return Err(CertError::malformed("the status list is too large"));
        }
        if (bytes.len() as u64) * 8 < LIST_BITS {
            return Err(CertError::malformed(format!(
                "a status list has at least {LIST_BITS} bits"
            )));
        }
        Ok(Self { bytes })
    }
}

/// The signed `BitstringStatusListCredential` of `list` at `url`, valid from `now` for
/// [`VALIDITY_SECS`].
pub fn credential(
    list: &Bitstring,
    url: &str,
    issuer: &SigningKey,
    now: u64,
) -> Result<Map<String, Value>, CertError> {
    let doc = json!({
        "@context": [crate::template::VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": did::did_key(&issuer.verifying_key()),
        "validFrom": crate::datetime(now),
        "validUntil": crate::datetime(now + VALIDITY_SECS),
        "credentialSubject": {
            "id": format!("{url}#list"),
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": list.encode(),
        },
    });
    let Value::Object(doc) = doc else {
        return Err(CertError::malformed("status list document"));
    };
    integrity::sign(
        &doc,
        issuer,
        &integrity::ProofOptions {
            created: crate::datetime(now),
            verification_method: did::verification_method(&issuer.verifying_key()),
            proof_purpose: "assertionMethod".into(),
            challenge: None,
            domain: None,
        },
    )
}

/// A status list credential that verified.
#[derive(Debug, Clone)]
pub struct StatusList {
    /// Its URL (`id`).
    pub url: String,
    /// The issuer's DID.
    pub issuer: String,
    /// Valid from / until (Unix seconds).
    pub valid_from: u64,
    /// Until.
    pub valid_until: u64,
    /// The bits.
    pub bits: Bitstring,
}

/// Verifies a status list credential's proof and shape (not its freshness: the caller compares
/// `valid_until` with its clock).
pub fn verify_credential(cred: &Map<String, Value>) -> Result<StatusList, CertError> {
    let proof = integrity::verify(cred, "assertionMethod")?;
    let text = |v: Option<&Value>, what: &str| -> Result<String, CertError> {
        v.and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| CertError::malformed(format!("status list credential: no {what}")))
    };
    let issuer = text(cred.get("issuer"), "issuer")?;
    if did::controller(&proof.verification_method) != issuer {
        return Err(CertError::Signature(
            "the status list is not signed by its issuer".into(),
        ));
    }
    let types = cred.get("type").and_then(Value::as_array);
    if !types.is_some_and(|t| t.contains(&json!("BitstringStatusListCredential"))) {
        return Err(CertError::malformed("not a BitstringStatusListCredential"));
    }
    let subject = cred
        .get("credentialSubject")
        .and_then(Value::as_object)
        .ok_or_else(|| CertError::malformed("status list credential: no credentialSubject"))?;
    if subject.get("type") != Some(&json!("BitstringStatusList"))
        || subject.get("statusPurpose") != Some(&json!("revocation"))
    {
        return Err(CertError::malformed("not a revocation BitstringStatusList"));
    }
    let date = |name: &str| -> Result<u64, CertError> {
        crate::parse_datetime(&text(cred.get(name), name)?)
            .ok_or_else(|| CertError::malformed(format!("status list credential: bad {name}")))
    };
    Ok(StatusList {
        url: text(cred.get("id"), "id")?,
        issuer,
        valid_from: date("validFrom")?,
        valid_until: date("validUntil")?,
        bits: Bitstring::decode(&text(subject.get("encodedList"), "encodedList")?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_order_is_most_significant_first_and_lists_round_trip() {
        let mut b = Bitstring::default();
        assert_eq!(b.len(), LIST_BITS);
        b.set(0).expect("set");
        b.set(9).expect("set");
        b.set(LIST_BITS - 1).expect("set");
        assert!(b.set(LIST_BITS).is_err());
        assert_eq!(b.bytes[0], 0x80);
        assert_eq!(b.bytes[1], 0x40);
        assert_eq!(b.bytes[b.bytes.len() - 1], 0x01);
        let decoded = Bitstring::decode(&b.encode()).expect("decode");
        assert_eq!(decoded, b);
        assert_eq!(decoded.get(9), Some(true));
        assert_eq!(decoded.get(8), Some(false));
        assert_eq!(decoded.count(), 3);
    }

    #[test]
    fn the_specifications_example_list_is_empty_and_short_or_bad_lists_are_refused() {
        // The example encodedList of the W3C Recommendation (§2.2): 131,072 bits, none set.
        let example = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA";
        let b = Bitstring::decode(example).expect("the specification's example");
        assert_eq!((b.len(), b.count()), (LIST_BITS, 0));
        let short = {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&[0u8; 100]).expect("gzip");
            format!("u{}", B64.encode(gz.finish().expect("gzip")))
        };
        assert!(Bitstring::decode(&short).is_err());
        assert!(Bitstring::decode(&example[1..]).is_err());
        assert!(Bitstring::decode("uAAAA").is_err());
        // A bomb: 64 MiB of zeros compresses to ~64 KiB and is refused at the bound.
        let bomb = {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            for _ in 0..64 {
                gz.write_all(&vec![0u8; 1 << 20]).expect("gzip");
            }
            format!("u{}", B64.encode(gz.finish().expect("gzip")))
        };
        assert!(Bitstring::decode(&bomb).is_err());
    }
}
