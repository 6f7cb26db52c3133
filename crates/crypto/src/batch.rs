//! Random-weight batch verification.
//!
//! Every verification equation in this crate has the form `Σ_k s_k·P_k = 0`. A batch collects many
//! such equations, multiplies each by an independent random 128-bit weight `w_e` and checks
//! `Σ_e w_e·(Σ_k s_ek·P_ek) = 0` with **one** variable-time multiscalar multiplication. If any
//! equation is false the combined one holds with probability at most 2⁻¹²⁸ over the weights (the
//! weights come from this verifier's own generator, which the prover never sees).
//!
//! Terms on the same point are merged (by canonical encoding), so the generator `G`, the election
//! key `K` and a ciphertext shared by two proofs of one ballot each cost one point in the
//! multiplication. When a batch fails, [`find_invalid`] bisects it to name the bad items.
use std::collections::HashMap;

use chacha20::ChaCha20Rng;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use rand_core::{CryptoRng, Rng, SeedableRng};

use crate::error::ProofError;
use crate::group::Element;

/// Accumulates weighted verification equations; checks them all at once.
#[derive(Debug)]
pub struct BatchVerifier {
    rng: ChaCha20Rng,
    generator: Element,
    scalars: Vec<Scalar>,
    points: Vec<RistrettoPoint>,
    index: HashMap<[u8; 32], usize>,
    equations: usize,
}

impl Default for BatchVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchVerifier {
    /// A verifier whose weights are seeded from the OS generator.
    pub fn new() -> Self {
        Self::with_rng(&mut crate::os_rng())
    }

    /// A verifier whose weight generator is seeded from `rng`.
    pub fn with_rng<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        Self {
            rng: ChaCha20Rng::from_seed(seed),
            generator: Element::generator(),
            scalars: Vec::new(),
            points: Vec::new(),
            index: HashMap::new(),
            equations: 0,
        }
    }

    /// Starts a new equation with a fresh random weight.
    pub fn equation(&mut self) -> Equation<'_> {
        let mut w = [0u8; 16];
        self.rng.fill_bytes(&mut w);
        self.equations += 1;
        Equation {
            weight: Scalar::from(u128::from_le_bytes(w)),
            batch: self,
        }
    }

    /// Number of equations queued.
    pub fn equations(&self) -> usize {
        self.equations
    }

    /// Number of distinct points in the pending multiscalar multiplication.
    pub fn points(&self) -> usize {
        self.points.len()
    }

    fn add(&mut self, s: Scalar, p: &Element) {
        match self.index.get(p.as_bytes()) {
            Some(&i) => self.scalars[i] += s,
            None => {
                self.index.insert(*p.as_bytes(), self.points.len());
                self.scalars.push(s);
                self.points.push(*p.point());
            }
        }
    }

    /// Whether every queued equation holds (with overwhelming probability).
    pub fn verify(&self) -> bool {
        if self.points.is_empty() {
            return true;
        }
        RistrettoPoint::vartime_multiscalar_mul(&self.scalars, &self.points).is_identity()
    }
}

/// One equation `Σ s_k·P_k = 0` being added to a batch.
#[derive(Debug)]
pub struct Equation<'a> {
    batch: &'a mut BatchVerifier,
    weight: Scalar,
}

impl Equation<'_> {
    /// Adds the term `s·P`.
    pub fn term(&mut self, s: Scalar, p: &Element) -> &mut Self {
        let ws = self.weight * s;
        self.batch.add(ws, p);
        self
    }

    /// Adds the term `s·G`.
    pub fn g(&mut self, s: Scalar) -> &mut Self {
        let g = self.batch.generator;
        self.term(s, &g)
    }
}

/// Something whose validity is a set of equations that can be queued into a batch.
pub trait Verifiable {
    /// Queues this item's equations, or fails early on a malformed item (wrong shape).
    fn queue(&self, batch: &mut BatchVerifier) -> Result<(), ProofError>;

    /// Verifies this item on its own.
    fn verify_alone(&self) -> bool {
        let mut b = BatchVerifier::new();
        self.queue(&mut b).is_ok() && b.verify()
    }
}

/// Verifies all `items` in one batch; on failure names every invalid item by bisection.
pub fn verify_batch<T: Verifiable>(items: &[T]) -> Result<(), ProofError> {
    let mut b = BatchVerifier::new();
    let mut malformed = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if item.queue(&mut b).is_err() {
            malformed.push(i);
        }
    }
    if malformed.is_empty() && b.verify() {
        return Ok(());
    }
    // The whole batch is known to fail: go straight to its halves.
    let mut bad = Vec::new();
    split(items, 0, &mut bad);
    Err(ProofError::BatchFailed(bad))
}

/// Indices of the invalid items, found by recursive halving (cheaper than one-by-one when few fail).
pub fn find_invalid<T: Verifiable>(items: &[T]) -> Vec<usize> {
    let mut bad = Vec::new();
    bisect(items, 0, &mut bad);
    bad
}

fn bisect<T: Verifiable>(items: &[T], offset: usize, bad: &mut Vec<usize>) {
    if items.is_empty() {
        return;
    }
    if items.len() == 1 {
        if !items[0].verify_alone() {
            bad.push(offset);
        }
        return;
    }
    let mut b = BatchVerifier::new();
    let shaped = items.iter().all(|it| it.queue(&mut b).is_ok());
    if shaped && b.verify() {
        return;
    }
    split(items, offset, bad);
}

fn split<T: Verifiable>(items: &[T], offset: usize, bad: &mut Vec<usize>) {
    if items.len() == 1 {
        bad.push(offset);
        return;
    }
    let mid = items.len() / 2;
    bisect(&items[..mid], offset, bad);
    bisect(&items[mid..], offset + mid, bad);
}
