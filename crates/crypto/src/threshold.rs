//! Threshold keys without a trusted dealer: Pedersen distributed key generation with Feldman
//! commitments, commit-before-reveal, encrypted shares and verifiable complaints; partial
//! decryption with Chaum–Pedersen proofs and Lagrange combination.
//!
//! ## The ceremony (trustees `1..=n`, threshold `t`, `1 ≤ t ≤ n ≤ 32`)
//! Every trustee `i` has a communication key pair `(x_i, P_i = x_i·G)` and acts as a *dealer*:
//!
//! 1. **Commit.** Draw `f_i(z) = a_i0 + a_i1·z + … + a_i,t−1·z^(t−1)`; compute the Feldman
//!    commitments `C_ik = a_ik·G` with a Schnorr proof of knowledge of each `a_ik` (position
//!    `(i, k)`), and publish only `digest_i` = [`DealerCommitment::digest`].
//! 2. **Reveal**, once every digest is public: publish the [`DealerCommitment`]; it must match its
//!    digest. No trustee can choose its polynomial after seeing the others' (no rushing bias).
//! 3. **Share.** For each `j ≠ i`, publish `f_i(j)` encrypted to `P_j` ([`EncryptedShare`]).
//! 4. **Check.** Trustee `j` decrypts and checks `f_i(j)·G = Σ_k j^k·C_ik`. If not, it publishes a
//!    [`Complaint`] revealing the Diffie–Hellman key of that one share with a proof that it is
//!    correct, so *anyone* can decrypt the share and see that the dealer cheated — and nobody can
//!    frame an honest dealer.
//!
//! [`resolve_ceremony`] turns the public transcript into the qualified set `QUAL` (dealers that
//! revealed a matching, proven commitment, sent every share and drew no justified complaint), the
//! joint key `K = Σ_{i∈QUAL} C_i0` and each trustee's verification key
//! `Y_j = Σ_{i∈QUAL} Σ_k j^k·C_ik`. Trustee `j`'s secret share is `s_j = Σ_{i∈QUAL} f_i(j)`, so
//! `Y_j = s_j·G`, and any `t` shares reconstruct `Σ_{i∈QUAL} a_i0` — which no one ever computes.
//!
//! ## Decryption
//! Trustee `j` publishes `D_j = s_j·α` with a Chaum–Pedersen proof of `(G, Y_j, α, D_j)`. From any
//! set `S` of `t` valid shares, `m·G = β − Σ_{j∈S} λ_j·D_j` with `λ_j = Π_{m∈S, m≠j} m/(m−j)`.
//!
//! ## Share encryption (byte-exact)
//! `E = e·G` for fresh `e`; `key = SHA-512("hanpyo-share-key-v1" ‖ fingerprint ‖ u32be(i) ‖ u32be(j)
//! ‖ E ‖ P_j ‖ e·P_j)[0..32]`; ChaCha20-Poly1305 with a zero nonce (the key is single-use) over the
//! 32-byte share, associated data `"hanpyo-share-v1" ‖ fingerprint ‖ u32be(i) ‖ u32be(j) ‖ E`.
use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{Identity, VartimeMultiscalarMul};
use rand_core::CryptoRng;
use sha2::{Digest, Sha512};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::batch::BatchVerifier;
use crate::elgamal::{Ciphertext, PublicKey, SecretKey, random_nonzero_scalar};
use crate::error::ProofError;
use crate::group::{Element, decode_scalar};
use crate::proofs::chaum_pedersen::{ChaumPedersenProof, DleqStatement};
use crate::proofs::labels;
use crate::proofs::schnorr::SchnorrProof;
use crate::transcript::ProofContext;

/// Most trustees an election may have.
pub const MAX_TRUSTEES: u32 = 32;

/// `t` of `n`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ThresholdParams {
    /// `n`, the number of trustees.
    pub trustees: u32,
    /// `t`, how many must cooperate to decrypt.
    pub threshold: u32,
}

