//! Metrics through the `metrics` facade, rendered in the Prometheus text format by
//! `metrics-exporter-prometheus` on a separate listener, so the public API never exposes them.
//!
//! | metric | kind | what |
//! |---|---|---|
//! | `hanpyo_ballots_accepted_total` | counter | ballots recorded |
//! | `hanpyo_audits_accepted_total` | counter | audits recorded |
//! | `hanpyo_ballots_rejected_total{code}` | counter | ballots and audits refused, by error code |
//! | `hanpyo_commits_total` | counter | group commits |
//! | `hanpyo_committed_entries_total` | counter | entries committed |
//! | `hanpyo_commit_seconds` | histogram (summary) | time of one group commit |
//! | `hanpyo_ledger_size` | gauge | entries in the ledger |
//! | `hanpyo_witness_cosignatures` | gauge | witnesses whose cosignature is on the latest checkpoint |
use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The process's recorder (installed once; one server per process).
static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder (once) and answers its handle.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok().map(|()| handle)
        })
        .as_ref()
}

/// The server's counters, as named functions so every call site uses the same names.
#[derive(Debug, Default)]
pub struct Metrics;

impl Metrics {
    /// Counts a refused ballot or audit by its error code.
    pub fn reject(&self, code: &'static str) {
        metrics::counter!("hanpyo_ballots_rejected_total", "code" => code).increment(1);
    }

    /// Counts a recorded ballot (`audit`: an audit).
    pub fn accepted(&self, audit: bool) {
        if audit {
            metrics::counter!("hanpyo_audits_accepted_total").increment(1);
        } else {
            metrics::counter!("hanpyo_ballots_accepted_total").increment(1);
        }
    }

    /// Records a group commit of `entries` entries that took `seconds`.
    pub fn commit(&self, entries: u64, seconds: f64) {
        metrics::counter!("hanpyo_commits_total").increment(1);
        metrics::counter!("hanpyo_committed_entries_total").increment(entries);
        metrics::histogram!("hanpyo_commit_seconds").record(seconds);
    }

    /// The ledger's size now.
    pub fn ledger_size(&self, size: u64) {
        metrics::gauge!("hanpyo_ledger_size").set(size as f64);
    }

    /// How many witnesses co-signed the latest checkpoint.
    pub fn witness_cosignatures(&self, n: u64) {
        metrics::gauge!("hanpyo_witness_cosignatures").set(n as f64);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        install().map(PrometheusHandle::render).unwrap_or_default()
    }
}
