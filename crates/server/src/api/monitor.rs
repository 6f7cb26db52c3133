//! What administrators and observers watch: status, turnout (aggregates only) and the audit log.
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Serialize;
use utoipa::ToSchema;

use super::{AppState, DISTRICT_TURNOUT_TTL, authorize_observer, identity, lock};
use crate::election::Phase;
use crate::error::{ApiError, ErrorBody};

/// The election's counts.
#[derive(Serialize, ToSchema)]
pub(super) struct Status {
    phase: Phase,
    /// Voters on the roll.
    roll: u64,
    /// Public credentials published.
    credentials: usize,
    /// Ballots received (revotes included).
    ballots: u64,
    /// Ballots that count (each credential's last).
    counted: u64,
    /// Audits posted.
    audited: u64,
}

/// Phase, roll size and turnout.
#[utoipa::path(
    get,
    path = "/api/v1/admin/status",
    tag = "admin",
    security(("admin" = [])),
    responses(
        (status = 200, description = "The counts", body = Status),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
    )
)]
pub(super) async fn admin_status(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Status>, ApiError> {
    authorize_observer(&s, &headers)?;
    let roll = identity(&s).roll_size()?;
    let st = lock(&s);
    Ok(Json(Status {
        phase: st.phase,
        roll,
        credentials: st.credentials.len(),
        ballots: st.ballots,
        counted: st.counted(),
        audited: st.audited,
    }))
}

/// One district's turnout.
#[derive(Serialize, ToSchema)]
pub(super) struct DistrictTurnoutOut {
    district: String,
    /// Voters on the roll.
    roll: u64,
    /// Voters who have cast a ballot.
    voted: u64,
}

/// Turnout while voting goes on, in aggregates only (the published result's turnout is `Turnout`).
#[derive(Serialize, ToSchema)]
pub(super) struct TurnoutProgress {
    /// `[unix seconds, voters]` pairs (credentials with a ballot: the same count as `counted`), one a
    /// minute since the server process started.
    series: Vec<[u64; 2]>,
    districts: Vec<DistrictTurnoutOut>,
    /// How old the per-district figures are (they are recomputed at most every 20 s).
    districts_age_seconds: u64,
    ballots: u64,
    counted: u64,
    credentials: usize,
}

/// Turnout for the administrators: ballots over time (since this server process started) and, per
/// district, voters on the roll and voters who have cast a ballot. Aggregates only.
#[utoipa::path(
    get,
    path = "/api/v1/admin/turnout",
    tag = "admin",
    security(("admin" = [])),
    responses(
        (status = 200, description = "Turnout", body = TurnoutProgress),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
    )
)]
pub(super) async fn turnout(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<TurnoutProgress>, ApiError> {
    authorize_observer(&s, &headers)?;
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
    let districts = per_district
        .into_iter()
        .map(|(district, roll, voted)| DistrictTurnoutOut {
            district,
            roll,
            voted,
        })
        .collect();
    let mut st = lock(&s);
    st.note_turnout();
    Ok(Json(TurnoutProgress {
        series: st.turnout.iter().map(|(m, n)| [m * 60, *n]).collect(),
        districts,
        districts_age_seconds: at.elapsed().as_secs(),
        ballots: st.ballots,
        counted: st.counted(),
        credentials: st.credentials.len(),
    }))
}
