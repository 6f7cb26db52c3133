//! The durable ledger, every test on both engines (SQLite and PostgreSQL): proofs from stored
//! tiles equal the reference, reopening, bad input, receipts, witnesses, one writer at a time, and
//! crash safety under SIGKILL.
mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::Db;

use ed25519_dalek::SigningKey;
use hanpyo_ledger::checkpoint::{Checkpoint, KeyKind, NoteSigner, SignedNote};
use hanpyo_ledger::merkle::{
    Hash, consistency_proof, inclusion_proof, leaf_hash, root_of, verify_consistency,
    verify_inclusion,
};
use hanpyo_ledger::store::{Ledger, LedgerError};
use hanpyo_ledger::tiles::TILE_WIDTH;
use hanpyo_ledger::witness::{Witness, WitnessError, WitnessState};

const ORIGIN: &str = "hanpyo.test/ledger";

fn signer() -> NoteSigner {
    NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[42; 32]), KeyKind::Ed25519).expect("signer")
}

/// Each test, once per engine (`on_sqlite::NAME`, `on_postgres::NAME`), given a maker of scratch databases.
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[test]
            fn $name() {
                super::$name(&|n: &str| super::Db::sqlite(&format!("{}-{n}", stringify!($name))))
            })*
        }
        mod on_postgres {
            $(#[test]
            fn $name() {
                super::$name(&|n: &str| super::Db::postgres(&format!("{}_{n}", stringify!($name))))
            })*
        }
    };
}

on_both_engines!(
    stored_tree_matches_the_reference_and_survives_reopening,
    bad_input_is_refused_and_changes_nothing,
    receipts_and_witnesses,
    one_writer_at_a_time,
    a_rewritten_history_is_refused_on_open,
    sigkill_at_random_moments_loses_no_acknowledged_entry,
);

type Maker<'a> = &'a dyn Fn(&str) -> Db;

fn entry(i: u64) -> Vec<u8> {
    format!("entry number {i}").into_bytes()
}

fn cp_of(note: &str) -> Checkpoint {
    Checkpoint::parse_body(&SignedNote::parse(note).expect("note").body).expect("body")
}

fn stored_tree_matches_the_reference_and_survives_reopening(make: Maker) {
    let db = make("reference");
    let mut reference: Vec<Hash> = Vec::new();
    let mut ledger = db.open(signer()).expect("open");
    // Batches of irregular sizes crossing tile boundaries (256 leaves) and a level-1 tile boundary.
    let mut i = 0u64;
    let batches: Vec<usize> = [1usize, 2, 3, 250, 1, 600, 7, 1000, 255, 256, 257]
        .into_iter()
        .chain([9_000; 7])
        .chain([1_000])
        .collect();
    for &batch in &batches {
        let es: Vec<Vec<u8>> = (0..batch as u64).map(|k| entry(i + k)).collect();
        let commit = ledger.append_batch(&es).expect("append");
        assert_eq!(commit.first_index, i);
        for e in &es {
            reference.push(leaf_hash(e));
        }
        i += batch as u64;
        assert_eq!(commit.size, i);
        let cp = cp_of(&commit.checkpoint);
        assert_eq!((cp.size, cp.root), (i, root_of(&reference)));
    }
    let n = reference.len() as u64;
    assert!(n > TILE_WIDTH * TILE_WIDTH, "crosses a level-1 tile");
    // Proofs from tiles equal the in-memory reference at many sizes.
    for size in [
        1u64, 2, 3, 6, 255, 256, 257, 1000, 65_535, 65_536, 65_537, n,
    ] {
        let tree = &reference[..size as usize];
        for index in [0, size / 3, size / 2, size - 1] {
            let p = ledger.inclusion_proof(index, size).expect("proof");
            assert_eq!(
                p,
                inclusion_proof(tree, index as usize).expect("ref"),
                "{index}/{size}"
            );
        }
        for m in [1u64, size / 2, size - 1, size]
            .into_iter()
            .filter(|&m| m >= 1)
        {
            let p = ledger.consistency_proof(m, size).expect("proof");
            assert_eq!(
                p,
                consistency_proof(tree, m as usize).expect("ref"),
                "{m}→{size}"
            );
        }
    }
    // Tiles hold the leaf hashes; a partial width is a prefix.
    let tile0 = ledger.tile(0, 1, 256).expect("tile");
    assert_eq!(tile0[..32], reference[256]);
    assert_eq!(ledger.tile(0, 1, 10).expect("partial").len(), 320);
    assert!(ledger.tile(0, 1_000_000, 256).is_err());
    let bundle = ledger.entry_bundle(0, 2).expect("bundle");
    assert_eq!(&bundle[4..4 + entry(0).len()], &entry(0)[..]);
    drop(ledger);

    let mut ledger = db.open_waiting(signer).expect("reopen");
    assert_eq!(ledger.size(), n);
    assert_eq!(ledger.root(), root_of(&reference));
    assert_eq!(ledger.verify_history().expect("history"), batches.len());
    let commit = ledger.append_batch(&[entry(n)]).expect("continues");
    reference.push(leaf_hash(&entry(n)));
    assert_eq!(cp_of(&commit.checkpoint).root, root_of(&reference));
    assert_eq!(
        ledger.index_of(&leaf_hash(&entry(5))).expect("lookup"),
        Some(5)
    );
    assert_eq!(ledger.entry(5).expect("entry"), entry(5));
}

