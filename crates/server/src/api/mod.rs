//! The HTTP API, `/api/v1` (see `docs/api.md`), one module per resource. Every operation carries
//! its OpenAPI description, served at `/api/v1/openapi.json` (see [`crate::openapi`]).
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::election::ElectionState;
use crate::error::ApiError;
use crate::sequencer::Sequencer;

mod admin;
pub(crate) mod board;
mod demo;
pub(crate) mod elections;
mod login;
mod monitor;
mod record;
mod roll;
mod trustees;

pub(crate) use admin::{ManifestSummary, checked_manifest, manifest_summary};
pub(crate) use login::{AdminLogin as AdminLoginBody, AdminSession, login_answer};
pub use record::MAX_DOWNLOADS;

/// Largest request body (a ballot of 64 choices is ≈ 20 KiB).
pub const MAX_BODY: usize = 256 * 1024;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// The election's id: every token this router issues is scoped to it (see [`scoped`]).
    pub election_id: String,
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
    pub identity: Arc<crate::identity::Identity>,
    /// Where one-time codes go.
    pub delivery: crate::delivery::Delivery,
    /// The roll key's file (destroyed by a purge).
    pub roll_key_file: std::path::PathBuf,
    /// The ledger's database (read by record downloads through their own connections).
    pub ledger: crate::database::LogPlace,
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

/// The API's operations, each registered together with its OpenAPI description (`#[utoipa::path]`
/// on the handler): the document is made from the very handlers that serve it.
pub(crate) fn operations() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(crate::openapi::ApiDoc::openapi())
        .routes(routes!(crate::openapi::healthz))
        .routes(routes!(crate::openapi::openapi_json))
        .routes(routes!(elections::elections))
        .routes(routes!(elections::election))
        .routes(routes!(elections::cast))
        .routes(routes!(elections::post_audit))
        .routes(routes!(board::checkpoint))
        .routes(routes!(board::entries))
        .routes(routes!(board::receipt))
        .routes(routes!(board::status))
        .routes(routes!(board::consistency))
        .routes(routes!(board::search))
        .routes(routes!(record::record_file))
        .routes(routes!(login::login_start))
        .routes(routes!(login::login_verify))
        .routes(routes!(login::voter_logout))
        .routes(routes!(monitor::admin_status))
        .routes(routes!(monitor::turnout))
        .routes(routes!(roll::import_roll))
        .routes(routes!(roll::purge_roll))
        .routes(routes!(trustees::progress))
        .routes(routes!(trustees::trustee_post))
        .routes(routes!(admin::invite_trustee))
        .routes(routes!(admin::finish_ceremony))
        .routes(routes!(admin::close_digests))
        .routes(routes!(admin::upload_credentials))
        .routes(routes!(admin::open))
        .routes(routes!(admin::close))
        .routes(routes!(admin::tally))
        .routes(routes!(admin::publish))
        .routes(routes!(demo::demo_info))
        .routes(routes!(demo::demo_mailbox))
}

/// The router: the API's operations, and the web pages for every other path.
pub fn router(state: AppState) -> Router {
    // Made once: every election of a server serves the same routes, each with its own state (an
    // election's router is this one's clone; building it anew made the OpenAPI document again).
    static ROUTES: std::sync::LazyLock<Router<AppState>> = std::sync::LazyLock::new(|| {
        let (router, _) = operations().split_for_parts();
        // The log's C2SP tlog-tiles interface, beside the JSON API (docs/ledger.md).
        let router = router
            .route("/checkpoint", get(crate::tlog::checkpoint))
            .route("/tile/{*path}", get(crate::tlog::tile))
            .fallback(get(crate::web::asset));
        with_limits(router)
    });
    ROUTES.clone().with_state(state)
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
        && (path == "/checkpoint"
            || path.starts_with("/tile/")
            || path.starts_with("/api/v1/board/")
            || path.starts_with("/api/v1/record/")
            || path.starts_with("/api/v1/elections")
            || path == "/api/v1/progress"
            // Certificates: a verifier's page anywhere reads the registry, status lists, lots.
            || path == "/api/v1/certs"
            || path.starts_with("/api/v1/certs/status/")
            || path.starts_with("/api/v1/certs/lots/")
            || path == "/api/v1/certs/templates"
            || path == "/api/v1/certs/checkpoint"
            || path.starts_with("/api/v1/certs/entries"))
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
    ] {
        h.insert(k, axum::http::HeaderValue::from_static(v));
    }
    // Answers are not cached unless their handler says so (the log's immutable tiles).
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(
            header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
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
pub(crate) fn limit_client(s: &AppState, peer: std::net::SocketAddr) -> Result<(), ApiError> {
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

pub(crate) fn lock(s: &AppState) -> std::sync::MutexGuard<'_, ElectionState> {
    s.election.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

pub(crate) fn identity(s: &AppState) -> &crate::identity::Identity {
    &s.identity
}

pub(crate) fn accounts(s: &AppState) -> std::sync::MutexGuard<'_, crate::accounts::Accounts> {
    s.accounts.lock().unwrap_or_else(|e| e.into_inner())
}

/// The administrator behind the request's session, who must administer this election.
pub(crate) fn authorize(
    s: &AppState,
    headers: &HeaderMap,
) -> Result<crate::accounts::Admin, ApiError> {
    accounts(s).authorize_for(
        bearer(headers),
        crate::accounts::Role::Administrator,
        &s.election_id,
    )
}

/// An administrator or observer of this election.
pub(crate) fn authorize_observer(
    s: &AppState,
    headers: &HeaderMap,
) -> Result<crate::accounts::Admin, ApiError> {
    accounts(s).authorize_for(
        bearer(headers),
        crate::accounts::Role::Observer,
        &s.election_id,
    )
}

pub(crate) fn audit(s: &AppState, who: &crate::accounts::Admin, action: &str, outcome: &str) {
    accounts(s).audit(Some(&s.election_id), &who.name, action, outcome);
}

/// A voter's session or a trustee's token as handed out: `<election id>.<secret>`, so that
/// another election of the same server can tell it apart and refuse it by name.
pub(crate) fn scoped(s: &AppState, secret: &str) -> String {
    format!("{}.{secret}", s.election_id)
}

/// The secret of a token [`scoped`] to this election (a token of another election is refused
/// with `wrong-election`; one without a scope, issued before elections were many, is taken as
/// this election's).
pub(crate) fn unscoped<'a>(
    s: &AppState,
    token: Option<&'a str>,
) -> Result<Option<&'a str>, ApiError> {
    match token.map(|t| t.rsplit_once('.')) {
        None => Ok(None),
        Some(None) => Ok(token),
        Some(Some((election, secret))) if election == s.election_id => Ok(Some(secret)),
        Some(Some(_)) => Err(ApiError::new(
            403,
            "wrong-election",
            "this session or token belongs to another election of this server",
        )),
    }
}

/// A JSON body (any content type: command-line clients send what they like; cross-site browser
/// requests are refused by [`security_headers`] from their `Origin`).
pub(crate) fn parse_json<T: for<'de> Deserialize<'de>>(
    _headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::malformed(format!("JSON: {e}")))
}
