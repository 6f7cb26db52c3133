//! The trustees: their entries (key ceremony, partial decryptions) and everyone's view of their
//! progress.
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Serialize;
use tokio::sync::oneshot;
use utoipa::ToSchema;

use super::{AppState, bearer, identity, lock, unscoped};
use crate::election::Phase;
use crate::error::{ApiError, ErrorBody};
use crate::sequencer::Request;

/// The ledger's size once an entry is recorded.
#[derive(Serialize, ToSchema)]
pub(super) struct Recorded {
    ledger_size: u64,
}

/// Post one of the authenticated trustee's own entries: a ceremony message or a partial
/// decryption, encoded as in docs/record-format.md.
#[utoipa::path(
    post,
    path = "/api/v1/trustee/entries",
    tag = "trustees",
    security(("trustee" = [])),
    request_body(content = inline(crate::openapi::Binary), content_type = "application/octet-stream", description = "One encoded entry"),
    responses(
        (status = 200, description = "Recorded", body = Recorded),
        (status = 400, description = "`malformed`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`not-your-entry`", body = ErrorBody),
        (status = 409, description = "`wrong-phase`", body = ErrorBody),
        (status = 422, description = "`digest-mismatch`, `bad-proof`, `bad-share`", body = ErrorBody),
        (status = 503, description = "`busy`", body = ErrorBody),
    )
)]
pub(super) async fn trustee_post(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Recorded>, ApiError> {
    let index = identity(&s).trustee(unscoped(&s, bearer(&headers))?)?;
    let (tx, rx) = oneshot::channel();
    s.sequencer
        .submit(Request::Trustee(index, body.to_vec(), tx))?;
    let ledger_size = rx.await.map_err(|_| ApiError::internal())??;
    Ok(Json(Recorded { ledger_size }))
}

/// One trustee's progress.
#[derive(Serialize, ToSchema)]
pub(super) struct TrusteeProgress {
    trustee: u32,
    registered: bool,
    /// Its commitment digest is on the ledger.
    digest: bool,
    /// Its commitment is on the ledger.
    commitment: bool,
    shares_sent: usize,
    complaints_filed: usize,
    /// The dealers whose shares it confirmed checking (its latest confirmation).
    confirmed: Option<Vec<u32>>,
    partial_decryption: bool,
}

/// The ceremony's and the tally's progress.
#[derive(Serialize, ToSchema)]
pub(super) struct Progress {
    phase: Phase,
    threshold: u32,
    /// Trustees may reveal without waiting for the missing digests (the administrator closed
    /// the round; a dealer without a digest is left out).
    digests_closed: bool,
    trustees: Vec<TrusteeProgress>,
}

/// The key ceremony's and the decryption's progress per trustee.
#[utoipa::path(
    get,
    path = "/api/v1/progress",
    tag = "trustees",
    responses((status = 200, description = "The progress", body = Progress))
)]
pub(super) async fn progress(State(s): State<AppState>) -> Json<Progress> {
    let st = lock(&s);
    let c = &st.ceremony;
    let n = st.params.manifest.trustees;
    let trustees = (1..=n)
        .map(|i| {
            let slot = (i - 1) as usize;
            TrusteeProgress {
                trustee: i,
                registered: c.registrations[slot].is_some(),
                digest: c.digests[slot].is_some(),
                commitment: c.commitments.iter().any(|x| x.dealer == i),
                shares_sent: c.shares.iter().filter(|x| x.dealer == i).count(),
                complaints_filed: c.complaints.iter().filter(|x| x.accuser == i).count(),
                confirmed: c
                    .confirmations
                    .iter()
                    .rev()
                    .find(|x| x.0 == i)
                    .map(|x| x.1.clone()),
                partial_decryption: c.partials.iter().any(|p| p.0 == i),
            }
        })
        .collect();
    Json(Progress {
        phase: st.phase,
        threshold: st.params.manifest.threshold,
        digests_closed: c.digests_closed || !c.commitments.is_empty(),
        trustees,
    })
}
