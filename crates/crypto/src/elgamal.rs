//! Exponential ElGamal over Ristretto255.
//!
//! `Enc_K(m; r) = (α, β) = (r·G, m·G + r·K)`. Ciphertexts add component-wise, so the sum of
//! encryptions of `m_i` is an encryption of `Σ m_i`; decryption yields `m·G = β − x·α`, from which a
//! small `m` is recovered by [`crate::dlog`].
use core::ops::Add;

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::{RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use rand_core::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::DecodeError;
use crate::group::{Element, Reader};

/// An ElGamal secret key `x`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey(pub(crate) Scalar);

impl core::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl SecretKey {
    /// A fresh secret key from the OS generator.
    pub fn generate() -> Self {
        Self::generate_with_rng(&mut crate::os_rng())
    }

    /// A fresh secret key from `rng`.
    pub fn generate_with_rng<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self(random_nonzero_scalar(rng))
    }

    /// Wraps a scalar (for keys that come out of the threshold protocol or a credential).
    pub fn from_scalar(x: Scalar) -> Self {
        Self(x)
    }

    /// The public key `x·G`.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(Element::from_point(&self.0 * RISTRETTO_BASEPOINT_TABLE))
    }

    /// The secret scalar, for the protocol code of this crate.
    pub fn as_scalar(&self) -> &Scalar {
        &self.0
    }

    /// `m·G = β − x·α` (constant time in `x`).
    pub fn decrypt_to_point(&self, ct: &Ciphertext) -> RistrettoPoint {
        ct.beta.point() - self.0 * ct.alpha.point()
    }
}

/// An ElGamal public key `K` (for an election, the joint key of the trustees).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PublicKey(pub Element);

impl PublicKey {
    /// Decodes a key: canonical and not the identity (an identity key would encrypt in the clear).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        Element::decode_nonidentity(bytes).map(Self)
    }

    /// The key as a group element.
    pub fn element(&self) -> &Element {
        &self.0
    }

    /// Encrypts `m` with fresh randomness from the OS generator.
    pub fn encrypt(&self, m: u64) -> (Ciphertext, Nonce) {
        self.encrypt_with_rng(m, &mut crate::os_rng())
    }

    /// Encrypts `m` with fresh randomness from `rng`; returns the nonce for proofs and audits.
    pub fn encrypt_with_rng<R: CryptoRng + ?Sized>(
        &self,
        m: u64,
        rng: &mut R,
    ) -> (Ciphertext, Nonce) {
        encrypt_with_rng(self, m, rng)
    }

    /// Encrypts `m` with the given nonce `r` (also how a Benaloh audit re-derives a ciphertext).
    pub fn encrypt_with_nonce(&self, m: u64, r: &Nonce) -> Ciphertext {
        encrypt_with_nonce(self, m, r)
    }
}

/// What encrypting under `K`, and proving things of the ciphertexts, needs: the key and the
/// constant-time product `s·K`. [`PublicKey`] computes it with a variable base; [`KeyTable`] from
/// a precomputed table.
pub trait EncryptionKey {
    /// The key `K`.
    fn key(&self) -> &PublicKey;
    /// `s·K`, in constant time.
    fn times(&self, s: &Scalar) -> RistrettoPoint;
}

impl EncryptionKey for PublicKey {
    fn key(&self) -> &PublicKey {
        self
    }
    fn times(&self, s: &Scalar) -> RistrettoPoint {
        s * self.0.point()
    }
}

/// A public key with a precomputed table of its multiples (about 30 KiB), as the crate keeps for
/// `G`: a multiplication by `K` then costs about a third of a variable-base one. Worth its
/// building (about a thousand point additions) for a prover that encrypts many ballots under one
/// key, such as a simulation or a load generator; same results, same constant time.
pub struct KeyTable {
    key: PublicKey,
    table: RistrettoBasepointTable,
}

impl core::fmt::Debug for KeyTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyTable")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl KeyTable {
    /// Precomputes `key`'s table.
    pub fn new(key: &PublicKey) -> Self {
        Self {
            key: *key,
            table: RistrettoBasepointTable::create(key.0.point()),
        }
    }
}

impl EncryptionKey for KeyTable {
    fn key(&self) -> &PublicKey {
        &self.key
    }
    fn times(&self, s: &Scalar) -> RistrettoPoint {
        s * &self.table
    }
}

