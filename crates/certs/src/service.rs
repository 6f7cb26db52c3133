//! A certificate log in durable storage: every entry checked against the [`Registry`] rules,
//! appended with group commit, co-signed by the witnesses, and answered with its receipt only
//! then. The command line (`hanpyo cert …`) and the server drive the same service.
use std::collections::BTreeMap;
use std::path::Path;

use ed25519_dalek::{SigningKey, VerifyingKey};
use hanpyo_ledger::checkpoint::NoteSigner;
use hanpyo_ledger::receipt::Receipt;
use hanpyo_ledger::store::{Ledger, LedgerError};
use hanpyo_ledger::witness::Cosigner;
use rand_core::CryptoRng;
use serde_json::{Map, Value};

use crate::bundle::{Anchors, Bundle, Evidence, WitnessKey};
use crate::entry::{self, Entry};
use crate::issue::{self, Request};
use crate::registry::{Registry, RuleError};
use crate::status_list::{self, Bitstring, LIST_BITS};
use crate::template::Template;
use crate::{CertError, did};

/// Why the service refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The entry breaks the log's rules.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// A credential could not be built (bad field, …).
    #[error(transparent)]
    Cert(#[from] CertError),
    /// Storage.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Fewer witnesses co-signed than the quorum (the entries are on the log; receipts wait).
    #[error("only {cosigned} of {quorum} required witness cosignatures: {failures}")]
    Quorum {
        /// Got.
        cosigned: usize,
        /// Needed.
        quorum: usize,
        /// Why the others did not.
        failures: String,
    },
    /// Not found (an issuer, a lot, an index).
    #[error("{0}")]
    NotFound(String),
    /// A file of the registry's directory.
    #[error("{0}")]
    Io(String),
}

/// A certificate log and its witnesses.
pub struct CertLog {
    ledger: Ledger,
    registry: Registry,
    witnesses: Vec<Box<dyn Cosigner>>,
    anchors: Anchors,
}

impl std::fmt::Debug for CertLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertLog")
            .field("origin", &self.anchors.origin)
            .field("size", &self.registry.size)
            .finish()
    }
}

/// Now, in Unix seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The witnesses' public keys with the quorum, for the anchors.
pub fn witness_keys(witnesses: &[(String, VerifyingKey)]) -> Vec<WitnessKey> {
    witnesses
        .iter()
        .map(|(name, key)| WitnessKey {
            name: name.clone(),
            key: hex::encode(key.as_bytes()),
        })
        .collect()
}

