//! Ledger benchmark: durable group-commit appends of 1 KiB entries, commit latency, bytes on disk,
//! proof generation, and the time to rebuild the tree of 10 million entries — each against a
//! baseline measured in the same run (a bare SQLite table with the same durability settings, and
//! raw SHA-256 throughput). `HANPYO_BENCH_QUICK=1` shrinks every size.
use std::path::Path;
use std::time::Instant;

use ed25519_dalek::SigningKey;
use hanpyo_ledger::checkpoint::{KeyKind, NoteSigner};
use hanpyo_ledger::merkle::{Frontier, leaf_hash, verify_inclusion};
use hanpyo_ledger::store::Ledger;
use rand_core::Rng;
use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};

fn entries(n: usize, size: usize, salt: u64) -> Vec<Vec<u8>> {
    let mut rng = payload_rng(salt);
    (0..n)
        .map(|_| {
            let mut e = vec![0u8; size];
            rng.fill_bytes(&mut e);
            e
        })
        .collect()
}

fn payload_rng(seed: u64) -> impl Rng {
    XorShift(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
}

/// A small non-cryptographic generator for benchmark payloads.
struct XorShift(u64);
impl rand_core::TryRng for XorShift {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.try_next_u64()? as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Ok(self.0)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let v = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        Ok(())
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn disk_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn bare_sqlite(dir: &Path, batches: &[Vec<Vec<u8>>]) -> f64 {
    let conn = Connection::open(dir.join("bare.db")).expect("open");
    conn.pragma_update(None, "page_size", 16384)
        .expect("pragma");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("pragma");
    conn.pragma_update(None, "synchronous", "FULL")
        .expect("pragma");
    conn.execute_batch("CREATE TABLE e (idx INTEGER PRIMARY KEY, data BLOB NOT NULL)")
        .expect("schema");
    let start = Instant::now();
    let mut conn = conn;
    let mut idx = 0u64;
    for b in batches {
        let tx = conn.transaction().expect("tx");
        {
            let mut st = tx
                .prepare_cached("INSERT INTO e (idx, data) VALUES (?1, ?2)")
                .expect("prepare");
            for e in b {
                st.execute(params![idx, e]).expect("insert");
                idx += 1;
            }
        }
        tx.commit().expect("commit");
    }
    idx as f64 / start.elapsed().as_secs_f64()
}

/// Appends every batch; the rate in entries/s and each commit's latency in ms, sorted.
fn timed_appends(ledger: &mut Ledger, batches: &[Vec<Vec<u8>>]) -> (f64, Vec<f64>) {
    let mut latencies = Vec::new();
    let start = Instant::now();
    for b in batches {
        let t = Instant::now();
        ledger.append_batch(b).expect("append");
        latencies.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let total: usize = batches.iter().map(Vec::len).sum();
    let rate = total as f64 / start.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    (rate, latencies)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let quick = std::env::var_os("HANPYO_BENCH_QUICK").is_some();
    let (total, batch) = if quick {
        (20_000, 1000)
    } else {
        (200_000, 1000)
    };
    let tmp = std::env::temp_dir().join(format!("hanpyo-ledger-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).expect("dir");
    let signer = NoteSigner::new(
        "bench.hanpyo/log",
        SigningKey::from_bytes(&[9; 32]),
        KeyKind::Ed25519,
    )
    .expect("s");
    let verifier = signer.verifier().clone();
    let batches: Vec<Vec<Vec<u8>>> = (0..total / batch)
        .map(|i| entries(batch, 1024, i as u64 + 1))
        .collect();

    println!(
        "== ledger benchmark: {total} entries of 1 KiB, batches of {batch}, SQLite WAL synchronous=FULL 16 KiB pages"
    );
    let bare = bare_sqlite(&tmp, &batches);
    let mut ledger = Ledger::open(&tmp.join("ledger.db"), signer).expect("open");
    let (rate, latencies) = timed_appends(&mut ledger, &batches);
    println!(
        "durable appends:     {rate:>10.0} entries/s  (bare SQLite table, same settings: {bare:.0}/s; ratio {:.2})",
        rate / bare
    );
    println!(
        "commit latency:      p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms per batch of {batch}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0)
    );
    drop(ledger);
    // Fold the WAL into the database so the size on disk is the steady state.
    let c = Connection::open(tmp.join("ledger.db")).expect("open");
    c.pragma_update(None, "wal_checkpoint", "TRUNCATE").ok();
    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .ok();
    drop(c);
    let _ = std::fs::remove_file(tmp.join("bare.db"));
    let _ = std::fs::remove_file(tmp.join("bare.db-wal"));
    let _ = std::fs::remove_file(tmp.join("bare.db-shm"));
    let on_disk = disk_bytes(&tmp);
    let payload = (total * 1024) as f64;
    println!(
        "bytes on disk:       {:.0} per entry ({:.2}× the 1 KiB entries; target ≤ 1.5×)",
        on_disk as f64 / total as f64,
        on_disk as f64 / payload
    );

    let ledger = Ledger::open(
        &tmp.join("ledger.db"),
        NoteSigner::new(
            "bench.hanpyo/log",
            SigningKey::from_bytes(&[9; 32]),
            KeyKind::Ed25519,
        )
        .expect("s"),
    )
    .expect("reopen");
    let size = ledger.size();
    let root = ledger.root();
    let mut rng = payload_rng(77);
    let n_proofs = if quick { 2_000 } else { 20_000 };
    let picks: Vec<u64> = (0..n_proofs).map(|_| rng.next_u64() % size).collect();
    let t = Instant::now();
    let proofs: Vec<Vec<[u8; 32]>> = picks
        .iter()
        .map(|&i| ledger.inclusion_proof(i, size).expect("proof"))
        .collect();
    let generate = t.elapsed().as_secs_f64() / n_proofs as f64;
    let leaves: Vec<[u8; 32]> = picks
        .iter()
        .map(|&i| leaf_hash(&ledger.entry(i).expect("entry")))
        .collect();
    let t = Instant::now();
    for ((i, p), l) in picks.iter().zip(&proofs).zip(&leaves) {
        assert!(verify_inclusion(l, *i, size, p, &root));
    }
    let ver = t.elapsed().as_secs_f64() / n_proofs as f64;
    let t = Instant::now();
    let receipt = ledger.receipt(&leaves[0]).expect("receipt");
    let rec = t.elapsed().as_secs_f64();
    receipt.verify(&verifier, &[], 0).expect("receipt verifies");
    println!(
        "inclusion proofs:    {:.1} µs to generate from stored tiles ({:.0}/s), {:.1} µs to verify; a receipt {:.0} µs",
        generate * 1e6,
        1.0 / generate,
        ver * 1e6,
        rec * 1e6
    );
    let t = Instant::now();
    let checked = ledger.verify_history().expect("history");
    println!(
        "re-verify history:   {checked} checkpoints against the stored tiles in {:.2} s",
        t.elapsed().as_secs_f64()
    );

    // Rebuilding the tree of 10M entries: leaf hashing of the entries plus the tree over them.
    let n_tree: u64 = if quick { 1_000_000 } else { 10_000_000 };
    let t = Instant::now();
    let mut f = Frontier::new();
    let mut h = [0u8; 32];
    for i in 0..n_tree {
        h[..8].copy_from_slice(&i.to_le_bytes());
        f.push(h);
    }
    let _ = f.root();
    let tree_time = t.elapsed().as_secs_f64();
    let one_mib = vec![7u8; 1 << 20];
    let t = Instant::now();
    let mut d = [0u8; 32];
    for _ in 0..256 {
        d = Sha256::digest(&one_mib).into();
    }
    let sha_rate = 256.0 * 1048576.0 / t.elapsed().as_secs_f64();
    std::hint::black_box(d);
    let hash_entries = n_tree as f64 * 1024.0 / sha_rate;
    println!(
        "tree of {n_tree} leaves: {tree_time:.2} s from leaf hashes; hashing {n_tree} × 1 KiB entries adds {hash_entries:.1} s at the measured SHA-256 rate of {:.0} MB/s (total {:.1} s{})",
        sha_rate / 1e6,
        tree_time + hash_entries,
        if quick {
            ", quick mode: multiply by 10 for 10M"
        } else {
            ""
        }
    );
    let _ = std::fs::remove_dir_all(&tmp);
    #[cfg(feature = "postgres")]
    postgres_appends(&batches, rate);
}

/// The same appends into PostgreSQL (a scratch database on `HANPYO_BENCH_POSTGRES`, default the
/// local server), against a bare table with the same rows and against the SQLite ledger above.
#[cfg(feature = "postgres")]
fn postgres_appends(batches: &[Vec<Vec<u8>>], sqlite_rate: f64) {
    let admin_url = std::env::var("HANPYO_BENCH_POSTGRES")
        .unwrap_or_else(|_| "host=127.0.0.1 user=postgres dbname=postgres".into());
    let Ok(mut admin) = postgres::Client::connect(&admin_url, postgres::NoTls) else {
        println!("postgres:            no server at {admin_url} (set HANPYO_BENCH_POSTGRES)");
        return;
    };
    let name = format!("hanpyo_bench_{}", std::process::id());
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    let mut config: postgres::Config = admin_url.parse().expect("url");
    config.dbname(&name);
    let total: usize = batches.iter().map(Vec::len).sum();
    let bare = {
        let mut c = config.connect(postgres::NoTls).expect("connect");
        c.batch_execute(
            "CREATE TABLE e (idx BIGINT PRIMARY KEY, data BYTEA NOT NULL);
             ALTER TABLE e ALTER COLUMN data SET STORAGE EXTERNAL",
        )
        .expect("schema");
        let start = Instant::now();
        let mut idx = 0i64;
        for b in batches {
            let idxs: Vec<i64> = (idx..idx + b.len() as i64).collect();
            idx += b.len() as i64;
            let mut tx = c.transaction().expect("tx");
            tx.execute(
                "INSERT INTO e SELECT * FROM unnest($1::int8[], $2::bytea[])",
                &[&idxs, b],
            )
            .expect("insert");
            tx.commit().expect("commit");
        }
        let rate = total as f64 / start.elapsed().as_secs_f64();
        c.batch_execute("DROP TABLE e").expect("drop");
        rate
    };
    let url = format!("{admin_url} dbname={name}");
    let signer = NoteSigner::new(
        "bench.hanpyo/log",
        SigningKey::from_bytes(&[9; 32]),
        KeyKind::Ed25519,
    )
    .expect("s");
    let mut ledger = Ledger::open_postgres(&url, signer).expect("open");
    let (rate, latencies) = timed_appends(&mut ledger, batches);
    println!(
        "postgres appends:    {rate:>10.0} entries/s  (bare PostgreSQL table, same rows: {bare:.0}/s, ratio {:.2}; SQLite ledger above: ratio {:.2})",
        rate / bare,
        rate / sqlite_rate
    );
    println!(
        "postgres commit:     p50 {:.1} ms, p99 {:.1} ms per batch",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
    let size = ledger.size();
    let mut rng = payload_rng(78);
    let n_proofs = 2_000;
    let t = Instant::now();
    for _ in 0..n_proofs {
        ledger
            .inclusion_proof(rng.next_u64() % size, size)
            .expect("proof");
    }
    println!(
        "postgres proofs:     {:.1} µs per inclusion proof from stored tiles",
        t.elapsed().as_secs_f64() / n_proofs as f64 * 1e6
    );
    drop(ledger);
    let bytes: i64 = admin
        .query_one("SELECT pg_database_size($1)", &[&name])
        .expect("size")
        .get(0);
    println!(
        "postgres on disk:    {:.0} bytes per entry ({:.2}× the 1 KiB entries; the whole database, catalogs included)",
        bytes as f64 / total as f64,
        bytes as f64 / (total * 1024) as f64
    );
    let _ = admin.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"));
}
