//! Elections: their public description, and the two ways a voter's device posts to one — a
//! ballot to cast, or a Benaloh audit of an encryption it will not cast.
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use hanpyo_record::decision::{DecisionRule, Outcome, Turnout};
use hanpyo_record::entry::{Kind, TrackingCode};
use hanpyo_record::manifest::QuestionKind;
use hanpyo_record::mixing::RankedCount;
use serde::Serialize;
use tokio::sync::oneshot;
use utoipa::ToSchema;

use super::{AppState, bearer, identity, limit_client, limited, lock, unscoped};
use crate::election::{CheckedBallot, ElectionState, Phase};
use crate::error::{ApiError, ErrorBody};
use crate::sequencer::Request;

/// A text in both languages.
#[derive(Serialize, ToSchema)]
pub(crate) struct TextOut {
    ko: String,
    en: String,
}

/// A question as a booth shows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct QuestionOut {
    /// `referendum`, `choose-one`, `choose-range`, `score`, `scale` or `ranked`.
    #[schema(example = "choose-one")]
    kind: &'static str,
    title: TextOut,
    /// Selection kinds: fewest choices to select; a score: 0; a scale: 1 (one step per item).
    min: u32,
    /// Selection kinds: most choices to select; a score: the most points in all (its budget, or
    /// choices × max_score); a scale: 1.
    max: u32,
    /// The choices (a scale's items).
    choices: Vec<TextOut>,
    /// A score: the most points one choice may get (from 0).
    max_score: Option<u32>,
    /// A score: the most points over all choices, when the manifest bounds them.
    budget: Option<u32>,
    /// A scale: its steps, lowest first (an answer names one per item, from 0).
    steps: Option<Vec<TextOut>>,
    /// A ranked question: how many choices a voter may rank (an answer lists choice indices,
    /// most preferred first).
    ranks: Option<u32>,
    /// A ranked question: `instant-runoff` or `schulze`.
    method: Option<&'static str>,
    /// When the result decides the question (turnout threshold `num/den` of the eligible voters,
    /// then more than half of the valid votes); absent: the counts alone are the result.
    decision: Option<DecisionRule>,
}

/// An election's public description and state.
#[derive(Serialize, ToSchema)]
pub(crate) struct ElectionOut {
    election_id: String,
    title: TextOut,
    phase: Phase,
    /// Voting opens (Unix seconds, UTC).
    opens_at: i64,
    /// Voting closes (Unix seconds, UTC).
    closes_at: i64,
    questions: Vec<QuestionOut>,
    /// The manifest entry (hex): clients derive the shapes and the election fingerprint from it.
    manifest_entry: String,
    joint_key: Option<String>,
    /// Eligible voters: the public credentials listed.
    eligible: u64,
    ballots: u64,
    audited: u64,
    counted: u64,
    /// Once published, per question its tally cells: votes per choice; a score's points per
    /// choice; a scale's voters per (item, step), item-major (`item × steps + step`); a ranked
    /// question's ballots per (rank, choice), rank-major (`rank × choices + choice`).
    result: Option<Vec<Vec<u64>>>,
    /// Once published: the turnout the result states (credentials listed, ballots counted).
    turnout: Option<Turnout>,
    /// Once published: per question, what its decision rule (a ranked question: its count)
    /// makes of the counts.
    outcomes: Option<Vec<Outcome>>,
    /// Once published: per question, a ranked question's count of the decrypted rankings
    /// (instant-runoff rounds or Schulze's pairwise preferences); null for other kinds.
    ranked: Option<Vec<Option<RankedCount>>>,
    /// Once published: the trustees whose shares made the result.
    decrypting_trustees: Option<Vec<u32>>,
}

pub(crate) fn text(t: &hanpyo_record::manifest::Text) -> TextOut {
    TextOut {
        ko: t.ko.clone(),
        en: t.en.clone(),
    }
}

/// One election of this server.
#[derive(Serialize, ToSchema)]
pub(crate) struct ElectionListed {
    election_id: String,
    title: TextOut,
    phase: Phase,
    /// Voting opens (Unix seconds, UTC).
    opens_at: i64,
    /// Voting closes (Unix seconds, UTC).
    closes_at: i64,
    /// Once the result is published: its turnout (credentials listed, ballots counted).
    turnout: Option<Turnout>,
}

/// The election served here (at `/e/<id>/api/v1/elections`: that one election; the list of all
/// of a server's elections is at the top, `/api/v1/elections`).
#[utoipa::path(
    get,
    path = "/api/v1/elections",
    tag = "elections",
    responses((status = 200, description = "The elections", body = Vec<ElectionListed>))
)]
pub(super) async fn elections(State(s): State<AppState>) -> Json<Vec<ElectionListed>> {
    Json(vec![ElectionListed::of(&lock(&s))])
}

impl ElectionListed {
    /// The listing of the election in this state.
    pub(crate) fn of(st: &ElectionState) -> Self {
        let m = &st.params.manifest;
        Self {
            election_id: m.election_id.clone(),
            title: text(&m.title),
            phase: st.phase,
            opens_at: m.opens_at,
            closes_at: m.closes_at,
            turnout: st.result.as_ref().map(|r| r.turnout),
        }
    }
}

