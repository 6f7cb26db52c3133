//! The certificate registry a deployment hosts beside its elections (`DATA/certs/`, see
//! docs/certs.md): its log, the keys of the issuers whose console is this server, the status
//! lists it signs for them, and a short-lived relay for presentations shown by QR code.
//!
//! The registry's operator is the platform's administrator; an issuer's console is an account
//! scoped to that issuer ([`Scope::Issuer`]).
pub(crate) mod api;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use hanpyo_certs::service::{CertLog, ServiceError};
use hanpyo_certs::{did, directory};
use serde_json::{Map, Value};

use crate::accounts::Scope;
use crate::error::ApiError;

/// How long a relayed presentation waits to be fetched (once).
pub const RELAY_TTL: Duration = Duration::from_secs(300);
/// Presentations waiting at most (the oldest are dropped first).
pub const RELAY_MAX: usize = 10_000;
/// Bytes of presentations waiting at most: past it, new ones are refused (503 `busy`) until
/// the old ones are fetched or expire.
pub const RELAY_MAX_BYTES: usize = 64 * 1024 * 1024;
/// How long a signed status list is reused before it is signed again.
pub const STATUS_TTL: Duration = Duration::from_secs(60);

/// A signed status list credential.
type SignedList = Map<String, Value>;

/// A hosted certificate registry.
pub struct Certs {
    dir: PathBuf,
    log: Mutex<CertLog>,
    relay: Mutex<HashMap<String, (Instant, String)>>,
    status: Mutex<HashMap<(String, u64), (Instant, SignedList)>>,
}

impl std::fmt::Debug for Certs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certs").field("dir", &self.dir).finish()
    }
}

/// The client of a registry's independent witness (C2SP tlog-witness over HTTP).
pub fn connect_witness(
    w: &directory::RemoteWitness,
) -> Result<Box<dyn hanpyo_ledger::witness::Cosigner>, ServiceError> {
    Ok(Box::new(crate::witnesses::RemoteWitness::new(
        w.verifier()?,
        &w.url,
    )))
}

/// Where a deployment's certificate registry lives.
pub fn certs_dir(data: &Path) -> PathBuf {
    data.join("certs")
}

fn issuer_key_path(dir: &Path, multibase: &str) -> PathBuf {
    dir.join("issuers").join(format!("{multibase}.key"))
}

pub(crate) fn rule_error(e: ServiceError) -> ApiError {
    use hanpyo_certs::registry::RuleError;
    match e {
        ServiceError::Rule(RuleError::NotRegistered(m)) => ApiError::new(
            403,
            "not-registered",
            format!("{m} is not a registered issuer"),
        ),
        ServiceError::Rule(r @ RuleError::NotAllowed { .. }) => {
            ApiError::new(403, "not-allowed", r.to_string())
        }
        ServiceError::Rule(RuleError::Balance(m)) => ApiError::new(409, "unbalanced", m),
        ServiceError::Rule(r @ (RuleError::Duplicate(_) | RuleError::Sequence(_))) => {
            ApiError::new(409, "refused", r.to_string())
        }
        ServiceError::Rule(r) => ApiError::malformed(r.to_string()),
        ServiceError::Cert(c) => ApiError::malformed(c.to_string()),
        ServiceError::NotFound(m) => ApiError::not_found(m),
        ServiceError::Quorum { .. } => ApiError::new(503, "witnesses-unavailable", e.to_string()),
        other => {
            tracing::error!(error = %other, "certificate log");
            ApiError::internal()
        }
    }
}

impl Certs {
    /// Opens `DATA/certs` if the deployment has a registry.
    pub fn open(data: &Path) -> Result<Option<Self>, ServiceError> {
        let dir = certs_dir(data);
        if !directory::exists(&dir) {
            return Ok(None);
        }
        let log = directory::open(&dir, &connect_witness)?;
        Ok(Some(Self {
            dir,
            log: Mutex::new(log),
            relay: Mutex::new(HashMap::new()),
            status: Mutex::new(HashMap::new()),
        }))
    }

    /// The log (locked).
    pub fn log(&self) -> std::sync::MutexGuard<'_, CertLog> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key of an issuer whose console is this server.
    pub(crate) fn issuer_key(&self, multibase: &str) -> Result<SigningKey, ApiError> {
        did::parse_multibase_key(multibase).map_err(|_| ApiError::not_found("no such issuer"))?;
        let path = issuer_key_path(&self.dir, multibase);
        if !path.exists() {
            return Err(ApiError::new(
                404,
                "unknown-issuer",
                "this server holds no key of that issuer",
            ));
        }
        directory::read_key(&path).map_err(|e| {
            tracing::error!(error = %e, "issuer key");
            ApiError::internal()
        })
    }

