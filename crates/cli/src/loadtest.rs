//! `hanpyo loadtest`: real HTTP voters against a server, measuring ballot ingest (throughput and
//! latency percentiles) — each ballot verified, durably committed and receipted by the server.
//!
//! Works with a demo data directory (`--data`), whose voter list and code outbox it uses to log
//! every voter in first: that phase is timed on its own (logins/s: every voter logs in, so a
//! deployment must carry as many logins as ballots). Ballots are encrypted before either timed
//! phase, so the measurement is the server's, not the voters' devices'. With several `--election`s, the voters
//! are spread evenly over them and their ballots interleaved in one timed phase (load over many
//! elections of one server, against the same load on one).
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use hanpyo_crypto::credential::SecretCredential;
use hanpyo_record::authority::encrypt_ballot_with_rng;
use hanpyo_record::entry::Entry;
use rayon::prelude::*;

use crate::http::Client;

/// Options of `hanpyo loadtest`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The server; repeated, the nodes of one deployment (on one shared database): voter `i`
    /// logs in and casts through node `i mod n`.
    #[arg(long, required = true)]
    url: Vec<String>,
    /// The election (default: the server's only election); repeated, the voters are spread
    /// evenly over the elections named.
    #[arg(long)]
    election: Vec<String>,
    /// Number of voters in all (each casts one ballot).
    #[arg(long)]
    voters: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 100)]
    concurrency: usize,
    /// The demo data directory (voter list and code outbox); by default asked from the demo server.
    #[arg(long)]
    data: Option<PathBuf>,
}

struct Voter {
    id: String,
    birth: String,
    code: String,
    contact: String,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Runs `f(i)` for `0..n` on `threads` threads.
fn parallel<T: Send>(n: usize, threads: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let out: Mutex<Vec<(usize, T)>> = Mutex::new(Vec::with_capacity(n));
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            let (next, out, f) = (&next, &out, &f);
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn_scoped(s, move || {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        let r = f(i);
                        out.lock().unwrap_or_else(|e| e.into_inner()).push((i, r));
                    }
                })
                .map(|_| ())
                .unwrap_or_else(|e| eprintln!("could not start a worker thread: {e}"));
        }
    });
    let mut v = out.into_inner().unwrap_or_else(|e| e.into_inner());
    v.sort_by_key(|(i, _)| *i);
    v.into_iter().map(|(_, t)| t).collect()
}

/// One election's share of the load, ready for the timed phase.
struct Target {
    /// One client per node.
    clients: Vec<Client>,
    /// Where its ballots go.
    path: String,
    ballots: Vec<Vec<u8>>,
    sessions: Vec<String>,
    logins: Logins,
}

/// The login phase: its two timed steps (the code's delivery file is read between them, untimed).
#[derive(Default)]
struct Logins {
    seconds: f64,
    /// Each voter's `login/start` and `login/verify` latency, in ms.
    start_ms: Vec<f64>,
    verify_ms: Vec<f64>,
}

/// Concurrent voters logging in (at most 64: the logins prepare the ballots' timed phase).
fn login_concurrency(a: &Args) -> usize {
    a.concurrency.min(64)
}

/// `f`'s latency in ms, with its result.
fn timed<T>(f: impl FnOnce() -> Result<T>) -> Result<(T, f64)> {
    let began = Instant::now();
    let t = f()?;
    Ok((t, began.elapsed().as_secs_f64() * 1e3))
}

