//! Voter credentials (after Belenios): a secret credential code held by the voter, its signing
//! key `s`, and the public credential `S = s·G` published (sorted, without identities) in the
//! election record. A ballot carries `S` and a Schnorr signature by `s`, so anyone can check that
//! every counted ballot comes from a listed credential, and the server — which never sees `s` —
//! cannot add ballots.
//!
//! **Code format.** 24 symbols of Crockford base32 (`0-9A-Z` without `I L O U`; 120 random bits)
//! followed by one check symbol (Damm's algorithm over GF(32), see `check_step`), shown as five
//! groups of five: `XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`.
//! Parsing ignores case, hyphens and spaces and reads `O` as `0` and `I`/`L` as `1`; the check
//! symbol catches every single mistyped symbol and every swap of two adjacent symbols.
//!
//! **Key derivation.** `s = SHA-512("hanpyo-credential-v1" ‖ u32be(len(election_id)) ‖
//! election_id ‖ secret[15]) mod ℓ`, where `secret` is the 120 bits of the 24 data symbols,
//! big-endian. Binding the election id means one code never signs for another election.
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::scalar::Scalar;
use rand_core::CryptoRng;
use sha2::{Digest, Sha512};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::batch::BatchVerifier;
use crate::error::{DecodeError, ProofError};
use crate::group::Element;
use crate::proofs::labels;
use crate::proofs::schnorr::SchnorrProof;
use crate::transcript::ProofContext;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const DATA_SYMBOLS: usize = 24;
/// Bytes of entropy in a credential code.
pub const SECRET_LEN: usize = 15;

fn symbol_value(c: u8) -> Option<u8> {
    let c = c.to_ascii_uppercase();
    let c = match c {
        b'O' => b'0',
        b'I' | b'L' => b'1',
        other => other,
    };
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u8)
}

/// One step of the check computation: `2·state + symbol` in GF(32) = GF(2)[x]/(x⁵ + x² + 1)
/// (addition is XOR). `z ↦ 2z + d` is a quasigroup operation that is totally anti-symmetric
/// (`2(2c + x) + y = 2(2c + y) + x ⇒ x = y`), which is what makes Damm's check catch every single
/// substitution and every adjacent transposition — unlike Luhn mod 32, which misses `0Z ↔ Z0`.
fn check_step(state: u8, symbol: u8) -> u8 {
    let doubled = state << 1;
    let reduced = if doubled & 0x20 != 0 {
        doubled ^ 0x25
    } else {
        doubled
    };
    reduced ^ symbol
}

/// The state after all `symbols` (zero iff a complete code is consistent).
fn check_state(symbols: &[u8]) -> u8 {
    symbols.iter().fold(0, |state, &s| check_step(state, s))
}

/// A voter's secret credential code. Zeroized on drop; never logged.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct SecretCredential {
    symbols: [u8; DATA_SYMBOLS],
}

impl core::fmt::Debug for SecretCredential {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SecretCredential(<redacted>)")
    }
}

impl SecretCredential {
    /// A fresh credential from the OS generator.
    pub fn generate() -> Self {
        Self::generate_with_rng(&mut crate::os_rng())
    }

