//! A data directory without an election yet (made by `hanpyo admin create-user`): the server serves
//! the web pages and lets an administrator create the election from the console. The manifest
//! becomes the ledger's first entry ([`crate::create_election`]), and the same process then serves
//! that election on the same address, with the administrator's session still valid.
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::accounts::{Accounts, Role};
use crate::error::ApiError;

#[derive(Clone)]
struct SetupState {
    data: PathBuf,
    accounts: Arc<Mutex<Accounts>>,
    created: Arc<tokio::sync::Notify>,
    creating: Arc<tokio::sync::Mutex<bool>>,
}

fn accounts(s: &SetupState) -> std::sync::MutexGuard<'_, Accounts> {
    s.accounts.lock().unwrap_or_else(|e| e.into_inner())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// The routes while there is no election: the pages, administrator login, the manifest check and
/// the creation; every other API path answers 503 `no-election`.
fn router(state: SetupState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/api/v1/elections",
            get(|| async { Json(Vec::<()>::new()) }),
        )
        .route(
            "/api/v1/openapi.json",
            get(|| async { Json(crate::openapi::document()) }),
        )
        .route("/api/v1/admin/login", post(login))
        .route("/api/v1/admin/audit-log", get(audit_log))
        .route("/api/v1/admin/manifest-check", post(manifest_check))
        .route("/api/v1/admin/elections", post(create))
        .fallback(fallback)
        .layer(axum::middleware::map_response(crate::api::security_headers))
        .layer(axum::extract::DefaultBodyLimit::max(crate::api::MAX_BODY))
        .with_state(state)
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
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    crate::api::login_answer(s.accounts.clone(), &body).await
}

async fn audit_log(
    State(s): State<SetupState>,
    headers: HeaderMap,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    accounts(&s).authorize(bearer(&headers), Role::Observer)?;
    Ok(Json(accounts(&s).audit_log()))
}

async fn manifest_check(
    State(s): State<SetupState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    accounts(&s).authorize(bearer(&headers), Role::Administrator)?;
    let m = crate::api::checked_manifest(&body, crate::unassigned_ledger())?;
    Ok(Json(crate::api::manifest_summary(&m)))
}

/// `POST /api/v1/admin/elections`: creates the election of the manifest in the body.
async fn create(
    State(s): State<SetupState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let who = accounts(&s).authorize(bearer(&headers), Role::Administrator)?;
    let m = crate::api::checked_manifest(&body, crate::unassigned_ledger())?;
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
    let m = tokio::task::spawn_blocking(move || crate::create_election(&data, m))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| {
            tracing::error!(error = %e, "creating the election");
            ApiError::internal()
        })?;
    *done = true;
    accounts(&s).audit(&who.name, "create-election", &m.election_id);
    tracing::info!(election = %m.election_id, "election created");
    s.created.notify_one();
    Ok((StatusCode::CREATED, Json(crate::api::manifest_summary(&m))))
}

/// Serves the setup pages until an election is created (answers the listener to serve it on) or
/// `stop` completes (answers `None`).
pub(crate) async fn serve_until_created(
    data: &std::path::Path,
    listener: tokio::net::TcpListener,
    accounts: Arc<Mutex<Accounts>>,
    stop: crate::Stop,
) -> Result<Option<tokio::net::TcpListener>, crate::ServerError> {
    let addr = listener.local_addr()?;
    let created = Arc::new(tokio::sync::Notify::new());
    let state = SetupState {
        data: data.to_path_buf(),
        accounts,
        created: created.clone(),
        creating: Arc::new(tokio::sync::Mutex::new(false)),
    };
    tracing::info!(%addr, "no election yet: waiting for an administrator to create one");
    let was_created = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = was_created.clone();
    let until = async move {
        tokio::select! {
            () = created.notified() => flag.store(true, std::sync::atomic::Ordering::SeqCst),
            () = stop.wait() => {}
        }
    };
    axum::serve(listener, router(state).into_make_service())
        .with_graceful_shutdown(until)
        .await?;
    if !was_created.load(std::sync::atomic::Ordering::SeqCst) {
        return Ok(None);
    }
    // The same address for the election (the setup listener is closed by now).
    Ok(Some(tokio::net::TcpListener::bind(addr).await?))
}