fn bad_input_is_refused_and_changes_nothing(make: Maker) {
    let db = make("bad");
    let mut ledger = db.open(signer()).expect("open");
    ledger.append_batch(&[entry(0)]).expect("append");
    let before = (
        ledger.size(),
        ledger.root(),
        ledger.latest_checkpoint().expect("cp"),
    );
    let empty: Vec<Vec<u8>> = Vec::new();
    assert!(matches!(
        ledger.append_batch(&empty),
        Err(LedgerError::BadBatch(0))
    ));
    let huge = vec![0u8; 4 * 1024 * 1024 + 1];
    assert!(matches!(
        ledger.append_batch(&[entry(1), huge]),
        Err(LedgerError::BadEntry { index: 1, .. })
    ));
    assert!(matches!(
        ledger.append_batch(&[Vec::new()]),
        Err(LedgerError::BadEntry { index: 0, len: 0 })
    ));
    assert_eq!(
        (
            ledger.size(),
            ledger.root(),
            ledger.latest_checkpoint().expect("cp")
        ),
        before
    );
    ledger.close().expect("close");
    assert!(matches!(
        ledger.append_batch(&[entry(1)]),
        Err(LedgerError::Closed)
    ));
    drop(ledger);
    let mut ledger = db.open_waiting(signer).expect("reopen");
    assert!(ledger.is_closed());
    assert!(matches!(
        ledger.append_batch(&[entry(1)]),
        Err(LedgerError::Closed)
    ));
    assert_eq!(ledger.size(), 1);
    let other = NoteSigner::new(
        "other.log",
        SigningKey::from_bytes(&[1; 32]),
        KeyKind::Ed25519,
    )
    .expect("s");
    match &db {
        // One file holds one log.
        Db::Sqlite(_) => assert!(matches!(db.open(other), Err(LedgerError::WrongLog { .. }))),
        // One database holds many logs, each apart from the others.
        Db::Postgres { .. } => {
            let mut other = db.open(other).expect("a second log");
            assert_eq!(other.size(), 0);
            assert!(!other.is_closed());
            other.append_batch(&[entry(7), entry(8)]).expect("append");
            assert_eq!(other.index_of(&leaf_hash(&entry(0))).expect("lookup"), None);
            assert_eq!(ledger.size(), 1);
            assert_eq!(ledger.entry(0).expect("entry"), entry(0));
            assert!(ledger.entry(1).is_err());
        }
    }
}

