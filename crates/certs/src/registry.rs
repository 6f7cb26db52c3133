//! The rules a certificate log obeys, checked entry by entry. The server applies an entry here
//! before appending it; an auditor replays the whole log (`hanpyo cert audit`) and gets the same
//! state — every issuer, what it may issue, how many it issued and revoked, and every lot.
use std::collections::{BTreeMap, HashSet};

use ed25519_dalek::VerifyingKey;

use crate::entry::{Entry, Issuance, Provenance, REVOCATION_REASONS, STAGES, UNITS, valid_lot};
use crate::{did, template};

/// The largest quantity (2^53: JSON numbers above it are not exact, and JCS writes every number
/// as a double).
pub const MAX_QUANTITY: u64 = 1 << 53;

/// The longest name of a registry or an issuer, in characters.
pub const MAX_NAME: usize = 200;

fn valid_name(name: &str) -> bool {
    let n = name.chars().count();
    n > 0 && n <= MAX_NAME && name.trim() == name && !name.chars().any(char::is_control)
}

/// Why an entry breaks the log's rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// Not a well-formed entry.
    #[error("{0}")]
    Malformed(String),
    /// The first entry must be the registry, and only it.
    #[error("the log begins with its registry entry, once")]
    Registry,
    /// A signature does not verify.
    #[error("{0}")]
    Signature(String),
    /// The party is not a registered issuer.
    #[error("{0} is not a registered issuer")]
    NotRegistered(String),
    /// The issuer is registered, but not for this type.
    #[error("issuer {issuer} may not issue {doc_type}")]
    NotAllowed {
        /// The issuer.
        issuer: String,
        /// The type.
        doc_type: String,
    },
    /// Already registered, issued, revoked or recorded.
    #[error("{0}")]
    Duplicate(String),
    /// Out of order or out of range.
    #[error("{0}")]
    Sequence(String),
    /// A provenance lot's quantities do not balance.
    #[error("{0}")]
    Balance(String),
}

impl From<crate::CertError> for RuleError {
    fn from(e: crate::CertError) -> Self {
        match e {
            crate::CertError::Signature(s) => RuleError::Signature(s),
            other => RuleError::Malformed(other.to_string()),
        }
    }
}

/// A commitment's 32 bytes from its 64 lowercase hex digits.
fn commitment_bytes(hex_text: &str) -> Result<[u8; 32], RuleError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut out)
        .ok()
        .filter(|_| hex::encode(out) == hex_text)
        .ok_or_else(|| RuleError::Malformed("a commitment is 64 lowercase hex digits".into()))?;
    Ok(out)
}

/// An issuer as the log knows it.
#[derive(Debug, Clone)]
pub struct IssuerState {
    /// Its key.
    pub key: VerifyingKey,
    /// Its name.
    pub name: String,
    /// What it may issue.
    pub types: Vec<String>,
    /// The index of its registration entry.
    pub registered_at: u64,
    /// Credentials issued, by type.
    pub issued: BTreeMap<String, u64>,
    /// Issued in all (the next status index).
    pub next_index: u64,
    /// Revoked status indexes, with their reasons.
    pub revoked: BTreeMap<u64, String>,
    /// Provenance events recorded.
    pub events: u64,
    /// The log indexes of its issuance entries, in order (status index `i` is `issuances[i]`).
    pub issuances: Vec<u64>,
}

/// A provenance lot.
#[derive(Debug, Clone)]
pub struct Lot {
    /// The event that made it.
    pub event: Provenance,
    /// The entry's index.
    pub index: u64,
    /// How much later events took from it.
    pub used: u64,
}

/// The log's state after its entries.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// The registry entry.
    pub registry: Option<crate::entry::Registry>,
    operator: Option<VerifyingKey>,
    /// Issuers by DID.
    pub issuers: BTreeMap<String, IssuerState>,
    /// Lots by id.
    pub lots: BTreeMap<String, Lot>,
    /// Every issuance's commitment (32 bytes each: with every other rule, no entry can be
    /// logged twice, so no other set of what was seen is kept).
    pub commitments: HashSet<[u8; 32]>,
    /// Entries applied.
    pub size: u64,
}

