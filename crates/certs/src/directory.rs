//! A certificate registry's directory: its log, its keys and its public configuration.
//!
//! ```text
//! DIR/registry.json    public: name, origin, statusBase, witness names, quorum
//! DIR/trust.json       public: the anchors a verifier pins (`hanpyo cert verify --trust`)
//! DIR/certs.db         the log (SQLite)
//! DIR/operator.key     secret: the operator's approval key (hex seed, 0600)
//! DIR/log.key          secret: the log's checkpoint key
//! DIR/witness-N.key    secret: a co-located witness's key (a demonstration; see docs/certs.md)
//! ```
//!
//! A co-located witness rebuilds what it last co-signed from the log's latest checkpoint: it
//! guards against nothing the operator does, and stands in for independent witnesses.
use std::io::Write;
use std::path::Path;

use ed25519_dalek::SigningKey;
use hanpyo_ledger::checkpoint::{Checkpoint, KeyKind, NoteSigner, NoteVerifier, SignedNote};
use hanpyo_ledger::store::LedgerReader;
use hanpyo_ledger::witness::{Cosigner, Witness, WitnessState};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::CertError;
use crate::service::{CertLog, ServiceError, witness_keys};

/// The public configuration of a registry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    /// The registry's name.
    pub name: String,
    /// The log's origin.
    pub origin: String,
    /// Where status lists are published.
    pub status_base: String,
    /// The co-located witnesses' names.
    pub witnesses: Vec<String>,
    /// Independent witnesses, each run by another organisation (`hanpyo witness serve`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remote_witnesses: Vec<RemoteWitness>,
    /// Cosignatures required.
    pub quorum: usize,
}

/// An independent witness of the log, reached over C2SP tlog-witness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteWitness {
    /// Its key name (as in its cosignature lines).
    pub name: String,
    /// Its Ed25519 key, hex.
    pub key: String,
    /// Where it answers (`<url>/add-checkpoint`).
    pub url: String,
}

impl RemoteWitness {
    /// Its cosignature verifier (name and key, checked).
    pub fn verifier(&self) -> Result<NoteVerifier, CertError> {
        NoteVerifier::new(
            &self.name,
            crate::bundle::hex_key(&self.key)?,
            KeyKind::Cosignature,
        )
        .map_err(|e| CertError::Malformed(format!("witness {}: {e}", self.name)))
    }
}

/// Makes the client of an independent witness (the caller's HTTP: this crate does none).
pub type Connect<'a> = &'a dyn Fn(&RemoteWitness) -> Result<Box<dyn Cosigner>, ServiceError>;

fn io(path: &Path, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Io(format!("{}: {e}", path.display()))
}

/// Writes a new secret key file (hex seed), readable by its owner only; refuses to overwrite.
pub fn write_key(path: &Path, key: &SigningKey) -> Result<(), ServiceError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io(path, e))?;
    let text = Zeroizing::new(format!("{}\n", hex::encode(key.to_bytes())));
    f.write_all(text.as_bytes()).map_err(|e| io(path, e))?;
    f.sync_all().map_err(|e| io(path, e))
}

/// Reads a key file.
pub fn read_key(path: &Path) -> Result<SigningKey, ServiceError> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| io(path, e))?);
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text.trim(), seed.as_mut_slice())
        .map_err(|_| io(path, "not a key file (64 hex digits)"))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// A fresh key.
pub fn new_key<R: CryptoRng + ?Sized>(rng: &mut R) -> SigningKey {
    let mut seed = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(seed.as_mut_slice());
    SigningKey::from_bytes(&seed)
}

/// Whether `dir` holds a registry.
pub fn exists(dir: &Path) -> bool {
    dir.join("registry.json").exists()
}

/// Creates a registry in the empty (or new) directory `dir` and opens it.
pub fn init<R: CryptoRng + ?Sized>(
    rng: &mut R,
    dir: &Path,
    name: &str,
    origin: &str,
    status_base: &str,
    witnesses: usize,
) -> Result<CertLog, ServiceError> {
    if exists(dir) {
        return Err(io(dir, "already holds a certificate registry"));
    }
    // The registry entry the log will begin with, checked before anything is written.
    let probe = crate::entry::Entry::Registry(crate::entry::Registry {
        name: name.to_string(),
        operator: crate::did::did_key(&new_key(rng).verifying_key()),
        status_base: status_base.trim_end_matches('/').to_string(),
        version: 1,
    });
    crate::registry::Registry::default().check(&probe.to_bytes()?)?;
    NoteSigner::new(origin, new_key(rng), KeyKind::Ed25519)
        .map_err(|e| io(dir, format!("origin: {e}")))?;
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| io(dir, e))?;
    }
    write_key(&dir.join("operator.key"), &new_key(rng))?;
    write_key(&dir.join("log.key"), &new_key(rng))?;
    let mut names = Vec::new();
    for i in 1..=witnesses {
        write_key(&dir.join(format!("witness-{i}.key")), &new_key(rng))?;
        names.push(format!("{origin}/witness-{i}"));
    }
    let config = Config {
        name: name.to_string(),
        origin: origin.to_string(),
        status_base: status_base.trim_end_matches('/').to_string(),
        witnesses: names,
        remote_witnesses: Vec::new(),
        quorum: witnesses,
    };
    let text = serde_json::to_string_pretty(&config).map_err(|e| io(dir, e))?;
    std::fs::write(dir.join("registry.json"), text).map_err(|e| io(dir, e))?;
    let log = open(dir, &|w| {
        Err(io(dir, format!("no client for witness {}", w.name)))
    })?;
    write_trust(dir, &log)?;
    Ok(log)
}

