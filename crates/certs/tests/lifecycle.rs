//! Issue → hold → present → verify for each document type, and each refusal with its reason.
mod common;

use std::collections::BTreeSet;

use common::{Fixture, NOW, key, sample};
use hanpyo_certs::bundle::Bundle;
use hanpyo_certs::entry::LotInput;
use hanpyo_certs::issue;
use hanpyo_certs::registry::{Registry, RuleError};
use hanpyo_certs::service::ServiceError;
use hanpyo_certs::template;
use hanpyo_certs::verify::{Challenge, Options, Refusal, Status, verify};
use serde_json::{Value, json};

const ALL: [&str; 6] = [
    "badge",
    "notarised-document",
    "drone-licence",
    "battery-certificate",
    "pension-receipt",
    "provenance-lot",
];

fn options() -> Options {
    Options {
        now: NOW + 60,
        ..Options::default()
    }
}

fn challenge(nonce: &str) -> Options {
    Options {
        challenge: Some(Challenge {
            audience: "https://employer.example".into(),
            nonce: nonce.into(),
            max_age: 300,
        }),
        ..options()
    }
}

/// A fixture with one issuer allowed everything, holding a recorded provenance lot `EXP-001`.
fn fixture(name: &str) -> (Fixture, ed25519_dalek::SigningKey) {
    let mut f = Fixture::new(name);
    let issuer = f.register(10, "한국산업인력공단 (test)", &ALL);
    let e =
        issue::provenance(&issuer, "EXP-001", "collection", 500, "kg", vec![], NOW).expect("event");
    f.log.append(&[e], NOW).expect("collection");
    (f, issuer)
}

fn round_trip(b: &Bundle) -> Bundle {
    Bundle::parse(b.to_json().as_bytes()).expect("the certificate file parses back")
}

#[test]
fn every_document_type_is_issued_held_presented_and_verified() {
    let (mut f, issuer) = fixture("each-type");
    let holder = key(50);
    for doc_type in ALL {
        let t = template::find(doc_type).expect("template");
        let bundle = round_trip(&f.issue(&issuer, doc_type, &sample(doc_type), Some(&holder)));
        // Held as issued: every field, status active, on the log, issuer as registered.
        let v = verify(&bundle, &options()).unwrap_or_else(|e| panic!("{doc_type}: {e}"));
        assert_eq!(v.doc_type, doc_type);
        assert_eq!(v.issuer_name, "한국산업인력공단 (test)");
        assert!(matches!(v.status, Status::Active { .. }));
        assert!(!v.trust_pinned);
        for (name, value) in sample(doc_type) {
            let shown = &v.fields[name];
            assert!(
                shown == &json!(value) || shown == &json!(value.parse::<u64>().unwrap_or(u64::MAX)),
                "{doc_type}.{name}: {shown}"
            );
        }
        // Pinned trust: the same anchors from a trust file.
        let pinned = Options {
            trust: Some(f.log.anchors().clone()),
            ..options()
        };
        assert!(verify(&bundle, &pinned).expect("pinned").trust_pinned);
        // Presented to one verifier: SD-JWT with only non-birth-date fields disclosed.
        let disclose: BTreeSet<String> = match t.format {
            template::Format::SdJwt => t
                .fields
                .iter()
                .filter(|f| {
                    f.personal
                        && f.name != "birthDate"
                        && f.name != "holderName"
                        && f.name != "applicantName"
                })
                .map(|f| f.name.to_string())
                .collect(),
            template::Format::DataIntegrity => BTreeSet::new(),
        };
        let shown = round_trip(
            &bundle
                .present(
                    &holder,
                    &disclose,
                    "https://employer.example",
                    "n-1",
                    NOW + 30,
                )
                .expect("present"),
        );
        let v = verify(&shown, &challenge("n-1"))
            .unwrap_or_else(|e| panic!("{doc_type} presented: {e}"));
        assert_eq!(v.presented_to.as_deref(), Some("https://employer.example"));
        if t.format == template::Format::SdJwt {
            assert!(
                !v.fields.contains_key("birthDate"),
                "{doc_type}: the birth date was not disclosed"
            );
            for name in &disclose {
                assert!(v.fields.contains_key(name), "{doc_type}: {name} disclosed");
            }
        }
    }
    // The log counts what each issuer issued, by type, with no personal data on it.
    let r = f.log.registry();
    let state = &r.issuers[&Fixture::did(&issuer)];
    assert_eq!(state.next_index, 6);
    assert!(ALL.iter().all(|t| state.issued[*t] == 1));
    let size = f.log.ledger().size();
    let entries = f.log.ledger().entries(0, size).expect("entries");
    let replayed = Registry::replay(&entries).expect("the log obeys its rules");
    assert_eq!(
        replayed.issuers[&Fixture::did(&issuer)].issued,
        state.issued
    );
    for e in &entries {
        let text = String::from_utf8_lossy(e);
        for personal in ["박지성", "1990-05-17", "최영희", "김하늘", "DR-2026-000123"] {
            assert!(!text.contains(personal), "personal data on the log: {text}");
        }
    }
}