impl Registry {
    /// Replays a whole log.
    pub fn replay<I, E>(entries: I) -> Result<Self, (u64, RuleError)>
    where
        I: IntoIterator<Item = E>,
        E: AsRef<[u8]>,
    {
        let mut r = Self::default();
        for e in entries {
            let at = r.size;
            r.apply(e.as_ref()).map_err(|err| (at, err))?;
        }
        Ok(r)
    }

    /// The operator's key.
    pub fn operator(&self) -> Option<&VerifyingKey> {
        self.operator.as_ref()
    }

    /// Checks the entry's bytes against the rules; applies nothing.
    pub fn check(&self, bytes: &[u8]) -> Result<Entry, RuleError> {
        let entry = Entry::parse(bytes)?;
        match (&entry, self.operator) {
            (Entry::Registry(r), None) => {
                let web =
                    r.status_base.starts_with("https://") || r.status_base.starts_with("http://");
                if r.version != 1 || !valid_name(&r.name) || !web || r.status_base.len() > 500 {
                    return Err(RuleError::Malformed(
                        "registry entry: version 1, a name, an http(s) statusBase".into(),
                    ));
                }
                did::parse_did_key(&r.operator)?;
            }
            (Entry::Registry(_), Some(_)) | (_, None) => return Err(RuleError::Registry),
            (Entry::Issuer(i), Some(op)) => {
                entry.verify_signature(&op)?;
                did::parse_did_key(&i.issuer)?;
                if self.issuers.contains_key(&i.issuer) {
                    return Err(RuleError::Duplicate(format!(
                        "{} is already registered",
                        i.issuer
                    )));
                }
                if !valid_name(&i.name) {
                    return Err(RuleError::Malformed(format!(
                        "an issuer's name is 1–{MAX_NAME} characters, no control characters or surrounding spaces"
                    )));
                }
                if i.types.is_empty() || i.types.iter().any(|t| template::find(t).is_none()) {
                    return Err(RuleError::Malformed(
                        "an issuer's types are known template ids".into(),
                    ));
                }
                if crate::parse_datetime(&i.approved).is_none() {
                    return Err(RuleError::Malformed("approved is a UTC dateTime".into()));
                }
            }
            (Entry::Issuance(i), Some(_)) => self.check_issuance(&entry, i)?,
            (Entry::Revocation(r), Some(_)) => {
                let issuer = self.issuer(&r.issuer)?;
                entry.verify_signature(&issuer.key)?;
                if !REVOCATION_REASONS.contains(&r.reason.as_str()) {
                    return Err(RuleError::Malformed(format!(
                        "a revocation reason is one of {}",
                        REVOCATION_REASONS.join(", ")
                    )));
                }
                if r.status_index >= issuer.next_index {
                    return Err(RuleError::Sequence(format!(
                        "{} never issued status index {}",
                        r.issuer, r.status_index
                    )));
                }
                if issuer.revoked.contains_key(&r.status_index) {
                    return Err(RuleError::Duplicate(format!(
                        "status index {} is already revoked",
                        r.status_index
                    )));
                }
                if crate::parse_datetime(&r.revoked).is_none() {
                    return Err(RuleError::Malformed("revoked is a UTC dateTime".into()));
                }
            }
            (Entry::Provenance(p), Some(_)) => self.check_provenance(&entry, p)?,
        }
        Ok(entry)
    }

    fn issuer(&self, did: &str) -> Result<&IssuerState, RuleError> {
        self.issuers
            .get(did)
            .ok_or_else(|| RuleError::NotRegistered(did.to_string()))
    }

    fn check_issuance(&self, entry: &Entry, i: &Issuance) -> Result<(), RuleError> {
        let issuer = self.issuer(&i.issuer)?;
        entry.verify_signature(&issuer.key)?;
        if !issuer.types.contains(&i.doc_type) {
            return Err(RuleError::NotAllowed {
                issuer: i.issuer.clone(),
                doc_type: i.doc_type.clone(),
            });
        }
        if i.status_index != issuer.next_index {
            return Err(RuleError::Sequence(format!(
                "{}'s next status index is {}, not {}",
                i.issuer, issuer.next_index, i.status_index
            )));
        }
        let commitment = commitment_bytes(&i.commitment)?;
        if self.commitments.contains(&commitment) {
            return Err(RuleError::Duplicate(
                "this commitment is already on the log".into(),
            ));
        }
        if crate::parse_datetime(&i.issued).is_none() {
            return Err(RuleError::Malformed("issued is a UTC dateTime".into()));
        }
        Ok(())
    }

