//! The HTTP API, `/api/v1` (see `docs/api.md`).
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hanpyo_ledger::merkle::Hash;
use hanpyo_record::entry::{Kind, TrackingCode};
use hanpyo_record::standing::{LaterBallot, StandingProof};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::election::{CheckedBallot, ElectionState, Phase};
use crate::error::ApiError;
use crate::sequencer::{AdminAction, Request, Sequencer};

/// Largest request body (a ballot of 64 choices is ≈ 20 KiB).
pub const MAX_BODY: usize = 256 * 1024;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// The election.
    pub election: Arc<Mutex<ElectionState>>,
    /// The ledger's sequencer.
    pub sequencer: Sequencer,
    /// Administrator accounts and sessions.
    pub accounts: Arc<Mutex<crate::accounts::Accounts>>,
    /// Counters.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Per client address.
    pub client_limits: Arc<Mutex<crate::limits::Buckets<std::net::IpAddr>>>,
    /// Per voter credential.
    pub voter_limits: Arc<Mutex<crate::limits::Buckets<[u8; 32]>>>,
    /// Roll, login codes, sessions and credential bindings.
    pub identity: Arc<Mutex<crate::identity::Identity>>,
    /// Where one-time codes go.
    pub delivery: crate::delivery::Delivery,
    /// The roll key's file (destroyed by a purge).
    pub roll_key_file: std::path::PathBuf,
    /// The ledger's database (read by record downloads through their own connections).
    pub ledger_path: std::path::PathBuf,
    /// Record downloads under way (at most [`MAX_DOWNLOADS`]).
    pub downloads: Arc<tokio::sync::Semaphore>,
    /// Ballot verification workers.
    pub intake: crate::intake::Intake,
    /// In a demo, the data directory (its voter list and code outbox serve `hanpyo loadtest`).
    pub demo_data: Option<std::path::PathBuf>,
    /// Turnout per district, as last computed (a query over the whole roll: at most every
    /// [`DISTRICT_TURNOUT_TTL`]).
    pub district_turnout: Arc<Mutex<Option<(std::time::Instant, DistrictTurnout)>>>,
}

/// `(district, voters on the roll, voters who have cast a ballot)`.
pub type DistrictTurnout = Vec<(String, u64, u64)>;

/// How long a district turnout answer is reused.
pub const DISTRICT_TURNOUT_TTL: std::time::Duration = std::time::Duration::from_secs(20);

/// The router.
pub fn router(state: AppState) -> Router {
    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/api/v1/openapi.json",
            get(|| async { Json(crate::openapi::document()) }),
        )
        .route("/api/v1/elections", get(elections))
        .route("/api/v1/elections/{id}", get(election))
        .route("/api/v1/elections/{id}/ballots", post(cast))
        .route("/api/v1/elections/{id}/audits", post(post_audit))
        .route("/api/v1/board/checkpoint", get(checkpoint))
        .route("/api/v1/board/entries", get(entries))
        .route("/api/v1/board/receipts/{hash}", get(receipt))
        .route("/api/v1/board/status/{hash}", get(status))
        .route("/api/v1/board/consistency", get(consistency))
        .route("/api/v1/board/search", get(search))
        .route("/api/v1/record/{file}", get(record_file))
        .route("/api/v1/login/start", post(login_start))
        .route("/api/v1/login/verify", post(login_verify))
        .route("/api/v1/admin/login", post(admin_login))
        .route("/api/v1/admin/logout", post(admin_logout))
        .route("/api/v1/admin/status", get(admin_status))
        .route("/api/v1/admin/audit-log", get(audit_log))
        .route("/api/v1/admin/roll", post(import_roll))
        .route("/api/v1/admin/purge-roll", post(purge_roll))
        .route("/api/v1/progress", get(progress))
        .route("/api/v1/demo", get(demo_info))
        .route("/api/v1/trustee/entries", post(trustee_post))
        .route(
            "/api/v1/admin/trustees/{index}/invite",
            post(invite_trustee),
        )
        .route("/api/v1/admin/finish-ceremony", post(finish_ceremony))
        .route("/api/v1/admin/close-digests", post(close_digests))
        .route("/api/v1/admin/credentials", post(upload_credentials))
        .route("/api/v1/admin/open", post(open))
        .route("/api/v1/admin/publish", post(publish))
        .route("/api/v1/admin/close", post(close))
        .route("/api/v1/admin/tally", post(tally))
        .route("/api/v1/admin/turnout", get(turnout))
        .route("/api/v1/admin/manifest-check", post(manifest_check))
        .route("/api/v1/admin/elections", post(create_election_here))
        .route("/api/v1/demo/mailbox", get(demo_mailbox))
        .fallback(get(crate::web::asset));
    with_limits(router).with_state(state)
}

