//! The booth's functions, natively, against the committed test-vector election.
use std::path::Path;

use hanpyo_crypto::elgamal::PublicKey;
use hanpyo_ledger::export::ExportReader;
use hanpyo_ledger::merkle::leaf_hash;
use hanpyo_record::context::election_context;
use hanpyo_record::entry::{Entry, Shapes};
use hanpyo_wasm::booth::{BallotOut, ReceiptCheck, make_ballot, verify_receipt};
use serde_json::json;

fn vectors() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-vectors/small")
}

fn election() -> (Vec<u8>, PublicKey, Vec<String>) {
    let mut r = ExportReader::open(&vectors().join("record")).expect("record");
    let manifest = r.next_frame().expect("frame").expect("manifest").bytes;
    let Entry::Manifest(m) = Entry::decode(&manifest, None).expect("decode") else {
        panic!()
    };
    let shapes = Shapes::of(&m);
    let mut key = None;
    while let Some(f) = r.next_frame().expect("frame") {
        if let Ok(Entry::JointKey { key: k, .. }) = Entry::decode(&f.bytes, Some(&shapes)) {
            key = Some(k);
        }
    }
    let codes: Vec<String> = serde_json::from_slice(
        &std::fs::read(vectors().join("secrets/credentials.json")).expect("codes"),
    )
    .expect("json");
    (manifest, key.expect("joint key"), codes)
}

fn request(
    manifest: &[u8],
    pk: &PublicKey,
    code: &str,
    selections: serde_json::Value,
    audit: bool,
) -> String {
    json!({
        "manifest_entry": hex::encode(manifest),
        "joint_key": hex::encode(pk.element().as_bytes()),
        "credential": code,
        "selections": selections,
        "audit": audit,
    })
    .to_string()
}

#[test]
fn a_ballot_made_in_the_booth_verifies_and_an_audit_shows_the_choices() {
    let (manifest, pk, codes) = election();
    let Entry::Manifest(m) = Entry::decode(&manifest, None).expect("m") else {
        panic!()
    };
    let shapes = Shapes::of(&m);
    let ctx = election_context(&leaf_hash(&manifest), &pk);
    for audit in [false, true] {
        let out: BallotOut = serde_json::from_str(
            &make_ballot(&request(
                &manifest,
                &pk,
                &codes[0],
                json!([[1], [2], [0, 4]]),
                audit,
            ))
            .expect("ballot"),
        )
        .expect("json");
        let entry = hex::decode(&out.entry).expect("hex");
        assert_eq!(out.tracking_code, hex::encode(leaf_hash(&entry)));
        let ballot = match Entry::decode(&entry, Some(&shapes)).expect("canonical entry") {
            Entry::Ballot(b) if !audit => b,
            Entry::AuditedBallot(b, _) if audit => b,
            other => panic!("unexpected {:?}", other.kind()),
        };
        ballot
            .verify(&ctx, &pk, &shapes.specs)
            .expect("signature and proofs verify");
        assert_eq!(
            out.audited_choices,
            audit.then(|| vec![vec![1], vec![2], vec![0, 4]])
        );
    }
}

#[test]
fn bad_requests_are_refused_with_a_reason() {
    let (manifest, pk, codes) = election();
    let cases = [
        (
            request(&manifest, &pk, &codes[0], json!([[0, 1], [2], []]), false),
            "ballot",
        ),
        (
            request(&manifest, &pk, &codes[0], json!([[1], [2]]), false),
            "selections",
        ),
        (
            request(&manifest, &pk, "NOT-A-CODE", json!([[1], [2], []]), false),
            "credential",
        ),
        (
            request(
                &manifest[..manifest.len() - 1],
                &pk,
                &codes[0],
                json!([[1], [2], []]),
                false,
            ),
            "manifest",
        ),
        ("{\"unexpected\": 1}".to_string(), "request"),
    ];
    for (req, what) in cases {
        let e = make_ballot(&req).expect_err("refused");
        assert!(e.starts_with(what), "{e}");
    }
}

#[test]
fn the_first_voters_receipt_verifies_and_a_tampered_one_does_not() {
    let (manifest, _, _) = election();
    let receipt =
        std::fs::read_to_string(vectors().join("receipts/first-ballot.json")).expect("receipt");
    let check: ReceiptCheck =
        serde_json::from_str(&verify_receipt(&receipt, &hex::encode(&manifest)).expect("valid"))
            .expect("json");
    assert_eq!(check.witnesses_required, 2);
    let mut v: serde_json::Value = serde_json::from_str(&receipt).expect("json");
    v["index"] = json!(v["index"].as_u64().expect("index") + 1);
    assert!(verify_receipt(&v.to_string(), &hex::encode(&manifest)).is_err());
    assert!(!hanpyo_wasm::check_credential_code(
        "ABCDE-ABCDE-ABCDE-ABCDE-ABCDE"
    ));
}
