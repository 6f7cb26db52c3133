//! The voting service over real HTTP (server on 127.0.0.1, port 0): a full election through
//! `hanpyo vote`, every kind of bad request refused with its code and nothing recorded, a restart
//! mid-election, and the downloaded record verified against the votes cast.
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use hanpyo_crypto::credential::SecretCredential;
use hanpyo_crypto::elgamal::PublicKey;
use hanpyo_ledger::merkle::leaf_hash;
use hanpyo_record::authority::encrypt_ballot_with_rng;
use hanpyo_record::context::election_context;
use hanpyo_record::entry::{AuditedBallot, CeremonyMessage, Entry};
use hanpyo_record::manifest::Manifest;
use serde_json::Value;

mod common;
use common::*;

/// `hanpyo demo` with `voters` voters on the data directory `data`.
fn start_demo(data: &Path, voters: u32) -> Server {
    start_demo_with(data, voters, &[])
}

/// The demo's resident vote: [`start_demo`] serves it alone unless told otherwise.
fn demo_manifest() -> String {
    format!("{}/src/demo-manifest.toml", env!("CARGO_MANIFEST_DIR"))
}

/// [`start_demo`] with more `hanpyo demo` arguments (e.g. `--manifest`; without one, the demo's
/// resident vote alone).
fn start_demo_with(data: &Path, voters: u32, extra: &[&str]) -> Server {
    let voters = voters.to_string();
    let manifest = demo_manifest();
    let mut extra = extra.to_vec();
    if !extra.contains(&"--manifest") {
        extra.extend(["--manifest", manifest.as_str()]);
    }
    let mut args = vec![
        "demo",
        "--listen",
        "127.0.0.1:0",
        "--data",
        data.to_str().expect("utf8 path"),
        "--voters",
        &voters,
    ];
    args.extend_from_slice(&extra);
    start(&args)
}

/// `{url}/api/v1/elections/{id}` of the server's only election.
fn election_url(url: &str) -> String {
    let list = get_json(&format!("{url}/api/v1/elections"));
    let id = list[0]["election_id"]
        .as_str()
        .expect("one election")
        .to_string();
    format!("{url}/api/v1/elections/{id}")
}

fn ledger_size(url: &str) -> u64 {
    let note = agent()
        .get(format!("{url}/api/v1/board/checkpoint"))
        .call()
        .expect("checkpoint")
        .body_mut()
        .read_to_string()
        .expect("text");
    note.lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .expect("size line")
}

fn vote(url: &str, data: &Path, v: &Voter, choices: &str, extra: &[&str]) -> std::process::Output {
    let outbox = data.join("outbox.jsonl");
    let mut args = vec![
        "vote",
        "--url",
        url,
        "--resident-id",
        &v.id,
        "--birth-date",
        &v.birth,
        "--outbox",
        outbox.to_str().expect("p"),
        "--contact",
        &v.contact,
        "--credential",
        &v.code,
        "--choices",
        choices,
    ];
    args.extend_from_slice(extra);
    Command::new(bin()).args(&args).output().expect("vote")
}

/// Logs `v` in over HTTP (reading the code from the outbox); returns the session token.
fn session(url: &str, data: &Path, v: &Voter) -> String {
    let outbox = data.join("outbox.jsonl");
    let before = std::fs::read_to_string(&outbox).map_or(0, |t| t.lines().count());
    let start = serde_json::json!({"resident_id": v.id, "birth_date": v.birth}).to_string();
    let (s, _) = post_json(&format!("{url}/api/v1/login/start"), &start);
    assert_eq!(s, 202);
    let text = std::fs::read_to_string(&outbox).expect("outbox");
    let line: Value =
        serde_json::from_str(text.lines().nth(before).expect("a code was sent")).expect("json");
    let verify =
        serde_json::json!({"resident_id": v.id, "birth_date": v.birth, "code": line["code"]})
            .to_string();
    let (s, body) = post_json(&format!("{url}/api/v1/login/verify"), &verify);
    assert_eq!(s, 200, "{body}");
    body["session"].as_str().expect("session").to_string()
}

