//! Strong Fiat–Shamir: the one transcript construction every proof in Hanpyo uses.
//!
//! A challenge is `SHA-512(header ‖ items) mod ℓ` (64-byte digest reduced with
//! `Scalar::from_bytes_mod_order_wide`), where
//!
//! ```text
//! header = "hanpyo-fs-v" ‖ u8(PROTOCOL_VERSION)
//!        ‖ u8(len(label)) ‖ label                 -- which relation, e.g. "disjunctive"
//!        ‖ fingerprint[32]                        -- the election (manifest + joint key)
//!        ‖ binding[32]                            -- whose proof (voter credential, trustee key), or zeros
//!        ‖ u32be(question) ‖ u32be(choice)        -- position, NO_POSITION where not applicable
//! items  = a sequence of tagged items, in the order each proof's documentation gives:
//!          0x50 'P' ‖ point[32]                   -- a group element (statement or commitment)
//!          0x55 'U' ‖ u64be(v)                    -- an integer (e.g. range bounds)
//!          0x42 'B' ‖ u32be(len) ‖ bytes          -- a message (e.g. the signed ballot hash)
//! ```
//!
//! Every proof hashes its **whole statement** (all public points, including `G` and the election
//! key) and **all its commitments**, never just the commitments (the "weak Fiat–Shamir" mistake of
//! Helios, Belenios < 4.0 and the 2021 Swiss Post code). `docs/protocol.md` gives the byte layout of
//! each proof's items; known-answer tests pin them.
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};

use crate::PROTOCOL_VERSION;
use crate::group::Element;

/// Position value meaning "not applicable".
pub const NO_POSITION: u32 = u32::MAX;

/// What a proof is bound to besides its statement: the election, the party and the position.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ProofContext {
    /// Election fingerprint: hash of the canonical manifest and the joint public key.
    pub fingerprint: [u8; 32],
    /// The party the proof belongs to (a voter's public credential, a trustee's key), or zeros.
    pub binding: [u8; 32],
    /// Question index, or [`NO_POSITION`].
    pub question: u32,
    /// Choice index within the question, or [`NO_POSITION`].
    pub choice: u32,
}

impl ProofContext {
    /// A context bound to an election only.
    pub fn new(fingerprint: [u8; 32]) -> Self {
        Self {
            fingerprint,
            binding: [0u8; 32],
            question: NO_POSITION,
            choice: NO_POSITION,
        }
    }

    /// The same context, bound to a party (e.g. the ballot's public credential).
    pub fn bound_to(mut self, binding: [u8; 32]) -> Self {
        self.binding = binding;
        self
    }

    /// The same context at a position.
    pub fn at(mut self, question: u32, choice: u32) -> Self {
        self.question = question;
        self.choice = choice;
        self
    }
}

/// An incremental Fiat–Shamir transcript.
#[derive(Clone, Debug)]
pub struct Transcript {
    hash: Sha512,
}

impl Transcript {
    /// Starts a transcript for the relation `label` (at most 255 bytes) in `ctx`.
    pub fn new(label: &'static str, ctx: &ProofContext) -> Self {
        let mut hash = Sha512::new();
        hash.update(b"hanpyo-fs-v");
        hash.update([PROTOCOL_VERSION]);
        // Labels are compile-time constants of this crate, all far shorter than 255 bytes.
        let label_len = u8::try_from(label.len()).unwrap_or(u8::MAX);
        hash.update([label_len]);
        hash.update(&label.as_bytes()[..usize::from(label_len)]);
        hash.update(ctx.fingerprint);
        hash.update(ctx.binding);
        hash.update(ctx.question.to_be_bytes());
        hash.update(ctx.choice.to_be_bytes());
        Self { hash }
    }

    /// Appends a group element.
    pub fn point(&mut self, p: &Element) -> &mut Self {
        self.hash.update([b'P']);
        self.hash.update(p.as_bytes());
        self
    }

    /// Appends several group elements in order.
    pub fn points<'a>(&mut self, ps: impl IntoIterator<Item = &'a Element>) -> &mut Self {
        for p in ps {
            self.point(p);
        }
        self
    }

    /// Appends an integer.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.hash.update([b'U']);
        self.hash.update(v.to_be_bytes());
        self
    }

    /// Appends a length-prefixed byte string (at most `u32::MAX` bytes).
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.hash.update([b'B']);
        let len = u32::try_from(b.len()).unwrap_or(u32::MAX);
        self.hash.update(len.to_be_bytes());
        self.hash.update(&b[..len as usize]);
        self
    }

    /// The challenge scalar.
    pub fn challenge(self) -> Scalar {
        let digest: [u8; 64] = self.hash.finalize().into();
        Scalar::from_bytes_mod_order_wide(&digest)
    }
}