    /// Registers a new issuer whose key this server makes and keeps (approved by the operator,
    /// on the log); answers its multibase key.
    pub fn register_hosted_issuer(
        &self,
        name: &str,
        types: &[String],
        now: u64,
    ) -> Result<String, ApiError> {
        let key = directory::new_key(&mut hanpyo_crypto::os_rng());
        let multibase = did::multibase_key(&key.verifying_key());
        let operator = directory::read_key(&self.dir.join("operator.key")).map_err(|e| {
            tracing::error!(error = %e, "operator key");
            ApiError::internal()
        })?;
        let entry =
            hanpyo_certs::issue::approve_issuer(&operator, &key.verifying_key(), name, types, now)
                .map_err(|e| ApiError::malformed(e.to_string()))?;
        // Check the rules before the key is written: a refused registration leaves nothing.
        let bytes = entry
            .to_bytes()
            .map_err(|e| ApiError::malformed(e.to_string()))?;
        let mut log = self.log();
        log.registry()
            .check(&bytes)
            .map_err(|r| rule_error(r.into()))?;
        // The issuers' keys: a directory only its owner may list, each key file 0600.
        crate::secure_data_dir(&self.dir.join("issuers")).map_err(|e| {
            tracing::error!(error = %e, "the issuers' key directory");
            ApiError::internal()
        })?;
        directory::write_key(&issuer_key_path(&self.dir, &multibase), &key).map_err(|e| {
            tracing::error!(error = %e, "writing an issuer key");
            ApiError::internal()
        })?;
        log.append(&[entry], now).map_err(rule_error)?;
        Ok(multibase)
    }

    /// The issuer's signed status list `list`, reused for [`STATUS_TTL`].
    pub(crate) fn status_list(
        &self,
        multibase: &str,
        list: u64,
        now: u64,
    ) -> Result<Map<String, Value>, ApiError> {
        let cache_key = (multibase.to_string(), list);
        if let Some((at, cred)) = self
            .status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&cache_key)
            && at.elapsed() < STATUS_TTL
        {
            return Ok(cred.clone());
        }
        let key = self.issuer_key(multibase)?;
        // Signed and cached under the log's lock: a revocation (which takes it to append, then
        // forgets the cached lists) cannot fall between the two and leave a stale list cached.
        let log = self.log();
        let issued = log
            .registry()
            .issuers
            .get(&did::did_key(&key.verifying_key()))
            .map_or(0, |s| s.next_index);
        if list > issued / hanpyo_certs::status_list::LIST_BITS {
            return Err(ApiError::not_found("no such status list"));
        }
        let cred = log.status_list(&key, list, now).map_err(rule_error)?;
        let mut cache = self.status.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(cache_key, (Instant::now(), cred.clone()));
        drop(cache);
        drop(log);
        Ok(cred)
    }

    /// Forgets cached status lists of an issuer (after a revocation).
    pub(crate) fn status_changed(&self, multibase: &str) {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(k, _), _| k != multibase);
    }

    /// Keeps a presentation for one fetch within [`RELAY_TTL`]; answers its id.
    pub(crate) fn relay_put(&self, presentation: String) -> Result<String, ApiError> {
        let mut id = [0u8; 12];
        rand_core::Rng::fill_bytes(&mut hanpyo_crypto::os_rng(), &mut id);
        let id = hex::encode(id);
        let mut relay = self.relay.lock().unwrap_or_else(|e| e.into_inner());
        relay.retain(|_, (at, _)| at.elapsed() < RELAY_TTL);
        let held: usize = relay.values().map(|(_, p)| p.len()).sum();
        if held + presentation.len() > RELAY_MAX_BYTES {
            return Err(ApiError::busy());
        }
        if relay.len() >= RELAY_MAX
            && let Some(oldest) = relay
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone())
        {
            relay.remove(&oldest);
        }
        relay.insert(id.clone(), (Instant::now(), presentation));
        Ok(id)
    }

    /// Takes a relayed presentation (once).
    pub(crate) fn relay_take(&self, id: &str) -> Option<String> {
        let mut relay = self.relay.lock().unwrap_or_else(|e| e.into_inner());
        relay
            .remove(id)
            .filter(|(at, _)| at.elapsed() < RELAY_TTL)
            .map(|(_, p)| p)
    }
}

/// The issuer an account's scope names, if it is an issuer's.
pub(crate) fn issuer_of(scope: &Scope) -> Option<&str> {
    match scope {
        Scope::Issuer(k) => Some(k),
        _ => None,
    }
}