impl ThresholdParams {
    /// Checks `1 ≤ t ≤ n ≤ 32`.
    pub fn new(trustees: u32, threshold: u32) -> Result<Self, ProofError> {
        if threshold == 0 || threshold > trustees || trustees > MAX_TRUSTEES {
            return Err(ProofError::Parameter(
                "threshold must satisfy 1 ≤ t ≤ n ≤ 32",
            ));
        }
        Ok(Self {
            trustees,
            threshold,
        })
    }

    /// Checks `1 ≤ i ≤ n`.
    pub fn check_index(&self, i: u32) -> Result<(), ProofError> {
        if i == 0 || i > self.trustees {
            return Err(ProofError::Parameter("trustee index out of range"));
        }
        Ok(())
    }
}

/// A dealer's secret polynomial. Zeroized on drop.
#[derive(ZeroizeOnDrop)]
pub struct Dealer {
    #[zeroize(skip)]
    params: ThresholdParams,
    #[zeroize(skip)]
    index: u32,
    coefficients: Vec<Scalar>,
}

impl core::fmt::Debug for Dealer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Dealer")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

/// `Σ_k x^k·c_k` by Horner's rule.
fn evaluate(coefficients: &[Scalar], x: u32) -> Scalar {
    let x = Scalar::from(x);
    coefficients
        .iter()
        .rev()
        .fold(Scalar::ZERO, |acc, c| acc * x + c)
}

impl Dealer {
    /// Draws trustee `index`'s polynomial of degree `t − 1`.
    pub fn new_with_rng<R: CryptoRng + ?Sized>(
        params: ThresholdParams,
        index: u32,
        rng: &mut R,
    ) -> Result<Self, ProofError> {
        params.check_index(index)?;
        let coefficients = (0..params.threshold)
            .map(|_| random_nonzero_scalar(rng))
            .collect();
        Ok(Self {
            params,
            index,
            coefficients,
        })
    }

    /// This dealer's trustee index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The secret coefficients, for sealing into a trustee's key file.
    pub fn secret_coefficients(&self) -> Zeroizing<Vec<[u8; 32]>> {
        Zeroizing::new(self.coefficients.iter().map(Scalar::to_bytes).collect())
    }