#[test]
fn the_drone_licence_shows_category_without_birth_date() {
    let (mut f, issuer) = fixture("drone");
    let holder = key(51);
    let bundle = f.issue(
        &issuer,
        "drone-licence",
        &sample("drone-licence"),
        Some(&holder),
    );
    let only: BTreeSet<String> = ["category", "licenceValid"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let shown = bundle
        .present(&holder, &only, "https://employer.example", "n-2", NOW)
        .expect("present");
    let v = verify(&shown, &challenge("n-2")).expect("verifies");
    assert_eq!(
        v.fields.keys().collect::<Vec<_>>(),
        ["category", "licenceValid"]
    );
    assert_eq!(v.fields["category"], json!("C1"));
    // The birth date is nowhere in the presented SD-JWT.
    assert!(!shown.to_json().contains("1990-05-17"));
    assert!(
        !shown
            .sd_jwt
            .as_deref()
            .unwrap_or_default()
            .contains("MTk5MC0wNS0xNy")
    );
}

fn refused(b: &Bundle, opts: &Options) -> Refusal {
    match verify(b, opts) {
        Ok(v) => panic!("accepted: {v:?}"),
        Err(e) => e,
    }
}

#[test]
fn tampered_fields_are_refused() {
    let (mut f, issuer) = fixture("tamper");
    let holder = key(52);
    // A Data Integrity credential with a changed field.
    let mut b = f.issue(
        &issuer,
        "battery-certificate",
        &sample("battery-certificate"),
        Some(&holder),
    );
    if let Some(vc) = b.credential.as_mut() {
        vc["credentialSubject"]["stateOfHealthPercent"] = json!(97);
    }
    assert_eq!(refused(&b, &options()).code(), "tampered");
    // An SD-JWT with a disclosure's value changed (its digest is no longer signed) …
    let b = f.issue(
        &issuer,
        "drone-licence",
        &sample("drone-licence"),
        Some(&holder),
    );
    let sd = b.sd_jwt.clone().unwrap_or_default();
    let parts: Vec<&str> = sd.split('~').collect();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut forged = parts.clone();
    let owned: String;
    {
        let idx = parts
            .iter()
            .position(|p| {
                b64.decode(p)
                    .ok()
                    .is_some_and(|d| String::from_utf8_lossy(&d).contains("\"category\""))
            })
            .expect("the category disclosure");
        let text = String::from_utf8(b64.decode(parts[idx]).expect("b64"))
            .expect("utf8")
            .replace("C1", "A1");
        owned = b64.encode(text);
        forged[idx] = &owned;
    }
    let mut t = b.clone();
    t.sd_jwt = Some(forged.join("~"));
    assert_eq!(refused(&t, &options()).code(), "tampered");
    // … or its signed payload changed.
    let jwt: Vec<&str> = parts[0].split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&b64.decode(jwt[1]).expect("b64")).expect("json");
    payload["exp"] = json!(4_102_444_800u64);
    let p = b64.encode(payload.to_string());
    let mut t = b.clone();
    t.sd_jwt = Some(sd.replacen(jwt[1], &p, 1));
    assert_eq!(refused(&t, &options()).code(), "tampered");
    // The status list stapled and changed by the holder (to hide a revocation) is refused too.
    let mut t = b.clone();
    if let Some(s) = t.status.as_mut() {
        s["validUntil"] = json!("2099-01-01T00:00:00Z");
    }
    assert_eq!(refused(&t, &options()).code(), "status-unavailable");
}

