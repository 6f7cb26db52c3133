//! Trustees as they would run: key files with passphrases, a 3-of-5 key ceremony over HTTP with
//! five `hanpyo trustee` processes, a cheating dealer named in a complaint and left out, the tally
//! decrypted by exactly three trustees after one first sends a wrong share, and a stolen key file.
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use hanpyo_crypto::credential::SecretCredential;
use hanpyo_crypto::elgamal::SecretKey;
use hanpyo_crypto::proofs::{labels, schnorr::SchnorrProof};
use hanpyo_crypto::threshold::{Dealer, KeyShare, ThresholdParams};
use hanpyo_crypto::transcript::NO_POSITION;
use hanpyo_ledger::merkle::leaf_hash;
use hanpyo_record::authority::partial_decryption_with_rng;
use hanpyo_record::context::{ceremony_context, election_context};
use hanpyo_record::entry::{CeremonyMessage, Entry, Shapes};
use serde_json::Value;

mod common;
use common::*;

/// A fresh scratch directory (created).
fn scratch_dir(name: &str) -> PathBuf {
    let d = scratch(&format!("trustee-{name}"));
    std::fs::create_dir_all(&d).expect("dir");
    d
}

fn post(url: &str, body: &[u8], token: Option<&str>) -> (u16, Value) {
    let mut req = agent().post(url);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let mut resp = req.send(body).expect("post");
    (
        resp.status().as_u16(),
        resp.body_mut().read_json().unwrap_or(Value::Null),
    )
}

fn run(args: &[&str]) -> std::process::Output {
    Command::new(bin()).args(args).output().expect("run")
}

struct Election {
    dir: PathBuf,
    server: Child,
    url: String,
    admin: String,
    tokens: Vec<String>,
}

