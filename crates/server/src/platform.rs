//! One deployment, many elections. The platform routes every request to the election it names and
//! answers what belongs to no election: the list of elections, administrator login, accounts and
//! their scopes, the creation of elections, the audit log.
//!
//! An election is reached at `/e/<election id>/…`: every path a single election serves (its pages,
//! its API, its log's tiles) is served there unchanged, so a page, a receipt or a mirror names the
//! election by its base URL. `/api/v1/elections/<id>/…` reaches the same election without the
//! prefix. Paths of no election at the top (`/api/v1/board/…`, `/vote.html`, …) reach the
//! deployment's election while it has exactly one (the single-election URLs keep working); with
//! several, the API answers 404 `election-required` and the pages send the visitor to the list.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::{AccountOut, Accounts, AuditRecord, Role, Scope};
use crate::api::elections::ElectionListed;
use crate::api::{AppState, ManifestSummary, bearer};
use crate::error::{ApiError, ErrorBody};
use hanpyo_record::manifest::Manifest;

/// What every election of the deployment shares: rate limits, the ballot workers, delivery.
pub(crate) struct Shared {
    pub(crate) client_limits: Arc<Mutex<crate::limits::Buckets<std::net::IpAddr>>>,
    pub(crate) voter_limits: Arc<Mutex<crate::limits::Buckets<[u8; 32]>>>,
    pub(crate) intake: crate::intake::Intake,
    pub(crate) delivery: Option<crate::delivery::Delivery>,
    pub(crate) witness_urls: Vec<(String, String)>,
    pub(crate) metrics: Arc<crate::metrics::Metrics>,
    /// The node's listener for the database's notifications (PostgreSQL only).
    pub(crate) wakeups: Option<crate::wakeup::Wakeups>,
    pub(crate) database: crate::database::Database,
}

/// How many elections are opened at once when the server starts.
const OPENERS: usize = 8;

/// One election being served.
pub(crate) struct Hosted {
    pub(crate) state: AppState,
    pub(crate) router: axum::Router,
    pub(crate) thread: Option<std::thread::JoinHandle<()>>,
}

/// The deployment.
#[derive(Clone)]
pub(crate) struct Platform {
    data: PathBuf,
    pub(crate) accounts: Arc<Mutex<Accounts>>,
    /// The certificate registry, when the deployment hosts one (`DATA/certs`).
    pub(crate) certs: Option<Arc<crate::certs::Certs>>,
    elections: Arc<RwLock<BTreeMap<String, Hosted>>>,
    shared: Arc<Shared>,
    /// One creation at a time.
    creating: Arc<tokio::sync::Mutex<()>>,
}

/// An election a platform administrator asked for, checked: who, its manifest, where the
/// manifest's witnesses answer.
struct NewElection {
    who: crate::accounts::Admin,
    manifest: Manifest,
    witness_urls: Vec<(String, String)>,
}

/// What the top-level router dispatches with: the deployment, and its own routes.
#[derive(Clone)]
struct Dispatch {
    platform: Platform,
    routes: axum::Router,
}

