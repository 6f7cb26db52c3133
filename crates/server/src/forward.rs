//! Writes handed to an election's sequencer through the database, by the nodes of a deployment
//! that are not it (docs/deployment.md, *Several nodes*).
//!
//! Every node serves pages, reads, logins and checks ballots (their proofs on its own cores), but
//! only the node holding the log's lease appends to it. A node that is not the sequencer inserts
//! each write it accepted — a checked ballot, an administrator's action, a trustee's entry — into
//! its election's `pending` table; the sequencer takes unanswered rows in order, appends them as it
//! would its own requests, and sets each row's outcome once the commit (and the witnesses'
//! cosignatures) are durable. The node that asked then answers its client: with a ballot, the
//! receipt it builds from the log itself. The rows survive the sequencer: its successor answers
//! what it left, and a ballot already in the log is answered with its index, never appended twice.
use crate::error::ApiError;
use crate::sequencer::AdminAction;
use crate::sql::{Param, Sql, SqlError, SqlPool};
use crate::sql_params;

/// Answered rows are deleted after this many seconds.
const KEEP_ANSWERED_SECONDS: i64 = 300;

/// A write one node hands to the sequencer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forwarded {
    /// A ballot or audited ballot (its entry), already checked by the node that accepted it.
    Ballot(Vec<u8>),
    /// An administrator's action.
    Admin(AdminAction),
    /// A trustee's entry, from the authenticated trustee.
    Trustee(u32, Vec<u8>),
}

/// A write the sequencer committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    /// The ballot's index, or the ledger's size after the action or entry.
    pub value: u64,
    /// The checkpoint the witnesses co-signed after it (its size): a ballot's receipt is against
    /// this one, and the asking node answers once it holds the log up to it.
    pub checkpoint: u64,
}

/// What the sequencer made of a write, or why it refused it.
pub type Outcome = Result<Done, ApiError>;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// An error code read back from the table as the `&'static str` an [`ApiError`] carries: each
/// distinct code is kept once (they are the server's own few codes, written by its own nodes);
/// anything that does not look like one is `internal`.
fn stored_code(code: &str) -> &'static str {
    static CODES: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    if code.is_empty()
        || code.len() > 64
        || !code.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
    {
        return "internal";
    }
    let mut codes = CODES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(known) = codes.iter().find(|c| **c == code) {
        return known;
    }
    let kept: &'static str = Box::leak(code.to_string().into_boxed_str());
    codes.push(kept);
    kept
}

/// Wakes the election's sequencer threads on every node, at `COMMIT` ([`crate::wakeup`]).
fn notify(tx: &mut Sql) -> Result<(), SqlError> {
    tx.execute(
        "SELECT pg_notify(?1, current_schema())",
        sql_params![crate::wakeup::PENDING_CHANNEL],
    )?;
    Ok(())
}

/// One election's `pending` table.
pub struct Pending {
    db: SqlPool,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pending")
    }
}

impl Pending {
    /// The table in the election's state `db` (PostgreSQL).
    pub fn new(db: SqlPool) -> Self {
        Self { db }
    }

    /// Inserts `writes` in one transaction; answers their row ids, in order.
    pub fn enqueue(&mut self, writes: &[Forwarded]) -> Result<Vec<i64>, SqlError> {
        let created = now();
        self.db.with(|db| {
            db.transaction(|tx| {
                writes
                    .iter()
                    .map(|w| {
                        let (kind, body, trustee) = match w {
                            Forwarded::Ballot(b) => ("ballot", b.clone(), 0),
                            Forwarded::Admin(a) => (
                                "admin",
                                serde_json::to_vec(a)
                                    .map_err(|e| SqlError::Engine(e.to_string()))?,
                                0,
                            ),
                            Forwarded::Trustee(i, e) => ("trustee", e.clone(), i64::from(*i)),
                        };
                        tx.query_one(
                        "INSERT INTO pending (kind, body, trustee, created) VALUES (?1, ?2, ?3, ?4)
                         RETURNING id",
                        &[
                            Param::Text(kind),
                            Param::Bytes(&body),
                            Param::Int(trustee),
                            Param::Int(created),
                        ],
                    )?
                    .int(0)
                    })
                    .collect::<Result<Vec<i64>, SqlError>>()
                    .and_then(|ids| notify(tx).map(|()| ids))
            })
        })
    }