/// What every router of the server gets (the election's and setup mode's): security headers, the
/// body limit, a 30-second deadline per request, and errors always as `{code, message}` JSON.
pub(crate) fn with_limits<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(axum::middleware::from_fn(security_headers))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            std::time::Duration::from_secs(30),
        ))
        .layer(axum::middleware::from_fn(json_errors))
}

/// Every API error answer is `{code, message}` JSON — also those made below our handlers: a body
/// over the limit (413), a path or query that does not parse (400), an unknown method (405), a
/// request that ran past its deadline (the timeout layer's empty 503).
pub(crate) async fn json_errors(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let res = next.run(req).await;
    let json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !api || json || res.status().as_u16() < 400 {
        return res;
    }
    let status = res.status().as_u16();
    let (code, fallback) = match status {
        400 | 422 => ("malformed", "the request is not well formed"),
        404 => ("not-found", "not found"),
        405 => ("method-not-allowed", "this method is not allowed here"),
        413 => (
            "too-large",
            "the request body is larger than this server accepts",
        ),
        415 => (
            "unsupported-media-type",
            "this content type is not accepted here",
        ),
        503 => (
            "timeout",
            "the server took too long to answer; if this was a ballot, check its tracking code before casting again",
        ),
        _ => ("http", "the request failed"),
    };
    let text = axum::body::to_bytes(res.into_body(), 4096)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .filter(|t| !t.trim().is_empty());
    ApiError::new(status, code, text.unwrap_or_else(|| fallback.to_string())).into_response()
}

/// The public record, readable by any page (a mirror's checker, an auditor's tool).
fn public_read(method: &axum::http::Method, path: &str) -> bool {
    method == axum::http::Method::GET
        && (path.starts_with("/api/v1/board/")
            || path.starts_with("/api/v1/record/")
            || path.starts_with("/api/v1/elections")
            || path == "/api/v1/progress")
}

/// A state-changing request sent by a page of another origin.
fn is_cross_site(req: &axum::extract::Request) -> bool {
    if matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    ) {
        return false;
    }
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return false;
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/'));
    match (origin_host, host) {
        (Some(o), Some(h)) => !o.eq_ignore_ascii_case(h),
        _ => true,
    }
}

/// Headers on every answer: no sniffing, no framing, no referrer, no caching of API answers, the
/// content security policy; and, on public reads only, `Access-Control-Allow-Origin: *`.
pub(crate) async fn security_headers(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let public = public_read(req.method(), req.uri().path());
    // A browser names the page that sends a request in `Origin`: anything but a GET from another
    // site's page (a login, a ballot, an admin action) is refused, so no other site can use a
    // visitor's browser or address against this server. Clients that are not browsers send none.
    let mut r = if is_cross_site(&req) {
        ApiError::new(
            403,
            "forbidden",
            "requests from other sites' pages are refused (only public GETs are shared)",
        )
        .into_response()
    } else {
        next.run(req).await
    };
    let h = r.headers_mut();
    for (k, v) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        // WebAssembly needs 'wasm-unsafe-eval'; nothing else is inline or from elsewhere. The
        // receipt checker may read a mirror over HTTPS.
        (
            "content-security-policy",
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' https:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
        ("cache-control", "no-store"),
    ] {
        h.insert(k, axum::http::HeaderValue::from_static(v));
    }
    if public {
        h.insert(
            "access-control-allow-origin",
            axum::http::HeaderValue::from_static("*"),
        );
    }
    r
}