impl Drop for Election {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const REFERENDUM: &str =
    "[[questions]]\nkind = \"referendum\"\ntitle = { ko = \"찬성?\", en = \"Approve?\" }\n";

fn election(name: &str, n: u32, t: u32) -> Election {
    election_with(name, n, t, REFERENDUM)
}

/// An election whose manifest has `questions` (TOML).
fn election_with(name: &str, n: u32, t: u32, questions: &str) -> Election {
    let dir = scratch_dir(name);
    let manifest = dir.join("m.toml");
    std::fs::write(
        &manifest,
        format!(
            "election_id = \"{name}\"\nopens_at = 2026-12-01T09:00:00+09:00\ncloses_at = 2026-12-02T09:00:00+09:00\n\
             trustees = {n}\nthreshold = {t}\ntitle = {{ ko = \"투표\", en = \"Vote\" }}\n{questions}"
        ),
    )
    .expect("manifest");
    let data = dir.join("data");
    let d = data.to_str().expect("p");
    assert!(
        run(&[
            "admin",
            "init",
            "--data",
            d,
            "--manifest",
            manifest.to_str().expect("p")
        ])
        .status
        .success()
    );
    let pw = dir.join("admin-pw");
    std::fs::write(&pw, "commission password\n").expect("pw");
    assert!(
        run(&[
            "admin",
            "create-user",
            "--data",
            d,
            "--name",
            "commission",
            "--password-file",
            pw.to_str().expect("p")
        ])
        .status
        .success()
    );
    let mut server = Command::new(bin())
        .args(["serve", "--data", d, "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let mut lines = BufReader::new(server.stdout.take().expect("stdout")).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("url: ")
                .map(|u| u.trim_end_matches('/').to_string())
        })
        .expect("url");
    std::thread::spawn(move || for _ in lines {});
    let (s, v) = post(
        &format!("{url}/api/v1/admin/login"),
        br#"{"name":"commission","password":"commission password"}"#,
        None,
    );
    assert_eq!(s, 200, "{v}");
    let admin = v["session"].as_str().expect("session").to_string();
    let tokens = (1..=n)
        .map(|i| {
            let (s, v) = post(
                &format!("{url}/api/v1/admin/trustees/{i}/invite"),
                b"",
                Some(&admin),
            );
            assert_eq!(s, 200);
            v["token"].as_str().expect("token").to_string()
        })
        .collect();
    Election {
        dir,
        server,
        url,
        admin,
        tokens,
    }
}

impl Election {
    fn key(&self, i: u32) -> PathBuf {
        self.dir.join(format!("trustee-{i}.key"))
    }
    fn pass(&self) -> PathBuf {
        self.dir.join("trustee-passphrase")
    }
    fn init_trustee(&self, i: u32) {
        std::fs::write(self.pass(), "a trustee's long passphrase\n").expect("pass");
        let o = run(&[
            "trustee",
            "init",
            "--key",
            self.key(i).to_str().expect("p"),
            "--passphrase-file",
            self.pass().to_str().expect("p"),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    fn trustee(&self, step: &str, i: u32) -> Child {
        self.trustee_waiting(step, i, 120)
    }
    fn trustee_waiting(&self, step: &str, i: u32, wait: u64) -> Child {
        self.trustee_with(&[step], i, wait, &[])
    }
    fn trustee_with(&self, step: &[&str], i: u32, wait: u64, extra: &[&str]) -> Child {
        Command::new(bin())
            .arg("trustee")
            .args(step)
            .args(extra)
            .args([
                "--key",
                self.key(i).to_str().expect("p"),
                "--passphrase-file",
                self.pass().to_str().expect("p"),
                "--url",
                &self.url,
                "--index",
                &i.to_string(),
                "--token",
                &self.tokens[(i - 1) as usize],
                "--wait",
                &wait.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("trustee")
    }
    fn admin(&self, action: &str, body: &[u8]) -> (u16, Value) {
        post(
            &format!("{}/api/v1/admin/{action}", self.url),
            body,
            Some(&self.admin),
        )
    }
    /// Lists one new voter per answer (`--choices`) of election `id`, opens, lets each vote,
    /// closes and tallies.
    fn vote_and_tally(&self, id: &[u8], answers: &[&str]) {
        let creds: Vec<SecretCredential> = answers
            .iter()
            .map(|_| SecretCredential::generate())
            .collect();
        let mut publics: Vec<String> = creds
            .iter()
            .map(|c| hex::encode(c.signing_key(id).public().as_bytes()))
            .collect();
        publics.sort();
        assert_eq!(
            self.admin("credentials", publics.join("\n").as_bytes()).0,
            200
        );
        assert_eq!(self.admin("open", b"").0, 200);
        for (c, answer) in creds.iter().zip(answers) {
            let o = run(&[
                "vote",
                "--url",
                &self.url,
                "--credential",
                &c.code(),
                "--choices",
                answer,
            ]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
        assert_eq!(self.admin("close", b"").0, 200);
        assert_eq!(self.admin("tally", b"").0, 200);
    }
    /// Trustee `i` posts `entry` itself (what a cheating trustee program would send).
    fn post_entry(&self, i: u32, entry: &Entry) -> (u16, Value) {
        post(
            &format!("{}/api/v1/trustee/entries", self.url),
            &entry.encode(),
            Some(&self.tokens[(i - 1) as usize]),
        )
    }
    /// The published record, downloaded and verified VALID: the verifier's report.
    fn verified_record(&self) -> Value {
        let rec = self.dir.join("record");
        let o = run(&[
            "download",
            "--url",
            &self.url,
            "--out",
            rec.to_str().expect("p"),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let o = run(&["verify", "--json", rec.to_str().expect("p")]);
        let report: Value = serde_json::from_slice(&o.stdout).expect("report");
        assert_eq!(o.status.code(), Some(0), "{report}");
        report
    }
    fn progress(&self) -> Value {
        get_json(&format!("{}/api/v1/progress", self.url))
    }
    fn wait_for(&self, what: &str, ok: impl Fn(&Value) -> bool) {
        let start = std::time::Instant::now();
        while !ok(&self.progress()) {
            assert!(
                start.elapsed().as_secs() < 120,
                "timed out waiting for {what}: {}",
                self.progress()
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
}

fn finished(child: Child) -> (bool, String) {
    let o = child.wait_with_output().expect("wait");
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

fn shares_sent(p: &Value) -> u64 {
    p["trustees"]
        .as_array()
        .expect("t")
        .iter()
        .map(|t| t["shares_sent"].as_u64().expect("n"))
        .sum()
}

#[test]
fn three_of_five_ceremony_and_tally_with_trustee_processes() {
    let e = election("three-of-five", 5, 3);
    for i in 1..=5 {
        e.init_trustee(i);
    }
    // Trustee 5 goes offline right after registering, and comes back later: the ceremony waits for
    // it and it continues where it stopped (its secrets were sealed before anything was sent).
    let (ok, out) = finished(e.trustee_waiting("ceremony", 5, 0));
    assert!(!ok && out.contains("run again later"), "{out}");
    let mut ceremony: Vec<Child> = (1..=4).map(|i| e.trustee("ceremony", i)).collect();
    e.wait_for("four digests", |p| {
        p["trustees"]
            .as_array()
            .expect("t")
            .iter()
            .filter(|t| t["digest"] == Value::Bool(true))
            .count()
            == 4
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        shares_sent(&e.progress()),
        0,
        "nobody reveals before trustee 5's digest"
    );
    ceremony.push(e.trustee("ceremony", 5));
    e.wait_for("every share", |p| shares_sent(p) == 20);
    e.wait_for("every confirmation", |p| confirmed(p, 5, &[1, 2, 3, 4, 5]));
    let (s, v) = e.admin("finish-ceremony", b"");
    assert_eq!(s, 200, "{v}");
    for c in ceremony {
        let (ok, out) = finished(c);
        assert!(ok, "{out}");
        assert!(
            out.contains("my key share matches my verification key"),
            "{out}"
        );
    }
    // Voters.
    let answers: Vec<&str> = (0..7).map(|k| if k < 4 { "0" } else { "1" }).collect();
    e.vote_and_tally(b"three-of-five", &answers);
    // Trustee 1 first sends a wrong share (made with a wrong key): refused, named.
    let info = get_json(&format!("{}/api/v1/elections/three-of-five", e.url));
    let manifest_entry = hex::decode(info["manifest_entry"].as_str().expect("m")).expect("hex");
    let pk = hanpyo_crypto::elgamal::PublicKey::decode(
        &hex::decode(info["joint_key"].as_str().expect("k")).expect("hex"),
    )
    .expect("pk");
    let Entry::Manifest(m) = Entry::decode(&manifest_entry, None).expect("m") else {
        panic!()
    };
    let note = agent()
        .get(format!("{}/api/v1/board/checkpoint", e.url))
        .call()
        .expect("cp")
        .body_mut()
        .read_to_string()
        .expect("t");
    let size: u64 = note.lines().nth(1).expect("size").parse().expect("n");
    let framed = agent()
        .get(format!(
            "{}/api/v1/board/entries?start={}&end={size}",
            e.url,
            size - 1
        ))
        .call()
        .expect("g")
        .body_mut()
        .read_to_vec()
        .expect("b");
    let Entry::EncryptedTally { tally, .. } =
        Entry::decode(&framed[4..], Some(&Shapes::of(&m))).expect("tally")
    else {
        panic!()
    };
    let ectx = election_context(&leaf_hash(&manifest_entry), &pk);
    let liar = KeyShare::from_parts(1, curve25519_dalek::scalar::Scalar::from(12345u64));
    let y1 = hanpyo_crypto::group::Element::from_point(
        curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT,
    );
    let wrong =
        partial_decryption_with_rng(&ectx, &liar, &y1, &tally, &mut hanpyo_crypto::os_rng());
    let (s, v) = e.post_entry(1, &wrong);
    assert_eq!((s, v["code"].as_str()), (422, Some("bad-share")), "{v}");
    // Exactly three trustees decrypt (each recomputes the tally from the ballots itself).
    for i in [1, 2, 4] {
        let (ok, out) = finished(e.trustee("decrypt", i));
        assert!(ok, "{out}");
        assert!(out.contains("matches the published one"), "{out}");
    }
    let (s, v) = e.admin("publish", b"");
    assert_eq!(s, 200, "{v}");
    let report = e.verified_record();
    let counts: Vec<u64> = report["summary"]["result"][0]["choices"]
        .as_array()
        .expect("c")
        .iter()
        .map(|c| c[2].as_u64().expect("n"))
        .collect();
    assert_eq!(counts, vec![4, 3]);
    assert_eq!(
        report["summary"]["decrypting_trustees"],
        serde_json::json!([1, 2, 4])
    );
    assert_eq!(
        report["summary"]["qualified"],
        serde_json::json!([1, 2, 3, 4, 5])
    );
}

/// A ranked question end to end with trustee processes: a trustee that decrypts before the
/// shuffles is told to come back; a forged shuffle is refused; two trustees shuffle in turn (one
/// of them twice, the second time finding its shuffle on the board); two decrypt the mixed rows;
/// the published instant-runoff count is the one computed by hand and the record verifies.
#[test]
fn a_ranked_question_is_mixed_and_counted_by_trustee_processes() {
    let e = election_with(
        "ranked-trustees",
        3,
        2,
        "[[questions]]\nkind = \"ranked\"\nranks = 3\ntitle = { ko = \"순위\", en = \"Rank\" }\n\
         choices = [{ ko = \"가\", en = \"A\" }, { ko = \"나\", en = \"B\" }, { ko = \"다\", en = \"C\" }]\n",
    );
    for i in 1..=3 {
        e.init_trustee(i);
    }
    let ceremony: Vec<Child> = (1..=3).map(|i| e.trustee("ceremony", i)).collect();
    e.wait_for("every confirmation", |p| confirmed(p, 3, &[1, 2, 3]));
    assert_eq!(e.admin("finish-ceremony", b"").0, 200);
    for c in ceremony {
        let (ok, out) = finished(c);
        assert!(ok, "{out}");
    }
    // Rankings: A ×3; B,A ×2; C,B ×1; C ×1. Round 1: A 3, B 2, C 2 of 7, no majority; B and C
    // tie for fewest in the only round there is, so the public lot picks one.
    let rankings = ["0", "0", "0", "1,0", "1,0", "2,1", "2"];
    e.vote_and_tally(b"ranked-trustees", &rankings);
    // Decrypting before any shuffle: the tally's share goes in, the mixed rows must wait.
    let (ok, out) = finished(e.trustee_waiting("decrypt", 1, 0));
    assert!(
        !ok && out.contains("run again once the trustees have shuffled"),
        "{out}"
    );
    // Publishing now: the mixed rows' decryption is missing.
    let (s, v) = e.admin("publish", b"");
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("shares-missing")),
        "{v}"
    );
    // A forged shuffle (trustee 3 re-encrypts nothing and proves nothing): refused, never logged.
    let forged = Entry::Shuffle(hanpyo_record::mixing::Part {
        trustee: 3,
        part: 0,
        parts: 1,
        bytes: vec![7; 64 * 9 * 7],
    });
    let (s, v) = e.post_entry(3, &forged);
    assert_eq!((s, v["code"].as_str()), (422, Some("bad-mix")), "{v}");
    // Trustee 1 with trustee 3's key file: refused before anything is sent.
    let o = run(&[
        "trustee",
        "shuffle",
        "--key",
        e.key(3).to_str().expect("p"),
        "--passphrase-file",
        e.pass().to_str().expect("p"),
        "--url",
        &e.url,
        "--index",
        "1",
        "--token",
        &e.tokens[0],
    ]);
    let out = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && out.contains("is not trustee 1's"),
        "{out}"
    );
    for i in [2, 3, 2] {
        let (ok, out) = finished(e.trustee("shuffle", i));
        assert!(ok, "{out}");
        assert!(
            out.contains("shuffled 7 ranked ballots") || out.contains("my shuffle is on the board"),
            "{out}"
        );
    }
    for i in [1, 3] {
        let (ok, out) = finished(e.trustee("decrypt", i));
        assert!(ok, "{out}");
        assert!(
            out.contains("decryption of the 7 mixed ranked ballots"),
            "{out}"
        );
    }
    let (s, v) = e.admin("publish", b"");
    assert_eq!(s, 200, "{v}");
    let info = get_json(&format!("{}/api/v1/elections/ranked-trustees", e.url));
    // Ranks × choices: first preferences A 3, B 2, C 2; second: A 2, B 1.
    assert_eq!(
        info["result"][0],
        serde_json::json!([3, 2, 2, 2, 1, 0, 0, 0, 0])
    );
    let rounds = info["ranked"][0]["rounds"].as_array().expect("rounds");
    assert_eq!(rounds[0]["votes"], serde_json::json!([3, 2, 2]));
    assert_eq!(rounds[0]["tie_break"], "lot");
    match rounds[0]["eliminated"].as_u64() {
        // C out: one ballot to B, one exhausted. Round 2: A 3, B 3 of 6, tied for fewest; B had
        // fewer in round 1, so B goes. Round 3: A 5, 2 exhausted: A elected.
        Some(2) => {
            assert_eq!(rounds[1]["votes"], serde_json::json!([3, 3, 0]));
            assert_eq!(
                rounds[1]["tie_break"],
                serde_json::json!({"earlier-round": 0})
            );
            assert_eq!(rounds[2]["votes"], serde_json::json!([5, 0, 0]));
            assert_eq!(rounds[2]["exhausted"], 2);
        }
        // B out: both its ballots to A. Round 2: A 5 of 7, elected.
        Some(1) => assert_eq!(rounds[1]["votes"], serde_json::json!([5, 0, 2])),
        other => panic!("{other:?}"),
    }
    assert_eq!(info["ranked"][0]["winners"], serde_json::json!([0]));
    assert_eq!(
        info["outcomes"][0],
        serde_json::json!({"outcome": "elected", "choice": 0})
    );
    let report = e.verified_record();
    assert_eq!(report["summary"]["shufflers"], serde_json::json!([2, 3]));
    assert_eq!(
        report["summary"]["result"][0]["ranked"]["winners"],
        serde_json::json!([0])
    );
}

/// What a dealer played with the crypto library sends to one recipient.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Send {
    Good,
    /// A share from another polynomial (fails the recipient's check).
    Bad,
    /// Nothing at all.
    Withhold,
}

/// Trustees `1..=honest` run `hanpyo trustee ceremony`; the others are played here with the crypto
/// library: they register, commit and reveal like anyone, then send each recipient what `plan(dealer,
/// recipient)` says and never confirm (a cheater, or a trustee that crashed after sending). Waits
/// until `settled` holds of the ceremony's progress, then asks the server to finish the ceremony.
fn adversarial_ceremony(
    name: &str,
    n: u32,
    t: u32,
    honest: u32,
    plan: impl Fn(u32, u32) -> Send,
    settled: impl Fn(&Value) -> bool,
    silent: &[u32],
) -> (Election, Vec<(bool, String)>, (u16, Value)) {
    let e = election(name, n, t);
    for i in 1..=honest {
        e.init_trustee(i);
    }
    let children: Vec<Child> = (1..=honest)
        .map(|i| e.trustee_with(&["ceremony"], i, 120, &["--share-wait", "2"]))
        .collect();
    let info = get_json(&format!("{}/api/v1/elections/{name}", e.url));
    let manifest_entry = hex::decode(info["manifest_entry"].as_str().expect("m")).expect("hex");
    let cctx = ceremony_context(&leaf_hash(&manifest_entry));
    let params = ThresholdParams::new(n, t).expect("params");
    let mut rng = hanpyo_crypto::os_rng();
    let played: Vec<u32> = (honest + 1..=n).collect();
    let comm: Vec<SecretKey> = played.iter().map(|_| SecretKey::generate()).collect();
    let send = |me: u32, entry: Entry| {
        let tok = &e.tokens[(me - 1) as usize];
        let (s, v) = post(
            &format!("{}/api/v1/trustee/entries", e.url),
            &entry.encode(),
            Some(tok),
        );
        assert_eq!(s, 200, "{v}");
    };
    let count = |p: &Value, what: &str| {
        p["trustees"]
            .as_array()
            .expect("t")
            .iter()
            .filter(|t| t[what] == Value::Bool(true))
            .count()
    };
    e.wait_for("the honest registrations", |p| {
        count(p, "registered") == honest as usize
    });
    for (me, c) in played.iter().zip(&comm) {
        let proof = SchnorrProof::prove_with_rng(
            labels::TRUSTEE_KEY,
            &cctx.at(*me, NO_POSITION),
            c.as_scalar(),
            c.public_key().element(),
            &[],
            &mut rng,
        );
        send(
            *me,
            Entry::TrusteeRegistration {
                index: *me,
                key: c.public_key(),
                proof,
            },
        );
    }
    let dealers: Vec<Dealer> = played
        .iter()
        .map(|me| Dealer::new_with_rng(params, *me, &mut rng).expect("dealer"))
        .collect();
    let commitments: Vec<_> = dealers
        .iter()
        .map(|d| d.commitment_with_rng(&cctx, &mut rng))
        .collect();
    e.wait_for("the honest digests", |p| {
        count(p, "digest") == honest as usize
    });
    for ((me, c), x) in played.iter().zip(&comm).zip(&commitments) {
        if silent.contains(me) {
            continue;
        }
        let digest = CeremonyMessage::Digest {
            dealer: *me,
            digest: x.digest(&cctx),
        };
        send(*me, digest.sign_with_rng(&cctx, c, &mut rng));
    }
    if !silent.is_empty() {
        // Someone never publishes its digest: the administrator stops waiting for it.
        let (s, v) = e.admin("close-digests", b"");
        assert_eq!(s, 200, "{v}");
    }
    e.wait_for("the honest commitments", |p| {
        count(p, "commitment") == honest as usize
    });
    for ((me, c), x) in played.iter().zip(&comm).zip(&commitments) {
        if silent.contains(me) {
            continue;
        }
        send(
            *me,
            CeremonyMessage::Commitment(x.clone()).sign_with_rng(&cctx, c, &mut rng),
        );
    }
    // Registration keys of everyone, from the board.
    let note = agent()
        .get(format!("{}/api/v1/board/checkpoint", e.url))
        .call()
        .expect("cp")
        .body_mut()
        .read_to_string()
        .expect("t");
    let size: u64 = note.lines().nth(1).expect("size").parse().expect("n");
    let framed = agent()
        .get(format!("{}/api/v1/board/entries?start=0&end={size}", e.url))
        .call()
        .expect("g")
        .body_mut()
        .read_to_vec()
        .expect("b");
    let Entry::Manifest(m) = Entry::decode(&manifest_entry, None).expect("m") else {
        panic!()
    };
    let shapes = Shapes::of(&m);
    let mut keys = vec![None; n as usize];
    let mut rest = &framed[..];
    while rest.len() >= 4 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if let Ok(Entry::TrusteeRegistration { index, key, .. }) =
            Entry::decode(&rest[4..4 + len], Some(&shapes))
        {
            keys[(index - 1) as usize] = Some(key);
        }
        rest = &rest[4 + len..];
    }
    for ((me, c), dealer) in played.iter().zip(&comm).zip(&dealers) {
        if silent.contains(me) {
            continue;
        }
        let other_poly = Dealer::new_with_rng(params, *me, &mut rng).expect("dealer");
        for j in (1..=n).filter(|j| j != me) {
            let pk = keys[(j - 1) as usize].expect("registered");
            let sh = match plan(*me, j) {
                Send::Good => dealer.encrypted_share_with_rng(&cctx, j, &pk, &mut rng),
                Send::Bad => other_poly.encrypted_share_with_rng(&cctx, j, &pk, &mut rng),
                Send::Withhold => continue,
            };
            send(
                *me,
                CeremonyMessage::Share(sh.expect("share")).sign_with_rng(&cctx, c, &mut rng),
            );
        }
    }
    e.wait_for("the honest trustees' complaints and confirmations", settled);
    let finish = e.admin("finish-ceremony", b"");
    let outs = if finish.0 == 200 {
        children.into_iter().map(finished).collect()
    } else {
        children
            .into_iter()
            .map(|mut c| {
                let _ = c.kill();
                finished(c)
            })
            .collect()
    };
    (e, outs, finish)
}

/// Complaints filed by all trustees.
fn complaints(p: &Value) -> u64 {
    p["trustees"]
        .as_array()
        .expect("t")
        .iter()
        .map(|t| t["complaints_filed"].as_u64().expect("n"))
        .sum()
}

/// Trustees `1..=k` have each confirmed (at least) the dealers `dealers`.
fn confirmed(p: &Value, k: usize, dealers: &[u32]) -> bool {
    p["trustees"].as_array().expect("t")[..k].iter().all(|t| {
        t["confirmed"].as_array().is_some_and(|c| {
            dealers
                .iter()
                .all(|d| c.iter().any(|x| x.as_u64() == Some(u64::from(*d))))
        })
    })
}

#[test]
fn a_cheating_dealer_is_named_and_left_out() {
    // Trustee 5 sends trustee 2 a share from another polynomial.
    let plan = |_, j| if j == 2 { Send::Bad } else { Send::Good };
    let settled = |p: &Value| complaints(p) == 1 && confirmed(p, 4, &[1, 2, 3, 4]);
    let (e, outs, (s, v)) = adversarial_ceremony("cheat-5-3", 5, 3, 4, plan, settled, &[]);
    assert_eq!(s, 200, "{v}");
    for (ok, out) in &outs {
        assert!(ok, "{out}");
        assert!(
            out.contains("qualified") && out.contains("left out"),
            "{out}"
        );
    }
    assert!(outs[1].1.contains("COMPLAINT: trustee 5"), "{}", outs[1].1);
    let info = get_json(&format!("{}/api/v1/elections/cheat-5-3", e.url));
    assert_eq!(info["phase"], Value::from("credentials"));
}

/// Two colluding dealers of five (t = 3): one sends every honest trustee a bad share, the other
/// withholds its share from trustee 1 — which used to block every complaint. Now the honest
/// trustees complain at once, trustee 1 confirms without waiting for the withheld share, both
/// cheaters are left out, and the honest three hold usable key shares.
#[test]
fn two_colluding_dealers_cannot_stall_the_ceremony() {
    let plan = |dealer, j| match (dealer, j) {
        (5, 1..=3) => Send::Bad,
        (4, 1) => Send::Withhold,
        _ => Send::Good,
    };
    let settled = |p: &Value| complaints(p) == 3 && confirmed(p, 3, &[1, 2, 3]);
    let (e, outs, (s, v)) = adversarial_ceremony("collude", 5, 3, 3, plan, settled, &[]);
    assert_eq!(s, 200, "{v}");
    for (i, (ok, out)) in outs.iter().enumerate() {
        assert!(ok, "trustee {}: {out}", i + 1);
        assert!(out.contains("COMPLAINT: trustee 5"), "{out}");
        assert!(
            out.contains("my key share matches my verification key"),
            "{out}"
        );
        assert!(out.contains("dealers [1, 2, 3] qualified"), "{out}");
    }
    let p = e.progress();
    assert_eq!(p["phase"], Value::from("credentials"));
}

/// A dealer withholds one share and another trustee crashes after sending its shares (it never
/// confirms): the withholder is left out, the crashed trustee's polynomial still counts, and the
/// three others' confirmations are enough.
#[test]
fn a_withheld_share_and_a_crashed_trustee_still_give_a_usable_key() {
    let plan = |dealer, j| match (dealer, j) {
        (5, 1) => Send::Withhold,
        _ => Send::Good,
    };
    let settled = |p: &Value| confirmed(p, 3, &[1, 2, 3, 4]);
    let (_e, outs, (s, v)) = adversarial_ceremony("crash", 5, 3, 3, plan, settled, &[]);
    assert_eq!(s, 200, "{v}");
    for (ok, out) in &outs {
        assert!(ok, "{out}");
        assert!(out.contains("dealers [1, 2, 3, 4] qualified"), "{out}");
        assert!(
            out.contains("my key share matches my verification key"),
            "{out}"
        );
    }
}

/// A trustee registers and then never publishes its digest: commitments could never be revealed.
/// The administrator closes the digest round; the others go on, the silent one is left out.
#[test]
fn a_trustee_that_never_publishes_its_digest_cannot_stall_the_ceremony() {
    let settled = |p: &Value| confirmed(p, 4, &[1, 2, 3, 4]);
    let (e, outs, (s, v)) =
        adversarial_ceremony("silent", 5, 3, 4, |_, _| Send::Good, settled, &[5]);
    assert_eq!(s, 200, "{v}");
    for (ok, out) in &outs {
        assert!(ok, "{out}");
        assert!(out.contains("dealers [1, 2, 3, 4] qualified"), "{out}");
        assert!(out.contains("NoDigest"), "{out}");
        assert!(
            out.contains("my key share matches my verification key"),
            "{out}"
        );
    }
    assert_eq!(e.progress()["digests_closed"], Value::Bool(true));
}

#[test]
fn too_few_honest_trustees_make_the_ceremony_fail_with_the_reason() {
    let plan = |_, j| if j == 2 { Send::Bad } else { Send::Good };
    let settled = |p: &Value| complaints(p) == 1;
    let (_e, _outs, (s, v)) = adversarial_ceremony("cheat-3-3", 3, 3, 2, plan, settled, &[]);
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("ceremony-failed")),
        "{v}"
    );
    assert!(
        v["message"].as_str().expect("m").contains("fewer than t"),
        "{v}"
    );
}

#[test]
fn a_stolen_key_file_reveals_nothing_without_the_passphrase() {
    let dir = scratch_dir("stolen");
    let key = dir.join("t.key");
    let pass = dir.join("pass");
    std::fs::write(&pass, "the right passphrase\n").expect("pass");
    let o = run(&[
        "trustee",
        "init",
        "--key",
        key.to_str().expect("p"),
        "--passphrase-file",
        pass.to_str().expect("p"),
    ]);
    assert!(o.status.success());
    let text = std::fs::read_to_string(&key).expect("key file");
    let file: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(file["kdf"], Value::from("argon2id"));
    assert!(!text.contains("comm_key"), "the secrets are sealed");
    std::fs::write(&pass, "not the right passphrase\n").expect("pass");
    let o = run(&[
        "trustee",
        "decrypt",
        "--key",
        key.to_str().expect("p"),
        "--passphrase-file",
        pass.to_str().expect("p"),
        "--url",
        "http://127.0.0.1:9",
        "--index",
        "1",
        "--token",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("wrong passphrase"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A short passphrase is refused at creation.
    std::fs::write(&pass, "short\n").expect("pass");
    let o = run(&[
        "trustee",
        "init",
        "--key",
        dir.join("u.key").to_str().expect("p"),
        "--passphrase-file",
        pass.to_str().expect("p"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let _ = Path::new(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}
