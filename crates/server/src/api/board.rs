//! The public board: the ledger's latest checkpoint, its entries, receipts, a ballot's standing,
//! consistency proofs and the tracking-code search. Anyone may read it.
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use hanpyo_ledger::merkle::Hash;
use hanpyo_ledger::receipt::Receipt;
use hanpyo_record::entry::{Kind, TrackingCode};
use hanpyo_record::standing::{LaterBallot, StandingProof};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use crate::election::ElectionState;
use crate::error::{ApiError, ErrorBody};
use crate::public_log::PublicLog;

/// The latest signed checkpoint, a C2SP signed note with the witnesses' cosignatures.
#[utoipa::path(
    get,
    path = "/api/v1/board/checkpoint",
    tag = "board",
    responses(
        (status = 200, description = "The checkpoint note (docs/ledger.md)", body = String, content_type = "text/plain"),
        (status = 404, description = "`not-found`: no checkpoint yet", body = ErrorBody),
        (status = 503, description = "`busy`", body = ErrorBody),
    )
)]
pub(super) async fn checkpoint(State(s): State<AppState>) -> Result<Response, ApiError> {
    s.sequencer.read(checkpoint_of).await?
}

/// The checkpoint answer from any copy of the log.
pub(crate) fn checkpoint_of<L: PublicLog + ?Sized>(log: &L) -> Result<Response, ApiError> {
    let note = log
        .latest_checkpoint()?
        .ok_or_else(|| ApiError::not_found("no checkpoint yet"))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

/// A range of entries.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Range {
    /// The first entry's index.
    start: u64,
    /// One past the last entry's index (at most the log's size).
    end: u64,
}

pub(super) fn framed(entries: Vec<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        out.extend_from_slice(&(e.len() as u32).to_be_bytes());
        out.extend_from_slice(&e);
    }
    out
}

/// Entries `start..end`, each framed by its length (4 bytes, big-endian), as in the record's
/// `entries` file.
#[utoipa::path(
    get,
    path = "/api/v1/board/entries",
    tag = "board",
    params(Range),
    responses(
        (status = 200, description = "The framed entries", body = inline(crate::openapi::Binary), content_type = "application/octet-stream"),
        (status = 404, description = "`not-found`: the range is not in the log", body = ErrorBody),
        (status = 503, description = "`busy`", body = ErrorBody),
    )
)]
pub(super) async fn entries(
    State(s): State<AppState>,
    Query(r): Query<Range>,
) -> Result<Response, ApiError> {
    s.sequencer.read(move |l| entries_of(l, &r)).await?
}

/// The entries answer from any copy of the log.
pub(crate) fn entries_of<L: PublicLog + ?Sized>(log: &L, r: &Range) -> Result<Response, ApiError> {
    let entries = log
        .entries(r.start, r.end)
        .map_err(|e| ApiError::not_found(e.to_string()))?;
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        framed(entries),
    )
        .into_response())
}

/// A tracking code in a path: exactly 64 hex digits.
pub(crate) fn tracking_hash(hex_code: &str) -> Result<Hash, ApiError> {
    hex::decode(hex_code)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| ApiError::malformed("a tracking code is 64 hex digits"))
}

/// A receipt for the entry with this leaf hash (its tracking code), against the latest checkpoint.
#[utoipa::path(
    get,
    path = "/api/v1/board/receipts/{hash}",
    tag = "board",
    params(("hash" = String, Path, description = "The tracking code: 64 hex digits", pattern = "^[0-9a-fA-F]{64}$")),
    responses(
        (status = 200, description = "The receipt", body = Receipt),
        (status = 400, description = "`malformed`", body = ErrorBody),
        (status = 404, description = "`not-found`", body = ErrorBody),
        (status = 503, description = "`busy`", body = ErrorBody),
    )
)]
pub(super) async fn receipt(
    State(s): State<AppState>,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    let h = tracking_hash(&hash)?;
    s.sequencer.read(move |l| receipt_of(l, &h)).await?
}

/// The receipt answer from any copy of the log.
pub(crate) fn receipt_of<L: PublicLog + ?Sized>(log: &L, h: &Hash) -> Result<Response, ApiError> {
    let r = log
        .receipt(h)
        .map_err(|_| ApiError::not_found("no entry with that tracking code"))?;
    Ok(Json(r).into_response())
}

/// A ballot's or audit's standing with its proof — a fresh receipt and the
/// entry, and, when the credential has a later ballot, that ballot and its receipt against the same
/// checkpoint (see `hanpyo_record::standing`). Clients check it; they do not take our word.
#[utoipa::path(
    get,
    path = "/api/v1/board/status/{hash}",
    tag = "board",
    params(("hash" = String, Path, description = "The tracking code: 64 hex digits", pattern = "^[0-9a-fA-F]{64}$")),
    responses(
        (status = 200, description = "The standing proof", body = StandingProof),
        (status = 400, description = "`malformed`", body = ErrorBody),
        (status = 404, description = "`not-found`", body = ErrorBody),
        (status = 503, description = "`busy`", body = ErrorBody),
    )
)]
pub(super) async fn status(
    State(s): State<AppState>,
    Path(hash): Path<String>,
) -> Result<Json<StandingProof>, ApiError> {
    let h = tracking_hash(&hash)?;
    let election = s.election.clone();
    s.sequencer
        .read(move |l| {
            let st = election.lock().unwrap_or_else(|e| e.into_inner());
            standing_of(l, &st, &h)
        })
        .await?
        .map(Json)
}

