//! The C2SP `tlog-tiles` layout of the Merkle tree: hashes stored in tiles of height 8.
//!
//! A tile at level `L` and index `N` holds up to 256 consecutive node hashes at tree height `8·L`
//! (level 0: leaf hashes), those with indices `256·N ..`. A full tile has 256 hashes; the right edge
//! of the tree is a partial tile of width `W < 256`, served at `tile/L/N.p/W`. Any subtree hash is a
//! tile lookup plus at most seven levels of hashing, so proofs need `O(log n)` tile reads.
use crate::merkle::{Hash, node_hash};

/// Tree levels per tile.
pub const TILE_HEIGHT: u32 = 8;
/// Hashes in a full tile.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// `N` written as C2SP path elements: groups of three digits, all but the last prefixed with `x`
/// (`1234067` → `x001/x234/067`).
pub fn index_path(n: u64) -> String {
    let digits = n.to_string();
    let pad = (3 - digits.len() % 3) % 3;
    let padded = format!("{}{}", "0".repeat(pad), digits);
    let groups: Vec<&str> = (0..padded.len() / 3)
        .map(|i| &padded[3 * i..3 * i + 3])
        .collect();
    let last = groups.len() - 1;
    groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            if i < last {
                format!("x{g}")
            } else {
                (*g).to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The path of a hash tile: `tile/<L>/<N>[.p/<W>]`.
pub fn tile_path(level: u32, index: u64, width: u64) -> String {
    let mut p = format!("tile/{level}/{}", index_path(index));
    if width < TILE_WIDTH {
        p.push_str(&format!(".p/{width}"));
    }
    p
}

/// The path of an entry bundle: `tile/entries/<N>[.p/<W>]`.
pub fn entries_path(index: u64, width: u64) -> String {
    let mut p = format!("tile/entries/{}", index_path(index));
    if width < TILE_WIDTH {
        p.push_str(&format!(".p/{width}"));
    }
    p
}

/// Parses a hash-tile path back into `(level, index, width)`.
pub fn parse_tile_path(path: &str) -> Option<(u32, u64, u64)> {
    let rest = path.strip_prefix("tile/")?;
    let (level_s, rest) = rest.split_once('/')?;
    let level: u32 = level_s.parse().ok()?;
    if level.to_string() != level_s || level > 8 {
        return None;
    }
    let (idx_part, width) = match rest.split_once(".p/") {
        Some((i, w)) => {
            let w: u64 = w.parse().ok()?;
            if w == 0 || w >= TILE_WIDTH || w.to_string() != rest.split_once(".p/")?.1 {
                return None;
            }
            (i, w)
        }
        None => (rest, TILE_WIDTH),
    };
    let mut n: u64 = 0;
    let groups: Vec<&str> = idx_part.split('/').collect();
    for (i, g) in groups.iter().enumerate() {
        let digits = if i + 1 < groups.len() {
            g.strip_prefix('x')?
        } else {
            g
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        n = n
            .checked_mul(1000)?
            .checked_add(digits.parse::<u64>().ok()?)?;
    }
    (index_path(n) == idx_part).then_some((level, n, width))
}

/// Reduces `2^r` consecutive hashes (a perfect subtree's bottom row) to its root.
pub fn reduce(row: &[Hash]) -> Hash {
    let mut level: Vec<Hash> = row.to_vec();
    while level.len() > 1 {
        level = level.chunks(2).map(|p| node_hash(&p[0], &p[1])).collect();
    }
    level.first().copied().unwrap_or_default()
}

/// A tile that a subtree hash needs is missing or too short: `(level, index)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileGap(pub u32, pub u64);

/// Where hash tiles are kept (a database, a directory): enough to hash any range of the tree.
pub trait TileSource {
    /// Why a tile could not be read.
    type Error: From<TileGap>;
    /// The hashes of tile `(level, index)` at the tree's current size: a full tile's 256, or the
    /// right edge's fewer.
    fn tile_hashes(&self, level: u32, index: u64)
    -> Result<std::sync::Arc<Vec<Hash>>, Self::Error>;
}

/// The hash of the perfect subtree of height `h` with index `i` (leaves `i·2^h .. (i+1)·2^h`):
/// one tile read plus at most seven levels of hashing.
pub fn perfect_hash<S: TileSource + ?Sized>(s: &S, h: u32, i: u64) -> Result<Hash, S::Error> {
    let level = h / TILE_HEIGHT;
    let r = h % TILE_HEIGHT;
    let first = i << r;
    let count = 1usize << r;
    let tile = first / TILE_WIDTH;
    let offset = (first % TILE_WIDTH) as usize;
    let hashes = s.tile_hashes(level, tile)?;
    let row = hashes
        .get(offset..offset + count)
        .ok_or(TileGap(level, tile))?;
    Ok(reduce(row))
}

/// `MTH` of leaves `start..end` (`start < end`) from tiles: the perfect subtrees covering the
/// range, largest first, folded from the right (the RFC 9162 shape of any range the proof
/// recursions ask for).
pub fn range_hash<S: TileSource + ?Sized>(s: &S, start: u64, end: u64) -> Result<Hash, S::Error> {
    let mut parts = Vec::new();
    let mut at = start;
    while at < end {
        let mut h = if at == 0 { 63 } else { at.trailing_zeros() };
        while h > 0 && (at + (1u64 << h) > end) {
            h -= 1;
        }
        parts.push(perfect_hash(s, h, at >> h)?);
        at += 1u64 << h;
    }
    let mut it = parts.into_iter().rev();
    let last = it.next().ok_or(TileGap(0, start / TILE_WIDTH))?;
    Ok(it.fold(last, |acc, left| node_hash(&left, &acc)))
}

/// The right edge of a growing tree in tile form: the current partial tile of every level.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TileEdge {
    /// `rows[L]` = hashes of the partial tile at level `L` (fewer than 256).
    pub rows: Vec<Vec<Hash>>,
    /// `full[L]` = number of full tiles at level `L`.
    pub full: Vec<u64>,
}

/// A tile that changed: `(level, index, hashes)`.
pub type TileWrite = (u32, u64, Vec<Hash>);

impl TileEdge {
    /// Appends a leaf hash; returns the tiles that became full (to be stored as such).
    pub fn push(&mut self, leaf: Hash, completed: &mut Vec<TileWrite>) {
        let mut node = leaf;
        let mut level = 0usize;
        loop {
            if self.rows.len() <= level {
                self.rows.push(Vec::new());
                self.full.push(0);
            }
            self.rows[level].push(node);
            if (self.rows[level].len() as u64) < TILE_WIDTH {
                return;
            }
            let row = std::mem::take(&mut self.rows[level]);
            node = reduce(&row);
            completed.push((level as u32, self.full[level], row));
            self.full[level] += 1;
            level += 1;
        }
    }

    /// The current partial tiles `(level, index, hashes)` (non-empty ones).
    pub fn partial_tiles(&self) -> Vec<TileWrite> {
        self.rows
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.is_empty())
            .map(|(l, r)| (l as u32, self.full[l], r.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_c2sp() {
        assert_eq!(index_path(0), "000");
        assert_eq!(index_path(1234067), "x001/x234/067");
        assert_eq!(tile_path(0, 1234067, 256), "tile/0/x001/x234/067");
        assert_eq!(tile_path(1, 5, 17), "tile/1/005.p/17");
        assert_eq!(entries_path(2, 256), "tile/entries/002");
        assert_eq!(
            parse_tile_path("tile/0/x001/x234/067"),
            Some((0, 1234067, 256))
        );
        assert_eq!(parse_tile_path("tile/1/005.p/17"), Some((1, 5, 17)));
        for bad in [
            "tile/0/1234067",
            "tile/0/x1/234",
            "tile/0/005.p/0",
            "tile/0/005.p/256",
            "tile/0/005.p/017",
            "tile/a/005",
        ] {
            assert_eq!(parse_tile_path(bad), None, "{bad}");
        }
    }
}