    /// Up to `limit` unanswered writes, oldest first (for the sequencer). A row that does not
    /// decode is answered `malformed` at once.
    pub fn unanswered(&mut self, limit: i64) -> Result<Vec<(i64, Forwarded)>, SqlError> {
        let rows = self.db.with(|db| {
            db.query(
                "SELECT id, kind, body, trustee FROM pending WHERE outcome IS NULL ORDER BY id LIMIT ?1",
                sql_params![limit],
            )
        })?;
        let mut out = Vec::with_capacity(rows.len());
        let mut bad = Vec::new();
        for r in rows {
            let id = r.int(0)?;
            let body = r.bytes(2)?;
            let write = match r.text(1)?.as_str() {
                "ballot" => Some(Forwarded::Ballot(body)),
                "admin" => serde_json::from_slice(&body).ok().map(Forwarded::Admin),
                "trustee" => u32::try_from(r.int(3)?)
                    .ok()
                    .map(|i| Forwarded::Trustee(i, body)),
                _ => None,
            };
            match write {
                Some(w) => out.push((id, w)),
                None => bad.push((
                    id,
                    Err(ApiError::malformed("an unreadable forwarded write")),
                )),
            }
        }
        self.answer(&bad)?;
        Ok(out)
    }

    /// Sets the outcomes of rows, in one transaction.
    pub fn answer(&mut self, outcomes: &[(i64, Outcome)]) -> Result<(), SqlError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        self.db.with(|db| {
            db.transaction(|tx| {
                for (id, outcome) in outcomes {
                    let (code, status, message, done) = match outcome {
                        Ok(done) => ("ok", 200, "", *done),
                        Err(e) => (
                            e.code,
                            i64::from(e.status),
                            e.message.as_str(),
                            Done {
                                value: 0,
                                checkpoint: 0,
                            },
                        ),
                    };
                    tx.execute(
                        "UPDATE pending SET outcome = ?2, status = ?3, message = ?4, size = ?5,
                     checkpoint = ?6 WHERE id = ?1 AND outcome IS NULL",
                        sql_params![
                            *id,
                            code,
                            status,
                            message,
                            done.value as i64,
                            done.checkpoint as i64
                        ],
                    )?;
                }
                notify(tx)
            })
        })
    }

    /// The outcomes of the answered rows among `ids`.
    pub fn answered(&mut self, ids: &[i64]) -> Result<Vec<(i64, Outcome)>, SqlError> {
        let (Some(lo), Some(hi)) = (ids.iter().min(), ids.iter().max()) else {
            return Ok(Vec::new());
        };
        let rows = self.db.with(|db| {
            db.query(
                "SELECT id, outcome, status, message, size, checkpoint FROM pending
                 WHERE id BETWEEN ?1 AND ?2 AND outcome IS NOT NULL",
                sql_params![*lo, *hi],
            )
        })?;
        let mut out = Vec::new();
        for r in rows {
            let id = r.int(0)?;
            if !ids.contains(&id) {
                continue;
            }
            let outcome = match r.text(1)?.as_str() {
                "ok" => Ok(Done {
                    value: u64::try_from(r.int(4)?).unwrap_or(0),
                    checkpoint: u64::try_from(r.int(5)?).unwrap_or(0),
                }),
                code => Err(ApiError::new(
                    u16::try_from(r.int(2)?).unwrap_or(500),
                    stored_code(code),
                    r.opt_text(3)?.unwrap_or_default(),
                )),
            };
            out.push((id, outcome));
        }
        Ok(out)
    }

    /// Gives up on an unanswered write (its client waited too long): answers whether it was still
    /// unanswered, and so will never be committed; if not, its answer is there to read.
    pub fn expire(&mut self, id: i64) -> Result<bool, SqlError> {
        let changed = self.db.with(|db| {
            db.execute(
                "UPDATE pending SET outcome = 'expired', status = 503,
                 message = 'the client stopped waiting' WHERE id = ?1 AND outcome IS NULL",
                sql_params![id],
            )
        })?;
        Ok(changed == 1)
    }

    /// Deletes rows answered long enough ago that nobody waits for them.
    pub fn forget_answered(&mut self) -> Result<(), SqlError> {
        self.db.with(|db| {
            db.execute(
                "DELETE FROM pending WHERE outcome IS NOT NULL AND created < ?1",
                sql_params![now() - KEEP_ANSWERED_SECONDS],
            )
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::stored_code;

    #[test]
    fn stored_error_codes_are_kept_once_and_odd_ones_become_internal() {
        let a = stored_code("witness-quorum");
        let b = stored_code(&String::from("witness-quorum"));
        assert!(std::ptr::eq(a, b));
        assert_eq!(stored_code("Not A Code"), "internal");
        assert_eq!(stored_code(""), "internal");
    }
}
