//! Counters for `/metrics` (Prometheus text format), served on a separate listener so the public
//! API never exposes them.
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// The server's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Ballots recorded.
    pub ballots_accepted: AtomicU64,
    /// Audited ballots recorded.
    pub audits_accepted: AtomicU64,
    /// Rejections by code.
    rejected: [AtomicU64; REJECTION_CODES.len()],
    /// Group commits.
    pub commits: AtomicU64,
    /// Entries committed.
    pub committed_entries: AtomicU64,
    /// Total commit time, microseconds.
    pub commit_micros: AtomicU64,
    /// Ledger size after the last commit.
    pub ledger_size: AtomicU64,
}

/// Rejection codes counted separately.
pub const REJECTION_CODES: [&str; 10] = [
    "malformed",
    "not-eligible",
    "bad-proof",
    "bad-opening",
    "replay",
    "election-closed",
    "busy",
    "rate-limited",
    "unauthorized",
    "other",
];

impl Metrics {
    /// Counts a rejection.
    pub fn reject(&self, code: &str) {
        let i = REJECTION_CODES
            .iter()
            .position(|c| *c == code)
            .unwrap_or(REJECTION_CODES.len() - 1);
        self.rejected[i].fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(
            s,
            "# TYPE hanpyo_ballots_accepted_total counter\nhanpyo_ballots_accepted_total {}",
            g(&self.ballots_accepted)
        );
        let _ = writeln!(
            s,
            "# TYPE hanpyo_audits_accepted_total counter\nhanpyo_audits_accepted_total {}",
            g(&self.audits_accepted)
        );
        let _ = writeln!(s, "# TYPE hanpyo_ballots_rejected_total counter");
        for (c, a) in REJECTION_CODES.iter().zip(&self.rejected) {
            let _ = writeln!(s, "hanpyo_ballots_rejected_total{{code=\"{c}\"}} {}", g(a));
        }
        let _ = writeln!(
            s,
            "# TYPE hanpyo_commits_total counter\nhanpyo_commits_total {}",
            g(&self.commits)
        );
        let _ = writeln!(
            s,
            "# TYPE hanpyo_committed_entries_total counter\nhanpyo_committed_entries_total {}",
            g(&self.committed_entries)
        );
        let _ = writeln!(
            s,
            "# TYPE hanpyo_commit_seconds_total counter\nhanpyo_commit_seconds_total {:.6}",
            g(&self.commit_micros) as f64 / 1e6
        );
        let _ = writeln!(
            s,
            "# TYPE hanpyo_ledger_size gauge\nhanpyo_ledger_size {}",
            g(&self.ledger_size)
        );
        s
    }
}