impl Platform {
    /// Opens every election of `data`.
    pub(crate) fn open(
        data: &std::path::Path,
        accounts: Arc<Mutex<Accounts>>,
        shared: Shared,
    ) -> Result<Self, crate::ServerError> {
        let shared = Arc::new(shared);
        let ids = crate::layout::election_ids(data, &shared.database)?;
        // Opening an election mostly waits (for the database's round trips, the disk), so a few
        // are opened at once; each has its own files, schema and log.
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut opened: Vec<(usize, Result<Hosted, crate::ServerError>)> =
            std::thread::scope(|scope| {
                let workers: Vec<_> = (0..OPENERS.min(ids.len()))
                    .map(|_| {
                        scope.spawn(|| {
                            let mut out = Vec::new();
                            loop {
                                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                let Some(id) = ids.get(i) else {
                                    return out;
                                };
                                out.push((
                                    i,
                                    crate::open_election(data, id, &shared, accounts.clone()),
                                ));
                            }
                        })
                    })
                    .collect();
                workers
                    .into_iter()
                    .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            });
        // The first failure in the ids' order is the one reported, as when opened one by one.
        opened.sort_by_key(|(i, _)| *i);
        let mut elections = BTreeMap::new();
        for (i, hosted) in opened {
            elections.insert(ids[i].clone(), hosted?);
        }
        check_witness_names(&shared.witness_urls, &elections)?;
        let certs = crate::certs::Certs::open(data)
            .map_err(|e| crate::data_err(&crate::certs::certs_dir(data), e))?
            .map(Arc::new);
        Ok(Self {
            data: data.to_path_buf(),
            accounts,
            certs,
            elections: Arc::new(RwLock::new(elections)),
            shared,
            creating: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// Takes one request from `ip`'s allowance (429 `rate-limited` when it is spent).
    pub(crate) fn limit_client(&self, ip: std::net::IpAddr) -> Result<(), ApiError> {
        self.shared
            .client_limits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take(ip)
            .map_err(crate::api::limited)
    }

    /// How many elections are served.
    pub(crate) fn len(&self) -> usize {
        self.read().len()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Hosted>> {
        self.elections.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn accounts(&self) -> std::sync::MutexGuard<'_, Accounts> {
        self.accounts.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn router_of(&self, id: &str) -> Option<axum::Router> {
        self.read().get(id).map(|h| h.router.clone())
    }

    /// The router serving every request.
    pub(crate) fn router(&self) -> axum::Router {
        let (routes, _) = operations().split_for_parts();
        let routes = crate::api::with_limits(routes.fallback(not_here)).with_state(self.clone());
        axum::Router::new().fallback(dispatch).with_state(Dispatch {
            platform: self.clone(),
            routes,
        })
    }

    /// The manifest of an election a platform administrator may create here now (its summary
    /// for the check, the election itself for the creation): 409 `election-exists` for an id the
    /// server holds.
    fn new_election(&self, headers: &HeaderMap, body: &[u8]) -> Result<NewElection, ApiError> {
        let who = self
            .accounts()
            .authorize_platform(bearer(headers), Role::Administrator)?;
        let (m, urls) = crate::api::checked_manifest(body, crate::unassigned_ledger())?;
        let id = &m.election_id;
        if self.read().contains_key(id) || crate::layout::election_dir(&self.data, id).exists() {
            return Err(ApiError::new(
                409,
                "election-exists",
                format!(
                    "this server already holds an election {id:?}: give the new one another id"
                ),
            ));
        }
        Ok(NewElection {
            who,
            manifest: m,
            witness_urls: urls,
        })
    }

    /// Stops every election: drops their routers (the sequencers drain and exit) and waits for
    /// their threads.
    pub(crate) async fn stop(&self) {
        let hosted: Vec<Hosted> = {
            let mut map = self.elections.write().unwrap_or_else(|e| e.into_inner());
            std::mem::take(&mut *map).into_values().collect()
        };
        let threads: Vec<_> = hosted
            .into_iter()
            .filter_map(|mut h| h.thread.take())
            .collect();
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}

/// Refuses an operator's witness URL (`serve --witness NAME=URL`, the config file) that no
/// election's manifest names: a mistyped name would otherwise leave that witness unreachable.
fn check_witness_names(
    urls: &[(String, String)],
    elections: &BTreeMap<String, Hosted>,
) -> Result<(), crate::ServerError> {
    if elections.is_empty() {
        return Ok(());
    }
    for (name, _) in urls {
        let named = elections.values().any(|h| {
            crate::api::lock(&h.state)
                .params
                .manifest
                .ledger
                .witnesses
                .iter()
                .any(|w| w.name == *name)
        });
        if !named {
            return Err(crate::ServerError::Config(format!(
                "--witness {name}: no election's manifest names such a witness"
            )));
        }
    }
    Ok(())
}

/// The platform's own API paths (also under an election's prefix: they are the deployment's).
pub(crate) fn is_platform_path(path: &str) -> bool {
    matches!(
        path,
        "/healthz"
            | "/api/v1/openapi.json"
            | "/api/v1/admin/login"
            | "/api/v1/admin/logout"
            | "/api/v1/admin/audit-log"
            | "/api/v1/admin/elections"
            | "/api/v1/admin/accounts"
            | "/api/v1/admin/manifest-check"
    ) || path.starts_with("/api/v1/admin/accounts/")
        || path == "/api/v1/certs"
        || path.starts_with("/api/v1/certs/")
}

fn with_path(req: axum::extract::Request, path: &str) -> axum::extract::Request {
    let (mut parts, body) = req.into_parts();
    let pq = match parts.uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    if let Ok(uri) = Uri::builder().path_and_query(pq).build() {
        parts.uri = uri;
    }
    axum::extract::Request::from_parts(parts, body)
}

async fn oneshot(router: axum::Router, req: axum::extract::Request) -> Response {
    use tower::ServiceExt;
    match router.oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

fn unknown_election(id: &str) -> Response {
    ApiError::new(404, "unknown-election", format!("no election {id:?} here")).into_response()
}

async fn dispatch(State(d): State<Dispatch>, req: axum::extract::Request) -> Response {
    let Dispatch {
        platform: p,
        routes,
    } = d;
    let path = req.uri().path().to_string();
    // `/e/<id>/…`: the election's own paths.
    if let Some(rest) = path.strip_prefix("/e/") {
        let (id, tail) = match rest.split_once('/') {
            Some((id, tail)) => (id, format!("/{tail}")),
            None => {
                // `/e/<id>`: its pages are relative to `/e/<id>/`.
                return axum::response::Redirect::permanent(&format!("/e/{rest}/")).into_response();
            }
        };
        if is_platform_path(&tail) {
            return oneshot(routes, with_path(req, &tail)).await;
        }
        return match p.router_of(id) {
            Some(r) => oneshot(r, with_path(req, &tail)).await,
            None => unknown_election(id),
        };
    }
    if is_platform_path(&path) || path == "/api/v1/elections" {
        return oneshot(routes, req).await;
    }
    if let Some(rest) = path.strip_prefix("/api/v1/elections/") {
        let id = rest.split('/').next().unwrap_or("");
        return match p.router_of(id) {
            Some(r) => oneshot(r, req).await,
            None => unknown_election(id),
        };
    }
    let only = {
        let map = p.read();
        (map.len() == 1)
            .then(|| map.values().next().map(|h| h.router.clone()))
            .flatten()
    };
    match only {
        Some(r) => oneshot(r, req).await,
        None => oneshot(routes, req).await,
    }
}

/// A path of no election while the deployment has none or several: the API says which is
/// missing; every other path is a page or an asset.
async fn not_here(State(p): State<Platform>, uri: Uri) -> Response {
    if !uri.path().starts_with("/api/") {
        return crate::web::asset(uri).await;
    }
    if p.len() == 0 {
        ApiError::new(
            503,
            "no-election",
            "no election yet: an administrator creates it in the console (/admin.html)",
        )
        .into_response()
    } else {
        ApiError::new(
            404,
            "election-required",
            "this server hosts several elections: use /e/<election id>/… (GET /api/v1/elections lists them)",
        )
        .into_response()
    }
}

/// The platform's operations with their OpenAPI descriptions (merged into the API document).
pub(crate) fn operations() -> OpenApiRouter<Platform> {
    OpenApiRouter::with_openapi(<crate::openapi::ApiDoc as utoipa::OpenApi>::openapi())
        .routes(routes!(crate::openapi::healthz))
        .routes(routes!(crate::openapi::openapi_json))
        .routes(routes!(elections))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(audit_log))
        .routes(routes!(manifest_check))
        .routes(routes!(create, managed))
        .routes(routes!(accounts, create_account))
        .routes(routes!(assign))
        .routes(routes!(crate::certs::api::registry))
        .routes(routes!(crate::certs::api::templates))
        .routes(routes!(crate::certs::api::status))
        .routes(routes!(crate::certs::api::lot))
        .routes(routes!(crate::certs::api::entries))
        .routes(routes!(crate::certs::api::checkpoint))
        .routes(routes!(crate::certs::api::register))
        .routes(routes!(crate::certs::api::console))
        .routes(routes!(crate::certs::api::issue_certificates))
        .routes(routes!(crate::certs::api::revoke))
        .routes(routes!(crate::certs::api::provenance))
        .routes(routes!(crate::certs::api::relay_put))
        .routes(routes!(crate::certs::api::relay_get))
}

/// This server's elections, oldest id first: each one's phase and voting window and, once voting
/// has closed, its turnout.
#[utoipa::path(
    get,
    path = "/api/v1/elections",
    tag = "elections",
    responses((status = 200, description = "The elections", body = Vec<ElectionListed>))
)]
pub(crate) async fn elections(State(p): State<Platform>) -> Json<Vec<ElectionListed>> {
    let map = p.read();
    Json(
        map.values()
            .map(|h| ElectionListed::of(&crate::api::lock(&h.state)))
            .collect(),
    )
}

/// Administrator or observer login (one session for every election the account may act on).
/// Wrong passwords slow down that account from that address (exponential back-off).
#[utoipa::path(
    post,
    path = "/api/v1/admin/login",
    tag = "admin",
    request_body(content = inline(crate::api::AdminLoginBody), content_type = "application/json"),
    responses(
        (status = 200, description = "Logged in", body = crate::api::AdminSession),
        (status = 400, description = "`malformed`", body = ErrorBody),
        (status = 401, description = "`bad-login`", body = ErrorBody),
        (status = 429, description = "`rate-limited`, `locked`", body = ErrorBody),
    )
)]
pub(crate) async fn login(
    State(p): State<Platform>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<crate::api::AdminSession>, ApiError> {
    p.shared
        .client_limits
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take(peer.ip())
        .map_err(crate::api::limited)?;
    crate::api::login_answer(p.accounts.clone(), peer.ip(), &headers, &body).await
}

/// End the session: its token stops working at once (an unknown token is not an error).
#[utoipa::path(
    post,
    path = "/api/v1/admin/logout",
    tag = "admin",
    security((), ("admin" = [])),
    responses((status = 204, description = "Logged out"))
)]
pub(crate) async fn logout(State(p): State<Platform>, headers: HeaderMap) -> StatusCode {
    p.accounts().logout(bearer(&headers));
    StatusCode::NO_CONTENT
}

/// The audit log, oldest first: every line for a platform account; for an account scoped to some
/// elections, the lines of those elections.
#[utoipa::path(
    get,
    path = "/api/v1/admin/audit-log",
    tag = "admin",
    security(("admin" = [])),
    responses(
        (status = 200, description = "The audit log", body = Vec<AuditRecord>),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
    )
)]
pub(crate) async fn audit_log(
    State(p): State<Platform>,
    headers: HeaderMap,
) -> Result<Json<Vec<AuditRecord>>, ApiError> {
    let who = p.accounts().authorize(bearer(&headers), Role::Observer)?;
    Ok(Json(p.accounts().audit_log(&who.scope)))
}