#[test]
fn wrong_unregistered_and_unauthorised_issuers_are_refused() {
    let (mut f, issuer) = fixture("issuers");
    let other = f.register(11, "Other Academy", &["badge"]);
    let holder = key(53);
    // Wrong issuer: a credential by another (registered) issuer put into this certificate.
    let mine = f.issue(&issuer, "badge", &sample("badge"), Some(&holder));
    let theirs = f.issue(&other, "badge", &sample("badge"), Some(&holder));
    let mut t = mine.clone();
    t.credential = theirs.credential.clone();
    assert_eq!(refused(&t, &options()).code(), "wrong-issuer");
    // … or this issuer's registration swapped for the other's.
    let mut t = mine.clone();
    t.issuer = theirs.issuer.clone();
    assert_eq!(refused(&t, &options()).code(), "wrong-issuer");
    // Unregistered: the service refuses to log it …
    let stranger = key(12);
    let t = template::find("badge").expect("badge");
    let values = sample("badge")
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let err = f
        .log
        .issue(&mut f.rng, &stranger, &[(&t, values, None)], NOW, None)
        .expect_err("unregistered");
    assert!(
        matches!(err, ServiceError::Rule(RuleError::NotRegistered(_))),
        "{err}"
    );
    // … and a registration approved by someone else than the log's operator is not accepted.
    let mut t = mine.clone();
    let fake = issue::approve_issuer(
        &key(99),
        &issuer.verifying_key(),
        "Fake",
        &["badge".into()],
        NOW,
    )
    .expect("approve");
    t.issuer.entry = Value::Object(fake.to_json().expect("json"));
    assert_eq!(refused(&t, &options()).code(), "not-in-log");
    // Unauthorised: registered for badges only, it cannot log a drone licence.
    let t = template::find("drone-licence").expect("template");
    let values = sample("drone-licence")
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let err = f
        .log
        .issue(&mut f.rng, &other, &[(&t, values, None)], NOW, None)
        .expect_err("not allowed");
    assert!(
        matches!(err, ServiceError::Rule(RuleError::NotAllowed { .. })),
        "{err}"
    );
}

