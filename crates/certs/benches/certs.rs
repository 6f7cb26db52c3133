//! Certificate benchmark: issuances per second (one per commit, and bulk in one commit) and
//! verifications per second, each against a baseline measured in the same run — the bare log
//! (the same commits of opaque entries, co-signed, with receipts) for issuance, one Ed25519
//! signature check for verification — and the sizes of what a holder keeps.
//! `HANPYO_BENCH_QUICK=1` shrinks every count.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

use chacha20::ChaCha20Rng;
use ed25519_dalek::{Signer, SigningKey};
use hanpyo_certs::bundle::{Bundle, WitnessKey};
use hanpyo_certs::service::CertLog;
use hanpyo_certs::verify::{Challenge, Options, verify};
use hanpyo_certs::{issue, template};
use hanpyo_ledger::checkpoint::{KeyKind, NoteSigner};
use hanpyo_ledger::store::Ledger;
use hanpyo_ledger::witness::{Cosigner, Witness, WitnessState};
use rand_core::SeedableRng;

const ORIGIN: &str = "bench.hanpyo.example/certs";

fn witnesses(log_key: &SigningKey, keys: &[SigningKey]) -> Vec<Box<dyn Cosigner>> {
    keys.iter()
        .enumerate()
        .map(|(i, k)| {
            let mut s = WitnessState::default();
            s.follow(ORIGIN, &log_key.verifying_key());
            Box::new(Witness::new(&format!("w{i}"), k.clone(), s).expect("witness"))
                as Box<dyn Cosigner>
        })
        .collect()
}

fn open(dir: &Path) -> CertLog {
    let log_key = SigningKey::from_bytes(&[2; 32]);
    let wkeys = [
        SigningKey::from_bytes(&[3; 32]),
        SigningKey::from_bytes(&[4; 32]),
    ];
    let keys = wkeys
        .iter()
        .enumerate()
        .map(|(i, k)| WitnessKey {
            name: format!("w{i}"),
            key: hex::encode(k.verifying_key().as_bytes()),
        })
        .collect();
    CertLog::open(
        &dir.join("certs.db"),
        NoteSigner::new(ORIGIN, log_key.clone(), KeyKind::Ed25519).expect("signer"),
        &SigningKey::from_bytes(&[1; 32]).verifying_key(),
        "Bench registry",
        "https://certs.example/api/v1/certs/status",
        witnesses(&log_key, &wkeys),
        keys,
        2,
    )
    .expect("open")
}

