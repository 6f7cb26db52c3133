//! Logging in: a voter with a one-time code, an administrator or observer with a password.
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AppState, bearer, identity, limit_client, parse_json, scoped, unscoped};
use crate::accounts::Role;
use crate::error::{ApiError, ErrorBody};

/// Who asks for a code, as the roll lists them.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct LoginStart {
    /// The resident registration number (`YYMMDD-NNNNNNN`, with or without the hyphen).
    resident_id: String,
    /// The birth date (`YYYY-MM-DD`; `YYYYMMDD` and `YYYY.M.D` are read too).
    birth_date: String,
}

/// The code a voter received, with who they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct LoginVerify {
    /// As for `login/start`.
    resident_id: String,
    /// As for `login/start`.
    birth_date: String,
    /// The one-time code.
    code: String,
}

/// A code request's answer. `sent_to` names where a code went (masked) when one was sent; a
/// request that sent nothing (not on the roll, locked out, five codes already live) has none.
#[derive(Serialize, ToSchema)]
pub(super) struct CodeRequested {
    status: &'static str,
    /// The contact the code went to, masked (`010-****-5678`, `k***@example.kr`).
    sent_to: Option<String>,
    /// Seconds a code stays valid.
    expires_in: i64,
    /// Seconds before the page offers to send another code.
    resend_after: i64,
}

/// How long the login page waits before offering to send the code again.
const RESEND_AFTER_SECONDS: i64 = 30;

/// A voter's session.
#[derive(Serialize, ToSchema)]
pub(super) struct VoterSession {
    /// The bearer token for casting.
    session: String,
    /// Seconds until it expires.
    expires_in: i64,
}

/// An administrator's or observer's session.
#[derive(Serialize, ToSchema)]
pub(crate) struct AdminSession {
    /// The bearer token.
    session: String,
    role: Role,
}

/// Ask for a one-time login code, sent to the contact the roll lists. The answer names the
/// masked contact when a code was sent, as government services do (the roll is open to inspection
/// under the Resident Voting Act; threat-model.md, *Login and credential*).
#[utoipa::path(
    post,
    path = "/api/v1/login/start",
    tag = "login",
    request_body(content = LoginStart, content_type = "application/json"),
    responses(
        (status = 202, description = "Accepted", body = CodeRequested),
        (status = 400, description = "`malformed`", body = ErrorBody),
        (status = 429, description = "`rate-limited`, `locked`", body = ErrorBody),
        (status = 502, description = "`delivery-failed`", body = ErrorBody),
        (status = 503, description = "`no-delivery`", body = ErrorBody),
    )
)]
pub(super) async fn login_start(
    State(s): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<CodeRequested>), ApiError> {
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
    let sent_to = pending
        .as_ref()
        .map(|(to, _)| crate::identity::masked_contact(to));
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
        Json(CodeRequested {
            status: "if you are on the roll, a code was sent to your contact",
            sent_to,
            expires_in: crate::identity::CODE_SECONDS,
            resend_after: RESEND_AFTER_SECONDS,
        }),
    ))
}

/// Exchange the code for a voter session.
#[utoipa::path(
    post,
    path = "/api/v1/login/verify",
    tag = "login",
    request_body(content = LoginVerify, content_type = "application/json"),
    responses(
        (status = 200, description = "Logged in", body = VoterSession),
        (status = 400, description = "`malformed`", body = ErrorBody),
        (status = 401, description = "`bad-code`", body = ErrorBody),
        (status = 429, description = "`rate-limited`, `locked`", body = ErrorBody),
    )
)]
pub(super) async fn login_verify(
    State(s): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<VoterSession>, ApiError> {
    limit_client(&s, peer)?;
    let req: LoginVerify = parse_json(&headers, &body)?;
    let session = identity(&s).finish_login(&req.resident_id, &req.birth_date, &req.code)?;
    Ok(Json(VoterSession {
        session: scoped(&s, &session),
        expires_in: crate::identity::SESSION_SECONDS,
    }))
}

/// An account's name and password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AdminLogin {
    name: String,
    password: String,
}

/// End a voter's session (the booth's "finish", for shared devices): its token stops working at
/// once (an unknown token is not an error).
#[utoipa::path(
    post,
    path = "/api/v1/logout",
    tag = "login",
    security((), ("voter" = [])),
    responses((status = 204, description = "Logged out"))
)]
pub(super) async fn voter_logout(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    if let Some(token) = unscoped(&s, bearer(&headers))? {
        identity(&s).end_session(token)?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// An administrator's login (also served before any election exists).
pub(crate) async fn login_answer(
    accounts: Arc<Mutex<crate::accounts::Accounts>>,
    address: std::net::IpAddr,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Json<AdminSession>, ApiError> {
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
    Ok(Json(AdminSession {
        session: token,
        role,
    }))
}
