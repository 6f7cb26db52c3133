//! When a question is decided: the manifest's decision rule and the outcome it gives a result.
//!
//! The Resident Voting Act (주민투표법 §24(1), as amended in 2022) decides a question put to a
//! resident vote by a majority of the valid votes, provided that at least a quarter of the
//! eligible voters voted; with fewer voters, or with no choice above half of the valid votes (a
//! tie included), nothing is adopted. A manifest states the rule per question
//! ([`DecisionRule`]); the result entry states each question's [`Outcome`] and the turnout it
//! rests on, and the verifier derives both again from the record (docs/record-format.md §4, §3).
use serde::Serialize;

use crate::encoding::{Reader, Writer};
use crate::error::RecordError;

/// Largest denominator of a turnout threshold.
pub const MAX_DENOMINATOR: u32 = 100;

/// A question's decision rule: adopted when `voted · den ≥ eligible · num` and one choice has
/// more than half of the question's valid votes (`2 · count > Σ counts`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionRule {
    /// The turnout threshold's numerator (`0 ≤ num ≤ den`).
    pub num: u32,
    /// Its denominator (`1 ≤ den ≤ 100`).
    pub den: u32,
}

impl DecisionRule {
    /// The Resident Voting Act's: a quarter of the eligible voters, a majority of the valid votes.
    pub const RESIDENT_VOTE: Self = Self { num: 1, den: 4 };

    /// Parses `"num/den"` (e.g. `"1/4"`) and checks its bounds.
    pub fn parse(text: &str) -> Result<Self, RecordError> {
        let bad = || {
            RecordError::Invalid(
                "decision",
                format!(
                    "min_turnout {text:?}: a fraction num/den with 0 ≤ num ≤ den ≤ 100, e.g. \"1/4\""
                ),
            )
        };
        let (num, den) = text.split_once('/').ok_or_else(bad)?;
        let digits = |s: &str| {
            if s.is_empty()
                || s.len() > 3
                || (s.len() > 1 && s.starts_with('0'))
                || !s.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(bad());
            }
            s.parse::<u32>().map_err(|_| bad())
        };
        let rule = Self {
            num: digits(num)?,
            den: digits(den)?,
        };
        rule.validate().map_err(|_| bad())?;
        Ok(rule)
    }

    /// `0 ≤ num ≤ den`, `1 ≤ den ≤ 100`.
    pub fn validate(&self) -> Result<(), RecordError> {
        if self.den == 0 || self.den > MAX_DENOMINATOR || self.num > self.den {
            return Err(RecordError::Invalid(
                "decision",
                "turnout threshold: 0 ≤ num ≤ den, 1 ≤ den ≤ 100".into(),
            ));
        }
        Ok(())
    }

    /// Whether `voted` of `eligible` reaches the threshold (exact integer arithmetic).
    pub fn turnout_reached(&self, turnout: Turnout) -> bool {
        u128::from(turnout.voted) * u128::from(self.den)
            >= u128::from(turnout.eligible) * u128::from(self.num)
    }

    /// The outcome this rule gives a question's counts.
    pub fn outcome(&self, turnout: Turnout, counts: &[u64]) -> Outcome {
        if !self.turnout_reached(turnout) {
            return Outcome::TurnoutTooLow;
        }
        let valid: u128 = counts.iter().map(|c| u128::from(*c)).sum();
        counts
            .iter()
            .position(|c| 2 * u128::from(*c) > valid)
            .map_or(Outcome::NoMajority, |j| Outcome::Decided(j as u32))
    }
}

impl std::fmt::Display for DecisionRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "turnout of at least {}/{} of the eligible voters and more than half of the valid votes",
            self.num, self.den
        )
    }
}

/// Who could vote and how many did: the credentials listed and the ballots counted (each
/// credential's last).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Turnout {
    /// Eligible voters: public credentials in the record.
    pub eligible: u64,
    /// Voters: ballots counted.
    pub voted: u64,
}

/// What a question's result decides; as JSON `{"outcome": "decided", "choice": 0}`,
/// `{"outcome": "turnout-too-low"}`, `{"outcome": "no-majority"}`, `{"outcome": "no-rule"}` or,
/// for a ranked question, `{"outcome": "elected", "choice": 2}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case", tag = "outcome", content = "choice")]
pub enum Outcome {
    /// The manifest sets no decision rule for the question: the counts are the result.
    NoRule,
    /// Adopted: this choice (its index) has more than half of the valid votes and the turnout
    /// reached the threshold.
    Decided(u32),
    /// Not decided: fewer voters than the threshold.
    TurnoutTooLow,
    /// Not decided: no choice has more than half of the valid votes (a tie included); for a
    /// ranked question, no choice is elected (no ranking, or a Schulze tie).
    NoMajority,
    /// A ranked question's count elects this choice (its index).
    Elected(u32),
}

