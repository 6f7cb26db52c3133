//! A ballot's standing: counted, superseded by a later ballot of the same credential, or an audit
//! (never counted) — established from signed log data, not from the server's word.
//!
//! Online, the server answers a tracking code with a [`StandingProof`]: a fresh receipt for the
//! entry and the entry's bytes, and, when a later ballot of the same credential exists, that
//! ballot's bytes and receipt against the same checkpoint. [`check_standing`] verifies all of it:
//! both receipts (log signature, witness quorum, inclusion), that the bytes are the entries the
//! receipts name, that the later entry is a ballot with the same credential at a higher index.
//! "Superseded" and "audit" are then proven by signed data. "Counted" means no later ballot was
//! shown: only a full copy of the log (a mirror, or `hanpyo receipt verify --record` and the
//! verifier on a downloaded record) proves that none exists; [`standing_in_record`] does that.
use hanpyo_ledger::merkle::{Hash, leaf_hash};
use hanpyo_ledger::receipt::Receipt;
use serde::{Deserialize, Serialize};

use crate::entry::{Entry, Kind, Shapes, TrackingCode};
use crate::manifest::Manifest;

/// What the server answers for a tracking code (`GET /api/v1/board/status/{hash}`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StandingProof {
    /// A receipt for the entry against the latest checkpoint.
    pub receipt: Receipt,
    /// The entry's bytes (hex).
    pub entry: String,
    /// The credential's last ballot, when it is a later one.
    pub superseded_by: Option<LaterBallot>,
}

/// A later ballot of the same credential, with its receipt.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LaterBallot {
    /// A receipt for it against the same checkpoint.
    pub receipt: Receipt,
    /// Its bytes (hex).
    pub entry: String,
}

/// Where a ballot stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "standing", rename_all = "kebab-case")]
pub enum Standing {
    /// The credential's last ballot in the log checked (the one counted, if voting ended here).
    Counted {
        /// The entry's index.
        index: u64,
        /// The size of the log checked: no later ballot of the credential up to here.
        size: u64,
    },
    /// A later ballot of the same credential replaces it.
    Superseded {
        /// The entry's index.
        index: u64,
        /// The later ballot's index.
        by_index: u64,
        /// The later ballot's tracking code (hex).
        by_tracking_code: String,
        /// The later ballot's short tracking code.
        by_tracking_code_short: String,
    },
    /// A Benaloh audit: never counted.
    Audit {
        /// The entry's index.
        index: u64,
    },
}

fn entry_bytes(hex_bytes: &str, receipt: &Receipt) -> Result<Vec<u8>, String> {
    let bytes = hex::decode(hex_bytes).map_err(|_| "entry: not hex".to_string())?;
    if receipt.leaf().map_err(|e| e.to_string())? != leaf_hash(&bytes) {
        return Err("the entry's bytes are not the entry the receipt names".into());
    }
    Ok(bytes)
}

fn credential_of(bytes: &[u8], shapes: &Shapes) -> Result<Option<[u8; 32]>, String> {
    match Entry::decode(bytes, Some(shapes)).map_err(|e| format!("entry: {e}"))? {
        Entry::Ballot(b) => Ok(Some(*b.credential.as_bytes())),
        Entry::AuditedBallot(_) => Ok(None),
        other => Err(format!("entry {:?} is not a ballot", other.kind())),
    }
}

/// Verifies the server's [`StandingProof`] for the entry `leaf` of the election `manifest`.
pub fn check_standing(
    manifest: &Manifest,
    leaf: &Hash,
    proof: &StandingProof,
) -> Result<Standing, String> {
    let log = manifest.ledger.log_verifier().map_err(|e| e.to_string())?;
    let witnesses = manifest
        .ledger
        .witness_verifiers()
        .map_err(|e| e.to_string())?;
    let quorum = manifest.ledger.witness_quorum as usize;
    let shapes = Shapes::of(manifest);
    let r = &proof.receipt;
    if r.leaf().map_err(|e| e.to_string())? != *leaf {
        return Err("the answer is about another entry".into());
    }
    let cp = r
        .verify(&log, &witnesses, quorum)
        .map_err(|e| format!("receipt: {e}"))?;
    let bytes = entry_bytes(&proof.entry, r)?;
    let Some(credential) = credential_of(&bytes, &shapes)? else {
        if proof.superseded_by.is_some() {
            return Err("an audit cannot be superseded".into());
        }
        return Ok(Standing::Audit { index: r.index });
    };
    let Some(later) = &proof.superseded_by else {
        return Ok(Standing::Counted {
            index: r.index,
            size: cp.size,
        });
    };
    if later.receipt.checkpoint != r.checkpoint {
        return Err("the later ballot is proven against another checkpoint".into());
    }
    later
        .receipt
        .verify(&log, &witnesses, quorum)
        .map_err(|e| format!("later ballot's receipt: {e}"))?;
    let later_bytes = entry_bytes(&later.entry, &later.receipt)?;
    if Kind::of(&later_bytes).ok() != Some(Kind::Ballot)
        || credential_of(&later_bytes, &shapes)? != Some(credential)
    {
        return Err("the later entry is not a ballot of the same credential".into());
    }
    if later.receipt.index <= r.index {
        return Err("the later ballot is not later in the log".into());
    }
    let code = TrackingCode::of(&later_bytes);
    Ok(Standing::Superseded {
        index: r.index,
        by_index: later.receipt.index,
        by_tracking_code: code.hex(),
        by_tracking_code_short: code.short(),
    })
}

/// The standing of entry `index` from every entry of the log (complete: a full copy shows any
/// later ballot). `entries` yields `(index, bytes)` in log order, starting with the manifest.
pub fn standing_in_record(
    shapes: &Shapes,
    index: u64,
    entries: impl IntoIterator<Item = (u64, Vec<u8>)>,
) -> Result<Standing, String> {
    let mut mine: Option<Option<[u8; 32]>> = None;
    let mut last: Option<(u64, Vec<u8>)> = None;
    let mut size = 0;
    for (i, bytes) in entries {
        size = i + 1;
        if i == index {
            mine = Some(credential_of(&bytes, shapes)?);
        } else if let Some(Some(c)) = &mine
            // A ballot's body starts with its credential: no need to decode the rest.
            && Kind::of(&bytes).ok() == Some(Kind::Ballot)
            && bytes.get(2..34) == Some(c.as_slice())
        {
            last = Some((i, bytes));
        }
    }
    match mine {
        None => Err(format!("the record has no ballot at entry {index}")),
        Some(None) => Ok(Standing::Audit { index }),
        Some(Some(_)) => Ok(match last {
            None => Standing::Counted { index, size },
            Some((by_index, bytes)) => {
                let code = TrackingCode::of(&bytes);
                Standing::Superseded {
                    index,
                    by_index,
                    by_tracking_code: code.hex(),
                    by_tracking_code_short: code.short(),
                }
            }
        }),
    }
}