/// Encrypts `n` ballots of `election`'s demo voters and logs them in (none of it timed).
fn prepare(a: &Args, election: Option<&str>, n: usize) -> Result<Target> {
    let clients: Vec<Client> = a
        .url
        .iter()
        .map(|u| Client::at(u, election))
        .collect::<Result<_>>()?;
    let client = &clients[0];
    let node = |i: usize| &clients[i % clients.len()];
    let (voters_file, outbox) = match &a.data {
        Some(d) => {
            let id = client.election(election)?.id;
            let dir = hanpyo_server::layout::election_dir(d, &id);
            (dir.join("demo-voters.txt"), d.join("outbox.jsonl"))
        }
        None => {
            let v: serde_json::Value = serde_json::from_slice(
                &client
                    .get_ok("/api/v1/demo")
                    .context("not a demo server: give its data directory with --data")?,
            )?;
            let path = |k: &str| -> Result<PathBuf> {
                Ok(PathBuf::from(
                    v[k].as_str().with_context(|| format!("demo {k}"))?,
                ))
            };
            (path("voters_file")?, path("outbox")?)
        }
    };
    let voters: Vec<Voter> = std::fs::read_to_string(&voters_file)
        .context("reading demo-voters.txt")?
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f.len() == 4).then(|| Voter {
                id: f[0].into(),
                birth: f[1].into(),
                code: f[2].into(),
                contact: f[3].into(),
            })
        })
        .take(n)
        .collect();
    if voters.len() < n {
        bail!(
            "the demo has only {} voters (start it with hanpyo demo --voters N)",
            voters.len()
        );
    }
    let view = client.election(None)?;
    let id = view.id.clone();
    let (pk, ctx) = view.context()?;
    let m = &view.manifest;
    let specs = m.contest_specs();

    eprintln!("encrypting {} ballots (not timed)…", voters.len());
    let ballots: Vec<Vec<u8>> = voters
        .par_iter()
        .enumerate()
        .map(|(i, v)| {
            let key = SecretCredential::parse(&v.code)?.signing_key(m.election_id.as_bytes());
            // An allowed answer, different for each voter.
            let sel = crate::simulate::random_values(
                &specs,
                &mut crate::setup::voter_rng(&[0; 32], i as u32, 0),
            );
            let (b, _) = encrypt_ballot_with_rng(
                &ctx,
                &pk,
                &specs,
                &key,
                &sel,
                &mut hanpyo_crypto::os_rng(),
            )?;
            Ok(Entry::Ballot(Box::new(b)).encode())
        })
        .collect::<Result<_>>()?;

    let login_threads = login_concurrency(a);
    eprintln!(
        "logging {} voters in with {login_threads} concurrent voters (timed)…",
        voters.len()
    );
    let began = Instant::now();
    let starts: Vec<Result<((), f64)>> = parallel(voters.len(), login_threads, |i| {
        let v = &voters[i];
        let body = serde_json::json!({"resident_id": v.id, "birth_date": v.birth}).to_string();
        timed(|| match node(i).post_json("/api/v1/login/start", &body)? {
            Ok(_) => Ok(()),
            Err((s, e)) => bail!("login/start {s} {}", e.code),
        })
    });
    let mut logins = Logins {
        seconds: began.elapsed().as_secs_f64(),
        ..Logins::default()
    };
    for r in starts {
        logins.start_ms.push(r?.1);
    }
    let mut codes = std::collections::HashMap::new();
    for line in std::fs::read_to_string(&outbox)
        .context("reading the outbox")?
        .lines()
    {
        let v: serde_json::Value = serde_json::from_str(line)?;
        if let (Some(to), Some(code)) = (v["to"].as_str(), v["code"].as_str()) {
            codes.insert(to.to_string(), code.to_string());
        }
    }
    let began = Instant::now();
    let verified: Vec<Result<(String, f64)>> = parallel(voters.len(), login_threads, |i| {
        let v = &voters[i];
        let code = codes.get(&v.contact).context("no code delivered")?;
        let body = serde_json::json!({"resident_id": v.id, "birth_date": v.birth, "code": code})
            .to_string();
        timed(|| match node(i).post_json("/api/v1/login/verify", &body)? {
            Ok(b) => Ok(serde_json::from_slice::<serde_json::Value>(&b)?["session"]
                .as_str()
                .context("session")?
                .to_string()),
            Err((s, e)) => bail!("login/verify {s} {}", e.code),
        })
    });
    logins.seconds += began.elapsed().as_secs_f64();
    let mut sessions = Vec::with_capacity(verified.len());
    for r in verified {
        let (session, ms) = r?;
        sessions.push(session);
        logins.verify_ms.push(ms);
    }
    Ok(Target {
        clients,
        path: format!("/api/v1/elections/{id}/ballots"),
        ballots,
        sessions,
        logins,
    })
}

