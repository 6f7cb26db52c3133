//! `hanpyo demo` and `hanpyo serve`: the voting service on an embedded data directory.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use hanpyo_crypto::credential::{PublicCredential, SecretCredential};
use hanpyo_record::entry::Entry;
use hanpyo_server::{DemoTrusteesFile, LogKeyFile, WitnessFile, write_atomically};
use rand_core::Rng;

use crate::db::StateDatabase;
use crate::setup::{setup, voter_rng};

/// Options of `hanpyo demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// A separate address for `/metrics` (Prometheus).
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
    /// Data directory (created; must not already exist). Default: a fresh temporary directory.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Number of demo voters (credentials).
    #[arg(long, default_value_t = 1000)]
    voters: u32,
    /// The demo's elections from these manifests (TOML; repeatable) instead of its two.
    #[arg(long)]
    manifest: Vec<PathBuf>,
    /// Leave voting to be opened by an administrator (from the console) instead of opening it.
    #[arg(long)]
    wait_to_open: bool,
    /// Independent witnesses co-signing every checkpoint.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(0..=16))]
    witnesses: u8,
    /// How many of them must co-sign before a receipt is issued (default: all).
    #[arg(long)]
    witness_quorum: Option<u8>,
    /// Let the witnesses co-sign inside the server (keys in DATA/witnesses.json) instead of
    /// running each as its own `hanpyo witness serve` process on a free port (key and state in
    /// DATA/witnesses/NAME), reached over HTTP as another organisation's would be.
    #[arg(long)]
    co_located_witnesses: bool,
    #[command(flatten)]
    db: StateDatabase,
}

/// Options of `hanpyo serve`. Each setting comes from, in increasing priority: its default, the
/// TOML file given by `--config`, the `HANPYO_*` environment variable, the flag.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// TOML configuration file (keys: data, listen, metrics_listen, client_rate, voter_rate,
    /// smtp_relay, smtp_url, smtp_from, sms_url, sms_token_file, sms_sender, dev_outbox, tls_cert,
    /// tls_key, database, and the table witnesses).
    #[arg(long, env = "HANPYO_CONFIG")]
    config: Option<PathBuf>,
    /// The data directory.
    #[arg(long, env = "HANPYO_DATA")]
    data: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "HANPYO_LISTEN")]
    listen: Option<SocketAddr>,
    /// A separate address for `/metrics` (Prometheus); none by default.
    #[arg(long, env = "HANPYO_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Send login codes to e-mail contacts through this plain-SMTP relay beside the server.
    #[arg(long, env = "HANPYO_SMTP_RELAY")]
    smtp_relay: Option<SocketAddr>,
    /// Or through this provider: smtps://user:password@host:465 (implicit TLS) or
    /// smtp://user:password@host:587?tls=required (STARTTLS). Better given as HANPYO_SMTP_URL or in
    /// the config file than on the command line (it holds a password).
    #[arg(long, env = "HANPYO_SMTP_URL")]
    smtp_url: Option<String>,
    /// The sender address of login-code e-mails.
    #[arg(long, env = "HANPYO_SMTP_FROM")]
    smtp_from: Option<String>,
    /// Send login codes to phone contacts through this SMS gateway endpoint (HTTPS, JSON
    /// `{from, to, text}`, bearer token).
    #[arg(long, env = "HANPYO_SMS_URL")]
    sms_url: Option<String>,
    /// A file holding the SMS gateway's API token.
    #[arg(long, env = "HANPYO_SMS_TOKEN_FILE")]
    sms_token_file: Option<PathBuf>,
    /// The registered sender number of the SMS messages.
    #[arg(long, env = "HANPYO_SMS_SENDER")]
    sms_sender: Option<String>,
    /// Test deployments only: write login codes and voters' contacts, in clear, to
    /// DATA/outbox.jsonl (owner-only) instead of sending them. Without this or an SMTP relay, the
    /// server sends no codes (logins answer `no-delivery`).
    #[arg(long, env = "HANPYO_DEV_OUTBOX")]
    dev_outbox: bool,
    /// Serve HTTPS with this certificate chain (PEM, leaf first); reloaded when it changes.
    #[arg(long, env = "HANPYO_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, env = "HANPYO_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Where a witness the manifest names serves C2SP tlog-witness: `NAME=URL` (repeatable; the
    /// URL is its submission prefix, requests go to URL/add-checkpoint).
    #[arg(long = "witness", value_name = "NAME=URL")]
    witnesses: Vec<String>,
    #[command(flatten)]
    db: StateDatabase,
}

