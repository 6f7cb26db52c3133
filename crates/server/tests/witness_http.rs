//! `hanpyo witness serve`'s HTTP interface against C2SP tlog-witness: every answer the
//! specification names, for a log that grows, one that rolls back, one that forks, an unknown log
//! and a checkpoint not signed by the log. The witness state is persisted before a cosignature is
//! released; a state that cannot be persisted releases none.
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ed25519_dalek::SigningKey;
use hanpyo_ledger::checkpoint::{Checkpoint, KeyKind, NoteSigner, NoteVerifier, SignedNote};
use hanpyo_ledger::merkle::{Hash, consistency_proof, leaf_hash, root_of};
use hanpyo_ledger::witness::{AddCheckpoint, Witness, WitnessState};
use tower::ServiceExt;

const ORIGIN: &str = "example.org/log";

fn log_signer(seed: u8) -> NoteSigner {
    NoteSigner::new(
        ORIGIN,
        SigningKey::from_bytes(&[seed; 32]),
        KeyKind::Ed25519,
    )
    .expect("signer")
}

/// The checkpoint of the first `n` leaves, signed by `log`.
fn note(log: &NoteSigner, leaves: &[Hash], n: usize) -> String {
    let body = Checkpoint {
        origin: ORIGIN.into(),
        size: n as u64,
        root: root_of(&leaves[..n]),
    }
    .body();
    let mut note = SignedNote::new(body.clone());
    note.add_signature_line(&log.signature_line(&body, 0))
        .expect("line");
    note.to_text()
}

fn request(old: u64, proof: Vec<Hash>, checkpoint: String) -> String {
    AddCheckpoint {
        old_size: old,
        proof,
        checkpoint,
    }
    .encode()
}

async fn post(app: &axum::Router, body: String) -> (StatusCode, String, String) {
    let resp = app
        .clone()
        .oneshot(
            Request::post("/add-checkpoint")
                .body(Body::from(body))
                .expect("request"),
        )
        .await
        .expect("answer");
    let status = resp.status();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .expect("body");
    (status, ctype, String::from_utf8_lossy(&bytes).into_owned())
}

fn witness(log: &NoteSigner) -> Witness {
    let mut w = Witness::new(
        "witness.example.org",
        SigningKey::from_bytes(&[42; 32]),
        WitnessState::default(),
    )
    .expect("witness");
    w.add_log(ORIGIN, log.verifier().key());
    w
}

#[tokio::test]
async fn the_witness_answers_as_c2sp_tlog_witness_says() {
    let log = log_signer(1);
    let leaves: Vec<Hash> = (0..40u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let w = witness(&log);
    let verifier: NoteVerifier = w.verifier().clone();
    let saved: Arc<Mutex<Vec<WitnessState>>> = Arc::default();
    let s = saved.clone();
    let app = hanpyo_server::witnesses::witness_router(
        w,
        Box::new(move |state| {
            s.lock().expect("lock").push(state.clone());
            Ok(())
        }),
    );

    // First checkpoint (from 0, no proof): a cosignature that verifies, persisted first.
    let (status, _, body) = post(&app, request(0, vec![], note(&log, &leaves, 10))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut n = SignedNote::parse(&note(&log, &leaves, 10)).expect("note");
    n.add_signature_line(&body).expect("cosignature line");
    n.verify(&verifier).expect("the cosignature verifies");
    assert_eq!(
        saved.lock().expect("lock").last().expect("saved").logs[ORIGIN].size,
        10
    );

    // Growth with a consistency proof.
    let proof = consistency_proof(&leaves[..25], 10).expect("proof");
    let (status, _, body) = post(&app, request(10, proof, note(&log, &leaves, 25))).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A wrong old size: 409 with the witness's size as text/x.tlog.size.
    let (status, ctype, body) = post(&app, request(10, vec![], note(&log, &leaves, 30))).await;
    assert_eq!(
        (status, ctype.as_str(), body.as_str()),
        (StatusCode::CONFLICT, "text/x.tlog.size", "25\n")
    );

    // A rollback (old size above the checkpoint's): 400.
    let (status, _, _) = post(&app, request(25, vec![], note(&log, &leaves, 20))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A fork at the same size: 409 (no size); a larger tree that does not extend it: 422.
    let mut forked = leaves.clone();
    forked[3] = leaf_hash(b"rewritten");
    let (status, ctype, _) = post(&app, request(25, vec![], note(&log, &forked, 25))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(!ctype.contains("tlog.size"));
    let proof = consistency_proof(&forked[..30], 25).expect("proof");
    let (status, _, _) = post(&app, request(25, proof, note(&log, &forked, 30))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Not the log's key: 403; a log it does not follow: 404; a malformed body: 400.
    let (status, _, _) = post(&app, request(25, vec![], note(&log_signer(2), &leaves, 25))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let other = NoteSigner::new(
        "example.org/other",
        SigningKey::from_bytes(&[1; 32]),
        KeyKind::Ed25519,
    )
    .expect("signer");
    let body = Checkpoint {
        origin: "example.org/other".into(),
        size: 1,
        root: leaves[0],
    }
    .body();
    let mut unknown = SignedNote::new(body.clone());
    unknown
        .add_signature_line(&other.signature_line(&body, 0))
        .expect("line");
    let (status, _, _) = post(&app, request(0, vec![], unknown.to_text())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = post(&app, "old 01\n\n".to_string() + &note(&log, &leaves, 25)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // After all the refusals the witness still stands at 25 and goes on from there.
    let proof = consistency_proof(&leaves[..40], 25).expect("proof");
    let (status, _, _) = post(&app, request(25, proof, note(&log, &leaves, 40))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        saved.lock().expect("lock").len(),
        3,
        "one save per cosignature"
    );
}

#[tokio::test]
async fn no_cosignature_without_the_state_on_disk() {
    let log = log_signer(1);
    let leaves: Vec<Hash> = (0..5u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let app = hanpyo_server::witnesses::witness_router(
        witness(&log),
        Box::new(|_| Err(std::io::Error::other("disk full"))),
    );
    let (status, _, body) = post(&app, request(0, vec![], note(&log, &leaves, 5))).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!body.contains('\u{2014}'), "no cosignature line: {body}");
    // The state was rolled back: the witness still expects old size 0.
    let (status, _, _) = post(&app, request(0, vec![], note(&log, &leaves, 5))).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
}
