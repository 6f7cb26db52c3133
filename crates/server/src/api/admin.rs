//! The administrator's actions on the election: each moves it one phase forward (or prepares the
//! next), is written to the audit log, and needs an administrator's session.
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Serialize;
use tokio::sync::oneshot;
use utoipa::ToSchema;

use super::elections::{TextOut, text};
use super::{AppState, audit, authorize, identity, lock, scoped};
use crate::election::Phase;
use crate::error::{ApiError, ErrorBody};
use crate::sequencer::{AdminAction, Request};

/// Where the election is after an action.
#[derive(Serialize, ToSchema)]
pub(super) struct Advanced {
    phase: Phase,
    /// The ledger's size after the action's entries (absent when it wrote none).
    #[serde(skip_serializing_if = "Option::is_none")]
    ledger_size: Option<u64>,
}

async fn admin(
    s: AppState,
    headers: HeaderMap,
    action: AdminAction,
) -> Result<Json<Advanced>, ApiError> {
    let who = authorize(&s, &headers)?;
    let name = action.name();
    let (tx, rx) = oneshot::channel();
    s.sequencer.submit(Request::Admin(action, tx))?;
    let r = rx.await.map_err(|_| ApiError::internal())?;
    audit(&s, &who, name, if r.is_ok() { "ok" } else { "refused" });
    let size = r?;
    let phase = lock(&s).phase;
    Ok(Json(Advanced {
        phase,
        ledger_size: Some(size),
    }))
}