/// The `--config` file.
#[derive(serde::Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    data: Option<PathBuf>,
    listen: Option<SocketAddr>,
    metrics_listen: Option<SocketAddr>,
    client_rate: Option<hanpyo_server::limits::Rate>,
    voter_rate: Option<hanpyo_server::limits::Rate>,
    smtp_relay: Option<SocketAddr>,
    smtp_url: Option<String>,
    smtp_from: Option<String>,
    sms_url: Option<String>,
    sms_token_file: Option<PathBuf>,
    sms_sender: Option<String>,
    dev_outbox: Option<bool>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    /// Witness name → URL.
    witnesses: Option<std::collections::BTreeMap<String, String>>,
    database: Option<String>,
}

/// `NAME=URL` pairs from the command line, then the config file's `[witnesses]` table.
fn witness_urls(args: &[String], file: &ConfigFile) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for a in args {
        let (name, url) = a
            .split_once('=')
            .with_context(|| format!("--witness {a}: expected NAME=URL"))?;
        out.push((name.to_string(), url.to_string()));
    }
    for (name, url) in file.witnesses.iter().flatten() {
        if !out.iter().any(|(n, _)| n == name) {
            out.push((name.clone(), url.clone()));
        }
    }
    for (name, url) in &out {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("witness {name}: {url} is not an http(s) URL");
        }
    }
    Ok(out)
}