#[test]
fn an_operator_who_bypasses_the_rules_is_caught_by_the_verifier() {
    // The log's operator appends an issuance the rules forbid (an issuer registered for badges
    // logging a drone licence) straight into storage; a verifier still refuses it.
    let (mut f, _) = fixture("bypass");
    let badges_only = f.register(13, "Badges Only", &["badge"]);
    let t = template::find("drone-licence").expect("template");
    let values = sample("drone-licence")
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let issued = issue::issue(
        &mut f.rng,
        &badges_only,
        &issue::Request {
            template: &t,
            values: &values,
            holder: None,
            issuer_name: "Badges Only",
            status_index: 0,
            status_base: common::STATUS_BASE,
            now: NOW,
            valid_until: None,
        },
    )
    .expect("issue");
    let registration = f
        .log
        .issuer_evidence(&Fixture::did(&badges_only))
        .expect("registration");
    let anchors = f.log.anchors().clone();
    let size = f.log.ledger().size();
    let root = hex::encode(f.log.ledger().root());
    let dir = f.dir.clone();
    // Reopen the raw ledger and append without the rules.
    f.log = {
        let signer = hanpyo_ledger::checkpoint::NoteSigner::new(
            common::ORIGIN,
            f.log_key.clone(),
            hanpyo_ledger::checkpoint::KeyKind::Ed25519,
        )
        .expect("signer");
        let mut raw =
            hanpyo_ledger::store::Ledger::open(&dir.join("certs.db"), signer).expect("raw");
        raw.append_batch(&[issued.entry.to_bytes().expect("bytes")])
            .expect("append");
        let mut ws: Vec<hanpyo_ledger::witness::Witness> = f
            .witness_keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let mut s = hanpyo_ledger::witness::WitnessState::default();
                s.follow(common::ORIGIN, &f.log_key.verifying_key());
                if let Some(l) = s.logs.get_mut(common::ORIGIN) {
                    l.size = size;
                    l.root = root.clone();
                }
                hanpyo_ledger::witness::Witness::new(&format!("witness-{i}.example"), k.clone(), s)
                    .expect("w")
            })
            .collect();
        raw.collect_cosignatures(&mut ws, NOW)
            .expect("cosign")
            .all_cosigned()
            .expect("all");
        let receipt = raw
            .receipt(&hanpyo_ledger::merkle::leaf_hash(
                &issued.entry.to_bytes().expect("bytes"),
            ))
            .expect("receipt");
        let bundle = Bundle::new(
            "drone-licence",
            &issued.credential,
            &issued.salt,
            hanpyo_certs::bundle::Evidence {
                entry: Value::Object(issued.entry.to_json().expect("json")),
                receipt,
            },
            registration,
            anchors,
            None,
        );
        assert_eq!(refused(&bundle, &options()).code(), "issuer-not-allowed");
        // And an auditor replaying the log finds the broken rule at its index.
        let entries = raw.entries(0, raw.size()).expect("entries");
        let (at, err) = Registry::replay(&entries).expect_err("the log breaks a rule");
        assert_eq!(at, size);
        assert!(matches!(err, RuleError::NotAllowed { .. }), "{err}");
        drop(raw);
        // The service refuses to open a log that breaks its rules.
        let reopened = std::panic::catch_unwind(|| {
            Fixture::open_log(
                &dir,
                &key(1),
                &key(2),
                &[key(3), key(4)],
                Some((size + 1, String::new())),
            )
        });
        assert!(reopened.is_err());
        let fresh = f.dir.join("fresh");
        std::fs::create_dir_all(&fresh).expect("dir");
        Fixture::open_log(&fresh, &key(1), &key(2), &[key(3), key(4)], None)
    };
}

