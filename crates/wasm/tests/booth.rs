//! The booth's functions, natively, against the committed test-vector election.
use std::path::Path;

use hanpyo_crypto::elgamal::PublicKey;
use hanpyo_ledger::export::ExportReader;
use hanpyo_ledger::merkle::leaf_hash;
use hanpyo_record::context::election_context;
use hanpyo_record::entry::{Entry, Shapes};
use hanpyo_wasm::booth::{
    AuditCheck, BallotOut, CheckpointCheck, ReceiptCheck, check_audit, describe_entries,
    make_ballot, qr_svg, verify_checkpoint, verify_receipt, verify_record,
};
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
        match Entry::decode(&entry, Some(&shapes)).expect("canonical entry") {
            Entry::Ballot(b) if !audit => b
                .verify(&ctx, &pk, &shapes.specs)
                .expect("signature and proofs verify"),
            Entry::AuditedBallot(a) if audit => {
                a.check(&pk, &shapes.specs)
                    .expect("the openings re-encrypt");
            }
            other => panic!("unexpected {:?}", other.kind()),
        }
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
    let check: ReceiptCheck = serde_json::from_str(
        &verify_receipt(&receipt, &hex::encode(&manifest), None).expect("valid"),
    )
    .expect("json");
    assert_eq!(check.witnesses_required, 2);
    let mut v: serde_json::Value = serde_json::from_str(&receipt).expect("json");
    v["index"] = json!(v["index"].as_u64().expect("index") + 1);
    assert!(verify_receipt(&v.to_string(), &hex::encode(&manifest), None).is_err());
    // With a trust policy: the manifest's own log and witnesses pass, with the policy's quorum;
    // a policy naming another witness refuses the receipt, and so does a quorum it cannot meet.
    let ledger = match hanpyo_record::entry::Entry::decode(&manifest, None).expect("manifest") {
        hanpyo_record::entry::Entry::Manifest(m) => m.ledger,
        _ => panic!("not a manifest"),
    };
    let policy = |witnesses: &[(String, [u8; 32])], quorum: u32| {
        let mut t = format!(
            "origin = {:?}\nlog_key = \"{}\"\nwitness_quorum = {quorum}\n",
            ledger.origin,
            hex::encode(ledger.key)
        );
        for (name, key) in witnesses {
            t += &format!(
                "[[witnesses]]\nname = {name:?}\nkey = \"{}\"\n",
                hex::encode(key)
            );
        }
        t
    };
    let named: Vec<(String, [u8; 32])> = ledger
        .witnesses
        .iter()
        .map(|w| (w.name.clone(), w.key))
        .collect();
    let trusted = policy(&named, 1);
    let check: ReceiptCheck = serde_json::from_str(
        &verify_receipt(&receipt, &hex::encode(&manifest), Some(&trusted)).expect("trusted"),
    )
    .expect("json");
    assert_eq!(check.witnesses_required, 1);
    let mut other = named.clone();
    other[0].1 = [9u8; 32];
    let e = verify_receipt(&receipt, &hex::encode(&manifest), Some(&policy(&other, 1)))
        .expect_err("another witness");
    assert!(e.contains("other witnesses than the trust policy"), "{e}");
    let mut more = named.clone();
    more.push(("third.example/witness".into(), [7u8; 32]));
    let e = verify_receipt(&receipt, &hex::encode(&manifest), Some(&policy(&more, 3)))
        .expect_err("a quorum of three");
    assert!(e.starts_with("trust policy"), "{e}");
    assert!(!hanpyo_wasm::check_credential_code(
        "ABCDE-ABCDE-ABCDE-ABCDE-ABCDE"
    ));
}

fn record_file(name: &str) -> Vec<u8> {
    std::fs::read(vectors().join("record").join(name)).unwrap_or_default()
}

#[test]
fn the_record_verifies_in_memory_with_progress_and_a_flipped_byte_is_found() {
    let entries = record_file("entries");
    let checkpoint = record_file("checkpoint");
    let mut seen = Vec::new();
    let report: serde_json::Value = serde_json::from_str(
        &verify_record(entries.clone(), checkpoint.clone(), Vec::new(), &mut |n| {
            seen.push(n)
        })
        .expect("report"),
    )
    .expect("json");
    assert_eq!(report["valid"], json!(true), "{report}");
    let total = report["summary"]["entries"].as_u64().expect("entries");
    assert_eq!(
        seen.last(),
        Some(&total),
        "progress ends at the entry count"
    );
    assert!(seen.windows(2).all(|w| w[0] <= w[1]));
    assert!(report["summary"]["result"].is_array());
    // One byte flipped in the last entry (the result): the report says invalid.
    let mut bad = entries;
    let n = bad.len();
    bad[n - 1] ^= 1;
    let report: serde_json::Value = serde_json::from_str(
        &verify_record(bad, checkpoint, Vec::new(), &mut |_| {}).expect("report"),
    )
    .expect("json");
    assert_eq!(report["valid"], json!(false));
}