/// A ballot's or audit's standing with its proof, from any copy of the log and the election state
/// replayed from it.
pub(crate) fn standing_of<L: PublicLog + ?Sized>(
    log: &L,
    election: &ElectionState,
    h: &Hash,
) -> Result<StandingProof, ApiError> {
    let not_found = |_| ApiError::not_found("no entry with that tracking code");
    let receipt = log.receipt(h).map_err(not_found)?;
    let bytes = log.entry(receipt.index)?;
    let kind = Kind::of(&bytes).map_err(|_| ApiError::internal())?;
    if !matches!(kind, Kind::Ballot | Kind::AuditedBallot) {
        return Err(ApiError::not_found(
            "that entry is not a ballot or an audit",
        ));
    }
    // A ballot's body starts with its credential.
    let later = bytes
        .get(2..34)
        .filter(|_| kind == Kind::Ballot)
        .and_then(|credential| election.later_ballot(credential, receipt.index));
    let superseded_by = match later {
        Some(index) => {
            let entry = log.entry(index)?;
            let receipt = log.receipt(&hanpyo_ledger::merkle::leaf_hash(&entry))?;
            Some(LaterBallot {
                receipt,
                entry: hex::encode(entry),
            })
        }
        None => None,
    };
    Ok(StandingProof {
        receipt,
        entry: hex::encode(bytes),
        superseded_by,
    })
}

/// A tracking code to look for.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Search {
    /// The short form a voter copied (`XXXXX-XXXXX-XXXXX-XXXXX`, Crockford base 32: case, spaces
    /// and hyphens do not matter) or 64 hex digits.
    #[param(example = "3NB4Z-VQASC-1VP3S-KNQPN-JZ35W")]
    code: String,
}

/// An entry whose tracking code matches.
#[derive(Serialize, ToSchema)]
pub(crate) struct Found {
    index: u64,
    tracking_code: String,
    tracking_code_short: String,
    kind: Option<Kind>,
}

/// Entries whose tracking code is `code` (at most 10).
#[utoipa::path(
    get,
    path = "/api/v1/board/search",
    tag = "board",
    params(Search),
    responses(
        (status = 200, description = "The matching entries", body = Vec<Found>),
        (status = 400, description = "`malformed`", body = ErrorBody),
        (status = 503, description = "`busy`", body = ErrorBody),
    )
)]
pub(super) async fn search(
    State(s): State<AppState>,
    Query(q): Query<Search>,
) -> Result<Json<Vec<Found>>, ApiError> {
    let (lo, hi) = q.range()?;
    s.sequencer
        .read(move |l| found_between(l, &lo, &hi))
        .await?
        .map(Json)
}

impl Search {
    /// The tracking codes the code stands for: one (64 hex digits) or a range (a short code's
    /// 100 bits).
    pub(crate) fn range(&self) -> Result<(Hash, Hash), ApiError> {
        let code = self.code.trim();
        match hex::decode(code).ok().and_then(|v| Hash::try_from(v).ok()) {
            Some(h) => Ok((h, h)),
            None => TrackingCode::short_range(code).ok_or_else(|| {
                ApiError::malformed(
                    "a tracking code is 20 symbols (XXXXX-XXXXX-XXXXX-XXXXX) or 64 hex digits",
                )
            }),
        }
    }
}

/// The search answer from any copy of the log: entries whose tracking code lies in `[lo, hi]`.
pub(crate) fn found_between<L: PublicLog + ?Sized>(
    log: &L,
    lo: &Hash,
    hi: &Hash,
) -> Result<Vec<Found>, ApiError> {
    log.leaves_between(lo, hi, 10)?
        .into_iter()
        .map(|(h, index)| {
            let bytes = log.entry(index)?;
            let code = TrackingCode(h);
            Ok(Found {
                index,
                tracking_code: code.hex(),
                tracking_code_short: code.short(),
                kind: Kind::of(&bytes).ok(),
            })
        })
        .collect()
}

/// Two sizes of the log.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Sizes {
    /// The earlier size.
    old: u64,
    /// The later size (at most the log's size).
    new: u64,
}

/// A consistency proof (RFC 6962) from size `old` to size `new`, as hex hashes.
#[utoipa::path(
    get,
    path = "/api/v1/board/consistency",
    tag = "board",
    params(Sizes),
    responses(
        (status = 200, description = "The proof's hashes", body = Vec<String>),
        (status = 404, description = "`not-found`: a size the log does not have", body = ErrorBody),
        (status = 503, description = "`busy`", body = ErrorBody),
    )
)]
pub(super) async fn consistency(
    State(s): State<AppState>,
    Query(q): Query<Sizes>,
) -> Result<Json<Vec<String>>, ApiError> {
    s.sequencer
        .read(move |l| consistency_of(l, &q))
        .await?
        .map(Json)
}

/// The consistency answer from any copy of the log.
pub(crate) fn consistency_of<L: PublicLog + ?Sized>(
    log: &L,
    q: &Sizes,
) -> Result<Vec<String>, ApiError> {
    let p = log
        .consistency_proof(q.old, q.new)
        .map_err(|e| ApiError::not_found(e.to_string()))?;
    Ok(p.iter().map(hex::encode).collect())
}
