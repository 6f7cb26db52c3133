//! # hanpyo-server
//!
//! The voting service: ballot intake (strict decoding, eligibility, proofs, replay), the ledger's
//! sequencer with group commit and receipts, the public board, and the administrator's close and
//! tally steps, and the embedded web pages. One deployment hosts any number of elections, each
//! with its own ledger, keys, roll and tokens ([`layout`] has the data directory; [`platform`]
//! routes requests to elections). A directory with accounts but no election yet is served until
//! an administrator creates one.
#![forbid(unsafe_code)]
// Handles and files here hold keys and channels; a derived Debug would print secrets.
#![allow(missing_debug_implementations)]

pub mod accounts;
pub mod api;
pub mod certs;
pub mod connections;
pub mod database;
pub mod delivery;
pub mod election;
pub mod error;
pub mod forward;
pub mod identity;
pub mod intake;
pub mod layout;
pub mod limits;
pub mod metrics;
pub mod mirror;
pub mod openapi;
pub(crate) mod platform;
pub mod public_log;
pub mod roll;
pub mod sequencer;
pub mod sql;
pub mod tlog;
pub mod tls;
pub mod wakeup;
pub mod web;
pub mod witnesses;

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};

use ed25519_dalek::SigningKey;
use hanpyo_crypto::threshold::KeyShare;
use hanpyo_ledger::checkpoint::{KeyKind, NoteSigner};
use hanpyo_ledger::store::{Ledger, LedgerError};
use hanpyo_ledger::witness::{Witness, WitnessState};
use serde::{Deserialize, Serialize};

use crate::database::LogPlace;
use crate::election::ElectionState;
use crate::sequencer::{Demo, Sequencer};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A data-directory file.
    #[error("{path}: {why}")]
    DataDir {
        /// Which file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// The ledger.
    #[error(transparent)]
    Ledger(#[from] hanpyo_ledger::store::LedgerError),
    /// Network.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The TLS certificate or key.
    #[error("TLS: {0}")]
    Tls(String),
    /// The server's options do not fit the election.
    #[error("{0}")]
    Config(String),
}

pub(crate) fn data_err(path: &Path, why: impl ToString) -> ServerError {
    ServerError::DataDir {
        path: path.display().to_string(),
        why: why.to_string(),
    }
}

/// `log.json`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogKeyFile {
    /// The ledger origin.
    pub origin: String,
    /// Ed25519 seed (hex). Secret.
    pub key: String,
}

/// One co-located witness in `witnesses.json`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessFile {
    /// Name.
    pub name: String,
    /// Ed25519 seed (hex). Secret.
    pub key: String,
    /// Its state.
    pub state: WitnessState,
}

/// `demo-trustees.json`: `(index, secret share hex)`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoTrusteesFile {
    /// Shares.
    pub shares: Vec<(u32, String)>,
}

pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, ServerError> {
    let bytes = std::fs::read(path).map_err(|e| data_err(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| data_err(path, e))
}

/// Writes a file atomically (temporary file, fsync, rename), readable by its owner only: every
/// file of a data directory is (see [`secure_data_dir`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Writes a secret file readable by its owner only (created so from the start: never readable by
/// others, even for a moment).
pub fn write_secret(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomically(path, bytes)
}

/// Makes a data directory owner-only: the directory `0700`, every file in it `0600` (SQLite
/// databases, their WAL and shared-memory files, logs, keys). Run once the databases are open:
/// SQLite creates a database's `-wal` and `-shm` files with the database's own mode, and every
/// other file here is created `0600`, so this holds from then on.
pub fn secure_data_dir(data: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(data)?;
    std::fs::set_permissions(data, std::fs::Permissions::from_mode(0o700))?;
    for entry in std::fs::read_dir(data)? {
        let entry = entry?;
        let mode = if entry.file_type()?.is_dir() {
            0o700
        } else {
            0o600
        };
        std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

pub use layout::roll_key_path;

/// The ledger settings a manifest is parsed with before its election has a ledger: `create_election`
/// replaces them with the new ledger's origin and key.
pub fn unassigned_ledger() -> hanpyo_record::manifest::LedgerInfo {
    hanpyo_record::manifest::LedgerInfo {
        origin: "unassigned".into(),
        key: [0; 32],
        witnesses: Vec::new(),
        witness_quorum: 0,
    }
}

/// Where the manifest's witnesses answer (`(name, url)`, from the manifest's `url` fields), kept
/// beside the election: the signed record names witnesses by name and key only.
pub const WITNESS_URLS_FILE: &str = "witness-urls.json";

/// Creates an election in the data directory `data` (which must not hold one yet): a fresh ledger
/// signing key in `log.json`, the manifest (ledger origin `hanpyo/<election id>`, that key) as
/// the ledger's first entry, and the witnesses' URLs the manifest gave in [`WITNESS_URLS_FILE`].
/// Trustees then run the key ceremony through the server. On PostgreSQL the log is made in the
/// database (refused if a log of that origin is there already) before `log.json` is put in place,
/// so a directory with a `log.json` always has its log.
pub fn create_election(
    data: &Path,
    mut manifest: hanpyo_record::manifest::Manifest,
    witness_urls: &[(String, String)],
    database: &database::Database,
) -> Result<hanpyo_record::manifest::Manifest, ServerError> {
    let ledger_path = data.join("ledger.db");
    if database.holds_election(data) {
        return Err(data_err(data, "this directory already holds an election"));
    }
    let mut key_seed = zeroize::Zeroizing::new([0u8; 32]);
    rand_core::Rng::fill_bytes(&mut hanpyo_crypto::os_rng(), &mut *key_seed);
    let key = SigningKey::from_bytes(&key_seed);
    manifest.ledger.origin = format!("hanpyo/{}", manifest.election_id);
    manifest.ledger.key = key.verifying_key().to_bytes();
    manifest
        .validate()
        .map_err(|e| data_err(&ledger_path, format!("manifest: {e}")))?;
    if let Some((name, _)) = witness_urls
        .iter()
        .find(|(n, _)| !manifest.ledger.witnesses.iter().any(|w| w.name == *n))
    {
        return Err(data_err(
            &ledger_path,
            format!("witness url for {name}: the manifest names no such witness"),
        ));
    }
    std::fs::create_dir_all(data)?;
    if !witness_urls.is_empty() {
        let urls: std::collections::BTreeMap<&str, &str> = witness_urls
            .iter()
            .map(|(n, u)| (n.as_str(), u.as_str()))
            .collect();
        let bytes = serde_json::to_vec_pretty(&urls).map_err(|e| data_err(data, e))?;
        write_atomically(&data.join(WITNESS_URLS_FILE), &bytes)?;
    }
    // The key first: a ledger must never exist without the key that signs it.
    let log = LogKeyFile {
        origin: manifest.ledger.origin.clone(),
        key: hex::encode(*key_seed),
    };
    let log_json = serde_json::to_vec_pretty(&log).map_err(|e| data_err(data, e))?;
    let place = database.ledger(data, &manifest.ledger.origin);
    let key_file = match place {
        LogPlace::File(_) => data.join("log.json"),
        LogPlace::Postgres { .. } => {
            if place.reader().is_ok() {
                return Err(ServerError::Config(format!(
                    "the database already holds the log {}: another deployment (or an earlier attempt) made election {:?} there",
                    manifest.ledger.origin, manifest.election_id
                )));
            }
            data.join("log.json.new")
        }
    };
    write_secret(&key_file, &log_json)?;
    let signer = NoteSigner::new(&manifest.ledger.origin, key, KeyKind::Ed25519)
        .map_err(|e| data_err(&ledger_path, e))?;
    place
        .open_writer(signer)?
        .append_batch(&[
            hanpyo_record::entry::Entry::Manifest(Box::new(manifest.clone())).encode(),
        ])?;
    if key_file != data.join("log.json") {
        std::fs::rename(&key_file, data.join("log.json"))?;
    }
    Ok(manifest)
}

fn seed(hex_str: &str, path: &Path) -> Result<[u8; 32], ServerError> {
    hex::decode(hex_str)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| data_err(path, "key must be 64 hex digits"))
}

/// Runtime options (see `hanpyo serve --help` for how they are configured).
#[derive(Debug)]
pub struct Options {
    /// A separate listener for `/metrics` (none: no metrics endpoint).
    pub metrics: Option<tokio::net::TcpListener>,
    /// Requests per client address.
    pub client_rate: limits::Rate,
    /// Ballots per voter credential.
    pub voter_rate: limits::Rate,
    /// Login-code delivery (default: a demo's outbox file; otherwise none).
    pub delivery: Option<delivery::Delivery>,
    /// Serve over TLS with this certificate and key (reloaded when they change).
    pub tls: Option<tls::TlsFiles>,
    /// Where the manifest's witnesses serve C2SP tlog-witness: `(name, URL)`.
    pub witness_urls: Vec<(String, String)>,
    /// Where the ledgers and the state are (default: SQLite files in the data directory).
    pub database: database::Database,
}

impl Options {
    /// No metrics listener; 200 requests/s per client (burst 400); 1 ballot per 10 s per
    /// credential (burst 5).
    pub fn defaults() -> Self {
        Self {
            metrics: None,
            client_rate: limits::Rate {
                per_second: 200.0,
                burst: 400.0,
            },
            voter_rate: limits::Rate {
                per_second: 0.1,
                burst: 5.0,
            },
            delivery: None,
            tls: None,
            witness_urls: Vec::new(),
            database: database::Database::Embedded,
        }
    }
}

/// Opens the data directory (moving a single-election one into `elections/` first) and serves
/// every election in it on `listener` until `shutdown` completes; then finishes the in-flight
/// commits and stops. A data directory with accounts but no election is served too: an
/// administrator creates elections from the console.
pub async fn serve(
    data: &Path,
    listener: tokio::net::TcpListener,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    if !layout::is_data_dir(data) {
        return Err(data_err(
            data,
            "not a Hanpyo data directory (make one with hanpyo admin create-user or hanpyo admin init)",
        ));
    }
    layout::migrate_single_election(data)?;
    let tls = match &options.tls {
        Some(files) => Some(tls::Tls::open(files.clone()).map_err(ServerError::Tls)?),
        None => None,
    };
    let accounts = Arc::new(Mutex::new(accounts::Accounts::open(
        data,
        &options.database,
    )?));
    secure_data_dir(data).map_err(|e| data_err(data, e))?;
    metrics::install();
    let metrics = Arc::new(metrics::Metrics);
    if let Some(ml) = options.metrics {
        let m = metrics.clone();
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let m = m.clone();
                async move { m.render() }
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(ml, app).await;
        });
    }
    let shared = platform::Shared {
        client_limits: Arc::new(Mutex::new(limits::Buckets::new(options.client_rate))),
        voter_limits: Arc::new(Mutex::new(limits::Buckets::new(options.voter_rate))),
        intake: intake::Intake::start(2),
        delivery: options.delivery,
        witness_urls: options.witness_urls,
        metrics,
        wakeups: options.database.url().map(wakeup::Wakeups::start),
        database: options.database,
    };
    // Opening reads every ledger and connects to the database: blocking work, off the runtime
    // (the PostgreSQL client may not block a thread that drives it).
    let platform =
        tokio::task::block_in_place(|| platform::Platform::open(data, accounts, shared))?;
    if platform.len() == 0 {
        tracing::info!("no election yet: an administrator creates one in the console");
    }
    tracing::info!(addr = %listener.local_addr()?, elections = platform.len(), "serving");
    connections::serve(listener, platform.router(), tls, shutdown).await?;
    tracing::info!("shutting down: finishing the last commits");
    platform.stop().await;
    Ok(())
}