/// Takes a token from the client address's bucket.
fn limit_client(s: &AppState, peer: std::net::SocketAddr) -> Result<(), ApiError> {
    s.client_limits
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take(peer.ip())
        .map_err(limited)
}

pub(crate) fn limited(wait: f64) -> ApiError {
    let _ = wait;
    ApiError::new(429, "rate-limited", "too many requests; retry shortly")
}

fn lock(s: &AppState) -> std::sync::MutexGuard<'_, ElectionState> {
    s.election.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Serialize)]
struct TextOut {
    ko: String,
    en: String,
}

#[derive(Serialize)]
struct QuestionOut {
    title: TextOut,
    min: u32,
    max: u32,
    choices: Vec<TextOut>,
}

#[derive(Serialize)]
struct ElectionOut {
    election_id: String,
    title: TextOut,
    phase: Phase,
    questions: Vec<QuestionOut>,
    /// The manifest entry (hex): clients derive the shapes and the election fingerprint from it.
    manifest_entry: String,
    joint_key: Option<String>,
    ballots: u64,
    audited: u64,
    counted: u64,
    /// Once published: `[question][choice]` counts.
    result: Option<Vec<Vec<u64>>>,
    /// Once published: the trustees whose shares made the result.
    decrypting_trustees: Option<Vec<u32>>,
}

fn text(t: &hanpyo_record::manifest::Text) -> TextOut {
    TextOut {
        ko: t.ko.clone(),
        en: t.en.clone(),
    }
}

