//! The log's static read interface, C2SP tlog-tiles: `GET /checkpoint` and `GET /tile/<L>/<N>[.p/<W>]`,
//! `GET /tile/entries/<N>[.p/<W>]` (docs/ledger.md, *Tiles*). Every tile is immutable once it
//! exists (a partial tile of width `W` never changes either), so tiles are served with a year-long
//! `immutable` cache lifetime and can be copied to any static server or CDN; only `/checkpoint`
//! changes. Read through a read-only database connection, never the sequencer.
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::api::AppState;
use crate::error::ApiError;

/// How long a tile may be cached: tiles never change.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn reader(s: &AppState) -> Result<hanpyo_ledger::store::LedgerReader, ApiError> {
    s.ledger.reader().map_err(|e| {
        tracing::error!(error = %e, "opening the ledger for reading");
        ApiError::internal()
    })
}

/// `GET /checkpoint`: the latest signed checkpoint, with its cosignatures.
pub(crate) async fn checkpoint(State(s): State<AppState>) -> Result<Response, ApiError> {
    let note = tokio::task::spawn_blocking(move || {
        reader(&s)?
            .latest_checkpoint()
            .map_err(|_| ApiError::internal())?
            .ok_or_else(|| ApiError::not_found("no checkpoint yet"))
    })
    .await
    .map_err(|_| ApiError::internal())??;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        note,
    )
        .into_response())
}

/// `GET /tile/...`: a hash tile or an entry bundle.
pub(crate) async fn tile(
    State(s): State<AppState>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found("no such tile");
    // An entry bundle's path is a level-0 tile path with `entries` for the level.
    let (entries, parsed) = match path.strip_prefix("entries/") {
        Some(rest) => (
            true,
            hanpyo_ledger::tiles::parse_tile_path(&format!("tile/0/{rest}")),
        ),
        None => (
            false,
            hanpyo_ledger::tiles::parse_tile_path(&format!("tile/{path}")),
        ),
    };
    let (level, index, width) = parsed.ok_or_else(not_found)?;
    let bytes = tokio::task::spawn_blocking(move || {
        let r = reader(&s)?;
        if entries {
            r.entry_bundle(index, width)
        } else {
            r.tile(level, index, width)
        }
        .map_err(|_| not_found())
    })
    .await
    .map_err(|_| ApiError::internal())??;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, IMMUTABLE),
        ],
        bytes,
    )
        .into_response())
}
