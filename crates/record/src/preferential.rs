//! Counting preferential (ranked) ballots once they are decrypted: instant-runoff voting and the
//! Schulze method. Both are deterministic functions of the rankings (and, for a last-resort tie in
//! instant-runoff, of a public lot seed), so a verifier recomputes them exactly.
//!
//! A ranking lists choice indices, most preferred first, each at most once; choices it leaves out
//! are ranked below every listed one and equal among themselves.
//!
//! **Instant-runoff** (docs/protocol.md §8): each round, every ballot counts for its highest-ranked
//! choice still in the count; a ballot with none left is *exhausted*. A choice with more than half
//! of the round's non-exhausted ballots is elected; so is the last choice left, if any ballot is
//! active. Otherwise the choice with the fewest votes is eliminated. Ties for fewest are broken
//! backwards: from the latest earlier round to the first, only the tied choices with the fewest
//! votes in that round are kept, until one remains; tied in every round, the one whose `SHA-256("hanpyo-irv-lot-v1" ‖ lot ‖ u32be(round) ‖ u32be(choice))` is
//! smallest (bytes compared as big-endian numbers) is eliminated.
//!
//! **Schulze**: `d[i][j]` is the number of ballots ranking `i` above `j`; the strength of the
//! strongest path from `i` to `j` uses winning votes (a link `i → j` of strength `d[i][j]` exists
//! when `d[i][j] > d[j][i]`); `i` is a winner when its path to every `j` is at least as strong as
//! `j`'s to it. Several winners mean a tie, which the result states as such.
use sha2::{Digest, Sha256};

/// How a ranked question's decrypted rankings are counted (manifest code in parentheses).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RankingMethod {
    /// Instant-runoff (0).
    InstantRunoff,
    /// Schulze (1).
    Schulze,
}

impl RankingMethod {
    /// Its code in the manifest.
    pub fn code(self) -> u8 {
        match self {
            RankingMethod::InstantRunoff => 0,
            RankingMethod::Schulze => 1,
        }
    }

    /// The method of a manifest code.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(RankingMethod::InstantRunoff),
            1 => Some(RankingMethod::Schulze),
            _ => None,
        }
    }

    /// The manifest's name of this method.
    pub fn name(self) -> &'static str {
        match self {
            RankingMethod::InstantRunoff => "instant-runoff",
            RankingMethod::Schulze => "schulze",
        }
    }
}

/// How a tie for fewest votes was broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TieBreak {
    /// By the votes of an earlier round (its number, from 0).
    EarlierRound(u32),
    /// By the lot.
    Lot,
}

/// One instant-runoff round.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Round {
    /// Votes per choice (0 for a choice no longer in the count).
    pub votes: Vec<u64>,
    /// Ballots with no choice left in the count.
    pub exhausted: u64,
    /// The choice elected in this round, if any.
    pub elected: Option<u32>,
    /// The choice eliminated after this round, if any.
    pub eliminated: Option<u32>,
    /// How a tie for fewest votes was broken, if there was one.
    pub tie_break: Option<TieBreak>,
}

/// An instant-runoff count: its rounds and the elected choice (none when no ballot ranks anyone).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Runoff {
    /// The rounds, first to last.
    pub rounds: Vec<Round>,
    /// The elected choice.
    pub winner: Option<u32>,
}

fn lot_key(lot: &[u8; 32], round: u32, choice: u32) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"hanpyo-irv-lot-v1");
    h.update(lot);
    h.update(round.to_be_bytes());
    h.update(choice.to_be_bytes());
    h.finalize().into()
}