/// Check a manifest (TOML, or JSON if it starts with `{`) as `POST /api/v1/admin/elections`
/// would: its summary, or the reason it is refused.
#[utoipa::path(
    post,
    path = "/api/v1/admin/manifest-check",
    tag = "admin",
    security(("admin" = [])),
    request_body(content = String, content_type = "text/plain", description = "The manifest (TOML or JSON)"),
    responses(
        (status = 200, description = "The manifest is valid", body = ManifestSummary),
        (status = 400, description = "`malformed`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`, `platform-only`", body = ErrorBody),
        (status = 409, description = "`election-exists`", body = ErrorBody),
        (status = 422, description = "`bad-manifest`", body = ErrorBody),
    )
)]
pub(crate) async fn manifest_check(
    State(p): State<Platform>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ManifestSummary>, ApiError> {
    let new = p.new_election(&headers, &body)?;
    Ok(Json(crate::api::manifest_summary(&new.manifest)))
}

/// Create an election from a manifest (TOML or JSON): its own ledger (origin `hanpyo/<id>`,
/// a fresh signing key), served at once at `/e/<id>/`. Platform administrators only.
#[utoipa::path(
    post,
    path = "/api/v1/admin/elections",
    tag = "admin",
    security(("admin" = [])),
    request_body(content = String, content_type = "text/plain", description = "The manifest (TOML or JSON)"),
    responses(
        (status = 201, description = "Created and served", body = ManifestSummary),
        (status = 400, description = "`malformed`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`, `platform-only`", body = ErrorBody),
        (status = 409, description = "`election-exists`", body = ErrorBody),
        (status = 422, description = "`bad-manifest`", body = ErrorBody),
    )
)]
pub(crate) async fn create(
    State(p): State<Platform>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<ManifestSummary>), ApiError> {
    let _one_at_a_time = p.creating.lock().await;
    let NewElection {
        who,
        manifest: m,
        witness_urls: urls,
    } = p.new_election(&headers, &body)?;
    let id = m.election_id.clone();
    let (data, shared, accounts) = (p.data.clone(), p.shared.clone(), p.accounts.clone());
    let (m, hosted) = tokio::task::spawn_blocking(move || {
        let dir = crate::layout::election_dir(&data, &m.election_id);
        let m = crate::create_election(&dir, m, &urls, &shared.database)?;
        let hosted = crate::open_election(&data, &m.election_id, &shared, accounts)?;
        Ok::<_, crate::ServerError>((m, hosted))
    })
    .await
    .map_err(|_| ApiError::internal())?
    .map_err(|e| {
        tracing::error!(error = %e, "creating an election");
        ApiError::internal()
    })?;
    p.elections
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id.clone(), hosted);
    p.accounts()
        .audit(Some(&id), &who.name, "create-election", "ok");
    tracing::info!(election = %id, "election created and served");
    Ok((StatusCode::CREATED, Json(crate::api::manifest_summary(&m))))
}