/// Close voting.
#[utoipa::path(
    post,
    path = "/api/v1/admin/close",
    tag = "admin",
    security(("admin" = [])),
    responses(
        (status = 200, description = "Closed", body = Advanced),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 409, description = "`wrong-phase`", body = ErrorBody),
        (status = 503, description = "`busy`", body = ErrorBody),
    )
)]
pub(super) async fn close(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Advanced>, ApiError> {
    admin(s, headers, AdminAction::Close).await
}

/// Tally: publish the encrypted tally (and, with demo trustees, decrypt it).
#[utoipa::path(
    post,
    path = "/api/v1/admin/tally",
    tag = "admin",
    security(("admin" = [])),
    responses(
        (status = 200, description = "Tallied", body = Advanced),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 409, description = "`wrong-phase`", body = ErrorBody),
        (status = 503, description = "`busy`", body = ErrorBody),
    )
)]
pub(super) async fn tally(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Advanced>, ApiError> {
    admin(s, headers, AdminAction::Tally).await
}

/// Resolve the key ceremony and publish the joint key.
#[utoipa::path(
    post,
    path = "/api/v1/admin/finish-ceremony",
    tag = "trustees",
    security(("admin" = [])),
    responses(
        (status = 200, description = "The joint key is published", body = Advanced),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 409, description = "`wrong-phase`, `ceremony-failed`", body = ErrorBody),
        (status = 503, description = "`busy`", body = ErrorBody),
    )
)]
pub(super) async fn finish_ceremony(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Advanced>, ApiError> {
    admin(s, headers, AdminAction::FinishCeremony).await
}

/// Stop waiting for missing commitment digests: trustees may reveal, and a dealer without a
/// digest is left out.
#[utoipa::path(
    post,
    path = "/api/v1/admin/close-digests",
    tag = "trustees",
    security(("admin" = [])),
    responses(
        (status = 200, description = "The digest round is closed", body = Advanced),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 409, description = "`wrong-phase`", body = ErrorBody),
        (status = 503, description = "`busy`", body = ErrorBody),
    )
)]
pub(super) async fn close_digests(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Advanced>, ApiError> {
    admin(s, headers, AdminAction::CloseDigests).await
}

/// Publish the result from `t` valid partial decryptions.
#[utoipa::path(
    post,
    path = "/api/v1/admin/publish",
    tag = "admin",
    security(("admin" = [])),
    responses(
        (status = 200, description = "The result is published", body = Advanced),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 409, description = "`wrong-phase`, `shares-missing`", body = ErrorBody),
        (status = 503, description = "`busy`", body = ErrorBody),
    )
)]
pub(super) async fn publish(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Advanced>, ApiError> {
    admin(s, headers, AdminAction::Publish).await
}

/// Publish the public credentials: one 64-hex-digit line each, sorted.
#[utoipa::path(
    post,
    path = "/api/v1/admin/credentials",
    tag = "admin",
    security(("admin" = [])),
    request_body(content = String, content_type = "text/plain", description = "Public credentials, one 64-hex-digit line each, sorted"),
    responses(
        (status = 200, description = "Published", body = Advanced),
        (status = 400, description = "`malformed`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 409, description = "`wrong-phase`", body = ErrorBody),
        (status = 503, description = "`busy`", body = ErrorBody),
    )
)]
pub(super) async fn upload_credentials(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Advanced>, ApiError> {
    authorize(&s, &headers)?;
    let text = std::str::from_utf8(&body).map_err(|_| ApiError::malformed("hex lines expected"))?;
    let list = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            hex::decode(l.trim())
                .ok()
                .and_then(|v| <[u8; 32]>::try_from(v).ok())
                .ok_or_else(|| {
                    ApiError::malformed(format!("line {}: not a 64-hex-digit credential", i + 1))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    admin(s, headers, AdminAction::Credentials(list)).await
}

/// Open voting (after the key ceremony and the credential upload).
#[utoipa::path(
    post,
    path = "/api/v1/admin/open",
    tag = "admin",
    security(("admin" = [])),
    responses(
        (status = 200, description = "Open", body = Advanced),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 409, description = "`wrong-phase`", body = ErrorBody),
    )
)]
pub(super) async fn open(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Advanced>, ApiError> {
    let who = authorize(&s, &headers)?;
    let mut st = lock(&s);
    if st.phase != Phase::Credentials || st.credentials.is_empty() {
        drop(st);
        audit(&s, &who, "open", "refused");
        return Err(ApiError::new(
            409,
            "wrong-phase",
            "open after the key ceremony and the credential upload",
        ));
    }
    identity(&s).set_opened()?;
    st.phase = Phase::Open;
    drop(st);
    audit(&s, &who, "open", "ok");
    Ok(Json(Advanced {
        phase: Phase::Open,
        ledger_size: None,
    }))
}

/// A trustee's access token.
#[derive(Serialize, ToSchema)]
pub(super) struct TrusteeInvitation {
    trustee: u32,
    /// The bearer token the trustee's `hanpyo trustee` uses.
    token: String,
}

/// Make (or make anew) a trustee's access token.
#[utoipa::path(
    post,
    path = "/api/v1/admin/trustees/{index}/invite",
    tag = "trustees",
    security(("admin" = [])),
    params(("index" = u32, Path, description = "The trustee's number, 1 to n")),
    responses(
        (status = 200, description = "The token", body = TrusteeInvitation),
        (status = 400, description = "`malformed`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, description = "`not-found`", body = ErrorBody),
    )
)]
pub(super) async fn invite_trustee(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(index): Path<u32>,
) -> Result<Json<TrusteeInvitation>, ApiError> {
    let who = authorize(&s, &headers)?;
    let n = lock(&s).params.manifest.trustees;
    if index == 0 || index > n {
        return Err(ApiError::not_found(format!(
            "trustees are numbered 1 to {n}"
        )));
    }
    let token = scoped(&s, &identity(&s).invite_trustee(index)?);
    audit(&s, &who, "invite-trustee", &index.to_string());
    Ok(Json(TrusteeInvitation {
        trustee: index,
        token,
    }))
}

/// What the console shows of a checked or created manifest.
#[derive(Serialize, ToSchema)]
pub(crate) struct ManifestSummary {
    election_id: String,
    /// How many questions.
    questions: usize,
    trustees: u32,
    threshold: u32,
    title: TextOut,
    /// Each question's number of choices.
    choices: Vec<usize>,
}

/// A manifest from a request body, parsed and validated, with the witnesses' URLs it gives (kept
/// beside the election, not in it); 422 `bad-manifest` with the reason.
pub(crate) fn checked_manifest(
    body: &[u8],
    ledger: hanpyo_record::manifest::LedgerInfo,
) -> Result<(hanpyo_record::manifest::Manifest, Vec<(String, String)>), ApiError> {
    let source =
        std::str::from_utf8(body).map_err(|_| ApiError::malformed("the manifest must be UTF-8"))?;
    hanpyo_record::manifest::Manifest::parse_with_witness_urls(source, ledger)
        .map_err(|e| ApiError::new(422, "bad-manifest", e.to_string()))
}

/// A manifest's summary.
pub(crate) fn manifest_summary(m: &hanpyo_record::manifest::Manifest) -> ManifestSummary {
    ManifestSummary {
        election_id: m.election_id.clone(),
        questions: m.questions.len(),
        trustees: m.trustees,
        threshold: m.threshold,
        title: text(&m.title),
        choices: m.questions.iter().map(|q| q.choices.len()).collect(),
    }
}
