//! The election record as the files `hanpyo verify` reads, for download.
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::oneshot;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::board::framed;
use crate::error::{ApiError, ErrorBody};

/// Which checkpoint to serve the record at.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct RecordAt {
    /// The checkpoint size to serve the record at (default: the latest checkpoint).
    size: Option<u64>,
}

/// The record's files (docs/record-format.md).
#[derive(Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(rename_all = "lowercase")]
pub(super) enum RecordFile {
    /// Every entry, framed by its length.
    Entries,
    /// The checkpoint the record is served at.
    Checkpoint,
    /// The earlier checkpoints, framed by their length.
    Checkpoints,
}

impl RecordFile {
    fn named(name: &str) -> Option<Self> {
        match name {
            "entries" => Some(Self::Entries),
            "checkpoint" => Some(Self::Checkpoint),
            "checkpoints" => Some(Self::Checkpoints),
            _ => None,
        }
    }
}

/// Record downloads served at once; more wait for nobody: they get `busy`.
pub const MAX_DOWNLOADS: usize = 8;

/// Entries per streamed chunk of a record download.
const DOWNLOAD_CHUNK: u64 = 1000;

/// The record as files `hanpyo verify` reads: `entries`, `checkpoint`, `checkpoints`, at the latest
/// checkpoint or `?size=N` (so the three files agree however many ballots arrive meanwhile). Read
/// through their own read-only connection, never on the sequencer, and `entries` is streamed a
/// chunk at a time: a download of any size holds a bounded amount of memory, and at most
/// [`MAX_DOWNLOADS`] run at once.
#[utoipa::path(
    get,
    path = "/api/v1/record/{file}",
    tag = "board",
    params(("file" = inline(RecordFile), Path, description = "Which file"), RecordAt),
    responses(
        (status = 200, description = "The file", body = inline(crate::openapi::Binary), content_type = "application/octet-stream"),
        (status = 404, description = "`not-found`: no such file, no checkpoint yet or none of that size", body = ErrorBody),
        (status = 503, description = "`busy`: too many downloads at once", body = ErrorBody),
    )
)]
pub(super) async fn record_file(
    State(s): State<AppState>,
    Path(file): Path<String>,
    Query(at): Query<RecordAt>,
) -> Result<Response, ApiError> {
    let file = RecordFile::named(&file).ok_or_else(|| {
        ApiError::not_found("unknown record file (entries, checkpoint, checkpoints)")
    })?;
    let permit = s
        .downloads
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::busy())?;
    let place = s.ledger.clone();
    let open = move || -> Result<(hanpyo_ledger::store::LedgerReader, u64), ApiError> {
        let reader = place.reader().map_err(|e| {
            tracing::error!(error = %e, "opening the ledger for reading");
            ApiError::internal()
        })?;
        let latest = reader
            .latest_checkpoint()
            .map_err(|_| ApiError::internal())?
            .ok_or_else(|| ApiError::not_found("no checkpoint yet"))?;
        let latest = hanpyo_ledger::checkpoint::SignedNote::parse(&latest)
            .and_then(|n| hanpyo_ledger::checkpoint::Checkpoint::parse_body(&n.body))
            .map_err(|_| ApiError::internal())?
            .size;
        let size = at.size.unwrap_or(latest);
        if at.size.is_some() {
            reader
                .checkpoint_at(size)
                .map_err(|_| ApiError::not_found("no checkpoint of that size"))?;
        }
        Ok((reader, size))
    };
    if file == RecordFile::Entries {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
        let (first_tx, first_rx) = oneshot::channel();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let (reader, size) = match open() {
                Ok(x) => {
                    let _ = first_tx.send(Ok(()));
                    x
                }
                Err(e) => {
                    let _ = first_tx.send(Err(e));
                    return;
                }
            };
            let mut start = 0;
            while start < size {
                let end = (start + DOWNLOAD_CHUNK).min(size);
                let chunk = reader
                    .entries(start, end)
                    .map(|e| Bytes::from(framed(e)))
                    .map_err(std::io::Error::other);
                let failed = chunk.is_err();
                // A client that went away (or a read error) ends the download.
                if tx.blocking_send(chunk).is_err() || failed {
                    return;
                }
                start = end;
            }
        });
        first_rx.await.map_err(|_| ApiError::internal())??;
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        });
        return Ok((
            [(header::CONTENT_TYPE, "application/octet-stream")],
            axum::body::Body::from_stream(stream),
        )
            .into_response());
    }
    let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ApiError> {
        let _permit = permit;
        let (reader, size) = open()?;
        let err = |_| ApiError::internal();
        if file == RecordFile::Checkpoint {
            return Ok(reader.checkpoint_at(size).map_err(err)?.into_bytes());
        }
        let mut out = Vec::new();
        for earlier in reader
            .checkpoint_sizes()
            .map_err(err)?
            .into_iter()
            .filter(|&n| n < size)
        {
            let n = reader.checkpoint_at(earlier).map_err(err)?;
            out.extend_from_slice(&(n.len() as u32).to_be_bytes());
            out.extend_from_slice(n.as_bytes());
        }
        Ok(out)
    })
    .await
    .map_err(|_| ApiError::internal())??;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}
