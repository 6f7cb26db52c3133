//! Rate limits: a token bucket per client address for every request that writes, and one per
//! voter credential for ballots (a credential may revote, but not flood).
use std::collections::HashMap;
use std::hash::Hash;
use std::time::Instant;

/// A rate: `per_second` sustained, `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Bucket size.
    pub burst: f64,
}

/// Token buckets by key.
#[derive(Debug)]
pub struct Buckets<K> {
    rate: Rate,
    buckets: HashMap<K, (f64, Instant)>,
}

/// Most keys tracked; beyond it the table restarts (fail open for a moment rather than grow).
const MAX_KEYS: usize = 1_000_000;

impl<K: Hash + Eq> Buckets<K> {
    /// Buckets at `rate`.
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            buckets: HashMap::new(),
        }
    }

    /// Takes one token for `key`; `Err(seconds to wait)` when empty.
    pub fn take(&mut self, key: K) -> Result<(), f64> {
        if self.buckets.len() >= MAX_KEYS {
            self.buckets.clear();
        }
        let now = Instant::now();
        let rate = self.rate;
        let (tokens, at) = self.buckets.entry(key).or_insert((rate.burst, now));
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * rate.per_second).min(rate.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - *tokens) / rate.per_second.max(1e-9))
        }
    }
}