/// The elections the account behind the session may act on, with its role.
#[derive(Serialize, ToSchema)]
pub(crate) struct Managed {
    role: Role,
    /// Whether the account is the platform's (it creates elections and assigns accounts).
    platform: bool,
    elections: Vec<ElectionListed>,
}

/// The elections this account may administer or observe (all of them for a platform account).
#[utoipa::path(
    get,
    path = "/api/v1/admin/elections",
    tag = "admin",
    security(("admin" = [])),
    responses(
        (status = 200, description = "The account's elections", body = Managed),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
    )
)]
pub(crate) async fn managed(
    State(p): State<Platform>,
    headers: HeaderMap,
) -> Result<Json<Managed>, ApiError> {
    let who = p.accounts().authorize(bearer(&headers), Role::Observer)?;
    let map = p.read();
    Ok(Json(Managed {
        role: who.role,
        platform: who.scope == Scope::Platform,
        elections: map
            .iter()
            .filter(|(id, _)| who.scope.covers(id))
            .map(|(_, h)| ElectionListed::of(&crate::api::lock(&h.state)))
            .collect(),
    }))
}

/// Every account: name, role and elections (`*`: the platform's). Platform accounts only.
#[utoipa::path(
    get,
    path = "/api/v1/admin/accounts",
    tag = "admin",
    security(("admin" = [])),
    responses(
        (status = 200, description = "The accounts", body = Vec<AccountOut>),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`platform-only`", body = ErrorBody),
    )
)]
pub(crate) async fn accounts(
    State(p): State<Platform>,
    headers: HeaderMap,
) -> Result<Json<Vec<AccountOut>>, ApiError> {
    p.accounts()
        .authorize_platform(bearer(&headers), Role::Observer)?;
    Ok(Json(p.accounts().list()?))
}