fn receipts_and_witnesses(make: Maker) {
    let db = make("receipts");
    let mut ledger = db.open(signer()).expect("open");
    let mut witness = Witness::new(
        "witness.example",
        SigningKey::from_bytes(&[7; 32]),
        WitnessState::default(),
    )
    .expect("w");
    witness.add_log(ORIGIN, signer().verifier().key());
    let stranger = Witness::new(
        "stranger.example",
        SigningKey::from_bytes(&[8; 32]),
        WitnessState::default(),
    )
    .expect("w");

    let c1 = ledger
        .append_batch(&[entry(0), entry(1), entry(2)])
        .expect("append");
    let line = witness
        .cosign(&c1.checkpoint, 0, &[], 1000)
        .expect("first checkpoint: trusted on first use");
    ledger.add_cosignature(3, &line).expect("store cosignature");
    let c2 = ledger.append_batch(&[entry(3), entry(4)]).expect("append");
    let proof = ledger.consistency_proof(3, 5).expect("proof");
    // Wrong old size → conflict (the caller must start from the witness's latest).
    assert!(matches!(
        witness.cosign(&c2.checkpoint, 2, &proof, 1001),
        Err(WitnessError::Conflict { latest: 3, .. })
    ));
    let line = witness
        .cosign(&c2.checkpoint, 3, &proof, 1001)
        .expect("consistent");
    ledger.add_cosignature(5, &line).expect("store");
    // Rollback: the size-3 checkpoint again.
    assert!(matches!(
        witness.cosign(&ledger.checkpoint_at(3).expect("cp"), 5, &[], 1002),
        Err(WitnessError::Rollback { latest: 5, new: 3 })
    ));
    // A fork: another log with the same key and origin but different history.
    let fork_db = make("fork");
    let mut fork = fork_db.open(signer()).expect("open");
    fork.append_batch(&[entry(0), entry(1), entry(2), entry(3), entry(99)])
        .expect("append");
    let forked = fork.append_batch(&[entry(5)]).expect("append");
    let fproof = fork.consistency_proof(5, 6).expect("proof");
    assert!(matches!(
        witness.cosign(&forked.checkpoint, 5, &fproof, 1003),
        Err(WitnessError::Fork { .. })
    ));
    let same_size_fork = fork.checkpoint_at(5).expect("cp");
    assert!(matches!(
        witness.cosign(&same_size_fork, 5, &[], 1003),
        Err(WitnessError::Fork { .. })
    ));
    // Unknown log, bad signature.
    let other_signer = NoteSigner::new(
        "other.log",
        SigningKey::from_bytes(&[1; 32]),
        KeyKind::Ed25519,
    )
    .expect("s");
    let body = Checkpoint {
        origin: "other.log".into(),
        size: 1,
        root: [0; 32],
    }
    .body();
    let mut note = SignedNote::new(body.clone());
    note.add_signature_line(&other_signer.signature_line(&body, 0))
        .expect("line");
    assert!(matches!(
        witness.cosign(&note.to_text(), 0, &[], 1),
        Err(WitnessError::UnknownLog(_))
    ));
    let mut tampered = c2.checkpoint.clone().into_bytes();
    let at = tampered.len() - 10;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    assert!(
        witness
            .cosign(std::str::from_utf8(&tampered).expect("utf8"), 5, &[], 1)
            .is_err()
    );

    // A receipt against the latest checkpoint, with one witness required.
    let receipt = ledger.receipt(&leaf_hash(&entry(1))).expect("receipt");
    let w = [witness.verifier().clone()];
    let cp = receipt
        .verify(signer().verifier(), &w, 1)
        .expect("valid receipt");
    assert_eq!(cp.size, 5);
    assert!(
        receipt
            .verify(signer().verifier(), &[stranger.verifier().clone()], 1)
            .is_err()
    );
    let json = serde_json::to_string(&receipt).expect("json");
    let back: hanpyo_ledger::receipt::Receipt = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, receipt);
    let mut wrong = receipt.clone();
    wrong.index = 2;
    assert!(wrong.verify(signer().verifier(), &w, 1).is_err());
    let mut wrong = receipt.clone();
    wrong.leaf_hash = hex::encode(leaf_hash(&entry(7)));
    assert!(wrong.verify(signer().verifier(), &w, 1).is_err());
    let mut wrong = receipt.clone();
    wrong.inclusion_proof[0] = hex::encode([0u8; 32]);
    assert!(wrong.verify(signer().verifier(), &w, 1).is_err());
    assert!(
        serde_json::from_str::<hanpyo_ledger::receipt::Receipt>(
            &json.replace("\"version\"", "\"extra\":1,\"version\"")
        )
        .is_err()
    );
}