/// `Enc_K(m; r)` with a fresh nonce `r` from `rng`; returns the nonce for proofs and audits.
pub fn encrypt_with_rng<K: EncryptionKey + ?Sized, R: CryptoRng + ?Sized>(
    key: &K,
    m: u64,
    rng: &mut R,
) -> (Ciphertext, Nonce) {
    let r = Nonce(random_nonzero_scalar(rng));
    (encrypt_with_nonce(key, m, &r), r)
}

/// `Enc_K(m; r) = (r·G, m·G + r·K)`.
pub fn encrypt_with_nonce<K: EncryptionKey + ?Sized>(key: &K, m: u64, r: &Nonce) -> Ciphertext {
    let alpha = &r.0 * RISTRETTO_BASEPOINT_TABLE;
    let beta = &Scalar::from(m) * RISTRETTO_BASEPOINT_TABLE + key.times(&r.0);
    Ciphertext::from_points(alpha, beta)
}

/// The encryption randomness `r` of a ciphertext. Secret: it decrypts the ciphertext.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Nonce(pub(crate) Scalar);

impl Nonce {
    /// Wraps a scalar (e.g. a nonce revealed by a Benaloh audit).
    pub fn from_scalar(r: Scalar) -> Self {
        Self(r)
    }
    /// The scalar (revealing it reveals the plaintext).
    pub fn as_scalar(&self) -> &Scalar {
        &self.0
    }
}

impl core::fmt::Debug for Nonce {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Nonce(<redacted>)")
    }
}

impl Add<&Nonce> for &Nonce {
    type Output = Nonce;
    fn add(self, rhs: &Nonce) -> Nonce {
        Nonce(self.0 + rhs.0)
    }
}

/// An exponential-ElGamal ciphertext `(α, β)`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Ciphertext {
    /// `α = r·G`.
    pub alpha: Element,
    /// `β = m·G + r·K`.
    pub beta: Element,
}

/// Length of an encoded ciphertext.
pub const CIPHERTEXT_LEN: usize = 64;

impl Ciphertext {
    /// From two computed points.
    pub fn from_points(alpha: RistrettoPoint, beta: RistrettoPoint) -> Self {
        Self {
            alpha: Element::from_point(alpha),
            beta: Element::from_point(beta),
        }
    }

    /// `(identity, identity)`, the encryption of 0 with nonce 0: the neutral element of addition.
    pub fn zero() -> Self {
        Self {
            alpha: Element::identity(),
            beta: Element::identity(),
        }
    }

    /// `α ‖ β`.
    pub fn to_bytes(&self) -> [u8; CIPHERTEXT_LEN] {
        let mut out = [0u8; CIPHERTEXT_LEN];
        out[..32].copy_from_slice(self.alpha.as_bytes());
        out[32..].copy_from_slice(self.beta.as_bytes());
        out
    }

    /// Strict decoding of `α ‖ β` (both canonical; identities allowed, as sums may produce them).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let ct = Self {
            alpha: r.element()?,
            beta: r.element()?,
        };
        r.finish()?;
        Ok(ct)
    }

    /// Homomorphic sum of many ciphertexts (point additions only, one compression per component).
    pub fn sum<'a>(cts: impl IntoIterator<Item = &'a Ciphertext>) -> Ciphertext {
        let (mut a, mut b) = (RistrettoPoint::identity(), RistrettoPoint::identity());
        for ct in cts {
            a += ct.alpha.point();
            b += ct.beta.point();
        }
        Ciphertext::from_points(a, b)
    }
}

impl Add for &Ciphertext {
    type Output = Ciphertext;
    fn add(self, rhs: &Ciphertext) -> Ciphertext {
        Ciphertext::from_points(
            self.alpha.point() + rhs.alpha.point(),
            self.beta.point() + rhs.beta.point(),
        )
    }
}

/// A uniformly random non-zero scalar (zero is excluded so that no nonce or key is trivial).
pub(crate) fn random_nonzero_scalar<R: CryptoRng + ?Sized>(rng: &mut R) -> Scalar {
    loop {
        let s = Scalar::random(rng);
        if s != Scalar::ZERO {
            return s;
        }
    }
}
