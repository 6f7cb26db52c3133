//! The sequencer: one thread owns the ledger. Concurrent submissions are grouped into one durable
//! commit (group commit); each submitter gets its receipt only after that commit, and the election
//! state moves on in ledger order. Administrative steps (close, tally) go through the same queue,
//! so no ballot can be recorded after the close.
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use hanpyo_crypto::threshold::KeyShare;
use hanpyo_ledger::merkle::leaf_hash;
use hanpyo_ledger::receipt::Receipt;
use hanpyo_ledger::store::Ledger;
use hanpyo_ledger::witness::Witness;
use hanpyo_record::authority::{combine_result, partial_decryption_with_rng};
use hanpyo_record::entry::{CeremonyMessage, Entry, Kind};
use hanpyo_record::mixing::{Mix, Rows};
use tokio::sync::oneshot;

use crate::election::{CheckedBallot, ElectionState, Phase};
use crate::error::ApiError;
use crate::metrics::Metrics;

/// Most entries in one group commit.
const MAX_GROUP: usize = 512;
/// Queue depth before submitters get 503.
pub const QUEUE: usize = 4096;

/// An administrative step that writes to the ledger.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AdminAction {
    /// End the key ceremony: resolve it from the transcript and publish the joint key.
    FinishCeremony,
    /// Stop waiting for missing commitment digests: trustees may reveal now, and a dealer without
    /// a digest is left out (so one that never publishes its digest cannot stall the ceremony).
    CloseDigests,
    /// Publish a chunk of the public credential list (sorted, above every earlier one).
    Credentials(Vec<[u8; 32]>),
    /// Close voting.
    Close,
    /// Publish the encrypted tally (and, in a demo, the demo trustees' decryption and the result).
    Tally,
    /// Publish the result from the trustees' valid partial decryptions.
    Publish,
}

impl AdminAction {
    /// A short name for logs and the audit log.
    pub fn name(&self) -> &'static str {
        match self {
            AdminAction::FinishCeremony => "finish-ceremony",
            AdminAction::CloseDigests => "close-digests",
            AdminAction::Credentials(_) => "credentials",
            AdminAction::Close => "close",
            AdminAction::Tally => "tally",
            AdminAction::Publish => "publish",
        }
    }
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
    /// A trustee's ceremony or decryption entry, from the authenticated trustee `index`.
    Trustee(u32, Vec<u8>, oneshot::Sender<Result<u64, ApiError>>),
    /// A read.
    Read(ReadFn),
    /// Another node changed the log or the forwarded writes ([`crate::wakeup`]): look now.
    Wake,
}

/// What only a demo server holds: trustees' key shares (never in a real deployment) and
/// co-located witnesses.
pub struct Demo {
    /// Trustee key shares.
    pub trustees: Vec<KeyShare>,
}

/// Hooks run after each commit (e.g. persisting co-located witnesses' state).
pub type AfterCommit = Box<dyn FnMut(&[Witness]) + Send>;

/// The election's witnesses: co-located ones (keys in the data directory: tests, old demos) and
/// remote ones (other organisations' `hanpyo witness serve`), and how many must co-sign each
/// checkpoint before a receipt is issued (the manifest's quorum).
pub struct Witnesses {
    /// In this process.
    pub local: Vec<Witness>,
    /// Over HTTP.
    pub remote: Vec<crate::witnesses::RemoteWitness>,
    /// The manifest's `witness_quorum`.
    pub quorum: usize,
    /// Whether the latest checkpoint reached the quorum.
    quorum_met: bool,
}

impl Witnesses {
    /// `local` and `remote` witnesses, `quorum` of them needed.
    pub fn new(
        local: Vec<Witness>,
        remote: Vec<crate::witnesses::RemoteWitness>,
        quorum: usize,
    ) -> Self {
        Self {
            local,
            remote,
            quorum,
            quorum_met: true,
        }
    }

    /// Asks every witness (at once) to co-sign the latest checkpoint; answers whether the quorum
    /// is met.
    fn collect(&mut self, ledger: &mut Ledger, clock: u64, metrics: &Metrics) -> bool {
        let mut cosigned = 0;
        for round in [
            ledger.collect_cosignatures(&mut self.local, clock),
            ledger.collect_cosignatures(&mut self.remote, clock),
        ] {
            match round {
                Ok(r) => {
                    cosigned += r.cosigned;
                    for (name, why) in r.failures {
                        tracing::warn!(witness = %name, reason = %why, "no cosignature");
                    }
                }
                Err(e) => tracing::error!(error = %e, "collecting cosignatures"),
            }
        }
        let met = cosigned >= self.quorum;
        if met != self.quorum_met {
            if met {
                tracing::info!(
                    cosigned,
                    quorum = self.quorum,
                    "witness quorum back: accepting ballots"
                );
            } else {
                tracing::error!(
                    cosigned,
                    quorum = self.quorum,
                    "witness quorum lost: ballots are refused until it is back"
                );
            }
        }
        metrics.witness_cosignatures(cosigned as u64);
        self.quorum_met = met;
        met
    }
}

/// Too few witnesses co-signed: no receipt can be issued.
fn witness_quorum(recorded: bool) -> ApiError {
    ApiError::new(
        503,
        "witness-quorum",
        if recorded {
            "the ballot was recorded, but too few independent witnesses have confirmed the ledger yet, so no receipt can be issued: look up its tracking code later instead of casting again"
        } else {
            "too few independent witnesses are reachable to confirm the ledger; nothing was recorded: try again in a few minutes"
        },
    )
}

/// A log in a database that several nodes share (PostgreSQL): how this node follows it, takes
/// its lease when no node holds it, and hands its writes to the node that does ([`crate::forward`]).
pub struct SharedLog {
    /// The database.
    pub url: String,
    /// The log's signer (every node has the key), to open the log as its writer or follower.
    pub signer: Box<
        dyn Fn() -> Result<hanpyo_ledger::checkpoint::NoteSigner, hanpyo_ledger::store::LedgerError>
            + Send,
    >,
    /// The election's `pending` table.
    pub pending: crate::forward::Pending,
    /// Whether an administrator opened voting (a flag in the state, not an entry, so every node
    /// looks).
    pub opened: Box<dyn FnMut() -> bool + Send>,
    /// The node's listener for the database's notifications, if it has one: while it listens, an
    /// idle sequencer waits to be woken instead of polling.
    pub wakeups: Option<crate::wakeup::Wakeups>,
}

