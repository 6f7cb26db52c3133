//! `hanpyo demo` and `hanpyo serve`: the voting service on an embedded data directory.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use ed25519_dalek::SigningKey;
use hanpyo_crypto::credential::{PublicCredential, SecretCredential};
use hanpyo_ledger::store::Ledger;
use hanpyo_record::entry::Entry;
use hanpyo_server::{DemoTrusteesFile, LogKeyFile, WitnessFile, token_digest, write_atomically};
use rand_core::Rng;

use crate::setup::{setup, voter_rng};

/// Options of `hanpyo demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Data directory (created; must not already exist). Default: a fresh temporary directory.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Number of demo voters (credentials).
    #[arg(long, default_value_t = 100)]
    voters: u32,
}

/// Options of `hanpyo serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// The data directory.
    #[arg(long)]
    data: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

fn run_server(
    data: &Path,
    listen: SocketAddr,
    banner: impl FnOnce(SocketAddr),
) -> Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        banner(listener.local_addr()?);
        hanpyo_server::serve(data, listener, shutdown_signal()).await?;
        eprintln!(
            "stopped; every acknowledged ballot is in {}",
            data.join("ledger.db").display()
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// `hanpyo serve`.
pub fn serve(args: &ServeArgs) -> Result<ExitCode> {
    run_server(&args.data, args.listen, |addr| {
        println!("url: http://{addr}/");
    })
}

/// `hanpyo demo`.
pub fn demo(args: &DemoArgs) -> Result<ExitCode> {
    if args.voters == 0 {
        bail!("--voters must be at least 1");
    }
    let data = match &args.data {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("hanpyo-demo-{}", std::process::id())),
    };
    if data.exists() && std::fs::read_dir(&data)?.next().is_some() {
        bail!("{} exists and is not empty", data.display());
    }
    std::fs::create_dir_all(&data)?;
    let mut master = [0u8; 32];
    hanpyo_crypto::os_rng().fill_bytes(&mut master);
    let s = setup(&master, None, None, None, 2)?;
    let election_id = s.manifest.election_id.clone();
    // Demo voters: credentials made here, as the credential authority would; only the public list
    // goes on the ledger.
    let codes: Vec<String> = (0..args.voters)
        .map(|i| SecretCredential::generate_with_rng(&mut voter_rng(&master, i, 0)).code())
        .collect();
    let mut publics: Vec<PublicCredential> = codes
        .iter()
        .map(|c| {
            Ok(*SecretCredential::parse(c)?
                .signing_key(election_id.as_bytes())
                .public())
        })
        .collect::<Result<_>>()?;
    publics.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let mut entries = s.entries.clone();
    entries.push(Entry::CredentialList(publics).encode());
    let origin = s.manifest.ledger.origin.clone();
    let mut witnesses = s.witnesses;
    {
        let mut ledger = Ledger::open(&data.join("ledger.db"), s.signer)?;
        ledger.append_batch(&entries)?;
        ledger.collect_cosignatures(&mut witnesses, 1)?;
    }
    let log = LogKeyFile {
        origin,
        key: hex::encode(s.log_seed),
    };
    write_atomically(&data.join("log.json"), &serde_json::to_vec_pretty(&log)?)?;
    let wfiles: Vec<WitnessFile> = witnesses
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let mut seed = [0u8; 32];
            voter_rng(&master, u32::MAX, 2 + i as u8).fill_bytes(&mut seed);
            debug_assert_eq!(
                SigningKey::from_bytes(&seed).verifying_key(),
                *w.verifier().key()
            );
            WitnessFile {
                name: w.verifier().name().to_string(),
                key: hex::encode(seed),
                state: w.state().clone(),
            }
        })
        .collect();
    write_atomically(
        &data.join("witnesses.json"),
        &serde_json::to_vec_pretty(&wfiles)?,
    )?;
    let trustees = DemoTrusteesFile {
        shares: s
            .key_shares
            .iter()
            .map(|k| (k.index(), hex::encode(*k.secret_bytes())))
            .collect(),
    };
    write_atomically(
        &data.join("demo-trustees.json"),
        &serde_json::to_vec_pretty(&trustees)?,
    )?;
    let mut token = [0u8; 24];
    hanpyo_crypto::os_rng().fill_bytes(&mut token);
    let token = hex::encode(token);
    write_atomically(
        &data.join("admin-token.sha256"),
        hex::encode(token_digest(&token)).as_bytes(),
    )?;
    std::fs::write(data.join("demo-voters.txt"), codes.join("\n") + "\n")?;
    let shown: Vec<String> = codes.iter().take(5).cloned().collect();
    let shown_dir = data.clone();
    run_server(&data, args.listen, move |addr| {
        let data = shown_dir;
        println!(
            "Hanpyo demo election {election_id} (DEMO: the trustees' key shares are in the data directory)"
        );
        println!("url: http://{addr}/");
        println!("data: {}", data.display());
        println!("admin token: {token}");
        println!(
            "voters: {} credentials in {}",
            codes.len(),
            data.join("demo-voters.txt").display()
        );
        for c in &shown {
            println!("voter credential: {c}");
        }
        println!(
            "vote:  hanpyo vote --url http://{addr} --credential {} --choices '0;1;2,3'",
            shown[0]
        );
    })
}