/// A new account (or a new password, role and elections for an existing one).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewAccount {
    /// 1–64 of `A–Z a–z 0–9 - _ .`.
    name: String,
    role: Role,
    /// At least 12 characters.
    password: String,
    /// `["*"]` for a platform account, or the ids of the elections it may act on.
    elections: Vec<String>,
}

/// The elections an account may act on.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Assignment {
    /// `["*"]` for a platform account, or election ids.
    elections: Vec<String>,
}

impl Platform {
    /// A scope from a request's list: `["*"]`, or ids of elections this server holds.
    fn scope(&self, elections: &[String]) -> Result<Scope, ApiError> {
        if elections == ["*"] {
            return Ok(Scope::Platform);
        }
        let scope = Scope::parse(&elections.join(","))?;
        // An issuer's console: only for an issuer on this server's log whose key it keeps.
        if let Scope::Issuer(key) = &scope {
            let certs = self.certs.as_ref().ok_or_else(|| {
                ApiError::new(
                    404,
                    "no-certificates",
                    "this server hosts no certificate registry",
                )
            })?;
            certs.issuer_key(key)?;
            // The log's lock may be held by an issuance: wait for it off the async workers.
            let on_log = tokio::task::block_in_place(|| {
                certs
                    .log()
                    .registry()
                    .issuers
                    .contains_key(&format!("did:key:{key}"))
            });
            if !on_log {
                return Err(ApiError::new(
                    404,
                    "unknown-issuer",
                    "that issuer is not on the log",
                ));
            }
        }
        if let Scope::Elections(ids) = &scope {
            if ids.is_empty() {
                return Err(ApiError::malformed(
                    "name at least one election, or \"*\" for the platform",
                ));
            }
            let map = self.read();
            if let Some(missing) = ids.iter().find(|id| !map.contains_key(*id)) {
                return Err(ApiError::new(
                    404,
                    "unknown-election",
                    format!("no election {missing:?} here"),
                ));
            }
        }
        Ok(scope)
    }
}

