//! Wakes an election's sequencer thread when another node changed its log or its `pending` table
//! (PostgreSQL `LISTEN`/`NOTIFY`), so that idle elections do not poll the database.
//!
//! One connection per node and database listens on two channels: the ledger's
//! ([`hanpyo_ledger::store::postgres::NOTIFY_CHANNEL`], payload: the log's origin), sent by every
//! committed write of a log, and [`PENDING_CHANNEL`] (payload: the election's schema), sent when a
//! node forwards writes to the sequencer and when the sequencer answers them. Each notification
//! wakes the sequencer threads registered under its payload. While the listening connection is
//! down (the database restarting or failing over) [`Wakeups::listening`] is false and the threads,
//! woken once when it is lost, poll as they did without it; when it is back, every thread is woken
//! once more for what it missed.
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

use crate::sequencer::Waker;

/// The channel on which the `pending` table's changes are announced (payload: the schema).
pub const PENDING_CHANNEL: &str = "hanpyo_pending";

/// How long the listening thread waits for a notification before it looks whether it is still
/// wanted.
const TURN: Duration = Duration::from_secs(1);

/// The node's listener for one database; cheap to clone.
#[derive(Clone)]
pub struct Wakeups {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Wakeups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wakeups")
            .field("listening", &self.listening())
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Inner {
    /// Who is woken by a notification, by payload.
    wakers: Mutex<HashMap<String, Vec<Waker>>>,
    listening: AtomicBool,
}

impl Inner {
    /// Notifications stop: every thread is woken to poll until they are back.
    fn stop_listening(&self) {
        self.listening.store(false, Ordering::Release);
        self.wake(None);
    }

    fn wake(&self, key: Option<&str>) {
        let mut wakers = self.wakers.lock().unwrap_or_else(PoisonError::into_inner);
        match key {
            Some(key) => {
                if let Some(ws) = wakers.get_mut(key) {
                    ws.retain(Waker::wake);
                }
            }
            None => wakers.retain(|_, ws| {
                ws.retain(Waker::wake);
                !ws.is_empty()
            }),
        }
    }
}

impl Wakeups {
    /// Starts listening on the database at `url`, on a thread of its own that connects again
    /// whenever its connection is lost and ends once every clone of this handle is dropped.
    pub fn start(url: &str) -> Self {
        let inner = Arc::new(Inner::default());
        let weak = Arc::downgrade(&inner);
        let url = url.to_string();
        std::thread::Builder::new()
            .name("hanpyo-listen".into())
            .spawn(move || listen(&url, &weak))
            .ok();
        Self { inner }
    }

    /// Wakes `waker` whenever a notification with payload `key` arrives (and once now, for what
    /// was notified before it was registered).
    pub fn register(&self, key: String, waker: Waker) {
        waker.wake();
        self.inner
            .wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_default()
            .push(waker);
    }

    /// Whether notifications are arriving (else a sequencer must poll).
    pub fn listening(&self) -> bool {
        self.inner.listening.load(Ordering::Acquire)
    }
}

fn listen(url: &str, inner: &Weak<Inner>) {
    let mut failures = 0u32;
    loop {
        if inner.strong_count() == 0 {
            return;
        }
        let mut client = match hanpyo_ledger::store::postgres::connect(url).and_then(|mut c| {
            c.batch_execute(&format!(
                "LISTEN {}; LISTEN {PENDING_CHANNEL}",
                hanpyo_ledger::store::postgres::NOTIFY_CHANNEL
            ))?;
            Ok(c)
        }) {
            Ok(c) => c,
            Err(e) => {
                failures += 1;
                if failures == 1 || failures.is_multiple_of(60) {
                    tracing::warn!(error = %e, "listening for the database's notifications");
                }
                std::thread::sleep(TURN);
                continue;
            }
        };
        failures = 0;
        if let Some(inner) = inner.upgrade() {
            inner.listening.store(true, Ordering::Release);
            // Whatever was notified while nobody listened.
            inner.wake(None);
        }
        'connected: loop {
            {
                let mut notifications = client.notifications();
                let mut batch = notifications.timeout_iter(TURN);
                loop {
                    let next = batch.next();
                    let Some(inner) = inner.upgrade() else {
                        return;
                    };
                    match next {
                        Ok(Some(n)) => inner.wake(Some(n.payload())),
                        Ok(None) => break,
                        Err(e) => {
                            inner.stop_listening();
                            tracing::warn!(error = %e, "listening for the database's notifications: connecting again");
                            break 'connected;
                        }
                    }
                }
            }
            if client.is_closed() {
                if let Some(inner) = inner.upgrade() {
                    inner.stop_listening();
                }
                break;
            }
        }
    }
}
