//! The voting service over real HTTP (server on 127.0.0.1, port 0): a full election through
//! `hanpyo vote`, every kind of bad request refused with its code and nothing recorded, a restart
//! mid-election, and the downloaded record verified against the votes cast.
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use hanpyo_crypto::credential::SecretCredential;
use hanpyo_crypto::elgamal::PublicKey;
use hanpyo_ledger::merkle::leaf_hash;
use hanpyo_record::authority::encrypt_ballot_with_rng;
use hanpyo_record::context::election_context;
use hanpyo_record::entry::Entry;
use hanpyo_record::manifest::Manifest;
use serde_json::Value;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_hanpyo")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hanpyo-srv-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

struct Server {
    child: Child,
    url: String,
    token: Option<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `hanpyo ARGS` and reads its banner up to the `url:` line (and the admin token if any).
fn start(args: &[&str]) -> Server {
    let mut child = Command::new(bin())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let (mut url, mut token) = (None, None);
    for line in lines.by_ref() {
        let line = line.expect("line");
        if let Some(t) = line.strip_prefix("admin token: ") {
            token = Some(t.to_string());
        }
        if let Some(u) = line.strip_prefix("url: ") {
            url = Some(u.trim_end_matches('/').to_string());
        }
        if line.starts_with("vote:") || (url.is_some() && args[0] == "serve") {
            break;
        }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        url: url.expect("the server printed its url"),
        token,
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn get_json(url: &str) -> Value {
    agent()
        .get(url)
        .call()
        .expect("get")
        .body_mut()
        .read_json()
        .expect("json")
}

fn post(url: &str, body: &[u8], token: Option<&str>) -> (u16, Value) {
    let mut req = agent()
        .post(url)
        .header("content-type", "application/octet-stream");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let mut resp = req.send(body).expect("post");
    let status = resp.status().as_u16();
    let v = resp.body_mut().read_json().unwrap_or(Value::Null);
    (status, v)
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

fn vote(url: &str, code: &str, choices: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "vote",
        "--url",
        url,
        "--credential",
        code,
        "--choices",
        choices,
    ];
    args.extend_from_slice(extra);
    Command::new(bin()).args(&args).output().expect("vote")
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

fn codes(data: &Path) -> Vec<String> {
    std::fs::read_to_string(data.join("demo-voters.txt"))
        .expect("codes")
        .lines()
        .map(str::to_string)
        .collect()
}

fn verify_download(url: &str, dir: &Path) -> Value {
    let o = Command::new(bin())
        .args(["download", "--url", url, "--out", dir.to_str().expect("p")])
        .output()
        .expect("download");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new(bin())
        .args(["verify", "--json", dir.to_str().expect("p")])
        .output()
        .expect("verify");
    let report: Value = serde_json::from_slice(&o.stdout).expect("report");
    assert_eq!(o.status.code(), Some(0), "{report}");
    report
}

#[test]
fn a_full_election_over_http_with_revotes_audits_and_a_restart() {
    let data = scratch("full");
    let d = data.to_str().expect("p");
    let server = start(&[
        "demo",
        "--listen",
        "127.0.0.1:0",
        "--data",
        d,
        "--voters",
        "200",
    ]);
    let url = server.url.clone();
    let token = server.token.clone().expect("token");
    let codes = codes(&data);
    assert_eq!(codes.len(), 200);
    let mut last: Vec<Option<Vec<Vec<u32>>>> = vec![None; 200];
    let mut cast = |i: u32, round: u32, url: &str, extra: &[&str]| {
        let (s, sel) = choices_for(i + 7 * round);
        let o = vote(url, &codes[i as usize], &s, extra);
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
    let server = start(&["serve", "--data", d, "--listen", "127.0.0.1:0"]);
    let url = server.url.clone();
    assert_eq!(ledger_size(&url), before, "nothing acknowledged was lost");
    for i in 120..200 {
        cast(i, 0, &url, &[]);
    }
    for i in (0..200).step_by(10) {
        cast(i, 1, &url, &[]); // revotes: only the last counts
    }
    let info = get_json(&format!("{url}/api/v1/election"));
    assert_eq!(info["counted"], Value::from(200));
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
    let data = scratch("bad");
    let server = start(&[
        "demo",
        "--listen",
        "127.0.0.1:0",
        "--data",
        data.to_str().expect("p"),
        "--voters",
        "5",
    ]);
    let url = server.url.clone();
    let token = server.token.clone().expect("token");
    let codes = codes(&data);
    let ballots = format!("{url}/api/v1/ballots");
    // A valid ballot built here, to replay and to tamper with.
    let info = get_json(&format!("{url}/api/v1/election"));
    let manifest_entry = hex::decode(info["manifest_entry"].as_str().expect("m")).expect("hex");
    let Entry::Manifest(m) = Entry::decode(&manifest_entry, None).expect("manifest") else {
        panic!()
    };
    let m: Manifest = *m;
    let pk = PublicKey::decode(&hex::decode(info["joint_key"].as_str().expect("k")).expect("hex"))
        .expect("key");
    let ctx = election_context(&leaf_hash(&manifest_entry), &pk);
    let specs = m.contest_specs();
    let sel: Vec<Vec<bool>> = vec![
        vec![true, false],
        vec![false, true, false, false],
        vec![false; 5],
    ];
    let make = |code: &str, ctx: &hanpyo_crypto::transcript::ProofContext| {
        let key = SecretCredential::parse(code)
            .expect("code")
            .signing_key(m.election_id.as_bytes());
        let (b, _) =
            encrypt_ballot_with_rng(ctx, &pk, &specs, &key, &sel, &mut hanpyo_crypto::os_rng())
                .expect("ballot");
        Entry::Ballot(Box::new(b)).encode()
    };
    let good = make(&codes[0], &ctx);
    let size = ledger_size(&url);

    let expect = |body: &[u8], status: u16, code: &str| {
        let (s, v) = post(&ballots, body, None);
        assert_eq!((s, v["code"].as_str().unwrap_or("")), (status, code), "{v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
    };
    expect(b"{\"not\": \"a ballot\"}", 400, "malformed");
    expect(&[], 400, "malformed");
    let mut truncated = good.clone();
    truncated.pop();
    expect(&truncated, 400, "malformed");
    let (s, _) = post(&ballots, &vec![1u8; 300 * 1024], None);
    assert_eq!(s, 413, "oversized body");
    // Another election's ballot (same credential code, other fingerprint) fails its proofs.
    let mut other = ctx;
    other.fingerprint[0] ^= 1;
    expect(&make(&codes[0], &other), 422, "bad-proof");
    // A tampered proof response.
    let mut bad = good.clone();
    let at = bad.len() - 70;
    bad[at] ^= 1;
    let (s, v) = post(&ballots, &bad, None);
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
    // A setup entry instead of a ballot.
    expect(&manifest_entry, 400, "malformed");
    assert_eq!(ledger_size(&url), size, "nothing was recorded");
    // The valid ballot, then its replay.
    let (s, v) = post(&ballots, &good, None);
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
    expect(&make(&codes[1], &ctx), 409, "election-closed");
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
    let data = scratch("ops");
    let d = data.to_str().expect("p");
    let mut child = Command::new(bin())
        .args([
            "demo",
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
    };
    // Security headers on every answer.
    let r = agent()
        .get(format!("{url}/api/v1/election"))
        .call()
        .expect("get");
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
    for _ in 0..6 {
        let o = vote(&url, &codes[0], "0;0;", &[]);
        statuses.push(o.status.code());
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
    std::fs::write(&cfg, format!("data = {:?}\nlisten = \"127.0.0.1:1\"\nvoter_rate = {{ per_second = 100.0, burst = 100.0 }}\n", d)).expect("cfg");
    let mut child = Command::new(bin())
        .args(["serve", "--config", cfg.to_str().expect("p")])
        .env("HANPYO_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("url: ")
                .map(|u| u.trim_end_matches('/').to_string())
        })
        .expect("url");
    let server = Server {
        child,
        url: url.clone(),
        token: None,
    };
    assert!(
        !url.ends_with(":1"),
        "the environment overrides the file's listen address"
    );
    for _ in 0..6 {
        let o = vote(&url, &codes[1], "1;0;", &[]);
        assert!(
            o.status.success(),
            "the file's voter rate applies: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}