    fn check_provenance(&self, entry: &Entry, p: &Provenance) -> Result<(), RuleError> {
        let party = self.issuer(&p.party)?;
        entry.verify_signature(&party.key)?;
        if !party.types.iter().any(|t| t == template::PROVENANCE) {
            return Err(RuleError::NotAllowed {
                issuer: p.party.clone(),
                doc_type: template::PROVENANCE.into(),
            });
        }
        if !valid_lot(&p.lot) {
            return Err(RuleError::Malformed(
                "a lot id is 1–64 of A–Z a–z 0–9 . _ -".into(),
            ));
        }
        if self.lots.contains_key(&p.lot) {
            return Err(RuleError::Duplicate(format!(
                "lot {} is already recorded",
                p.lot
            )));
        }
        let stage = STAGES.iter().position(|s| *s == p.stage).ok_or_else(|| {
            RuleError::Malformed(format!("a stage is one of {}", STAGES.join(", ")))
        })?;
        if !UNITS.contains(&p.unit.as_str()) {
            return Err(RuleError::Malformed(format!(
                "a unit is one of {}",
                UNITS.join(", ")
            )));
        }
        if p.quantity == 0
            || p.quantity > MAX_QUANTITY
            || p.inputs.iter().any(|i| i.quantity > MAX_QUANTITY)
        {
            return Err(RuleError::Malformed(format!(
                "quantities are 1 to {MAX_QUANTITY}"
            )));
        }
        if crate::parse_datetime(&p.recorded).is_none() {
            return Err(RuleError::Malformed("recorded is a UTC dateTime".into()));
        }
        if stage == 0 {
            if !p.inputs.is_empty() {
                return Err(RuleError::Sequence("a collection has no input lots".into()));
            }
            return Ok(());
        }
        if p.inputs.is_empty() {
            return Err(RuleError::Sequence(format!(
                "a {} takes at least one earlier lot",
                p.stage
            )));
        }
        let mut total: u64 = 0;
        let mut taken: BTreeMap<&str, u64> = BTreeMap::new();
        for input in &p.inputs {
            let lot = self.lots.get(&input.lot).ok_or_else(|| {
                RuleError::Sequence(format!("input lot {} is not recorded", input.lot))
            })?;
            if lot.event.unit != p.unit {
                return Err(RuleError::Balance(format!(
                    "input lot {} is in {}, not {}",
                    input.lot, lot.event.unit, p.unit
                )));
            }
            let lot_stage = STAGES
                .iter()
                .position(|s| *s == lot.event.stage)
                .unwrap_or(0);
            if lot_stage > stage {
                return Err(RuleError::Sequence(format!(
                    "{} cannot take lot {} from the later stage {}",
                    p.stage, input.lot, lot.event.stage
                )));
            }
            if input.quantity == 0 {
                return Err(RuleError::Malformed("an input quantity is positive".into()));
            }
            let t = taken.entry(input.lot.as_str()).or_default();
            *t = t.saturating_add(input.quantity);
            let left = lot.event.quantity - lot.used;
            if *t > left {
                return Err(RuleError::Balance(format!(
                    "lot {} has {left} {} left, {} taken",
                    input.lot, p.unit, *t
                )));
            }
            total = total.saturating_add(input.quantity);
        }
        if p.quantity > total {
            return Err(RuleError::Balance(format!(
                "lot {}'s output {} {} exceeds its inputs {} {}",
                p.lot, p.quantity, p.unit, total, p.unit
            )));
        }
        Ok(())
    }

    /// Checks and applies the entry.
    pub fn apply(&mut self, bytes: &[u8]) -> Result<Entry, RuleError> {
        let entry = self.check(bytes)?;
        self.record(&entry)?;
        Ok(entry)
    }