    /// A fresh credential from `rng`.
    pub fn generate_with_rng<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut symbols = [0u8; DATA_SYMBOLS];
        rng.fill_bytes(&mut symbols);
        for s in &mut symbols {
            *s &= 31;
        }
        Self { symbols }
    }

    /// Parses a typed code (see the module documentation for what is tolerated).
    pub fn parse(code: &str) -> Result<Self, DecodeError> {
        let mut values = Vec::with_capacity(DATA_SYMBOLS + 1);
        for c in code.bytes() {
            if c == b'-' || c == b' ' {
                continue;
            }
            let v = symbol_value(c).ok_or(DecodeError::CredentialCode("invalid character"))?;
            values.push(v);
            if values.len() > DATA_SYMBOLS + 1 {
                return Err(DecodeError::CredentialCode("too long"));
            }
        }
        if values.len() != DATA_SYMBOLS + 1 {
            return Err(DecodeError::CredentialCode("too short"));
        }
        if check_state(&values) != 0 {
            return Err(DecodeError::CredentialCode(
                "check symbol does not match (a typo?)",
            ));
        }
        let mut symbols = [0u8; DATA_SYMBOLS];
        symbols.copy_from_slice(&values[..DATA_SYMBOLS]);
        values.zeroize();
        Ok(Self { symbols })
    }

    /// The code as shown to the voter: five groups of five symbols.
    pub fn code(&self) -> String {
        // The check symbol `d` brings the state to zero: `2·state + d = 0` ⇔ `d = 2·state`.
        let check = check_step(check_state(&self.symbols), 0);
        let mut out = String::with_capacity(29);
        for (i, v) in self
            .symbols
            .iter()
            .chain(core::iter::once(&check))
            .enumerate()
        {
            if i > 0 && i % 5 == 0 {
                out.push('-');
            }
            out.push(char::from(ALPHABET[usize::from(*v)]));
        }
        out
    }

    /// The 120 secret bits, big-endian.
    fn secret_bytes(&self) -> [u8; SECRET_LEN] {
        let mut acc: u128 = 0;
        for &v in &self.symbols {
            acc = (acc << 5) | u128::from(v);
        }
        let bytes = acc.to_be_bytes();
        let mut out = [0u8; SECRET_LEN];
        out.copy_from_slice(&bytes[16 - SECRET_LEN..]);
        out
    }

    /// The signing key for `election_id`.
    pub fn signing_key(&self, election_id: &[u8]) -> CredentialSigningKey {
        let mut h = Sha512::new();
        h.update(b"hanpyo-credential-v1");
        let len = u32::try_from(election_id.len()).unwrap_or(u32::MAX);
        h.update(len.to_be_bytes());
        h.update(&election_id[..len as usize]);
        let mut secret = self.secret_bytes();
        h.update(secret);
        secret.zeroize();
        let mut digest: [u8; 64] = h.finalize().into();
        let s = Scalar::from_bytes_mod_order_wide(&digest);
        digest.zeroize();
        let public = PublicCredential(Element::from_point(&s * RISTRETTO_BASEPOINT_TABLE));
        CredentialSigningKey { s, public }
    }
}

/// A credential's signing key `s` and its public credential.
#[derive(Clone, ZeroizeOnDrop)]
pub struct CredentialSigningKey {
    s: Scalar,
    #[zeroize(skip)]
    public: PublicCredential,
}

impl core::fmt::Debug for CredentialSigningKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CredentialSigningKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl CredentialSigningKey {
    /// The public credential `S = s·G`.
    pub fn public(&self) -> &PublicCredential {
        &self.public
    }

    /// Signs `msg` (a ballot's hash) in the election `ctx` (bound here to `S`).
    pub fn sign_with_rng<R: CryptoRng + ?Sized>(
        &self,
        ctx: &ProofContext,
        msg: &[u8],
        rng: &mut R,
    ) -> SchnorrProof {
        SchnorrProof::prove_with_rng(
            labels::CREDENTIAL_SIGNATURE,
            &ctx.bound_to(*self.public.0.as_bytes()),
            &self.s,
            &self.public.0,
            msg,
            rng,
        )
    }

    /// Signs with the OS generator.
    pub fn sign(&self, ctx: &ProofContext, msg: &[u8]) -> SchnorrProof {
        self.sign_with_rng(ctx, msg, &mut crate::os_rng())
    }
}

/// A public credential `S`: canonical and never the identity.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PublicCredential(pub Element);

impl PublicCredential {
    /// Strict decoding.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        Element::decode_nonidentity(bytes).map(Self)
    }

    /// Canonical bytes (also the sort key of the public credential list).
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// Queues the signature's verification equation.
    pub fn queue(
        &self,
        ctx: &ProofContext,
        msg: &[u8],
        sig: &SchnorrProof,
        batch: &mut BatchVerifier,
    ) {
        sig.queue(
            labels::CREDENTIAL_SIGNATURE,
            &ctx.bound_to(*self.as_bytes()),
            &self.0,
            msg,
            batch,
        );
    }

    /// Verifies a signature on its own.
    pub fn verify(
        &self,
        ctx: &ProofContext,
        msg: &[u8],
        sig: &SchnorrProof,
    ) -> Result<(), ProofError> {
        sig.verify(
            labels::CREDENTIAL_SIGNATURE,
            &ctx.bound_to(*self.as_bytes()),
            &self.0,
            msg,
        )
        .map_err(|_| ProofError::Invalid("credential signature"))
    }
}