#[test]
fn revoked_expired_and_stale_status_are_refused() {
    let (mut f, issuer) = fixture("status");
    let holder = key(54);
    let b = f.issue(
        &issuer,
        "pension-receipt",
        &sample("pension-receipt"),
        Some(&holder),
    );
    let b2 = f.issue(
        &issuer,
        "pension-receipt",
        &sample("pension-receipt"),
        Some(&holder),
    );
    let index = b.issuance.entry["statusIndex"].as_u64().expect("index");
    let e = issue::revoke(&issuer, index, "issued-in-error", NOW + 10).expect("revoke");
    f.log
        .append(std::slice::from_ref(&e), NOW + 10)
        .expect("revoke");
    // Revoked twice, or an index never issued, or a reason not in the list: refused by the log.
    assert!(matches!(
        f.log.append(&[e], NOW + 11),
        Err(ServiceError::Rule(RuleError::Duplicate(_)))
    ));
    let never = issue::revoke(&issuer, 999, "fraud", NOW).expect("revoke");
    assert!(matches!(
        f.log.append(&[never], NOW),
        Err(ServiceError::Rule(RuleError::Sequence(_)))
    ));
    let bad_reason = issue::revoke(&issuer, 1, "because I said so", NOW).expect("revoke");
    assert!(matches!(
        f.log.append(&[bad_reason], NOW),
        Err(ServiceError::Rule(RuleError::Malformed(_)))
    ));
    // The fresh status list shows the revocation; the other credential stays valid.
    let list = f.log.status_list(&issuer, 0, NOW + 20).expect("list");
    let fresh = Options {
        status: Some(list.clone()),
        now: NOW + 30,
        ..options()
    };
    assert_eq!(refused(&b, &fresh).code(), "revoked");
    assert!(verify(&b2, &fresh).is_ok());
    // The copy stapled at issuance predates it: accepted until it expires, then refused.
    assert!(verify(&b, &options()).is_ok());
    let next_day = Options {
        now: NOW + 86_400 + 1,
        ..options()
    };
    assert_eq!(refused(&b, &next_day).code(), "status-unavailable");
    // Another issuer's list is not this credential's.
    let other = f.register(14, "Other", &["badge"]);
    let foreign = f.log.status_list(&other, 0, NOW).expect("list");
    let wrong = Options {
        status: Some(foreign),
        ..options()
    };
    assert_eq!(refused(&b2, &wrong).code(), "status-unavailable");
    // Expired: past validUntil (a year for a pension receipt).
    let later = Options {
        now: NOW + 366 * 86_400,
        status: Some(
            f.log
                .status_list(&issuer, 0, NOW + 366 * 86_400 - 10)
                .expect("list"),
        ),
        ..options()
    };
    assert_eq!(refused(&b2, &later).code(), "expired");
    // Not yet valid.
    let before = Options {
        now: NOW - 3_600,
        ..options()
    };
    assert_eq!(refused(&b2, &before).code(), "not-yet-valid");
    // No status at all: refused, unless the verifier accepts an unchecked status.
    let mut bare = b2.clone();
    bare.status = None;
    assert_eq!(refused(&bare, &options()).code(), "status-unavailable");
    let lenient = Options {
        allow_unchecked_status: true,
        ..options()
    };
    assert_eq!(
        verify(&bare, &lenient).expect("unchecked").status,
        Status::Unchecked
    );
}

#[test]
fn replayed_or_unbound_presentations_are_refused() {
    let (mut f, issuer) = fixture("replay");
    let holder = key(55);
    for doc_type in ["drone-licence", "notarised-document"] {
        let b = f.issue(&issuer, doc_type, &sample(doc_type), Some(&holder));
        let shown = b
            .present(
                &holder,
                &BTreeSet::new(),
                "https://employer.example",
                "n-1",
                NOW + 30,
            )
            .expect("present");
        assert!(verify(&shown, &challenge("n-1")).is_ok());
        // The same presentation shown to a verifier with another nonce, or another verifier.
        assert_eq!(
            refused(&shown, &challenge("n-2")).code(),
            "replayed",
            "{doc_type}"
        );
        let mut elsewhere = challenge("n-1");
        if let Some(c) = elsewhere.challenge.as_mut() {
            c.audience = "https://bank.example".into();
        }
        assert_eq!(refused(&shown, &elsewhere).code(), "replayed", "{doc_type}");
        // Too old.
        let late = Options {
            now: NOW + 30 + 301,
            ..challenge("n-1")
        };
        assert_eq!(refused(&shown, &late).code(), "replayed", "{doc_type}");
        // Signed by someone else than the holder.
        let thief = key(56);
        let stolen = b
            .present(
                &thief,
                &BTreeSet::new(),
                "https://employer.example",
                "n-1",
                NOW + 30,
            )
            .expect("present");
        assert_eq!(
            refused(&stolen, &challenge("n-1")).code(),
            if doc_type == "drone-licence" {
                "tampered"
            } else {
                "not-holder-bound"
            },
            "{doc_type}"
        );
        // The bare certificate where a presentation is required.
        assert_eq!(
            refused(&b, &challenge("n-1")).code(),
            "not-holder-bound",
            "{doc_type}"
        );
    }
    // A bearer certificate (no holder key) cannot be presented bound.
    let b = f.issue(&issuer, "badge", &sample("badge"), None);
    assert!(verify(&b, &options()).is_ok());
    assert_eq!(refused(&b, &challenge("n-1")).code(), "not-holder-bound");
}

