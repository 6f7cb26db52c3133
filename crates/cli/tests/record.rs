//! `hanpyo simulate` → `hanpyo verify`, and the tamper suite: every alteration of a record makes
//! `verify` exit 1 and name the problem.
use std::path::{Path, PathBuf};
use std::process::Command;

use ed25519_dalek::SigningKey;
use hanpyo_crypto::credential::SecretCredential;
use hanpyo_ledger::checkpoint::{KeyKind, NoteSigner};
use hanpyo_ledger::export::{CHECKPOINT_FILE, ExportReader, ExportWriter};
use hanpyo_ledger::merkle::leaf_hash;
use hanpyo_record::authority::encrypt_ballot_with_rng;
use hanpyo_record::context::election_context;
use hanpyo_record::decision::{Outcome, Turnout};
use hanpyo_record::entry::{AuditedBallot, Entry, Kind, Shapes};
use hanpyo_record::manifest::Manifest;
use serde_json::Value;

fn hanpyo(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hanpyo"))
        .args(args)
        .output()
        .expect("runs")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hanpyo-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn simulate(name: &str, voters: u32, seed: u64, extra: &[&str]) -> PathBuf {
    let out = scratch(name);
    let v = voters.to_string();
    let s = seed.to_string();
    let mut args = vec![
        "simulate",
        "--voters",
        &v,
        "--seed",
        &s,
        "--out",
        out.to_str().expect("utf8"),
    ];
    args.extend_from_slice(extra);
    let o = hanpyo(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

fn verify(dir: &Path) -> (i32, Value) {
    let o = hanpyo(&["verify", "--json", dir.to_str().expect("utf8")]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (o.status.code().unwrap_or(-1), v)
}

fn entries(dir: &Path) -> Vec<Vec<u8>> {
    let mut r = ExportReader::open(&dir.join("record")).expect("record");
    let mut out = Vec::new();
    while let Some(f) = r.next_frame().expect("frame") {
        out.push(f.bytes);
    }
    out
}

fn manifest_of(entries: &[Vec<u8>]) -> Manifest {
    match Entry::decode(&entries[0], None).expect("manifest") {
        Entry::Manifest(m) => *m,
        _ => panic!("first entry is not the manifest"),
    }
}

/// Writes `entries` as a record under `name`: signed again by the operator's key when `resign`
/// (a malicious operator), else with the original checkpoint (anyone else tampering with a copy).
fn write(name: &str, original: &Path, entries: &[Vec<u8>], resign: bool) -> PathBuf {
    let out = scratch(name);
    let mut w = ExportWriter::create(&out.join("record")).expect("create");
    for e in entries {
        w.append(e).expect("append");
    }
    if resign {
        let seed = std::fs::read_to_string(original.join("secrets/log-signing-key")).expect("key");
        let seed: [u8; 32] = hex::decode(seed.trim())
            .expect("hex")
            .try_into()
            .expect("32");
        // The original's origin: an altered manifest may no longer decode.
        let origin = manifest_of(&self::entries(original)).ledger.origin;
        let signer = NoteSigner::new(&origin, SigningKey::from_bytes(&seed), KeyKind::Ed25519)
            .expect("signer");
        w.finish(&signer).expect("finish");
    } else {
        drop(w);
        std::fs::copy(
            original.join("record").join(CHECKPOINT_FILE),
            out.join("record").join(CHECKPOINT_FILE),
        )
        .expect("copy checkpoint");
    }
    out
}

/// `(entry index, what)` of every failure.
fn failures(report: &Value) -> Vec<(Option<u64>, String)> {
    report["failures"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["entry"].as_u64(),
                        f["what"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn assert_invalid(dir: &Path, expect: &[(Option<u64>, &str)]) -> Vec<(Option<u64>, String)> {
    let (code, report) = verify(dir);
    assert_eq!(code, 1, "verify must exit 1: {report}");
    assert_eq!(report["valid"], Value::Bool(false));
    let got = failures(&report);
    for (entry, what) in expect {
        assert!(
            got.iter()
                .any(|(e, w)| w == what && (entry.is_none() || e == entry)),
            "expected failure {what:?} at {entry:?}; got {got:?}"
        );
    }
    got
}

fn intent_counts(dir: &Path) -> Value {
    let intent: Value =
        serde_json::from_slice(&std::fs::read(dir.join("intent.json")).expect("intent"))
            .expect("json");
    intent["counts"].clone()
}

fn result_counts(report: &Value) -> Value {
    Value::Array(
        report["summary"]["result"]
            .as_array()
            .expect("result")
            .iter()
            .map(|q| q["counts"].clone())
            .collect(),
    )
}

fn index_of(entries: &[Vec<u8>], kind: Kind, nth: usize) -> usize {
    entries
        .iter()
        .enumerate()
        .filter(|(_, e)| Kind::of(e).ok() == Some(kind))
        .nth(nth)
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("no {kind:?} #{nth}"))
}

/// The joint key of a record's entries and the election context its ballots are proven in.
fn ballot_context(
    es: &[Vec<u8>],
    shapes: &Shapes,
) -> (
    hanpyo_crypto::elgamal::PublicKey,
    hanpyo_crypto::transcript::ProofContext,
) {
    let Entry::JointKey { key, .. } =
        Entry::decode(&es[index_of(es, Kind::JointKey, 0)], Some(shapes)).expect("key")
    else {
        panic!("joint key")
    };
    (key, election_context(&leaf_hash(&es[0]), &key))
}

/// Voter `n`'s credential signing key, from a simulation's secrets.
fn voter_key(
    dir: &Path,
    m: &Manifest,
    n: usize,
) -> hanpyo_crypto::credential::CredentialSigningKey {
    let codes: Vec<String> = serde_json::from_slice(
        &std::fs::read(dir.join("secrets/credentials.json")).expect("codes"),
    )
    .expect("json");
    SecretCredential::parse(&codes[n])
        .expect("code")
        .signing_key(m.election_id.as_bytes())
}

#[test]
fn simulated_elections_verify_and_match_the_intent_for_every_question_kind() {
    for (name, extra) in [
        ("default", vec![]),
        ("one-of-one", vec!["--trustees", "1", "--threshold", "1"]),
        (
            "three-of-five",
            vec![
                "--trustees",
                "5",
                "--threshold",
                "3",
                "--revote-percent",
                "30",
                "--audit-percent",
                "20",
            ],
        ),
    ] {
        let dir = simulate(name, 60, 3, &extra);
        let (code, report) = verify(&dir);
        assert_eq!(code, 0, "{name}: {report}");
        assert_eq!(report["valid"], Value::Bool(true));
        assert_eq!(result_counts(&report), intent_counts(&dir), "{name}");
        assert_eq!(report["summary"]["ballots_counted"], Value::from(60));
        // Everyone voted, so the referendum (rule 1/4) is decided by its majority alone; the
        // other questions have no rule.
        assert_eq!(
            report["summary"]["turnout"],
            serde_json::json!({"eligible": 60, "voted": 60})
        );
        let counts = intent_counts(&dir);
        let (yes, no) = (
            counts[0][0].as_u64().expect("n"),
            counts[0][1].as_u64().expect("n"),
        );
        let expected = match (2 * yes > yes + no, 2 * no > yes + no) {
            (true, _) => serde_json::json!({"outcome": "decided", "choice": 0}),
            (_, true) => serde_json::json!({"outcome": "decided", "choice": 1}),
            _ => serde_json::json!({"outcome": "no-majority"}),
        };
        let result = &report["summary"]["result"];
        assert_eq!(result[0]["outcome"], expected, "{name}");
        assert_eq!(
            result[0]["decision"],
            serde_json::json!({"num": 1, "den": 4})
        );
        assert_eq!(
            result[1]["outcome"],
            serde_json::json!({"outcome": "no-rule"})
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_custom_manifest_with_minimum_selections_verifies() {
    let dir = scratch("custom-manifest");
    std::fs::create_dir_all(&dir).expect("dir");
    let manifest = dir.join("m.toml");
    std::fs::write(
        &manifest,
        r#"
election_id = "custom-1"
opens_at = 2026-12-01T09:00:00Z
closes_at = 2026-12-02T09:00:00Z
trustees = 2
threshold = 2
title = { ko = "시험", en = "Test" }
[[questions]]
kind = "choose-range"
min = 2
max = 3
title = { ko = "둘에서 셋", en = "Two to three" }
choices = [{ ko = "가", en = "A" }, { ko = "나", en = "B" }, { ko = "다", en = "C" }, { ko = "라", en = "D" }]
"#,
    )
    .expect("write");
    let out = dir.join("out");
    let o = hanpyo(&[
        "simulate",
        "--voters",
        "30",
        "--seed",
        "5",
        "--manifest",
        manifest.to_str().expect("p"),
        "--out",
        out.to_str().expect("p"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (code, report) = verify(&out);
    assert_eq!(code, 0, "{report}");
    assert_eq!(result_counts(&report), intent_counts(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The committed manifest with score and scale questions (examples/manifests/score-and-scale.toml).
fn score_and_scale_manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/manifests/score-and-scale.toml")
}

/// A simulation of `voters` with `manifest` (no revotes or audits beyond the defaults).
fn simulate_with(name: &str, manifest: &Path, voters: u32, seed: u64) -> PathBuf {
    simulate(
        name,
        voters,
        seed,
        &["--manifest", manifest.to_str().expect("utf8")],
    )
}

/// A simulation of `voters` with `manifest`, some revoting and some auditing (`percent` each),
/// verified VALID with the result of the simulated intent: its directory and report.
fn simulate_verified(
    name: &str,
    manifest: &Path,
    voters: u32,
    seed: u64,
    percent: &str,
) -> (PathBuf, Value) {
    let dir = simulate(
        name,
        voters,
        seed,
        &[
            "--manifest",
            manifest.to_str().expect("utf8"),
            "--revote-percent",
            percent,
            "--audit-percent",
            percent,
        ],
    );
    let (code, report) = verify(&dir);
    assert_eq!(code, 0, "{report}");
    assert_eq!(result_counts(&report), intent_counts(&dir));
    (dir, report)
}

#[test]
fn score_and_scale_elections_verify_and_match_the_intent() {
    let (dir, report) = simulate_verified("score-scale", &score_and_scale_manifest(), 40, 4, "25");
    let result = &report["summary"]["result"];
    assert_eq!(result[0]["kind"], "score");
    assert_eq!(result[2]["kind"], "scale");
    // A scale's cells are voters per (item, step): each item's row sums to the ballots counted,
    // and its total is the ratings as step numbers.
    let cells: Vec<u64> = serde_json::from_value(result[2]["counts"].clone()).expect("cells");
    for (item, row) in cells.chunks(5).enumerate() {
        assert_eq!(row.iter().sum::<u64>(), 40);
        let weighted: u64 = row
            .iter()
            .enumerate()
            .map(|(s, n)| (s as u64 + 1) * n)
            .sum();
        assert_eq!(result[2]["choices"][item][2], Value::from(weighted));
    }
    // The budget question: no ballot gives more than 10 points, so neither can the total.
    let budget: Vec<u64> = serde_json::from_value(result[1]["counts"].clone()).expect("cells");
    assert!(budget.iter().sum::<u64>() <= 40 * 10);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The committed manifest with a ranked question (examples/manifests/ranked.toml).
fn ranked_manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/manifests/ranked.toml")
}

/// A ranked election: mixed by two trustees, each mixed row decrypted, counted by instant-runoff;
/// the rankings add up to the tally's rank matrix, and the verifier states the rounds.
#[test]
fn ranked_elections_are_mixed_decrypted_counted_and_verified() {
    let (dir, report) = simulate_verified("ranked", &ranked_manifest(), 30, 7, "20");
    let q = &report["summary"]["result"][0];
    assert_eq!(q["kind"], "ranked");
    assert_eq!(report["summary"]["shufflers"], serde_json::json!([2, 3]));
    // The rank matrix: each rank holds at most one choice per ballot.
    let cells: Vec<u64> = serde_json::from_value(q["counts"].clone()).expect("cells");
    assert_eq!(cells.len(), 3 * 4);
    for rank in cells.chunks(4) {
        assert!(rank.iter().sum::<u64>() <= 30);
    }
    // The rounds: the first is the first preferences; each round eliminates or elects one.
    let ranked = &q["ranked"];
    assert_eq!(ranked["method"], "instant-runoff");
    assert_eq!(ranked["ballots"], 30);
    let rounds = ranked["rounds"].as_array().expect("rounds");
    let first: Vec<u64> = serde_json::from_value(rounds[0]["votes"].clone()).expect("votes");
    assert_eq!(first, cells[..4].to_vec());
    for (k, r) in rounds.iter().enumerate() {
        let votes: u64 = r["votes"]
            .as_array()
            .expect("v")
            .iter()
            .map(|v| v.as_u64().expect("n"))
            .sum();
        assert_eq!(votes + r["exhausted"].as_u64().expect("n"), 30, "round {k}");
    }
    let last = rounds.last().expect("a round");
    match q["outcome"]["outcome"].as_str() {
        Some("elected") => assert_eq!(last["elected"], q["outcome"]["choice"]),
        other => assert_eq!(other, Some("no-majority"), "{q}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A shuffle that replaces part of a ballot, duplicates one or drops one, a shuffle in another
/// trustee's name, a wrong decryption share, a missing shuffle, a shuffle after the decryption
/// began, and a result that names another winner: each is refused and named.
#[test]
fn a_bad_shuffle_decryption_or_ranked_result_is_named() {
    use hanpyo_record::mixing::{Part, Shuffled, decode_shares};
    let dir = simulate_with("ranked-tamper", &ranked_manifest(), 12, 8);
    let es = entries(&dir);
    let shapes = Shapes::of(&manifest_of(&es));
    let (n, w) = (12usize, 12usize);
    let si = index_of(&es, Kind::Shuffle, 0);
    let di = index_of(&es, Kind::BallotDecryption, 0);
    let ri = index_of(&es, Kind::Result, 0);
    let part_of = |i: usize| match Entry::decode(&es[i], Some(&shapes)).expect("entry") {
        Entry::Shuffle(p) | Entry::BallotDecryption(p) => p,
        other => panic!("{other:?}"),
    };
    let first = part_of(si);
    assert_eq!(first.parts, 1, "a small shuffle is one part");
    let shuffled = Shuffled::decode(&first.bytes, n, w).expect("shuffle");
    let with_rows = |rows: Vec<Vec<hanpyo_crypto::elgamal::Ciphertext>>| {
        let mut bytes: Vec<u8> = rows.iter().flatten().flat_map(|c| c.to_bytes()).collect();
        bytes.extend(shuffled.proof.to_bytes());
        bytes.extend(shuffled.signature.to_bytes());
        let mut t = es.clone();
        t[si] = Entry::Shuffle(Part {
            bytes,
            ..first.clone()
        })
        .encode();
        t
    };
    let mut replaced = shuffled.rows.clone();
    replaced[0][0] = replaced[1][0];
    let mut duplicated = shuffled.rows.clone();
    duplicated[1] = duplicated[0].clone();
    let mut dropped = shuffled.rows.clone();
    dropped.pop();
    for (name, t) in [
        ("replaced", with_rows(replaced)),
        ("duplicated", with_rows(duplicated)),
        ("dropped", with_rows(dropped)),
    ] {
        let got = assert_invalid(
            &write(&format!("mix-{name}"), &dir, &t, true),
            &[(Some(si as u64), "mix-net"), (Some(ri as u64), "result")],
        );
        assert!(!got.is_empty(), "{name}");
    }

    // Trustee 2's shuffle posted in trustee 1's name: the signature (and the proof's context)
    // bind trustee 2's key, so nobody shuffles in another trustee's name.
    let mut t = es.clone();
    t[si] = Entry::Shuffle(Part {
        trustee: 1,
        ..first.clone()
    })
    .encode();
    assert_invalid(
        &write("mix-other-name", &dir, &t, true),
        &[(Some(si as u64), "mix-net"), (Some(ri as u64), "result")],
    );

    // A decryption share moved by G: its proof fails.
    let d = part_of(di);
    let mut shares = decode_shares(&d.bytes, n, w).expect("shares");
    shares[5].0 = hanpyo_crypto::group::Element::from_point(
        shares[5].0.point() + curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT,
    );
    let mut bytes = Vec::new();
    for (e, proof) in &shares {
        bytes.extend_from_slice(e.as_bytes());
        bytes.extend_from_slice(&proof.to_bytes());
    }
    let mut t = es.clone();
    t[di] = Entry::BallotDecryption(Part { bytes, ..d }).encode();
    assert_invalid(
        &write("mix-share", &dir, &t, true),
        &[(Some(di as u64), "mix-net"), (Some(ri as u64), "result")],
    );

    // The second shuffle left out: the decryptions no longer fit, and one shuffle is too few.
    let mut t = es.clone();
    t.remove(si + 1);
    assert_invalid(
        &write("mix-one-shuffle", &dir, &t, true),
        &[(None, "mix-net"), (None, "result")],
    );

    // A shuffle after the decryption began (the first shuffle again, moved after it).
    let mut t = es.clone();
    let again = t.remove(si);
    t.insert(di, again);
    assert_invalid(
        &write("mix-late-shuffle", &dir, &t, true),
        &[(None, "mix-net")],
    );

    // A result that names another winner.
    let Entry::Result {
        trustees,
        counts,
        turnout,
        mut outcomes,
    } = Entry::decode(&es[ri], Some(&shapes)).expect("result")
    else {
        panic!()
    };
    outcomes[0] = match outcomes[0] {
        Outcome::Elected(j) => Outcome::Elected((j + 1) % 4),
        _ => Outcome::Elected(0),
    };
    let mut t = es.clone();
    t[ri] = Entry::Result {
        trustees,
        counts,
        turnout,
        outcomes,
    }
    .encode();
    assert_invalid(
        &write("mix-winner", &dir, &t, true),
        &[(Some(ri as u64), "result")],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// What a cheating device can make with voter 0's own credential: `values` encrypted under the
/// `relaxed` shapes (so without the proofs it cannot make), `honest`'s sum proofs pasted into
/// `questions`, the ballot re-signed and cast just before the close. The verifier must refuse it.
fn assert_forged_ballot_refused(
    name: &str,
    dir: &Path,
    es: &[Vec<u8>],
    relaxed: &[hanpyo_crypto::ballot::ContestSpec],
    values: &[Vec<u8>],
    honest: &hanpyo_record::entry::Ballot,
    questions: &[usize],
) {
    let m = manifest_of(es);
    let (key, ctx) = ballot_context(es, &Shapes::of(&m));
    let voter = voter_key(dir, &m, 0);
    let mut rng = hanpyo_crypto::os_rng();
    let (mut b, _) = encrypt_ballot_with_rng(&ctx, &key, relaxed, &voter, values, &mut rng)
        .expect("relaxed shape");
    for &q in questions {
        b.contests[q].sum_proofs = honest.contests[q].sum_proofs.clone();
    }
    b.signature = voter.sign_with_rng(&ctx, &b.signed_message(), &mut rng);
    let close = index_of(es, Kind::Close, 0);
    let mut t = es.to_vec();
    t.insert(close, Entry::Ballot(Box::new(b)).encode());
    assert_invalid(
        &write(name, dir, &t, true),
        &[(Some(close as u64), "ballot")],
    );
}

/// A cheating device signs, with a listed voter's own credential, a ranking that puts one choice
/// at two ranks or two choices at one rank, pasting in the rank and choice proofs of an honest
/// ranking (it cannot make them for its own): each ballot is refused by the verifier.
#[test]
fn a_choice_ranked_twice_or_two_choices_at_one_rank_are_refused() {
    let dir = simulate_with("ranked-forged", &ranked_manifest(), 10, 9);
    let es = entries(&dir);
    let m = manifest_of(&es);
    let (key, ctx) = ballot_context(&es, &Shapes::of(&m));
    let voter = voter_key(&dir, &m, 0);
    let mut rng = hanpyo_crypto::os_rng();
    let specs = m.contest_specs();
    let honest = m.values_of(&[vec![2, 0]]).expect("a ranking");
    assert!(
        m.values_of(&[vec![1, 1]]).is_err(),
        "the booth refuses it first"
    );
    let (honest_ballot, _) =
        encrypt_ballot_with_rng(&ctx, &key, &specs, &voter, &honest, &mut rng).expect("ballot");
    // 3 ranks × 4 choices, rank-major.
    let twice = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    let two_at_one = vec![1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let mut no_columns = specs.clone();
    no_columns[0].columns = false;
    let mut two_per_rank = specs.clone();
    two_per_rank[0].max = 2;
    for (name, values, relaxed) in [
        ("ranked-twice", twice, no_columns),
        ("two-at-one-rank", two_at_one, two_per_rank),
    ] {
        assert_forged_ballot_refused(name, &dir, &es, &relaxed, &[values], &honest_ballot, &[0]);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A cheating device signs, with a listed voter's own credential, a ballot that gives more points
/// than the budget, or rates a scale item twice, pasting in a sum proof made for an honest answer
/// (it cannot make one for its own); or proves a score over a wider range than the manifest's.
/// Each is refused, and a result that gives more points than ballots can give is named.
#[test]
fn over_budget_over_range_and_double_rated_answers_are_refused() {
    use hanpyo_crypto::ballot::ContestSpec;
    let dir = simulate_with("score-forged", &score_and_scale_manifest(), 20, 6);
    let es = entries(&dir);
    let close = index_of(&es, Kind::Close, 0);
    let m = manifest_of(&es);
    let shapes = Shapes::of(&m);
    let (key, ctx) = ballot_context(&es, &shapes);
    let voter = voter_key(&dir, &m, 0);
    let mut rng = hanpyo_crypto::os_rng();
    let specs = m.contest_specs();
    let honest = m
        .values_of(&[vec![1, 2, 3], vec![5, 5, 0, 0], vec![0, 2, 4]])
        .expect("allowed");
    let (honest_ballot, _) =
        encrypt_ballot_with_rng(&ctx, &key, &specs, &voter, &honest, &mut rng).expect("ballot");

    // Question 1 (budget 10) given 15 points; question 2's first item rated twice. Encrypted
    // without sum proofs, then the honest ballot's sum proofs pasted in and the ballot re-signed.
    let mut relaxed = specs.clone();
    relaxed[1].groups = 0;
    relaxed[2].groups = 0;
    for (name, values) in [
        (
            "over-budget",
            vec![honest[0].clone(), vec![5, 5, 5, 0], honest[2].clone()],
        ),
        (
            "double-rated",
            vec![honest[0].clone(), honest[1].clone(), {
                let mut v = honest[2].clone();
                v[1] = 1;
                v
            }],
        ),
    ] {
        assert_forged_ballot_refused(name, &dir, &es, &relaxed, &values, &honest_ballot, &[1, 2]);
    }

    // A score of 7 proven over [0, 7] (the manifest says [0, 5]): not a ballot of this election.
    let mut wide = specs.clone();
    wide[0] = ContestSpec {
        value_max: 7,
        ..wide[0]
    };
    let values = vec![vec![7, 0, 0], honest[1].clone(), honest[2].clone()];
    let (b, _) = encrypt_ballot_with_rng(&ctx, &key, &wide, &voter, &values, &mut rng)
        .expect("its own shape");
    let mut t = es.clone();
    t.insert(close, Entry::Ballot(Box::new(b)).encode());
    let got = assert_invalid(&write("over-range", &dir, &t, true), &[]);
    assert!(
        got.iter().any(|(e, _)| *e == Some(close as u64)),
        "the over-range ballot is named: {got:?}"
    );

    // An audit whose opening claims an over-budget answer does not decode or check.
    let (b, mut openings) =
        encrypt_ballot_with_rng(&ctx, &key, &specs, &voter, &honest, &mut rng).expect("ballot");
    openings[0].values[0] = 6;
    let audit = AuditedBallot::of(&b, openings);
    assert!(audit.check(&key, &specs).is_err());

    // A result stating more points than 20 ballots of at most 5 points can give.
    let ri = index_of(&es, Kind::Result, 0);
    let mut t = es.clone();
    let Entry::Result {
        trustees,
        mut counts,
        turnout,
        outcomes,
    } = Entry::decode(&es[ri], Some(&shapes)).expect("result")
    else {
        panic!("result")
    };
    counts[0][0] = 101;
    t[ri] = Entry::Result {
        trustees,
        counts,
        turnout,
        outcomes,
    }
    .encode();
    let (_, report) = verify(&write("too-many-points", &dir, &t, true));
    let why = report["failures"]
        .as_array()
        .expect("failures")
        .iter()
        .find(|f| f["what"] == "result")
        .map(|f| f["why"].to_string())
        .unwrap_or_default();
    assert!(why.contains("more than 100"), "{report}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_byte_flipped_in_any_entry_kind_is_detected_and_named() {
    let dir = simulate("flip", 40, 7, &["--audit-percent", "30"]);
    let es = entries(&dir);
    let kinds = [
        Kind::Manifest,
        Kind::TrusteeRegistration,
        Kind::CeremonyDigest,
        Kind::CeremonyCommitment,
        Kind::CeremonyShare,
        Kind::KeyConfirmation,
        Kind::JointKey,
        Kind::CredentialList,
        Kind::Ballot,
        Kind::AuditedBallot,
        Kind::Close,
        Kind::EncryptedTally,
        Kind::PartialDecryption,
        Kind::Result,
    ];
    for kind in kinds {
        let i = index_of(&es, kind, 0);
        for pos in [es[i].len() - 1, es[i].len() / 2, 1] {
            let mut t = es.clone();
            t[i][pos] ^= 0x04;
            // Anyone altering a copy: the operator's checkpoint no longer matches.
            let raw = write("flip-raw", &dir, &t, false);
            let got = assert_invalid(&raw, &[]);
            // The signed checkpoint no longer matches — or, for the manifest, which names the log
            // key, the entry itself no longer decodes.
            assert!(
                got.iter()
                    .any(|(e, w)| w == "checkpoint" || *e == Some(i as u64)),
                "{kind:?} byte {pos}: {got:?}"
            );
        }
    }
    // A malicious operator who re-signs: the entry's own checks still name it.
    for (kind, what) in [
        (Kind::Manifest, "trustee registration"), // the flip lands in the ledger key: every ceremony proof is bound to the manifest
        (Kind::CeremonyCommitment, "joint key"), // the dealer is disqualified, so the published key is not the transcript's
        (Kind::JointKey, "joint key"),
        (Kind::Ballot, "ballot"),
        (Kind::AuditedBallot, "ballot"),
        (Kind::EncryptedTally, "encrypted tally"),
        (Kind::PartialDecryption, "partial decryption"),
    ] {
        let i = index_of(&es, kind, 0);
        let mut t = es.clone();
        // Flip a bit inside the last 32-byte field (a proof response, a point, or a scalar).
        let pos = t[i].len() - 5;
        t[i][pos] ^= 0x01;
        let resigned = write("flip-resigned", &dir, &t, true);
        let got = assert_invalid(&resigned, &[]);
        assert!(
            got.iter()
                .any(|(e, w)| w == what || (*e == Some(i as u64) && w == "encoding")),
            "{kind:?}: expected {what}, got {got:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn structural_changes_are_detected() {
    let dir = simulate("structure", 30, 8, &[]);
    let es = entries(&dir);
    let b0 = index_of(&es, Kind::Ballot, 0);
    let b1 = index_of(&es, Kind::Ballot, 1);
    let mut swapped = es.clone();
    swapped.swap(b0, b1);
    let mut dropped = es.clone();
    dropped.remove(b1);
    let mut duplicated = es.clone();
    duplicated.insert(b1, es[b1].clone());
    let mut truncated = es.clone();
    truncated.pop();
    for (name, t) in [
        ("swap", swapped),
        ("drop", dropped),
        ("dup", duplicated),
        ("truncate", truncated.clone()),
    ] {
        let raw = write(name, &dir, &t, false);
        assert_invalid(&raw, &[(None, "checkpoint")]);
    }
    // Re-signed by the operator: a truncated record lacks its result; a replayed ballot is named.
    let r = write("truncate-resigned", &dir, &truncated, true);
    assert_invalid(&r, &[(None, "completeness")]);
    let mut replay = es.clone();
    let close = index_of(&es, Kind::Close, 0);
    replay.insert(close, es[b0].clone());
    let r = write("replay-resigned", &dir, &replay, true);
    assert_invalid(&r, &[(Some(close as u64), "replay")]);
    // Entries out of the election's order.
    let mut early = es.clone();
    let tally = early.remove(index_of(&es, Kind::EncryptedTally, 0));
    early.insert(b0, tally);
    let r = write("order-resigned", &dir, &early, true);
    assert_invalid(&r, &[(Some(b0 as u64), "entry order")]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn foreign_unlisted_and_resigned_ballots_are_rejected() {
    let dir = simulate("ballots", 30, 9, &[]);
    let other = simulate("ballots-other", 30, 10, &[]);
    let es = entries(&dir);
    let close = index_of(&es, Kind::Close, 0);
    let m = manifest_of(&es);
    let shapes = Shapes::of(&m);
    let (key, ctx) = ballot_context(&es, &shapes);
    let specs = m.contest_specs();
    let sel: Vec<Vec<u8>> = specs
        .iter()
        .map(|s| {
            (0..s.choices)
                .map(|j| u8::from(j < s.max.max(1).min(s.max)))
                .collect()
        })
        .collect();
    let mut rng = hanpyo_crypto::os_rng();

    // A ballot from another election (same manifest, other keys).
    let foreign = entries(&other)[index_of(&entries(&other), Kind::Ballot, 0)].clone();
    let mut t = es.clone();
    t.insert(close, foreign);
    assert_invalid(
        &write("foreign", &dir, &t, true),
        &[(Some(close as u64), "ballot")],
    );

    // A well-formed ballot whose credential is not on the list.
    let stranger = SecretCredential::generate().signing_key(m.election_id.as_bytes());
    let (b, _) =
        encrypt_ballot_with_rng(&ctx, &key, &specs, &stranger, &sel, &mut rng).expect("ballot");
    let mut t = es.clone();
    t.insert(close, Entry::Ballot(Box::new(b.clone())).encode());
    assert_invalid(
        &write("unlisted", &dir, &t, true),
        &[(Some(close as u64), "eligibility")],
    );

    // A voter's valid ballot re-signed by another listed voter's credential.
    let thief = voter_key(&dir, &m, 1);
    let victim = voter_key(&dir, &m, 0);
    let (mut b, _) =
        encrypt_ballot_with_rng(&ctx, &key, &specs, &victim, &sel, &mut rng).expect("ballot");
    b.credential = *thief.public();
    b.signature = thief.sign_with_rng(&ctx, &b.signed_message(), &mut rng);
    let mut t = es.clone();
    t.insert(close, Entry::Ballot(Box::new(b)).encode());
    assert_invalid(
        &write("resigned", &dir, &t, true),
        &[(Some(close as u64), "ballot")],
    );

    // An audit can never be cast. Its bytes re-framed as a ballot (kind 9) are no ballot at all.
    let audit_dir = simulate("audits", 30, 12, &["--audit-percent", "50"]);
    let ae = entries(&audit_dir);
    let a = index_of(&ae, Kind::AuditedBallot, 0);
    let mut t = ae.clone();
    t[a][1] = Kind::Ballot as u8;
    assert_invalid(
        &write("reframed", &audit_dir, &t, true),
        &[(Some(a as u64), "ballot")],
    );
    let _ = std::fs::remove_dir_all(&audit_dir);

    // A ballot (here even signed by the voter's own credential, as a cheating device could) that
    // reuses the encryption an earlier audit opened: named, and not counted.
    let (b, openings) =
        encrypt_ballot_with_rng(&ctx, &key, &specs, &victim, &sel, &mut rng).expect("ballot");
    let audit = Entry::AuditedBallot(Box::new(AuditedBallot::of(&b, openings))).encode();
    let mut t = es.clone();
    t.insert(close, audit);
    t.insert(close + 1, Entry::Ballot(Box::new(b)).encode());
    assert_invalid(
        &write("recast", &dir, &t, true),
        &[(Some(close as u64 + 1), "audited ballot cast")],
    );

    // A replay: an identical copy of a cast ballot later in the log.
    let first = index_of(&es, Kind::Ballot, 0);
    let mut t = es.clone();
    t.insert(close, es[first].clone());
    assert_invalid(
        &write("replay", &dir, &t, true),
        &[(Some(close as u64), "replay")],
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&other);
}

/// The operator cannot speak for a trustee, nor open the election on a key too few trustees can use.
#[test]
fn ceremony_entries_are_signed_by_their_trustee_and_the_key_confirmed() {
    let dir = simulate("ceremony", 10, 14, &[]);
    let es = entries(&dir);
    // A ceremony message whose signature is not its sender's: named, and left out.
    let d = index_of(&es, Kind::CeremonyDigest, 0);
    let mut t = es.clone();
    t[d][10] ^= 0x01; // inside the digest: the dealer's signature no longer covers it
    assert_invalid(
        &write("unsigned", &dir, &t, true),
        &[(Some(d as u64), "key ceremony")],
    );
    // The joint key published without t confirmations of usable key shares.
    let t: Vec<Vec<u8>> = es
        .iter()
        .filter(|e| Kind::of(e).ok() != Some(Kind::KeyConfirmation))
        .cloned()
        .collect();
    assert!(t.len() < es.len());
    let joint = index_of(&t, Kind::JointKey, 0);
    let got = assert_invalid(
        &write("unconfirmed", &dir, &t, true),
        &[(Some(joint as u64), "key ceremony")],
    );
    // Re-signed by the operator alone: the witnesses' quorum is missing too; nothing else fails.
    assert!(
        got.iter()
            .all(|(_, w)| w == "key ceremony" || w == "checkpoint"),
        "only the missing confirmations: {got:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn wrong_tally_decryption_or_result_are_named() {
    let dir = simulate("results", 30, 11, &[]);
    let es = entries(&dir);
    let shapes = Shapes::of(&manifest_of(&es));
    let ti = index_of(&es, Kind::EncryptedTally, 0);
    let pi = index_of(&es, Kind::PartialDecryption, 0);
    let ri = index_of(&es, Kind::Result, 0);

    let Entry::EncryptedTally { counted, mut tally } =
        Entry::decode(&es[ti], Some(&shapes)).expect("tally")
    else {
        panic!()
    };
    tally[0].swap(0, 1);
    let mut t = es.clone();
    t[ti] = Entry::EncryptedTally { counted, tally }.encode();
    assert_invalid(
        &write("tally", &dir, &t, true),
        &[(Some(ti as u64), "encrypted tally")],
    );

    let Entry::PartialDecryption {
        trustee,
        mut shares,
    } = Entry::decode(&es[pi], Some(&shapes)).expect("pd")
    else {
        panic!()
    };
    shares[1].swap(0, 1);
    let mut t = es.clone();
    t[pi] = Entry::PartialDecryption { trustee, shares }.encode();
    assert_invalid(
        &write("partial", &dir, &t, true),
        &[(Some(pi as u64), "partial decryption")],
    );

    let result = Entry::decode(&es[ri], Some(&shapes)).expect("result");
    type Change = dyn Fn(&mut Vec<u32>, &mut Vec<Vec<u64>>, &mut Turnout, &mut Vec<Outcome>);
    let changed = |change: &Change| {
        let mut e = result.clone();
        let Entry::Result {
            trustees,
            counts,
            turnout,
            outcomes,
        } = &mut e
        else {
            panic!("result")
        };
        change(trustees, counts, turnout, outcomes);
        let mut t = es.clone();
        t[ri] = e.encode();
        t
    };
    // One vote moved between choices.
    let t = changed(&|_, counts, _, _| {
        counts[1][0] += 1;
        counts[1][1] -= 1;
    });
    assert_invalid(
        &write("result", &dir, &t, true),
        &[(Some(ri as u64), "result")],
    );
    // Claiming a trustee that did not decrypt.
    let t = changed(&|trustees, _, _, _| *trustees = vec![1, 2]);
    assert_invalid(
        &write("result-trustees", &dir, &t, true),
        &[(Some(ri as u64), "result")],
    );
    // A turnout that is not the record's: more eligible voters (which could sink the threshold),
    // or more voters.
    let t = changed(&|_, _, turnout, _| turnout.eligible *= 5);
    assert_invalid(
        &write("result-eligible", &dir, &t, true),
        &[(Some(ri as u64), "result")],
    );
    let t = changed(&|_, _, turnout, _| turnout.voted += 1);
    assert_invalid(
        &write("result-voted", &dir, &t, true),
        &[(Some(ri as u64), "result")],
    );
    // An outcome the rule does not give: the referendum (rule 1/4, everyone voted) declared
    // not decided for low turnout; the choose-one question (no rule) declared decided.
    let t = changed(&|_, _, _, outcomes| outcomes[0] = Outcome::TurnoutTooLow);
    assert_invalid(
        &write("result-outcome", &dir, &t, true),
        &[(Some(ri as u64), "result")],
    );
    let t = changed(&|_, _, _, outcomes| outcomes[1] = Outcome::Decided(0));
    assert_invalid(
        &write("result-outcome-no-rule", &dir, &t, true),
        &[(Some(ri as u64), "result")],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn usage_and_io_errors_exit_2() {
    let o = hanpyo(&["verify", "/nonexistent/record"]);
    assert_eq!(o.status.code(), Some(2));
    let o = hanpyo(&["verify"]);
    assert_eq!(o.status.code(), Some(2));
    let o = hanpyo(&["simulate", "--voters", "0", "--out", "/tmp/x"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_pinned_log_key_must_match() {
    let dir = simulate("pinned", 10, 12, &[]);
    let o = hanpyo(&[
        "verify",
        dir.to_str().expect("p"),
        "--log-key",
        &"11".repeat(32),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_committed_test_vectors_verify_and_are_reproducible() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-vectors");
    let manifest = score_and_scale_manifest();
    let scored = [
        "--revote-percent",
        "25",
        "--audit-percent",
        "25",
        "--manifest",
        manifest.to_str().expect("utf8"),
    ];
    let ranked_manifest = ranked_manifest();
    let ranked = [
        "--revote-percent",
        "25",
        "--audit-percent",
        "25",
        "--manifest",
        ranked_manifest.to_str().expect("utf8"),
    ];
    let cases: [(&str, u32, &[&str]); 3] = [
        (
            "small",
            40,
            &["--revote-percent", "20", "--audit-percent", "10"],
        ),
        ("score-scale", 12, &scored),
        ("ranked", 12, &ranked),
    ];
    for (name, voters, extra) in cases {
        let vectors = root.join(name);
        let (code, report) = verify(&vectors);
        assert_eq!(code, 0, "{name}: {report}");
        assert_eq!(result_counts(&report), intent_counts(&vectors), "{name}");
        let again = simulate(&format!("vectors-{name}"), voters, 1, extra);
        for file in [
            "record/entries",
            "record/checkpoint",
            "intent.json",
            "values.json",
            "secrets/credentials.json",
            "secrets/log-signing-key",
            "secrets/witness-keys.json",
            "secrets/trustee-keys.json",
            "receipts/first-ballot.json",
        ] {
            assert_eq!(
                std::fs::read(vectors.join(file)).expect("committed"),
                std::fs::read(again.join(file)).expect("regenerated"),
                "{name}/{file} differs from a fresh `simulate --seed 1`: the protocol or format changed"
            );
        }
        let _ = std::fs::remove_dir_all(&again);
    }
}

#[test]
fn witnessed_history_is_checked_entry_by_entry() {
    let dir = simulate(
        "history",
        40,
        13,
        &["--block-size", "10", "--witnesses", "3"],
    );
    let (code, report) = verify(&dir);
    assert_eq!(code, 0, "{report}");
    assert!(report["summary"]["checkpoints"].as_u64().expect("count") > 5);
    assert_eq!(report["summary"]["cosignatures"], Value::from(3));
    let es = entries(&dir);
    // Rewrite an early entry and re-sign only the final checkpoint (the operator's key): the
    // earlier witnessed checkpoints no longer match, and the witnesses' quorum is missing.
    let mut t = es.clone();
    let i = index_of(&es, Kind::CredentialList, 0);
    t[i] = es[i].clone();
    let b = index_of(&es, Kind::Ballot, 2);
    t.remove(b);
    let out = write("history-rewritten", &dir, &t, true);
    std::fs::copy(
        dir.join("record/checkpoints"),
        out.join("record/checkpoints"),
    )
    .expect("history");
    let got = assert_invalid(&out, &[(None, "checkpoint history"), (None, "checkpoint")]);
    assert!(got.iter().any(|(_, w)| w == "checkpoint"), "{got:?}");
    // A flipped byte in a witness's cosignature.
    let cp = std::fs::read_to_string(dir.join("record/checkpoint")).expect("cp");
    let flipped = cp
        .replacen("witness-2.hanpyo.local ", "witness-2.hanpyo.local A", 1)
        .replacen(" A", " ", 0);
    let mut bytes = flipped.into_bytes();
    let at = bytes.len() - 6;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let copy = write("cosig-flip", &dir, &es, false);
    std::fs::write(copy.join("record/checkpoint"), bytes).expect("write");
    std::fs::copy(
        dir.join("record/checkpoints"),
        copy.join("record/checkpoints"),
    )
    .expect("history");
    assert_invalid(&copy, &[(None, "checkpoint")]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The log signs no checkpoint of the empty log (record-format.md §5.2): an earlier checkpoint of
/// size 0 fails for that reason — not as a rewritten history — whatever its root.
#[test]
fn an_earlier_checkpoint_of_the_empty_log_is_refused_for_its_size() {
    use hanpyo_ledger::checkpoint::{Checkpoint, SignedNote};
    use sha2::Digest;
    let small = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-vectors/small");
    let es = entries(&small);
    let seed: [u8; 32] = hex::decode(
        std::fs::read_to_string(small.join("secrets/log-signing-key"))
            .expect("key")
            .trim(),
    )
    .expect("hex")
    .try_into()
    .expect("32");
    let m = manifest_of(&es);
    let log = NoteSigner::new(
        &m.ledger.origin,
        SigningKey::from_bytes(&seed),
        KeyKind::Ed25519,
    )
    .expect("signer");
    for (name, root) in [
        ("empty-history", <[u8; 32]>::from(sha2::Sha256::digest(b""))),
        ("empty-history-other-root", [7u8; 32]),
    ] {
        let dir = write(name, &small, &es, false);
        let body = Checkpoint {
            origin: m.ledger.origin.clone(),
            size: 0,
            root,
        }
        .body();
        let mut note = SignedNote::new(body.clone());
        note.add_signature_line(&log.signature_line(&body, 0))
            .expect("line");
        let text = note.to_text();
        let framed = [&(text.len() as u32).to_be_bytes()[..], text.as_bytes()].concat();
        std::fs::write(dir.join("record/checkpoints"), framed).expect("history");
        assert_invalid(&dir, &[(None, "checkpoint history")]);
        let (_, report) = verify(&dir);
        let why = report["failures"][0]["why"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            why.contains("size 0") && !why.contains("rewritten"),
            "{report}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn receipts_verify_against_the_record_and_nothing_else() {
    let dir = simulate("receipt", 30, 14, &["--block-size", "7"]);
    let receipt = dir.join("receipts/first-ballot.json");
    let o = hanpyo(&[
        "receipt",
        "verify",
        receipt.to_str().expect("p"),
        "--record",
        dir.to_str().expect("p"),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("VALID"));
    // Another election's record does not hold it.
    let other = simulate("receipt-other", 30, 15, &[]);
    let o = hanpyo(&[
        "receipt",
        "verify",
        receipt.to_str().expect("p"),
        "--record",
        other.to_str().expect("p"),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // A tampered receipt.
    let mut r: Value =
        serde_json::from_slice(&std::fs::read(&receipt).expect("read")).expect("json");
    r["index"] = Value::from(r["index"].as_u64().expect("index") + 1);
    let bad = dir.join("bad-receipt.json");
    std::fs::write(&bad, serde_json::to_vec(&r).expect("json")).expect("write");
    let o = hanpyo(&[
        "receipt",
        "verify",
        bad.to_str().expect("p"),
        "--record",
        dir.to_str().expect("p"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let o = hanpyo(&[
        "receipt",
        "verify",
        "/nonexistent",
        "--record",
        dir.to_str().expect("p"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&other);
}

#[test]
fn the_witness_command_cosigns_consistent_checkpoints_and_refuses_a_rollback() {
    use hanpyo_ledger::store::Ledger;
    let dir = simulate("witness-cli", 20, 16, &["--block-size", "5"]);
    let wdir = scratch("witness-cli-state");
    let w = wdir.to_str().expect("p");
    let pass = scratch("witness-cli-pass");
    std::fs::write(&pass, "a witness passphrase\n").expect("pass");
    let pass = pass.to_str().expect("p");
    let o = hanpyo(&[
        "witness",
        "init",
        "--dir",
        w,
        "--name",
        "observer.example",
        "--passphrase-file",
        pass,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The signing key is sealed: no seed in the clear, and a wrong passphrase opens nothing.
    let key_file = std::fs::read_to_string(wdir.join("witness.key")).expect("key");
    assert!(key_file.contains("hanpyo-witness-v1") && key_file.contains("argon2id"));
    let es = entries(&dir);
    let m = manifest_of(&es);
    let o = hanpyo(&[
        "witness",
        "follow",
        "--dir",
        w,
        "--origin",
        &m.ledger.origin,
        "--log-key",
        &hex::encode(m.ledger.key),
    ]);
    assert!(o.status.success());
    let seed = std::fs::read_to_string(dir.join("secrets/log-signing-key")).expect("key");
    let seed: [u8; 32] = hex::decode(seed.trim())
        .expect("hex")
        .try_into()
        .expect("32");
    let signer = NoteSigner::new(
        &m.ledger.origin,
        SigningKey::from_bytes(&seed),
        KeyKind::Ed25519,
    )
    .expect("signer");
    let ledger = Ledger::open(&dir.join("ledger.db"), signer).expect("ledger");
    let sizes = ledger.checkpoint_sizes().expect("sizes");
    let (a, b) = (sizes[1], sizes[3]);
    let file = |name: &str, text: String| {
        let p = wdir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    };
    let cp_a = file("a.note", ledger.checkpoint_at(a).expect("cp"));
    let cp_b = file("b.note", ledger.checkpoint_at(b).expect("cp"));
    let proof = ledger.consistency_proof(a, b).expect("proof");
    let proof = file(
        "proof",
        proof
            .iter()
            .map(|h| format!("{}\n", hex::encode(h)))
            .collect(),
    );
    let cosign = |cp: &Path, old: u64, proof: Option<&Path>| {
        let old = old.to_string();
        let mut args = vec![
            "witness",
            "cosign",
            "--dir",
            w,
            "--checkpoint",
            cp.to_str().expect("p"),
            "--old-size",
            &old,
            "--passphrase-file",
            pass,
        ];
        if let Some(p) = proof {
            args.extend(["--proof", p.to_str().expect("p")]);
        }
        hanpyo(&args)
    };
    let o = cosign(&cp_a, 0, None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("\u{2014} observer.example "));
    let o = cosign(&cp_b, a, Some(&proof));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = cosign(&cp_a, b, None);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("rollback"));
    let wrong = wdir.join("wrong-pass");
    std::fs::write(&wrong, "not the passphrase\n").expect("pass");
    let o = hanpyo(&[
        "witness",
        "cosign",
        "--dir",
        w,
        "--checkpoint",
        cp_b.to_str().expect("p"),
        "--old-size",
        &b.to_string(),
        "--passphrase-file",
        wrong.to_str().expect("p"),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("wrong passphrase"));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&wdir);
    let _ = std::fs::remove_file(pass);
}

/// One record that must be rejected: built from the committed `test-vectors/small` record, signed
/// again by its log key and co-signed by its witnesses (their keys are in `secrets/`), so the only
/// failures are the ones named.
struct Negative {
    name: &'static str,
    why: &'static str,
    entries: Vec<Vec<u8>>,
    /// `(entry index or None, what)` the verifier must report.
    failures: Vec<(Option<u64>, &'static str)>,
    /// What may fail as a consequence (checks that depend on the altered entry); nothing else may.
    consequences: &'static [&'static str],
}

fn negative_cases(small: &Path) -> Vec<Negative> {
    use chacha20::ChaCha20Rng;
    use rand_core::SeedableRng;
    let es = entries(small);
    let m = manifest_of(&es);
    let shapes = Shapes::of(&m);
    let close = index_of(&es, Kind::Close, 0);
    let (key, ctx) = ballot_context(&es, &shapes);
    let specs = m.contest_specs();
    let voter = voter_key(small, &m, 0);
    let sel: Vec<Vec<u8>> = specs
        .iter()
        .map(|s| (0..s.choices).map(|j| u8::from(j < s.max.max(1))).collect())
        .collect();
    let mut rng = ChaCha20Rng::from_seed([7; 32]);
    let mut out = Vec::new();

    let (b, openings) =
        encrypt_ballot_with_rng(&ctx, &key, &specs, &voter, &sel, &mut rng).expect("ballot");
    let mut t = es.clone();
    t.insert(
        close,
        Entry::AuditedBallot(Box::new(AuditedBallot::of(&b, openings))).encode(),
    );
    t.insert(close + 1, Entry::Ballot(Box::new(b)).encode());
    out.push(Negative {
        name: "audited-encryption-cast",
        why: "a ballot (validly signed by a listed credential) reuses the ciphertexts an earlier audit opened",
        entries: t,
        failures: vec![(Some(close as u64 + 1), "audited ballot cast")],
        consequences: &[],
    });

    let first = index_of(&es, Kind::Ballot, 0);
    let mut t = es.clone();
    t.insert(close, es[first].clone());
    out.push(Negative {
        name: "replayed-ballot",
        why: "an identical copy of an earlier ballot entry",
        entries: t,
        failures: vec![(Some(close as u64), "replay")],
        consequences: &[],
    });

    let a = index_of(&es, Kind::AuditedBallot, 0);
    let mut t = es.clone();
    t[a][1] = Kind::Ballot as u8;
    out.push(Negative {
        name: "audit-reframed-as-ballot",
        why: "an audit's bytes with the kind byte of a ballot: it does not decode as a ballot",
        entries: t,
        failures: vec![(Some(a as u64), "ballot")],
        consequences: &[],
    });

    let mut t = es.clone();
    // The last question ends with its n selection bytes, then its n nonces: flip the first
    // selection bit, so the opening no longer re-encrypts to the ciphertext.
    let last = specs.last().expect("a question");
    let flip = t[a].len() - 33 * last.choices as usize;
    t[a][flip] ^= 1;
    out.push(Negative {
        name: "audit-opening-changed",
        why: "an audit whose revealed choice no longer re-encrypts to its ciphertext",
        entries: t,
        failures: vec![(Some(a as u64), "ballot")],
        consequences: &[],
    });

    let stranger =
        SecretCredential::generate_with_rng(&mut rng).signing_key(m.election_id.as_bytes());
    let (b, _) =
        encrypt_ballot_with_rng(&ctx, &key, &specs, &stranger, &sel, &mut rng).expect("ballot");
    let mut t = es.clone();
    t.insert(close, Entry::Ballot(Box::new(b)).encode());
    out.push(Negative {
        name: "unlisted-credential",
        why: "a well-formed ballot whose credential is not on the credential list",
        entries: t,
        failures: vec![(Some(close as u64), "eligibility")],
        consequences: &[],
    });

    let d = index_of(&es, Kind::CeremonyDigest, 0);
    let mut t = es.clone();
    t[d][10] ^= 1;
    out.push(Negative {
        name: "ceremony-entry-not-signed-by-its-trustee",
        why: "a dealer's digest changed after its trustee signed it; left out, the dealer is disqualified and the published joint key no longer matches",
        entries: t,
        failures: vec![
            (Some(d as u64), "key ceremony"),
            (Some(index_of(&es, Kind::JointKey, 0) as u64), "joint key"),
        ],
        // Everything after is then checked against the recomputed key, which no ballot used.
        consequences: &["ballot", "encrypted tally", "partial decryption", "result"],
    });

    let t: Vec<Vec<u8>> = es
        .iter()
        .filter(|e| Kind::of(e).ok() != Some(Kind::KeyConfirmation))
        .cloned()
        .collect();
    let joint = index_of(&t, Kind::JointKey, 0);
    out.push(Negative {
        name: "joint-key-without-confirmations",
        why: "the joint key published although no trustee confirmed holding checked shares",
        entries: t,
        failures: vec![(Some(joint as u64), "key ceremony")],
        consequences: &[],
    });

    let ti = index_of(&es, Kind::EncryptedTally, 0);
    let mut t = es.clone();
    let Entry::EncryptedTally { counted, mut tally } =
        Entry::decode(&es[ti], Some(&shapes)).expect("tally")
    else {
        panic!("tally")
    };
    tally[0].swap(0, 1);
    t[ti] = Entry::EncryptedTally { counted, tally }.encode();
    out.push(Negative {
        name: "tally-not-the-sum",
        why: "the encrypted tally's first two choices swapped (the partial decryptions then no longer match it either)",
        entries: t,
        failures: vec![(Some(ti as u64), "encrypted tally")],
        consequences: &["partial decryption", "result"],
    });

    let ri = index_of(&es, Kind::Result, 0);
    let mut t = es.clone();
    let mut result = Entry::decode(&es[ri], Some(&shapes)).expect("result");
    let Entry::Result { counts, .. } = &mut result else {
        panic!("result")
    };
    counts[0][0] += 1;
    counts[0][1] -= 1;
    t[ri] = result.encode();
    out.push(Negative {
        name: "result-changed",
        why: "one vote moved from choice 1 to choice 0 of the first question",
        entries: t,
        failures: vec![(Some(ri as u64), "result")],
        consequences: &[],
    });

    let mut t = es.clone();
    let mut result = Entry::decode(&es[ri], Some(&shapes)).expect("result");
    let Entry::Result { outcomes, .. } = &mut result else {
        panic!("result")
    };
    outcomes[0] = Outcome::TurnoutTooLow;
    t[ri] = result.encode();
    out.push(Negative {
        name: "result-outcome-not-the-rule",
        why: "the referendum (decision rule: a quarter of the eligible voters, a majority of the valid votes) declared not decided for low turnout although every eligible voter voted",
        entries: t,
        failures: vec![(Some(ri as u64), "result")],
        consequences: &[],
    });

    let mut t = es.clone();
    t.truncate(ri);
    out.push(Negative {
        name: "incomplete-no-result",
        why: "the record stops before the result: an incomplete record is invalid",
        entries: t,
        failures: vec![(None, "completeness")],
        consequences: &[],
    });
    out
}

/// Writes `entries` as a record signed by the log's key and co-signed by every witness of the
/// manifest, with the secrets of `small` (timestamp fixed, so the bytes are reproducible).
fn write_signed(small: &Path, dir: &Path, entries: &[Vec<u8>]) {
    use hanpyo_ledger::checkpoint::SignedNote;
    let _ = std::fs::remove_dir_all(dir);
    let mut w = ExportWriter::create(&dir.join("record")).expect("create");
    for e in entries {
        w.append(e).expect("append");
    }
    let seed = std::fs::read_to_string(small.join("secrets/log-signing-key")).expect("key");
    let seed: [u8; 32] = hex::decode(seed.trim())
        .expect("hex")
        .try_into()
        .expect("32");
    let m = manifest_of(entries);
    let log = NoteSigner::new(
        &m.ledger.origin,
        SigningKey::from_bytes(&seed),
        KeyKind::Ed25519,
    )
    .expect("signer");
    w.finish(&log).expect("finish");
    let path = dir.join("record").join(CHECKPOINT_FILE);
    let mut note = SignedNote::parse(&std::fs::read_to_string(&path).expect("note")).expect("n");
    let witnesses: Vec<Value> = serde_json::from_slice(
        &std::fs::read(small.join("secrets/witness-keys.json")).expect("witness keys"),
    )
    .expect("json");
    for w in witnesses {
        let seed: [u8; 32] = hex::decode(w["seed"].as_str().expect("seed"))
            .expect("hex")
            .try_into()
            .expect("32");
        let signer = NoteSigner::new(
            w["name"].as_str().expect("name"),
            SigningKey::from_bytes(&seed),
            KeyKind::Cosignature,
        )
        .expect("witness");
        note.add_signature_line(&signer.signature_line(&note.body, m.opens_at as u64))
            .expect("line");
    }
    std::fs::write(&path, note.to_text()).expect("write");
}

/// `test-vectors/negative/`: records that must be rejected, each with the failures a verifier must
/// name, and point and scalar encodings that must be refused. Regenerated here and compared byte for
/// byte (`HANPYO_WRITE_VECTORS=1` writes them instead), then each is verified.
#[test]
fn negative_test_vectors_are_rejected_for_their_reason() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-vectors");
    let small = root.join("small");
    let negative = root.join("negative");
    let write = std::env::var_os("HANPYO_WRITE_VECTORS").is_some();
    let mut index = Vec::new();
    for case in negative_cases(&small) {
        let fresh = scratch(&format!("negative-{}", case.name));
        write_signed(&small, &fresh, &case.entries);
        let committed = negative.join(case.name);
        if write {
            let _ = std::fs::remove_dir_all(&committed);
            std::fs::create_dir_all(committed.join("record")).expect("dir");
            for f in ["entries", "checkpoint"] {
                std::fs::copy(
                    fresh.join("record").join(f),
                    committed.join("record").join(f),
                )
                .expect("copy");
            }
        }
        for f in ["entries", "checkpoint"] {
            assert_eq!(
                std::fs::read(committed.join("record").join(f)).expect("committed"),
                std::fs::read(fresh.join("record").join(f)).expect("fresh"),
                "{}/{f} differs from a fresh build: run with HANPYO_WRITE_VECTORS=1 and commit",
                case.name
            );
        }
        let (code, report) = verify(&committed);
        assert_eq!(code, 1, "{}: {report}", case.name);
        let got = failures(&report);
        for (entry, what) in &case.failures {
            assert!(
                got.iter()
                    .any(|(e, w)| w == what && (entry.is_none() || e == entry)),
                "{}: expected {what:?} at {entry:?}, got {got:?}",
                case.name
            );
        }
        // Nothing but the named failures and their consequences.
        assert!(
            got.iter()
                .all(|(_, w)| case.failures.iter().any(|(_, f)| f == w)
                    || case.consequences.contains(&w.as_str())),
            "{}: unexpected failures {got:?}",
            case.name
        );
        index.push(serde_json::json!({
            "name": case.name,
            "why": case.why,
            "failures": case.failures.iter().map(|(e, w)| serde_json::json!({"entry": e, "what": w})).collect::<Vec<_>>(),
            "may_also_fail": case.consequences,
        }));
        let _ = std::fs::remove_dir_all(&fresh);
    }
    let encodings = encoding_vectors();
    let expected = serde_json::json!({
        "note": "Records that must be rejected (each a directory: record/entries, record/checkpoint, signed by the log and co-signed by the witnesses of test-vectors/small), with the failures `hanpyo verify --json` names (entry index, `what`); and 32-byte encodings that must be refused. See README.md.",
        "records": index,
        "points": encodings.0,
        "scalars": encodings.1,
    });
    let text = serde_json::to_string_pretty(&expected).expect("json") + "\n";
    if write {
        std::fs::write(negative.join("cases.json"), &text).expect("write");
    }
    assert_eq!(
        std::fs::read_to_string(negative.join("cases.json")).expect("committed cases.json"),
        text,
        "cases.json differs: run with HANPYO_WRITE_VECTORS=1 and commit"
    );
}

/// Point and scalar encodings with the verdict the format requires, checked against our decoders.
fn encoding_vectors() -> (Vec<Value>, Vec<Value>) {
    use hanpyo_crypto::group::{Element, decode_scalar};
    let g = "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76";
    let points: [(&str, &str, &str); 9] = [
        (g, "valid", "the generator"),
        (
            "0000000000000000000000000000000000000000000000000000000000000000",
            "identity",
            "valid, but refused where a non-identity point is required",
        ),
        (
            "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2df6",
            "refused",
            "the generator with bit 255 set (not masked: s ≥ p)",
        ),
        (
            "0000000000000000000000000000000000000000000000000000000000000080",
            "refused",
            "zero with bit 255 set",
        ),
        (
            "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "refused",
            "s = p: non-canonical field element",
        ),
        (
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "refused",
            "s = p − 1 = −1: negative (odd)",
        ),
        (
            "0100000000000000000000000000000000000000000000000000000000000000",
            "refused",
            "s = 1: negative (odd)",
        ),
        (
            "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371",
            "refused",
            "x² not square (RFC 9496 A.2)",
        ),
        (
            "3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e",
            "refused",
            "negative x·y (RFC 9496 A.2)",
        ),
    ];
    let scalars: [(&str, &str, &str); 6] = [
        (
            "0000000000000000000000000000000000000000000000000000000000000000",
            "valid",
            "zero",
        ),
        (
            "ecd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
            "valid",
            "ℓ − 1",
        ),
        (
            "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
            "refused",
            "ℓ",
        ),
        (
            "eed3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
            "refused",
            "ℓ + 1",
        ),
        (
            "0000000000000000000000000000000000000000000000000000000000000080",
            "refused",
            "2^255 (bit 255 set)",
        ),
        (
            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "refused",
            "2^256 − 1",
        ),
    ];
    let mut p = Vec::new();
    for (hex, verdict, why) in points {
        let bytes = hex::decode(hex).expect("hex");
        let got = match (Element::decode(&bytes), Element::decode_nonidentity(&bytes)) {
            (Ok(_), Ok(_)) => "valid",
            (Ok(_), Err(_)) => "identity",
            (Err(_), _) => "refused",
        };
        assert_eq!(got, verdict, "point {hex}: {why}");
        p.push(serde_json::json!({"bytes": hex, "verdict": verdict, "why": why}));
    }
    let mut s = Vec::new();
    for (hex, verdict, why) in scalars {
        let got = if decode_scalar(&hex::decode(hex).expect("hex")).is_ok() {
            "valid"
        } else {
            "refused"
        };
        assert_eq!(got, verdict, "scalar {hex}: {why}");
        s.push(serde_json::json!({"bytes": hex, "verdict": verdict, "why": why}));
    }
    (p, s)
}

/// The size of a checkpoint note.
fn size_of(note: &str) -> u64 {
    hanpyo_ledger::checkpoint::Checkpoint::parse_body(
        &hanpyo_ledger::checkpoint::SignedNote::parse(note)
            .expect("note")
            .body,
    )
    .expect("body")
    .size
}

/// The verifier's verdict on `dir/record` in one pass, and step by step as a mirror takes it: a
/// directory that grows checkpoint by checkpoint, each step read on from where the last stopped.
/// Answers both final reports, and every interim one's failures.
fn one_pass_and_stepwise(
    dir: &Path,
    steps: &[u64],
) -> (
    hanpyo_record::verify::Report,
    hanpyo_record::verify::Report,
    Vec<Vec<String>>,
) {
    use hanpyo_ledger::export::{DirectoryRecord, parse_checkpoints};
    use hanpyo_record::verify::{Options, Verification, verify_record};
    let record = dir.join("record");
    let one = verify_record(&record, &Options::default()).expect("one pass");
    let notes = parse_checkpoints(&std::fs::read(record.join("checkpoints")).unwrap_or_default())
        .expect("history");
    let latest = std::fs::read_to_string(record.join(CHECKPOINT_FILE)).expect("checkpoint");
    let es = entries(dir);
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("record");
    let growing = scratch(&format!("{name}-growing"));
    std::fs::create_dir_all(&growing).expect("dir");
    let mut v = Verification::new(Options::default());
    let mut interim = Vec::new();
    for &size in steps {
        // The checkpoint of this size (the latest one for the whole record), and those before.
        let (note, before): (String, Vec<&String>) =
            match notes.iter().position(|n| size_of(n) == size) {
                Some(i) => (notes[i].clone(), notes[..i].iter().collect()),
                None => (latest.clone(), notes.iter().collect()),
            };
        let mut framed = Vec::new();
        for e in &es[..size as usize] {
            framed.extend_from_slice(&(e.len() as u32).to_be_bytes());
            framed.extend_from_slice(e);
        }
        std::fs::write(growing.join("entries"), framed).expect("entries");
        std::fs::write(growing.join(CHECKPOINT_FILE), &note).expect("checkpoint");
        let mut history = Vec::new();
        for n in before {
            history.extend_from_slice(&(n.len() as u32).to_be_bytes());
            history.extend_from_slice(n.as_bytes());
        }
        std::fs::write(growing.join("checkpoints"), history).expect("history");
        let (index, offset) = v.position();
        let mut source = DirectoryRecord::open_at(&growing, index, offset).expect("open at");
        v.extend(&mut source, &mut |_| {});
        let r = v.report(&source);
        interim.push(r.failures.iter().map(|f| f.what.clone()).collect());
    }
    let source =
        DirectoryRecord::open_at(&growing, v.position().0, v.position().1).expect("open at");
    let stepwise = v.report(&source);
    let _ = std::fs::remove_dir_all(&growing);
    (one, stepwise, interim)
}

#[test]
fn a_record_checked_step_by_step_gets_the_one_pass_verdict() {
    let dir = simulate(
        "stepwise",
        60,
        21,
        &[
            "--block-size",
            "8",
            "--witnesses",
            "2",
            "--revote-percent",
            "40",
            "--audit-percent",
            "20",
        ],
    );
    let notes = hanpyo_ledger::export::parse_checkpoints(
        &std::fs::read(dir.join("record/checkpoints")).expect("history"),
    )
    .expect("notes");
    let sizes: Vec<u64> = notes
        .iter()
        .map(|n| {
            hanpyo_ledger::checkpoint::Checkpoint::parse_body(
                &hanpyo_ledger::checkpoint::SignedNote::parse(n)
                    .expect("note")
                    .body,
            )
            .expect("body")
            .size
        })
        .collect();
    let total = entries(&dir).len() as u64;
    // Every third checkpoint, then the whole record.
    let mut steps: Vec<u64> = sizes.iter().copied().step_by(3).collect();
    steps.push(total);
    assert!(steps.len() > 3, "{steps:?}");
    let (one, stepwise, interim) = one_pass_and_stepwise(&dir, &steps);
    assert!(one.valid, "{:?}", one.failures);
    assert!(stepwise.valid, "{:?}", stepwise.failures);
    assert_eq!(
        serde_json::to_value(&one.summary).expect("json"),
        serde_json::to_value(&stepwise.summary).expect("json")
    );
    assert!(one.summary.superseded > 0 && one.summary.audited > 0);
    // Before the end, only what an election under way lacks.
    for (size, failures) in steps.iter().zip(&interim) {
        if *size < total {
            assert!(
                failures.iter().all(|w| w == "completeness"),
                "{size}: {failures:?}"
            );
        }
    }
    // A changed ballot late in the record is named the same way step by step.
    let mut es = entries(&dir);
    let b = index_of(&es, Kind::Ballot, 30);
    let last = es[b].len() - 5;
    es[b][last] ^= 1;
    let tampered = write("stepwise-tampered", &dir, &es, true);
    let (one, stepwise, _) = one_pass_and_stepwise(&tampered, &[b as u64 - 3, es.len() as u64]);
    assert!(!one.valid);
    let named = |r: &hanpyo_record::verify::Report| -> Vec<(Option<u64>, String)> {
        r.failures
            .iter()
            .map(|f| (f.entry, f.what.clone()))
            .collect()
    };
    assert_eq!(named(&one), named(&stepwise));
    assert!(
        named(&one).contains(&(Some(b as u64), "ballot".into())),
        "{:?}",
        named(&one)
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&tampered);
}