impl SharedLog {
    fn listening(&self) -> bool {
        self.wakeups.as_ref().is_some_and(|w| w.listening())
    }
}

/// Handle to submit requests. The thread ends once every handle is dropped.
#[derive(Clone)]
pub struct Sequencer {
    tx: Arc<SyncSender<Request>>,
}

/// Wakes a sequencer thread ([`Request::Wake`]) without keeping it alive.
#[derive(Clone)]
pub struct Waker(Weak<SyncSender<Request>>);

impl Waker {
    /// Wakes the thread (unless its queue is full: then it is busy anyway); answers whether it
    /// is still running.
    pub fn wake(&self) -> bool {
        match self.0.upgrade() {
            Some(tx) => !matches!(
                tx.try_send(Request::Wake),
                Err(TrySendError::Disconnected(_))
            ),
            None => false,
        }
    }
}

impl Sequencer {
    /// Starts the sequencer thread. With `shared`, `ledger` is this node's writer (it holds the
    /// lease) or a follower ([`Ledger::follow_postgres`]); the thread takes the lease over when it
    /// is free and gives it up when it is lost.
    pub fn start(
        ledger: Ledger,
        state: Arc<Mutex<ElectionState>>,
        witnesses: Witnesses,
        demo: Option<Demo>,
        after_commit: AfterCommit,
        metrics: Arc<Metrics>,
        shared: Option<SharedLog>,
    ) -> (Self, std::thread::JoinHandle<()>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
        let handle = std::thread::spawn(move || {
            let seq = Seq {
                ledger,
                state,
                witnesses,
                demo,
                after_commit,
                metrics,
                clock: 0,
                forgotten: Instant::now(),
            };
            match shared {
                None => seq.run(rx),
                Some(shared) => seq.run_shared(rx, shared),
            }
        });
        (Self { tx: Arc::new(tx) }, handle)
    }

