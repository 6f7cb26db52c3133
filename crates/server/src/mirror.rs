//! A mirror's copy of a log, served as the server serves its own (`hanpyo mirror --listen`): the
//! same public board (`/api/v1/board/…`, answered by the same functions from the mirror's copy and
//! the election state replayed from it), the elections' public description, the record files
//! `hanpyo download` and `hanpyo verify` read, the C2SP tiles, the public pages (so the check page
//! can be opened at a mirror) and `/metrics`. Nothing here can write: a mirror takes entries only
//! from the log it follows, each step checked against the log's signed checkpoint.
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hanpyo_ledger::checkpoint::NoteVerifier;
use hanpyo_ledger::mirror::{Mirror, MirrorError};
use hanpyo_ledger::tiles::parse_tile_path;

use crate::api::board::{self, Range, Search, Sizes};
use crate::api::elections::{ElectionListed, ElectionOut};
use crate::election::ElectionState;
use crate::error::ApiError;

/// The mirror's metrics (served at its `/metrics`):
///
/// | metric | kind | what |
/// |---|---|---|
/// | `hanpyo_mirror_entries` | gauge | entries held (the size of the mirror's checkpoint) |
/// | `hanpyo_mirror_verified_entries` | gauge | entries the verifier has checked |
/// | `hanpyo_mirror_alerts_total` | counter | alerts: a refused checkpoint, an unreadable log, a failed check |
/// | `hanpyo_mirror_last_look_timestamp_seconds` | gauge | when the mirror last read the log successfully |
pub mod metrics {
    /// Notes a step: entries held and checked.
    pub fn progress(held: u64, verified: u64) {
        crate::metrics::install();
        metrics::gauge!("hanpyo_mirror_entries").set(held as f64);
        metrics::gauge!("hanpyo_mirror_verified_entries").set(verified as f64);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        metrics::gauge!("hanpyo_mirror_last_look_timestamp_seconds").set(now);
        // Shown (at 0) before the first alert.
        metrics::counter!("hanpyo_mirror_alerts_total").increment(0);
    }

    /// Notes an alert.
    pub fn alert() {
        crate::metrics::install();
        metrics::counter!("hanpyo_mirror_alerts_total").increment(1);
    }
}

/// A mirror and the election state replayed from its entries.
#[derive(Debug)]
pub struct MirrorBoard {
    mirror: Mutex<Mirror>,
    /// `None` until the manifest (entry 0) is held.
    election: Mutex<Option<ElectionState>>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl MirrorBoard {
    /// Opens the mirror in `dir` and replays what it holds.
    pub fn open(dir: &FsPath) -> Result<Self, MirrorError> {
        let mirror = Mirror::open(dir)?;
        let mut election = None;
        let size = mirror.size();
        let mut start = 0;
        while start < size {
            let end = (start + 1000).min(size);
            let entries = mirror.entries(start, end)?;
            replay(&mirror, &mut election, start, &entries);
            start = end;
        }
        Ok(Self {
            mirror: Mutex::new(mirror),
            election: Mutex::new(election),
        })
    }

    /// Entries held.
    pub fn size(&self) -> u64 {
        locked(&self.mirror).size()
    }

    /// The mirror's directory.
    pub fn dir(&self) -> PathBuf {
        locked(&self.mirror).dir().to_path_buf()
    }

    /// Reads the mirror (blocking: not on the async runtime).
    pub fn with<T>(&self, f: impl FnOnce(&Mirror) -> T) -> T {
        f(&locked(&self.mirror))
    }

    /// [`Mirror::advance`], then the new entries replayed into the election state.
    pub fn advance(
        &self,
        earlier: &[String],
        note: &str,
        log: &NoteVerifier,
        new_entries: &[Vec<u8>],
    ) -> Result<(), MirrorError> {
        let mut mirror = locked(&self.mirror);
        let first = mirror.size();
        mirror.advance(earlier, note, log, new_entries)?;
        replay(&mirror, &mut locked(&self.election), first, new_entries);
        Ok(())
    }
}

/// Takes entries `first..` into the election state, as the server took them when it committed
/// them. An entry the server would not have committed is the verifier's to report (an alert); the
/// board goes on with the rest.
fn replay(mirror: &Mirror, election: &mut Option<ElectionState>, first: u64, entries: &[Vec<u8>]) {
    for (i, bytes) in entries.iter().enumerate() {
        let index = first + i as u64;
        let outcome = match election {
            None if index == 0 => ElectionState::new(bytes.clone()).map(|st| {
                *election = Some(st);
            }),
            None => Err("the log does not start with a manifest".into()),
            Some(st) => st.replay(mirror, index, bytes),
        };
        if let Err(why) = outcome {
            tracing::warn!(index, %why, "an entry the board cannot take into the election state");
        }
    }
}

type Shared = Arc<MirrorBoard>;

/// Runs a read of the mirror off the async runtime.
async fn read<T: Send + 'static>(
    board: Shared,
    f: impl FnOnce(&Mirror, Option<&ElectionState>) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(move || {
        let mirror = locked(&board.mirror);
        let election = locked(&board.election);
        f(&mirror, election.as_ref())
    })
    .await
    .map_err(|_| ApiError::internal())?
}