/// This server's elections (one per data directory).
async fn elections(State(s): State<AppState>) -> Json<Vec<serde_json::Value>> {
    let st = lock(&s);
    let m = &st.params.manifest;
    Json(vec![serde_json::json!({
        "election_id": m.election_id,
        "title": text(&m.title),
        "phase": st.phase,
    })])
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

async fn election(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ElectionOut>, ApiError> {
    known(&s, &id)?;
    let st = lock(&s);
    let m = &st.params.manifest;
    Ok(Json(ElectionOut {
        election_id: m.election_id.clone(),
        title: text(&m.title),
        phase: st.phase,
        questions: m
            .questions
            .iter()
            .map(|q| {
                let (min, max) = q.limits();
                QuestionOut {
                    title: text(&q.title),
                    min,
                    max,
                    choices: q.choices.iter().map(text).collect(),
                }
            })
            .collect(),
        manifest_entry: hex::encode(&st.params.manifest_entry),
        joint_key: st
            .params
            .joint_key
            .map(|k| hex::encode(k.element().as_bytes())),
        ballots: st.ballots,
        audited: st.audited,
        counted: st.counted(),
        result: st.result.as_ref().map(|r| r.1.clone()),
        decrypting_trustees: st.result.as_ref().map(|r| r.0.clone()),
    }))
}

#[derive(Serialize)]
struct CastOut {
    tracking_code: String,
    tracking_code_short: String,
    receipt: hanpyo_ledger::receipt::Receipt,
}

/// `POST /api/v1/elections/{id}/ballots`: the body is one encoded ballot entry (kind 9).
async fn cast(
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

/// `POST /api/v1/elections/{id}/audits`: the body is one encoded audit entry (kind 10). No session
/// and no credential: an audit is never linked to a voter.
async fn post_audit(
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

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

fn identity(s: &AppState) -> std::sync::MutexGuard<'_, crate::identity::Identity> {
    s.identity.lock().unwrap_or_else(|e| e.into_inner())
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
    let login = if identity(s).roll_size()? > 0 {
        let token =
            bearer(headers).ok_or_else(|| ApiError::new(401, "no-session", "log in first"))?;
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
    lock(s).admit(&checked)?;
    if let Some(roll_id) = login
        && let Err(e) = identity(s).bind(roll_id, &credential)
    {
        lock(s).release(&checked.hash);
        return Err(e);
    }
    record(s, checked).await
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
    record(s, checked).await
}

/// Hands an admitted entry to the sequencer; answers its receipt after the durable commit.
async fn record(s: &AppState, checked: CheckedBallot) -> Result<Json<CastOut>, ApiError> {
    let hash = checked.hash;
    let (tx, rx) = oneshot::channel();
    if let Err(e) = s.sequencer.submit(Request::Ballot(Box::new(checked), tx)) {
        lock(s).release(&hash);
        return Err(e);
    }
    let code = TrackingCode(hash);
    let receipt = rx.await.map_err(|_| ApiError::internal())??;
    Ok(Json(CastOut {
        tracking_code: code.hex(),
        tracking_code_short: code.short(),
        receipt,
    }))
}

async fn checkpoint(State(s): State<AppState>) -> Result<Response, ApiError> {
    let note = s
        .sequencer
        .read(|l| l.latest_checkpoint())
        .await?
        .map_err(|_| ApiError::internal())?
        .ok_or_else(|| ApiError::not_found("no checkpoint yet"))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

#[derive(Deserialize)]
struct Range {
    start: u64,
    end: u64,
}

fn framed(entries: Vec<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        out.extend_from_slice(&(e.len() as u32).to_be_bytes());
        out.extend_from_slice(&e);
    }
    out
}

async fn entries(State(s): State<AppState>, Query(r): Query<Range>) -> Result<Response, ApiError> {
    let entries = s
        .sequencer
        .read(move |l| l.entries(r.start, r.end))
        .await?
        .map_err(|e| ApiError::not_found(e.to_string()))?;
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        framed(entries),
    )
        .into_response())
}

/// A tracking code in a path: exactly 64 hex digits.
fn tracking_hash(hex_code: &str) -> Result<Hash, ApiError> {
    hex::decode(hex_code)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| ApiError::malformed("a tracking code is 64 hex digits"))
}

async fn receipt(
    State(s): State<AppState>,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    let h = tracking_hash(&hash)?;
    let r = s
        .sequencer
        .read(move |l| l.receipt(&h))
        .await?
        .map_err(|_| ApiError::not_found("no entry with that tracking code"))?;
    Ok(Json(r).into_response())
}

/// `GET /api/v1/board/status/{hash}`: the entry's standing with its proof — a fresh receipt and the
/// entry, and, when the credential has a later ballot, that ballot and its receipt against the same
/// checkpoint (see `hanpyo_record::standing`). Clients check it; they do not take our word.
async fn status(
    State(s): State<AppState>,
    Path(hash): Path<String>,
) -> Result<Json<StandingProof>, ApiError> {
    let h = tracking_hash(&hash)?;
    let election = s.election.clone();
    s.sequencer
        .read(move |l| -> Result<StandingProof, ApiError> {
            let not_found = |_| ApiError::not_found("no entry with that tracking code");
            let receipt = l.receipt(&h).map_err(not_found)?;
            let bytes = l.entry(receipt.index).map_err(|_| ApiError::internal())?;
            let kind = Kind::of(&bytes).map_err(|_| ApiError::internal())?;
            if !matches!(kind, Kind::Ballot | Kind::AuditedBallot) {
                return Err(ApiError::not_found(
                    "that entry is not a ballot or an audit",
                ));
            }
            // A ballot's body starts with its credential.
            let later = match bytes.get(2..34).filter(|_| kind == Kind::Ballot) {
                Some(credential) => {
                    let st = election.lock().unwrap_or_else(|e| e.into_inner());
                    st.credentials
                        .binary_search_by(|c| c.as_slice().cmp(credential))
                        .ok()
                        .and_then(|pos| st.last_ballot.get(pos).copied())
                        .filter(|&last| last > receipt.index + 1)
                        .map(|last| last - 1)
                }
                None => None,
            };
            let superseded_by = match later {
                Some(index) => {
                    let entry = l.entry(index).map_err(|_| ApiError::internal())?;
                    let receipt = l
                        .receipt(&hanpyo_ledger::merkle::leaf_hash(&entry))
                        .map_err(|_| ApiError::internal())?;
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
        })
        .await?
        .map(Json)
}

#[derive(Deserialize)]
struct Search {
    code: String,
}

/// Entries whose tracking code is `code`: 64 hex digits, or the short form a voter copied.
async fn search(
    State(s): State<AppState>,
    Query(q): Query<Search>,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    let code = q.code.trim();
    let (lo, hi) = match hex::decode(code).ok().and_then(|v| Hash::try_from(v).ok()) {
        Some(h) => (h, h),
        None => TrackingCode::short_range(code).ok_or_else(|| {
            ApiError::malformed(
                "a tracking code is 20 symbols (XXXXX-XXXXX-XXXXX-XXXXX) or 64 hex digits",
            )
        })?,
    };
    let found = s
        .sequencer
        .read(
            move |l| -> Result<Vec<(Hash, u64, Vec<u8>)>, hanpyo_ledger::store::LedgerError> {
                l.leaves_between(&lo, &hi, 10)?
                    .into_iter()
                    .map(|(h, i)| Ok((h, i, l.entry(i)?)))
                    .collect()
            },
        )
        .await?
        .map_err(|_| ApiError::internal())?;
    Ok(Json(
        found
            .into_iter()
            .map(|(h, index, bytes)| {
                let code = TrackingCode(h);
                serde_json::json!({
                    "index": index,
                    "tracking_code": code.hex(),
                    "tracking_code_short": code.short(),
                    "kind": hanpyo_record::entry::Kind::of(&bytes).ok(),
                })
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
struct Sizes {
    old: u64,
    new: u64,
}

async fn consistency(
    State(s): State<AppState>,
    Query(q): Query<Sizes>,
) -> Result<Json<Vec<String>>, ApiError> {
    let p = s
        .sequencer
        .read(move |l| l.consistency_proof(q.old, q.new))
        .await?
        .map_err(|e| ApiError::not_found(e.to_string()))?;
    Ok(Json(p.iter().map(hex::encode).collect()))
}

/// The record as files `hanpyo verify` reads: `entries`, `checkpoint`, `checkpoints`.
#[derive(Deserialize)]
struct RecordAt {
    /// The checkpoint size to serve the record at (default: the latest checkpoint).
    size: Option<u64>,
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
async fn record_file(
    State(s): State<AppState>,
    Path(file): Path<String>,
    Query(at): Query<RecordAt>,
) -> Result<Response, ApiError> {
    if !matches!(file.as_str(), "entries" | "checkpoint" | "checkpoints") {
        return Err(ApiError::not_found(
            "unknown record file (entries, checkpoint, checkpoints)",
        ));
    }
    let permit = s
        .downloads
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::busy())?;
    let path = s.ledger_path.clone();
    let open = move || -> Result<(hanpyo_ledger::store::LedgerReader, u64), ApiError> {
        let reader = hanpyo_ledger::store::LedgerReader::open(&path).map_err(|e| {
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
    if file == "entries" {
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
        if file == "checkpoint" {
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

fn accounts(s: &AppState) -> std::sync::MutexGuard<'_, crate::accounts::Accounts> {
    s.accounts.lock().unwrap_or_else(|e| e.into_inner())
}

/// The administrator behind the request's session, with at least `role`.
fn authorize(s: &AppState, headers: &HeaderMap) -> Result<crate::accounts::Admin, ApiError> {
    accounts(s).authorize(bearer(headers), crate::accounts::Role::Administrator)
}

fn audit(s: &AppState, who: &crate::accounts::Admin, action: &str, outcome: &str) {
    accounts(s).audit(&who.name, action, outcome);
}

async fn admin(
    s: AppState,
    headers: HeaderMap,
    action: AdminAction,
) -> Result<Json<serde_json::Value>, ApiError> {
    let who = authorize(&s, &headers)?;
    let name = action.name();
    let (tx, rx) = oneshot::channel();
    s.sequencer.submit(Request::Admin(action, tx))?;
    let r = rx.await.map_err(|_| ApiError::internal())?;
    audit(&s, &who, name, if r.is_ok() { "ok" } else { "refused" });
    let size = r?;
    let phase = lock(&s).phase;
    Ok(Json(
        serde_json::json!({ "phase": phase, "ledger_size": size }),
    ))
}

async fn close(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    admin(s, headers, AdminAction::Close).await
}

async fn tally(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    admin(s, headers, AdminAction::Tally).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginStart {
    resident_id: String,
    birth_date: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginVerify {
    resident_id: String,
    birth_date: String,
    code: String,
}

/// A JSON body (any content type: command-line clients send what they like; cross-site browser
/// requests are refused by [`security_headers`] from their `Origin`).
fn parse_json<T: for<'de> Deserialize<'de>>(
    _headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::malformed(format!("JSON: {e}")))
}

async fn login_start(
    State(s): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    limit_client(&s, peer)?;
    let req: LoginStart = parse_json(&headers, &body)?;
    // Said before looking anyone up, so the answer tells nothing about the roll.
    if matches!(s.delivery, crate::delivery::Delivery::Disabled) {
        return Err(ApiError::new(
            503,
            "no-delivery",
            "this server cannot send login codes: its administrator has not configured a delivery backend",
        ));
    }
    let pending = identity(&s).start_login(&req.resident_id, &req.birth_date)?;
    if let Some((to, code)) = pending {
        let delivery = s.delivery.clone();
        tokio::task::spawn_blocking(move || delivery.send(&to, &code))
            .await
            .map_err(|_| ApiError::internal())?
            .map_err(|e| {
                tracing::error!(error = %e, "code delivery failed");
                ApiError::new(
                    502,
                    "delivery-failed",
                    "the login code could not be delivered; try again later",
                )
            })?;
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(
            serde_json::json!({ "status": "if you are on the roll, a code was sent to your contact" }),
        ),
    ))
}

async fn login_verify(
    State(s): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    limit_client(&s, peer)?;
    let req: LoginVerify = parse_json(&headers, &body)?;
    let session = identity(&s).finish_login(&req.resident_id, &req.birth_date, &req.code)?;
    Ok(Json(
        serde_json::json!({ "session": session, "expires_in": crate::identity::SESSION_SECONDS }),
    ))
}

async fn import_roll(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let who = authorize(&s, &headers)?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::malformed("the roll must be UTF-8 CSV"))?;
    match crate::roll::parse_roll(text) {
        Ok(voters) => {
            let n = identity(&s).import(&voters)?;
            tracing::info!(voters = n, "roll imported");
            audit(&s, &who, "import-roll", &format!("{n} voters"));
            Ok(Json(serde_json::json!({ "imported": n })).into_response())
        }
        Err(errors) => Ok({
            audit(&s, &who, "import-roll", "refused");
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(serde_json::json!({
                    "code": "bad-roll",
                    "message": format!("{} problem(s); nothing was imported", errors.len()),
                    "errors": errors,
                })),
            )
                .into_response()
        }),
    }
}

async fn purge_roll(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let who = authorize(&s, &headers)?;
    if lock(&s).phase == Phase::Open {
        return Err(ApiError::new(
            409,
            "wrong-phase",
            "the roll is needed until voting closes",
        ));
    }
    identity(&s).purge(&s.roll_key_file)?;
    tracing::info!("roll, sessions and bindings purged");
    audit(&s, &who, "purge-roll", "ok");
    Ok(Json(serde_json::json!({ "purged": true })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminLogin {
    name: String,
    password: String,
}

async fn admin_login(
    State(s): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    limit_client(&s, peer)?;
    login_answer(s.accounts.clone(), peer.ip(), &headers, &body).await
}

async fn admin_logout(State(s): State<AppState>, headers: HeaderMap) -> StatusCode {
    accounts(&s).logout(bearer(&headers));
    StatusCode::NO_CONTENT
}

/// An administrator's login (also served before any election exists).
pub(crate) async fn login_answer(
    accounts: Arc<Mutex<crate::accounts::Accounts>>,
    address: std::net::IpAddr,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let req: AdminLogin = parse_json(headers, body)?;
    // Argon2id takes tens of milliseconds: keep it off the async workers.
    let (token, role) = tokio::task::spawn_blocking(move || {
        accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .login(&req.name, &req.password, address)
    })
    .await
    .map_err(|_| ApiError::internal())??;
    Ok(Json(serde_json::json!({ "session": token, "role": role })))
}

async fn admin_status(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    accounts(&s).authorize(bearer(&headers), crate::accounts::Role::Observer)?;
    let roll = identity(&s).roll_size()?;
    let st = lock(&s);
    Ok(Json(serde_json::json!({
        "phase": st.phase,
        "roll": roll,
        "credentials": st.credentials.len(),
        "ballots": st.ballots,
        "counted": st.counted(),
        "audited": st.audited,
    })))
}

async fn audit_log(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    accounts(&s).authorize(bearer(&headers), crate::accounts::Role::Observer)?;
    Ok(Json(accounts(&s).audit_log()))
}

async fn finish_ceremony(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    admin(s, headers, AdminAction::FinishCeremony).await
}

async fn close_digests(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    admin(s, headers, AdminAction::CloseDigests).await
}

async fn publish(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    admin(s, headers, AdminAction::Publish).await
}

/// Body: public credentials, one 64-hex-digit line each, sorted.
async fn upload_credentials(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
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

async fn open(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
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
    accounts(&s).set_opened()?;
    st.phase = Phase::Open;
    drop(st);
    audit(&s, &who, "open", "ok");
    Ok(Json(serde_json::json!({ "phase": Phase::Open })))
}

async fn invite_trustee(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(index): Path<u32>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let who = authorize(&s, &headers)?;
    let n = lock(&s).params.manifest.trustees;
    if index == 0 || index > n {
        return Err(ApiError::not_found(format!(
            "trustees are numbered 1 to {n}"
        )));
    }
    let token = accounts(&s).invite_trustee(index)?;
    audit(&s, &who, "invite-trustee", &index.to_string());
    Ok(Json(
        serde_json::json!({ "trustee": index, "token": token }),
    ))
}

/// Body: one encoded ceremony or partial-decryption entry of the authenticated trustee.
async fn trustee_post(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let index = accounts(&s).trustee(bearer(&headers))?;
    let (tx, rx) = oneshot::channel();
    s.sequencer
        .submit(Request::Trustee(index, body.to_vec(), tx))?;
    let size = rx.await.map_err(|_| ApiError::internal())??;
    Ok(Json(serde_json::json!({ "ledger_size": size })))
}

/// The ceremony's and the tally's progress per trustee.
async fn progress(State(s): State<AppState>) -> Json<serde_json::Value> {
    let st = lock(&s);
    let c = &st.ceremony;
    let n = st.params.manifest.trustees;
    let trustees: Vec<serde_json::Value> = (1..=n)
        .map(|i| {
            let slot = (i - 1) as usize;
            serde_json::json!({
                "trustee": i,
                "registered": c.registrations[slot].is_some(),
                "digest": c.digests[slot].is_some(),
                "commitment": c.commitments.iter().any(|x| x.dealer == i),
                "shares_sent": c.shares.iter().filter(|x| x.dealer == i).count(),
                "complaints_filed": c.complaints.iter().filter(|x| x.accuser == i).count(),
                // The dealers whose shares this trustee confirmed checking (its latest confirmation).
                "confirmed": c.confirmations.iter().rev().find(|x| x.0 == i).map(|x| x.1.clone()),
                "partial_decryption": c.partials.iter().any(|p| p.0 == i),
            })
        })
        .collect();
    Json(serde_json::json!({
        "phase": st.phase,
        "threshold": st.params.manifest.threshold,
        // Trustees may reveal without waiting for the missing digests (the administrator closed
        // the round; a dealer without a digest is left out).
        "digests_closed": c.digests_closed || !c.commitments.is_empty(),
        "trustees": trustees,
    }))
}

fn demo_dir(s: &AppState) -> Result<&std::path::Path, ApiError> {
    s.demo_data
        .as_deref()
        .ok_or_else(|| ApiError::not_found("not a demo server"))
}

/// Demo servers only: where the demo's data directory is (for `hanpyo loadtest` on the same
/// machine) and a few of its fictitious voters, so the booth can be tried without a mailbox.
async fn demo_info(State(s): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let dir = demo_dir(&s)?;
    let voters: Vec<serde_json::Value> = std::fs::read_to_string(dir.join("demo-voters.txt"))
        .unwrap_or_default()
        .lines()
        .take(5)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f.len() == 4).then(|| {
                serde_json::json!({
                    "resident_id": f[0], "birth_date": f[1], "credential": f[2], "contact": f[3],
                })
            })
        })
        .collect();
    Ok(Json(
        serde_json::json!({ "data_dir": dir, "voters": voters }),
    ))
}

#[derive(Deserialize)]
struct MailboxQuery {
    to: String,
}

/// Demo servers only: the latest one-time code sent to a demo contact (the demo's outbox stands in
/// for the text message a real voter receives).
async fn demo_mailbox(
    State(s): State<AppState>,
    Query(q): Query<MailboxQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let dir = demo_dir(&s)?;
    let code = std::fs::read_to_string(dir.join("outbox.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["to"] == q.to.as_str())
        .filter_map(|v| v["code"].as_str().map(str::to_string))
        .next_back()
        .ok_or_else(|| ApiError::not_found("no code sent to that contact yet"))?;
    Ok(Json(serde_json::json!({ "to": q.to, "code": code })))
}

/// Turnout for the administrators: ballots over time (since this server process started) and, per
/// district, voters on the roll and voters who have cast a ballot. Aggregates only.
async fn turnout(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    accounts(&s).authorize(bearer(&headers), crate::accounts::Role::Observer)?;
    let cached = s
        .district_turnout
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .filter(|(at, _)| at.elapsed() < DISTRICT_TURNOUT_TTL)
        .map(|(at, d)| (*at, d.clone()));
    let (at, per_district) = match cached {
        Some(c) => c,
        None => {
            let fresh = (std::time::Instant::now(), identity(&s).district_turnout()?);
            *s.district_turnout.lock().unwrap_or_else(|e| e.into_inner()) = Some(fresh.clone());
            fresh
        }
    };
    let districts: Vec<serde_json::Value> = per_district
        .into_iter()
        .map(|(d, n, v)| serde_json::json!({ "district": d, "roll": n, "voted": v }))
        .collect();
    let mut st = lock(&s);
    st.note_turnout();
    Ok(Json(serde_json::json!({
        "series": st.turnout.iter().map(|(m, n)| [m * 60, *n]).collect::<Vec<_>>(),
        "districts": districts,
        "districts_age_seconds": at.elapsed().as_secs(),
        "ballots": st.ballots,
        "counted": st.counted(),
        "credentials": st.credentials.len(),
    })))
}

/// Checks a manifest (TOML, or JSON if it starts with `{`) as `hanpyo admin init` would, against
/// this server's ledger settings, and answers its canonical form or the reason it is refused.
async fn manifest_check(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorize(&s, &headers)?;
    let ledger = lock(&s).params.manifest.ledger.clone();
    let m = checked_manifest(&body, ledger)?;
    Ok(Json(manifest_summary(&m)))
}

/// A manifest from a request body, parsed and validated (422 `bad-manifest` with the reason).
pub(crate) fn checked_manifest(
    body: &[u8],
    ledger: hanpyo_record::manifest::LedgerInfo,
) -> Result<hanpyo_record::manifest::Manifest, ApiError> {
    let source =
        std::str::from_utf8(body).map_err(|_| ApiError::malformed("the manifest must be UTF-8"))?;
    hanpyo_record::manifest::Manifest::parse(source, ledger)
        .map_err(|e| ApiError::new(422, "bad-manifest", e.to_string()))
}

/// What the console shows of a checked or created manifest.
pub(crate) fn manifest_summary(m: &hanpyo_record::manifest::Manifest) -> serde_json::Value {
    serde_json::json!({
        "election_id": m.election_id,
        "questions": m.questions.len(),
        "trustees": m.trustees,
        "threshold": m.threshold,
        "title": text(&m.title),
        "choices": m.questions.iter().map(|q| q.choices.len()).collect::<Vec<_>>(),
    })
}

/// One election per data directory: this one already holds its election.
async fn create_election_here(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorize(&s, &headers)?;
    let id = lock(&s).params.manifest.election_id.clone();
    Err(ApiError::new(
        409,
        "election-exists",
        format!(
            "this server holds election {id:?}; a data directory holds one election: start the next one in a new data directory"
        ),
    ))
}
