//! Ballot intake workers: concurrent submissions are verified together. Each worker takes every
//! ballot waiting when it becomes free (up to a batch), so a busy server verifies in random-weight
//! batches (cheaper per ballot) while a quiet one answers each ballot at once — no added delay.
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::election::{CheckedBallot, ElectionState, Parameters};
use crate::error::ApiError;

/// Most ballots verified in one batch.
const MAX_BATCH: usize = 64;

type Job = (
    Arc<Parameters>,
    Vec<u8>,
    oneshot::Sender<Result<CheckedBallot, ApiError>>,
);

/// Handle to the intake workers.
#[derive(Clone)]
pub struct Intake {
    tx: SyncSender<Job>,
}

impl Intake {
    /// Starts `workers` verification threads.
    pub fn start(workers: usize) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(crate::sequencer::QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..workers.max(1) {
            let rx = rx.clone();
            std::thread::spawn(move || work(&rx));
        }
        Self { tx }
    }

    /// Decodes and verifies a ballot (batched with whatever else is waiting).
    pub async fn check(
        &self,
        params: Arc<Parameters>,
        bytes: Vec<u8>,
    ) -> Result<CheckedBallot, ApiError> {
        let (tx, rx) = oneshot::channel();
        match self.tx.try_send((params, bytes, tx)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(ApiError::busy()),
            Err(TrySendError::Disconnected(_)) => return Err(ApiError::internal()),
        }
        rx.await.map_err(|_| ApiError::internal())?
    }
}

fn work(rx: &Mutex<Receiver<Job>>) {
    loop {
        let mut jobs = Vec::with_capacity(MAX_BATCH);
        {
            let rx = rx.lock().unwrap_or_else(|e| e.into_inner());
            match rx.recv() {
                Ok(j) => jobs.push(j),
                Err(_) => return,
            }
            while jobs.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
        }
        let (inputs, replies): (Vec<_>, Vec<_>) =
            jobs.into_iter().map(|(p, b, r)| ((p, b), r)).unzip();
        let refs: Vec<(&Parameters, Vec<u8>)> = inputs
            .iter()
            .map(|(p, b)| (p.as_ref(), b.clone()))
            .collect();
        let results = ElectionState::check_batch(refs);
        for (r, reply) in results.into_iter().zip(replies) {
            let _ = reply.send(r);
        }
    }
}