fn no_election() -> ApiError {
    ApiError::new(503, "no-election", "this mirror holds no election yet")
}

/// The mirror's routes (see the module's description), with the server's limits and headers.
pub fn router(board: Shared) -> Router {
    let router = Router::new()
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile))
        .route("/api/v1/board/checkpoint", get(checkpoint))
        .route("/api/v1/board/entries", get(entries))
        .route("/api/v1/board/receipts/{hash}", get(receipt))
        .route("/api/v1/board/status/{hash}", get(status))
        .route("/api/v1/board/search", get(search))
        .route("/api/v1/board/consistency", get(consistency))
        .route("/api/v1/elections", get(elections))
        .route("/api/v1/elections/{id}", get(election))
        .route("/api/v1/record/{file}", get(record_file))
        .route("/metrics", get(metrics))
        .fallback(get(crate::web::asset));
    crate::api::with_limits(router).with_state(board)
}

async fn checkpoint(State(b): State<Shared>) -> Result<Response, ApiError> {
    read(b, |m, _| board::checkpoint_of(m)).await
}

async fn entries(State(b): State<Shared>, Query(r): Query<Range>) -> Result<Response, ApiError> {
    read(b, move |m, _| board::entries_of(m, &r)).await
}

async fn receipt(State(b): State<Shared>, Path(hash): Path<String>) -> Result<Response, ApiError> {
    let h = board::tracking_hash(&hash)?;
    read(b, move |m, _| board::receipt_of(m, &h)).await
}

async fn status(
    State(b): State<Shared>,
    Path(hash): Path<String>,
) -> Result<Json<hanpyo_record::standing::StandingProof>, ApiError> {
    let h = board::tracking_hash(&hash)?;
    read(b, move |m, st| {
        board::standing_of(m, st.ok_or_else(no_election)?, &h)
    })
    .await
    .map(Json)
}

async fn search(
    State(b): State<Shared>,
    Query(q): Query<Search>,
) -> Result<Json<Vec<board::Found>>, ApiError> {
    let (lo, hi) = q.range()?;
    read(b, move |m, _| board::found_between(m, &lo, &hi))
        .await
        .map(Json)
}

async fn consistency(
    State(b): State<Shared>,
    Query(q): Query<Sizes>,
) -> Result<Json<Vec<String>>, ApiError> {
    read(b, move |m, _| board::consistency_of(m, &q))
        .await
        .map(Json)
}

