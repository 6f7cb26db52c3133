//! The W3C vc-di-eddsa test vector for `eddsa-jcs-2022`, reproduced byte for byte.
use ed25519_dalek::SigningKey;
use hanpyo_certs::{integrity, jcs};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

fn vector(name: &str) -> String {
    let path = format!(
        "{}/tests/vectors/eddsa-jcs-2022-{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .trim_end()
        .to_string()
}

fn object(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text).expect("json") {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn vector_key() -> SigningKey {
    let pair: Value = serde_json::from_str(&vector("keyPair.json")).expect("json");
    let secret = pair["privateKeyMultibase"].as_str().expect("secret");
    let bytes = bs58_decode(&secret[1..]);
    // Multicodec ed25519-priv (0x1300) as varint 0x80 0x26, then the 32-byte seed.
    assert_eq!(&bytes[..2], &[0x80, 0x26]);
    let key = SigningKey::from_bytes(&bytes[2..].try_into().expect("32 bytes"));
    assert_eq!(
        hanpyo_certs::did::multibase_key(&key.verifying_key()),
        pair["publicKeyMultibase"].as_str().expect("public")
    );
    key
}

fn bs58_decode(s: &str) -> Vec<u8> {
    // The vector's own alphabet check, independent of the crate's decoder.
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut out: Vec<u8> = Vec::new();
    for c in s.bytes() {
        let mut carry = ALPHABET.iter().position(|&a| a == c).expect("base58") as u32;
        for b in out.iter_mut().rev() {
            carry += u32::from(*b) * 58;
            *b = carry as u8;
            carry >>= 8;
        }
        while carry > 0 {
            out.insert(0, carry as u8);
            carry >>= 8;
        }
    }
    let zeros = s.bytes().take_while(|&c| c == b'1').count();
    [vec![0; zeros], out].concat()
}

#[test]
fn canonical_forms_and_hashes_match_the_vector() {
    let unsigned = object(&vector("unsigned.json"));
    assert_eq!(
        String::from_utf8(jcs::canonical(&unsigned).expect("jcs")).expect("utf8"),
        vector("canonDocJCS.txt")
    );
    assert_eq!(
        hex::encode(Sha256::digest(jcs::canonical(&unsigned).expect("jcs"))),
        vector("docHashJCS.txt")
    );
    let config = object(&vector("proofConfigJCS.json"));
    assert_eq!(
        String::from_utf8(jcs::canonical(&config).expect("jcs")).expect("utf8"),
        vector("proofCanonJCS.txt")
    );
    let data = integrity::hash_data(&config, &unsigned).expect("hash");
    assert_eq!(hex::encode(data), vector("combinedHashJCS.txt"));
}

#[test]
fn signing_reproduces_the_vector_and_it_verifies() {
    let unsigned = object(&vector("unsigned.json"));
    let expected = object(&vector("signedJCS.json"));
    let proof = expected["proof"].as_object().expect("proof");
    let options = integrity::ProofOptions {
        created: proof["created"].as_str().expect("created").into(),
        verification_method: proof["verificationMethod"].as_str().expect("vm").into(),
        proof_purpose: "assertionMethod".into(),
        challenge: None,
        domain: None,
    };
    let signed = integrity::sign(&unsigned, &vector_key(), &options).expect("sign");
    assert_eq!(
        signed["proof"]["proofValue"],
        Value::String(vector("sigBTC58JCS.txt"))
    );
    assert_eq!(
        Value::Object(signed.clone()),
        Value::Object(expected.clone())
    );
    let verified = integrity::verify(&expected, "assertionMethod").expect("the vector verifies");
    assert_eq!(verified.key, vector_key().verifying_key());
}

#[test]
fn tampered_or_superseded_forms_are_refused() {
    let signed = object(&vector("signedJCS.json"));
    // The superseded vector signed the proof configuration without @context.
    let old = object(&vector("superseded-nocontext-signedJCS.json"));
    assert!(integrity::verify(&old, "assertionMethod").is_err());
    // Any changed member of the document or of the proof.
    let mut t = signed.clone();
    t["credentialSubject"]["alumniOf"] = Value::String("The School of Forgeries".into());
    assert!(integrity::verify(&t, "assertionMethod").is_err());
    let mut t = signed.clone();
    t["proof"]["created"] = Value::String("2023-02-24T23:36:39Z".into());
    assert!(integrity::verify(&t, "assertionMethod").is_err());
    let mut t = signed.clone();
    t.insert("extra".into(), Value::Bool(true));
    assert!(integrity::verify(&t, "assertionMethod").is_err());
    // Another purpose than the verifier expects.
    assert!(integrity::verify(&signed, "authentication").is_err());
    // A signature by another key under the same verification method.
    let mut t = signed.clone();
    let unsigned = object(&vector("unsigned.json"));
    let other = SigningKey::from_bytes(&[9; 32]);
    let forged = integrity::sign(
        &unsigned,
        &other,
        &integrity::ProofOptions {
            created: "2023-02-24T23:36:38Z".into(),
            verification_method: signed["proof"]["verificationMethod"]
                .as_str()
                .expect("vm")
                .into(),
            proof_purpose: "assertionMethod".into(),
            challenge: None,
            domain: None,
        },
    )
    .expect("sign");
    t["proof"]["proofValue"] = forged["proof"]["proofValue"].clone();
    assert!(integrity::verify(&t, "assertionMethod").is_err());
}
