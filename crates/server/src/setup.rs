//! A data directory without an election yet (made by `hanpyo admin create-user`): the server serves
//! the web pages and lets an administrator create the election from the console. The manifest
//! becomes the ledger's first entry ([`crate::create_election`]), and the same listener then serves
//! that election, with the administrator's session still valid.
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::accounts::{Accounts, Role};
use crate::api::bearer;
use crate::error::ApiError;

#[derive(Clone)]
struct SetupState {
    data: PathBuf,
    accounts: Arc<Mutex<Accounts>>,
    activation: crate::Activation,
    creating: Arc<tokio::sync::Mutex<bool>>,
    client_limits: Arc<Mutex<crate::limits::Buckets<std::net::IpAddr>>>,
}

fn accounts(s: &SetupState) -> std::sync::MutexGuard<'_, Accounts> {
    s.accounts.lock().unwrap_or_else(|e| e.into_inner())
}

/// The routes while there is no election: the pages, administrator login, the manifest check and
/// the creation; every other API path answers 503 `no-election`.
pub(crate) fn router(
    data: &std::path::Path,
    accounts: Arc<Mutex<Accounts>>,
    activation: crate::Activation,
) -> Router {
    let state = SetupState {
        data: data.to_path_buf(),
        accounts,
        activation,
        creating: Arc::new(tokio::sync::Mutex::new(false)),
        client_limits: Arc::new(Mutex::new(crate::limits::Buckets::new(
            crate::Options::defaults().client_rate,
        ))),
    };
    let router = Router::new()
        .route("/healthz", get(crate::openapi::healthz))
        .route(
            "/api/v1/elections",
            get(|| async { Json(Vec::<()>::new()) }),
        )
        .route("/api/v1/openapi.json", get(crate::openapi::openapi_json))
        .route("/api/v1/admin/login", post(login))
        .route("/api/v1/admin/audit-log", get(audit_log))
        .route("/api/v1/admin/manifest-check", post(manifest_check))
        .route("/api/v1/admin/elections", post(create))
        .route("/api/v1/admin/logout", post(logout))
        .fallback(fallback);
    crate::api::with_limits(router).with_state(state)
}

async fn fallback(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError::new(
            503,
            "no-election",
            "no election yet: an administrator creates it in the console (/admin.html)",
        )
        .into_response()
    } else {
        crate::web::asset(uri).await
    }
}

async fn login(
    State(s): State<SetupState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<crate::api::AdminSession>, ApiError> {
    s.client_limits
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take(peer.ip())
        .map_err(crate::api::limited)?;
    crate::api::login_answer(s.accounts.clone(), peer.ip(), &headers, &body).await
}

async fn logout(State(s): State<SetupState>, headers: HeaderMap) -> StatusCode {
    accounts(&s).logout(bearer(&headers));
    StatusCode::NO_CONTENT
}

async fn audit_log(
    State(s): State<SetupState>,
    headers: HeaderMap,
) -> Result<Json<Vec<crate::accounts::AuditRecord>>, ApiError> {
    accounts(&s).authorize(bearer(&headers), Role::Observer)?;
    Ok(Json(accounts(&s).audit_log()))
}

async fn manifest_check(
    State(s): State<SetupState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<crate::api::ManifestSummary>, ApiError> {
    accounts(&s).authorize(bearer(&headers), Role::Administrator)?;
    let (m, _) = crate::api::checked_manifest(&body, crate::unassigned_ledger())?;
    Ok(Json(crate::api::manifest_summary(&m)))
}

/// `POST /api/v1/admin/elections`: creates the election of the manifest in the body.
async fn create(
    State(s): State<SetupState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<crate::api::ManifestSummary>), ApiError> {
    let who = accounts(&s).authorize(bearer(&headers), Role::Administrator)?;
    let (m, urls) = crate::api::checked_manifest(&body, crate::unassigned_ledger())?;
    // One creation at a time; a second request after the first gets `election-exists`.
    let mut done = s.creating.lock().await;
    if *done {
        return Err(ApiError::new(
            409,
            "election-exists",
            "the election was just created",
        ));
    }
    let data = s.data.clone();
    let activation = s.activation.clone();
    let m = tokio::task::spawn_blocking(move || {
        let m = crate::create_election(&data, m, &urls)?;
        activation.activate()?;
        Ok::<_, crate::ServerError>(m)
    })
    .await
    .map_err(|_| ApiError::internal())?
    .map_err(|e| {
        tracing::error!(error = %e, "creating the election");
        ApiError::internal()
    })?;
    *done = true;
    accounts(&s).audit(&who.name, "create-election", &m.election_id);
    tracing::info!(election = %m.election_id, "election created and served");
    Ok((StatusCode::CREATED, Json(crate::api::manifest_summary(&m))))
}
