//! Witnesses over HTTP, both sides of C2SP tlog-witness (`POST <prefix>/add-checkpoint`):
//! [`RemoteWitness`], how the sequencer asks a witness run by another organisation (the manifest
//! names each witness and its key; the operator tells the server where it is, `hanpyo serve
//! --witness NAME=URL`; a cosignature is kept only if it verifies under the manifest's key), and
//! [`witness_router`], the service `hanpyo witness serve` runs.
use std::time::Duration;

use hanpyo_ledger::checkpoint::{Checkpoint, NoteError, NoteVerifier, SignedNote};
use hanpyo_ledger::merkle::Hash;
use hanpyo_ledger::witness::{
    AddCheckpoint, CosignError, Cosigner, Witness, WitnessError, WitnessState,
};

/// How long one witness may take to answer (the sequencer waits for the slowest it asks).
pub const WITNESS_TIMEOUT: Duration = Duration::from_secs(3);

/// A witness at a URL.
#[derive(Debug)]
pub struct RemoteWitness {
    verifier: NoteVerifier,
    url: String,
    agent: ureq::Agent,
    /// The size it last co-signed, as far as we know.
    last: u64,
}

impl RemoteWitness {
    /// The witness `verifier` (its manifest name and key) serving at `url` (the submission
    /// prefix: requests go to `url/add-checkpoint`).
    pub fn new(verifier: NoteVerifier, url: &str) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(WITNESS_TIMEOUT))
            .build()
            .into();
        Self {
            verifier,
            url: url.trim_end_matches('/').to_string(),
            agent,
            last: 0,
        }
    }

    /// The first line of `answer` that is this witness's valid cosignature on `note`.
    fn valid_line(&self, note: &str, answer: &str) -> Option<String> {
        let base = SignedNote::parse(note).ok()?;
        answer
            .split_inclusive('\n')
            .filter(|l| l.starts_with('\u{2014}'))
            .find(|line| {
                let mut n = SignedNote::new(base.body.clone());
                n.add_signature_line(line).is_ok() && n.verify(&self.verifier).is_ok()
            })
            .map(str::to_string)
    }
}

impl Cosigner for RemoteWitness {
    fn name(&self) -> &str {
        self.verifier.name()
    }

    fn last_size(&self, _origin: &str) -> u64 {
        self.last
    }

    fn cosign(
        &mut self,
        note: &str,
        old_size: u64,
        proof: &[Hash],
        _timestamp: u64,
    ) -> Result<String, CosignError> {
        let body = AddCheckpoint {
            old_size,
            proof: proof.to_vec(),
            checkpoint: note.to_string(),
        }
        .encode();
        let mut resp = self
            .agent
            .post(format!("{}/add-checkpoint", self.url))
            .header("content-type", "text/plain; charset=utf-8")
            .send(body)
            .map_err(|e| CosignError::Unavailable(e.to_string()))?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_string()
            .map_err(|e| CosignError::Unavailable(e.to_string()))?;
        match status {
            200 => {
                let line = self.valid_line(note, &text).ok_or_else(|| {
                    CosignError::Unavailable("the answer holds no valid cosignature".into())
                })?;
                if let Some(size) = SignedNote::parse(note)
                    .ok()
                    .and_then(|n| Checkpoint::parse_body(&n.body).ok())
                    .map(|c| c.size)
                {
                    self.last = size;
                }
                Ok(line)
            }
            409 => match text.strip_suffix('\n').and_then(|n| n.parse::<u64>().ok()) {
                // A size conflict; a 409 without a size is a same-size fork.
                Some(latest) => {
                    self.last = latest;
                    Err(CosignError::Conflict(latest))
                }
                None => Err(CosignError::Refused(format!("409: {}", text.trim()))),
            },
            _ => Err(CosignError::Refused(format!(
                "{status}: {}",
                text.chars().take(200).collect::<String>().trim()
            ))),
        }
    }
}

/// Persists a witness's state; called with the witness locked, before its cosignature is sent.
pub type SaveState = Box<dyn Fn(&WitnessState) -> std::io::Result<()> + Send + Sync>;

/// A witness serving C2SP tlog-witness for the logs it follows.
struct Service {
    witness: std::sync::Mutex<Witness>,
    save: SaveState,
}

/// The router of `hanpyo witness serve`: `POST /add-checkpoint` (C2SP tlog-witness). The check of
/// the old size, the persistence of the new state and the cosignature happen under one lock, so
/// two concurrent requests can never roll the witness back.
pub fn witness_router(witness: Witness, save: SaveState) -> axum::Router {
    let service = std::sync::Arc::new(Service {
        witness: std::sync::Mutex::new(witness),
        save,
    });
    axum::Router::new()
        .route(
            "/add-checkpoint",
            axum::routing::post(move |body: axum::body::Bytes| {
                let service = service.clone();
                async move {
                    tokio::task::spawn_blocking(move || add_checkpoint(&service, &body))
                        .await
                        .unwrap_or_else(|_| plain(500, "internal error\n"))
                }
            }),
        )
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST))
}

/// Largest `add-checkpoint` body (63 proof lines and a note with its signatures fit well within).
const MAX_REQUEST: usize = 64 * 1024;

fn plain(status: u16, text: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::from_u16(status)
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        text.to_string(),
    )
        .into_response()
}

fn add_checkpoint(service: &Service, body: &[u8]) -> axum::response::Response {
    use axum::response::IntoResponse;
    let Ok(text) = std::str::from_utf8(body) else {
        return plain(400, "the request is not UTF-8\n");
    };
    let req = match AddCheckpoint::parse(text) {
        Ok(r) => r,
        Err(e) => return plain(400, &format!("{e}\n")),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut w = service.witness.lock().unwrap_or_else(|e| e.into_inner());
    let before = w.state().clone();
    match w.cosign(&req.checkpoint, req.old_size, &req.proof, now) {
        Ok(line) => {
            if let Err(e) = (service.save)(w.state()) {
                // Not persisted: the cosignature is not released, and the state goes back.
                tracing::error!(error = %e, "persisting the witness state");
                w.restore_state(before);
                return plain(500, "the witness could not persist its state\n");
            }
            tracing::info!(line = line.trim_end(), "co-signed");
            plain(200, &line)
        }
        Err(e) => {
            tracing::warn!(error = %e, "refused a checkpoint");
            match e {
                WitnessError::Request(_) | WitnessError::Note(NoteError::Malformed(_)) => {
                    plain(400, &format!("{e}\n"))
                }
                WitnessError::UnknownLog(_) => plain(404, &format!("{e}\n")),
                WitnessError::Note(_) => plain(403, &format!("{e}\n")),
                WitnessError::Conflict { latest, .. } => (
                    axum::http::StatusCode::CONFLICT,
                    [(axum::http::header::CONTENT_TYPE, "text/x.tlog.size")],
                    format!("{latest}\n"),
                )
                    .into_response(),
                // The old size (the witness's) is above the checkpoint's size.
                WitnessError::Rollback { .. } => plain(400, &format!("{e}\n")),
                WitnessError::Fork { latest, new } if latest == new => {
                    plain(409, &format!("{e}\n"))
                }
                WitnessError::Fork { .. } => plain(422, &format!("{e}\n")),
                WitnessError::State(_) => plain(500, "corrupt witness state\n"),
            }
        }
    }
}