/// The manifest's witnesses as the sequencer reaches them: co-located ones (a key in the data
/// directory) and remote ones at the URLs the operator gave. A URL for a name the manifest does not
/// list is refused; a listed witness that can be reached neither way is warned about (its
/// cosignatures are missing, and without the quorum no ballot is accepted).
/// The witnesses' URLs: the operator's (`serve --witness`, the config file) first, then those the
/// manifest gave ([`WITNESS_URLS_FILE`]) for the witnesses the operator did not name.
fn witness_urls(
    data: &Path,
    operator: &[(String, String)],
) -> Result<Vec<(String, String)>, ServerError> {
    let mut urls = operator.to_vec();
    let path = data.join(WITNESS_URLS_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let from_manifest: std::collections::BTreeMap<String, String> =
                serde_json::from_slice(&bytes).map_err(|e| data_err(&path, e))?;
            for (name, url) in from_manifest {
                if !urls.iter().any(|(n, _)| *n == name) {
                    urls.push((name, url));
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    Ok(urls)
}

fn election_witnesses(
    ledger: &hanpyo_record::manifest::LedgerInfo,
    local: Vec<Witness>,
    urls: &[(String, String)],
) -> Result<sequencer::Witnesses, ServerError> {
    let verifiers = ledger
        .witness_verifiers()
        .map_err(|e| ServerError::Config(format!("the manifest's witnesses: {e}")))?;
    let mut remote = Vec::new();
    for (name, url) in urls {
        // The operator's URLs serve every election of the deployment: each election takes those
        // of the witnesses its manifest names (the platform refuses a name no election has).
        if let Some(verifier) = verifiers.iter().find(|v| v.name() == name) {
            remote.push(witnesses::RemoteWitness::new(verifier.clone(), url));
        }
    }
    for v in &verifiers {
        let here = local.iter().any(|w| w.verifier().name() == v.name());
        if !here && !urls.iter().any(|(n, _)| n == v.name()) {
            tracing::warn!(
                witness = v.name(),
                "the manifest names this witness but gives no URL and no --witness URL was given: it cannot co-sign"
            );
        }
    }
    Ok(sequencer::Witnesses::new(
        local,
        remote,
        ledger.witness_quorum as usize,
    ))
}

/// Opens the election `id` of the deployment in `platform_data`: ledger, witnesses, demo
/// trustees, state, roll, sequencer; answers it ready to serve.
pub(crate) fn open_election(
    platform_data: &Path,
    id: &str,
    shared: &platform::Shared,
    accounts: Arc<Mutex<accounts::Accounts>>,
) -> Result<platform::Hosted, ServerError> {
    let dir = layout::election_dir(platform_data, id);
    let data = dir.as_path();
    let log_path = data.join("log.json");
    let log: LogKeyFile = read_json(&log_path)?;
    let make_signer = {
        let origin = log.origin.clone();
        let log_seed = zeroize::Zeroizing::new(seed(&log.key, &log_path)?);
        move || {
            Ok(NoteSigner::new(
                &origin,
                SigningKey::from_bytes(&log_seed),
                KeyKind::Ed25519,
            )?)
        }
    };
    let signer = make_signer().map_err(|e: LedgerError| data_err(&log_path, e))?;
    let log_place = shared.database.ledger(data, &log.origin);
    // On a shared database, the node that takes the log's lease is its sequencer; the others
    // follow it and hand it their writes.
    let ledger = match (&log_place, log_place.open_existing(signer)) {
        (LogPlace::Postgres { url, .. }, Err(ServerError::Ledger(LedgerError::Busy(_)))) => {
            tracing::info!(
                election = id,
                "another node is this log's sequencer: following it"
            );
            Ledger::follow_postgres(url, make_signer()?)?
        }
        (_, opened) => opened?,
    };
    let witnesses_path = data.join("witnesses.json");
    let witnesses: Vec<Witness> = if witnesses_path.exists() {
        let files: Vec<WitnessFile> = read_json(&witnesses_path)?;
        files
            .into_iter()
            .map(|w| {
                Witness::new(
                    &w.name,
                    SigningKey::from_bytes(&seed(&w.key, &witnesses_path)?),
                    w.state,
                )
                .map_err(|e| data_err(&witnesses_path, e))
            })
            .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    let trustees_path = data.join("demo-trustees.json");
    let demo = if trustees_path.exists() {
        let f: DemoTrusteesFile = read_json(&trustees_path)?;
        let trustees = f
            .shares
            .iter()
            .map(|(i, h)| {
                let s = hanpyo_crypto::group::decode_scalar(&seed(h, &trustees_path)?)
                    .map_err(|e| data_err(&trustees_path, e))?;
                Ok(KeyShare::from_parts(*i, s))
            })
            .collect::<Result<Vec<_>, ServerError>>()?;
        Some(Demo { trustees })
    } else {
        None
    };
    let mut state = ElectionState::rebuild(&ledger).map_err(|e| data_err(data, e))?;
    if state.params.manifest.election_id != id {
        return Err(data_err(
            data,
            format!(
                "this directory holds election {:?}: its directory must be named so",
                state.params.manifest.election_id
            ),
        ));
    }
    let key_path = roll_key_path(data);
    if !key_path.exists() {
        let mut k = [0u8; 32];
        rand_core::Rng::fill_bytes(&mut hanpyo_crypto::os_rng(), &mut k);
        write_secret(&key_path, hex::encode(k).as_bytes())?;
    }
    let roll_key = seed(
        std::fs::read_to_string(&key_path)
            .map_err(|e| data_err(&key_path, e))?
            .trim(),
        &key_path,
    )?;
    let state_pool = shared.database.election_state_pool(data, id)?;
    let identity = identity::Identity::open(state_pool.clone(), &roll_key)
        .map_err(|e| data_err(&data.join("state.db"), e))?;
    let opened = identity
        .opened()
        .map_err(|e| data_err(&data.join("state.db"), e.message))?;
    if state.phase == election::Phase::Credentials && opened {
        state.phase = election::Phase::Open;
    }
    let election = Arc::new(Mutex::new(state));
    let identity = Arc::new(identity);
    let shared_log = match &log_place {
        LogPlace::File(_) => None,
        LogPlace::Postgres { url, .. } => Some(sequencer::SharedLog {
            url: url.clone(),
            signer: Box::new(make_signer),
            pending: forward::Pending::new(state_pool),
            opened: {
                let identity = identity.clone();
                Box::new(move || identity.opened().unwrap_or(false))
            },
            wakeups: shared.wakeups.clone(),
        }),
    };
    let witness_file_path = witnesses_path.clone();
    let keys: Vec<(String, String)> = if witnesses_path.exists() {
        let files: Vec<WitnessFile> = read_json(&witnesses_path)?;
        files.into_iter().map(|w| (w.name, w.key)).collect()
    } else {
        Vec::new()
    };
    let after_commit: sequencer::AfterCommit = Box::new(move |ws: &[Witness]| {
        if ws.is_empty() {
            return;
        }
        let files: Vec<WitnessFile> = ws
            .iter()
            .zip(&keys)
            .map(|(w, (name, key))| WitnessFile {
                name: name.clone(),
                key: key.clone(),
                state: w.state().clone(),
            })
            .collect();
        if let Ok(bytes) = serde_json::to_vec_pretty(&files)
            && let Err(e) = write_atomically(&witness_file_path, &bytes)
        {
            tracing::error!(error = %e, "persisting witness state");
        }
    });
    let metrics = shared.metrics.clone();
    let witnesses = election_witnesses(
        &election
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .params
            .manifest
            .ledger,
        witnesses,
        &witness_urls(data, &shared.witness_urls)?,
    )?;
    let (sequencer, thread) = Sequencer::start(
        ledger,
        election.clone(),
        witnesses,
        demo,
        after_commit,
        metrics.clone(),
        shared_log,
    );
    if let (Some(wakeups), LogPlace::Postgres { origin, .. }) = (&shared.wakeups, &log_place) {
        wakeups.register(origin.clone(), sequencer.waker());
        wakeups.register(sql::schema_name(id), sequencer.waker());
    }
    let state = api::AppState {
        election_id: id.to_string(),
        election,
        sequencer,
        accounts,
        metrics,
        client_limits: shared.client_limits.clone(),
        voter_limits: shared.voter_limits.clone(),
        identity,
        intake: shared.intake.clone(),
        demo_data: trustees_path.exists().then(|| data.to_path_buf()),
        district_turnout: Arc::new(Mutex::new(None)),
        roll_key_file: roll_key_path(data),
        ledger: log_place,
        downloads: Arc::new(tokio::sync::Semaphore::new(api::MAX_DOWNLOADS)),
        // A demo writes codes to the deployment's outbox; a real server sends nothing unless a
        // backend is set.
        delivery: shared.delivery.clone().unwrap_or_else(|| {
            if trustees_path.exists() {
                delivery::Delivery::Outbox(platform_data.join("outbox.jsonl"))
            } else {
                delivery::Delivery::Disabled
            }
        }),
    };
    secure_data_dir(data).map_err(|e| data_err(data, e))?;
    Ok(platform::Hosted {
        router: api::router(state.clone()),
        state,
        thread: Some(thread),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest_naming(witnesses: &[(&str, u8)]) -> hanpyo_record::manifest::Manifest {
        let key = |seed: u8| {
            hex::encode(
                SigningKey::from_bytes(&[seed; 32])
                    .verifying_key()
                    .to_bytes(),
            )
        };
        let listed: Vec<String> = witnesses
            .iter()
            .map(|(n, s)| format!("{{ name = \"{n}\", key = \"{}\" }}", key(*s)))
            .collect();
        let text = format!(
            "election_id = \"e\"\nopens_at = 2026-12-01T09:00:00+09:00\ncloses_at = 2026-12-02T09:00:00+09:00\n\
             trustees = 1\nthreshold = 1\ntitle = {{ ko = \"가\", en = \"A\" }}\nwitnesses = [{}]\n\
             [[questions]]\nkind = \"referendum\"\ntitle = {{ ko = \"가\", en = \"A\" }}\n",
            listed.join(", ")
        );
        hanpyo_record::manifest::Manifest::parse(&text, unassigned_ledger()).expect("manifest")
    }

    #[test]
    fn the_manifests_witness_urls_are_kept_beside_the_election_and_the_operator_overrides_them() {
        let data = std::env::temp_dir().join(format!("hanpyo-urls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        let m = manifest_naming(&[("kisa.example/w", 2), ("press.example/w", 3)]);
        let pair = |n: &str, u: &str| (n.to_string(), u.to_string());
        // A URL for a witness the manifest does not name is refused, and nothing is created.
        let stray = [pair("elsewhere.example/w", "https://elsewhere.example/")];
        let files = database::Database::Embedded;
        assert!(create_election(&data, m.clone(), &stray, &files).is_err());
        assert!(!data.join("ledger.db").exists());
        let given = [
            pair("kisa.example/w", "https://witness.kisa.example/"),
            pair("press.example/w", "https://witness.press.example/"),
        ];
        create_election(&data, m, &given, &files).expect("created");
        assert_eq!(witness_urls(&data, &[]).expect("urls"), given.to_vec());
        // `serve --witness` (or the config file) wins for the witness it names.
        let operator = [pair("press.example/w", "http://127.0.0.1:9000/")];
        assert_eq!(
            witness_urls(&data, &operator).expect("urls"),
            vec![operator[0].clone(), given[0].clone()]
        );
        let _ = std::fs::remove_dir_all(&data);
    }
}
