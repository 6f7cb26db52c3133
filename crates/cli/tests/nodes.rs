//! Several `hanpyo serve` nodes on one PostgreSQL database: voters spread over both, the node
//! that is the log's sequencer SIGKILLed again and again while they cast, and afterwards every
//! receipt any node issued verifies against the final record, which `hanpyo verify` accepts.
//! Needs PostgreSQL (`HANPYO_TEST_POSTGRES`, default the local server).
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;
use common::*;

#[path = "../../ledger/tests/cluster/mod.rs"]
mod cluster;
use cluster::Clusters;

/// One test at a time: each starts servers on free ports, and the failover test's clusters pick
/// theirs before starting (another test's server could take one meanwhile).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// POSTs `body` (JSON) with an optional bearer token; answers the status and the JSON answer.
fn post(url: &str, body: &[u8], token: Option<&str>) -> (u16, serde_json::Value) {
    let mut req = agent().post(url).header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let mut resp = req.send(body).expect("post");
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_json().unwrap_or_default())
}

/// A fresh database on the test server; answers its URL.
fn fresh_database(name: &str) -> String {
    let db = format!("hanpyo_nodes_{}_{name}", std::process::id());
    psql(None, &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
    psql(None, &format!("CREATE DATABASE {db}"));
    let base = postgres_admin_url();
    format!("{}/{db}", base.rsplit_once('/').expect("url").0)
}

/// One server node: its process and address.
struct Node {
    name: &'static str,
    child: Child,
    url: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `url` with its connections named `name` (in `pg_stat_activity`, so a test sees which node
/// holds a lease).
fn with_application_name(url: &str, name: &str) -> String {
    if url.starts_with("postgres://") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}application_name={name}")
    } else {
        format!("{url} application_name={name}")
    }
}

/// `hanpyo serve` on `data` and the database at `url`, its connections named `name`.
fn serve(name: &'static str, data: &Path, url: &str) -> Node {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hanpyo"));
    cmd.args(["serve", "--data", data.to_str().expect("p")])
        .args(["--listen", "127.0.0.1:0", "--dev-outbox"])
        .args(["--database", &with_application_name(url, name)]);
    let (child, url) = spawn_until(cmd, "url: ");
    Node { name, child, url }
}

/// The application name of the session holding the sequencer lease of `origin`'s log, if any.
fn sequencer_of(url: &str, origin: &str) -> Option<String> {
    let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    client
        .query_opt(
            "SELECT a.application_name FROM ledger_logs l
             JOIN pg_locks k ON k.locktype = 'advisory' AND k.granted
              AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND k.classid = $2::int8::oid AND k.objid = l.id::oid AND k.objsubid = 2
             JOIN pg_stat_activity a ON a.pid = k.pid
             WHERE l.origin = $1",
            &[
                &origin,
                &i64::from(hanpyo_ledger::store::postgres::LEASE_CLASS),
            ],
        )
        .expect("lease")
        .map(|r| r.get(0))
}

fn voters(data: &Path) -> Vec<Voter> {
    voters_in(&data.join("elections/demo-2026"))
}

/// Casts one ballot through `url`; answers whether a receipt was issued (and stored at
/// `receipt`).
fn cast(url: &str, data: &Path, v: &Voter, choices: &str, receipt: &Path) -> bool {
    Command::new(env!("CARGO_BIN_EXE_hanpyo"))
        .args(["vote", "--url", url, "--election", "demo-2026"])
        .args(["--resident-id", &v.id, "--birth-date", &v.birth])
        .args(["--outbox", data.join("outbox.jsonl").to_str().expect("p")])
        .args(["--contact", &v.contact, "--credential", &v.code])
        .args([
            "--choices",
            choices,
            "--receipt-out",
            receipt.to_str().expect("p"),
        ])
        .output()
        .expect("vote")
        .status
        .success()
}

/// The demo's resident vote (200 voters: each logs in a few times at most, under the limit of
/// live login codes) set up in `data` with its ledger and state in the
/// database at `url`, and two nodes serving it. No witnesses: each node would otherwise start its
/// own.
fn two_nodes(data: &Path, url: &str) -> Arc<Mutex<Vec<Node>>> {
    let manifest = format!("{}/src/demo-manifest.toml", env!("CARGO_MANIFEST_DIR"));
    let mut demo = Command::new(env!("CARGO_BIN_EXE_hanpyo"));
    demo.args([
        "demo",
        "--data",
        data.to_str().expect("p"),
        "--voters",
        "40",
    ])
    .args(["--manifest", &manifest, "--witnesses", "0"])
    .args(["--listen", "127.0.0.1:0", "--database", url]);
    let (mut setup, _) = spawn_until(demo, "url: ");
    let _ = setup.kill();
    let _ = setup.wait();
    Arc::new(Mutex::new(vec![
        serve("node-a", data, url),
        serve("node-b", data, url),
    ]))
}

/// Two voters casting and re-casting, each through its own node (whichever process is at that
/// position now), until stopped; a failed request is simply cast again later.
struct Casting {
    stop: Arc<AtomicBool>,
    issued: Arc<Mutex<Vec<PathBuf>>>,
    failed: Arc<AtomicUsize>,
    threads: Vec<std::thread::JoinHandle<()>>,
    receipts: PathBuf,
}

impl Casting {
    fn start(nodes: &Arc<Mutex<Vec<Node>>>, data: &Path) -> Casting {
        let receipts = data.with_extension("receipts");
        let _ = std::fs::remove_dir_all(&receipts);
        std::fs::create_dir_all(&receipts).expect("dir");
        let voters = voters(data);
        let stop = Arc::new(AtomicBool::new(false));
        let issued = Arc::new(Mutex::new(Vec::<PathBuf>::new()));
        let failed = Arc::new(AtomicUsize::new(0));
        let threads = (0..2)
            .map(|t| {
                let (nodes, stop, issued, failed) =
                    (nodes.clone(), stop.clone(), issued.clone(), failed.clone());
                let (data, receipts, voters) =
                    (data.to_path_buf(), receipts.clone(), voters.clone());
                std::thread::spawn(move || {
                    let mut n = 0usize;
                    while !stop.load(Ordering::SeqCst) {
                        let v = &voters[(t + 2 * n) % voters.len()];
                        let node = nodes.lock().expect("nodes")[t].url.clone();
                        let receipt = receipts.join(format!("{t}-{n}.json"));
                        let choices = format!("{};{};", n % 2, (n + 1) % 2);
                        if cast(&node, &data, v, &choices, &receipt) {
                            issued.lock().expect("issued").push(receipt);
                        } else {
                            failed.fetch_add(1, Ordering::SeqCst);
                        }
                        n += 1;
                    }
                })
            })
            .collect();
        Casting {
            stop,
            issued,
            failed,
            threads,
            receipts,
        }
    }

    fn issued(&self) -> usize {
        self.issued.lock().expect("issued").len()
    }

    /// Waits until `n` receipts were issued in all; answers how long that took.
    fn wait_for(&self, n: usize, within: Duration) -> Duration {
        let started = Instant::now();
        while self.issued() < n {
            assert!(
                started.elapsed() < within,
                "{} of {n} receipts after {within:?} ({} failed requests)",
                self.issued(),
                self.failed.load(Ordering::SeqCst)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        started.elapsed()
    }

    /// Stops casting; answers the receipts issued and how many requests failed.
    fn stop(self) -> (Vec<PathBuf>, usize, PathBuf) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads {
            t.join().expect("voter");
        }
        let issued = self.issued.lock().expect("issued").clone();
        (issued, self.failed.load(Ordering::SeqCst), self.receipts)
    }
}

/// An administrator closes and tallies through each node in turn (whichever is the sequencer: an
/// action is forwarded like a ballot; the demo's trustees decrypt at once); the record, from a
/// node, verifies and holds every ballot a receipt was issued for.
fn close_tally_and_check(
    data: &Path,
    url: &str,
    nodes: &Arc<Mutex<Vec<Node>>>,
    issued: &[PathBuf],
) {
    let password = data.with_extension("password");
    std::fs::write(&password, "a long enough password\n").expect("password");
    let o = Command::new(env!("CARGO_BIN_EXE_hanpyo"))
        .args(["admin", "create-user", "--data", data.to_str().expect("p")])
        .args(["--name", "chair", "--database", url])
        .args(["--password-file", password.to_str().expect("p")])
        .output()
        .expect("create-user");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (a, b) = {
        let nodes = nodes.lock().expect("nodes");
        (nodes[0].url.clone(), nodes[1].url.clone())
    };
    let login = post(
        &format!("{b}/api/v1/admin/login"),
        br#"{"name": "chair", "password": "a long enough password"}"#,
        None,
    );
    assert_eq!(login.0, 200, "{}", login.1);
    let token = login.1["session"].as_str().expect("session").to_string();
    for (node, action, phase) in [(&b, "close", "closed"), (&a, "tally", "published")] {
        let (status, v) = post(
            &format!("{node}/e/demo-2026/api/v1/admin/{action}"),
            b"",
            Some(&token),
        );
        assert_eq!(
            (status, v["phase"].as_str()),
            (200, Some(phase)),
            "{action}: {v}"
        );
    }
    let record = data.with_extension("record");
    let _ = std::fs::remove_dir_all(&record);
    let o = Command::new(env!("CARGO_BIN_EXE_hanpyo"))
        .args(["download", "--url", &a, "--election", "demo-2026"])
        .args(["--out", record.to_str().expect("p")])
        .output()
        .expect("download");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new(env!("CARGO_BIN_EXE_hanpyo"))
        .args(["verify", record.to_str().expect("p")])
        .output()
        .expect("verify");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let mut missing = 0;
    for r in issued {
        let o = Command::new(env!("CARGO_BIN_EXE_hanpyo"))
            .args(["receipt", "verify", "--record", record.to_str().expect("p")])
            .arg(r)
            .output()
            .expect("receipt verify");
        if !o.status.success() {
            missing += 1;
            eprintln!("{}: {}", r.display(), String::from_utf8_lossy(&o.stdout));
        }
    }
    assert_eq!(missing, 0, "acknowledged ballots missing from the record");
    let _ = std::fs::remove_dir_all(&record);
    let _ = std::fs::remove_file(&password);
}

#[test]
fn two_nodes_keep_every_receipt_while_the_sequencer_is_killed_again_and_again() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let data = scratch("nodes-kill");
    let url = fresh_database("kill");
    let nodes = two_nodes(&data, &url);
    let casting = Casting::start(&nodes, &data);
    // Kill whichever node is the sequencer, at least ten times; restart it at once.
    let origin = "hanpyo.local/demo-2026";
    let mut kills = 0;
    let deadline = Instant::now() + Duration::from_secs(240);
    while kills < 10 {
        assert!(Instant::now() < deadline, "only {kills} kills in time");
        std::thread::sleep(Duration::from_millis(1500));
        let Some(holder) = sequencer_of(&url, origin) else {
            continue;
        };
        let mut nodes = nodes.lock().expect("nodes");
        let i = nodes
            .iter()
            .position(|n| n.name == holder)
            .unwrap_or_else(|| panic!("the lease is held by {holder}"));
        let name = nodes[i].name;
        let _ = nodes[i].child.kill(); // SIGKILL
        let _ = nodes[i].child.wait();
        nodes[i] = serve(name, &data, &url);
        kills += 1;
    }
    let (issued, failed, receipts) = casting.stop();
    assert!(
        issued.len() >= 20,
        "{} receipts issued ({failed} failed requests)",
        issued.len()
    );
    close_tally_and_check(&data, &url, &nodes, &issued);
    eprintln!(
        "{kills} sequencer kills: {} receipts issued, all in the verified record; {failed} requests failed and were cast again",
        issued.len()
    );
    drop(nodes);
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_dir_all(&receipts);
}

/// The database machine dies under two nodes: its primary is SIGKILLed (every process) while
/// voters cast, and its synchronous standby promoted. The nodes, given both hosts, reconnect by
/// themselves; the ballots go on; every receipt issued before and after is in the record.
#[test]
fn two_nodes_go_on_after_the_database_fails_over_to_its_standby() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (clusters, url) = Clusters::replicated("nodes-failover");
    let data = scratch("nodes-failover-data");
    let nodes = two_nodes(&data, &url);
    let casting = Casting::start(&nodes, &data);
    casting.wait_for(20, Duration::from_secs(120));
    clusters.kill("primary");
    let before = casting.issued();
    clusters.promote("standby");
    let resumed = casting.wait_for(before + 1, Duration::from_secs(120));
    casting.wait_for(before + 20, Duration::from_secs(120));
    let (issued, failed, receipts) = casting.stop();
    close_tally_and_check(&data, &url, &nodes, &issued);
    eprintln!(
        "database failover: {before} receipts before the primary was killed, the first after the promotion {resumed:?} later; {} in all, every one in the verified record; {failed} requests failed and were cast again",
        issued.len()
    );
    drop(nodes);
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_dir_all(&receipts);
}