/// Create an account for the platform or for some of its elections. Platform administrators only.
#[utoipa::path(
    post,
    path = "/api/v1/admin/accounts",
    tag = "admin",
    security(("admin" = [])),
    request_body(content = NewAccount, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = AccountOut),
        (status = 400, description = "`malformed`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`, `platform-only`", body = ErrorBody),
        (status = 404, description = "`unknown-election`, `no-certificates`, `unknown-issuer`", body = ErrorBody),
    )
)]
pub(crate) async fn create_account(
    State(p): State<Platform>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<AccountOut>), ApiError> {
    let who = p
        .accounts()
        .authorize_platform(bearer(&headers), Role::Administrator)?;
    let req: NewAccount = crate::api::parse_json(&headers, &body)?;
    let scope = p.scope(&req.elections)?;
    // Argon2id takes a while: not on the async workers.
    let accounts = p.accounts.clone();
    let (name, role, password, s2) = (req.name.clone(), req.role, req.password, scope.clone());
    tokio::task::spawn_blocking(move || {
        accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .create_user(&name, role, &s2, &password)
    })
    .await
    .map_err(|_| ApiError::internal())??;
    p.accounts().audit(
        None,
        &who.name,
        "create-account",
        &format!("{} ({})", req.name, scope.encode()),
    );
    Ok((
        StatusCode::CREATED,
        Json(AccountOut {
            name: req.name,
            role: req.role,
            elections: scope.listed(),
        }),
    ))
}

/// Set the elections an account may act on (its live sessions follow at once). Platform
/// administrators only.
#[utoipa::path(
    put,
    path = "/api/v1/admin/accounts/{name}/elections",
    tag = "admin",
    security(("admin" = [])),
    params(("name" = String, Path, description = "The account")),
    request_body(content = Assignment, content_type = "application/json"),
    responses(
        (status = 204, description = "Assigned"),
        (status = 400, description = "`malformed`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`, `platform-only`", body = ErrorBody),
        (status = 404, description = "`no-account`, `unknown-election`, `no-certificates`, `unknown-issuer`", body = ErrorBody),
    )
)]
pub(crate) async fn assign(
    State(p): State<Platform>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let who = p
        .accounts()
        .authorize_platform(bearer(&headers), Role::Administrator)?;
    let req: Assignment = crate::api::parse_json(&headers, &body)?;
    let scope = p.scope(&req.elections)?;
    p.accounts().set_scope(&name, &scope)?;
    p.accounts().audit(
        None,
        &who.name,
        "assign-account",
        &format!("{name} ({})", scope.encode()),
    );
    Ok(StatusCode::NO_CONTENT)
}