fn sample(doc_type: &str) -> BTreeMap<String, String> {
    let v: &[(&str, &str)] = match doc_type {
        "badge" => &[
            ("recipientName", "김하늘"),
            ("achievementName", "용접기능사"),
            (
                "achievementDescription",
                "국가기술자격 용접기능사 실기 합격",
            ),
            ("criteria", "필기·실기 시험 합격"),
            ("achievementType", "Certificate"),
            ("awardedOn", "2026-11-20"),
        ],
        "notarised-document" => &[
            ("documentTitle", "임대차 계약서"),
            (
                "documentSha256",
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            ),
            ("notary", "법무법인 한빛 공증인 이정민"),
            ("notarisedOn", "2026-11-30"),
            ("registerNumber", "2026-등-1234"),
        ],
        "drone-licence" => &[
            ("holderName", "박지성"),
            ("birthDate", "1990-05-17"),
            ("licenceNumber", "DR-2026-000123"),
            ("category", "C1"),
            ("licenceValid", "yes"),
        ],
        "battery-certificate" => &[
            ("batterySerial", "LGES-NCM811-0001234"),
            ("vehicleModel", "Ioniq 5 (2022)"),
            ("stateOfHealthPercent", "87"),
            ("remainingCapacityWh", "63684"),
            ("testMethod", "KS R 1200 residual capacity test"),
            ("testedOn", "2026-11-28"),
        ],
        "pension-receipt" => &[
            ("applicantName", "최영희"),
            ("birthDate", "1962-03-09"),
            ("applicationNumber", "NPS-2026-55501"),
            ("applicationType", "노령연금 청구"),
            ("receivedOn", "2026-12-01"),
        ],
        _ => &[],
    };
    v.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn per_second(n: usize, secs: f64) -> f64 {
    n as f64 / secs
}

fn main() {
    let quick = std::env::var_os("HANPYO_BENCH_QUICK").is_some();
    let (singles, bulk, verifies) = if quick {
        (20, 200, 200)
    } else {
        (200, 10_000, 5_000)
    };
    let dir = std::env::temp_dir().join(format!("hanpyo-certs-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("base")).expect("dir");
    std::fs::create_dir_all(dir.join("certs")).expect("dir");
    let mut rng = ChaCha20Rng::from_seed([7; 32]);
    let now = 1_796_256_000;
    let operator = SigningKey::from_bytes(&[1; 32]);
    let issuer = SigningKey::from_bytes(&[10; 32]);
    let holder = SigningKey::from_bytes(&[50; 32]);
    let all: Vec<String> = template::all().iter().map(|t| t.id.to_string()).collect();

    let mut log = open(&dir.join("certs"));
    let e = issue::approve_issuer(
        &operator,
        &issuer.verifying_key(),
        "Bench issuer",
        &all,
        now,
    )
    .expect("approve");
    log.append(&[e], now).expect("register");

    // Baseline: the same log machinery with opaque entries of an issuance entry's size.
    let entry_size = 420;
    let mut base = {
        let log_key = SigningKey::from_bytes(&[2; 32]);
        let ledger = Ledger::open(
            &dir.join("base").join("log.db"),
            NoteSigner::new(ORIGIN, log_key.clone(), KeyKind::Ed25519).expect("signer"),
        )
        .expect("ledger");
        (
            ledger,
            witnesses(
                &log_key,
                &[
                    SigningKey::from_bytes(&[3; 32]),
                    SigningKey::from_bytes(&[4; 32]),
                ],
            ),
        )
    };
    let mut counter = 0u64;
    let mut opaque = |n: usize| -> Vec<Vec<u8>> {
        (0..n)
            .map(|_| {
                counter += 1;
                let mut e = counter.to_be_bytes().to_vec();
                e.resize(entry_size, 0x61);
                e
            })
            .collect()
    };
    let mut base_commit = |entries: Vec<Vec<u8>>| {
        let c = base.0.append_batch(&entries).expect("append");
        base.0
            .collect_cosignatures(&mut base.1, now)
            .expect("cosign");
        base.0
            .receipts_for(c.first_index, &c.leaf_hashes)
            .expect("receipts")
            .len()
    };

    println!(
        "certificate benchmark ({} mode): release build, {} cores",
        if quick { "quick" } else { "full" },
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!();
    println!("| what | count | per second | vs. baseline |");
    println!("|---|---|---|---|");
    // One issuance per commit (a console's single issuance).
    let t = Instant::now();
    for _ in 0..singles {
        base_commit(opaque(1));
    }
    let base_single = per_second(singles, t.elapsed().as_secs_f64());
    println!(
        "| baseline: one opaque entry per commit, co-signed, receipt | {singles} | {base_single:.0} | 1.00 |"
    );
    for doc_type in ["badge", "drone-licence"] {
        let t_ = template::find(doc_type).expect("template");
        let start = Instant::now();
        for _ in 0..singles {
            log.issue(
                &mut rng,
                &issuer,
                &[(&t_, sample(doc_type), Some(holder.verifying_key()))],
                now,
                None,
            )
            .expect("issue");
        }
        let rate = per_second(singles, start.elapsed().as_secs_f64());
        println!(
            "| issue one {doc_type} per commit | {singles} | {rate:.0} | {:.2} |",
            rate / base_single
        );
    }
    // Bulk: one commit for many.
    let batch = bulk.min(1000);
    let t = Instant::now();
    for _ in 0..bulk / batch {
        base_commit(opaque(batch));
    }
    let base_bulk = per_second(bulk, t.elapsed().as_secs_f64());
    println!(
        "| baseline: opaque entries {batch} per commit, co-signed, receipts | {bulk} | {base_bulk:.0} | 1.00 |"
    );
    for doc_type in ["badge", "drone-licence"] {
        let t_ = template::find(doc_type).expect("template");
        let rows: Vec<_> = (0..batch)
            .map(|_| (&t_, sample(doc_type), Some(holder.verifying_key())))
            .collect();
        let start = Instant::now();
        for _ in 0..bulk / batch {
            log.issue(&mut rng, &issuer, &rows, now, None)
                .expect("bulk");
        }
        let rate = per_second(bulk, start.elapsed().as_secs_f64());
        println!(
            "| issue {doc_type} in bulk, {batch} per commit | {bulk} | {rate:.0} | {:.2} |",
            rate / base_bulk
        );
    }

    // Verification.
    let msg = [0x42u8; 64];
    let sig = issuer.sign(&msg);
    let t = Instant::now();
    for _ in 0..verifies {
        issuer
            .verifying_key()
            .verify_strict(&msg, &sig)
            .expect("verify");
    }
    let base_verify = per_second(verifies, t.elapsed().as_secs_f64());
    println!("| baseline: one Ed25519 signature check | {verifies} | {base_verify:.0} | 1.00 |");
    let mut sizes = Vec::new();
    for doc_type in [
        "badge",
        "notarised-document",
        "drone-licence",
        "battery-certificate",
        "pension-receipt",
    ] {
        let t_ = template::find(doc_type).expect("template");
        let b = log
            .issue(
                &mut rng,
                &issuer,
                &[(&t_, sample(doc_type), Some(holder.verifying_key()))],
                now,
                None,
            )
            .expect("issue")
            .remove(0);
        let disclose: BTreeSet<String> = if t_.format == template::Format::SdJwt {
            ["category".to_string()].into()
        } else {
            BTreeSet::new()
        };
        let shown = b
            .present(
                &holder,
                &disclose
                    .iter()
                    .filter(|d| b.disclosable().unwrap_or_default().contains(d))
                    .cloned()
                    .collect(),
                "https://v.example",
                "n-1",
                now,
            )
            .expect("present");
        let opts = Options {
            now: now + 10,
            ..Options::default()
        };
        let bound = Options {
            challenge: Some(Challenge {
                audience: "https://v.example".into(),
                nonce: "n-1".into(),
                max_age: 300,
            }),
            ..opts.clone()
        };
        let parsed = Bundle::parse(b.to_json().as_bytes()).expect("parse");
        let start = Instant::now();
        for _ in 0..verifies {
            verify(&parsed, &opts).expect("valid");
        }
        let rate = per_second(verifies, start.elapsed().as_secs_f64());
        println!(
            "| verify a {doc_type} certificate (file parsed once) | {verifies} | {rate:.0} | {:.3} |",
            rate / base_verify
        );
        if doc_type == "drone-licence" || doc_type == "badge" {
            let text = shown.to_json();
            let start = Instant::now();
            for _ in 0..verifies {
                let p = Bundle::parse(text.as_bytes()).expect("parse");
                verify(&p, &bound).expect("valid");
            }
            let rate = per_second(verifies, start.elapsed().as_secs_f64());
            println!(
                "| parse and verify a {doc_type} presentation (holder-bound) | {verifies} | {rate:.0} | {:.3} |",
                rate / base_verify
            );
        }
        let receipt = serde_json::to_string(&b.issuance.receipt)
            .unwrap_or_default()
            .len();
        let status = serde_json::to_string(&b.status).unwrap_or_default().len();
        let entry = hanpyo_certs::jcs::canonical(&b.issuance.entry)
            .map(|e| e.len())
            .unwrap_or_default();
        let cred = match (&b.credential, &b.sd_jwt) {
            (Some(c), _) => serde_json::to_string(c).unwrap_or_default().len(),
            (_, Some(s)) => s.len(),
            _ => 0,
        };
        sizes.push((
            doc_type,
            b.to_json().len(),
            cred,
            receipt,
            status,
            entry,
            shown.to_json().len(),
        ));
    }
    println!();
    println!(
        "| document | certificate file (bytes) | credential | issuance receipt | stapled status list | log entry | presentation file |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (d, file, cred, receipt, status, entry, shown) in sizes {
        println!("| {d} | {file} | {cred} | {receipt} | {status} | {entry} | {shown} |");
    }
    let db = std::fs::metadata(dir.join("certs").join("certs.db")).map_or(0, |m| m.len());
    let n = log.registry().size;
    println!();
    println!(
        "log: {n} entries, {} bytes in SQLite ({} bytes per entry with tiles and checkpoints; WAL not counted)",
        db,
        db / n.max(1)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