    /// Restores a dealer from sealed coefficients (canonical, non-zero, exactly `t`).
    pub fn from_secret_coefficients(
        params: ThresholdParams,
        index: u32,
        coefficients: &[[u8; 32]],
    ) -> Result<Self, ProofError> {
        params.check_index(index)?;
        if coefficients.len() != params.threshold as usize {
            return Err(ProofError::Shape("dealer coefficients"));
        }
        let coefficients = coefficients
            .iter()
            .map(|c| {
                crate::group::decode_nonzero_scalar(c)
                    .map_err(|_| ProofError::Parameter("coefficient"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            params,
            index,
            coefficients,
        })
    }

    /// The Feldman commitments with proofs of knowledge (publish its digest first).
    pub fn commitment_with_rng<R: CryptoRng + ?Sized>(
        &self,
        ctx: &ProofContext,
        rng: &mut R,
    ) -> DealerCommitment {
        let mut coefficients = Vec::with_capacity(self.coefficients.len());
        let mut proofs = Vec::with_capacity(self.coefficients.len());
        for (k, a) in self.coefficients.iter().enumerate() {
            let c = Element::from_point(a * RISTRETTO_BASEPOINT_TABLE);
            proofs.push(SchnorrProof::prove_with_rng(
                labels::COEFFICIENT_POK,
                &ctx.at(self.index, k as u32),
                a,
                &c,
                &[],
                rng,
            ));
            coefficients.push(c);
        }
        DealerCommitment {
            dealer: self.index,
            coefficients,
            proofs,
        }
    }

    /// `f_i(j)`, the share for trustee `j` (including `j = i`, which the dealer keeps).
    pub fn share_for(&self, recipient: u32) -> Result<Zeroizing<Scalar>, ProofError> {
        self.params.check_index(recipient)?;
        Ok(Zeroizing::new(evaluate(&self.coefficients, recipient)))
    }

    /// `f_i(j)` encrypted to trustee `j`'s communication key.
    pub fn encrypted_share_with_rng<R: CryptoRng + ?Sized>(
        &self,
        ctx: &ProofContext,
        recipient: u32,
        recipient_key: &PublicKey,
        rng: &mut R,
    ) -> Result<EncryptedShare, ProofError> {
        if recipient == self.index {
            return Err(ProofError::Parameter("a dealer keeps its own share"));
        }
        let share = self.share_for(recipient)?;
        let e = Zeroizing::new(random_nonzero_scalar(rng));
        let ephemeral = Element::from_point(&*e * RISTRETTO_BASEPOINT_TABLE);
        let dh = Element::from_point(*e * recipient_key.element().point());
        let ciphertext = share_cipher(ctx, self.index, recipient, &ephemeral, recipient_key, &dh)
            .encrypt(
                &Default::default(),
                Payload {
                    msg: share.as_bytes(),
                    aad: &share_aad(ctx, self.index, recipient, &ephemeral),
                },
            )
            .map_err(|_| ProofError::Parameter("share encryption failed"))?;
        Ok(EncryptedShare {
            dealer: self.index,
            recipient,
            ephemeral,
            ciphertext,
        })
    }
}

/// A dealer's public Feldman commitments `C_ik = a_ik·G` and proofs of knowledge of each `a_ik`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DealerCommitment {
    /// The dealer's trustee index `i`.
    pub dealer: u32,
    /// `C_i0, …, C_i,t−1`.
    pub coefficients: Vec<Element>,
    /// Schnorr proof of knowledge of each coefficient, position `(i, k)`.
    pub proofs: Vec<SchnorrProof>,
}

impl DealerCommitment {
    /// The commit-before-reveal digest:
    /// `SHA-512("hanpyo-dkg-commit-v1" ‖ fingerprint ‖ u32be(i) ‖ u32be(t) ‖ (C_ik ‖ proof_ik)*)[0..32]`.
    pub fn digest(&self, ctx: &ProofContext) -> [u8; 32] {
        let mut h = Sha512::new();
        h.update(b"hanpyo-dkg-commit-v1");
        h.update(ctx.fingerprint);
        h.update(self.dealer.to_be_bytes());
        h.update((self.coefficients.len() as u32).to_be_bytes());
        for (c, p) in self.coefficients.iter().zip(&self.proofs) {
            h.update(c.as_bytes());
            h.update(p.to_bytes());
        }
        let d: [u8; 64] = h.finalize().into();
        let mut out = [0u8; 32];
        out.copy_from_slice(&d[..32]);
        out
    }

    /// Checks the shape, that no commitment is the identity, and every proof of knowledge.
    pub fn verify(&self, ctx: &ProofContext, params: &ThresholdParams) -> Result<(), ProofError> {
        params.check_index(self.dealer)?;
        if self.coefficients.len() != params.threshold as usize
            || self.proofs.len() != self.coefficients.len()
        {
            return Err(ProofError::Shape("dealer commitment"));
        }
        if self.coefficients.iter().any(Element::is_identity) {
            return Err(ProofError::Invalid(
                "dealer commitment (identity coefficient)",
            ));
        }
        let mut b = BatchVerifier::new();
        for (k, (c, p)) in self.coefficients.iter().zip(&self.proofs).enumerate() {
            p.queue(
                labels::COEFFICIENT_POK,
                &ctx.at(self.dealer, k as u32),
                c,
                &[],
                &mut b,
            );
        }
        b.verify()
            .then_some(())
            .ok_or(ProofError::Invalid("coefficient proof of knowledge"))
    }

    /// `Σ_k j^k·C_ik`, which must equal `f_i(j)·G`.
    pub fn share_commitment(&self, j: u32) -> RistrettoPoint {
        let x = Scalar::from(j);
        let mut power = Scalar::ONE;
        let mut powers = Vec::with_capacity(self.coefficients.len());
        for _ in &self.coefficients {
            powers.push(power);
            power *= x;
        }
        RistrettoPoint::vartime_multiscalar_mul(
            &powers,
            self.coefficients.iter().map(|c| *c.point()),
        )
    }
}

fn share_key(
    ctx: &ProofContext,
    dealer: u32,
    recipient: u32,
    ephemeral: &Element,
    recipient_key: &PublicKey,
    dh: &Element,
) -> Zeroizing<[u8; 32]> {
    let mut h = Sha512::new();
    h.update(b"hanpyo-share-key-v1");
    h.update(ctx.fingerprint);
    h.update(dealer.to_be_bytes());
    h.update(recipient.to_be_bytes());
    h.update(ephemeral.as_bytes());
    h.update(recipient_key.element().as_bytes());
    h.update(dh.as_bytes());
    let mut d: [u8; 64] = h.finalize().into();
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&d[..32]);
    d.zeroize();
    key
}