    /// A handle that wakes the thread.
    pub fn waker(&self) -> Waker {
        Waker(Arc::downgrade(&self.tx))
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

/// What one turn of the loop took from the queue: ballots to commit together, and at most one
/// administrative or trustee write (after them). Reads ran as they came.
#[derive(Default)]
struct Turn {
    ballots: Pending,
    write: Option<Write>,
}

/// An administrative action or a trustee's entry, with where its answer goes.
enum Write {
    Admin(AdminAction, oneshot::Sender<Result<u64, ApiError>>),
    Trustee(u32, Vec<u8>, oneshot::Sender<Result<u64, ApiError>>),
}

/// Someone waiting for a write this node forwarded to the sequencer.
enum Waiter {
    /// A ballot (its hash) waiting for its receipt.
    Ballot(
        hanpyo_ledger::merkle::Hash,
        oneshot::Sender<Result<Receipt, ApiError>>,
    ),
    /// An action or trustee entry waiting for the ledger's size after it.
    Size(oneshot::Sender<Result<u64, ApiError>>),
}

/// How long a forwarded write waits for the sequencer before its client is told to try again.
const FORWARD_PATIENCE: Duration = Duration::from_secs(30);
/// How often a node tries to take a free lease, checks its own, and looks at the opened flag.
const MAINTENANCE: Duration = Duration::from_secs(1);
/// How soon a node sharing a log looks at it and the forwarded writes again while writes flow.
const FAST_LOOK: Duration = Duration::from_millis(5);
/// ... while its own forwarded writes wait for answers it would be woken for.
const WAITING_LOOK: Duration = Duration::from_millis(100);
/// ... when idle and not woken by notifications (backing off from `FAST_LOOK`).
const IDLE_LOOK: Duration = Duration::from_millis(200);
/// ... when idle and woken by notifications: a safety net only.
const SAFETY_LOOK: Duration = Duration::from_secs(15);

/// The sequencer thread's own state.
struct Seq {
    ledger: Ledger,
    state: Arc<Mutex<ElectionState>>,
    witnesses: Witnesses,
    demo: Option<Demo>,
    after_commit: AfterCommit,
    metrics: Arc<Metrics>,
    clock: u64,
    /// When answered forwarded writes were last deleted.
    forgotten: Instant,
}

impl Seq {
    /// Takes `first` and whatever else is queued (up to a group) into a turn; reads run now.
    fn gather(&self, first: Request, rx: &Receiver<Request>) -> Turn {
        let mut turn = Turn::default();
        let mut next = Some(first);
        while let Some(r) = next.take() {
            match r {
                Request::Read(f) => f(&self.ledger),
                Request::Ballot(b, reply) => turn.ballots.push((b, reply)),
                Request::Admin(a, reply) => {
                    turn.write = Some(Write::Admin(a, reply));
                    break;
                }
                Request::Trustee(i, e, reply) => {
                    turn.write = Some(Write::Trustee(i, e, reply));
                    break;
                }
                Request::Wake => {}
            }
            if turn.ballots.len() < MAX_GROUP {
                next = rx.try_recv().ok();
            }
        }
        turn
    }

    fn tick(&mut self) {
        self.clock = self.clock.max(now()) + 1;
    }

    /// Commits a turn's ballots, then its write (this node is the log's writer).
    fn commit_turn(&mut self, turn: Turn) {
        self.tick();
        self.commit(turn.ballots);
        match turn.write {
            Some(Write::Admin(action, reply)) => {
                let _ = reply.send(self.act(action));
            }
            Some(Write::Trustee(index, entry, reply)) => {
                let _ = reply.send(self.trustee(index, entry));
            }
            None => {}
        }
    }

    fn commit(&mut self, ballots: Pending) {
        if ballots.is_empty() {
            return;
        }
        let started = Instant::now();
        let n = ballots.len() as u64;
        commit_ballots(
            &mut self.ledger,
            &self.state,
            &mut self.witnesses,
            ballots,
            self.clock,
            &self.metrics,
        );
        (self.after_commit)(&self.witnesses.local);
        self.metrics.commit(n, started.elapsed().as_secs_f64());
        self.metrics.ledger_size(self.ledger.size());
        tracing::debug!(
            entries = n,
            size = self.ledger.size(),
            micros = started.elapsed().as_micros() as u64,
            "group commit"
        );
    }

    fn act(&mut self, action: AdminAction) -> Result<u64, ApiError> {
        let name = action.name();
        let r = administer(&mut self.ledger, &self.state, self.demo.as_ref(), action);
        tracing::info!(action = name, ok = r.is_ok(), "administrator action");
        self.after_write(r.is_ok());
        r
    }

    fn trustee(&mut self, index: u32, entry: Vec<u8>) -> Result<u64, ApiError> {
        let r = trustee_entry(&mut self.ledger, &self.state, index, entry);
        tracing::info!(trustee = index, ok = r.is_ok(), "trustee entry");
        self.after_write(r.is_ok());
        r
    }

    fn after_write(&mut self, ok: bool) {
        self.metrics.ledger_size(self.ledger.size());
        if ok {
            self.witnesses
                .collect(&mut self.ledger, self.clock, &self.metrics);
            (self.after_commit)(&self.witnesses.local);
        }
    }

    /// The single-node loop: every request is this node's own.
    fn run(mut self, rx: Receiver<Request>) {
        loop {
            // While the quorum is lost, ask the witnesses again every second (not only when a
            // ballot comes), so the server resumes by itself when they return.
            let first = if self.witnesses.quorum_met {
                match rx.recv() {
                    Ok(r) => r,
                    Err(_) => break,
                }
            } else {
                match rx.recv_timeout(Duration::from_secs(1)) {
                    Ok(r) => r,
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                        self.tick();
                        self.witnesses
                            .collect(&mut self.ledger, self.clock, &self.metrics);
                        (self.after_commit)(&self.witnesses.local);
                        continue;
                    }
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                }
            };
            let turn = self.gather(first, &rx);
            self.commit_turn(turn);
        }
    }

    /// The loop of a node sharing the log with others: as the writer it commits its own requests
    /// and the writes other nodes forward; as a follower it keeps its copy of the log and the
    /// state current and forwards its writes; either way it answers its clients when their
    /// forwarded writes are answered.
    fn run_shared(mut self, rx: Receiver<Request>, mut shared: SharedLog) {
        let mut waiting: Vec<(i64, Waiter, Instant)> = Vec::new();
        let mut next_maintenance = Instant::now();
        let mut next_look = Instant::now();
        let mut idle = FAST_LOOK;
        loop {
            let now = Instant::now();
            let first = match rx.recv_timeout(
                next_look
                    .min(next_maintenance)
                    .saturating_duration_since(now),
            ) {
                Ok(r) => Some(r),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            };
            // Woken (a request, or a notification), or time to look anyway.
            if first.is_some() || Instant::now() >= next_look {
                let mut busy = matches!(&first, Some(r) if !matches!(r, Request::Wake));
                if self.ledger.is_follower() {
                    self.follow(&shared);
                }
                if let Some(first) = first {
                    let turn = self.gather(first, &rx);
                    busy |= !turn.ballots.is_empty() || turn.write.is_some();
                    if self.ledger.is_follower() {
                        self.forward(&mut shared, &mut waiting, turn);
                    } else {
                        self.commit_turn(turn);
                    }
                }
                if !self.ledger.is_follower() {
                    busy |= self.pump(&mut shared);
                }
                self.resolve(&mut shared, &mut waiting);
                // Looking again soon while anything is in flight. Idle, without notifications,
                // backing off to every 200 ms; with them, only as a safety net.
                let listening = shared.listening();
                idle = if busy {
                    FAST_LOOK
                } else if listening {
                    SAFETY_LOOK
                } else {
                    (idle * 2).clamp(FAST_LOOK, IDLE_LOOK)
                };
                let wait = if waiting.is_empty() {
                    idle
                } else if listening {
                    idle.min(WAITING_LOOK)
                } else {
                    FAST_LOOK
                };
                next_look = Instant::now() + wait;
            }
            if Instant::now() >= next_maintenance {
                next_maintenance = Instant::now() + MAINTENANCE;
                self.maintain(&mut shared, &mut waiting);
            }
        }
    }

    /// A follower catches its ledger and state up with the database (connecting again if its
    /// connection was lost: the database restarted or failed over).
    fn follow(&mut self, shared: &SharedLog) {
        let before = self.ledger.size();
        match self.ledger.refresh() {
            Ok(false) => {}
            Ok(true) => self.replay_from(before),
            Err(e @ hanpyo_ledger::store::LedgerError::Corrupt(_)) => {
                // Raced by the writer's commits every time: the next turn reads again.
                tracing::debug!(error = %e, "following the log");
            }
            Err(e) => {
                tracing::warn!(error = %e, "following the log: connecting again");
                if let Err(e) = self.follow_anew(shared) {
                    tracing::warn!(error = %e, "following the log");
                }
            }
        }
    }

    /// Follows the log on a new connection (see [`Seq::switch_to`]).
    fn follow_anew(&mut self, shared: &SharedLog) -> Result<(), hanpyo_ledger::store::LedgerError> {
        let follower = (shared.signer)().and_then(|s| Ledger::follow_postgres(&shared.url, s))?;
        self.switch_to(follower);
        Ok(())
    }

    /// Replaces the ledger (a follower connecting again, a follower that took the lease, a writer
    /// that lost it) and takes what the new one holds beyond the old into the state.
    fn switch_to(&mut self, ledger: Ledger) {
        let before = self.ledger.size();
        self.ledger = ledger;
        self.replay_from(before);
    }

    /// Takes the ledger's entries from `start` into the state.
    fn replay_from(&mut self, mut start: u64) {
        let size = self.ledger.size();
        while start < size {
            let end = (start + 1000).min(size);
            let entries = match self.ledger.entries(start, end) {
                Ok(e) => e,
                Err(e) => {
                    tracing::error!(error = %e, "reading the log's new entries");
                    return;
                }
            };
            let mut st = lock(&self.state);
            for (i, bytes) in entries.iter().enumerate() {
                if let Err(why) = st.replay(&self.ledger, start + i as u64, bytes) {
                    tracing::error!(%why, "a committed entry could not be applied");
                }
            }
            st.note_turnout();
            start = end;
        }
        self.metrics.ledger_size(size);
    }

    /// A follower hands its turn's writes to the sequencer through the `pending` table.
    fn forward(
        &mut self,
        shared: &mut SharedLog,
        waiting: &mut Vec<(i64, Waiter, Instant)>,
        turn: Turn,
    ) {
        use crate::forward::Forwarded;
        let mut writes = Vec::new();
        let mut waiters = Vec::new();
        for (b, reply) in turn.ballots {
            writes.push(Forwarded::Ballot(b.bytes));
            waiters.push(Waiter::Ballot(b.hash, reply));
        }
        match turn.write {
            Some(Write::Admin(a, reply)) => {
                writes.push(Forwarded::Admin(a));
                waiters.push(Waiter::Size(reply));
            }
            Some(Write::Trustee(i, e, reply)) => {
                writes.push(Forwarded::Trustee(i, e));
                waiters.push(Waiter::Size(reply));
            }
            None => {}
        }
        if writes.is_empty() {
            return;
        }
        match shared.pending.enqueue(&writes) {
            Ok(ids) => {
                let now = Instant::now();
                waiting.extend(ids.into_iter().zip(waiters).map(|(id, w)| (id, w, now)));
            }
            Err(e) => {
                tracing::error!(error = %e, "forwarding writes to the sequencer");
                for w in waiters {
                    self.refuse(w, ApiError::busy());
                }
            }
        }
    }

    /// Answers a waiter with a refusal (releasing what its ballot reserved).
    fn refuse(&self, w: Waiter, e: ApiError) {
        match w {
            Waiter::Ballot(hash, reply) => {
                self.release_unless_logged(&hash);
                let _ = reply.send(Err(e));
            }
            Waiter::Size(reply) => {
                let _ = reply.send(Err(e));
            }
        }
    }

    /// Releases what a ballot reserved in the state — unless the ballot is in the log after all
    /// (refused only for want of cosignatures, or committed by a sequencer that died before
    /// answering): replaying it must stay refused.
    fn release_unless_logged(&self, hash: &hanpyo_ledger::merkle::Hash) {
        if !matches!(self.ledger.index_of(hash), Ok(Some(_))) {
            lock(&self.state).release(hash);
        }
    }

    /// The writer takes other nodes' writes, in order, and answers each once it is durable.
    /// Answers whether there were any.
    fn pump(&mut self, shared: &mut SharedLog) -> bool {
        use crate::forward::{Done, Forwarded};
        let rows = match shared.pending.unanswered(MAX_GROUP as i64) {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(error = %e, "reading forwarded writes");
                return false;
            }
        };
        if rows.is_empty() {
            return false;
        }
        // A writer that lost its log answers nothing (its refusals would be final, though its
        // successor may be committing these rows): it follows at the next maintenance.
        if let Err(e) = self.ledger.check_writer() {
            tracing::warn!(error = %e, "not answering forwarded writes");
            return false;
        }
        self.tick();
        let params = lock(&self.state).params.clone();
        let mut answers = Vec::with_capacity(rows.len());
        let mut ballots: Pending = Vec::new();
        let mut receipts = Vec::new();
        for (id, write) in rows {
            match write {
                Forwarded::Ballot(bytes) => {
                    // Already in the log (its sequencer died before answering): its index.
                    let hash = hanpyo_ledger::merkle::leaf_hash(&bytes);
                    match self.ledger.index_of(&hash) {
                        Ok(Some(index)) => {
                            lock(&self.state).seen.insert(hash);
                            let witnessed = self.witnesses.quorum_met
                                || self.witnesses.collect(
                                    &mut self.ledger,
                                    self.clock,
                                    &self.metrics,
                                );
                            answers.push((
                                id,
                                if witnessed {
                                    Ok(Done {
                                        value: index,
                                        checkpoint: self.ledger.size(),
                                    })
                                } else {
                                    Err(witness_quorum(true))
                                },
                            ));
                            continue;
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::error!(error = %e, "looking a forwarded ballot up");
                            answers.push((id, Err(ApiError::internal())));
                            continue;
                        }
                    }
                    let admitted = ElectionState::check_forwarded(&params, bytes).and_then(|c| {
                        lock(&self.state).admit(&c)?;
                        Ok(c)
                    });
                    match admitted {
                        Ok(c) => {
                            let (tx, rx) = oneshot::channel();
                            ballots.push((Box::new(c), tx));
                            receipts.push((id, rx));
                        }
                        Err(e) => answers.push((id, Err(e))),
                    }
                }
                write => {
                    // An action or entry comes after the ballots forwarded before it.
                    answers.extend(self.commit_forwarded(&mut ballots, &mut receipts));
                    let outcome = match write {
                        Forwarded::Admin(a) => self.act(a),
                        Forwarded::Trustee(i, e) => self.trustee(i, e),
                        Forwarded::Ballot(_) => Err(ApiError::internal()),
                    };
                    answers.push((
                        id,
                        outcome.map(|size| Done {
                            value: size,
                            checkpoint: size,
                        }),
                    ));
                }
            }
        }
        answers.extend(self.commit_forwarded(&mut ballots, &mut receipts));
        // A write that failed inside this node (its ledger's connection, say) stays unanswered:
        // the next sequencer takes it, and finds it in the log if it was committed after all.
        answers.retain(|(_, outcome)| !matches!(outcome, Err(e) if e.code == "internal"));
        if let Err(e) = shared.pending.answer(&answers) {
            // Unanswered rows are taken again; what was committed is found in the log then.
            tracing::error!(error = %e, "answering forwarded writes");
        }
        true
    }