impl Outcome {
    /// The outcomes of every question of a result.
    /// `ranked` holds each ranked question's outcome from its count (`None` for other kinds).
    pub fn of_result(
        rules: &[Option<DecisionRule>],
        turnout: Turnout,
        counts: &[Vec<u64>],
        ranked: &[Option<Outcome>],
    ) -> Vec<Outcome> {
        rules
            .iter()
            .zip(counts)
            .enumerate()
            .map(|(q, (rule, row))| match ranked.get(q).copied().flatten() {
                Some(outcome) => outcome,
                None => rule.map_or(Outcome::NoRule, |r| r.outcome(turnout, row)),
            })
            .collect()
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        match self {
            Outcome::NoRule => w.u8(0),
            Outcome::Decided(choice) => w.u8(1).u32(*choice),
            Outcome::TurnoutTooLow => w.u8(2),
            Outcome::NoMajority => w.u8(3),
            Outcome::Elected(choice) => w.u8(4).u32(*choice),
        };
    }

    /// Decodes one outcome of a question with `choices` choices.
    pub(crate) fn decode(r: &mut Reader<'_>, choices: u32) -> Result<Self, RecordError> {
        Ok(match r.u8()? {
            0 => Outcome::NoRule,
            tag @ (1 | 4) => {
                let choice = r.u32()?;
                if choice >= choices {
                    return Err(RecordError::Invalid(
                        "outcome",
                        format!("choice {choice} of {choices}"),
                    ));
                }
                if tag == 1 {
                    Outcome::Decided(choice)
                } else {
                    Outcome::Elected(choice)
                }
            }
            2 => Outcome::TurnoutTooLow,
            3 => Outcome::NoMajority,
            t => return Err(RecordError::Invalid("outcome", format!("tag {t}"))),
        })
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::NoRule => write!(f, "no decision rule"),
            Outcome::Decided(j) => write!(f, "decided: choice {j}"),
            Outcome::TurnoutTooLow => write!(f, "not decided: turnout below the threshold"),
            Outcome::NoMajority => write!(f, "not decided: no choice has more than half"),
            Outcome::Elected(j) => write!(f, "elected: choice {j}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turnout(eligible: u64, voted: u64) -> Turnout {
        Turnout { eligible, voted }
    }

    #[test]
    fn the_resident_vote_rule_needs_a_quarter_and_a_majority() {
        let rule = DecisionRule::RESIDENT_VOTE;
        // Exactly a quarter is enough; one fewer is not.
        assert_eq!(
            rule.outcome(turnout(100, 25), &[13, 12]),
            Outcome::Decided(0)
        );
        assert_eq!(
            rule.outcome(turnout(100, 24), &[20, 4]),
            Outcome::TurnoutTooLow
        );
        assert_eq!(
            rule.outcome(turnout(101, 25), &[20, 5]),
            Outcome::TurnoutTooLow
        );
        // A tie, and exactly half, are no majority.
        assert_eq!(
            rule.outcome(turnout(40, 20), &[10, 10]),
            Outcome::NoMajority
        );
        assert_eq!(
            rule.outcome(turnout(40, 20), &[10, 6, 4]),
            Outcome::NoMajority
        );
        assert_eq!(
            rule.outcome(turnout(40, 20), &[4, 11, 5]),
            Outcome::Decided(1)
        );
        // Nobody eligible, nobody voting: the threshold is met, nothing has a majority.
        assert_eq!(rule.outcome(turnout(0, 0), &[0, 0]), Outcome::NoMajority);
        // Counts near u64::MAX do not overflow.
        let big = u64::MAX;
        assert_eq!(
            rule.outcome(turnout(big, big), &[big, 0]),
            Outcome::Decided(0)
        );
    }

    #[test]
    fn thresholds_parse_strictly() {
        assert_eq!(
            DecisionRule::parse("1/4").unwrap(),
            DecisionRule::RESIDENT_VOTE
        );
        assert_eq!(
            DecisionRule::parse("0/1").unwrap(),
            DecisionRule { num: 0, den: 1 }
        );
        for bad in [
            "", "1", "1/0", "5/4", "1/101", "-1/4", " 1/4", "1/4 ", "1/+4", "1//4", "01/4", "1/04",
        ] {
            assert!(DecisionRule::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn outcomes_round_trip_and_refuse_bad_tags() {
        for o in [
            Outcome::NoRule,
            Outcome::Decided(2),
            Outcome::TurnoutTooLow,
            Outcome::NoMajority,
        ] {
            let mut w = Writer::new();
            o.encode(&mut w);
            let bytes = w.into_bytes();
            let mut r = Reader::new(&bytes);
            assert_eq!(Outcome::decode(&mut r, 3).unwrap(), o);
            r.finish().unwrap();
        }
        for bytes in [vec![4u8], vec![1, 0, 0, 0, 3]] {
            assert!(Outcome::decode(&mut Reader::new(&bytes), 3).is_err());
        }
    }
}