impl CertLog {
    /// Opens the log in the SQLite database `path` (creating it, with its registry entry, when
    /// empty) and replays it. `witnesses` co-sign every commit; `anchors` lists their keys and
    /// the quorum.
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        path: &Path,
        signer: NoteSigner,
        operator: &VerifyingKey,
        name: &str,
        status_base: &str,
        witnesses: Vec<Box<dyn Cosigner>>,
        witness_keys: Vec<WitnessKey>,
        quorum: usize,
    ) -> Result<Self, ServiceError> {
        let anchors = Anchors {
            origin: signer.verifier().name().to_string(),
            log_key: hex::encode(signer.verifier().key().as_bytes()),
            operator: did::did_key(operator),
            witnesses: witness_keys,
            quorum,
        };
        let ledger = Ledger::open(path, signer)?;
        let mut log = Self {
            ledger,
            registry: Registry::default(),
            witnesses,
            anchors,
        };
        let size = log.ledger.size();
        let mut start = 0;
        while start < size {
            let end = (start + 1000).min(size);
            for e in log.ledger.entries(start, end)? {
                log.registry.apply(&e).map_err(|err| {
                    RuleError::Malformed(format!("the stored log breaks its rules: {err}"))
                })?;
            }
            start = end;
        }
        if size == 0 {
            let genesis = Entry::Registry(entry::Registry {
                name: name.to_string(),
                operator: did::did_key(operator),
                status_base: status_base.trim_end_matches('/').to_string(),
                version: 1,
            });
            log.append(&[genesis], 0)?;
        } else if log.registry.operator() != Some(operator) {
            return Err(RuleError::Malformed("the stored log has another operator".into()).into());
        }
        Ok(log)
    }

    /// The log's keys, as certificates carry them and verifiers pin them.
    pub fn anchors(&self) -> &Anchors {
        &self.anchors
    }

    /// The state replayed from the log.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The underlying log (for serving its checkpoints, tiles and entries).
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Checks every entry in order against the rules, appends them in one commit, has the
    /// witnesses co-sign, and returns each with its receipt. Nothing is appended if one breaks
    /// a rule.
    pub fn append(&mut self, entries: &[Entry], now: u64) -> Result<Vec<Evidence>, ServiceError> {
        let bytes = entries
            .iter()
            .map(Entry::to_bytes)
            .collect::<Result<Vec<_>, _>>()?;
        if let [one] = bytes.as_slice() {
            // One entry: checked on the state itself, applied once it is committed.
            let entry = self.registry.check(one)?;
            let commit = self.ledger.append_batch(&bytes)?;
            self.registry.record(&entry)?;
            return self.answer(entries, commit, now);
        }
        // Several: each may depend on the one before (status indexes), so they are applied to a
        // copy of the state first (one copy per batch).
        let mut next = self.registry.clone();
        for b in &bytes {
            next.apply(b)?;
        }
        let commit = self.ledger.append_batch(&bytes)?;
        self.registry = next;
        self.answer(entries, commit, now)
    }

    /// Has the witnesses co-sign a commit and answers each entry with its receipt.
    fn answer(
        &mut self,
        entries: &[Entry],
        commit: hanpyo_ledger::store::Commit,
        now: u64,
    ) -> Result<Vec<Evidence>, ServiceError> {
        self.cosign(now)?;
        let receipts = self
            .ledger
            .receipts_for(commit.first_index, &commit.leaf_hashes)?;
        entries
            .iter()
            .zip(receipts)
            .map(|(e, receipt)| {
                Ok(Evidence {
                    entry: Value::Object(e.to_json()?),
                    receipt,
                })
            })
            .collect()
    }

    /// Asks the witnesses to co-sign the latest checkpoint now (one that joined since).
    pub fn cosign_now(&mut self, now: u64) -> Result<(), ServiceError> {
        self.cosign(now)
    }

    fn cosign(&mut self, now: u64) -> Result<(), ServiceError> {
        if self.witnesses.is_empty() {
            return Ok(());
        }
        let round = self.ledger.collect_cosignatures(&mut self.witnesses, now)?;
        if round.cosigned < self.anchors.quorum {
            return Err(ServiceError::Quorum {
                cosigned: round.cosigned,
                quorum: self.anchors.quorum,
                failures: round
                    .failures
                    .iter()
                    .map(|(w, why)| format!("{w}: {why}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
        Ok(())
    }

    /// The receipt of the entry at `index` against the latest checkpoint.
    pub fn evidence_at(&self, index: u64) -> Result<Evidence, ServiceError> {
        let bytes = self.ledger.entry(index)?;
        let entry = Entry::parse(&bytes)?;
        let receipt: Receipt = self
            .ledger
            .receipt(&hanpyo_ledger::merkle::leaf_hash(&bytes))?;
        Ok(Evidence {
            entry: Value::Object(entry.to_json()?),
            receipt,
        })
    }

    /// The registration evidence of issuer `did`.
    pub fn issuer_evidence(&self, did: &str) -> Result<Evidence, ServiceError> {
        let at = self
            .registry
            .issuers
            .get(did)
            .ok_or_else(|| ServiceError::NotFound(format!("{did} is not a registered issuer")))?
            .registered_at;
        self.evidence_at(at)
    }

    /// The revocation bits of one of an issuer's lists.
    pub fn bitstring(&self, issuer: &str, list: u64) -> Result<Bitstring, ServiceError> {
        let state = self.registry.issuers.get(issuer).ok_or_else(|| {
            ServiceError::NotFound(format!("{issuer} is not a registered issuer"))
        })?;
        let mut bits = Bitstring::default();
        for &i in state.revoked.keys().filter(|i| *i / LIST_BITS == list) {
            bits.set(i % LIST_BITS)?;
        }
        Ok(bits)
    }

    /// The issuer's signed status list `list`, as of now.
    pub fn status_list(
        &self,
        issuer: &SigningKey,
        list: u64,
        now: u64,
    ) -> Result<Map<String, Value>, ServiceError> {
        let did = did::did_key(&issuer.verifying_key());
        let bits = self.bitstring(&did, list)?;
        let base = self.status_base()?;
        let first = list
            .checked_mul(LIST_BITS)
            .ok_or_else(|| ServiceError::NotFound(format!("no status list {list}")))?;
        let url = issue::status_url(&base, &issuer.verifying_key(), first);
        Ok(status_list::credential(&bits, &url, issuer, now)?)
    }

    fn status_base(&self) -> Result<String, ServiceError> {
        Ok(self
            .registry
            .registry
            .as_ref()
            .ok_or_else(|| ServiceError::NotFound("no registry entry".into()))?
            .status_base
            .clone())
    }

    /// Issues a batch of credentials of one issuer in one commit; each comes back as the
    /// certificate file its holder keeps (with the current status list stapled).
    pub fn issue<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        issuer: &SigningKey,
        rows: &[(&Template, BTreeMap<String, String>, Option<VerifyingKey>)],
        now: u64,
        valid_until: Option<u64>,
    ) -> Result<Vec<Bundle>, ServiceError> {
        let did = did::did_key(&issuer.verifying_key());
        let state = self
            .registry
            .issuers
            .get(&did)
            .ok_or_else(|| RuleError::NotRegistered(did.clone()))?;
        if let Some((t, _, _)) = rows
            .iter()
            .find(|(t, _, _)| !state.types.iter().any(|a| a == t.id))
        {
            return Err(RuleError::NotAllowed {
                issuer: did,
                doc_type: t.id.to_string(),
            }
            .into());
        }
        // A lot's certificate comes only from the party that recorded the lot.
        for (t, values, _) in rows
            .iter()
            .filter(|(t, _, _)| t.id == crate::template::PROVENANCE)
        {
            let lot = values.get("lot").map(String::as_str).unwrap_or_default();
            match self.registry.lots.get(lot) {
                Some(l) if l.event.party == did => {}
                Some(_) => {
                    return Err(RuleError::NotAllowed {
                        issuer: did,
                        doc_type: format!("{} of lot {lot}, recorded by another party", t.id),
                    }
                    .into());
                }
                None => {
                    return Err(ServiceError::NotFound(format!(
                        "lot {lot} is not recorded on the log"
                    )));
                }
            }
        }
        let (name, first) = (state.name.clone(), state.next_index);
        let base = self.status_base()?;
        // Each row's credential is built (and signed) on every core, from a generator seeded from
        // the caller's: rows are independent once their status indexes are fixed.
        let seeds: Vec<[u8; 32]> = rows
            .iter()
            .map(|_| {
                let mut s = [0u8; 32];
                rng.fill_bytes(&mut s);
                s
            })
            .collect();
        let issued: Vec<issue::Issued> = {
            use rand_core::SeedableRng;
            use rayon::prelude::*;
            rows.par_iter()
                .zip(seeds.par_iter())
                .enumerate()
                .map(|(i, ((template, values, holder), seed))| {
                    issue::issue(
                        &mut chacha20::ChaCha20Rng::from_seed(*seed),
                        issuer,
                        &Request {
                            template,
                            values,
                            holder: *holder,
                            issuer_name: &name,
                            status_index: first + i as u64,
                            status_base: &base,
                            now,
                            valid_until,
                        },
                    )
                })
                .collect::<Result<_, _>>()?
        };
        let entries: Vec<Entry> = issued.iter().map(|i| i.entry.clone()).collect();
        let evidence = self.append(&entries, now)?;
        let registration = self.issuer_evidence(&did)?;
        let mut lists: BTreeMap<u64, Map<String, Value>> = BTreeMap::new();
        issued
            .into_iter()
            .zip(evidence)
            .enumerate()
            .map(|(i, (item, ev))| {
                let list = (first + i as u64) / LIST_BITS;
                if let std::collections::btree_map::Entry::Vacant(slot) = lists.entry(list) {
                    slot.insert(self.status_list(issuer, list, now)?);
                }
                Ok(Bundle::new(
                    rows[i].0.id,
                    &item.credential,
                    &item.salt,
                    ev,
                    registration.clone(),
                    self.anchors.clone(),
                    lists.get(&list).cloned(),
                ))
            })
            .collect()
    }
}