fn share_cipher(
    ctx: &ProofContext,
    dealer: u32,
    recipient: u32,
    ephemeral: &Element,
    recipient_key: &PublicKey,
    dh: &Element,
) -> ChaCha20Poly1305 {
    let key = share_key(ctx, dealer, recipient, ephemeral, recipient_key, dh);
    ChaCha20Poly1305::new(&(*key).into())
}

fn share_aad(ctx: &ProofContext, dealer: u32, recipient: u32, ephemeral: &Element) -> Vec<u8> {
    let mut aad = Vec::with_capacity(15 + 32 + 8 + 32);
    aad.extend_from_slice(b"hanpyo-share-v1");
    aad.extend_from_slice(&ctx.fingerprint);
    aad.extend_from_slice(&dealer.to_be_bytes());
    aad.extend_from_slice(&recipient.to_be_bytes());
    aad.extend_from_slice(ephemeral.as_bytes());
    aad
}

/// `f_i(j)` encrypted to trustee `j`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EncryptedShare {
    /// Dealer `i`.
    pub dealer: u32,
    /// Recipient `j`.
    pub recipient: u32,
    /// `E = e·G`.
    pub ephemeral: Element,
    /// ChaCha20-Poly1305 ciphertext of the 32-byte share (48 bytes).
    pub ciphertext: Vec<u8>,
}

/// Why a received share was not accepted.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum ShareError {
    /// The ciphertext does not decrypt under the agreed key.
    #[error("the share does not decrypt")]
    Undecryptable,
    /// It decrypts, but not to a canonical scalar.
    #[error("the share is not a canonical scalar")]
    Malformed,
    /// It decrypts to a scalar that does not match the dealer's Feldman commitments.
    #[error("the share does not match the dealer's commitments")]
    Inconsistent,
}

fn open_with_dh(
    ctx: &ProofContext,
    share: &EncryptedShare,
    recipient_key: &PublicKey,
    dh: &Element,
    commitment: &DealerCommitment,
) -> Result<Zeroizing<Scalar>, ShareError> {
    let plain = Zeroizing::new(
        share_cipher(
            ctx,
            share.dealer,
            share.recipient,
            &share.ephemeral,
            recipient_key,
            dh,
        )
        .decrypt(
            &Default::default(),
            Payload {
                msg: &share.ciphertext,
                aad: &share_aad(ctx, share.dealer, share.recipient, &share.ephemeral),
            },
        )
        .map_err(|_| ShareError::Undecryptable)?,
    );
    let s = Zeroizing::new(decode_scalar(&plain).map_err(|_| ShareError::Malformed)?);
    if &*s * RISTRETTO_BASEPOINT_TABLE != commitment.share_commitment(share.recipient) {
        return Err(ShareError::Inconsistent);
    }
    Ok(s)
}

impl EncryptedShare {
    /// The single-use ChaCha20-Poly1305 key of this share, from the Diffie–Hellman point
    /// `dh = e·P_j = x_j·E` (what a complaint reveals, so anyone can open the disputed share).
    pub fn symmetric_key(
        &self,
        ctx: &ProofContext,
        recipient_key: &PublicKey,
        dh: &Element,
    ) -> Zeroizing<[u8; 32]> {
        share_key(
            ctx,
            self.dealer,
            self.recipient,
            &self.ephemeral,
            recipient_key,
            dh,
        )
    }