/// The child side of the crash test: appends batches forever, printing each acknowledged size
/// after its commit returned.
fn crash_child(locator: &str) {
    use std::io::Write;
    let mut ledger = common::open_locator(locator, signer()).expect("child open");
    let mut out = std::io::stdout();
    loop {
        let start = ledger.size();
        let batch: Vec<Vec<u8>> = (start..start + 37).map(entry).collect();
        let c = ledger.append_batch(&batch).expect("append");
        writeln!(out, "{}", c.size).expect("stdout");
        out.flush().expect("flush");
    }
}

fn sigkill_at_random_moments_loses_no_acknowledged_entry(make: Maker) {
    if let Ok(locator) = std::env::var("HANPYO_CRASH_CHILD") {
        crash_child(&locator);
        return;
    }
    let db = make("crash");
    let test_name = match db {
        Db::Sqlite(_) => "on_sqlite::sigkill_at_random_moments_loses_no_acknowledged_entry",
        Db::Postgres { .. } => "on_postgres::sigkill_at_random_moments_loses_no_acknowledged_entry",
    };
    let exe = std::env::current_exe().expect("test binary");
    let mut acknowledged = 0u64;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..24 {
        let mut child = Command::new(&exe)
            .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
            .env("HANPYO_CRASH_CHILD", db.locator())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        // xorshift: a reproducible "random" delay of 20–150 ms
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(std::time::Duration::from_millis(20 + seed % 130));
        child.kill().expect("SIGKILL");
        let output = child.wait_with_output().expect("wait");
        let text = String::from_utf8_lossy(&output.stdout);
        let last_ack = text
            .lines()
            .filter_map(|l| l.trim().parse::<u64>().ok())
            .max()
            .unwrap_or(acknowledged);
        acknowledged = acknowledged.max(last_ack);
        // A killed writer's lease goes with its connection: the next writer takes over.
        let ledger = db
            .open_waiting(signer)
            .unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
        assert!(
            ledger.size() >= acknowledged,
            "round {round}: lost acknowledged entries ({} < {acknowledged})",
            ledger.size()
        );
        ledger
            .verify_history()
            .expect("every checkpoint matches the tree");
        let size = ledger.size();
        if size > 0 {
            for i in [0, size / 2, size - 1] {
                assert_eq!(ledger.entry(i).expect("entry"), entry(i));
                let p = ledger.inclusion_proof(i, size).expect("proof");
                assert!(verify_inclusion(
                    &leaf_hash(&entry(i)),
                    i,
                    size,
                    &p,
                    &ledger.root()
                ));
            }
            if acknowledged > 0 {
                let old = cp_of(
                    &ledger
                        .checkpoint_at(acknowledged)
                        .expect("acknowledged checkpoint"),
                );
                let p = ledger.consistency_proof(acknowledged, size).expect("proof");
                assert!(verify_consistency(
                    acknowledged,
                    size,
                    &old.root,
                    &ledger.root(),
                    &p
                ));
            }
        }
        acknowledged = size;
    }
    assert!(acknowledged > 0, "the writer made progress");
}

