//! The canonical binary encoding of record entries (see `docs/record-format.md`).
//!
//! Fixed-width big-endian integers, `u32`-length-prefixed byte strings and UTF-8 strings,
//! `u32`-count-prefixed lists, 32-byte points and scalars (strictly decoded). Every length and count
//! is bounded, and a decoder must consume its input exactly: one value, one encoding.
use curve25519_dalek::scalar::Scalar;
use hanpyo_crypto::group::Element;
use hanpyo_crypto::group::decode_scalar;

use crate::error::RecordError;

/// Appends canonical encodings to a buffer.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }
    /// The bytes written.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
    /// `u8`.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    /// `u32be`.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// `u64be`.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// `i64be` (two's complement).
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// Raw fixed-size bytes.
    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }
    /// `u32be(len) ‖ bytes`.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.u32(b.len() as u32);
        self.raw(b)
    }
    /// A UTF-8 string as `bytes`.
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }
    /// A point.
    pub fn point(&mut self, p: &Element) -> &mut Self {
        self.raw(p.as_bytes())
    }
    /// A scalar.
    pub fn scalar(&mut self, s: &Scalar) -> &mut Self {
        self.raw(s.as_bytes())
    }
}

/// Reads canonical encodings, refusing anything else.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }
    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }
    /// `n` raw bytes.
    pub fn raw(&mut self, n: usize) -> Result<&'a [u8], RecordError> {
        if self.buf.len() < n {
            return Err(RecordError::Truncated);
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }
    /// A fixed array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], RecordError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.raw(N)?);
        Ok(out)
    }
    /// `u8`.
    pub fn u8(&mut self) -> Result<u8, RecordError> {
        Ok(self.raw(1)?[0])
    }
    /// `u32be`.
    pub fn u32(&mut self) -> Result<u32, RecordError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    /// `u64be`.
    pub fn u64(&mut self) -> Result<u64, RecordError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    /// `i64be`.
    pub fn i64(&mut self) -> Result<i64, RecordError> {
        Ok(i64::from_be_bytes(self.array()?))
    }
    /// A length or count, at most `max`.
    pub fn count(&mut self, max: usize, what: &'static str) -> Result<usize, RecordError> {
        let n = self.u32()? as usize;
        if n > max {
            return Err(RecordError::TooLarge(what));
        }
        Ok(n)
    }
    /// `u32be(len) ‖ bytes`, `len ≤ max`.
    pub fn bytes(&mut self, max: usize, what: &'static str) -> Result<&'a [u8], RecordError> {
        let n = self.count(max, what)?;
        self.raw(n)
    }
    /// A UTF-8 string of at most `max` bytes without control characters.
    pub fn str(&mut self, max: usize, what: &'static str) -> Result<String, RecordError> {
        let b = self.bytes(max, what)?;
        let s =
            std::str::from_utf8(b).map_err(|_| RecordError::Invalid(what, "not UTF-8".into()))?;
        if s.chars().any(|c| c.is_control() && c != '\n') {
            return Err(RecordError::Invalid(what, "control character".into()));
        }
        Ok(s.to_string())
    }
    /// A strictly decoded point.
    pub fn point(&mut self) -> Result<Element, RecordError> {
        Ok(Element::decode(self.raw(32)?)?)
    }
    /// A strictly decoded non-identity point.
    pub fn nonidentity_point(&mut self) -> Result<Element, RecordError> {
        Ok(Element::decode_nonidentity(self.raw(32)?)?)
    }
    /// A strictly decoded scalar.
    pub fn scalar(&mut self) -> Result<Scalar, RecordError> {
        Ok(decode_scalar(self.raw(32)?)?)
    }
    /// Fails unless everything was consumed.
    pub fn finish(&self) -> Result<(), RecordError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(RecordError::TrailingBytes(self.buf.len()))
        }
    }
}