    /// Decrypts with the recipient's communication key and checks it against the commitments.
    pub fn open(
        &self,
        ctx: &ProofContext,
        recipient_secret: &SecretKey,
        commitment: &DealerCommitment,
    ) -> Result<Zeroizing<Scalar>, ShareError> {
        if commitment.dealer != self.dealer {
            return Err(ShareError::Inconsistent);
        }
        let dh = Element::from_point(recipient_secret.as_scalar() * self.ephemeral.point());
        open_with_dh(ctx, self, &recipient_secret.public_key(), &dh, commitment)
    }
}

/// Trustee `j`'s public accusation that dealer `i` sent it a bad share: the share's
/// Diffie–Hellman key `x_j·E` with a Chaum–Pedersen proof over `(G, P_j, E, x_j·E)`
/// (position `(i, j)`), letting anyone decrypt that one share and check it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Complaint {
    /// The accuser `j`.
    pub accuser: u32,
    /// The accused dealer `i`.
    pub accused: u32,
    /// `x_j·E`.
    pub dh: Element,
    /// Proof that `dh` is correct.
    pub proof: ChaumPedersenProof,
}

impl Complaint {
    /// Builds the complaint against the dealer of `share`.
    pub fn new_with_rng<R: CryptoRng + ?Sized>(
        ctx: &ProofContext,
        recipient_secret: &SecretKey,
        share: &EncryptedShare,
        rng: &mut R,
    ) -> Self {
        let pk = recipient_secret.public_key();
        let dh = Element::from_point(recipient_secret.as_scalar() * share.ephemeral.point());
        let statement = DleqStatement {
            g1: Element::generator(),
            x1: *pk.element(),
            g2: share.ephemeral,
            x2: dh,
        };
        let proof = ChaumPedersenProof::prove_with_rng(
            labels::SHARE_KEY_REVEAL,
            &ctx.at(share.dealer, share.recipient),
            &statement,
            recipient_secret.as_scalar(),
            rng,
        );
        Self {
            accuser: share.recipient,
            accused: share.dealer,
            dh,
            proof,
        }
    }

    /// `Ok(reason)` if the complaint is justified (the dealer cheated); `Err` if it is not (a false
    /// or malformed accusation, which is then ignored).
    pub fn adjudicate(
        &self,
        ctx: &ProofContext,
        accuser_key: &PublicKey,
        share: &EncryptedShare,
        commitment: &DealerCommitment,
    ) -> Result<ShareError, ProofError> {
        if share.dealer != self.accused
            || share.recipient != self.accuser
            || commitment.dealer != self.accused
        {
            return Err(ProofError::Shape("complaint"));
        }
        let statement = DleqStatement {
            g1: Element::generator(),
            x1: *accuser_key.element(),
            g2: share.ephemeral,
            x2: self.dh,
        };
        self.proof.verify(
            labels::SHARE_KEY_REVEAL,
            &ctx.at(self.accused, self.accuser),
            &statement,
        )?;
        match open_with_dh(ctx, share, accuser_key, &self.dh, commitment) {
            Ok(_) => Err(ProofError::Invalid("complaint: the share is valid")),
            Err(reason) => Ok(reason),
        }
    }
}

/// The public transcript of a ceremony, as collected from the bulletin board.
#[derive(Clone, Copy, Debug)]
pub struct CeremonyTranscript<'a> {
    /// `t` of `n`.
    pub params: ThresholdParams,
    /// `P_1..P_n`, the trustees' communication keys.
    pub trustee_keys: &'a [PublicKey],
    /// The digest each dealer published in round 1, by index (`None` if it published none).
    pub digests: &'a [Option<[u8; 32]>],
    /// The commitments revealed in round 2.
    pub commitments: &'a [DealerCommitment],
    /// Every encrypted share published in round 3.
    pub shares: &'a [EncryptedShare],
    /// Every complaint published in round 4.
    pub complaints: &'a [Complaint],
}

