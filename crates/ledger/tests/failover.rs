//! Database failover: a log on a PostgreSQL primary with a synchronous standby (streaming
//! replication). A writer appends and reports each acknowledged size; the primary is SIGKILLed
//! mid-append (every one of its processes, as if its machine died) and the standby promoted. The
//! writer, given both hosts with `target_session_attrs=read-write`, reconnects to the new primary by
//! itself, takes the lease and goes on; nothing it acknowledged is missing and every checkpoint
//! still matches the tree.
//!
//! Needs PostgreSQL's server binaries (`/usr/lib/postgresql/<v>/bin`, Debian's `postgresql`, as
//! `.ci/run` installs) and root, to run the two throw-away clusters as the `postgres` user.
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use hanpyo_ledger::checkpoint::{KeyKind, NoteSigner};
use hanpyo_ledger::merkle::{leaf_hash, verify_inclusion};
use hanpyo_ledger::store::{Ledger, LedgerError};

mod cluster;
use cluster::Clusters;

fn signer() -> NoteSigner {
    NoteSigner::new(
        "hanpyo.test/failover",
        SigningKey::from_bytes(&[5; 32]),
        KeyKind::Ed25519,
    )
    .expect("signer")
}

/// Entry `i` as written by the writer's `generation`-th session: a writer that re-opened lower and
/// wrote an index again would leave the later generation's bytes there.
fn entry(i: u64, generation: usize) -> Vec<u8> {
    format!("failover entry {i} of session {generation}").into_bytes()
}

/// When to stop reading the writer: given the last acknowledged size and its sessions so far
/// (`(opened at size, last acknowledged before)`).
type Until = dyn Fn(u64, &[(u64, u64)]) -> bool;

/// The writer's process, killed however the test ends.
struct Writer(Child);

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The child: appends batches for ever, printing each acknowledged size; on any database error it
/// drops the ledger and re-opens it (as a server node's sequencer does), waiting for a primary.
fn writer_child(url: &str) {
    use std::io::Write;
    let mut out = std::io::stdout();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut generation = 0;
    while Instant::now() < deadline {
        let mut ledger = match Ledger::open_postgres(url, signer()) {
            Ok(l) => l,
            Err(LedgerError::Busy(_) | LedgerError::Postgres(_)) => {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            Err(e) => panic!("open: {e}"),
        };
        writeln!(out, "opened {}", ledger.size()).expect("stdout");
        out.flush().expect("flush");
        loop {
            let start = ledger.size();
            let batch: Vec<Vec<u8>> = (start..start + 25).map(|i| entry(i, generation)).collect();
            match ledger.append_batch(&batch) {
                Ok(c) => {
                    writeln!(out, "ack {}", c.size).expect("stdout");
                    out.flush().expect("flush");
                }
                Err(LedgerError::Postgres(_)) => break,
                Err(e) => panic!("append: {e}"),
            }
        }
        generation += 1;
    }
}

#[test]
fn a_synchronous_standby_promoted_after_the_primary_is_killed_holds_every_acknowledged_entry() {
    if let Ok(url) = std::env::var("HANPYO_FAILOVER_CHILD") {
        writer_child(&url);
        return;
    }
    let (clusters, url) = Clusters::replicated("failover");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "a_synchronous_standby_promoted_after_the_primary_is_killed_holds_every_acknowledged_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("HANPYO_FAILOVER_CHILD", &url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().expect("stdout");
    let writer = Writer(child);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Every line the writer printed, in order: `opened[k]` is the size at which its session `k`
    // opened and the last size it had acknowledged before.
    let mut acked = 0u64;
    let mut opened: Vec<(u64, u64)> = Vec::new();
    let read_until = |acked: &mut u64, opened: &mut Vec<(u64, u64)>, cond: &Until| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !cond(*acked, opened) {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|e| {
                    panic!("the writer stopped ({e}): acknowledged {acked}, opened at {opened:?}")
                });
            if let Some(n) = line.strip_prefix("ack ") {
                *acked = n.parse().expect("size");
            } else if let Some((_, n)) = line.split_once("opened ") {
                // (The first may follow the test harness's own "test … " on its line.)
                opened.push((n.parse().expect("size"), *acked));
            }
        }
    };
    read_until(&mut acked, &mut opened, &|a, _| a >= 2_000);
    clusters.kill("primary");
    clusters.promote("standby");
    let promoted = Instant::now();
    // The writer reconnects to the promoted standby, re-opens the log there and goes on.
    read_until(&mut acked, &mut opened, &|a, o| {
        o.len() >= 2 && a >= o[1].0 + 500
    });
    let took_over = promoted.elapsed();
    drop(writer);
    // The last size the primary acknowledged: what the writer printed before its second session.
    let (reopened_at, acked_by_primary) = opened[1];
    println!(
        "primary killed after acknowledging size {acked_by_primary}; the writer went on from size \
         {reopened_at} on the promoted standby {took_over:?} after the promotion"
    );
    assert!(
        reopened_at >= acked_by_primary,
        "the standby holds every entry the primary acknowledged ({reopened_at} < {acked_by_primary})"
    );
    assert!(took_over < Duration::from_secs(30), "{took_over:?}");

    let ledger = Ledger::open_postgres(&url, signer()).expect("reopen on the new primary");
    assert!(ledger.size() >= acked, "{} < {acked}", ledger.size());
    ledger
        .verify_history()
        .expect("every checkpoint matches the tree");
    let size = ledger.size();
    // Entries below the reopening were written once, by the first session; those after, by the
    // second.
    for (i, generation) in [
        (0, 0),
        (acked_by_primary - 1, 0),
        (reopened_at - 1, 0),
        (reopened_at, 1),
        (size - 1, 1),
    ] {
        let e = entry(i, generation);
        assert_eq!(ledger.entry(i).expect("entry"), e, "entry {i}");
        let proof = ledger.inclusion_proof(i, size).expect("proof");
        assert!(verify_inclusion(
            &leaf_hash(&e),
            i,
            size,
            &proof,
            &ledger.root()
        ));
    }
}
