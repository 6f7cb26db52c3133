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

/// Post one of the authenticated trustee's own entries: a ceremony message, a partial
/// decryption, or a part of a shuffle or of the mixed rows' decryption, encoded as in
/// docs/record-format.md. A part before the last is held (the ledger size is unchanged); the last
/// part's payload is checked whole and all its parts are recorded together.
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
        (status = 409, description = "`wrong-phase`, `part-out-of-order`", body = ErrorBody),
        (status = 422, description = "`digest-mismatch`, `bad-proof`, `bad-share`, `bad-mix`", body = ErrorBody),
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
    /// Ranked questions: its shuffle of the ranked ballots is on the ledger.
    shuffled: bool,
    /// Ranked questions: its decryption of the mixed ranked ballots is on the ledger.
    decrypted_rows: bool,
}

/// The ceremony's and the tally's progress.
#[derive(Serialize, ToSchema)]
pub(super) struct Progress {
    phase: Phase,
    threshold: u32,
    /// Trustees may reveal without waiting for the missing digests (the administrator closed
    /// the round; a dealer without a digest is left out).
    digests_closed: bool,
    /// The election has ranked questions: after the tally, at least `threshold` trustees shuffle
    /// them and `threshold` decrypt the mixed ballots (docs/protocol.md §3.6).
    ranked: bool,
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
                shuffled: c.mix.as_ref().is_some_and(|m| m.shufflers.contains(&i)),
                decrypted_rows: c
                    .mix
                    .as_ref()
                    .is_some_and(|m| m.decryptions.iter().any(|(t, _)| *t == i)),
            }
        })
        .collect();
    Json(Progress {
        phase: st.phase,
        threshold: st.params.manifest.threshold,
        digests_closed: c.digests_closed || !c.commitments.is_empty(),
        ranked: hanpyo_record::mixing::Rows::of(&st.params.manifest).any(),
        trustees,
    })
}