#[test]
fn the_checkpoint_check_names_the_cosigning_witnesses_and_refuses_a_forgery() {
    let (manifest, _, _) = election();
    let note = String::from_utf8(record_file("checkpoint")).expect("utf-8");
    let check: CheckpointCheck =
        serde_json::from_str(&verify_checkpoint(&note, &hex::encode(&manifest)).expect("valid"))
            .expect("json");
    assert_eq!(check.witnesses_required, 2);
    assert!(check.cosigned_by.len() >= 2);
    assert!(check.size > 0);
    // Another size under the same signatures.
    let forged = note.replacen(
        &format!("\n{}\n", check.size),
        &format!("\n{}\n", check.size + 1),
        1,
    );
    assert_ne!(forged, note);
    assert!(verify_checkpoint(&forged, &hex::encode(&manifest)).is_err());
    // Without the witness lines the quorum is not met.
    let log_only: String = note
        .lines()
        .filter(|l| !l.starts_with('\u{2014}') || l.contains(&check.origin))
        .map(|l| format!("{l}\n"))
        .collect();
    let e = verify_checkpoint(&log_only, &hex::encode(&manifest)).expect_err("no quorum");
    assert!(e.contains("cosignatures"), "{e}");
}

#[test]
fn entries_are_listed_with_kind_and_tracking_code_and_a_torn_frame_is_refused() {
    let entries = record_file("entries");
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&describe_entries(&entries, 0).expect("list")).expect("json");
    assert_eq!(list[0]["kind"], json!("manifest"));
    assert_eq!(list[0]["index"], json!(0));
    assert!(list.iter().any(|e| e["kind"] == json!("ballot")));
    let first_len = u32::from_be_bytes([entries[0], entries[1], entries[2], entries[3]]) as usize;
    let rest = &entries[4 + first_len..];
    let shifted: Vec<serde_json::Value> =
        serde_json::from_str(&describe_entries(rest, 1).expect("list")).expect("json");
    assert_eq!(shifted[0]["index"], json!(1));
    assert_eq!(shifted[0]["tracking_code"], list[1]["tracking_code"]);
    assert!(describe_entries(&entries[..entries.len() - 3], 0).is_err());
}

#[test]
fn the_qr_code_is_an_svg_and_too_long_a_text_is_refused() {
    let svg = qr_svg("http://127.0.0.1:8080/check.html#ABCDE-FGHJK-MNPQR-STVWX").expect("qr");
    assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"));
    assert!(svg.contains("<path") || svg.contains("<rect"));
    assert!(qr_svg(&"x".repeat(5000)).is_err());
}

#[test]
fn an_audited_ballot_decodes_elsewhere_and_a_changed_one_is_refused() {
    let (manifest, pk, codes) = election();
    let key = hex::encode(pk.element().as_bytes());
    let made: BallotOut = serde_json::from_str(
        &make_ballot(&request(
            &manifest,
            &pk,
            &codes[3],
            json!([[1], [0], [0, 2]]),
            true,
        ))
        .expect("ballot"),
    )
    .expect("json");
    let check: AuditCheck = serde_json::from_str(
        &check_audit(&made.entry, &hex::encode(&manifest), &key).expect("valid audit"),
    )
    .expect("json");
    assert_eq!(check.choices, vec![vec![1], vec![0], vec![0, 2]]);
    assert_eq!(check.tracking_code_short, made.tracking_code_short);
    assert_eq!(check.tracking_code, made.tracking_code);
    // Any changed byte (ciphertext, proof, signature or opening) is refused.
    let bytes = hex::decode(&made.entry).expect("hex");
    for at in [40, bytes.len() / 2, bytes.len() - 5] {
        let mut bad = bytes.clone();
        bad[at] ^= 1;
        assert!(
            check_audit(&hex::encode(&bad), &hex::encode(&manifest), &key).is_err(),
            "byte {at}"
        );
    }
    // A cast (not audited) ballot has nothing to reveal.
    let cast: BallotOut = serde_json::from_str(
        &make_ballot(&request(
            &manifest,
            &pk,
            &codes[3],
            json!([[1], [0], [0]]),
            false,
        ))
        .expect("b"),
    )
    .expect("json");
    assert!(check_audit(&cast.entry, &hex::encode(&manifest), &key).is_err());
}