/// Two writers of one log: with PostgreSQL the second waits for the first's lease and then goes on
/// from the stored state; with SQLite (no lease) a stale writer's append is refused whole by the
/// compare-and-set on the size. Either way no index is written twice.
fn one_writer_at_a_time(make: Maker) {
    let db = make("writers");
    let mut first = db.open(signer()).expect("open");
    first.append_batch(&[entry(0), entry(1)]).expect("append");
    match &db {
        Db::Postgres { .. } => {
            assert!(matches!(db.open(signer()), Err(LedgerError::Busy(o)) if o == ORIGIN));
            first
                .append_batch(&[entry(2)])
                .expect("still the sequencer");
            drop(first);
            let mut next = db.open_waiting(signer).expect("takes over");
            assert_eq!(next.size(), 3);
            let c = next.append_batch(&[entry(3)]).expect("append");
            assert_eq!(c.first_index, 3);
            assert_eq!(next.verify_history().expect("history"), 3);
            // Should a second writer ever get past the lease (a pooler in transaction mode),
            // the compare-and-set refuses whatever the overtaken one writes.
            let move_size =
                |sql: &str| db.execute("UPDATE meta SET value = value WHERE key = ?1", sql, "x");
            move_size("UPDATE ledger_logs SET size = size + length($1)");
            assert!(matches!(
                next.append_batch(&[entry(99)]),
                Err(LedgerError::Superseded {
                    expected: 4,
                    found: 5
                })
            ));
            assert!(matches!(next.close(), Err(LedgerError::Superseded { .. })));
            assert!(!next.is_closed());
            assert!(next.entry(4).is_err(), "nothing was written");
            move_size("UPDATE ledger_logs SET size = size - length($1)");
            next.append_batch(&[entry(4)]).expect("in step again");
        }
        Db::Sqlite(_) => {
            let mut stale = db.open(signer()).expect("second handle");
            first.append_batch(&[entry(2)]).expect("append");
            let before = first.latest_checkpoint().expect("cp");
            assert!(matches!(
                stale.append_batch(&[entry(99)]),
                Err(LedgerError::Superseded {
                    expected: 2,
                    found: 3
                })
            ));
            assert_eq!(stale.size(), 2, "a refused append changes nothing");
            drop(stale);
            let reopened = db.open(signer()).expect("reopen");
            assert_eq!(reopened.size(), 3);
            assert_eq!(reopened.latest_checkpoint().expect("cp"), before);
            assert_eq!(reopened.entry(2).expect("entry"), entry(2));
        }
    }
}

/// A sequencer whose lease session is ended (its node cut off, an operator's
/// `pg_terminate_backend`) loses its lease with it: even though the connection it writes through
/// is alive, its next append is refused (`LeaseLost`) and writes nothing, and the next writer
/// takes over from the stored log within seconds. With every session of the node ended, the
/// same.
#[test]
fn postgres_a_sequencer_cut_off_writes_nothing_and_the_next_takes_over() {
    let db = Db::postgres("cutoff");
    let Db::Postgres { url, name } = &db else {
        unreachable!()
    };
    let mut admin =
        postgres::Client::connect(&common::admin_url(), postgres::NoTls).expect("admin");
    // First the lease session alone (the one `pg_locks` names as the lease's holder), then all.
    let cut_lease = "SELECT count(pg_terminate_backend(k.pid)) FROM pg_locks k \
         JOIN pg_stat_activity a ON a.pid = k.pid \
         WHERE k.locktype = 'advisory' AND a.datname = $1 AND a.application_name = $2";
    let cut_all = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = $1 AND application_name = $2";
    for (round, (app, cut)) in [("cut_lease", cut_lease), ("cut_all", cut_all)]
        .into_iter()
        .enumerate()
    {
        let mut old = Ledger::open_postgres(&format!("{url} application_name={app}"), signer())
            .expect("open");
        let size = old.size();
        old.append_batch(&[entry(size), entry(size + 1)])
            .expect("append");
        let ended: i64 = admin
            .query_one(cut, &[name, &app])
            .expect("terminate")
            .get(0);
        assert!(ended >= 1, "{app}");
        let started = std::time::Instant::now();
        let mut next = db.open_waiting(signer).expect("takes over");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(next.size(), size + 2);
        next.append_batch(&[entry(size + 2)]).expect("append");
        let refused = old.append_batch(&[entry(99)]);
        if round == 0 {
            assert!(
                matches!(refused, Err(LedgerError::LeaseLost)),
                "{refused:?}"
            );
        } else {
            assert!(refused.is_err(), "the old sessions are gone");
        }
        assert!(old.check_writer().is_err());
        drop(old);
        drop(next);
    }
    let ledger = db.open_waiting(signer).expect("reopen");
    assert_eq!(ledger.size(), 6);
    assert_eq!(ledger.entry(2).expect("entry"), entry(2));
    assert_eq!(ledger.entry(5).expect("entry"), entry(5));
    assert_eq!(ledger.verify_history().expect("history"), 4);
}