    /// Applies an entry [`Registry::check`] accepted in this very state (the log's next entry).
    pub fn record(&mut self, entry: &Entry) -> Result<(), RuleError> {
        let index = self.size;
        match &entry {
            Entry::Registry(r) => {
                self.operator = Some(did::parse_did_key(&r.operator)?);
                self.registry = Some(r.clone());
            }
            Entry::Issuer(i) => {
                self.issuers.insert(
                    i.issuer.clone(),
                    IssuerState {
                        key: did::parse_did_key(&i.issuer)?,
                        name: i.name.clone(),
                        types: i.types.clone(),
                        registered_at: index,
                        issued: BTreeMap::new(),
                        next_index: 0,
                        revoked: BTreeMap::new(),
                        events: 0,
                        issuances: Vec::new(),
                    },
                );
            }
            Entry::Issuance(i) => {
                if let Some(s) = self.issuers.get_mut(&i.issuer) {
                    *s.issued.entry(i.doc_type.clone()).or_default() += 1;
                    s.next_index += 1;
                    s.issuances.push(index);
                }
                self.commitments.insert(commitment_bytes(&i.commitment)?);
            }
            Entry::Revocation(r) => {
                if let Some(s) = self.issuers.get_mut(&r.issuer) {
                    s.revoked.insert(r.status_index, r.reason.clone());
                }
            }
            Entry::Provenance(p) => {
                for input in &p.inputs {
                    if let Some(lot) = self.lots.get_mut(&input.lot) {
                        lot.used += input.quantity;
                    }
                }
                if let Some(s) = self.issuers.get_mut(&p.party) {
                    s.events += 1;
                }
                self.lots.insert(
                    p.lot.clone(),
                    Lot {
                        event: p.clone(),
                        index,
                        used: 0,
                    },
                );
            }
        }
        self.size += 1;
        Ok(())
    }

    /// A lot's history: the lot, then every lot it was made from, back to collection, each once
    /// (in the order met walking back).
    pub fn history(&self, lot: &str) -> Vec<&Lot> {
        let mut out: Vec<&Lot> = Vec::new();
        let mut seen: HashSet<&str> = HashSet::new();
        let mut todo = vec![lot];
        while let Some(id) = todo.pop() {
            if !seen.insert(id) {
                continue;
            }
            if let Some(l) = self.lots.get(id) {
                todo.extend(l.event.inputs.iter().rev().map(|i| i.lot.as_str()));
                out.push(l);
            }
        }
        out
    }

    /// A lot's report, as `hanpyo cert provenance show --json` and the provenance page show it:
    /// its history back to collection with each event's balance (input total, loss, how much
    /// later events used, how much is left), the lots made from it, and whether it balances.
    pub fn lot_report(&self, lot: &str) -> Option<serde_json::Value> {
        use serde_json::json;
        self.lots.get(lot)?;
        let party = |did: &str| {
            self.issuers
                .get(did)
                .map(|i| i.name.clone())
                .unwrap_or_default()
        };
        let events: Vec<serde_json::Value> = self
            .history(lot)
            .into_iter()
            .map(|l| {
                let e = &l.event;
                let input: u64 = e.inputs.iter().map(|i| i.quantity).sum();
                json!({
                    "lot": e.lot, "stage": e.stage, "party": e.party, "partyName": party(&e.party),
                    "quantity": e.quantity, "unit": e.unit, "recorded": e.recorded, "logIndex": l.index,
                    "inputs": e.inputs, "inputTotal": input, "loss": input.saturating_sub(e.quantity),
                    "usedLater": l.used, "left": e.quantity.saturating_sub(l.used),
                    "balanced": e.stage == STAGES[0] || e.quantity <= input,
                })
            })
            .collect();
        let used_by: Vec<serde_json::Value> = self
            .uses(lot)
            .iter()
            .map(|l| json!({"lot": l.event.lot, "stage": l.event.stage}))
            .collect();
        let balanced = events.iter().all(|e| e["balanced"] == json!(true));
        Some(json!({"lot": lot, "balanced": balanced, "history": events, "usedBy": used_by}))
    }

    /// The lots made from `lot` (its later history).
    pub fn uses(&self, lot: &str) -> Vec<&Lot> {
        self.lots
            .values()
            .filter(|l| l.event.inputs.iter().any(|i| i.lot == lot))
            .collect()
    }
}