/// Why a dealer was left out of `QUAL`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Disqualification {
    /// No round-1 digest.
    NoDigest,
    /// No, or more than one, revealed commitment.
    NoCommitment,
    /// The revealed commitment does not match the round-1 digest.
    DigestMismatch,
    /// The commitment's shape or a proof of knowledge is invalid.
    BadCommitment(ProofError),
    /// A share for this trustee is missing (or duplicated).
    MissingShare(u32),
    /// A justified complaint by this trustee.
    BadShare {
        /// The accuser.
        accuser: u32,
        /// What was wrong with the share.
        reason: ShareError,
    },
}

/// The ceremony's public result.
#[derive(Clone, Debug)]
pub struct CeremonyOutcome {
    /// Dealers whose polynomials make up the key, ascending.
    pub qualified: Vec<u32>,
    /// Dealers left out, with why.
    pub disqualified: Vec<(u32, Disqualification)>,
    /// `K = Σ_{i∈QUAL} C_i0`.
    pub joint_key: PublicKey,
    /// `Y_1..Y_n`: trustee `j`'s verification key is `verification_keys[j − 1]`.
    pub verification_keys: Vec<Element>,
}

impl CeremonyOutcome {
    /// `Y_j`.
    pub fn verification_key(&self, j: u32) -> Option<&Element> {
        self.verification_keys.get((j as usize).checked_sub(1)?)
    }

    /// The qualified trustees that confirmed holding valid shares from every dealer in `QUAL`
    /// (ascending): those whose key share `s_j = Σ_{i∈QUAL} f_i(j)` is known to be usable.
    /// `confirmations` are `(trustee, dealers it holds checked shares from)`, any number per trustee.
    /// The key is decryptable only if at least `t` trustees are in this list.
    pub fn confirmed(&self, confirmations: &[(u32, Vec<u32>)]) -> Vec<u32> {
        self.qualified
            .iter()
            .copied()
            .filter(|&j| {
                confirmations.iter().any(|(trustee, dealers)| {
                    *trustee == j && self.qualified.iter().all(|i| dealers.contains(i))
                })
            })
            .collect()
    }
}

/// Determines `QUAL`, the joint key and the verification keys from the public transcript.
/// Fails if fewer than `t` dealers qualify.
pub fn resolve_ceremony(
    ctx: &ProofContext,
    tr: &CeremonyTranscript<'_>,
) -> Result<CeremonyOutcome, ProofError> {
    let p = tr.params;
    if tr.trustee_keys.len() != p.trustees as usize || tr.digests.len() != p.trustees as usize {
        return Err(ProofError::Shape("ceremony transcript"));
    }
    let mut qualified = Vec::new();
    let mut disqualified = Vec::new();
    let mut accepted: Vec<&DealerCommitment> = Vec::new();
    for i in 1..=p.trustees {
        let verdict = (|| {
            let digest = tr.digests[(i - 1) as usize].ok_or(Disqualification::NoDigest)?;
            let mut revealed = tr.commitments.iter().filter(|c| c.dealer == i);
            let c = match (revealed.next(), revealed.next()) {
                (Some(c), None) => c,
                _ => return Err(Disqualification::NoCommitment),
            };
            if c.digest(ctx) != digest {
                return Err(Disqualification::DigestMismatch);
            }
            c.verify(ctx, &p).map_err(Disqualification::BadCommitment)?;
            for j in (1..=p.trustees).filter(|&j| j != i) {
                if tr
                    .shares
                    .iter()
                    .filter(|s| s.dealer == i && s.recipient == j)
                    .count()
                    != 1
                {
                    return Err(Disqualification::MissingShare(j));
                }
            }
            for complaint in tr.complaints.iter().filter(|k| k.accused == i) {
                let Some(share) = tr
                    .shares
                    .iter()
                    .find(|s| s.dealer == i && s.recipient == complaint.accuser)
                else {
                    continue;
                };
                let Some(key) = tr
                    .trustee_keys
                    .get((complaint.accuser as usize).wrapping_sub(1))
                else {
                    continue;
                };
                if let Ok(reason) = complaint.adjudicate(ctx, key, share, c) {
                    return Err(Disqualification::BadShare {
                        accuser: complaint.accuser,
                        reason,
                    });
                }
            }
            Ok(c)
        })();
        match verdict {
            Ok(c) => {
                qualified.push(i);
                accepted.push(c);
            }
            Err(why) => disqualified.push((i, why)),
        }
    }
    if qualified.len() < p.threshold as usize {
        return Err(ProofError::Parameter(
            "fewer than t trustees qualified in the key ceremony",
        ));
    }
    let joint = accepted.iter().fold(RistrettoPoint::identity(), |acc, c| {
        acc + c.coefficients[0].point()
    });
    let verification_keys = (1..=p.trustees)
        .map(|j| {
            Element::from_point(accepted.iter().fold(RistrettoPoint::identity(), |acc, c| {
                acc + c.share_commitment(j)
            }))
        })
        .collect();
    Ok(CeremonyOutcome {
        qualified,
        disqualified,
        joint_key: PublicKey(Element::from_point(joint)),
        verification_keys,
    })
}

