//! What the public board reads, from any full copy of a log: the server's own ledger, or a
//! mirror's (`hanpyo mirror`). The board's answers are computed from this alone (and the election
//! state replayed from the same entries), so a mirror answers exactly as the server does.
use hanpyo_ledger::merkle::Hash;
use hanpyo_ledger::mirror::{Mirror, MirrorError};
use hanpyo_ledger::receipt::Receipt;
use hanpyo_ledger::store::{Ledger, LedgerError, MAX_BATCH};

use crate::error::ApiError;

/// Why a read failed: something the log does not hold, or the copy itself failed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// An index, size or hash the log does not hold.
    #[error("{0}")]
    NotFound(String),
    /// The storage failed.
    #[error("{0}")]
    Failed(String),
}

impl From<LedgerError> for LogError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::NotFound(m) => LogError::NotFound(m),
            other => LogError::Failed(other.to_string()),
        }
    }
}

impl From<MirrorError> for LogError {
    fn from(e: MirrorError) -> Self {
        match e {
            MirrorError::NotFound(m) => LogError::NotFound(m),
            other => LogError::Failed(other.to_string()),
        }
    }
}

impl From<LogError> for ApiError {
    fn from(e: LogError) -> Self {
        match e {
            LogError::NotFound(m) => ApiError::not_found(m),
            LogError::Failed(why) => {
                tracing::error!(%why, "reading the log");
                ApiError::internal()
            }
        }
    }
}

/// The reads of a log's public board.
pub trait PublicLog {
    /// The latest signed checkpoint, with the witnesses' cosignatures.
    fn latest_checkpoint(&self) -> Result<Option<String>, LogError>;
    /// Entry `index`.
    fn entry(&self, index: u64) -> Result<Vec<u8>, LogError>;
    /// Entries `start..end` (at most [`MAX_BATCH`]).
    fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, LogError>;
    /// A receipt for the entry with this leaf hash, against the latest checkpoint.
    fn receipt(&self, leaf: &Hash) -> Result<Receipt, LogError>;
    /// Up to `limit` entries whose leaf hash lies in `[lo, hi]`, by hash.
    fn leaves_between(
        &self,
        lo: &Hash,
        hi: &Hash,
        limit: u32,
    ) -> Result<Vec<(Hash, u64)>, LogError>;
    /// A consistency proof from size `old` to size `new`.
    fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, LogError>;
}

impl PublicLog for Ledger {
    fn latest_checkpoint(&self) -> Result<Option<String>, LogError> {
        Ok(Ledger::latest_checkpoint(self)?)
    }
    fn entry(&self, index: u64) -> Result<Vec<u8>, LogError> {
        Ok(Ledger::entry(self, index)?)
    }
    fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, LogError> {
        Ok(Ledger::entries(self, start, end)?)
    }
    fn receipt(&self, leaf: &Hash) -> Result<Receipt, LogError> {
        Ok(Ledger::receipt(self, leaf)?)
    }
    fn leaves_between(
        &self,
        lo: &Hash,
        hi: &Hash,
        limit: u32,
    ) -> Result<Vec<(Hash, u64)>, LogError> {
        Ok(Ledger::leaves_between(self, lo, hi, limit)?)
    }
    fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, LogError> {
        Ok(Ledger::consistency_proof(self, old, new)?)
    }
}

impl PublicLog for Mirror {
    fn latest_checkpoint(&self) -> Result<Option<String>, LogError> {
        Ok(self.checkpoint().map(str::to_string))
    }
    fn entry(&self, index: u64) -> Result<Vec<u8>, LogError> {
        Ok(Mirror::entry(self, index)?)
    }
    fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, LogError> {
        // The server's bound, so a mirror is no easier to exhaust.
        if end.saturating_sub(start) > MAX_BATCH as u64 {
            return Err(LogError::NotFound(format!("range {start}..{end}")));
        }
        Ok(Mirror::entries(self, start, end)?)
    }
    fn receipt(&self, leaf: &Hash) -> Result<Receipt, LogError> {
        Ok(Mirror::receipt(self, leaf)?)
    }
    fn leaves_between(
        &self,
        lo: &Hash,
        hi: &Hash,
        limit: u32,
    ) -> Result<Vec<(Hash, u64)>, LogError> {
        Ok(Mirror::leaves_between(self, lo, hi, limit)?)
    }
    fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, LogError> {
        Ok(Mirror::consistency_proof(self, old, new)?)
    }
}
