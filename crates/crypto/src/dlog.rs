//! Discrete logarithms of small values: given `P = m·G` with `0 ≤ m ≤ max`, find `m`.
//!
//! Baby-step/giant-step with `s = ⌈√(max+1)⌉`: a table of the encodings of `j·G` for `0 ≤ j < s`,
//! then giant steps `P − i·s·G` until one is in the table. Both phases compress points in batches
//! with [`RistrettoPoint::double_and_compress_batch`] (one field inversion per batch): walking the
//! points `Q/2` and compressing their doubles gives the encodings of `Q` at a fraction of the cost
//! of one compression each. All inputs are public (tallies), so this code is variable time.
use std::collections::HashMap;

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;

const CHUNK: usize = 1024;

/// A baby-step table able to decode any `m` in `0..=max`.
#[derive(Debug)]
pub struct DlogTable {
    max: u64,
    step: u64,
    /// encoding of `j·G` → `j`
    baby: HashMap<[u8; 32], u64>,
}

fn half_generator() -> RistrettoPoint {
    RISTRETTO_BASEPOINT_POINT * Scalar::from(2u8).invert()
}

/// Compresses the doubles of the points `start + k·delta`, `k = 0..count`, calling `f(k, bytes)`
/// until it returns `Some`.
fn walk<T>(
    start: RistrettoPoint,
    delta: RistrettoPoint,
    count: u64,
    mut f: impl FnMut(u64, &[u8; 32]) -> Option<T>,
) -> Option<T> {
    let mut current = start;
    let mut k = 0u64;
    let mut chunk = Vec::with_capacity(CHUNK);
    while k < count {
        chunk.clear();
        let n = (count - k).min(CHUNK as u64);
        for _ in 0..n {
            chunk.push(current);
            current += delta;
        }
        for (i, c) in RistrettoPoint::double_and_compress_batch(&chunk)
            .iter()
            .enumerate()
        {
            if let Some(t) = f(k + i as u64, c.as_bytes()) {
                return Some(t);
            }
        }
        k += n;
    }
    None
}

impl DlogTable {
    /// Builds the table for results in `0..=max` (e.g. `max` = number of eligible voters).
    pub fn new(max: u64) -> Self {
        // s = ceil(sqrt(max + 1)), computed exactly in integers.
        let mut step = (((max as f64) + 1.0).sqrt() as u64).max(1);
        while step.saturating_mul(step) < max.saturating_add(1) {
            step += 1;
        }
        let h = half_generator();
        let mut baby = HashMap::with_capacity(step as usize);
        walk::<()>(RistrettoPoint::identity(), h, step, |j, bytes| {
            baby.insert(*bytes, j);
            None
        });
        Self { max, step, baby }
    }

    /// The largest value this table decodes.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// `m` with `m·G = point` if `0 ≤ m ≤ max`, else `None`.
    pub fn decode(&self, point: &RistrettoPoint) -> Option<u64> {
        let giants = self.max / self.step + 1;
        let h = half_generator();
        let start = point * Scalar::from(2u8).invert();
        let delta = -(h * Scalar::from(self.step));
        walk(start, delta, giants, |i, bytes| {
            let j = self.baby.get(bytes)?;
            let m = i * self.step + j;
            (m <= self.max).then_some(m)
        })
    }
}