/// A process writing or following many logs in one database holds at most
/// `POOL_SIZE + 1` connections to it, however many logs (a node's elections) it has open, and
/// every log still takes its own lease.
#[test]
fn postgres_many_logs_share_a_few_connections() {
    const LOGS: usize = 40;
    let db = Db::postgres("many");
    let Db::Postgres { url, name } = &db else {
        unreachable!()
    };
    let url = format!("{url} application_name=many_logs");
    let signer_of = |i: usize| {
        let key = SigningKey::from_bytes(&[i as u8 + 1; 32]);
        NoteSigner::new(&format!("many-{i}.example/log"), key, KeyKind::Ed25519).expect("signer")
    };
    let mut writers: Vec<Ledger> = (0..LOGS)
        .map(|i| Ledger::open_postgres(&url, signer_of(i)).expect("open"))
        .collect();
    // A second writer of the same log, in this process too, is refused.
    assert!(matches!(
        Ledger::open_postgres(&url, signer_of(0)),
        Err(LedgerError::Busy(_))
    ));
    std::thread::scope(|scope| {
        for chunk in writers.chunks_mut(LOGS / 4) {
            scope.spawn(move || {
                for round in 0..3u64 {
                    for w in chunk.iter_mut() {
                        w.append_batch(&[entry(round)]).expect("append");
                    }
                }
            });
        }
    });
    let followers: Vec<Ledger> = (0..LOGS)
        .map(|i| Ledger::follow_postgres(&url, signer_of(i)).expect("follow"))
        .collect();
    assert!(followers.iter().all(|f| f.size() == 3));
    let sessions: i64 = postgres::Client::connect(&common::admin_url(), postgres::NoTls)
        .expect("admin")
        .query_one(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = $1 AND application_name = 'many_logs'",
            &[name],
        )
        .expect("count")
        .get(0);
    let limit = hanpyo_ledger::store::postgres::POOL_SIZE as i64 + 1;
    assert!(
        (2..=limit).contains(&sessions),
        "{sessions} sessions for {LOGS} logs"
    );
    for w in &writers {
        w.check_writer().expect("holds its lease");
    }
    drop(writers);
    // Dropped writers gave their leases back: another writer takes each at once.
    let again = Ledger::open_postgres(&url, signer_of(LOGS - 1)).expect("lease free");
    assert_eq!(again.size(), 3);
}