pub fn run(a: &Args) -> Result<ExitCode> {
    let elections: Vec<Option<&str>> = if a.election.is_empty() {
        vec![None]
    } else {
        a.election.iter().map(|e| Some(e.as_str())).collect()
    };
    let k = elections.len();
    let targets: Vec<Target> = elections
        .iter()
        .enumerate()
        .map(|(e, id)| prepare(a, *id, a.voters / k + usize::from(e < a.voters % k)))
        .collect::<Result<_>>()?;
    // Round robin over the elections: ballot `j` of every election, then ballot `j + 1`.
    let most = targets.iter().map(|t| t.ballots.len()).max().unwrap_or(0);
    let work: Vec<(usize, usize)> = (0..most)
        .flat_map(|j| (0..k).map(move |e| (e, j)))
        .filter(|&(e, j)| j < targets[e].ballots.len())
        .collect();

    let login_seconds: f64 = targets.iter().map(|t| t.logins.seconds).sum();
    let mut start_ms: Vec<f64> = targets
        .iter()
        .flat_map(|t| t.logins.start_ms.iter().copied())
        .collect();
    let mut verify_ms: Vec<f64> = targets
        .iter()
        .flat_map(|t| t.logins.verify_ms.iter().copied())
        .collect();
    start_ms.sort_by(f64::total_cmp);
    verify_ms.sort_by(f64::total_cmp);
    println!(
        "{} logins in {login_seconds:.2} s = {:.0} logins/s with {} concurrent voters (each: a code sent, then checked)",
        verify_ms.len(),
        verify_ms.len() as f64 / login_seconds.max(1e-9),
        login_concurrency(a)
    );
    println!(
        "login latency ms: code sent p50 {:.1}, p99 {:.1}; code checked p50 {:.1}, p99 {:.1}",
        percentile(&start_ms, 0.5),
        percentile(&start_ms, 0.99),
        percentile(&verify_ms, 0.5),
        percentile(&verify_ms, 0.99)
    );
    eprintln!(
        "casting {} ballots over {k} election(s) with {} concurrent voters (timed)…",
        work.len(),
        a.concurrency
    );
    let started = Instant::now();
    let results: Vec<(f64, std::result::Result<(), String>)> =
        parallel(work.len(), a.concurrency, |i| {
            let (e, j) = work[i];
            let t = &targets[e];
            let began = Instant::now();
            let client = &t.clients[j % t.clients.len()];
            let r = match client.post(&t.path, &t.ballots[j], Some(&t.sessions[j])) {
                Ok(Ok(_)) => Ok(()),
                Ok(Err((s, e))) => Err(format!("{s} {}", e.code)),
                Err(e) => Err(format!("{e:#}")),
            };
            (began.elapsed().as_secs_f64(), r)
        });
    let elapsed = started.elapsed();
    let mut lat: Vec<f64> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(l, _)| *l * 1e3)
        .collect();
    lat.sort_by(f64::total_cmp);
    let mut errors: std::collections::BTreeMap<String, usize> = Default::default();
    for (_, r) in &results {
        if let Err(e) = r {
            *errors.entry(e.clone()).or_default() += 1;
        }
    }
    println!(
        "{} ballots accepted in {:.2} s = {:.0} ballots/s with {} concurrent voters over {k} election(s) and {} node(s)",
        lat.len(),
        elapsed.as_secs_f64(),
        lat.len() as f64 / elapsed.as_secs_f64().max(1e-9),
        a.concurrency,
        a.url.len()
    );
    println!(
        "latency ms: p50 {:.1}, p90 {:.1}, p99 {:.1}, max {:.1} (each answer = verified, durably committed, receipted)",
        percentile(&lat, 0.5),
        percentile(&lat, 0.9),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0)
    );
    for (e, n) in &errors {
        println!("rejected {n}: {e}");
    }
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