async fn elections(State(b): State<Shared>) -> Result<Json<Vec<ElectionListed>>, ApiError> {
    read(b, |_, st| {
        Ok(st.map(ElectionListed::of).into_iter().collect())
    })
    .await
    .map(Json)
}

async fn election(
    State(b): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<ElectionOut>, ApiError> {
    read(b, move |_, st| {
        let st = st.ok_or_else(no_election)?;
        if st.params.manifest.election_id != id {
            return Err(ApiError::new(
                404,
                "unknown-election",
                format!("no election {id:?} here"),
            ));
        }
        Ok(ElectionOut::of(st))
    })
    .await
    .map(Json)
}

/// A hash tile or entry bundle from the mirror's tile tree (only well-formed tile paths, so
/// nothing outside it can be named).
async fn tile(State(b): State<Shared>, Path(path): Path<String>) -> Result<Response, ApiError> {
    let level0 = path.strip_prefix("entries/").map(|r| format!("tile/0/{r}"));
    if parse_tile_path(&level0.unwrap_or_else(|| format!("tile/{path}"))).is_none() {
        return Err(ApiError::not_found("no such tile"));
    }
    let file = b.dir().join("tile").join(&path);
    let bytes = read_file(file)
        .await
        .map_err(|_| ApiError::not_found("no such tile"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        bytes,
    )
        .into_response())
}

async fn read_file(path: PathBuf) -> std::io::Result<Vec<u8>> {
    tokio::task::spawn_blocking(move || std::fs::read(path))
        .await
        .map_err(std::io::Error::other)?
}

/// `?size=N`, as the server takes it.
#[derive(serde::Deserialize)]
struct RecordAt {
    size: Option<u64>,
}

/// The record files at the mirror's checkpoint (the only size it serves them at); `entries` is
/// streamed from the file, a megabyte at a time.
async fn record_file(
    State(b): State<Shared>,
    Path(file): Path<String>,
    Query(at): Query<RecordAt>,
) -> Result<Response, ApiError> {
    let (dir, size, entries_len, checkpoint) = b.with(|m| {
        (
            m.dir().to_path_buf(),
            m.size(),
            m.entries_len(),
            m.checkpoint().map(str::to_string),
        )
    });
    let checkpoint = checkpoint.ok_or_else(|| ApiError::not_found("no checkpoint yet"))?;
    if at.size.is_some_and(|s| s != size) {
        return Err(ApiError::not_found(
            "this mirror serves the record at its latest checkpoint only",
        ));
    }
    let octets = |body: axum::body::Body| {
        ([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response()
    };
    match file.as_str() {
        "checkpoint" => Ok(octets(checkpoint.into())),
        "checkpoints" => {
            let bytes = read_file(dir.join(hanpyo_ledger::export::CHECKPOINTS_FILE))
                .await
                .unwrap_or_default();
            Ok(octets(bytes.into()))
        }
        "entries" => {
            let path = dir.join(hanpyo_ledger::export::ENTRIES_FILE);
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
            tokio::task::spawn_blocking(move || {
                use std::io::Read;
                let mut f = match std::fs::File::open(&path) {
                    Ok(f) => f.take(entries_len),
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                };
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    match f.read(&mut buf) {
                        Ok(0) => return,
                        Ok(n) => {
                            if tx
                                .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
                                .is_err()
                            {
                                return;
                            }
                        }
                        Err(e) => {
                            let _ = tx.blocking_send(Err(e));
                            return;
                        }
                    }
                }
            });
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|chunk| (chunk, rx))
            });
            Ok(octets(axum::body::Body::from_stream(stream)))
        }
        _ => Err(ApiError::not_found(
            "unknown record file (entries, checkpoint, checkpoints)",
        )),
    }
}

/// The mirror's metrics (Prometheus text): a mirror's state is as public as its entries.
async fn metrics() -> Response {
    match crate::metrics::install() {
        Some(h) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            h.render(),
        )
            .into_response(),
        None => ApiError::internal().into_response(),
    }
}