fn write_trust(dir: &Path, log: &CertLog) -> Result<(), ServiceError> {
    let anchors = serde_json::to_string_pretty(log.anchors()).map_err(|e| io(dir, e))?;
    std::fs::write(dir.join("trust.json"), anchors).map_err(|e| io(dir, e))
}

/// Adds an independent witness (which must already follow the log: `hanpyo witness follow`) and
/// sets the quorum (`None` keeps it); the trust file is written again. Certificates issued from
/// now on carry checkpoints it co-signed.
pub fn add_remote_witness(
    dir: &Path,
    witness: RemoteWitness,
    quorum: Option<usize>,
    connect: Connect<'_>,
) -> Result<CertLog, ServiceError> {
    let mut c = config(dir)?;
    witness.verifier()?;
    if c.witnesses.contains(&witness.name)
        || c.remote_witnesses.iter().any(|w| w.name == witness.name)
    {
        return Err(io(
            dir,
            format!("a witness named {} is already there", witness.name),
        ));
    }
    c.remote_witnesses.push(witness);
    let all = c.witnesses.len() + c.remote_witnesses.len();
    c.quorum = quorum.unwrap_or(c.quorum);
    if c.quorum > all {
        return Err(io(
            dir,
            format!("a quorum of {} among {all} witnesses", c.quorum),
        ));
    }
    let text = serde_json::to_string_pretty(&c).map_err(|e| io(dir, e))?;
    std::fs::write(dir.join("registry.json"), text).map_err(|e| io(dir, e))?;
    let mut log = open(dir, connect)?;
    // The latest checkpoint co-signed by the new witness too, before anything depends on it.
    log.cosign_now(crate::service::unix_now())?;
    write_trust(dir, &log)?;
    Ok(log)
}

/// The registry's configuration.
pub fn config(dir: &Path) -> Result<Config, ServiceError> {
    let path = dir.join("registry.json");
    let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| io(&path, e))
}

/// Opens the registry in `dir` with its co-located witnesses and, through `connect`, its
/// independent ones.
pub fn open(dir: &Path, connect: Connect<'_>) -> Result<CertLog, ServiceError> {
    let config = config(dir)?;
    let operator = read_key(&dir.join("operator.key"))?;
    let log_key = read_key(&dir.join("log.key"))?;
    let db = dir.join("certs.db");
    // What the witnesses last co-signed: the latest checkpoint (they co-sign every commit).
    let last = if db.exists() {
        LedgerReader::open(&db)?
            .latest_checkpoint()?
            .map(|note| -> Result<Checkpoint, ServiceError> {
                let n = SignedNote::parse(&note).map_err(|e| io(&db, e))?;
                Checkpoint::parse_body(&n.body).map_err(|e| io(&db, e))
            })
            .transpose()?
    } else {
        None
    };
    let mut witnesses: Vec<Box<dyn Cosigner>> = Vec::new();
    let mut keys = Vec::new();
    for (i, name) in config.witnesses.iter().enumerate() {
        let key = read_key(&dir.join(format!("witness-{}.key", i + 1)))?;
        let mut state = WitnessState::default();
        state.follow(&config.origin, &log_key.verifying_key());
        if let (Some(cp), Some(l)) = (&last, state.logs.get_mut(&config.origin)) {
            l.size = cp.size;
            l.root = hex::encode(cp.root);
        }
        keys.push((name.clone(), key.verifying_key()));
        witnesses.push(Box::new(
            Witness::new(name, key, state).map_err(|e| io(dir, e))?,
        ));
    }
    for w in &config.remote_witnesses {
        keys.push((w.name.clone(), *w.verifier()?.key()));
        witnesses.push(connect(w)?);
    }
    let signer =
        NoteSigner::new(&config.origin, log_key, KeyKind::Ed25519).map_err(|e| io(dir, e))?;
    CertLog::open(
        &db,
        signer,
        &operator.verifying_key(),
        &config.name,
        &config.status_base,
        witnesses,
        witness_keys(&keys),
        config.quorum,
    )
}
