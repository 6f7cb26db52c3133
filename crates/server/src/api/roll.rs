//! The voter roll: import (all or nothing) and purge.
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{AppState, audit, authorize, identity, lock};
use crate::election::Phase;
use crate::error::{ApiError, ErrorBody};
use crate::roll::{RollEncoding, decode_roll};

/// How many voters were imported, and the text encoding the roll was read in.
#[derive(Serialize, ToSchema)]
pub(super) struct Imported {
    imported: usize,
    /// `utf-8` or `cp949`.
    encoding: &'static str,
}

/// The roll file's text encoding.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct RollQuery {
    /// `auto` (default: UTF-8 when valid, else CP949), `utf-8` or `cp949`.
    #[serde(default)]
    encoding: RollEncoding,
}

/// Import the voter roll (CSV, `name,birth_date,resident_id,contact,district[,credential]`):
/// every bad line is reported, and nothing is half-imported.
#[utoipa::path(
    post,
    path = "/api/v1/admin/roll",
    tag = "admin",
    security(("admin" = [])),
    params(RollQuery),
    request_body(content = String, content_type = "text/csv", description = "The roll as CSV, with its header line, in UTF-8 or CP949"),
    responses(
        (status = 200, description = "Imported", body = Imported),
        (status = 400, description = "`malformed`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 409, description = "`already-on-roll`", body = ErrorBody),
        (status = 422, description = "`bad-roll`, with every bad line in its errors list", body = ErrorBody),
    )
)]
pub(super) async fn import_roll(
    State(s): State<AppState>,
    Query(q): Query<RollQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let who = authorize(&s, &headers)?;
    let (text, encoding) = decode_roll(&body, q.encoding).map_err(ApiError::malformed)?;
    match crate::roll::parse_roll(&text) {
        Ok(voters) => {
            let n = identity(&s).import(&voters)?;
            tracing::info!(voters = n, encoding, "roll imported");
            audit(&s, &who, "import-roll", &format!("{n} voters"));
            Ok(Json(Imported {
                imported: n,
                encoding,
            })
            .into_response())
        }
        Err(errors) => {
            audit(&s, &who, "import-roll", "refused");
            Err(ApiError::new(
                422,
                "bad-roll",
                format!("{} problem(s); nothing was imported", errors.len()),
            )
            .lines(errors))
        }
    }
}

/// The roll was erased.
#[derive(Serialize, ToSchema)]
pub(super) struct Purged {
    purged: bool,
}

/// Erase the roll, login codes, sessions and credential bindings, and destroy the roll key
/// (not while voting is open).
#[utoipa::path(
    post,
    path = "/api/v1/admin/purge-roll",
    tag = "admin",
    security(("admin" = [])),
    responses(
        (status = 200, description = "Purged", body = Purged),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 409, description = "`wrong-phase`", body = ErrorBody),
    )
)]
pub(super) async fn purge_roll(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Purged>, ApiError> {
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
    Ok(Json(Purged { purged: true }))
}
