//! Demo servers only (`hanpyo demo`): what lets anyone try the booth without a mailbox, and
//! `hanpyo loadtest` find the demo's voters. Every other server answers `not-found`.
use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use crate::error::{ApiError, ErrorBody};

fn demo_dir(s: &AppState) -> Result<&std::path::Path, ApiError> {
    s.demo_data
        .as_deref()
        .ok_or_else(|| ApiError::not_found("not a demo server"))
}

/// A fictitious demo voter.
#[derive(Serialize, ToSchema)]
pub(super) struct DemoVoter {
    resident_id: String,
    birth_date: String,
    /// Their secret credential (hex): in a demo, anyone may vote as anyone.
    credential: String,
    contact: String,
}

/// The demo's files and a few of its voters.
#[derive(Serialize, ToSchema)]
pub(super) struct DemoInfo {
    /// This election's directory.
    #[schema(value_type = String)]
    data_dir: std::path::PathBuf,
    /// Its voters: `resident id,birth date,credential,contact` lines.
    #[schema(value_type = String)]
    voters_file: std::path::PathBuf,
    /// Where the login codes go (every election's).
    #[schema(value_type = Option<String>)]
    outbox: Option<std::path::PathBuf>,
    voters: Vec<DemoVoter>,
}

/// The outbox the election's codes are written to, if any.
fn outbox(s: &AppState) -> Option<&std::path::Path> {
    match &s.delivery {
        crate::delivery::Delivery::Outbox(p) => Some(p),
        _ => None,
    }
}

/// Demo servers only: where the demo's data directory is (for `hanpyo loadtest` on the same
/// machine) and a few of its fictitious voters, so the booth can be tried without a mailbox.
#[utoipa::path(
    get,
    path = "/api/v1/demo",
    tag = "demo",
    responses(
        (status = 200, description = "The demo", body = DemoInfo),
        (status = 404, description = "`not-found`: not a demo server", body = ErrorBody),
    )
)]
pub(super) async fn demo_info(State(s): State<AppState>) -> Result<Json<DemoInfo>, ApiError> {
    let dir = demo_dir(&s)?;
    let voters = std::fs::read_to_string(dir.join("demo-voters.txt"))
        .unwrap_or_default()
        .lines()
        .take(5)
        .filter_map(|l| match l.split(',').collect::<Vec<_>>()[..] {
            [resident_id, birth_date, credential, contact] => Some(DemoVoter {
                resident_id: resident_id.into(),
                birth_date: birth_date.into(),
                credential: credential.into(),
                contact: contact.into(),
            }),
            _ => None,
        })
        .collect();
    Ok(Json(DemoInfo {
        data_dir: dir.to_path_buf(),
        voters_file: dir.join("demo-voters.txt"),
        outbox: outbox(&s).map(std::path::Path::to_path_buf),
        voters,
    }))
}

/// Whose mailbox.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct MailboxQuery {
    /// A demo voter's contact.
    to: String,
}

/// The latest code sent to a demo contact.
#[derive(Serialize, ToSchema)]
pub(super) struct Mail {
    to: String,
    code: String,
}

/// Demo servers only: the latest one-time code sent to a demo contact (the demo's outbox stands in
/// for the text message a real voter receives).
#[utoipa::path(
    get,
    path = "/api/v1/demo/mailbox",
    tag = "demo",
    params(MailboxQuery),
    responses(
        (status = 200, description = "The code", body = Mail),
        (status = 404, description = "`not-found`: not a demo server, or no code sent yet", body = ErrorBody),
    )
)]
pub(super) async fn demo_mailbox(
    State(s): State<AppState>,
    Query(q): Query<MailboxQuery>,
) -> Result<Json<Mail>, ApiError> {
    demo_dir(&s)?;
    let path = outbox(&s).ok_or_else(|| ApiError::not_found("no outbox"))?;
    let code = std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["to"] == q.to.as_str())
        .filter_map(|v| v["code"].as_str().map(str::to_string))
        .next_back()
        .ok_or_else(|| ApiError::not_found("no code sent to that contact yet"))?;
    Ok(Json(Mail { to: q.to, code }))
}