#[test]
fn a_voter_session_ends_when_the_voter_finishes() {
    let data = scratch("srv-voter-logout");
    let server = start_demo(&data, 3);
    let url = server.url.clone();
    let voters = codes(&data);
    let token = session(&url, &data, &voters[0]);
    let ballots = format!("{}/ballots", election_url(&url));
    // A ballot entry's header (format version, kind 9) and nothing else: past the session check,
    // then refused for its bytes, not for the login.
    let stub = [hanpyo_record::entry::FORMAT_VERSION, 9];
    let (s, v) = post(&ballots, &stub, Some(&token));
    assert_eq!((s, v["code"].as_str()), (400, Some("malformed")), "{v}");
    let logout = |token: &str| {
        agent()
            .post(format!("{url}/api/v1/logout"))
            .header("authorization", format!("Bearer {token}"))
            .send_empty()
            .expect("logout")
            .status()
            .as_u16()
    };
    assert_eq!(logout(&token), 204);
    let (s, v) = post(&ballots, &stub, Some(&token));
    assert_eq!((s, v["code"].as_str()), (401, Some("no-session")), "{v}");
    assert_eq!(
        logout(&token),
        204,
        "an ended or unknown session is not an error"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

/// A JSON POST sent from the local address `from` (another loopback address: another client).
fn post_from(from: &str, url: &str, json: &str) -> (u16, Value) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_once('/').expect("path");
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket
        .bind(
            &format!("{from}:0")
                .parse::<std::net::SocketAddr>()
                .expect("addr")
                .into(),
        )
        .expect("bind");
    socket
        .connect(&host.parse::<std::net::SocketAddr>().expect("addr").into())
        .expect("connect");
    let mut stream: std::net::TcpStream = socket.into();
    write!(
        stream,
        "POST /{path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{json}",
        json.len()
    )
    .expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// The choices string for voter `i` (deterministic, valid for the demo manifest) and its
/// selections `[question][choice]`.
fn choices_for(i: u32) -> (String, Vec<Vec<u32>>) {
    let q0 = i % 2;
    let q1 = (i / 2) % 4;
    let q2: Vec<u32> = match i % 3 {
        0 => vec![],
        1 => vec![i % 5],
        _ => vec![i % 5, (i + 1) % 5],
    };
    let s = format!(
        "{q0};{q1};{}",
        q2.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
    );
    (s, vec![vec![q0], vec![q1], q2])
}

/// The directory of the data directory's only election.
fn only_election(data: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(data.join("elections"))
        .expect("elections")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(dirs.len(), 1, "one election in {}", data.display());
    dirs[0].clone()
}

/// The demo voters of the data directory's only election.
fn codes(data: &Path) -> Vec<Voter> {
    voters_in(&only_election(data))
}

fn verify_download(url: &str, dir: &Path) -> Value {
    verify_download_of(url, &[], dir)
}

/// Downloads the record (`election`: `["--election", id]`, or nothing for the server's only
/// one), verifies it as that election's, and answers the verifier's JSON report (valid).
fn verify_download_of(url: &str, election: &[&str], dir: &Path) -> Value {
    let dir = dir.to_str().expect("p");
    let o = Command::new(bin())
        .args(["download", "--url", url])
        .args(election)
        .args(["--out", dir])
        .output()
        .expect("download");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new(bin())
        .args(["verify", "--json"])
        .args(election)
        .arg(dir)
        .output()
        .expect("verify");
    let report: Value = serde_json::from_slice(&o.stdout).expect("report");
    assert_eq!(o.status.code(), Some(0), "{report}");
    report
}

/// A verifier report's result: per question its tally cells.
fn result_cells(report: &Value) -> Vec<Vec<u64>> {
    report["summary"]["result"]
        .as_array()
        .expect("result")
        .iter()
        .map(|q| serde_json::from_value(q["counts"].clone()).expect("cells"))
        .collect()
}

/// Score and scale questions from the command-line voter: answers given as points and steps,
/// audited, revoted; an over-budget answer and an unanswered scale item are refused on the device
/// with their reason and nothing is cast; the verified result equals the answers last cast.
#[test]
fn score_and_scale_questions_over_http_from_the_cli() {
    let data = scratch("srv-score-scale");
    let manifest =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/manifests/score-and-scale.toml");
    let server = start_demo_with(&data, 12, &["--manifest", manifest.to_str().expect("utf8")]);
    let url = server.url.clone();
    let token = server.token.clone().expect("admin session");
    let voters = codes(&data);
    let info = get_json(&election_url(&url));
    assert_eq!(info["questions"][0]["kind"], "score");
    assert_eq!(info["questions"][0]["max_score"], Value::from(5));
    assert_eq!(info["questions"][1]["budget"], Value::from(10));
    assert_eq!(info["questions"][2]["kind"], "scale");
    assert_eq!(
        info["questions"][2]["steps"].as_array().map(Vec::len),
        Some(5)
    );

    // Refused on the device, before anything is sent.
    for (answer, why) in [
        ("5,5,5;5,5,3,0;0,0,0", "a sum outside"),
        ("6,0,0;0,0,0,0;0,0,0", "score 6 above 5"),
        ("1,1,1;0,0,0,0;0,9", "3 steps expected"),
        ("1,1,1;0,0,0,0;0,9,0", "step 9 of 5"),
    ] {
        let o = vote(&url, &data, &voters[0], answer, &[]);
        assert!(!o.status.success(), "{answer} must be refused");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(why), "{answer}: {err}");
    }
    assert_eq!(get_json(&election_url(&url))["ballots"], Value::from(0));

    let answer = |i: usize| -> [Vec<u32>; 3] {
        let i = i as u32;
        [
            vec![i % 6, (i + 2) % 6, 5 - i % 6],
            vec![i % 4, 3, (10 - i % 4 - 3).min(5), 0],
            vec![i % 5, (i + 1) % 5, 4],
        ]
    };
    let text = |a: &[Vec<u32>; 3]| {
        a.iter()
            .map(|q| q.iter().map(u32::to_string).collect::<Vec<_>>().join(","))
            .collect::<Vec<_>>()
            .join(";")
    };
    let mut last = Vec::new();
    for (i, v) in voters.iter().enumerate() {
        let audit: &[&str] = if i % 4 == 0 { &["--audit"] } else { &[] };
        let o = vote(&url, &data, v, &text(&answer(i)), audit);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        last.push(answer(i));
    }
    // Two revotes: only their last answers count.
    for i in [1usize, 5] {
        let again = answer(i + 3);
        let o = vote(&url, &data, &voters[i], &text(&again), &[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        last[i] = again;
    }
    let (status, v) = post(&format!("{url}/api/v1/admin/close"), b"", Some(&token));
    assert_eq!(status, 200, "{v}");
    let (status, v) = post(&format!("{url}/api/v1/admin/tally"), b"", Some(&token));
    assert_eq!(status, 200, "{v}");
    let report = verify_download(&url, &data.join("downloaded"));
    let mut expected = vec![vec![0u64; 3], vec![0; 4], vec![0; 15]];
    for a in &last {
        for q in 0..2 {
            for (j, &points) in a[q].iter().enumerate() {
                expected[q][j] += u64::from(points);
            }
        }
        for (item, &step) in a[2].iter().enumerate() {
            expected[2][item * 5 + step as usize] += 1;
        }
    }
    assert_eq!(
        result_cells(&report),
        expected,
        "the verified result equals the answers cast"
    );
    assert_eq!(
        get_json(&election_url(&url))["result"],
        serde_json::json!(expected)
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

/// A ranked question from the command-line voter: a choice ranked twice, too many ranks and an
/// unknown choice are refused on the device; rankings are audited, revoted and cast; the demo
/// trustees mix and decrypt them at the tally; the published instant-runoff count is the one
/// computed by hand, the record verifies, and a restarted server replays the same count.
#[test]
fn a_ranked_question_over_http_is_mixed_counted_and_replayed_after_a_restart() {
    let data = scratch("srv-ranked");
    let manifest =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/manifests/ranked.toml");
    let server = start_demo_with(&data, 10, &["--manifest", manifest.to_str().expect("utf8")]);
    let url = server.url.clone();
    let token = server.token.clone().expect("admin session");
    let voters = codes(&data);
    let info = get_json(&election_url(&url));
    assert_eq!(info["questions"][0]["kind"], "ranked");
    assert_eq!(info["questions"][0]["ranks"], 3);
    assert_eq!(info["questions"][0]["method"], "instant-runoff");
    for (answer, why) in [
        ("0,0", "choice 0 ranked twice"),
        ("0,1,2,3", "at most 3 choices ranked"),
        ("4", "choice 4 of 4"),
    ] {
        let o = vote(&url, &data, &voters[0], answer, &[]);
        assert!(!o.status.success(), "{answer} must be refused");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(why), "{answer}: {err}");
    }
    // A 4 first preferences, B 3, C 2, D 1 (voter 1 revotes from A to B).
    let mut rankings: Vec<Vec<u32>> = vec![
        vec![0, 1],
        vec![0],
        vec![1],
        vec![1, 2],
        vec![2, 1],
        vec![2, 0],
        vec![3, 2],
        vec![0, 3],
        vec![0],
        vec![0],
    ];
    let text = |r: &[u32]| r.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    for (i, (v, r)) in voters.iter().zip(&rankings).enumerate() {
        let audit: &[&str] = if i == 0 { &["--audit"] } else { &[] };
        let o = vote(&url, &data, v, &text(r), audit);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    rankings[1] = vec![1, 0];
    let o = vote(&url, &data, &voters[1], "1,0", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for action in ["close", "tally"] {
        let (status, v) = post(&format!("{url}/api/v1/admin/{action}"), b"", Some(&token));
        assert_eq!(status, 200, "{v}");
    }
    let mut matrix = vec![0u64; 12];
    for r in &rankings {
        for (rank, &c) in r.iter().enumerate() {
            matrix[rank * 4 + c as usize] += 1;
        }
    }
    let report = verify_download(&url, &data.join("downloaded"));
    assert_eq!(result_cells(&report), vec![matrix.clone()]);
    let info = get_json(&election_url(&url));
    assert_eq!(info["result"], serde_json::json!([matrix]));
    // Round 1: D out; its ballot goes to C. Round 2: B and C tie at 3; C had fewer in round 1,
    // so C goes: one ballot to B, one to A, D's exhausted. Round 3: A 5 of 9 active.
    let expected_rounds = serde_json::json!([
        {"votes": [4, 3, 2, 1], "exhausted": 0, "elected": null, "eliminated": 3, "tie_break": null},
        {"votes": [4, 3, 3, 0], "exhausted": 0, "elected": null, "eliminated": 2,
         "tie_break": {"earlier-round": 0}},
        {"votes": [5, 4, 0, 0], "exhausted": 1, "elected": 0, "eliminated": null, "tie_break": null},
    ]);
    assert_eq!(info["ranked"][0]["rounds"], expected_rounds);
    assert_eq!(
        info["outcomes"][0],
        serde_json::json!({"outcome": "elected", "choice": 0})
    );
    assert_eq!(
        report["summary"]["result"][0]["ranked"]["rounds"],
        expected_rounds
    );
    let progress = get_json(&format!("{url}/api/v1/progress"));
    assert_eq!(progress["ranked"], true);
    let shuffled = progress["trustees"]
        .as_array()
        .expect("trustees")
        .iter()
        .filter(|t| t["shuffled"] == true && t["decrypted_rows"] == true)
        .count();
    assert_eq!(shuffled, 2, "{progress}");
    // A restart rebuilds the mix-net from the ledger and states the same count.
    drop(server);
    let server = start(&[
        "serve",
        "--data",
        data.to_str().expect("p"),
        "--listen",
        "127.0.0.1:0",
    ]);
    let again = get_json(&election_url(&server.url));
    assert_eq!(again["ranked"], info["ranked"]);
    assert_eq!(again["outcomes"], info["outcomes"]);
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn a_full_election_over_http_with_revotes_audits_and_a_restart() {
    let data = scratch("srv-full");
    let d = data.to_str().expect("p");
    let server = start_demo(&data, 200);
    let url = server.url.clone();
    let codes = codes(&data);
    assert_eq!(codes.len(), 200);
    let mut last: Vec<Option<Vec<Vec<u32>>>> = vec![None; 200];
    let mut cast = |i: u32, round: u32, url: &str, extra: &[&str]| {
        let (s, sel) = choices_for(i + 7 * round);
        let o = vote(url, &data, &codes[i as usize], &s, extra);
        assert!(
            o.status.success(),
            "voter {i}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(String::from_utf8_lossy(&o.stdout).contains("tracking code"));
        last[i as usize] = Some(sel);
    };
    for i in 0..120 {
        let audit: &[&str] = if i % 20 == 0 { &["--audit"] } else { &[] };
        cast(i, 0, &url, audit);
    }
    // Restart mid-election: everything acknowledged is still there; voting continues.
    let before = ledger_size(&url);
    drop(server);
    // A second administrator, created offline while the server is down.
    let pw = data.join("pw");
    std::fs::write(&pw, "a long enough password\n").expect("pw");
    let o = Command::new(bin())
        .args([
            "admin",
            "create-user",
            "--data",
            d,
            "--name",
            "clerk",
            "--password-file",
            pw.to_str().expect("p"),
        ])
        .output()
        .expect("create-user");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let server = start(&["serve", "--data", d, "--listen", "127.0.0.1:0"]);
    let url = server.url.clone();
    let token = admin_login(&url, "clerk", "a long enough password");
    assert_eq!(ledger_size(&url), before, "nothing acknowledged was lost");
    for i in 120..200 {
        cast(i, 0, &url, &[]);
    }
    for i in (0..200).step_by(10) {
        cast(i, 1, &url, &[]); // revotes: only the last counts
    }
    let info = get_json(&election_url(&url));
    assert_eq!(info["counted"], Value::from(200));
    // The console's turnout chart counts the same voters (revotes once), not ballots.
    let turnout: Value = agent()
        .get(format!("{url}/api/v1/admin/turnout"))
        .header("authorization", format!("Bearer {token}"))
        .call()
        .expect("turnout")
        .body_mut()
        .read_json()
        .expect("json");
    assert_eq!(turnout["counted"], Value::from(200), "{turnout}");
    assert_eq!(
        turnout["series"]
            .as_array()
            .and_then(|s| s.last())
            .map(|p| &p[1]),
        Some(&Value::from(200)),
        "{turnout}"
    );
    assert!(turnout["ballots"].as_u64().expect("ballots") > 200);
    let (status, v) = post(&format!("{url}/api/v1/admin/close"), b"", Some(&token));
    assert_eq!(status, 200, "{v}");
    let (status, v) = post(&format!("{url}/api/v1/admin/tally"), b"", Some(&token));
    assert_eq!(status, 200, "{v}");
    let report = verify_download(&url, &data.join("downloaded"));
    let mut expected = vec![vec![0u64; 2], vec![0; 4], vec![0; 5]];
    for sel in last.iter().flatten() {
        for (q, chosen) in sel.iter().enumerate() {
            for &j in chosen {
                expected[q][j as usize] += 1;
            }
        }
    }
    let got: Vec<Vec<u64>> = report["summary"]["result"]
        .as_array()
        .expect("result")
        .iter()
        .map(|q| {
            q["choices"]
                .as_array()
                .expect("c")
                .iter()
                .map(|c| c[2].as_u64().expect("n"))
                .collect()
        })
        .collect();
    assert_eq!(got, expected, "the verified result equals the votes cast");
    assert_eq!(report["summary"]["ballots_counted"], Value::from(200));
    assert_eq!(report["summary"]["superseded"], Value::from(20));
    assert_eq!(report["summary"]["audited"], Value::from(6));
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn bad_requests_get_their_code_and_record_nothing() {
    let data = scratch("srv-bad");
    let server = start_demo(&data, 5);
    let url = server.url.clone();
    let token = server.token.clone().expect("token");
    let codes = codes(&data);
    let ballots = format!("{}/ballots", election_url(&url));
    // A valid ballot built here, to replay and to tamper with.
    let info = get_json(&election_url(&url));
    let manifest_entry = hex::decode(info["manifest_entry"].as_str().expect("m")).expect("hex");
    let Entry::Manifest(m) = Entry::decode(&manifest_entry, None).expect("manifest") else {
        panic!()
    };
    let m: Manifest = *m;
    let pk = PublicKey::decode(&hex::decode(info["joint_key"].as_str().expect("k")).expect("hex"))
        .expect("key");
    let ctx = election_context(&leaf_hash(&manifest_entry), &pk);
    let specs = m.contest_specs();
    let sel: Vec<Vec<u8>> = vec![vec![1, 0], vec![0, 1, 0, 0], vec![0; 5]];
    let make = |code: &str, ctx: &hanpyo_crypto::transcript::ProofContext| {
        let key = SecretCredential::parse(code)
            .expect("code")
            .signing_key(m.election_id.as_bytes());
        let (b, _) =
            encrypt_ballot_with_rng(ctx, &pk, &specs, &key, &sel, &mut hanpyo_crypto::os_rng())
                .expect("ballot");
        Entry::Ballot(Box::new(b)).encode()
    };
    let good = make(&codes[0].code, &ctx);
    let token0 = session(&url, &data, &codes[0]);
    let size = ledger_size(&url);

    let expect = |body: &[u8], status: u16, code: &str| {
        let (s, v) = post(&ballots, body, Some(&token0));
        assert_eq!((s, v["code"].as_str().unwrap_or("")), (status, code), "{v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
    };
    expect(b"{\"not\": \"a ballot\"}", 400, "malformed");
    expect(&[], 400, "malformed");
    let mut truncated = good.clone();
    truncated.pop();
    expect(&truncated, 400, "malformed");
    let (s, _) = post(&ballots, &vec![1u8; 300 * 1024], Some(&token0));
    assert_eq!(s, 413, "oversized body");
    // Another election's ballot (same credential code, other fingerprint) fails its proofs.
    let mut other = ctx;
    other.fingerprint[0] ^= 1;
    expect(&make(&codes[0].code, &other), 422, "bad-proof");
    // A tampered proof response.
    let mut bad = good.clone();
    let at = bad.len() - 70;
    bad[at] ^= 1;
    let (s, v) = post(&ballots, &bad, Some(&token0));
    assert!(
        matches!(
            (s, v["code"].as_str()),
            (422, Some("bad-proof")) | (400, Some("malformed"))
        ),
        "{v}"
    );
    // An unknown credential.
    expect(
        &make(&SecretCredential::generate().code(), &ctx),
        403,
        "not-eligible",
    );
    // An unknown election.
    let (s, v) = post(
        &format!("{url}/api/v1/elections/no-such-election/ballots"),
        &good,
        Some(&token0),
    );
    assert_eq!((s, v["code"].as_str()), (404, Some("unknown-election")));
    // A setup entry instead of a ballot.
    expect(&manifest_entry, 400, "malformed");
    assert_eq!(ledger_size(&url), size, "nothing was recorded");
    // Without a session, or with a made-up one.
    let (s, v) = post(&ballots, &good, None);
    assert_eq!((s, v["code"].as_str()), (401, Some("no-session")));
    let (s, v) = post(&ballots, &good, Some("00"));
    assert_eq!((s, v["code"].as_str()), (401, Some("no-session")));
    // The valid ballot, then its replay.
    let (s, v) = post(&ballots, &good, Some(&token0));
    assert_eq!(s, 200, "{v}");
    assert_eq!(ledger_size(&url), size + 1);
    expect(&good, 409, "replay");
    // Administration needs the token.
    let (s, v) = post(&format!("{url}/api/v1/admin/close"), b"", Some("wrong"));
    assert_eq!((s, v["code"].as_str()), (401, Some("unauthorized")));
    let (s, _) = post(&format!("{url}/api/v1/admin/close"), b"", None);
    assert_eq!(s, 401);
    let (s, v) = post(&format!("{url}/api/v1/admin/tally"), b"", Some(&token));
    assert_eq!((s, v["code"].as_str()), (409, Some("wrong-phase")));
    let (s, _) = post(&format!("{url}/api/v1/admin/close"), b"", Some(&token));
    assert_eq!(s, 200);
    let closed_size = ledger_size(&url);
    expect(&make(&codes[0].code, &ctx), 409, "election-closed");
    assert_eq!(
        ledger_size(&url),
        closed_size,
        "nothing recorded after the close"
    );
    // Board lookups.
    let (s, _) = {
        let mut r = agent()
            .get(format!("{url}/api/v1/board/receipts/{}", "00".repeat(32)))
            .call()
            .expect("get");
        (r.status().as_u16(), r.body_mut().read_to_string())
    };
    assert_eq!(s, 404);
    let mut r = agent()
        .get(format!(
            "{url}/api/v1/board/receipts/{}",
            hex::encode(leaf_hash(&good))
        ))
        .call()
        .expect("get");
    assert_eq!(r.status().as_u16(), 200);
    let receipt: hanpyo_ledger::receipt::Receipt = r.body_mut().read_json().expect("receipt");
    assert_eq!(receipt.index, size);
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn metrics_headers_rate_limits_and_configuration() {
    let data = scratch("srv-ops");
    let d = data.to_str().expect("p");
    let manifest = demo_manifest();
    let mut child = Command::new(bin())
        .args([
            "demo",
            "--manifest",
            &manifest,
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--data",
            d,
            "--voters",
            "3",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut url, mut metrics) = (String::new(), String::new());
    for line in lines.by_ref() {
        let line = line.expect("line");
        if let Some(u) = line.strip_prefix("url: ") {
            url = u.trim_end_matches('/').to_string();
        }
        if let Some(m) = line.strip_prefix("metrics: ") {
            metrics = m.to_string();
        }
        if line.starts_with("vote:") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let server = Server {
        child,
        url: url.clone(),
        token: None,
        banner: Vec::new(),
    };
    // Security headers on every answer.
    let r = agent().get(election_url(&url)).call().expect("get");
    for h in [
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
        "content-security-policy",
    ] {
        assert!(r.headers().contains_key(h), "missing {h}");
    }
    // One credential may revote, but not flood: the 6th ballot in a burst is refused.
    let codes = codes(&data);
    let mut statuses = Vec::new();
    let mut earlier: Option<String> = None;
    for _ in 0..6 {
        let o = vote(&url, &data, &codes[0], "0;0;", &[]);
        statuses.push(o.status.code());
        // Each revote's answer names the ballot it replaces in the count.
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        if o.status.success() {
            let code = out
                .split("cast: tracking code ")
                .nth(1)
                .and_then(|t| t.split_whitespace().next())
                .expect("a tracking code")
                .to_string();
            match &earlier {
                None => assert!(!out.contains("replaces:"), "{out}"),
                Some(e) => assert!(
                    out.contains(&format!("replaces: your earlier ballot {e} ")),
                    "{out}"
                ),
            }
            earlier = Some(code);
        }
        if !o.status.success() {
            assert!(
                String::from_utf8_lossy(&o.stdout).contains("rate-limited"),
                "{}",
                String::from_utf8_lossy(&o.stdout)
            );
        }
    }
    assert_eq!(
        statuses,
        vec![Some(0), Some(0), Some(0), Some(0), Some(0), Some(1)]
    );
    // Metrics on their own listener, not on the public one.
    let text = agent()
        .get(&metrics)
        .call()
        .expect("metrics")
        .body_mut()
        .read_to_string()
        .expect("text");
    assert!(text.contains("hanpyo_ballots_accepted_total 5"), "{text}");
    assert!(
        text.contains("hanpyo_ballots_rejected_total{code=\"rate-limited\"} 1"),
        "{text}"
    );
    let public = agent().get(format!("{url}/metrics")).call().expect("get");
    assert_eq!(public.status().as_u16(), 404);
    drop(server);
    // `serve` takes its settings from a config file, overridden by environment and flags.
    let cfg = data.join("hanpyo.toml");
    let mut config = format!(
        "data = {:?}\nlisten = \"127.0.0.1:1\"\nvoter_rate = {{ per_second = 100.0, burst = 100.0 }}\n",
        d
    );
    if on_postgres() {
        // The wrapper sees no --data here: the file names the deployment's database.
        let base = postgres_admin_url();
        let base = base.rsplit_once('/').expect("url").0;
        config.push_str(&format!("database = \"{base}/{}\"\n", database_of(&data)));
    }
    std::fs::write(&cfg, config).expect("cfg");
    let mut serve = Command::new(bin());
    serve
        .args(["serve", "--config", cfg.to_str().expect("p")])
        .env("HANPYO_LISTEN", "127.0.0.1:0");
    let (child, url) = spawn_until(serve, "url: ");
    let server = Server {
        child,
        url: url.clone(),
        token: None,
        banner: Vec::new(),
    };
    assert!(
        !url.ends_with(":1"),
        "the environment overrides the file's listen address"
    );
    for _ in 0..6 {
        let o = vote(&url, &data, &codes[1], "1;0;", &[]);
        assert!(
            o.status.success(),
            "the file's voter rate applies: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn the_roll_logins_and_credential_binding() {
    let data = scratch("srv-roll");
    let server = start_demo(&data, 6);
    let url = server.url.clone();
    let token = server.token.clone().expect("token");
    let voters = codes(&data);
    // Logins: a stranger gets the same answer and no code; a wrong code fails; five lock it.
    let outbox = data.join("outbox.jsonl");
    let start = serde_json::json!({"resident_id": "990101-1999999", "birth_date": "1999-01-01"})
        .to_string();
    let (status, stranger) = post_json(&format!("{url}/api/v1/login/start"), &start);
    assert_eq!((status, &stranger["sent_to"]), (202, &Value::Null));
    assert!(!outbox.exists(), "no code for someone not on the roll");
    let v = &voters[2];
    let start = serde_json::json!({"resident_id": v.id, "birth_date": v.birth}).to_string();
    let (status, sent) = post_json(&format!("{url}/api/v1/login/start"), &start);
    assert_eq!(status, 202);
    // Where the code went, masked as a government service shows it: 010-****-1234.
    let contact = std::fs::read_to_string(&outbox).expect("outbox");
    let to: Value = serde_json::from_str(contact.lines().last().expect("a message")).expect("json");
    let digits: String = to["to"]
        .as_str()
        .expect("to")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert_eq!(
        sent["sent_to"].as_str(),
        Some(format!("{}-****-{}", &digits[..3], &digits[digits.len() - 4..]).as_str()),
        "{sent}"
    );
    assert_eq!(
        (sent["expires_in"].as_i64(), sent["resend_after"].as_i64()),
        (Some(600), Some(30))
    );
    let wrong = serde_json::json!({"resident_id": v.id, "birth_date": v.birth, "code": "not-it"})
        .to_string();
    // Asking for a new code does not reset the count of wrong ones.
    for i in 0..5 {
        if i == 3 {
            assert_eq!(
                post_json(&format!("{url}/api/v1/login/start"), &start).0,
                202
            );
        }
        let (s, b) = post_json(&format!("{url}/api/v1/login/verify"), &wrong);
        assert_eq!((s, b["code"].as_str()), (401, Some("bad-code")));
    }
    let (s, b) = post_json(&format!("{url}/api/v1/login/verify"), &wrong);
    assert_eq!((s, b["code"].as_str()), (429, Some("locked")));
    assert!(
        b["message"].as_str().expect("m").contains("15 minute"),
        "{b}"
    );
    // The wait is also machine-readable, so the page can say how long.
    let wait = b["retry_after"].as_u64().expect("retry_after");
    assert!((840..=900).contains(&wait), "{b}");
    // Locked out: no new code is sent (the answer is the same), and the right code is refused too.
    let sent = std::fs::read_to_string(&outbox)
        .expect("outbox")
        .lines()
        .count();
    assert_eq!(
        post_json(&format!("{url}/api/v1/login/start"), &start).0,
        202
    );
    let text = std::fs::read_to_string(&outbox).expect("outbox");
    assert_eq!(text.lines().count(), sent, "no code while locked out");
    let last: Value = serde_json::from_str(text.lines().last().expect("a code")).expect("json");
    let right =
        serde_json::json!({"resident_id": v.id, "birth_date": v.birth, "code": last["code"]})
            .to_string();
    let (s, b) = post_json(&format!("{url}/api/v1/login/verify"), &right);
    assert_eq!((s, b["code"].as_str()), (429, Some("locked")));
    // Someone who knows a voter's resident id asks for codes too: the voter's own code still works.
    let w = &voters[3];
    let start_w = serde_json::json!({"resident_id": w.id, "birth_date": w.birth}).to_string();
    assert_eq!(
        post_json(&format!("{url}/api/v1/login/start"), &start_w).0,
        202
    );
    let text = std::fs::read_to_string(&outbox).expect("outbox");
    let mine: Value = serde_json::from_str(text.lines().last().expect("code")).expect("json");
    for _ in 0..8 {
        assert_eq!(
            post_json(&format!("{url}/api/v1/login/start"), &start_w).0,
            202
        );
    }
    let sent = std::fs::read_to_string(&outbox)
        .expect("outbox")
        .lines()
        .count();
    assert!(
        sent <= text.lines().count() + 4,
        "at most 5 live codes per voter"
    );
    let verify_w =
        serde_json::json!({"resident_id": w.id, "birth_date": w.birth, "code": mine["code"]})
            .to_string();
    assert_eq!(
        post_json(&format!("{url}/api/v1/login/verify"), &verify_w).0,
        200
    );
    let (s, _) = post_json(
        &format!("{url}/api/v1/login/verify"),
        "{\"resident_id\": 1}",
    );
    assert_eq!(s, 400);
    // One login, one credential: voter 0 votes with its credential, then cannot switch to voter 1's;
    // voter 1 cannot use voter 0's.
    let o = vote(&url, &data, &voters[0], "0;0;", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let swapped = Voter {
        code: voters[1].code.clone(),
        ..voters[0].clone()
    };
    let o = vote(&url, &data, &swapped, "0;0;", &[]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("credential-mismatch"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let thief = Voter {
        code: voters[0].code.clone(),
        ..voters[1].clone()
    };
    let o = vote(&url, &data, &thief, "0;0;", &[]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("credential-mismatch"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = vote(&url, &data, &voters[1], "1;1;", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    // The roll binds each login to its own credential from the start (the credential authority's
    // roll carries it): a stolen session used with the thief's own unused credential, or the thief's
    // own session submitting the victim's ballot before the victim votes, is refused — and the
    // victim still votes.
    let (victim, thief) = (&voters[4], &voters[5]);
    for (login, credential) in [(victim, thief), (thief, victim)] {
        let attempt = Voter {
            code: credential.code.clone(),
            ..login.clone()
        };
        let o = vote(&url, &data, &attempt, "0;0;", &[]);
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("credential-mismatch"),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    for v in [victim, thief] {
        let o = vote(&url, &data, v, "1;1;", &[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    }
    // The identity as people type it: 13 digits without the hyphen, the birth date as 8 digits.
    let typed = Voter {
        id: victim.id.replace('-', ""),
        birth: victim.birth.replace('-', ""),
        ..victim.clone()
    };
    let o = vote(&url, &data, &typed, "0;0;", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    // A roll with bad lines: every one reported with its line number; nothing imported.
    let csv = "name,birth_date,resident_id,contact,district\n새주민,1980-02-30,800230-1234567,010-1111-2222,중구\n또주민,1981-01-01,810101-2345678,nowhere,중구\n";
    let mut r = agent()
        .post(format!("{url}/api/v1/admin/roll"))
        .header("authorization", format!("Bearer {token}"))
        .send(csv.as_bytes())
        .expect("post");
    assert_eq!(r.status().as_u16(), 422);
    let body: Value = r.body_mut().read_json().expect("json");
    let lines: Vec<u64> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["line"].as_u64().expect("n"))
        .collect();
    assert_eq!(lines, vec![2, 3]);
    // Each with a stable code the pages translate.
    let codes: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["code"].as_str().expect("code"))
        .collect();
    assert_eq!(codes, vec!["birth-date", "contact"], "{body}");
    let good = "name,birth_date,resident_id,contact,district\n새주민,1980-02-28,800228-1234567,010-1111-2222,중구\n";
    let mut r = agent()
        .post(format!("{url}/api/v1/admin/roll"))
        .header("authorization", format!("Bearer {token}"))
        .send(good.as_bytes())
        .expect("post");
    assert_eq!(
        r.status().as_u16(),
        200,
        "{:?}",
        r.body_mut().read_to_string()
    );
    // After the close, the roll can be purged: nobody can log in any more.
    let (s, _) = post(&format!("{url}/api/v1/admin/purge-roll"), b"", Some(&token));
    assert_eq!(s, 409, "not while voting is open");
    assert_eq!(
        post(&format!("{url}/api/v1/admin/close"), b"", Some(&token)).0,
        200
    );
    // Everything in the data directory is owner-only.
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        for entry in std::fs::read_dir(&data).expect("dir") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                assert_eq!(mode(&path), 0o600, "{}", path.display());
            }
        }
    }
    let old_key = std::fs::read(only_election(&data).join("roll.key")).expect("roll key");
    assert_eq!(
        post(&format!("{url}/api/v1/admin/purge-roll"), b"", Some(&token)).0,
        200
    );
    // The roll key is destroyed (replaced), and no old page survives in the write-ahead log.
    assert_ne!(
        std::fs::read(only_election(&data).join("roll.key")).expect("roll key"),
        old_key
    );
    assert_eq!(
        std::fs::metadata(only_election(&data).join("state.db-wal")).map_or(0, |m| m.len()),
        0
    );
    let lines_before = std::fs::read_to_string(&outbox).map_or(0, |t| t.lines().count());
    let start =
        serde_json::json!({"resident_id": voters[3].id, "birth_date": voters[3].birth}).to_string();
    assert_eq!(
        post_json(&format!("{url}/api/v1/login/start"), &start).0,
        202
    );
    assert_eq!(
        std::fs::read_to_string(&outbox).map_or(0, |t| t.lines().count()),
        lines_before,
        "purged"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn the_credential_authority_makes_one_credential_per_voter() {
    let dir = scratch("srv-ca");
    std::fs::create_dir_all(&dir).expect("dir");
    let roll = dir.join("roll.csv");
    std::fs::write(
        &roll,
        "name,birth_date,resident_id,contact,district\n홍길동,1990-01-31,900131-1234567,010-1234-5678,종로구\n김영희,1985-07-04,850704-2345678,kim@example.kr,중구\n",
    )
    .expect("write");
    let out = dir.join("ca");
    let o = Command::new(bin())
        .args([
            "ca",
            "generate",
            "--roll",
            roll.to_str().expect("p"),
            "--election-id",
            "demo-2026",
            "--out",
            out.to_str().expect("p"),
        ])
        .output()
        .expect("ca");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let delivery =
        std::fs::read_to_string(out.join("credentials-for-delivery.csv")).expect("delivery");
    let publics: Vec<String> = std::fs::read_to_string(out.join("public-credentials.txt"))
        .expect("publics")
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(publics.len(), 2);
    assert!(publics.windows(2).all(|w| w[0] < w[1]), "sorted");
    let public_text = publics.join("\n");
    assert!(
        !public_text.contains("홍길동") && !public_text.contains("900131"),
        "no identities in the public list"
    );
    for line in delivery.lines().skip(1) {
        let code = line.rsplit(',').next().expect("code");
        let key = SecretCredential::parse(code)
            .expect("code")
            .signing_key(b"demo-2026");
        assert!(publics.contains(&hex::encode(key.public().as_bytes())));
    }
    // The roll to import: the same voters, each with their own public credential.
    let bound = std::fs::read_to_string(out.join("roll-with-credentials.csv")).expect("roll");
    let parsed = hanpyo_server::roll::parse_roll(&bound).expect("a valid roll");
    assert_eq!(parsed.len(), 2);
    for (v, line) in parsed.iter().zip(delivery.lines().skip(1)) {
        let code = line.rsplit(',').next().expect("code");
        let key = SecretCredential::parse(code)
            .expect("code")
            .signing_key(b"demo-2026");
        assert_eq!(v.credential, Some(hex::encode(key.public().as_bytes())));
        assert!(line.starts_with(&v.resident_id));
    }
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(out.join("roll-with-credentials.csv")).expect("meta");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    // A roll with a bad line makes nothing.
    std::fs::write(&roll, "name,birth_date,resident_id,contact,district\n홍길동,1990-13-31,900131-1234567,010-1234-5678,종로구\n").expect("write");
    let o = Command::new(bin())
        .args([
            "ca",
            "generate",
            "--roll",
            roll.to_str().expect("p"),
            "--election-id",
            "x",
            "--out",
            dir.join("ca2").to_str().expect("p"),
        ])
        .output()
        .expect("ca");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains(":2: birth_date"));
    assert!(!dir.join("ca2").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn administrator_accounts_roles_lockout_and_audit_log() {
    let data = scratch("srv-admins");
    let d = data.to_str().expect("p");
    let server = start_demo(&data, 2);
    let url = server.url.clone();
    let admin = server.token.clone().expect("session");
    let pw = data.join("pw");
    std::fs::write(&pw, "observer password 1\n").expect("pw");
    let o = Command::new(bin())
        .args([
            "admin",
            "create-user",
            "--data",
            d,
            "--name",
            "watcher",
            "--role",
            "observer",
            "--password-file",
            pw.to_str().expect("p"),
        ])
        .output()
        .expect("create-user");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(&pw, "short\n").expect("pw");
    let o = Command::new(bin())
        .args([
            "admin",
            "create-user",
            "--data",
            d,
            "--name",
            "weak",
            "--password-file",
            pw.to_str().expect("p"),
        ])
        .output()
        .expect("create-user");
    assert_eq!(o.status.code(), Some(2), "a short password is refused");
    let observer = admin_login(&url, "watcher", "observer password 1");
    let get = |path: &str, token: &str| {
        let mut r = agent()
            .get(format!("{url}{path}"))
            .header("authorization", format!("Bearer {token}"))
            .call()
            .expect("get");
        (
            r.status().as_u16(),
            r.body_mut().read_json::<Value>().unwrap_or(Value::Null),
        )
    };
    let (s, status) = get("/api/v1/admin/status", &observer);
    assert_eq!(s, 200);
    assert_eq!(
        (status["roll"].as_u64(), status["phase"].as_str()),
        (Some(2), Some("open"))
    );
    let (s, v) = post(&format!("{url}/api/v1/admin/close"), b"", Some(&observer));
    assert_eq!(
        (s, v["code"].as_str()),
        (403, Some("forbidden")),
        "an observer cannot close"
    );
    assert_eq!(
        post(&format!("{url}/api/v1/admin/close"), b"", Some(&admin)).0,
        200
    );
    // Wrong passwords: refused, then this address must wait (exponential back-off).
    let wrong = serde_json::json!({"name": "watcher", "password": "not the password"}).to_string();
    for _ in 0..4 {
        assert_eq!(
            post_json(&format!("{url}/api/v1/admin/login"), &wrong).0,
            401
        );
    }
    // The wait is counted in whole seconds: a slow attempt may slip past the first 1 s wait,
    // never past the 2 s after it.
    let mut locked = None;
    for _ in 0..2 {
        let (s, v) = post_json(&format!("{url}/api/v1/admin/login"), &wrong);
        if s == 429 {
            locked = Some(v);
            break;
        }
        assert_eq!((s, v["code"].as_str()), (401, Some("bad-login")));
    }
    let v = locked.expect("this address waits after repeated failures");
    assert_eq!(v["code"].as_str(), Some("locked"));
    assert!(
        v["retry_after"]
            .as_u64()
            .is_some_and(|w| (1..=2).contains(&w)),
        "{v}"
    );
    // The real account holder, from another address, is not locked out by someone else's guesses.
    let right = serde_json::json!({"name": "watcher", "password": "observer password 1"});
    let (s, v) = post_from(
        "127.0.0.2",
        &format!("{url}/api/v1/admin/login"),
        &right.to_string(),
    );
    assert_eq!(s, 200, "{v}");
    // Unknown and malformed names: same answer, nothing of theirs stored. A 200 KB name is not
    // written to the audit log; unknown accounts are audited as "(unknown)".
    let before = audit_text(&data).len();
    let huge = serde_json::json!({"name": "x".repeat(200_000), "password": "p"}).to_string();
    let (s, _) = post_json(&format!("{url}/api/v1/admin/login"), &huge);
    assert!(s == 401 || s == 413, "{s}");
    assert_eq!(audit_text(&data).len(), before);
    let unknown =
        serde_json::json!({"name": "nobody-here", "password": "whatever it is"}).to_string();
    let (s, v) = post_from("127.0.0.3", &format!("{url}/api/v1/admin/login"), &unknown);
    assert_eq!((s, v["code"].as_str()), (401, Some("bad-login")));
    let text = audit_text(&data);
    assert!(!text.contains("nobody-here") && text.contains("(unknown)"));
    // Every administrative action is in the audit log.
    let (s, log) = get("/api/v1/admin/audit-log", &observer);
    assert_eq!(s, 200);
    let lines: Vec<(String, String, String)> = log
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            (
                l["account"].as_str().unwrap_or("").into(),
                l["action"].as_str().unwrap_or("").into(),
                l["outcome"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert!(
        lines.contains(&("admin".into(), "close".into(), "ok".into())),
        "{lines:?}"
    );
    assert!(
        lines.contains(&("watcher".into(), "login".into(), "refused".into())),
        "{lines:?}"
    );
    let text = audit_text(&data);
    assert!(
        !text.contains("not the password") && !text.contains("observer password"),
        "no secrets in the audit log"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn the_openapi_document_describes_served_routes() {
    let data = scratch("srv-openapi");
    let server = start_demo(&data, 1);
    let url = server.url.clone();
    let doc = get_json(&format!("{url}/api/v1/openapi.json"));
    assert_eq!(doc["openapi"], Value::from("3.1.0"));
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 15);
    for (path, ops) in paths {
        let concrete = path
            .replace("{id}", "demo-2026")
            .replace("{index}", "1")
            .replace("{hash}", &"00".repeat(32))
            .replace("{file}", "checkpoint");
        for method in ops.as_object().expect("ops").keys() {
            let mut resp = match method.as_str() {
                "get" => agent()
                    .get(format!("{url}{concrete}?start=0&end=1&old=1&new=1"))
                    .call()
                    .expect("get"),
                "put" => agent()
                    .put(format!("{url}{concrete}"))
                    .send(&b"{}"[..])
                    .expect("put"),
                _ => agent()
                    .post(format!("{url}{concrete}"))
                    .send(&b"{}"[..])
                    .expect("post"),
            };
            let status = resp.status().as_u16();
            let body = resp.body_mut().read_to_string().unwrap_or_default();
            assert_ne!(status, 405, "{method} {path} is not served");
            assert!(
                status != 404 || body.contains("\"code\""),
                "{method} {path} is not routed"
            );
        }
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

/// The real life cycle: `admin init` from a manifest, trustees (simulated here with the crypto
/// library, as `hanpyo trustee` will) run the key ceremony through the server with their own access
/// tokens, credentials are uploaded, voting opens and closes, the trustees decrypt the tally
/// (one first sends a wrong share), the result is published and the record verifies.
#[test]
fn an_election_from_manifest_to_result_with_trustees_over_http() {
    use hanpyo_crypto::elgamal::SecretKey;
    use hanpyo_crypto::proofs::{labels, schnorr::SchnorrProof};
    use hanpyo_crypto::threshold::{Dealer, KeyShare, ThresholdParams};
    use hanpyo_crypto::transcript::NO_POSITION;
    use hanpyo_record::authority::partial_decryption_with_rng;
    use hanpyo_record::context::ceremony_context;
    use hanpyo_record::entry::Shapes;

    let dir = scratch("srv-lifecycle");
    std::fs::create_dir_all(&dir).expect("dir");
    let manifest = dir.join("m.toml");
    std::fs::write(
        &manifest,
        "election_id = \"town-1\"\nopens_at = 2026-12-01T09:00:00+09:00\ncloses_at = 2026-12-02T09:00:00+09:00\n\
         trustees = 3\nthreshold = 2\ntitle = { ko = \"마을 투표\", en = \"Town vote\" }\n\
         [[questions]]\nkind = \"referendum\"\ntitle = { ko = \"찬성?\", en = \"Approve?\" }\n",
    )
    .expect("manifest");
    let data = dir.join("data");
    let d = data.to_str().expect("p");
    let run = |args: &[&str]| {
        let o = Command::new(bin()).args(args).output().expect("run");
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    run(&[
        "admin",
        "init",
        "--data",
        d,
        "--manifest",
        manifest.to_str().expect("p"),
    ]);
    let pw = dir.join("pw");
    std::fs::write(&pw, "commission password\n").expect("pw");
    run(&[
        "admin",
        "create-user",
        "--data",
        d,
        "--name",
        "commission",
        "--password-file",
        pw.to_str().expect("p"),
    ]);
    let server = start(&["serve", "--data", d, "--listen", "127.0.0.1:0"]);
    let url = server.url.clone();
    let admin = admin_login(&url, "commission", "commission password");
    let admin_post =
        |path: &str, body: &[u8]| post(&format!("{url}/api/v1/admin/{path}"), body, Some(&admin));
    // A real server with no delivery backend writes no codes anywhere: it says so, to everyone.
    let start_login =
        serde_json::json!({"resident_id": "900101-1234567", "birth_date": "1990-01-01"});
    let (s, v) = post_json(
        &format!("{url}/api/v1/login/start"),
        &start_login.to_string(),
    );
    assert_eq!((s, v["code"].as_str()), (503, Some("no-delivery")));
    assert!(!data.join("outbox.jsonl").exists());
    let tokens: Vec<String> = (1..=3)
        .map(|i| {
            let (s, v) = admin_post(&format!("trustees/{i}/invite"), b"");
            assert_eq!(s, 200, "{v}");
            v["token"].as_str().expect("token").to_string()
        })
        .collect();
    let trustee_post = |i: usize, entry: &[u8]| {
        post(
            &format!("{url}/api/v1/trustee/entries"),
            entry,
            Some(&tokens[i - 1]),
        )
    };

    let info = get_json(&election_url(&url));
    assert_eq!(info["phase"], Value::from("ceremony"));
    let manifest_entry = hex::decode(info["manifest_entry"].as_str().expect("m")).expect("hex");
    let Entry::Manifest(m) = Entry::decode(&manifest_entry, None).expect("manifest") else {
        panic!()
    };
    let cctx = ceremony_context(&leaf_hash(&manifest_entry));
    let params = ThresholdParams::new(3, 2).expect("params");
    let mut rng = hanpyo_crypto::os_rng();
    // Registration (a trustee cannot post for another; digests wait for every registration).
    let comm: Vec<SecretKey> = (0..3).map(|_| SecretKey::generate()).collect();
    let registration = |i: usize, rng: &mut _| {
        let proof = SchnorrProof::prove_with_rng(
            labels::TRUSTEE_KEY,
            &cctx.at(i as u32, NO_POSITION),
            comm[i - 1].as_scalar(),
            comm[i - 1].public_key().element(),
            &[],
            rng,
        );
        Entry::TrusteeRegistration {
            index: i as u32,
            key: comm[i - 1].public_key(),
            proof,
        }
        .encode()
    };
    assert_eq!(
        trustee_post(2, &registration(1, &mut rng)).1["code"],
        Value::from("not-your-entry")
    );
    let dealers: Vec<Dealer> = (1..=3)
        .map(|i| Dealer::new_with_rng(params, i, &mut rng).expect("dealer"))
        .collect();
    let commitments: Vec<_> = dealers
        .iter()
        .map(|x| x.commitment_with_rng(&cctx, &mut rng))
        .collect();
    assert_eq!(trustee_post(1, &registration(1, &mut rng)).0, 200);
    let signed = |m: CeremonyMessage, rng: &mut _| {
        let sender = (m.sender() - 1) as usize;
        m.sign_with_rng(&cctx, &comm[sender], rng).encode()
    };
    let early = signed(
        CeremonyMessage::Digest {
            dealer: 1,
            digest: commitments[0].digest(&cctx),
        },
        &mut rng,
    );
    assert_eq!(
        trustee_post(1, &early).1["code"],
        Value::from("wrong-phase")
    );
    for i in 2..=3 {
        assert_eq!(trustee_post(i, &registration(i, &mut rng)).0, 200);
    }
    // Nobody posts in a trustee's name: a digest for dealer 1 signed with another key is refused.
    let forged = CeremonyMessage::Digest {
        dealer: 1,
        digest: commitments[0].digest(&cctx),
    }
    .sign_with_rng(&cctx, &comm[1], &mut rng)
    .encode();
    assert_eq!(trustee_post(1, &forged).1["code"], Value::from("bad-proof"));
    // Commit before reveal.
    for (i, c) in commitments.iter().enumerate() {
        let digest = CeremonyMessage::Digest {
            dealer: c.dealer,
            digest: c.digest(&cctx),
        };
        let (s, v) = trustee_post(i + 1, &signed(digest, &mut rng));
        assert_eq!(s, 200, "{v}");
    }
    let other = Dealer::new_with_rng(params, 3, &mut rng)
        .expect("dealer")
        .commitment_with_rng(&cctx, &mut rng);
    assert_eq!(
        trustee_post(3, &signed(CeremonyMessage::Commitment(other), &mut rng)).1["code"],
        Value::from("digest-mismatch")
    );
    for (i, c) in commitments.iter().enumerate() {
        assert_eq!(
            trustee_post(
                i + 1,
                &signed(CeremonyMessage::Commitment(c.clone()), &mut rng)
            )
            .0,
            200
        );
    }
    let mut shares = Vec::new();
    for d in &dealers {
        for j in (1..=3u32).filter(|&j| j != d.index()) {
            let s = d
                .encrypted_share_with_rng(&cctx, j, &comm[(j - 1) as usize].public_key(), &mut rng)
                .expect("share");
            assert_eq!(
                trustee_post(
                    d.index() as usize,
                    &signed(CeremonyMessage::Share(s.clone()), &mut rng)
                )
                .0,
                200
            );
            shares.push(s);
        }
    }
    let progress = get_json(&format!("{url}/api/v1/progress"));
    assert_eq!(progress["trustees"][0]["shares_sent"], Value::from(2));
    // Not before t trustees confirmed that their shares check out.
    let (s, v) = admin_post("finish-ceremony", b"");
    assert_eq!(
        (s, &v["code"]),
        (409, &Value::from("ceremony-failed")),
        "{v}"
    );
    for j in 1..=2u32 {
        let confirmation = CeremonyMessage::Confirmation {
            trustee: j,
            dealers: vec![1, 2, 3],
        };
        assert_eq!(
            trustee_post(j as usize, &signed(confirmation, &mut rng)).0,
            200
        );
    }
    let (s, v) = admin_post("finish-ceremony", b"");
    assert_eq!(s, 200, "{v}");
    // Each trustee's key share, from its own polynomial and the shares addressed to it.
    let info = get_json(&election_url(&url));
    assert_eq!(info["phase"], Value::from("credentials"));
    let outcome = {
        let keys: Vec<_> = comm.iter().map(SecretKey::public_key).collect();
        let digests: Vec<_> = commitments.iter().map(|c| Some(c.digest(&cctx))).collect();
        hanpyo_crypto::threshold::resolve_ceremony(
            &cctx,
            &hanpyo_crypto::threshold::CeremonyTranscript {
                params,
                trustee_keys: &keys,
                digests: &digests,
                commitments: &commitments,
                shares: &shares,
                complaints: &[],
            },
        )
        .expect("resolves")
    };
    assert_eq!(
        info["joint_key"],
        Value::from(hex::encode(outcome.joint_key.element().as_bytes()))
    );
    let key_shares: Vec<KeyShare> = (1..=3u32)
        .map(|j| {
            let parts: Vec<_> = (1..=3u32)
                .map(|i| {
                    if i == j {
                        dealers[(i - 1) as usize].share_for(j).expect("own")
                    } else {
                        shares
                            .iter()
                            .find(|s| s.dealer == i && s.recipient == j)
                            .expect("share")
                            .open(
                                &cctx,
                                &comm[(j - 1) as usize],
                                &commitments[(i - 1) as usize],
                            )
                            .expect("valid")
                    }
                })
                .collect();
            KeyShare::combine(j, &parts, &outcome).expect("share")
        })
        .collect();
    // Credentials, then open; voting is refused before.
    let creds: Vec<SecretCredential> = (0..5).map(|_| SecretCredential::generate()).collect();
    let mut publics: Vec<String> = creds
        .iter()
        .map(|c| hex::encode(c.signing_key(b"town-1").public().as_bytes()))
        .collect();
    publics.sort();
    assert_eq!(
        admin_post("open", b"").1["code"],
        Value::from("wrong-phase")
    );
    assert_eq!(
        admin_post("credentials", publics.join("\n").as_bytes()).0,
        200
    );
    assert_eq!(admin_post("open", b"").0, 200);
    let choices = ["0", "1", "0", "0", "1"];
    for (c, ch) in creds.iter().zip(choices) {
        let o = Command::new(bin())
            .args([
                "vote",
                "--url",
                &url,
                "--credential",
                &c.code(),
                "--choices",
                ch,
            ])
            .output()
            .expect("vote");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    }
    // No roll, so no session: an audit's encryption still never becomes a ballot.
    {
        let ectx = election_context(&leaf_hash(&manifest_entry), &outcome.joint_key);
        let key = creds[0].signing_key(b"town-1");
        let (b, openings) = encrypt_ballot_with_rng(
            &ectx,
            &outcome.joint_key,
            &m.contest_specs(),
            &key,
            &[vec![1, 0]],
            &mut rng,
        )
        .expect("ballot");
        let audit = Entry::AuditedBallot(Box::new(AuditedBallot::of(&b, openings))).encode();
        let eurl = election_url(&url);
        let (s, v) = post(&format!("{eurl}/ballots"), &audit, None);
        assert_eq!((s, &v["code"]), (422, &Value::from("audit-not-ballot")));
        assert_eq!(post(&format!("{eurl}/audits"), &audit, None).0, 200);
        let (s, v) = post(
            &format!("{eurl}/ballots"),
            &Entry::Ballot(Box::new(b)).encode(),
            None,
        );
        assert_eq!((s, &v["code"]), (409, &Value::from("audited-encryption")));
    }
    assert_eq!(admin_post("close", b"").0, 200);
    assert_eq!(admin_post("tally", b"").0, 200);
    assert_eq!(
        admin_post("publish", b"").1["code"],
        Value::from("shares-missing")
    );
    // The trustees read the tally from the board and decrypt it.
    let size = ledger_size(&url);
    let framed = agent()
        .get(format!(
            "{url}/api/v1/board/entries?start={}&end={size}",
            size - 1
        ))
        .call()
        .expect("get")
        .body_mut()
        .read_to_vec()
        .expect("body");
    let shapes = Shapes::of(&m);
    let Entry::EncryptedTally { tally, .. } =
        Entry::decode(&framed[4..], Some(&shapes)).expect("tally")
    else {
        panic!("the last entry is the tally")
    };
    let ectx = election_context(&leaf_hash(&manifest_entry), &outcome.joint_key);
    let partial = |j: usize, rng: &mut _| {
        partial_decryption_with_rng(
            &ectx,
            &key_shares[j - 1],
            outcome.verification_key(j as u32).expect("y"),
            &tally,
            rng,
        )
    };
    // Trustee 1 first sends trustee 3's share as its own: refused and named.
    let Entry::PartialDecryption { shares: wrong, .. } = partial(3, &mut rng) else {
        panic!()
    };
    let (s, v) = trustee_post(
        1,
        &Entry::PartialDecryption {
            trustee: 1,
            shares: wrong,
        }
        .encode(),
    );
    assert_eq!((s, v["code"].as_str()), (422, Some("bad-share")), "{v}");
    assert!(v["message"].as_str().expect("m").contains("trustee 1"));
    assert_eq!(trustee_post(1, &partial(1, &mut rng).encode()).0, 200);
    assert_eq!(
        admin_post("publish", b"").1["code"],
        Value::from("shares-missing")
    );
    assert_eq!(trustee_post(3, &partial(3, &mut rng).encode()).0, 200);
    let (s, v) = admin_post("publish", b"");
    assert_eq!(s, 200, "{v}");
    let report = verify_download(&url, &dir.join("record"));
    let counts: Vec<u64> = report["summary"]["result"][0]["choices"]
        .as_array()
        .expect("c")
        .iter()
        .map(|c| c[2].as_u64().expect("n"))
        .collect();
    assert_eq!(counts, vec![3, 2]);
    assert_eq!(
        report["summary"]["decrypting_trustees"],
        serde_json::json!([1, 3])
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Login codes by e-mail: a fake SMTP relay on loopback receives the message.
#[test]
fn login_codes_go_out_by_smtp_and_by_an_sms_gateway() {
    use std::io::Write;
    use std::net::TcpListener;
    let relay = TcpListener::bind("127.0.0.1:0").expect("bind");
    let relay_addr = relay.local_addr().expect("addr");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        let Ok((stream, _)) = relay.accept() else {
            return;
        };
        let mut w = stream.try_clone().expect("clone");
        let mut r = BufReader::new(stream);
        let mut transcript = String::new();
        let _ = w.write_all(b"220 fake relay\r\n");
        let mut in_data = false;
        let mut line = String::new();
        while r.read_line(&mut line).unwrap_or(0) > 0 {
            transcript.push_str(&line);
            let reply: &[u8] = if in_data {
                if line == ".\r\n" {
                    in_data = false;
                    b"250 queued\r\n"
                } else {
                    b""
                }
            } else if line.starts_with("EHLO") {
                b"250-fake\r\n250 8BITMIME\r\n"
            } else if line.starts_with("DATA") {
                in_data = true;
                b"354 go on\r\n"
            } else if line.starts_with("QUIT") {
                let _ = w.write_all(b"221 bye\r\n");
                break;
            } else {
                b"250 ok\r\n"
            };
            let _ = w.write_all(reply);
            line.clear();
        }
        let _ = tx.send(transcript);
    });
    let data = scratch("srv-smtp");
    let d = data.to_str().expect("p");
    // A demo data dir, restarted with the SMTP backend; a voter with an e-mail contact is added.
    let server = start_demo(&data, 1);
    let admin = server.token.clone().expect("session");
    let csv = "name,birth_date,resident_id,contact,district\n메일주민,1970-05-05,700505-1234567,resident@example.kr,중구\n";
    assert_eq!(
        post(
            &format!("{}/api/v1/admin/roll", server.url),
            csv.as_bytes(),
            Some(&admin)
        )
        .0,
        200
    );
    drop(server);
    let relay_s = relay_addr.to_string();
    let server = start(&[
        "serve",
        "--data",
        d,
        "--listen",
        "127.0.0.1:0",
        "--smtp-relay",
        &relay_s,
        "--smtp-from",
        "no-reply@hanpyo.example",
    ]);
    let start_body =
        serde_json::json!({"resident_id": "700505-1234567", "birth_date": "1970-05-05"})
            .to_string();
    let (s, v) = post_json(&format!("{}/api/v1/login/start", server.url), &start_body);
    assert_eq!(s, 202, "{v}");
    let transcript = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the relay got a message");
    assert!(
        transcript.contains("RCPT TO:<resident@example.kr>"),
        "{transcript}"
    );
    let code = transcript
        .split("login code: ")
        .nth(1)
        .map(|t| t[..6].to_string())
        .expect("the code is in the message");
    let verify = serde_json::json!({"resident_id": "700505-1234567", "birth_date": "1970-05-05", "code": code}).to_string();
    let (s, v) = post_json(&format!("{}/api/v1/login/verify", server.url), &verify);
    assert_eq!(s, 200, "{v}");
    // A phone contact cannot be reached by e-mail: a clear error, not a silent loss.
    let voters = codes(&data);
    let phone =
        serde_json::json!({"resident_id": voters[0].id, "birth_date": voters[0].birth}).to_string();
    let (s, v) = post_json(&format!("{}/api/v1/login/start", server.url), &phone);
    assert_eq!(
        (s, v["code"].as_str()),
        (502, Some("delivery-failed")),
        "{v}"
    );
    drop(server);
    // With an SMS gateway (a fake one here, speaking the HTTPS JSON API over plain HTTP on
    // loopback): the phone contact gets its code; a failing gateway is a clear 502.
    let gateway = TcpListener::bind("127.0.0.1:0").expect("bind");
    let gateway_url = format!("http://{}/v1/messages", gateway.local_addr().expect("addr"));
    let (gtx, grx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for (n, stream) in gateway.incoming().enumerate() {
            let Ok(stream) = stream else { return };
            let mut w = stream.try_clone().expect("clone");
            let mut r = BufReader::new(stream);
            let (mut request, mut line, mut length) = (String::new(), String::new(), 0);
            while r.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                request.push_str(&line);
                line.clear();
            }
            let mut body = vec![0u8; length];
            let _ = std::io::Read::read_exact(&mut r, &mut body);
            request.push_str(&String::from_utf8_lossy(&body));
            let _ = gtx.send(request);
            // The first message is accepted, the second refused (an outage).
            let answer: &[u8] = if n == 0 {
                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}"
            } else {
                b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            };
            let _ = w.write_all(answer);
        }
    });
    let token = data.join("sms-token");
    std::fs::write(&token, "gateway-secret-token\n").expect("token");
    let server = start(&[
        "serve",
        "--data",
        d,
        "--listen",
        "127.0.0.1:0",
        "--sms-url",
        &gateway_url,
        "--sms-token-file",
        token.to_str().expect("p"),
        "--sms-sender",
        "02-1234-5678",
    ]);
    let (s, v) = post_json(&format!("{}/api/v1/login/start", server.url), &phone);
    assert_eq!(s, 202, "{v}");
    let request = grx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the gateway got a message");
    assert!(
        request
            .to_ascii_lowercase()
            .contains("authorization: bearer gateway-secret-token"),
        "{request}"
    );
    let json: Value =
        serde_json::from_str(&request[request.find('{').expect("body")..]).expect("JSON body");
    let digits: String = voters[0]
        .contact
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert_eq!(json["to"], Value::from(digits));
    assert_eq!(json["from"], Value::from("02-1234-5678"));
    let text = json["text"].as_str().expect("text");
    let code = text
        .split("인증번호 ")
        .nth(1)
        .map(|t| t[..6].to_string())
        .expect("the code is in the message");
    let verify =
        serde_json::json!({"resident_id": voters[0].id, "birth_date": voters[0].birth, "code": code})
            .to_string();
    let (s, v) = post_json(&format!("{}/api/v1/login/verify", server.url), &verify);
    assert_eq!(s, 200, "{v}");
    let (s, v) = post_json(&format!("{}/api/v1/login/start", server.url), &phone);
    assert_eq!(
        (s, v["code"].as_str()),
        (502, Some("delivery-failed")),
        "{v}"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn the_load_generator_runs_against_a_demo_server() {
    let data = scratch("srv-loadtest");
    let server = start_demo(&data, 30);
    let o = Command::new(bin())
        .args([
            "loadtest",
            "--url",
            &server.url,
            "--voters",
            "30",
            "--concurrency",
            "8",
        ])
        .output()
        .expect("loadtest");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("30 ballots accepted") && out.contains("p99"),
        "{out}"
    );
    assert!(
        out.contains("30 logins in") && out.contains("logins/s"),
        "every voter's login is timed and reported apart: {out}"
    );
    assert_eq!(
        get_json(&election_url(&server.url))["counted"],
        Value::from(30)
    );
    let o = Command::new(bin())
        .args([
            "loadtest",
            "--url",
            &server.url,
            "--voters",
            "31",
            "--concurrency",
            "8",
        ])
        .output()
        .expect("loadtest");
    assert_eq!(
        o.status.code(),
        Some(2),
        "more voters than the demo has is a usage error"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn the_load_generator_spreads_its_voters_over_several_elections() {
    let data = scratch("srv-loadtest-two");
    let d = data.to_str().expect("p");
    let server = start(&[
        "demo",
        "--listen",
        "127.0.0.1:0",
        "--data",
        d,
        "--voters",
        "10",
    ]);
    let root = server.url.split("/e/").next().expect("root").to_string();
    let o = Command::new(bin())
        .args([
            "loadtest",
            "--url",
            &root,
            "--voters",
            "15",
            "--concurrency",
            "4",
        ])
        .args(["--election", "demo-2026", "--election", "apt-2026"])
        .output()
        .expect("loadtest");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("15 ballots accepted") && out.contains("over 2 election(s)"),
        "{out}"
    );
    // Eight to the first election named, seven to the second.
    for (id, n) in [("demo-2026", 8), ("apt-2026", 7)] {
        let e = get_json(&format!("{root}/api/v1/elections/{id}"));
        assert_eq!(e["counted"], Value::from(n), "{id}");
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

fn get_raw(url: &str) -> (u16, std::collections::HashMap<String, String>, Vec<u8>) {
    let mut resp = agent().get(url).call().expect("get");
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_vec().unwrap_or_default();
    (status, headers, body)
}

#[test]
fn the_web_pages_search_turnout_manifest_check_demo_inbox_and_result() {
    let data = scratch("srv-web");
    let server = start_demo(&data, 12);
    let url = server.url.clone();
    let token = server.token.clone().expect("admin");

    // The pages and the bundle, with their types and the CSP that lets WebAssembly compile and
    // nothing inline run.
    for (path, kind) in [
        ("/", "text/html"),
        ("/vote.html", "text/html"),
        ("/admin.html", "text/html"),
        ("/js/vote.js", "text/javascript"),
        ("/i18n/en.json", "application/json"),
        ("/pkg/hanpyo_wasm_bg.wasm", "application/wasm"),
    ] {
        let (status, h, body) = get_raw(&format!("{url}{path}"));
        assert_eq!(status, 200, "{path}");
        assert!(
            h["content-type"].starts_with(kind),
            "{path}: {}",
            h["content-type"]
        );
        assert!(!body.is_empty());
        let csp = &h["content-security-policy"];
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
    }
    let (status, _, _) = get_raw(&format!("{url}/no-such-page.html"));
    assert_eq!(status, 404);
    let (_, h, _) = get_raw(&format!("{url}/api/v1/board/checkpoint"));
    assert_eq!(
        h["access-control-allow-origin"], "*",
        "public reads from any origin"
    );

    // The demo's voters and inbox.
    let demo = get_json(&format!("{url}/api/v1/demo"));
    let voters = demo["voters"].as_array().expect("voters");
    assert_eq!(voters.len(), 5);
    let v0 = Voter {
        id: voters[0]["resident_id"].as_str().expect("id").to_string(),
        birth: voters[0]["birth_date"].as_str().expect("birth").to_string(),
        code: voters[0]["credential"].as_str().expect("code").to_string(),
        contact: voters[0]["contact"].as_str().expect("contact").to_string(),
    };
    let contact = v0.contact.as_str();
    let (status, _, _) = get_raw(&format!("{url}/api/v1/demo/mailbox?to={contact}"));
    assert_eq!(status, 404, "no code sent yet");
    let o = vote(&url, &data, &v0, "0;1;2", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mail = get_json(&format!("{url}/api/v1/demo/mailbox?to={contact}"));
    assert_eq!(mail["code"].as_str().map(str::len), Some(6));

    // Search by the short tracking code as a person types it, and by the full code.
    let stdout = String::from_utf8_lossy(&o.stdout).to_string();
    let short = stdout
        .split("tracking code ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("the vote printed its tracking code")
        .to_string();
    let typed = short.to_lowercase().replace('-', "");
    let found = get_json(&format!("{url}/api/v1/board/search?code={typed}"));
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(found[0]["kind"], "ballot");
    assert_eq!(found[0]["tracking_code_short"], short.as_str());
    let full = found[0]["tracking_code"].as_str().expect("hex");
    assert_eq!(
        get_json(&format!("{url}/api/v1/board/search?code={full}"))[0]["index"],
        found[0]["index"]
    );
    let none = get_json(&format!(
        "{url}/api/v1/board/search?code=00000-00000-00000-00000"
    ));
    assert_eq!(none, Value::Array(vec![]));
    let (status, _, body) = get_raw(&format!("{url}/api/v1/board/search?code=not-a-code"));
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("malformed"));

    // Turnout: observers and administrators only; aggregates per district.
    let (status, _) = get_authorized(&format!("{url}/api/v1/admin/turnout"), "wrong");
    assert_eq!(status, 401);
    let (status, t) = get_authorized(&format!("{url}/api/v1/admin/turnout"), &token);
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["counted"], 1);
    let districts = t["districts"].as_array().expect("districts");
    assert_eq!(
        districts
            .iter()
            .map(|d| d["roll"].as_u64().unwrap_or(0))
            .sum::<u64>(),
        12
    );
    assert_eq!(
        districts
            .iter()
            .map(|d| d["voted"].as_u64().unwrap_or(0))
            .sum::<u64>(),
        1
    );
    assert!(t["series"].as_array().is_some_and(|s| !s.is_empty()));
    assert!(
        !t.to_string().contains(&v0.id),
        "no personal data in turnout"
    );

    // The manifest check: a good one, a bad one, and not without a session.
    let good = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/manifests/one-of-five.toml"),
    )
    .expect("manifest");
    let check = format!("{url}/api/v1/admin/manifest-check");
    let (status, v) = post(&check, good.as_bytes(), Some(&token));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["election_id"], "bench-one-of-five");
    assert_eq!(v["choices"], serde_json::json!([5]));
    let bad = good.replace("threshold = 2", "threshold = 4");
    let (status, v) = post(&check, bad.as_bytes(), Some(&token));
    assert_eq!(
        (status, v["code"].as_str()),
        (422, Some("bad-manifest")),
        "{v}"
    );
    let (status, _) = post(&check, good.as_bytes(), None);
    assert_eq!(status, 401);

    // After close and tally (the demo's trustees decrypt), the result is in the election's JSON.
    assert!(get_json(&election_url(&url))["result"].is_null());
    for action in ["close", "tally"] {
        let (s, v) = post(&format!("{url}/api/v1/admin/{action}"), b"", Some(&token));
        assert_eq!(s, 200, "{action}: {v}");
    }
    let e = get_json(&election_url(&url));
    assert_eq!(e["phase"], "published");
    assert_eq!(
        e["result"],
        serde_json::json!([[1, 0], [0, 1, 0, 0], [0, 0, 1, 0, 0]])
    );
    // One voter of the demo's roll: the referendum's rule (a quarter of the eligible voters)
    // is not met, whatever the majority; the other questions have no rule.
    let eligible = e["eligible"].as_u64().expect("eligible");
    assert!(eligible > 4, "{e}");
    assert_eq!(
        e["turnout"],
        serde_json::json!({"eligible": eligible, "voted": 1})
    );
    assert_eq!(
        e["questions"][0]["decision"],
        serde_json::json!({"num": 1, "den": 4})
    );
    assert_eq!(
        e["outcomes"],
        serde_json::json!([
            {"outcome": "turnout-too-low"},
            {"outcome": "no-rule"},
            {"outcome": "no-rule"}
        ])
    );
    assert!(
        e["decrypting_trustees"]
            .as_array()
            .is_some_and(|t| t.len() >= 2)
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn an_election_is_created_from_the_console_on_a_data_directory_without_one() {
    let data = scratch("srv-setup");
    let d = data.to_str().expect("p");
    // `serve` refuses a directory that is not a data directory.
    let o = Command::new(bin())
        .args(["serve", "--data", d, "--listen", "127.0.0.1:0"])
        .output()
        .expect("serve");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a Hanpyo data directory"));
    let pw = std::env::temp_dir().join(format!("hanpyo-setup-pw-{}", std::process::id()));
    std::fs::write(&pw, "a long enough password\n").expect("pw");
    let o = Command::new(bin())
        .args(["admin", "create-user", "--data", d, "--name", "chair"])
        .args(["--password-file", pw.to_str().expect("p")])
        .output()
        .expect("create-user");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let server = start(&["serve", "--data", d, "--listen", "127.0.0.1:0"]);
    let url = server.url.clone();
    assert_eq!(
        get_json(&format!("{url}/api/v1/elections")),
        serde_json::json!([])
    );
    let (status, _, body) = get_raw(&format!("{url}/api/v1/board/checkpoint"));
    assert_eq!(status, 503);
    assert!(String::from_utf8_lossy(&body).contains("no-election"));
    let (status, _, _) = get_raw(&format!("{url}/admin.html"));
    assert_eq!(
        status, 200,
        "the console is served before any election exists"
    );
    let token = admin_login(&url, "chair", "a long enough password");
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/manifests/referendum.toml"),
    )
    .expect("manifest");
    let create = format!("{url}/api/v1/admin/elections");
    assert_eq!(post(&create, manifest.as_bytes(), None).0, 401);
    let (status, v) = post(&create, b"election_id = 3", Some(&token));
    assert_eq!(
        (status, v["code"].as_str()),
        (422, Some("bad-manifest")),
        "{v}"
    );
    let (status, v) = post(&create, manifest.as_bytes(), Some(&token));
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["election_id"], "bench-referendum");
    // The same process now serves the election, on the same address, with the same session.
    let mut list = Value::Null;
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        if let Ok(mut r) = agent().get(format!("{url}/api/v1/elections")).call()
            && let Ok(v) = r.body_mut().read_json::<Value>()
            && v.as_array().is_some_and(|a| !a.is_empty())
        {
            list = v;
            break;
        }
    }
    assert_eq!(list[0]["election_id"], "bench-referendum");
    assert_eq!(list[0]["phase"], "ceremony");
    let (status, v) = post(&create, manifest.as_bytes(), Some(&token));
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("election-exists")),
        "{v}"
    );
    let (status, v) = post(
        &format!("{url}/api/v1/admin/trustees/1/invite"),
        b"",
        Some(&token),
    );
    assert_eq!(status, 200, "{v}");
    let entry0 = agent()
        .get(format!("{url}/api/v1/board/entries?start=0&end=1"))
        .call()
        .expect("entries")
        .body_mut()
        .read_to_vec()
        .expect("bytes");
    assert!(
        entry0.len() > 100,
        "the manifest is the ledger's first entry"
    );
    let log = audit_text(&data);
    assert!(log.contains("create-election"));
    drop(server);
    let _ = std::fs::remove_file(&pw);
    let _ = std::fs::remove_dir_all(&data);
}

/// Audits are posted without a session and carry no credential; an audited encryption is never
/// accepted as a ballot; a receipt's standing (counted, superseded, audit) is reported from signed
/// log data by `hanpyo vote` and `hanpyo receipt verify`, online and offline.
#[test]
fn audits_never_count_and_a_replaced_ballot_shows_as_superseded() {
    let data = scratch("srv-standing");
    let server = start_demo(&data, 20);
    let url = server.url.clone();
    let eurl = election_url(&url);
    let voters = codes(&data);
    let info = get_json(&eurl);
    let manifest_entry = hex::decode(info["manifest_entry"].as_str().expect("m")).expect("hex");
    let Entry::Manifest(m) = Entry::decode(&manifest_entry, None).expect("manifest") else {
        panic!("manifest")
    };
    let pk = PublicKey::decode(&hex::decode(info["joint_key"].as_str().expect("k")).expect("hex"))
        .expect("key");
    let ctx = election_context(&leaf_hash(&manifest_entry), &pk);
    let key = SecretCredential::parse(&voters[0].code)
        .expect("code")
        .signing_key(m.election_id.as_bytes());
    let mut rng = hanpyo_crypto::os_rng();
    let sel: Vec<Vec<u8>> = m
        .contest_specs()
        .iter()
        .map(|s| (0..s.choices).map(|j| u8::from(j == 0)).collect())
        .collect();
    let (b, openings) =
        encrypt_ballot_with_rng(&ctx, &pk, &m.contest_specs(), &key, &sel, &mut rng).expect("b");
    let audit = Entry::AuditedBallot(Box::new(AuditedBallot::of(&b, openings))).encode();
    assert!(
        !audit.windows(32).any(|w| w == key.public().as_bytes()),
        "an audit does not carry the credential"
    );
    // The audit goes without any session; the voter's logged-in session re-casting it is refused.
    let (s, v) = post(&format!("{eurl}/audits"), &audit, None);
    assert_eq!(s, 200, "{v}");
    let token = session(&url, &data, &voters[0]);
    let (s, v) = post(&format!("{eurl}/ballots"), &audit, Some(&token));
    assert_eq!((s, &v["code"]), (422, &Value::from("audit-not-ballot")));
    let ballot = Entry::Ballot(Box::new(b)).encode();
    let (s, v) = post(&format!("{eurl}/ballots"), &ballot, Some(&token));
    assert_eq!(
        (s, &v["code"]),
        (409, &Value::from("audited-encryption")),
        "{v}"
    );
    // A ballot is not an audit either.
    let (s, _) = post(&format!("{eurl}/audits"), &ballot, None);
    assert_eq!(s, 400);
    // The audit's receipt stands as an audit.
    let audit_receipt = data.join("audit-receipt.json");
    let (s, v) = post(&format!("{eurl}/audits"), &audit, None);
    assert_eq!((s, &v["code"]), (409, &Value::from("replay")));
    let status = get_json(&format!(
        "{url}/api/v1/board/status/{}",
        hex::encode(leaf_hash(&audit))
    ));
    std::fs::write(&audit_receipt, status["receipt"].to_string()).expect("write");

    // Voters logging in at the same time each read their own code from the demo's outbox.
    let concurrent: Vec<_> = voters[2..8]
        .iter()
        .map(|v| {
            let (url, data, v) = (url.clone(), data.clone(), v.clone());
            std::thread::spawn(move || vote(&url, &data, &v, "1;2;3", &[]))
        })
        .collect();
    for o in concurrent {
        let o = o.join().expect("voter");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    }
    // Voter 1 votes; its standing is "counted". Then someone votes again with its credential.
    let first = data.join("first.json");
    let o = vote(
        &url,
        &data,
        &voters[1],
        "0;0;0",
        &["--receipt-out", first.to_str().expect("p")],
    );
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "{out}");
    assert!(out.contains("STANDING: counted"), "{out}");
    let receipt_verify = |receipt: &Path, how: &[&str]| {
        let mut args = vec!["receipt", "verify", receipt.to_str().expect("p")];
        args.extend_from_slice(how);
        let o = Command::new(bin()).args(&args).output().expect("run");
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).to_string(),
        )
    };
    let (code, out) = receipt_verify(&first, &["--url", &url]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("STANDING: counted"), "{out}");
    let o = vote(&url, &data, &voters[1], "1;1;1", &[]);
    let second = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "{second}");
    let short = second
        .split("tracking code ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .expect("the revote's tracking code")
        .to_string();
    let (code, out) = receipt_verify(&first, &["--url", &url]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("STANDING: superseded"), "{out}");
    assert!(
        out.contains(&short),
        "names the ballot that replaced it: {out}"
    );
    let (code, out) = receipt_verify(&audit_receipt, &["--url", &url]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("STANDING: audit"), "{out}");
    // The record at a given checkpoint size, while ballots keep arriving: exactly that many entries.
    let size = ledger_size(&url);
    let o = vote(&url, &data, &voters[9], "0;0;0", &[]);
    assert!(o.status.success());
    assert!(ledger_size(&url) > size);
    let (status, _, framed) = get_raw(&format!("{url}/api/v1/record/entries?size={size}"));
    assert_eq!(status, 200);
    let (mut n, mut rest) = (0, &framed[..]);
    while rest.len() >= 4 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        rest = &rest[4 + len..];
        n += 1;
    }
    assert_eq!((n, rest.len()), (size, 0));
    let (status, _, _) = get_raw(&format!("{url}/api/v1/record/entries?size={}", size + 1000));
    assert_eq!(status, 404);
    // Offline, from the whole record: the same answers.
    let record = data.join("downloaded");
    let o = Command::new(bin())
        .args([
            "download",
            "--url",
            &url,
            "--out",
            record.to_str().expect("p"),
        ])
        .output()
        .expect("download");
    assert!(o.status.success());
    let (code, out) = receipt_verify(&first, &["--record", record.to_str().expect("p")]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("STANDING: superseded") && out.contains(&short),
        "{out}"
    );
    let (code, out) = receipt_verify(&audit_receipt, &["--record", record.to_str().expect("p")]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("STANDING: audit"), "{out}");
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

/// What a hostile outsider tries against the connection and the API's edges: every error is the
/// documented `{code, message}` JSON, and a client that sends headers slowly, or nothing at all,
/// is disconnected after the header deadline instead of holding a connection forever.
#[test]
fn hostile_clients_get_json_errors_and_slow_ones_are_cut_off() {
    use std::io::{Read, Write};
    let data = scratch("srv-hostile");
    let server = start_demo(&data, 3);
    let url = server.url.clone();
    let eurl = election_url(&url);
    // Too large, unparsable query, unknown method: JSON with a stable code.
    let (s, v) = post(&format!("{eurl}/ballots"), &vec![1u8; 300 * 1024], None);
    assert_eq!((s, v["code"].as_str()), (413, Some("too-large")), "{v}");
    let (s, _, body) = get_raw(&format!("{url}/api/v1/board/entries?start=x&end=1"));
    let v: Value = serde_json::from_slice(&body).expect("JSON error");
    assert_eq!((s, v["code"].as_str()), (400, Some("malformed")), "{v}");
    let mut resp = agent()
        .delete(format!("{url}/api/v1/elections"))
        .call()
        .expect("delete");
    let v: Value = resp.body_mut().read_json().expect("JSON error");
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(v["code"].as_str(), Some("method-not-allowed"));
    // Slowloris and idle connections: closed after the header deadline (10 s), not held open.
    let host = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .expect("host")
        .to_string();
    let mut slow = std::net::TcpStream::connect(&host).expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
        .expect("write");
    let mut idle = std::net::TcpStream::connect(&host).expect("connect");
    for s in [&mut slow, &mut idle] {
        s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .expect("timeout");
    }
    let started = std::time::Instant::now();
    for s in [&mut slow, &mut idle] {
        let mut buf = Vec::new();
        // The server closes the connection (EOF, possibly after a 408 answer).
        let _ = s.read_to_end(&mut buf);
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(25),
        "slow connections are cut off"
    );
    // The server still answers everyone else.
    assert_eq!(
        get_json(&format!("{url}/api/v1/elections"))
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

/// A witness process the demo started: `witness: NAME URL key HEX pid PID dir DIR`.
struct DemoWitness {
    name: String,
    url: String,
    key: String,
    pid: String,
    dir: PathBuf,
}

fn demo_witnesses(banner: &[String]) -> Vec<DemoWitness> {
    banner
        .iter()
        .filter_map(|l| l.strip_prefix("witness: "))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 8, "{l}");
            DemoWitness {
                name: f[0].into(),
                url: f[1].into(),
                key: f[3].into(),
                pid: f[5].into(),
                dir: PathBuf::from(f[7]),
            }
        })
        .collect()
}

#[test]
fn remote_witnesses_confirm_every_receipt_and_their_quorum_gates_ballots() {
    let data = scratch("srv-witnesses");
    let d = data.to_str().expect("p");
    let manifest = demo_manifest();
    let server = start(&[
        "demo",
        "--manifest",
        &manifest,
        "--listen",
        "127.0.0.1:0",
        "--data",
        d,
        "--voters",
        "6",
        "--witnesses",
        "3",
        "--witness-quorum",
        "2",
    ]);
    let url = server.url.clone();
    let witnesses = demo_witnesses(&server.banner);
    assert_eq!(witnesses.len(), 3);
    let voters = codes(&data);
    let cast = |i: usize| vote(&url, &data, &voters[i], "0;1;2,3", &[]);
    let kill = |w: &DemoWitness| {
        let ok = Command::new("kill").arg(&w.pid).status().expect("kill");
        assert!(ok.success());
        std::thread::sleep(std::time::Duration::from_millis(300));
    };

    // All three, then one killed: each receipt carries at least the quorum's cosignatures.
    let o = cast(0);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    kill(&witnesses[0]);
    let o = cast(1);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "{out}");
    assert!(out.contains("2 witness cosignature(s)"), "{out}");

    // Two killed: no receipt, then nothing recorded at all.
    kill(&witnesses[1]);
    let o = cast(2);
    let out = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && out.contains("witness-quorum"),
        "{out}"
    );
    let size = ledger_size(&url);
    let o = cast(3);
    let out = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && out.contains("nothing was recorded"),
        "{out}"
    );
    assert_eq!(ledger_size(&url), size, "a refused ballot left no trace");

    // The second witness comes back at its address: the server resumes by itself.
    let back = Command::new(bin())
        .args(["witness", "serve", "--exit-with-parent", "--listen"])
        .arg(witnesses[1].url.trim_start_matches("http://"))
        .arg("--dir")
        .arg(&witnesses[1].dir)
        .arg("--passphrase-file")
        .arg(witnesses[1].dir.join("passphrase"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("witness");
    // Stopped however the test ends.
    let _back = Server {
        child: back,
        url: witnesses[1].url.clone(),
        token: None,
        banner: Vec::new(),
    };
    let mut resumed = None;
    for _ in 0..20 {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let o = cast(3);
        if o.status.success() {
            resumed = Some(o);
            break;
        }
    }
    assert!(
        resumed.is_some(),
        "casting resumed once a second witness was back"
    );

    // The record verifies, with its cosignatures counted against a trust policy published
    // apart from it; a policy naming other witnesses rejects the record.
    let token = server.token.clone().expect("admin session");
    for step in ["close", "tally"] {
        let (s, v) = post(&format!("{url}/api/v1/admin/{step}"), b"", Some(&token));
        assert_eq!(s, 200, "{step}: {v}");
    }
    let dir = data.join("downloaded");
    let report = verify_download(&url, &dir);
    let summary = &report["summary"];
    assert!(
        summary["cosignatures"].as_u64().expect("n") >= 2,
        "{summary}"
    );
    assert_eq!(summary["trust_policy"], false);
    let policy = |keys: &[String]| {
        let mut p = format!(
            "origin = {:?}\nlog_key = {:?}\nwitness_quorum = 2\n",
            summary["checkpoint"][0].as_str().expect("origin"),
            summary["log_key"].as_str().expect("log key")
        );
        for (w, k) in witnesses.iter().zip(keys) {
            p += &format!("[[witnesses]]\nname = {:?}\nkey = {:?}\n", w.name, k);
        }
        p
    };
    let keys: Vec<String> = witnesses.iter().map(|w| w.key.clone()).collect();
    assert!(keys.iter().all(|k| k.len() == 64), "{keys:?}");
    // The key files hold no seed in the clear.
    for w in &witnesses {
        let sealed = std::fs::read_to_string(w.dir.join("witness.key")).expect("key file");
        assert!(sealed.contains("hanpyo-witness-v1") && sealed.contains("argon2id"));
    }
    let verify_with = |policy: &str| {
        let path = data.join("policy.toml");
        std::fs::write(&path, policy).expect("policy");
        Command::new(bin())
            .args(["verify", "--trust"])
            .arg(&path)
            .arg(&dir)
            .output()
            .expect("verify")
    };
    let o = verify_with(&policy(&keys));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("from the trust policy") && !out.contains("TRUST WARNING"),
        "{out}"
    );
    let mut other = keys.clone();
    other[2] = keys[0].clone();
    other[0] = keys[2].clone();
    let o = verify_with(&policy(&other));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("other witnesses than the trust policy"),
        "{out}"
    );
    let o = Command::new(bin())
        .args(["verify"])
        .arg(&dir)
        .output()
        .expect("verify");
    assert!(String::from_utf8_lossy(&o.stdout).contains("TRUST WARNING"));

    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

/// `hanpyo mirror ARGS` run once: its exit code and what it printed.
fn mirror_once(url: &str, dir: &Path) -> (Option<i32>, String) {
    let o = Command::new(bin())
        .args(["mirror", "--once", "--url", url, "--dir"])
        .arg(dir)
        .output()
        .expect("mirror");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr),
    )
}

fn download_to(url: &str, dir: &Path) {
    let o = Command::new(bin())
        .args(["download", "--url", url, "--out"])
        .arg(dir)
        .output()
        .expect("download");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_mirror_follows_the_log_catches_forks_and_serves_the_same_record() {
    let data = scratch("srv-mirror");
    let d = data.to_str().expect("p");
    let server = start_demo(&data, 40);
    let url = server.url.clone();
    let voters = codes(&data);
    let cast = |url: &str, i: usize| {
        let o = vote(url, &data, &voters[i], "0;1;2,3", &[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    };
    for i in 0..10 {
        cast(&url, i);
    }
    // Started mid-election: it catches up, checks every checkpoint and verifies what it holds.
    let mdir = data.join("mirror");
    let (code, out) = mirror_once(&url, &mdir);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("mirror: 31 entries"), "{out}");

    // The operator forks the log: a copy of the data directory, signing with the same key,
    // records other ballots than the original.
    drop(server);
    let fork = data.with_file_name(format!(
        "{}-fork",
        data.file_name().and_then(|n| n.to_str()).expect("name")
    ));
    copy_deployment(&data, &fork);
    let server = start(&["serve", "--data", d, "--listen", "127.0.0.1:0"]);
    let forked = start(&[
        "serve",
        "--data",
        fork.to_str().expect("p"),
        "--listen",
        "127.0.0.1:0",
    ]);
    cast(&server.url, 10);
    let o = vote(&forked.url, &fork, &voters[11], "1;0;", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let (code, out) = mirror_once(&server.url, &mdir);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = mirror_once(&forked.url, &mdir.with_extension("probe"));
    assert_eq!(
        code,
        Some(0),
        "a fresh mirror of the fork alone sees nothing wrong: {out}"
    );
    let (code, out) = mirror_once(&forked.url, &mdir);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("ALERT") && out.contains("fork"), "{out}");
    drop(forked);

    // The original goes on; the mirror follows it live and serves what it holds.
    let mut mirror = Command::new(bin());
    mirror
        .args([
            "mirror",
            "--interval",
            "1",
            "--listen",
            "127.0.0.1:0",
            "--url",
        ])
        .arg(&server.url)
        .arg("--dir")
        .arg(&mdir);
    let (follower, mirror_url) = spawn_until(mirror, "mirror: serving ");
    // Stopped however the test ends.
    let _follower = Server {
        child: follower,
        url: mirror_url.clone(),
        token: None,
        banner: Vec::new(),
    };
    // Voter 12 keeps a receipt, then votes again: the mirror must show that ballot as replaced.
    let first = data.join("first-receipt.json");
    let o = vote(
        &server.url,
        &data,
        &voters[12],
        "0;0;0",
        &["--receipt-out", first.to_str().expect("p")],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    for i in 12..20 {
        cast(&server.url, i);
    }
    let o = Command::new(bin())
        .args([
            "admin",
            "create-user",
            "--data",
            d,
            "--name",
            "clerk",
            "--password-file",
        ])
        .arg({
            let p = data.join("pw");
            std::fs::write(&p, "a long enough password\n").expect("pw");
            p
        })
        .output()
        .expect("create-user");
    assert!(o.status.success() || String::from_utf8_lossy(&o.stderr).contains("exists"));
    let token = admin_login(&server.url, "clerk", "a long enough password");
    for step in ["close", "tally"] {
        let (s, v) = post(
            &format!("{}/api/v1/admin/{step}", server.url),
            b"",
            Some(&token),
        );
        assert_eq!(s, 200, "{step}: {v}");
    }
    let latest = || {
        agent()
            .get(format!("{}/checkpoint", server.url))
            .call()
            .expect("checkpoint")
            .body_mut()
            .read_to_string()
            .expect("text")
    };
    // The server's latest checkpoint is compared at each look: a witness that answered late (a
    // loaded machine) adds its cosignature to the same checkpoint afterwards.
    let mut caught_up = false;
    for _ in 0..80 {
        std::thread::sleep(std::time::Duration::from_millis(250));
        let (s, _, body) = get_raw(&format!("{mirror_url}/checkpoint"));
        if s == 200 && body == latest().as_bytes() {
            caught_up = true;
            break;
        }
    }
    assert!(caught_up, "the mirror caught up with the final checkpoint");
    // The record from the mirror verifies and is the server's, byte for byte (downloaded again if
    // a late cosignature changed the checkpoint between the two downloads).
    let (from_mirror, from_server) = (data.join("dl-mirror"), data.join("dl-server"));
    let files = ["entries", "checkpoint", "checkpoints"];
    let read = |dir: &Path| files.map(|f| std::fs::read(dir.join(f)).expect("record file"));
    let mut same = false;
    for _ in 0..20 {
        download_to(&mirror_url, &from_mirror);
        download_to(&server.url, &from_server);
        if read(&from_mirror) == read(&from_server) {
            same = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    if !same {
        for (f, (m, s)) in files
            .iter()
            .zip(read(&from_mirror).iter().zip(&read(&from_server)))
        {
            assert_eq!(m, s, "{f}");
        }
    }
    let report = verify_download(&mirror_url, &data.join("dl-verified"));
    assert_eq!(report["valid"], true);
    // Its tiles (at the checkpoint's size, as a tlog-tiles client asks) are the server's too.
    let size = report["summary"]["checkpoint"][1].as_u64().expect("size");
    assert!(size < 256);
    for path in [
        format!("tile/entries/000.p/{size}"),
        format!("tile/0/000.p/{size}"),
    ] {
        let (s, h, tile) = get_raw(&format!("{mirror_url}/{path}"));
        assert_eq!(s, 200, "{path}");
        assert!(
            h.get("cache-control")
                .is_some_and(|c| c.contains("immutable"))
        );
        assert_eq!(tile, get_raw(&format!("{}/{path}", server.url)).2, "{path}");
    }
    // The public board from the mirror's copy answers as the server's, for every ballot.
    let json = |url: String| -> (u16, Value) {
        let (s, _, body) = get_raw(&url);
        (s, serde_json::from_slice(&body).unwrap_or(Value::Null))
    };
    let same = |path: &str| {
        let (a, b) = (
            json(format!("{mirror_url}{path}")),
            json(format!("{}{path}", server.url)),
        );
        assert_eq!(a, b, "{path}");
        a
    };
    let mut reader =
        hanpyo_ledger::export::ExportReader::open(&from_server).expect("the server's record");
    let mut ballots = 0;
    while let Some(f) = reader.next_frame().expect("frame") {
        if hanpyo_record::entry::Kind::of(&f.bytes).ok() == Some(hanpyo_record::entry::Kind::Ballot)
        {
            let code = hex::encode(leaf_hash(&f.bytes));
            let (s, status) = same(&format!("/api/v1/board/status/{code}"));
            assert_eq!(s, 200, "{status}");
            let short = hanpyo_record::entry::TrackingCode(leaf_hash(&f.bytes)).short();
            let (s, found) = same(&format!("/api/v1/board/search?code={short}"));
            assert_eq!((s, found[0]["index"].as_u64()), (200, Some(f.index)));
            ballots += 1;
        }
    }
    assert_eq!(ballots, 20);
    same(&format!("/api/v1/board/consistency?old=7&new={size}"));
    same(&format!("/api/v1/board/receipts/{}", "ab".repeat(32)));
    same("/api/v1/board/status/not-a-code");
    let (_, list) = same("/api/v1/elections");
    let id = list[0]["election_id"].as_str().expect("id").to_string();
    let (_, election) = same(&format!("/api/v1/elections/{id}"));
    assert_eq!(election["phase"], "published", "{election}");
    // A voter checks a receipt against the mirror alone: the ballot was replaced, and by which.
    let o = Command::new(bin())
        .args([
            "receipt",
            "verify",
            first.to_str().expect("p"),
            "--url",
            &mirror_url,
        ])
        .output()
        .expect("receipt verify");
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "{out}");
    assert!(out.contains("STANDING: superseded"), "{out}");
    // The check page is served by the mirror too, and its metrics say how far it is.
    let (s, _, page) = get_raw(&format!("{mirror_url}/check.html"));
    assert!(s == 200 && String::from_utf8_lossy(&page).contains("check.js"));
    let (s, _, metrics) = get_raw(&format!("{mirror_url}/metrics"));
    let metrics = String::from_utf8_lossy(&metrics).to_string();
    assert_eq!(s, 200);
    assert!(
        metrics.contains(&format!("hanpyo_mirror_entries {size}")),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("hanpyo_mirror_verified_entries {size}")),
        "{metrics}"
    );
    assert!(
        metrics.contains("hanpyo_mirror_alerts_total 0"),
        "{metrics}"
    );

    drop(server);
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_dir_all(&fork);
}

/// A ballot of the demo's resident vote (`demo-2026`) for the credential `code`, made here.
fn resident_vote_ballot(election: &str, code: &str) -> Vec<u8> {
    let info = get_json(election);
    let manifest_entry = hex::decode(info["manifest_entry"].as_str().expect("m")).expect("hex");
    let Entry::Manifest(m) = Entry::decode(&manifest_entry, None).expect("manifest") else {
        panic!("not a manifest")
    };
    let pk = PublicKey::decode(&hex::decode(info["joint_key"].as_str().expect("k")).expect("hex"))
        .expect("key");
    let ctx = election_context(&leaf_hash(&manifest_entry), &pk);
    let key = SecretCredential::parse(code)
        .expect("code")
        .signing_key(m.election_id.as_bytes());
    let sel: Vec<Vec<u8>> = vec![vec![1, 0], vec![0, 1, 0, 0], vec![0; 5]];
    let (b, _) = encrypt_ballot_with_rng(
        &ctx,
        &pk,
        &m.contest_specs(),
        &key,
        &sel,
        &mut hanpyo_crypto::os_rng(),
    )
    .expect("ballot");
    Entry::Ballot(Box::new(b)).encode()
}

fn get_status(url: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = agent().get(url);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let mut resp = req.call().expect("get");
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_json().unwrap_or(Value::Null))
}

#[test]
fn two_elections_on_one_server_refuse_each_others_sessions_tokens_ballots_and_administrators() {
    let data = scratch("srv-two");
    let d = data.to_str().expect("p");
    // The demo's two elections: a resident vote and an apartment complex's vote.
    let server = start(&[
        "demo",
        "--listen",
        "127.0.0.1:0",
        "--data",
        d,
        "--voters",
        "3",
    ]);
    let demo = server.url.clone();
    assert!(demo.ends_with("/e/demo-2026"), "{demo}");
    let root = demo.trim_end_matches("/e/demo-2026").to_string();
    let apt = format!("{root}/e/apt-2026");
    let chair = server.token.clone().expect("platform administrator");
    let listed: Vec<String> = get_json(&format!("{root}/api/v1/elections"))
        .as_array()
        .expect("list")
        .iter()
        .map(|e| e["election_id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(listed, ["apt-2026", "demo-2026"]);
    // Paths of no election need one named; an unknown one is named as such.
    let (s, v) = get_status(&format!("{root}/api/v1/board/checkpoint"), None);
    assert_eq!((s, v["code"].as_str()), (404, Some("election-required")));
    let (s, v) = get_status(&format!("{root}/e/nope/api/v1/board/checkpoint"), None);
    assert_eq!((s, v["code"].as_str()), (404, Some("unknown-election")));
    // Each election has its own log.
    let origin = |base: &str| {
        agent()
            .get(format!("{base}/checkpoint"))
            .call()
            .expect("checkpoint")
            .body_mut()
            .read_to_string()
            .expect("text")
            .lines()
            .next()
            .expect("origin")
            .to_string()
    };
    assert_eq!(origin(&demo), "hanpyo.local/demo-2026");
    assert_eq!(origin(&apt), "hanpyo.local/apt-2026");

    // A voter's session of one election is refused by the other, by name.
    let residents = voters_in(&data.join("elections/demo-2026"));
    let tenants = voters_in(&data.join("elections/apt-2026"));
    let resident = session(&demo, &data, &residents[0]);
    let tenant = session(&apt, &data, &tenants[0]);
    let ballot = resident_vote_ballot(&election_url(&demo), &residents[0].code);
    let wrong = |(s, v): (u16, Value)| {
        assert_eq!(
            (s, v["code"].as_str()),
            (403, Some("wrong-election")),
            "{v}"
        );
    };
    wrong(post(
        &format!("{apt}/api/v1/elections/apt-2026/ballots"),
        &ballot,
        Some(&resident),
    ));
    wrong(post(&format!("{apt}/api/v1/logout"), b"", Some(&resident)));
    // A ballot of one election is refused by the other, whoever sends it: here its contests do
    // not even have the apartment vote's shape (one of the same shape fails its proofs).
    let (s, v) = post(
        &format!("{apt}/api/v1/elections/apt-2026/ballots"),
        &ballot,
        Some(&tenant),
    );
    assert_eq!((s, v["code"].as_str()), (400, Some("malformed")), "{v}");
    let (s, v) = post(
        &format!("{apt}/api/v1/elections/demo-2026/ballots"),
        &ballot,
        Some(&tenant),
    );
    assert_eq!(
        (s, v["code"].as_str()),
        (404, Some("unknown-election")),
        "{v}"
    );
    // In its own election, the ballot counts.
    let (s, v) = post(
        &format!("{demo}/api/v1/elections/demo-2026/ballots"),
        &ballot,
        Some(&resident),
    );
    assert_eq!(s, 200, "{v}");
    // The resident's session still works where it was made: it was refused, not ended.
    let (s, _) = post(&format!("{demo}/api/v1/logout"), b"", Some(&resident));
    assert_eq!(s, 204);

    // A trustee's token of one election is refused by the other.
    let (s, v) = post(
        &format!("{demo}/api/v1/admin/trustees/1/invite"),
        b"",
        Some(&chair),
    );
    assert_eq!(s, 200, "{v}");
    let trustee = v["token"].as_str().expect("token").to_string();
    assert!(trustee.starts_with("demo-2026."), "{trustee}");
    wrong(post(
        &format!("{apt}/api/v1/trustee/entries"),
        b"\x00",
        Some(&trustee),
    ));

    // An administrator scoped to the apartment vote manages it and nothing else.
    let body = serde_json::json!({"name": "apt-manager", "role": "administrator",
        "password": "apartment-manager-pw", "elections": ["apt-2026"]})
    .to_string();
    let mut r = agent()
        .post(format!("{root}/api/v1/admin/accounts"))
        .header("authorization", format!("Bearer {chair}"))
        .send(body.as_bytes())
        .expect("post");
    assert_eq!(
        r.status().as_u16(),
        201,
        "{:?}",
        r.body_mut().read_to_string()
    );
    let manager = admin_login(&root, "apt-manager", "apartment-manager-pw");
    let (s, _) = get_status(&format!("{apt}/api/v1/admin/status"), Some(&manager));
    assert_eq!(s, 200);
    let (s, v) = get_status(&format!("{demo}/api/v1/admin/status"), Some(&manager));
    assert_eq!((s, v["code"].as_str()), (403, Some("not-your-election")));
    let (s, v) = post(&format!("{demo}/api/v1/admin/close"), b"", Some(&manager));
    assert_eq!((s, v["code"].as_str()), (403, Some("not-your-election")));
    let (s, v) = post(
        &format!("{root}/api/v1/admin/elections"),
        b"election_id = \"x\"",
        Some(&manager),
    );
    assert_eq!((s, v["code"].as_str()), (403, Some("platform-only")));
    let (s, v) = get_status(&format!("{root}/api/v1/admin/elections"), Some(&manager));
    assert_eq!(s, 200);
    assert_eq!(v["platform"], false);
    assert_eq!(v["elections"].as_array().expect("list").len(), 1);
    assert_eq!(v["elections"][0]["election_id"], "apt-2026");
    // It closes its own election; the other stays open.
    let (s, v) = post(&format!("{apt}/api/v1/admin/close"), b"", Some(&manager));
    assert_eq!(s, 200, "{v}");
    assert_eq!(get_json(&election_url(&demo))["phase"], "open");
    // Every administrative action names its election; the scoped account reads only its own.
    let (_, log) = get_status(&format!("{root}/api/v1/admin/audit-log"), Some(&manager));
    let log = log.as_array().expect("log").clone();
    assert!(
        log.iter()
            .any(|l| l["action"] == "close" && l["election"] == "apt-2026")
    );
    assert!(log.iter().all(|l| l["election"] == "apt-2026"), "{log:?}");
    let (_, all) = get_status(&format!("{root}/api/v1/admin/audit-log"), Some(&chair));
    let all = all.as_array().expect("log").clone();
    assert!(
        all.iter()
            .any(|l| l["action"] == "invite-trustee" && l["election"] == "demo-2026")
    );
    assert!(all.iter().any(|l| l["action"] == "create-account"));
    // Reassigned to the resident vote, its live session follows at once.
    let mut r = agent()
        .put(format!(
            "{root}/api/v1/admin/accounts/apt-manager/elections"
        ))
        .header("authorization", format!("Bearer {chair}"))
        .send(br#"{"elections":["demo-2026"]}"#.as_slice())
        .expect("put");
    assert_eq!(
        r.status().as_u16(),
        204,
        "{:?}",
        r.body_mut().read_to_string()
    );
    let (s, _) = get_status(&format!("{demo}/api/v1/admin/status"), Some(&manager));
    assert_eq!(s, 200);
    let (s, _) = get_status(&format!("{apt}/api/v1/admin/status"), Some(&manager));
    assert_eq!(s, 403);
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn three_elections_live_interleaved_in_one_process_and_each_record_verifies_to_its_votes() {
    let data = scratch("srv-three");
    let d = data.to_str().expect("p");
    let dir = env!("CARGO_MANIFEST_DIR");
    let manifests = [
        format!("{dir}/src/demo-manifest.toml"),
        format!("{dir}/src/demo-apartment.toml"),
        format!("{dir}/../../examples/manifests/referendum.toml"),
    ];
    let mut args = vec![
        "demo",
        "--listen",
        "127.0.0.1:0",
        "--data",
        d,
        "--voters",
        "4",
    ];
    for m in &manifests {
        args.extend(["--manifest", m.as_str()]);
    }
    let server = start(&args);
    let root = server.url.split("/e/").next().expect("root").to_string();
    let chair = server.token.clone().expect("token");
    let ids: Vec<String> = get_json(&format!("{root}/api/v1/elections"))
        .as_array()
        .expect("list")
        .iter()
        .map(|e| e["election_id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    // Per election: the answers each voter gives, and the tally cells they make.
    let answers = |id: &str, i: usize| -> (String, Vec<Vec<u64>>) {
        match id {
            "demo-2026" => {
                let mut cells = vec![vec![0; 2], vec![0; 4], vec![0; 5]];
                cells[0][i % 2] = 1;
                cells[1][i % 4] = 1;
                cells[2][i % 5] = 1;
                (format!("{};{};{}", i % 2, i % 4, i % 5), cells)
            }
            "apt-2026" => {
                let points = [i as u64 % 6, 5 - i as u64 % 6, 2];
                // A ranking of two of the three candidates: rank-major cells (rank × 3 + choice).
                let ranking = [i % 3, (i + 1) % 3];
                let mut ranks = vec![0; 9];
                for (r, c) in ranking.iter().enumerate() {
                    ranks[r * 3 + c] = 1;
                }
                let mut cells = vec![vec![0; 3], points.to_vec(), ranks];
                cells[0][i % 3] = 1;
                (
                    format!(
                        "{};{},{},{};{},{}",
                        i % 3,
                        points[0],
                        points[1],
                        points[2],
                        ranking[0],
                        ranking[1]
                    ),
                    cells,
                )
            }
            _ => {
                let mut cells = vec![vec![0; 2]];
                cells[0][(i + 1) % 2] = 1;
                (format!("{}", (i + 1) % 2), cells)
            }
        }
    };
    let mut expected: std::collections::BTreeMap<&str, Vec<Vec<u64>>> = Default::default();
    // Voters of the three elections take turns; closing and tallying interleave too.
    for i in 0..4 {
        for id in &ids {
            let v = &voters_in(&data.join("elections").join(id))[i];
            let (choices, cells) = answers(id, i);
            let o = vote(&root, &data, v, &choices, &["--election", id]);
            if i == 3 && *id == ids[0] {
                // The first election closed early: its last voter is refused, the others are not.
                assert!(!o.status.success());
                continue;
            }
            assert!(
                o.status.success(),
                "{id} voter {i}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let sum = expected
                .entry(id)
                .or_insert_with(|| cells.iter().map(|q| vec![0; q.len()]).collect());
            for (q, c) in sum.iter_mut().zip(&cells) {
                for (a, b) in q.iter_mut().zip(c) {
                    *a += b;
                }
            }
        }
        if i == 2 {
            // The first election closes early; the others go on.
            let base = format!("{root}/e/{}", ids[0]);
            assert_eq!(
                post(&format!("{base}/api/v1/admin/close"), b"", Some(&chair)).0,
                200
            );
            assert_eq!(
                post(&format!("{base}/api/v1/admin/tally"), b"", Some(&chair)).0,
                200
            );
        }
    }
    for id in &ids[1..] {
        let base = format!("{root}/e/{id}");
        assert_eq!(
            post(&format!("{base}/api/v1/admin/close"), b"", Some(&chair)).0,
            200
        );
        assert_eq!(
            post(&format!("{base}/api/v1/admin/tally"), b"", Some(&chair)).0,
            200
        );
    }
    // Each record, downloaded by its election id, verifies and states exactly its votes.
    for id in &ids {
        let out = data.join(format!("record-{id}"));
        let report = verify_download_of(&root, &["--election", id], &out);
        assert_eq!(result_cells(&report), expected[id.as_str()], "{id}");
        // A record is refused as another election's.
        let other = ids.iter().find(|o| *o != id).expect("other");
        let o = Command::new(bin())
            .args(["verify", "--election", other, out.to_str().expect("p")])
            .output()
            .expect("verify");
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn a_single_election_data_directory_is_moved_into_elections_when_served() {
    if on_postgres() {
        eprintln!("skipped on PostgreSQL: the single-election layout was SQLite files only");
        return;
    }
    let data = scratch("srv-legacy");
    let server = start_demo(&data, 3);
    let voters = codes(&data);
    let o = vote(&server.url, &data, &voters[0], "0;1;2", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    drop(server);
    // The layout of one election per data directory: its files at the top, one state.db.
    let election = data.join("elections/demo-2026");
    for f in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(data.join(format!("state.db{f}")));
    }
    for e in std::fs::read_dir(&election).expect("dir") {
        let e = e.expect("entry");
        std::fs::rename(e.path(), data.join(e.file_name())).expect("move up");
    }
    std::fs::remove_dir_all(data.join("elections")).expect("no elections/");
    // Its accounts lived in the same state.db as the roll.
    hanpyo_server::accounts::Accounts::open(&data, &hanpyo_server::database::Database::Embedded)
        .expect("state.db")
        .create_user(
            "chair",
            hanpyo_server::accounts::Role::Administrator,
            &hanpyo_server::accounts::Scope::Platform,
            "a long enough password",
        )
        .expect("account");
    let d = data.to_str().expect("p");
    let server = start(&[
        "serve",
        "--data",
        d,
        "--listen",
        "127.0.0.1:0",
        "--dev-outbox",
    ]);
    let url = server.url.clone();
    // Moved (before the first answer), and served as before: the roll, the ballots, the log.
    assert_eq!(
        get_json(&format!("{url}/api/v1/elections"))[0]["election_id"],
        "demo-2026"
    );
    assert!(election.join("ledger.db").exists());
    assert!(election.join("state.db").exists());
    assert!(election.join("log.json").exists());
    assert!(!data.join("ledger.db").exists());
    assert!(!data.join("roll.key").exists());
    let o = vote(&url, &data, &voters[1], "1;0;", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The accounts stayed at the top, and act on the moved election.
    let chair = admin_login(&url, "chair", "a long enough password");
    assert_eq!(
        post(&format!("{url}/api/v1/admin/close"), b"", Some(&chair)).0,
        200
    );
    assert_eq!(
        post(&format!("{url}/api/v1/admin/tally"), b"", Some(&chair)).0,
        200
    );
    let report = verify_download(&url, &data.join("downloaded"));
    assert_eq!(report["summary"]["ballots_cast"], 2, "{report}");
    // Served again: nothing left to move, nothing moved twice.
    drop(server);
    let server = start(&[
        "serve",
        "--data",
        d,
        "--listen",
        "127.0.0.1:0",
        "--dev-outbox",
    ]);
    assert_eq!(ledger_size(&server.url), ledger_size(&server.url));
    assert_eq!(
        get_json(&format!("{}/api/v1/elections", server.url))
            .as_array()
            .expect("list")
            .len(),
        1
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}
