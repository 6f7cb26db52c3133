//! The sequencer: one thread owns the ledger. Concurrent submissions are grouped into one durable
//! commit (group commit); each submitter gets its receipt only after that commit, and the election
//! state moves on in ledger order. Administrative steps (close, tally) go through the same queue,
//! so no ballot can be recorded after the close.
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use hanpyo_crypto::threshold::KeyShare;
use hanpyo_ledger::receipt::Receipt;
use hanpyo_ledger::store::Ledger;
use hanpyo_ledger::witness::Witness;
use hanpyo_record::authority::{combine_result, partial_decryption_with_rng};
use hanpyo_record::entry::Entry;
use tokio::sync::oneshot;

use crate::election::{CheckedBallot, ElectionState, Phase};
use crate::error::ApiError;
use crate::metrics::Metrics;

/// Most entries in one group commit.
const MAX_GROUP: usize = 512;
/// Queue depth before submitters get 503.
pub const QUEUE: usize = 4096;

/// An administrative step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAction {
    /// Close voting.
    Close,
    /// Publish the encrypted tally, the partial decryptions of the (demo) trustees and the result.
    Tally,
}

/// A read on the ledger, run on the sequencer thread.
pub type ReadFn = Box<dyn FnOnce(&Ledger) + Send>;

/// A request to the sequencer.
pub enum Request {
    /// Record a checked, admitted ballot.
    Ballot(
        Box<CheckedBallot>,
        oneshot::Sender<Result<Receipt, ApiError>>,
    ),
    /// An administrative step; replies with the new ledger size.
    Admin(AdminAction, oneshot::Sender<Result<u64, ApiError>>),
    /// A read.
    Read(ReadFn),
}

/// What only a demo server holds: trustees' key shares (never in a real deployment) and
/// co-located witnesses.
pub struct Demo {
    /// Trustee key shares.
    pub trustees: Vec<KeyShare>,
}

/// Hooks run after each commit (e.g. persisting witness state).
pub type AfterCommit = Box<dyn FnMut(&[Witness]) + Send>;

/// Handle to submit requests.
#[derive(Clone)]
pub struct Sequencer {
    tx: SyncSender<Request>,
}

impl Sequencer {
    /// Starts the sequencer thread.
    pub fn start(
        ledger: Ledger,
        state: Arc<Mutex<ElectionState>>,
        witnesses: Vec<Witness>,
        demo: Option<Demo>,
        after_commit: AfterCommit,
        metrics: Arc<Metrics>,
    ) -> (Self, std::thread::JoinHandle<()>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
        let handle = std::thread::spawn(move || {
            run(ledger, state, witnesses, demo, after_commit, rx, metrics)
        });
        (Self { tx }, handle)
    }

    /// Queues a request; 503 when the queue is full.
    pub fn submit(&self, r: Request) -> Result<(), ApiError> {
        match self.tx.try_send(r) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(ApiError::busy()),
            Err(TrySendError::Disconnected(_)) => Err(ApiError::internal()),
        }
    }

    /// Runs `f` on the ledger and returns its result.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Ledger) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let (tx, rx) = oneshot::channel();
        self.submit(Request::Read(Box::new(move |l| {
            let _ = tx.send(f(l));
        })))?;
        rx.await.map_err(|_| ApiError::internal())
    }
}

fn lock(state: &Arc<Mutex<ElectionState>>) -> std::sync::MutexGuard<'_, ElectionState> {
    // A panic while holding the lock cannot leave the state half-updated in a way that matters
    // more than stopping: recover the guard and go on.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