/// A node that is not the sequencer follows the log: it sees each commit after `refresh`, proves
/// and builds receipts exactly as the writer does, and may write nothing. A writer overtaken
/// behind its back finds out with `check_writer`.
#[test]
fn postgres_a_follower_reads_what_the_writer_commits_and_writes_nothing() {
    let db = Db::postgres("follower");
    let Db::Postgres { url, .. } = &db else {
        unreachable!()
    };
    let mut writer = Ledger::open_postgres(url, signer()).expect("writer");
    writer.append_batch(&[entry(0), entry(1)]).expect("append");
    let mut follower = Ledger::follow_postgres(url, signer()).expect("follower");
    assert!(follower.is_follower() && !writer.is_follower());
    assert_eq!((follower.size(), follower.root()), (2, writer.root()));
    assert!(!follower.refresh().expect("refresh"), "nothing new");
    // Across a tile boundary, in several commits.
    for i in 0..3u64 {
        let batch: Vec<Vec<u8>> = (0..200).map(|k| entry(2 + i * 200 + k)).collect();
        writer.append_batch(&batch).expect("append");
    }
    assert_eq!(follower.size(), 2, "not before refresh");
    assert!(follower.refresh().expect("refresh"));
    assert_eq!((follower.size(), follower.root()), (602, writer.root()));
    for i in [0, 255, 256, 601] {
        let leaf = leaf_hash(&entry(i));
        assert_eq!(
            writer.receipt(&leaf).expect("receipt"),
            follower.receipt(&leaf).expect("receipt"),
            "entry {i}"
        );
        assert_eq!(follower.entry(i).expect("entry"), entry(i));
    }
    // The writer goes on: until it refreshes, the follower answers for the tree it holds.
    writer.append_batch(&[entry(602)]).expect("append");
    let receipt = follower.receipt(&leaf_hash(&entry(601))).expect("receipt");
    assert_eq!(cp_of(&receipt.checkpoint).size, 602);
    assert_eq!(
        cp_of(&follower.latest_checkpoint().expect("cp").expect("some")).size,
        602
    );
    assert!(follower.refresh().expect("refresh"));
    assert_eq!(follower.size(), 603);
    // Every write is refused, and nothing reaches the database.
    assert!(matches!(
        follower.append_batch(&[entry(999)]),
        Err(LedgerError::Busy(_))
    ));
    assert!(matches!(follower.close(), Err(LedgerError::Busy(_))));
    assert!(matches!(
        follower.add_cosignature(603, "— w AAAA"),
        Err(LedgerError::Busy(_))
    ));
    assert!(matches!(follower.check_writer(), Err(LedgerError::Busy(_))));
    writer.check_writer().expect("the writer holds its log");
    assert_eq!(
        Ledger::follow_postgres(url, signer())
            .expect("again")
            .size(),
        603
    );
    // The log's row advanced behind the writer's back: it is told, and follows.
    postgres::Client::connect(url, postgres::NoTls)
        .expect("connect")
        .execute("UPDATE ledger_logs SET size = size + 1", &[])
        .expect("advance");
    assert!(matches!(
        writer.check_writer(),
        Err(LedgerError::Superseded {
            expected: 603,
            found: 604
        })
    ));
}

/// Every committed write of a log is announced on `hanpyo_ledger` with the log's origin; a refused
/// write is not. Who holds the lease is answered without a statement per log, and a writer whose
/// write failed compares sizes before it says it still holds its log.
#[test]
fn postgres_commits_are_announced_and_leases_looked_at_cheaply() {
    use postgres::fallible_iterator::FallibleIterator;
    let db = Db::postgres("notify");
    let Db::Postgres { url, .. } = &db else {
        unreachable!()
    };
    let mut listener = postgres::Client::connect(url, postgres::NoTls).expect("listener");
    listener
        .batch_execute(&format!(
            "LISTEN {}",
            hanpyo_ledger::store::postgres::NOTIFY_CHANNEL
        ))
        .expect("listen");
    let mut heard = |within: Duration| -> Vec<String> {
        let mut n = listener.notifications();
        let mut it = n.timeout_iter(within);
        let mut out = Vec::new();
        while let Some(x) = it.next().expect("notification") {
            out.push(x.payload().to_string());
        }
        out
    };
    let origin = signer().verifier().name().to_string();
    let mut writer = Ledger::open_postgres(url, signer()).expect("writer");
    assert!(
        heard(Duration::from_millis(200)).is_empty(),
        "opening writes nothing"
    );
    writer.append_batch(&[entry(0)]).expect("append");
    writer.append_batch(&[entry(1), entry(2)]).expect("append");
    assert_eq!(
        heard(Duration::from_millis(500)),
        vec![origin.clone(), origin.clone()]
    );
    let follower = Ledger::follow_postgres(url, signer()).expect("follower");
    assert!(follower.lease_taken().expect("look"), "the writer holds it");
    assert!(matches!(follower.holds_lease(), Err(LedgerError::Busy(_))));
    writer.holds_lease().expect("the writer holds its lease");
    // Advanced behind the writer's back: its append is refused, announces nothing, and from then
    // on the cheap check compares sizes too.
    postgres::Client::connect(url, postgres::NoTls)
        .expect("connect")
        .execute("UPDATE ledger_logs SET size = size + 1", &[])
        .expect("advance");
    assert!(matches!(
        writer.append_batch(&[entry(3)]),
        Err(LedgerError::Superseded { .. })
    ));
    assert!(
        heard(Duration::from_millis(500)).is_empty(),
        "a refused write"
    );
    assert!(matches!(
        writer.holds_lease(),
        Err(LedgerError::Superseded { .. })
    ));
    drop(writer);
    // The look at the leases is at most a second old.
    std::thread::sleep(Duration::from_millis(1100));
    assert!(!follower.lease_taken().expect("look"), "given back");
}