    /// Commits the forwarded `ballots` gathered so far; answers each row with its index, against
    /// the checkpoint co-signed after the commit (or why it was refused).
    fn commit_forwarded(
        &mut self,
        ballots: &mut Pending,
        receipts: &mut Vec<(i64, oneshot::Receiver<Result<Receipt, ApiError>>)>,
    ) -> Vec<(i64, crate::forward::Outcome)> {
        self.commit(std::mem::take(ballots));
        let size = self.ledger.size();
        receipts
            .drain(..)
            .map(|(id, rx)| (id, index_of(rx, size)))
            .collect()
    }

    /// Answers this node's clients whose forwarded writes were answered (or waited too long).
    fn resolve(&mut self, shared: &mut SharedLog, waiting: &mut Vec<(i64, Waiter, Instant)>) {
        if waiting.is_empty() {
            return;
        }
        let ids: Vec<i64> = waiting.iter().map(|(id, _, _)| *id).collect();
        let answered = match shared.pending.answered(&ids) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "reading the sequencer's answers");
                Vec::new()
            }
        };
        let needed = answered
            .iter()
            .filter_map(|(_, o)| o.as_ref().ok().map(|d| d.checkpoint))
            .max();
        if needed.is_some_and(|n| n > self.ledger.size()) && self.ledger.is_follower() {
            // The answer was written after the commit: the log holds what it answers.
            self.follow(shared);
        }
        for (id, outcome) in answered {
            // Not yet caught up with the checkpoint the answer names: next time.
            if matches!(&outcome, Ok(d) if d.checkpoint > self.ledger.size()) {
                continue;
            }
            let Some(pos) = waiting.iter().position(|(w, _, _)| *w == id) else {
                continue;
            };
            let (_, waiter, _) = waiting.swap_remove(pos);
            match (waiter, outcome) {
                (Waiter::Ballot(hash, reply), Ok(done)) => {
                    let receipt = self.ledger.receipt_at(&hash, done.checkpoint).map_err(|e| {
                        tracing::error!(error = %e, "a forwarded ballot's receipt");
                        ApiError::internal()
                    });
                    let _ = reply.send(receipt);
                }
                (Waiter::Size(reply), Ok(done)) => {
                    let _ = reply.send(Ok(done.value));
                }
                (w, Err(e)) => self.refuse(w, e),
            }
        }
        let mut kept = Vec::with_capacity(waiting.len());
        for (id, w, since) in waiting.drain(..) {
            // Given up on only if the sequencer has not taken it yet: then it never will.
            if since.elapsed() > FORWARD_PATIENCE && !matches!(shared.pending.expire(id), Ok(false))
            {
                self.refuse(
                    w,
                    ApiError::new(
                        503,
                        "busy",
                        "the node recording the ballots did not answer in time: nothing was recorded; cast again",
                    ),
                );
            } else {
                kept.push((id, w, since));
            }
        }
        *waiting = kept;
    }

    /// Once a second: a follower takes the lease if it is free (a writer that died has lost it); a
    /// writer checks it still holds it and otherwise follows; both look at the opened flag.
    fn maintain(&mut self, shared: &mut SharedLog, waiting: &mut [(i64, Waiter, Instant)]) {
        if self.ledger.is_follower() {
            // One look at the database per node and second answers this for every log.
            if matches!(self.ledger.lease_taken(), Ok(true)) {
                return self.look_at_opened(shared);
            }
            match (shared.signer)().and_then(|s| Ledger::open_postgres(&shared.url, s)) {
                Ok(writer) => {
                    self.switch_to(writer);
                    // This node's own forwarded ballots are now its own to admit (those not in the
                    // log already), and its latest checkpoint must be co-signed before it answers.
                    for (_, w, _) in waiting.iter() {
                        if let Waiter::Ballot(hash, _) = w {
                            self.release_unless_logged(hash);
                        }
                    }
                    self.tick();
                    self.witnesses
                        .collect(&mut self.ledger, self.clock, &self.metrics);
                    (self.after_commit)(&self.witnesses.local);
                    tracing::info!(
                        log = self.ledger.origin(),
                        size = self.ledger.size(),
                        "this node is now the log's sequencer"
                    );
                }
                Err(hanpyo_ledger::store::LedgerError::Busy(_)) => {}
                Err(e) => tracing::warn!(error = %e, "taking the log's lease"),
            }
        } else if let Err(e) = self.ledger.holds_lease() {
            tracing::warn!(error = %e, "this node lost the log's lease: following it");
            if let Err(e) = self.follow_anew(shared) {
                tracing::error!(error = %e, "following the log");
            }
        } else if self.forgotten.elapsed() >= Duration::from_secs(60) {
            self.forgotten = Instant::now();
            if let Err(e) = shared.pending.forget_answered() {
                tracing::warn!(error = %e, "deleting answered forwarded writes");
            }
        }
        self.look_at_opened(shared);
    }

    /// Opens voting on this node once an administrator opened it (on any node).
    fn look_at_opened(&mut self, shared: &mut SharedLog) {
        let st = lock(&self.state);
        if st.phase == Phase::Credentials && !st.credentials.is_empty() {
            drop(st);
            if (shared.opened)() {
                lock(&self.state).phase = Phase::Open;
            }
        }
    }
}

