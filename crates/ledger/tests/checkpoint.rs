//! Checkpoints and signed notes: format, signatures, cosignatures, strict parsing.
use ed25519_dalek::SigningKey;
use hanpyo_ledger::checkpoint::{Checkpoint, KeyKind, NoteError, NoteSigner, SignedNote};

fn signer(seed: u8, name: &str, kind: KeyKind) -> NoteSigner {
    NoteSigner::new(name, SigningKey::from_bytes(&[seed; 32]), kind).expect("valid name")
}

fn checkpoint() -> Checkpoint {
    Checkpoint {
        origin: "hanpyo.test/log".into(),
        size: 42,
        root: [7u8; 32],
    }
}

#[test]
fn a_signed_checkpoint_round_trips_and_verifies() {
    let log = signer(1, "hanpyo.test/log", KeyKind::Ed25519);
    let witness = signer(2, "witness.example", KeyKind::Cosignature);
    let cp = checkpoint();
    let body = cp.body();
    assert_eq!(
        body,
        "hanpyo.test/log\n42\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n"
    );
    let mut note = SignedNote::new(body.clone());
    note.add_signature_line(&log.signature_line(&body, 0))
        .expect("line");
    note.add_signature_line(&witness.signature_line(&body, 1_700_000_000))
        .expect("line");
    let text = note.to_text();
    assert!(text.starts_with(&body) && text.contains("\n\n\u{2014} hanpyo.test/log "));
    let parsed = SignedNote::parse(&text).expect("parses");
    assert_eq!(parsed, note);
    assert_eq!(parsed.verify(log.verifier()), Ok(None));
    assert_eq!(parsed.verify(witness.verifier()), Ok(Some(1_700_000_000)));
    assert_eq!(Checkpoint::parse_body(&parsed.body).expect("body"), cp);
    // Another key of the same name is not the log's.
    let impostor = signer(3, "hanpyo.test/log", KeyKind::Ed25519);
    assert!(matches!(
        parsed.verify(impostor.verifier()),
        Err(NoteError::MissingSignature(_))
    ));
}

#[test]
fn any_changed_byte_is_detected() {
    let log = signer(1, "hanpyo.test/log", KeyKind::Ed25519);
    let body = checkpoint().body();
    let mut note = SignedNote::new(body.clone());
    note.add_signature_line(&log.signature_line(&body, 0))
        .expect("line");
    let text = note.to_text().into_bytes();
    for i in 0..text.len() {
        let mut t = text.clone();
        t[i] ^= 0x01;
        let ok = std::str::from_utf8(&t)
            .ok()
            .and_then(|s| SignedNote::parse(s).ok())
            .is_some_and(|n| {
                n.verify(log.verifier()).is_ok()
                    && Checkpoint::parse_body(&n.body).is_ok_and(|c| c == checkpoint())
            });
        assert!(!ok, "byte {i} changed and still accepted");
    }
}

#[test]
fn malformed_bodies_are_refused() {
    for bad in [
        "o\n042\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n",
        "o\n42\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc\n",
        "o\n42\n",
        "\n42\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n",
        "o\n-1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n",
        "o\n42\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
    ] {
        assert!(Checkpoint::parse_body(bad).is_err(), "{bad:?}");
    }
    assert!(SignedNote::parse("body\n").is_err());
    assert!(SignedNote::parse("body\n\n").is_err());
    assert!(
        NoteSigner::new(
            "has space",
            SigningKey::from_bytes(&[1; 32]),
            KeyKind::Ed25519
        )
        .is_err()
    );
}