/// The schema is migrated once, by whichever node comes first; migrating again applies nothing.
#[test]
fn postgres_schema_migrates_once() {
    let db = Db::postgres("migrate");
    let Db::Postgres { url, .. } = &db else {
        unreachable!()
    };
    let mut client = hanpyo_ledger::store::postgres::connect(url).expect("connect");
    let applied = hanpyo_ledger::store::postgres::migrate(&mut client).expect("migrate");
    assert_eq!(applied, ["V1__ledger"]);
    assert!(
        hanpyo_ledger::store::postgres::migrate(&mut client)
            .expect("again")
            .is_empty()
    );
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'ledger_%'",
            &[],
        )
        .expect("tables")
        .get(0);
    assert_eq!(tables, 6, "five tables and the migration history");
}

/// Whoever can write the database cannot make the log's writer go on from a history it did not
/// sign: a latest checkpoint under another key, or tiles that no longer give the signed root, are
/// refused when the log is opened.
fn a_rewritten_history_is_refused_on_open(make: Maker) {
    let db = make("rewritten");
    let mut ledger = db.open(signer()).expect("open");
    ledger
        .append_batch(&(0..200).map(entry).collect::<Vec<_>>())
        .expect("append");
    let commit = ledger
        .append_batch(&(200..300).map(entry).collect::<Vec<_>>())
        .expect("append");
    drop(ledger);
    let body = SignedNote::parse(&commit.checkpoint).expect("note").body;
    let impostor =
        NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[43; 32]), KeyKind::Ed25519).expect("s");
    let mut forged = SignedNote::new(body.clone());
    forged
        .add_signature_line(&impostor.signature_line(&body, 0))
        .expect("line");
    let latest_note = |note: &str| {
        db.execute(
            "UPDATE checkpoints SET note = ?1 WHERE size = (SELECT MAX(size) FROM checkpoints)",
            "UPDATE ledger_checkpoints SET note = $1 \
             WHERE size = (SELECT MAX(size) FROM ledger_checkpoints)",
            note,
        )
    };
    latest_note(&forged.to_text());
    match db.open_waiting(signer) {
        Err(LedgerError::Corrupt(why)) => assert!(why.contains("not signed"), "{why}"),
        other => panic!("a forged checkpoint was accepted: {other:?}"),
    }
    latest_note(&commit.checkpoint);
    // The level-1 tile holds the root of the first 256 entries: change it.
    db.execute(
        "UPDATE tiles SET data = CAST(?1 || substr(data, 2) AS BLOB) WHERE level = 1",
        "UPDATE ledger_tiles SET data = convert_to($1, 'UTF8') || substr(data, 2) WHERE level = 1",
        "X",
    );
    match db.open_waiting(signer) {
        Err(LedgerError::Corrupt(why)) => assert!(why.contains("does not match"), "{why}"),
        other => panic!("a rewritten tree was accepted: {other:?}"),
    }
}
