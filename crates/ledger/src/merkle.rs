//! RFC 9162 §2.1 Merkle tree hashing with SHA-256.
//!
//! `MTH({}) = SHA-256()`, `MTH({d}) = SHA-256(0x00 ‖ d)` (the *leaf hash*), and for `n > 1`, with `k`
//! the largest power of two smaller than `n`: `MTH(D[n]) = SHA-256(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n]))`.
//! Inclusion and consistency proofs and their verification follow RFC 9162 §2.1.3 and §2.1.4.
use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// `SHA-256(0x00 ‖ entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree, `SHA-256()`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// A streaming Merkle tree: push leaf hashes one at a time, read the root at any size, in
/// `O(log n)` memory (the roots of the perfect subtrees that make up the tree so far).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// Perfect subtree roots, largest (leftmost) first; their sizes are the 1-bits of `size`.
    stack: Vec<Hash>,
}

impl Frontier {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// A frontier from its parts: `size` and the roots of its perfect subtrees, largest first
    /// (one per 1-bit of `size`, as stored tiles give them).
    pub fn from_parts(size: u64, stack: Vec<Hash>) -> Self {
        Self { size, stack }
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut node = leaf;
        // Each trailing 1-bit of the old size is a perfect subtree of the same height to merge with.
        let mut s = self.size;
        while s & 1 == 1 {
            if let Some(left) = self.stack.pop() {
                node = node_hash(&left, &node);
            }
            s >>= 1;
        }
        self.stack.push(node);
        self.size += 1;
    }

    /// Appends an entry (hashing it as a leaf).
    pub fn push_entry(&mut self, entry: &[u8]) {
        self.push(leaf_hash(entry));
    }

    /// `MTH` of the leaves so far.
    pub fn root(&self) -> Hash {
        let mut it = self.stack.iter().rev();
        match it.next() {
            None => empty_root(),
            Some(last) => it.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }
}

/// `MTH` of `leaves` (leaf hashes), recursively.
pub fn root_of(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split_point_u64(n as u64) as usize;
            node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

/// A source of subtree hashes: `MTH(D[start:end])` for the ranges the RFC 9162 recursions ask for
/// (an in-memory slice of leaf hashes, or the ledger's stored tiles).
pub trait RangeHasher {
    /// Why a hash could not be read.
    type Error;
    /// `MTH` of leaves `start..end` (`start < end`).
    fn range_hash(&self, start: u64, end: u64) -> Result<Hash, Self::Error>;
}

impl RangeHasher for [Hash] {
    type Error = core::convert::Infallible;
    fn range_hash(&self, start: u64, end: u64) -> Result<Hash, Self::Error> {
        Ok(root_of(&self[start as usize..end as usize]))
    }
}

/// RFC 9162 §2.1.3.1 `PATH(m, D[n])`: the inclusion proof of leaf `index`.
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    match inclusion_proof_from(leaves, index as u64, leaves.len() as u64) {
        Ok(p) => Some(p),
        Err(never) => match never {},
    }
}

/// `PATH(index, D[size])` from any [`RangeHasher`] (`index < size`).
pub fn inclusion_proof_from<S: RangeHasher + ?Sized>(
    s: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, S::Error> {
    let mut out = Vec::new();
    path(s, 0, size, index, &mut out)?;
    Ok(out)
}

fn split_point_u64(n: u64) -> u64 {
    // Largest power of two strictly smaller than n (n ≥ 2).
    1 << (63 - (n - 1).leading_zeros())
}

/// `PATH(m, D[start:start+n])`, sibling hashes bottom-up.
fn path<S: RangeHasher + ?Sized>(
    s: &S,
    start: u64,
    n: u64,
    m: u64,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    if n <= 1 {
        return Ok(());
    }
    let k = split_point_u64(n);
    if m < k {
        path(s, start, k, m, out)?;
        out.push(s.range_hash(start + k, start + n)?);
    } else {
        path(s, start + k, n - k, m - k, out)?;
        out.push(s.range_hash(start, start + k)?);
    }
    Ok(())
}

/// RFC 9162 §2.1.3.2: does `proof` show `leaf` at `index` in the tree of `size` with `root`?
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && &r == root
}

/// RFC 9162 §2.1.4.1 `PROOF(m, D[n])`: consistency of the first `m` leaves with all of them.
pub fn consistency_proof(leaves: &[Hash], m: usize) -> Option<Vec<Hash>> {
    if m == 0 || m > leaves.len() {
        return None;
    }
    match consistency_proof_from(leaves, m as u64, leaves.len() as u64) {
        Ok(p) => Some(p),
        Err(never) => match never {},
    }
}

/// `PROOF(m, D[n])` from any [`RangeHasher`] (`0 < m ≤ n`).
pub fn consistency_proof_from<S: RangeHasher + ?Sized>(
    s: &S,
    m: u64,
    n: u64,
) -> Result<Vec<Hash>, S::Error> {
    let mut out = Vec::new();
    subproof(s, 0, n, m, true, &mut out)?;
    Ok(out)
}

fn subproof<S: RangeHasher + ?Sized>(
    s: &S,
    start: u64,
    n: u64,
    m: u64,
    b: bool,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    if m == n {
        if !b {
            out.push(s.range_hash(start, start + n)?);
        }
        return Ok(());
    }
    let k = split_point_u64(n);
    if m <= k {
        subproof(s, start, k, m, b, out)?;
        out.push(s.range_hash(start + k, start + n)?);
    } else {
        subproof(s, start + k, n - k, m - k, false, out)?;
        out.push(s.range_hash(start, start + k)?);
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2: does `proof` show the tree of size `m` with `root_m` is a prefix of the tree of
/// size `n` with `root_n`?
pub fn verify_consistency(m: u64, n: u64, root_m: &Hash, root_n: &Hash, proof: &[Hash]) -> bool {
    if m == 0 || m > n {
        return false;
    }
    if m == n {
        return proof.is_empty() && root_m == root_n;
    }
    // If m is an exact power of two, prepend root_m (the "first hash" is the old root).
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if m.is_power_of_two() {
        path.push(*root_m);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut fn_, mut sn) = (m - 1, n - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && &fr == root_m && &sr == root_n
}