fn known(s: &AppState, id: &str) -> Result<(), ApiError> {
    if lock(s).params.manifest.election_id == id {
        Ok(())
    } else {
        Err(ApiError::new(
            404,
            "unknown-election",
            format!("no election {id:?} here"),
        ))
    }
}

/// The election: manifest summary, phase, joint key, counts and, once published, the result.
#[utoipa::path(
    get,
    path = "/api/v1/elections/{id}",
    tag = "elections",
    params(("id" = String, Path, description = "The election's identifier")),
    responses(
        (status = 200, description = "The election", body = ElectionOut),
        (status = 404, description = "`unknown-election`", body = ErrorBody),
    )
)]
pub(super) async fn election(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ElectionOut>, ApiError> {
    known(&s, &id)?;
    Ok(Json(ElectionOut::of(&lock(&s))))
}

impl ElectionOut {
    /// The election in this state.
    pub(crate) fn of(st: &ElectionState) -> Self {
        let m = &st.params.manifest;
        Self {
            election_id: m.election_id.clone(),
            title: text(&m.title),
            phase: st.phase,
            opens_at: m.opens_at,
            closes_at: m.closes_at,
            questions: m
                .questions
                .iter()
                .map(|q| {
                    let (min, max) = q.limits();
                    let (max_score, budget) = match q.kind {
                        QuestionKind::Score { max_score, budget } => (Some(max_score), budget),
                        _ => (None, None),
                    };
                    let (ranks, method) = match q.kind {
                        QuestionKind::Ranked { ranks, method } => {
                            (Some(ranks), Some(method.name()))
                        }
                        _ => (None, None),
                    };
                    QuestionOut {
                        kind: q.kind.name(),
                        title: text(&q.title),
                        min,
                        max,
                        choices: q.choices.iter().map(text).collect(),
                        max_score,
                        budget,
                        steps: (q.kind == QuestionKind::Scale)
                            .then(|| q.steps.iter().map(text).collect()),
                        ranks,
                        method,
                        decision: q.decision,
                    }
                })
                .collect(),
            manifest_entry: hex::encode(&st.params.manifest_entry),
            joint_key: st
                .params
                .joint_key
                .map(|k| hex::encode(k.element().as_bytes())),
            eligible: st.credentials.len() as u64,
            ballots: st.ballots,
            audited: st.audited,
            counted: st.counted(),
            result: st.result.as_ref().map(|r| r.counts.clone()),
            turnout: st.result.as_ref().map(|r| r.turnout),
            outcomes: st.result.as_ref().map(|r| r.outcomes.clone()),
            ranked: st.result.as_ref().map(|r| r.ranked.clone()),
            decrypting_trustees: st.result.as_ref().map(|r| r.trustees.clone()),
        }
    }
}

/// A posted ballot's or audit's tracking code and receipt, answered after the durable commit.
#[derive(Serialize, ToSchema)]
pub(super) struct CastOut {
    tracking_code: String,
    tracking_code_short: String,
    receipt: hanpyo_ledger::receipt::Receipt,
    /// A revote: the short tracking code of the credential's ballot this one replaces in the count
    /// (its last ballot when this one was admitted); null for a first ballot and for an audit.
    replaces: Option<String>,
}

/// Cast a ballot: the body is one encoded ballot entry (kind 9, `docs/record-format.md`). Once a
/// roll is imported, only a logged-in voter may cast, with the credential bound to their login.
/// The answer is the receipt, sent after the durable commit.
#[utoipa::path(
    post,
    path = "/api/v1/elections/{id}/ballots",
    tag = "elections",
    params(("id" = String, Path, description = "The election's identifier")),
    request_body(content = inline(crate::openapi::Binary), content_type = "application/octet-stream", description = "One encoded ballot entry (kind 9)"),
    security((), ("voter" = [])),
    responses(
        (status = 200, description = "Recorded: the tracking code and receipt", body = CastOut),
        (status = 400, description = "`malformed`", body = ErrorBody),
        (status = 401, description = "`no-session`", body = ErrorBody),
        (status = 403, description = "`not-eligible`, `credential-mismatch`", body = ErrorBody),
        (status = 404, description = "`unknown-election`", body = ErrorBody),
        (status = 409, description = "`replay`, `audited-encryption`, `election-closed`", body = ErrorBody),
        (status = 422, description = "`bad-proof`, `audit-not-ballot`", body = ErrorBody),
        (status = 429, description = "`rate-limited`", body = ErrorBody),
        (status = 503, description = "`busy`, `witness-quorum`", body = ErrorBody),
    )
)]
pub(super) async fn cast(
    State(s): State<AppState>,
    Path(id): Path<String>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<CastOut>, ApiError> {
    let r = match known(&s, &id) {
        Ok(()) => cast_inner(&s, peer, &headers, body).await,
        Err(e) => Err(e),
    };
    rejected(&s, r)
}

/// Post a Benaloh audit: the body is one encoded audit entry (kind 10). No session and no
/// credential: an audit is never linked to a voter, and never counted.
#[utoipa::path(
    post,
    path = "/api/v1/elections/{id}/audits",
    tag = "elections",
    params(("id" = String, Path, description = "The election's identifier")),
    request_body(content = inline(crate::openapi::Binary), content_type = "application/octet-stream", description = "One encoded audit entry (kind 10)"),
    responses(
        (status = 200, description = "Recorded: the tracking code and receipt", body = CastOut),
        (status = 400, description = "`malformed`", body = ErrorBody),
        (status = 404, description = "`unknown-election`", body = ErrorBody),
        (status = 409, description = "`replay`, `election-closed`", body = ErrorBody),
        (status = 422, description = "`bad-opening`", body = ErrorBody),
        (status = 429, description = "`rate-limited`", body = ErrorBody),
        (status = 503, description = "`busy`, `witness-quorum`", body = ErrorBody),
    )
)]
pub(super) async fn post_audit(
    State(s): State<AppState>,
    Path(id): Path<String>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    body: Bytes,
) -> Result<Json<CastOut>, ApiError> {
    let r = match known(&s, &id) {
        Ok(()) => audit_inner(&s, peer, body).await,
        Err(e) => Err(e),
    };
    rejected(&s, r)
}