pub(crate) async fn shutdown_signal() {
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

/// The runtime a server of this binary runs on (the voting service, a witness, a mirror).
pub(crate) fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// Logs to stderr; `HANPYO_LOG` = error, warn, info (default), debug or trace. Nothing personal
/// or secret is ever logged (no credentials, ballots, roll data or tokens).
pub(crate) fn init_logging() {
    let level = match std::env::var("HANPYO_LOG").as_deref() {
        Ok("error") => tracing::Level::ERROR,
        Ok("warn") => tracing::Level::WARN,
        Ok("debug") => tracing::Level::DEBUG,
        Ok("trace") => tracing::Level::TRACE,
        _ => tracing::Level::INFO,
    };
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    // The database driver's notices and the migration runner's progress are the operator's
    // concern only when something is wrong (`hanpyo db migrate` prints what it applied).
    let quiet = level.min(tracing::Level::WARN);
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(level)
        .with_target("refinery_core", quiet)
        .with_target("postgres", quiet)
        .with_target("tokio_postgres", quiet);
    let _ = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(filter)
        .try_init();
}

fn run_server(
    data: &Path,
    listen: SocketAddr,
    metrics_listen: Option<SocketAddr>,
    mut options: hanpyo_server::Options,
    banner: impl FnOnce(SocketAddr, Option<SocketAddr>),
) -> Result<ExitCode> {
    init_logging();
    runtime()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let metrics_addr = match metrics_listen {
            Some(a) => {
                let l = tokio::net::TcpListener::bind(a)
                    .await
                    .with_context(|| format!("listening on {a}"))?;
                let addr = l.local_addr()?;
                options.metrics = Some(l);
                Some(addr)
            }
            None => None,
        };
        banner(listener.local_addr()?, metrics_addr);
        hanpyo_server::serve(data, listener, options, shutdown_signal()).await?;
        eprintln!(
            "stopped; every acknowledged ballot is in {}",
            hanpyo_server::layout::elections_dir(data).display()
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// The login-code gateways from the flags and the config file: e-mail (a plain relay, or a
/// provider URL with TLS and authentication) and SMS (a gateway's HTTPS JSON API); `None` if
/// neither is configured.
fn delivery(
    args: &ServeArgs,
    file: &ConfigFile,
) -> Result<Option<hanpyo_server::delivery::Delivery>> {
    use hanpyo_server::delivery::{Delivery, Email, Sms};
    let from = args.smtp_from.clone().or(file.smtp_from.clone());
    let need_from = || {
        from.clone()
            .context("e-mail needs a sender address (--smtp-from / smtp_from)")
    };
    let email = match (
        args.smtp_relay.or(file.smtp_relay),
        args.smtp_url.clone().or(file.smtp_url.clone()),
    ) {
        (Some(_), Some(_)) => bail!("give either --smtp-relay or --smtp-url, not both"),
        (Some(relay), None) => Some(Email::relay(relay, &need_from()?)?),
        (None, Some(url)) => Some(Email::url(&url, &need_from()?)?),
        (None, None) => None,
    };
    let sms = match args.sms_url.clone().or(file.sms_url.clone()) {
        Some(url) => {
            let token_file = args
                .sms_token_file
                .clone()
                .or(file.sms_token_file.clone())
                .context("an SMS gateway needs its token (--sms-token-file / sms_token_file)")?;
            let token = std::fs::read_to_string(&token_file)
                .with_context(|| format!("reading {}", token_file.display()))?;
            let sender = args
                .sms_sender
                .clone()
                .or(file.sms_sender.clone())
                .context("an SMS gateway needs the sender number (--sms-sender / sms_sender)")?;
            Some(Sms::new(&url, &token, &sender))
        }
        None => None,
    };
    Ok(
        (email.is_some() || sms.is_some()).then(|| Delivery::Gateways {
            email: email.map(std::sync::Arc::new),
            sms: sms.map(std::sync::Arc::new),
        }),
    )
}

/// `hanpyo serve`.
pub fn serve(args: &ServeArgs) -> Result<ExitCode> {
    let file: ConfigFile = match &args.config {
        Some(p) => toml::from_str(
            &std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        )
        .with_context(|| format!("{}", p.display()))?,
        None => ConfigFile::default(),
    };
    let data = args
        .data
        .clone()
        .or(file.data.clone())
        .context("no data directory (--data, HANPYO_DATA or data = in --config)")?;
    let listen = args
        .listen
        .or(file.listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let metrics_listen = args.metrics_listen.or(file.metrics_listen);
    let mut options = hanpyo_server::Options::defaults();
    if let Some(r) = file.client_rate {
        options.client_rate = r;
    }
    if let Some(r) = file.voter_rate {
        options.voter_rate = r;
    }
    options.delivery = delivery(args, &file)?;
    options.witness_urls = witness_urls(&args.witnesses, &file)?;
    options.database = hanpyo_server::database::Database::from_url(
        args.db.database.clone().or(file.database.clone()),
    );
    // A demo's data directory brings its witnesses along: each is started again as its own
    // process (unless told where it already runs).
    let demo_witnesses = if hanpyo_server::layout::is_demo(&data) {
        crate::witness::start_demo_witnesses(&data)?
            .into_iter()
            .filter(|p| !options.witness_urls.iter().any(|(n, _)| *n == p.name))
            .collect()
    } else {
        Vec::new()
    };
    options.witness_urls.extend(
        demo_witnesses
            .iter()
            .map(|p| (p.name.clone(), p.url.clone())),
    );
    let shown_witnesses: Vec<String> = demo_witnesses.iter().map(|p| p.banner()).collect();
    if options.delivery.is_none() && (args.dev_outbox || file.dev_outbox == Some(true)) {
        eprintln!(
            "WARNING: --dev-outbox: login codes and voters' contacts are written in clear to {}; never use this for a real election",
            data.join("outbox.jsonl").display()
        );
        options.delivery = Some(hanpyo_server::delivery::Delivery::Outbox(
            data.join("outbox.jsonl"),
        ));
    }
    let tls = match (
        args.tls_cert.clone().or(file.tls_cert),
        args.tls_key.clone().or(file.tls_key),
    ) {
        (Some(cert), Some(key)) => {
            let files = hanpyo_server::tls::TlsFiles { cert, key };
            // Checked before anything listens: a wrong file is named now, not at the first client.
            hanpyo_server::tls::Tls::open(files.clone())
                .map_err(|e| anyhow::anyhow!("TLS: {e}"))?;
            Some(files)
        }
        (None, None) => None,
        _ => bail!("TLS needs both a certificate and its key (--tls-cert and --tls-key)"),
    };
    if tls.is_none() && !listen.ip().is_loopback() {
        eprintln!(
            "WARNING: serving plain HTTP on {listen}: login codes, sessions and the administrator's password cross the network unencrypted. Use --tls-cert/--tls-key, or listen on 127.0.0.1 behind a TLS-terminating proxy (docs/deployment.md)."
        );
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    options.tls = tls;
    let served = run_server(
        &data,
        listen,
        metrics_listen,
        options,
        move |addr, metrics| {
            for w in &shown_witnesses {
                println!("{w}");
            }
            println!("url: {scheme}://{addr}/");
            if let Some(m) = metrics {
                println!("metrics: http://{m}/metrics");
            }
        },
    );
    drop(demo_witnesses);
    served
}

/// One election of the demo, set up and written to its directory.
struct DemoElection {
    id: String,
    title: String,
    /// Its first voters' `resident id,birth date,credential,contact` lines.
    shown: Vec<String>,
    voters_file: PathBuf,
    trust_policy: PathBuf,
}

/// A witness of the demo, following every election's log.
struct DemoWitness {
    name: String,
    seed: [u8; 32],
    state: hanpyo_ledger::witness::WitnessState,
}

/// Sets up the demo's election number `k` from `manifest` in `data/elections/<id>/`: a
/// completed key ceremony, the voters' credentials on its ledger (co-signed by the witnesses,
/// whose states follow its log), the trustees' shares, the sealed roll. Voter `j` of election `k`
/// is the fictitious resident `k × 100 000 + j`.
fn demo_election(
    args: &DemoArgs,
    data: &Path,
    master: &[u8; 32],
    k: u32,
    manifest: Option<&str>,
    demo_witnesses: &mut Vec<DemoWitness>,
) -> Result<DemoElection> {
    let election_master: [u8; 32] = if k == 0 {
        *master
    } else {
        use sha2::Digest;
        sha2::Sha256::new()
            .chain_update(b"hanpyo-demo-election")
            .chain_update(master)
            .chain_update(k.to_be_bytes())
            .finalize()
            .into()
    };
    let s = setup(
        &election_master,
        master,
        manifest,
        None,
        None,
        args.witnesses,
        args.witness_quorum,
    )?;
    let election_id = s.manifest.election_id.clone();
    let dir = hanpyo_server::layout::election_dir(data, &election_id);
    if dir.exists() {
        bail!("two demo elections are both named {election_id:?}");
    }
    std::fs::create_dir_all(&dir)?;
    // What a commission publishes apart from its server: the log key, witnesses and quorum that
    // `hanpyo verify --trust`, `hanpyo mirror --trust` and the check page take as the truth.
    let trust_policy = dir.join("trust-policy.toml");
    std::fs::write(&trust_policy, s.manifest.ledger.to_trust_policy()?)?;
    // Demo voters: credentials made here, as the credential authority would; only the public list
    // goes on the ledger.
    let codes: Vec<String> = (0..args.voters)
        .map(|i| SecretCredential::generate_with_rng(&mut voter_rng(&election_master, i, 0)).code())
        .collect();
    let mut publics: Vec<PublicCredential> = codes
        .iter()
        .map(|c| {
            Ok(*SecretCredential::parse(c)?
                .signing_key(election_id.as_bytes())
                .public())
        })
        .collect::<Result<_>>()?;
    // The demo roll carries each voter's public credential, as the credential authority's does.
    let roll: Vec<hanpyo_server::roll::Voter> = (0..args.voters)
        .zip(&publics)
        .map(|(i, p)| hanpyo_server::roll::Voter {
            credential: Some(hex::encode(p.as_bytes())),
            ..demo_voter(k * 100_000 + i)
        })
        .collect();
    publics.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let mut entries = s.entries.clone();
    entries.push(Entry::CredentialList(publics).encode());
    let origin = s.manifest.ledger.origin.clone();
    let mut witnesses = s.witnesses;
    let database = args.db.database();
    {
        let mut ledger = database.ledger(&dir, &origin).open_writer(s.signer)?;
        if ledger.size() > 0 {
            bail!(
                "the database already holds log {origin} ({} entries)",
                ledger.size()
            );
        }
        ledger.append_batch(&entries)?;
        ledger
            .collect_cosignatures(&mut witnesses, 1)?
            .all_cosigned()?;
    }
    write_atomically(
        &dir.join("log.json"),
        &serde_json::to_vec_pretty(&LogKeyFile {
            origin,
            key: hex::encode(s.log_seed),
        })?,
    )?;
    // The elections share their witnesses (the same keys): each witness follows every log.
    for (i, (w, seed)) in witnesses.iter().zip(&s.witness_seeds).enumerate() {
        if demo_witnesses.len() == i {
            demo_witnesses.push(DemoWitness {
                name: w.verifier().name().to_string(),
                seed: *seed,
                state: Default::default(),
            });
        }
        demo_witnesses[i].state.logs.extend(w.state().logs.clone());
    }
    if args.co_located_witnesses {
        let wfiles: Vec<WitnessFile> = witnesses
            .iter()
            .zip(&s.witness_seeds)
            .map(|(w, seed)| WitnessFile {
                name: w.verifier().name().to_string(),
                key: hex::encode(seed),
                state: w.state().clone(),
            })
            .collect();
        write_atomically(
            &dir.join("witnesses.json"),
            &serde_json::to_vec_pretty(&wfiles)?,
        )?;
    }
    let trustees = DemoTrusteesFile {
        shares: s
            .key_shares
            .iter()
            .map(|k| (k.index(), hex::encode(*k.secret_bytes())))
            .collect(),
    };
    write_atomically(
        &dir.join("demo-trustees.json"),
        &serde_json::to_vec_pretty(&trustees)?,
    )?;
    // The demo roll, sealed under a fresh roll key: demo voters log in with resident id and birth
    // date, receive a one-time code in the outbox, and vote with their credential.
    let mut roll_key = [0u8; 32];
    hanpyo_crypto::os_rng().fill_bytes(&mut roll_key);
    let key_path = hanpyo_server::roll_key_path(&dir);
    hanpyo_server::write_secret(&key_path, hex::encode(roll_key).as_bytes())?;
    let identity = hanpyo_server::identity::Identity::open(
        database.election_state_pool(&dir, &election_id)?,
        &roll_key,
    )?;
    identity.import(&roll).map_err(|e| anyhow::anyhow!("{e}"))?;
    // The demo's ceremony and credentials are done: voting is open (unless an administrator is to
    // open it).
    if !args.wait_to_open {
        identity.set_opened().map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let lines: Vec<String> = roll
        .iter()
        .zip(&codes)
        .map(|(v, c)| format!("{},{},{},{}", v.resident_id, v.birth_date, c, v.contact))
        .collect();
    let voters_file = dir.join("demo-voters.txt");
    std::fs::write(&voters_file, lines.join("\n") + "\n")?;
    Ok(DemoElection {
        id: election_id,
        title: s.manifest.title.ko.clone(),
        shown: lines.iter().take(5).cloned().collect(),
        voters_file,
        trust_policy,
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
    // The demo hosts two elections unless told which: a resident vote and an apartment
    // complex's vote, each with its own ledger, roll, trustees and window.
    let manifests: Vec<String> = if args.manifest.is_empty() {
        vec![
            crate::setup::DEMO_MANIFEST.to_string(),
            crate::setup::DEMO_APARTMENT_MANIFEST.to_string(),
        ]
    } else {
        args.manifest
            .iter()
            .map(|p| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display())))
            .collect::<Result<_>>()?
    };
    let mut demo_witnesses = Vec::new();
    let elections: Vec<DemoElection> = manifests
        .iter()
        .enumerate()
        .map(|(k, text)| {
            demo_election(
                args,
                &data,
                &master,
                k as u32,
                Some(text),
                &mut demo_witnesses,
            )
        })
        .collect::<Result<_>>()?;
    let mut pw = [0u8; 12];
    hanpyo_crypto::os_rng().fill_bytes(&mut pw);
    let password = hex::encode(pw);
    let mut accounts = hanpyo_server::accounts::Accounts::open(&data, &args.db.database())?;
    accounts
        .create_user(
            "admin",
            hanpyo_server::accounts::Role::Administrator,
            &hanpyo_server::accounts::Scope::Platform,
            &password,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // The certificate registry's status lists are served at this address: a port picked now.
    let listen = if args.listen.port() == 0 {
        std::net::TcpListener::bind(args.listen)?.local_addr()?
    } else {
        args.listen
    };
    hanpyo_crypto::os_rng().fill_bytes(&mut pw);
    let issuer_password = hex::encode(pw);
    crate::cert::demo::create(
        &data,
        &mut accounts,
        &format!("http://{listen}/api/v1/certs/status"),
        &issuer_password,
    )?;
    drop(accounts);
    let mut witness_processes = Vec::new();
    if !args.co_located_witnesses {
        // Each witness in its own directory and process, as another organisation runs it,
        // following every election's log and the certificate log.
        let (cert_origin, cert_key) = crate::cert::demo::log_of(&data)?;
        for w in &demo_witnesses {
            let dir = data.join("witnesses").join(&w.name);
            let mut state = w.state.clone();
            state.follow(&cert_origin, &cert_key);
            crate::witness::create_demo(&dir, &w.name, &w.seed, &state)?;
        }
        witness_processes = crate::witness::start_demo_witnesses(&data)?;
        crate::cert::demo::add_witnesses(&data, &witness_processes)?;
    }
    let shown_dir = data.clone();
    // A demo runs on one machine, load generator included: no per-address limit worth the name.
    let mut options = hanpyo_server::Options::defaults();
    options.client_rate = hanpyo_server::limits::Rate {
        per_second: 100_000.0,
        burst: 100_000.0,
    };
    options.witness_urls = witness_processes
        .iter()
        .map(|p| (p.name.clone(), p.url.clone()))
        .collect();
    options.database = args.db.database();
    let shown_witnesses: Vec<String> = witness_processes.iter().map(|p| p.banner()).collect();
    let served = run_server(
        &data,
        listen,
        args.metrics_listen,
        options,
        move |addr, metrics| {
            let data = shown_dir;
            println!(
                "Hanpyo demo: {} election(s) (DEMO: the trustees' key shares are in the data directory)",
                elections.len()
            );
            println!("url: http://{addr}/");
            for e in &elections {
                println!("election: {} http://{addr}/e/{}/ {}", e.id, e.id, e.title);
            }
            let first = &elections[0];
            println!(
                "pages: http://{addr}/e/{}/vote.html (vote), check.html (check a receipt), board.html (public board); http://{addr}/admin.html (administration)",
                first.id
            );
            println!("data: {}", data.display());
            if let Some(m) = metrics {
                println!("metrics: http://{m}/metrics");
            }
            println!("admin login: admin {password}");
            println!(
                "certificates: http://{addr}/cert-issuer.html (issuer console), cert-wallet.html (holder), cert-verify.html (verifier), cert-provenance.html (provenance)"
            );
            let logins: Vec<&str> = crate::cert::demo::DEMO_ISSUERS
                .iter()
                .map(|i| i.0)
                .collect();
            println!(
                "issuer logins: {} password {issuer_password}",
                logins.join(", ")
            );
            for e in &elections {
                println!(
                    "voters: {} credentials of {} in {}",
                    args.voters,
                    e.id,
                    e.voters_file.display()
                );
            }
            for w in &shown_witnesses {
                println!("{w}");
            }
            for e in &elections {
                println!(
                    "trust policy: {} (for hanpyo verify --trust, hanpyo mirror --trust and the check page)",
                    e.trust_policy.display()
                );
            }
            for c in &first.shown {
                println!("voter credential: {c}");
            }
            // A command that works as printed: the demo has a roll, so the voter logs in first
            // (the code is read from the demo's outbox).
            let f: Vec<&str> = first.shown[0].split(',').collect();
            if let [id, birth, code, contact] = f[..] {
                println!(
                    "vote:  hanpyo vote --url http://{addr} --election {} --resident-id {id} --birth-date {birth} --outbox {} --contact {contact} --credential {code} --choices '0;1;2,3'",
                    first.id,
                    data.join("outbox.jsonl").display()
                );
            }
        },
    );
    drop(witness_processes);
    served
}

/// A fictitious resident for the demo roll.
fn demo_voter(i: u32) -> hanpyo_server::roll::Voter {
    let year = 1950 + i % 50;
    let month = 1 + i % 12;
    let day = 1 + i % 28;
    let districts = ["종로구", "중구", "용산구", "성동구"];
    hanpyo_server::roll::Voter {
        name: format!("주민 {}", i + 1),
        birth_date: format!("{year:04}-{month:02}-{day:02}"),
        resident_id: format!("{:02}{month:02}{day:02}-{}{:06}", year % 100, 1 + i % 2, i),
        contact: format!("010-{:04}-{:04}", i / 10_000, i % 10_000),
        district: districts[(i % 4) as usize].to_string(),
        credential: None,
    }
}
