//! API errors: a stable machine code, a human message and an HTTP status, sent as
//! `{"code": "...", "message": "..."}`.
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error returned by the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Stable code (see `docs/api.md`).
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// Seconds until trying again can succeed (a lockout), sent as `Retry-After` and in the body.
    pub retry_after: Option<u64>,
    /// The lines of an uploaded file that are wrong (a roll).
    pub lines: Option<Vec<crate::roll::LineError>>,
}

impl ApiError {
    /// An error with `status` and `code`.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            lines: None,
        }
    }
    /// The same error, naming the lines of the uploaded file that are wrong.
    pub fn lines(mut self, lines: Vec<crate::roll::LineError>) -> Self {
        self.lines = Some(lines);
        self
    }
    /// The same error, saying when to try again.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
    /// The body is not a well-formed entry of the right kind.
    pub fn malformed(m: impl Into<String>) -> Self {
        Self::new(400, "malformed", m)
    }
    /// The election does not accept ballots now.
    pub fn closed() -> Self {
        Self::new(
            409,
            "election-closed",
            "the election is not open for voting",
        )
    }
    /// The credential is not on the list.
    pub fn not_eligible() -> Self {
        Self::new(
            403,
            "not-eligible",
            "the ballot's credential is not on the election's credential list",
        )
    }
    /// A signature or proof does not verify.
    pub fn bad_proof() -> Self {
        Self::new(
            422,
            "bad-proof",
            "the ballot's signature or a proof does not verify (another election's ballot?)",
        )
    }
    /// This exact ballot was already received.
    pub fn replay() -> Self {
        Self::new(409, "replay", "this exact ballot was already received")
    }
    /// The ballot reuses a ciphertext an audit opened (its content is public).
    pub fn audited_encryption() -> Self {
        Self::new(
            409,
            "audited-encryption",
            "this ballot reuses an encryption that was audited (its content is public): encrypt the choices again",
        )
    }
    /// Not found.
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::new(404, "not-found", m)
    }
    /// Missing or wrong administrator token.
    pub fn unauthorized() -> Self {
        Self::new(401, "unauthorized", "administrator authentication required")
    }
    /// An unexpected failure (details are logged, not sent).
    pub fn internal() -> Self {
        Self::new(500, "internal", "internal error; nothing was recorded")
    }
    /// Overloaded: retry later.
    pub fn busy() -> Self {
        Self::new(503, "busy", "the server is busy; retry shortly")
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The stable code: what a client acts on (see `docs/api.md`).
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// With `bad-roll` and `already-on-roll`: every line of the roll that is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<crate::roll::LineError>>,
    /// With `locked`: seconds until the lockout ends (also the `Retry-After` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = (
            status,
            Json(ErrorBody {
                code: self.code.to_string(),
                message: self.message,
                errors: self.lines,
                retry_after: self.retry_after,
            }),
        )
            .into_response();
        let retry = match (self.retry_after, self.status) {
            (Some(seconds), _) => Some(axum::http::HeaderValue::from(seconds)),
            (None, 503) => Some(axum::http::HeaderValue::from_static("1")),
            _ => None,
        };
        if let Some(v) = retry {
            r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        r
    }
}
