//! The group: Ristretto255 (RFC 9496) and its scalar field Z/ℓ.
//!
//! Every point that arrives from outside goes through [`Element::decode`] (canonical encoding only)
//! or [`Element::decode_nonidentity`]; every scalar through [`decode_scalar`]. An [`Element`] keeps
//! the decoded point *and* its 32 canonical bytes, so a verifier decompresses each point once and
//! never recompresses it to hash a transcript — decompression dominates batched verification.
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;

use crate::error::DecodeError;

/// Length of an encoded point or scalar.
pub const ENCODED_LEN: usize = 32;

/// A group element together with its canonical encoding.
#[derive(Clone, Copy)]
pub struct Element {
    point: RistrettoPoint,
    bytes: [u8; 32],
}

impl Element {
    /// Wraps a point computed locally (compresses it once).
    pub fn from_point(point: RistrettoPoint) -> Self {
        Self {
            point,
            bytes: point.compress().to_bytes(),
        }
    }

    /// The generator `G` (the Ristretto255 base point).
    pub fn generator() -> Self {
        Self::from_point(RISTRETTO_BASEPOINT_POINT)
    }

    /// The identity element.
    pub fn identity() -> Self {
        Self {
            point: RistrettoPoint::identity(),
            bytes: [0u8; 32],
        }
    }

    /// Strictly decodes a canonical encoding (RFC 9496 §4.3.1); the identity is allowed.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| DecodeError::Length {
            expected: ENCODED_LEN,
            actual: bytes.len(),
        })?;
        // `decompress` implements the RFC's decode, which rejects every non-canonical encoding.
        let point = CompressedRistretto(bytes)
            .decompress()
            .ok_or(DecodeError::NonCanonicalPoint)?;
        Ok(Self { point, bytes })
    }

    /// Strictly decodes a canonical encoding and rejects the identity.
    pub fn decode_nonidentity(bytes: &[u8]) -> Result<Self, DecodeError> {
        let e = Self::decode(bytes)?;
        if e.is_identity() {
            return Err(DecodeError::IdentityPoint);
        }
        Ok(e)
    }

    /// The point.
    pub fn point(&self) -> &RistrettoPoint {
        &self.point
    }

    /// The canonical 32-byte encoding.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// Whether this is the identity (the identity's canonical encoding is all zeros).
    pub fn is_identity(&self) -> bool {
        self.bytes == [0u8; 32]
    }
}

impl PartialEq for Element {
    fn eq(&self, other: &Self) -> bool {
        // Canonical encodings are unique, so comparing bytes compares points.
        self.bytes == other.bytes
    }
}
impl Eq for Element {}

impl core::fmt::Debug for Element {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Element(")?;
        for b in &self.bytes {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

impl From<RistrettoPoint> for Element {
    fn from(p: RistrettoPoint) -> Self {
        Self::from_point(p)
    }
}

/// Strictly decodes a canonical scalar (little-endian, `< ℓ`).
pub fn decode_scalar(bytes: &[u8]) -> Result<Scalar, DecodeError> {
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| DecodeError::Length {
        expected: ENCODED_LEN,
        actual: bytes.len(),
    })?;
    Option::<Scalar>::from(Scalar::from_canonical_bytes(bytes))
        .ok_or(DecodeError::NonCanonicalScalar)
}

/// Strictly decodes a canonical, non-zero scalar.
pub fn decode_nonzero_scalar(bytes: &[u8]) -> Result<Scalar, DecodeError> {
    let s = decode_scalar(bytes)?;
    if s == Scalar::ZERO {
        return Err(DecodeError::ZeroScalar);
    }
    Ok(s)
}

/// A cursor over a byte string for the fixed-layout decoders in this crate.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.bytes.len() < n {
            return Err(DecodeError::Length {
                expected: n,
                actual: self.bytes.len(),
            });
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }
    pub(crate) fn element(&mut self) -> Result<Element, DecodeError> {
        Element::decode(self.take(32)?)
    }
    pub(crate) fn scalar(&mut self) -> Result<Scalar, DecodeError> {
        decode_scalar(self.take(32)?)
    }
    /// Fails unless every byte was consumed: trailing bytes would give a value two encodings.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Length {
                expected: 0,
                actual: self.bytes.len(),
            })
        }
    }
}
