//! `did:key` identifiers for Ed25519 keys (W3C did:key method v0.7): `did:key:z` + base58btc of
//! the multicodec prefix `0xed 0x01` and the 32-byte public key. A verification method is the
//! DID, `#`, and the same multibase string. Resolving one needs no network.
use ed25519_dalek::VerifyingKey;

use crate::CertError;

const ED25519_PUB: [u8; 2] = [0xed, 0x01];

/// The multibase (`z…`) form of an Ed25519 public key with its multicodec prefix.
pub fn multibase_key(key: &VerifyingKey) -> String {
    let mut bytes = ED25519_PUB.to_vec();
    bytes.extend_from_slice(key.as_bytes());
    format!("z{}", bs58::encode(bytes).into_string())
}

/// The `did:key` of an Ed25519 public key.
pub fn did_key(key: &VerifyingKey) -> String {
    format!("did:key:{}", multibase_key(key))
}

/// The verification method of a `did:key` (`did:key:z…#z…`).
pub fn verification_method(key: &VerifyingKey) -> String {
    let mb = multibase_key(key);
    format!("did:key:{mb}#{mb}")
}

/// Decodes a multibase Ed25519 public key; only the canonical encoding is accepted.
pub fn parse_multibase_key(mb: &str) -> Result<VerifyingKey, CertError> {
    let body = mb
        .strip_prefix('z')
        .ok_or_else(|| CertError::malformed("a multibase key starts with z (base58btc)"))?;
    if body.len() > 64 {
        return Err(CertError::malformed("multibase key too long"));
    }
    let bytes = bs58::decode(body)
        .into_vec()
        .map_err(|_| CertError::malformed("multibase key is not base58btc"))?;
    let key: [u8; 32] = bytes
        .strip_prefix(&ED25519_PUB[..])
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| CertError::malformed("not an Ed25519 public key (multicodec 0xed01)"))?;
    let key = VerifyingKey::from_bytes(&key)
        .map_err(|_| CertError::malformed("not a valid Ed25519 public key"))?;
    if key.is_weak() {
        return Err(CertError::malformed("a weak (small-order) Ed25519 key"));
    }
    if multibase_key(&key) != mb {
        return Err(CertError::malformed("multibase key is not canonical"));
    }
    Ok(key)
}

/// Resolves a `did:key` to its Ed25519 key.
pub fn parse_did_key(did: &str) -> Result<VerifyingKey, CertError> {
    let mb = did
        .strip_prefix("did:key:")
        .ok_or_else(|| CertError::malformed(format!("not a did:key: {}", clip(did))))?;
    parse_multibase_key(mb)
}

/// Resolves a verification method `did:key:z…#z…` (the fragment must repeat the key).
pub fn parse_verification_method(vm: &str) -> Result<VerifyingKey, CertError> {
    let (did, fragment) = vm
        .split_once('#')
        .ok_or_else(|| CertError::malformed("a verification method has a #fragment"))?;
    let key = parse_did_key(did)?;
    if fragment != multibase_key(&key) {
        return Err(CertError::malformed(
            "the verification method's fragment is not its key",
        ));
    }
    Ok(key)
}

/// The DID part of a verification method.
pub fn controller(vm: &str) -> &str {
    vm.split_once('#').map_or(vm, |(did, _)| did)
}

/// A short prefix of untrusted text for error messages.
pub(crate) fn clip(s: &str) -> String {
    s.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    #[test]
    fn did_keys_round_trip_and_reject_other_encodings() {
        let key = SigningKey::from_bytes(&[7; 32]).verifying_key();
        let did = did_key(&key);
        assert!(did.starts_with("did:key:z6Mk"), "{did}");
        assert_eq!(parse_did_key(&did), Ok(key));
        assert_eq!(
            parse_verification_method(&verification_method(&key)),
            Ok(key)
        );
        assert!(parse_did_key(&did.replace("did:key:z", "did:key:f")).is_err());
        assert!(parse_did_key(&did.replace("did:key:", "did:web:")).is_err());
        let other = did_key(&SigningKey::from_bytes(&[8; 32]).verifying_key());
        assert!(parse_verification_method(&format!("{did}#{}", &other[8..])).is_err());
        // A leading zero byte in base58 ("1") changes the bytes: not the same key.
        assert!(parse_did_key(&format!("did:key:z1{}", &did[9..])).is_err());
    }
}