/// Idle, two nodes wait for the database's notifications instead of polling it: a few statements
/// a second in all for the demo's two elections (polling made about forty). And a ballot cast
/// through the node that is not the sequencer is recorded as soon as one cast through the
/// sequencer: the idle sequencer is woken by the forwarded row, and the asking node by its answer.
#[test]
fn idle_nodes_are_woken_by_notifications_instead_of_polling() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let data = scratch("nodes-idle");
    let url = fresh_database("idle");
    let db = url.rsplit_once('/').expect("url").1.to_string();
    let nodes = two_nodes(&data, &url);
    let origin = "hanpyo.local/demo-2026";
    let deadline = Instant::now() + Duration::from_secs(60);
    let sequencer = loop {
        if let Some(holder) = sequencer_of(&url, origin) {
            break holder;
        }
        assert!(Instant::now() < deadline, "no sequencer");
        std::thread::sleep(Duration::from_millis(200));
    };
    // Statistics reach pg_stat_database up to 10 s late: a long enough window.
    let transactions = || -> i64 {
        psql(
            None,
            &format!(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '{db}'"
            ),
        )
        .trim()
        .parse()
        .expect("count")
    };
    std::thread::sleep(Duration::from_secs(5));
    let before = transactions();
    std::thread::sleep(Duration::from_secs(30));
    let per_second = (transactions() - before) as f64 / 30.0;
    eprintln!("idle: {per_second:.1} statements a second for two nodes and two elections");
    assert!(
        per_second < 10.0,
        "{per_second:.1} statements a second while idle"
    );
    // Three ballots through each node, the sequencer's first (a baseline from the same run).
    let (direct, forwarded) = {
        let nodes = nodes.lock().expect("nodes");
        let at = |follower: bool| {
            nodes
                .iter()
                .find(|n| (n.name == sequencer) != follower)
                .expect("node")
                .url
                .clone()
        };
        (at(false), at(true))
    };
    let voters = voters(&data);
    let mut took = Vec::new();
    for (k, node) in [&direct, &forwarded].into_iter().enumerate() {
        let started = Instant::now();
        for i in 0..3 {
            let receipt = data.join(format!("idle-{k}-{i}.json"));
            assert!(
                cast(node, &data, &voters[k * 3 + i], "0;1;", &receipt),
                "cast"
            );
            // Idle again before the next, so each forwarded ballot must wake the sequencer.
            std::thread::sleep(Duration::from_secs(1));
        }
        took.push(started.elapsed());
    }
    eprintln!(
        "three ballots through the sequencer: {:?}; through the other node: {:?}",
        took[0], took[1]
    );
    // Were the sequencer left to its safety net (a look every 15 s), each would wait 7.5 s.
    assert!(
        took[1] < took[0] + Duration::from_secs(6),
        "forwarded ballots took {:?}, direct ones {:?}",
        took[1],
        took[0]
    );
    drop(nodes);
    let _ = std::fs::remove_dir_all(&data);
}