#[test]
fn receipts_must_hold_against_the_trusted_log() {
    let (mut f, issuer) = fixture("receipts");
    let b = f.issue(&issuer, "badge", &sample("badge"), None);
    // Another log's keys pinned: the receipts do not verify.
    let mut other = f.log.anchors().clone();
    other.log_key = hex::encode(key(77).verifying_key().as_bytes());
    let pinned = Options {
        trust: Some(other),
        ..options()
    };
    assert_eq!(refused(&b, &pinned).code(), "not-in-log");
    // Too few witnesses for a pinned quorum of 3.
    let mut strict = f.log.anchors().clone();
    strict.quorum = 3;
    let pinned = Options {
        trust: Some(strict),
        ..options()
    };
    assert_eq!(refused(&b, &pinned).code(), "not-in-log");
    // A changed inclusion proof or entry.
    let mut t = b.clone();
    if let Some(h) = t.issuance.receipt.inclusion_proof.first_mut() {
        *h = "00".repeat(32);
    }
    assert_eq!(refused(&t, &options()).code(), "not-in-log");
    let mut t = b.clone();
    t.issuance.entry["issued"] = json!("2026-12-02T00:00:00Z");
    assert_eq!(refused(&t, &options()).code(), "not-in-log");
    // Another salt: not the committed credential.
    let mut t = b.clone();
    t.commitment_salt = "11".repeat(32);
    assert_eq!(refused(&t, &options()).code(), "not-in-log");
    // Malformed files.
    assert!(Bundle::parse(b"{}").is_err());
    assert!(Bundle::parse(&vec![b' '; 300 * 1024]).is_err());
    let mut t = b.clone();
    t.doc_type = "passport".into();
    assert_eq!(refused(&t, &options()).code(), "malformed");
}