/// Counts `ballots` over `choices` choices by instant-runoff (rules in the module documentation).
/// Entries of a ranking at or above `choices`, and repeats, are ignored.
pub fn instant_runoff(choices: u32, ballots: &[Vec<u32>], lot: &[u8; 32]) -> Runoff {
    let n = choices as usize;
    let mut continuing = vec![true; n];
    let mut rounds: Vec<Round> = Vec::new();
    loop {
        let mut votes = vec![0u64; n];
        let mut exhausted = 0u64;
        for ranking in ballots {
            match ranking
                .iter()
                .map(|&c| c as usize)
                .find(|&c| c < n && continuing[c])
            {
                Some(c) => votes[c] += 1,
                None => exhausted += 1,
            }
        }
        let active: u64 = votes.iter().sum();
        let left: Vec<usize> = (0..n).filter(|&c| continuing[c]).collect();
        let majority = left.iter().copied().find(|&c| 2 * votes[c] > active);
        let elected = match (majority, left.as_slice()) {
            (Some(c), _) => Some(c),
            (None, [only]) if active > 0 => Some(*only),
            _ => None,
        };
        let round_number = rounds.len() as u32;
        if elected.is_some() || active == 0 || left.len() <= 1 {
            rounds.push(Round {
                votes,
                exhausted,
                elected: elected.map(|c| c as u32),
                eliminated: None,
                tie_break: None,
            });
            return Runoff {
                winner: elected.map(|c| c as u32),
                rounds,
            };
        }
        let fewest = left.iter().map(|&c| votes[c]).min().unwrap_or(0);
        let mut tied: Vec<usize> = left
            .iter()
            .copied()
            .filter(|&c| votes[c] == fewest)
            .collect();
        let mut tie_break = None;
        if tied.len() > 1 {
            // Backwards through earlier rounds: keep the tied choices with the fewest votes there.
            for (r, earlier) in rounds.iter().enumerate().rev() {
                let low = tied.iter().map(|&c| earlier.votes[c]).min().unwrap_or(0);
                let still: Vec<usize> = tied
                    .iter()
                    .copied()
                    .filter(|&c| earlier.votes[c] == low)
                    .collect();
                if still.len() < tied.len() {
                    tied = still;
                    tie_break = Some(TieBreak::EarlierRound(r as u32));
                    if tied.len() == 1 {
                        break;
                    }
                }
            }
            if tied.len() > 1 {
                tie_break = Some(TieBreak::Lot);
                tied.sort_by_key(|&c| lot_key(lot, round_number, c as u32));
                tied.truncate(1);
            }
        }
        let out = tied[0];
        continuing[out] = false;
        rounds.push(Round {
            votes,
            exhausted,
            elected: None,
            eliminated: Some(out as u32),
            tie_break,
        });
    }
}

/// A Schulze count.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Schulze {
    /// `d[i][j]`: ballots ranking `i` above `j`.
    pub pairwise: Vec<Vec<u64>>,
    /// `p[i][j]`: the strength of the strongest path from `i` to `j` (winning votes).
    pub strongest: Vec<Vec<u64>>,
    /// The winners, ascending (more than one: a tie).
    pub winners: Vec<u32>,
}