fn rejected<T>(s: &AppState, r: Result<T, ApiError>) -> Result<T, ApiError> {
    if let Err(e) = &r {
        s.metrics.reject(e.code);
        tracing::debug!(code = e.code, "ballot rejected");
    }
    r
}

/// The entry's kind must be `want`: a ballot and an audit each have their own route.
fn expect_kind(body: &[u8], want: Kind) -> Result<(), ApiError> {
    match Kind::of(body) {
        Ok(k) if k == want => Ok(()),
        Ok(Kind::AuditedBallot) => Err(ApiError::new(
            422,
            "audit-not-ballot",
            "an audit is posted to /api/v1/elections/{id}/audits, without a session; it can never be cast",
        )),
        Ok(_) => Err(ApiError::malformed(match want {
            Kind::AuditedBallot => "only audit entries (kind 10) are posted here",
            _ => "only ballot entries (kind 9) are posted here",
        })),
        Err(e) => Err(ApiError::malformed(e.to_string())),
    }
}

async fn cast_inner(
    s: &AppState,
    peer: std::net::SocketAddr,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Json<CastOut>, ApiError> {
    limit_client(s, peer)?;
    expect_kind(&body, Kind::Ballot)?;
    // With a roll, only a logged-in voter may cast, and only with the credential bound to them.
    let login = if identity(s).has_roll()? {
        let token = unscoped(s, bearer(headers))?
            .ok_or_else(|| ApiError::new(401, "no-session", "log in first"))?;
        Some(identity(s).session(token)?)
    } else {
        None
    };
    let params = Arc::new(lock(s).params.clone());
    let checked = s.intake.check(params, body.to_vec()).await?;
    let credential = checked.credential.ok_or_else(ApiError::internal)?;
    s.voter_limits
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take(credential)
        .map_err(limited)?;
    let earlier = {
        let mut st = lock(s);
        st.admit(&checked)?;
        st.last_ballot_of(&credential)
    };
    if let Some(roll_id) = login
        && let Err(e) = identity(s).bind(roll_id, &credential)
    {
        lock(s).release(&checked.hash);
        return Err(e);
    }
    record(s, checked, earlier).await
}

async fn audit_inner(
    s: &AppState,
    peer: std::net::SocketAddr,
    body: Bytes,
) -> Result<Json<CastOut>, ApiError> {
    limit_client(s, peer)?;
    expect_kind(&body, Kind::AuditedBallot)?;
    let params = Arc::new(lock(s).params.clone());
    let checked = s.intake.check(params, body.to_vec()).await?;
    lock(s).admit(&checked)?;
    record(s, checked, None).await
}

/// Hands an admitted entry to the sequencer; answers its receipt after the durable commit, with the
/// ballot it replaces (`earlier`, an entry index) named by its tracking code.
async fn record(
    s: &AppState,
    checked: CheckedBallot,
    earlier: Option<u64>,
) -> Result<Json<CastOut>, ApiError> {
    let hash = checked.hash;
    let (tx, rx) = oneshot::channel();
    if let Err(e) = s.sequencer.submit(Request::Ballot(Box::new(checked), tx)) {
        lock(s).release(&hash);
        return Err(e);
    }
    let code = TrackingCode(hash);
    let receipt = rx.await.map_err(|_| ApiError::internal())??;
    let replaces = match earlier {
        Some(index) => {
            let entry = s
                .sequencer
                .read(move |l| crate::public_log::PublicLog::entry(l, index))
                .await??;
            Some(TrackingCode(hanpyo_ledger::merkle::leaf_hash(&entry)).short())
        }
        None => None,
    };
    Ok(Json(CastOut {
        tracking_code: code.hex(),
        tracking_code_short: code.short(),
        receipt,
        replaces,
    }))
}