/// A forwarded ballot's outcome from its commit's answer: its index, against the checkpoint of
/// `size` (the ledger's after the commit and its cosignatures).
fn index_of(
    rx: oneshot::Receiver<Result<Receipt, ApiError>>,
    size: u64,
) -> Result<crate::forward::Done, ApiError> {
    let mut rx = rx;
    match rx.try_recv() {
        Ok(Ok(receipt)) => Ok(crate::forward::Done {
            value: receipt.index,
            checkpoint: size,
        }),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ApiError::internal()),
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
    witnesses: &mut Witnesses,
    ballots: Pending,
    clock: u64,
    metrics: &Metrics,
) {
    let open = lock(state).phase == Phase::Open;
    // Nothing is recorded while the witnesses cannot confirm it (asked again first).
    let refusal = if !open {
        Some(ApiError::closed())
    } else if !witnesses.quorum_met && !witnesses.collect(ledger, clock, metrics) {
        Some(witness_quorum(false))
    } else {
        None
    };
    if let Some(refusal) = refusal {
        let mut st = lock(state);
        for (b, reply) in ballots {
            st.release(&b.hash);
            let _ = reply.send(Err(refusal.clone()));
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
    let witnessed = witnesses.collect(ledger, clock, metrics);
    {
        let mut st = lock(state);
        for (i, (b, _)) in ballots.iter().enumerate() {
            if let Err(e) = st.apply(ledger, commit.first_index + i as u64, b) {
                tracing::error!(error = %e, "applying a committed ballot");
            }
        }
        st.note_turnout();
    }
    if !witnessed {
        // Recorded and counted, but no receipt without the witnesses' confirmation.
        for (_, reply) in ballots {
            let _ = reply.send(Err(witness_quorum(true)));
        }
        return;
    }
    let receipts = ledger.receipts_for(commit.first_index, &commit.leaf_hashes);
    match receipts {
        Ok(receipts) => {
            for ((b, reply), r) in ballots.into_iter().zip(receipts) {
                metrics.accepted(b.kind == hanpyo_record::entry::Kind::AuditedBallot);
                let _ = reply.send(Ok(r));
            }
        }
        Err(e) => {
            // Committed, but the receipts could not be built: the ballots count; the voters can
            // fetch their receipts by tracking code.
            tracing::error!(error = %e, "receipts");
            for (_, reply) in ballots {
                let _ = reply.send(Err(ApiError::internal()));
            }
        }
    }
}

fn wrong_phase(what: &str) -> ApiError {
    ApiError::new(409, "wrong-phase", what.to_string())
}

fn commit_entries(
    ledger: &mut Ledger,
    st: &mut ElectionState,
    entries: Vec<Vec<u8>>,
) -> Result<u64, ApiError> {
    let c = ledger.append_batch(&entries).map_err(|e| {
        tracing::error!(error = %e, "commit failed");
        ApiError::internal()
    })?;
    for e in &entries {
        if let Ok(entry) = Entry::decode(e, Some(&st.params.shapes))
            && let Err(why) = st.record(&*ledger, e, entry)
        {
            // Committed entries were checked first: this is a broken invariant, not bad input.
            tracing::error!(error = %why, "a committed entry could not be applied");
        }
    }
    Ok(c.size)
}

fn administer(
    ledger: &mut Ledger,
    state: &Arc<Mutex<ElectionState>>,
    demo: Option<&Demo>,
    action: AdminAction,
) -> Result<u64, ApiError> {
    let mut st = lock(state);
    let entries = match action {
        AdminAction::CloseDigests => {
            if st.phase != Phase::Ceremony || st.ceremony.registrations.iter().any(Option::is_none)
            {
                return Err(wrong_phase(
                    "the digest round can be closed once every trustee has registered, during the ceremony",
                ));
            }
            if st.ceremony.digests.iter().all(Option::is_none) {
                return Err(wrong_phase("no trustee has published a digest yet"));
            }
            // Nothing goes on the ledger: the first commitment revealed closes the round for
            // everyone (no digest may follow a commitment), and the record shows who had none.
            st.ceremony.digests_closed = true;
            return Ok(ledger.size());
        }
        AdminAction::FinishCeremony => {
            if st.phase != Phase::Ceremony {
                return Err(wrong_phase("the key ceremony is over"));
            }
            let c = &st.ceremony;
            let keys: Option<Vec<_>> = c.registrations.iter().copied().collect();
            let keys = keys.ok_or_else(|| wrong_phase("not every trustee has registered"))?;
            let params = st
                .params
                .manifest
                .threshold_params()
                .map_err(|_| ApiError::internal())?;
            let ctx = hanpyo_record::context::ceremony_context(&st.params.manifest_hash);
            let outcome = hanpyo_crypto::threshold::resolve_ceremony(
                &ctx,
                &hanpyo_crypto::threshold::CeremonyTranscript {
                    params,
                    trustee_keys: &keys,
                    digests: &c.digests,
                    commitments: &c.commitments,
                    shares: &c.shares,
                    complaints: &c.complaints,
                },
            )
            .map_err(|e| ApiError::new(409, "ceremony-failed", e.to_string()))?;
            // Only a key that at least t qualified trustees can use: each must have confirmed
            // holding checked shares from every qualified dealer.
            let confirmed = outcome.confirmed(&c.confirmations);
            if confirmed.len() < params.threshold as usize {
                return Err(ApiError::new(
                    409,
                    "ceremony-failed",
                    format!(
                        "qualified dealers {:?}; only trustees {confirmed:?} confirmed a key share from all of them, {} needed{}",
                        outcome.qualified,
                        params.threshold,
                        if outcome.disqualified.is_empty() {
                            String::new()
                        } else {
                            format!("; left out: {:?}", outcome.disqualified)
                        }
                    ),
                ));
            }
            vec![
                Entry::JointKey {
                    key: outcome.joint_key,
                    qualified: outcome.qualified,
                    verification_keys: outcome.verification_keys,
                }
                .encode(),
            ]
        }
        AdminAction::Credentials(list) => {
            if st.phase != Phase::Credentials {
                return Err(wrong_phase(
                    "credentials are uploaded after the key ceremony, before opening",
                ));
            }
            let mut last = st.credentials.last().copied();
            let mut chunk = Vec::with_capacity(list.len());
            for c in &list {
                if last.is_some_and(|l| l >= *c) {
                    return Err(ApiError::malformed(
                        "credentials must be strictly ascending, above every earlier one",
                    ));
                }
                last = Some(*c);
                chunk.push(
                    hanpyo_crypto::credential::PublicCredential::decode(c)
                        .map_err(|e| ApiError::malformed(format!("credential: {e}")))?,
                );
            }
            chunk
                .chunks(hanpyo_record::entry::MAX_CREDENTIALS_PER_ENTRY)
                .map(|c| Entry::CredentialList(c.to_vec()).encode())
                .collect()
        }
        AdminAction::Close => {
            if st.phase != Phase::Open {
                return Err(wrong_phase("only an open election can be closed"));
            }
            vec![Entry::Close.encode()]
        }
        AdminAction::Tally => {
            if st.phase != Phase::Closed {
                return Err(wrong_phase(
                    "the election must be closed (and not yet tallied)",
                ));
            }
            match demo {
                Some(demo) => tally_entries(ledger, &st, demo)?,
                None => vec![
                    Entry::EncryptedTally {
                        counted: st.counted(),
                        tally: st.tally(),
                    }
                    .encode(),
                ],
            }
        }
        AdminAction::Publish => {
            if st.phase != Phase::Tallied {
                return Err(wrong_phase("the tally must be published first"));
            }
            let params = st
                .params
                .manifest
                .threshold_params()
                .map_err(|_| ApiError::internal())?;
            let (counted, tally) = st.ceremony.tally.clone().ok_or_else(ApiError::internal)?;
            let mut partials = st.ceremony.partials.clone();
            partials.sort_by_key(|p| p.0);
            if partials.len() < params.threshold as usize {
                return Err(ApiError::new(
                    409,
                    "shares-missing",
                    format!(
                        "{} of the {} partial decryptions needed",
                        partials.len(),
                        params.threshold
                    ),
                ));
            }
            let used = &partials[..params.threshold as usize];
            let refs: Vec<(u32, &[Vec<hanpyo_crypto::group::Element>])> =
                used.iter().map(|(t, s)| (*t, s.as_slice())).collect();
            let maxima = st.params.manifest.cell_maxima(counted);
            let counts = combine_result(&params, &tally, &refs, &maxima)
                .map_err(|_| ApiError::internal())?;
            let ranked = ranked_outcomes(&mut st, &params, &counts)?;
            vec![
                Entry::result(
                    &st.params.manifest,
                    used.iter().map(|p| p.0).collect(),
                    counts,
                    st.result_turnout(counted),
                    &ranked,
                )
                .encode(),
            ]
        }
    };
    commit_entries(ledger, &mut st, entries)
}

/// Validates a trustee's entry against the transcript so far (the ledger's grammar and the
/// commit-before-reveal order hold by construction), then commits it.
fn trustee_entry(
    ledger: &mut Ledger,
    state: &Arc<Mutex<ElectionState>>,
    index: u32,
    bytes: Vec<u8>,
) -> Result<u64, ApiError> {
    let mut st = lock(state);
    let entry = Entry::decode(&bytes, Some(&st.params.shapes))
        .map_err(|e| ApiError::malformed(e.to_string()))?;
    let ctx = hanpyo_record::context::ceremony_context(&st.params.manifest_hash);
    let n = st.params.manifest.trustees as usize;
    let c = &st.ceremony;
    let slot = (index - 1) as usize;
    let not_yours = || {
        ApiError::new(
            403,
            "not-your-entry",
            "a trustee may only post its own entries",
        )
    };
    let order = |what: &str| wrong_phase(what);
    let ceremony = st.phase == Phase::Ceremony;
    match &entry {
        Entry::TrusteeRegistration {
            index: i,
            key,
            proof,
        } => {
            if *i != index {
                return Err(not_yours());
            }
            if !ceremony || c.registrations[slot].is_some() || c.digests.iter().any(Option::is_some)
            {
                return Err(order("registrations come first, once per trustee"));
            }
            proof
                .verify(
                    hanpyo_crypto::proofs::labels::TRUSTEE_KEY,
                    &ctx.at(index, hanpyo_crypto::transcript::NO_POSITION),
                    key.element(),
                    &[],
                )
                .map_err(|_| ApiError::bad_proof())?;
        }
        Entry::Ceremony(m, signature) => {
            if m.sender() != index {
                return Err(not_yours());
            }
            if !ceremony {
                return Err(order("the key ceremony is over"));
            }
            // Signed by the trustee's own registered key: nobody posts in a trustee's name.
            let key = c.registrations[slot].ok_or_else(|| order("register first"))?;
            m.verify_signature(&ctx, &key, signature)
                .map_err(|_| ApiError::bad_proof())?;
            let committed = |d: u32| c.commitments.iter().any(|y| y.dealer == d);
            match m.as_ref() {
                CeremonyMessage::Digest { .. } => {
                    if c.registrations.iter().any(Option::is_none)
                        || c.digests[slot].is_some()
                        || !c.commitments.is_empty()
                        || c.digests_closed
                    {
                        return Err(order(
                            "digests follow every registration, once per trustee, before the round is closed",
                        ));
                    }
                }
                CeremonyMessage::Commitment(x) => {
                    // Reveal once every digest is public, or once the administrator closed the round
                    // (then a dealer without a digest is left out); never without one's own digest.
                    let round_over = c.digests.iter().all(Option::is_some)
                        || c.digests_closed
                        || !c.commitments.is_empty();
                    if !round_over || c.digests[slot].is_none() || committed(index) {
                        return Err(order(
                            "commitments are revealed after every digest, once per trustee",
                        ));
                    }
                    if c.digests[slot] != Some(x.digest(&ctx)) {
                        return Err(ApiError::new(
                            422,
                            "digest-mismatch",
                            "the commitment does not match the published digest",
                        ));
                    }
                    let params = st
                        .params
                        .manifest
                        .threshold_params()
                        .map_err(|_| ApiError::internal())?;
                    x.verify(&ctx, &params).map_err(|_| ApiError::bad_proof())?;
                }
                CeremonyMessage::Share(x) => {
                    // As soon as the dealer's own commitments are public: a dealer that never
                    // reveals holds nobody up (it is left out of QUAL).
                    if !committed(index) {
                        return Err(order(
                            "a dealer sends shares after revealing its commitments",
                        ));
                    }
                    if x.recipient == index
                        || x.recipient as usize > n
                        || c.shares
                            .iter()
                            .any(|y| y.dealer == index && y.recipient == x.recipient)
                    {
                        return Err(ApiError::malformed("one share per other trustee"));
                    }
                }
                CeremonyMessage::Complaint(x) => {
                    // As soon as the accuser holds the disputed share: complaints never wait for
                    // a dealer that withholds a share from someone else.
                    if !c
                        .shares
                        .iter()
                        .any(|y| y.dealer == x.accused && y.recipient == index)
                        || c.complaints
                            .iter()
                            .any(|y| y.accuser == index && y.accused == x.accused)
                    {
                        return Err(order(
                            "a complaint follows the disputed share, once per dealer",
                        ));
                    }
                }
                CeremonyMessage::Confirmation { dealers, .. } => {
                    let has_share = |d: u32| {
                        d == index
                            || c.shares
                                .iter()
                                .any(|y| y.dealer == d && y.recipient == index)
                    };
                    let complained = |d: u32| {
                        c.complaints
                            .iter()
                            .any(|y| y.accuser == index && y.accused == d)
                    };
                    if dealers
                        .iter()
                        .any(|&d| !committed(d) || !has_share(d) || complained(d))
                    {
                        return Err(ApiError::malformed(
                            "a trustee confirms only dealers whose commitments and share to it are public and that it did not accuse",
                        ));
                    }
                    // Each confirmation covers strictly more than the trustee's previous one.
                    if c.confirmations.iter().any(|(t, earlier)| {
                        *t == index
                            && !(earlier.len() < dealers.len()
                                && earlier.iter().all(|d| dealers.contains(d)))
                    }) {
                        return Err(order("a new confirmation must add dealers"));
                    }
                }
            }
        }
        Entry::PartialDecryption { trustee, shares } => {
            if *trustee != index {
                return Err(not_yours());
            }
            if st.phase != Phase::Tallied || c.partials.iter().any(|p| p.0 == index) {
                return Err(order(
                    "partial decryptions follow the tally, once per trustee",
                ));
            }
            let (Some(ectx), Some(y), Some((_, tally))) = (
                &st.params.ctx,
                st.params.verification_keys.get(slot),
                &c.tally,
            ) else {
                return Err(ApiError::internal());
            };
            let mut batch = hanpyo_crypto::batch::BatchVerifier::new();
            for (q, (row, cts)) in shares.iter().zip(tally).enumerate() {
                for (j, ((d, proof), ct)) in row.iter().zip(cts).enumerate() {
                    hanpyo_crypto::threshold::PartialDecryption {
                        trustee: index,
                        share: *d,
                        proof: *proof,
                    }
                    .queue(&ectx.at(q as u32, j as u32), y, ct, &mut batch);
                }
            }
            if !batch.verify() {
                return Err(ApiError::new(
                    422,
                    "bad-share",
                    format!("trustee {index}'s decryption share does not verify"),
                ));
            }
        }
        Entry::Shuffle(part) | Entry::BallotDecryption(part) => {
            if part.trustee != index {
                return Err(not_yours());
            }
            return mix_part(ledger, state, st, entry.kind(), part, bytes);
        }
        _ => return Err(ApiError::malformed("not a trustee entry")),
    }
    commit_entries(ledger, &mut st, vec![bytes])
}

/// A part of a trustee's shuffle or decryption of the mixed rows: held until its last part, then
/// the whole is checked against the mix so far and all its parts are committed together. The
/// check (seconds for a large election) runs without holding the election's state, so the
/// requests that read that state (the election, progress, turnout) go on meanwhile; reads of the
/// log itself wait for this thread as for any commit. The mix cannot move on during the check
/// (this thread is its only writer), and is checked not to have before the commit.
fn mix_part(
    ledger: &mut Ledger,
    state: &Arc<Mutex<ElectionState>>,
    mut st: std::sync::MutexGuard<'_, ElectionState>,
    kind: Kind,
    part: &hanpyo_record::mixing::Part,
    bytes: Vec<u8>,
) -> Result<u64, ApiError> {
    if st.phase != Phase::Tallied || st.ceremony.mix.is_none() {
        return Err(wrong_phase(
            "shuffles and the mixed rows' decryption follow the tally of an election with ranked questions, before the result",
        ));
    }
    let (Some(ctx), Some(pk), Ok(params)) = (
        st.params.ctx,
        st.params.joint_key,
        st.params.manifest.threshold_params(),
    ) else {
        return Err(ApiError::internal());
    };
    let ys = st.params.verification_keys.clone();
    let y = |j: u32| ys.get((j as usize).wrapping_sub(1)).copied();
    let keys = hanpyo_record::mixing::MixKeys {
        ctx: &ctx,
        pk: &pk,
        verification_key: &y,
        threshold: params.threshold,
    };
    let Some(mix) = &st.ceremony.mix else {
        return Err(ApiError::internal());
    };
    // Whether this trustee may send this payload now, and how many parts its length makes,
    // before anything is held: a trustee token cannot make the server hold more than that.
    let y_j = mix
        .may_send(kind, part.trustee, &keys)
        .map_err(|why| ApiError::new(409, "wrong-phase", why))?;
    let due = mix.parts_due(kind).unwrap_or(0);
    if part.parts != due {
        return Err(ApiError::malformed(format!(
            "this payload has {due} part(s), not {}",
            part.parts
        )));
    }
    let snapshot = mix.snapshot(part.trustee, y_j);
    let hanpyo_record::mixing::Staged { payload, entries } =
        match st.ceremony.staged.push(kind, part, bytes) {
            Ok(Some(complete)) => complete,
            // Held, not yet on the log: the size is unchanged.
            Ok(None) => return Ok(ledger.size()),
            Err(why) => return Err(ApiError::new(409, "part-out-of-order", why)),
        };
    drop(st);
    let checked = snapshot
        .verify(kind, &payload, &keys)
        .map_err(|why| ApiError::new(422, "bad-mix", why))?;
    let mut st = lock(state);
    let Some(mix) = st.ceremony.mix.as_mut().filter(|m| snapshot.is_current(m)) else {
        return Err(wrong_phase(
            "the mix moved on while this payload was checked",
        ));
    };
    // The checked payload is applied as it is: decoding it again from its entries (as a
    // restart's replay does) would redo every point decompression under the state's lock.
    let c = ledger.append_batch(&entries).map_err(|e| {
        tracing::error!(error = %e, "commit failed");
        ApiError::internal()
    })?;
    mix.apply(checked);
    Ok(c.size)
}

/// Each ranked question's outcome from the mixed rows' decryption (`None` for other kinds),
/// after checking that the rankings add up to the decrypted tally.
fn ranked_outcomes(
    st: &mut ElectionState,
    params: &hanpyo_crypto::threshold::ThresholdParams,
    counts: &[Vec<u64>],
) -> Result<Vec<Option<hanpyo_record::decision::Outcome>>, ApiError> {
    let Some(mix) = &st.ceremony.mix else {
        return Ok(vec![None; counts.len()]);
    };
    let counted = mix
        .counted(&st.params.manifest, params)
        .map_err(|why| ApiError::new(409, "shares-missing", why))?;
    for (q, matrix) in counted.matrices.iter().enumerate() {
        if matrix.as_ref().is_some_and(|m| Some(m) != counts.get(q)) {
            tracing::error!(
                question = q,
                "the mixed rankings do not add up to the tally"
            );
            return Err(ApiError::internal());
        }
    }
    let outcomes = counted.outcomes();
    // Kept for the result entry's commit, which would otherwise count again.
    st.ceremony.counted = Some(counted.counts);
    Ok(outcomes)
}

fn tally_entries(
    ledger: &Ledger,
    st: &ElectionState,
    demo: &Demo,
) -> Result<Vec<Vec<u8>>, ApiError> {
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
    let key_of = |share: &KeyShare| {
        p.verification_keys
            .get((share.index() as usize).wrapping_sub(1))
            .ok_or_else(ApiError::internal)
    };
    for share in present {
        let y = key_of(share)?;
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
    let maxima = st.params.manifest.cell_maxima(counted);
    let counts =
        combine_result(&params, &tally, &refs, &maxima).map_err(|_| ApiError::internal())?;
    // Ranked questions: the present trustees shuffle in turn, then decrypt the mixed rows.
    let rows = Rows::of(&st.params.manifest);
    let mut ranked = vec![None; counts.len()];
    if rows.any() {
        let initial = st
            .counted_rows(ledger, &rows)
            .map_err(|_| ApiError::internal())?;
        let mut mix = Mix::new(rows, initial, leaf_hash(&out[0]));
        let pk = p.joint_key.as_ref().ok_or_else(ApiError::internal)?;
        let trustees = present
            .iter()
            .map(|share| Ok((share, *key_of(share)?)))
            .collect::<Result<Vec<_>, ApiError>>()?;
        let entries = mix
            .play_trustees(ctx, pk, &trustees, &mut rng)
            .map_err(|_| ApiError::internal())?;
        let counted = mix
            .counted(&st.params.manifest, &params)
            .map_err(|_| ApiError::internal())?;
        ranked = counted.outcomes();
        out.extend(entries.iter().map(Entry::encode));
    }
    out.push(
        Entry::result(
            &st.params.manifest,
            present.iter().map(KeyShare::index).collect(),
            counts,
            st.result_turnout(counted),
            &ranked,
        )
        .encode(),
    );
    Ok(out)
}