/// Counts `ballots` over `choices` choices by the Schulze method (winning votes).
pub fn schulze(choices: u32, ballots: &[Vec<u32>]) -> Schulze {
    let n = choices as usize;
    let mut d = vec![vec![0u64; n]; n];
    for ranking in ballots {
        // Position of each choice; unranked choices share the last place.
        let mut place = vec![usize::MAX; n];
        for (p, &c) in ranking.iter().enumerate() {
            if (c as usize) < n && place[c as usize] == usize::MAX {
                place[c as usize] = p;
            }
        }
        for i in 0..n {
            for j in 0..n {
                if i != j && place[i] < place[j] {
                    d[i][j] += 1;
                }
            }
        }
    }
    let mut p = vec![vec![0u64; n]; n];
    for i in 0..n {
        for j in 0..n {
            if i != j && d[i][j] > d[j][i] {
                p[i][j] = d[i][j];
            }
        }
    }
    for i in 0..n {
        for j in 0..n {
            if i == j {
                continue;
            }
            for k in 0..n {
                if i != k && j != k {
                    p[j][k] = p[j][k].max(p[j][i].min(p[i][k]));
                }
            }
        }
    }
    let winners = (0..n)
        .filter(|&i| (0..n).all(|j| i == j || p[i][j] >= p[j][i]))
        .map(|i| i as u32)
        .collect();
    Schulze {
        pairwise: d,
        strongest: p,
        winners,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn many(spec: &[(usize, &[u32])]) -> Vec<Vec<u32>> {
        spec.iter()
            .flat_map(|(k, r)| std::iter::repeat_n(r.to_vec(), *k))
            .collect()
    }

    const LOT: [u8; 32] = [0; 32];

    #[test]
    fn transfers_elect_the_majority_of_the_remaining_ballots() {
        // A 5, B 4, C 3: no majority of 12; C goes, its ballots to B: B 7 of 12.
        let r = instant_runoff(3, &many(&[(5, &[0]), (4, &[1, 0]), (3, &[2, 1])]), &LOT);
        assert_eq!(r.winner, Some(1));
        assert_eq!(r.rounds.len(), 2);
        assert_eq!(r.rounds[0].votes, vec![5, 4, 3]);
        assert_eq!(r.rounds[0].eliminated, Some(2));
        assert_eq!(r.rounds[1].votes, vec![5, 7, 0]);
        assert_eq!(r.rounds[1].elected, Some(1));
    }

    #[test]
    fn exhausted_ballots_leave_the_majority_base() {
        // A 5, B 4, C 3 with no later preferences: C's 3 are exhausted; A has 5 of 9.
        let r = instant_runoff(3, &many(&[(5, &[0]), (4, &[1]), (3, &[2])]), &LOT);
        assert_eq!(r.winner, Some(0));
        assert_eq!(r.rounds[1].votes, vec![5, 4, 0]);
        assert_eq!(r.rounds[1].exhausted, 3);
    }

    #[test]
    fn a_tie_for_fewest_is_broken_by_the_earlier_round() {
        // R1: A 5, B 4, C 3, D 2 → D out. R2: A 5, B 4, C 4, 1 exhausted → B and C tie; in R1
        // C had fewer → C out. R3: B 7 of 12 (2 exhausted).
        let ballots = many(&[(5, &[0]), (4, &[1]), (3, &[2, 1]), (1, &[3, 2]), (1, &[3])]);
        let r = instant_runoff(4, &ballots, &LOT);
        assert_eq!(r.rounds[0].votes, vec![5, 4, 3, 2]);
        assert_eq!(r.rounds[0].eliminated, Some(3));
        assert_eq!(r.rounds[0].tie_break, None);
        assert_eq!(r.rounds[1].votes, vec![5, 4, 4, 0]);
        assert_eq!(r.rounds[1].exhausted, 1);
        assert_eq!(r.rounds[1].eliminated, Some(2));
        assert_eq!(r.rounds[1].tie_break, Some(TieBreak::EarlierRound(0)));
        assert_eq!(r.rounds[2].votes, vec![5, 7, 0, 0]);
        assert_eq!(r.rounds[2].exhausted, 2);
        assert_eq!(r.winner, Some(1));
    }

    #[test]
    fn a_tie_in_every_round_is_broken_by_the_lot() {
        let ballots = many(&[(2, &[0]), (2, &[1])]);
        let lot = [7u8; 32];
        let r = instant_runoff(2, &ballots, &lot);
        assert_eq!(r.rounds[0].tie_break, Some(TieBreak::Lot));
        let out = if lot_key(&lot, 0, 0) < lot_key(&lot, 0, 1) {
            0
        } else {
            1
        };
        assert_eq!(r.rounds[0].eliminated, Some(out));
        assert_eq!(r.winner, Some(1 - out));
        // The lot is one public value: the same seed, the same count.
        assert_eq!(instant_runoff(2, &ballots, &lot), r);
    }

    #[test]
    fn no_ballot_elects_no_one_and_bad_entries_are_ignored() {
        let r = instant_runoff(3, &[], &LOT);
        assert_eq!(r.winner, None);
        assert_eq!(r.rounds.len(), 1);
        let r = instant_runoff(3, &many(&[(3, &[]), (1, &[9, 9])]), &LOT);
        assert_eq!(r.winner, None);
        assert_eq!(r.rounds[0].exhausted, 4);
        // A first-round majority ends the count at once.
        let r = instant_runoff(3, &many(&[(3, &[1, 1, 0]), (2, &[0])]), &LOT);
        assert_eq!((r.winner, r.rounds.len()), (Some(1), 1));
    }

    /// The example of Schulze's paper (and Wikipedia): 45 voters, A–E; E wins, and the strongest
    /// paths are as published.
    #[test]
    fn schulze_on_the_published_example() {
        let (a, b, c, d, e) = (0, 1, 2, 3, 4);
        let ballots = many(&[
            (5, &[a, c, b, e, d]),
            (5, &[a, d, e, c, b]),
            (8, &[b, e, d, a, c]),
            (3, &[c, a, b, e, d]),
            (7, &[c, a, e, b, d]),
            (2, &[c, b, a, d, e]),
            (7, &[d, c, e, b, a]),
            (8, &[e, b, a, d, c]),
        ]);
        let s = schulze(5, &ballots);
        assert_eq!(s.pairwise[a as usize], vec![0, 20, 26, 30, 22]);
        assert_eq!(s.pairwise[e as usize], vec![23, 27, 21, 31, 0]);
        assert_eq!(s.strongest[a as usize], vec![0, 28, 28, 30, 24]);
        assert_eq!(s.strongest[e as usize], vec![25, 28, 28, 31, 0]);
        assert_eq!(s.winners, vec![e]);
        // A perfect tie: both are winners.
        let tie = schulze(2, &many(&[(2, &[0, 1]), (2, &[1, 0])]));
        assert_eq!(tie.winners, vec![0, 1]);
    }
}