/// A trustee's secret share `s_j` of the joint key. Zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct KeyShare {
    #[zeroize(skip)]
    index: u32,
    secret: Scalar,
}

impl core::fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyShare")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl KeyShare {
    /// `s_j = Σ_{i∈QUAL} f_i(j)` from the shares trustee `j` holds (its own and the decrypted
    /// ones), checked against its verification key `Y_j`.
    pub fn combine(
        index: u32,
        shares_from_qualified: &[Zeroizing<Scalar>],
        outcome: &CeremonyOutcome,
    ) -> Result<Self, ProofError> {
        if shares_from_qualified.len() != outcome.qualified.len() {
            return Err(ProofError::Shape(
                "one share per qualified dealer is required",
            ));
        }
        let secret: Scalar = shares_from_qualified.iter().map(|s| **s).sum();
        let expected = outcome
            .verification_key(index)
            .ok_or(ProofError::Parameter("trustee index out of range"))?;
        if Element::from_point(&secret * RISTRETTO_BASEPOINT_TABLE) != *expected {
            return Err(ProofError::Invalid(
                "key share does not match the verification key",
            ));
        }
        Ok(Self { index, secret })
    }

    /// Trustee `j = dealer.index()`'s share from the public transcript: its own polynomial's value
    /// and the shares each qualified dealer sent it, opened with its communication key and checked
    /// against that dealer's commitments; then checked against `Y_j`.
    pub fn from_transcript(
        ctx: &ProofContext,
        dealer: &Dealer,
        comm_secret: &SecretKey,
        commitments: &[DealerCommitment],
        shares: &[EncryptedShare],
        outcome: &CeremonyOutcome,
    ) -> Result<Self, ProofError> {
        let j = dealer.index();
        let parts = outcome
            .qualified
            .iter()
            .map(|&i| {
                if i == j {
                    return dealer.share_for(j);
                }
                let share = shares
                    .iter()
                    .find(|s| s.dealer == i && s.recipient == j)
                    .ok_or(ProofError::Shape("a qualified dealer's share is missing"))?;
                let commitment =
                    commitments
                        .iter()
                        .find(|c| c.dealer == i)
                        .ok_or(ProofError::Shape(
                            "a qualified dealer's commitment is missing",
                        ))?;
                share
                    .open(ctx, comm_secret, commitment)
                    .map_err(|_| ProofError::Invalid("share from a qualified dealer"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::combine(j, &parts, outcome)
    }

    /// The trustee index `j`.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Restores a share from storage (e.g. a trustee's encrypted key file).
    pub fn from_parts(index: u32, secret: Scalar) -> Self {
        Self { index, secret }
    }

    /// The secret scalar, for sealing into a key file.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// `Y_j = s_j·G`, the verification key this share must match.
    pub fn verification_key(&self) -> Element {
        Element::from_point(RistrettoPoint::mul_base(&self.secret))
    }

    /// A Schnorr signature on `message` with `s_j`, verifiable with `Y_j = s_j·G`
    /// ([`crate::proofs::schnorr::SchnorrProof::verify`] with `label` and `ctx`).
    pub fn sign_with_rng<R: CryptoRng + ?Sized>(
        &self,
        label: &'static str,
        ctx: &ProofContext,
        message: &[u8],
        rng: &mut R,
    ) -> SchnorrProof {
        let y = Element::from_point(RistrettoPoint::mul_base(&self.secret));
        SchnorrProof::prove_with_rng(label, ctx, &self.secret, &y, message, rng)
    }

    /// `D_j = s_j·α` with its proof, for the tally ciphertext at `ctx`'s position.
    pub fn partial_decrypt_with_rng<R: CryptoRng + ?Sized>(
        &self,
        ctx: &ProofContext,
        verification_key: &Element,
        ct: &Ciphertext,
        rng: &mut R,
    ) -> PartialDecryption {
        let share = Element::from_point(self.secret * ct.alpha.point());
        let statement = DleqStatement {
            g1: Element::generator(),
            x1: *verification_key,
            g2: ct.alpha,
            x2: share,
        };
        let proof = ChaumPedersenProof::prove_with_rng(
            labels::DECRYPTION_SHARE,
            &ctx.bound_to(*verification_key.as_bytes()),
            &statement,
            &self.secret,
            rng,
        );
        PartialDecryption {
            trustee: self.index,
            share,
            proof,
        }
    }
}

/// Trustee `j`'s share of the decryption of one ciphertext.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PartialDecryption {
    /// `j`.
    pub trustee: u32,
    /// `D_j = s_j·α`.
    pub share: Element,
    /// Chaum–Pedersen proof over `(G, Y_j, α, D_j)`, bound to `Y_j`.
    pub proof: ChaumPedersenProof,
}

impl PartialDecryption {
    /// Queues the proof's equations.
    pub fn queue(
        &self,
        ctx: &ProofContext,
        verification_key: &Element,
        ct: &Ciphertext,
        batch: &mut BatchVerifier,
    ) {
        let statement = DleqStatement {
            g1: Element::generator(),
            x1: *verification_key,
            g2: ct.alpha,
            x2: self.share,
        };
        self.proof.queue(
            labels::DECRYPTION_SHARE,
            &ctx.bound_to(*verification_key.as_bytes()),
            &statement,
            batch,
        );
    }

    /// Verifies against `Y_j` and the ciphertext.
    pub fn verify(
        &self,
        ctx: &ProofContext,
        verification_key: &Element,
        ct: &Ciphertext,
    ) -> Result<(), ProofError> {
        let mut b = BatchVerifier::new();
        self.queue(ctx, verification_key, ct, &mut b);
        b.verify()
            .then_some(())
            .ok_or(ProofError::Invalid("decryption share"))
    }
}

/// Lagrange coefficients at 0 for the distinct, non-zero `indices`.
pub fn lagrange_coefficients(indices: &[u32]) -> Result<Vec<Scalar>, ProofError> {
    for (a, &i) in indices.iter().enumerate() {
        if i == 0 || indices[..a].contains(&i) {
            return Err(ProofError::Parameter(
                "trustee indices must be distinct and non-zero",
            ));
        }
    }
    Ok(indices
        .iter()
        .map(|&j| {
            let (num, den) = indices.iter().filter(|&&m| m != j).fold(
                (Scalar::ONE, Scalar::ONE),
                |(num, den), &m| {
                    (
                        num * Scalar::from(m),
                        den * (Scalar::from(m) - Scalar::from(j)),
                    )
                },
            );
            num * den.invert()
        })
        .collect())
}

/// `m·G = β − Σ λ_j·D_j` from the shares of at least `t` distinct trustees (verify them first).
pub fn combine_partial_decryptions(
    params: &ThresholdParams,
    ct: &Ciphertext,
    partials: &[PartialDecryption],
) -> Result<RistrettoPoint, ProofError> {
    if partials.len() < params.threshold as usize {
        return Err(ProofError::Parameter(
            "at least t partial decryptions are required",
        ));
    }
    let indices: Vec<u32> = partials.iter().map(|p| p.trustee).collect();
    for &i in &indices {
        params.check_index(i)?;
    }
    let lambdas = lagrange_coefficients(&indices)?;
    let combined = RistrettoPoint::vartime_multiscalar_mul(
        &lambdas,
        partials.iter().map(|p| *p.share.point()),
    );
    Ok(ct.beta.point() - combined)
}