#[test]
fn provenance_lots_must_balance() {
    let mut f = Fixture::new("provenance");
    let collector = f.register(20, "Seoul UCO Collection", &["provenance-lot"]);
    let carrier = f.register(21, "Han River Logistics", &["provenance-lot"]);
    let refiner = f.register(22, "Ulsan Biorefinery", &["provenance-lot"]);
    let badge_issuer = f.register(23, "Academy", &["badge"]);
    let ev =
        |k: &ed25519_dalek::SigningKey, lot: &str, stage: &str, q: u64, inputs: &[(&str, u64)]| {
            issue::provenance(
                k,
                lot,
                stage,
                q,
                "kg",
                inputs
                    .iter()
                    .map(|(l, q)| LotInput {
                        lot: l.to_string(),
                        quantity: *q,
                    })
                    .collect(),
                NOW,
            )
            .expect("event")
        };
    f.log
        .append(
            &[
                ev(&collector, "COL-1", "collection", 600, &[]),
                ev(&collector, "COL-2", "collection", 400, &[]),
                ev(
                    &carrier,
                    "TRN-1",
                    "transport",
                    995,
                    &[("COL-1", 600), ("COL-2", 400)],
                ),
                ev(&refiner, "REF-1", "refining", 900, &[("TRN-1", 995)]),
                ev(&refiner, "EXP-1", "export", 500, &[("REF-1", 500)]),
            ],
            NOW,
        )
        .expect("a balanced chain");
    let refuse = |f: &mut Fixture, e| match f.log.append(&[e], NOW) {
        Err(ServiceError::Rule(r)) => r,
        other => panic!("accepted: {other:?}"),
    };
    // Outputs exceed inputs.
    let r = refuse(
        &mut f,
        ev(&refiner, "EXP-2", "export", 401, &[("REF-1", 400)]),
    );
    assert!(
        matches!(&r, RuleError::Balance(m) if m.contains("exceeds its inputs")),
        "{r}"
    );
    // Taking more than is left of a lot (900 refined, 500 exported already).
    let r = refuse(
        &mut f,
        ev(&refiner, "EXP-3", "export", 401, &[("REF-1", 401)]),
    );
    assert!(
        matches!(&r, RuleError::Balance(m) if m.contains("left")),
        "{r}"
    );
    // An unknown input, a collection with inputs, a stage backwards, a lot recorded twice.
    assert!(matches!(
        refuse(
            &mut f,
            ev(&carrier, "TRN-2", "transport", 1, &[("NOPE", 1)])
        ),
        RuleError::Sequence(_)
    ));
    assert!(matches!(
        refuse(
            &mut f,
            ev(&collector, "COL-3", "collection", 1, &[("COL-1", 1)])
        ),
        RuleError::Sequence(_)
    ));
    assert!(matches!(
        refuse(
            &mut f,
            ev(&carrier, "TRN-3", "transport", 1, &[("REF-1", 1)])
        ),
        RuleError::Sequence(_)
    ));
    assert!(matches!(
        refuse(&mut f, ev(&collector, "COL-1", "collection", 1, &[])),
        RuleError::Duplicate(_)
    ));
    // Parties not registered, or not for provenance.
    assert!(matches!(
        refuse(&mut f, ev(&key(24), "X-1", "collection", 1, &[])),
        RuleError::NotRegistered(_)
    ));
    assert!(matches!(
        refuse(&mut f, ev(&badge_issuer, "X-2", "collection", 1, &[])),
        RuleError::NotAllowed { .. }
    ));
    // The export's history back to collection, and what is left of each lot.
    let r = f.log.registry();
    let history: Vec<&str> = r
        .history("EXP-1")
        .iter()
        .map(|l| l.event.lot.as_str())
        .collect();
    assert_eq!(history, ["EXP-1", "REF-1", "TRN-1", "COL-1", "COL-2"]);
    assert_eq!(r.lots["REF-1"].used, 500);
    // The exporter's lot certificate verifies.
    let b = f.issue(
        &refiner,
        "provenance-lot",
        &[("lot", "EXP-1"), ("product", "UCO")],
        None,
    );
    assert!(verify(&b, &options()).is_ok());
}

#[test]
fn bulk_issuance_is_one_commit_with_sequential_indexes() {
    let (mut f, issuer) = fixture("bulk");
    let t = template::find("badge").expect("badge");
    let rows: Vec<_> = (0..50)
        .map(|_| {
            (
                &t,
                sample("badge")
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                None,
            )
        })
        .collect();
    let before = f.log.ledger().checkpoint_sizes().expect("sizes").len();
    let bundles = f
        .log
        .issue(&mut f.rng, &issuer, &rows, NOW, None)
        .expect("bulk");
    assert_eq!(bundles.len(), 50);
    assert_eq!(
        f.log.ledger().checkpoint_sizes().expect("sizes").len(),
        before + 1
    );
    for (i, b) in bundles.iter().enumerate() {
        assert_eq!(b.issuance.entry["statusIndex"], json!(i as u64));
        assert!(verify(b, &options()).is_ok());
    }
    // A bad row refuses the whole batch, nothing logged.
    let size = f.log.ledger().size();
    let mut bad = rows.clone();
    bad[7].1.insert("awardedOn".into(), "2026-02-30".into());
    assert!(f.log.issue(&mut f.rng, &issuer, &bad, NOW, None).is_err());
    assert_eq!(f.log.ledger().size(), size);
}