fn run(
    mut ledger: Ledger,
    state: Arc<Mutex<ElectionState>>,
    mut witnesses: Vec<Witness>,
    demo: Option<Demo>,
    mut after_commit: AfterCommit,
    rx: Receiver<Request>,
    metrics: Arc<Metrics>,
) {
    let mut clock = 0u64;
    while let Ok(first) = rx.recv() {
        let mut ballots: Pending = Vec::new();
        let mut admin = None;
        let mut next = Some(first);
        while let Some(r) = next.take() {
            match r {
                Request::Read(f) => f(&ledger),
                Request::Ballot(b, reply) => ballots.push((b, reply)),
                Request::Admin(a, reply) => {
                    admin = Some((a, reply));
                    break;
                }
            }
            if ballots.len() < MAX_GROUP {
                next = rx.try_recv().ok();
            }
        }
        clock = clock.max(now()) + 1;
        if !ballots.is_empty() {
            let started = std::time::Instant::now();
            let n = ballots.len() as u64;
            commit_ballots(
                &mut ledger,
                &state,
                &mut witnesses,
                ballots,
                clock,
                &metrics,
            );
            after_commit(&witnesses);
            metrics.commits.fetch_add(1, Ordering::Relaxed);
            metrics.committed_entries.fetch_add(n, Ordering::Relaxed);
            metrics
                .commit_micros
                .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
            metrics.ledger_size.store(ledger.size(), Ordering::Relaxed);
            tracing::debug!(
                entries = n,
                size = ledger.size(),
                micros = started.elapsed().as_micros() as u64,
                "group commit"
            );
        }
        if let Some((action, reply)) = admin {
            let r = administer(&mut ledger, &state, demo.as_ref(), action);
            tracing::info!(action = ?action, ok = r.is_ok(), "administrator action");
            metrics.ledger_size.store(ledger.size(), Ordering::Relaxed);
            if r.is_ok() {
                let _ = ledger.collect_cosignatures(&mut witnesses, clock);
                after_commit(&witnesses);
            }
            let _ = reply.send(r);
        }
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

type Pending = Vec<(
    Box<CheckedBallot>,
    oneshot::Sender<Result<Receipt, ApiError>>,
)>;

fn commit_ballots(
    ledger: &mut Ledger,
    state: &Arc<Mutex<ElectionState>>,
    witnesses: &mut [Witness],
    ballots: Pending,
    clock: u64,
    metrics: &Metrics,
) {
    let open = lock(state).phase == Phase::Open;
    if !open {
        let mut st = lock(state);
        for (b, reply) in ballots {
            st.release(&b.hash);
            let _ = reply.send(Err(ApiError::closed()));
        }
        return;
    }
    let entries: Vec<&[u8]> = ballots.iter().map(|(b, _)| b.bytes.as_slice()).collect();
    let commit = match ledger.append_batch(&entries) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "group commit failed");
            let mut st = lock(state);
            for (b, reply) in ballots {
                st.release(&b.hash);
                let _ = reply.send(Err(ApiError::internal()));
            }
            return;
        }
    };
    if let Err(e) = ledger.collect_cosignatures(witnesses, clock) {
        tracing::error!(error = %e, "witness cosignature failed");
    }
    {
        let mut st = lock(state);
        for (i, (b, _)) in ballots.iter().enumerate() {
            if let Err(e) = st.apply(ledger, commit.first_index + i as u64, b) {
                tracing::error!(error = %e, "applying a committed ballot");
            }
        }
    }
    for (b, reply) in ballots {
        let counter = if b.kind == hanpyo_record::entry::Kind::AuditedBallot {
            &metrics.audits_accepted
        } else {
            &metrics.ballots_accepted
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let r = ledger.receipt(&b.hash).map_err(|e| {
            tracing::error!(error = %e, "receipt");
            ApiError::internal()
        });
        let _ = reply.send(r);
    }
}

fn administer(
    ledger: &mut Ledger,
    state: &Arc<Mutex<ElectionState>>,
    demo: Option<&Demo>,
    action: AdminAction,
) -> Result<u64, ApiError> {
    let mut st = lock(state);
    let entries = match action {
        AdminAction::Close => {
            if st.phase != Phase::Open {
                return Err(ApiError::new(
                    409,
                    "wrong-phase",
                    "only an open election can be closed",
                ));
            }
            vec![Entry::Close.encode()]
        }
        AdminAction::Tally => {
            if st.phase != Phase::Closed {
                return Err(ApiError::new(
                    409,
                    "wrong-phase",
                    "the election must be closed (and not yet tallied)",
                ));
            }
            let Some(demo) = demo else {
                return Err(ApiError::new(
                    409,
                    "trustees-required",
                    "the trustees decrypt the tally themselves (hanpyo trustee decrypt)",
                ));
            };
            tally_entries(&st, demo)?
        }
    };
    let c = ledger.append_batch(&entries).map_err(|e| {
        tracing::error!(error = %e, "admin commit failed");
        ApiError::internal()
    })?;
    st.phase = match action {
        AdminAction::Close => Phase::Closed,
        AdminAction::Tally => Phase::Published,
    };
    Ok(c.size)
}

fn tally_entries(st: &ElectionState, demo: &Demo) -> Result<Vec<Vec<u8>>, ApiError> {
    let p = &st.params;
    let (Some(ctx), Ok(params)) = (&p.ctx, p.manifest.threshold_params()) else {
        return Err(ApiError::internal());
    };
    let tally = st.tally();
    let counted = st.counted();
    let mut out = vec![
        Entry::EncryptedTally {
            counted,
            tally: tally.clone(),
        }
        .encode(),
    ];
    let present = &demo.trustees[demo
        .trustees
        .len()
        .saturating_sub(params.threshold as usize)..];
    let mut rng = hanpyo_crypto::os_rng();
    let mut partials = Vec::new();
    for share in present {
        let y = p
            .verification_keys
            .get((share.index() as usize).wrapping_sub(1))
            .ok_or_else(ApiError::internal)?;
        let entry = partial_decryption_with_rng(ctx, share, y, &tally, &mut rng);
        if let Entry::PartialDecryption { trustee, shares } = &entry {
            partials.push((
                *trustee,
                shares
                    .iter()
                    .map(|r| r.iter().map(|(d, _)| *d).collect())
                    .collect::<Vec<Vec<_>>>(),
            ));
        }
        out.push(entry.encode());
    }
    let refs: Vec<(u32, &[Vec<hanpyo_crypto::group::Element>])> =
        partials.iter().map(|(t, s)| (*t, s.as_slice())).collect();
    let counts =
        combine_result(&params, &tally, &refs, counted).map_err(|_| ApiError::internal())?;
    out.push(
        Entry::Result {
            trustees: present.iter().map(KeyShare::index).collect(),
            counts,
        }
        .encode(),
    );
    Ok(out)
}
